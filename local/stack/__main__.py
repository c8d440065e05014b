"""Run the local stack until interrupted: ``python -m local.stack --port 4566``."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from local.stack.server import DEFAULT_REGION, REPO_ROOT, LocalStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.stack", description=__doc__)
    parser.add_argument("--port", type=int, default=4566, help="loopback port (0: a free one)")
    parser.add_argument(
        "--workdir",
        default=str(REPO_ROOT / ".local-stack"),
        help="where jobs, models and logs live",
    )
    parser.add_argument("--region", default=DEFAULT_REGION)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    with LocalStack(port=args.port, workdir=args.workdir, region=args.region) as stack:
        print(f"AWS_ENDPOINT_URL={stack.endpoint_url}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
