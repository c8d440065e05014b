"""terraform/ is well-formed: every file parses, follows the layout rules, and every module has
the terraform-aws-modules file set with typed, described variables and described outputs."""

from __future__ import annotations

import importlib.util
import subprocess

import pytest
from terraform_support import (
    ENV_ROOTS,
    MODULES,
    REPO,
    TERRAFORM,
    labelled_blocks,
    layout_problems,
    named_blocks,
    parse,
    tf_files,
)

TF_FILES = tf_files()
MODULE_DIRS = sorted(p for p in MODULES.iterdir() if p.is_dir())
ROOT_DIRS = [*ENV_ROOTS, TERRAFORM / "bootstrap"]


def _id(path):
    return str(path.relative_to(TERRAFORM))


def test_terraform_tree_has_modules_and_both_env_roots():
    assert len(TF_FILES) > 20
    assert [p.name for p in ENV_ROOTS] == ["dev", "prod"]


@pytest.mark.parametrize("path", TF_FILES, ids=_id)
def test_file_parses_as_hcl2(path):
    assert isinstance(parse(path), dict)


@pytest.mark.parametrize("path", TF_FILES, ids=_id)
def test_file_follows_the_layout_rules(path):
    assert layout_problems(path.read_text(encoding="utf-8")) == []


def test_layout_check_reports_tabs_bad_indentation_and_missing_final_newline():
    text = 'resource "x" "y" {\n\tname = "a"\n   tags = {}\n}'
    problems = layout_problems(text)
    assert "line 2: tab character" in problems
    assert "line 3: indented 3 spaces, expected 2" in problems
    assert "file: must end with exactly one newline" in problems


def test_layout_check_ignores_brackets_inside_strings_and_comments():
    text = 'locals {\n  a = "${join("}", ["{"])}" # {\n}\n'
    assert layout_problems(text) == []


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


@pytest.mark.parametrize("root", ENV_ROOTS, ids=lambda p: p.name)
def test_root_keeps_state_in_s3_with_locking_and_encryption(root):
    (terraform,) = parse(root / "versions.tf")["terraform"]
    (backend,) = terraform["backend"]
    s3 = backend["s3"]
    assert s3["use_lockfile"] is True
    assert s3["encrypt"] is True
    assert s3["key"].endswith("terraform.tfstate")


@pytest.mark.parametrize("root", ENV_ROOTS, ids=lambda p: p.name)
def test_env_root_ships_example_tfvars_and_backend_config(root):
    assert (root / "terraform.tfvars.example").is_file()
    assert (root / "backend.hcl.example").is_file()


def test_terraform_ignores_state_real_tfvars_and_caches():
    ignored = (TERRAFORM / ".gitignore").read_text(encoding="utf-8").split()
    for pattern in ("*.tfstate", "*.tfstate.*", "*.tfvars", "backend.hcl", ".terraform/"):
        assert pattern in ignored, f"terraform/.gitignore lacks {pattern}"


def test_no_terraform_state_or_real_tfvars_are_tracked():
    tracked = subprocess.run(
        ["git", "ls-files", "terraform"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    leaked = [
        path
        for path in tracked
        if path.endswith((".tfstate", ".tfvars", "backend.hcl")) or ".tfstate." in path
    ]
    assert leaked == []
