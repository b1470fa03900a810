"""``mlops-plan`` (or ``python -m mlops_planning``): requirements in, a deployable configuration out.

Requirements come from flags or a YAML profile; out comes a choice per service with its reason and
source, the monthly cost, warnings, and the template parameter overrides, checked against the
template's constraints and optionally merged into a ``samconfig.toml`` environment so that the
recommendation is what ``sam deploy`` deploys. ``docs/choosing-services.md`` explains the rules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import ValidationError

from mlops_planning.planner import Recommendation, recommend
from mlops_planning.render import render_json, render_text
from mlops_planning.requirements import REQUIREMENT_NAMES, SUPPORTED_TASK, Latency, Retrain, load_requirements
from mlops_planning.samconfig import write_samconfig
from mlops_planning.template_parameters import DEFAULT_TEMPLATE, check_overrides, load_template_parameters


def _ids(text: str) -> list[str]:
    return [x for x in text.split(",") if x]


def build_parser() -> argparse.ArgumentParser:
    """The command line: one flag per requirement, then where to check and write the result."""
    parser = argparse.ArgumentParser(
        prog="mlops-plan",
        description="Recommend AWS services and settings for this pipeline from your requirements.",
    )
    parser.add_argument("--profile", type=Path, help="YAML file of requirements (flags override it)")
    parser.add_argument("--task", help=f"{SUPPORTED_TASK} (others get what would fit instead)")
    parser.add_argument("--images-per-day", type=float)
    parser.add_argument("--images-total", type=int)
    parser.add_argument("--image-size", type=int, help="model input edge in pixels")
    parser.add_argument("--image-kb", type=float, help="average size of one uploaded image file")
    parser.add_argument("--retrain", choices=get_args(Retrain))
    parser.add_argument("--latency", choices=get_args(Latency))
    parser.add_argument("--requests-per-second", type=float)
    parser.add_argument("--monthly-budget-usd", type=float)
    parser.add_argument(
        "--interruption-tolerant",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="allow spot training",
    )
    parser.add_argument("--data-sources", type=int)
    parser.add_argument("--vpc-only", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--kms", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--vpc-subnet-ids", type=_ids, help="comma-separated subnet ids")
    parser.add_argument("--vpc-security-group-ids", type=_ids, help="comma-separated security group ids")
    parser.add_argument(
        "--template",
        type=Path,
        default=DEFAULT_TEMPLATE,
        help="checked for parameter constraints (default: template.yaml in the current directory)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--write-samconfig", type=Path, metavar="PATH", help="merge the overrides into this file"
    )
    parser.add_argument("--config-env", default="dev", help="samconfig environment to write (default dev)")
    parser.add_argument("--stack-name", help="stack_name for the samconfig environment")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point.

    Exit status: 0 answered (and written when asked), 1 nothing written (unsupported task, overrides
    the template rejects, or a samconfig that cannot be merged), 2 invalid requirements or template.
    """
    args = build_parser().parse_args(argv)
    flags = {name: getattr(args, name, None) for name in REQUIREMENT_NAMES}
    try:
        requirements = load_requirements(args.profile, flags)
    except (ValidationError, ValueError, OSError) as error:
        print(f"invalid requirements: {error}", file=sys.stderr)
        return 2
    template_parameters = None
    if args.template.is_file():
        try:
            template_parameters = load_template_parameters(args.template)
        except (yaml.YAMLError, ValueError, OSError) as error:
            print(f"cannot read {args.template}: {error}", file=sys.stderr)
            return 2
    recommendation = recommend(requirements, template_parameters=template_parameters)
    if template_parameters is None:
        recommendation.warnings.append(
            f"{args.template} not found: overrides not checked against its constraints"
        )
    print(render_json(recommendation) if args.json else render_text(recommendation))
    if args.write_samconfig is None:
        return 0
    return _write_samconfig(args, recommendation, template_parameters)


def _write_samconfig(
    args: argparse.Namespace,
    recommendation: Recommendation,
    template_parameters: Mapping[str, Mapping[str, Any]] | None,
) -> int:
    """Merge the overrides into the samconfig environment, unless they cannot be deployed."""
    if not recommendation.supported:
        print("nothing written: the task is not supported by this pipeline", file=sys.stderr)
        return 1
    violations = (
        check_overrides(recommendation.parameters, template_parameters) if template_parameters else []
    )
    if violations:
        print(
            "nothing written: the overrides break template constraints: " + "; ".join(violations),
            file=sys.stderr,
        )
        return 1
    try:
        write_samconfig(
            args.write_samconfig, args.config_env, recommendation.parameters, stack_name=args.stack_name
        )
    except (ValueError, OSError) as error:  # SamconfigError and TOML errors are ValueErrors
        print(f"nothing written to {args.write_samconfig}: {error}", file=sys.stderr)
        return 1
    print(f"wrote [{args.config_env}] to {args.write_samconfig}", file=sys.stderr)
    return 0
