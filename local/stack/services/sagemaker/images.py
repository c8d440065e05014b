"""Image URI → what runs locally: the ONE place that maps ECR repositories to docker/ folders.

SageMaker runs a container from an image; locally the stack runs the image folder's command as
``$MLOPS_ML_PYTHON -m <module>`` with PYTHONPATH ``docker/common/src:<folder>/src``.
The repository's last path segment picks the image (``<name_prefix>/training`` → training).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from local.stack.server import REPO_ROOT


@dataclass(frozen=True)
class ImageFolder:
    """An image's source folder and its commands (command on the image's PATH → module)."""

    folder: Path
    commands: dict[str, str] = field(default_factory=dict)

    def pythonpath(self) -> list[str]:
        return [str(REPO_ROOT / "docker" / "common" / "src"), str(Path(self.folder) / "src")]


PROJECT_IMAGES: dict[str, ImageFolder] = {
    "processing": ImageFolder(
        REPO_ROOT / "docker" / "processing",
        {
            "prepare": "ml_processing.prepare",
            "evaluate": "ml_processing.evaluate",
            "postprocess": "ml_processing.postprocess",
        },
    ),
    "training": ImageFolder(REPO_ROOT / "docker" / "training", {"train": "ml_training.train"}),
    "training-neuron": ImageFolder(
        REPO_ROOT / "docker" / "training", {"train": "ml_training.train"}
    ),
    "inference": ImageFolder(REPO_ROOT / "docker" / "inference", {"serve": "ml_inference.serve"}),
}


class UnknownImage(Exception):
    """The image URI or its command has no local counterpart; the message is the FailureReason."""


@dataclass(frozen=True)
class Launch:
    """How to run one command of an image locally."""

    module: str
    pythonpath: list[str]


def repository_name(image_uri: str) -> str:
    """``<registry>/<repo path>:<tag>`` or ``@<digest>`` → the repository's last path segment."""
    without_digest = image_uri.split("@", 1)[0]
    path = without_digest.split("/", 1)[1] if "/" in without_digest else without_digest
    last = path.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def resolve(
    image_uri: str, command: str, extra_images: dict[str, ImageFolder] | None = None
) -> Launch:
    """The module and PYTHONPATH that stand in for ``command`` of ``image_uri``."""
    images = {**PROJECT_IMAGES, **(extra_images or {})}
    repository = repository_name(image_uri)
    image = images.get(repository)
    if image is None:
        raise UnknownImage(
            f"ClientError: image {image_uri} (repository '{repository}') has no local "
            f"counterpart; known repositories: {', '.join(sorted(images))}"
        )
    module = image.commands.get(command)
    if module is None:
        raise UnknownImage(
            f"ClientError: image {image_uri} has no command '{command}'; "
            f"it has: {', '.join(sorted(image.commands))}"
        )
    return Launch(module=module, pythonpath=image.pythonpath())
