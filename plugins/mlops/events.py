"""Data-driven starts: a month's marker object → S3 event → SQS → an Airflow asset watcher.

The uploader writes ``<model prefix>/<YYYY-MM>/<labeled|unlabeled>/_SUCCESS`` last, so a
half-uploaded month never starts anything. The data bucket notifies one SQS queue per model and
data kind (``<name_prefix>-landing-<kind>-<model key>``; KMS-encrypted, with a dead-letter queue
that an alarm watches, all in Terraform). Each queue is watched by one asset
(``landing__<kind>__<cc>[__<scheme>]``) through the common-messaging provider's message-queue
trigger; ``labeled`` schedules ``train__…`` and ``unlabeled`` schedules ``batch_inference__…``.

One queue per model and kind, because a watcher's trigger consumes every message it receives and
sends an event to every asset that shares it. S3 refuses two notifications whose prefixes and
suffixes both overlap, and ``de/`` overlaps ``de/batteries/``: the filter of a model's months is
``<prefix>/2`` (the years 2000-2999) with suffix ``/<kind>/_SUCCESS``; scheme names start with a
letter, so ``de/2`` and ``de/batteries/2`` never overlap (``overlapping_filters`` checks a whole
countries file, data_prefix overrides included).

The queues' URLs are needed at parse time (a watcher's trigger is serialized with its queue), so
they come from the Airflow configuration, not from the settings Variable (read at run time only):
``[mlops] landing_queue_url_prefix`` (env ``AIRFLOW__MLOPS__LANDING_QUEUE_URL_PREFIX``; Terraform
sets it in MWAA's configuration options), e.g.
``https://sqs.eu-central-1.amazonaws.com/123456789012/mlops-dev-landing-``. Unset, no watcher is
attached and the DAGs run from their cron fallback, the UI or GitLab only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from mlops.config import Model

LANDING_KINDS = ("labeled", "unlabeled")
MARKER = "_SUCCESS"
CONFIG_SECTION = "mlops"
QUEUE_URL_PREFIX_OPTION = "landing_queue_url_prefix"
QUEUE_URL_PREFIX_ENV = "AIRFLOW__MLOPS__LANDING_QUEUE_URL_PREFIX"
# The months a notification filter admits: <prefix>/2xxx-..
MONTH_FILTER_LEAD = "2"
# How the watcher polls: a 20 s long poll, then at most 5 s asleep when the queue was empty.
# (SQS bills requests, not waiting: one queue costs ~130k requests a month this way.)
WATCHER_WAIT_TIME_SECONDS = 20
WATCHER_DELAY_SECONDS = 5
WATCHER_MAX_MESSAGES = 10


def _check_kind(data_kind: str) -> None:
    if data_kind not in LANDING_KINDS:
        raise ValueError(f"data kind '{data_kind}' is not one of {', '.join(LANDING_KINDS)}")


def queue_suffix(model: Model, data_kind: str) -> str:
    """After the landing queues' common prefix: ``labeled-de``, ``unlabeled-de-batteries``."""
    _check_kind(data_kind)
    return f"{data_kind}-{model.key}"


def queue_name(name_prefix: str, model: Model, data_kind: str) -> str:
    """The SQS queue of one model's landing events of one kind (≤ 80 characters)."""
    name = f"{name_prefix}-landing-{queue_suffix(model, data_kind)}"
    if len(name) > 80:
        raise ValueError(f"queue name '{name}' is longer than SQS's 80 characters")
    return name


def marker_key(model: Model, month: str, data_kind: str) -> str:
    """``<prefix>/<YYYY-MM>/<kind>/_SUCCESS``: the object the uploader writes last."""
    _check_kind(data_kind)
    return f"{model.prefix}/{month}/{data_kind}/{MARKER}"


def notification_filter(model: Model, data_kind: str) -> dict[str, str]:
    """The S3 notification filter (prefix, suffix) of one model's markers of one kind."""
    _check_kind(data_kind)
    return {"prefix": f"{model.prefix}/{MONTH_FILTER_LEAD}", "suffix": f"/{data_kind}/{MARKER}"}


def overlapping_filters(models: Iterable[Model]) -> list[str]:
    """Pairs of models whose notification filters overlap (S3 would refuse the configuration)."""
    filters = [
        (model.key, kind, notification_filter(model, kind))
        for model in models
        for kind in LANDING_KINDS
    ]
    problems = []
    for i, (key_a, kind_a, a) in enumerate(filters):
        for key_b, kind_b, b in filters[i + 1 :]:
            prefixes = a["prefix"].startswith(b["prefix"]) or b["prefix"].startswith(a["prefix"])
            suffixes = a["suffix"].endswith(b["suffix"]) or b["suffix"].endswith(a["suffix"])
            if prefixes and suffixes:
                problems.append(
                    f"models '{key_a}' ({kind_a}) and '{key_b}' ({kind_b}): notification "
                    f"filters {a} and {b} overlap (set a data_prefix that does not)"
                )
    return problems


def marker_month(model: Model, data_kind: str, key: str) -> str | None:
    """The month of ``key`` if it is this model's marker of this kind, else None."""
    _check_kind(data_kind)
    pattern = rf"{re.escape(model.prefix)}/(\d{{4}}-(?:0[1-9]|1[0-2]))/{data_kind}/{MARKER}"
    match = re.fullmatch(pattern, key)
    return match.group(1) if match else None


# --------------------------------------------------------------------------------------------
# Parse time: the landing asset and its watcher.
# --------------------------------------------------------------------------------------------


def queue_url_prefix() -> str:
    """``[mlops] landing_queue_url_prefix`` of this Airflow ('' when not configured)."""
    from airflow.configuration import conf

    return str(conf.get(CONFIG_SECTION, QUEUE_URL_PREFIX_OPTION, fallback="") or "")


def landing_asset(model: Model, data_kind: str, url_prefix: str | None = None) -> Asset:
    """The asset a model's ``data_kind`` markers update; watched when the queues are configured."""
    from mlops.assets import ProductAsset

    _check_kind(data_kind)
    prefix = queue_url_prefix() if url_prefix is None else url_prefix
    suffix = model.country if model.scheme is None else f"{model.country}__{model.scheme}"
    path = model.country if model.scheme is None else f"{model.country}/{model.scheme}"
    name = f"landing__{data_kind}__{suffix}"
    watchers = []
    if prefix:
        from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger
        from airflow.sdk import AssetWatcher

        trigger = MessageQueueTrigger(
            scheme="sqs",
            sqs_queue=f"{prefix}{queue_suffix(model, data_kind)}",
            aws_conn_id="aws_default",
            max_messages=WATCHER_MAX_MESSAGES,
            wait_time_seconds=WATCHER_WAIT_TIME_SECONDS,
            waiter_delay=WATCHER_DELAY_SECONDS,
        )
        watchers.append(AssetWatcher(name=f"{name}__sqs", trigger=trigger))
    return ProductAsset(name=name, uri=f"mlops://landing/{data_kind}/{path}", watchers=watchers)


# --------------------------------------------------------------------------------------------
# Run time: which months the triggering events announce.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Landing:
    """What a run's triggering landing events said: the months, newest last, and what they held
    that is not one of this model's markers (reported, never silently dropped)."""

    months: tuple[str, ...]
    ignored: tuple[str, ...]

    @property
    def month(self) -> str | None:
        return self.months[-1] if self.months else None


def _records(body: str) -> list[dict[str, Any]] | str:
    try:
        document = json.loads(body)
    except (TypeError, json.JSONDecodeError):
        return f"message body is not JSON: {str(body)[:80]!r}"
    if not isinstance(document, dict):
        return "message body is not a JSON object"
    if document.get("Event") == "s3:TestEvent":
        return "s3:TestEvent (sent when the notification is configured)"
    if "Records" not in document and isinstance(document.get("Message"), str):
        return _records(document["Message"])  # through SNS
    records = document.get("Records")
    if not isinstance(records, list):
        return "message body has no Records"
    return [r for r in records if isinstance(r, dict)]


def landing_from_events(
    model: Model, data_kind: str, bucket: str, extras: Iterable[Mapping[str, Any]]
) -> Landing:
    """The months announced by triggering asset events' extras (a watcher's payload holds the
    SQS ``message_batch``, each body an S3 event notification)."""
    months: set[str] = set()
    ignored: list[str] = []
    for extra in extras:
        payload = extra.get("payload") if extra.get("from_trigger") else None
        if not isinstance(payload, Mapping):
            continue  # an event from a task (not a watcher): no landing information
        for message in payload.get("message_batch") or []:
            records = _records(message.get("Body", "") if isinstance(message, Mapping) else "")
            if isinstance(records, str):
                ignored.append(records)
                continue
            for record in records:
                s3 = record.get("s3") or {}
                name = (s3.get("bucket") or {}).get("name")
                key = unquote_plus(str((s3.get("object") or {}).get("key", "")))
                event_name = str(record.get("eventName", ""))
                month = marker_month(model, data_kind, key)
                if not event_name.startswith("ObjectCreated"):
                    ignored.append(f"{event_name or 'an event'} on s3://{name}/{key}")
                elif name != bucket:
                    ignored.append(f"s3://{name}/{key}: not the data bucket {bucket}")
                elif month is None:
                    ignored.append(f"s3://{name}/{key}: not a {data_kind} marker of {model.key}")
                else:
                    months.add(month)
    return Landing(months=tuple(sorted(months)), ignored=tuple(ignored))
