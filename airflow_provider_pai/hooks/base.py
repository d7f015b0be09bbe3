"""Connection -> credentials, endpoints and THE retry policy (``call``/``call_async``).

What a failure means (``PaiApiError``, classification, hints) lives in ``hooks/errors.py`` and
``hooks/error_codes.py``; default endpoints per region in ``hooks/endpoints.py``; how credentials are
built per auth_type in ``hooks/credentials.py``; the connection type's form and Test button in
``hooks/connection.py``. ``AlibabaCloudBaseHook`` and ``PaiApiError`` stay importable from here.

No SDK (oss2, alibabacloud_*, Tea, darabonba) is imported at module level: DAG files importing
operators must parse fast. Every SDK import happens inside the method that needs it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import threading
import time
from functools import cached_property
from typing import Any, Awaitable, Callable

from airflow.providers.common.compat.sdk import AirflowException, BaseHook, mask_secret

from airflow_provider_pai.hooks.credentials import AUTH_TYPES, OssCredentialsProvider, build_credential_client
from airflow_provider_pai.hooks.endpoints import (
    ENDPOINT_TYPES,
    SERVICES,
    EndpointError,
    default_endpoint,
    parse_endpoint,
)
from airflow_provider_pai.hooks.errors import PaiApiError, check_success, classify, error_hint, is_retryable
from airflow_provider_pai.hooks.extras import check_enumerated_extras, check_region

__all__ = ["AUTH_TYPES", "SERVICES", "AlibabaCloudBaseHook", "PaiApiError", "check_success"]

_REGION_RE = re.compile(r"[a-z]+(-[a-z0-9]+)+")


class _SchemeWarningOnce(logging.Filter):
    """Let Airflow's "Connection schemes (type: alibaba_cloud_pai) shall not contain '_'" through once.

    Airflow 2 logs it on every read of a connection of this type (``Connection.get_uri`` while
    caching it), so a task log repeated it once per hook. The type name is a public contract and the
    URI form (``alibaba-cloud-pai://``) is documented, so once per process says all there is to say.
    """

    seen = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "shall not contain '_'" in str(record.msg) and "alibaba_cloud_pai" in record.getMessage():
            if _SchemeWarningOnce.seen:
                return False
            _SchemeWarningOnce.seen = True
        return True


# The logger of airflow.models.connection.Connection (LoggingMixin names it after the class). Airflow 3
# logs through structlog, and its task path reads connections without building a URI: no repeat there.
logging.getLogger("airflow.models.connection.Connection").addFilter(_SchemeWarningOnce())
_warned: set[tuple[str, str]] = set()  # unknown-region warnings, once per process


def _parse_extra(conn_id: str, extra: str | None) -> dict[str, Any]:
    """The extra as a dict; not JSON, or not an object: one error naming the connection and the problem.

    Airflow's ``extra_dejson`` logs a traceback and returns {} instead, and every call after that
    fails with "no region_id". The extra's text is not echoed: it may hold a security token.
    """
    if not extra:
        return {}
    try:
        value = json.loads(extra)
    except json.JSONDecodeError as exc:
        raise AirflowException(
            f"Connection '{conn_id}': the extra is not valid JSON ({exc.msg} at line {exc.lineno} column "
            f'{exc.colno}): write it as a JSON object, e.g. {{"region_id": "cn-shanghai"}}'
        ) from None
    if not isinstance(value, dict):
        raise AirflowException(
            f"Connection '{conn_id}': the extra must be a JSON object, e.g. {{\"region_id\": \"cn-shanghai\"}}, "
            f"not a JSON {type(value).__name__}"
        )
    return value


def _field_digests(conn, extras: dict[str, Any]) -> dict[str, str]:
    """A digest per field the clients are built from (extra keys one by one), to tell which changed
    without keeping or logging a value."""
    fields = {name: getattr(conn, name, None) for name in ("conn_type", "host", "schema", "login", "password", "port")}
    fields.update({f"extra {key}": value for key, value in extras.items()})
    return {name: hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
            for name, value in fields.items()}


class AlibabaCloudBaseHook(BaseHook):
    """Alibaba Cloud connection: credentials (one path, every auth_type), endpoints, the retry policy."""

    conn_name_attr = "pai_conn_id"
    default_conn_name = "pai_default"
    conn_type = "alibaba_cloud_pai"
    hook_name = "Alibaba Cloud PAI"

    retry_max_attempts = 8
    retry_max_time = 120.0
    retry_base_delay = 1.0
    retry_max_delay = 20.0

    def __init__(
        self,
        pai_conn_id: str = default_conn_name,
        region_id: str | None = None,
        *,
        retry_max_attempts: int | None = None,
        retry_max_time: float | None = None,
        sleep: Callable[[float], Any] | None = None,
        async_sleep: Callable[[float], Awaitable[Any]] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.pai_conn_id = pai_conn_id
        self._region_id = region_id
        if retry_max_attempts is not None:
            self.retry_max_attempts = retry_max_attempts
        if retry_max_time is not None:
            self.retry_max_time = retry_max_time
        self._sleep = sleep or time.sleep
        self._async_sleep = async_sleep or asyncio.sleep
        self._random = random.Random()
        self._clients: dict[str, Any] = {}
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pai_conn_id={self.pai_conn_id!r}, region_id={self._region_id!r})"

    # A triggerer runs hundreds of waits on one connection: they share one hook (so one credentials
    # client and one SDK client) instead of building one each. Renewed after a few minutes so a
    # rotated secret is picked up.
    shared_hook_ttl = 300.0
    _shared_hooks: dict[tuple, tuple[float, AlibabaCloudBaseHook]] = {}

    @classmethod
    def shared(cls, pai_conn_id: str = default_conn_name, region_id: str | None = None):
        key = (cls, pai_conn_id, region_id)
        now = time.monotonic()
        entry = AlibabaCloudBaseHook._shared_hooks.get(key)
        if entry is None or now - entry[0] > cls.shared_hook_ttl:
            entry = AlibabaCloudBaseHook._shared_hooks[key] = (now, cls(pai_conn_id=pai_conn_id, region_id=region_id))
        return entry[1]

    @staticmethod
    def clear_shared() -> None:
        """Forget every shared hook, so the next ``shared()`` reads its connection again."""
        AlibabaCloudBaseHook._shared_hooks.clear()

    __str__ = __repr__

    # ---- the connection as it is now (waits that outlive an edit) ------------------------------

    # A trigger keeps its (shared) hook for hours while the connection may be edited: keys rotated,
    # an endpoint or the region corrected. It re-reads the connection at most this often, and at
    # once before concluding from an answer that contradicts what its task recorded.
    connection_check_interval = 60.0
    _read_at = 0.0
    _digests: dict[str, str] | None = None

    def refresh_connection(self) -> list[str]:
        """Read the connection again (blocking). When it differs from the one the clients were built
        from, adopt it and forget those clients. Returns the names of the changed fields, [] if none."""
        conn = self.get_connection(self.pai_conn_id)
        with self._client_lock:
            self._read_at = time.monotonic()
            before = self._digests
            if before is None or "_connection" not in self.__dict__:
                return []  # not read yet: the first call reads it as it is now
            after = _field_digests(conn, _parse_extra(self.pai_conn_id, conn.extra))
            if after == before:
                return []
            self.__dict__["_connection"] = self._adopt(conn)
            self.__dict__.pop("credential_client", None)
            self._clients = {}
        return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))

    # A shared hook serves every wait of a triggerer: one read at a time, and an error or a
    # contradicting answer re-reads at most this often (1,000 waits under faults must not read the
    # connection 1,000 times a minute).
    connection_recheck_interval = 5.0
    _refreshing: asyncio.Future | None = None
    _generation = 0  # counts the edits adopted: a poll that began before one is asked again

    async def keep_current_async(self, *, now: bool = False) -> bool:
        """Re-read the connection if the last read is ``connection_check_interval`` old (or, with
        ``now``, ``connection_recheck_interval``); True when it changed, after which every call goes to
        the connection as it is now. Waits that ask while a read is under way share it."""
        if "_connection" not in self.__dict__:
            return False  # not read yet: the first call reads it as it is
        if self._refreshing is not None:
            return await asyncio.shield(self._refreshing)
        interval = self.connection_recheck_interval if now else self.connection_check_interval
        if time.monotonic() - self._read_at < interval:
            return False
        self._refreshing = asyncio.ensure_future(self._refresh_async())
        try:
            return await asyncio.shield(self._refreshing)
        finally:
            self._refreshing = None

    async def _refresh_async(self) -> bool:
        changed = await asyncio.to_thread(self.refresh_connection)
        if changed:
            self._generation += 1
            # Field names only: the values may be secrets.
            self.log.warning("Connection '%s' was edited (%s) while this wait ran: it goes on with the connection "
                             "as it is now", self.pai_conn_id, ", ".join(changed))
            await self.ready_async()
        return bool(changed)

    def current_poll(self, poll: Callable[[], Awaitable[Any]],
                     contradicts: Callable[[Any], bool] | None = None) -> Callable[[], Awaitable[Any]]:
        """``poll`` (for ``wait_until_async``) against the connection as it is now.

        The connection is re-read every ``connection_check_interval``. An error, or a result that
        ``contradicts`` what the task recorded (a newer EAS version than the one it deployed), is
        only believed once the connection was re-read and found unchanged since the poll began; when
        it changed, the poll is asked again through the new one: the old answer came from the old
        endpoint or keys.
        """
        async def current() -> Any:
            await self.keep_current_async()
            generation = self._generation
            try:
                result = await poll()
            except Exception:
                await self.keep_current_async(now=True)
                if self._generation != generation:
                    return await poll()
                raise
            if contradicts is not None and contradicts(result):
                await self.keep_current_async(now=True)
                if self._generation != generation:
                    return await poll()
            return result

        return current

    # ---- connection (read lazily, once) -------------------------------------------------------

    @cached_property
    def _connection(self):
        return self._adopt(self.get_connection(self.pai_conn_id))

    def _adopt(self, conn):
        """Check the connection, mask its secrets and keep its extra; the connection, unchanged."""
        # Mask as soon as read, before anything can log them.
        if conn.password:
            mask_secret(conn.password)
        if not conn.conn_type and "_cloud_pai//" in (conn.schema or ""):
            # Airflow cannot parse a URI scheme with "_" (RFC 3986): the whole URI, secret included,
            # lands in `schema`. Mask it and say which scheme to use.
            mask_secret(conn.schema)
            raise AirflowException(
                f"Connection '{self.pai_conn_id}' is a URI starting with 'alibaba_cloud_pai://', which Airflow "
                f"cannot parse (a URI scheme may not contain '_'): write it as "
                f"'alibaba-cloud-pai://<AccessKey ID>:<URL-encoded AccessKey secret>@/?region_id=cn-shanghai'"
            )
        self._extras = _parse_extra(self.pai_conn_id, conn.extra)
        if self._extras.get("security_token"):
            mask_secret(self._extras["security_token"])
        self._digests = _field_digests(conn, self._extras)
        self._read_at = time.monotonic()
        check_enumerated_extras(self.pai_conn_id, self._extras)  # typos fail here, before any call
        return conn

    @property
    def extras(self) -> dict[str, Any]:
        """The connection's extra as a dict (one clear error if it is not a JSON object)."""
        _ = self._connection  # reading the connection once parses its extra into self._extras
        return self._extras

    @property
    def region_id(self) -> str:
        region = self._region_id or self._connection_region()
        if not region:
            raise AirflowException(
                f"Connection '{self.pai_conn_id}' has no region_id: fill in Region ID in the connection form, "
                f'or set the extra {{"region_id": "cn-shanghai"}} (or pass region_id=... to the hook/operator)'
            )
        if not isinstance(region, str) or not _REGION_RE.fullmatch(region):
            raise AirflowException(
                f"Connection '{self.pai_conn_id}': region_id {region!r} is not a region id: expected lower-case "
                f"words joined by '-', e.g. cn-shanghai or ap-southeast-1"
            )
        check_region(self.pai_conn_id, region, "passed to the hook/operator" if self._region_id else "the connection")
        return region

    def _connection_region(self) -> str | None:
        """The extra region_id, else the form's Region ID (the Schema field, relabelled beside the keys)."""
        extra = self.extras.get("region_id")
        form = (self._connection.schema or "").strip() or None
        if extra and form and extra != form:
            raise AirflowException(
                f"Connection '{self.pai_conn_id}': Region ID in the form is {form!r} but the extra region_id is "
                f"{extra!r}: keep one of them"
            )
        return extra or form

    @property
    def auth_type(self) -> str:
        auth_type = self.extras.get("auth_type") or "access_key"
        if auth_type not in AUTH_TYPES:
            raise AirflowException(
                f"Connection '{self.pai_conn_id}': unknown auth_type {auth_type!r}; valid: {', '.join(AUTH_TYPES)}"
            )
        return auth_type

    def _field(self, name: str) -> Any:
        if name == "login":
            return self._connection.login
        if name == "password":
            return self._connection.password
        return self.extras.get(name)

    # ---- credentials (THE one path) -----------------------------------------------------------

    @cached_property
    def credential_client(self):
        """An ``alibabacloud_credentials`` client for the connection's auth_type (no network here)."""
        return build_credential_client(self.pai_conn_id, self.auth_type, self._field, self.extras)

    def oss_credentials_provider(self) -> OssCredentialsProvider:
        """Credentials for oss2's ``ProviderAuthV4``, from the same credentials client."""
        return OssCredentialsProvider(self.credential_client)

    # ---- endpoints ----------------------------------------------------------------------------

    def endpoint_type(self, service: str) -> str:
        """public or vpc: the extra ``<service>_endpoint_type``, else ``endpoint_type``, else public."""
        name = f"{service}_endpoint_type"
        value = self.extras.get(name)
        if value is None and service == "oss" and str(self.extras.get("oss_internal", "")).lower() in ("true", "1"):
            value = "vpc"  # the older boolean extra
        if value is None:
            name, value = "endpoint_type", self.extras.get("endpoint_type")
        value = str(value or "public").strip().lower()
        if value not in ENDPOINT_TYPES:
            raise AirflowException(
                f"Connection '{self.pai_conn_id}': extra {name} is {value!r}; valid: {', '.join(ENDPOINT_TYPES)}"
            )
        return value

    def endpoint(self, service: str) -> tuple[str, str]:
        """("host[:port]", "http"|"https") for dataworks|eas|oss: the extra override, else the region default."""
        if service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(SERVICES)}, got {service!r}")
        protocol = str(self.extras.get("protocol") or "https").strip().lower()
        if protocol not in ("http", "https"):
            raise AirflowException(f"Connection '{self.pai_conn_id}': extra protocol is {protocol!r}; valid: https, http")
        try:
            override = str(self.extras.get(f"{service}_endpoint") or "").strip()
            if override:
                return parse_endpoint(override, protocol, f"extra {service}_endpoint")
            host, warning = default_endpoint(service, self.region_id, self.endpoint_type(service))
        except EndpointError as exc:
            raise AirflowException(f"Connection '{self.pai_conn_id}': {exc}") from None
        if warning and (service, host) not in _warned:
            _warned.add((service, host))
            self.log.warning("Connection '%s': %s", self.pai_conn_id, warning)
        return host, protocol

    def endpoint_url(self, service: str) -> str:
        host, protocol = self.endpoint(service)
        return f"{protocol}://{host}"

    def tea_config(self, service: str):
        """A Tea OpenAPI ``Config`` for the DataWorks/EAS SDK clients."""
        from alibabacloud_tea_openapi.models import Config

        host, protocol = self.endpoint(service)
        return Config(credential=self.credential_client, endpoint=host, protocol=protocol,
                      region_id=self.region_id)

    def _cached_client(self, key: str, factory: Callable[[], Any]) -> Any:
        if key not in self._clients:
            self._clients[key] = factory()
        return self._clients[key]

    # ---- THE retry policy ---------------------------------------------------------------------

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        # Equal jitter: delay in [d/2, d] with d = base * 2^(attempt-1) capped, so it still grows.
        ceiling = min(self.retry_max_delay, self.retry_base_delay * 2 ** (attempt - 1))
        delay = ceiling / 2 + self._random.uniform(0, ceiling / 2)
        return max(delay, retry_after or 0.0)

    def _to_error(self, action: str, exc: BaseException) -> tuple[PaiApiError, bool, float | None] | None:
        found = classify(exc)
        if found is None:
            return None
        code, message, request_id, status, retry_after = found
        service = getattr(self, "service", "")
        region = self._region_id or self.extras.get("region_id") or self._connection.schema or ""
        hint = error_hint(action, code, self.pai_conn_id, service, message or "", region, self._host_of(service))
        err = PaiApiError(action, code, message, request_id, status, hint=hint)
        return err, is_retryable(code, status, action, message or ""), retry_after

    def _host_of(self, service: str) -> str:
        """The endpoint host of ``service`` for an error hint, or "" (never raises while reporting)."""
        if service not in SERVICES:
            return ""
        try:
            return self.endpoint(service)[0]
        except (AirflowException, ValueError):  # a hint must not hide the error it explains
            return ""

    def _next_delay(self, action, attempt, started, slept, err, retryable, retry_after) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if not retryable or attempt >= self.retry_max_attempts:
            return None
        delay = self._backoff(attempt, retry_after)
        # Time spent so far: wall clock, or the sum of the waits when the sleep is injected (tests).
        if max(time.monotonic() - started, slept) + delay > self.retry_max_time:
            return None
        self.log.warning(
            "%s failed with %s (HTTP %s, request id %s); retry %d of %d in %.1f s",
            action, err.code, err.status_code, err.request_id, attempt, self.retry_max_attempts - 1, delay,
        )
        return delay

    # A probe (``retry=False``) must say soon that it cannot answer: it gives up at this many server
    # errors (5xx), not after the policy's two minutes. Throttling and resets keep the policy: they say
    # "ask again shortly", and a probe that gave up on them would fail runs the policy rides out (at 10 %
    # 5xx, 1,000 deferred waits lost none in the distributed test only from 5 on; 3 lost some).
    probe_server_error_attempts = 5

    def _delay_or_raise(
        self, action: str, exc: Exception, attempt: int, started: float, slept: float, retry: bool = True,
        server_errors: list[int] | None = None,
    ) -> float:
        """Seconds to wait before the next attempt; else raise (a ``PaiApiError`` for API errors).

        ``server_errors``: the 5xx answers a ``retry=False`` call has had so far (counted here)."""
        found = self._to_error(action, exc)
        if found is None:
            raise exc
        err, retryable, retry_after = found
        if not retry and (err.status_code or 0) >= 500:
            seen = server_errors if server_errors is not None else [0]
            seen[0] += 1
            if seen[0] >= self.probe_server_error_attempts:
                raise err from None
        delay = self._next_delay(action, attempt, started, slept, err, retryable, retry_after)
        if delay is None:
            raise err from None
        return delay

    def call(
        self, action: str, fn: Callable[[], Any], *, is_done: Callable[[], Any] | None = None, retry: bool = True
    ) -> Any:
        """Run ``fn()`` under the retry policy; for a mutating call, ``is_done()`` is asked before each retry.

        ``retry=False``: a probe that must answer soon or say it cannot: it raises at the
        ``probe_server_error_attempts``-th server error (5xx), not after the policy's two minutes;
        throttling and resets are retried as everywhere (one policy, one classification).
        """
        started, slept = time.monotonic(), 0.0
        attempt, server_errors = 0, [0]
        while True:
            attempt += 1
            try:
                if attempt > 1 and is_done is not None:
                    done = is_done()
                    if done:
                        self.log.info("%s already took effect; not repeating it", action)
                        return done
                return fn()
            except Exception as exc:
                delay = self._delay_or_raise(action, exc, attempt, started, slept, retry, server_errors)
                self._sleep(delay)
                slept += delay

    def get_client(self) -> Any:
        """The service's SDK client, built once: each service hook defines it (``ready_async`` builds it)."""
        raise NotImplementedError(f"{type(self).__name__} defines no SDK client")

    # The _clients key of calls_client(); None: the service's name (the SDK client's key).
    calls_client_key: str | None = None

    def calls_client(self) -> Any:
        """The client the hook's own calls go through: its SDK client, unless the hook says otherwise."""
        return self.get_client()

    async def ready_async(self) -> None:
        """Read the connection, import the SDK and build the client in a worker thread, once.

        They block for seconds the first time; a triggerer's event loop serves every other trigger.
        """
        if (self.calls_client_key or getattr(self, "service", "")) not in self._clients:
            await asyncio.to_thread(self._build_client_once)

    def _build_client_once(self) -> None:
        with self._client_lock:
            self.calls_client()

    async def call_async(
        self, action: str, coro_fn: Callable[[], Awaitable[Any]], *, is_done: Callable[[], Any] | None = None,
        retry: bool = True,
    ) -> Any:
        """``call`` for coroutines (triggers): same policy, non-blocking sleeps."""
        started, slept = time.monotonic(), 0.0
        attempt, server_errors = 0, [0]
        while True:
            attempt += 1
            try:
                if attempt > 1 and is_done is not None:
                    done = is_done()
                    if asyncio.iscoroutine(done):
                        done = await done
                    if done:
                        self.log.info("%s already took effect; not repeating it", action)
                        return done
                return await coro_fn()
            except Exception as exc:
                delay = self._delay_or_raise(action, exc, attempt, started, slept, retry, server_errors)
                await self._async_sleep(delay)
                slept += delay
