"""Where the code runs: CUDA when a GPU is there, else the CPU; deterministic seeding on both; and
how training feeds and runs a step on each (mixed precision and a batch loader on a GPU only).

The CPU path is the one every test and the local runtime take: full precision, batches built in
the training loop (no loader processes, no pinned memory), exactly as before GPUs were supported.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

# cuBLAS picks its reduction order per call unless given a fixed workspace; with it, matrix products
# on a GPU are reproducible. Read when cuBLAS starts, so it is set before the first CUDA matmul.
# https://docs.nvidia.com/cuda/cublas/index.html#results-reproducibility
CUBLAS_WORKSPACE_CONFIG = ":4096:8"
# DataLoader processes that gather the next batches while the GPU computes this one: enough to keep
# ahead of a small network (they only copy rows of an in-memory array).
MAX_LOADER_WORKERS = 4
LOADER_PREFETCH_BATCHES = 4


@dataclass(frozen=True)
class Runtime:
    """How a training step runs on a device.

    ``amp_dtype``: the ``torch.autocast`` dtype, None for full precision. ``grad_scaler``: scale the
    loss (``torch.amp.GradScaler``), needed by float16 whose small gradients would underflow.
    ``pin_memory``: host batches in page-locked memory, copied with ``non_blocking=True``.
    ``loader_workers``: None builds each batch in the training loop; a number feeds batches through a
    ``DataLoader`` with that many worker processes (0: the loader's own thread only).
    ``memory_format``: how the network's weights and the training batches lay out their channels.
    """

    device: torch.device
    amp_dtype: torch.dtype | None = None
    grad_scaler: bool = False
    pin_memory: bool = False
    loader_workers: int | None = None
    memory_format: torch.memory_format = torch.contiguous_format

    @property
    def precision(self) -> str:
        """``float32``, ``bfloat16`` or ``float16`` (the autocast dtype), for logs and metrics."""
        return str(self.amp_dtype or torch.float32).removeprefix("torch.")


def use_deterministic_algorithms() -> None:
    """What ``torch.use_deterministic_algorithms(True, warn_only=True)`` does for eager code, without
    its import of ``torch._inductor.config``: that import drags in the compiler stack (TorchDynamo,
    sympy), 3.7 s of every training job's start on 2 cores, for a flag only ``torch.compile`` reads,
    and nothing here compiles. A torch without the private switch gets the public call.
    """
    switch = getattr(torch._C, "_set_deterministic_algorithms", None)
    if switch is None:
        torch.use_deterministic_algorithms(True, warn_only=True)
        return
    switch(True, warn_only=True)


def select_device() -> torch.device:
    """``cuda`` (the current GPU) when one is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def runtime_for(device: torch.device, cores: int) -> Runtime:
    """The runtime training uses on ``device``: on a GPU, bfloat16 autocast where the GPU computes in
    it natively (Ampere and later), else float16 with loss scaling, pinned batches and a loader with
    up to ``MAX_LOADER_WORKERS`` workers (one core left to the training loop); on the CPU, none of it.
    """
    if device.type != "cuda":
        # oneDNN's CPU convolutions run on channels-last (NHWC) data without reordering it first:
        # a training step of the small CNN at 64x64, one thread, went from ~430 to ~700 images/s
        # (https://pytorch.org/tutorials/intermediate/memory_format_tutorial.html). Left as it was
        # on a GPU, where it has not been measured here.
        return Runtime(device, memory_format=torch.channels_last)
    # including_emulation=False: an older GPU "supports" bfloat16 only by emulating it, slowly.
    native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    return Runtime(
        device,
        amp_dtype=torch.bfloat16 if native_bf16 else torch.float16,
        grad_scaler=not native_bf16,
        pin_memory=True,
        loader_workers=max(0, min(MAX_LOADER_WORKERS, cores - 1)),
    )


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's generators (CPU and every GPU) and make cuDNN pick
    deterministic algorithms (https://pytorch.org/docs/stable/notes/randomness.html)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)  # lazy: a no-op without CUDA
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
