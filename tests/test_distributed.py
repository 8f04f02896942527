"""DDP under the gloo backend on CPU: two processes train like one, write one checkpoint, and resume.

Each test starts two worker processes the way ``torchrun`` would (RANK / WORLD_SIZE / MASTER_* set), on the
loopback interface only.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from posegen_lite.models.checkpoints import list_checkpoints
from posegen_lite.models.discriminator import DiscriminatorConfig
from posegen_lite.models.g1 import G1Config
from posegen_lite.models.g2 import G2Config
from posegen_lite.training.distributed import DistContext
from posegen_lite.training.loop import TrainConfig, train

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without distributed")


def _free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (all held open while choosing, so none repeats)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _config(run_dir: str, stage: int, steps: int, g1_checkpoint: str | None = None) -> TrainConfig:
    return TrainConfig(
        stage=stage,
        run_dir=run_dir,
        steps=steps,
        batch_size=2,
        checkpoint_every=2,
        val_every=1000,
        precision="fp32",
        channels_last=False,
        device="cpu",
        g1=G1Config(16, 16, base_channels=4, z_dim=8),
        g2=G2Config(16, 16, base_channels=4),
        disc=DiscriminatorConfig(16, 16, base_channels=4),
        g1_checkpoint=g1_checkpoint,
    )


def _worker(rank: int, world: int, ports: list[int], tests_dir: str, jobs: list, out_dir: str) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        GLOO_SOCKET_IFNAME="lo",
        POSEGEN_DIST_TIMEOUT_S="120",
    )
    sys.path.insert(0, tests_dir)
    from conftest import TinyPairs

    torch.set_num_threads(1)
    for i, (run_dir, stage, steps, g1_ckpt) in enumerate(jobs):
        os.environ["MASTER_PORT"] = str(ports[i])  # a fresh rendezvous per run, like separate torchrun launches
        res = train(_config(run_dir, stage, steps, g1_ckpt), TinyPairs(n=8), progress=False)
        weights = {
            f"{n}.{k}": v.detach().clone() for n, m in res.stage.models.items() for k, v in m.state_dict().items()
        }
        torch.save({"weights": weights, "step": res.step}, Path(out_dir) / f"job{i}_rank{rank}.pt")


def _run(jobs: list, tmp_path: Path) -> None:
    ports = _free_ports(len(jobs))
    mp.start_processes(
        _worker,
        args=(2, ports, str(Path(__file__).parent), jobs, str(tmp_path)),
        nprocs=2,
        join=True,
        start_method="spawn",
    )


def _load(tmp_path: Path, job: int, rank: int) -> dict:
    return torch.load(tmp_path / f"job{job}_rank{rank}.pt", weights_only=True)


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.slow
def test_two_ranks_stage2_and_stage3_agree_and_resume(tmp_path):
    g1_dir, s3_dir, s3_resumed = (str(tmp_path / n) for n in ("g1", "s3", "s3r"))
    g1_ckpt = str(tmp_path / "g1" / "ckpt_00000004.pt")
    jobs = [
        (g1_dir, 2, 4, None),  # Stage II, 4 steps
        (s3_dir, 3, 4, g1_ckpt),  # Stage III straight to 4
        (s3_resumed, 3, 2, g1_ckpt),  # Stage III to 2 ...
        (s3_resumed, 3, 4, g1_ckpt),  # ... then resumed to 4
    ]
    _run(jobs, tmp_path)
    for job in range(4):
        r0, r1 = _load(tmp_path, job, 0), _load(tmp_path, job, 1)
        _assert_same(r0["weights"], r1["weights"])  # both ranks end with identical weights (and BN buffers)
    # one checkpoint per checkpoint step, written by rank 0 only; no stray temporary files
    assert [p.name for p in list_checkpoints(g1_dir)] == ["ckpt_00000002.pt", "ckpt_00000004.pt"]
    assert not list(Path(g1_dir).glob("*.tmp"))
    _assert_same(_load(tmp_path, 1, 0)["weights"], _load(tmp_path, 3, 0)["weights"])  # resume under DDP exact


def test_single_process_context_is_plain():
    ctx = DistContext.from_env("cpu") if "WORLD_SIZE" not in os.environ else None
    if ctx is None:
        pytest.skip("running under torchrun")
    assert not ctx.enabled and ctx.is_main
    module = torch.nn.Linear(2, 2)
    assert ctx.wrap(module) is module
