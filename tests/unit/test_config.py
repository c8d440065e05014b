"""The countries file: the default file's content, the models it defines (a country's default
model and its schemes, merged by the documented rule) and the errors a broken file gives."""

import textwrap

import pytest
from mlops.config import (
    COUNTRIES_FILE_ENV,
    DAG_KINDS,
    CountriesConfigError,
    countries_file_path,
    enabled_countries,
    enabled_models,
    get_model,
    load_countries,
    load_models,
    merge_scheme,
    models_to_generate,
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
    only = models_to_generate("deploy", "deploy__fr", DEFAULT_COUNTRIES)
    assert [m.key for m in only] == ["fr"]
    assert models_to_generate("train", "deploy__fr", DEFAULT_COUNTRIES) == []
    assert len(models_to_generate("train", None, DEFAULT_COUNTRIES)) >= 4


def test_parsing_context_tells_a_scheme_dag_from_the_default_one():
    scheme = models_to_generate("train", "train__de__batteries", DEFAULT_COUNTRIES)
    assert [m.key for m in scheme] == ["de-batteries"]
    assert [m.key for m in models_to_generate("train", "train__de", DEFAULT_COUNTRIES)] == ["de"]
    assert models_to_generate("train", "train__de__packaging", DEFAULT_COUNTRIES) == []
    assert models_to_generate("train", "train__de__bat-x", DEFAULT_COUNTRIES) == []


# ---------------------------------------------------------------- models and schemes
SCHEMED = """
countries:
  - code: de
    code_table_version: "2026-01"
    owner: team-de
    data_prefix: germany
    training:
      instance_type: ml.trn1.2xlarge
      algorithm: neural
      hyperparameters: {epochs: "8"}
      hpo: {max_jobs: 4, max_parallel_jobs: 2}
    endpoint:
      instance_count: 2
      canary: {percent: 10}
    schemes:
      batteries:
        code_table_version: "2026-03"
        training: {instance_type: ml.m5.xlarge, algorithm: linear, hpo: {max_jobs: 2}}
        endpoint: {auto_deploy: true, canary: null}
      packaging:
        data_prefix: de-packaging
        enabled: false
"""


def test_a_country_without_schemes_is_one_default_model_named_like_before(tmp_path):
    (model,) = load_models(write(tmp_path, "countries:\n  - {code: fr, code_table_version: v1}\n"))
    assert (model.country, model.scheme, model.key, model.prefix) == ("fr", None, "fr", "fr")
    assert [model.dag_id(kind) for kind in DAG_KINDS] == [
        "train__fr",
        "evaluate__fr",
        "deploy__fr",
        "batch_inference__fr",
    ]
    assert model.label == "FR"


def test_schemes_are_models_after_their_country_in_file_order(tmp_path):
    models = load_models(write(tmp_path, SCHEMED))
    assert [m.key for m in models] == ["de", "de-batteries", "de-packaging"]
    assert [m.key for m in enabled_models(write(tmp_path, SCHEMED))] == ["de", "de-batteries"]


def test_a_scheme_model_has_its_own_key_ids_prefix_and_label(tmp_path):
    batteries = get_model("de-batteries", write(tmp_path, SCHEMED))
    assert (batteries.country, batteries.scheme) == ("de", "batteries")
    assert batteries.dag_id("train") == "train__de__batteries"
    assert batteries.dag_id("batch_inference") == "batch_inference__de__batteries"
    assert batteries.label == "DE batteries"


def test_a_scheme_prefix_nests_under_its_countrys_and_data_prefix_overrides_it(tmp_path):
    path = write(tmp_path, SCHEMED)
    assert get_model("de", path).prefix == "germany"
    assert get_model("de-batteries", path).prefix == "germany/batteries"
    assert get_model("de-packaging", path).prefix == "de-packaging"


def test_default_scheme_prefix_is_country_slash_scheme():
    assert get_model("de-batteries", DEFAULT_COUNTRIES).prefix == "de/batteries"


def test_scalars_are_inherited_unless_the_scheme_sets_them(tmp_path):
    path = write(tmp_path, SCHEMED)
    batteries, packaging = get_model("de-batteries", path), get_model("de-packaging", path)
    assert batteries.owner == packaging.owner == "team-de"
    assert batteries.code_table_version == "2026-03"
    assert packaging.code_table_version == "2026-01"
    assert batteries.enabled and not packaging.enabled


def test_sections_merge_key_by_key_and_values_inside_replace_whole(tmp_path):
    path = write(tmp_path, SCHEMED)
    batteries = get_model("de-batteries", path)
    assert batteries.training.instance_type == "ml.m5.xlarge"
    assert batteries.training.algorithm == "linear"
    # inherited key of the same section
    assert batteries.training.hyperparameters == {"epochs": "8"}
    # hpo replaced whole: its max_parallel_jobs is the default, not the country's 2
    assert (batteries.training.hpo.max_jobs, batteries.training.hpo.max_parallel_jobs) == (2, 2)
    assert get_model("de", path).training.hpo.max_jobs == 4
    assert batteries.endpoint.instance_count == 2
    assert batteries.endpoint.auto_deploy is True
    assert batteries.endpoint.canary is None
    assert get_model("de-packaging", path).endpoint.canary is not None


def test_merge_rule_is_a_pure_function_of_two_dicts():
    country = {"code": "de", "owner": "a", "training": {"algorithm": "neural", "hpo": {"x": 1}}}
    merged = merge_scheme(country, {"owner": "b", "training": {"hpo": {"y": 2}}})
    assert merged == {"owner": "b", "training": {"algorithm": "neural", "hpo": {"y": 2}}}
    assert country["training"]["hpo"] == {"x": 1}


def test_the_default_file_has_the_de_batteries_scheme_on_cpu_linear():
    batteries = get_model("de-batteries", DEFAULT_COUNTRIES)
    assert batteries.enabled
    assert batteries.code_table_version == "2026-01"
    assert batteries.training.instance_type == "ml.m5.xlarge"
    assert batteries.training.algorithm == "linear"
    assert batteries.training.accelerator == "cpu"
    assert set(batteries.training.hpo.ranges) == {"alpha", "loss"}
    assert batteries.endpoint.instance_type == "ml.m5.large"
    assert batteries.endpoint.auto_deploy is True
    assert batteries.endpoint.canary is None
    # the country's Trainium profile is untouched
    assert get_model("de", DEFAULT_COUNTRIES).training.instance_type == "ml.trn1.2xlarge"


def test_a_schemes_bad_field_names_file_country_scheme_and_field(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            schemes:
              batteries: {training: {instance_type: m5.xlarge}}
        """,
    )
    with pytest.raises(CountriesConfigError) as error:
        load_models(path)
    assert f"{path}: country 'de', scheme 'batteries', field 'training.instance_type': " in str(
        error.value
    )


def test_a_merge_that_breaks_a_rule_is_reported_on_the_scheme(tmp_path):
    # The country's canary is inherited; serverless endpoints refuse one.
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            endpoint: {canary: {percent: 10}}
            schemes:
              batteries: {endpoint: {serverless: {memory_mb: 2048}}}
        """,
    )
    with pytest.raises(
        CountriesConfigError, match=r"country 'de', scheme 'batteries', field 'endpoint'.*canary"
    ):
        load_models(path)


def test_an_unknown_scheme_field_is_named(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            schemes: {batteries: {endpont: {}}}
        """,
    )
    with pytest.raises(CountriesConfigError, match=r"scheme 'batteries', field 'endpont'"):
        load_models(path)


@pytest.mark.parametrize("field", ["code", "schemes", "country", "scheme"])
def test_a_scheme_cannot_set_the_entrys_identity(tmp_path, field):
    path = write(
        tmp_path,
        f"""
        countries:
          - code: de
            code_table_version: v1
            schemes: {{batteries: {{{field}: x}}}}
        """,
    )
    with pytest.raises(
        CountriesConfigError, match=rf"scheme 'batteries', field '{field}': a scheme cannot set"
    ):
        load_models(path)


@pytest.mark.parametrize(
    "name", ["b", "bat-tery", "bat_tery", "Batteries", "1x", "default", "abcdefghijklm"]
)
def test_a_bad_scheme_name_is_refused_with_the_rule(tmp_path, name):
    path = write(
        tmp_path,
        f"""
        countries:
          - code: de
            code_table_version: v1
            schemes: {{"{name}": {{}}}}
        """,
    )
    with pytest.raises(CountriesConfigError, match=r"country 'de', field 'schemes'.*scheme name"):
        load_models(path)


def test_two_models_on_one_data_prefix_are_refused(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            schemes: {batteries: {data_prefix: fr}}
          - code: fr
            code_table_version: v1
        """,
    )
    with pytest.raises(
        CountriesConfigError, match=r"'de-batteries' and 'fr' share the data prefix"
    ):
        load_models(path)


def test_an_unknown_model_key_names_the_file(tmp_path):
    path = write(tmp_path, SCHEMED)
    with pytest.raises(CountriesConfigError, match=f"{path}: model 'de-textiles' is not"):
        get_model("de-textiles", path)


def test_dag_id_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="'cleanup' is not one of train, evaluate"):
        get_model("fr", DEFAULT_COUNTRIES).dag_id("cleanup")


# ---------------------------------------------------------------- serverless endpoints
def test_a_serverless_endpoint_captures_no_data_by_default(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - {code: fr, code_table_version: v1, endpoint: {serverless: {memory_mb: 2048}}}
          - {code: gb, code_table_version: v1}
        """,
    )
    fr, gb = load_models(path)
    assert fr.endpoint.data_capture_percent == 0
    assert gb.endpoint.data_capture_percent == 20


def test_data_capture_on_a_serverless_endpoint_is_refused_naming_country_and_field(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: fr
            code_table_version: v1
            endpoint: {serverless: {memory_mb: 2048}, data_capture_percent: 20}
        """,
    )
    with pytest.raises(CountriesConfigError) as error:
        load_models(path)
    message = str(error.value)
    assert f"{path}: country 'fr', field 'endpoint'" in message
    assert "data_capture_percent 20: serverless endpoints do not support data capture" in message


def test_a_scheme_going_serverless_under_a_capturing_country_is_refused_on_the_scheme(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            endpoint: {data_capture_percent: 50}
            schemes:
              batteries: {endpoint: {serverless: {memory_mb: 2048}}}
        """,
    )
    with pytest.raises(
        CountriesConfigError,
        match=r"country 'de', scheme 'batteries', field 'endpoint'.*do not support data capture",
    ):
        load_models(path)


def test_the_default_file_deploys_fr_serverless_without_capture_or_canary():
    fr = get_model("fr", DEFAULT_COUNTRIES)
    assert fr.endpoint.serverless is not None
    assert fr.endpoint.data_capture_percent == 0
    assert fr.endpoint.canary is None


# ---------------------------------------------------------------- rollback alarms
def test_rollback_alarms_say_what_they_watch(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            endpoint:
              canary: {percent: 10}
              rollback_alarms:
                - {name: de-5xx, metric: errors}
                - {name: de-latency, metric: latency, threshold: 250, evaluation_periods: 3}
        """,
    )
    errors, latency = load_models(path)[0].endpoint.rollback_alarms
    assert (errors.name, errors.metric, errors.alarm_threshold) == ("de-5xx", "errors", 1.0)
    # ModelLatency is in microseconds.
    assert (latency.alarm_threshold, latency.evaluation_periods) == (250_000.0, 3)


def test_a_bare_alarm_name_is_refused_saying_what_to_write(tmp_path):
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            endpoint: {canary: {percent: 10}, rollback_alarms: [de-5xx]}
        """,
    )
    with pytest.raises(CountriesConfigError) as error:
        load_models(path)
    assert "field 'endpoint.rollback_alarms.0'" in str(error.value)
    assert "{name: de-5xx, metric: errors|latency}" in str(error.value)


def test_two_models_naming_one_rollback_alarm_are_refused(tmp_path):
    # The scheme inherits the country's canary and alarms: one alarm would watch two endpoints.
    path = write(
        tmp_path,
        """
        countries:
          - code: de
            code_table_version: v1
            endpoint:
              canary: {percent: 10}
              rollback_alarms: [{name: de-5xx, metric: errors}]
            schemes:
              batteries: {code_table_version: v1}
        """,
    )
    with pytest.raises(CountriesConfigError) as error:
        load_models(path)
    assert "models 'de' and 'de-batteries' both name the rollback alarm 'de-5xx'" in str(
        error.value
    )
