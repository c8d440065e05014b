"""What the demo uploads before any month lands (``LocalEnvironment(upload=False)``, the demo and
the loop test): each model's code tables and golden sets, never a month's data."""

from __future__ import annotations

from local.demodata import generate_month
from local.pipeline import _reference_data


def test_the_demo_uploads_the_golden_sets_with_the_code_tables_and_no_month(tmp_path):
    for month in ("2026-10", "2026-11"):
        generate_month(tmp_path, "de", month, 5, unlabeled_items=2)
        generate_month(tmp_path, "de", month, 5, scheme="batteries", unlabeled_items=2)
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    uploaded = {p.as_posix() for p in files if _reference_data(p)}
    assert uploaded == {
        f"{prefix}/{kind}"
        for prefix in ("de", "de/batteries")
        for version in ("v1", "v2")
        for kind in (
            f"code_tables/{version}.json",
            f"golden/{version}/features.jsonl",
            f"golden/{version}/labels.jsonl",
            f"golden/{version}/manifest.json",
        )
    }
