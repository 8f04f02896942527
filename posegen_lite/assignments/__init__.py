"""Classroom assignments: the checks the exercise notebooks call, the student build, building and grading.

The notebooks (``notebooks/assignments/*.ipynb``) are otter-grader masters (docs/teaching.md). Modules:

* ``checks`` — shared machinery: "not done yet", comparisons, stand-ins for the functions a check isolates;
* ``stage1`` / ``stage2`` / ``stage3`` / ``evaluation`` — the public checks of the four assignments;
* ``hidden`` — hidden checks on stored cases (``hidden_cases``); ``answers`` — reference steps, stored answers;
* ``reference``/``recompute`` — older stored values; ``figures``; ``student_build`` — the stubbed package;
* ``build`` — otter assign and running a notebook; ``grade`` — grading, reports, written points (the CLI
  layer is ``posegen_lite/cli/assignments.py``: ``posegen assignments build|grade``);
* ``challenge`` — the fifth assignment: trained weights scored on a hidden split, a leaderboard; ``times`` —
  the measured run times the set-up cells print.

Only the standard library and the package are imported here; otter-grader (the ``assignments`` extra) is
needed by ``build``/``grade`` and by the student notebooks' ``grader.check`` cells.
"""

from .checks import NotDoneYet, skip_if_todo

__all__ = ["NotDoneYet", "skip_if_todo"]
