"""Requests drawn from botocore's input shapes (hypothesis), sent through boto3 to a local stack:
whatever the request, SageMaker's answer is a success or one of its own 4xx error shapes, never
a 5xx. Every operation the stack implements is drawn (each Create* with more examples), with
optional members omitted or set, and values at the bounds botocore's model gives them.

The stack is this module's own: its jobs point at an image with no local counterpart, or at
resources seeded here whose image has none, so a request that is accepted starts a job or an
endpoint that fails fast; leaving the module stops whatever is still running.

``MLOPS_FUZZ_EXAMPLES`` sets the examples per Create* operation (default 8; a quarter of that,
at least 2, for the others); the figures (requests tried, answers by status and error code,
5xx answers) are printed and written to ``$MLOPS_FUZZ_FIGURES`` when that is set.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.stack import LocalStack
from local.stack.services.sagemaker.responses import service_model
from local.stack.services.sagemaker.rules import RULES, Needed, NotRun
from tests.support.local_stack import BUCKET, ROLE, implemented_operations
from tests.support.shape_requests import values

CREATE_EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "8"))
OTHER_EXAMPLES = max(2, CREATE_EXAMPLES // 4)
UNMAPPED_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/fuzz/unmapped:latest"
# SageMaker's generic errors; an operation may also answer those its model declares
# (DeleteModelPackageGroup's ConflictException, AddTags' ResourceLimitExceeded, ...).
SAGEMAKER_ERRORS = {"ValidationException", "ResourceNotFound", "ResourceInUse"}
# Resources seeded in the fuzz stack; requests name them as often as a drawn name.
SEEDED = {
    "ModelName": "fuzz-model",
    "EndpointConfigName": "fuzz-config",
    "EndpointName": "fuzz-endpoint",
    "ModelPackageGroupName": "fuzz-group",
    "ModelPackageName": "fuzz-group",
    "TrainingJobName": "fuzz-training",
    "HyperParameterTuningJobName": "fuzz-tuning",
    "ProcessingJobName": "fuzz-processing",
    "TransformJobName": "fuzz-transform",
}
IMAGE_MEMBERS = ("TrainingImage", "Image", "ImageUri")

NEEDED = frozenset(
    rule.path.rsplit(".", 1)[-1]
    for rules in RULES.values()
    for rule in rules
    if isinstance(rule, Needed)
)
REFUSED = frozenset(
    rule.path.rsplit(".", 1)[-1].removesuffix("[]")
    for rules in RULES.values()
    for rule in rules
    if isinstance(rule, NotRun) and rule.values is None
)

FIGURES: Counter[str] = Counter()


OPERATIONS = implemented_operations()


def name_strategies(arn_prefix: str) -> dict[str, st.SearchStrategy[str]]:
    """Members that name a resource: the seeded one as often as a drawn one."""
    model = service_model()
    shapes = {}
    for operation in OPERATIONS:
        shape = model.operation_model(operation).input_shape
        for key in SEEDED:
            if shape is not None and key in shape.members:
                shapes[key] = shape.members[key]
    strategies: dict[str, st.SearchStrategy[str]] = {
        key: st.just(SEEDED[key]) | values(shape) for key, shape in shapes.items()
    }
    for key in IMAGE_MEMBERS:
        strategies[key] = st.just(UNMAPPED_IMAGE) | st.text(min_size=1, max_size=40)
    role = service_model().shape_for("RoleArn")
    for key in ("RoleArn", "ExecutionRoleArn"):
        strategies[key] = st.just(ROLE) | values(role)
    package = f"{arn_prefix}:model-package/fuzz-group/1"
    for key in ("ModelPackageName", "ModelPackageArn"):
        strategies[key] = st.just(package) | strategies.get(key, st.text(min_size=1, max_size=40))
    strategies["ResourceArn"] = st.sampled_from(
        [f"{arn_prefix}:model/fuzz-model", f"{arn_prefix}:model-package-group/fuzz-group"]
    ) | st.text(min_size=1, max_size=40)
    return strategies


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory):
    with LocalStack(
        port=0, workdir=tmp_path_factory.mktemp("fuzz-stack"), job_slots=2, stop_grace_seconds=1
    ) as stack:
        s3 = stack.client("s3")
        try:
            s3.create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": stack.region}
            )
        except ClientError:
            pass  # moto's state is per process: the session's stack may have made it
        seed(stack.client("sagemaker"))
        yield stack
    print(f"\nSageMaker fuzz figures: {json.dumps(dict(sorted(FIGURES.items())))}")
    if os.environ.get("MLOPS_FUZZ_FIGURES"):
        with open(os.environ["MLOPS_FUZZ_FIGURES"], "w") as out:
            json.dump(dict(sorted(FIGURES.items())), out, indent=2)


def seed(sagemaker) -> None:
    """One resource of each family, pointing at the unmapped image (their runs fail fast)."""
    sagemaker.create_model(
        ModelName="fuzz-model", PrimaryContainer={"Image": UNMAPPED_IMAGE}, ExecutionRoleArn=ROLE
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="fuzz-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "fuzz-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.large",
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName="fuzz-endpoint", EndpointConfigName="fuzz-config")
    sagemaker.create_model_package_group(ModelPackageGroupName="fuzz-group")
    sagemaker.create_model_package(
        ModelPackageGroupName="fuzz-group",
        InferenceSpecification={
            "Containers": [{"Image": UNMAPPED_IMAGE}],
            "SupportedContentTypes": ["application/jsonlines"],
            "SupportedResponseMIMETypes": ["application/jsonlines"],
        },
    )


@pytest.fixture(scope="module")
def raw_client(fuzz_stack):
    """boto3 without its own validation or retries: requests reach the stack as drawn, once."""
    return boto3.client(
        "sagemaker",
        endpoint_url=fuzz_stack.endpoint_url,
        region_name=fuzz_stack.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
    )


def send(client, operation: str, request: dict) -> None:
    """Send ``request``; fail on a 5xx or an error that is not one of SageMaker's shapes."""
    FIGURES["requests"] += 1
    FIGURES[f"requests {operation}"] += 1
    try:
        getattr(client, xform_name(operation))(**request)
    except ClientError as err:
        status = err.response["ResponseMetadata"]["HTTPStatusCode"]
        code = err.response["Error"].get("Code")
        FIGURES[f"answers {status} {code}"] += 1
        if status >= 500:
            FIGURES["5xx"] += 1
        assert status < 500, f"{operation} answered {status}: {err}\nrequest: {request!r}"
        declared = {e.name for e in service_model().operation_model(operation).error_shapes}
        allowed = (
            SAGEMAKER_ERRORS
            | declared
            | ({"ResourceLimitExceeded"} if "Tags" in operation else set())
        )
        assert code in allowed, f"{operation} answered {code}: {err}\n{request!r}"
        assert err.response["Error"].get("Message"), f"{operation}: an error without a message"
    else:
        FIGURES["answers 200"] += 1


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_request_the_model_accepts_gets_a_5xx(raw_client, fuzz_stack, operation):
    FIGURES.setdefault("5xx", 0)
    arn_prefix = f"arn:aws:sagemaker:{fuzz_stack.region}:{fuzz_stack.account_id}"
    shape = service_model().operation_model(operation).input_shape
    names = name_strategies(arn_prefix)
    # As drawn (members the service needs often missing), and with what the service needs set
    # and what the stack refuses left out, so that drawn requests also reach the resource code.
    requests = (
        values(shape, names) | values(shape, names, force=NEEDED, omit=REFUSED)
        if shape is not None
        else st.just({})
    )
    examples = CREATE_EXAMPLES if operation.startswith("Create") else OTHER_EXAMPLES

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize="MLOPS_FUZZ_EXAMPLES" not in os.environ,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests)
    def check(request):
        send(raw_client, operation, request)

    check()
