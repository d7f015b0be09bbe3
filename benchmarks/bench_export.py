"""Export: a large model exported by ``ExportModelToOSSOperator`` (server-side copy) against
download-then-upload through the worker (oss2 GetObject streamed into PutObject), same emulator.

The source object is written straight into the emulator's object store before it starts (no
upload). Bytes through the worker are the bytes the worker process sends and receives on sockets
(all threads) during the copy; the emulator's
call counts show which OSS actions each way used. Sizes below 2 GiB are used (and said) when
/tmp is short of space.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path

from common import demo_scenario, emit, emulator, machine, parse_args, row

GiB, MiB = 1 << 30, 1 << 20
BUCKET, SRC = "pai-demo", "designer/big/20261101/model/"
FILE = "model.bin"


class SocketBytes:
    """Bytes this process sends and receives on sockets (all threads), counted at the socket layer.

    Why not /proc/self/io: Linux does not count send/recv there, and /proc/net/dev counts every
    process on the loopback.
    """

    def __init__(self):
        self.total = 0

    def __enter__(self):
        import socket

        cls, counter = socket.socket, self
        self._saved = {name: getattr(cls, name) for name in ("send", "sendall", "recv", "recv_into")}
        send, sendall, recv, recv_into = (self._saved[n] for n in ("send", "sendall", "recv", "recv_into"))

        def c_send(sock, data, *a):
            n = send(sock, data, *a)
            counter.total += n
            return n

        def c_sendall(sock, data, *a):
            counter.total += memoryview(data).nbytes
            return sendall(sock, data, *a)

        def c_recv(sock, *a):
            data = recv(sock, *a)
            counter.total += len(data)
            return data

        def c_recv_into(sock, buf, *a):
            n = recv_into(sock, buf, *a)
            counter.total += n
            return n

        cls.send, cls.sendall, cls.recv, cls.recv_into = c_send, c_sendall, c_recv, c_recv_into
        return self

    def __exit__(self, *exc):
        import socket

        for name, fn in self._saved.items():
            setattr(socket.socket, name, fn)


def seed_big_object(size: int):
    def seed(data_dir: Path) -> None:
        from airflow_provider_pai.emulator.state import open_ctx

        store = open_ctx(demo_scenario(), data_dir).store  # seeds the scenario as the emulator would
        f, tmp = store.new_temp_file()
        block = os.urandom(MiB)
        with f:
            for _ in range(size // MiB):
                f.write(block)
            f.write(block[: size % MiB])
        store.commit_file(BUCKET, SRC + FILE, tmp)  # computes MD5 and CRC-64 once

    return seed


class FakeTI:
    dag_id, run_id, task_id, try_number, map_index = "bench_export", "bench_run", "export", 1, -1

    def xcom_push(self, key, value):
        pass


def ours(dst_prefix: str) -> None:
    from airflow_provider_pai.operators.oss import ExportModelToOSSOperator

    op = ExportModelToOSSOperator(task_id="export", source=f"oss://{BUCKET}/{SRC}",
                                  destination=f"oss://{BUCKET}/{dst_prefix}")
    op.execute({"ti": FakeTI(), "outlet_events": {}})


def baseline(dst_prefix: str, size: int) -> None:
    """What a worker without server-side copy does: stream the object down and back up."""
    from oss2.utils import SizedFileAdapter

    from airflow_provider_pai.hooks.oss import OssHook

    bucket = OssHook().get_bucket(BUCKET)
    body = bucket.get_object(SRC + FILE)
    bucket.put_object(dst_prefix + FILE, SizedFileAdapter(body, size))


def timed(emu, fn) -> dict:
    emu.reset_calls()
    with SocketBytes() as counted:
        t0 = time.monotonic()
        fn()
        wall = time.monotonic() - t0
    return {"wall_s": wall, "worker_bytes": counted.total, "oss_calls": emu.calls()["oss"]}


def main() -> None:
    args = parse_args(__doc__)
    free = shutil.disk_usage("/tmp").free
    wanted = 8 * MiB if args.quick else 2 * GiB
    # source + our copy + the baseline's copy + temporary files, with room to spare
    size = wanted if free > 6 * wanted else max(MiB, (free // 8) // MiB * MiB)
    repeats = 1  # a 2 GiB download+upload takes minutes on a loaded 2-core machine: one pair fits the 10 min run
    runs = []
    with emulator(seed=seed_big_object(size)) as emu:
        from airflow_provider_pai.hooks.oss import OssHook

        import airflow_provider_pai.operators.oss  # noqa: F401  (imports and the client are not what is timed)

        hook = OssHook()
        hook.head_object(BUCKET, SRC + FILE)
        for i in range(repeats):  # alternate the order; delete copies so the disk holds at most two
            for kind in (("ours", "baseline") if i % 2 == 0 else ("baseline", "ours")):
                dst = f"bench/{kind}/{i}/"
                r = timed(emu, (lambda: ours(dst)) if kind == "ours" else (lambda: baseline(dst, size)))
                head = hook.head_object(BUCKET, dst + FILE)
                src_head = hook.head_object(BUCKET, SRC + FILE)
                r.update(kind=kind, copy_ok=bool(head) and head["size"] == size and head["crc64"] == src_head["crc64"])
                runs.append(r)
                hook.delete_object(BUCKET, dst + FILE)

    def med(kind: str, key: str) -> float:
        return statistics.median(r[key] for r in runs if r["kind"] == kind)

    ours_bytes, base_bytes = med("ours", "worker_bytes"), med("baseline", "worker_bytes")
    ours_wall, base_wall = med("ours", "wall_s"), med("baseline", "wall_s")
    size_note = "" if size == wanted else f" (2 GiB wanted; /tmp had {free / GiB:.1f} GiB free)"
    ok = all(r["copy_ok"] for r in runs)
    ours_actions = sorted({k for r in runs if r["kind"] == "ours" for k in r["oss_calls"]})
    rows = [
        row(f"bytes through the worker, {size / MiB:.0f} MiB model{size_note}", f"{base_bytes / MiB:.1f} MiB",
            f"{ours_bytes / MiB:.2f} MiB", target="0 model bytes", met=ours_bytes < 0.01 * size and ok,
            note="socket bytes sent+received by the worker process (all threads); ours is requests and "
                 "answers only, OSS actions: " + ", ".join(ours_actions)),
        row("wall time (s)", f"{base_wall:.1f}", f"{ours_wall:.1f}", ratio=ours_wall / base_wall,
            target="faster than the baseline", met=ours_wall < base_wall and ok,
            note=f"median of {repeats}; copies verified by size and CRC-64"),
    ]
    emit({
        "name": "export",
        "title": f"Export ({size / GiB:.2f} GiB model): ExportModelToOSS vs download-then-upload",
        "method": (f"One {size} byte object written into the emulator's store before start; "
                   "ours = `ExportModelToOSSOperator.execute()` (defaults: multipart copy above 1 GiB, 256 MiB "
                   "parts, 4 workers); baseline = oss2 get_object streamed into put_object in the same worker; "
                   f"{repeats} pair(s), ours first (one pair only, to keep the whole run near 10 minutes)."),
        "rows": rows,
        "details": {"runs": runs, "size": size, "free_tmp": free, "machine": machine()},
    }, args)


if __name__ == "__main__":
    main()
