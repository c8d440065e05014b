"""Image URI → what runs locally: the ONE place that maps ECR repositories to docker/ folders.

SageMaker runs a container from an image; locally the stack runs the image folder's command as
``$MLOPS_ML_PYTHON -m <module>`` with PYTHONPATH ``docker/common/src:<folder>/src``.
The repository's last path segment picks the image (``<name_prefix>/training`` → training).
More images come from a settings file named by ``$MLOPS_LOCAL_IMAGES`` (``load_images``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
            f"counterpart; known repositories: {', '.join(sorted(images))} (register more in "
            f"the file named by ${IMAGES_VARIABLE})"
        )
    module = image.commands.get(command)
    if module is None:
        raise UnknownImage(
            f"ClientError: image {image_uri} has no command '{command}'; "
            f"it has: {', '.join(sorted(image.commands))}"
        )
    return Launch(module=module, pythonpath=image.pythonpath())


IMAGES_VARIABLE = "MLOPS_LOCAL_IMAGES"
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_REPOSITORY = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")  # an ECR repository path segment


class ImageSettingsError(ValueError):
    """The image settings file is unreadable or names something that does not exist."""


def load_images(path: str | os.PathLike[str]) -> dict[str, ImageFolder]:
    """Images from a JSON settings file: ``{"<repository>": {"folder": "<dir>", "commands":
    {"<command>": "<module>"}}}``; a relative folder is read from the file's directory."""
    source = Path(path)
    try:
        settings = json.loads(source.read_text())
    except OSError as err:
        raise ImageSettingsError(f"image settings {source}: cannot be read ({err})") from err
    except json.JSONDecodeError as err:
        raise ImageSettingsError(f"image settings {source}: not JSON ({err})") from err
    if not isinstance(settings, dict) or not settings:
        raise ImageSettingsError(
            f"image settings {source}: expected an object of repository name → "
            '{"folder": ..., "commands": {...}}'
        )
    return {repository: _image(source, repository, entry) for repository, entry in settings.items()}


def _image(source: Path, repository: str, entry: Any) -> ImageFolder:
    where = f"image settings {source}: {repository!r}"
    if not _REPOSITORY.match(repository):
        raise ImageSettingsError(
            f"{where}: not an ECR repository name's last segment (lower case, digits, . _ -)"
        )
    if not isinstance(entry, dict) or set(entry) - {"folder", "commands"}:
        raise ImageSettingsError(f'{where}: expected {{"folder": ..., "commands": {{...}}}}')
    if not isinstance(entry.get("folder"), str):
        raise ImageSettingsError(f"{where}.folder: a directory path is required")
    folder = (source.parent / entry["folder"]).resolve()
    if not (folder / "src").is_dir():
        raise ImageSettingsError(
            f"{where}.folder: {folder} has no src/ directory (its Python code goes there)"
        )
    commands = entry.get("commands")
    if not isinstance(commands, dict) or not commands:
        raise ImageSettingsError(f"{where}.commands: map each command to a Python module")
    for command, module in commands.items():
        if not isinstance(module, str) or not _MODULE.match(module):
            raise ImageSettingsError(
                f"{where}.commands.{command}: {module!r} is not a Python module name"
            )
    return ImageFolder(folder, dict(commands))


def configured_images(environ: dict[str, str] | None = None) -> dict[str, ImageFolder]:
    """The images of the settings file named by ``$MLOPS_LOCAL_IMAGES`` (none if unset)."""
    path = (os.environ if environ is None else environ).get(IMAGES_VARIABLE)
    if not path:
        return {}
    try:
        return load_images(path)
    except ImageSettingsError as err:
        raise ImageSettingsError(f"${IMAGES_VARIABLE}: {err}") from err
