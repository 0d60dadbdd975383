"""NVIDIA's device plugin: advertises `nvidia.com/gpu` on GPU nodes.

Installed from NVIDIA's official chart (version pinned) in kube-system, with
GPU feature discovery on (labels such as ``nvidia.com/gpu.product``, through
the chart's node-feature-discovery subchart). It runs only on the stack's GPU
pools whose AMI does not already ship the plugin (its values:
components/cluster/charts.py); a stack with no such pool does not install it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi

from ..k8s.helm import helm_release


@dataclass(frozen=True)
class NvidiaDevicePluginArgs:
    """Inputs of :class:`NvidiaDevicePlugin`."""

    release: dict[str, Any]
    """The chart's release (components/cluster/charts.py device_plugin_release)."""
    provider: pulumi.ProviderResource
    """Kubernetes provider of the cluster."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist first (the node pools)."""


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """The nvidia-device-plugin chart with GPU feature discovery, on GPU nodes only."""

    release: pulumi.Resource
    """The Helm release."""

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:NvidiaDevicePlugin", name, None, opts)
        self.release = helm_release(f"{name}-release", args.release, args.provider, self, args.depends_on)
        self.register_outputs({})
