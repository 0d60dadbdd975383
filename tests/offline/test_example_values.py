"""Documentation-only values (example accounts, TEST-NET ranges), found offline."""

from __future__ import annotations

from components.offline.example_values import ExampleValue, example_values
from tests.offline.preflight_support import real_values, spec_of, stack_config


def test_the_committed_dev_stack_carries_documentation_values():
    assert example_values(spec_of(stack_config("dev"), "dev")) == [
        ExampleValue("kubegrid:cluster.adminPrincipals[0]", "arn:aws:iam::111122223333:role/platform-admin",
                     "account 111122223333 is AWS documentation's example account; put the ARN of a real IAM role "
                     "or user of your account"),
        ExampleValue("kubegrid:teams[0].admins[0]", "arn:aws:iam::111122223333:role/analytics-lead",
                     "account 111122223333 is AWS documentation's example account; put the ARN of a real IAM role "
                     "or user of your account"),
        ExampleValue("kubegrid:teams[0].editors[0]", "arn:aws:iam::111122223333:role/analytics-dev",
                     "account 111122223333 is AWS documentation's example account; put the ARN of a real IAM role "
                     "or user of your account"),
        ExampleValue("kubegrid:cluster.publicAccessCidrs[0]", "203.0.113.0/24",
                     "203.0.113.0/24 is TEST-NET-3 (RFC 5737): reserved for documentation, never routed; put the "
                     "range your clients (office, VPN, CI runners) connect from"),
        ExampleValue("kubegrid:teams[0].sparkImage", "111122223333.dkr.ecr.eu-west-1.amazonaws.com/kubegrid-spark:4.0.1-s3a",
                     "account 111122223333 is AWS documentation's example account; build images/spark/Dockerfile, "
                     "push it to your registry and put its pinned name"),
    ]


def test_real_values_pass():
    for name in ("dev", "staging", "prod", "local"):
        assert example_values(spec_of(real_values(stack_config(name)), name)) == []


def test_every_example_account_and_a_range_inside_test_net_are_found():
    config = real_values(stack_config("prod"))
    config["kubegrid:cluster"]["adminPrincipals"] = ["arn:aws:iam::123456789012:role/admin",
                                                     "arn:aws:iam::012345678901:user/ops"]
    config["kubegrid:cluster"]["privateAccessCidrs"] = ["10.100.0.0/16", "198.51.100.16/28", "192.0.2.7/32"]
    config["kubegrid:teams"][1]["viewers"] = ["arn:aws:iam::444455556666:role/auditor"]

    found = example_values(spec_of(config, "prod"))

    assert [(v.key, v.value) for v in found] == [
        ("kubegrid:cluster.adminPrincipals[0]", "arn:aws:iam::123456789012:role/admin"),
        ("kubegrid:cluster.adminPrincipals[1]", "arn:aws:iam::012345678901:user/ops"),
        ("kubegrid:teams[1].viewers[0]", "arn:aws:iam::444455556666:role/auditor"),
        ("kubegrid:cluster.privateAccessCidrs[1]", "198.51.100.16/28"),
        ("kubegrid:cluster.privateAccessCidrs[2]", "192.0.2.7/32"),
    ]
    assert found[3].why.startswith("198.51.100.16/28 is inside 198.51.100.0/24, TEST-NET-2 (RFC 5737)")


def test_a_range_that_only_contains_test_net_is_not_an_example():
    config = real_values(stack_config("dev"))
    config["kubegrid:cluster"]["publicAccessCidrs"] = ["0.0.0.0/0", "203.0.0.0/16"]
    assert example_values(spec_of(config, "dev")) == []
