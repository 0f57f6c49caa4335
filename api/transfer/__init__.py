"""Export and import of threads: ``GET /api/threads/{id}/export``, ``GET /api/export``,
``POST /api/threads/import`` and ``playground export|import``."""
