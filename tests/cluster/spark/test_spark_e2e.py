"""The stacks' Spark commands, run for real: pyspark 4.0.1's spark-submit and Java 17 against a
stand-in of the Kubernetes API (tests/support/kube_standin.py), then the pods Spark creates run as
their containers would (tests/support/spark_runner.py: uid 185, read-only root, the pod's volumes).

Inputs are the project's public paths: ``render_stack(spec)`` (the objects, loaded into the
stand-in as `pulumi up` would apply them) and ``run_program(config, stack).outputs["spark"]``
(the printed ``fetchFiles``, ``sparkSubmitCpu``, ``sparkSubmitGpu``). What is checked is what
Spark itself sent (the stand-in's record) and what its pods did.

Every stack, team and printed command is fetched and submitted for real. FULL_RUNS also run the
driver, its executors and the job to its result; the others stop once the submit has done its
part (driver pod, Service, ConfigMaps created; the pod watched), because a full run costs 35-45 s
on 2 cores and the CI budget is 6 minutes with the pyspark install. The full runs cover every
distinct shape: mode existing with the event-log volume (local), a spot pool with
decommissioning, S3 event logs and a CPU job of a team that also has a GPU template (dev CPU),
the GPU template with its discovery script (dev GPU), and client mode from a notebook pod
(dev). staging and prod differ from these only in sizes, which the submit-only cases check.

The emulated image is honest about what it is: pyspark's Spark distribution; a small SparkPi of
our own as the examples jar (tests/cluster/spark/image/, same class, argument and output line);
a stand-in of the S3A connector (same class name) where an image with S3A has hadoop-aws; a
stand-in ``nvidia-smi``. See spark_runner's docstring and docs/spark.md.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import yaml

from components.cluster.spark.names import SPARK_VERSION
from components.cluster.spark.sizing import pool_sizing
from components.cluster.spark.submit import spark_outputs
from tests.support import spark_runner as sr
from tests.support.spark_network import denied_connections
from tests.support.pod_security import restricted_violations
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


def team_object(objects: list, kind: str, team: str, name: str = None) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"].get("namespace") == team
                and (name is None or o["metadata"]["name"] == name)]
    return found


def quota_room(quota: dict, driver: dict, executor: dict) -> int:
    """How many executors of the recorded size the ResourceQuota admits next to the driver."""
    hard = quota["spec"]["hard"]
    d, e = sr.pod_totals(driver, "limits"), sr.pod_totals(executor, "limits")
    room = [(sr.cpu_m(hard["limits.cpu"]) - d["cpu"]) // e["cpu"],
            (sr.memory_mi(hard["limits.memory"]) - d["memory"]) // e["memory"], int(hard["pods"]) - 1]
    if e["nvidia.com/gpu"]:
        room.append(float(hard["requests.nvidia.com/gpu"]) // e["nvidia.com/gpu"])
    return int(min(room))


# ---------------------------------------------------------------- checks on what Spark sent

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
    # every pod Spark created, every container in it, passes the namespace's restricted level
    for pod in result.created("pods"):
        assert not restricted_violations(pod["spec"]), (pod["metadata"]["name"], restricted_violations(pod["spec"]))
    # the executor template Spark hands the driver (the pod-spec ConfigMap) keeps the hardening too
    for cm in result.created("configmaps"):
        for name, text in (cm.get("data") or {}).items():
            if name.endswith(".yaml") and "kind: Pod" in text:
                assert not restricted_violations(yaml.safe_load(text)["spec"]), name
    assert any(s["spec"].get("clusterIP") == "None" for s in result.created("services"))


def check_rbac(result: sr.CaseResult, role: dict) -> set[tuple[str, str]]:
    assert not result.cluster.denied, [(c.verb, c.path) for c in result.cluster.denied]
    driver_calls, granted = result.driver_calls(), sr.granted(role)
    assert driver_calls <= granted, driver_calls - granted
    for call in result.api.requests:
        assert call.namespace == result.team, call.path
    return driver_calls


# ---------------------------------------------------------------- the printed commands

@needs_spark
@pytest.mark.parametrize("stack,team,kind", _cases())
def test_printed_commands_run(stack, team, kind, image_jars, tmp_path):
    inputs = inputs_of(stack)
    full = (stack, team, kind) in FULL_RUNS
    objects, out = inputs.objects, inputs.spark[team]
    spec_team = next(t for t in inputs.spec.teams if t.name == team)
    data = team_object(objects, "ConfigMap", team, "kubegrid-spark")["data"]
    started = time.time()
    result = sr.submit_case(inputs, team, kind, tmp_path / "case", image_jars, full=full,
                            s3_keys=planned_s3_objects(inputs, team))
    print(json.dumps({"case": f"{stack}-{team}-{kind}", "full": full, "wall": round(time.time() - started, 1),
                      **{k: round(v, 1) for k, v in result.timings.items()}}))

    # fetchFiles, as printed, wrote the ConfigMap's files
    assert result.fetch.returncode == 0, result.fetch.stderr
    local = result.workspace.cwd / f"kubegrid-{team}"
    for name in re.search(r"for f in (.*?);", out["fetchFiles"])[1].split():
        assert (local / name).read_text() == data[name]
    conf = command_conf(result.command, data["spark-defaults.conf"])

    # the submit (the user's kubeconfig token) created the driver pod, which admission took
    assert len(result.pods("driver")) == 1, result.submit_log[-3000:]
    assert not result.cluster.refused, result.cluster.refused
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


def check_full_run(result: sr.CaseResult, inputs: sr.StackInputs, conf: dict[str, str], out: dict, spot: bool,
                   kind: str) -> None:
    team, objects = result.team, inputs.objects
    role = team_object(objects, "Role", team, "spark-driver")
    driver_calls = check_rbac(result, role)
    granted = sr.granted(role)
    assert granted - driver_calls <= set(EXPLAINED_ROLE_VERBS), granted - driver_calls - set(EXPLAINED_ROLE_VERBS)
    assert {c.authorization for c in result.api.requests if c.resource == "pods" and c.verb == "create"} <= {
        f"Bearer token-of-{team}-spark-driver", f"Bearer {sr.USER_TOKEN}"}

    (driver,) = result.pods("driver")
    executors = result.pods("executor")
    instances = int(conf.get("spark.executor.instances", "0"))
    maximum = int(conf["spark.dynamicAllocation.maxExecutors"])
    assert max(1, instances) <= len(executors) <= maximum, (len(executors), instances, maximum)
    # quota: the executors it admits next to the driver are maxExecutors, as the sizing outputs say
    quota = team_object(objects, "ResourceQuota", team)
    assert quota_room(quota, driver, executors[0]) == maximum
    assert not result.cluster.refused, result.cluster.refused
    # every executor: Spark's account, no token, resources from the conf (so LimitRange defaults never apply)
    for pod in executors:
        c = next(c for c in pod["spec"]["containers"] if c["name"] == "spark-kubernetes-executor")
        assert pod["spec"]["serviceAccountName"] == "spark-executor"
        assert pod["spec"]["automountServiceAccountToken"] is False
        sent = next(r.body for r in result.api.requests if r.verb == "create" and r.resource == "pods"
                    and (r.body or {}).get("metadata", {}).get("name") == pod["metadata"]["name"])
        sent_c = next(x for x in sent["spec"]["containers"] if x["name"] == c["name"])
        for which in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(sent_c["resources"][which]), sent_c["resources"]
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
            assert hook is None and "terminationGracePeriodSeconds" not in pod["spec"]
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
    # executors fit a node of their pool with the stack's DaemonSets (the emulated scheduler placed them)
    if inputs.spec.is_eks:
        runs = [r for r in result.kubelet.runs.values() if r.role == "executor"]
        pools = sr.pod_affinity_pools(executors[0])
        fits = max(pool_sizing(inputs.spec, p).per_node for p in inputs.spec.node_pools if p.name in pools)
        pool_out = max((v for k, v in out["pools"].items() if k in pools), key=lambda v: v["executorsPerNode"])
        assert fits == pool_out["executorsPerNode"]
        assert len(runs) == min(len(executors), fits), (len(runs), len(executors), fits, result.kubelet.pending)
        for node in result.kubelet.nodes:
            assert node.used["cpu"] <= node.cpu_m and node.used["memory"] <= node.memory_mi
    # executors deleted on termination: the driver deleted them by label, their containers ended
    assert conf["spark.kubernetes.executor.deleteOnTermination"] == "true"
    assert any(c.verb == "deletecollection" and c.resource == "pods" and "spark-role=executor" in
               c.query.get("labelSelector", "").replace("%3D", "=") for c in result.api.requests)
    assert not result.api.items("pods", team, "spark-role=executor")
    assert all(r.exit_code is not None for r in result.kubelet.runs.values() if r.role == "executor")
    # event logs written where the stack says
    where = conf.get("spark.eventLog.dir", "")
    if where.startswith("file:"):
        logs = list((result.cluster.kubelet.root / "volumes" / team / "spark-events").glob("eventlog_v2_spark-*/*"))
    elif where.startswith("s3a:"):
        bucket, _, prefix = where.removeprefix("s3a://").partition("/")
        logs = list((result.cluster.s3_root / bucket / prefix).glob("eventlog_v2_spark-*/*"))
    else:
        logs = None
        assert inputs.spec.is_eks and not next(t for t in inputs.spec.teams if t.name == team).s3_access
    if logs is not None:
        names = sorted(p.name for p in logs)
        assert any(n.startswith("events_1_spark-") for n in names), names
        assert any(n.startswith("appstatus_spark-") and not n.endswith(".inprogress") for n in names), names
    # every connection the job makes is allowed by the team's and the grid's NetworkPolicies
    driver_ports = sr.driver_ports(result.log("driver") or result.submit_log)
    assert driver_ports
    assert not denied_connections(inputs, result.team, result.pods("driver"), result.pods("executor"), driver_ports)


# ---------------------------------------------------------------- S3 event-log prefix

def planned_s3_objects(inputs: sr.StackInputs, team: str) -> list[tuple[str, str]]:
    """The objects the stack plans in the team's buckets (the ``spark-events/`` marker): what the
    S3 stand-in holds before the first job."""
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
def test_a_notebook_pod_runs_spark_in_client_mode(image_jars, tmp_path):
    inputs = inputs_of(NOTEBOOK_STACK)
    pod = notebook_pod()
    team = pod["metadata"]["namespace"]
    assert not restricted_violations(pod["spec"])
    data = team_object(inputs.objects, "ConfigMap", team, "kubegrid-spark")["data"]
    started = time.time()
    result = sr.notebook_case(inputs, team, pod, tmp_path / "notebook", image_jars,
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
