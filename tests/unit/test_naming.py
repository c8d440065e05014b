"""Resource names: valid for SageMaker, stable per run, different across runs and retries."""

import pytest
from mlops.naming import (
    KINDS,
    MAX_TUNING_NAME,
    NAME_PATTERN,
    job_name,
    with_retry_suffix,
)

RUN_ID = "manual__2026-11-22T03:23:26.123456+00:00"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_gives_a_valid_name(kind):
    name = job_name("mlops", "de", kind, RUN_ID)
    assert NAME_PATTERN.match(name), name


def test_tuning_name_fits_32_characters_even_with_the_longest_prefix_and_a_retry():
    name = job_name("abcdefghijkl", "de", "tuning", RUN_ID, try_number=9)
    assert len(name) <= MAX_TUNING_NAME


def test_same_run_gives_the_same_name():
    assert job_name("mlops", "de", "training", RUN_ID) == job_name(
        "mlops", "de", "training", RUN_ID
    )


def test_different_runs_give_different_names():
    other = "api__2026-11-22T03:23:26.123457+00:00"
    assert job_name("mlops", "de", "training", RUN_ID) != job_name("mlops", "de", "training", other)


def test_name_carries_no_date_from_the_run_id():
    assert "2026" not in job_name("mlops", "de", "training", RUN_ID)


def test_retry_suffix_replaces_an_earlier_one_and_respects_the_limit():
    base = job_name("mlops", "de", "tuning", RUN_ID)
    second = with_retry_suffix(base, 2, MAX_TUNING_NAME)
    third = with_retry_suffix(second, 3, MAX_TUNING_NAME)
    assert second == base + "-r2"
    assert third == base + "-r3"
    assert with_retry_suffix(third, 1) == base
    assert len(with_retry_suffix("x" * 40, 12, MAX_TUNING_NAME)) == MAX_TUNING_NAME


def test_too_long_prefix_is_refused():
    with pytest.raises(ValueError, match="tuning name"):
        job_name("a" * 30, "de", "tuning", RUN_ID)
