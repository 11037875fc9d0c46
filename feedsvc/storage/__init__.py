"""Storage: everything feedsvc keeps, in Redis.

Articles in (from ingest and the API), listings, categories and new-article
events out (to publish and the bot). Every key name lives in `keys`; the
connection and the embedded server are here too.
"""
