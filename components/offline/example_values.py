"""Values copied from documentation: example account numbers and TEST-NET ranges.

AWS's documentation uses a few account numbers in its example ARNs, and RFC 5737
reserves three IPv4 ranges for documentation. A stack that still carries one of
them was copied from an example and not finished: an access entry for
``arn:aws:iam::111122223333:role/...`` names nobody, and an API endpoint open to
``203.0.113.0/24`` lets nobody in. The detection is pure (no AWS, no network) so
that `kubegrid check` can warn about these values offline, and `kubegrid
preflight` refuses them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..cluster.tenancy import ROLE_KEYS
from ..config import StackSpec

EXAMPLE_ACCOUNTS: dict[str, str] = {
    "111122223333": "AWS documentation's example account",
    "123456789012": "AWS documentation's example account",
    "012345678901": "AWS documentation's example account",
    "444455556666": "AWS documentation's example account (the 'other account' of cross-account examples)",
}
"""Account numbers that appear in AWS's example ARNs."""

DOCUMENTATION_NETWORKS: dict[str, str] = {
    "192.0.2.0/24": "TEST-NET-1 (RFC 5737): reserved for documentation, never routed",
    "198.51.100.0/24": "TEST-NET-2 (RFC 5737): reserved for documentation, never routed",
    "203.0.113.0/24": "TEST-NET-3 (RFC 5737): reserved for documentation, never routed",
}
"""IPv4 ranges reserved for documentation."""

_ARN_ACCOUNT = re.compile(r"arn:[^:]*:[^:]*:[^:]*:(\d{12}):")
ECR_IMAGE = re.compile(r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
                       r"(?P<repository>[^:@]+)(?::(?P<tag>[^@]+)|@(?P<digest>sha256:[0-9a-f]{64}))$")
"""An image in ECR: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY with a tag or a digest."""


@dataclass(frozen=True)
class ExampleValue:
    """A configured value that was copied from documentation."""

    key: str
    """Config key path, such as ``kubegrid:cluster.adminPrincipals[0]``."""
    value: str
    """The value as configured."""
    why: str
    """What the value is and what to put instead."""


def example_values(spec: StackSpec) -> list[ExampleValue]:
    """Every example account number and documentation address range in the stack, in config order."""
    found = [_example_account(key, arn) for key, arn in principal_keys(spec)]
    found += [_documentation_range(key, cidr) for key, cidr in _cidr_keys(spec)]
    found += [_example_registry(f"kubegrid:teams[{t}].sparkImage", team.spark_image)
              for t, team in enumerate(spec.teams) if team.spark_image]
    return [f for f in found if f is not None]


def principal_keys(spec: StackSpec) -> Iterator[tuple[str, str]]:
    """Each IAM principal of the stack with its config key: admin principals, then
    each team's admins, editors and viewers."""
    for i, arn in enumerate(spec.cluster.admin_principals):
        yield f"kubegrid:cluster.adminPrincipals[{i}]", arn
    for t, team in enumerate(spec.teams):
        for field in ROLE_KEYS:
            for i, arn in enumerate(getattr(team, field)):
                yield f"kubegrid:teams[{t}].{field}[{i}]", arn


def _cidr_keys(spec: StackSpec) -> Iterator[tuple[str, str]]:
    for field, values in (("publicAccessCidrs", spec.cluster.public_access_cidrs),
                          ("privateAccessCidrs", spec.cluster.private_access_cidrs)):
        for i, cidr in enumerate(values):
            yield f"kubegrid:cluster.{field}[{i}]", cidr


def _example_account(key: str, arn: str) -> ExampleValue | None:
    return _in_example_account(key, arn, _ARN_ACCOUNT, "put the ARN of a real IAM role or user of your account")


def _example_registry(key: str, image: str) -> ExampleValue | None:
    return _in_example_account(key, image, ECR_IMAGE,
                               "build images/spark/Dockerfile, push it to your registry and put its pinned name")


def _in_example_account(key: str, value: str, pattern: re.Pattern, fix: str) -> ExampleValue | None:
    """``value`` when the account ``pattern`` finds at its start is an example account."""
    match = pattern.match(value)
    if match is None or match.group(1) not in EXAMPLE_ACCOUNTS:
        return None
    account = match.group(1)
    return ExampleValue(key, value, f"account {account} is {EXAMPLE_ACCOUNTS[account]}; {fix}")


def _documentation_range(key: str, cidr: str) -> ExampleValue | None:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None  # not a CIDR: the configuration rules report it
    for reserved, what in DOCUMENTATION_NETWORKS.items():
        reserved_network = ipaddress.ip_network(reserved)
        if network.version == 4 and network.subnet_of(reserved_network):
            where = "" if network == reserved_network else f"inside {reserved}, "
            return ExampleValue(key, cidr, f"{cidr} is {where}{what}; "
                                           "put the range your clients (office, VPN, CI runners) connect from")
    return None
