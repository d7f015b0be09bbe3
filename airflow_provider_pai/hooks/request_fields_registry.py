"""The request-field spec's entries for PAI AI Workspace 2021-02-04 (``hooks/aiworkspace.py``, the
model registry): the same format as ``hooks/request_fields.py``, which merges them into ``REQUESTS``.

Defaults are the SDK docstrings' (``alibabacloud_aiworkspace20210204/models/``); plain data, no imports.
"""

from __future__ import annotations

AIW = "alibabacloud_aiworkspace20210204.models"
_NOT_FILTERED = "no filter -- the provider does not filter on it"

REGISTRY_REQUESTS: dict[str, dict] = {
    f"{AIW}:ListModelsRequest": {
        "action": "ListModels", "ram_action": "paiworkspace:ListModels", "hook": "AiWorkspaceHook.list_models",
        "example_policy": True,
        "sent": {"WorkspaceId": "workspace_id", "ModelName": "model_name (find_model checks the exact match)",
                 "PageNumber": "1, 2, ... until TotalCount", "PageSize": "100 (default 10)"},
        "omitted": {"Order": "ASC -- every page is read", "SortBy": "undocumented -- every page is read",
                    "Collections": _NOT_FILTERED, "Conditions": _NOT_FILTERED, "Conditions[].Column": _NOT_FILTERED,
                    "Conditions[].Operator": _NOT_FILTERED, "Conditions[].Value": _NOT_FILTERED,
                    "Domain": _NOT_FILTERED, "Label": _NOT_FILTERED, "ModelType": _NOT_FILTERED,
                    "Origin": _NOT_FILTERED, "Query": _NOT_FILTERED + " (fuzzy; ModelName is used)",
                    "Tag": _NOT_FILTERED, "Tag[].Key": _NOT_FILTERED, "Tag[].Value": _NOT_FILTERED,
                    "Task": _NOT_FILTERED,
                    "Provider": "none -- 'your own models are returned', which is what is wanted"},
        "response": f"{AIW}:ListModelsResponseBody",
        "reads": ["Models[].ModelName", "Models[].ModelId", "TotalCount"],
    },
    f"{AIW}:CreateModelRequest": {
        "action": "CreateModel", "ram_action": "paiworkspace:CreateModel", "hook": "AiWorkspaceHook.create_model",
        "example_policy": True,
        "sent": {"WorkspaceId": "workspace_id", "ModelName": "model_name",
                 "ModelDescription": "description when given"},
        "omitted": {"Accessibility": "PRIVATE -- visible to you and the workspace administrators",
                    "Domain": "none -- descriptive only", "ExtraInfo": "none", "ModelDoc": "none",
                    "ModelType": "none -- descriptive only", "OrderNumber": "none -- no custom sorting",
                    "Origin": "none -- an own model, not a community one", "ParameterSize": "none",
                    "Task": "none -- descriptive only", "Labels": "none -- deprecated (replaced by Tag)",
                    "Labels[].Key": "none", "Labels[].Value": "none", "Tag": "none -- lineage labels go on versions",
                    "Tag[].Key": "none", "Tag[].Value": "none"},
        "response": f"{AIW}:CreateModelResponseBody", "reads": ["ModelId"],
    },
    f"{AIW}:GetModelRequest": {
        "action": "GetModel", "ram_action": "paiworkspace:GetModel", "hook": "AiWorkspaceHook.get_model",
        "example_policy": "hook API only; no operator calls it", "sent": {}, "omitted": {},
        "response": f"{AIW}:GetModelResponseBody", "reads": ["ModelId", "ModelName"],
    },
    f"{AIW}:ListModelVersionsRequest": {
        "action": "ListModelVersions", "ram_action": "paiworkspace:ListModelVersions",
        "hook": "AiWorkspaceHook.list_model_versions", "example_policy": True,
        "sent": {"Order": "DESC (default ASC): newest first", "SortBy": "GmtCreateTime (the one documented field)",
                 "PageNumber": "1, 2, ... until TotalCount", "PageSize": "100 (default 10), or 1 for the latest",
                 "ApprovalStatus": "Approved for model_version='latest_approved'",
                 "Label": "the task instance's run label (a retry finds its own version)",
                 "VersionName": "version_name when given (the clash check)"},
        "omitted": {"FormatType": _NOT_FILTERED, "FrameworkType": _NOT_FILTERED,
                    "SourceId": _NOT_FILTERED, "SourceType": _NOT_FILTERED},
        "response": f"{AIW}:ListModelVersionsResponseBody",
        "reads": ["Versions[].VersionName", "Versions[].Uri", "Versions[].ApprovalStatus",
                  "Versions[].InferenceSpec", "Versions[].Labels[].Key", "Versions[].Labels[].Value", "TotalCount"],
    },
    f"{AIW}:GetModelVersionRequest": {
        "action": "GetModelVersion", "ram_action": "paiworkspace:GetModelVersion",
        "hook": "AiWorkspaceHook.get_model_version", "example_policy": True, "sent": {}, "omitted": {},
        "response": f"{AIW}:GetModelVersionResponseBody",
        "reads": ["VersionName", "Uri", "ApprovalStatus", "InferenceSpec", "Labels"],
    },
    f"{AIW}:CreateModelVersionRequest": {
        "action": "CreateModelVersion", "ram_action": "paiworkspace:CreateModelVersion",
        "hook": "AiWorkspaceHook.create_model_version", "example_policy": True,
        "sent": {"Uri": "model_uri as oss://<bucket>.<endpoint>/<path>", "ApprovalStatus": "approval_status (Pending)",
                 "Labels": "the run label, airflow-dag, dataworks-instance and the task's labels",
                 "Labels[].Key": "label key", "Labels[].Value": "label value",
                 "VersionName": "version_name when given (else PAI numbers it: 0.1.0, 0.2.0, ...)",
                 "InferenceSpec": "inference_spec when given", "Metrics": "metrics when given",
                 "FormatType": "format_type when given", "FrameworkType": "framework_type when given",
                 "VersionDescription": "description when given",
                 "SourceType": "source_type when a hook caller gives it (no operator does)",
                 "SourceId": "source_id when a hook caller gives it (no operator does)"},
        "omitted": {"TrainingSpec": "none -- not a fine-tuning source", "EvaluationSpec": "none",
                    "CompressionSpec": "none", "DistillationSpec": "none", "ExtraInfo": "none",
                    "Options": "none -- no extended fields"},
        "response": f"{AIW}:CreateModelVersionResponseBody", "reads": ["VersionName"],
    },
    f"{AIW}:UpdateModelVersionRequest": {
        "action": "UpdateModelVersion", "ram_action": "paiworkspace:UpdateModelVersion",
        "hook": "AiWorkspaceHook.update_approval", "example_policy": True,
        "sent": {"ApprovalStatus": "Pending, Approved or Rejected"},
        "omitted": {k: "none -- unchanged; the call changes the approval only" for k in (
            "CompressionSpec", "DistillationSpec", "EvaluationSpec", "ExtraInfo", "InferenceSpec", "Metrics",
            "Options", "SourceId", "SourceType", "TrainingSpec", "VersionDescription")},
        "response": f"{AIW}:UpdateModelVersionResponseBody", "reads": ["RequestId"],
    },
}
