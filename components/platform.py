"""Puts a whole stack together: the cluster (new or existing), the objects the
stack applies, and the grid chart."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .grid import Grid, GridArgs, grid_namespace, lookup_locators, rest_url
from .k8s_apply import ClusterObjects, logical_name
from .manifests import cluster_objects
from .spark.submit import spark_outputs
from .spec import StackSpec


def build_platform(spec: StackSpec) -> dict[str, Any]:
    """Declares every resource of the stack; returns the stack outputs."""
    outputs: dict[str, Any] = {"environment": spec.environment.value}
    s3_roles: dict[str, Any] = {}
    if spec.is_eks:
        from .aws import EksPlatform, EksPlatformArgs

        eks = EksPlatform("kubegrid", EksPlatformArgs(spec=spec))
        provider = eks.provider
        outputs.update(eks.stack_outputs())
        from .spark.s3_access import SparkS3Access, SparkS3AccessArgs

        s3_roles = SparkS3Access("kubegrid-spark-s3", SparkS3AccessArgs(
            spec=spec, cluster_name=eks.cluster_name, cluster_arn=eks.cluster.cluster.arn)).roles
    else:
        # The kubeconfig on the machine running `pulumi up` names the cluster.
        provider = k8s.Provider("kubegrid-k8s", context=spec.cluster.context)

    protect = spec.is_prod  # deleting the grid namespace would delete its data volumes
    objects = ClusterObjects("kubegrid-objects", cluster_objects(spec),
                             pulumi.ResourceOptions(providers=[provider], protect=protect))
    namespace = objects.resources[logical_name(grid_namespace(spec))]
    Grid("kubegrid-grid", GridArgs(spec=spec, provider=provider, namespace=namespace),
         pulumi.ResourceOptions(protect=protect))
    outputs.update({
        "gridNamespace": spec.grid.namespace,
        "lookupLocators": lookup_locators(spec),
        "restManagerUrl": rest_url(spec),
        "teams": [t.name for t in spec.teams],
        "spark": spark_outputs(spec),
    })
    for team, role in s3_roles.items():
        outputs["spark"][team]["s3RoleArn"] = role.arn
    return outputs
