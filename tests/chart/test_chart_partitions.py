"""Data pods: one StatefulSet per partition, placement, budgets, probes,
handover, memory and persistence."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import chart as kit


def _partition_selector(n: int) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "kubegrid",
        "app.kubernetes.io/instance": "kubegrid",
        "app.kubernetes.io/component": "partition",
        "kubegrid.io/partition": str(n),
    }


ALL_DATA_PODS = {
    "app.kubernetes.io/name": "kubegrid",
    "app.kubernetes.io/instance": "kubegrid",
    "app.kubernetes.io/component": "partition",
}


def test_one_statefulset_per_partition(rendered: Any, values: dict[str, Any]) -> None:
    p = values["partitions"]
    sets = rendered.partition_sets()
    assert len(sets) == p["count"]
    for n, sts in enumerate(sets, start=1):
        spec = sts["spec"]
        assert spec["replicas"] == 1 + p["backups"]
        assert spec["podManagementPolicy"] == "Parallel"
        assert spec["updateStrategy"] == {"type": "RollingUpdate"}
        assert spec["minReadySeconds"] == p["minReadySeconds"] > 0
        assert spec["serviceName"] == "kubegrid-partition-headless"
        assert spec["selector"]["matchLabels"] == _partition_selector(n)


def test_entrypoint_contract(rendered: Any, values: dict[str, Any]) -> None:
    p = values["partitions"]
    heap = p["javaHeap"] or f"{kit.quantity_mib(p['memory']) * p['heapPercent'] // 100}m"
    for n, sts in enumerate(rendered.partition_sets(), start=1):
        (c,) = kit.pod_spec(sts)["containers"]
        assert c["command"] == ["tools/kubernetes/entrypoint.sh"]
        assert c["workingDir"] == "/opt/gigaspaces"
        # What GigaSpaces' operator gives a stateful processing unit's pods.
        expected = [
            "component=pu",
            "verbose=true",
            f"name={p['spaceName']}",
            "release.namespace=kubegrid",
            "license=$(GS_LICENSE)",
            f"java.heap={heap}",
            "manager.name=kubegrid-manager",
            "manager.ports.api=8090",
            f"partitions={0 if p['partitionsArgument'] == 'zero' else p['count']}",
            f"ha={'true' if p['backups'] == 1 else 'false'}",
            f"partitionId={n}",
        ]
        if p["resourceUrl"]:
            expected.append(f"pu.resourceUrl={p['resourceUrl']}")
        if p["properties"]:
            expected.append(f"pu.properties={p['properties']}")
        assert c["args"] == expected


def test_data_pods_wait_for_the_managers(rendered: Any, values: dict[str, Any]) -> None:
    p = values["partitions"]
    for sts in rendered.partition_sets():
        spec = kit.pod_spec(sts)
        (main,) = spec["containers"]
        assert [c["name"] for c in spec["initContainers"]] == ["seed-writable-dirs", "check-manager-ready"]
        init = spec["initContainers"][1]
        assert init["image"] == main["image"]
        assert init["command"] == ["tools/kubernetes/entrypoint.sh"]
        assert init["args"] == [
            "component=init",
            "verbose=true",
            f"name={p['spaceName']}",
            "release.namespace=kubegrid",
            "license=$(GS_LICENSE)",
            "manager.name=kubegrid-manager",
            "manager.ports.api=8090",
            f"manager.discoveryTimeoutSeconds={p['managerDiscoveryTimeoutSeconds']}",
        ]
        assert kit.env_of(init)["GS_LICENSE"] == kit.env_of(main)["GS_LICENSE"]
        assert init["resources"] == main["resources"]  # the pod stays Guaranteed


def test_resource_url_properties_and_extra_args_are_passed_when_set(render: Any) -> None:
    url = "https://artifacts.example.com/pu/orders-1.0.jar"
    out = render({"partitions": {"resourceUrl": url, "properties": "a=1;b=two words", "extraArgs": ["lrmi.port=8201"],
                                 "managerDiscoveryTimeoutSeconds": 180}})
    spec = kit.pod_spec(out.get("StatefulSet", "kubegrid-partition-1"))
    (c,) = spec["containers"]
    assert c["args"][-3:] == [f"pu.resourceUrl={url}", "pu.properties=a=1;b=two words", "lrmi.port=8201"]
    assert "manager.discoveryTimeoutSeconds=180" in spec["initContainers"][1]["args"]


def test_required_anti_affinity_within_a_partition_only(rendered: Any, values: dict[str, Any]) -> None:
    zone_aware = values["partitions"]["zoneAware"]
    for n, sts in enumerate(rendered.partition_sets(), start=1):
        affinity = kit.pod_spec(sts)["affinity"]
        assert set(affinity) == {"podAntiAffinity"}
        terms = affinity["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        keys = [t["topologyKey"] for t in terms]
        expected = ["kubernetes.io/hostname"] + (["topology.kubernetes.io/zone"] if zone_aware else [])
        assert keys == expected
        for term in terms:
            # Scoped to this partition's pods: other partitions may share the node or zone.
            assert term["labelSelector"] == {"matchLabels": _partition_selector(n)}
        assert "preferredDuringSchedulingIgnoredDuringExecution" not in affinity["podAntiAffinity"]


def test_zone_aware_adds_the_zone_rule(render: Any) -> None:
    for zone_aware in (False, True):
        out = render({"partitions": {"count": 2, "zoneAware": zone_aware}})
        for sts in out.partition_sets():
            terms = kit.pod_spec(sts)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            has_zone = any(t["topologyKey"] == "topology.kubernetes.io/zone" for t in terms)
            assert has_zone is zone_aware


def test_preferred_spread_of_all_data_pods(rendered: Any) -> None:
    for sts in rendered.partition_sets():
        spread = kit.pod_spec(sts)["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}
        for c in spread:
            assert c["whenUnsatisfiable"] == "ScheduleAnyway"
            assert c["maxSkew"] == 1
            assert c["labelSelector"] == {"matchLabels": ALL_DATA_PODS}


def test_one_budget_per_partition(rendered: Any, values: dict[str, Any]) -> None:
    budgets = {
        b["metadata"]["name"]: b
        for b in rendered.of_kind("PodDisruptionBudget")
        if b["metadata"]["labels"]["app.kubernetes.io/component"] == "partition"
    }
    assert len(budgets) == values["partitions"]["count"]
    for n, sts in enumerate(rendered.partition_sets(), start=1):
        pdb = budgets[f"kubegrid-partition-{n}"]
        assert pdb["spec"]["maxUnavailable"] == 1
        assert "minAvailable" not in pdb["spec"]
        assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "IfHealthyBudget"
        assert pdb["spec"]["selector"]["matchLabels"] == sts["spec"]["selector"]["matchLabels"]


def test_probes_on_the_grid_probe_port(rendered: Any) -> None:
    for sts in rendered.partition_sets():
        (c,) = kit.pod_spec(sts)["containers"]
        assert {"name": "probes", "containerPort": 8089, "protocol": "TCP"} in c["ports"]
        assert c["readinessProbe"]["httpGet"] == {"path": "/probes/ready", "port": "probes"}
        assert c["livenessProbe"]["httpGet"] == {"path": "/probes/alive", "port": "probes"}
        assert c["startupProbe"]["httpGet"] == {"path": "/probes/alive", "port": "probes"}


def test_prestop_hook_and_grace_period(rendered: Any, values: dict[str, Any]) -> None:
    p = values["partitions"]
    for sts in rendered.partition_sets():
        spec = kit.pod_spec(sts)
        (c,) = spec["containers"]
        assert c["lifecycle"]["preStop"]["exec"]["command"] == ["/bin/sh", "-c", f"sleep {p['preStopDelaySeconds']}"]
        assert spec["terminationGracePeriodSeconds"] == p["terminationGracePeriodSeconds"]
        assert spec["terminationGracePeriodSeconds"] > p["preStopDelaySeconds"]


def test_memory_requests_equal_limits_and_heap_follows_the_limit(
    rendered: Any, values: dict[str, Any]
) -> None:
    p = values["partitions"]
    for sts in rendered.partition_sets():
        (c,) = kit.pod_spec(sts)["containers"]
        res = c["resources"]
        assert res["requests"]["memory"] == res["limits"]["memory"] == p["memory"]
        assert res["requests"]["cpu"] == res["limits"]["cpu"] == str(p["cpu"])
        heap = kit.quantity_mib(res["limits"]["memory"]) * p["heapPercent"] // 100
        assert kit.args_of(c)["java.heap"] == (p["javaHeap"] or f"{heap}m")


@pytest.mark.parametrize(
    ("memory", "percent", "heap"),
    [("4Gi", 70, "2867m"), ("1536Mi", 50, "768m"), ("5G", 70, "3337m"), ("3000M", 60, "1716m")],
)
def test_heap_from_each_memory_unit(render: Any, memory: str, percent: int, heap: str) -> None:
    out = render({"partitions": {"memory": memory, "heapPercent": percent}})
    (c,) = kit.pod_spec(out.get("StatefulSet", "kubegrid-partition-1"))["containers"]
    assert kit.args_of(c)["java.heap"] == heap
    assert c["resources"]["limits"]["memory"] == memory


def test_persistence(rendered: Any, values: dict[str, Any]) -> None:
    persistence = values["persistence"]
    for n, sts in enumerate(rendered.partition_sets(), start=1):
        spec = sts["spec"]
        volumes = {v["name"]: v for v in kit.pod_spec(sts)["volumes"]}
        (c,) = kit.pod_spec(sts)["containers"]
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert mounts["/opt/gigaspaces/work"] == "work"
        if not persistence["enabled"]:
            assert "volumeClaimTemplates" not in spec
            assert "persistentVolumeClaimRetentionPolicy" not in spec
            assert volumes["work"] == {"name": "work", "emptyDir": {}}
            continue
        assert "work" not in volumes
        (claim,) = spec["volumeClaimTemplates"]
        assert claim["metadata"] == {"name": "work", "labels": _partition_selector(n)}
        assert claim["spec"]["resources"]["requests"]["storage"] == persistence["size"]
        assert claim["spec"]["accessModes"] == persistence["accessModes"]
        if persistence["storageClass"]:
            assert claim["spec"]["storageClassName"] == persistence["storageClass"]
        else:
            assert "storageClassName" not in claim["spec"]
        assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    mgmt = rendered.get("StatefulSet", "kubegrid-manager")["spec"]
    if persistence["enabled"]:
        assert mgmt["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == persistence[
            "managementSize"
        ]
        assert mgmt["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    else:
        assert "volumeClaimTemplates" not in mgmt


@pytest.mark.parametrize(("storage_class", "expected"), [("", None), ("-", ""), ("fast-ssd", "fast-ssd")])
def test_storage_class_forms(render: Any, storage_class: str, expected: str | None) -> None:
    out = render({"persistence": {"enabled": True, "storageClass": storage_class}})
    claim = out.get("StatefulSet", "kubegrid-partition-1")["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim.get("storageClassName") == expected


def test_headless_service_of_the_data_pods(rendered: Any) -> None:
    svc = rendered.get("Service", "kubegrid-partition-headless")
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["publishNotReadyAddresses"] is True
    assert svc["spec"]["selector"] == ALL_DATA_PODS


def test_sixteen_partitions() -> None:
    out = kit.render_scenario("partitions16")
    assert [s["metadata"]["name"] for s in out.partition_sets()] == [
        f"kubegrid-partition-{n}" for n in range(1, 17)
    ]
    assert len([b for b in out.of_kind("PodDisruptionBudget") if "partition" in b["metadata"]["name"]]) == 16
