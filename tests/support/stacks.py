"""The project's stack files, read and validated as `pulumi up` would."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pytest

from components.config import StackSpec, load_spec, read_stack_file
from components.config.reader import ConfigError
from components.validation import validate

ROOT = Path(__file__).resolve().parents[2]
STACKS_DIR = ROOT / "stacks"
STACK_NAMES = ("local", "dev", "staging", "prod")


def stack_config(name: str) -> dict[str, Any]:
    return read_stack_file(STACKS_DIR / f"Pulumi.{name}.yaml")


def config_of(name: str) -> dict[str, Any]:
    """A deep copy of a stack file's config, to change in a test."""
    return copy.deepcopy(stack_config(name))


def stack_spec(name: str) -> StackSpec:
    return validate(stack_config(name), name).spec


def config_problems(config: dict[str, Any], stack: str = "test",
                    is_secret: Callable[[str], bool] = lambda key: False) -> list[str]:
    """The messages ``load_spec`` refuses ``config`` with (the test fails when it accepts it)."""
    with pytest.raises(ConfigError) as caught:
        load_spec(config, stack, is_secret)
    return [str(p) for p in caught.value.problems]
