"""Behaviour the training pipeline definition promises (spot fallback, naming, deployment checks).

The machine is JSONata: its requests and decisions are expressions over workflow variables. These
tests build the variables a run would hold (the plan from the real planner, the ASL's own Assign
blocks) and evaluate the machine's expressions on them with a JSONata engine.
"""

from __future__ import annotations

import json
import re
from typing import Any

import diagnostics
import pytest

from mlops_common.domain import run_plan
from mlops_common.models import PlanRunInput
from tests.asl import assign, choose, evaluate, jsonata, render, request

CONTRACT_METRICS = {
    "train:loss",
    "validation:loss",
    "validation:accuracy",
    "validation:macro_f1",
    "validation:min_defect_recall",
}
# training/diagnostics.py's fields of the same line.
DIAGNOSTIC_METRICS = {
    "diagnostics:gradient_norm",
    "diagnostics:gradient_norm_max",
    "diagnostics:train_accuracy",
    "diagnostics:issues",
    *(f"diagnostics:{name}" for name in diagnostics.CHECKS),
}
DEBUGGER_FIELDS = {"DebugHookConfig", "DebugRuleConfigurations"}
# Longest execution names the pipeline is started with: the contract's <trigger>-<yyyymmddTHHMM>-<hash8>
# and the UUID that EventBridge Scheduler gives its executions.
LONGEST_CONTRACT_NAME = "schedule-20261128T1745-0123abcd"
SCHEDULER_NAME = "3f1c9e0a-5b7d-4c2e-9a8b-1234567890ab"
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
VPC = {"subnet_ids": "subnet-1,subnet-2", "security_group_ids": "sg-1"}
CHAMPION = {
    "has_champion": True,
    "model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/defects/3",
    "model_data_url": "s3://artifacts/models/champion/output/model.tar.gz",
    "model_version": "3",
    "previous_tuning_job": "0123abcd-hpo-1a2b3c4d",
    "endpoint_exists": True,
    "endpoint_config_name": "defects-config-1",
}
NO_CHAMPION = {**CHAMPION, "has_champion": False, "previous_tuning_job": "none", "model_data_url": ""}
DATASET = {"test_uri": "s3://data/datasets/run/test/", "accounting": {"uploaded": 10}}


def run_variables(
    asl: dict[str, Any],
    overrides: dict[str, Any] | None = None,
    *,
    name: str = LONGEST_CONTRACT_NAME,
    champion: dict[str, Any] = CHAMPION,
) -> dict[str, Any]:
    """The variables a run holds when it reaches ChooseTrainingPath: the ASL's own Assign blocks,
    the plan as the real planner answers the PlanRun request the ASL builds."""
    states = asl["States"]
    context = {
        "Execution": {
            "Name": name,
            "Id": f"arn:aws:states:eu-west-1:123456789012:execution:pipeline:{name}",
            "Input": {"trigger": "manual", "reason": "a test", "overrides": overrides or {}},
        }
    }
    begin = {"action": "proceed", "uploads": 10, "since": "", "until": "2026-12-04T10:00:00+00:00"}
    variables = assign(states["BeginRun"], {"states": {"context": context, "result": {"Payload": begin}}})
    payload = render(request(states["PlanRun"])["Payload"], {**variables, "states": {"context": context}})
    payload["vpc"] = VPC
    plan = run_plan.plan_run(
        PlanRunInput.model_validate(payload), data_bucket="data", artifacts_bucket="artifacts"
    ).model_dump(mode="json")
    variables = assign(states["PlanRun"], {**variables, "states": {"result": {"Payload": plan}}})
    variables = assign(states["CheckDataset"], {**variables, "states": {"result": {"Payload": DATASET}}})
    variables = assign(states["ResolveChampion"], {**variables, "states": {"result": {"Payload": champion}}})
    return {
        key: value for key, value in assign(states["PrepareTraining"], variables).items() if key != "states"
    }


def job_request(state: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any]:
    """What a task sends: its Arguments, evaluated."""
    arguments = state["Arguments"]
    rendered = render(arguments, variables)
    assert isinstance(rendered, dict)
    return rendered


def test_the_machine_names_its_steps_and_decisions(training_asl):
    states = training_asl["States"]
    assert training_asl["QueryLanguage"] == "JSONata"
    assert len(states) <= 30
    # One Pass state, which builds the training definitions; none only renames fields.
    assert [name for name, state in states.items() if state["Type"] == "Pass"] == ["PrepareTraining"]
    assert set(states["PrepareTraining"]) == {"Type", "Comment", "Assign", "Next"}


def test_job_names_fit_sagemaker_limits_for_every_execution_name_shape(deployed_training_asl, batch_asl):
    states = deployed_training_asl["States"]
    names = {
        "Tune": "HyperParameterTuningJobName",
        "Train": "TrainingJobName",
        "Evaluate": "ProcessingJobName",
    }
    limits = {"Tune": 32, "Train": 63, "Evaluate": 63}
    for execution_name in (LONGEST_CONTRACT_NAME, SCHEDULER_NAME):
        variables = run_variables(deployed_training_asl, name=execution_name)
        variables["model"] = {"model_data_url": "s3://m", "training_job_name": "t"}
        variables["dataset"] = DATASET
        for state, field in names.items():
            rendered = job_request(states[state], variables)[field]
            assert len(rendered) <= limits[state], (state, rendered)
            assert SAGEMAKER_NAME.match(rendered), (state, rendered)
            assert rendered.startswith(variables["run"]["short_id" if state == "Tune" else "execution_name"])
        transform = render(request(batch_asl["States"]["Transform"])["TransformJobName"], variables)
        assert len(transform) <= 63, transform
        assert SAGEMAKER_NAME.match(transform), transform


def test_the_configuration_is_settled_once_before_any_job(training_asl):
    # The rules themselves are unit-tested with the planner (tests/unit/mlops_common/domain/test_run_plan.py).
    states = training_asl["States"]
    assert states["RunDecision"]["Default"] == "PlanRun"
    assert states["PlanRun"]["Next"] == "PrepareDataset"
    # An invalid configuration fails the run at PlanRun itself: nothing catches it.
    assert "Catch" not in states["PlanRun"]
    assert states["PlanRun"]["Assign"] == {"plan": "{% $states.result.Payload %}"}
    payload = request(states["PlanRun"])["Payload"]
    assert payload["input"] == "{% $states.context.Execution.Input %}"


def test_the_defaults_are_exactly_what_a_run_may_override(training_asl):
    # The planner refuses an override it does not know: every default must be a RunConfig field.
    defaults = request(training_asl["States"]["PlanRun"])["Payload"]["defaults"]
    assert set(defaults) == set(run_plan.RunConfig.model_fields)


def test_every_job_runs_the_image_the_plan_chose_for_its_instance_type(deployed_training_asl):
    variables = run_variables(deployed_training_asl)
    images = variables["plan"]["config"]["images"]
    states = deployed_training_asl["States"]
    assert variables["training"]["AlgorithmSpecification"]["TrainingImage"] == images["training"]
    assert variables["training"]["InputDataConfig"] == variables["plan"]["config"]["training_channels"]
    variables |= {"model": {"model_data_url": "s3://m", "training_job_name": "t"}, "dataset": DATASET}
    assert job_request(states["Evaluate"], variables)["AppSpecification"]["ImageUri"] == images["processing"]
    variables |= {"gate": {"passed": True, "challenger": {}}, "evaluation": {"evaluation_uri": "s3://e"}}
    package = job_request(states["RegisterModel"], variables)
    assert package["InferenceSpecification"]["Containers"][0]["Image"] == images["inference"]
    text = json.dumps(deployed_training_asl)
    assert "${TrainingImageUri}" not in text
    assert "${InferenceImageUri}" not in text


def _metric_definitions(asl: dict[str, Any]) -> list[dict[str, str]]:
    definition = asl["States"]["PrepareTraining"]["Assign"]["training"]
    return list(definition["AlgorithmSpecification"]["MetricDefinitions"])


def test_metric_definitions_cover_the_training_metric_lines(training_asl):
    definitions = _metric_definitions(training_asl)
    assert {d["Name"] for d in definitions} == CONTRACT_METRICS | DIAGNOSTIC_METRICS
    line = (
        "epoch=3; train:loss=0.2100; validation:loss=0.1200; validation:accuracy=0.9700; "
        "validation:macro_f1=0.9650; validation:min_defect_recall=0.9500;"
    )
    found = {
        d["Name"]: re.search(d["Regex"], line).group(1) for d in definitions if d["Name"] in CONTRACT_METRICS
    }
    assert found == {
        "train:loss": "0.2100",
        "validation:loss": "0.1200",
        "validation:accuracy": "0.9700",
        "validation:macro_f1": "0.9650",
        "validation:min_defect_recall": "0.9500",
    }


def test_metric_definitions_read_every_diagnostic_field_of_the_line(training_asl):
    # A tiny gradient norm is written in exponent form; the regex must read it whole.
    signals = diagnostics.EpochSignals(
        epoch=4, train_loss=0.9, validation_loss=0.5, train_accuracy=0.75, validation_accuracy=0.8,
        learning_rate=0.002, gradient_norm=2.5e-08, gradient_norm_max=1234.5, nonfinite_gradient_steps=0,
    )  # fmt: skip
    checks = {name: diagnostics.Check(diagnostics.OK, "") for name in diagnostics.CHECKS}
    checks["vanishing_gradients"] = diagnostics.Check(diagnostics.ISSUES_FOUND, "")
    line = "epoch=4; train:loss=0.9000; " + diagnostics.metric_fields(checks, signals)

    found = {
        d["Name"]: float(re.search(d["Regex"], line).group(1))
        for d in _metric_definitions(training_asl)
        if d["Name"] in DIAGNOSTIC_METRICS
    }

    assert found == {
        "diagnostics:gradient_norm": 2.5e-08,
        "diagnostics:gradient_norm_max": 1234.5,
        "diagnostics:train_accuracy": 0.75,
        "diagnostics:issues": 1.0,
        **{f"diagnostics:{name}": float(name == "vanishing_gradients") for name in diagnostics.CHECKS},
    }
    # SageMaker allows 40 metric definitions per algorithm (tuning jobs included).
    assert len(_metric_definitions(training_asl)) <= 40


def test_tuning_searches_the_four_hyperparameters_over_the_planned_ranges(deployed_training_asl):
    variables = run_variables(deployed_training_asl)
    tuning = job_request(deployed_training_asl["States"]["Tune"], variables)["HyperParameterTuningJobConfig"]
    ranges = tuning["ParameterRanges"]
    assert {r["Name"] for kind in ranges.values() for r in kind} == {
        "learning_rate",
        "batch_size",
        "dropout",
        "weight_decay",
    }
    config = variables["plan"]["config"]
    learning_rate = ranges["ContinuousParameterRanges"][0]
    assert (learning_rate["MinValue"], learning_rate["MaxValue"]) == (
        config["learning_rate_min"],
        config["learning_rate_max"],
    )
    assert tuning["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": config["tuning_max_jobs"],
        "MaxParallelTrainingJobs": config["tuning_max_parallel_jobs"],
    }


@pytest.mark.parametrize("previous", ["0123abcd-hpo-1a2b3c4d", "none", None])
def test_tuning_warm_starts_from_the_champions_tuning_job_when_there_is_one(deployed_training_asl, previous):
    champion = {**CHAMPION, "previous_tuning_job": previous}
    variables = run_variables(deployed_training_asl, champion=champion)
    tuning = job_request(deployed_training_asl["States"]["Tune"], variables)
    if previous in ("none", None):
        assert "WarmStartConfig" not in tuning
    else:
        assert tuning["WarmStartConfig"] == {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": previous}],
            "WarmStartType": "TransferLearning",
        }


def test_tuning_and_training_share_one_definition(deployed_training_asl):
    variables = run_variables(deployed_training_asl)
    states = deployed_training_asl["States"]
    tuning = job_request(states["Tune"], variables)["TrainingJobDefinition"]
    training = job_request(states["Train"], variables)
    assert tuning["StaticHyperParameters"] == training["HyperParameters"]
    for field in (
        "AlgorithmSpecification",
        "RoleArn",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
    ):
        assert tuning[field] == training[field], field
    assert tuning["CheckpointConfig"]["S3Uri"].endswith(f"/checkpoints/{LONGEST_CONTRACT_NAME}/tune/")
    # Overrides win over the static hyperparameters.
    overridden = run_variables(deployed_training_asl, {"hyperparameters": {"epochs": "9", "extra": "1"}})
    hyperparameters = job_request(states["Train"], overridden)["HyperParameters"]
    assert (hyperparameters["epochs"], hyperparameters["extra"]) == ("9", "1")
    assert hyperparameters["sagemaker_program"] == "train.py"


def test_tuning_uses_managed_spot_with_wait_beyond_runtime(deployed_training_asl, template):
    variables = run_variables(deployed_training_asl, {"use_spot": True})
    definition = job_request(deployed_training_asl["States"]["Tune"], variables)["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True
    stopping = definition["StoppingCondition"]
    assert stopping["MaxWaitTimeInSeconds"] > stopping["MaxRuntimeInSeconds"]
    parameters = template["Parameters"]
    assert parameters["MaxWaitSeconds"]["Default"] > parameters["MaxRuntimeSeconds"]["Default"]
    on_demand = run_variables(deployed_training_asl, {"use_spot": False})
    definition = job_request(deployed_training_asl["States"]["Tune"], on_demand)["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is False
    assert set(definition["StoppingCondition"]) == {"MaxRuntimeInSeconds"}


def _failed(variables: dict[str, Any], step: str, *, capacity_error: bool) -> dict[str, Any]:
    """The variables after ``step``'s Catch and the classifier's answer."""
    failure = {"Error": "States.TaskFailed", "Cause": "{}"}
    return {
        **variables,
        "job_failure": failure,
        "failed_step": step,
        "classified": {"capacity": capacity_error, "reason": "", "job_name": "j"},
    }


@pytest.mark.parametrize("step", ["Tune", "Train"])
def test_a_spot_job_short_of_capacity_runs_again_on_demand_at_the_same_step(deployed_training_asl, step):
    states = deployed_training_asl["States"]
    (catcher,) = states[step]["Catch"]
    assert catcher["Next"] == "ClassifyTrainingFailure"
    assert catcher["Assign"] == {"job_failure": "{% $states.errorOutput %}", "failed_step": step}
    assert states["ClassifyTrainingFailure"]["Next"] == "IsCapacityError"
    assert request(states["ClassifyTrainingFailure"])["Payload"] == {"failure": "{% $job_failure %}"}

    spot = run_variables(deployed_training_asl, {"use_spot": True})
    following, after = choose(states["IsCapacityError"], _failed(spot, step, capacity_error=True))
    assert following == step
    assert after["capacity"] == after["on_demand"]
    retried = job_request(states[step], after)
    definition = retried["TrainingJobDefinition"] if step == "Tune" else retried
    assert definition["EnableManagedSpotTraining"] is False
    # The same checkpoint prefix: the on-demand job resumes where the spot one stopped.
    first = job_request(states[step], spot)
    key = "TrainingJobDefinition"
    assert (first.get(key, first))["CheckpointConfig"] == definition["CheckpointConfig"]


@pytest.mark.parametrize("step", ["Tune", "Train"])
def test_any_other_failure_fails_the_run_with_the_jobs_own_error(deployed_training_asl, step):
    states = deployed_training_asl["States"]
    spot = run_variables(deployed_training_asl, {"use_spot": True})
    following, _ = choose(states["IsCapacityError"], _failed(spot, step, capacity_error=False))
    assert following == "TrainingFailed"
    failed = states["TrainingFailed"]
    assert (failed["Error"], failed["Cause"]) == ("{% $job_failure.Error %}", "{% $job_failure.Cause %}")


@pytest.mark.parametrize("step", ["Tune", "Train"])
def test_fallback_happens_only_from_spot_so_it_cannot_loop(deployed_training_asl, step):
    on_demand = run_variables(deployed_training_asl, {"use_spot": False})
    following, _ = choose(
        deployed_training_asl["States"]["IsCapacityError"], _failed(on_demand, step, capacity_error=True)
    )
    assert following == "TrainingFailed"


def test_capacity_is_judged_by_the_classifier_not_by_the_cause_text(training_asl):
    # On AWS a failed tuning job's cause carries a generic FailureReason: matching its text for
    # "CapacityError" never fires. The training jobs' own reasons decide (classify_training_failure).
    expressions = re.findall(r"\{%.*?%\}", json.dumps(training_asl))
    assert [e for e in expressions if "job_failure.Cause" in e] == ["{% $job_failure.Cause %}"]
    classify = training_asl["States"]["ClassifyTrainingFailure"]
    assert request(classify)["FunctionName"] == "${ClassifyTrainingFailureFunctionArn}"


def test_debugger_is_off_by_default_and_read_from_the_deploy_time_parameter(training_asl, template):
    parameter = template["Parameters"]["EnableDebuggerRules"]
    substitutions = template["Resources"]["TrainingPipelineStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]
    defaults = request(training_asl["States"]["PlanRun"])["Payload"]["defaults"]

    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["true", "false"])
    assert substitutions["EnableDebuggerRules"] == {"Ref": "EnableDebuggerRules"}
    assert defaults["use_debugger_rules"] == "{% ${EnableDebuggerRules} %}"


@pytest.mark.parametrize("use_vpc", [False, True])
def test_the_training_job_asks_for_debugger_and_the_vpc_only_when_the_run_does(
    deployed_training_asl, use_vpc
):
    train = deployed_training_asl["States"]["Train"]
    requests = {
        use_debugger: job_request(
            train,
            run_variables(deployed_training_asl, {"use_debugger_rules": use_debugger, "use_vpc": use_vpc}),
        )
        for use_debugger in (False, True)
    }
    plain, with_debugger = requests[False], requests[True]
    assert not DEBUGGER_FIELDS & set(plain)
    assert not any("Debug" in key for key in plain)
    assert {r["RuleConfigurationName"] for r in with_debugger["DebugRuleConfigurations"]} == {
        "LossNotDecreasing",
        "Overfit",
    }
    assert {r["RuleEvaluatorImage"] for r in with_debugger["DebugRuleConfigurations"]} == {
        "<DebuggerRulesImageUri>"
    }
    # Same job name pattern, data, capacity and network: only Debugger differs.
    differing = {
        key for key in plain.keys() | with_debugger.keys() if plain.get(key) != with_debugger.get(key)
    }
    assert differing - {"TrainingJobName"} == DEBUGGER_FIELDS
    assert ("VpcConfig" in plain) is use_vpc
    assert plain["EnableNetworkIsolation"] is True


def test_debugger_verdicts_come_with_the_trained_model(training_asl):
    model = training_asl["States"]["Train"]["Assign"]["model"]
    described = {"TrainingJobName": "t", "ModelArtifacts": {"S3ModelArtifacts": "s3://m"}}
    verdicts = [{"RuleConfigurationName": "Overfit", "RuleEvaluationStatus": "NoIssuesFound"}]
    without = render(model, {"states": {"result": described}})
    with_rules = render(model, {"states": {"result": {**described, "DebugRuleEvaluationStatuses": verdicts}}})
    assert (without["debugger_rules"], with_rules["debugger_rules"]) == ([], verdicts)
    assert without["tuning_job_name"] == "none"


def _after_gate(asl: dict[str, Any], overrides: dict[str, Any], *, passed: bool) -> dict[str, Any]:
    variables = run_variables(asl, overrides)
    gate = {"passed": passed, "reasons": [] if passed else ["accuracy 0.4 < 0.8"], "challenger": {}}
    gate["challenger"] = {"accuracy": 0.9, "macro_f1": 0.9, "min_defect_recall": 0.8, "diagnostics": {"a": 1}}
    variables |= {
        "model": {"training_job_name": "t", "model_data_url": "s3://m", "tuning_job_name": "h"},
        "evaluation": {"evaluation_uri": "s3://e", "baseline_uri": "s3://b"},
        "registration": {"model_package_arn": "arn:package"},
    }
    return assign(asl["States"]["Gate"], {**variables, "states": {"result": {"Payload": gate}}})


@pytest.mark.parametrize(
    ("deploy_endpoint", "passed", "outcome", "following"),
    [
        (True, True, "deployed", "CreateModel"),
        (False, True, "approved", "Notify"),
        (True, False, "rejected", "Notify"),
        (False, False, "rejected", "Notify"),
    ],
)
def test_the_gate_decides_the_outcome_and_every_challenger_is_registered(
    deployed_training_asl, deploy_endpoint, passed, outcome, following
):
    states = deployed_training_asl["States"]
    variables = _after_gate(deployed_training_asl, {"deploy_endpoint": deploy_endpoint}, passed=passed)
    assert variables["outcome"] == outcome
    package = job_request(states["RegisterModel"], variables)
    assert package["ModelApprovalStatus"] == ("Approved" if passed else "Rejected")
    assert states["RegisterModel"]["Next"] == "DeployOrReport"
    assert choose(states["DeployOrReport"], variables)[0] == following


def test_notifications_carry_the_outcome_and_the_trained_models_diagnostics(deployed_training_asl):
    # evaluate.py writes the diagnostics into the challenger's entry; the gate passes it on unchanged.
    notify = deployed_training_asl["States"]["Notify"]
    for passed, deploy in ((True, True), (True, False), (False, True)):
        variables = _after_gate(deployed_training_asl, {"deploy_endpoint": deploy}, passed=passed)
        variables |= {"deployment": {"endpoint_name": "e"}, "monitoring": {"action": "created"}}
        variables["states"] = {"context": {"Execution": {"Input": {"trigger": "manual"}}}}
        sent = job_request(notify, variables)
        message = sent["Message"]
        assert (
            message["outcome"] == sent["MessageAttributes"]["outcome"]["StringValue"] == variables["outcome"]
        )
        assert message["diagnostics"] == {"a": 1}
        assert sent["Subject"].endswith(": t")
        assert ("reasons" in message) is (variables["outcome"] == "rejected")
        assert ("deployment" in message) is (variables["outcome"] == "deployed")
    assert (notify["Next"], notify["Catch"][0]["Next"]) == ("PipelineSucceeded", "PipelineSucceeded")


def test_registered_packages_carry_metrics_and_tuning_job(deployed_training_asl):
    variables = _after_gate(deployed_training_asl, {}, passed=True)
    metadata = job_request(deployed_training_asl["States"]["RegisterModel"], variables)[
        "CustomerMetadataProperties"
    ]
    assert {
        "accuracy": "0.9",
        "macro_f1": "0.9",
        "tuning_job": "h",
        "training_job": "t",
    }.items() <= metadata.items()
    assert all(isinstance(value, str) for value in metadata.values())


def _polled(variables: dict[str, Any], status: str, config: str, polls: int) -> dict[str, Any]:
    return {
        **variables,
        "deployment": {"endpoint_name": "defects", "endpoint_config_name": "new-config"},
        "endpoint": {"status": status, "endpoint_config_name": config},
        "polls": polls,
    }


@pytest.mark.parametrize(
    ("polled", "following", "error"),
    [
        (("InService", "new-config", 1), "EnsureMonitoring", None),
        (("InService", "old-config", 1), "RevokeApproval", "DeploymentRolledBack"),
        (("Failed", "new-config", 1), "RevokeApproval", "EndpointFailed"),
        (("Updating", "old-config", 1), "WaitForEndpoint", None),
        (("Updating", "old-config", 30), "EndpointNotReady", None),
    ],
)
def test_the_endpoint_is_polled_until_it_serves_the_new_config(
    deployed_training_asl, polled, following, error
):
    # A failed blue/green update returns to InService on the OLD config: a rollback, not a success.
    states = deployed_training_asl["States"]
    variables = _polled(run_variables(deployed_training_asl, {"endpoint_max_polls": 30}), *polled)
    chosen, after = choose(states["CheckEndpointStatus"], variables)
    assert chosen == following
    assert (after.get("failure") or {}).get("Error") == error
    assert states["WaitForEndpoint"]["Seconds"] == "{% $plan.config.endpoint_poll_seconds %}"
    assert states["DescribeEndpoint"]["Assign"]["polls"] == "{% $polls + 1 %}"
    assert states["Deploy"]["Assign"]["polls"] == 0


def test_an_endpoint_still_updating_after_the_polling_budget_says_so(deployed_training_asl):
    variables = _polled(run_variables(deployed_training_asl), "Updating", "old-config", 2)
    cause = evaluate(jsonata(deployed_training_asl["States"]["EndpointNotReady"]["Cause"]) or "", variables)
    assert cause == "Endpoint defects still Updating after 2 polls"


def test_an_approved_model_that_did_not_go_live_is_rejected_in_the_registry(training_asl):
    # ResolveChampion and Batch Transform trust the newest Approved package: it must be live.
    states = training_asl["States"]
    revoke = states["RevokeApproval"]
    assert revoke["Resource"].endswith(":sagemaker:updateModelPackage")
    assert request(revoke)["ModelPackageArn"] == "{% $registration.model_package_arn %}"
    assert request(revoke)["ModelApprovalStatus"] == "Rejected"
    # A failed revoke leaves the run failed at RevokeApproval: a redrive retries it.
    assert "Catch" not in revoke
    assert revoke["Next"] == "DeploymentFailed"
    for name in ("CreateModel", "Deploy"):
        assert states[name]["Catch"] == [
            {
                "ErrorEquals": ["States.ALL"],
                "Assign": {"failure": "{% $states.errorOutput %}"},
                "Next": "RevokeApproval",
            }
        ]
    failed = states["DeploymentFailed"]
    assert (failed["Type"], failed["Error"], failed["Cause"]) == (
        "Fail",
        "{% $failure.Error %}",
        "{% $failure.Cause %}",
    )
    # Once the new config serves, the model is live: a later failure must not revoke it.
    assert "Catch" not in states["EnsureMonitoring"]


@pytest.mark.parametrize("use_vpc", [False, True])
def test_the_model_runs_in_the_vpc_when_the_run_does(deployed_training_asl, use_vpc):
    variables = _after_gate(deployed_training_asl, {"use_vpc": use_vpc}, passed=True)
    following, variables = choose(deployed_training_asl["States"]["DeployOrReport"], variables)
    assert following == "CreateModel"
    assert variables["model_name"].startswith(f"{LONGEST_CONTRACT_NAME}-")
    model = job_request(deployed_training_asl["States"]["CreateModel"], variables)
    assert model["ModelName"] == variables["model_name"]
    assert model["PrimaryContainer"] == {"ModelPackageName": "arn:package"}
    assert ("VpcConfig" in model) is use_vpc


# Where the pipeline must act on a failure (capacity fallback, revoking an approval), it catches;
# everywhere else a failed task fails the execution at that task, so a redrive resumes there.
ACTS_ON_FAILURE = {"Tune", "Train", "CreateModel", "Deploy"}


def test_a_failed_task_fails_the_run_at_that_task(training_asl):
    catching = {name for name, state in training_asl["States"].items() if state.get("Catch")}
    # Only the notification catches too (a lost e-mail must not fail a deployed model's run).
    assert catching - {"Notify"} == ACTS_ON_FAILURE


def test_failure_notifications_come_from_outside_the_machine(training_asl):
    assert "NotifyFailure" not in training_asl["States"]
    fail_states = {name: s for name, s in training_asl["States"].items() if s["Type"] == "Fail"}
    assert set(fail_states) == {"TrainingFailed", "EndpointNotReady", "DeploymentFailed"}
    for name, state in fail_states.items():
        assert {"Error", "Cause"} <= set(state), name


def test_the_run_record_is_the_executions_output(deployed_training_asl):
    variables = _after_gate(deployed_training_asl, {}, passed=False)
    variables |= {"dataset": DATASET, "champion": CHAMPION, "states": {"input": {"MessageId": "m"}}}
    output = evaluate(
        jsonata(deployed_training_asl["States"]["PipelineSucceeded"]["Output"]) or "", variables
    )
    assert output["outcome"] == "rejected"
    assert output["gate"]["reasons"] == ["accuracy 0.4 < 0.8"]
    assert output["registration"] == {"model_package_arn": "arn:package"}
    assert output["notification"] == {"MessageId": "m"}
    assert "deployment" not in output


@pytest.mark.parametrize("champion", [CHAMPION, NO_CHAMPION], ids=["with a champion", "first model"])
def test_the_evaluation_scores_the_champion_on_the_same_test_split_when_there_is_one(
    deployed_training_asl, champion
):
    variables = run_variables(deployed_training_asl, champion=champion)
    variables |= {"model": {"model_data_url": "s3://m/model.tar.gz", "training_job_name": "t"}}
    job = job_request(deployed_training_asl["States"]["Evaluate"], variables)
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]}
    expected = (
        ["code", "challenger", "champion", "test"]
        if champion["has_champion"]
        else ["code", "challenger", "test"]
    )
    assert list(inputs) == expected
    assert (inputs["challenger"], inputs["test"]) == ("s3://m/model.tar.gz", DATASET["test_uri"])
    if champion["has_champion"]:
        assert inputs["champion"] == champion["model_data_url"]
    outputs = {o["OutputName"]: o["S3Output"]["S3Uri"] for o in job["ProcessingOutputConfig"]["Outputs"]}
    evaluation = render(
        deployed_training_asl["States"]["Evaluate"]["Assign"]["evaluation"],
        {**variables, "states": {"result": {}}},
    )
    assert evaluation["evaluation_uri"] == outputs["evaluation"] + "evaluation.json"
    assert evaluation["baseline_uri"] == outputs["baseline"]
