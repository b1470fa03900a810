"""``CreateModel`` with the name of an existing model replaces it.

The batch machine names its SageMaker model after the approved package version and reuses it on
later runs: it relies on the create failing when the model exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def create_model_once(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``SageMakerModelBackend.create_model``: an existing name is refused as AWS refuses it."""

    def create_model(backend_self: SageMakerModelBackend, *args: Any, **kwargs: Any) -> Any:
        model_name = kwargs.get("model_name", args[0] if args else None)
        existing = backend_self._models.get(str(model_name))
        if existing is not None:
            raise ValidationError(message=f'Cannot create already existing model "{existing.arn}".')
        return original(backend_self, *args, **kwargs)

    return create_model


def _patches() -> Patches:
    yield replace(
        SageMakerModelBackend, "create_model", create_model_once(SageMakerModelBackend.create_model)
    )


WORKAROUND = Workaround(
    name="sagemaker_create_model_overwrites",
    moto_does="replaces an existing model when CreateModel names it again",
    aws_does=(
        'refuses: ValidationException "Cannot create already existing model "<model ARN>"." '
        "(model names are unique per account and Region)"
    ),
    applies_to="==5.2.5",
    patches=_patches,
)
