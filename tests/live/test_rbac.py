"""RBAC on the real API server: SubjectAccessReviews for the team members' subjects, Spark's
service accounts and the grid's, in every stack.

The expectations are the docs' statements (docs/spark.md "What a team namespace holds",
docs/gigaspaces.md "Kubernetes API rights", docs/observability.md "Spark history servers")
and what Kubernetes' default ClusterRoles `admin`, `edit` and `view` grant (Kubernetes'
"User-facing roles": view reads most objects but not Secrets and cannot exec or
port-forward; edit writes most objects and reads Secrets but grants no Roles or
RoleBindings; admin adds Roles and RoleBindings but may not write the ResourceQuota, the
LimitRange or the namespace itself), never the Roles the stack renders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

import pytest
import yaml

from components.cluster.grid import CHART_DIR, FULLNAME, grid_values
from components.cluster.spark.names import CLEANUP_ACCOUNT, DRIVER_ACCOUNT, EXECUTOR_ACCOUNT
from components.cluster.tenancy import ROLE_KEYS, team_group, team_namespace

AUTHENTICATED = "system:authenticated"


@dataclass(frozen=True)
class Subject:
    user: str
    groups: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.user} (groups {', '.join(self.groups)})"


def service_account(namespace: str, name: str) -> Subject:
    """The subject a pod running as ``namespace``/``name`` authenticates as."""
    return Subject(f"system:serviceaccount:{namespace}:{name}",
                   ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED))


@dataclass(frozen=True)
class Check:
    who: Subject
    verb: str
    resource: str
    """``resource[/subresource][.group]``, as `kubectl auth can-i` spells it."""
    namespace: str
    """Empty: cluster-scoped (or every namespace)."""
    allowed: bool
    name: str = ""

    def attributes(self) -> dict[str, str]:
        resource, _, group = self.resource.partition(".")
        resource, _, subresource = resource.partition("/")
        return {k: v for k, v in {"namespace": self.namespace, "verb": self.verb, "group": group, "resource": resource,
                                  "subresource": subresource, "name": self.name}.items() if v}

    def __str__(self) -> str:
        where = f"in {self.namespace}" if self.namespace else "cluster-wide"
        target = f"{self.resource}/{self.name}" if self.name else self.resource
        return f"{self.who}: {self.verb} {target} {where}"


def review(check: Check) -> dict[str, Any]:
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": check.who.user, "groups": list(check.who.groups), "resourceAttributes": check.attributes()}}


def json_stream(text: str) -> list[Any]:
    """The JSON documents kubectl prints one after the other (one per object created)."""
    decoder, items, at = json.JSONDecoder(), [], 0
    while text[at:].strip():
        item, end = decoder.raw_decode(text, at + len(text[at:]) - len(text[at:].lstrip()))
        items += item["items"] if item.get("kind") == "List" else [item]
        at = end
    return items


def assert_reviews(kube, checks: Iterable[Check]) -> None:
    """Creates a SubjectAccessReview per check (one kubectl call); every answer must be the
    expected one. The failures list the server's reason for each."""
    checks = list(checks)
    assert checks, "nothing to check"
    result = kube.run("create", "-f", "-", "-o", "json", check=False,
                      input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [review(c) for c in checks]}))
    assert result.returncode == 0, f"the API server refused the reviews: {result.stderr.strip()}"
    items = json_stream(result.stdout)
    assert len(items) == len(checks), result.stdout[:500]
    wrong = []
    for check, item in zip(checks, items):
        status = item.get("status", {})
        if bool(status.get("allowed")) != check.allowed:
            why = status.get("reason") or status.get("evaluationError") or "no rule allows it"
            wrong.append(f"{check}: expected {'allowed' if check.allowed else 'refused'}, "
                         f"the server says {'allowed' if status.get('allowed') else 'refused'} ({why})")
    assert not wrong, "\n".join(wrong)


def checks(who: Subject, namespace: str, allowed: Iterable[tuple], refused: Iterable[tuple] = ()) -> list[Check]:
    """Checks of ``(verb, resource[, name])`` in ``namespace``."""
    return ([Check(who, *c[:2], namespace, True, *c[2:]) for c in allowed]
            + [Check(who, *c[:2], namespace, False, *c[2:]) for c in refused])


RBAC = "rbac.authorization.k8s.io"
CLUSTER_WRITES = [("create", "namespaces"), ("create", f"clusterrolebindings.{RBAC}"), ("create", f"clusterroles.{RBAC}"),
                  ("patch", "nodes"), ("delete", "persistentvolumes")]
CLUSTER_READS = [("list", "nodes"), ("list", "namespaces"), ("list", "pods"), ("list", "secrets")]
"""Cluster-scoped requests (and requests across every namespace)."""
ELSEWHERE = [("get", "pods"), ("list", "pods"), ("create", "pods"), ("get", "secrets"), ("list", "configmaps")]
"""What is checked in namespaces a subject has nothing to do with."""


def nowhere_else(live, who: Subject, home: str) -> list[Check]:
    """Refused in every namespace but ``home`` (the other teams', the grid's, kube-system,
    default) and cluster-wide."""
    others = {ns for ns, _ in team_namespaces(live)} | {live.spec.grid.namespace, "kube-system", "default"}
    return ([c for ns in sorted(others - {home}) for c in checks(who, ns, (), ELSEWHERE)]
            + checks(who, "", (), CLUSTER_WRITES + CLUSTER_READS))


def team_namespaces(live):
    return [(team_namespace(team)["metadata"]["name"], team) for team in live.spec.teams]


# -- team members ------------------------------------------------------------------------------------

VIEW = [("get", "pods"), ("list", "pods"), ("watch", "pods"), ("get", "pods/log"), ("list", "configmaps"),
        ("list", "services"), ("list", "persistentvolumeclaims"), ("list", "jobs.batch"), ("list", "cronjobs.batch"),
        ("get", "resourcequotas"), ("get", "limitranges"), ("list", "networkpolicies.networking.k8s.io")]
WRITE = [("create", "pods"), ("delete", "pods"), ("deletecollection", "pods"), ("create", "pods/exec"),
         ("create", "pods/portforward"), ("get", "secrets"), ("list", "secrets"), ("create", "secrets"),
         ("create", "configmaps"), ("create", "services"), ("create", "persistentvolumeclaims"), ("create", "jobs.batch")]
GRANT = [("create", f"roles.{RBAC}"), ("create", f"rolebindings.{RBAC}"),
         ("create", "localsubjectaccessreviews.authorization.k8s.io")]
NEVER = [("update", "resourcequotas"), ("delete", "resourcequotas"), ("create", "resourcequotas"),
         ("update", "limitranges"), ("delete", "limitranges")]
"""No team role writes its own quota or defaults (Kubernetes: not even admin)."""
ROLE_RIGHTS = {
    "view": (VIEW, WRITE + GRANT + NEVER),
    "edit": (VIEW + WRITE, GRANT + NEVER),
    "admin": (VIEW + WRITE + GRANT, NEVER),
}
"""Per default ClusterRole: (allowed, refused) in the namespace it is bound in."""


def own_namespace(ns: str) -> tuple[list[tuple], list[tuple]]:
    """The namespace object itself: every role reads it, none may change it (its Pod Security
    labels are the namespace's guard)."""
    return [("get", "namespaces", ns)], [("patch", "namespaces", ns), ("update", "namespaces", ns),
                                         ("delete", "namespaces", ns)]


def member_subjects(live, team, role: str) -> list[Subject]:
    """Who a team's members with ``role`` are to Kubernetes (docs/spark.md): in mode eks anyone
    whom the access entries put in `kubegrid:<team>:<role>`; in mode existing the listed names."""
    key = {v: k for k, v in ROLE_KEYS.items()}[role]
    members = getattr(team, key)
    if live.spec.is_eks:
        return [Subject(member, (team_group(team.name, role), AUTHENTICATED)) for member in members]
    return [Subject(member, (AUTHENTICATED,)) for member in members]


def test_team_members_get_their_default_clusterrole_in_their_namespace_only(applied):
    found = []
    for ns, team in team_namespaces(applied):
        for role, (allowed, refused) in ROLE_RIGHTS.items():
            extra_allowed, extra_refused = own_namespace(ns)
            for who in member_subjects(applied, team, role):
                found += checks(who, ns, allowed + extra_allowed, refused + extra_refused)
                found += nowhere_else(applied, who, ns)
    if not found:
        assert not any(team.admins or team.editors or team.viewers for team in applied.spec.teams)
        pytest.skip(f"stack {applied.name} lists no team members (the next test covers its groups)")
    assert_reviews(applied.kube, found)


def test_only_the_documented_subjects_get_team_rights(applied):
    """An authenticated user in none of a team's subjects gets nothing there; in mode existing
    the groups `kubegrid:<team>:<role>` are not bound (the listed names are users)."""
    found = []
    for ns, team in team_namespaces(applied):
        found += checks(Subject("someone-else", (AUTHENTICATED,)), ns, (), VIEW + WRITE)
        if not applied.spec.is_eks:
            for role in ROLE_RIGHTS:
                found += checks(Subject("someone-else", (team_group(team.name, role), AUTHENTICATED)), ns, (), VIEW)
    assert_reviews(applied.kube, found)


def test_viewers_cannot_port_forward_to_the_history_server(applied):
    """docs/observability.md: the history server is reached with `kubectl port-forward`; that
    takes `create pods/portforward`, which `edit` and `admin` grant and `view` does not."""
    found = []
    for ns, team in team_namespaces(applied):
        for role in ROLE_RIGHTS:
            for who in member_subjects(applied, team, role):
                found += [Check(who, "get", "services", ns, True),
                          Check(who, "create", "pods/portforward", ns, role != "view")]
    if not found:
        pytest.skip(f"stack {applied.name} lists no team members")
    assert_reviews(applied.kube, found)


# -- Spark's accounts ---------------------------------------------------------------------------------

SPARK_DRIVER = [("get", "pods"), ("list", "pods"), ("watch", "pods"), ("create", "pods"), ("delete", "pods"),
                ("deletecollection", "pods"), ("create", "configmaps"), ("deletecollection", "configmaps"),
                ("deletecollection", "services"), ("list", "persistentvolumeclaims"),
                ("create", "persistentvolumeclaims"), ("deletecollection", "persistentvolumeclaims")]
"""docs/spark.md's table row of the `spark-driver` Role."""
SPARK_DRIVER_NOT = [("update", "pods"), ("patch", "pods"), ("create", "pods/exec"), ("get", "pods/log"),
                    ("get", "configmaps"), ("update", "configmaps"), ("create", "services"), ("get", "services"),
                    ("delete", "persistentvolumeclaims"), ("get", "secrets"), ("list", "secrets"), ("watch", "secrets"),
                    ("create", "secrets"), ("create", f"roles.{RBAC}"), ("create", f"rolebindings.{RBAC}"),
                    ("create", "jobs.batch"), ("list", "serviceaccounts")]
"""docs/spark.md: no update, no patch, the Service is the submitter's, and nothing beyond the
row's verbs (no Secrets)."""
NOTHING = [("get", "pods"), ("list", "pods"), ("create", "pods"), ("get", "configmaps"), ("create", "configmaps"),
           ("get", "secrets"), ("list", "services")]


def test_the_spark_driver_has_its_documented_verbs_in_its_namespace_only(applied):
    found = []
    for ns, team in team_namespaces(applied):
        if team.spark:
            who = service_account(ns, DRIVER_ACCOUNT)
            found += checks(who, ns, SPARK_DRIVER, SPARK_DRIVER_NOT) + nowhere_else(applied, who, ns)
    assert_reviews(applied.kube, found)


def test_executors_and_the_default_account_call_nothing(applied):
    """docs/spark.md: executors never call the Kubernetes API (their account has no binding);
    docs/gigaspaces.md: Spark 2.4.4's executors run as `default`, bound to nothing."""
    found = []
    for ns, team in team_namespaces(applied):
        for account in ([EXECUTOR_ACCOUNT] if team.spark else []) + ["default"]:
            who = service_account(ns, account)
            found += checks(who, ns, (), NOTHING) + nowhere_else(applied, who, ns)
    assert_reviews(applied.kube, found)


def test_the_driver_cleanup_account_deletes_pods_in_its_namespace_only(applied):
    """docs/spark.md: the cleanup job deletes finished driver pods (it lists them to find them)."""
    found = []
    for ns, team in team_namespaces(applied):
        if team.spark:
            who = service_account(ns, CLEANUP_ACCOUNT)
            found += checks(who, ns, [("list", "pods"), ("delete", "pods")],
                            [("get", "secrets"), ("list", "secrets"), ("create", "pods"), ("update", "pods")])
            found += nowhere_else(applied, who, ns)
    assert_reviews(applied.kube, found)


# -- the grid's accounts ------------------------------------------------------------------------------

def grid_rbac(spec) -> dict[str, bool]:
    """`management.rbac` as the stack gives it to the chart: the chart's defaults, then the stack's values."""
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())["management"]["rbac"]
    return {**defaults, **grid_values(spec).get("management", {}).get("rbac", {})}


READ = ("get", "list", "watch")


def test_the_grid_accounts_have_the_documented_rights_and_no_more(applied):
    """docs/gigaspaces.md "Kubernetes API rights": managers read pods, services, endpoints and
    service accounts, patch StatefulSets and delete pods (patchSupport) and read nodes (nodes);
    data pods get and list pods, services and endpoints; Zeppelin's and the test's accounts
    nothing. No Secrets, no group subject, no `view` in kube-system."""
    ns = applied.spec.grid.namespace
    rbac = grid_rbac(applied.spec)
    management = service_account(ns, f"{FULLNAME}-management")
    allowed = [(v, r) for r in ("pods", "services", "endpoints", "serviceaccounts") for v in READ]
    refused = [("get", "secrets"), ("list", "secrets"), ("create", "pods"), ("update", "statefulsets.apps"),
               ("create", "statefulsets.apps"), ("delete", "statefulsets.apps"), ("get", "configmaps"),
               ("create", f"rolebindings.{RBAC}")]
    patching = [("get", "statefulsets.apps"), ("list", "statefulsets.apps"), ("patch", "statefulsets.apps"),
                ("delete", "pods")]
    (allowed if rbac["patchSupport"] else refused).extend(patching)
    nodes = [("get", "nodes"), ("list", "nodes")]
    found = checks(management, ns, allowed, refused)
    found += checks(management, "", nodes if rbac["nodes"] else [], ([] if rbac["nodes"] else nodes) + CLUSTER_WRITES)
    found += checks(management, "kube-system", (), [(v, "pods") for v in READ] + [("get", "configmaps")])

    partition = service_account(ns, f"{FULLNAME}-partition")
    found += checks(partition, ns, [(v, r) for r in ("pods", "services", "endpoints") for v in ("get", "list")],
                    [("watch", "pods"), ("delete", "pods"), ("get", "secrets"), ("get", "serviceaccounts"),
                     ("get", "statefulsets.apps"), ("patch", "statefulsets.apps")])
    found += checks(partition, "", (), [("get", "nodes"), ("list", "nodes")] + CLUSTER_WRITES)

    for account in (f"{FULLNAME}-zeppelin", FULLNAME, "default"):
        who = service_account(ns, account)
        found += checks(who, ns, (), NOTHING) + checks(who, "", (), [("list", "nodes")] + CLUSTER_WRITES)
    for who in (management, partition):
        found += [c for team_ns, _ in team_namespaces(applied) for c in checks(who, team_ns, (), ELSEWHERE)]
    assert_reviews(applied.kube, found)
