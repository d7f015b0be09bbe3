"""Several logical dates of a mapped DAG: one DataWorks run per task instance (date x map index),
each for its own business date; running a date again (Airflow 2's `dags test` reruns the same DAG
run, as a clear does) starts nothing new. The multi-process test_cluster.py clears on Airflow 3."""

from __future__ import annotations

import pytest

from airflow_provider_pai.emulator.dataworks_model import bizdate_str
from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS
from tests.usage.conftest import calls_of, fresh_dags, run_dag, states, xcom_at

pytestmark = pytest.mark.slow
DATES = ("2026-11-07", "2026-11-08")


@pytest.fixture(scope="module")
def two_dates(_airflow_home, usage_emulator):
    emu = usage_emulator
    emu.reset_calls()
    env = fresh_dags(_airflow_home, "usage_dates.py")
    runs = {}
    for date in DATES:
        out = run_dag(env, emu, "usage_dates", logical_date=date)
        run_id = env.latest_run_id("usage_dates")
        runs[date] = (run_id, out)
    return env, emu, runs


def test_each_date_and_map_index_gets_its_own_run_for_its_own_bizdate(two_dates):
    env, emu, runs = two_dates
    seen = set()
    for date, (run_id, out) in runs.items():
        assert states(env, "usage_dates", run_id)["train"] == ["success", "success"], out[-4000:]
        for index in (0, 1):
            record = xcom_at(env, "usage_dates", "train", index, run_id=run_id)
            assert record["bizdate"] == date
            # What DataWorks ran, not only what the operator says it asked for.
            instance = emu.state()["dataworks"]["instances"][str(record["instance_id"])]
            assert bizdate_str(instance["bizdate_ms"]) == date, instance
            seen.add(record["instance_id"])
    assert len(seen) == 4
    assert calls_of(emu, "dataworks", "RunCycleDagNodes") == 4


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 3's `dags test` makes a new DAG run each time; "
                    "test_cluster.py clears a task instance on Airflow 3")
def test_running_a_date_again_reattaches_instead_of_training_again(two_dates):
    env, emu, runs = two_dates
    run_id, _ = runs[DATES[0]]
    before = [xcom_at(env, "usage_dates", "train", i, run_id=run_id)["instance_id"] for i in (0, 1)]
    out = run_dag(env, emu, "usage_dates", logical_date=DATES[0])
    assert states(env, "usage_dates", run_id)["train"] == ["success", "success"], out[-4000:]
    assert calls_of(emu, "dataworks", "RunCycleDagNodes") == 4
    assert [xcom_at(env, "usage_dates", "train", i, run_id=run_id)["instance_id"] for i in (0, 1)] == before
