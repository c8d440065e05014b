"""Training jobs: the container contract's config files and channels, metrics from the log,
model.tar.gz / output.tar.gz / checkpoints uploaded, SageMaker's SecondaryStatus steps."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import execution
from ..images import resolve
from .job import Ending, JobFailed, JobRunner, Outcome, download_inputs, max_runtime, read_text

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
CHECKPOINTS = "/opt/ml/checkpoints"


class Metrics:
    """Final metrics from log lines with the job's MetricDefinitions (the last value wins)."""

    def __init__(self, definitions: list[dict[str, str]] | None, clock: Any):
        self.patterns = [(d["Name"], re.compile(d["Regex"])) for d in definitions or []]
        self.values: dict[str, tuple[float, Any]] = {}
        self.clock = clock

    def feed(self, line: str) -> None:
        for name, pattern in self.patterns:
            match = pattern.search(line)
            if match:
                try:
                    self.values[name] = (float(match.group(1)), self.clock())
                except (ValueError, IndexError):
                    continue

    def final(self) -> list[dict[str, Any]]:
        return [
            {"MetricName": name, "Value": value, "Timestamp": moment}
            for name, (value, moment) in self.values.items()
        ]


def input_data_config(document: dict[str, Any]) -> dict[str, Any]:
    """/opt/ml/input/config/inputdataconfig.json: one entry per channel."""
    default_mode = document["AlgorithmSpecification"].get("TrainingInputMode", "File")
    return {
        channel["ChannelName"]: {
            "TrainingInputMode": channel.get("InputMode", default_mode),
            "S3DistributionType": channel["DataSource"]
            .get("S3DataSource", {})
            .get("S3DataDistributionType", "FullyReplicated"),
            "RecordWrapperType": channel.get("RecordWrapperType", "None"),
            **({"ContentType": channel["ContentType"]} if channel.get("ContentType") else {}),
        }
        for channel in document.get("InputDataConfig") or []
    }


def resource_config(document: dict[str, Any]) -> dict[str, Any]:
    """/opt/ml/input/config/resourceconfig.json: one host, algo-1, whatever the instance count."""
    instance_type = document["ResourceConfig"].get("InstanceType", "local")
    return {
        "current_host": "algo-1",
        "current_instance_type": instance_type,
        "current_group_name": "homogeneousCluster",
        "hosts": ["algo-1"],
        "instance_groups": [
            {
                "instance_group_name": "homogeneousCluster",
                "instance_type": instance_type,
                "hosts": ["algo-1"],
            }
        ],
        "network_interface_name": "eth0",
    }


class TrainingRunner(JobRunner):
    """Runs the training image's ``train`` command."""

    def execute(self) -> Outcome:
        d = self.job.document()
        name = d["TrainingJobName"]
        spec = d["AlgorithmSpecification"]
        # SageMaker runs the image's ``train``; ContainerEntrypoint replaces it, as on AWS.
        entrypoint = list(spec.get("ContainerEntrypoint") or ["train"])
        launch = resolve(spec["TrainingImage"], entrypoint[0], self.context.images)
        arguments = [*entrypoint[1:], *(spec.get("ContainerArguments") or [])]
        root = self.context.job_root("training-jobs", name)
        opt_ml = root / "opt_ml"
        s3 = self.context.client("s3")
        config = opt_ml / "input" / "config"
        execution.write_json(config / "hyperparameters.json", d.get("HyperParameters") or {})
        execution.write_json(config / "inputdataconfig.json", input_data_config(d))
        execution.write_json(config / "resourceconfig.json", resource_config(d))
        for channel in d.get("InputDataConfig") or []:
            source = channel["DataSource"].get("S3DataSource")
            if not source or source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise JobFailed(
                    f"ClientError: channel {channel['ChannelName']}: only S3Prefix S3 data sources "
                    "are supported by the local stack"
                )
            download_inputs(
                s3,
                source["S3Uri"],
                opt_ml / "input" / "data" / channel["ChannelName"],
                f"channel {channel['ChannelName']}",
            )
        checkpoint = d.get("CheckpointConfig")
        if checkpoint:
            local = execution.relocate(checkpoint.get("LocalPath", CHECKPOINTS), opt_ml)
            local.mkdir(parents=True, exist_ok=True)
            try:
                execution.download_prefix(s3, checkpoint["S3Uri"], local)
            except FileNotFoundError:
                pass  # first run: nothing to resume from
        (opt_ml / "model").mkdir(parents=True, exist_ok=True)
        (opt_ml / "output" / "data").mkdir(parents=True, exist_ok=True)

        started = d["TrainingStartTime"]
        stream = execution.LogStream(
            self.context.client("logs"),
            LOG_GROUP,
            f"{name}/algo-1-{int(started.timestamp())}",
            root / "output.log",
        )
        metrics = Metrics(d["AlgorithmSpecification"].get("MetricDefinitions"), self.context.clock)

        def on_line(line: str) -> None:
            stream.write(line)
            metrics.feed(line)

        environment = {
            **(d.get("Environment") or {}),
            "TRAINING_JOB_NAME": name,
            "TRAINING_JOB_ARN": d["TrainingJobArn"],
            "SM_CURRENT_HOST": "algo-1",
        }
        outcome = self.launch(
            self.container_process(launch, opt_ml, environment, arguments, on_line, root),
            max_runtime(d),
            root,
            started=lambda: self.job.progress(
                "Training", "Training image download completed. Training in progress."
            ),
        )
        stream.flush()
        if metrics.values:
            self.job.record(FinalMetricDataList=metrics.final())
        return outcome

    def conclude(self, outcome: Outcome) -> Ending:
        root = outcome.root
        if outcome.exit == "exited" and outcome.code == 0:
            self.job.progress("Uploading", "Uploading generated training model")
            self._upload_outputs(root)
            return Ending("Completed", step="Completed", message="Training job completed")
        if outcome.exit in ("stopped", "timeout"):
            if (root / "opt_ml" / "model").exists():
                self._upload_outputs(root)
            if outcome.exit == "stopped":
                return Ending("Stopped", step="Stopped", message="Training job stopped")
            return Ending(
                "Stopped",
                step="MaxRuntimeExceeded",
                message="Training job runtime exceeded MaxRuntimeInSeconds provided",
            )
        failure = read_text(root / "opt_ml" / "output" / "failure")
        reason = (
            f"AlgorithmError: {failure}"
            if failure
            else f"AlgorithmError: , exit code: {outcome.code}"
        )
        return Ending("Failed", reason, step="Failed", message="Training job failed")

    def stopped_while_queued(self) -> Ending:
        return Ending("Stopped", step="Stopped", message="The job was stopped before it started.")

    def failed(self, err: Exception) -> Ending:
        ending = super().failed(err)
        return Ending("Failed", ending.reason, step="Failed", message="Training job failed")

    def _upload_outputs(self, root: Path) -> None:
        d = self.job.document()
        s3 = self.context.client("s3")
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
            local = execution.relocate(checkpoint.get("LocalPath", CHECKPOINTS), opt_ml)
            if local.is_dir():
                execution.upload_directory(s3, local, checkpoint["S3Uri"], kms)
