"""An error budget: where a prediction's L1 in the target body comes from, in shares that add up.

The quality table gives one number, the L1 inside the target body mask. To know what would lower it, split it:
by body region (``geometry.proxy.REGION_NAMES``, plus the background PG2's wider mask holds), by whether the
input saw the pixel's surface point (the body proxy's visibility), and by the silhouette band (within ``band``
pixels of the body's edge, either side). Each share is the absolute error summed over its pixels divided by the
number of mask pixels, so the shares of one partition add up to the L1 in the body exactly. Images are compared
as ``metrics`` does: 8-bit RGB, a pixel's error the mean over its channels of ``|pred − target| / 255``.

``split_budget`` runs predictors over a split and averages their budgets; on the embedded data it adds the
oracle row ``ORACLE`` (the best guess of the print and back the input cannot show,
``data.synthetic.hidden_detail``), an upper bound on what no model can remove. ``budget_markdown`` writes one
split's table. docs/evaluation.md ("Where does the error come from?") tells the story.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from posegen_lite.evaluation.metrics import _abs_diff
from posegen_lite.geometry.proxy import REGION_NAMES, part_regions
from posegen_lite.images import to_uint8

ORACLE = "hidden detail (oracle)"

BODY_REGIONS: tuple[str, ...] = (*REGION_NAMES[1:], "background")
"""The regions of a budget: ``REGION_NAMES`` without the background, then ``background``: the mask's pixels
whose part map says background."""


def _check(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, parts: torch.Tensor, seen: torch.Tensor):
    if pred.dim() != 4 or pred.shape[1] != 3 or pred.shape != target.shape:
        raise ValueError(f"pred and target must both be (B, 3, H, W), got {tuple(pred.shape)}, {tuple(target.shape)}")
    b, _, h, w = pred.shape
    for name, t in (("mask", mask), ("seen", seen)):
        if tuple(t.shape) != (b, 1, h, w):
            raise ValueError(f"{name} must be (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(t.shape)}")
    if tuple(parts.shape) != (b, h, w):
        raise ValueError(f"parts must be (B, H, W) = {(b, h, w)}, got {tuple(parts.shape)}")


def pixel_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``(B, H, W)`` float64 in [0, 1]: the protocol's per-pixel error of two ``(B, 3, H, W)`` images in
    [-1, 1] (both made 8-bit first, then the mean over RGB of ``|pred − target| / 255``)."""
    return torch.from_numpy(_abs_diff(to_uint8(pred), to_uint8(target)).mean(-1))


def silhouette_band(parts: torch.Tensor, band: int) -> torch.Tensor:
    """``(B, H, W)`` bool: the pixels within ``band`` pixels (a square neighbourhood) of the edge between body
    and background in the part map ``parts (B, H, W)`` (−1 = background), on both sides of it: where the
    silhouette's error lies. ``band`` 0 gives no pixel."""
    if band <= 0:
        return torch.zeros(parts.shape, dtype=torch.bool)
    on = (parts >= 0).float()[:, None]
    grown = F.max_pool2d(on, 2 * band + 1, stride=1, padding=band)
    shrunk = -F.max_pool2d(-on, 2 * band + 1, stride=1, padding=band)
    return ((grown > 0.5) & (shrunk < 0.5))[:, 0]


def error_budget(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    parts: torch.Tensor,
    seen: torch.Tensor,
    band: int = 1,
) -> dict[str, np.ndarray]:
    """Split each sample's L1 in the target body into additive shares.

    Args:
        pred, target: ``(B, 3, H, W)`` float in [-1, 1].
        mask: ``(B, 1, H, W)`` target body mask in {0, 1}.
        parts: ``(B, H, W)`` int part ids, renderer's or proxy's (−1 = background), for the regions.
        seen: ``(B, 1, H, W)`` in {0, 1}: 1 where the input saw the pixel's surface point.
        band: the silhouette band's reach, in pixels, on each side of the edge (``silhouette_band``).
    Returns:
        ``{key: (B,) float64}`` with ``masked_l1``; ``seen`` and ``unseen``; ``band`` and ``interior``;
        ``"<region> seen"`` and ``"<region> unseen"`` for every region of ``BODY_REGIONS``; and for every one
        of those keys but ``masked_l1`` also ``"px <key>"``, the fraction of the mask's pixels it covers.
        Each partition (seen/unseen, band/interior, the regions × seen/unseen) adds up to ``masked_l1``.
        A sample with an empty mask gives NaN everywhere.
    """
    _check(pred, target, mask, parts, seen)
    err = pixel_error(pred, target)  # (B, H, W)
    body = mask[:, 0].detach().cpu() > 0.5
    saw = seen[:, 0].detach().cpu() > 0.5
    count = body.sum((1, 2)).double()
    count = torch.where(count > 0, count, torch.full_like(count, float("nan")))
    region = part_regions(parts.detach().cpu())  # 0 = background
    region = torch.where(region == 0, torch.full_like(region, len(REGION_NAMES)), region)  # "background"
    edge = silhouette_band(parts.detach().cpu(), band)

    out: dict[str, np.ndarray] = {"masked_l1": ((err * body).sum((1, 2)) / count).numpy()}

    def share(key: str, where: torch.Tensor) -> None:
        where = where & body
        out[key] = ((err * where).sum((1, 2)) / count).numpy()
        out[f"px {key}"] = (where.sum((1, 2)) / count).numpy()

    share("seen", saw)
    share("unseen", ~saw)
    share("band", edge)
    share("interior", ~edge)
    for r, name in enumerate(BODY_REGIONS, start=1):
        share(f"{name} seen", (region == r) & saw)
        share(f"{name} unseen", (region == r) & ~saw)
    return out


# --- over a split ----------------------------------------------------------------------------------------


def hidden_detail_oracle(dataset: Dataset, indices: list[int], batch: dict, samples: int) -> torch.Tensor:
    """``(B, 3, H, W)`` in [-1, 1]: the batch's targets where the input saw the point (``visibility``), and
    elsewhere the per-pixel median of ``samples`` renders with the print and back redrawn. ``dataset`` must be the
    embedded data (``SyntheticPairs``: its plans say what to render) and ``indices`` the batch's sample indices."""
    from posegen_lite.data.synthetic.hidden_detail import hidden_detail_guess
    from posegen_lite.data.synthetic.pairs import plan_pair

    config, split = getattr(dataset, "config", None), getattr(dataset, "split", None)
    if config is None or not hasattr(config, "supersample"):
        raise ValueError("the hidden-detail oracle needs the embedded synthetic data (SyntheticPairs)")
    plans = [plan_pair(config, split, i) for i in indices]
    guess = hidden_detail_guess(plans, samples=samples, supersample=config.supersample)
    guess = torch.from_numpy(guess).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    return torch.where(batch["visibility"] > 0.5, batch["image_b"], guess)


def split_budget(
    predictors: dict,
    dataset: Dataset,
    limit: int | None = None,
    batch_size: int = 32,
    oracle_samples: int = 16,
    progress: bool = True,
) -> dict[str, dict[str, float]]:
    """Every predictor's ``error_budget`` over (up to ``limit`` evenly spaced samples of) a split, averaged.

    ``dataset`` must yield the extras (``parts_b``, ``visibility``, ``proxy_parts_b``: ``extras=True`` on the
    embedded data). ``oracle_samples > 0`` adds the ``ORACLE`` row (renders per guess). Returns ``{model: {key:
    mean over samples}}`` with the keys of ``error_budget`` (NaN samples left out), and ``"proxy silhouette":
    {"iou": …}``: the body proxy's silhouette against the true body, what the outline fill relies on."""
    from posegen_lite.evaluation.protocol import sample_indices

    indices = sample_indices(len(dataset), limit)
    if not indices:
        raise ValueError("the dataset is empty")
    names = [*predictors, ORACLE] if oracle_samples > 0 else list(predictors)
    chunks: dict[str, list[dict]] = {name: [] for name in names}
    iou = []
    loader = DataLoader(Subset(dataset, indices), batch_size=batch_size, shuffle=False)
    split = getattr(dataset, "split", "")
    with tqdm(total=len(indices), desc=f"budget {split}".strip(), unit="pair", disable=not progress) as bar:
        for start, batch in zip(range(0, len(indices), batch_size), loader, strict=True):
            for key in ("parts_b", "visibility", "proxy_parts_b"):
                if key not in batch:
                    raise ValueError(f"the error budget needs {key!r} in the batch (a dataset built with extras)")
            preds = {name: predict(batch) for name, predict in predictors.items()}
            if oracle_samples > 0:
                preds[ORACLE] = hidden_detail_oracle(
                    dataset, indices[start : start + batch_size], batch, oracle_samples
                )
            for name, pred in preds.items():
                chunks[name].append(
                    error_budget(pred, batch["image_b"], batch["mask_b"], batch["parts_b"], batch["visibility"])
                )
            true, proxy = batch["parts_b"] >= 0, batch["proxy_parts_b"] >= 0
            iou.append(((true & proxy).sum((1, 2)) / (true | proxy).sum((1, 2)).clamp_min(1)).numpy())
            bar.update(len(batch["image_b"]))
    out = {
        name: {k: float(np.nanmean(np.concatenate([c[k] for c in cs]))) for k in cs[0]} for name, cs in chunks.items()
    }
    out["proxy silhouette"] = {"iou": float(np.concatenate(iou).mean())}
    return out


_LEAD = [("masked_l1", "L1 in body"), ("seen", "seen"), ("unseen", "unseen"), ("band", "silhouette ± 1 px")]


def budget_markdown(split: str, budget: dict, model: str | None = None, regions: int = 8) -> str:
    """One split's ``split_budget`` as a markdown table: the L1 in the body, the seen / unseen / outline shares,
    and the ``regions`` largest region shares of ``model`` (default: G1+G2 if present, else the first row);
    each share with the fraction of the mask's pixels it covers in brackets."""
    rows = {name: b for name, b in budget.items() if name != "proxy silhouette"}
    model = model or ("G1+G2" if "G1+G2" in rows else next(iter(rows)))
    keys = [f"{r} {s}" for r in BODY_REGIONS for s in ("seen", "unseen")]
    cols = _LEAD + [(k, k) for k in sorted(keys, key=lambda k: -rows[model][k])[:regions]]
    lines = [
        f"`{split}`: shares of the L1 in the body (each: Σ |error| over its pixels / the mask's pixels); in "
        "brackets, the fraction of the mask's pixels",
    ]
    if "proxy silhouette" in budget:
        lines.append(
            f"(the body proxy's silhouette against the true body: IoU {budget['proxy silhouette']['iou']:.3f})"
        )
    lines += ["", "| model | " + " | ".join(h for _, h in cols) + " |", "|---|" + "--:|" * len(cols)]
    for name, b in rows.items():
        cells = [f"{b[k]:.4f}" if k == "masked_l1" else f"{b[k]:.4f} ({b['px ' + k]:.2f})" for k, _ in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
