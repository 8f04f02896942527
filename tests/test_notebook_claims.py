"""The notebooks' text agrees with the shipped weights: what they say about the model's image size, G1's warp
(whether it pastes the input's pixels), the discriminator's normalisation and λ is checked against the weights'
own metadata, read from the file (docs/notebooks.md: the notebooks read settings from the weights)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from posegen_lite.models.checkpoints import resolve_checkpoint
from posegen_lite.resources import demo_weights
from posegen_lite.training.config import TrainConfig

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@dataclass(frozen=True)
class Facts:
    """What the shipped weights are: image ``size`` ``(height, width)`` px, G1's ``warp`` mode, D's ``d_norm``
    and ``d_spectral`` (spectral normalisation), and the ``lambda_l1`` G2 was trained with."""

    size: tuple[int, int]
    warp: str
    d_norm: str
    d_spectral: bool
    lambda_l1: float


def shipped_facts(weights: Path | None = None) -> Facts:
    """The ``Facts`` of ``weights`` (default: the shipped demo weights), from the checkpoint's stored configs."""
    _, state = resolve_checkpoint(demo_weights() if weights is None else weights)
    g1 = state["model_configs"]["g1"]
    cfg = TrainConfig.from_dict(dict(state["config"]))  # an older, flat config is read too
    disc = cfg.disc_config()
    return Facts((g1["height"], g1["width"]), g1["warp"], disc.norm, disc.spectral_norm, float(cfg.lambda_l1))


def _sentences(markdown: str) -> list[str]:
    """The markdown's sentences, each on one line (a claim may span the notebook's line breaks)."""
    text = re.sub(r"\s+", " ", markdown)
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z$`*(])", text) if s]


SIZE = r"(\d{2,4})\s*[×x]\s*(\d{2,4})"
# "the 64×64 model", "64×64 demo weights"; "the demo model was trained on 64×64 …"
SIZE_CLAIMS = (
    re.compile(SIZE + r"\s+(?:demo\s+|shipped\s+|single-person\s+)?(?:model|weights)\b"),
    re.compile(r"\b(?:demo|shipped)\s+(?:model|weights|G1|G2)\b[^.;]*?\btrained\b[^.;]*?" + SIZE),
)
NO_COPY = re.compile(r"\b(?:never|does not|doesn't|cannot|can't) cop(?:y|ies) (?:any |the input's )?pixels", re.I)
PG2_G1 = re.compile(r"PG2|warp\s*=\s*[\"']none[\"']")
D_BATCH_NORM = re.compile(r"(?:\$D\$|\bD\b|discriminator)\s+(?:is|has|uses)\b[^;]*?\bbatch[- ]?norm", re.I)
NEGATED_BATCH_NORM = re.compile(r"\b(?:no|without|not|instead of)\s+(?:a\s+)?batch[- ]?norm", re.I)
LAMBDA_VALUE = re.compile(r"(?:lambda_l1[\"']?\s*[:=]\s*|λ\s*=\s*|\\lambda\s*=\s*)(\d+(?:\.\d+)?)\b")


def false_claims(markdown: str, facts: Facts, try_this: bool = False) -> list[str]:
    """Each sentence of ``markdown`` that contradicts ``facts``, with why. ``try_this``: the markdown is a
    "Try this" cell, where a λ to try that equals the shipped λ changes nothing (it is the default)."""
    found = []
    for s in _sentences(markdown):
        for pattern in SIZE_CLAIMS:
            for m in pattern.finditer(s):
                size = (int(m.group(1)), int(m.group(2)))
                if size != facts.size:
                    found.append(
                        f"calls the model {size[0]}×{size[1]}; the weights are {facts.size[0]}×{facts.size[1]}: {s}"
                    )
        if facts.warp != "none" and NO_COPY.search(s) and not PG2_G1.search(s):
            found.append(f"says G1 copies no pixels; the shipped G1 has warp={facts.warp!r}: {s}")
        if facts.d_norm != "batch" and D_BATCH_NORM.search(s) and not NEGATED_BATCH_NORM.search(s):
            kind = "spectral norm" if facts.d_spectral else f"norm={facts.d_norm!r}"
            found.append(f"gives D batch norm; the shipped D uses {kind}: {s}")
        if try_this:
            for m in LAMBDA_VALUE.finditer(s):
                if float(m.group(1)) == facts.lambda_l1:
                    found.append(f"offers λ = {m.group(1)} to try; it is the shipped λ (the default): {s}")
    return found


def _markdown_cells(path: Path) -> list[tuple[int, str]]:
    return [(i, c.source) for i, c in enumerate(nbformat.read(path, as_version=4).cells) if c.cell_type == "markdown"]


@pytest.fixture(scope="module")
def facts() -> Facts:
    return shipped_facts()


def test_facts_are_what_the_package_loads(facts):
    """The facts come from the weights the notebooks load: the synthesizer built from them has their size and
    warp, and D's normalisation is one the discriminator knows."""
    from posegen_lite.models.discriminator import NORMS
    from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer

    synth = NovelViewSynthesizer.from_checkpoint(demo_weights())
    assert (synth.height, synth.width) == facts.size
    assert synth.g1.config.warp == facts.warp
    assert facts.d_norm in NORMS and isinstance(facts.d_spectral, bool) and facts.lambda_l1 > 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_text_agrees_with_the_weights(path, facts):
    bad = [
        f"cell {i}: {claim}"
        for i, source in _markdown_cells(path)
        for claim in false_claims(source, facts, try_this=source.lstrip().startswith("### Try this"))
    ]
    assert not bad, f"{path.name} contradicts the shipped weights:\n" + "\n".join(bad)


def test_the_check_catches_planted_wrong_statements(facts):
    """Each kind of wrong statement, written against the weights' facts, is caught; the true ones pass."""
    h, w = facts.size
    wrong_size = f"{h // 2}×{w}" if h != w else f"{h}×{w * 2}"
    planted = {
        "size": f"Crop each person so the {wrong_size}\n model sees what it was trained on.",
        "size, trained": f"The demo model was trained on {wrong_size} synthetic full bodies, so a photo fails.",
        "lambda": f"Then try `lambda_l1={facts.lambda_l1:g}`: $G_2$ hardly changes $G_1$'s picture.",
    }
    for name, text in planted.items():
        assert false_claims(text, facts, try_this=True), f"missed the planted {name} claim: {text!r}"
    true = [
        f"The demo model was trained on synthetic full bodies at {h}×{w} (the shipped weights' size).",
        f"Then try ten times the shipped λ, `lambda_l1={10 * facts.lambda_l1:g}`.",
        'PG2\'s own $G_1$ (`warp="none"`) never copies pixels.',
        "A $4×4$ stride-2 convolution; the images are 256×256.",
    ]
    for text in true:
        assert not false_claims(text, facts, try_this=True), text


def test_the_warp_and_norm_claims_follow_the_weights(facts):
    """The G1 and D claims are judged by the weights' facts, not by fixed words: the same sentence is wrong for
    a pasting G1 / a spectral-norm D and right for PG2's plain G1 / a batch-norm D."""
    import dataclasses

    copies = "No. $G_1$ never copies pixels: it re-paints the person through a bottleneck."
    d_batch = "$D$ is a DCGAN classifier: 4×4 stride-2 convolutions, batch norm after the first, LeakyReLU(0.2)."
    pasting = dataclasses.replace(facts, warp="paste", d_norm="none", d_spectral=True)
    plain = dataclasses.replace(facts, warp="none", d_norm="batch", d_spectral=False)
    assert any("warp='paste'" in c for c in false_claims(copies, pasting))
    assert any("spectral norm" in c for c in false_claims(d_batch, pasting))
    assert false_claims(copies, plain) == [] and false_claims(d_batch, plain) == []
    assert false_claims("(This D has no batch norm: its statistics need a long run.)", pasting) == []
