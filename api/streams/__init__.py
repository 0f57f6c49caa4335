"""Streams: the events of a generation, and the HTTP endpoints that follow or stop it."""
