"""The event router's rule matching: the same answers as moto's matcher, other sources ruled out first."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from mlops_local.engine.events import EventRouter, EventRule

S3_EVENT = {
    "source": "aws.s3",
    "detail-type": "Object Created",
    "detail": {"bucket": {"name": "data"}, "object": {"key": "incoming/line-a/ok/1.jpg"}},
}
PATTERNS: dict[str, dict[str, Any]] = {
    "uploads": {"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "incoming/"}]}}},
    "other keys": {"source": ["aws.s3"], "detail": {"object": {"key": [{"prefix": "datasets/"}]}}},
    "training jobs": {"source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"]},
    "any aws source": {"source": [{"prefix": "aws."}], "detail-type": ["Object Created"]},
    "no source": {"detail-type": ["Object Created"]},
    "two sources": {"source": ["aws.states", "aws.s3"], "detail-type": ["Object Created"]},
}


def rule(name: str, pattern: dict[str, Any] | None, *, enabled: bool = True) -> EventRule:
    return EventRule(
        name, name, pattern, [("arn:aws:lambda:us-east-1:123456789012:function:f", None)], [], enabled
    )


def router(*rules: EventRule) -> EventRouter:
    return EventRouter(list(rules), lambdas=None, client=lambda service: None)  # type: ignore[arg-type]


@pytest.fixture
def moto_asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The patterns moto's matcher was asked about."""
    asked: list[dict[str, Any]] = []
    stock = EventPattern.matches_event

    def counted(pattern: EventPattern, event: Any) -> bool:
        asked.append(pattern.get_pattern())
        return stock(pattern, event)

    monkeypatch.setattr(EventPattern, "matches_event", counted)
    return asked


@pytest.mark.parametrize("name", list(PATTERNS))
def test_each_rule_matches_as_moto_alone_would(name: str) -> None:
    pattern = PATTERNS[name]
    expected = EventPattern.load(json.dumps(pattern)).matches_event(S3_EVENT)  # type: ignore[arg-type]
    assert (router(rule(name, pattern)).matching_rules(S3_EVENT) != []) == expected


def test_rules_naming_other_sources_are_never_handed_to_moto(moto_asked: list[dict[str, Any]]) -> None:
    matched = router(*(rule(name, pattern) for name, pattern in PATTERNS.items())).matching_rules(S3_EVENT)
    assert [r.name for r in matched] == ["uploads", "any aws source", "no source", "two sources"]
    assert PATTERNS["training jobs"] not in moto_asked
    assert len(moto_asked) == len(PATTERNS) - 1


def test_a_disabled_rule_or_one_without_a_pattern_matches_nothing() -> None:
    assert (
        router(rule("off", PATTERNS["uploads"], enabled=False), rule("none", None)).matching_rules(S3_EVENT)
        == []
    )
