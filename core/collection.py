"""Python's cyclic garbage collector paused around a bulk job on a worker (issue 24).

A first sync from the storage files at 10,000 repositories makes millions of short-lived
objects and holds a few hundred thousand while it runs: the collector ran about 1,100 times
during it, its full collections (0.1-0.17 s each, a pass over every object the process holds)
found nothing to free, and together they took 0.8-0.9 s of a 6 s sync with the GIL held, so
the reading threads stood still too (benchmarks/README.md, storage-24f). Reference counting
frees the job's objects as before; a reference cycle made meanwhile waits for the collector's
first run after the pause.

The web's own schedule (``registry_admin.collector``) keeps the collector disabled and runs it
from its loop: a pause there changes nothing and resumes nothing.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off while the block runs (also as a decorator). Pauses may nest and
    overlap between threads: the collector is enabled again when the last one ends, and only if
    it was enabled when the first began."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
