"""The stack spec: a stack's configuration, typed, immutable and validated once.

This is the only module that reads configuration. :func:`load_spec` takes the
raw ``namespace:key`` values (from a stack file, or from the Pulumi runtime)
and either returns a :class:`StackSpec` or raises :class:`ConfigError` with
every problem found, each naming its key path, the value given and what is
allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Optional

from .config_reader import (
    DNS_LABEL, EMPTY_MAP, ConfigError, Problem, Reader, Secret, describe, setting, suggestion,
)
from .instance_types import FAMILIES, SHAPES, Arch

NAMESPACE = "kubegrid"
DNS_HINT = "a DNS label: lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric"
# EKS access entries take IAM roles and users, not STS session ARNs.
ARN_PATTERN = r"arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+"
KUBERNETES_VERSION = r"1\.(29|3[0-7])"
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
GRID_CLIENT_LABEL = "kubegrid.io/grid-client"


class Environment(str, Enum):
    LOCAL = "local"
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class ClusterMode(str, Enum):
    EKS = "eks"
    EXISTING = "existing"


class CapacityType(str, Enum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


class NatGateways(str, Enum):
    SINGLE = "single"
    PER_ZONE = "perZone"


class AmiFamily(str, Enum):
    """EKS managed node group AMI types (``amiType``)."""

    AL2023_X86_64_STANDARD = "AL2023_x86_64_STANDARD"
    AL2023_ARM_64_STANDARD = "AL2023_ARM_64_STANDARD"
    AL2023_X86_64_NVIDIA = "AL2023_x86_64_NVIDIA"
    AL2023_ARM_64_NVIDIA = "AL2023_ARM_64_NVIDIA"
    BOTTLEROCKET_X86_64 = "BOTTLEROCKET_x86_64"
    BOTTLEROCKET_ARM_64 = "BOTTLEROCKET_ARM_64"
    BOTTLEROCKET_X86_64_NVIDIA = "BOTTLEROCKET_x86_64_NVIDIA"
    BOTTLEROCKET_ARM_64_NVIDIA = "BOTTLEROCKET_ARM_64_NVIDIA"

    @property
    def is_nvidia(self) -> bool:
        return self.value.endswith("_NVIDIA")

    @property
    def arch(self) -> Arch:
        return Arch.ARM_64 if "_ARM_64" in self.value else Arch.X86_64

    @property
    def is_bottlerocket(self) -> bool:
        return self.value.startswith("BOTTLEROCKET")


class TaintEffect(str, Enum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@dataclass(frozen=True)
class Taint:
    key: str = setting("key", "Taint key.", pattern=r"([a-z0-9.-]+/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?",
                       pattern_hint="a Kubernetes label key")
    effect: TaintEffect = setting("effect", "Taint effect.")
    value: str = setting("value", "Taint value.", default="")


@dataclass(frozen=True)
class ClusterSpec:
    mode: ClusterMode = setting("mode", "`eks` creates the network and an EKS cluster; `existing` deploys onto the cluster of a kubeconfig context (kind, minikube, any cluster).")
    kubernetes_version: str = setting(
        "kubernetesVersion", "Kubernetes minor version of the cluster; objects are validated against it.",
        default="1.34", pattern=KUBERNETES_VERSION, pattern_hint="a minor version from 1.29 to 1.37, such as \"1.34\"")
    context: Optional[str] = setting("context", "mode `existing` only: kubeconfig context to deploy to; none means the current context.", default=None)
    zones: tuple[str, ...] = setting("zones", "mode `eks` only: availability zones of `aws:region` to span (2 or 3).",
                                     default=(), pattern=r"[a-z]{2}(-gov)?-[a-z]+-\d[a-z]", pattern_hint="an availability zone name such as \"eu-west-1a\"")
    vpc_cidr: str = setting("vpcCidr", "mode `eks`: address range of the VPC the stack creates.", default="10.0.0.0/16")
    nat_gateways: NatGateways = setting("natGateways", "mode `eks`: one NAT gateway shared by all zones (cheaper) or one per zone (survives a zone's loss).", default=NatGateways.SINGLE)
    vpc_id: Optional[str] = setting("vpcId", "mode `eks`: use this existing VPC instead of creating one.", default=None,
                                    pattern=r"vpc-[0-9a-f]{8,17}", pattern_hint="a VPC id such as \"vpc-0abc12345def67890\"")
    private_subnet_ids: tuple[str, ...] = setting("privateSubnetIds", "With `vpcId`: private subnets (one per zone) for nodes and the control plane.", default=(),
                                                  pattern=r"subnet-[0-9a-f]{8,17}", pattern_hint="a subnet id such as \"subnet-0abc12345def67890\"")
    public_subnet_ids: tuple[str, ...] = setting("publicSubnetIds", "With `vpcId`: public subnets for internet-facing load balancers.", default=(),
                                                 pattern=r"subnet-[0-9a-f]{8,17}", pattern_hint="a subnet id such as \"subnet-0abc12345def67890\"")
    public_endpoint: bool = setting("publicEndpoint", "mode `eks`: expose the API server endpoint publicly (the private endpoint is always on). Must be false in prod.", default=False)
    public_access_cidrs: tuple[str, ...] = setting("publicAccessCidrs", "With `publicEndpoint`: the CIDRs allowed to reach the public endpoint. `0.0.0.0/0` only if listed here explicitly.", default=())
    private_access_cidrs: tuple[str, ...] = setting("privateAccessCidrs", "mode `eks`: CIDRs (VPN, peered networks, bastion subnets) allowed to reach the private API endpoint on port 443; the nodes always can. A stack without a public endpoint is run (`pulumi up`) from one of these networks.", default=())
    admin_principals: tuple[str, ...] = setting("adminPrincipals", "mode `eks`: IAM role or user ARNs given cluster-admin through access entries.", default=(),
                                                pattern=ARN_PATTERN, pattern_hint="an IAM role or user ARN such as \"arn:aws:iam::123456789012:role/platform-admin\"")


@dataclass(frozen=True)
class NodePoolSpec:
    name: str = setting("name", "Pool name; also the node label `kubegrid.io/pool`.", pattern=DNS_LABEL.pattern, pattern_hint=DNS_HINT)
    instance_types: tuple[str, ...] = setting("instanceTypes", "EC2 instance types, all of one shape (vCPUs, memory, GPUs) so the autoscaler can predict a node.", min_items=1, max_items=20)
    min_size: int = setting("minSize", "Fewest nodes; 0 lets the pool scale to zero when idle.", minimum=0, maximum=1000)
    max_size: int = setting("maxSize", "Most nodes.", minimum=1, maximum=1000)
    desired_size: Optional[int] = setting("desiredSize", "Nodes at creation; the autoscaler owns it afterwards.", default=None, default_doc="`minSize`", minimum=0, maximum=1000)
    capacity_type: CapacityType = setting("capacityType", "On-demand or spot capacity.", default=CapacityType.ON_DEMAND)
    gpu: bool = setting("gpu", "A GPU pool: NVIDIA AMI, taint `nvidia.com/gpu=true:NoSchedule`, the device plugin.", default=False)
    ami_family: Optional[AmiFamily] = setting("amiFamily", "EKS AMI type.", default=None,
                                              default_doc="`AL2023_x86_64_STANDARD`, or the `_NVIDIA`/`ARM_64` variant matching `gpu` and the instance architecture")
    disk_gib: int = setting("diskGiB", "Size of each node's encrypted gp3 root volume.", default=100, minimum=20, maximum=16384)
    labels: Mapping[str, str] = setting("labels", "Extra node labels.", default=EMPTY_MAP)
    taints: tuple[Taint, ...] = setting("taints", "Extra node taints.", default=())

    @property
    def desired(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size

    @staticmethod
    def check_fields(v: dict[str, Any], fail: Callable[[str, str], None]) -> None:
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

    @property
    def shape(self):
        return SHAPES[self.instance_types[0]]

    @property
    def ami(self) -> AmiFamily:
        if self.ami_family is not None:
            return self.ami_family
        arm = self.shape.arch is Arch.ARM_64
        if self.gpu:
            return AmiFamily.AL2023_ARM_64_NVIDIA if arm else AmiFamily.AL2023_X86_64_NVIDIA
        return AmiFamily.AL2023_ARM_64_STANDARD if arm else AmiFamily.AL2023_X86_64_STANDARD


@dataclass(frozen=True)
class GridSpec:
    namespace: str = setting("namespace", "Namespace of the grid.", default="kubegrid", pattern=DNS_LABEL.pattern, pattern_hint=DNS_HINT)
    managers: int = setting("managers", "Management pods (lookup service, REST manager, ZooKeeper): 1, or 3 for high availability.", default=1, choices=(1, 3))
    partitions: int = setting("partitions", "Data partitions; one StatefulSet each.", default=1, minimum=1, maximum=256)
    backups: int = setting("backups", "Backups per partition: 1 keeps a copy on another node for failover.", default=1, choices=(0, 1))
    zone_aware: bool = setting("zoneAware", "Keep a partition's primary and backup in different zones.", default=False)
    manager_cpu: float = setting("managerCpu", "CPU cores per management pod.", default=1.0, minimum=0.25, maximum=64)
    manager_memory_gib: float = setting("managerMemoryGiB", "Memory per management pod.", default=2.0, minimum=1, maximum=256)
    partition_cpu: float = setting("partitionCpu", "CPU cores per data pod.", default=1.0, minimum=0.25, maximum=192)
    partition_memory_gib: float = setting("partitionMemoryGiB", "Memory per data pod; the JVM heap is derived from it.", default=4.0, minimum=1, maximum=1024)
    persistence: bool = setting("persistence", "Give each data pod a persistent volume (kept when pods or the grid are deleted).", default=False)
    storage_gib: int = setting("storageGiB", "With `persistence`: volume size per data pod.", default=20, minimum=1, maximum=16384)
    storage_class: str = setting("storageClass", "With `persistence`: StorageClass of the volumes; empty means the cluster default.", default="")
    image_repository: str = setting("imageRepository", "Grid image.", default="gigaspaces/xap-enterprise",
                                    pattern=r"[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*", pattern_hint="an image repository such as \"gigaspaces/xap-enterprise\"")
    image_tag: str = setting("imageTag", "Grid image tag, pinned.", default="16.4.0",
                             pattern=r"(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", pattern_hint="a pinned tag such as \"16.4.0\" (not \"latest\")")
    license: Optional[Secret] = setting("license", "GigaSpaces license, stored encrypted (`pulumi config set --secret --path kubegrid:grid.license ...`); none runs the evaluation license.", default=None)
    license_secret_name: Optional[str] = setting("licenseSecretName", "Name of an existing Secret in the grid namespace holding the license under the key `license`, instead of `license`.", default=None,
                                                 pattern=DNS_LABEL.pattern, pattern_hint=DNS_HINT)
    zeppelin: bool = setting("zeppelin", "Deploy the Zeppelin notebook.", default=False)


@dataclass(frozen=True)
class QuotaSpec:
    cpu: float = setting("cpu", "CPU cores the team's pods may request (and limit) in total.", minimum=0.5, maximum=100000)
    memory_gib: float = setting("memoryGiB", "Memory the team's pods may request (and limit) in total.", minimum=1, maximum=1000000)
    gpus: int = setting("gpus", "NVIDIA GPUs the team's pods may request in total.", default=0, minimum=0, maximum=10000)
    pods: int = setting("pods", "Pods at most.", default=100, minimum=1, maximum=100000)
    persistent_volume_claims: int = setting("persistentVolumeClaims", "Persistent volume claims at most.", default=10, minimum=0, maximum=10000)
    storage_gib: int = setting("storageGiB", "Storage all claims may request in total.", default=100, minimum=0, maximum=1000000)
    load_balancers: int = setting("loadBalancers", "Services of type LoadBalancer at most.", default=0, minimum=0, maximum=100)


@dataclass(frozen=True)
class TeamSpec:
    name: str = setting("name", "Team name; also the name of its namespace.", pattern=DNS_LABEL.pattern, pattern_hint=DNS_HINT)
    quota: QuotaSpec = setting("quota", "The team namespace's ResourceQuota.")
    admins: tuple[str, ...] = setting("admins", "Given `admin` in the team namespace. In mode `eks`, IAM role or user ARNs (mapped by access entries); in mode `existing`, Kubernetes user names.", default=())
    editors: tuple[str, ...] = setting("editors", "Given `edit` in the team namespace; same forms as `admins`.", default=())
    viewers: tuple[str, ...] = setting("viewers", "Given `view` in the team namespace; same forms as `admins`.", default=())
    spark: bool = setting("spark", "Spark accounts, role, pod templates and defaults in the namespace.", default=True)
    s3_access: tuple[str, ...] = setting("s3Access", "mode `eks`: S3 locations Spark jobs may read and write, as `s3://bucket/prefix/` (through EKS Pod Identity).", default=(),
                                         pattern=r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?]*)?", pattern_hint="an S3 location such as \"s3://analytics-data/team-a/\"")
    node_pools: tuple[str, ...] = setting("nodePools", "Node pools the team's Spark executors may use; none means all.", default=())
    driver_retention_hours: int = setting("driverRetentionHours", "Completed Spark driver pods older than this are removed.", default=24, minimum=1, maximum=24 * 90)


@dataclass(frozen=True)
class StackSpec:
    """Everything a stack is, validated."""

    stack: str
    environment: Environment
    cluster: ClusterSpec
    node_pools: tuple[NodePoolSpec, ...]
    grid: GridSpec
    teams: tuple[TeamSpec, ...]
    region: Optional[str] = None

    @property
    def is_eks(self) -> bool:
        return self.cluster.mode is ClusterMode.EKS

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.PROD

    def pool(self, name: str) -> NodePoolSpec:
        return next(p for p in self.node_pools if p.name == name)

    def team_pools(self, team: TeamSpec) -> tuple[NodePoolSpec, ...]:
        """The pools a team's executors may run on."""
        if not team.node_pools:
            return self.node_pools
        return tuple(p for p in self.node_pools if p.name in team.node_pools)


# The top-level keys: config key -> (reader, description).
TOP_LEVEL: dict[str, str] = {
    "environment": "The environment this stack is: local, dev, staging or prod.",
    "cluster": "Where the platform runs: a new EKS cluster or an existing cluster.",
    "nodePools": "Node pools of the EKS cluster (mode `eks` only).",
    "grid": "The data grid deployed by the kubegrid chart.",
    "teams": "Team namespaces, their quotas, access and Spark.",
}
REGION_PATTERN = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")


def load_spec(config: Mapping[str, Any], stack: str,
              is_secret: Callable[[str], bool] = lambda key: False) -> StackSpec:
    """Reads and validates a stack's configuration.

    ``config`` maps full keys (``kubegrid:grid``, ``aws:region``) to their
    values, already parsed from YAML or JSON. ``is_secret(key)`` tells whether
    the runtime decrypted that top-level key from a secure value.
    """
    reader = Reader(lambda path: is_secret(path.split(".", 1)[0].split("[", 1)[0]))
    ours = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{NAMESPACE}:")}
    for key in ours:
        if key not in TOP_LEVEL:
            reader.fail(f"{NAMESPACE}:{key}", "unknown key" + suggestion(key, TOP_LEVEL)
                        + "; allowed keys: " + ", ".join(f"{NAMESPACE}:{k}" for k in TOP_LEVEL))

    environment = reader.read_value(Environment, ours.get("environment"), f"{NAMESPACE}:environment", {}) \
        if ours.get("environment") is not None else _required(reader, "environment", "string")
    cluster = reader.read_object(ClusterSpec, ours.get("cluster"), f"{NAMESPACE}:cluster") \
        if ours.get("cluster") is not None else _required(reader, "cluster", "object")
    pools, pool_at = _read_list(reader, NodePoolSpec, ours.get("nodePools"), "nodePools")
    grid = reader.read_object(GridSpec, ours.get("grid") or {}, f"{NAMESPACE}:grid")
    teams, team_at = _read_list(reader, TeamSpec, ours.get("teams"), "teams")

    region = config.get("aws:region")
    if region is not None and (not isinstance(region, str) or not REGION_PATTERN.fullmatch(region)):
        reader.fail("aws:region", f"got {describe(region)}; expected an AWS region such as \"eu-west-1\"")
        region = None

    if not isinstance(environment, Environment) or cluster is None or grid is None:
        raise ConfigError(reader.problems)
    spec = StackSpec(stack=stack, environment=environment, cluster=cluster, node_pools=pools,
                     grid=grid, teams=teams, region=region)
    # Rules across keys still run when some items failed to read, so one run shows every
    # problem; rules over a whole list wait until every item of it was read.
    positions = {"nodePools": pool_at, "teams": team_at}
    complete = {key: len(at) == _count(ours.get(key)) for key, at in positions.items()}
    problems = reader.problems + cross_check(spec, complete, positions)
    if problems:
        raise ConfigError(problems)
    return spec


def _count(raw: Any) -> int:
    return len(raw) if isinstance(raw, list) else 0


def _required(reader: Reader, key: str, type_: str) -> None:
    reader.fail(f"{NAMESPACE}:{key}", f"required ({type_}): {TOP_LEVEL[key]}")
    return None


def _read_list(reader: Reader, cls: type, raw: Any, key: str) -> tuple[tuple, tuple[int, ...]]:
    """The items that could be read, and their positions in the file's list."""
    path = f"{NAMESPACE}:{key}"
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        reader.fail(path, f"expected a list, got {describe(raw)}")
        return (), ()
    read = [(i, reader.read_object(cls, item, f"{path}[{i}]")) for i, item in enumerate(raw)]
    kept = [(i, item) for i, item in read if item is not None]
    return tuple(item for _, item in kept), tuple(i for i, _ in kept)


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
        if spec.is_prod and c.public_endpoint:
            fail("cluster.publicEndpoint", "got true; prod keeps the API server private (reach it through a VPN, bastion or peered network)")
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
                    "adminPrincipals": c.admin_principals}
        for key, value in eks_only.items():
            if value:
                fail(f"cluster.{key}", f"got {describe(value) if not isinstance(value, tuple) else list(value)}; only applies when mode is eks")
        if c.nat_gateways is not NatGateways.SINGLE or c.vpc_cidr != "10.0.0.0/16":
            fail("cluster.natGateways" if c.nat_gateways is not NatGateways.SINGLE else "cluster.vpcCidr",
                 "only applies when mode is eks")
        if spec.node_pools:
            fail("nodePools", f"got {len(spec.node_pools)} pool(s); node pools are created only in mode eks (an existing cluster brings its own nodes)")


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
    if not g.persistence and (g.storage_class or g.storage_gib != 20):
        fail("grid.storageClass" if g.storage_class else "grid.storageGiB", "only applies when persistence is true")
    if g.namespace in RESERVED_NAMESPACES:
        fail("grid.namespace", f"got {g.namespace!r}; use a namespace of its own, not one of {', '.join(RESERVED_NAMESPACES)}")
    if spec.is_prod and g.managers != 3:
        fail("grid.managers", f"got {g.managers}; prod runs 3 managers so the grid survives the loss of one")


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
        for j, name in enumerate(team.node_pools):
            if name not in pool_names:
                fail(f"{at}.nodePools[{j}]", f"got {name!r}; not a pool of this stack{suggestion(name, pool_names)}; pools: {', '.join(pool_names) or 'none'}")


def read_stack_file(path) -> dict[str, Any]:
    """The ``config:`` mapping of a ``Pulumi.<stack>.yaml`` file."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if not isinstance(document, Mapping):
        raise ConfigError([Problem(str(path), "expected a YAML mapping with a config: section")])
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        raise ConfigError([Problem(f"{path}: config", "expected a mapping of namespace:key to value")])
    for key in config:
        if not isinstance(key, str) or ":" not in key:
            raise ConfigError([Problem(f"{path}: config.{key}", "expected a namespaced key such as kubegrid:grid")])
    return dict(config)


STRUCTURED_KEYS = ("cluster", "nodePools", "grid", "teams")


def runtime_config() -> tuple[dict[str, Any], Callable[[str], bool]]:
    """The running Pulumi program's configuration, with structured values parsed.

    The engine hands structured values to the program as JSON text, and marks
    a whole top-level key secret when any value inside it was encrypted.
    """
    import json

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
