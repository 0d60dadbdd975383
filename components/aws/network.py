"""The VPC a cluster runs in: public and private subnets in each zone, NAT.

Private subnets hold the nodes and the control plane's network interfaces;
public subnets hold the NAT gateways and internet-facing load balancers.
Subnets carry the tags the AWS Load Balancer Controller and the in-tree
service controller use to pick them, and the cluster tag.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from .naming import AwsStack

ELB_ROLE_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_ROLE_TAG = "kubernetes.io/role/internal-elb"


def cluster_tag(name: str) -> str:
    return f"kubernetes.io/cluster/{name}"


@dataclass(frozen=True)
class ZoneSubnets:
    zone: str
    private_cidr: str
    public_cidr: str


def subnet_layout(vpc_cidr: str, zones: Sequence[str]) -> list[ZoneSubnets]:
    """Address plan: the VPC in quarters; quarters 0-2 are the private subnets
    (one per zone, where the pods' IPs come from), the last quarter is split
    in four for the public subnets. A /16 gives /18 private and /20 public."""
    network = ipaddress.ip_network(vpc_cidr)
    quarters = list(network.subnets(prefixlen_diff=2))
    public = list(quarters[3].subnets(prefixlen_diff=2))
    return [ZoneSubnets(zone, str(quarters[i]), str(public[i])) for i, zone in enumerate(zones)]


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of :class:`Network`."""

    stack: AwsStack
    """The stack's region, cluster name and tags."""
    vpc_cidr: str
    """Address range of the VPC."""
    zones: Sequence[str]
    """Availability zones to span, one private and one public subnet each."""
    nat_per_zone: bool
    """One NAT gateway per zone (survives a zone's loss), else one shared by all zones."""


class Network(pulumi.ComponentResource):
    """A VPC across the configured zones with an internet gateway and NAT."""

    vpc_id: pulumi.Output[str]
    """The VPC's id."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets, one per zone, in zone order."""
    public_subnet_ids: list[pulumi.Output[str]]
    """Public subnets, one per zone, in zone order."""
    nat_gateways: list[aws.ec2.NatGateway]
    """The NAT gateways: one, or one per zone."""

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("kubegrid:index:Network", name, None, opts)
        stack = args.stack
        cluster = stack.cluster
        child = pulumi.ResourceOptions(parent=self)

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.vpc_cidr, enable_dns_support=True,
                          enable_dns_hostnames=True, tags=stack.tagged(Name=cluster), opts=child)
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=stack.tagged(Name=cluster), opts=child)

        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id,
                                       tags=stack.tagged(Name=f"{cluster}-public"), opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child)

        layout = subnet_layout(args.vpc_cidr, args.zones)
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for z in layout:
            public = aws.ec2.Subnet(
                f"{name}-public-{z.zone}", vpc_id=vpc.id, cidr_block=z.public_cidr, availability_zone=z.zone,
                map_public_ip_on_launch=False,
                tags=stack.tagged(Name=f"{cluster}-public-{z.zone}", **{ELB_ROLE_TAG: "1", cluster_tag(cluster): "shared"}),
                opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{z.zone}", subnet_id=public.id,
                                          route_table_id=public_rt.id, opts=child)
            private = aws.ec2.Subnet(
                f"{name}-private-{z.zone}", vpc_id=vpc.id, cidr_block=z.private_cidr, availability_zone=z.zone,
                tags=stack.tagged(Name=f"{cluster}-private-{z.zone}",
                          **{INTERNAL_ELB_ROLE_TAG: "1", cluster_tag(cluster): "shared"}),
                opts=child)
            public_subnets.append(public)
            private_subnets.append(private)

        nat_zones = layout if args.nat_per_zone else layout[:1]
        self.nat_gateways = []
        for z, public in zip(nat_zones, public_subnets):
            eip = aws.ec2.Eip(f"{name}-nat-{z.zone}", domain="vpc", tags=stack.tagged(Name=f"{cluster}-nat-{z.zone}"),
                              opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]))
            self.nat_gateways.append(aws.ec2.NatGateway(
                f"{name}-nat-{z.zone}", allocation_id=eip.id, subnet_id=public.id,
                tags=stack.tagged(Name=f"{cluster}-nat-{z.zone}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))

        # One route table per private subnet, so moving from one NAT gateway to one
        # per zone only changes routes.
        for i, (z, private) in enumerate(zip(layout, private_subnets)):
            nat = self.nat_gateways[i if i < len(self.nat_gateways) else 0]
            rt = aws.ec2.RouteTable(f"{name}-private-{z.zone}", vpc_id=vpc.id,
                                    tags=stack.tagged(Name=f"{cluster}-private-{z.zone}"), opts=child)
            aws.ec2.Route(f"{name}-private-{z.zone}-default", route_table_id=rt.id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{z.zone}", subnet_id=private.id,
                                          route_table_id=rt.id, opts=child)

        self.vpc_id = vpc.id
        self.private_subnet_ids = [s.id for s in private_subnets]
        self.public_subnet_ids = [s.id for s in public_subnets]
        self.register_outputs({"vpcId": self.vpc_id, "privateSubnetIds": self.private_subnet_ids,
                               "publicSubnetIds": self.public_subnet_ids})
