"""Every field of every SDK request the provider builds: sent (with what) or omitted (default, why).

Plain data (the model registry's entries in ``hooks/request_fields_registry.py``, merged in
below), no SDK imports: ``scripts/gen_request_fields.py`` renders it with the INSTALLED SDK models
into ``docs/request-fields.md``, and ``tests/contracts/`` fail when a request model has a field in
neither list, when the page is stale, when the hooks build a request that is not here, when a
``reads`` path is not in the response model, or when ``docs/ram-policy.json`` lacks a needed action.

Keys: ``"<sdk module>:<request model class>"`` (nested fields as dotted paths, ``[]`` = each item
of a list); calls that take no request model (ROA path-only calls, oss2 methods) are keyed
``"<module>:<Class>.<method>"`` and list the method's parameters instead. Each entry:

- ``action`` / ``ram_action``: the API action and the RAM action that authorizes it.
- ``hook``: the hook method that builds it.
- ``sent``: ``{field: what the provider sends}``; ``omitted``: ``{field: "default -- why right"}``
  (the default as the SDK docstring states it, else "undocumented" and why omission is safe).
- ``response`` (optional): the response model (``module:Class``) and ``reads``: the field paths the
  provider reads from it.
- ``example_policy``: True when an example flow the documented policy covers calls it
  (``example_dags/pai_train_deploy.py`` including its failure path, the registry flows, the canary's
  traffic calls), so ``docs/ram-policy.json`` must grant ``ram_action``; else a string saying why
  the example policy leaves it out.

To add a request: copy an entry (key ``"<sdk>.models:<XxxRequest>"``), set ``sent``, run
``pytest tests/contracts``: it names each SDK field in neither list; put each in ``sent`` or
``omitted`` (the default from the SDK docstring shown on the page, and why it is right), then
``python scripts/gen_request_fields.py``. A call without a request model is keyed
``"<sdk>.client:Client.<method>"`` (its parameters are the fields); a generic ``call_api`` call
(e.g. EAS UpdateGroup) is keyed ``"alibabacloud_tea_openapi.client:Client.call_api#<Action>"`` and
lists the API reference's parameters itself in ``"fields"``, or names the SDK request model whose
fields it sends in ``"fields_model"`` (DataWorks 2024-05-18 GetNode). The DataWorks 2020-05-18 actions
are sent with ``call_api`` too (``DataWorksHook._call20``), with exactly their SDK request model's fields:
they keep the model's key (``generic_key``). A new hook file's SDK goes into
``HOOK_SDKS`` in ``tests/contracts/test_request_fields.py``.
"""

from __future__ import annotations

DW20 = "alibabacloud_dataworks_public20200518.models"
DW24 = "alibabacloud_dataworks_public20240518.models"
EAS = "alibabacloud_eas20210701.models"
EAS_CLIENT = "alibabacloud_eas20210701.client:Client"
OSS = "oss2:Bucket"
CALL_API = "alibabacloud_tea_openapi.client:Client.call_api"
UPDATE_GROUP_REF = "https://help.aliyun.com/zh/pai/developer-reference/api-eas-2021-07-01-updategroup"

_ENV = "project_env argument (PROD by default)"
_ENV24 = "project_env mapped to Prod/Dev (PROD -> Prod)"
_NOT_FILTERED = "no filter -- the provider does not filter on it"
_EXAMPLE_NO_2024 = "2024-05-18 path: covered by dataworks:* like every DataWorks action"

REQUESTS: dict[str, dict] = {
    # ---------------- DataWorks 2020-05-18 (hooks/dataworks.py) ----------------
    f"{DW20}:RunCycleDagNodesRequest": {
        "action": "RunCycleDagNodes", "ram_action": "dataworks:RunCycleDagNodes",
        "hook": "DataWorksHook.run_cycle_dag_nodes", "example_policy": True,
        "sent": {
            "Name": "the run name (task's run_name; found again by it after a lost answer)",
            "RootNodeId": "node_id", "IncludeNodeIds": "str(node_id): only this node",
            "StartBizDate": "bizdate as yyyy-MM-dd 00:00:00", "EndBizDate": "the same day",
            "Parallelism": "False (one date)", "ProjectEnv": _ENV,
            "NodeParams": "node_params as {\"<nodeId>\": \"k=v ...\"} JSON, omitted when None",
            "StartFutureInstanceImmediately": "True: a run whose time is ahead starts now (F-DW-FUTURE)",
        },
        "omitted": {
            "AlertNoticeType": "undocumented (no alert) -- Airflow reports failures itself",
            "AlertType": "undocumented (no alert) -- Airflow reports failures itself",
            "BizBeginTime": "none; 'required only for hourly scheduled nodes' -- RISK: an hourly node is not "
                            "supported by this call as built (daily Designer nodes are the use case)",
            "BizEndTime": "none; 'required only for hourly scheduled nodes' -- same risk as BizBeginTime",
            "ConcurrentRuns": "undocumented -- one business date, nothing runs concurrently",
            "ExcludeNodeIds": "none -- IncludeNodeIds already names the one node",
        },
        "response": f"{DW20}:RunCycleDagNodesResponseBody", "reads": ["Data", "Success", "RequestId"],
    },
    f"{DW20}:RunManualDagNodesRequest": {
        "action": "RunManualDagNodes", "ram_action": "dataworks:RunManualDagNodes",
        "hook": "DataWorksHook.run_manual_dag_nodes",
        "example_policy": "run_mode='manual' only; dataworks:* covers it",
        "sent": {
            "ProjectName": "project_name", "FlowName": "flow_name", "BizDate": "bizdate as yyyy-MM-dd 00:00:00",
            "ProjectEnv": _ENV, "IncludeNodeIds": "node_id when given", "NodeParameters": "node_params JSON when given",
            "ProjectId": "project_id when given",
        },
        "omitted": {
            "DagParameters": "none -- workflow-level parameters are not an operator input",
            "StartBizDate": "none -- BizDate is sent; the reference allows one of the two forms only",
            "EndBizDate": "none -- as StartBizDate",
            "ExcludeNodeIds": "none -- IncludeNodeIds or the whole flow",
        },
        "response": f"{DW20}:RunManualDagNodesResponseBody", "reads": ["DagId", "RequestId"],
    },
    f"{DW20}:GetNodeRequest": {
        "action": "GetNode", "ram_action": "dataworks:GetNode", "hook": "DataWorksHook.get_node",
        "example_policy": True,
        "sent": {"NodeId": "node_id", "ProjectEnv": _ENV}, "omitted": {},
        "response": f"{DW20}:GetNodeResponseBody",
        "reads": ["Data.NodeId", "Data.NodeName", "Data.ProgramType", "Data.FileType", "Data.ProjectId"],
    },
    f"{DW20}:GetDagRequest": {
        "action": "GetDag", "ram_action": "dataworks:GetDag", "hook": "DataWorksHook.get_dag",
        "example_policy": True,
        "sent": {"DagId": "dag_id", "ProjectEnv": _ENV}, "omitted": {},
        "response": f"{DW20}:GetDagResponseBody", "reads": ["Data.Name", "Data.DagId", "Data.Status"],
    },
    f"{DW20}:ListInstancesRequest": {
        "action": "ListInstances", "ram_action": "dataworks:ListInstances", "hook": "DataWorksHook.list_instances",
        "example_policy": True,
        "sent": {
            "ProjectId": "project_id", "ProjectEnv": _ENV, "DagId": "dag_id when given",
            "NodeId": "node_id when given", "Bizdate": "bizdate when given", "Status": "status when given",
            "PageNumber": "1, 2, ... until TotalCount", "PageSize": "100 (the maximum; default 10)",
        },
        "omitted": {
            "BeginBizdate": _NOT_FILTERED, "EndBizdate": _NOT_FILTERED, "BizName": _NOT_FILTERED,
            "NodeName": _NOT_FILTERED + " (ids are exact, names are not)", "Owner": _NOT_FILTERED,
            "ProgramType": _NOT_FILTERED,
            "OrderBy": "INSTANCE_ID_DESC -- the provider reads all pages and sorts itself where order matters",
        },
        "response": f"{DW20}:ListInstancesResponseBody",
        "reads": ["Data.Instances[].InstanceId", "Data.Instances[].NodeId", "Data.Instances[].Status",
                  "Data.Instances[].DagId", "Data.Instances[].DagType", "Data.Instances[].BeginRunningTime",
                  "Data.Instances[].FinishTime", "Data.TotalCount"],
    },
    f"{DW20}:GetInstanceRequest": {
        "action": "GetInstance", "ram_action": "dataworks:GetInstance", "hook": "DataWorksHook.get_instance",
        "example_policy": True,
        "sent": {"InstanceId": "instance_id", "ProjectEnv": _ENV}, "omitted": {},
        "response": f"{DW20}:GetInstanceResponseBody",
        "reads": ["Data.InstanceId", "Data.NodeId", "Data.NodeName", "Data.Status", "Data.TaskType",
                  "Data.DagId", "Data.DagType", "Data.Bizdate", "Data.BeginRunningTime", "Data.FinishTime",
                  "Data.ModifyTime", "Data.CreateTime", "Data.TaskRerunTime"],
    },
    f"{DW20}:GetInstanceLogRequest": {
        "action": "GetInstanceLog", "ram_action": "dataworks:GetInstanceLog",
        "hook": "DataWorksHook.get_instance_log", "example_policy": True,
        "sent": {"InstanceId": "instance_id", "ProjectEnv": _ENV},
        "omitted": {"InstanceHistoryId": "undocumented (the current run's log) -- the current run is the one waited on"},
        "response": f"{DW20}:GetInstanceLogResponseBody", "reads": ["Data"],
    },
    f"{DW20}:ListInstanceHistoryRequest": {
        "action": "ListInstanceHistory", "ram_action": "dataworks:ListInstanceHistory",
        "hook": "DataWorksHook.list_instance_history", "example_policy": "not called by an operator; dataworks:*",
        "sent": {"InstanceId": "instance_id", "ProjectEnv": _ENV + " (documented default PROD)"}, "omitted": {},
        "response": f"{DW20}:ListInstanceHistoryResponseBody", "reads": ["Instances", "Success"],
    },
    f"{DW20}:StopInstanceRequest": {
        "action": "StopInstance", "ram_action": "dataworks:StopInstance", "hook": "DataWorksHook.stop_instance",
        "example_policy": True,
        "sent": {"InstanceId": "instance_id", "ProjectEnv": _ENV}, "omitted": {},
        "response": f"{DW20}:StopInstanceResponseBody", "reads": ["Data", "Success"],
    },
    f"{DW20}:RestartInstanceRequest": {
        "action": "RestartInstance", "ram_action": "dataworks:RestartInstance",
        "hook": "DataWorksHook.restart_instance", "example_policy": "not called by an operator; dataworks:*",
        "sent": {"InstanceId": "instance_id", "ProjectEnv": _ENV}, "omitted": {},
        "response": f"{DW20}:RestartInstanceResponseBody", "reads": ["Data", "Success"],
    },
    f"{DW20}:ListProjectsRequest": {
        "action": "ListProjects", "ram_action": "dataworks:ListProjects", "hook": "DataWorksHook.test_connection",
        "example_policy": "connection test only; dataworks:*",
        "sent": {"PageNumber": "1", "PageSize": "1 (only TotalCount is read)"},
        "omitted": {"ResourceManagerResourceGroupId": _NOT_FILTERED, "Tags": _NOT_FILTERED,
                    "Tags[].Key": _NOT_FILTERED, "Tags[].Value": _NOT_FILTERED},
        "response": f"{DW20}:ListProjectsResponseBody", "reads": ["PageResult.TotalCount"],
    },
    # ---------------- DataWorks 2024-05-18 (hooks/dataworks_v2024.py) ----------------
    f"{DW24}:GetTaskRequest": {
        "action": "GetTask", "ram_action": "dataworks:GetTask", "hook": "DataWorksHook.get_task",
        "example_policy": _EXAMPLE_NO_2024,
        "sent": {"Id": "task_id", "ProjectEnv": _ENV24}, "omitted": {},
        "response": f"{DW24}:GetTaskResponseBody",
        "reads": ["Task.Id", "Task.Name", "Task.Type", "Task.ProjectId", "Task.WorkflowId"],
    },
    # Sent with call_api (no 2024-05-18 SDK import for auto's first probe), as the SDK's get_node builds it:
    # its fields are the SDK model's, so an SDK upgrade that adds one is still reported.
    f"{CALL_API}#GetNode": {
        "action": "GetNode", "ram_action": "dataworks:GetNode", "hook": "DataWorksHook.get_data_studio_node",
        "example_policy": _EXAMPLE_NO_2024, "fields_model": f"{DW24}:GetNodeRequest",
        "sent": {"Id": "node_id as a string (SDK >= 8.0.0)", "ProjectId": "project_id"}, "omitted": {},
        "response": f"{DW24}:GetNodeResponseBody",
        "reads": ["Node.Name", "Node.ProjectId", "Node.TaskId", "Node.Spec"],
    },
    f"{DW24}:CreateWorkflowInstancesRequest": {
        "action": "CreateWorkflowInstances", "ram_action": "dataworks:CreateWorkflowInstances",
        "hook": "DataWorksHook.create_workflow_instances", "example_policy": _EXAMPLE_NO_2024,
        "sent": {
            "ProjectId": "project_id", "Name": "the run name",
            "Type": "SupplementData (a backfill of a scheduled task), or ManualWorkflow (run_mode='manual')",
            "WorkflowId": "1 (the documented id of the scheduled-task workflow), or the task's manually "
                          "triggered workflow (GetTask.WorkflowId, F-DW24-19)", "EnvType": _ENV24,
            "TaskParameters": "node_params as {\"<taskId>\": \"k=v ...\"} JSON, omitted when None",
            "Comment": "started by Apache Airflow (airflow-provider-pai)",
            "Periods": "one period", "Periods.BizDates": "one range",
            "Periods.BizDates[].StartBizDate": "bizdate (yyyy-mm-dd)", "Periods.BizDates[].EndBizDate": "the same day",
            "DefaultRunProperties": "the run's properties",
            "DefaultRunProperties.Mode": "General (one root task; default ManualSelection); SupplementData only",
            "DefaultRunProperties.RootTaskIds": "[task_id]",
            "DefaultRunProperties.Parallelism": "1 (serial; required for SupplementData)",
            "DefaultRunProperties.Analysis": "analysis off (required for SupplementData)",
            "DefaultRunProperties.Analysis.Enabled": "False", "DefaultRunProperties.Analysis.Blocked": "False",
            # issue 22 item 1: without RunPolicy 'the task configuration is used' and Immediately defaults
            # to false, so a run whose time is ahead waited (hooks/dataworks_wire.py RUN_NOW_POLICY)
            "DefaultRunProperties.RunPolicy": "the run-now policy (RUN_NOW_POLICY)",
            "DefaultRunProperties.RunPolicy.Immediately": "True (default false): a run whose time is ahead starts now",
            "DefaultRunProperties.RunPolicy.Type": "Daily (required once RunPolicy is given)",
            "DefaultRunProperties.RunPolicy.StartTime": "00:00:00 (required once RunPolicy is given)",
            "DefaultRunProperties.RunPolicy.EndTime": "23:59:59 (required once RunPolicy is given)",
        },
        "omitted": {
            "AutoStartEnabled": "true -- the run must start when created",
            "Tags": "none -- no tags", "Tags[].Key": "none", "Tags[].Value": "none",
            "TagCreationPolicy": "undocumented -- no tags are sent",
            "WorkflowParameters": "none -- 'takes effect only when WorkflowId != 1'",
            "Periods.StartTime": "00:00:00 -- the whole business day",
            "Periods.EndTime": "23:59:59 -- the whole business day",
            "DefaultRunProperties.Alert": "none -- Airflow reports failures itself",
            "DefaultRunProperties.Alert.NoticeType": "none", "DefaultRunProperties.Alert.Type": "none",
            "DefaultRunProperties.DataSourceNameMappings": "none -- the task's own data sources",
            "DefaultRunProperties.ExcludeProjectIds": "none -- General mode runs the root task only",
            "DefaultRunProperties.ExcludeTaskIds": "none -- as ExcludeProjectIds",
            "DefaultRunProperties.IncludeProjectIds": "none -- as ExcludeProjectIds",
            "DefaultRunProperties.IncludeTaskIds": "none -- General mode: 'optional'; the root task alone",
            "DefaultRunProperties.Order": "Asc -- one business date",
            "DefaultRunProperties.Priority": "none -- 'supported only for manually triggered workflows'",
            "DefaultRunProperties.PriorityWeightStrategy": "Disable -- as Priority",
            "DefaultRunProperties.RuntimeResource": "the task configuration's resource group -- right",
        },
        "response": f"{DW24}:CreateWorkflowInstancesResponseBody", "reads": ["OperationId"],
    },
    f"{DW24}:GetCreateWorkflowInstancesResultRequest": {
        "action": "GetCreateWorkflowInstancesResult", "ram_action": "dataworks:GetCreateWorkflowInstancesResult",
        "hook": "DataWorksHook.get_create_workflow_instances_result", "example_policy": _EXAMPLE_NO_2024,
        "sent": {"OperationId": "CreateWorkflowInstances' OperationId"}, "omitted": {},
        "response": f"{DW24}:GetCreateWorkflowInstancesResultResponseBody",
        "reads": ["Result.Status", "Result.FailureMessage", "Result.WorkflowInstanceIds"],
    },
    f"{DW24}:ListWorkflowInstancesRequest": {
        "action": "ListWorkflowInstances", "ram_action": "dataworks:ListWorkflowInstances",
        "hook": "DataWorksHook.list_workflow_instances", "example_policy": _EXAMPLE_NO_2024,
        "sent": {"ProjectId": "project_id", "BizDate": "bizdate as epoch ms of 00:00 UTC+8",
                 "Name": "the run name (fuzzy on DataWorks: compared exactly afterwards)",
                 "Type": "SupplementData when finding a backfill", "EnvType": _ENV24,
                 "PageNumber": "1, 2, ... until TotalCount", "PageSize": "100 (default 10)"},
        "omitted": {"Filter": _NOT_FILTERED, "Ids": _NOT_FILTERED, "Owner": _NOT_FILTERED,
                    "SortBy": "undocumented -- all pages are read and the newest id is chosen",
                    "Tags": _NOT_FILTERED, "UnifiedWorkflowInstanceId": _NOT_FILTERED, "WorkflowId": _NOT_FILTERED},
        "response": f"{DW24}:ListWorkflowInstancesResponseBody",
        "reads": ["PagingInfo.WorkflowInstances[].Id", "PagingInfo.WorkflowInstances[].Name", "PagingInfo.TotalCount"],
    },
    f"{DW24}:ListTaskInstancesRequest": {
        "action": "ListTaskInstances", "ram_action": "dataworks:ListTaskInstances",
        "hook": "DataWorksHook.list_task_instances", "example_policy": _EXAMPLE_NO_2024,
        "sent": {"ProjectId": "project_id", "Bizdate": "bizdate as epoch ms of 00:00 UTC+8",
                 "TaskId": "task_id when given", "WorkflowInstanceId": "the run's workflow instance when given",
                 "Status": "status when given (Success for durations)", "ProjectEnv": _ENV24,
                 "PageNumber": "1, 2, ... until TotalCount", "PageSize": "500 (the maximum; default 10)"},
        "omitted": {"Filter": _NOT_FILTERED, "Id": _NOT_FILTERED, "Ids": _NOT_FILTERED, "Owner": _NOT_FILTERED,
                    "RuntimeResource": _NOT_FILTERED,
                    "SortBy": "undocumented -- every page is read; callers pick by id",
                    "TaskIds": _NOT_FILTERED + " (TaskId is used)", "TaskName": _NOT_FILTERED,
                    "TaskType": _NOT_FILTERED, "TriggerRecurrence": _NOT_FILTERED, "TriggerType": _NOT_FILTERED,
                    "UnifiedWorkflowInstanceId": _NOT_FILTERED, "WorkflowId": _NOT_FILTERED,
                    "WorkflowInstanceType": _NOT_FILTERED + " (the run's WorkflowInstanceId is exact)"},
        "response": f"{DW24}:ListTaskInstancesResponseBody",
        "reads": ["PagingInfo.TaskInstances[].Id", "PagingInfo.TaskInstances[].Status", "PagingInfo.TotalCount"],
    },
    f"{DW24}:GetTaskInstanceRequest": {
        "action": "GetTaskInstance", "ram_action": "dataworks:GetTaskInstance",
        "hook": "DataWorksHook.get_task_instance", "example_policy": _EXAMPLE_NO_2024,
        "sent": {"Id": "instance_id"}, "omitted": {},
        "response": f"{DW24}:GetTaskInstanceResponseBody",
        "reads": [f"TaskInstance.{k}" for k in (
            "Id", "TaskId", "TaskName", "WorkflowInstanceId", "WorkflowInstanceType", "Status", "Bizdate",
            "TriggerTime", "CreateTime", "ModifyTime", "WaitingTriggerTime", "WaitingResourceTime", "StartedTime",
            "FinishedTime", "TriggerRecurrence", "RunNumber", "ProjectId", "TaskType")],
    },
    f"{DW24}:GetTaskInstanceLogRequest": {
        "action": "GetTaskInstanceLog", "ram_action": "dataworks:GetTaskInstanceLog",
        "hook": "DataWorksHook.get_task_instance_log", "example_policy": _EXAMPLE_NO_2024,
        "sent": {"Id": "instance_id", "RunNumber": "run_number when given"}, "omitted": {},
        "response": f"{DW24}:GetTaskInstanceLogResponseBody", "reads": ["TaskInstanceLog"],
    },
    f"{DW24}:StopTaskInstancesRequest": {
        "action": "StopTaskInstances", "ram_action": "dataworks:StopTaskInstances",
        "hook": "DataWorksHook.stop_task_instances", "example_policy": _EXAMPLE_NO_2024,
        "sent": {"Ids": "[instance_id]", "Comment": "stopped by Apache Airflow (task killed)"}, "omitted": {},
        "response": f"{DW24}:StopTaskInstancesResponseBody", "reads": ["SuccessInfo"],
    },
    f"{DW24}:RerunTaskInstancesRequest": {
        "action": "RerunTaskInstances", "ram_action": "dataworks:RerunTaskInstances",
        "hook": "DataWorksHook.rerun_task_instances", "example_policy": "not called by an operator; dataworks:*",
        "sent": {"Ids": "instance_ids"},
        "omitted": {"Comment": "none -- free text",
                    "UseLatestConfig": "undocumented -- RISK if an operator starts using it: say which config"},
        "response": f"{DW24}:RerunTaskInstancesResponseBody", "reads": ["SuccessInfo"],
    },
    # ---------------- PAI-EAS 2021-07-01 (hooks/eas.py); ClusterId = region_id ----------------
    f"{EAS}:CreateServiceRequest": {
        "action": "CreateService", "ram_action": "eas:CreateService", "hook": "EasHook.create_service",
        "example_policy": "EasCreateServiceOperator only (the example modifies an existing service)",
        "sent": {"body": "service_config as JSON"},
        "omitted": {"Develop": "undocumented (false) -- a production service, not development mode",
                    "Labels": "none -- labels belong in service_config.labels if wanted",
                    "WorkspaceId": "none -- the service is not bound to a PAI workspace"},
        "response": f"{EAS}:CreateServiceResponseBody", "reads": ["ServiceName", "Status", "RequestId"],
    },
    f"{EAS}:UpdateServiceRequest": {
        "action": "UpdateService", "ram_action": "eas:UpdateService", "hook": "EasHook.update_service",
        "example_policy": True,
        "sent": {"body": "service_config as JSON", "UpdateType": "update_type (merge by default, sent explicitly)"},
        "omitted": {}, "response": f"{EAS}:UpdateServiceResponseBody", "reads": ["RequestId"],
    },
    f"{EAS}:ListServicesRequest": {
        "action": "ListServices", "ram_action": "eas:ListServices", "hook": "EasHook.list_services",
        "example_policy": "connection test and canary group members only",
        "sent": {"PageNumber": "1, 2, ... until TotalCount", "PageSize": "page_size (100, the default)",
                 "GroupName": "a canary's group when listing members (passed through **filters)"},
        "omitted": {k: _NOT_FILTERED + " (callers may pass it as a filter)" for k in (
            "Filter", "Gateway", "Label", "ParentServiceUid", "QuotaId", "ResourceName", "ResourceType", "Role",
            "ServiceName", "ServiceStatus", "ServiceType", "ServiceUid", "WorkspaceId")}
        | {"Order": "desc -- every page is read", "Sort": "timestamp -- every page is read"},
        "response": f"{EAS}:ListServicesResponseBody",
        "reads": ["Services[].ServiceName", "Services[].ServiceGroup", "Services[].Weight",
                  "Services[].TrafficState", "TotalCount"],
    },
    f"{EAS}:ListServiceVersionsRequest": {
        "action": "ListServiceVersions", "ram_action": "eas:ListServiceVersions",
        "hook": "EasHook.list_service_versions",
        "example_policy": "EasRollbackOperator to a named version only; the example rolls back to the previous",
        "sent": {"PageNumber": "1, 2, ... until TotalCount", "PageSize": "100 (the default)"}, "omitted": {},
        "response": f"{EAS}:ListServiceVersionsResponseBody", "reads": ["Versions", "TotalCount"],
    },
    f"{EAS}:UpdateServiceVersionRequest": {
        "action": "UpdateServiceVersion", "ram_action": "eas:UpdateServiceVersion",
        "hook": "EasHook.update_service_version", "example_policy": True,
        "sent": {"Version": "the version to roll back to"}, "omitted": {},
        "response": f"{EAS}:UpdateServiceVersionResponseBody", "reads": ["RequestId"],
    },
    f"{EAS}:DescribeServiceEventRequest": {
        "action": "DescribeServiceEvent", "ram_action": "eas:DescribeServiceEvent",
        "hook": "EasHook.describe_service_events", "example_policy": True,
        "sent": {"EventType": "Warning when looking for the cause of a failure, else none",
                 "PageNum": "1, 2, ... until TotalPageNum", "PageSize": "100 (the default)"},
        "omitted": {"StartTime": "seven days ago -- CAUTION: older Warning events of earlier updates are "
                                 "returned too; the waits compare event Time with the update's start",
                    "EndTime": "now -- right", "InstanceName": _NOT_FILTERED + " (all instances)"},
        "response": f"{EAS}:DescribeServiceEventResponseBody",
        "reads": ["Events[].Time", "Events[].Type", "Events[].Reason", "Events[].Message", "TotalPageNum"],
    },
    f"{EAS}:ListServiceInstancesRequest": {
        "action": "ListServiceInstances", "ram_action": "eas:ListServiceInstances",
        "hook": "EasHook.list_service_instances", "example_policy": True,
        "sent": {"PageNumber": "1, 2, ... until TotalCount", "PageSize": "100 (the default)"},
        "omitted": {k: _NOT_FILTERED + " (all instances are evidence)" for k in (
            "Filter", "HostIP", "InstanceIP", "InstanceName", "InstanceStatus", "InstanceType", "IsSpot",
            "ResourceType", "Role")} | {"Order": "undocumented -- every page is read", "Sort": "undocumented -- as Order"},
        "response": f"{EAS}:ListServiceInstancesResponseBody",
        "reads": ["Instances[].Status", "Instances[].ReadyProcesses", "Instances[].TotalProcesses",
                  "Instances[].RestartCount", "Instances[].Reason", "Instances[].InstanceName", "TotalCount"],
    },
    f"{EAS}:ReleaseServiceRequest": {
        "action": "ReleaseService", "ram_action": "eas:ReleaseService", "hook": "EasHook.release_service",
        "example_policy": True,
        "sent": {"Weight": "the canary's or production's weight when given",
                 "TrafficState": "standalone/grouping when given"}, "omitted": {},
        "response": f"{EAS}:ReleaseServiceResponseBody", "reads": ["RequestId"],
    },
    # ---- ROA calls with path parameters only (no request model) ----
    f"{EAS_CLIENT}.describe_service": {
        "action": "DescribeService", "ram_action": "eas:DescribeService", "hook": "EasHook.describe_service",
        "example_policy": True, "sent": {"cluster_id": "region_id", "service_name": "service_name"}, "omitted": {},
        "response": f"{EAS}:Service",
        "reads": ["Status", "CurrentVersion", "LatestVersion", "RunningInstance", "TotalInstance", "ServiceName",
                  "ServiceConfig", "ServiceGroup", "Weight", "TrafficState", "AccessToken", "InternetEndpoint",
                  "IntranetEndpoint", "Message", "Reason", "UpdateTime", "RequestId"],
    },
    f"{EAS_CLIENT}.describe_group": {
        "action": "DescribeGroup", "ram_action": "eas:DescribeGroup", "hook": "EasHook.describe_group",
        "example_policy": True,
        "sent": {"cluster_id": "region_id", "group_name": "the canary's group"}, "omitted": {},
        "response": f"{EAS}:Group",
        "reads": ["AccessToken", "InternetEndpoint", "IntranetEndpoint", "Name", "TrafficMode"],
    },
    # ---- a generic ROA call (SDK 7.0.0 has no method or model for it): fields from the API reference ----
    f"{CALL_API}#UpdateGroup": {
        "action": "UpdateGroup", "ram_action": "eas:UpdateGroup", "hook": "EasHook.update_group_traffic_mode",
        "example_policy": True,
        "fields": {"ClusterId": f"path: the region id ({UPDATE_GROUP_REF})", "GroupName": "path: the group name",
                   "TrafficMode": "body: auto or customized", "Network.VpcId": "body: VPC id",
                   "Network.VSwitchId": "body: vSwitch id", "Network.SecurityGroupId": "body: security group id",
                   "Network.GatewayId": "body: dedicated gateway id", "Labels": "body: user labels {key: value}"},
        "sent": {"ClusterId": "region_id", "GroupName": "the canary's group",
                 "TrafficMode": "customized (or auto back) when switch_traffic_mode=True"},
        "omitted": {k: "none -- unchanged; this call changes the traffic mode and nothing else" for k in (
            "Network.VpcId", "Network.VSwitchId", "Network.SecurityGroupId", "Network.GatewayId", "Labels")},
    },
    f"{EAS_CLIENT}.start_service": {
        "action": "StartService", "ram_action": "eas:StartService", "hook": "EasHook.start_service",
        "example_policy": "not called by an operator",
        "sent": {"cluster_id": "region_id", "service_name": "service_name"}, "omitted": {},
    },
    f"{EAS_CLIENT}.stop_service": {
        "action": "StopService", "ram_action": "eas:StopService", "hook": "EasHook.stop_service",
        "example_policy": "canary retire only",
        "sent": {"cluster_id": "region_id", "service_name": "service_name"}, "omitted": {},
    },
    f"{EAS_CLIENT}.delete_service": {
        "action": "DeleteService", "ram_action": "eas:DeleteService", "hook": "EasHook.delete_service",
        "example_policy": "canary retire only",
        "sent": {"cluster_id": "region_id", "service_name": "service_name"}, "omitted": {},
    },
    # ---------------- OSS through oss2 (hooks/oss.py): the method's parameters ----------------
    f"{OSS}.head_object": {
        "action": "HeadObject", "ram_action": "oss:GetObject", "example_policy": True,
        "hook": "OssHook.head_object (export manifest; the deploy's check of a model path that names a file)",
        "sent": {"key": "the object key"},
        "omitted": {"headers": "none -- no conditional headers", "params": "none -- the current version"},
        "response": "oss2.models:HeadObjectResult",
        "reads": ["content_length", "etag", "headers", "content_type", "last_modified"],
    },
    f"{OSS}.object_exists": {
        "action": "ObjectExists (GetObjectMeta)", "ram_action": "oss:GetObject", "hook": "OssHook.object_exists",
        "example_policy": True, "sent": {"key": "the object key"}, "omitted": {"headers": "none"},
    },
    f"{OSS}.get_object": {
        "action": "GetObject", "ram_action": "oss:GetObject", "hook": "OssHook.get_object", "example_policy": True,
        "sent": {"key": "the object key"},
        "omitted": {"byte_range": "none -- the whole object", "headers": "none", "progress_callback": "none",
                    "process": "none -- no image/video processing", "params": "none -- the current version"},
    },
    f"{OSS}.list_objects_v2": {
        "action": "ListObjectsV2", "ram_action": "oss:ListObjects",
        "hook": "OssHook.list_objects (ObjectIteratorV2), OssHook.first_objects (the deploy's model-path check)",
        "example_policy": True,
        "sent": {"prefix": "the prefix", "continuation_token": "the previous page's token (the iterator)",
                 "max_keys": "100 (ObjectIteratorV2's default); OssHook.first_objects sends 1 (is anything there?)"},
        "omitted": {"delimiter": "none -- every object under the prefix, recursively",
                    "start_after": "none", "fetch_owner": "false -- the owner is not read",
                    "encoding_type": "url (oss2 decodes it)", "headers": "none"},
    },
    f"{OSS}.put_object": {
        "action": "PutObject", "ram_action": "oss:PutObject", "hook": "OssHook.put_object", "example_policy": True,
        "sent": {"key": "the object key", "data": "the bytes", "headers": "Content-Type when content_type is given"},
        "omitted": {"progress_callback": "none"},
        "response": "oss2.models:PutObjectResult", "reads": ["etag", "headers"],
    },
    f"{OSS}.copy_object": {
        "action": "CopyObject", "ram_action": "oss:PutObject", "hook": "OssHook.copy_object", "example_policy": True,
        "sent": {"source_bucket_name": "the source bucket", "source_key": "the source key", "target_key": "the key"},
        "omitted": {"headers": "none -- metadata is copied (x-oss-metadata-directive COPY)",
                    "params": "none -- the source's current version"},
        "response": "oss2.models:PutObjectResult", "reads": ["etag", "headers"],
    },
    f"{OSS}.init_multipart_upload": {
        "action": "InitiateMultipartUpload", "ram_action": "oss:PutObject", "hook": "OssHook.multipart_copy",
        "example_policy": True, "sent": {"key": "the destination key"},
        "omitted": {"headers": "none", "params": "none"},
        "response": "oss2.models:InitMultipartUploadResult", "reads": ["upload_id"],
    },
    f"{OSS}.upload_part_copy": {
        "action": "UploadPartCopy", "ram_action": "oss:PutObject", "hook": "OssHook.multipart_copy",
        "example_policy": True,
        "sent": {"source_bucket_name": "the source bucket", "source_key": "the source key",
                 "byte_range": "(first, last) byte of the part", "target_key": "the destination key",
                 "target_upload_id": "the upload id", "target_part_number": "1, 2, ..."},
        "omitted": {"headers": "none", "params": "none -- the source's current version"},
        "response": "oss2.models:PutObjectResult", "reads": ["etag"],
    },
    f"{OSS}.complete_multipart_upload": {
        "action": "CompleteMultipartUpload", "ram_action": "oss:PutObject", "hook": "OssHook.multipart_copy",
        "example_policy": True, "sent": {"key": "the destination key", "upload_id": "the upload id",
                                         "parts": "every part's number and ETag"},
        "omitted": {"headers": "none"}, "response": "oss2.models:PutObjectResult", "reads": ["etag", "headers"],
    },
    f"{OSS}.abort_multipart_upload": {
        "action": "AbortMultipartUpload", "ram_action": "oss:AbortMultipartUpload", "hook": "OssHook.multipart_copy",
        "example_policy": True, "sent": {"key": "the destination key", "upload_id": "the upload id"},
        "omitted": {"headers": "none"},
    },
    f"{OSS}.delete_object": {
        "action": "DeleteObject", "ram_action": "oss:DeleteObject", "hook": "OssHook.delete_object",
        "example_policy": True, "sent": {"key": "the object key"},
        "omitted": {"params": "none -- the current version", "headers": "none"},
    },
    f"{OSS}.get_bucket_info": {
        "action": "GetBucketInfo", "ram_action": "oss:GetBucketInfo", "hook": "OssHook.test_connection",
        "example_policy": "connection test only", "sent": {}, "omitted": {},
    },
    "oss2:Service.list_buckets": {
        "action": "ListBuckets", "ram_action": "oss:ListBuckets", "hook": "OssHook.test_connection",
        "example_policy": "connection test only", "sent": {},
        "omitted": {"prefix": "'' -- any bucket", "marker": "'' -- first page", "max_keys": "100 -- only the count "
                    "of the first page is shown", "params": "none", "headers": "none"},
    },
}

# The model registry's entries live in their own module to keep this one readable; same format.
from airflow_provider_pai.hooks.request_fields_registry import REGISTRY_REQUESTS  # noqa: E402

REQUESTS.update(REGISTRY_REQUESTS)


def generic_key(action: str, version: str) -> str:
    """The spec key of a generic ``call_api`` call: a DataWorks 2020-05-18 action's is its SDK request
    model's (the hook sends that model's fields), any other's ``call_api#<Action>``."""
    modelled = f"{DW20}:{action}Request"
    return modelled if version == "2020-05-18" and modelled in REQUESTS else f"{CALL_API}#{action}"
