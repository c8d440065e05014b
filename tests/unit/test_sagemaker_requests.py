"""Every request the DAGs send passes botocore's own validation, for every configured model."""

import re

import botocore.session
import pytest
from botocore.validate import ParamValidator
from mlops import sagemaker_requests as requests
from mlops.config import enabled_models
from mlops.naming import MAX_TUNING_NAME, NAME_PATTERN

from tests.unit.conftest import DEFAULT_COUNTRIES

SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
RUNTIME = botocore.session.get_session().get_service_model("sagemaker-runtime")
MODELS = enabled_models(DEFAULT_COUNTRIES)
TUNED = {"learning_rate": "0.001", "hidden_size": "128"}
MODEL_DATA = "s3://mlops-local-models/de/runs/x/training/job/output/model.tar.gz"


def assert_valid(operation: str, request: dict, model=SAGEMAKER) -> None:
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    assert not report.has_errors(), f"{operation}: {report.generate_report()}"


def all_requests(settings, model, run) -> list[tuple[str, dict]]:
    prepare = requests.prepare_request(settings, model, run)
    outputs = requests.processing_outputs(prepare)
    train_uri, validation_uri = outputs["train"], outputs["validation"]
    golden = requests.golden_set_uris(settings, model, model.code_table_version)["features_uri"]
    return [
        ("CreateProcessingJob", prepare),
        (
            "CreateHyperParameterTuningJob",
            requests.tuning_request(settings, model, run, train_uri, validation_uri),
        ),
        (
            "CreateTrainingJob",
            requests.training_request(settings, model, run, train_uri, validation_uri, TUNED),
        ),
        ("CreateModel", requests.model_request(settings, model, run, MODEL_DATA)),
        (
            "CreateModelPackage",
            requests.model_package_request(
                settings,
                model,
                run,
                model_data_url=MODEL_DATA,
                model_name="mlops-de-model-0b74bdb0",
                training_job_name="mlops-de-train-0b74bdb0",
                test_features_uri=outputs["test_features"],
                test_labels_uri=outputs["test_labels"],
                metrics={"validation:macro_f1": 0.91, "validation:accuracy": 0.93},
            ),
        ),
        *[
            (
                "CreateTransformJob",
                requests.evaluation_transform_request(
                    settings,
                    model,
                    run,
                    role=role,
                    model_name="m",
                    test_features_uri=features,
                    test_set=test_set,
                ),
            )
            for role in ("challenger", "champion")
            for test_set, features in (("test", outputs["test_features"]), ("golden", golden))
        ],
        (
            "CreateProcessingJob",
            requests.evaluate_request(
                settings,
                model,
                run,
                challenger_output_uri="s3://b/challenger/",
                champion_output_uri="s3://b/champion/",
                test_labels_uri=outputs["test_labels"],
                golden_challenger_output_uri="s3://b/challenger-golden/",
                golden_champion_output_uri="s3://b/champion-golden/",
                golden_labels_uri=golden.replace("features", "labels"),
            ),
        ),
        (
            "CreateTransformJob",
            requests.batch_transform_request(settings, model, run, model_name="m"),
        ),
        (
            "CreateProcessingJob",
            requests.postprocess_request(settings, model, run, predictions_uri="s3://b/raw/"),
        ),
        (
            "CreateEndpointConfig",
            requests.endpoint_config_request(settings, model, run, model_name="m"),
        ),
        (
            "CreateEndpoint",
            requests.endpoint_request(settings, model, run, endpoint_config_name="c"),
        ),
    ]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
@pytest.mark.parametrize("vpc", [False, True], ids=["no-vpc", "vpc"])
def test_every_request_validates_against_the_sagemaker_service_model(
    model, vpc, settings, vpc_settings, run
):
    for operation, request in all_requests(vpc_settings if vpc else settings, model, run):
        assert_valid(operation, request)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_endpoint_update_request_validates_without_tags(model, settings, run):
    request = requests.endpoint_request(settings, model, run, endpoint_config_name="c")
    # The provider's operator drops Tags when it falls back from create to update.
    assert_valid("UpdateEndpoint", {k: v for k, v in request.items() if k != "Tags"})


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_smoke_invocation_validates_against_sagemaker_runtime(model, settings):
    assert_valid("InvokeEndpoint", requests.smoke_invocation(settings, model), RUNTIME)


def kms_paths(request: dict) -> list:
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("KmsKeyId", "VolumeKmsKeyId"):
                    found.append((path + key, value))
                walk(value, path + key + ".")
        elif isinstance(node, list):
            for item in node:
                walk(item, path)

    walk(request, "")
    return found


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_job_encrypts_volumes_and_outputs_with_the_project_key(model, settings, run):
    for operation, request in all_requests(settings, model, run):
        if operation in ("CreateModel", "CreateModelPackage", "CreateEndpoint"):
            continue  # no volume or output of their own
        keys = kms_paths(request)
        if operation == "CreateEndpointConfig" and model.endpoint.serverless:
            # No volume, no capture: serverless endpoints take no KMS key (AWS's exclusions).
            assert keys == [], operation
            continue
        assert keys, f"{operation} has no KMS key"
        assert all(value == settings.kms_key_arn for _, value in keys), operation
        assert any("Volume" in p or p == "KmsKeyId" for p, _ in keys), operation


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_job_has_a_stopping_condition(model, settings, run):
    for operation, request in all_requests(settings, model, run):
        if operation in ("CreateProcessingJob", "CreateTrainingJob"):
            assert request["StoppingCondition"]["MaxRuntimeInSeconds"] > 0
        if operation == "CreateHyperParameterTuningJob":
            assert request["TrainingJobDefinition"]["StoppingCondition"]["MaxRuntimeInSeconds"] > 0
            assert request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_taggable_request_carries_country_run_and_code_version(model, settings, run):
    for operation, request in all_requests(settings, model, run):
        tags = {tag["Key"]: tag["Value"] for tag in request["Tags"]}
        assert tags["country"] == model.country, operation
        assert tags["run_id"] == run.run_id, operation
        assert tags["code_version"] == run.code_version, operation


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_names_are_valid_and_tuning_name_fits_32(model, settings, run):
    own_names = {
        "CreateProcessingJob": "ProcessingJobName",
        "CreateTrainingJob": "TrainingJobName",
        "CreateTransformJob": "TransformJobName",
        "CreateModel": "ModelName",
        "CreateEndpointConfig": "EndpointConfigName",
        "CreateHyperParameterTuningJob": "HyperParameterTuningJobName",
        "CreateEndpoint": "EndpointName",
    }
    for operation, request in all_requests(settings, model, run):
        if operation in own_names:
            assert NAME_PATTERN.match(request[own_names[operation]]), operation
    tuning = all_requests(settings, model, run)[1][1]
    assert len(tuning["HyperParameterTuningJobName"]) <= MAX_TUNING_NAME


def test_vpc_config_only_when_subnets_are_set(models, settings, vpc_settings, run):
    model = models[0]
    without = requests.training_request(settings, model, run, "s3://a/", "s3://b/", TUNED)
    with_vpc = requests.training_request(vpc_settings, model, run, "s3://a/", "s3://b/", TUNED)
    assert "VpcConfig" not in without
    assert with_vpc["VpcConfig"] == {
        "Subnets": ["subnet-0a1b2c3d"],
        "SecurityGroupIds": ["sg-0a1b2c3d"],
    }
    prepare = requests.prepare_request(vpc_settings, model, run)
    assert prepare["NetworkConfig"]["VpcConfig"]["Subnets"] == ["subnet-0a1b2c3d"]


def test_network_isolation_follows_the_setting(models, settings_dict, run):
    from mlops.settings import parse_settings

    open_settings = parse_settings(settings_dict | {"enable_network_isolation": False})
    model = models[0]
    assert (
        requests.model_request(open_settings, model, run, MODEL_DATA)["EnableNetworkIsolation"]
        is False
    )
    isolated = parse_settings(settings_dict)
    assert (
        requests.model_request(isolated, model, run, MODEL_DATA)["EnableNetworkIsolation"] is True
    )
    assert requests.prepare_request(isolated, model, run)["NetworkConfig"]["EnableNetworkIsolation"]


def by_accelerator(kind):
    return next(m for m in MODELS if m.training.accelerator == kind)


def test_trainium_profile_uses_the_neuron_image_on_trn1(settings, run):
    model = by_accelerator("trainium")
    request = requests.training_request(settings, model, run, "s3://a/", "s3://b/", TUNED)
    assert request["AlgorithmSpecification"]["TrainingImage"] == settings.training_neuron_image_uri
    assert request["ResourceConfig"]["InstanceType"] == "ml.trn1.2xlarge"
    assert request["HyperParameters"]["algorithm"] == "neural"


def test_gpu_profile_uses_the_training_image_on_g5(settings, run):
    model = by_accelerator("gpu")
    request = requests.training_request(settings, model, run, "s3://a/", "s3://b/", TUNED)
    assert request["AlgorithmSpecification"]["TrainingImage"] == settings.training_image_uri
    assert request["ResourceConfig"]["InstanceType"] == "ml.g5.xlarge"


def test_spot_profile_gets_managed_spot_with_checkpoints(settings, run):
    model = next(m for m in MODELS if m.training.use_spot)
    request = requests.training_request(settings, model, run, "s3://a/", "s3://b/", TUNED)
    assert request["EnableManagedSpotTraining"] is True
    assert (
        request["StoppingCondition"]["MaxWaitTimeInSeconds"]
        >= request["StoppingCondition"]["MaxRuntimeInSeconds"]
    )
    assert request["CheckpointConfig"]["S3Uri"].startswith(f"s3://{settings.model_bucket}/")
    on_demand = next(m for m in MODELS if not m.training.use_spot)
    plain = requests.training_request(settings, on_demand, run, "s3://a/", "s3://b/", TUNED)
    assert "EnableManagedSpotTraining" not in plain and "CheckpointConfig" not in plain


def test_tuning_maximises_validation_macro_f1_with_the_documented_metric_regexes(
    models, settings, run
):
    request = requests.tuning_request(settings, models[0], run, "s3://a/", "s3://b/")
    objective = request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    assert objective == {"Type": "Maximize", "MetricName": "validation:macro_f1"}
    definitions = request["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
    assert {
        "Name": "validation:macro_f1",
        "Regex": r"validation:macro_f1=([0-9.]+);",
    } in definitions


def test_final_training_merges_tuned_over_static_hyperparameters(models, settings, run):
    request = requests.training_request(settings, models[0], run, "s3://a/", "s3://b/", TUNED)
    assert request["HyperParameters"]["learning_rate"] == "0.001"
    assert request["HyperParameters"]["country"] == models[0].country
    assert request["HyperParameters"]["data_month"] == run.data_month
    assert all(isinstance(v, str) for v in request["HyperParameters"].values())


def test_best_hyperparameters_come_from_the_best_training_job():
    described = {
        "BestTrainingJob": {"TunedHyperParameters": {"alpha": '"0.01"', "loss": "log_loss"}}
    }
    assert requests.best_hyperparameters(described) == {"alpha": "0.01", "loss": "log_loss"}


def test_tuning_without_best_job_fails_naming_the_job():
    with pytest.raises(ValueError, match="mlops-de-hpo-x has no BestTrainingJob"):
        requests.best_hyperparameters({"HyperParameterTuningJobName": "mlops-de-hpo-x"})


def test_prepare_reads_the_months_labeled_data_and_code_table(models, settings, run):
    request = requests.prepare_request(settings, models[0], run)
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"]}
    prefix = models[0].prefix
    assert inputs["labeled"] == f"s3://{settings.data_bucket}/{prefix}/{run.data_month}/labeled/"
    assert inputs["code_table"].endswith(
        f"/{prefix}/code_tables/{models[0].code_table_version}.json"
    )
    assert request["AppSpecification"]["ContainerEntrypoint"] == ["prepare"]
    assert set(requests.processing_outputs(request)) == set(requests.PREPARE_OUTPUTS)


def test_batch_outputs_land_under_the_months_predictions_prefix(models, settings, run):
    request = requests.postprocess_request(settings, models[0], run, predictions_uri="s3://b/raw/")
    outputs = requests.processing_outputs(request)
    assert (
        outputs["predictions"]
        == f"s3://{settings.data_bucket}/{models[0].prefix}/{run.data_month}/predictions/"
    )
    assert request["ProcessingOutputConfig"]["KmsKeyId"] == settings.kms_key_arn


def test_canary_with_alarms_gives_blue_green_and_auto_rollback(settings, run):
    model = next(m for m in MODELS if m.endpoint.rollback_alarms)
    request = requests.endpoint_request(settings, model, run, endpoint_config_name="c")
    policy = request["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"]["Type"] == "CANARY"
    alarms = request["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert [a["AlarmName"] for a in alarms] == [a.name for a in model.endpoint.rollback_alarms]


def test_endpoint_config_captures_data_with_kms(settings, run):
    model = next(m for m in MODELS if m.endpoint.data_capture_percent)
    request = requests.endpoint_config_request(settings, model, run, model_name="m")
    capture = request["DataCaptureConfig"]
    assert capture["KmsKeyId"] == settings.kms_key_arn
    assert capture["DestinationS3Uri"].startswith(f"s3://{settings.model_bucket}/")


# ---------------------------------------------------------------- a scheme's model
BATTERIES = next(m for m in MODELS if m.key == "de-batteries")


def test_a_scheme_models_requests_carry_its_names_prefix_and_tags(settings, run):
    every = all_requests(settings, BATTERIES, run)
    by_operation = dict(reversed(every))  # the first request of each operation
    prepare = by_operation["CreateProcessingJob"]
    assert prepare["ProcessingJobName"].startswith(f"{settings.name_prefix}-de-batteries-prep-")
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in prepare["ProcessingInputs"]}
    data = f"s3://{settings.data_bucket}/de/batteries"
    assert inputs["labeled"] == f"{data}/{run.data_month}/labeled/"
    assert inputs["code_table"] == f"{data}/code_tables/{BATTERIES.code_table_version}.json"
    assert by_operation["CreateEndpoint"]["EndpointName"] == f"{settings.name_prefix}-de-batteries"
    package = by_operation["CreateModelPackage"]
    assert package["ModelPackageGroupName"] == f"{settings.name_prefix}-de-batteries"
    assert package["CustomerMetadataProperties"]["scheme"] == "batteries"
    for operation, request in every:
        if "Tags" in request:
            tags = {tag["Key"]: tag["Value"] for tag in request["Tags"]}
            assert (tags["country"], tags["scheme"]) == ("de", "batteries"), operation


def test_a_scheme_models_run_artifacts_do_not_share_the_default_models(models, settings, run):
    default = requests.prepare_request(settings, models[0], run)
    scheme = requests.prepare_request(settings, BATTERIES, run)
    assert set(requests.processing_outputs(default).values()).isdisjoint(
        requests.processing_outputs(scheme).values()
    )


def test_a_default_model_has_no_scheme_tag_or_metadata(models, settings, run):
    for operation, request in all_requests(settings, models[0], run):
        assert "scheme" not in {tag["Key"] for tag in request.get("Tags", [])}, operation
        assert "scheme" not in request.get("CustomerMetadataProperties", {}), operation


def test_client_token_is_the_model_name_while_it_fits_and_a_digest_beyond():
    assert requests.client_token("mlops-de-model-0b74bdb0") == "mlops-de-model-0b74bdb0"
    long_a = "abcdefghijkl-de-abcdefghijkl-model-0b74bdb0"
    long_b = "abcdefghijkl-de-abcdefghijkl-model-1c85cec1"
    assert len(requests.client_token(long_a)) == 36
    assert requests.client_token(long_a) != requests.client_token(long_b)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_the_golden_set_lives_under_the_models_data_prefix_by_code_table(model, settings):
    golden = requests.golden_set_uris(settings, model, model.code_table_version)
    base = f"s3://{settings.data_bucket}/{model.prefix}/golden/{model.code_table_version}/"
    assert golden == {
        "code_table_version": model.code_table_version,
        "uri": base,
        "features_uri": base + "features.jsonl",
        "labels_uri": base + "labels.jsonl",
    }


def test_a_golden_transform_is_its_own_job_with_its_own_output(settings, run):
    model = MODELS[0]
    golden = requests.golden_set_uris(settings, model, model.code_table_version)
    test, gold = (
        requests.evaluation_transform_request(
            settings, model, run, role="champion", model_name="m", test_features_uri=uri, test_set=t
        )
        for t, uri in (("test", "s3://m/test_features/"), ("golden", golden["features_uri"]))
    )
    assert gold["TransformJobName"] != test["TransformJobName"]
    assert "-tf-gchamp-" in gold["TransformJobName"]
    assert gold["TransformOutput"]["S3OutputPath"].endswith("/evaluation/champion-golden/")
    assert gold["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == golden["features_uri"]
    with pytest.raises(ValueError, match="test_set must be test or golden"):
        requests.evaluation_transform_request(
            settings,
            model,
            run,
            role="champion",
            model_name="m",
            test_features_uri="s3://x/",
            test_set="gold",
        )


# ---------------------------------------------------------------- serverless (AWS's exclusions)
SERVERLESS = next(m for m in MODELS if m.endpoint.serverless)


def test_a_serverless_model_has_no_vpc_nor_network_isolation(vpc_settings, run):
    request = requests.model_request(vpc_settings, SERVERLESS, run, MODEL_DATA)
    assert "VpcConfig" not in request
    assert "EnableNetworkIsolation" not in request
    instance = next(m for m in MODELS if not m.endpoint.serverless)
    assert "VpcConfig" in requests.model_request(vpc_settings, instance, run, MODEL_DATA)


def test_a_serverless_endpoint_config_has_no_capture_kms_or_instances(settings, run):
    # Built from a model whose section skipped validation: the builder itself never sends them.
    endpoint = SERVERLESS.endpoint.model_copy(update={"data_capture_percent": 20})
    model = SERVERLESS.model_copy(update={"endpoint": endpoint})
    request = requests.endpoint_config_request(settings, model, run, model_name="m")
    assert set(request) == {"EndpointConfigName", "ProductionVariants", "Tags"}
    (variant,) = request["ProductionVariants"]
    assert "ServerlessConfig" in variant
    assert not {"InstanceType", "InitialInstanceCount"} & set(variant)


def _iam_match(pattern: str, key: str) -> bool:
    """IAM's wildcards: '*' any run of characters ('/' included), '?' exactly one."""
    return (
        re.fullmatch(
            "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), key
        )
        is not None
    )


def _output_uris(request) -> list[str]:
    found = []

    def walk(node, key=""):
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, name)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif key in ("S3OutputPath", "DestinationS3Uri"):
            found.append(node)

    walk(request)
    outputs = (request.get("ProcessingOutputConfig") or {}).get("Outputs", [])
    found += [o["S3Output"]["S3Uri"] for o in outputs]
    checkpoints = request.get("CheckpointConfig") or (
        request.get("TrainingJobDefinition") or {}
    ).get("CheckpointConfig")
    if checkpoints:
        found.append(checkpoints["S3Uri"])
    return found


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_output_falls_under_the_prefixes_the_execution_role_may_write(model, settings, run):
    prefixes = requests.sagemaker_output_prefixes(model)
    patterns = {
        settings.data_bucket: [p + "*" for p in prefixes["data"]],
        settings.model_bucket: [p + "*" for p in prefixes["model"]],
    }
    checked = 0
    for operation, request in all_requests(settings, model, run):
        for uri in _output_uris(request):
            if uri.startswith("s3://b/"):
                continue  # a placeholder of the test's own inputs
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            assert any(_iam_match(p, key + "x") for p in patterns[bucket]), (operation, uri)
            checked += 1
    assert checked >= 8
    labeled = f"{model.prefix}/{run.data_month}/labeled/part-0.jsonl"
    assert not any(_iam_match(p, labeled) for p in patterns[settings.data_bucket])
