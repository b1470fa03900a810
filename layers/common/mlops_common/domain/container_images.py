"""Which container image a SageMaker job or model runs, chosen by its instance type.

AWS publishes each PyTorch Deep Learning Container twice: a CPU build and a GPU (CUDA) build
(https://github.com/aws/deep-learning-containers/blob/master/available_images.md). A GPU image on a
CPU instance carries gigabytes of CUDA libraries for nothing, and a CPU image on a GPU instance
trains on the CPU while the GPUs are paid for: so the image follows the instance family, and an
image the operator names explicitly (a template parameter) overrides both.
"""

from __future__ import annotations

import re
from typing import Literal

from mlops_common.models import ImagePair

Accelerator = Literal["cpu", "gpu"]

# SageMaker instance types are ``ml.<family>.<size>``
# (https://docs.aws.amazon.com/sagemaker/latest/dg/notebooks-available-instance-types.html).
# The NVIDIA GPU families are the P (p2 ... p6) and G (g4dn, g5, g6, g6e, ...) families
# (https://aws.amazon.com/sagemaker/pricing/, "Accelerated computing").
_INSTANCE_TYPE = re.compile(r"^ml\.(?P<family>[a-z0-9-]+)\.[a-z0-9-]+$")
_GPU_FAMILY = re.compile(r"^[pg]\d")
# Inferentia and Trainium run the Neuron SDK's own containers, not the PyTorch CUDA or CPU builds.
_NEURON_FAMILY = re.compile(r"^(inf|trn)\d")


class UnsupportedInstanceType(ValueError):
    """An instance type this pipeline has no container for."""


def instance_family(instance_type: str) -> str:
    """``ml.g5.xlarge`` -> ``g5``; anything else is refused with the expected shape."""
    match = _INSTANCE_TYPE.match(instance_type)
    if match is None:
        raise UnsupportedInstanceType(
            f"{instance_type!r} is not a SageMaker instance type (expected ml.<family>.<size>, "
            "for example ml.m5.xlarge or ml.g5.xlarge)"
        )
    return match["family"]


def accelerator(instance_type: str) -> Accelerator:
    """``gpu`` for the NVIDIA families, ``cpu`` for the rest; Neuron families are refused."""
    family = instance_family(instance_type)
    if _NEURON_FAMILY.match(family):
        raise UnsupportedInstanceType(
            f"{instance_type} is an AWS Inferentia/Trainium instance: it needs a Neuron container, "
            "which this pipeline does not build; choose a CPU (ml.m5, ml.c5, ...) or GPU "
            "(ml.g5, ml.g6, ml.p3, ...) instance type"
        )
    return "gpu" if _GPU_FAMILY.match(family) else "cpu"


def image_for(images: ImagePair, instance_type: str) -> str:
    """The image of ``images`` built for ``instance_type``'s hardware."""
    return images.gpu if accelerator(instance_type) == "gpu" else images.cpu
