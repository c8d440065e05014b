"""A self-contained HTML evaluation report with inline SVG plots.

Hand-written SVG instead of matplotlib: two simple charts do not justify a plotting stack (and its
font cache) in the processing image, and inline SVG keeps the report a single file.
"""

from __future__ import annotations

from html import escape
from typing import Any

CELL = 28
PALETTE = ("#2b6cb0", "#dd6b20")  # challenger, champion
TRUE_AXIS, PREDICTED_AXIS = "true label", "predicted label"

# The regions the Airflow side fills in once it has decided (mlops.evaluation_report, see
# docs/interfaces.md): the decision header at the top, the data checks (gates, drift) below the
# golden set. This job cannot fill them: the decision is made after it, by the evaluate DAG.
HEADER_BEGIN, HEADER_END = "<!-- mlops:header:begin -->", "<!-- mlops:header:end -->"
CHECKS_BEGIN, CHECKS_END = "<!-- mlops:checks:begin -->", "<!-- mlops:checks:end -->"


def _shade(fraction: float) -> str:
    level = int(255 - 200 * max(0.0, min(1.0, fraction)))
    return f"rgb({level},{level + (255 - level) // 3},255)"


AXIS = 18  # the band that holds an axis title ("true label", "predicted label")


def heatmap_svg(title: str, labels: list[str], matrix: list[list[int]]) -> str:
    """Confusion matrix, rows = true label, columns = predicted; colour = share of the row.

    The axes are titled in the picture itself ("true label" down the left, "predicted label"
    across the top), not only in the cells' tooltips.
    """
    n = len(labels)
    margin = 12 + 7 * max((len(label) for label in labels), default=4)
    left = AXIS + margin
    top = 30 + AXIS + margin
    grid = CELL * n
    width, height = left + grid + 20, top + grid + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<text x="{left + grid / 2}" y="{30 + AXIS - 6}" font-size="11" font-style="italic" '
        f'text-anchor="middle">{PREDICTED_AXIS}</text>',
        f'<text x="{AXIS - 6}" y="{top + grid / 2}" font-size="11" font-style="italic" '
        f'text-anchor="middle" transform="rotate(-90 {AXIS - 6} {top + grid / 2})">'
        f"{TRUE_AXIS}</text>",
    ]
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        parts.append(
            f'<text x="{left - 4}" y="{top + CELL * i + CELL * 0.65}" font-size="10" '
            f'text-anchor="end">{escape(labels[i])}</text>'
        )
        for j, count in enumerate(row):
            x, y = left + CELL * j, top + CELL * i
            parts.append(
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" '
                f'fill="{_shade(count / total)}" '
                f'stroke="#fff"><title>true {escape(labels[i])}, predicted {escape(labels[j])}: '
                f"{count}</title></rect>"
            )
            if count:
                parts.append(
                    f'<text x="{x + CELL / 2}" y="{y + CELL * 0.62}" font-size="9" '
                    f'text-anchor="middle">{count}</text>'
                )
    for j, label in enumerate(labels):
        x = left + CELL * j + CELL * 0.6
        parts.append(
            f'<text x="{x}" y="{top - 4}" font-size="10" transform="rotate(-60 {x} {top - 4})">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def f1_bars_svg(labels: list[str], series: dict[str, dict[str, float]]) -> str:
    """Per-class F1, one bar per model and class (challenger vs champion)."""
    names = list(series)
    margin = 12 + 7 * max((len(label) for label in labels), default=4)
    bar, width = 10, 300
    height = 40 + len(labels) * (bar * len(names) + 8)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{margin + width + 60}" '
        f'height="{height}" role="img">',
        "<title>Per-class F1</title>",
        '<text x="4" y="14" font-size="13" font-weight="bold">Per-class F1</text>',
    ]
    for k, name in enumerate(names):
        parts.append(
            f'<rect x="{margin + 120 * k}" y="20" width="10" height="10" fill="{PALETTE[k % 2]}"/>'
            f'<text x="{margin + 120 * k + 14}" y="29" font-size="11">{escape(name)}</text>'
        )
    y = 40
    for label in labels:
        parts.append(
            f'<text x="{margin - 4}" y="{y + bar * len(names) / 2 + 4}" font-size="10" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for k, name in enumerate(names):
            value = series[name].get(label, 0.0)
            parts.append(
                f'<rect x="{margin}" y="{y}" width="{width * value:.1f}" height="{bar}" '
                f'fill="{PALETTE[k % 2]}"><title>{escape(name)} {escape(label)}: '
                f"{value:.3f}</title></rect>"
                f'<text x="{margin + width * value + 4:.1f}" y="{y + bar - 1}" font-size="9">'
                f"{value:.3f}</text>"
            )
            y += bar
        y += 8
    parts.append("</svg>")
    return "".join(parts)


def golden_section(metrics: dict[str, Any]) -> str:
    """The golden set's results: both models' scores and per-class recall on the model's fixed,
    verified set (versioned with its code table). HTML tables only; empty without a golden set."""
    golden = metrics.get("golden")
    if not golden:
        return ""
    models = {name: m for name in ("challenger", "champion") if (m := golden.get(name))}
    rows = "".join(
        f"<tr><th>{name}</th><td>{m['accuracy']:.4f}</td><td>{m['macro_f1']:.4f}</td>"
        f"<td>{m['counts']['correct']}</td><td>{m['counts']['n_items']}</td></tr>"
        for name, m in models.items()
    )
    delta = ""
    if "champion" in models:
        change = models["challenger"]["macro_f1"] - models["champion"]["macro_f1"]
        delta = f"<p>Golden-set macro-F1 challenger − champion: <b>{change:+.4f}</b></p>"
    labels = sorted({label for m in models.values() for label in m["per_class"]})
    header = "".join(f"<th>{escape(name)}</th>" for name in models)
    recalls = "".join(
        f"<tr><th>{escape(label)}</th><td>{models['challenger']['per_class'][label]['support']}"
        "</td>"
        + "".join(
            f"<td>{m['per_class'][label]['recall']:.3f}</td>"
            if label in m["per_class"]
            else "<td>—</td>"
            for m in models.values()
        )
        + "</tr>"
        for label in labels
    )
    return f"""<section id="golden-set"><h2>Golden set</h2>
<p>{golden["n_items"]} items of the model's golden set: fixed and verified, versioned with the code
table, the same in every evaluation. Promotion needs its macro-F1 above the floor and no
significant regression against the champion on it.</p>
<table><tr><th>model</th><th>accuracy</th><th>macro-F1</th><th>correct</th><th>items</th></tr>
{rows}</table>
{delta}
<table><tr><th>code</th><th>items</th>{header.replace("<th>", "<th>recall, ")}</tr>{recalls}</table>
</section>"""


def render_report(country: str, metrics: dict[str, Any]) -> str:
    models = {name: m for name in ("challenger", "champion") if (m := metrics.get(name))}
    rows = "".join(
        f"<tr><th>{name}</th><td>{m['accuracy']:.4f}</td><td>{m['macro_f1']:.4f}</td><td>{m['counts']['n_items']}</td></tr>"
        for name, m in models.items()
    )
    labels = sorted({label for m in models.values() for label in m["per_class"]})
    bars = f1_bars_svg(
        labels,
        {name: {k: v["f1"] for k, v in m["per_class"].items()} for name, m in models.items()},
    )
    heatmaps = "".join(
        heatmap_svg(
            f"Confusion matrix — {name}",
            m["confusion_matrix"]["labels"],
            m["confusion_matrix"]["matrix"],
        )
        for name, m in models.items()
    )
    verdict = ""
    if "champion" in models:
        delta = models["challenger"]["macro_f1"] - models["champion"]["macro_f1"]
        verdict = f"<p>Macro-F1 challenger − champion: <b>{delta:+.4f}</b></p>"
    # The golden-set section (issue 11, item 2) goes here: after the header and the test-set
    # numbers, before the data checks.
    golden = ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evaluation — {escape(country)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}
.reasons li{{margin:2px 0}}
svg{{margin:1em 1em 0 0}}</style></head>
<body>
{HEADER_BEGIN}
{pending_header(country)}
{HEADER_END}
<h2>Test set</h2>
<p>{metrics["n_items"]} labeled test items.</p>
<table><tr><th>model</th><th>accuracy</th><th>macro-F1</th><th>items</th></tr>{rows}</table>
{verdict}
{golden}
{CHECKS_BEGIN}
<section id="checks"><h2>Data checks</h2><p>Not recorded yet.</p></section>
{CHECKS_END}
<div>{bars}</div><div>{heatmaps}</div>
{golden_section(metrics)}
</body></html>
"""


def pending_header(country: str) -> str:
    """The header until the evaluate DAG's decide task writes the decision into it."""
    return (
        f'<section id="decision"><h1>Evaluation — {escape(country)}</h1>'
        "<p>Decision pending: the evaluate DAG's decide task writes it here "
        "(and into decision.json beside this report).</p></section>"
    )
