"""``serve``: the real gunicorn server over real HTTP on a loopback port."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.images import Server, serving_root

RECORD = {
    "item_id": "q-1",
    "title": "Kraftwerk Akku-Bohrschrauber X12",
    "description": "Akkuschrauber 18 V mit zwei Akkus und Ladegerät im Koffer.",
    "brand": "Kraftwerk",
    "weight_kg": 1.6,
    "screen_size_in": None,
    "battery": True,
    "power_source": "battery",
}
KETTLE = {
    **RECORD,
    "item_id": "q-2",
    "title": "Cuisinette Wasserkocher Z3",
    "description": "Wasserkocher aus Edelstahl, 1,7 Liter, 2200 W, Abschaltautomatik.",
    "brand": "Cuisinette",
    "weight_kg": 1.1,
    "battery": False,
    "power_source": "mains",
}


def _answer_is_well_formed(answer, labels):
    assert answer["label"] in labels
    assert 0.0 < answer["confidence"] <= 1.0
    assert answer["top_k"][0] == {"label": answer["label"], "score": answer["confidence"]}
    scores = [t["score"] for t in answer["top_k"]]
    assert scores == sorted(scores, reverse=True)


@pytest.fixture(scope="module")
def labels(linear_model):
    return json.loads((linear_model.model_dir / "label_map.json").read_text())["labels"]


def test_ping_answers_200(linear_server):
    assert linear_server.get("/ping")[0] == 200


def test_single_json_record_gets_one_json_answer(linear_server, labels):
    status, body, content_type = linear_server.post(json.dumps(RECORD).encode(), "application/json")
    assert status == 200 and content_type == "application/json"
    answer = json.loads(body)
    assert answer["item_id"] == "q-1"
    assert answer["label"] == "DE-ELG-7"  # the month-1 code for power tools
    _answer_is_well_formed(answer, labels)


def test_instances_get_predictions_in_order(linear_server):
    body = json.dumps({"instances": [KETTLE, RECORD]}).encode()
    status, payload, _ = linear_server.post(body, "application/json")
    assert status == 200
    predictions = json.loads(payload)["predictions"]
    assert [p["item_id"] for p in predictions] == ["q-2", "q-1"]
    assert [p["label"] for p in predictions] == ["DE-ELG-1", "DE-ELG-7"]


def test_jsonlines_batch_gets_one_jsonlines_answer_per_record(linear_server, prepared_1, labels):
    lines = (prepared_1 / "test_features" / "features.jsonl").read_bytes().splitlines()[:200]
    status, payload, content_type = linear_server.post(b"\n".join(lines), "application/jsonlines")
    assert status == 200 and content_type == "application/jsonlines"
    answers = [json.loads(line) for line in payload.decode().splitlines()]
    assert [a["item_id"] for a in answers] == [json.loads(line)["item_id"] for line in lines]
    for answer in answers:
        _answer_is_well_formed(answer, labels)


def test_csv_rows_get_csv_answers(linear_server):
    body = (
        b"item_id,title,description,brand,weight_kg,screen_size_in,battery,power_source\n"
        b"c-1,Cuisinette Wasserkocher Z3,Wasserkocher 1,Cuisinette,1.1,,false,mains\n"
        b'c-2,"Kraftwerk Akkuschrauber, 18 V",Bohrschrauber,Kraftwerk,1.6,,true,battery\n'
    )
    status, payload, content_type = linear_server.post(body, "text/csv")
    assert status == 200 and content_type == "text/csv"
    rows = [line.split(",") for line in payload.decode().splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("c-1", "DE-ELG-1"), ("c-2", "DE-ELG-7")]


def test_accept_header_chooses_the_answer_type(linear_server):
    status, payload, content_type = linear_server.post(
        json.dumps(RECORD).encode() + b"\n", "application/jsonlines", accept="application/json"
    )
    assert status == 200 and content_type == "application/json"
    assert json.loads(payload)[0]["item_id"] == "q-1"


MALFORMED = {
    "invalid_json": (b'{"title": ', "application/json", "not valid JSON"),
    "wrong_field_type": (
        json.dumps({**RECORD, "weight_kg": "heavy"}).encode(),
        "application/json",
        "body: field weight_kg must be number or null",
    ),
    "no_text": (json.dumps({"item_id": "x"}).encode(), "application/json", "neither title nor"),
    "instances_not_a_list": (b'{"instances": 3}', "application/json", '"instances" must be a list'),
    "bad_jsonlines_line": (
        json.dumps(RECORD).encode() + b"\n[1, 2\n",
        "application/jsonlines",
        "line 2: not valid JSON",
    ),
    "csv_wrong_columns": (b"a,b,c\n", "text/csv", "row 1: expected 8 columns"),
    "csv_bad_number": (
        b"x,t,d,b,heavy,,true,mains\n",
        "text/csv",
        "column weight_kg must be a number",
    ),
    "not_utf8": (b"\xff\xfe\x00", "application/jsonlines", "not UTF-8"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_payload_gets_400_with_a_clear_message(linear_server, case):
    body, content_type, expected = MALFORMED[case]
    status, payload, _ = linear_server.post(body, content_type)
    assert status == 400
    assert expected in json.loads(payload)["error"]
    assert linear_server.get("/ping")[0] == 200  # and the server keeps serving


def test_unsupported_content_type_gets_415(linear_server):
    status, payload, _ = linear_server.post(b"<item/>", "application/xml")
    assert status == 415
    assert "application/xml" in json.loads(payload)["error"]


def test_unknown_path_gets_404(linear_server):
    assert linear_server.get("/predict")[0] == 404


def test_execution_parameters_offer_multi_record_batches(linear_server):
    status, body = linear_server.get("/execution-parameters")
    assert status == 200
    assert json.loads(body) == {
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 6,
    }


@pytest.fixture(scope="module")
def small_payload_server(workspace, neural_model):
    server = Server(
        serving_root(workspace, "serve-small-payload", neural_model.model_dir),
        env={"SAGEMAKER_MAX_PAYLOAD_IN_MB": "0.01"},
    )
    yield server
    server.stop()


def test_payload_over_sagemaker_max_payload_gets_413(small_payload_server):
    body = (json.dumps(RECORD) + "\n").encode() * 60  # ~17 KB > 0.01 MB
    status, payload, _ = small_payload_server.post(body, "application/jsonlines")
    assert status == 413
    assert "SAGEMAKER_MAX_PAYLOAD_IN_MB" in json.loads(payload)["error"]


def test_neural_model_is_served_by_the_same_server(small_payload_server, labels):
    status, payload, _ = small_payload_server.post(json.dumps(KETTLE).encode(), "application/json")
    assert status == 200
    answer = json.loads(payload)
    assert answer["label"] == "DE-ELG-1"
    _answer_is_well_formed(answer, labels)


def test_local_server_listens_on_loopback_only(linear_server):
    log = linear_server.log.read_text()
    assert f"Listening at: http://127.0.0.1:{linear_server.port}" in log
    assert "0.0.0.0" not in log


def test_a_worker_freezes_its_heap_once_the_model_is_loaded(workspace, linear_model, monkeypatch):
    """The collector skips what lives as long as the worker (modules, the model): a full
    collection mid-request would otherwise walk it all (ml_inference.serve.freeze_heap)."""
    import gc

    source = str(Path(__file__).parents[2] / "docker" / "inference" / "src")
    monkeypatch.syspath_prepend(source)
    from ml_inference.app import InferenceApp
    from ml_inference.serve import ModelServer

    opt_ml = serving_root(workspace, "serve-freeze", linear_model.model_dir)
    monkeypatch.setenv("OPT_ML_DIR", str(opt_ml))
    server = ModelServer.__new__(ModelServer)  # load() alone: no gunicorn arbiter in this test
    server.app_options = {"max_payload_mb": 6.0, "workers": 1}
    gc.unfreeze()
    try:
        app = server.load()
        assert isinstance(app, InferenceApp) and app.classifier.labels
        frozen = gc.get_freeze_count()
        # Everything alive is frozen: the model's own objects included, the modules too.
        assert frozen > 10_000 and len(gc.get_objects()) < frozen / 10
    finally:
        gc.unfreeze()


def _minor_faults(pid: int) -> int:
    """Minor page faults of ``pid`` and its children so far (/proc/<pid>/stat field 10)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if pid in (int(stat.parent.name), int(fields[1])):
            total += int(fields[7])
    return total


def test_a_multirecord_request_reuses_the_memory_the_last_one_freed(
    workspace, linear_model, prepared_1
):
    """ml_inference.serve.keep_freed_memory: with glibc's defaults each 1000-record request
    faulted ~1000 fresh pages in (the heap trimmed after every answer), ~3 ms of system time."""
    lines = (prepared_1 / "test_features" / "features.jsonl").read_bytes().splitlines()
    body = b"\n".join((lines * (1000 // len(lines) + 1))[:1000])
    server = Server(serving_root(workspace, "serve-faults", linear_model.model_dir), workers=1)
    try:
        for _ in range(5):  # the worker's heap grows to a request's peak
            assert server.post(body, "application/jsonlines")[0] == 200
        before = _minor_faults(server.process.pid)
        for _ in range(20):
            assert server.post(body, "application/jsonlines")[0] == 200
        per_request = (_minor_faults(server.process.pid) - before) / 20
    finally:
        server.stop()
    assert per_request < 50, f"{per_request:.0f} page faults per 1000-record request"
