"""scripts/changed_countries.py: which countries CI's train stage starts for a change."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "changed_countries.py"
spec = importlib.util.spec_from_file_location("changed_countries", SCRIPT)
changed_countries = importlib.util.module_from_spec(spec)
spec.loader.exec_module(changed_countries)

BASE = """
countries:
  - code: de
    code_table_version: "2026-01"
  - code: fr
    code_table_version: "2026-01"
  - code: it
    code_table_version: "2026-01"
    enabled: false
"""


def test_a_country_whose_entry_changed_is_touched():
    head = BASE.replace(
        'code: fr\n    code_table_version: "2026-01"', 'code: fr\n    code_table_version: "2026-02"'
    )
    assert changed_countries.touched_countries(BASE, head, ["include/config/countries.yaml"]) == [
        "fr"
    ]


def test_a_new_country_is_touched_and_a_disabled_one_never():
    head = (
        BASE.replace("enabled: false", "enabled: false\n    owner: x")
        + "  - code: es\n    code_table_version: '2026-01'\n"
    )
    assert changed_countries.touched_countries(BASE, head, ["include/config/countries.yaml"]) == [
        "es"
    ]


def test_a_change_to_the_training_image_touches_every_enabled_country():
    touched = changed_countries.touched_countries(
        BASE, BASE, ["docker/training/src/ml_training/train.py"]
    )
    assert touched == ["de", "fr"]


def test_a_change_elsewhere_touches_no_country():
    assert (
        changed_countries.touched_countries(BASE, BASE, ["README.md", "terraform/envs/dev/main.tf"])
        == []
    )
