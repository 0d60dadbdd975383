"""Admission on the real API server, in every team namespace of every stack: Pod Security
(the level the docs give each namespace), the ResourceQuota, the LimitRange's defaults, and
the room the quota leaves for a Spark job (the driver and the executors the `spark` output
promises, and not one more).

Pods that are created for real carry :data:`TEST_LABEL` and name a scheduler that does not
run (they stay Pending, which the quota counts, and no node is touched); each test deletes
them and waits until the quota's usage is back where it was, since `applied` is shared.
"""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from components.cluster import pod_security
from components.cluster.scheduling import GPU_RESOURCE
from components.cluster.spark.pod_templates import (cpu_executor_template, driver_template, gpu_executor_template,
                                                    spark_defaults, standing_use)
from components.cluster.spark.sizing import DEFAULT_EXECUTOR, executors_in_quota, ExecutorSize
from components.cluster.spark.submit import spark_outputs
from components.cluster.tenancy import LIMIT_DEFAULT, LIMIT_DEFAULT_REQUEST, team_namespace

TEST_LABEL = {"kubegrid-test/admission": "true"}
NO_SCHEDULER = "kubegrid-test-no-scheduler"
"""No such scheduler runs: the pods stay Pending (the quota counts them) and never reach a node."""
QUOTA = "team-quota"


# -- helpers -------------------------------------------------------------------------------------

def namespace_of(team) -> str:
    return team_namespace(team)["metadata"]["name"]


def named(pod: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy of ``pod`` (a template) with a name, the test label and the scheduler that never runs."""
    pod = copy.deepcopy(pod)
    pod["metadata"]["name"] = name
    pod["metadata"]["labels"] = {**pod["metadata"].get("labels", {}), **TEST_LABEL}
    pod["spec"]["schedulerName"] = NO_SCHEDULER
    return pod


def plain_pod(name: str, **container: Any) -> dict[str, Any]:
    """A pod with one container and nothing else: no security context, no resources."""
    return named({"apiVersion": "v1", "kind": "Pod", "metadata": {},
                  "spec": {"containers": [{"name": "main", "image": "busybox", **container}]}}, name)


def create(kube, namespace: str, obj: dict[str, Any], dry_run: bool = True):
    """``kubectl create`` of ``obj`` in ``namespace`` (server-side dry run unless told); the result."""
    args = ["create", "-n", namespace, "-f", "-", "-o", "json"] + (["--dry-run=server"] if dry_run else [])
    return kube.run(*args, input=json.dumps(obj), check=False)


def refused(result) -> str:
    assert result.returncode != 0, f"admitted, expected a refusal: {result.stdout[:400]}"
    return result.stderr


def admitted(result) -> dict[str, Any]:
    assert result.returncode == 0, f"refused by the API server: {result.stderr.strip()}"
    return json.loads(result.stdout)


UNITS = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6, "G": Decimal(10) ** 9,
         "T": Decimal(10) ** 12, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20, "Gi": Decimal(2) ** 30,
         "Ti": Decimal(2) ** 40}


def amount(quantity: str) -> Decimal:
    """A Kubernetes quantity in base units (cores, bytes, count)."""
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(quantity)).groups()
    return Decimal(number) * UNITS[unit]


def quota_used(kube, namespace: str) -> dict[str, Decimal]:
    status = kube.json("get", "resourcequota", QUOTA, "-n", namespace).get("status", {})
    return {k: amount(v) for k, v in status.get("used", {}).items()}


def quota_synced(kube, namespace: str) -> dict[str, Decimal]:
    """The quota's usage once the quota controller has filled in its status (admission refuses
    every pod before that)."""
    def synced():
        quota = kube.json("get", "resourcequota", QUOTA, "-n", namespace)
        hard, status = quota["spec"]["hard"], quota.get("status", {})
        return status.get("hard") == hard and set(status.get("used", {})) == set(hard)
    kube.wait_for(f"quota {namespace}/{QUOTA} to be synced", synced)
    return quota_used(kube, namespace)


def delete_test_pods(kube, namespace: str, used_before: dict[str, Decimal]) -> None:
    """Deletes this file's pods in ``namespace``; waits until the quota has released them."""
    selector = ",".join(f"{k}={v}" for k, v in TEST_LABEL.items())
    kube.run("delete", "pods", "-n", namespace, "-l", selector, "--ignore-not-found", "--wait=true")
    kube.wait_for(f"quota {namespace}/{QUOTA} to release the test's pods",
                  lambda: quota_used(kube, namespace) == used_before)


def teams(live):
    return [(namespace_of(team), team) for team in live.spec.teams]


def spark_teams(live):
    return [(ns, team) for ns, team in teams(live) if team.spark]


def expected_level(team) -> str:
    """docs/spark.md: team namespaces enforce `restricted`; docs/gigaspaces.md: a team with
    `insightedge` enforces `baseline` (Spark 2.4 sets no security context)."""
    return pod_security.BASELINE if team.insightedge else pod_security.LEVEL


# -- Pod Security ---------------------------------------------------------------------------------

def test_team_namespaces_enforce_the_documented_level(applied):
    for ns, team in teams(applied):
        labels = applied.kube.json("get", "namespace", ns)["metadata"]["labels"]
        assert labels.get("pod-security.kubernetes.io/enforce") == expected_level(team), (ns, labels)
        # docs/gigaspaces.md: warnings and the audit log name every pod below restricted
        assert labels.get("pod-security.kubernetes.io/warn") == pod_security.LEVEL, (ns, labels)
        assert labels.get("pod-security.kubernetes.io/audit") == pod_security.LEVEL, (ns, labels)


def team_templates(live, team) -> dict[str, dict[str, Any]]:
    templates = {"driver": driver_template(live.spec, team), "executor-cpu": cpu_executor_template(live.spec, team)}
    gpu = gpu_executor_template(live.spec, team)
    if gpu is not None:
        templates["executor-gpu"] = gpu
    return templates


def test_the_teams_spark_templates_are_admitted_without_a_warning(applied):
    """The pod templates Spark builds its pods from pass the namespace's level, and the
    restricted level that the namespace warns at (so no warning either)."""
    for ns, team in spark_teams(applied):
        for role, template in team_templates(applied, team).items():
            result = create(applied.kube, ns, named(template, f"admission-{role}"))
            admitted(result)
            assert "PodSecurity" not in result.stderr, f"{ns} {role}: {result.stderr.strip()}"


def breaking(template: dict[str, Any], change) -> dict[str, Any]:
    """A copy of the team's driver template with ``change`` applied to (pod spec, main container)."""
    pod = copy.deepcopy(template)
    change(pod["spec"], pod["spec"]["containers"][0])
    return pod


def _privileged(spec, container):
    container["securityContext"].update(privileged=True, allowPrivilegeEscalation=True)


def _host_path(spec, container):
    spec["volumes"].append({"name": "host", "hostPath": {"path": "/var/run"}})
    container["volumeMounts"].append({"name": "host", "mountPath": "/host"})


def _host_network(spec, container):
    spec["hostNetwork"] = True


def _root(spec, container):
    spec["securityContext"].update(runAsUser=0, runAsNonRoot=False)
    container["securityContext"].pop("runAsNonRoot")


def _escalation(spec, container):
    container["securityContext"]["allowPrivilegeEscalation"] = True


def _capabilities(spec, container):
    container["securityContext"]["capabilities"] = {"add": ["CHOWN"]}


BELOW_BASELINE = {
    # change: what the server's message names
    "privileged": (_privileged, "privileged"),
    "hostPath": (_host_path, "hostPath"),
    "hostNetwork": (_host_network, "hostNetwork"),
}
"""Refused at baseline, and so at restricted."""
BELOW_RESTRICTED = {
    "root": (_root, "runAsNonRoot"),
    "escalation": (_escalation, "allowPrivilegeEscalation"),
    "capabilities": (_capabilities, "capabilities"),
}
"""Within baseline (CHOWN is in the set baseline allows to add), refused at restricted."""


@pytest.mark.parametrize("case", sorted(BELOW_BASELINE))
def test_a_pod_below_baseline_is_refused_everywhere(applied, case):
    change, named_field = BELOW_BASELINE[case]
    for ns, team in spark_teams(applied):
        pod = named(breaking(driver_template(applied.spec, team), change), f"admission-{case.lower()}")
        message = refused(create(applied.kube, ns, pod))
        level = expected_level(team)
        assert f'violates PodSecurity "{level}:latest"' in message and named_field in message, (ns, message)


@pytest.mark.parametrize("case", sorted(BELOW_RESTRICTED))
def test_a_pod_below_restricted_is_refused_unless_the_namespace_is_baseline(applied, case):
    """Refused in a restricted namespace, naming the violation; in a baseline (insightedge)
    namespace admitted, with the restricted warning naming it."""
    change, named_field = BELOW_RESTRICTED[case]
    for ns, team in spark_teams(applied):
        pod = named(breaking(driver_template(applied.spec, team), change), f"admission-{case.lower()}")
        result = create(applied.kube, ns, pod)
        if expected_level(team) == pod_security.LEVEL:
            message = refused(result)
            assert 'violates PodSecurity "restricted:latest"' in message and named_field in message, (ns, message)
        else:
            admitted(result)
            assert 'would violate PodSecurity "restricted:latest"' in result.stderr and named_field in result.stderr, \
                (ns, result.stderr)


def test_a_pod_as_spark_2_4_creates_it_passes_baseline_only(applied):
    """Spark 2.4 (insightedge jobs) sets no security context: admitted where the namespace
    enforces baseline, refused where it enforces restricted."""
    for ns, team in teams(applied):
        result = create(applied.kube, ns, plain_pod("admission-no-security-context",
                                                    resources=_resources(DEFAULT_EXECUTOR)))
        if team.insightedge:
            admitted(result)
            assert 'would violate PodSecurity "restricted:latest"' in result.stderr, (ns, result.stderr)
        else:
            message = refused(result)
            assert 'violates PodSecurity "restricted:latest"' in message, (ns, message)


# -- quota and limits ------------------------------------------------------------------------------

def _resources(size: ExecutorSize) -> dict[str, Any]:
    amounts = {"cpu": f"{size.cpu_m}m", "memory": f"{size.pod_memory_mi}Mi"}
    limits = {**amounts, GPU_RESOURCE: str(size.gpus)} if size.gpus else dict(amounts)
    return {"requests": amounts, "limits": limits}


def test_a_pod_over_the_quota_is_refused(applied):
    for ns, team in teams(applied):
        q = team.quota
        over = ExecutorSize(cores=1, cpu_m=round(q.cpu * 1000) + 1000, memory_mi=1024, overhead_mi=0)
        pod = plain_pod("admission-over-quota", resources=_resources(over),
                        securityContext=pod_security.container_security_context())
        pod["spec"]["securityContext"] = pod_security.pod_security_context(1000)
        message = refused(create(applied.kube, ns, pod))
        assert f"exceeded quota: {QUOTA}" in message and "requests.cpu" in message, (ns, message)


def _hardened(pod: dict[str, Any]) -> dict[str, Any]:
    pod["spec"]["securityContext"] = pod_security.pod_security_context(1000)
    for c in pod["spec"]["containers"]:
        c["securityContext"] = pod_security.container_security_context()
    return pod


def test_the_limit_range_fills_in_the_defaults_the_project_assumes(applied):
    """A container that sets nothing gets the documented defaults (docs/spark.md: 250m CPU /
    512Mi requested, 1 CPU / 1Gi limits, never more than the quota), read back from the
    server; and a container shaped like Spark's default executor without the team's
    properties (a CPU request, no CPU limit: components/cluster/tenancy.py) gets a CPU limit
    it fits under, so the quota on limits.cpu admits it."""
    kube = applied.kube
    for ns, team in teams(applied):
        q = team.quota
        before = quota_synced(kube, ns)
        try:
            admitted(create(kube, ns, _hardened(plain_pod("admission-defaults")), dry_run=False))
            got = kube.json("get", "pod", "admission-defaults", "-n", ns)["spec"]["containers"][0]["resources"]
            expected = {
                "requests": {"cpu": Decimal(str(min(LIMIT_DEFAULT_REQUEST["cpu"], q.cpu))),
                             "memory": Decimal(str(min(LIMIT_DEFAULT_REQUEST["memory_gib"], q.memory_gib))) * 2 ** 30},
                "limits": {"cpu": Decimal(str(min(LIMIT_DEFAULT["cpu"], q.cpu))),
                           "memory": Decimal(str(min(LIMIT_DEFAULT["memory_gib"], q.memory_gib))) * 2 ** 30}}
            assert expected == {"requests": {"cpu": Decimal("0.25"), "memory": 512 * Decimal(2) ** 20},
                                "limits": {"cpu": Decimal(1), "memory": Decimal(2) ** 30}}, "docs/spark.md's figures"
            assert {kind: {k: amount(v) for k, v in values.items()} for kind, values in got.items()} == expected, (ns, got)

            spark_default = {"requests": {"cpu": f"{DEFAULT_EXECUTOR.cpu_m}m",
                                          "memory": f"{DEFAULT_EXECUTOR.pod_memory_mi}Mi"},
                             "limits": {"memory": f"{DEFAULT_EXECUTOR.pod_memory_mi}Mi"}}
            pod = admitted(create(kube, ns, _hardened(plain_pod("admission-spark-default", resources=spark_default))))
            limits = pod["spec"]["containers"][0]["resources"]["limits"]
            assert amount(limits["cpu"]) == expected["limits"]["cpu"] >= Decimal(DEFAULT_EXECUTOR.cpu_m) / 1000, (ns, limits)
        finally:
            delete_test_pods(kube, ns, before)


# -- the quota's room for a Spark job ----------------------------------------------------------------

def spark_resources(conf: dict[str, str], role: str, gpus: int = 0) -> dict[str, Any]:
    """Requests and limits as Spark 4 sets them on a ``role`` pod from ``conf``: CPU request and
    limit from request.cores / limit.cores, memory request = limit = memory + overhead (MiB),
    and a GPU limit from the GPU amount."""
    def mib(value: str) -> int:
        assert value.endswith("m"), value
        return int(value[:-1])
    memory = f"{mib(conf[f'spark.{role}.memory']) + mib(conf[f'spark.{role}.memoryOverhead'])}Mi"
    resources = {"requests": {"cpu": conf[f"spark.kubernetes.{role}.request.cores"], "memory": memory},
                 "limits": {"cpu": conf[f"spark.kubernetes.{role}.limit.cores"], "memory": memory}}
    if gpus:
        resources["limits"][GPU_RESOURCE] = str(gpus)
    return resources


def executor_shapes(live, team) -> dict[str, tuple[dict[str, Any], int]]:
    """Each executor the team's `spark` output describes (its pools, the default CPU executor
    and the GPU executor): (Spark's resources for it, how many the output promises next to a
    driver: maxExecutors of spark-defaults.conf and of the GPU job; for the other pools, the
    count the sizing gives them next to the driver and the namespace's standing pods)."""
    out = spark_outputs(live.spec)[team.name]
    defaults = spark_defaults(live.spec, team)
    shapes = {"cpuExecutor": (spark_resources(out["cpuExecutor"], "executor"),
                              int(defaults["spark.dynamicAllocation.maxExecutors"]))}
    if "gpuExecutor" in out:
        gpu = out["gpuExecutor"]
        shapes["gpuExecutor"] = (spark_resources(gpu, "executor", int(gpu["spark.executor.resource.gpu.amount"])),
                                 int(gpu["spark.dynamicAllocation.maxExecutors"]))
    for pool, f in out["pools"].items():
        cpu_m = round(amount(f["executorCpu"]) * 1000)
        size = ExecutorSize(cores=f["executorCores"], cpu_m=cpu_m, memory_mi=int(f["executorMemory"][:-1]),
                            overhead_mi=int(f["executorMemoryOverhead"][:-1]), gpus=f["gpusPerExecutor"])
        conf = {"spark.kubernetes.executor.request.cores": f["executorCpu"],
                "spark.kubernetes.executor.limit.cores": f["executorCpu"],
                "spark.executor.memory": f["executorMemory"], "spark.executor.memoryOverhead": f["executorMemoryOverhead"]}
        shapes[f"pool {pool}"] = (spark_resources(conf, "executor", size.gpus),
                                  executors_in_quota(team, size, standing_use(live.spec, team)))
    return shapes


def spark_pod(template: dict[str, Any], name: str, resources: dict[str, Any]) -> dict[str, Any]:
    pod = named(template, name)
    pod["spec"]["containers"][0]["resources"] = resources
    return pod


def test_the_quota_holds_a_driver_and_the_promised_executors_and_not_one_more(applied):
    kube = applied.kube
    for ns, team in spark_teams(applied):
        driver = spark_pod(driver_template(applied.spec, team), "admission-driver",
                           spark_resources(spark_defaults(applied.spec, team), "driver"))
        executor_template = cpu_executor_template(applied.spec, team)
        seen = set()
        for shape, (resources, promised) in executor_shapes(applied, team).items():
            key = json.dumps(resources, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            assert promised >= 1, f"{ns} {shape}: the output promises {promised} executors"
            before = quota_synced(kube, ns)
            try:
                admitted(create(kube, ns, driver, dry_run=False))
                executors = [spark_pod(executor_template, f"admission-exec-{i}", resources)
                             for i in range(promised + 1)]
                listed = {"apiVersion": "v1", "kind": "List", "items": executors[:promised]}
                result = create(kube, ns, listed, dry_run=False)
                assert result.returncode == 0, (
                    f"{ns} {shape}: the quota refused the driver's {promised} promised executors "
                    f"{resources}: {result.stderr.strip()}; quota used before the job: "
                    f"{ {k: str(v) for k, v in before.items()} }")
                message = refused(create(kube, ns, executors[promised], dry_run=False))
                assert f"exceeded quota: {QUOTA}" in message, (ns, shape, message)
            finally:
                delete_test_pods(kube, ns, before)
