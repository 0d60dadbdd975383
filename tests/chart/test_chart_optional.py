"""Optional parts: Zeppelin, ServiceMonitor, Ingress; the helm test pod and
NOTES.txt."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support import chart as kit

M = "kubegrid-manager"
ZEPPELIN_HOME = "/opt/gigaspaces/insightedge/zeppelin"


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
    assert c["command"] == ["/bin/bash", "-c"]
    assert c["args"] == [f". /opt/gigaspaces/insightedge/conf/insightedge-env.sh && exec {ZEPPELIN_HOME}/bin/zeppelin.sh"]
    assert {"name": "http", "containerPort": 9090, "protocol": "TCP"} in c["ports"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/api/version", "port": "http"}
    assert c["resources"]["requests"] == c["resources"]["limits"]
    env = kit.env_of(c)
    assert env["ZEPPELIN_PORT"]["value"] == "9090"
    assert env["SPARK_USER"]["value"] == "gs_user"
    assert env["MASTER"]["value"] == "local[*]"
    assert env["GS_MANAGER_SERVERS"]["value"] == f"{M}-0.{M}-hs.kubegrid.svc.cluster.local"
    assert "ZEPPELIN_CONFIG_FS_DIR" not in env  # a Zeppelin 0.9 setting; the image has 0.8.2
    assert "secretKeyRef" in env["GS_LICENSE"]["valueFrom"]
    assert spec["serviceAccountName"] == "kubegrid-zeppelin"
    svc = out.get("Service", "kubegrid-zeppelin")
    ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
    assert ports == {"http": 9090}
    assert svc["spec"]["selector"] == deploy["spec"]["selector"]["matchLabels"]


def test_zeppelin_writes_only_to_volumes(rendered: Any, values: dict[str, Any]) -> None:
    deploy = rendered.find("Deployment", "kubegrid-zeppelin")
    if deploy is None:
        return
    spec = kit.pod_spec(deploy)
    (c,) = spec["containers"]
    env = kit.env_of(c)
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    writable = [env[k]["value"] for k in ("ZEPPELIN_CONF_DIR", "ZEPPELIN_NOTEBOOK_DIR", "ZEPPELIN_LOG_DIR",
                                          "ZEPPELIN_PID_DIR", "ZEPPELIN_WAR_TEMPDIR", "ZEPPELIN_INTERPRETER_LOCALREPO",
                                          "SPARK_LOCAL_DIRS", "HOME")] + [c["workingDir"]]
    for path in writable:
        assert path in mounts, path
        assert not mounts[path].get("readOnly", False)
        volume = volumes[mounts[path]["name"]]
        assert "emptyDir" in volume or "persistentVolumeClaim" in volume, path
    assert c["securityContext"]["readOnlyRootFilesystem"] is values["zeppelin"]["readOnlyRootFilesystem"]
    # The image's conf (interpreter.json, zeppelin-env.sh) and demo notebooks are copied in first.
    (seed,) = spec["initContainers"]
    script = seed["args"][0]
    assert f"cp -R {ZEPPELIN_HOME}/conf/. /seed/zeppelin-conf/" in script
    assert f"cp -R {ZEPPELIN_HOME}/notebook/. /seed/notebook/" in script
    assert 'if [ -z "$(ls -A /seed/notebook)" ]' in script  # never over an existing claim's notes


def test_zeppelin_spark_runs_in_the_pod_and_finds_the_grid_by_manager_name() -> None:
    out = kit.render_scenario("zeppelin")
    conf = _spark_defaults(out)
    assert conf["spark.master"] == "local[*]"
    assert conf["spark.insightedge.space.name"] == "kubegrid-space"
    assert conf["spark.insightedge.space.manager"] == M
    assert not [k for k in conf if "lookup.locator" in k]  # not read by the 16.x connector
    assert conf["spark.sql.shuffle.partitions"] == "32"  # zeppelin.spark.conf
    assert not [k for k in conf if k.startswith("spark.kubernetes.")]
    # The connector looks the grid up through "<manager>-insightedge-manager-hs".
    assert out.get("Service", f"{M}-insightedge-manager-hs")
    (c,) = kit.pod_spec(out.get("Deployment", "kubegrid-zeppelin"))["containers"]
    mount = next(m for m in c["volumeMounts"] if m["name"] == "spark-config")
    assert mount == {"name": "spark-config", "mountPath": "/opt/gigaspaces/insightedge/spark/conf/spark-defaults.conf",
                     "subPath": "spark-defaults.conf", "readOnly": True}


def test_zeppelin_has_no_api_access() -> None:
    out = kit.render_scenario("zeppelin")
    assert out.find("Role", "kubegrid-zeppelin") is None
    assert out.find("RoleBinding", "kubegrid-zeppelin") is None
    policy = out.get("NetworkPolicy", "kubegrid-zeppelin")
    assert not [r for r in policy["spec"]["egress"] if {443, 6443} & {p["port"] for p in r.get("ports", [])}]


def test_zeppelin_spark_master_forms(render: Any) -> None:
    out = render({"zeppelin": {"enabled": True, "spark": {"master": "spark://spark-master.analytics:7077"}}})
    assert _spark_defaults(out)["spark.master"] == "spark://spark-master.analytics:7077"


def test_zeppelin_notebooks_on_an_existing_claim(render: Any) -> None:
    out = render({"zeppelin": {"enabled": True, "notebookExistingClaim": "notebooks"}})
    spec = kit.pod_spec(out.get("Deployment", "kubegrid-zeppelin"))
    assert {"name": "notebook", "persistentVolumeClaim": {"claimName": "notebooks"}} in spec["volumes"]
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    assert mounts[f"{ZEPPELIN_HOME}/notebook"] == "notebook"


def test_spark_config_change_rolls_zeppelin(render: Any) -> None:
    def checksum(partitions: str) -> str:
        out = render({"zeppelin": {"enabled": True, "spark": {"conf": {"spark.sql.shuffle.partitions": partitions}}}})
        return out.get("Deployment", "kubegrid-zeppelin")["spec"]["template"]["metadata"]["annotations"][
            "checksum/spark-config"
        ]

    assert checksum("8") != checksum("16")


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
    assert sorted(scraped) == ["kubegrid-manager-service", "kubegrid-partition-headless"]
    for name in scraped:
        assert "metrics" in {p["name"] for p in out.get("Service", name)["spec"]["ports"]}
    for obj in out.of_kind("StatefulSet"):
        (c,) = kit.pod_spec(obj)["containers"]
        assert {"name": "metrics", "containerPort": 9404, "protocol": "TCP"} in c["ports"]


def test_no_service_monitor_by_default(render: Any) -> None:
    assert render({}).of_kind("ServiceMonitor") == []


def test_ingress_for_the_rest_manager() -> None:
    ingress = kit.render_scenario("ha").get("Ingress", "kubegrid-manager")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "kubegrid.example.com"
    (path,) = rule["http"]["paths"]
    assert path["backend"] == {"service": {"name": "kubegrid-manager-service", "port": {"name": "rest"}}}
    assert ingress["spec"]["tls"] == [{"hosts": ["kubegrid.example.com"], "secretName": "kubegrid-manager-tls"}]


def test_helm_test_pod_checks_rest_and_every_lookup_service(rendered: Any, values: dict[str, Any]) -> None:
    pod = rendered.get("Pod", "kubegrid-test-grid")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "curlimages/curl:8.11.1"
    script = c["args"][0]
    assert "http://kubegrid-manager-service.kubegrid.svc.cluster.local:8090/v2/info" in script
    assert "curl -fsS" in script
    replicas = 3 if values["management"]["ha"] else 1
    hosts = re.search(r"for host in (.*); do", script).group(1).split()
    assert hosts == [
        f"kubegrid-manager-{i}.kubegrid-manager-hs.kubegrid.svc.cluster.local" for i in range(replicas)
    ]
    assert "telnet://${host}:4174" in script
    assert 'locator="kubegrid-manager-insightedge-manager-hs.kubegrid.svc.cluster.local"' in script
    assert "telnet://${locator}:4174" in script
    assert "exit 1" in script


def test_notes_tell_how_to_reach_rest_and_connect_spark(rendered: Any, values: dict[str, Any]) -> None:
    notes = rendered.notes
    assert "kubectl -n kubegrid port-forward svc/kubegrid-manager-service 8090:8090" in notes
    assert "/v2/info" in notes
    assert f"spark.insightedge.space.name={values['partitions']['spaceName']}" in notes
    assert "spark.insightedge.space.manager=kubegrid-manager" in notes
    assert "lookup.locators" not in notes
    assert "kubectl label namespace <namespace> kubegrid.io/grid-client=true" in notes
    assert ("svc/kubegrid-zeppelin 9090:9090" in notes) is values["zeppelin"]["enabled"]


@pytest.mark.parametrize("kind", ["HorizontalPodAutoscaler", "VerticalPodAutoscaler"])
def test_no_autoscaler_in_any_scenario(kind: str) -> None:
    for scenario in kit.SCENARIOS:
        assert kit.render_scenario(scenario).of_kind(kind) == []
