"""Training hyperparameters from SageMaker's ``SM_HPS`` (JSON) and ``--name value`` arguments.

Arguments win over ``SM_HPS``. SageMaker passes every value as a string, and tuning jobs add
bookkeeping entries (``_tuning_objective_metric``, ``sagemaker_*``): values are converted to their
declared types, and unknown names are reported, never fatal.

Defaults depend on the architecture: a value not given takes the chosen model's default
(``ARCHITECTURE_DEFAULTS``, then the dataclass's), so ``model=resnet18`` alone fine-tunes with
settings meant for a pretrained backbone.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from defect_model import ARCHITECTURES

LOG = logging.getLogger(__name__)

OBJECTIVE_METRICS = {
    # metric name in the log lines -> (history key, True when larger is better)
    "validation:macro_f1": ("macro_f1", True),
    "validation:accuracy": ("accuracy", True),
    "validation:min_defect_recall": ("min_defect_recall", True),
    "validation:loss": ("validation_loss", False),
}


# Fine-tuning an ImageNet backbone (resnet18, mobilenet_v3_small) from its pretrained weights: the
# new head learns at learning_rate and the pretrained layers at a tenth of it (backbone_lr_factor),
# so the filters adapt without being washed out in the first epochs; batches of 32 give batch norm
# steadier statistics (and a GPU fuller batches); pretrained features converge in fewer epochs, so
# fewer of them and a shorter patience. Not tuned here (no pretrained weights offline): common
# fine-tuning practice for AdamW, to be tuned on real photos.
BACKBONE_DEFAULTS: dict[str, Any] = {"epochs": 15, "batch_size": 32, "learning_rate": 0.001, "patience": 4}
ARCHITECTURE_DEFAULTS: dict[str, dict[str, Any]] = {
    "small_cnn": {},
    "resnet18": BACKBONE_DEFAULTS,
    "mobilenet_v3_small": BACKBONE_DEFAULTS,
}


@dataclass(frozen=True)
class Hyperparameters:
    """Every tunable of a training job; the defaults are small_cnn's, tuned on the synthetic dataset
    (``for_model`` gives another architecture's)."""

    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 0.002
    weight_decay: float = 0.0001
    dropout: float = 0.2
    model: str = "small_cnn"
    augment: bool = True
    class_weighting: str = "balanced"
    patience: int = 5
    seed: int = 42
    num_threads: int = 0
    objective_metric: str = "validation:macro_f1"
    normal_class: str = "ok"
    # Backbones only: start from the ImageNet weights of the ``pretrained`` channel (required then).
    pretrained: bool = True
    # Backbones fine-tuned from pretrained weights: the backbone's learning rate relative to the head's.
    backbone_lr_factor: float = 0.1

    @classmethod
    def for_model(cls, model: str, **values: Any) -> Hyperparameters:
        """The defaults of ``model`` (``ARCHITECTURE_DEFAULTS``) with ``values`` on top."""
        return replace(cls(), model=model, **{**ARCHITECTURE_DEFAULTS.get(model, {}), **values})

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the values (stored in model.pt and checkpoints)."""
        return asdict(self)


def parse_bool(value: str | bool) -> bool:
    """Parse SageMaker's string booleans (``true``/``false``/``1``/``0``/``yes``/``no``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y"}:
        return True
    if text in {"false", "0", "no", "n"}:
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")


def _is_bookkeeping(name: str) -> bool:
    return name.startswith(("_", "sagemaker_"))


def parse_hyperparameters(argv: list[str], sm_hps: str | None) -> Hyperparameters:
    """Build the hyperparameters from ``SM_HPS`` (JSON object or None) and ``--name value`` args."""
    defaults = Hyperparameters()
    parser = argparse.ArgumentParser(description="Train the defect classifier (SageMaker script mode).")
    for spec in fields(Hyperparameters):
        default = getattr(defaults, spec.name)
        converter: Any = parse_bool if isinstance(default, bool) else type(default)
        # No default here: a name not given takes the chosen model's default below.
        parser.add_argument(f"--{spec.name}", type=converter, default=None)
    from_env = json.loads(sm_hps) if sm_hps else {}
    if not isinstance(from_env, dict):
        raise ValueError("SM_HPS must be a JSON object")
    known = {spec.name for spec in fields(Hyperparameters)}
    unknown = sorted(name for name in from_env if name not in known and not _is_bookkeeping(name))
    if unknown:
        LOG.warning("ignoring unknown hyperparameters: %s", ", ".join(unknown))
    env_args = [f"--{name}={value}" for name, value in from_env.items() if name in known]
    namespace, extra = parser.parse_known_args(env_args + list(argv))
    unknown_args = [arg for arg in extra if arg.startswith("--") and not _is_bookkeeping(arg[2:])]
    if unknown_args:
        LOG.warning("ignoring unknown arguments: %s", " ".join(unknown_args))
    given = {name: value for name, value in vars(namespace).items() if value is not None}
    hyperparameters = Hyperparameters.for_model(given.pop("model", defaults.model), **given)
    _validate(hyperparameters)
    return hyperparameters


def _validate(hp: Hyperparameters) -> None:
    problems = []
    if hp.epochs < 1:
        problems.append("epochs must be >= 1")
    if hp.batch_size < 1:
        problems.append("batch_size must be >= 1")
    if not hp.learning_rate > 0:
        problems.append("learning_rate must be > 0")
    if not 0 <= hp.dropout < 1:
        problems.append("dropout must be in [0, 1)")
    if hp.patience < 1:
        problems.append("patience must be >= 1")
    if hp.num_threads < 0:
        problems.append("num_threads must be >= 0")
    if not 0 <= hp.backbone_lr_factor <= 1:
        problems.append("backbone_lr_factor must be in [0, 1]")
    if hp.model not in ARCHITECTURES:
        problems.append(f"model must be one of {', '.join(ARCHITECTURES)}")
    if hp.class_weighting not in {"balanced", "none"}:
        problems.append("class_weighting must be 'balanced' or 'none'")
    if hp.objective_metric not in OBJECTIVE_METRICS:
        problems.append(f"objective_metric must be one of {', '.join(OBJECTIVE_METRICS)}")
    if problems:
        raise ValueError("invalid hyperparameters: " + "; ".join(problems))
