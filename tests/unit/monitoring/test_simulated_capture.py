"""Capture without a model: disjoint photo pools, the stand-in baseline and traffic windows."""

import base64
import io
import json
from datetime import UTC, datetime

from PIL import Image
from simulated_capture import split_photo_pools, write_stand_in_baseline, write_traffic_window
from traffic_shift import darker

from mlops_local.synthetic_images import generate_dataset

MOMENT = datetime(2026, 11, 20, 9, 15, tzinfo=UTC)


def test_pools_take_each_labels_first_photos_for_the_baseline(tmp_path):
    dataset = generate_dataset(tmp_path, images_per_class=3, seed=2)

    baseline, traffic = split_photo_pools(dataset.images, 2)

    assert {label: len(images) for label, images in baseline.items()} == dict.fromkeys(dataset.images, 2)
    assert {label: len(images) for label, images in traffic.items()} == dict.fromkeys(dataset.images, 1)
    with Image.open(dataset.images["ok"][2]) as last:
        assert traffic["ok"][0].tobytes() == last.convert("RGB").tobytes()


def test_stand_in_baseline_is_written_where_asked(tmp_path, photo_pools, classifier):
    baseline_pool, _ = photo_pools
    small = {label: images[:2] for label, images in baseline_pool.items()}

    folder = write_stand_in_baseline(small, classifier, tmp_path / "baseline")

    statistics = json.loads((folder / "statistics.json").read_text())
    assert statistics["dataset"]["item_count"] == 8
    assert (folder / "constraints.json").exists()


def test_traffic_window_captures_count_shifted_images_at_the_moment(tmp_path, photo_pools, classifier):
    _, traffic_pool = photo_pools
    plain = write_traffic_window(tmp_path / "plain", traffic_pool, 6, classifier, moment=MOMENT, seed=4)
    shifted = write_traffic_window(
        tmp_path / "shifted", traffic_pool, 6, classifier, moment=MOMENT, seed=4, shift=darker
    )

    plain_records = [json.loads(line) for line in plain.read_text().splitlines()]
    shifted_records = [json.loads(line) for line in shifted.read_text().splitlines()]
    assert len(plain_records) == len(shifted_records) == 6
    assert {r["eventMetadata"]["inferenceTime"] for r in plain_records} == {"2026-11-20T09:15:00Z"}

    def brightness(record):
        return json.loads(record["captureData"]["endpointOutput"]["data"])["predictions"][0]["features"][
            "brightness"
        ]

    for before, after in zip(plain_records, shifted_records, strict=True):
        sent = base64.b64decode(after["captureData"]["endpointInput"]["data"])
        assert Image.open(io.BytesIO(sent)).format == "PNG"
        assert brightness(after) < brightness(before)
