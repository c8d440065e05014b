"""Look-alike DAGs the allowlist must refuse, served beside the repository's own dags/.

The tests' Airflow reads a folder holding this file and links to dags/*.py (train__de, ...).
Each DAG here has no schedule and one empty task.
"""

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

# Exist in Airflow but match no default ALLOWED_DAG_PATTERNS entry.
REFUSED = ["maintenance__de", "train__deu", "Train__de", "train__de_extra", "deploy_de", "cleanup"]

for dag_id in REFUSED:
    with DAG(dag_id, schedule=None, catchup=False, tags=["trigger-lambda-test"]) as dag:
        EmptyOperator(task_id="noop")
    globals()[dag_id] = dag
