"""Runs the real Pulumi program under Pulumi's mock runtime, offline.

Used by `kubegrid plan`, the tests and the benchmarks. Every registered
resource is recorded with its type, logical name, parent and inputs, and the
options the engine received (protect, dependencies, ignoreChanges, provider). Values
a cloud provider would compute (ARNs, ids, endpoints) come back as readable
placeholders such as ``<known after apply: aws:eks/cluster:Cluster kubegrid.endpoint>``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings

from .plan_placeholders import computed_outputs, invoke_result

PROJECT = "kubegrid"


@dataclass
class RecordedResource:
    type: str
    name: str
    parent: Optional[str]
    inputs: dict[str, Any]
    urn: str
    custom: bool
    protect: bool = False
    """Whether the resource is protected from deletion."""
    dependencies: list[str] = field(default_factory=list)
    """Logical names of the resources it explicitly depends on."""
    ignore_changes: list[str] = field(default_factory=list)
    provider: str = ""
    """The provider reference it was registered with (empty: the default provider)."""

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs}


@dataclass
class ProgramRun:
    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r}")
        return matches[0]

    def as_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "resources": [r.as_dict() for r in self.resources], "outputs": self.outputs}


class _Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        outputs = {**args.inputs, **computed_outputs(args.typ, args.name, args.inputs)}
        return outputs.get("id") or f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return invoke_result(args.token, args.args)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, run: ProgramRun):
        super().__init__(mocks)
        self.run = run
        self._names: dict[str, str] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = _plain(pulumi_mocks.rpc.deserialize_properties(request.object))
            self._names[response.urn] = request.name
            self.run.resources.append(RecordedResource(
                type=request.type, name=request.name, parent=self._names.get(request.parent),
                inputs=inputs, urn=response.urn, custom=bool(request.custom), protect=bool(request.protect),
                dependencies=[self._names.get(u, u) for u in request.dependencies],
                ignore_changes=list(request.ignoreChanges), provider=request.provider))
        return response


def _plain(value: Any) -> Any:
    """Inputs as JSON-ready data; secrets show as "[secret]"."""
    if isinstance(value, dict):
        if value.get(pulumi_mocks.rpc._special_sig_key) == pulumi_mocks.rpc._special_secret_sig:
            return "[secret]"
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, pulumi.Resource):
        return f"<resource {getattr(value, '_name', '?')}>"
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the mock runtime turns every number into a float
    return value


def config_strings(config: Mapping[str, Any]) -> dict[str, str]:
    """Config as the engine passes it: structured values as JSON text."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def run_program(config: Mapping[str, Any], stack: str, secret_keys: Sequence[str] = (),
                program: Optional[Callable[[], None]] = None) -> ProgramRun:
    """Runs ``program`` (KubeGrid's, components.program.main, unless given) for
    ``config`` and returns what it registered."""
    if program is None:
        from ..program import main as program

    run = ProgramRun(stack=stack)
    with _cyclic_gc_paused():
        _run(program, config, stack, secret_keys, run)
    return run


@contextlib.contextmanager
def _cyclic_gc_paused():
    """Pauses Python's cyclic garbage collector for one run, then collects what it left.

    A run keeps every resource's Outputs and futures alive until it ends, so the
    collector's full passes rescan a heap that grows with the stack: with them,
    500 teams took twice as long per resource as 10 (docs/performance.md).
    Reference counting still frees everything acyclic during the run. While
    paused, everything the run allocates stays in the youngest generation, so
    collecting that one alone frees the run's cycles without rescanning the
    long-lived heap (the imported SDKs), at a tenth of a full collection's cost.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect(0)


def _run(program: Callable[[], None], config: Mapping[str, Any], stack: str, secret_keys: Sequence[str],
         run: ProgramRun) -> None:
    mocks = _Mocks()
    loop = asyncio.new_event_loop()
    # The SDK sends every monitor call through the loop's default executor. The mock
    # monitor is plain Python under the GIL, so more threads only contend for it.
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=1))
    asyncio.set_event_loop(loop)
    pulumi_settings.reset_options()
    pulumi_settings.set_root_resource(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False,
                             monitor=_RecordingMonitor(mocks, run))
    pulumi.runtime.set_all_config(config_strings(config), list(secret_keys))
    try:
        program()
        loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
        root = pulumi_settings.get_root_resource()
        run.outputs = loop.run_until_complete(_resolve(getattr(root, "outputs", {})))
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def _resolve(outputs: Mapping[str, Any]) -> dict[str, Any]:
    resolved = {}
    for key, value in outputs.items():
        output = pulumi.Output.from_input(value)
        plain = await output.future()
        resolved[key] = "[secret]" if await output.is_secret() else _plain(plain)
    return resolved
