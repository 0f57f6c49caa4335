"""The prompt library: named prompts with numbered, immutable versions."""
