"""Issue 15 items 4-7 on the provider side, through the real SDKs against the emulator: enum values
with numeric suffixes, CONDITION_UNCHOOSE as a skip, every status's meaning, a failed deploy noticed
in both shapes without waiting for the timeout, and Designer-node recognition.

Operators run in-process (``execute`` with a stub task context), as in tests/reliability.
"""

from __future__ import annotations

import asyncio
import copy
import logging

import pytest

from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario
from tests.reliability.conftest import mutating_calls, task_context

PID = 10001
DESIGNER, UNCHOSEN, CHECKED, SQL, NEW_KIND, DLC, LOWER = 700001, 720001, 720002, 720003, 720004, 720005, 720006
MISSING = "oss://pai-demo/models/churn/missing/"
LONG = float(__import__("os").environ.get("PAI_TEST_LONG", 3600))  # every wait here must end long before this


def _node(node_id, **spec):
    return {"node_id": node_id, "node_name": f"n{node_id}", "run_seconds": 2, **spec}


def scenario() -> dict:
    s = copy.deepcopy(load_scenario(DEMO_SCENARIO))
    s["dataworks"]["enum_suffixes"] = True  # SUCCESS(6), SUPPLY_DATA(3): every comparison must use the name
    s["dataworks"]["projects"][0]["nodes"] += [
        _node(UNCHOSEN, task_type="CONDITION_UNCHOOSE"),
        _node(CHECKED, status_path=["WAIT_RESOURCE", "RUNNING", "CHECKING", "CHECKING_CONDITION", "SUCCESS"]),
        _node(SQL, program_type="ODPS_SQL", file_type=10),
        _node(NEW_KIND, program_type="SOMETHING_NEW", file_type=4242),
        _node(DLC, program_type="PAI_DLC", file_type=1119),
        _node(LOWER, program_type="pai_studio", file_type=1117),
    ]
    base = s["eas"]["services"][0]
    s["eas"]["services"] = [
        {**base, "name": "shape_failed", "start_seconds": 1},
        {**base, "name": "shape_aborted", "start_seconds": 1, "failed_update": "aborted"},
        {**base, "name": "stuck_stopped", "start_seconds": 1, "status_path": [{"status": "Stopped", "stay": True}]},
        {**base, "name": "stuck_deleting", "start_seconds": 1,
         "status_path": [{"status": "Deleting", "stay": True}]},
    ]
    return s


@pytest.fixture
def pai_emulator_scenario():
    return scenario()


def trigger(node_id, **kw):
    from airflow_provider_pai.operators.dataworks import TriggerDesignerNodeOperator

    return TriggerDesignerNodeOperator(task_id="train", project_id=PID, node_id=node_id, bizdate="2026-11-01",
                                       poll_interval=1, timeout=LONG, deferrable=False, **kw)


class Logged(logging.Handler):
    """What an operator logs (Airflow's task loggers may not propagate to pytest's caplog)."""

    def __init__(self, op):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        logger = logging.getLogger(f"tests.status_fidelity.{id(op)}")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(self)
        op._log = op._cached_logger = logger  # where Airflow 2 / Airflow 3's task SDK cache an operator's logger

    def emit(self, record):
        self.records.append(record)

    @property
    def text(self) -> str:
        return "\n".join(r.getMessage() for r in self.records)

    def warnings(self, word: str) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == logging.WARNING and word in r.getMessage()]


def calls(emu, service, action) -> int:
    return (emu.calls().get(service) or {}).get(action, 0)


# ---- DataWorks -------------------------------------------------------------------------------------


def test_a_retry_with_suffixed_enums_reattaches_instead_of_starting_a_second_run(pai_emulator):
    ctx = task_context("train")
    first = trigger(DESIGNER).execute(ctx)
    second = trigger(DESIGNER).execute(ctx)  # the retry: same DAG run, same task
    assert second["dag_id"] == first["dag_id"]
    assert calls(pai_emulator, "dataworks", "RunCycleDagNodes") == 1


def instance(result: dict) -> dict:
    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    return DataWorksHook().get_instance(result["instance_id"])


def test_checking_statuses_are_waited_through_and_suffixed_success_succeeds(pai_emulator):
    op = trigger(CHECKED, wait_for_completion=True)
    log = Logged(op)
    result = op.execute(task_context("train"))
    assert instance(result)["Status"] == "SUCCESS(6)"
    assert "CHECKING(7)" in log.text and "SKIPPED" not in log.text


def test_condition_unchoose_is_reported_as_a_skip(pai_emulator):
    op = trigger(UNCHOSEN, wait_for_completion=True)
    log = Logged(op)
    result = op.execute(task_context("train"))
    assert (instance(result)["Status"], instance(result)["TaskType"]) == ("SUCCESS(6)", "CONDITION_UNCHOOSE(6)")
    assert "SKIPPED (TaskType CONDITION_UNCHOOSE)" in log.text


def test_a_node_of_another_engine_is_refused_naming_its_type_and_code(pai_emulator):
    from airflow.exceptions import AirflowException

    with pytest.raises(AirflowException, match=r"ODPS_SQL.*10"):
        trigger(SQL).execute(task_context("train"))
    assert mutating_calls(pai_emulator.calls()) == {}


@pytest.mark.parametrize("node_id, warns", [(NEW_KIND, True), (DLC, True), (LOWER, False), (DESIGNER, False)])
def test_designer_variants_run_and_unknown_types_run_with_a_warning(pai_emulator, node_id, warns):
    op = trigger(node_id)
    log = Logged(op)
    op.execute(task_context("train"))
    assert calls(pai_emulator, "dataworks", "RunCycleDagNodes") == 1
    warned = log.warnings("node code")
    assert bool(warned) is warns, log.text
    if warns:
        assert "program type" in warned[0] and "Running it anyway" in warned[0]


# ---- EAS ---------------------------------------------------------------------------------------------


def modify(name, model_path=MISSING, **kw):
    from airflow_provider_pai.operators.eas import EasModifyServiceOperator

    kw.setdefault("check_model_path", False)  # these tests are about what EAS shows for a model it cannot load
    return EasModifyServiceOperator(task_id="deploy", service_name=name, model_path=model_path, poll_interval=1,
                                    timeout=LONG, deferrable=False, **kw)


def describe(name) -> dict:
    from airflow_provider_pai.hooks.eas import EasHook

    return EasHook().describe_service(name)


def test_failed_deploy_shape_failed_fails_fast_and_rolls_back(pai_emulator):
    from airflow.exceptions import AirflowException

    with pytest.raises(AirflowException) as info:
        modify("shape_failed").execute(task_context("deploy"))
    assert "Failed" in str(info.value) and "timeout=" not in str(info.value)  # not the timeout's message
    assert "FailedLoadModel" in str(info.value)  # the Warning events explain it
    assert calls(pai_emulator, "eas", "UpdateServiceVersion") == 1  # rolled back to version 1
    pai_emulator.advance_clock(60)
    assert describe("shape_failed")["CurrentVersion"] == 1


def test_failed_deploy_shape_aborted_fails_fast_without_a_rollback(pai_emulator):
    from airflow.exceptions import AirflowException

    with pytest.raises(AirflowException) as info:
        modify("shape_aborted").execute(task_context("deploy"))
    text = str(info.value)
    assert "version 2" in text and "RollingUpdateAborted" in text and "timeout=" not in text
    assert calls(pai_emulator, "eas", "UpdateServiceVersion") == 0  # EAS kept version 1: nothing to undo
    service = describe("shape_aborted")
    assert (service["Status"], service["CurrentVersion"], service["LatestVersion"]) == ("Running", 1, 2)


def test_the_deferred_wait_notices_the_aborted_shape_too(pai_emulator):
    from airflow_provider_pai.hooks.eas import EasHook
    from airflow_provider_pai.triggers.eas import EasServiceTrigger

    EasHook().update_service("shape_aborted", {"model_path": MISSING})

    async def first_event():
        trig = EasServiceTrigger("shape_aborted", version=2, newest=True, poll_interval=1,
                                 end_time=pai_emulator.now() + LONG)
        async for event in trig.run():
            return event.payload

    event = asyncio.run(first_event())
    assert event["status"] == "failed" and "RollingUpdateAborted" in event["message"]


@pytest.mark.parametrize("name, status", [("stuck_stopped", "Stopped"), ("stuck_deleting", "Deleting")])
def test_a_service_stuck_stopped_or_deleting_fails_at_once(pai_emulator, name, status):
    from airflow.exceptions import AirflowException

    with pytest.raises(AirflowException, match=status) as info:
        modify(name, model_path="oss://pai-demo/models/churn/initial/", rollback_on_failure=False).execute(
            task_context("deploy"))
    assert "timeout=" not in str(info.value)  # failed at once, not at the timeout
