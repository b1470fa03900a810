"""Batch augmentation in plain torch."""

import torch
from augmentation import augment_batch


def test_augmentation_keeps_shape_and_range():
    batch = torch.rand(8, 3, 16, 16)

    out = augment_batch(batch, torch.Generator().manual_seed(0))

    assert out.shape == batch.shape
    assert 0.0 <= float(out.min()) <= float(out.max()) <= 1.0


def test_augmentation_is_reproducible_for_a_generator_state():
    batch = torch.rand(8, 3, 16, 16)

    first = augment_batch(batch, torch.Generator().manual_seed(3))
    second = augment_batch(batch, torch.Generator().manual_seed(3))

    assert torch.equal(first, second)


def test_without_shift_or_brightness_only_flips_apply():
    batch = torch.rand(16, 3, 8, 8)

    out = augment_batch(batch, torch.Generator().manual_seed(1), max_shift=0, brightness=0.0)

    for original, augmented in zip(batch, out, strict=True):
        candidates = [original, original.flip(2), original.flip(1), original.flip(1).flip(2)]
        assert any(torch.equal(augmented, candidate) for candidate in candidates)
