"""Broken dataset files a user may have: a non-UTF-8 byte, an absurd coordinate, a body without an id.

Each gives one ``FormatError`` naming the file and the row (or body), is skipped and reported with
``strict=False``, and never stops ``check_dataset`` before its report.
"""

import json
import shutil
import warnings
from pathlib import Path

import pytest

from posegen_lite.data.real.check import check_dataset
from posegen_lite.data.real.panoptic import PanopticConfig, PanopticDataset
from posegen_lite.data.real.panoptic_format import read_panoptic_bodies
from posegen_lite.data.real.pg2_format import FormatError, read_pg2_annotations, read_pg2_pairs

FIX = Path(__file__).parent / "fixtures"
PG2 = FIX / "pg2"
SEQ = FIX / "panoptic" / "171204_pose1_sample"
BODY = "hdPose3d_stage1_coco19/body3DScene_00000000.json"
LATIN1_ROW = b"0002_c1_caf\xe9.jpg: " + str([10] * 18).encode() + b": " + str([10] * 18).encode() + b"\n"


def _market(tmp_path: Path) -> Path:
    root = tmp_path / "market"
    shutil.copytree(PG2, root)
    return root


def test_a_latin1_byte_in_an_annotation_row_names_the_file_and_row(tmp_path):
    root = _market(tmp_path)
    csv = root / "market-annotation-test.csv"
    with open(csv, "ab") as f:
        f.write(LATIN1_ROW)  # line 4, after the header and two good rows
    with pytest.raises(FormatError, match=r"market-annotation-test\.csv:4: .*UTF-8"):
        read_pg2_annotations(csv)
    with pytest.warns(UserWarning, match=r"market-annotation-test\.csv:4: .*UTF-8"):
        rows = read_pg2_annotations(csv, strict=False)
    assert list(rows) == ["0001_c1s1_000151_01.jpg", "0001_c3s1_000201_02.jpg"]  # the good rows survive


def test_a_latin1_byte_in_the_header_or_a_pairs_row_names_the_file_and_row(tmp_path):
    bad_header = tmp_path / "header.csv"
    bad_header.write_bytes(b"n\xe4me:keypoints_y:keypoints_x\n")
    with pytest.raises(FormatError, match=r"header\.csv:1: .*UTF-8"):
        read_pg2_annotations(bad_header, strict=False)
    pairs = tmp_path / "pairs.csv"
    pairs.write_bytes(b"from,to\na.jpg,b.jpg\ncaf\xe9.jpg,b.jpg\n")
    with pytest.raises(FormatError, match=r"pairs\.csv:3: .*UTF-8"):
        read_pg2_pairs(pairs)


def test_check_data_reports_a_latin1_byte_and_finishes(tmp_path):
    root = _market(tmp_path)
    with open(root / "market-annotation-test.csv", "ab") as f:
        f.write(LATIN1_ROW)
    with open(root / "market-pairs-test.csv", "ab") as f:
        f.write(b"caf\xe9.jpg,0001_c1s1_000151_01.jpg\n")
    report = check_dataset("market", root, splits=("test",))
    text = str(report)
    assert not report.ok
    assert "market-annotation-test.csv:4:" in text and "market-pairs-test.csv:4:" in text
    assert any("2 annotated images" in line for line in report.found)  # the report went on past both files
    assert any("images readable" in line for line in report.found)


@pytest.mark.parametrize("value", ["1e300", "1e39", str(10**400), "1e400"])
def test_an_absurd_coordinate_is_refused_with_its_row(tmp_path, value):
    csv = tmp_path / "market-annotation-test.csv"
    ys = ", ".join(["30"] * 17 + [value])
    csv.write_text(f"name:keypoints_y:keypoints_x\nx.jpg: [{ys}]: {[10] * 18}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered in cast" on the way
        with pytest.raises(FormatError, match=r"market-annotation-test\.csv:2: .*keypoints_y"):
            read_pg2_annotations(csv)
        with pytest.warns(UserWarning, match=r"\.csv:2: "):
            assert read_pg2_annotations(csv, strict=False) == {}


def test_check_data_names_the_row_of_an_absurd_coordinate(tmp_path):
    root = _market(tmp_path)
    with open(root / "market-annotation-test.csv", "a") as f:
        f.write(f"0002_c1_x.jpg: {[1e300] + [10] * 17}: {[10] * 18}\n")
    report = check_dataset("market", root, splits=("test",))
    assert any(p.startswith(f"{root / 'market-annotation-test.csv'}:4:") for p in report.problems), str(report)
    assert not any("overflow" in p for p in report.problems)


def _panoptic_with(tmp_path: Path, edit) -> Path:
    seq = tmp_path / SEQ.name
    shutil.copytree(SEQ, seq)
    data = json.loads((seq / BODY).read_text())
    edit(data["bodies"][0])
    (seq / BODY).write_text(json.dumps(data))
    return seq


@pytest.mark.parametrize("bad_id", [None, "zero", 1.5, True])
def test_a_panoptic_body_without_an_integer_id_names_the_file_and_body(tmp_path, bad_id):
    seq = _panoptic_with(tmp_path, lambda body: body.update(id=bad_id))
    with pytest.raises(FormatError, match=r"body3DScene_00000000\.json: bodies\[0\]: .*id"):
        read_panoptic_bodies(seq / BODY)
    report = check_dataset("panoptic", seq)
    assert any("body3DScene_00000000.json: bodies[0]" in p for p in report.problems), str(report)
    with pytest.raises(FormatError, match=r"bodies\[0\]"):
        PanopticDataset(PanopticConfig(seq))


def test_a_panoptic_coordinate_beyond_float32_is_refused(tmp_path):
    seq = _panoptic_with(tmp_path, lambda body: body["joints19"].__setitem__(0, 1e300))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FormatError, match=r"body3DScene_00000000\.json: bodies\[0\]: .*1e\+300"):
            read_panoptic_bodies(seq / BODY)
    report = check_dataset("panoptic", seq)
    assert any("bodies[0]" in p for p in report.problems) and not any("overflow" in p for p in report.problems)
