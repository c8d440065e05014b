"""scripts/check_images.py against moto's ECR: the plan jobs' check that an environment's registry
holds the images under the tag the plan deploys, with the digests this pipeline built."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
import check_images  # noqa: E402

PREFIX = "mlops"
ACCOUNT = "123456789012"  # moto's account
REGION = "eu-west-1"


def _manifest(image: str, build: str) -> tuple[str, str]:
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023,
                "digest": "sha256:" + hashlib.sha256(f"{image}-{build}".encode()).hexdigest(),
            },
            "layers": [],
        }
    )
    return body, "sha256:" + hashlib.sha256(body.encode()).hexdigest()


@pytest.fixture
def ecr():
    with mock_aws():
        client = boto3.client("ecr", region_name=REGION)
        for image in check_images.IMAGES:
            client.create_repository(repositoryName=f"{PREFIX}/{image}")
        yield client


def push(ecr, image: str, tag: str, build: str = "a") -> str:
    body, digest = _manifest(image, build)
    answer = ecr.put_image(repositoryName=f"{PREFIX}/{image}", imageManifest=body, imageTag=tag)
    return answer["image"]["imageId"]["imageDigest"] or digest


def _check(ecr, tag, digests=None, wait=0.0, **kwargs):
    return check_images.check(
        ecr,
        registry_id=ACCOUNT,
        name_prefix=PREFIX,
        tag=tag,
        digests=digests or {},
        wait_seconds=wait,
        **kwargs,
    )


def test_every_image_with_the_tag_and_the_built_digest_passes(ecr):
    digests = {image: push(ecr, image, "abc123") for image in check_images.IMAGES}
    assert _check(ecr, "abc123", digests) == []


def test_a_tag_no_build_pushed_fails_naming_each_missing_image(ecr):
    push(ecr, "processing", "abc123")
    problems = _check(ecr, "abc123")
    missing = [p for p in problems if "does not exist" in p]
    assert len(missing) == 3
    assert any(f"{ACCOUNT}/{PREFIX}/training:abc123" in p for p in missing)
    assert all("MODEL_IMAGE_TAG" in p for p in missing)


def test_a_tag_that_names_another_builds_digest_fails_at_once(ecr):
    for image in check_images.IMAGES:
        push(ecr, image, "1.2.3", build="other")
    _, ours = _manifest("inference", "ours")
    slept = []
    problems = _check(ecr, "1.2.3", {"inference": ours}, wait=600, sleep=slept.append)
    (problem,) = problems
    assert f"{PREFIX}/inference:1.2.3" in problem and ours in problem and "another build" in problem
    assert slept == []  # present with another digest: no waiting for replication


def test_the_check_waits_for_replication_until_the_images_arrive(ecr):
    """prod's registry gets the images from dev's a few minutes after the push."""
    digests = {}
    now = [0.0]

    def replicate_on_second_poll(seconds: float) -> None:
        now[0] += seconds
        if now[0] >= 30 and not digests:
            digests.update({image: push(ecr, image, "abc123") for image in check_images.IMAGES})

    problems = _check(
        ecr,
        "abc123",
        wait=900,
        poll_seconds=15,
        sleep=replicate_on_second_poll,
        clock=lambda: now[0],
    )
    assert problems == [] and now[0] == 30


def test_the_wait_is_bounded(ecr):
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    problems = _check(ecr, "abc123", wait=60, poll_seconds=15, sleep=sleep, clock=lambda: now[0])
    assert len(problems) == len(check_images.IMAGES) and now[0] == 60


def test_digest_files_are_read_and_a_malformed_one_is_named(tmp_path):
    digest = "sha256:" + "a" * 64
    (tmp_path / "training.digest").write_text(digest + "\n")
    assert check_images.read_digests(tmp_path) == {"training": digest}
    (tmp_path / "inference.digest").write_text("latest")
    with pytest.raises(ValueError, match="inference.digest"):
        check_images.read_digests(tmp_path)
    assert check_images.read_digests(tmp_path / "absent") == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--registry", "example.com"], "--registry must be"),
        (["--tag", "a b"], "--tag is not an image tag"),
        (["--wait", "soon"], "not a duration"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(args, message):
    base = {
        "--registry": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com",
        "--name-prefix": PREFIX,
        "--tag": "abc",
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = [part for pair in base.items() for part in pair]
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_images.py"), *argv],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_existing_writes_the_digests_of_images_already_pushed_under_the_tag(ecr, tmp_path):
    """A second pipeline on the same commit must not push :<sha> again (tags are immutable)."""
    digest = push(ecr, "training", "abc123")
    push(ecr, "inference", "other")
    assert check_images.existing(ecr, registry_id=ACCOUNT, name_prefix=PREFIX, tag="abc123") == {
        "training": digest
    }


@pytest.fixture
def moto_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _run(endpoint: str, *argv: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_images.py"), *argv],
        capture_output=True,
        text=True,
        env=env,
    )


def test_the_command_line_checks_and_reuses_as_the_ci_jobs_call_it(moto_server, tmp_path):
    client = boto3.client(
        "ecr",
        region_name=REGION,
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for image in check_images.IMAGES:
        client.create_repository(repositoryName=f"{PREFIX}/{image}")
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
    common = ["--registry", registry, "--name-prefix", PREFIX, "--tag", "abc123"]

    missing = _run(moto_server, *common, "--digests", str(tmp_path / "built"))
    assert missing.returncode == 1 and "mlops/processing:abc123 does not exist" in missing.stderr

    pushed = {image: push(client, image, "abc123") for image in check_images.IMAGES}
    reuse = _run(moto_server, *common, "--existing-to", str(tmp_path / "built"))
    assert reuse.returncode == 0, reuse.stderr
    assert check_images.read_digests(tmp_path / "built") == pushed

    present = _run(moto_server, *common, "--digests", str(tmp_path / "built"), "--wait", "0s")
    assert present.returncode == 0 and "4 images have tag abc123" in present.stdout, present.stderr
