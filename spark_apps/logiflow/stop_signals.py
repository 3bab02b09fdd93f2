"""Ctrl-C and SIGTERM as stop requests: the one place LogiFlow touches signal handlers.

Every long-running entry point stops the same way: the first SIGINT/SIGTERM asks it to stop
cleanly (queries end between batches, records already read are delivered), a second one means
"now". ``StopSignals`` routes both signals to that pair of events while a block runs and then
restores whatever handlers were there. ``exit_on_sigterm`` is for processes that have nothing
to stop cleanly but atexit hooks to run (the local servers' owner).

Python delivers signals to the main thread only; elsewhere both helpers leave signals alone.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class StopSignals:
    """``with StopSignals(stop) as signals:``: the first signal sets ``requested``, a second one
    sets ``forced``.

    ``interrupt_first`` also raises KeyboardInterrupt at the first signal (to break a blocking
    read, e.g. of stdin); ``interrupt_second`` raises it at the second one (to break a loop that
    does not look at ``forced``).
    """

    def __init__(
        self,
        requested: threading.Event | None = None,
        *,
        interrupt_first: bool = False,
        interrupt_second: bool = False,
    ) -> None:
        self.requested = requested if requested is not None else threading.Event()
        self.forced = threading.Event()
        self.interrupt_first = interrupt_first
        self.interrupt_second = interrupt_second
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if _on_main_thread():
            self._previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
            self.install()
        return self

    def install(self) -> None:
        """(Re)claim the signals: creating a SparkContext installs its own SIGINT handler."""
        if _on_main_thread():
            for sig in STOP_SIGNALS:
                signal.signal(sig, self._handle)

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        again = self.requested.is_set()
        self.requested.set()
        if again:
            self.forced.set()
        if self.interrupt_first or (again and self.interrupt_second):
            raise KeyboardInterrupt

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def exit_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit, so atexit hooks run, unless somebody handles it already."""
    if not _on_main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def _exit(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
