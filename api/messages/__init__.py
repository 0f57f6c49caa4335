"""Messages: the tree of turns in a thread, sending, editing and regenerating."""
