"""The cyclic collector's pause around bulk jobs (core.collection)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from core.collection import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    gc.enable() if was else gc.disable()


def test_a_pause_turns_the_collector_off_and_back_on_even_when_the_block_fails() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("the job failed")
    assert gc.isenabled()


def test_as_a_decorator_each_call_pauses() -> None:
    @collector_paused()
    def job() -> bool:
        return gc.isenabled()

    assert job() is False and gc.isenabled()
    assert job() is False and gc.isenabled()


def test_overlapping_pauses_resume_when_the_last_one_ends() -> None:
    first_in, second_done, first_may_end = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            first_may_end.wait(10)
        seen.append(gc.isenabled())

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(10)
    with collector_paused():
        pass
    second_done.set()
    assert not gc.isenabled(), "the first pause still runs"
    first_may_end.set()
    thread.join(10)
    assert seen == [True] and gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
