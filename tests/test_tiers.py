"""Size tiers: the explicit switches win, otherwise the hardware decides (GPU properties mocked)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
import torch

from posegen_lite.app import notebook as nb
from posegen_lite.app import tiers


def _gpu(monkeypatch, name: str, gib: float) -> None:
    props = SimpleNamespace(total_memory=int(gib * 2**30), name=name)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _i=0: props)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda _i=0: name)


@pytest.mark.parametrize(
    "environ, cuda, gpu, tier",
    [
        ({}, False, None, "cpu"),
        ({}, True, ("Tesla T4", 15.0), "colab"),
        ({}, True, ("NVIDIA L4", 22.5), "full"),
        ({}, True, ("NVIDIA H100 80GB HBM3", 79.6), "full"),
        ({"POSEGEN_SIZE": "colab"}, False, None, "colab"),  # the explicit switch overrides the hardware
        ({"POSEGEN_SIZE": " CPU "}, True, ("Tesla T4", 15.0), "cpu"),
        ({"POSEGEN_FAST": "1", "POSEGEN_SIZE": "full"}, True, ("Tesla T4", 15.0), "fast"),  # FAST beats all
    ],
)
def test_tier_follows_switches_then_hardware(monkeypatch, environ, cuda, gpu, tier):
    if gpu is not None:
        _gpu(monkeypatch, *gpu)
    chosen, why = tiers.choose_tier(environ, cuda=cuda)
    assert chosen == tier
    if gpu is not None and not environ:
        assert gpu[0] in why and "GiB" in why  # the reason names the GPU


def test_unknown_gpu_memory_is_treated_as_small(monkeypatch):
    def broken(_i=0):
        raise RuntimeError("no properties")

    monkeypatch.setattr(torch.cuda, "get_device_properties", broken)
    assert tiers.choose_tier({}, cuda=True)[0] == "colab"
    assert tiers.tier_for_hardware(False) == "cpu"


def test_unknown_tier_is_an_error():
    with pytest.raises(ValueError, match="not a tier"):
        tiers.choose_tier({"POSEGEN_SIZE": "huge"}, cuda=False)


def test_tiers_grow_and_label_unmeasured_times():
    order = [tiers.TIERS[n] for n in ("fast", "cpu", "colab", "full")]
    for small, big in zip(order, order[1:], strict=False):
        for field in ("width", "people", "steps2", "steps3", "eval_samples"):
            assert getattr(small, field) <= getattr(big, field), (small.name, big.name, field)
    for t in order:
        assert t.checkpoint_every <= t.steps2 and t.expected
    # the colab tier has not been timed on a Colab T4 yet: its time must say it is an estimate
    assert "ESTIMATE" in tiers.TIERS["colab"].expected
    assert "measured" in tiers.TIERS["full"].expected and "ESTIMATE" not in tiers.TIERS["full"].expected


@pytest.mark.parametrize(
    "tier, cores, workers",
    [
        ("fast", 16, 0),  # the small tiers render in the training process, whatever the machine
        ("cpu", 16, 0),
        ("colab", 2, 2),  # Colab's 2 cores: the tier's own count
        ("colab", 16, 12),  # a machine with more cores: all but one, at most MAX_WORKERS
        ("full", 4, 4),
        ("full", 8, 7),
        ("full", 96, tiers.MAX_WORKERS),
    ],
)
def test_data_workers_use_the_cores_a_gpu_tier_has(tier, cores, workers):
    assert tiers.data_workers(tiers.TIERS[tier], cores=cores) == workers


def test_notebook_runs_take_their_workers_from_the_machine(monkeypatch, tmp_path):
    monkeypatch.setattr(tiers, "usable_cores", lambda: 16)
    env = nb.NotebookEnv(device=torch.device("cpu"), colab=False, fast=False, sizes=tiers.TIERS["full"], seed=0,
                         tier="full")  # fmt: skip
    assert nb.train_config(env, 2, "g1", run_dir=str(tmp_path)).num_workers == 12


def test_usable_cores_counts_this_process_cores():
    assert 1 <= tiers.usable_cores() <= (os.cpu_count() or 1)


def test_setup_prints_the_tier_and_its_expected_time(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    threads = torch.get_num_threads()
    try:
        env = nb.setup(environ={}, device="cpu")
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert env.tier == "cpu" and env.sizes is tiers.TIERS["cpu"] and not env.fast
    assert "size tier 'cpu' (no CUDA GPU)" in out and tiers.TIERS["cpu"].expected in out
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    _gpu(monkeypatch, "Tesla T4", 15.0)
    env = nb.setup(environ={}, verbose=False)
    assert env.device.type == "cuda" and env.tier == "colab"
