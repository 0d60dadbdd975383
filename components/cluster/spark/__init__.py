"""Spark in the team namespaces: accounts and the driver's Role, pod templates
and spark-defaults.conf sized to the node pools, the driver cleanup job, and
the network paths Spark needs beyond the namespace's own.

Everything here is plain data from pure functions of the spec; the stack
applies it and `kubegrid render` prints it. In mode eks, the AWS side (a
Pod Identity role per team for its S3 locations) is components/aws/s3_access.py.
"""

from __future__ import annotations

from typing import Any

from ...config import StackSpec, TeamSpec
from .. import labels
from ..tenancy import api_server_egress, aws_egress
from .cleanup import cleanup_objects, cleanup_pod_labels
from .names import EVENT_LOG_VOLUME, SPARK_ROLE_LABEL
from .config_map import spark_config_map
from .insightedge import insightedge_objects
from .rbac import spark_accounts


def spark_network_policies(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    """The Kubernetes API for drivers and the cleanup job; in mode eks, for a team
    with S3 locations, AWS's APIs for Spark's drivers and executors: pods with a
    ``spark-role`` label, which Spark puts on every pod it creates and a notebook
    pod running a client-mode driver carries too (it has no application id when
    it starts, so ``spark-app-selector`` cannot select it)."""
    policies = [
        api_server_egress(team, "allow-apiserver-spark-driver", {SPARK_ROLE_LABEL: "driver"}),
        api_server_egress(team, "allow-apiserver-driver-cleanup", cleanup_pod_labels(team.name)),
    ]
    if spec.is_eks and team.s3_access:
        policies.append(aws_egress(team, {"matchExpressions": [
            {"key": SPARK_ROLE_LABEL, "operator": "In", "values": ["driver", "executor"]}]}))
    return policies


EVENT_LOG_SIZE = "5Gi"


def event_log_claim(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    """Outside mode eks: the claim drivers write their event logs to (mode eks writes them to S3).
    ReadWriteOnce, which every cluster offers: the drivers and the team's history server share
    it on one node (kind and minikube have one)."""
    if spec.is_eks:
        return []
    return [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": EVENT_LOG_VOLUME, "namespace": team.name, "labels": labels.standard("spark")},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": EVENT_LOG_SIZE}}}}]


def spark_objects(spec: StackSpec, team: TeamSpec) -> list[dict[str, Any]]:
    """Every Spark object of a team's namespace; none when its Spark is off."""
    if not team.spark:
        return []
    return [*spark_accounts(team), spark_config_map(spec, team), *event_log_claim(spec, team),
            *cleanup_objects(team), *spark_network_policies(spec, team), *insightedge_objects(spec, team)]
