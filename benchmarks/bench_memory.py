"""Peak memory of a training step (Stage II, Stage III) and of one inference call, per size and width.

Each measurement runs in a fresh Python process, because a process's peak resident set size only grows:

* CPU: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the peak RSS) after two training steps (the second
  one holds Adam's state as well as the activations) or one ``NovelViewSynthesizer.synthesize`` call,
  minus the RSS before the first step (interpreter, torch, the networks' weights and the batch). Python's
  ``tracemalloc`` would miss these numbers: torch allocates its tensors outside Python's allocator.
* CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (tensors only, not the
  CUDA context or the caching allocator's reserve).

Run: ``python benchmarks/bench_memory.py [--quick] [--device cpu|cuda]``; prints a table, writes
``benchmarks/results/bench_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_info, write_json

MiB = 1024 * 1024


def _rss_bytes() -> int:
    """Current resident set size (Linux ``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def child(spec: dict) -> dict:
    """Build what ``spec`` says, run it, return the memory figures (runs in its own process)."""
    import torch
    from torch.utils.data import default_collate

    from posegen_lite.data.synthetic.dataset import SyntheticPairs
    from posegen_lite.data.synthetic.pairs import SyntheticConfig
    from posegen_lite.data.synthetic.scenes import Scene
    from posegen_lite.models.discriminator import Discriminator, DiscriminatorConfig
    from posegen_lite.models.g1 import G1, G1Config
    from posegen_lite.models.g2 import G2, G2Config
    from posegen_lite.pipelines.synthesizer import NovelViewSynthesizer
    from posegen_lite.training.distributed import DistContext
    from posegen_lite.training.steps import Stage2, Stage3

    device = torch.device(spec["device"])
    h, w = spec["size"]
    width = spec["width"]
    torch.manual_seed(0)
    g1 = G1(G1Config(h, w, base_channels=width))
    if spec["what"] == "inference":
        synth = NovelViewSynthesizer(g1, G2(G2Config(h, w, base_channels=width)), device=device)
        view = Scene.held_out(0, (h, w)).input_view

        def run() -> None:
            synth.synthesize(view.image, view.joints3d, camera=view.camera, yaw=90.0)
    else:
        ctx = DistContext(device=device)
        if spec["what"] == "train stage 2":
            stage = Stage2(g1, 2e-4, (0.5, 0.999), ctx, "fp32", True)
        else:
            stage = Stage3(
                g1,
                G2(G2Config(h, w, base_channels=width)),
                Discriminator(DiscriminatorConfig(h, w)),
                lr=2e-4,
                d_lr=2e-4,
                betas=(0.5, 0.999),
                ctx=ctx,
                precision="fp32",
                channels_last=True,
            )
        config = SyntheticConfig(size=(h, w), train_people=spec["batch"], views_per_person=1)
        batch = default_collate(SyntheticPairs(config, "train").__getitems__(list(range(spec["batch"]))))

        def run() -> None:
            stage.train()
            for step in range(2):
                stage.train_step(batch, step)

    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        run()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        return {
            "before_mib": before / MiB,
            "peak_mib": peak / MiB,
            "step_mib": (peak - before) / MiB,
            "measure": "torch.cuda.max_memory_allocated",
        }
    before = _rss_bytes()
    run()
    peak = _peak_rss_bytes()
    return {
        "before_mib": before / MiB,
        "peak_mib": peak / MiB,
        "step_mib": (peak - before) / MiB,
        "measure": "peak RSS (ru_maxrss)",
    }


def specs_for(quick: bool, device: str) -> list[dict]:
    big = 16 if device == "cuda" else 4  # PG2's width on 2 CPU cores: a small batch keeps it to a minute
    out = []
    for what in ("train stage 2", "train stage 3"):
        out.append({"what": what, "size": (64, 64), "width": 16, "batch": 16})
        if not quick:
            out.append({"what": what, "size": (128, 64), "width": 16, "batch": 16})
            out.append({"what": what, "size": (128, 64), "width": 128, "batch": big})
    out.append({"what": "inference", "size": (64, 64), "width": 16, "batch": 1})
    out.append({"what": "inference", "size": (128, 64), "width": 16, "batch": 1})
    if not quick:
        out.append({"what": "inference", "size": (128, 64), "width": 128, "batch": 1})
    return [{**s, "device": device} for s in out]


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="64×64 and demo width only")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: one measurement, JSON spec
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "bench_memory.json")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return []
    info = machine_info()
    print(f"{info['cpu']} · {info['usable_cores']} cores · torch {info['torch']} · {info['device']}")
    print(f"{'what':>14} {'size':>7} {'width':>5} {'batch':>5} {'before MiB':>10} {'peak MiB':>9} {'step MiB':>9}")
    rows = []
    for spec in specs_for(args.quick, args.device):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"measurement {spec} failed:\n{proc.stderr[-2000:]}")
        row = {**spec, "size": f"{spec['size'][0]}x{spec['size'][1]}", **json.loads(proc.stdout.splitlines()[-1])}
        rows.append(row)
        print(
            f"{row['what']:>14} {row['size']:>7} {row['width']:>5} {row['batch']:>5} {row['before_mib']:10.0f} "
            f"{row['peak_mib']:9.0f} {row['step_mib']:9.0f}"
        )
    path = write_json(
        args.out,
        rows,
        note="training: two fp32 steps, channels_last, Adam; inference: one "
        "synthesize() call (G1 + G2, batch 1); 'step' = peak − before",
    )
    print(f"wrote {path}")
    return rows


if __name__ == "__main__":
    main()
