"""The run params of each DAG kind, in one place: what an operator may change for one run.

From the same specs come
- ``airflow_params(kind, model)``: the DAG's ``params`` (the trigger form: typed, validated,
  titled), with the model's configured values as defaults and, for ``instance_type``, the
  model's own allowed types;
- ``conf_schema(kind)``: the JSON schema of a run's conf for a kind, model-agnostic (any allowed
  instance type, no defaults, no unknown keys), which the trigger Lambda and ``trigger-dag``
  validate against before anything reaches Airflow. It ships with the Lambda as a generated file
  (``include/trigger_lambda/conf_schemas.json``: ``python -m mlops.params --write``);
- ``model_for_train``/``model_for_deploy``/``model_for_batch``: the model a run uses, the params
  applied and re-validated by the config's own pydantic rules (so ``hpo_max_parallel_jobs >
  hpo_max_jobs`` fails naming both fields).

Kept import-light (no Airflow at module level): DAG files import it at parse time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from annotated_types import Ge, Le
from pydantic import ValidationError

from mlops.config import DAG_KINDS, Canary, Hpo, Model

if TYPE_CHECKING:
    from airflow.sdk import Param

MONTH_PATTERN = r"^(\d{4}-(0[1-9]|1[0-2]))?$"
MODEL_PACKAGE_ARN_PATTERN = r"^(arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/.+)?$"
# What the training image always gets from the run (sagemaker_requests.static_hyperparameters):
# given hyperparameters may not replace them.
RESERVED_HYPERPARAMETERS = ("algorithm", "country", "data_month", "code_table_version")
HYPERPARAMETER_NAME_PATTERN = (
    rf"^(?!({'|'.join(RESERVED_HYPERPARAMETERS)})$)[A-Za-z][A-Za-z0-9_.-]{{0,63}}$"
)
# Training instance types a run may pick, by the accelerator of the model's configured type: the
# image (CPU/CUDA or Neuron) and the algorithm stay those the model is configured for.
TRAINING_INSTANCE_TYPES: dict[str, tuple[str, ...]] = {
    "cpu": (
        "ml.c5.2xlarge",
        "ml.c5.4xlarge",
        "ml.c5.xlarge",
        "ml.m5.2xlarge",
        "ml.m5.4xlarge",
        "ml.m5.large",
        "ml.m5.xlarge",
    ),
    "gpu": (
        "ml.g4dn.2xlarge",
        "ml.g4dn.xlarge",
        "ml.g5.2xlarge",
        "ml.g5.4xlarge",
        "ml.g5.8xlarge",
        "ml.g5.xlarge",
    ),
    "trainium": ("ml.trn1.2xlarge", "ml.trn1.32xlarge"),
}
CANARY_PERCENT_RANGE = (1, 50)
CONF_SCHEMAS_FILE = (
    Path(__file__).resolve().parents[2] / "include" / "trigger_lambda" / "conf_schemas.json"
)


class ParamsError(ValueError):
    """A run's params cannot apply to its model; the message names the DAG and the field."""


def _bounds(model: type[Any], field: str) -> dict[str, int]:
    """``minimum``/``maximum`` of a config field, read from its pydantic constraints."""
    bounds: dict[str, int] = {}
    for item in model.model_fields[field].metadata:
        if isinstance(item, Ge):
            bounds["minimum"] = int(item.ge)  # type: ignore[call-overload]
        elif isinstance(item, Le):
            bounds["maximum"] = int(item.le)  # type: ignore[call-overload]
    return bounds


def _month(what: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": MONTH_PATTERN,
        "title": "Data month",
        "description": f"YYYY-MM of the {what} data; empty: the previous month",
    }


def _package(title: str, description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": MODEL_PACKAGE_ARN_PATTERN,
        "title": title,
        "description": description,
    }


def training_instance_types(model: Model | None) -> list[str]:
    """The training instance types a run of ``model`` may use (``None``: of any model)."""
    if model is None:
        return sorted({t for types in TRAINING_INSTANCE_TYPES.values() for t in types})
    allowed = set(TRAINING_INSTANCE_TYPES[model.training.accelerator])
    return sorted(allowed | {model.training.instance_type})


def param_specs(kind: str, model: Model | None = None) -> dict[str, dict[str, Any]]:
    """Name → JSON schema of each param of ``kind``; with ``model``, its defaults and enums."""
    defaults: dict[str, Any] = {}
    if kind == "train":
        specs: dict[str, dict[str, Any]] = {
            "data_month": _month("labeled"),
            "hyperparameters": {
                "type": ["null", "object"],
                "propertyNames": {"pattern": HYPERPARAMETER_NAME_PATTERN},
                "additionalProperties": {"type": "string", "maxLength": 256},
                "title": "Skip tuning: train with these hyperparameters",
                "description": 'an object of string values, e.g. {"learning_rate": "0.001"}; '
                "when set, the tune task is skipped and the training job uses them (over the "
                "model's configured ones). Empty (null): tune as configured",
            },
            "hpo_max_jobs": {
                "type": "integer",
                **_bounds(Hpo, "max_jobs"),
                "title": "HPO budget: training jobs",
                "description": "how many training jobs the tuning job may run in all",
            },
            "hpo_max_parallel_jobs": {
                "type": "integer",
                **_bounds(Hpo, "max_parallel_jobs"),
                "title": "HPO budget: parallel jobs",
                "description": "how many of them at once (at most the training jobs)",
            },
            "instance_type": {
                "type": "string",
                "enum": training_instance_types(model),
                "title": "Training instance type",
                "description": "of the model's accelerator family (the image and the "
                "algorithm stay the model's)",
            },
        }
        if model is not None:
            hpo = model.training.hpo
            defaults = {
                "data_month": "",
                "hyperparameters": None,
                "hpo_max_jobs": hpo.max_jobs,
                "hpo_max_parallel_jobs": hpo.max_parallel_jobs,
                "instance_type": model.training.instance_type,
            }
    elif kind == "evaluate":
        specs = {
            "model_package_arn": _package(
                "Challenger model package ARN",
                "empty: the triggering asset event's package, else the newest "
                "PendingManualApproval version of the model's group",
            ),
            "champion_package_arn": _package(
                "Champion override: model package ARN",
                "compare against this version instead of the current winner (the winners "
                "table is still updated only if the challenger wins); empty: the current winner",
            ),
        }
        defaults = {"model_package_arn": "", "champion_package_arn": ""}
    elif kind == "deploy":
        low, high = CANARY_PERCENT_RANGE
        specs = {
            "model_package_arn": _package(
                "Model package ARN",
                "an Approved version of the model's group; empty: the current winner",
            ),
            "canary_percent": {
                "type": ["null", "integer"],
                "minimum": low,
                "maximum": high,
                "title": "Canary: percent of capacity",
                "description": f"{low}-{high}: shift this share first (blue/green); "
                "empty (null): as configured",
            },
        }
        defaults = {"model_package_arn": "", "canary_percent": None}
    elif kind == "batch_inference":
        specs = {
            "data_month": _month("unlabeled"),
            "review_threshold": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "title": "Review threshold",
                "description": "items scored below this confidence get needs_review",
            },
        }
        if model is not None:
            defaults = {
                "data_month": "",
                "review_threshold": model.batch_inference.review_threshold,
            }
    else:
        raise ValueError(f"DAG kind '{kind}' is not one of {', '.join(DAG_KINDS)}")
    if model is None:
        return specs
    return {name: {**spec, "default": defaults[name]} for name, spec in specs.items()}


class ParamSchema(dict[str, Any]):
    """A ``Param``'s JSON schema, read-only, that deep-copies as itself.

    Airflow deep-copies a DAG's params into every task it builds, once per class of the task's
    MRO (``BaseOperator``'s ``apply_defaults``): ten copies of every schema per task were a
    third of the product's parse time. Nothing changes a schema once the DAG is built, so the
    copies share it; changing it raises. Serialized like any dict.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> ParamSchema:
        return self

    def __copy__(self) -> ParamSchema:
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickled through its constructor, not setitem
        return ParamSchema, (dict(self),)

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a param's schema is shared by every task's copy of the params: read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only


# The draft the params' schemas declare: DAG construction validates every default against its
# schema (jsonschema.validate, which first checks the schema against its draft's metaschema),
# and draft 7's metaschema checks in a fraction of the latest draft's time. The keywords the
# specs use mean the same in both.
PARAM_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


def airflow_params(kind: str, model: Model) -> dict[str, Param]:
    """The DAG's ``params``: one ``Param`` per spec, defaulting to the model's configuration."""
    from airflow.sdk import Param

    params = {}
    for name, spec in param_specs(kind, model).items():
        schema = {"$schema": PARAM_SCHEMA_DRAFT, **spec}
        default, description = schema.pop("default"), schema.pop("description")
        params[name] = Param(default, description, schema=ParamSchema(schema))
    return params


def conf_schema(kind: str) -> dict[str, Any]:
    """The JSON schema of a run conf of ``kind`` (any model): known keys only."""
    return {
        "type": "object",
        "properties": param_specs(kind),
        "additionalProperties": False,
    }


def conf_schemas() -> dict[str, dict[str, Any]]:
    """``{kind: conf_schema(kind)}``: what ``conf_schemas.json`` holds."""
    return {kind: conf_schema(kind) for kind in DAG_KINDS}


def conf_schemas_text() -> str:
    return json.dumps(conf_schemas(), indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------- applying a run's params
def _rebuilt(model: Model, dag_id: str, section: str, fields: dict[str, Any]) -> Model:
    """``model`` with ``section`` rebuilt from its fields plus ``fields``, validated."""
    current = getattr(model, section)
    try:
        rebuilt = type(current).model_validate({**current.model_dump(), **fields})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, item['loc'])) or section}: {item['msg']}" for item in exc.errors()
        )
        raise ParamsError(f"{dag_id}: params {sorted(fields)} do not fit: {problems}") from None
    return model.model_copy(update={section: rebuilt})


def given_hyperparameters(params: Mapping[str, Any]) -> dict[str, str] | None:
    """The ``hyperparameters`` param (None: tune as configured)."""
    value = params.get("hyperparameters")
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise ParamsError("param 'hyperparameters' must be an object of string values")
    reserved = sorted(set(value) & set(RESERVED_HYPERPARAMETERS))
    if reserved:
        raise ParamsError(f"param 'hyperparameters' may not set {reserved} (the run's own)")
    return {str(k): v for k, v in value.items()}


def model_for_train(model: Model, params: Mapping[str, Any]) -> Model:
    """The model a train run uses: its HPO budget and instance type as the params say."""
    dag_id = model.dag_id("train")
    instance_type = params.get("instance_type") or model.training.instance_type
    if instance_type not in training_instance_types(model):
        raise ParamsError(
            f"{dag_id}: param 'instance_type' must be one of {training_instance_types(model)} "
            f"(the {model.training.accelerator} family of the model)"
        )
    hpo = model.training.hpo
    budget = {
        "max_jobs": params.get("hpo_max_jobs") or hpo.max_jobs,
        "max_parallel_jobs": params.get("hpo_max_parallel_jobs") or hpo.max_parallel_jobs,
    }
    if budget != {"max_jobs": hpo.max_jobs, "max_parallel_jobs": hpo.max_parallel_jobs}:
        try:
            tuned = Hpo.model_validate({**hpo.model_dump(), **budget})
        except ValidationError as exc:
            raise ParamsError(
                f"{dag_id}: params 'hpo_max_jobs'/'hpo_max_parallel_jobs': {exc.errors()[0]['msg']}"
            ) from None
        model = _rebuilt(model, dag_id, "training", {"hpo": tuned})
    if instance_type != model.training.instance_type:
        model = _rebuilt(model, dag_id, "training", {"instance_type": instance_type})
    return model


def model_for_deploy(model: Model, params: Mapping[str, Any]) -> Model:
    """The model a deploy run uses: its canary's percent as the ``canary_percent`` param says."""
    percent = params.get("canary_percent")
    if percent is None:
        return model
    dag_id = model.dag_id("deploy")
    low, high = CANARY_PERCENT_RANGE
    if not isinstance(percent, int) or not low <= percent <= high:
        raise ParamsError(f"{dag_id}: param 'canary_percent' must be an integer {low}-{high}")
    if model.endpoint.serverless is not None:
        raise ParamsError(
            f"{dag_id}: param 'canary_percent': the model's endpoint is serverless, which has "
            "no blue/green canary; leave it empty"
        )
    canary = model.endpoint.canary or Canary()
    return _rebuilt(
        model, dag_id, "endpoint", {"canary": canary.model_copy(update={"percent": percent})}
    )


def model_for_batch(model: Model, params: Mapping[str, Any]) -> Model:
    """The model a batch run uses: its review threshold as the ``review_threshold`` param says."""
    threshold = params.get("review_threshold")
    if threshold is None or threshold == model.batch_inference.review_threshold:
        return model
    return _rebuilt(
        model, model.dag_id("batch_inference"), "batch_inference", {"review_threshold": threshold}
    )


def main(argv: list[str]) -> int:
    """``--write``: regenerate conf_schemas.json; ``--check``: fail if it is stale."""
    text = conf_schemas_text()
    if argv == ["--write"]:
        CONF_SCHEMAS_FILE.write_text(text, encoding="utf-8")
        return 0
    if argv == ["--check"]:
        if CONF_SCHEMAS_FILE.read_text(encoding="utf-8") != text:
            print(f"{CONF_SCHEMAS_FILE} is stale: run python -m mlops.params --write")
            return 1
        return 0
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
