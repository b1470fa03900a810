"""``python -m mlops_local``: see ``mlops_local.cli``."""

import sys

from mlops_local.runtime import REPO_ROOT

# training/ and monitoring/ hold flat modules (SageMaker puts its code folder on sys.path and the
# analyzer loads single files), so the CLI puts them on the path the same way.
for folder in ("training", "monitoring"):
    if str(REPO_ROOT / folder) not in sys.path:
        sys.path.append(str(REPO_ROOT / folder))

from mlops_local.cli import main  # noqa: E402 - after the path set-up above

raise SystemExit(main())
