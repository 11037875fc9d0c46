"""Test doubles that run real servers on loopback: a news site, the Telegram Bot API and a
local Redis Cluster.

Benchmarks import them too.
"""
