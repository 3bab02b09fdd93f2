"""When an event panel reads a random sample of the events, and how its search says so.

The panels that can only be answered from the events themselves (latency percentiles, top
endpoints' p95, the user-agent and country distributions; ``Panel.samples``) cost time in
proportion to the events in range: about 0.9 s for the latency percentiles over 2 million
events on the benchmark machine, seconds over a day. Over more than ``sample_size`` events such
a panel's aggregations run under Elasticsearch's ``random_sampler`` at probability
``sample_size / events``, so each reads about ``sample_size`` documents whatever the range.

Elasticsearch scales the sampled buckets' counts back up itself (``doc_count`` of a bucket under
the sampler estimates the whole range's), so the rows read the same way as unsampled ones. A
fixed seed keeps a refresh's numbers stable while the data does not change. Distinct visitors
are never sampled: a distinct count does not scale up from a sample.
"""

from __future__ import annotations

from typing import Any

# The name of the sampler aggregation wrapped around a panel's aggregation tree.
SAMPLE_AGG = "sample"
# Any fixed number: the same documents are sampled at each refresh of the same data.
SAMPLE_SEED = 10
# Elasticsearch accepts probabilities in (0, 0.5] or exactly 1.
MAX_SAMPLED_PROBABILITY = 0.5
# About this many events feed each sampled panel (the config's ``dashboard.sample_size``).
DEFAULT_SAMPLE_SIZE = 300_000


def sample_probability(events: int, sample_size: int | None) -> float:
    """1 (every event) up to ``sample_size`` events, else about ``sample_size / events``.

    Between ``sample_size`` and twice that, Elasticsearch's rule makes it 0.5: the panel then
    reads fewer events than ``sample_size``, never more. ``sample_size=None`` never samples.
    """
    if sample_size is None or events <= sample_size:
        return 1.0
    return min(MAX_SAMPLED_PROBABILITY, sample_size / events)


def sampled_aggs(aggs: dict[str, Any], probability: float) -> dict[str, Any]:
    """``aggs`` under a ``random_sampler`` at ``probability``; as is at probability 1."""
    if probability >= 1.0:
        return aggs
    sampler = {"probability": probability, "seed": SAMPLE_SEED}
    return {SAMPLE_AGG: {"random_sampler": sampler, "aggs": aggs}}


def unwrap_sample(aggs: dict[str, Any]) -> tuple[dict[str, Any], float | None]:
    """The aggregations under the sampler and its probability; ``aggs`` and None unsampled."""
    sample = aggs.get(SAMPLE_AGG)
    if sample is None or "probability" not in sample:
        return aggs, None
    inner = {k: v for k, v in sample.items() if k not in ("doc_count", "seed", "probability")}
    return inner, float(sample["probability"])
