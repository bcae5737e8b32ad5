"""The web's garbage collections are taken by its event loop's thread (registry_admin/collector.py,
deploy/gunicorn.conf.py): a page thread at nice +5 never holds the GIL through a collection."""

from __future__ import annotations

import asyncio
import gc
import runpy
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from registry_admin import collector
from registry_admin.collector import LoopCollector

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


class Node:
    """One object of a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def restore_gc() -> Iterator[None]:
    yield
    gc.enable()


def cycles(count: int, freed: list[int]) -> None:
    """``count`` cycles, dropped at once; each appends the freeing thread's id to ``freed``."""
    for _ in range(count):
        weakref.finalize(Node(), lambda: freed.append(threading.get_ident()))


def test_the_loop_collects_what_a_page_thread_leaves(restore_gc: None) -> None:
    loop = asyncio.new_event_loop()
    loop_thread = threading.Thread(target=loop.run_forever, name="loop", daemon=True)
    loop_thread.start()
    started = threading.Event()
    taker = LoopCollector(loop)
    loop.call_soon_threadsafe(lambda: (taker.start(), started.set()))
    assert started.wait(5)
    freed: list[int] = []
    page = threading.Thread(target=cycles, args=(20_000, freed))  # far past the young threshold
    try:
        page.start()
        page.join()
        deadline = time.monotonic() + 10
        # Counted once its collection returns: the finalizers run inside it, and this thread may
        # see them before the count.
        while (len(freed) < 10_000 or not sum(taker.collections)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not gc.isenabled()
        assert len(freed) >= 10_000  # collections by the loop, while the page allocated or after
        assert set(freed) == {loop_thread.ident}  # never the page thread that allocated
        assert sum(taker.collections) >= 1  # counted by the collector (the generation depends on what came before)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        loop_thread.join(5)
        loop.close()


def test_an_idle_loop_looks_ten_times_a_second(restore_gc: None) -> None:
    loop = asyncio.new_event_loop()
    taker = LoopCollector(loop)
    loop.call_soon(taker.start)
    loop.call_later(1.0, loop.stop)
    # In a thread of its own: after a browser test, Playwright keeps a loop running in this one.
    looping = threading.Thread(target=loop.run_forever)
    looping.start()
    looping.join(10)
    loop.close()
    assert taker.delay == collector.IDLE


def test_a_full_collection_frees_what_middle_collections_moved_to_the_oldest_generation(restore_gc: None) -> None:
    gc.collect()
    gc.disable()  # as in the web: only the collector collects
    taker = LoopCollector(asyncio.new_event_loop())
    freed: list[int] = []
    nodes = [Node() for _ in range(collector.FULL_AFTER + 500)]
    for node in nodes:
        weakref.finalize(node, freed.append, 1)
    for _ in range(collector.MIDDLE_AFTER + 1):
        gc.collect(0)
    assert taker.collect() == 1  # the nodes, alive, reach the oldest generation
    assert taker.pending >= collector.FULL_AFTER + 500
    del nodes, node
    assert taker.collect() == 2
    assert len(freed) == collector.FULL_AFTER + 500
    assert taker.pending == 0


def test_a_full_collection_waits_for_enough_objects_in_the_oldest_generation(restore_gc: None) -> None:
    gc.collect()
    gc.collect(1)  # one middle collection since the last full one
    taker = LoopCollector(asyncio.new_event_loop())
    assert taker.long_lived >= 4 * collector.FULL_AFTER  # the test process keeps many objects
    taker.pending = collector.FULL_AFTER - 1
    assert taker.due() != 2
    taker.pending = collector.FULL_AFTER
    assert taker.due() == 2


def test_the_web_worker_hands_its_collections_to_its_loop(restore_gc: None) -> None:
    config = runpy.run_path(str(CONFIG))
    loop = asyncio.new_event_loop()
    try:
        config["post_worker_init"](SimpleNamespace(loop=loop))
        assert not gc.isenabled()
        assert any(getattr(handle, "_callback", None) for handle in loop._scheduled)  # type: ignore[attr-defined]
    finally:
        gc.unfreeze()
        loop.close()
