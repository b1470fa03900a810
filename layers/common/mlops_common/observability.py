"""The Powertools Logger, Tracer and Metrics, created once per cold start for every function.

Powertools' ``Tracer`` imports the X-Ray SDK when it is created, and the SDK imports botocore: about
half of a handler's cold import. That cost is paid only where traces are sent (on Lambda, unless
``POWERTOOLS_TRACE_DISABLED`` is set); everywhere else (tests, the local runtime) the tracer gets a
provider that records nothing, so the X-Ray SDK is never imported. Where traces are sent the real
X-Ray provider patches botocore only (every boto3 call becomes a subsegment), not every library the
SDK knows, each of which it would try to import.

Everything is configured from ``ObservabilitySettings`` (service name, ``POWERTOOLS_LOG_LEVEL``,
metrics namespace, whether to trace), not from ``os.environ`` read here and there.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from mlops_common.settings import ObservabilitySettings, settings_for

# The libraries whose calls become X-Ray subsegments: boto3 is the only I/O the functions do.
TRACED_MODULES = ("botocore",)


def tracing_enabled(settings: ObservabilitySettings) -> bool:
    """Whether this process sends traces: the same rule Powertools' Tracer applies.

    On Lambda (``LAMBDA_TASK_ROOT`` set), not under ``sam local`` (``AWS_SAM_LOCAL``), and not
    switched off with ``POWERTOOLS_TRACE_DISABLED``.
    """
    if settings.powertools_trace_disabled:
        return False
    return bool(settings.lambda_task_root) and not settings.aws_sam_local


class _NoSegment(BaseSegment):
    """A segment that drops what it is given."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class NoTraceProvider(BaseProvider):
    """A tracing provider that records nothing and imports nothing (used where no trace is sent)."""

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        yield _NoSegment()

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> AsyncGenerator[BaseSegment, None]:
        yield _NoSegment()

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def create_tracer(settings: ObservabilitySettings) -> Tracer:
    """The X-Ray tracer with botocore patched where traces are sent, a no-op tracer elsewhere."""
    service = settings.powertools_service_name
    if tracing_enabled(settings):
        return Tracer(service=service, patch_modules=TRACED_MODULES)
    return Tracer(service=service, disabled=True, auto_patch=False, provider=NoTraceProvider())


_settings = settings_for(ObservabilitySettings)

logger = Logger(service=_settings.powertools_service_name, level=_settings.powertools_log_level)
tracer = create_tracer(_settings)
metrics = Metrics(namespace=_settings.powertools_metrics_namespace, service=_settings.powertools_service_name)
