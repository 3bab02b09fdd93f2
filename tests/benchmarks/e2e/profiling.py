"""``--profile``: JFR on the driver JVM and py-spy on the Python workers, and their top frames.

JFR starts with the JVM (``-XX:StartFlightRecording`` through ``spark.driver.extraJavaOptions``,
which in local mode covers the executor too) and is dumped with ``jcmd`` before the job stops.
py-spy (PyPI wheel) samples the JVM's Python workers, following the ones the daemon forks, for
a while under load. Both print the frames with the most samples on top of the stack (self
time): what the CPU was doing, not who called it.
"""

from __future__ import annotations

import collections
import itertools
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

RECORDING = "bench-e2e"
_LINE_RE = re.compile(r"\s+line:.*$")


def jfr_java_options(recording: Path) -> str:
    return f"-XX:StartFlightRecording=name={RECORDING},settings=profile,filename={recording}"


def dump_jfr(jvm_pid: int, recording: Path) -> None:
    subprocess.run(
        ["jcmd", str(jvm_pid), "JFR.dump", f"name={RECORDING}", f"filename={recording}"],
        check=True,
        capture_output=True,
    )


@dataclass
class JfrFrames:
    """Execution samples in a time window: top-of-stack (self) and anywhere-on-stack counts."""

    samples: int = 0
    self_counts: collections.Counter[str] = field(default_factory=collections.Counter)
    inclusive: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, frames: list[str]) -> None:
        self.samples += 1
        self.self_counts[frames[0]] += 1
        self.inclusive.update(set(frames))

    def top_inclusive(self, top: int) -> list[tuple[str, int]]:
        """Spark's and LogiFlow's frames only: the JDK's and Scala's are on every stack."""
        ours = ((f, n) for f, n in self.inclusive.most_common() if not f.startswith(_PLUMBING))
        return list(itertools.islice(ours, top))


_PLUMBING = ("java.", "jdk.", "scala.", "sun.", "py4j.")


def _start_time(line: str, day: date) -> datetime:
    """``startTime = 19:08:21.153``, in this machine's time zone; the day only when not today."""
    clock, *printed_day = line.split("=", 1)[1].split()
    when = printed_day[0].strip("()") if printed_day else day.isoformat()
    return datetime.strptime(f"{when} {clock}", "%Y-%m-%d %H:%M:%S.%f").astimezone()


def jfr_frames(recording: Path, start: datetime, end: datetime) -> JfrFrames:
    """The recording's execution samples between ``start`` and ``end`` (aware datetimes)."""
    command = ["jfr", "print", "--events", "jdk.ExecutionSample", "--stack-depth", "64"]
    found = JfrFrames()
    frames: list[str] | None = None
    inside = False
    today = start.astimezone().date()
    with subprocess.Popen([*command, str(recording)], stdout=subprocess.PIPE, text=True) as jfr:
        for raw in jfr.stdout or ():
            line = raw.strip()
            if line.startswith("startTime = "):
                inside = start <= _start_time(line, today) <= end
            elif line == "stackTrace = [":
                frames = []
            elif frames is not None and line == "]":
                if inside and frames:
                    found.add(frames)
                frames = None
            elif frames is not None and line != "...":
                frames.append(_LINE_RE.sub("", line))
    return found


def start_py_spy(pids: list[int], seconds: int, output: Path) -> list[subprocess.Popen[bytes]]:
    """One ``py-spy record`` per worker process (raw collapsed stacks); they end by themselves."""
    py_spy = Path(sys.executable).with_name("py-spy")
    return [
        subprocess.Popen(
            [
                str(py_spy),
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--nonblocking",
                "--format",
                "raw",
                "--duration",
                str(seconds),
                "--rate",
                "50",
                "--output",
                str(output.with_suffix(f".{pid}.txt")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]


def py_spy_top_frames(output: Path, top: int = 15) -> tuple[list[tuple[str, int]], int]:
    """Top-of-stack frames, and the sample count, of the forked workers (``a;b;c count`` lines).

    Stacks of the daemon itself (one ``process`` entry: it waits for connections) are left out.
    """
    counts: collections.Counter[str] = collections.Counter()
    for path in output.parent.glob(output.stem + ".*.txt"):
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            if sum(f.startswith("process ") for f in frames) >= 2:
                counts[frames[-1]] += int(count)
    return counts.most_common(top), counts.total()
