""".gitlab-ci.yml: valid for GitLab, stages in order, OIDC instead of keys, every image built."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CI_FILE = REPO / ".gitlab-ci.yml"
RESERVED = {"stages", "variables", "workflow", "default", "include", "image", "services", "cache"}


class _Loader(yaml.SafeLoader):
    pass


class Reference(tuple):
    """GitLab's ``!reference [job, key]``."""


_Loader.add_constructor(
    "!reference", lambda loader, node: Reference(loader.construct_sequence(node))
)


@pytest.fixture(scope="module")
def ci() -> dict:
    return yaml.load(CI_FILE.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def resolved(ci: dict, name: str) -> dict:
    """A job with its `extends` merged the way GitLab does (deep merge of mappings)."""
    job = ci[name]
    merged: dict = {}
    parents = job.get("extends", [])
    for parent in [parents] if isinstance(parents, str) else parents:
        merged = _merge(merged, resolved(ci, parent))
    merged = _merge(merged, {k: v for k, v in job.items() if k != "extends"})
    for key, value in merged.items():
        if isinstance(value, list):  # expand !reference items in script lists
            merged[key] = [
                line
                for item in value
                for line in (
                    resolved(ci, item[0])[item[1]] if isinstance(item, Reference) else [item]
                )
            ]
    return merged


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def jobs(ci: dict) -> dict[str, dict]:
    return {n: resolved(ci, n) for n in ci if not n.startswith(".") and n not in RESERVED}


def test_the_file_validates_against_gitlabs_own_ci_schema():
    # check-jsonschema lives in the tools environment: its click pin clashes with MWAA's.
    checker = REPO / ".venv-tools" / "bin" / "check-jsonschema"
    done = subprocess.run(
        [
            str(checker),
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
            str(CI_FILE),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_stages_run_lint_test_build_deploy_train_deploy_model(ci):
    assert ci["stages"] == ["lint", "test", "build", "deploy", "train", "deploy-model"]
    all_jobs = jobs(ci)
    assert "make lint" in all_jobs["lint"]["script"]
    assert "make test" in all_jobs["test"]["script"]
    assert "make bundle" in all_jobs["bundle"]["script"]


def test_every_job_that_uses_aws_gets_an_id_token_and_no_job_holds_keys(ci):
    text = CI_FILE.read_text()
    assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    aws_jobs = {
        n: j
        for n, j in jobs(ci).items()
        if j["stage"] in {"build", "deploy", "train", "deploy-model"} and n != "bundle"
    }
    assert aws_jobs
    for name, job in aws_jobs.items():
        assert job["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "sts.amazonaws.com", name
        script = "\n".join(str(line) for line in job["before_script"])
        assert "AWS_WEB_IDENTITY_TOKEN_FILE" in script and "AWS_ROLE_ARN" in script, name


def test_each_image_is_built_without_docker_in_docker_to_its_ecr_repository(ci):
    build = resolved(ci, "build-image")
    matrix = build["parallel"]["matrix"]
    assert {m["IMAGE"] for m in matrix} == {
        "processing",
        "training",
        "training-neuron",
        "inference",
    }
    assert "services" not in build and build["image"]["name"] == "$KANIKO_IMAGE"
    assert ci["variables"]["KANIKO_IMAGE"].startswith("gcr.io/kaniko-project/executor:")
    script = "\n".join(build["script"])
    assert '"$ECR_REGISTRY/$NAME_PREFIX/$IMAGE:$VERSION"' in script
    assert '"$ECR_REGISTRY/$NAME_PREFIX/$IMAGE:$CI_COMMIT_SHA"' in script
    assert '--context "$CI_PROJECT_DIR/docker"' in script
    # Every Dockerfile in the repository is one of the matrix entries.
    built = {m["DOCKERFILE"] for m in matrix}
    present = {str(p.relative_to(REPO / "docker")) for p in (REPO / "docker").rglob("Dockerfile*")}
    assert present <= built, f"Dockerfiles not built in CI: {present - built}"


def test_terraform_plans_on_merge_requests_and_prod_apply_waits_for_a_person(ci):
    all_jobs = jobs(ci)
    assert "rules" not in all_jobs["plan:dev"]  # runs in every pipeline, merge requests included
    for apply in ("apply:dev", "apply:prod"):
        first_rule = all_jobs[apply]["rules"][0]
        assert first_rule == {"if": '$CI_PIPELINE_SOURCE == "merge_request_event"', "when": "never"}
    assert all_jobs["apply:prod"]["rules"][-1]["when"] == "manual"
    assert "terraform apply plan.tfplan" in all_jobs["apply:prod"]["script"]
    assert all_jobs["apply:prod"]["environment"]["name"] == "prod"


def test_train_triggers_and_deploy_model_is_a_manual_trigger(ci):
    all_jobs = jobs(ci)
    assert all_jobs["train:dev"]["variables"]["TRIGGER_ACTION"] == "train"
    for name in ("deploy-model:dev", "deploy-model:prod"):
        assert all_jobs[name]["variables"]["TRIGGER_ACTION"] == "deploy"
        assert all_jobs[name]["rules"][-1]["when"] == "manual"
        assert "scripts/ci_trigger.sh" in all_jobs[name]["script"]


def test_the_trigger_job_script_is_valid_bash():
    assert subprocess.run(["bash", "-n", str(REPO / "scripts" / "ci_trigger.sh")]).returncode == 0


def test_pools_and_dags_are_synced_after_the_dag_upload_and_before_training(ci):
    all_jobs = jobs(ci)
    environments = yaml.safe_load((REPO / "include" / "config" / "pools.yaml").read_text())
    for env in ("dev", "prod"):
        sync = all_jobs[f"sync-airflow:{env}"]
        assert f"dags:{env}" in sync["needs"]
        assert sync["environment"]["name"] == env and env in environments["environments"]
        assert any(
            "scripts/sync_airflow.py" in line and '"$CI_ENVIRONMENT_NAME"' in line
            for line in sync["script"]
        )
        assert f"sync-airflow:{env}" in all_jobs[f"train:{env}"]["needs"]
