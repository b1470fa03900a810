"""Real-time endpoints on 127.0.0.1, under SageMaker's hosting contract.

Each endpoint is one ``ThreadingHTTPServer`` (port chosen by the OS) answering ``GET /ping`` and
``POST /invocations`` with the model's own ``inference.py``. Production variants are picked by
weight (or by the ``X-Amzn-SageMaker-Target-Variant`` header) and named in the
``X-Amzn-Invoked-Production-Variant`` response header, as InvokeEndpoint does.

Data capture follows the endpoint config's ``DataCaptureConfig``: sampled requests are written to
``<DestinationS3Uri>/<endpoint>/<variant>/<yyyy>/<mm>/<dd>/<hh>/<uuid>.jsonl`` in SageMaker's capture
format, after the answer has gone out: on SageMaker capture never delays an inference (it is
buffered on the instance and uploaded later). ``flush_captures`` waits for the writes still under
way, as a monitoring run reads only what has reached S3. As on SageMaker, bodies are base64-encoded
unless their content type is listed in ``CaptureContentTypeHeader`` (``JsonContentTypes`` are
captured inline as JSON, ``CsvContentTypes`` as CSV). Each file holds one record: S3 has no append,
and a record written at once is never lost.

The server is the standard library's, held to what a client of a real endpoint can rely on: every
answer has a status line (a garbage request line gets a 400, not an HTTP/0.9 page), a connection
that goes quiet for ``read_timeout_s`` mid-request or between requests is closed, a reply sent
before the request's body was read closes the connection (the unread body is never parsed as a
next request), and the Content-Type of an answer is fixed by the handler, never copied from the
request's Accept.

Updates are blue/green: the new variants are loaded, pinged and given one smoke invocation while the
old ones keep serving (``stage``); then the new fleet takes a growing share of the requests
(``shift``: a canary, linear steps or rolling batches, as the update's deployment config says) until
it is the only one (``commit``), or is dropped while the old one serves on (``discard``: the
rollback). A failed check (or the ``endpoint-update-failure`` fault) raises ``DeploymentFailed`` and
leaves the old model serving. ``deploy`` on a running endpoint swaps all at once.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import random
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

from mlops_local.executors.faults import FaultPlan
from mlops_local.executors.s3_transfer import join_s3_uri, split_s3_uri
from mlops_local.executors.serving import InvocationError, ModelHandler, load_model_from_s3

# SageMaker's real-time payload limit.
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html
MAX_REQUEST_BYTES = 6 * 1024 * 1024
# A loopback client sends the largest body in milliseconds: a connection quiet for this long in
# the middle of a request (or idle between keep-alive requests) is stuck or hostile, and each one
# holds a server thread.
DEFAULT_READ_TIMEOUT_S = 10.0
TARGET_VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"
INVOKED_VARIANT_HEADER = "X-Amzn-Invoked-Production-Variant"


class DeploymentFailed(Exception):
    """A deployment whose new variants did not become healthy; the endpoint keeps its old model."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Variant:
    """One production variant being served."""

    name: str
    weight: float
    handler: ModelHandler


@dataclass
class CaptureSettings:
    """An endpoint config's DataCaptureConfig, read once."""

    enabled: bool = False
    sampling_percentage: int = 0
    destination: str = ""
    capture_input: bool = True
    capture_output: bool = True
    json_types: frozenset[str] = frozenset()
    csv_types: frozenset[str] = frozenset()

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> CaptureSettings:
        """Read ``DataCaptureConfig`` (None or disabled means no capture)."""
        if not config or not config.get("EnableCapture", True):
            return cls()
        modes = {option["CaptureMode"] for option in config.get("CaptureOptions", [])} or {"Input", "Output"}
        headers = config.get("CaptureContentTypeHeader", {})
        return cls(
            enabled=True,
            sampling_percentage=int(config.get("InitialSamplingPercentage", 100)),
            destination=config["DestinationS3Uri"],
            capture_input=bool(modes & {"Input", "InputAndOutput"}),
            capture_output=bool(modes & {"Output", "InputAndOutput"}),
            json_types=frozenset(headers.get("JsonContentTypes", [])),
            csv_types=frozenset(headers.get("CsvContentTypes", [])),
        )

    def captured(self, body: bytes, content_type: str, mode: str) -> dict[str, str]:
        """One side of a capture record, encoded as SageMaker encodes it."""
        media_type = content_type.split(";", 1)[0].strip()
        encoding = (
            "JSON" if media_type in self.json_types else "CSV" if media_type in self.csv_types else "BASE64"
        )
        if encoding != "BASE64":
            try:
                data = body.decode("utf-8")
            except UnicodeDecodeError:
                encoding = "BASE64"
        if encoding == "BASE64":
            data = base64.b64encode(body).decode("ascii")
        return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}


@dataclass
class InvocationResponse:
    """What the CLI's invoke helper got back."""

    status: int
    body: bytes
    content_type: str
    variant: str

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class _Deployment:
    config_name: str
    variants: list[Variant]
    capture: CaptureSettings


@dataclass
class _Endpoint:
    name: str
    server: ThreadingHTTPServer
    thread: threading.Thread
    deployment: _Deployment
    lock: threading.Lock = field(default_factory=threading.Lock)
    # An update in progress: the new fleet and the share of the requests it takes.
    staged: _Deployment | None = None
    staged_share: float = 0.0

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"


class EndpointHost:
    """Serves every local endpoint of one runtime."""

    def __init__(
        self,
        s3: Any,
        root: Path,
        *,
        faults: FaultPlan | None = None,
        progress: Callable[[str], None] = print,
        seed: int | None = None,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
        s3_as: Callable[[str], Any] | None = None,
    ) -> None:
        """``s3_as(role ARN)``: an S3 client acting as the role (a model's artefacts are read as its role)."""
        self._s3 = s3
        self._s3_as = s3_as
        self._read_timeout_s = read_timeout_s
        self._root = root
        self._faults = faults or FaultPlan()
        self._progress = progress
        self._random = random.Random(seed)
        self._endpoints: dict[str, _Endpoint] = {}
        self._lock = threading.Lock()
        self._captures_pending = 0
        self._clients = threading.local()  # invoke's kept-open connections, per calling thread
        self._captures_written = threading.Condition()

    def deploy(
        self,
        endpoint_name: str,
        config_name: str,
        variants: Sequence[Mapping[str, Any]],
        data_capture_config: Mapping[str, Any] | None = None,
    ) -> str:
        """Create the endpoint, or update it blue/green; return its URL or raise DeploymentFailed."""
        deployment = self._prepare(endpoint_name, config_name, variants, data_capture_config)
        with self._lock:
            endpoint = self._endpoints.get(endpoint_name)
            if endpoint is None:
                endpoint = self._start_server(endpoint_name, deployment)
                self._endpoints[endpoint_name] = endpoint
                self._progress(f"endpoint {endpoint_name}: serving {config_name} at {endpoint.url}")
                return endpoint.url
        with endpoint.lock:
            previous = endpoint.deployment.config_name
            endpoint.deployment = deployment
        self._progress(f"endpoint {endpoint_name}: switched from {previous} to {config_name}")
        return endpoint.url

    def stage(
        self,
        endpoint_name: str,
        config_name: str,
        variants: Sequence[Mapping[str, Any]],
        data_capture_config: Mapping[str, Any] | None = None,
    ) -> None:
        """Load and health-check the new fleet beside the serving one; it takes no traffic yet."""
        deployment = self._prepare(endpoint_name, config_name, variants, data_capture_config)
        endpoint = self._endpoint(endpoint_name)
        with endpoint.lock:
            endpoint.staged, endpoint.staged_share = deployment, 0.0
        self._progress(
            f"endpoint {endpoint_name}: {config_name} staged beside {endpoint.deployment.config_name}"
        )

    def shift(self, endpoint_name: str, share: float) -> None:
        """Send ``share`` (0-1) of the requests to the staged fleet."""
        endpoint = self._endpoint(endpoint_name)
        with endpoint.lock:
            if endpoint.staged is None:
                raise DeploymentFailed(f"endpoint {endpoint_name} has no staged fleet to shift traffic to")
            endpoint.staged_share = min(max(share, 0.0), 1.0)
        self._progress(f"endpoint {endpoint_name}: {share:.0%} of the traffic on the new fleet")

    def commit(self, endpoint_name: str) -> None:
        """The staged fleet becomes the only one (the old fleet is terminated)."""
        endpoint = self._endpoint(endpoint_name)
        with endpoint.lock:
            if endpoint.staged is None:
                raise DeploymentFailed(f"endpoint {endpoint_name} has no staged fleet to commit")
            previous = endpoint.deployment.config_name
            endpoint.deployment, endpoint.staged, endpoint.staged_share = endpoint.staged, None, 0.0
        self._progress(
            f"endpoint {endpoint_name}: switched from {previous} to {endpoint.deployment.config_name}"
        )

    def discard(self, endpoint_name: str) -> None:
        """Drop the staged fleet: all the requests go back to the serving one (a rollback)."""
        endpoint = self._endpoint(endpoint_name)
        with endpoint.lock:
            staged, endpoint.staged, endpoint.staged_share = endpoint.staged, None, 0.0
        if staged is not None:
            self._progress(
                f"endpoint {endpoint_name}: rolled back to {endpoint.deployment.config_name} "
                f"({staged.config_name} dropped)"
            )

    def url(self, endpoint_name: str) -> str:
        """The URL of a running endpoint."""
        return self._endpoint(endpoint_name).url

    def config_name(self, endpoint_name: str) -> str:
        """The endpoint config the endpoint is serving now (the old one until an update commits)."""
        return self._endpoint(endpoint_name).deployment.config_name

    def traffic_share(self, endpoint_name: str) -> float:
        """The share of the requests a staged fleet takes now (0 with no update in progress)."""
        endpoint = self._endpoint(endpoint_name)
        with endpoint.lock:
            return endpoint.staged_share if endpoint.staged is not None else 0.0

    def endpoint_names(self) -> list[str]:
        """Names of the running endpoints."""
        with self._lock:
            return sorted(self._endpoints)

    def invoke(
        self, endpoint_name: str, body: bytes, content_type: str, accept: str = "application/json"
    ) -> InvocationResponse:
        """POST ``body`` to the endpoint's /invocations over HTTP, as a client would: on a connection
        kept open per thread, as boto3's pool keeps one (a new one when the server has closed it)."""
        url = urllib.parse.urlsplit(self.url(endpoint_name))
        headers = {"Content-Type": content_type, "Accept": accept}
        for attempt in (1, 2):
            connection = self._connection(url.hostname or "127.0.0.1", url.port or 80, fresh=attempt == 2)
            try:
                connection.request("POST", "/invocations", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()
                if attempt == 2:
                    raise
                continue  # an idle connection the server had closed: once more on a new one
            return InvocationResponse(
                response.status,
                payload,
                response.headers.get("Content-Type", ""),
                response.headers.get(INVOKED_VARIANT_HEADER, ""),
            )
        raise AssertionError("unreachable")

    def _connection(self, host: str, port: int, *, fresh: bool) -> http.client.HTTPConnection:
        connections: dict[tuple[str, int], http.client.HTTPConnection] = self._clients.__dict__.setdefault(
            "connections", {}
        )
        if fresh or (host, port) not in connections:
            connections[(host, port)] = http.client.HTTPConnection(host, port, timeout=60)
        return connections[(host, port)]

    def delete(self, endpoint_name: str) -> None:
        """Stop one endpoint."""
        with self._lock:
            endpoint = self._endpoints.pop(endpoint_name, None)
        if endpoint is not None:
            endpoint.server.shutdown()
            endpoint.server.server_close()

    def stop_all(self) -> None:
        """Stop every endpoint."""
        for name in self.endpoint_names():
            self.delete(name)

    # Deployment -----------------------------------------------------------------------------

    def _prepare(
        self,
        endpoint_name: str,
        config_name: str,
        variants: Sequence[Mapping[str, Any]],
        data_capture_config: Mapping[str, Any] | None,
    ) -> _Deployment:
        """Load and health-check the new variants without touching what is serving now."""
        if not variants:
            raise DeploymentFailed(f"endpoint config {config_name} has no production variants")
        loaded: list[Variant] = []
        for spec in variants:
            workdir = self._root / endpoint_name / config_name / spec["VariantName"]
            try:
                role = spec.get("ExecutionRoleArn")
                s3 = self._s3_as(role) if self._s3_as and role else self._s3
                handler = load_model_from_s3(s3, spec["ModelDataUrl"], workdir)
            except Exception as error:
                raise DeploymentFailed(
                    f"variant {spec['VariantName']} could not load model {spec.get('ModelName')}: {error}"
                ) from error
            loaded.append(Variant(spec["VariantName"], float(spec.get("InitialVariantWeight", 1.0)), handler))
        for variant in loaded:
            self._health_check(endpoint_name, variant)
        return _Deployment(config_name, loaded, CaptureSettings.from_config(data_capture_config))

    def _health_check(self, endpoint_name: str, variant: Variant) -> None:
        """Ping (the model loaded) and one smoke invocation with a small image, as a load balancer would."""
        if slow_start := self._faults.take_endpoint_slow_start(endpoint_name):
            # The endpoint stays Creating/Updating meanwhile, as it does for minutes on AWS.
            time.sleep(slow_start)
        if self._faults.take_endpoint_update_failure(endpoint_name):
            raise DeploymentFailed(
                f"variant {variant.name} failed its health check: the container did not pass the ping "
                "health check (injected fault)"
            )
        try:
            body, _ = variant.handler.invoke(_smoke_image(), "image/png")
            json.loads(body)
        except (InvocationError, ValueError) as error:
            raise DeploymentFailed(f"variant {variant.name} failed its smoke invocation: {error}") from error

    def _start_server(self, endpoint_name: str, deployment: _Deployment) -> _Endpoint:
        host = self
        holder: dict[str, _Endpoint] = {}

        class Handler(_InvocationHandler):
            timeout = host._read_timeout_s

            def endpoint(self) -> _Endpoint:
                return holder["endpoint"]

            def endpoint_host(self) -> EndpointHost:
                return host

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name=f"endpoint-{endpoint_name}", daemon=True)
        endpoint = _Endpoint(endpoint_name, server, thread, deployment)
        holder["endpoint"] = endpoint
        thread.start()
        return endpoint

    def _endpoint(self, endpoint_name: str) -> _Endpoint:
        with self._lock:
            if endpoint_name not in self._endpoints:
                raise KeyError(f"no endpoint named {endpoint_name}")
            return self._endpoints[endpoint_name]

    # Serving ------------------------------------------------------------------------------------

    def draw(self) -> float:
        """A uniform draw in [0, 1) from the host's seeded generator (traffic split, sampling)."""
        return self._random.random()

    def pick_variant(self, deployment: _Deployment, target: str | None) -> Variant:
        """The variant a request goes to: the targeted one, else one drawn by weight."""
        if target:
            for variant in deployment.variants:
                if variant.name == target:
                    return variant
            raise InvocationError(400, f"target variant {target} is not part of the endpoint")
        weights = [max(variant.weight, 0.0) for variant in deployment.variants]
        if sum(weights) <= 0:
            return deployment.variants[0]
        return self._random.choices(deployment.variants, weights=weights)[0]

    def capture_later(self, deployment: _Deployment) -> bool:
        """Whether this request is to be captured (capture on, request sampled); if so it counts as
        pending until ``capture`` has written it."""
        settings = deployment.capture
        if not settings.enabled or self._random.uniform(0, 100) >= settings.sampling_percentage:
            return False
        with self._captures_written:
            self._captures_pending += 1
        return True

    def flush_captures(self, timeout: float = 30.0) -> None:
        """Wait until every capture record of an answered request is in S3."""
        with self._captures_written:
            if not self._captures_written.wait_for(lambda: self._captures_pending == 0, timeout):
                unwritten = self._captures_pending
                raise TimeoutError(f"{unwritten} capture records still unwritten after {timeout} s")

    def capture(
        self,
        endpoint_name: str,
        deployment: _Deployment,
        variant: Variant,
        request: tuple[bytes, str],
        response: tuple[bytes, str],
    ) -> None:
        """Write one capture record (of a request ``capture_later`` chose) to S3."""
        try:
            self._s3.put_object(**self._capture_object(endpoint_name, deployment, variant, request, response))
        finally:
            with self._captures_written:
                self._captures_pending -= 1
                self._captures_written.notify_all()

    @staticmethod
    def _capture_object(
        endpoint_name: str,
        deployment: _Deployment,
        variant: Variant,
        request: tuple[bytes, str],
        response: tuple[bytes, str],
    ) -> dict[str, Any]:
        """The PutObject arguments of one capture record, in SageMaker's capture format."""
        settings = deployment.capture
        now = datetime.now(UTC)
        capture_data: dict[str, Any] = {}
        if settings.capture_input:
            capture_data["endpointInput"] = settings.captured(request[0], request[1], "INPUT")
        if settings.capture_output:
            capture_data["endpointOutput"] = settings.captured(response[0], response[1], "OUTPUT")
        record = {
            "captureData": capture_data,
            "eventMetadata": {
                "eventId": str(uuid.uuid4()),
                "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "eventVersion": "0",
        }
        uri = join_s3_uri(settings.destination, endpoint_name, variant.name, now.strftime("%Y/%m/%d/%H"))
        bucket, prefix = split_s3_uri(uri)
        return {
            "Bucket": bucket,
            "Key": f"{prefix}/{uuid.uuid4()}.jsonl",
            "Body": (json.dumps(record) + "\n").encode(),
        }


class _InvocationHandler(BaseHTTPRequestHandler):
    """GET /ping and POST /invocations for one endpoint."""

    protocol_version = "HTTP/1.1"
    # A request line without a version is answered as HTTP/1.0 (with a status line and headers),
    # not as HTTP/0.9, whose answers are a bare body.
    default_request_version = "HTTP/1.0"
    # What the standard library answers by itself (bad request line, unknown method): plain text,
    # since its message quotes the request and its HTML escaping would not make JSON safe.
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s: %(explain)s\n"
    # An answer goes out as two writes (headers, then body). With Nagle's algorithm on, a keep-alive
    # client (boto3, requests) waits for the delayed ACK of the first before the second is sent:
    # 40 ms per request on Linux loopback. Real endpoints answer without that stall.
    disable_nagle_algorithm = True
    _body_read = False

    def endpoint(self) -> _Endpoint:  # replaced per endpoint
        raise NotImplementedError

    def endpoint_host(self) -> EndpointHost:  # replaced per endpoint
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        """Access logs would drown the CLI's progress lines."""

    def do_GET(self) -> None:
        self._body_read = False
        if self.path.rstrip("/") == "/ping":
            self._reply(200, b"", "text/plain")
        else:
            self._reply(404, b'{"message": "not found"}', "application/json")

    def do_POST(self) -> None:
        self._body_read = False
        if self.path.rstrip("/") != "/invocations":
            self._reply(404, b'{"message": "not found"}', "application/json")
            return
        endpoint = self.endpoint()
        host = self.endpoint_host()
        with endpoint.lock:
            # One request sees one fleet, even mid-swap: the staged one for its share of the requests.
            deployment = endpoint.deployment
            if endpoint.staged is not None and host.draw() < endpoint.staged_share:
                deployment = endpoint.staged
        variant_name = ""
        try:
            body = self._body()
            content_type = self.headers.get("Content-Type", "")
            variant = host.pick_variant(deployment, self.headers.get(TARGET_VARIANT_HEADER))
            variant_name = variant.name
            payload, response_type = variant.handler.invoke(body, content_type, self.headers.get("Accept"))
        except InvocationError as error:
            message = json.dumps({"message": error.reason}).encode()
            self._reply(error.status_code, message, "application/json", variant_name)
            return
        captured = host.capture_later(deployment)
        try:
            self._reply(200, payload, response_type, variant_name)
        finally:
            if captured:
                request, response = (body, content_type), (payload, response_type)
                host.capture(endpoint.name, deployment, variant, request, response)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding") is not None:
            raise InvocationError(411, "a Content-Length header is required; chunked bodies are not accepted")
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not lengths:
            raise InvocationError(411, "a Content-Length header is required")
        if len(lengths) > 1:
            raise InvocationError(400, "the request has conflicting Content-Length headers")
        length_text = lengths.pop()
        if not (length_text.isascii() and length_text.isdigit()):
            raise InvocationError(400, "the Content-Length header is not one whole number of bytes")
        length = int(length_text)
        if length > MAX_REQUEST_BYTES:
            raise InvocationError(413, f"request body of {length} bytes exceeds {MAX_REQUEST_BYTES} bytes")
        body = self.rfile.read(length)
        if len(body) < length:
            raise InvocationError(400, f"the body ended after {len(body)} of {length} bytes")
        self._body_read = True
        return body

    def _has_unread_body(self) -> bool:
        """Whether the bytes after the headers may be this request's body rather than the next request."""
        if self._body_read:
            return False
        announced = (
            "Transfer-Encoding" in self.headers or self.headers.get("Content-Length", "0").strip() != "0"
        )
        return announced or self.command == "POST"

    def _reply(self, status: int, body: bytes, content_type: str, variant: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if variant:
            self.send_header(INVOKED_VARIANT_HEADER, variant)
        if self._has_unread_body():
            # Whatever is left of the body must not be read as the next request.
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def _smoke_image() -> bytes:
    """A small grey PNG: any image model must answer it, whatever it predicts."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(buffer, format="PNG")
    return buffer.getvalue()
