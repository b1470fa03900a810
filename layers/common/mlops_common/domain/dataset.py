"""Is a prepared dataset fit to train on?"""

from __future__ import annotations

from mlops_common.models import DatasetStats

SPLITS = ("train", "validation", "test")


def dataset_problems(stats: DatasetStats, expected_version: str, min_images_per_class: int) -> list[str]:
    """Every reason the dataset cannot be used; empty when it can."""
    problems: list[str] = []
    if stats.dataset_version != expected_version:
        problems.append(f"stats.json is for {stats.dataset_version}, expected {expected_version}")

    acc = stats.accounting
    accounted = acc.kept + acc.duplicates + acc.quarantined
    if not acc.balanced or accounted != acc.uploaded:
        problems.append(
            f"accounting does not balance: uploaded {acc.uploaded} != kept {acc.kept} + duplicates "
            f"{acc.duplicates} + quarantined {acc.quarantined} (balanced={acc.balanced})"
        )

    if len(stats.labels) < 2:
        problems.append(f"need at least 2 classes, found {stats.labels}")
    if stats.normal_class not in stats.labels:
        problems.append(f"normal class {stats.normal_class!r} has no images")

    for label in stats.labels:
        counts = stats.classes.get(label)
        if counts is None:
            problems.append(f"class {label!r}: no counts in stats.json")
            continue
        if counts.total < min_images_per_class:
            problems.append(f"class {label!r}: {counts.total} images < minimum {min_images_per_class}")
        problems.extend(
            f"class {label!r}: no images in {split}" for split in SPLITS if getattr(counts, split) <= 0
        )
    return problems
