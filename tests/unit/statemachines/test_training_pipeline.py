"""Behaviour the training pipeline definition promises (spot fallback, naming, deployment checks)."""

from __future__ import annotations

import json
import re
from typing import Any

import diagnostics

from tests.asl import evaluate, field, jsonata, request

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
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


def _render_name(expression: str, execution_name: str) -> str:
    """Evaluate a States.Format job-name expression for a given execution name (the UUID part as 8 hex)."""
    template = re.match(r"States\.Format\('([^']*)'", expression).group(1)
    short_id = execution_name.rsplit("-", 1)[-1]
    arguments = re.findall(r"\$\.run\.(\w+)|States\.UUID\(\)", expression)
    values = iter(
        "deadbeef" if not arg else {"execution_name": execution_name, "short_id": short_id}[arg]
        for arg in arguments
    )
    return re.sub(r"\{\}", lambda _: next(values), template)


def _job_names(asl: dict[str, Any]) -> dict[str, tuple[str, int]]:
    limits = {
        "HyperParameterTuningJobName": 32,
        "TrainingJobName": 63,
        "ProcessingJobName": 63,
        "TransformJobName": 63,
    }
    return {
        name: (field(request(state), job_name), limit)
        for name, state in asl["States"].items()
        if state["Type"] == "Task"
        for job_name, limit in limits.items()
        if {job_name, f"{job_name}.$"} & set(request(state))
    }


def test_job_names_fit_sagemaker_limits_for_every_execution_name_shape(training_asl, batch_asl):
    jobs = {**_job_names(training_asl), **_job_names(batch_asl)}
    assert {"Tune", "Train", "Evaluate", "Transform"} <= set(jobs)
    for execution_name in (LONGEST_CONTRACT_NAME, SCHEDULER_NAME):
        run = {"execution_name": execution_name, "short_id": execution_name.rsplit("-", 1)[-1]}
        for state, (expression, limit) in jobs.items():
            query = jsonata(expression)
            if query is None:
                rendered = _render_name(expression, execution_name)
            else:
                rendered = evaluate(query, {"run": run})
            assert len(rendered) <= limit, (state, rendered)
            assert SAGEMAKER_NAME.match(rendered), (state, rendered)


def test_tuning_uses_managed_spot_with_wait_beyond_runtime(training_asl, template):
    spec = training_asl["States"]["PrepareTraining"]["Parameters"]
    assert spec["spot"]["EnableManagedSpotTraining"] is True
    assert set(spec["spot"]["StoppingCondition"]) == {"MaxRuntimeInSeconds.$", "MaxWaitTimeInSeconds.$"}
    parameters = template["Parameters"]
    assert parameters["MaxWaitSeconds"]["Default"] > parameters["MaxRuntimeSeconds"]["Default"]


def test_the_configuration_is_settled_once_before_any_job(training_asl):
    # The rules themselves are unit-tested with the planner (tests/unit/mlops_common/domain/test_run_plan.py).
    states = training_asl["States"]
    assert states["RunDecision"]["Default"] == "PlanRun"
    assert states["PlanRun"]["Next"] == "PrepareDataset"
    # An invalid configuration fails the run at PlanRun itself: nothing catches it.
    assert "Catch" not in states["PlanRun"]
    assert states["PlanRun"]["ResultPath"] == "$.plan"
    payload = states["PlanRun"]["Parameters"]["Payload"]
    assert payload["defaults.$"] == "$.defaults"
    assert payload["input.$"] == "$.input"


def test_the_defaults_are_exactly_what_a_run_may_override(training_asl):
    # The planner refuses an override it does not know: every default must be a RunConfig field.
    from mlops_common.domain.run_plan import RunConfig

    defaults = training_asl["States"]["LoadConfig"]["Parameters"]["defaults"]
    assert {key.removesuffix(".$") for key in defaults} == set(RunConfig.model_fields)


def test_every_job_runs_the_image_the_plan_chose_for_its_instance_type(training_asl):
    text = json.dumps(training_asl)
    definition = training_asl["States"]["PrepareTraining"]["Parameters"]["definition"]
    assert definition["AlgorithmSpecification"]["TrainingImage.$"] == "$.plan.config.images.training"
    assert definition["InputDataConfig.$"] == "$.plan.config.training_channels"
    assert '"ImageUri.$": "$.plan.config.images.processing"' in text
    assert '"Image.$": "$.plan.config.images.inference"' in text
    assert "${TrainingImageUri}" not in text
    assert "${InferenceImageUri}" not in text


def _metric_definitions(asl: dict[str, Any]) -> list[dict[str, str]]:
    definition = asl["States"]["PrepareTraining"]["Parameters"]["definition"]
    return definition["AlgorithmSpecification"]["MetricDefinitions"]


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


def test_tuning_searches_the_four_hyperparameters(training_asl):
    ranges = training_asl["States"]["Tune"]["Parameters"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    names = {r["Name"] for kind in ranges.values() for r in kind}
    assert names == {"learning_rate", "batch_size", "dropout", "weight_decay"}


def test_warm_start_uses_the_champions_tuning_job(training_asl):
    warm = training_asl["States"]["TuneWarmStart"]["Parameters"]["WarmStartConfig"]
    assert warm["ParentHyperParameterTuningJobs"] == [
        {"HyperParameterTuningJobName.$": "$.champion.previous_tuning_job"}
    ]
    assert "WarmStartConfig" not in training_asl["States"]["Tune"]["Parameters"]


SPOT_FALLBACKS = (
    # task, the Choice its Catch goes to, the classifier, its verdict's Choice, fallback, re-entry, Fail
    ("Tune", "CheckTuneCapacityError", "ClassifyTuneFailure", "IsTuneCapacityError", "TuneOnDemand",
     "ChooseTuningStart", "TuneFailed"),
    ("TuneWarmStart", "CheckTuneCapacityError", "ClassifyTuneFailure", "IsTuneCapacityError", "TuneOnDemand",
     "ChooseTuningStart", "TuneFailed"),
    ("Train", "CheckTrainCapacityError", "ClassifyTrainFailure", "IsTrainCapacityError", "TrainOnDemand",
     "ChooseTrainingNetwork", "TrainFailed"),
    ("TrainInVpc", "CheckTrainCapacityError", "ClassifyTrainFailure", "IsTrainCapacityError", "TrainOnDemand",
     "ChooseTrainingNetwork", "TrainFailed"),
)  # fmt: skip


def test_spot_capacity_errors_fall_back_to_on_demand_then_retry_the_same_step(training_asl):
    states = training_asl["States"]
    for task, check, classify, verdict, fallback, reentry, failed in SPOT_FALLBACKS:
        first_catch = states[task]["Catch"][0]
        assert (first_catch["Next"], first_catch["ResultPath"]) == (check, "$.capacity_error")
        assert (states[check]["Choices"][0]["Next"], states[check]["Default"]) == (classify, failed)
        assert states[classify]["Parameters"]["Payload"] == {"failure.$": "$.capacity_error"}
        assert states[classify]["Next"] == verdict
        assert states[verdict]["Choices"] == [
            {"Variable": "$.capacity_check.capacity", "BooleanEquals": True, "Next": fallback}
        ]
        assert states[verdict]["Default"] == failed
        assert states[fallback]["InputPath"] == "$.spec.on_demand"
        assert states[fallback]["Next"] == reentry


def test_capacity_is_judged_by_the_classifier_not_by_the_cause_text(training_asl):
    # On AWS a failed tuning job's cause carries a generic FailureReason: matching its text for
    # "CapacityError" never fires. The training jobs' own reasons decide (classify_training_failure).
    text = json.dumps(training_asl)
    assert "StringMatches" not in text
    for _, _, classify, *_ in SPOT_FALLBACKS:
        assert training_asl["States"][classify]["Parameters"]["FunctionName"] == (
            "${ClassifyTrainingFailureFunctionArn}"
        )


def test_fallback_happens_only_from_spot_so_it_cannot_loop(training_asl):
    for check in ("CheckTuneCapacityError", "CheckTrainCapacityError"):
        (choice,) = training_asl["States"][check]["Choices"]
        assert {key: choice[key] for key in ("Variable", "BooleanEquals")} == {
            "Variable": "$.capacity.EnableManagedSpotTraining",
            "BooleanEquals": True,
        }


def test_on_demand_fallback_keeps_the_checkpoint_prefix(training_asl):
    states = training_asl["States"]
    assert states["Train"]["Parameters"]["CheckpointConfig.$"] == "$.spec.training_checkpoint"
    checkpoint = states["PrepareTraining"]["Parameters"]["training_checkpoint"]["S3Uri.$"]
    assert "/checkpoints/{}/train/" in checkpoint
    assert "$.run.execution_name" in checkpoint


def _route(choice: dict[str, Any], config: dict[str, Any]) -> str:
    """The Next of a Choice state of BooleanEquals/And rules on ``$.plan.config.<name>``."""

    def matches(rule: dict[str, Any]) -> bool:
        if "And" in rule:
            return all(matches(part) for part in rule["And"])
        return config[rule["Variable"].removeprefix("$.plan.config.")] is rule["BooleanEquals"]

    return next((rule["Next"] for rule in choice["Choices"] if matches(rule)), choice["Default"])


def test_debugger_is_off_by_default_and_read_from_the_deploy_time_parameter(training_asl, template):
    parameter = template["Parameters"]["EnableDebuggerRules"]
    substitutions = template["Resources"]["TrainingPipelineStateMachine"]["Properties"][
        "DefinitionSubstitutions"
    ]
    defaults = training_asl["States"]["LoadConfig"]["Parameters"]["defaults"]

    assert (parameter["Default"], parameter["AllowedValues"]) == ("false", ["true", "false"])
    assert substitutions["EnableDebuggerRules"] == {"Ref": "EnableDebuggerRules"}
    assert defaults["use_debugger_rules.$"] == "States.StringToJson('${EnableDebuggerRules}')"


def test_without_debugger_the_training_job_carries_no_debugger_configuration(training_asl):
    states = training_asl["States"]
    for use_vpc in (False, True):
        name = _route(states["ChooseTrainingNetwork"], {"use_debugger_rules": False, "use_vpc": use_vpc})
        task = states[name]

        assert task["Resource"].endswith(":sagemaker:createTrainingJob.sync"), name
        assert not DEBUGGER_FIELDS & set(task["Parameters"]), name
        assert not any("Debug" in key for key in task["Parameters"]), name
        assert ("VpcConfig.$" in task["Parameters"]) is use_vpc, name
        # Nothing downstream waits for Debugger rule statuses.
        assert task["Next"] == "RecordTrainedModelWithoutRules", name
    assert states["RecordTrainedModelWithoutRules"]["Parameters"]["debugger_rules"] == []


def test_with_debugger_the_training_job_runs_the_built_in_rules(training_asl):
    states = training_asl["States"]
    for use_vpc in (False, True):
        name = _route(states["ChooseTrainingNetwork"], {"use_debugger_rules": True, "use_vpc": use_vpc})
        parameters = states[name]["Parameters"]

        assert set(parameters) >= DEBUGGER_FIELDS, name
        assert {r["RuleConfigurationName"] for r in parameters["DebugRuleConfigurations"]} == {
            "LossNotDecreasing",
            "Overfit",
        }
        assert {r["RuleEvaluatorImage"] for r in parameters["DebugRuleConfigurations"]} == {
            "${DebuggerRulesImageUri}"
        }
        assert ("VpcConfig.$" in parameters) is use_vpc, name
        assert states[name]["Next"] == "HasDebuggerStatuses", name
    assert states["RecordTrainedModel"]["Parameters"]["debugger_rules.$"] == (
        "$.training_job.DebugRuleEvaluationStatuses"
    )


def test_the_debugger_tasks_are_the_plain_ones_plus_the_debugger_fields(training_asl):
    # Same job name, data, capacity, retries and spot fallback: only Debugger differs.
    states = training_asl["States"]
    for plain, debugger in (("Train", "TrainWithDebugger"), ("TrainInVpc", "TrainInVpcWithDebugger")):
        with_debugger = {
            key: value for key, value in states[debugger].items() if key not in {"Comment", "Next"}
        }
        parameters = {k: v for k, v in with_debugger.pop("Parameters").items() if k not in DEBUGGER_FIELDS}
        without = {key: value for key, value in states[plain].items() if key not in {"Comment", "Next"}}

        assert parameters == without.pop("Parameters"), debugger
        assert with_debugger == without, debugger


def test_notifications_carry_the_trained_models_diagnostics(training_asl):
    # evaluate.py writes them into the challenger's entry; the gate passes the entry on unchanged.
    for name in ("NotifySuccess", "NotifyApproved", "NotifyGateFailed"):
        message = training_asl["States"][name]["Parameters"]["Message"]
        assert message["diagnostics.$"] == "$.gate.challenger.diagnostics", name
    assert training_asl["States"]["Gate"]["ResultSelector"]["challenger.$"] == "$.Payload.challenger"


def test_gate_failure_registers_a_rejected_package_and_notifies(training_asl):
    states = training_asl["States"]
    assert states["GatePassed"]["Default"] == "MarkRejected"
    assert states["MarkRejected"]["Result"] == {"status": "Rejected"}
    assert states["MarkRejected"]["Next"] == "RegisterModel"
    assert states["DeployOrReport"]["Default"] == "NotifyGateFailed"


def test_batch_only_stacks_approve_without_deploying(training_asl, template):
    states = training_asl["States"]
    assert template["Parameters"]["DeployEndpoint"]["AllowedValues"] == ["true", "false"]
    defaults = states["LoadConfig"]["Parameters"]["defaults"]
    assert defaults["deploy_endpoint.$"] == "States.StringToJson('${DeployEndpoint}')"
    deploy_route, approve_route = states["DeployOrReport"]["Choices"]
    assert {"Variable": "$.plan.config.deploy_endpoint", "BooleanEquals": True} in deploy_route["And"]
    assert deploy_route["Next"] == "NameModel"
    assert approve_route == {"Variable": "$.gate.passed", "BooleanEquals": True, "Next": "NotifyApproved"}
    assert states["NotifyApproved"]["Next"] == "PipelineSucceeded"
    assert states["NotifyApproved"]["Parameters"]["Message"]["outcome"] == "approved"


def test_registered_packages_carry_metrics_and_tuning_job(training_asl):
    metadata = training_asl["States"]["RegisterModel"]["Parameters"]["CustomerMetadataProperties"]
    assert {"accuracy.$", "macro_f1.$", "min_defect_recall.$", "tuning_job.$", "training_job.$"} <= set(
        metadata
    )


def test_endpoint_wait_is_bounded(training_asl):
    choices = training_asl["States"]["CheckEndpointStatus"]["Choices"]
    bound = [
        c for c in choices if c.get("NumericGreaterThanEqualsPath") == "$.plan.config.endpoint_max_polls"
    ]
    assert bound
    assert bound[0]["Next"] == "EndpointNotReady"
    assert training_asl["States"]["WaitForEndpoint"]["SecondsPath"] == "$.plan.config.endpoint_poll_seconds"


def test_a_silent_rollback_is_a_failure(training_asl):
    verify = training_asl["States"]["VerifyDeployment"]
    assert verify["Choices"][0] == {
        "Variable": "$.endpoint.endpoint_config_name",
        "StringEqualsPath": "$.deployment.endpoint_config_name",
        "Next": "EnsureMonitoring",
    }
    assert verify["Default"] == "DeploymentRolledBack"
    assert training_asl["States"]["DeploymentRolledBack"]["Next"] == "RevokeApproval"


def test_an_approved_model_that_did_not_go_live_is_rejected_in_the_registry(training_asl):
    # ResolveChampion and Batch Transform trust the newest Approved package: it must be live.
    states = training_asl["States"]
    revoke = states["RevokeApproval"]
    assert revoke["Resource"].endswith(":sagemaker:updateModelPackage")
    assert revoke["Parameters"]["ModelPackageArn.$"] == "$.registration.model_package_arn"
    assert revoke["Parameters"]["ModelApprovalStatus"] == "Rejected"
    # A failed revoke leaves the run failed at RevokeApproval: a redrive retries it.
    assert "Catch" not in revoke
    assert revoke["Next"] == "DeploymentFailed"
    for name in ("CreateModel", "CreateModelInVpc", "Deploy"):
        assert [(c["Next"], c["ResultPath"]) for c in states[name]["Catch"]] == [
            ("RevokeApproval", "$.failure")
        ]
    for name in ("EndpointFailed", "DeploymentRolledBack"):
        assert (states[name]["Next"], states[name]["ResultPath"]) == ("RevokeApproval", "$.failure"), name
    failed = states["DeploymentFailed"]
    assert (failed["Type"], failed["ErrorPath"], failed["CausePath"]) == (
        "Fail",
        "$.failure.Error",
        "$.failure.Cause",
    )
    # Once the new config serves, the model is live: a later failure must not revoke it.
    assert "Catch" not in states["EnsureMonitoring"]


# Where the pipeline must act on a failure (capacity fallback, revoking an approval), it catches;
# everywhere else a failed task fails the execution at that task, so a redrive resumes there.
ACTS_ON_FAILURE = {
    "Tune",
    "TuneWarmStart",
    "Train",
    "TrainInVpc",
    "TrainWithDebugger",
    "TrainInVpcWithDebugger",
    "CreateModel",
    "CreateModelInVpc",
    "Deploy",
}


def test_a_failed_task_fails_the_run_at_that_task(training_asl):
    catching = {name for name, state in training_asl["States"].items() if state.get("Catch")}
    notifications = {
        name for name, state in training_asl["States"].items() if "sns:publish" in state.get("Resource", "")
    }
    # Only the success notifications catch (a lost e-mail must not fail a deployed model's run).
    assert catching - notifications == ACTS_ON_FAILURE


def test_failure_notifications_come_from_outside_the_machine(training_asl):
    assert "NotifyFailure" not in training_asl["States"]
    fail_states = {name: s for name, s in training_asl["States"].items() if s["Type"] == "Fail"}
    assert set(fail_states) == {
        "TuneFailed",
        "TrainFailed",
        "EndpointNotReady",
        "DeploymentFailed",
    }
    for name, state in fail_states.items():
        assert {"Error", "ErrorPath"} & set(state), name
        assert {"Cause", "CausePath"} & set(state), name
    # The capacity checks end in their task's own error and cause.
    assert training_asl["States"]["TuneFailed"]["CausePath"] == "$.capacity_error.Cause"
    assert training_asl["States"]["TrainFailed"]["ErrorPath"] == "$.capacity_error.Error"
