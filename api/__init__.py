"""The playground HTTP API: Litestar controllers, services, the model client and SSE."""
