"""stage1.input_key and InputMemo: the input's Stage I work kept across calls, keyed by the input's contents."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from posegen_lite.geometry.camera import Camera
from posegen_lite.pipelines.stage1 import KINDS, InputMemo, input_key


def _camera(tz: float = 3.0) -> Camera:
    k = np.array([[100.0, 0, 32], [0, 100.0, 64], [0, 0, 1]])
    return Camera(k, np.eye(3), np.array([0.0, 0.0, tz]), 64, 128)


def test_key_follows_contents_not_identity():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert input_key(a, None, "mlp") == input_key(a.copy(), None, "mlp")
    assert input_key(a, _camera()) == input_key(a, _camera())
    b = a.copy()
    b[1, 2] += 1
    assert input_key(a) != input_key(b)
    assert input_key(a) != input_key(a.astype(np.float64))  # same values, another dtype
    assert input_key(a) != input_key(a.reshape(4, 3))  # same bytes, another shape
    assert input_key(a, _camera(3.0)) != input_key(a, _camera(3.5))
    assert input_key(a, None) != input_key(None, a)  # the order of the parts counts
    listed = a.tolist()
    key = input_key(listed)
    listed[0][0] = 99.0  # a list changed in place is another input
    assert input_key(listed) != key and input_key(a.tolist()) == key


def test_memo_computes_once_and_forgets_the_oldest():
    memo, calls = InputMemo(size=2), []

    def compute(v):
        return lambda: calls.append(v) or v * 10

    assert memo.get("source", b"a", compute(1)) == 10
    assert memo.get("source", b"a", compute(99)) == 10  # kept: not computed again
    assert memo.get("widths", b"a", compute(2)) == 20  # another kind of value of the same input
    newer = [bytes([k]) for k in range(2 * KINDS - 1)]  # up to KINDS kinds per input: 2·KINDS values for size 2
    for k in newer:
        memo.get("source", k, compute(3))
    assert memo.get("source", b"a", compute(4)) == 40  # pushed out by newer inputs
    assert calls == [1, 2, *[3] * len(newer), 4]


def test_memo_keeps_no_error():
    memo = InputMemo()

    def bad():
        raise ValueError("bad keypoints")

    with pytest.raises(ValueError):
        memo.get("source", b"k", bad)
    assert memo.get("source", b"k", lambda: 5) == 5
    with pytest.raises(ValueError):
        InputMemo(size=-1)


def test_memo_is_shared_between_threads():
    memo, results = InputMemo(size=64), []

    def work(t):
        for i in range(200):
            results.append(memo.get("source", bytes([i % 50]), lambda i=i: i % 50) == i % 50)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 800 and all(results)
