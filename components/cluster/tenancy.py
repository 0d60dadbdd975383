"""Team namespaces: the objects each team in `kubegrid:teams` gets.

A namespace named after the team, held to the ``restricted`` Pod Security
level and labelled a grid client; a ResourceQuota; a LimitRange that gives
pods which set no resources defaults within the quota; RoleBindings of the
built-in ``admin``, ``edit`` and ``view`` ClusterRoles for the team's
members, in that namespace only; and NetworkPolicies: nothing comes in
except from the namespace itself and the grid's LRMI callbacks, and nothing
goes out except to the namespace itself, cluster DNS, the grid, and (for
Spark drivers and the driver cleanup job only) the Kubernetes API.
"""

from __future__ import annotations

from typing import Any, Optional

from ..config import StackSpec, TeamSpec
from . import labels, pod_security, quantities
from .grid import PORTS, RELEASE_NAME

ROLE_KEYS = {"admins": "admin", "editors": "edit", "viewers": "view"}
"""Kubernetes ClusterRoles a team's members get in their namespace, by config key."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
DNS_SELECTOR = {"namespace": {NAMESPACE_NAME_LABEL: "kube-system"}, "pod": {"k8s-app": "kube-dns"}}
"""CoreDNS in kube-system, as EKS, kind, minikube and k3d label it."""
API_SERVER_PORTS = (443, 6443)
"""The API server's ports: the `kubernetes` Service's (443), and its endpoints' (443 on EKS, 6443 on kind,
minikube and k3d), since a network plugin may check egress before or after the Service address is translated."""
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
"""Where the API server is reached: its Service address and its endpoints (EKS's control-plane network
interfaces in the VPC, or the control-plane container of a local cluster) are private addresses that
are not known before the cluster exists; the public internet is left out."""
POD_IDENTITY_AGENT = "169.254.170.23/32"
"""The EKS Pod Identity agent on every node (port 80), which hands pods their AWS credentials."""
LINK_LOCAL = "169.254.0.0/16"

LIMIT_DEFAULT_REQUEST = {"cpu": 0.25, "memory_gib": 0.5}
LIMIT_DEFAULT = {"cpu": 1.0, "memory_gib": 1.0}
"""Defaults for containers that set no resources; at most the team's quota. A 1-CPU default limit admits
Spark's default executor (1 core, a CPU request and no CPU limit) under a quota on `limits.cpu`."""


def team_group(team: str, role: str) -> str:
    """The Kubernetes group of a team's members with ``role`` (admin, edit, view).

    EKS access entries put a team's IAM principals in this group; the team's
    RoleBindings bind the group. Both sides call this function.
    """
    return f"kubegrid:{team}:{role}"


def team_namespace(team: TeamSpec) -> dict[str, Any]:
    """The team's namespace: Pod Security restricted, or baseline for a team with ``insightedge``
    jobs (Spark 2.4 creates their pods without a security context; docs/gigaspaces.md)."""
    enforce = pod_security.BASELINE if team.insightedge else pod_security.LEVEL
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": team.name, "labels": {
            **labels.standard("team", **{labels.TEAM_LABEL: team.name}),
            labels.GRID_CLIENT_LABEL: "true",
            **pod_security.namespace_labels(enforce),
        }},
    }


def _metadata(team: TeamSpec, name: str) -> dict[str, Any]:
    return {"name": name, "namespace": team.name, "labels": labels.standard("team")}


def resource_quota(team: TeamSpec) -> dict[str, Any]:
    q = team.quota
    cpu, memory = quantities.cpu(q.cpu), quantities.memory(q.memory_gib)
    return {
        "apiVersion": "v1", "kind": "ResourceQuota",
        "metadata": _metadata(team, "team-quota"),
        "spec": {"hard": {
            "requests.cpu": cpu, "limits.cpu": cpu, "requests.memory": memory, "limits.memory": memory,
            "requests.nvidia.com/gpu": str(q.gpus), "pods": str(q.pods),
            "persistentvolumeclaims": str(q.persistent_volume_claims), "requests.storage": f"{q.storage_gib}Gi",
            "services.loadbalancers": str(q.load_balancers),
        }},
    }


def limit_range(team: TeamSpec) -> dict[str, Any]:
    """Default requests and limits for containers that set none, never above the quota."""
    q = team.quota

    def clamp(values: dict[str, float]) -> dict[str, str]:
        return {"cpu": quantities.cpu(min(values["cpu"], q.cpu)),
                "memory": quantities.memory(min(values["memory_gib"], q.memory_gib))}

    return {
        "apiVersion": "v1", "kind": "LimitRange",
        "metadata": _metadata(team, "team-defaults"),
        "spec": {"limits": [{"type": "Container", "defaultRequest": clamp(LIMIT_DEFAULT_REQUEST),
                             "default": clamp(LIMIT_DEFAULT)}]},
    }


def role_bindings(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    """One RoleBinding per role the team lists members for. In mode eks the
    subject is the team's group (access entries map the IAM principals into
    it); in mode existing, the Kubernetes user names themselves."""
    bindings = []
    for key, role in ROLE_KEYS.items():
        members = getattr(team, key)
        if not members:
            continue
        subjects = ([{"kind": "Group", "name": team_group(team.name, role), "apiGroup": "rbac.authorization.k8s.io"}]
                    if spec.is_eks else
                    [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"} for user in members])
        bindings.append({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": _metadata(team, f"team-{role}"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": subjects,
        })
    return bindings


def network_policy(team: TeamSpec, name: str, pod_selector: dict[str, Any], *,
                   ingress: Optional[list] = None, egress: Optional[list] = None) -> dict[str, Any]:
    """A NetworkPolicy of the team namespace; each direction given is governed by it. No rules
    (``[]``) denies that direction: the list is left out, as the API server stores it (an empty
    list would be re-owned on every server-side apply, a write each time)."""
    spec: dict[str, Any] = {"podSelector": pod_selector, "policyTypes": []}
    for direction, rules in (("Ingress", ingress), ("Egress", egress)):
        if rules is not None:
            spec["policyTypes"].append(direction)
            if rules:
                spec[direction.lower()] = rules
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": _metadata(team, name), "spec": spec}


def tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def lrmi_ports() -> list[dict[str, Any]]:
    """The LRMI range every grid JVM binds: data traffic to the grid, and its callbacks to clients."""
    return [{"protocol": "TCP", "port": PORTS.lrmi_first, "endPort": PORTS.lrmi_last}]


def grid_pods(spec: StackSpec) -> dict[str, Any]:
    """A NetworkPolicy peer: the grid release's pods in the grid namespace."""
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: spec.grid.namespace}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": RELEASE_NAME,
                                            "app.kubernetes.io/instance": RELEASE_NAME}}}


def api_server_egress(team: TeamSpec, name: str, pod_labels: dict[str, str]) -> dict[str, Any]:
    """Lets the pods with ``pod_labels`` reach the Kubernetes API."""
    return network_policy(team, name, {"matchLabels": pod_labels}, egress=[{
        "to": [{"ipBlock": {"cidr": cidr}} for cidr in PRIVATE_RANGES], "ports": tcp(*API_SERVER_PORTS)}])


def aws_egress(team: TeamSpec, pod_selector: dict[str, Any], name: str = "allow-aws-apis") -> dict[str, Any]:
    """Lets the selected pods reach the Pod Identity agent and AWS's public
    HTTPS endpoints (S3), and nothing private."""
    public = {"ipBlock": {"cidr": "0.0.0.0/0", "except": [*PRIVATE_RANGES, LINK_LOCAL]}}
    return network_policy(team, name, pod_selector, egress=[
        {"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT}}], "ports": tcp(80)},
        {"to": [public], "ports": tcp(443)},
    ])


def network_policies(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    """Deny by default; allow the namespace itself, DNS and the grid. The
    API-server and AWS paths are opened by the Spark objects that need them."""
    everyone: dict[str, Any] = {}
    same_namespace = [{"podSelector": {}}]
    dns = {"namespaceSelector": {"matchLabels": DNS_SELECTOR["namespace"]},
           "podSelector": {"matchLabels": DNS_SELECTOR["pod"]}}
    return [
        network_policy(team, "default-deny", everyone, ingress=[], egress=[]),
        network_policy(team, "allow-same-namespace", everyone,
                       ingress=[{"from": same_namespace}], egress=[{"to": same_namespace}]),
        network_policy(team, "allow-dns", everyone, egress=[{
            "to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}]),
        network_policy(team, "allow-grid", everyone,
                       egress=[{"to": [grid_pods(spec)], "ports": tcp(PORTS.lookup, PORTS.rest) + lrmi_ports()}],
                       ingress=[{"from": [grid_pods(spec)], "ports": lrmi_ports()}]),
    ]


def namespace_objects(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    """A team's namespace and what governs it, in a stable order."""
    return [team_namespace(team), resource_quota(team), limit_range(team),
            *role_bindings(spec, team), *network_policies(spec, team)]
