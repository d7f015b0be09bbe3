"""Model packages given to EAS as an http(s) URL (F-USE-1): a TAR, GZ, BZ2 or ZIP file.

The emulator reaches no network: it serves URLs that name one of its own OSS objects path style
(``http://<anything>/<bucket>/<key>``, e.g. ``<emulator url>/pai-demo/models/m.tar.gz``), and
reads the package's files from that object.
"""

from __future__ import annotations

import bz2
import gzip
import io
import tarfile
import zipfile
from urllib.parse import urlsplit

# F-USE-1: "If you set this parameter to an HTTP URL, the files must be in TAR, GZ, BZ2, or ZIP format."
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".gz", ".tar.bz2", ".bz2", ".zip")


def is_http(model_path: str) -> bool:
    return isinstance(model_path, str) and model_path.lower().startswith(("http://", "https://"))


def http_model_files(store, url: str) -> dict[str, bytes] | str:
    """{file name: content} of the package at ``url``, or why EAS could not load it."""
    parts = urlsplit(url)
    if not parts.path.lower().endswith(ARCHIVE_SUFFIXES):
        return f"failed to download model from {url}: an HTTP model must be a TAR, GZ, BZ2 or ZIP file"
    bucket, _, key = parts.path.lstrip("/").partition("/")
    if not bucket or not key or not store.bucket_exists(bucket) or store.head(bucket, key) is None:
        return f"failed to download model from {url}: HTTP 404 (the emulator serves its own OSS objects only)"
    data = store.get(bucket, key)
    try:
        return _unpack(data, key.rsplit("/", 1)[-1])
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, ValueError) as exc:
        return f"failed to unpack model package {url}: {exc}"


def _unpack(data: bytes, name: str) -> dict[str, bytes]:
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return {n.rsplit("/", 1)[-1]: z.read(n) for n in z.namelist() if not n.endswith("/")}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as t:
            return {m.name.rsplit("/", 1)[-1]: f.read() for m in t.getmembers()
                    if m.isfile() and (f := t.extractfile(m)) is not None}
    except tarfile.ReadError:
        pass  # a single compressed file, not a tar
    opener = bz2.decompress if name.lower().endswith(".bz2") else gzip.decompress
    base = name.rsplit(".", 1)[0]
    return {base: opener(data)}
