"""The request/response field spec (hooks/request_fields.py) against the installed SDKs and the hooks.

Fails when: an SDK request the provider builds has a field in neither ``sent`` nor ``omitted`` (an
SDK upgrade added one), a listed field is not in the model, a response path the provider reads is
not in the response model, the hooks build a request the spec does not list, or
docs/request-fields.md is stale.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from airflow_provider_pai.hooks.request_fields import REQUESTS

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / "airflow_provider_pai" / "hooks"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_request_fields", REPO / "scripts" / "gen_request_fields.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


GEN = _generator()
# Which SDK each hook file builds requests from (the hooks import models through one helper each).
HOOK_SDKS = {
    "dataworks.py": "alibabacloud_dataworks_public20200518.models",
    "dataworks_v2024.py": "alibabacloud_dataworks_public20240518.models",
    "eas.py": "alibabacloud_eas20210701.models",
    "aiworkspace.py": "alibabacloud_aiworkspace20210204.models",  # the model registry (this round)
}


@pytest.mark.parametrize("key", sorted(REQUESTS))
def test_every_field_of_the_request_is_sent_or_omitted_with_a_reason(key):
    entry = REQUESTS[key]
    assert GEN.unlisted(key, entry) == [], (
        f"{key}: the installed SDK has fields the spec does not list; put each in 'sent' or 'omitted' "
        f"(with the documented default and why it is right) in airflow_provider_pai/hooks/request_fields.py")
    assert GEN.unknown(key, entry) == [], f"{key}: listed fields the SDK request does not have"
    assert all(str(why).strip() for why in entry["omitted"].values()), f"{key}: an omitted field without a reason"


@pytest.mark.parametrize("key", sorted(k for k in REQUESTS if REQUESTS[k].get("reads")))
def test_every_response_path_the_provider_reads_is_in_the_response_model(key):
    entry = REQUESTS[key]
    missing = [p for p in entry["reads"] if not GEN.response_path_exists(entry["response"], p)]
    assert not missing, f"{key}: {entry['response']} has no {missing}"


def test_every_entry_names_its_action_ram_action_and_hook():
    for key, entry in REQUESTS.items():
        assert {"action", "ram_action", "hook", "sent", "omitted", "example_policy"} <= set(entry), key
        assert re.fullmatch(r"[a-z][a-z0-9-]*:\w+", entry["ram_action"]), key
        assert entry["example_policy"] is True or (isinstance(entry["example_policy"], str)
                                                    and entry["example_policy"]), key


def constructed_requests() -> set[str]:
    """``module:Class`` of every top-level request model the hooks construct (``.XxxRequest(``)."""
    found = set()
    for name, module in HOOK_SDKS.items():
        if not (HOOKS / name).exists():
            continue
        text = (HOOKS / name).read_text()
        for cls in re.findall(r"\.(\w+Request)\(", text):
            if cls != "OpenApiRequest":  # a generic call_api request: keyed "...call_api#<Action>", checked below
                found.add(f"{module}:{cls}")
        # 2020-05-18 actions sent with call_api, keyed by their SDK request model (request_fields.generic_key)
        found |= {f"{module}:{action}Request" for action in re.findall(r"_call20(?:_async)?\(\s*\"(\w+)\"", text)}
    return found


def test_every_request_the_hooks_build_is_in_the_spec():
    missing = sorted(constructed_requests() - set(REQUESTS))
    assert not missing, f"requests built by the hooks but not in hooks/request_fields.py: {missing}"


def test_every_path_only_eas_call_and_oss_call_is_in_the_spec():
    eas = (HOOKS / "eas.py").read_text()
    methods = set(re.findall(r"get_client\(\)\.(\w+?)(?:_async)?\(", eas))
    methods |= set(re.findall(r'_simple\("\w+", "(\w+)"', eas))
    with_model = {e["action"] for k, e in REQUESTS.items() if ":" in k and k.split(":")[1].endswith("Request")}
    path_only = {m for m in methods if "".join(w.title() for w in m.split("_")) not in with_model}
    # a generic call (call_api, e.g. UpdateGroup) is keyed "alibabacloud_tea_openapi.client:Client.call_api#<Action>"
    generic = {k.split("#", 1)[1] for k in REQUESTS if ":Client.call_api#" in k}
    missing = sorted(m for m in path_only if f"alibabacloud_eas20210701.client:Client.{m}" not in REQUESTS
                     and not (m == "call_api" and generic))
    assert not missing, f"EAS calls without a request model missing from the spec: {missing}"
    oss = (HOOKS / "oss.py").read_text()
    calls = set(re.findall(r"(?:get_bucket\(\w+\)|target)\.(\w+)\(", oss)) - {"read"}
    missing = sorted(c for c in calls if f"oss2:Bucket.{c}" not in REQUESTS)
    assert not missing, f"oss2 calls missing from the spec: {missing}"


def test_the_scan_finds_what_the_hooks_build():
    """The two checks above would pass on a scan that finds nothing."""
    found = constructed_requests()
    assert "alibabacloud_dataworks_public20240518.models:CreateWorkflowInstancesRequest" in found
    assert "alibabacloud_eas20210701.models:ListServiceInstancesRequest" in found
    assert "alibabacloud_dataworks_public20200518.models:GetInstanceRequest" in found  # sent with call_api
    assert len(found) >= 25


def test_a_field_the_spec_forgets_is_reported():
    key = "alibabacloud_dataworks_public20240518.models:CreateWorkflowInstancesRequest"
    entry = {**REQUESTS[key], "sent": dict(REQUESTS[key]["sent"])}
    del entry["sent"]["DefaultRunProperties.RunPolicy.Immediately"]
    assert GEN.unlisted(key, entry) == ["DefaultRunProperties.RunPolicy.Immediately"]


def test_nested_fields_are_dotted_paths_with_their_sdk_docstring():
    fields = GEN.request_fields("alibabacloud_dataworks_public20240518.models:CreateWorkflowInstancesRequest")
    assert "Default value: false" in fields["DefaultRunProperties.RunPolicy.Immediately"]
    assert "Periods.BizDates[].StartBizDate" in fields


def test_a_response_path_the_model_lacks_is_reported():
    model = "alibabacloud_dataworks_public20200518.models:GetInstanceResponseBody"
    assert GEN.response_path_exists(model, "Data.Status")
    assert not GEN.response_path_exists(model, "Data.NoSuchField")
    assert not GEN.response_path_exists(model, "NoSuchTop")


def test_the_generated_page_is_current():
    page = REPO / "docs" / "request-fields.md"
    assert page.read_text() == GEN.render(REQUESTS), (
        "docs/request-fields.md is stale: run python scripts/gen_request_fields.py")


def test_a_generic_call_lists_its_fields_by_hand():
    """A call the SDK has no method or model for (``call_api``) is checked against its own ``fields``."""
    entry = {"action": "UpdateGroup", "ram_action": "eas:UpdateGroup", "hook": "EasHook.update_group",
             "example_policy": "canary only", "fields": {"ClusterId": "path", "GroupName": "path",
                                                         "TrafficMode": "body", "Weight": "body"},
             "sent": {"ClusterId": "region_id", "GroupName": "the group", "TrafficMode": "customized"},
             "omitted": {}}
    key = "alibabacloud_tea_openapi.client:Client.call_api#UpdateGroup"
    assert GEN.unlisted(key, entry) == ["Weight"]
    assert GEN.unknown(key, {**entry, "omitted": {"Weight": "x", "Nope": "y"}}) == ["Nope"]


# Keys the package reads that are not SDK response fields: its own keys, an HTTP header, and the
# error envelope check_success reads from any body answering Success: false (hooks/errors.py).
NOT_RESPONSE_FIELDS = {"ApiVersion": "the provider's own key (which DataWorks API answered)",
                       "Authorization": "the HTTP header predict() sends",
                       "Code": "error envelope", "ErrorCode": "error envelope", "ErrorMessage": "error envelope",
                       "HttpStatusCode": "error envelope"}


def test_every_response_key_the_package_reads_is_listed_in_some_reads():
    """A ``.get("Xxx")`` / ``["Xxx"]`` anywhere in the package names a key in some entry's ``reads``
    (and so is checked against a response model above), or a key that is not a response field."""
    package = REPO / "airflow_provider_pai"
    read: dict[str, str] = {}
    for path in package.rglob("*.py"):
        if "emulator" in path.parts:
            continue
        for key in re.findall(r'(?:\.get\(|\[)"([A-Z][A-Za-z0-9]+)"', path.read_text()):
            if not key.endswith(("Hook", "Operator")):  # hook/operator class names, not keys
                read.setdefault(key, str(path.relative_to(REPO)))
    listed = {part for entry in REQUESTS.values() for path in entry.get("reads", ())
              for part in path.replace("[]", "").split(".")}
    unlisted = {key: where for key, where in read.items() if key not in listed and key not in NOT_RESPONSE_FIELDS}
    assert not unlisted, f"response keys read but in no 'reads' list of hooks/request_fields.py: {unlisted}"
