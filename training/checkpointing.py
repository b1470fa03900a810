"""Spot-safe checkpoints: atomic writes, loading the latest state, and a SIGTERM flag.

Managed spot training stops a job with SIGTERM and later restarts it with the checkpoint folder
restored from S3. A checkpoint is written to a temporary file and renamed over the old one, so a
kill at any moment leaves either the previous checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

import torch

LOG = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"
# 128 + SIGTERM: what a shell reports for a process killed by SIGTERM, so an interrupted job is
# never mistaken for a finished one.
EXIT_TERMINATED = 128 + signal.SIGTERM


def save_checkpoint(directory: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``directory/checkpoint.pt`` atomically (temp file, fsync, os.replace)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / CHECKPOINT_FILE
    handle, temp_name = tempfile.mkstemp(prefix=".checkpoint-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(state, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


def load_checkpoint(directory: Path) -> dict[str, Any] | None:
    """Return the checkpoint in ``directory``, or None when there is none or it cannot be read."""
    path = directory / CHECKPOINT_FILE
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a corrupt file must not stop a restart: train from scratch instead
        LOG.exception("checkpoint %s is unreadable; starting from scratch", path)
        return None


class TerminationRequest:
    """Records SIGTERM instead of dying at once, so the training loop can save and exit cleanly."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def install(self) -> TerminationRequest:
        """Install the SIGTERM handler (main thread only); returns self."""
        self._previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def restore(self) -> None:
        """Put back the handler that was there before ``install``."""
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
            self._previous = None

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        LOG.warning("received signal %d: saving a checkpoint after the current batch", signum)
        self.requested = True
