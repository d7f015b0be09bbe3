"""Write docs/request-fields.md from the request/response spec and the INSTALLED SDK models.

The spec (``airflow_provider_pai/hooks/request_fields.py``) says, for each SDK request the provider
builds, which fields it sends and why it leaves out the others. This script reads each request
model class (Tea/Darabonba models: ``__init__`` parameters with their doc comments, ``to_map`` wire
names, nested model classes) so the page lists every field the pinned SDK has, with its docstring.

    python scripts/gen_request_fields.py          # rewrite docs/request-fields.md
    python scripts/gen_request_fields.py --check  # exit 1 if the page is stale

``tests/contracts/test_request_fields.py`` uses the same functions: a field in neither list, a
stale page or a read response path the model lacks fails there.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "request-fields.md"

_WIRE = re.compile(r"if self\.(\w+) is not None:\s*\n\s*result\['([^']+)'\]")
# lists and maps: ``result['Tags'] = []`` comes before ``if self.tags is not None:``
_WIRE_LIST = re.compile(r"result\['([^']+)'\] = (?:\[\]|\{\})\s*\n\s*if self\.(\w+) is not None:")
_PARAM = re.compile(r"^\s+(\w+):\s*([^=]+?)\s*=\s*None,?\s*$")
_MODEL_REF = re.compile(r"(?:main_models|models)?\.?([A-Z]\w+)")


@dataclass
class Field:
    """One field of an SDK model: its wire name, the Python attribute, its doc and nested model."""

    wire: str
    attr: str
    doc: str
    nested: type | None = None
    is_list: bool = False
    children: dict[str, Field] = field(default_factory=dict)


def model_class(module: str, name: str) -> type:
    return getattr(importlib.import_module(module), name)


def _docs(init_source: str) -> dict[str, str]:
    """``{attr: comment}`` from the ``# ...`` lines right above each ``self.attr = attr``."""
    docs: dict[str, str] = {}
    pending: list[str] = []
    for line in init_source.splitlines():
        text = line.strip()
        if text.startswith("#"):
            pending.append(text.lstrip("#").strip())
            continue
        found = re.match(r"self\.(\w+)\s*=", text)
        if found:
            docs[found.group(1)] = " ".join(pending).strip()
        pending = [] if text else pending
    return docs


def _nested(annotation: str, cls: type) -> tuple[type | None, bool]:
    """The model class an annotation names (``main_models.X``, ``List[X]``), if it is a model."""
    is_list = annotation.startswith(("List[", "list["))
    module = sys.modules[cls.__module__]
    names = re.findall(r"[A-Za-z_][\w.]*", annotation)
    for name in names:
        short = name.split(".")[-1]
        candidate = getattr(module, short, None)
        if candidate is None and "main_models" in name:
            candidate = getattr(importlib.import_module(cls.__module__.split(".")[0] + ".models"), short, None)
        if inspect.isclass(candidate) and hasattr(candidate, "to_map") and candidate is not cls:
            return candidate, is_list
    return None, is_list


def model_fields(cls: Any) -> dict[str, Field]:
    """Every field of an SDK model by wire name, nested models expanded (``Field.children``)."""
    init_source = inspect.getsource(cls.__init__)
    docs = _docs(init_source)
    annotations = {m.group(1): m.group(2) for m in map(_PARAM.match, init_source.splitlines()) if m}
    to_map = inspect.getsource(cls.to_map)
    wires = dict(_WIRE.findall(to_map))
    wires.update({attr: wire for wire, attr in _WIRE_LIST.findall(to_map)})
    fields: dict[str, Field] = {}
    for attr, wire in wires.items():
        nested, is_list = _nested(annotations.get(attr, ""), cls)
        entry = Field(wire, attr, docs.get(attr, ""), nested, is_list)
        if nested is not None:
            entry.children = model_fields(nested)
        fields[wire] = entry
    return fields


def flatten(fields: dict[str, Field], prefix: str = "") -> dict[str, Field]:
    """Dotted paths (``DefaultRunProperties.RunPolicy.Immediately``) of every field and sub-field."""
    flat: dict[str, Field] = {}
    for wire, entry in fields.items():
        path = f"{prefix}{wire}"
        flat[path] = entry
        if entry.children:
            flat.update(flatten(entry.children, f"{path}[]." if entry.is_list else f"{path}."))
    return flat


def leaf_paths(fields: dict[str, Field]) -> dict[str, Field]:
    """The dotted paths a spec must classify: leaves, and nested models as a whole."""
    return flatten(fields)


def response_has(cls: type, path: str) -> bool:
    """Whether ``path`` (``Data.Instances[].Status``; ``[]`` = each item of a list) exists in the model."""
    fields = model_fields(cls)
    parts = path.replace("[]", "").split(".")
    for i, part in enumerate(parts):
        entry = fields.get(part)
        if entry is None:
            return False
        if i < len(parts) - 1:
            if not entry.children:
                return False  # a plain value (dict, str) has no named sub-fields in the model
            fields = entry.children
    return True


def resolve(key: str):
    """The model class or the method a spec key names (``module:Class`` or ``module:Class.method``)."""
    module, _, name = key.partition(":")
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def request_fields(key: str, entry: dict | None = None) -> dict[str, str]:
    """``{dotted path: SDK doc}`` of every field of the request a spec key names.

    A model: its fields, nested ones as dotted paths. A method (a call without a request model):
    its parameters, ``self``, ``*args``/``**kwargs`` and the SDK's own ``headers``/``runtime`` plumbing
    of the Tea clients aside. A generic call (``call_api`` with a hand-built request, e.g. EAS
    UpdateGroup, which the pinned SDK has no method for) has no model to read: its entry carries
    ``"fields": {field: "the API reference's description (URL)"}`` and that is the list."""
    if entry is not None and "fields" in entry:
        return dict(entry["fields"])
    if entry is not None and "fields_model" in entry:  # a generic call that sends what an SDK model has
        key = entry["fields_model"]
    target = resolve(key.split("#", 1)[0])
    if inspect.isclass(target):
        return {path: entry.doc for path, entry in flatten(model_fields(target)).items()}
    params = inspect.signature(target).parameters.values()
    return {p.name: "" for p in params
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            and not (key.startswith("alibabacloud_") and p.name in ("headers", "runtime"))}


def response_path_exists(model_key: str, path: str) -> bool:
    """Whether ``path`` exists on the response model: Tea models by wire name, oss2 results by attribute."""
    target = resolve(model_key)
    if any(base.__name__ in ("TeaModel", "DaraModel") for base in target.__mro__):
        return response_has(target, path)
    # oss2 result classes set their attributes in __init__ (theirs or a base class's)
    return hasattr(target, path) or any(
        re.search(rf"self\.{re.escape(path)}\s*=", inspect.getsource(base))
        for base in target.__mro__ if base.__module__.startswith("oss2"))


def unlisted(key: str, entry: dict) -> list[str]:
    """Fields of the SDK request that are in neither ``sent`` nor ``omitted``."""
    listed = set(entry["sent"]) | set(entry["omitted"])
    return sorted(path for path in request_fields(key, entry) if path not in listed)


def unknown(key: str, entry: dict) -> list[str]:
    """Listed fields the SDK request does not have (a typo, or a field an SDK upgrade removed)."""
    fields = request_fields(key, entry)
    return sorted(path for path in set(entry["sent"]) | set(entry["omitted"]) if path not in fields)


_API = {"alibabacloud_dataworks_public20200518": "DataWorks 2020-05-18",
        "alibabacloud_dataworks_public20240518": "DataWorks 2024-05-18",
        "alibabacloud_eas20210701": "PAI-EAS 2021-07-01", "alibabacloud_aiworkspace20210204": "AI Workspace 2021-02-04"}
# A generic ``call_api`` entry belongs to the API its RAM action names (``eas:UpdateGroup`` -> PAI-EAS).
_RAM_API = {"eas": "PAI-EAS 2021-07-01", "dataworks": "DataWorks", "paiworkspace": "AI Workspace 2021-02-04"}


def _api_title(key: str, entry: dict) -> str:
    if ":Client.call_api#" in key:
        if "fields_model" in entry:
            return _API[entry["fields_model"].split(".")[0]]
        return _RAM_API.get(entry["ram_action"].split(":", 1)[0], "generic call")
    return _API.get(key.split(":")[0].split(".")[0], "OSS (oss2)")


def _cell(text: str) -> str:
    text = re.sub(r"<!--.*?-->", "", text or "")
    text = re.sub(r"\s+", " ", text.replace("|", "\\|")).strip()
    return text if len(text) <= 220 else text[:217] + "..."


def render(spec: dict[str, dict]) -> str:
    """The Markdown page: one section per request, every SDK field with what the provider does."""
    lines = [
        "# Request and response fields",
        "",
        ("<!-- generated by scripts/gen_request_fields.py from airflow_provider_pai/hooks/request_fields.py "
         "and the installed SDKs: do not edit -->"),
        "",
        ("Every request the provider builds, with **every** field of the SDK's request model: sent (and with "
         "what) or omitted (with the default the SDK documents and why that default is right here). Nested "
         "fields are dotted paths, `[]` is each item of a list. The SDK column is the pinned SDK's own "
         "docstring. `tests/contracts/test_request_fields.py` fails when an SDK upgrade adds a field that is "
         "in neither list, when a response path the provider reads is not in the response model, and when "
         "this page is stale. The RAM actions are checked against `docs/ram-policy.json` "
         "([RAM policy](ram-policy.md))."),
        "",
        "To regenerate: `python scripts/gen_request_fields.py`.",
        "",
    ]
    for key in sorted(spec, key=lambda k: (k.split(":")[0], spec[k]["action"], k)):
        entry = spec[key]
        fields = request_fields(key, entry)
        lines += [f"## {_api_title(key, entry)}: {entry['action']}", "",
                  f"`{key}`; RAM `{entry['ram_action']}`; built by `{entry['hook']}`."]
        policy = entry["example_policy"]
        lines += ["Granted by the example policy (`docs/ram-policy.json`)." if policy is True
                  else f"Not in the example policy: {policy}.", ""]
        if fields:
            lines += ["| field | provider | SDK says |", "|---|---|---|"]
            for path in sorted(fields):
                if path in entry["sent"]:
                    what = f"**sent**: {entry['sent'][path]}"
                else:
                    what = f"omitted: {entry['omitted'].get(path, '**UNLISTED**')}"
                lines.append(f"| `{path}` | {_cell(what)} | {_cell(fields[path])} |")
        else:
            lines.append("No parameters.")
        if entry.get("reads"):
            reads = ", ".join(f"`{p}`" for p in entry["reads"])
            lines += ["", f"Reads from `{entry['response'].split(':')[1]}`: {reads}."]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/request-fields.md is stale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from airflow_provider_pai.hooks.request_fields import REQUESTS

    text = render(REQUESTS)
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE} is stale: run python scripts/gen_request_fields.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
