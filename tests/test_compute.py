"""The compute thread a viewpoint widget runs its torch work in: priorities, results, errors, re-entry, closing."""

from __future__ import annotations

import threading

import pytest

from posegen_lite.app.compute import LATER, NOW, ComputeThread


def test_run_returns_the_result_and_raises_the_error():
    worker = ComputeThread()
    assert worker.run(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        worker.run(lambda: 1 / 0)
    assert worker.run(threading.current_thread) is not threading.current_thread()  # it ran in the thread
    worker.close()


def test_a_view_someone_waits_for_goes_before_queued_background_work():
    worker, gate, order = ComputeThread(), threading.Event(), []
    worker.submit(gate.wait)  # holds the thread while the queue fills
    later = [worker.submit(order.append, name, priority=LATER) for name in ("turntable 1", "turntable 2")]
    now = worker.submit(order.append, "slider", priority=NOW)
    gate.set()
    for future in (*later, now):
        future.result(timeout=10)
    assert order == ["slider", "turntable 1", "turntable 2"]
    worker.close()


def test_a_call_from_the_thread_itself_runs_at_once():
    worker = ComputeThread()
    # run() inside the thread would wait for itself forever if it queued the call
    assert worker.submit(lambda: worker.run(lambda: "inner")).result(timeout=10) == "inner"
    worker.close()


def test_close_ends_the_thread_after_the_work_queued_before_it():
    worker, done = ComputeThread("test-close"), []
    worker.submit(done.append, 1)
    worker.close()
    worker._thread.join(timeout=10)
    assert done == [1] and not worker._thread.is_alive()
