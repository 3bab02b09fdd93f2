"""The benchmark's medians, spreads and suspect-figure check (tests/benchmarks/parse_enrich)."""

from __future__ import annotations

import pytest

from benchmarks.parse_enrich.figures import (
    Sample,
    Spread,
    StageFigures,
    suspect_lines,
    table_row,
)


def test_spread_is_the_median_with_the_lowest_and_highest() -> None:
    assert Spread.of([3.0, 1.0, 2.0, 10.0, 4.0]) == Spread(3.0, 1.0, 10.0)
    assert Spread.of([1.0, 2.0]) == Spread(1.5, 1.0, 2.0)
    assert Spread.of([1000.0, 1500.0, 2000.0]).text() == "1,500 (1,000-2,000)"
    with pytest.raises(ValueError):
        Spread.of([])


def test_stage_figures_are_per_run_rates() -> None:
    figures = StageFigures(1000, (Sample(1.0, 2.0), Sample(2.0, 4.0), Sample(4.0, 5.0)))
    assert figures.runs == 3
    assert figures.wall == Spread(2.0, 1.0, 4.0)
    assert figures.lines_per_second == Spread(500.0, 250.0, 1000.0)
    assert figures.lines_per_cpu_second == Spread(250.0, 200.0, 500.0)
    assert "  3 " in table_row("stage", figures, cores=2)
    assert "250 (125-500)" in table_row("stage", figures, cores=2)


def _stage(*walls: float) -> StageFigures:
    return StageFigures(100, tuple(Sample(wall, wall) for wall in walls))


def test_a_larger_stage_faster_beyond_the_spread_is_suspect() -> None:
    stages = {"parse": _stage(2.0, 2.2, 2.4), "all": _stage(1.0, 1.1, 1.2)}
    (warning,) = suspect_lines(stages, ["parse", "all"])
    assert warning.startswith("SUSPECT: 'all'")
    assert "wall and CPU" in warning


def test_a_larger_stage_slower_or_within_the_spread_is_not_suspect() -> None:
    assert (
        suspect_lines({"parse": _stage(1.0, 1.5), "all": _stage(2.0, 2.5)}, ["parse", "all"]) == []
    )
    # Overlapping spreads: noise, not skew.
    assert (
        suspect_lines({"parse": _stage(1.0, 2.0), "all": _stage(1.5, 2.5)}, ["parse", "all"]) == []
    )
    assert (
        suspect_lines({"parse": _stage(1.8, 2.0), "all": _stage(1.5, 1.9)}, ["parse", "all"]) == []
    )
