"""Training diagnostics over crafted histories: each check, the run's verdict, the metric fields."""

from __future__ import annotations

import math
import re

import diagnostics
from diagnostics import ISSUES_FOUND, OK, EpochSignals

LEARNING_RATE = 0.002
BALANCED = {"crack": 50, "dent": 48, "ok": 60, "scratch": 52}


def epochs(
    train_loss: list[float],
    validation_loss: list[float] | None = None,
    *,
    train_accuracy: list[float] | None = None,
    validation_accuracy: list[float] | None = None,
    learning_rate: list[float] | None = None,
    gradient_norm: list[float] | None = None,
    gradient_norm_max: list[float] | None = None,
    nonfinite: list[int] | None = None,
) -> list[EpochSignals]:
    """A history of len(train_loss) epochs; unspecified signals are unremarkable."""
    count = len(train_loss)
    return [
        EpochSignals(
            epoch=index + 1,
            train_loss=train_loss[index],
            validation_loss=(validation_loss or [0.5] * count)[index],
            train_accuracy=(train_accuracy or [0.8] * count)[index],
            validation_accuracy=(validation_accuracy or [0.8] * count)[index],
            learning_rate=(learning_rate or [LEARNING_RATE] * count)[index],
            gradient_norm=(gradient_norm or [2.0] * count)[index],
            gradient_norm_max=(gradient_norm_max or [5.0] * count)[index],
            nonfinite_gradient_steps=(nonfinite or [0] * count)[index],
        )
        for index in range(count)
    ]


# --- loss not decreasing -------------------------------------------------------------------------


def test_a_training_loss_that_keeps_falling_is_fine():
    check = diagnostics.check_loss_not_decreasing(epochs([1.2, 0.9, 0.7, 0.6, 0.5]), LEARNING_RATE)

    assert check.status == OK
    assert "still decreasing" in check.reason


def test_a_training_loss_flat_for_the_window_has_issues():
    check = diagnostics.check_loss_not_decreasing(epochs([1.2, 0.9, 0.9, 0.95, 0.91]), LEARNING_RATE)

    assert check.status == ISSUES_FOUND
    assert check.reason == "training loss did not decrease in epochs 3-5 (best 0.9, before 0.9)"


def test_an_improvement_below_the_minimum_counts_as_flat():
    # 0.9 -> 0.8995 is 0.06 %: under the 0.1 % a new best must gain.
    check = diagnostics.check_loss_not_decreasing(epochs([1.2, 0.9, 0.8995, 0.8999, 0.9]), LEARNING_RATE)

    assert check.status == ISSUES_FOUND


def test_a_flat_loss_is_fine_once_converged_or_at_the_end_of_the_schedule():
    converged = diagnostics.check_loss_not_decreasing(
        epochs([0.5, 0.008, 0.009, 0.009, 0.0085]), LEARNING_RATE
    )
    annealed = diagnostics.check_loss_not_decreasing(
        epochs([1.2, 0.4, 0.41, 0.4, 0.4], learning_rate=[0.002, 0.001, 1e-4, 5e-5, 1e-5]), LEARNING_RATE
    )

    assert (converged.status, annealed.status) == (OK, OK)
    assert "converged" in converged.reason
    assert "annealed" in annealed.reason


def test_too_few_epochs_and_a_nan_loss():
    short = diagnostics.check_loss_not_decreasing(epochs([1.0, 1.0, 1.0]), LEARNING_RATE)
    diverged = diagnostics.check_loss_not_decreasing(epochs([1.0, 0.8, math.nan]), LEARNING_RATE)

    assert short.status == OK
    assert "too few epochs" in short.reason
    assert diverged.status == ISSUES_FOUND
    assert "not finite" in diverged.reason


# --- overfitting ---------------------------------------------------------------------------------


def test_validation_loss_rising_while_training_loss_falls_is_overfitting():
    history = epochs([1.0, 0.8, 0.6, 0.4], [0.5, 0.55, 0.6, 0.7])

    check = diagnostics.check_overfitting(history)

    assert check.status == ISSUES_FOUND
    assert check.reason == ("validation loss rose 0.5 -> 0.7 in epochs 2-4 while training loss fell 1 -> 0.4")


def test_a_validation_loss_that_dips_once_in_the_window_is_not_overfitting():
    assert diagnostics.check_overfitting(epochs([1.0, 0.8, 0.6, 0.4], [0.5, 0.55, 0.52, 0.7])).status == OK


def test_both_losses_rising_is_not_overfitting():
    assert diagnostics.check_overfitting(epochs([0.4, 0.5, 0.6, 0.7], [0.5, 0.55, 0.6, 0.7])).status == OK


def test_a_train_validation_accuracy_gap_is_overfitting():
    wide = epochs([1.0, 0.5], train_accuracy=[0.7, 0.99], validation_accuracy=[0.7, 0.85])
    narrow = epochs([1.0, 0.5], train_accuracy=[0.7, 0.94], validation_accuracy=[0.7, 0.85])

    assert diagnostics.check_overfitting(wide).status == ISSUES_FOUND
    assert (
        "exceeds validation accuracy 0.850 by 0.140 at epoch 2" in diagnostics.check_overfitting(wide).reason
    )
    assert diagnostics.check_overfitting(narrow).status == OK


# --- gradients -----------------------------------------------------------------------------------


def test_exploding_gradients_a_large_or_non_finite_norm():
    large = epochs([1.0, 0.9], gradient_norm_max=[5.0, 2500.0])
    nan = epochs([1.0, 0.9], nonfinite=[0, 3])
    fine = epochs([1.0, 0.9], gradient_norm_max=[5.0, 900.0])

    assert diagnostics.check_exploding_gradients(large).reason == (
        "gradient norm reached 2500 at epoch 2 (limit 1000)"
    )
    assert diagnostics.check_exploding_gradients(nan).reason == (
        "3 steps of epoch 2 had non-finite gradients"
    )
    assert diagnostics.check_exploding_gradients(large).status == ISSUES_FOUND
    assert diagnostics.check_exploding_gradients(nan).status == ISSUES_FOUND
    assert diagnostics.check_exploding_gradients(fine).status == OK


def test_vanishing_gradients_only_before_the_loss_converged():
    stuck = epochs([1.0, 0.9], gradient_norm=[0.5, 1e-9])
    converged = epochs([1.0, 0.001], gradient_norm=[0.5, 1e-9])

    assert diagnostics.check_vanishing_gradients(stuck).status == ISSUES_FOUND
    assert "the weights no longer learn" in diagnostics.check_vanishing_gradients(stuck).reason
    assert diagnostics.check_vanishing_gradients(converged).status == OK


# --- class imbalance -----------------------------------------------------------------------------


def test_class_imbalance_is_the_largest_over_the_smallest_class():
    imbalanced = diagnostics.check_class_imbalance({"ok": 550, "dent": 50, "crack": 60})
    balanced = diagnostics.check_class_imbalance(BALANCED)

    assert imbalanced.status == ISSUES_FOUND
    assert imbalanced.reason == "largest class 'ok' has 550 images, smallest 'dent' 50 (11.0x), above 10x"
    assert balanced.status == OK
    assert diagnostics.check_class_imbalance({"ok": 10}).status == OK


# --- stalled learning rate -----------------------------------------------------------------------


def test_a_learning_rate_near_zero_before_convergence_is_stalled():
    near_zero = epochs([1.0, 0.9], learning_rate=[0.002, 1e-6])
    end_of_schedule = epochs([1.0, 0.9], learning_rate=[0.002, 1.2e-5])  # cosine's last epoch of 20
    tiny_from_the_start = epochs([1.0, 1.0], learning_rate=[1e-9, 1e-9])

    assert diagnostics.check_stalled_learning_rate(near_zero, LEARNING_RATE).status == ISSUES_FOUND
    assert diagnostics.check_stalled_learning_rate(end_of_schedule, LEARNING_RATE).status == OK
    assert diagnostics.check_stalled_learning_rate(tiny_from_the_start, 1e-9).status == ISSUES_FOUND


def test_an_unchanged_learning_rate_while_the_loss_plateaus_is_stalled():
    plateau = [1.0, 0.7, 0.7, 0.7, 0.7]
    constant = epochs(plateau, learning_rate=[0.002] * 5)
    scheduled = epochs(plateau, learning_rate=[0.002, 0.0019, 0.0017, 0.0015, 0.0012])

    check = diagnostics.check_stalled_learning_rate(constant, LEARNING_RATE)

    assert check.status == ISSUES_FOUND
    assert (
        check.reason == "learning rate stayed at 0.002 in epochs 3-5 while the training loss did not decrease"
    )
    assert diagnostics.check_stalled_learning_rate(scheduled, LEARNING_RATE).status == OK


# --- the run's verdict ---------------------------------------------------------------------------


def test_overfitting_after_the_kept_epoch_is_early_stoppings_business():
    history = epochs([1.0, 0.8, 0.6, 0.5, 0.4, 0.3], [0.6, 0.5, 0.4, 0.45, 0.5, 0.55])

    after_kept = diagnostics.run_checks(history, BALANCED, LEARNING_RATE, best_epoch=3)
    kept_late = diagnostics.run_checks(history, BALANCED, LEARNING_RATE, best_epoch=6)

    assert after_kept["overfitting"].status == OK
    assert after_kept["overfitting"].reason.startswith("only after the kept epoch 3: validation loss rose")
    assert kept_late["overfitting"].status == ISSUES_FOUND


def test_a_gradient_or_learning_rate_problem_at_any_epoch_stays_in_the_verdict():
    history = epochs([1.0, 0.8, 0.6, 0.5], gradient_norm_max=[5.0, 5000.0, 5.0, 5.0])

    verdict = diagnostics.run_checks(history, BALANCED, LEARNING_RATE, best_epoch=4)

    assert verdict["exploding_gradients"].reason == "gradient norm reached 5000 at epoch 2 (limit 1000)"
    assert [name for name, check in verdict.items() if check.has_issues] == ["exploding_gradients"]


def test_a_plateau_the_loss_recovered_from_is_not_kept_against_the_run():
    history = epochs([1.0, 0.8, 0.8, 0.8, 0.8, 0.5, 0.4])

    verdict = diagnostics.run_checks(history, BALANCED, LEARNING_RATE, best_epoch=7)

    assert diagnostics.check_loss_not_decreasing(history[:5], LEARNING_RATE).status == ISSUES_FOUND
    assert verdict["loss_not_decreasing"].status == OK


def test_the_summary_lists_each_check_with_issues():
    history = epochs([1.0, 0.9, 0.9, 0.9, 0.9], learning_rate=[0.002, 0.0019, 0.0018, 0.0016, 0.0014])

    document = diagnostics.diagnostics_document(history, {"ok": 500, "dent": 20}, LEARNING_RATE, best_epoch=2)

    assert document["status"] == ISSUES_FOUND
    assert [issue.split(":")[0] for issue in document["issues"]] == ["loss_not_decreasing", "class_imbalance"]
    assert list(document["checks"]) == list(diagnostics.CHECKS)
    assert document["checks"]["overfitting"]["status"] == OK
    assert document["epochs"][4]["issues"] == ["loss_not_decreasing", "class_imbalance"]
    assert document["epochs"][0]["issues"] == ["class_imbalance"]
    assert (document["best_epoch"], document["class_counts"]) == (2, {"ok": 500, "dent": 20})


def test_a_clean_run_is_ok():
    history = epochs([1.2, 0.9, 0.7, 0.6, 0.5], [1.0, 0.8, 0.6, 0.55, 0.5])

    summary = diagnostics.summary(diagnostics.run_checks(history, BALANCED, LEARNING_RATE, best_epoch=5))

    assert (summary["status"], summary["issues"]) == (OK, [])
    assert {check["status"] for check in summary["checks"].values()} == {OK}


# --- the metric fields ---------------------------------------------------------------------------

# The regexes of the MetricDefinitions (statemachines/training_pipeline.asl.json, PrepareTraining).
NUMBER = r"([0-9.eE+-]+)"


def test_metric_fields_hold_the_signals_and_one_flag_per_check():
    history = epochs(
        [1.0, 0.9, 0.9, 0.9, 0.9],
        learning_rate=[0.002, 0.0019, 0.0018, 0.0016, 0.0014],
        gradient_norm=[2.0, 2.0, 2.0, 2.0, 1.5e-8],
    )
    checks = diagnostics.epoch_checks(history, BALANCED, LEARNING_RATE)

    fields = diagnostics.metric_fields(checks, history[-1])

    assert fields.startswith(
        "diagnostics:gradient_norm=1.5e-08; diagnostics:gradient_norm_max=5;"
        " diagnostics:train_accuracy=0.8000;"
    )
    values = dict(re.findall(rf"(diagnostics:\w+)={NUMBER};", fields))
    assert float(values["diagnostics:gradient_norm"]) == 1.5e-8
    assert values["diagnostics:issues"] == "2"
    assert {name: values[f"diagnostics:{name}"] for name in diagnostics.CHECKS} == {
        "loss_not_decreasing": "1",
        "overfitting": "0",
        "exploding_gradients": "0",
        "vanishing_gradients": "1",
        "class_imbalance": "0",
        "stalled_learning_rate": "0",
    }


def test_a_non_finite_gradient_norm_is_left_out_of_the_fields():
    history = epochs([1.0], gradient_norm=[math.nan], gradient_norm_max=[math.nan], nonfinite=[12])

    fields = diagnostics.metric_fields(diagnostics.epoch_checks(history, BALANCED, LEARNING_RATE), history[0])

    assert "gradient_norm" not in fields
    assert "diagnostics:exploding_gradients=1;" in fields
