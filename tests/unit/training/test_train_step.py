"""One training step on each device and precision, the data feeds, and fine-tuning's learning rates.

The CUDA tests run where a GPU is present and are skipped elsewhere; the CPU runs the same step in
full precision (the path every CPU job takes) and, to check the mechanics of mixed precision, under
CPU autocast with and without loss scaling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import train
from backbones import Backbone, imagenet_network
from checkpointing import TerminationRequest, load_checkpoint
from devices import Runtime
from hyperparameters import Hyperparameters
from parquet_dataset import ImageSplit
from pretrained_weights import PretrainedWeights

CPU = torch.device("cpu")
NO_GPU = "no CUDA device on this machine"
LABELS = ["crack", "dent", "ok", "scratch"]


def random_split(n: int, seed: int) -> ImageSplit:
    rng = np.random.default_rng(seed)
    return ImageSplit(
        images=rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8),
        labels=[LABELS[i % len(LABELS)] for i in range(n)],
        keys=[f"k{i}" for i in range(n)],
        orig_sizes=[(64, 64)] * n,
    )


def make_trainer(runtime: Runtime, model: str = "small_cnn", **values) -> train.Trainer:
    hp = Hyperparameters.for_model(model, batch_size=8, num_threads=1, **values)
    return train.Trainer(hp, random_split(48, 0), random_split(16, 1), LABELS, runtime=runtime)


def one_step(trainer: train.Trainer, *, pinned: bool = False) -> tuple[train.StepTotals, dict]:
    """Run one step on the first batch; returns the step's totals and the weights before it."""
    before = {name: value.detach().clone() for name, value in trainer.network.state_dict().items()}
    images, targets = next(iter(trainer.host_batches(torch.arange(48), range(1))))
    if pinned:
        images, targets = images.pin_memory(), targets.pin_memory()
    totals = train.StepTotals({}, trainer.device)
    trainer.network.train()
    trainer.train_step(images, targets, totals)
    return totals, before


def assert_step_trained(trainer: train.Trainer, totals: train.StepTotals, before: dict) -> None:
    partial: dict = {}
    totals.write_to(partial)
    assert np.isfinite(partial["loss_sum"])
    assert partial["loss_sum"] > 0
    assert 0 <= partial["correct"] <= 8
    assert partial["gradient_steps"] + partial["nonfinite_steps"] <= 1
    after = trainer.network.state_dict()
    assert any(not torch.equal(after[name].cpu(), before[name].cpu()) for name in before)
    assert all(torch.isfinite(value).all() for value in after.values() if value.is_floating_point())


def test_a_cpu_step_trains_in_full_precision():
    trainer = make_trainer(Runtime(CPU))

    totals, before = one_step(trainer)

    assert_step_trained(trainer, totals, before)
    assert trainer.scaler is None
    assert int(totals.norm_steps) == 1


def test_a_channels_last_step_computes_what_a_channels_first_one_does():
    # Each built (which seeds every generator) right before its step: dropout draws the same masks.
    trainer = make_trainer(Runtime(CPU, memory_format=torch.channels_last))
    totals, _ = one_step(trainer)
    reference = make_trainer(Runtime(CPU))
    reference_totals, _ = one_step(reference)

    assert trainer.network.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    losses = [float(t.loss_sum) for t in (totals, reference_totals)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-5)
    # Same seed, same batch: only the order of the convolutions' sums differs. (The weights after
    # the step are not compared: Adam's first step moves each by about +/- the learning rate, so a
    # gradient near zero can flip its sign.)
    for gradient, expected in zip(trainer._gradients(), reference._gradients(), strict=True):
        assert torch.allclose(gradient, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    ("dtype", "scaler"), [(torch.bfloat16, False), (torch.float16, True)], ids=["bfloat16", "float16-scaled"]
)
def test_the_mixed_precision_step_runs_under_cpu_autocast(dtype, scaler):
    trainer = make_trainer(Runtime(CPU, amp_dtype=dtype, grad_scaler=scaler), model="mobilenet_v3_small")

    totals, before = one_step(trainer)

    assert_step_trained(trainer, totals, before)
    assert (trainer.scaler is not None) is scaler


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)
@pytest.mark.parametrize("model", ["small_cnn", "mobilenet_v3_small"])
def test_a_cuda_step_with_autocast_grad_scaler_and_pinned_memory(model):
    runtime = Runtime(torch.device("cuda"), amp_dtype=torch.float16, grad_scaler=True, pin_memory=True)
    trainer = make_trainer(runtime, model=model)

    totals, before = one_step(trainer, pinned=True)
    torch.cuda.synchronize()

    assert all(p.is_cuda for p in trainer.network.parameters())
    assert_step_trained(trainer, totals, before)
    assert trainer.scaler is not None
    assert trainer.scaler.get_scale() > 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_GPU)
def test_a_cuda_checkpoint_resumes_on_the_cpu(tmp_path):
    gpu = make_trainer(train.devices.runtime_for(torch.device("cuda"), cores=2), epochs=2)
    gpu.run(tmp_path, TerminationRequest())

    cpu = make_trainer(Runtime(CPU), epochs=2)
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint is not None
    assert cpu.restore(checkpoint)
    assert all(not value.is_cuda for value in cpu.network.state_dict().values())
    assert cpu.state.epochs_done == 2


def test_the_loader_feed_gives_the_same_training_as_the_inline_one():
    """Batches built by DataLoader workers (the GPU feed) are the ones the loop builds itself."""
    inline = make_trainer(Runtime(CPU), epochs=1)
    inline.run(None, TerminationRequest())
    loaded = make_trainer(Runtime(CPU, loader_workers=1), epochs=1)  # seeds torch again
    loaded.run(None, TerminationRequest())

    strip = [{k: v for k, v in entry.items() if k != "seconds"} for entry in inline.state.history]
    assert strip == [{k: v for k, v in entry.items() if k != "seconds"} for entry in loaded.state.history]
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            inline.network.state_dict().values(), loaded.network.state_dict().values(), strict=True
        )
    )


def test_fine_tuning_gives_the_backbone_a_smaller_learning_rate():
    arch = "mobilenet_v3_small"
    weights = PretrainedWeights(
        path=Path("mobilenet_v3_small-047dcff4.pth"),
        sha256="0" * 64,
        state_dict=imagenet_network(arch).state_dict(),
    )
    hp = Hyperparameters.for_model(arch, num_threads=1, backbone_lr_factor=0.1)

    trainer = train.Trainer(
        hp, random_split(8, 0), random_split(4, 1), LABELS, weights=weights, runtime=Runtime(CPU)
    )

    head, rest = trainer.optimizer.param_groups
    assert head["lr"] == pytest.approx(hp.learning_rate)
    assert rest["lr"] == pytest.approx(hp.learning_rate * 0.1)
    assert isinstance(trainer.network, Backbone)
    assert {id(p) for p in head["params"]} == {id(p) for p in trainer.network.head_parameters()}
    assert len(head["params"]) + len(rest["params"]) == len(list(trainer.network.parameters()))


def test_without_pretrained_weights_every_layer_learns_at_the_same_rate():
    trainer = make_trainer(Runtime(CPU), model="mobilenet_v3_small", pretrained=False)

    assert len(trainer.optimizer.param_groups) == 1
