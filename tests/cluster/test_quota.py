"""Quota sanity: teams whose quota cannot run Spark on their pools (errors), or ask
for GPUs no pool has (warnings); both in the pipeline `pulumi up` and `kubegrid check` run."""

from __future__ import annotations

import copy

import pytest
import yaml

from components.cluster.quota import quota_problems
from components.cluster.spark.sizing import DEFAULT_EXECUTOR, executors_in_quota
from components.config import load_spec
from components.offline import cli
from components.offline.mock_run import run_program
from tests.support.stacks import stack_config, stack_spec


def findings(name: str, change) -> list[str]:
    config = copy.deepcopy(stack_config(name))
    change(config)
    errors, warnings = quota_problems(load_spec(config, name))
    return [p.message for p in errors + warnings]


def test_the_stacks_have_sane_quotas(each_stack):
    assert quota_problems(stack_spec(each_stack)) == ([], [])


def test_errors_and_warnings_name_the_quota_key():
    config = copy.deepcopy(stack_config("dev"))
    config["kubegrid:teams"][0]["quota"].update(cpu=4, memoryGiB=16, gpus=5)
    errors, warnings = quota_problems(load_spec(config, "dev"))
    assert [p.path for p in errors] == ["kubegrid:teams[0].quota"] * 2
    assert [p.path for p in warnings] == ["kubegrid:teams[0].quota.gpus"]


def test_a_quota_too_small_for_one_executor_of_a_pool_names_the_numbers():
    def small(config):
        config["kubegrid:teams"][0]["quota"].update(cpu=4, memoryGiB=16)

    assert findings("dev", small) == [
        "Team analytics: its quota (4 CPU, 16 GiB memory, 100 pods) cannot hold one Spark driver (1 CPU, 2.38 GiB) "
        "and one executor sized for pool general, m6i.2xlarge (3.86 CPU, 14.26 GiB); together they need 4.86 CPU, "
        "16.63 GiB and 2 pods.",
        "Team analytics: its quota (4 CPU, 16 GiB memory, 100 pods, 1 GPU) cannot hold one Spark driver (1 CPU, "
        "2.38 GiB) and one executor sized for pool gpu-l4, g6.xlarge (3.73 CPU, 13.65 GiB, 1 GPU); together they "
        "need 4.73 CPU, 16.03 GiB and 2 pods.",
    ]


def test_the_default_executor_is_checked_where_no_pool_is_known():
    def tiny(config):
        config["kubegrid:teams"][0]["quota"].update(cpu=1.5, memoryGiB=8)

    (found,) = findings("local", tiny)
    assert found.startswith("Team analytics: its quota (1.5 CPU, 8 GiB memory, 30 pods) cannot hold one Spark driver")
    assert "one executor of the default size, used where no node pool is known (1 CPU, 2.38 GiB)" in found


def test_a_gpu_quota_no_pool_can_provide():
    def greedy(config):
        config["kubegrid:teams"][0]["quota"]["gpus"] = 5

    assert findings("dev", greedy) == [
        "Team analytics: its GPU quota is 5, more than its GPU pools can ever provide "
        "(pool gpu-l4: 2 nodes x 1 GPU (g6.xlarge); 2 in all)."]


def test_a_gpu_quota_without_a_gpu_pool():
    def cpu_only(config):
        config["kubegrid:teams"][1]["quota"]["gpus"] = 2  # risk may use the general pool only

    assert findings("prod", cpu_only) == [
        "Team risk: its GPU quota is 2, but it may use no GPU pool, so it can never get a GPU."]


def test_teams_without_spark_are_not_held_to_executor_sizes():
    def no_spark(config):
        config["kubegrid:teams"][0].update(spark=False, insightedge=False, quota={"cpu": 1, "memoryGiB": 2})

    assert findings("local", no_spark) == []


def test_executors_in_quota_counts_next_to_one_driver():
    (team,) = stack_spec("local").teams  # 4 CPU, 8 GiB, 30 pods
    assert executors_in_quota(team, DEFAULT_EXECUTOR) == 2  # memory: (8192 - 2432) // 2432


def test_kubegrid_check_refuses_a_quota_too_small(tmp_path, capsys):
    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:teams"][0]["quota"].update(cpu=1.5)
    path = tmp_path / "Pulumi.small.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    assert cli.main(["check", str(path)]) == cli.EXIT_USAGE
    assert ("kubegrid:teams[0].quota: Team analytics: its quota (1.5 CPU, 8 GiB memory, 30 pods) cannot hold"
            in capsys.readouterr().err)


def test_pulumi_up_refuses_a_quota_too_small_before_creating_anything():
    config = copy.deepcopy(stack_config("local"))
    config["kubegrid:teams"][0]["quota"].update(cpu=1.5)
    with pytest.raises(Exception, match=r"kubegrid:teams\[0\]\.quota: Team analytics"):
        run_program(config, "small")


def test_kubegrid_check_warns_about_a_gpu_quota_no_pool_provides(tmp_path, capsys):
    config = copy.deepcopy(stack_config("dev"))
    config["kubegrid:teams"][0]["quota"]["gpus"] = 5
    path = tmp_path / "Pulumi.greedy.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    assert cli.main(["check", str(path)]) == cli.EXIT_OK
    assert "warning: kubegrid:teams[0].quota.gpus: Team analytics: its GPU quota is 5" in capsys.readouterr().err
