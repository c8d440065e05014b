"""The evaluation report's decision header and data checks, written on the Airflow side.

The evaluate job (``ml_processing.report``) writes ``report.html`` with the numbers it computes
(test set, golden set, charts), but the decision is made after it, by the evaluate DAG's decide
task (``mlops.comparison`` lives in plugins, not in the images). So the job leaves two marked
regions, and ``steps.decide_evaluation`` fills them from what only the Airflow side knows:

- the header (``HEADER_BEGIN`` … ``HEADER_END``): country, scheme, the challenger's and the
  champion's data months, the automatic decision with its reasons and p-values;
- the data checks (``CHECKS_BEGIN`` … ``CHECKS_END``): the gates and the drift against last month
  from the challenger's ``profile.json`` (its ``gates`` and ``drift`` keys, when present).

Everything here is pure (strings in, string out) and every value is escaped (``html.escape``):
reasons, labels and profile keys come from data. Filling a region replaces what is between its
markers, so a retried decide task rewrites the same report; a report without the markers (written
by an image older than them) gets the header after ``<body>`` and the checks before ``</body>``.
The markers are a contract with the image: docs/interfaces.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

HEADER_BEGIN, HEADER_END = "<!-- mlops:header:begin -->", "<!-- mlops:header:end -->"
CHECKS_BEGIN, CHECKS_END = "<!-- mlops:checks:begin -->", "<!-- mlops:checks:end -->"
# Decision fields the header shows in its own lines; any other field is listed after them.
_SHOWN = ("promote", "reasons", "challenger_score", "champion_score", "p_value", "discordant")
_MAX_ITEMS = 50  # a list or mapping longer than this is cut, saying how much was left out


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e-3 and value else f"{value:.4f}"
    return str(value)


def value_html(value: Any, depth: int = 0) -> str:
    """Any JSON value as escaped HTML: mappings as tables, lists as lists, numbers rounded."""
    if value is None:
        return "<i>none</i>"
    if isinstance(value, Mapping):
        if not value:
            return "<i>none</i>"
        if depth >= 4:
            return escape(str(dict(value))[:200])
        items = list(value.items())
        rows = "".join(
            f"<tr><th>{escape(str(key))}</th><td>{value_html(item, depth + 1)}</td></tr>"
            for key, item in items[:_MAX_ITEMS]
        )
        more = _more(len(items))
        return f'<table class="kv">{rows}</table>{more}'
    if isinstance(value, list | tuple):
        if not value:
            return "<i>none</i>"
        if all(not isinstance(item, Mapping | list | tuple) for item in value):
            shown = ", ".join(escape(_number(item)) for item in value[:_MAX_ITEMS])
            return shown + _more(len(value))
        listed = "".join(f"<li>{value_html(item, depth + 1)}</li>" for item in value[:_MAX_ITEMS])
        return f"<ul>{listed}</ul>{_more(len(value))}"
    return escape(_number(value))


def _more(count: int) -> str:
    return f" <i>(and {count - _MAX_ITEMS} more)</i>" if count > _MAX_ITEMS else ""


def _month(candidate: Mapping[str, Any] | None) -> str:
    if not candidate:
        return "none (no champion: first evaluation)"
    return str(candidate.get("data_month") or "?")


def header_html(
    *,
    country: str,
    scheme: str | None,
    challenger: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    decision: Mapping[str, Any],
) -> str:
    """The header section: who, which months, the automatic decision, its reasons and p-values."""
    promote = bool(decision.get("promote"))
    verdict = "promote the challenger" if promote else "keep the champion (challenger not promoted)"
    owner = country.upper() + (f" — scheme {scheme}" if scheme else " — default scheme")
    p_value = decision.get("p_value")
    facts = [
        ("country", country),
        ("scheme", scheme or "default"),
        ("challenger data month", _month(challenger)),
        ("champion data month", _month(champion)),
        ("challenger model package", challenger.get("model_package_arn", "?")),
        ("challenger score", decision.get("challenger_score")),
        ("champion score", decision.get("champion_score")),
        ("McNemar p-value (test set)", "n/a (no champion)" if p_value is None else p_value),
        ("discordant items", decision.get("discordant") or None),
    ]
    facts += [
        (str(key), value) for key, value in decision.items() if key not in _SHOWN
    ]  # e.g. the golden set's numbers, an approval
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{value_html(value)}</td></tr>" for name, value in facts
    )
    reasons = "".join(f"<li>{escape(str(reason))}</li>" for reason in decision.get("reasons", []))
    colour = "#276749" if promote else "#9b2c2c"
    return (
        f'<section id="decision"><h1>Evaluation — {escape(owner)}</h1>'
        f'<p class="decision" style="font-size:1.2em;color:{colour}">Automatic decision: '
        f"<b>{escape(verdict)}</b></p>"
        f'<table class="kv">{rows}</table>'
        f'<h3>Reasons</h3><ul class="reasons">{reasons}</ul></section>'
    )


def checks_html(profile: Mapping[str, Any] | None, profile_uri: str, note: str = "") -> str:
    """The data checks section: the challenger's gates and its drift against last month."""
    where = f"<p>From <code>{escape(profile_uri)}</code>.</p>" if profile_uri else ""
    if profile is None:
        reason = note or "the challenger names no training-data profile (profile_uri)"
        return (
            f'<section id="checks"><h2>Data checks</h2>{where}'
            f"<p>Not available: {escape(reason)}.</p></section>"
        )
    parts = [f'<section id="checks"><h2>Data checks</h2>{where}']
    for key, title in (("gates", "Gates"), ("drift", "Drift against last month")):
        if key in profile:
            parts.append(f"<h3>{title}</h3>{value_html(profile[key])}")
        else:
            parts.append(f"<h3>{title}</h3><p>Not recorded in the profile.</p>")
    parts.append(
        f"<p>{escape(str(profile.get('n_items', '?')))} training items profiled.</p></section>"
    )
    return "".join(parts)


def fill(html: str, begin: str, end: str, fragment: str, *, fallback: str) -> str:
    """``html`` with the region between ``begin`` and ``end`` replaced by ``fragment``.

    Without the markers the region is inserted (markers included) after/before ``fallback``
    (``<body>`` or ``</body>``), or at the very start/end when that is missing too.
    """
    region = f"{begin}\n{fragment}\n{end}"
    start = html.find(begin)
    stop = html.find(end, start + len(begin)) if start >= 0 else -1
    if start >= 0 and stop >= 0:
        return html[:start] + region + html[stop + len(end) :]
    at = html.find(fallback)
    if fallback.startswith("</"):
        return html + region if at < 0 else html[:at] + region + "\n" + html[at:]
    if at < 0:
        return region + "\n" + html
    # after the whole opening tag (``<body class=...>``)
    close = html.find(">", at)
    return html[: close + 1] + "\n" + region + html[close + 1 :]


def render(html: str, header: str, checks: str) -> str:
    """The report with its header and data checks filled in."""
    html = fill(html, HEADER_BEGIN, HEADER_END, header, fallback="<body")
    return fill(html, CHECKS_BEGIN, CHECKS_END, checks, fallback="</body>")


def skeleton(title: str) -> str:
    """A report for an evaluation whose job wrote none (the header and checks still go in)."""
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Evaluation — {escape(title)}</title></head>\n<body>\n"
        f"{HEADER_BEGIN}\n{HEADER_END}\n"
        "<p>The evaluate job wrote no report.html: only the decision is shown.</p>\n"
        f"{CHECKS_BEGIN}\n{CHECKS_END}\n</body></html>\n"
    )
