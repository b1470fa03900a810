"""A TorchServe worker of SageMaker's PyTorch serving container, without TorchServe.

Run as ``python torchserve_worker.py REQUESTS_JSON RESPONSES_JSON`` in a process whose environment is
the serving container's (``SAGEMAKER_BASE_DIR``, ``SAGEMAKER_PROGRAM``, ``PYTHONPATH``). It does what a
worker does with the container's handler (``default_service_handler`` in the TorchServe config that
sagemaker_pytorch_serving_container/torchserve.py writes): TorchServe's model loader
(pytorch/serve ts/model_loader.py) instantiates the one class of the handler module,
``HandlerService``, and calls ``initialize(context)`` once; then each batch goes to
``handle(data, context)`` with the same ``Context`` whose ``request_processor`` holds that batch's
headers (ts/service.py, ``predict``). The body arrives as a ``bytearray`` (ts/protocol/
otf_message_handler.py, ``_retrieve_buffer``) under the key ``body``, undecoded because the
container's TorchServe config sets ``decode_input_request=false``.

The context offers only what sagemaker_inference's handler service and transformer use:
``system_properties["model_dir"]``, ``request_processor[0].get_request_properties()``,
``set_response_content_type`` and ``set_response_status``. Each response is written as
``{"status", "phrase", "content_type", "body"}``; the file also names the module the toolkit
imported as the user's serving code (``module_file``).

REQUESTS_JSON: ``{"model_dir": str, "requests": [{"headers": {...}, "body_base64": str}, ...]}``.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from sagemaker_pytorch_serving_container.handler_service import HandlerService


class RequestProcessor:
    """One request's headers in, its status and response headers out (TorchServe's RequestProcessor)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers
        self.status = 200
        self.phrase = ""
        self.response_headers: dict[str, str] = {}

    def get_request_properties(self) -> dict[str, str]:
        return self._headers


class Context:
    """The part of TorchServe's ``Context`` the toolkit calls."""

    def __init__(self, model_dir: str) -> None:
        # TorchServe names the model after the archive; the serving container registers "model".
        self.model_name = "model"
        self.system_properties = {"model_dir": model_dir}
        self.request_processor: list[RequestProcessor] = []

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.request_processor[idx].response_headers["Content-Type"] = value

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.request_processor[idx].status = code
        self.request_processor[idx].phrase = phrase


def _text(output: Any) -> str:
    return output.decode("utf-8") if isinstance(output, bytes | bytearray) else str(output)


def main(requests_path: str, responses_path: str) -> int:
    spec = json.loads(Path(requests_path).read_text(encoding="utf-8"))
    context = Context(spec["model_dir"])
    service = HandlerService()
    service.initialize(context)
    responses = []
    for request in spec["requests"]:
        processor = RequestProcessor(request["headers"])
        context.request_processor = [processor]
        body = bytearray(base64.b64decode(request["body_base64"]))
        [output] = service.handle([{"body": body}], context)
        responses.append({
            "status": processor.status,
            "phrase": processor.phrase,
            "content_type": processor.response_headers.get("Content-Type"),
            "body": _text(output),
        })  # fmt: skip
    document = {"module_file": sys.modules["inference"].__file__, "responses": responses}
    Path(responses_path).write_text(json.dumps(document), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
