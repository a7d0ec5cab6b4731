"""EnvConfig: where and how a run executes (device, threads, cuDNN, multiprocessing, process group)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ..config.base import Config
from ..distributed.process_group import DistConfig

if TYPE_CHECKING:
    import torch

__all__ = ["EnvConfig", "resolve_device", "resolve_device_type"]


class EnvConfig(Config):
    """Execution environment of a run."""

    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="'auto' = cuda:<local rank> when CUDA is available, else cpu."
    )
    num_threads: int | None = Field(None, ge=1, description="torch intra-op threads (None: torch default).")
    cudnn_benchmark: bool = Field(False, description="Let cuDNN pick the fastest kernels (non-deterministic).")
    mp_start_method: Literal["fork", "spawn", "forkserver"] | None = Field(
        None, description="multiprocessing start method for dataloader workers (None: platform default)."
    )
    dist: DistConfig = Field(DistConfig(), description="Process-group settings for distributed runs.")


def resolve_device(device: Literal["auto", "cpu", "cuda"], local_rank: int) -> torch.device:
    """The torch device a process trains on."""
    import torch

    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError("env.device is 'cuda' but CUDA is not available")
    return torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1))


def resolve_device_type(device: Literal["auto", "cpu", "cuda"]) -> Literal["cpu", "cuda"]:
    """The device type a config will run on, without initialising CUDA more than needed."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
