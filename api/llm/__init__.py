"""Model access: the offline model, the upstream client router and error mapping."""
