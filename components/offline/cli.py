"""The `kubegrid` command: plan, render and check a stack offline; preflight it against AWS.

STACK is a stack name (dev: stacks/Pulumi.dev.yaml) or the path of a stack
file. Exit codes: 0 fine, 1 a check failed, 2 bad usage or configuration.
Messages go to stderr; nothing a user did wrong ends in a traceback.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from ..cluster import yaml_text
from ..config import ConfigError, read_stack_file
from ..validation import ValidStack, validate

PROJECT_DIR = Path(__file__).resolve().parents[2]
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input from the user: reported in one line, exit code 2."""


def stack_file(stack: str) -> Path:
    """The stack file a STACK argument names."""
    path = Path(stack)
    if path.suffix in (".yaml", ".yml") or "/" in stack:
        if not path.is_file():
            raise UsageError(f"no stack file at {stack}")
        return path
    for base in (Path.cwd(), PROJECT_DIR):
        candidate = base / "stacks" / f"Pulumi.{stack}.yaml"
        if candidate.is_file():
            return candidate
    known = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (PROJECT_DIR / "stacks").glob("Pulumi.*.yaml"))
    raise UsageError(f"no stack named {stack!r}; stacks: {', '.join(known)} (or give the path of a stack file)")


def stack_name(path: Path) -> str:
    match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
    return match.group(1) if match else path.stem


def load(stack: str) -> tuple[ValidStack, dict[str, Any], Path]:
    """The stack file's configuration, through the validation pipeline `pulumi up` runs."""
    path = stack_file(stack)
    try:
        config = read_stack_file(path)
    except yaml.YAMLError as error:
        raise UsageError(f"{path} is not valid YAML: {error}") from None
    valid = validate(config, stack_name(path))
    for warning in valid.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return valid, config, path


def cmd_plan(args: argparse.Namespace) -> int:
    from .mock_run import run_program

    valid, config, _ = load(args.stack)
    spec = valid.spec
    run = run_program(config, spec.stack)
    if args.json:
        json.dump(run.as_dict(), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return EXIT_OK
    out = sys.stdout
    out.write(f"Stack {spec.stack}: {len(run.resources)} resources (offline plan; <known after apply: ...> marks values the cloud computes)\n\n")
    for r in run.resources:
        parent = f"  (parent: {r.parent})" if r.parent else ""
        out.write(f"+ {r.type}  {r.name}{parent}\n")
        if r.inputs:
            body = yaml_text.dump(r.inputs, sort_keys=True, default_flow_style=False, width=120)
            out.write("".join(f"      {line}\n" for line in body.splitlines()))
    out.write("\nOutputs:\n")
    body = yaml_text.dump(run.outputs, sort_keys=True, default_flow_style=False, width=120)
    out.write("".join(f"    {line}\n" for line in body.splitlines()))
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from .render import ChartRenderError, file_name, remote_charts_text, render_stack, to_yaml

    spec = load(args.stack)[0].spec
    try:
        rendered = render_stack(spec)
    except ChartRenderError as error:
        print(f"kubegrid: the grid chart refused the stack's values: {error}", file=sys.stderr)
        return EXIT_FAILED
    remote = remote_charts_text(rendered.remote_charts)
    if args.output is None:
        sys.stdout.write("---\n".join(to_yaml(r) for r in rendered.objects))
        sys.stdout.write(remote)
        return EXIT_OK
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()  # a directory of one stack's objects, not a mix of two renders
    for index, r in enumerate(rendered.objects):
        (out / file_name(index, r.obj)).write_text(to_yaml(r), encoding="utf-8")
    if remote:
        (out / "remote-charts.txt").write_text(remote, encoding="utf-8")
    print(f"kubegrid: wrote {len(rendered.objects)} objects of stack {spec.stack} to {out}", file=sys.stderr)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_stack
    from .example_values import example_values

    valid, config, path = load(args.stack)
    spec = valid.spec
    report = check_stack(spec, config)
    report.warnings.extend(f"{v.key}: {v.why} (an example value: replace it before `pulumi up`; "
                           "`kubegrid preflight` refuses it)" for v in example_values(spec))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for finding in report.findings:
        print(f"error: {finding}", file=sys.stderr)
    verdict = "ok" if report.ok else f"{len(report.findings)} problem(s)"
    print(f"{spec.stack} ({path}): {verdict}; configuration valid; {report.objects} objects validated against "
          f"Kubernetes {spec.cluster.kubernetes_version}; chart linted; {report.resources} resources planned",
          file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_preflight(args: argparse.Namespace) -> int:
    from .preflight import run as run_preflight

    valid, _, _ = load(args.stack)
    return run_preflight(valid.spec, args.json)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubegrid", description="Show and check offline what a KubeGrid stack creates, "
                                                             "and preflight it against AWS.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{plan,render,check,preflight}")
    plan = sub.add_parser("plan", help="run the Pulumi program under mocks and list every resource")
    plan.add_argument("stack", help="stack name (dev) or path of a stack file")
    plan.add_argument("--json", action="store_true", help="print JSON: stack, resources, outputs")
    plan.set_defaults(func=cmd_plan)
    render = sub.add_parser("render", help="print every Kubernetes object the stack applies")
    render.add_argument("stack", help="stack name (dev) or path of a stack file")
    render.add_argument("-o", "--output", metavar="DIR", help="write one file per object under DIR")
    render.set_defaults(func=cmd_render)
    check = sub.add_parser("check", help="validate config, objects and chart; report every finding")
    check.add_argument("stack", help="stack name (dev) or path of a stack file")
    check.set_defaults(func=cmd_check)
    preflight = sub.add_parser("preflight", help="with your AWS credentials, read-only: find what would make "
                                                 "the first `pulumi up` fail")
    preflight.add_argument("stack", help="stack name (dev) or path of a stack file")
    preflight.add_argument("--json", action="store_true", help="print JSON: stack, ok, findings")
    preflight.set_defaults(func=cmd_preflight)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as error:
        print(f"kubegrid: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as error:
        print(f"kubegrid: invalid configuration ({len(error.problems)} problem(s)):", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
