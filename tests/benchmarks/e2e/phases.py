"""The measurements that run the whole pipeline: the sustained rate, then latency and memory.

**Flat lag** (``flat_lag``): over a hold at a fixed input rate, the highest lag seen in its last
window is not above the highest lag seen in its first window plus one trigger's worth of input
(rate x trigger interval). A window is a quarter of the hold, widened to two micro-batch periods
(measured in the hold; at most half the hold) so that each holds a whole tooth of the lag's
sawtooth: lag rises between batches and drops when one ends. The allowance, because where the
last batch ended within the window is chance. A job that keeps up has the same sawtooth at the
end as at the start; one that does not falls behind by more than a batch.

**Sustained rate** (``find_sustained``): scout steps of ``scout`` seconds from ``start_rate``,
each ``factor`` times the last, until one is not flat; then the last flat rate is held for
``hold`` seconds, and if that hold is not flat either, 15% less is held, up to three times. The
lag is drained (input paused) before every step, so no step starts with a previous backlog. If
the first scout is not flat, the scouts step down instead, to the first flat rate.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from elasticsearch import Elasticsearch
from rich.console import Console

from logiflow.contract import ecs
from logiflow.contract import index_names as names

from .load import Probes
from .observe import CpuMeter, LagSample, LagSampler, MemorySample, format_cores

HOLD_RETRIES = 3
BACKOFF = 0.85
MIN_RATE = 50.0
PROBE_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Step:
    kind: str  # "scout" or "hold"
    rate: float
    seconds: float
    flat: bool
    lag_first_quarter: int
    lag_last_quarter: int
    allowance: int
    produced_per_s: float
    indexed_per_s: float
    cpu_cores: dict[str, float] = field(default_factory=dict)


def batch_period(samples: list[LagSample]) -> float:
    """Seconds per micro-batch over ``samples``: their span over the batches that ended."""
    batches = sum(1 for a, b in itertools.pairwise(samples) if b.accounted != a.accounted)
    return (samples[-1].t - samples[0].t) / max(batches, 1)


def flat_lag(
    samples: list[LagSample], rate: float, trigger_seconds: float
) -> tuple[bool, int, int, int]:
    """(flat, max lag of the first window, of the last window, allowance); see the docstring."""
    start, end = samples[0].t, samples[-1].t
    window = min(max((end - start) / 4, 2 * batch_period(samples)), (end - start) / 2)
    first = max(s.lag for s in samples if s.t <= start + window)
    last = max(s.lag for s in samples if s.t >= end - window)
    allowance = round(rate * trigger_seconds)
    return last <= first + allowance, first, last, allowance


def _per_second(samples: list[LagSample], count: Callable[[LagSample], int]) -> float:
    seconds = samples[-1].t - samples[0].t
    return (count(samples[-1]) - count(samples[0])) / seconds if seconds > 0 else 0.0


@dataclass
class Runner:
    sampler: LagSampler
    trigger_seconds: float
    check_alive: Callable[[], None]
    out: Console
    cpu: CpuMeter

    def run_at(self, rate: float, seconds: float, kind: str) -> Step:
        self.drain()
        self.sampler.producer.set_rate(rate)
        first = self.sampler.sample()
        cpu_start = self.cpu.read()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            self.check_alive()
        cores = self.cpu.cores(cpu_start, self.cpu.read())
        samples = [first, *self.sampler.since(first.t), self.sampler.sample()]
        flat, q1, q4, allowance = flat_lag(samples, rate, self.trigger_seconds)
        step = Step(
            kind,
            rate,
            seconds,
            flat,
            q1,
            q4,
            allowance,
            round(_per_second(samples, lambda s: s.acked)),
            round(_per_second(samples, lambda s: s.indexed)),
            cores,
        )
        verdict = "flat" if flat else "GROWING"
        self.out.print(
            f"  {kind} {rate:8,.0f}/s for {seconds:4.0f} s: lag {q1:,} -> {q4:,} "
            f"(allowance {allowance:,}) {verdict}; indexed {step.indexed_per_s:,}/s"
        )
        self.out.print(f"    cores: {format_cores(cores)}", highlight=False)
        return step

    def drain(self, timeout: float = 600.0) -> None:
        """Pause the input until the job has accounted for everything produced."""
        self.sampler.producer.set_rate(0)
        deadline = time.monotonic() + timeout
        while self.sampler.sample().lag > 0:
            self.check_alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"the job did not catch up within {timeout:.0f} s")
            time.sleep(1.0)

    def find_sustained(
        self, start_rate: float, factor: float, scout: float, hold: float
    ) -> tuple[Step | None, list[Step]]:
        steps = self._scout(start_rate, factor, scout)
        flat_rates = [s.rate for s in steps if s.flat]
        rate = max(flat_rates) if flat_rates else steps[-1].rate
        for _ in range(HOLD_RETRIES):
            steps.append(self.run_at(rate, hold, "hold"))
            if steps[-1].flat:
                return steps[-1], steps
            rate = round(rate * BACKOFF)
        return None, steps

    def _scout(self, start_rate: float, factor: float, seconds: float) -> list[Step]:
        """Up by ``factor`` while flat; from a start that is not flat, down until one is."""
        steps = [self.run_at(start_rate, seconds, "scout")]
        going_up = steps[0].flat
        while steps[-1].flat == going_up:
            rate = round(steps[-1].rate * factor if going_up else steps[-1].rate / factor)
            if rate < MIN_RATE:
                break
            steps.append(self.run_at(rate, seconds, "scout"))
        return steps


def _mark_visible(es: Elasticsearch, prefix: str, probes: Probes) -> None:
    pending = {p.marker: p for p in probes.pending()}
    if not pending:
        return
    response = es.search(
        index=names.index_pattern(prefix, names.EVENTS),
        size=len(pending),
        query={"terms": {ecs.TRACE_ID: list(pending)}},
        source=False,
        fields=[ecs.TRACE_ID],  # type: ignore[list-item]  # the API takes names too
        ignore_unavailable=True,
    )
    now = time.time()
    for hit in response["hits"]["hits"]:
        for marker in hit.get("fields", {}).get(ecs.TRACE_ID, []):
            if marker in pending:
                pending[marker].visible_at = now


@dataclass
class LatencyRun:
    """At a fixed rate: a probe every ``probe_interval`` s, polled every ``poll_interval`` s
    until searchable; a memory sample every ``memory_interval`` s."""

    runner: Runner
    es: Elasticsearch
    prefix: str
    probes: Probes
    sample_memory: Callable[[], MemorySample]
    probe_interval: float = 1.0
    poll_interval: float = 0.1
    memory_interval: float = 10.0
    # Cores each part used over the run (CpuMeter.cores), once it has run.
    cpu_cores: dict[str, float] = field(default_factory=dict, init=False)

    def run(self, rate: float, seconds: float) -> list[MemorySample]:
        self.runner.drain()
        self.runner.sampler.producer.set_rate(rate)
        cpu_start = self.runner.cpu.read()
        memory: list[MemorySample] = []
        end = time.monotonic() + seconds
        next_probe = next_memory = time.monotonic()
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_probe:
                self.probes.send_one()
                next_probe += self.probe_interval
            if now >= next_memory:
                self.runner.check_alive()
                memory.append(self.sample_memory())
                next_memory += self.memory_interval
            _mark_visible(self.es, self.prefix, self.probes)
            time.sleep(self.poll_interval)
        self.cpu_cores = self.runner.cpu.cores(cpu_start, self.runner.cpu.read())
        self._wait_for_last_probes()
        return memory

    def _wait_for_last_probes(self) -> None:
        deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
        while self.probes.pending() and time.monotonic() < deadline:
            _mark_visible(self.es, self.prefix, self.probes)
            time.sleep(self.poll_interval)


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(cuts[49], 3), "p95": round(cuts[94], 3), "p99": round(cuts[98], 3)}
