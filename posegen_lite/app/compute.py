"""One thread for all of a widget's torch work: the views the sliders ask for first, the background turntable after.

PyTorch's CPU kernels run in OpenMP thread teams, one team per thread that calls them. With GNU OpenMP (the one
the torch wheels ship), once a second thread has a team and the teams' threads outnumber the cores, the teams'
threads sleep between kernels instead of spinning, and thousands of small kernels each wait to wake them: on the
project's 2 cores a 73-view turntable took 3.3–3.9 s in a second thread against 2.2–2.9 s in the only one (1.5
of 2 cores busy instead of 1.9; benchmarks/notes/2026-12-widget-speed.md). So a widget runs its sliders' views and
its turntable in one ``ComputeThread``, in priority order, and the app loads its weights there too, so that in its
kernel this thread is the only one that calls torch.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

NOW, LATER = 0, 1  # priorities: a view someone waits for, then background work (the turntable)


class ComputeThread:
    """A daemon thread that runs submitted calls one at a time, lowest priority number first, first come first
    served within a priority. ``run`` waits for a call's result (raising its exception); ``submit`` returns a
    ``Future``. Calls made from the thread itself run at once (a call that submits and waits cannot deadlock)."""

    def __init__(self, name: str = "posegen-compute") -> None:
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()  # ties in priority: first come first served (and never compare calls)
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, priority: int = LATER) -> Future:
        """Queue ``fn(*args)``; its ``Future`` holds the result or the exception."""
        future: Future = Future()
        self._queue.put((priority, next(self._order), future, fn, args))
        return future

    def run(self, fn: Callable[..., Any], *args: Any, priority: int = NOW) -> Any:
        """``fn(*args)`` in the thread, ahead of queued background work; waits and returns its result."""
        if threading.current_thread() is self._thread:
            return fn(*args)
        return self.submit(fn, *args, priority=priority).result()

    def close(self) -> None:
        """End the thread once the calls queued before this one have run."""
        self._queue.put((LATER + 1, next(self._order), None, None, ()))

    def _serve(self) -> None:
        while True:
            _, _, future, fn, args = self._queue.get()
            if future is None:  # close()
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as err:  # handed to whoever waits on the future
                future.set_exception(err)
