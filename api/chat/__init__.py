"""The AI SDK's chat protocol (``useChat``) over threads: ``/api/threads/{id}/chat``."""
