"""The emulator's EAS statuses and failed rolling updates (issue 15 items 6, 7, 9, 10), through the
real alibabacloud_eas20210701 SDK. Rows: docs/cloud-fidelity.md F-EAS-6, F-EAS-7, F-EAS-9, F-EAS-10, F-EAS-11."""

from __future__ import annotations

import json

import pytest

from tests.emulator.test_emulator_eas import (
    AK, BUCKET, REGION, SK, V1_MODEL, V1_PATH, V2_PATH, create, describe, error_of, events, m, predict, update,
)

START = 60
MISSING = f"oss://{BUCKET}/models/churn/missing/"


def _service(name, **behaviour):
    return {"name": name, "model_path": V1_PATH, "processor": "json_linear", "token": "t", **behaviour}


SCENARIO = {
    "region_id": REGION,
    "credentials": [{"access_key_id": AK, "access_key_secret": SK}],
    "oss": {"buckets": [BUCKET], "objects": [
        {"uri": V1_PATH + "model.json", "content": json.dumps(V1_MODEL)},
        {"uri": V2_PATH + "model.json", "content": json.dumps(V1_MODEL)},
    ]},
    "eas": {
        "start_seconds": START,
        "services": [
            _service("shape_failed"),  # the default shape
            _service("shape_aborted", failed_update="aborted"),
            _service("walker", rollout_path=[{"status": "Waiting", "seconds": 10}, {"status": "Pending", "seconds": 10},
                                             {"status": "Starting", "seconds": 10}, {"status": "HotUpdate", "seconds": 10},
                                             {"status": "Deploying", "seconds": 10},
                                             {"status": "Committing", "seconds": 10}]),
            _service("stuck_updating", rollout_path=[{"status": "Updating", "stay": True}]),
            _service("deleter", delete_path=["Deleting"]),
            _service("delete_fails", delete_path=["Deleting", {"status": "DeleteFailed", "stay": True}]),
            _service("stuck_deleting", delete_path=[{"status": "Deleting", "stay": True}]),
            _service("deleted_shown", delete_path=["Deleting", {"status": "Deleted", "stay": True}]),
            _service("stuck_stopped", stopped=True),
            _service("slow_stop", stop_path=[{"status": "Stopping", "stay": True}]),
            _service("cloning", status_path=[{"status": "Cloning", "seconds": 5}, {"status": "Complete", "seconds": 5}]),
        ],
    },
}


@pytest.fixture
def pai_emulator_scenario():
    return SCENARIO


@pytest.fixture
def client(pai_emulator):
    from alibabacloud_eas20210701.client import Client
    from alibabacloud_tea_openapi.models import Config

    return Client(Config(access_key_id=AK, access_key_secret=SK,
                         endpoint=pai_emulator.url.split("://", 1)[1], protocol="http"))


def instances(client, name, **query):
    return client.list_service_instances(REGION, name, m().ListServiceInstancesRequest(**query)).body


def status(client, name):
    return describe(client, name).status


# --- item 6: a failed rolling update, both shapes ---------------------------------------------------


def test_failed_update_shape_failed_on_the_new_version(pai_emulator, client):
    url = describe(client, "shape_failed").internet_endpoint
    update(client, "shape_failed", {"model_path": MISSING})
    during = instances(client, "shape_failed")
    assert sorted(i.status for i in during.instances) == ["Pending", "Running"]
    pai_emulator.advance_clock(START)
    svc = describe(client, "shape_failed")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Failed", 2, 2)
    assert svc.reason == "FailedLoadModel" and MISSING in svc.message
    warnings = events(client, "shape_failed", "Warning").events
    assert {e.reason for e in warnings} == {"FailedLoadModel", "Failed"}
    after = instances(client, "shape_failed").instances
    failed = [i for i in after if i.status == "Failed"]
    assert len(failed) == 1 and failed[0].ready_processes == 0 and failed[0].restart_count > 0
    assert [i.status for i in after if i.status != "Failed"] == ["Running"]  # the old version keeps serving
    assert predict(url, [[1, 2]], "t")[1]["version"] == 1


def test_failed_update_shape_aborted_stays_running_on_the_old_version(pai_emulator, client):
    url = describe(client, "shape_aborted").internet_endpoint
    update(client, "shape_aborted", {"model_path": MISSING})
    svc = describe(client, "shape_aborted")
    assert (svc.status, svc.current_version, svc.latest_version) == ("Updating", 1, 2)
    pai_emulator.advance_clock(START)
    svc = describe(client, "shape_aborted")
    # Running, but on version 1: CurrentVersion never moved to the new version 2
    assert (svc.status, svc.current_version, svc.latest_version) == ("Running", 1, 2)
    assert svc.reason == "RollingUpdateAborted" and "version 2 aborted" in svc.message and MISSING in svc.message
    assert json.loads(svc.service_config)["model_path"] == V1_PATH
    warnings = events(client, "shape_aborted", "Warning").events
    assert {e.reason for e in warnings} == {"FailedLoadModel", "RollingUpdateAborted"}
    listed = instances(client, "shape_aborted")
    assert sorted(i.status for i in listed.instances) == ["Failed", "Running"] and listed.total_count == 2
    only_failed = instances(client, "shape_aborted", instance_status="Failed").instances
    assert len(only_failed) == 1 and only_failed[0].reason == "FailedLoadModel"
    assert predict(url, [[1, 2]], "t")[1]["version"] == 1
    # the old version is the current one, so there is nothing below it to roll back to
    err = error_of(lambda: client.update_service_version(REGION, "shape_aborted",
                                                         m().UpdateServiceVersionRequest(version=1)))
    assert err.code == "InvalidParameter"


def test_a_good_update_lists_only_running_instances_of_the_new_version(pai_emulator, client):
    update(client, "shape_aborted", {"model_path": V2_PATH, "metadata": {"instance": 2}})
    pai_emulator.advance_clock(START)
    listed = instances(client, "shape_aborted").instances
    assert [i.status for i in listed] == ["Running", "Running"]
    assert all(i.ready_processes == i.total_processes == 1 for i in listed)
    assert len({i.instance_name for i in listed}) == 2


# --- item 7: every documented status ----------------------------------------------------------------


def test_a_rollout_path_walks_through_each_of_its_statuses(pai_emulator, client):
    update(client, "walker", {"model_path": V2_PATH})
    seen = []
    for _ in range(6):
        seen.append(status(client, "walker"))
        pai_emulator.advance_clock(10)
    assert seen == ["Waiting", "Pending", "Starting", "HotUpdate", "Deploying", "Committing"]
    assert (status(client, "walker"), describe(client, "walker").current_version) == ("Running", 2)


def test_a_rollout_can_stay_updating_for_good(pai_emulator, client):
    update(client, "stuck_updating", {"model_path": V2_PATH})
    pai_emulator.advance_clock(10 * 24 * 3600)
    assert status(client, "stuck_updating") == "Updating"


def test_delete_paths(pai_emulator, client):
    for name in ("deleter", "delete_fails", "stuck_deleting", "deleted_shown"):
        client.delete_service(REGION, name)
        assert status(client, name) == "Deleting"
    pai_emulator.advance_clock(1)
    assert error_of(lambda: describe(client, "deleter")).code == "InvalidService.NotFound"
    assert status(client, "delete_fails") == "DeleteFailed"
    assert status(client, "deleted_shown") == "Deleted"
    pai_emulator.advance_clock(10 * 24 * 3600)
    assert status(client, "stuck_deleting") == "Deleting"


def test_stop_paths_and_a_service_that_stays_stopped(pai_emulator, client):
    assert status(client, "stuck_stopped") == "Stopped"
    pai_emulator.advance_clock(3600)
    assert status(client, "stuck_stopped") == "Stopped"
    assert instances(client, "stuck_stopped").total_count == 0
    client.stop_service(REGION, "slow_stop")
    pai_emulator.advance_clock(3600)
    assert status(client, "slow_stop") == "Stopping"


def test_status_path_scaling_creating_and_developing(pai_emulator, client):
    assert status(client, "cloning") == "Cloning"
    pai_emulator.advance_clock(5)
    assert status(client, "cloning") == "Complete"
    pai_emulator.advance_clock(5)
    assert status(client, "cloning") == "Running"
    update(client, "shape_failed", {"metadata": {"instance": 3}})
    assert status(client, "shape_failed") == "Scaling"
    create(client, "fresh", V1_PATH)
    assert status(client, "fresh") == "Creating"
    body = json.dumps({"name": "dev", "model_path": V1_PATH, "processor": "json_linear"})
    client.create_service(m().CreateServiceRequest(body=body, develop="true"))
    assert status(client, "dev") == "Developing"


def test_a_malformed_status_in_a_scenario_is_refused_at_start(tmp_path):
    from airflow_provider_pai.emulator.process import EmulatorProcess

    bad = {**SCENARIO, "eas": {"services": [_service("x", rollout_path=["Sleeping"])]}}
    with pytest.raises(RuntimeError, match="'Sleeping' is not an EAS service status"):
        EmulatorProcess(bad, data_dir=tmp_path).start()


# --- items 9 and 10: gateway warm-up, event order -------------------------------------------------------


@pytest.mark.parametrize("pai_emulator_scenario", [{**SCENARIO, "eas": {
    "start_seconds": START, "event_order": "desc", "behaviour": {"gateway_warmup_seconds": 30}}}])
def test_warm_up_answers_503_and_events_can_come_newest_first(pai_emulator, client):
    created = create(client, "warm", V1_PATH)
    pai_emulator.advance_clock(START)
    assert status(client, "warm") == "Running"
    # F-EAS-9: 503 is what the gateway documents for "no backend instance Ready"
    assert predict(created.internet_endpoint, [[1, 2]], describe(client, "warm").access_token)[0] == 503
    pai_emulator.advance_clock(30)
    assert predict(created.internet_endpoint, [[1, 2]], describe(client, "warm").access_token)[0] == 200
    times = [e.time for e in events(client, "warm").events]
    assert len(times) >= 2 and times == sorted(times, reverse=True)
