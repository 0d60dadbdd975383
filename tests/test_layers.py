"""The package's layers import one way only (docs/architecture.md).

    config  <  cluster  <  validation, k8s  <  aws  <  program  <  offline

A module imports modules of its own layer and the layers below it, never
above; config and cluster import no Pulumi package and no cloud SDK.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "components"
ALLOWED = {
    "config": {"config"},
    "cluster": {"config", "cluster"},
    "validation": {"config", "cluster", "validation"},
    "k8s": {"config", "cluster", "k8s"},
    "aws": {"config", "cluster", "k8s", "aws"},
    "program": {"config", "cluster", "validation", "k8s", "aws", "program"},
    "offline": {"config", "cluster", "validation", "k8s", "aws", "program", "offline"},
}
PURE = ("config", "cluster")
FORBIDDEN_IN_PURE = ("pulumi", "pulumi_aws", "pulumi_kubernetes", "boto3", "botocore")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else ""


def imports(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> list[str]:
    """Absolute names of every module ``source``, a module of ``package``, imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(target)
            found += [f"{target}.{alias.name}" for alias in node.names]  # `from . import x` imports module x
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    assert {layer_of(module_name(p)) for p in MODULES if p.parent != PACKAGE or p.name != "__init__.py"} <= set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_go_down_the_layers_only(path: Path):
    layer = layer_of(module_name(path))
    if not layer:
        return  # components/__init__.py
    wrong = upward(layer, imports(path))
    assert wrong == [], f"{module_name(path)} ({layer}) imports {wrong}"


def upward(layer: str, names: list[str]) -> list[str]:
    """The names of modules in layers ``layer`` may not import."""
    return [m for m in names if m.startswith("components.") and layer_of(m) not in ALLOWED[layer]]


@pytest.mark.parametrize("path", [p for p in MODULES if layer_of(module_name(p)) in PURE], ids=lambda p: module_name(p))
def test_config_and_cluster_import_no_pulumi_or_cloud_sdk(path: Path):
    wrong = [m for m in imports(path) if m.split(".")[0] in FORBIDDEN_IN_PURE]
    assert wrong == [], f"{module_name(path)} imports {wrong}"


def test_the_checker_sees_wrong_imports():
    source = "from ...aws.node_pool import POOL_LABEL\nfrom ...program import main\nfrom ..grid import PORTS\n"
    names = imports_in(source, "components.cluster.spark")
    assert sorted(upward("cluster", names)) == [
        "components.aws.node_pool", "components.aws.node_pool.POOL_LABEL", "components.program", "components.program.main"]


def test_importing_the_cluster_layer_loads_no_pulumi():
    code = ("import sys, components.cluster.manifests, components.cluster.charts, components.cluster.quota, "
            "components.validation; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            f"{FORBIDDEN_IN_PURE!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout.strip()
    assert out == "[]"
