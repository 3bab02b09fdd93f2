"""Keeps the Python workers' loaded reference data out of the garbage collector's way.

PySpark's worker daemon runs a full ``gc.collect()`` after every task of a reused worker. A full
collection walks every tracked object, and the user-agent matchers and the geo database are
tens of thousands of them: measured here, 85-160 ms per collection with both loaded, against
0.4 ms without; the bench-e2e profile found the workers spending 92% of their busy time there.
``gc.freeze()`` moves every object alive now into a permanent generation that collections skip
(they are never garbage: the worker keeps them for its lifetime), so a collection costs what
the task itself left behind.
"""

from __future__ import annotations

import gc
from typing import TypeVar

T = TypeVar("T")


def kept_for_worker_lifetime(loaded: T) -> T:
    """``loaded``, after moving it (and everything else alive now) out of the GC's scans."""
    gc.collect()  # what is garbage now must not be frozen with the rest
    gc.freeze()
    return loaded
