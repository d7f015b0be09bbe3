"""The Airflow UI against the emulator, on 127.0.0.1, in one command; and the docs' UI screenshots.

    .venv/bin/python scripts/airflow_ui.py up [--port 8080] [--scenario FILE]
        One emulator (the demo scenario, or FILE), then Airflow 3 (api-server, scheduler,
        triggerer, dag-processor) with every example DAG and a stored `pai_default` connection.
        Prints the URL and the admin password, runs until Ctrl-C (or SIGTERM), then stops every
        process it started.

    .venv/bin/python scripts/airflow_ui.py screenshots [--out docs/img]
        The same stack, a good and a broken run of the example DAG and a run of pai_train_accept,
        screenshots of them (the wait's log, the accept log, the asset event), of the connection
        form and its Test notice in headless Chromium (docs/img/ui-*.png), then everything stopped. `scripts/setup.sh` installs Chromium
        and playwright.

Both need Airflow 3 (the .venv leg) and run from the checkout (they reuse tests/ui/stack.py).
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import signal
import sys
import tempfile
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airflow_provider_pai.emulator.process import PROXY_VARS  # noqa: E402
from airflow_provider_pai.emulator.scenario import DEMO_SCENARIO, load_scenario  # noqa: E402

# The good run's wait copies the training log every 5 s (the example's log_interval param), so its
# log shows the first status, "no log yet" and the lines in batches.
GOOD = ("2026-11-20T00:00:00Z", {"log_interval": 5})
BROKEN = ("2026-11-21T00:00:00Z", {"node_id": 700002, "output_prefix": "oss://pai-demo/designer/churn_broken/"})
ACCEPT = ("pai_train_accept", "2026-11-22T00:00:00Z")  # the asset pair's producer: the "model ready" event
ACCEPTED_ASSET_URI = "oss://pai-demo/models/churn"  # as Airflow stores it (no trailing slash)


EXAMPLES = ROOT / "example_dags"
LONG_NODE = 700006  # the demo scenario's 4-minute training: its log streams into the wait's log


def demo_scenario(path: str | os.PathLike = DEMO_SCENARIO) -> dict:
    """The scenario (default: the demo's) with waits of at least 12 s: a trigger firing within
    seconds of its deferral hits an Airflow 3.3 scheduler race (docs/reliability.md)."""
    scenario = copy.deepcopy(load_scenario(path))
    for project in scenario.get("dataworks", {}).get("projects", []):
        for node in project.get("nodes", []):
            node["run_seconds"] = max(node.get("run_seconds", 5), 12)
    for service in scenario.get("eas", {}).get("services", []):
        service["start_seconds"] = max(service.get("start_seconds", 2), 12)
    return scenario


def other_examples() -> tuple[Path, ...]:
    """Every example DAG but pai_train_deploy (UiStack writes that one, with its schedule)."""
    from tests.ui.stack import EXAMPLE_DAG

    return tuple(sorted(path for path in EXAMPLES.glob("*.py") if path != EXAMPLE_DAG and not path.name.startswith("_")))


def _stop_on_sigterm() -> None:
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def up(args) -> int:
    from tests.ui.stack import DAG_ID, UiStack

    root = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="pai-airflow-ui-"))
    _stop_on_sigterm()
    print(f"starting the emulator and Airflow in {root} (a minute: the metadata DB is created first) ...",
          flush=True)
    scenario = demo_scenario(args.scenario) if args.scenario else demo_scenario()
    others = other_examples()
    stack = UiStack(root, scenario=scenario, port=args.port or None, schedule="@daily", extra_dags=others)
    try:
        stack.start()
        print(f"\nAirflow UI: {stack.base_url}  (user admin, password {stack.af.password})\n"
              f"emulator:   {stack.emu.url}  (scenario: {args.scenario or 'demo'})\n"
              f"DAG {DAG_ID} is unpaused: its latest daily run starts now; trigger more with its Trigger button.\n"
              f"  To watch a training's log stream in: trigger {DAG_ID} with node_id {LONG_NODE} and output_prefix\n"
              f"  oss://pai-demo/designer/churn_long/ (4 minutes, a line every 15 s), open wait_for_training's log.\n"
              f"Also in the DAGs list, paused (unpause to use): {', '.join(p.stem for p in others)}.\n"
              f"Component logs: {stack.af.home}/*.out\nCtrl-C stops everything.", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping ...", flush=True)
        stack.stop()
        if not args.home:
            shutil.rmtree(root, ignore_errors=True)
    return 0


def screenshots(args) -> int:
    from tests.ui.stack import (
        DAG_ID,
        UiStack,
        UserView,
        add_connection_in_form,
        browser_page,
        missing_browser,
        press_test,
        triggered_only,
    )

    why = missing_browser()
    if why:
        sys.exit(why)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="pai-airflow-ui-"))
    _stop_on_sigterm()
    try:
        accept_dag, accept_date = ACCEPT
        with UiStack(root, scenario=demo_scenario(), extra_dags=(triggered_only(accept_dag, root),)) as stack:
            af = stack.af
            af.wait_for_dag(accept_dag)
            accept_run = af.trigger(accept_dag, logical_date=accept_date)
            runs = {name: af.trigger(DAG_ID, logical_date=date, conf=conf)
                    for name, (date, conf) in (("good", GOOD), ("broken", BROKEN))}
            states = {name: af.wait_for_run(DAG_ID, run_id, timeout=600) for name, run_id in runs.items()}
            states["accept"] = af.wait_for_run(accept_dag, accept_run, timeout=600)
            if states != {"good": "success", "broken": "failed", "accept": "success"}:
                sys.exit(f"unexpected run states {states}; see {af.home}/*.out")
            with browser_page(stack.base_url, af.password) as page:
                user = UserView(page, root / "steps")
                for name, run_id in runs.items():
                    run_path = f"/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id, safe='')}"
                    pictures = {f"ui-{name}-run.png": (run_path, "Task Instances")}
                    pictures[f"ui-{name}-wait-log.png" if name == "good" else "ui-broken-report-log.png"] = (
                        (f"{run_path}/tasks/wait_for_training", "[dataworks]") if name == "good"
                        else (f"{run_path}/tasks/report", "no new model is serving"))
                    for file, (path, text) in pictures.items():
                        user.visit(path, file, wait_for=text)
                        page.screenshot(path=str(out / file))
                        print(out / file)
                # The accepting task's log line, and the "model ready" asset's page with its event.
                asset = next(a for a in af.api("GET", "/assets")["assets"] if a["uri"] == ACCEPTED_ASSET_URI)
                pictures = {
                    "ui-accept-log.png": (f"/dags/{accept_dag}/runs/{urllib.parse.quote(accept_run, safe='')}"
                                          "/tasks/accept", "Accepted oss://"),
                    "ui-asset-event.png": (f"/assets/{asset['id']}", accept_dag),
                }
                for file, (path, text) in pictures.items():
                    user.visit(path, file, wait_for=text)
                    page.screenshot(path=str(out / file))
                    print(out / file)
                # The Add Connection form filled in, and the Test notice for a wrong secret.
                emu = stack.emu
                add_connection_in_form(user, emu, "pai_from_form", emu.access_key_secret, out / "ui-connection-form.png")
                add_connection_in_form(user, emu, "pai_wrong_secret", "not-the-secret", root / "wrong-form.png")
                press_test(user, "pai_wrong_secret")
                page.screenshot(path=str(out / "ui-connection-test-failed.png"))
                print(out / "ui-connection-form.png", out / "ui-connection-test-failed.png")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def main() -> int:
    for var in PROXY_VARS:  # the Tea SDK would send even 127.0.0.1 through a proxy
        os.environ.pop(var, None)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the emulator and Airflow on 127.0.0.1 until Ctrl-C")
    p_up.add_argument("--port", type=int, default=8080, help="the UI's port (0: a free one; default 8080)")
    p_up.add_argument("--home", help="keep AIRFLOW_HOME and the emulator's data here (default: a temp dir, removed)")
    p_up.add_argument("--scenario", help="the emulator's scenario, a YAML or JSON file (default: the demo scenario, "
                      "which serves every example DAG)")
    p_shots = sub.add_parser("screenshots", help="refresh the docs' UI screenshots")
    p_shots.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = parser.parse_args()
    return up(args) if args.command == "up" else screenshots(args)


if __name__ == "__main__":
    sys.exit(main())
