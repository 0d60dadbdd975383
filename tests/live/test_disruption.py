"""Disruption and failover of the grid, decided by the real controllers.

Evictions go through the Eviction API, which checks the grid's PodDisruptionBudgets
against the disruption controller's count; a node that goes away has its pods deleted
by the pod GC controller (KWOK finishes deletions) and recreated by the StatefulSet
controller, placed by the real scheduler; `helm upgrade` is the real Helm binary and the
rollout is the StatefulSet controller's; immutable fields are refused by the API server.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from components.cluster.grid import CHART_DIR, RELEASE_NAME, grid_values
from components.cluster.scheduling import POOL_LABEL
from tests.support import chart as chart_kit
from tests.support import live
from tests.support.cluster import ClusterError

NAME = "app.kubernetes.io/name=kubegrid"
PARTITIONS = f"{NAME},app.kubernetes.io/component=partition"
MANAGEMENT = f"{NAME},app.kubernetes.io/component=management"
PDB_REFUSAL = "Cannot evict pod as it would violate the pod's disruption budget."


# ---------------------------------------------------------------- helpers


def _summary(pods: list[dict[str, Any]]) -> str:
    return "; ".join(f"{p['metadata']['name']} {p['status'].get('phase')} on {p['spec'].get('nodeName') or '-'}"
                     f"{' (deleting)' if p['metadata'].get('deletionTimestamp') else ''}"
                     f"{' ready' if live.ready(p) else ''}" for p in pods)


def _statefulsets(stack: live.LiveStack) -> list[dict[str, Any]]:
    return stack.kube.json("get", "statefulsets", "-n", stack.spec.grid.namespace, f"--selector={NAME}")["items"]


def _grid_settled(stack: live.LiveStack, timeout: float = 180.0) -> list[dict[str, Any]]:
    """Waits until every grid StatefulSet has all its pods ready and current, and every PDB of
    the grid has seen them (its status counts them healthy); returns the grid's pods. A data
    pod the scheduler cannot place gets a node as the Cluster Autoscaler would add one
    (tests.support.live.autoscaled_wait)."""
    ns = stack.spec.grid.namespace

    def settled(pods):
        for sts in _statefulsets(stack):
            status = sts.get("status", {})
            if (status.get("observedGeneration") != sts["metadata"]["generation"]
                    or status.get("readyReplicas", 0) != sts["spec"]["replicas"]
                    or status.get("updatedReplicas", 0) != sts["spec"]["replicas"]
                    or status.get("currentRevision") != status.get("updateRevision")):
                return False
        for pdb in stack.kube.json("get", "pdb", "-n", ns)["items"]:
            status = pdb.get("status", {})
            if (status.get("observedGeneration") != pdb["metadata"]["generation"]
                    or status.get("currentHealthy") != status.get("expectedPods")):
                return False
        return pods if pods and all(live.ready(p) for p in pods) else False

    try:
        return live.autoscaled_wait(stack, "the grid's pods to be ready and counted by its budgets",
                                    lambda: stack.pods(ns, NAME), settled, timeout)
    except ClusterError as error:
        raise ClusterError(f"{error}; pods: {_summary(stack.pods(ns, NAME))}") from None

def evict(stack: live.LiveStack, namespace: str, pod: str) -> dict[str, Any]:
    """POSTs a policy/v1 Eviction for ``pod``; the server's Status (code 201 or the refusal,
    with its causes: kubectl prints a refusal's body only in its request log, -v=8)."""
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": namespace}}
    result = stack.kube.run("create", "--raw", f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction", "-f", "-",
                            "-v=8", input=json.dumps(body), check=False)
    if result.returncode == 0:
        return json.loads(result.stdout)
    lines = result.stderr.splitlines()
    for index, line in enumerate(lines):
        if '"Response Body"' in line and index + 1 < len(lines) and lines[index + 1].strip().startswith("{"):
            return json.loads(lines[index + 1].strip())
    raise AssertionError(f"eviction of {namespace}/{pod}: no Status in kubectl's output: {result.stderr[-2000:]}")


def _cordon_all(stack: live.LiveStack) -> None:
    """Every node unschedulable: an evicted pod's replacement stays Pending, as during a drain
    with no room elsewhere."""
    for node in stack.kube.json("get", "nodes")["items"]:
        stack.kube.run("cordon", node["metadata"]["name"])


def _uncordon_all(stack: live.LiveStack) -> None:
    for node in stack.kube.json("get", "nodes")["items"]:
        stack.kube.run("uncordon", node["metadata"]["name"])


def _pending_replacement(stack: live.LiveStack, namespace: str, name: str, old_uid: str) -> dict[str, Any]:
    """Waits for the StatefulSet's replacement of pod ``name`` (a new uid), not scheduled."""
    def replaced():
        pods = [p for p in stack.pods(namespace) if p["metadata"]["name"] == name]
        return pods[0] if pods and pods[0]["metadata"]["uid"] != old_uid else False
    pod = stack.kube.wait_for(f"the replacement of {namespace}/{name}", replaced, 60)
    assert not pod["spec"].get("nodeName") and pod["status"].get("phase") == "Pending", _summary([pod])
    return pod


def _assert_refused_by(status: dict[str, Any], budget: str, what: str) -> None:
    causes = [c.get("message", "") for c in status.get("details", {}).get("causes", [])
              if c.get("reason") == "DisruptionBudget"]
    assert status.get("code") == 429 and status.get("message") == PDB_REFUSAL, f"{what}: {live.dump(status)}"
    assert any(f"The disruption budget {budget} needs" in c for c in causes), f"{what}: {live.dump(status)}"


def _by_partition(pods: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for pod in pods:
        groups.setdefault(pod["metadata"]["labels"]["kubegrid.io/partition"], []).append(pod)
    return groups


# ---------------------------------------------------------------- evictions


@pytest.mark.parametrize("fresh", ["dev"], indirect=True)
def test_evictions_keep_one_pod_of_each_partition(fresh):
    """A drain may take one pod of a partition. With it away (its replacement Pending, every
    node cordoned), evicting the partition's other pod is refused with 429 and the budget's
    message; another partition's pod may still go; once the replacement is back, the other
    pod may go too."""
    ns = fresh.spec.grid.namespace
    pods = _grid_settled(fresh)
    groups = _by_partition([p for p in pods if p["metadata"]["labels"]["app.kubernetes.io/component"] == "partition"])
    assert len(groups) >= 2 and all(len(g) == 2 for g in groups.values()), _summary(pods)
    first, second = sorted(groups["1"], key=lambda p: p["metadata"]["name"])
    other = sorted(groups["2"], key=lambda p: p["metadata"]["name"])[0]

    _cordon_all(fresh)
    status = evict(fresh, ns, first["metadata"]["name"])
    assert status.get("code") == 201, f"evicting {first['metadata']['name']} with its partition whole: {live.dump(status)}"
    _pending_replacement(fresh, ns, first["metadata"]["name"], first["metadata"]["uid"])

    status = evict(fresh, ns, second["metadata"]["name"])
    _assert_refused_by(status, "kubegrid-partition-1", f"evicting {second['metadata']['name']} with its partner away")
    still = [p for p in fresh.pods(ns) if p["metadata"]["name"] == second["metadata"]["name"]]
    assert still and live.ready(still[0]) and still[0]["metadata"]["uid"] == second["metadata"]["uid"], _summary(still)

    status = evict(fresh, ns, other["metadata"]["name"])
    assert status.get("code") == 201, (f"partition 2's budget must not count partition 1's missing pod: "
                                       f"evicting {other['metadata']['name']}: {live.dump(status)}")

    _uncordon_all(fresh)
    _grid_settled(fresh)
    status = evict(fresh, ns, second["metadata"]["name"])
    assert status.get("code") == 201, f"evicting {second['metadata']['name']} with its partner back: {live.dump(status)}"


@pytest.mark.parametrize("fresh", ["staging"], indirect=True)
def test_evictions_keep_two_of_three_managers(fresh):
    """With three managers the chart's budget keeps two: one may be evicted, a second is
    refused while the first's replacement is Pending."""
    ns = fresh.spec.grid.namespace
    assert fresh.spec.grid.managers == 3
    budgets = [o["metadata"]["name"] for o in fresh.objects("PodDisruptionBudget", ns)
               if o["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") == "management"]
    assert budgets == ["kubegrid-manager"], f"a 3-manager grid needs its managers' budget; rendered: {budgets}"
    pods = _grid_settled(fresh, timeout=240)
    managers = sorted((p for p in pods if p["metadata"]["labels"]["app.kubernetes.io/component"] == "management"),
                      key=lambda p: p["metadata"]["name"])
    assert len(managers) == 3, _summary(pods)

    _cordon_all(fresh)
    status = evict(fresh, ns, managers[0]["metadata"]["name"])
    assert status.get("code") == 201, f"evicting {managers[0]['metadata']['name']} with 3 up: {live.dump(status)}"
    _pending_replacement(fresh, ns, managers[0]["metadata"]["name"], managers[0]["metadata"]["uid"])
    for manager in managers[1:]:
        status = evict(fresh, ns, manager["metadata"]["name"])
        _assert_refused_by(status, "kubegrid-manager", f"evicting {manager['metadata']['name']} with 2 managers up")
    left = {p["metadata"]["name"]: p for p in fresh.pods(ns, MANAGEMENT)}
    assert all(live.ready(left[m["metadata"]["name"]]) for m in managers[1:]), _summary(list(left.values()))


# ---------------------------------------------------------------- a node goes away


@pytest.mark.parametrize("fresh", ["dev"], indirect=True)
def test_pods_of_a_lost_node_come_back_on_another_node(fresh):
    """The Node object of a node with grid pods is deleted, and its pool gets a new node, as
    the managed node group's Auto Scaling group replaces a lost instance (dev has no room for
    the lost general node's pods without it: the Cluster Autoscaler's job there). The pod GC
    controller deletes the pods bound to the missing node, the StatefulSet controller
    recreates them and the scheduler places them: every grid pod ready again, none on the
    lost node, each partition's primary and backup on different nodes. dev has no
    persistence, so no volume ties a pod to the lost node."""
    assert not fresh.spec.grid.persistence
    ns = fresh.spec.grid.namespace
    pods = _grid_settled(fresh)
    by_name = {p["metadata"]["name"]: p for p in pods}
    lost = by_name["kubegrid-partition-1-0"]["spec"]["nodeName"]
    on_lost = {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods if p["spec"]["nodeName"] == lost}
    node = fresh.kube.json("get", "node", lost)
    pool = next(p for p in fresh.spec.node_pools if p.name == node["metadata"]["labels"][POOL_LABEL])

    fresh.kube.run("delete", "node", lost)
    fresh.plane.add_nodes([live.next_node(fresh, pool)])

    def recreated():
        now = {p["metadata"]["name"]: p for p in fresh.pods(ns, NAME)}
        return all(name in now and now[name]["metadata"]["uid"] != uid for name, uid in on_lost.items())
    try:
        fresh.kube.wait_for(f"the pods of lost node {lost} ({sorted(on_lost)}) to be recreated", recreated, 240)
    except ClusterError as error:
        raise AssertionError(f"{error}; pods: {_summary(fresh.pods(ns, NAME))}") from None
    after = _grid_settled(fresh)
    assert [p for p in after if p["spec"]["nodeName"] == lost] == [], _summary(after)
    assert {p["metadata"]["name"] for p in after} == set(by_name), _summary(after)
    for partition, group in _by_partition([p for p in after if "kubegrid.io/partition" in p["metadata"]["labels"]]).items():
        nodes = [p["spec"]["nodeName"] for p in group]
        assert len(set(nodes)) == len(nodes) == 2, f"partition {partition}: {_summary(group)}"


# ---------------------------------------------------------------- helm upgrade


@pytest.fixture
def bare_dev(engines_bin, tmp_path):
    """A control plane with dev's nodes and every object the stack applies itself, but none
    of the chart's: those are Helm's to install. One more general node, as the Cluster
    Autoscaler adds when a placement leaves a data pod no room (see _grid_settled), so that
    every placement of the install and of the rollout fits."""
    stack = live.start("dev", tmp_path / "plane", engines_bin)
    try:
        stack.plane.add_nodes([live.next_node(stack, next(p for p in stack.spec.node_pools if p.name == "general"))])
        live.apply_established(stack.kube, live.crds_for(stack.render))
        stack.kube.apply([r.obj for r in stack.render.objects if not r.source.startswith("chart:")])
        yield stack
    finally:
        stack.plane.stop()


def _helm(stack: live.LiveStack, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBECONFIG"))}
    env.update(HELM_CACHE_HOME=str(home / "cache"), HELM_CONFIG_HOME=str(home / "config"),
               HELM_DATA_HOME=str(home / "data"), HOME=str(home))
    result = subprocess.run([str(stack.plane.bin / "helm"), *args, f"--kubeconfig={stack.plane.admin_config}",
                             f"--namespace={stack.spec.grid.namespace}"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, f"helm {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}"
    return result


def _watch_events(path: Path) -> list[dict[str, Any]]:
    text, events, decoder, at = path.read_text(), [], json.JSONDecoder(), 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return events
        try:
            event, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError:  # the last event, cut when the watch was stopped
            return events
        events.append(event)


def _down_intervals(events: list[dict[str, Any]], expected: set[str]) -> tuple[dict[str, int], int, list[str]]:
    """Replays watch events from the end of the initial list: for each partition the most of
    its pods down at once (absent, deleting or not ready), the most grid pods down at once,
    and the timeline."""
    state: dict[str, dict[str, Any]] = {}
    worst: dict[str, int] = {}
    worst_grid = 0
    timeline = []
    listed = False
    for event in events:
        pod = event["object"]
        name = pod["metadata"]["name"]
        if event["type"] == "DELETED":
            state.pop(name, None)
        else:
            state[name] = pod
        listed = listed or expected <= set(state)
        if not listed:  # the watch's initial list, pod by pod
            continue
        down = {n for n in expected if n not in state or not live.ready(state[n])}
        timeline.append(f"{event['type']} {name} {pod['status'].get('phase')}"
                        f"{' deleting' if pod['metadata'].get('deletionTimestamp') else ''}"
                        f"{' ready' if live.ready(pod) else ''} -> down {sorted(down)}")
        worst_grid = max(worst_grid, len(down))
        for n in expected:
            partition = n.rsplit("-", 1)[0]
            worst[partition] = max(worst.get(partition, 0), len({d for d in down if d.rsplit("-", 1)[0] == partition}))
    return worst, worst_grid, timeline


def test_helm_upgrade_rolls_each_partition_pod_by_pod(bare_dev, tmp_path):
    """The stack's release (its name, namespace and values) installed with the real Helm,
    then upgraded to the current chart with a changed pod-template value (a data-pod
    annotation). The install is of the newest earlier chart version of the current major in
    git history; today there is none (1.0.0 is the first 1.x; 0.1.0 is of another major and
    is upgraded by written steps, not in place: see test_chart_upgrade.py), so today both are
    the current chart. Watching the partitions' pods: every partition pod is
    replaced, highest ordinal first, never two pods of a partition down at once, and
    `kubectl rollout status` sees each StatefulSet complete; the managers are not restarted."""
    stack = bare_dev
    ns = stack.spec.grid.namespace
    source = _earlier_chart_of_this_major(tmp_path / "previous") or CHART_DIR
    home = tmp_path / "helm"
    values = tmp_path / "values.json"
    values.write_text(json.dumps(grid_values(stack.spec)))
    changed = copy.deepcopy(grid_values(stack.spec))
    changed["partitions"]["podAnnotations"] = {"kubegrid.io/upgrade-test": "1"}
    upgraded = tmp_path / "values-upgrade.json"
    upgraded.write_text(json.dumps(changed))

    _helm(stack, home, "install", RELEASE_NAME, str(source), "-f", str(values))
    before = _grid_settled(stack)
    partitions = {p["metadata"]["name"]: p["metadata"]["uid"] for p in before
                  if p["metadata"]["labels"]["app.kubernetes.io/component"] == "partition"}
    managers = {p["metadata"]["name"]: p["metadata"]["uid"] for p in before
                if p["metadata"]["labels"]["app.kubernetes.io/component"] == "management"}
    assert len(partitions) == 2 * stack.spec.grid.partitions, _summary(before)

    log = tmp_path / "watch.json"
    with open(log, "w") as out:
        watch = subprocess.Popen([str(stack.plane.bin / "kubectl"), f"--kubeconfig={stack.plane.admin_config}",
                                  "get", "pods", "-n", ns, f"--selector={PARTITIONS}", "--watch",
                                  "--output-watch-events", "-o", "json"], stdout=out, stderr=subprocess.STDOUT)
    try:
        stack.kube.wait_for("the watch's initial list", lambda: len(_watch_events(log)) >= len(partitions), 30)
        _helm(stack, home, "upgrade", RELEASE_NAME, str(CHART_DIR), "-f", str(upgraded))
        for sts in sorted({n.rsplit("-", 1)[0] for n in partitions}):
            result = stack.kube.run("rollout", "status", f"statefulset/{sts}", "-n", ns, "--timeout=300s", check=False)
            assert result.returncode == 0, f"rollout of {sts}: {result.stderr.strip() or result.stdout.strip()}"
        after = {p["metadata"]["name"]: p for p in _grid_settled(stack)}
        time.sleep(1)  # the watch's last events
    finally:
        watch.terminate()
        watch.wait(timeout=10)

    events = _watch_events(log)
    worst, worst_grid, timeline = _down_intervals(events, set(partitions))
    story = "\n".join(timeline)
    for name, uid in partitions.items():
        pod = after[name]
        assert pod["metadata"]["uid"] != uid, f"{name} was not replaced by the upgrade:\n{story}"
        assert pod["metadata"].get("annotations", {}).get("kubegrid.io/upgrade-test") == "1", _summary([pod])
    assert {n: after[n]["metadata"]["uid"] for n in managers} == managers, (
        f"the upgrade restarted the managers, whose values did not change: {_summary(list(after.values()))}")
    assert max(worst.values()) == 1, f"two pods of a partition down at once: {worst}\n{story}"
    deleted = [e["object"]["metadata"]["name"] for e in events if e["type"] == "DELETED"]
    for sts in {n.rsplit("-", 1)[0] for n in partitions}:
        order = list(dict.fromkeys(n for n in deleted if n.rsplit("-", 1)[0] == sts))  # first deletion of each
        assert order == [f"{sts}-1", f"{sts}-0"], f"{sts} replaced in order {order}:\n{story}"
    print(f"most grid pods down at once (all partitions roll in parallel): {worst_grid}")


def _earlier_chart_of_this_major(directory: Path) -> Path | None:
    """The newest chart version in git history that is earlier than the current one and of
    its major, extracted into ``directory``; None when there is none."""
    repo = CHART_DIR.parents[1]
    current = chart_kit.chart().version
    commits = subprocess.run(["git", "log", "--format=%H", "--", "charts/kubegrid/Chart.yaml"], cwd=repo,
                             capture_output=True, text=True, check=True).stdout.split()
    for commit in commits:
        version = _chart_version(commit)
        if version != current and version.split(".")[0] == current.split(".")[0]:
            directory.mkdir(parents=True)
            archive = subprocess.run(["git", "archive", commit, "charts/kubegrid"], cwd=repo, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(directory)], input=archive.stdout, check=True)
            return directory / "charts" / "kubegrid"
    return None


def _chart_version(commit: str) -> str:
    text = subprocess.run(["git", "show", f"{commit}:charts/kubegrid/Chart.yaml"], cwd=CHART_DIR.parents[1],
                          capture_output=True, text=True, check=True).stdout
    return next(line.split(":", 1)[1].strip().strip('"') for line in text.splitlines() if line.startswith("version:"))


# ---------------------------------------------------------------- immutable fields


STATEFULSET_FORBIDDEN = "Forbidden: updates to statefulset spec for fields other than "


def _changes(kind: str, obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each field test_chart_upgrade.py records as immutable for ``kind``, ``obj`` with
    that field changed (and only what must change with it: a selector's new label is on the
    pod template too, or the server would refuse the mismatch instead)."""
    def changed(edit):
        copy_ = copy.deepcopy(obj)
        edit(copy_["spec"])
        return copy_

    def selector(spec):
        spec["selector"]["matchLabels"]["helm.sh/chart"] = "kubegrid-0.2.0"
        spec["template"]["metadata"]["labels"]["helm.sh/chart"] = "kubegrid-0.2.0"

    def claims(spec):
        assert spec.get("volumeClaimTemplates"), f"{obj['metadata']['name']} has no claim templates to change"
        spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "100Gi"

    edits = {
        "StatefulSet": {"selector": selector,
                        "serviceName": lambda s: s.update(serviceName=f"{obj['metadata']['name']}-headless"),
                        "volumeClaimTemplates": claims,
                        "podManagementPolicy": lambda s: s.update(
                            podManagementPolicy="OrderedReady" if s["podManagementPolicy"] == "Parallel" else "Parallel")},
        "Deployment": {"selector": selector},
        "Service": {"clusterIP": lambda s: s.update(clusterIP="10.96.0.77", clusterIPs=["10.96.0.77"])},
    }[kind]
    return {field: changed(edits[field]) for field in chart_kit.IMMUTABLE_FIELDS[kind]}


CONFLICT = "the object has been modified; please apply your changes to the latest version"


def _replace(stack: live.LiveStack, obj: dict[str, Any], dry_run: bool = False) -> subprocess.CompletedProcess:
    """An update of ``obj`` without its resourceVersion. kubectl replace fills in the version it
    reads just before its PUT, so a controller's status write in between is a Conflict: tried
    again then (a conflict says nothing of the field)."""
    obj = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}}
    obj.pop("status", None)
    for _ in range(5):
        result = stack.kube.run("replace", "-f", "-", *(["--dry-run=server"] if dry_run else []),
                                input=json.dumps(obj), check=False)
        if CONFLICT not in result.stderr:
            return result
    return result


@pytest.mark.parametrize("fresh", ["staging"], indirect=True)
def test_the_recorded_immutable_fields_are_refused_by_the_api_server(fresh):
    """For every kind and field tests/chart/test_chart_upgrade.py treats as immutable
    (tests.support.chart.IMMUTABLE_FIELDS), a change to the live object (the chart's own
    where the chart renders the kind; staging has persistence, so claim templates) is
    refused; the same object replaced unchanged is accepted, so the refusal is the field's.
    The fields the server lets a StatefulSet update are read from its message: every other
    spec field the chart's StatefulSets carry is one the recording compares."""
    chart_kinds = {r.obj["kind"] for r in fresh.render.objects if r.source.startswith("chart:")}
    stack_objects = [r.obj for r in fresh.render.objects]
    permitted: set[str] = set()
    for kind in chart_kit.IMMUTABLE_FIELDS:
        candidates = [r.obj for r in fresh.render.objects if r.obj["kind"] == kind
                      and (r.source.startswith("chart:") or kind not in chart_kinds)]
        if kind == "Service":  # a headless Service has no address to change
            candidates = [o for o in candidates if o["spec"].get("clusterIP") != "None"]
        assert candidates, f"no {kind} among staging's objects to change"
        target = candidates[0]
        meta = target["metadata"]
        live_obj = fresh.kube.json("get", kind.lower(), meta["name"], "-n", meta["namespace"])
        unchanged = _replace(fresh, live_obj, dry_run=True)
        assert unchanged.returncode == 0, f"{kind}/{meta['name']} replaced unchanged: {unchanged.stderr}"
        for field, changed in _changes(kind, live_obj).items():
            result = _replace(fresh, changed)
            message = result.stderr.strip()
            assert result.returncode != 0, f"{kind}/{meta['name']}: a change of spec.{field} was accepted"
            if kind == "StatefulSet":
                assert STATEFULSET_FORBIDDEN in message, f"spec.{field}: {message}"
                listed = message.split(STATEFULSET_FORBIDDEN, 1)[1].rsplit(" are forbidden", 1)[0]
                permitted = {f.strip(" '") for f in listed.replace(" and ", ",").split(",") if f.strip(" '")}
            elif kind == "Deployment":
                assert "spec.selector: Invalid value" in message and "field is immutable" in message, message
            else:
                assert "may not change once set" in message or "field is immutable" in message, message
    assert permitted, "no StatefulSet refusal listed the fields it permits"
    for sts in (o for o in stack_objects if o["kind"] == "StatefulSet"):
        live_spec = fresh.kube.json("get", "statefulset", sts["metadata"]["name"], "-n", sts["metadata"]["namespace"])["spec"]
        refused = (set(sts["spec"]) | set(live_spec)) - permitted
        assert refused <= set(chart_kit.IMMUTABLE_FIELDS["StatefulSet"]), (
            f"StatefulSet/{sts['metadata']['name']}: the server refuses changes to {sorted(refused)} "
            f"(it permits {sorted(permitted)}); the recordings compare {chart_kit.IMMUTABLE_FIELDS['StatefulSet']}")
