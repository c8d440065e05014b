"""Data scientists' experiments and registry chores, on the SageMaker Python SDK v3 (.venv-sdk).

    make experiment ARGS="launch gb --set alpha=0.0001 --set max_iter=80"
    make experiment ARGS="packages gb"
    make experiment ARGS="approve gb 3 --reason 'golden set re-checked by hand'"
    make experiment ARGS="reject gb 4 --reason 'trained on the mislabeled March extract'"

``launch`` runs a model's training image as a one-off training job through the SDK's
``ModelTrainer``: the request is the one the ``train`` DAG sends (``mlops.sagemaker_requests``:
image for the instance's accelerator, KMS, VPC, network isolation, spot, stopping condition,
metric definitions) with the given hyperparameters set on top and ``experiment`` tags; its data
is a previous training job's channels (``--data-from``; default: the training job of the model's
newest registered version) or explicit ``--train``/``--validation`` URIs. ``packages`` lists the
model's registry versions (``sagemaker.core`` ``ModelPackage``) with their metrics; ``approve``
and ``reject`` set a version's status with a reason (who and when are recorded with it). They
change the registry only: the winner the deploy and batch DAGs serve stays the evaluate DAG's.

The model is its key (``de``, ``de-batteries``), read from the countries file
(``$MLOPS_COUNTRIES_FILE`` or include/config/countries.yaml); the environment (buckets, role,
KMS key, images) from a settings JSON, the ``mlops_settings`` object Terraform outputs
(``--settings``, ``$MLOPS_SETTINGS_FILE``, default include/config/settings.local.json). AWS
credentials and endpoints are boto3's own: against the local stack, ``AWS_ENDPOINT_URL``.
SDK telemetry is off (``TelemetryOptOut``): nothing is sent anywhere but the endpoint.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import logging
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugins"))

from mlops.config import CountriesConfigError, Model, Training, get_model  # noqa: E402
from mlops.naming import RunIdentity, model_package_group_name  # noqa: E402
from mlops.sagemaker_requests import training_request  # noqa: E402
from mlops.settings import Settings, SettingsError, parse_settings  # noqa: E402
from pydantic import ValidationError  # noqa: E402

SETTINGS_FILE_ENV = "MLOPS_SETTINGS_FILE"
DEFAULT_SETTINGS_FILE = ROOT / "include" / "config" / "settings.local.json"
# The SDK's own configuration, passed to its Session: no usage telemetry leaves the machine.
SDK_CONFIG = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}
MANAGED_BY = "mlops-experiment"
APPROVAL_DESCRIPTION_MAX = 1024
STATUSES = {"approve": "Approved", "reject": "Rejected"}
EXPERIMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ExperimentError(RuntimeError):
    """Something the user can fix: the message names the model, version, job or field."""


# ---------------------------------------------------------------- inputs
def load_settings_file(path: Path) -> Settings:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ExperimentError(f"settings file {path}: {exc.strerror}") from None
    try:
        return parse_settings(text, source=str(path))
    except SettingsError as exc:
        raise ExperimentError(str(exc)) from None


def find_model(key: str) -> Model:
    try:
        return get_model(key)
    except (CountriesConfigError, KeyError, ValueError) as exc:
        raise ExperimentError(str(exc).strip("'\"")) from None


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``["alpha=0.001", "max_iter=80"]`` → hyperparameters (strings, as SageMaker passes them)."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ExperimentError(f"--set '{pair}': expected NAME=VALUE, e.g. --set alpha=0.001")
        overrides[name.strip()] = value.strip()
    return overrides


# ---------------------------------------------------------------- SDK sessions
@functools.cache
def _boto_session(region: str) -> Any:
    import boto3

    return boto3.Session(region_name=region)


def boto_session(settings: Settings) -> Any:
    """One boto3 session per region: the SDK caches its clients per session."""
    return _boto_session(settings.region)


def sdk_session(settings: Settings) -> Any:
    from sagemaker.core.helper.session_helper import Session

    return Session(boto_session=boto_session(settings), sagemaker_config=SDK_CONFIG)


# ---------------------------------------------------------------- registry
def group_name(settings: Settings, model: Model) -> str:
    return model_package_group_name(settings.name_prefix, model.key)


def list_packages(settings: Settings, model: Model, status: str | None = None) -> list[Any]:
    """The model's registry versions, newest first (``sagemaker.core.resources.ModelPackage``)."""
    from botocore.exceptions import ClientError
    from sagemaker.core.resources import ModelPackage

    filters: dict[str, Any] = {"model_approval_status": status} if status else {}
    try:
        return list(
            ModelPackage.get_all(
                model_package_group_name=group_name(settings, model),
                sort_by="CreationTime",
                sort_order="Descending",
                session=boto_session(settings),
                region=settings.region,
                **filters,
            )
        )
    except ClientError as exc:
        raise ExperimentError(
            f"model {model.key}: cannot list registry group {group_name(settings, model)}: "
            f"{exc.response['Error'].get('Message', exc)}"
        ) from None


def package_metrics(package: Any) -> dict[str, str]:
    """A version's quality record: training metrics (``metric_*``) and evaluation URIs."""
    metadata = _assigned(package.customer_metadata_properties) or {}
    metrics = {
        key.removeprefix("metric_"): value
        for key, value in sorted(metadata.items())
        if key.startswith("metric_")
    }
    for key in ("evaluation_report_uri", "evaluation_metrics_uri"):
        if key in metadata:
            metrics[key.removeprefix("evaluation_").removesuffix("_uri")] = metadata[key]
    return metrics


def find_version(settings: Settings, model: Model, version: int) -> Any:
    for package in list_packages(settings, model):
        if package.model_package_version == version:
            return package
    raise ExperimentError(
        f"model {model.key}: registry group {group_name(settings, model)} has no version {version}"
        " (list them with: packages " + model.key + ")"
    )


def approval_description(decision: str, reason: str, by: str, at: datetime) -> str:
    """``manual approve by alice at <ISO>: <reason>``, as the evaluate DAG words its approvals."""
    reason = " ".join(reason.split())
    if not reason:
        raise ExperimentError(f"{decision}: --reason must say why (it is the version's record)")
    text = f"manual {decision} by {by} at {at.isoformat(timespec='seconds')}: {reason}"
    if len(text) > APPROVAL_DESCRIPTION_MAX:
        raise ExperimentError(
            f"{decision}: the reason is too long ({len(text)} characters with who and when; "
            f"SageMaker keeps {APPROVAL_DESCRIPTION_MAX})"
        )
    return text


def set_status(
    settings: Settings, model: Model, version: int, decision: str, reason: str, by: str
) -> Any:
    """Approve or reject one version; returns it as the registry now holds it."""
    from sagemaker.core.resources import ModelPackage

    description = approval_description(decision, reason, by, datetime.now(UTC))
    listed = find_version(settings, model, version)
    # Bound by its ARN alone: update() re-reads the package by model_package_name when it has
    # one, and a versioned package's name is its group's, which names no package ("ModelPackage
    # <group> does not exist"); with the ARN only, the SDK re-reads it by ARN.
    package = ModelPackage(model_package_arn=listed.model_package_arn)
    package._set_client_context(session=boto_session(settings), region=settings.region)
    return package.update(
        model_approval_status=STATUSES[decision], approval_description=description
    )


# ---------------------------------------------------------------- experiments
def source_data(settings: Settings, job_name: str) -> tuple[dict[str, str], str]:
    """A previous training job's channels (name → S3 URI) and data month (``sagemaker.core``
    ``TrainingJob``)."""
    from botocore.exceptions import ClientError
    from sagemaker.core.resources import TrainingJob

    try:
        job = TrainingJob.get(job_name, session=boto_session(settings), region=settings.region)
    except ClientError as exc:
        raise ExperimentError(
            f"training job {job_name}: {exc.response['Error'].get('Message', exc)}"
        ) from None
    channels = {
        channel.channel_name: channel.data_source.s3_data_source.s3_uri
        for channel in _assigned(job.input_data_config) or []
    }
    missing = {"train", "validation"} - channels.keys()
    if missing:
        raise ExperimentError(f"training job {job_name} has no {sorted(missing)} channel")
    month = (_assigned(job.hyper_parameters) or {}).get("data_month", "unknown")
    return channels, str(month)


def newest_training_job(settings: Settings, model: Model) -> str:
    for package in list_packages(settings, model):
        job = (_assigned(package.customer_metadata_properties) or {}).get("training_job_name")
        if job:
            return str(job)
    raise ExperimentError(
        f"model {model.key}: no registered version names its training job, so there is no data "
        "to reuse: pass --data-from <training job> or --train and --validation S3 URIs"
    )


def with_instance_type(model: Model, instance_type: str | None) -> Model:
    """The model trained on another instance type, validated as the countries file's field is
    (the instance's accelerator also picks the image)."""
    if not instance_type:
        return model
    try:
        training = Training.model_validate(
            model.training.model_dump() | {"instance_type": instance_type}
        )
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise ExperimentError(f"--instance-type '{instance_type}': {problem}") from None
    return model.model_copy(update={"training": training})


def experiment_request(
    settings: Settings,
    model: Model,
    *,
    name: str,
    data_month: str,
    train_uri: str,
    validation_uri: str,
    overrides: dict[str, str],
) -> dict[str, Any]:
    """The ``train`` DAG's training request for this model, with the experiment's changes."""
    run = RunIdentity(run_id=f"experiment/{name}", data_month=data_month, code_version="experiment")
    request = training_request(settings, model, run, train_uri, validation_uri, tuned=overrides)
    request["Tags"] = [
        *(t for t in request["Tags"] if t["Key"] != "managed_by"),
        {"Key": "managed_by", "Value": MANAGED_BY},
        {"Key": "experiment", "Value": name},
    ]
    return request


def model_trainer(settings: Settings, request: dict[str, Any], base_job_name: str) -> Any:
    """A ``sagemaker.train.ModelTrainer`` carrying ``request`` (boto3 shape) field by field."""
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import (
        CheckpointConfig,
        Compute,
        MetricDefinition,
        Networking,
        OutputDataConfig,
        StoppingCondition,
        Tag,
    )

    algorithm = request["AlgorithmSpecification"]
    resources = request["ResourceConfig"]
    stopping = request["StoppingCondition"]
    vpc = request.get("VpcConfig") or {}
    checkpoint = request.get("CheckpointConfig")
    trainer = ModelTrainer(
        sagemaker_session=sdk_session(settings),
        role=request["RoleArn"],
        base_job_name=base_job_name,
        training_image=algorithm["TrainingImage"],
        training_input_mode=algorithm["TrainingInputMode"],
        compute=Compute(
            instance_type=resources["InstanceType"],
            instance_count=resources["InstanceCount"],
            volume_size_in_gb=resources["VolumeSizeInGB"],
            volume_kms_key_id=resources["VolumeKmsKeyId"],
            enable_managed_spot_training=request.get("EnableManagedSpotTraining", False),
        ),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=stopping["MaxRuntimeInSeconds"],
            **(
                {"max_wait_time_in_seconds": stopping["MaxWaitTimeInSeconds"]}
                if "MaxWaitTimeInSeconds" in stopping
                else {}
            ),
        ),
        networking=Networking(
            subnets=vpc.get("Subnets"),
            security_group_ids=vpc.get("SecurityGroupIds"),
            enable_network_isolation=request["EnableNetworkIsolation"],
            enable_inter_container_traffic_encryption=request[
                "EnableInterContainerTrafficEncryption"
            ],
        ),
        output_data_config=OutputDataConfig(
            s3_output_path=request["OutputDataConfig"]["S3OutputPath"],
            kms_key_id=request["OutputDataConfig"]["KmsKeyId"],
        ),
        checkpoint_config=(
            CheckpointConfig(s3_uri=checkpoint["S3Uri"], local_path=checkpoint["LocalPath"])
            if checkpoint
            else None
        ),
        hyperparameters=dict(request["HyperParameters"]),
        tags=[Tag(key=t["Key"], value=t["Value"]) for t in request["Tags"]],
    )
    return trainer.with_metric_definitions(
        [MetricDefinition(name=m["Name"], regex=m["Regex"]) for m in algorithm["MetricDefinitions"]]
    )


def launch(
    settings: Settings,
    model: Model,
    *,
    name: str,
    data_month: str,
    channels: dict[str, str],
    overrides: dict[str, str],
    wait: bool = True,
    logs: bool = False,
    timeout: int | None = None,
    poll: int = 5,
) -> Any:
    """Start the experiment's training job; with ``wait``, until it ends. Returns the job."""
    from sagemaker.core.utils.exceptions import FailedStatusError, TimeoutExceededError
    from sagemaker.train.configs import InputData

    request = experiment_request(
        settings,
        model,
        name=name,
        data_month=data_month,
        train_uri=channels["train"],
        validation_uri=channels["validation"],
        overrides=overrides,
    )
    trainer = model_trainer(
        settings, request, base_job_name=f"{settings.name_prefix}-{model.key}-x"
    )
    trainer.train(
        input_data_config=[
            InputData(
                channel_name=c["ChannelName"],
                data_source=c["DataSource"]["S3DataSource"]["S3Uri"],
                content_type=c.get("ContentType"),
            )
            for c in request["InputDataConfig"]
        ],
        wait=False,
    )
    # The SDK keeps the job it started here (its own examples read it the same way).
    job = trainer._latest_training_job
    if wait:
        try:
            job.wait(poll=poll, timeout=timeout, logs=logs)
        except FailedStatusError:
            job.refresh()  # Failed or Stopped: describe_job prints why
        except TimeoutExceededError:
            job.refresh()  # still running: it keeps its own StoppingCondition
    return job


# ---------------------------------------------------------------- output
def _assigned(value: Any) -> Any:
    """sagemaker-core marks absent fields ``Unassigned()``: None for those."""
    from sagemaker.core.utils.utils import Unassigned

    return None if isinstance(value, Unassigned) else value


def describe_job(job: Any) -> str:
    lines = [f"training job {job.training_job_name}: {job.training_job_status}"]
    reason = _assigned(job.failure_reason)
    if reason:
        lines.append(f"  failure: {reason}")
    for metric in _assigned(job.final_metric_data_list) or []:
        lines.append(f"  {metric.metric_name} = {metric.value:.6f}")
    artifacts = _assigned(job.model_artifacts)
    if artifacts:
        lines.append(f"  model: {artifacts.s3_model_artifacts}")
    hyperparameters = _assigned(job.hyper_parameters) or {}
    lines.append(
        "  hyperparameters: " + ", ".join(f"{k}={v}" for k, v in sorted(hyperparameters.items()))
    )
    return "\n".join(lines)


def describe_package(package: Any) -> str:
    metadata = _assigned(package.customer_metadata_properties) or {}
    head = (
        f"v{package.model_package_version}  {package.model_approval_status:<22}"
        f"  {metadata.get('data_month', '-'):<7}  {package.creation_time:%Y-%m-%d %H:%M}"
    )
    metrics = "  ".join(f"{k}={v}" for k, v in package_metrics(package).items()) or "no metrics"
    lines = [head, f"    {metrics}"]
    description = _assigned(package.approval_description)
    if description:
        lines.append(f"    approval: {description}")
    return "\n".join(lines)


# ---------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="experiment", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--settings",
        type=Path,
        default=Path(os.environ.get(SETTINGS_FILE_ENV) or DEFAULT_SETTINGS_FILE),
        help=f"settings JSON (the mlops_settings object; ${SETTINGS_FILE_ENV})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("launch", help="run the model's training image with overrides")
    run.add_argument("model", help="model key: de, de-batteries, ...")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--name", help="experiment name (tag; default: <user>-<UTC time>)")
    run.add_argument("--data-from", metavar="JOB", help="reuse this training job's channels")
    run.add_argument("--train", metavar="S3_URI")
    run.add_argument("--validation", metavar="S3_URI")
    run.add_argument("--data-month", help="YYYY-MM the data is from (a hyperparameter)")
    run.add_argument("--instance-type", help="instead of training.instance_type")
    run.add_argument("--no-wait", action="store_true", help="return once the job is created")
    run.add_argument("--logs", action="store_true", help="stream the job's CloudWatch logs")
    run.add_argument("--timeout", type=int, help="seconds to wait at most")
    run.add_argument("--poll", type=int, default=5, help="seconds between status checks")

    packages = commands.add_parser("packages", help="list the model's registry versions")
    packages.add_argument("model")
    packages.add_argument("--status", choices=["Approved", "Rejected", "PendingManualApproval"])

    for decision in STATUSES:
        command = commands.add_parser(decision, help=f"{decision} one registry version")
        command.add_argument("model")
        command.add_argument("version", type=int, help="the version number (see packages)")
        command.add_argument("--reason", required=True)
        command.add_argument("--by", default=getpass.getuser(), help="who decides (default: you)")
    return parser


def _channels(
    args: argparse.Namespace, settings: Settings, model: Model
) -> tuple[dict[str, str], str]:
    """The experiment's data and its month, from the flags (see ``launch --help``)."""
    if args.data_month and not MONTH.match(args.data_month):
        raise ExperimentError(f"--data-month '{args.data_month}': expected YYYY-MM")
    if args.train or args.validation:
        if not (args.train and args.validation) or args.data_from:
            raise ExperimentError("launch: give --train and --validation together, or --data-from")
        if not args.data_month:
            raise ExperimentError("launch: --train/--validation need --data-month (YYYY-MM)")
        return {"train": args.train, "validation": args.validation}, args.data_month
    channels, month = source_data(settings, args.data_from or newest_training_job(settings, model))
    return channels, args.data_month or month


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    if getattr(args, "logs", False):
        # The SDK logs the job's CloudWatch lines at INFO from its resources module.
        logging.getLogger("sagemaker.core.resources").setLevel(logging.INFO)
    try:
        settings = load_settings_file(args.settings)
        model = find_model(args.model)
        if args.command == "launch":
            overrides = parse_overrides(args.overrides)
            model = with_instance_type(model, args.instance_type)
            name = args.name or f"{getpass.getuser()}-{datetime.now(UTC):%Y%m%d%H%M%S}"
            if not EXPERIMENT_NAME.match(name):
                raise ExperimentError(
                    f"--name '{name}': 1-64 letters, digits, '.', '_' or '-', starting with a "
                    "letter or digit (it is a tag value)"
                )
            channels, month = _channels(args, settings, model)
            job = launch(
                settings,
                model,
                name=name,
                data_month=month,
                channels=channels,
                overrides=overrides,
                wait=not args.no_wait,
                logs=args.logs,
                timeout=args.timeout,
                poll=args.poll,
            )
            print(describe_job(job))
            expected = ("InProgress", "Completed") if args.no_wait else ("Completed",)
            return 0 if job.training_job_status in expected else 1
        if args.command == "packages":
            found = list_packages(settings, model, args.status)
            print(f"{group_name(settings, model)}: {len(found)} version(s)")
            for package in found:
                print(describe_package(package))
            return 0
        package = set_status(settings, model, args.version, args.command, args.reason, args.by)
        print(describe_package(package))
        return 0
    except ExperimentError as exc:
        print(f"experiment: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
