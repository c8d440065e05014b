"""The champion/challenger decision."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mlops.comparison import Policy, decide, discordant_pairs, mcnemar_one_sided

POLICY = Policy(absolute_floor=0.6, margin=0.01, max_recall_drop=0.05, significance_level=0.05)


def metrics(macro_f1: float, recalls: dict[str, float] | None = None) -> dict:
    recalls = recalls or {"A": 0.9, "B": 0.8}
    return {
        "macro_f1": macro_f1,
        "accuracy": macro_f1,
        "per_class": {label: {"recall": r, "support": 10} for label, r in recalls.items()},
    }


def items(challenger_only: int, champion_only: int, both: int = 50) -> list[dict]:
    return (
        [{"challenger_correct": True, "champion_correct": False}] * challenger_only
        + [{"challenger_correct": False, "champion_correct": True}] * champion_only
        + [{"challenger_correct": True, "champion_correct": True}] * both
    )


def golden(
    challenger_f1: float = 0.9,
    champion_f1: float | None = 0.9,
    challenger_only: int = 0,
    champion_only: int = 0,
    both: int = 200,
) -> dict:
    """decide's golden-set arguments: metrics.json's golden section and its per-item rows."""
    return {
        "golden": {
            "challenger": metrics(challenger_f1),
            "champion": None if champion_f1 is None else metrics(champion_f1),
        },
        "golden_per_item": items(challenger_only, champion_only, both),
    }


FIRST = golden(champion_f1=None)  # a first run's golden set: no champion scored on it
FINE = golden()  # the challenger as good as the champion on the golden set, item by item


def test_first_challenger_above_the_floor_wins():
    decision = decide(metrics(0.7), None, [], POLICY, **FIRST)
    assert decision.promote
    assert any("no champion" in reason for reason in decision.reasons)


def test_first_challenger_below_the_floor_loses():
    decision = decide(metrics(0.5), None, [], POLICY, **FIRST)
    assert not decision.promote
    assert "< absolute floor" in decision.reasons[0]


def test_clear_significant_gain_wins():
    decision = decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY, **FINE)
    assert decision.promote
    assert decision.p_value < 0.05
    assert decision.discordant == {"challenger_only": 30, "champion_only": 5}


def test_gain_below_margin_loses():
    decision = decide(metrics(0.805), metrics(0.80), items(30, 5), POLICY, **FINE)
    assert not decision.promote
    assert any("misses margin" in reason for reason in decision.reasons)


def test_gain_without_statistical_support_loses():
    decision = decide(metrics(0.85), metrics(0.80), items(6, 4), POLICY, **FINE)
    assert not decision.promote
    assert any("McNemar" in reason and "≥" in reason for reason in decision.reasons)


def test_recall_drop_beyond_tolerance_loses_and_names_the_class():
    challenger = metrics(0.85, {"A": 0.95, "B": 0.70})
    decision = decide(challenger, metrics(0.80), items(30, 5), POLICY, **FINE)
    assert not decision.promote
    assert any("recall drops" in reason and "B -0.100" in reason for reason in decision.reasons)


def labelled(label: str, challenger_only: int, champion_only: int, both: int) -> list[dict]:
    return [{**item, "label": label} for item in items(challenger_only, champion_only, both)]


def test_recall_drop_of_one_item_on_a_small_class_is_noise_not_a_regression():
    # Class B has 10 items; the challenger misses one the champion got: recall 0.8 -> 0.7.
    per_item = labelled("A", 30, 0, 60) + labelled("B", 0, 1, 7)
    challenger = metrics(0.85, {"A": 0.95, "B": 0.70})
    decision = decide(challenger, metrics(0.80), per_item, POLICY, **FINE)
    assert decision.promote, decision.reasons
    assert any("not blocking: B -0.100" in reason for reason in decision.reasons)


def test_recall_drop_supported_by_the_class_items_blocks_and_names_the_class():
    # Class B: the champion alone is right on 12 items, the challenger alone on none.
    per_item = labelled("A", 40, 0, 60) + labelled("B", 0, 12, 20)
    challenger = metrics(0.85, {"A": 0.95, "B": 0.50})
    decision = decide(challenger, metrics(0.80), per_item, POLICY, **FINE)
    assert not decision.promote
    assert any(
        "recall drops beyond" in reason and "B -0.300" in reason for reason in decision.reasons
    )


def test_mcnemar_exact_values():
    assert mcnemar_one_sided(0, 0) == 1.0
    assert abs(mcnemar_one_sided(5, 0) - 1 / 32) < 1e-12
    assert abs(mcnemar_one_sided(0, 5) - 1.0) < 1e-12
    # P(X >= 8 | n=10, p=1/2) = (45 + 10 + 1) / 1024
    assert abs(mcnemar_one_sided(8, 2) - 56 / 1024) < 1e-12


def test_mcnemar_handles_large_test_sets():
    assert mcnemar_one_sided(5200, 4800) < 0.001


def test_discordant_pairs_count_only_disagreements():
    assert discordant_pairs(items(3, 2, both=7)) == (3, 2)


scores = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def worse_on_every_count(draw):
    """A challenger no better than the champion on the score, every item and every class."""
    champion_score = draw(scores)
    challenger_score = draw(st.floats(min_value=0.0, max_value=champion_score))
    labels = draw(st.lists(st.sampled_from("ABCDEFG"), min_size=1, max_size=5, unique=True))
    champion_recall = {label: draw(scores) for label in labels}
    challenger_recall = {
        label: draw(st.floats(min_value=0.0, max_value=r)) for label, r in champion_recall.items()
    }
    per_item = items(0, draw(st.integers(0, 200)), both=draw(st.integers(0, 200)))
    return (
        metrics(challenger_score, challenger_recall),
        metrics(champion_score, champion_recall),
        per_item,
    )


policies = st.builds(
    Policy,
    absolute_floor=st.floats(0, 1),
    margin=st.floats(0, 0.2),
    max_recall_drop=st.floats(0, 1),
    significance_level=st.floats(0.001, 0.5),
)


@settings(max_examples=200, deadline=None)
@given(worse_on_every_count(), policies)
def test_never_promotes_a_challenger_worse_on_every_count(case, policy):
    challenger, champion, per_item = case
    assert not decide(challenger, champion, per_item, policy, **FINE).promote


@settings(max_examples=100, deadline=None)
@given(
    scores,
    scores,
    st.integers(0, 300),
    st.integers(0, 300),
    policies,
)
def test_same_inputs_give_the_same_decision(challenger_score, champion_score, wins, losses, policy):
    args = (metrics(challenger_score), metrics(champion_score), items(wins, losses), policy)
    assert decide(*args, **FINE) == decide(*args, **FINE)


# ---------------------------------------------------------------- the golden set
def test_a_first_challenger_below_the_floor_on_the_golden_set_loses():
    # The month's own test set says 0.9; the golden set says 0.4 (a one-class or swapped month).
    decision = decide(metrics(0.9), None, [], POLICY, **golden(0.4, None))
    assert not decision.promote
    assert decision.reasons[0].startswith("macro_f1 0.9000 ≥ absolute floor")
    assert "golden set: macro_f1 0.4000 < absolute floor 0.6000" in decision.reasons
    assert decision.golden_challenger_score == 0.4
    assert decision.golden_champion_score is None and decision.golden_p_value is None


def test_a_first_challenger_above_the_floor_on_both_sets_wins_and_says_so():
    decision = decide(metrics(0.9), None, [], POLICY, **golden(0.85, None))
    assert decision.promote, decision.reasons
    assert "golden set: macro_f1 0.8500 ≥ absolute floor 0.6000" in decision.reasons


def test_a_significant_golden_regression_refuses_a_gain_the_test_set_supports():
    # The month's test set: +0.05, 30 vs 5 discordant items (p < 0.001): it alone would promote.
    assert decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY, **FINE).promote
    # The golden set: the champion alone right on 40 items, the challenger alone on 2.
    regressed = golden(0.70, 0.90, challenger_only=2, champion_only=40)
    decision = decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY, **regressed)
    assert not decision.promote
    assert decision.p_value < 0.05  # the test set still says gain
    [reason] = [r for r in decision.reasons if r.startswith("golden set: significant regression")]
    assert "macro_f1 0.7000 vs 0.9000" in reason
    assert "on 40 champion-only vs 2 challenger-only items < 0.05" in reason
    assert decision.golden_p_value < 1e-9
    assert decision.golden_discordant == {"challenger_only": 2, "champion_only": 40}
    assert decision.as_dict()["golden_champion_score"] == 0.9


def test_a_golden_difference_the_paired_items_do_not_support_does_not_block():
    # Champion alone right on 3 golden items, challenger alone on 1: p = P(X >= 3 | 4) = 5/16.
    noise = golden(0.88, 0.90, challenger_only=1, champion_only=3)
    decision = decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY, **noise)
    assert decision.promote, decision.reasons
    assert abs(decision.golden_p_value - 5 / 16) < 1e-12
    assert any(r.startswith("golden set: no significant regression") for r in decision.reasons)


def test_the_golden_floor_holds_with_a_champion_too():
    # Both models equally bad on the golden set: no regression, but below the floor.
    decision = decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY, **golden(0.5, 0.5))
    assert not decision.promote
    assert "golden set: macro_f1 0.5000 < absolute floor 0.6000" in decision.reasons


def test_reasons_show_the_test_set_first_then_the_golden_set():
    decision = decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY, **FINE)
    golden_at = [i for i, r in enumerate(decision.reasons) if r.startswith("golden set: ")]
    n = len(decision.reasons)
    assert golden_at == [n - 3, n - 2, n - 1]  # floor, class recall, regression
    assert any("McNemar" in r for r in decision.reasons[: golden_at[0]])


def test_a_champion_without_golden_results_is_an_error_not_a_pass():
    with pytest.raises(ValueError, match="golden set: no champion results"):
        decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY, **golden(0.9, None))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 300),
    st.integers(0, 300),
    st.integers(0, 300),
    st.integers(0, 300),
    policies,
)
def test_never_promotes_over_a_significant_golden_regression(
    wins, losses, golden_wins, golden_losses, policy
):
    regressed = golden(0.9, 0.9, challenger_only=golden_wins, champion_only=golden_losses)
    decision = decide(metrics(0.99), metrics(0.5), items(wins, losses), policy, **regressed)
    if mcnemar_one_sided(golden_losses, golden_wins) < policy.significance_level:
        assert not decision.promote


def test_a_golden_class_the_challenger_does_not_recognise_refuses_it_even_above_the_floor():
    # A first run: the mean passes the floor on both sets, but two classes (swapped labels) score
    # a recall near zero on the golden set.
    swapped = {"A": 0.95, "B": 0.02, "C": 0.03, "D": 0.97}
    arguments = {"golden": {"challenger": metrics(0.7, swapped), "champion": None}}
    decision = decide(metrics(0.9), None, [], POLICY, **arguments, golden_per_item=[])
    assert not decision.promote, decision.reasons
    assert "golden set: macro_f1 0.7000 ≥ absolute floor 0.6000" in decision.reasons
    assert "golden set: class recall below 0.500: B 0.020, C 0.030" in decision.reasons


def test_the_golden_class_recall_ignores_classes_with_too_few_items():
    few = metrics(0.9, {"A": 0.95, "B": 0.0})
    few["per_class"]["B"]["support"] = 3
    decision = decide(
        metrics(0.9),
        None,
        [],
        POLICY,
        golden={"challenger": few, "champion": None},
        golden_per_item=[],
    )
    assert decision.promote, decision.reasons
