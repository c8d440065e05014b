"""local.demodata.scenarios: each bad month is what its name says, and the good month it was
made from is left unchanged."""

import copy
import json
import math
from collections import Counter

import pytest

from local.demodata import iter_products, scenarios


@pytest.fixture(scope="module")
def good() -> list[dict]:
    return list(iter_products("de", "2026-10", 300))


def _counts(records):
    return Counter(r["label"] for r in records)


@pytest.mark.parametrize("name", list(scenarios.SCENARIOS))
def test_no_scenario_changes_its_input(good, name):
    before = copy.deepcopy(good)
    scenarios.apply(name, good)
    assert good == before


def test_swapped_labels_exchange_the_two_largest_classes(good):
    (first, n_first), (second, n_second) = _counts(good).most_common(2)
    swapped = scenarios.swap_labels(good)
    assert _counts(swapped)[first] == n_second and _counts(swapped)[second] == n_first
    for before, after in zip(good, swapped, strict=True):
        assert after["label"] == {first: second, second: first}.get(
            before["label"], before["label"]
        )
    with pytest.raises(ValueError, match="both classes"):
        scenarios.swap_labels(good, first)


def test_single_class_keeps_one_class(good):
    single = scenarios.single_class(good)
    assert set(_counts(single)) == {_counts(good).most_common(1)[0][0]}
    assert len(single) == _counts(good).most_common(1)[0][1]


def test_blank_titles_and_tiny(good):
    assert {r["title"] for r in scenarios.blank_titles(good)} == {""}
    assert scenarios.tiny(good) == good[:5]


def test_non_finite_values_go_into_the_first_records(good):
    poisoned = scenarios.non_finite(
        good, count=2, value=math.inf, fields=("weight_kg", "screen_size_in")
    )
    assert [r["weight_kg"] for r in poisoned[:2]] == [math.inf, math.inf]
    assert poisoned[2:] == good[2:]
    assert scenarios.non_finite(good)[0]["weight_kg"] == 1e308


def test_duplicates_reach_their_share_under_new_item_ids(good):
    doubled = scenarios.duplicated(good, share=0.3)
    assert len({r["item_id"] for r in doubled}) == len(doubled)
    extra = len(doubled) - len(good)
    assert 0.3 <= extra / len(doubled) < 0.31


def test_vanished_classes_are_the_smallest(good):
    smallest = [label for label, _ in _counts(good).most_common()[-2:]]
    assert set(_counts(scenarios.drop_classes(good))) == set(_counts(good)) - set(smallest)


def test_rewrite_labeled_applies_a_scenario_to_a_month_on_disk(tmp_path, good):
    (tmp_path / "part-00000.jsonl").write_text("".join(json.dumps(r) + "\n" for r in good))
    assert scenarios.rewrite_labeled(tmp_path, "non-finite") == len(good)
    text = (tmp_path / "part-00000.jsonl").read_text()
    assert json.loads(text.splitlines()[0])["weight_kg"] == 1e308
    assert scenarios.rewrite_labeled(tmp_path, lambda rs: scenarios.non_finite(rs, value=math.inf))
    assert '"weight_kg":Infinity' in (tmp_path / "part-00000.jsonl").read_text()
    with pytest.raises(ValueError, match="expected one of"):
        scenarios.apply("nope", good)
