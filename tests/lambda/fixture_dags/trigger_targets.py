"""DAGs the trigger tests start: ids the allowlist admits, and look-alikes it must refuse.

Each DAG has no schedule and one empty task; tests end a run by setting its state through the
Airflow API (no scheduler runs in these tests).
"""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

ALLOWED = ["train__de", "train__fr", "evaluate__de", "deploy__de", "batch_inference__de"]
# Exist in Airflow but match no default ALLOWED_DAG_PATTERNS entry.
REFUSED = ["maintenance__de", "train__deu", "Train__de", "train__de_extra", "deploy_de", "cleanup"]

for dag_id in ALLOWED + REFUSED:
    with DAG(dag_id, schedule=None, catchup=False, tags=["trigger-lambda-test"]) as dag:
        EmptyOperator(task_id="noop")
    globals()[dag_id] = dag
