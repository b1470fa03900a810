"""``python -m mlops_planning``: the same command as the ``mlops-plan`` console script."""

from mlops_planning.cli import main

raise SystemExit(main())
