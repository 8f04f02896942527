"""One place that turns a dataset name into a torch Dataset of pair samples (used by the CLI and notebooks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset

DATASETS = ("synthetic", "market", "fashion", "panoptic")


@dataclass
class DataSpec:
    """Which data to load. Synthetic: ``people`` training people (val/test get a tenth, at least 8),
    ``views`` pairs each, ``seed``; optional ``cache`` folder. Real datasets: ``root`` (docs/datasets.md).
    ``extras``: synthetic samples also carry the body-proxy flow/visibility and the exact part/print maps
    (``data/sample.py``'s optional keys) — needed by a warping G1, part-weighted losses and detail metrics.
    ``cache_arrays``: read the ``cache`` as memory-mapped arrays (``data/synthetic/arrays.py``), which 2
    DataLoader workers stream several times faster than its PNGs, and faster still in compact form
    (``build_dataset``'s ``compact``; benchmarks/bench_data.py)."""

    data: str = "synthetic"
    size: tuple[int, int] = (64, 64)
    root: str | None = None
    people: int = 400
    views: int = 8
    seed: int = 0
    cache: str | None = None
    extras: bool = False
    cache_arrays: bool = False


def synthetic_config(spec: DataSpec):
    from posegen_lite.data.synthetic.pairs import SyntheticConfig

    held_out = max(8, spec.people // 10)
    return SyntheticConfig(
        size=tuple(spec.size),
        train_people=spec.people,
        val_people=held_out,
        test_people=held_out,
        hard_people=held_out,
        views_per_person=spec.views,
        seed=spec.seed,
    )


def build_dataset(spec: DataSpec, split: str, compact: bool = False) -> Dataset:
    """The ``split`` of the dataset ``spec`` names. Real datasets map ``val`` to their ``test`` split
    (PG2's releases have no validation split) and have no ``test_hard``.

    ``compact``: the reader expands each batch with ``data/compact.expand_batch`` (the training steps do), so
    the array cache (``cache_arrays``) may give its samples compact, for its workers to send a tenth of the
    bytes; every other source gives float samples, which the expansion passes on as they are."""
    if spec.data not in DATASETS:
        raise ValueError(f"unknown dataset {spec.data!r}; choose one of {DATASETS}")
    if spec.data == "synthetic":
        from posegen_lite.data.synthetic.dataset import SyntheticPairs

        return SyntheticPairs(synthetic_config(spec), split, cache_dir=spec.cache, extras=spec.extras,
                              arrays=spec.cache_arrays, compact=compact and spec.cache_arrays)  # fmt: skip
    if spec.root is None:
        raise ValueError(f"--root is needed for the {spec.data} dataset (see docs/datasets.md)")
    if split == "test_hard":
        raise ValueError(f"{spec.data} has no test_hard split (it has no viewpoint labels)")
    real_split = "test" if split == "val" else split
    if spec.data == "panoptic":
        from posegen_lite.data.real.panoptic import PanopticConfig, PanopticDataset

        return PanopticDataset(PanopticConfig(root=Path(spec.root), image_size=spec.size[0], extras=spec.extras))
    from posegen_lite.data.real.pg2 import PG2Config, PG2Dataset

    return PG2Dataset(
        PG2Config(
            root=Path(spec.root), kind=spec.data, split=real_split, image_size=tuple(spec.size), extras=spec.extras
        )
    )


def spec_from_args(args) -> DataSpec:
    """The ``DataSpec`` of the CLI's data arguments."""
    return DataSpec(
        data=args.data,
        size=tuple(args.size),
        root=args.root,
        people=args.people,
        views=args.views,
        seed=args.data_seed,
        cache=args.cache,
        extras=bool(getattr(args, "extras", False)),
        cache_arrays=bool(getattr(args, "cache_arrays", False)),
    )
