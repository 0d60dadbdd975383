"""Mode eks: each Spark team's Pod Identity role for its S3 locations, and its history server's
read-only role for its event logs."""

from __future__ import annotations

import json

from tests.support.aws import policy


def test_a_pod_identity_role_per_team_with_s3_locations(run_stack):
    run = run_stack("prod")
    roles = [r for r in run.of_type("aws:iam/role:Role") if r.parent == "kubegrid-spark-s3"
             and not r.name.endswith("-history")]
    assert [r.name for r in roles] == ["kubegrid-spark-s3-analytics"]  # risk has no s3Access
    trust = policy(roles[0])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    condition = trust["Condition"]["StringEquals"]
    assert condition["aws:RequestTag/kubernetes-namespace"] == "analytics"
    assert condition["aws:RequestTag/kubernetes-service-account"] == ["spark-driver", "spark-executor"]
    assert "kubegrid-cluster-eks" in condition["aws:RequestTag/eks-cluster-arn"]
    associations = [r for r in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                    if r.parent == "kubegrid-spark-s3"]
    assert sorted((a.inputs["namespace"], a.inputs["serviceAccount"]) for a in associations) == [
        ("analytics", "spark-driver"), ("analytics", "spark-executor"), ("analytics", "spark-history-server")]
    assert run.outputs["spark"]["analytics"]["s3RoleArn"].startswith("arn:aws:iam::")
    assert "s3RoleArn" not in run.outputs["spark"]["risk"]


def test_the_role_reaches_only_the_teams_buckets_and_prefixes(run_stack):
    (inline,) = [r for r in run_stack("prod").of_type("aws:iam/rolePolicy:RolePolicy")
                 if r.name == "kubegrid-spark-s3-analytics-policy"]
    statements = policy(inline)["Statement"]
    resources = {json.dumps(s["Resource"]) for s in statements}
    assert resources == {
        '"arn:aws:s3:::kubegrid-prod-analytics"', '["arn:aws:s3:::kubegrid-prod-analytics/*"]',
        '"arn:aws:s3:::kubegrid-prod-shared"', '["arn:aws:s3:::kubegrid-prod-shared/reference/*"]'}
    listing = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert "Condition" not in listing[0]  # s3://kubegrid-prod-analytics/: the whole bucket
    assert listing[1]["Condition"] == {"StringLike": {"s3:prefix": ["reference/", "reference/*"]}}
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(a.startswith("s3:") and "*" not in a for a in actions)


def test_no_aws_access_in_mode_existing(run_stack):
    run = run_stack("local")
    assert not [r for r in run.resources if r.type.startswith("aws:")]
    assert "s3RoleArn" not in run.outputs["spark"]["analytics"]


def test_the_history_server_may_only_list_and_read_the_team_s_event_logs(run_stack):
    run = run_stack("prod")
    role = run.named("kubegrid-spark-s3-analytics-history")
    condition = policy(role)["Statement"][0]["Condition"]["StringEquals"]
    assert condition["aws:RequestTag/kubernetes-service-account"] == "spark-history-server"
    assert condition["aws:RequestTag/kubernetes-namespace"] == "analytics"
    statements = policy(run.named("kubegrid-spark-s3-analytics-history-policy"))["Statement"]
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("s3:ListBucket", "arn:aws:s3:::kubegrid-prod-analytics"),
        ("s3:GetObject", "arn:aws:s3:::kubegrid-prod-analytics/spark-events/*")]
    assert statements[0]["Condition"] == {"StringLike": {"s3:prefix": ["spark-events/", "spark-events/*"]}}


def test_the_event_log_prefix_exists_before_the_first_job(run_stack):
    """Spark refuses a missing event-log directory; an S3 prefix exists once an object is under it."""
    run = run_stack("prod")
    (marker,) = run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert (marker.name, marker.inputs["bucket"], marker.inputs["key"], marker.inputs["content"]) == (
        "kubegrid-spark-s3-analytics-event-logs", "kubegrid-prod-analytics", "spark-events/", "")
    assert not run_stack("local").of_type("aws:s3/bucketObjectv2:BucketObjectv2")
