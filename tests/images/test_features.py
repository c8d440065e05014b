"""The column-wise featurizer (features.numeric_matrix, the serving hot path) gives exactly what
the per-record definition (features.numeric_rows) gives: the same float32 bits, or the same
FeatureError (record, feature, field), whatever the batch holds."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from ml_common import features

MISSING = object()  # the field is absent from the record

WEIGHTS = [0, 0.0, -0.0, 0.048, 1, 2.5, 99_999.9, 100_000, 2**60, 10**30, -1, -0.001]
WEIGHTS += [float("-inf"), None, MISSING, True, False, "3", "", [1.0], {"kg": 1}]
SCREENS = [0, 1.6, 15.6, 1000, 12, 2**53 + 1, -5, float("-inf"), None, MISSING, True, "15"]
BATTERIES = [True, False, None, MISSING, 1, 0, "true", "True"]
POWER = ["mains", "MAINS", "Battery", "usb", "solar", "none", "None", "", None, MISSING]
POWER += ["ｍains", "İ", "ß", "电池", " mains", "mains ", 5, 0, True, False, ["mains"], {"p": 1}]
# Values whose feature is not finite: both must raise, naming the same record and feature.
BAD = [("weight_kg", float("nan")), ("weight_kg", float("inf")), ("weight_kg", 10**400)]
BAD += [("screen_size_in", float("nan")), ("screen_size_in", 1e308), ("screen_size_in", 10**400)]


def record(weight, screen, battery, power) -> dict:
    values = {
        "title": "Ünïcødé ☃ title",
        "description": "",
        "weight_kg": weight,
        "screen_size_in": screen,
        "battery": battery,
        "power_source": power,
    }
    return {k: v for k, v in values.items() if v is not MISSING}


def outcome(featurize, records):
    try:
        return featurize(records)
    except features.FeatureError as exc:
        return (exc.row, exc.feature, exc.field, repr(exc.value), str(exc))


def assert_same(records):
    fast = outcome(features.numeric_matrix, records)
    reference = outcome(features.numeric_rows, records)
    if isinstance(reference, np.ndarray):
        assert isinstance(fast, np.ndarray), fast
        assert fast.dtype == reference.dtype == np.float32
        assert fast.shape == reference.shape
        # Bit for bit: -0.0 stays -0.0, and no last-bit difference in log1p.
        assert fast.tobytes() == reference.tobytes(), records
    else:
        assert fast == reference


def test_an_empty_batch_and_empty_records():
    assert_same([])
    assert_same([{}])
    assert_same([{}, {"title": ""}, {}])
    assert features.numeric_matrix([]).shape == (0, len(features.NUMERIC_FEATURES))


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("weight", WEIGHTS),
        ("screen", SCREENS),
        ("battery", BATTERIES),
        ("power", POWER),
    ],
)
def test_each_edge_value_alone_and_among_ordinary_records(field, values):
    ordinary = {"weight": 1.2, "screen": 6.1, "battery": True, "power": "usb"}
    for value in values:
        odd = record(**{**ordinary, field: value})
        assert_same([odd])
        assert_same([record(**ordinary), odd, record(**ordinary)])


def test_every_combination_of_edge_values_in_one_batch():
    batch = [record(*combo) for combo in itertools.product(WEIGHTS, SCREENS, BATTERIES[:4], POWER)]
    assert_same(batch)


def test_random_batches_of_valid_and_odd_records():
    rng = random.Random(13)
    for _ in range(300):
        size = rng.randint(1, 40)
        batch = [
            record(
                rng.choice(WEIGHTS + [rng.uniform(0, 100_000) for _ in range(5)]),
                rng.choice(SCREENS + [rng.uniform(0, 1000) for _ in range(5)]),
                rng.choice(BATTERIES),
                rng.choice(POWER),
            )
            for _ in range(size)
        ]
        assert_same(batch)


def test_many_log1p_values_agree_to_the_last_bit():
    rng = random.Random(7)
    weights = [rng.uniform(0, 100_000) for _ in range(5000)]
    weights += [rng.uniform(0, 1e-3) for _ in range(5000)] + [10.0**e for e in range(-300, 6)]
    screens = [rng.uniform(0, 1000) for _ in range(len(weights))]
    assert_same([record(w, s, True, "mains") for w, s in zip(weights, screens, strict=True)])


@pytest.mark.parametrize(("field", "bad"), BAD)
def test_a_value_whose_feature_is_not_finite_is_the_same_error(field, bad):
    ok = record(1.0, 2.0, True, "mains")
    for position in range(3):
        batch = [dict(ok) for _ in range(3)]
        batch[position][field] = bad
        assert_same(batch)
        with pytest.raises(features.FeatureError) as caught:
            features.numeric_matrix(batch)
        assert (caught.value.row, caught.value.field) == (position, field)


def test_the_first_failing_record_is_named_when_several_fail():
    ok = record(1.0, 2.0, True, "mains")
    for (field_a, bad_a), (field_b, bad_b) in itertools.product(BAD, repeat=2):
        batch = [dict(ok), dict(ok), dict(ok)]
        batch[1][field_a] = bad_a
        batch[2][field_b] = bad_b
        assert_same(batch)
