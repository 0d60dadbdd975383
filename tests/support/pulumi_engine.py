"""The real Pulumi engine on this project: the CLI and the Kubernetes provider built by
tests/support/engines.py, a local (file) backend and passphrase secrets, all in one
directory outside the checkout.

The program runs as an Automation API inline program (the CLI's `--client` mode: the
engine talks to a language host inside our Python process), because the Python language
host (`pulumi-language-python`) is not served by the Go module proxy (docs/testing.md has
the evidence). Everything else is the engine a user's `pulumi up` runs: it diffs against
the state, orders by dependencies, and the provider applies to and awaits the server.

Each operation runs in a child process (``python -m tests.support.pulumi_engine``): the
Python SDK keeps its runtime settings in globals that the mock runtime of the other tests
also sets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .stacks import ROOT

PASSPHRASE = "kubegrid-test-passphrase"
PROJECT_FILES = ("Pulumi.yaml",)
CHART = Path("charts") / "kubegrid"
OPERATIONS = ("up", "preview", "refresh", "destroy", "outputs", "export")
SECRETS = ("--secrets-provider", "passphrase")
"""How the README's local quick start and the tests create a stack (`pulumi stack init NAME ...`)."""


class PulumiFailed(Exception):
    """An operation the engine refused or failed; the message is the engine's output."""

    def __init__(self, operation: str, output: str):
        super().__init__(f"pulumi {operation} failed:\n{output}")
        self.operation = operation
        self.output = output


@dataclass
class Result:
    """What an operation returned: the engine's output, its change summary and, for `up`, the
    stack outputs."""

    output: str
    changes: dict[str, int]
    outputs: dict[str, Any]
    operations: list[dict[str, Any]]
    """For up and preview: each step's operation ("create", "update", "replace", ...) and URN."""


class Project:
    """A copy of the project's Pulumi files in ``directory`` (the checkout is never written:
    creating a stack with passphrase secrets adds an encryption salt to its stack file),
    with its own Pulumi home and state."""

    def __init__(self, directory: Path, bin_dir: Path, kubeconfig: Path, stack: str):
        self.directory = directory.resolve()
        self.stack = stack
        self.bin = bin_dir
        self.kubeconfig = kubeconfig
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in PROJECT_FILES:
            shutil.copyfile(ROOT / name, self.directory / name)
        shutil.copytree(ROOT / CHART, self.directory / CHART, dirs_exist_ok=True)
        (self.directory / "stacks").mkdir(exist_ok=True)
        for path in ("home", "state"):
            (self.directory / path).mkdir(exist_ok=True)
        if not self.stack_file.exists():
            shutil.copyfile(ROOT / "stacks" / f"Pulumi.{stack}.yaml", self.stack_file)
            # the README's local quick start, command for command
            self.cli("login", f"file://{self.directory / 'state'}")
            self.cli("stack", "init", stack, *SECRETS)
            # the provider the pinned SDK asks for, installed from the built binary
            self.cli("plugin", "install", "resource", "kubernetes", provider_version(),
                     "--file", str(self.bin / "pulumi-resource-kubernetes"))

    def cli(self, *args: str) -> str:
        """Runs the built `pulumi` in the project directory; raises PulumiFailed."""
        done = subprocess.run([str(self.bin / "pulumi"), *args, "--non-interactive"], cwd=self.directory,
                              env=self.env(), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise PulumiFailed(" ".join(args), done.stdout + done.stderr)
        return done.stdout

    @property
    def stack_file(self) -> Path:
        return self.directory / "stacks" / f"Pulumi.{self.stack}.yaml"

    def config(self) -> dict[str, Any]:
        return yaml.safe_load(self.stack_file.read_text())["config"]

    def set_config(self, config: dict[str, Any]) -> None:
        """Replaces the stack file's configuration, keeping what the engine wrote (the salt)."""
        settings = yaml.safe_load(self.stack_file.read_text())
        settings["config"] = config
        self.stack_file.write_text(yaml.safe_dump(settings, sort_keys=False))

    def env(self) -> dict[str, str]:
        """The engine's environment: the built CLI on PATH, plugins only from the project's
        Pulumi home and nothing fetched (automatic plugin acquisition off, no update check), the backend the project's
        Pulumi home logged in to, passphrase secrets."""
        return {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "PULUMI_HOME": str(self.directory / "home"),
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_IGNORE_AMBIENT_PLUGINS": "true",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            "KUBECONFIG": str(self.kubeconfig),
        }

    def run(self, operation: str, *, expect_no_changes: bool = False, timeout: float = 1200.0) -> Result:
        """Runs ``operation`` (one of OPERATIONS) in a child process; raises PulumiFailed."""
        args = [sys.executable, "-m", "tests.support.pulumi_engine", operation, str(self.directory), self.stack]
        if expect_no_changes:
            args.append("--expect-no-changes")
        done = subprocess.run(args, cwd=ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout)
        report_file = self.directory / "result.json"
        if not report_file.exists():
            raise PulumiFailed(operation, f"the driver wrote no result (exit {done.returncode}):\n"
                                          f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
        report = json.loads(report_file.read_text())
        report_file.unlink()
        if report.get("error") is not None:
            raise PulumiFailed(operation, report["error"])
        return Result(report["output"], report["changes"], report["outputs"], report["operations"])


def provider_version() -> str:
    """The pulumi-kubernetes provider version the installed SDK registers its resources with."""
    from importlib.metadata import version

    return f"v{version('pulumi-kubernetes')}"


def _operations(events: list[Any]) -> list[dict[str, Any]]:
    steps = []
    for event in events:
        step = getattr(event, "resource_pre_event", None)
        if step is not None and step.metadata.op.value != "same":
            steps.append({"op": step.metadata.op.value, "urn": step.metadata.urn, "type": step.metadata.type})
    return steps


def _drive(operation: str, directory: Path, stack_name: str, expect_no_changes: bool) -> dict[str, Any]:
    """In the child: the Automation API on ``directory``'s project, the program inline."""
    from pulumi import automation as auto

    from components.program import main as program

    lines: list[str] = []
    events: list[Any] = []
    stack = auto.select_stack(
        stack_name, project_name="kubegrid", program=program,
        opts=auto.LocalWorkspaceOptions(work_dir=str(directory), secrets_provider="passphrase",
                                        pulumi_home=os.environ["PULUMI_HOME"]))
    report: dict[str, Any] = {"changes": {}, "outputs": {}, "operations": [], "error": None}
    try:
        if operation == "up":
            result = stack.up(on_output=lines.append, on_event=events.append, color="never")
            report["changes"] = dict(result.summary.resource_changes or {})
            report["outputs"] = {k: v.value for k, v in result.outputs.items()}
        elif operation == "preview":
            result = stack.preview(on_output=lines.append, on_event=events.append, color="never",
                                   expect_no_changes=expect_no_changes)
            report["changes"] = dict(result.change_summary)
        elif operation == "refresh":
            result = stack.refresh(on_output=lines.append, color="never")
            report["changes"] = dict(result.summary.resource_changes or {})
        elif operation == "destroy":
            result = stack.destroy(on_output=lines.append, color="never")
            report["changes"] = dict(result.summary.resource_changes or {})
        elif operation == "outputs":
            report["outputs"] = {k: v.value for k, v in stack.outputs().items()}
        elif operation == "export":
            report["outputs"] = {"deployment": stack.export_stack().deployment}
    except auto.CommandError as error:
        report["error"] = str(error)
    report["output"] = "\n".join(lines)
    report["operations"] = _operations(events)
    return report


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] not in OPERATIONS:
        print(f"usage: python -m tests.support.pulumi_engine {{{','.join(OPERATIONS)}}} DIR STACK "
              "[--expect-no-changes]", file=sys.stderr)
        return 2
    operation, directory, stack = argv[0], Path(argv[1]), argv[2]
    report = _drive(operation, directory, stack, "--expect-no-changes" in argv[3:])
    (directory / "result.json").write_text(json.dumps(report, default=str))
    return 0 if report["error"] is None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
