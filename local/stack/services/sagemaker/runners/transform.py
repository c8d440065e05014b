"""Batch transform: the model's inference server for the job, fed the input files' records
(SplitType, BatchStrategy, MaxPayloadInMB, MaxConcurrentTransforms), answers assembled into
``<input file>.out`` under the output path.

Each file streams: its records are read as payloads are needed and answers written as they
come back, so a job's memory is bounded by the payload limit and its concurrency, never by the
size of its input."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, BinaryIO

from .. import execution
from .hosting import ModelServer, ServerFailed, primary_container
from .job import Ending, JobFailed, JobRunner, Outcome, RunnerContext, RunningJob, download_inputs

LOG_GROUP = "/aws/sagemaker/TransformJobs"
WORKERS_ENV = "SAGEMAKER_MODEL_SERVER_WORKERS"


class TransformRunner(JobRunner):
    """Runs ``model`` (the model as it was when the job was created) over the job's input."""

    def __init__(self, context: RunnerContext, job: RunningJob, model: dict[str, Any]):
        super().__init__(context, job)
        self.model = model

    def execute(self) -> Outcome:
        server = self._start_server()
        done = threading.Event()
        try:
            threading.Thread(
                target=self._stop_server_on_request, args=(server, done), daemon=True
            ).start()
            self._transform(server)
        except BaseException:
            done.set()
            server.stop(grace_seconds=self.context.stop_grace_seconds)
            raise
        done.set()
        if self.job.stop_requested.is_set():
            server.stop(grace_seconds=self.context.stop_grace_seconds)
            return Outcome("stopped", 0, server.root)
        # Every answer is uploaded: the job is complete. The server's graceful stop (its
        # workers' shutdown loop: about 2 s) goes on in the background, off the job's time.
        self.context.retirements.retire(server, self.context.stop_grace_seconds)
        return Outcome("exited", 0, server.root)

    def conclude(self, outcome: Outcome) -> Ending:
        return Ending("Stopped" if outcome.exit == "stopped" else "Completed")

    def failed(self, err: Exception) -> Ending:
        if self.job.stop_requested.is_set():  # requests cut short by the stop, not a failure
            return Ending("Stopped")
        if isinstance(err, ServerFailed):
            return Ending("Failed", f"ClientError: {err}")
        return super().failed(err)

    def _stop_server_on_request(self, server: ModelServer, done: threading.Event) -> None:
        """StopTransformJob: end the model server, which cuts the requests in flight."""
        while not done.is_set():
            if self.job.stop_requested.wait(0.3):
                server.stop(self.context.stop_grace_seconds)
                return

    def _start_server(self) -> ModelServer:
        d = self.job.document()
        name = d["TransformJobName"]
        root = self.context.job_root("transform-jobs", name)
        stream = execution.LogStream(
            self.context.client("logs"),
            LOG_GROUP,
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
        model_env = primary_container(self.model).get("Environment") or {}
        if WORKERS_ENV not in batch_env and WORKERS_ENV not in model_env:
            # A job slot is this machine's share of an instance: its cores ÷ the slots. A
            # server sized for the whole machine would start a worker per core in each of the
            # jobs running side by side, each loading the model (seconds of CPU per worker).
            batch_env[WORKERS_ENV] = str(self.context.cpus_per_job)
        server = ModelServer(self.context, self.model, root, stream, extra_env=batch_env)
        self.job.container = server
        try:
            server.start()
            server.wait_healthy(stop=self.job.stop_requested)
        except BaseException:
            server.stop(grace_seconds=self.context.stop_grace_seconds)
            raise
        return server

    def _transform(self, server: ModelServer) -> None:
        d = self.job.document()
        root = server.root
        s3 = self.context.client("s3")
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
        download_inputs(s3, source["S3Uri"], input_dir, "the transform input")
        out_dir = root / "output"
        for path in sorted(p for p in input_dir.rglob("*") if p.is_file()):
            if self.job.stop_requested.is_set():
                return
            relative = path.relative_to(input_dir).as_posix()

            def call(payload: bytes, relative: str = relative) -> bytes:
                status, body, _ = server.invoke(payload, content_type, accept)
                if status != 200:
                    raise JobFailed(
                        f"ClientError: the model answered {status} for {relative}: "
                        f"{body[:300].decode(errors='replace')}"
                    )
                return body

            target = out_dir / f"{relative}.out"
            target.parent.mkdir(parents=True, exist_ok=True)
            with path.open("rb") as records, target.open("wb") as answers:
                stream_transform(
                    records,
                    answers,
                    call,
                    split=split,
                    strategy=strategy,
                    max_payload_mb=max_payload,
                    concurrency=concurrency,
                    assemble=assemble,
                    where=relative,
                    stop=self.job.stop_requested,
                )
            execution.upload_file(
                s3,
                target,
                f"{output['S3OutputPath'].rstrip('/')}/{relative}.out",
                output.get("KmsKeyId"),
            )


def iter_payloads(
    records: BinaryIO, split: str, strategy: str, max_payload_mb: int, where: str
) -> Iterator[bytes]:
    """Requests for one input file, read as they are needed: the whole file, one record each,
    or records packed up to the payload limit (MultiRecord), as SageMaker's batch transform
    does. With SplitType Line a record ends at a newline (a trailing CR is dropped, blank lines
    skipped); no more than one record beyond the payload limit is ever read ahead."""
    limit = max_payload_mb * 1024 * 1024
    if split == "None":
        data = records.read(limit + 1)
        if len(data) > limit:
            raise JobFailed(f"ClientError: {where} is larger than MaxPayloadInMB={max_payload_mb}")
        if data:
            yield data
        return
    current: list[bytes] = []
    size = 0
    number = 0
    while True:
        line = records.readline(limit + 2)  # a record of the limit, its CR LF
        if not line:
            break
        record = line.rstrip(b"\r\n")
        if not record.strip():
            continue
        number += 1
        if len(record) > limit or (not line.endswith(b"\n") and len(line) > limit):
            raise JobFailed(
                f"ClientError: record {number} of {where} is larger than "
                f"MaxPayloadInMB={max_payload_mb}"
            )
        if strategy == "SingleRecord":
            yield record
            continue
        if current and size + len(record) + 1 > limit:
            yield b"\n".join(current) + b"\n"
            current, size = [], 0
        current.append(record)
        size += len(record) + 1
    if current:
        yield b"\n".join(current) + b"\n"


def stream_transform(
    records: BinaryIO,
    answers: BinaryIO,
    invoke: Callable[[bytes], bytes],
    *,
    split: str,
    strategy: str,
    max_payload_mb: int,
    concurrency: int,
    assemble: str,
    where: str,
    stop: threading.Event | None = None,
) -> int:
    """Send one input file's payloads through ``invoke``, ``concurrency`` at a time, and write
    the answers to ``answers`` in input order as they come back; returns the requests made.

    Streaming: at most ``concurrency`` requests in flight and as many payloads read ahead, so
    the memory a file needs is bounded by the payload limit, whatever the file's size."""
    window = max(1, concurrency) * 2
    pending: collections.deque[Future[bytes]] = collections.deque()
    sent = 0

    def drain_one() -> None:
        answer = pending.popleft().result()
        if assemble == "Line" and not answer.endswith(b"\n"):
            answer += b"\n"
        answers.write(answer)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        try:
            for payload in iter_payloads(records, split, strategy, max_payload_mb, where):
                if stop is not None and stop.is_set():
                    break
                pending.append(pool.submit(invoke, payload))
                sent += 1
                if len(pending) >= window:
                    drain_one()
            while pending:
                drain_one()
        finally:
            for future in pending:
                future.cancel()
    return sent
