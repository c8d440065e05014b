"""Models: CreateModel, DescribeModel, DeleteModel, ListModels."""

from __future__ import annotations

from typing import Any

from ..exceptions import SageMakerError, ValidationError
from .base import Family, Resource, Shared, Store, now, without
from .listing import list_answer


class Model(Resource):
    NAME_KEY = "ModelName"
    ARN_KEY = "ModelArn"
    SUMMARY_KEYS = ("ModelName", "ModelArn", "CreationTime")


class Models(Family):
    OPERATIONS = ("create_model", "describe_model", "delete_model", "list_models")

    def __init__(self, shared: Shared):
        super().__init__(shared)
        self.models: Store[Model] = Store(self.lock, self.not_found)

    def not_found(self, name: str) -> SageMakerError:
        return ValidationError(f'Could not find model "{self.region.arn("model", name)}".')

    def snapshot(self, name: str) -> dict[str, Any]:
        """The model's document as it is now (jobs and endpoints keep it as it was)."""
        return self.models.get(name).describe()

    def create_model(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ModelName"]
        arn = self.region.arn("model", name)
        container = request.get("PrimaryContainer") or (request.get("Containers") or [None])[0]
        if container is None or not container.get("Image"):
            raise ValidationError(f"CreateModel {name}: PrimaryContainer.Image is required")
        model = Model(
            self.lock, {**without(request, "Tags"), "ModelArn": arn, "CreationTime": now()}
        )
        with self.lock:
            self.models.add(
                model, lambda: ValidationError(f'Cannot create already existing model "{arn}".')
            )
            self.tags.tag(arn, request.get("Tags"))
        return {"ModelArn": arn}

    def describe_model(self, request: dict[str, Any]) -> dict[str, Any]:
        return self.snapshot(request["ModelName"])

    def delete_model(self, request: dict[str, Any]) -> dict[str, Any]:
        model = self.models.get(request["ModelName"])
        with self.lock:
            self.models.remove(model.name)
            self.tags.forget(model.arn)
        return {}

    def list_models(self, request: dict[str, Any]) -> dict[str, Any]:
        return list_answer(self.models, request, "Models")

    def owns(self, arn: str) -> bool:
        return self.models.holds(arn)
