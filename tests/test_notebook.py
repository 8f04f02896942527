"""Notebook helpers: the size switch, the one repository address and ref (badges + install cells), device pick,
the live-plot callback, resuming a notebook run, and the shape of every notebook (first cells, teaching cells,
no stray logic, size)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from posegen_lite.app import notebook as nb
from posegen_lite.app.notebook_runner import execute_notebook

NOTEBOOK_DIR = nb.ROOT / "notebooks"


def _cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOK_DIR / name).read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


@pytest.mark.parametrize(
    "value, fast",
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("", False),
        ("no", False),
        (None, False),
    ],
)
def test_fast_switch_reads_the_environment(value, fast):
    env = {} if value is None else {nb.FAST_ENV: value}
    assert nb.is_fast(env) is fast
    assert nb.sizes(fast) is (nb.FAST_SIZES if fast else nb.FULL_SIZES)


def test_fast_sizes_are_smaller_everywhere():
    small, full = nb.FAST_SIZES, nb.FULL_SIZES
    for field in ("width", "people", "steps2", "steps3", "batch", "eval_samples"):
        assert getattr(small, field) < getattr(full, field), field
    assert small.size[0] * small.size[1] <= full.size[0] * full.size[1]


def test_setup_picks_the_device_and_seeds(monkeypatch):
    import posegen_lite.allocator

    kept = []  # the CPU kernel keeps freed memory (allocator.py); a CUDA one leaves malloc alone
    monkeypatch.setattr(posegen_lite.allocator, "keep_freed_memory", lambda: kept.append(True) or True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    threads = torch.get_num_threads()
    try:
        env = nb.setup(seed=3, environ={nb.FAST_ENV: "1"}, verbose=False)
        assert env.device == torch.device("cpu") or env.device.type == "mps"
        assert len(kept) == (1 if env.device.type == "cpu" else 0)
        assert env.fast and env.sizes is nb.FAST_SIZES and not env.colab
        a = torch.rand(3)
        nb.seed_everything(3)
        assert torch.equal(a, torch.rand(3))
        assert nb.cpu_threads(True, torch.device("cpu")) == 1
        assert nb.cpu_threads(False, torch.device("cpu")) is None
        assert nb.cpu_threads(True, torch.device("cuda")) is None
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    kept.clear()
    assert nb.setup(environ={}, verbose=False).device.type == "cuda"  # CUDA wins when present
    assert kept == []


def test_colab_url_and_badge():
    url = nb.colab_url("00_quickstart.ipynb", repo_url="https://github.com/course/fork", ref="v1.2")
    assert url == "https://colab.research.google.com/github/course/fork/blob/v1.2/notebooks/00_quickstart.ipynb"
    badge = nb.colab_badge("00_quickstart.ipynb", repo_url="https://github.com/course/fork", ref="v1.2")
    assert badge == f"[![Open In Colab]({nb.COLAB_BADGE_SVG})]({url})"
    assert nb.colab_url("x.ipynb") == nb.colab_url("x.ipynb", nb.REPO_URL, nb.REF)  # defaults: the configured ones
    with pytest.raises(ValueError, match="GitHub"):
        nb.colab_url("x.ipynb", repo_url="https://gitlab.com/a/b")


def test_install_cell_clones_the_ref_and_installs_what_the_notebook_needs():
    from posegen_lite.app import colab

    cell = colab.install_cell("06_real_datasets.ipynb", "https://github.com/course/fork", "v1.2")
    compile(cell, "install", "exec")  # valid Python
    assert 'REPO_URL = "https://github.com/course/fork"' in cell and 'REF = "v1.2"' in cell
    assert '"--branch", REF, REPO_URL' in cell
    assert "./posegen_lite[photo]" in cell and colab.MEDIAPIPE in cell  # notebook 06 needs the photo extra
    assert "tensorboard" in colab.install_cell("02_stage2_unet.ipynb")
    assert "[" not in colab.install_cell("00_quickstart.ipynb").split("-e")[1].split("]")[0]
    with pytest.raises(ValueError):
        colab.install_cell("00_quickstart.ipynb", ref='main"; rm -rf /')


def test_every_notebook_exists_and_is_listed():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(nb.NOTEBOOKS)


@pytest.mark.parametrize("name", nb.NOTEBOOKS)
def test_badge_and_install_cell_use_the_one_address(name):
    from posegen_lite.app import colab

    cells = _cells(name)
    assert cells[0]["cell_type"] == "markdown"
    assert _source(cells[0]).splitlines()[0] == nb.colab_badge(name)
    install = _source(next(c for c in cells if c["cell_type"] == "code"))
    assert install == colab.install_cell(name)
    # the Colab install runs before posegen_lite is imported, with plain subprocess calls
    assert install.index("subprocess.run") < install.index("from posegen_lite")
    assert "nb.setup()" in install
    # the address appears nowhere else in the notebook
    everywhere = "".join(_source(c) for c in cells)
    assert len(re.findall(re.escape(nb.REPO_URL), everywhere)) == 1
    assert (NOTEBOOK_DIR / name).stat().st_size < 1_500_000


MASTERS = sorted((NOTEBOOK_DIR / "assignments").glob("*.ipynb"))


def _setup_cell(path) -> str:
    """The first code cell of the notebook at ``path`` (an assignment master's set-up cell)."""
    return _source(next(c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"))


@pytest.mark.parametrize("master", MASTERS, ids=lambda p: p.name)
def test_assignment_masters_install_from_the_one_address(master):
    """Each master's set-up cell opens with the Colab install of ``colab.py``'s address, pinned to its ref."""
    from posegen_lite.app import colab

    cell = _setup_cell(master)
    assert cell.startswith(colab.assignment_setup() + "\n")
    assert f'REF = "{nb.REF}"' in cell and '"--branch", REF, REPO_URL' in cell and "[assignments]" in cell
    assert cell.index("subprocess.run") < cell.index("from posegen_lite")
    assert len(re.findall(re.escape(nb.REPO_URL), cell)) == 1


@pytest.mark.parametrize("name", nb.NOTEBOOKS)
def test_every_notebook_teaches(name):
    """Equations, shown library source, a check-your-understanding and a try-this cell in every notebook."""
    cells = _cells(name)
    markdown = "".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    code = "".join(_source(c) for c in cells if c["cell_type"] == "code")
    assert "$$" in markdown, "no displayed equation"
    assert "nb.show_source(" in code, "no library source shown"
    assert "### Check your understanding" in markdown and "<details>" in markdown
    assert "### Try this" in markdown
    if name in ("02_stage2_unet.ipynb", "03_stage3_gan.ipynb"):
        assert "architecture_figure(" in code
        assert "nb.run_training(" in code and "nb.train_config(" in code  # resumable, TensorBoard-logged runs


@pytest.mark.parametrize("name", nb.NOTEBOOKS)
def test_checked_cells_have_stored_output(name):
    checked = [c for c in _cells(name) if c["cell_type"] == "code" and "# NBVAL_CHECK_OUTPUT" in _source(c)]
    assert checked, f"{name}: no cell is checked by nbval"
    for c in checked:
        assert c["outputs"], f"{name}: checked cell without stored output:\n{_source(c)}"
        assert all(o["output_type"] != "error" for o in c["outputs"])


@pytest.mark.slow
def test_make_badges_check_passes():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(nb.ROOT / "scripts" / "make_badges.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_make_badges_configures_repo_and_ref(tmp_path):
    """``make_badges.py --repo URL --ref TAG`` on a copy: the constants and every badge and install cell follow."""
    import shutil
    import subprocess
    import sys

    from posegen_lite.app import colab

    (tmp_path / "posegen_lite" / "app").mkdir(parents=True)
    shutil.copy(nb.ROOT / "posegen_lite" / "app" / "colab.py", tmp_path / "posegen_lite" / "app" / "colab.py")
    shutil.copytree(NOTEBOOK_DIR, tmp_path / "notebooks")
    script = [sys.executable, str(nb.ROOT / "scripts" / "make_badges.py"), "--root", str(tmp_path)]
    repo, ref = "https://github.com/course/fork", "v1.2"
    done = subprocess.run([*script, "--repo", repo, "--ref", ref], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "posegen_lite" / "app" / "colab.py").read_text()
    assert f'REPO_URL = "{repo}"' in text and f'REF = "{ref}"' in text
    for name in nb.NOTEBOOKS:
        cells = json.loads((tmp_path / "notebooks" / name).read_text())["cells"]
        assert _source(cells[0]).splitlines()[0] == nb.colab_badge(name, repo, ref)
        install = _source(next(c for c in cells if c["cell_type"] == "code"))
        assert f'REPO_URL = "{repo}"' in install and f'REF = "{ref}"' in install
        assert nb.REPO_URL not in "".join(_source(c) for c in cells) or nb.REPO_URL == repo
    for master in MASTERS:  # the assignment masters follow too, and keep the rest of their set-up cell
        before = _setup_cell(master)
        after = _setup_cell(tmp_path / "notebooks" / "assignments" / master.name)
        assert after.startswith(colab.assignment_setup(repo, ref))
        assert '"--branch", REF, REPO_URL' in after and nb.REPO_URL not in after
        assert after.split(colab.SETUP_END, 1)[1] == before.split(colab.SETUP_END, 1)[1]
    assert subprocess.run([*script, "--check"], capture_output=True).returncode == 0
    # the checkout itself was not touched
    assert subprocess.run(script[:2] + ["--check"], capture_output=True).returncode == 0
    bad = subprocess.run([*script, "--repo", "https://gitlab.com/a/b"], capture_output=True, text=True)
    assert bad.returncode != 0 and "GitHub" in bad.stderr


def test_notebook_run_resumes_after_a_disconnect(tiny_pairs, tmp_path, monkeypatch, capsys):
    """A notebook's training cell, run again after an interruption, continues from the newest checkpoint in the
    runs folder the user chose (``POSEGEN_RUNS``), and writes TensorBoard events."""
    import dataclasses

    from torch.utils.data import default_collate

    from posegen_lite.models.g1 import G1Config

    monkeypatch.setenv(nb.RUNS_ENV, str(tmp_path / "drive"))
    sizes = dataclasses.replace(nb.FAST_SIZES, steps2=4, checkpoint_every=2, batch=2, workers=0)
    env = nb.NotebookEnv(torch.device("cpu"), colab=False, fast=True, sizes=sizes, seed=0, tier="fast")
    g1 = G1Config(16, 16, base_channels=4, z_dim=8)
    batch = default_collate([tiny_pairs[i] for i in range(2)])
    cfg = nb.train_config(env, 2, "nbtest", g1=g1, precision="fp32")
    assert cfg.resume and cfg.run_dir == str(tmp_path / "drive" / "nbtest_fast") and cfg.checkpoint_every == 2
    first = nb.run_training(cfg, tiny_pairs, batch=batch, every=2, show=False)
    assert first.step == 4 and nb.resume_step(cfg) == 4
    assert list((tmp_path / "drive" / "nbtest_fast" / "tb").glob("events.out.tfevents.*"))
    # the session comes back with a longer budget: the same cell resumes at step 4
    cfg2 = nb.train_config(env, 2, "nbtest", g1=g1, precision="fp32", steps=6)
    capsys.readouterr()
    second = nb.run_training(cfg2, tiny_pairs, batch=batch, every=2, show=False)
    assert "from its checkpoint at step 4 of 6" in capsys.readouterr().out
    assert second.step == 6 and [h["step"] for h in second.history] == list(range(1, 7))
    # a third run of a finished training trains nothing and still has the curve to draw
    third = nb.run_training(cfg2, tiny_pairs, batch=batch, every=2, show=False)
    assert third.step == 6 and len(third.history) == 6
    assert nb.resume_step(dataclasses.replace(cfg2, resume=False)) == 0


def test_runs_root_and_weight_sources(monkeypatch, tmp_path):
    monkeypatch.delenv(nb.RUNS_ENV, raising=False)
    assert nb.runs_root() == nb.ROOT / "runs" and nb.run_dir("x") == nb.ROOT / "runs" / "x"
    assert nb.runs_root({nb.RUNS_ENV: str(tmp_path)}) == tmp_path
    assert nb.g1_source({nb.G1_ENV: str(tmp_path / "nb02_g1_colab")}) == tmp_path / "nb02_g1_colab"
    monkeypatch.delenv(nb.WEIGHTS_ENV, raising=False)
    shipped = nb.demo_weights()
    assert nb.g1_source({}) == shipped
    monkeypatch.setenv(nb.WEIGHTS_ENV, str(tmp_path / "mine"))
    assert nb.demo_weights() == tmp_path / "mine"
    with pytest.raises(ValueError, match="tier"):
        execute_notebook(NOTEBOOK_DIR / nb.NOTEBOOKS[0], tier="huge")
    with pytest.raises(RuntimeError, match="Colab"):
        nb.use_drive()


def test_stage3_settings_and_predictions_come_from_the_weights():
    from posegen_lite.data.datasets import DataSpec, build_dataset
    from posegen_lite.geometry.warp import grow_mask
    from posegen_lite.models.g1 import G1Config

    weights = nb.demo_weights()
    trained = nb.trained_with(weights)
    g1 = nb.g1_config_of(weights)
    settings = nb.stage3_settings(g1, weights)
    assert settings["lambda_l1"] == trained["lambda_l1"]
    for key in ("d_lr", "part_weights", "lambda_part_fm"):
        assert settings[key] == trained[key], key
    assert settings["disc"].spectral_norm == trained["d_spectral_norm"] is True  # the shipped D (a flat config)
    assert settings["g2"].mask_difference == trained["mask_difference"] is True  # the shipped G2 stays in the body
    assert (settings["disc"].height, settings["disc"].width) == (g1.height, g1.width)
    assert settings["g2"].base_channels == g1.base_channels
    other = nb.stage3_settings(G1Config(128, 64, base_channels=8), weights)
    assert (other["disc"].height, other["disc"].width, other["g2"].base_channels) == (128, 64, 8)
    data = build_dataset(DataSpec(size=(g1.height, g1.width), people=16, views=2, seed=0, extras=True), "val")
    batch = nb.fixed_batch(data, 2)
    out = nb.predict_with(weights, batch)
    assert set(out) == {"G1", "G1+G2"} and out["G1"].shape == (2, 3, g1.height, g1.width)
    # The shipped G2 visibly changes G1's picture where the input saw the body (measured: 0.039 on average,
    # max over the colours), and leaves what the input never saw to G1, bit for bit.
    assert settings["g2"].visible_difference
    changed = (out["G1+G2"] - out["G1"]).abs().amax(1)
    seen = grow_mask(batch["visibility"], 1)[:, 0] > 0
    assert changed[seen].mean() > 0.02 and changed[~seen].max() == 0


def test_live_plot_collects_and_draws(tiny_pairs):
    from torch.utils.data import default_collate

    from posegen_lite.models.g1 import G1Config
    from posegen_lite.training.loop import TrainConfig, train

    batch = default_collate([tiny_pairs[i] for i in range(2)])
    live = nb.LivePlot(every=2, batch=batch, show=False, samples=2)
    cfg = TrainConfig(
        stage=2,
        run_dir=str(nb.ROOT / "runs" / "_test_liveplot"),
        steps=3,
        batch_size=2,
        g1=G1Config(16, 16, base_channels=4, z_dim=8),
        checkpoint_every=100,
        val_every=100,
        resume=False,
        device="cpu",
        precision="fp32",
    )
    try:
        train(cfg, tiny_pairs, callbacks=[live], progress=False)
    finally:
        import shutil

        shutil.rmtree(cfg.run_dir, ignore_errors=True)
    assert [h["step"] for h in live.history] == [1, 2, 3]
    assert live.redraws == 1  # step 2
    live.finish()
    assert live.redraws == 2  # the last step, 3
    grid = live.sample_grid()
    assert grid.dtype == np.uint8 and grid.shape[0] > 16
    fig = live.figure()
    assert len(fig.axes) == 2
    with pytest.raises(ValueError):
        nb.LivePlot(every=0)


def test_torchrun_command():
    one = nb.torchrun_command(4)
    assert one.startswith("torchrun --nproc_per_node 4 -m posegen_lite train --stage 2 --run-dir runs/g1")
    multi = nb.torchrun_command(4, nnodes=2, node_rank=1, master_addr="10.1.2.3")
    for part in ("--nnodes 2", "--node_rank 1", "--master_addr 10.1.2.3", "-m posegen_lite train"):
        assert part in multi
    with pytest.raises(ValueError):
        nb.torchrun_command(4, nnodes=2, node_rank=2)


def test_demo_weights_fallback(tmp_path):
    with pytest.raises(FileNotFoundError, match="no demo weights"):
        nb.demo_weights(tmp_path, shipped=tmp_path / "assets" / "demo_64x64.pt")
    run = tmp_path / "runs" / "demo_g1"
    run.mkdir(parents=True)
    (run / "ckpt_00000010.pt").write_bytes(b"x")
    (run / "ckpt_00000020.pt").write_bytes(b"x")
    assert nb.demo_weights(tmp_path, shipped=tmp_path / "assets" / "demo_64x64.pt").name == "ckpt_00000020.pt"
    shipped = tmp_path / "assets" / "demo_64x64.pt"
    shipped.parent.mkdir()
    shipped.write_bytes(b"x")
    assert nb.demo_weights(tmp_path, shipped=tmp_path / "assets" / "demo_64x64.pt") == shipped


def test_fixed_batch_and_data_root(tiny_pairs, monkeypatch):
    b = nb.fixed_batch(tiny_pairs, 3, start=1, step=2)
    assert b["image_a"].shape == (3, 3, 16, 16)
    assert torch.equal(b["image_a"][1], tiny_pairs[3]["image_a"])
    with pytest.raises(ValueError, match="asked for index"):
        nb.fixed_batch(tiny_pairs, 5, step=2)
    monkeypatch.delenv("POSEGEN_DATA_MARKET", raising=False)
    assert nb.data_root("market", "fixtures") == nb.Path("fixtures")
    monkeypatch.setenv("POSEGEN_DATA_MARKET", "/data/market")
    assert str(nb.data_root("market", "fixtures")) == "/data/market"
    assert nb.is_fixture(nb.ROOT / "tests" / "fixtures" / "pg2") and not nb.is_fixture("/data/market")
