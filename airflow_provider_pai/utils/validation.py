"""Parameter checks shared by the operators: fail before the first remote call, naming the fix.

Each check raises ``PaiParameterError`` (a ``ValueError``) whose message names the parameter,
the offending value and what a valid value looks like. Never pass secrets through these.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

# The patterns of this package stay strings: ``re`` compiles (and caches) one on its first use,
# not when a DAG file imports the module.
# OSS bucket naming rules: 3-63 characters, lowercase letters, digits and hyphens, starting and
# ending with a lowercase letter or digit.
_BUCKET_RE = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
# OSS object keys: 1-1023 bytes of UTF-8, not starting with "/" or "\".
_MAX_KEY_BYTES = 1023
# EAS service names (PAI console rule): a lowercase letter first, then lowercase letters, digits
# and underscores; at most 64 characters. The name is part of the endpoint path
# (/api/predict/<name>), hence no hyphens, dots or spaces.
_EAS_SERVICE_RE = r"^[a-z][a-z0-9_]{0,63}$"

PROJECT_ENVS = ("PROD", "DEV")
RUN_MODES = ("backfill", "manual")


class PaiParameterError(ValueError):
    """A parameter failed validation; the message names it and the fix."""


_BUCKET_RULE = "3-63 characters: lowercase letters, digits and hyphens, starting and ending with a letter or digit"


def _fail(param: str, value: Any, fix: str) -> PaiParameterError:
    return PaiParameterError(f"Invalid {param}={value!r}: {fix}")


def validate_bucket_name(bucket: Any, param: str = "bucket") -> str:
    if not isinstance(bucket, str) or not re.fullmatch(_BUCKET_RE, bucket):
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
    if not isinstance(name, str) or not re.fullmatch(_EAS_SERVICE_RE, name):
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


# EAS DescribeService Status values (reference: EAS OpenAPI 2021-07-01, "Service object and status";
# docs/cloud-fidelity.md F-USE-2): what EasServiceSensor(target_status=...) may wait for.
EAS_STATUSES = ("Creating", "Deploying", "Stopped", "Failed", "Complete", "Cloning", "Stopping", "Updating", "Waiting",
                "HotUpdate", "Committing", "Starting", "DeleteFailed", "Running", "Developing", "Scaling",
                "Deleted", "Pending", "Deleting")
# F-USE-1: EAS downloads an http(s) model_path as one package: TAR, GZ, BZ2 or ZIP.
MODEL_PACKAGE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".gz", ".tar.bz2", ".bz2", ".zip")


def is_templated(value: Any) -> bool:
    """A string Airflow will still render (checked at run time, not at DAG parse time)."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def validate_choice(value: Any, param: str, choices: tuple[str, ...], what: str = "") -> str:
    """One of ``choices`` exactly (case matters, as on the wire); the error suggests the right case."""
    if isinstance(value, str) and value in choices:
        return value
    near = [c for c in choices if isinstance(value, str) and c.lower() == value.strip().lower()]
    hint = f"did you mean {near[0]!r}? " if near else ""
    listed = ", ".join(repr(c) for c in choices)
    raise _fail(param, value, f"{hint}use one of {listed}{' (' + what + ')' if what else ''}; case matters.")


def validate_workers(value: Any, param: str = "max_workers") -> int:
    """A count of parallel workers: a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(param, value, "expected a whole number of parallel copies, at least 1, e.g. 4.")
    return value


def validate_patterns(value: Any, param: str = "include") -> list[str] | None:
    """None, one glob pattern, or a list of them (non-empty strings)."""
    if value is None:
        return None
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, (list, tuple)) or not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise _fail(param, value, "expected a glob pattern or a list of them, e.g. ['*.json', 'assets/*'].")
    return list(patterns)


def validate_version(value: Any, param: str = "version") -> int:
    """An EAS service version: a positive integer (digit strings accepted)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(param, value, "expected a service version number (1, 2, ...), e.g. version=1.")
    return value


def validate_model_path(value: Any, param: str = "model_path") -> str:
    """``oss://bucket/path`` (a directory or a package), or an http(s) URL of a TAR/GZ/BZ2/ZIP package."""
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        from urllib.parse import urlsplit

        path = urlsplit(value).path.lower()
        if not path.endswith(MODEL_PACKAGE_SUFFIXES):
            raise _fail(
                param, value,
                "an http(s) model_path must name a TAR, GZ, BZ2 or ZIP package that EAS downloads and "
                "unpacks, e.g. 'https://example.com/models/model.tar.gz'; for a directory use an oss:// path.",
            )
        return value
    if isinstance(value, str) and value.startswith("oss://"):
        parse_oss_uri(value, param)
        return value
    raise _fail(param, value, "expected an oss:// path such as 'oss://my-bucket/models/churn/' or an http(s) "
                              "URL of a TAR, GZ, BZ2 or ZIP package.")


def validate_destination(uri: Any, param: str = "destination", allow_bucket_root: bool = False) -> tuple[str, str]:
    """An ``oss://bucket/prefix/`` to write into; the bucket root only when asked for."""
    bucket, key = parse_oss_uri(uri, param)
    if not key.strip("/") and not allow_bucket_root:
        raise _fail(
            param, uri,
            "it names the bucket root, so the export would mix the model files with everything else in the "
            f"bucket; give a prefix such as 'oss://{bucket}/models/churn/{{{{ ds_nodash }}}}/', or pass "
            "allow_bucket_root=True to write at the root on purpose.",
        )
    return bucket, key


def is_runtime_value(value: Any) -> bool:
    """Known only when the task runs: a template string, an XComArg or a mapped task group argument."""
    if is_templated(value):
        return True
    name = type(value).__name__
    return "XComArg" in name or name in ("MappedArgument", "MappedArgumentRef") or hasattr(value, "resolve")


_LAZY_ITEMS = r"^Lazy\w*Sequence\(\[(\d+) items?\]\)$"


def list_length(value: Any) -> int | None:
    """N when ``value`` is N values where one is expected: a list, or the text a template renders
    from one (``"['a', 'b']"``, Airflow 2's ``"LazyXComSelectSequence([2 items])"``); else None."""
    if isinstance(value, (list, tuple)):
        return len(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    lazy = re.match(_LAZY_ITEMS, text)
    if lazy:
        return int(lazy.group(1))
    if text.startswith("[") and text.endswith("]"):
        import ast

        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
        return len(parsed) if isinstance(parsed, list) else None
    return None


def refuse_list(value: Any, param: str) -> None:
    """A list where one value is expected: most often every map index of a mapped upstream task."""
    count = list_length(value)
    if count is not None:
        raise _fail(
            param, value,
            f"got a list of {count} values where one is expected: pulled from a mapped task without a map "
            "index? Pull this task's own with \"{{ ti.xcom_pull(task_ids='...', map_indexes=ti.map_index) }}\" "
            "or map this task over the other's output (.expand(...=other.output)).",
        )
