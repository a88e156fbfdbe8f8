"""Timing scripts against peer libraries; `make bench` runs them all (`python -m benchmarks`)."""
