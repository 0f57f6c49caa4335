"""Threads: settings shared by a conversation, its branches and forks."""
