"""The disk cache as memory-mapped arrays (data/synthetic/arrays.py): the PNG cache's samples, bit for bit, and
their compact form (data/compact.py), which expands to the same samples."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from posegen_lite.data.compact import JOINTS, expand_batch, image_levels, pack_disc_maps
from posegen_lite.data.datasets import DataSpec, build_dataset
from posegen_lite.data.synthetic import SyntheticConfig
from posegen_lite.data.synthetic.arrays import ARRAYS, load_arrays
from posegen_lite.data.synthetic.dataset import SyntheticPairs
from posegen_lite.images import to_tensor

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
    meta_path.write_text(json.dumps({**again.meta, "format": 1}))  # as packed by an older version
    assert load_arrays(TINY, "val", tmp_path).meta["format"] == 2
    gaussian = load_arrays(TINY, "val", tmp_path, pose_kind="gaussian")
    assert gaussian.meta["pose_kind"] == "gaussian" and gaussian.sample(0)["pose_b"].unique().numel() > 2


def test_arrays_need_a_cache_and_the_spec_passes_them_on(tmp_path):
    with pytest.raises(ValueError, match="cache_dir"):
        SyntheticPairs(TINY, "train", arrays=True)
    spec = DataSpec(size=(32, 16), people=2, views=1, cache=str(tmp_path), cache_arrays=True)
    assert build_dataset(spec, "train").arrays is not None


@pytest.mark.parametrize(("kind", "size"), [("disc", (32, 16)), ("disc", (16, 12)), ("gaussian", (32, 16))])
def test_compact_samples_expand_to_the_png_cache_samples_bit_for_bit(tmp_path, kind, size):
    config = dataclasses.replace(TINY, size=size)
    png = SyntheticPairs(config, "train", cache_dir=tmp_path, pose_kind=kind)
    compact = SyntheticPairs(config, "train", cache_dir=tmp_path, pose_kind=kind, arrays=True, compact=True)
    sample = compact[1]
    assert sample["image_a"].dtype == sample["image_b"].dtype == sample["mask_b"].dtype == torch.uint8
    bits = kind == "disc" and size[1] % 8 == 0  # disc maps as bits where the width allows, else int8
    want_pose = torch.uint8 if bits else torch.int8 if kind == "disc" else torch.float32
    assert sample["pose_b"].dtype == want_pose and "keypoints_a" not in sample and sample[JOINTS].shape == (18, 12)
    _same(expand_batch(sample), png[1])
    batches = [next(iter(DataLoader(d, batch_size=4, num_workers=0))) for d in (compact, png)]
    _same(expand_batch(batches[0]), batches[1])
    if bits:  # what a worker sends: about a tenth of the bytes (a ninth at this tiny size)
        size_of = [sum(v.nbytes for v in b.values() if torch.is_tensor(v)) for b in batches]
        assert size_of[0] * 9 < size_of[1]


def test_disc_maps_pack_only_plus_and_minus_one():
    maps = -np.ones((2, 18, 4, 16), np.float32)
    maps[0, 3, 1, 9] = 1.0
    packed = pack_disc_maps(maps)
    assert packed.shape == (2, 18, 4, 2) and packed.dtype == np.uint8 and packed[0, 3, 1, 1] == 2  # bit 1 of byte 1
    np.testing.assert_array_equal(expand_batch({"pose_b": torch.from_numpy(packed)})["pose_b"].numpy(), maps)
    with pytest.raises(ValueError, match="-1 and"):
        pack_disc_maps(maps * 0.5)


def test_compact_batches_stream_through_workers_and_a_float_batch_expands_to_itself(tmp_path):
    compact = SyntheticPairs(TINY, "train", cache_dir=tmp_path, arrays=True, compact=True)
    got = expand_batch(next(iter(DataLoader(compact, batch_size=4, num_workers=2))))
    want = next(iter(DataLoader(SyntheticPairs(TINY, "train", cache_dir=tmp_path), batch_size=4)))
    _same(got, want)
    again = expand_batch(want)
    assert all(again[k] is v for k, v in want.items())


def test_image_levels_are_to_tensors_values_on_every_device_path():
    levels = torch.arange(256, dtype=torch.uint8)
    want = to_tensor(np.stack([levels.numpy()] * 3, axis=-1)[None])[0, 0]  # (256,): channel 0 of a 1×256 image
    np.testing.assert_array_equal(image_levels().numpy(), want.numpy())
    # the lookup used off the CPU gives the CPU's arithmetic, bit for bit, for every level
    np.testing.assert_array_equal(torch.take(image_levels(), levels.long()).numpy(), levels.float().div(127.5).sub(1.0))


def test_compact_needs_arrays_and_build_dataset_gives_it_only_to_the_array_cache(tmp_path):
    with pytest.raises(ValueError, match="arrays=True"):
        SyntheticPairs(TINY, "train", cache_dir=tmp_path, compact=True)
    spec = DataSpec(size=(32, 16), people=2, views=1, cache=str(tmp_path), cache_arrays=True)
    assert build_dataset(spec, "train", compact=True)[0]["image_a"].dtype == torch.uint8
    assert build_dataset(spec, "train")[0]["image_a"].dtype == torch.float32  # the default stays float
    png = DataSpec(size=(32, 16), people=2, views=1, cache=str(tmp_path))
    assert build_dataset(png, "train", compact=True)[0]["image_a"].dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_compact_batches_expand_on_a_gpu_to_the_cpus_floats_bit_for_bit(tmp_path):
    compact = SyntheticPairs(TINY, "train", cache_dir=tmp_path, arrays=True, compact=True)
    batch = next(iter(DataLoader(compact, batch_size=4)))
    on_gpu = expand_batch({k: v.cuda() if torch.is_tensor(v) else v for k, v in batch.items()})
    want = expand_batch(batch)
    for key in ("image_a", "image_b", "pose_b", "mask_b", "keypoints_a", "visible_b", "joints3d_a"):
        assert on_gpu[key].is_cuda and on_gpu[key].dtype == want[key].dtype, key
        np.testing.assert_array_equal(on_gpu[key].cpu().numpy(), want[key].numpy(), err_msg=key)
