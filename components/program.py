"""The Pulumi program: validate the configuration, build the stack, export its outputs.

Wiring only: the configuration comes from components/config, the objects
and values from components/cluster, the cloud from components/aws; this
module puts them together and composes the stack outputs once.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import pulumi
import pulumi_kubernetes as k8s

from .aws.access import DeployerError, deployer_principal
from .aws.eks_platform import EksPlatform, EksPlatformArgs
from .aws.s3_access import SparkS3Access, SparkS3AccessArgs, event_log_dirs, history_readers, s3_teams
from .aws.naming import aws_stack
from .cluster.grid import grid_namespace, grid_values, license_secret, lookup_locators, rest_url
from .cluster.manifests import stack_objects
from .cluster.spark.submit import spark_outputs
from .config import NAMESPACE, STRUCTURED_KEYS, ConfigError, StackSpec
from .cluster.observability import grafana_admin_secret, monitoring_namespace, monitoring_resources, observability_releases
from .k8s.apply import ClusterObjects, logical_name
from .k8s.grid_release import Grid, GridArgs
from .k8s.monitoring import Monitoring, MonitoringArgs
from .validation import validate


def runtime_config() -> tuple[dict[str, Any], Callable[[str], bool]]:
    """The running Pulumi program's configuration, with structured values parsed.

    The engine hands structured values to the program as JSON text, and marks
    a whole top-level key secret when any value inside it was encrypted.
    """
    from pulumi.runtime import config as runtime

    config: dict[str, Any] = {}
    for key, value in {**runtime.get_config_env(), **runtime.CONFIG.get()}.items():
        name = key.split(":", 1)[1] if key.startswith(f"{NAMESPACE}:") else None
        if name in STRUCTURED_KEYS and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass  # the reader reports it as "expected an object/list"
        config[key] = value
    return config, runtime.is_config_secret


def node_pool_outputs(spec: StackSpec) -> list[dict[str, Any]]:
    """The `nodePools` stack output: each pool's name, types and sizes."""
    return [{"name": p.name, "instanceTypes": list(p.instance_types), "capacityType": p.capacity_type.value,
             "minSize": p.min_size, "desiredSize": p.desired, "maxSize": p.max_size, "gpu": p.gpu}
            for p in spec.node_pools]


def spark_stack_output(spec: StackSpec, s3_roles: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    """The `spark` output: each Spark team's entry, with its S3 role's ARN where it has one."""
    return {team: {**entry, **({"s3RoleArn": s3_roles[team]} if team in s3_roles else {})}
            for team, entry in spark_outputs(spec).items()}


def build_stack(spec: StackSpec) -> dict[str, Any]:
    """Declares every resource of the stack; returns the stack outputs."""
    cloud: dict[str, Any] = {}
    s3_roles: dict[str, pulumi.Output[str]] = {}
    waits_for: list[pulumi.Resource] = []
    nodes: list[pulumi.Resource] = []
    if spec.is_eks:
        eks = EksPlatform("kubegrid", EksPlatformArgs(spec=spec, deployer=deployer_principal()))
        provider = eks.provider
        waits_for.append(eks.storage_class)
        nodes = list(eks.node_pools.values())
        s3 = SparkS3Access("kubegrid-spark-s3", SparkS3AccessArgs(
            stack=aws_stack(spec), teams=s3_teams(spec), history=history_readers(spec), event_logs=event_log_dirs(spec),
            cluster_name=eks.cluster_name,
            cluster_arn=eks.cluster.cluster.arn))
        s3_roles = {team: role.arn for team, role in s3.roles.items()}
        cloud = {"clusterName": eks.cluster_name, "clusterEndpoint": eks.cluster.cluster.endpoint,
                 "kubeconfig": eks.kubeconfig, "nodePools": node_pool_outputs(spec)}
    else:
        # The kubeconfig on the machine running `pulumi up` names the cluster.
        provider = k8s.Provider("kubegrid-k8s", context=spec.cluster.context)

    protect = spec.is_prod  # deleting the grid namespace would delete its data volumes
    objects = ClusterObjects("kubegrid-objects", stack_objects(spec),
                             pulumi.ResourceOptions(providers=[provider], protect=protect))
    namespace = objects.resources[logical_name(grid_namespace(spec))]
    secret = (license_secret(spec, pulumi.Output.secret(spec.grid.license.value or ""))
              if spec.grid.license is not None else None)
    Grid("kubegrid-grid", GridArgs(namespace=spec.grid.namespace, values=grid_values(spec), license_secret=secret,
                                   provider=provider, waits_for=(namespace, *waits_for)),
         pulumi.ResourceOptions(protect=protect))
    if spec.observability.enabled:
        monitoring_ns = objects.resources.get(logical_name(monitoring_namespace(spec)))
        password = spec.observability.grafana_admin_password
        Monitoring("kubegrid-monitoring", MonitoringArgs(
            releases=observability_releases(spec), resources=monitoring_resources(spec), provider=provider,
            grafana_secret=grafana_admin_secret(spec, pulumi.Output.secret(password.value or "")) if password else None,
            waits_for=[r for r in (monitoring_ns, *waits_for, *nodes) if r is not None]))
    return {
        "environment": spec.environment.value,
        **cloud,
        "gridNamespace": spec.grid.namespace,
        "lookupLocators": lookup_locators(spec),
        "restManagerUrl": rest_url(spec),
        "teams": [t.name for t in spec.teams],
        "spark": spark_stack_output(spec, s3_roles),
    }


def main() -> None:
    """The program `pulumi up` runs (__main__.py)."""
    config, is_secret = runtime_config()
    try:
        valid = validate(config, pulumi.get_stack(), is_secret)
    except ConfigError as error:
        # RunError is shown to the user without a traceback.
        raise pulumi.RunError("invalid stack configuration:\n  " + "\n  ".join(map(str, error.problems))) from None
    for warning in valid.warnings:
        pulumi.log.warn(str(warning))
    try:
        outputs = build_stack(valid.spec)
    except DeployerError as error:  # raised before the first resource is declared
        raise pulumi.RunError(str(error)) from None
    for key, value in outputs.items():
        pulumi.export(key, value)
