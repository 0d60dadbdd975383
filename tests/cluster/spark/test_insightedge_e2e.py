"""The insightedge jobs' printed commands, run for real: Spark 2.4's spark-submit (2.4.8, the newest
of the insightedge image's 2.4 line; tests/support/spark24.py) as ``insightedge-submit``, against the
same real Kubernetes 1.34 control plane as the Spark 4 runs (test_spark_e2e.py; tests/support/
cluster.py: the API server with RBAC, Pod Security, LimitRanger and ResourceQuota admission and an
audit log; the scheduler; KWOK nodes shaped like the stack's pools; one plane per stack), submitted
with a client certificate of the group the stack's ``team-edit`` RoleBinding names; the driver and
the executors it creates run as the insightedge image's containers would (tests/support/
spark_runner.py's kubelet: Spark 2.4's entrypoint, the image's user gs_user, its GS_HOME owned by
that user, the pod's projected service account token). The driver dials the in-cluster API as Spark
2.4 does, ``https://kubernetes.default.svc`` on 443: spark_runner's ServicePort forwards that port
to the API server, whose serving certificate names kubernetes.default.svc.

What is checked is what the server made of what Spark 2.4 sent: the driver pod, its Service and
ConfigMap, the executor pods, as admitted (Pod Security enforcing baseline and auditing restricted,
from the audit events' annotations; no LimitRange default applied; the quota), the nodes the
scheduler bound them to (the team's pool), and in the audit log every call of the submitting user
and of the driver's service account with its code (no 403; the driver's calls within its Role);
then that the connector's settings reach the driver and the tasks, where the lookup locator the
connector derives resolves. The example jar is a stand-in of GigaSpaces' SaveRdd
(tests/cluster/spark/image/): the image's InsightEdge jars are not public, so nothing is written to
a space; the image's Java 8 is the host's JDK 17.

Spark 2.4.8's client (fabric8 kubernetes-client 4.6.1, okhttp 3.12.0, on JDK 17) talks to
kube-apiserver 1.34 as it is, its pod watches (WebSocket) included, from the submitting machine and
from the driver pod: none of the SPARK-28921 / SPARK-31786 remedies (``HTTP2_DISABLE``,
``-Dhttp2.disable=true``) is set or needed. What the real server showed: fabric8 4.6.1 cannot
read an EC client key without BouncyCastle, which Spark 2.4 does not ship ("JcaPEMKeyConverter is
provided by BouncyCastle, an optional dependency. To use support for EC Keys you must explicitly
add this dependency to classpath."), so these submits use an RSA key, as kind's and kubeadm's
kubeconfigs hold (docs/spark.md).

Also checked against Spark 2.4.8's own jars: every key of ``insightedge-defaults.conf`` is one
Spark 2.4 reads (a key it does not know would be ignored without a word).
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from functools import lru_cache

import pytest
import yaml

from components.cluster.grid import NAMES, PORTS, insightedge_image, service_host
from components.cluster.scheduling import POOL_LABEL
from components.cluster.spark.insightedge import INSIGHTEDGE_DEFAULTS, INSIGHTEDGE_USER
from components.cluster.spark.submit import spark_outputs
from tests.support import live, spark_runner as sr
from tests.support.objects import named
from tests.support.spark import command_conf, parse_properties
from tests.support.spark24 import spark24_home
from tests.support.spark_network import denied_connections
from tests.support.stacks import STACK_NAMES, config_of, stack_spec

MISSING = sr.missing_prerequisites() or (
    None if spark24_home() else "Spark 2.4 is not unpacked (python -m tests.support.spark24)")
needs_spark24 = pytest.mark.skipif(MISSING is not None, reason=f"insightedge end-to-end runs: {MISSING}")

DEFAULT_TOLERATIONS = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
"""The only tolerations a pod Spark 2.4 creates has: the API server's DefaultTolerationSeconds admission adds them."""

CONNECTOR_KEYS = {"spark.insightedge.space.name", "spark.insightedge.space.manager"}
"""The keys the 16.x connector reads (InsightEdge/insightedge InsightEdgeConfig.scala), not Spark's."""


def java_properties(text: str) -> dict[str, str]:
    """A Java properties file as Spark 2.4 writes the driver's (``key=value``, ``\\`` escapes)."""
    pairs = (line.partition("=") for line in text.splitlines() if line and not line.startswith("#"))
    return {re.sub(r"\\(.)", r"\1", k): re.sub(r"\\(.)", r"\1", v) for k, _, v in pairs}


def _cases() -> list:
    return [pytest.param(stack, team, id=f"{stack}-{team}") for stack in STACK_NAMES
            for team, entry in spark_outputs(stack_spec(stack)).items() if "insightedge" in entry]


inputs_of = sr.stack_inputs_of


def test_some_stack_runs_insightedge_jobs_in_each_mode():
    """local (mode existing) and dev (mode eks, a spot pool next to a tainted GPU pool) carry them."""
    cases = {c.values[0] for c in _cases()}
    assert {"local", "dev"} <= cases
    assert {stack_spec(s).is_eks for s in cases} == {True, False}


@pytest.fixture(scope="module")
def image_jars(tmp_path_factory):
    return sr.build_image_jars(tmp_path_factory.mktemp("insightedge-image"), ("insightedge-examples",))


@pytest.fixture(scope="module")
def planes(tmp_path_factory):
    """A control plane with the stack applied, one at a time (the cases come grouped by stack)."""
    planes = sr.Planes(tmp_path_factory, live.require_engines())
    yield planes
    planes.close()


@needs_spark24
def test_with_a_context_the_printed_command_submits_to_that_cluster(planes, tmp_path):
    """Spark 2.4 has no spark.kubernetes.context: the printed command writes the context's kubeconfig
    (kubectl --flatten embeds the CA) and points KUBECONFIG at it, so the submit reaches the stack's
    cluster even when the current context is another one (one that answers nothing here)."""
    config = config_of("local")
    config["kubegrid:cluster"]["context"] = "kind-kubegrid"
    inputs = sr.stack_inputs("local", config)
    command = inputs.spark["analytics"]["insightedge"]["submit"]
    assert command.startswith("(umask 077 && kubectl --context kind-kubegrid config view --minify --flatten")
    result = sr.submit_case(planes("local"), inputs, "analytics", "insightedge", tmp_path / "case", {}, full=False,
                            timeout=120)
    assert result.fetch.returncode == 0, result.fetch.stderr
    assert len(result.pods("driver")) == 1, result.submit_log[-3000:]
    # the context's credentials (the team member's certificate) created the driver pod, not the current
    # context's token (its server, 127.0.0.1:1, answers nothing)
    (driver,) = result.pods("driver")
    assert [e["user"]["username"] for e in result.audit() if sr.audit_call(e) == ("create", "pods")
            and e["objectRef"]["name"] == driver["metadata"]["name"]] == [result.cluster.user]
    written = result.workspace.cwd / "kubegrid-analytics" / "kubeconfig"
    assert written.stat().st_mode & 0o077 == 0  # owner-only: it holds the credentials
    kubeconfig = yaml.safe_load(written.read_text())
    assert kubeconfig["current-context"] == "kind-kubegrid"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == result.cluster.plane.server


def check_admitted(result: sr.CaseResult, ns: dict[str, str]) -> None:
    """Every pod the case created (the driver, and the executors the driver created) was admitted (201)
    by the server's Pod Security enforcing baseline, and the restricted audit level recorded its
    violations: the server annotates the audit event with both."""
    for found in result.pod_admissions(ns["pod-security.kubernetes.io/enforce"]):
        # Spark 2.4 sets no security context
        assert "allowPrivilegeEscalation != false" in found.get("pod-security.kubernetes.io/audit-violations", ""), found


def check_rbac(result: sr.CaseResult, role: dict) -> set[tuple[str, str]]:
    """Nothing anyone asked was refused (the audit log's codes); the driver's calls are within its
    Role and, like the user's, in the team's namespace."""
    return result.rbac_checked(role)


@needs_spark24
@pytest.mark.parametrize("stack,team", _cases())
def test_the_printed_insightedge_submit_runs_in_the_team_namespace(stack, team, image_jars, planes, tmp_path):
    inputs = inputs_of(stack)
    spec = inputs.spec
    out = inputs.spark[team]["insightedge"]
    data = named(inputs.objects, "ConfigMap", team, "kubegrid-spark")["data"]
    started = time.time()
    result = sr.submit_case(planes(stack), inputs, team, "insightedge", tmp_path / "case", image_jars, full=True,
                            timeout=240)
    print(json.dumps({"case": f"{stack}-{team}-insightedge", "wall": round(time.time() - started, 1),
                      **{k: round(v, 1) for k, v in result.timings.items()},
                      "nodes": {n: (p.get("spec") or {}).get("nodeName") for n, p in result.kubelet.latest.items()},
                      "pending": result.kubelet.pending}))

    # fetchFiles, as printed, wrote the insightedge defaults next to the others
    assert result.fetch.returncode == 0, result.fetch.stderr
    assert (result.workspace.cwd / f"kubegrid-{team}" / INSIGHTEDGE_DEFAULTS).read_text() == data[INSIGHTEDGE_DEFAULTS]
    conf = command_conf(out["submit"], data[INSIGHTEDGE_DEFAULTS])

    # the submit (the team member's certificate) created the driver pod, its Service and ConfigMap, and the job
    # ran to its end: the driver made the products in its executors' tasks; the server refused nothing
    assert len(result.pods("driver")) == 1, result.submit_log[-3000:]
    assert {sr.audit_call(e) for e in result.audit(result.cluster.user) if e["verb"] == "create"} == {
        ("create", "pods"), ("create", "services"), ("create", "configmaps")}
    role = named(inputs.objects, "Role", team, "spark-driver")
    check_rbac(result, role)
    driver_log = result.log("driver")
    assert result.submit_code == 0 and "phase: Succeeded" in result.submit_log, \
        (result.submit_log[-3000:], driver_log[-5000:])
    assert "Saved 100000 products to space kubegrid-space" in driver_log, driver_log[-5000:]
    assert not result.kubelet.errors, result.kubelet.errors
    (driver,) = result.pods("driver")
    pod = driver["spec"]
    (main,) = pod["containers"]

    # Pod Security: Spark 2.4 sets no security context, so the pod passes baseline and not restricted,
    # which is why this namespace enforces baseline (and still audits and warns at restricted): the server
    # admitted it at baseline and its audit level names the violations
    ns = result.cluster.api.get("namespaces", None, team)["metadata"]["labels"]
    assert ns == {**ns, **named(inputs.objects, "Namespace", None, team)["metadata"]["labels"]}
    assert ns["pod-security.kubernetes.io/enforce"] == "baseline"
    assert ns["pod-security.kubernetes.io/warn"] == ns["pod-security.kubernetes.io/audit"] == "restricted"
    check_admitted(result, ns)
    assert "securityContext" not in main and not any(
        k in (pod.get("securityContext") or {}) for k in ("runAsNonRoot", "runAsUser", "seccompProfile"))

    # the image, account and user the stack names; the server's ServiceAccount admission mounted the token
    assert main["image"] == out["image"] == insightedge_image(spec) == conf["spark.kubernetes.container.image"]
    assert pod["serviceAccountName"] == "spark-driver"
    assert any(v["name"].startswith("kube-api-access-") for v in pod["volumes"])
    env = {e["name"]: e.get("value") for e in main.get("env") or []}
    assert env["SPARK_USER"] == INSIGHTEDGE_USER
    assert env["GS_LOOKUP_LOCATORS"] == conf["spark.kubernetes.driverEnv.GS_LOOKUP_LOCATORS"]

    # placed on the team's one untainted pool (no tolerations: Spark 2.4 cannot set them): the scheduler
    # bound it to a node of that pool
    node = result.node_of(driver["metadata"]["name"])
    assert node, result.kubelet.pending
    if spec.is_eks:
        assert pod["nodeSelector"] == {POOL_LABEL: out["pool"]}
        assert out["pool"] in {p.name for p in spec.open_cpu_pools(next(t for t in spec.teams if t.name == team))}
        assert node["metadata"]["labels"][POOL_LABEL] == out["pool"], node["metadata"]["labels"]
    else:
        assert not pod.get("nodeSelector") and out["pool"] is None
    assert {t["key"] for t in pod.get("tolerations") or []} <= DEFAULT_TOLERATIONS, pod["tolerations"]

    # requests and limits from the conf, so the LimitRange's defaults never apply (LimitRanger annotates a pod it
    # defaults); the quota admitted it
    assert "kubernetes.io/limit-ranger" not in (driver["metadata"].get("annotations") or {})
    for which in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(main["resources"][which])
    limits = main["resources"]["limits"]
    assert sr.cpu_m(limits["cpu"]) == sr.cpu_m(conf["spark.kubernetes.driver.limit.cores"])
    assert sr.memory_mi(limits["memory"]) == \
        sr.memory_mi(conf["spark.driver.memory"]) + sr.memory_mi(conf["spark.driver.memoryOverhead"])

    # Spark's own spark-role (which the NetworkPolicies select) and the kubegrid labels (the runtime label keeps
    # the driver out of the Spark PodMonitor: Spark 2.4's UI has no Prometheus endpoint)
    labels = driver["metadata"]["labels"]
    assert labels["spark-role"] == "driver" and labels["kubegrid.io/team"] == team
    assert labels["app.kubernetes.io/component"] == "spark-driver"
    assert labels["kubegrid.io/spark-runtime"] == "insightedge"

    # the connector's settings reach the driver (Spark 2.4 hands it its conf in the ConfigMap it created)
    (conf_map,) = result.created("configmaps")
    driver_conf = java_properties(conf_map["data"]["spark.properties"])
    assert driver_conf["spark.insightedge.space.manager"] == NAMES.manager
    assert driver_conf["spark.insightedge.space.name"] == conf["spark.insightedge.space.name"]

    # the lookup locator the connector derives from the manager name is a Service of the team namespace: the
    # emulated DNS answers it in the driver and in the tasks (every Service name of the namespace, without
    # following an ExternalName); the objects show it names the grid's Service, which has the lookup port
    locator = f"{driver_conf['spark.insightedge.space.manager']}-insightedge-manager-hs"
    assert f"Lookup locator {locator} resolves in the driver to 127.0.0.1" in driver_log
    assert f"Lookup locator in the tasks: {locator} -> 127.0.0.1" in driver_log
    alias = named(inputs.objects, "Service", team, locator)
    assert alias["spec"] == {"type": "ExternalName",
                             "externalName": service_host(NAMES.spark_locator_service, spec.grid.namespace)}
    target = named(inputs.objects, "Service", spec.grid.namespace, NAMES.spark_locator_service)
    assert target["spec"]["clusterIP"] == "None"
    assert PORTS.lookup in {p["port"] for p in target["spec"]["ports"]}

    # no event logs: gs_user (no fsGroup) could not share the Spark 4 pods' spark-events volume
    assert "spark.eventLog.enabled" not in conf and "spark-events" not in {v["name"] for v in pod["volumes"]}

    check_executors(result, inputs, conf, driver)


def check_executors(result: sr.CaseResult, inputs: sr.StackInputs, conf: dict[str, str], driver: dict) -> None:
    """The executors Spark 2.4's driver created (its account's calls, as the audit log shows): as many as the
    command asks, admitted at baseline only (:func:`check_admitted`), bound by the scheduler to nodes of the driver's pool, sized by the
    conf; the driver's calls within its Role; every connection of the job allowed."""
    team = result.team
    executors = result.pods("executor")
    assert len(executors) == int(conf["spark.executor.instances"])
    creators = {e["user"]["username"] for e in result.audit() if sr.audit_call(e) == ("create", "pods")
                and e["objectRef"].get("namespace") == team}
    assert creators == {result.cluster.user, result.account("spark-driver")}, creators
    for pod in executors:
        (c,) = pod["spec"]["containers"]
        assert pod["spec"].get("nodeSelector") == driver["spec"].get("nodeSelector")
        # Spark 2.4.8 gives executors the driver's account (its ExecutorKubernetesCredentialsFeatureStep, which
        # 2.4.4's jar lacks: there they run as the namespace's default account, bound to nothing)
        assert pod["spec"]["serviceAccountName"] == driver["spec"]["serviceAccountName"] == "spark-driver"
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == "spark-executor"
        assert "kubernetes.io/limit-ranger" not in (pod["metadata"].get("annotations") or {})
        assert c["image"] == conf["spark.kubernetes.container.image"]
        assert sr.cpu_m(c["resources"]["requests"]["cpu"]) == sr.cpu_m(conf["spark.kubernetes.executor.request.cores"])
        assert sr.cpu_m(c["resources"]["limits"]["cpu"]) == sr.cpu_m(conf["spark.kubernetes.executor.limit.cores"])
        assert sr.memory_mi(c["resources"]["limits"]["memory"]) == \
            sr.memory_mi(conf["spark.executor.memory"]) + sr.memory_mi(conf["spark.executor.memoryOverhead"])
        env = {e["name"]: e.get("value") for e in c.get("env") or []}
        assert env["SPARK_USER"] == INSIGHTEDGE_USER
    runs = [r for r in result.kubelet.runs.values() if r.role == "executor"]
    assert runs and all(r.exit_code is not None for r in runs)
    # the scheduler bound every executor that ran to a node of the driver's pool (mode eks); one it left
    # Pending was for want of room
    assert {r.name for r in runs} | set(result.kubelet.pending) == {p["metadata"]["name"] for p in executors}
    for run in runs:
        labels = result.node(run.node)["metadata"]["labels"]
        for key, value in (driver["spec"].get("nodeSelector") or {}).items():
            assert labels.get(key) == value, (run.name, run.node)
    for name, message in result.kubelet.pending.items():
        assert re.search(r"Insufficient (cpu|memory)", message), (name, message)
    if result.kubelet.pending:  # docs/gigaspaces.md: the driver and one executor fill a node of the pool
        assert result.node_of(driver["metadata"]["name"])["metadata"]["name"] in {r.node for r in runs}
    # the driver's calls, with its own token, are within the Role the stack gives it
    role = named(inputs.objects, "Role", team, "spark-driver")
    driver_calls, granted = result.driver_calls(), sr.granted(role)
    assert {("create", "pods"), ("watch", "pods")} <= driver_calls <= granted, driver_calls - granted
    assert not [p for p in result.cluster.left if p["metadata"]["labels"]["spark-role"] == "executor"]  # deleted
    # every connection the job makes is allowed by the team's and the grid's NetworkPolicies
    ports = sr.driver_ports(result.log("driver"))
    assert ports
    assert not denied_connections(inputs, team, [driver], executors, ports, s3=False)


# ---------------------------------------------------------------- keys Spark 2.4 reads

COMPOSED_KEYS = {"spark.kubernetes.authenticate.driver.serviceAccountName":
                 ("spark.kubernetes.authenticate.driver", ".serviceAccountName")}
"""Keys Spark 2.4's Config.scala builds from two constants (``s"$PREFIX.serviceAccountName"``)."""


@lru_cache(maxsize=1)
def spark24_strings() -> bytes:
    """The class files of Spark 2.4's core and Kubernetes jars, where its configuration keys are constants."""
    home = spark24_home()
    blobs = []
    for jar in ("spark-core_2.11-2.4.8.jar", "spark-kubernetes_2.11-2.4.8.jar"):
        with zipfile.ZipFile(home / "jars" / jar) as z:
            blobs += [z.read(n) for n in z.namelist() if n.endswith(".class")]
    return b"\0".join(blobs)


def is_constant(text: str) -> bool:
    """Whether ``text`` is a whole string constant of the jars' classes: a CONSTANT_Utf8 entry of a constant
    pool (tag 1, two-byte length, the bytes), so a key cut short does not count."""
    data = text.encode()
    return b"\x01" + len(data).to_bytes(2, "big") + data in spark24_strings()


def known_to_spark24(key: str) -> bool:
    """A key is read by Spark 2.4 when it is a constant of its jars, or built from two of them as its
    Config.scala does, or a constant prefix (ending in a dot) followed by a name."""
    if is_constant(key):
        return True
    if key in COMPOSED_KEYS:
        return all(is_constant(part) for part in COMPOSED_KEYS[key])
    for prefix in ("spark.kubernetes.driver.label.", "spark.kubernetes.executor.label.",
                   "spark.kubernetes.node.selector.", "spark.kubernetes.driverEnv.", "spark.executorEnv."):
        if key.startswith(prefix):
            return is_constant(prefix)
    return False


@needs_spark24
def test_every_insightedge_key_is_one_spark_24_or_the_connector_reads():
    assert not known_to_spark24("spark.kubernetes.driver.podTemplateFile")  # Spark 3.0: the check can fail
    assert not known_to_spark24("spark.kubernetes.authenticate.executor.serviceAccountName")  # Spark 3.1
    assert not known_to_spark24("spark.kubernetes.executor.limit")  # a key cut short
    assert known_to_spark24("spark.kubernetes.executor.limit.cores")
    for stack in STACK_NAMES:
        for obj in inputs_of(stack).objects:
            text = (obj.get("data") or {}).get(INSIGHTEDGE_DEFAULTS) if obj["kind"] == "ConfigMap" else None
            if text is None:
                continue
            for key in parse_properties(text):
                assert key in CONNECTOR_KEYS or known_to_spark24(key), (stack, key)
