"""The status tables (utils/status_meanings.py) and Designer-node recognition (utils/dataworks_nodes.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_provider_pai.utils.dataworks_nodes import classify_node
from airflow_provider_pai.utils.status_meanings import (
    DATAWORKS_STATUS_MEANINGS, EAS_STATUS_MEANINGS, Meaning, dataworks_meaning, eas_meaning, enum_name, is_skip,
)

DOC = Path(__file__).resolve().parents[3] / "docs" / "status-meanings.md"
# Issue 15 item 7 (and the API metadata's Deploying)
EAS_DOCUMENTED = {"Creating", "Waiting", "Pending", "Starting", "Updating", "HotUpdate", "Scaling", "Committing",
                  "Running", "Stopping", "Stopped", "Failed", "DeleteFailed", "Deleting", "Deleted", "Complete",
                  "Cloning", "Developing", "Deploying"}
DW_DOCUMENTED = {"NOT_RUN", "WAIT_TIME", "WAIT_RESOURCE", "WAIT_TRIGGER", "RUNNING", "CHECKING",
                 "CHECKING_CONDITION", "SUCCESS", "FAILURE"}


def test_every_documented_status_has_a_meaning():
    assert set(EAS_STATUS_MEANINGS) == EAS_DOCUMENTED
    assert set(DATAWORKS_STATUS_MEANINGS) == DW_DOCUMENTED


def _doc_rows(title: str) -> dict[str, str]:
    section = DOC.read_text().split(title, 1)[1].split("\n## ", 1)[0]
    return {m[1]: m[2] for m in re.finditer(r"^\| `([A-Za-z_]+)` \| ([a-z ]+) \|", section, re.M)}


def test_the_docs_print_the_code_tables():
    assert _doc_rows("## PAI-EAS service") == {k: m.value for k, (m, _) in EAS_STATUS_MEANINGS.items()}
    assert _doc_rows("## DataWorks instance") == {k: m.value for k, (m, _) in DATAWORKS_STATUS_MEANINGS.items()}


@pytest.mark.parametrize("status, target, meaning", [
    ("Running", "Running", Meaning.TERMINAL), ("Updating", "Running", Meaning.WAIT),
    ("Stopped", "Running", Meaning.FAIL), ("Deleting", "Running", Meaning.FAIL),
    ("DeleteFailed", "Running", Meaning.FAIL), ("Stopping", "Stopped", Meaning.WAIT),
    ("Running", "Stopped", Meaning.WAIT), ("Stopped", "Stopped", Meaning.TERMINAL), ("Mystery", "Running", None),
])
def test_eas_meaning(status, target, meaning):
    assert eas_meaning(status, target) is meaning


@pytest.mark.parametrize("status, meaning", [
    ("SUCCESS", Meaning.TERMINAL), ("SUCCESS(6)", Meaning.TERMINAL), ("FAILURE(5)", Meaning.TERMINAL),
    ("CHECKING(7)", Meaning.WAIT), ("WAIT_TRIGGER", Meaning.WAIT), ("Mystery", None), (None, None),
])
def test_dataworks_meaning_compares_names(status, meaning):
    assert dataworks_meaning(status) is meaning


def test_skip_task_types_include_condition_unchoose():
    assert is_skip("CONDITION_UNCHOOSE(6)") and is_skip("SKIP") and is_skip("SKIP_CYCLE(5)")
    assert not is_skip("NORMAL(0)") and not is_skip("PAUSE(2)") and not is_skip(None)
    assert enum_name("SUPPLY_DATA(3)") == "SUPPLY_DATA" and enum_name(None) is None


@pytest.mark.parametrize("node, kind", [
    ({"ProgramType": "PAI_STUDIO", "FileType": 1117}, "designer"),
    ({"ProgramType": "pai_studio"}, "designer"),
    ({"FileType": "1117"}, "designer"),
    ({"ProgramType": "PAI_FLOW"}, "designer"),
    ({"ProgramType": "PAI_DLC", "FileType": 1119}, "other_pai"),
    ({"ProgramType": "pai", "FileType": 1002}, "other_pai"),
    ({"ProgramType": "ODPS_SQL", "FileType": 10}, "other_engine"),
    ({"ProgramType": "EMR_HIVE"}, "other_engine"),
    ({"FileType": 23}, "other_engine"),
    ({"ProgramType": "SOMETHING_NEW", "FileType": 4242}, "unknown"),
    ({}, "unknown"),
])
def test_classify_node(node, kind):
    found, described = classify_node(node)
    assert found == kind
    assert "program type" in described and "node code" in described
