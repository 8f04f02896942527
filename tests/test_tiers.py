"""Size tiers: the explicit switches win, otherwise the hardware decides (GPU properties mocked); the GPU tiers
train notebooks 02 and 03 from a compact array cache that gives the pairs rendered on the fly."""

from __future__ import annotations

import dataclasses
import os
import shutil
import warnings
from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import default_collate

from posegen_lite.app import notebook as nb
from posegen_lite.app import tiers
from posegen_lite.data.compact import expand_batch
from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.data.synthetic.dataset import SyntheticPairs


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


# --- the training set of notebooks 02 and 03: an array cache on the GPU tiers ----------------------------------


def test_tiers_that_train_in_workers_train_from_the_array_cache():
    for t in tiers.TIERS.values():
        assert t.cache_arrays == (t.workers > 0), t.name  # fast and cpu render in the training process


def _env(tier: str, **changes) -> nb.NotebookEnv:
    sizes = dataclasses.replace(tiers.TIERS[tier], **changes)
    return nb.NotebookEnv(device=torch.device("cpu"), colab=False, fast=tier == "fast", sizes=sizes, seed=0, tier=tier)


TINY = dict(size=(32, 32), people=2, views=2, seed=3)  # 4 training pairs


def _assert_same_batches(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for key, value in want.items():
        if isinstance(value, torch.Tensor):
            assert got[key].dtype == value.dtype, key
            torch.testing.assert_close(got[key], value, rtol=0, atol=0, equal_nan=True, msg=key)
        else:
            assert got[key] == value, key


@pytest.mark.parametrize("extras", [False, True])  # notebook 02's data, then notebook 03's (proxy flow, parts)
def test_a_gpu_tier_trains_on_compact_samples_of_the_rendered_pairs(tmp_path, capsys, extras):
    spec = DataSpec(**TINY, extras=extras)
    environ = {nb.DATA_CACHE_ENV: str(tmp_path / "data")}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a first build is no "rebuilding the synthetic cache"
        cached = nb.training_set(spec, _env("colab"), environ=environ)
    out = capsys.readouterr().out
    assert "rendering the 4 training pairs once into" in out and str(tmp_path / "data") in out
    assert "array cache ready in" in out
    folder = nb.data_cache_dir(spec, environ)
    assert folder.parent == tmp_path / "data" and (folder / "train").is_dir()
    assert cached[0]["image_a"].dtype == torch.uint8  # compact: the workers send bytes
    fly = build_dataset(spec, "train")
    assert len(cached) == len(fly) == 4
    compact = default_collate([cached[i] for i in range(4)])
    _assert_same_batches(expand_batch(compact), default_collate([fly[i] for i in range(4)]))
    # a second run (the next notebook, or the cell again) reuses the cache quietly
    manifest = folder / "train" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    again = nb.training_set(spec, _env("colab"), environ=environ)
    assert capsys.readouterr().out == "" and manifest.stat().st_mtime_ns == stamp
    assert again[1]["person_id"] == cached[1]["person_id"]
    # arrays lost (packing interrupted): packed again from the PNGs, not rendered again
    shutil.rmtree(folder / "train" / "arrays")
    repacked = nb.training_set(spec, _env("colab"), environ=environ)
    assert "packing the 4 training pairs" in capsys.readouterr().out and manifest.stat().st_mtime_ns == stamp
    _assert_same_batches(repacked[2], cached[2])


@pytest.mark.parametrize("tier", ["fast", "cpu"])
def test_the_small_tiers_render_on_the_fly(tmp_path, capsys, tier):
    spec = DataSpec(**TINY)
    dataset = nb.training_set(spec, _env(tier), environ={nb.DATA_CACHE_ENV: str(tmp_path)})
    assert isinstance(dataset, SyntheticPairs) and dataset.arrays is None and dataset.records is None
    assert dataset[0]["image_a"].dtype == torch.float32
    assert not list(tmp_path.iterdir()) and capsys.readouterr().out == ""


def test_a_notebook_run_on_the_compact_cache_matches_the_run_on_rendered_pairs(tmp_path):
    """``nb.run_training`` on the cached compact set (through a DataLoader worker too) gives the losses of the
    same run on pairs rendered on the fly: the step expands each batch bit for bit."""
    from posegen_lite.models.g1 import G1Config

    spec, environ = DataSpec(**TINY), {nb.DATA_CACHE_ENV: str(tmp_path / "data")}
    small = dict(steps2=4, checkpoint_every=4, batch=2)
    cached = nb.training_set(spec, _env("colab", **small), environ=environ, verbose=False)
    fly = nb.training_set(spec, _env("fast", **small), environ=environ)
    g1 = G1Config(32, 32, base_channels=4, z_dim=8)
    losses = []
    for name, dataset, workers in (("fly", fly, 0), ("compact", cached, 0), ("compact_worker", cached, 1)):
        cfg = nb.train_config(_env("fast", **small), 2, name, g1=g1, precision="fp32", resume=False,
                              run_dir=str(tmp_path / name), num_workers=workers)  # fmt: skip
        result = nb.run_training(cfg, dataset, batch=default_collate([fly[0], fly[1]]), every=2, show=False,
                                 tensorboard=False)  # fmt: skip
        assert result.step == 4
        losses.append(result.history)  # [{"step": 1, "loss": …}, …]
    assert losses[0] == losses[1] == losses[2] and all("loss" in h for h in losses[0])
