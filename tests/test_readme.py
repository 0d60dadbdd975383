"""The README's commands are the ones CI and users run."""

import re
from pathlib import Path

from tests.support.pulumi_engine import SECRETS

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_quick_start_is_exactly_two_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "pip install -e '.[test]'" in commands[0] and "kubegrid plan" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert quick_start_commands()[1] in ci


def test_the_local_quick_start_is_what_the_real_engine_tests_run():
    """tests/live/test_pulumi.py runs these (tests/support/pulumi_engine.py), logged in to a
    temporary directory instead of the home directory."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### On a kind cluster: `pulumi up --stack local`", 1)[1].split("\n### ", 1)[0]
    (block,) = re.findall(r"```sh\n(.+?)\n```", section, re.S)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    assert commands[1:] == ["export PULUMI_CONFIG_PASSPHRASE='choose one'", "pulumi login --local",
                            f"pulumi stack init local {' '.join(SECRETS)}", "pulumi up --stack local",
                            "pulumi preview --stack local --expect-no-changes"]
