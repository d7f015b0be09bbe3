"""EAS deploy and rollback through `airflow dags test` against the emulator, with the real EAS SDK."""

from __future__ import annotations

import pytest

from airflow_provider_pai.version_compat import AIRFLOW_V_3_3_PLUS
from tests.scenarios import json_linear_demo

NEW_MODEL = "oss://pai-demo/models/churn/v2/"
EMPTY = "oss://pai-demo/models/churn/nothing-here/"

pytestmark = pytest.mark.slow


@pytest.fixture
def pai_emulator_scenario():
    """These tests use the toy json_linear model ([x1, x2] vectors, model.json): tests/scenarios.py."""
    return json_linear_demo()


@pytest.fixture
def eas(pai_emulator, airflow_env):
    from pathlib import Path

    from airflow_provider_pai.hooks.eas import EasHook
    from airflow_provider_pai.hooks.oss import OssHook

    OssHook().put_object("pai-demo", "models/churn/v2/model.json", '{"weights": [0.4, -1.2], "bias": 0.1}')
    airflow_env.add_dag_file(Path(__file__).parent / "dags" / "eas_dags.py")
    return EasHook()


def run(airflow_env, pai_emulator, dag_id, model_path, **env):
    env = {**pai_emulator.airflow_env(), **env}
    result = airflow_env.dags_test(dag_id, conf={"model_path": model_path}, env=env)
    return result, result.stdout + result.stderr


@pytest.mark.parametrize("deferrable", ["0", "1"])
def test_deploy_then_rollback_ends_on_the_version_before(airflow_env, pai_emulator, eas, deferrable):
    before = eas.describe_service("churn_model")
    _, out = run(airflow_env, pai_emulator, "eas_deploy_rollback", NEW_MODEL, EAS_TEST_DEFERRABLE=deferrable)
    assert airflow_env.task_states("eas_deploy_rollback") == {"deploy": "success", "rollback": "success"}, out[-4000:]
    deployed = airflow_env.xcom("eas_deploy_rollback", "deploy")
    assert isinstance(deployed, dict) and "previous_version" in deployed, (deployed, out[-4000:])
    assert deployed["previous_version"] == before["CurrentVersion"]
    assert deployed["version"] == before["LatestVersion"] + 1 and deployed["model_path"] == NEW_MODEL
    after = eas.describe_service("churn_model")
    assert (after["Status"], after["CurrentVersion"]) == ("Running", before["CurrentVersion"])
    assert eas.predict("churn_model", {"instances": [[1.0, 2.0]]})["version"] == before["CurrentVersion"]


def test_deploy_of_empty_model_is_refused_before_update_service(airflow_env, pai_emulator, eas):
    before = eas.describe_service("churn_model")
    _, out = run(airflow_env, pai_emulator, "eas_deploy_only", EMPTY)
    assert airflow_env.task_states("eas_deploy_only") == {"deploy": "failed"}, out[-4000:]
    assert f"Invalid model_path='{EMPTY}': OSS bucket 'pai-demo' holds no object" in out, out[-4000:]
    assert "UpdateService" not in pai_emulator.calls()["eas"]  # nothing changed: no version burnt
    after = eas.describe_service("churn_model")
    assert (after["LatestVersion"], after["CurrentVersion"]) == (before["LatestVersion"], before["CurrentVersion"])


def test_deploy_of_empty_model_fails_with_events_and_old_version_keeps_serving(airflow_env, pai_emulator, eas):
    before = eas.describe_service("churn_model")
    _, out = run(airflow_env, pai_emulator, "eas_deploy_unchecked", EMPTY)
    assert airflow_env.task_states("eas_deploy_unchecked") == {"deploy": "failed"}, out[-4000:]
    assert "no such object or directory" in out  # the emulator's FailedLoadModel event text
    assert f"Rolled back: version {before['CurrentVersion']} is Running again" in out
    after = eas.describe_service("churn_model")
    assert (after["Status"], after["CurrentVersion"]) == ("Running", before["CurrentVersion"])
    answer = eas.predict("churn_model", {"instances": [[1.0, 2.0]]})
    assert answer["version"] == before["CurrentVersion"] and answer["model_path"].endswith("initial/")


def test_retried_deploy_creates_no_second_version(airflow_env, pai_emulator, eas, tmp_path):
    latest = eas.describe_service("churn_model")["LatestVersion"]
    _, out = run(airflow_env, pai_emulator, "eas_deploy_crash_retry", NEW_MODEL,
                 EAS_CRASH_MARKER=str(tmp_path / "crashed"))
    assert (tmp_path / "crashed").exists()  # the first try did die after UpdateService
    assert airflow_env.task_states("eas_deploy_crash_retry") == {"deploy": "success"}, out[-4000:]
    deployed = airflow_env.xcom("eas_deploy_crash_retry", "deploy")
    # Below 3.3 there is no task_state_store: the retry only sees the service already on the new config,
    # so it cannot know the version its first try replaced (the documented degradation).
    previous = latest if AIRFLOW_V_3_3_PLUS else latest + 1
    assert (deployed["previous_version"], deployed["version"]) == (previous, latest + 1)
    # Running the deploy again (a cleared task, a rerun) adds nothing either.
    run(airflow_env, pai_emulator, "eas_deploy_only", NEW_MODEL)
    assert airflow_env.task_states("eas_deploy_only") == {"deploy": "success"}
    after = eas.describe_service("churn_model")
    assert (after["LatestVersion"], after["CurrentVersion"], after["Status"]) == (latest + 1, latest + 1, "Running")
