"""Champion/challenger decision: a pure function of the evaluation results and the policy.

The challenger wins only if it passes the absolute floor on the primary metric and, when there is a
champion, beats it by the margin, the gain is supported by an exact one-sided McNemar test on the
shared test items, and no class's recall drops beyond tolerance. A class's recall drop counts only
when the paired items of that class support it (the same one-sided McNemar test, champion
direction): on a class with a handful of test items one miss moves recall by 0.1, which is noise,
not a regression. Every check leaves a reason.

The month's test set is cut from the challenger's own month, so its labels are only as good as
that month's: a month with two classes' labels swapped trains a model that its own test set calls
fine. So both models are also scored on the model's golden set (fixed, verified, versioned with
the code table), and promotion also requires the golden primary metric to pass the floor (on a
first run too) and no significant regression against the champion there: the same exact McNemar
test, one-sided in the champion's direction, refuses when p < the significance level. Its reasons
start with "golden set: ".

The McNemar test is a binomial tail on the discordant pairs, written here in a few lines: the
Airflow environment holds no statistics library (scipy/numpy belong to the images).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# A golden-set class counts for the per-class recall check only with this many items: on fewer,
# one miss moves recall too far to mean anything.
GOLDEN_MIN_SUPPORT = 10


@dataclass(frozen=True)
class Policy:
    primary_metric: str = "macro_f1"
    absolute_floor: float = 0.6
    margin: float = 0.005
    max_recall_drop: float = 0.05
    significance_level: float = 0.05
    golden_min_class_recall: float = 0.5

    @classmethod
    def from_evaluation(cls, evaluation: Any) -> Policy:
        """The policy a model's ``evaluation`` section sets."""
        return cls(
            primary_metric=evaluation.primary_metric,
            absolute_floor=evaluation.absolute_floor,
            margin=evaluation.margin,
            max_recall_drop=evaluation.max_recall_drop,
            significance_level=evaluation.significance_level,
            golden_min_class_recall=evaluation.golden_min_class_recall,
        )


@dataclass(frozen=True)
class Decision:
    promote: bool
    reasons: tuple[str, ...]
    challenger_score: float
    champion_score: float | None
    p_value: float | None = None
    discordant: dict[str, int] = field(default_factory=dict)
    # The golden set: the challenger's and champion's primary metric, the regression test's p.
    golden_challenger_score: float | None = None
    golden_champion_score: float | None = None
    golden_p_value: float | None = None
    golden_discordant: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["reasons"] = list(self.reasons)
        return result


def mcnemar_one_sided(challenger_only: int, champion_only: int) -> float:
    """P(X ≥ challenger_only), X ~ Binomial(discordant, 1/2): evidence the challenger is better."""
    n = challenger_only + champion_only
    if n == 0:
        return 1.0
    log_half_n = n * math.log(0.5)
    tail = 0.0
    for k in range(challenger_only, n + 1):
        tail += math.exp(_log_comb(n, k) + log_half_n)
    return min(1.0, tail)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def discordant_pairs(per_item: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """(items only the challenger got right, items only the champion got right)."""
    challenger_only = champion_only = 0
    for item in per_item:
        challenger, champion = bool(item["challenger_correct"]), bool(item["champion_correct"])
        challenger_only += challenger and not champion
        champion_only += champion and not challenger
    return challenger_only, champion_only


def discordant_pairs_by_class(
    per_item: Iterable[Mapping[str, Any]],
) -> dict[str, tuple[int, int]]:
    """Per true label: (challenger-only correct, champion-only correct); needs ``label``."""
    counts: dict[str, list[int]] = {}
    for item in per_item:
        if "label" not in item:
            return {}
        challenger, champion = bool(item["challenger_correct"]), bool(item["champion_correct"])
        pair = counts.setdefault(str(item["label"]), [0, 0])
        pair[0] += challenger and not champion
        pair[1] += champion and not challenger
    return {label: (pair[0], pair[1]) for label, pair in counts.items()}


def _recalls(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        label: float(stats["recall"])
        for label, stats in (metrics.get("per_class") or {}).items()
        if stats.get("support", 1) > 0
    }


@dataclass(frozen=True)
class _GoldenCheck:
    passed: bool
    reasons: tuple[str, ...]
    challenger_score: float
    champion_score: float | None
    p_value: float | None
    discordant: dict[str, int]


def _golden_check(
    golden: Mapping[str, Any],
    golden_per_item: Iterable[Mapping[str, Any]],
    with_champion: bool,
    policy: Policy,
) -> _GoldenCheck:
    """The golden set's checks: the floor, and (with a champion) no significant regression."""
    metric = policy.primary_metric
    challenger = golden.get("challenger")
    if not challenger:
        raise ValueError("golden set: no challenger results (metrics.json's golden section)")
    score = float(challenger[metric])
    floor_ok = score >= policy.absolute_floor
    reasons = [
        f"golden set: {metric} {score:.4f} {'≥' if floor_ok else '<'} absolute floor "
        f"{policy.absolute_floor:.4f}"
    ]
    # Every class the golden set holds enough of must be recognised: a month whose labels of two
    # classes were swapped can pass the floor on the golden set (the other classes carry the
    # mean) while those two classes score a recall near zero.
    weak = {
        label: recall
        for label, recall in sorted(_recalls(challenger).items())
        if recall < policy.golden_min_class_recall
        and (challenger.get("per_class") or {})[label].get("support", 0) >= GOLDEN_MIN_SUPPORT
    }
    if weak:
        floor_ok = False
        listed = ", ".join(f"{label} {recall:.3f}" for label, recall in weak.items())
        reasons.append(
            f"golden set: class recall below {policy.golden_min_class_recall:.3f}: {listed}"
        )
    else:
        reasons.append(
            f"golden set: every class with ≥{GOLDEN_MIN_SUPPORT} items has recall ≥ "
            f"{policy.golden_min_class_recall:.3f}"
        )
    if not with_champion:
        return _GoldenCheck(floor_ok, tuple(reasons), score, None, None, {})
    champion = golden.get("champion")
    if not champion:
        raise ValueError(
            "golden set: no champion results, though the champion was scored on the test set"
        )
    champion_score = float(champion[metric])
    challenger_only, champion_only = discordant_pairs(golden_per_item)
    # One-sided in the champion's direction: evidence the challenger is worse on the golden set.
    p_value = mcnemar_one_sided(champion_only, challenger_only)
    regression = p_value < policy.significance_level
    verdict = "significant regression" if regression else "no significant regression"
    reasons.append(
        f"golden set: {verdict} against the champion: {metric} {score:.4f} vs {champion_score:.4f}"
        f", McNemar one-sided p={p_value:.4g} on {champion_only} champion-only vs "
        f"{challenger_only} challenger-only items {'<' if regression else '≥'} "
        f"{policy.significance_level}"
    )
    return _GoldenCheck(
        floor_ok and not regression,
        tuple(reasons),
        score,
        champion_score,
        p_value,
        {"challenger_only": challenger_only, "champion_only": champion_only},
    )


def decide(
    challenger: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    per_item: Iterable[Mapping[str, Any]],
    policy: Policy,
    *,
    golden: Mapping[str, Any],
    golden_per_item: Iterable[Mapping[str, Any]],
) -> Decision:
    """Decide whether the challenger replaces the champion; ``metrics.json`` shapes as inputs.

    ``golden``: metrics.json's ``golden`` section (``{"challenger": M, "champion": M | None}``),
    ``golden_per_item``: per_item_golden.jsonl's rows. Both are required: no evaluation decides
    without its golden set.
    """
    metric = policy.primary_metric
    score = float(challenger[metric])
    reasons: list[str] = []
    passed = score >= policy.absolute_floor
    reasons.append(
        f"{metric} {score:.4f} {'≥' if passed else '<'} absolute floor {policy.absolute_floor:.4f}"
    )
    checked = _golden_check(golden, golden_per_item, champion is not None, policy)
    if champion is None:
        reasons.append(
            "no champion yet: the challenger wins if it passes the floor on the test set and "
            "on the golden set"
        )
        return Decision(
            passed and checked.passed,
            (*reasons, *checked.reasons),
            score,
            None,
            golden_challenger_score=checked.challenger_score,
        )

    champion_score = float(champion[metric])
    gain = score - champion_score
    margin_ok = gain >= policy.margin
    reasons.append(
        f"gain {gain:+.4f} over champion {champion_score:.4f} "
        f"{'meets' if margin_ok else 'misses'} margin {policy.margin:.4f}"
    )

    per_item = list(per_item)
    challenger_only, champion_only = discordant_pairs(per_item)
    p_value = mcnemar_one_sided(challenger_only, champion_only)
    significant = p_value < policy.significance_level
    reasons.append(
        f"McNemar one-sided p={p_value:.4g} on {challenger_only} vs {champion_only} discordant "
        f"items {'<' if significant else '≥'} {policy.significance_level}"
    )

    champion_recall = _recalls(champion)
    challenger_recall = _recalls(challenger)
    beyond = {
        label: recall - challenger_recall.get(label, 0.0)
        for label, recall in sorted(champion_recall.items())
        if recall - challenger_recall.get(label, 0.0) > policy.max_recall_drop
    }
    # Without per-item labels every drop beyond tolerance counts (the conservative reading).
    by_class = discordant_pairs_by_class(per_item)
    drops, unsupported = {}, {}
    for label, drop in beyond.items():
        gained, lost = by_class.get(label, (0, 0))
        if not by_class or mcnemar_one_sided(lost, gained) < policy.significance_level:
            drops[label] = drop
        else:
            unsupported[label] = drop
    if drops:
        worst = ", ".join(f"{label} -{drop:.3f}" for label, drop in drops.items())
        reasons.append(f"recall drops beyond {policy.max_recall_drop:.3f}: {worst}")
    else:
        reasons.append(f"no class recall drops beyond {policy.max_recall_drop:.3f}")
    if unsupported:
        noise = ", ".join(f"{label} -{drop:.3f}" for label, drop in unsupported.items())
        reasons.append(
            f"recall drops not supported by the paired items (McNemar p ≥ "
            f"{policy.significance_level}), not blocking: {noise}"
        )

    promote = passed and margin_ok and significant and not drops and checked.passed
    return Decision(
        promote,
        (*reasons, *checked.reasons),
        score,
        champion_score,
        p_value,
        {"challenger_only": challenger_only, "champion_only": champion_only},
        golden_challenger_score=checked.challenger_score,
        golden_champion_score=checked.champion_score,
        golden_p_value=checked.p_value,
        golden_discordant=checked.discordant,
    )
