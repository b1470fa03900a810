"""Local endpoints: hosting contract, real inference, data capture, blue/green updates."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from mlops_local.executors.endpoint import DeploymentFailed, EndpointHost
from mlops_local.executors.faults import FaultRule

from .conftest import BUCKET, CAPTURE, png_bytes, upload_model

pytestmark = pytest.mark.slow


def variant(s3: Any, archive: Path, name: str) -> dict[str, Any]:
    return {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "ModelDataUrl": upload_model(s3, archive, name),
        "InitialVariantWeight": 1.0,
    }


@pytest.fixture
def host(s3, tmp_path, faults):
    endpoints = EndpointHost(s3, tmp_path / "endpoints", faults=faults, progress=lambda message: None, seed=1)
    yield endpoints
    endpoints.stop_all()


@pytest.fixture
def live_endpoint(host, s3, real_models):
    host.deploy("defects", "defects-config-1", [variant(s3, real_models["model-v1"], "model-v1")], CAPTURE)
    return "defects"


# Long enough for any loaded machine to notice a server that never closes; never reached otherwise.
CLIENT_WAIT_S = 30.0


def exchange(url: str, request: bytes) -> bytes:
    """Send raw bytes to the server and read everything it sends until it closes the connection."""
    address = urllib.parse.urlsplit(url)
    assert address.hostname is not None
    assert address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=CLIENT_WAIT_S) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def status_lines(received: bytes) -> list[bytes]:
    return [line for line in received.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def test_ping_answers_200(host, live_endpoint):
    with urllib.request.urlopen(host.url(live_endpoint) + "/ping") as response:
        assert response.status == 200


def test_invocation_returns_real_predictions(host, live_endpoint):
    response = host.invoke(live_endpoint, png_bytes(), "image/png")

    assert response.status == 200
    assert response.variant == "AllTraffic"
    payload = response.json()
    assert payload["model_version"] == "model-v1"
    prediction = payload["predictions"][0]
    assert prediction["label"] in prediction["probabilities"]
    assert sum(prediction["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_json_batch_gets_one_prediction_per_image(host, live_endpoint):
    images = [base64.b64encode(png_bytes(shade)).decode() for shade in (50, 150)]
    body = json.dumps({"images": images}).encode()

    response = host.invoke(live_endpoint, body, "application/json")

    assert response.status == 200
    assert len(response.json()["predictions"]) == 2


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [(b"not an image", "image/jpeg", 400), (b"", "image/png", 400), (b"{bad json", "application/json", 400),
     (b"abc", "text/plain", 415)],
)  # fmt: skip
def test_bad_payload_gets_4xx_with_reason(host, live_endpoint, body, content_type, status):
    response = host.invoke(live_endpoint, body, content_type)

    assert response.status == status
    assert response.json()["message"]


def test_unsupported_accept_is_refused_before_the_body_is_decoded(host, live_endpoint):
    response = host.invoke(live_endpoint, b"not an image", "image/png", accept="text/csv")

    assert response.status == 406
    assert response.content_type == "application/json"


@pytest.mark.parametrize("accept", ["application/*", "text/html, application/json;q=0.9"])
def test_response_content_type_is_fixed_not_the_requests_accept(host, live_endpoint, accept):
    response = host.invoke(live_endpoint, png_bytes(), "image/png", accept=accept)

    assert response.status == 200
    assert response.content_type == "application/json"


def test_deeply_nested_json_is_a_400_not_a_server_error(host, live_endpoint):
    response = host.invoke(live_endpoint, b"[" * 3000, "application/json")

    assert response.status == 400


def test_garbage_request_line_gets_a_400_with_a_status_line(host, live_endpoint):
    received = exchange(host.url(live_endpoint), b"GARBAGE\r\n\r\n")

    assert received.startswith(b"HTTP/1.1 400 ")


EMBEDDED_REQUEST = b"GET /ping HTTP/1.1\r\nHost: local\r\n\r\n"
UNKNOWN_PATH = b"POST /elsewhere HTTP/1.1\r\nHost: local\r\nContent-Length: %d\r\n\r\n" % len(
    EMBEDDED_REQUEST
)


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"POST /invocations HTTP/1.1\r\nHost: local\r\nContent-Type: image/png\r\n\r\n", b"411"),
        (b"POST /invocations HTTP/1.1\r\nHost: local\r\nContent-Length: 7000000\r\n\r\n", b"413"),
        (UNKNOWN_PATH, b"404"),
    ],
    ids=["no-length", "too-large", "unknown-path"],
)  # fmt: skip
def test_body_left_unread_by_an_early_reply_is_never_run_as_a_request(host, live_endpoint, head, status):
    received = exchange(host.url(live_endpoint), head + EMBEDDED_REQUEST)

    assert [line.split(b" ")[1] for line in status_lines(received)] == [status]


def test_half_sent_requests_are_dropped_after_the_read_timeout(s3, tmp_path, real_models):
    quick = EndpointHost(s3, tmp_path / "quick", progress=lambda message: None, seed=1, read_timeout_s=0.5)
    quick.deploy("quick", "quick-1", [variant(s3, real_models["model-v1"], "model-v1")])
    half_sent = [
        b"POST /invocations HTTP/1.1\r\nHost: local\r\nContent-Le",
        b"POST /invocations HTTP/1.1\r\nHost: local\r\nContent-Length: 100\r\n\r\nonly part of it",
    ] * 10
    try:
        with ThreadPoolExecutor(max_workers=len(half_sent)) as pool:
            answers = list(pool.map(lambda request: exchange(quick.url("quick"), request), half_sent))
    finally:
        quick.stop_all()

    assert answers == [b""] * len(half_sent)  # closed by the server, each thread let go


def test_invocations_keep_one_connection_and_survive_the_servers_idle_close(s3, real_models, tmp_path):
    # As boto3's pool does: one connection for many invocations, a new one once the server closed it.
    quick = EndpointHost(s3, tmp_path / "quick", progress=lambda message: None, seed=1, read_timeout_s=0.5)
    quick.deploy("kept", "kept-1", [variant(s3, real_models["model-v1"], "model-v1")])
    try:
        first = quick.invoke("kept", png_bytes(), "image/png")
        (connection,) = quick._clients.connections.values()
        local_port = connection.sock.getsockname()[1]
        second = quick.invoke("kept", png_bytes(), "image/png")
        assert connection.sock.getsockname()[1] == local_port
        time.sleep(1.5)  # the server closes a connection idle for read_timeout_s
        third = quick.invoke("kept", png_bytes(), "image/png")
    finally:
        quick.stop_all()

    assert [first.status, second.status, third.status] == [200, 200, 200]
    assert third.json()["predictions"]


def test_capture_files_follow_sagemaker_format(host, live_endpoint, s3):
    request_body = png_bytes()
    host.invoke(live_endpoint, request_body, "image/png")
    host.flush_captures()

    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET, Prefix="capture/")["Contents"]]
    assert len(keys) == 1
    parts = keys[0].split("/")
    assert parts[:3] == ["capture", "defects", "AllTraffic"]
    assert [len(part) for part in parts[3:7]] == [4, 2, 2, 2]
    assert parts[7].endswith(".jsonl")
    record = json.loads(s3.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read().splitlines()[0])
    captured_input = record["captureData"]["endpointInput"]
    captured_output = record["captureData"]["endpointOutput"]
    assert captured_input == {
        "observedContentType": "image/png",
        "mode": "INPUT",
        "data": base64.b64encode(request_body).decode(),
        "encoding": "BASE64",
    }
    assert captured_output["encoding"] == "JSON"
    assert json.loads(captured_output["data"])["model_version"] == "model-v1"
    assert record["eventVersion"] == "0"
    assert set(record["eventMetadata"]) == {"eventId", "inferenceTime"}


def test_the_answer_goes_out_before_its_capture_is_written(host, live_endpoint, s3, monkeypatch):
    # SageMaker buffers capture on the instance and uploads it later: capture never delays an answer.
    written = threading.Event()
    release = threading.Event()
    put_object = s3.put_object

    def slow_put(**kwargs):
        release.wait(10)
        put_object(**kwargs)
        written.set()

    monkeypatch.setattr(s3, "put_object", slow_put)  # the client the host writes capture with
    response = host.invoke(live_endpoint, png_bytes(), "image/png")

    assert response.status == 200
    assert not written.is_set()
    with pytest.raises(TimeoutError, match="1 capture records still unwritten"):
        host.flush_captures(timeout=0.2)
    release.set()
    host.flush_captures()
    assert written.is_set()
    assert len(s3.list_objects_v2(Bucket=BUCKET, Prefix="capture/")["Contents"]) == 1


def test_sampling_percentage_zero_captures_nothing(host, s3, real_models):
    host.deploy(
        "quiet",
        "quiet-1",
        [variant(s3, real_models["model-v1"], "model-v1")],
        {**CAPTURE, "InitialSamplingPercentage": 0},
    )

    host.invoke("quiet", png_bytes(), "image/png")
    host.flush_captures()

    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="capture/quiet/")


def test_update_swaps_to_new_model(host, live_endpoint, s3, real_models):
    host.deploy(
        live_endpoint, "defects-config-2", [variant(s3, real_models["model-v2"], "model-v2")], CAPTURE
    )

    assert host.config_name(live_endpoint) == "defects-config-2"
    assert host.invoke(live_endpoint, png_bytes(), "image/png").json()["model_version"] == "model-v2"


def test_a_staged_fleet_takes_its_share_of_the_traffic_until_committed(host, live_endpoint, s3, real_models):
    host.stage(live_endpoint, "defects-config-2", [variant(s3, real_models["model-v2"], "model-v2")], CAPTURE)

    def versions(requests: int) -> list[str]:
        return [
            host.invoke(live_endpoint, png_bytes(), "image/png").json()["model_version"]
            for _ in range(requests)
        ]

    assert set(versions(5)) == {"model-v1"}  # staged: no traffic yet
    host.shift(live_endpoint, 0.5)
    assert host.traffic_share(live_endpoint) == 0.5
    assert set(versions(40)) == {"model-v1", "model-v2"}  # a canary: both fleets answer
    assert host.config_name(live_endpoint) == "defects-config-1"
    host.shift(live_endpoint, 1.0)
    assert set(versions(5)) == {"model-v2"}
    host.commit(live_endpoint)
    assert (host.config_name(live_endpoint), host.traffic_share(live_endpoint)) == ("defects-config-2", 0.0)
    assert set(versions(5)) == {"model-v2"}


def test_a_discarded_fleet_gives_all_the_traffic_back(host, live_endpoint, s3, real_models):
    host.stage(live_endpoint, "defects-config-2", [variant(s3, real_models["model-v2"], "model-v2")], CAPTURE)
    host.shift(live_endpoint, 1.0)
    host.discard(live_endpoint)

    assert host.config_name(live_endpoint) == "defects-config-1"
    assert host.invoke(live_endpoint, png_bytes(), "image/png").json()["model_version"] == "model-v1"
    with pytest.raises(DeploymentFailed, match="no staged fleet"):
        host.commit(live_endpoint)


def test_failed_update_keeps_old_model_serving(host, live_endpoint, s3, real_models, faults):
    faults.add(FaultRule(kind="endpoint-update-failure"))

    with pytest.raises(DeploymentFailed, match="health check"):
        host.deploy(
            live_endpoint, "defects-config-2", [variant(s3, real_models["model-v2"], "model-v2")], CAPTURE
        )

    assert faults.fired_count("endpoint-update-failure") == 1
    assert host.config_name(live_endpoint) == "defects-config-1"
    assert host.invoke(live_endpoint, png_bytes(), "image/png").json()["model_version"] == "model-v1"


def test_a_slow_container_keeps_the_old_model_serving_until_it_is_healthy(
    host, live_endpoint, s3, real_models, faults
):
    faults.add(FaultRule(kind="endpoint-slow-start", seconds=1))
    answers: list[str] = []
    deploying = threading.Thread(
        target=host.deploy,
        args=(live_endpoint, "defects-config-2", [variant(s3, real_models["model-v2"], "model-v2")], CAPTURE),
    )
    started = time.monotonic()
    deploying.start()
    while deploying.is_alive():
        answers.append(host.invoke(live_endpoint, png_bytes(), "image/png").json()["model_version"])
    deploying.join()

    assert time.monotonic() - started >= 1
    assert faults.fired_count("endpoint-slow-start") == 1
    # The old model answers while the new one starts; once switched, only the new one answers.
    assert answers.count("model-v1") > 1
    switched = answers.index("model-v2") if "model-v2" in answers else len(answers)
    assert set(answers[:switched]) == {"model-v1"}
    assert set(answers[switched:]) <= {"model-v2"}
    assert host.config_name(live_endpoint) == "defects-config-2"


def test_update_with_broken_model_keeps_old_model_serving(host, live_endpoint, s3, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="models/broken/model.tar.gz", Body=b"not a tar archive")
    broken = {
        "VariantName": "AllTraffic",
        "ModelName": "broken",
        "ModelDataUrl": f"s3://{BUCKET}/models/broken/model.tar.gz",
    }

    with pytest.raises(DeploymentFailed, match="could not load"):
        host.deploy(live_endpoint, "defects-config-3", [broken], CAPTURE)

    assert host.invoke(live_endpoint, png_bytes(), "image/png").status == 200


def test_repeated_invocations_all_succeed(host, live_endpoint, record_property):
    host.invoke(live_endpoint, png_bytes(), "image/png")  # warm-up
    started = time.perf_counter()
    statuses = [host.invoke(live_endpoint, png_bytes(), "image/png").status for _ in range(20)]
    mean_ms = (time.perf_counter() - started) / len(statuses) * 1000

    assert statuses == [200] * 20
    record_property("endpoint_mean_latency_ms", round(mean_ms, 1))  # reported, never asserted


def test_a_model_is_read_with_its_execution_role(s3, tmp_path, real_models):
    roles: list[str] = []

    def s3_as(role_arn: str) -> Any:
        roles.append(role_arn)
        return s3

    host = EndpointHost(s3, tmp_path / "as-role", progress=lambda message: None, seed=1, s3_as=s3_as)
    try:
        spec = {
            **variant(s3, real_models["model-v1"], "model-v1"),
            "ExecutionRoleArn": "arn:aws:iam::1:role/model",
        }
        host.deploy("defects", "defects-config-1", [spec], CAPTURE)
    finally:
        host.stop_all()
    assert roles == ["arn:aws:iam::1:role/model"]
