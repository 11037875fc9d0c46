"""Test doubles that run real servers on loopback: a news site and the Telegram Bot API.

Benchmarks import them too.
"""
