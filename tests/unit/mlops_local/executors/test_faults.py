"""Fault plans: parsing CLI strings, matching, consumption and the record of what fired."""

from __future__ import annotations

import threading

import pytest

from mlops_local.executors.faults import FAULT_DESCRIPTIONS, FaultPlan, FaultSpecError, parse_fault_spec


def test_every_cli_fault_parses_and_is_described():
    plan = FaultPlan.from_specs(
        [
            "spot-interruption",
            "spot-capacity",
            "throttle:CreateTrainingJob",
            "training-failure",
            "glue-failure",
            "endpoint-update-failure",
            "endpoint-slow-start",
        ]
    )

    assert {rule.kind for rule in plan.rules} == set(FAULT_DESCRIPTIONS)


def test_options_set_count_pattern_and_epoch():
    rule = parse_fault_spec("spot-interruption:count=2,jobs=tune-*,after_epoch=3")

    assert (rule.remaining, rule.jobs, rule.after_epoch) == (2, "tune-*", 3)


@pytest.mark.parametrize(
    "spec", ["meteor-strike", "throttle", "spot-capacity:count=0", "training-failure:colour=red"]
)
def test_bad_specs_are_refused_with_a_reason(spec):
    with pytest.raises(FaultSpecError):
        parse_fault_spec(spec)


def test_a_slow_start_takes_its_seconds_once():
    plan = FaultPlan.from_specs(["endpoint-slow-start:seconds=20,jobs=defect-*"])

    assert plan.take_endpoint_slow_start("other") == 0
    assert plan.take_endpoint_slow_start("defect-classifier") == 20
    assert plan.take_endpoint_slow_start("defect-classifier") == 0
    assert parse_fault_spec("endpoint-slow-start").seconds == 10
    with pytest.raises(FaultSpecError):
        parse_fault_spec("training-failure:seconds=5")


def test_a_fault_fires_once_then_is_spent():
    plan = FaultPlan.from_specs(["training-failure"])

    assert plan.take_training_failure("job-1") is True
    assert plan.take_training_failure("job-2") is False
    assert [fault.target for fault in plan.fired] == ["job-1"]


def test_job_pattern_limits_targets():
    plan = FaultPlan.from_specs(["spot-interruption:jobs=*-002-*"])

    assert plan.take_spot_interruption("tune-001-abcdef12") is None
    assert plan.take_spot_interruption("tune-002-abcdef12") == 1


def test_throttle_matches_only_its_operation():
    plan = FaultPlan.from_specs(["throttle:CreateTrainingJob,count=2"])

    results = [
        plan.take_throttle(op)
        for op in ("DescribeTrainingJob", "CreateTrainingJob", "CreateTrainingJob", "CreateTrainingJob")
    ]

    assert results == [False, True, True, False]
    assert plan.fired_count("throttle") == 2


def test_count_all_never_runs_out():
    plan = FaultPlan.from_specs(["spot-capacity:count=all"])

    assert all(plan.take_spot_capacity_error(f"job-{i}") for i in range(5))
    assert plan.pending()


def test_concurrent_takers_consume_a_fault_exactly_count_times():
    plan = FaultPlan.from_specs(["spot-capacity:count=3"])
    taken: list[bool] = []
    lock = threading.Lock()

    def take() -> None:
        result = plan.take_spot_capacity_error("job")
        with lock:
            taken.append(result)

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert taken.count(True) == 3
