#!/usr/bin/env python3
"""Print the enabled countries a git change touches (for CI's train stage), space-separated.

A country is touched when its entry in the countries file is new or differs between BASE and
HEAD; every enabled country is touched when code that all models share changed (the training
or processing image, the library, the train DAG). Needs git and PyYAML.

    python scripts/changed_countries.py --base "$CI_COMMIT_BEFORE_SHA"
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

import yaml

COUNTRIES_FILE = "include/config/countries.yaml"
# A change under any of these can change every country's model.
SHARED_PREFIXES = (
    "docker/common/",
    "docker/processing/",
    "docker/training/",
    "plugins/mlops/sagemaker_requests.py",
    "dags/train.py",
)
NO_COMMIT = "0" * 40


def countries_by_code(text: str | None) -> dict[str, dict[str, Any]]:
    if not text:
        return {}
    document = yaml.safe_load(text) or {}
    return {str(entry["code"]): entry for entry in document.get("countries", [])}


def touched_countries(
    base_text: str | None, head_text: str | None, changed_paths: list[str]
) -> list[str]:
    """Enabled countries whose entry changed, or all enabled ones when shared code changed."""
    base, head = countries_by_code(base_text), countries_by_code(head_text)
    enabled = [code for code, entry in head.items() if entry.get("enabled", True)]
    if any(path.startswith(SHARED_PREFIXES) for path in changed_paths):
        return sorted(enabled)
    return sorted(code for code in enabled if base.get(code) != head[code])


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def file_at(revision: str, path: str) -> str | None:
    shown = _git("show", f"{revision}:{path}")
    return shown.stdout if shown.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base", default="", help="the revision before the change (HEAD~1 if unset)"
    )
    parser.add_argument("--head", default="HEAD")
    parser.add_argument("--countries-file", default=COUNTRIES_FILE)
    args = parser.parse_args(argv)
    base = args.base if args.base and args.base != NO_COMMIT else f"{args.head}~1"
    diff = _git("diff", "--name-only", base, args.head)
    if diff.returncode != 0:
        print(
            f"changed_countries: git diff {base} {args.head}: {diff.stderr.strip()}",
            file=sys.stderr,
        )
        return 2
    print(
        " ".join(
            touched_countries(
                file_at(base, args.countries_file),
                file_at(args.head, args.countries_file),
                diff.stdout.split(),
            )
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
