"""Spark's accounts and roles: exactly what Spark needs, in the team's namespace only."""

from __future__ import annotations

import copy

import pytest

from components.cluster.manifests import stack_objects as cluster_objects
from components.offline.render import render_stack
from components.cluster.spark.names import CLEANUP_ACCOUNT, DRIVER_ACCOUNT, EXECUTOR_ACCOUNT
from components.config import load_spec
from tests.support.stacks import stack_config, stack_spec
from tests.support.objects import named, of_kind

# Spark 4.0.1's driver, per resource: the calls the real client made in test_spark_e2e.py,
# plus delete by name (executors ending during the job) and claim creation, which its code makes
# on paths those runs do not take. No update, no patch.
SPARK_DRIVER_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete", "deletecollection"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "deletecollection"]},
    {"apiGroups": [""], "resources": ["services"], "verbs": ["deletecollection"]},
    {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["list", "create", "deletecollection"]},
]


def test_driver_role_is_exactly_what_spark_needs(each_stack):
    spec = stack_spec(each_stack)
    objects = cluster_objects(spec)
    for team in spec.teams:
        role = named(objects, "Role", team.name, "spark-driver")
        assert role["rules"] == SPARK_DRIVER_RULES


def test_driver_rules_reach_no_other_namespace(each_stack):
    spec = stack_spec(each_stack)
    objects = cluster_objects(spec)
    assert not of_kind(objects, "ClusterRole") and not of_kind(objects, "ClusterRoleBinding")
    for binding in of_kind(objects, "RoleBinding"):
        namespace = binding["metadata"]["namespace"]
        for subject in binding["subjects"]:
            if subject["kind"] == "ServiceAccount":
                assert subject["namespace"] == namespace
                assert binding["roleRef"]["kind"] == "Role"  # a Role of this very namespace
                named(objects, "Role", namespace, binding["roleRef"]["name"])
    for team in spec.teams:
        binding = named(objects, "RoleBinding", team.name, "spark-driver")
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": DRIVER_ACCOUNT, "namespace": team.name}]


def test_executor_account_has_no_rights_and_no_token(each_stack):
    objects = cluster_objects(stack_spec(each_stack))
    for account in of_kind(objects, "ServiceAccount"):
        if account["metadata"]["name"] == EXECUTOR_ACCOUNT:
            assert account["automountServiceAccountToken"] is False
    for binding in of_kind(objects, "RoleBinding"):
        assert EXECUTOR_ACCOUNT not in [s["name"] for s in binding["subjects"]]


def test_cleanup_account_may_only_list_and_delete_pods():
    objects = cluster_objects(stack_spec("prod"))
    role = named(objects, "Role", "risk", "spark-driver-cleanup")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "delete"]}]
    binding = named(objects, "RoleBinding", "risk", "spark-driver-cleanup")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": CLEANUP_ACCOUNT, "namespace": "risk"}]


def test_no_role_or_cluster_role_of_any_stack_has_a_wildcard(each_stack):
    rendered = render_stack(stack_spec(each_stack)).objects  # our objects, the EKS side's and the chart's
    roles = [r.obj for r in rendered if r.obj["kind"] in ("Role", "ClusterRole")]
    assert roles
    for role in roles:
        for rule in role.get("rules") or []:
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert not any("*" in value for value in rule.get(key, [])), (role["metadata"]["name"], rule)


def test_spark_off_means_no_spark_account_role_or_job():
    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:teams"][0].update(spark=False, insightedge=False)
    objects = cluster_objects(load_spec(config, "local"))
    assert not of_kind(objects, "ServiceAccount") and not of_kind(objects, "Role")
    assert not of_kind(objects, "CronJob") and not of_kind(objects, "ConfigMap")


@pytest.mark.parametrize("name", ["spark-driver", "spark-driver-cleanup"])
def test_each_role_is_bound_once_to_its_own_account(name):
    objects = cluster_objects(stack_spec("staging"))
    for team in stack_spec("staging").teams:
        bindings = [b for b in of_kind(objects, "RoleBinding", team.name) if b["roleRef"]["name"] == name]
        assert len(bindings) == 1 and bindings[0]["subjects"][0]["name"] == name
