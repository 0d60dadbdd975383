"""The stacks' Spark commands, run for real: pyspark 4.0.1's spark-submit and Java 17 against a
real Kubernetes 1.34 control plane (tests/support/cluster.py: the API server with Node,RBAC
authorization, Pod Security, LimitRanger and ResourceQuota admission and an audit log; the
scheduler; KWOK nodes shaped like the stack's pools), then the pods Spark creates run as their
containers would (tests/support/spark_runner.py: uid 185, read-only root, the pod's volumes, its
service account token), their status reported to the API server.

Inputs are the project's public paths: ``render_stack(spec)`` (the objects, applied to the control
plane as `pulumi up` would apply them; one plane per stack) and
``run_program(config, stack).outputs["spark"]`` (the printed ``fetchFiles``, ``sparkSubmitCpu``,
``sparkSubmitGpu``), submitted with a client certificate of the group the stack's ``team-edit``
RoleBinding names. What is checked is what the server made of what Spark sent (the pods as
admitted and where the scheduler put them, the audit log's calls and response codes) and what the
pods did.

Every stack, team and printed command is fetched and submitted for real. FULL_RUNS also run the
driver, its executors and the job to its result; the others stop once the submit has done its
part (driver pod, Service, ConfigMaps created; the pod watched), because a full run costs about
a minute on 2 cores (two when they are shared) and the CI budget is short. The full runs cover every
distinct shape: mode existing with the event-log volume (local), a spot pool with
decommissioning, S3 event logs and a CPU job of a team that also has a GPU template (dev CPU),
the GPU template with its discovery script (dev GPU), and client mode from a notebook pod
(dev). staging and prod differ from these only in sizes, which the submit-only cases check.

The emulated image is honest about what it is: pyspark's Spark distribution; a small SparkPi of
our own as the examples jar (tests/cluster/spark/image/, same class, argument and output line);
for teams with S3, the real S3A connector images/spark/Dockerfile adds, against moto's S3 server
on loopback; a stand-in ``nvidia-smi``. See spark_runner's docstring and docs/spark.md.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path, PurePosixPath

import pytest
import yaml

from components.cluster.observability.history import history_objects
from components.cluster.spark.names import SPARK_VERSION
from components.cluster.spark.sizing import pool_sizing
from components.cluster.spark.submit import spark_outputs
from tests.support import live, spark_image, spark_runner as sr
from tests.support.spark_network import denied_connections
from tests.support.spark import command_conf, parse_properties
from tests.support.stacks import STACK_NAMES, stack_spec

MISSING = sr.missing_prerequisites()
needs_spark = pytest.mark.skipif(MISSING is not None, reason=f"Spark end-to-end runs: {MISSING}")

FULL_RUNS = {("local", "analytics", "cpu"), ("dev", "analytics", "cpu"), ("dev", "analytics", "gpu")}
NOTEBOOK_STACK = "dev"
DOCS = sr.ROOT / "docs" / "spark.md"

EXPLAINED_ROLE_VERBS = {
    ("delete", "pods"): "an executor that ends while the job runs (dynamic allocation removes it after "
                        "decommissioning, or it fails) is deleted by name; runs end before the 60 s idle timeout",
    ("create", "persistentvolumeclaims"): "on-demand executor claims (spark.kubernetes.executor.volumes.*"
                                          ".claimName=OnDemand); the team's settings use none",
}
"""Verbs of the driver's Role that the runs do not exercise, and why Spark needs them (Spark 4.0.1's code)."""


# ---------------------------------------------------------------- inputs

def _cases() -> list:
    out = []
    for stack in STACK_NAMES:
        for team, entry in spark_outputs(stack_spec(stack)).items():
            for kind in ("cpu", "gpu"):
                if kind == "gpu" and "sparkSubmitGpu" not in entry:
                    continue
                out.append(pytest.param(stack, team, kind, id=f"{stack}-{team}-{kind}"))
    return out


inputs_of = sr.stack_inputs_of


@pytest.fixture(scope="module")
def image_jars(tmp_path_factory) -> dict[str, Path]:
    return sr.build_image_jars(tmp_path_factory.mktemp("spark-image"))


@pytest.fixture(scope="module")
def planes(tmp_path_factory):
    """A control plane with the stack applied, one at a time (the cases come grouped by stack)."""
    planes = sr.Planes(tmp_path_factory, live.require_engines())
    yield planes
    planes.close()


def team_object(objects: list, kind: str, team: str, name: str = None) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"].get("namespace") == team
                and (name is None or o["metadata"]["name"] == name)]
    return found


# ---------------------------------------------------------------- checks on what Spark sent

def check_admitted(result: sr.CaseResult) -> None:
    """Every pod the case created was admitted by Pod Security in a namespace that enforces or audits
    the restricted level, with no violation of either (the server annotates the audit event with the
    policy it enforced and with any audit-level violation); the project's own rule, a read-only root,
    holds for each of their containers."""
    labels = result.cluster.api.get("namespaces", None, result.team)["metadata"]["labels"]
    assert "restricted" in (labels["pod-security.kubernetes.io/enforce"], labels["pod-security.kubernetes.io/audit"])
    for found in result.pod_admissions(labels["pod-security.kubernetes.io/enforce"]):
        assert "pod-security.kubernetes.io/audit-violations" not in found, found
    for pod in result.created("pods"):
        for c in pod["spec"]["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, (pod["metadata"]["name"], c["name"])


def check_pods_spark_created(result: sr.CaseResult, conf: dict[str, str], data: dict[str, str]) -> None:
    (driver,) = result.pods("driver")
    template = yaml.safe_load(data["driver-template.yaml"])["spec"]
    spec = driver["spec"]
    assert spec["serviceAccountName"] == "spark-driver"
    assert spec["securityContext"] == template["securityContext"] and spec.get("affinity") == template.get("affinity")
    main = next(c for c in spec["containers"] if c["name"] == "spark-kubernetes-driver")
    assert main["securityContext"] == template["containers"][0]["securityContext"]
    assert sr.cpu_m(main["resources"]["limits"]["cpu"]) == sr.cpu_m(conf["spark.kubernetes.driver.limit.cores"])
    assert sr.memory_mi(main["resources"]["limits"]["memory"]) == \
        sr.memory_mi(conf["spark.driver.memory"]) + sr.memory_mi(conf["spark.driver.memoryOverhead"])
    mounts = {m["mountPath"] for m in main["volumeMounts"]}
    assert {"/tmp", "/opt/spark/work-dir", "/opt/spark/conf"} <= mounts
    if conf.get("spark.eventLog.dir", "").startswith("file:"):
        assert conf["spark.eventLog.dir"].removeprefix("file://") in mounts
    env = {e["name"]: e.get("value") for e in main.get("env") or []}
    assert env.get("SPARK_USER") == "spark"
    # the server's ServiceAccount admission mounted the driver's token; the LimitRange defaulted nothing
    assert any(v["name"].startswith("kube-api-access-") for v in spec["volumes"])
    assert "kubernetes.io/limit-ranger" not in (driver["metadata"].get("annotations") or {})
    check_admitted(result)
    assert any(s["spec"].get("clusterIP") == "None" for s in result.created("services"))


def check_rbac(result: sr.CaseResult, role: dict) -> set[tuple[str, str]]:
    """Nothing the submitting user or the driver asked was refused (the audit log's codes); the
    driver's calls are the Role's verbs; both stayed in the team's namespace."""
    return result.rbac_checked(role, result.account("spark-driver"), result.cluster.user)


# ---------------------------------------------------------------- the printed commands

@needs_spark
@pytest.mark.parametrize("stack,team,kind", _cases())
def test_printed_commands_run(stack, team, kind, image_jars, planes, tmp_path):
    inputs = inputs_of(stack)
    full = (stack, team, kind) in FULL_RUNS
    objects, out = inputs.objects, inputs.spark[team]
    spec_team = next(t for t in inputs.spec.teams if t.name == team)
    if full and spec_team.s3_access and spark_image.image_files() is None:
        pytest.skip("the S3A image's jars are not downloaded (python -m tests.support.spark_image)")
    data = team_object(objects, "ConfigMap", team, "kubegrid-spark")["data"]
    started = time.time()
    # where the logs go to S3, the team's history server (as the stack makes it) must list the job
    history = history_objects(inputs.spec, spec_team) if full and spec_team.s3_access else None
    result = sr.submit_case(planes(stack), inputs, team, kind, tmp_path / "case", image_jars, full=full,
                            s3_keys=planned_s3_objects(inputs, team), history=history)
    print(json.dumps({"case": f"{stack}-{team}-{kind}", "full": full, "wall": round(time.time() - started, 1),
                      **{k: round(v, 1) for k, v in result.timings.items()}}))

    # fetchFiles, as printed, wrote the ConfigMap's files
    assert result.fetch.returncode == 0, result.fetch.stderr
    local = result.workspace.cwd / f"kubegrid-{team}"
    for name in re.search(r"for f in (.*?);", out["fetchFiles"])[1].split():
        assert (local / name).read_text() == data[name]
    conf = command_conf(result.command, data["spark-defaults.conf"])

    # the submit (the team member's kubeconfig) created the driver pod, which admission took and the
    # scheduler placed on a node of the pools the driver template allows
    assert len(result.pods("driver")) == 1, result.submit_log[-3000:]
    (driver,) = result.pods("driver")
    assert [e["user"]["username"] for e in result.audit() if sr.audit_call(e) == ("create", "pods")
            and e["objectRef"]["name"] == driver["metadata"]["name"]] == [result.cluster.user]
    node = result.node_of(driver["metadata"]["name"])
    assert node, result.kubelet.pending
    pools = allowed_pools(driver)
    assert pools is None or node["metadata"]["labels"].get("kubegrid.io/pool") in pools, (node["metadata"], pools)
    check_pods_spark_created(result, conf, data)
    role = team_object(objects, "Role", team, "spark-driver")
    check_rbac(result, role)
    # dynamic allocation's bounds come from the quota, as the stack's outputs say
    assert conf["spark.dynamicAllocation.enabled"] == conf["spark.dynamicAllocation.shuffleTracking.enabled"] == "true"
    assert conf["spark.dynamicAllocation.minExecutors"] == "0"
    if kind == "gpu":
        assert conf["spark.dynamicAllocation.maxExecutors"] == out["gpuExecutor"]["spark.dynamicAllocation.maxExecutors"]
    spot = any(p.capacity_type.name == "SPOT" for p in inputs.spec.team_pools(spec_team))
    assert (conf.get("spark.decommission.enabled") == "true") == spot
    if not full:
        return

    driver_log = result.log("driver")
    assert result.submit_code == 0
    assert "phase: Succeeded" in result.submit_log, driver_log[-5000:]  # F2: the exit code alone says nothing
    assert re.search(r"Pi is roughly 3\.1\d", driver_log), driver_log[-5000:]
    assert not result.kubelet.errors, result.kubelet.errors
    check_full_run(result, inputs, conf, out, spot, kind)


def allowed_pools(pod: dict) -> set[str] | None:
    """The pools a pod's required node affinity names (None: any node)."""
    terms = (((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
    if not terms:
        return None
    return {v for t in terms for e in t.get("matchExpressions") or [] if e["key"] == "kubegrid.io/pool" for v in e["values"]}


def check_full_run(result: sr.CaseResult, inputs: sr.StackInputs, conf: dict[str, str], out: dict, spot: bool,
                   kind: str) -> None:
    team, objects = result.team, inputs.objects
    role = team_object(objects, "Role", team, "spark-driver")
    driver_calls = check_rbac(result, role)
    granted = sr.granted(role)
    assert granted - driver_calls <= set(EXPLAINED_ROLE_VERBS), granted - driver_calls - set(EXPLAINED_ROLE_VERBS)
    # the team member created the driver, the driver (its own token) the executors
    creators = {e["user"]["username"]: e for e in result.audit() if sr.audit_call(e) == ("create", "pods")
                and e["objectRef"].get("namespace") == team and e["objectRef"].get("name") != result.cluster.history_pod}
    assert set(creators) == {result.cluster.user, result.account("spark-driver")}, set(creators)
    check_admitted(result)

    (driver,) = result.pods("driver")
    executors = result.pods("executor")
    instances = int(conf.get("spark.executor.instances", "0"))
    maximum = int(conf["spark.dynamicAllocation.maxExecutors"])
    assert max(1, instances) <= len(executors) <= maximum, (len(executors), instances, maximum)
    # the quota admitting the driver and exactly maxExecutors of this size is the API server's answer in
    # tests/live/test_admission.py (the same conf); the limits Spark gave them are checked below
    assert not result.refused(), [(e["user"]["username"], e["requestURI"]) for e in result.refused()]
    # every executor: Spark's account, no token, resources from the conf (the LimitRange defaulted nothing:
    # LimitRanger annotates a pod it defaults)
    for pod in executors:
        c = next(c for c in pod["spec"]["containers"] if c["name"] == "spark-kubernetes-executor")
        assert pod["spec"]["serviceAccountName"] == "spark-executor"
        assert pod["spec"]["automountServiceAccountToken"] is False
        assert not any(v.get("projected") for v in pod["spec"].get("volumes") or [])
        assert "kubernetes.io/limit-ranger" not in (pod["metadata"].get("annotations") or {})
        assert sr.cpu_m(c["resources"]["limits"]["cpu"]) == sr.cpu_m(conf["spark.kubernetes.executor.limit.cores"])
        assert sr.memory_mi(c["resources"]["limits"]["memory"]) == \
            sr.memory_mi(conf["spark.executor.memory"]) + sr.memory_mi(conf["spark.executor.memoryOverhead"])
        env = {e["name"]: e.get("value") for e in c.get("env") or []}
        assert env.get("SPARK_USER") == "spark"
        hook = ((c.get("lifecycle") or {}).get("preStop") or {}).get("exec", {}).get("command")
        if spot:  # Spark's decommission hook, with the template's grace period for moving blocks
            assert hook == ["/opt/decom.sh"], c.get("lifecycle")
            assert pod["spec"]["terminationGracePeriodSeconds"] == 120
        else:
            assert hook is None and pod["spec"]["terminationGracePeriodSeconds"] == 30  # the API's default
        if kind == "gpu":
            assert c["resources"]["limits"]["nvidia.com/gpu"] == conf["spark.executor.resource.gpu.amount"] == "1"
            assert c["resources"]["requests"]["nvidia.com/gpu"] == "1"  # defaulted from the limit
            script = conf["spark.executor.resource.gpu.discoveryScript"]
            assert any(script.startswith(m["mountPath"] + "/") for m in c["volumeMounts"])
            assert float(conf["spark.task.resource.gpu.amount"]) * int(conf["spark.executor.cores"]) == \
                pytest.approx(1.0)
    if kind == "gpu":
        assert re.search(r"Resources for spark\.executor\.?\s*:?\s*\n?.*gpu.*addresses: 0|"
                         r"gpu -> \[name: gpu, addresses: 0\]", result.log("executor")), result.log("executor")[-3000:]
    # the scheduler put the executors on nodes of their pool, next to the stack's DaemonSets' pods, as
    # many on a node as the sizing says; those it could not place it says why
    runs = [r for r in result.kubelet.runs.values() if r.role == "executor"]
    assert {r.name for r in runs} | set(result.kubelet.pending) == {p["metadata"]["name"] for p in executors}
    if inputs.spec.is_eks:
        pools = allowed_pools(executors[0])
        fits = max(pool_sizing(inputs.spec, p).per_node for p in inputs.spec.node_pools if p.name in pools)
        pool_out = max((v for k, v in out["pools"].items() if k in pools), key=lambda v: v["executorsPerNode"])
        assert fits == pool_out["executorsPerNode"]
        per_node: dict[str, int] = {}
        for run in runs:
            node = result.node(run.node)
            assert node["metadata"]["labels"]["kubegrid.io/pool"] in pools, (run.name, run.node)
            per_node[run.node] = per_node.get(run.node, 0) + 1
        assert max(per_node.values()) <= fits, (per_node, fits)
        # unplaced only for want of room: the pool's nodes hold their executors, the DaemonSets' pods and,
        # where the scheduler put it there (the driver may use the executors' pools), the driver
        for name, message in result.kubelet.pending.items():
            assert re.search(r"Insufficient (cpu|memory|nvidia\.com/gpu)", message), (name, message)
    # executors deleted on termination: the driver deleted them by label, their containers ended
    assert conf["spark.kubernetes.executor.deleteOnTermination"] == "true"
    assert any(sr.audit_call(e) == ("deletecollection", "pods") and "spark-role%3Dexecutor" in e["requestURI"]
               for e in result.audit(result.account("spark-driver")))
    assert not [p for p in result.cluster.left if p["metadata"]["labels"]["spark-role"] == "executor"]
    assert all(r.exit_code is not None for r in result.kubelet.runs.values() if r.role == "executor")
    # event logs written where the stack says
    where = conf.get("spark.eventLog.dir", "")
    if where.startswith("file:"):
        logs = list((result.cluster.kubelet.root / "volumes" / team / "spark-events").glob("eventlog_v2_spark-*/*"))
    elif where.startswith("s3a:"):  # the real S3A connector wrote them into the (emulated) bucket
        bucket, _, prefix = where.removeprefix("s3a://").partition("/")
        logs = [PurePosixPath(key) for b, key in result.cluster.s3_objects
                if b == bucket and re.fullmatch(rf"{re.escape(prefix)}eventlog_v2_spark-[^/]+/[^/]+", key)]
    else:
        logs = None
        assert inputs.spec.is_eks and not next(t for t in inputs.spec.teams if t.name == team).s3_access
    if logs is not None:
        names = sorted(p.name for p in logs)
        assert any(n.startswith("events_1_spark-") for n in names), names
        assert any(n.startswith("appstatus_spark-") and not n.endswith(".inprogress") for n in names), names
    if result.cluster.history_pod is not None:  # the history server read them back through S3A, and lists the job
        app = driver["metadata"]["labels"]["spark-app-selector"]
        listed = {a["id"]: a for a in result.cluster.history_apps or []}
        assert app in listed, (result.cluster.history_apps, result.kubelet.errors)
        assert all(attempt["completed"] for attempt in listed[app]["attempts"])
    # every connection the job makes is allowed by the team's and the grid's NetworkPolicies
    driver_ports = sr.driver_ports(result.log("driver") or result.submit_log)
    assert driver_ports
    assert not denied_connections(inputs, result.team, result.pods("driver"), result.pods("executor"), driver_ports)


# ---------------------------------------------------------------- S3 event-log prefix

def planned_s3_objects(inputs: sr.StackInputs, team: str) -> list[tuple[str, str]]:
    """The objects the stack plans in the team's buckets (the ``spark-events/`` marker): what the
    S3 emulator holds before the first job."""
    return list(inputs.s3_objects)


def test_the_stack_creates_the_event_log_prefix():
    """Spark refuses a missing event-log directory and an empty S3 prefix is missing (the real
    client showed it): the stack creates the marker object of every team's S3 event-log prefix."""
    from components.cluster.spark.pod_templates import event_log_dir
    for stack in STACK_NAMES:
        inputs = inputs_of(stack)
        for team in inputs.spec.teams:
            where = event_log_dir(inputs.spec, team)
            if where.startswith("s3a://"):
                bucket, _, prefix = where.removeprefix("s3a://").partition("/")
                assert (bucket, prefix) in inputs.s3_objects, (stack, team.name, where)


# ---------------------------------------------------------------- the notebook (client mode)

def notebook_pod() -> dict:
    """The notebook pod of docs/spark.md, exactly as shown there."""
    text = DOCS.read_text()
    block = re.search(r"<!-- notebook-pod -->\s*```yaml\n(.*?)```", text, re.S)
    assert block, "docs/spark.md lost its notebook pod"
    return yaml.safe_load(block[1])


@needs_spark
def test_a_notebook_pod_runs_spark_in_client_mode(image_jars, planes, tmp_path):
    inputs = inputs_of(NOTEBOOK_STACK)
    pod = notebook_pod()
    team = pod["metadata"]["namespace"]
    assert pod["spec"]["containers"][0]["image"] == inputs.spark[team]["image"]  # the team's (S3A) image
    data = team_object(inputs.objects, "ConfigMap", team, "kubegrid-spark")["data"]
    started = time.time()
    result = sr.notebook_case(planes(NOTEBOOK_STACK), inputs, team, pod, tmp_path / "notebook", image_jars,
                              s3_keys=planned_s3_objects(inputs, team))
    print(json.dumps({"case": f"{NOTEBOOK_STACK}-{team}-notebook", "wall": round(time.time() - started, 1),
                      **{k: round(v, 1) for k, v in result.timings.items()}}))
    assert result.submit_code == 0, result.submit_log[-5000:]
    assert re.search(r"Pi is roughly 3\.1\d", result.submit_log), result.submit_log[-5000:]
    assert [p["metadata"]["name"] for p in result.pods("driver")] == ["notebook"]  # client mode: it is the driver
    conf = parse_properties(data["spark-defaults.conf"])
    spot = conf.get("spark.decommission.enabled") == "true"
    # the executors are owned by the notebook pod, so they go when it goes
    for e in result.pods("executor"):
        assert [o["name"] for o in e["metadata"].get("ownerReferences") or []] == [pod["metadata"]["name"]]
    check_full_run(result, inputs, conf, inputs.spark[team], spot, "notebook")


def test_docs_show_the_commands_the_tests_run():
    """docs/spark.md's CPU and GPU commands are prod's analytics commands, byte for byte (line
    continuations joined)."""
    text = DOCS.read_text().replace("\\\n  ", "")
    spark = inputs_of("prod").spark["analytics"]
    for key in ("fetchFiles", "sparkSubmitCpu", "sparkSubmitGpu"):
        assert spark[key] in text, key


def test_pyspark_is_the_stacks_spark_version():
    pyspark = pytest.importorskip("pyspark", reason=f"pyspark=={SPARK_VERSION} (the `test` extra) is not installed")
    assert pyspark.__version__ == SPARK_VERSION
