"""posegen_lite/allocator.py: glibc keeps freed memory, so re-allocating a large tensor costs no page faults."""

import subprocess
import sys
import textwrap

import pytest

from posegen_lite import allocator

# A child process per case: the malloc settings are process-wide and cannot be undone, and the suite's own
# process has them already (its training tests call train, which applies them). The child frees and re-allocates
# a 64 MiB tensor 20 times and prints the page faults that cost, after 10 warm-up rounds: with the memory kept,
# the heap grows for the first few (a freed block merged into the heap's top is a little short of the next
# aligned request of the same size), then stays.
_CHILD = textwrap.dedent(
    """
    import resource, sys
    import torch
    from posegen_lite.allocator import keep_freed_memory
    applied = keep_freed_memory() if sys.argv[1] == "keep" else None
    for _ in range(10):
        x = torch.ones(16 * 2**20)  # 64 MiB: above glibc's largest automatic mmap threshold (32 MiB)
        del x
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        x = torch.ones(16 * 2**20)
        del x
    print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, check=True).stdout
    applied, faults = out.split()
    return applied, int(faults)


@pytest.mark.slow
@pytest.mark.skipif(not allocator.is_glibc(), reason="the mallopt settings exist only in glibc")
def test_kept_memory_is_reused_without_page_faults():
    applied, kept = _faults("keep")
    assert applied == "True"
    _, default = _faults("default")
    pages = 16 * 2**20 * 4 // 4096  # one 64 MiB tensor = 16,384 pages of 4 KiB
    assert default >= 20 * pages  # glibc's default: every re-allocation faults all its pages in again
    assert kept < pages // 100  # kept: the 20 re-allocations reuse the same pages


def test_not_glibc_is_a_no_op(monkeypatch):
    monkeypatch.setattr(allocator.platform, "libc_ver", lambda: ("", ""))
    assert allocator.keep_freed_memory() is False


def test_train_config_keeps_memory_by_default_and_it_is_an_invocation_option():
    from posegen_lite.training.loop import _INVOCATION, TrainConfig

    assert TrainConfig().keep_freed_memory is True
    assert "keep_freed_memory" in _INVOCATION  # changing it on resume changes no result, so it is not reported
