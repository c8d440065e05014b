"""GitLab CI's identities and images on AWS: which pipelines each role trusts (the deploy and
apply roles protected refs only, release tags included; the read-only plan role every branch),
what the plan role may write, images that never expire under a model and reach prod's registry.

Trust policies are evaluated here as IAM evaluates them: the sub claims the HCL templates build
from the example account's projects, matched with IAM's StringLike against the sub claims GitLab
issues (its default ``project_path:<p>:ref_type:<branch|tag>:ref:<ref>``) for the refs
``.gitlab-ci.yml`` runs its AWS jobs on."""

from __future__ import annotations

import gzip
import json
import re

import pytest
import yaml

from tests.support.gitlab_trust import (
    accepts,
    gitlab_sub,
    policy_document,
    trusted_subjects,
)
from tests.support.gitlab_trust import module_locals as _locals
from tests.support.gitlab_trust import tfvars as _tfvars
from tests.support.terraform import (
    DEPLOY,
    MODULES,
    REPO,
    TERRAFORM,
    as_list,
    labelled_blocks,
    named_blocks,
)

PROJECT = "example-group/mlops-country-models"


@pytest.fixture(scope="module")
def projects() -> list[dict]:
    deploy = _tfvars(DEPLOY / "account.tfvars.example")["gitlab_projects"]
    bootstrap = _tfvars(TERRAFORM / "bootstrap" / "terraform.tfvars.example")["gitlab_projects"]
    assert deploy == bootstrap, "the deploy and bootstrap examples must trust the same refs"
    return deploy


# The refs on which .gitlab-ci.yml runs jobs with the deploy and apply roles: the default branch
# and release tags (its workflow admits tags matching ^v\d+\.\d+\.\d+$).
PROTECTED = [("branch", "main"), ("tag", "v1.2.3"), ("tag", "v10.0.0")]
UNPROTECTED = [
    ("branch", "feature/x"),
    ("branch", "main-copy"),
    ("tag", "release-1"),
    ("branch", "v1.2.3"),  # a branch named like a release tag
]


def test_the_workflow_admits_release_tags_the_examples_trust(projects):
    ci = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text().replace("!reference", ""))
    tag_rules = [r["if"] for r in ci["workflow"]["rules"] if "CI_COMMIT_TAG =~" in r.get("if", "")]
    (rule,) = tag_rules
    pattern = re.search(r"/(.+)/", rule).group(1)
    for _, tag in [p for p in PROTECTED if p[0] == "tag"]:
        assert re.fullmatch(pattern, tag)
    assert all(p["tags"] == ["v*"] for p in projects)


@pytest.mark.parametrize(
    ("module", "document"), [("gitlab_oidc", "trust"), ("gitlab_terraform_roles", "apply_trust")]
)
def test_deploy_and_apply_roles_trust_the_protected_branch_and_release_tags_only(
    module, document, projects
):
    patterns = trusted_subjects(module, document, projects)
    for ref_type, ref in PROTECTED:
        assert accepts(patterns, gitlab_sub(PROJECT, ref_type, ref)), (module, ref_type, ref)
    for ref_type, ref in UNPROTECTED:
        assert not accepts(patterns, gitlab_sub(PROJECT, ref_type, ref)), (module, ref_type, ref)
    # Another project, or a project whose path only starts like ours.
    for other in ("example-group/other", f"{PROJECT}-fork", f"{PROJECT}/sub"):
        assert not accepts(patterns, gitlab_sub(other, "branch", "main")), other
        assert not accepts(patterns, gitlab_sub(other, "tag", "v1.2.3")), other


def test_plan_role_trusts_every_branch_and_tag_of_the_projects_only(projects):
    patterns = trusted_subjects("gitlab_terraform_roles", "plan_trust", projects)
    for ref_type, ref in PROTECTED + UNPROTECTED:
        assert accepts(patterns, gitlab_sub(PROJECT, ref_type, ref)), (ref_type, ref)
    for other in ("example-group/other", f"{PROJECT}-fork"):
        assert not accepts(patterns, gitlab_sub(other, "branch", "main")), other


@pytest.mark.parametrize("module", ["gitlab_oidc", "gitlab_terraform_roles"])
def test_trusted_branch_names_and_tag_patterns_hold_no_stray_wildcard(module):
    """A branch with * would trust many; a tag pattern may end in one * only, as in v*."""
    (validation,) = [
        as_list(body["validation"])
        for name, body in named_blocks(MODULES / module / "variables.tf", "variable")
        if name == "projects"
    ]
    condition = validation[0]["condition"]
    branch_rule = re.search(r'for b in p\.branches : can\(regex\("([^"]+)", b\)\)', condition)
    tag_rule = re.search(r'for t in p\.tags : can\(regex\("([^"]+)", t\)\)', condition)
    assert branch_rule and tag_rule, condition
    branch, tag = (re.compile(r.group(1).replace("\\\\", "\\")) for r in (branch_rule, tag_rule))
    assert branch.fullmatch("main") and branch.fullmatch("release/2026")
    assert not branch.fullmatch("*") and not branch.fullmatch("feat*")
    assert tag.fullmatch("v*") and tag.fullmatch("v1.2.3")
    assert not tag.fullmatch("*") and not tag.fullmatch("v*.*") and not tag.fullmatch("?1")


def _statements(module: str, document: str) -> list[dict]:
    return as_list(policy_document(module, document)["statement"])


def test_plan_role_is_read_only_but_for_the_state_lock():
    module = MODULES / "gitlab_terraform_roles" / "main.tf"
    attachments = {
        name: body
        for type_, name, body in labelled_blocks(module, "resource")
        if type_ == "aws_iam_role_policy_attachment"
    }
    plan_attachments = [b for b in attachments.values() if b["role"] == "${aws_iam_role.plan.name}"]
    assert [b["policy_arn"] for b in plan_attachments] == [
        "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
    ]
    writes = {"s3:PutObject", "s3:DeleteObject"}
    for statement in _statements("gitlab_terraform_roles", "plan"):
        actions = set(statement["actions"])
        if actions & writes:
            assert statement["resources"] == ["${local.state_locks}"], statement
        for action in actions - writes:
            verb = action.split(":")[1]
            assert re.match(r"(Get|List|Describe|Decrypt)", verb) or action in {
                "kms:Encrypt",  # the lock object, SSE-KMS with the state key
                "kms:GenerateDataKey",
            }, action
            if action.startswith("kms:") and action != "kms:Decrypt":
                assert statement["resources"] == ["${var.state_kms_key_arn}"]
    locals_ = _locals(module)
    assert locals_["state_locks"].endswith("*.tflock")


def test_apply_role_writes_the_state_and_gets_the_administrators_policies():
    module = MODULES / "gitlab_terraform_roles" / "main.tf"
    resources = {(t, n): b for t, n, b in labelled_blocks(module, "resource")}
    apply = resources[("aws_iam_role_policy_attachment", "apply")]
    assert apply["role"] == "${aws_iam_role.apply.name}"
    assert apply["for_each"] == "${toset(var.apply_policy_arns)}"
    (variable,) = [
        body
        for name, body in named_blocks(
            MODULES / "gitlab_terraform_roles" / "variables.tf", "variable"
        )
        if name == "apply_policy_arns"
    ]
    assert "default" not in variable  # the administrator chooses them
    actions = {a for s in _statements("gitlab_terraform_roles", "apply") for a in s["actions"]}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= actions


def test_bootstrap_makes_the_ci_terraform_roles_for_the_state_it_creates():
    main = TERRAFORM / "bootstrap" / "main.tf"
    modules = dict(named_blocks(main, "module"))
    roles = modules["gitlab_terraform_roles"]
    assert roles["source"] == "../modules/gitlab_terraform_roles"
    assert roles["state_bucket_arn"] == "${module.state_bucket.arn}"
    assert roles["state_kms_key_arn"] == "${module.kms.key_arn}"
    # The deploy environments' state keys are under the prefix the roles may use.
    assert roles["state_key_prefix"] == "${var.name_prefix}/"
    for backend in sorted((DEPLOY / "env").glob("*.backend.hcl")):
        key = _tfvars(backend)["key"]
        assert key.startswith("mlops/"), backend
    outputs = dict(named_blocks(TERRAFORM / "bootstrap" / "outputs.tf", "output"))
    assert {
        "terraform_plan_role_arn",
        "terraform_apply_role_arn",
        "gitlab_oidc_provider_arn",
    } <= set(outputs)


def test_deploy_root_uses_the_oidc_provider_bootstrap_made():
    (variable,) = [
        body
        for name, body in named_blocks(DEPLOY / "variables.tf", "variable")
        if name == "create_gitlab_oidc_provider"
    ]
    assert variable["default"] is False
    example = _tfvars(DEPLOY / "account.tfvars.example")
    assert re.fullmatch(
        r"arn:aws:iam::[0-9]{12}:oidc-provider/gitlab\.com",
        example["existing_gitlab_oidc_provider_arn"],
    )


# --- images -------------------------------------------------------------------------------------


def _rule_tag_statuses(expression: str, locals_: dict) -> list[str]:
    statuses = re.findall(r'tagStatus\s*=\s*"?(\w+)"?', expression)
    for name in re.findall(r"local\.(\w+)", expression):
        statuses.append(locals_[name]["selection"]["tagStatus"])
    return statuses


def test_image_repositories_expire_untagged_images_only_and_tags_are_immutable():
    """A model package names its image by tag: no tagged image may ever expire under it."""
    path = MODULES / "ecr" / "main.tf"
    locals_ = _locals(path)
    resources = {(t, n): b for t, n, b in labelled_blocks(path, "resource")}
    assert resources[("aws_ecr_repository", "this")]["image_tag_mutability"] == "IMMUTABLE"
    images = resources[("aws_ecr_lifecycle_policy", "images")]
    assert images["for_each"] == "${toset(var.repository_names)}"
    (policy_local,) = re.fullmatch(r"\$\{local\.(\w+)\}", images["policy"]).groups()
    statuses = _rule_tag_statuses(locals_[policy_local], locals_)
    assert statuses and set(statuses) == {"untagged"}, statuses
    # The caches (no model names them) may expire by count.
    caches = resources[("aws_ecr_lifecycle_policy", "caches")]
    assert caches["for_each"] == "${toset(var.cache_repository_names)}"
    (cache_local,) = re.fullmatch(r"\$\{local\.(\w+)\}", caches["policy"]).groups()
    assert "any" in _rule_tag_statuses(locals_[cache_local], locals_)
    # No other lifecycle policy exists that could reach an image repository.
    assert [n for t, n in resources if t == "aws_ecr_lifecycle_policy"] == ["images", "caches"]


def test_models_pull_from_the_image_repositories_and_caches_are_kept_apart():
    platform = MODULES / "platform" / "main.tf"
    modules = dict(named_blocks(platform, "module"))
    ecr = modules["ecr"]
    assert ecr["repository_names"] == "${values(local.images)}"
    assert ecr["cache_repository_names"] == "${local.build_cache_repositories}"
    role = modules["sagemaker_execution_role"]
    assert "values(local.images)" in role["ecr_repository_arns"]
    assert "cache" not in role["ecr_repository_arns"]


def test_dev_replicates_images_to_prod_under_the_project_prefix():
    path = MODULES / "ecr" / "main.tf"
    resources = {(t, n): b for t, n, b in labelled_blocks(path, "resource")}
    (rule,) = as_list(
        resources[("aws_ecr_replication_configuration", "this")]["replication_configuration"]
    )
    (rule,) = as_list(rule["rule"])
    (filter_,) = as_list(rule["repository_filter"])
    assert filter_ == {"filter": "${var.replication_prefix}", "filter_type": "PREFIX_MATCH"}
    modules = dict(named_blocks(MODULES / "platform" / "main.tf", "module"))
    assert modules["ecr"]["replication_prefix"] == "${var.name_prefix}/"
    # ECR's own pattern for the filter accepts the prefix the platform passes.
    model = json.loads(
        gzip.open(
            next(
                (REPO / ".venv").glob(
                    "lib/python3*/site-packages/botocore/data/ecr/2015-09-21/service-2.json.gz"
                )
            )
        ).read()
    )
    pattern = model["shapes"]["RepositoryFilterValue"]["pattern"]
    assert re.fullmatch(pattern, "mlops/")
    # The destination admits the source accounts' replication into the project's repositories only.
    (statement,) = as_list(policy_document("ecr", "replication")["statement"])
    assert sorted(statement["actions"]) == ["ecr:CreateRepository", "ecr:ReplicateImage"]
    assert statement["resources"] == ["${local.registry_arn_prefix}/${var.replication_prefix}*"]
    # Both ends are account data: set in account.tfvars, wired from the deploy root.
    deploy = dict(named_blocks(DEPLOY / "main.tf", "module"))["platform"]
    assert deploy["ecr_replication_destinations"] == "${var.ecr_replication_destinations}"
    assert (
        deploy["ecr_replication_source_account_ids"] == "${var.ecr_replication_source_account_ids}"
    )
    example = _tfvars(DEPLOY / "account.tfvars.example")
    assert (
        example["ecr_replication_destinations"][0]["account_id"]
        != example["allowed_account_ids"][0]
    )
