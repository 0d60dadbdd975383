"""`kubegrid check`: every offline check of a stack, as a list of findings."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..cluster.grid import CHART_DIR, grid_values
from ..config import StackSpec
from .render import ChartRenderError, Rendered, StackRender, render_stack


@dataclass
class CheckReport:
    stack: str
    findings: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    objects: int = 0
    resources: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings


def describe_object(rendered: Rendered) -> str:
    meta = rendered.obj.get("metadata") or {}
    where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
    return f"{rendered.obj.get('kind')} {where}{meta.get('name')} ({rendered.source})"


CRD_SCHEMAS = Path(__file__).resolve().parent / "crd_schemas"
"""Strict JSON schemas of the custom resources the stack applies, from their CRDs (see generate.py there)."""


def crd_schema(api_version: str, kind: str) -> Optional[dict[str, Any]]:
    """The schema of a custom resource the stack applies (``servicemonitor-monitoring-v1.json``), or None."""
    group, _, version = api_version.rpartition("/")
    path = CRD_SCHEMAS / f"{kind.lower()}-{group.split('.')[0]}-{version}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def validate_custom(rendered: Rendered, schema: dict[str, Any], report: CheckReport) -> None:
    import jsonschema

    for error in jsonschema.Draft7Validator(schema).iter_errors(rendered.obj):
        at = ".".join(str(p) for p in error.absolute_path) or "(object)"
        report.findings.append(f"{describe_object(rendered)}: {at}: {error.message}")


def validate_objects(objects: list[Rendered], kubernetes_version: str, report: CheckReport) -> None:
    """Each object against the Kubernetes schemas of the stack's version, strictly; custom
    resources against their CRDs' schemas."""
    import kubernetes_validate

    for rendered in objects:
        schema = crd_schema(rendered.obj.get("apiVersion", ""), rendered.obj.get("kind", ""))
        if schema is not None:
            validate_custom(rendered, schema, report)
            continue
        try:
            kubernetes_validate.validate(rendered.obj, kubernetes_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            report.warnings.append(f"{describe_object(rendered)}: no schema for {rendered.obj.get('apiVersion')} "
                                   f"{rendered.obj.get('kind')} in Kubernetes {kubernetes_version} (a custom resource); not validated")
        except kubernetes_validate.ValidationError as error:
            at = ".".join(str(p) for p in error.absolute_path) or "(object)"
            report.findings.append(f"{describe_object(rendered)}: {at}: {error.message}")


def lint_chart(values: dict[str, Any], namespace: str, kubernetes_version: str, report: CheckReport) -> None:
    """`helm lint --strict` of the grid chart with the stack's values."""
    import helm_python

    result = helm_python.lint(CHART_DIR, values, strict=True, namespace=namespace,
                              kube_version=f"v{kubernetes_version}.0")
    for message in result.get("messages") or []:
        if message.get("severity", 0) >= 2:
            report.findings.append(f"helm lint: {message.get('path')}: {message.get('error')}")
    report.findings.extend(f"helm lint: {error}" for error in result.get("errors") or [])


def run_program_check(spec: StackSpec, config: dict[str, Any], report: CheckReport) -> None:
    """The real program runs under mocks without error."""
    from .mock_run import run_program

    try:
        report.resources = len(run_program(config, spec.stack).resources)
    except Exception as error:  # noqa: BLE001 - any failure of the program is a finding
        report.findings.append(f"the Pulumi program failed under mocks: {type(error).__name__}: {error}")


def check_stack(spec: StackSpec, config: dict[str, Any]) -> CheckReport:
    """Renders, validates and lints the objects of a stack that passed validation, and runs its program."""
    report = CheckReport(spec.stack)
    version = spec.cluster.kubernetes_version
    rendered: Optional[StackRender] = None
    try:
        rendered = render_stack(spec)
    except ChartRenderError as error:
        report.findings.append(f"the grid chart refused the stack's values: {error}")
    if rendered is not None:
        report.objects = len(rendered.objects)
        validate_objects(rendered.objects, version, report)
    lint_chart(grid_values(spec), spec.grid.namespace, version, report)
    run_program_check(spec, config, report)
    return report
