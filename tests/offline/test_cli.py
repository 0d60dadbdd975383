"""The kubegrid command: output, files and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from components.offline import cli

BAD_STACK = """\
config:
  aws:region: eu-west-1
  kubegrid:environment: dev
  kubegrid:clustre: {}
  kubegrid:cluster:
    mode: eks
    zones: [eu-west-1a, eu-west-1b]
  kubegrid:nodePools:
    - name: system
      instanceTypes: [m6i.large]
      minSize: 2
      maxSize: three
    - name: general
      instanceTypes: [m6i.xlarge]
      minSize: -1
      maxSize: 3
    - name: batch
      instanceTypes: [m6i.xlarge]
      minSize: 5
      maxSize: 3
  kubegrid:grid:
    managers: 2
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_stack_gets_every_problem_and_exit_2(tmp_path, capsys):
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(BAD_STACK)
    for command in ("plan", "render", "check"):
        code, out, err = run(capsys, command, str(path))
        assert code == 2 and out == ""
        assert "Traceback" not in err
        assert err.splitlines() == [
            "kubegrid: invalid configuration (5 problem(s)):",
            "  kubegrid:clustre: unknown key (did you mean 'cluster'?); allowed keys: kubegrid:environment, "
            "kubegrid:cluster, kubegrid:nodePools, kubegrid:grid, kubegrid:teams, kubegrid:observability",
            "  kubegrid:nodePools[0].maxSize: expected integer, got 'three'",
            "  kubegrid:nodePools[1].minSize: got -1; must be at least 0",
            "  kubegrid:nodePools[2].minSize: got 5, above maxSize 3; need minSize <= desiredSize <= maxSize",
            "  kubegrid:grid.managers: got 2; allowed: 1, 3",
        ]


def test_unknown_stack_and_missing_file(capsys):
    code, _, err = run(capsys, "plan", "qa")
    assert code == 2 and err == "kubegrid: no stack named 'qa'; stacks: dev, local, prod, staging (or give the path of a stack file)\n"
    code, _, err = run(capsys, "check", "nowhere/Pulumi.x.yaml")
    assert code == 2 and err == "kubegrid: no stack file at nowhere/Pulumi.x.yaml\n"


def test_invalid_yaml(tmp_path, capsys):
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text("config:\n  kubegrid:environment: [dev\n")
    code, _, err = run(capsys, "plan", str(path))
    assert code == 2 and err.startswith(f"kubegrid: {path} is not valid YAML:")


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["deploy", "dev"])
    assert caught.value.code == 2


def test_plan_json_lists_every_resource(capsys):
    code, out, _ = run(capsys, "plan", "local", "--json")
    assert code == 0
    plan = json.loads(out)
    assert plan["stack"] == "local"
    assert set(plan) == {"stack", "resources", "outputs"}
    for resource in plan["resources"]:
        assert set(resource) == {"type", "name", "parent", "inputs"}
    types = {r["type"] for r in plan["resources"]}
    assert "kubernetes:helm.sh/v3:Release" in types and "kubernetes:core/v1:Namespace" in types
    assert not any(t.startswith("aws:") for t in types)
    assert plan["outputs"]["gridNamespace"] == "kubegrid"


def test_plan_text_shows_types_names_parents_and_inputs(capsys):
    code, out, _ = run(capsys, "plan", "local")
    assert code == 0
    assert out.startswith("Stack local: ")
    assert "+ kubernetes:core/v1:Namespace  namespace-analytics  (parent: kubegrid-objects)" in out
    assert "chart: ./charts/kubegrid" in out
    assert "\nOutputs:\n" in out


def test_render_to_stdout_is_yaml_of_every_object(capsys):
    code, out, _ = run(capsys, "render", "local")
    assert code == 0
    objects = [o for o in yaml.safe_load_all(out) if o]
    kinds = {o["kind"] for o in objects}
    assert {"Namespace", "ResourceQuota", "StatefulSet"} <= kinds
    assert all(o.get("apiVersion") and o.get("metadata", {}).get("name") for o in objects)


def test_render_to_a_directory_writes_one_file_per_object(tmp_path, capsys):
    (tmp_path / "stale.yaml").write_text("kind: Old\n")
    code, out, err = run(capsys, "render", "local", "-o", str(tmp_path))
    assert code == 0 and out == ""
    files = sorted(tmp_path.glob("*.yaml"))
    assert not (tmp_path / "stale.yaml").exists()
    assert err == f"kubegrid: wrote {len(files)} objects of stack local to {tmp_path}\n"
    for path in files:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(docs) == 1


def test_render_lists_remote_charts_of_eks_stacks(capsys):
    code, out, _ = run(capsys, "render", "dev")
    assert code == 0
    assert "# Remote charts this stack installs" in out


def test_check_passes_for_local(capsys):
    code, _, err = run(capsys, "check", "local")
    assert code == 0, err
    assert "local (" in err and ": ok; configuration valid;" in err


def test_check_reports_a_chart_refusal_as_a_finding(monkeypatch, capsys):
    from components.offline import check, render
    from components.cluster import grid

    def zero_partitions(spec):
        values = grid.grid_values(spec)
        values["partitions"]["count"] = 0
        return values

    monkeypatch.setattr(check, "grid_values", zero_partitions)
    monkeypatch.setattr(render, "grid_values", zero_partitions)
    code, _, err = run(capsys, "check", "local")
    assert code == 1
    assert "error: the grid chart refused the stack's values:" in err and "count" in err
    assert "error: helm lint:" in err


def test_check_reports_invalid_objects(monkeypatch, capsys):
    from components.offline import check, render

    real = render.render_stack

    def broken(spec):
        rendered = real(spec)
        rendered.objects[0].obj["spec"] = {"finalizers": "not-a-list"}
        return rendered

    monkeypatch.setattr(check, "render_stack", broken)
    code, _, err = run(capsys, "check", "local")
    assert code == 1
    assert "error: Namespace kubegrid (stack): spec.finalizers: 'not-a-list' is not of type 'array', 'null'" in err


def test_console_script_is_declared():
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'kubegrid = "components.offline.cli:run"' in pyproject


def test_preflight_of_a_stack_without_aws_has_nothing_to_check(capsys):
    assert cli.main(["preflight", "local", "--json"]) == cli.EXIT_OK
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True and [f["check"] for f in document["findings"]] == ["mode"]


def test_check_warns_about_example_values_offline(capsys):
    assert cli.main(["check", "dev"]) == cli.EXIT_OK
    err = capsys.readouterr().err
    assert ("warning: kubegrid:cluster.adminPrincipals[0]: account 111122223333 is AWS documentation's example "
            "account") in err
    assert "warning: kubegrid:cluster.publicAccessCidrs[0]: 203.0.113.0/24 is TEST-NET-3" in err
