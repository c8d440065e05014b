"""The demo data generator: deterministic catalogs in the data bucket's layout."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from collections import Counter

import pytest
from ml_common.records import field_error

from local.demodata import code_table, generate_month, iter_products
from tests.support.images import REPO


def test_same_seed_same_catalog_and_another_seed_another(tmp_path):
    first = list(iter_products("fr", "2026-10", 300, seed=3))
    assert first == list(iter_products("fr", "2026-10", 300, seed=3))
    assert first != list(iter_products("fr", "2026-10", 300, seed=4))


def test_generation_is_stable_across_interpreters():
    code = "from local.demodata import iter_products; print(list(iter_products('de','2026-10',50)))"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(runs) == 1


@pytest.mark.parametrize("country", ["de", "fr", "gb"])
def test_every_record_is_a_valid_labeled_product_with_a_code_from_the_country_table(country):
    codes = {c["code"] for c in code_table(country, "v1")["codes"]}
    for record in iter_products(country, "2026-10", 500, regulation_change_from=None):
        assert field_error(record, require_label=True) is None, record
        assert record["label"] in codes


def test_titles_are_in_the_country_language():
    def words(country):
        return " ".join(r["description"] for r in iter_products(country, "2026-10", 400))

    assert "mit" in words("de").split()
    assert "avec" in words("fr").split()
    assert "with" in words("gb").split()


def test_label_noise_is_about_the_requested_share():
    clean = list(iter_products("gb", "2026-10", 4000, label_noise=0.0))
    noisy = list(iter_products("gb", "2026-10", 4000, label_noise=0.1))
    changed = sum(a["label"] != b["label"] for a, b in zip(clean, noisy, strict=True))
    assert 0.07 * 4000 < changed < 0.13 * 4000


def test_month_writes_the_documented_layout(tmp_path):
    summary = generate_month(tmp_path, "de", "2026-10", 250, unlabeled_items=40)
    assert summary.code_table_version == "v1"
    table = json.loads((tmp_path / "de" / "code_tables" / "v1.json").read_text())
    assert {"code", "description"} == set(table["codes"][0])
    labeled = (
        (tmp_path / "de" / "2026-10" / "labeled" / "part-00000.jsonl").read_text().splitlines()
    )
    unlabeled = (tmp_path / "de" / "2026-10" / "unlabeled" / "part-00000.jsonl").read_text()
    assert len(labeled) == 250
    assert len(unlabeled.splitlines()) == 40 and '"label"' not in unlabeled
    assert sum(summary.label_counts.values()) == 250


def test_large_months_stream_into_parts_without_holding_records(tmp_path):
    tracemalloc.start()
    summary = generate_month(tmp_path, "gb", "2026-10", 6_000, unlabeled_items=0, part_size=2_000)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    parts = sorted((tmp_path / "gb" / "2026-10" / "labeled").glob("part-*.jsonl"))
    assert [p.name for p in parts] == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl"]
    assert summary.labeled_items == 6_000
    assert peak < 2_000_000  # bytes: a few records at a time, not 6k of them (~3 MB)


def test_regulation_change_month_uses_code_table_v2_with_remapped_types(tmp_path):
    before = generate_month(tmp_path, "de", "2026-10", 10, regulation_change_from="2026-11")
    after = generate_month(tmp_path, "de", "2026-11", 10, regulation_change_from="2026-11")
    assert (before.code_table_version, after.code_table_version) == ("v1", "v2")
    v1 = {c["code"] for c in code_table("de", "v1")["codes"]}
    v2 = {c["code"] for c in code_table("de", "v2")["codes"]}
    assert v2 - v1, "the change introduces new codes"


def test_regulation_change_moves_power_banks_to_a_new_code():
    def power_bank_labels(month):
        return Counter(
            r["label"]
            for r in iter_products(
                "de", month, 2000, label_noise=0.0, regulation_change_from="2026-11"
            )
            if r["title"].split()[1:2] == ["Powerbank"]
        )

    assert set(power_bank_labels("2026-10")) == {"DE-ELG-6"}
    assert set(power_bank_labels("2026-11")) == {"DE-BATT-LMT"}


def test_cli_writes_a_month_and_reports_it(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "local.demodata",
            "--country",
            "fr",
            "--month",
            "2026-11",
            "--items",
            "120",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(result.stdout)
    assert summary["country"] == "fr" and summary["code_table_version"] == "v2"
    assert (tmp_path / "fr" / "2026-11" / "labeled" / "part-00000.jsonl").exists()


def test_cli_rejects_a_malformed_month(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "local.demodata",
            "--country",
            "de",
            "--month",
            "2026-13",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "month '2026-13': expected YYYY-MM" in result.stderr
