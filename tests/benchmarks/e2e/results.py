"""The benchmark's outputs: a printed table, ``results.json`` and ``plot.png`` (rate, lag,
latency and memory over time) in the results directory."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table

from .observe import LagSample, MemorySample

MEMORY_SERIES = (
    "driver_python_rss_mb",
    "jvm_rss_mb",
    "jvm_heap_used_mb",
    "jvm_old_gen_used_mb",
    "workers_rss_mb",
    "state_store_mb",
)


def slopes_mb_per_minute(samples: list[MemorySample]) -> dict[str, float]:
    """Least-squares slope of each memory series over time (MB per minute)."""
    if len(samples) < 3:
        return {}
    minutes = [s.t / 60 for s in samples]
    fitted = {}
    for name in MEMORY_SERIES:
        values = [getattr(s, name) for s in samples]
        if len(set(values)) < 2:
            fitted[name] = 0.0
            continue
        fitted[name] = round(statistics.linear_regression(minutes, values).slope, 3)
    return fitted


def print_table(summary: dict[str, Any], out: Console) -> None:
    table = Table(title="LogiFlow end to end", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        table.add_row(name, value if isinstance(value, str) else f"{value:,}")
    out.print(table)


def write_json(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


def _rates(samples: list[LagSample], span: int = 10) -> tuple[list[float], ...]:
    """Produced and indexed per second over the last ``span`` samples (about as many seconds):
    indexed moves a whole micro-batch at a time, so per-sample rates would be spikes."""
    times, produced, indexed = [], [], []
    for before, after in zip(samples, samples[span:], strict=False):
        seconds = after.t - before.t
        if seconds > 0:
            times.append(after.t)
            produced.append((after.acked - before.acked) / seconds)
            indexed.append((after.indexed - before.indexed) / seconds)
    return times, produced, indexed


def write_plot(
    path: Path,
    lag: list[LagSample],
    latencies: list[tuple[float, float]],
    memory: list[MemorySample],
) -> None:
    figure, axes = plt.subplots(4, 1, figsize=(12, 13), sharex=True)
    times, produced, indexed = _rates(lag)
    axes[0].plot([s.t for s in lag], [s.target_rate for s in lag], label="target rate")
    axes[0].plot(times, produced, label="produced (acked)/s, 10 s mean", alpha=0.6)
    axes[0].plot(times, indexed, label="indexed/s, 10 s mean", alpha=0.6)
    axes[0].set_ylabel("records/s")
    axes[1].plot([s.t for s in lag], [s.lag for s in lag], color="tab:red")
    axes[1].set_ylabel("lag (records)")
    axes[2].scatter([t for t, _ in latencies], [v for _, v in latencies], s=6)
    axes[2].set_ylabel("produce -> searchable (s)")
    for name in MEMORY_SERIES:
        axes[3].plot([s.t for s in memory], [getattr(s, name) for s in memory], label=name)
    axes[3].set_ylabel("MB")
    axes[3].set_xlabel("seconds since start")
    for ax in (axes[0], axes[3]):
        ax.legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
