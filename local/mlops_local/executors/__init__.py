"""The code that runs each kind of job the embedded AWS is asked to run, on this machine."""

from __future__ import annotations

import importlib

from mlops_local.engine.jobs import Executor

# Where each kind's executor lives (module under mlops_local.executors, function).
EXECUTOR_FUNCTIONS: dict[str, tuple[str, str]] = {
    "glue": ("glue", "run_job_run"),
    "training": ("training", "run_training_job"),
    "tuning": ("tuning", "run_tuning_job"),
    "processing": ("processing", "run_processing_job"),
    "transform": ("transform", "run_transform_job"),
    "monitoring": ("monitoring", "run_monitoring_execution"),  # started on demand, not by an API call
}


def load_executor(kind: str) -> Executor:
    """The executor function of one job kind, imported on first use (training pulls in torch)."""
    module_name, function_name = EXECUTOR_FUNCTIONS[kind]
    module = importlib.import_module(f"{__name__}.{module_name}")
    executor: Executor = getattr(module, function_name)
    return executor
