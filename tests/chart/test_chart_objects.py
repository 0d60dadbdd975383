"""Every rendered object is valid for Kubernetes 1.34 (strict), named per the
contract, labelled per the conventions, in the release namespace."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from components.offline.check import crd_schema
from tests.support import chart as kit

CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding", "Namespace", "PersistentVolume", "StorageClass"}
NODE_READER = "kubegrid-management-kubegrid-nodes"
"""The one cluster-scoped pair the chart creates (managers read nodes, as GigaSpaces' do)."""
SELECTOR_KEYS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "kubegrid.io/partition",
}


def _custom_validators() -> dict[tuple[str, str], jsonschema.Draft202012Validator]:
    schema = crd_schema("monitoring.coreos.com/v1", "ServiceMonitor")
    return {("monitoring.coreos.com/v1", "ServiceMonitor"): jsonschema.Draft202012Validator(schema)}


def test_every_object_is_valid_for_the_stack_kubernetes_version(rendered: Any) -> None:
    custom = _custom_validators()
    for obj in rendered.objects:
        key = (obj["apiVersion"], obj["kind"])
        if key in custom:
            custom[key].validate(obj)
            continue
        kubernetes_validate.validate(obj, kit.KUBE_VERSION, strict=True)


def test_strict_validation_catches_unknown_fields() -> None:
    """The validators used above do reject an unknown field."""
    sts = kit.render_scenario("minimal").get("StatefulSet", "kubegrid-manager")
    broken = json.loads(json.dumps(sts))
    broken["spec"]["template"]["spec"]["containers"][0]["memoryLimit"] = "4Gi"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kit.KUBE_VERSION, strict=True)
    monitor = kit.render_scenario("ha").get("ServiceMonitor", "kubegrid")
    broken = json.loads(json.dumps(monitor))
    broken["spec"]["endpoints"][0]["scrapeEvery"] = "30s"
    with pytest.raises(jsonschema.ValidationError):
        _custom_validators()[("monitoring.coreos.com/v1", "ServiceMonitor")].validate(broken)


def test_objects_live_in_the_release_namespace(rendered: Any, values: dict[str, Any]) -> None:
    cluster_scoped = set()
    for obj in rendered.objects:
        if obj["kind"] in CLUSTER_SCOPED:
            assert "namespace" not in obj["metadata"]
            cluster_scoped.add((obj["kind"], obj["metadata"]["name"]))
            continue
        assert obj["metadata"]["namespace"] == kit.NAMESPACE
    expected = {("ClusterRole", NODE_READER), ("ClusterRoleBinding", NODE_READER)}
    assert cluster_scoped == (expected if values["management"]["rbac"]["nodes"] else set())


def test_object_names_are_unique(rendered: Any) -> None:
    keys = [(o["kind"], o["metadata"]["name"]) for o in rendered.objects]
    assert len(keys) == len(set(keys))


def test_standard_labels_on_every_object(rendered: Any, values: dict[str, Any]) -> None:
    for obj in rendered.objects:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "kubegrid"
        assert labels["app.kubernetes.io/instance"] == "kubegrid"
        assert labels["app.kubernetes.io/component"]
        assert labels["app.kubernetes.io/version"] == values["version"]
        assert labels["app.kubernetes.io/part-of"] == "kubegrid"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"] == "kubegrid-1.0.0"


def _selectors(obj: dict[str, Any]) -> list[dict[str, str]]:
    spec = obj.get("spec", {})
    kind = obj["kind"]
    if kind in ("StatefulSet", "Deployment", "PodDisruptionBudget"):
        return [spec["selector"]["matchLabels"]]
    if kind == "Service":
        return [spec["selector"]]
    if kind == "NetworkPolicy":
        return [spec["podSelector"]["matchLabels"]]
    if kind == "ServiceMonitor":
        return [spec["selector"]["matchLabels"]]
    return []


def test_selectors_never_carry_a_version_label(rendered: Any) -> None:
    for obj in rendered.objects:
        for selector in _selectors(obj):
            assert set(selector) <= SELECTOR_KEYS | {"kubegrid.io/scrape"}, obj["metadata"]["name"]
            assert "helm.sh/chart" not in selector
            assert "app.kubernetes.io/version" not in selector


def test_pod_templates_carry_no_version_label(rendered: Any) -> None:
    """A chart bump that leaves the pod spec alone restarts nothing."""
    for obj in rendered.workloads():
        if obj["kind"] == "Pod":
            continue
        labels = kit.pod_labels(obj)
        assert "helm.sh/chart" not in labels
        assert "app.kubernetes.io/version" not in labels
        assert kit.selector_matches(obj["spec"]["selector"]["matchLabels"], labels)


def test_naming_contract_for_release_kubegrid(rendered: Any, values: dict[str, Any]) -> None:
    assert rendered.find("StatefulSet", "kubegrid-manager")
    assert rendered.get("Service", "kubegrid-manager-hs")["spec"]["clusterIP"] == "None"
    assert rendered.get("Service", "kubegrid-manager-insightedge-manager-hs")["spec"]["clusterIP"] == "None"
    rest = rendered.get("Service", "kubegrid-manager-service")
    assert [p["port"] for p in rest["spec"]["ports"]][:2] == [8090, 4174]
    names = [o["metadata"]["name"] for o in rendered.partition_sets()]
    assert names == [f"kubegrid-partition-{n}" for n in range(1, values["partitions"]["count"] + 1)]
    for n, sts in enumerate(rendered.partition_sets(), start=1):
        assert sts["metadata"]["labels"]["kubegrid.io/partition"] == str(n)
        assert sts["spec"]["template"]["metadata"]["labels"]["kubegrid.io/partition"] == str(n)


@pytest.mark.parametrize(
    ("release", "overrides", "fullname"),
    [
        ("kubegrid", {}, "kubegrid"),
        ("kubegrid-prod", {}, "kubegrid-prod"),
        ("grid", {}, "grid-kubegrid"),
        ("grid", {"fullnameOverride": "dg"}, "dg"),
        ("grid", {"nameOverride": "xap"}, "grid-xap"),
    ],
)
def test_fullname_rule(render: Any, release: str, overrides: dict[str, Any], fullname: str) -> None:
    out = render(overrides, name=release)
    assert out.get("StatefulSet", f"{fullname}-manager")
    assert out.get("Service", f"{fullname}-manager-hs")
    assert out.get("Service", f"{fullname}-manager-service")
    assert out.get("Service", f"{fullname}-manager-insightedge-manager-hs")
    assert out.get("StatefulSet", f"{fullname}-partition-1")


def test_images_are_pinned(rendered: Any) -> None:
    for _, spec in kit.iter_pod_specs(rendered):
        for c in kit.all_containers(spec):
            if "image" not in c:  # Spark's executor template: Spark sets the image
                continue
            repo, _, tag = c["image"].rpartition(":")
            assert repo and tag and tag != "latest", c["image"]


def test_image_digest_is_appended(render: Any) -> None:
    digest = "sha256:" + "a" * 64
    out = render({"image": {"digest": digest}})
    sts = out.get("StatefulSet", "kubegrid-partition-1")
    assert kit.pod_spec(sts)["containers"][0]["image"] == f"gigaspaces/smart-cache-enterprise:16.4.0@{digest}"


@pytest.mark.parametrize(
    ("overrides", "grid", "notebook"),
    [
        ({}, "gigaspaces/smart-cache-enterprise:16.4.0", "gigaspaces/insightedge-enterprise:16.4.0"),
        ({"product": "insightedge", "version": "16.2.1"},
         "gigaspaces/insightedge-enterprise:16.2.1", "gigaspaces/insightedge-enterprise:16.2.1"),
        ({"version": "16.0.0", "image": {"repository": "mirror.example.com/gs/smart-cache-enterprise"},
          "zeppelin": {"image": {"repository": "mirror.example.com/gs/insightedge-enterprise", "tag": "16.3.0"}}},
         "mirror.example.com/gs/smart-cache-enterprise:16.0.0", "mirror.example.com/gs/insightedge-enterprise:16.3.0"),
    ],
)
def test_images_follow_product_and_version(render: Any, overrides: dict[str, Any], grid: str, notebook: str) -> None:
    """The version is the tag of every GigaSpaces image; the product picks the grid image."""
    out = render({**overrides, "zeppelin": {**overrides.get("zeppelin", {}), "enabled": True}})
    for sts in out.of_kind("StatefulSet"):
        assert {c["image"] for c in kit.all_containers(kit.pod_spec(sts))} == {grid}
    assert {c["image"] for c in kit.all_containers(kit.pod_spec(out.get("Deployment", "kubegrid-zeppelin")))} == {notebook}


def test_no_horizontal_pod_autoscaler(rendered: Any) -> None:
    assert rendered.of_kind("HorizontalPodAutoscaler") == []


def test_common_labels_and_annotations_reach_every_object_but_no_selector(render: Any) -> None:
    out = render(
        {
            "commonLabels": {"team": "data"},
            "commonAnnotations": {"owner": "platform"},
            "zeppelin": {"enabled": True},
            "ingress": {"enabled": True},
            "metrics": {"enabled": True, "serviceMonitor": {"enabled": True}},
        }
    )
    for obj in out.objects:
        assert obj["metadata"]["labels"]["team"] == "data", obj["metadata"]["name"]
        assert obj["metadata"]["annotations"]["owner"] == "platform", obj["metadata"]["name"]
        for selector in _selectors(obj):
            assert "team" not in selector
