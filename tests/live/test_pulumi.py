"""The real `pulumi up`, preview, refresh and destroy on the control plane: the local stack,
and dev's cluster side (its teams and grid, cluster mode `existing`, on nodes shaped like its
pools).

The Pulumi engine and the pulumi-kubernetes provider are the programs a user runs, built from
their Go modules (tests/support/engines.py), with a local backend and passphrase secrets in a
temporary directory (tests/support/pulumi_engine.py). The tests of one stack share one
control plane and one Pulumi state and run in file order, as a user's commands would:
up, previews, a configuration change, destroy.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.cluster.grid import LICENSE_SECRET, RELEASE_NAME
from components.offline.mock_run import run_program
from components.validation import validate
from tests.support import live
from tests.support.pulumi_engine import Project, PulumiFailed, Result
from tests.support.stacks import stack_config, stack_spec

STACK = "local"
LICENSE = "Product=InsightEdge;Version=16.4;Type=ENTERPRISE;Customer=kubegrid-test;Expiration=2027-Dec-31;Hash=TEST"
"""A license set in the configuration change (a value of GigaSpaces' format; nothing checks it here)."""
REPLACING = {"replace", "create-replacement", "delete-replaced", "create-replaced"}


def dev_cluster_side() -> dict[str, Any]:
    """Dev's configuration in mode existing: what it deploys into the cluster (teams, grid),
    without what only mode eks has (the network and cluster, node pools, S3 access)."""
    config = copy.deepcopy(stack_config("dev"))
    del config["aws:region"], config["kubegrid:nodePools"]
    config["kubegrid:cluster"] = {"mode": "existing", "kubernetesVersion": config["kubegrid:cluster"]["kubernetesVersion"]}
    for team in config["kubegrid:teams"]:
        team.pop("s3Access", None)
    return config


SHAPES = {"local": lambda: stack_config("local"), "dev": dev_cluster_side}
"""Stack name -> the configuration its tests deploy."""


@dataclass
class Deployed:
    config: dict[str, Any]
    stack: live.LiveStack
    project: Project
    first_up: Result

    @property
    def kube(self):
        return self.stack.kube

    def state(self) -> list[dict[str, Any]]:
        return self.project.run("export").outputs["deployment"].get("resources", [])


def _uids(kube, namespace: str) -> dict[str, str]:
    """kind/name -> uid of what a replacement would recreate: the namespace, its StatefulSets
    and claims."""
    found = {f"Namespace/{namespace}": kube.json("get", "namespace", namespace)["metadata"]["uid"]}
    for kind in ("statefulsets", "persistentvolumeclaims"):
        for item in kube.json("get", kind, "-n", namespace)["items"]:
            found[f"{item['kind']}/{item['metadata']['name']}"] = item["metadata"]["uid"]
    return found


def up(stack: live.LiveStack, project: Project) -> Result:
    """`pulumi up`, with the Cluster Autoscaler played meanwhile (live.autoscaled_wait): the
    release waits for every grid pod, and on dev's minimum nodes the scheduler may leave one
    without room until the autoscaler adds a node, as it would on EKS."""
    with ThreadPoolExecutor(1) as running:
        result = running.submit(project.run, "up")
        live.autoscaled_wait(stack, "pulumi up to finish", lambda: stack.pods(stack.spec.grid.namespace),
                             lambda pods: result.done(), timeout=1200)
        return result.result()


@pytest.fixture(scope="module", params=sorted(SHAPES))
def deployed(request, engines_bin: Path, tmp_path_factory) -> Deployed:
    name, config = request.param, SHAPES[request.param]()
    stack = live.start(name, tmp_path_factory.mktemp(f"pulumi-plane-{name}"), engines_bin,
                       spec=validate(config, name).spec, nodes_of=stack_spec(name))
    try:
        project = Project(tmp_path_factory.mktemp(f"pulumi-project-{name}"), engines_bin, stack.plane.admin_config, name)
        project.set_config(config)
        first = up(stack, project)
        yield Deployed(config, stack, project, first)
    finally:
        stack.plane.stop()


def local_only(deployed: Deployed) -> None:
    if deployed.stack.name != STACK:
        pytest.skip("a test of the local stack: dev's cluster side is brought up, previewed and destroyed")


def test_up_from_empty_creates_every_resource_the_program_declares(deployed):
    """Every resource the mock runtime sees the program declare (type and logical name) is in
    the real state, created by the first `pulumi up`, with the stack itself and nothing else:
    no default provider (every resource names the stack's)."""
    planned = run_program(deployed.config, deployed.stack.name)
    real = [(r["type"], r["urn"].rsplit("::", 1)[1]) for r in deployed.state()]
    assert sorted(real) == sorted([("pulumi:pulumi:Stack", f"kubegrid-{deployed.stack.name}")] + [
        (r.type, r.name) for r in planned.resources])
    assert deployed.first_up.changes == {"create": len(real)}


def test_up_applies_every_object_and_installs_the_chart(deployed):
    """The objects the program applies and the chart's objects are on the server, the release is
    deployed by the provider from charts/kubegrid, and the grid's pods run."""
    objects = [r.obj for r in deployed.stack.render.objects]
    on_server = live.live_objects(deployed.kube, objects)
    assert len(on_server) == len(objects)
    namespace = deployed.stack.spec.grid.namespace
    releases = deployed.kube.json("get", "secrets", "-n", namespace, "-l", f"owner=helm,name={RELEASE_NAME}")["items"]
    assert [r["metadata"]["labels"]["status"] for r in releases] == ["deployed"]
    pods = deployed.stack.pods(namespace)
    assert pods and all(p["status"]["phase"] == "Running" and live.ready(p) for p in pods), live.dump(
        [(p["metadata"]["name"], p["status"].get("phase")) for p in pods])


def test_up_exports_the_outputs_the_docs_describe(deployed):
    """The real outputs are the mock run's (README's and docs/configuration.md's keys), with
    nothing secret in the clear."""
    planned = run_program(deployed.config, deployed.stack.name)
    assert deployed.first_up.outputs == planned.outputs


def test_preview_after_up_shows_no_changes(deployed):
    deployed.project.run("preview", expect_no_changes=True)


def test_preview_after_refresh_shows_no_changes(deployed):
    """Refresh reads every resource back from the server; a field the server fills in that the
    program leaves out would show as a diff here."""
    refreshed = deployed.project.run("refresh")
    assert set(refreshed.changes) == {"same"}, refreshed.output
    deployed.project.run("preview", expect_no_changes=True)


def _changed_config() -> dict[str, Any]:
    """Partitions 1 to 2, a second team, a bigger quota for the first (and, set with the CLI as
    the README says, a license: LICENSE)."""
    config = copy.deepcopy(stack_config(STACK))
    config["kubegrid:grid"]["partitions"] = 2
    config["kubegrid:teams"][0]["quota"]["cpu"] = 6
    config["kubegrid:teams"].append({"name": "reporting", "quota": {"cpu": 3, "memoryGiB": 6, "pods": 10}})
    validate(config, STACK)  # the change itself is valid
    return config


@pytest.fixture(scope="module")
def changed(deployed) -> tuple[Result, dict[str, str], dict[str, str]]:
    local_only(deployed)
    namespace = deployed.stack.spec.grid.namespace
    before = _uids(deployed.kube, namespace)
    deployed.project.set_config(_changed_config())
    deployed.project.cli("config", "set", "--secret", "--path", "kubegrid:grid.license", LICENSE)
    with pytest.raises(PulumiFailed) as previewed:  # the check the other previews pass can fail
        deployed.project.run("preview", expect_no_changes=True)
    assert "error: no changes were expected for preview but changes were proposed" in previewed.value.output
    result = up(deployed.stack, deployed.project)
    return result, before, _uids(deployed.kube, namespace)


def test_a_configuration_change_updates_in_place(deployed, changed):
    """Partitions 1 to 2, a second team and a quota: updates and creates, nothing replaced;
    the release's upgrade waited for the grid's pods (atomic), which all run."""
    result, before, after = changed
    assert not [s for s in result.operations if s["op"] in REPLACING], result.output
    assert {s["op"] for s in result.operations} == {"create", "update"}, result.output
    assert {k: after[k] for k in before} == before  # nothing that was there was recreated
    assert [k for k in set(after) - set(before) if k.startswith("StatefulSet/")] == ["StatefulSet/kubegrid-partition-2"]
    quota = deployed.kube.json("get", "resourcequota", "-n", "analytics")["items"]
    assert [q["spec"]["hard"]["limits.cpu"] for q in quota if q["spec"]["hard"].get("limits.cpu")] == ["6"]
    assert deployed.kube.json("get", "namespace", "reporting")["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"
    pods = deployed.stack.pods(deployed.stack.spec.grid.namespace)
    assert len(pods) == 3 and all(live.ready(p) for p in pods)
    # the license reaches the grid's Secret, and the state and the outputs hold it encrypted only
    secret = deployed.kube.json("get", "secret", "-n", deployed.stack.spec.grid.namespace, LICENSE_SECRET)
    assert base64.b64decode(secret["data"]["license"]).decode() == LICENSE
    assert LICENSE not in json.dumps(deployed.project.run("export").outputs) + json.dumps(result.outputs)
    deployed.project.run("preview", expect_no_changes=True)


def test_destroy_removes_what_the_stack_created_and_nothing_else(deployed):
    """In mode existing nothing of the stack is kept (docs/operations.md): its namespaces, with
    everything in them, and its cluster-wide objects go. What the cluster had before (its
    StorageClass, its volumes, its own namespaces) stays."""
    kube = deployed.kube
    cluster_before = {n["metadata"]["name"] for n in kube.json("get", "namespaces")["items"]} - {
        t["name"] for t in deployed.project.config()["kubegrid:teams"]} - {deployed.stack.spec.grid.namespace}
    storage = kube.json("get", "storageclasses,persistentvolumes")["items"]
    assert storage
    result = deployed.project.run("destroy")
    assert set(result.changes) == {"delete"}, result.output
    assert deployed.state() == []
    kube.wait_for("the stack's namespaces to be gone", lambda: {
        n["metadata"]["name"] for n in kube.json("get", "namespaces")["items"]} == cluster_before, timeout=120)
    cluster_scoped = [o for o in (r.obj for r in deployed.stack.render.objects) if "namespace" not in o["metadata"]]
    listed = kube.run("get", "-f", "-", "--ignore-not-found", check=False,
                      input=live.dump({"apiVersion": "v1", "kind": "List", "items": cluster_scoped}))
    assert listed.stdout.strip() == "", listed.stdout
    assert {o["metadata"]["uid"] for o in kube.json("get", "storageclasses,persistentvolumes")["items"]} == {
        o["metadata"]["uid"] for o in storage}


def test_a_bad_configuration_stops_up_before_anything_is_created(deployed, engines_bin, tmp_path_factory):
    """The engine shows `kubegrid check`'s own message, every problem at once, and nothing is
    created (the state holds no resource; the cluster gets no namespace)."""
    local_only(deployed)
    config = copy.deepcopy(stack_config(STACK))
    config["kubegrid:grid"]["managers"] = 2
    config["kubegrid:teams"][0]["quota"]["pods"] = 0
    project = Project(tmp_path_factory.mktemp("pulumi-bad"), engines_bin, deployed.stack.plane.admin_config, STACK)
    project.set_config(config)
    checked = subprocess.run([str(Path(sys.executable).with_name("kubegrid")), "check", str(project.stack_file)],
                             capture_output=True, text=True)
    problems = [line.strip() for line in checked.stderr.splitlines() if line.startswith("  kubegrid:")]
    assert checked.returncode == 2 and len(problems) == 2, checked.stderr
    namespaces = deployed.kube.json("get", "namespaces")["items"]
    with pytest.raises(PulumiFailed) as failed:
        project.run("up")
    output = failed.value.output
    # The program's error, once. (An inline program's host also returns it to the engine, which
    # repeats it as "an unhandled error occurred"; the CLI's own Python host exits without.)
    diagnostics = output.split("Diagnostics:", 1)[1].split("Resources:", 1)[0]
    errors = [e for e in re.split(r"\n\s*error: ", diagnostics) if not e.startswith("an unhandled error occurred:")]
    ours = [e for e in errors if e.startswith("invalid stack configuration:")]
    assert len(ours) == 1 and [line.strip() for line in ours[0].splitlines()[1:] if line.strip()] == problems, output
    assert "Traceback" not in output
    state = project.run("export").outputs["deployment"].get("resources", [])
    assert [r["type"] for r in state] in ([], ["pulumi:pulumi:Stack"])
    assert deployed.kube.json("get", "namespaces")["items"] == namespaces


def test_a_warning_is_shown_once_before_anything_is_declared(engines_bin, tmp_path):
    """Prod with a public endpoint is allowed with a warning (components/config/rules.py). The
    warnings only eks stacks have cannot go further here: the program's first AWS resource needs
    the AWS provider, which is not built (no AWS API to call). The engine shows the warning once
    in its diagnostics, before that stop."""
    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:cluster"].update(publicEndpoint=True, publicAccessCidrs=["192.168.10.0/24"])
    (warning,) = validate(config, "prod").warnings
    project = Project(tmp_path / "project", engines_bin, Path(os.devnull), "prod")
    project.set_config(config)
    with pytest.raises(PulumiFailed) as failed:
        project.run("preview")
    diagnostics = failed.value.output.split("Diagnostics:", 1)[1]
    assert diagnostics.count(str(warning)) == 1, failed.value.output
    assert "no resource plugin 'pulumi-resource-aws' found" in diagnostics
