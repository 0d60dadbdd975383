"""Optional parts: Zeppelin, ServiceMonitor, Ingress; the helm test pod and
NOTES.txt."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.support import chart as kit

LOCATORS = "kubegrid-management-0.kubegrid-management-headless.kubegrid.svc.cluster.local:4174"


def _spark_defaults(render: Any) -> dict[str, str]:
    cm = render.get("ConfigMap", "kubegrid-zeppelin-spark")
    conf = {}
    for line in cm["data"]["spark-defaults.conf"].splitlines():
        if line.strip():
            key, value = line.split(None, 1)
            conf[key] = value.strip()
    return conf


def test_zeppelin_is_off_by_default(render: Any) -> None:
    out = render({})
    assert not [o for o in out.objects if "zeppelin" in o["metadata"]["name"]]


def test_zeppelin_deployment_and_service() -> None:
    out = kit.render_scenario("zeppelin")
    deploy = out.get("Deployment", "kubegrid-zeppelin")
    spec = kit.pod_spec(deploy)
    (c,) = spec["containers"]
    assert c["image"] == "gigaspaces/insightedge-enterprise:16.4.0"
    assert {"name": "http", "containerPort": 9090, "protocol": "TCP"} in c["ports"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/api/version", "port": "http"}
    assert c["resources"]["requests"] == c["resources"]["limits"]
    env = kit.env_of(c)
    assert env["ZEPPELIN_PORT"]["value"] == "9090"
    assert env["SPARK_CONF_DIR"]["value"] == "/etc/kubegrid/spark"
    assert env["SPARK_MASTER"]["value"].startswith("k8s://https://kubernetes.default.svc")
    assert env["GS_LOOKUP_LOCATORS"]["value"] == LOCATORS
    assert "secretKeyRef" in env["GS_LICENSE"]["valueFrom"]
    assert spec["serviceAccountName"] == "kubegrid-zeppelin"
    svc = out.get("Service", "kubegrid-zeppelin")
    ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
    assert ports == {"http": 9090, "spark-driver": 22321, "spark-blockmgr": 22322}
    assert svc["spec"]["selector"] == deploy["spec"]["selector"]["matchLabels"]


def test_zeppelin_spark_reaches_the_grid_and_runs_in_the_cluster() -> None:
    conf = _spark_defaults(kit.render_scenario("zeppelin"))
    assert conf["spark.master"] == "k8s://https://kubernetes.default.svc.cluster.local:443"
    assert conf["spark.submit.deployMode"] == "client"
    assert conf["spark.kubernetes.namespace"] == "kubegrid"
    assert conf["spark.kubernetes.container.image"] == "gigaspaces/insightedge-enterprise:16.4.0"
    assert conf["spark.insightedge.space.name"] == "kubegrid-space"
    assert conf["spark.insightedge.space.lookup.locators"] == LOCATORS
    assert conf["spark.driver.host"] == "kubegrid-zeppelin.kubegrid.svc.cluster.local"
    assert conf["spark.driver.port"] == "22321"
    assert conf["spark.executor.instances"] == "3"
    assert conf["spark.sql.shuffle.partitions"] == "32"  # zeppelin.spark.conf
    assert conf["spark.kubernetes.executor.podTemplateFile"] == "/etc/kubegrid/spark/executor-pod-template.yaml"


def test_spark_executors_are_grid_pods_for_the_policies() -> None:
    out = kit.render_scenario("zeppelin")
    template = yaml.safe_load(out.get("ConfigMap", "kubegrid-zeppelin-spark")["data"]["executor-pod-template.yaml"])
    labels = template["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "spark-executor"
    grid_rule = out.get("NetworkPolicy", "kubegrid-partition")["spec"]["ingress"][0]["from"][0]
    assert kit.selector_matches(grid_rule["podSelector"]["matchLabels"], labels)
    # ... and the driver in the Zeppelin pod accepts them back.
    zeppelin = out.get("NetworkPolicy", "kubegrid-zeppelin")
    driver_rule = next(r for r in zeppelin["spec"]["ingress"] if {"port": 22321, "protocol": "TCP"} in r["ports"])
    assert kit.selector_matches(driver_rule["from"][0]["podSelector"]["matchLabels"], labels)


def test_zeppelin_role_lets_the_driver_manage_executors() -> None:
    out = kit.render_scenario("zeppelin")
    (rule,) = out.get("Role", "kubegrid-zeppelin")["rules"]
    assert set(rule["resources"]) == {"pods", "configmaps"}
    assert {"create", "delete", "watch"} <= set(rule["verbs"])
    binding = out.get("RoleBinding", "kubegrid-zeppelin")
    assert binding["subjects"][0]["name"] == "kubegrid-zeppelin"


def test_zeppelin_notebooks_on_an_existing_claim(render: Any) -> None:
    out = render({"zeppelin": {"enabled": True, "notebookExistingClaim": "notebooks"}})
    spec = kit.pod_spec(out.get("Deployment", "kubegrid-zeppelin"))
    assert {"name": "notebooks", "persistentVolumeClaim": {"claimName": "notebooks"}} in spec["volumes"]
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["/var/lib/zeppelin/notebook"] == "notebooks"


def test_spark_config_change_rolls_zeppelin(render: Any) -> None:
    def checksum(instances: int) -> str:
        out = render({"zeppelin": {"enabled": True, "spark": {"executorInstances": instances}}})
        return out.get("Deployment", "kubegrid-zeppelin")["spec"]["template"]["metadata"]["annotations"][
            "checksum/spark-config"
        ]

    assert checksum(2) != checksum(4)


def test_service_monitor() -> None:
    out = kit.render_scenario("ha")
    monitor = out.get("ServiceMonitor", "kubegrid")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics"
    scraped = [
        s["metadata"]["name"]
        for s in out.of_kind("Service")
        if kit.selector_matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
    ]
    assert sorted(scraped) == ["kubegrid-management", "kubegrid-partition-headless"]
    for name in scraped:
        assert "metrics" in {p["name"] for p in out.get("Service", name)["spec"]["ports"]}
    for obj in out.of_kind("StatefulSet"):
        (c,) = kit.pod_spec(obj)["containers"]
        assert {"name": "metrics", "containerPort": 9404, "protocol": "TCP"} in c["ports"]


def test_no_service_monitor_by_default(render: Any) -> None:
    assert render({}).of_kind("ServiceMonitor") == []


def test_ingress_for_the_rest_manager() -> None:
    ingress = kit.render_scenario("ha").get("Ingress", "kubegrid-management")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "kubegrid.example.com"
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": "kubegrid-management", "port": {"name": "rest"}}}
    assert ingress["spec"]["tls"] == [{"hosts": ["kubegrid.example.com"], "secretName": "kubegrid-management-tls"}]


def test_helm_test_pod_checks_rest_and_every_lookup_service(rendered: Any, values: dict[str, Any]) -> None:
    pod = rendered.get("Pod", "kubegrid-test-grid")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "curlimages/curl:8.11.1"
    script = c["args"][0]
    assert "http://kubegrid-management.kubegrid.svc.cluster.local:8090/v2/info" in script
    assert "curl -fsS" in script
    replicas = 3 if values["management"]["ha"] else 1
    hosts = re.search(r"for host in (.*); do", script).group(1).split()
    assert hosts == [
        f"kubegrid-management-{i}.kubegrid-management-headless.kubegrid.svc.cluster.local" for i in range(replicas)
    ]
    assert "telnet://${host}:4174" in script
    assert "exit 1" in script


def test_notes_tell_how_to_reach_rest_and_connect_spark(rendered: Any, values: dict[str, Any]) -> None:
    notes = rendered.notes
    assert "kubectl -n kubegrid port-forward svc/kubegrid-management 8090:8090" in notes
    assert "/v2/info" in notes
    assert f"spark.insightedge.space.name={values['partitions']['spaceName']}" in notes
    assert "spark.insightedge.space.lookup.locators=kubegrid-management-0.kubegrid-management-headless" in notes
    assert "kubectl label namespace <namespace> kubegrid.io/grid-client=true" in notes
    assert ("svc/kubegrid-zeppelin 9090:9090" in notes) is values["zeppelin"]["enabled"]


@pytest.mark.parametrize("kind", ["HorizontalPodAutoscaler", "VerticalPodAutoscaler"])
def test_no_autoscaler_in_any_scenario(kind: str) -> None:
    for scenario in kit.SCENARIOS:
        assert kit.render_scenario(scenario).of_kind(kind) == []
