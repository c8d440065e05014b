"""The evaluate job's report.html: confusion matrices with titled axes in the picture, and the
marked regions the evaluate DAG fills after deciding (header first, data checks after the test
and golden sets). Run through the real ``evaluate`` entrypoint on small hand-written answers."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from tests.support.images import run_entrypoint

# The report module of the processing image, by path: the images' packages other than ml_common
# are not installed in the test environment (the entrypoints run with their own PYTHONPATH).
_REPORT = Path(__file__).parents[2] / "docker/processing/src/ml_processing/report.py"
_spec = importlib.util.spec_from_file_location("_processing_report", _REPORT)
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)

LABELS = ["DE-1", "DE-2", "DE-3"]
ITEMS = [(f"i-{n:03d}", LABELS[n % 3]) for n in range(30)]


def _write_lines(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> str:
    opt_ml = tmp_path_factory.mktemp("evaluate-report") / "opt" / "ml"
    inputs = opt_ml / "processing" / "input"
    _write_lines(inputs / "labels" / "labels.jsonl", [{"item_id": i, "label": y} for i, y in ITEMS])
    for role, wrong in (("challenger", {0, 4}), ("champion", {1, 2, 5, 7})):
        answers = [
            {"item_id": i, "label": LABELS[(LABELS.index(y) + 1) % 3] if n in wrong else y}
            for n, (i, y) in enumerate(ITEMS)
        ]
        _write_lines(inputs / role / "features.jsonl.out", answers)
        _write_lines(inputs / f"golden_{role}" / "features.jsonl.out", answers)
    _write_lines(
        inputs / "golden_labels" / "labels.jsonl", [{"item_id": i, "label": y} for i, y in ITEMS]
    )
    result = run_entrypoint("processing", "ml_processing.evaluate", opt_ml, {"COUNTRY": "de"})
    assert result.returncode == 0, result.stderr
    return (opt_ml / "processing" / "output" / "evaluation" / "report.html").read_text()


def _svg_texts(html: str) -> list[str]:
    """The visible text elements of the pictures (not their <title> tooltips)."""
    return re.findall(r"<text[^>]*>([^<]*)</text>", html)


def test_every_confusion_matrix_titles_its_axes_in_the_picture(html):
    matrices = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    confusion = [svg for svg in matrices if "Confusion matrix" in svg]
    assert len(confusion) == 2
    for svg in confusion:
        texts = _svg_texts(svg)
        assert texts.count(report.TRUE_AXIS) == 1
        assert texts.count(report.PREDICTED_AXIS) == 1


def test_the_header_region_comes_first_and_names_the_country(html):
    body = html.split("<body>", 1)[1]
    assert body.lstrip().startswith(report.HEADER_BEGIN)
    header = body.split(report.HEADER_BEGIN, 1)[1].split(report.HEADER_END, 1)[0]
    assert "Evaluation — de" in header
    assert "Decision pending" in header


def test_the_data_checks_region_follows_the_test_set_and_precedes_the_charts(html):
    test_set = html.index("<h2>Test set</h2>")
    begin, end = html.index(report.CHECKS_BEGIN), html.index(report.CHECKS_END)
    assert html.index(report.HEADER_END) < test_set < begin < end < html.index("<svg")
    assert html.count(report.CHECKS_BEGIN) == html.count(report.HEADER_BEGIN) == 1
