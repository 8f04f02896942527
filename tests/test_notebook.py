"""Notebook helpers: the size switch, the one repository address (badges + install cells), device pick,
the live-plot callback, and the shape of every notebook (first cells, no stray logic, size)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from posegen_lite.app import notebook as nb

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
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    threads = torch.get_num_threads()
    try:
        env = nb.setup(seed=3, environ={nb.FAST_ENV: "1"}, verbose=False)
        assert env.device == torch.device("cpu") or env.device.type == "mps"
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
    assert nb.setup(environ={}, verbose=False).device.type == "cuda"  # CUDA wins when present


def test_colab_url_and_badge():
    url = nb.colab_url("00_quickstart.ipynb")
    assert url == (
        "https://colab.research.google.com/github/posegen-lite/posegen_lite/blob/main/notebooks/00_quickstart.ipynb"
    )
    assert nb.colab_badge("00_quickstart.ipynb") == f"[![Open In Colab]({nb.COLAB_BADGE_SVG})]({url})"
    with pytest.raises(ValueError, match="GitHub"):
        nb.colab_url("x.ipynb", repo_url="https://gitlab.com/a/b")


def test_every_notebook_exists_and_is_listed():
    assert sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(nb.NOTEBOOKS)


@pytest.mark.parametrize("name", nb.NOTEBOOKS)
def test_badge_and_install_cell_use_the_one_address(name):
    cells = _cells(name)
    assert cells[0]["cell_type"] == "markdown"
    assert _source(cells[0]).splitlines()[0] == nb.colab_badge(name)
    install = _source(next(c for c in cells if c["cell_type"] == "code"))
    assert f'REPO_URL = "{nb.REPO_URL}"' in install
    # the Colab install runs before posegen_lite is imported, with plain subprocess calls
    assert install.index("subprocess.run") < install.index("from posegen_lite")
    assert "nb.setup()" in install
    # the address appears nowhere else in the notebook
    everywhere = "".join(_source(c) for c in cells)
    assert len(re.findall(re.escape(nb.REPO_URL), everywhere)) == 1
    assert (NOTEBOOK_DIR / name).stat().st_size < 1_500_000


@pytest.mark.parametrize("name", nb.NOTEBOOKS)
def test_checked_cells_have_stored_output(name):
    checked = [c for c in _cells(name) if c["cell_type"] == "code" and "# NBVAL_CHECK_OUTPUT" in _source(c)]
    assert checked, f"{name}: no cell is checked by nbval"
    for c in checked:
        assert c["outputs"], f"{name}: checked cell without stored output:\n{_source(c)}"
        assert all(o["output_type"] != "error" for o in c["outputs"])


def test_make_badges_check_passes():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(nb.ROOT / "scripts" / "make_badges.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


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


def test_notebook_figures_from_viz():
    from posegen_lite.app import viz
    from posegen_lite.geometry.skeleton import reference_pose

    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 8, 3), dtype=np.uint8)
    fig = viz.image_table_figure([[img, img], [img]], col_titles=["a", "b"], row_titles=["r1", "r2"])
    assert len(fig.axes) == 4
    with pytest.raises(ValueError):
        viz.image_table_figure([])
    mask = np.zeros((16, 8), np.float32)
    mask[4:12, 2:6] = 1
    fig = viz.mask_weight_figure(img, np.zeros_like(img), mask)
    titles = [ax.get_title() for ax in fig.axes]
    assert "25% of pixels" in titles[2]
    maps = -np.ones((18, 16, 8), np.float32)
    assert len(viz.pose_channels_figure(maps).axes) == 18
    with pytest.raises(ValueError):
        viz.pose_channels_figure(maps[:3])
    fig = viz.training_figure([{"step": 1, "loss": 0.5}, {"step": 2, "loss": 0.4}], keys=["loss"])
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == [0.5, 0.4]
    pic = viz.skeleton_3d_image(reference_pose(), size_px=64)
    assert pic.shape == (64, 64, 3) and pic.dtype == np.uint8 and (pic < 250).any()
    with pytest.raises(ValueError):
        viz.skeleton_3d_image(np.full((18, 3), np.nan))


def test_pair_and_refinement_figures(tiny_pairs):
    from torch.utils.data import default_collate

    from posegen_lite.app import viz

    sample = tiny_pairs[0]
    fig = viz.pair_sample_figure(sample, title="tiny")
    assert [ax.get_title() for ax in fig.axes] == ["I_A", "keypoints A", "P_B", "M_B", "I_B"]
    batch = default_collate([tiny_pairs[i] for i in range(3)])
    coarse = batch["image_a"]
    refined = (coarse + 0.5).clamp(-1, 1)
    fig = viz.refinement_figure(batch, coarse, refined)
    assert len(fig.axes) == 5 * 3
    diff_row = [ax.get_images()[0].get_array() for ax in fig.axes[9:12]]
    assert all(np.asarray(d).max() > 0 for d in diff_row)  # G2 changed something, and the row shows it
