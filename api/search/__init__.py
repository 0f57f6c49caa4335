"""Full-text search over the caller's threads and messages (``GET /api/search``)."""
