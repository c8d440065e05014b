"""The evaluation report's region markers are a contract between the processing image (which
writes them) and the Airflow side (which fills them): the two cannot import each other, so each
defines the markers, and this test holds the two definitions and the documented ones equal."""

import ast
from pathlib import Path

from mlops import evaluation_report

REPO = Path(__file__).resolve().parents[2]
IMAGE_REPORT = REPO / "docker" / "processing" / "src" / "ml_processing" / "report.py"
NAMES = ("HEADER_BEGIN", "HEADER_END", "CHECKS_BEGIN", "CHECKS_END")


def _module_constants(path: Path) -> dict[str, str]:
    """The string constants a module assigns at its top level (`A = "x"`, `A, B = "x", "y"`)."""
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for name, value in zip(names, values, strict=False):
                if isinstance(name, ast.Name) and isinstance(value, ast.Constant):
                    found[name.id] = value.value
    return found


def test_the_image_writes_the_markers_the_airflow_side_fills():
    image = _module_constants(IMAGE_REPORT)
    for name in NAMES:
        assert name in image, f"{IMAGE_REPORT}: no {name}"
        assert image[name] == getattr(evaluation_report, name), name


def test_the_markers_are_documented_as_the_interface():
    interfaces = (REPO / "docs" / "interfaces.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert getattr(evaluation_report, name) in interfaces, name
