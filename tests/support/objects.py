"""Lookups in a stack's list of objects, for the team and Spark tests."""

from __future__ import annotations

from typing import Any, Optional


def of_kind(objects: list[dict[str, Any]], kind: str, namespace: Optional[str] = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind
            and (namespace is None or o["metadata"].get("namespace") == namespace)]


def named(objects: list[dict[str, Any]], kind: str, namespace: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in of_kind(objects, kind, namespace) if o["metadata"]["name"] == name]
    return found
