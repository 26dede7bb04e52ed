"""Benchmarks: ingestion, retrieval quality, latency and memory at scale, concurrency.

Run from the repository root: `.venv/bin/python -m bench.run [--full]`; see BENCHMARKS.md.
"""
