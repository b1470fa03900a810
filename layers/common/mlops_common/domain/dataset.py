"""Is a prepared dataset fit to train on?"""

from __future__ import annotations

from mlops_common.models import Accounting, DatasetStats

SPLITS = ("train", "validation", "test")
ACCOUNTING_COUNTS = ("uploaded", "kept", "duplicates", "quarantined")


def _accounting_problems(acc: Accounting) -> list[str]:
    problems: list[str] = []
    # A negative count can make the sum balance while images go missing (810 = 815 + -5 + 0).
    negative = [f"{name} {getattr(acc, name)}" for name in ACCOUNTING_COUNTS if getattr(acc, name) < 0]
    if negative:
        problems.append("accounting has negative counts: " + ", ".join(negative))
    accounted = acc.kept + acc.duplicates + acc.quarantined
    if not acc.balanced or accounted != acc.uploaded:
        problems.append(
            f"accounting does not balance: uploaded {acc.uploaded} != kept {acc.kept} + duplicates "
            f"{acc.duplicates} + quarantined {acc.quarantined} (balanced={acc.balanced})"
        )
    return problems


def dataset_problems(stats: DatasetStats, expected_version: str, min_images_per_class: int) -> list[str]:
    """Every reason the dataset cannot be used; empty when it can."""
    problems: list[str] = []
    if stats.dataset_version != expected_version:
        problems.append(f"stats.json is for {stats.dataset_version}, expected {expected_version}")
    problems.extend(_accounting_problems(stats.accounting))

    # A label listed twice would be two output classes of one folder: the Glue job went wrong.
    repeated = sorted({label for label in stats.labels if stats.labels.count(label) > 1})
    if repeated:
        problems.append(f"labels listed more than once: {repeated}")
    labels = list(dict.fromkeys(stats.labels))
    if len(labels) < 2:
        problems.append(f"need at least 2 classes, found {labels}")
    if stats.normal_class not in labels:
        problems.append(f"normal class {stats.normal_class!r} has no images")

    for label in labels:
        counts = stats.classes.get(label)
        if counts is None:
            problems.append(f"class {label!r}: no counts in stats.json")
            continue
        if counts.total < min_images_per_class:
            problems.append(f"class {label!r}: {counts.total} images < minimum {min_images_per_class}")
        for split in SPLITS:
            count = getattr(counts, split)
            if count < 0:
                problems.append(f"class {label!r}: negative count {count} in {split}")
            elif count == 0:
                problems.append(f"class {label!r}: no images in {split}")
    return problems
