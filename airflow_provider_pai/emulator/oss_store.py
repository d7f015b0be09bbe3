"""Emulated OSS objects on disk: one data file and one JSON metadata file per object.

Objects can be gigabytes (the export benchmark copies 2 GiB), so data never has to sit in memory:
writers stream into a temporary file and rename it into place.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

from .crc64 import crc64, crc64_combine


def _append(src: BinaryIO, dst: BinaryIO, size: int) -> None:
    """Append ``size`` bytes of ``src`` to ``dst``, in the kernel where it can (multipart objects are GiBs)."""
    dst.flush()
    start = size
    try:
        while size > 0 and (copied := os.copy_file_range(src.fileno(), dst.fileno(), size)):
            size -= copied
        return
    except (AttributeError, OSError):  # no copy_file_range on this platform/file system: copy in user space
        if size != start:
            raise
    shutil.copyfileobj(src, dst, 1 << 20)


@dataclass
class ObjectInfo:
    key: str
    size: int
    etag: str  # hex MD5 (upper case, as OSS shows it), without quotes
    crc64: str  # decimal string, as in x-oss-hash-crc64ecma
    content_type: str = "application/octet-stream"
    last_modified: float = field(default_factory=time.time)
    meta: dict = field(default_factory=dict)  # x-oss-meta-* without the prefix
    object_type: str = "Normal"  # "Multipart" when assembled from parts (its ETag is then "<md5>-<n>")


@dataclass
class PartInfo:
    number: int
    size: int
    etag: str  # hex MD5 of the part, upper case, without quotes
    crc64: str
    last_modified: float = field(default_factory=time.time)


class ObjectStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp = self.root / ".tmp"
        self.tmp.mkdir(exist_ok=True)

    # buckets
    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / "buckets" / bucket

    def create_bucket(self, bucket: str) -> None:
        (self._bucket_dir(bucket) / "objects").mkdir(parents=True, exist_ok=True)

    def bucket_exists(self, bucket: str) -> bool:
        return self._bucket_dir(bucket).is_dir()

    def buckets(self) -> list[str]:
        d = self.root / "buckets"
        return sorted(p.name for p in d.iterdir()) if d.is_dir() else []

    # objects
    def _paths(self, bucket: str, key: str) -> tuple[Path, Path]:
        name = hashlib.sha256(key.encode()).hexdigest()
        base = self._bucket_dir(bucket) / "objects" / name[:2]
        return base / (name + ".data"), base / (name + ".json")

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        _, meta_path = self._paths(bucket, key)
        try:
            return ObjectInfo(**json.loads(meta_path.read_text()))
        except FileNotFoundError:
            return None

    def data_path(self, bucket: str, key: str) -> Path:
        return self._paths(bucket, key)[0]

    def open(self, bucket: str, key: str) -> BinaryIO:
        return open(self.data_path(bucket, key), "rb")

    def get(self, bucket: str, key: str) -> bytes:
        return self.data_path(bucket, key).read_bytes()

    def new_temp_file(self) -> tuple[BinaryIO, Path]:
        fd, name = tempfile.mkstemp(dir=self.tmp)
        return os.fdopen(fd, "wb"), Path(name)

    def commit_file(
        self, bucket: str, key: str, tmp_path: Path, content_type: str | None = None, meta: dict | None = None
    ) -> ObjectInfo:
        """Move a fully written temporary file into place as the object (atomic per object)."""
        md5, crc = hashlib.md5(), 0
        with open(tmp_path, "rb") as f:
            while chunk := f.read(1 << 20):
                md5.update(chunk)
                crc = crc64(chunk, crc)
        info = ObjectInfo(
            key=key,
            size=tmp_path.stat().st_size,
            etag=md5.hexdigest().upper(),
            crc64=str(crc),
            content_type=content_type or "application/octet-stream",
            meta=meta or {},
        )
        return self.commit_with_info(bucket, tmp_path, info)

    def commit_with_info(self, bucket: str, tmp_path: Path, info: ObjectInfo) -> ObjectInfo:
        data_path, meta_path = self._paths(bucket, info.key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_path, data_path)
        tmp_meta = meta_path.with_suffix(".json.tmp")
        tmp_meta.write_text(json.dumps(asdict(info)))
        os.replace(tmp_meta, meta_path)
        return info

    def put(self, bucket: str, key: str, data: bytes, content_type: str | None = None, meta: dict | None = None) -> ObjectInfo:
        self.create_bucket(bucket)
        f, tmp_path = self.new_temp_file()
        with f:
            f.write(data)
        return self.commit_file(bucket, key, tmp_path, content_type, meta)

    def copy(
        self, src_bucket: str, src_key: str, dst_bucket: str, dst_key: str,
        content_type: str | None = None, meta: dict | None = None,
    ) -> ObjectInfo:
        """Server-side copy; ``content_type``/``meta`` replace the source's (x-oss-metadata-directive REPLACE)."""
        src = self.head(src_bucket, src_key)
        if src is None:
            raise KeyError(src_key)
        f, tmp_path = self.new_temp_file()
        f.close()
        tmp_path.unlink()
        try:  # object files are never modified in place (writers os.replace them), so a hard link is a copy
            os.link(self.data_path(src_bucket, src_key), tmp_path)
        except OSError:
            shutil.copyfile(self.data_path(src_bucket, src_key), tmp_path)
        info = ObjectInfo(**{**asdict(src), "key": dst_key, "last_modified": time.time()})
        if content_type is not None:
            info.content_type = content_type
        if meta is not None:
            info.meta = meta
        return self.commit_with_info(dst_bucket, tmp_path, info)

    def delete(self, bucket: str, key: str) -> bool:
        data_path, meta_path = self._paths(bucket, key)
        existed = meta_path.exists()
        for p in (meta_path, data_path):
            p.unlink(missing_ok=True)
        return existed

    def list(self, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
        """All objects under ``prefix``, sorted by key."""
        objects_dir = self._bucket_dir(bucket) / "objects"
        infos = []
        for meta_path in objects_dir.glob("*/*.json"):
            try:
                info = ObjectInfo(**json.loads(meta_path.read_text()))
            except FileNotFoundError:
                continue
            if info.key.startswith(prefix):
                infos.append(info)
        return iter(sorted(infos, key=lambda i: i.key))

    # multipart uploads: one directory per upload under the tmp area, one data + one JSON file per part
    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise KeyError(upload_id)
        return self.tmp / "uploads" / upload_id

    def init_upload(self, bucket: str, key: str, content_type: str | None = None, meta: dict | None = None) -> str:
        upload_id = uuid.uuid4().hex.upper()
        d = self._upload_dir(upload_id)
        d.mkdir(parents=True)
        info = {"bucket": bucket, "key": key, "content_type": content_type, "meta": meta or {},
                "initiated": time.time()}
        (d / "upload.json").write_text(json.dumps(info))
        return upload_id

    def upload_info(self, upload_id: str) -> dict | None:
        """{bucket, key, content_type, meta, initiated} of a live upload, else None."""
        try:
            return json.loads((self._upload_dir(upload_id) / "upload.json").read_text())
        except (FileNotFoundError, KeyError):
            return None

    def put_part(self, upload_id: str, info: PartInfo, tmp_path: Path) -> PartInfo:
        """Move a fully written temporary file into place as part ``info.number`` (replacing an earlier one)."""
        d = self._upload_dir(upload_id)
        os.replace(tmp_path, d / f"{info.number:05d}.data")
        tmp_meta = d / f"{info.number:05d}.json.tmp"
        tmp_meta.write_text(json.dumps(asdict(info)))
        os.replace(tmp_meta, d / f"{info.number:05d}.json")
        return info

    # builtins.list: in the class body, ``list`` is now the method above
    def list_parts(self, upload_id: str) -> builtins.list[PartInfo]:
        d = self._upload_dir(upload_id)
        return [PartInfo(**json.loads(p.read_text())) for p in sorted(d.glob("*.json")) if p.name != "upload.json"]

    def complete_upload(self, upload_id: str, part_numbers: builtins.list[int]) -> ObjectInfo:
        """Concatenate the given parts into the object; ETag as OSS makes it (MD5 of the part MD5s, -n)."""
        upload, d = self.upload_info(upload_id), self._upload_dir(upload_id)
        if upload is None:  # aborted since the handler checked it: as unknown as a malformed id
            raise KeyError(upload_id)
        parts = {p.number: p for p in self.list_parts(upload_id)}
        f, tmp_path = self.new_temp_file()
        crc, size, md5s = 0, 0, hashlib.md5()
        with f:
            for n in part_numbers:
                part = parts[n]
                md5s.update(bytes.fromhex(part.etag))
                crc, size = crc64_combine(crc, int(part.crc64), part.size), size + part.size
                with open(d / f"{n:05d}.data", "rb") as src:
                    _append(src, f, part.size)
        info = ObjectInfo(
            key=upload["key"], size=size, etag=f"{md5s.hexdigest().upper()}-{len(part_numbers)}", crc64=str(crc),
            content_type=upload["content_type"] or "application/octet-stream", meta=upload["meta"],
            object_type="Multipart",
        )
        self.commit_with_info(upload["bucket"], tmp_path, info)
        self.abort_upload(upload_id)
        return info

    def abort_upload(self, upload_id: str) -> bool:
        d = self._upload_dir(upload_id)
        existed = d.is_dir()
        shutil.rmtree(d, ignore_errors=True)
        return existed
