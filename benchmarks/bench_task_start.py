"""What every task process pays before its first remote answer: in a deployment each Airflow task
runs in its own process, so the hook's imports, the connection and region checks and the client
are paid once per task, not once per ``airflow dags test`` (which runs every task in one process and
so hides it from ``bench_e2e.py``).

Method: each sample is a fresh Python process that has imported Airflow's ``DAG`` and
``BaseOperator`` (as a task process has) and then times, against the emulator, from importing the hook module to the first answer of
the demo flow's task: ``train`` (DataWorksHook: the ``auto`` API choice, GetNode), ``wait``
(DataWorksHook: the ``auto`` choice for an instance, GetInstance), ``export`` (OssHook: HeadObject),
``deploy`` (EasHook: DescribeService). ``--vs TREE`` runs the same children with another checkout
of the package first on ``PYTHONPATH`` (e.g. the code before a change, from ``git archive``),
interleaved sample by sample with this tree; both trees get their bytecode written first, as an
installed package has it. Medians with min / max.
"""

from __future__ import annotations

import argparse
import compileall
import os
import time
from pathlib import Path

from common import ROOT, emit, emulator, median, row, run_child

TASKS = ("train", "wait", "export", "deploy")
CHILD = """
import json, sys, time
from airflow.providers.common.compat.sdk import DAG, BaseOperator  # a task process has these
kind, instance = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
if kind in ("train", "wait"):
    from airflow_provider_pai.hooks.dataworks import DataWorksHook
    hook = DataWorksHook()
    if kind == "train":
        hook.describe_node(700001, project_id=10001)
    else:
        hook.get_run_instance(instance)
elif kind == "export":
    from airflow_provider_pai.hooks.oss import OssHook
    OssHook().list_objects("pai-demo", "models/churn/initial/")
else:
    from airflow_provider_pai.hooks.eas import EasHook
    EasHook().describe_service("churn_model")
elapsed = time.perf_counter() - start
sdks = sorted({m.split(".")[0] for m in sys.modules if m.startswith(("alibabacloud_", "oss2"))
               and (m.split(".")[0][-8:].isdigit() or m == "oss2")})
print("RESULT " + json.dumps({"s": elapsed, "sdks": sdks}))
"""


def one(tree: Path, kind: str, instance: int) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))}
    return run_child(CHILD, kind, str(instance), what=f"{kind} in {tree}", cwd=tree, env=env, timeout=300)


def spread(values: list[float]) -> str:
    return f"{min(values) * 1000:.0f} / {median(values) * 1000:.0f} / {max(values) * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2 samples each, figures meaningless")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--vs", metavar="TREE", help="a checkout to compare with (its airflow_provider_pai)")
    parser.add_argument("--samples", type=int, default=11)
    args = parser.parse_args()
    trees = {"this tree": ROOT}
    if args.vs:
        trees = {"baseline (--vs)": Path(args.vs).resolve(), **trees}
    for tree in trees.values():
        compileall.compile_dir(str(tree / "airflow_provider_pai"), quiet=1)
    samples = 2 if args.quick else args.samples
    results: dict[tuple[str, str], list[dict]] = {}
    with emulator():
        from airflow_provider_pai.hooks.dataworks import DataWorksHook

        hook = DataWorksHook()  # one run of the demo node, for the wait's GetInstance
        run = hook.start_run(project_id=10001, node_id=700001, bizdate="2026-11-01", name="bench_task_start")
        found = None
        while not found:  # DataWorks lists the instance a little after the run call
            time.sleep(0.2)
            found = hook.find_run_instance(run, project_id=10001, node_id=700001, bizdate="2026-11-01")
        instance = int(found["instance_id"])
        for _ in range(samples):  # interleaved: every task, every tree, each sample
            for kind in TASKS:
                for name, tree in trees.items():
                    results.setdefault((name, kind), []).append(one(tree, kind, instance))
    rows = []
    for kind in TASKS:
        ours = [r["s"] for r in results[("this tree", kind)]]
        base = [r["s"] for r in results[("baseline (--vs)", kind)]] if args.vs else None
        sdks = results[("this tree", kind)][-1]["sdks"]
        note = f"min / median / max: ours {spread(ours)}" + (f", baseline {spread(base)}" if base else "")
        note += f"; SDKs loaded: {', '.join(sdks) or 'none'}"
        if base:
            note += f" (baseline: {', '.join(results[('baseline (--vs)', kind)][-1]['sdks']) or 'none'})"
        rows.append(row(f"{kind}: hook import to first answer, fresh task process (ms)",
                        f"{median(base) * 1000:.0f}" if base else "", f"{median(ours) * 1000:.0f}",
                        ratio=round(median(ours) / median(base), 2) if base else None, note=note))
    emit({
        "name": "task_start",
        "title": "Per task process: from the hook's import to the first answer",
        "method": (f"Fresh processes over airflow.sdk against the emulator, {samples} samples per task and tree, "
                   "interleaved (task by task, tree by tree); bytecode written first for both trees; medians. "
                   "Baseline: the tree given with --vs."),
        "rows": rows,
    }, args)


if __name__ == "__main__":
    main()
