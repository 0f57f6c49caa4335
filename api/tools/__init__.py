"""Tools the model may call; the registry lists what a thread may enable."""
