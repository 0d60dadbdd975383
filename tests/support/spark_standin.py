"""The Kubernetes API stand-in (tests/support/kube_standin.py) as the insightedge end-to-end
tests still use it: Spark 2.4.8 has not been run against the real control plane here (see
tests/cluster/spark/test_insightedge_e2e.py's docstring for why). The Spark 4 tests run against the
real API server (tests/support/spark_runner.py); what is here is what the real server does for them:

- :class:`Cluster`: the stand-in loaded with the team's rendered objects, RBAC from the rendered
  Roles and RoleBindings (a call a Role does not allow is answered 403, as the API server would),
  admission (API defaulting of requests from limits, the LimitRange's defaults, the ResourceQuota:
  a pod beyond it is refused 403 "exceeded quota"), and :class:`StandInKubelet`, which schedules
  onto :func:`cluster_nodes` and runs the pods as :class:`tests.support.spark_runner.Kubelet` does;
- nodes: in mode eks one node per node pool (its allocatable resources less the stack's
  DaemonSets' requests, from ``components.cluster.spark.sizing``) for executors, and a separate one
  for drivers and other pods; a pod that fits no node stays Pending (``Unschedulable``). In mode
  existing one node takes every pod;
- a fake ``kubectl`` (only the forms the printed commands use, answered from the rendered objects)
  and a kubeconfig with a token the stand-in maps to the team's member.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tests.support.kube_standin import ApiError, KubeStandIn, Request
from tests.support.spark_runner import (Kubelet, PodRun, ServicePort, StackInputs, Workspace, cpu_m, memory_mi,
                                        pod_totals)

USER_TOKEN = "user-token"
_TLS_LOCK = threading.Lock()

def tls_files(directory: Path) -> dict[str, Path]:
    """The cluster's CA (kube-root-ca.crt) and the API server's certificate, for 127.0.0.1 and
    ``kubernetes.default.svc`` (made once per ``directory``)."""
    files = {k: directory / f"{k}.pem" for k in ("ca", "ca-key", "server", "server-key")}
    with _TLS_LOCK:
        if all(f.exists() for f in files.values()):
            return files
        directory.mkdir(parents=True, exist_ok=True)
        run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kube-standin-ca",
            "-keyout", str(files["ca-key"]), "-out", str(files["ca"]))
        csr = directory / "server.csr"
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver", "-keyout", str(files["server-key"]),
            "-out", str(csr))
        ext = directory / "server.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc,DNS:kubernetes.default,"
                       "DNS:kubernetes.default.svc.cluster.local,DNS:localhost\n")
        run("x509", "-req", "-in", str(csr), "-CA", str(files["ca"]), "-CAkey", str(files["ca-key"]),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(files["server"]))
    return files



# ---------------------------------------------------------------- fake kubectl

FAKE_KUBECTL = r'''#!__PYTHON__
"""Fake kubectl: exactly the forms the stack's Spark commands use, answered from the kubeconfig and the rendered objects."""
import json, os, re, sys, yaml
args = sys.argv[1:]
context = namespace = None
rest = []
i = 0
while i < len(args):
    a = args[i]
    if a == "--context": context = args[i + 1]; i += 2; continue
    if a.startswith("--context="): context = a.split("=", 1)[1]; i += 1; continue
    if a in ("-n", "--namespace"): namespace = args[i + 1]; i += 2; continue
    rest.append(a); i += 1
with open(os.environ.get("KUBECONFIG", os.path.expanduser("~/.kube/config"))) as f:
    config = yaml.safe_load(f)
ctx_name = context or config["current-context"]
ctx = next((c["context"] for c in config["contexts"] if c["name"] == ctx_name), None)
if ctx is None:
    sys.exit(f'error: context "{ctx_name}" does not exist')
with open(os.environ["KUBEGRID_FAKE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\n")
if rest == ["config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"]:
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"])
    sys.stdout.write(cluster["server"]); sys.exit(0)
if rest == ["config", "view", "--minify", "--flatten"]:  # the context alone, its files' contents embedded
    import base64
    cluster = dict(next(c["cluster"] for c in config["clusters"] if c["name"] == ctx["cluster"]))
    with open(cluster.pop("certificate-authority"), "rb") as f:
        cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
    user = next(u for u in config["users"] if u["name"] == ctx["user"])
    yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "current-context": ctx_name, "preferences": {},
                    "clusters": [{"name": ctx["cluster"], "cluster": cluster}],
                    "contexts": [{"name": ctx_name, "context": ctx}], "users": [user]}, sys.stdout)
    sys.exit(0)
m = re.fullmatch(r'go-template=\{\{index \.data "([^"]+)"\}\}', rest[-1]) if len(rest) == 5 else None
if m and rest[:4] == ["get", "configmap", rest[2], "-o"]:
    ns = namespace or ctx.get("namespace", "default")
    with open(os.environ["KUBEGRID_FAKE_OBJECTS"]) as f:
        for doc in json.load(f):
            if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == rest[2] \
                    and doc["metadata"].get("namespace") == ns:
                sys.stdout.write(doc.get("data", {}).get(m[1], "<no value>")); sys.exit(0)
    sys.exit(f'Error from server (NotFound): configmaps "{rest[2]}" not found')
sys.exit("fake kubectl: unsupported command: " + " ".join(sys.argv[1:]))
'''



# ---------------------------------------------------------------- RBAC and admission

def role_rules_of(objects: list[dict[str, Any]], namespace: str, account: str) -> list[dict[str, Any]]:
    """The rules of every Role bound to ``account`` in ``namespace`` (rendered RoleBindings)."""
    rules = []
    for binding in objects:
        if binding["kind"] != "RoleBinding" or binding["metadata"].get("namespace") != namespace:
            continue
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == account
                   and s.get("namespace", namespace) == namespace for s in binding.get("subjects") or []):
            continue
        ref = binding["roleRef"]
        for role in objects:
            if role["kind"] == ref["kind"] == "Role" and role["metadata"]["name"] == ref["name"] \
                    and role["metadata"].get("namespace") == namespace:
                rules.extend(role["rules"])
    return rules


def allowed(rules: list[dict[str, Any]], verb: str, resource: str, group: str = "") -> bool:
    return any((group in r.get("apiGroups", []) or "*" in r.get("apiGroups", []))
               and (resource in r.get("resources", []) or "*" in r.get("resources", []))
               and (verb in r.get("verbs", []) or "*" in r.get("verbs", [])) for r in rules)


def rbac_verb(call: Request) -> str:
    return call.verb.split("/")[0]


# ---------------------------------------------------------------- the node and the kubelet

@dataclass
class Node:
    name: str
    labels: dict[str, str]
    cpu_m: float
    memory_mi: float
    gpus: int = 0
    pods: dict[str, dict[str, float]] = field(default_factory=dict)
    """Pods bound here, with their requests."""
    used: dict[str, float] = field(default_factory=lambda: {"cpu": 0.0, "memory": 0.0, "nvidia.com/gpu": 0.0})

    def fits(self, need: dict[str, float]) -> bool:
        return (self.used["cpu"] + need["cpu"] <= self.cpu_m and self.used["memory"] + need["memory"] <= self.memory_mi
                and self.used["nvidia.com/gpu"] + need["nvidia.com/gpu"] <= self.gpus)


def pod_affinity_pools(pod: dict[str, Any]) -> Optional[set[str]]:
    """The pool names the pod's node selector (Spark 2.4's placement) or required node affinity (the
    templates') admits; None: any node."""
    selected = (pod["spec"].get("nodeSelector") or {}).get("kubegrid.io/pool")
    if selected:
        return {selected}
    terms = ((((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
              .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")) or []
    pools: set[str] = set()
    for term in terms:
        for e in term.get("matchExpressions") or []:
            if e["key"] == "kubegrid.io/pool" and e["operator"] == "In":
                pools |= set(e["values"])
    return pools if terms else None


def cluster_nodes(spec: Any) -> list[Node]:
    """The emulated cluster's nodes: see the module docstring."""
    from components.cluster.scheduling import node_labels
    from components.cluster.spark.sizing import pool_sizing

    if not spec.is_eks:
        return [Node("kind-control-plane", {}, math.inf, math.inf, 0)]
    nodes = []
    for pool in spec.node_pools:
        budget = pool_sizing(spec, pool).budget
        nodes.append(Node(f"{pool.name}-node-1", node_labels(pool), budget.free_cpu_m, budget.free_memory_mi,
                          pool.shape.gpus))
    nodes.append(Node("drivers-node", {}, math.inf, math.inf, 0))
    return nodes


class StandInKubelet(Kubelet):
    """:class:`tests.support.spark_runner.Kubelet` on the stand-in: it also schedules the stand-in's new
    pods onto :class:`Node` s (the stand-in has no scheduler) and mounts a token the stand-in knows
    (the stand-in has no ServiceAccount admission)."""

    def __init__(self, api: KubeStandIn, namespace: str, root: Path, nodes: list[Node],
                 image_files: dict[str, Path], ca: Path, s3_root: Optional[Path], autorun: bool = True):
        super().__init__(api, namespace, root, image_files, s3_root, autorun)
        self.nodes, self.ca = nodes, ca

    def start(self) -> "StandInKubelet":
        self.api.subscribe(self._event)
        return self

    def _event(self, kind: str, resource: str, obj: dict) -> None:
        if resource != "pods" or not self.autorun:
            return
        name = obj["metadata"]["name"]
        with self.lock:
            self.seen.setdefault(name, obj)
            if kind == "ADDED" and name not in self.runs and name not in self.pending:
                node = self._schedule(obj)
                if node is None:
                    return
                self.start_pod(obj, node.name)
            elif kind == "DELETED":
                self.pending.pop(name, None)
                if name in self.runs:
                    self._release(name)
                    threading.Thread(target=self._kill, args=(self.runs[name],), daemon=True).start()

    def _schedule(self, pod: dict) -> Optional[Node]:
        need = pod_totals(pod, "requests")
        pools = pod_affinity_pools(pod)
        for node in self.nodes:
            pool = node.labels.get("kubegrid.io/pool")
            if (pool is None) == (pools is None) and (pools is None or pool in pools) and node.fits(need):
                for k in node.used:
                    node.used[k] += need[k]
                node.pods[pod["metadata"]["name"]] = need
                return node
        why = f"0/{len(self.nodes)} nodes are available: insufficient resources or no node of pools {sorted(pools or [])}"
        self.pending[pod["metadata"]["name"]] = why
        threading.Thread(target=self.api.update_status, daemon=True, args=(
            pod["metadata"]["namespace"], pod["metadata"]["name"],
            {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                 "reason": "Unschedulable", "message": why}]})).start()
        return None

    def _release(self, name: str) -> None:
        for node in self.nodes:
            need = node.pods.pop(name, None)
            for k, v in (need or {}).items():
                node.used[k] -= v

    def _remove(self, pod: dict) -> None:
        """The stand-in deletes a pod at once: nothing to finish."""

    def _service_account(self, pod: dict, sandbox: Path) -> Optional[Path]:
        spec, meta = pod["spec"], pod["metadata"]
        account = self.api.get("serviceaccounts", meta["namespace"], spec.get("serviceAccountName", "default")) or {}
        mount = spec.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True))
        if not mount:
            return None
        path = sandbox / "volumes" / "kube-api-access"
        path.mkdir(parents=True, exist_ok=True)
        (path / "token").write_text(f"token-of-{meta['namespace']}-{spec.get('serviceAccountName', 'default')}")
        (path / "namespace").write_text(meta["namespace"])
        shutil.copy(self.ca, path / "ca.crt")  # kube-root-ca.crt
        for f in path.iterdir():
            f.chmod(0o644)
        return path


class Cluster:
    """The cluster after `pulumi up`, for one team: the stand-in with the team's objects, RBAC,
    admission and a kubelet."""

    def __init__(self, inputs: StackInputs, team: str, root: Path, image_files: dict[str, Path], full: bool,
                 s3_keys: Optional[list[tuple[str, str]]] = None):
        self.inputs, self.team, self.root = inputs, team, root
        self.objects = [o for o in inputs.objects
                        if o["kind"] == "Namespace" or o.get("metadata", {}).get("namespace") == team]
        tls = tls_files(root.parent / "tls")
        self.ca = tls["ca"]
        self.api = KubeStandIn(tls=(str(tls["server"]), str(tls["server-key"]))).start()
        for obj in self.objects:
            self.api.load(obj)
        self.loaded = {o["metadata"]["uid"] for o in self.api.objects.values()}
        self.denied: list[Request] = []
        self.refused: list[str] = []
        self.admitted: list[dict[str, Any]] = []
        self.api.authorize = self._authorize
        self.api.admit = self._admit
        s3 = None
        team_spec = next(t for t in inputs.spec.teams if t.name == team)
        if inputs.spec.is_eks and team_spec.s3_access:
            s3 = root / "s3"
            for location in team_spec.s3_access:  # the team's buckets exist; their prefixes hold nothing yet
                (s3 / location.removeprefix("s3://").split("/")[0]).mkdir(parents=True, exist_ok=True)
            for bucket, key in s3_keys or []:  # objects that exist before the job (a key ending in / is a marker)
                if (s3 / bucket).is_dir():
                    target = s3 / bucket / key
                    if key.endswith("/"):
                        target.mkdir(parents=True, exist_ok=True)
                    else:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.touch()
            for path in [s3, *s3.rglob("*")]:
                path.chmod(0o777 if path.is_dir() else 0o666)
        self.s3_root = s3
        self.kubelet = StandInKubelet(self.api, team, root / "node", cluster_nodes(inputs.spec), image_files, self.ca, s3,
                               autorun=full)

    def subject(self, call: Request) -> str:
        token = call.authorization.removeprefix("Bearer ")
        if token == USER_TOKEN:
            return "user"
        m = re.fullmatch(r"token-of-(.+?)-(spark-.+)", token)
        return f"system:serviceaccount:{m[1]}:{m[2]}" if m else "system:anonymous"

    def _authorize(self, call: Request) -> Optional[str]:
        subject = self.subject(call)
        if subject == "user":  # the team's admins and editors: the built-in admin/edit ClusterRoles
            return None
        if subject == "system:anonymous":
            return "anonymous request"
        _, _, namespace, account = subject.split(":")
        rules = role_rules_of(self.objects, namespace, account)
        if call.namespace == namespace and allowed(rules, rbac_verb(call), call.resource or ""):
            return None
        self.denied.append(call)
        return (f'{call.resource} is forbidden: User "{subject}" cannot {rbac_verb(call)} resource '
                f'"{call.resource}" in API group "" in the namespace "{call.namespace}"')

    def _admit(self, resource: str, namespace: Optional[str], obj: dict) -> dict:
        """API defaulting, LimitRanger, ResourceQuota: for pods of the team's namespace."""
        if resource != "pods" or namespace != self.team:
            return obj
        limit_range = next(o for o in self.objects if o["kind"] == "LimitRange")
        quota = next(o for o in self.objects if o["kind"] == "ResourceQuota")
        for c in [*(obj["spec"].get("initContainers") or []), *(obj["spec"].get("containers") or [])]:
            res = c.setdefault("resources", {})
            limits, requests = res.get("limits") or {}, res.get("requests") or {}
            for key, value in limits.items():  # API defaulting: an unset request is the limit
                requests.setdefault(key, value)
            for item in limit_range["spec"]["limits"]:  # LimitRanger: defaults for what is still unset
                if item["type"] == "Container":
                    for key, value in (item.get("default") or {}).items():
                        limits.setdefault(key, value)
                    for key, value in (item.get("defaultRequest") or {}).items():
                        requests.setdefault(key, value)
            res["limits"], res["requests"] = limits, requests
        hard = quota["spec"]["hard"]
        live = [p for p in self.api.items("pods", namespace)
                if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        want = {"requests": pod_totals(obj, "requests"), "limits": pod_totals(obj, "limits")}
        used = {w: {k: sum(pod_totals(p, w)[k] for p in live) for k in want[w]} for w in want}
        checks = [("requests.cpu", "requests", "cpu", cpu_m), ("limits.cpu", "limits", "cpu", cpu_m),
                  ("requests.memory", "requests", "memory", memory_mi), ("limits.memory", "limits", "memory", memory_mi),
                  ("requests.nvidia.com/gpu", "requests", "nvidia.com/gpu", float)]
        problems = []
        for key, which, res_key, parse in checks:
            if key in hard and used[which][res_key] + want[which][res_key] > parse(hard[key]) + 1e-6:
                problems.append(f"{key}={hard[key]}, used: {used[which][res_key]:g}, "
                                f"requested: {want[which][res_key]:g}")
        if "pods" in hard and len(live) + 1 > int(hard["pods"]):
            problems.append(f"pods={hard['pods']}")
        if problems:
            message = f'pods "{obj["metadata"].get("name")}" is forbidden: exceeded quota: team-quota, ' + \
                      "; ".join(problems)
            self.refused.append(message)
            raise ApiError(403, "Forbidden", message)
        self.admitted.append(obj)
        return obj

    def stop(self) -> None:
        self.kubelet.stop()
        self.api.stop()
        (self.root / "requests.json").write_text(
            json.dumps([r.__dict__ for r in self.api.requests], indent=1, default=str))


# ---------------------------------------------------------------- one case

@dataclass
class CaseResult:
    stack: str
    team: str
    kind: str
    full: bool
    command: str
    fetch: Optional[subprocess.CompletedProcess]
    submit_code: Optional[int]
    submit_log: str
    cluster: Cluster
    workspace: Optional[Workspace]
    timings: dict[str, float]

    @property
    def api(self) -> KubeStandIn:
        return self.cluster.api

    @property
    def kubelet(self) -> Kubelet:
        return self.cluster.kubelet

    def log(self, role: str) -> str:
        return "\n".join(r.log.read_text(errors="replace") for r in self.kubelet.runs.values()
                         if r.role == role and r.log.exists())

    def created(self, resource: str) -> list[dict]:
        """What the clients created, as admitted (POST, or a server-side apply that created)."""
        return [obj for (_, key, kind, obj) in self.api.history
                if kind == "ADDED" and key[1] == resource and key[2] == self.team
                and obj["metadata"].get("uid") not in self._loaded_uids()]

    def _loaded_uids(self) -> set[str]:
        return self.cluster.loaded

    def driver_calls(self) -> set[tuple[str, str]]:
        """(verb, resource) of every call made with a driver's own token."""
        return {(rbac_verb(c), c.resource) for c in self.api.requests
                if self.cluster.subject(c).endswith(":spark-driver")}

    def pods(self, role: str) -> list[dict]:
        return [p for p in self.created("pods") if p["metadata"].get("labels", {}).get("spark-role") == role]


def submit_case(inputs: StackInputs, team: str, kind: str, base: Path, image_files: dict[str, Path],
                full: bool = True, timeout: float = 240, s3_keys: Optional[list] = None) -> CaseResult:
    """Fetch the team's files and submit its ``kind`` job with the printed commands, as printed, to
    the stand-in.

    ``full``: the kubelet runs the driver and executor pods and the submit waits for the app
    to finish. Otherwise nothing is scheduled and the submit is ended once Spark has created
    the driver pod, its Service and ConfigMaps and watches the pod (the submit's whole part).
    """
    out = inputs.spark[team]
    if kind == "insightedge":
        from tests.support.spark24 import spark24_home
        command, spark24 = out["insightedge"]["submit"], spark24_home()
    else:
        command, spark24 = out["sparkSubmitGpu" if kind == "gpu" else "sparkSubmitCpu"], None
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    cluster = Cluster(inputs, team, base, image_files, full, s3_keys)
    service_port = ServicePort(cluster.api.port) if full and kind == "insightedge" else None
    timings: dict[str, float] = {}
    try:
        context = inputs.spec.cluster.context
        kubectl = base / "fake-kubectl"
        kubectl.write_text(FAKE_KUBECTL.replace("__PYTHON__", sys.executable))
        kubectl.chmod(0o755)
        objects_file = base / "cluster-objects.json"
        objects_file.write_text(json.dumps(inputs.objects))
        ws = Workspace(base / "ws", cluster.api.url, cluster.ca, {"token": USER_TOKEN}, kubectl,
                       context=context or "kubegrid", current="elsewhere" if context else None, spark24=spark24,
                       extra_env={"KUBEGRID_FAKE_OBJECTS": str(objects_file),
                                  "KUBEGRID_FAKE_LOG": str(base / "kubectl.log")})
        t0 = time.time()
        fetch = ws.run(out["fetchFiles"])
        timings["fetch"] = time.time() - t0
        t0 = time.time()
        process = ws.start(command, base / "submit.log")
        if full:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            deadline = time.time() + timeout
            while time.time() < deadline and process.poll() is None and not any(
                    r.verb == "watch" and r.resource == "pods" for r in cluster.api.requests):
                time.sleep(0.2)
        code = process.poll()
        if code is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        timings["submit"] = time.time() - t0
        _wait_pods_end(cluster.kubelet, 30)
        for run in cluster.kubelet.runs.values():
            if run.ended:
                timings[f"pod:{run.role}:{run.name}"] = run.ended - run.started
    finally:
        cluster.stop()
        if service_port is not None:
            service_port.close()
    return CaseResult(inputs.name, team, kind, full, command, fetch, code,
                      (base / "submit.log").read_text(errors="replace"), cluster, ws, timings)


def _wait_pods_end(kubelet: Kubelet, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and any(r.process is not None and r.process.poll() is None
                                         for r in kubelet.runs.values() if r.role == "executor"):
        time.sleep(0.2)


