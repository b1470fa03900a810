import pytest

from mlops_common.domain.container_images import UnsupportedInstanceType, accelerator, image_for
from mlops_common.models import ImagePair

IMAGES = ImagePair(cpu="registry/pytorch:cpu", gpu="registry/pytorch:gpu")


@pytest.mark.parametrize(
    "instance_type",
    [
        "ml.g4dn.xlarge",
        "ml.g5.2xlarge",
        "ml.g6e.xlarge",
        "ml.p3.2xlarge",
        "ml.p4d.24xlarge",
        "ml.p5.48xlarge",
    ],
)
def test_nvidia_families_run_the_gpu_build(instance_type):
    assert accelerator(instance_type) == "gpu"
    assert image_for(IMAGES, instance_type) == "registry/pytorch:gpu"


@pytest.mark.parametrize(
    "instance_type", ["ml.m5.xlarge", "ml.c5.2xlarge", "ml.r5.large", "ml.t3.medium", "ml.m7i.large"]
)
def test_other_families_run_the_cpu_build(instance_type):
    assert accelerator(instance_type) == "cpu"
    assert image_for(IMAGES, instance_type) == "registry/pytorch:cpu"


@pytest.mark.parametrize("instance_type", ["ml.inf2.xlarge", "ml.trn1.2xlarge"])
def test_neuron_instances_are_refused_with_what_to_choose(instance_type):
    with pytest.raises(UnsupportedInstanceType, match="Neuron container"):
        accelerator(instance_type)


@pytest.mark.parametrize("instance_type", ["m5.xlarge", "ml.m5", "", "ml..xlarge"])
def test_a_malformed_instance_type_names_the_expected_shape(instance_type):
    with pytest.raises(UnsupportedInstanceType, match=r"expected ml\.<family>\.<size>"):
        accelerator(instance_type)
