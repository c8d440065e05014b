#!/usr/bin/env python3
"""Check, before `terraform plan` points an environment's settings at ``:<tag>``, that each of the
project's images has that tag in the environment's registry, and (when this pipeline built them)
that the tag names the digest ``build-image`` pushed.

``build-image`` pushes to dev's registry only; prod's gets the images by ECR replication
(terraform/modules/ecr, ``ecr_replication_destinations``), a few minutes later. So the check waits
up to ``--wait`` for a missing image, and fails naming the image, tag and registry when it is
still missing, or at once when the tag names another digest (tags are immutable: that is another
build's image). A ``MODEL_IMAGE_TAG`` that no build of this project pushed fails here, not in a
SageMaker job.

    python3 scripts/check_images.py --registry "$ECR_REGISTRY" --name-prefix "$NAME_PREFIX" \\
        --tag "$CI_COMMIT_SHA" --digests dist/images --wait 15m

``--digests DIR`` holds ``<image>.digest`` files (kaniko's ``--digest-file``); images without one
are checked for the tag only. Exit status: 0 all present, 1 an image missing or another digest,
2 bad arguments. Needs ecr:DescribeImages on the repositories (the plan role has it).

``--existing-to DIR`` instead writes ``DIR/<image>.digest`` for each image that already has the
tag and exits 0: tags are immutable, so a second pipeline on the same commit (a retry, a model
repository's trigger) must not push ``:<sha>`` again; ``build-image`` skips those images.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

# The images build-image builds (its parallel matrix) and the settings name (tests keep them equal).
IMAGES = ("processing", "training", "training-neuron", "inference")
_REGISTRY = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?$"
)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_NOT_THERE = {"ImageNotFoundException", "RepositoryNotFoundException"}


def parse_duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration (e.g. 90s, 15m, 1h): {text!r}")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def read_digests(folder: Path | None) -> dict[str, str]:
    """``<image>.digest`` files -> {image: digest}; a malformed file is an error naming it."""
    if folder is None or not folder.is_dir():
        return {}
    digests = {}
    for image in IMAGES:
        path = folder / f"{image}.digest"
        if path.exists():
            digest = path.read_text(encoding="utf-8").strip()
            if not _DIGEST.match(digest):
                raise ValueError(f"{path}: not an image digest (sha256:<64 hex>): {digest[:80]!r}")
            digests[image] = digest
    return digests


def check(
    ecr,
    *,
    registry_id: str,
    name_prefix: str,
    tag: str,
    digests: dict[str, str],
    wait_seconds: float,
    poll_seconds: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """The problems found (empty: every image has the tag, with the built digest)."""
    deadline = clock() + wait_seconds
    pending = list(IMAGES)
    problems: list[str] = []
    while True:
        still_missing = []
        for image in pending:
            repository = f"{name_prefix}/{image}"
            where = f"{registry_id}/{repository}:{tag}"
            try:
                answer = ecr.describe_images(
                    registryId=registry_id,
                    repositoryName=repository,
                    imageIds=[{"imageTag": tag}],
                )
            except ClientError as error:
                if error.response["Error"]["Code"] in _NOT_THERE:
                    still_missing.append(image)
                    continue
                raise
            found = answer["imageDetails"][0]["imageDigest"]
            if image in digests and found != digests[image]:
                problems.append(
                    f"{where} is {found}, not {digests[image]} that this pipeline built "
                    "(tags are immutable: the tag was pushed by another build)"
                )
        pending = still_missing
        if not pending or clock() >= deadline:
            break
        sleep(min(poll_seconds, max(deadline - clock(), 0)))
    for image in pending:
        problems.append(
            f"{registry_id}/{name_prefix}/{image}:{tag} does not exist after waiting "
            f"{wait_seconds:.0f}s: build-image pushes to dev's registry, ECR replicates to the "
            "others (ecr_replication_destinations); MODEL_IMAGE_TAG must be a tag this project's "
            "build-image pushed"
        )
    return problems


def existing(ecr, *, registry_id: str, name_prefix: str, tag: str) -> dict[str, str]:
    """{image: digest} of the images that already have ``tag``."""
    found = {}
    for image in IMAGES:
        try:
            answer = ecr.describe_images(
                registryId=registry_id,
                repositoryName=f"{name_prefix}/{image}",
                imageIds=[{"imageTag": tag}],
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in _NOT_THERE:
                continue
            raise
        found[image] = answer["imageDetails"][0]["imageDigest"]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--registry", required=True, help="<account>.dkr.ecr.<region>.amazonaws.com"
    )
    parser.add_argument("--name-prefix", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--digests", type=Path, help="folder of <image>.digest files")
    parser.add_argument("--wait", type=parse_duration, default=0.0, help="e.g. 15m (default 0)")
    parser.add_argument("--poll", type=parse_duration, default=15.0)
    parser.add_argument(
        "--existing-to", type=Path, help="write <image>.digest here for images that have the tag"
    )
    args = parser.parse_args(argv)

    registry = _REGISTRY.match(args.registry)
    if not registry:
        parser.error(
            f"--registry must be <account>.dkr.ecr.<region>.amazonaws.com, not {args.registry!r}"
        )
    if not _TAG.match(args.tag):
        parser.error(f"--tag is not an image tag: {args.tag!r}")
    try:
        digests = read_digests(args.digests)
    except ValueError as error:
        parser.error(str(error))

    ecr = boto3.client("ecr", region_name=registry.group("region"))
    if args.existing_to is not None:
        found = existing(
            ecr, registry_id=registry.group("account"), name_prefix=args.name_prefix, tag=args.tag
        )
        args.existing_to.mkdir(parents=True, exist_ok=True)
        for image, digest in found.items():
            (args.existing_to / f"{image}.digest").write_text(digest + "\n", encoding="utf-8")
            where = f"{args.name_prefix}/{image}:{args.tag}"
            print(f"check_images: {where} exists ({digest}): not pushed again")
        return 0
    problems = check(
        ecr,
        registry_id=registry.group("account"),
        name_prefix=args.name_prefix,
        tag=args.tag,
        digests=digests,
        wait_seconds=args.wait,
        poll_seconds=args.poll,
    )
    for problem in problems:
        print(f"check_images: {problem}", file=sys.stderr)
    if not problems:
        built = ", ".join(f"{image} {digests[image]}" for image in IMAGES if image in digests)
        print(
            f"check_images: {len(IMAGES)} images have tag {args.tag} in {args.registry}"
            + (f" ({built})" if built else "")
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
