"""ml_common.drift: profiles and the distance between two months."""

from __future__ import annotations

import math

import pytest
from ml_common.drift import class_distance, compare_profiles, profile_records


def _records(labels, title="Lithium battery 12V"):
    return [
        {"item_id": str(i), "title": title, "weight_kg": 1.0 + i % 3, "label": label}
        for i, label in enumerate(labels)
    ]


def test_equal_distributions_have_distance_zero_and_disjoint_ones_one():
    assert class_distance({"a": 5, "b": 5}, {"a": 50, "b": 50}) == pytest.approx(0.0)
    assert class_distance({"a": 5}, {"b": 5}) == pytest.approx(1.0)
    assert class_distance({}, {"a": 1}) is None


def test_distance_grows_with_the_shift():
    base = {"a": 50, "b": 50}
    small = class_distance(base, {"a": 55, "b": 45})
    large = class_distance(base, {"a": 90, "b": 10})
    assert 0 < small < large < 1


def test_profile_counts_labels_empty_titles_and_lengths():
    records = _records(["a", "a", "b"]) + [
        {"item_id": "x", "title": "  ", "weight_kg": None, "label": "b"}
    ]
    profile = profile_records(records, label_field="label")
    assert profile["n_items"] == 4
    assert profile["label_counts"] == {"a": 2, "b": 2}
    assert profile["empty_text_share"] == pytest.approx(0.25)
    assert profile["missing"]["weight_kg"] == 1
    assert profile["text_length"]["max"] == len("Lithium battery 12V")


def test_vanished_and_new_classes_and_a_retired_code():
    reference = profile_records(_records(["a", "b", "c"]), label_field="label")
    current = profile_records(_records(["a", "d"], title="x"), label_field="label")
    drift = compare_profiles(reference, current)
    assert drift["vanished_classes"] == ["b", "c"]
    assert drift["new_classes"] == ["d"]
    assert drift["text_length_shift"] < -0.9
    # The new code table dropped c: it is retired by regulation, not vanished from the data.
    drift = compare_profiles(reference, current, codes={"a", "b", "d"})
    assert drift["vanished_classes"] == ["b"]
    assert drift["retired_classes"] == ["c"]


def test_non_finite_numbers_do_not_poison_the_profile():
    records = _records(["a", "b"]) + [{"item_id": "z", "title": "t", "weight_kg": math.inf}]
    profile = profile_records(records)
    assert math.isfinite(profile["numeric_stats"]["weight_kg"]["mean"])
