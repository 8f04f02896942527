"""The compact pair sample: the sample of ``data/sample.py`` in a few bytes per pixel, for DataLoader workers.

A worker hands its batch to the training process through shared memory, one segment per tensor; in float32 the
pose maps alone are 590 kB of a 128×64 pair's ~820 kB. The compact form (what ``SyntheticPairs(arrays=True,
compact=True)`` yields) holds, in the float sample's order:

* ``image_a``, ``image_b``: ``(3, H, W)`` uint8, the PNG's levels; ``mask_b``: ``(1, H, W)`` uint8 in {0, 1};
* ``pose_b``: disc maps (exactly ±1) as bits, ``(18, H, W/8)`` uint8, bit j of byte k set where pixel 8k + j is
  +1 (``pack_disc_maps``; as int8 ``(18, H, W)`` when W is no multiple of 8); gaussian maps float32 as they are;
* ``joints``: ``(18, 12)`` float32, the columns of ``JOINT_KEYS`` side by side (one tensor for six);
* ``yaw``, ``person_id``, ``name_a``, ``name_b`` and any extras as in the float sample.

``expand_batch`` turns a compact batch (or sample) into the float one, bit for bit, on whatever device its
tensors are on: the training steps call it after moving the batch (``training/steps.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F

IMAGE_KEYS = ("image_a", "image_b")
JOINTS = "joints"
JOINT_KEYS = ("keypoints_a", "keypoints_b", "visible_a", "visible_b", "joints3d_a", "joints3d_b")
JOINT_COLUMNS = (2, 2, 1, 1, 3, 3)  # columns of each of JOINT_KEYS in the table


def image_levels(device: torch.device | str = "cpu") -> torch.Tensor:
    """``(256,)`` float32: the value ``images.to_tensor`` gives each uint8 level, ``level / 127.5 − 1``.

    Computed on the CPU with ``to_tensor``'s own operations and then copied, so a lookup gives its values bit
    for bit on any device (a CUDA division by a scalar multiplies by the reciprocal and may differ in the last
    bit)."""
    levels = torch.arange(256, dtype=torch.uint8).float().div(127.5).sub(1.0)
    return levels.to(device)


def bit_levels(device: torch.device | str = "cpu") -> torch.Tensor:
    """``(256, 8)`` float32: the eight pixels (−1 or +1) of each byte of ``pack_disc_maps``."""
    bits = (torch.arange(256).unsqueeze(-1) >> torch.arange(8)) & 1
    return (bits.float() * 2 - 1).to(device)


def pack_disc_maps(maps: np.ndarray) -> np.ndarray:
    """Disc pose maps ``(..., H, W)``, every value exactly −1 or +1, in their compact form: ``(..., H, W/8)``
    uint8 bits (little bit order) when W is a multiple of 8, else int8. ``ValueError`` for any other value."""
    if not np.isin(maps, (-1, 1)).all():
        raise ValueError("disc pose maps hold only -1 and +1; these hold other values")
    if maps.shape[-1] % 8:
        return maps.astype(np.int8)
    return np.packbits(maps > 0, axis=-1, bitorder="little")


def joint_table(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """``(..., 18, 12)`` float32: the ``JOINT_KEYS`` of a sample or batch as columns (visibility as 0/1)."""
    return torch.cat([batch[k].float().unsqueeze(-1) if k.startswith("visible") else batch[k] for k in JOINT_KEYS], -1)


def _image_values(levels: torch.Tensor) -> torch.Tensor:
    """uint8 levels → float32 in [-1, 1]: on the CPU with ``to_tensor``'s operations (7× cheaper there than a
    lookup), elsewhere by looking them up in ``image_levels``."""
    if levels.device.type == "cpu":
        return levels.float().div(127.5).sub(1.0)
    return torch.take(image_levels(levels.device), levels.long())


def _pose_values(pose: torch.Tensor) -> torch.Tensor:
    """Compact disc maps → float32: bits unpacked by a lookup of each byte's 8 pixels, int8 converted."""
    if pose.dtype != torch.uint8:
        return pose.float()
    return F.embedding(pose.int(), bit_levels(pose.device)).flatten(-2)  # int32 indices: 1.4× faster on a CPU


def _joint_values(table: torch.Tensor) -> dict[str, torch.Tensor]:
    columns = table.split(JOINT_COLUMNS, dim=-1)
    out = {k: c.contiguous() for k, c in zip(JOINT_KEYS, columns, strict=True)}
    for k in ("visible_a", "visible_b"):
        out[k] = out[k].squeeze(-1).bool()
    return out


def expand_batch(batch: Mapping[str, object]) -> dict[str, object]:
    """The float batch (or sample) of a compact one, keys in the float sample's order: images → float32 in
    [-1, 1], pose maps and masks → float32, ``joints`` → its six keys. Every other value, and one already in
    float form, is passed on as it is (the same object), so a float batch expands to an equal one. Works on
    any device and any leading shape."""
    out: dict[str, object] = {}
    for key, value in batch.items():
        if not isinstance(value, torch.Tensor):
            out[key] = value
        elif key in IMAGE_KEYS and value.dtype == torch.uint8:
            out[key] = _image_values(value)
        elif key in ("pose_b", "mask_b") and not value.is_floating_point():
            out[key] = _pose_values(value) if key == "pose_b" else value.float()
        elif key == JOINTS:
            out.update(_joint_values(value))
        else:
            out[key] = value
    return out
