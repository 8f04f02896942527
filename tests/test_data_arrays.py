"""The disk cache as memory-mapped arrays (data/synthetic/arrays.py): the PNG cache's samples, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.data.synthetic import SyntheticConfig
from posegen_lite.data.synthetic.arrays import ARRAYS, load_arrays
from posegen_lite.data.synthetic.dataset import SyntheticPairs

TINY = SyntheticConfig(size=(32, 16), train_people=2, val_people=2, test_people=1, hard_people=1, views_per_person=2)


def _same(a: dict, b: dict) -> None:
    assert list(a) == list(b)  # the same keys, in the same order
    for key, value in a.items():
        if torch.is_tensor(value):
            assert value.dtype == b[key].dtype and value.shape == b[key].shape, key
            np.testing.assert_array_equal(value.numpy(), b[key].numpy(), err_msg=key)  # NaN equals NaN here
        else:
            assert type(value) is type(b[key]) and value == b[key], key


@pytest.mark.parametrize("kind", ["disc", "gaussian"])
def test_arrays_give_the_png_cache_samples_bit_for_bit(tmp_path, kind):
    png = SyntheticPairs(TINY, "train", cache_dir=tmp_path, pose_kind=kind)
    arrays = SyntheticPairs(TINY, "train", cache_dir=tmp_path, pose_kind=kind, arrays=True)
    assert len(arrays) == len(png) == 4
    for i in range(len(png)):
        _same(arrays[i], png[i])
    assert (tmp_path / "train" / ARRAYS / "pose_b.npy").is_file()


def test_arrays_stream_through_dataloader_workers(tmp_path):
    arrays = SyntheticPairs(TINY, "train", cache_dir=tmp_path, arrays=True)
    png = SyntheticPairs(TINY, "train", cache_dir=tmp_path)
    got = next(iter(DataLoader(arrays, batch_size=4, num_workers=2)))
    want = next(iter(DataLoader(png, batch_size=4, num_workers=0)))
    for key in ("image_a", "pose_b", "mask_b", "keypoints_b"):
        np.testing.assert_array_equal(got[key].numpy(), want[key].numpy(), err_msg=key)
    assert got["name_a"] == want["name_a"]


def test_arrays_of_another_manifest_or_kind_are_packed_anew(tmp_path):
    load_arrays(TINY, "val", tmp_path)
    meta_path = tmp_path / "val" / ARRAYS / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["manifest_sha256"] = "0" * 64  # as if the PNG cache had been rendered again since
    meta_path.write_text(json.dumps(meta))
    again = load_arrays(TINY, "val", tmp_path)
    assert again.meta["manifest_sha256"] != "0" * 64
    gaussian = load_arrays(TINY, "val", tmp_path, pose_kind="gaussian")
    assert gaussian.meta["pose_kind"] == "gaussian" and gaussian.sample(0)["pose_b"].unique().numel() > 2


def test_arrays_need_a_cache_and_the_spec_passes_them_on(tmp_path):
    with pytest.raises(ValueError, match="cache_dir"):
        SyntheticPairs(TINY, "train", arrays=True)
    spec = DataSpec(size=(32, 16), people=2, views=1, cache=str(tmp_path), cache_arrays=True)
    assert build_dataset(spec, "train").arrays is not None
