"""Timing Spark plans fairly: CPU of the whole process tree, rounds that alternate the plans,
and a row-count check on every timed run.

Each plan is written to Spark's ``noop`` sink (every column materialized). The plans of one
comparison run in turn, A B C A B C ..., after one untimed round that warms every plan (Python
workers started, ua-parser and the geo database loaded, the large generated methods
JIT-compiled): a busy machine's load and the JIT then fall on all plans alike, instead of on
whichever is timed first. Every run, the warm-up included, counts its rows (and outcomes) with
an ``Observation`` of the very write that is timed; a wrong count aborts the benchmark.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from logiflow.contract import ecs
from logiflow.etl.columns import col

from .figures import Sample, StageFigures

OUTCOMES = (ecs.OUTCOME_INDEXED, ecs.OUTCOME_FILTERED, ecs.OUTCOME_DEAD_LETTER)


class WrongRowCount(RuntimeError):
    """A timed plan produced other rows than expected: its figures would be meaningless."""


def tree_cpu_seconds() -> float:
    """CPU time of this process and all its descendants (the Spark JVM, the Python workers).

    On a shared, loaded machine wall time says little; lines per CPU-second is what one core
    would do if it were ours alone.
    """
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        after_name = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(after_name[1])
        # utime, stime, and the reaped children's cutime, cstime.
        times[int(entry.name)] = sum(int(v) for v in after_name[11:15]) / tick
    mine = {os.getpid()}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return sum(times.get(pid, 0.0) for pid in mine)


@dataclass
class Plan:
    """A plan to time, and what every run of it must produce.

    ``rows``: the row count every run must write; None takes the warm-up run's count as the
    expected one. ``outcomes``: the outcome counts every run must write (plans with an outcome
    column count them either way, so cumulative stages do the same extra work).
    """

    label: str
    frame: DataFrame
    rows: int | None
    outcomes: dict[str, int] | None = None
    samples: list[Sample] = field(default_factory=list)

    def figures(self) -> StageFigures:
        return StageFigures(self.rows or 0, tuple(self.samples))


def _metrics(frame: DataFrame) -> list[Column]:
    metrics = [F.count(F.lit(1)).alias("rows")]
    if ecs.OUTCOME in frame.columns:
        metrics += [F.count_if(col(ecs.OUTCOME) == o).alias(o) for o in OUTCOMES]
    return metrics


def _check(plan: Plan, counted: dict[str, int]) -> None:
    if plan.rows is None:
        plan.rows = counted["rows"]
    if counted["rows"] != plan.rows:
        raise WrongRowCount(
            f"{plan.label.strip()!r} wrote {counted['rows']:,} rows, expected {plan.rows:,}: "
            "a stage dropped or duplicated rows, so its timing means nothing"
        )
    if plan.outcomes is not None:
        got = {o: counted[o] for o in OUTCOMES}
        want = {o: plan.outcomes.get(o, 0) for o in OUTCOMES}
        if got != want:
            raise WrongRowCount(
                f"{plan.label.strip()!r} wrote outcomes {got}, but the untimed reference count "
                f"is {want}: the timed plan is not the pipeline's"
            )


def run_once(plan: Plan) -> Sample:
    """Write ``plan`` to the noop sink once, check its counts, and return its timing."""
    observation = Observation()
    observed = plan.frame.observe(observation, *_metrics(plan.frame))
    cpu = tree_cpu_seconds()
    start = time.perf_counter()
    observed.write.format("noop").mode("overwrite").save()
    sample = Sample(time.perf_counter() - start, tree_cpu_seconds() - cpu)
    _check(plan, observation.get)
    return sample


def time_rounds(plans: Sequence[Plan], runs: int) -> dict[str, StageFigures]:
    """One untimed warm-up round, then ``runs`` rounds of the plans in turn (A B C A B C ...)."""
    # Progress on stderr: under load a group can take minutes, and the table comes at the end.
    labels = ", ".join(plan.label.strip() for plan in plans)
    print(f"timing {labels}: warm-up + {runs} rounds", file=sys.stderr, flush=True)
    for plan in plans:
        run_once(plan)
    for _ in range(runs):
        for plan in plans:
            plan.samples.append(run_once(plan))
    return {plan.label: plan.figures() for plan in plans}
