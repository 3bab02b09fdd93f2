"""Pieces of the parse + enrich benchmark (``tests/benchmarks/bench_parse_enrich.py``)."""
