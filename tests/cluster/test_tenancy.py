"""Team namespaces: Pod Security, quota, defaults and who may do what, for every stack."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from components.k8s.apply import logical_name
from components.cluster.manifests import stack_objects as cluster_objects
from components.cluster.labels import GRID_CLIENT_LABEL
from components.config import load_spec
from components.cluster.tenancy import limit_range, team_group
from tests.support.stacks import stack_config, stack_spec
from tests.support.objects import named, of_kind


def test_every_object_validates_and_is_applied_exactly_as_rendered(run_stack, each_stack):
    spec = stack_spec(each_stack)
    objects = cluster_objects(spec)
    applied = {r.name: r for r in run_stack(each_stack).resources if r.type.startswith("kubernetes:")}
    for obj in objects:
        kubernetes_validate.validate(obj, spec.cluster.kubernetes_version, strict=True)
        assert applied[logical_name(obj)].inputs == obj, logical_name(obj)


def test_a_namespace_per_team_enforcing_restricted_and_marked_grid_client(each_stack):
    """restricted everywhere, except that a team with insightedge jobs enforces baseline (Spark 2.4
    sets no security context) and still audits and warns at restricted."""
    spec = stack_spec(each_stack)
    namespaces = {o["metadata"]["name"]: o["metadata"]["labels"] for o in of_kind(cluster_objects(spec), "Namespace")}
    for team in spec.teams:
        labels = namespaces[team.name]
        assert labels[GRID_CLIENT_LABEL] == "true" and labels["kubegrid.io/team"] == team.name
        enforced = "baseline" if team.insightedge else "restricted"
        assert labels["pod-security.kubernetes.io/enforce"] == enforced
        for mode in ("audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_quota_holds_every_limit_of_the_team_config():
    spec = stack_spec("prod")
    hard = named(cluster_objects(spec), "ResourceQuota", "analytics", "team-quota")["spec"]["hard"]
    assert hard == {
        "requests.cpu": "256", "limits.cpu": "256", "requests.memory": "1024Gi", "limits.memory": "1024Gi",
        "requests.nvidia.com/gpu": "8", "pods": "500", "persistentvolumeclaims": "50",
        "requests.storage": "2000Gi", "services.loadbalancers": "0",
    }


def test_load_balancers_only_when_the_team_config_allows_them():
    config = copy.deepcopy(stack_config("dev"))
    objects = cluster_objects(load_spec(config, "dev"))
    assert named(objects, "ResourceQuota", "analytics", "team-quota")["spec"]["hard"]["services.loadbalancers"] == "0"
    config["kubegrid:teams"][0]["quota"]["loadBalancers"] = 2
    objects = cluster_objects(load_spec(config, "dev"))
    assert named(objects, "ResourceQuota", "analytics", "team-quota")["spec"]["hard"]["services.loadbalancers"] == "2"


def test_limit_range_defaults_admit_pods_that_set_nothing():
    team = stack_spec("prod").teams[0]
    (limits,) = limit_range(team)["spec"]["limits"]
    assert limits == {"type": "Container", "defaultRequest": {"cpu": "250m", "memory": "512Mi"},
                      "default": {"cpu": "1", "memory": "1Gi"}}


def test_limit_range_defaults_never_exceed_the_smallest_quota():
    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:teams"][0]["quota"] = {"cpu": 0.5, "memoryGiB": 1}
    (team,) = load_spec(config, "local").teams
    (limits,) = limit_range(team)["spec"]["limits"]
    assert limits["default"] == {"cpu": "500m", "memory": "1Gi"}
    assert limits["defaultRequest"] == {"cpu": "250m", "memory": "512Mi"}


def test_eks_binds_each_role_to_the_team_group_in_its_own_namespace_only():
    spec = stack_spec("prod")
    objects = cluster_objects(spec)
    assert not of_kind(objects, "ClusterRoleBinding")
    for team in spec.teams:
        bindings = {b["metadata"]["name"]: b for b in of_kind(objects, "RoleBinding", team.name)
                    if b["roleRef"]["kind"] == "ClusterRole"}
        expected = {role for key, role in (("admins", "admin"), ("editors", "edit"), ("viewers", "view"))
                    if getattr(team, key)}
        assert set(bindings) == {f"team-{role}" for role in expected}
        for role in expected:
            binding = bindings[f"team-{role}"]
            assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
            assert binding["subjects"] == [{"kind": "Group", "name": team_group(team.name, role),
                                            "apiGroup": "rbac.authorization.k8s.io"}]


def test_existing_mode_binds_the_user_names():
    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:teams"][0].update(admins=["alice"], viewers=["bob", "carol"])
    objects = cluster_objects(load_spec(config, "local"))
    admin = named(objects, "RoleBinding", "analytics", "team-admin")
    view = named(objects, "RoleBinding", "analytics", "team-view")
    assert admin["subjects"] == [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]
    assert [s["name"] for s in view["subjects"]] == ["bob", "carol"]
    assert not [b for b in of_kind(objects, "RoleBinding") if b["metadata"]["name"] == "team-edit"]


@pytest.mark.parametrize("kind", ["ResourceQuota", "LimitRange", "NetworkPolicy", "RoleBinding"])
def test_each_team_governs_its_own_namespace(kind):
    spec = stack_spec("prod")
    objects = cluster_objects(spec)
    for team in spec.teams:
        assert of_kind(objects, kind, team.name)
    assert {o["metadata"]["namespace"] for o in of_kind(objects, kind)} == {t.name for t in spec.teams}
