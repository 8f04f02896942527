"""Keep freed memory inside the process when torch runs on a CPU (Linux with glibc).

Why: PyTorch on a CPU has no caching allocator; every tensor comes from the C library's ``malloc``. glibc
serves large requests (at 128×64, batch 16, one activation of 16 channels is 8 MiB) with ``mmap`` and hands
them back to the operating system with ``munmap`` the moment they are freed. The next step asks for the same
sizes again, and the kernel supplies fresh zeroed pages, one page fault per 4 KiB. A training step of the
demo G1 frees and re-allocates gigabytes, so the CPU spends a large share of the step in the kernel: on 2
cores of an AMD EPYC one step of the demo's conditional-VAE G1 took 93,000 page faults and 0.4 s of kernel
time, against 257 faults and 0.01 s with the memory kept, and ran 1.1–1.3× faster
(``benchmarks/bench_allocator.py``; ``benchmarks/README.md``).

The fix is two ``mallopt`` settings (glibc's ``malloc(3)``/``mallopt(3)`` manual pages): no ``mmap`` for
allocations (``M_MMAP_MAX = 0``), so large blocks come from the heap, and a top-of-heap trim threshold so high
that freed blocks stay there (``M_TRIM_THRESHOLD``). The process then keeps its peak memory until it exits,
which a training run reaches in its first step anyway. jemalloc or tcmalloc (``LD_PRELOAD``) do the same
job; this needs nothing installed.

The settings are process-wide, like ``torch.set_num_threads``, so the library applies them only where it owns
the work: ``TrainConfig.keep_freed_memory`` (on by default) makes ``training.loop.train`` call
``keep_freed_memory`` once at its start. Inference gains too (one 128×64 view through the shipped weights:
``benchmarks/bench_latency.py --keep-freed-memory``), so the notebooks' ``app.notebook.setup`` (on a CPU) and the
viewpoint app's ``show_app`` call it for the kernel they own. Other programs call it themselves.
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
