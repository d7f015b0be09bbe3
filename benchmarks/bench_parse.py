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

import json
import subprocess
import sys

from common import ROOT, emit, machine, median, parse_args, row

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


def measure(modules: str) -> dict:
    """Import ``modules`` ("a+b") in a fresh process over airflow.sdk: seconds and what it loaded."""
    proc = subprocess.run([sys.executable, "-c", CHILD, modules], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"measuring {modules} failed:\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1][len("RESULT "):])


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
    rows = [
        row(f"`{BASELINE}` (PythonOperator, the baseline)", ms(median(base_all)), "",
            note=f"median of {len(base_all)} fresh processes over airflow.sdk"),
        row("all 5 operator and sensor modules in one DAG file", ms(median(base_all)), ms(median(ours)),
            ratio=ratio, target=f"<= {TARGET}", met=ratio <= TARGET and clean, note=note),
        row("the same, CPU time of the importing process", ms(median(cpu[BASELINE])), ms(median(cpu[ALL])),
            ratio=median(cpu[ALL]) / median(cpu[BASELINE]),
            note="reference: insensitive to other processes' load"),
    ]
    per_module = [] if args.quick else OPERATORS_AND_SENSORS + TRIGGERS
    for name in per_module:
        local: dict[str, list[float]] = {}
        interleaved(name, module_rounds, local, seen)
        samples[name] = local[name]
        samples[BASELINE] += local[BASELINE]
        kind = "reference: imported only when a task defers" if name in TRIGGERS else "reference"
        rows.append(row(f"`{name.removeprefix('airflow_provider_pai.')}`", ms(median(local[BASELINE])),
                        ms(median(local[name])), ratio=median(local[name]) / median(local[BASELINE]),
                        note=f"{kind}; {module_rounds} interleaved pairs"))
    emit({
        "name": "parse",
        "title": "DAG-parse cost (import time over airflow.sdk, relative to PythonOperator)",
        "method": (f"N = {rounds} interleaved pairs of fresh processes (baseline, ours, baseline, ours, ...); "
                   "each process imports `airflow.sdk` (DAG, BaseOperator) first and times only the measured "
                   "imports (wall clock; CPU time as a reference); the package's bytecode is written first, as an "
                   "installed package has it. Figures are medians, ratio = median(ours) / median(baseline). Not included: "
                   "constructing a task imports its hook module once per process (the default "
                   "`pai_conn_id` is the hook's `default_conn_name`); triggers load only when a task defers."),
        "rows": rows,
        "details": {"cpu_ms": {k: [round(v * 1000, 2) for v in vals] for k, vals in cpu.items()},
                    "samples_ms": {k: [round(v * 1000, 2) for v in vals] for k, vals in samples.items()},
                    "rounds": rounds, "machine": machine()},
    }, args)


if __name__ == "__main__":
    main()
