"""PyTorch serving handler (SageMaker's ``model_fn``/``input_fn``/``predict_fn``/``output_fn``).

Requests: ``image/jpeg`` or ``image/png`` (one image) or ``application/json`` with
``{"images": ["<base64>", ...]}`` (at most 64). Every response carries, per image, the monitoring
``features`` (image and prediction features of ``image_features``), so Model Monitor's record
preprocessor needs only the captured response. Bad requests raise ``InferenceError`` with an HTTP
status and a reason; nothing a client sends can crash the worker.

The cost of a request is bounded before any work is done on it: the content type and ``Accept``
are checked first, then the body's size and shape, then every image's header (format and pixel
count, read without decoding) against a per-image and a per-request pixel budget. Only a request
that passes all of these is decoded. The budgets come from the container's environment
(``SERVING_MAX_IMAGE_PIXELS``, ``SERVING_MAX_REQUEST_PIXELS``), read once when the worker starts.

The model runs on the GPU when the serving instance has one, else on the CPU; predictions come
back to the host as numpy arrays either way.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import defect_model
import numpy as np
from devices import select_device
from image_decoding import (
    ImageDecodeError,
    ImageTooLarge,
    image_to_array,
    load_rgb,
    open_image,
    resize_for_model,
)
from image_features import image_features, prediction_features
from model_artifact import LoadedModel, load_model
from PIL import Image, PngImagePlugin

# SageMaker's real-time payload limit; a bigger body never reaches a real endpoint.
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
MAX_IMAGES_PER_REQUEST = 64
IMAGE_CONTENT_TYPES = frozenset({"image/jpeg", "image/png"})
JSON_CONTENT_TYPE = "application/json"
ACCEPTED_RESPONSE_TYPES = frozenset({"", "*/*", "application/*", JSON_CONTENT_TYPE})

MAX_IMAGE_PIXELS_ENV = "SERVING_MAX_IMAGE_PIXELS"
MAX_REQUEST_PIXELS_ENV = "SERVING_MAX_REQUEST_PIXELS"
# The largest model input is 512x512 (the template's ImageSize maximum), so a full batch of 64
# images at that size is 64 * 512**2 = 4096**2 pixels: the same budget admits one 4096x4096 frame
# (the per-image limit, 8x the largest input side; anything bigger is downscaled past any use).
# Decoded, that is about 50 MB of RGB and well under a second of one core, where 64 such frames
# were 4 GB and a minute.
DEFAULT_MAX_IMAGE_PIXELS = 4096 * 4096
DEFAULT_MAX_REQUEST_PIXELS = MAX_IMAGES_PER_REQUEST * 512 * 512
# Pillow inflates PNG text chunks while it reads the header, up to 64 MiB per image by default: 64
# small PNGs of compressed text cost 4 GB and over half a minute before any size check runs. The
# model reads no metadata: one chunk's worth (Pillow's per-chunk limit, 1 MiB) per image is plenty.
MAX_PNG_TEXT_BYTES = 1024 * 1024
PngImagePlugin.MAX_TEXT_CHUNK = MAX_PNG_TEXT_BYTES
PngImagePlugin.MAX_TEXT_MEMORY = MAX_PNG_TEXT_BYTES

try:  # In SageMaker's serving containers the toolkit turns this error into the HTTP status.
    from sagemaker_inference.errors import GenericInferenceToolkitError as _ErrorBase
except ImportError:
    _ErrorBase = Exception


class InferenceError(_ErrorBase):
    """A request the handler refuses: ``status_code`` (400, 406, 413 or 415) and a ``reason``."""

    def __init__(self, status_code: int, reason: str) -> None:
        # GenericInferenceToolkitError takes (status_code, message, phrase).
        super().__init__(status_code, reason, reason)
        self.status_code = status_code
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.status_code}: {self.reason}"


class ServingLimits(NamedTuple):
    """How many decoded pixels one image and one request may have."""

    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    max_request_pixels: int = DEFAULT_MAX_REQUEST_PIXELS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ServingLimits:
        """Read the limits from the container's environment; a bad value fails the worker's start."""
        limits = cls(
            max_image_pixels=_positive_int(environ, MAX_IMAGE_PIXELS_ENV, DEFAULT_MAX_IMAGE_PIXELS),
            max_request_pixels=_positive_int(environ, MAX_REQUEST_PIXELS_ENV, DEFAULT_MAX_REQUEST_PIXELS),
        )
        pillow_limit = Image.MAX_IMAGE_PIXELS
        if pillow_limit is not None and limits.max_image_pixels > pillow_limit:
            # Pillow refuses such images as decompression bombs whatever this says.
            raise ValueError(
                f"{MAX_IMAGE_PIXELS_ENV}={limits.max_image_pixels} exceeds Pillow's decompression-bomb "
                f"limit of {pillow_limit} pixels"
            )
        return limits


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"{name}={text!r} is not a positive whole number of pixels")
    return int(text)


# Set per model in the container's Environment (CreateModel's ContainerDefinition):
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ContainerDefinition.html
LIMITS = ServingLimits.from_environment(os.environ)


def model_fn(model_dir: str) -> LoadedModel:
    """Load the model unpacked from ``model.tar.gz`` into ``model_dir``, on the GPU when there is one
    (as the serving toolkit's default handler does: sagemaker-pytorch-inference,
    sagemaker_pytorch_serving_container/default_pytorch_inference_handler.py)."""
    return load_model(Path(model_dir), select_device())


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _check_content_type(content_type: str | None) -> str:
    media_type = _media_type(content_type)
    if media_type not in IMAGE_CONTENT_TYPES and media_type != JSON_CONTENT_TYPE:
        raise InferenceError(
            415, f"unsupported content type {content_type!r}; use image/jpeg, image/png or application/json"
        )
    return media_type


def _check_accept(accept: str | None) -> None:
    accepted = {_media_type(part) for part in (accept or "").split(",")}
    if not accepted & ACCEPTED_RESPONSE_TYPES:
        raise InferenceError(406, f"cannot answer with {accept!r}; the response is application/json")


def _request_accept(context: Any) -> str | None:
    """The request's Accept header from the serving toolkit's context (TorchServe's ``Context``)."""
    try:
        properties = context.request_processor[0].get_request_properties()
    except (AttributeError, IndexError, KeyError, TypeError):
        return None  # output_fn still refuses an Accept it cannot serve
    return properties.get("Accept") or properties.get("accept")


def input_fn(
    request_body: bytes | bytearray | memoryview | str,
    request_content_type: str | None,
    context: Any = None,
) -> list[Image.Image]:
    """Decode a request into RGB images, or raise InferenceError (400, 406, 413 or 415).

    SageMaker's inference toolkit passes its request ``context`` to an ``input_fn`` that takes
    one, which lets the ``Accept`` header be refused before anything is decoded or predicted.
    """
    media_type = _check_content_type(request_content_type)
    if context is not None:
        _check_accept(_request_accept(context))
    body = request_body.encode("utf-8") if isinstance(request_body, str) else bytes(request_body)
    if not body:
        raise InferenceError(400, "empty request body")
    if len(body) > MAX_PAYLOAD_BYTES:
        raise InferenceError(413, f"request body of {len(body)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    if media_type in IMAGE_CONTENT_TYPES:
        named = [("image", body)]
    else:
        named = [(f"images[{i}]", data) for i, data in enumerate(_json_images(body))]
    opened = [(name, _open(data, name)) for name, data in named]
    pixels = sum(img.width * img.height for _, img in opened)
    if pixels > LIMITS.max_request_pixels:
        raise InferenceError(
            413,
            f"{len(opened)} image(s) of {pixels} pixels in all exceed the limit of "
            f"{LIMITS.max_request_pixels} pixels per request; send fewer or smaller images",
        )
    return [_load(img, name) for name, img in opened]


def _json_images(body: bytes) -> list[bytes]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InferenceError(400, f"body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        # The parser's depth is bounded by the interpreter's recursion limit; the expected
        # document is two levels deep, so anything that reaches the limit is not a request.
        raise InferenceError(400, "body is JSON nested too deeply to be a request") from exc
    images = document.get("images") if isinstance(document, dict) else None
    if not isinstance(images, list) or not images:
        raise InferenceError(
            400, 'expected a JSON object {"images": ["<base64>", ...]} with at least one image'
        )
    if len(images) > MAX_IMAGES_PER_REQUEST:
        raise InferenceError(413, f"{len(images)} images in one request; at most {MAX_IMAGES_PER_REQUEST}")
    decoded = []
    for i, item in enumerate(images):
        if not isinstance(item, str):
            raise InferenceError(400, f"images[{i}] is not a base64 string")
        try:
            decoded.append(base64.b64decode(item, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise InferenceError(400, f"images[{i}] is not valid base64: {exc}") from exc
    return decoded


def _open(data: bytes, name: str) -> Image.Image:
    try:
        return open_image(data, max_pixels=LIMITS.max_image_pixels)
    except ImageTooLarge as exc:
        raise InferenceError(413, f"{name}: {exc}") from exc
    except ImageDecodeError as exc:
        raise InferenceError(400, f"{name}: {exc}") from exc


def _load(img: Image.Image, name: str) -> Image.Image:
    try:
        return load_rgb(img)
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


def output_fn(prediction: dict[str, Any], accept: str | None) -> tuple[str, str]:
    """Serialise the prediction as JSON: (body, content type); any other ``accept`` gets 406.

    The content type is returned because the toolkit otherwise answers with the request's Accept
    as the response's Content-Type (``*/*``, ``application/*`` or a whole list of types).
    """
    _check_accept(accept)
    return json.dumps(prediction), JSON_CONTENT_TYPE
