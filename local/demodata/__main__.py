"""``python -m local.demodata --country de --month 2026-10 --items 5000 --out DIR``

``--country de`` is the country's default model (``de/...``); ``--model de-batteries`` is one of
its further schemes (``de/batteries/...``); both repeat and mix. Each month also writes its code
table and that table's golden set (``<prefix>/golden/<version>/``: ``features.jsonl``,
``labels.jsonl``, ``manifest.json``; fixed, correctly labeled, the same for every month)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from local.demodata.catalog import COUNTRIES
from local.demodata.generator import (
    DEFAULT_LABEL_NOISE,
    DEFAULT_REGULATION_CHANGE,
    generate_month,
    model_keys,
    split_model_key,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.demodata",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--country",
        action="append",
        default=[],
        choices=sorted(COUNTRIES),
        help="country code (its default model); repeat for several",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        choices=model_keys(),
        help="model key: a country code or <cc>-<scheme>; repeat for several",
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
    if not args.country and not args.model:
        parser.error("name at least one --country or --model")
    models = [(cc, None) for cc in args.country] + [split_model_key(key) for key in args.model]
    change = None if args.regulation_change_from.lower() == "none" else args.regulation_change_from
    try:
        for country, scheme in models:
            for month in args.month:
                summary = generate_month(
                    args.out,
                    country,
                    month,
                    args.items,
                    scheme=scheme,
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
