"""``UpdateModelPackage`` erases the package's ``CustomerMetadataProperties``.

The pipeline revokes an approval with an update that names only the status; the metrics and job
names the package was registered with must survive it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.sagemaker.models import SageMakerModelBackend

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def update_model_package_keeping_metadata(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``SageMakerModelBackend.update_model_package`` so omitted metadata is kept."""

    def update(backend_self: SageMakerModelBackend, model_package_arn: str, *args: Any, **kwargs: Any) -> Any:
        name = backend_self.model_package_name_mapping.get(model_package_arn, model_package_arn)
        package = backend_self.model_packages.get(name)
        kept = dict(package.customer_metadata_properties or {}) if package is not None else None
        arn = original(backend_self, model_package_arn, *args, **kwargs)
        if package is not None and package.customer_metadata_properties is None:
            package.customer_metadata_properties = kept
        return arn

    return update


def _patches() -> Patches:
    yield replace(
        SageMakerModelBackend,
        "update_model_package",
        update_model_package_keeping_metadata(SageMakerModelBackend.update_model_package),
    )


WORKAROUND = Workaround(
    name="update_model_package_drops_metadata",
    moto_does="sets CustomerMetadataProperties to None on an update that does not name them",
    aws_does="keeps the properties the request leaves out",
    applies_to="==5.2.5",
    patches=_patches,
)
