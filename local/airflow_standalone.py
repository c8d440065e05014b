"""`make airflow`: `airflow standalone` wired to the local stack, to trigger and watch the DAGs.

Everything listens on 127.0.0.1 only. The local stack gets the same resources and demo data as
`make demo`; its MWAA (InvokeRestApi) forwards to this Airflow and the trigger Lambda is deployed,
so `scripts/trigger-dag` works against it exactly as a GitLab job would. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from local.airflow_env import REPO_ROOT
from local.pipeline import LocalEnvironment, say

USER = "admin"
MONTHS = ["2026-10", "2026-11"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.airflow_standalone", description=__doc__)
    parser.add_argument("--port", type=int, default=8080, help="Airflow UI/API port on 127.0.0.1")
    parser.add_argument("--countries", default="de,fr,gb")
    parser.add_argument("--items", type=int, default=3000)
    parser.add_argument("--workdir", default=str(REPO_ROOT / ".local-stack" / "airflow"))
    args = parser.parse_args(argv)
    countries = [c.strip().lower() for c in args.countries.split(",") if c.strip()]

    def on_slack(message: dict) -> None:
        say(f"[slack] {message.get('text', '')}")

    with LocalEnvironment(
        Path(args.workdir), countries, MONTHS, args.items, on_slack=on_slack
    ) as local:
        from local.provision import deploy_trigger_lambda
        from local.stack.services import mwaa

        home = local.workdir / "airflow" / "standalone"
        (home / "config").mkdir(parents=True, exist_ok=True)
        # Airflow's log servers bind every interface; this keeps them on 127.0.0.1.
        shutil.copy(REPO_ROOT / "local" / "airflow_local_settings.py", home / "config")
        password = secrets.token_urlsafe(12)
        (home / "passwords.json").write_text(json.dumps({USER: password}))
        base_url = f"http://127.0.0.1:{args.port}"
        env = local.env | {
            "AIRFLOW_HOME": str(home),
            # standalone starts its components as `airflow ...` from PATH
            "PATH": os.pathsep.join([str(REPO_ROOT / ".venv" / "bin"), os.environ.get("PATH", "")]),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            # The month-1 countries file; the regulation-change month uses the next one.
            "MLOPS_COUNTRIES_FILE": str(local.countries_files[MONTHS[0]]),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(args.port),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        }
        mwaa.configure(local.stack, base_url, username=USER, password=password)
        function = deploy_trigger_lambda(
            local.stack, environment_name="mlops-local", airflow_ui_base_url=base_url
        )
        say(
            f"\nAirflow UI: {base_url} (user {USER}, password {password})\n"
            f"Local AWS endpoint: {local.stack.endpoint_url}\n"
            f"Trigger like GitLab does:\n  AWS_ENDPOINT_URL={local.stack.endpoint_url} "
            f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
            f"AWS_DEFAULT_REGION={local.settings['region']} "
            f"AWS_DISABLE_HOST_PREFIX_INJECTION=true TRIGGER_LAMBDA_NAME={function.split(':')[-1]} "
            f"scripts/trigger-dag --dag train__{countries[0]} --conf "
            f'\'{{"data_month": "{MONTHS[0]}"}}\'\n'
            "Once Airflow is up, create the SageMaker pools (tasks wait for them) the same way:\n"
            f"  AWS_ENDPOINT_URL={local.stack.endpoint_url} AWS_ACCESS_KEY_ID=testing "
            f"AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={local.settings['region']} "
            "AWS_DISABLE_HOST_PREFIX_INJECTION=true MWAA_ENVIRONMENT_NAME=mlops-local "
            ".venv/bin/python scripts/sync_airflow.py --environment local --dag-wait 2m\n"
        )
        standalone = subprocess.Popen(  # noqa: S603 - the project's own Airflow
            [str(REPO_ROOT / ".venv" / "bin" / "airflow"), "standalone"], cwd=REPO_ROOT, env=env
        )
        try:
            return standalone.wait()
        except KeyboardInterrupt:
            standalone.send_signal(signal.SIGTERM)
            return standalone.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
