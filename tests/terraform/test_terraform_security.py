"""Secure defaults hold across terraform/: no all-powerful IAM statement, every key rotates, every
bucket is SSE-KMS with the project key and closed to the public, MWAA stays private."""

from __future__ import annotations

import re

import pytest

from tests.support.terraform import (
    MODULES,
    TERRAFORM,
    all_labelled_blocks,
    as_list,
    labelled_blocks,
    named_blocks,
    parse,
    tf_files,
    variable_default,
)

POLICY_DOCUMENTS = all_labelled_blocks("data", "aws_iam_policy_document")
STATEMENTS = [
    (path, name, statement)
    for path, name, body in POLICY_DOCUMENTS
    for statement in as_list(body.get("statement"))
]


def _where(path, name, statement=None) -> str:
    sid = f" statement {statement.get('sid', '?')}" if statement else ""
    return f"{path.relative_to(TERRAFORM)}: {name}{sid}"


def test_policies_are_written_as_policy_documents():
    assert len(POLICY_DOCUMENTS) >= 10
    assert len(STATEMENTS) >= 40


@pytest.mark.parametrize(
    ("path", "name", "statement"),
    STATEMENTS,
    ids=[_where(p, n, s) for p, n, s in STATEMENTS],
)
def test_no_statement_allows_every_action_on_every_resource(path, name, statement):
    if statement.get("effect", "Allow") == "Deny":
        return
    actions = as_list(statement.get("actions"))
    resources = as_list(statement.get("resources"))
    assert not ("*" in actions and "*" in resources), _where(path, name, statement)
    assert "not_actions" not in statement, f"{_where(path, name, statement)} uses not_actions"


POLICY_ATTACHMENTS = [
    (path, type_, name, body)
    for path in tf_files()
    for type_, name, body in labelled_blocks(path, "resource")
    if type_
    in {
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_s3_bucket_policy",
        "aws_sns_topic_policy",
        "aws_sqs_queue_policy",
        "aws_kms_key",
    }
    or "assume_role_policy" in body
]


@pytest.mark.parametrize(
    ("path", "type_", "name", "body"),
    POLICY_ATTACHMENTS,
    ids=[f"{p.relative_to(TERRAFORM)}:{t}.{n}" for p, t, n, _ in POLICY_ATTACHMENTS],
)
def test_every_attached_policy_comes_from_a_checked_policy_document(path, type_, name, body):
    for key in ("policy", "assume_role_policy"):
        if key in body:
            assert re.fullmatch(
                r"\$\{data\.aws_iam_policy_document\.\w+(\[(\d+|each\.key)\])?\.json\}", body[key]
            ), f"{path.relative_to(TERRAFORM)}: {type_}.{name}.{key} is not a policy document"


KMS_KEYS = all_labelled_blocks("resource", "aws_kms_key")


def test_there_is_a_project_key():
    assert [p.parent.name for p, _, _ in KMS_KEYS] == ["kms"]


@pytest.mark.parametrize(("path", "name", "body"), KMS_KEYS, ids=lambda v: str(v))
def test_every_kms_key_rotates_and_has_a_policy(path, name, body):
    assert body.get("enable_key_rotation") is True, f"{path}: aws_kms_key.{name} does not rotate"
    assert "policy" in body


def test_buckets_are_only_made_by_the_s3_bucket_module():
    places = {p.parent.name for p, _, _ in all_labelled_blocks("resource", "aws_s3_bucket")}
    assert places == {"s3_bucket"}


def _one(module_path, type_):
    blocks = [
        body for t, _, body in labelled_blocks(module_path / "main.tf", "resource") if t == type_
    ]
    assert len(blocks) == 1, f"{module_path.name} should declare one {type_}"
    return blocks[0]


def test_bucket_module_encrypts_with_the_given_kms_key_and_a_bucket_key():
    sse = _one(MODULES / "s3_bucket", "aws_s3_bucket_server_side_encryption_configuration")
    assert sse["bucket"] == "${aws_s3_bucket.this.id}"
    (rule,) = as_list(sse["rule"])
    (default,) = as_list(rule["apply_server_side_encryption_by_default"])
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"] == "${var.kms_key_arn}"
    assert rule["bucket_key_enabled"] is True


def test_bucket_module_blocks_every_kind_of_public_access():
    block = _one(MODULES / "s3_bucket", "aws_s3_bucket_public_access_block")
    assert block["bucket"] == "${aws_s3_bucket.this.id}"
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[flag] is True, flag


def test_bucket_module_versions_and_denies_plain_http():
    versioning = _one(MODULES / "s3_bucket", "aws_s3_bucket_versioning")
    assert as_list(versioning["versioning_configuration"])[0]["status"] == "Enabled"
    (document,) = [
        b for _, n, b in labelled_blocks(MODULES / "s3_bucket" / "main.tf", "data") if n == "bucket"
    ]
    tls = [s for s in as_list(document["statement"]) if s.get("sid") == "DenyInsecureTransport"]
    assert tls and tls[0]["effect"] == "Deny"


BUCKET_CALLS = [
    (path, name, body)
    for path in tf_files()
    for name, body in named_blocks(path, "module")
    if body["source"].endswith("/s3_bucket")
]


@pytest.mark.parametrize(
    ("path", "name", "body"), BUCKET_CALLS, ids=[n for _, n, _ in BUCKET_CALLS]
)
def test_every_bucket_uses_the_project_key(path, name, body):
    assert body["kms_key_arn"] == "${module.kms.key_arn}", f"{path}: module {name} uses another key"
    (kms_call,) = [b for n, b in named_blocks(path, "module") if n == "kms"]
    assert kms_call["source"].endswith("/kms")


def test_every_bucket_but_the_log_target_sends_access_logs():
    for path, name, body in BUCKET_CALLS:
        if body.get("is_access_log_target") is True:
            continue
        assert "access_log_bucket" in body, f"{path}: module {name} has no access logging"


def test_every_uploaded_object_is_encrypted_with_the_project_key():
    objects = all_labelled_blocks("resource", "aws_s3_object")
    assert objects
    for path, name, body in objects:
        assert body.get("kms_key_id") == "${var.kms_key_arn}", f"{path}: aws_s3_object.{name}"


@pytest.mark.parametrize(
    ("type_", "attribute"),
    [
        ("aws_dynamodb_table", "server_side_encryption"),
        ("aws_sns_topic", "kms_master_key_id"),
        ("aws_sqs_queue", "kms_master_key_id"),
        ("aws_secretsmanager_secret", "kms_key_id"),
        ("aws_cloudwatch_log_group", "kms_key_id"),
        ("aws_lambda_function", "kms_key_arn"),
        ("aws_ecr_repository", "encryption_configuration"),
        ("aws_mwaa_environment", "kms_key"),
    ],
)
def test_every_data_store_is_encrypted_with_a_customer_key(type_, attribute):
    blocks = all_labelled_blocks("resource", type_)
    assert blocks, f"no {type_} found"
    for path, name, body in blocks:
        assert attribute in body, f"{path}: {type_}.{name} lacks {attribute}"
        assert "kms" in str(body[attribute]).lower()


def test_mwaa_webserver_is_private_by_default_and_logs_everything():
    assert variable_default("mwaa", "webserver_access_mode") == "PRIVATE_ONLY"
    assert variable_default("platform", "mwaa_webserver_access_mode") == "PRIVATE_ONLY"
    (environment,) = [b for _, _, b in all_labelled_blocks("resource", "aws_mwaa_environment")]
    (logging,) = as_list(environment["logging_configuration"])
    kinds = {"dag_processing_logs", "scheduler_logs", "task_logs", "webserver_logs", "worker_logs"}
    assert set(logging) >= kinds
    assert all(as_list(logging[k])[0]["enabled"] is True for k in kinds)


def test_mwaa_passes_only_the_sagemaker_role_and_only_to_sagemaker():
    (path, _, document) = next(
        (p, n, b) for p, n, b in POLICY_DOCUMENTS if p.parent.name == "mwaa" and n == "execution"
    )
    pass_role = [s for s in as_list(document["statement"]) if "iam:PassRole" in s["actions"]]
    assert len(pass_role) == 1
    assert pass_role[0]["resources"] == ["${var.sagemaker_execution_role_arn}"]
    (condition,) = as_list(pass_role[0]["condition"])
    assert condition["variable"] == "iam:PassedToService"
    assert condition["values"] == ["sagemaker.amazonaws.com"]


def test_mwaa_sagemaker_permissions_are_scoped_to_the_name_prefix():
    (document,) = [
        b for p, n, b in POLICY_DOCUMENTS if p.parent.name == "mwaa" and n == "execution"
    ]
    scoped = 0
    for statement in as_list(document["statement"]):
        mutating = [
            a for a in statement["actions"] if re.match(r"sagemaker:(Create|Update|Stop|Delete)", a)
        ]
        if mutating:
            scoped += 1
            assert statement["resources"] == "${local.sagemaker_resources}", statement.get("sid")
    assert scoped == 1
    locals_: dict = {}
    for block in parse(MODULES / "mwaa" / "main.tf")["locals"]:
        locals_.update(block)
    resources = locals_["sagemaker_resources"]
    assert resources.endswith(':${kind}/${var.name_prefix}-*"]}')
    for kind in (
        "training-job",
        "processing-job",
        "hyper-parameter-tuning-job",
        "transform-job",
        "model",
        "endpoint-config",
        "endpoint",
        "model-package-group",
        "model-package",
    ):
        assert f'"{kind}"' in resources, kind


def test_trigger_lambda_may_invoke_the_rest_api_only_as_one_airflow_role():
    (document,) = [
        b
        for p, n, b in POLICY_DOCUMENTS
        if p.parent.name == "trigger_lambda" and n == "permissions"
    ]
    invoke = [s for s in as_list(document["statement"]) if "airflow:InvokeRestApi" in s["actions"]]
    assert [s["resources"] for s in invoke] == [["${local.airflow_role_arn}"]]
    assert variable_default("trigger_lambda", "airflow_role") == "User"


def test_every_checkov_skip_is_inline_and_gives_a_reason():
    skip = re.compile(r"#checkov:skip=([A-Z0-9_]+)(:?)(.*)")
    found = 0
    for path in tf_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = skip.search(line)
            if match:
                found += 1
                reason = match.group(3).strip()
                where = f"{path.relative_to(TERRAFORM)}:{number}"
                assert match.group(2) == ":" and len(reason) >= 20, (
                    f"{where}: skip of {match.group(1)} needs a written reason"
                )
    assert found > 0
