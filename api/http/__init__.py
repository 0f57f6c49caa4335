"""HTTP helpers shared by the controllers (SSE responses)."""
