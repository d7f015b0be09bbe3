"""DAG-parse cost: what importing every operator and sensor module adds to a DAG file, relative to
the standard ``PythonOperator`` module (``airflow.providers.standard.operators.python``).

Method: each sample is a fresh Python process that first imports ``airflow.sdk`` (``DAG`` and
``BaseOperator``, as any DAG file does), then times the import of the measured modules only.
Samples are interleaved (baseline, ours, baseline, ours, ...) so load on the shared machine hits
both alike; the figures are the medians of each side and the ratio is median(ours) /
median(baseline). Each child also reports whether it loaded an SDK, a hook or a trigger module:
those belong to the task's run (hooks) or its deferral (triggers), not to parsing the DAG file.
Per-module rows (fewer samples, no target) show where the cost is. The package's bytecode is
written before measuring, as an installed package has it (the baseline's always is).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import ROOT, emit, machine, median, parse_args, row, run_child

BASELINE = "airflow.providers.standard.operators.python"
OPERATORS_AND_SENSORS = [
    "airflow_provider_pai.operators.dataworks",
    "airflow_provider_pai.operators.oss",
    "airflow_provider_pai.operators.eas",
    "airflow_provider_pai.sensors.dataworks",
    "airflow_provider_pai.sensors.eas",
]
ALL = "+".join(OPERATORS_AND_SENSORS)  # a DAG file importing every operator and sensor
TRIGGERS = ["airflow_provider_pai.triggers.dataworks", "airflow_provider_pai.triggers.eas"]
SDK_PREFIXES = ("oss2", "alibabacloud", "Tea", "darabonba")
DEFERRED_ONLY = ("airflow_provider_pai.triggers", "airflow_provider_pai.hooks")
TARGET = 1.2

CHILD = """
import json, sys, time
from airflow.providers.common.compat.sdk import DAG, BaseOperator  # what every DAG file has
import importlib
start, cpu = time.perf_counter(), time.process_time()
for name in sys.argv[1].split("+"):
    importlib.import_module(name)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
sdks = sorted(m for m in sys.modules if m.split(".")[0].startswith({sdk!r}))
deferred = sorted(m for m in sys.modules if m.startswith({deferred!r}))
print("RESULT " + json.dumps({{"s": elapsed, "cpu": cpu, "sdks": sdks[:5], "deferred": deferred[:5]}}))
""".format(sdk=SDK_PREFIXES, deferred=DEFERRED_ONLY)


# The whole DAG file, construction included: the example flow against the same shape (7 tasks, same
# DAG arguments and params, same dependencies) built of PythonOperators. Each child times exec of the
# file over airflow.sdk and checks it built the DAG.
EXAMPLE = ROOT / "example_dags" / "pai_train_deploy.py"
PLAIN_FILE = '''
import pendulum
from airflow.providers.common.compat.sdk import DAG, Param, task
from airflow.providers.standard.operators.python import PythonOperator

def _noop(**_):
    return None

with DAG(
    dag_id="pai_train_deploy",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    params={
        "project_id": Param(10001, type="integer", description="DataWorks workspace (project) id"),
        "node_id": Param(700001, type="integer", description="The PAI Designer node to run"),
        "output_prefix": Param("oss://pai-demo/designer/churn/", type="string", description="prefix"),
        "release_prefix": Param("oss://pai-demo/models/churn/", type="string"),
        "service_name": Param("churn_model", type="string", description="The PAI-EAS service to update"),
    },
    tags=["pai", "example"],
) as dag:
    train = PythonOperator(task_id="train", python_callable=_noop,
                           op_kwargs={"project_id": "{{ params.project_id }}", "node_id": "{{ params.node_id }}",
                                      "bizdate": "{{ ds }}"})
    wait_for_training = PythonOperator(task_id="wait_for_training", python_callable=_noop,
                                       op_kwargs={"instance_id": "{{ ti.xcom_pull(task_ids='train')['instance_id'] }}"})
    export_model = PythonOperator(task_id="export_model", python_callable=_noop,
                                  op_kwargs={"source": "{{ params.output_prefix }}{{ ds_nodash }}/model/",
                                             "destination": "{{ params.release_prefix }}{{ ds_nodash }}/"})
    deploy = PythonOperator(task_id="deploy", python_callable=_noop,
                            op_kwargs={"service_name": "{{ params.service_name }}",
                                       "model_path": "{{ ti.xcom_pull(task_ids='export_model') }}"})

    @task
    def test_service(deployed: dict) -> dict:
        return {"version": deployed.get("version")}

    tested = test_service(deploy.output)
    rollback = PythonOperator(task_id="rollback", python_callable=_noop, trigger_rule="one_failed",
                              op_kwargs={"service_name": "{{ params.service_name }}"})

    @task(trigger_rule="all_done")
    def report(**context) -> str:
        return "ok"

    train >> wait_for_training >> export_model >> deploy >> tested >> rollback
    [tested, rollback] >> report()
'''
FILE_CHILD = """
import json, runpy, sys, time
from airflow.providers.common.compat.sdk import DAG, BaseOperator  # what the DAG processor already has
start, cpu = time.perf_counter(), time.process_time()
ns = runpy.run_path(sys.argv[1])
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
dag = ns["dag"]
sdks = sorted(m for m in sys.modules if m.split(".")[0].startswith({sdk!r}))
print("RESULT " + json.dumps({{"s": elapsed, "cpu": cpu, "tasks": len(dag.task_ids), "sdks": sdks[:5]}}))
""".format(sdk=SDK_PREFIXES)


def measure_file(path: str) -> dict:
    """Exec one DAG file (imports and task construction) in a fresh process over airflow.sdk."""
    return run_child(FILE_CHILD, path, what=f"parsing {path}")


def spread(values: list[float]) -> str:
    """min / median / max in ms."""
    return f"{min(values) * 1000:.1f} / {median(values) * 1000:.1f} / {max(values) * 1000:.1f} ms"


def quartiles(values: list[float]) -> tuple[float, float]:
    import statistics

    if len(values) < 4:
        return min(values), max(values)
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def noise_decides(a: list[float], b: list[float]) -> bool:
    """The interquartile ranges of the two sides overlap: which side is cheaper is not established."""
    (a1, a3), (b1, b3) = quartiles(a), quartiles(b)
    return a1 <= b3 and b1 <= a3


def measure(modules: str) -> dict:
    """Import ``modules`` ("a+b") in a fresh process over airflow.sdk: seconds and what it loaded."""
    return run_child(CHILD, modules, what=f"measuring {modules}")


def interleaved(name: str, rounds: int, samples: dict[str, list[float]], seen: dict[str, dict],
                cpu: dict[str, list[float]] | None = None) -> None:
    for _ in range(rounds):
        for measured in (BASELINE, name):
            answer = measure(measured)
            samples.setdefault(measured, []).append(answer["s"])
            if cpu is not None:
                cpu.setdefault(measured, []).append(answer["cpu"])
            seen[measured] = answer


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def compile_package() -> None:
    """Write the package's bytecode first, as an installed package has it: otherwise every child
    (PYTHONDONTWRITEBYTECODE, or a read-only checkout) compiles our sources while the baseline's
    bytecode is cached, and the figure measures the compiler."""
    import compileall

    compileall.compile_dir(str(ROOT / "airflow_provider_pai"), quiet=1)


def main() -> None:
    args = parse_args(__doc__)
    compile_package()
    rounds = 2 if args.quick else 21
    module_rounds = 1 if args.quick else 7
    samples: dict[str, list[float]] = {}
    seen: dict[str, dict] = {}
    cpu: dict[str, list[float]] = {}
    interleaved(ALL, rounds, samples, seen, cpu)
    base_all = samples[BASELINE][:]
    ours = samples[ALL]
    ratio = median(ours) / median(base_all)
    leaks = seen[ALL]
    clean = not leaks["sdks"] and not leaks["deferred"]
    note = "no SDK imported" if clean else f"loaded at parse time: {leaks['sdks'] + leaks['deferred']}"
    spreads = f"min / median / max: baseline {spread(base_all)}, ours {spread(ours)}"
    rows = [
        row(f"`{BASELINE}` (PythonOperator, the baseline)", ms(median(base_all)), "",
            note=f"median of {len(base_all)} fresh processes over airflow.sdk; {spread(base_all)}"),
        row("all 5 operator and sensor modules in one DAG file", ms(median(base_all)), ms(median(ours)),
            ratio=ratio, target=f"<= {TARGET}", met=ratio <= TARGET and clean, note=f"{note}; {spreads}"),
        row("the same, CPU time of the importing process", ms(median(cpu[BASELINE])), ms(median(cpu[ALL])),
            ratio=median(cpu[ALL]) / median(cpu[BASELINE]),
            note=f"reference: insensitive to other processes' load; min / median / max: baseline "
                 f"{spread(cpu[BASELINE])}, ours {spread(cpu[ALL])}"),
    ]
    # The whole file: imports and task construction, the example flow against PythonOperators.
    files: dict[str, list[dict]] = {"plain": [], "example": []}
    with tempfile.TemporaryDirectory(prefix="pai-bench-parse-") as tmp:
        plain = Path(tmp) / "plain_train_deploy.py"
        plain.write_text(PLAIN_FILE)
        for _ in range(rounds):
            for kind, path in (("plain", plain), ("example", EXAMPLE)):
                files[kind].append(measure_file(str(path)))
    wall = {k: [r["s"] for r in v] for k, v in files.items()}
    fcpu = {k: [r["cpu"] for r in v] for k, v in files.items()}
    shapes = {k: {r["tasks"] for r in v} for k, v in files.items()}
    same_shape = shapes["plain"] == shapes["example"] == {7}
    file_ratio = median(wall["example"]) / median(wall["plain"])
    cpu_ratio = median(fcpu["example"]) / median(fcpu["plain"])
    file_sdks = files["example"][-1]["sdks"]
    # On a loaded machine the wall clock of a 50 ms parse is noise: then the target is judged on CPU time.
    noisy = noise_decides(wall["example"], wall["plain"])
    judged = cpu_ratio if noisy else file_ratio
    rows += [
        row("whole DAG file: example flow vs the same 7 tasks as PythonOperators (wall)", ms(median(wall["plain"])),
            ms(median(wall["example"])), ratio=file_ratio, target=f"<= {TARGET}",
            met=judged <= TARGET and same_shape and not file_sdks,
            note=f"imports + construction; min / median / max: baseline {spread(wall['plain'])}, ours "
                 f"{spread(wall['example'])}; {'7 tasks each' if same_shape else f'SHAPES DIFFER {shapes}'}"
                 + (f"; SDK loaded: {file_sdks}" if file_sdks else "; no SDK imported")
                 + (f"; the wall figures' interquartile ranges overlap (noise decides them): judged on the CPU "
                    f"ratio, {cpu_ratio:.2f}" if noisy else "")),
        row("whole DAG file, CPU time of the parsing process", ms(median(fcpu["plain"])), ms(median(fcpu["example"])),
            ratio=cpu_ratio,
            note=f"reference; min / median / max: baseline {spread(fcpu['plain'])}, ours {spread(fcpu['example'])}"),
    ]
    samples["whole file: plain"], samples["whole file: example"] = wall["plain"], wall["example"]
    cpu["whole file: plain"], cpu["whole file: example"] = fcpu["plain"], fcpu["example"]
    per_module = [] if args.quick else OPERATORS_AND_SENSORS + TRIGGERS
    dropped = []
    for name in per_module:
        local: dict[str, list[float]] = {}
        interleaved(name, module_rounds, local, seen)
        samples[name] = local[name]
        samples[BASELINE] += local[BASELINE]
        short = name.removeprefix("airflow_provider_pai.")
        if noise_decides(local[name], local[BASELINE]):
            dropped.append(short)  # kept in the details, not as a figure
            continue
        kind = "reference: imported only when a task defers" if name in TRIGGERS else "reference"
        rows.append(row(f"`{short}`", ms(median(local[BASELINE])),
                        ms(median(local[name])), ratio=median(local[name]) / median(local[BASELINE]),
                        note=f"{kind}; {module_rounds} interleaved pairs; min / median / max: baseline "
                             f"{spread(local[BASELINE])}, ours {spread(local[name])}"))
    emit({
        "name": "parse",
        "title": "DAG-parse cost (imports and the whole DAG file over airflow.sdk, relative to PythonOperator)",
        "method": (f"N = {rounds} interleaved pairs of fresh processes (baseline, ours, baseline, ours, ...); "
                   "each process imports `airflow.sdk` (DAG, BaseOperator) first and times only the measured "
                   "imports (wall clock; CPU time as a reference); the package's bytecode is written first, as an "
                   "installed package has it. Figures are medians, ratio = median(ours) / median(baseline), with "
                   "min / median / max of each side in the note. The module rows time imports only; the whole-file "
                   f"rows exec `example_dags/pai_train_deploy.py` (imports and task construction; neither loads a "
                   f"hook module) against a DAG of the same shape built of PythonOperators, {rounds} interleaved "
                   "pairs of fresh processes over airflow.sdk. Per-module rows whose interquartile ranges overlap "
                   "(noise decides which side is cheaper) are dropped"
                   + (f": {', '.join(dropped)}" if dropped else "") + ". Triggers load only when a task defers."),
        "rows": rows,
        "details": {"cpu_ms": {k: [round(v * 1000, 2) for v in vals] for k, vals in cpu.items()},
                    "samples_ms": {k: [round(v * 1000, 2) for v in vals] for k, vals in samples.items()},
                    "rounds": rounds, "machine": machine()},
    }, args)


if __name__ == "__main__":
    main()
