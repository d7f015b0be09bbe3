"""Every error code the provider can meet: retry it, or fail (with what to do next).

One table, first match wins. ``docs/cloud-fidelity.md`` ("Errors, retries and the error-code
classification") lists the same codes with their sources; a unit test keeps the two in step.
A code not in the table is retried when it is a ``Throttling*`` code or an HTTP 5xx, else raised.
"""

from __future__ import annotations

from typing import NamedTuple


class CodeRule(NamedTuple):
    pattern: str  # an exact code, or a prefix ending in "*"
    retry: bool
    hint: str | None  # {conn_id} {action} {service_} {region} {host} are filled in; None: the generic hint
    row: str  # the row id in docs/cloud-fidelity.md
    action: str | None = None  # the rule applies to this action only
    message: str | None = None  # ... or only when the message contains this (case-insensitive)


_PERMISSION = "grant the RAM identity of connection '{conn_id}' permission for {action}"
_DAILY_QUOTA = (
    "the DataWorks daily API quota of this account and region is used up and only resets the next day "
    "(Basic edition: 100 calls a day; some editions have 1,000 or 10,000): retry tomorrow, raise "
    "poll_interval so fewer calls are made, or upgrade the DataWorks edition"
)

RULES: tuple[CodeRule, ...] = (
    # ---- transport (codes the provider gives failures that never reached an API) ----------------
    CodeRule("TLSError", False,
             "the TLS handshake with the {service_}endpoint failed: an endpoint that speaks plain HTTP needs "
             "\"protocol\": \"http\" (or an http:// URL) in connection '{conn_id}', one with a private "
             "certificate needs a CA the worker trusts; retrying cannot fix either", "F-ERR-T2"),
    CodeRule("DNSNotFound", False,
             "the host {host} does not exist (DNS answered: name not known), so retrying cannot help: check "
             "region_id {region} (of connection '{conn_id}' or the operator) for a typo, or set "
             "{service_}endpoint in the connection to a host that exists", "F-ERR-T4"),
    CodeRule("ConnectionError", True,
             "the worker's DNS resolver kept failing for {host} (a temporary failure, retried): check the "
             "worker's DNS; the host comes from region_id {region} of connection '{conn_id}' unless "
             "{service_}endpoint is set", "F-ERR-T5", message="name resolution"),
    CodeRule("ConnectionError", True, "check the {service_}endpoint and the network from the worker", "F-ERR-T1"),
    CodeRule("InvalidResponse", True,
             "a gateway answered with a non-JSON page: check the {service_}endpoint, or retry later", "F-ERR-T3"),
    # ---- throttling: per-second limits heal in seconds, daily and edition quotas do not ---------
    CodeRule("Throttling.Api.Risk", False, _DAILY_QUOTA, "F-ERR-DW2"),
    CodeRule("Throttling.Resource", False,
             "DataWorks says this account reached the API call limit of its edition in this region: "
             "upgrade the DataWorks edition (or buy more API calls) and retry; raising poll_interval "
             "lowers the call count", "F-ERR-DW3"),
    CodeRule("Throttling.User", True,
             "Alibaba Cloud kept throttling after the retries: raise poll_interval or run fewer tasks at once",
             "F-ERR-DW1"),
    CodeRule("Throttling.Api", True,
             "the DataWorks per-second API limit (per account and region) kept refusing calls: raise "
             "poll_interval or run fewer tasks at once", "F-ERR-DW1"),
    CodeRule("Throttling.System", True, "DataWorks stayed busy after the retries: try again later", "F-ERR-DW1"),
    CodeRule("Throttling*", True,
             "Alibaba Cloud kept throttling after the retries: raise poll_interval or run fewer tasks at once",
             "F-ERR-DW1"),
    # ---- region -------------------------------------------------------------------------------
    CodeRule("Forbidden.Not.Server", False,
             "the {service_}API is not offered in region {region}: use a region where it is, or check "
             "region_id of connection '{conn_id}' (this is not a permission problem)", "F-ERR-DW4"),
    # ---- credentials --------------------------------------------------------------------------
    CodeRule("SignatureDoesNotMatch", False,
             "the request was signed for region {region} but the bucket lives in another region: set "
             "region_id (of the connection '{conn_id}' or the operator) to the bucket's region",
             "F-ERR-OSS2", message="signing region"),
    CodeRule("SignatureDoesNotMatch", False, "check the AccessKey secret (password) in connection '{conn_id}'",
             "F-ERR-C1"),
    CodeRule("InvalidAccessKeyId*", False,
             "the STS token in connection '{conn_id}' is invalid or expired: refresh security_token or use "
             "auth_type 'ram_role_arn'", "F-ERR-C3", message="security token"),
    CodeRule("InvalidAccessKeyId*", False,
             "the AccessKey ID (login) in connection '{conn_id}' does not exist or is disabled: check it in "
             "the RAM console", "F-ERR-C2"),
    CodeRule("InvalidSecurityToken*", False,
             "the STS token in connection '{conn_id}' is invalid or expired: refresh security_token or use "
             "auth_type 'ram_role_arn'", "F-ERR-C3"),
    CodeRule("InvalidTimeStamp*", False, "the worker's clock is off: synchronise it (NTP)", "F-ERR-C4"),
    CodeRule("RequestTimeTooSkewed", False, "the worker's clock is off: synchronise it (NTP)", "F-ERR-C4"),
    CodeRule("SignatureNonceUsed", True, None, "F-ERR-C5"),
    # ---- permissions and editions -------------------------------------------------------------
    CodeRule("Forbidden.Access", False,
             "RunCycleDagNodes needs DataWorks Enterprise edition or higher: upgrade, or use "
             "run_mode='manual' for nodes in a manually triggered workflow", "F-ERR-DW5",
             action="RunCycleDagNodes"),
    CodeRule("Forbidden.Access", False,
             "DataWorks restricts access for this identity (its error list says to retry after a few "
             "minutes): let the task retry later; if it persists, " + _PERMISSION, "F-ERR-DW5"),
    CodeRule("Forbidden*", False, _PERMISSION, "F-ERR-P1"),
    CodeRule("ResourceNotAuthorized*", False, _PERMISSION, "F-ERR-P1"),
    CodeRule("NoPermission*", False, _PERMISSION, "F-ERR-P1"),
    CodeRule("PERMISSION.DENIED*", False,
             "grant the RAM identity of connection '{conn_id}' the DataWorks workspace role it needs", "F-ERR-P1"),
    CodeRule("AccessDenied", False,
             "grant the RAM identity of connection '{conn_id}' access to this resource", "F-ERR-P1"),
    CodeRule("Invalid.Tenant.UserNotInTenant", False,
             "add the RAM identity of connection '{conn_id}' to the DataWorks tenant", "F-ERR-P1"),
    # ---- wrong names, ids and parameters (the message names the value) ------------------------
    CodeRule("Invalid.Tenant.ProjectNotExists", False, "check the DataWorks project id/name and region_id",
             "F-ERR-DW6"),
    CodeRule("Invalid.Tenant.*", False, "check the id in the message and the connection's region_id", "F-ERR-DW6"),
    CodeRule("Invalid.Wkbench.Parameter", False, "check the parameters named in the message", "F-ERR-DW6"),
    CodeRule("InvalidParameter*", False, "check the parameter named in the message", "F-ERR-DW6"),
    CodeRule("PARAMS.ERROR", False, "check the parameter named in the message", "F-ERR-DW6"),
    CodeRule("Param.Invalid", False, "check the parameter named in the message", "F-ERR-DW6"),
    CodeRule("InvalidService.NotFound", False,
             "the task asked region {region}: check the EAS service name, and region_id (of connection "
             "'{conn_id}' or the operator) if the service lives in another region", "F-ERR-EAS1"),
    CodeRule("InvalidService.*", False, None, "F-ERR-EAS1"),
    CodeRule("NoSuchBucket", False,
             "the task asked region {region}: check the bucket name, and region_id (of connection '{conn_id}' "
             "or the operator) if the bucket lives in another region", "F-ERR-OSS1"),
    CodeRule("NoSuchKey", False, "check the object key", "F-ERR-OSS1"),
    # ---- server side: transient ---------------------------------------------------------------
    CodeRule("ServiceUnavailable", True, None, "F-ERR-S1"),
    CodeRule("InternalError*", True, None, "F-ERR-S1"),
    CodeRule("UNKNOWN.ERROR", True, None, "F-ERR-S1"),
    CodeRule("RequestTimeout", True, None, "F-ERR-S1"),
)


def rule_for(code: str, action: str = "", message: str = "") -> CodeRule | None:
    """The first rule matching ``code`` (and its action/message conditions), or None."""
    lowered = (message or "").lower()
    for rule in RULES:
        if rule.pattern.endswith("*"):
            if not code.startswith(rule.pattern[:-1]):
                continue
        elif code != rule.pattern:
            continue
        if rule.action is not None and rule.action != action:
            continue
        if rule.message is not None and rule.message not in lowered:
            continue
        return rule
    return None
