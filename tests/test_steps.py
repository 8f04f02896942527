"""Precision choice per device: bf16 only where it is native, fp16 + loss scaling on older GPUs (mocked)."""

from __future__ import annotations

import pytest
import torch

from posegen_lite.training import steps


@pytest.mark.parametrize(
    "capability, expected",
    [((7, 5), "fp16"), ((7, 0), "fp16"), ((6, 1), "fp16"), ((8, 0), "bf16"), ((8, 9), "bf16"), ((9, 0), "bf16")],
)
def test_auto_precision_on_cuda_follows_compute_capability(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda _device=None: capability)
    # a T4 reports bf16 "supported" (emulated): the choice must not rely on it
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert steps.resolve_precision("auto", torch.device("cuda")) == expected
    assert steps.cuda_has_native_bf16(torch.device("cuda")) is (expected == "bf16")


def test_explicit_precision_is_kept_and_checked(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda _device=None: (7, 5))
    assert steps.resolve_precision("bf16", torch.device("cuda")) == "bf16"
    assert steps.resolve_precision("fp32", torch.device("cuda")) == "fp32"
    with pytest.raises(ValueError, match="CUDA"):
        steps.resolve_precision("fp16", torch.device("cpu"))
    with pytest.raises(ValueError):
        steps.resolve_precision("fp8", torch.device("cpu"))
    assert steps.resolve_precision("auto", torch.device("cpu")) in ("bf16", "fp32")
