"""The rules between keys of a stack's configuration.

Single keys are checked as they are read (type, bounds, pattern: the
:func:`~.reader.setting` of each field). The rules here span keys:
:func:`check_pool` the keys of one node pool, :func:`cross_check` the whole
stack. "Only applies when" rules compare a key with its declared default.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Callable

from .instance_types import FAMILIES, SHAPES
from .reader import Problem, describe, is_default, suggestion
from .spec import ARN_PATTERN, NAMESPACE, RESERVED_NAMESPACES, MonitoringMode, StackSpec

WORLD = "0.0.0.0/0"

def check_pool(v: Mapping[str, Any], fail: Callable[[str, str], None]) -> None:
        """Rules between a pool's own keys; ``v`` holds the keys that were valid."""
        lo, hi, desired = v.get("min_size"), v.get("max_size"), v.get("desired_size")
        if lo is not None and hi is not None and lo > hi:
            fail("minSize", f"got {lo}, above maxSize {hi}; need minSize <= desiredSize <= maxSize")
        elif desired is not None and lo is not None and hi is not None and not lo <= desired <= hi:
            fail("desiredSize", f"got {desired}; need minSize ({lo}) <= desiredSize <= maxSize ({hi})")
        types_ = v.get("instance_types") or ()
        for j, t in enumerate(types_):
            if t not in SHAPES:
                fail(f"instanceTypes[{j}]", f"got {t!r}; not a known instance type{suggestion(t, SHAPES)}; "
                     f"known families: {', '.join(FAMILIES)} (see components/instance_types.py)")
        shapes = [SHAPES[t] for t in types_ if t in SHAPES]
        if not shapes or len(shapes) < len(types_):
            return
        if len({(s.vcpu, s.memory_gib, s.gpus, s.arch) for s in shapes}) > 1:
            fail("instanceTypes", f"got {list(types_)}, of different shapes; use types with the same vCPUs, memory, GPUs and architecture in one pool")
        gpu = v.get("gpu")
        if gpu is None:
            return
        for j, s in enumerate(shapes):
            if gpu and not s.is_gpu:
                fail(f"instanceTypes[{j}]", f"got {s.name!r}, which has no GPU; a pool with gpu: true needs GPU types (g4dn, g5, g5g, g6, g6e, p4d, p5)")
            if not gpu and s.is_gpu:
                fail(f"instanceTypes[{j}]", f"got {s.name!r}, which has {s.gpus} GPU(s); set gpu: true on this pool or use a non-GPU type")
        ami = v.get("ami_family")
        if ami is not None and ami.is_nvidia != gpu:
            fail("amiFamily", f"got {ami.value!r}; " + (
                "a GPU pool needs an NVIDIA AMI type (AL2023_x86_64_NVIDIA, BOTTLEROCKET_x86_64_NVIDIA or their ARM_64 variants)"
                if gpu else "an NVIDIA AMI type needs gpu: true"))
        elif ami is not None and ami.arch is not shapes[0].arch:
            fail("amiFamily", f"got {ami.value!r} ({ami.arch.value}) for {shapes[0].arch.value} instance types")
        for j, taint in enumerate(v.get("taints") or ()):
            if gpu and taint.key == "nvidia.com/gpu":
                fail(f"taints[{j}].key", "got 'nvidia.com/gpu'; GPU pools get this taint automatically")


def cross_check(spec: StackSpec, complete: Mapping[str, bool],
                positions: Mapping[str, tuple[int, ...]]) -> list[Problem]:
    """Rules between keys. ``complete[key]`` tells whether every item of that list was read;
    ``positions[key][i]`` is the position in the file of the i-th item that was."""
    problems: list[Problem] = []

    def fail(path: str, message: str) -> None:
        problems.append(Problem(f"{NAMESPACE}:{path}", message))

    _check_cluster(spec, fail, problems, complete["nodePools"])
    _check_pools(spec, fail, positions["nodePools"])
    _check_grid(spec, fail)
    _check_teams(spec, fail, positions["teams"])
    _check_observability(spec, fail)
    return problems


def _check_cluster(spec: StackSpec, fail, problems: list[Problem], pools_complete: bool) -> None:
    c = spec.cluster
    if spec.is_eks:
        if spec.region is None:
            problems.append(Problem("aws:region", "required when kubegrid:cluster.mode is eks: the AWS region to deploy to, such as \"eu-west-1\""))
        if c.context is not None:
            fail("cluster.context", "only applies when mode is existing; remove it for mode eks")
        if c.vpc_id is None:
            if len(c.zones) not in (2, 3):
                fail("cluster.zones", f"got {len(c.zones)} zone(s); mode eks needs 2 or 3 distinct zones of aws:region")
            _check_vpc_cidr(c.vpc_cidr, fail)
            for key, value in (("privateSubnetIds", c.private_subnet_ids), ("publicSubnetIds", c.public_subnet_ids)):
                if value:
                    fail(f"cluster.{key}", "only applies with cluster.vpcId (an existing VPC)")
        else:
            if len(c.private_subnet_ids) < 2:
                fail("cluster.privateSubnetIds", f"got {len(c.private_subnet_ids)} subnet(s); an existing VPC needs at least 2 private subnets in different zones")
            if c.zones and len(c.zones) != len(c.private_subnet_ids):
                fail("cluster.zones", f"got {len(c.zones)} zone(s) for {len(c.private_subnet_ids)} private subnets; list one zone per subnet, in the same order, or none")
        if len(set(c.zones)) != len(c.zones):
            fail("cluster.zones", f"got {list(c.zones)}; zones must be distinct")
        if spec.region and any(not z.startswith(spec.region) for z in c.zones):
            bad = [z for z in c.zones if not z.startswith(spec.region)]
            fail("cluster.zones", f"got {bad}; zones must be in aws:region {spec.region!r}")
        if c.public_endpoint and not c.public_access_cidrs:
            fail("cluster.publicAccessCidrs", "required when publicEndpoint is true: list the CIDRs allowed to reach the API (0.0.0.0/0 only if you mean the whole internet)")
        if c.public_access_cidrs and not c.public_endpoint:
            fail("cluster.publicAccessCidrs", "only applies when publicEndpoint is true")
        for i, cidr in enumerate(c.public_access_cidrs):
            if not _is_cidr(cidr):
                fail(f"cluster.publicAccessCidrs[{i}]", f"got {cidr!r}; expected an IPv4 CIDR such as \"203.0.113.0/24\"")
        for i, cidr in enumerate(c.private_access_cidrs):
            if not _is_cidr(cidr):
                fail(f"cluster.privateAccessCidrs[{i}]", f"got {cidr!r}; expected an IPv4 CIDR such as \"10.100.0.0/16\"")
        if spec.is_prod and WORLD in c.public_access_cidrs:
            fail("cluster.publicAccessCidrs", f"got {WORLD!r} in prod; list only the networks `pulumi up` and "
                 "your operators run from, and close the public endpoint once the VPC is reached privately")
        if not c.public_endpoint and not (c.private_route and c.private_access_cidrs):
            fail("cluster.privateRoute" if not c.private_route else "cluster.privateAccessCidrs",
                 "the API endpoint is private (publicEndpoint: false), so `pulumi up` reaches it only from a network "
                 "with a private route to the VPC: set privateRoute: true and list that network in "
                 "privateAccessCidrs; for the first run of a VPC this stack creates, set publicEndpoint: true with "
                 "publicAccessCidrs of the deployer's network instead (docs/aws.md, \"A private cluster\")")
        if not pools_complete:
            pass
        elif not spec.node_pools:
            fail("nodePools", "mode eks needs at least one node pool")
        elif not any(not p.gpu and p.min_size >= 1 for p in spec.node_pools):
            fail("nodePools", "mode eks needs a non-GPU pool with minSize of at least 1, to run CoreDNS and the Cluster Autoscaler")
    else:
        eks_only = {"zones": c.zones, "vpcId": c.vpc_id, "privateSubnetIds": c.private_subnet_ids,
                    "publicSubnetIds": c.public_subnet_ids, "publicEndpoint": c.public_endpoint,
                    "publicAccessCidrs": c.public_access_cidrs, "privateAccessCidrs": c.private_access_cidrs,
                    "privateRoute": c.private_route, "adminPrincipals": c.admin_principals}
        for key, value in eks_only.items():
            if value:
                fail(f"cluster.{key}", f"got {describe(value) if not isinstance(value, tuple) else list(value)}; only applies when mode is eks")
        for key, name in (("natGateways", "nat_gateways"), ("vpcCidr", "vpc_cidr")):
            if not is_default(c, name):
                fail(f"cluster.{key}", "only applies when mode is eks")
        if spec.node_pools:
            fail("nodePools", f"got {len(spec.node_pools)} pool(s); node pools are created only in mode eks (an existing cluster brings its own nodes)")


def config_warnings(spec: StackSpec) -> list[Problem]:
    """What is allowed but should not stay: a prod API endpoint open to the internet."""
    c = spec.cluster
    if spec.is_eks and spec.is_prod and c.public_endpoint:
        return [Problem(f"{NAMESPACE}:cluster.publicEndpoint",
                        f"prod's API endpoint is public (for {', '.join(c.public_access_cidrs)}); once the VPC is "
                        "reached privately, set publicEndpoint: false and privateRoute: true")]
    return []


def _check_vpc_cidr(cidr: str, fail) -> None:
    if not _is_cidr(cidr):
        fail("cluster.vpcCidr", f"got {cidr!r}; expected an IPv4 CIDR such as \"10.0.0.0/16\"")
        return
    prefix = ipaddress.ip_network(cidr, strict=False).prefixlen
    if not 16 <= prefix <= 20:
        fail("cluster.vpcCidr", f"got {cidr!r}; the prefix must be /16 to /20 to leave room for six subnets")


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        return False
    return "/" in value


def _check_pools(spec: StackSpec, fail, positions: tuple[int, ...]) -> None:
    seen: set[str] = set()
    for i, pool in zip(positions, spec.node_pools):
        if pool.name in seen:
            fail(f"nodePools[{i}].name", f"got {pool.name!r} twice; pool names must be unique")
        seen.add(pool.name)


def _check_grid(spec: StackSpec, fail) -> None:
    g = spec.grid
    if g.zone_aware and g.backups == 0:
        fail("grid.zoneAware", "got true with backups 0; zone awareness keeps a primary and its backup apart, so it needs backups: 1")
    if g.zone_aware and spec.is_eks and spec.cluster.vpc_id is None and len(spec.cluster.zones) < 2:
        fail("grid.zoneAware", "needs at least 2 zones in cluster.zones")
    if g.license is not None and g.license_secret_name is not None:
        fail("grid.licenseSecretName", "set either license or licenseSecretName, not both")
    if not g.persistence:
        for key, name in (("storageClass", "storage_class"), ("storageGiB", "storage_gib")):
            if not is_default(g, name):
                fail(f"grid.{key}", "only applies when persistence is true")
    if g.namespace in RESERVED_NAMESPACES:
        fail("grid.namespace", f"got {g.namespace!r}; use a namespace of its own, not one of {', '.join(RESERVED_NAMESPACES)}")
    if spec.is_prod and g.managers != 3:
        fail("grid.managers", f"got {g.managers}; prod runs 3 managers so the grid survives the loss of one")
    # GigaSpaces 16.0.0 to 16.4.x: the images' gs_user, GS_* variables and container entry script
    # contract hold there (docs/gigaspaces.md). A malformed version was reported by the key's pattern.
    if re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", g.version):
        version = tuple(int(part) for part in g.version.split("."))
        if version < (15, 0, 0):
            fail("grid.version", f"got {g.version!r}; images before 15.0 read XAP_* variables, not the GS_* variables "
                                 "the chart sets, so they cannot run here; use a version from 16.0.0 to 16.4.x, such as \"16.4.0\"")
        elif not (16, 0, 0) <= version < (16, 5, 0):
            fail("grid.version", f"got {g.version!r}; KubeGrid supports GigaSpaces 16.0.0 to 16.4.x (the 16.x images' "
                                 "gs_user, GS_* variables and container entry script), such as \"16.4.0\"")


STOCK_SPARK = "apache/spark:"
"""apache/spark's images: none ships hadoop-aws or the AWS SDK (images/spark/Dockerfile adds them)."""


def _check_teams(spec: StackSpec, fail, positions: tuple[int, ...]) -> None:
    seen: set[str] = set()
    pool_names = [p.name for p in spec.node_pools]
    for i, team in zip(positions, spec.teams):
        at = f"teams[{i}]"
        if team.name in seen:
            fail(f"{at}.name", f"got {team.name!r} twice; team names must be unique")
        seen.add(team.name)
        if team.name in RESERVED_NAMESPACES or team.name == spec.grid.namespace:
            fail(f"{at}.name", f"got {team.name!r}; a team namespace cannot be {', '.join(RESERVED_NAMESPACES)} or the grid namespace")
        for role in ("admins", "editors", "viewers"):
            for j, principal in enumerate(getattr(team, role)):
                if spec.is_eks and not re.fullmatch(ARN_PATTERN, principal):
                    fail(f"{at}.{role}[{j}]", f"got {principal!r}; in mode eks, expected an IAM role or user ARN such as \"arn:aws:iam::123456789012:role/team-a\"")
                if not spec.is_eks and not principal:
                    fail(f"{at}.{role}[{j}]", "got an empty user name")
        if team.s3_access and not spec.is_eks:
            fail(f"{at}.s3Access", "only applies when cluster.mode is eks (S3 access is granted through EKS Pod Identity)")
        if team.s3_access and not team.spark:
            fail(f"{at}.s3Access", "only applies when spark is true")
        elif team.s3_access and spec.is_eks and (not team.spark_image or team.spark_image.startswith(STOCK_SPARK)):
            given = repr(team.spark_image) if team.spark_image else "none (apache/spark's image)"
            fail(f"{at}.sparkImage", f"got {given} for a team with s3Access; apache/spark's images have no S3A "
                                     "connector, so its jobs would fail at start: build images/spark/Dockerfile, "
                                     "push it where the nodes pull from and set its pinned name here (docs/spark.md)")
        unknown = [(j, name) for j, name in enumerate(team.node_pools) if name not in pool_names]
        for j, name in unknown:
            fail(f"{at}.nodePools[{j}]", f"got {name!r}; not a pool of this stack{suggestion(name, pool_names)}; pools: {', '.join(pool_names) or 'none'}")
        if team.insightedge and not team.spark:
            fail(f"{at}.insightedge", "only applies when spark is true")
        elif team.insightedge and spec.node_pools and not unknown and not spec.open_cpu_pools(team):
            pools = ", ".join(p.name for p in spec.team_pools(team))
            fail(f"{at}.insightedge", f"needs a CPU pool without NoSchedule or NoExecute taints among the team's "
                                      f"pools ({pools}): the insightedge image's Spark 2.4 cannot give its pods tolerations")


def _check_observability(spec: StackSpec, fail) -> None:
    o = spec.observability
    keys = {"mode": "mode", "gpuIdleMinutes": "gpu_idle_minutes", "pendingPodMinutes": "pending_pod_minutes",
            "historyServer": "history_server", "namespace": "namespace", "retentionDays": "retention_days",
            "storageGiB": "storage_gib", "grafanaAdminPassword": "grafana_admin_password",
            "monitorLabels": "monitor_labels"}
    if not o.enabled:
        for key, name in keys.items():
            if not is_default(o, name):
                fail(f"observability.{key}", "only applies when observability.enabled is true")
        return
    if o.mode is MonitoringMode.EXISTING:
        for key, name in (("retentionDays", "retention_days"), ("storageGiB", "storage_gib"),
                          ("grafanaAdminPassword", "grafana_admin_password")):
            if not is_default(o, name):
                fail(f"observability.{key}", "only applies when observability.mode is install (mode existing "
                                             "uses the Prometheus and Grafana the cluster already runs)")
    taken = {spec.grid.namespace: "the grid namespace", **{t.name: f"team {t.name!r}'s namespace" for t in spec.teams}}
    if o.namespace in taken:
        fail("observability.namespace", f"got {o.namespace!r}, which is {taken[o.namespace]}; "
                                        "use a namespace of its own, such as \"monitoring\"")
    elif o.mode is MonitoringMode.INSTALL and o.namespace in RESERVED_NAMESPACES:
        fail("observability.namespace", f"got {o.namespace!r}; mode install creates its namespace, so it cannot be "
                                        f"one of {', '.join(RESERVED_NAMESPACES)}; use \"monitoring\"")
    for label, value in o.monitor_labels.items():
        if not re.fullmatch(r"([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", label) or len(label.split("/")[-1]) > 63:
            fail(f"observability.monitorLabels.{label}", "not a Kubernetes label key (an optional DNS prefix and '/', "
                                                         "then at most 63 letters, digits, '-', '_' or '.')")
        elif not re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", str(value)) or len(str(value)) > 63:
            fail(f"observability.monitorLabels.{label}", f"got {value!r}; a label value is at most 63 letters, "
                                                         "digits, '-', '_' or '.', starting and ending alphanumeric")
