"""scripts/terraform_schema.py reads a provider's schema out of its Go source: run on a small
provider written here in the AWS provider's layout (a git snapshot with a release tag), it finds
what the registrations, SDKv2 schema maps and Plugin Framework Schema methods declare."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.support.terraform import REPO

_spec = importlib.util.spec_from_file_location(
    "terraform_schema", REPO / "scripts" / "terraform_schema.py"
)
terraform_schema = importlib.util.module_from_spec(_spec)
sys.modules["terraform_schema"] = terraform_schema  # dataclasses look their module up
_spec.loader.exec_module(terraform_schema)

MODULE = "github.com/hashicorp/terraform-provider-aws"

SOURCES = {
    "names/attr_consts_gen.go": """
package names

const (
	AttrName    = "name"
	AttrTags    = "tags"
	AttrTagsAll = "tags_all"
)
""",
    "internal/tags/schemas.go": """
package tags

import (
	"sync"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
)

var TagsSchema = sync.OnceValue(func() *schema.Schema {
	return &schema.Schema{
		Type:     schema.TypeMap,
		Optional: true,
		Elem:     &schema.Schema{Type: schema.TypeString},
	}
})
""",
    "internal/types/region.go": """
package types

import "unique"

type ServicePackageResourceRegion struct {
	IsOverrideEnabled bool
}

func ResourceRegionDefault() unique.Handle[ServicePackageResourceRegion] {
	return unique.Make(ServicePackageResourceRegion{IsOverrideEnabled: true})
}
""",
    "internal/service/demo/service_package_gen.go": """
package demo

import (
	"context"

	inttypes "github.com/hashicorp/terraform-provider-aws/internal/types"
)

type servicePackage struct{}

func (p *servicePackage) SDKResources(ctx context.Context) []*inttypes.ServicePackageSDKResource {
	return []*inttypes.ServicePackageSDKResource{
		{
			Factory:  resourceWidget,
			TypeName: "aws_demo_widget",
			Region:   inttypes.ResourceRegionDefault(),
		},
	}
}

func (p *servicePackage) FrameworkResources(
	ctx context.Context,
) []*inttypes.ServicePackageFrameworkResource {
	return []*inttypes.ServicePackageFrameworkResource{
		{
			Factory:  newGadgetResource,
			TypeName: "aws_demo_gadget",
		},
	}
}
""",
    "internal/service/demo/widget.go": """
package demo

import (
	"time"

	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	tftags "github.com/hashicorp/terraform-provider-aws/internal/tags"
	"github.com/hashicorp/terraform-provider-aws/names"
)

const attrSize = "size"

func resourceWidget() *schema.Resource {
	return &schema.Resource{
		Timeouts: &schema.ResourceTimeout{
			Create: schema.DefaultTimeout(10 * time.Minute),
			Delete: schema.DefaultTimeout(5 * time.Minute),
		},
		SchemaFunc: func() map[string]*schema.Schema {
			listOfStrings := func() *schema.Schema {
				return &schema.Schema{
					Type:     schema.TypeList,
					Optional: true,
					Elem:     &schema.Schema{Type: schema.TypeString},
				}
			}
			return map[string]*schema.Schema{
				"arn": {
					Type:     schema.TypeString,
					Computed: true,
				},
				names.AttrName: {
					Type:          schema.TypeString,
					Optional:      true,
					Computed:      true,
					ConflictsWith: []string{"name_prefix"},
				},
				"name_prefix": {
					Type:       schema.TypeString,
					Optional:   true,
					Deprecated: "use " + "name",
				},
				attrSize: {
					Type:     schema.TypeInt,
					Required: true,
				},
				"labels":         listOfStrings(),
				"rule":           ruleSchema(),
				names.AttrTags:   tftags.TagsSchema(),
			}
		},
	}
}

func ruleSchema() *schema.Schema {
	return &schema.Schema{
		Type:     schema.TypeList,
		Required: true,
		MaxItems: 2,
		Elem: &schema.Resource{
			Schema: map[string]*schema.Schema{
				"id": {
					Type:     schema.TypeString,
					Required: true,
				},
				"filter": {
					Type:     schema.TypeList,
					Optional: true,
					MaxItems: 1,
					Elem: &schema.Resource{
						Schema: map[string]*schema.Schema{
							"prefix": {Type: schema.TypeString, Optional: true},
						},
					},
				},
			},
		},
	}
}
""",
    "internal/service/demo/gadget.go": """
package demo

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/resourcevalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-provider-aws/names"
)

type baseResource struct{}

type gadgetResource struct {
	baseResource
}

func newGadgetResource(context.Context) (resource.ResourceWithConfigure, error) {
	r := &gadgetResource{}
	return r, nil
}

func (r *baseResource) Schema(
	ctx context.Context, request resource.SchemaRequest, response *resource.SchemaResponse,
) {
	s := schema.Schema{
		Attributes: map[string]schema.Attribute{
			names.AttrName: schema.StringAttribute{
				Required: true,
			},
			"cidr": schema.StringAttribute{
				Optional: true,
			},
			"prefix_list": schema.StringAttribute{
				Optional: true,
			},
		},
		Blocks: map[string]schema.Block{
			"part": schema.ListNestedBlock{
				Validators: []validator.List{
					listvalidator.SizeAtLeast(1),
					listvalidator.SizeAtMost(3),
				},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"serial": schema.Int64Attribute{
							Optional: true,
							Computed: true,
						},
					},
				},
			},
			"timeouts": timeouts.Block(ctx, timeouts.Opts{
				Create: true,
			}),
		},
	}
	response.Schema = s
}

func (r *baseResource) ConfigValidators(context.Context) []resource.ConfigValidator {
	return []resource.ConfigValidator{
		resourcevalidator.ExactlyOneOf(path.MatchRoot("cidr"), path.MatchRoot("prefix_list")),
	}
}
""",
}


@pytest.fixture(scope="module")
def demo_provider(tmp_path_factory):
    repo = tmp_path_factory.mktemp("provider")
    for path, text in SOURCES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text.lstrip(), encoding="utf-8")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "demo"], check=True)
    subprocess.run([*git, "tag", "v6.1.0"], check=True)
    return terraform_schema.load_aws(repo / ".git", "v6.1.0")


def test_an_sdk_resource_schema_is_read_through_helpers_closures_and_constants(demo_provider):
    _, schema = demo_provider
    assert schema.resources["aws_demo_widget"].as_json() == {
        "attributes": {
            "arn": "computed",
            "id": "optional+computed",  # terraform-plugin-sdk adds it
            "labels": "optional",
            "name": "optional+computed",
            "name_prefix": "optional",
            "region": "optional+computed",  # registered with region override
            "size": "required",
            "tags": "optional",
        },
        "blocks": {
            "rule": {
                "min": 1,
                "max": 2,
                "attributes": {"id": "required"},
                "blocks": {"filter": {"max": 1, "attributes": {"prefix": "optional"}}},
            },
            "timeouts": {"max": 1, "attributes": {"create": "optional", "delete": "optional"}},
        },
        "conflicts": [["name", "name_prefix"]],
        "deprecated": ["name_prefix"],
    }


def test_a_framework_resource_schema_is_read_from_the_schema_method_it_embeds(demo_provider):
    _, schema = demo_provider
    assert schema.resources["aws_demo_gadget"].as_json() == {
        "attributes": {"cidr": "optional", "name": "required", "prefix_list": "optional"},
        "blocks": {
            "part": {"min": 1, "max": 3, "attributes": {"serial": "optional+computed"}},
            "timeouts": {"max": 1, "attributes": {"create": "optional"}},
        },
        "exactly_one_of": [["cidr", "prefix_list"]],
    }
    assert schema.problems == []


def test_provenance_names_the_commit_and_the_tag(demo_provider):
    provenance, _ = demo_provider
    assert provenance["version"] == "6.1.0"
    assert "tag v6.1.0" in provenance["source"]
    assert "hashicorp/terraform-provider-aws commit " in provenance["source"]


def test_the_data_file_renders_as_json_with_one_type_per_line(demo_provider, monkeypatch):
    monkeypatch.setattr(
        terraform_schema,
        "used_types",
        lambda _trees: {"resource": {"aws_demo_widget"}, "data": set()},
    )
    text = terraform_schema.render({"aws": [demo_provider]}, "used")
    data = json.loads(text)
    assert list(data["providers"]["aws"]["versions"]["6.1.0"]["resources"]) == ["aws_demo_widget"]
    assert any(line.startswith('"aws_demo_widget": {"attributes"') for line in text.splitlines())


@pytest.mark.parametrize(
    ("constant", "attribute"),
    [
        ("AttrKMSKeyARN", "kms_key_arn"),
        ("AttrVPCID", "vpc_id"),
        ("AttrSecurityGroupIDs", "security_group_ids"),
        ("AttrARNs", "arns"),
        ("AttrS3BucketName", "s3_bucket_name"),
        ("AttrAWSAccountID", "aws_account_id"),
        ("AttrCloudWatchLogGroupARN", "cloudwatch_log_group_arn"),
        ("AttrIPAddressType", "ip_address_type"),
        ("AttrExpectedBucketOwner", "expected_bucket_owner"),
    ],
)
def test_attribute_constants_follow_the_providers_naming_rule(constant, attribute):
    assert terraform_schema.attr_constant(constant) == attribute
