"""Checking resource and data blocks against the providers' schemas (what ``terraform validate``
checks of arguments, without a terraform binary or the providers).

The schemas are tests/terraform/provider_schemas.json, generated from the providers' Go source
by scripts/terraform_schema.py. A block is checked the way Terraform checks a configuration
against a provider schema: every argument and nested block must exist, read-only attributes
cannot be set, required arguments and required nested blocks must be there (recursively), nested
blocks stay within their count limits, and the provider's conflicts/exactly-one-of/at-least-one-of/
required-with groups hold. Meta-arguments, ``lifecycle`` and ``dynamic`` blocks are understood.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from tests.support.terraform import REPO

SCHEMAS = REPO / "tests" / "terraform" / "provider_schemas.json"
REGENERATE = "scripts/terraform_schema.py"

_META = {
    "resource": {
        "count",
        "for_each",
        "depends_on",
        "provider",
        "lifecycle",
        "provisioner",
        "connection",
    },
    "data": {"count", "for_each", "depends_on", "provider", "lifecycle"},
}
_LIFECYCLE = {
    "resource": {
        "create_before_destroy",
        "prevent_destroy",
        "ignore_changes",
        "replace_triggered_by",
        "precondition",
        "postcondition",
    },
    "data": {"precondition", "postcondition"},
}
_DYNAMIC = {"for_each", "iterator", "labels", "content"}


@dataclass(frozen=True)
class Finding:
    file: str
    address: str  # aws_s3_bucket.this, data.aws_iam_policy_document.x
    path: str  # the nested block path inside it ("" at the top), e.g. "rule.filter"
    message: str
    versions: tuple[str, ...] = ()  # the provider versions it holds for ("aws 6.0.0", ...)

    def __str__(self) -> str:
        where = f"{self.address}.{self.path}" if self.path else self.address
        versions = f" [{', '.join(self.versions)}]" if self.versions else ""
        return f"{self.file}: {where}: {self.message}{versions}"


@cache
def schemas() -> dict[str, Any]:
    """The data file's ``providers``: name -> {"versions": {version: schema}}."""
    return json.loads(SCHEMAS.read_text(encoding="utf-8"))["providers"]


def provider_versions(type_name: str) -> dict[str, dict]:
    """The schema data of the provider a type belongs to (by its prefix), by version."""
    provider = schemas().get(type_name.split("_", 1)[0])
    return provider["versions"] if provider else {}


def type_schema(kind: str, type_name: str, version: str) -> dict | None:
    data = provider_versions(type_name).get(version)
    if data is None:
        return None
    return data["resources" if kind == "resource" else "data_sources"].get(type_name)


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per problem, listing the provider versions it was found with."""
    merged: dict[tuple[str, str, str, str], list[str]] = {}
    for f in findings:
        merged.setdefault((f.file, f.address, f.path, f.message), []).extend(f.versions)
    return [Finding(*key, tuple(versions)) for key, versions in merged.items()]


def _blocks(parsed: dict) -> list[tuple[str, str, str, dict]]:
    """(kind, type, address, body) of every resource and data block."""
    found = []
    for kind in ("resource", "data"):
        for entry in parsed.get(kind, []):
            for type_name, named in entry.items():
                for name, body in named.items():
                    address = f"{type_name}.{name}"
                    found.append(
                        (
                            kind,
                            type_name,
                            address if kind == "resource" else f"data.{address}",
                            body,
                        )
                    )
    return found


def _is_block(value: Any) -> bool:
    # An empty list is an argument's value (`ids = []`): a block is never empty of bodies.
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, dict) and v.get("__is_block__") for v in value)
    )


def _is_set(value: Any) -> bool:
    """Whether an argument is set: present and not the literal null."""
    return value is not None


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.7)
    return f' (did you mean "{close[0]}"?)' if close else ""


class _Checker:
    def __init__(self, file: str, address: str):
        self.file = file
        self.address = address
        self.findings: list[Finding] = []

    def report(self, path: str, message: str) -> None:
        self.findings.append(Finding(self.file, self.address, path, message))

    def block(self, schema: dict, body: dict, path: str, meta: set[str] = frozenset()) -> None:
        attributes: dict[str, str] = schema.get("attributes", {})
        blocks: dict[str, dict] = schema.get("blocks", {})
        present: dict[str, Any] = {}  # what counts as set: arguments, blocks (static or dynamic)
        block_counts: dict[str, int] = {}
        dynamic_blocks: set[str] = set()
        for key, value in body.items():
            if key == "__is_block__" or key in meta:
                continue
            if key == "dynamic" and isinstance(value, list):
                # [{label: {for_each, content: [...]}}]: a labelled block per entry
                for entry in value:
                    for label, dynamic in entry.items():
                        self.dynamic(blocks, label, dynamic, path)
                        dynamic_blocks.add(label)
                        present[label] = True
                continue
            if key in attributes:
                if _is_block(value):
                    self.report(path, f'"{key}" is an argument, not a block: write {key} = ...')
                elif attributes[key] == "computed":
                    self.report(path, f'"{key}" is read-only (computed by the provider)')
                present[key] = value
            elif key in blocks:
                if not _is_block(value):
                    self.report(path, f'"{key}" is a block, not an argument: write {key} {{ ... }}')
                    continue
                block_counts[key] = len(value)
                present[key] = True
                for nested in value:
                    self.block(blocks[key], nested, f"{path}.{key}" if path else key)
            else:
                candidates = [*attributes, *blocks]
                self.report(path, f'unsupported argument "{key}"{_suggest(key, candidates)}')
        for name, mode in attributes.items():
            if mode == "required" and not _is_set(present.get(name)):
                self.report(path, f'missing required argument "{name}"')
        for name, nested in blocks.items():
            count = block_counts.get(name, 0)
            if name not in dynamic_blocks and count < nested.get("min", 0):
                self.report(path, f'needs at least {nested["min"]} "{name}" block(s), has {count}')
            if nested.get("max") and count > nested["max"]:
                self.report(path, f'allows at most {nested["max"]} "{name}" block(s), has {count}')
        self.constraints(schema, present, path)

    def dynamic(self, blocks: dict, label: str, dynamic: dict, path: str) -> None:
        where = f"{path}.dynamic.{label}" if path else f"dynamic.{label}"
        if label not in blocks:
            self.report(
                path, f'dynamic "{label}": no such nested block{_suggest(label, [*blocks])}'
            )
            return
        for key in dynamic:
            if key != "__is_block__" and key not in _DYNAMIC:
                self.report(where, f'unsupported argument "{key}" in a dynamic block')
        contents = dynamic.get("content")
        if not _is_block(contents) or len(contents) != 1:
            self.report(where, "needs exactly one content block")
            return
        self.block(blocks[label], contents[0], f"{path}.{label}" if path else label)

    def constraints(self, schema: dict, present: dict[str, Any], path: str) -> None:
        def listed(group: list[str]) -> str:
            return ", ".join(f'"{g}"' for g in group)

        is_set = {name for name, value in present.items() if _is_set(value)}
        for group in schema.get("conflicts", []):
            both = [g for g in group if g in is_set]
            if len(both) > 1:
                self.report(path, f"{listed(both)} conflict: set only one of them")
        for group in schema.get("exactly_one_of", []):
            chosen = [g for g in group if g in is_set]
            if len(chosen) != 1:
                self.report(
                    path, f"exactly one of {listed(group)} must be set, found {len(chosen)}"
                )
        for group in schema.get("at_least_one_of", []):
            if not any(g in is_set for g in group):
                self.report(path, f"at least one of {listed(group)} must be set")
        for first, *others in schema.get("required_with", []):
            missing = [o for o in others if o not in is_set]
            if first in is_set and missing:
                self.report(path, f'"{first}" also needs {listed(missing)}')

    def lifecycle(self, schema: dict, kind: str, body: dict) -> None:
        for lifecycle in body.get("lifecycle", []) if _is_block(body.get("lifecycle")) else []:
            for key, value in lifecycle.items():
                if key == "__is_block__":
                    continue
                if key not in _LIFECYCLE[kind]:
                    self.report("lifecycle", f'unsupported argument "{key}"')
                elif key == "ignore_changes" and isinstance(value, list):
                    known = {*schema.get("attributes", {}), *schema.get("blocks", {})}
                    for item in value:
                        name = re.match(r"[\w-]+", str(item).removeprefix("${"))
                        if name and name.group() not in known:
                            self.report(
                                "lifecycle",
                                f'ignore_changes names "{name.group()}", not an argument of '
                                f"this type{_suggest(name.group(), sorted(known))}",
                            )


def check_blocks(parsed: dict, file: str) -> list[Finding]:
    """Findings for every resource and data block of a file read by ``loads_with_blocks``,
    checked against each provider version of the schema data."""
    findings: list[Finding] = []
    for kind, type_name, address, body in _blocks(parsed):
        versions = provider_versions(type_name)
        for version in versions or [""]:
            checker = _Checker(file, address)
            schema = type_schema(kind, type_name, version) if version else None
            if schema is None:
                checker.report(
                    "",
                    f"{kind} type {type_name} is not in {SCHEMAS.relative_to(REPO)}: a "
                    f"misspelled type, or one added since the file was generated "
                    f"(regenerate it with {REGENERATE})",
                )
            else:
                checker.block(schema, body, "", _META[kind])
                checker.lifecycle(schema, kind, body)
            label = f"{type_name.split('_', 1)[0]} {version}" if version else ""
            findings += [
                Finding(f.file, f.address, f.path, f.message, (label,) if label else ())
                for f in checker.findings
            ]
    return _merge(findings)


def deprecated_arguments(parsed: dict, file: str) -> list[Finding]:
    """Arguments and blocks set that the provider marks deprecated (gone in its next major)."""
    findings: list[Finding] = []

    def walk(schema: dict, body: dict, address: str, path: str, label: str) -> None:
        deprecated = set(schema.get("deprecated", []))
        for key, value in body.items():
            if key in deprecated:
                findings.append(Finding(file, address, path, f'"{key}" is deprecated', (label,)))
            nested = schema.get("blocks", {}).get(key)
            if nested and _is_block(value):
                for item in value:
                    walk(nested, item, address, f"{path}.{key}" if path else key, label)

    for kind, type_name, address, body in _blocks(parsed):
        for version in provider_versions(type_name):
            schema = type_schema(kind, type_name, version)
            if schema is not None:
                walk(schema, body, address, "", f"{type_name.split('_', 1)[0]} {version}")
    return _merge(findings)


_REFERENCE = re.compile(
    r"(?<![\w.])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)"
    r"((?:\[[^\]\[]*\])*)(?:\.([A-Za-z_]\w*))?"
)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if "${" in value else []
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*_strings(k), *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def check_references(module: dict[str, dict]) -> list[Finding]:
    """References to resources and data sources in one module's files (file -> parsed): the
    block must be declared in the module, and the attribute named must be in its schema."""
    declared = {
        address: (kind, type_name)
        for parsed in module.values()
        for kind, type_name, address, _ in _blocks(parsed)
    }
    findings: list[Finding] = []
    for file, parsed in module.items():
        for text in _strings(parsed):
            for m in _REFERENCE.finditer(text):
                data, type_name, name, _, attribute = m.groups()
                if not provider_versions(type_name):
                    continue  # not a resource type of a provider in the data (var.x, local.y)
                address = f"{'data.' if data else ''}{type_name}.{name}"
                if address not in declared:
                    findings.append(
                        Finding(file, address, "", "referenced but not declared in this module")
                    )
                    continue
                if attribute is None:
                    continue
                kind, _ = declared[address]
                for version in provider_versions(type_name):
                    schema = type_schema(kind, type_name, version)
                    if schema is None:
                        continue
                    known = {*schema.get("attributes", {}), *schema.get("blocks", {})}
                    if attribute not in known:
                        findings.append(
                            Finding(
                                file,
                                address,
                                "",
                                f'has no attribute "{attribute}"'
                                + _suggest(attribute, sorted(known)),
                                (f"{type_name.split('_', 1)[0]} {version}",),
                            )
                        )
    return _merge(findings)


def satisfies(version: str, constraint: str) -> bool:
    """Whether a version meets a Terraform version constraint (``>= 6.0, < 7.0``, ``~> 2.4``)."""

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.strip().split("."))

    def padded(a: tuple[int, ...], n: int) -> tuple[int, ...]:
        return a + (0,) * (n - len(a))

    have = parts(version)
    for clause in constraint.split(","):
        m = re.fullmatch(r"\s*(>=|<=|>|<|=|!=|~>)?\s*([\d.]+)\s*", clause)
        if m is None:
            raise ValueError(f"unsupported version constraint {constraint!r}")
        op, want_text = m.group(1) or "=", m.group(2)
        want = parts(want_text)
        n = max(len(have), len(want))
        a, b = padded(have, n), padded(want, n)
        ok = {
            ">=": a >= b,
            "<=": a <= b,
            ">": a > b,
            "<": a < b,
            "=": a == b,
            "!=": a != b,
            "~>": a >= b and a[: len(want) - 1] == want[: len(want) - 1],
        }[op]
        if not ok:
            return False
    return True
