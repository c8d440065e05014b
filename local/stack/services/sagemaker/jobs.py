"""Training, processing and batch-transform jobs, run for real in a thread each.

Each runner follows SageMaker's lifecycle for its job kind: wait for a slot (bounded by cores),
relocate /opt/ml under the stack's workdir, write the container config files, download inputs
from S3, run the image's command, stream its output to CloudWatch Logs, upload outputs, and
record the outcome (status, timestamps, FailureReason, metrics, billable time)."""

from __future__ import annotations

import math
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import execution, hosting
from .images import UnknownImage, resolve

if TYPE_CHECKING:
    from .models import Job, SageMakerBackend

FAILURE_TEXT_LIMIT = 1024  # SageMaker keeps FailureReason up to 1024 characters


class JobFailed(Exception):
    """Ends a job as Failed; the message is its FailureReason."""


def _now():
    from .models import now

    return now()


def transition(job: Job, status: str, message: str, *, final: bool = False) -> None:
    """Record a SecondaryStatus transition (call with the backend lock held)."""
    moment = _now()
    transitions = job.description.setdefault("SecondaryStatusTransitions", [])
    if transitions and "EndTime" not in transitions[-1]:
        transitions[-1]["EndTime"] = moment
    entry = {"Status": status, "StartTime": moment, "StatusMessage": message}
    if final:
        entry["EndTime"] = moment
    transitions.append(entry)
    job.description["SecondaryStatus"] = status
    job.description["LastModifiedTime"] = moment


def _acquire_slot(backend: SageMakerBackend, job: Job) -> bool:
    """Wait for a job slot; False if the job was stopped (or the stack closed) while queued."""
    while not job.stop_requested.is_set():
        if backend.slots.acquire(timeout=0.2):
            return True
    return False


def _supervise(backend: SageMakerBackend, job: Job, max_runtime: int | None) -> tuple[str, int]:
    """Wait for the container: ('exited' | 'stopped' | 'timeout', exit code)."""
    started = time.monotonic()
    grace = backend.stack.stop_grace_seconds
    while True:
        code = job.process.wait(timeout=0.2)
        if code is not None:
            return "exited", code
        if job.stop_requested.is_set():
            return "stopped", job.process.terminate(grace)
        if max_runtime and time.monotonic() - started > max_runtime:
            return "timeout", job.process.terminate(grace)


def _read_text(path: Path) -> str | None:
    if path.is_file():
        text = path.read_text(errors="replace").strip()
        return text[:FAILURE_TEXT_LIMIT] if text else None
    return None


def _download_inputs(s3: Any, uri: str, destination: Path, what: str) -> None:
    try:
        execution.download_prefix(s3, uri, destination)
    except FileNotFoundError as err:
        raise JobFailed(
            f'ClientError: Data download failed: No S3 objects found under S3 URL "{uri}" '
            f"given in {what}. Please ensure that the bucket exists and that objects exist "
            "under that S3 prefix."
        ) from err
    except Exception as err:  # botocore errors: bucket missing, access denied, ...
        raise JobFailed(f"ClientError: Data download failed for {what} ({uri}): {err}") from err


class _Metrics:
    """Final metrics from log lines with the job's MetricDefinitions (the last value wins)."""

    def __init__(self, definitions: list[dict[str, str]]):
        self.patterns = [(d["Name"], re.compile(d["Regex"])) for d in definitions or []]
        self.values: dict[str, tuple[float, Any]] = {}

    def feed(self, line: str) -> None:
        for name, pattern in self.patterns:
            match = pattern.search(line)
            if match:
                try:
                    self.values[name] = (float(match.group(1)), _now())
                except (ValueError, IndexError):
                    continue

    def final(self) -> list[dict[str, Any]]:
        return [
            {"MetricName": name, "Value": value, "Timestamp": moment}
            for name, (value, moment) in self.values.items()
        ]


def _job_root(backend: SageMakerBackend, kind: str, name: str) -> Path:
    root = backend.stack.workdir / "sagemaker" / kind / name
    if root.exists():
        shutil.rmtree(root)
    (root / "opt_ml").mkdir(parents=True)
    return root


# ---- training --------------------------------------------------------------------------------
def run_training(backend: SageMakerBackend, job: Job) -> None:
    d = job.description
    started = None

    def finish(status: str, secondary: str, message: str, reason: str | None = None) -> None:
        with backend.lock:
            end = _now()
            d["TrainingJobStatus"] = status
            transition(job, secondary, message, final=True)
            d["TrainingEndTime"] = end
            if started is not None:
                seconds = max(1, math.ceil((end - started).total_seconds()))
                d["TrainingTimeInSeconds"] = seconds
                d["BillableTimeInSeconds"] = seconds
            if reason:
                d["FailureReason"] = reason[:FAILURE_TEXT_LIMIT]

    if not _acquire_slot(backend, job):
        finish("Stopped", "Stopped", "The job was stopped before it started.")
        return
    try:
        started = _now()
        with backend.lock:
            d["TrainingStartTime"] = started
            transition(job, "Downloading", "Downloading input data")
        outcome, code, root = _train(backend, job, started)
        model_dir = root / "opt_ml" / "model"
        if outcome == "exited" and code == 0:
            with backend.lock:
                transition(job, "Uploading", "Uploading generated training model")
            _upload_training_outputs(backend, job, root)
            finish("Completed", "Completed", "Training job completed")
        elif outcome in ("stopped", "timeout"):
            if model_dir.exists():
                _upload_training_outputs(backend, job, root)
            if outcome == "stopped":
                finish("Stopped", "Stopped", "Training job stopped")
            else:
                finish(
                    "Stopped",
                    "MaxRuntimeExceeded",
                    "Training job runtime exceeded MaxRuntimeInSeconds provided",
                )
        else:
            failure = _read_text(root / "opt_ml" / "output" / "failure")
            reason = (
                f"AlgorithmError: {failure}" if failure else f"AlgorithmError: , exit code: {code}"
            )
            finish("Failed", "Failed", "Training job failed", reason)
    except (JobFailed, UnknownImage) as err:
        finish("Failed", "Failed", "Training job failed", str(err))
    except Exception as err:  # a stack bug fails the job visibly instead of hanging it
        finish("Failed", "Failed", "Training job failed", f"InternalServerError: {err}")
    finally:
        job.process = None
        backend.slots.release()


def _train(backend: SageMakerBackend, job: Job, started) -> tuple[str, int, Path]:
    d = job.description
    stack = backend.stack
    name = d["TrainingJobName"]
    launch = resolve(d["AlgorithmSpecification"]["TrainingImage"], "train", stack.extra_images)
    root = _job_root(backend, "training-jobs", name)
    opt_ml = root / "opt_ml"
    s3 = stack.client("s3")
    config = opt_ml / "input" / "config"
    execution.write_json(config / "hyperparameters.json", d.get("HyperParameters") or {})
    execution.write_json(
        config / "inputdataconfig.json",
        {
            channel["ChannelName"]: {
                "TrainingInputMode": channel.get(
                    "InputMode", d["AlgorithmSpecification"].get("TrainingInputMode", "File")
                ),
                "S3DistributionType": channel["DataSource"]
                .get("S3DataSource", {})
                .get("S3DataDistributionType", "FullyReplicated"),
                "RecordWrapperType": channel.get("RecordWrapperType", "None"),
                **({"ContentType": channel["ContentType"]} if channel.get("ContentType") else {}),
            }
            for channel in d.get("InputDataConfig") or []
        },
    )
    resources = d["ResourceConfig"]
    execution.write_json(
        config / "resourceconfig.json",
        {
            "current_host": "algo-1",
            "current_instance_type": resources.get("InstanceType", "local"),
            "current_group_name": "homogeneousCluster",
            "hosts": ["algo-1"],
            "instance_groups": [
                {
                    "instance_group_name": "homogeneousCluster",
                    "instance_type": resources.get("InstanceType", "local"),
                    "hosts": ["algo-1"],
                }
            ],
            "network_interface_name": "eth0",
        },
    )
    for channel in d.get("InputDataConfig") or []:
        source = channel["DataSource"].get("S3DataSource")
        if not source or source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise JobFailed(
                f"ClientError: channel {channel['ChannelName']}: only S3Prefix S3 data sources "
                "are supported by the local stack"
            )
        _download_inputs(
            s3,
            source["S3Uri"],
            opt_ml / "input" / "data" / channel["ChannelName"],
            f"channel {channel['ChannelName']}",
        )
    checkpoint = d.get("CheckpointConfig")
    if checkpoint:
        local = execution.relocate(checkpoint.get("LocalPath", "/opt/ml/checkpoints"), opt_ml)
        local.mkdir(parents=True, exist_ok=True)
        try:
            execution.download_prefix(s3, checkpoint["S3Uri"], local)
        except FileNotFoundError:
            pass  # first run: nothing to resume from
    (opt_ml / "model").mkdir(parents=True, exist_ok=True)
    (opt_ml / "output" / "data").mkdir(parents=True, exist_ok=True)

    stream = execution.LogStream(
        stack.client("logs"),
        "/aws/sagemaker/TrainingJobs",
        f"{name}/algo-1-{int(started.timestamp())}",
        root / "output.log",
    )
    metrics = _Metrics(d["AlgorithmSpecification"].get("MetricDefinitions"))

    def on_line(line: str) -> None:
        stream.write(line)
        metrics.feed(line)

    environment = {
        **(d.get("Environment") or {}),
        "TRAINING_JOB_NAME": name,
        "TRAINING_JOB_ARN": d["TrainingJobArn"],
        "SM_CURRENT_HOST": "algo-1",
    }
    with backend.lock:
        if job.stop_requested.is_set():
            return "stopped", 0, root
        transition(job, "Training", "Training image download completed. Training in progress.")
        job.process = execution.ContainerProcess(
            launch,
            ml_python=stack.ml_python,
            opt_ml=opt_ml,
            environment=environment,
            arguments=[],
            on_line=on_line,
            cwd=root,
        )
    max_runtime = (d.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    outcome, code = _supervise(backend, job, max_runtime)
    stream.flush()
    with backend.lock:
        if metrics.values:
            d["FinalMetricDataList"] = metrics.final()
    return outcome, code, root


def _upload_training_outputs(backend: SageMakerBackend, job: Job, root: Path) -> None:
    d = job.description
    s3 = backend.stack.client("s3")
    kms = d["OutputDataConfig"].get("KmsKeyId")
    opt_ml = root / "opt_ml"
    tarball = execution.make_tarball(opt_ml / "model", root / "model.tar.gz")
    execution.upload_file(s3, tarball, d["ModelArtifacts"]["S3ModelArtifacts"], kms)
    output_data = opt_ml / "output" / "data"
    if output_data.is_dir() and any(output_data.iterdir()):
        base = d["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        archive = execution.make_tarball(output_data, root / "output.tar.gz")
        execution.upload_file(
            s3, archive, f"{base}/{d['TrainingJobName']}/output/output.tar.gz", kms
        )
    checkpoint = d.get("CheckpointConfig")
    if checkpoint:
        local = execution.relocate(checkpoint.get("LocalPath", "/opt/ml/checkpoints"), opt_ml)
        if local.is_dir():
            execution.upload_directory(s3, local, checkpoint["S3Uri"], kms)


# ---- processing ------------------------------------------------------------------------------
def run_processing(backend: SageMakerBackend, job: Job) -> None:
    d = job.description

    def finish(status: str, reason: str | None = None, exit_message: str | None = None) -> None:
        with backend.lock:
            end = _now()
            d["ProcessingJobStatus"] = status
            d["ProcessingEndTime"] = end
            d["LastModifiedTime"] = end
            if reason:
                d["FailureReason"] = reason[:FAILURE_TEXT_LIMIT]
            if exit_message:
                d["ExitMessage"] = exit_message

    if not _acquire_slot(backend, job):
        finish("Stopped")
        return
    try:
        with backend.lock:
            d["ProcessingStartTime"] = _now()
        outcome, code, root = _process(backend, job)
        message = _read_text(root / "opt_ml" / "output" / "message")
        if outcome == "exited" and code == 0:
            _upload_processing_outputs(backend, job, root)
            finish("Completed", exit_message=message)
        elif outcome in ("stopped", "timeout"):
            # SageMaker stops a processing job at MaxRuntimeInSeconds: Stopped, no FailureReason.
            finish("Stopped", exit_message=message)
        else:
            reason = message or f"See job logs for more information (exit code {code})"
            finish("Failed", f"AlgorithmError: {reason}", message)
    except (JobFailed, UnknownImage) as err:
        finish("Failed", str(err))
    except Exception as err:
        finish("Failed", f"InternalServerError: {err}")
    finally:
        job.process = None
        backend.slots.release()


def _process(backend: SageMakerBackend, job: Job) -> tuple[str, int, Path]:
    d = job.description
    stack = backend.stack
    name = d["ProcessingJobName"]
    app = d["AppSpecification"]
    entrypoint = list(app.get("ContainerEntrypoint") or [])
    if not entrypoint:
        raise JobFailed(
            "ClientError: AppSpecification.ContainerEntrypoint must name the image's command "
            "(e.g. ['prepare']): the local stack has no image default entrypoint"
        )
    launch = resolve(app["ImageUri"], entrypoint[0], stack.extra_images)
    root = _job_root(backend, "processing-jobs", name)
    opt_ml = root / "opt_ml"
    s3 = stack.client("s3")
    execution.write_json(
        opt_ml / "config" / "processingjobconfig.json",
        {k: v for k, v in d.items() if k not in ("ProcessingJobStatus", "LastModifiedTime")},
    )
    execution.write_json(
        opt_ml / "config" / "resourceconfig.json",
        {"current_host": "algo-1", "hosts": ["algo-1"]},
    )
    for processing_input in d.get("ProcessingInputs") or []:
        source = processing_input.get("S3Input")
        label = f"processing input {processing_input['InputName']}"
        if not source or source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise JobFailed(f"ClientError: {label}: only S3Prefix S3 inputs are supported locally")
        destination = _relocated(source["LocalPath"], opt_ml, label)
        _download_inputs(s3, source["S3Uri"], destination, label)
    for output in (d.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        if output.get("S3Output"):
            local = output["S3Output"]["LocalPath"]
            _relocated(local, opt_ml, f"output {output['OutputName']}").mkdir(
                parents=True, exist_ok=True
            )
    stream = execution.LogStream(
        stack.client("logs"),
        "/aws/sagemaker/ProcessingJobs",
        f"{name}/algo-1-{int(time.time())}",
        root / "output.log",
    )
    environment = {**(d.get("Environment") or {}), "PROCESSING_JOB_NAME": name}
    with backend.lock:
        if job.stop_requested.is_set():
            return "stopped", 0, root
        job.process = execution.ContainerProcess(
            launch,
            ml_python=stack.ml_python,
            opt_ml=opt_ml,
            environment=environment,
            arguments=[*entrypoint[1:], *(app.get("ContainerArguments") or [])],
            on_line=stream.write,
            cwd=root,
        )
    max_runtime = (d.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    outcome, code = _supervise(backend, job, max_runtime)
    stream.flush()
    return outcome, code, root


def _relocated(container_path: str, opt_ml: Path, what: str) -> Path:
    try:
        return execution.relocate(container_path, opt_ml)
    except ValueError as err:
        raise JobFailed(f"ClientError: {what}: {err}") from err


def _upload_processing_outputs(backend: SageMakerBackend, job: Job, root: Path) -> None:
    config = job.description.get("ProcessingOutputConfig") or {}
    s3 = backend.stack.client("s3")
    for output in config.get("Outputs") or []:
        target = output.get("S3Output")
        if target:
            local = execution.relocate(target["LocalPath"], root / "opt_ml")
            if local.is_dir():
                execution.upload_directory(s3, local, target["S3Uri"], config.get("KmsKeyId"))


# ---- batch transform -------------------------------------------------------------------------
def run_transform(backend: SageMakerBackend, job: Job) -> None:
    d = job.description

    def finish(status: str, reason: str | None = None) -> None:
        with backend.lock:
            end = _now()
            d["TransformJobStatus"] = status
            d["TransformEndTime"] = end
            d["LastModifiedTime"] = end
            if reason:
                d["FailureReason"] = reason[:FAILURE_TEXT_LIMIT]

    if not _acquire_slot(backend, job):
        finish("Stopped")
        return
    server = None
    done = threading.Event()
    try:
        with backend.lock:
            d["TransformStartTime"] = _now()
        server = _start_transform_server(backend, job)
        threading.Thread(
            target=_stop_server_on_request,
            args=(job, server, done, backend.stack.stop_grace_seconds),
            daemon=True,
        ).start()
        _transform(backend, job, server)
        finish("Stopped" if job.stop_requested.is_set() else "Completed")
    except Exception as err:
        if job.stop_requested.is_set():  # requests cut short by the stop, not a failure
            finish("Stopped")
        elif isinstance(err, hosting.ServerFailed):
            finish("Failed", f"ClientError: {err}")
        elif isinstance(err, JobFailed | UnknownImage):
            finish("Failed", str(err))
        else:
            finish("Failed", f"InternalServerError: {err}")
    finally:
        done.set()
        if server is not None:
            server.stop(grace_seconds=backend.stack.stop_grace_seconds)
        job.process = None
        backend.slots.release()


def _stop_server_on_request(job: Job, server: hosting.ModelServer, done: threading.Event, grace):
    """StopTransformJob: end the model server, which cuts the requests in flight."""
    while not done.is_set():
        if job.stop_requested.wait(0.3):
            server.stop(grace)
            return


def _start_transform_server(backend: SageMakerBackend, job: Job) -> hosting.ModelServer:
    d = job.description
    name = d["TransformJobName"]
    root = _job_root(backend, "transform-jobs", name)
    stream = execution.LogStream(
        backend.stack.client("logs"),
        "/aws/sagemaker/TransformJobs",
        f"{name}/i-local-{int(time.time())}",
        root / "output.log",
    )
    batch_env = {
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(d.get("MaxPayloadInMB", 6)),
        "SAGEMAKER_BATCH_STRATEGY": d.get("BatchStrategy", "MultiRecord").upper(),
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(d.get("MaxConcurrentTransforms", 1)),
        **(d.get("Environment") or {}),
    }
    server = hosting.ModelServer(backend, job.model, root, stream, extra_env=batch_env)
    job.process = server
    server.start()
    server.wait_healthy(stop=job.stop_requested)
    return server


def _transform(backend: SageMakerBackend, job: Job, server: hosting.ModelServer) -> None:
    d = job.description
    root = server.root
    s3 = backend.stack.client("s3")
    parameters = server.execution_parameters() or {}
    strategy = d.get("BatchStrategy") or parameters.get("BatchStrategy") or "MultiRecord"
    max_payload = int(d.get("MaxPayloadInMB") or parameters.get("MaxPayloadInMB") or 6)
    concurrency = int(
        d.get("MaxConcurrentTransforms") or parameters.get("MaxConcurrentTransforms") or 1
    )
    processing = d.get("DataProcessing") or {}
    if processing.get("JoinSource", "None") != "None" or any(
        processing.get(f, "$") != "$" for f in ("InputFilter", "OutputFilter")
    ):
        raise JobFailed(
            "ClientError: DataProcessing filters and JoinSource are not supported locally"
        )
    source = d["TransformInput"]["DataSource"]["S3DataSource"]
    if source.get("S3DataType", "S3Prefix") != "S3Prefix":
        raise JobFailed("ClientError: only S3Prefix transform inputs are supported locally")
    split = d["TransformInput"].get("SplitType", "None")
    if split not in ("Line", "None"):
        raise JobFailed(f"ClientError: SplitType {split} is not supported locally (Line, None)")
    content_type = d["TransformInput"].get("ContentType", "application/octet-stream")
    output = d["TransformOutput"]
    accept = output.get("Accept")
    assemble = output.get("AssembleWith", "None")
    input_dir = root / "input"
    _download_inputs(s3, source["S3Uri"], input_dir, "the transform input")
    out_dir = root / "output"
    for path in sorted(p for p in input_dir.rglob("*") if p.is_file()):
        if job.stop_requested.is_set():
            return
        relative = path.relative_to(input_dir).as_posix()
        payloads = _payloads(path.read_bytes(), split, strategy, max_payload, relative)

        def call(payload: bytes, relative: str = relative) -> bytes:
            status, body, _ = server.invoke(payload, content_type, accept)
            if status != 200:
                raise JobFailed(
                    f"ClientError: the model answered {status} for {relative}: "
                    f"{body[:300].decode(errors='replace')}"
                )
            return body

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            answers = list(pool.map(call, payloads))
        target = out_dir / f"{relative}.out"
        target.parent.mkdir(parents=True, exist_ok=True)
        if assemble == "Line":
            target.write_bytes(b"".join(a if a.endswith(b"\n") else a + b"\n" for a in answers))
        else:
            target.write_bytes(b"".join(answers))
        execution.upload_file(
            s3,
            target,
            f"{output['S3OutputPath'].rstrip('/')}/{relative}.out",
            output.get("KmsKeyId"),
        )


def _payloads(
    data: bytes, split: str, strategy: str, max_payload_mb: int, where: str
) -> list[bytes]:
    """Requests for one input file: whole file, one record each, or records packed up to the
    payload limit (MultiRecord), as SageMaker's batch transform does."""
    limit = max_payload_mb * 1024 * 1024
    if split == "None":
        if len(data) > limit:
            raise JobFailed(f"ClientError: {where} is larger than MaxPayloadInMB={max_payload_mb}")
        return [data] if data else []
    records = [line for line in data.splitlines() if line.strip()]
    for number, record in enumerate(records, start=1):
        if len(record) > limit:
            raise JobFailed(
                f"ClientError: record {number} of {where} is larger than "
                f"MaxPayloadInMB={max_payload_mb}"
            )
    if strategy == "SingleRecord":
        return records
    batches: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for record in records:
        if current and size + len(record) + 1 > limit:
            batches.append(b"\n".join(current) + b"\n")
            current, size = [], 0
        current.append(record)
        size += len(record) + 1
    if current:
        batches.append(b"\n".join(current) + b"\n")
    return batches
