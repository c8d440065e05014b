"""Real-time endpoints: CreateEndpoint, DescribeEndpoint, UpdateEndpoint, DeleteEndpoint,
ListEndpoints, and sagemaker-runtime's InvokeEndpoint. The servers and traffic are the
endpoint's runtime (``runners.hosting.EndpointRuntime``); the describe document is here."""

from __future__ import annotations

import threading
from typing import Any

from ..exceptions import RuntimeValidationError, SageMakerError, ValidationError
from ..runners.hosting import Answer, EndpointRuntime
from ..runners.job import RunnerContext
from .base import Family, Resource, Shared, Store, now
from .endpoint_config import EndpointConfigs
from .listing import list_answer
from .model import Models


class Endpoint(Resource):
    """An endpoint: its describe document and its runtime (the servers it deploys)."""

    NAME_KEY = "EndpointName"
    ARN_KEY = "EndpointArn"
    STATUS_KEY = "EndpointStatus"
    SUMMARY_KEYS = (
        "EndpointName",
        "EndpointArn",
        "CreationTime",
        "LastModifiedTime",
        "EndpointStatus",
    )

    def __init__(
        self,
        lock: threading.RLock,
        context: RunnerContext,
        name: str,
        arn: str,
        config_name: str,
    ):
        created = now()
        super().__init__(
            lock,
            {
                "EndpointName": name,
                "EndpointArn": arn,
                "EndpointConfigName": config_name,
                "EndpointStatus": "Creating",
                "CreationTime": created,
                "LastModifiedTime": created,
            },
        )
        self.runtime = EndpointRuntime(context, name, report=self.record, status=self.status)

    def status(self) -> str:
        with self.lock:
            return str(self.description["EndpointStatus"])

    def record(self, **fields: Any) -> None:
        """The runtime's status callback: set fields (None removes one)."""
        with self.lock:
            for key, value in fields.items():
                if value is None:
                    self.description.pop(key, None)
                else:
                    self.description[key] = value
            self.description["LastModifiedTime"] = now()

    def start_update(self) -> None:
        """UpdateEndpoint: Updating now (ValidationError unless it is InService)."""
        with self.lock:
            if self.description["EndpointStatus"] != "InService":
                raise ValidationError(f'Cannot update in-progress endpoint "{self.arn}".')
            self.description["EndpointStatus"] = "Updating"
            self.description["LastModifiedTime"] = now()

    def describe(self) -> dict[str, Any]:
        with self.lock:
            description = dict(self.description)
        deployment = self.runtime.current
        if deployment is not None:
            weights = deployment.weights()
            variants = deployment.config["ProductionVariants"]
            description["ProductionVariants"] = [
                {
                    "VariantName": v["VariantName"],
                    "DeployedImages": [
                        {
                            "SpecifiedImage": deployment.servers[v["VariantName"]].container[
                                "Image"
                            ],
                            "ResolvedImage": deployment.servers[v["VariantName"]].container[
                                "Image"
                            ],
                            "ResolutionTime": description["CreationTime"],
                        }
                    ],
                    "CurrentWeight": weights[v["VariantName"]],
                    "DesiredWeight": weights[v["VariantName"]],
                    "CurrentInstanceCount": v.get("InitialInstanceCount", 1),
                    "DesiredInstanceCount": v.get("InitialInstanceCount", 1),
                }
                for v in variants
            ]
            capture = deployment.config.get("DataCaptureConfig")
            if capture:
                enabled = capture.get("EnableCapture", True)
                description["DataCaptureConfig"] = {
                    "EnableCapture": enabled,
                    "CaptureStatus": "Started" if enabled else "Stopped",
                    "CurrentSamplingPercentage": capture["InitialSamplingPercentage"],
                    "DestinationS3Uri": capture["DestinationS3Uri"],
                    **({"KmsKeyId": capture["KmsKeyId"]} if capture.get("KmsKeyId") else {}),
                }
        return description


class Endpoints(Family):
    """Endpoints deploy an endpoint config and its models as they are at Create/Update."""

    OPERATIONS = (
        "create_endpoint",
        "describe_endpoint",
        "update_endpoint",
        "delete_endpoint",
        "list_endpoints",
    )

    def __init__(self, shared: Shared, configs: EndpointConfigs, models: Models):
        super().__init__(shared)
        self.configs = configs
        self.models = models
        self.endpoints: Store[Endpoint] = Store(self.lock, self.not_found)

    def not_found(self, name: str) -> SageMakerError:
        return ValidationError(f'Could not find endpoint "{self.region.arn("endpoint", name)}".')

    def _deployable(self, config_name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The config and its variants' models, as they are now."""
        config = self.configs.snapshot(config_name)
        models = {
            v["VariantName"]: self.models.snapshot(v["ModelName"])
            for v in config["ProductionVariants"]
        }
        return config, models

    def create_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["EndpointName"]
        arn = self.region.arn("endpoint", name)
        config, models = self._deployable(request["EndpointConfigName"])
        endpoint = Endpoint(self.lock, self.context, name, arn, config["EndpointConfigName"])
        with self.lock:
            self.endpoints.add(
                endpoint,
                lambda: ValidationError(f'Cannot create already existing endpoint "{arn}".'),
            )
            self.tags.tag(arn, request.get("Tags"))
        endpoint.runtime.create(config, models)
        return {"EndpointArn": arn}

    def describe_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.endpoints.get(request["EndpointName"]).describe()

    def update_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        endpoint = self.endpoints.get(request["EndpointName"])
        config, models = self._deployable(request["EndpointConfigName"])
        endpoint.start_update()
        endpoint.runtime.update(config, models, request.get("DeploymentConfig"))
        return {"EndpointArn": endpoint.arn}

    def delete_endpoint(self, request: dict[str, Any]) -> dict[str, Any]:
        endpoint = self.endpoints.get(request["EndpointName"])
        with self.lock:
            self.endpoints.remove(endpoint.name)
            self.tags.forget(endpoint.arn)
        endpoint.runtime.close()
        return {}

    def list_endpoints(self, request: dict[str, Any]) -> dict[str, Any]:
        return list_answer(self.endpoints, request, "Endpoints")

    def invoke_endpoint(
        self,
        name: str,
        *,
        body: bytes,
        content_type: str,
        accept: str | None,
        target_variant: str | None,
    ) -> Answer:
        endpoint = self.endpoints.find(name)
        if endpoint is None:
            raise RuntimeValidationError(
                f"Endpoint {name} of account {self.region.account_id} not found."
            )
        return endpoint.runtime.invoke(body, content_type, accept, target_variant)

    def owns(self, arn: str) -> bool:
        return self.endpoints.holds(arn)

    def server_pids(self, name: str) -> list[int]:
        endpoint = self.endpoints.find(name)
        return endpoint.runtime.server_pids() if endpoint is not None else []

    def close(self) -> None:
        for endpoint in self.endpoints.values():
            endpoint.runtime.close()
