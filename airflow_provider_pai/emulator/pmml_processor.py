"""The EAS ``pmml`` processor: find the PMML document under a model path, load it, score a request.

docs/cloud-fidelity.md F-PMML-1..4. The document is the ``.pmml`` (else ``.xml``) object the model
path names, or the shortest such key under the directory it names.
"""

from __future__ import annotations

import json

from . import eas_state as S
from .pmml import PmmlError, load, score

SUFFIXES = (".pmml", ".xml")


def document_key(store, model_path: str) -> str | None:
    keys = S.model_keys(store, model_path)
    for suffix in SUFFIXES:
        found = [k for k in keys if k.lower().endswith(suffix)]
        if found:
            return min(found, key=len)
    return None


def load_model(store, model_path: str):
    """The loaded model, or a string saying why it cannot be loaded (as an instance would log it)."""
    where, key = S.split_oss(model_path), document_key(store, model_path)
    if where is None or key is None:
        return f"no .pmml or .xml model file under {model_path}"
    bucket = where[0]
    try:
        return load(store.get(bucket, key))
    except OSError as exc:
        return f"{key} cannot be read: {exc}"
    except PmmlError as exc:
        return f"failed to load PMML model {key}: {exc}"


def check(store, model_path: str) -> str | None:
    """None if an instance could load the model (EAS loads it at start: F-PMML-4), else why not."""
    model = load_model(store, model_path)
    return model if isinstance(model, str) else None


def pmml_predict(store, model_path: str, body: bytes) -> tuple[int, object]:
    model = load_model(store, model_path)
    if isinstance(model, str):
        return 500, model
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return 400, 'request body must be a JSON array of records, e.g. [{"field": 1.0}]'
    try:
        return 200, score(model, payload)
    except PmmlError as exc:
        return 400, str(exc)
