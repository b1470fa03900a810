"""PyTorch serving handler (SageMaker's ``model_fn``/``input_fn``/``predict_fn``/``output_fn``).

Requests: ``image/jpeg`` or ``image/png`` (one image) or ``application/json`` with
``{"images": ["<base64>", ...]}`` (at most 64). Every response carries, per image, the monitoring
``features`` (image and prediction features of ``image_features``), so Model Monitor's record
preprocessor needs only the captured response. Bad requests raise ``InferenceError`` with an HTTP
status and a reason; nothing a client sends can crash the worker.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import defect_model
import numpy as np
from image_decoding import ImageDecodeError, decode_image, image_to_array, resize_for_model
from image_features import image_features, prediction_features
from model_artifact import LoadedModel, load_model
from PIL import Image

# SageMaker's real-time payload limit; a bigger body never reaches a real endpoint.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_IMAGES_PER_REQUEST = 64
IMAGE_CONTENT_TYPES = frozenset({"image/jpeg", "image/png"})
JSON_CONTENT_TYPE = "application/json"
ACCEPTED_RESPONSE_TYPES = frozenset({"", "*/*", "application/*", JSON_CONTENT_TYPE})

try:  # In SageMaker's serving containers the toolkit turns this error into the HTTP status.
    from sagemaker_inference.errors import GenericInferenceToolkitError as _ErrorBase
except ImportError:
    _ErrorBase = Exception


class InferenceError(_ErrorBase):
    """A request the handler refuses: ``status_code`` (400, 406 or 415) and a ``reason``."""

    def __init__(self, status_code: int, reason: str) -> None:
        # GenericInferenceToolkitError takes (status_code, message, phrase).
        super().__init__(status_code, reason, reason)
        self.status_code = status_code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.status_code}: {self.reason}"


def model_fn(model_dir: str) -> LoadedModel:
    """Load the model unpacked from ``model.tar.gz`` into ``model_dir``."""
    return load_model(Path(model_dir))


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def input_fn(
    request_body: bytes | bytearray | memoryview | str, request_content_type: str | None
) -> list[Image.Image]:
    """Decode a request into RGB images, or raise InferenceError (400 bad payload, 415 bad type)."""
    media_type = _media_type(request_content_type)
    if media_type not in IMAGE_CONTENT_TYPES and media_type != JSON_CONTENT_TYPE:
        raise InferenceError(
            415,
            f"unsupported content type {request_content_type!r}; "
            "use image/jpeg, image/png or application/json",
        )
    body = request_body.encode("utf-8") if isinstance(request_body, str) else bytes(request_body)
    if not body:
        raise InferenceError(400, "empty request body")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise InferenceError(400, f"request body of {len(body)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    if media_type in IMAGE_CONTENT_TYPES:
        return [_decode(body, "image")]
    return [_decode(data, f"images[{i}]") for i, data in enumerate(_json_images(body))]


def _json_images(body: bytes) -> list[bytes]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InferenceError(400, f"body is not valid JSON: {exc}") from exc
    images = document.get("images") if isinstance(document, dict) else None
    if not isinstance(images, list) or not images:
        raise InferenceError(
            400, 'expected a JSON object {"images": ["<base64>", ...]} with at least one image'
        )
    if len(images) > MAX_IMAGES_PER_REQUEST:
        raise InferenceError(400, f"{len(images)} images in one request; at most {MAX_IMAGES_PER_REQUEST}")
    decoded = []
    for i, item in enumerate(images):
        if not isinstance(item, str):
            raise InferenceError(400, f"images[{i}] is not a base64 string")
        try:
            decoded.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InferenceError(400, f"images[{i}] is not valid base64: {exc}") from exc
    return decoded


def _decode(data: bytes, name: str) -> Image.Image:
    try:
        return decode_image(data)
    except ImageDecodeError as exc:
        raise InferenceError(400, f"{name}: {exc}") from exc


def predict_fn(data: list[Image.Image], model: LoadedModel) -> dict[str, Any]:
    """Classify the images; each prediction carries its probabilities and monitoring features."""
    resized = [resize_for_model(img, model.image_size) for img in data]
    probabilities = defect_model.predict_probabilities(
        model.network, np.stack([image_to_array(img) for img in resized]), model.mean, model.std
    )
    predictions = []
    for original, model_input, probs in zip(data, resized, probabilities, strict=True):
        top = int(np.argmax(probs))
        # Image features are measured on what the model sees (comparable with the dataset's
        # normalised images) and report the size the client sent.
        features = image_features(model_input, received_size=original.size)
        features.update(prediction_features(probs, model.labels))
        predictions.append({
            "label": model.labels[top],
            "confidence": float(probs[top]),
            "probabilities": {label: float(p) for label, p in zip(model.labels, probs, strict=True)},
            "features": features,
        })  # fmt: skip
    return {"model_version": model.model_version, "predictions": predictions}


def output_fn(prediction: dict[str, Any], accept: str | None) -> str:
    """Serialise the prediction as JSON; any other ``accept`` is refused with 406."""
    accepted = {_media_type(part) for part in (accept or "").split(",")}
    if not accepted & ACCEPTED_RESPONSE_TYPES:
        raise InferenceError(406, f"cannot answer with {accept!r}; the response is application/json")
    return json.dumps(prediction)
