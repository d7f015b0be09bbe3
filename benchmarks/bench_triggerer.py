"""Triggerer scale: N concurrent ``DataWorksInstanceTrigger``s in one event loop against the emulator.

Each phase runs in a child forked from a parent that has imported Airflow, the provider and the
SDK (so no phase pays or counts imports) and that created the phase's N fresh DataWorks instances.
The emulator is its own process: its CPU is not counted. Phases:

* floor: N coroutines on ONE shared SDK client, each ``await client.get_instance_async(...)``
  every ``interval`` s until its instance ends (the same SDK's bare async call: what any wait costs);
* triggers: N ``DataWorksInstanceTrigger.run()`` (poll schedule pinned to the same ``interval``),
  every event checked; CPU per poll = process CPU / GetInstance calls counted by the emulator;
  RSS sampled during the run, above the same child's empty event loop;
* triggers + tracemalloc: the same, for Python's peak traced memory above the empty loop.

CPU phases run floor, triggers, triggers, floor (alternated); medians of the per-poll figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
import tracemalloc

from common import demo_scenario, emit, emulator, machine, median, parse_args, row

PROJECT_ID, NODE_ID = 10001, 700020
CPU_TARGET, MEM_TARGET_MB = 1.5, 100.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def scenario(run_seconds: float) -> dict:
    s = demo_scenario()
    s["dataworks"]["projects"][0]["nodes"].append(
        {"node_id": NODE_ID, "node_name": "train_many", "program_type": "PAI_STUDIO", "run_seconds": run_seconds,
         "outcome": "SUCCESS", "log": ["reading table", "training", "AUC 0.91"]})
    return s


def new_instances(hook, emu, n: int, start_day: int) -> list[int]:
    """N instances of one node at once: one backfill over N business dates (setup, not measured)."""
    from datetime import date, timedelta

    from alibabacloud_dataworks_public20200518 import models

    first = date(2020, 1, 1) + timedelta(days=start_day)
    last = first + timedelta(days=n - 1)
    request = models.RunCycleDagNodesRequest(
        name=f"bench_{start_day}", root_node_id=NODE_ID, include_node_ids=str(NODE_ID),
        start_biz_date=f"{first} 00:00:00", end_biz_date=f"{last} 00:00:00", parallelism=False,
        project_env="PROD", start_future_instance_immediately=True)
    dag_ids = set(hook.get_client().run_cycle_dag_nodes(request).body.data)
    time.sleep(0.6)  # instances appear shortly after the run call
    found = hook.list_instances(project_id=PROJECT_ID, node_id=NODE_ID)
    ids = sorted(int(i["InstanceId"]) for i in found if int(i["DagId"]) in dag_ids)
    assert len(ids) == n, (len(ids), n)
    return ids


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


async def sample_rss(box: dict) -> None:
    while True:
        box["peak"] = max(box["peak"], rss())
        await asyncio.sleep(0.2)


def offsets(n: int, interval: float) -> list[float]:
    """Start times spread over one interval, as a triggerer picks triggers up over time (1,000 connects
    at the same instant would overflow the emulator's listen backlog: the SDK opens one per request)."""
    return [interval * i / n for i in range(n)]


async def floor(ids: list[int], interval: float) -> dict:
    from alibabacloud_dataworks_public20200518 import models

    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    client = DataWorksHook().get_client()  # ONE client for all, built by the same config path

    errors = 0

    async def wait(iid: int, offset: float) -> str:
        nonlocal errors
        await asyncio.sleep(offset)
        while True:
            try:
                body = (await client.get_instance_async(models.GetInstanceRequest(instance_id=iid, project_env="PROD"))).body
            except Exception:  # a refused connection under load: poll again next interval, count it
                errors += 1
                await asyncio.sleep(interval)
                continue
            status = body.data.status
            if status in ("SUCCESS", "FAILURE"):
                return status
            await asyncio.sleep(interval)

    statuses = await asyncio.gather(*(wait(i, o) for i, o in zip(ids, offsets(len(ids), interval))))
    return {"ok": sum(s == "SUCCESS" for s in statuses), "errors": errors}


async def triggers(ids: list[int], interval: float) -> dict:
    from airflow_provider_pai.triggers.dataworks import DataWorksInstanceTrigger, InstanceWatch
    from airflow_provider_pai.utils.polling import PollSchedule

    def make(iid: int) -> DataWorksInstanceTrigger:
        schedule = PollSchedule(interval, min_latency=interval, max_interval=interval)
        watch = InstanceWatch(iid, schedule=schedule).to_dict()
        # as the triggerer does: rebuilt from its serialized form
        path, kwargs = DataWorksInstanceTrigger(iid, watch=watch).serialize()
        return DataWorksInstanceTrigger(**kwargs)

    async def run(trigger, offset: float) -> dict:
        await asyncio.sleep(offset)
        async for event in trigger.run():
            return event.payload

    made = [make(i) for i in ids]
    events = await asyncio.gather(*(run(t, o) for t, o in zip(made, offsets(len(made), interval))))
    clients = {id(t.hook.get_client()) for t in made}
    return {"ok": sum(e.get("status") == "success" for e in events), "clients": len(clients),
            "bad": [e for e in events if e.get("status") != "success"][:2]}


def phase(kind: str, ids: list[int], interval: float) -> dict:
    """Body of a forked child: the empty-loop baseline, then the phase; CPU, RSS and traced memory."""
    async def main() -> dict:
        await asyncio.sleep(0)  # the empty event loop is the memory baseline
        box = {"peak": rss()}
        base_rss = box["peak"]
        sampler = asyncio.create_task(sample_rss(box))
        traced = kind == "triggers+tracemalloc"
        if traced:
            tracemalloc.start()
            base_traced = tracemalloc.get_traced_memory()[0]
        cpu0, wall0 = time.process_time(), time.monotonic()
        out = await (floor(ids, interval) if kind == "floor" else triggers(ids, interval))
        out.update(cpu_s=time.process_time() - cpu0, wall_s=time.monotonic() - wall0)
        if traced:
            out["traced_mb"] = (tracemalloc.get_traced_memory()[1] - base_traced) / 2**20
            tracemalloc.stop()
        sampler.cancel()
        out["rss_mb"] = (max(box["peak"], rss()) - base_rss) / 2**20
        return out

    return asyncio.run(main())


def forked(kind: str, ids: list[int], interval: float, emu) -> dict:
    emu.reset_calls()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            result = phase(kind, ids, interval)
        except BaseException as exc:  # report, do not run the parent's code in the child
            result, code = {"error": repr(exc)}, 1
        os.write(write, json.dumps(result).encode())
        os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks))
    if "error" in result:
        raise RuntimeError(f"{kind} phase failed: {result['error']}")
    calls = emu.calls()["dataworks"]
    result.update(kind=kind, calls=calls, polls=calls.get("GetInstance", 0), n=len(ids))
    result["cpu_ms_per_poll"] = 1000 * result["cpu_s"] / max(result["polls"], 1)
    result["cpu_ms_per_call"] = 1000 * result["cpu_s"] / max(sum(calls.values()), 1)
    return result


def cpu_note(tr: list[dict], met: bool, per_call_ratio: float) -> str:
    note = ("floor = bare get_instance_async on one shared client; trigger polls include their "
            f"GetInstanceLog calls (per API call {per_call_ratio:.2f}x the floor)")
    if met:
        return note
    logs = sum(r["calls"].get("GetInstanceLog", 0) for r in tr) / max(sum(r["polls"] for r in tr), 1)
    return (f"{note}. MISSED: each poll also fetches the log {logs:.2f} times on average (on every status "
            "change and every few polls, so the log streams), each trigger builds its own hook and SDK "
            "client, and connection errors under the burst are retried")


def main() -> None:
    args = parse_args(__doc__)
    n, run_seconds, interval = (10, 2.0, 0.5) if args.quick else (1000, 30.0, 5.0)
    order = ["floor", "triggers"] if args.quick else ["floor", "triggers", "triggers", "floor"]
    # the parent imports everything the phases use (forked children then count none of it)
    import alibabacloud_dataworks_public20200518.client  # noqa: F401
    import aiohttp  # noqa: F401

    import airflow_provider_pai.triggers.dataworks  # noqa: F401
    from airflow_provider_pai.hooks.dataworks import DataWorksHook

    runs = []
    with emulator(scenario(run_seconds)) as emu:
        hook = DataWorksHook()
        for i, kind in enumerate([*order, "triggers+tracemalloc"]):
            ids = new_instances(hook, emu, n, start_day=i * (n + 1))
            runs.append(forked(kind, ids, interval, emu))

    fl = [r for r in runs if r["kind"] == "floor"]
    tr = [r for r in runs if r["kind"] == "triggers"]
    mem = next(r for r in runs if r["kind"] == "triggers+tracemalloc")
    f_poll, t_poll = median([r["cpu_ms_per_poll"] for r in fl]), median([r["cpu_ms_per_poll"] for r in tr])
    all_ok = all(r["ok"] == n for r in runs)
    clients = max(r.get("clients", 0) for r in tr + [mem])
    ratio = t_poll / f_poll
    rss_mb = median([r["rss_mb"] for r in tr])
    client_note = (f"{clients} SDK clients for {n} triggers (one hook per trigger, clients not shared per "
                   "connection)" if clients > 1 else "one shared SDK client")
    rows = [
        row(f"{n} waits all ended SUCCESS (every phase)", f"{min(r['ok'] for r in fl)}/{n}",
            f"{min(r['ok'] for r in tr + [mem])}/{n}", target=f"{n}/{n}", met=all_ok),
        row("CPU per poll (ms)", f"{f_poll:.2f}", f"{t_poll:.2f}", ratio=ratio, target=f"<= {CPU_TARGET}x floor",
            met=ratio <= CPU_TARGET,
            note=cpu_note(tr, ratio <= CPU_TARGET, median([r["cpu_ms_per_call"] for r in tr]) / f_poll)),
        row(f"memory for {n} triggers, tracemalloc peak (MB)", "", f"{mem['traced_mb']:.1f}",
            target=f"<= {MEM_TARGET_MB:.0f} MB", met=mem["traced_mb"] <= MEM_TARGET_MB, note=client_note),
        row(f"memory for {n} triggers, RSS peak above empty loop (MB)", f"{median([r['rss_mb'] for r in fl]):.1f}",
            f"{rss_mb:.1f}", target=f"<= {MEM_TARGET_MB:.0f} MB", met=rss_mb <= MEM_TARGET_MB,
            note="baseline column: the floor's N coroutines"),
    ]
    emit({
        "name": "triggerer",
        "title": f"Triggerer scale ({n} concurrent DataWorksInstanceTriggers, one event loop)",
        "method": (f"{n} instances of a {run_seconds:g} s node per phase, polled every {interval:g} s; emulator in "
                   f"its own process; starts spread over one interval; phases forked from one parent (imports done); CPU phases in the order "
                   f"{order}; CPU = process_time of the child, polls = GetInstance calls counted by the emulator."),
        "rows": rows,
        "details": {"runs": runs, "machine": machine()},
    }, args)


if __name__ == "__main__":
    main()
