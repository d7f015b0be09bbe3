"""hooks/dataworks_v2024.py without network: the SDK request each 2024-05-18 method builds (client mocked)."""

from __future__ import annotations

import json
from unittest import mock

import pytest

from airflow_provider_pai.hooks.base import PaiApiError
from airflow_provider_pai.hooks.dataworks import DataWorksHook
from airflow_provider_pai.hooks.dataworks_wire import bizdate_ms


def hook_with_client(**answers):
    """A hook whose 2024 client answers ``method -> body map``; the requests it got are on ``client``."""
    hook = DataWorksHook(sleep=lambda s: None)
    hook.__dict__["_connection"] = mock.Mock(schema=None)
    hook._extras = {"region_id": "cn-shanghai"}
    client = mock.Mock()
    for method, body in answers.items():
        response = mock.Mock()
        response.body.to_map.return_value = body
        getattr(client, method).return_value = response
    hook.get_client_v2024 = lambda: client
    return hook, client


def sent(client, method):
    (request,), _ = getattr(client, method).call_args
    return request.to_map()


def test_a_backfill_asks_to_start_now_with_a_complete_run_policy():
    hook, client = hook_with_client(create_workflow_instances={"OperationId": "op"})
    assert hook.create_workflow_instances(project_id=1, task_id=7, bizdate="20261128", name="n",
                                          task_params='{"7": "a=1"}') == "op"
    req = sent(client, "create_workflow_instances")
    assert (req["Type"], req["WorkflowId"], req["EnvType"], req["TaskParameters"]) == (
        "SupplementData", 1, "Prod", '{"7": "a=1"}')
    assert req["Periods"] == {"BizDates": [{"StartBizDate": "2026-11-28", "EndBizDate": "2026-11-28"}]}
    props = req["DefaultRunProperties"]
    assert (props["Mode"], props["RootTaskIds"], props["Parallelism"]) == ("General", [7], 1)
    assert props["Analysis"] == {"Enabled": False, "Blocked": False}
    # Immediately defaults to false; Type, StartTime and EndTime are required once a policy is sent
    assert props["RunPolicy"] == {"Type": "Daily", "StartTime": "00:00:00", "EndTime": "23:59:59", "Immediately": True}
    assert "AutoStartEnabled" not in req  # documented default true: start on creation


def test_a_manual_workflow_run_names_its_workflow_and_leaves_out_the_backfill_fields():
    hook, client = hook_with_client(create_workflow_instances={"OperationId": "op"})
    hook.create_workflow_instances(project_id=1, task_id=7, bizdate="2026-11-28", name="n", workflow_id=55)
    req = sent(client, "create_workflow_instances")
    assert (req["Type"], req["WorkflowId"]) == ("ManualWorkflow", 55)
    props = req["DefaultRunProperties"]
    assert props["RootTaskIds"] == [7] and props["RunPolicy"]["Immediately"] is True
    assert not {"Mode", "Parallelism", "Analysis"} & set(props)  # required for SupplementData only


def test_lists_page_until_the_total_and_filter_by_the_day_in_utc_plus_8():
    hook, client = hook_with_client()
    pages = [{"PagingInfo": {"TotalCount": 3, "TaskInstances": [{"Id": 1}, {"Id": 2}]}},
             {"PagingInfo": {"TotalCount": 3, "TaskInstances": [{"Id": 3}]}}]
    client.list_task_instances.side_effect = [mock.Mock(body=mock.Mock(to_map=mock.Mock(return_value=p))) for p in pages]
    rows = hook.list_task_instances(project_id=1, bizdate="2026-11-28", task_id=7, project_env="DEV")
    assert [r["Id"] for r in rows] == [1, 2, 3]
    first = client.list_task_instances.call_args_list[0].args[0].to_map()
    assert (first["Bizdate"], first["TaskId"], first["ProjectEnv"], first["PageNumber"]) == (
        bizdate_ms("2026-11-28"), 7, "Dev", 1)


def test_get_node_sends_the_id_as_a_string_and_get_task_the_env_in_2024_spelling():
    hook, client = hook_with_client(get_task={"Task": {"Id": 7}})
    generic = mock.Mock()
    generic.call_api.return_value = {"body": {"Node": {"Id": "9", "TaskId": 7}, "RequestId": "r"}}
    hook._clients["dataworks_openapi"] = generic
    assert hook.get_data_studio_node(9, 1) == {"Id": "9", "TaskId": 7}
    params, request, _ = generic.call_api.call_args.args
    # what the 2024-05-18 SDK's get_node sends: an RPC GET of version 2024-05-18 with Id and ProjectId
    assert (params.action, params.version, params.style, params.method, params.pathname) == (
        "GetNode", "2024-05-18", "RPC", "GET", "/")
    assert request.query == {"Id": "9", "ProjectId": "1"}
    assert hook.get_task(7, project_env="PROD") == {"Id": 7}
    assert sent(client, "get_task") == {"Id": 7, "ProjectEnv": "Prod"}


def test_stop_sends_the_ids_and_returns_the_per_id_answer():
    info = {"5": {"Success": False, "Message": "finished"}}
    hook, client = hook_with_client(stop_task_instances={"SuccessInfo": info})
    assert hook.stop_task_instances([5]) == info
    assert json.loads(json.dumps(sent(client, "stop_task_instances")["Ids"])) == [5]


def _server_error():
    from Tea.exceptions import TeaException

    return TeaException({"code": "ServiceUnavailable", "message": "busy", "data": {"statusCode": 503}})


def _throttled():
    from Tea.exceptions import TeaException

    return TeaException({"code": "Throttling.User", "message": "slow down", "data": {"statusCode": 400}})


@pytest.mark.parametrize("retry, attempts", [(True, 7), (False, 5)])
def test_retry_false_gives_up_on_server_errors_after_a_few_quick_attempts(retry, attempts):
    hook, client = hook_with_client()
    ok = mock.Mock(body=mock.Mock(to_map=mock.Mock(return_value={"Task": {"Id": 7}})))
    client.get_task.side_effect = [_server_error()] * 6 + [ok]
    if retry:
        assert hook.get_task(7) == {"Id": 7}
    else:
        with pytest.raises(PaiApiError, match="ServiceUnavailable"):
            hook.get_task(7, retry=False)
    assert client.get_task.call_count == attempts


def test_retry_false_still_rides_out_throttling():
    hook, client = hook_with_client()
    ok = mock.Mock(body=mock.Mock(to_map=mock.Mock(return_value={"Task": {"Id": 7}})))
    client.get_task.side_effect = [_throttled()] * 4 + [ok]
    assert hook.get_task(7, retry=False) == {"Id": 7}
    assert client.get_task.call_count == 5


PROBE_CHILD = """
import sys
from unittest import mock
from airflow_provider_pai.hooks.dataworks import DataWorksHook
hook = DataWorksHook(sleep=lambda s: None)
hook.__dict__["_connection"] = mock.Mock(schema=None)
hook._extras = {"region_id": "cn-shanghai"}
generic = mock.Mock()
generic.call_api.return_value = {"body": {"Node": {"Id": "9", "TaskId": 7}}}
hook._clients["dataworks_openapi"] = generic
assert hook.get_data_studio_node(9, 1)["TaskId"] == 7
print(sorted(m for m in sys.modules if m.startswith("alibabacloud_dataworks")))
"""


def test_the_2024_getnode_probe_imports_no_dataworks_sdk():
    """auto's first probe on a legacy workspace must not pay the 2024-05-18 SDK's import (about 0.2 s)."""
    from tests.fresh_python import last_line

    assert last_line(PROBE_CHILD) == "[]"
