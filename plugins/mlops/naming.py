"""SageMaker resource names and the identity of a DAG run.

Names derive from (name prefix, country, kind, run id, try number) only: API-triggered Airflow 3
runs have no logical date, so ``ds``/``ts`` never appear in a name.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_NAME = 63
MAX_TUNING_NAME = 32
# Kinds are short so a tuning name (prefix ≤ 12) keeps within 32 characters with a retry suffix.
KINDS = {
    "prepare": "prep",
    "tuning": "hpo",
    "training": "train",
    "model": "model",
    "transform_challenger": "tf-chal",
    "transform_champion": "tf-champ",
    "evaluate": "eval",
    "endpoint_config": "epc",
    "transform_batch": "tf-batch",
    "postprocess": "post",
}


@dataclass(frozen=True)
class RunIdentity:
    """Who is asking: the DAG run a request belongs to."""

    run_id: str
    data_month: str
    code_version: str = "unknown"

    @property
    def key(self) -> str:
        """Short stable digest of the run id: same run → same names, new run → new names."""
        return hashlib.sha256(self.run_id.encode()).hexdigest()[:8]

    def as_dict(self) -> dict:
        return asdict(self)


def job_name(prefix: str, country: str, kind: str, run_id: str, try_number: int = 1) -> str:
    """``<prefix>-<cc>-<kind>-<run digest>[-r<try>]``, valid for SageMaker and retry-safe."""
    short = KINDS[kind]
    digest = RunIdentity(run_id, "").key
    name = f"{prefix}-{country}-{short}-{digest}"
    if try_number > 1:
        name += f"-r{try_number}"
    limit = MAX_TUNING_NAME if kind == "tuning" else MAX_NAME
    if len(name) > limit or not NAME_PATTERN.match(name):
        raise ValueError(f"{kind} name '{name}' is not a valid SageMaker name (max {limit} chars)")
    return name


def with_retry_suffix(name: str, try_number: int, limit: int = MAX_NAME) -> str:
    """A name for try ``try_number`` of a task whose operator does not rename existing resources."""
    base = re.sub(r"-r\d+$", "", name)
    if try_number <= 1:
        return base
    suffix = f"-r{try_number}"
    return base[: limit - len(suffix)] + suffix


def endpoint_name(prefix: str, country: str) -> str:
    """The country's endpoint: one long-lived name, updated in place by each deployment."""
    return f"{prefix}-{country}"


def model_package_group_name(prefix: str, country: str) -> str:
    return f"{prefix}-{country}"
