"""checkov (its own environment, .venv-checkov) finds no failed check in terraform/.

It runs offline: no policy download (--skip-download, BC_SKIP_MAPPING), no version check (see
_ENV), terraform framework only (so no SCA package scan), external modules not downloaded. A skip is
allowed only inline (#checkov:skip=ID:reason, see test_terraform_security)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support.terraform import REPO, TERRAFORM

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
_ENV = {
    "BC_SKIP_MAPPING": "TRUE",  # no download of the check-ID mapping
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",  # no query of PyPI for a newer checkov
}


@pytest.fixture(scope="module")
def checkov_report() -> dict:
    if not CHECKOV.exists():
        pytest.fail(
            "checkov is not installed: run `make venv-checkov` (a prerequisite of `make test`)"
        )
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(TERRAFORM),
            "--framework",
            "terraform",
            "--skip-download",
            "--download-external-modules",
            "false",
            "--skip-path",
            r"\.terraform/",  # provider and module caches of a local `terraform init`
            "--output",
            "json",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **_ENV},
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), f"checkov crashed:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    assert isinstance(report, dict), "expected a single (terraform) report"
    return report


def test_checkov_parses_every_file(checkov_report):
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100


def test_checkov_finds_no_failed_check(checkov_report):
    summary = checkov_report["summary"]
    print(
        f"checkov {summary['checkov_version']}: Passed checks: {summary['passed']}, "
        f"Failed checks: {summary['failed']}, Skipped checks: {summary['skipped']}"
    )
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]})"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert failed == []


def test_every_skipped_check_was_skipped_inline_with_a_reason(checkov_report):
    for check in checkov_report["results"]["skipped_checks"]:
        suppress = check.get("check_result", {}).get("suppress_comment", "")
        assert len(suppress.strip()) >= 20, (
            f"{check['check_id']} on {check['resource']} skipped without a reason"
        )
