"""Which model serves now, and where does it live?"""

from __future__ import annotations

from mlops_common.models import ChampionOutput, ModelPackageMetadata
from mlops_common.ports import ChampionLookup
from mlops_common.settings import ResolveChampionSettings


def resolve_champion(*, sagemaker: ChampionLookup, settings: ResolveChampionSettings) -> ChampionOutput:
    """The newest Approved package of the group and the live endpoint's config (nulls if absent)."""
    package = sagemaker.latest_approved_package(settings.model_package_group)
    endpoint = sagemaker.describe_endpoint(settings.endpoint_name)
    endpoint_fields = {
        "endpoint_exists": endpoint is not None,
        "endpoint_config_name": endpoint.get("EndpointConfigName") if endpoint else None,
    }
    if package is None:
        return ChampionOutput(has_champion=False, **endpoint_fields)
    containers = package.get("InferenceSpecification", {}).get("Containers", [])
    metadata = ModelPackageMetadata.model_validate(package.get("CustomerMetadataProperties", {}))
    return ChampionOutput(
        has_champion=True,
        model_package_arn=package["ModelPackageArn"],
        model_data_url=containers[0].get("ModelDataUrl") if containers else None,
        model_version=metadata.training_job,
        previous_tuning_job=metadata.tuning_job,
        **endpoint_fields,
    )
