"""Operator scripts: demo data, the fake model server, benchmarks."""
