"""Placeholders for the values a cloud provider computes, for offline plans.

Under the mock runtime nothing is created, so properties such as an ARN or
an endpoint are unknown. Each gets a placeholder that says what it stands
for, shaped the way the program reads it (a string where it expects a string,
an object where it reads fields).
"""

from __future__ import annotations

from typing import Any, Callable

ACCOUNT = "123456789012"


def unknown(type_: str, name: str, prop: str) -> str:
    return f"<known after apply: {type_} {name}.{prop}>"


def _arn(type_: str, name: str) -> str:
    return f"arn:aws:{type_.split(':')[1].split('/')[0]}::{ACCOUNT}:<known after apply: {name}>"


# Per resource type: property -> placeholder builder(type, name, inputs).
_Builder = Callable[[str, str, dict[str, Any]], Any]
COMPUTED: dict[str, dict[str, _Builder]] = {}


def computed(type_: str, **props: _Builder) -> None:
    """Registers the computed properties of a resource type."""
    COMPUTED.setdefault(type_, {}).update(props)


def computed_outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if type_.startswith("aws:"):
        out["arn"] = _arn(type_, name)
        out["id"] = unknown(type_, name, "id")
        if "name" not in inputs and "namePrefix" not in inputs:
            out["name"] = f"{name}-<suffix>"
    for prop, build in COMPUTED.get(type_, {}).items():
        if prop not in inputs:
            out[prop] = build(type_, name, inputs)
    return out


def invoke_result(token: str, args: dict[str, Any]) -> dict[str, Any]:
    """Results of data-source calls the program makes."""
    if token == "aws:index/getCallerIdentity:getCallerIdentity":
        return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/plan", "userId": "PLAN", "id": ACCOUNT}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
    if token == "aws:index/getRegion:getRegion":
        return {"name": args.get("name") or "<region>", "region": args.get("region") or "<region>", "id": "<region>"}
    if token == "aws:eks/getAddonVersion:getAddonVersion":
        addon, version = args.get("addonName"), args.get("kubernetesVersion")
        return {"addonName": addon, "kubernetesVersion": version, "id": addon,
                "version": f"<known at deploy: default {addon} version for Kubernetes {version}>"}
    if token == "aws:iam/getSessionContext:getSessionContext":
        arn = args.get("arn") or ""
        return {"arn": arn, "id": arn, "issuerArn": arn, "issuerId": "PLAN", "issuerName": "plan", "sessionName": ""}
    return {}


# AWS resources of mode eks (components/aws): the values the program reads back.
def _unknown(prop: str) -> _Builder:
    return lambda type_, name, inputs: unknown(type_, name, prop)


computed("aws:eks/cluster:Cluster",
         endpoint=lambda t, n, i: "https://" + unknown(t, n, "endpoint"),
         certificateAuthority=lambda t, n, i: {"data": unknown(t, n, "certificateAuthority.data")},
         identities=lambda t, n, i: [{"oidcs": [{"issuer": unknown(t, n, "identities[0].oidcs[0].issuer")}]}],
         clusterId=_unknown("clusterId"), platformVersion=_unknown("platformVersion"), status=_unknown("status"))
computed("aws:eks/nodeGroup:NodeGroup",
         nodeGroupName=_unknown("nodeGroupName"), status=_unknown("status"),
         resources=lambda t, n, i: [{"autoscalingGroups": [{"name": unknown(t, n, "autoScalingGroup.name")}]}])
computed("aws:ec2/launchTemplate:LaunchTemplate",
         latestVersion=_unknown("latestVersion"), defaultVersion=_unknown("defaultVersion"))
computed("aws:kms/key:Key", keyId=_unknown("keyId"))
computed("aws:eks/addon:Addon", addonVersion=_unknown("addonVersion"))
computed("aws:eks/accessEntry:AccessEntry", accessEntryArn=_unknown("accessEntryArn"))
computed("aws:eks/podIdentityAssociation:PodIdentityAssociation", associationId=_unknown("associationId"))
