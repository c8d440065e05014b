"""What a job, an account principal or a VPC caller may not do: the SageMaker role writes only its
jobs' output prefixes (never labeled data), only named principals administer the project key, and
every VPC endpoint has a policy that keeps it to this account and the project's buckets."""

from __future__ import annotations

import json
import re

import pytest
from mlops import config
from mlops import sagemaker_requests as requests

from tests.support.terraform import DEPLOY, MODULES, REPO, as_list, labelled_blocks, named_blocks

COUNTRIES_FILE = REPO / "include" / "config" / "countries.yaml"
MODELS_FILE = DEPLOY / "landing_models.json"
ROLE = MODULES / "sagemaker_execution_role" / "main.tf"
KMS = MODULES / "kms"
NETWORK = MODULES / "network" / "main.tf"
PLATFORM = MODULES / "platform" / "main.tf"
DATA, MODEL = "arn:aws:s3:::data", "arn:aws:s3:::models"


def _document(path, name) -> dict:
    (body,) = [
        b
        for t, n, b in labelled_blocks(path, "data")
        if (t, n) == ("aws_iam_policy_document", name)
    ]
    return body


def _statements(path, name) -> dict[str, dict]:
    return {s.get("sid", "?"): s for s in as_list(_document(path, name).get("statement"))}


def _variables(path) -> dict[str, dict]:
    return dict(named_blocks(path / "variables.tf", "variable"))


def _module_call(path, name) -> dict:
    (body,) = [b for n, b in named_blocks(path, "module") if n == name]
    return body


def _iam_match(pattern: str, value: str) -> bool:
    """IAM's wildcards: '*' any run of characters ('/' included), '?' exactly one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


# --- the SageMaker execution role writes only its outputs ---------------------------------------


def _writable(outputs: dict[str, dict]) -> list[str]:
    """The object ARNs the role's PutObject statement allows, rendered for a models file's
    sagemaker_outputs the way modules/platform passes them (checked below to be exactly so)."""
    statements = _statements(ROLE, "permissions")
    writers = [s for s in statements.values() if "s3:PutObject" in as_list(s.get("actions"))]
    assert [s["sid"] for s in writers] == ["WriteJobOutputs"]
    data_keys = sorted({k for o in outputs.values() for k in o["data"]})
    model_keys = sorted({k for o in outputs.values() for k in o["model"]})
    assert writers[0]["resources"] == (
        '${concat([for key in var.data_output_keys : "${var.data_bucket_arn}/${key}*"], '
        '[for key in var.model_output_keys : "${var.model_bucket_arn}/${key}*"])}'
    )
    return [f"{DATA}/{k}*" for k in data_keys] + [f"{MODEL}/{k}*" for k in model_keys]


@pytest.fixture(scope="module")
def writable() -> list[str]:
    return _writable(json.loads(MODELS_FILE.read_text())["sagemaker_outputs"])


def test_the_platform_gives_the_role_the_models_files_output_prefixes():
    call = _module_call(PLATFORM, "sagemaker_execution_role")
    assert call["data_bucket_arn"] == "${module.data_bucket.arn}"
    assert call["model_bucket_arn"] == "${module.model_bucket.arn}"
    assert call["data_output_keys"] == (
        "${distinct(flatten([for outputs in values(var.sagemaker_outputs) : outputs.data]))}"
    )
    assert call["model_output_keys"] == (
        "${distinct(flatten([for outputs in values(var.sagemaker_outputs) : outputs.model]))}"
    )
    deploy = _module_call(DEPLOY / "main.tf", "platform")
    assert deploy["sagemaker_outputs"] == "${local.sagemaker_outputs}"


@pytest.mark.parametrize("model", config.enabled_models(COUNTRIES_FILE), ids=lambda m: m.key)
def test_no_job_can_overwrite_labeled_data_code_tables_or_golden_sets(model, writable):
    for key in (
        f"{model.prefix}/2026-10/labeled/part-0.jsonl",
        f"{model.prefix}/2026-10/labeled/_SUCCESS",
        f"{model.prefix}/2026-10/unlabeled/part-0.jsonl",
        f"{model.prefix}/code_tables/{model.code_table_version}.json",
        f"{model.prefix}/golden/{model.code_table_version}/labels.jsonl",
    ):
        assert not any(_iam_match(p, f"{DATA}/{key}") for p in writable), key


@pytest.mark.parametrize("model", config.enabled_models(COUNTRIES_FILE), ids=lambda m: m.key)
def test_jobs_can_write_predictions_run_artifacts_and_data_capture(model, writable):
    for arn in (
        f"{DATA}/{model.prefix}/2026-10/predictions/part-0.jsonl.out",
        f"{DATA}/{model.prefix}/2026-10/predictions/_summary/summary.json",
        f"{MODEL}/{model.prefix}/runs/0b74bdb0/training/job/output/model.tar.gz",
        f"{MODEL}/{requests.data_capture_prefix(model)}mlops-x/primary/2026/10/01/00/a.jsonl",
    ):
        assert any(_iam_match(p, arn) for p in writable), arn


def test_reading_stays_open_on_both_buckets_and_listing_stays_on_the_buckets():
    statements = _statements(ROLE, "permissions")
    assert statements["ReadProjectObjects"]["actions"] == ["s3:GetObject"]
    assert statements["ListProjectBuckets"]["resources"] == "${var.bucket_arns}"


@pytest.mark.parametrize("name", ["data_output_keys", "model_output_keys"])
def test_output_key_variables_refuse_a_whole_bucket_pattern(name):
    condition = _variables(ROLE.parent)[name]["validation"][0]["condition"]
    assert f"length(var.{name}) > 0" in condition
    (pattern,) = re.findall(r'regex\("(.+?)", key\)', condition)
    pattern = pattern.replace("\\\\", "\\")
    for key in ("de/2???-??/predictions/", "de/batteries/runs/", "de/data-capture/"):
        assert re.fullmatch(pattern, key), key
    for key in ("*", "de/*", "", "/", "de/runs"):
        assert not re.fullmatch(pattern, key), key


# --- KMS: only named principals administer the key ----------------------------------------------


def test_key_administrators_are_required_and_never_empty():
    variable = _variables(KMS)["key_administrator_arns"]
    assert "default" not in variable
    assert "length(var.key_administrator_arns) > 0" in variable["validation"][0]["condition"]
    deploy = _variables(DEPLOY)["key_administrator_arns"]
    assert "default" not in deploy
    assert _module_call(DEPLOY / "main.tf", "platform")["key_administrator_arns"] == (
        "${var.key_administrator_arns}"
    )
    assert (
        _module_call(PLATFORM, "kms")["key_administrator_arns"] == "${var.key_administrator_arns}"
    )


def test_only_the_named_principals_administer_the_key():
    statements = _statements(KMS / "main.tf", "key")
    admin = statements["KeyAdministration"]
    assert admin["principals"][0]["identifiers"] == "${var.key_administrator_arns}"
    assert "kms:Put*" in admin["actions"] and "kms:Create*" in admin["actions"]


def _grants(action: str, patterns: list[str]) -> bool:
    return any(_iam_match(p, action) for p in patterns)


@pytest.mark.parametrize(
    "action", ["kms:PutKeyPolicy", "kms:CreateGrant", "kms:ScheduleKeyDeletion", "kms:DisableKey"]
)
def test_the_account_root_cannot_administer_the_key(action):
    for sid, statement in _statements(KMS / "main.tf", "key").items():
        principals = [
            i for p in as_list(statement.get("principals")) for i in as_list(p["identifiers"])
        ]
        if "${local.account}" not in principals or not _grants(
            action, as_list(statement["actions"])
        ):
            continue
        # Only for AWS resources, through the project's services (a service's grant on a volume).
        conditions = {c["variable"]: c["values"] for c in as_list(statement.get("condition"))}
        assert action == "kms:CreateGrant", sid
        assert conditions["kms:GrantIsForAWSResource"] == ["true"], sid
        assert conditions["kms:ViaService"] == "${local.via_service_endpoints}", sid


def test_the_key_stays_manageable():
    # KMS's lockout check stays on (a policy its caller could not change again is refused) and
    # the account's IAM can still read the key for plans.
    (key,) = [b for t, n, b in labelled_blocks(KMS / "main.tf", "resource") if t == "aws_kms_key"]
    assert "bypass_policy_lockout_safety_check" not in key
    read = _statements(KMS / "main.tf", "key")["ReadKeyMetadataThroughIam"]
    assert sorted(read["actions"]) == [
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
    ]


# --- VPC endpoints have policies ----------------------------------------------------------------


def _endpoints() -> dict[str, dict]:
    return {n: b for t, n, b in labelled_blocks(NETWORK, "resource") if t == "aws_vpc_endpoint"}


def _conditions(statement) -> dict:
    return {c["variable"]: (c["test"], c["values"]) for c in as_list(statement.get("condition"))}


ACCOUNT_PRINCIPALS = ("StringEquals", ["${local.account_id}"])


def test_every_vpc_endpoint_has_a_policy():
    endpoints = _endpoints()
    assert set(endpoints) == {"gateway", "interface"}
    assert endpoints["gateway"]["policy"] == (
        '${each.value == "s3" ? data.aws_iam_policy_document.s3_endpoint.json : '
        "data.aws_iam_policy_document.dynamodb_endpoint.json}"
    )
    assert endpoints["gateway"]["for_each"] == "${local.gateway_service}"
    assert endpoints["interface"]["policy"] == (
        "${data.aws_iam_policy_document.interface_endpoint[each.key].json}"
    )


def test_the_s3_gateway_reaches_the_project_buckets_and_ecrs_layer_bucket_only():
    statements = _statements(NETWORK, "s3_endpoint")
    assert set(statements) == {"ProjectBuckets", "EcrImageLayers"}
    project = statements["ProjectBuckets"]
    assert project["resources"] == (
        '${concat(var.s3_bucket_arns, [for arn in var.s3_bucket_arns : "${arn}/*"])}'
    )
    assert _conditions(project)["aws:PrincipalAccount"] == ACCOUNT_PRINCIPALS
    layers = statements["EcrImageLayers"]
    assert layers["actions"] == ["s3:GetObject"]
    assert layers["resources"] == [
        "arn:${local.partition}:s3:::prod-${local.region}-starport-layer-bucket/*"
    ]
    call = _module_call(PLATFORM, "network")
    assert call["s3_bucket_arns"] == [
        "${module.data_bucket.arn}",
        "${module.model_bucket.arn}",
        "${module.mwaa_source_bucket.arn}",
    ]


def test_the_dynamodb_gateway_reaches_this_accounts_tables_only():
    (statement,) = _statements(NETWORK, "dynamodb_endpoint").values()
    assert statement["resources"] == [
        "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/*"
    ]
    assert _conditions(statement)["aws:PrincipalAccount"] == ACCOUNT_PRINCIPALS


def test_interface_endpoints_pass_this_accounts_principals_on_its_resources_only():
    document = _document(NETWORK, "interface_endpoint")
    assert document["for_each"] == "${local.interface_service}"
    (statement,) = as_list(document["statement"])
    assert statement["actions"] == ["${local.interface_action_prefixes[each.value]}:*"]
    conditions = _conditions(statement)
    assert conditions["aws:PrincipalAccount"] == ACCOUNT_PRINCIPALS
    assert conditions["aws:ResourceAccount"] == ("StringEqualsIfExists", ["${local.account_id}"])
