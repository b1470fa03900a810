"""Every backend lookup takes a process-wide lock and compares itself with every service in use.

moto finds a service's state through ``BackendDict.__getitem__`` (``s3_backends[account]``), a few
times per request (the request routing, the response class, cross-service calls such as S3's event
delivery). Each lookup takes moto's process-wide ``backend_lock``, copies the dict's keys into a
list and checks that the dict is registered by comparing it, with a Python ``__eq__``, against each
registered ``BackendDict`` (13 once the local stack is provisioned). Profiled on a 2,000-photo
upload through the local trigger path, that bookkeeping was 7 % of all the time the threads held
the GIL, and the lock serialises every thread's requests on top of it. A request to AWS costs the
same however many services are in use.

The workaround answers a lookup whose account the dict already holds from the dict itself; the
first lookup of an account (which creates its backend and registers the dict) still takes moto's
locked path, so what is created, and when, is unchanged.
"""

from __future__ import annotations

from typing import Any

from moto.core.base_backend import BackendDict

from mlops_local.engine.moto_compat.registry import Workaround
from mlops_local.engine.patching import Patches, replace


def _patches() -> Patches:
    stock_lookup = BackendDict.__getitem__

    def lookup(backends: BackendDict[Any], account_id: str) -> Any:
        # An account is in a dict only through moto's path, which registered the dict then; moto's
        # reset() empties every registered dict as it forgets them, so a reset dict takes that path
        # again. dict's own methods: BackendDict's __getitem__ is the one replaced here.
        try:
            return dict.__getitem__(backends, account_id)
        except KeyError:
            return stock_lookup(backends, account_id)

    yield replace(BackendDict, "__getitem__", lookup)


WORKAROUND = Workaround(
    name="backend_lookup_scans_every_service",
    moto_does=(
        "takes a process-wide lock and compares the service's registry with every other one in use, "
        "with a Python __eq__, on each backend lookup (a few per request)"
    ),
    aws_does="a request costs the same however many services are in use",
    applies_to="==5.2.5",
    patches=_patches,
)
