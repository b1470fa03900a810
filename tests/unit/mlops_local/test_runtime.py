"""``LocalRuntime`` over the engine's fixture stack: what it reports about the provisioned stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_local.runtime import LocalRuntime

FIXTURE_STACK = Path(__file__).parent / "engine" / "fixture_stack"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    """The fixture stack: UploadEventsQueue redrives to UploadEventsDLQ; nothing else dead-letters."""
    local = LocalRuntime(
        project_root=FIXTURE_STACK,
        template=FIXTURE_STACK / "template.yaml",
        run_dir=tmp_path / "run",
        package_code=False,
    )
    local.start()
    try:
        yield local
    finally:
        local.stop()


def test_dead_letter_depths_count_the_messages_visible_in_each_dead_letter_queue(runtime) -> None:
    sqs = runtime.client("sqs")
    for body in ("first", "second"):
        sqs.send_message(QueueUrl=runtime.provisioned.ref("UploadEventsDLQ"), MessageBody=body)

    assert runtime.dead_letter_depths() == {"UploadEventsDLQ": 2}


def test_an_empty_dead_letter_queue_shows_zero(runtime) -> None:
    assert runtime.dead_letter_depths() == {"UploadEventsDLQ": 0}
