"""The one validation pipeline, run by `pulumi up` (components/program.py)
and by every `kubegrid` command before anything else.

1. Each key is read and checked on its own: type, bounds, pattern
   (components/config/reader.py, from the field's ``setting``).
2. The keys of one object are checked together (components/config/rules.py
   ``check_pool``), then keys across the stack (``cross_check``).
3. What is allowed but should not stay is warned about (``rules.config_warnings``).
4. The teams' quotas are checked against what Spark needs on the node pools
   (components/cluster/quota.py): a quota that cannot hold one driver and one
   executor is an error; a GPU quota above what the pools can provide is a warning.

Errors stop the run before anything is created (:class:`ConfigError`, every
problem at once); warnings are shown and the run goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from .cluster.quota import quota_problems
from .config import ConfigError, Problem, StackSpec, load_spec
from .config.rules import config_warnings


@dataclass(frozen=True)
class ValidStack:
    """A stack that passed validation, with the warnings it gave."""

    spec: StackSpec
    warnings: list[Problem] = field(default_factory=list)


def validate(config: Mapping[str, Any], stack: str,
             is_secret: Callable[[str], bool] = lambda key: False) -> ValidStack:
    """Runs every step above; raises :class:`ConfigError` with every error found."""
    spec = load_spec(config, stack, is_secret)
    errors, warnings = quota_problems(spec)
    if errors:
        raise ConfigError(errors)
    return ValidStack(spec, config_warnings(spec) + warnings)
