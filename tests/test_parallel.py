"""Work spread over forked processes (generator/parallel.py)."""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, wait
from functools import partial

import pytest

from generator import parallel
from generator.parallel import (MIN_ITEMS_PER_WORKER, imap_batches, imap_ordered,
                                results_helping, return_free_memory)


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


def _squares(context: str, batch: range) -> tuple[str, list[int], int]:
    return context, [i * i for i in batch], os.getpid()


@pytest.mark.parametrize("count", [0, 1, 5, 2 * MIN_ITEMS_PER_WORKER, 1000])
def test_batches_cover_every_item_once_in_order_whatever_the_worker_count(count: int) -> None:
    items = range(count)
    serial = list(imap_batches(_squares, items, "ctx", 1))
    forked = list(imap_batches(_squares, items, "ctx", 2))
    for results in (serial, forked):
        assert [i for batch, _ in results for i in batch] == list(items)
        assert [sq for batch, (ctx, squares, _) in results for sq in squares] == [
            i * i for i in items]
        assert all(len(batch) == len(squares) for batch, (_, squares, _) in results)
    if count >= 2 * MIN_ITEMS_PER_WORKER:  # worth forking: in other processes, in batches
        assert os.getpid() not in {pid for _, (_, _, pid) in forked}
        assert 1 < len(forked) < count


def _square(flag: str, item: int, in_pool: bool = True) -> tuple[int, int]:
    if not in_pool:
        open(flag, "w").close()  # the caller helps: the pool may go on
    elif item == 0:  # the pool's process is busy until the caller has taken a task
        deadline = time.monotonic() + 10
        while not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.01)
    return item * item, os.getpid()


def test_waiting_for_a_pool_runs_its_unstarted_tasks_in_the_caller(tmp_path) -> None:
    flag = str(tmp_path / "helped")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        tasks = [(pool.submit(_square, flag, item), partial(_square, flag, item, False))
                 for item in range(20)]
        while not tasks[0][0].running():
            time.sleep(0.01)
        results = results_helping(tasks)
    assert [square for square, _ in results] == [item * item for item in range(20)]
    here = [pid == os.getpid() for _, pid in results]
    assert not here[0] and here[-1]  # the pool took the first, the caller the last
    assert here == sorted(here)  # the caller from the end, the pool from the front
    assert all(future.cancelled() for (future, _), mine in zip(tasks, here) if mine)


def _none_at_five(item: int) -> int | None:
    if item == 0:
        time.sleep(0.5)
    return None if item == 5 else item


def test_a_task_that_cannot_tell_ends_the_wait_and_the_tasks_not_started() -> None:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        tasks = [(pool.submit(_none_at_five, item), partial(_none_at_five, item))
                 for item in range(40)]
        while not tasks[0][0].running():
            time.sleep(0.01)
        assert results_helping(tasks) is None
        assert tasks[0][0].result() == 0  # what was running finished
        wait([future for future, _ in tasks])  # (what the pool had queued, too)
        assert all(future.cancelled() for future, _ in tasks[6:])  # taken back, run here
        assert all(future.cancelled() or future.result() == item  # dropped, or ran
                   for item, (future, _) in enumerate(tasks[:5]))


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


_ORPHAN_SCRIPT = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from generator.parallel import imap_ordered

def slow(context, item):
    time.sleep(60)
    return item

for _ in imap_ordered(slow, list(range(200)), None, 2):
    pass
"""


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            found += [int(child) for child in listing.read().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc")
def test_workers_die_with_a_killed_build(tmp_path) -> None:
    """A worker left behind would hold the output's lock (inherited) for ever."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(parallel.__file__).parent.parent)
    build = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT, root])
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while len(workers := _children(build.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) >= 2
        time.sleep(0.2)  # the pool's initializer has run
        build.send_signal(signal.SIGKILL)
        build.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers)
    finally:
        build.kill()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
