"""Restricted Pod Security, ServiceAccounts and tokens, RBAC, the license,
and NetworkPolicies."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.support import chart as kit
from tests.support.pod_security import restricted_violations

GRID_WRITABLE = {"/opt/gigaspaces/work", "/opt/gigaspaces/logs", "/opt/gigaspaces/deploy", "/tmp", "/home/gs_user"}
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
COMPONENT_OF = {"management": "management", "partition": "partitions", "zeppelin": "zeppelin"}


def _read_only_root(values: dict[str, Any], labels: dict[str, str]) -> bool:
    component = COMPONENT_OF.get(labels.get("app.kubernetes.io/component", ""))
    return values[component]["readOnlyRootFilesystem"] if component else True


def test_every_pod_meets_the_restricted_profile(rendered: Any, values: dict[str, Any]) -> None:
    for obj in rendered.workloads():
        spec = kit.pod_spec(obj)
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        read_only = _read_only_root(values, kit.pod_labels(obj))
        assert restricted_violations(spec, read_only_root=read_only) == [], name
        assert restricted_violations(spec, read_only_root=False) == [], name
        psc = spec["securityContext"]
        assert psc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert psc["runAsNonRoot"] is True
        # gs_user and gs_group of GigaSpaces' 16.x images, numeric so runAsNonRoot is verifiable.
        assert (psc["runAsUser"], psc["runAsGroup"], psc["fsGroup"]) == (1000, 2000, 2000)
        for c in kit.all_containers(spec):
            assert c["securityContext"]["readOnlyRootFilesystem"] is read_only, (name, c["name"])


def test_the_restricted_check_catches_violations() -> None:
    spec = json.loads(json.dumps(kit.pod_spec(kit.render_scenario("minimal").get("StatefulSet", "kubegrid-partition-1"))))
    c = spec["containers"][0]
    c["securityContext"]["allowPrivilegeEscalation"] = True
    c["securityContext"]["capabilities"] = {"add": ["SYS_ADMIN"]}
    spec["volumes"].append({"name": "host", "hostPath": {"path": "/"}})
    assert restricted_violations(spec) == [  # the API server's PodSecurity admission, in its words
        'allowPrivilegeEscalation != false (container "partition" must set securityContext.allowPrivilegeEscalation=false)',
        'unrestricted capabilities (container "partition" must set securityContext.capabilities.drop=["ALL"]; '
        'container "partition" must not include "SYS_ADMIN" in securityContext.capabilities.add)',
        'restricted volume types (volume "host" uses restricted volume type "hostPath")']


def test_grid_containers_write_only_to_volumes(rendered: Any, values: dict[str, Any]) -> None:
    for obj in rendered.of_kind("StatefulSet"):
        spec = kit.pod_spec(obj)
        volumes = {v["name"]: v for v in spec["volumes"]}
        claims = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
        for c in kit.all_containers(spec):
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            if c["name"] == "seed-writable-dirs":
                # Copies the image's deploy/ into the volume the grid containers mount over it.
                assert mounts == {"/seed/deploy": {"name": "deploy", "mountPath": "/seed/deploy"}}
                assert c["args"] == ["if [ -d /opt/gigaspaces/deploy ]; then cp -R /opt/gigaspaces/deploy/. /seed/deploy/; fi\n"]
                continue
            assert GRID_WRITABLE <= set(mounts), (obj["metadata"]["name"], c["name"])
            for path in GRID_WRITABLE:
                name = mounts[path]["name"]
                assert name in claims or "emptyDir" in volumes[name], path
                assert not mounts[path].get("readOnly", False)
            assert kit.env_of(c)["HOME"]["value"] == "/home/gs_user"
        if values["persistence"]["enabled"]:
            assert "work" in claims and "work" not in volumes


def test_service_accounts_do_not_automount_tokens(rendered: Any) -> None:
    accounts = rendered.of_kind("ServiceAccount")
    assert {a["metadata"]["name"] for a in accounts} >= {"kubegrid", "kubegrid-management", "kubegrid-partition"}
    for account in accounts:
        assert account["automountServiceAccountToken"] is False


def _token_volume(spec: dict[str, Any]) -> dict[str, Any] | None:
    for v in spec.get("volumes", []):
        for source in v.get("projected", {}).get("sources", []):
            if "serviceAccountToken" in source:
                return v
    return None


def test_api_token_only_where_the_api_is_used(rendered: Any, values: dict[str, Any]) -> None:
    users = {"StatefulSet/kubegrid-manager"} | {f"StatefulSet/{s['metadata']['name']}" for s in rendered.partition_sets()}
    for obj in rendered.workloads():
        key = f"{obj['kind']}/{obj['metadata']['name']}"
        spec = kit.pod_spec(obj)
        assert spec["automountServiceAccountToken"] is False, key
        assert spec.get("serviceAccountName"), key
        volume = _token_volume(spec)
        mounted = {c["name"] for c in kit.all_containers(spec) for m in c.get("volumeMounts", []) if m["mountPath"] == TOKEN_PATH}
        if key in users:
            assert volume is not None, key
            assert mounted == {c["name"] for c in kit.all_containers(spec)} - {"seed-writable-dirs"}, key
            token = next(s for s in volume["projected"]["sources"] if "serviceAccountToken" in s)
            assert token["serviceAccountToken"]["expirationSeconds"] == values["serviceAccount"]["tokenExpirationSeconds"]
        else:
            assert volume is None and not mounted, key
    data_accounts = {kit.pod_spec(s)["serviceAccountName"] for s in rendered.partition_sets()}
    assert data_accounts == {"kubegrid-partition"}
    bound = {s["name"] for b in rendered.of_kind("RoleBinding") + rendered.of_kind("ClusterRoleBinding") for s in b["subjects"]}
    assert bound == {"kubegrid-management", "kubegrid-partition"}  # the test and Zeppelin accounts have no rights


def _rules(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


def _grid(groups: str, resources: str, verbs: str) -> set[tuple[str, str, str]]:
    return {(g, r, v) for g in groups.split(",") for r in resources.split(",") for v in verbs.split(",")}


def test_rbac_is_minimal_and_bound_to_our_accounts_only(rendered: Any, values: dict[str, Any]) -> None:
    for role in rendered.of_kind("Role") + rendered.of_kind("ClusterRole"):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[field], role["metadata"]["name"]
            assert "secrets" not in rule["resources"]
            assert not {"bind", "escalate", "impersonate", "create", "update"} & set(rule["verbs"])
    for binding in rendered.of_kind("RoleBinding") + rendered.of_kind("ClusterRoleBinding"):
        # Never a group (GigaSpaces' charts bind system:serviceaccounts[:<ns>]), never another namespace.
        assert [s["kind"] for s in binding["subjects"]] == ["ServiceAccount"]
        assert binding["subjects"][0]["namespace"] == "kubegrid"
        assert binding["metadata"].get("namespace", "kubegrid") == "kubegrid"  # no kube-system `view`
        assert binding["roleRef"]["name"] not in ("view", "edit", "admin", "cluster-admin")
    rbac = values["management"]["rbac"]
    expected = _grid("", "pods,services,endpoints,serviceaccounts", "get,list,watch")
    if rbac["patchSupport"]:
        expected |= _grid("apps", "statefulsets", "get,list,patch") | _grid("", "pods", "delete")
    assert _rules(rendered.get("Role", "kubegrid-management")) == expected
    binding = rendered.get("RoleBinding", "kubegrid-management")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kubegrid-management"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kubegrid-management", "namespace": "kubegrid"}]
    nodes = "kubegrid-management-kubegrid-nodes"
    if rbac["nodes"]:
        assert _rules(rendered.get("ClusterRole", nodes)) == _grid("", "nodes", "get,list")
        cluster_binding = rendered.get("ClusterRoleBinding", nodes)
        assert cluster_binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": nodes}
        assert cluster_binding["subjects"] == binding["subjects"]
    else:
        assert rendered.of_kind("ClusterRole") == rendered.of_kind("ClusterRoleBinding") == []
    assert _rules(rendered.get("Role", "kubegrid-partition")) == _grid("", "pods,services,endpoints", "get,list")
    assert rendered.get("RoleBinding", "kubegrid-partition")["subjects"] == [
        {"kind": "ServiceAccount", "name": "kubegrid-partition", "namespace": "kubegrid"}]


def test_license_comes_from_a_secret(rendered: Any, values: dict[str, Any]) -> None:
    lic = values["license"]
    secret_name = lic["existingSecret"] or "kubegrid-license"
    for obj in rendered.workloads():
        if obj["kind"] == "Pod":
            continue
        for c in kit.all_containers(kit.pod_spec(obj)):
            if c["name"] == "seed-writable-dirs":
                assert "env" not in c
                continue
            env = kit.env_of(c)
            assert env["GS_LICENSE"] == {
                "name": "GS_LICENSE",
                "valueFrom": {"secretKeyRef": {"name": secret_name, "key": lic["existingSecretKey"]}},
            }
            # The kubelet expands $(GS_LICENSE) from the Secret; the spec never holds the text.
            assert [a for a in c.get("args", []) if a.startswith("license=")] in ([], ["license=$(GS_LICENSE)"])
    created = rendered.find("Secret", "kubegrid-license")
    if lic["existingSecret"]:
        assert rendered.of_kind("Secret") == []
    else:
        assert created is not None
        assert base64.b64decode(created["data"][lic["existingSecretKey"]]).decode() == lic["value"]


def test_license_text_appears_nowhere_in_plain_text(render: Any) -> None:
    text = "Product=XAP;Version=16.4;Type=ENTERPRISE;Customer=ACME;Hash=abc123"
    out = render({"license": {"value": text}, "zeppelin": {"enabled": True}})
    for obj in out.objects:
        assert text not in json.dumps(obj), f"{obj['kind']}/{obj['metadata']['name']}"
    assert text not in out.notes


def test_license_change_rolls_the_pods(render: Any) -> None:
    def checksum(values: dict[str, Any]) -> str:
        sts = render(values).get("StatefulSet", "kubegrid-partition-1")
        return sts["spec"]["template"]["metadata"]["annotations"]["checksum/license"]

    assert checksum({"license": {"value": "tryme"}}) != checksum({"license": {"value": "other"}})
    sts = render({"license": {"existingSecret": "mine"}}).get("StatefulSet", "kubegrid-partition-1")
    assert "checksum/license" not in sts["spec"]["template"]["metadata"].get("annotations", {})


# ---------------------------------------------------------------- NetworkPolicies


def _policies_for(rendered: Any, labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        p
        for p in rendered.of_kind("NetworkPolicy")
        if all(labels.get(k) == v for k, v in p["spec"]["podSelector"]["matchLabels"].items())
    ]


def test_every_pod_is_selected_by_a_network_policy(rendered: Any) -> None:
    for obj in rendered.workloads():
        policies = _policies_for(rendered, kit.pod_labels(obj))
        assert policies, f"{obj['kind']}/{obj['metadata']['name']} has no NetworkPolicy"
        for p in policies:
            assert p["spec"]["policyTypes"] == ["Ingress", "Egress"]


def _port_set(rule: dict[str, Any]) -> set[tuple[int, int]]:
    return {(p["port"], p.get("endPort", p["port"])) for p in rule.get("ports", [])}


GRID_PODS = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "kubegrid", "app.kubernetes.io/instance": "kubegrid"}}}
CLIENT_NAMESPACES = {"namespaceSelector": {"matchLabels": {"kubegrid.io/grid-client": "true"}}}


def _allowed_sources(policy: dict[str, Any], port: int) -> list[dict[str, Any]]:
    sources = []
    for rule in policy["spec"]["ingress"]:
        if any(lo <= port <= hi for lo, hi in _port_set(rule)):
            sources.extend(rule["from"])
    return sources


def test_management_ports_open_only_to_the_grid_and_its_clients(rendered: Any, values: dict[str, Any]) -> None:
    policy = rendered.get("NetworkPolicy", "kubegrid-manager")
    managers = {"podSelector": {"matchLabels": {**GRID_PODS["podSelector"]["matchLabels"], "app.kubernetes.io/component": "management"}}}
    for port in (4174, 8200, 8299):
        assert _allowed_sources(policy, port) == [GRID_PODS, CLIENT_NAMESPACES], port
    rest = _allowed_sources(policy, 8090)
    assert rest[:2] == [GRID_PODS, CLIENT_NAMESPACES]
    if values["ingress"]["enabled"]:
        assert rest[2:] == [{"namespaceSelector": values["ingress"]["controllerNamespaceSelector"]}]
    else:
        assert rest[2:] == []
    assert _allowed_sources(policy, 2181) == [GRID_PODS]
    for port in (2888, 3888):
        assert _allowed_sources(policy, port) == [managers]
    assert _allowed_sources(policy, 22) == []


def test_data_ports_open_only_to_the_grid_and_its_clients(rendered: Any, values: dict[str, Any]) -> None:
    policy = rendered.get("NetworkPolicy", "kubegrid-partition")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "partition"
    assert _allowed_sources(policy, 8200) == [GRID_PODS, CLIENT_NAMESPACES]
    assert _allowed_sources(policy, 8089) == []
    if values["metrics"]["enabled"]:
        assert _allowed_sources(policy, values["metrics"]["port"]) == [{"namespaceSelector": values["metrics"]["namespaceSelector"]}]


def test_egress_allows_dns(rendered: Any) -> None:
    for policy in rendered.of_kind("NetworkPolicy"):
        dns = [r for r in policy["spec"]["egress"] if {53} <= {p["port"] for p in r.get("ports", [])}]
        assert dns, policy["metadata"]["name"]
        assert {p["protocol"] for p in dns[0]["ports"]} == {"UDP", "TCP"}
        assert dns[0]["to"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
        ]
        assert {} not in policy["spec"]["egress"]  # no open egress unless asked for


def test_external_egress_is_opt_in(render: Any) -> None:
    out = render({"networkPolicy": {"allowExternalEgress": True}})
    assert {} in out.get("NetworkPolicy", "kubegrid-partition")["spec"]["egress"]


def test_grid_client_label_is_configurable(render: Any) -> None:
    out = render({"gridClients": {"namespaceLabel": "example.com/reads-grid"}})
    rule = out.get("NetworkPolicy", "kubegrid-partition")["spec"]["ingress"][0]
    assert {"namespaceSelector": {"matchLabels": {"example.com/reads-grid": "true"}}} in rule["from"]


@pytest.mark.parametrize("zeppelin", [False, True])
def test_network_policies_can_be_disabled(render: Any, zeppelin: bool) -> None:
    out = render({"networkPolicy": {"enabled": False}, "zeppelin": {"enabled": zeppelin}})
    assert out.of_kind("NetworkPolicy") == []


def test_only_managers_and_data_pods_reach_the_api_server(rendered: Any) -> None:
    api = {443, 6443}
    reaching = {p["metadata"]["name"] for p in rendered.of_kind("NetworkPolicy")
                for rule in p["spec"]["egress"] if api <= {port["port"] for port in rule.get("ports", [])}}
    assert reaching == {"kubegrid-manager", "kubegrid-partition"}
