"""Device choice, the runtime per device, and seeding."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import devices
import numpy as np
import pytest
import torch
from devices import (
    MAX_LOADER_WORKERS,
    Runtime,
    runtime_for,
    seed_everything,
    select_device,
    use_deterministic_algorithms,
)

NO_GPU = "no CUDA device on this machine"


def test_the_device_is_cuda_exactly_when_torch_sees_a_gpu():
    assert select_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_the_cpu_runtime_keeps_full_precision_and_the_inline_feed_and_lays_out_channels_last():
    runtime = runtime_for(torch.device("cpu"), cores=8)

    assert runtime == Runtime(torch.device("cpu"), memory_format=torch.channels_last)
    assert (runtime.amp_dtype, runtime.grad_scaler, runtime.pin_memory, runtime.loader_workers) == (
        None, False, False, None,
    )  # fmt: skip
    assert runtime.precision == "float32"


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)
def test_the_gpu_runtime_has_mixed_precision_pinned_batches_and_a_loader():
    runtime = runtime_for(torch.device("cuda"), cores=16)

    native_bf16 = torch.cuda.is_bf16_supported(including_emulation=False)
    assert runtime.amp_dtype == (torch.bfloat16 if native_bf16 else torch.float16)
    assert runtime.grad_scaler is not native_bf16
    assert runtime.pin_memory
    assert runtime.loader_workers == MAX_LOADER_WORKERS
    assert runtime_for(torch.device("cuda"), cores=1).loader_workers == 0


def test_seeding_repeats_every_generator():
    def draws():
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    seed_everything(5)
    first = draws()
    seed_everything(5)

    assert draws() == first
    assert torch.backends.cudnn.deterministic
    assert not torch.backends.cudnn.benchmark


def test_deterministic_algorithms_are_on_with_warnings_only():
    was_on, was_warn_only = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    try:
        torch.use_deterministic_algorithms(False)
        use_deterministic_algorithms()
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.is_deterministic_algorithms_warn_only_enabled()
    finally:
        torch.use_deterministic_algorithms(was_on, warn_only=was_warn_only)


def test_turning_determinism_on_leaves_the_compiler_stack_unimported():
    # torch.use_deterministic_algorithms imports torch._inductor (seconds of every job's start).
    code = (
        "import sys, devices; devices.use_deterministic_algorithms(); "
        "print(sorted(m for m in sys.modules if m.startswith(('torch._inductor', 'torch._dynamo'))))"
    )
    training_code = Path(devices.__file__).parent
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=training_code,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert result.stdout.strip() == "[]"
