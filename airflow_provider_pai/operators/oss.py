"""Copy a trained model to its release location in OSS, server side, with a manifest written last.

No model byte passes through the worker: objects up to ``multipart_threshold`` are copied with
CopyObject, bigger ones with multipart UploadPartCopy (parts in parallel). Each copy is checked
against the source (size and CRC64 from HeadObject); ``_manifest.json`` is written only after
all of them, so a reader that waits for the manifest never sees a half-done export.
"""

from __future__ import annotations

import fnmatch
import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Sequence

from airflow.providers.common.compat.sdk import AirflowException, Asset, AssetAlias

from airflow_provider_pai.links.oss import OssObjectLink
from airflow_provider_pai.mixins.hook import OSS_HOOK
from airflow_provider_pai.operators.base import PaiBaseOperator, pai_template_fields
from airflow_provider_pai.utils.validation import (
    PaiParameterError,
    is_runtime_value,
    parse_oss_uri,
    validate_destination,
    validate_patterns,
    validate_positive,
    validate_workers,
)
from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_pai.hooks.oss import OssHook


MANIFEST_NAME = "_manifest.json"
GiB, MiB = 1024**3, 1024**2
# OSS refuses a single CopyObject above 1 GB.
MAX_SINGLE_COPY = 1 * GiB


def _mib(n: int) -> str:
    return f"{n / MiB:.1f} MiB"


class ExportModelToOSSOperator(PaiBaseOperator["OssHook"]):
    """Copy ``source`` (an ``oss://`` object or prefix) to the ``destination`` prefix and return it.

    :param source: ``oss://bucket/key`` of one object, or a prefix (trailing ``/`` optional).
    :param destination: ``oss://bucket/prefix/`` to copy into (relative paths are kept).
    :param include: glob patterns on the path relative to ``source`` (default: everything).
    :param overwrite: replace a destination that holds a different export instead of failing.
    :param multipart_threshold: objects larger than this (bytes) use multipart copy (max 1 GiB).
    :param part_size: multipart part size in bytes.
    :param max_workers: objects (or parts) copied in parallel.
    :param allow_bucket_root: allow a ``destination`` that is a bucket's root (``oss://bucket``),
        refused by default: the export would mix with everything else in the bucket.

    ``pai_conn_id`` and ``region_id``: see ``PaiBaseOperator``. The copy runs server side and
    returns within the task, so there is no deferrable mode.

    The destination is an Airflow asset (``oss://bucket/prefix``): declared as the outlet when
    ``destination`` is a plain string, else (Airflow 3) added at run time to the outlet alias
    ``<dag_id>.<task_id>`` so downstream DAGs can be scheduled on a new model either way.
    """

    hook_class_path = OSS_HOOK
    supports_deferral = False
    operator_extra_links = (OssObjectLink(),)
    template_fields: Sequence[str] = pai_template_fields("source", "destination", "include")

    def __init__(
        self,
        *,
        source: str,
        destination: str,
        include: list[str] | str | None = None,
        overwrite: bool = False,
        multipart_threshold: int = MAX_SINGLE_COPY,
        part_size: int = 256 * MiB,
        max_workers: int = 4,
        allow_bucket_root: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.destination = destination
        self.include = include
        self.overwrite = overwrite
        self.multipart_threshold = int(validate_positive(multipart_threshold, "multipart_threshold"))
        if self.multipart_threshold > MAX_SINGLE_COPY:
            raise PaiParameterError(
                f"Invalid multipart_threshold={multipart_threshold!r}: OSS copies at most 1 GiB "
                f"({MAX_SINGLE_COPY}) in one CopyObject; use a value up to that."
            )
        self.part_size = int(validate_positive(part_size, "part_size"))
        self.max_workers = validate_workers(max_workers, "max_workers")
        self.allow_bucket_root = allow_bucket_root
        # What is known now is checked now (DAG parse time); templated values once rendered.
        if not is_runtime_value(include):
            validate_patterns(include, "include")
        if not is_runtime_value(source):
            parse_oss_uri(source, param="source")
        templated = is_runtime_value(destination)
        if not templated:
            validate_destination(destination, "destination", allow_bucket_root)
        if not self.outlets:
            if not templated:
                self.outlets = [Asset(destination)]
            elif AIRFLOW_V_3_0_PLUS:
                self.outlets = [AssetAlias(name=self.alias_name)]
            # Below Airflow 3 a templated destination declares no outlet: an alias outlet makes
            # `airflow dags test` fail until `airflow dags reserialize` has run (apache/airflow#42495).

    @property
    def alias_name(self) -> str:
        return f"{self.dag_id}.{self.task_id}"

    # -- planning (read only) ------------------------------------------------------------------

    def _patterns(self) -> list[str]:
        return validate_patterns(self.include, "include") or []

    def plan(self, src_bucket: str, src_key: str) -> list[dict]:
        """[{path, src_key, size, crc64}] of the objects to copy, sorted by path."""
        patterns = self._patterns()
        single = self.hook.head_object(src_bucket, src_key) if src_key and not src_key.endswith("/") else None
        if single is not None:
            prefix = src_key.rsplit("/", 1)[0] + "/" if "/" in src_key else ""
            candidates = [{"key": src_key, "size": single["size"]}]
        else:
            prefix = src_key if not src_key or src_key.endswith("/") else src_key + "/"
            candidates = self.hook.list_objects(src_bucket, prefix=prefix)
        files = []
        for obj in candidates:
            path = obj["key"][len(prefix):]
            if not path or path.endswith("/") or path == MANIFEST_NAME:  # folder markers, an older manifest
                continue
            if patterns and not any(fnmatch.fnmatchcase(path, p) for p in patterns):
                continue
            head = single if single is not None else self.hook.head_object(src_bucket, obj["key"])
            if head is None:
                raise AirflowException(f"oss://{src_bucket}/{obj['key']} disappeared while the export was planned.")
            files.append({"path": path, "src_key": obj["key"], "size": head["size"], "crc64": _crc(head)})
        if not files:
            what = f" matching include={patterns}" if patterns else ""
            raise AirflowException(
                f"Nothing to export: no objects{what} under source={self.source!r}. Check that the training "
                "run wrote its model there (and the include patterns)."
            )
        return sorted(files, key=lambda f: f["path"])

    def existing_manifest(self, bucket: str, key: str) -> dict | None:
        if self.hook.head_object(bucket, key) is None:
            return None
        try:
            return json.loads(self.hook.get_object(bucket, key))
        except ValueError:
            return {}

    # -- copying --------------------------------------------------------------------------------

    def copy_one(self, src_bucket: str, f: dict, dst_bucket: str, dst_key: str) -> None:
        if f["size"] > self.multipart_threshold:
            self.hook.multipart_copy(
                src_bucket, f["src_key"], dst_bucket, dst_key,
                size=f["size"], part_size=self.part_size, max_workers=self.max_workers,
            )
        else:
            self.hook.copy_object(src_bucket, f["src_key"], dst_bucket, dst_key)
        head = self.hook.head_object(dst_bucket, dst_key)
        if head is None or head["size"] != f["size"] or (f["crc64"] and _crc(head) != f["crc64"]):
            got = "nothing" if head is None else f"size {head['size']}, CRC64 {_crc(head)}"
            raise AirflowException(
                f"Copy check failed for oss://{dst_bucket}/{dst_key}: expected size {f['size']}, CRC64 "
                f"{f['crc64']} (the source), found {got}. Rerun the task; the manifest was not written."
            )

    def execute(self, context: Context) -> str:
        src_bucket, src_key = parse_oss_uri(self.source, param="source")
        dst_bucket, dst_prefix = validate_destination(self.destination, "destination", self.allow_bucket_root)
        if dst_prefix and not dst_prefix.endswith("/"):
            dst_prefix += "/"
        dest_uri = f"oss://{dst_bucket}/{dst_prefix}"
        url = OssObjectLink.persist(context, region_id=self.hook.region_id, bucket=dst_bucket, prefix=dst_prefix)
        self.log.info("Destination in the OSS console: %s", url)
        files = self.plan(src_bucket, src_key)
        total = sum(f["size"] for f in files)
        manifest_key = dst_prefix + MANIFEST_NAME
        wanted = [{k: f[k] for k in ("path", "size", "crc64")} for f in files]

        old = self.existing_manifest(dst_bucket, manifest_key)
        if old is not None and old.get("files") == wanted:
            self.log.info("%s already holds this export (%d files, %s); nothing to copy.", dest_uri, len(files), _mib(total))
            self._emit_asset(context, dest_uri)
            return dest_uri
        todo, conflicts = [], []
        for f in files:
            head = self.hook.head_object(dst_bucket, dst_prefix + f["path"])
            if head is not None and head["size"] == f["size"] and f["crc64"] and _crc(head) == f["crc64"]:
                continue  # copied by an earlier, unfinished try
            if head is not None:
                conflicts.append(f["path"])
            todo.append(f)
        if (old is not None or conflicts) and not self.overwrite:
            why = "a different export (its _manifest.json differs)" if old is not None else f"different objects {conflicts[:5]}"
            raise AirflowException(
                f"destination={dest_uri!r} already holds {why}. Choose a new destination (e.g. with "
                "{{ ds_nodash }} in it) or pass overwrite=True to replace it."
            )
        if old is not None:  # a half-done overwrite must not pass for the old, finished export
            self.hook.delete_object(dst_bucket, manifest_key)

        self.log.info(
            "Exporting %d files (%s) from %s to %s; %d already there.",
            len(files), _mib(total), self.source, dest_uri, len(files) - len(todo),
        )
        done_bytes = total - sum(f["size"] for f in todo)
        small = [f for f in todo if f["size"] <= self.multipart_threshold]
        large = [f for f in todo if f["size"] > self.multipart_threshold]
        copied = len(files) - len(todo)
        with ThreadPoolExecutor(max_workers=self.max_workers) as pool:
            futures = [(f, pool.submit(self.copy_one, src_bucket, f, dst_bucket, dst_prefix + f["path"])) for f in small]
            for f, future in futures:
                future.result()
                copied, done_bytes = copied + 1, done_bytes + f["size"]
                self.log.info("Copied %s (%d/%d files, %s of %s).", f["path"], copied, len(files), _mib(done_bytes), _mib(total))
        for f in large:  # multipart: its parts already run max_workers at a time
            self.copy_one(src_bucket, f, dst_bucket, dst_prefix + f["path"])
            copied, done_bytes = copied + 1, done_bytes + f["size"]
            self.log.info("Copied %s by multipart (%d/%d files, %s of %s).", f["path"], copied, len(files), _mib(done_bytes), _mib(total))

        manifest = {
            "source": self.source,
            "destination": dest_uri,
            "dag_id": context["ti"].dag_id,
            "run_id": context["ti"].run_id,
            "task_id": context["ti"].task_id,
            "total_bytes": total,
            "files": wanted,
        }
        self.hook.put_object(dst_bucket, manifest_key, json.dumps(manifest, indent=2), content_type="application/json")
        self.log.info("Export complete: %d files, %s at %s (manifest %s).", len(files), _mib(total), dest_uri, MANIFEST_NAME)
        self._emit_asset(context, dest_uri)
        return dest_uri

    def get_openlineage_facets_on_complete(self, task_instance):
        """The source object or prefix -> the destination prefix (docs/lineage.md)."""
        from airflow_provider_pai.utils.openlineage import oss_copy

        return oss_copy(self.source, self.destination)  # both rendered by now

    def _emit_asset(self, context: Context, dest_uri: str) -> None:
        """Attach the rendered destination to the outlet alias (a templated destination)."""
        alias = AssetAlias(name=self.alias_name)
        if any(isinstance(o, AssetAlias) and o.name == alias.name for o in self.outlets or []):
            context["outlet_events"][alias].add(Asset(dest_uri))


def _crc(head: dict) -> str | None:
    value = head.get("crc64")
    return None if value in (None, "") else str(value)
