"""The stack spec: a stack's configuration as typed, immutable dataclasses.

Each field is declared with :func:`~.reader.setting`: its config key, its
documentation and its bounds. Reading and the rules between keys are in
:mod:`.load` and :mod:`.rules`; this module only says what a stack is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from .instance_types import SHAPES, Arch
from .reader import DNS_LABEL, EMPTY_MAP, Secret, setting

NAMESPACE = "kubegrid"
DNS_HINT = "a DNS label: lower-case letters, digits and '-', at most 63 characters, starting and ending alphanumeric"
# EKS access entries take IAM roles and users, not STS session ARNs.
ARN_PATTERN = r"arn:aws[a-z-]*:iam::\d{12}:(role|user)/[\w+=,.@/-]+"
KUBERNETES_VERSION = r"1\.(29|3[0-7])"
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


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
    private_route: bool = setting("privateRoute", "mode `eks`: the network `pulumi up` runs from has a private route to the cluster's VPC (VPN, Direct Connect, peering, Transit Gateway, or a runner inside the VPC), so it reaches the private endpoint. Required for a stack without a public endpoint. A VPC this stack creates has no such route before its first `pulumi up`: see docs/aws.md for the first run of a private cluster.", default=False)
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
    product: str = setting("product", "GigaSpaces product whose published image the grid runs: `smart-cache` (`gigaspaces/smart-cache-enterprise`) or `insightedge` (`gigaspaces/insightedge-enterprise`, with Spark). The Zeppelin notebook always runs `insightedge-enterprise`.",
                           default="smart-cache", choices=("smart-cache", "insightedge"))
    version: str = setting("version", "GigaSpaces version, also the image tag: 16.0.0 to 16.4.x (see docs/gigaspaces.md).", default="16.4.0",
                           pattern=r"[0-9]+\.[0-9]+\.[0-9]+", pattern_hint="a GigaSpaces version such as \"16.4.0\"")
    image_repository: str = setting("imageRepository", "Grid image repository, to pull the product's image from a private mirror; empty means the product's public image. The tag is always `version`.", default="",
                                    pattern=r"([a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*)?", pattern_hint="an image repository such as \"registry.example.com/gigaspaces/smart-cache-enterprise\"")
    license: Optional[Secret] = setting("license", "GigaSpaces license, stored encrypted (`pulumi config set --secret --path kubegrid:grid.license ...`); none runs the evaluation license.", default=None)
    license_secret_name: Optional[str] = setting("licenseSecretName", "Name of an existing Secret in the grid namespace holding the license under the key `license`, instead of `license`.", default=None,
                                                 pattern=DNS_LABEL.pattern, pattern_hint=DNS_HINT)
    zeppelin: bool = setting("zeppelin", "Deploy the Zeppelin notebook.", default=False)


class MonitoringMode(str, Enum):
    INSTALL = "install"
    EXISTING = "existing"


@dataclass(frozen=True)
class ObservabilitySpec:
    enabled: bool = setting("enabled", "Metrics, dashboards, alerts for the grid, Spark and GPUs, and a Spark history server.", default=False)
    mode: MonitoringMode = setting("mode", "`install` puts the kube-prometheus-stack chart on the cluster; `existing` deploys only the monitors, rules and dashboards, for a cluster that already runs the Prometheus Operator and Grafana's dashboard sidecar.", default=MonitoringMode.INSTALL)
    gpu_idle_minutes: int = setting("gpuIdleMinutes", "A GPU node whose GPUs stay idle this long raises an alert.", default=30, minimum=5, maximum=1440)
    pending_pod_minutes: int = setting("pendingPodMinutes", "A pod pending this long raises an alert.", default=15, minimum=1, maximum=1440)
    history_server: bool = setting("historyServer", "A Spark history server in each Spark team's namespace, reading that team's event logs only (mode eks: teams with `s3Access`; elsewhere: the team's `spark-events` volume). Reached with `kubectl port-forward` (docs/observability.md).", default=True)
    namespace: str = setting("namespace", "Namespace of Prometheus, Grafana and the exporters: created in mode `install`; in mode `existing`, where the existing Prometheus and Grafana run (the dashboards, monitors and rules go there).", default="monitoring",
                             pattern=DNS_LABEL.pattern, pattern_hint=DNS_HINT)
    retention_days: int = setting("retentionDays", "mode `install`: days Prometheus keeps samples (it also stops at 90% of `storageGiB`).", default=15, minimum=1, maximum=365)
    storage_gib: int = setting("storageGiB", "mode `install`: size of Prometheus' persistent volume (the cluster's default StorageClass; gp3 in mode eks).", default=50, minimum=10, maximum=16384)
    grafana_admin_password: Optional[Secret] = setting("grafanaAdminPassword", "mode `install`: Grafana's admin password, stored encrypted (`pulumi config set --secret --path kubegrid:observability.grafanaAdminPassword ...`); the stack keeps it in the Secret `kubegrid-grafana-admin`. None: the Grafana chart generates a random one and keeps it across upgrades (docs/observability.md says how to read it).", default=None)
    monitor_labels: Mapping[str, str] = setting("monitorLabels", "Labels put on every ServiceMonitor, PodMonitor and PrometheusRule of the stack, so that Prometheus selects them. Mode `install` always adds `release: kube-prometheus-stack`, which its Prometheus selects; in mode `existing`, give the labels your Prometheus' selectors match.", default=EMPTY_MAP)


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
    spark_image: str = setting("sparkImage", "The team's Spark image, pinned; empty means `apache/spark:4.0.1-scala2.13-java17-python3-ubuntu`. It must be Spark 4.0.x with the image's `spark` user (uid 185) and its entrypoint. Required for a team with `s3Access`: apache/spark has no S3A connector, so build `images/spark/Dockerfile`, push it and name it here (docs/spark.md).", default="",
                               pattern=r"([a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64}))?",
                               pattern_hint="a pinned image such as \"registry.example.com/spark:4.0.1-s3a\" (with a tag other than latest, or a digest)")
    insightedge: bool = setting("insightedge", "Also run Spark jobs that read the grid: `insightedge-defaults.conf` for GigaSpaces' `insightedge-enterprise` image of the grid's version, whose Spark 2.4.4 carries the InsightEdge connector, submitted with `insightedge-submit`. Spark 2.4 cannot give its pods a security context or tolerations, so the namespace enforces Pod Security `baseline` (and warns at `restricted`) and these jobs run on one CPU pool without taints, without GPUs, S3 or event logs (docs/gigaspaces.md).", default=False)
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
    observability: ObservabilitySpec = ObservabilitySpec()
    region: Optional[str] = None
    aws_profile: Optional[str] = None
    """`aws:profile`: the named AWS profile the AWS provider uses; the kubeconfig uses it too."""
    aws_role_arn: Optional[str] = None
    """The role the AWS provider assumes (`aws:assumeRoles`); the kubeconfig's token is for the same role."""

    @property
    def is_eks(self) -> bool:
        return self.cluster.mode is ClusterMode.EKS

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.PROD

    @property
    def resource_tags(self) -> dict[str, str]:
        """The tags every cloud resource of the stack carries, EBS volumes of its claims included."""
        return {"kubegrid:stack": self.stack, "kubegrid:environment": self.environment.value,
                "kubegrid:managed-by": "pulumi"}

    @property
    def cluster_name(self) -> str:
        """The EKS cluster's name, ``kubegrid-<stack>``: fixed, so that subnet tags,
        autoscaler discovery tags and IAM conditions can name it before it exists."""
        return "kubegrid-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.stack)

    def pool(self, name: str) -> NodePoolSpec:
        return next(p for p in self.node_pools if p.name == name)

    def team_pools(self, team: TeamSpec) -> tuple[NodePoolSpec, ...]:
        """The pools a team's executors may run on."""
        if not team.node_pools:
            return self.node_pools
        return tuple(p for p in self.node_pools if p.name in team.node_pools)

    def open_cpu_pools(self, team: TeamSpec) -> tuple[NodePoolSpec, ...]:
        """The team's pools a pod without tolerations can run on: no GPU (whose taint keeps such pods
        off), no taint but PreferNoSchedule ones."""
        return tuple(p for p in self.team_pools(team)
                     if not p.gpu and all(t.effect is TaintEffect.PREFER_NO_SCHEDULE for t in p.taints))


# The top-level keys: config key -> (reader, description).


IAM_ARN = re.compile(r"arn:(?P<partition>[^:]+):(?P<service>[^:]+)::(?P<account>\d{12}):(?P<resource>.+)")
"""An IAM or STS ARN, in parts."""


def same_principal(a: str, b: str) -> bool:
    """Whether two IAM ARNs name the same role or user: the same account, kind and name,
    ignoring a path (a role's session issuer carries it; a configured ARN may leave it out)."""
    ma, mb = IAM_ARN.fullmatch(a), IAM_ARN.fullmatch(b)
    if not (ma and mb):
        return a == b

    def key(match: re.Match, arn: str) -> tuple[str, str, str]:
        return match["account"], match["resource"].split("/")[0], arn.rsplit("/", 1)[-1]

    return key(ma, a) == key(mb, b)
