"""Uploads through the local trigger path: how fast a user's ``upload DIR`` goes in.

Each object takes the path it takes on AWS: ``PutObject`` into the embedded S3 (KMS, IAM checks),
the S3 event through EventBridge's rule to the trigger queue, and the SQS poller invoking the real
``start_pipeline`` in the same process while the uploads go on (as ``upload_directory`` does: an
``aws s3 sync``-like pool of concurrent puts, nothing held back). The result is objects per second
from the first put to the last.

Baseline, same run, same photos: the runtime without the moto workaround
``sqs_send_counts_the_queue`` (stock moto reads the clock for every queued message on each send,
so each upload slows down as the trigger queue's backlog grows).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, Figure, write_result
from mlops_local.demo import DEMO_OVERRIDES
from mlops_local.runtime import LocalRuntime
from mlops_local.synthetic_images import generate_dataset

IMAGES_PER_CLASS = 500  # 2,000 photos: a few thousand is what the goal speaks of
TARGET_PER_SECOND = 200.0


def upload_rate(
    photos: Path, *, disabled_patches: tuple[str, ...] = (), trigger_running: bool = True
) -> tuple[int, float]:
    """Upload every photo under ``photos`` into a fresh runtime; return (objects, seconds).

    ``trigger_running=False`` stops the queue's poller first (a diagnostic: the puts alone, their
    events left queued), to show what the trigger's work in the same process costs the uploads.
    """
    runtime = LocalRuntime(
        overrides=DEMO_OVERRIDES,
        package_code=False,
        disabled_patches=disabled_patches,
        on_progress=lambda _: None,
    )
    runtime.start()
    try:
        if not trigger_running:
            for poller in runtime._pollers:
                poller.stop()
        began = time.monotonic()
        count = len(runtime.upload_directory(photos, "line-a"))
        return count, time.monotonic() - began
    finally:
        runtime.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        generate_dataset(Path(folder), images_per_class=IMAGES_PER_CLASS, seed=7)
        photos = Path(folder) / "line-a"
        base_count, base_seconds = upload_rate(photos, disabled_patches=("sqs_send_counts_the_queue",))
        count, seconds = upload_rate(photos)
        alone_count, alone_seconds = upload_rate(photos, trigger_running=False)
    rate, base_rate = count / seconds, base_count / base_seconds
    alone_rate = alone_count / alone_seconds
    figures = [
        Figure(
            what=f"uploads through the local trigger path ({count:,} photos)",
            how="upload_directory: concurrent PutObject -> EventBridge -> SQS -> start_pipeline, puts",
            result=round(rate, 1),
            unit="objects/s",
            baseline=round(base_rate, 1),
            baseline_what="the same upload on stock moto's SendMessage",
            ratio=round(rate / base_rate, 2),
            target=f">= {TARGET_PER_SECOND:.0f} objects/s",
            met=rate >= TARGET_PER_SECOND,
        ),
        Figure(
            what=f"the same puts with the trigger's poller stopped ({alone_count:,} photos, diagnostic)",
            how="upload_directory with the SQS poller stopped: PutObject -> EventBridge -> SQS only",
            result=round(alone_rate, 1),
            unit="objects/s",
            baseline=round(rate, 1),
            baseline_what="with start_pipeline running in the same process",
            ratio=round(alone_rate / rate, 2),
        ),
    ]
    details = {
        "objects": count,
        "seconds": round(seconds, 2),
        "baseline_seconds": round(base_seconds, 2),
        "notes": (
            f"{count:,} photos went in at {rate:.0f} objects/s "
            f"({base_rate:.0f} on stock moto's SendMessage); the puts alone, the trigger's poller "
            f"stopped, went at {alone_rate:.0f}/s. Everything runs in one process, so the uploads, "
            "the embedded AWS and start_pipeline (the poller) share one interpreter lock: while the "
            f"trigger queue has a backlog the uploads keep {rate / alone_rate:.0%} of their own rate, "
            "whatever the poller's cost per object (with its second ledger write removed the upload "
            "rate did not change)."
        ),
    }
    print(write_result(BenchResult("uploads", figures, details)))


if __name__ == "__main__":
    main()
