"""Write the Usage, Inputs and Outputs sections of terraform/modules/*/README.md from the modules'
variables.tf and outputs.tf (what terraform-docs does; it ships as a Go binary, not on PyPI).

    .venv/bin/python terraform/tools/module_readme.py           # rewrite the READMEs
    .venv/bin/python terraform/tools/module_readme.py --check   # exit 1 if one is out of date

Everything above "## Usage" in a README is hand-written and kept as it is.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import hcl2
from hcl2.utils import SerializationOptions

MODULES = Path(__file__).resolve().parents[1] / "modules"
GENERATED_FROM = "## Usage"
_OPTIONS = SerializationOptions(
    strip_string_quotes=True, with_comments=False, explicit_blocks=False
)


def _blocks(path: Path, kind: str) -> list[tuple[str, dict]]:
    parsed = hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=_OPTIONS)
    return [(name, body) for entry in parsed.get(kind, []) for name, body in entry.items()]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type(value: str) -> str:
    text = str(value).removeprefix("${").removesuffix("}")
    return "object (see variables.tf)" if len(text) > 60 else text


def generated_sections(module: Path) -> str:
    """The Usage, Inputs and Outputs sections of one module's README."""
    variables = _blocks(module / "variables.tf", "variable")
    required = [name for name, body in variables if "default" not in body]
    lines = [
        GENERATED_FROM,
        "",
        "```hcl",
        f'module "{module.name}" {{',
        f'  source = "../{module.name}"',
    ]
    if required:
        lines.append("")
        width = max(len(name) for name in required)
        lines += [f"  {name.ljust(width)} = ..." for name in required]
    lines += ["}", "```", "", "## Inputs", "", "| Name | Description | Type | Default | Required |"]
    lines.append("|---|---|---|---|:-:|")
    for name, body in variables:
        has_default = "default" in body
        default = f"`{json.dumps(body['default'])}`" if has_default else "n/a"
        lines.append(
            f"| `{name}` | {_cell(body.get('description', ''))} | `{_cell(_type(body['type']))}` "
            f"| {_cell(default)} | {'no' if has_default else 'yes'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|---|---|"]
    for name, body in _blocks(module / "outputs.tf", "output"):
        lines.append(f"| `{name}` | {_cell(body.get('description', ''))} |")
    return "\n".join(lines) + "\n"


def expected_readme(module: Path) -> str:
    """The README with its hand-written head and freshly generated sections."""
    readme = module / "README.md"
    current = readme.read_text(encoding="utf-8") if readme.exists() else f"# {module.name}\n\n"
    head = current.split(GENERATED_FROM, 1)[0]
    return head.rstrip("\n") + "\n\n" + generated_sections(module)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="report out-of-date READMEs, write nothing"
    )
    args = parser.parse_args(argv)
    stale = []
    for module in sorted(p for p in MODULES.iterdir() if (p / "variables.tf").exists()):
        expected = expected_readme(module)
        readme = module / "README.md"
        if not readme.exists() or readme.read_text(encoding="utf-8") != expected:
            stale.append(readme)
            if not args.check:
                readme.write_text(expected, encoding="utf-8")
    for readme in stale:
        verb = "out of date" if args.check else "rewritten"
        print(f"{readme.relative_to(MODULES.parents[1])}: {verb}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
