"""What Airflow discovers about this provider (entry point ``apache_airflow_provider``).

The connection form is declarative (``conn-fields``/``ui-field-behaviour``, Airflow 3.2+): Airflow reads
it without importing the hook. The legacy form methods of the connection type's hook
(``hooks/connection.py``) are built from the same tables.
"""

from __future__ import annotations

from typing import Any

_STR = ["string", "null"]
_BOOL = ["boolean", "null"]

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "region_id": {
        "label": "Region ID",
        "description": "Required. The region of DataWorks, PAI-EAS and OSS, e.g. cn-shanghai.",
        "schema": {"type": "string", "minLength": 1, "pattern": "^[a-z]+(-[a-z0-9]+)+$"},
    },
    "auth_type": {
        "label": "Auth type",
        "description": "access_key (login/password), sts (+ security_token), ram_role_arn (+ role_arn), "
        "ecs_ram_role, oidc_role_arn or default_chain (environment, profile, instance role).",
        "schema": {
            "type": _STR,
            "default": "access_key",
            "enum": ["access_key", "sts", "ram_role_arn", "ecs_ram_role", "oidc_role_arn", "default_chain"],
        },
    },
    "security_token": {
        "label": "STS security token",
        "description": "For auth_type sts (optional for ram_role_arn when the AccessKey is itself temporary).",
        "schema": {"type": _STR, "format": "password"},
    },
    "role_arn": {
        "label": "RAM role ARN",
        "description": "For ram_role_arn and oidc_role_arn: acs:ram::<account>:role/<name>.",
        "schema": {"type": _STR},
    },
    "role_session_name": {
        "label": "Role session name",
        "description": "For ram_role_arn and oidc_role_arn; default airflow-<conn id>.",
        "schema": {"type": _STR},
    },
    "ecs_ram_role_name": {
        "label": "ECS RAM role name",
        "description": "For ecs_ram_role; empty to let the instance metadata service name it.",
        "schema": {"type": _STR},
    },
    "oidc_provider_arn": {"label": "OIDC provider ARN", "description": "For oidc_role_arn.", "schema": {"type": _STR}},
    "oidc_token_file_path": {
        "label": "OIDC token file path",
        "description": "For oidc_role_arn (e.g. the ACK RRSA token file).",
        "schema": {"type": _STR},
    },
    "dataworks_endpoint": {
        "label": "DataWorks endpoint",
        "description": "Override: host[:port] or URL (a URL's scheme overrides protocol).",
        "schema": {"type": _STR},
    },
    "eas_endpoint": {
        "label": "PAI-EAS endpoint",
        "description": "Override: host[:port] or URL. Needed for regions without a known default.",
        "schema": {"type": _STR},
    },
    "oss_endpoint": {
        "label": "OSS endpoint",
        "description": "Override: host[:port] or URL, e.g. http://127.0.0.1:8765 for the emulator.",
        "schema": {"type": _STR},
    },
    "oss_internal": {
        "label": "OSS internal (VPC) endpoint",
        "description": "Use oss-<region>-internal.aliyuncs.com (workers inside the region's VPC).",
        "schema": {"type": _BOOL, "default": False},
    },
    "test_bucket": {
        "label": "Bucket for the connection test",
        "description": "Test the connection with GetBucketInfo on this bucket instead of ListBuckets.",
        "schema": {"type": _STR},
    },
    "protocol": {
        "label": "Protocol",
        "description": "https (default) or http, for endpoints given without a scheme.",
        "schema": {"type": _STR, "default": "https", "enum": ["https", "http"]},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": {"login": "AccessKey ID", "password": "AccessKey Secret"},
    "placeholders": {
        "login": "LTAI... (empty for ecs_ram_role, oidc_role_arn, default_chain)",
        "password": "AccessKey Secret",
        "region_id": "cn-shanghai",
        "auth_type": "access_key",
        "role_arn": "acs:ram::123456789012:role/airflow",
        "dataworks_endpoint": "dataworks.cn-shanghai.aliyuncs.com",
        "eas_endpoint": "pai-eas.cn-shanghai.aliyuncs.com",
        "oss_endpoint": "oss-cn-shanghai.aliyuncs.com",
    },
}

_INTEGRATIONS = ("DataWorks", "PAI-EAS", "OSS")


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-pai",
        "name": "Alibaba Cloud PAI",
        "description": "Alibaba Cloud PAI: PAI Designer runs scheduled by DataWorks, model export to OSS, "
        "PAI-EAS deployment and rollback.",
        "integrations": [
            {
                "integration-name": "DataWorks",
                "external-doc-url": "https://www.alibabacloud.com/help/en/dataworks/",
                "tags": ["alibaba"],
            },
            {
                "integration-name": "PAI-EAS",
                "external-doc-url": "https://www.alibabacloud.com/help/en/pai/user-guide/eas-model-serving/",
                "tags": ["alibaba"],
            },
            {
                "integration-name": "OSS",
                "external-doc-url": "https://www.alibabacloud.com/help/en/oss/",
                "tags": ["alibaba"],
            },
        ],
        "hooks": [
            {"integration-name": "DataWorks", "python-modules": ["airflow_provider_pai.hooks.dataworks"]},
            {"integration-name": "PAI-EAS", "python-modules": ["airflow_provider_pai.hooks.eas"]},
            {"integration-name": "OSS", "python-modules": ["airflow_provider_pai.hooks.oss"]},
        ],
        "operators": [
            {"integration-name": "DataWorks", "python-modules": ["airflow_provider_pai.operators.dataworks"]},
            {"integration-name": "OSS", "python-modules": ["airflow_provider_pai.operators.oss"]},
            {"integration-name": "PAI-EAS", "python-modules": ["airflow_provider_pai.operators.eas"]},
        ],
        "sensors": [
            {"integration-name": "DataWorks", "python-modules": ["airflow_provider_pai.sensors.dataworks"]},
            {"integration-name": "PAI-EAS", "python-modules": ["airflow_provider_pai.sensors.eas"]},
        ],
        "triggers": [
            {"integration-name": "DataWorks", "python-modules": ["airflow_provider_pai.triggers.dataworks"]},
            {"integration-name": "PAI-EAS", "python-modules": ["airflow_provider_pai.triggers.eas"]},
        ],
        "extra-links": [
            "airflow_provider_pai.links.dataworks.DataWorksInstanceLink",
            "airflow_provider_pai.links.eas.EasServiceLink",
        ],
        "connection-types": [
            {
                "connection-type": "alibaba_cloud_pai",
                "hook-class-name": "airflow_provider_pai.hooks.connection.PaiConnectionHook",
                "hook-name": "Alibaba Cloud PAI",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
