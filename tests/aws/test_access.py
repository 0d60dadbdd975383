"""Access entries: cluster admins (the deployer always among them), and each team's
principals mapped to its Kubernetes groups."""

from __future__ import annotations

import pytest

from components.aws.access import access_grants
from components.config.spec import same_principal
from components.offline import mock_run
from components.cluster.tenancy import ROLE_KEYS, team_group
from tests.support.stacks import config_of
from tests.support.stacks import stack_spec

ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
DEPLOYER = "arn:aws:iam::123456789012:user/plan"
"""Who runs `pulumi up` under the mock runtime (components/offline/plan_placeholders.py)."""


def entries(run) -> dict[str, dict]:
    return {e.inputs["principalArn"]: e.inputs for e in run.of_type(ENTRY)}


def test_admin_principals_get_cluster_admin_cluster_wide(run_stack):
    run = run_stack("prod")
    admin = "arn:aws:iam::111122223333:role/platform-admin"
    assert entries(run)[admin]["type"] == "STANDARD" and "kubernetesGroups" not in entries(run)[admin]
    (association,) = [a for a in run.of_type(ASSOCIATION) if a.inputs["principalArn"] == admin]
    assert association.inputs["policyArn"] == ADMIN_POLICY
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert association.inputs["clusterName"] == "kubegrid-prod"


def test_each_team_principal_maps_to_its_team_group(run_stack):
    spec = stack_spec("prod")
    found = entries(run_stack("prod"))
    expected = 0
    for team in spec.teams:
        for key, role in ROLE_KEYS.items():
            for arn in getattr(team, key):
                expected += 1
                assert found[arn]["kubernetesGroups"] == [team_group(team.name, role)]
    assert expected == 5 and len(found) == expected + len(spec.cluster.admin_principals) + 1  # + the deployer
    assert found["arn:aws:iam::111122223333:role/analytics-readonly"]["kubernetesGroups"] == ["kubegrid:analytics:view"]


def test_team_groups_get_no_access_policy(run_stack):
    # RBAC RoleBindings in the team namespaces bind the groups; EKS policies would widen access.
    run = run_stack("prod")
    admins = set(stack_spec("prod").cluster.admin_principals) | {DEPLOYER}
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
        ["arn:aws:iam::111122223333:role/platform-admin", lead, DEPLOYER])


def test_access_grants_are_stable_and_readable():
    grants = access_grants(stack_spec("dev"), DEPLOYER)
    assert [(g.principal_arn.rsplit("/", 1)[1], g.groups, g.cluster_admin, g.deployer) for g in grants] == [
        ("platform-admin", [], True, False),
        ("analytics-lead", ["kubegrid:analytics:admin"], False, False),
        ("analytics-dev", ["kubegrid:analytics:edit"], False, False),
        ("plan", [], True, True),
    ]


def test_entry_names_are_derived_from_the_principal_and_the_deployer_s_is_stable(run_stack):
    names = {e.name for e in run_stack("dev").of_type(ENTRY)}
    assert names == {"kubegrid-access-111122223333-role-platform-admin",
                     "kubegrid-access-111122223333-role-analytics-lead",
                     "kubegrid-access-111122223333-role-analytics-dev",
                     "kubegrid-access-deployer"}


def test_the_deployer_is_always_a_cluster_admin(run_stack):
    for stack in ("dev", "prod"):
        run = run_stack(stack)
        (deployer,) = [e for e in run.of_type(ENTRY) if e.name == "kubegrid-access-deployer"]
        assert deployer.inputs["principalArn"] == DEPLOYER and "kubernetesGroups" not in deployer.inputs
        assert [a.inputs["policyArn"] for a in run.of_type(ASSOCIATION) if a.inputs["principalArn"] == DEPLOYER] == [
            ADMIN_POLICY]


def test_a_deployer_already_named_gets_no_second_entry():
    lead = "arn:aws:iam::111122223333:role/analytics-lead"
    grants = access_grants(stack_spec("dev"), lead)
    assert [g.principal_arn for g in grants].count(lead) == 1
    (grant,) = [g for g in grants if g.principal_arn == lead]
    assert grant.cluster_admin and grant.groups == ["kubegrid:analytics:admin"] and not grant.deployer
    # A role's session issuer carries its path; the config may leave it out.
    grants = access_grants(stack_spec("dev"), "arn:aws:iam::111122223333:role/teams/analytics-lead")
    assert len(grants) == 3 and [g for g in grants if g.principal_arn == lead][0].cluster_admin


def test_same_principal_compares_account_kind_and_name():
    one, two = "314159265358", "271828182845"
    assert same_principal(f"arn:aws:iam::{one}:role/a/b", f"arn:aws:iam::{one}:role/b")
    assert not same_principal(f"arn:aws:iam::{one}:role/b", f"arn:aws:iam::{two}:role/b")
    assert not same_principal(f"arn:aws:iam::{one}:role/b", f"arn:aws:iam::{one}:user/b")


def test_a_root_deployer_stops_the_program_before_anything_is_created(monkeypatch):
    answer = mock_run.invoke_result

    def as_root(token, args):
        result = answer(token, args)
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            result["arn"] = "arn:aws:iam::123456789012:root"
        return result

    monkeypatch.setattr(mock_run, "invoke_result", as_root)
    run = mock_run.ProgramRun(stack="dev")
    with pytest.raises(Exception, match="runs as the root user of account 123456789012"):
        mock_run._run(__import__("components.program", fromlist=["main"]).main, config_of("dev"), "dev", (), run)
    assert run.resources == []
