"""The compact pair sample: the sample of ``data/sample.py`` with its big tensors in one byte per value.

A DataLoader worker hands its batch to the training process through shared memory; in float32 the pose maps
alone are 590 kB of a 128×64 pair's ~820 kB. The compact form keeps the shapes and stores ``image_a/b`` as
uint8 ``(3, H, W)`` (the PNG's levels 0…255), disc ``pose_b`` as int8 ``(18, H, W)`` (exactly ±1) and
``mask_b`` as uint8 ``(1, H, W)`` in {0, 1}; gaussian pose maps stay float32 (they are not one byte each).
``expand_batch`` turns a compact batch (or sample) into the float one, bit for bit, on whatever device its
tensors are on: the training steps call it after moving the batch (``training/steps.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

IMAGE_KEYS = ("image_a", "image_b")
FLAG_KEYS = ("pose_b", "mask_b")  # small integers stored exactly as int8/uint8; their float values are the same


def image_levels(device: torch.device | str = "cpu") -> torch.Tensor:
    """``(256,)`` float32: the value ``images.to_tensor`` gives each uint8 level, ``level / 127.5 − 1``.

    Computed on the CPU with ``to_tensor``'s own operations and then copied, so a lookup gives its values bit
    for bit on any device (a CUDA division by a scalar multiplies by the reciprocal and may differ in the last
    bit)."""
    levels = torch.arange(256, dtype=torch.uint8).float().div(127.5).sub(1.0)
    return levels.to(device)


def _image_values(levels: torch.Tensor) -> torch.Tensor:
    """uint8 levels → float32 in [-1, 1]: on the CPU with ``to_tensor``'s operations (7× cheaper there than a
    lookup), elsewhere by looking them up in ``image_levels``."""
    if levels.device.type == "cpu":
        return levels.float().div(127.5).sub(1.0)
    return torch.take(image_levels(levels.device), levels.long())


def expand_batch(batch: Mapping[str, object]) -> dict[str, object]:
    """The float batch (or sample) of a compact one: uint8 images → float32 in [-1, 1], int8/uint8 pose maps
    and masks → float32. Every other value, and a value already float, is passed on as it is (the same object),
    so a float batch expands to itself. Works on any device and any leading shape."""
    out = dict(batch)
    for key in IMAGE_KEYS:
        value = out.get(key)
        if isinstance(value, torch.Tensor) and value.dtype == torch.uint8:
            out[key] = _image_values(value)
    for key in FLAG_KEYS:
        value = out.get(key)
        if isinstance(value, torch.Tensor) and not value.is_floating_point():
            out[key] = value.float()
    return out
