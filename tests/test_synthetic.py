"""The synthetic pair dataset: determinism, splits, yaw convention, the sample contract, the disk cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from posegen_lite.cli import main as cli_main
from posegen_lite.data.sample import SAMPLE_KEYS
from posegen_lite.data.synthetic import (
    HARD_YAW_RANGE,
    SPLITS,
    CacheError,
    SyntheticConfig,
    SyntheticPairs,
    load_cache,
    person_of,
    render_pairs,
    render_to_disk,
    verify_cache,
    wrap_degrees,
)
from posegen_lite.data.synthetic.detail import pair_extras
from posegen_lite.data.synthetic.pairs import plan_pair
from posegen_lite.geometry.camera import Camera, rotate_about_body_axis

TINY = SyntheticConfig(
    size=(32, 16), train_people=3, val_people=2, test_people=2, hard_people=2, views_per_person=2, seed=7
)


def test_same_seed_same_bytes_other_seed_differs():
    a = render_pairs(TINY, "train", [0, 3])
    b = render_pairs(TINY, "train", [0, 3])
    c = render_pairs(SyntheticConfig(**{**TINY.__dict__, "seed": 8}), "train", [0, 3])
    for x, y, z in zip(a, b, c, strict=True):
        assert x.view_a.image.tobytes() == y.view_a.image.tobytes()
        assert x.view_b.image.tobytes() == y.view_b.image.tobytes()
        assert x.view_a.image.tobytes() != z.view_a.image.tobytes()
    # a sample does not depend on which other samples share its batch
    alone = render_pairs(TINY, "train", [3])[0]
    assert alone.view_b.image.tobytes() == a[1].view_b.image.tobytes()


def test_splits_are_disjoint_by_person():
    ids = {}
    for split in SPLITS:
        ds = SyntheticPairs(TINY, split)
        ids[split] = {ds[i]["person_id"] for i in range(len(ds))}
        assert len(ids[split]) == TINY.people_in(split)
    for i, s in enumerate(SPLITS):
        for t in SPLITS[i + 1 :]:
            assert not ids[s] & ids[t]
    # and they really are different people, not relabelled copies
    shirts = [person_of(TINY, s, 0).shirt.tobytes() for s in SPLITS]
    assert len(set(shirts)) == len(SPLITS)


def test_sample_contract_and_yaw_convention():
    ds = SyntheticPairs(TINY, "train")
    assert len(ds) == 6
    sample = ds[1]
    assert set(sample) == set(SAMPLE_KEYS)
    assert sample["image_a"].shape == (3, 32, 16) and sample["pose_b"].shape == (18, 32, 16)
    assert sample["mask_b"].shape == (1, 32, 16)
    assert sample["image_a"].min() >= -1 and sample["image_a"].max() <= 1
    assert -180 < sample["yaw"] <= 180
    pair = render_pairs(TINY, "train", [1])[0]
    cam_a: Camera = pair.view_a.camera
    # turning the body by `yaw` and looking with camera A gives B's keypoints
    turned = rotate_about_body_axis(pair.view_a.joints3d, sample["yaw"])
    np.testing.assert_allclose(cam_a.project(turned)[0], sample["keypoints_b"].numpy(), atol=1e-3)
    torch.testing.assert_close(sample["joints3d_a"], sample["joints3d_b"])


def test_hard_split_and_yaw_range():
    hard = render_pairs(TINY, "test_hard", range(4))
    for p in hard:
        assert HARD_YAW_RANGE[0] - 1e-6 <= abs(p.yaw) <= HARD_YAW_RANGE[1] + 1e-6
    narrow = SyntheticConfig(**{**TINY.__dict__, "yaw_range": (20.0, 40.0)})
    for p in render_pairs(narrow, "train", range(6)):
        assert 20.0 - 1e-6 <= abs(p.yaw) <= 40.0 + 1e-6
    assert wrap_degrees(-180.0) == 180.0 and wrap_degrees(190.0) == -170.0 and wrap_degrees(360.0) == 0.0


def test_dataloader_batches_through_getitems():
    ds = SyntheticPairs(TINY, "val")
    batch = next(iter(DataLoader(ds, batch_size=3, shuffle=False)))
    assert batch["image_b"].shape == (3, 3, 32, 16)
    torch.testing.assert_close(batch["image_b"][2], ds[2]["image_b"], rtol=0, atol=0)
    with pytest.raises(IndexError):
        ds[len(ds)]


def test_cache_round_trip(tmp_path):
    manifest = render_to_disk(TINY, "val", tmp_path, progress=False)
    data = json.loads(manifest.read_text())
    assert data["config"] == TINY.to_json() and len(data["samples"]) == 4
    cached = SyntheticPairs(TINY, "val", cache_dir=tmp_path)
    live = SyntheticPairs(TINY, "val")
    for i in range(len(live)):
        a, b = cached[i], live[i]
        for key in ("image_a", "image_b", "pose_b", "mask_b", "keypoints_a", "keypoints_b", "joints3d_a"):
            torch.testing.assert_close(a[key], b[key], equal_nan=True, rtol=0, atol=0)  # exact: PNG is lossless
        assert a["yaw"] == pytest.approx(b["yaw"]) and a["name_b"] == b["name_b"]


def test_corrupt_or_partial_cache_is_detected_and_rebuilt(tmp_path):
    render_to_disk(TINY, "test", tmp_path, progress=False)
    root = tmp_path / "test"
    victim = sorted(root.glob("*.png"))[1]
    good = victim.read_bytes()
    victim.write_bytes(good[:-10] + bytes(10))  # corrupt one image
    with pytest.raises(CacheError, match="corrupt"):
        verify_cache(TINY, "test", tmp_path)
    with pytest.raises(CacheError):
        load_cache(TINY, "test", tmp_path, rebuild=False)
    with pytest.warns(UserWarning, match="rebuilding"):
        load_cache(TINY, "test", tmp_path, progress=False)
    assert victim.read_bytes() == good
    victim.unlink()  # missing file
    with pytest.raises(CacheError, match="missing"):
        verify_cache(TINY, "test", tmp_path)
    (root / "manifest.json").unlink()  # partial: no manifest
    with pytest.raises(CacheError, match="no manifest"):
        verify_cache(TINY, "test", tmp_path)
    with pytest.warns(UserWarning):
        ds = SyntheticPairs(TINY, "test", cache_dir=tmp_path)
    assert victim.read_bytes() == good and len(ds) == 4
    other = SyntheticConfig(**{**TINY.__dict__, "seed": 99})  # a cache of another config is not used
    with pytest.raises(CacheError, match="another config"):
        verify_cache(other, "test", tmp_path)


def test_synth_command_writes_a_verified_set(tmp_path):
    argv = ["synth", "--out", str(tmp_path), "--split", "val", "--size", "32x32", "--people", "2", "--views", "1"]
    assert cli_main([*argv, "--data-seed", "3"]) == 0
    out = tmp_path / "val"
    assert len(list(out.glob("*.png"))) == 4
    config = SyntheticConfig(
        size=(32, 32), train_people=0, val_people=2, test_people=0, hard_people=0, views_per_person=1, seed=3
    )
    assert len(verify_cache(config, "val", tmp_path)) == 2


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"size": (0, 64)}, "size"),
        ({"size": (64, -2)}, "size"),
        ({"train_people": -1}, "train_people"),
        ({"views_per_person": 0}, "views_per_person"),
        ({"yaw_range": (200.0, 100.0)}, "yaw_range"),
        ({"elevation_range": (-30.0, 10.0)}, "elevation"),
        ({"seed": -1}, "seed"),
        ({"supersample": 0}, "supersample"),
    ],
)
def test_bad_config_raises(changes, match):
    with pytest.raises(ValueError, match=match):
        SyntheticConfig(**changes)


def test_bad_split_raises():
    with pytest.raises(ValueError, match="split"):
        SyntheticPairs(TINY, "holdout")
    with pytest.raises(SystemExit):  # argparse rejects it before anything is rendered
        cli_main(["synth", "--out", "/tmp/never", "--split", "everything"])


def test_disk_cache_is_byte_identical_across_runs(tmp_path):
    first = json.loads(render_to_disk(TINY, "val", tmp_path / "one", progress=False).read_text())
    second = json.loads(render_to_disk(TINY, "val", tmp_path / "two", progress=False).read_text())
    assert [r["sha256_a"] for r in first["samples"]] == [r["sha256_a"] for r in second["samples"]]
    assert [r["sha256_b"] for r in first["samples"]] == [r["sha256_b"] for r in second["samples"]]


def test_gallery_figure_grid():
    from posegen_lite.data.synthetic.gallery import gallery_figure, gallery_images

    images = gallery_images(people=2, views=3, size=(32, 16))
    assert images.shape == (2, 3, 32, 16, 3) and images.dtype == np.uint8
    assert not np.array_equal(images[0, 0], images[0, 1])  # different viewpoints
    fig = gallery_figure(people=2, views=3, size=(32, 16))
    assert len(fig.axes) == 6
    with pytest.raises(ValueError):
        gallery_images(people=0)


def test_dataloader_workers_give_the_same_bytes():
    ds = SyntheticPairs(TINY, "train")
    main = [ds[i]["image_a"] for i in range(len(ds))]
    loader = DataLoader(ds, batch_size=2, num_workers=2, shuffle=False)
    got = torch.cat([b["image_a"] for b in loader])
    torch.testing.assert_close(got, torch.stack(main), rtol=0, atol=0)


def test_extras_are_kept_after_the_first_read_and_come_back_identical():
    config = SyntheticConfig(size=(32, 32), train_people=2, views_per_person=2, seed=3)
    ds = SyntheticPairs(config, "train", extras=True)
    first = ds.__getitems__([0, 1])
    assert set(ds._extras_memo) == {0, 1}
    again = ds.__getitems__([1, 0])
    keys = ("flow", "visibility", "proxy_parts_b", "proxy_surface_b", "proxy_silhouette_a", "parts_b", "print_b")
    for key in (*keys, "print_colours"):
        for a, b in ((first[0], again[1]), (first[1], again[0])):
            assert a[key].dtype == b[key].dtype, key
            assert torch.equal(a[key], b[key]), key
    # the surface coordinates are kept in half precision: within 5e-4 of the computed ones, in float32 again
    computed = pair_extras([plan_pair(config, "train", 0)])[0]
    assert torch.equal(first[0]["proxy_silhouette_a"], computed["proxy_silhouette_a"])  # {0, 1}: kept exactly
    assert first[0]["proxy_silhouette_a"].dtype == torch.float32 and first[0]["proxy_silhouette_a"].sum() > 0
    computed = computed["proxy_surface_b"]
    assert first[0]["proxy_surface_b"].dtype == torch.float32
    assert (first[0]["proxy_surface_b"] - computed).abs().max() <= 5e-4
    again[0]["flow"].add_(1.0)  # a caller editing its copy does not touch the kept one
    assert torch.equal(ds.__getitems__([1])[0]["flow"], first[1]["flow"])
