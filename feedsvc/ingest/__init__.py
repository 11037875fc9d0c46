"""Ingest: sources in, articles out.

A source (config, CLI or OPML) is polled on its schedule; the fetcher brings its
bytes, the parsers turn them into entries, the sanitiser cleans them, and the
pipeline maps entries to articles and hands them to the store.

source -> schedule/poller -> fetch -> parse -> sanitize -> pipeline -> storage

Pure decisions apart from the I/O: schedule (when next), entries (entries to
articles, pushability), status (a source's status after a poll).
"""
