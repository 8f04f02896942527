"""Classroom assignments: the check functions the exercise notebooks call, and building/grading them.

The assignment notebooks (``notebooks/assignments/*.ipynb``) are otter-grader master notebooks: each holds
2–4 functions to write between solution markers, a public check after each, hidden checks for grading and
written questions (docs/teaching.md). The checks live here so that a test can reach them:

* ``checks``      — the shared machinery: "not done yet" detection, comparisons with teaching messages;
* ``stage1``      — rotate the 3D joints, project them, draw pose maps;
* ``stage2``      — the pose-masked L1, one G1 step, overfitting one batch;
* ``stage3``      — discriminator/generator losses, the alternating GAN update, D separating real from fake;
* ``evaluation``  — the body box, SSIM inside it, the metric ablation;
* ``reference``   — stored reference values the checks compare against; ``recompute`` — how they were computed;
* ``figures``     — the pictures and the short GAN run the notebooks make with the student's functions;
* ``build``       — building (otter assign), running and grading the notebooks (the CLI layer:
  ``posegen_lite/cli/assignments.py``, ``posegen assignments build|grade``). docs/teaching.md is the teacher's guide.

Only the standard library and the package are imported here; otter-grader (the ``assignments`` extra) is
needed by ``build`` and by the student notebooks' ``grader.check`` cells.
"""

from .checks import NotDoneYet, skip_if_todo

__all__ = ["NotDoneYet", "skip_if_todo"]
