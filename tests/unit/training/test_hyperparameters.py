"""Hyperparameters from SM_HPS and command-line arguments."""

import json

import pytest
from hyperparameters import ARCHITECTURE_DEFAULTS, Hyperparameters, parse_bool, parse_hyperparameters


def test_defaults_apply_when_nothing_is_given():
    assert parse_hyperparameters([], None) == Hyperparameters()


def test_sm_hps_strings_are_converted_to_their_types():
    hps = json.dumps({"epochs": "7", "learning_rate": "0.01", "augment": "false", "model": "small_cnn"})

    hp = parse_hyperparameters([], hps)

    assert (hp.epochs, hp.learning_rate, hp.augment) == (7, 0.01, False)


def test_arguments_win_over_sm_hps():
    hp = parse_hyperparameters(["--epochs", "3"], json.dumps({"epochs": 9, "seed": 5}))

    assert (hp.epochs, hp.seed) == (3, 5)


def test_tuning_bookkeeping_and_unknown_names_are_ignored(caplog):
    hps = json.dumps(
        {"_tuning_objective_metric": "validation:macro_f1", "sagemaker_region": "x", "colour": 1}
    )

    hp = parse_hyperparameters(["--sagemaker_program", "train.py"], hps)

    assert hp == Hyperparameters()
    assert "colour" in caplog.text


def test_invalid_values_are_all_reported():
    with pytest.raises(ValueError, match=r"epochs must be >= 1.*class_weighting"):
        parse_hyperparameters(["--epochs", "0", "--class_weighting", "oversample"], None)


@pytest.mark.parametrize("objective", ["validation:f2", "accuracy"])
def test_unknown_objective_metric_is_refused(objective):
    with pytest.raises(ValueError, match="objective_metric"):
        parse_hyperparameters(["--objective_metric", objective], None)


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="model must be one of"):
        parse_hyperparameters(["--model", "vgg"], None)


@pytest.mark.parametrize(("text", "value"), [("True", True), ("1", True), ("no", False), ("false", False)])
def test_sagemaker_booleans_are_parsed(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("model", ["resnet18", "mobilenet_v3_small"])
def test_a_backbone_gets_its_fine_tuning_defaults(model):
    hp = parse_hyperparameters([], json.dumps({"model": model}))

    assert hp == Hyperparameters.for_model(model)
    assert (hp.learning_rate, hp.batch_size, hp.epochs, hp.patience) == (0.001, 32, 15, 4)
    assert (hp.pretrained, hp.backbone_lr_factor) == (True, 0.1)


def test_values_given_win_over_the_architectures_defaults():
    hp = parse_hyperparameters(
        ["--model", "resnet18", "--batch_size", "8"], json.dumps({"learning_rate": "0.02"})
    )

    assert (hp.batch_size, hp.learning_rate, hp.epochs) == (8, 0.02, 15)


def test_small_cnn_keeps_the_dataclass_defaults():
    assert ARCHITECTURE_DEFAULTS["small_cnn"] == {}
    assert Hyperparameters.for_model("small_cnn") == Hyperparameters()


@pytest.mark.parametrize("factor", ["-0.1", "1.5"])
def test_a_backbone_learning_rate_factor_outside_zero_to_one_is_refused(factor):
    with pytest.raises(ValueError, match=r"backbone_lr_factor must be in \[0, 1\]"):
        parse_hyperparameters(["--backbone_lr_factor", factor], None)
