"""``python -m mlops_local``: see ``mlops_local.cli``."""

from mlops_local.cli import main

raise SystemExit(main())
