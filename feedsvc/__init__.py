"""feedsvc: news feeds and Telegram alerts for regional Indonesian news."""

__version__ = "0.1.0"
