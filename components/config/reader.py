"""Reads plain config data into frozen dataclasses, collecting every problem.

The dataclasses themselves are the schema: each field is declared with
:func:`setting`, which records the config key, its documentation and its
bounds. The same declarations drive reading, error messages and the
configuration reference in docs/configuration.md, so the three cannot drift.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

REQUIRED = dataclasses.MISSING

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, at a key path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Raised with every problem found in a stack's configuration."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Secret:
    """A value that was stored encrypted. ``value`` is None when it could not be
    decrypted (offline commands read the stack file without the Pulumi CLI)."""

    value: Optional[str] = dataclasses.field(default=None, repr=False)

    def __str__(self) -> str:
        return "[secret]"


def setting(
    key: str,
    doc: str,
    *,
    default: Any = REQUIRED,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    choices: Optional[tuple] = None,
    pattern: Optional[str] = None,
    pattern_hint: str = "",
    min_items: Optional[int] = None,
    max_items: Optional[int] = None,
    default_doc: Optional[str] = None,
) -> Any:
    """Declares a dataclass field as a config key with its rules."""
    meta = dict(
        key=key, doc=doc, minimum=minimum, maximum=maximum, choices=choices,
        pattern=re.compile(pattern) if pattern else None, pattern_hint=pattern_hint,
        min_items=min_items, max_items=max_items, default_doc=default_doc,
    )
    if default is REQUIRED:
        return dataclasses.field(metadata=meta)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple or a mapping proxy for collection defaults")
    if isinstance(default, Mapping):
        return dataclasses.field(default_factory=lambda: frozen_map(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def frozen_map(data: Optional[Mapping[str, str]] = None) -> Mapping[str, str]:
    return types.MappingProxyType(dict(data or {}))


EMPTY_MAP: Mapping[str, str] = frozen_map()
EMPTY_RULES: Mapping[type, Callable] = types.MappingProxyType({})


def describe(value: Any) -> str:
    """How a given value is shown in an error message."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return hint, False


def type_name(hint: Any) -> str:
    """The user-facing name of a field type, as written in the docs."""
    hint, optional = _unwrap_optional(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return f"list of {type_name(typing.get_args(hint)[0])}"
    if origin is not None and issubclass(origin, Mapping):
        return "map of string to string"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "string"
    if dataclasses.is_dataclass(hint) and hint is not Secret:
        return "object"
    return {str: "string", int: "integer", float: "number", bool: "boolean", Secret: "secret string"}[hint]


class Reader:
    """Reads raw data into a dataclass, appending problems instead of raising."""

    def __init__(self, secret_paths: Callable[[str], bool] = lambda path: False,
                 object_rules: Mapping[type, Callable[[Mapping[str, Any], Callable[[str, str], None]], None]] = EMPTY_RULES):
        self.problems: list[Problem] = []
        self._is_secret = secret_paths
        self._rules = object_rules

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def read_object(self, cls: type, raw: Any, path: str) -> Any:
        """Returns an instance of ``cls``, or None when ``raw`` is unusable."""
        if not isinstance(raw, Mapping):
            self.fail(path, f"expected an object, got {describe(raw)}")
            return None
        fields = [f for f in dataclasses.fields(cls) if "key" in f.metadata]
        by_key = {f.metadata["key"]: f for f in fields}
        for key in raw:
            if key not in by_key:
                self.fail(f"{path}.{key}", "unknown key" + suggestion(str(key), by_key) + allowed_keys(by_key))
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        complete = True
        for f in fields:
            key = f.metadata["key"]
            sub = f"{path}.{key}"
            if key not in raw or raw[key] is None:
                if _is_required(f):
                    self.fail(sub, f"required ({type_name(hints[f.name])}): {f.metadata['doc']}")
                    complete = False
                continue
            value = self.read_value(hints[f.name], raw[key], sub, f.metadata)
            if value is _INVALID:
                complete = False
            else:
                values[f.name] = value
        # Rules between fields of one object run on every field that was valid,
        # so a wrong type elsewhere does not hide them.
        check = self._rules.get(cls)
        if check is not None:
            before = len(self.problems)
            check({**_defaults(cls), **values}, lambda key, message: self.fail(f"{path}.{key}", message))
            complete = complete and len(self.problems) == before
        return cls(**values) if complete else None

    def read_value(self, hint: Any, raw: Any, path: str, meta: Mapping[str, Any]) -> Any:
        hint, _ = _unwrap_optional(hint)
        origin = typing.get_origin(hint)
        if origin is tuple:
            return self._read_list(typing.get_args(hint)[0], raw, path, meta)
        if origin is not None and issubclass(origin, Mapping):
            return self._read_map(raw, path)
        if hint is Secret:
            return self._read_secret(raw, path)
        if dataclasses.is_dataclass(hint):
            value = self.read_object(hint, raw, path)
            return _INVALID if value is None else value
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            allowed = [m.value for m in hint]
            if raw not in allowed:
                self.fail(path, f"got {describe(raw)}; allowed: {', '.join(allowed)}"
                          + suggestion(str(raw), allowed))
                return _INVALID
            return hint(raw)
        return self._read_scalar(hint, raw, path, meta)

    def _read_scalar(self, hint: type, raw: Any, path: str, meta: Mapping[str, Any]) -> Any:
        value = _coerce(hint, raw)
        if value is _INVALID:
            self.fail(path, f"expected {type_name(hint)}, got {describe(raw)}")
            return _INVALID
        choices, lo, hi = meta.get("choices"), meta.get("minimum"), meta.get("maximum")
        if choices is not None and value not in choices:
            self.fail(path, f"got {describe(raw)}; allowed: {', '.join(describe(c) for c in choices)}")
            return _INVALID
        if lo is not None and value < lo:
            self.fail(path, f"got {describe(raw)}; must be at least {describe(lo)}")
            return _INVALID
        if hi is not None and value > hi:
            self.fail(path, f"got {describe(raw)}; must be at most {describe(hi)}")
            return _INVALID
        pattern = meta.get("pattern")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(path, f"got {describe(raw)}; expected {meta.get('pattern_hint') or pattern.pattern}")
            return _INVALID
        return value

    def _read_list(self, item: Any, raw: Any, path: str, meta: Mapping[str, Any]) -> Any:
        if not isinstance(raw, list):
            self.fail(path, f"expected a list, got {describe(raw)}")
            return _INVALID
        lo, hi = meta.get("min_items"), meta.get("max_items")
        if lo is not None and len(raw) < lo:
            self.fail(path, f"got {len(raw)} item(s); at least {lo} required")
            return _INVALID
        if hi is not None and len(raw) > hi:
            self.fail(path, f"got {len(raw)} items; at most {hi} allowed")
            return _INVALID
        item_meta = {k: v for k, v in meta.items() if k not in ("min_items", "max_items")}
        values = [self.read_value(item, element, f"{path}[{i}]", item_meta) for i, element in enumerate(raw)]
        return _INVALID if any(v is _INVALID for v in values) else tuple(values)

    def _read_map(self, raw: Any, path: str) -> Any:
        if not isinstance(raw, Mapping):
            self.fail(path, f"expected a map of string to string, got {describe(raw)}")
            return _INVALID
        bad = [k for k, v in raw.items() if not isinstance(v, str)]
        for key in bad:
            self.fail(f"{path}.{key}", f"expected a string, got {describe(raw[key])} (quote it in YAML)")
        return _INVALID if bad else frozen_map(raw)

    def _read_secret(self, raw: Any, path: str) -> Any:
        if isinstance(raw, Mapping) and set(raw) == {"secure"}:
            return Secret(None)
        if isinstance(raw, str) and self._is_secret(path):
            return Secret(raw)
        self.fail(path, "must be stored encrypted, got a plain-text value; set it with "
                        f"`pulumi config set --secret --path '{path}' VALUE`")
        return _INVALID


_INVALID = object()


def _coerce(hint: type, raw: Any) -> Any:
    """Accepts the value if it is of the type; YAML and Pulumi may give 2.0 for 2."""
    if hint is bool:
        return raw if isinstance(raw, bool) else _INVALID
    if isinstance(raw, bool):
        return _INVALID
    if hint is int:
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        return _INVALID
    if hint is float:
        return float(raw) if isinstance(raw, (int, float)) else _INVALID
    if hint is str:
        return raw if isinstance(raw, str) else _INVALID
    raise TypeError(f"unsupported config type {hint!r}")


def suggestion(given: str, candidates) -> str:
    close = difflib.get_close_matches(given, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def allowed_keys(by_key: Mapping[str, Any]) -> str:
    return "; allowed keys: " + ", ".join(sorted(by_key))


def reference_rows(cls: type, prefix: str) -> list[tuple[str, str, str, str]]:
    """(key path, type, default, description) for every key under ``cls``."""
    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if "key" not in f.metadata:
            continue
        meta = f.metadata
        path = f"{prefix}.{meta['key']}"
        hint, _ = _unwrap_optional(hints[f.name])
        rows.append((path, type_name(hints[f.name]), _default_text(f), _doc_text(hint, meta)))
        inner = typing.get_args(hint)[0] if typing.get_origin(hint) is tuple else hint
        if dataclasses.is_dataclass(inner):
            rows.extend(reference_rows(inner, f"{path}[]" if inner is not hint else path))
    return rows


def default_of(cls: type, name: str) -> Any:
    """The declared default of field ``name`` of ``cls``; KeyError when it has none."""
    return _defaults(cls)[name]


def is_default(obj: Any, name: str) -> bool:
    """Whether field ``name`` of ``obj`` holds its declared default."""
    return getattr(obj, name) == default_of(type(obj), name)


def _defaults(cls: type) -> dict[str, Any]:
    out = {}
    for f in dataclasses.fields(cls):
        if f.default is not REQUIRED:
            out[f.name] = f.default
        elif f.default_factory is not REQUIRED:
            out[f.name] = f.default_factory()
    return out


def _is_required(f: dataclasses.Field) -> bool:
    return f.default is REQUIRED and f.default_factory is REQUIRED


def _default_text(f: dataclasses.Field) -> str:
    if f.metadata.get("default_doc"):
        return f.metadata["default_doc"]
    if _is_required(f):
        return "required"
    value = f.default if f.default is not REQUIRED else f.default_factory()
    if value is None:
        return "none"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, tuple) or isinstance(value, Mapping):
        return "empty"
    return f"`{describe(value)}`" if not isinstance(value, str) else (f"`{value}`" if value else '`""`')


def _doc_text(hint: Any, meta: Mapping[str, Any]) -> str:
    parts = [meta["doc"]]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        parts.append("One of " + ", ".join(f"`{m.value}`" for m in hint) + ".")
    if meta.get("choices"):
        parts.append("One of " + ", ".join(f"`{describe(c)}`" for c in meta["choices"]) + ".")
    bounds = []
    if meta.get("minimum") is not None:
        bounds.append(f"at least {describe(meta['minimum'])}")
    if meta.get("maximum") is not None:
        bounds.append(f"at most {describe(meta['maximum'])}")
    if bounds:
        parts.append("Must be " + " and ".join(bounds) + ".")
    if meta.get("min_items") is not None or meta.get("max_items") is not None:
        lo, hi = meta.get("min_items"), meta.get("max_items")
        parts.append(f"{lo if lo is not None else 0} to {hi if hi is not None else 'any number of'} items.")
    return " ".join(parts)
