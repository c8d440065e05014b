#!/usr/bin/env python3
"""Print the enabled models a git change touches (for CI's train stage), space-separated.

Each model is printed as its DAG id suffix: ``de`` for a country's default model (``train__de``),
``de__batteries`` for a scheme's (``train__de__batteries``). A model is touched when what
defines it in the countries file is new or differs between BASE and HEAD — for a scheme, its own
entry and the country entry it inherits from; every enabled model is touched when code that all
models share changed (the training or processing image, the library, the train DAG). Needs git
and PyYAML.

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


def models_by_suffix(text: str | None) -> dict[str, tuple[bool, Any]]:
    """DAG id suffix → (enabled, what defines the model) for every model of a countries file.

    A scheme's model is defined by its country's entry (which it inherits) and its own entry;
    whether it is enabled follows the file's rule: its own ``enabled``, else the country's.
    """
    if not text:
        return {}
    document = yaml.safe_load(text) or {}
    models: dict[str, tuple[bool, Any]] = {}
    for entry in document.get("countries", []):
        code = str(entry["code"])
        country = {key: value for key, value in entry.items() if key != "schemes"}
        enabled = bool(country.get("enabled", True))
        models[code] = (enabled, country)
        for scheme, overrides in (entry.get("schemes") or {}).items():
            scheme_enabled = bool((overrides or {}).get("enabled", enabled))
            models[f"{code}__{scheme}"] = (scheme_enabled, (country, overrides))
    return models


def touched_countries(
    base_text: str | None, head_text: str | None, changed_paths: list[str]
) -> list[str]:
    """Enabled models whose definition changed, or all enabled ones when shared code changed."""
    base, head = models_by_suffix(base_text), models_by_suffix(head_text)
    enabled = [suffix for suffix, (on, _) in head.items() if on]
    if any(path.startswith(SHARED_PREFIXES) for path in changed_paths):
        return sorted(enabled)
    return sorted(
        suffix for suffix in enabled if suffix not in base or base[suffix][1] != head[suffix][1]
    )


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
