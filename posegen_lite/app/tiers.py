"""Size tiers: how big the notebooks' data, networks and trainings are, picked to fit the machine.

===========  ==============================  =========================================================
tier         chosen when                     what it is for
===========  ==============================  =========================================================
``fast``     ``POSEGEN_FAST=1`` (the tests)  tiny sizes, a handful of steps: every notebook in < 2 min
``cpu``      no CUDA GPU (a laptop)          a few minutes per notebook; shows the shipped weights where
                                             a longer training would be needed to see a result
``colab``    a CUDA GPU under 20 GiB         a free Colab GPU (T4, 15 GiB): each training ≤ 15 min
``full``     a CUDA GPU of 20 GiB or more    128×64, width 32, thousands of steps (A100/H100 class)
===========  ==============================  =========================================================

``POSEGEN_SIZE=<tier>`` picks a tier explicitly and overrides the hardware; ``POSEGEN_FAST=1`` overrides both
(CI sets it, and CI must stay small whatever machine it lands on).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch

FAST_ENV = "POSEGEN_FAST"
SIZE_ENV = "POSEGEN_SIZE"
BIG_GPU_GIB = 20.0  # at or above: the "full" tier; below (T4 15 GiB, most laptop GPUs): "colab"


@dataclass(frozen=True)
class Sizes:
    """Every number a notebook scales with the size tier.

    Attributes:
        name: the tier's name. size: ``(height, width)`` of the images the notebooks train on.
        width: G1/G2 base channels. people: synthetic training people. views: pairs per person.
        steps2: Stage II (G1) steps in notebook 02. steps3: Stage III steps in notebook 03.
        batch: batch size. plot_every: steps between live-plot refreshes. checkpoint_every: steps between
        checkpoints (a Colab disconnect loses at most this many). eval_samples: test pairs per split in
        notebook 04. widget_people: people in the widget's selector. workers: DataLoader worker processes
        at least (the synthetic data renders on the CPU; on a GPU it must keep up: ``data_workers`` adds
        more where the machine has the cores).
        cache_arrays: train notebooks 02 and 03 from the array cache in compact form
        (``notebook_runs.training_set``): the training pairs are rendered once into ``data_cache_dir`` (the
        machine's own disk) and packed as memory-mapped arrays; the workers send uint8 batches that the GPU expands.
        Why: on a GPU the CPU's rendering sets the pace; 2 workers on 2 cores deliver 3.9–5.1× what the colab tier's
        G1 step takes on an H100 from the compact arrays, 0.36× rendering on the fly (benchmarks/README.md,
        ``bench_data.py``). The cost, once per data config: the colab tier's 3,200 pairs took 31 s to render and 15
        s to pack (278 MB) on 2 loaded cores. Off where nothing trains in workers (``fast``, ``cpu``): there the
        build (3.4 + 2.3 s for the cpu tier's 480 pairs) saves about 8 of the 14 s notebook 02 spends rendering, and
        nothing in 03, which draws each pair about once.
        expected: how long the tier takes, and whether that figure is measured or an estimate.
    """

    name: str
    size: tuple[int, int]
    width: int
    people: int
    views: int
    steps2: int
    steps3: int
    batch: int
    plot_every: int
    checkpoint_every: int
    eval_samples: int
    widget_people: int
    workers: int
    cache_arrays: bool
    expected: str


TIERS: dict[str, Sizes] = {
    "fast": Sizes(
        name="fast", size=(64, 64), width=8, people=16, views=4, steps2=30, steps3=12, batch=8, plot_every=10,
        checkpoint_every=30, eval_samples=16, widget_people=3, workers=0, cache_arrays=False,
        expected="under 2 min per notebook on 2 CPU cores (CI sizes: the pictures stay blobs)",
    ),
    "cpu": Sizes(
        name="cpu", size=(64, 64), width=16, people=60, views=8, steps2=150, steps3=60, batch=8, plot_every=25,
        checkpoint_every=50, eval_samples=64, widget_people=4, workers=0, cache_arrays=False,
        expected="ESTIMATE for an idle laptop CPU: a few minutes for notebooks 02 and 03, under a minute for the "
        "others; the shipped weights show what longer training reaches",
    ),
    "colab": Sizes(
        name="colab", size=(128, 64), width=32, people=400, views=8, steps2=3000, steps3=1500, batch=32,
        plot_every=100, checkpoint_every=250, eval_samples=320, widget_people=8, workers=2, cache_arrays=True,
        expected="ESTIMATE for a Colab T4 with its 2 CPU cores, not measured there: 10–15 min each for notebook 02's "
        "G1 and 03's G2. Rendering on the fly, the CPU set the pace: with the same 2 DataLoader workers an H200 "
        "took 6.3 and 5.0 min (measured before the array cache, which has not been timed in a notebook yet)",
    ),
    "full": Sizes(
        name="full", size=(128, 64), width=32, people=400, views=8, steps2=8000, steps3=4000, batch=64,
        plot_every=200, checkpoint_every=500, eval_samples=320, widget_people=8, workers=4, cache_arrays=True,
        expected="measured on an NVIDIA H200 with 16 CPU cores (12 DataLoader workers, rendering on the fly: before "
        "the array cache): 5 min for notebook 02's G1, 7 min for 03's G2; with 4 workers the GPU waited for the "
        "rendering (18 and 16 min)",
    ),
}  # fmt: skip
FAST_SIZES, FULL_SIZES = TIERS["fast"], TIERS["full"]


MAX_WORKERS = 12  # the most measured: 3.5× faster than 4 on an H200 at the full tier (benchmarks/README.md)


def usable_cores() -> int:
    """CPU cores this process may run on (the affinity mask where the OS has one, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def data_workers(s: Sizes, cores: int | None = None) -> int:
    """DataLoader workers for a notebook training at tier ``s``: 0 where the tier renders in the training
    process (``fast``, ``cpu``), else the tier's count or, where there are more cores, all but one of them (at
    most ``MAX_WORKERS``). On a GPU the training waits for the CPU's rendering: at the full tier on an H200 with
    16 cores, 12 workers made Stage II 3.5× faster than 4."""
    if s.workers == 0:
        return 0
    cores = usable_cores() if cores is None else cores
    return max(s.workers, min(cores - 1, MAX_WORKERS))


def is_fast(environ: Mapping[str, str] | None = None) -> bool:
    """``POSEGEN_FAST`` set to 1/true/yes/on (any case) → fast mode. Anything else (or unset) → not."""
    value = (os.environ if environ is None else environ).get(FAST_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def tier_for_hardware(cuda: bool, gpu_memory_gib: float | None = None) -> str:
    """The default tier of a machine: ``"cpu"`` without CUDA, ``"colab"`` on a GPU under ``BIG_GPU_GIB``
    (or of unknown memory), ``"full"`` on a bigger one."""
    if not cuda:
        return "cpu"
    return "full" if gpu_memory_gib is not None and gpu_memory_gib >= BIG_GPU_GIB else "colab"


def _gpu_memory_gib() -> float | None:
    try:
        return torch.cuda.get_device_properties(0).total_memory / 2**30
    except (RuntimeError, AssertionError, AttributeError):
        return None


def choose_tier(environ: Mapping[str, str] | None = None, cuda: bool | None = None) -> tuple[str, str]:
    """``(tier name, why)``: ``POSEGEN_FAST`` first, then ``POSEGEN_SIZE``, then the hardware
    (``cuda=None``: ask torch). ``ValueError`` for an unknown ``POSEGEN_SIZE``."""
    environ = os.environ if environ is None else environ
    if is_fast(environ):
        return "fast", f"{FAST_ENV}=1"
    asked = environ.get(SIZE_ENV, "").strip().lower()
    if asked:
        if asked not in TIERS:
            raise ValueError(f"{SIZE_ENV}={asked!r} is not a tier; choose one of {', '.join(TIERS)}")
        return asked, f"{SIZE_ENV}={asked}"
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if not cuda:
        return "cpu", "no CUDA GPU"
    memory = _gpu_memory_gib()
    name = torch.cuda.get_device_name(0) if memory is not None else "CUDA GPU"
    shown = f"{memory:.0f} GiB" if memory is not None else "unknown memory"
    return tier_for_hardware(True, memory), f"{name}, {shown}"


def sizes(fast: bool | None = None, environ: Mapping[str, str] | None = None) -> Sizes:
    """The sizes of a tier: ``fast=True`` → ``FAST_SIZES``; ``fast=False`` → ``FULL_SIZES``;
    ``fast=None`` → the tier ``choose_tier`` picks."""
    if fast is not None:
        return FAST_SIZES if fast else FULL_SIZES
    return TIERS[choose_tier(environ)[0]]


__all__ = ["Sizes", "TIERS", "FAST_SIZES", "FULL_SIZES", "FAST_ENV", "SIZE_ENV", "MAX_WORKERS", "is_fast",
           "tier_for_hardware", "choose_tier", "sizes", "data_workers", "usable_cores"]  # fmt: skip
