"""The countries file: the default file's content and the errors a broken file gives."""

import textwrap

import pytest
from mlops.config import (
    COUNTRIES_FILE_ENV,
    CountriesConfigError,
    countries_file_path,
    countries_to_generate,
    enabled_countries,
    load_countries,
)

from tests.unit.conftest import DEFAULT_COUNTRIES


def write(tmp_path, text: str):
    path = tmp_path / "countries.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_default_file_enables_de_fr_gb():
    codes = {c.code for c in enabled_countries(DEFAULT_COUNTRIES)}
    assert {"de", "fr", "gb"} <= codes


def test_default_file_has_trainium_gpu_and_cpu_profiles():
    profiles = {c.training.instance_type: c.training for c in enabled_countries(DEFAULT_COUNTRIES)}
    assert profiles["ml.trn1.2xlarge"].algorithm == "neural"
    assert profiles["ml.trn1.2xlarge"].accelerator == "trainium"
    assert profiles["ml.g5.xlarge"].algorithm == "neural"
    assert profiles["ml.g5.xlarge"].accelerator == "gpu"
    assert any(p.accelerator == "cpu" and p.algorithm == "linear" for p in profiles.values())


def test_disabled_country_is_not_generated():
    assert "it" in {c.code for c in load_countries(DEFAULT_COUNTRIES).countries}
    assert "it" not in {c.code for c in enabled_countries(DEFAULT_COUNTRIES)}


def test_environment_variable_overrides_the_file_location(tmp_path, monkeypatch):
    path = write(tmp_path, "countries:\n  - {code: nl, code_table_version: v1}\n")
    monkeypatch.setenv(COUNTRIES_FILE_ENV, str(path))
    assert countries_file_path() == path
    assert [c.code for c in enabled_countries()] == ["nl"]


def test_bad_field_error_names_file_country_and_field(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - {code: de, code_table_version: v1}
          - code: fr
            code_table_version: v1
            training: {instance_type: g5.xlarge}
        """,
    )
    with pytest.raises(CountriesConfigError) as error:
        load_countries(path)
    message = str(error.value)
    assert str(path) in message
    assert "country 'fr'" in message
    assert "field 'training.instance_type'" in message


def test_missing_required_field_is_named(tmp_path):
    path = write(tmp_path, "countries:\n  - {code: de}\n")
    with pytest.raises(CountriesConfigError, match=r"country 'de', field 'code_table_version'"):
        load_countries(path)


def test_unknown_field_is_rejected_with_its_name(tmp_path):
    path = write(tmp_path, "countries:\n  - {code: de, code_table_version: v1, endpont: {}}\n")
    with pytest.raises(CountriesConfigError, match=r"country 'de', field 'endpont'"):
        load_countries(path)


def test_country_without_code_is_named_by_position(tmp_path):
    path = write(tmp_path, "countries:\n  - {code_table_version: v1}\n")
    with pytest.raises(CountriesConfigError, match=r"country #1, field 'code'"):
        load_countries(path)


def test_spot_without_enough_wait_is_rejected(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: gb
            code_table_version: v1
            training: {use_spot: true, max_runtime_seconds: 3600, max_wait_seconds: 600}
        """,
    )
    with pytest.raises(CountriesConfigError, match=r"country 'gb', field 'training'.*max_wait"):
        load_countries(path)


def test_inverted_hpo_range_is_rejected(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: gb
            code_table_version: v1
            training: {hpo: {ranges: {alpha: {type: continuous, min: 1.0, max: 0.1}}}}
        """,
    )
    with pytest.raises(CountriesConfigError, match=r"field 'training.hpo.ranges.alpha'"):
        load_countries(path)


def test_bad_cron_is_rejected(tmp_path):
    path = write(
        tmp_path,
        "countries:\n  - {code: gb, code_table_version: v1, "
        "batch_inference: {schedule: 'every month'}}\n",
    )
    with pytest.raises(CountriesConfigError, match=r"field 'batch_inference.schedule'"):
        load_countries(path)


def test_duplicate_country_is_rejected(tmp_path):
    path = write(
        tmp_path,
        "countries:\n  - {code: gb, code_table_version: v1}\n"
        "  - {code: gb, code_table_version: v2}\n",
    )
    with pytest.raises(CountriesConfigError, match="'gb' appears twice"):
        load_countries(path)


def test_invalid_yaml_names_the_file(tmp_path):
    path = write(tmp_path, "countries: [\n")
    with pytest.raises(CountriesConfigError, match=f"{path}: not valid YAML"):
        load_countries(path)


def test_missing_file_names_the_path_and_the_variable(tmp_path):
    path = tmp_path / "absent.yaml"
    with pytest.raises(CountriesConfigError, match=f"{path}.*{COUNTRIES_FILE_ENV}"):
        load_countries(path)


def test_parsing_context_generates_only_the_requested_dag():
    only = countries_to_generate("deploy", "deploy__fr", DEFAULT_COUNTRIES)
    assert [c.code for c in only] == ["fr"]
    assert countries_to_generate("train", "deploy__fr", DEFAULT_COUNTRIES) == []
    assert len(countries_to_generate("train", None, DEFAULT_COUNTRIES)) >= 3
