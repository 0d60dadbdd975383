"""Small PromQL helpers: label matchers and the stack's namespaces, so every
expression names the same things the same way."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ...config import StackSpec
from . import names


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def one_of(values: Iterable[str]) -> str:
    """A regular expression matching exactly these values."""
    return "|".join(re.escape(v) for v in sorted(set(values)))


def sel(metric: str, **matchers: str) -> str:
    """``metric{a="x", b=~"y"}``: a value starting with ``~`` or ``!`` is a regex or negative matcher."""
    parts = []
    for label, value in matchers.items():
        op = "="
        if value.startswith("!~"):
            op, value = "!~", value[2:]
        elif value.startswith("!"):
            op, value = "!=", value[1:]
        elif value.startswith("~"):
            op, value = "=~", value[1:]
        parts.append(f"{label}{op}{quote(value)}")
    return metric + ("{" + ", ".join(parts) + "}" if parts else "")


def team_namespaces(spec: StackSpec, spark_only: bool = False) -> list[str]:
    return [t.name for t in spec.teams if t.spark or not spark_only]


def stack_namespaces(spec: StackSpec) -> list[str]:
    """Namespaces the stack's workloads run in: the grid, the teams, monitoring."""
    return [spec.grid.namespace, *team_namespaces(spec), names.namespace(spec)]


def with_pod_label(phase_selector: str, namespace: str, role: str) -> str:
    """Pods of ``phase_selector`` (a kube_pod_status_phase selector) whose ``spark-role`` label is ``role``."""
    return (f"({phase_selector} == 1) and on(namespace, pod) "
            f"{sel('kube_pod_labels', namespace=namespace, label_spark_role=role)}")
