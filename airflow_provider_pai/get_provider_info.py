"""What Airflow discovers about this provider (entry point ``apache_airflow_provider``).

The connection form is declarative (``conn-fields``/``ui-field-behaviour``, Airflow 3.2+): Airflow reads
it without importing the hook. The legacy form methods of the connection type's hook
(``hooks/connection.py``) are built from the same tables.
"""

from __future__ import annotations

from typing import Any

_STR = ["string", "null"]
# Sections group the extras in the Airflow 3 form (collapsible); fields without one come first, so a
# user with an AccessKey sees what they need (region, then the optional choices) before the rest.
_ROLES = "Temporary credentials and roles (auth types other than access_key)"
_NETWORK = "Endpoints and network (optional)"
_REGIONS = ["cn-shanghai", "cn-beijing", "cn-hangzhou", "cn-shenzhen", "cn-zhangjiakou", "cn-chengdu",
            "cn-hongkong", "ap-southeast-1", "ap-southeast-5", "ap-south-1", "eu-central-1", "us-east-1",
            "us-west-1"]

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "region_id": {
        "label": "Region ID",
        "description": "Required: the region of DataWorks, PAI-EAS and OSS, e.g. cn-shanghai.",
        # Not declared required to the form: a required empty field turns the form red before the user
        # typed anything. The hook refuses a missing or malformed region_id with a clear error.
        "schema": {"type": _STR, "pattern": "^[a-z]+(-[a-z0-9]+)+$", "examples": _REGIONS},
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
    "endpoint_type": {
        "label": "Network",
        "description": "public (default) or vpc: workers inside Alibaba Cloud reach DataWorks, PAI-EAS "
        "(API and model calls) and OSS over the region's VPC endpoints.",
        "schema": {"type": _STR, "default": "public", "enum": ["public", "vpc"]},
    },
    "dataworks_api_version": {
        "label": "DataWorks API version",
        "description": "auto (default): 2024-05-18 for new Data Studio workspaces, else 2020-05-18.",
        "schema": {"type": _STR, "default": "auto", "enum": ["auto", "2020-05-18", "2024-05-18"]},
    },
    "security_token": {
        "label": "STS security token",
        "description": "For auth_type sts (optional for ram_role_arn when the AccessKey is itself temporary).",
        "schema": {"type": _STR, "format": "password", "section": _ROLES},
    },
    "role_arn": {
        "label": "RAM role ARN",
        "description": "For ram_role_arn and oidc_role_arn: acs:ram::<account>:role/<name>.",
        "schema": {"type": _STR, "section": _ROLES, "examples": ["acs:ram::123456789012:role/airflow"]},
    },
    "role_session_name": {
        "label": "Role session name",
        "description": "For ram_role_arn and oidc_role_arn; default airflow-<conn id>.",
        "schema": {"type": _STR, "section": _ROLES},
    },
    "ecs_ram_role_name": {
        "label": "ECS RAM role name",
        "description": "For ecs_ram_role; empty to let the instance metadata service name it.",
        "schema": {"type": _STR, "section": _ROLES},
    },
    "oidc_provider_arn": {
        "label": "OIDC provider ARN",
        "description": "For oidc_role_arn.",
        "schema": {"type": _STR, "section": _ROLES},
    },
    "oidc_token_file_path": {
        "label": "OIDC token file path",
        "description": "For oidc_role_arn (e.g. the ACK RRSA token file).",
        "schema": {"type": _STR, "section": _ROLES},
    },
    "dataworks_endpoint": {
        "label": "DataWorks endpoint",
        "description": "e.g. dataworks-vpc.cn-shanghai.aliyuncs.com or https://host:port: host[:port] or a URL without "
        "a path (its scheme overrides protocol). Empty: the region's endpoint.",
        "schema": {"type": _STR, "section": _NETWORK},
    },
    "eas_endpoint": {
        "label": "PAI-EAS endpoint",
        "description": "e.g. pai-eas-vpc.cn-shanghai.aliyuncs.com or https://host:port: host[:port] or a URL "
        "without a path. Empty: the region's endpoint.",
        "schema": {"type": _STR, "section": _NETWORK},
    },
    "aiworkspace_endpoint": {
        "label": "PAI AI Workspace endpoint",
        "description": "Override for the model registry API: host[:port] or http(s)://host[:port], no path.",
        "schema": {"type": _STR, "section": _NETWORK, "examples": ["aiworkspace.cn-shanghai.aliyuncs.com"]},
    },
    "oss_endpoint": {
        "label": "OSS endpoint",
        "description": "e.g. oss-cn-shanghai-internal.aliyuncs.com or http://127.0.0.1:8765 (the emulator): host[:port] "
        "or a URL without a path. Empty: the region's endpoint.",
        "schema": {"type": _STR, "section": _NETWORK},
    },
    "dataworks_endpoint_type": {
        "label": "DataWorks network",
        "description": "public or vpc for DataWorks only (overrides Network).",
        "schema": {"type": _STR, "section": _NETWORK, "examples": ["public", "vpc"]},
    },
    "eas_endpoint_type": {
        "label": "PAI-EAS network",
        "description": "public or vpc for PAI-EAS only (its API and the model's IntranetEndpoint).",
        "schema": {"type": _STR, "section": _NETWORK, "examples": ["public", "vpc"]},
    },
    "oss_endpoint_type": {
        "label": "OSS network",
        "description": "public or vpc (oss-<region>-internal.aliyuncs.com) for OSS only.",
        "schema": {"type": _STR, "section": _NETWORK, "examples": ["public", "vpc"]},
    },
    "protocol": {
        "label": "Protocol",
        "description": "https (default) or http, for endpoints given without a scheme.",
        "schema": {"type": _STR, "default": "https", "enum": ["https", "http"], "section": _NETWORK},
    },
    "test_bucket": {
        "label": "Bucket for the connection test",
        "description": "Test the connection with GetBucketInfo on this bucket instead of ListBuckets.",
        "schema": {"type": _STR, "section": _NETWORK},
    },
}

# Airflow 3.3's form opens only its "Standard Fields" group, and draws no placeholder for a
# provider's extra field (only "Start typing to see options" when it has examples). So the
# region, which every connection needs, is the standard Schema field relabelled "Region ID"
# (read by the hook when the region_id extra is absent), shown beside the keys with a
# placeholder; and Port is shown: 3.3.2's Test button refuses a connection stored without one
# (apache/airflow#73298, fixed after 3.3.2).
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host"],
    "relabeling": {"login": "AccessKey ID", "password": "AccessKey Secret", "schema": "Region ID",
                   "port": "Port (any, for the Test button)"},
    "placeholders": {
        "login": "LTAI... (empty for ecs_ram_role, oidc_role_arn, default_chain)",
        "password": "AccessKey Secret",
        "schema": "cn-shanghai (required: the region of DataWorks, PAI-EAS and OSS)",
        "port": "443 (not used to connect; Airflow 3.3's Test button needs a port)",
        "region_id": "cn-shanghai",
        "role_arn": "acs:ram::123456789012:role/airflow",
        "dataworks_endpoint": "dataworks.cn-shanghai.aliyuncs.com",
        "eas_endpoint": "pai-eas.cn-shanghai.aliyuncs.com",
        "oss_endpoint": "oss-cn-shanghai.aliyuncs.com",
    },
}

# The extras the form shows: all but region_id, which the form takes beside the keys (Schema,
# relabelled). The extra region_id stays valid (JSON, URI and environment connections use it).
FORM_FIELDS: dict[str, dict[str, Any]] = {name: spec for name, spec in CONN_FIELDS.items() if name != "region_id"}


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
            {
                "integration-name": "PAI AI Workspace",
                "external-doc-url": "https://www.alibabacloud.com/help/en/pai/developer-reference/api-aiworkspace-2021-02-04-overview",
                "tags": ["alibaba"],
            },
        ],
        "hooks": [
            {"integration-name": "DataWorks", "python-modules": ["airflow_provider_pai.hooks.dataworks"]},
            {"integration-name": "PAI-EAS", "python-modules": ["airflow_provider_pai.hooks.eas"]},
            {"integration-name": "OSS", "python-modules": ["airflow_provider_pai.hooks.oss"]},
            {"integration-name": "PAI AI Workspace", "python-modules": ["airflow_provider_pai.hooks.aiworkspace"]},
        ],
        "operators": [
            {"integration-name": "DataWorks", "python-modules": ["airflow_provider_pai.operators.dataworks"]},
            {"integration-name": "OSS", "python-modules": ["airflow_provider_pai.operators.oss"]},
            {"integration-name": "PAI-EAS", "python-modules": ["airflow_provider_pai.operators.eas"]},
            {"integration-name": "PAI AI Workspace", "python-modules": ["airflow_provider_pai.operators.registry"]},
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
            "airflow_provider_pai.links.oss.OssObjectLink",
            "airflow_provider_pai.links.registry.PaiModelVersionLink",
        ],
        "connection-types": [
            {
                "connection-type": "alibaba_cloud_pai",
                "hook-class-name": "airflow_provider_pai.hooks.connection.PaiConnectionHook",
                "hook-name": "Alibaba Cloud PAI",
                "conn-fields": FORM_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
