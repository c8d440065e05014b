"""Landing events in Terraform agree with the landing contract (plugins/mlops/events.py): the
models file is generated from the countries file, one KMS-encrypted queue with a dead-letter
queue and alarms per model and kind, the data bucket's one notification with the contract's
filters, S3 alone may send, MWAA may consume exactly these queues and knows their URL prefix."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re

import pytest
from mlops import config, events

from tests.support.terraform import (
    DEPLOY,
    MODULES,
    REPO,
    TERRAFORM,
    all_labelled_blocks,
    as_list,
    labelled_blocks,
    named_blocks,
    parse,
)

COUNTRIES_FILE = REPO / "include" / "config" / "countries.yaml"
MODELS_FILE = DEPLOY / "landing_models.json"
LANDING = MODULES / "landing_events" / "main.tf"
# Values to render Terraform's string templates with.
REGION, ACCOUNT, ENV_NAME = "eu-central-1", "123456789012", "mlops-dev"

_spec = importlib.util.spec_from_file_location(
    "terraform_models", REPO / "scripts" / "terraform_models.py"
)
terraform_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(terraform_models)


def _locals(path) -> dict:
    merged: dict = {}
    for block in parse(path).get("locals", []):
        merged.update(block)
    return merged


def _resource(path, type_, name) -> dict:
    (body,) = [b for t, n, b in labelled_blocks(path, "resource") if (t, n) == (type_, name)]
    return body


def _data(path, type_, name) -> dict:
    (body,) = [b for t, n, b in labelled_blocks(path, "data") if (t, n) == (type_, name)]
    return body


def _module_call(path, name) -> dict:
    (body,) = [b for n, b in named_blocks(path, "module") if n == name]
    return body


def _conditions(statement) -> dict:
    return {c["variable"]: (c["test"], c["values"]) for c in as_list(statement.get("condition"))}


def _render(template: str, **values: str) -> str:
    """A Terraform string template with ${...} references replaced by values (all must be)."""
    rendered = template
    for reference, value in values.items():
        rendered = rendered.replace("${" + reference + "}", value)
    assert "${" not in rendered, f"unrendered reference left in {rendered!r}"
    return rendered


@pytest.fixture(scope="module")
def models():
    enabled = config.enabled_models(COUNTRIES_FILE)
    assert any(m.scheme for m in enabled), "the countries file has no scheme model"
    return enabled


@pytest.fixture(scope="module")
def models_file() -> dict:
    return json.loads(MODELS_FILE.read_text(encoding="utf-8"))


def _terraform_queues(document: dict) -> dict[str, dict]:
    """What modules/landing_events' local.queues holds for a models file (the for expression
    is checked to be exactly this one in test_queues_are_keyed_by_suffix_from_the_models)."""
    return {
        spec["queue_suffix"]: {**spec, "model": model, "kind": kind}
        for model, kinds in document["models"].items()
        for kind, spec in kinds.items()
    }


# --- the models file ---------------------------------------------------------------------------


def test_models_file_is_the_generators_output_for_the_countries_file():
    committed = MODELS_FILE.read_text(encoding="utf-8")
    assert committed == terraform_models.render(COUNTRIES_FILE), (
        f"{MODELS_FILE.relative_to(REPO)} is out of date: run "
        ".venv/bin/python scripts/terraform_models.py"
    )
    assert terraform_models.main(["--check"]) == 0


def test_check_fails_when_the_countries_file_gained_a_model(tmp_path, capsys):
    countries = tmp_path / "countries.yaml"
    countries.write_text(
        COUNTRIES_FILE.read_text(encoding="utf-8")
        + '\n  - code: nl\n    code_table_version: "2026-01"\n',
        encoding="utf-8",
    )
    output = tmp_path / "landing_models.json"
    output.write_text(MODELS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    assert (
        terraform_models.main(
            ["--countries-file", str(countries), "--output", str(output), "--check"]
        )
        == 1
    )
    assert "out of date" in capsys.readouterr().err
    assert terraform_models.main(["--countries-file", str(countries), "--output", str(output)]) == 0
    written = json.loads(output.read_text(encoding="utf-8"))
    assert written["models"]["nl"]["labeled"]["queue_suffix"] == "labeled-nl"


def test_models_file_has_every_enabled_model_and_kind_with_the_contracts_values(
    models, models_file
):
    assert sorted(models_file["models"]) == sorted(m.key for m in models)
    disabled = [m.key for m in config.load_models(COUNTRIES_FILE) if not m.enabled]
    assert disabled and not set(disabled) & set(models_file["models"])
    for model in models:
        entry = models_file["models"][model.key]
        assert sorted(entry) == sorted(events.LANDING_KINDS)
        for kind in events.LANDING_KINDS:
            filter_ = events.notification_filter(model, kind)
            assert entry[kind] == {
                "queue_suffix": events.queue_suffix(model, kind),
                "filter_prefix": filter_["prefix"],
                "filter_suffix": filter_["suffix"],
            }


def test_generator_refuses_overlapping_filters(tmp_path, capsys):
    countries = tmp_path / "countries.yaml"
    # fr's data lives under de/2x/: its filter de/2x/2 overlaps de's de/2 (S3 would refuse both).
    countries.write_text(
        "countries:\n"
        '  - code: de\n    code_table_version: "2026-01"\n'
        '  - code: fr\n    code_table_version: "2026-01"\n    data_prefix: de/2x\n',
        encoding="utf-8",
    )
    with pytest.raises(terraform_models.ModelsFileError, match="models 'de' .* and 'fr'"):
        terraform_models.render(countries)
    output = tmp_path / "landing_models.json"
    assert terraform_models.main(["--countries-file", str(countries), "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert str(countries) in err and "overlap" in err
    assert not output.exists()


def test_generator_names_the_file_of_an_invalid_countries_file(tmp_path, capsys):
    countries = tmp_path / "countries.yaml"
    countries.write_text("countries:\n  - code: deu\n", encoding="utf-8")
    output = tmp_path / "landing_models.json"
    assert terraform_models.main(["--countries-file", str(countries), "--output", str(output)]) == 2
    assert str(countries) in capsys.readouterr().err
    assert not output.exists()


def test_no_two_filters_of_the_models_file_overlap(models_file):
    # S3's rule, checked on the committed file itself: two configurations for the same event
    # overlap when one prefix starts the other and one suffix ends the other.
    filters = [
        (s["filter_prefix"], s["filter_suffix"]) for s in _terraform_queues(models_file).values()
    ]
    assert len(filters) >= 2 * 4
    overlapping = [
        (a, b)
        for i, a in enumerate(filters)
        for b in filters[i + 1 :]
        if (a[0].startswith(b[0]) or b[0].startswith(a[0]))
        and (a[1].endswith(b[1]) or b[1].endswith(a[1]))
    ]
    assert overlapping == []


# --- the deploy root and the platform pass it on -----------------------------------------------


def test_deploy_root_reads_the_models_file_and_passes_it_to_the_platform():
    deploy_locals = _locals(DEPLOY / "main.tf")
    assert deploy_locals["models_file"] == '${jsondecode(file("${path.root}/landing_models.json"))}'
    assert deploy_locals["landing_models"] == "${local.models_file.models}"
    assert (
        _module_call(DEPLOY / "main.tf", "platform")["landing_models"] == "${local.landing_models}"
    )
    call = _module_call(MODULES / "platform" / "main.tf", "landing_events")
    assert call["source"] == "../landing_events"
    assert call["models"] == "${var.landing_models}"


def test_queues_are_keyed_by_suffix_from_the_models():
    assert _locals(LANDING)["queues"] == (
        "${{for queue in flatten([for model, kinds in var.models : [for kind, spec in kinds : "
        "merge(spec, {model = model, kind = kind})]]) : queue.queue_suffix => queue}}"
    )
    for type_, name, body in labelled_blocks(LANDING, "resource"):
        if type_ != "aws_s3_bucket_notification":
            assert body["for_each"] == "${local.queues}", f"{type_}.{name}"


# --- queues: encryption, dead-letter queues, alarms --------------------------------------------


def test_every_queue_is_encrypted_with_the_project_key():
    queues = all_labelled_blocks("resource", "aws_sqs_queue")
    assert {name for _, name, _ in queues} == {"landing", "dead_letter"}
    for path, name, body in queues:
        assert body.get("kms_master_key_id") == "${var.kms_key_arn}", f"{path}: {name}"
        assert body.get("kms_data_key_reuse_period_seconds") == (
            "${var.kms_data_key_reuse_period_seconds}"
        )
        assert "sqs_managed_sse_enabled" not in body
    call = _module_call(MODULES / "platform" / "main.tf", "landing_events")
    assert call["kms_key_arn"] == "${module.kms.key_arn}"
    (variable,) = [
        b
        for n, b in named_blocks(LANDING.parent / "variables.tf", "variable")
        if n == "kms_data_key_reuse_period_seconds"
    ]
    assert 60 <= variable["default"] <= 86400


def test_every_landing_queue_has_a_dead_letter_queue():
    landing = _resource(LANDING, "aws_sqs_queue", "landing")
    assert re.fullmatch(
        r"\$\{jsonencode\(\{deadLetterTargetArn = aws_sqs_queue\.dead_letter\[each\.key\]\.arn, "
        r"maxReceiveCount = var\.max_receive_count\}\)\}",
        landing["redrive_policy"],
    ), landing.get("redrive_policy")
    allow = _resource(LANDING, "aws_sqs_queue_redrive_allow_policy", "dead_letter")
    assert allow["queue_url"] == "${aws_sqs_queue.dead_letter[each.key].id}"
    assert (
        "sourceQueueArns = [aws_sqs_queue.landing[each.key].arn]" in allow["redrive_allow_policy"]
    )
    assert 'redrivePermission = "byQueue"' in allow["redrive_allow_policy"]
    dead_letter = _resource(LANDING, "aws_sqs_queue", "dead_letter")
    assert "redrive_policy" not in dead_letter


@pytest.mark.parametrize(
    ("alarm", "queue", "metric"),
    [
        ("dead_letter", "dead_letter", "ApproximateNumberOfMessagesVisible"),
        ("oldest_message", "landing", "ApproximateAgeOfOldestMessage"),
    ],
)
def test_every_queue_has_an_alarm_to_the_notifications_topic(alarm, queue, metric):
    body = _resource(LANDING, "aws_cloudwatch_metric_alarm", alarm)
    assert body["for_each"] == "${local.queues}"
    assert body["namespace"] == "AWS/SQS"
    assert body["metric_name"] == metric
    assert body["dimensions"] == {"QueueName": f"${{aws_sqs_queue.{queue}[each.key].name}}"}
    assert body["comparison_operator"] == "GreaterThanThreshold"
    assert body["statistic"] == "Maximum"
    assert body["actions_enabled"] is True
    assert body["alarm_actions"] == ["${var.alarm_topic_arn}"]
    if alarm == "dead_letter":
        assert body["threshold"] == 0  # one message is one month that never started
    else:
        assert body["threshold"] == "${var.max_message_age_seconds}"
    call = _module_call(MODULES / "platform" / "main.tf", "landing_events")
    assert call["alarm_topic_arn"] == "${module.notifications.topic_arn}"


def test_every_dead_letter_queue_in_terraform_is_watched_by_an_alarm():
    alarmed = {
        match.group(1)
        for _, _, body in all_labelled_blocks("resource", "aws_cloudwatch_metric_alarm")
        if body.get("metric_name") == "ApproximateNumberOfMessagesVisible"
        for match in [
            re.fullmatch(
                r"\$\{aws_sqs_queue\.(\w+)\[each\.key\]\.name\}",
                str(body.get("dimensions", {}).get("QueueName", "")),
            )
        ]
        if match
    }
    targets = {
        match.group(1)
        for _, _, body in all_labelled_blocks("resource", "aws_sqs_queue")
        for match in [
            re.search(
                r"deadLetterTargetArn = aws_sqs_queue\.(\w+)\[", body.get("redrive_policy", "")
            )
        ]
        if match
    }
    assert targets == {"dead_letter"}
    assert targets <= alarmed


# --- who may send, who may consume -------------------------------------------------------------


def test_only_s3_on_behalf_of_the_data_bucket_may_send_to_a_queue():
    policy = _resource(LANDING, "aws_sqs_queue_policy", "landing")
    assert policy["queue_url"] == "${aws_sqs_queue.landing[each.key].id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.queue[each.key].json}"
    (statement,) = as_list(_data(LANDING, "aws_iam_policy_document", "queue")["statement"])
    assert statement["effect"] == "Allow"
    assert statement["actions"] == ["sqs:SendMessage"]
    assert statement["resources"] == ["${aws_sqs_queue.landing[each.key].arn}"]
    (principal,) = as_list(statement["principals"])
    assert principal == {"type": "Service", "identifiers": ["s3.amazonaws.com"]}
    conditions = _conditions(statement)
    assert conditions["aws:SourceArn"] == ("ArnEquals", ["${var.data_bucket_arn}"])
    assert conditions["aws:SourceAccount"] == ("StringEquals", ["${local.account_id}"])
    call = _module_call(MODULES / "platform" / "main.tf", "landing_events")
    assert call["data_bucket_arn"] == "${module.data_bucket.arn}"


def test_project_key_lets_s3_encrypt_events_for_the_data_bucket_only():
    kms = MODULES / "kms" / "main.tf"
    key = _data(kms, "aws_iam_policy_document", "key")
    assert key["source_policy_documents"] == (
        "${data.aws_iam_policy_document.s3_event_notifications[*].json}"
    )
    document = _data(kms, "aws_iam_policy_document", "s3_event_notifications")
    assert document["count"] == "${length(var.event_source_bucket_arns) > 0 ? 1 : 0}"
    (statement,) = as_list(document["statement"])
    assert sorted(statement["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    (principal,) = as_list(statement["principals"])
    assert principal == {"type": "Service", "identifiers": ["s3.amazonaws.com"]}
    conditions = _conditions(statement)
    assert conditions["aws:SourceAccount"] == ("StringEquals", ["${local.account_id}"])
    assert conditions["aws:SourceArn"] == ("ArnLike", "${var.event_source_bucket_arns}")
    platform = MODULES / "platform" / "main.tf"
    assert _module_call(platform, "kms")["event_source_bucket_arns"] == ["${local.data_bucket_arn}"]
    assert _module_call(platform, "data_bucket")["name"] == "${local.data_bucket_name}"
    assert _locals(platform)["data_bucket_arn"] == (
        "arn:${data.aws_partition.current.partition}:s3:::${local.data_bucket_name}"
    )
    # The state bucket's key (bootstrap) encrypts no queue.
    assert "event_source_bucket_arns" not in _module_call(
        TERRAFORM / "bootstrap" / "main.tf", "kms"
    )


def test_alarms_may_publish_to_the_encrypted_topic():
    statements = as_list(
        _data(MODULES / "kms" / "main.tf", "aws_iam_policy_document", "key")["statement"]
    )
    (kms,) = [s for s in statements if s.get("sid") == "CloudWatchAlarmsToEncryptedTopics"]
    assert kms["principals"][0]["identifiers"] == ["cloudwatch.amazonaws.com"]
    assert "aws:SourceAccount" in _conditions(kms)
    topic = as_list(
        _data(MODULES / "notifications" / "main.tf", "aws_iam_policy_document", "topic")[
            "statement"
        ]
    )
    (publish,) = [s for s in topic if s.get("sid") == "CloudWatchAlarmsOfThisAccount"]
    assert publish["actions"] == ["sns:Publish"]
    assert publish["principals"][0]["identifiers"] == ["cloudwatch.amazonaws.com"]
    conditions = _conditions(publish)
    assert conditions["aws:SourceAccount"][0] == "StringEquals"
    assert conditions["aws:SourceArn"][0] == "ArnLike"


LANDING_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
]


def test_mwaa_may_consume_exactly_the_landing_queues(models):
    mwaa = MODULES / "mwaa" / "main.tf"
    execution = _data(mwaa, "aws_iam_policy_document", "execution")
    assert execution["source_policy_documents"] == (
        "${data.aws_iam_policy_document.landing_queues[*].json}"
    )
    (statement,) = as_list(_data(mwaa, "aws_iam_policy_document", "landing_queues")["statement"])
    assert sorted(statement["actions"]) == LANDING_ACTIONS
    assert statement["resources"] == "${var.landing_queue_arns}"
    assert "condition" not in statement and statement.get("effect", "Allow") == "Allow"
    # The list is the landing queues' ARNs, not the dead-letter queues' and not a pattern.
    platform_call = _module_call(MODULES / "platform" / "main.tf", "mwaa")
    assert platform_call["landing_queue_arns"] == "${values(module.landing_events.queue_arns)}"
    outputs = dict(named_blocks(LANDING.parent / "outputs.tf", "output"))
    assert outputs["queue_arns"]["value"] == (
        "${{for suffix, queue in aws_sqs_queue.landing : suffix => queue.arn}}"
    )
    # No other statement of the role reaches a landing queue (the Celery one is airflow-celery-*).
    arns = [
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:{events.queue_name(ENV_NAME, model, kind)}"
        for model in models
        for kind in events.LANDING_KINDS
    ]
    for other in as_list(execution["statement"]):
        if not any(str(a).startswith("sqs:") for a in as_list(other.get("actions"))):
            continue
        for resource in as_list(other["resources"]):
            pattern = _render(str(resource), **{"local.partition": "aws", "local.region": REGION})
            assert not [arn for arn in arns if fnmatch.fnmatchcase(arn, pattern)], other["sid"]


def test_mwaa_decrypts_queue_messages_only_through_sqs():
    statements = as_list(
        _data(MODULES / "mwaa" / "main.tf", "aws_iam_policy_document", "execution")["statement"]
    )
    (use,) = [s for s in statements if s.get("sid") == "UseProjectKeyThroughServices"]
    assert "kms:Decrypt" in use["actions"]
    assert use["resources"] == ["${var.kms_key_arn}"]
    test, values = _conditions(use)["kms:ViaService"]
    assert test == "StringEquals"
    assert '"sqs"' in values


# --- the URL prefix Airflow reads --------------------------------------------------------------


def test_queue_names_and_url_prefix_are_the_contracts(models):
    locals_ = _locals(LANDING)
    name_prefix = _render(locals_["queue_name_prefix"], **{"var.name": ENV_NAME})
    url_prefix = _render(
        locals_["queue_url_prefix"],
        **{
            "local.region": REGION,
            "local.dns_suffix": "amazonaws.com",
            "local.account_id": ACCOUNT,
            "local.queue_name_prefix": name_prefix,
        },
    )
    assert url_prefix == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{ENV_NAME}-landing-"
    landing = _resource(LANDING, "aws_sqs_queue", "landing")
    for model in models:
        for kind in events.LANDING_KINDS:
            suffix = events.queue_suffix(model, kind)
            name = events.queue_name(ENV_NAME, model, kind)
            rendered = _render(
                landing["name"], **{"local.queue_name_prefix": name_prefix, "each.key": suffix}
            )
            assert rendered == name
            assert url_prefix + suffix == f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    # Applying fails when SQS gives a queue another URL than the prefix Airflow is told.
    (lifecycle,) = as_list(landing["lifecycle"])
    (postcondition,) = as_list(lifecycle["postcondition"])
    assert postcondition["condition"] == '${self.url == "${local.queue_url_prefix}${each.key}"}'
    call = _module_call(MODULES / "platform" / "main.tf", "landing_events")
    assert call["name"] == "${local.env_name}"
    assert _locals(MODULES / "platform" / "main.tf")["env_name"] == (
        "${var.name_prefix}-${var.environment}"
    )


def test_mwaa_configuration_carries_the_queue_url_prefix():
    option = f"{events.CONFIG_SECTION}.{events.QUEUE_URL_PREFIX_OPTION}"
    options = _locals(MODULES / "mwaa" / "main.tf")["airflow_configuration_options"]
    expected = (
        "var.landing_queue_url_prefix == null ? {} : "
        f'{{"{option}" = var.landing_queue_url_prefix}}'
    )
    assert expected in options
    # After the caller's options: nothing can point the watchers elsewhere.
    assert options.index("var.airflow_configuration_options") < options.index(expected)
    (environment,) = [b for _, _, b in all_labelled_blocks("resource", "aws_mwaa_environment")]
    assert environment["airflow_configuration_options"] == "${local.airflow_configuration_options}"
    call = _module_call(MODULES / "platform" / "main.tf", "mwaa")
    assert call["landing_queue_url_prefix"] == "${module.landing_events.queue_url_prefix}"
    outputs = dict(named_blocks(LANDING.parent / "outputs.tf", "output"))
    assert outputs["queue_url_prefix"]["value"] == "${local.queue_url_prefix}"


@pytest.mark.parametrize(
    ("candidate", "accepted"),
    [
        (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{ENV_NAME}-landing-", True),
        (f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{ENV_NAME}-landing", False),
        (f"http://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{ENV_NAME}-landing-", False),
        (f"https://sqs.{REGION}.amazonaws.com/{ENV_NAME}-landing-", False),
    ],
)
def test_mwaa_validates_the_queue_url_prefix(candidate, accepted):
    (variable,) = [
        b
        for n, b in named_blocks(MODULES / "mwaa" / "variables.tf", "variable")
        if n == "landing_queue_url_prefix"
    ]
    assert variable["default"] is None
    (validation,) = variable["validation"]
    found = re.search(r'regex\("(.+?)", var\.landing_queue_url_prefix\)', validation["condition"])
    assert found, validation["condition"]
    pattern = found.group(1).replace("\\\\", "\\")
    assert (re.fullmatch(pattern, candidate) is not None) is accepted


# --- the notification --------------------------------------------------------------------------


def test_the_data_bucket_has_exactly_one_notification_configuration():
    notifications = all_labelled_blocks("resource", "aws_s3_bucket_notification")
    assert [(p.parent.name, n) for p, n, _ in notifications] == [("landing_events", "data")]
    call = _module_call(MODULES / "platform" / "main.tf", "landing_events")
    assert call["data_bucket_name"] == "${module.data_bucket.name}"
    (notification,) = [b for _, _, b in notifications]
    assert notification["bucket"] == "${var.data_bucket_name}"
    assert notification["depends_on"] == ["${aws_sqs_queue_policy.landing}"]
    assert set(notification) <= {"bucket", "dynamic", "depends_on"}, "only queue destinations"


def test_notification_filters_are_the_generators(models, models_file):
    (notification,) = [
        b for _, _, b in all_labelled_blocks("resource", "aws_s3_bucket_notification")
    ]
    (dynamic,) = as_list(notification["dynamic"])
    queue = dynamic["queue"]
    assert queue["for_each"] == "${local.queues}"
    (content,) = as_list(queue["content"])
    assert content["events"] == ["s3:ObjectCreated:*"]
    assert content["queue_arn"] == "${aws_sqs_queue.landing[queue.key].arn}"
    # The filters Terraform configures: the fields named by the content, per queue of the file.
    fields = {}
    for argument in ("filter_prefix", "filter_suffix"):
        match = re.fullmatch(r"\$\{queue\.value\.(\w+)\}", content[argument])
        assert match, content[argument]
        fields[argument] = match.group(1)
    configured = {
        suffix: {"prefix": q[fields["filter_prefix"]], "suffix": q[fields["filter_suffix"]]}
        for suffix, q in _terraform_queues(models_file).items()
    }
    expected = {
        events.queue_suffix(model, kind): events.notification_filter(model, kind)
        for model in models
        for kind in events.LANDING_KINDS
    }
    assert configured == expected
    assert events.overlapping_filters(models) == []


# --- outputs -----------------------------------------------------------------------------------


def test_deploy_root_outputs_the_queues_and_the_prefix():
    outputs = dict(named_blocks(DEPLOY / "outputs.tf", "output"))
    for name in ("landing_queue_url_prefix", "landing_queue_arns", "landing_queue_urls"):
        assert outputs[name]["value"] == f"${{module.platform.{name}}}"
