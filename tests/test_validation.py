"""The one validation pipeline that `pulumi up` and every `kubegrid` command run."""

from __future__ import annotations

import pytest

from components.config import ConfigError
from components.validation import validate
from tests.support.stacks import STACK_NAMES, config_of, stack_config


def test_every_stack_passes_without_warnings():
    for stack in STACK_NAMES:
        assert validate(stack_config(stack), stack).warnings == []


def test_key_errors_and_quota_errors_come_from_the_same_call():
    config = config_of("dev")
    config["kubegrid:grid"]["managers"] = 2
    with pytest.raises(ConfigError) as key_error:
        validate(config, "dev")
    assert [p.path for p in key_error.value.problems] == ["kubegrid:grid.managers"]

    config = config_of("dev")
    config["kubegrid:teams"][0]["quota"].update(cpu=2)
    with pytest.raises(ConfigError) as quota_error:
        validate(config, "dev")
    assert {p.path for p in quota_error.value.problems} == {"kubegrid:teams[0].quota"}


def test_warnings_let_the_stack_through():
    config = config_of("dev")
    config["kubegrid:teams"][0]["quota"]["gpus"] = 9
    valid = validate(config, "dev")
    assert [p.path for p in valid.warnings] == ["kubegrid:teams[0].quota.gpus"]
    assert valid.spec.teams[0].quota.gpus == 9
