"""Python's cycle collector held off while a burst of allocation runs.

Parsing a shard, or previewing a change over every stored case, allocates hundreds of thousands of
dicts, lists and tuples that hold no cycle. With the collector on, every few hundred allocations
start a collection that walks what was made so far: that tripled the time to parse a 20,000-case
store and doubled an impact preview. Inside a pause nothing is walked; what the pause leaves is
collected later as usual (reference counting frees everything without a cycle at once anyway).
"""
from __future__ import annotations

import contextlib
import gc
import threading


class _CollectorPause:
    """Python's cycle collector held off while a block runs; nested and concurrent uses count,
    and the collector comes back only if it was on when the first of them began."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    @contextlib.contextmanager
    def __call__(self):
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._resume:
                    gc.enable()


#: Use: ``with collection_paused(): ...``.
collection_paused = _CollectorPause()
