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
    return rendered.get("StatefulSet", "kubegrid-manager")


def test_replicas_follow_ha(rendered: Any, values: dict[str, Any]) -> None:
    sts = _management(rendered)
    assert sts["spec"]["replicas"] == (3 if values["management"]["ha"] else 1)
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert sts["spec"]["serviceName"] == "kubegrid-manager-hs"
    assert sts["spec"]["selector"]["matchLabels"] == MANAGEMENT_SELECTOR


def test_headless_service_publishes_not_ready_addresses(rendered: Any) -> None:
    svc = rendered.get("Service", "kubegrid-manager-hs")
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


def test_spark_locator_service_is_the_managers_lookup_port(rendered: Any) -> None:
    """The 16.3+ Spark connector derives "<M>-insightedge-manager-hs" from spark.insightedge.space.manager=M."""
    svc = rendered.get("Service", "kubegrid-manager-insightedge-manager-hs")
    assert svc["spec"]["clusterIP"] == "None"
    assert svc["spec"]["publishNotReadyAddresses"] is True
    assert svc["spec"]["selector"] == MANAGEMENT_SELECTOR
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [("lus", 4174, "lus")]


def test_client_service_exposes_the_rest_manager_and_lookup(rendered: Any, values: dict[str, Any]) -> None:
    svc = rendered.get("Service", "kubegrid-manager-service")
    assert svc["spec"]["selector"] == MANAGEMENT_SELECTOR
    assert "clusterIP" not in svc["spec"]
    ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
    expected = {"rest": 8090, "lus": 4174}
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
    m = values["management"]
    heap = m["javaHeap"] or f"{kit.quantity_mib(m['memory']) * m['heapPercent'] // 100}m"
    # GigaSpaces' manager chart's arguments, in its order.
    assert c["args"] == [
        "component=manager",
        "verbose=true",
        f"java.heap={heap}",
        f"managerReplicas={3 if m['ha'] else 1}",
        "release.namespace=kubegrid",
        "name=kubegrid-manager",
        "full.name=kubegrid-manager",
    ]
    env = kit.env_of(c)
    assert env["POST_CLASSPATH"]["value"] == "/opt/gigaspaces/lib/platform/kubernetes/*"
    options = env["GS_OPTIONS_EXT"]["value"].split()
    assert options[:2] == ["-Dcom.gs.multicast.enabled=false", "-Dcom.gs.transport_protocol.lrmi.bind-port=8200-8299"]
    assert "GS_LOOKUP_LOCATORS" not in env  # GigaSpaces: not next to GS_MANAGER_SERVERS


def test_extra_args_and_heap_form(render: Any) -> None:
    out = render({"management": {"javaHeap": "limit-150Mi", "extraArgs": ["securityService.enabled=false"]}})
    (c,) = kit.pod_spec(out.get("StatefulSet", "kubegrid-manager"))["containers"]
    assert "java.heap=limit-150Mi" in c["args"]
    assert c["args"][-1] == "securityService.enabled=false"


def test_lookup_locators_follow_the_naming_contract(rendered: Any, values: dict[str, Any]) -> None:
    replicas = 3 if values["management"]["ha"] else 1
    hosts = [
        f"kubegrid-manager-{i}.kubegrid-manager-hs.kubegrid.svc.cluster.local"
        for i in range(replicas)
    ]
    for obj in rendered.workloads():
        if obj["kind"] == "Pod":
            continue
        for c in kit.all_containers(kit.pod_spec(obj)):
            if c["name"] == "seed-writable-dirs":
                continue
            env = kit.env_of(c)
            assert env["GS_MANAGER_SERVERS"]["value"] == ",".join(hosts)
            assert "GS_LOOKUP_LOCATORS" not in env


def test_resources_are_guaranteed(rendered: Any, values: dict[str, Any]) -> None:
    m = values["management"]
    for c in kit.all_containers(kit.pod_spec(_management(rendered))):
        assert c["resources"]["requests"] == c["resources"]["limits"] == {"cpu": str(m["cpu"]), "memory": m["memory"]}


def test_ha_placement_and_budget(rendered: Any, values: dict[str, Any]) -> None:
    spec = kit.pod_spec(_management(rendered))
    pdb = rendered.find("PodDisruptionBudget", "kubegrid-manager")
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
    spec = kit.pod_spec(render({"management": {"ha": True}}).get("StatefulSet", "kubegrid-manager"))
    assert spec["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "ScheduleAnyway"


def test_manager_advertises_its_stable_dns_name(rendered: Any) -> None:
    (c,) = kit.pod_spec(_management(rendered))["containers"]
    env = kit.env_of(c)
    assert env["KUBEGRID_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["GS_NIC_ADDRESS"]["value"] == (
        "$(KUBEGRID_POD_NAME).kubegrid-manager-hs.kubegrid.svc.cluster.local"
    )
    names = [e["name"] for e in c["env"]]
    assert names.index("KUBEGRID_POD_NAME") < names.index("GS_NIC_ADDRESS")


def test_cluster_domain_is_configurable(render: Any) -> None:
    out = render({"clusterDomain": "corp.internal"})
    (c,) = kit.pod_spec(out.get("StatefulSet", "kubegrid-partition-1"))["containers"]
    assert kit.env_of(c)["GS_MANAGER_SERVERS"]["value"] == "kubegrid-manager-0.kubegrid-manager-hs.kubegrid.svc.corp.internal"


def test_names_derive_from_the_manager_name(render: Any) -> None:
    """GigaSpaces derives M-hs and M-service from manager.name, so renaming M moves them all."""
    out = render({"names": {"management": "grid-mgr"}})
    sts = out.get("StatefulSet", "grid-mgr")
    assert sts["spec"]["serviceName"] == "grid-mgr-hs"
    assert {s["metadata"]["name"] for s in out.of_kind("Service")} >= {
        "grid-mgr-hs", "grid-mgr-service", "grid-mgr-insightedge-manager-hs"}
    (c,) = kit.pod_spec(out.get("StatefulSet", "kubegrid-partition-1"))["containers"]
    assert kit.args_of(c)["manager.name"] == "grid-mgr"
