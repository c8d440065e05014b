"""The countries file and the models it defines, with errors that name file, country, scheme and
field.

A *model* is one (country, scheme): a country entry is its default model (scheme ``None``, today's
names), and each entry under its ``schemes`` is one more model of that country, inheriting every
field of the entry and overriding what it sets (see ``resolve_models`` and docs/interfaces.md).

Where the file is looked for, first hit wins:
1. ``$MLOPS_COUNTRIES_FILE``;
2. ``include/config/countries.yaml`` beside ``plugins/`` (the repository);
3. ``dags/config/countries.yaml`` beside ``plugins/`` (the MWAA bundle: /usr/local/airflow/dags is
   synced from S3 every ~30 s, so a config change needs no environment update).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

COUNTRIES_FILE_ENV = "MLOPS_COUNTRIES_FILE"
# libyaml's loader when PyYAML has it (it does on MWAA and here): parse time counts.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ROOT = Path(__file__).resolve().parents[2]
# Where the configuration files are looked for beside plugins/: the repository's include/config/,
# then the MWAA bundle's dags/config/ (synced from S3 with the DAGs).
CONFIG_FOLDERS = (_ROOT / "include" / "config", _ROOT / "dags" / "config")

InstanceType = Annotated[str, Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")]


def _cron_expression(value: str | None) -> str | None:
    if value is None or value.startswith("@") or len(value.split()) == 5:
        return value
    raise ValueError(f"'{value}' is neither a 5-field cron expression nor a preset like @monthly")


Cron = Annotated[str | None, AfterValidator(_cron_expression)]

# The four DAG kinds: one DAG of each per enabled model.
DAG_KINDS = ("train", "evaluate", "deploy", "batch_inference")
COUNTRY_CODE_PATTERN = r"^[a-z]{2}$"
# 2-12 characters without '-' or '_': a model key (``de-batteries``) and a DAG id
# (``train__de__batteries``) then split back into country and scheme unambiguously.
SCHEME_PATTERN = r"^[a-z][a-z0-9]{1,11}$"
RESERVED_SCHEMES = ("default",)
# Sections of an entry that a scheme merges key by key; every other field it replaces whole.
SECTIONS = ("training", "processing", "evaluation", "endpoint", "batch_inference", "gates")


class CountriesConfigError(ValueError):
    """The countries file is missing or invalid; the message names file, country and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterRange(_Strict):
    """One hyperparameter range searched by the tuning job."""

    type: Literal["continuous", "integer", "categorical"]
    min: float | None = None
    max: float | None = None
    values: list[str] | None = None
    scaling: Literal["Auto", "Linear", "Logarithmic", "ReverseLogarithmic"] = "Auto"

    @model_validator(mode="after")
    def _bounds_or_values(self) -> ParameterRange:
        if self.type == "categorical":
            if not self.values:
                raise ValueError("a categorical range needs a non-empty 'values' list")
        elif self.min is None or self.max is None or self.min >= self.max:
            raise ValueError(f"a {self.type} range needs 'min' < 'max'")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """(min, max) of a numeric range; validation guarantees both are set."""
        if self.min is None or self.max is None:
            raise ValueError(f"a {self.type} range has no 'min'/'max'")
        return self.min, self.max


class Hpo(_Strict):
    max_jobs: int = Field(default=4, ge=1, le=500)
    max_parallel_jobs: int = Field(default=2, ge=1, le=100)
    strategy: Literal["Bayesian", "Random", "Hyperband", "Grid"] = "Bayesian"
    ranges: dict[str, ParameterRange] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _parallel_within_total(self) -> Hpo:
        if self.max_parallel_jobs > self.max_jobs:
            raise ValueError("max_parallel_jobs cannot exceed max_jobs")
        return self


class Training(_Strict):
    instance_type: InstanceType = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=16)
    algorithm: Literal["linear", "neural"] = "linear"
    use_spot: bool = False
    max_runtime_seconds: int = Field(default=3600, ge=60, le=28 * 24 * 3600)
    max_wait_seconds: int | None = Field(default=None, ge=60)
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    hyperparameters: dict[str, str] = Field(default_factory=dict)
    hpo: Hpo = Field(default_factory=Hpo)
    # A cron fallback for training, off by default: the labeled marker's event starts training.
    schedule: Cron = None

    @model_validator(mode="after")
    def _spot_wait(self) -> Training:
        if self.max_wait_seconds is not None and not self.use_spot:
            raise ValueError("max_wait_seconds only applies when use_spot is true")
        if self.use_spot and (self.max_wait_seconds or 0) < self.max_runtime_seconds:
            raise ValueError("with use_spot, max_wait_seconds must be >= max_runtime_seconds")
        return self

    @property
    def accelerator(self) -> Literal["trainium", "gpu", "cpu"]:
        family = self.instance_type.split(".")[1]
        if family.startswith("trn"):
            return "trainium"
        if family[0] in "gp":
            return "gpu"
        return "cpu"


class Processing(_Strict):
    instance_type: InstanceType = "ml.m5.xlarge"
    volume_size_gb: int = Field(default=30, ge=1, le=16384)
    max_runtime_seconds: int = Field(default=3600, ge=60, le=5 * 24 * 3600)
    split_seed: int = 42


class Evaluation(_Strict):
    primary_metric: Literal["macro_f1", "accuracy"] = "macro_f1"
    absolute_floor: float = Field(default=0.6, ge=0, le=1)
    margin: float = Field(default=0.005, ge=0, le=1)
    max_recall_drop: float = Field(default=0.05, ge=0, le=1)
    significance_level: float = Field(default=0.05, gt=0, lt=1)
    # Each class of the golden set (with ≥ comparison.GOLDEN_MIN_SUPPORT items) must reach this
    # recall, on a first run too: two swapped classes fail it even when the mean passes the floor.
    golden_min_class_recall: float = Field(default=0.5, ge=0, le=1)
    transform_instance_type: InstanceType = "ml.m5.xlarge"
    max_runtime_seconds: int = Field(default=3600, ge=60, le=48 * 3600)
    # Who confirms a promotion the policy allows: ``auto`` promotes on the policy's decision;
    # ``human`` waits (evaluate's ``approve`` task, Airflow's human-in-the-loop) for a person to
    # approve or reject it, up to ``approval_timeout_seconds``; no answer by then rejects. A person
    # can only confirm or refuse a promotion: a challenger the policy refuses is never asked about.
    approval: Literal["auto", "human"] = "auto"
    approval_timeout_seconds: int = Field(default=3 * 24 * 3600, ge=60, le=30 * 24 * 3600)


class Gates(_Strict):
    """Data gates: what a month must pass in ``prepare`` before any paid training starts.

    A failed gate fails the prepare job (exit 2, every failed gate's reason in its
    FailureReason), so the train run stops there. Meaning of each (ml_processing.gates):
    a class is *testable* when it has at least ``min_train_items_per_class`` items in train,
    ``min_validation_items_per_class`` in validation and ``min_test_items_per_class`` in test;
    the month needs ``min_items`` items and ``min_classes`` testable classes, and the classes
    that are not testable may hold at most ``max_small_class_share`` of the items. Empty text:
    items with an empty title. Duplicates: items repeating the title, description and brand
    (case and spacing ignored) of an earlier item under another item_id.

    Drift, against the model's current winner's training profile (skipped on a first month):
    the Jensen-Shannon distance of the class distributions (0 equal, 1 disjoint), classes with
    items then and none now (vanished) or none then and items now (new), and the relative shift
    of the mean title length (0.5 = ±50%). On a regulation change (a new code table version)
    classes the table retired are not vanished, classes new in the table are allowed, and the
    distance over the codes both tables hold is held to ``max_class_distance_table_change``.
    """

    min_items: int = Field(default=100, ge=1)
    min_classes: int = Field(default=2, ge=2)
    min_train_items_per_class: int = Field(default=5, ge=1)
    min_validation_items_per_class: int = Field(default=1, ge=0)
    min_test_items_per_class: int = Field(default=1, ge=0)
    max_small_class_share: float = Field(default=0.05, ge=0, le=1)
    max_empty_text_share: float = Field(default=0.1, ge=0, le=1)
    max_duplicate_share: float = Field(default=0.1, ge=0, le=1)
    max_class_distance: float = Field(default=0.2, ge=0, le=1)
    max_class_distance_table_change: float = Field(default=0.4, ge=0, le=1)
    max_vanished_classes: int = Field(default=0, ge=0)
    max_new_classes: int = Field(default=2, ge=0)
    max_text_length_shift: float = Field(default=0.5, ge=0)

    def environment(self) -> dict[str, str]:
        """The prepare job's ``GATE_<FIELD>`` environment variables."""
        return {f"GATE_{name.upper()}": str(value) for name, value in self.model_dump().items()}


class Serverless(_Strict):
    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: int = Field(default=5, ge=1, le=200)


class Canary(_Strict):
    percent: int = Field(default=10, ge=1, le=99)
    wait_seconds: int = Field(default=300, ge=0, le=3600)
    termination_wait_seconds: int = Field(default=300, ge=0, le=3600)


# CloudWatch alarm names: 1-255 characters; these exclude what would need quoting in a policy ARN.
ALARM_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/#+=@-]{0,254}$"
# What each kind watches, per minute on the endpoint's variant: errors counts InvokeEndpoint
# answers that failed (Invocation5XXErrors + InvocationModelErrors); latency is the average
# ModelLatency in milliseconds. Defaults: any error; one second.
ALARM_METRICS = {"errors": 1.0, "latency": 1000.0}


class RollbackAlarm(_Strict):
    """A CloudWatch alarm on the model's endpoint that rolls a canary deployment back when it goes
    into ALARM. Terraform creates it under exactly this name (scripts/terraform_models.py writes
    the list it reads), so the rollback never watches an alarm that does not exist."""

    name: str = Field(pattern=ALARM_NAME_PATTERN)
    metric: Literal["errors", "latency"]
    # errors: failed invocations per minute; latency: average milliseconds over a minute.
    threshold: float | None = Field(default=None, gt=0)
    evaluation_periods: int = Field(default=1, ge=1, le=10)

    @model_validator(mode="before")
    @classmethod
    def _not_a_bare_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(
                f"rollback alarm '{value}' must say what it watches: "
                f"{{name: {value}, metric: errors|latency}} (Terraform creates it from this entry)"
            )
        return value

    @property
    def alarm_threshold(self) -> float:
        """The threshold in the metric's own unit (ModelLatency is in microseconds)."""
        threshold = ALARM_METRICS[self.metric] if self.threshold is None else self.threshold
        return threshold * 1000 if self.metric == "latency" else threshold


class Endpoint(_Strict):
    """A model's endpoint. ``serverless`` follows AWS's feature exclusions of Serverless Inference
    (no GPUs, Marketplace packages, private registries, multi-model endpoints, KMS key, VPC
    configuration, network isolation, data capture, multiple variants, Model Monitor, inference
    pipelines): this section refuses data capture and a canary for it, the request builders
    (mlops.sagemaker_requests) never send the rest, and the local stack refuses them too."""

    instance_type: InstanceType = "ml.m5.large"
    instance_count: int = Field(default=1, ge=1, le=100)
    serverless: Serverless | None = None
    auto_deploy: bool = False
    # Default: 20 for an instance endpoint, 0 for a serverless one (which has no data capture).
    data_capture_percent: int = Field(default=20, ge=0, le=100)
    canary: Canary | None = None
    rollback_alarms: list[RollbackAlarm] = Field(default_factory=list)
    max_runtime_seconds: int = Field(default=3600, ge=60, le=10 * 3600)

    @model_validator(mode="before")
    @classmethod
    def _serverless_captures_nothing_by_default(cls, value: Any) -> Any:
        if (
            isinstance(value, Mapping)
            and value.get("serverless") is not None
            and "data_capture_percent" not in value
        ):
            return {**value, "data_capture_percent": 0}
        return value

    @model_validator(mode="after")
    def _alarms_need_canary(self) -> Endpoint:
        if self.rollback_alarms and self.canary is None:
            raise ValueError("rollback_alarms need a canary (blue/green traffic shifting)")
        if self.serverless is not None:
            if self.canary is not None:
                raise ValueError("serverless endpoints do not support blue/green canary deployment")
            if self.data_capture_percent > 0:
                raise ValueError(
                    f"data_capture_percent {self.data_capture_percent}: serverless endpoints do "
                    "not support data capture (AWS's serverless feature exclusions); set it to 0 "
                    "or use instance_type"
                )
        names = [alarm.name for alarm in self.rollback_alarms]
        if len(set(names)) != len(names):
            raise ValueError(f"rollback_alarms name one alarm twice: {names}")
        return self


class BatchInference(_Strict):
    # The fallback when the month's unlabeled marker never lands (the marker's event starts the
    # run; a fallback run finds the month scored and skips). None: staggered per model
    # (mlops.dag_factory.fallback_cron), so 60 models do not all start at the same minute.
    schedule: Cron = None
    instance_type: InstanceType = "ml.m5.xlarge"
    instance_count: int = Field(default=1, ge=1, le=100)
    review_threshold: float = Field(default=0.7, ge=0, le=1)
    max_runtime_seconds: int = Field(default=3 * 3600, ge=60, le=48 * 3600)
    input_timeout_seconds: int = Field(default=24 * 3600, ge=60)
    # Drift of the month's items (and of the endpoint's captured requests) from the winner's
    # training data (mlops.batch_drift): past any of these the run sends a warning and still
    # succeeds. Class distance: Jensen-Shannon, 0 same to 1 disjoint, on the predicted labels;
    # shifts: relative change of the mean (0.3 = 30%) of the title length, of a numeric field.
    drift_alert_class_distance: float = Field(default=0.25, ge=0, le=1)
    drift_alert_text_length_shift: float = Field(default=0.3, ge=0)
    drift_alert_numeric_shift: float = Field(default=0.5, ge=0)


class _ModelFields(_Strict):
    """The fields a country entry and each of its models share."""

    # Never validated itself: no validator to build for it at import (parse time counts).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    enabled: bool = True
    code_table_version: str = Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    data_prefix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._/-]+$")
    owner: str = "ml-platform"
    training: Training = Field(default_factory=Training)
    processing: Processing = Field(default_factory=Processing)
    evaluation: Evaluation = Field(default_factory=Evaluation)
    endpoint: Endpoint = Field(default_factory=Endpoint)
    batch_inference: BatchInference = Field(default_factory=BatchInference)
    gates: Gates = Field(default_factory=Gates)


class Country(_ModelFields):
    """One entry of the countries file: the country's default model plus its schemes, unmerged."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=False)

    code: str = Field(pattern=COUNTRY_CODE_PATTERN, description="ISO 3166-1 alpha-2, lower case")
    # scheme name -> the fields it overrides; merged and validated by ``resolve_models``.
    schemes: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("schemes")
    @classmethod
    def _scheme_names(cls, schemes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name in schemes:
            if not re.match(SCHEME_PATTERN, name) or name in RESERVED_SCHEMES:
                raise ValueError(
                    f"scheme name '{name}' must match {SCHEME_PATTERN} (2-12 lower-case letters "
                    f"and digits, no '-' or '_') and not be {', '.join(RESERVED_SCHEMES)}"
                )
        return schemes

    @property
    def prefix(self) -> str:
        """Key prefix of the default model's data in the data bucket (default: the code)."""
        return (self.data_prefix or self.code).strip("/")


class Model(_ModelFields):
    """One model: a country and one of its schemes (None: the default model), fully resolved.

    ``resolve_models`` builds each from a validated ``Country`` (a scheme's merged fields are
    validated as one), so no validator of its own is built at parse time.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    country: str = Field(pattern=COUNTRY_CODE_PATTERN)
    scheme: str | None = Field(default=None, pattern=SCHEME_PATTERN)

    @property
    def key(self) -> str:
        """``de`` for a country's default model, ``de-batteries`` for a scheme's."""
        return self.country if self.scheme is None else f"{self.country}-{self.scheme}"

    @property
    def prefix(self) -> str:
        """Key prefix of the model's data in the data bucket: ``de``, ``de/batteries``."""
        default = self.country if self.scheme is None else f"{self.country}/{self.scheme}"
        return (self.data_prefix or default).strip("/")

    @property
    def label(self) -> str:
        """How messages name the model: ``DE``, ``DE batteries``."""
        return (
            self.country.upper() if self.scheme is None else f"{self.country.upper()} {self.scheme}"
        )

    def dag_id(self, kind: str) -> str:
        """``train__de`` for a default model, ``train__de__batteries`` for a scheme's."""
        if kind not in DAG_KINDS:
            raise ValueError(f"DAG kind '{kind}' is not one of {', '.join(DAG_KINDS)}")
        suffix = self.country if self.scheme is None else f"{self.country}__{self.scheme}"
        return f"{kind}__{suffix}"


class CountriesFile(_Strict):
    countries: list[Country]

    @model_validator(mode="after")
    def _unique_codes(self) -> CountriesFile:
        seen: set[str] = set()
        for country in self.countries:
            if country.code in seen:
                raise ValueError(f"country code '{country.code}' appears twice")
            seen.add(country.code)
        return self


def config_file_path(env_var: str, name: str) -> Path:
    """``$<env_var>``, else the first ``CONFIG_FOLDERS/<name>`` that exists (else the first)."""
    override = os.environ.get(env_var)
    if override:
        return Path(override)
    candidates = [folder / name for folder in CONFIG_FOLDERS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return candidates[0]


def countries_file_path() -> Path:
    """The countries file this process uses (see the module docstring for the search order)."""
    return config_file_path(COUNTRIES_FILE_ENV, "countries.yaml")


def _country_label(raw: Any, loc: tuple[Any, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "countries" and isinstance(loc[1], int):
        try:
            code = raw["countries"][loc[1]].get("code")
        except (KeyError, IndexError, TypeError, AttributeError):
            code = None
        return f"country '{code}'" if code else f"country #{loc[1] + 1}"
    return "file level"


def _describe(path: Path, raw: Any, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        field = ".".join(str(part) for part in loc[2:]) if len(loc) > 2 else ".".join(map(str, loc))
        lines.append(f"{path}: {_country_label(raw, loc)}, field '{field or '-'}': {item['msg']}")
    return "invalid countries file:\n  " + "\n  ".join(lines)


def parse_countries(text: str, path: Path) -> CountriesFile:
    """Validate the YAML text of a countries file; ``path`` is used in error messages."""
    try:
        raw = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a SafeLoader (C or Python)
    except yaml.YAMLError as exc:
        raise CountriesConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CountriesConfigError(
            f"{path}: expected a mapping with a 'countries' list at top level"
        )
    try:
        return CountriesFile.model_validate(raw)
    except ValidationError as exc:
        raise CountriesConfigError(_describe(path, raw, exc)) from None


def merge_scheme(country: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A scheme's fields: the country entry's (without ``code``/``schemes``) under its overrides.

    Sections merge key by key at their first level; a value inside a section (``training.hpo``,
    ``endpoint.canary``) and every scalar replace the inherited one whole. Pure: dicts in, dict out.
    """
    merged = {key: value for key, value in country.items() if key not in ("code", "schemes")}
    for key, value in overrides.items():
        inherited = merged.get(key)
        if key in SECTIONS and isinstance(value, Mapping) and isinstance(inherited, Mapping):
            merged[key] = {**inherited, **value}
        else:
            merged[key] = value
    return merged


def _model(country: Country, scheme: str | None = None) -> Model:
    """The model of a validated entry (its fields are exactly a model's, validated)."""
    fields = {name: getattr(country, name) for name in _ModelFields.model_fields}
    return Model.model_construct(country=country.code, scheme=scheme, **fields)


def _scheme_model(path: Path, country: Country, scheme: str, overrides: dict[str, Any]) -> Model:
    where = f"{path}: country '{country.code}', scheme '{scheme}'"
    for reserved in ("code", "schemes", "country", "scheme"):
        if reserved in overrides:
            raise CountriesConfigError(
                f"{where}, field '{reserved}': a scheme cannot set it (it is the entry's)"
            )
    # What the country entry set, not its defaults: a scheme inherits set values, defaults stay.
    fields = merge_scheme(country.model_dump(exclude_unset=True), overrides)
    if "data_prefix" not in overrides:
        fields["data_prefix"] = f"{country.prefix}/{scheme}"
    try:
        # Validated as an entry of the country without schemes: the same fields and rules.
        merged = Country.model_validate({**fields, "code": country.code})
    except ValidationError as exc:
        problems = [
            f"{where}, field '{'.'.join(map(str, item['loc'])) or '-'}': {item['msg']}"
            for item in exc.errors()
        ]
        raise CountriesConfigError("invalid countries file:\n  " + "\n  ".join(problems)) from None
    return _model(merged, scheme)


def resolve_models(countries: CountriesFile, path: Path) -> list[Model]:
    """Every model of the file in file order: each country's default model, then its schemes."""
    models: list[Model] = []
    for country in countries.countries:
        models.append(_model(country))
        for scheme, overrides in country.schemes.items():
            models.append(_scheme_model(path, country, scheme, overrides))
    owners: dict[str, str] = {}
    for model in models:
        if model.prefix in owners:
            raise CountriesConfigError(
                f"{path}: models '{owners[model.prefix]}' and '{model.key}' share the data prefix "
                f"'{model.prefix}/': give one of them its own data_prefix"
            )
        owners[model.prefix] = model.key
    alarms: dict[str, str] = {}
    for model in models:
        for alarm in model.endpoint.rollback_alarms:
            if alarm.name in alarms:
                raise CountriesConfigError(
                    f"{path}: models '{alarms[alarm.name]}' and '{model.key}' both name the "
                    f"rollback alarm '{alarm.name}' (an alarm watches one endpoint): give "
                    f"'{model.key}' endpoint.rollback_alarms of its own"
                )
            alarms[alarm.name] = model.key
    return models


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> tuple[CountriesFile, tuple[Model, ...]]:
    countries = parse_countries(Path(path).read_text(encoding="utf-8"), Path(path))
    return countries, tuple(resolve_models(countries, Path(path)))


def _load(path: Path | None) -> tuple[CountriesFile, tuple[Model, ...]]:
    path = path or countries_file_path()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise CountriesConfigError(
            f"{path}: countries file not found (set {COUNTRIES_FILE_ENV} or create it)"
        ) from None
    return _load_cached(str(path), mtime_ns)


def load_countries(path: Path | None = None) -> CountriesFile:
    """Load and validate the countries file (cached while the file is unchanged)."""
    return _load(path)[0]


def enabled_countries(path: Path | None = None) -> list[Country]:
    """The enabled country entries (a country's schemes are models: see ``enabled_models``)."""
    return [country for country in load_countries(path).countries if country.enabled]


def load_models(path: Path | None = None) -> list[Model]:
    """Every model of the countries file, enabled or not, in file order."""
    return list(_load(path)[1])


def enabled_models(path: Path | None = None) -> list[Model]:
    return [model for model in load_models(path) if model.enabled]


def get_model(key: str, path: Path | None = None) -> Model:
    """One model by key (``de``, ``de-batteries``), enabled or not."""
    for model in load_models(path):
        if model.key == key:
            return model
    raise CountriesConfigError(f"{path or countries_file_path()}: model '{key}' is not configured")


_DAG_ID = re.compile(
    rf"^(?P<kind>{'|'.join(DAG_KINDS)})__(?P<country>{COUNTRY_CODE_PATTERN[1:-1]})"
    rf"(?:__(?P<scheme>{SCHEME_PATTERN[1:-1]}))?$"
)


def models_to_generate(
    kind: str, parsing_dag_id: str | None, path: Path | None = None
) -> list[Model]:
    """Models whose ``<kind>`` DAG this parse builds (one when Airflow asks for one DAG id)."""
    models = enabled_models(path)
    if not parsing_dag_id:
        return models
    match = _DAG_ID.match(parsing_dag_id)
    if not match or match["kind"] != kind:
        return []
    return [m for m in models if m.country == match["country"] and m.scheme == match["scheme"]]
