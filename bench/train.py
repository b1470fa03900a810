"""Training: images per second, time to the accuracy bar, and the test-split result of the default model.

The synthetic dataset at its generator's defaults (seed 7, 200 photos per class, 4 classes) is
normalised to 64x64 PNGs and split 70/15/15 by a hash of the key, then written as Parquet shards
of the dataset contract (as the Glue job writes them, without starting Spark). The real entry
point ``train.main`` trains the default model, each configuration in a fresh process (OpenMP reads
its wait policy once, when torch loads): 2 threads with OpenMP's active wait (threads spin between
parallel regions, the default: the baseline), 2 threads with the passive wait make test sets
(``OMP_WAIT_POLICY=PASSIVE``: idle threads sleep), and 1 thread. On a shared 2-core machine (the
test suite's two workers) a spinning thread takes the core another process needs; on an idle one
spinning is faster.

- images per second: training samples x epochs / time spent in training epochs;
- time to the bar: training time until the first epoch whose validation accuracy and minimum
  defect-class recall both reach 0.95, plus the job's wall time from start to model.tar.gz contents;
- the bar itself is checked on the held-out test split with the kept (best-epoch) model.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, Figure, use_flat_modules, write_result

use_flat_modules("training")

import devices  # noqa: E402
import torch  # noqa: E402
import train  # noqa: E402
from classification_metrics import classification_report  # noqa: E402
from defect_model import predict_probabilities  # noqa: E402
from model_artifact import load_model  # noqa: E402
from parquet_dataset import load_split  # noqa: E402

from mlops_local.executors.training import script_mode_environment  # noqa: E402
from mlops_local.synthetic_images import write_training_shards  # noqa: E402

IMAGE_SIZE = 64
# (torch threads, OMP_WAIT_POLICY): the 2-core machine with OpenMP's default spinning (the baseline),
# with passive waits, and 1 thread.
CONFIGS = ((2, "ACTIVE"), (2, "PASSIVE"), (1, "PASSIVE"))
ACCURACY_BAR = 0.95
RECALL_BAR = 0.95
TIME_TARGET_S = 60.0
# Issue 14: on the default synthetic dataset and 2 cores, the bar in under 15 s, and 2 threads at
# least as fast as 1 on the same work.
TIME_TO_BAR_TARGET_S = 15.0


def write_synthetic_shards(root: Path) -> dict[str, Path]:
    """The default synthetic dataset as contract-shaped Parquet shards at the training size."""
    return write_training_shards(root, image_size=IMAGE_SIZE)


def run_training(
    shards: dict[str, Path], work: Path, threads: int, wait_policy: str = "", *, contiguous: bool = False
) -> dict:
    """One training job with ``threads`` torch threads; its timings and test-split result.

    ``contiguous``: the job with channels-first (NCHW) tensors, as training ran before it used
    channels-last on the CPU (the baseline of that change).
    """
    if contiguous:
        devices.runtime_for = lambda device, cores: devices.Runtime(device)
    env = script_mode_environment(
        "bench-train",
        {"train": shards["train"], "validation": shards["validation"]},
        model_dir=work / "model",
        output_data_dir=work / "output",
        checkpoint_dir=work / "checkpoints",
    )
    load_before = os.getloadavg()
    started = time.perf_counter()
    status = train.main(["--num_threads", str(threads)], env)
    job_seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"training failed with status {status}")
    model = load_model(work / "model")
    metrics = json.loads((work / "model" / "metrics.json").read_text())
    test = load_split(shards["test"])
    probabilities = predict_probabilities(model.network, test.images, model.mean, model.std)
    predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
    report = classification_report(test.labels, predicted, model.labels, model.normal_class)
    train_samples = len(load_split(shards["train"]))
    history = metrics["history"]
    elapsed, time_to_bar, epochs_to_bar = 0.0, None, None
    for entry in history:
        elapsed += entry["seconds"]
        if entry["accuracy"] >= ACCURACY_BAR and entry["min_defect_recall"] >= RECALL_BAR:
            time_to_bar, epochs_to_bar = elapsed, int(entry["epoch"])
            break
    # The machine is shared: the median epoch is the speed without other jobs' bursts.
    median_epoch = statistics.median(entry["seconds"] for entry in history)
    return {
        "threads": threads,
        "wait_policy": wait_policy or os.environ.get("OMP_WAIT_POLICY", "default"),
        "memory_format": "contiguous" if contiguous else "channels_last",
        "job_seconds": job_seconds,
        "images_per_second": train_samples * len(history) / sum(entry["seconds"] for entry in history),
        "time_to_bar": time_to_bar,
        "epochs_to_bar": epochs_to_bar,
        "median_epoch_seconds": median_epoch,
        "median_time_to_bar": epochs_to_bar * median_epoch if epochs_to_bar is not None else None,
        "test_accuracy": report["accuracy"],
        "test_min_defect_recall": report["min_defect_recall"],
        "test_per_class_recall": {label: v["recall"] for label, v in report["per_class"].items()},
        "train_samples": train_samples,
        "test_samples": len(test),
        "epochs_run": len(history),
        "best_epoch": metrics["best_epoch"],
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "epoch_seconds": [round(entry["seconds"], 2) for entry in history],
    }


def figures_of(run: dict, baseline: dict | None = None) -> list[Figure]:
    threads = f"{run['threads']} threads, {run['wait_policy'].lower()} wait"
    time_met = run["median_time_to_bar"] is not None and run["median_time_to_bar"] < TIME_TO_BAR_TARGET_S
    return [
        Figure(
            what=f"training throughput ({threads})",
            how="train samples x epochs / epoch time, default small_cnn, 64x64",
            result=round(run["images_per_second"], 1),
            unit="images/s",
        ),
        Figure(
            what=f"training time to the accuracy bar ({threads})",
            how="epoch time until validation accuracy and min defect recall >= 0.95",
            result=round(run["time_to_bar"], 1) if run["time_to_bar"] is not None else -1.0,
            unit="s",
            target=f"< {TIME_TO_BAR_TARGET_S:.0f} s",
            met=run["time_to_bar"] is not None and run["time_to_bar"] < TIME_TO_BAR_TARGET_S,
        ),
        Figure(
            what=f"time to the bar at the median epoch time ({threads})",
            how="epochs to the bar x median epoch time (filters other jobs' bursts on a shared machine)",
            result=round(run["median_time_to_bar"], 1) if run["median_time_to_bar"] is not None else -1.0,
            unit="s",
            target=f"< {TIME_TO_BAR_TARGET_S:.0f} s",
            met=time_met,
        ),
        Figure(
            what=f"training job wall time ({threads})",
            how="train.main from reading shards to model dir written, 20 epochs at most",
            result=round(run["job_seconds"], 1),
            unit="s",
            **_against(run, baseline),
            target=f"< {TIME_TARGET_S:.0f} s",
            met=run["job_seconds"] < TIME_TARGET_S,
        ),
        Figure(
            what=f"test accuracy / min defect recall of the kept model ({threads})",
            how="held-out test split (15 %) of the default synthetic dataset; the lower of the two",
            result=round(min(run["test_accuracy"], run["test_min_defect_recall"]), 4),
            unit="",
            target=f">= {ACCURACY_BAR}",
            met=min(run["test_accuracy"], run["test_min_defect_recall"]) >= ACCURACY_BAR,
        ),
    ]


def _against(run: dict, baseline: dict | None) -> dict:
    """The baseline's job time for a run that is not the baseline: ratio = speed-up over it."""
    if baseline is None or baseline is run:
        return {}
    return {
        "baseline": round(baseline["job_seconds"], 1),
        "baseline_what": f"{baseline['threads']} threads, {baseline['wait_policy'].lower()} wait",
        "ratio": round(baseline["job_seconds"] / run["job_seconds"], 2),
    }


def _run_in_fresh_process(
    shards: dict[str, Path], work: Path, threads: int, wait_policy: str, *, contiguous: bool = False
) -> dict:
    """``run_training`` in a spawned process whose environment sets ``wait_policy`` before torch loads."""
    previous = os.environ.get("OMP_WAIT_POLICY")
    os.environ["OMP_WAIT_POLICY"] = wait_policy
    try:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            return dict(
                pool.apply(run_training, (shards, work, threads, wait_policy), {"contiguous": contiguous})
            )
    finally:
        if previous is None:
            os.environ.pop("OMP_WAIT_POLICY", None)
        else:
            os.environ["OMP_WAIT_POLICY"] = previous


def main() -> None:
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-train-") as work:
        shards = write_synthetic_shards(Path(work))
        for threads, policy in CONFIGS:
            folder = Path(work) / f"threads-{threads}-{policy.lower()}"
            runs.append(_run_in_fresh_process(shards, folder, threads, policy))
        contiguous = _run_in_fresh_process(shards, Path(work) / "contiguous", 1, "PASSIVE", contiguous=True)
    baseline = runs[0]
    figures = [figure for run in runs for figure in figures_of(run, baseline)]
    one_thread = next(run for run in runs if run["threads"] == 1)
    for run in (run for run in runs if run["threads"] == 2):
        ratio = run["images_per_second"] / one_thread["images_per_second"]
        figures.append(
            Figure(
                what=f"training throughput, 2 threads ({run['wait_policy'].lower()} wait) against 1",
                how="images per second of the same training job (same data, epochs, seed)",
                result=round(run["images_per_second"], 1),
                unit="images/s",
                baseline=round(one_thread["images_per_second"], 1),
                baseline_what="1 thread, passive wait",
                ratio=round(ratio, 2),
                target=">= 1.0x (issue 14)",
                met=ratio >= 1.0,
            )
        )
    layout = one_thread["images_per_second"] / contiguous["images_per_second"]
    figures.append(
        Figure(
            what="training throughput, channels-last tensors against channels-first (1 thread)",
            how="images per second of the same training job (same data, epochs, seed), passive wait",
            result=round(one_thread["images_per_second"], 1),
            unit="images/s",
            baseline=round(contiguous["images_per_second"], 1),
            baseline_what="the same job with channels-first (NCHW) tensors, as before",
            ratio=round(layout, 2),
        )
    )
    runs.append(contiguous)
    notes = (
        "1-minute load average before each run (other work on the machine slows spinning threads most): "
        + (
            ", ".join(
                f"{r['threads']} threads {r['wait_policy'].lower()} {r['load_average_before'][0]:.1f}"
                for r in runs
            )
        )
    )
    details = {"torch": torch.__version__, "runs": runs, "notes": notes}
    path = write_result(BenchResult(name="train", figures=figures, details=details))
    print(path.read_text())


if __name__ == "__main__":
    main()
