"""Applies plain Kubernetes manifests with Pulumi, one typed resource each.

The manifests come from pure functions; this module is the single place that
turns them into Pulumi resources, so what `kubegrid render` prints is exactly
what the stack applies. Each object becomes the typed pulumi-kubernetes
resource for its kind (``kubernetes:core/v1:Namespace``, ...), the same
mapping pulumi-kubernetes' own YAML support uses.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional, Sequence

import pulumi

# API group -> pulumi_kubernetes module.
_GROUP_MODULES = {
    "": "core", "apps": "apps", "batch": "batch", "policy": "policy",
    "rbac.authorization.k8s.io": "rbac", "networking.k8s.io": "networking",
    "storage.k8s.io": "storage", "scheduling.k8s.io": "scheduling",
}
_TOP_LEVEL_KEYS = {"binaryData": "binary_data", "stringData": "string_data", "roleRef": "role_ref",
                   "aggregationRule": "aggregation_rule", "automountServiceAccountToken": "automount_service_account_token",
                   "imagePullSecrets": "image_pull_secrets", "allowVolumeExpansion": "allow_volume_expansion",
                   "allowedTopologies": "allowed_topologies", "mountOptions": "mount_options",
                   "reclaimPolicy": "reclaim_policy", "volumeBindingMode": "volume_binding_mode"}


def resource_class(api_version: str, kind: str) -> type:
    """The pulumi-kubernetes class for an apiVersion and kind."""
    group, _, version = api_version.rpartition("/")
    module = importlib.import_module(f"pulumi_kubernetes.{_GROUP_MODULES[group]}.{version}")
    return getattr(module, kind)


def logical_name(obj: dict[str, Any]) -> str:
    """A stable Pulumi name for a manifest: kind, namespace and name."""
    meta = obj["metadata"]
    parts = [obj["kind"].lower(), meta.get("namespace"), meta["name"]]
    return "-".join(p for p in parts if p)


class ClusterObjects(pulumi.ComponentResource):
    """Applies a list of manifests; namespaced objects wait for their Namespace."""

    resources: dict[str, pulumi.CustomResource]
    """Applied resources by logical name."""

    def __init__(self, name: str, objects: Sequence[dict[str, Any]],
                 opts: Optional[pulumi.ResourceOptions] = None, waits_for: Sequence[pulumi.Resource] = ()):
        """``waits_for``: what every object waits for (a component's own ``depends_on`` does not
        hold back its children)."""
        super().__init__("kubegrid:index:ClusterObjects", name, None, opts)
        self.resources = {}
        namespaces: dict[str, pulumi.Resource] = {}
        for obj in sorted(objects, key=lambda o: o["kind"] != "Namespace"):
            namespace = obj["metadata"].get("namespace")
            depends = list(waits_for) + ([namespaces[namespace]] if namespace in namespaces else [])
            resource = apply_manifest(obj, pulumi.ResourceOptions(parent=self, depends_on=depends))
            if obj["kind"] == "Namespace":
                namespaces[obj["metadata"]["name"]] = resource
            self.resources[logical_name(obj)] = resource
        self.register_outputs({})


CUSTOM_GROUPS = ("monitoring.coreos.com",)
"""API groups of custom resources the stack applies (the Prometheus Operator's), which
pulumi-kubernetes has no typed class for."""


def apply_manifest(obj: dict[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    group = obj["apiVersion"].rpartition("/")[0]
    if group in CUSTOM_GROUPS:
        from pulumi_kubernetes.apiextensions import CustomResource

        return CustomResource(logical_name(obj), api_version=obj["apiVersion"], kind=obj["kind"],
                              metadata=obj["metadata"], spec=obj["spec"], opts=opts)
    cls = resource_class(obj["apiVersion"], obj["kind"])
    args = {_TOP_LEVEL_KEYS.get(k, k): v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    return cls(logical_name(obj), opts=opts, **args)
