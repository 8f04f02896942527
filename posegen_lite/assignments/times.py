"""How long each assignment takes per size tier, as measured by ``benchmarks/bench_assignments.py``.

The masters' set-up cells print ``expected_time(name, env)`` instead of the tutorials' estimate: the completed
notebook's wall and CPU time at the tier the student's machine picked, where it was measured, and the other
tiers'. The figures come from runs under ``nice -n 10`` on the development machine (``MEASURED_ON``), with the
load average of the machine at the time; docs/teaching.md has the table and how to measure again.
"""

from __future__ import annotations

from dataclasses import dataclass

MEASURED_ON = "2 cores of an AMD EPYC shared with other work, one torch thread"
TIERS = ("fast", "cpu", "colab", "full")


@dataclass(frozen=True)
class Timing:
    """One measured run of a completed assignment notebook, top to bottom in a fresh kernel.

    Attributes:
        wall_s: wall time in seconds. cpu_s: the kernel's CPU time (user + system) in seconds.
        load: the machine's 1-minute load average during the run (before and after, the larger).
    """

    wall_s: float
    cpu_s: float
    load: float

    def __str__(self) -> str:
        return f"{_duration(self.wall_s)} ({_duration(self.cpu_s)} of CPU, load {self.load:.1f})"


# benchmarks/bench_assignments.py --which solution: the default run is the fast tier, --full the cpu tier.
MEASURED: dict[str, dict[str, Timing]] = {
    "stage1_pose": {"fast": Timing(7.7, 7.2, 2.3), "cpu": Timing(10.1, 8.5, 3.0)},
    "stage2_g1": {"fast": Timing(25.1, 17.4, 2.6), "cpu": Timing(23.0, 17.4, 2.9)},
    "stage3_gan": {"fast": Timing(26.1, 17.7, 3.1), "cpu": Timing(32.0, 28.1, 2.8)},
    "evaluation": {"fast": Timing(17.1, 10.6, 3.4), "cpu": Timing(16.0, 15.5, 2.5)},
}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def expected_time(name: str, tier: str) -> str:
    """Two lines for assignment ``name`` run at ``tier``: the measured time of the completed notebook at that
    tier (or that it was not measured) and the other tiers'. ``KeyError`` for an unknown assignment."""
    measured = MEASURED[name]
    here = measured.get(tier)
    first = (
        f"expected time at the '{tier}' tier: {here}, measured on {MEASURED_ON} (benchmarks/bench_assignments.py)"
        if here is not None
        else f"expected time at the '{tier}' tier: not measured (no such machine was available)"
    )
    others = [f"{t} {measured[t]}" if t in measured else f"{t} not measured" for t in TIERS if t != tier]
    return f"{first}\n  other tiers: {'; '.join(others)}"
