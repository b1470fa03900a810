"""plan_run's use case: the sample event's run planned, and a refusal that names the setting."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlops_common.domain.run_plan import InvalidConfiguration
from mlops_common.models import PlanRunInput
from mlops_common.services.plan_run import plan_run
from mlops_common.settings import PlanRunSettings
from tests.conftest import REPO_ROOT

SETTINGS = PlanRunSettings(data_bucket="data-bucket", artifacts_bucket="artifacts-bucket")


def sample_event() -> dict[str, Any]:
    """The sample ``sam local invoke`` sends (events/plan_run.json)."""
    return json.loads((REPO_ROOT / "events" / "plan_run.json").read_text())


def test_the_sample_run_trains_on_the_gpu_image() -> None:
    planned = plan_run(PlanRunInput.model_validate(sample_event()), settings=SETTINGS)
    assert planned.config["training_instance_type"] == "ml.g5.xlarge"
    assert planned.config["images"]["training"].endswith("/pytorch:2.13.0-cu133-amzn2023-sagemaker")
    assert planned.config["use_tuning"] is False
    train = planned.config["training_channels"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert train == "s3://data-bucket/datasets/upload-20261112T1000-1a2b3c4d/train/"
    # What the handler returns is plain JSON for the state machine.
    assert planned.to_json()["network"]["training"]["EnableNetworkIsolation"] is True


def test_a_refused_run_names_the_setting() -> None:
    event = sample_event()
    event["input"]["overrides"] = {"max_wait_seconds": 60, "use_spot": True}
    with pytest.raises(InvalidConfiguration, match="MaxWaitSeconds greater than MaxRuntimeSeconds"):
        plan_run(PlanRunInput.model_validate(event), settings=SETTINGS)
