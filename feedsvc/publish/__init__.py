"""Publish: stored articles out over HTTP.

Articles from storage in; RSS 2.0, Atom 1.0 and JSON Feed 1.1 (render) served by
the feed routes (feeds) through the render cache (cache) with validators and gzip
(httpcache), the index page and OPML (pages, opml), WebSub pings and the JSON API
out.
"""
