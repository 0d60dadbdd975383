"""Quota sanity checks for `kubegrid check` (filled in by the teams and Spark work)."""

from __future__ import annotations

from .spec import StackSpec


def quota_findings(spec: StackSpec) -> list[str]:
    return []
