"""The kubeconfig of an EKS cluster, as text (never written to disk).

Authentication runs ``aws eks get-token`` (AWS CLI v2) with whatever AWS
credentials the caller has; the kubeconfig holds no credential itself, but
it is still exported as a secret because it names the cluster's endpoint.
"""

from __future__ import annotations

import json


def kubeconfig(cluster: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig with one cluster, one user (exec auth) and one current context."""
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": endpoint,
                                                   "certificate-authority-data": certificate_authority}}],
        "users": [{"name": cluster, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster, "--output", "json"],
            "interactiveMode": "Never",
        }}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "current-context": cluster,
        "preferences": {},
    }, indent=2)
