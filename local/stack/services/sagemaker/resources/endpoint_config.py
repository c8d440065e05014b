"""Endpoint configurations: CreateEndpointConfig, DescribeEndpointConfig, DeleteEndpointConfig,
ListEndpointConfigs."""

from __future__ import annotations

from typing import Any

from ..exceptions import SageMakerError, ValidationError
from .base import Family, Resource, Shared, Store, now, without
from .listing import list_answer
from .model import Models


class EndpointConfig(Resource):
    NAME_KEY = "EndpointConfigName"
    ARN_KEY = "EndpointConfigArn"
    SUMMARY_KEYS = ("EndpointConfigName", "EndpointConfigArn", "CreationTime")


class EndpointConfigs(Family):
    """Endpoint configs; each variant's model must exist when the config is created."""

    OPERATIONS = (
        "create_endpoint_config",
        "describe_endpoint_config",
        "delete_endpoint_config",
        "list_endpoint_configs",
    )

    def __init__(self, shared: Shared, models: Models):
        super().__init__(shared)
        self.models = models
        self.configs: Store[EndpointConfig] = Store(self.lock, self.not_found)

    def not_found(self, name: str) -> SageMakerError:
        arn = self.region.arn("endpoint-config", name)
        return ValidationError(f'Could not find endpoint configuration "{arn}".')

    def snapshot(self, name: str) -> dict[str, Any]:
        """The config's document as it is now (an endpoint deploys it as it was)."""
        return self.configs.get(name).describe()

    def create_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["EndpointConfigName"]
        arn = self.region.arn("endpoint-config", name)

        def already_exists() -> ValidationError:
            return ValidationError(
                f'Cannot create already existing endpoint configuration "{arn}".'
            )

        with self.lock:
            if name in self.configs:  # SageMaker names a taken name before a missing model
                raise already_exists()
            for variant in request["ProductionVariants"]:
                if variant.get("ModelName") not in self.models.models:
                    model_arn = self.region.arn("model", variant.get("ModelName", ""))
                    raise ValidationError(
                        f'Could not find model "{model_arn}" '
                        f"for production variant {variant['VariantName']}."
                    )
            self._refuse_serverless_exclusions(request)
            config = EndpointConfig(
                self.lock,
                {**without(request, "Tags"), "EndpointConfigArn": arn, "CreationTime": now()},
            )
            self.configs.add(config, already_exists)
            self.tags.tag(arn, request.get("Tags"))
        return {"EndpointConfigArn": arn}

    def _refuse_serverless_exclusions(self, request: dict[str, Any]) -> None:
        """What SageMaker Serverless Inference does not support (AWS's feature exclusions), of
        what an endpoint config and its models can ask for: refused as SageMaker refuses it."""
        variants = request["ProductionVariants"]
        serverless = [v["VariantName"] for v in variants if v.get("ServerlessConfig")]
        if not serverless:
            return
        name = request["EndpointConfigName"]
        refused = [
            (len(variants) > 1, "multiple production variants"),
            (bool(request.get("DataCaptureConfig")), "DataCaptureConfig (data capture)"),
            (bool(request.get("KmsKeyId")), "KmsKeyId"),
        ]
        for variant in variants:
            if variant["VariantName"] not in serverless:
                continue
            refused.append(
                (
                    bool(variant.get("InstanceType")),
                    f"InstanceType on variant {variant['VariantName']}",
                )
            )
            model = self.models.snapshot(variant["ModelName"])
            where = f"model {variant['ModelName']} of variant {variant['VariantName']}"
            refused += [
                (bool(model.get("VpcConfig")), f"VpcConfig on {where}"),
                (bool(model.get("EnableNetworkIsolation")), f"network isolation on {where}"),
                (len(model.get("Containers") or []) > 1, f"an inference pipeline as {where}"),
            ]
        unsupported = [what for present, what in refused if present]
        if unsupported:
            raise ValidationError(
                f"CreateEndpointConfig {name}: serverless variant {', '.join(serverless)} does "
                f"not support {'; '.join(unsupported)}"
            )

    def describe_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.snapshot(request["EndpointConfigName"])

    def delete_endpoint_config(self, request: dict[str, Any]) -> dict[str, Any]:
        config = self.configs.get(request["EndpointConfigName"])
        with self.lock:
            self.configs.remove(config.name)
            self.tags.forget(config.arn)
        return {}

    def list_endpoint_configs(self, request: dict[str, Any]) -> dict[str, Any]:
        return list_answer(self.configs, request, "EndpointConfigs")

    def owns(self, arn: str) -> bool:
        return self.configs.holds(arn)
