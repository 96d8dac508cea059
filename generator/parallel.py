"""Run per-award work on several cores, with results in input order (so output is identical
whatever the worker count).

Workers are forked: they inherit the site model, keys and caches already in memory instead of
having them pickled, and each warms its own JSON-LD context cache (pyld's caches are
per-process and not thread-safe, so threads would not help).
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from typing import Any, Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_CONTEXT: dict[str, Any] = {}
MIN_ITEMS_PER_WORKER = 32  # below this, starting processes costs more than it saves


def default_workers() -> int:
    """`RUGZAK_WORKERS`, else the number of cores this process may use."""
    configured = os.environ.get("RUGZAK_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def return_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's `malloc_trim`; elsewhere
    nothing). A forked worker starts with every resident page of its parent, in use or only
    freed, and those pages count in its memory: after loading a large site, tens of MB."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return  # not glibc (TypeError: Windows has no "this process" library handle)
    trim(0)


def end_with_parent(parent: int) -> None:
    """In a forked worker (a pool's initializer): die with the building process. A worker
    left behind would hold on to the output folder's lock, which it inherited, and no
    later build could run. (Linux: the kernel's parent-death signal; elsewhere only the
    check for a parent already gone.)"""
    try:
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError, TypeError):
        pass
    if os.getppid() != parent:  # died before the signal was asked for
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def results_helping(tasks: Sequence[tuple[Future[R | None], Callable[[], R | None]]]
                    ) -> list[R] | None:
    """Each task's result, in order: `(future, run)` pairs, a pool's future and the same
    work as a call. The caller waits anyway, so it helps: tasks the pool has not started yet
    are taken back from the end (cancelled) and run here, while the pool works from the
    front; what the pool started is waited for. A task whose result is None (it could not
    tell) ends it all: None, and what has not started is cancelled. A pool process that
    fails raises here."""
    results: list[Any] = [None] * len(tasks)
    waiting = len(tasks)
    try:
        while waiting and tasks[waiting - 1][0].cancel():
            waiting -= 1
            results[waiting] = tasks[waiting][1]()
            if results[waiting] is None:
                return None
        for at in range(waiting):
            results[at] = tasks[at][0].result()
            if results[at] is None:
                return None
    finally:
        for future, _ in tasks:
            future.cancel()  # (those done or started stay as they are)
    return results


def _run(function: Callable[[Any, T], R], item: T) -> R:
    return function(_CONTEXT["value"], item)


def _in_process(items: int, workers: int) -> bool:
    return workers <= 1 or items < 2 * MIN_ITEMS_PER_WORKER or \
        "fork" not in multiprocessing.get_all_start_methods()


def _tasks(items: int, workers: int) -> int:
    """Items per task: small enough to spread the work evenly, large enough that handing
    out tasks costs little."""
    return max(1, min(64, items // (workers * 8)))


def imap_ordered(function: Callable[[Any, T], R], items: Sequence[T], context: Any,
                 workers: int) -> Iterator[R]:
    """`function(context, item)` for each item, spread over `workers` processes, yielded in
    input order as they complete (so a caller can fold results and show progress without
    holding them all)."""
    if _in_process(len(items), workers):
        for item in items:
            yield function(context, item)
        return
    yield from _forked(function, items, context, workers, _tasks(len(items), workers))


def imap_batches(function: Callable[[Any, Sequence[T]], R], items: Sequence[T],
                 context: Any, workers: int) -> Iterator[tuple[Sequence[T], R]]:
    """`(batch, function(context, batch))` for consecutive batches of `items`, spread over
    `workers` processes like `imap_ordered`, in order. For many small items whose results
    the function can fold into one: one result crosses to the parent per batch, not one
    per item (at 100,000 kept awards, handling each result cost the parent seconds)."""
    size = _tasks(len(items), workers)
    batches = [items[start:start + size] for start in range(0, len(items), size)]
    if _in_process(len(items), workers):
        for batch in batches:
            yield batch, function(context, batch)
        return
    yield from zip(batches, _forked(function, batches, context, workers, 1))


def _forked(function: Callable[[Any, T], R], items: Sequence[T], context: Any,
            workers: int, chunk: int) -> Iterator[R]:
    _CONTEXT["value"] = context
    # Everything alive now (the site model above all) is inherited by the workers and never
    # freed there: frozen, the workers' collections do not walk it, and do not touch (and so
    # copy) the memory pages it lies on.
    gc.freeze()
    return_free_memory()
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                 initializer=end_with_parent, initargs=(os.getpid(),)) as pool:
            yield from pool.map(partial(_run, function), items, chunksize=chunk)
    finally:
        gc.unfreeze()
        _CONTEXT.clear()


def map_ordered(function: Callable[[Any, T], R], items: Sequence[T], context: Any,
                workers: int) -> list[R]:
    """`[function(context, item) for item in items]`, spread over `workers` processes."""
    return list(imap_ordered(function, items, context, workers))
