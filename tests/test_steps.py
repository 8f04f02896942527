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


def _step_results(stage: steps.Stage, batch: dict) -> tuple[dict[str, float], list[torch.Tensor]]:
    losses = stage.train_step(batch, step=0)
    return losses, [q.detach().clone() for m in stage.models.values() for q in m.parameters()]


def test_a_step_on_a_compact_batch_equals_the_step_on_its_float_batch(tmp_path):
    from torch.utils.data import DataLoader

    from posegen_lite.data.synthetic import SyntheticConfig
    from posegen_lite.data.synthetic.dataset import SyntheticPairs
    from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
    from posegen_lite.models.g1 import G1, G1Config
    from posegen_lite.models.g2 import G2, G2Config
    from posegen_lite.training.distributed import DistContext

    config = SyntheticConfig(size=(32, 16), train_people=2, val_people=2, test_people=1, hard_people=1)
    floats = SyntheticPairs(config, "train", cache_dir=tmp_path, arrays=True)
    compact = SyntheticPairs(config, "train", cache_dir=tmp_path, arrays=True, compact=True)
    batches = [next(iter(DataLoader(d, batch_size=4))) for d in (floats, compact)]
    assert batches[1]["pose_b"].dtype == torch.uint8  # the step really gets the compact form (bits)
    ctx, size = DistContext(), {"height": 32, "width": 16}

    def stage2() -> steps.Stage:
        torch.manual_seed(0)
        return steps.Stage2(G1(G1Config(**size, base_channels=4)), 2e-4, (0.5, 0.999), ctx, precision="fp32")

    def stage3() -> steps.Stage:
        torch.manual_seed(0)
        nets = G1(G1Config(**size, base_channels=4)), G2(G2Config(**size, base_channels=4))
        disc = Discriminator(DiscriminatorConfig(**size, base_channels=4))
        return steps.Stage3(*nets, disc, lr=2e-4, d_lr=2e-4, betas=(0.5, 0.999), ctx=ctx, precision="fp32")

    for make in (stage2, stage3):
        (want, want_weights), (got, got_weights) = (_step_results(make(), b) for b in batches)
        assert got == want and want  # the same losses, to the last bit
        assert all(torch.equal(a, b) for a, b in zip(got_weights, want_weights, strict=True))
