"""A small evaluator of Kubernetes NetworkPolicy semantics, to ask of a
stack's policies whether one connection is allowed.

Rules as the API documents them: a pod is isolated in a direction once any
policy of its namespace selects it for that direction, and then a connection
is allowed when any rule of those policies admits the peer and the port.
A missing `to`/`from` admits every peer, a missing `ports` every port; a
`podSelector` peer without `namespaceSelector` means the policy's own
namespace; `ipBlock` peers match addresses (pods have addresses too).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any, Optional, Union

NAMESPACE_NAME = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    ip: str = "10.0.99.99"


@dataclass(frozen=True)
class Address:
    """An address outside the cluster's pods (the API server, the internet)."""

    ip: str


Endpoint = Union[Pod, Address]


def matches(selector: Optional[dict[str, Any]], labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        present = key in labels
        if (op == "Exists" and not present) or (op == "DoesNotExist" and present) \
                or (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values):
            return False
    return True


def peer_matches(peer: dict[str, Any], policy_namespace: str, endpoint: Endpoint,
                 namespaces: dict[str, dict[str, str]]) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(endpoint.ip)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except") or [])
    if not isinstance(endpoint, Pod):
        return False
    if "namespaceSelector" in peer:
        if not matches(peer["namespaceSelector"], namespaces.get(endpoint.namespace, {})):
            return False
    elif endpoint.namespace != policy_namespace:
        return False
    return matches(peer.get("podSelector"), endpoint.labels)


def port_matches(ports: Optional[list[dict[str, Any]]], port: int, protocol: str) -> bool:
    if ports is None:
        return True
    for p in ports:
        first = p.get("port")
        last = p.get("endPort", first)
        if p.get("protocol", "TCP") == protocol and (first is None or first <= port <= last):
            return True
    return False


def _allowed(policies: list[dict[str, Any]], pod: Pod, peer: Endpoint, port: int, protocol: str,
             direction: str, namespaces: dict[str, dict[str, str]]) -> bool:
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    governing = [p for p in policies if p["metadata"]["namespace"] == pod.namespace
                 and direction in p["spec"]["policyTypes"] and matches(p["spec"]["podSelector"], pod.labels)]
    if not governing:
        return True
    for policy in governing:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key)
            peer_ok = peers is None or any(
                peer_matches(x, policy["metadata"]["namespace"], peer, namespaces) for x in peers)
            if peer_ok and port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def can_connect(policies: list[dict[str, Any]], source: Endpoint, target: Endpoint, port: int,
                namespaces: dict[str, dict[str, str]], protocol: str = "TCP") -> bool:
    """Whether ``source`` may open a connection to ``target`` under ``policies``
    (egress of the source's namespace, ingress of the target's)."""
    if isinstance(source, Pod) and not _allowed(policies, source, target, port, protocol, "Egress", namespaces):
        return False
    if isinstance(target, Pod) and not _allowed(policies, target, source, port, protocol, "Ingress", namespaces):
        return False
    return True
