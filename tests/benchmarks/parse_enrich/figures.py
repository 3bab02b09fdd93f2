"""Medians and spreads of benchmark runs, their table rows, and the check for suspect figures.

Pure Python (no Spark), so the unit tests cover it cheaply.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One timed run: wall-clock and process-tree CPU seconds."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class Spread:
    """The median of some runs' figures, with the lowest and highest."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("a spread needs at least one run")
        return cls(statistics.median(values), min(values), max(values))

    def scaled(self, factor: float) -> Spread:
        return Spread(self.median * factor, self.low * factor, self.high * factor)

    def text(self) -> str:
        """``median (low-high)``, as whole numbers with thousands separators."""
        return f"{self.median:,.0f} ({self.low:,.0f}-{self.high:,.0f})"


@dataclass(frozen=True)
class StageFigures:
    """What the runs of one stage over ``lines`` lines measured."""

    lines: int
    samples: tuple[Sample, ...]

    @property
    def runs(self) -> int:
        return len(self.samples)

    @property
    def wall(self) -> Spread:
        return Spread.of([s.wall for s in self.samples])

    @property
    def cpu(self) -> Spread:
        return Spread.of([s.cpu for s in self.samples])

    @property
    def lines_per_second(self) -> Spread:
        return Spread.of([self.lines / s.wall for s in self.samples])

    @property
    def lines_per_cpu_second(self) -> Spread:
        return Spread.of([self.lines / s.cpu for s in self.samples])


_RATE = 25  # width of a "median (low-high)" rate


def table_header() -> str:
    return (
        f"{'stage':48s} {'runs':>4s} {'wall s':>6s} {'lines/s median (min-max)':>{_RATE}s} "
        f"{'/core (min-max)':>{_RATE}s} {'lines/CPU-s (min-max)':>{_RATE}s}"
    )


def table_row(label: str, figures: StageFigures, cores: int) -> str:
    rate = figures.lines_per_second
    return (
        f"{label:48s} {figures.runs:4d} {figures.wall.median:6.2f} {rate.text():>{_RATE}s} "
        f"{rate.scaled(1 / cores).text():>{_RATE}s} "
        f"{figures.lines_per_cpu_second.text():>{_RATE}s}"
    )


def faster_beyond_spread(larger: StageFigures, smaller: StageFigures) -> list[str]:
    """The measures ("wall", "CPU") by which a stage that does strictly more work than another
    was faster in every run than the other in any run: a sign of skew, not of a real gain."""
    suspect = []
    if larger.lines_per_second.low > smaller.lines_per_second.high:
        suspect.append("wall")
    if larger.lines_per_cpu_second.low > smaller.lines_per_cpu_second.high:
        suspect.append("CPU")
    return suspect


def suspect_lines(stages: dict[str, StageFigures], chain: Sequence[str]) -> list[str]:
    """A warning for each stage of ``chain`` (each doing strictly more than the one before it)
    measured faster than its predecessor beyond the spread of both."""
    warnings = []
    for smaller, larger in itertools.pairwise(chain):
        measures = faster_beyond_spread(stages[larger], stages[smaller])
        if measures:
            warnings.append(
                f"SUSPECT: {larger.strip()!r} does more work than {smaller.strip()!r} but "
                f"measured faster beyond the spread ({' and '.join(measures)}); "
                f"the figures are skewed (load, warm-up), do not use them"
            )
    return warnings
