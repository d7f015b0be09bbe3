"""A failed remote call is retried or reported, never swallowed: no ``except Exception`` (or bare
``except``) around a hook call may drop the error without using it or re-raising (a denied evidence
call must say which action to grant). Functions that do it today are listed by name below; the
"eas" rework of this round moved the EAS evidence calls onto EasHook, and the list is empty."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_pai"
BROAD = {"Exception", "BaseException"}
# (file, function) pairs that drop a hook call's error today.
# Empty since the eas rework: EasHook.warning_events / rollout_evidence report a denial with the RAM
# action to grant (hooks/eas.py evidence_failure).
KNOWN_SWALLOWS: set[tuple[str, str]] = set()


def _broad(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(isinstance(k, ast.Name) and k.id in BROAD for k in kinds)


def _uses(handler: ast.ExceptHandler) -> bool:
    """The handler re-raises, or reads the exception (to log or report it)."""
    for node in ast.walk(handler):
        if isinstance(node, ast.Raise):
            return True
        if handler.name and isinstance(node, ast.Name) and node.id == handler.name:
            return True
    return False


def _calls_remote(body: list[ast.stmt]) -> bool:
    """A call through a hook (``hook.x(...)``, ``self.hook.x(...)``) or an evidence fetcher passed in."""
    for node in (n for stmt in body for n in ast.walk(stmt)):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and "hook" in ast.unparse(func.value):
                return True
            if isinstance(func, ast.Name) and func.id in ("fetch", "fn"):
                return True
    return False


def swallows(source: str) -> set[str]:
    found: set[str] = set()
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if (isinstance(node, ast.Try) and _calls_remote(node.body)
                    and any(_broad(h) and not _uses(h) for h in node.handlers)):
                found.add(func.name)
    return found


def test_no_remote_call_error_is_swallowed():
    found = {(str(p.relative_to(PACKAGE)), name) for p in PACKAGE.rglob("*.py") if "emulator" not in p.parts
             for name in swallows(p.read_text())}
    assert sorted(found - KNOWN_SWALLOWS) == [], "report the error (with the action to grant) or re-raise it"


def test_the_known_list_holds_only_functions_that_still_swallow():
    found = {(str(p.relative_to(PACKAGE)), name) for p in PACKAGE.rglob("*.py") if "emulator" not in p.parts
             for name in swallows(p.read_text())}
    assert sorted(KNOWN_SWALLOWS - found) == [], "fixed: remove from KNOWN_SWALLOWS"


def test_the_checker_tells_a_swallow_from_a_report():
    swallow = "def f(hook):\n    try:\n        return hook.list_service_instances('s')\n    except Exception:\n        return []\n"
    report = ("def g(hook, log):\n    try:\n        return hook.list_service_instances('s')\n"
              "    except Exception as exc:\n        log.warning('denied: %s', exc)\n        return []\n")
    assert swallows(swallow) == {"f"} and swallows(report) == set()
