"""THE one credentials path: an ``alibabacloud_credentials`` client for every auth_type, and its oss2 adapter.

No SDK import at module level (DAG files importing operators must parse fast).
"""

from __future__ import annotations

from typing import Any, Callable

from airflow.providers.common.compat.sdk import AirflowException

AUTH_TYPES = ("access_key", "sts", "ram_role_arn", "ecs_ram_role", "oidc_role_arn", "default_chain")
# Fields each auth_type needs: (extra or connection attribute, where the user sets it).
_REQUIRED_FIELDS = {
    "access_key": ("login", "password"),
    "sts": ("login", "password", "security_token"),
    "ram_role_arn": ("login", "password", "role_arn"),
    "ecs_ram_role": (),
    "oidc_role_arn": ("role_arn", "oidc_provider_arn", "oidc_token_file_path"),
    "default_chain": (),
}
_FIELD_NAMES = {"login": "login (AccessKey ID)", "password": "password (AccessKey Secret)"}


def build_credential_client(conn_id: str, auth_type: str, field: Callable[[str], Any], extras: dict[str, Any]):
    """The credentials client for ``auth_type``; ``field(name)`` reads login, password or an extra."""
    from alibabacloud_credentials.client import Client
    from alibabacloud_credentials.models import Config

    missing = [_FIELD_NAMES.get(f, f) for f in _REQUIRED_FIELDS[auth_type] if not field(f)]
    if missing:
        raise AirflowException(f"Connection '{conn_id}' with auth_type '{auth_type}' is missing: {', '.join(missing)}")
    if auth_type == "default_chain":
        return Client()
    x = extras
    session = x.get("role_session_name") or f"airflow-{conn_id}"
    if auth_type == "access_key":
        config = Config(type="access_key", access_key_id=field("login"), access_key_secret=field("password"))
    elif auth_type == "sts":
        config = Config(type="sts", access_key_id=field("login"), access_key_secret=field("password"),
                        security_token=x["security_token"])
    elif auth_type == "ram_role_arn":
        config = Config(type="ram_role_arn", access_key_id=field("login"), access_key_secret=field("password"),
                        security_token=x.get("security_token"), role_arn=x["role_arn"], role_session_name=session)
    elif auth_type == "ecs_ram_role":
        config = Config(type="ecs_ram_role", role_name=x.get("ecs_ram_role_name"))
    else:  # oidc_role_arn
        config = Config(type="oidc_role_arn", role_arn=x["role_arn"], oidc_provider_arn=x["oidc_provider_arn"],
                        oidc_token_file_path=x["oidc_token_file_path"], role_session_name=session)
    return Client(config)


class OssCredentialsProvider:
    """oss2 credentials provider backed by the one alibabacloud-credentials client (every auth_type)."""

    def __init__(self, credential_client: Any):
        self._client = credential_client

    def get_credentials(self):
        return self._client.get_credential()  # CredentialModel has get_access_key_id/secret/security_token

    def __repr__(self) -> str:
        return "OssCredentialsProvider(<masked>)"
