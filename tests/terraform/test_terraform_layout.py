"""terraform/ is well-formed: every file parses and is formatted as HCL's own formatter writes it,
every module has the terraform-aws-modules file set with typed, described variables and described
outputs, and one deployment root serves every environment through per-environment files."""

from __future__ import annotations

import importlib.util
import re
import subprocess

import pytest

from tests.support.terraform import (
    DEPLOY,
    ENVIRONMENTS,
    MODULES,
    REPO,
    TERRAFORM,
    hcl_format_check,
    labelled_blocks,
    named_blocks,
    parse,
    tf_files,
)

TF_FILES = tf_files()
MODULE_DIRS = sorted(p for p in MODULES.iterdir() if p.is_dir())
ROOT_DIRS = [DEPLOY, TERRAFORM / "bootstrap"]


def _id(path):
    return str(path.relative_to(TERRAFORM))


def test_terraform_tree_has_modules_one_deploy_root_and_both_environments():
    assert len(TF_FILES) > 20
    assert ENVIRONMENTS == ["dev", "prod"]
    assert not (TERRAFORM / "envs").exists(), "terraform/envs/ was replaced by terraform/deploy/"


@pytest.mark.parametrize("path", TF_FILES, ids=_id)
def test_file_parses_as_hcl2(path):
    assert isinstance(parse(path), dict)


def test_every_file_is_formatted_as_hclwrite_writes_it():
    done = hcl_format_check()
    assert done.returncode == 0, done.stdout + done.stderr


def test_format_check_reports_a_misaligned_file(tmp_path):
    sloppy = tmp_path / "sloppy.tf"
    sloppy.write_text(
        'resource "x" "y" {\n\tname = "a"\n   longer_name = {}\n}\n', encoding="utf-8"
    )
    done = hcl_format_check(sloppy)
    assert done.returncode == 1
    assert "sloppy.tf" in done.stderr
    assert sloppy.read_text(encoding="utf-8").startswith('resource "x" "y" {\n\tname'), (
        "--check must not rewrite the file"
    )


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_module_has_the_standard_files(module):
    missing = [
        name
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md")
        if not (module / name).is_file()
    ]
    assert missing == [], f"terraform/modules/{module.name} lacks {missing}"


def _readme_tool():
    spec = importlib.util.spec_from_file_location(
        "module_readme", TERRAFORM / "tools" / "module_readme.py"
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.mark.parametrize("module", MODULE_DIRS, ids=lambda p: p.name)
def test_module_readme_inputs_and_outputs_are_up_to_date(module):
    readme = (module / "README.md").read_text(encoding="utf-8")
    assert readme == _readme_tool().expected_readme(module), (
        f"terraform/modules/{module.name}/README.md is out of date: "
        "run .venv/bin/python terraform/tools/module_readme.py"
    )
    for name, _ in named_blocks(module / "variables.tf", "variable"):
        assert f"| `{name}` |" in readme


@pytest.mark.parametrize("path", [p for p in TF_FILES if p.name == "versions.tf"], ids=_id)
def test_versions_pin_terraform_and_every_provider_to_a_range(path):
    (terraform,) = parse(path)["terraform"]
    assert "<" in terraform["required_version"], (
        f"{_id(path)}: required_version needs an upper bound"
    )
    for providers in terraform["required_providers"]:
        for name, spec in providers.items():
            assert ">=" in spec["version"] and "<" in spec["version"], (
                f"{_id(path)}: provider {name} version {spec['version']!r} is not a bounded range"
            )


VARIABLES = [
    (path, name, body) for path in TF_FILES for name, body in named_blocks(path, "variable")
]


@pytest.mark.parametrize(
    ("path", "name", "body"), VARIABLES, ids=[f"{_id(p)}:{n}" for p, n, _ in VARIABLES]
)
def test_variable_has_a_type_and_a_description(path, name, body):
    assert body.get("type"), f"{_id(path)}: variable {name} has no type"
    assert str(body.get("description", "")).strip(), (
        f"{_id(path)}: variable {name} has no description"
    )


OUTPUTS = [(path, name, body) for path in TF_FILES for name, body in named_blocks(path, "output")]


@pytest.mark.parametrize(
    ("path", "name", "body"), OUTPUTS, ids=[f"{_id(p)}:{n}" for p, n, _ in OUTPUTS]
)
def test_output_has_a_description(path, name, body):
    assert str(body.get("description", "")).strip(), (
        f"{_id(path)}: output {name} has no description"
    )


@pytest.mark.parametrize("root", ROOT_DIRS, ids=lambda p: p.name)
def test_root_declares_no_resources_only_modules(root):
    resources = [
        f"{path.name}: {type_}.{name}"
        for path in root.glob("*.tf")
        for kind in ("resource", "data")
        for type_, name, _ in labelled_blocks(path, kind)
    ]
    assert resources == []
    assert any(named_blocks(path, "module") for path in root.glob("*.tf"))


def test_deploy_root_keeps_state_in_s3_with_locking_and_encryption():
    (terraform,) = parse(DEPLOY / "versions.tf")["terraform"]
    (backend,) = terraform["backend"]
    s3 = backend["s3"]
    assert s3["use_lockfile"] is True
    assert s3["encrypt"] is True
    assert "key" not in s3, "the state key is per environment: env/<environment>.backend.hcl"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_has_its_own_state_key(environment):
    backend = parse(DEPLOY / "env" / f"{environment}.backend.hcl")
    assert backend["key"] == f"mlops/{environment}/terraform.tfstate"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_tfvars_names_itself_and_sets_only_declared_variables(environment):
    settings = parse(DEPLOY / "env" / f"{environment}.tfvars")
    declared = dict(named_blocks(DEPLOY / "variables.tf", "variable"))
    assert settings["environment"] == environment
    assert sorted(set(settings) - set(declared)) == []
    account_specific = {"allowed_account_ids", "gitlab_projects", "sns_subscriptions"}
    assert account_specific.isdisjoint(settings), "account data belongs in account.tfvars"


def test_environment_sizing_has_no_default_so_no_environment_gets_another_ones():
    declared = dict(named_blocks(DEPLOY / "variables.tf", "variable"))
    per_environment = set().union(
        *(parse(DEPLOY / "env" / f"{e}.tfvars").keys() for e in ENVIRONMENTS)
    )
    defaulted = sorted(name for name in per_environment if "default" in declared[name])
    assert defaulted == []


def test_deploy_root_ships_example_account_tfvars_and_backend_config():
    assert (DEPLOY / "account.tfvars.example").is_file()
    assert (DEPLOY / "backend.hcl.example").is_file()


def test_terraform_ignores_state_real_tfvars_and_caches():
    ignored = (TERRAFORM / ".gitignore").read_text(encoding="utf-8").split()
    for pattern in ("*.tfstate", "*.tfstate.*", "*.tfvars", "backend.hcl", ".terraform/"):
        assert pattern in ignored, f"terraform/.gitignore lacks {pattern}"


def test_no_terraform_state_or_real_tfvars_are_tracked():
    tracked = subprocess.run(
        ["git", "ls-files", "terraform"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    # The one root's per-environment files (terraform/deploy/env/) are tracked on purpose: they
    # hold sizing and state keys only; the account's values live in untracked account.tfvars and
    # backend.hcl beside them.
    per_environment = re.compile(r"^terraform/deploy/env/[a-z0-9]+\.(tfvars|backend\.hcl)$")
    leaked = [
        path
        for path in tracked
        if (path.endswith((".tfstate", ".tfvars", "backend.hcl")) or ".tfstate." in path)
        and not per_environment.match(path)
    ]
    assert leaked == []


def test_tracked_per_environment_files_hold_no_account_data():
    env_dir = TERRAFORM / "deploy" / "env"
    files = sorted(env_dir.glob("*.tfvars")) + sorted(env_dir.glob("*.backend.hcl"))
    assert files, "terraform/deploy/env/ holds no per-environment file"
    account_data = re.compile(r"\b\d{12}\b|arn:aws|\bbucket\s*=|\bregion\s*=|role_arn")
    found = {
        f"{path.name}:{number}": line
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if account_data.search(line.split("#", 1)[0])
    }
    assert found == {}
