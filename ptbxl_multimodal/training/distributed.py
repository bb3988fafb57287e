"""Data-parallel training across processes (torchrun): gloo on the CPU, NCCL on GPUs.

A stage runs distributed when launched by torchrun (WORLD_SIZE in the environment) or when
`train.common.nproc` > 1, in which case it relaunches itself under torch.distributed.run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Context:
    """This process's place in the job."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def context() -> Context:
    """The launcher's view (torchrun sets RANK, WORLD_SIZE, LOCAL_RANK); single process otherwise."""
    return Context(
        int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
    )


def init(device: torch.device) -> Context:
    """Join the process group if launched distributed (idempotent)."""
    ctx = context()
    if ctx.active and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return ctx


def relaunch(nproc: int, module: str, args: list[str]) -> int | None:
    """Re-run `python -m module args` under torchrun with nproc processes, unless already distributed."""
    if nproc <= 1 or context().active:
        return None
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        module,
        *args,
    ]
    return subprocess.call(cmd)


def shard(idx: torch.Tensor, ctx: Context) -> torch.Tensor:
    """This rank's part of a global batch (contiguous, sizes differ by at most one)."""
    return idx.tensor_split(ctx.world)[ctx.rank] if ctx.active else idx


def all_sum(value: float, device: torch.device, ctx: Context) -> float:
    """Sum a scalar over ranks (for logging)."""
    if not ctx.active:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item())


def finish() -> None:
    """Leave the process group cleanly."""
    if dist.is_initialized():
        dist.destroy_process_group()
