"""Management pods: replicas, services, probes, HA placement and budget."""

from __future__ import annotations

from typing import Any

from tests.support import chart as kit

MANAGEMENT_SELECTOR = {
    "app.kubernetes.io/name": "kubegrid",
    "app.kubernetes.io/instance": "kubegrid",
    "app.kubernetes.io/component": "management",
}


def _management(rendered: Any) -> dict[str, Any]:
    return rendered.get("StatefulSet", "kubegrid-management")


def test_replicas_follow_ha(rendered: Any, values: dict[str, Any]) -> None:
    sts = _management(rendered)
    assert sts["spec"]["replicas"] == (3 if values["management"]["ha"] else 1)
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert sts["spec"]["serviceName"] == "kubegrid-management-headless"
    assert sts["spec"]["selector"]["matchLabels"] == MANAGEMENT_SELECTOR


def test_headless_service_publishes_not_ready_addresses(rendered: Any) -> None:
    svc = rendered.get("Service", "kubegrid-management-headless")
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["publishNotReadyAddresses"] is True
    assert svc["spec"]["selector"] == MANAGEMENT_SELECTOR
    ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
    assert ports == {
        "lus": 4174,
        "rest": 8090,
        "zk-client": 2181,
        "zk-peer": 2888,
        "zk-election": 3888,
        "lrmi": 8200,
    }


def test_client_service_exposes_the_rest_manager(rendered: Any, values: dict[str, Any]) -> None:
    svc = rendered.get("Service", "kubegrid-management")
    assert svc["spec"]["selector"] == MANAGEMENT_SELECTOR
    assert "clusterIP" not in svc["spec"]
    ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
    expected = {"rest": 8090}
    if values["metrics"]["enabled"]:
        expected["metrics"] = values["metrics"]["port"]
    assert ports == expected


def test_container_ports_and_probes(rendered: Any) -> None:
    (c,) = kit.pod_spec(_management(rendered))["containers"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert {"lus": 4174, "rest": 8090, "zk-client": 2181, "zk-peer": 2888, "zk-election": 3888}.items() <= ports.items()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/v2/info", "port": "rest"}, probe
    # Liveness gives up later than readiness: a slow manager leaves the
    # Services before it is restarted.
    live, ready = c["livenessProbe"], c["readinessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] > ready["periodSeconds"] * ready["failureThreshold"]


def test_entrypoint_contract(rendered: Any, values: dict[str, Any]) -> None:
    (c,) = kit.pod_spec(_management(rendered))["containers"]
    assert c["command"] == ["tools/kubernetes/entrypoint.sh"]
    assert c["workingDir"] == "/opt/gigaspaces"
    args = kit.args_of(c)
    m = values["management"]
    assert args["component"] == "manager"
    assert args["manager.name"] == "kubegrid-management"
    assert args["manager.ha"] == str(m["ha"]).lower()
    assert args["release.namespace"] == "kubegrid"
    heap = kit.quantity_mib(m["memory"]) * m["heapPercent"] // 100
    assert args["java.heap"] == f"{heap}m"


def test_lookup_locators_follow_the_naming_contract(rendered: Any, values: dict[str, Any]) -> None:
    replicas = 3 if values["management"]["ha"] else 1
    hosts = [
        f"kubegrid-management-{i}.kubegrid-management-headless.kubegrid.svc.cluster.local"
        for i in range(replicas)
    ]
    for obj in rendered.workloads():
        if obj["kind"] == "Pod":
            continue
        for c in kit.pod_spec(obj)["containers"]:
            env = kit.env_of(c)
            assert env["GS_MANAGER_SERVERS"]["value"] == ",".join(hosts)
            assert env["GS_LOOKUP_LOCATORS"]["value"] == ",".join(f"{h}:4174" for h in hosts)


def test_resources_are_guaranteed(rendered: Any, values: dict[str, Any]) -> None:
    (c,) = kit.pod_spec(_management(rendered))["containers"]
    m = values["management"]
    assert c["resources"]["requests"] == c["resources"]["limits"] == {"cpu": str(m["cpu"]), "memory": m["memory"]}


def test_ha_placement_and_budget(rendered: Any, values: dict[str, Any]) -> None:
    spec = kit.pod_spec(_management(rendered))
    pdb = rendered.find("PodDisruptionBudget", "kubegrid-management")
    if not values["management"]["ha"]:
        assert "affinity" not in spec
        assert "topologySpreadConstraints" not in spec
        assert pdb is None  # a budget on a single manager would block every drain
        return
    (term,) = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"] == MANAGEMENT_SELECTOR
    (spread,) = spec["topologySpreadConstraints"]
    assert spread["topologyKey"] == "topology.kubernetes.io/zone"
    assert spread["maxSkew"] == 1
    assert spread["whenUnsatisfiable"] == values["management"]["zoneSpreadPolicy"]
    assert spread["labelSelector"]["matchLabels"] == MANAGEMENT_SELECTOR
    assert pdb["spec"]["minAvailable"] == 2
    assert "maxUnavailable" not in pdb["spec"]
    assert pdb["spec"]["selector"]["matchLabels"] == MANAGEMENT_SELECTOR


def test_ha_zone_spread_default_is_a_preference(render: Any) -> None:
    spec = kit.pod_spec(render({"management": {"ha": True}}).get("StatefulSet", "kubegrid-management"))
    assert spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"


def test_manager_advertises_its_stable_dns_name(rendered: Any) -> None:
    (c,) = kit.pod_spec(_management(rendered))["containers"]
    env = kit.env_of(c)
    assert env["KUBEGRID_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["GS_NIC_ADDRESS"]["value"] == (
        "$(KUBEGRID_POD_NAME).kubegrid-management-headless.kubegrid.svc.cluster.local"
    )
    names = [e["name"] for e in c["env"]]
    assert names.index("KUBEGRID_POD_NAME") < names.index("GS_NIC_ADDRESS")


def test_cluster_domain_is_configurable(render: Any) -> None:
    out = render({"clusterDomain": "corp.internal"})
    (c,) = kit.pod_spec(out.get("StatefulSet", "kubegrid-partition-1"))["containers"]
    assert kit.env_of(c)["GS_LOOKUP_LOCATORS"]["value"] == (
        "kubegrid-management-0.kubegrid-management-headless.kubegrid.svc.corp.internal:4174"
    )
