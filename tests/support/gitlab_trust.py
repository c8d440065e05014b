"""The GitLab OIDC trust of terraform/'s roles, evaluated as IAM evaluates it: the sub claims a
role's HCL templates build for given projects, matched with IAM's StringLike against the sub
GitLab issues (its default ``project_path:<p>:ref_type:<branch|tag>:ref:<ref>``)."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
from hcl2.utils import SerializationOptions

from tests.support.terraform import DEPLOY, MODULES, all_labelled_blocks, as_list, parse

_TFVARS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)

# Which role each CI/CD variable names, and where the role's trust is declared.
ROLE_TRUSTS = {
    "DEPLOY_ROLE_ARN": ("gitlab_oidc", "trust"),
    "TERRAFORM_PLAN_ROLE_ARN": ("gitlab_terraform_roles", "plan_trust"),
    "TERRAFORM_APPLY_ROLE_ARN": ("gitlab_terraform_roles", "apply_trust"),
}


def tfvars(path: Path) -> dict:
    return hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=_TFVARS)


def example_projects() -> list[dict]:
    return tfvars(DEPLOY / "account.tfvars.example")["gitlab_projects"]


def module_locals(path: Path) -> dict:
    merged: dict = {}
    for block in parse(path).get("locals", []):
        merged.update(block)
    return merged


def policy_document(module: str, name: str) -> dict:
    (document,) = [
        body
        for path, n, body in all_labelled_blocks("data", "aws_iam_policy_document")
        if path.parent.name == module and n == name
    ]
    return document


def string_like(pattern: str, value: str) -> bool:
    """IAM's StringLike: * any run of characters, ? one character, everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def gitlab_sub(project: str, ref_type: str, ref: str) -> str:
    """GitLab's default sub claim of a CI ID token."""
    return f"project_path:{project}:ref_type:{ref_type}:ref:{ref}"


def subjects_from(expression: str, projects: list[dict]) -> list[str]:
    """Evaluate a subjects local (``flatten([for project in var.projects : [for branch in
    project.branches : "...${project.path}...${branch}"]])`` and the like) for ``projects``."""
    templates = re.findall(r'"(project_path:[^"]*)"', expression)
    assert templates, expression
    out = []
    for project in projects:
        for template in templates:
            if "${branch}" in template:
                assert "for branch in project.branches" in expression
                refs = [("${branch}", b) for b in project["branches"]]
            elif "${tag}" in template:
                assert "for tag in project.tags" in expression
                refs = [("${tag}", t) for t in project.get("tags", [])]
            else:
                refs = [(None, None)]
            for placeholder, ref in refs:
                sub = template.replace("${project.path}", project["path"])
                if placeholder:
                    sub = sub.replace(placeholder, ref)
                assert "${" not in sub, f"unevaluated template part in {template}"
                out.append(sub)
    return out


def trusted_subjects(module: str, document: str, projects: list[dict]) -> list[str]:
    """The sub patterns a role's trust statement accepts (asserting the statement's shape)."""
    (statement,) = as_list(policy_document(module, document)["statement"])
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    conditions = {c["variable"]: c for c in as_list(statement["condition"])}
    assert conditions["${local.issuer_host}:aud"]["test"] == "StringEquals"
    sub = conditions["${local.issuer_host}:sub"]
    assert sub["test"] == "StringLike", f"{module}.{document}: sub must be matched with StringLike"
    (local_name,) = re.fullmatch(r"\$\{local\.(\w+)\}", sub["values"]).groups()
    locals_ = module_locals(MODULES / module / "main.tf")
    expression = locals_[local_name]
    referenced = re.findall(r"local\.(\w+)", expression)
    if referenced:  # concat(local.a, local.b)
        return [s for name in referenced for s in subjects_from(locals_[name], projects)]
    return subjects_from(expression, projects)


def accepts(patterns: list[str], sub: str) -> bool:
    return any(string_like(p, sub) for p in patterns)
