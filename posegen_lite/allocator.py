"""Keep freed memory inside the process when torch runs on a CPU (Linux with glibc).

PyTorch on a CPU has no caching allocator: glibc serves large tensors with ``mmap`` and hands them back with
``munmap`` the moment they are freed, so every training step faults its activations in again, page by page.
Two ``mallopt`` settings (glibc's ``mallopt(3)``) keep them: no ``mmap`` for allocations (``M_MMAP_MAX = 0``)
and a top-of-heap trim threshold so high that freed blocks stay (``M_TRIM_THRESHOLD``). The process then keeps
its peak memory until it exits, which a training run reaches in its first step anyway.

The settings are process-wide, like ``torch.set_num_threads``, so the library applies them only where it owns
the work: ``training.loop.train`` (``TrainConfig.keep_freed_memory``, on by default), the notebooks' setup on a
CPU and the viewpoint app's kernel. Other programs call ``keep_freed_memory`` themselves. Why, and what it buys:
docs/architecture.md ("Decisions") and benchmarks/README.md (``bench_allocator.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt(3) parameter numbers, from glibc's <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD = 2**31 - 1  # an int: the largest value mallopt takes


def is_glibc() -> bool:
    """True on Linux with the GNU C library, the only place the ``mallopt`` settings mean what is said here."""
    return platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"


def keep_freed_memory() -> bool:
    """Tell glibc's ``malloc`` to keep freed memory for reuse instead of returning it to the OS (module
    docstring). Returns True if both settings were applied, False where they do not apply (not glibc: macOS,
    Windows, musl) or glibc refused them. Safe to call more than once."""
    if not is_glibc():
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # mallopt returns 1 on success, 0 on error
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
