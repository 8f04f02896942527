"""show_source: the notebooks display the library's real code, with where it lives."""

from __future__ import annotations

from pathlib import Path

from posegen_lite.app.source import Source, show_source
from posegen_lite.training.losses import masked_l1
from posegen_lite.training.steps import Stage3


def test_show_source_of_a_function():
    src = show_source(masked_l1)
    assert isinstance(src, Source)
    assert src.code.startswith("def masked_l1(") and "(1.0 + mask.float())" in src.code
    assert src.where == "posegen_lite/training/losses.py" and src.line > 1
    md = src._repr_markdown_()
    assert md.startswith("`posegen_lite/training/losses.py`, line") and "```python\ndef masked_l1(" in md
    assert repr(src).startswith("# posegen_lite/training/losses.py")


def test_show_source_without_docstring_and_of_a_method():
    full, short = show_source(masked_l1), show_source(masked_l1, docstring=False)
    assert '"""' in full.code and '"""' not in short.code
    assert short.code.splitlines()[0] == full.code.splitlines()[0]
    assert short.code.rstrip().endswith(full.code.rstrip().splitlines()[-1].strip())
    d_step = show_source(Stage3._d_step)
    assert d_step.code.startswith("def _d_step(") and "fake.detach()" in d_step.code  # dedented method


def test_show_source_of_a_decorated_method_names_its_own_file():
    from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

    src = show_source(NovelViewSynthesizer.networks)  # wrapped by @torch.no_grad()
    assert src.where == "posegen_lite/pipelines/synthesizer.py"
    lines = (Path(__file__).parents[1] / src.where).read_text().splitlines()
    assert lines[src.line - 1].strip() == "@torch.no_grad()" and "def networks(" in src.code
