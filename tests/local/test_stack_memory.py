"""The stack's memory does not grow with the bytes that pass through it: a month moves
gigabytes of S3 bodies (parts, ``.out`` files, partitions) through one long-lived stack.

moto keeps each request in a reference cycle, freed only by the cyclic collector; in a stack
holding a month's state Python's own full collections come rarely (they wait for a quarter
more long-lived objects), so the test turns them off (``gc.disable``) and checks that the
stack's collections alone keep its memory flat. S3 bodies pass through as clients send them:
PUTs, multipart uploads and ranged downloads (boto3's transfer manager)."""

from __future__ import annotations

import gc
import os

import psutil
import pytest
from boto3.s3.transfer import TransferConfig

from local.stack.server import BODY_BYTES_PER_COLLECTION, BodyCollector

MIB = 1024 * 1024
OBJECT = 16 * MIB
OBJECTS = 24  # 384 MiB in, as much out: six times the collection threshold each way


def test_a_collection_runs_each_time_the_threshold_of_bodies_has_passed():
    collector = BodyCollector(threshold=10)
    for size in (4, 4, 1, 0):
        collector.passed(size)
    assert collector.collections == 0
    collector.passed(1)  # 10 bytes
    collector.passed(25)  # 25 more: one collection, the count starts again
    assert collector.collections == 2
    collector.passed(9)
    assert collector.collections == 2


@pytest.fixture
def no_automatic_collection():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def test_bodies_passing_through_do_not_stay_in_the_stack(stack, tmp_path, no_automatic_collection):
    assert OBJECT * OBJECTS >= 4 * BODY_BYTES_PER_COLLECTION
    s3 = stack.client("s3")
    s3.create_bucket(
        Bucket="memory-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    source = tmp_path / "object"
    source.write_bytes(os.urandom(OBJECT))
    multipart = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
    process = psutil.Process()  # the stack serves from this process's threads
    s3.put_object(Bucket="memory-bucket", Key="warm-up", Body=source.read_bytes())
    before = process.memory_info().rss
    for n in range(OBJECTS):
        if n % 2:
            s3.put_object(Bucket="memory-bucket", Key=f"o{n}", Body=source.read_bytes())
        else:
            s3.upload_file(str(source), "memory-bucket", f"o{n}", Config=multipart)
    for n in range(OBJECTS):
        s3.download_file("memory-bucket", f"o{n}", str(tmp_path / "copy"), Config=multipart)
    assert (tmp_path / "copy").read_bytes() == source.read_bytes()
    grown = (process.memory_info().rss - before) / MIB
    # Held bodies would be hundreds of MiB (every body since the last full collection); what
    # may stay is one threshold's worth of bodies and the allocator's slack.
    assert grown < 2 * BODY_BYTES_PER_COLLECTION / MIB, f"the stack grew {grown:.0f} MiB"
