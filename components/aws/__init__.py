"""The cloud side of a stack with `kubegrid:cluster.mode: eks`, on AWS.

:class:`EksPlatform` creates the network, the EKS cluster, its node pools,
add-ons, Cluster Autoscaler and NVIDIA device plugin, from `pulumi_aws`
primitives. :func:`cluster_objects` and :func:`helm_releases` are the plain
data the EKS side applies on the cluster, which `kubegrid render` prints.
"""

from __future__ import annotations

from typing import Any

from ..spec import StackSpec
from .autoscaler import autoscaler_release
from .device_plugin import device_plugin_release
from .platform import EksPlatform, EksPlatformArgs, cluster_objects_of

__all__ = ["EksPlatform", "EksPlatformArgs", "cluster_objects", "helm_releases"]


def cluster_objects(spec: StackSpec) -> list[dict[str, Any]]:
    """The manifests the EKS side applies itself: the default gp3 StorageClass."""
    return cluster_objects_of(spec)


def helm_releases(spec: StackSpec) -> list[dict[str, Any]]:
    """The remote charts the EKS side installs, each as
    {name, namespace, repo, chart, version, values}, exactly as passed to Helm."""
    releases = [autoscaler_release(spec)]
    plugin = device_plugin_release(spec)
    if plugin is not None:
        releases.append(plugin)
    return releases
