"""The web's cyclic garbage collections, taken by the event loop's thread, small and often (issue 26).

Python collects when a thread allocates past a threshold, in that thread, holding the GIL until it
is done. In the web that thread is nearly always a page thread, which runs at a lower CPU priority
than the loop (``registry_admin.asgi``: nice +5), and Python's full collections wait until a
quarter as many objects as the oldest generation holds have joined it: under 8 slow tag lists a
full collection freed ~48,000 objects in 100-255 ms (its time is the freeing, not the walk), and
every ``/-/alive`` and registry event on the loop waited for it.

So the web turns Python's automatic collections off and its loop takes them instead:
- a young collection when Python would (``gc.get_threshold()[0]`` new objects);
- a middle one every ``MIDDLE_AFTER`` young ones (Python: 10);
- a full one once ``FULL_AFTER`` objects (or a quarter of the oldest generation, if fewer) have
  reached the oldest generation since the last: counted as Python counts them, what the middle
  collections kept.
Each collection then frees a few thousand objects at most, at the loop's priority. The loop looks
every ``BUSY`` seconds while objects are being allocated and backs off to ``IDLE`` when nothing
is, so an idle web wakes ten times a second at most.

Measured (``make benchmark-patterns``, benchmarks/README.md): full collections 14-30 ms instead of
100-255 ms. ``core.middleware.ReleaseViews`` makes the garbage smaller too.
"""

from __future__ import annotations

import asyncio
import gc
import logging

log = logging.getLogger(__name__)

BUSY = 0.01
IDLE = 0.1
QUIET = 100  # fewer new objects than this since the last look: nothing is being allocated
MIDDLE_AFTER = 3  # young collections (Python: 10)
FULL_AFTER = 1000  # objects that reached the oldest generation since its last collection


class LoopCollector:
    """Python's collections (``gc``) taken by ``loop``'s thread instead of whichever thread allocates."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.delay = BUSY
        self.long_lived = len(gc.get_objects(2))
        self.collections = [0, 0, 0]
        self.pending = 0  # objects moved to the oldest generation since its last collection
        self._seen = 0  # the young generation's count after the last look
        self._handle: asyncio.TimerHandle | None = None

    def start(self) -> None:
        gc.disable()
        self._handle = self.loop.call_later(self.delay, self._look)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        gc.enable()

    def due(self) -> int | None:
        """The generation to collect now, or None: Python's rule, with ``MIDDLE_AFTER`` and ``FULL_AFTER``."""
        counts = gc.get_count()
        if counts[2] and self.pending >= min(FULL_AFTER, self.long_lived // 4):
            return 2
        if counts[1] > MIDDLE_AFTER:
            return 1
        if counts[0] > gc.get_threshold()[0]:
            return 0
        return None

    def collect(self) -> int | None:
        """Collect the generation that is due, if any; return it."""
        generation = self.due()
        if generation == 1:
            # What a middle collection keeps moves to the oldest generation: Python's ``long_lived_pending``.
            young = len(gc.get_objects(0)) + len(gc.get_objects(1))
            self.pending += max(0, young - gc.collect(1))
        elif generation is not None:
            gc.collect(generation)
        if generation == 2:
            self.long_lived = len(gc.get_objects(2))
            self.pending = 0
        if generation is not None:
            self.collections[generation] += 1
        return generation

    def _look(self) -> None:
        try:
            young = gc.get_count()[0]
            allocated = young - self._seen if young >= self._seen else young
            self.collect()
            self._seen = gc.get_count()[0]
            self.delay = BUSY if allocated >= QUIET else min(IDLE, self.delay * 2)
        except Exception:  # never leave the web without a collector
            log.exception("garbage collection on the loop failed; Python collects by itself again")
            self.stop()
            return
        self._handle = self.loop.call_later(self.delay, self._look)
