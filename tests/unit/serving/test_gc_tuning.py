"""``api.server.tune_gc``, which ``serve`` and ``zeropools.asgi:app`` call before serving: the
objects built at start-up leave the collector's sight and the youngest generation is collected
in larger rounds (bench/RESULTS-http.md, "GC": server CPU per request -17 % in the same run).

Method: call it in this process and read the collector's own state back; the state is put
back afterwards so no other test runs with it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from zeropools.api.server import GC_YOUNG_THRESHOLD, tune_gc


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()  # whatever an earlier test in this process froze
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_start_up_objects_are_frozen_and_young_collections_come_less_often() -> None:
    built_at_start_up = [{"route": n} for n in range(100)]  # containers: tracked by the collector
    older, oldest = gc.get_threshold()[1:]
    assert gc.get_freeze_count() == 0

    tune_gc()

    assert gc.get_freeze_count() >= len(built_at_start_up)
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, older, oldest)


@pytest.mark.usefixtures("collector")
def test_cyclic_garbage_made_after_it_is_still_collected() -> None:
    tune_gc()

    class Node:
        other: Node | None = None

    first, second = Node(), Node()
    first.other, second.other = second, first  # a cycle: reference counting cannot free it
    del first, second
    assert gc.collect() >= 2  # the frozen set is left alone; new garbage is not
