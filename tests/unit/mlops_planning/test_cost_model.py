"""The cost model's arithmetic against hand-computed figures, and the price table's provenance."""

from __future__ import annotations

import inspect
import json
from datetime import date
from importlib import resources

import pytest

from mlops_planning.cost_model import (
    CostBreakdown,
    JobSizes,
    PipelineSettings,
    estimate,
    job_sizes_from_bench,
    load_price_table,
    schedule_runs_per_month,
)

INSTANCE_TYPES = (
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.c5.xlarge",
    "ml.g4dn.xlarge",
    "ml.g5.xlarge",
    "ml.p3.2xlarge",
)


def _settings(**parameters: str) -> PipelineSettings:
    return PipelineSettings.from_parameters(parameters)


def test_every_price_names_its_source_date_and_status():
    table = load_price_table("us-east-1")

    for price in (*table.prices, *table.assumptions):
        assert price.source.startswith("https://"), price.key
        assert date.fromisoformat(price.checked) <= date.today()
        assert price.usd > 0


def test_price_table_covers_the_instance_types_the_template_offers():
    table = load_price_table()

    assert set(INSTANCE_TYPES) <= set(table.instance_types("training"))
    assert set(INSTANCE_TYPES) <= set(table.instance_types("hosting"))


def test_unknown_instance_type_is_an_error_naming_what_is_priced():
    with pytest.raises(KeyError, match=r"ml\.m5\.large"):
        estimate(_settings(TrainingInstanceType="ml.x1.32xlarge"), runs_per_month=1)


def test_glue_cost_is_dpus_times_hours_times_price():
    # 2 x G.1X = 2 DPU for 240 s: 2 * 240 / 3600 * 0.44 = 0.058667
    cost = estimate(_settings(), JobSizes(glue_seconds=240), runs_per_month=1)

    assert cost.item("Glue data preparation").usd == pytest.approx(0.058667, abs=1e-6)


def test_glue_bills_at_least_one_minute():
    # 30 s is billed as 60 s: 2 * 60 / 3600 * 0.44 = 0.014667
    cost = estimate(_settings(), JobSizes(glue_seconds=30), runs_per_month=1)

    assert cost.item("Glue data preparation").usd == pytest.approx(0.014667, abs=1e-6)


def test_glue_g2x_workers_count_two_dpus_each():
    # 10 x G.2X = 20 DPU for half an hour: 20 * 0.5 * 0.44 = 4.40
    settings = _settings(GlueWorkerType="G.2X", GlueNumberOfWorkers="10")

    cost = estimate(settings, JobSizes(glue_seconds=1800), runs_per_month=1)

    assert cost.item("Glue data preparation").usd == pytest.approx(4.40)


def test_tuning_on_spot_costs_the_on_demand_price_less_the_spot_saving():
    # 4 trials x 900 s on ml.m5.xlarge = 1 instance-hour = 0.23 on demand; 70 % off on spot = 0.069
    settings = _settings(EnableTuning="true", TuningMaxJobs="4", UseSpotTraining="true")

    line = estimate(settings, JobSizes(training_seconds=900), runs_per_month=1).item("Tuning and training")

    assert line.on_demand_usd == pytest.approx(0.23)
    assert line.usd == pytest.approx(0.069)


def test_on_demand_training_has_no_saving():
    settings = _settings(EnableTuning="false", UseSpotTraining="false", TrainingInstanceType="ml.g4dn.xlarge")

    line = estimate(settings, JobSizes(training_seconds=1800), runs_per_month=1).item("Training")

    assert line.usd == pytest.approx(0.368)  # 0.5 h x 0.736
    assert line.on_demand_usd is None


def test_a_training_job_is_billed_no_longer_than_max_runtime():
    settings = _settings(EnableTuning="false", UseSpotTraining="false", MaxRuntimeSeconds="3600")

    line = estimate(settings, JobSizes(training_seconds=7200), runs_per_month=1).item("Training")

    assert line.quantity == pytest.approx(1.0)


def test_measured_spot_saving_replaces_the_assumed_one():
    settings = _settings(EnableTuning="false", UseSpotTraining="true")

    line = estimate(settings, JobSizes(training_seconds=3600, spot_saving_ratio=0.5), runs_per_month=1).item(
        "Training"
    )

    assert line.usd == pytest.approx(0.115)  # 0.23 x 0.5


def test_endpoint_is_instances_times_730_hours():
    # 2 x ml.c5.xlarge x 730 h x 0.204 = 297.84
    settings = _settings(EndpointInstanceType="ml.c5.xlarge", EndpointInstanceCount="2")

    assert estimate(settings, runs_per_month=1).item("Real-time endpoint").usd == pytest.approx(297.84)


def test_autoscaling_prices_the_average_fleet_and_names_the_range():
    # ml.m5.large at 0.115: 2 instances = 167.90 a month, 6 instances = 503.70.
    settings = _settings(EndpointInstanceCount="2", AutoscalingMaxInstanceCount="6")

    at_minimum = estimate(settings, runs_per_month=1)
    busier = estimate(settings, JobSizes(endpoint_average_instances=3.5), runs_per_month=1)
    beyond = estimate(settings, JobSizes(endpoint_average_instances=9), runs_per_month=1)

    assert at_minimum.item("Real-time endpoint").usd == pytest.approx(167.90)
    assert (
        "autoscaling 2-6 instances: 167.90 to 503.70 USD a month"
        in at_minimum.item("Real-time endpoint").note
    )
    assert busier.item("Real-time endpoint").usd == pytest.approx(3.5 * 730 * 0.115)
    assert beyond.item("Real-time endpoint").usd == pytest.approx(503.70)  # never above the maximum
    assert any("autoscales between 2 and 6" in assumption for assumption in at_minimum.assumptions)


def test_a_maximum_at_or_below_the_count_is_a_fixed_fleet():
    settings = _settings(EndpointInstanceCount="3", AutoscalingMaxInstanceCount="1")
    cost = estimate(settings, JobSizes(endpoint_average_instances=5), runs_per_month=1)
    assert cost.item("Real-time endpoint").quantity == pytest.approx(3 * 730)
    assert "autoscaling" not in cost.item("Real-time endpoint").note


@pytest.mark.parametrize(
    ("parameters", "instance_hours"),
    [
        # all at once: a second fleet of 1 through the bake and the final bake, 2 x 600 s.
        ({}, 1 * 1200 / 3600),
        # canary on 4: a second fleet of 4 through the canary bake, the full shift and the final bake.
        (
            {"DeploymentStyle": "canary", "EndpointInstanceCount": "4", "CanaryWaitSeconds": "300"},
            4 * 900 / 3600,
        ),
        # linear 25 % of 8: 4 steps of 2 and the final bake, 5 x 120 s, with 8 extra instances.
        (
            {"DeploymentStyle": "linear", "EndpointInstanceCount": "8", "LinearWaitSeconds": "120"},
            8 * 600 / 3600,
        ),
        # rolling 25 % of 8: 4 batches of 2, one batch extra at a time, 4 x 300 s.
        ({"DeploymentStyle": "rolling", "EndpointInstanceCount": "8"}, 2 * 1200 / 3600),
    ],
)
def test_each_deployment_style_pays_for_its_extra_fleet_while_it_bakes(parameters, instance_hours):
    settings = _settings(**parameters)
    line = estimate(settings, runs_per_month=4).item(f"Endpoint update ({settings.deployment_style})")
    assert (line.period, line.quantity) == ("run", pytest.approx(instance_hours))
    assert line.usd_per_month == pytest.approx(4 * instance_hours * 0.115)


def test_rolling_needs_fewer_extra_instance_hours_than_blue_green_on_a_large_fleet():
    def extra(style: str) -> float:
        settings = _settings(DeploymentStyle=style, EndpointInstanceCount="10", CanaryWaitSeconds="300")
        return estimate(settings, runs_per_month=1).item(f"Endpoint update ({style})").quantity

    assert extra("rolling") < extra("all-at-once") < extra("canary")


def test_a_batch_only_stack_pays_for_no_endpoint_and_no_monitoring():
    cost = estimate(_settings(DeployEndpoint="false"), runs_per_month=1)

    assert not {"Real-time endpoint", "Model Monitor executions", "Endpoint update (all-at-once)"} & {
        item.name for item in cost.items
    }


def test_serverless_endpoint_is_billed_per_gb_second():
    # 1M requests x 0.2 s x 2 GB = 400,000 GB-s x 0.00002 = 8.00
    sizes = JobSizes(endpoint_mode="serverless", requests_per_month=1_000_000, serverless_memory_mb=2048)

    cost = estimate(_settings(), sizes, runs_per_month=1)

    assert cost.item("Serverless inference compute").usd == pytest.approx(8.0)
    assert not [i for i in cost.items if i.name == "Real-time endpoint"]


def test_step_functions_lambda_and_s3_request_lines():
    sizes = JobSizes(
        state_transitions_per_run=45,
        lambda_invocations_per_run=10,
        lambda_seconds_per_invocation=1.0,
        lambda_memory_mb=512,
        images_per_run=1000,
        images_stored=10_000,
    )

    cost = estimate(_settings(), sizes, runs_per_month=1)

    assert cost.item("Step Functions state transitions").usd == pytest.approx(0.001125)  # 45 x 0.000025
    assert cost.item("Lambda compute (arm64)").usd == pytest.approx(5 * 0.0000133334, abs=1e-9)  # 5 GB-s
    assert cost.item("S3 PUT requests (uploads)").usd == pytest.approx(0.005)  # 1000 x 0.005/1000
    assert cost.item("S3 GET requests (dataset build)").usd == pytest.approx(0.004)  # 10k x 0.0004/1000


def test_storage_keeps_images_and_dataset():
    # 10,000 x 200 KB x 2 copies = 3.8147 GB x 0.023
    cost = estimate(_settings(), JobSizes(images_stored=10_000, image_kb=200), runs_per_month=1)

    assert cost.item("S3 storage (images and dataset)").usd == pytest.approx(3.8147 * 0.023, rel=1e-4)


def test_batch_transform_only_when_its_schedule_is_enabled():
    disabled = estimate(_settings(BatchScheduleState="DISABLED"), runs_per_month=1)
    enabled = estimate(
        _settings(BatchScheduleState="ENABLED", BatchScheduleExpression="rate(1 day)"),
        JobSizes(transform_seconds=3600),
        runs_per_month=1,
    )

    assert not [i for i in disabled.items if i.name == "Batch transform"]
    # 30.4167 runs x 1 h x 0.115
    assert enabled.item("Batch transform").usd == pytest.approx(365 / 12 * 0.115)


def test_monthly_total_is_runs_times_the_run_plus_monthly_lines():
    cost = estimate(_settings(), runs_per_month=4)

    monthly_lines = sum(i.usd for i in cost.items if i.period == "month")
    assert cost.monthly_usd == pytest.approx(cost.per_run_usd * 4 + monthly_lines, abs=0.01)


def test_breakdown_round_trips_through_json():
    cost = estimate(_settings(), runs_per_month=4)

    payload = json.loads(json.dumps(cost.model_dump(mode="json")))

    assert payload["monthly_usd"] == cost.monthly_usd
    assert payload["summary"].startswith(f"{cost.per_run_usd:.2f} USD per pipeline run")
    assert {"name", "quantity", "unit", "usd"} <= set(payload["items"][0])
    assert CostBreakdown.model_validate(payload).items == cost.items


def test_cloudformation_boolean_strings_are_read_as_booleans():
    settings = _settings(UseSpotTraining="false", EnableTuning="True")

    assert settings.use_spot_training is False
    assert settings.enable_tuning is True


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("rate(7 days)", 365 / 12 / 7),
        ("rate(1 hour)", 730),
        ("rate(30 minutes)", 1460),
        ("cron(0 3 * * ? *)", 365 / 12),
        ("cron(0 3 ? * MON *)", 365 / 12 / 7),
        ("cron(0 * ? * * *)", 730),
        ("cron(0 3 1 * ? *)", 1),
        ("cron(0 8-17 ? * MON-FRI *)", 10 * 5 * 365 / 12 / 7),
        ("cron(0/15 * * * ? *)", 4 * 730),
        ("at(2026-12-01T00:00:00)", 1),
    ],
)
def test_schedule_runs_per_month(expression: str, runs: float):
    assert schedule_runs_per_month(expression) == pytest.approx(runs)


def test_schedule_that_is_not_an_expression_is_an_error():
    with pytest.raises(ValueError, match="schedule expression"):
        schedule_runs_per_month("every tuesday")


def test_bench_results_replace_default_durations(tmp_path):
    (tmp_path / "prepare_dataset.json").write_text(json.dumps({"details": {"job_seconds": 95.5}}))
    (tmp_path / "train.json").write_text(json.dumps({"details": {"other": 1}}))

    sizes, provenance = job_sizes_from_bench(tmp_path)

    assert sizes.glue_seconds == 95.5
    assert sizes.training_seconds == JobSizes().training_seconds
    assert provenance == ["glue_seconds = 95.5 from prepare_dataset.json (details.job_seconds)"]


def test_bench_results_are_read_only_from_the_folder_given(tmp_path):
    # No default folder: the package cannot know where a checkout's bench/results is.
    assert (
        inspect.signature(job_sizes_from_bench).parameters["results_dir"].default is inspect.Parameter.empty
    )

    sizes, provenance = job_sizes_from_bench(tmp_path)

    assert sizes == JobSizes()
    assert provenance == []


def test_the_price_table_is_package_data():
    table = resources.files("mlops_planning").joinpath("pricing", "us-east-1.json")

    assert table.is_file()
    assert load_price_table("us-east-1").region == "us-east-1"


def test_a_region_without_a_price_table_is_an_error():
    with pytest.raises(FileNotFoundError, match="eu-north-9"):
        load_price_table("eu-north-9")
