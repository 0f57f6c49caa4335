"""The live feeds: what changes in a thread, and in the caller's thread list, as SSE."""
