"""Every operator and sensor mapped (``partial().expand()`` / ``expand_kwargs``), next to mapped and
unmapped neighbours, through `airflow dags test` against the emulator."""

from __future__ import annotations

import pytest

from airflow_provider_pai.version_compat import AIRFLOW_V_3_0_PLUS
from tests.usage.conftest import calls_of, fresh_dags, run_dag, service_state, states, xcom_at

pytestmark = pytest.mark.slow
DATE = "2026-11-02"


@pytest.fixture(scope="module")
def mapped_eas(_airflow_home, usage_emulator):
    from airflow_provider_pai.hooks.eas import EasHook

    emu = usage_emulator
    # svc_b gets a second version first, so the two services' rollback targets differ (1 and 2).
    EasHook().update_service("svc_b", {"model_path": "oss://pai-demo/models/churn/other/"})
    emu.advance_clock(5)
    emu.reset_calls()
    env = fresh_dags(_airflow_home, "usage_mapping.py")
    out = run_dag(env, emu, "usage_mapped_eas", logical_date=DATE)
    return env, emu, out


def test_mapped_rollback_undoes_exactly_its_own_map_index(mapped_eas):
    env, emu, out = mapped_eas
    got = states(env, "usage_mapped_eas")
    assert got["deploy_pair"] == ["success", "success"], out[-5000:]
    assert got["rollback_pair"] == ["success", "success"], out[-5000:]
    assert service_state(emu, "svc_a") == (1, 2)  # back on 1, one version added
    assert service_state(emu, "svc_b") == (2, 3)  # back on its own previous version, 2
    first, second = (xcom_at(env, "usage_mapped_eas", "rollback_pair", i) for i in (0, 1))
    assert (first["service_name"], first["version"]) == ("svc_a", 1)
    assert (second["service_name"], second["version"]) == ("svc_b", 2)


def test_unmapped_rollback_of_a_mapped_deploy_undoes_every_service_it_changed(mapped_eas):
    env, emu, out = mapped_eas
    got = states(env, "usage_mapped_eas")
    assert got["deploy_all"] == ["success", "success"] and got["rollback_all"] == "success", out[-5000:]
    assert service_state(emu, "svc_c") == (1, 2)
    assert service_state(emu, "svc_d") == (1, 2)


def test_mapped_task_group_rolls_back_only_the_model_that_failed_its_test(mapped_eas):
    env, emu, out = mapped_eas
    got = states(env, "usage_mapped_eas")
    assert got["release.deploy"] == ["success", "success"], out[-5000:]
    assert got["release.check"] == ["success", "failed"], out[-5000:]
    assert service_state(emu, "svc_f") == (1, 2)  # failed its test: back on version 1
    if AIRFLOW_V_3_0_PLUS:
        assert got["release.rollback"] == ["skipped", "success"], out[-5000:]
        assert service_state(emu, "svc_e") == (2, 2)  # passed its test: keeps the new model
    else:
        # Airflow 2.11's rule for "one_failed" in a mapped task group: an upstream that is not a
        # mapping dependency counts at every map index, so index 0 runs too and undoes its own deploy.
        assert got["release.rollback"] == ["success", "success"], out[-5000:]
        assert service_state(emu, "svc_e") == (1, 2)


def test_mapped_deploys_add_one_version_each_and_rollbacks_none(mapped_eas):
    _, emu, _ = mapped_eas
    assert calls_of(emu, "eas", "UpdateService") == 6  # svc_a..svc_f, once each
    # Every service but svc_e (Airflow 2.11 rolls svc_e back too: see the task group test).
    assert calls_of(emu, "eas", "UpdateServiceVersion") == (5 if AIRFLOW_V_3_0_PLUS else 6)


@pytest.fixture(scope="module")
def mapped_flow(_airflow_home, usage_emulator, mapped_eas):
    emu = usage_emulator
    emu.reset_calls()
    env = fresh_dags(_airflow_home, "usage_mapping.py")
    out = run_dag(env, emu, "usage_mapped_flow", logical_date=DATE)
    return env, emu, out


def test_every_operator_and_sensor_runs_mapped(mapped_flow):
    env, _, out = mapped_flow
    got = states(env, "usage_mapped_flow")
    for task_id in ("train", "wait", "wait_tpl", "export", "export_kw", "deploy", "ready", "create", "back"):
        assert got.get(task_id) == ["success", "success"], (task_id, got, out[-6000:])
    assert env.run_state("usage_mapped_flow") == "success"


def test_mapped_trigger_starts_one_run_per_map_index_and_each_sensor_follows_its_own(mapped_flow):
    env, emu, _ = mapped_flow
    assert calls_of(emu, "dataworks", "RunCycleDagNodes") == 2
    trained = [xcom_at(env, "usage_mapped_flow", "train", i)["instance_id"] for i in (0, 1)]
    assert trained[0] != trained[1]
    for sensor in ("wait", "wait_tpl"):
        assert [xcom_at(env, "usage_mapped_flow", sensor, i)["instance_id"] for i in (0, 1)] == trained


def test_mapped_export_feeds_each_mapped_deploy_its_own_uri(mapped_flow):
    env, emu, _ = mapped_flow
    exported = [xcom_at(env, "usage_mapped_flow", "export", i) for i in (0, 1)]
    assert exported == ["oss://pai-demo/release/20261102/g/", "oss://pai-demo/release/20261102/h/"]
    keys = {o["key"] for o in emu.state()["oss"]["pai-demo"]}
    for prefix in ("release/20261102/g/", "release/20261102/h/", "release/20261102/kw1/", "release/20261102/kw2/"):
        assert prefix + "model.json" in keys and prefix + "_manifest.json" in keys, prefix
    deployed = [xcom_at(env, "usage_mapped_flow", "deploy", i) for i in (0, 1)]
    assert [(d["service_name"], d["model_path"]) for d in deployed] == list(zip(["svc_g", "svc_h"], exported))


def test_mapped_create_and_version_rollback(mapped_flow):
    _, emu, _ = mapped_flow
    services = emu.state()["eas"]["services"]
    assert {"new_one", "new_two"} <= set(services)
    assert service_state(emu, "svc_g") == (1, 2) and service_state(emu, "svc_h") == (1, 2)
