"""Response shapes and request validation across the SageMaker surface, checked against
botocore's service model."""

import pytest
from botocore.exceptions import ClientError

from tests.support.local_stack import (
    FIXTURE_IMAGE_URI,
    ROLE,
    assert_valid_output,
    training_request,
    wait_for,
)


@pytest.fixture(scope="module")
def endpoint(sagemaker):
    """An endpoint of the fixture image (no model data needed), with every create answer."""
    answers = {
        "CreateModel": sagemaker.create_model(
            ModelName="contract-model",
            PrimaryContainer={"Image": FIXTURE_IMAGE_URI},
            ExecutionRoleArn=ROLE,
            Tags=[{"Key": "country", "Value": "de"}],
        )
    }
    for name in ("contract-config-a", "contract-config-b"):
        answers["CreateEndpointConfig"] = sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "contract-model",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    answers["CreateEndpoint"] = sagemaker.create_endpoint(
        EndpointName="contract-endpoint", EndpointConfigName="contract-config-a"
    )
    wait_for(
        lambda: sagemaker.describe_endpoint(EndpointName="contract-endpoint"),
        "EndpointStatus",
        ("InService",),
    )
    return answers


@pytest.mark.parametrize("operation", ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"])
def test_create_answers_validate_against_the_output_shape(endpoint, operation):
    assert_valid_output(operation, endpoint[operation])


@pytest.mark.parametrize(
    ("operation", "method"),
    [
        ("ListModels", "list_models"),
        ("ListEndpointConfigs", "list_endpoint_configs"),
        ("ListEndpoints", "list_endpoints"),
        ("ListTransformJobs", "list_transform_jobs"),
        ("ListHyperParameterTuningJobs", "list_hyper_parameter_tuning_jobs"),
        ("ListModelPackageGroups", "list_model_package_groups"),
    ],
)
def test_list_answers_validate_against_the_output_shape(sagemaker, endpoint, operation, method):
    assert_valid_output(operation, getattr(sagemaker, method)())


def test_update_endpoint_answers_with_the_endpoint_arn_and_refuses_a_second_update(
    sagemaker, endpoint
):
    answer = sagemaker.update_endpoint(
        EndpointName="contract-endpoint", EndpointConfigName="contract-config-b"
    )
    assert_valid_output("UpdateEndpoint", answer)
    assert answer["EndpointArn"] == endpoint["CreateEndpoint"]["EndpointArn"]
    with pytest.raises(ClientError) as raised:
        sagemaker.update_endpoint(
            EndpointName="contract-endpoint", EndpointConfigName="contract-config-a"
        )
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "Cannot update in-progress endpoint" in raised.value.response["Error"]["Message"]


def test_arns_are_sagemakers_lower_cased_resource_arns(stack, sagemaker):
    answer = sagemaker.create_training_job(**training_request("Contract-Arn-Case"))
    assert answer["TrainingJobArn"] == (
        f"arn:aws:sagemaker:{stack.region}:{stack.account_id}:training-job/contract-arn-case"
    )
    assert_valid_output("CreateTrainingJob", answer)


def test_a_name_that_breaks_the_pattern_is_rejected_naming_the_field(unvalidated):
    with pytest.raises(ClientError) as raised:
        unvalidated.create_model(
            ModelName="bad_name!",
            PrimaryContainer={"Image": FIXTURE_IMAGE_URI},
            ExecutionRoleArn=ROLE,
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "'CreateModel.ModelName' failed to satisfy constraint" in error["Message"]


def test_a_name_over_the_maximum_length_is_rejected(unvalidated):
    with pytest.raises(ClientError) as raised:
        unvalidated.create_model(
            ModelName="m" * 64, PrimaryContainer={"Image": FIXTURE_IMAGE_URI}, ExecutionRoleArn=ROLE
        )
    assert "length less than or equal to 63" in raised.value.response["Error"]["Message"]


def test_a_value_outside_its_enum_is_rejected(unvalidated):
    request = training_request("contract-enum")
    request["AlgorithmSpecification"]["TrainingInputMode"] = "Streaming"
    with pytest.raises(ClientError) as raised:
        unvalidated.create_training_job(**request)
    assert "enum value set" in raised.value.response["Error"]["Message"]


def test_a_missing_required_member_is_rejected(unvalidated):
    with pytest.raises(ClientError) as raised:
        unvalidated.create_endpoint(EndpointName="contract-missing")
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "EndpointConfigName" in error["Message"]


def test_an_operation_the_stack_does_not_implement_says_so(sagemaker):
    with pytest.raises(ClientError) as raised:
        sagemaker.list_pipelines()
    error = raised.value.response["Error"]
    assert error["Code"] == "UnknownOperationException"
    assert "ListPipelines is not implemented by the local stack" in error["Message"]
