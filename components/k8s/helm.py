"""Remote Helm charts as `pulumi_kubernetes.helm.v3.Release` resources.

A release is described by plain data (name, namespace, repo, chart, pinned
version, values; components/cluster/charts.py); `kubegrid render` lists
that same data, and :func:`helm_release` hands it to Helm unchanged.
"""

from __future__ import annotations

from typing import Any, Sequence

import pulumi
import pulumi_kubernetes as k8s


def helm_release(logical_name: str, release: dict[str, Any], provider: pulumi.ProviderResource,
                 parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> k8s.helm.v3.Release:
    """Installs ``release``; a failed install or upgrade rolls back."""
    return k8s.helm.v3.Release(
        logical_name,
        name=release["name"],
        namespace=release["namespace"],
        chart=release["chart"],
        version=release["version"],
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=release["repo"]),
        values=release["values"],
        atomic=True,
        cleanup_on_fail=True,
        max_history=10,
        timeout=600,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=list(depends_on)),
    )
