"""Fuzzing the trigger event (hypothesis) against the local stack and the real Airflow.

Properties: the handler never answers a 5xx of its own making (500; a 502 must carry Airflow's
status), never raises, and no DAG outside the allowlist ever gets a run, though Airflow has such
DAGs (fixture_dags/: maintenance__de, train__deu, Train__de, ...). The figures (events tried,
answers by status, 5xx, runs outside the allowlist) are printed and written to
``$TRIGGER_FUZZ_FIGURES`` when that is set.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.trigger import LambdaContext

DEFAULT_PATTERN = re.compile(
    r"^(train|evaluate|deploy|batch_inference)__[a-z]{2}(__[a-z][a-z0-9]+)?$"
)
KNOWN_DAGS = [
    "train__de",
    "train__fr",
    "evaluate__de",
    "deploy__de",
    "batch_inference__de",
    "train__de__batteries",
]
LOOKALIKES = [
    "maintenance__de",
    "train__deu",
    "Train__de",
    "train__de_extra",
    "deploy_de",
    "cleanup",
    "train__de\n",
    " train__de",
    "train__de/../maintenance__de",
    "train__d",
    "train__de%2F",
    "train__dé",
    "train__de__",
    "train__de__Batteries",
    "train__de___batteries",
]

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
dag_ids = (
    st.sampled_from(KNOWN_DAGS + LOOKALIKES)
    | st.from_regex(
        r"\A(train|evaluate|deploy|batch_inference)__[a-z]{2}(__[a-z][a-z0-9]{1,11})?\Z"
    )
    | st.from_regex(r"\A(train|maintenance|Deploy)_{1,2}[a-zA-Z]{1,3}.?\Z")
    | st.text(max_size=40)
    | json_value
)
run_ids = (
    st.none()
    | st.from_regex(r"\Agitlab-[0-9]{1,6}-[0-9]{1,6}\Z")
    | st.text(max_size=30)
    | json_value
)
confs = st.none() | st.dictionaries(st.text(max_size=10), json_value, max_size=5) | json_value
gitlab_run_ids = st.from_regex(r"\Agitlab-[0-9]{1,6}-[0-9]{1,6}\Z")
# Mostly well-formed events with one part drawn wide, then anything at all.
well_formed = st.fixed_dictionaries(
    {
        "dag_id": st.sampled_from(KNOWN_DAGS + LOOKALIKES) | dag_ids,
        "action": st.sampled_from(["trigger", "status"]),
    },
    optional={
        "conf": st.dictionaries(st.text(max_size=10), json_value, max_size=5),
        "run_id": gitlab_run_ids,
    },
)
messy = st.fixed_dictionaries(
    {"dag_id": dag_ids},
    optional={
        "action": st.sampled_from(["trigger", "status", "Trigger", "", "delete"]) | json_value,
        "conf": confs,
        "run_id": run_ids,
        "extra": json_value,
    },
)
events = well_formed | well_formed | messy | json_value


def test_fuzzed_events_never_get_a_5xx_of_ours_nor_start_a_dag_outside_the_allowlist(
    trigger_handler, airflow_api
):
    tried: Counter = Counter()
    before = {(r["dag_id"], r["dag_run_id"]) for r in airflow_api.all_runs()}

    @settings(
        max_examples=int(os.environ.get("TRIGGER_FUZZ_EXAMPLES", "200")),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(event=events)
    def check(event):
        answer = trigger_handler.handler(event, LambdaContext("fuzz"))
        tried["events"] += 1
        tried[f"status_{answer['statusCode']}"] += 1
        assert isinstance(answer["statusCode"], int)
        assert answer["statusCode"] != 500, (event, answer)
        if answer["statusCode"] >= 500:
            tried["5xx"] += 1
            assert answer["statusCode"] == 502 and "airflow_status" in answer, (event, answer)
        if answer["statusCode"] in (200, 201):
            assert DEFAULT_PATTERN.match(answer["dag_id"]), (event, answer)
        json.dumps(answer)  # the answer must survive Lambda's JSON serialisation

    check()
    outside = [
        (r["dag_id"], r["dag_run_id"])
        for r in airflow_api.all_runs()
        if not DEFAULT_PATTERN.match(r["dag_id"]) and (r["dag_id"], r["dag_run_id"]) not in before
    ]
    figures = {
        "events_tried": tried["events"],
        "answers_by_status": {k: v for k, v in sorted(tried.items()) if k.startswith("status_")},
        "our_5xx": tried["status_500"],
        "airflow_5xx": tried["5xx"],
        "runs_outside_allowlist": len(outside),
    }
    print("trigger fuzz figures:", json.dumps(figures))
    if os.environ.get("TRIGGER_FUZZ_FIGURES"):
        with open(os.environ["TRIGGER_FUZZ_FIGURES"], "w") as out:
            json.dump(figures, out, indent=2)
    assert outside == []
    assert tried["status_201"] + tried["status_200"] > 0, "no fuzzed event reached Airflow"
