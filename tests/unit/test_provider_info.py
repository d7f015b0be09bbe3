"""Provider registration: schema-valid provider info, discovery by the real `airflow` CLI, the connection type."""

from __future__ import annotations

import json
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_pai.get_provider_info import get_provider_info

SCHEMA_DIR = Path(airflow.__file__).parent


def test_provider_info_matches_airflow_schema():
    info = get_provider_info()
    jsonschema.validate(info, json.loads((SCHEMA_DIR / "provider_info.schema.json").read_text()))
    # The declarative connection form is checked against provider.yaml's stricter definition.
    yaml_schema = json.loads((SCHEMA_DIR / "provider.yaml.schema.json").read_text())
    jsonschema.validate(info["connection-types"], yaml_schema["properties"]["connection-types"])
    assert info["package-name"] == "airflow-provider-pai"


def test_connection_type_and_form():
    (conn,) = get_provider_info()["connection-types"]
    assert conn["connection-type"] == "alibaba_cloud_pai"
    assert conn["hook-class-name"] == "airflow_provider_pai.hooks.connection.PaiConnectionHook"
    fields = conn["conn-fields"]
    # The region is the standard Schema field, relabelled beside the keys (issue 27 item 5), not an extra field.
    assert "region_id" not in fields
    assert fields["auth_type"]["schema"]["enum"] == [
        "access_key", "sts", "ram_role_arn", "ecs_ram_role", "oidc_role_arn", "default_chain"]
    assert fields["security_token"]["schema"]["format"] == "password"
    for extra in ("role_arn", "role_session_name", "ecs_ram_role_name", "oidc_provider_arn", "oidc_token_file_path",
                  "dataworks_endpoint", "eas_endpoint", "oss_endpoint", "aiworkspace_endpoint", "protocol"):
        assert extra in fields
    assert fields["endpoint_type"]["schema"]["enum"] == ["public", "vpc"]
    assert fields["dataworks_api_version"]["schema"]["enum"] == ["auto", "2020-05-18", "2024-05-18"]
    assert fields["dataworks_api_version"]["schema"]["default"] == "auto"
    behaviour = conn["ui-field-behaviour"]
    # Port shown: Airflow 3.3.2's Test button refuses a connection stored without one (apache/airflow#73298).
    assert behaviour["hidden-fields"] == ["host"]
    assert behaviour["relabeling"] == {"login": "AccessKey ID", "password": "AccessKey Secret", "schema": "Region ID",
                                       "port": "Port (any, for the Test button)"}
    assert behaviour["placeholders"]["schema"].startswith("cn-shanghai")
    assert behaviour["placeholders"]["port"].startswith("443")


def test_listed_modules_and_classes_are_the_fixed_names():
    info = get_provider_info()
    modules = {m for key in ("hooks", "operators", "sensors", "triggers") for e in info[key] for m in e["python-modules"]}
    assert {
        "airflow_provider_pai.hooks.dataworks", "airflow_provider_pai.hooks.eas", "airflow_provider_pai.hooks.oss",
        "airflow_provider_pai.operators.dataworks", "airflow_provider_pai.operators.oss",
        "airflow_provider_pai.operators.eas", "airflow_provider_pai.sensors.dataworks",
        "airflow_provider_pai.sensors.eas", "airflow_provider_pai.triggers.dataworks",
        "airflow_provider_pai.triggers.eas", "airflow_provider_pai.hooks.aiworkspace",
        "airflow_provider_pai.operators.registry",
    } == modules
    assert {i["integration-name"] for i in info["integrations"]} == {"DataWorks", "PAI-EAS", "OSS", "PAI AI Workspace"}
    assert info["extra-links"] == [
        "airflow_provider_pai.links.dataworks.DataWorksInstanceLink",
        "airflow_provider_pai.links.eas.EasServiceLink",
        "airflow_provider_pai.links.oss.OssObjectLink",
        "airflow_provider_pai.links.registry.PaiModelVersionLink",
    ]


@pytest.mark.slow
def test_airflow_cli_discovers_the_provider_and_the_connection_type(airflow_env):
    listed = airflow_env.airflow("providers", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert "airflow-provider-pai" in {p["package_name"] for p in json.loads(listed.stdout[listed.stdout.index("["):])}

    secret = "cli-s3cr3t-value"
    added = airflow_env.airflow(
        "connections", "add", "pai_cli_test", "--conn-type", "alibaba_cloud_pai", "--conn-login", "LTAIcli",
        "--conn-password", secret, "--conn-extra", json.dumps({"region_id": "cn-shanghai"}),
    )
    assert added.returncode == 0, added.stderr
    assert secret not in added.stdout + added.stderr
    got = airflow_env.airflow("connections", "get", "pai_cli_test", "-o", "json")
    assert got.returncode == 0, got.stderr
    (conn,) = json.loads(got.stdout[got.stdout.index("["):])
    assert conn["conn_type"] == "alibaba_cloud_pai"
    assert conn["extra_dejson"] == {"region_id": "cn-shanghai"}

    hooks = airflow_env.airflow("providers", "hooks", "-o", "json")
    assert hooks.returncode == 0, hooks.stderr
    assert "alibaba_cloud_pai" in hooks.stdout


def test_the_form_shows_what_an_access_key_user_needs_first():
    """Airflow 3 renders extras in declaration order, grouped by schema.section (collapsible), and shows a
    placeholder plus a suggestion list for string fields that have schema.examples."""
    (conn,) = get_provider_info()["connection-types"]
    fields = conn["conn-fields"]
    unsectioned = [name for name, spec in fields.items() if "section" not in spec["schema"]]
    assert unsectioned == ["auth_type", "endpoint_type", "dataworks_api_version"]
    assert list(fields)[: len(unsectioned)] == unsectioned  # before every sectioned field
    for name in ("security_token", "role_arn", "oidc_provider_arn"):
        assert "credentials" in fields[name]["schema"]["section"]
    for name in ("dataworks_endpoint", "eas_endpoint", "oss_endpoint", "eas_endpoint_type", "protocol"):
        assert "Endpoints" in fields[name]["schema"]["section"]
    # Endpoints: no examples (Airflow 3 would show "Start typing to see options"); the description
    # starts with the form of a value.
    for name in ("dataworks_endpoint", "eas_endpoint", "oss_endpoint"):
        assert "examples" not in fields[name]["schema"] and fields[name]["description"].startswith("e.g. ")
    # Per-service network fields have no default: a default would override the connection-wide one.
    for service in ("dataworks", "eas", "oss"):
        assert "default" not in fields[f"{service}_endpoint_type"]["schema"]


def test_providers_page_links_to_this_projects_docs():
    """Airflow 3 reads the link from the installed package's "Documentation" Project-URL."""
    import tomllib
    from importlib.metadata import metadata

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    url = pyproject["project"]["urls"]["Documentation"]
    assert url.startswith("https://") and "airflow.apache.org" not in url
    installed = dict(entry.split(", ", 1) for entry in metadata("airflow-provider-pai").get_all("Project-URL") or [])
    assert installed.get("Documentation") == url, "reinstall the package (scripts/setup.sh) after editing pyproject"
    from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS

    if AIRFLOW_V_3_3_PLUS:  # Airflow 2 links every provider to its own site (docs/ui.md)
        from airflow.providers_manager import ProvidersManager

        assert ProvidersManager().providers["airflow-provider-pai"].data["documentation-url"] == url
