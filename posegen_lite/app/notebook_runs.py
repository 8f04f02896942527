"""Where notebook runs live and which weights the notebooks load: the runs folder (a mounted Drive folder on
Colab), the training set of notebooks 02 and 03 (on a GPU tier an array cache on the machine's own disk), the G1
notebook 03 trains on, the demo weights, and the settings and predictions read from weights.

``notebook`` re-exports every name, so a notebook reaches them as ``nb.run_dir`` and so on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import torch

from posegen_lite.app.colab import mount_drive
from posegen_lite.data.datasets import DataSpec, build_dataset, synthetic_config

RUNS_ENV = "POSEGEN_RUNS"  # where notebook runs write checkpoints (on Colab: a mounted Drive folder)
G1_ENV = "POSEGEN_G1"  # a Stage II checkpoint (file or run dir) notebook 03 takes G1 from
DATA_CACHE_ENV = "POSEGEN_DATA_CACHE"  # where GPU tiers keep their array cache (default: <repository>/runs/data)
WEIGHTS_ENV = "POSEGEN_WEIGHTS"  # a G1+G2 checkpoint notebooks 00, 04 and 05 load instead of the shipped one
ROOT = Path(__file__).resolve().parents[2]  # the repository root of a checkout


def runs_root(environ: Mapping[str, str] | None = None, root: str | Path = ROOT) -> Path:
    """``$POSEGEN_RUNS`` if set (e.g. a mounted Drive folder on Colab, so checkpoints survive a disconnect and
    the next notebook's machine can read them), else ``<repository>/runs`` (git ignores it)."""
    value = (os.environ if environ is None else environ).get(RUNS_ENV, "").strip()
    return Path(value) if value else Path(root) / "runs"


def run_dir(name: str, root: str | Path | None = None) -> Path:
    """``<runs root>/<name>``: where a notebook training run writes checkpoints and TensorBoard events
    (``root=None``: ``runs_root()``; otherwise ``<root>/runs/<name>``)."""
    return (runs_root() if root is None else Path(root) / "runs") / name


def use_drive(folder: str = "posegen_runs") -> Path:
    """On Colab: mount Google Drive and send every run of this kernel to ``MyDrive/<folder>`` (sets
    ``POSEGEN_RUNS``). Run it in each notebook that should share runs: notebook 03 then finds notebook 02's
    G1 there, although Colab gave each notebook its own machine."""
    path = Path(mount_drive(folder))
    os.environ[RUNS_ENV] = str(path)
    return path


def data_cache_dir(spec: DataSpec, environ: Mapping[str, str] | None = None, root: str | Path = ROOT) -> Path:
    """``<cache>/synthetic_<H>x<W>_<people>p_<views>v_seed<seed>``, ``<cache>`` = ``$POSEGEN_DATA_CACHE`` or
    ``<repository>/runs/data``: where ``training_set`` renders ``spec``'s pairs once. One folder per data config,
    so tiers never rebuild each other's cache, and notebooks 02 and 03 share one at the same size on one machine.
    Never the runs' Drive folder: DataLoader workers read the arrays at random, which a network mount serves
    slowly, and rendering them again on a new machine takes under a minute (docs/notebooks.md)."""
    h, w = spec.size
    value = (os.environ if environ is None else environ).get(DATA_CACHE_ENV, "").strip()
    base = Path(value) if value else Path(root) / "runs" / "data"
    return base / f"synthetic_{h}x{w}_{spec.people}p_{spec.views}v_seed{spec.seed}"


def training_set(spec: DataSpec, env, environ: Mapping[str, str] | None = None, verbose: bool = True):
    """The training split of ``spec`` for a notebook run at the tier of ``env`` (``setup``'s ``NotebookEnv``).

    Where the tier trains from the array cache (``Sizes.cache_arrays``: the GPU tiers), the pairs are rendered
    once into ``data_cache_dir`` and packed as memory-mapped arrays (printed, with how long it took), then
    read in the compact form of ``data/compact.py`` (uint8 images, pose maps as bits), which the training step
    expands on the device: DataLoader workers stream them several times faster than they render. Same samples
    bit for bit; ``spec.extras`` are still computed per pair. Elsewhere: the pairs rendered on the fly."""
    if not env.sizes.cache_arrays or spec.data != "synthetic":
        return build_dataset(spec, "train")
    from posegen_lite.data.synthetic.arrays import ARRAYS
    from posegen_lite.data.synthetic.cache import render_to_disk, split_dir
    from posegen_lite.data.synthetic.pairs import MANIFEST, len_split

    folder = data_cache_dir(spec, environ)
    config, root = synthetic_config(spec), split_dir(folder, "train")
    rendered = (root / MANIFEST).is_file()  # (a cache of another config is rebuilt by build_dataset, warning)
    fresh = not (rendered and (root / ARRAYS).is_dir())
    start = time.monotonic()
    if fresh and verbose:
        what = "packing the" if rendered else "rendering the"
        print(f"{what} {len_split(config, 'train')} training pairs once into {folder} as arrays: the DataLoader "
              "workers then read them instead of rendering")  # fmt: skip
    if not rendered:
        render_to_disk(config, "train", folder, progress=verbose)
    dataset = build_dataset(replace(spec, cache=str(folder), cache_arrays=True), "train", compact=True)
    if fresh and verbose:
        print(f"array cache ready in {time.monotonic() - start:.0f} s (render + pack; later runs reuse it)")
    return dataset


def g1_source(environ: Mapping[str, str] | None = None) -> Path:
    """The Stage II checkpoint notebook 03 trains G2 on top of: ``$POSEGEN_G1`` (your own run from notebook 02,
    e.g. ``run_dir("nb02_g1_colab")``) if set, else the shipped demo weights."""
    value = (os.environ if environ is None else environ).get(G1_ENV, "").strip()
    return Path(value) if value else demo_weights()


def trained_with(checkpoint: str | Path) -> dict:
    """The ``TrainConfig`` (as a dict) a checkpoint or shipped weights file was trained with — e.g. its
    ``lambda_l1``, ``steps`` and ``disc`` — so a notebook reads settings from the weights, not from its text."""
    from posegen_lite.models.checkpoints import resolve_checkpoint

    _, state = resolve_checkpoint(checkpoint)
    return dict(state.get("config") or {})


def stage3_settings(g1_config, weights: str | Path) -> dict:
    """The Stage III settings ``weights`` were trained with (λ, label smoothing, adversarial loss, G2's options,
    D's width and norm…), as ``TrainConfig`` overrides for a G1 of ``g1_config``'s size — so notebook 03 trains
    with what the shipped G2 was trained with, read from the file rather than typed into the notebook."""
    from dataclasses import replace

    from posegen_lite.training.config import TrainConfig

    cfg = TrainConfig.from_dict(trained_with(weights))  # an older, flat config is read too
    size = {"height": g1_config.height, "width": g1_config.width, "levels": None}
    # The part terms need a dataset built with extras (the part maps); notebook 03 builds one.
    keys = ("lambda_l1", "adv_loss", "d_steps_per_g", "real_label", "condition_fake", "d_lr", "part_weights",
            "lambda_part_fm")  # fmt: skip
    out: dict = {k: getattr(cfg, k) for k in keys}
    out["g2"] = replace(cfg.g2_config(), base_channels=g1_config.base_channels, **size)
    out["disc"] = replace(cfg.disc_config(), **size)
    return out


@torch.no_grad()
def predict_with(weights: str | Path, batch: dict, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """``{"G1": Î_B1, "G1+G2": Î_B2}`` (``(B, 3, H, W)`` in [-1, 1], on the CPU) of the networks in ``weights``
    on ``batch`` (only ``"G1"`` for a Stage II checkpoint). The batch must have the weights' image size (and,
    for a G1 that warps with the body proxy, the ``flow``/``visibility`` of a dataset built with extras)."""
    from posegen_lite.evaluation.predictors import G1G2Predictor, G1Predictor
    from posegen_lite.models.weights import load_models

    models = load_models(weights, device=device)
    out = {"G1": G1Predictor(models["g1"])(batch)}
    if "g2" in models:
        out["G1+G2"] = G1G2Predictor(models["g1"], models["g2"])(batch)
    return out


def demo_weights(root: str | Path = ROOT, shipped: str | Path | None = None) -> Path:
    """The demo weights the notebooks load: ``$POSEGEN_WEIGHTS`` if set (your own G1+G2 run), else the
    shipped ``posegen_lite/assets/demo_128x64.pt`` (``shipped`` overrides it), else (while developing, before
    they are exported) the newest checkpoint of ``<root>/runs/demo_g2`` or ``<root>/runs/demo_g1``.
    Raises ``FileNotFoundError``."""
    from posegen_lite.models.checkpoints import list_checkpoints
    from posegen_lite.resources import demo_weights as shipped_demo_weights

    if shipped is None and os.environ.get(WEIGHTS_ENV, "").strip():
        return Path(os.environ[WEIGHTS_ENV].strip())
    shipped = Path(shipped) if shipped is not None else shipped_demo_weights()
    if shipped.exists():
        return shipped
    root = Path(root)
    for run in ("runs/demo_g2", "runs/demo_g1"):
        found = list_checkpoints(root / run) if (root / run).is_dir() else []
        if found:
            return found[-1]
    raise FileNotFoundError(
        f"no demo weights: {shipped} is missing and no checkpoint in runs/demo_g1 or "
        "runs/demo_g2 (train them with the README's training command)"
    )


def g1_config_of(checkpoint: str | Path):
    """The ``G1Config`` a checkpoint (file or run dir) was trained with — so Stage III can take its G1."""
    from posegen_lite.models.checkpoints import resolve_checkpoint
    from posegen_lite.models.g1 import G1Config

    _, state = resolve_checkpoint(checkpoint)
    return G1Config(**state["model_configs"]["g1"])
