"""SageMaker resource names and the identity of a DAG run.

Names derive from (name prefix, model, job kind, run id, try number) only: API-triggered Airflow 3
runs have no logical date, so ``ds``/``ts`` never appear in a name. A country's default model
keeps the names it had before models had schemes; a scheme's model adds its scheme to every name
that has room for it, and salts the run digest with it (docs/interfaces.md, "Names").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_NAME = 63
MAX_TUNING_NAME = 32
# A retried task whose operator does not rename an existing resource appends ``-r<try>``.
RETRY_SUFFIX = re.compile(r"-r\d+$")
# Job kind → the short form in resource names. Short, so a tuning name (prefix ≤ 12) keeps within
# 32 characters with a retry suffix.
JOB_ABBREVIATIONS = {
    "prepare": "prep",
    "tuning": "hpo",
    "training": "train",
    "model": "model",
    "transform_challenger": "tf-chal",
    "transform_champion": "tf-champ",
    "transform_challenger_golden": "tf-gchal",
    "transform_champion_golden": "tf-gchamp",
    "evaluate": "eval",
    "endpoint_config": "epc",
    "transform_batch": "tf-batch",
    "postprocess": "post",
}


def run_digest(run_id: str, scheme: str | None = None) -> str:
    """Short stable digest of a run (and scheme): same run → same names, new run → new names."""
    salted = run_id if scheme is None else f"{run_id}/{scheme}"
    return hashlib.sha256(salted.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class RunIdentity:
    """Who is asking: the DAG run a request belongs to."""

    run_id: str
    data_month: str
    code_version: str = "unknown"

    @property
    def key(self) -> str:
        """The run's digest for a country's default model (``run_digest`` without a scheme)."""
        return run_digest(self.run_id)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def job_name(
    prefix: str,
    country: str,
    kind: str,
    run_id: str,
    try_number: int = 1,
    *,
    scheme: str | None = None,
) -> str:
    """``<prefix>-<cc>[-<scheme>]-<kind>-<digest>[-r<try>]``, valid for SageMaker, retry-safe.

    A tuning job name (≤ 32 characters) has no room for the scheme: it is
    ``<prefix>-<cc>-hpo-<digest>`` with the digest salted by the scheme.
    """
    short = JOB_ABBREVIATIONS[kind]
    owner = country if scheme is None or kind == "tuning" else f"{country}-{scheme}"
    name = f"{prefix}-{owner}-{short}-{run_digest(run_id, scheme)}"
    if try_number > 1:
        name += f"-r{try_number}"
    limit = MAX_TUNING_NAME if kind == "tuning" else MAX_NAME
    if len(name) > limit or not NAME_PATTERN.match(name):
        raise ValueError(f"{kind} name '{name}' is not a valid SageMaker name (max {limit} chars)")
    return name


def without_retry_suffix(name: str) -> str:
    """The name the first try of a task used."""
    return RETRY_SUFFIX.sub("", name)


def with_retry_suffix(name: str, try_number: int, limit: int = MAX_NAME) -> str:
    """A name for try ``try_number`` of a task whose operator does not rename existing resources."""
    base = without_retry_suffix(name)
    if try_number <= 1:
        return base
    suffix = f"-r{try_number}"
    return base[: limit - len(suffix)] + suffix


def endpoint_name(prefix: str, model_key: str) -> str:
    """The model's endpoint: one long-lived name, updated in place by each deployment."""
    return f"{prefix}-{model_key}"


def model_package_group_name(prefix: str, model_key: str) -> str:
    """The model's Model Registry group: every version trained for it."""
    return f"{prefix}-{model_key}"
