"""``LocalRuntime`` over the engine's fixture stack: what it reports about the provisioned stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


def test_local_runs_tune_less_than_aws_but_train_as_long(tmp_path: Path, template: dict[str, Any]) -> None:
    """`up` trains a model the gate can pass: fewer trials than on AWS, never fewer epochs.

    With 2 epochs the first model of an upload of 100 photos per label stayed at chance (0.22) and
    the gate rejected it: every user's first run ended rejected.
    """
    declared = template["Parameters"]
    local = LocalRuntime(run_dir=tmp_path / "run", package_code=False)._local_overrides()

    assert "TrainingEpochs" not in local
    assert "TuningMaxParallelJobs" not in local
    assert 2 <= int(local["TuningMaxJobs"]) < int(declared["TuningMaxJobs"]["Default"])
