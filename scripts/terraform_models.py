#!/usr/bin/env python3
"""Write terraform/deploy/landing_models.json, what Terraform makes per model of the countries file.

The countries file (include/config/countries.yaml) is the only list of models; Terraform cannot
read it (scheme inheritance, data_prefix overrides, enabled flags), so this script resolves it with
the package's own rules (``mlops.config.enabled_models``) and writes, per enabled model:
- per data kind, the S3 notification filter and the queue name suffix (``mlops.events``);
- its endpoint's data capture prefix (expired by the model bucket's lifecycle);
- where its SageMaker jobs write (``sagemaker_outputs``: the execution role writes only there);
- its canary's rollback alarms (``endpoint_alarms``: Terraform creates each CloudWatch alarm
  under the name the rollback watches).
The deploy root reads the file with ``jsondecode(file(...))``; tests/terraform fails when it is
out of date.

    .venv/bin/python scripts/terraform_models.py           # rewrite the file
    .venv/bin/python scripts/terraform_models.py --check   # exit 1 if it is out of date

Needs ``mlops`` importable (the .venv has it installed editable).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlops import config, events, sagemaker_requests

REPO = Path(__file__).resolve().parents[1]
COUNTRIES_FILE = REPO / "include" / "config" / "countries.yaml"
OUTPUT = REPO / "terraform" / "deploy" / "landing_models.json"


class ModelsFileError(ValueError):
    """The countries file's models cannot be given landing queues (the message says why)."""


def landing_models(countries_file: Path) -> dict[str, Any]:
    """The document Terraform reads: per enabled model key and data kind, filter and queue."""
    models = config.enabled_models(countries_file)
    problems = events.overlapping_filters(models)
    if problems:
        raise ModelsFileError(
            f"{countries_file}: S3 refuses overlapping notification filters:\n  "
            + "\n  ".join(problems)
        )
    return {
        "generated_by": "scripts/terraform_models.py from include/config/countries.yaml "
        "(do not edit: run the script)",
        "models": {
            model.key: {
                kind: {
                    "queue_suffix": events.queue_suffix(model, kind),
                    "filter_prefix": events.notification_filter(model, kind)["prefix"],
                    "filter_suffix": events.notification_filter(model, kind)["suffix"],
                }
                for kind in events.LANDING_KINDS
            }
            for model in models
        },
        # The endpoints' data capture (expired by the model bucket's lifecycle).
        "data_capture_prefixes": {
            model.key: sagemaker_requests.data_capture_prefix(model) for model in models
        },
        "sagemaker_outputs": {
            model.key: sagemaker_requests.sagemaker_output_prefixes(model) for model in models
        },
        "endpoint_alarms": endpoint_alarms(models),
    }


def endpoint_alarms(models: list[config.Model]) -> dict[str, dict[str, Any]]:
    """Per alarm name, what it watches: the model's endpoint (``<name_prefix>-<model_key>``, as
    ``mlops.naming.endpoint_name``), its variant, the metric kind and its threshold."""
    return {
        alarm.name: {
            "model_key": model.key,
            "variant_name": sagemaker_requests.VARIANT_NAME,
            "metric": alarm.metric,
            "threshold": alarm.alarm_threshold,
            "evaluation_periods": alarm.evaluation_periods,
        }
        for model in models
        if model.endpoint.canary is not None
        for alarm in model.endpoint.rollback_alarms
    }


def render(countries_file: Path) -> str:
    """The file's exact text (sorted keys, two-space indent, trailing newline)."""
    return json.dumps(landing_models(countries_file), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--countries-file", type=Path, default=COUNTRIES_FILE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="only report whether it is current")
    args = parser.parse_args(argv)
    try:
        text = render(args.countries_file)
    except (config.CountriesConfigError, ModelsFileError) as exc:
        print(f"terraform_models: {exc}", file=sys.stderr)
        return 2
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(
                f"{args.output} is out of date with {args.countries_file}: "
                "run .venv/bin/python scripts/terraform_models.py",
                file=sys.stderr,
            )
            return 1
        return 0
    if current != text:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
