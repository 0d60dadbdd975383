"""The documented commands: `python -m tests.support.cluster up DIR` and `down DIR`, and the
engines' pins."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from tests.support import engines
from tests.support.cluster import STATE_FILE
from tests.support.cluster_nodes import KIND_NODE
from tests.support.stacks import STACK_NAMES, stack_spec

ROOT = Path(__file__).resolve().parents[2]


def _cluster(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.support.cluster", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def test_up_prints_a_working_kubeconfig_and_down_stops_everything(engines_bin, tmp_path):
    directory = tmp_path / "plane"
    started = _cluster("up", str(directory), "--stack", "local")
    assert started.returncode == 0, started.stderr
    config = Path(started.stdout.strip())
    pids = json.loads((directory / STATE_FILE).read_text())["pids"]
    try:
        assert config == directory / "admin.kubeconfig"
        nodes = json.loads(subprocess.run([str(engines_bin / "kubectl"), f"--kubeconfig={config}", "get", "nodes",
                                           "-o", "json"], capture_output=True, text=True, check=True).stdout)
        assert [n["metadata"]["name"] for n in nodes["items"]] == [KIND_NODE]
        version = subprocess.run([str(engines_bin / "kubectl"), f"--kubeconfig={config}", "version", "-o", "json"],
                                 capture_output=True, text=True, check=True).stdout
        assert json.loads(version)["serverVersion"]["gitVersion"] == engines.parse_go_mod(engines.ENGINES / "kubernetes").version

        again = _cluster("up", str(directory))
        assert again.returncode == 2 and "already holds a control plane" in again.stderr
    finally:
        stopped = _cluster("down", str(directory))
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped kwok, kube-scheduler, kube-controller-manager, kube-apiserver, etcd" in stopped.stderr
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists() or "State:\tZ" in Path(f"/proc/{pid}/status").read_text()
    assert _cluster("down", str(directory)).returncode == 2


def test_up_refuses_what_it_cannot_use(tmp_path):
    (tmp_path / "someone-elses-file").write_text("kept")
    refused = _cluster("up", str(tmp_path))
    assert refused.returncode == 2 and "is not empty" in refused.stderr
    assert (tmp_path / "someone-elses-file").read_text() == "kept"
    unknown = _cluster("up", str(tmp_path / "new"), "--stack", "nope")
    assert unknown.returncode == 2 and "invalid choice: 'nope'" in unknown.stderr


def test_the_kubernetes_pins_agree():
    """One Kubernetes patch release: the staging modules' v0.x releases are that patch, and
    it is the minor version every stack runs."""
    tool = engines.parse_go_mod(engines.ENGINES / "kubernetes")
    major, minor, patch = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", tool.version).groups()
    replaced = re.findall(r"^\s*(k8s\.io/\S+) => (\S+) (\S+)$", (tool.directory / "go.mod").read_text(), re.M)
    assert replaced and {(old == new, version) for old, new, version in replaced} == {(True, f"v0.{minor}.{patch}")}
    assert {stack_spec(name).cluster.kubernetes_version for name in STACK_NAMES} == {f"{major}.{minor}"}


def test_the_pulumi_pins_agree():
    """The engine is the Python SDK's release and the provider the Kubernetes SDK's (the engine
    refuses a language SDK newer than itself; a provider of another version than the SDK
    requests is not the one the SDK's types were generated from)."""
    cli, provider = (engines.parse_go_mod(engines.ENGINES / name) for name in ("pulumi", "pulumi-kubernetes"))
    requirements = dict(cli.requirements)
    assert requirements["github.com/pulumi/pulumi/sdk/v3"] == cli.version == f"v{version('pulumi')}"
    assert provider.release == f"v{version('pulumi-kubernetes')}"
    assert provider.version.startswith("v4.0.0-")  # served at the release's commit only


def test_every_engine_module_names_its_programs():
    built = {tool.name: tool.binaries() for tool in engines.tools()}
    assert built == {"etcd": ["etcd"], "helm": ["helm"], "kwok": ["kwok"],
                     "kubernetes": ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"],
                     "pulumi": ["pulumi"], "pulumi-kubernetes": ["pulumi-resource-kubernetes"]}
    assert os.path.commonpath([engines.cache_root(), ROOT]) != str(ROOT)  # the cache is outside the checkout
