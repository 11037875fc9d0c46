"""The Telegram side of feedsvc: commands and push delivery."""
