"""Checkpoints that survive crashes: atomic writes, the last K kept, the newest *loadable* one found.

A checkpoint is one ``torch.save`` file ``ckpt_<step:08d>.pt`` holding plain data only, loaded with
``torch.load(weights_only=True)``: ``{"format": FORMAT, "stage": 2 | 3, "step": int, "config": dict,
"model_configs": {name: dict}, "models": {name: state_dict}, "optimizers": {name: state_dict}, "scaler": …,
"rng": {"torch": ByteTensor, "cuda": [...]}, "history": [dict, ...], "checksum_version": 2, "checksum": str}``.

Writing goes to a temporary file in the same directory, flushed, then renamed over the final name: a crash or
a full disk mid-write leaves the previous checkpoints untouched (a full disk is one ``CheckpointError`` line).
``"checksum"`` is a CRC-32 of *everything* else in the file (``state_checksum``), so a file damaged or edited
on disk is refused. Files from before (``checksum_version`` absent, e.g. the shipped ``assets/*.pt``) had a
checksum of their tensors only (``tensor_checksum``) or none, and still load. Loading also checks the structure
and sizes (``check_structure``) before any network is built, so every bad file is one line naming it.
"""

from __future__ import annotations

import inspect
import math
import os
import pickle
import re
import tempfile
import warnings
import zlib
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

FORMAT = "posegen_lite/checkpoint-v1"
CHECKSUM_VERSION = 2  # 2: the checksum covers configs and metadata too; absent: tensors only (older files)
_NAME = re.compile(r"^ckpt_(\d{8})\.pt$")
_TEMPORARY = re.compile(r"^ckpt_\d{8}\.pt\..*\.tmp$")  # what save_atomic's mkstemp names look like
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive (since PyTorch 1.6)
_PICKLE_MAGIC = b"\x80"  # the legacy (pre-1.6) format starts with a pickle protocol opcode


class CheckpointError(RuntimeError):
    """A checkpoint file that cannot be used (corrupt, truncated, or not a posegen_lite checkpoint)."""


class CheckpointWriteError(CheckpointError, OSError):
    """A checkpoint that could not be written (disk full, read-only, gone): an ``OSError`` too, as what it reports."""


def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / f"ckpt_{step:08d}.pt"


def save_atomic(state: dict, path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file + fsync + rename).

    A failing disk (full, read-only, gone) raises one ``CheckpointError`` line naming ``path`` and the reason;
    ``path`` and every other file in its folder stay as they were, and no temporary file is left."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise CheckpointWriteError(f"{path}: cannot create the checkpoint file ({err.strerror or err})") from err
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); give it the permissions a normal file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as err:
        # Whatever went wrong (disk full, Ctrl-C, a crash in torch.save), the old files stay as they were.
        Path(tmp).unlink(missing_ok=True)
        cause = _os_error(err) if isinstance(err, Exception) else None  # Ctrl-C stays Ctrl-C
        if cause is None:
            raise
        # torch.save wraps the disk's OSError in a RuntimeError ("unexpected pos …"): name the real reason.
        raise CheckpointWriteError(
            f"{path}: could not write the checkpoint ({cause.strerror or cause}); the files already in "
            f"{path.parent} are untouched"
        ) from err
    return path


def _os_error(err: BaseException) -> OSError | None:
    """The ``OSError`` behind ``err`` (itself, or its cause/context), or None."""
    seen = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _tensors(obj: object, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    """Every tensor inside nested dicts/lists, with a path name, in a fixed order (dict keys sorted)."""
    if isinstance(obj, torch.Tensor):
        return [(prefix, obj)]
    if isinstance(obj, dict):
        items = sorted(obj.items(), key=lambda kv: str(kv[0]))
        return [t for k, v in items for t in _tensors(v, f"{prefix}/{k}")]
    if isinstance(obj, (list, tuple)):
        return [t for i, v in enumerate(obj) for t in _tensors(v, f"{prefix}/{i}")]
    return []


def tensor_checksum(state: dict) -> str:
    """CRC-32 (hex) over the names, shapes, dtypes and bytes of every tensor in ``state`` (except a
    ``"checksum"`` entry): the checksum of files written before ``CHECKSUM_VERSION`` 2."""
    crc = 0
    for name, t in _tensors({k: v for k, v in state.items() if k != "checksum"}):
        crc = zlib.crc32(f"{name}{tuple(t.shape)}{t.dtype}".encode(), crc)
        crc = _crc_tensor_bytes(t, crc)
    return f"{crc:08x}"


def state_checksum(state: dict) -> str:
    """CRC-32 (hex) over everything in ``state`` but its ``"checksum"`` entry: every key, number and string
    (configs, step, history, metadata) and every tensor's shape, dtype and bytes. Cheap next to writing the
    file (~1 GB/s). Lists and tuples count alike (a config's tuple may come back as a list)."""
    return f"{_crc_value({k: v for k, v in state.items() if k != 'checksum'}, 0):08x}"


def _crc_tensor_bytes(t: torch.Tensor, crc: int) -> int:
    data = t.detach().to("cpu").contiguous().reshape(-1)
    return zlib.crc32(data.view(torch.uint8).numpy().tobytes(), crc) if data.numel() else crc


def _crc_value(obj: object, crc: int) -> int:
    if isinstance(obj, torch.Tensor):
        return _crc_tensor_bytes(obj, zlib.crc32(f"T{tuple(obj.shape)}{obj.dtype}".encode(), crc))
    if isinstance(obj, dict):
        crc = zlib.crc32(f"D{len(obj)}".encode(), crc)
        for key, value in sorted(obj.items(), key=lambda kv: (type(kv[0]).__name__, str(kv[0]))):
            crc = _crc_value(value, zlib.crc32(f"K{type(key).__name__}:{key!r}".encode(), crc))
        return crc
    if isinstance(obj, (list, tuple)):
        crc = zlib.crc32(f"L{len(obj)}".encode(), crc)
        for value in obj:
            crc = _crc_value(value, crc)
        return crc
    return zlib.crc32(f"S{type(obj).__name__}:{obj!r}".encode(), crc)


def seal(state: dict) -> dict:
    """``state`` with the format tag, ``checksum_version`` and the checksum over all of it added (a new dict)."""
    sealed = {"format": FORMAT, **{k: v for k, v in state.items() if k != "checksum"}}
    sealed["checksum_version"] = CHECKSUM_VERSION
    sealed["checksum"] = state_checksum(sealed)
    return sealed


def _check_checksum(state: dict, path: Path) -> None:
    stored = state.get("checksum")
    if stored is None:
        return  # written before checksums existed (e.g. assets/pg2_64x64.pt)
    if state.get("checksum_version") == CHECKSUM_VERSION:
        ok = stored == state_checksum(state)
    elif "checksum_version" in state:
        raise CheckpointError(f"{path}: unknown checksum_version {state['checksum_version']!r} (a newer posegen_lite?)")
    else:  # older files: their tensors only (or, from models.weights.export_weights, everything)
        ok = stored in (tensor_checksum(state), state_checksum(state))
    if not ok:
        raise CheckpointError(
            f"{path}: corrupted or edited checkpoint: checksum mismatch (its weights, configs or metadata changed "
            "on disk after it was written)"
        )


def remove_temporary_files(run_dir: str | Path) -> list[Path]:
    """Delete the ``ckpt_*.pt.*.tmp`` files a process killed mid-write left in ``run_dir``; returns them."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    stale = [p for p in run_dir.iterdir() if _TEMPORARY.match(p.name) and p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def list_checkpoints(run_dir: str | Path) -> list[Path]:
    """The run's checkpoint files, oldest first (temporary files excluded)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    steps = {p: int(m.group(1)) for p in run_dir.iterdir() if (m := _NAME.match(p.name))}
    return sorted(steps, key=steps.__getitem__)


def save_checkpoint(state: dict, run_dir: str | Path, keep_last: int = 3) -> Path:
    """Save ``state`` (must hold ``"step"``) as the run's newest checkpoint and prune all but ``keep_last``."""
    if keep_last < 1:
        raise ValueError(f"keep_last must be ≥ 1, got {keep_last}")
    path = save_atomic(seal(state), checkpoint_path(run_dir, int(state["step"])))
    for old in list_checkpoints(run_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Load one checkpoint; raises ``CheckpointError`` naming the file if it is unreadable."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot read checkpoint ({err.strerror or err})") from err
    if not head:
        raise CheckpointError(f"{path}: empty file, not a torch checkpoint")
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        # torch's own error for such a file is e.g. "IndexError: pop from empty list".
        raise CheckpointError(
            f"not a torch checkpoint: {path} (a torch.save file is a zip archive; this one starts with {head!r})"
        )
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if "Weights only load failed" not in str(err):
            raise CheckpointError(f"{path}: truncated or corrupted torch checkpoint ({_first_line(err)})") from err
        found = re.search(r"Unsupported (global|operand)[^.\n]*?(?= was| \(|\.|$)", str(err))
        raise CheckpointError(
            f"{path}: holds code or objects that are not weights, so it was not loaded"
            + (f" ({found.group(0)})" if found else "")
            + "; a posegen_lite checkpoint holds only tensors, numbers, strings, lists and dicts"
        ) from err
    except Exception as err:  # torch raises many types for a damaged zip/pickle
        raise CheckpointError(f"{path}: truncated or corrupted torch checkpoint ({_first_line(err)})") from err
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a posegen_lite checkpoint (format {FORMAT!r} expected)")
    _check_checksum(state, path)
    check_structure(state, path)
    return state


# --- Structure: what every consumer of a checkpoint reads, checked once here ---------------------------------

# Sane bounds of the networks' integer settings: far beyond any trained model, far below an allocation that
# would take the machine down (the tensor shapes are then checked against the config exactly).
_SETTING_BOUNDS = {"height": (8, 4096), "width": (8, 4096), "base_channels": (1, 1024), "levels": (1, 12),
                   "z_dim": (1, 4096), "pose_channels": (1, 64), "latent_channels": (0, 1024)}  # fmt: skip
_OTHER_INT_BOUNDS = (0, 4096)


def _networks() -> dict[str, tuple[type, type]]:
    """Checkpoint model name → (network class, config dataclass); imported here, not at module level, so that
    reading a checkpoint's step or config does not import every network."""
    from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
    from posegen_lite.models.g1 import G1, G1Config
    from posegen_lite.models.g2 import G2, G2Config

    return {"g1": (G1, G1Config), "g2": (G2, G2Config), "d": (Discriminator, DiscriminatorConfig)}


class _SkipRandomInit(TorchFunctionMode):
    """Skips random initialisation while a network is built on the meta device only for its shapes: meta
    ``normal_`` imports ``torch._dynamo`` on first use (~2.5 s). (A spectral-norm discriminator's power
    iteration still does, once per process.)"""

    _FILLS = (torch.Tensor.normal_, torch.Tensor.uniform_)

    def __torch_function__(
        self, func: Callable[..., Any], types: object, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init" or func in self._FILLS:
            return args[0] if args else kwargs["tensor"]  # each fills its tensor in place and returns it
        return func(*args, **kwargs)


def check_structure(state: dict, path: str | Path) -> None:
    """Raise ``CheckpointError`` (one line naming ``path``) unless ``state`` has what a checkpoint's readers use:
    ``stage`` 2 or 3, ``step`` ≥ 0, a ``config`` dict of finite numbers, ``model_configs`` of known networks
    with settings in sane bounds, and ``models`` whose tensors have exactly the shapes those configs make.

    The shapes are compared with the networks built on the meta device, which allocates nothing: a config
    that asks for a huge network is refused before anything is built for real."""
    missing = [k for k in ("stage", "step", "config", "model_configs", "models") if k not in state]
    if missing:
        entries = ", ".join(map(repr, missing))
        raise CheckpointError(f"{path}: incomplete checkpoint: no {entries} entry (it has {sorted(map(str, state))})")
    if type(state["stage"]) is not int or state["stage"] not in (2, 3):
        raise CheckpointError(f"{path}: 'stage' is {state['stage']!r}, expected 2 or 3")
    if type(state["step"]) is not int or state["step"] < 0:
        raise CheckpointError(f"{path}: 'step' is {state['step']!r}, expected an integer ≥ 0")
    for key, kind in (("config", dict), ("model_configs", dict), ("models", dict), ("optimizers", dict),
                      ("rng", dict), ("history", list)):  # fmt: skip
        if key in state and not isinstance(state[key], kind):
            raise CheckpointError(f"{path}: {key!r} is a {type(state[key]).__name__}, expected a {kind.__name__}")
    _check_finite(state["config"], "config", path)
    if "rng" in state and not isinstance(state["rng"].get("torch"), torch.Tensor):
        raise CheckpointError(f"{path}: 'rng' holds no 'torch' random state tensor")
    networks = _networks()
    names = state["model_configs"]
    unknown = sorted(set(names) - set(networks), key=str)
    if unknown or "g1" not in names:
        raise CheckpointError(
            f"{path}: model_configs names {sorted(map(str, names))}; expected 'g1' and optionally 'g2', 'd'"
            + (f" (unknown: {unknown})" if unknown else "")
        )
    if (state["stage"] == 3) != ("g2" in names):
        raise CheckpointError(
            f"{path}: stage {state['stage']} with networks {sorted(names)}: stage 3 has a 'g2', stage 2 has not"
        )
    if set(state["models"]) != set(names):
        raise CheckpointError(
            f"{path}: 'models' holds {sorted(map(str, state['models']))} but 'model_configs' {sorted(names)}"
        )
    for name, (network, config_class) in networks.items():
        if name in names:
            config = _model_config(config_class, names[name], f"{path}: model_configs[{name!r}]")
            _check_shapes(network, config, state["models"][name], f"{path}: models[{name!r}]")


def check_resumable(state: dict, path: str | Path) -> None:
    """Raise ``CheckpointError`` unless ``state`` (already through ``check_structure``) also holds what resuming a
    run reads: ``optimizers``, ``rng`` and ``history`` (inference-only files, e.g. exported weights, do not)."""
    absent = [k for k in ("optimizers", "rng", "history") if k not in state]
    if absent:
        raise CheckpointError(
            f"{path}: cannot resume from it: no {', '.join(map(repr, absent))} entry (weights only, e.g. exported?)"
        )


def _check_finite(value: object, where: str, path: str | Path) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise CheckpointError(f"{path}: {where} is {value!r}, not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_finite(item, f"{where}.{key}", path)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}[{i}]", path)


def _model_config(config_class: type, values: object, where: str) -> object:
    """``config_class(**values)`` after checking each setting's type (that of its default) and bounds."""
    if not isinstance(values, dict):
        raise CheckpointError(f"{where} is a {type(values).__name__}, expected a dict of settings")
    known = {f.name: f.default for f in fields(config_class)}
    # Init-only names (a config's retired options) are the config's own to judge: it refuses with one line.
    accepted = set(inspect.signature(config_class).parameters)
    unknown = sorted(set(values) - accepted, key=str)
    if unknown:
        raise CheckpointError(f"{where}: unknown settings {unknown} for {config_class.__name__}")
    for name, value in values.items():
        if name not in known:
            continue
        default = known[name]
        if isinstance(default, bool) or isinstance(default, str):
            ok = type(value) is type(default)
        elif isinstance(default, int) or default is None:  # ``levels``: an int, or None for the default depth
            low, high = _SETTING_BOUNDS.get(name, _OTHER_INT_BOUNDS)
            ok = (value is None and default is None) or (type(value) is int and low <= value <= high)
        else:
            ok = True
        if not ok:
            expected = (
                type(default).__name__
                if isinstance(default, (bool, str))
                else "an integer in [{}, {}]".format(*_SETTING_BOUNDS.get(name, _OTHER_INT_BOUNDS))
            )
            raise CheckpointError(f"{where}: {name} is {value!r}, expected {expected}")
    try:
        return config_class(**values)
    except ValueError as err:  # e.g. a retired option at a value no shipped weights used
        raise CheckpointError(f"{where}: {err}") from None


def _check_shapes(network: type, config: object, tensors: object, where: str) -> None:
    """The state dict ``tensors`` must load into ``network(config)``: the same shapes, no tensor missing (unless
    the network fills it in itself, as a cVAE from before ``colour_head`` does), none left over."""
    if not isinstance(tensors, dict) or not all(isinstance(t, torch.Tensor) for t in tensors.values()):
        raise CheckpointError(f"{where} is not a state dict of tensors")
    try:
        with torch.device("meta"), _SkipRandomInit():
            model = network(config)
    except (ValueError, TypeError) as err:
        raise CheckpointError(f"{where}: its config cannot be built ({' '.join(str(err).split())})") from err
    for name, wanted in model.state_dict().items():
        if name in tensors and tensors[name].shape != wanted.shape:
            found, shape = tuple(tensors[name].shape), tuple(wanted.shape)
            raise CheckpointError(f"{where}: tensor {name!r} has shape {found} but its config {config!r} makes {shape}")
    # Meta stand-ins of the file's tensors: loading them checks names and shapes, allocates nothing, and leaves
    # the file's own tensors out of the throw-away network.
    stand_ins = {name: torch.empty(t.shape, dtype=t.dtype, device="meta") for name, t in tensors.items()}
    try:
        result = model.load_state_dict(stand_ins, strict=False, assign=True)
    except RuntimeError as err:
        raise CheckpointError(f"{where} does not load into its network ({' '.join(str(err).split())})") from err
    if result.missing_keys or result.unexpected_keys:
        listed = "; ".join(
            f"{label} {names[:4]}" + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            for label, names in (("missing", result.missing_keys), ("unexpected", result.unexpected_keys))
            if names
        )
        raise CheckpointError(f"{where} does not fit its config {config!r}: {listed}")


def _first_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}"


def load_latest(run_dir: str | Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict] | None:
    """The newest checkpoint of ``run_dir`` that loads, or None if there is none.

    A damaged newer file (e.g. from a disk that filled up) is skipped with a warning rather than
    aborting the resume: the previous checkpoint is still good.
    """
    for path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as err:
            warnings.warn(f"skipping unusable checkpoint: {err}", stacklevel=2)
    return None


def resolve_checkpoint(path_or_dir: str | Path, map_location: str | torch.device = "cpu") -> tuple[Path, dict]:
    """Load a checkpoint given either its file or its run directory (then the newest loadable one)."""
    p = Path(path_or_dir)
    if p.is_dir():
        found = load_latest(p, map_location)
        if found is None:
            raise CheckpointError(f"{p}: no loadable checkpoint in this directory")
        return found
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint file or run directory")
    return p, load_checkpoint(p, map_location)
