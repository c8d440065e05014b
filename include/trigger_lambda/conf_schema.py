"""A run conf checked against its DAG kind's schema (conf_schemas.json, generated from
plugins/mlops/params.py) before anything reaches Airflow: by the trigger Lambda and by trigger-dag.

Hand-written on purpose: the function ships only boto3 (the jsonschema package needs rpds-py, a
compiled wheel per platform), and the schemas use a small subset of JSON Schema. That subset is
exactly ``KEYWORDS``: a schema using any other keyword is refused when loaded, so a new keyword in
params.py cannot be silently ignored here (tests compare this against the jsonschema package).
A problem names the field and the rule, never the value (a conf may hold anything).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

SCHEMAS_FILE = Path(__file__).with_name("conf_schemas.json")
KEYWORDS = frozenset(
    {
        "type",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "maxLength",
        "properties",
        "additionalProperties",
        "propertyNames",
        # annotations only
        "title",
        "description",
        "default",
    }
)
_TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "integer": lambda v: (
        not isinstance(v, bool)
        and (isinstance(v, int) or (isinstance(v, float) and v.is_integer()))
    ),
    "number": lambda v: not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v),
}


class ConfError(ValueError):
    """The conf breaks its schema: ``field`` is where (``conf.<key>...``), the message says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def check_schema(schema: Any, where: str = "schema") -> None:
    """Refuse a schema this module cannot enforce (an unknown keyword or type)."""
    if not isinstance(schema, dict):
        raise ValueError(f"{where} is not an object")
    unknown = sorted(set(schema) - KEYWORDS)
    if unknown:
        raise ValueError(f"{where} uses {unknown}, which conf_schema.py does not enforce")
    types = schema.get("type", [])
    for name in [types] if isinstance(types, str) else types:
        if name not in _TYPES:
            raise ValueError(f"{where}: unknown type {name!r}")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{where}.properties.{name}")
    for key in ("additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            check_schema(schema[key], f"{where}.{key}")


def load_schemas(path: Path = SCHEMAS_FILE) -> dict[str, dict[str, Any]]:
    """``{kind: schema}``, each checked with ``check_schema``."""
    schemas = json.loads(path.read_text(encoding="utf-8"))
    for kind, schema in schemas.items():
        check_schema(schema, f"{path.name}: {kind}")
    return schemas


def _describe(schema: dict[str, Any]) -> str:
    """The rule a value broke, from the schema (never the value)."""
    parts = []
    if "type" in schema:
        types = schema["type"]
        parts.append(" or ".join([types] if isinstance(types, str) else types))
    if "enum" in schema:
        parts.append(f"one of {schema['enum']}")
    if "pattern" in schema:
        parts.append(f"matching {schema['pattern']}")
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"in [{schema.get('minimum', '-inf')}, {schema.get('maximum', 'inf')}]")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']} characters")
    return "must be " + ", ".join(parts) if parts else "is not allowed"


def validate(value: Any, schema: dict[str, Any], field: str = "conf") -> None:
    """Raise ``ConfError`` at the first place ``value`` breaks ``schema``."""
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(_TYPES[name](value) for name in names):
            raise ConfError(field, _describe(schema))
    if "enum" in schema and value not in schema["enum"]:
        raise ConfError(field, _describe(schema))
    if isinstance(value, str):
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            raise ConfError(field, _describe(schema))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ConfError(field, _describe(schema))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise ConfError(field, _describe(schema))
        if "maximum" in schema and value > schema["maximum"]:
            raise ConfError(field, _describe(schema))
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key in sorted(value, key=str):
            where = f"{field}.{key}"
            if names is not None:
                try:
                    validate(key, names, where)
                except ConfError:
                    raise ConfError(where, "is not an allowed name here") from None
            if key in properties:
                validate(value[key], properties[key], where)
            elif extra is False:
                known = ", ".join(sorted(properties)) or "none"
                raise ConfError(where, f"is not a param of this DAG (known: {known})")
            elif isinstance(extra, dict):
                validate(value[key], extra, where)


def validate_conf(dag_id: str, conf: dict[str, Any], schemas: dict[str, dict[str, Any]]) -> None:
    """Check ``conf`` against the schema of ``dag_id``'s kind (``<kind>__...``); a DAG id of no
    known kind (an allowlist may hold others) is not checked here (Airflow's Params still are)."""
    kind = dag_id.split("__", 1)[0]
    if kind in schemas and "__" in dag_id:
        validate(conf, schemas[kind])
