"""``python -m posegen_lite ...`` is the ``posegen`` command (and what ``torchrun -m posegen_lite`` runs)."""

from posegen_lite.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
