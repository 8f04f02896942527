"""The CUDA paths: the same pictures as on the CPU, training in every precision, checkpoints that move between
devices. Skipped without a CUDA GPU (CI has none); run them on a GPU machine or on Colab with
``pytest tests/test_cuda.py``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TinyPairs
from torch.utils.data import default_collate

from posegen_lite.app.notebook import predict_with
from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.models.checkpoints import list_checkpoints
from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
from posegen_lite.models.g1 import G1, G1Config
from posegen_lite.models.g2 import G2, G2Config
from posegen_lite.pipelines.synthesizer import DEMO_WEIGHTS, NovelViewSynthesizer
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.loop import TrainConfig, train
from posegen_lite.training.steps import Stage2, Stage3

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

CUDA = torch.device("cuda")


def _held_out_batch(n: int = 8) -> dict:
    """``n`` held-out test pairs at the demo weights' size, with the body-proxy extras its G1 needs."""
    spec = DataSpec(size=(128, 64), people=400, extras=True)
    data = build_dataset(spec, "test")
    return default_collate([data[i] for i in range(n)])


@pytest.fixture
def exact_fp32():
    """Plain fp32 convolutions and matrix products: with TF32 (cuDNN's default for convolutions) a CUDA
    result differs from the CPU's by ~1e-3 relative per layer, which says nothing about the code."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_the_demo_weights_give_the_cpus_pictures_on_cuda(exact_fp32):
    batch = _held_out_batch()
    cpu, gpu = predict_with(DEMO_WEIGHTS, batch, "cpu"), predict_with(DEMO_WEIGHTS, batch, "cuda")
    for key in ("G1", "G1+G2"):
        diff = (cpu[key] - gpu[key]).abs()
        print(f"{key}: CPU vs CUDA mean |Δ| {diff.mean():.2e}, max {diff.max():.2e} (images in [-1, 1])")
        assert diff.mean() < 1e-4 and diff.max() < 1e-2


def test_the_synthesizer_on_cuda_matches_the_cpu(exact_fp32):
    """Stage I (rotation, projection, pose maps, the body proxy's flow) and both networks on the GPU."""
    view = Scene.held_out(1, (128, 64)).input_view
    images = []
    for device in ("cpu", "cuda"):
        synth = NovelViewSynthesizer.from_checkpoint(DEMO_WEIGHTS, device=device)
        result = synth.synthesize(view.image, view.joints3d, yaw=45.0, camera=view.camera)
        images.append(result.image.astype(np.int16))  # uint8 (H, W, 3)
    diff = np.abs(images[0] - images[1])
    print(f"synthesizer CPU vs CUDA: mean |Δ| {diff.mean():.3f}, max {diff.max()}, {(diff > 3).sum()} values > 3")
    assert diff.mean() < 0.05 and diff.max() <= 3  # grey levels


def _tiny_batch(n: int = 4, size: int = 32) -> dict:
    data = TinyPairs(n=n, height=size, width=size)
    return default_collate([data[i] for i in range(n)])


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_stage2_trains_on_cuda_in_each_precision(precision, channels_last):
    torch.manual_seed(0)
    g1 = G1(G1Config(32, 32, base_channels=8, z_dim=8))
    stage = Stage2(g1, 2e-4, (0.5, 0.999), DistContext(device=CUDA), precision, channels_last)
    assert (stage.scaler is not None) == (precision == "fp16")  # fp16 needs loss scaling; bf16 does not
    before = _params(stage.models["g1"])
    losses = [stage.train_step(_tiny_batch(), step)["loss"] for step in range(3)]
    assert all(np.isfinite(losses))
    after = _params(stage.models["g1"])
    assert all(p.device.type == "cuda" and p.dtype == torch.float32 for p in after)  # the weights stay fp32
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_stage3_trains_on_cuda_in_each_precision(precision):
    torch.manual_seed(0)
    stage = Stage3(
        G1(G1Config(32, 32, base_channels=8, z_dim=8)),
        G2(G2Config(32, 32, base_channels=8)),
        Discriminator(DiscriminatorConfig(32, 32, base_channels=8)),
        lr=2e-4,
        d_lr=2e-4,
        betas=(0.5, 0.999),
        ctx=DistContext(device=CUDA),
        precision=precision,
        channels_last=True,
    )
    g1_before, g2_before = _params(stage.models["g1"]), _params(stage.models["g2"])
    for step in range(3):
        losses = stage.train_step(_tiny_batch(), step)
        assert all(np.isfinite(v) for v in losses.values()), losses
    assert all(torch.equal(b, a) for b, a in zip(g1_before, _params(stage.models["g1"]), strict=True))  # frozen
    assert any(not torch.equal(b, a) for b, a in zip(g2_before, _params(stage.models["g2"]), strict=True))


def test_a_cuda_run_resumes_on_the_cpu(tmp_path, tiny_pairs):
    """A Colab run's checkpoint, continued on a laptop (and the other way round): tensors are loaded onto the
    resuming run's device."""
    kw = dict(run_dir=str(tmp_path / "run"), batch_size=4, checkpoint_every=2, val_every=1000,
              g1=G1Config(16, 16, base_channels=4, z_dim=8))  # fmt: skip
    first = train(TrainConfig(steps=2, device="cuda", precision="auto", **kw), tiny_pairs, progress=False)
    assert first.step == 2 and next(first.stage.models["g1"].parameters()).is_cuda
    second = train(TrainConfig(steps=4, device="cpu", precision="fp32", **kw), tiny_pairs, progress=False)
    assert second.step == 4 and not next(second.stage.models["g1"].parameters()).is_cuda
    third = train(TrainConfig(steps=6, device="cuda", precision="auto", **kw), tiny_pairs, progress=False)
    assert third.step == 6 and [int(p.stem.split("_")[-1]) for p in list_checkpoints(kw["run_dir"])][-1] == 6
    assert all(np.isfinite(h["loss"]) for h in first.history + second.history + third.history)
