"""Data augmentation on batches of 0..1 image tensors, in plain torch.

Product photos are taken from above, so a part may appear mirrored or shifted and under other
lighting; none of these change whether it has a defect. Every random draw comes from the
``generator`` passed in (a CPU generator, whatever device the batch is on: the draws are a few
numbers per image, moved to the batch's device), so a run (and a resumed run) is reproducible and
draws the same numbers on a GPU as on the CPU.
"""

from __future__ import annotations

import torch


def augment_batch(
    batch: torch.Tensor,
    generator: torch.Generator,
    *,
    max_shift: int = 4,
    brightness: float = 0.2,
) -> torch.Tensor:
    """Random horizontal/vertical flips, shifts of up to ``max_shift`` pixels (edges replicated)
    and brightness scaling by a factor in ``1 +/- brightness``, independently per image."""
    n = batch.shape[0]
    flip_h = _to_device(torch.rand(n, generator=generator) < 0.5, batch.device)
    flip_v = _to_device(torch.rand(n, generator=generator) < 0.5, batch.device)
    batch = torch.where(flip_h.view(n, 1, 1, 1), batch.flip(3), batch)
    batch = torch.where(flip_v.view(n, 1, 1, 1), batch.flip(2), batch)
    if max_shift > 0:
        batch = _shift(batch, generator, max_shift)
    if brightness > 0:
        factors = 1.0 + (torch.rand(n, generator=generator) * 2.0 - 1.0) * brightness
        batch = (batch * _to_device(factors, batch.device).view(n, 1, 1, 1)).clamp_(0.0, 1.0)
    return batch


def _to_device(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    """CPU draws onto the batch's device. To a GPU through pinned memory, without waiting for the
    work already queued there (a copy from ordinary memory would wait for the previous step)."""
    if device.type == "cpu":
        return values
    return values.pin_memory().to(device, non_blocking=True)


def _shift(batch: torch.Tensor, generator: torch.Generator, max_shift: int) -> torch.Tensor:
    n, _, height, width = batch.shape
    padded = torch.nn.functional.pad(batch, (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator).tolist()
    return torch.stack(
        [padded[i, :, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(offsets)]
    )
