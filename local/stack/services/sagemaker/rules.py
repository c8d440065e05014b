"""What SageMaker requires beyond botocore's input shapes, and what the local stack does not run.

botocore's model marks optional some members the service needs (``ResourceConfig`` of a training
job, ``AlgorithmSpecification``: optional for training plans and ``AlgorithmName`` jobs the stack
has no counterpart for); and some values ask for a feature the stack does not run (Pipe or
FastFile input, manifest files, filters). Both are refused before the resource code runs, with a
ValidationException naming the member, rather than run differently or failed later.

A rule names a member by its path in the request: ``A.B`` for nested members, ``A[].B`` for
each element of a list (``InputDataConfig[].InputMode``). A rule on a member applies only where
its parent is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .exceptions import ValidationError

NOT_LOCAL = "not run by the local stack"


@dataclass(frozen=True)
class Needed:
    """The member must be set."""

    path: str
    why: str = ""


@dataclass(frozen=True)
class NotRun:
    """The member must not be set (``values`` None), or not to one of ``values``."""

    path: str
    why: str
    values: frozenset[str] | None = None


@dataclass(frozen=True)
class AtMost:
    """The list member has at most ``count`` elements."""

    path: str
    count: int
    why: str


@dataclass(frozen=True)
class Only:
    """The member, where set, has one of ``values``."""

    path: str
    values: frozenset[str]
    why: str


Rule = Needed | NotRun | AtMost | Only

_ONLY_S3_PREFIX = "only S3Prefix data sources are run locally"
_ONLY_FILE = "only File input mode is run locally: the data is downloaded before the job starts"


def _training(prefix: str) -> tuple[Rule, ...]:
    """A training job's rules (CreateTrainingJob, or a tuning job's TrainingJobDefinition)."""
    spec = f"{prefix}AlgorithmSpecification"
    channel = f"{prefix}InputDataConfig[]"
    return (
        Needed(spec),
        Needed(
            f"{spec}.TrainingImage",
            "algorithms (AlgorithmName) from AWS Marketplace have no local counterpart",
        ),
        Needed(f"{prefix}ResourceConfig"),
        NotRun(f"{spec}.TrainingInputMode", _ONLY_FILE, frozenset({"Pipe", "FastFile"})),
        NotRun(f"{channel}.InputMode", _ONLY_FILE, frozenset({"Pipe", "FastFile"})),
        Needed(f"{channel}.DataSource.S3DataSource", _ONLY_S3_PREFIX),
        NotRun(
            f"{channel}.DataSource.S3DataSource.S3DataType",
            _ONLY_S3_PREFIX,
            frozenset({"ManifestFile", "AugmentedManifestFile", "Converse"}),
        ),
        NotRun(f"{channel}.CompressionType", "channels are read uncompressed", frozenset({"Gzip"})),
    )


RULES: dict[str, tuple[Rule, ...]] = {
    "CreateTrainingJob": _training(""),
    "CreateHyperParameterTuningJob": (
        Needed("TrainingJobDefinition"),
        NotRun("TrainingJobDefinitions", "one TrainingJobDefinition only"),
        *_training("TrainingJobDefinition."),
    ),
    "CreateProcessingJob": (
        Needed("ProcessingInputs[].S3Input", "only S3 inputs are run locally"),
        NotRun("ProcessingInputs[].DatasetDefinition", "only S3 inputs are run locally"),
        NotRun(
            "ProcessingInputs[].S3Input.S3InputMode",
            _ONLY_FILE,
            frozenset({"Pipe", "FastFile"}),
        ),
        NotRun(
            "ProcessingInputs[].S3Input.S3DataType",
            _ONLY_S3_PREFIX,
            frozenset({"ManifestFile"}),
        ),
        NotRun(
            "ProcessingInputs[].S3Input.S3CompressionType",
            "inputs are read uncompressed",
            frozenset({"Gzip"}),
        ),
        Needed("ProcessingOutputConfig.Outputs[].S3Output", "only S3 outputs are run locally"),
        NotRun(
            "ProcessingOutputConfig.Outputs[].FeatureStoreOutput",
            "only S3 outputs are run locally",
        ),
    ),
    "CreateTransformJob": (
        NotRun(
            "TransformInput.DataSource.S3DataSource.S3DataType",
            _ONLY_S3_PREFIX,
            frozenset({"ManifestFile", "AugmentedManifestFile", "Converse"}),
        ),
        NotRun(
            "TransformInput.SplitType",
            "records are split by Line or not at all",
            frozenset({"RecordIO", "TFRecord"}),
        ),
        NotRun(
            "TransformInput.CompressionType", "inputs are read uncompressed", frozenset({"Gzip"})
        ),
        NotRun(
            "DataProcessing.JoinSource",
            "the output is not joined with the input",
            frozenset({"Input"}),
        ),
        Only("DataProcessing.InputFilter", frozenset({"$"}), "records are not filtered"),
        Only("DataProcessing.OutputFilter", frozenset({"$"}), "records are not filtered"),
    ),
    "CreateModel": (
        AtMost("Containers", 1, "inference pipelines (several containers) are not run locally"),
        NotRun("PrimaryContainer.Mode", "one model per container", frozenset({"MultiModel"})),
        NotRun("Containers[].Mode", "one model per container", frozenset({"MultiModel"})),
        NotRun("PrimaryContainer.ModelDataSource", "model data is read from ModelDataUrl"),
        NotRun("Containers[].ModelDataSource", "model data is read from ModelDataUrl"),
    ),
    "CreateEndpointConfig": (
        NotRun("AsyncInferenceConfig", "asynchronous inference is not run locally"),
        NotRun("ShadowProductionVariants", "shadow variants are not run locally"),
        NotRun("ExplainerConfig", "online explainability is not run locally"),
        Needed("ProductionVariants[].ModelName"),
    ),
}


def _lookup(value: Any, parts: list[str], path: str) -> Iterator[tuple[str, Any, bool]]:
    """(concrete path, value, present) of the member at ``parts`` under each set parent."""
    head, rest = parts[0], parts[1:]
    each = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(value, dict):
        return
    here = f"{path}.{key}"
    present = key in value and value[key] is not None
    if not rest:
        yield here, value.get(key), present
        return
    if not present:
        return
    if each:
        for index, item in enumerate(value[key] if isinstance(value[key], list) else []):
            yield from _lookup(item, rest, f"{here}[{index}]")
    else:
        yield from _lookup(value[key], rest, here)


def _split(path: str) -> list[str]:
    """``A[].B.C`` → ``["A[]", "B", "C"]`` (a trailing ``[]`` stays on its member)."""
    return path.split(".")


def check(operation: str, request: dict[str, Any]) -> None:
    """ValidationError for the first rule of ``operation`` that ``request`` breaks."""
    for rule in RULES.get(operation, ()):
        for where, value, present in _lookup(request, _split(rule.path), operation):
            if isinstance(rule, Needed) and not present:
                reason = f" ({rule.why})" if rule.why else ""
                raise ValidationError(
                    f"1 validation error detected: Value null at '{where}' failed to satisfy "
                    f"constraint: Member must not be null{reason}"
                )
            if isinstance(rule, NotRun) and present:
                if rule.values is None or value in rule.values:
                    shown = f"{where}={value!r}" if rule.values is not None else where
                    raise ValidationError(
                        f"{shown} is {NOT_LOCAL}: {rule.why}. Leave it unset"
                        + (" or use one of the values the stack runs." if rule.values else ".")
                    )
            if isinstance(rule, Only) and present and value not in rule.values:
                raise ValidationError(
                    f"{where}={value!r} is {NOT_LOCAL}: {rule.why}. Leave it unset or use "
                    f"{' or '.join(repr(v) for v in sorted(rule.values))}."
                )
            if isinstance(rule, AtMost) and present and len(value) > rule.count:
                raise ValidationError(
                    f"{where} has {len(value)} elements; at most {rule.count} is {NOT_LOCAL}"
                    f" ({rule.why})."
                )
