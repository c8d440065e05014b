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
}


def main(argv: list[str]) -> int:
    wanted = argv or list(SECTIONS)
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        print(f"unknown bench section(s) {unknown}; choose from {list(SECTIONS)}", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in wanted:
        print(f"== bench {name}", flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [str(SECTIONS[name]), "-m", f"bench.{name}"], cwd=ROOT, env=os.environ.copy()
        )
        print(f"== bench {name}: exit {proc.returncode} in {time.monotonic() - started:.0f} s")
        if proc.returncode != 0:
            failed.append(name)
    combined = {}
    for path in sorted(RESULTS.glob("*.json")):
        combined[path.stem] = json.loads(path.read_text())
    (ROOT / "bench" / "results.json").write_text(json.dumps(combined, indent=2) + "\n")
    print(json.dumps(combined, indent=2))
    if failed:
        print(f"bench sections failed: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
