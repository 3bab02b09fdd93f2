"""Ctrl-C and SIGTERM as stop requests: first asks, second forces, handlers restored after."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from logiflow.stop_signals import StopSignals


def test_first_signal_requests_second_forces_then_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = threading.Event()
    with StopSignals(stop) as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.is_set() and signals.requested is stop
        assert not signals.forced.is_set()
        os.kill(os.getpid(), signal.SIGINT)
        assert signals.forced.is_set()
    assert signal.getsignal(signal.SIGTERM) is before


def test_interrupt_first_breaks_a_blocking_read() -> None:
    with pytest.raises(KeyboardInterrupt), StopSignals(interrupt_first=True) as signals:
        os.kill(os.getpid(), signal.SIGINT)
    assert signals.requested.is_set()


def test_interrupt_second_breaks_a_loop_that_ignores_forced() -> None:
    with StopSignals(interrupt_second=True) as signals:
        os.kill(os.getpid(), signal.SIGINT)
        assert signals.requested.is_set()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)


def test_off_the_main_thread_signals_are_left_alone() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[object] = []

    def worker() -> None:
        with StopSignals():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]
