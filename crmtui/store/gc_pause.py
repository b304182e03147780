"""Holding off Python's cycle collector while a bulk step or a big read runs."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pausers = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold off the cycle collector for a bulk step, then restore it as it was.

    A 100k-row import keeps millions of objects alive (rows, values, params), and
    each full collection walks all of them: ~3 s of an import went to collections
    that found nothing to free, since these rows hold no reference cycles. In the
    app, a summary read at 1M contacts set off full collections of 100-180 ms that
    landed in key presses on the UI thread.

    The collector is process-wide, so pauses from several threads are counted: it
    comes back on (if it was on before the first) when the last one ends.
    """
    global _pausers, _was_enabled
    with _lock:
        if _pausers == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _pausers += 1
    try:
        yield
    finally:
        with _lock:
            _pausers -= 1
            if _pausers == 0 and _was_enabled:
                gc.enable()
