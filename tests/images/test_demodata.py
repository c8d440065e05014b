"""The demo data generator: deterministic catalogs in the data bucket's layout."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tracemalloc
from collections import Counter

import pytest
from ml_common.records import field_error

from local.demodata import (
    code_table,
    generate_month,
    generate_scenario,
    iter_products,
    model_keys,
    split_model_key,
)
from tests.support.images import REPO

# sha256 (first 16 hex) of 300 records per country and month, as generated before the
# batteries scheme was added: a further scheme must not move a country's own catalog.
COUNTRY_CATALOG_DIGESTS = {
    ("de", "2026-10"): "34f7d4549de54134",
    ("de", "2026-11"): "1fc18c8906181197",
    ("fr", "2026-10"): "e49d3c894c849ba7",
    ("fr", "2026-11"): "3dd99774728dc1b6",
    ("gb", "2026-10"): "6f068c2626ec4818",
    ("gb", "2026-11"): "500f1fa569fac0cb",
}


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


@pytest.mark.parametrize(("country", "month"), sorted(COUNTRY_CATALOG_DIGESTS))
def test_country_catalogs_are_what_they_were_before_schemes(country, month):
    records = json.dumps(
        list(iter_products(country, month, 300)), ensure_ascii=False, sort_keys=True
    )
    digest = hashlib.sha256(records.encode()).hexdigest()[:16]
    assert digest == COUNTRY_CATALOG_DIGESTS[(country, month)]


# ---- DE batteries: a second scheme of one country -----------------------------------------------


def test_model_keys_name_the_batteries_scheme_and_split_back():
    assert model_keys() == ["de", "de-batteries", "fr", "gb"]
    assert split_model_key("de-batteries") == ("de", "batteries")
    assert split_model_key("gb") == ("gb", None)
    with pytest.raises(ValueError, match="country 'fr', scheme 'batteries': no demo catalog"):
        split_model_key("fr-batteries")


def test_batteries_month_writes_under_the_scheme_prefix_only(tmp_path):
    summary = generate_month(tmp_path, "de", "2026-10", 200, scheme="batteries", unlabeled_items=30)
    assert (summary.country, summary.scheme, summary.code_table_version) == (
        "de",
        "batteries",
        "v1",
    )
    assert sorted(summary.files) == [
        "de/batteries/2026-10/labeled/part-00000.jsonl",
        "de/batteries/2026-10/unlabeled/part-00000.jsonl",
        "de/batteries/code_tables/v1.json",
        "de/batteries/golden/v1/features.jsonl",
        "de/batteries/golden/v1/labels.jsonl",
        "de/batteries/golden/v1/manifest.json",
    ]
    assert sorted(p.name for p in (tmp_path / "de").iterdir()) == ["batteries"]
    table = json.loads((tmp_path / "de" / "batteries" / "code_tables" / "v1.json").read_text())
    assert (table["country"], table["scheme"], table["version"]) == ("de", "batteries", "v1")
    assert {c["code"] for c in table["codes"]} == {"DE-BAT-GER", "DE-BAT-SLI", "DE-BAT-IND"}
    assert sum(summary.label_counts.values()) == 200


def test_a_custom_prefix_moves_the_whole_month(tmp_path):
    summary = generate_month(
        tmp_path, "de", "2026-10", 20, scheme="batteries", prefix="/eu/batt/", unlabeled_items=0
    )
    assert sorted(summary.files) == [
        "eu/batt/2026-10/labeled/part-00000.jsonl",
        "eu/batt/code_tables/v1.json",
        "eu/batt/golden/v1/features.jsonl",
        "eu/batt/golden/v1/labels.jsonl",
        "eu/batt/golden/v1/manifest.json",
    ]


@pytest.mark.parametrize(("month", "version"), [("2026-10", "v1"), ("2026-11", "v2")])
def test_every_battery_code_is_used_and_every_record_is_a_valid_product(month, version):
    codes = {c["code"] for c in code_table("de", version, "batteries")["codes"]}
    records = list(iter_products("de", month, 800, scheme="batteries", label_noise=0.0))
    assert all(field_error(r, require_label=True) is None for r in records)
    assert {r["label"] for r in records} == codes
    assert all(r["item_id"].startswith(f"de-batteries-{month.replace('-', '')}-L") for r in records)
    assert all(r["battery"] and r["screen_size_in"] is None for r in records)


def test_batteries_are_seeded_like_the_countries_and_apart_from_them():
    first = list(iter_products("de", "2026-10", 200, scheme="batteries", seed=3))
    assert first == list(iter_products("de", "2026-10", 200, scheme="batteries", seed=3))
    assert first != list(iter_products("de", "2026-10", 200, scheme="batteries", seed=4))
    titles = {r["title"] for r in iter_products("de", "2026-10", 200, seed=3)}
    assert not titles & {r["title"] for r in first}


def test_regulation_change_gives_e_bikes_and_electric_cars_codes_of_their_own():
    def labels(month, word):
        return {
            r["label"]
            for r in iter_products("de", month, 3000, scheme="batteries", label_noise=0.0)
            if word in r["description"]
        }

    assert labels("2026-10", "Pedelec") == {"DE-BAT-IND"}
    assert labels("2026-11", "Pedelec") == {"DE-BAT-LMT"}
    assert labels("2026-10", "Hochvolt") == {"DE-BAT-IND"}
    assert labels("2026-11", "Hochvolt") == {"DE-BAT-EV"}


def test_the_scenario_holds_every_model_and_month(tmp_path):
    summaries = generate_scenario(tmp_path, items=10)
    assert [(s.country, s.scheme, s.month) for s in summaries] == [
        (cc, scheme, month)
        for cc, scheme in [("de", None), ("de", "batteries"), ("fr", None), ("gb", None)]
        for month in ("2026-10", "2026-11")
    ]


def _battery_texts(month, items, seed):
    records = list(iter_products("de", month, items, scheme="batteries", seed=seed))
    return [f"{r['title']} {r['description']} {r['power_source']}" for r in records], [
        r["label"] for r in records
    ]


def test_batteries_are_learnable_and_the_regulation_change_hurts_a_month_1_model():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline

    def fit(month):
        texts, labels = _battery_texts(month, 2000, seed=1)
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2)), LogisticRegression(max_iter=500))
        return model.fit(texts, labels)

    month_1, month_2 = fit("2026-10"), fit("2026-11")
    test_1, truth_1 = _battery_texts("2026-10", 600, seed=2)
    test_2, truth_2 = _battery_texts("2026-11", 600, seed=2)
    assert f1_score(truth_1, month_1.predict(test_1), average="macro") >= 0.9
    retrained = f1_score(truth_2, month_2.predict(test_2), average="macro")
    stale = f1_score(truth_2, month_1.predict(test_2), average="macro")
    assert retrained >= 0.9
    assert retrained - stale >= 0.15, (retrained, stale)


def test_cli_writes_a_scheme_month_next_to_a_country(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "local.demodata", "--country", "de", "--model", "de-batteries"]
        + ["--month", "2026-11", "--items", "50", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    summaries = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(s["country"], s["scheme"]) for s in summaries] == [("de", None), ("de", "batteries")]
    assert (tmp_path / "de" / "2026-11" / "labeled" / "part-00000.jsonl").exists()
    assert (tmp_path / "de" / "batteries" / "2026-11" / "labeled" / "part-00000.jsonl").exists()
    assert (tmp_path / "de" / "batteries" / "code_tables" / "v2.json").exists()


def test_cli_needs_a_country_or_a_model(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "local.demodata", "--month", "2026-10", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "name at least one --country or --model" in result.stderr
