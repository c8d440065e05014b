"""terraform/ fits the providers' schemas, as ``terraform validate`` would check it: every
argument and nested block of every resource and data block exists for the pinned provider range
(its lowest and newest version), nothing read-only is set, every required argument and nested
block is there, and every reference names a declared block and one of its attributes.

The schemas come from the providers' Go source (tests/terraform/provider_schemas.json, written by
scripts/terraform_schema.py); the parser and checkov accept a misspelled argument.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.support.provider_schema import (
    check_blocks,
    check_references,
    deprecated_arguments,
    satisfies,
    schemas,
)
from tests.support.terraform import (
    MODULES,
    TERRAFORM,
    loads_with_blocks,
    parse,
    parse_with_blocks,
    tf_files,
)

TF_FILES = [p for p in tf_files() if {"resource", "data"} & set(parse(p))]
MODULE_DIRS = sorted({p.parent for p in tf_files()})


def _rel(path) -> str:
    return str(path.relative_to(TERRAFORM.parent))


def _findings(text: str) -> list[str]:
    return [str(f) for f in check_blocks(loads_with_blocks(text), "snippet.tf")]


def _pinned_constraints() -> dict[str, set[str]]:
    """Provider name -> every version constraint terraform/ writes for it."""
    pinned: dict[str, set[str]] = defaultdict(set)
    for path in tf_files():
        for terraform in parse(path).get("terraform", []):
            for providers in terraform.get("required_providers", []):
                for name, spec in providers.items():
                    pinned[name].add(spec["version"])
    return pinned


# --------------------------------------------------------------------------- the data file


def test_schema_data_spans_the_pinned_range_of_each_provider():
    pinned = _pinned_constraints()
    assert set(pinned) == {"aws", "archive"}
    for name, constraints in pinned.items():
        versions = list(schemas()[name]["versions"])
        assert len(versions) == 2, f"{name}: the lowest and the newest version, got {versions}"
        for version in versions:
            for constraint in constraints:
                assert satisfies(version, constraint), f"{name} {version} outside {constraint}"
        lowest = min(versions, key=lambda v: tuple(map(int, v.split("."))))
        for constraint in constraints:
            floor = re.search(r"(?:>=|~>)\s*([\d.]+)", constraint)
            assert floor, f"{name}: {constraint} has no lower bound"
            assert satisfies(lowest, f"= {floor.group(1)}"), (
                f"{name}: the schema data's lowest version {lowest} is not the floor of "
                f"{constraint}: regenerate with scripts/terraform_schema.py"
            )


def test_schema_data_records_where_it_comes_from():
    for name, provider in schemas().items():
        for version, data in provider["versions"].items():
            provenance = data["provenance"]
            assert provenance["version"] == version
            assert provenance["provider"] == f"registry.terraform.io/hashicorp/{name}"
            assert re.search(r"commit [0-9a-f]{40}", provenance["source"]), provenance
            assert f"tag v{version}" in provenance["source"], provenance


def test_version_constraints_are_read_as_terraform_reads_them():
    assert satisfies("6.0.0", ">= 6.0, < 7.0")
    assert satisfies("6.58.0", ">= 6.0, < 7.0")
    assert not satisfies("7.0.0", ">= 6.0, < 7.0")
    assert not satisfies("5.99.1", ">= 6.0, < 7.0")
    assert satisfies("2.9.0", "~> 2.4") and not satisfies("3.0.0", "~> 2.4")
    assert satisfies("2.4.9", "~> 2.4.1") and not satisfies("2.5.0", "~> 2.4.1")


# --------------------------------------------------------------------------- terraform/


def test_the_check_sees_every_resource_and_data_block():
    # The per-file tests pass vacuously if the blocks are not read: count what they check.
    blocks = [
        (kind, type_name)
        for path in TF_FILES
        for kind in ("resource", "data")
        for entry in parse_with_blocks(path).get(kind, [])
        for type_name, named in entry.items()
        for _ in named
    ]
    assert len(blocks) >= 100
    assert {t for _, t in blocks} >= {"aws_mwaa_environment", "aws_iam_policy_document"}


@pytest.mark.parametrize("path", TF_FILES, ids=_rel)
def test_blocks_use_only_schema_arguments_and_set_the_required_ones(path):
    findings = check_blocks(parse_with_blocks(path), _rel(path))
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize("module", MODULE_DIRS, ids=_rel)
def test_references_name_declared_blocks_and_their_attributes(module):
    files = {_rel(p): parse_with_blocks(p) for p in sorted(module.glob("*.tf"))}
    findings = check_references(files)
    assert findings == [], "\n".join(map(str, findings))


@pytest.mark.parametrize("path", TF_FILES, ids=_rel)
def test_no_deprecated_argument_is_set(path):
    findings = deprecated_arguments(parse_with_blocks(path), _rel(path))
    assert findings == [], "\n".join(map(str, findings))


# --------------------------------------------------------------------------- the check itself

VALID = """
resource "aws_security_group" "this" {
  count       = 2
  name_prefix = "mwaa-"
  vpc_id      = var.vpc_id
  provider    = aws.other
  depends_on  = [aws_vpc.this]

  lifecycle {
    create_before_destroy = true
    ignore_changes        = [tags]
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = var.buckets
  bucket   = each.key

  dynamic "rule" {
    for_each = each.value
    content {
      id     = rule.key
      status = "Enabled"
      filter {
        prefix = rule.value
      }
      expiration {
        days = 30
      }
    }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["*"]
    dynamic "principals" {
      for_each = var.roles
      content {
        type        = "AWS"
        identifiers = [principals.value]
      }
    }
  }
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = "src"
  output_path = "out.zip"
}
"""


def test_a_valid_configuration_with_meta_arguments_and_dynamic_blocks_passes():
    assert _findings(VALID) == []


def test_a_misspelled_argument_is_named_with_file_address_and_a_suggestion():
    findings = _findings(VALID.replace("name_prefix =", "name_prefx  ="))
    assert findings == [
        'snippet.tf: aws_security_group.this: unsupported argument "name_prefx" '
        '(did you mean "name_prefix"?) [aws 6.0.0, aws 6.58.0]'
    ]


def test_a_removed_required_argument_is_reported():
    findings = _findings(VALID.replace("  bucket   = each.key\n", ""))
    assert findings == [
        "snippet.tf: aws_s3_bucket_lifecycle_configuration.this: missing required argument "
        '"bucket" [aws 6.0.0, aws 6.58.0]'
    ]


def test_a_required_argument_set_to_null_is_missing():
    findings = _findings(VALID.replace('type        = "zip"', "type        = null"))
    assert findings == [
        'snippet.tf: data.archive_file.source: missing required argument "type" '
        "[archive 2.4.0, archive 2.8.0]"
    ]


def test_required_arguments_are_checked_inside_nested_and_dynamic_blocks():
    findings = _findings(VALID.replace('      status = "Enabled"\n', ""))
    assert findings == [
        "snippet.tf: aws_s3_bucket_lifecycle_configuration.this.rule: missing required "
        'argument "status" [aws 6.0.0, aws 6.58.0]'
    ]
    findings = _findings(VALID.replace('        type        = "AWS"\n', ""))
    assert findings == [
        "snippet.tf: data.aws_iam_policy_document.this.statement.principals: missing required "
        'argument "type" [aws 6.0.0, aws 6.58.0]'
    ]


def test_unknown_arguments_inside_dynamic_content_and_unknown_dynamic_blocks_are_reported():
    findings = _findings(VALID.replace("        days = 30", "        dayz = 30"))
    assert findings == [
        "snippet.tf: aws_s3_bucket_lifecycle_configuration.this.rule.expiration: unsupported "
        'argument "dayz" (did you mean "days"?) [aws 6.0.0, aws 6.58.0]'
    ]
    findings = _findings(VALID.replace('dynamic "principals"', 'dynamic "principal"'))
    assert findings == [
        'snippet.tf: data.aws_iam_policy_document.this.statement: dynamic "principal": no such '
        'nested block (did you mean "principals"?) [aws 6.0.0, aws 6.58.0]'
    ]


def test_a_missing_required_nested_block_is_reported():
    snippet = """
resource "aws_mwaa_environment" "this" {
  name               = "x"
  dag_s3_path        = "dags"
  execution_role_arn = "arn"
  source_bucket_arn  = "arn"
}
"""
    assert _findings(snippet) == [
        'snippet.tf: aws_mwaa_environment.this: needs at least 1 "network_configuration" '
        "block(s), has 0 [aws 6.0.0, aws 6.58.0]"
    ]


def test_too_many_blocks_and_read_only_attributes_are_reported():
    snippet = """
resource "aws_kms_key" "this" {
  arn = "x"
  timeouts {}
  timeouts {}
}
"""
    assert _findings(snippet) == [
        'snippet.tf: aws_kms_key.this: "arn" is read-only (computed by the provider) '
        "[aws 6.0.0, aws 6.58.0]",
        'snippet.tf: aws_kms_key.this: allows at most 1 "timeouts" block(s), has 2 '
        "[aws 6.0.0, aws 6.58.0]",
    ]


def test_an_argument_written_as_a_block_and_a_block_written_as_an_argument_are_reported():
    snippet = """
resource "aws_mwaa_environment" "this" {
  name               = "x"
  dag_s3_path        = "dags"
  execution_role_arn = "arn"
  source_bucket_arn  = "arn"
  network_configuration = { security_group_ids = [], subnet_ids = [] }
  tags {
    a = "b"
  }
}
"""
    assert _findings(snippet) == [
        'snippet.tf: aws_mwaa_environment.this: "network_configuration" is a block, not an '
        "argument: write network_configuration { ... } [aws 6.0.0, aws 6.58.0]",
        'snippet.tf: aws_mwaa_environment.this: "tags" is an argument, not a block: write '
        "tags = ... [aws 6.0.0, aws 6.58.0]",
        'snippet.tf: aws_mwaa_environment.this: needs at least 1 "network_configuration" '
        "block(s), has 0 [aws 6.0.0, aws 6.58.0]",
    ]


def test_the_providers_conflict_and_exactly_one_of_groups_hold():
    assert _findings(VALID.replace('name_prefix = "mwaa-"', 'name = "a"\n  name_prefix = "b"')) == [
        'snippet.tf: aws_security_group.this: "name", "name_prefix" conflict: set only one of '
        "them [aws 6.0.0, aws 6.58.0]"
    ]
    rule = """
resource "aws_vpc_security_group_egress_rule" "this" {
  security_group_id = "sg"
  ip_protocol       = "-1"
  %s
}
"""
    exactly_one = (
        '"cidr_ipv4", "cidr_ipv6", "prefix_list_id", "referenced_security_group_id" must be set'
    )
    assert _findings(rule % 'cidr_ipv4 = "0.0.0.0/0"') == []
    assert _findings(rule % "") == [
        f"snippet.tf: aws_vpc_security_group_egress_rule.this: exactly one of {exactly_one}, "
        "found 0 [aws 6.0.0, aws 6.58.0]"
    ]
    both = 'cidr_ipv4 = "0.0.0.0/0"\n  referenced_security_group_id = "sg-2"'
    assert _findings(rule % both) == [
        f"snippet.tf: aws_vpc_security_group_egress_rule.this: exactly one of {exactly_one}, "
        "found 2 [aws 6.0.0, aws 6.58.0]"
    ]


def test_an_argument_only_newer_providers_know_fails_for_the_lowest_pinned_version():
    # aws_mwaa_environment.worker_replacement_strategy arrived after 6.0.0: the pin allows 6.0.0.
    snippet = """
resource "aws_mwaa_environment" "this" {
  name                        = "x"
  dag_s3_path                 = "dags"
  execution_role_arn          = "arn"
  source_bucket_arn           = "arn"
  worker_replacement_strategy = "GRACEFUL"
  network_configuration {
    security_group_ids = []
    subnet_ids         = []
  }
}
"""
    assert _findings(snippet) == [
        'snippet.tf: aws_mwaa_environment.this: unsupported argument "worker_replacement_strategy"'
        " [aws 6.0.0]"
    ]


def test_lifecycle_arguments_and_ignore_changes_names_are_checked():
    findings = _findings(VALID.replace("ignore_changes        = [tags]", "ignore_change = [tagz]"))
    assert findings == [
        'snippet.tf: aws_security_group.this.lifecycle: unsupported argument "ignore_change" '
        "[aws 6.0.0, aws 6.58.0]"
    ]
    findings = _findings(VALID.replace("ignore_changes        = [tags]", "ignore_changes = [tagz]"))
    assert findings == [
        'snippet.tf: aws_security_group.this.lifecycle: ignore_changes names "tagz", not an '
        'argument of this type (did you mean "tags"?) [aws 6.0.0, aws 6.58.0]'
    ]


def test_an_unknown_type_is_reported():
    assert _findings('resource "aws_s3_buckets" "x" {}') == [
        "snippet.tf: aws_s3_buckets.x: resource type aws_s3_buckets is not in "
        "tests/terraform/provider_schemas.json: a misspelled type, or one added since the file "
        "was generated (regenerate it with scripts/terraform_schema.py) [aws 6.0.0, aws 6.58.0]"
    ]


def test_references_to_undeclared_blocks_and_unknown_attributes_are_reported():
    module = {
        "main.tf": loads_with_blocks(
            """
data "aws_region" "current" {}
resource "aws_sns_topic" "this" {
  name = "t-${data.aws_region.current.region}"
}
output "arn" {
  value = aws_sns_topic.this.arn
}
"""
        )
    }
    assert [str(f) for f in check_references(module)] == []
    module["outputs.tf"] = loads_with_blocks(
        'output "x" {\n  value = [aws_sns_topic.this.arnn, aws_sns_topic.other.arn]\n}\n'
    )
    assert [str(f) for f in check_references(module)] == [
        'outputs.tf: aws_sns_topic.this: has no attribute "arnn" (did you mean "arn"?) '
        "[aws 6.0.0, aws 6.58.0]",
        "outputs.tf: aws_sns_topic.other: referenced but not declared in this module",
    ]


def test_deprecated_arguments_are_reported():
    snippet = 'data "aws_region" "current" {\n  name = "eu-west-1"\n}\n'
    assert [str(f) for f in deprecated_arguments(loads_with_blocks(snippet), "snippet.tf")] == [
        'snippet.tf: data.aws_region.current: "name" is deprecated [aws 6.0.0, aws 6.58.0]'
    ]


@pytest.mark.parametrize(
    ("pattern", "replacement", "expected"),
    [
        (
            r"\n  dag_s3_path( +)=",
            r"\n  dags_s3_path\1=",
            [
                'aws_mwaa_environment.this: unsupported argument "dags_s3_path" (did you mean '
                '"dag_s3_path"?)',
                'aws_mwaa_environment.this: missing required argument "dag_s3_path"',
            ],
        ),
        (
            r"\n  execution_role_arn +=[^\n]*",
            "",
            ['aws_mwaa_environment.this: missing required argument "execution_role_arn"'],
        ),
        (
            r"\n    subnet_ids( +)=",
            r"\n    subnets\1   =",
            [
                'aws_mwaa_environment.this.network_configuration: unsupported argument "subnets" '
                '(did you mean "subnet_ids"?)',
                "aws_mwaa_environment.this.network_configuration: missing required argument "
                '"subnet_ids"',
            ],
        ),
    ],
    ids=["misspelled", "removed-required", "nested-misspelled"],
)
def test_a_mutated_copy_of_the_mwaa_module_fails(tmp_path, pattern, replacement, expected):
    source = (MODULES / "mwaa" / "main.tf").read_text(encoding="utf-8")
    mutated, count = re.subn(pattern, replacement, source, count=1)
    assert count == 1, f"terraform/modules/mwaa/main.tf no longer matches {pattern!r}"
    copy = tmp_path / "main.tf"
    copy.write_text(mutated, encoding="utf-8")
    findings = [str(f) for f in check_blocks(parse_with_blocks(copy), "mutated/main.tf")]
    assert findings == [f"mutated/main.tf: {e} [aws 6.0.0, aws 6.58.0]" for e in expected]
