"""The benchmark corpus: generated lines (about 65% nginx, 35% JSON, 1% malformed) plus every
line of the sample corpus in ``tests/data/corpus`` (all supported formats, edge cases).

``make bench`` writes it to a file for Spark's text source; ``make bench-job`` produces it to
Kafka. Both repeat the pool up to the number of lines asked for.
"""

from __future__ import annotations

from pathlib import Path

from logiflow.ingest.generator import TrafficProfile, generate_lines

CORPUS_DIR = Path(__file__).resolve().parents[2] / "data" / "corpus"


def corpus_pool(distinct: int) -> tuple[list[str], list[str]]:
    """``distinct`` generated lines (fixed seed) and the sample corpus's non-blank lines."""
    profile = TrafficProfile(malformed_share=0.01)
    generated = [g.line for g in generate_lines(seed=2026, count=distinct, profile=profile)]
    sample: list[str] = []
    for file in sorted(CORPUS_DIR.rglob("*")):
        if file.is_file():
            text = file.read_bytes().decode("utf-8", errors="replace")
            sample += [line for line in text.splitlines() if line.strip()]
    return generated, sample
