"""The NetworkPolicies that let Prometheus scrape inside the team namespaces.

Team namespaces deny all ingress except from themselves and the grid
(components/cluster/tenancy.py); each Spark team gets one more rule: the
Prometheus servers of the monitoring namespace may reach its Spark drivers'
UI port, where the executor metrics are served. Nothing else in a team
namespace is scraped (kube-state-metrics and the kubelet report on its pods
from outside). The grid namespace's metrics port is opened by the chart itself
(``metrics.namespaceSelector``) when its metrics are on; kube-system and the
monitoring namespace have no policies.
"""

from __future__ import annotations

from typing import Any

from ...config import StackSpec, TeamSpec
from ..spark.names import SPARK_ROLE_LABEL
from ..tenancy import network_policy, tcp
from . import names

POLICY = "allow-prometheus-spark-drivers"


def scrape_policy(spec: StackSpec, team: TeamSpec) -> dict[str, Any]:
    return network_policy(team, POLICY, {"matchLabels": {SPARK_ROLE_LABEL: "driver"}},
                          ingress=[{"from": [names.prometheus_peer(spec)], "ports": tcp(names.SPARK_UI_PORT)}])
