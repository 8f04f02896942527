"""The dataset layout validator: what is there, what is missing, which rows and files are bad."""

import shutil
from pathlib import Path

import pytest

from posegen_lite.data.real.check import check_dataset

FIX = Path(__file__).parent / "fixtures"
PG2 = FIX / "pg2"
BAD = FIX / "bad"
SEQ = FIX / "panoptic" / "171204_pose1_sample"


def test_fixtures_pass_for_the_splits_they_have():
    for kind in ("market", "fashion"):
        report = check_dataset(kind, PG2, splits=("test",))
        assert report.ok, str(report)
        assert any("2 pairs" in line for line in report.found)
    report = check_dataset("panoptic", SEQ)
    assert report.ok and any("3 hd cameras" in line for line in report.found)
    assert str(report).startswith(f"panoptic dataset at {SEQ}: OK")


def test_missing_split_files_are_listed():
    report = check_dataset("market", PG2)  # only the test split exists
    assert not report.ok
    assert any("train: annotation CSV (market-annotation-train.csv)" in m for m in report.missing)
    assert any("train: pairs CSV" in m for m in report.missing)
    assert not any(m.startswith("test:") for m in report.missing)


def test_bad_rows_images_and_pairs_are_reported_not_raised(tmp_path):
    root = tmp_path / "market"
    shutil.copytree(PG2, root)
    rows = (BAD / "annotation-bad-rows.csv").read_text().splitlines()[1:]
    with open(root / "market-annotation-test.csv", "a") as f:
        f.write("\n".join(rows) + "\n0002_c1_x.jpg: " + str([1] * 18) + ": " + str([1] * 18) + "\n")
    shutil.copy(BAD / "pairs-unknown-image.csv", root / "market-pairs-test.csv")
    (root / "market" / "0001_c1s1_000151_01.jpg").unlink()
    shutil.copy(BAD / "truncated.jpg", root / "market" / "0001_c3s1_000201_02.jpg")
    shutil.copy(BAD / "wrong_size.jpg", root / "market" / "0002_c1_x.jpg")
    report = check_dataset("market", root, splits=("test",))
    text = str(report)
    assert not report.ok
    for line in range(4, 9):  # the five bad rows, after the fixture's header and two good rows
        assert f"market-annotation-test.csv:{line}:" in text
    assert "market-pairs-test.csv:2:" in text and "does_not_exist.jpg" in text
    # The removed image, and the out-of-range row's image (which never existed).
    absent = "0001_c1s1_000151_01.jpg, outofrange.jpg"
    assert any("2 annotated images not in" in m and absent in m for m in report.missing)
    assert any("unreadable" in p and "0001_c3s1_000201_02.jpg" in p for p in report.problems)
    assert any("will be resized" in n and "0002_c1_x.jpg (100×77)" in n for n in report.notes)


def test_wrong_separator_and_panoptic_problems(tmp_path):
    root = tmp_path / "m"
    root.mkdir()
    shutil.copy(BAD / "annotation-wrong-separator.csv", root / "market-annotation-test.csv")
    report = check_dataset("market", root, splits=("test",))
    assert any("separator must be ':'" in p for p in report.problems)
    seq = tmp_path / "171204_pose1_sample"
    shutil.copytree(SEQ, seq)
    shutil.copy(BAD / "body3DScene_bad.json", seq / "hdPose3d_stage1_coco19" / "body3DScene_00000001.json")
    shutil.rmtree(seq / "hdImgs" / "00_10")
    report = check_dataset("panoptic", seq)
    assert any("body3DScene_00000001.json" in p and "not valid JSON" in p for p in report.problems)
    assert any("00_00_00000001.jpg" in m for m in report.missing)
    assert any("for 2 cameras" in f for f in report.found)
    assert not check_dataset("panoptic", tmp_path / "nowhere").ok
    with pytest.raises(ValueError, match="unknown dataset kind"):
        check_dataset("coco", tmp_path)
