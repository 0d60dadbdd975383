"""Reads a stack's configuration into a :class:`~.spec.StackSpec`, collecting every problem.

:func:`load_spec` takes the raw ``namespace:key`` values (from a stack file,
or from the Pulumi runtime) and either returns a spec or raises
:class:`~.reader.ConfigError` with every problem found, each naming its key
path, the value given and what is allowed. It is the first step of the one
validation pipeline (components/validation.py) that `pulumi up` and
`kubegrid check` both run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .reader import ConfigError, Problem, Reader, describe, suggestion
from .rules import check_pool, cross_check
from .spec import (ARN_PATTERN, NAMESPACE, ClusterSpec, Environment, GridSpec, NodePoolSpec, ObservabilitySpec,
                   StackSpec, TeamSpec)

OBJECT_RULES = {NodePoolSpec: check_pool}
"""Rules between the keys of one object, run by the reader on each object of that type."""
STRUCTURED_KEYS = ("cluster", "nodePools", "grid", "teams", "observability")
"""Top-level keys whose values are objects or lists (the engine passes them as JSON text)."""
TOP_LEVEL: dict[str, str] = {
    "environment": "The environment this stack is: local, dev, staging or prod.",
    "cluster": "Where the platform runs: a new EKS cluster or an existing cluster.",
    "nodePools": "Node pools of the EKS cluster (mode `eks` only).",
    "grid": "The data grid deployed by the kubegrid chart.",
    "teams": "Team namespaces, their quotas, access and Spark.",
    "observability": "Metrics, dashboards and alerts, and the Spark history server.",
}
REGION_PATTERN = re.compile(r"[a-z]{2}(-gov)?-[a-z]+-\d")


def load_spec(config: Mapping[str, Any], stack: str,
              is_secret: Callable[[str], bool] = lambda key: False) -> StackSpec:
    """Reads and validates a stack's configuration.

    ``config`` maps full keys (``kubegrid:grid``, ``aws:region``) to their
    values, already parsed from YAML or JSON. ``is_secret(key)`` tells whether
    the runtime decrypted that top-level key from a secure value.
    """
    reader = Reader(lambda path: is_secret(path.split(".", 1)[0].split("[", 1)[0]), OBJECT_RULES)
    ours = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith(f"{NAMESPACE}:")}
    for key in ours:
        if key not in TOP_LEVEL:
            reader.fail(f"{NAMESPACE}:{key}", "unknown key" + suggestion(key, TOP_LEVEL)
                        + "; allowed keys: " + ", ".join(f"{NAMESPACE}:{k}" for k in TOP_LEVEL))

    environment = reader.read_value(Environment, ours.get("environment"), f"{NAMESPACE}:environment", {}) \
        if ours.get("environment") is not None else _required(reader, "environment", "string")
    cluster = reader.read_object(ClusterSpec, ours.get("cluster"), f"{NAMESPACE}:cluster") \
        if ours.get("cluster") is not None else _required(reader, "cluster", "object")
    pools, pool_at = _read_list(reader, NodePoolSpec, ours.get("nodePools"), "nodePools")
    grid = reader.read_object(GridSpec, ours.get("grid") or {}, f"{NAMESPACE}:grid")
    teams, team_at = _read_list(reader, TeamSpec, ours.get("teams"), "teams")
    observability = reader.read_object(ObservabilitySpec, ours.get("observability") or {}, f"{NAMESPACE}:observability")

    region = config.get("aws:region")
    if region is not None and (not isinstance(region, str) or not REGION_PATTERN.fullmatch(region)):
        reader.fail("aws:region", f"got {describe(region)}; expected an AWS region such as \"eu-west-1\"")
        region = None

    profile = config.get("aws:profile")
    if profile is not None and not isinstance(profile, str):
        reader.fail("aws:profile", f"got {describe(profile)}; expected the name of an AWS profile")
        profile = None
    role_arn = _assumed_role(reader, config)

    if not isinstance(environment, Environment) or cluster is None or grid is None or observability is None:
        raise ConfigError(reader.problems)
    spec = StackSpec(stack=stack, environment=environment, cluster=cluster, node_pools=pools,
                     grid=grid, teams=teams, observability=observability, region=region, aws_profile=profile,
                     aws_role_arn=role_arn)
    # Rules across keys still run when some items failed to read, so one run shows every
    # problem; rules over a whole list wait until every item of it was read.
    positions = {"nodePools": pool_at, "teams": team_at}
    complete = {key: len(at) == _count(ours.get(key)) for key, at in positions.items()}
    problems = reader.problems + cross_check(spec, complete, positions)
    if problems:
        raise ConfigError(problems)
    return spec


def _assumed_role(reader: Reader, config: Mapping[str, Any]) -> Optional[str]:
    """The one role the AWS provider assumes, from `aws:assumeRoles`, so that the
    kubeconfig's token (`aws eks get-token --role-arn`) acts as the same identity."""
    if config.get("aws:assumeRoleWithWebIdentity") is not None:
        reader.fail("aws:assumeRoleWithWebIdentity", "not supported: the kubeconfig's `aws eks get-token` cannot "
                    "repeat it; set AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE in the environment instead, "
                    "which the AWS provider and the AWS CLI both read")
    raw = config.get("aws:assumeRoles")
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            pass
    roles = [r for r in raw if isinstance(r, Mapping)] if isinstance(raw, list) else []
    if not isinstance(raw, list) or len(roles) != len(raw) or not roles:
        reader.fail("aws:assumeRoles", f"got {describe(raw)}; expected a list of objects with roleArn")
        return None
    if len(roles) > 1:
        reader.fail("aws:assumeRoles", f"got a chain of {len(roles)} roles; the kubeconfig's `aws eks get-token "
                    "--role-arn` assumes one role, so the AWS provider and the Kubernetes token would act as "
                    "different identities: assume one role here, or chain them in an AWS profile (aws:profile)")
        return None
    arn = roles[0].get("roleArn")
    if not isinstance(arn, str) or not re.fullmatch(ARN_PATTERN, arn):
        reader.fail("aws:assumeRoles[0].roleArn", f"got {describe(arn)}; expected an IAM role ARN")
        return None
    return arn


def _count(raw: Any) -> int:
    return len(raw) if isinstance(raw, list) else 0


def _required(reader: Reader, key: str, type_: str) -> None:
    reader.fail(f"{NAMESPACE}:{key}", f"required ({type_}): {TOP_LEVEL[key]}")
    return None


def _read_list(reader: Reader, cls: type, raw: Any, key: str) -> tuple[tuple, tuple[int, ...]]:
    """The items that could be read, and their positions in the file's list."""
    path = f"{NAMESPACE}:{key}"
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        reader.fail(path, f"expected a list, got {describe(raw)}")
        return (), ()
    read = [(i, reader.read_object(cls, item, f"{path}[{i}]")) for i, item in enumerate(raw)]
    kept = [(i, item) for i, item in read if item is not None]
    return tuple(item for _, item in kept), tuple(i for i, _ in kept)



def read_stack_file(path) -> dict[str, Any]:
    """The ``config:`` mapping of a ``Pulumi.<stack>.yaml`` file."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    if not isinstance(document, Mapping):
        raise ConfigError([Problem(str(path), "expected a YAML mapping with a config: section")])
    config = document.get("config") or {}
    if not isinstance(config, Mapping):
        raise ConfigError([Problem(f"{path}: config", "expected a mapping of namespace:key to value")])
    for key in config:
        if not isinstance(key, str) or ":" not in key:
            raise ConfigError([Problem(f"{path}: config.{key}", "expected a namespaced key such as kubegrid:grid")])
    return dict(config)
