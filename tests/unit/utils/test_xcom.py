"""utils/xcom.py on a stand-in task instance: which map index is pulled for which mapping."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider_pai.utils.xcom import UpstreamError, describe, upstream_records


class MappedOperator:  # named as Airflow's: is_mapped goes by the class name
    def get_closest_mapped_task_group(self):
        return None


class Plain:
    def __init__(self, group=None):
        self._group = group

    def get_closest_mapped_task_group(self):
        return self._group


class Dag:
    dag_id = "d"

    def __init__(self, tasks):
        self.tasks = tasks
        self.task_ids = list(tasks)

    def get_task(self, task_id):
        if task_id not in self.tasks:
            raise KeyError(task_id)
        return self.tasks[task_id]


class Ti:
    def __init__(self, map_index, values):
        self.map_index, self.values, self.pulls = map_index, values, []

    def xcom_pull(self, task_ids, key="return_value", **kw):
        self.pulls.append(kw)
        if "map_indexes" in kw and kw["map_indexes"] is not None:
            return self.values.get(kw["map_indexes"])
        return [v for _, v in sorted(self.values.items())]


def ctx(map_index, other, values):
    return {"ti": Ti(map_index, values), "task": SimpleNamespace(dag=Dag({"deploy": other}))}


def test_unmapped_upstream_gives_its_one_value_to_mapped_and_unmapped_readers():
    for own in (-1, 3):
        c = ctx(own, Plain(), {-1: {"v": 1}})
        up = upstream_records(c, "deploy")
        assert (up.mapped, up.per_index, up.values) == (False, False, [{"v": 1}])
        assert c["ti"].pulls == [{"map_indexes": -1}]


@pytest.mark.parametrize("other", [MappedOperator(), Plain(group=object())], ids=["expanded", "in-mapped-group"])
def test_mapped_reader_of_a_mapped_upstream_gets_its_own_map_index(other):
    c = ctx(1, other, {0: "a", 1: "b"})
    up = upstream_records(c, "deploy")
    assert (up.mapped, up.per_index, up.values, up.map_index) == (True, False, ["b"], 1)


def test_unmapped_reader_of_a_mapped_upstream_gets_every_map_index():
    up = upstream_records(ctx(-1, MappedOperator(), {0: "a", 1: None, 2: "c"}), "deploy")
    assert (up.per_index, up.values) == (True, ["a", "c"])


def test_unknown_task_names_it_and_what_exists():
    with pytest.raises(UpstreamError, match=r"'nope' is not in DAG 'd'.*deploy"):
        upstream_records(ctx(-1, Plain(), {}), "nope")


def test_describe_is_short():
    assert describe("x" * 500).endswith("...") and len(describe("x" * 500)) < 210
