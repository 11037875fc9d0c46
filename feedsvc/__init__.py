"""feedsvc: news feeds and Telegram alerts for regional Indonesian news.

News sites' feeds and pages in; feeds (RSS, Atom, JSON Feed), an index page, a JSON
API and Telegram messages out. Packages by stage: config, ingest, storage, publish,
and (beside them) the bot; app.py, lifecycle.py and cli/ wire them into processes.
"""

__version__ = "0.1.0"
