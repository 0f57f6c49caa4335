"""Generations: model calls streamed to followers and stored in batches."""
