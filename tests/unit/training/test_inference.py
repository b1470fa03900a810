"""The serving handler: every content type, the response contract, and refused payloads."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import sys
import types
from pathlib import Path

import inference
import pytest
from image_features import FEATURE_NAMES
from inference import InferenceError, input_fn, model_fn, output_fn, predict_fn
from PIL import Image

from mlops_local.synthetic_images import make_image

pytestmark = pytest.mark.slow  # needs the session's trained model


def encoded(img: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def model(trained_model_dir: Path):
    return model_fn(str(trained_model_dir))


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return make_image("scratch", size=96, seed=3)


def invoke(model, body, content_type: str, accept: str = "application/json") -> dict:
    return json.loads(output_fn(predict_fn(input_fn(body, content_type), model), accept))


@pytest.mark.parametrize(("content_type", "fmt"), [("image/jpeg", "JPEG"), ("image/png", "PNG")])
def test_single_image_request_returns_one_prediction(model, photo, content_type, fmt):
    response = invoke(model, encoded(photo, fmt), content_type)

    assert response["model_version"] == "unit-test-job"
    [prediction] = response["predictions"]
    assert prediction["label"] in model.labels
    assert prediction["confidence"] == max(prediction["probabilities"].values())
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)


def test_json_batch_returns_one_prediction_per_image_in_order(model):
    images = [make_image(label, size=96, seed=11) for label in ("ok", "scratch", "crack")]
    body = json.dumps({"images": [base64.b64encode(encoded(img, "PNG")).decode() for img in images]})

    response = invoke(model, body.encode(), "application/json; charset=utf-8")

    assert len(response["predictions"]) == 3
    assert [p["features"]["width"] for p in response["predictions"]] == [96, 96, 96]


def test_prediction_carries_every_monitoring_feature(model, photo):
    [prediction] = invoke(model, encoded(photo, "JPEG"), "image/jpeg")["predictions"]

    assert set(prediction["features"]) == set(FEATURE_NAMES)
    assert model.labels[prediction["features"]["predicted_class"]] == prediction["label"]
    assert (prediction["features"]["width"], prediction["features"]["height"]) == (96, 96)


def test_text_body_is_accepted_for_json(model, photo):
    body = json.dumps({"images": [base64.b64encode(encoded(photo, "PNG")).decode()]})

    assert len(invoke(model, body, "application/json")["predictions"]) == 1


def bomb_png() -> bytes:
    # 25 megapixels of one colour: a few kilobytes compressed, far past the pixel limit.
    return encoded(Image.new("L", (5000, 5000)), "PNG")


def truncated_jpeg() -> bytes:
    data = encoded(make_image("ok", size=96, seed=1), "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "reason"),
    [
        (b"", "image/jpeg", 400, "empty"),
        (b"hello", "text/plain", 415, "unsupported content type"),
        (b"hello", None, 415, "unsupported content type"),
        (b"this is text, not a photo", "image/jpeg", 400, "not a decodable image"),
        (truncated_jpeg(), "image/jpeg", 400, "corrupt image"),
        (bomb_png(), "image/png", 400, "exceeds the limit"),
        (encoded(Image.new("RGB", (8, 8)), "GIF"), "image/png", 400, "unsupported image format GIF"),
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "at least one image"),
        (b'{"images": []}', "application/json", 400, "at least one image"),
        (b'{"images": [42]}', "application/json", 400, "not a base64 string"),
        (b'{"images": ["%%%"]}', "application/json", 400, "not valid base64"),
        (b'{"images": ["aGVsbG8="]}', "application/json", 400, "images[0]"),
        (json.dumps({"images": ["aGVsbG8="] * 65}).encode(), "application/json", 400, "at most 64"),
        (b"\xff" * (inference.MAX_PAYLOAD_BYTES + 1), "image/jpeg", 400, "exceeds"),
    ],
    ids=[
        "empty", "text-type", "no-type", "text-as-jpeg", "truncated-jpeg", "decompression-bomb", "gif",
        "bad-json", "json-list", "no-images", "not-a-string", "bad-base64", "base64-of-text", "too-many",
        "too-large",
    ],
)  # fmt: skip
def test_bad_payload_is_refused_with_a_status_and_reason(body, content_type, status, reason):
    with pytest.raises(InferenceError) as refused:
        input_fn(body, content_type)

    assert refused.value.status_code == status
    assert reason in refused.value.reason


def test_unsupported_accept_is_refused_with_406(model, photo):
    prediction = predict_fn(input_fn(encoded(photo, "PNG"), "image/png"), model)

    with pytest.raises(InferenceError) as refused:
        output_fn(prediction, "text/csv")

    assert refused.value.status_code == 406


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, application/json;q=0.9"])
def test_json_compatible_accept_values_are_served(model, photo, accept):
    prediction = predict_fn(input_fn(encoded(photo, "PNG"), "image/png"), model)

    assert json.loads(output_fn(prediction, accept))["predictions"]


def test_inference_error_subclasses_the_toolkit_error_when_the_toolkit_is_installed(monkeypatch):
    class GenericInferenceToolkitError(Exception):
        def __init__(self, status_code, message=None, phrase=None):
            super().__init__(status_code, message, phrase)
            self.status_code, self.message, self.phrase = status_code, message, phrase

    errors = types.ModuleType("sagemaker_inference.errors")
    errors.GenericInferenceToolkitError = GenericInferenceToolkitError  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sagemaker_inference", types.ModuleType("sagemaker_inference"))
    monkeypatch.setitem(sys.modules, "sagemaker_inference.errors", errors)
    spec = importlib.util.spec_from_file_location("inference_with_toolkit", inference.__file__)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    error = module.InferenceError(415, "unsupported content type")

    assert isinstance(error, GenericInferenceToolkitError)
    assert (error.status_code, error.message) == (415, "unsupported content type")
