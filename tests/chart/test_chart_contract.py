"""GigaSpaces' container contract (docs/gigaspaces.md) on the chart as every
stack renders it: the values components/cluster/grid.py hands Helm, in the
stack's namespace. The scenario files are checked point by point in the
other test files; this one checks every point once more for each stack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.cluster.grid import (MANAGER, NAMES, PORTS, SPACE_NAME, grid_image, grid_values, license_secret_name,
                                     manager_hosts)
from components.config.reader import Secret
from components.config.spec import GridSpec
from tests.support import chart as kit
from tests.support.pod_security import restricted_violations
from tests.support.stacks import STACK_NAMES, stack_spec

WRITABLE = ("/opt/gigaspaces/work", "/opt/gigaspaces/logs", "/opt/gigaspaces/deploy", "/tmp", "/home/gs_user")


def _render(stack: str) -> tuple[Any, Any]:
    spec = stack_spec(stack)
    return spec, kit.render_values(grid_values(spec), namespace=spec.grid.namespace)


def _grid_containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in kit.all_containers(kit.pod_spec(obj)) if c["name"] != "seed-writable-dirs"]


def _check_common(c: dict[str, Any], spec: Any, image: str, secret: str) -> None:
    assert c["image"] == image
    assert c["command"] == ["tools/kubernetes/entrypoint.sh"]
    assert c["workingDir"] == "/opt/gigaspaces"
    env = kit.env_of(c)
    assert env["GS_LICENSE"]["valueFrom"] == {"secretKeyRef": {"name": secret, "key": "license"}}
    assert env["GS_MANAGER_SERVERS"]["value"] == ",".join(manager_hosts(spec))
    assert "GS_LOOKUP_LOCATORS" not in env
    options = env["GS_OPTIONS_EXT"]["value"]
    assert "-Dcom.gs.multicast.enabled=false" in options
    assert f"-Dcom.gs.transport_protocol.lrmi.bind-port={PORTS.lrmi_first}-{PORTS.lrmi_last}" in options
    assert env["HOME"]["value"] == "/home/gs_user"
    mounts = {m["mountPath"] for m in c["volumeMounts"]}
    assert set(WRITABLE) <= mounts
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_managers_follow_the_contract(stack: str) -> None:
    spec, out = _render(stack)
    ns = spec.grid.namespace
    secret = license_secret_name(spec) or "kubegrid-license"
    sts = out.get("StatefulSet", MANAGER)
    assert sts["spec"]["serviceName"] == NAMES.management_headless == f"{MANAGER}-hs"
    assert sts["spec"]["replicas"] == spec.grid.managers
    (c,) = kit.pod_spec(sts)["containers"]
    _check_common(c, spec, grid_image(spec), secret)
    args = kit.args_of(c)
    assert args == {"component": "manager", "verbose": "true", "java.heap": args["java.heap"],
                    "managerReplicas": str(spec.grid.managers), "release.namespace": ns,
                    "name": NAMES.manager, "full.name": NAMES.manager}
    assert args["java.heap"].endswith("m") and args["java.heap"][:-1].isdigit()
    assert kit.env_of(c)["POST_CLASSPATH"]["value"] == "/opt/gigaspaces/lib/platform/kubernetes/*"
    services = {s["metadata"]["name"]: s for s in out.of_kind("Service")}
    assert {p["port"] for p in services[NAMES.management_service]["spec"]["ports"]} >= {PORTS.rest, PORTS.lookup}
    for name in (NAMES.management_headless, NAMES.spark_locator_service):
        assert services[name]["spec"]["clusterIP"] == "None"
        assert services[name]["spec"]["publishNotReadyAddresses"] is True
        assert PORTS.lookup in {p["port"] for p in services[name]["spec"]["ports"]}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_data_pods_follow_the_contract(stack: str) -> None:
    spec, out = _render(stack)
    ns = spec.grid.namespace
    secret = license_secret_name(spec) or "kubegrid-license"
    sets = out.partition_sets()
    assert len(sets) == spec.grid.partitions
    for n, sts in enumerate(sets, start=1):
        assert sts["spec"]["replicas"] == 1 + spec.grid.backups
        init, main = _grid_containers(sts)
        for c in (init, main):
            _check_common(c, spec, grid_image(spec), secret)
        assert kit.args_of(init) == {"component": "init", "verbose": "true", "name": SPACE_NAME, "release.namespace": ns,
                                     "license": "$(GS_LICENSE)", "manager.name": NAMES.manager,
                                     "manager.ports.api": str(PORTS.rest), "manager.discoveryTimeoutSeconds": "60"}
        args = kit.args_of(main)
        assert {k: v for k, v in args.items() if k != "java.heap"} == {
            "component": "pu", "verbose": "true", "name": SPACE_NAME, "release.namespace": ns,
            "license": "$(GS_LICENSE)", "manager.name": NAMES.manager, "manager.ports.api": str(PORTS.rest),
            "partitions": str(spec.grid.partitions), "ha": "true" if spec.grid.backups else "false",
            "partitionId": str(n)}


@pytest.mark.parametrize("stack", STACK_NAMES)
def test_users_rights_and_pod_security(stack: str) -> None:
    spec, out = _render(stack)
    for obj in out.workloads():
        pod = kit.pod_spec(obj)
        assert restricted_violations(pod) == [], obj["metadata"]["name"]
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"],
                pod["securityContext"]["fsGroup"]) == (1000, 2000, 2000)
    for binding in out.of_kind("RoleBinding") + out.of_kind("ClusterRoleBinding"):
        assert [s["kind"] for s in binding["subjects"]] == ["ServiceAccount"]
        assert binding["subjects"][0]["namespace"] == spec.grid.namespace
    assert out.get("ClusterRole", f"kubegrid-management-{spec.grid.namespace}-nodes")["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]


def test_the_stack_scenario_is_what_the_stack_passes() -> None:
    """ci/stack-values.yaml holds grid_values of a stack with the default grid and a license."""
    values = yaml.safe_load((kit.CI_DIR / "stack-values.yaml").read_text())
    spec = stack_spec("dev")
    default = replace(spec, grid=replace(GridSpec(), license=Secret(None)))
    assert values == grid_values(default)


def test_no_stack_sets_the_removed_image_tag() -> None:
    for path in sorted(Path(kit.REPO_ROOT / "stacks").glob("Pulumi.*.yaml")):
        assert "imageTag" not in path.read_text(), path.name
