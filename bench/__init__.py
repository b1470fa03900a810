"""Benchmarks: each module writes its JSON result under bench/results/."""
