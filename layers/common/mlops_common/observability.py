"""The Powertools Logger, Tracer and Metrics, created once per cold start for every function."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

from mlops_common.settings import ObservabilitySettings, settings_for

_settings = settings_for(ObservabilitySettings)

logger = Logger(service=_settings.powertools_service_name)
tracer = Tracer(service=_settings.powertools_service_name)
metrics = Metrics(namespace=_settings.powertools_metrics_namespace, service=_settings.powertools_service_name)
