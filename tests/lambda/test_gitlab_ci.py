""".gitlab-ci.yml: valid for GitLab, stages in order, OIDC instead of keys, every image built."""

from __future__ import annotations

import re
import subprocess
import sys
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


# --- CI identities: which role each AWS job assumes in which pipeline ----------------------------

_TOKEN = re.compile(r'\s*(\$\w+|"[^"]*"|/(?:\\/|[^/])*/|==|!=|=~|!~|&&|\|\||\(|\))')


def rule_matches(expression: str, env: dict[str, str]) -> bool:
    """GitLab's rules:if for the forms this file uses: $VAR, "string", /regex/, ==, !=, =~, !~,
    &&, || (&& binds tighter), parentheses; an unset variable is null."""
    tokens, position = [], 0
    while position < len(expression.rstrip()):
        match = _TOKEN.match(expression, position)
        assert match, f"cannot read {expression!r} at {position}"
        tokens.append(match.group(1))
        position = match.end()

    def value(token):
        if token.startswith("$"):
            return env.get(token[1:])
        if token.startswith('"'):
            return token[1:-1]
        return re.compile(token[1:-1])

    def comparison(i):
        if tokens[i] == "(":
            result, i = disjunction(i + 1)
            assert tokens[i] == ")"
            return result, i + 1
        left = value(tokens[i])
        if i + 1 < len(tokens) and tokens[i + 1] in {"==", "!=", "=~", "!~"}:
            op, right = tokens[i + 1], value(tokens[i + 2])
            if op in {"==", "!="}:
                return (left == right) == (op == "=="), i + 3
            found = left is not None and right.search(left) is not None
            return found == (op == "=~"), i + 3
        return bool(left), i + 1

    def conjunction(i):
        result, i = comparison(i)
        while i < len(tokens) and tokens[i] == "&&":
            right, i = comparison(i + 1)
            result = result and right
        return result, i

    def disjunction(i):
        result, i = conjunction(i)
        while i < len(tokens) and tokens[i] == "||":
            right, i = conjunction(i + 1)
            result = result or right
        return result, i

    result, end = disjunction(0)
    assert end == len(tokens), expression
    return result


def runs_in(rules: list[dict] | None, env: dict[str, str]) -> bool:
    if rules is None:
        return True
    for rule in rules:
        if "if" not in rule or rule_matches(rule["if"], env):
            return rule.get("when", "on_success") != "never"
    return False


PROJECT = "example-group/mlops-country-models"
# (name, variables GitLab sets, sub claim of the pipeline's ID tokens)
PIPELINES = [
    (
        "merge request from a branch",
        {
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_COMMIT_REF_NAME": "feature/x",
            "CI_COMMIT_REF_PROTECTED": "false",
            "CI_DEFAULT_BRANCH": "main",
        },
        ("branch", "feature/x"),
    ),
    (
        "push to main",
        {
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_REF_NAME": "main",
            "CI_COMMIT_REF_PROTECTED": "true",
            "CI_DEFAULT_BRANCH": "main",
        },
        ("branch", "main"),
    ),
    (
        "release tag v1.2.3",
        {
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_TAG": "v1.2.3",
            "CI_COMMIT_REF_NAME": "v1.2.3",
            "CI_COMMIT_REF_PROTECTED": "true",
            "CI_DEFAULT_BRANCH": "main",
        },
        ("tag", "v1.2.3"),
    ),
    (
        "model repository's trigger on main",
        {
            "CI_PIPELINE_SOURCE": "pipeline",
            "CI_COMMIT_BRANCH": "main",
            "CI_COMMIT_REF_NAME": "main",
            "CI_COMMIT_REF_PROTECTED": "true",
            "CI_DEFAULT_BRANCH": "main",
        },
        ("branch", "main"),
    ),
    (
        "web run on an unprotected branch",
        {
            "CI_PIPELINE_SOURCE": "web",
            "CI_COMMIT_BRANCH": "feature/x",
            "CI_COMMIT_REF_NAME": "feature/x",
            "CI_COMMIT_REF_PROTECTED": "false",
            "CI_DEFAULT_BRANCH": "main",
        },
        ("branch", "feature/x"),
    ),
]


def role_variable(job: dict) -> str:
    return job.get("variables", {}).get("AWS_ROLE_VARIABLE", "DEPLOY_ROLE_ARN")


@pytest.mark.parametrize(("pipeline", "env", "ref"), PIPELINES, ids=[p[0] for p in PIPELINES])
def test_every_aws_job_that_runs_assumes_a_role_that_trusts_its_pipeline(ci, pipeline, env, ref):
    """The roles' trust (terraform/, evaluated for the example account) against the jobs that
    run in each kind of pipeline: no job is refused by AWS, none runs with more than it needs."""
    from tests.support.gitlab_trust import (
        ROLE_TRUSTS,
        accepts,
        example_projects,
        gitlab_sub,
        trusted_subjects,
    )

    if not runs_in(ci["workflow"]["rules"], env):
        pytest.fail(f"{pipeline}: the workflow admits no pipeline")
    projects = example_projects()
    sub = gitlab_sub(PROJECT, *ref)
    running = {
        n: j for n, j in jobs(ci).items() if "id_tokens" in j and runs_in(j.get("rules"), env)
    }
    assert running, pipeline
    for name, job in running.items():
        variable = role_variable(job)
        module, document = ROLE_TRUSTS[variable]
        assert accepts(trusted_subjects(module, document, projects), sub), (
            f"{pipeline}: {name} assumes {variable}, whose role does not trust {sub}"
        )
    if env["CI_COMMIT_REF_PROTECTED"] != "true":
        assert {role_variable(j) for j in running.values()} == {"TERRAFORM_PLAN_ROLE_ARN"}, pipeline


def test_release_tag_pipelines_build_deploy_train_and_deploy_models(ci):
    env = PIPELINES[2][1]
    running = {n for n, j in jobs(ci).items() if runs_in(j.get("rules"), env)}
    assert {
        "build-image",
        "apply:dev",
        "dags:dev",
        "sync-airflow:dev",
        "train:dev",
        "deploy-model:dev",
        "apply:prod",
        "dags:prod",
        "train:prod",
        "deploy-model:prod",
    } <= running


def test_plans_use_the_read_only_role_and_applies_the_apply_role(ci):
    all_jobs = jobs(ci)
    for env in ("dev", "prod"):
        assert role_variable(all_jobs[f"plan:{env}"]) == "TERRAFORM_PLAN_ROLE_ARN"
        assert role_variable(all_jobs[f"apply:{env}"]) == "TERRAFORM_APPLY_ROLE_ARN"
    script = "\n".join(ci[".aws-oidc"]["before_script"])
    # An unset role variable fails the job naming it; no other role is taken in its place.
    assert 'printenv "$ROLE_VARIABLE"' in script and "is not set" in script
    assert "$DEPLOY_ROLE_ARN" not in script


def test_merge_requests_build_every_image_without_pushing(ci):
    all_jobs = jobs(ci)
    check, build = all_jobs["build-image:mr"], all_jobs["build-image"]
    assert check["parallel"]["matrix"] == build["parallel"]["matrix"]
    assert check["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    script = "\n".join(check["script"])
    assert "/kaniko/executor" in script and "--no-push" in script and "--no-push-cache" in script
    assert "--destination" not in script
    assert role_variable(check) == "TERRAFORM_PLAN_ROLE_ARN"
    mr = PIPELINES[0][1]
    assert runs_in(check.get("rules"), mr) and not runs_in(build.get("rules"), mr)


def test_build_image_hands_the_pushed_digests_to_the_plans(ci):
    all_jobs = jobs(ci)
    build = all_jobs["build-image"]
    script = "\n".join(build["script"])
    assert '--digest-file "$CI_PROJECT_DIR/dist/images/$IMAGE.digest"' in script
    assert build["artifacts"]["paths"] == ["dist/images/"]
    for env in ("dev", "prod"):
        plan = all_jobs[f"plan:{env}"]
        assert {"job": "build-image", "optional": True} in plan["needs"]


def test_plans_check_the_image_tag_they_deploy_is_in_the_environments_registry(ci):
    all_jobs = jobs(ci)
    for env in ("dev", "prod"):
        script = all_jobs[f"plan:{env}"]["script"]
        (tag_line,) = [i for i, line in enumerate(script) if line.startswith("IMAGE_TAG=")]
        assert script[tag_line] == 'IMAGE_TAG="${MODEL_IMAGE_TAG:-$CI_COMMIT_SHA}"'
        (check,) = [i for i, line in enumerate(script) if "scripts/check_images.py" in line]
        (plan,) = [i for i, line in enumerate(script) if line.startswith("terraform plan")]
        assert tag_line < check < plan
        line = script[check]
        assert '--registry "$ECR_REGISTRY"' in line and '--tag "$IMAGE_TAG"' in line
        assert '--digests "$CI_PROJECT_DIR/dist/images"' in line and "--wait" in line
        assert line.startswith('if [ "$CI_PIPELINE_SOURCE" != "merge_request_event" ]')
        assert '-var "image_tag=$IMAGE_TAG"' in script[plan]


def test_the_image_check_knows_the_images_build_image_builds(ci):
    sys.path.insert(0, str(REPO / "scripts"))
    import check_images

    matrix = resolved(ci, "build-image")["parallel"]["matrix"]
    assert set(check_images.IMAGES) == {m["IMAGE"] for m in matrix}


def _trigger_examples() -> list[dict]:
    text = (REPO / "include" / "trigger_lambda" / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    return [
        job
        for block in blocks
        for job in yaml.safe_load(block).values()
        if isinstance(job, dict) and "trigger" in job
    ]


def test_the_trigger_example_passes_no_upstream_commit_as_the_image_tag(ci):
    """A model repository's $CI_COMMIT_SHA is no tag this pipeline pushed."""
    (example,) = _trigger_examples()
    assert example["trigger"]["project"] == PROJECT
    for name, value in example.get("variables", {}).items():
        assert name in ci["variables"], f"{name} is no variable of this pipeline"
        if name == "MODEL_IMAGE_TAG":
            assert "$CI_" not in str(value), "the upstream's CI variables name no image of ours"


def test_a_second_pipeline_on_the_same_commit_reuses_the_pushed_images(ci):
    """Tags are immutable: pushing :<sha> again would fail the retry or the model repository's
    trigger of a commit already built."""
    all_jobs = jobs(ci)
    existing, build = all_jobs["build-image:existing"], all_jobs["build-image"]
    assert "build-image:existing" in build["needs"]
    line = " ".join(existing["script"])
    assert "scripts/check_images.py" in line and '--tag "$CI_COMMIT_SHA"' in line
    assert "--existing-to dist/images" in line
    assert existing["artifacts"]["paths"] == ["dist/images/"]
    first = build["script"][0]
    assert 'if [ -s "dist/images/$IMAGE.digest" ]' in first and "exit 0" in first
