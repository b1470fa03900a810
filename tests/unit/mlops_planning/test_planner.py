"""The planner over requirement profiles: each choice, its reason and source, and the parameters."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from mlops_common.domain.run_plan import plan_run
from mlops_common.models import PlanRunInput
from mlops_planning.planner import Recommendation, recommend
from mlops_planning.requirements import Requirements
from tests.asl import render

from .conftest import ROOT

Recommend = Callable[[str], Recommendation]

# profile -> {topic: (text in the decision, text in the reason)}
EXPECTED_CHOICES: dict[str, dict[str, tuple[str, str]]] = {
    "small_line": {
        "Glue data preparation": ("2 x G.1X", "Python shell"),
        "Training instance": ("ml.m5.xlarge", "a CPU trains in minutes"),
        "Spot or on-demand": ("managed spot", "checkpoints every epoch"),
        "Hyperparameter tuning": ("off", "too few validation images"),
        "Endpoint": ("1 x ml.m5.large", "one instance is enough"),
        "Monitoring": ("daily", "too few requests"),
        "Retraining schedule": ("weekly", "TriggerMaxDelaySeconds"),
    },
    "large_plant": {
        "Glue data preparation": ("10 x G.2X", "millions of images"),
        "Training instance": ("ml.g5.xlarge", "A10G"),
        "Spot or on-demand": ("managed spot", "MaxWaitSeconds"),
        "Hyperparameter tuning": ("4 trials, 2 in parallel", "daily retraining"),
        "Endpoint": ("2 x ml.c5.xlarge", "20 requests/s"),
        "Monitoring": ("hourly, capturing 20%", "stable statistics"),
        "Retraining schedule": ("daily", "30.4 runs a month"),
        "Networking": ("VPC only: 2 private subnets", "Glue job needs a network connection"),
        "Encryption": ("PipelineKey", "as required"),
    },
    "batch_audit": {
        "Glue data preparation": ("5 x G.1X", "up to 1M images"),
        "Training instance": ("ml.g4dn.xlarge", "T4"),
        "Spot or on-demand": ("on-demand", "not tolerated"),
        "Endpoint": ("batch only", "batch transform"),
        "Batch schedule": ("ENABLED", "Nightly transform"),
        "Retraining schedule": ("monthly", "daily uploads add runs beyond the schedule"),
    },
    "impossible_budget": {
        "Endpoint": ("1 x ml.g4dn.xlarge", "fit the budget"),
        "Hyperparameter tuning": ("off", "fit the budget"),
        "Monitoring": ("daily", "fit the budget"),
    },
}


@pytest.mark.parametrize(
    ("profile", "topic", "decision", "reason"),
    [(p, topic, d, r) for p, choices in EXPECTED_CHOICES.items() for topic, (d, r) in choices.items()],
)
def test_profile_choice_and_its_reason(
    recommend_profile: Recommend, profile: str, topic: str, decision: str, reason: str
):
    choice = recommend_profile(profile).choice(topic)

    assert decision in choice.decision
    assert reason in choice.reason
    assert choice.source


@pytest.mark.parametrize("profile", list(EXPECTED_CHOICES))
def test_every_choice_names_a_source(recommend_profile: Recommend, profile: str):
    for choice in recommend_profile(profile).choices:
        assert "https://" in choice.source or "Well-Architected" in choice.source, choice.topic


def test_large_plant_writes_its_vpc_and_stays_within_budget(recommend_profile: Recommend):
    recommendation = recommend_profile("large_plant")

    assert recommendation.parameters["VpcSubnetIds"] == "subnet-0a1b2c3d,subnet-4e5f6a7b"
    assert recommendation.parameters["VpcSecurityGroupIds"] == "sg-0123abcd"
    assert recommendation.within_budget is True
    assert int(recommendation.parameters["MaxWaitSeconds"]) >= int(
        recommendation.parameters["MaxRuntimeSeconds"]
    )


def test_large_plant_warns_that_training_outlasts_a_day(recommend_profile: Recommend):
    recommendation = recommend_profile("large_plant")

    assert any("longer than the 24 h between runs" in w for w in recommendation.warnings)


def test_batch_audit_turns_the_endpoint_off_and_pays_only_for_the_transform(recommend_profile: Recommend):
    recommendation = recommend_profile("batch_audit")

    assert recommendation.endpoint_mode == "none"
    assert recommendation.parameters["DeployEndpoint"] == "false"
    assert recommendation.parameters["UseSpotTraining"] == "false"
    assert recommendation.cost is not None
    names = {item.name for item in recommendation.cost.items}
    assert not names & {"Real-time endpoint", "Model Monitor executions"}
    assert recommendation.cost.item("Batch transform").usd > 0
    assert any("cannot flag drift" in w for w in recommendation.warnings)


def test_real_time_profiles_keep_the_endpoint(recommend_profile: Recommend):
    assert recommend_profile("small_line").parameters["DeployEndpoint"] == "true"


def test_daily_uploads_under_a_capped_maximum_delay_are_counted_as_runs(
    recommend_profile: Recommend, template_parameters: dict[str, dict[str, Any]] | None
):
    recommendation = recommend_profile("batch_audit")  # monthly retraining, 5,000 uploads a day

    assert recommendation.cost is not None
    if (
        template_parameters is not None
        and template_parameters["TriggerMaxDelaySeconds"].get("MaxValue", 2_592_000) < 2_592_000
    ):
        max_delay = int(template_parameters["TriggerMaxDelaySeconds"]["MaxValue"])
        assert recommendation.cost.runs_per_month == pytest.approx(365 / 12 * 86_400 / max_delay, rel=1e-3)
        assert any("TriggerMaxDelaySeconds" in w for w in recommendation.warnings)
    else:
        assert recommendation.cost.runs_per_month == pytest.approx(1.0)


def test_unsupported_task_says_so_and_what_would_fit(recommend_profile: Recommend):
    recommendation = recommend_profile("object_detection")

    assert recommendation.supported is False
    assert recommendation.parameters == {}
    assert "not supported by this pipeline" in recommendation.warnings[0]
    assert any("Rekognition Custom Labels" in a for a in recommendation.alternatives)
    assert any("Object Detection" in a for a in recommendation.alternatives)


@pytest.mark.parametrize(
    ("task", "fits"), [("tabular", "Autopilot"), ("text", "Comprehend"), ("Object Detection", "Rekognition")]
)
def test_other_tasks_point_to_a_service_that_fits(task: str, fits: str):
    recommendation = recommend(Requirements(task=task))

    assert not recommendation.supported
    assert any(fits in a for a in recommendation.alternatives)


def test_interruption_intolerance_means_on_demand():
    recommendation = recommend(Requirements(interruption_tolerant=False))

    assert recommendation.parameters["UseSpotTraining"] == "false"


def test_out_of_range_numbers_are_clamped_to_the_template():
    parameters = {"MaxRuntimeSeconds": {"Type": "Number", "MinValue": 600, "MaxValue": 7200}}

    recommendation = recommend(
        Requirements(images_total=5_000_000, retrain="weekly"), template_parameters=parameters
    )

    assert recommendation.parameters["MaxRuntimeSeconds"] == "7200"
    assert any("outside the template's range" in w for w in recommendation.warnings)


def test_template_defaults_set_the_epochs_the_estimate_assumes():
    template = {"TrainingEpochs": {"Type": "Number", "Default": 30}}

    default = recommend(Requirements(images_total=100_000))
    thirty = recommend(Requirements(images_total=100_000), template_parameters=template)

    assert "(10 epochs)" in default.choice("Training instance").reason
    assert "(30 epochs)" in thirty.choice("Training instance").reason
    assert thirty.job_sizes is not None
    assert default.job_sizes is not None
    assert thirty.job_sizes.training_seconds > default.job_sizes.training_seconds


def _run_defaults(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The training machine's PlanRun defaults for a stack deployed with ``parameters``: each
    ``${Name}`` substitution resolved from the parameter it references, evaluated as Step Functions
    does."""
    values = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    values |= parameters
    machine = template["Resources"]["TrainingPipelineStateMachine"]
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    has_vpc = bool(values["VpcSubnetIds"] and values["VpcSecurityGroupIds"])

    def resolve(value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return values[value["Ref"]]
        if isinstance(value, dict) and "Fn::Select" in value:  # !Select [i, !Split [",", !Ref P]]
            index, split = value["Fn::Select"]
            separator, source = split["Fn::Split"]
            return resolve(source).split(separator)[int(index)]
        if isinstance(value, dict) and "Fn::If" in value:  # !If [HasVpc, "true", "false"]
            condition, when_true, when_false = value["Fn::If"]
            assert condition == "HasVpc", condition
            return str(when_true if has_vpc else when_false)
        return "unresolved"

    asl = json.loads((ROOT / "statemachines" / "training_pipeline.asl.json").read_text())
    defaults = asl["States"]["PlanRun"]["Arguments"]["Payload"]["defaults"]
    text = json.dumps(defaults)
    for name in re.findall(r"\$\{(\w+)\}", text):
        text = text.replace(f"${{{name}}}", resolve(substitutions[name]))
    # Numbers, booleans and lists are JSONata literals and expressions; strings stay as written.
    return dict(render(json.loads(text), {}))


@pytest.mark.parametrize("profile", list(EXPECTED_CHOICES))
def test_every_recommendation_is_a_configuration_the_pipeline_runs(
    recommend_profile: Recommend, template: dict[str, Any], profile: str
) -> None:
    """The parameters a profile recommends pass PlanRun's checks: images for the instance types,
    spot wait beyond the runtime, weights for a backbone, the endpoint and transform on one kind of
    hardware."""
    parameters = recommend_profile(profile).parameters
    request = PlanRunInput.model_validate(
        {
            "execution_name": "upload-1",
            "defaults": _run_defaults(template, parameters),
            "vpc": {
                "subnet_ids": parameters.get("VpcSubnetIds", ""),
                "security_group_ids": parameters.get("VpcSecurityGroupIds", ""),
            },
            "images": {
                "training": {"cpu": "t-cpu", "gpu": "t-gpu"},
                "inference": {"cpu": "i-cpu", "gpu": "i-gpu"},
            },
            "code_uri": "s3://artifacts/code/v/sourcedir.tar.gz",
        }
    )
    config = plan_run(request, data_bucket="data", artifacts_bucket="artifacts").config
    gpu = config["training_instance_type"].startswith(("ml.g", "ml.p"))
    assert config["images"]["training"] == ("t-gpu" if gpu else "t-cpu")


def test_a_gpu_plan_fine_tunes_a_backbone_from_uploaded_weights_on_spot(recommend_profile: Recommend) -> None:
    recommendation = recommend_profile("large_plant")
    parameters = recommendation.parameters
    assert parameters["TrainingInstanceType"] == "ml.g5.xlarge"
    assert parameters["ModelArchitecture"] == "resnet18"
    assert parameters["PretrainedWeightsKey"] == "pretrained/resnet18-f37072fd.pth"
    assert parameters["UseSpotTraining"] == "true"
    assert parameters["TuningLearningRateRange"] == "0.0001,0.001"
    assert any(
        "fetch_pretrained_weights.py --arch resnet18" in warning for warning in recommendation.warnings
    )


def test_a_gpu_endpoint_gets_a_gpu_transform_to_share_the_serving_image(recommend_profile: Recommend) -> None:
    parameters = recommend_profile("impossible_budget").parameters
    assert parameters["EndpointInstanceType"] == parameters["TransformInstanceType"] == "ml.g4dn.xlarge"
