"""DAG-parse cost: import time of each provider module over a process that has already imported
``airflow.sdk``, divided by the same for ``airflow.providers.standard.operators.python``.

Each sample is a fresh process forked from one parent that imported ``airflow.sdk`` (``DAG`` and
``BaseOperator``, as any DAG file does) and nothing else: forking skips re-importing Airflow for
every sample (seconds on a loaded machine) while each child still starts with the same modules
loaded. The order alternates every round; the ratio is the median of per-round ratios (paired,
so load drifting during the run cancels out). The SDKs' own import cost is measured the same
way: that is what importing SDKs at module level would add to every DAG parse.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time

from common import emit, machine, median, parse_args, row

BASELINE = "airflow.providers.standard.operators.python"
PROVIDER = [
    "airflow_provider_pai.operators.dataworks",
    "airflow_provider_pai.operators.oss",
    "airflow_provider_pai.operators.eas",
    "airflow_provider_pai.sensors.dataworks",
    "airflow_provider_pai.sensors.eas",
    "airflow_provider_pai.triggers.dataworks",
    "airflow_provider_pai.triggers.eas",
]
ALL = "+".join(PROVIDER)  # a DAG file importing every operator and sensor
SDKS = ["oss2", "alibabacloud_dataworks_public20200518.client", "alibabacloud_eas20210701.client", "alibabacloud_oss_v2"]
SDK_PREFIXES = ("oss2", "alibabacloud", "Tea", "darabonba")
TARGET = 1.5


def measure(modules: str) -> tuple[float, list[str]]:
    """Seconds to import ``modules`` ("a+b") in a forked child, and the SDK modules it loaded."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: import, report, leave without running the parent's exit handlers
        os.close(read)
        try:
            start = time.perf_counter()
            for name in modules.split("+"):
                importlib.import_module(name)
            elapsed = time.perf_counter() - start
            sdks = sorted(m for m in sys.modules if m.split(".")[0].startswith(SDK_PREFIXES))
            os.write(write, json.dumps({"s": elapsed, "sdks": sdks[:5]}).encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    answer = json.loads(b"".join(chunks))
    return answer["s"], answer["sdks"]


def main() -> None:
    args = parse_args(__doc__)
    rounds = 2 if args.quick else 15
    provider = PROVIDER[:2] if args.quick else PROVIDER + [ALL]
    sdks = SDKS[:1] if args.quick else SDKS
    from airflow.providers.common.compat.sdk import DAG, BaseOperator  # noqa: F401  (the parent: what every DAG file has)

    names = [BASELINE, *provider, *sdks]
    samples: dict[str, list[float]] = {n: [] for n in names}
    leaked: dict[str, list[str]] = {}
    sdk_rounds = min(rounds, 5)  # seconds each; a reference figure, not a target
    for r in range(rounds):
        todo = [n for n in names if r < sdk_rounds or n not in sdks]
        for name in todo if r % 2 == 0 else reversed(todo):
            seconds, sdk_modules = measure(name)
            samples[name].append(seconds)
            if sdk_modules and name in provider:
                leaked[name] = sdk_modules

    base = samples[BASELINE]
    rows = [row(f"`{BASELINE.rsplit('.', 1)[1]}` (PythonOperator, the baseline)", f"{median(base) * 1000:.0f} ms",
                "", note="median import time over airflow.sdk")]

    def paired_ratio(name: str) -> float:  # zip pairs each sample with the baseline of its round
        return median([s / b for s, b in zip(samples[name], base)])

    for name in provider:
        ratio = paired_ratio(name)
        label = "all 7 provider modules in one DAG file" if name == ALL else f"`{name.removeprefix('airflow_provider_pai.')}`"
        note = f"imports SDK modules: {leaked[name]}" if name in leaked else "no SDK imported"
        rows.append(row(label, f"{median(base) * 1000:.0f} ms", f"{median(samples[name]) * 1000:.0f} ms",
                        ratio=ratio, target=f"<= {TARGET}", met=ratio <= TARGET and name not in leaked, note=note))
    for name in sdks:
        rows.append(row(f"SDK `{name}` (reference: avoided by lazy imports)", f"{median(base) * 1000:.0f} ms",
                        f"{median(samples[name]) * 1000:.0f} ms", ratio=paired_ratio(name),
                        note="what a module-level SDK import would add to every parse"))
    emit({
        "name": "parse",
        "title": "DAG-parse cost (import time over airflow.sdk, relative to PythonOperator)",
        "method": (f"{rounds} rounds; each sample a fresh process forked from a parent that imported "
                   "`airflow.sdk` (DAG, BaseOperator); order alternated each round; ratio = median of "
                   "per-round ratios to the PythonOperator module."),
        "rows": rows,
        "details": {"samples_ms": {k: [round(v * 1000, 1) for v in vals] for k, vals in samples.items()},
                    "machine": machine()},
    }, args)


if __name__ == "__main__":
    main()
