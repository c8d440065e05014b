"""List*'s filters, sorting and paging, shared by every family of the local SageMaker backend
(pure: no stack)."""

import datetime as dt
import threading

from local.stack.services.sagemaker.resources.base import Resource
from local.stack.services.sagemaker.resources.listing import list_answer

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class Widget(Resource):
    NAME_KEY = "WidgetName"
    ARN_KEY = "WidgetArn"
    STATUS_KEY = "WidgetStatus"
    SUMMARY_KEYS = ("WidgetName", "WidgetStatus", "CreationTime")


def widgets(*specs: tuple[str, str, int]) -> list[Widget]:
    lock = threading.RLock()
    return [
        Widget(
            lock,
            {
                "WidgetName": name,
                "WidgetArn": f"arn:widget/{name}",
                "WidgetStatus": status,
                "CreationTime": START + dt.timedelta(minutes=minute),
                "Unlisted": "describe only",
            },
        )
        for name, status, minute in specs
    ]


def names(answer: dict) -> list[str]:
    return [s["WidgetName"] for s in answer["Widgets"]]


FLEET = widgets(("alpha", "Completed", 1), ("beta", "Failed", 2), ("Gamma", "Completed", 3))


def test_newest_first_with_only_the_summary_fields():
    answer = list_answer(FLEET, {}, "Widgets")
    assert names(answer) == ["Gamma", "beta", "alpha"]
    assert set(answer["Widgets"][0]) == {"WidgetName", "WidgetStatus", "CreationTime"}
    assert "NextToken" not in answer


def test_name_contains_ignores_case_and_status_equals_filters():
    assert names(list_answer(FLEET, {"NameContains": "GAM"}, "Widgets")) == ["Gamma"]
    assert names(list_answer(FLEET, {"StatusEquals": "Completed"}, "Widgets")) == [
        "Gamma",
        "alpha",
    ]


def test_creation_time_bounds_are_exclusive():
    request = {
        "CreationTimeAfter": START + dt.timedelta(minutes=1),
        "CreationTimeBefore": START + dt.timedelta(minutes=3),
    }
    assert names(list_answer(FLEET, request, "Widgets")) == ["beta"]


def test_sort_by_name_ascending():
    request = {"SortBy": "Name", "SortOrder": "Ascending"}
    assert names(list_answer(FLEET, request, "Widgets")) == ["Gamma", "alpha", "beta"]


def test_pages_follow_next_token_to_the_end():
    first = list_answer(FLEET, {"MaxResults": 2}, "Widgets")
    assert names(first) == ["Gamma", "beta"] and first["NextToken"] == "2"
    second = list_answer(FLEET, {"MaxResults": 2, "NextToken": first["NextToken"]}, "Widgets")
    assert names(second) == ["alpha"] and "NextToken" not in second
