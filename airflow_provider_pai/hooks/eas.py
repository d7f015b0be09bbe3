"""PAI-EAS OpenAPI 2021-07-01 (ROA; ClusterId = region id) and calls to a deployed service."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

from airflow_provider_pai.hooks.base import AlibabaCloudBaseHook
from airflow_provider_pai.hooks.errors import PaiApiError, transport_code

_WARMUP_FIRST_DELAY = 0.5
_WARMUP_MAX_DELAY = 5.0
# The gateway's answers that heal by waiting (EAS "Appendix: service status codes"; F-GW-2, F-GW-3).
PREDICT_RETRY_STATUSES = {
    408: "request timed out in the queue or the processor",
    429: "rate limit",
    450: "instance queue full",
    502: "gateway error",
    503: "no ready instance (starting or restarting)",
    504: "gateway timeout",
}


def _predict_hint(status: int | None, tls: bool, url: str) -> str:
    if tls:
        return (f"the TLS handshake with {url} failed: use the http:// endpoint EAS returns, or a CA the worker "
                f"trusts; retrying cannot fix it")
    if status == 400:
        return "the service refused the request body, or the processor raised: check the payload format"
    if status in (401, 403):
        return "the service token was refused: check the service's token / generate_token"
    if status == 404:
        return "no such service at this endpoint: check the service name, region and eas_endpoint_type"
    if status == 429:
        return "the service's rate limit kept refusing calls: lower the request rate or raise metadata.rpc.rate_limit"
    if status == 450:
        return "the instances' queues stayed full: scale the service or raise metadata.rpc.max_queue_size"
    if status == 408:
        return "requests kept exceeding metadata.rpc.keepalive (default 5 s): raise it or send smaller payloads"
    if status in (502, 503, 504, None):
        return "the service is not serving: wait for Running (EasServiceSensor), check the network, or raise timeout"
    return "the model answered with an error: check the model files and the payload format"


def _denied(exc: Exception) -> bool:
    """A permission refusal (hooks/error_codes.py F-ERR-P1); Forbidden.Not.Server is a region problem."""
    return isinstance(exc, PaiApiError) and exc.code != "Forbidden.Not.Server" and (
        exc.status_code == 403 or exc.code.startswith(("Forbidden", "NoPermission", "ResourceNotAuthorized")))


def evidence_failure(action: str, exc: Exception) -> str:
    """Why an evidence call gave nothing; a denial names the RAM action to grant (EAS RAM actions
    are ``eas:<API action>``, docs/ram-policy.json), so a missing permission is never silent."""
    if _denied(exc):
        return f"{action} was denied: grant the RAM action eas:{action} ({exc})"
    return f"{action} failed ({exc})"


def _unreadable(exc: Exception) -> str:
    grant = "; grant the RAM action eas:DescribeServiceEvent" if _denied(exc) else ""
    return f"  (could not read the service events: {exc}{grant})"


def _config_body(service_config: Any) -> str:
    # The SDK sends the body verbatim; a compact JSON string keeps key order and types as given.
    return service_config if isinstance(service_config, str) else json.dumps(service_config)


class EasHook(AlibabaCloudBaseHook):
    """PAI-EAS: create/update services, versions (rollback), events, start/stop/delete, predict."""

    service = "eas"
    hook_name = "Alibaba Cloud PAI: EAS"

    def get_client(self):
        """The SDK client (cached per hook)."""

        def build():
            from alibabacloud_eas20210701.client import Client

            return Client(self.tea_config("eas"))

        return self._cached_client("eas", build)

    @staticmethod
    def _models():
        from alibabacloud_eas20210701 import models

        return models

    # ---- services -----------------------------------------------------------------------------

    def create_service(self, service_config: dict, *, is_done=None) -> dict:
        request = self._models().CreateServiceRequest(body=_config_body(service_config))
        return self.call("CreateService", lambda: self.get_client().create_service(request).body.to_map(),
                         is_done=is_done)

    def update_service(self, service_name: str, service_config: dict, update_type: str = "merge",
                       *, is_done=None) -> dict:
        """UpdateService (= ``eascmd modify -s``); ``update_type`` is merge or replace."""
        request = self._models().UpdateServiceRequest(body=_config_body(service_config), update_type=update_type)
        return self.call(
            "UpdateService",
            lambda: self.get_client().update_service(self.region_id, service_name, request).body.to_map(),
            is_done=is_done,
        )

    def describe_service(self, service_name: str) -> dict:
        return self.call("DescribeService",
                         lambda: self.get_client().describe_service(self.region_id, service_name).body.to_map())

    async def describe_service_async(self, service_name: str) -> dict:
        await self.ready_async()
        region = self.region_id

        async def run():
            return (await self.get_client().describe_service_async(region, service_name)).body.to_map()

        return await self.call_async("DescribeService", run)

    def list_services(self, **filters) -> list[dict]:
        """Every page of ListServices; ``filters`` are ListServicesRequest fields (snake_case)."""
        models = self._models()
        page_size = filters.pop("page_size", 100)
        services: list[dict] = []
        page = 1
        while True:
            request = models.ListServicesRequest(page_number=page, page_size=page_size, **filters)
            # partial binds this page's request: a closure would see whatever the loop holds when called (B023)
            body = self.call("ListServices", partial(lambda request: self.get_client().list_services(request).body.to_map(), request))
            batch = body.get("Services") or []
            services.extend(batch)
            if not batch or len(services) >= int(body.get("TotalCount") or 0):
                return services
            page += 1

    def list_service_versions(self, service_name: str) -> list[dict]:
        models = self._models()
        versions: list[dict] = []
        page = 1
        while True:
            request = models.ListServiceVersionsRequest(page_number=page, page_size=100)
            body = self.call(
                "ListServiceVersions",
                partial(lambda request: self.get_client().list_service_versions(self.region_id, service_name, request).body.to_map(), request),
            )
            batch = body.get("Versions") or []
            versions.extend(batch)
            if not batch or len(versions) >= int(body.get("TotalCount") or 0):
                return versions
            page += 1

    def update_service_version(self, service_name: str, version: int, *, is_done=None) -> dict:
        """UpdateServiceVersion (= ``eascmd version``): roll the service onto ``version``."""
        request = self._models().UpdateServiceVersionRequest(version=int(version))
        return self.call(
            "UpdateServiceVersion",
            lambda: self.get_client().update_service_version(self.region_id, service_name, request).body.to_map(),
            is_done=is_done,
        )

    def _events_request(self, event_type: str | None, page: int):
        return self._models().DescribeServiceEventRequest(event_type=event_type, page_num=str(page), page_size="100")

    def describe_service_events(self, service_name: str, event_type: str | None = None) -> list[dict]:
        events: list[dict] = []
        page = 1
        while True:
            request = self._events_request(event_type, page)
            body = self.call(
                "DescribeServiceEvent",
                partial(lambda request: self.get_client().describe_service_event(self.region_id, service_name, request).body.to_map(), request),
            )
            events.extend(body.get("Events") or [])
            if page >= int(body.get("TotalPageNum") or 1) or not body.get("Events"):
                return events
            page += 1

    async def describe_service_events_async(self, service_name: str, event_type: str | None = None) -> list[dict]:
        await self.ready_async()
        region = self.region_id
        events: list[dict] = []
        page = 1
        while True:
            request = self._events_request(event_type, page)

            async def run(request=request):
                resp = await self.get_client().describe_service_event_async(region, service_name, request)
                return resp.body.to_map()

            body = await self.call_async("DescribeServiceEvent", run)
            events.extend(body.get("Events") or [])
            if page >= int(body.get("TotalPageNum") or 1) or not body.get("Events"):
                return events
            page += 1

    def _instances_request(self, page: int):
        return self._models().ListServiceInstancesRequest(page_number=page, page_size=100)

    def list_service_instances(self, service_name: str) -> list[dict]:
        """ListServiceInstances, every page: each instance's Status, ReadyProcesses, RestartCount, Reason."""
        instances: list[dict] = []
        page = 1
        while True:
            request = self._instances_request(page)
            body = self.call(
                "ListServiceInstances",
                partial(lambda request: self.get_client().list_service_instances(self.region_id, service_name, request).body.to_map(), request),
            )
            batch = body.get("Instances") or []
            instances.extend(batch)
            if not batch or len(instances) >= int(body.get("TotalCount") or 0):
                return instances
            page += 1

    async def list_service_instances_async(self, service_name: str) -> list[dict]:
        await self.ready_async()
        region = self.region_id
        instances: list[dict] = []
        page = 1
        while True:
            request = self._instances_request(page)

            async def run(request=request):
                resp = await self.get_client().list_service_instances_async(region, service_name, request)
                return resp.body.to_map()

            body = await self.call_async("ListServiceInstances", run)
            batch = body.get("Instances") or []
            instances.extend(batch)
            if not batch or len(instances) >= int(body.get("TotalCount") or 0):
                return instances
            page += 1

    # ---- evidence and idempotent steps the waits ask for ------------------------------------------
    # Each is one remote question with a fixed meaning, so the operators, the sensor and the trigger
    # ask it the same way (utils/eas.py stays pure: it only judges the answers).

    def describe_or_none(self, service_name: str) -> dict | None:
        """DescribeService, or None when EAS says the service does not exist (404 / ``*NotFound*``)."""
        try:
            return self.describe_service(service_name)
        except PaiApiError as exc:
            if exc.status_code == 404 or "NotFound" in (exc.code or ""):
                return None
            raise

    def update_landed(self, service_name: str, wanted: dict, latest_before: int) -> dict | None:
        """For the retry policy: did an UpdateService whose answer was lost take effect anyway?"""
        from airflow_provider_pai.utils.eas import update_took_effect  # the pure rule; no hook there

        return update_took_effect(self.describe_service(service_name), service_name, wanted, latest_before)

    def switch_version(self, service_name: str, version: int) -> dict:
        """UpdateServiceVersion; a retry after a lost answer first checks whether the switch happened."""

        def landed() -> dict | None:
            if self.describe_service(service_name).get("CurrentVersion") == version:
                return {"Message": f"{service_name} is already on version {version}"}
            return None

        return self.update_service_version(service_name, version, is_done=landed)

    def warning_events(self, service_name: str) -> list[dict] | str:
        """The service's Warning events; a failure to read them is returned as text, not raised
        (the failure being explained matters more than its events)."""
        try:
            return self.describe_service_events(service_name, event_type="Warning")
        except Exception as exc:  # noqa: BLE001 - reported in the failure message
            return _unreadable(exc)

    async def warning_events_async(self, service_name: str) -> list[dict] | str:
        """The async twin of ``warning_events`` for triggers."""
        try:
            return await self.describe_service_events_async(service_name, event_type="Warning")
        except Exception as exc:  # noqa: BLE001 - reported in the failure message
            return _unreadable(exc)

    def rollout_evidence(self, service_name: str) -> tuple[list[dict], list[dict]]:
        """(Warning events, instances) that show whether an update EAS seems to have abandoned did
        not take (F-EAS-6). Evidence is optional: a call that fails is logged and counts as none,
        and the stall rule of ``ServiceWatch.judge`` still decides."""
        return (self._evidence("DescribeServiceEvent",
                               lambda: self.describe_service_events(service_name, event_type="Warning")),
                self._evidence("ListServiceInstances", lambda: self.list_service_instances(service_name)))

    async def rollout_evidence_async(self, service_name: str) -> tuple[list[dict], list[dict]]:
        """The async twin of ``rollout_evidence`` for triggers."""
        found = []
        for action, fetch in (
            ("DescribeServiceEvent", lambda: self.describe_service_events_async(service_name, event_type="Warning")),
            ("ListServiceInstances", lambda: self.list_service_instances_async(service_name)),
        ):
            try:
                found.append(await fetch() or [])
            except Exception as exc:  # noqa: BLE001 - optional evidence, reported in the log
                self.log.warning("%s for %s; deciding without it.", evidence_failure(action, exc), service_name)
                found.append([])
        return found[0], found[1]

    def _evidence(self, action: str, fetch) -> list[dict]:
        try:
            return fetch() or []
        except Exception as exc:  # noqa: BLE001 - optional evidence, reported in the log
            self.log.warning("%s; deciding without it.", evidence_failure(action, exc))
            return []

    # ---- service groups and traffic (canary releases: docs/cloud-fidelity.md F-TRF-*) -------------

    def release_service(self, service_name: str, *, weight: int | None = None, traffic_state: str | None = None,
                        is_done=None) -> dict:
        """ReleaseService: the service's ``Weight`` and ``TrafficState`` (standalone/grouping) in its group."""
        request = self._models().ReleaseServiceRequest(weight=weight, traffic_state=traffic_state)
        return self.call(
            "ReleaseService",
            lambda: self.get_client().release_service(self.region_id, service_name, request).body.to_map(),
            is_done=is_done,
        )

    def describe_group(self, group_name: str) -> dict:
        """DescribeGroup: the group's endpoints, AccessToken and TrafficMode (members: ``list_services(group_name=...)``)."""
        return self.call("DescribeGroup",
                         lambda: self.get_client().describe_group(self.region_id, group_name).body.to_map())

    def update_group_traffic_mode(self, group_name: str, traffic_mode: str, *, is_done=None) -> dict:
        """UpdateGroup with only ``TrafficMode`` (``auto`` or ``customized``): the group's traffic split.

        SDK 7.0.0 (the newest) has no method for UpdateGroup, so this is the SDK's generic ROA call
        with the shape the API reference gives: ``PUT /api/v2/groups/{ClusterId}/{GroupName}``, JSON
        body ``{"TrafficMode": ...}`` (docs/cloud-fidelity.md F-TRF-9). The body's other documented
        field is omitted on purpose: this call changes the mode and nothing else.
        """
        from alibabacloud_openapi_util.client import Client as OpenApiUtilClient
        from alibabacloud_tea_openapi import models as open_api_models
        from alibabacloud_tea_util import models as util_models

        client = self.get_client()
        path = (f"/api/v2/groups/{OpenApiUtilClient.get_encode_param(self.region_id)}/"
                f"{OpenApiUtilClient.get_encode_param(group_name)}")
        params = open_api_models.Params(action="UpdateGroup", version="2021-07-01", protocol="HTTPS",
                                        pathname=path, method="PUT", auth_type="AK", style="ROA",
                                        req_body_type="json", body_type="json")

        def run() -> dict:
            request = open_api_models.OpenApiRequest(headers={}, body={"TrafficMode": traffic_mode})
            answer = client.call_api(params, request, util_models.RuntimeOptions())
            return dict((answer or {}).get("body") or {})

        return self.call("UpdateGroup", run, is_done=is_done)

    def _simple(self, action: str, method: str, service_name: str) -> dict:
        return self.call(action, lambda: getattr(self.get_client(), method)(self.region_id, service_name).body.to_map())

    def start_service(self, service_name: str) -> dict:
        return self._simple("StartService", "start_service", service_name)

    def stop_service(self, service_name: str) -> dict:
        return self._simple("StopService", "stop_service", service_name)

    def delete_service(self, service_name: str) -> dict:
        return self._simple("DeleteService", "delete_service", service_name)

    # ---- calling the deployed model -----------------------------------------------------------

    def predict(self, service_name: str, payload: Any, *, timeout: float = 60.0) -> Any:
        """POST ``payload`` to the service with its token; retries the gateway's transient answers.

        The endpoint is the service's ``IntranetEndpoint`` when the connection's EAS endpoint type is
        vpc, else its ``InternetEndpoint``. Retried until ``timeout``: no connection, and the status
        codes the EAS appendix describes as load or warm-up (``PREDICT_RETRY_STATUSES``); every other
        answer is raised at once (rows F-GW-* in docs/cloud-fidelity.md).
        """
        import requests

        service = self.describe_service(service_name)
        url = self._predict_url(service_name, service)
        headers = {"Content-Type": "application/json"}
        if service.get("AccessToken"):
            headers["Authorization"] = service["AccessToken"]
        data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        deadline = time.monotonic() + timeout
        delay = _WARMUP_FIRST_DELAY
        while True:
            remaining = max(deadline - time.monotonic(), 0.1)
            try:
                resp = requests.post(url, data=data, headers=headers, timeout=min(remaining, 60.0))
            except requests.RequestException as exc:
                status, text, request_id = None, f"{type(exc).__name__}: {exc}", None
            else:
                status, text = resp.status_code, resp.text
                request_id = resp.headers.get("x-eas-request-id") or resp.headers.get("x-acs-request-id")
                if status < 300:
                    try:
                        return resp.json()
                    except ValueError:
                        return text
            tls = status is None and transport_code(text) == "TLSError"
            retry = not tls and (status is None or status in PREDICT_RETRY_STATUSES)
            if not retry or time.monotonic() + delay > deadline:
                code = f"HTTP{status}" if status else ("TLSError" if tls else "ConnectionError")
                raise PaiApiError("Predict", code, f"{service_name}: {text[:500]}", request_id, status,
                                  hint=_predict_hint(status, tls, url))
            self.log.warning("Predict %s answered %s (%s); retrying in %.1f s", service_name,
                             status or "no connection", "unreachable" if status is None else PREDICT_RETRY_STATUSES.get(status), delay)
            self._sleep(delay)
            delay = min(delay * 2, _WARMUP_MAX_DELAY)

    def _predict_url(self, service_name: str, service: dict) -> str:
        vpc = self.endpoint_type("eas") == "vpc"
        first, second = ("IntranetEndpoint", "InternetEndpoint") if vpc else ("InternetEndpoint", "IntranetEndpoint")
        url = service.get(first) or (None if vpc else service.get(second))
        if not url:
            raise PaiApiError("Predict", "NoEndpoint", f"service {service_name} has no {first} "
                              f"(status {service.get('Status')})", service.get("RequestId"),
                              hint="wait for the service to run; for the other network set eas_endpoint_type")
        return url if "://" in url else f"http://{url}"

    def test_connection(self) -> tuple[bool, str]:
        """ListServices with PageSize=1: cheap and read-only."""
        try:
            request = self._models().ListServicesRequest(page_number=1, page_size=1)
            body = self.call("ListServices", lambda: self.get_client().list_services(request).body.to_map())
            host, protocol = self.endpoint("eas")
            return True, f"PAI-EAS reachable at {protocol}://{host} ({body.get('TotalCount')} service(s) visible)"
        except Exception as exc:
            return False, str(exc)
