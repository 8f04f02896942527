"""Optional multi-process training with PyTorch's own DistributedDataParallel, launched by ``torchrun``.

``torchrun --nproc_per_node N -m posegen_lite train ...`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``;
``DistContext.from_env()`` sees them and initializes the process group (NCCL on CUDA, gloo on CPU). Without
``torchrun`` the context is a single process and nothing changes. The training loop asks the context three
things: which device this rank uses, whether it is rank 0 (the only one that logs, validates and writes
checkpoints), and to wrap trainable modules in DDP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from posegen_lite.device import pick_device


@dataclass
class DistContext:
    """Where this process stands: ``world_size == 1`` means plain single-process training."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")
    initialized_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_env(cls, device: str = "auto") -> DistContext:
        """Single process unless ``WORLD_SIZE`` > 1 is set (as ``torchrun`` does)."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if world <= 1:
            return cls(device=pick_device(device))
        rank = int(os.environ["RANK"])
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        dev = pick_device(device)
        if dev.type == "cuda":
            dev = torch.device("cuda", local_rank)
            torch.cuda.set_device(dev)
        initialized_here = False
        if not dist.is_initialized():
            # A rank that dies before joining would leave the others waiting; fail after a bounded time instead.
            timeout = timedelta(seconds=float(os.environ.get("POSEGEN_DIST_TIMEOUT_S", "1800")))
            dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo", timeout=timeout)
            initialized_here = True
        return cls(rank, local_rank, world, dev, initialized_here)

    def wrap(self, module: nn.Module) -> nn.Module:
        """Wrap a trainable module in DDP (identity in a single process).

        Batch norm: on CUDA it becomes SyncBatchNorm, so N ranks with batch b normalize exactly as one GPU
        with batch N·b would — the discriminator's statistics then do not depend on how many GPUs run.
        SyncBatchNorm only runs on GPUs; on CPU (gloo) each rank normalizes its own batch and
        ``sync_buffers`` averages the running statistics before every checkpoint.
        """
        if not self.enabled:
            return module
        if self.device.type == "cuda":
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
            return nn.parallel.DistributedDataParallel(module, device_ids=[self.device.index])
        return nn.parallel.DistributedDataParallel(module)

    def sync_buffers(self, module: nn.Module) -> None:
        """Average floating-point buffers (batch-norm running statistics) over ranks."""
        if not self.enabled:
            return
        for buf in unwrap(module).buffers():
            if buf.is_floating_point():
                dist.all_reduce(buf, op=dist.ReduceOp.SUM)
                buf.div_(self.world_size)

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def all_flags(self, flag: bool) -> bool:
        """True if ``flag`` is True on any rank (used so every rank stops together on NaN or Ctrl-C)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def close(self) -> None:
        if self.initialized_here and dist.is_initialized():
            dist.destroy_process_group()


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper (or the module itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module
