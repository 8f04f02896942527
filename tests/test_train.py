"""The training loop: learning, exact resume, crash-safe checkpoints, NaN guard, Ctrl-C, time budget."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from posegen_lite.models.checkpoints import list_checkpoints, load_checkpoint, load_latest
from posegen_lite.models.discriminator import DiscriminatorConfig
from posegen_lite.models.g1 import G1Config
from posegen_lite.models.g2 import G2Config
from posegen_lite.models.weights import load_models
from posegen_lite.training.loop import NonFiniteLossError, TrainConfig, lr_factor, train


def _cfg(tmp_path, name="run", **kw) -> TrainConfig:
    base = dict(
        run_dir=str(tmp_path / name),
        steps=6,
        batch_size=4,
        checkpoint_every=3,
        val_every=1000,
        precision="fp32",
        channels_last=False,
        g1=G1Config(16, 16, base_channels=4, z_dim=8),
    )
    base.update(kw)
    return TrainConfig(**base)


def _stage3(tmp_path, g1_run, name="s3", **kw) -> TrainConfig:
    return _cfg(
        tmp_path,
        name,
        stage=3,
        g1_checkpoint=str(g1_run),
        g2=G2Config(16, 16, base_channels=4),
        disc=DiscriminatorConfig(16, 16, base_channels=4),
        **kw,
    )


def _weights(models: dict) -> dict[str, torch.Tensor]:
    return {f"{n}.{k}": v.detach().clone() for n, m in models.items() for k, v in m.state_dict().items()}


def _assert_same(w1: dict, w2: dict) -> None:
    assert w1.keys() == w2.keys()
    for k in w1:
        assert torch.equal(w1[k], w2[k]), k


def test_loss_goes_down(tmp_path, tiny_pairs):
    res = train(_cfg(tmp_path, steps=60, lr=2e-3, checkpoint_every=60), tiny_pairs, progress=False)
    losses = [h["loss"] for h in res.history]
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5


def test_resume_gives_the_same_weights(tmp_path, tiny_pairs):
    straight = train(_cfg(tmp_path, "straight", steps=6), tiny_pairs, progress=False)
    first = train(_cfg(tmp_path, "resumed", steps=3), tiny_pairs, progress=False)
    assert first.step == 3
    second = train(_cfg(tmp_path, "resumed", steps=6), tiny_pairs, progress=False)
    assert second.step == 6
    _assert_same(_weights(straight.stage.models), _weights(second.stage.models))
    assert [h["loss"] for h in straight.history] == [h["loss"] for h in second.history]


def test_stage3_resume_gives_the_same_weights(tmp_path, tiny_pairs):
    g1_run = train(_cfg(tmp_path, "g1", steps=3), tiny_pairs, progress=False).checkpoint
    straight = train(_stage3(tmp_path, g1_run, "s3a", steps=4, checkpoint_every=2), tiny_pairs, progress=False)
    train(_stage3(tmp_path, g1_run, "s3b", steps=2, checkpoint_every=2), tiny_pairs, progress=False)
    resumed = train(_stage3(tmp_path, g1_run, "s3b", steps=4, checkpoint_every=2), tiny_pairs, progress=False)
    _assert_same(_weights(straight.stage.models), _weights(resumed.stage.models))
    assert set(load_models(resumed.checkpoint)) == {"g1", "g2", "d"}


def test_resume_refuses_a_different_model(tmp_path, tiny_pairs):
    train(_cfg(tmp_path, steps=3), tiny_pairs, progress=False)
    with pytest.raises(ValueError, match="different stage or model"):
        train(_cfg(tmp_path, steps=6, g1=G1Config(16, 16, base_channels=8, z_dim=8)), tiny_pairs, progress=False)


def test_keeps_only_the_last_k_checkpoints(tmp_path, tiny_pairs):
    cfg = _cfg(tmp_path, steps=8, checkpoint_every=1, keep_last=2)
    train(cfg, tiny_pairs, progress=False)
    assert [p.name for p in list_checkpoints(cfg.run_dir)] == ["ckpt_00000007.pt", "ckpt_00000008.pt"]


def test_crash_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, tiny_pairs, monkeypatch):
    cfg = _cfg(tmp_path, steps=3)
    train(cfg, tiny_pairs, progress=False)
    real_save = torch.save

    def crashing_save(obj, f, *a, **kw):
        f.write(b"PK\x03\x04 half a zip file")  # some bytes reach the disk, then the process "dies"
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        train(_cfg(tmp_path, steps=6), tiny_pairs, progress=False)
    monkeypatch.setattr(torch, "save", real_save)
    path, state = load_latest(cfg.run_dir)
    assert path.name == "ckpt_00000003.pt" and state["step"] == 3
    assert not list(tmp_path.glob("run/*.tmp"))


def test_damaged_newest_checkpoint_is_skipped(tmp_path, tiny_pairs):
    cfg = _cfg(tmp_path, steps=6)
    train(cfg, tiny_pairs, progress=False)
    newest = list_checkpoints(cfg.run_dir)[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    with pytest.warns(UserWarning, match="skipping unusable checkpoint"):
        path, state = load_latest(cfg.run_dir)
    assert state["step"] == 3


def test_nan_loss_stops_and_leaves_the_last_good_checkpoint(tmp_path, tiny_pairs):
    cfg = _cfg(tmp_path, steps=10, checkpoint_every=2)

    def poison(step, losses, stage):
        if step == 5:
            tiny_pairs.poisoned = True

    with pytest.raises(NonFiniteLossError, match="NaN/inf at step 6"):
        train(cfg, tiny_pairs, callbacks=[poison], progress=False)
    path, state = load_latest(cfg.run_dir)
    assert state["step"] == 4
    weights = state["models"]["g1"]
    assert all(torch.isfinite(v).all() for v in weights.values() if v.is_floating_point())


def test_stage3_nan_guard(tmp_path, tiny_pairs):
    g1_run = train(_cfg(tmp_path, "g1", steps=3), tiny_pairs, progress=False).checkpoint
    tiny_pairs.poisoned = True
    with pytest.raises(NonFiniteLossError):
        train(_stage3(tmp_path, g1_run, steps=3), tiny_pairs, progress=False)
    assert load_latest(tmp_path / "s3") is None


def test_ctrl_c_saves_and_returns(tmp_path, tiny_pairs):
    def interrupt(step, losses, stage):
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    res = train(_cfg(tmp_path, steps=50, checkpoint_every=100), tiny_pairs, callbacks=[interrupt], progress=False)
    assert res.interrupted and res.step == 2
    assert load_checkpoint(res.checkpoint)["step"] == 2


def test_time_budget_stops_and_saves(tmp_path, tiny_pairs):
    res = train(_cfg(tmp_path, steps=50, checkpoint_every=100, max_minutes=0.0), tiny_pairs, progress=False)
    assert res.stopped == "time budget" and res.step == 1
    assert load_checkpoint(res.checkpoint)["step"] == 1


def test_stage3_needs_a_g1(tmp_path, tiny_pairs):
    with pytest.raises(ValueError, match="g1_checkpoint"):
        train(_cfg(tmp_path, stage=3), tiny_pairs, progress=False)


def test_dataset_smaller_than_a_batch(tmp_path, tiny_pairs):
    with pytest.raises(ValueError, match="smaller than one batch"):
        train(_cfg(tmp_path, batch_size=64), tiny_pairs, progress=False)


def test_config_round_trip():
    cfg = TrainConfig(stage=3, g2=G2Config(64, 64), lambda_l1=50.0)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown"):
        TrainConfig.from_dict({"stpes": 3})
    with pytest.raises(ValueError):
        TrainConfig(stage=4)


def test_validation_writes_a_picture_and_metrics(tmp_path, tiny_pairs):
    res = train(_cfg(tmp_path, steps=2, val_every=2), tiny_pairs, val_set=tiny_pairs, progress=False)
    assert (tmp_path / "run" / "val_00000002.png").is_file()
    assert "val_ssim" in res.history[-1] and 0.0 <= res.history[-1]["val_ssim"] <= 1.0


# --- hardening: divergence, resume semantics, bad options, stale files ------------------------------------------


def _all_finite(state: dict) -> bool:
    tensors = [v for m in state["models"].values() for v in m.values()]
    tensors += [v for o in state["optimizers"].values() for s in o["state"].values() for v in s.values()]
    return all(torch.isfinite(t).all() for t in tensors if isinstance(t, torch.Tensor) and t.is_floating_point())


def test_update_that_blows_up_the_weights_never_reaches_a_checkpoint(tmp_path, tiny_pairs):
    # From step 4 on the update itself writes inf into a weight (as a far too large step does): the loss of
    # step 4 is still finite — it is computed before the update — but the weights after it are not.
    def absurd_lr(step, losses, stage):
        if step == 3:
            opt = stage.optimizers["g"]
            real_step = opt.step

            def blowing_up_step(*args, **kwargs):
                out = real_step(*args, **kwargs)
                with torch.no_grad():
                    opt.param_groups[0]["params"][0].fill_(float("inf"))
                return out

            opt.step = blowing_up_step

    cfg = _cfg(tmp_path, steps=10, checkpoint_every=2)
    with pytest.raises(NonFiniteLossError, match="step 3 was the last finite one"):
        train(cfg, tiny_pairs, callbacks=[absurd_lr], progress=False)
    path, state = load_latest(cfg.run_dir)
    assert state["step"] == 2 and _all_finite(state)
    assert all(_all_finite(load_checkpoint(p)) for p in list_checkpoints(cfg.run_dir))


def test_resume_applies_a_changed_lr_and_records_it(tmp_path, tiny_pairs, capsys):
    train(_cfg(tmp_path, steps=3, lr=1e-3), tiny_pairs, progress=False)
    capsys.readouterr()
    res = train(_cfg(tmp_path, steps=6, lr=1e-4), tiny_pairs, progress=False)
    assert res.resumed_from == 3
    assert [g["lr"] for g in res.stage.optimizers["g"].param_groups] == [1e-4]
    assert load_latest(tmp_path / "run")[1]["config"]["lr"] == 1e-4
    out = capsys.readouterr().out
    assert f"resumed from step 3 of run {tmp_path / 'run'}" in out and "lr 0.001 → 0.0001" in out


def test_lr_factor_is_one_then_falls_linearly_to_zero():
    # 10 steps, decay from step 6: the updates 6→7 … 9→10 take 4/4, 3/4, 2/4, 1/4 of the rate.
    assert [lr_factor(s, 10, 6) for s in range(10)] == [1, 1, 1, 1, 1, 1, 1, 0.75, 0.5, 0.25]
    assert lr_factor(10, 10, 6) == 0.0
    assert all(lr_factor(s, 10, None) == 1.0 for s in range(12))


def test_lr_decay_reaches_the_optimizers_and_resumes_exactly(tmp_path, tiny_pairs):
    seen = []

    def record(step, losses, stage):
        seen.extend(g["lr"] for opt in stage.optimizers.values() for g in opt.param_groups)

    straight = train(
        _cfg(tmp_path, "straight", lr=1e-3, lr_decay_start=2), tiny_pairs, callbacks=[record], progress=False
    )
    assert seen == pytest.approx([1e-3] * 3 + [1e-3 * k / 4 for k in (3, 2, 1)])
    train(_cfg(tmp_path, "resumed", steps=6, lr=1e-3, lr_decay_start=2, max_minutes=0), tiny_pairs, progress=False)
    resumed = train(_cfg(tmp_path, "resumed", lr=1e-3, lr_decay_start=2), tiny_pairs, progress=False)
    assert resumed.resumed_from == 1
    _assert_same(_weights(straight.stage.models), _weights(resumed.stage.models))


def test_resume_refuses_changed_networks_naming_the_options(tmp_path, tiny_pairs):
    train(_cfg(tmp_path, steps=3), tiny_pairs, progress=False)
    with pytest.raises(ValueError, match=r"g1\.base_channels 4 → 8.*--no-resume"):
        train(_cfg(tmp_path, steps=6, g1=G1Config(16, 16, base_channels=8, z_dim=8)), tiny_pairs, progress=False)


def test_nan_advice_lower_the_lr_works_in_the_same_run_dir(tmp_path, tiny_pairs):
    def poison(step, losses, stage):
        if step == 5:
            tiny_pairs.poisoned = True

    cfg = _cfg(tmp_path, steps=10, checkpoint_every=2, lr=2e-3)
    with pytest.raises(NonFiniteLossError, match=r"same run directory.*--lr 0\.0002") as err:
        train(cfg, tiny_pairs, callbacks=[poison], progress=False)
    assert "ckpt_00000004.pt" in str(err.value)
    tiny_pairs.poisoned = False
    res = train(_cfg(tmp_path, steps=10, checkpoint_every=2, lr=2e-4), tiny_pairs, progress=False)
    assert res.resumed_from == 4 and res.step == 10
    assert res.stage.optimizers["g"].param_groups[0]["lr"] == 2e-4


@pytest.mark.parametrize(
    "option",
    [
        {"lr": float("inf")},
        {"lr": float("nan")},
        {"lr": 1e6},
        {"lr": "0.1"},
        {"d_lr": float("nan")},
        {"betas": (1.0, 0.999)},
        {"lambda_l1": float("nan")},
        {"max_minutes": float("inf")},
        {"real_label": float("nan")},
        {"steps": 2.5},
        {"num_workers": -1},
        {"lr_decay_start": 6},
        {"lr_decay_start": -1},
        {"lr_decay_start": 2.0},
    ],
)
def test_non_finite_or_out_of_range_options_are_rejected_up_front(tmp_path, option):
    name = next(iter(option))
    with pytest.raises(ValueError, match=name):
        _cfg(tmp_path, **option)


def test_stale_temporary_files_are_removed_on_the_next_start(tmp_path, tiny_pairs):
    cfg = _cfg(tmp_path, steps=3)
    train(cfg, tiny_pairs, progress=False)
    stale = tmp_path / "run" / "ckpt_00000006.pt.x1y2z3.tmp"  # what a kill -9 during a write leaves
    stale.write_bytes(b"PK\x03\x04 half")
    other = tmp_path / "run" / "notes.tmp"  # not ours: left alone
    other.write_text("keep")
    train(_cfg(tmp_path, steps=4), tiny_pairs, progress=False)
    assert not stale.exists() and other.exists()


class _ReadBy(torch.utils.data.Dataset):
    """``base``'s samples; each read appends the reading process's id to ``log`` (one line per sample)."""

    def __init__(self, base, log) -> None:
        self.base, self.log = base, log

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i: int) -> dict:
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")
        return self.base[i]


def test_a_worker_serves_every_epoch_and_gives_the_batches_of_the_main_process(tmp_path, tiny_pairs):
    steps = 3 * (len(tiny_pairs) // 4)  # three epochs of batches of 4
    here = train(_cfg(tmp_path, "here", steps=steps, checkpoint_every=steps), tiny_pairs, progress=False)
    log = tmp_path / "reads.txt"
    cfg = _cfg(tmp_path, "worker", steps=steps, checkpoint_every=steps, num_workers=1)
    worker = train(cfg, _ReadBy(tiny_pairs, log), progress=False)
    assert [h["loss"] for h in worker.history] == [h["loss"] for h in here.history]
    readers = log.read_text().split()
    assert len(readers) >= steps * 4  # every sample of every batch (the worker may read ahead)
    assert len(set(readers)) == 1 and readers[0] != str(os.getpid())  # one worker, started once, for all epochs
