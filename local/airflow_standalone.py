"""`make airflow`: Airflow's real components wired to the local stack, to trigger and watch DAGs.

MWAA in miniature (local/airflow_cluster.py): PostgreSQL for the metadata DB, and the
scheduler (LocalExecutor), triggerer, dag-processor and api-server as separate processes, each
logging to its own file under ``<workdir>/airflow/cluster/logs``. Everything listens on 127.0.0.1
only. The local stack gets the same resources and demo data as
`make demo`; its MWAA (InvokeRestApi) forwards to this Airflow and the trigger Lambda is deployed,
so `scripts/trigger-dag` works against it exactly as a GitLab job would. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from local.airflow_cluster import AirflowCluster
from local.airflow_env import REPO_ROOT
from local.loop import onboard
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

        cluster = AirflowCluster(
            local.workdir / "airflow" / "cluster",
            local.env
            | {
                # The month-1 countries file; the regulation-change month uses the next one.
                "MLOPS_COUNTRIES_FILE": str(local.countries_files[MONTHS[0]]),
            },
            expect_dags={f"train__{countries[0]}"},
            port=args.port,
            username=USER,
        )
        with cluster:
            mwaa.configure(local.stack, cluster.url, username=USER, password=cluster.password)
            function = deploy_trigger_lambda(
                local.stack, environment_name="mlops-local", airflow_ui_base_url=cluster.url
            )
            # The pools (tasks wait for them) and the models' DAGs unpaused, as GitLab's
            # sync-airflow job does after a deployment.
            onboard(local, cluster, local.countries_files[MONTHS[0]])
            say(
                f"\nAirflow UI: {cluster.url} (user {USER}, password {cluster.password}; also in "
                f"{cluster.password_file})\n"
                f"Component logs: {cluster.logs}\n"
                f"Local AWS endpoint: {local.stack.endpoint_url}\n"
                f"Trigger like GitLab does:\n  AWS_ENDPOINT_URL={local.stack.endpoint_url} "
                f"AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing "
                f"AWS_DEFAULT_REGION={local.settings['region']} "
                f"AWS_DISABLE_HOST_PREFIX_INJECTION=true "
                f"TRIGGER_LAMBDA_NAME={function.split(':')[-1]} "
                f"scripts/trigger-dag --dag train__{countries[0]} --conf "
                f'\'{{"data_month": "{MONTHS[0]}"}}\'\n'
                "Stop with Ctrl-C."
            )
            try:
                cluster.wait()
            except KeyboardInterrupt:
                say("Stopping Airflow and PostgreSQL ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
