"""What one pipeline run and one month cost on AWS with the template's defaults.

Job durations come from the other benchmarks' measurements where they exist (local CPU seconds
stand in for AWS job durations until those are measured); the managed-spot saving is reported as a
ratio against the same run on demand.
"""

from __future__ import annotations

from pathlib import Path

from bench.common import RESULTS_DIR, BenchResult, Figure, write_result
from mlops_planning.cost_model import PipelineSettings, estimate, job_sizes_from_bench
from mlops_planning.template_parameters import load_template_parameters

# The repository's template: bench/ lives in the checkout, next to it.
TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

RUNS_PER_MONTH = 4.0  # the weekly retraining schedule the template ships (disabled) for


def main() -> None:
    defaults = {name: spec.get("Default") for name, spec in load_template_parameters(TEMPLATE).items()}
    settings = PipelineSettings.from_parameters({k: v for k, v in defaults.items() if v is not None})
    sizes, provenance = job_sizes_from_bench(RESULTS_DIR)
    spot = estimate(settings, sizes, runs_per_month=RUNS_PER_MONTH)
    on_demand = estimate(
        settings.model_copy(update={"use_spot_training": False}), sizes, runs_per_month=RUNS_PER_MONTH
    )
    training_items = [i for i in spot.items if i.on_demand_usd is not None]
    spot_training = sum(i.usd for i in training_items)
    on_demand_training = sum(i.on_demand_usd or 0.0 for i in training_items)
    figures = [
        Figure(
            what="one pipeline run on AWS (template defaults)",
            how="cost model over the dated us-east-1 price table, measured job sizes",
            result=round(spot.per_run_usd, 4),
            unit="USD",
            baseline=round(on_demand.per_run_usd, 4),
            baseline_what="same run, training on demand",
            ratio=round(spot.per_run_usd / on_demand.per_run_usd, 3) if on_demand.per_run_usd else None,
        ),
        Figure(
            what="training and tuning with managed spot",
            how="spot lines of the estimate against their on-demand price",
            result=round(spot_training, 4),
            unit="USD per run",
            baseline=round(on_demand_training, 4),
            baseline_what="on demand",
            ratio=round(spot_training / on_demand_training, 3) if on_demand_training else None,
        ),
        Figure(
            what="one month (4 runs, endpoint always on, hourly monitoring)",
            how="cost model, per-month lines",
            result=round(spot.monthly_usd, 2),
            unit="USD",
        ),
    ]
    biggest = max(spot.items, key=lambda i: i.usd_per_month)
    details = {
        "breakdown": spot.model_dump(mode="json"),
        "provenance": provenance,
        "notes": (
            f"{spot.summary} The biggest monthly line is {biggest.name} "
            f"({biggest.usd_per_month:,.2f} USD). Job sizes: "
            + ("; ".join(provenance) or "model defaults")
            + "."
        ),
    }
    print(write_result(BenchResult("cost", figures, details)))


if __name__ == "__main__":
    main()
