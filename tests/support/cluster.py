"""A real Kubernetes control plane on 127.0.0.1, for the tests and for people.

etcd and kube-apiserver with TLS (client certificates for every component), RBAC and Node
authorization, the default admission plugins with PodSecurity, LimitRanger, ResourceQuota
and ServiceAccount; kube-controller-manager and kube-scheduler; KWOK, which plays the
kubelets (nodes Ready, pods Running); nodes shaped like a stack's node pools
(tests/support/cluster_nodes.py). The binaries are the upstream programs built by
tests/support/engines.py.

    venv/bin/python -m tests.support.cluster up DIR [--stack STACK]   # prints DIR's admin kubeconfig
    venv/bin/python -m tests.support.cluster down DIR

What cannot act without kubelets or a cloud: the controller manager's cloud controllers
(service load balancers, routes: no cloud provider) and the node IPAM controller (node
CIDRs off); KWOK gives pods their addresses. Containers do not run: a pod is Running when
KWOK says so; tests that need a process run it themselves (tests/support/spark_runner.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from . import engines
from .stacks import STACK_NAMES, stack_spec
from .cluster_nodes import stack_nodes
from .cluster_pki import API_SERVER_NAMES, SERVICE_CIDR, SERVICE_IP, Authority, Pair, service_account_keys

STATE_FILE = "control-plane.json"
READY_TIMEOUT = 60.0
ADMISSION_PLUGINS = ("NamespaceLifecycle", "LimitRanger", "ServiceAccount", "DefaultStorageClass",
                     "DefaultTolerationSeconds", "PodSecurity", "Priority", "RuntimeClass",
                     "PersistentVolumeClaimResize", "StorageObjectInUseProtection", "TaintNodesByCondition",
                     "NodeRestriction", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook",
                     "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota")
"""kube-apiserver's default plugins (1.34), named so that a change of defaults cannot drop one."""
AUDIT_POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                "rules": [{"level": "Metadata"}]}
"""Every request at Metadata level: who did what, and the response code (a 403 shows)."""


class ClusterError(Exception):
    """The control plane could not start, or a command against it failed."""


class ApiRefused(ClusterError):
    """The API server refused an object."""

    def __init__(self, obj: dict[str, Any], message: str):
        meta = obj.get("metadata") or {}
        where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
        super().__init__(f"{obj.get('kind')} {where}{meta.get('name')}: refused by the API server: {message.strip()}")
        self.obj = obj
        self.message = message


KWOK_STAGES = ("node/fast", "node/heartbeat-with-lease", "pod/fast")
"""KWOK's own stage sets (kustomize/stage/ of its module), those `kwokctl` runs by default:
nodes Ready at once with a lease heartbeat; pods Running at once, Jobs' pods Succeeded,
deleted pods gone."""


def write_kwok_stages(path: Path) -> Path:
    root = engines.source("kwok") / "kustomize" / "stage"
    documents = []
    for stage_set in KWOK_STAGES:
        for name in yaml.safe_load((root / stage_set / "kustomization.yaml").read_text())["resources"]:
            documents.append((root / stage_set / name).read_text().strip())
    path.write_text("\n---\n".join(documents) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kubeconfig(path: Path, server: str, ca: Path, user: Pair, name: str = "kubegrid-test") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": name,
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": name, "user": {"client-certificate": str(user.cert), "client-key": str(user.key)}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}]}))
    path.chmod(0o600)
    return path


@dataclass
class Kube:
    """kubectl against one control plane, as its admin unless told otherwise."""

    kubectl_path: Path
    config: Path

    def run(self, *args: str, input: str | None = None, check: bool = True,
            as_user: str | None = None, as_groups: Sequence[str] = ()) -> subprocess.CompletedProcess:
        command = [str(self.kubectl_path), f"--kubeconfig={self.config}", *args]
        if as_user:
            command.append(f"--as={as_user}")
        command += [f"--as-group={g}" for g in as_groups]
        result = subprocess.run(command, input=input, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
        return result

    def json(self, *args: str, **kwargs) -> Any:
        return json.loads(self.run(*args, "-o", "json", **kwargs).stdout)

    def apply(self, objects: Iterable[dict[str, Any]], manager: str = "kubegrid") -> None:
        """Server-side apply of ``objects`` in order, in one call; when any is refused, again
        one at a time, so that the refusal names its object (ApiRefused)."""
        objects = list(objects)
        listed = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        if self.run("apply", "--server-side", f"--field-manager={manager}", "--force-conflicts",
                    "-f", "-", input=listed, check=False).returncode == 0:
            return
        for obj in objects:
            result = self.run("apply", "--server-side", f"--field-manager={manager}", "--force-conflicts",
                              "-f", "-", input=json.dumps(obj), check=False)
            if result.returncode != 0:
                raise ApiRefused(obj, result.stderr or result.stdout)

    def create(self, obj: dict[str, Any], **kwargs) -> subprocess.CompletedProcess:
        return self.run("create", "-f", "-", "-o", "json", input=json.dumps(obj), check=False, **kwargs)

    def wait_for(self, what: str, condition, timeout: float = 60.0, interval: float = 0.5) -> Any:
        """Polls ``condition()`` until it returns something true; ClusterError naming ``what`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(interval)


class ControlPlane:
    """The processes of one control plane, their files in ``directory``."""

    def __init__(self, directory: Path, bin_dir: Path, own_pods: str | None = None):
        """``own_pods``: a label selector of pods whose status KWOK leaves alone, because the
        test runs their containers itself and reports their status (tests/support/spark_runner.py)."""
        self.own_pods = own_pods
        self.directory = directory.resolve()
        self.bin = bin_dir
        self.pki = self.directory / "pki"
        self.logs = self.directory / "logs"
        self.processes: dict[str, subprocess.Popen] = {}
        self.ports: dict[str, int] = {}
        self.admin_config = self.directory / "admin.kubeconfig"
        self.audit_log = self.logs / "audit.log"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def kube(self) -> Kube:
        return Kube(self.bin / "kubectl", self.admin_config)

    def _start(self, name: str, args: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "w")
        # a session of its own: `down` and a test's teardown stop the whole group, never the caller
        self.processes[name] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True, cwd=self.directory)
        log.close()

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise ClusterError(f"{name} exited with {process.returncode}; its log ends:\n{tail}")

    def start(self) -> None:
        for d in (self.pki, self.logs, self.directory / "etcd"):
            d.mkdir(parents=True, exist_ok=True)
        ca = Authority(self.pki)
        self.ports = {name: free_port() for name in ("etcd", "etcd-peer", "apiserver")}
        etcd_server = ca.issue("etcd", "etcd", server=True, ips=("127.0.0.1",), dns=("localhost",))
        etcd_client = ca.issue("apiserver-etcd-client", "kube-apiserver-etcd-client")
        serving = ca.issue("apiserver", "kube-apiserver", server=True, client=False,
                           dns=API_SERVER_NAMES, ips=("127.0.0.1", SERVICE_IP))
        kubelet_client = ca.issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters")
        sa = service_account_keys(self.pki)
        users = {"admin": ca.issue("admin", "kubegrid-admin", "system:masters"),
                 "controller-manager": ca.issue("controller-manager", "system:kube-controller-manager"),
                 "scheduler": ca.issue("scheduler", "system:kube-scheduler"),
                 "kwok": ca.issue("kwok", "kwok", "system:masters")}
        (self.directory / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY))

        etcd_url = f"https://127.0.0.1:{self.ports['etcd']}"
        peer_url = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        self._start("etcd", [
            str(self.bin / "etcd"), "--name=kubegrid", f"--data-dir={self.directory / 'etcd'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=kubegrid={peer_url}", "--listen-metrics-urls=",
            f"--cert-file={etcd_server.cert}", f"--key-file={etcd_server.key}",
            f"--trusted-ca-file={ca.pair.cert}", "--client-cert-auth",
            "--unsafe-no-fsync",  # a throwaway store: durability buys nothing here
            "--log-level=warn"])
        self._start("kube-apiserver", [
            str(self.bin / "kube-apiserver"), f"--etcd-servers={etcd_url}",
            f"--etcd-cafile={ca.pair.cert}", f"--etcd-certfile={etcd_client.cert}", f"--etcd-keyfile={etcd_client.key}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.ports['apiserver']}",
            f"--cert-dir={self.pki}", f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={ca.pair.cert}",
            f"--kubelet-client-certificate={kubelet_client.cert}", f"--kubelet-client-key={kubelet_client.key}",
            f"--service-account-key-file={sa.cert}", f"--service-account-signing-key-file={sa.key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC", f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
            "--allow-privileged=true",  # as EKS and kind: Pod Security admission decides per namespace
            f"--audit-policy-file={self.directory / 'audit-policy.yaml'}", f"--audit-log-path={self.audit_log}",
            "--audit-log-mode=blocking", "--v=0"])
        for name, user in users.items():
            kubeconfig(self.directory / f"{name}.kubeconfig", self.server, ca.pair.cert, user)
        self._wait_healthy()
        self._start("kube-controller-manager", [
            str(self.bin / "kube-controller-manager"), f"--kubeconfig={self.directory / 'controller-manager.kubeconfig'}",
            f"--authentication-kubeconfig={self.directory / 'controller-manager.kubeconfig'}",
            f"--authorization-kubeconfig={self.directory / 'controller-manager.kubeconfig'}",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}",
            "--leader-elect=false", "--use-service-account-credentials=true", "--controllers=*",
            f"--service-account-private-key-file={sa.key}", f"--root-ca-file={ca.pair.cert}",
            f"--cluster-signing-cert-file={ca.pair.cert}", f"--cluster-signing-key-file={ca.pair.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allocate-node-cidrs=false",
            "--concurrent-statefulset-syncs=10", "--v=0"])
        self._start("kube-scheduler", [
            str(self.bin / "kube-scheduler"), f"--kubeconfig={self.directory / 'scheduler.kubeconfig'}",
            f"--authentication-kubeconfig={self.directory / 'scheduler.kubeconfig'}",
            f"--authorization-kubeconfig={self.directory / 'scheduler.kubeconfig'}",
            "--bind-address=127.0.0.1", f"--secure-port={free_port()}", "--leader-elect=false", "--v=0"])
        self._start("kwok", [
            str(self.bin / "kwok"), f"--kubeconfig={self.directory / 'kwok.kubeconfig'}",
            f"--config={write_kwok_stages(self.directory / 'kwok-stages.yaml')}",
            "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--cidr=10.244.0.0/16", "--node-ip=10.244.0.1", "--node-lease-duration-seconds=40",
            f"--server-address=127.0.0.1:{free_port()}",
            *([f"--disregard-status-with-label-selector={self.own_pods}"] if self.own_pods else [])])
        self._write_state()
        kube = self.kube()
        kube.wait_for("the default service account's token controller and namespace",
                      lambda: kube.run("get", "serviceaccount", "default", "-n", "default", check=False).returncode == 0)

    def _wait_healthy(self) -> None:
        kube = self.kube()
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            self._check_alive()
            if kube.run("get", "--raw", "/readyz", check=False).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"kube-apiserver not ready after {READY_TIMEOUT:.0f} s; see {self.logs}")
            time.sleep(0.3)

    def _write_state(self) -> None:
        (self.directory / STATE_FILE).write_text(json.dumps({
            "server": self.server, "kubeconfig": str(self.admin_config), "bin": str(self.bin),
            "pids": {name: p.pid for name, p in self.processes.items()}}, indent=2))

    def add_nodes(self, nodes: list[dict[str, Any]], timeout: float = 60.0) -> None:
        """Creates ``nodes`` and waits until KWOK reports every one Ready."""
        kube = self.kube()
        for node in nodes:
            result = kube.create(node)
            if result.returncode != 0:
                raise ApiRefused(node, result.stderr)
        names = {n["metadata"]["name"] for n in nodes}

        def ready() -> bool:
            self._check_alive()
            items = kube.json("get", "nodes")["items"]
            up = {n["metadata"]["name"] for n in items if schedulable(n)}
            return names <= up
        kube.wait_for(f"nodes {sorted(names)} to be Ready and untainted by the node lifecycle controller", ready, timeout)

    def stop(self) -> None:
        stop_processes({name: p.pid for name, p in self.processes.items()}, self.directory)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.processes.clear()


NOT_READY_TAINTS = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")


def schedulable(node: dict[str, Any]) -> bool:
    """Ready, and the node lifecycle controller has lifted the taints a new node starts with
    (for a moment a node is Ready and still tainted not-ready: pods would go elsewhere)."""
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions", []))
    return ready and not any(t["key"] in NOT_READY_TAINTS for t in node["spec"].get("taints") or [])


def stop_processes(pids: dict[str, int], directory: Path) -> list[str]:
    """Stops the process groups of ``pids`` that still run this control plane's programs
    (a pid reused by another program is left alone); the names stopped, dependents first."""
    stopped = []
    for name in ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
        pid = pids.get(name)
        if pid is None or not _ours(pid, directory):
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        stopped.append(name)
    return stopped


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()


def _ours(pid: int, directory: Path) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return str(directory) in command


def up(directory: Path, stack: str) -> ControlPlane:
    """Starts a control plane in ``directory`` with nodes shaped like ``stack``'s pools."""
    spec = stack_spec(stack)  # a bad stack name fails before anything starts
    plane = ControlPlane(directory, engines.bin_dir())
    try:
        plane.start()
        plane.add_nodes(stack_nodes(spec))
    except BaseException:
        plane.stop()
        raise
    return plane


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.cluster",
                                     description="A real Kubernetes control plane on 127.0.0.1, with KWOK nodes.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="start it; prints the admin kubeconfig's path")
    start.add_argument("directory", type=Path)
    start.add_argument("--stack", default="local", choices=STACK_NAMES, help="nodes shaped like this stack's node pools (default: local)")
    stop = commands.add_parser("down", help="stop what `up` started in DIR")
    stop.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    directory = args.directory.resolve()
    if args.command == "up":
        if (directory / STATE_FILE).exists():
            print(f"cluster: {directory} already holds a control plane; run `down {args.directory}` first",
                  file=sys.stderr)
            return 2
        if directory.exists() and any(directory.iterdir()):
            print(f"cluster: {directory} is not empty; give a new or empty directory", file=sys.stderr)
            return 2
        try:
            plane = up(directory, args.stack)
        except (ClusterError, engines.EngineError) as error:
            print(f"cluster: {error}", file=sys.stderr)
            return 1
        plane.processes.clear()  # they outlive this command, until `down`
        print(plane.admin_config)
        return 0
    state = directory / STATE_FILE
    if not state.is_file():
        print(f"cluster: no control plane in {directory} (no {STATE_FILE})", file=sys.stderr)
        return 2
    stopped = stop_processes(json.loads(state.read_text())["pids"], directory)
    state.unlink()
    print(f"cluster: stopped {', '.join(stopped) or 'nothing (no process was running)'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
