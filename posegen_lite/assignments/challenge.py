"""The challenge (the fifth assignment): train G1, optionally G2, under a time budget; submit the exported weights.

* **The hidden split**: the ``test`` split of the synthetic data under a secret seed (``new_split``), drawn when
  ``posegen assignments build`` runs and written only into the autograder (``challenge.zip``), never into the
  student build: the students' people come from the public seed 0, the graded ones from a seed nobody saw.
* **The score**: the evaluation protocol's lead number, the L1 inside the target body mask (``evaluation.protocol``;
  lower is better), beside the identity baseline's on the same pairs and the ratio of the two with its interval
  over resampled people (``evaluation.uncertainty``). bbox-SSIM is reported, not ranked.
* **The rules** (``check_rules``): a posegen_lite checkpoint with a G1 making 64×64 images, trained within the
  track's budget (``BUDGET_MINUTES``: the training's ``max_minutes`` or the time ``export_submission`` recorded).
* **Grading** (``grade_challenge``; ``posegen assignments grade --challenge``): a leaderboard CSV and a report per
  student. A bad submission is one line in its row and never stops the others.
"""

from __future__ import annotations

import csv
import json
import math
import secrets
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posegen_lite.evaluation.predictors import IdentityBaseline, checkpoint_predictors
from posegen_lite.evaluation.protocol import EvalResult, evaluate, sample_indices
from posegen_lite.evaluation.uncertainty import RatioInterval, ratio_interval
from posegen_lite.models.checkpoints import load_checkpoint
from posegen_lite.models.weights import export_weights

NAME = "challenge"
SIZE = (64, 64)  # (height, width) of every submission: one size, so one hidden split and one identity baseline
BUDGET_MINUTES = {"cpu": 10.0, "gpu": 15.0}  # training time, G1 and G2 together (docs/teaching.md, "Challenge")
TRACK_OF_TIER = {"fast": "cpu", "cpu": "cpu", "colab": "gpu", "full": "gpu"}  # app/tiers.py's names
GRACE = 1.1  # ``max_minutes`` stops after the step that crosses it, then writes a checkpoint
MAX_FILE_MB = 200.0  # far above any 64×64 G1 + G2 (the shipped pair is 3.9 MB); refused unread beyond
SPLIT_IN_ZIP = "challenge/split.json"  # where the autograder zip keeps the hidden split
PUBLIC_SEED = 0  # the data seed students train and validate on


@dataclass(frozen=True)
class HiddenSplit:
    """Which held-out pairs are scored: ``views`` pairs of each of ``people`` synthetic people of the ``test``
    split under data ``seed`` (the secret), ``SIZE`` images with the extras a warping G1 reads."""

    seed: int
    people: int = 64
    views: int = 4

    def dataset(self):
        """The split as a ``SyntheticPairs`` dataset (rendered on access)."""
        from posegen_lite.data.synthetic.dataset import SyntheticPairs
        from posegen_lite.data.synthetic.pairs import SyntheticConfig

        config = SyntheticConfig(size=SIZE, test_people=self.people, views_per_person=self.views, seed=self.seed)
        return SyntheticPairs(config, "test", extras=True)

    def to_json(self) -> str:
        return json.dumps({"seed": self.seed, "people": self.people, "views": self.views})


def new_split(seed: int | None = None, people: int = 64, views: int = 4) -> HiddenSplit:
    """A hidden split; ``seed=None`` draws a fresh secret one (never the public seed)."""
    while seed is None or seed == PUBLIC_SEED:
        seed = 10**6 + secrets.randbelow(2**31 - 10**6)
    return HiddenSplit(int(seed), people, views)


def write_split(autograder: str | Path, split: HiddenSplit) -> Path:
    """Add ``split`` to the autograder zip (created if absent) as ``SPLIT_IN_ZIP``. ``ValueError`` if the zip
    has one already: replacing it would change the graded people in the middle of a course."""
    autograder = Path(autograder)
    autograder.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(autograder, "a", zipfile.ZIP_DEFLATED) as z:
        if SPLIT_IN_ZIP in z.namelist():
            raise ValueError(f"{autograder} already holds a hidden split; build the challenge into a new folder")
        z.writestr(SPLIT_IN_ZIP, split.to_json())
    return autograder


def read_split(autograders: str | Path) -> HiddenSplit:
    """The hidden split of ``autograders/challenge.zip`` (or of the zip given itself). ``FileNotFoundError``
    naming the command that makes it when there is none."""
    path = Path(autograders)
    path = path / f"{NAME}.zip" if path.is_dir() else path
    try:
        with zipfile.ZipFile(path) as z:
            values = json.loads(z.read(SPLIT_IN_ZIP))
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        raise FileNotFoundError(
            f"no hidden split in {path} ({e}): make it with `posegen assignments build --only {NAME}`"
        ) from None
    return HiddenSplit(int(values["seed"]), int(values["people"]), int(values["views"]))


# --- what students call: export with the recorded time, score on the public validation split ----------------


def export_submission(checkpoint: str | Path, out: str | Path, track: str, train_seconds: float) -> Path:
    """Write the inference-only weights of ``checkpoint`` (file or run dir; G1, and G2 for a Stage III run) to
    ``out`` with the track and the measured training time (G1 and G2 together, seconds) in their metadata."""
    if track not in BUDGET_MINUTES:
        raise ValueError(f"unknown track {track!r}; expected one of {sorted(BUDGET_MINUTES)}")
    meta = {NAME: {"track": track, "train_seconds": float(train_seconds), "budget_minutes": BUDGET_MINUTES[track]}}
    return export_weights(checkpoint, out, meta=meta)


def validation_score(weights: str | Path, limit: int | None = 128, track: str = "cpu") -> Entry:
    """Score ``weights`` exactly as the grading does, on the public validation split (other people than the
    hidden ones): what to tune against. ``limit``: pairs, evenly spaced over the split's 320."""
    from posegen_lite.data.datasets import DataSpec, build_dataset

    dataset = build_dataset(DataSpec(size=SIZE, people=400, views=8, seed=PUBLIC_SEED, extras=True), "val")
    samples = render(dataset, limit)
    identity = score_identity(samples)
    return score_entry(Entry(Path(weights).stem, Path(weights), track), samples, identity)


# --- scoring --------------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One submission's row of the leaderboard. ``score``: mean L1 in the target body (lower is better);
    ``ratio``: over the identity baseline's, with its interval; ``budget_minutes``: the training's declared
    ``max_minutes``; ``train_minutes``: the time ``export_submission`` recorded; ``violation``: why it is not
    ranked (empty when it is)."""

    student: str
    path: Path | None
    track: str
    scored: str = ""
    score: float = math.nan
    identity: float = math.nan
    bbox_ssim: float = math.nan
    ratio: RatioInterval | None = None
    steps: int | None = None
    budget_minutes: float | None = None
    train_minutes: float | None = None
    violation: str = ""
    rank: int | None = None

    def __str__(self) -> str:
        if self.violation:
            return f"{self.student}: not ranked — {self.violation}"
        where = f"rank {self.rank}: " if self.rank else ""
        return (
            f"{where}{self.student}: L1 in the body {self.score:.4f} (identity {self.identity:.4f}; "
            f"{self.ratio}), bbox-SSIM {self.bbox_ssim:.3f}, {self.scored}"
        )


def render(dataset, limit: int | None = None) -> list[dict]:
    """The pair samples scored (``limit`` evenly spaced, ``protocol.sample_indices``), rendered once for all."""
    return [dataset[i] for i in sample_indices(len(dataset), limit)]


def _evaluate(predictors: dict, samples: list[dict]) -> EvalResult:
    """``protocol.evaluate`` without its warning about undefined region values (NaN, e.g. a hand out of view):
    they are not the score, and one warning per submission would drown the leaderboard's lines."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"evaluate .*undefined metric values", category=RuntimeWarning)
        return evaluate(predictors, samples, progress=False, split=NAME)


def score_identity(samples: list[dict]) -> EvalResult:
    """The identity baseline (``I_B ≈ I_A``) on ``samples``, through the protocol."""
    return _evaluate({"identity": IdentityBaseline()}, samples)


def check_rules(entry: Entry) -> dict | None:
    """Load ``entry``'s file and check the rules; fills ``violation`` (one line) and the recorded budget and
    time. Returns the checkpoint state when the weights may be scored, else ``None``."""
    path = entry.path
    if path is None or not path.is_file():
        entry.violation = f"missing file: no weights submitted ({path or 'nothing'})"
        return None
    if path.stat().st_size > MAX_FILE_MB * 2**20:
        entry.violation = f"file too large: {path.stat().st_size / 2**20:.0f} MB (at most {MAX_FILE_MB:g} MB)"
        return None
    try:
        state = load_checkpoint(path)
    except Exception as e:  # CheckpointError for every bad file; anything else is still one line
        entry.violation = f"not a usable checkpoint: {_first_line(e)}"
        return None
    configs = state["model_configs"]
    if "g1" not in configs:
        entry.violation = f"format: no G1 in the checkpoint (it holds {sorted(configs)})"
        return None
    size = (configs["g1"].get("height"), configs["g1"].get("width"))
    if size != SIZE:
        entry.violation = f"wrong size: its G1 makes {size[0]}×{size[1]} images; the challenge is {SIZE[0]}×{SIZE[1]}"
        return None
    entry.steps = int(state["step"])
    _check_budget(entry, state)
    return None if entry.violation else state


def _check_budget(entry: Entry, state: dict) -> None:
    recorded = (state.get("meta") or {}).get(NAME) or {}
    declared = state["config"].get("max_minutes")
    entry.budget_minutes = float(declared) if declared is not None else None
    if "train_seconds" in recorded:
        entry.train_minutes = float(recorded["train_seconds"]) / 60.0
    entry.violation = _budget_violation(entry, recorded.get("track", entry.track), state["stage"])


def _budget_violation(entry: Entry, track: str, stage: int) -> str:
    """Why ``entry`` breaks the budget rule, or ``""``: the recorded time counts; without one, a G1's
    ``max_minutes`` does (a G1+G2 file's config holds G2's alone, so it must record its time)."""
    budget = BUDGET_MINUTES[entry.track]
    limit = f"the {entry.track} track: {budget:g}"
    if track != entry.track:
        return f"trained for the {track} track, graded on the {entry.track} track"
    if entry.train_minutes is not None:
        over = entry.train_minutes > budget * GRACE
        return f"over budget: trained {entry.train_minutes:.1f} min ({limit})" if over else ""
    if stage == 3:
        return "budget: a G1+G2 file must record its training time (export it with export_submission)"
    if entry.budget_minutes is None:
        return f"budget: no training time recorded and no max_minutes ({limit})"
    return f"over budget: max_minutes {entry.budget_minutes:g} ({limit})" if entry.budget_minutes > budget else ""


def score_entry(entry: Entry, samples: list[dict], identity: EvalResult, device: str = "cpu") -> Entry:
    """Check ``entry``'s rules, then score its networks (G1+G2 when it has a G2, else G1) on ``samples`` with the
    protocol, against ``identity`` (``score_identity`` of the same samples). Never raises for a bad file."""
    state = check_rules(entry)
    if state is None:
        return entry
    base = identity.per_sample["identity"]["masked_l1"]
    try:
        predictors = checkpoint_predictors(entry.path, device=device)
        entry.scored = list(predictors)[-1]
        result = _evaluate({entry.scored: predictors[entry.scored]}, samples)
    except Exception as e:  # a network that fails on the data is that student's row, not the end of grading
        entry.violation = f"could not be scored: {_first_line(e)}"
        return entry
    values = result.per_sample[entry.scored]["masked_l1"]
    broken = int((~np.isfinite(values) & np.isfinite(base)).sum())
    if broken:  # a NaN would be left out of the mean: predicting NaN on hard pairs must not pay
        entry.violation = f"non-finite predictions on {broken} of {len(values)} pairs"
        return entry
    entry.score = float(np.nanmean(values))
    entry.identity = float(np.nanmean(base))
    entry.bbox_ssim = result.mean(entry.scored, "bbox_ssim")
    entry.ratio = ratio_interval(values, base, identity.meta["person_id"])
    return entry


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def rank(entries: list[Entry]) -> list[Entry]:
    """Rank the entries without a violation by score (then bbox-SSIM, then name); the others follow, unranked."""
    valid = sorted((e for e in entries if not e.violation), key=lambda e: (e.score, -e.bbox_ssim, e.student))
    for i, e in enumerate(valid, start=1):
        e.rank = i
    return valid + sorted((e for e in entries if e.violation), key=lambda e: e.student)


# --- the submissions, the leaderboard, the reports -------------------------------------------------------------


def find_entries(paths, track: str) -> list[Entry]:
    """One entry per student: a file is one student's (its name without suffix); a folder holds submissions —
    its files are students' files, its sub-folders students' folders, each with one ``.pt`` file. A path that
    does not exist, or a student's folder without a ``.pt``, is a "missing file" entry; a name twice, a violation."""
    if track not in BUDGET_MINUTES:
        raise ValueError(f"unknown track {track!r}; expected one of {sorted(BUDGET_MINUTES)}")
    entries = []
    for p in map(Path, paths):
        if not p.is_dir():
            entries.append(Entry(p.stem, p, track))
            continue
        for item in sorted(q for q in p.iterdir() if not q.name.startswith(".")):
            if item.is_file():
                entries.append(Entry(item.stem, item, track))
                continue
            weights = sorted(item.rglob("*.pt"))
            if len(weights) > 1:
                entries.append(Entry(item.name, None, track, violation=f"{len(weights)} .pt files: submit one"))
            else:
                entries.append(Entry(item.name, weights[0] if weights else item / "weights.pt", track))
    names = [e.student for e in entries]
    for e in entries:
        if names.count(e.student) > 1:  # alice.pt beside alice/: which one counts is the student's to say
            e.violation = f"{names.count(e.student)} submissions named {e.student!r}: submit one"
    return entries


COLUMNS = ("rank", "student", "score", "identity", "ratio", "ratio_low", "ratio_high", "bbox_ssim", "scored",
           "steps", "budget_minutes", "train_minutes", "track", "violation", "file")  # fmt: skip


def _cells(e: Entry) -> list[object]:
    def num(x: float | None, digits: int = 4) -> str:
        return "" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"

    r = e.ratio
    return [e.rank or "", e.student, num(e.score), num(e.identity), num(r and r.ratio), num(r and r.low),
            num(r and r.high), num(e.bbox_ssim), e.scored, "" if e.steps is None else e.steps,
            num(e.budget_minutes, 1), num(e.train_minutes, 1), e.track, e.violation, e.path or ""]  # fmt: skip


def write_leaderboard(entries: list[Entry], csv_path: str | Path) -> Path:
    """The leaderboard: one row per entry in ``rank`` order, columns ``COLUMNS`` (score = L1 in the body)."""
    csv_path = Path(csv_path)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(_cells(e) for e in entries)
    return csv_path


def report(entry: Entry, ranked: int, pairs: int, people: int) -> str:
    """The student's report as markdown: the rank, the score against the identity baseline, or the violation."""
    lines = [f"# {NAME} — {entry.student}", ""]
    if entry.violation:
        return "\n".join([*lines, f"Your submission was not ranked: {entry.violation}.", ""])
    budget = f"declared max_minutes {entry.budget_minutes:g}" if entry.budget_minutes is not None else ""
    time = f"recorded training time {entry.train_minutes:.1f} min" if entry.train_minutes is not None else ""
    lines += [
        f"**Rank {entry.rank} of {ranked}** on the {entry.track} track "
        f"(budget {BUDGET_MINUTES[entry.track]:g} min; {', '.join(filter(None, [budget, time])) or 'no time'}).",
        "",
        f"Scored: {entry.scored} after {entry.steps} steps, on {pairs} held-out pairs of {people} people.",
        "",
        "| | L1 in the body ↓ | bbox-SSIM ↑ |",
        "| --- | --: | --: |",
        f"| yours | {entry.score:.4f} | {entry.bbox_ssim:.3f} |",
        f"| identity baseline (returns I_A) | {entry.identity:.4f} | |",
        "",
        f"Ratio to the identity baseline: {entry.ratio}.",
        "",
    ]
    return "\n".join(lines)


def grade_challenge(
    submissions,
    autograders: str | Path,
    csv_path: str | Path,
    track: str = "cpu",
    limit: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> list[Entry]:
    """Score every submission (``find_entries``) on the hidden split of ``autograders/challenge.zip``, rank
    them, write the leaderboard ``csv_path`` and ``<csv stem>_reports/<student>.md``; return the entries in
    rank order. ``limit``: score only that many pairs of the split (evenly spaced)."""
    from tqdm.auto import tqdm

    entries = find_entries(submissions, track)
    if not entries:
        raise FileNotFoundError("no challenge submissions found")
    split = read_split(autograders)
    samples = render(split.dataset(), limit)
    identity = score_identity(samples)
    for e in tqdm(entries, desc="scoring", unit="submission", disable=not progress):
        if not e.violation:
            score_entry(e, samples, identity, device=device)
    entries = rank(entries)
    write_leaderboard(entries, csv_path)
    reports = Path(csv_path).with_name(f"{Path(csv_path).stem}_reports")
    reports.mkdir(parents=True, exist_ok=True)
    ranked = sum(e.rank is not None for e in entries)
    people = len(set(identity.meta["person_id"]))
    for e in entries:
        (reports / f"{e.student}.md").write_text(report(e, ranked, len(samples), people), encoding="utf-8")
    return entries
