"""A minimal, honest stand-in of the Kubernetes API for Spark's Kubernetes client.

HTTP/1.1 on 127.0.0.1 (ThreadingHTTPServer), plain or with TLS (``tls=(cert, key)``). It keeps objects in
memory and answers what fabric8 (Spark 4's Kubernetes client) sends in a
cluster-mode submit and in the driver: create, get, list, watch (chunked
stream of JSON events), update, patch (JSON patch, merge and strategic merge
approximated as a JSON merge patch, server-side apply as create-or-merge),
delete and deletecollection, for any namespaced core or group resource, plus
``/version`` and minimal discovery.

By itself it does not judge: no authentication, no RBAC, no admission, no
quota, no defaulting beyond what an API server always fills in (uid,
resourceVersion, creationTimestamp, a Pending pod status, a Service
clusterIP). Two hooks let a test add the judging parts: :attr:`KubeStandIn.authorize`
(called with every request; a message it returns is answered 403 Forbidden,
as RBAC would) and :attr:`KubeStandIn.admit` (called with every object
created through the API; it may change it, as LimitRange defaulting does, or
raise :class:`ApiError` 403, as ResourceQuota admission does). Every request
is recorded (:class:`Request`) so tests check afterwards what the client sent.

The kubelet's part (pod status) is played by the test through
:meth:`KubeStandIn.update_status`, which emits MODIFIED events like the real
thing; :meth:`KubeStandIn.subscribe` lets it follow creations and deletions.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import queue
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

import yaml

KINDS = {
    "pods": "Pod", "configmaps": "ConfigMap", "services": "Service", "persistentvolumeclaims": "PersistentVolumeClaim",
    "secrets": "Secret", "serviceaccounts": "ServiceAccount", "events": "Event", "namespaces": "Namespace",
    "resourcequotas": "ResourceQuota", "limitranges": "LimitRange", "endpoints": "Endpoints",
}
PLURALS = {kind: plural for plural, kind in KINDS.items()}
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
PATH = re.compile(r"^/(?:api/(?P<cv>v1)|apis/(?P<group>[^/]+)/(?P<gv>[^/]+))"
                  r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Request:
    """One recorded API call."""
    seq: int
    time: float
    method: str
    verb: str
    path: str
    query: dict[str, str]
    resource: Optional[str]
    namespace: Optional[str]
    name: Optional[str]
    subresource: Optional[str]
    content_type: Optional[str]
    body: Any
    status: int = 0
    user_agent: str = ""
    authorization: str = ""
    upgrade: str = ""


@dataclass
class _Watch:
    key: tuple
    labels: Optional[str]
    fields: Optional[str]
    events: "queue.Queue[Optional[dict]]" = field(default_factory=queue.Queue)


# ---------------------------------------------------------------- selectors

_SEL = re.compile(r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<val>.*?))?\s*$")


def _split_selector(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def matches_labels(selector: Optional[str], labels: dict[str, str]) -> bool:
    """Kubernetes label selector syntax: =, ==, !=, in, notin, key, !key."""
    for term in _split_selector(selector or ""):
        m = _SEL.match(term)
        if not m:
            raise ValueError(f"bad label selector term {term!r}")
        key, op, val = m["key"], (m["op"] or "").strip(), m["val"]
        if m["neg"]:
            ok = key not in labels
        elif not op:
            ok = key in labels
        elif op in ("=", "=="):
            ok = labels.get(key) == val
        elif op == "!=":
            ok = labels.get(key) != val
        else:
            values = {v.strip() for v in val.strip().strip("()").split(",")}
            ok = (labels.get(key) in values) if op == "in" else (labels.get(key) not in values)
        if not ok:
            return False
    return True


def _field(obj: dict, path: str) -> Any:
    for part in path.split("."):
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


def matches_fields(selector: Optional[str], obj: dict) -> bool:
    for term in (selector or "").split(","):
        if not term.strip():
            continue
        neg = "!=" in term
        key, val = re.split(r"!=|==|=", term, maxsplit=1)
        actual = _field(obj, key.strip())
        if (str(actual) == val.strip()) == neg:
            return False
    return True


# ---------------------------------------------------------------- patches

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def json_patch(doc: Any, ops: list[dict]) -> Any:
    """RFC 6902 JSON patch (add, replace, remove, test)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = _pointer(op["path"])
        parent = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, op["value"])
            elif kind == "replace":
                parent[index] = op["value"]
            elif kind == "remove":
                del parent[index]
        elif kind in ("add", "replace"):
            parent[last] = op["value"]
        elif kind == "remove":
            parent.pop(last, None)
        elif kind == "test" and parent.get(last) != op["value"]:
            raise ValueError(f"test failed at {op['path']}")
    return doc


# ---------------------------------------------------------------- the store

class KubeStandIn:
    """The API's state, its record, and the HTTP server answering for it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, git_version: str = "v1.34.0",
                 tls: Optional[tuple[str, str]] = None):
        self.lock = threading.RLock()
        self.objects: dict[tuple, dict] = {}  # (group, resource, namespace, name) -> object
        self.history: list[tuple[int, tuple, str, dict]] = []  # (rv, key, type, object)
        self.requests: list[Request] = []
        self.watches: list[_Watch] = []
        self.listeners: list[Callable[[str, str, dict], None]] = []
        self.rv = itertools.count(1000)
        self.last_rv = 999
        self.seq = itertools.count(1)
        self.git_version = git_version
        self.authorize: Optional[Callable[[Request], Optional[str]]] = None
        """RBAC's part: a message when the request is not allowed."""
        self.admit: Optional[Callable[[str, Optional[str], dict], dict]] = None
        """Admission's part for objects created through the API: (resource, namespace, object) -> object."""
        self.stopping = threading.Event()
        standin = self

        class Handler(_Handler):
            api = standin

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            # the handshake happens in the request's thread, on its first read
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                     do_handshake_on_connect=False)
            self.scheme = "https"
        self.thread: Optional[threading.Thread] = None

    # lifecycle
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def start(self) -> "KubeStandIn":
        self.thread = threading.Thread(target=self.server.serve_forever, name="kube-standin", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            for w in self.watches:
                w.events.put(None)
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "KubeStandIn":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # state changes (also used to preload objects and to play the kubelet)
    def _next_rv(self) -> str:
        self.last_rv = next(self.rv)
        return str(self.last_rv)

    def _emit(self, key: tuple, kind: str, obj: dict) -> None:
        self.history.append((int(obj["metadata"]["resourceVersion"]), key, kind, copy.deepcopy(obj)))
        for w in list(self.watches):
            if w.key == key[:3] or (w.key[2] is None and w.key[:2] == key[:2]):
                if matches_labels(w.labels, obj["metadata"].get("labels") or {}) and matches_fields(w.fields, obj):
                    w.events.put({"type": kind, "object": copy.deepcopy(obj)})
        for listener in list(self.listeners):
            listener(kind, key[1], copy.deepcopy(obj))

    def create(self, group: str, resource: str, namespace: Optional[str], obj: dict) -> dict:
        with self.lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            if namespace:
                meta["namespace"] = namespace
            key = (group, resource, namespace, meta.get("name"))
            if key in self.objects:
                raise ApiError(409, "AlreadyExists", f'{resource} "{meta.get("name")}" already exists')
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now(), resourceVersion=self._next_rv())
            obj.setdefault("kind", KINDS.get(resource, resource.rstrip("s").capitalize()))
            obj.setdefault("apiVersion", "v1" if not group else f"{group}/v1")
            if resource == "pods":
                obj["status"] = {"phase": "Pending"}
            if resource == "services" and obj.get("spec", {}).get("clusterIP") in (None, ""):
                obj["spec"]["clusterIP"] = f"10.96.{len(self.objects) % 250}.{len(self.objects) // 250 + 10}"
            self.objects[key] = obj
            self._emit(key, "ADDED", obj)
            return copy.deepcopy(obj)

    def replace(self, key: tuple, obj: dict, event: str = "MODIFIED") -> dict:
        with self.lock:
            old = self.objects.get(key)
            if old is None:
                raise ApiError(404, "NotFound", f'{key[1]} "{key[3]}" not found')
            obj = copy.deepcopy(obj)
            for k in ("uid", "creationTimestamp", "namespace", "name"):
                obj.setdefault("metadata", {})[k] = old["metadata"].get(k)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self.objects[key] = obj
            self._emit(key, event, obj)
            return copy.deepcopy(obj)

    def delete(self, key: tuple) -> dict:
        with self.lock:
            obj = self.objects.pop(key, None)
            if obj is None:
                raise ApiError(404, "NotFound", f'{key[1]} "{key[3]}" not found')
            obj["metadata"]["resourceVersion"] = self._next_rv()
            obj["metadata"]["deletionTimestamp"] = now()
            self._emit(key, "DELETED", obj)
            return obj

    def update_status(self, namespace: str, name: str, status: dict, resource: str = "pods") -> Optional[dict]:
        """The kubelet's status update (merged); None when the object is gone."""
        with self.lock:
            key = ("", resource, namespace, name)
            obj = self.objects.get(key)
            if obj is None:
                return None
            obj = copy.deepcopy(obj)
            obj["status"] = merge_patch(obj.get("status") or {}, status)
            return self.replace(key, obj)

    def get(self, resource: str, namespace: Optional[str], name: str, group: str = "") -> Optional[dict]:
        with self.lock:
            obj = self.objects.get((group, resource, namespace, name))
            return copy.deepcopy(obj) if obj else None

    def items(self, resource: str, namespace: Optional[str] = None, labels: Optional[str] = None,
              group: str = "") -> list[dict]:
        with self.lock:
            return [copy.deepcopy(o) for (g, r, ns, _), o in self.objects.items()
                    if g == group and r == resource and (namespace is None or ns == namespace)
                    and matches_labels(labels, o["metadata"].get("labels") or {})]

    def load(self, obj: dict) -> None:
        """Preload an object as the stack would have applied it (not recorded as a request)."""
        api_version = obj.get("apiVersion", "v1")
        group = api_version.split("/")[0] if "/" in api_version else ""
        resource = PLURALS.get(obj["kind"], obj["kind"].lower() + "s")
        namespace = obj.get("metadata", {}).get("namespace")
        try:
            self.create(group, resource, namespace, obj)
        except ApiError:
            pass

    def subscribe(self, listener: Callable[[str, str, dict], None]) -> None:
        """listener(event type, resource, object) on every change."""
        self.listeners.append(listener)

    def calls(self, verb: Optional[str] = None, resource: Optional[str] = None) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if (verb is None or r.verb == verb)
                    and (resource is None or r.resource == resource)]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> dict:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason, "code": self.code}


# ---------------------------------------------------------------- HTTP

class _Handler(BaseHTTPRequestHandler):
    api: KubeStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        if hasattr(self.request, "do_handshake"):  # TLS: the handshake, in this request's thread
            self.request.settimeout(30)
            self.request.do_handshake()
            self.request.settimeout(None)
        super().setup()

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> tuple[Any, Optional[str]]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw and self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            raw = b"".join(chunks)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip() or None
        if not raw:
            return None, ctype
        text = raw.decode()
        try:
            return json.loads(text), ctype
        except ValueError:
            return yaml.safe_load(text), ctype

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        api = self.api
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        body, ctype = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else (None, None)
        m = PATH.match(split.path)
        group = (m["group"] or "") if m else None
        resource, ns, name, sub = (m["resource"], m["ns"], m["name"], m["sub"]) if m else (None, None, None, None)
        watching = query.get("watch") in ("true", "1")
        verb = {"GET": "watch" if watching else ("get" if name else "list"), "POST": "create", "PUT": "update",
                "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}[method]
        if not m:
            verb = method.lower()
        if sub:
            verb = f"{verb}/{sub}"
        record = Request(next(api.seq), time.time(), method, verb, self.path, query, resource, ns, name, sub, ctype,
                         body, user_agent=self.headers.get("User-Agent", ""),
                         authorization=self.headers.get("Authorization", ""),
                         upgrade=self.headers.get("Upgrade", ""))
        with api.lock:
            api.requests.append(record)
        try:
            denied = api.authorize(record) if api.authorize and m else None
            if denied:
                raise ApiError(403, "Forbidden", denied)
            if not m:
                code, out = self._meta(split.path)
            elif verb == "watch":
                record.status = 200
                return self._watch(group, resource, ns, query)
            else:
                code, out = self._serve(method, group, resource, ns, name, sub, query, body, ctype)
        except ApiError as error:
            code, out = error.code, error.status()
        except Exception as error:  # a bug of the stand-in or a body it cannot take: say so
            code, out = 500, ApiError(500, "InternalError", f"stand-in: {type(error).__name__}: {error}").status()
        record.status = code
        self._send(code, out)

    def _meta(self, path: str) -> tuple[int, Any]:
        api = self.api
        if path == "/version":
            return 200, {"major": "1", "minor": api.git_version.split(".")[1], "gitVersion": api.git_version,
                         "platform": "linux/amd64"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if path == "/api/v1":
            return 200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": plural, "singularName": kind.lower(), "namespaced": plural != "namespaces", "kind": kind,
                 "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}
                for plural, kind in KINDS.items()]}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        raise ApiError(404, "NotFound", f"the server could not find the requested resource ({path})")

    def _serve(self, method: str, group: str, resource: str, ns: Optional[str], name: Optional[str],
               sub: Optional[str], query: dict, body: Any, ctype: Optional[str]) -> tuple[int, Any]:
        api = self.api
        key = (group, resource, ns, name)
        kind = KINDS.get(resource, "Object")
        if method == "GET" and name:
            obj = api.get(resource, ns, name, group)
            if obj is None:
                raise ApiError(404, "NotFound", f'{resource} "{name}" not found')
            return 200, obj
        if method == "GET":
            items = [o for o in api.items(resource, ns, query.get("labelSelector"), group)
                     if matches_fields(query.get("fieldSelector"), o)]
            return 200, {"kind": f"{kind}List", "apiVersion": "v1",
                         "metadata": {"resourceVersion": str(api.last_rv)}, "items": items}
        if method == "POST":
            if query.get("dryRun"):
                return 201, body
            return 201, api.create(group, resource, ns, self._admitted(resource, ns, body))
        if method == "PUT":
            if sub == "status":
                old = api.get(resource, ns, name, group) or {}
                body = {**old, "status": body.get("status")}
            return 200, api.replace(key, body)
        if method == "PATCH":
            old = api.get(resource, ns, name, group)
            if ctype == "application/apply-patch+yaml":
                if old is None:
                    return 201, api.create(group, resource, ns, self._admitted(resource, ns, body))
                return 200, api.replace(key, merge_patch(old, body))
            if old is None:
                raise ApiError(404, "NotFound", f'{resource} "{name}" not found')
            patched = json_patch(old, body) if ctype == "application/json-patch+json" else merge_patch(old, body)
            return 200, api.replace(key, patched)
        if method == "DELETE" and name:
            return 200, api.delete(key)
        if method == "DELETE":
            gone = [api.delete((group, resource, ns, o["metadata"]["name"]))
                    for o in api.items(resource, ns, query.get("labelSelector"), group)
                    if matches_fields(query.get("fieldSelector"), o)]
            return 200, {"kind": f"{kind}List", "apiVersion": "v1",
                         "metadata": {"resourceVersion": str(api.last_rv)}, "items": gone}
        raise ApiError(405, "MethodNotAllowed", f"{method} not supported")

    def _admitted(self, resource: str, ns: Optional[str], body: dict) -> dict:
        return self.api.admit(resource, ns, copy.deepcopy(body)) if self.api.admit else body

    def _ws_frame(self, data: bytes, opcode: int = 0x1) -> None:
        n = len(data)
        head = bytes([0x80 | opcode]) + (bytes([n]) if n < 126 else
                                         b"\x7e" + n.to_bytes(2, "big") if n < 65536 else b"\x7f" + n.to_bytes(8, "big"))
        self.wfile.write(head + data)
        self.wfile.flush()

    def _ws_reader(self, w: _Watch) -> None:
        """Reads the client's frames; a close frame or a closed socket ends the watch."""
        try:
            while True:
                head = self.rfile.read(2)
                if len(head) < 2:
                    break
                n = head[1] & 0x7F
                if n == 126:
                    n = int.from_bytes(self.rfile.read(2), "big")
                elif n == 127:
                    n = int.from_bytes(self.rfile.read(8), "big")
                self.rfile.read((4 if head[1] & 0x80 else 0) + n)
                if head[0] & 0x0F == 0x8:
                    break
        except (OSError, ValueError):
            pass
        w.events.put(None)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, group: str, resource: str, ns: Optional[str], query: dict) -> None:
        api = self.api
        w = _Watch((group, resource, ns), query.get("labelSelector"), query.get("fieldSelector"))
        with api.lock:
            since = query.get("resourceVersion")
            if since and since != "0":
                backlog = [{"type": t, "object": copy.deepcopy(o)} for rv, key, t, o in api.history
                           if rv > int(since) and (key[:3] == w.key or (ns is None and key[:2] == w.key[:2]))
                           and matches_labels(w.labels, o["metadata"].get("labels") or {})
                           and matches_fields(w.fields, o)]
            else:
                backlog = [{"type": "ADDED", "object": o} for o in api.items(resource, ns, w.labels, group)
                           if matches_fields(w.fields, o)]
            for event in backlog:
                w.events.put(event)
            api.watches.append(w)
        websocket = self.headers.get("Upgrade", "").lower() == "websocket"
        if websocket:  # what fabric8 asks for first; the API server answers watches over WebSocket too
            accept = base64.b64encode(hashlib.sha1((self.headers["Sec-WebSocket-Key"] + _WS_GUID).encode()).digest())
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept.decode())
            self.end_headers()
            threading.Thread(target=self._ws_reader, args=(w,), daemon=True).start()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
        send = self._ws_frame if websocket else self._chunk
        deadline = time.time() + float(query.get("timeoutSeconds") or 3600)
        try:
            self.wfile.flush()
            while time.time() < deadline and not api.stopping.is_set():
                try:
                    event = w.events.get(timeout=0.5)
                except queue.Empty:
                    continue
                if event is None:
                    break
                send(json.dumps(event).encode() + b"\n")
            self.wfile.write(b"\x88\x02\x03\xe8" if websocket else b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
        finally:
            with api.lock:
                if w in api.watches:
                    api.watches.remove(w)
            self.close_connection = True
