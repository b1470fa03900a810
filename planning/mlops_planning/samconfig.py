"""``samconfig.toml``: an environment's ``parameter_overrides``, read and written as SAM CLI reads them.

Every reader of the file must agree on what the overrides say, so this module holds the only
parser and formatter of them, following SAM CLI's own (``CfnParameterOverridesType``):

- ``parameter_overrides`` is a string, or a list of strings (nested lists are flattened); each
  string holds pairs separated by spaces, ``Key=Value`` or ``ParameterKey=Key,ParameterValue=Value``.
- A value is bare (``Key=G.1X``), double-quoted (``Key="cron(0 3 * * ? *)"``) or single-quoted
  (``Key='a b'``); a backslash keeps the next character inside the value. One pair of wrapping
  quotes is removed, then ``\\ ``, ``\\"`` and ``\\'`` become a space and the quote; other
  backslashes stay as written. A later pair of the same name wins.

SAM CLI skips text it cannot read and glues a tab or newline into a bare value; this parser raises
instead (a token that is not a pair, a pair glued to the one before, a tab or newline after a bare
value, a ParameterKey pair among Key=Value pairs, a quoted name, a blank list entry, ``file://``),
because the overrides are what ``sam deploy`` deploys and a misreading must not pass unnoticed.

Writing goes through tomlkit, so the file's comments, order and other environments survive; only
the values the recommendation decides change.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

# What `sam deploy` needs in an environment that does not exist yet (the rest has SAM's defaults).
NEW_ENVIRONMENT_DEPLOY: dict[str, Any] = {
    "capabilities": "CAPABILITY_IAM CAPABILITY_AUTO_EXPAND",
    "confirm_changeset": True,
    "region": "us-east-1",
    "resolve_s3": True,
}

# CloudFormation parameter names are alphanumeric. (SAM CLI also takes a name in quotes, "A"=1, but
# then lets "A" and A override each other by first appearance rather than last; such names are refused.)
_NAME = r"[A-Za-z0-9]+"
# SAM CLI's value: double-quoted or single-quoted (backslash escapes the next character), or bare.
# Bare values stop at any whitespace; SAM CLI stops only at a space, and _pairs refuses the rest.
_VALUE = r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|(?:\\.|[^\s\"\\])+"
_SHORT_PAIR = re.compile(rf"(?P<key>{_NAME})=(?P<value>{_VALUE})")
_LONG_PAIR = re.compile(rf"ParameterKey=(?P<key>{_NAME}),ParameterValue=(?P<value>{_VALUE})")
# Where SAM CLI would see a ParameterKey pair (its names may hold quotes); a little broader than it.
_ANY_LONG_PAIR = re.compile(r"ParameterKey=[A-Za-z0-9\"']+,ParameterValue=[^ ]")
_BARE = re.compile(r"[^\s\"'\\]+")
# Characters whose escapes SAM CLI only partly undoes (it keeps "\\" doubled), so no spelling of
# them reads back as written; no parameter of the template takes one.
_UNCARRIED = re.compile(r"[\"\\\r\n]")


class SamconfigError(ValueError):
    """A samconfig.toml environment, or its parameter_overrides, cannot be read as SAM CLI reads it."""


@dataclass(frozen=True)
class _Pair:
    key: str
    value: str
    text: str  # the pair as written, kept when a merge leaves it unchanged
    long_form: bool


def _unquote(text: str) -> str:
    # SAM CLI's _unquote_wrapped_quotes: one pair of wrapping quotes, then three escapes.
    if text and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def _pairs(text: str) -> list[_Pair]:
    """The pairs of one override string, in order; SamconfigError where SAM CLI would misread it."""
    text = text.strip()
    if not text:
        raise SamconfigError("parameter_overrides has a blank entry, which SAM CLI rejects")
    if text.startswith("file://"):
        raise SamconfigError(f"parameter_overrides {text!r}: file:// references are not supported here")
    pairs: list[_Pair] = []
    position = 0
    while position < len(text):
        if pairs:
            if text[position] != " ":
                raise SamconfigError(
                    f"parameter_overrides {text!r}: {text[position:]!r} is not separated from the pair"
                    " before it by a space; SAM CLI would drop it or glue it to that value"
                )
            while text[position] == " ":
                position += 1
        match = _LONG_PAIR.match(text, position) or _SHORT_PAIR.match(text, position)
        if match is None:
            raise SamconfigError(
                f"parameter_overrides {text!r}: cannot read {text[position:]!r} as Key=Value"
                ' (quote a value with spaces: Key="a b")'
            )
        pairs.append(_Pair(match["key"], _unquote(match["value"]), match.group(0), match.re is _LONG_PAIR))
        position = match.end()
    # SAM CLI reads a string in the ParameterKey form as soon as that form appears anywhere in it,
    # even inside a quoted value, and then ignores every Key=Value pair of the string.
    if not all(pair.long_form for pair in pairs) and _ANY_LONG_PAIR.search(text):
        raise SamconfigError(
            f"parameter_overrides {text!r} holds a ParameterKey=...,ParameterValue=... pair among"
            " Key=Value pairs; SAM CLI would read only the ParameterKey ones"
        )
    return pairs


def _strings(value: object) -> list[str]:
    """The strings of a parameter_overrides value (a string, or a possibly nested list of them)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence):
        return [text for item in value for text in _strings(item)]
    raise SamconfigError(
        f"parameter_overrides must be a string or a list of Key=Value strings, not {type(value).__name__}"
    )


def parse_parameter_overrides(value: object) -> dict[str, str]:
    """``Key=Value`` pairs (a string, or a possibly nested list of strings) as SAM CLI reads them.

    None and "" are no overrides; a later pair of the same name wins. SamconfigError for other
    types, and for text that SAM CLI would misread (see the module's docstring).
    """
    if value is None or value == "":
        return {}
    return {pair.key: pair.value for text in _strings(value) for pair in _pairs(text)}


def format_parameter_override(name: str, value: str) -> str:
    """One ``Key=Value`` pair that SAM CLI (and ``parse_parameter_overrides``) reads back as given.

    The value is bare when it has no space or quote, otherwise double-quoted.
    """
    if not re.fullmatch(_NAME, name):
        raise ValueError(f"parameter name {name!r} is not alphanumeric, as CloudFormation requires")
    if _UNCARRIED.search(value):
        raise ValueError(
            f"parameter {name} has a double quote, backslash or newline, which parameter_overrides"
            f" cannot carry unambiguously: {value!r}"
        )
    pair = f"{name}={value}" if _BARE.fullmatch(value) else f'{name}="{value}"'
    if _ANY_LONG_PAIR.search(pair):
        raise ValueError(f"parameter {name}: SAM CLI would read {pair!r} as a ParameterKey=... pair")
    return pair


def parameter_override_tokens(overrides: Mapping[str, str]) -> list[str]:
    """One pair per override: the list form of ``parameter_overrides``, or ``sam deploy`` arguments."""
    return [format_parameter_override(name, value) for name, value in overrides.items()]


def format_parameter_overrides(overrides: Mapping[str, str]) -> str:
    """The string form of ``parameter_overrides``: pairs separated by spaces."""
    return " ".join(parameter_override_tokens(overrides))


def read_parameter_overrides(path: Path, config_env: str) -> dict[str, str]:
    """The ``parameter_overrides`` of ``config_env``'s deploy section; empty when it sets none."""
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    if config_env not in document:
        raise SamconfigError(f"{path} has no environment {config_env!r}")
    return _environment_overrides(document, config_env)


def _rewrite(text: str, overrides: Mapping[str, str], written: set[str]) -> str:
    """``text`` with each pair of a key in ``overrides`` set to the new value; untouched pairs kept."""
    if text == "":
        return text
    pairs = _pairs(text)
    written.update(pair.key for pair in pairs if pair.key in overrides)
    if all(pair.key not in overrides or overrides[pair.key] == pair.value for pair in pairs):
        return text
    if any(pair.long_form for pair in pairs):
        # New pairs are Key=Value; one string must not mix the forms, so all of it is rewritten.
        values = {pair.key: overrides.get(pair.key, pair.value) for pair in pairs}
        return format_parameter_overrides(values)
    return " ".join(
        format_parameter_override(pair.key, overrides[pair.key]) if pair.key in overrides else pair.text
        for pair in pairs
    )


def _toml_string(text: str) -> Any:
    # A literal string shows Key="a b" without backslashes; it cannot hold a single quote.
    return tomlkit.string(text, literal='"' in text and "'" not in text)


def _table(parent: MutableMapping[str, Any], key: str, *, super_table: bool) -> Any:
    if key not in parent:
        # A super table only names its children: [env.deploy.parameters], not [env] and [env.deploy].
        parent[key] = tomlkit.table(is_super_table=super_table)
    table = parent[key]
    if not isinstance(table, MutableMapping):
        raise SamconfigError(f"samconfig.toml: {key} is a value, not a table")
    return table


def merge_samconfig(
    text: str,
    config_env: str,
    overrides: Mapping[str, str],
    *,
    stack_name: str | None = None,
) -> str:
    """samconfig.toml ``text`` with ``overrides`` merged into ``config_env``'s deploy parameter_overrides.

    Comments, layout, other environments, other commands and the environment's other settings are
    kept, as are the overrides the recommendation does not decide (e.g. ``NotificationEmail``); the
    string or list form of ``parameter_overrides`` is kept too. A new environment gets the deploy
    settings ``sam deploy`` needs.
    """
    document = tomlkit.parse(text)
    expected = _environment_overrides(tomllib.loads(text), config_env) | dict(overrides)
    if "version" not in document:
        document["version"] = 0.1
    environment = _table(document, config_env, super_table=True)
    deploy = _table(_table(environment, "deploy", super_table=True), "parameters", super_table=False)
    if not deploy:
        deploy.update({"stack_name": stack_name or f"defect-mlops-{config_env}", **NEW_ENVIRONMENT_DEPLOY})
    elif stack_name:
        deploy["stack_name"] = stack_name
    current = deploy.get("parameter_overrides")
    written: set[str] = set()
    if isinstance(current, list):
        # Item by item, so that comments between the items stay where they are.
        if not all(isinstance(item, str) for item in current):
            raise SamconfigError(
                "samconfig.toml: a nested parameter_overrides list cannot be merged in place"
            )
        for index, item in enumerate(list(current)):
            rewritten = _rewrite(item, overrides, written)
            if rewritten != item:
                current[index] = _toml_string(rewritten)
        new_pairs = parameter_override_tokens({k: v for k, v in overrides.items() if k not in written})
        current.extend(_toml_string(pair) for pair in new_pairs)
    elif current is None or isinstance(current, str):
        text_before = current or ""
        rewritten = _rewrite(text_before, overrides, written)
        added = format_parameter_overrides({k: v for k, v in overrides.items() if k not in written})
        merged_text = " ".join(part for part in (rewritten, added) if part)
        if merged_text != text_before:
            deploy["parameter_overrides"] = _toml_string(merged_text)
    else:
        raise SamconfigError(
            f"parameter_overrides of {config_env} must be a string or a list, not {type(current).__name__}"
        )
    merged = tomlkit.dumps(document)
    if _environment_overrides(tomllib.loads(merged), config_env) != expected:
        # Never write a file that TOML or SAM CLI would read differently from what was merged.
        raise SamconfigError(f"the merged parameter_overrides of {config_env} do not read back as {expected}")
    return merged


def _environment_overrides(document: Mapping[str, Any], config_env: str) -> dict[str, str]:
    deploy = document.get(config_env, {}).get("deploy", {}).get("parameters", {})
    return parse_parameter_overrides(deploy.get("parameter_overrides"))


def write_samconfig(
    path: Path, config_env: str, overrides: Mapping[str, str], *, stack_name: str | None = None
) -> None:
    """Merge ``overrides`` into ``path``'s ``config_env`` (creating the file if needed), atomically."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    merged = merge_samconfig(text, config_env, overrides, stack_name=stack_name)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(merged, encoding="utf-8")
    temporary.replace(path)
