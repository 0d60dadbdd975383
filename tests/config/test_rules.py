"""Bad node pool and cluster settings give a clear configuration error, before anything is created."""

from __future__ import annotations

from typing import Any

import pytest

from components.offline.mock_run import run_program
from components.config import load_spec
from tests.support.stacks import config_of, config_problems


def messages(config: dict[str, Any]) -> list[str]:
    return config_problems(config, "dev")


def test_gpu_pool_with_a_non_gpu_instance_type():
    config = config_of("dev")
    config["kubegrid:nodePools"][2]["instanceTypes"] = ["m6i.xlarge"]
    assert messages(config) == [
        "kubegrid:nodePools[2].instanceTypes[0]: got 'm6i.xlarge', which has no GPU; a pool with gpu: true "
        "needs GPU types (g4dn, g5, g5g, g6, g6e, p4d, p5)"]


def test_min_size_above_max_size():
    config = config_of("dev")
    config["kubegrid:nodePools"][1]["minSize"] = 7
    assert messages(config) == [
        "kubegrid:nodePools[1].minSize: got 7, above maxSize 6; need minSize <= desiredSize <= maxSize"]


def test_unknown_capacity_type():
    config = config_of("dev")
    config["kubegrid:nodePools"][1]["capacityType"] = "RESERVED"
    (message,) = messages(config)
    assert message.startswith("kubegrid:nodePools[1].capacityType: got 'RESERVED'")
    assert "ON_DEMAND" in message and "SPOT" in message


def test_the_program_refuses_a_bad_pool_without_creating_anything():
    import pulumi

    config = config_of("dev")
    config["kubegrid:nodePools"][2]["instanceTypes"] = ["m6i.xlarge"]
    with pytest.raises(pulumi.RunError, match=r"nodePools\[2\]\.instanceTypes\[0\]: got 'm6i.xlarge', which has no GPU"):
        run_program(config, "dev")


def test_private_access_cidrs_must_be_cidrs():
    config = config_of("prod")
    config["kubegrid:cluster"]["privateAccessCidrs"] = ["10.100.0.0/16", "10.100.0.1", "vpn"]
    assert messages(config) == [
        "kubegrid:cluster.privateAccessCidrs[1]: got '10.100.0.1'; expected an IPv4 CIDR such as \"10.100.0.0/16\"",
        "kubegrid:cluster.privateAccessCidrs[2]: got 'vpn'; expected an IPv4 CIDR such as \"10.100.0.0/16\"",
    ]


def test_private_access_cidrs_only_in_mode_eks():
    config = config_of("local")
    config["kubegrid:cluster"]["privateAccessCidrs"] = ["10.100.0.0/16"]
    assert messages(config) == ["kubegrid:cluster.privateAccessCidrs: got ['10.100.0.0/16']; only applies when mode is eks"]


def test_private_access_cidrs_are_read():
    config = config_of("prod")
    config["kubegrid:cluster"]["privateAccessCidrs"] = ["10.100.0.0/16"]
    assert load_spec(config, "prod").cluster.private_access_cidrs == ("10.100.0.0/16",)


@pytest.mark.parametrize("image", [None, "", "apache/spark:4.0.1-scala2.13-java17-python3-ubuntu"])
def test_a_team_with_s3_access_needs_an_image_with_the_s3a_connector(image):
    """apache/spark's images have no S3A connector: the team's jobs would die at start
    (ClassNotFoundException: org.apache.hadoop.fs.s3a.S3AFileSystem) on the event-log directory."""
    config = config_of("dev")
    team = config["kubegrid:teams"][0]
    if image is None:
        del team["sparkImage"]
    else:
        team["sparkImage"] = image
    (problem,) = config_problems(config)
    given = repr(image) if image else "none (apache/spark's image)"
    assert problem == (f"kubegrid:teams[0].sparkImage: got {given} for a team with s3Access; apache/spark's images "
                       "have no S3A connector, so its jobs would fail at start: build images/spark/Dockerfile, push "
                       "it where the nodes pull from and set its pinned name here (docs/spark.md)")
