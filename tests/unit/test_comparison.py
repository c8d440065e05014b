"""The champion/challenger decision."""

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


def test_first_challenger_above_the_floor_wins():
    decision = decide(metrics(0.7), None, [], POLICY)
    assert decision.promote
    assert any("no champion" in reason for reason in decision.reasons)


def test_first_challenger_below_the_floor_loses():
    decision = decide(metrics(0.5), None, [], POLICY)
    assert not decision.promote
    assert "< absolute floor" in decision.reasons[0]


def test_clear_significant_gain_wins():
    decision = decide(metrics(0.85), metrics(0.80), items(30, 5), POLICY)
    assert decision.promote
    assert decision.p_value < 0.05
    assert decision.discordant == {"challenger_only": 30, "champion_only": 5}


def test_gain_below_margin_loses():
    decision = decide(metrics(0.805), metrics(0.80), items(30, 5), POLICY)
    assert not decision.promote
    assert any("misses margin" in reason for reason in decision.reasons)


def test_gain_without_statistical_support_loses():
    decision = decide(metrics(0.85), metrics(0.80), items(6, 4), POLICY)
    assert not decision.promote
    assert any("McNemar" in reason and "≥" in reason for reason in decision.reasons)


def test_recall_drop_beyond_tolerance_loses_and_names_the_class():
    challenger = metrics(0.85, {"A": 0.95, "B": 0.70})
    decision = decide(challenger, metrics(0.80), items(30, 5), POLICY)
    assert not decision.promote
    assert any("recall drops" in reason and "B -0.100" in reason for reason in decision.reasons)


def labelled(label: str, challenger_only: int, champion_only: int, both: int) -> list[dict]:
    return [{**item, "label": label} for item in items(challenger_only, champion_only, both)]


def test_recall_drop_of_one_item_on_a_small_class_is_noise_not_a_regression():
    # Class B has 10 items; the challenger misses one the champion got: recall 0.8 -> 0.7.
    per_item = labelled("A", 30, 0, 60) + labelled("B", 0, 1, 7)
    challenger = metrics(0.85, {"A": 0.95, "B": 0.70})
    decision = decide(challenger, metrics(0.80), per_item, POLICY)
    assert decision.promote, decision.reasons
    assert any("not blocking: B -0.100" in reason for reason in decision.reasons)


def test_recall_drop_supported_by_the_class_items_blocks_and_names_the_class():
    # Class B: the champion alone is right on 12 items, the challenger alone on none.
    per_item = labelled("A", 40, 0, 60) + labelled("B", 0, 12, 20)
    challenger = metrics(0.85, {"A": 0.95, "B": 0.50})
    decision = decide(challenger, metrics(0.80), per_item, POLICY)
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
    assert not decide(challenger, champion, per_item, policy).promote


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
    assert decide(*args) == decide(*args)
