"""HTTP helpers shared by the controllers: SSE responses and common header parameters."""
