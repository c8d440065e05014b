"""What a run's SageMaker jobs cost: billable seconds read from Describe answers as SageMaker
reports them, priced with the instance price table; unknown prices stay unknown, a bad table is
a settings error naming file and field.

The Describe answers are built from the requests the library sends for the countries file's
models, plus what SageMaker adds to them, and each validates against botocore's output shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from mlops import costs
from mlops import sagemaker_requests as requests
from mlops.config import enabled_models, get_model
from mlops.notifications import format_message
from mlops.settings import SettingsError
from mlops.steps import Reported

from tests.support.local_stack import assert_valid_output
from tests.unit.conftest import DEFAULT_COUNTRIES, REPO

DE = get_model("de", DEFAULT_COUNTRIES)  # ml.trn1.2xlarge, managed spot
GB = get_model("gb", DEFAULT_COUNTRIES)  # ml.m5.xlarge
STARTED = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)
PRICES = """
source: a test price list
as_of: 2026-11-30
currency: USD
regions:
  eu-west-1:
    ml.m5.xlarge: 0.36
    ml.trn1.2xlarge: 1.8
"""


@pytest.fixture
def prices(tmp_path) -> costs.PriceTable:
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES)
    return costs.load_price_table(path)


def _times(seconds: float) -> dict[str, datetime]:
    return {"start": STARTED, "end": STARTED + timedelta(seconds=seconds)}


def training_described(
    settings, run, model=GB, *, training_seconds=600, billable_seconds=None, **resources
):
    """DescribeTrainingJob of the model's final training job, as SageMaker answers it."""
    request = requests.training_request(settings, model, run, "s3://d/train/", "s3://d/val/", {})
    request.pop("Tags")
    request["ResourceConfig"] |= resources
    times = _times(training_seconds)
    described = {
        **request,
        "TrainingJobArn": f"arn:aws:sagemaker:eu-west-1:123456789012:training-job/{run.run_id}",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://m/model.tar.gz"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "CreationTime": STARTED - timedelta(minutes=3),
        "TrainingStartTime": times["start"],
        "TrainingEndTime": times["end"],
        "TrainingTimeInSeconds": training_seconds,
        "BillableTimeInSeconds": billable_seconds or training_seconds,
    }
    assert_valid_output("DescribeTrainingJob", described)
    return described


def _ended(request: dict, job: str, seconds: float) -> dict:
    """The Describe<job>Job answer of a completed ``request`` that ran ``seconds``."""
    request.pop("Tags")
    times = _times(seconds)
    described = {
        **request,
        f"{job}JobArn": f"arn:aws:sagemaker:eu-west-1:123456789012:{job.lower()}-job/j",
        f"{job}JobStatus": "Completed",
        "CreationTime": STARTED - timedelta(minutes=2),
        f"{job}StartTime": times["start"],
        f"{job}EndTime": times["end"],
    }
    assert_valid_output(f"Describe{job}Job", described)
    return described


def processing_described(settings, run, model=GB, *, seconds=90.2, instance_count=1):
    """DescribeProcessingJob of the model's prepare job."""
    request = requests.prepare_request(settings, model, run)
    request["ProcessingResources"]["ClusterConfig"]["InstanceCount"] = instance_count
    return _ended(request, "Processing", seconds)


def transform_described(settings, run, model=GB, *, seconds=30.0, instance_count=1):
    """DescribeTransformJob of the model's batch transform."""
    request = requests.batch_transform_request(settings, model, run, model_name="mlops-gb-m")
    request["TransformResources"]["InstanceCount"] = instance_count
    return _ended(request, "Transform", seconds)


def priced(kind, description, prices):
    (usage,) = costs.job_usage(kind, description, task_id="t")
    return costs.job_cost(usage, prices, "eu-west-1")


# ---------------------------------------------------------------- billable seconds and cost
def test_a_training_job_costs_its_billable_seconds_at_the_hourly_price(settings, run, prices):
    line = priced("training", training_described(settings, run, training_seconds=600), prices)
    assert line["instance_type"] == GB.training.instance_type
    assert line["billable_seconds"] == 600
    assert line["usd_per_hour"] == 0.36
    assert line["estimated_cost_usd"] == pytest.approx(600 * 0.36 / 3600)
    assert "spot_savings_percent" not in line


def test_managed_spot_is_billed_for_the_billable_time_not_the_training_time(settings, run, prices):
    assert DE.training.use_spot
    described = training_described(settings, run, DE, training_seconds=1000, billable_seconds=300)
    line = priced("training", described, prices)
    assert line["billable_seconds"] == 300
    assert line["training_seconds"] == 1000
    assert line["spot_savings_percent"] == 70.0
    assert line["estimated_cost_usd"] == pytest.approx(300 * 1.8 / 3600)
    summary = costs.cost_summary([line], prices, "eu-west-1")
    assert summary["spot_saved_seconds"] == 700


def test_every_instance_of_a_training_cluster_is_billed(settings, run, prices):
    one = priced("training", training_described(settings, run, training_seconds=600), prices)
    two = priced(
        "training",
        training_described(settings, run, training_seconds=600, InstanceCount=2),
        prices,
    )
    assert (two["seconds_per_instance"], two["instance_count"]) == (600, 2)
    assert two["billable_seconds"] == 1200
    assert two["estimated_cost_usd"] == pytest.approx(2 * one["estimated_cost_usd"])


def test_a_heterogeneous_training_cluster_is_billed_per_instance_group(settings, run, prices):
    described = training_described(settings, run, training_seconds=100)
    described["ResourceConfig"] = {
        "VolumeSizeInGB": 30,
        "InstanceGroups": [
            {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "InstanceGroupName": "cpu"},
            {"InstanceType": "ml.trn1.2xlarge", "InstanceCount": 1, "InstanceGroupName": "trn"},
        ],
    }
    assert_valid_output("DescribeTrainingJob", described)
    usages = costs.job_usage("training", described)
    lines = [costs.job_cost(usage, prices, "eu-west-1") for usage in usages]
    assert [(line["instance_type"], line["billable_seconds"]) for line in lines] == [
        ("ml.m5.xlarge", 200),
        ("ml.trn1.2xlarge", 100),
    ]
    total = costs.cost_summary(lines, prices, "eu-west-1")["estimated_cost_usd"]
    assert total == pytest.approx((200 * 0.36 + 100 * 1.8) / 3600)


def test_processing_and_transform_jobs_are_billed_from_start_to_end_rounded_up(
    settings, run, prices
):
    processing = priced("processing", processing_described(settings, run, seconds=90.2), prices)
    transform = priced("transform", transform_described(settings, run, seconds=30.0), prices)
    assert processing["billable_seconds"] == 91
    assert transform["billable_seconds"] == 30
    assert processing["estimated_cost_usd"] == pytest.approx(91 * 0.36 / 3600)


def test_every_instance_of_a_processing_or_transform_job_is_billed(settings, run, prices):
    processing = priced(
        "processing", processing_described(settings, run, seconds=60, instance_count=3), prices
    )
    transform = priced(
        "transform", transform_described(settings, run, seconds=60, instance_count=2), prices
    )
    assert processing["billable_seconds"] == 180
    assert transform["billable_seconds"] == 120


def test_a_runs_summary_adds_up_its_jobs(settings, run, prices):
    lines = [
        priced("processing", processing_described(settings, run, seconds=120), prices),
        priced("training", training_described(settings, run, training_seconds=600), prices),
    ]
    summary = costs.cost_summary(lines, prices, "eu-west-1")
    assert summary["billable_seconds"] == 720
    assert summary["estimated_cost_usd"] == pytest.approx(720 * 0.36 / 3600)
    assert summary["price_source"] == "a test price list, as of 2026-11-30"
    assert summary["region"] == "eu-west-1"
    assert "cost_unknown" not in summary


# ---------------------------------------------------------------- what is not known
def test_an_unpriced_instance_type_leaves_the_cost_unknown_with_the_reason(settings, run, prices):
    described = training_described(settings, run, training_seconds=600, InstanceType="ml.g5.xlarge")
    line = priced("training", described, prices)
    assert line["estimated_cost_usd"] is None
    assert line["cost_unknown"].startswith("no price for ml.g5.xlarge in eu-west-1 in ")
    other = priced("processing", processing_described(settings, run, seconds=100), prices)
    summary = costs.cost_summary([line, other], prices, "eu-west-1")
    assert summary["estimated_cost_usd"] is None
    assert summary["billable_seconds"] == 700
    assert summary["priced_jobs_cost_usd"] == pytest.approx(other["estimated_cost_usd"])
    assert summary["cost_unknown"] == [f"{line['job']}: {line['cost_unknown']}"]


def test_a_region_without_prices_leaves_the_cost_unknown_naming_the_regions_there_are(
    settings, run, prices
):
    (usage,) = costs.job_usage("training", training_described(settings, run))
    line = costs.job_cost(usage, prices, "ap-south-2")
    assert line["estimated_cost_usd"] is None
    assert "no prices for region ap-south-2" in line["cost_unknown"]
    assert "(it has: eu-west-1)" in line["cost_unknown"]


def test_a_job_without_its_end_time_is_unknown_not_a_crash(settings, run):
    described = processing_described(settings, run)
    del described["ProcessingEndTime"]
    with pytest.raises(costs.CostUnknown, match="has no ProcessingEndTime"):
        costs.job_usage("processing", described)
    training = training_described(settings, run)
    del training["BillableTimeInSeconds"]
    with pytest.raises(costs.CostUnknown, match="reports no BillableTimeInSeconds"):
        costs.job_usage("training", training)


# ---------------------------------------------------------------- the price table
@pytest.mark.parametrize(
    ("line", "bad", "named"),
    [
        ("ml.m5.xlarge: 0.36", "ml.m5.xlarge: -0.36", "['ml.m5.xlarge']: Input should be greater"),
        ("ml.m5.xlarge: 0.36", "ml.m5.xlarge: .nan", "['ml.m5.xlarge']: Input should be a finite"),
        ("ml.m5.xlarge: 0.36", "ml.m5.xlarge: cheap", "['ml.m5.xlarge']: Input should be a valid"),
        ("ml.m5.xlarge: 0.36", "m5.xlarge: 0.36", "['m5.xlarge'] (the key): String should match"),
        ("eu-west-1:", "Ireland:", "field regions['Ireland'] (the key): String should match"),
        ("as_of: 2026-11-30", "as_of: last week", "field as_of: Input should be a valid date"),
        ("currency: USD", "currency: EUR", "field currency: Input should be 'USD'"),
        ("source: a test price list", "", "field source: Field required"),
    ],
)
def test_a_malformed_price_table_names_the_file_and_field(tmp_path, line, bad, named):
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES.replace(line, bad))
    with pytest.raises(costs.PriceTableError) as refused:
        costs.load_price_table(path)
    assert str(refused.value).startswith(f"{path}: invalid instance price table: field ")
    assert named in str(refused.value)
    assert isinstance(refused.value, SettingsError)


def test_a_price_table_that_is_no_yaml_mapping_or_no_file_is_named(tmp_path):
    path = tmp_path / "prices.yaml"
    path.write_text("regions: [unclosed")
    with pytest.raises(costs.PriceTableError, match=f"{path}: not valid YAML"):
        costs.load_price_table(path)
    path.write_text("- a list\n")
    with pytest.raises(costs.PriceTableError, match=f"{path}: expected a mapping"):
        costs.load_price_table(path)
    with pytest.raises(costs.PriceTableError, match="not found \\(set MLOPS_PRICES_FILE"):
        costs.load_price_table(tmp_path / "missing.yaml")


def test_mlops_prices_file_points_at_another_table(tmp_path, monkeypatch):
    path = tmp_path / "prices.yaml"
    path.write_text(PRICES)
    monkeypatch.setenv(costs.PRICES_FILE_ENV, str(path))
    assert costs.price_table_path() == path
    assert costs.load_price_table().regions["eu-west-1"]["ml.trn1.2xlarge"] == 1.8


def test_the_repositorys_price_table_names_its_source_and_prices_what_the_models_use(
    monkeypatch,
):
    monkeypatch.delenv(costs.PRICES_FILE_ENV, raising=False)
    assert costs.price_table_path() == REPO / "include" / "config" / "instance_prices.yaml"
    table = costs.load_price_table()
    assert "pricing" in table.source and table.as_of.year >= 2026
    priced_anywhere = {kind for prices in table.regions.values() for kind in prices}
    used = set()
    for model in enabled_models(DEFAULT_COUNTRIES):
        used |= {
            model.training.instance_type,
            model.processing.instance_type,
            model.evaluation.transform_instance_type,
            model.batch_inference.instance_type,
        }
        if model.endpoint.serverless is None:
            used.add(model.endpoint.instance_type)
    # A type the countries file uses and no region prices is a typo or a missing line.
    assert used <= priced_anywhere, used - priced_anywhere


# ---------------------------------------------------------------- the run's XCom and notification
def test_the_jobs_of_a_runs_tasks_are_read_from_the_operators_results():
    results = {
        "prepare_data": {"Processing": {"ProcessingJobName": "p"}},
        "tune": {"Tuning": {"HyperParameterTuningJobName": "h", "BestTrainingJob": {}}},
        "train_model": {"Training": {"TrainingJobName": "t", "TuningJobArn": "arn"}},
        "transform_champion": None,  # skipped: no champion
        "batch_transform": {"Model": {"ModelName": "m"}, "Transform": {"TransformJobName": "x"}},
    }
    assert list(costs.jobs_in_results(results)) == [
        ("prepare_data", "processing", "p"),
        ("tune", "tuning", "h"),
        ("train_model", "training", "t"),
        ("batch_transform", "transform", "x"),
    ]


def test_a_runs_costs_go_into_its_xcom_and_its_success_notification(settings, run, prices):
    lines = [
        priced("processing", processing_described(settings, run, seconds=120), prices),
        priced("training", training_described(settings, run, DE, billable_seconds=240), prices),
    ]
    summary = costs.cost_summary(lines, prices, "eu-west-1")
    outcome = costs.with_costs(Reported({"rows": 10}, {"rows": 10}), summary)
    assert outcome.value == {"rows": 10, "costs": summary}
    _, text = format_message(
        succeeded=True, dag_id="train__de", run_id="r1", link="L", metrics=outcome.metrics
    )
    assert f"billable_seconds: {120 + 240}" in text.splitlines()
    cost = (120 * 0.36 + 240 * 1.8) / 3600
    assert f"estimated_cost_usd: {cost:.4g} USD in eu-west-1" in text.splitlines()
    assert "price_source: a test price list, as of 2026-11-30" in text.splitlines()
    assert f"spot_saved_seconds: {600 - 240}" in text.splitlines()
    assert "rows: 10" in text.splitlines()


def test_an_unknown_cost_reads_as_unknown_in_the_notification(settings, run, prices):
    described = training_described(settings, run, InstanceType="ml.g5.xlarge")
    summary = costs.cost_summary([priced("training", described, prices)], prices, "eu-west-1")
    metrics = costs.cost_metrics(summary)
    assert metrics["estimated_cost_usd"].startswith(
        f"unknown ({described['TrainingJobName']}: no price for ml.g5.xlarge in eu-west-1 in "
    )
    assert metrics["billable_seconds"] == 600


def test_a_cost_is_shown_in_cents_from_a_dollar_up():
    summary = {
        "estimated_cost_usd": 12.345678,
        "billable_seconds": 1,
        "currency": "USD",
        "region": "us-east-1",
        "price_source": "p",
    }
    assert costs.cost_metrics(summary)["estimated_cost_usd"] == "12.35 USD in us-east-1"
