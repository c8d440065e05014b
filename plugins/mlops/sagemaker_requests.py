"""Pure builders of every SageMaker request the DAGs send.

Inputs: environment settings, one model's config (a ``Model``: a country and one of its schemes),
the run identity, and values read from upstream XCom (URIs, names, hyperparameters). Outputs:
dicts shaped exactly as boto3's ``sagemaker`` client takes them, called *requests* throughout
(tests validate each against botocore's service model). Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlops.config import Model
from mlops.naming import (
    RunIdentity,
    endpoint_name,
    job_name,
    model_package_group_name,
    run_digest,
)
from mlops.settings import Settings

PRIMARY_METRIC = "validation:macro_f1"
METRIC_DEFINITIONS = [
    {"Name": "validation:macro_f1", "Regex": r"validation:macro_f1=([0-9.]+);"},
    {"Name": "validation:accuracy", "Regex": r"validation:accuracy=([0-9.]+);"},
    {"Name": "train:loss", "Regex": r"train:loss=([0-9.]+);"},
]
JSONLINES = "application/jsonlines"
PREPARE_OUTPUTS = ("train", "validation", "test_features", "test_labels", "profile")


# ---------------------------------------------------------------- shared pieces
def s3_uri(bucket: str, *parts: str) -> str:
    return "s3://" + "/".join([bucket, *(p.strip("/") for p in parts if p)]) + "/"


def _name(settings: Settings, model: Model, kind: str, run: RunIdentity) -> str:
    return job_name(settings.name_prefix, model.country, kind, run.run_id, scheme=model.scheme)


def run_prefix(model: Model, run: RunIdentity) -> str:
    """Where one run's artifacts live in the model bucket."""
    return f"{model.prefix}/runs/{run_digest(run.run_id, model.scheme)}"


# A month of the data layout in an IAM key pattern ('?' is one character): 2000-01 to 2999-12, the
# months the landing filters accept (mlops.events).
MONTH_KEY_PATTERN = "2???-??"


def sagemaker_output_prefixes(model: Model) -> dict[str, list[str]]:
    """Where the model's SageMaker jobs and endpoint write, per bucket (``data``, ``model``), as
    IAM key patterns: the execution role may write there and nowhere else (its labeled data,
    code tables and golden sets stay read-only). Terraform reads them from the file
    scripts/terraform_models.py writes; a test checks every request's outputs fall under them."""
    return {
        "data": [f"{model.prefix}/{MONTH_KEY_PATTERN}/predictions/"],
        "model": [f"{model.prefix}/runs/", data_capture_prefix(model)],
    }


def golden_set_uris(settings: Settings, model: Model, code_table_version: str) -> dict[str, str]:
    """Where a model's golden set of ``code_table_version`` lives in the data bucket.

    ``<data prefix>/golden/<code_table_version>/`` holding ``features.jsonl`` (prepare's
    ``test_features`` shape) and ``labels.jsonl`` (``item_id``, ``label``): a fixed, verified
    labeled set, versioned with the code table, on which every evaluation scores both models.
    Derived, not configured: the version is the one the challenger was trained against.
    """
    base = s3_uri(settings.data_bucket, model.prefix, "golden", code_table_version)
    return {
        "code_table_version": code_table_version,
        "uri": base,
        "features_uri": base + "features.jsonl",
        "labels_uri": base + "labels.jsonl",
    }


def tags(model: Model, run: RunIdentity) -> list[dict[str, str]]:
    """Tags of every SageMaker resource: country (and scheme), run, code version."""
    # Tag values allow a limited alphabet; Airflow run ids carry ':' and '+', so keep them legible.
    safe_run = "".join(c if c.isalnum() or c in "_.:/=+-@ " else "-" for c in run.run_id)[:256]
    owner = [{"Key": "country", "Value": model.country}]
    if model.scheme is not None:
        owner.append({"Key": "scheme", "Value": model.scheme})
    return [
        *owner,
        {"Key": "run_id", "Value": safe_run},
        {"Key": "code_version", "Value": run.code_version[:256] or "unknown"},
        {"Key": "managed_by", "Value": "mlops-airflow"},
    ]


def vpc_config(settings: Settings) -> dict[str, Any] | None:
    if not settings.subnet_ids:
        return None
    return {
        "Subnets": list(settings.subnet_ids),
        "SecurityGroupIds": list(settings.security_group_ids),
    }


def _with_vpc(
    request: dict[str, Any], settings: Settings, key: str = "VpcConfig"
) -> dict[str, Any]:
    vpc = vpc_config(settings)
    if vpc:
        request[key] = vpc
    return request


def _s3_input(name: str, uri: str, content_type: str | None = JSONLINES) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "InputMode": "File",
    }
    if content_type:
        channel["ContentType"] = content_type
    return channel


def _processing_input(name: str, uri: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": f"/opt/ml/processing/input/{name}",
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
        },
    }


def _processing_output(name: str, uri: str) -> dict[str, Any]:
    return {
        "OutputName": name,
        "S3Output": {
            "S3Uri": uri,
            "LocalPath": f"/opt/ml/processing/output/{name}",
            "S3UploadMode": "EndOfJob",
        },
    }


def _processing_job(
    *,
    name: str,
    command: str,
    settings: Settings,
    model: Model,
    run: RunIdentity,
    inputs: list[dict[str, Any]],
    outputs: list[dict[str, Any]],
    environment: dict[str, str],
    max_runtime: int,
) -> dict[str, Any]:
    network: dict[str, Any] = {"EnableNetworkIsolation": settings.enable_network_isolation}
    _with_vpc(network, settings)
    return {
        "ProcessingJobName": name,
        "RoleArn": settings.sagemaker_execution_role_arn,
        "AppSpecification": {
            "ImageUri": settings.processing_image_uri,
            "ContainerEntrypoint": [command],
        },
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {"Outputs": outputs, "KmsKeyId": settings.kms_key_arn},
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": 1,
                "InstanceType": model.processing.instance_type,
                "VolumeSizeInGB": model.processing.volume_size_gb,
                "VolumeKmsKeyId": settings.kms_key_arn,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": max_runtime},
        "Environment": environment,
        "NetworkConfig": network,
        "Tags": tags(model, run),
    }


def processing_outputs(description: dict[str, Any]) -> dict[str, str]:
    """Output name → S3 URI, read from a processing job's request or DescribeProcessingJob."""
    return {
        output["OutputName"]: output["S3Output"]["S3Uri"]
        for output in description["ProcessingOutputConfig"]["Outputs"]
    }


# ---------------------------------------------------------------- train
PROFILE_FILE = "profile.json"
REFERENCE_PROFILE_INPUT = "reference_profile"


def prepare_request(
    settings: Settings, model: Model, run: RunIdentity, *, reference_profile_uri: str = ""
) -> dict[str, Any]:
    """Processing job ``prepare``: validate the month's labeled data, gate it and split it.

    ``reference_profile_uri``: the profile.json of the model's last accepted month (its winner's
    ``profile_uri``), the drift gates' reference; empty on a first month (drift gates skipped).
    The gates' thresholds (``model.gates``) go in as ``GATE_<FIELD>`` environment variables.
    """
    base = run_prefix(model, run)
    inputs = [
        _processing_input(
            "labeled", s3_uri(settings.data_bucket, model.prefix, run.data_month, "labeled")
        ),
        _processing_input(
            "code_table",
            f"s3://{settings.data_bucket}/{model.prefix}/code_tables/"
            f"{model.code_table_version}.json",
        ),
    ]
    if reference_profile_uri:
        inputs.append(_processing_input(REFERENCE_PROFILE_INPUT, reference_profile_uri))
    return _processing_job(
        name=_name(settings, model, "prepare", run),
        command="prepare",
        settings=settings,
        model=model,
        run=run,
        inputs=inputs,
        outputs=[
            _processing_output(name, s3_uri(settings.model_bucket, base, "prepare", name))
            for name in PREPARE_OUTPUTS
        ],
        environment={
            "COUNTRY": model.country,
            "DATA_MONTH": run.data_month,
            "CODE_TABLE_VERSION": model.code_table_version,
            "SPLIT_SEED": str(model.processing.split_seed),
            **model.gates.environment(),
        },
        max_runtime=model.processing.max_runtime_seconds,
    )


def profile_uri(prepared_description: dict[str, Any]) -> str:
    """The S3 URI of the profile.json a prepare job wrote (its ``profile`` output)."""
    return processing_outputs(prepared_description)["profile"] + PROFILE_FILE


def _training_image(settings: Settings, model: Model) -> str:
    if model.training.accelerator == "trainium":
        return settings.training_neuron_image_uri
    return settings.training_image_uri


def static_hyperparameters(model: Model, run: RunIdentity) -> dict[str, str]:
    return {
        **model.training.hyperparameters,
        "algorithm": model.training.algorithm,
        "country": model.country,
        "data_month": run.data_month,
        "code_table_version": model.code_table_version,
    }


def _training_definition(
    settings: Settings, model: Model, run: RunIdentity, train_uri: str, validation_uri: str
) -> dict[str, Any]:
    """The parts shared by a tuning job's TrainingJobDefinition and a training job."""
    profile = model.training
    base = run_prefix(model, run)
    definition: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingImage": _training_image(settings, model),
            "TrainingInputMode": "File",
            "MetricDefinitions": [dict(m) for m in METRIC_DEFINITIONS],
        },
        "RoleArn": settings.sagemaker_execution_role_arn,
        "InputDataConfig": [
            _s3_input("train", train_uri),
            _s3_input("validation", validation_uri),
        ],
        "OutputDataConfig": {
            "S3OutputPath": s3_uri(settings.model_bucket, base, "training"),
            "KmsKeyId": settings.kms_key_arn,
        },
        "ResourceConfig": {
            "InstanceType": profile.instance_type,
            "InstanceCount": profile.instance_count,
            "VolumeSizeInGB": profile.volume_size_gb,
            "VolumeKmsKeyId": settings.kms_key_arn,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": profile.max_runtime_seconds},
        "EnableNetworkIsolation": settings.enable_network_isolation,
        "EnableInterContainerTrafficEncryption": profile.instance_count > 1,
    }
    if profile.use_spot:
        definition["EnableManagedSpotTraining"] = True
        definition["StoppingCondition"]["MaxWaitTimeInSeconds"] = profile.max_wait_seconds
        definition["CheckpointConfig"] = {
            "S3Uri": s3_uri(settings.model_bucket, base, "checkpoints"),
            "LocalPath": "/opt/ml/checkpoints",
        }
    return _with_vpc(definition, settings)


def _parameter_ranges(model: Model) -> dict[str, list[dict[str, Any]]]:
    ranges: dict[str, list[dict[str, Any]]] = {
        "IntegerParameterRanges": [],
        "ContinuousParameterRanges": [],
        "CategoricalParameterRanges": [],
    }
    for name, spec in sorted(model.training.hpo.ranges.items()):
        if spec.type == "categorical":
            ranges["CategoricalParameterRanges"].append({"Name": name, "Values": spec.values})
        elif spec.type == "integer":
            low, high = spec.bounds
            ranges["IntegerParameterRanges"].append(
                {
                    "Name": name,
                    "MinValue": str(int(low)),
                    "MaxValue": str(int(high)),
                    "ScalingType": spec.scaling,
                }
            )
        else:
            low, high = spec.bounds
            ranges["ContinuousParameterRanges"].append(
                {
                    "Name": name,
                    "MinValue": repr(low),
                    "MaxValue": repr(high),
                    "ScalingType": spec.scaling,
                }
            )
    return ranges


def tuning_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    train_uri: str,
    validation_uri: str,
) -> dict[str, Any]:
    """Hyperparameter tuning over the training image, maximising ``validation:macro_f1``."""
    hpo = model.training.hpo
    definition = _training_definition(settings, model, run, train_uri, validation_uri)
    definition["StaticHyperParameters"] = static_hyperparameters(model, run)
    return {
        "HyperParameterTuningJobName": _name(settings, model, "tuning", run),
        "HyperParameterTuningJobConfig": {
            "Strategy": hpo.strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": PRIMARY_METRIC},
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": hpo.max_jobs,
                "MaxParallelTrainingJobs": hpo.max_parallel_jobs,
                "MaxRuntimeInSeconds": tuning_max_runtime(model),
            },
            "ParameterRanges": _parameter_ranges(model),
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": definition,
        "Tags": tags(model, run),
    }


def tuning_max_runtime(model: Model) -> int:
    """Upper bound of a tuning job's wall time: child limit × number of waves (≤ 30 days)."""
    hpo = model.training.hpo
    waves = -(-hpo.max_jobs // hpo.max_parallel_jobs)
    per_job = model.training.max_wait_seconds or model.training.max_runtime_seconds
    return min(per_job * waves, 30 * 24 * 3600)


def best_hyperparameters(tuning_description: dict[str, Any]) -> dict[str, str]:
    """The tuned hyperparameters of the best training job in a DescribeHyperParameterTuningJob."""
    best = tuning_description.get("BestTrainingJob")
    if not best:
        name = tuning_description.get("HyperParameterTuningJobName", "?")
        raise ValueError(f"tuning job {name} has no BestTrainingJob (did every child job fail?)")
    return {k: str(v).strip('"') for k, v in best["TunedHyperParameters"].items()}


def training_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    train_uri: str,
    validation_uri: str,
    tuned: dict[str, str],
) -> dict[str, Any]:
    """Final training job: static hyperparameters + the tuning job's best ones."""
    request = _training_definition(settings, model, run, train_uri, validation_uri)
    request["TrainingJobName"] = _name(settings, model, "training", run)
    request["HyperParameters"] = {**static_hyperparameters(model, run), **tuned}
    request["Tags"] = tags(model, run)
    return request


def model_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    model_data_url: str,
) -> dict[str, Any]:
    """SageMaker Model serving ``model_data_url`` with the inference image.

    A model whose endpoint is serverless gets no VpcConfig and no network isolation: Serverless
    Inference supports neither (AWS's feature exclusions) and its endpoint serves this Model. Its
    batch transforms therefore run outside the VPC too (docs/interfaces.md, "Serverless").
    """
    request: dict[str, Any] = {
        "ModelName": _name(settings, model, "model", run),
        "PrimaryContainer": {
            "Image": settings.inference_image_uri,
            "ModelDataUrl": model_data_url,
            "Environment": {"COUNTRY": model.country},
        },
        "ExecutionRoleArn": settings.sagemaker_execution_role_arn,
        "Tags": tags(model, run),
    }
    if model.endpoint.serverless is not None:
        return request
    request["EnableNetworkIsolation"] = settings.enable_network_isolation
    return _with_vpc(request, settings)


def model_package_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    model_data_url: str,
    model_name: str,
    training_job_name: str,
    test_features_uri: str,
    test_labels_uri: str,
    metrics: dict[str, float],
    profile_uri: str = "",
) -> dict[str, Any]:
    """A Model Registry version (PendingManualApproval) carrying what evaluation needs later.

    ``profile_uri``: the training data's profile.json (prepare's), the reference of the next
    month's data gates once this version is the winner. It also becomes the version's
    ModelMetrics: the data quality statistics of its training data. ModelMetrics cannot change
    after creation, so the evaluation's report and metrics are attached later as metadata
    (``attach_evaluation``).
    """
    scheme = {} if model.scheme is None else {"scheme": model.scheme}
    profile = {"profile_uri": profile_uri} if profile_uri else {}
    metadata = {
        "country": model.country,
        **scheme,
        "data_month": run.data_month,
        "model_name": model_name,
        "training_job_name": training_job_name,
        "test_features_uri": test_features_uri,
        "test_labels_uri": test_labels_uri,
        **profile,
        "run_id": run.run_id[:256],
        "code_version": run.code_version[:256],
        **{f"metric_{k.replace(':', '_')}": f"{v:.6f}" for k, v in sorted(metrics.items())},
    }
    return {
        "ModelPackageGroupName": model_package_group_name(settings.name_prefix, model.key),
        "ModelPackageDescription": f"{model.key} {model.training.algorithm} model "
        f"trained on {run.data_month}",
        "InferenceSpecification": {
            "Containers": [{"Image": settings.inference_image_uri, "ModelDataUrl": model_data_url}],
            "SupportedContentTypes": ["application/json", JSONLINES, "text/csv"],
            "SupportedResponseMIMETypes": ["application/json", JSONLINES],
            "SupportedRealtimeInferenceInstanceTypes": [model.endpoint.instance_type],
            "SupportedTransformInstanceTypes": [model.batch_inference.instance_type],
        },
        "ModelApprovalStatus": "PendingManualApproval",
        # Idempotent across retries of the registering task: same model, same version.
        "ClientToken": client_token(model_name),
        "CustomerMetadataProperties": metadata,
        **({"ModelMetrics": registration_model_metrics(profile_uri)} if profile_uri else {}),
        "Tags": tags(model, run),
    }


def registration_model_metrics(profile_uri: str) -> dict[str, Any]:
    """ModelMetrics of a new version: its training data's profile as data-quality statistics."""
    return {
        "ModelDataQuality": {
            "Statistics": {"ContentType": "application/json", "S3Uri": profile_uri}
        }
    }


MAX_CLIENT_TOKEN = 36


def client_token(model_name: str) -> str:
    """CreateModelPackage's idempotency token (≤ 36 characters) for the version of a model.

    The model name itself while it fits (every default model's does); a longer one (a scheme's
    model under a long name prefix) would lose its run digest to truncation, and two runs would
    then share one version, so it is hashed instead.
    """
    if len(model_name) <= MAX_CLIENT_TOKEN:
        return model_name
    return hashlib.sha256(model_name.encode()).hexdigest()[:MAX_CLIENT_TOKEN]


# ---------------------------------------------------------------- transforms
def transform_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    kind: str,
    model_name: str,
    input_uri: str,
    output_uri: str,
    instance_type: str,
    instance_count: int,
) -> dict[str, Any]:
    """Batch transform of JSON Lines records, output encrypted with the project key."""
    return {
        "TransformJobName": _name(settings, model, kind, run),
        "ModelName": model_name,
        "MaxPayloadInMB": 6,
        "BatchStrategy": "MultiRecord",
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": 600,
            "InvocationsMaxRetries": 1,
        },
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": JSONLINES,
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": output_uri,
            "Accept": JSONLINES,
            "AssembleWith": "Line",
            "KmsKeyId": settings.kms_key_arn,
        },
        "TransformResources": {
            "InstanceType": instance_type,
            "InstanceCount": instance_count,
            "VolumeKmsKeyId": settings.kms_key_arn,
        },
        "DataProcessing": {"JoinSource": "None"},
        "Environment": {"COUNTRY": model.country},
        "Tags": tags(model, run),
    }


def evaluation_transform_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    role: str,
    model_name: str,
    test_features_uri: str,
    test_set: str = "test",
) -> dict[str, Any]:
    """Transform of the held-out test features by the challenger or the champion.

    ``test_set="golden"``: of the model's golden set's features instead (``test_features_uri``
    is then the golden ``features.jsonl``); its own job (``transform_<role>_golden``) and output
    (``evaluation/<role>-golden/``).
    """
    if role not in ("challenger", "champion"):
        raise ValueError(f"role must be challenger or champion, not {role!r}")
    if test_set not in ("test", "golden"):
        raise ValueError(f"test_set must be test or golden, not {test_set!r}")
    golden = test_set == "golden"
    return transform_request(
        settings,
        model,
        run,
        kind=f"transform_{role}_golden" if golden else f"transform_{role}",
        model_name=model_name,
        input_uri=test_features_uri,
        output_uri=s3_uri(
            settings.model_bucket,
            run_prefix(model, run),
            "evaluation",
            f"{role}-golden" if golden else role,
        ),
        instance_type=model.evaluation.transform_instance_type,
        instance_count=1,
    )


def evaluate_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    challenger_output_uri: str,
    champion_output_uri: str | None,
    test_labels_uri: str,
    golden_challenger_output_uri: str,
    golden_champion_output_uri: str | None,
    golden_labels_uri: str,
) -> dict[str, Any]:
    """Processing job ``evaluate``: metrics.json (with its ``golden`` section), per_item.jsonl,
    per_item_golden.jsonl and report.html. Both models are scored on the month's test set and on
    the golden set: the champion on both or on neither."""
    if bool(champion_output_uri) != bool(golden_champion_output_uri):
        raise ValueError(
            f"{model.key}: the champion's transform output must be given for the test set and "
            f"the golden set alike (test set: {champion_output_uri!r}, golden set: "
            f"{golden_champion_output_uri!r})"
        )
    inputs = [
        _processing_input("challenger", challenger_output_uri),
        _processing_input("labels", test_labels_uri),
    ]
    if champion_output_uri:
        inputs.insert(1, _processing_input("champion", champion_output_uri))
    inputs.append(_processing_input("golden_challenger", golden_challenger_output_uri))
    if golden_champion_output_uri:
        inputs.append(_processing_input("golden_champion", golden_champion_output_uri))
    inputs.append(_processing_input("golden_labels", golden_labels_uri))
    base = run_prefix(model, run)
    return _processing_job(
        name=_name(settings, model, "evaluate", run),
        command="evaluate",
        settings=settings,
        model=model,
        run=run,
        inputs=inputs,
        outputs=[
            _processing_output(
                "evaluation", s3_uri(settings.model_bucket, base, "evaluation", "report")
            )
        ],
        environment={"COUNTRY": model.country},
        max_runtime=model.evaluation.max_runtime_seconds,
    )


def batch_transform_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    model_name: str,
) -> dict[str, Any]:
    """Monthly batch transform of ``<cc>/<YYYY-MM>/unlabeled/`` with the winner's model."""
    profile = model.batch_inference
    return transform_request(
        settings,
        model,
        run,
        kind="transform_batch",
        model_name=model_name,
        input_uri=s3_uri(settings.data_bucket, model.prefix, run.data_month, "unlabeled"),
        output_uri=s3_uri(settings.model_bucket, run_prefix(model, run), "batch", "raw"),
        instance_type=profile.instance_type,
        instance_count=profile.instance_count,
    )


def postprocess_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    predictions_uri: str,
    reference_profile_uri: str | None = None,
    capture_uri: str | None = None,
) -> dict[str, Any]:
    """Processing job ``postprocess``: ids, confidence, needs_review → ``predictions/`` (KMS).

    Optional drift inputs: ``reference_profile`` (the winner's training-data profile.json) and
    ``capture`` (the endpoint's captured requests of the month). SageMaker fails a job whose
    input prefix holds no object, so the caller passes only those that exist.
    """
    month_prefix = (model.prefix, run.data_month)
    inputs = [
        _processing_input("predictions", predictions_uri),
        _processing_input("items", s3_uri(settings.data_bucket, *month_prefix, "unlabeled")),
    ]
    if reference_profile_uri:
        inputs.append(_processing_input("reference_profile", reference_profile_uri))
    if capture_uri:
        inputs.append(_processing_input("capture", capture_uri))
    return _processing_job(
        name=_name(settings, model, "postprocess", run),
        command="postprocess",
        settings=settings,
        model=model,
        run=run,
        inputs=inputs,
        outputs=[
            _processing_output(
                "predictions", s3_uri(settings.data_bucket, *month_prefix, "predictions")
            ),
            _processing_output(
                "summary",
                s3_uri(settings.data_bucket, *month_prefix, "predictions", "_summary"),
            ),
        ],
        environment={
            "COUNTRY": model.country,
            "REVIEW_THRESHOLD": str(model.batch_inference.review_threshold),
        },
        max_runtime=model.batch_inference.max_runtime_seconds,
    )


# ---------------------------------------------------------------- hosting
VARIANT_NAME = "primary"
DATA_CAPTURE = "data-capture"


def data_capture_prefix(model: Model) -> str:
    """The model bucket key prefix its endpoint's data capture writes under (Terraform's
    lifecycle rule expires it: scripts/terraform_models.py writes the list)."""
    return f"{model.prefix}/{DATA_CAPTURE}/"


def data_capture_uri(settings: Settings, model: Model) -> str:
    """The endpoint config's DataCaptureConfig destination."""
    return s3_uri(settings.model_bucket, data_capture_prefix(model))


def data_capture_month_uri(settings: Settings, model: Model, data_month: str) -> str:
    """Where SageMaker put the requests the endpoint captured in ``data_month`` (UTC):
    ``<destination>/<endpoint>/<variant>/<yyyy>/<mm>/``."""
    year, month = data_month.split("-")
    return s3_uri(
        settings.model_bucket,
        data_capture_prefix(model),
        endpoint_name(settings.name_prefix, model.key),
        VARIANT_NAME,
        year,
        month,
    )


def endpoint_config_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    model_name: str,
) -> dict[str, Any]:
    """Endpoint config: one variant, data capture to S3 with KMS, KMS on the instance volume."""
    profile = model.endpoint
    variant: dict[str, Any] = {
        "VariantName": VARIANT_NAME,
        "ModelName": model_name,
        "InitialVariantWeight": 1.0,
    }
    if profile.serverless:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": profile.serverless.memory_mb,
            "MaxConcurrency": profile.serverless.max_concurrency,
        }
    else:
        variant["InstanceType"] = profile.instance_type
        variant["InitialInstanceCount"] = profile.instance_count
    request: dict[str, Any] = {
        "EndpointConfigName": _name(settings, model, "endpoint_config", run),
        "ProductionVariants": [variant],
        "Tags": tags(model, run),
    }
    if not profile.serverless:
        # KmsKeyId encrypts the ML storage volume; serverless endpoints reject it.
        request["KmsKeyId"] = settings.kms_key_arn
    # Serverless endpoints have no data capture (the config refuses a percent for them).
    if profile.data_capture_percent > 0 and not profile.serverless:
        request["DataCaptureConfig"] = {
            "EnableCapture": True,
            "InitialSamplingPercentage": profile.data_capture_percent,
            "DestinationS3Uri": data_capture_uri(settings, model),
            "KmsKeyId": settings.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json", JSONLINES]},
        }
    return request


def endpoint_request(
    settings: Settings,
    model: Model,
    run: RunIdentity,
    *,
    endpoint_config_name: str,
) -> dict[str, Any]:
    """Create/update the model's endpoint; blue/green canary + auto-rollback when configured."""
    request: dict[str, Any] = {
        "EndpointName": endpoint_name(settings.name_prefix, model.key),
        "EndpointConfigName": endpoint_config_name,
        "Tags": tags(model, run),
    }
    canary = model.endpoint.canary
    if canary and not model.endpoint.serverless:  # serverless: no blue/green traffic shifting
        deployment: dict[str, Any] = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "WaitIntervalInSeconds": canary.wait_seconds,
                    "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": canary.percent},
                },
                "TerminationWaitInSeconds": canary.termination_wait_seconds,
                "MaximumExecutionTimeoutInSeconds": max(
                    600, min(model.endpoint.max_runtime_seconds, 14400)
                ),
            }
        }
        if model.endpoint.rollback_alarms:
            deployment["AutoRollbackConfiguration"] = {
                "Alarms": [{"AlarmName": alarm.name} for alarm in model.endpoint.rollback_alarms]
            }
        request["DeploymentConfig"] = deployment
    return request


SAMPLE_RECORD = {
    "item_id": "smoke-test-0001",
    "title": "Cordless drill 18V with two batteries",
    "description": "Compact cordless drill driver, 2 x 2.0Ah lithium-ion batteries, charger",
    "brand": "Acme",
    "weight_kg": 1.6,
    "screen_size_in": None,
    "battery": True,
    "power_source": "battery",
}


def smoke_invocation(settings: Settings, model: Model) -> dict[str, Any]:
    """sagemaker-runtime InvokeEndpoint arguments for one sample record."""
    return {
        "EndpointName": endpoint_name(settings.name_prefix, model.key),
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps(SAMPLE_RECORD),
    }
