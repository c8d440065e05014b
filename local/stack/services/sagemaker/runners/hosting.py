"""Inference servers: the inference image's ``serve`` command as a loopback process, used by
batch transform (one per job) and by endpoints (one per production variant), with blue/green
updates, rollback, traffic weights and data capture. An endpoint's runtime reports its status
through a callback; its describe document lives with the endpoint resource."""

from __future__ import annotations

import base64
import collections
import datetime as dt
import http.client
import json
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import execution
from ..exceptions import ModelError, RuntimeValidationError
from ..images import UnknownImage, resolve
from .job import FAILURE_TEXT_LIMIT, RunnerContext

DEFAULT_HEALTH_CHECK_SECONDS = 120
INVOCATION_TIMEOUT_SECONDS = 60  # SageMaker real-time endpoints answer within 60 s

StatusCallback = Callable[..., None]  # describe fields → recorded (None removes a field)


class ServerFailed(Exception):
    """An inference server could not start or did not pass its health check."""


@dataclass
class Answer:
    body: bytes
    content_type: str
    variant: str


def primary_container(model: dict[str, Any]) -> dict[str, Any]:
    """The model's PrimaryContainer, else its first of Containers."""
    container: dict[str, Any] = model.get("PrimaryContainer") or model["Containers"][0]
    return container


class ModelServer:
    """One model's inference server on a free loopback port."""

    def __init__(
        self,
        context: RunnerContext,
        model: dict[str, Any],
        root: Path,
        stream: execution.LogStream,
        *,
        extra_env: dict[str, str] | None = None,
    ):
        self.context = context
        self.model = model
        self.root = root
        self.stream = stream
        self.extra_env = extra_env or {}
        self.port = 0
        self.process: execution.ContainerProcess | None = None
        self.recent_lines: collections.deque[str] = collections.deque(maxlen=15)

    @property
    def container(self) -> dict[str, Any]:
        return primary_container(self.model)

    def _on_line(self, line: str) -> None:
        self.recent_lines.append(line)
        self.stream.write(line)

    def start(self) -> None:
        try:
            launch = resolve(self.container["Image"], "serve", self.context.images)
        except UnknownImage as err:
            raise ServerFailed(str(err)) from err
        opt_ml = self.root / "opt_ml"
        model_dir = opt_ml / "model"
        model_dir.mkdir(parents=True, exist_ok=True)
        url = self.container.get("ModelDataUrl")
        if url:
            tarball = self.root / "model.tar.gz"
            try:
                bucket, key = execution.split_s3_uri(url)
                self.context.client("s3").download_file(bucket, key, str(tarball))
                execution.extract_tarball(tarball, model_dir)
            except Exception as err:
                raise ServerFailed(
                    f"Failed to extract model data archive from URL {url}: {err}"
                ) from err
        self.port = execution.free_loopback_port()
        environment = {
            **(self.container.get("Environment") or {}),
            **self.extra_env,
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
        }
        self.process = execution.ContainerProcess(
            launch,
            ml_python=self.context.ml_python,
            opt_ml=opt_ml,
            environment=environment,
            arguments=[],
            on_line=self._on_line,
            cwd=self.root,
        )

    def wait_healthy(
        self, timeout: float = DEFAULT_HEALTH_CHECK_SECONDS, stop: threading.Event | None = None
    ) -> None:
        """Poll GET /ping until it answers 200; ServerFailed if the process dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if stop is not None and stop.is_set():
                raise ServerFailed("stopped while the inference server was starting")
            if self.process is None or not self.process.running:
                code = self.process.wait(timeout=1) if self.process else None
                raise ServerFailed(
                    f"the inference server for model {self.model['ModelName']} exited "
                    f"(code {code}) before answering /ping; last log lines: "
                    + " | ".join(self.recent_lines)
                )
            try:
                status, _, _ = self._request("GET", "/ping", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop(grace_seconds=2)
        raise ServerFailed(
            f"the inference server for model {self.model['ModelName']} did not pass the ping "
            f"health check within {timeout:.0f} s"
        )

    def _request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = INVOCATION_TIMEOUT_SECONDS,
    ) -> tuple[int, bytes, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return (
                response.status,
                response.read(),
                response.getheader("Content-Type", "application/octet-stream"),
            )
        finally:
            connection.close()

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[int, bytes, str]:
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        return self._request("POST", "/invocations", body, headers)

    def execution_parameters(self) -> dict[str, Any] | None:
        """The server's GET /execution-parameters, if it has one."""
        try:
            status, body, _ = self._request("GET", "/execution-parameters", timeout=5)
        except OSError:
            return None
        if status != 200:
            return None
        parameters: dict[str, Any] = json.loads(body)
        return parameters

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.running

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def stop(self, grace_seconds: float) -> None:
        if self.process is not None and self.process.running:
            self.process.terminate(grace_seconds)
        self.stream.flush()

    terminate = stop


@dataclass
class Deployment:
    """The servers of one endpoint config, one per production variant."""

    config: dict[str, Any]
    servers: dict[str, ModelServer] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.config["EndpointConfigName"])

    def weights(self) -> dict[str, float]:
        return {
            v["VariantName"]: float(v.get("InitialVariantWeight", 1.0))
            for v in self.config["ProductionVariants"]
        }

    def stop(self, grace_seconds: float) -> None:
        for server in self.servers.values():
            server.stop(grace_seconds)


class EndpointRuntime:
    """A real-time endpoint's live deployment(s) and traffic routes. ``report(**fields)`` is
    the status callback; ``status()`` reads the endpoint's status for error messages."""

    def __init__(
        self,
        context: RunnerContext,
        name: str,
        report: StatusCallback,
        status: Callable[[], str],
    ):
        self.context = context
        self.name = name
        self.report = report
        self.status = status
        self.current: Deployment | None = None
        self.pending: Deployment | None = None
        self.routes: list[tuple[Deployment, float]] = []
        self.closed = threading.Event()
        self._deploys = 0

    # ---- lifecycle ---------------------------------------------------------------------------
    def create(self, config: dict[str, Any], models: dict[str, dict[str, Any]]) -> None:
        """Deploy ``config`` in the background; report InService or Failed."""
        threading.Thread(
            target=self._create, args=(config, models), name=f"endpoint-{self.name}", daemon=True
        ).start()

    def _create(self, config: dict[str, Any], models: dict[str, dict[str, Any]]) -> None:
        try:
            deployment = self._deploy(config, models)
        except ServerFailed as err:
            self.report(EndpointStatus="Failed", FailureReason=str(err)[:FAILURE_TEXT_LIMIT])
            return
        self.current = deployment
        self.routes = [(deployment, 1.0)]
        self.report(EndpointStatus="InService")

    def update(
        self,
        config: dict[str, Any],
        models: dict[str, dict[str, Any]],
        deployment_config: dict[str, Any] | None,
    ) -> None:
        """Blue/green to ``config`` in the background; report InService (new or rolled back)."""
        threading.Thread(
            target=self._update,
            args=(config, models, deployment_config or {}),
            name=f"endpoint-{self.name}-update",
            daemon=True,
        ).start()

    def _update(
        self,
        config: dict[str, Any],
        models: dict[str, dict[str, Any]],
        deployment_config: dict[str, Any],
    ) -> None:
        old = self.current
        try:
            new = self._deploy(config, models)
        except ServerFailed as err:
            self.report(
                EndpointStatus="InService",
                FailureReason=(
                    f"Failed to update endpoint to config {config['EndpointConfigName']}; rolled "
                    f"back to {old.name if old else 'none'}: {err}"
                )[:FAILURE_TEXT_LIMIT],
            )
            return
        self.pending = new
        alarm = self._shift_traffic(old, new, deployment_config)
        if alarm is not None:
            self.routes = [(old, 1.0)] if old else []
            self.pending = None
            new.stop(grace_seconds=2)
            self.report(
                EndpointStatus="InService",
                FailureReason=(
                    f"Update to endpoint config {config['EndpointConfigName']} rolled back: "
                    f"alarm {alarm} went into ALARM during the deployment"
                ),
            )
            return
        self.current, self.pending = new, None
        self.routes = [(new, 1.0)]
        self.report(
            EndpointStatus="InService",
            EndpointConfigName=config["EndpointConfigName"],
            FailureReason=None,
            LastDeploymentConfig=deployment_config or None,
        )
        if old is not None:
            old.stop(grace_seconds=self.context.stop_grace_seconds)

    def _shift_traffic(
        self, old: Deployment | None, new: Deployment, deployment_config: dict[str, Any]
    ) -> str | None:
        """Blue/green: canary, linear or all at once, baking while watching the rollback
        alarms; the name of an alarm that fired, or None when traffic is all on ``new``."""
        policy = deployment_config.get("BlueGreenUpdatePolicy") or {}
        routing = policy.get("TrafficRoutingConfiguration") or {"Type": "ALL_AT_ONCE"}
        alarms = [
            a["AlarmName"]
            for a in (deployment_config.get("AutoRollbackConfiguration") or {}).get("Alarms", [])
        ]
        instances = sum(v.get("InitialInstanceCount", 1) for v in new.config["ProductionVariants"])
        steps: list[float] = []
        if old is not None and routing["Type"] == "CANARY":
            steps = [_share(routing["CanarySize"], instances)]
        elif old is not None and routing["Type"] == "LINEAR":
            step = _share(routing["LinearStepSize"], instances)
            share = step
            while share < 1.0:
                steps.append(share)
                share += step
        for share in steps:
            assert old is not None  # steps exist only when there is traffic to shift from
            self.routes = [(old, 1.0 - share), (new, share)]
            fired = self._bake(routing.get("WaitIntervalInSeconds", 0), alarms)
            if fired:
                return fired
        self.routes = [(new, 1.0)]
        return self._bake(policy.get("TerminationWaitInSeconds", 0), alarms)

    def _bake(self, seconds: float, alarms: list[str]) -> str | None:
        deadline = time.monotonic() + seconds
        cloudwatch = self.context.client("cloudwatch") if alarms else None
        while True:
            if cloudwatch is not None:
                states = cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]
                for alarm in states:
                    if alarm["StateValue"] == "ALARM":
                        return str(alarm["AlarmName"])
            if time.monotonic() >= deadline or self.closed.wait(0.5):
                return None

    def _deploy(self, config: dict[str, Any], models: dict[str, dict[str, Any]]) -> Deployment:
        deployment = Deployment(config)
        self._deploys += 1
        base = self.context.workdir / "sagemaker" / "endpoints" / self.name
        base.mkdir(parents=True, exist_ok=True)
        logs = self.context.client("logs")
        variant_name = ""
        try:
            for variant in config["ProductionVariants"]:
                variant_name = variant["VariantName"]
                root = Path(tempfile.mkdtemp(prefix=f"{self._deploys}-{variant_name}-", dir=base))
                stream = execution.LogStream(
                    logs,
                    f"/aws/sagemaker/Endpoints/{self.name}",
                    f"{variant_name}/i-local{uuid.uuid4().hex[:12]}",
                    root / "output.log",
                )
                server = ModelServer(self.context, models[variant_name], root, stream)
                deployment.servers[variant_name] = server
                server.start()
                server.wait_healthy(
                    timeout=variant.get(
                        "ContainerStartupHealthCheckTimeoutInSeconds", DEFAULT_HEALTH_CHECK_SECONDS
                    ),
                    stop=self.closed,
                )
        except ServerFailed as err:
            deployment.stop(grace_seconds=2)
            raise ServerFailed(
                f"The primary container for production variant {variant_name} did not pass the "
                f"ping health check: {err}"
            ) from err
        return deployment

    def close(self) -> None:
        self.closed.set()
        for deployment in (self.current, self.pending):
            if deployment is not None:
                deployment.stop(grace_seconds=2)

    def server_pids(self) -> list[int]:
        """Process ids of the servers that run now (current and pending deployment)."""
        return [
            pid
            for deployment in (self.current, self.pending)
            if deployment is not None
            for server in deployment.servers.values()
            if (pid := server.pid) is not None
        ]

    # ---- invoke ------------------------------------------------------------------------------
    def invoke(
        self, body: bytes, content_type: str, accept: str | None, target_variant: str | None
    ) -> Answer:
        routes = list(self.routes)
        if not routes:
            raise RuntimeValidationError(f"Endpoint {self.name} is {self.status()}, not InService.")
        deployment = random.choices([d for d, _ in routes], weights=[s for _, s in routes])[0]
        if target_variant:
            if target_variant not in deployment.servers:
                raise RuntimeValidationError(
                    f"Endpoint {self.name} has no production variant {target_variant}."
                )
            variant = target_variant
        else:
            weights = deployment.weights()
            names = list(weights)
            variant = random.choices(names, weights=[weights[n] for n in names])[0]
        server = deployment.servers[variant]
        account = self.context.account_id
        log_arn = (
            f"arn:aws:logs:{self.context.region}:{account}:log-group:"
            f"/aws/sagemaker/Endpoints/{self.name}"
        )
        try:
            status, answer, answer_type = server.invoke(body, content_type, accept)
        except OSError as err:
            raise ModelError(
                f'Received server error (0) from primary with message "{err}".',
                OriginalStatusCode=500,
                OriginalMessage=str(err),
                LogStreamArn=log_arn,
            ) from err
        if status != 200:
            text = answer.decode(errors="replace")[:1000]
            kind = "client" if status < 500 else "server"
            raise ModelError(
                f'Received {kind} error ({status}) from primary with message "{text}". See '
                f"{log_arn} in account {account} for more information.",
                OriginalStatusCode=status,
                OriginalMessage=text,
                LogStreamArn=log_arn,
            )
        self._capture(deployment, variant, body, content_type, answer, answer_type)
        return Answer(answer, answer_type, variant)

    def _capture(
        self,
        deployment: Deployment,
        variant: str,
        body: bytes,
        content_type: str,
        answer: bytes,
        answer_type: str,
    ) -> None:
        capture = deployment.config.get("DataCaptureConfig")
        if not capture or not capture.get("EnableCapture", True):
            return
        if random.uniform(0, 100) >= capture["InitialSamplingPercentage"]:
            return
        modes = {o["CaptureMode"] for o in capture.get("CaptureOptions", [])} or {"Input", "Output"}
        headers = capture.get("CaptureContentTypeHeader") or {}
        moment = dt.datetime.now(dt.UTC)
        data: dict[str, Any] = {}
        if "Input" in modes:
            data["endpointInput"] = _captured(body, content_type, "INPUT", headers)
        if "Output" in modes:
            data["endpointOutput"] = _captured(answer, answer_type, "OUTPUT", headers)
        record = {
            "captureData": data,
            "eventMetadata": {
                "eventId": str(uuid.uuid4()),
                "inferenceTime": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            },
            "eventVersion": "0",
        }
        key = (
            f"{capture['DestinationS3Uri'].rstrip('/')}/{self.name}/{variant}/"
            f"{moment:%Y/%m/%d/%H}/{moment:%M-%S-%f}-{uuid.uuid4()}.jsonl"
        )
        bucket, object_key = execution.split_s3_uri(key)
        extra = (
            {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": capture["KmsKeyId"]}
            if capture.get("KmsKeyId")
            else {}
        )
        self.context.client("s3").put_object(
            Bucket=bucket, Key=object_key, Body=json.dumps(record).encode() + b"\n", **extra
        )


def _share(size: dict[str, Any], instances: int) -> float:
    if size["Type"] == "CAPACITY_PERCENT":
        return float(min(1.0, size["Value"] / 100.0))
    return float(min(1.0, size["Value"] / max(1, instances)))


def _captured(
    payload: bytes, content_type: str, mode: str, headers: dict[str, Any]
) -> dict[str, str]:
    base_type = content_type.split(";", 1)[0].strip().lower()
    csv_types = {t.lower() for t in headers.get("CsvContentTypes", ["text/csv"])}
    json_types = {
        t.lower()
        for t in headers.get(
            "JsonContentTypes",
            ["application/json", "application/jsonlines", "application/x-ndjson"],
        )
    }
    if base_type in csv_types or base_type in json_types:
        encoding = "CSV" if base_type in csv_types else "JSON"
        data = payload.decode(errors="replace")
    else:
        encoding, data = "BASE64", base64.b64encode(payload).decode()
    return {"observedContentType": content_type, "mode": mode, "data": data, "encoding": encoding}
