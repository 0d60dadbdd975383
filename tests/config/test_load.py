"""Each configuration rule, shown by the message a user gets."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.config.reader import Secret
from components.config import AmiFamily, ClusterMode, Environment, load_spec
from tests.support.stacks import STACK_NAMES, config_problems, stack_config, stack_spec


messages = config_problems


def dev() -> dict[str, Any]:
    return copy.deepcopy(stack_config("dev"))


def local() -> dict[str, Any]:
    return copy.deepcopy(stack_config("local"))


@pytest.mark.parametrize("name", STACK_NAMES)
def test_every_stack_is_valid(name):
    spec = stack_spec(name)
    assert spec.environment is Environment(name)


def test_prod_has_what_prod_needs():
    spec = stack_spec("prod")
    assert len(spec.cluster.zones) == 3 and spec.grid.managers == 3 and spec.grid.backups == 1
    assert spec.grid.zone_aware and not spec.cluster.public_endpoint and len(spec.teams) >= 2
    assert any(p.gpu and p.min_size == 0 for p in spec.node_pools)


def test_local_stack_is_existing_cluster_without_pools():
    spec = stack_spec("local")
    assert spec.cluster.mode is ClusterMode.EXISTING and spec.node_pools == () and len(spec.teams) == 1


def test_the_five_problems_of_the_issue_are_reported_together():
    config = dev()
    config["kubegrid:grid"]["replicas"] = 3                       # unknown key
    config["kubegrid:nodePools"][1]["maxSize"] = "six"            # wrong type
    config["kubegrid:nodePools"][0]["diskGiB"] = -5               # negative size
    config["kubegrid:nodePools"][2]["minSize"] = 3                # min above max (2)
    config["kubegrid:grid"]["managers"] = 2                       # 2 managers
    found = messages(config)
    assert found == [
        "kubegrid:nodePools[0].diskGiB: got -5; must be at least 20",
        "kubegrid:nodePools[1].maxSize: expected integer, got 'six'",
        "kubegrid:nodePools[2].minSize: got 3, above maxSize 2; need minSize <= desiredSize <= maxSize",
        "kubegrid:grid.replicas: unknown key; allowed keys: backups, imageRepository, license, "
        "licenseSecretName, managerCpu, managerMemoryGiB, managers, namespace, partitionCpu, partitionMemoryGiB, "
        "partitions, persistence, product, storageClass, storageGiB, version, zeppelin, zoneAware",
        "kubegrid:grid.managers: got 2; allowed: 1, 3",
    ]


def test_unknown_keys_get_a_suggestion():
    config = dev()
    config["kubegrid:teems"] = []
    config["kubegrid:cluster"]["kubernetesVersoin"] = "1.34"
    found = messages(config)
    assert found[0].startswith("kubegrid:teems: unknown key (did you mean 'teams'?)")
    assert found[1].startswith("kubegrid:cluster.kubernetesVersoin: unknown key (did you mean 'kubernetesVersion'?)")


def test_missing_required_keys():
    found = messages({"kubegrid:grid": {}})
    assert found == [
        "kubegrid:environment: required (string): The environment this stack is: local, dev, staging or prod.",
        "kubegrid:cluster: required (object): Where the platform runs: a new EKS cluster or an existing cluster.",
    ]


def test_wrong_enum_values():
    config = dev()
    config["kubegrid:environment"] = "production"
    config["kubegrid:nodePools"][1]["capacityType"] = "spot"
    assert messages(config) == [
        "kubegrid:environment: got 'production'; allowed: local, dev, staging, prod",
        "kubegrid:nodePools[1].capacityType: got 'spot'; allowed: ON_DEMAND, SPOT",
    ]


def test_booleans_and_numbers_are_not_confused():
    config = dev()
    config["kubegrid:nodePools"][0]["gpu"] = "yes"
    config["kubegrid:grid"]["partitions"] = True
    config["kubegrid:grid"]["partitionMemoryGiB"] = "4Gi"
    assert messages(config) == [
        "kubegrid:nodePools[0].gpu: expected boolean, got 'yes'",
        "kubegrid:grid.partitions: expected integer, got true",
        "kubegrid:grid.partitionMemoryGiB: expected number, got '4Gi'",
    ]


def test_floats_from_the_mock_runtime_are_accepted_as_integers():
    config = dev()
    config["kubegrid:grid"]["partitions"] = 4.0
    assert load_spec(config, "t").grid.partitions == 4
    config["kubegrid:grid"]["partitions"] = 4.5
    assert messages(config) == ["kubegrid:grid.partitions: expected integer, got 4.5"]


def test_names_must_be_dns_labels_and_unique():
    config = dev()
    config["kubegrid:nodePools"][1]["name"] = "General_Pool"
    config["kubegrid:teams"].append(copy.deepcopy(config["kubegrid:teams"][0]))
    found = messages(config)
    assert found[0].startswith("kubegrid:nodePools[1].name: got 'General_Pool'; expected a DNS label")
    assert found[1] == "kubegrid:teams[1].name: got 'analytics' twice; team names must be unique"


def test_duplicate_pool_names():
    config = dev()
    config["kubegrid:nodePools"][1]["name"] = "system"
    assert messages(config) == ["kubegrid:nodePools[1].name: got 'system' twice; pool names must be unique"]


def test_desired_size_between_min_and_max():
    config = dev()
    config["kubegrid:nodePools"][1]["desiredSize"] = 9
    assert messages(config) == ["kubegrid:nodePools[1].desiredSize: got 9; need minSize (1) <= desiredSize <= maxSize (6)"]


def test_gpu_pool_needs_gpu_instance_types():
    config = dev()
    config["kubegrid:nodePools"][2]["instanceTypes"] = ["m6i.xlarge"]
    assert messages(config) == [
        "kubegrid:nodePools[2].instanceTypes[0]: got 'm6i.xlarge', which has no GPU; a pool with gpu: true "
        "needs GPU types (g4dn, g5, g5g, g6, g6e, p4d, p5)"]


def test_gpu_types_need_a_gpu_pool():
    config = dev()
    config["kubegrid:nodePools"][1]["instanceTypes"] = ["g5.xlarge"]
    assert messages(config) == [
        "kubegrid:nodePools[1].instanceTypes[0]: got 'g5.xlarge', which has 1 GPU(s); set gpu: true on this pool or use a non-GPU type"]


def test_unknown_instance_type_and_mixed_shapes():
    config = dev()
    config["kubegrid:nodePools"][1]["instanceTypes"] = ["m6i.2xlarg"]
    config["kubegrid:nodePools"][0]["instanceTypes"] = ["m6i.large", "m6i.xlarge"]
    found = messages(config)
    assert found[0].startswith("kubegrid:nodePools[0].instanceTypes: got ['m6i.large', 'm6i.xlarge'], of different shapes")
    assert found[1].startswith("kubegrid:nodePools[1].instanceTypes[0]: got 'm6i.2xlarg'; not a known instance type (did you mean 'm6i.2xlarge'?)")


def test_ami_family_must_match_gpu_and_architecture():
    config = dev()
    config["kubegrid:nodePools"][2]["amiFamily"] = "AL2023_x86_64_STANDARD"
    config["kubegrid:nodePools"][1]["amiFamily"] = "AL2023_ARM_64_STANDARD"
    found = messages(config)
    assert found == [
        "kubegrid:nodePools[1].amiFamily: got 'AL2023_ARM_64_STANDARD' (arm64) for x86_64 instance types",
        "kubegrid:nodePools[2].amiFamily: got 'AL2023_x86_64_STANDARD'; a GPU pool needs an NVIDIA AMI type "
        "(AL2023_x86_64_NVIDIA, BOTTLEROCKET_x86_64_NVIDIA or their ARM_64 variants)",
    ]


def test_default_ami_follows_gpu_and_architecture():
    config = dev()
    config["kubegrid:nodePools"][1]["instanceTypes"] = ["m7g.2xlarge"]
    config["kubegrid:nodePools"][2]["instanceTypes"] = ["g5g.xlarge"]
    spec = load_spec(config, "t")
    assert [p.ami for p in spec.node_pools] == [
        AmiFamily.AL2023_X86_64_STANDARD, AmiFamily.AL2023_ARM_64_STANDARD, AmiFamily.AL2023_ARM_64_NVIDIA]


def test_gpu_taint_is_not_repeated_by_hand():
    config = dev()
    config["kubegrid:nodePools"][2]["taints"] = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert messages(config) == ["kubegrid:nodePools[2].taints[0].key: got 'nvidia.com/gpu'; GPU pools get this taint automatically"]


def test_taint_effect_is_checked():
    config = dev()
    config["kubegrid:nodePools"][1]["taints"] = [{"key": "dedicated", "effect": "NoScheduel"}]
    assert messages(config) == [
        "kubegrid:nodePools[1].taints[0].effect: got 'NoScheduel'; allowed: NoSchedule, PreferNoSchedule, NoExecute (did you mean 'NoSchedule'?)"]


def test_labels_must_be_strings():
    config = dev()
    config["kubegrid:nodePools"][1]["labels"] = {"tier": 2}
    assert messages(config) == ["kubegrid:nodePools[1].labels.tier: expected a string, got 2 (quote it in YAML)"]


def test_eks_needs_region_zones_and_a_system_pool():
    config = dev()
    del config["aws:region"]
    config["kubegrid:cluster"]["zones"] = ["eu-west-1a"]
    config["kubegrid:nodePools"][0]["minSize"] = 0
    config["kubegrid:nodePools"][1]["minSize"] = 0
    assert messages(config) == [
        'aws:region: required when kubegrid:cluster.mode is eks: the AWS region to deploy to, such as "eu-west-1"',
        "kubegrid:cluster.zones: got 1 zone(s); mode eks needs 2 or 3 distinct zones of aws:region",
        "kubegrid:nodePools: mode eks needs a non-GPU pool with minSize of at least 1, to run CoreDNS and the Cluster Autoscaler",
    ]


def test_zones_must_be_in_the_region_and_distinct():
    config = dev()
    config["kubegrid:cluster"]["zones"] = ["us-east-1a", "us-east-1a"]
    assert messages(config) == [
        "kubegrid:cluster.zones: got ['us-east-1a', 'us-east-1a']; zones must be distinct",
        "kubegrid:cluster.zones: got ['us-east-1a', 'us-east-1a']; zones must be in aws:region 'eu-west-1'",
    ]


def test_region_format():
    config = dev()
    config["aws:region"] = "Ireland"
    assert messages(config)[0] == 'aws:region: got \'Ireland\'; expected an AWS region such as "eu-west-1"'


def test_public_endpoint_needs_cidrs_and_is_never_open_to_the_world_in_prod():
    config = dev()
    config["kubegrid:cluster"]["publicAccessCidrs"] = []
    assert messages(config) == [
        "kubegrid:cluster.publicAccessCidrs: required when publicEndpoint is true: list the CIDRs allowed to reach "
        "the API (0.0.0.0/0 only if you mean the whole internet)"]
    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:cluster"]["publicEndpoint"] = True
    config["kubegrid:cluster"]["publicAccessCidrs"] = ["0.0.0.0/0"]
    assert messages(config) == [
        "kubegrid:cluster.publicAccessCidrs: got '0.0.0.0/0' in prod; list only the networks `pulumi up` and your "
        "operators run from, and close the public endpoint once the VPC is reached privately"]


def test_a_private_endpoint_needs_a_private_route_from_the_deployer():
    config = copy.deepcopy(stack_config("prod"))
    del config["kubegrid:cluster"]["privateRoute"]
    (message,) = messages(config)
    assert message.startswith("kubegrid:cluster.privateRoute: the API endpoint is private (publicEndpoint: false), "
                              "so `pulumi up` reaches it only from a network with a private route to the VPC")
    assert "set publicEndpoint: true with publicAccessCidrs of the deployer's network instead" in message
    config["kubegrid:cluster"]["privateRoute"] = True
    config["kubegrid:cluster"]["privateAccessCidrs"] = []
    assert [m.split(":", 2)[1] for m in messages(config)] == ["cluster.privateAccessCidrs"]


def test_a_prod_bootstrap_through_the_public_endpoint_is_a_warning():
    from components.validation import validate

    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:cluster"].update(publicEndpoint=True, publicAccessCidrs=["192.168.10.0/24"])
    (warning,) = validate(config, "prod").warnings
    assert str(warning) == ("kubegrid:cluster.publicEndpoint: prod's API endpoint is public (for 192.168.10.0/24); "
                            "once the VPC is reached privately, set publicEndpoint: false and privateRoute: true")


def test_the_provider_s_profile_and_one_assumed_role_are_read():
    config = dev()
    config["aws:profile"] = "platform"
    config["aws:assumeRoles"] = '[{"roleArn": "arn:aws:iam::111122223333:role/deployer"}]'  # JSON text, as the engine gives it
    spec = load_spec(config, "dev")
    assert (spec.aws_profile, spec.aws_role_arn) == ("platform", "arn:aws:iam::111122223333:role/deployer")
    config["aws:assumeRoles"] = [{"roleArn": "arn:aws:iam::111122223333:role/a"},
                                 {"roleArn": "arn:aws:iam::111122223333:role/b"}]
    (message,) = messages(config)
    assert message.startswith("aws:assumeRoles: got a chain of 2 roles; the kubeconfig's `aws eks get-token --role-arn` "
                              "assumes one role")
    del config["aws:assumeRoles"]
    config["aws:assumeRoleWithWebIdentity"] = {"roleArn": "arn:aws:iam::111122223333:role/ci"}
    assert messages(config)[0].startswith("aws:assumeRoleWithWebIdentity: not supported")


def test_open_endpoint_is_accepted_only_when_listed():
    config = dev()
    config["kubegrid:cluster"]["publicAccessCidrs"] = ["0.0.0.0/0"]
    assert load_spec(config, "t").cluster.public_access_cidrs == ("0.0.0.0/0",)


def test_cidrs_are_checked():
    config = dev()
    config["kubegrid:cluster"]["publicAccessCidrs"] = ["203.0.113.7/24"]
    config["kubegrid:cluster"]["vpcCidr"] = "10.0.0.0/8"
    assert messages(config) == [
        "kubegrid:cluster.vpcCidr: got '10.0.0.0/8'; the prefix must be /16 to /20 to leave room for six subnets",
        'kubegrid:cluster.publicAccessCidrs[0]: got \'203.0.113.7/24\'; expected an IPv4 CIDR such as "203.0.113.0/24"',
    ]


def test_existing_vpc_needs_private_subnets():
    config = dev()
    config["kubegrid:cluster"]["vpcId"] = "vpc-0abc12345def67890"
    config["kubegrid:cluster"]["privateSubnetIds"] = ["subnet-0abc12345def67890"]
    found = messages(config)
    assert found[0] == ("kubegrid:cluster.privateSubnetIds: got 1 subnet(s); an existing VPC needs at least 2 "
                        "private subnets in different zones")


def test_existing_mode_refuses_eks_keys_and_pools():
    config = local()
    config["kubegrid:cluster"]["zones"] = ["eu-west-1a", "eu-west-1b"]
    config["kubegrid:nodePools"] = copy.deepcopy(stack_config("dev")["kubegrid:nodePools"])
    assert messages(config) == [
        "kubegrid:cluster.zones: got ['eu-west-1a', 'eu-west-1b']; only applies when mode is eks",
        "kubegrid:nodePools: got 3 pool(s); node pools are created only in mode eks (an existing cluster brings its own nodes)",
    ]


def test_context_only_in_existing_mode():
    config = dev()
    config["kubegrid:cluster"]["context"] = "kind-kind"
    assert messages(config) == ["kubegrid:cluster.context: only applies when mode is existing; remove it for mode eks"]


def test_kubernetes_version_range():
    config = local()
    config["kubegrid:cluster"]["kubernetesVersion"] = "1.26"
    assert messages(config) == [
        'kubegrid:cluster.kubernetesVersion: got \'1.26\'; expected a minor version from 1.29 to 1.37, such as "1.34"']


def test_grid_rules():
    config = local()
    config["kubegrid:grid"].update(zoneAware=True, backups=0, storageGiB=50, licenseSecretName="lic")
    config["kubegrid:grid"]["license"] = {"secure": "v1:abc"}
    assert messages(config) == [
        "kubegrid:grid.zoneAware: got true with backups 0; zone awareness keeps a primary and its backup apart, so it needs backups: 1",
        "kubegrid:grid.licenseSecretName: set either license or licenseSecretName, not both",
        "kubegrid:grid.storageGiB: only applies when persistence is true",
    ]


def test_grid_sizes_and_product():
    config = local()
    config["kubegrid:grid"].update(partitions=0, backups=2, partitionMemoryGiB=0.5, product="xap", version="latest",
                                   imageRepository="Registry/Grid")
    assert messages(config) == [
        "kubegrid:grid.partitions: got 0; must be at least 1",
        "kubegrid:grid.backups: got 2; allowed: 0, 1",
        "kubegrid:grid.partitionMemoryGiB: got 0.5; must be at least 1",
        "kubegrid:grid.product: got 'xap'; allowed: 'smart-cache', 'insightedge'",
        'kubegrid:grid.version: got \'latest\'; expected a GigaSpaces version such as "16.4.0"',
        'kubegrid:grid.imageRepository: got \'Registry/Grid\'; expected an image repository such as '
        '"registry.example.com/gigaspaces/smart-cache-enterprise"',
    ]


def test_the_removed_image_tag_is_an_unknown_key():
    config = local()
    config["kubegrid:grid"]["imageTag"] = "16.4.0"
    assert messages(config)[0].startswith("kubegrid:grid.imageTag: unknown key")


@pytest.mark.parametrize(("version", "message"), [
    ("14.5.0", "kubegrid:grid.version: got '14.5.0'; images before 15.0 read XAP_* variables, not the GS_* variables "
               'the chart sets, so they cannot run here; use a version from 16.0.0 to 16.4.x, such as "16.4.0"'),
    ("15.8.1", "kubegrid:grid.version: got '15.8.1'; KubeGrid supports GigaSpaces 16.0.0 to 16.4.x (the 16.x images' "
               'gs_user, GS_* variables and container entry script), such as "16.4.0"'),
    ("16.5.0", "kubegrid:grid.version: got '16.5.0'; KubeGrid supports GigaSpaces 16.0.0 to 16.4.x (the 16.x images' "
               'gs_user, GS_* variables and container entry script), such as "16.4.0"'),
    ("17.0.0", "kubegrid:grid.version: got '17.0.0'; KubeGrid supports GigaSpaces 16.0.0 to 16.4.x (the 16.x images' "
               'gs_user, GS_* variables and container entry script), such as "16.4.0"'),
])
def test_grid_version_range(version, message):
    config = local()
    config["kubegrid:grid"]["version"] = version
    assert messages(config) == [message]


@pytest.mark.parametrize("version", ["16.0.0", "16.2.1", "16.4.0", "16.4.5"])
def test_supported_grid_versions(version):
    config = local()
    config["kubegrid:grid"].update(version=version, product="insightedge")
    grid = load_spec(config, "t").grid
    assert (grid.version, grid.product, grid.image_repository) == (version, "insightedge", "")


def test_prod_needs_three_managers():
    config = copy.deepcopy(stack_config("prod"))
    config["kubegrid:grid"]["managers"] = 1
    assert messages(config) == ["kubegrid:grid.managers: got 1; prod runs 3 managers so the grid survives the loss of one"]


def test_license_must_be_encrypted():
    config = local()
    config["kubegrid:grid"]["license"] = "Product=XAP;Version=16.4;..."
    assert messages(config) == [
        "kubegrid:grid.license: must be stored encrypted, got a plain-text value; set it with "
        "`pulumi config set --secret --path 'kubegrid:grid.license' VALUE`"]


def test_encrypted_license_is_read_as_a_secret():
    config = local()
    config["kubegrid:grid"]["license"] = {"secure": "v1:abc"}
    assert load_spec(config, "t").grid.license == Secret(None)
    config["kubegrid:grid"]["license"] = "decrypted-by-pulumi"
    spec = load_spec(config, "t", is_secret=lambda key: key == "kubegrid:grid")
    assert spec.grid.license.value == "decrypted-by-pulumi"
    assert "decrypted" not in repr(spec.grid)


def test_team_rules():
    config = dev()
    team = config["kubegrid:teams"][0]
    team["admins"] = ["alice"]
    team["nodePools"] = ["gpu-l5"]
    team["quota"]["cpu"] = 0
    config["kubegrid:teams"].append({"name": "kube-system", "quota": {"cpu": 1, "memoryGiB": 1}})
    assert messages(config) == [
        "kubegrid:teams[0].quota.cpu: got 0; must be at least 0.5",
        "kubegrid:teams[1].name: got 'kube-system'; a team namespace cannot be default, kube-system, kube-public, kube-node-lease or the grid namespace",
    ]


def test_team_members_and_pools():
    config = dev()
    team = config["kubegrid:teams"][0]
    team["admins"] = ["alice"]
    team["nodePools"] = ["gpu-l5"]
    assert messages(config) == [
        'kubegrid:teams[0].admins[0]: got \'alice\'; in mode eks, expected an IAM role or user ARN such as "arn:aws:iam::123456789012:role/team-a"',
        "kubegrid:teams[0].nodePools[0]: got 'gpu-l5'; not a pool of this stack (did you mean 'gpu-l4'?); pools: system, general, gpu-l4",
    ]


def test_s3_access_only_in_eks_with_spark():
    config = local()
    config["kubegrid:teams"][0]["s3Access"] = ["s3://bucket/prefix/"]
    assert messages(config) == [
        "kubegrid:teams[0].s3Access: only applies when cluster.mode is eks (S3 access is granted through EKS Pod Identity)"]
    config = dev()
    config["kubegrid:teams"][0]["s3Access"] = ["s3://Bad_Bucket"]
    assert messages(config)[0].startswith("kubegrid:teams[0].s3Access[0]: got 's3://Bad_Bucket'; expected an S3 location")


def test_lists_and_objects_of_the_wrong_shape():
    config = dev()
    config["kubegrid:teams"] = {"name": "analytics"}
    config["kubegrid:grid"] = ["managers"]
    assert messages(config) == [
        "kubegrid:grid: expected an object, got a list",
        "kubegrid:teams: expected a list, got an object",
    ]


def test_spec_is_immutable():
    spec = stack_spec("dev")
    with pytest.raises(AttributeError):
        spec.grid.partitions = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.node_pools[0].labels["x"] = "y"  # type: ignore[index]


def test_sts_session_arns_are_refused_as_principals():
    config = dev()
    config["kubegrid:cluster"]["adminPrincipals"] = ["arn:aws:sts::111122223333:assumed-role/admin/alice"]
    assert messages(config) == [
        "kubegrid:cluster.adminPrincipals[0]: got 'arn:aws:sts::111122223333:assumed-role/admin/alice'; expected an "
        'IAM role or user ARN such as "arn:aws:iam::123456789012:role/platform-admin"']
