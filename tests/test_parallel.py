"""Work spread over forked processes (generator/parallel.py)."""

from __future__ import annotations

import os

import pytest

from generator import parallel
from generator.parallel import MIN_ITEMS_PER_WORKER, imap_ordered, return_free_memory


def _tagged(context: str, item: int) -> tuple[str, int, int]:
    return context, item * item, os.getpid()


def test_results_come_in_input_order_whatever_the_worker_count() -> None:
    items = list(range(3 * MIN_ITEMS_PER_WORKER))
    serial = list(imap_ordered(_tagged, items, "ctx", 1))
    forked = list(imap_ordered(_tagged, items, "ctx", 2))
    assert [r[:2] for r in forked] == [r[:2] for r in serial] == [
        ("ctx", i * i) for i in items]
    assert {r[2] for r in serial} == {os.getpid()}
    assert os.getpid() not in {r[2] for r in forked}  # really in other processes


@pytest.mark.parametrize("library", [OSError("no such library"), object()])
def test_returning_free_memory_is_skipped_without_glibc(monkeypatch: pytest.MonkeyPatch,
                                                        library: object) -> None:
    def fake_cdll(name: object) -> object:
        if isinstance(library, Exception):
            raise library
        return library  # a C library without malloc_trim (musl, macOS)

    monkeypatch.setattr(parallel.ctypes, "CDLL", fake_cdll)
    return_free_memory()  # nothing to do, and no error


def test_returning_free_memory_calls_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    class Glibc:
        @staticmethod
        def malloc_trim(pad: int) -> int:
            calls.append(pad)
            return 1

    monkeypatch.setattr(parallel.ctypes, "CDLL", lambda name: Glibc)
    return_free_memory()
    assert calls == [0]
