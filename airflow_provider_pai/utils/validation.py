"""Parameter checks shared by the operators: fail before the first remote call, naming the fix.

Each check raises ``PaiParameterError`` (a ``ValueError``) whose message names the parameter,
the offending value and what a valid value looks like. Never pass secrets through these.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

# OSS bucket naming rules: 3-63 characters, lowercase letters, digits and hyphens, starting and
# ending with a lowercase letter or digit.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# OSS object keys: 1-1023 bytes of UTF-8, not starting with "/" or "\".
_MAX_KEY_BYTES = 1023
# EAS service names (PAI console rule): a lowercase letter first, then lowercase letters, digits
# and underscores; at most 64 characters. The name is part of the endpoint path
# (/api/predict/<name>), hence no hyphens, dots or spaces.
_EAS_SERVICE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

PROJECT_ENVS = ("PROD", "DEV")
RUN_MODES = ("backfill", "manual")


class PaiParameterError(ValueError):
    """A parameter failed validation; the message names it and the fix."""


_BUCKET_RULE = "3-63 characters: lowercase letters, digits and hyphens, starting and ending with a letter or digit"


def _fail(param: str, value: Any, fix: str) -> PaiParameterError:
    return PaiParameterError(f"Invalid {param}={value!r}: {fix}")


def validate_bucket_name(bucket: Any, param: str = "bucket") -> str:
    if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket):
        raise _fail(
            param,
            bucket,
            f"an OSS bucket name has {_BUCKET_RULE}.",
        )
    return bucket


def parse_oss_uri(uri: Any, param: str = "source") -> tuple[str, str]:
    """Split ``oss://bucket/key`` into (bucket, key); the key may be empty (bucket root or prefix)."""
    if not isinstance(uri, str) or not uri.startswith("oss://"):
        raise _fail(param, uri, "expected an OSS URI such as 'oss://my-bucket/path/to/model/'.")
    bucket, _, key = uri[len("oss://") :].partition("/")
    if not bucket:
        raise _fail(param, uri, "the URI names no bucket; use 'oss://<bucket>/<key>'.")
    try:
        validate_bucket_name(bucket, param)
    except PaiParameterError:
        raise _fail(
            param,
            uri,
            f"bucket {bucket!r} is not a valid OSS bucket name ({_BUCKET_RULE}).",
        ) from None
    if key.startswith(("/", "\\")):
        raise _fail(param, uri, "the object key must not start with '/' or '\\'; remove the extra slash.")
    if len(key.encode("utf-8")) > _MAX_KEY_BYTES:
        raise _fail(param, uri, f"the object key is longer than {_MAX_KEY_BYTES} bytes.")
    return bucket, key


def validate_eas_service_name(name: Any, param: str = "service_name") -> str:
    if not isinstance(name, str) or not _EAS_SERVICE_RE.fullmatch(name):
        raise _fail(
            param,
            name,
            "an EAS service name starts with a lowercase letter and has at most 64 lowercase "
            "letters, digits or underscores (no hyphens, dots or spaces), e.g. 'churn_model'.",
        )
    return name


def validate_bizdate(value: Any, param: str = "bizdate") -> str:
    """Return the business date as ``YYYY-MM-DD``; accepts ``YYYY-MM-DD``, ``YYYYMMDD`` or a date."""
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    fix = "use a real calendar date as 'YYYY-MM-DD' or 'YYYYMMDD', e.g. '2026-01-31' or '{{ ds }}'."
    if not isinstance(value, str):
        raise _fail(param, value, fix)
    text = value.strip()
    for pattern, fmt in ((r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "%Y-%m-%d"), (r"[0-9]{8}", "%Y%m%d")):
        if re.fullmatch(pattern, text):
            try:
                return datetime.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                raise _fail(param, value, fix) from None
    raise _fail(param, value, fix)


def validate_positive(value: Any, param: str) -> float:
    """A timeout or interval in seconds: a real number > 0 (bools and NaN/inf rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise _fail(param, value, "expected a number of seconds greater than 0, e.g. 60.")
    return value


def validate_project_env(value: Any, param: str = "project_env") -> str:
    if value not in PROJECT_ENVS:
        raise _fail(param, value, "use 'PROD' (production) or 'DEV' (development), in capitals.")
    return value


def validate_run_mode(value: Any, param: str = "run_mode") -> str:
    if value not in RUN_MODES:
        raise _fail(
            param,
            value,
            "use 'backfill' (RunCycleDagNodes, for auto-triggered nodes) or 'manual' "
            "(RunManualDagNodes, for nodes in a manually triggered workflow).",
        )
    return value


def validate_int_id(value: Any, param: str) -> int:
    """A positive integer id (DataWorks node/instance/project ids); digit strings are converted."""
    if isinstance(value, bool):
        raise _fail(param, value, "expected a positive integer id, e.g. 700001.")
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        value = int(value.strip())
    if not isinstance(value, int) or value <= 0:
        raise _fail(param, value, "expected a positive integer id, e.g. 700001.")
    return value
