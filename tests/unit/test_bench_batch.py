"""bench/batch.py's month: the seed's items over 38 countries by a Zipf law, exactly."""

import pytest

from bench.batch import COUNTRIES, SEED_ITEMS, zipf_split


def test_the_month_splits_exactly_over_38_countries_largest_first():
    counts = zipf_split(SEED_ITEMS, len(COUNTRIES))
    assert len(COUNTRIES) == len(set(COUNTRIES)) == 38
    assert sum(counts) == SEED_ITEMS
    assert counts == sorted(counts, reverse=True)


def test_shares_follow_one_over_rank():
    counts = zipf_split(SEED_ITEMS, 38)
    harmonic = sum(1 / r for r in range(1, 39))
    assert counts[0] == pytest.approx(SEED_ITEMS / harmonic, abs=1)
    assert counts[1] == pytest.approx(counts[0] / 2, abs=1)
    assert counts[37] == pytest.approx(counts[0] / 38, abs=1)
