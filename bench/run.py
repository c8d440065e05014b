"""`make bench`: run every benchmark section in its own interpreter and collect the figures.

Each section is a module that writes ``bench/results/<section>.json``. Sections run one after the
other so they do not compete for the two cores. The combined figures land in
``bench/results.json``; the README quotes them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# section -> interpreter that has what it needs (the Airflow side or the images' environment)
SECTIONS = {
    "parse": ROOT / ".venv" / "bin" / "python",
    "images": ROOT / ".venv-ml" / "bin" / "python",
    "demo": ROOT / ".venv" / "bin" / "python",
    "cost": ROOT / ".venv" / "bin" / "python",
    "batch": ROOT / ".venv" / "bin" / "python",
}
# Run only when named (`make bench-xla`): their environment is gigabytes, outside `make bench`.
OPTIONAL_SECTIONS = {
    "xla": ROOT / ".venv-xla" / "bin" / "python",
}


README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _get(data: dict, *path: str):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "not measured"
    if isinstance(value, float):
        value = f"{value:,.3g}" if abs(value) < 10 else f"{value:,.0f}"
    return f"{value}{unit}"


# (label, key of bench/images.py's stage profile), in the order a request meets them
PROFILE_STAGES = (
    ("JSON parse", "json_parse"),
    ("validation", "validate"),
    ("featurize", "featurize"),
    ("predict", "predict_on_features"),
    ("answers", "answers"),
    ("encode", "encode"),
    ("HTTP + gunicorn", "http_and_wsgi"),
)


def _profile(stages: dict | None) -> str:
    """``JSON parse 0.9 · validation 0.5 · ... ms (server 17.2 ms)`` from a stage profile."""
    if not stages:
        return "not measured"
    parts = " · ".join(f"{label} {_fmt(stages.get(key))}" for label, key in PROFILE_STAGES)
    return f"{parts} ms (server {_fmt(stages.get('server_total'))} ms)"


def _usd(total: dict, key: str) -> str:
    if total.get(key) is not None:
        return f"{total[key]:,.0f} USD"
    return f"unknown (priced part {total.get('priced_part_' + key, 0):,.0f} USD)"


def bench_table(results: dict) -> str:
    """The README's benchmark table: figure, measured, goal."""
    parse, images, demo, cost, batch, xla = (
        results.get(k, {}) for k in ("parse", "images", "demo", "cost", "batch", "xla")
    )
    batch_memory = batch.get("memory") or {}
    linear = _get(images, "inference", "linear") or {}
    neural = _get(images, "inference", "neural") or {}
    rows = [
        (
            "DagBag parse, 60 models (240 DAGs) ÷ 240 bare DAGs of the same tasks, wall / CPU",
            f"{_fmt(parse.get('dagbag_ratio'))} / {_fmt(parse.get('dagbag_cpu_ratio'))}",
            "≤ 1.5",
        ),
        (
            "the same: product / bare DagBag, after Airflow + provider imports",
            f"{_fmt(_get(parse, 'product_dagbag', 'parse_s'), ' s')} / "
            f"{_fmt(_get(parse, 'baseline_dagbag', 'parse_s'), ' s')}",
            "report",
        ),
        (
            "worker's single-DAG parse (parsing context), slowest kind, above Airflow + providers",
            f"{_fmt(parse.get('single_dag_s'), ' s')} "
            f"(CPU {_fmt(parse.get('single_dag_cpu_s'), ' s')})",
            "≤ 0.15 s",
        ),
        ("training time, linear", _fmt(_get(images, "training", "linear", "wall_s"), " s"), "—"),
        (
            "training time, neural (CPU)",
            _fmt(_get(images, "training", "neural", "wall_s"), " s"),
            "—",
        ),
        (
            "linear: server / raw throughput, MultiRecord",
            _fmt(linear.get("server_vs_raw_ratio")),
            "≥ 0.9",
        ),
        (
            "linear: server records/s per core",
            _fmt(_get(linear, "server_1_worker", "multirecord_records_per_cpu_s")),
            "≥ 25,000",
        ),
        (
            "linear: single-record latency p50 / p99",
            f"{_fmt(_get(linear, 'single_record_latency', 'p50_ms'), ' ms')} / "
            f"{_fmt(_get(linear, 'single_record_latency', 'p99_ms'), ' ms')}",
            "p99 ≤ 10 ms",
        ),
        (
            "neural: server / raw throughput, MultiRecord",
            _fmt(neural.get("server_vs_raw_ratio")),
            "≥ 0.9",
        ),
        (
            "neural: single-record latency p50 / p99",
            f"{_fmt(_get(neural, 'single_record_latency', 'p50_ms'), ' ms')} / "
            f"{_fmt(_get(neural, 'single_record_latency', 'p99_ms'), ' ms')}",
            "p99 ≤ 10 ms",
        ),
        *(
            (
                f"{name}: server CPU per 1000-record request, by stage",
                _profile(_get(figures, "profile", "cpu_ms_per_request")),
                "report",
            )
            for name, figures in (("linear", linear), ("neural", neural))
        ),
        ("neural training on GPU vs CPU", _fmt(images.get("gpu")), "when a GPU is lent"),
        (
            "neural training items/s, torch-xla CPU device ÷ plain CPU, epochs 2+ / epoch 1",
            f"{_fmt(xla.get('xla_over_cpu_later_epochs'))} / "
            f"{_fmt(xla.get('xla_over_cpu_first_epoch'))}",
            "report (`make bench-xla`; not Trainium's speed)",
        ),
        (
            "`make demo` wall time, 4 models × 2 months on Airflow's real components",
            _fmt(demo.get("wall_seconds"), " s"),
            "report (was 498 s, then 720 s with dag.test)",
        ),
        (
            "demo wall time ÷ critical path of its SageMaker jobs",
            _fmt(demo.get("wall_over_critical_path")),
            "≤ 1.2",
        ),
        (
            "worker-slot seconds ÷ SageMaker job-wait seconds (real triggerer)",
            _fmt(demo.get("slot_over_wait")),
            "≤ 0.10",
        ),
        (
            "labeled `_SUCCESS` upload → train run running, median / max",
            f"{_fmt(_get(demo, 'marker_to_train_running_seconds', 'median'), ' s')} / "
            f"{_fmt(_get(demo, 'marker_to_train_running_seconds', 'max'), ' s')}",
            "≤ 30 s",
        ),
    ]
    rows += [
        (
            f"a month through the local batch path ({batch.get('items') or 0:,} items, "
            f"{_fmt(batch.get('countries'))} countries): end-to-end ÷ raw predict items/s",
            _fmt(batch.get("end_to_end_over_raw_predict")),
            "≥ 0.6",
        ),
        (
            "the same month: wall time, items/s end to end",
            f"{_fmt(batch.get('end_to_end_wall_s'), ' s')}, "
            f"{_fmt(batch.get('end_to_end_items_per_s'))} items/s",
            "report",
        ),
        (
            "the same month: peak RSS of the stack / a server worker / a postprocess job",
            " / ".join(
                _fmt(_get(batch_memory, role, "peak_rss_mb"), " MB")
                for role in ("stack", "inference_worker", "postprocess")
            ),
            "bounded (report)",
        ),
    ]
    for region, priced in sorted((cost.get("regions") or {}).items()):
        total = priced["total"]
        rows.append(
            (
                f"SageMaker cost of a month, 60 models ({region}), expected / ceiling",
                f"{_usd(total, 'expected_usd')} / {_usd(total, 'ceiling_usd')}",
                "report (bench/cost.py)",
            )
        )
    lines = ["| figure | measured | goal |", "|---|---|---|"]
    lines += [f"| {name} | {measured} | {goal} |" for name, measured, goal in rows]
    return "\n".join(lines)


def update_readme(results: dict) -> None:
    text = README.read_text()
    if START not in text or END not in text:
        return
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}\n{bench_table(results)}\n{END}{tail}")


def main(argv: list[str]) -> int:
    wanted = argv or list(SECTIONS)
    interpreters = {**SECTIONS, **OPTIONAL_SECTIONS}
    unknown = [name for name in wanted if name not in interpreters]
    if unknown:
        print(
            f"unknown bench section(s) {unknown}; choose from {list(interpreters)}",
            file=sys.stderr,
        )
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in wanted:
        print(f"== bench {name}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [str(interpreters[name]), "-m", f"bench.{name}"], cwd=ROOT, env=os.environ.copy()
        )
        print(f"== bench {name}: exit {proc.returncode} in {time.monotonic() - started:.0f} s")
        if proc.returncode != 0:
            failed.append(name)
    combined = {}
    for path in sorted(RESULTS.glob("*.json")):
        combined[path.stem] = json.loads(path.read_text())
    (ROOT / "bench" / "results.json").write_text(json.dumps(combined, indent=2) + "\n")
    print(json.dumps(combined, indent=2))
    update_readme(combined)
    if failed:
        print(f"bench sections failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
