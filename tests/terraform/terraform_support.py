"""Reading terraform/ for the tests: parsed .tf files (python-hcl2) and the layout check.

The layout check stands in for `terraform fmt -check`, which cannot run here (no terraform
binary); python-hcl2's own formatter fails on conditional expressions, so the rules are written
out below. What it enforces, per line of every .tf file:
  - UTF-8, LF line endings, no tabs, no trailing whitespace, exactly one final newline;
  - no two blank lines in a row;
  - indentation of 2 spaces per nesting level, where a line that opens brackets ({ [ () adds one
    level and a line that starts with a closing bracket is indented one level less.
Aligned `=` signs (as terraform fmt writes them) are welcome but not required.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

import hcl2
from hcl2.utils import SerializationOptions

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULES = TERRAFORM / "modules"
ENV_ROOTS = sorted(p for p in (TERRAFORM / "envs").iterdir() if p.is_dir())
INDENT = 2

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


_OPENERS, _CLOSERS = "{[(", "}])"


def _code_only(line: str) -> str:
    """The line without its comment and without the contents of its strings (which may hold
    brackets, # and ${...} interpolations with strings of their own)."""
    code: list[str] = []
    stack: list[str] = []  # "string" or "interpolation", innermost last
    braces: list[int] = []  # open { inside each interpolation
    i = 0
    while i < len(line):
        char = line[i]
        if stack and stack[-1] == "string":
            if char == "\\":
                i += 1
            elif char == '"':
                stack.pop()
            elif line.startswith("${", i):
                stack.append("interpolation")
                braces.append(0)
                i += 1
        elif char == '"':
            stack.append("string")
        elif stack:  # inside an interpolation
            if char == "{":
                braces[-1] += 1
            elif char == "}":
                if braces[-1] == 0:
                    stack.pop()
                    braces.pop()
                else:
                    braces[-1] -= 1
        elif char == "#" or line.startswith("//", i):
            break
        else:
            code.append(char)
        i += 1
    return "".join(code).strip()


def layout_problems(text: str) -> list[str]:
    """Every break of the layout rules above, as 'line N: what'."""
    problems: list[str] = []
    if "\r" in text:
        problems.append("file: CR line endings (use LF)")
    if not text.endswith("\n") or text.endswith("\n\n"):
        problems.append("file: must end with exactly one newline")
    depth = 0
    previous_blank = False
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        if "\t" in line:
            problems.append(f"line {number}: tab character")
        if line != line.rstrip():
            problems.append(f"line {number}: trailing whitespace")
        stripped = line.strip()
        if not stripped:
            if previous_blank:
                problems.append(f"line {number}: two blank lines in a row")
            previous_blank = True
            continue
        previous_blank = False
        code = _code_only(stripped)
        opens = sum(code.count(c) for c in _OPENERS)
        closes = sum(code.count(c) for c in _CLOSERS)
        expected = depth - 1 if code and code[0] in _CLOSERS else depth
        indent = len(line) - len(line.lstrip(" "))
        if indent != expected * INDENT:
            problems.append(
                f"line {number}: indented {indent} spaces, expected {expected * INDENT}"
            )
        if opens > closes:
            depth += 1
        elif closes > opens:
            depth -= 1
    if depth != 0:
        problems.append(f"file: brackets do not balance (depth {depth} at the end)")
    return problems
