"""``SyntheticPairs``: the embedded dataset as a torch ``Dataset`` of pair samples, rendered on the fly or read
from the on-disk cache (its PNGs, or its memory-mapped arrays: ``arrays.py``)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from posegen_lite.data.synthetic.cache import cached_sample, load_cache, split_dir
from posegen_lite.data.synthetic.detail import pair_extras
from posegen_lite.data.synthetic.pairs import (
    SyntheticConfig,
    _to_sample,
    check_split,
    len_split,
    plan_pair,
    render_pairs,
)

MEMO_LIMIT = 50_000  # pairs whose extras are kept (about 100 kB each at 128×64)
_SMALL = {
    "visibility": torch.uint8,
    "print_b": torch.uint8,
    "parts_b": torch.int8,
    "proxy_parts_b": torch.int8,
    "proxy_silhouette_a": torch.uint8,
    "proxy_surface_b": torch.float16,
    "proxy_coverage_b": torch.float16,  # quarters at 2×2 sub-pixels: exact in half precision
}


def _pack(extra: dict) -> dict:
    """Store masks and part ids (−1…15, {0, 1}) in one byte each, exactly, and the surface coordinates (in
    [−1, 1]) in half precision (to within 5e-4); ``_unpack`` restores the dtypes."""
    return {k: (v.to(_SMALL[k]), v.dtype) if k in _SMALL else v for k, v in extra.items()}


def _unpack(packed: dict) -> dict:
    return {k: v[0].to(v[1]) if k in _SMALL else (v.clone() if torch.is_tensor(v) else v) for k, v in packed.items()}


class SyntheticPairs(Dataset):
    """Pair samples (the dict of ``data/sample.py``) of one split of the synthetic dataset.

    Rendered on the fly from per-index seeds, or read from a verified on-disk cache when ``cache_dir`` is
    given (built or rebuilt there if missing or corrupt). ``__getitems__`` renders a whole DataLoader batch in
    one call, which is several times faster per image than one sample at a time.

    Args:
        config: what to render. split: one of ``SPLITS``. cache_dir: optional cache root.
        pose_kind: passed to ``posemaps.pose_maps`` (``"disc"`` as PG2, or ``"gaussian"``).
        extras: add the optional keys of ``detail.pair_extras`` (proxy flow/visibility/parts for a warping G1,
            exact parts and print masks for part-aware losses and detail metrics).
        arrays: read the cache as memory-mapped arrays (``arrays.load_arrays``, packed beside the PNGs on first
            use): the same samples with no PNG decoded and no pose map drawn. Needs ``cache_dir``.
        compact: with ``arrays``, give the samples in the compact form of ``data/compact.py`` (uint8 images,
            disc pose maps as bits, uint8 masks, the joints in one table), for a consumer that calls its
            ``expand_batch`` after the DataLoader's workers (the training steps do): they send a tenth of the
            bytes.
    """

    def __init__(
        self,
        config: SyntheticConfig | None = None,
        split: str = "train",
        cache_dir: str | Path | None = None,
        pose_kind: str = "disc",
        progress: bool = False,
        extras: bool = False,
        arrays: bool = False,
        compact: bool = False,
    ) -> None:
        self.extras = bool(extras)
        self.config = config if config is not None else SyntheticConfig()
        self.split = check_split(split)
        self.pose_kind = pose_kind
        self.cache_root = None if cache_dir is None else split_dir(cache_dir, split)
        self.records = None
        # Extras are a pure function of the pair's plan, so each pair's are computed once and kept (compactly).
        self._extras_memo: dict[int, dict] = {}
        self.arrays = None
        if arrays and cache_dir is None:
            raise ValueError("arrays=True reads the disk cache: give cache_dir")
        if compact and not arrays:
            raise ValueError("compact=True is the array cache's form: give arrays=True (and cache_dir)")
        self.compact = bool(compact)
        if arrays:
            from posegen_lite.data.synthetic.arrays import load_arrays

            self.arrays = load_arrays(self.config, self.split, cache_dir, pose_kind, progress)
        elif cache_dir is not None:
            self.records = load_cache(self.config, self.split, cache_dir, progress=progress)

    def __len__(self) -> int:
        return len_split(self.config, self.split)

    def __getitem__(self, index: int) -> dict:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: list[int]) -> list[dict]:
        n = len(self)
        indices = [int(i) + n if int(i) < 0 else int(i) for i in indices]
        for i in indices:
            if not 0 <= i < n:
                raise IndexError(f"index {i} out of range for {n} samples")
        if self.arrays is not None:
            samples = self.arrays.samples(indices, self.compact)
        elif self.records is not None:
            samples = [self._cached(i) for i in indices]
        else:
            samples = [
                _to_sample(p, p.view_a.image, p.view_b.image, self.pose_kind)
                for p in render_pairs(self.config, self.split, indices)
            ]
        if self.extras:
            for sample, extra in zip(samples, self._extras(indices), strict=True):
                sample.update(extra)
        return samples

    def _extras(self, indices: list[int]) -> list[dict]:
        """``detail.pair_extras`` of the pairs, computed once per pair (up to ``MEMO_LIMIT`` pairs) and kept in
        a compact form: the proxy flow costs as much as rendering the pair again."""
        missing = sorted({i for i in indices if i not in self._extras_memo})
        computed = pair_extras([plan_pair(self.config, self.split, i) for i in missing])
        # Packed at once, kept or not, so that the first read gives what every later one will.
        fresh = {i: _pack(extra) for i, extra in zip(missing, computed, strict=True)}
        for i, packed in fresh.items():
            if len(self._extras_memo) < MEMO_LIMIT:
                self._extras_memo[i] = packed
        return [_unpack(fresh[i] if i in fresh else self._extras_memo[i]) for i in indices]

    def _cached(self, index: int) -> dict:
        return cached_sample(self.cache_root, self.records[index], self.pose_kind)
