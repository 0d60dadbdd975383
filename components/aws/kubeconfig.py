"""The kubeconfig of an EKS cluster, as text (never written to disk).

Authentication runs ``aws eks get-token`` (AWS CLI v2) as the same identity
the AWS provider uses: with `aws:profile` set it runs under that profile
(``AWS_PROFILE``), with a role in `aws:assumeRoles` it asks for a token of
that role (``--role-arn``). The kubeconfig holds no credential itself; it is
still exported as a secret because it names the cluster's endpoint.
"""

from __future__ import annotations

import json
from typing import Optional


def token_command(cluster: str, region: str, profile: Optional[str] = None,
                  role_arn: Optional[str] = None) -> dict:
    """The exec section of the kubeconfig's user."""
    args = ["--region", region, "eks", "get-token", "--cluster-name", cluster, "--output", "json"]
    if role_arn:
        args += ["--role-arn", role_arn]
    command = {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws", "args": args,
               "interactiveMode": "Never"}
    if profile:
        command["env"] = [{"name": "AWS_PROFILE", "value": profile}]
    return command


def kubeconfig(cluster: str, endpoint: str, certificate_authority: str, region: str,
               profile: Optional[str] = None, role_arn: Optional[str] = None) -> str:
    """A kubeconfig with one cluster, one user (exec auth) and one current context."""
    return json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": endpoint,
                                                   "certificate-authority-data": certificate_authority}}],
        "users": [{"name": cluster, "user": {"exec": token_command(cluster, region, profile, role_arn)}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
        "current-context": cluster,
        "preferences": {},
    }, indent=2)
