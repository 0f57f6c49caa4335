"""Streams: the HTTP endpoints that follow (resume) or stop a thread's running reply."""
