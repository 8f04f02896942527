"""Checkpoint files: a file that is not a torch checkpoint, a truncated one and a corrupted one are clear errors."""

from __future__ import annotations

import pytest
import torch

from posegen_lite.models.checkpoints import CheckpointError, load_checkpoint, resolve_checkpoint, save_checkpoint

MARKER = 1.2345678  # a float32 value whose bytes are easy to find in the file


def _save(tmp_path):
    state = _tiny_state()
    weights = state["models"]["g1"]
    name = max(weights, key=lambda k: weights[k].numel())
    weights[name] = torch.full_like(weights[name], MARKER)
    return save_checkpoint(state, tmp_path / "run")


def test_a_text_file_is_not_a_torch_checkpoint(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("these are my notes, not weights\n")
    with pytest.raises(CheckpointError, match="not a torch checkpoint: .*notes.pt"):
        load_checkpoint(path)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty file"):
        load_checkpoint(empty)


def test_a_truncated_file_says_so(tmp_path):
    path = _save(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        load_checkpoint(path)


def test_flipped_bytes_inside_a_tensor_are_detected(tmp_path):
    path = _save(tmp_path)
    assert any((t == MARKER).all() for t in load_checkpoint(path)["models"]["g1"].values())
    data = bytearray(path.read_bytes())
    at = bytes(data).find(torch.tensor([MARKER]).numpy().tobytes() * 4)
    assert at > 0
    data[at + 40 : at + 44] = torch.tensor([7.0]).numpy().tobytes()  # one weight changes on disk
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path)


def test_a_missing_path_or_a_directory_without_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        resolve_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(CheckpointError, match="no loadable checkpoint"):
        resolve_checkpoint(tmp_path)


# --- A checkpoint must be what it claims: structure, sizes, checksum over everything, safe writes ------------


def _tiny_state(stage: int = 2) -> dict:
    from posegen_lite.models.g1 import G1, G1Config

    torch.manual_seed(0)
    g1 = G1(G1Config(32, 32, base_channels=4, z_dim=8))
    return {
        "stage": stage,
        "step": 5,
        "config": {"lr": 2e-4, "stage": stage},
        "model_configs": {"g1": vars(g1.config).copy()},
        "models": {"g1": g1.state_dict()},
        "optimizers": {},
        "rng": {"torch": torch.get_rng_state()},
        "history": [{"step": 5, "l1": 0.5}],
    }


def _rewrite(path, edit) -> None:
    """Change a saved checkpoint the way a hand edit would: load, change, save, keeping its stored checksum."""
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)


@pytest.mark.parametrize("key", ["stage", "model_configs", "config", "models", "step"])
def test_a_missing_part_is_one_line_naming_file_and_part(tmp_path, key):
    from posegen_lite.models.checkpoints import FORMAT

    path = tmp_path / "part.pt"
    torch.save({"format": FORMAT, **{k: v for k, v in _tiny_state().items() if k != key}}, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and repr(key) in message


@pytest.mark.parametrize(
    ("edit", "phrase"),
    [
        (lambda s: s.update(stage="2"), "stage"),
        (lambda s: s.update(step=-1), "step"),
        (lambda s: s.update(stage=3), "stage 3 has a 'g2'"),
        (lambda s: s["model_configs"]["g1"].update(height=10**6), "height"),
        (lambda s: s["model_configs"]["g1"].update(base_channels=True), "base_channels"),
        (lambda s: s["model_configs"]["g1"].update(colour="red"), "colour"),
        (lambda s: s["model_configs"].update(g7={}), "g7"),
        (lambda s: s["models"].update(g1=[1, 2]), "g1"),
        (lambda s: s["config"].update(lr=float("nan")), "lr"),
    ],
)
def test_a_wrong_structure_or_an_absurd_size_is_refused(tmp_path, edit, phrase):
    state = _tiny_state()
    edit(state)
    path = save_checkpoint(state, tmp_path / "run")
    with pytest.raises(CheckpointError, match=phrase) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_tensors_that_do_not_fit_the_config_are_refused_before_a_network_is_built(tmp_path, monkeypatch):
    from posegen_lite.models import g1 as g1_module
    from posegen_lite.models.weights import load_models

    state = _tiny_state()
    # A config that asks for a huge network (before: 11.5 GB allocated by building it) next to small tensors.
    state["model_configs"]["g1"].update(height=4096, width=4096, levels=2)
    path = save_checkpoint(state, tmp_path / "run")
    built, real_init = [], g1_module.G1.__init__

    def spy(self, *args, **kwargs):
        built.append(torch.empty(0).device.type)  # the device a network built now would allocate on
        if built[-1] != "meta":
            raise AssertionError("a network was built before its checkpoint was checked")
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(g1_module.G1, "__init__", spy)
    with pytest.raises(CheckpointError, match=r"models\['g1'\].*(shape|missing|unexpected)"):
        load_models(path)
    assert built == ["meta"]  # compared on the meta device, which allocates nothing
    monkeypatch.undo()
    state = _tiny_state()
    state["models"]["g1"].pop(next(iter(state["models"]["g1"])))
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(save_checkpoint(state, tmp_path / "run2"))


def test_a_config_changed_on_disk_is_a_checksum_mismatch(tmp_path):
    path = save_checkpoint(_tiny_state(), tmp_path / "run")
    assert load_checkpoint(path)["config"]["lr"] == 2e-4
    for edit in (
        lambda s: s["config"].update(lr=0.5),
        lambda s: s.update(step=6),
        lambda s: s["history"][0].update(l1=0.1),
    ):
        fresh = save_checkpoint(_tiny_state(), tmp_path / "run")
        _rewrite(fresh, edit)
        with pytest.raises(CheckpointError, match="checksum"):
            load_checkpoint(fresh)


def test_old_checkpoints_whose_checksum_covers_tensors_only_still_load(tmp_path):
    from pathlib import Path

    from posegen_lite.models.checkpoints import FORMAT, tensor_checksum
    from posegen_lite.models.weights import load_models

    assets = Path(__file__).parents[1] / "posegen_lite" / "assets"
    for name in ("demo_128x64.pt", "pg2_64x64.pt"):  # the shipped files, as they are
        assert "g1" in load_models(assets / name)
    old = {"format": FORMAT, **_tiny_state()}
    old["checksum"] = tensor_checksum(old)  # how files were sealed before the checksum covered everything
    path = tmp_path / "old.pt"
    torch.save(old, path)
    assert load_checkpoint(path)["step"] == 5
    old["models"]["g1"][next(iter(old["models"]["g1"]))].add_(1.0)  # its tensors are still checked
    torch.save(old, path)
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(path)


def test_a_full_disk_is_one_line_and_the_previous_checkpoint_stays(tmp_path, monkeypatch):
    import errno
    import io
    import os

    from posegen_lite.models.checkpoints import list_checkpoints

    run = tmp_path / "run"
    first = save_checkpoint(_tiny_state(), run)
    before = first.read_bytes()

    class FullDisk(io.FileIO):
        """A file on a disk that fills up after 1 kB."""

        def write(self, data):
            if self.tell() + len(data) > 1024:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write(data)

    monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: FullDisk(fd, mode.replace("b", "")))
    state = _tiny_state()
    state["step"] = 6
    with pytest.raises(CheckpointError) as err:
        save_checkpoint(state, run)
    message = str(err.value)
    assert "\n" not in message and "ckpt_00000006.pt" in message and "No space left on device" in message
    assert list_checkpoints(run) == [first] and first.read_bytes() == before  # nothing lost
    assert sorted(p.name for p in run.iterdir()) == [first.name]  # and no temporary file left behind
    monkeypatch.undo()
    assert load_checkpoint(first)["step"] == 5


class _RunsCode:
    """What a malicious or merely careless pickle holds: an object whose loading calls a function."""

    def __reduce__(self):
        return (print, ("this ran while loading a checkpoint",))


def test_a_refused_pickle_says_it_holds_code_not_weights(tmp_path):
    from posegen_lite.models.checkpoints import FORMAT

    path = tmp_path / "sneaky.pt"
    torch.save({"format": FORMAT, **_tiny_state(), "extra": _RunsCode()}, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "truncated" not in message and "corrupt" not in message
    assert "not weights" in message and str(path) in message and "\n" not in message


def test_the_cli_prints_one_line_for_a_checkpoint_without_its_stage(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = save_checkpoint({k: v for k, v in _tiny_state().items() if k != "stage"}, tmp_path / "run")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("POSEGEN_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "posegen_lite", "export", str(path), "--out", str(tmp_path / "out.pt")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "'stage'" in lines[0], done.stderr


def test_a_cvae_checkpoint_from_before_the_colour_statistics_passes_the_structure_check(tmp_path):
    from posegen_lite.models.g1 import G1, G1Config

    g1 = G1(G1Config(32, 32, base_channels=4, z_dim=8, warp="skip", latent_channels=4))
    state = _tiny_state()
    state["model_configs"]["g1"] = vars(g1.config).copy()
    state["models"]["g1"] = {k: v for k, v in g1.state_dict().items() if k != "latent.colour_head.weight"}
    loaded = load_checkpoint(save_checkpoint(state, tmp_path / "run"))["models"]["g1"]  # the network fills it in
    assert "latent.colour_head.weight" not in loaded and not any(t.requires_grad for t in loaded.values())


def test_weights_without_optimizer_state_are_refused_for_resuming_only(tmp_path):
    from posegen_lite.models.checkpoints import check_resumable

    full = _tiny_state()
    check_resumable(full, "run/ckpt.pt")
    slim = {k: v for k, v in full.items() if k not in ("optimizers", "rng")}
    path = save_checkpoint(slim, tmp_path / "run")
    state = load_checkpoint(path)  # fine for inference
    with pytest.raises(CheckpointError, match=r"ckpt_00000005\.pt: cannot resume.*'optimizers', 'rng'"):
        check_resumable(state, path)
