"""Resource names: valid for SageMaker, stable per run, different across runs, retries and
models; a scheme's model adds its scheme where the name has room for it."""

import pytest
from mlops.naming import (
    JOB_ABBREVIATIONS,
    MAX_NAME,
    MAX_TUNING_NAME,
    NAME_PATTERN,
    endpoint_name,
    job_name,
    model_package_group_name,
    run_digest,
    with_retry_suffix,
    without_retry_suffix,
)

RUN_ID = "manual__2026-11-22T03:23:26.123456+00:00"


LONGEST_PREFIX = "abcdefghijkl"  # settings.name_prefix allows 12 characters
LONGEST_SCHEME = "abcdefghijkl"  # a scheme name allows 12
# On retry the provider renames a job that exists: "<name>-<10-digit timestamp>", truncating the
# name to fit 63 first (which would cut the run digest off).
PROVIDER_RETRY_SUFFIX = len("-1796000000")


@pytest.mark.parametrize("kind", sorted(JOB_ABBREVIATIONS))
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


def test_default_model_names_are_todays():
    # The rule before models had schemes: sha256(run_id)[:8], no scheme anywhere.
    assert job_name("mlops", "de", "training", RUN_ID) == "mlops-de-train-0b74bdb0"
    assert job_name("mlops", "de", "tuning", RUN_ID) == "mlops-de-hpo-0b74bdb0"
    assert endpoint_name("mlops", "de") == model_package_group_name("mlops", "de") == "mlops-de"


def test_a_scheme_model_name_carries_the_scheme_and_a_salted_digest():
    name = job_name("mlops", "de", "training", RUN_ID, scheme="batteries")
    assert name == f"mlops-de-batteries-train-{run_digest(RUN_ID, 'batteries')}"
    assert run_digest(RUN_ID, "batteries") != run_digest(RUN_ID)
    assert endpoint_name("mlops", "de-batteries") == "mlops-de-batteries"


def test_a_scheme_tuning_name_has_no_scheme_but_differs_from_the_default_models():
    default = job_name("mlops", "de", "tuning", RUN_ID)
    batteries = job_name("mlops", "de", "tuning", RUN_ID, scheme="batteries")
    packaging = job_name("mlops", "de", "tuning", RUN_ID, scheme="packaging")
    assert batteries == f"mlops-de-hpo-{run_digest(RUN_ID, 'batteries')}"
    assert len({default, batteries, packaging}) == 3


@pytest.mark.parametrize("kind", sorted(JOB_ABBREVIATIONS))
def test_longest_prefix_and_scheme_fit_every_limit_with_retries(kind):
    name = job_name(LONGEST_PREFIX, "de", kind, RUN_ID, try_number=99, scheme=LONGEST_SCHEME)
    assert NAME_PATTERN.match(name), name
    if kind == "tuning":
        assert len(name) <= MAX_TUNING_NAME
    else:
        first_try = job_name(LONGEST_PREFIX, "de", kind, RUN_ID, scheme=LONGEST_SCHEME)
        # the provider's timestamp rename keeps the whole name, digest included
        assert len(first_try) + PROVIDER_RETRY_SUFFIX <= MAX_NAME
        assert len(name) <= MAX_NAME


def test_longest_endpoint_and_group_names_fit():
    key = f"de-{LONGEST_SCHEME}"
    assert len(endpoint_name(LONGEST_PREFIX, key)) <= MAX_NAME
    assert NAME_PATTERN.match(model_package_group_name(LONGEST_PREFIX, key))


def test_without_retry_suffix_gives_the_first_tries_name():
    assert without_retry_suffix("mlops-de-hpo-0b74bdb0-r12") == "mlops-de-hpo-0b74bdb0"
    assert without_retry_suffix("mlops-de-hpo-0b74bdb0") == "mlops-de-hpo-0b74bdb0"
