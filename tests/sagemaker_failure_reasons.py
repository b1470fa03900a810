"""SageMaker's own FailureReason texts, for tests of the capacity fallback (sources in
``mlops_common.domain.training_failures``): the classifier must work from these words, not the
emulator's."""

from __future__ import annotations

# A training job SageMaker could not get instances for.
CAPACITY = (
    "CapacityError: Unable to provision requested ML compute capacity. "
    "Please retry using a different ML instance type."
)
# A training job whose script failed.
ALGORITHM = (
    'AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage "ValueError: no train channel"\n'
    'Command "/opt/conda/bin/python3.11 train.py --epochs 2"'
)
# A tuning job none of whose two training jobs succeeded.
TUNING_REASON = (
    "No training job succeeded after 2 attempts. For additional details, please take a look at the "
    "training job failures by listing training jobs for the hyperparameter tuning job."
)
