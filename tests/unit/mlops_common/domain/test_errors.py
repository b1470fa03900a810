"""The errors the state machine catches carry what the notification tells."""

from __future__ import annotations

from mlops_common.domain.errors import DatasetNotUsable


def test_dataset_not_usable_names_the_version_and_every_reason() -> None:
    error = DatasetNotUsable(
        "upload-1", ["class 'dent': 9 images < minimum 20", "normal class 'ok' has no images"]
    )

    assert str(error) == (
        "dataset upload-1 is not usable: class 'dent': 9 images < minimum 20; normal class 'ok' has no images"
    )
    assert error.dataset_version == "upload-1"
    assert error.reasons == ["class 'dent': 9 images < minimum 20", "normal class 'ok' has no images"]
