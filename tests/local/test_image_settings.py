"""Images outside the project registered without Python: a JSON settings file named by
``$MLOPS_LOCAL_IMAGES``, read when a stack starts; its mistakes are named with file and key."""

import json

import pytest

from local.stack import LocalStack
from local.stack.services.sagemaker.images import (
    IMAGES_VARIABLE,
    ImageSettingsError,
    configured_images,
    load_images,
)
from tests.support.local_stack import BUCKET, FIXTURE_IMAGE, training_request, wait_for

FOREIGN_IMAGE = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/team-b/their-trainer:2.1"


def settings_file(tmp_path, entry) -> str:
    path = tmp_path / "images.json"
    path.write_text(json.dumps(entry))
    return str(path)


def test_a_training_job_runs_an_image_registered_in_the_settings_file(
    tmp_path, monkeypatch, s3, training_data
):
    # The fixture image's folder stands in for another team's image, under their repository.
    folder = FIXTURE_IMAGE.folder
    monkeypatch.setenv(
        IMAGES_VARIABLE,
        settings_file(
            tmp_path,
            {
                "their-trainer": {
                    "folder": str(folder),
                    "commands": {"train": "fixture_image.train"},
                }
            },
        ),
    )
    with LocalStack(port=0, workdir=tmp_path / "stack", stop_grace_seconds=1) as stack:
        sagemaker = stack.client("sagemaker")
        request = training_request("settings-image")
        request["AlgorithmSpecification"]["TrainingImage"] = FOREIGN_IMAGE
        sagemaker.create_training_job(**request)
        job = wait_for(
            lambda: sagemaker.describe_training_job(TrainingJobName="settings-image"),
            "TrainingJobStatus",
        )
    assert job["TrainingJobStatus"] == "Completed", job.get("FailureReason")
    assert job["ModelArtifacts"]["S3ModelArtifacts"].startswith(f"s3://{BUCKET}/")


def test_without_the_variable_no_image_is_added():
    assert configured_images({}) == {}


def test_a_relative_folder_is_read_from_the_settings_files_directory(tmp_path):
    (tmp_path / "images" / "scorer" / "src").mkdir(parents=True)
    path = settings_file(
        tmp_path, {"scorer": {"folder": "images/scorer", "commands": {"serve": "scorer.serve"}}}
    )
    image = load_images(path)["scorer"]
    assert image.folder == (tmp_path / "images" / "scorer").resolve()
    assert image.commands == {"serve": "scorer.serve"}


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"Bad/Name": {"folder": ".", "commands": {"train": "m"}}}, "'Bad/Name'"),
        ({"scorer": {"folder": "missing", "commands": {"train": "m"}}}, "'scorer'.folder"),
        ({"scorer": {"folder": "images", "commands": {}}}, "'scorer'.commands"),
        ({"scorer": {"folder": "images", "commands": {"train": "not a module"}}}, ".train"),
        ({"scorer": {"folder": "images", "command": {"train": "m"}}}, "'scorer'"),
        ([], "expected an object"),
    ],
)
def test_a_mistake_in_the_settings_file_names_the_file_and_the_key(tmp_path, entry, named):
    (tmp_path / "images" / "src").mkdir(parents=True)
    path = settings_file(tmp_path, entry)
    with pytest.raises(ImageSettingsError) as raised:
        configured_images({IMAGES_VARIABLE: path})
    assert IMAGES_VARIABLE in str(raised.value)
    assert path in str(raised.value)
    assert named in str(raised.value)


def test_an_unreadable_settings_file_stops_the_stack_from_starting(tmp_path, monkeypatch):
    monkeypatch.setenv(IMAGES_VARIABLE, str(tmp_path / "absent.json"))
    with pytest.raises(ImageSettingsError, match="cannot be read"):
        with LocalStack(port=0, workdir=tmp_path / "stack"):
            pass
