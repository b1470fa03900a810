"""SageMaker script-mode training entry point for the defect classifier.

Reads the train and validation channels (Parquet shards), trains with early stopping on the
objective metric, prints one metric line per epoch for ``MetricDefinitions`` (with the training
diagnostics of ``diagnostics.py``), checkpoints every epoch (and on SIGTERM) for managed spot
training, and writes ``model.pt``, ``metrics.json``, ``diagnostics.json`` and the serving ``code/``
to ``SM_MODEL_DIR``. Backbones start from the ImageNet weights of the ``pretrained`` channel
(``pretrained_weights.py``). Runs on a GPU when there is one (mixed precision, batches fed by a
``DataLoader`` from pinned memory), else on the CPU (``devices.py``). See docs/training.md.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import json
import logging
import os
import shutil
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defect_model
import devices
import diagnostics
import numpy as np
import pretrained_weights
import torch
from augmentation import augment_batch
from checkpointing import EXIT_TERMINATED, TerminationRequest, load_checkpoint, save_checkpoint
from classification_metrics import classification_report
from hyperparameters import OBJECTIVE_METRICS, Hyperparameters, parse_hyperparameters
from model_artifact import DIAGNOSTICS_FILE, save_model_file
from parquet_dataset import ImageSplit, load_split
from pretrained_weights import PretrainedWeights
from torch import nn
from torch.utils.data import DataLoader, Dataset

LOG = logging.getLogger("train")
SOURCE_DIR = Path(__file__).resolve().parent
SERVING_ENTRY_POINT = "inference.py"


@dataclass(frozen=True)
class TrainingPaths:
    """Where script mode puts inputs and expects outputs."""

    train: Path
    validation: Path
    model_dir: Path
    output_data_dir: Path
    checkpoint_dir: Path
    model_version: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TrainingPaths:
        """Read the ``SM_*`` variables, with the container's defaults."""
        return cls(
            train=Path(environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train")),
            validation=Path(environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")),
            model_dir=Path(environ.get("SM_MODEL_DIR", "/opt/ml/model")),
            output_data_dir=Path(environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")),
            checkpoint_dir=Path(environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")),
            model_version=environ.get("TRAINING_JOB_NAME", "local"),
        )


@dataclass
class RunState:
    """Everything a restart needs besides the model, optimizer, scheduler and RNG states."""

    epochs_done: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float = float("-inf")
    best_validation_loss: float = float("inf")
    best_state_dict: dict[str, torch.Tensor] | None = None
    best_report: dict[str, Any] | None = None
    epochs_without_improvement: int = 0
    stopped_early: bool = False
    # One ``diagnostics.EpochSignals`` (as a dict) per epoch done.
    diagnostic_signals: list[dict[str, Any]] = field(default_factory=list)
    # The epoch being trained when SIGTERM arrived: its batch order and progress.
    partial_epoch: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.stopped_early


def available_cores() -> int:
    """CPU cores this process may run on (the container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def metric_line(entry: Mapping[str, float], *, prefix: str = "epoch") -> str:
    """The per-epoch log line matched by the MetricDefinitions (docs/contracts.md)."""
    return (
        f"{prefix}={int(entry['epoch'])}; train:loss={entry['train_loss']:.4f}; "
        f"validation:loss={entry['validation_loss']:.4f}; validation:accuracy={entry['accuracy']:.4f}; "
        f"validation:macro_f1={entry['macro_f1']:.4f}; "
        f"validation:min_defect_recall={entry['min_defect_recall']:.4f};"
    )


class BatchSource(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Some batches of one epoch's order (``batches``, indices of batches) as host tensors: uint8
    images (N x H x W x 3) and class indices. It draws no random number, so workers of a
    ``DataLoader`` can build batches in any order and the epoch stays reproducible."""

    def __init__(
        self,
        images: np.ndarray,
        targets: torch.Tensor,
        order: torch.Tensor,
        *,
        batch_size: int,
        batches: range,
    ) -> None:
        self.images = images
        self.targets = targets
        self.order = order
        self.batch_size = batch_size
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        batch = self.batches[index]
        rows = self.order[batch * self.batch_size : (batch + 1) * self.batch_size]
        return torch.from_numpy(self.images[rows.numpy()]), self.targets[rows]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return (self[index] for index in range(len(self)))


def _loader_worker_init(_worker_id: int) -> None:
    """Loader workers ignore SIGTERM: on a spot interruption the training loop saves a checkpoint
    and ends them itself, and a worker killed first would make the loader raise instead."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class StepTotals:
    """An epoch's running sums of the per-step values (loss, correct predictions, gradient norms),
    kept as tensors on the training device so a GPU step never waits for the host; ``write_to``
    copies them into the epoch's ``partial`` record (epoch end, interruption)."""

    def __init__(self, partial: Mapping[str, Any], device: torch.device) -> None:
        def number(key: str, dtype: torch.dtype) -> torch.Tensor:
            return torch.tensor(partial.get(key, 0), dtype=dtype, device=device)

        self.loss_sum = number("loss_sum", torch.float64)
        self.correct = number("correct", torch.int64)
        self.norm_sum = number("gradient_norm_sum", torch.float64)
        self.norm_max = number("gradient_norm_max", torch.float64)
        self.norm_steps = number("gradient_steps", torch.int64)
        self.nonfinite = number("nonfinite_steps", torch.int64)

    def add_batch(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        """A step's mean loss (weighted by the batch size) and its correct predictions: the
        diagnostics' training accuracy, from the logits the step computed anyway."""
        self.loss_sum += loss.detach().double() * len(targets)
        self.correct += (logits.detach().argmax(dim=1) == targets).sum()

    def add_gradients(self, gradients: list[torch.Tensor], *, count_nonfinite: bool = True) -> None:
        """A step's global gradient norm (L2 over every parameter's gradient); a norm that is not
        finite is counted apart (unless the loss scaler skips such steps on its own)."""
        if not gradients:
            return
        norm = torch.nn.utils.get_total_norm(gradients).double()
        finite = torch.isfinite(norm)
        kept = torch.where(finite, norm, torch.zeros_like(norm))
        self.norm_sum += kept
        self.norm_max = torch.maximum(self.norm_max, kept)
        self.norm_steps += finite
        if count_nonfinite:
            self.nonfinite += ~finite

    def write_to(self, partial: dict[str, Any]) -> None:
        """Copy the sums into ``partial`` as plain numbers (one host sync)."""
        partial["loss_sum"] = float(self.loss_sum)
        partial["correct"] = int(self.correct)
        partial["gradient_norm_sum"] = float(self.norm_sum)
        partial["gradient_norm_max"] = float(self.norm_max)
        partial["gradient_steps"] = int(self.norm_steps)
        partial["nonfinite_steps"] = int(self.nonfinite)


class Trainer:
    """One training run: model, optimiser, schedule and data, resumable from a checkpoint.

    ``weights``: a backbone's ImageNet weights (from the ``pretrained`` channel) to fine-tune from.
    ``runtime``: device, precision and data feed (``devices.runtime_for`` the available device when
    not given).
    """

    def __init__(
        self,
        hp: Hyperparameters,
        train: ImageSplit,
        validation: ImageSplit,
        labels: list[str],
        *,
        weights: PretrainedWeights | None = None,
        runtime: devices.Runtime | None = None,
    ) -> None:
        self.hp = hp
        self.train = train
        self.validation = validation
        self.labels = labels
        index = {label: i for i, label in enumerate(labels)}
        self.train_targets = torch.tensor([index[label] for label in train.labels], dtype=torch.long)
        self.validation_targets = np.array([index[label] for label in validation.labels])
        counts = Counter(train.labels)
        self.class_counts = {label: counts[label] for label in labels}
        train_mean, train_std = defect_model.channel_statistics(train.images)
        self.mean, self.std = defect_model.normalisation_for(hp.model, train_mean, train_std)

        self.runtime = runtime or devices.runtime_for(devices.select_device(), available_cores())
        self.device = self.runtime.device
        self.weights = weights

        devices.seed_everything(hp.seed)
        # Data order and augmentation: always a CPU generator, so every device draws the same numbers.
        self.generator = torch.Generator().manual_seed(hp.seed)
        self.network = defect_model.build_model(
            hp.model, len(labels), dropout=hp.dropout, weights=weights.state_dict if weights else None
        ).to(self.device)
        # Module.to(memory_format=...) converts the 4-D weights; documented
        # (https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.to) but
        # missing from torch's type stubs.
        self.network.to(memory_format=self.runtime.memory_format)  # type: ignore[call-overload]
        groups = defect_model.parameter_groups(
            self.network, hp.learning_rate, hp.backbone_lr_factor, fine_tuning=weights is not None
        )
        self.optimizer = torch.optim.AdamW(groups, lr=hp.learning_rate, weight_decay=hp.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=hp.epochs)
        class_weights = self._class_weights()
        self.criterion = nn.CrossEntropyLoss(
            weight=None if class_weights is None else class_weights.to(self.device)
        )
        self.trainable = [p for p in self.network.parameters() if p.requires_grad]
        self.mean_tensor = torch.tensor(self.mean, dtype=torch.float32, device=self.device)
        self.std_tensor = torch.tensor(self.std, dtype=torch.float32, device=self.device)
        # Loss scaling for float16 autocast (https://pytorch.org/docs/stable/amp.html#gradient-scaling).
        self.scaler = torch.amp.GradScaler(self.device.type) if self.runtime.grad_scaler else None
        self.state = RunState()

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.runtime.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.runtime.amp_dtype)

    def _class_weights(self) -> torch.Tensor | None:
        if self.hp.class_weighting == "none":
            return None
        # "balanced": each class weighs n_samples / (n_classes * n_class_samples), so rare
        # defects count as much as the common normal class.
        counts = torch.bincount(self.train_targets, minlength=len(self.labels)).double()
        weights = counts.sum() / (len(self.labels) * counts.clamp(min=1))
        return weights.float()

    # Checkpoints ----------------------------------------------------------------------------

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a checkpoint to belong to this run (threads may differ)."""
        settings = self.hp.as_dict()
        settings.pop("num_threads")
        return {
            "hyperparameters": settings,
            "labels": self.labels,
            "train_samples": len(self.train),
            "pretrained_weights": self.weights.sha256 if self.weights else None,
        }

    def checkpoint_state(self) -> dict[str, Any]:
        """The full state of the run, for ``save_checkpoint`` (loadable on any device: tensors are
        loaded to the CPU and moved to the run's device on restore)."""
        state = {
            "fingerprint": self.fingerprint(),
            "model": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "run": vars(self.state).copy(),
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state_all()  # dropout's draws on the GPU
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        return state

    def restore(self, checkpoint: Mapping[str, Any]) -> bool:
        """Resume from a checkpoint; False (and a fresh start) if it belongs to another run."""
        if checkpoint.get("fingerprint") != self.fingerprint():
            LOG.warning("checkpoint was written by a run with other settings or data; ignoring it")
            return False
        self.network.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.scheduler.load_state_dict(checkpoint["scheduler"])
        self.generator.set_state(checkpoint["generator"])
        torch.set_rng_state(checkpoint["torch_rng"])
        cuda_rng = checkpoint.get("cuda_rng")
        if self.device.type == "cuda" and cuda_rng and len(cuda_rng) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_rng)
        if self.scaler is not None and checkpoint.get("scaler"):
            self.scaler.load_state_dict(checkpoint["scaler"])
        self.state = RunState(**checkpoint["run"])
        return True

    # Training -------------------------------------------------------------------------------

    def run(self, checkpoint_dir: Path | None, termination: TerminationRequest) -> bool:
        """Train until done or early-stopped; False when interrupted by SIGTERM (checkpoint saved)."""
        while not self.state.finished and self.state.epochs_done < self.hp.epochs:
            if not self._train_epoch(termination):
                self._save(checkpoint_dir)
                return False
            entry = self._end_epoch()
            signals = self.signals()
            checks = diagnostics.epoch_checks(signals, self.class_counts, self.hp.learning_rate)
            print(f"{metric_line(entry)} {diagnostics.metric_fields(checks, signals[-1])}", flush=True)
            self._save(checkpoint_dir)
            if termination.requested:
                return False
        return True

    def _save(self, checkpoint_dir: Path | None) -> None:
        if checkpoint_dir is not None:
            save_checkpoint(checkpoint_dir, self.checkpoint_state())

    def _train_epoch(self, termination: TerminationRequest) -> bool:
        """Train one epoch (or its remainder after a restart); False if SIGTERM stopped it."""
        partial = self.state.partial_epoch or {
            "epoch": self.state.epochs_done + 1,
            "order": torch.randperm(len(self.train), generator=self.generator),
            "next_batch": 0,
            "loss_sum": 0.0,
            "samples": 0,
            "started": time.monotonic(),
        }
        partial["started"] = time.monotonic() - partial.get("elapsed", 0.0)
        for key in ("correct", "gradient_norm_sum", "gradient_norm_max", "gradient_steps", "nonfinite_steps"):
            partial.setdefault(key, 0)
        self.state.partial_epoch = None
        order: torch.Tensor = partial["order"]
        batch_count = (len(order) + self.hp.batch_size - 1) // self.hp.batch_size
        self.network.train()
        totals = StepTotals(partial, self.device)
        batches = self.host_batches(order, range(partial["next_batch"], batch_count))
        for batch, (images, targets) in enumerate(batches, start=partial["next_batch"]):
            if termination.requested:
                # Abandon nothing already done: the checkpoint resumes at this very batch.
                totals.write_to(partial)
                partial["next_batch"] = batch
                partial["elapsed"] = time.monotonic() - partial["started"]
                self.state.partial_epoch = partial
                return False
            self.train_step(images, targets, totals)
            partial["samples"] += len(targets)
        totals.write_to(partial)
        # The rate this epoch trained with, before the schedule moves it for the next one.
        partial["learning_rate"] = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        self.state.partial_epoch = {**partial, "next_batch": batch_count}
        return True

    def host_batches(
        self, order: torch.Tensor, batches: range
    ) -> Iterable[tuple[torch.Tensor, torch.Tensor]]:
        """The epoch's ``batches`` as host tensors: built in this loop on the CPU; on a GPU by a
        ``DataLoader`` whose workers gather the next batches into pinned memory while the GPU
        computes."""
        source = BatchSource(
            self.train.images, self.train_targets, order, batch_size=self.hp.batch_size, batches=batches
        )
        workers = self.runtime.loader_workers
        if workers is None:
            return source
        return DataLoader(
            source,
            batch_size=None,  # each item is already a batch
            num_workers=workers,
            pin_memory=self.runtime.pin_memory,
            prefetch_factor=devices.LOADER_PREFETCH_BATCHES if workers else None,
            worker_init_fn=_loader_worker_init if workers else None,
            # The loader draws its workers' base seed from this generator, not from torch's global
            # one, which dropout uses: feeding through a loader leaves the training's draws as they were.
            generator=torch.Generator().manual_seed(self.hp.seed),
        )

    def train_step(self, images: torch.Tensor, targets: torch.Tensor, totals: StepTotals) -> None:
        """One optimisation step on a host batch (uint8 N x H x W x 3 images, class indices): copy
        to the device (asynchronously from pinned memory), augment and normalise there, forward
        under autocast when the runtime has mixed precision, backward (with loss scaling for
        float16), record the step's values in ``totals``, update the weights."""
        copy_async = self.runtime.pin_memory and images.is_pinned()
        inputs = defect_model.unit_tensor(images.to(self.device, non_blocking=copy_async))
        targets = targets.to(self.device, non_blocking=copy_async)
        if self.hp.augment:
            inputs = augment_batch(inputs, self.generator)
        inputs = defect_model.normalise(inputs, self.mean_tensor, self.std_tensor)
        inputs = inputs.contiguous(memory_format=self.runtime.memory_format)
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            logits = self.network(inputs)
            loss = self.criterion(logits, targets)
        if self.scaler is None:
            loss.backward()
            totals.add_gradients(self._gradients())
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            # Unscaled before measuring; a step whose gradients overflowed float16 is skipped by the
            # scaler (which then lowers the scale), so it is no sign of exploding gradients.
            self.scaler.unscale_(self.optimizer)
            totals.add_gradients(self._gradients(), count_nonfinite=False)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        totals.add_batch(loss, logits, targets)

    def _gradients(self) -> list[torch.Tensor]:
        return [p.grad.detach() for p in self.trainable if p.grad is not None]

    def _end_epoch(self) -> dict[str, float]:
        partial = self.state.partial_epoch
        assert partial is not None
        self.state.partial_epoch = None
        probabilities = defect_model.predict_probabilities(
            self.network, self.validation.images, self.mean, self.std
        )
        picked = probabilities[np.arange(len(probabilities)), self.validation_targets]
        validation_loss = float(-np.log(np.clip(picked, 1e-12, None)).mean())
        predicted = [self.labels[i] for i in probabilities.argmax(axis=1)]
        report = classification_report(self.validation.labels, predicted, self.labels, self.hp.normal_class)
        entry = {
            "epoch": partial["epoch"],
            "train_loss": partial["loss_sum"] / max(partial["samples"], 1),
            "validation_loss": validation_loss,
            "accuracy": report["accuracy"],
            "macro_f1": report["macro_f1"],
            "min_defect_recall": report["min_defect_recall"],
            "learning_rate": self.scheduler.get_last_lr()[0],
            "seconds": time.monotonic() - partial["started"],
        }
        self.state.history.append(entry)
        steps = partial.get("gradient_steps", 0)
        signals = diagnostics.EpochSignals(
            epoch=int(partial["epoch"]),
            train_loss=entry["train_loss"],
            validation_loss=validation_loss,
            train_accuracy=partial.get("correct", 0) / max(partial["samples"], 1),
            validation_accuracy=report["accuracy"],
            learning_rate=float(partial.get("learning_rate", self.hp.learning_rate)),
            gradient_norm=partial.get("gradient_norm_sum", 0.0) / steps if steps else float("nan"),
            gradient_norm_max=float(partial.get("gradient_norm_max", 0.0)) if steps else float("nan"),
            nonfinite_gradient_steps=int(partial.get("nonfinite_steps", 0)),
        )
        self.state.diagnostic_signals.append(signals.as_dict())
        self.state.epochs_done = partial["epoch"]
        self._track_best(entry, report)
        return entry

    def _track_best(self, entry: dict[str, float], report: dict[str, Any]) -> None:
        key, larger_is_better = OBJECTIVE_METRICS[self.hp.objective_metric]
        score = entry[key] if larger_is_better else -entry[key]
        state = self.state
        # Ties on the objective (common once validation accuracy reaches 1.0) go to the lower
        # validation loss: the better-calibrated model.
        improved = score > state.best_score or (
            score == state.best_score and entry["validation_loss"] < state.best_validation_loss
        )
        if improved:
            state.best_epoch = int(entry["epoch"])
            state.best_score = score
            state.best_validation_loss = entry["validation_loss"]
            # A host copy: GPU memory holds one model, and a checkpoint loads on any device.
            state.best_state_dict = {
                name: value.detach().to("cpu", copy=True) for name, value in self.network.state_dict().items()
            }
            state.best_report = report
            state.epochs_without_improvement = 0
        else:
            state.epochs_without_improvement += 1
            if state.epochs_without_improvement >= self.hp.patience:
                LOG.info(
                    "early stop after epoch %d: no improvement in %d epochs", entry["epoch"], self.hp.patience
                )
                state.stopped_early = True

    def signals(self) -> list[diagnostics.EpochSignals]:
        """The diagnostics' signals of every epoch done."""
        return [diagnostics.EpochSignals(**signals) for signals in self.state.diagnostic_signals]

    def diagnostics_document(self) -> dict[str, Any]:
        """``diagnostics.json``: the verdict of every check for this run and its kept epoch."""
        return diagnostics.diagnostics_document(
            self.signals(), self.class_counts, self.hp.learning_rate, self.state.best_epoch
        )

    def best_network(self) -> nn.Module:
        """The network with the best epoch's weights loaded."""
        if self.state.best_state_dict is not None:
            self.network.load_state_dict(self.state.best_state_dict)
        return self.network


# Outputs ------------------------------------------------------------------------------------


def serving_modules(entry_point: Path) -> list[Path]:
    """``entry_point`` and every module of its folder that it imports, directly or not."""
    folder = entry_point.parent
    found: list[Path] = []
    pending = [entry_point]
    while pending:
        module = pending.pop()
        if module in found:
            continue
        found.append(module)
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module.split(".")[0]]
            pending += [folder / f"{name}.py" for name in names if (folder / f"{name}.py").is_file()]
    return sorted(found)


def copy_serving_code(model_dir: Path) -> list[str]:
    """Copy the inference handler and its local imports to ``model_dir/code``; returns the names."""
    code_dir = model_dir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    modules = serving_modules(SOURCE_DIR / SERVING_ENTRY_POINT)
    for module in modules:
        shutil.copy2(module, code_dir / module.name)
    return [module.name for module in modules]


def write_outputs(trainer: Trainer, paths: TrainingPaths) -> dict[str, Any]:
    """Write model.pt, metrics.json, diagnostics.json and code/ to the model dir, and the curve to
    the output dir."""
    state = trainer.state
    report = state.best_report or {}
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    save_model_file(
        paths.model_dir / "model.pt",
        network=trainer.best_network(),
        arch=trainer.hp.model,
        labels=trainer.labels,
        normal_class=trainer.hp.normal_class,
        image_size=trainer.train.image_size,
        mean=trainer.mean,
        std=trainer.std,
        model_version=paths.model_version,
        hyperparameters=trainer.hp.as_dict(),
    )
    metrics = {
        "model_version": paths.model_version,
        "split": "validation",
        "labels": trainer.labels,
        "normal_class": trainer.hp.normal_class,
        "best_epoch": state.best_epoch,
        "epochs_run": state.epochs_done,
        "stopped_early": state.stopped_early,
        "objective_metric": trainer.hp.objective_metric,
        "accuracy": report.get("accuracy"),
        "macro_f1": report.get("macro_f1"),
        "min_defect_recall": report.get("min_defect_recall"),
        "per_class": report.get("per_class"),
        "confusion_matrix": report.get("confusion_matrix"),
        "history": state.history,
        # The ImageNet weights the backbone started from (file name, sha256, tensors), or null.
        "pretrained_weights": trainer.weights.summary() if trainer.weights else None,
        "device": trainer.device.type,
        "precision": trainer.runtime.precision,
    }
    (paths.model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    diagnostics_json = json.dumps(trainer.diagnostics_document(), indent=2)
    (paths.model_dir / DIAGNOSTICS_FILE).write_text(diagnostics_json, encoding="utf-8")
    copy_serving_code(paths.model_dir)
    paths.output_data_dir.mkdir(parents=True, exist_ok=True)
    (paths.output_data_dir / "history.json").write_text(json.dumps(state.history, indent=2), encoding="utf-8")
    with (paths.output_data_dir / "training_curve.csv").open("w", newline="", encoding="utf-8") as stream:
        if state.history:
            writer = csv.DictWriter(stream, fieldnames=list(state.history[0]))
            writer.writeheader()
            writer.writerows(state.history)
    return metrics


def usable_checkpoint_dir(directory: Path) -> Path | None:
    """The checkpoint folder if it can be created and written, else None (checkpoints off)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        LOG.warning("checkpoints disabled: cannot create %s (%s)", directory, exc)
        return None
    if not os.access(directory, os.W_OK):
        LOG.warning("checkpoints disabled: %s is not writable", directory)
        return None
    return directory


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run a training job; returns the process exit status (0, or 143 when stopped by SIGTERM)."""
    environ = os.environ if environ is None else environ
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    hp = parse_hyperparameters(sys.argv[1:] if argv is None else argv, environ.get("SM_HPS"))
    paths = TrainingPaths.from_environ(environ)
    # Before anything else: a backbone without its weights fails the job at once.
    weights = pretrained_weights.resolve(hp, environ)
    threads = hp.num_threads or available_cores()
    torch.set_num_threads(threads)
    devices.use_deterministic_algorithms()
    runtime = devices.runtime_for(devices.select_device(), available_cores())
    termination = TerminationRequest().install()
    try:
        train = load_split(paths.train)
        validation = load_split(paths.validation, image_size=train.image_size)
        labels = sorted(set(train.labels))
        unseen = sorted(set(validation.labels) - set(labels))
        if unseen:
            raise ValueError(f"validation labels absent from the training data: {unseen}")
        if hp.normal_class not in labels:
            LOG.warning(
                "normal class %r is not among the labels %s: every class counts as a defect",
                hp.normal_class,
                labels,
            )
        LOG.info(
            "training %s on %d images (%d validation), labels %s, %d threads, on %s in %s",
            hp.model, len(train), len(validation), labels, threads, runtime.device, runtime.precision,
        )  # fmt: skip
        trainer = Trainer(hp, train, validation, labels, weights=weights, runtime=runtime)
        checkpoint_dir = usable_checkpoint_dir(paths.checkpoint_dir)
        checkpoint = load_checkpoint(checkpoint_dir) if checkpoint_dir else None
        if checkpoint is not None and trainer.restore(checkpoint):
            LOG.info("resumed from checkpoint after %d epochs", trainer.state.epochs_done)
        if not trainer.run(checkpoint_dir, termination):
            LOG.warning("stopped by SIGTERM; checkpoint saved, exiting with %d", EXIT_TERMINATED)
            return EXIT_TERMINATED
    finally:
        termination.restore()
    metrics = write_outputs(trainer, paths)
    best = next(entry for entry in trainer.state.history if entry["epoch"] == trainer.state.best_epoch)
    verdict = diagnostics.run_checks(
        trainer.signals(), trainer.class_counts, hp.learning_rate, trainer.state.best_epoch
    )
    best_signals = next((s for s in trainer.signals() if s.epoch == trainer.state.best_epoch), None)
    for name, check in verdict.items():
        if check.has_issues:
            LOG.warning("diagnostic %s: %s", name, check.reason)
    # The tuner takes the last value a MetricDefinition matched: end with the kept epoch's values
    # (and the diagnostics' verdict for the run).
    verdict_fields = diagnostics.metric_fields(verdict, best_signals)
    print(f"{metric_line(best, prefix='best_epoch')} {verdict_fields}", flush=True)
    LOG.info(
        "best epoch %d: accuracy %.4f, macro F1 %.4f",
        metrics["best_epoch"],
        metrics["accuracy"],
        metrics["macro_f1"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
