"""``python -m local.demodata --country de --month 2026-10 --items 5000 --out DIR``"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from local.demodata.catalog import COUNTRIES
from local.demodata.generator import DEFAULT_LABEL_NOISE, DEFAULT_REGULATION_CHANGE, generate_month


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.demodata", description=__doc__)
    parser.add_argument(
        "--country",
        action="append",
        required=True,
        choices=sorted(COUNTRIES),
        help="country code; repeat for several",
    )
    parser.add_argument(
        "--month", action="append", required=True, help="YYYY-MM; repeat for several"
    )
    parser.add_argument(
        "--items", type=int, default=5000, help="labeled items per country and month"
    )
    parser.add_argument("--unlabeled-items", type=int, default=None, help="default: items / 5")
    parser.add_argument("--out", required=True, help="directory laid out like the data bucket")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label-noise", type=float, default=DEFAULT_LABEL_NOISE)
    parser.add_argument(
        "--regulation-change-from",
        default=DEFAULT_REGULATION_CHANGE,
        help="first month of code table v2 (YYYY-MM), or 'none'",
    )
    args = parser.parse_args(argv)
    change = None if args.regulation_change_from.lower() == "none" else args.regulation_change_from
    try:
        for country in args.country:
            for month in args.month:
                summary = generate_month(
                    args.out,
                    country,
                    month,
                    args.items,
                    unlabeled_items=args.unlabeled_items,
                    seed=args.seed,
                    regulation_change_from=change,
                    label_noise=args.label_noise,
                )
                print(json.dumps({k: v for k, v in asdict(summary).items() if k != "label_counts"}))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
