"""Reading terraform/ for the tests: the parsed .tf files (python-hcl2), the one deployment root
and its environments. Formatting is checked by HCL's own formatter (terraform/tools/hcl_format.mjs).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import hcl2
from hcl2.utils import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULES = TERRAFORM / "modules"
# One root for every environment: each has env/<name>.tfvars and env/<name>.backend.hcl there.
DEPLOY = TERRAFORM / "deploy"
ENVIRONMENTS = sorted(p.name.removesuffix(".tfvars") for p in (DEPLOY / "env").glob("*.tfvars"))
HCL_FORMAT = TERRAFORM / "tools" / "hcl_format.mjs"

_OPTIONS = SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
)


def tf_files() -> list[Path]:
    """Every .tf file under terraform/, skipping Terraform's own .terraform caches."""
    return sorted(p for p in TERRAFORM.rglob("*.tf") if ".terraform" not in p.parts)


@cache
def parse(path: Path) -> dict:
    """The file as python-hcl2 reads it, with string quotes stripped."""
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=_OPTIONS)


_BLOCK_OPTIONS = SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=True
)


def loads_with_blocks(text: str) -> dict:
    """HCL as python-hcl2 reads it, each block body marked ``"__is_block__": True`` (so a block
    and an argument holding an object or a list of objects can be told apart)."""
    return hcl2.loads(text, serialization_options=_BLOCK_OPTIONS)


@cache
def parse_with_blocks(path: Path) -> dict:
    """The file as :func:`loads_with_blocks` reads it."""
    return loads_with_blocks(path.read_text(encoding="utf-8"))


def labelled_blocks(path: Path, kind: str) -> Iterator[tuple[str, str, dict]]:
    """(type, name, body) of each `resource` or `data` block of a file."""
    for entry in parse(path).get(kind, []):
        for type_, named in entry.items():
            for name, body in named.items():
                yield type_, name, body


def named_blocks(path: Path, kind: str) -> Iterator[tuple[str, dict]]:
    """(name, body) of each `variable`, `output` or `module` block of a file."""
    for entry in parse(path).get(kind, []):
        yield from entry.items()


def all_labelled_blocks(kind: str, type_: str) -> list[tuple[Path, str, dict]]:
    """Every `kind` block of type `type_` across terraform/, as (file, name, body)."""
    return [
        (path, name, body)
        for path in tf_files()
        for t, name, body in labelled_blocks(path, kind)
        if t == type_
    ]


def as_list(value) -> list:
    """Blocks and repeated arguments come back as a dict or a list of dicts: always a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def variable_default(module: str, variable: str):
    """Default of a variable of terraform/modules/<module>/variables.tf."""
    for name, body in named_blocks(MODULES / module / "variables.tf", "variable"):
        if name == variable:
            return body.get("default")
    raise KeyError(f"terraform/modules/{module}/variables.tf has no variable {variable!r}")


def hcl_format_check(*paths: Path) -> subprocess.CompletedProcess:
    """``node terraform/tools/hcl_format.mjs --check [paths]``: hclwrite's verdict on the files
    (all of terraform/ without paths). Fails the test when node or the npm package is missing."""
    node = shutil.which("node")
    if node is None or not (TERRAFORM / "tools" / "node_modules" / "@cdktf" / "hcl-tools").is_dir():
        raise AssertionError(
            "the HCL formatter is not installed: run `make node-tools` (npm ci in terraform/tools)"
        )
    return subprocess.run(
        [node, str(HCL_FORMAT), "--check", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
