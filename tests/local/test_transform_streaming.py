"""The batch transform runner streams each input file: records are read as payloads are needed,
answers written in input order as they come back, and what it holds never grows with the file."""

import io
import json
import threading

import pytest

from local.stack.services.sagemaker.runners.job import JobFailed
from local.stack.services.sagemaker.runners.transform import iter_payloads, stream_transform

MB = 1024 * 1024


class Tracked(io.RawIOBase):
    """An input file that hands out at most ``chunk`` bytes per read and records, at each read,
    how many bytes it has given out beyond what the output has received."""

    def __init__(self, data: bytes, output: "Sink", chunk: int = 64 * 1024):
        self.data = memoryview(data)
        self.offset = 0
        self.output = output
        self.chunk = chunk
        self.max_ahead = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.chunk, len(self.data) - self.offset)
        buffer[:n] = self.data[self.offset : self.offset + n]
        self.offset += n
        self.max_ahead = max(self.max_ahead, self.offset - self.output.received)
        return n


class Sink(io.RawIOBase):
    def __init__(self):
        self.received = 0
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.received += len(data)
        return len(data)


def echo(payload: bytes) -> bytes:
    return payload


def records(count: int, size: int) -> list[bytes]:
    return [json.dumps({"item_id": f"{i:08d}", "title": "x" * size}).encode() for i in range(count)]


def run(data: bytes, invoke=echo, chunk: int = 64 * 1024, **options):
    sink = Sink()
    source = Tracked(data, sink, chunk)
    settings = {
        "split": "Line",
        "strategy": "MultiRecord",
        "max_payload_mb": 1,
        "concurrency": 2,
        "assemble": "Line",
        "where": "part-0.jsonl",
    }
    settings.update(options)
    sent = stream_transform(io.BufferedReader(source, buffer_size=chunk), sink, invoke, **settings)
    return sent, sink, source


def test_a_file_twenty_times_the_payload_limit_is_never_held_whole():
    data = b"\n".join(records(20_000, 1000)) + b"\n"  # about 20 MB, MaxPayloadInMB=1
    sent, sink, source = run(data)
    assert b"".join(sink.parts) == data  # every answer, in input order
    assert sent >= 20
    # Read ahead of what was answered: the requests in flight and read ahead (2 x concurrency
    # payloads), the payload being packed and one record: far below the file's size.
    assert source.max_ahead <= (2 * 2 + 2) * MB, source.max_ahead
    assert source.max_ahead < len(data) / 3


def test_records_split_across_read_chunks_reach_the_model_whole_and_in_order():
    lines = records(50, 40)
    data = lines[0] + b"\r\n\n" + b"\n".join(lines[1:])  # CRLF, a blank line, no final newline
    seen: list[bytes] = []
    lock = threading.Lock()

    def single(payload: bytes) -> bytes:
        with lock:
            seen.append(payload)
        return payload

    sent, sink, _ = run(data, single, chunk=7, strategy="SingleRecord")
    assert sent == 50
    assert sorted(seen) == sorted(lines)
    assert b"".join(sink.parts).splitlines() == lines


def test_multi_record_payloads_pack_whole_records_up_to_the_limit():
    lines = records(10, 300_000)  # 3 records fit in 1 MB, a 4th would not
    payloads = list(
        iter_payloads(io.BytesIO(b"\n".join(lines) + b"\n"), "Line", "MultiRecord", 1, "f")
    )
    assert [p.count(b"\n") for p in payloads] == [3, 3, 3, 1]
    assert all(len(p) <= MB for p in payloads)
    assert b"".join(payloads).splitlines() == lines


def test_answers_are_written_in_input_order_when_requests_finish_out_of_order():
    lines = records(8, 10)
    second_answered = threading.Event()

    def invoke(payload: bytes) -> bytes:
        if payload.startswith(lines[0]):
            assert second_answered.wait(10), "the second request never ran beside the first"
        elif payload.startswith(lines[1]):
            second_answered.set()
        return payload

    _, sink, _ = run(b"\n".join(lines) + b"\n", invoke, strategy="SingleRecord")
    assert b"".join(sink.parts).splitlines() == lines


def test_a_record_over_the_payload_limit_fails_naming_the_record_and_file():
    data = b"\n".join([b'{"a": 1}', b'{"a": 2}', b"x" * (MB + 1), b'{"a": 4}']) + b"\n"
    with pytest.raises(JobFailed, match=r"record 3 of part-0\.jsonl is larger than "):
        run(data)


def test_split_none_sends_the_whole_file_and_refuses_one_over_the_limit():
    assert list(iter_payloads(io.BytesIO(b"a\nb\n"), "None", "MultiRecord", 1, "f")) == [b"a\nb\n"]
    with pytest.raises(JobFailed, match="f is larger than MaxPayloadInMB=1"):
        list(iter_payloads(io.BytesIO(b"x" * (MB + 1)), "None", "MultiRecord", 1, "f"))
