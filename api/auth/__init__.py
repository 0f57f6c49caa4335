"""Who is calling: API keys, principals, stream tokens (README "Running it for a team")."""
