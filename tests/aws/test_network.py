"""Network: a VPC across the zones, public and private subnets, NAT, or an existing VPC."""

from __future__ import annotations

import ipaddress

import pytest

from components.aws.network import subnet_layout
from tests.support.stacks import config_of

SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"


def subnets(run, kind: str):
    return [r for r in run.of_type(SUBNET) if f"-{kind}-" in r.name]


@pytest.mark.parametrize("stack, zones", [("dev", 2), ("staging", 3), ("prod", 3)])
def test_public_and_private_subnet_in_every_zone(run_stack, stack, zones):
    run = run_stack(stack)
    (vpc,) = run.of_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16" and vpc.inputs["enableDnsHostnames"] is True
    for kind in ("public", "private"):
        found = subnets(run, kind)
        assert len(found) == zones
        assert len({s.inputs["availabilityZone"] for s in found}) == zones


def test_subnets_are_tagged_for_load_balancers_and_the_cluster(run_stack):
    run = run_stack("prod")
    for s in subnets(run, "public"):
        assert s.inputs["tags"]["kubernetes.io/role/elb"] == "1"
        assert "kubernetes.io/role/internal-elb" not in s.inputs["tags"]
        assert s.inputs["tags"]["kubernetes.io/cluster/kubegrid-prod"] == "shared"
        assert s.inputs["mapPublicIpOnLaunch"] is False
    for s in subnets(run, "private"):
        assert s.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"
        assert "kubernetes.io/role/elb" not in s.inputs["tags"]
        assert s.inputs["tags"]["kubernetes.io/cluster/kubegrid-prod"] == "shared"


@pytest.mark.parametrize("stack, nats", [("dev", 1), ("staging", 1), ("prod", 3)])
def test_nat_gateways_shared_or_per_zone(run_stack, stack, nats):
    run = run_stack(stack)
    assert len(run.of_type(NAT)) == nats
    assert len(run.of_type("aws:ec2/eip:Eip")) == nats
    public_ids = {f"<known after apply: {SUBNET} {s.name}.id>" for s in subnets(run, "public")}
    assert all(n.inputs["subnetId"] in public_ids for n in run.of_type(NAT))


def test_each_private_subnet_routes_to_a_nat_gateway_in_prod_its_own(run_stack):
    run = run_stack("prod")
    routes = [r for r in run.of_type("aws:ec2/route:Route") if "-private-" in r.name]
    assert len(routes) == 3 and all(r.inputs["destinationCidrBlock"] == "0.0.0.0/0" for r in routes)
    assert len({r.inputs["natGatewayId"] for r in routes}) == 3
    dev_routes = [r for r in run_stack("dev").of_type("aws:ec2/route:Route") if "-private-" in r.name]
    assert len({r.inputs["natGatewayId"] for r in dev_routes}) == 1


def test_public_subnets_route_to_the_internet_gateway(run_stack):
    run = run_stack("dev")
    (route,) = [r for r in run.of_type("aws:ec2/route:Route") if r.name.endswith("public-default")]
    assert route.inputs["gatewayId"].startswith("<known after apply: aws:ec2/internetGateway")


@pytest.mark.parametrize("cidr, zones", [("10.0.0.0/16", 3), ("10.20.0.0/20", 2), ("172.16.0.0/18", 3)])
def test_subnet_layout_fits_the_vpc_without_overlap(cidr, zones):
    layout = subnet_layout(cidr, [f"eu-west-1{z}" for z in "abc"[:zones]])
    vpc = ipaddress.ip_network(cidr)
    nets = [ipaddress.ip_network(n) for z in layout for n in (z.private_cidr, z.public_cidr)]
    assert all(n.subnet_of(vpc) for n in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    # private subnets hold the pods' IPs: each is 4x a public subnet
    assert all(ipaddress.ip_network(z.private_cidr).num_addresses == 4 * ipaddress.ip_network(z.public_cidr).num_addresses
               for z in layout)


def test_existing_vpc_creates_no_network(run_stack):
    config = config_of("dev")
    config["kubegrid:cluster"].update({
        "vpcId": "vpc-0abc12345def67890", "zones": [],
        "privateSubnetIds": ["subnet-0aaa12345def67890", "subnet-0bbb12345def67890"],
        "publicSubnetIds": ["subnet-0ccc12345def67890", "subnet-0ddd12345def67890"]})
    run = run_stack(config=config, name="dev")
    assert not [r for r in run.resources if r.type.startswith("aws:ec2/") and r.type != "aws:ec2/launchTemplate:LaunchTemplate"
                and r.type != "aws:ec2/securityGroup:SecurityGroup"]
    assert not run.of_type("kubegrid:index:Network")
    (cluster,) = run.of_type("aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["subnetIds"] == ["subnet-0aaa12345def67890", "subnet-0bbb12345def67890"]
    (sg,) = run.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert sg.inputs["vpcId"] == "vpc-0abc12345def67890"
    for group in run.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group.inputs["subnetIds"] == ["subnet-0aaa12345def67890", "subnet-0bbb12345def67890"]
