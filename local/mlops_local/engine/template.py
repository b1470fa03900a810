"""Load ``template.yaml``, resolve its Parameters and translate it from SAM to CloudFormation.

The translation runs aws-sam-translator offline: managed policy names come from the map bundled
with the translator (no IAM call), and local code paths (``CodeUri``, ``ContentUri``,
``DefinitionUri``) are swapped for placeholder S3 locations before translating, as ``sam package``
would do, while the real local paths are kept for the local runtime.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from mlops_planning.samconfig import read_parameter_overrides
from mlops_planning.template_parameters import read_template as read_template_document

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PSEUDO_PARAMETERS = {
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Region": REGION,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}

# Placeholder bucket for the code locations SAM requires to be in S3; never read.
LOCAL_CODE_BUCKET = "local-code"

_LOCAL_PATH_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}


class TemplateError(Exception):
    """The template, its parameters or a samconfig environment cannot be used as given."""


@dataclass
class LoadedTemplate:
    """The CloudFormation form of the template, with everything the provisioner needs beside it."""

    path: Path
    sam: dict[str, Any]  # the template as written
    cfn: dict[str, Any]  # the SAM-translated template
    parameters: dict[str, Any]  # every parameter's resolved value
    local_paths: dict[str, Path] = field(default_factory=dict)  # logical id -> local code / ASL path

    @property
    def root(self) -> Path:
        """The folder holding the template (paths in it are relative to this)."""
        return self.path.parent


def read_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML (or JSON) template, short-form tags included."""
    try:
        document = read_template_document(path)
    except ValueError as error:
        raise TemplateError(str(error)) from error
    if "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document


def declared_environment(template: dict[str, Any], function_dir: str) -> dict[str, str]:
    """The variables ``template`` gives the function whose ``CodeUri`` is ``function_dir``.

    ``Globals`` first, then the function's own, as SAM merges them; each value is a plausible
    deployed one: a parameter's default, else a placeholder (``resolved-Fn::GetAtt``...) where AWS
    would resolve an intrinsic. For importing a handler as Lambda's init does, without a stack.
    """
    wanted = function_dir.rstrip("/")
    resources = [
        resource
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::Serverless::Function"
        and str(resource.get("Properties", {}).get("CodeUri", "")).rstrip("/") == wanted
    ]
    if len(resources) != 1:
        raise TemplateError(f"the template has {len(resources)} functions with CodeUri {wanted}/, not one")
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = resources[0].get("Properties", {}).get("Environment", {}).get("Variables", {})
    parameters = template.get("Parameters", {})
    return {name: _plausible_value(raw, parameters) for name, raw in {**globals_, **own}.items()}


def _plausible_value(raw: Any, parameters: dict[str, Any]) -> str:
    if isinstance(raw, dict):
        if set(raw) == {"Ref"} and raw["Ref"] in parameters:
            return str(parameters[raw["Ref"]].get("Default", ""))
        return f"resolved-{next(iter(raw))}"
    return str(raw)


def samconfig_parameter_overrides(samconfig_path: Path, config_env: str) -> dict[str, str]:
    """The ``parameter_overrides`` of one samconfig.toml environment's deploy section.

    Read with the planning package's parser, the one that writes the file, so that the local
    runtime resolves the same values ``sam deploy`` would.
    """
    try:
        return read_parameter_overrides(samconfig_path, config_env)
    except ValueError as error:  # a missing environment, unreadable overrides or invalid TOML
        raise TemplateError(str(error)) from error


def resolve_parameters(
    template: dict[str, Any],
    *layers: dict[str, Any],
) -> dict[str, Any]:
    """Parameter values: the template's defaults, then each layer of overrides in order.

    A value for an undeclared parameter, a missing required value or a value outside
    ``AllowedValues`` is an error, as it is for CloudFormation.
    """
    declared: dict[str, dict[str, Any]] = template.get("Parameters", {}) or {}
    values: dict[str, Any] = {name: spec["Default"] for name, spec in declared.items() if "Default" in spec}
    for layer in layers:
        for name, value in layer.items():
            if name not in declared:
                raise TemplateError(f"parameter {name!r} is not declared in the template")
            values[name] = value
    for name, spec in declared.items():
        if name not in values:
            raise TemplateError(f"parameter {name!r} has no default and no value was given")
        value = values[name]
        if spec.get("Type") == "CommaDelimitedList":
            value = value if isinstance(value, list) else [v.strip() for v in str(value).split(",") if v]
        else:
            value = str(value)
            allowed = spec.get("AllowedValues")
            if allowed is not None and value not in [str(a) for a in allowed]:
                raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
        values[name] = value
    return values


def _swap_local_paths(sam: dict[str, Any]) -> dict[str, Path]:
    """Replace local code paths with placeholder S3 locations; return the local paths by logical id."""
    local_paths: dict[str, Path] = {}
    global_code_uri = sam.get("Globals", {}).get("Function", {}).get("CodeUri")
    for logical_id, resource in sam["Resources"].items():
        prop = _LOCAL_PATH_PROPERTIES.get(resource.get("Type", ""))
        if prop is None:
            continue
        properties = resource.setdefault("Properties", {})
        value = properties.get(prop, global_code_uri if prop == "CodeUri" else None)
        if isinstance(value, str) and not value.startswith("s3://"):
            local_paths[logical_id] = Path(value)
            properties[prop] = f"s3://{LOCAL_CODE_BUCKET}/{logical_id}"
    if isinstance(global_code_uri, str) and not global_code_uri.startswith("s3://"):
        sam["Globals"]["Function"]["CodeUri"] = f"s3://{LOCAL_CODE_BUCKET}/Globals"
    return local_paths


def _translate(sam: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """SAM -> CloudFormation, offline: bundled managed-policy map, fixed region and account."""
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    translated: dict[str, Any] = translator.translate(
        sam,
        parameter_values={**parameters, **PSEUDO_PARAMETERS},
        get_managed_policy_map=lambda: get_bundled_managed_policy_map("aws") or {},
    )
    return translated


def load_template(
    path: Path,
    *,
    samconfig: Path | None = None,
    config_env: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> LoadedTemplate:
    """Read, resolve and translate ``path``: defaults < samconfig environment < explicit overrides."""
    sam = read_template(path)
    layers: list[dict[str, Any]] = []
    if config_env is not None:
        layers.append(samconfig_parameter_overrides(samconfig or path.parent / "samconfig.toml", config_env))
    if overrides:
        layers.append(overrides)
    parameters = resolve_parameters(sam, *layers)
    translatable = copy.deepcopy(sam)
    local_paths = {lid: (path.parent / p).resolve() for lid, p in _swap_local_paths(translatable).items()}
    try:
        cfn = _translate(translatable, parameters)
    except Exception as error:  # the translator raises its own exception family
        raise TemplateError(f"SAM translation of {path} failed: {error}") from error
    return LoadedTemplate(path=path, sam=sam, cfn=cfn, parameters=parameters, local_paths=local_paths)
