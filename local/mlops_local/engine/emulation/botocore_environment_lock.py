"""Each in-process Lambda invocation's own environment, safe for the threads around it.

A function's variables are set in the shared ``os.environ`` for the length of its invocation
(``engine.lambdas``) while job and engine threads go on creating boto3 clients. botocore's proxy
lookup iterates the whole environment on every client it creates; a variable removed meanwhile
raises ``KeyError`` in that thread. The lookup is made to hold ``ENVIRONMENT_LOCK``, as every
change does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import botocore.endpoint
import botocore.utils

from mlops_local.engine.emulation.registry import Emulation, LocalServices
from mlops_local.engine.environment import ENVIRONMENT_LOCK
from mlops_local.engine.patching import Patches, replace


def _locked(function: Callable[..., Any]) -> Callable[..., Any]:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with ENVIRONMENT_LOCK:
            return function(*args, **kwargs)

    return locked


def _patches(services: LocalServices) -> Patches:
    for module in (botocore.endpoint, botocore.utils):
        yield replace(module, "get_environ_proxies", _locked(module.get_environ_proxies))


EMULATION = Emulation(
    name="botocore_environment_lock",
    moto_does=(
        "(botocore) reads every *_proxy variable of os.environ unlocked on each client it creates: "
        "KeyError when an in-process invocation removes a variable meanwhile"
    ),
    aws_does="every function runs in its own process with its own environment",
    patches=_patches,
)
