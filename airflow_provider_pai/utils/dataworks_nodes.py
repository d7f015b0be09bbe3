"""Recognising a PAI Designer node from DataWorks' GetNode (``ProgramType`` string, ``FileType`` code).

No official table row shows a Designer node's type (docs/cloud-fidelity.md F-DW-6): the codes come
from Alibaba's open-source DataWorks spec (``CodeProgramType``: ``PAI_STUDIO(1117, "pai_studio")``),
and new Data Studio's PAI Flow offers "the same capabilities as Designer". So every known spelling
is accepted, a node that is clearly another engine (a documented non-PAI type) is refused naming
its type and code, and anything else runs with a warning: refusing a real Designer node because
the guess was wrong would block every user.
"""

from __future__ import annotations

from typing import Any

DESIGNER_PROGRAM_TYPE, DESIGNER_FILE_TYPE = "PAI_STUDIO", 1117  # the spelling the emulator answers with
# PAI Designer (legacy and new Data Studio): ProgramType spellings (compared upper-case) and codes.
DESIGNER_PROGRAM_TYPES = frozenset({"PAI_STUDIO", "PAI_FLOW", "PAIFLOW", "PAI_DESIGNER"})
DESIGNER_FILE_TYPES = frozenset({1117})
# Other PAI / algorithm nodes (old PAI 1002, Recommend Plus 1116, PAI DLC 1119): run, with a warning.
OTHER_PAI_PROGRAM_TYPES = frozenset({"PAI", "PAI_DLC", "RECOMMEND_PLUS", "ALINK", "XLAB"})
OTHER_PAI_FILE_TYPES = frozenset({1002, 1116, 1119, 240, 87})
# Documented node codes of other engines ("Supported node types", legacy and new Data Studio; the
# ListFileType common codes): Data Integration, MaxCompute, EMR, CDH, Hologres, general nodes.
OTHER_ENGINE_FILE_TYPES = frozenset({
    6, 10, 11, 23, 24, 99, 221, 225, 227, 228, 229, 230, 239, 257, 258, 259, 260, 264, 267, 268,
    270, 271, 272, 273, 278, 279, 900, 1010, 1089, 1091, 1093, 1100, 1221, 1323,
})
OTHER_ENGINE_PREFIXES = ("ODPS", "PY_ODPS", "PYODPS", "EMR_", "CDH_", "HOLOGRES", "DI", "RI", "SPARK",
                         "SHELL", "DIDE_SHELL", "VIRTUAL", "COMPONENT_SQL", "NOTEBOOK", "CLICK_SQL", "ADB_")


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def classify_node(node: dict) -> tuple[str, str]:
    """``("designer" | "other_pai" | "other_engine" | "unknown", description)`` for a GetNode dict."""
    program = str(node.get("ProgramType") or "").strip()
    code = _code(node.get("FileType"))
    described = f"program type {program or '(not given)'} (node code {code if code is not None else '(not given)'})"
    upper = program.upper()
    if upper in DESIGNER_PROGRAM_TYPES or code in DESIGNER_FILE_TYPES:
        return "designer", described
    if upper in OTHER_PAI_PROGRAM_TYPES or code in OTHER_PAI_FILE_TYPES:
        return "other_pai", described
    if code in OTHER_ENGINE_FILE_TYPES or (upper and upper.startswith(OTHER_ENGINE_PREFIXES)):
        return "other_engine", described
    return "unknown", described


def designer_check(node: dict, node_id: Any) -> tuple[str | None, str | None]:
    """``(warning, refusal)`` for running ``node`` as a PAI Designer node: at most one is set."""
    kind, described = classify_node(node)
    name = f"DataWorks node {node_id} ({node.get('NodeName')})"
    if kind == "designer":
        return None, None
    if kind == "other_engine":
        return None, (f"{name} is not a PAI Designer node: its {described} belongs to another engine. "
                      "Check node_id, or pass check_node_type=False to run any DataWorks node.")
    what = "another PAI node, not Designer" if kind == "other_pai" else "a node type this provider does not know"
    return (f"{name} has {described}: {what}. Running it anyway (PAI Designer is program type PAI_STUDIO, "
            "node code 1117; pass check_node_type=False to silence this)."), None
