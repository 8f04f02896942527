"""Training the texture completion network (``models/texture_completion.py``) on the embedded synthetic people.

Each person gives a pair: the texture one view shows (yaw 0 unwrapped, each pixel weighted by how squarely it is
seen) and the full texture (the weighted mean of 8 views' unwraps, 45° apart). The network learns to correct the
hand-made fill on the texels the input did not keep and the 8 views saw: L1 against the full texture, Adam with
cosine decay, a few people (all their parts) per step. People come from the project's splits (``train`` to learn,
``val`` to watch). ``configs/texture_completion.toml`` is the shipped network's recipe (in albedo: each view divided
by the renderer's shade); ``benchmarks/configs/texture_completion.toml`` the earlier run's, on colours as seen.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from posegen_lite.data.synthetic.scenes import Scene
from posegen_lite.geometry.proxy import NUM_PROXY_PARTS
from posegen_lite.geometry.shading import RENDER_LIGHT, shading_maps
from posegen_lite.geometry.texture import TEXTURE_SHAPE, Texture, unwrap, view_surface
from posegen_lite.models.texture_completion import (
    TextureCompletionConfig,
    TextureCompletionNet,
    apply_residual,
    completion_inputs,
    save_completion,
)

EIGHT_YAWS = (0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0)


@dataclass(frozen=True)
class TextureTrainConfig:
    """One training run. ``train_people`` / ``val_people``: people of the ``train`` / ``val`` splits, seen in
    images of ``size`` (height, width) at ``yaws`` (the first is the input's); ``known_weight``: the summed
    facing above which a texel of the full texture counts as known (the loss and the score use only those);
    ``steps`` of ``people_per_step`` people (all their parts), Adam at ``lr`` decayed by cosine to 0, stopped
    early after ``max_minutes``; ``val_every`` steps the validation L1; ``seed`` seeds the weights and the
    batches; ``num_threads``: torch's CPU threads while training (1 on a shared machine)."""

    train_people: int = 400
    val_people: int = 48
    size: tuple[int, int] = (128, 64)
    yaws: tuple[float, ...] = EIGHT_YAWS
    known_weight: float = 0.3
    steps: int = 1200
    people_per_step: int = 8
    lr: float = 2e-3
    max_minutes: float = 45.0
    val_every: int = 100
    seed: int = 0
    num_threads: int | None = 1
    albedo: bool = False
    model: TextureCompletionConfig = field(default_factory=TextureCompletionConfig)


def read_config(path: str | Path) -> TextureTrainConfig:
    """The ``TextureTrainConfig`` of a TOML recipe: top-level keys are its fields, ``[model]`` the network's
    (``TextureCompletionConfig``); an unknown key is refused, naming it."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser as the package tomli
        import tomli as tomllib  # type: ignore[no-redef]
    with Path(path).open("rb") as handle:
        return config_from_dict(tomllib.load(handle), str(path))


def config_from_dict(values: dict, where: str = "config") -> TextureTrainConfig:
    """``TextureTrainConfig`` from plain values (a recipe's, or the ``train_config`` saved with the weights):
    lists for tuples, ``model`` a dict; an unknown key is refused, naming ``where`` and the key."""
    raw = dict(values)
    model = raw.pop("model", {})
    _check_keys(where, raw, TextureTrainConfig, "")
    _check_keys(where, model, TextureCompletionConfig, "model.")
    for name in ("size", "yaws"):
        if name in raw:
            raw[name] = tuple(raw[name])
    return TextureTrainConfig(**raw, model=TextureCompletionConfig(**model))


def _check_keys(where: str, values: dict, cls: type, prefix: str) -> None:
    known = {f.name for f in fields(cls)} - {"model"}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key {prefix}{unknown[0]} (known: {', '.join(sorted(known))})")


@dataclass(frozen=True)
class TexturePairs:
    """People's textures, stacked: ``partial`` and ``full`` colours ``(N, P, 3, V, U)`` float32 (0–255) and
    weights ``(N, P, 1, V, U)`` float32 (summed facing; 0 = never seen)."""

    partial_colour: torch.Tensor
    partial_weight: torch.Tensor
    full_colour: torch.Tensor
    full_weight: torch.Tensor

    def partial(self, k: int) -> Texture:
        """Person ``k``'s partial texture, as ``geometry.texture.unwrap`` gives it."""
        return Texture(self.partial_colour[k], self.partial_weight[k])

    def __len__(self) -> int:
        return len(self.partial_colour)


def texture_pairs(
    split: str, people: int, size: tuple[int, int], yaws: tuple[float, ...], albedo: bool = False
) -> TexturePairs:
    """The first ``people`` of ``split`` (``Scene.held_out``: seeded, the same on every call), rendered at
    ``yaws``: the partial texture is ``yaws[0]``'s unwrap, the full one the weighted mean of all of them;
    ``albedo``: each view divided by its shade first (the renderer's light moves with the camera, so a texel's
    colour as seen differs between views by their shades)."""
    V, U = TEXTURE_SHAPE
    out: list[list[torch.Tensor]] = [[], [], [], []]
    for k in range(people):
        views = Scene.held_out(k, size, split=split).render_many(list(yaws))
        summed = torch.zeros(NUM_PROXY_PARTS, 3, V, U)
        weight = torch.zeros(NUM_PROXY_PARTS, 1, V, U)
        for i, view in enumerate(views):
            seen = view_surface(view.joints3d, view.camera)
            colours = np.asarray(view.image, np.float32)
            if albedo:
                colours = colours / shading_maps(view.joints3d[None], [view.camera], RENDER_LIGHT)[0, ..., None].numpy()
            texture = unwrap(colours, seen.parts, seen.surface, seen.facing * view.mask)
            if i == 0:
                out[0].append(texture.colour)
                out[1].append(texture.weight)
            summed += texture.colour * texture.weight
            weight += texture.weight
        out[2].append(summed / weight.clamp_min(1e-9))
        out[3].append(weight)
    return TexturePairs(*(torch.stack(x) for x in out))


def batch(pairs: TexturePairs, people: np.ndarray, known_weight: float) -> tuple[torch.Tensor, ...]:
    """The rows of ``people`` (all their parts, ``B = len(people)·P``): features ``(B, C, V, U)``, fill
    ``(B, 3, V, U)`` (0–255), fixed ``(B, 1, V, U)`` bool, target ``(B, 3, V, U)`` (0–255) and where the loss
    counts ``(B, 1, V, U)`` float32 (not fixed, known in the full texture)."""
    inputs = [completion_inputs(pairs.partial(int(k))) for k in people]
    fixed = torch.cat([x.fixed for x in inputs])
    known = pairs.full_weight[people].flatten(0, 1) > known_weight
    return (
        torch.cat([x.features for x in inputs]),
        torch.cat([x.fill for x in inputs]),
        fixed,
        pairs.full_colour[people].flatten(0, 1),
        (known & ~fixed).float(),
    )


def unseen_l1(colour: torch.Tensor, target: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Mean absolute error in [0, 1] units over the texels ``where`` ``(B, 1, V, U)`` marks; ``colour`` and
    ``target`` ``(B, 3, V, U)`` (0–255)."""
    return ((colour - target).abs().mean(1, keepdim=True) * where).sum() / where.sum().clamp_min(1) / 255.0


def evaluate(net: TextureCompletionNet | None, pairs: TexturePairs, known_weight: float) -> float:
    """Validation L1 (``unseen_l1``) of ``net``'s completion over all ``pairs``; ``None``: the fill alone."""
    total, count = 0.0, 0.0
    with torch.no_grad():
        for start in range(0, len(pairs), 8):
            features, fill, fixed, target, where = batch(pairs, np.arange(start, min(start + 8, len(pairs))),
                                                         known_weight)  # fmt: skip
            colour = fill if net is None else apply_residual(fill, fixed, net(features))
            n = float(where.sum())
            total += float(unseen_l1(colour, target, where)) * n
            count += n
    return total / max(count, 1.0)


def train_texture_completion(
    config: TextureTrainConfig, out: str | Path | None = None, verbose: bool = False
) -> tuple[TextureCompletionNet, dict]:
    """Build the pairs, train, and return ``(net in eval mode, stats)``; stats hold the steps run, the minutes,
    the validation L1 of the fill and of the net over the run. ``out``: where to save the weights with the
    config and stats (``models.texture_completion.save_completion``); ``verbose``: print the validation L1 as
    it goes."""
    threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        return _train(config, out, verbose)
    finally:
        torch.set_num_threads(threads)


def _train(config: TextureTrainConfig, out: str | Path | None, verbose: bool) -> tuple[TextureCompletionNet, dict]:
    start = time.perf_counter()
    train = texture_pairs("train", config.train_people, config.size, config.yaws, config.albedo)
    val = texture_pairs("val", config.val_people, config.size, config.yaws, config.albedo)
    stats: dict = {"data_s": time.perf_counter() - start, "val_fill_l1": evaluate(None, val, config.known_weight)}
    torch.manual_seed(config.seed)
    net = TextureCompletionNet(config.model)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / config.steps)))
    rng = np.random.default_rng(config.seed)
    history, step, train_start = [], 0, time.perf_counter()
    while step < config.steps and time.perf_counter() - train_start < 60 * config.max_minutes:
        features, fill, fixed, target, where = batch(train, rng.integers(0, len(train), config.people_per_step),
                                                     config.known_weight)  # fmt: skip
        loss = unseen_l1(apply_residual(fill, fixed, net(features)), target, where)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        step += 1
        if step % config.val_every == 0 or step == config.steps:
            net.eval()
            history.append((step, loss.item(), evaluate(net, val, config.known_weight)))
            net.train()
            if verbose:
                print(f"step {step:5d}  train L1 {history[-1][1]:.4f}  val L1 {history[-1][2]:.4f}  "
                      f"{(time.perf_counter() - train_start) / 60:.1f} min", flush=True)  # fmt: skip
    net.eval()
    stats.update(steps=step, train_minutes=(time.perf_counter() - train_start) / 60, history=history)
    stats["val_net_l1"] = evaluate(net, val, config.known_weight)
    if out is not None:
        save_completion(net, out, extra={"train_config": _plain(config), "stats": stats})
    return net, stats


def _plain(config: TextureTrainConfig) -> dict:
    """``config`` as plain lists and numbers (what ``torch.load(weights_only=True)`` reads back)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def main(argv: list[str] | None = None) -> int:
    """``python -m posegen_lite.training.texture_completion RECIPE.toml OUT.pt``: train and save."""
    import sys

    recipe, out = (argv if argv is not None else sys.argv[1:])[:2]
    _, stats = train_texture_completion(read_config(recipe), out, verbose=True)
    print({k: v for k, v in stats.items() if k != "history"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
