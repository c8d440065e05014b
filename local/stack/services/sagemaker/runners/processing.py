"""Processing jobs: the command named by ContainerEntrypoint, inputs and outputs under
/opt/ml/processing/..., the job's config in /opt/ml/config, /opt/ml/output/message."""

from __future__ import annotations

import time
from pathlib import Path

from .. import execution
from ..images import resolve
from .job import Ending, JobFailed, JobRunner, Outcome, download_inputs, max_runtime, read_text
from .job import relocated as relocated_path

LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
# Fields of the describe document that processingjobconfig.json leaves out (they change).
UNWRITTEN_FIELDS = ("ProcessingJobStatus", "LastModifiedTime")


class ProcessingRunner(JobRunner):
    """Runs ``ContainerEntrypoint[0]`` of the processing image."""

    def execute(self) -> Outcome:
        d = self.job.document()
        name = d["ProcessingJobName"]
        app = d["AppSpecification"]
        entrypoint = list(app.get("ContainerEntrypoint") or [])
        if not entrypoint:
            raise JobFailed(
                "ClientError: AppSpecification.ContainerEntrypoint must name the image's command "
                "(e.g. ['prepare']): the local stack has no image default entrypoint"
            )
        launch = resolve(app["ImageUri"], entrypoint[0], self.context.images)
        root = self.context.job_root("processing-jobs", name)
        opt_ml = root / "opt_ml"
        s3 = self.context.client("s3")
        execution.write_json(
            opt_ml / "config" / "processingjobconfig.json",
            {k: v for k, v in d.items() if k not in UNWRITTEN_FIELDS},
        )
        execution.write_json(
            opt_ml / "config" / "resourceconfig.json",
            {"current_host": "algo-1", "hosts": ["algo-1"]},
        )
        for processing_input in d.get("ProcessingInputs") or []:
            source = processing_input.get("S3Input")
            label = f"processing input {processing_input['InputName']}"
            if not source or source.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise JobFailed(
                    f"ClientError: {label}: only S3Prefix S3 inputs are supported locally"
                )
            destination = relocated_path(source["LocalPath"], opt_ml, label)
            download_inputs(s3, source["S3Uri"], destination, label)
        for output in (d.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
            if output.get("S3Output"):
                local = output["S3Output"]["LocalPath"]
                relocated_path(local, opt_ml, f"output {output['OutputName']}").mkdir(
                    parents=True, exist_ok=True
                )
        stream = execution.LogStream(
            self.context.client("logs"),
            LOG_GROUP,
            f"{name}/algo-1-{int(time.time())}",
            root / "output.log",
        )
        environment = {**(d.get("Environment") or {}), "PROCESSING_JOB_NAME": name}
        arguments = [*entrypoint[1:], *(app.get("ContainerArguments") or [])]
        outcome = self.launch(
            self.container_process(launch, opt_ml, environment, arguments, stream.write, root),
            max_runtime(d),
            root,
        )
        stream.flush()
        return outcome

    def conclude(self, outcome: Outcome) -> Ending:
        message = read_text(outcome.root / "opt_ml" / "output" / "message")
        if outcome.exit == "exited" and outcome.code == 0:
            self._upload_outputs(outcome.root)
            return Ending("Completed", exit_message=message)
        if outcome.exit in ("stopped", "timeout"):
            # SageMaker stops a processing job at MaxRuntimeInSeconds: Stopped, no FailureReason.
            return Ending("Stopped", exit_message=message)
        reason = message or f"See job logs for more information (exit code {outcome.code})"
        return Ending("Failed", f"AlgorithmError: {reason}", exit_message=message)

    def _upload_outputs(self, root: Path) -> None:
        config = self.job.document().get("ProcessingOutputConfig") or {}
        s3 = self.context.client("s3")
        for output in config.get("Outputs") or []:
            target = output.get("S3Output")
            if target:
                local = execution.relocate(target["LocalPath"], root / "opt_ml")
                if local.is_dir():
                    execution.upload_directory(s3, local, target["S3Uri"], config.get("KmsKeyId"))
