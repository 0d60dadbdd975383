"""Access entries: cluster admins, and each team's principals mapped to its Kubernetes groups."""

from __future__ import annotations

from components.aws.access import access_grants
from components.cluster.tenancy import ROLE_KEYS, team_group
from tests.support.stacks import config_of
from tests.support.stacks import stack_spec

ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def entries(run) -> dict[str, dict]:
    return {e.inputs["principalArn"]: e.inputs for e in run.of_type(ENTRY)}


def test_admin_principals_get_cluster_admin_cluster_wide(run_stack):
    run = run_stack("prod")
    admin = "arn:aws:iam::111122223333:role/platform-admin"
    assert entries(run)[admin]["type"] == "STANDARD" and "kubernetesGroups" not in entries(run)[admin]
    (association,) = run.of_type(ASSOCIATION)
    assert association.inputs["policyArn"] == ADMIN_POLICY
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert association.inputs["principalArn"] == admin and association.inputs["clusterName"] == "kubegrid-prod"


def test_each_team_principal_maps_to_its_team_group(run_stack):
    spec = stack_spec("prod")
    found = entries(run_stack("prod"))
    expected = 0
    for team in spec.teams:
        for key, role in ROLE_KEYS.items():
            for arn in getattr(team, key):
                expected += 1
                assert found[arn]["kubernetesGroups"] == [team_group(team.name, role)]
    assert expected == 5 and len(found) == expected + len(spec.cluster.admin_principals)
    assert found["arn:aws:iam::111122223333:role/analytics-readonly"]["kubernetesGroups"] == ["kubegrid:analytics:view"]


def test_team_groups_get_no_access_policy(run_stack):
    # RBAC RoleBindings in the team namespaces bind the groups; EKS policies would widen access.
    run = run_stack("prod")
    admins = set(stack_spec("prod").cluster.admin_principals)
    assert {a.inputs["principalArn"] for a in run.of_type(ASSOCIATION)} == admins


def test_a_principal_in_several_places_gets_one_entry_with_every_group(run_stack):
    config = config_of("prod")
    lead = "arn:aws:iam::111122223333:role/analytics-lead"
    config["kubegrid:cluster"]["adminPrincipals"].append(lead)
    config["kubegrid:teams"][1]["viewers"] = [lead]
    run = run_stack(config=config, name="prod")
    lead_entries = [e for e in run.of_type(ENTRY) if e.inputs["principalArn"] == lead]
    assert len(lead_entries) == 1
    assert lead_entries[0].inputs["kubernetesGroups"] == ["kubegrid:analytics:admin", "kubegrid:risk:view"]
    assert sorted(a.inputs["principalArn"] for a in run.of_type(ASSOCIATION)) == sorted(
        ["arn:aws:iam::111122223333:role/platform-admin", lead])


def test_access_grants_are_stable_and_readable():
    grants = access_grants(stack_spec("dev"))
    assert [(g.principal_arn.rsplit("/", 1)[1], g.groups, g.cluster_admin) for g in grants] == [
        ("platform-admin", [], True),
        ("analytics-lead", ["kubegrid:analytics:admin"], False),
        ("analytics-dev", ["kubegrid:analytics:edit"], False),
    ]


def test_entry_names_are_derived_from_the_principal(run_stack):
    names = {e.name for e in run_stack("dev").of_type(ENTRY)}
    assert names == {"kubegrid-access-111122223333-role-platform-admin",
                     "kubegrid-access-111122223333-role-analytics-lead",
                     "kubegrid-access-111122223333-role-analytics-dev"}


def test_without_admin_principals_the_deployer_is_admin(run_stack):
    config = config_of("dev")
    del config["kubegrid:cluster"]["adminPrincipals"]
    run = run_stack(config=config, name="dev")
    (deployer,) = [e for e in run.of_type(ENTRY) if e.name == "kubegrid-access-deployer"]
    assert deployer.inputs["principalArn"] == "arn:aws:iam::123456789012:user/plan"  # the caller, under mocks
    (association,) = run.of_type(ASSOCIATION)
    assert association.inputs["principalArn"] == deployer.inputs["principalArn"]
    assert association.inputs["policyArn"] == ADMIN_POLICY
