"""Who may call MWAA InvokeRestApi, and as which Airflow role: the CI role that runs the
`sync-airflow:<env>` jobs (scripts/sync_airflow.py: pools and unpaused DAGs) as the environment's
Op role, the trigger Lambda as its User role, and no other principal at all.

MWAA checks InvokeRestApi on the ARN of an Airflow role of one environment,
arn:<partition>:airflow:<region>:<account>:role/<environment name>/<Airflow role> (the Service
Authorization Reference's `rbac-role` resource); the Airflow role is the one the call acts as.
"""

from __future__ import annotations

import fnmatch
import re

import pytest
import yaml

from tests.support.terraform import (
    DEPLOY,
    MODULES,
    REPO,
    TERRAFORM,
    all_labelled_blocks,
    as_list,
    labelled_blocks,
    named_blocks,
    parse,
    tf_files,
    variable_default,
)

GITLAB_CI = REPO / ".gitlab-ci.yml"
SYNC_SCRIPT = REPO / "scripts" / "sync_airflow.py"
SYNC_JOBS = ["sync-airflow:dev", "sync-airflow:prod"]
INVOKE = "airflow:InvokeRestApi"
# What Terraform's data sources and the platform would give the templates in one environment.
PARTITION, REGION, ACCOUNT, ENV_NAME = "aws", "eu-west-1", "111122223333", "mlops-dev"
DATA = {
    "data.aws_partition.current.partition": PARTITION,
    "data.aws_region.current.region": REGION,
    "data.aws_caller_identity.current.account_id": ACCOUNT,
}


def _airflow_role_arn(role: str) -> str:
    return f"arn:{PARTITION}:airflow:{REGION}:{ACCOUNT}:role/{ENV_NAME}/{role}"


def _resolve(template: str, module: str, variables: dict[str, str]) -> str:
    """``template`` of terraform/modules/<module> with its ${local.*} (recursively), ${var.*}
    (from ``variables``) and data-source references replaced; any other reference fails."""
    module_locals: dict = {}
    for block in parse(MODULES / module / "main.tf").get("locals", []):
        module_locals.update(block)

    def value(match: re.Match[str]) -> str:
        reference = match.group(1)
        kind, _, name = reference.partition(".")
        if kind == "local" and name in module_locals:
            return _resolve(module_locals[name], module, variables)
        if kind == "var" and name in variables:
            return variables[name]
        if reference in DATA:
            return DATA[reference]
        raise AssertionError(f"terraform/modules/{module}: cannot resolve ${{{reference}}}")

    return re.sub(r"\$\{([a-z_.]+)\}", value, template)


def _document(module: str, name: str) -> dict:
    (body,) = [
        b
        for t, n, b in labelled_blocks(MODULES / module / "main.tf", "data")
        if (t, n) == ("aws_iam_policy_document", name)
    ]
    return body


def _invoke_statements(document: dict) -> list[dict]:
    return [s for s in as_list(document["statement"]) if INVOKE in as_list(s.get("actions"))]


def _platform_call(name: str) -> dict:
    (body,) = [b for n, b in named_blocks(MODULES / "platform" / "main.tf", "module") if n == name]
    return body


def _output(path, name: str) -> str:
    return dict(named_blocks(path, "output"))[name]["value"]


# --- the CI role the sync jobs run as ----------------------------------------------------------


def _ci() -> dict:
    class Loader(yaml.SafeLoader):
        """GitLab's !reference [job, key] tags, read as plain lists."""

    Loader.add_constructor("!reference", lambda loader, node: loader.construct_sequence(node))
    return yaml.load(GITLAB_CI.read_text(encoding="utf-8"), Loader=Loader)  # noqa: S506


def _job_chain(ci: dict, job: str) -> list[str]:
    """The job and every template it extends, nearest first."""
    chain, pending = [], [job]
    while pending:
        name = pending.pop(0)
        assert name in ci, f".gitlab-ci.yml: {name} is extended but not defined"
        chain.append(name)
        pending.extend(as_list(ci[name].get("extends")))
    return chain


@pytest.mark.parametrize("job", SYNC_JOBS)
def test_sync_jobs_assume_the_gitlab_deploy_role(job):
    ci = _ci()
    chain = _job_chain(ci, job)
    assert ".aws-oidc" in chain, f"{job} does not get AWS credentials through .aws-oidc"
    assert "scripts/sync_airflow.py" in " ".join(
        line for name in chain for line in ci[name].get("script", [])
    )
    # No job or template of the chain, nor the pipeline, picks another role than the default.
    for name in [*chain, "variables"]:
        variables = ci[name] if name == "variables" else ci[name].get("variables", {})
        for key in ("AWS_ROLE_ARN", "AWS_ROLE_VARIABLE"):
            assert key not in variables, f".gitlab-ci.yml: {name} sets {key}"
    before = ci[".aws-oidc"]["before_script"]
    assert 'ROLE_VARIABLE="${AWS_ROLE_VARIABLE:-DEPLOY_ROLE_ARN}"' in before
    assert 'export AWS_ROLE_ARN="$(printenv "$ROLE_VARIABLE" || true)"' in before


def test_deploy_role_variable_is_the_deploy_role_terraform_makes():
    header = re.search(r"^#   DEPLOY_ROLE_ARN\s+(\w+)", GITLAB_CI.read_text(), re.MULTILINE)
    assert header, ".gitlab-ci.yml no longer says which output DEPLOY_ROLE_ARN is"
    assert _output(DEPLOY / "outputs.tf", header.group(1)) == (
        "${module.platform.gitlab_deploy_role_arn}"
    )
    platform_outputs = MODULES / "platform" / "outputs.tf"
    assert _output(platform_outputs, "gitlab_deploy_role_arn") == (
        "${module.gitlab_oidc.deploy_role_arn}"
    )
    oidc = MODULES / "gitlab_oidc"
    assert _output(oidc / "outputs.tf", "deploy_role_arn") == "${aws_iam_role.deploy.arn}"
    policies = [
        b
        for t, _, b in labelled_blocks(oidc / "main.tf", "resource")
        if t == "aws_iam_role_policy" and b["role"] == "${aws_iam_role.deploy.id}"
    ]
    assert [p["policy"] for p in policies] == ["${data.aws_iam_policy_document.deploy.json}"]


def test_sync_role_may_invoke_the_rest_api_exactly_as_the_environments_op_role():
    invoke = _invoke_statements(_document("gitlab_oidc", "deploy"))
    assert len(invoke) == 1, "the deploy role needs one InvokeRestApi statement"
    (statement,) = invoke
    assert statement.get("effect", "Allow") == "Allow"
    assert as_list(statement["actions"]) == [INVOKE]
    # The module is given the environment the platform creates, the one the Lambda also calls.
    environment = _platform_call("gitlab_oidc")["mwaa_environment_name"]
    assert environment == "${module.mwaa.environment_name}"
    assert environment == _platform_call("trigger_lambda")["mwaa_environment_name"]
    variables = {"mwaa_environment_name": ENV_NAME, "region": REGION}
    resources = [_resolve(r, "gitlab_oidc", variables) for r in as_list(statement["resources"])]
    assert resources == [_airflow_role_arn("Op")]
    assert _platform_call("gitlab_oidc")["region"] == "${local.region}"


def test_sync_role_gets_exactly_the_mwaa_actions_the_sync_script_calls():
    # sync_airflow.py calls its MWAA client's operations as self.client.<operation>(...).
    operations = set(re.findall(r"\bself\.client\.(\w+)\(", SYNC_SCRIPT.read_text()))
    assert operations == {"invoke_rest_api"}, f"sync_airflow.py calls {operations}"
    needed = {"airflow:" + "".join(w.title() for w in op.split("_")) for op in operations}
    granted = {
        action
        for statement in as_list(_document("gitlab_oidc", "deploy")["statement"])
        for action in as_list(statement["actions"])
        if action.startswith("airflow:")
    }
    assert granted == needed  # no airflow:GetEnvironment: the script never calls it


# --- the trigger Lambda and everybody else -----------------------------------------------------


def test_trigger_lambda_keeps_invoking_as_the_user_role():
    (statement,) = _invoke_statements(_document("trigger_lambda", "permissions"))
    call = _platform_call("trigger_lambda")
    assert call["airflow_role"] == "${var.trigger_airflow_role}"
    deploy_call = dict(named_blocks(DEPLOY / "main.tf", "module"))["platform"]
    assert "trigger_airflow_role" not in deploy_call, "the deploy root overrides the Lambda's role"
    variables = {
        "mwaa_environment_name": ENV_NAME,
        "airflow_role": variable_default("platform", "trigger_airflow_role"),
    }
    resources = [_resolve(r, "trigger_lambda", variables) for r in as_list(statement["resources"])]
    assert resources == [_airflow_role_arn("User")]


def _allows_invoke(statement: dict) -> bool:
    """The statement allows InvokeRestApi through any action pattern (airflow:*, *, ...)."""
    if statement.get("effect", "Allow") != "Allow":
        return False
    return any(
        fnmatch.fnmatchcase(INVOKE.lower(), action.lower())
        for action in as_list(statement.get("actions"))
    )


def test_no_other_principal_may_invoke_the_rest_api():
    allowed = sorted(
        (path.parent.name, name, statement.get("sid"))
        for path, name, body in all_labelled_blocks("data", "aws_iam_policy_document")
        for statement in as_list(body.get("statement"))
        if _allows_invoke(statement)
    )
    assert allowed == [
        ("gitlab_oidc", "deploy", "SyncAirflowAsOp"),
        ("trigger_lambda", "permissions", "InvokeAirflowRestApiAsOneRole"),
    ]
    # Attached policies come only from policy documents (test_terraform_security); an airflow:
    # action string that covers InvokeRestApi anywhere else (a jsonencode policy) would be a grant.
    mentions = sorted(
        str(path.relative_to(TERRAFORM))
        for path in tf_files()
        for action in re.findall(r'"(airflow:[^"]*)"', path.read_text(encoding="utf-8"))
        if fnmatch.fnmatchcase(INVOKE.lower(), action.lower())
    )
    assert mentions == ["modules/gitlab_oidc/main.tf", "modules/trigger_lambda/main.tf"]


# --- the environment name CI passes to the script ------------------------------------------------


def test_mwaa_environment_name_variable_is_the_environment_output():
    header = re.search(r"^#   MWAA_ENVIRONMENT_NAME\s+(\w+)", GITLAB_CI.read_text(), re.MULTILINE)
    assert header, ".gitlab-ci.yml no longer says which output MWAA_ENVIRONMENT_NAME is"
    assert _output(DEPLOY / "outputs.tf", header.group(1)) == (
        "${module.platform.mwaa_environment_name}"
    )
    assert _output(MODULES / "platform" / "outputs.tf", "mwaa_environment_name") == (
        "${module.mwaa.environment_name}"
    )


def test_terraform_readme_names_the_output_of_each_ci_variable():
    readme = (TERRAFORM / "README.md").read_text(encoding="utf-8")
    section = readme.split("### 8. Wire GitLab CI", 1)[1].split("\n### ", 1)[0]
    rows = dict(re.findall(r"^\| `([A-Z_]+)` \| `terraform output -raw (\w+)` \|", section, re.M))
    wanted = {
        "DEPLOY_ROLE_ARN",
        "TRIGGER_LAMBDA_NAME",
        "MWAA_SOURCE_BUCKET",
        "MWAA_ENVIRONMENT_NAME",
    }
    lacking = wanted - set(rows)
    assert not lacking, f"terraform/README.md's CI variables table lacks {lacking}"
    outputs = dict(named_blocks(DEPLOY / "outputs.tf", "output"))
    missing = {variable: output for variable, output in rows.items() if output not in outputs}
    assert missing == {}, f"terraform/README.md names outputs the deploy root lacks: {missing}"
    ci = GITLAB_CI.read_text()
    for variable, output in rows.items():
        assert re.search(rf"^#   {variable}\s+{output}\b", ci, re.MULTILINE), (
            f".gitlab-ci.yml's header does not map {variable} to {output}"
        )
