"""Run confs each DAG kind's params must refuse, shared by the Params, Lambda and CLI tests.

Every bad value carries ``SECRET`` (or is ``BIG``) so a test can check that no refusal echoes it.
``field`` is where the Lambda and the CLI say the problem is (``conf.<param>[.<key>]``).
"""

from __future__ import annotations

SECRET = "s3cr3t-Value-77"
BIG = 987654
ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/mlops-de/1"

# (dag_id, conf, field)
INVALID_CONFS = [
    ("train__de", {"data_month": SECRET}, "conf.data_month"),
    ("train__de", {"data_month": "2026-13"}, "conf.data_month"),
    (
        "train__de",
        {"hyperparameters": {"learning_rate": BIG}},
        "conf.hyperparameters.learning_rate",
    ),
    ("train__de", {"hyperparameters": {"country": SECRET}}, "conf.hyperparameters.country"),
    ("train__de", {"hyperparameters": [SECRET]}, "conf.hyperparameters"),
    ("train__de", {"hpo_max_jobs": BIG}, "conf.hpo_max_jobs"),
    ("train__de", {"hpo_max_jobs": SECRET}, "conf.hpo_max_jobs"),
    ("train__de", {"hpo_max_parallel_jobs": 0}, "conf.hpo_max_parallel_jobs"),
    ("train__de", {"instance_type": f"ml.{SECRET}.xlarge"}, "conf.instance_type"),
    ("train__de", {"data_mnth": SECRET}, "conf.data_mnth"),
    ("evaluate__de", {"model_package_arn": SECRET}, "conf.model_package_arn"),
    (
        "evaluate__de",
        {"champion_package_arn": f"arn:aws:sagemaker:eu-west-1:1:model-package/{SECRET}"},
        "conf.champion_package_arn",
    ),
    ("deploy__de", {"canary_percent": BIG}, "conf.canary_percent"),
    ("deploy__de", {"canary_percent": SECRET}, "conf.canary_percent"),
    ("deploy__de", {"model_package_arn": ARN, "canary": SECRET}, "conf.canary"),
    ("batch_inference__de", {"review_threshold": BIG + 0.5}, "conf.review_threshold"),
    ("batch_inference__de", {"review_threshold": SECRET}, "conf.review_threshold"),
    ("batch_inference__de", {"data_month": SECRET}, "conf.data_month"),
]

VALID_CONFS = [
    ("train__de", {}),
    (
        "train__de",
        {
            "data_month": "2026-10",
            "hyperparameters": {"learning_rate": "0.001", "hidden_size": "128"},
            "instance_type": "ml.trn1.32xlarge",
        },
    ),
    ("train__de", {"hpo_max_jobs": 8, "hpo_max_parallel_jobs": 4, "hyperparameters": None}),
    ("evaluate__de", {"model_package_arn": ARN, "champion_package_arn": ""}),
    ("deploy__de", {"model_package_arn": ARN, "canary_percent": 25}),
    ("deploy__de", {"canary_percent": None}),
    ("batch_inference__de", {"data_month": "2026-10", "review_threshold": 0.55}),
    ("batch_inference__de", {"review_threshold": 1}),
]
