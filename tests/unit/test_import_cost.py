"""What a DAG file pays to import this provider: no SDK, no hook and no trigger module.

Timings live in ``benchmarks/bench_parse.py``; this test pins the cause of the cost instead: the
modules an import of every operator and sensor loads, and those constructing them (as a DAG file
does at every parse) loads.
"""

from __future__ import annotations

from pathlib import Path

from tests.fresh_python import run_python

SDK_PREFIXES = ("oss2", "alibabacloud", "Tea", "darabonba")
OPERATORS_AND_SENSORS = (
    "airflow_provider_pai.operators.dataworks", "airflow_provider_pai.operators.oss",
    "airflow_provider_pai.operators.eas", "airflow_provider_pai.sensors.dataworks",
    "airflow_provider_pai.sensors.eas",
)


def _loaded_after(imports: str) -> list[str]:
    code = (
        "import sys\n"
        f"{imports}\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    return run_python(code).split()


def test_hook_modules_import_no_sdk():
    loaded = _loaded_after(
        "import airflow_provider_pai.hooks.base, airflow_provider_pai.hooks.dataworks\n"
        "import airflow_provider_pai.hooks.eas, airflow_provider_pai.hooks.oss, airflow_provider_pai.hooks.connection\n"
        "import airflow_provider_pai.hooks.errors, airflow_provider_pai.hooks.endpoints\n"
        "import airflow_provider_pai.get_provider_info"
    )
    assert "airflow_provider_pai.hooks.eas" in loaded  # the import happened
    assert not [m for m in loaded if m.split(".")[0].startswith(SDK_PREFIXES)]


def test_operator_and_sensor_modules_import_no_sdk_hook_or_trigger():
    loaded = _loaded_after("\n".join(f"import {m}" for m in OPERATORS_AND_SENSORS))
    assert set(OPERATORS_AND_SENSORS) <= set(loaded)
    assert not [m for m in loaded if m.split(".")[0].startswith(SDK_PREFIXES)]
    heavy = [m for m in loaded if m.startswith(("airflow_provider_pai.triggers", "airflow_provider_pai.hooks"))]
    assert not heavy, f"loaded at DAG-parse time, only needed when a task runs or defers: {heavy}"


# The provider's modules only a running task needs (its wait, its result, its checks against the
# service): the methods that use them import them, so that a DAG file does not (issue 24).
RUN_TIME_ONLY = (
    "airflow_provider_pai.utils.dataworks", "airflow_provider_pai.utils.dataworks_nodes",
    "airflow_provider_pai.utils.eas", "airflow_provider_pai.utils.eas_canary", "airflow_provider_pai.utils.ends",
    "airflow_provider_pai.utils.polling", "airflow_provider_pai.utils.registry",
    "airflow_provider_pai.utils.status_meanings", "airflow_provider_pai.utils.xcom",
)


def test_operator_and_sensor_modules_do_not_import_what_only_a_running_task_needs():
    loaded = _loaded_after("\n".join(f"import {m}" for m in OPERATORS_AND_SENSORS))
    assert set(OPERATORS_AND_SENSORS) <= set(loaded)
    early = sorted(set(RUN_TIME_ONLY) & set(loaded))
    assert not early, f"loaded at DAG-parse time, only needed when a task runs: {early}"


def test_the_re_exported_names_still_import_from_the_operator_modules():
    """Names these modules re-export keep working, although their modules now load on first access."""
    from airflow_provider_pai.operators import dataworks, eas
    from airflow_provider_pai.utils import dataworks_nodes
    from airflow_provider_pai.utils import eas as utils_eas

    for name in eas._FROM_UTILS_EAS:
        assert getattr(eas, name) is getattr(utils_eas, name), name
    for name in ("DESIGNER_FILE_TYPE", "DESIGNER_PROGRAM_TYPE", "designer_check"):
        assert getattr(dataworks, name) is getattr(dataworks_nodes, name), name
    from airflow_provider_pai.operators.eas import DEPLOY_XCOM_KEY, parse_service_config  # noqa: F401


# Every operator and sensor, with the arguments it requires (templates, as in a DAG file).
CONSTRUCTED = {
    "airflow_provider_pai.operators.accept.AcceptModelOperator":
        "model_uri='oss://bkt/m/', asset=Asset('oss://bkt/m/')",
    "airflow_provider_pai.operators.dataworks.TriggerDesignerNodeOperator": "project_id=1, node_id=2",
    "airflow_provider_pai.operators.eas.EasCreateServiceOperator": "service_config={'name': 's'}",
    "airflow_provider_pai.operators.eas.EasModifyServiceOperator": "service_name='s', model_path='oss://bkt/m/'",
    "airflow_provider_pai.operators.eas_canary.EasCanaryStartOperator": "service_name='s', model_path='oss://bkt/m/'",
    "airflow_provider_pai.operators.eas_canary.EasCanarySetWeightOperator": "service_name='s', weight=10",
    "airflow_provider_pai.operators.eas_canary.EasCanaryAbortOperator": "service_name='s'",
    "airflow_provider_pai.operators.eas_canary.EasCanaryPromoteOperator": "service_name='s'",
    "airflow_provider_pai.operators.eas_rollback.EasRollbackOperator": "service_name='s', deploy_task_id='t3'",
    "airflow_provider_pai.operators.oss.ExportModelToOSSOperator": "source='oss://bkt/a/', destination='oss://bkt/c/'",
    "airflow_provider_pai.operators.registry.PaiSetModelApprovalOperator": "model_version='{{ params.version }}'",
    "airflow_provider_pai.operators.registry.PaiRegisterModelVersionOperator":
        "workspace_id='1', model_name='m', model_uri='oss://bkt/m/'",
    "airflow_provider_pai.sensors.dataworks.WaitForInstanceSensor": "instance_id=1",
    "airflow_provider_pai.sensors.eas.EasServiceSensor": "service_name='s'",
}


def test_constructing_each_operator_and_sensor_loads_no_sdk_hook_or_trigger():
    """A DAG file constructs its tasks at every parse: that too must not import a hook, trigger or SDK."""
    lines = ["from airflow.providers.common.compat.sdk import DAG, Asset",
             "import pendulum",
             "with DAG(dag_id='d', schedule=None, start_date=pendulum.datetime(2026, 1, 1)) as dag:"]
    for number, (path, arguments) in enumerate(CONSTRUCTED.items()):
        module, _, name = path.rpartition(".")
        lines.insert(0, f"from {module} import {name}")
        lines.append(f"    t{number} = {name}(task_id='t{number}', {arguments})")
        lines.append(f"    assert t{number}.pai_conn_id == 'pai_default', t{number}.pai_conn_id")
    lines.append(f"assert len(dag.task_ids) == {len(CONSTRUCTED)}")
    loaded = _loaded_after("\n".join(lines))
    assert {p.rpartition(".")[0] for p in CONSTRUCTED} <= set(loaded)  # the tasks were built
    assert not [m for m in loaded if m.split(".")[0].startswith(SDK_PREFIXES)]
    heavy = [m for m in loaded if m.startswith(("airflow_provider_pai.triggers", "airflow_provider_pai.hooks"))]
    assert not heavy, f"loaded when a task is constructed, only needed when it runs or defers: {heavy}"


def test_default_conn_names_table_agrees_with_each_hook_class():
    """``DEFAULT_CONN_NAMES`` stands in for importing the hook: it must say what the hook class says."""
    from importlib import import_module

    from airflow_provider_pai.mixins.hook import DEFAULT_CONN_NAMES

    hook_paths = {cls.hook_class_path for path in CONSTRUCTED
                  for cls in [getattr(import_module(path.rpartition(".")[0]), path.rpartition(".")[2])]}
    assert hook_paths <= set(DEFAULT_CONN_NAMES), "an operator's hook is missing from DEFAULT_CONN_NAMES"
    for path, name in DEFAULT_CONN_NAMES.items():
        module, _, attribute = path.rpartition(".")
        assert getattr(import_module(module), attribute).default_conn_name == name, path


def test_a_users_own_hook_class_path_still_gives_its_default_conn_name():
    """A subclass naming a hook outside the table gets that hook's ``default_conn_name`` by importing it."""
    from airflow_provider_pai.mixins.hook import PaiHookMixin

    class _Mine(PaiHookMixin):
        hook_class_path = "tests.unit.test_import_cost._MyHook"

    assert _Mine.default_conn_name() == "my_conn"
    mine = _Mine()
    mine._set_connection(None, None)
    assert mine.pai_conn_id == "my_conn"


class _MyHook:
    default_conn_name = "my_conn"


def test_parsing_the_example_dags_loads_no_sdk_hook_or_trigger():
    """The example DAG files import ``EasHook`` inside the task that calls it, not at parse time."""
    examples = sorted(str(p) for p in (Path(__file__).resolve().parents[2] / "example_dags").glob("*.py"))
    loaded = _loaded_after("import runpy\n" + "\n".join(
        f"assert runpy.run_path({path!r})['dag'].task_ids" for path in examples))
    assert "airflow_provider_pai.operators.eas" in loaded  # the files were parsed
    assert not [m for m in loaded if m.split(".")[0].startswith(SDK_PREFIXES)]
    heavy = [m for m in loaded if m.startswith(("airflow_provider_pai.triggers", "airflow_provider_pai.hooks"))]
    assert not heavy, f"loaded when the example DAGs are parsed: {heavy}"


def test_parsing_the_main_example_loads_nothing_only_a_running_task_needs():
    example = Path(__file__).resolve().parents[2] / "example_dags" / "pai_train_deploy.py"
    loaded = _loaded_after(f"import runpy\nassert len(runpy.run_path({str(example)!r})['dag'].task_ids) == 7")
    early = sorted(set(RUN_TIME_ONLY) & set(loaded))
    assert not early, f"loaded when pai_train_deploy.py is parsed, only needed when a task runs: {early}"


def test_a_subclass_with_its_own_hook_class_gets_that_hooks_default_conn_name():
    """``DEFAULT_CONN_NAMES`` stands in only for the path lookup: an overridden ``hook_class()`` is asked."""
    from airflow_provider_pai.mixins.hook import EAS_HOOK, PaiHookMixin

    class _Overridden(PaiHookMixin):
        hook_class_path = EAS_HOOK

        @classmethod
        def hook_class(cls):
            return _MyHook

    assert _Overridden.default_conn_name() == "my_conn"
