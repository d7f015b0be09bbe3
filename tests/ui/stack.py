"""The whole UI stack on 127.0.0.1: the emulator, a multi-process Airflow 3 (api-server, scheduler,
triggerer, dag-processor; ``tests/reliability/airflow_cluster.py``) with the example DAG and a stored
``pai_default`` connection, and headless Chromium (Debian's ``chromium`` driven by ``playwright``).

Used by the browser tests (``tests/ui/``) and by ``scripts/airflow_ui.py`` (``up``: start it all for
a person; ``screenshots``: refresh the pictures in ``docs/img/``).
"""

from __future__ import annotations

import json
import re
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from airflow_provider_pai.emulator.process import CONN_ENV, EmulatorProcess
from tests.reliability.airflow_cluster import AirflowCluster, ApiError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAG = REPO / "example_dags" / "pai_train_deploy.py"
DAG_ID = "pai_train_deploy"
CONN_ID = "pai_default"

# Debian's package (scripts/setup-ui.sh installs it); playwright never downloads a browser here.
CHROMIUM = os.environ.get("PAI_UI_CHROMIUM", "/usr/bin/chromium")
# The network is closed: nothing in the browser may try to reach outside 127.0.0.1.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server",
]
VIEWPORT = {"width": 1440, "height": 900}


def triggered_only(example: str, into: Path) -> Path:
    """A copy of ``example_dags/<example>.py`` in ``into`` that runs only when triggered (no
    ``@daily`` run the moment it is unpaused), for a UiStack's ``extra_dags``."""
    source = (REPO / "example_dags" / f"{example}.py").read_text()
    assert 'schedule="@daily"' in source, example
    path = Path(into) / f"{example}.py"
    path.write_text(source.replace('schedule="@daily"', "schedule=None"))
    return path


def missing_browser() -> str | None:
    """Why the browser cannot run here, or None."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (scripts/setup.sh installs it on the Airflow 3 leg)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (scripts/setup.sh installs Debian's chromium package)"
    return None


class UiStack:
    """``with UiStack(root) as ui: ui.af.trigger(...)``: the emulator and Airflow, stopped whole on exit.

    ``schedule``: the example DAG's schedule as written to the DAGs folder (``None``: runs only when
    triggered, what tests and screenshots want; ``"@daily"`` as shipped). ``port``: the UI's port
    (a free one when None). ``cluster``: an AirflowCluster whose DB is already being migrated.
    ``max_active_runs``: overrides the example's 1 (runs that deploy to different services may overlap).
    """

    def __init__(self, root: Path, *, scenario: dict | None = None, port: int | None = None,
                 schedule: str | None = None, extra_dags: tuple[Path, ...] = (),
                 cluster: AirflowCluster | None = None, env: dict[str, str] | None = None,
                 max_active_runs: int | None = None):
        self.root = Path(root)
        self.emu = EmulatorProcess(scenario, data_dir=self.root / "emulator")
        self.af = cluster or AirflowCluster(self.root / "airflow", port=port)
        self._schedule = schedule
        self._extra_dags = extra_dags
        self._env = dict(env or {})
        self._max_active_runs = max_active_runs

    @property
    def base_url(self) -> str:
        return self.af.base_url

    def start(self) -> UiStack:
        self.emu.start()
        try:
            # The connection lives in the metadata DB (not an AIRFLOW_CONN_ variable), so the UI
            # lists it, its form opens and its Test button has something to test.
            env = {k: v for k, v in self.emu.airflow_env().items() if k != CONN_ENV}
            self.af.extra_env.update(env, AIRFLOW__CORE__TEST_CONNECTION="Enabled", **self._env)
            source = EXAMPLE_DAG.read_text()
            if self._schedule != "@daily":
                assert 'schedule="@daily"' in source
                source = source.replace('schedule="@daily"', f"schedule={self._schedule!r}")
            if self._max_active_runs:
                assert "max_active_runs=1," in source
                source = source.replace("max_active_runs=1,", f"max_active_runs={self._max_active_runs},")
            (self.af.dags_folder / EXAMPLE_DAG.name).write_text(source)
            for path in self._extra_dags:
                self.af.add_dag_file(path)
            self.af.start()
            self.store_connection()
            self.af.wait_for_dag(DAG_ID)
        except BaseException:
            self.stop()
            raise
        return self

    def store_connection(self) -> None:
        try:
            self.af.api("POST", "/connections", self.connection())
        except ApiError as err:  # a kept AIRFLOW_HOME already has it: point it at this emulator
            if err.status != 409:
                raise
            self.af.api("PATCH", f"/connections/{CONN_ID}", self.connection())

    def connection(self) -> dict[str, Any]:
        """``pai_default`` as the form saves it: Region ID in the (relabelled) Schema field, and a port
        the provider ignores (without one, Airflow 3.3.2's Test button is refused upstream)."""
        extra = {k: v for k, v in self.emu.connection_extra.items() if k != "region_id"}
        return {"connection_id": CONN_ID, "conn_type": "alibaba_cloud_pai", "login": self.emu.access_key_id,
                "password": self.emu.access_key_secret, "port": 443, "schema": self.emu.region_id,
                "extra": json.dumps(extra)}

    def stop(self) -> None:
        try:
            self.af.stop()
        finally:
            self.emu.stop()

    def __enter__(self) -> UiStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextmanager
def browser_page(base_url: str, password: str, *, user: str = "admin") -> Iterator[Any]:
    """A logged-in page of headless Debian Chromium with a new, empty profile (removed afterwards)."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="pai-ui-chromium-")
    try:
        with sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport=VIEWPORT, base_url=base_url, timezone_id="UTC", locale="en-US",
            )
            try:
                page = context.pages[0] if context.pages else context.new_page()
                login(page, user, password)
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class UserView:
    """A person at the browser. Every step is screenshotted (full page) with its HTML into ``shots``
    as ``NN-name.png/.html``, and each page's text and HTML are kept in ``pages`` for later checks.
    """

    def __init__(self, page: Any, shots: Path):
        self.page = page
        self.shots = Path(shots)
        self.shots.mkdir(parents=True, exist_ok=True)
        self.pages: dict[str, tuple[str, str]] = {}  # step -> (visible text, HTML)
        self._step = 0

    def visit(self, path: str, name: str, *, wait_for: str | re.Pattern | None = None, timeout: float = 30) -> str:
        """Open ``path`` (relative to the UI), wait for the text ``wait_for`` to show, snap; returns the text."""
        self.page.goto(path)
        return self.settle(name, wait_for=wait_for, timeout=timeout)

    def settle(self, name: str, *, wait_for: str | re.Pattern | None = None, timeout: float = 30) -> str:
        if wait_for:
            self.page.get_by_text(wait_for).first.wait_for(timeout=timeout * 1000)
        self.page.wait_for_timeout(1000)  # the UI fills in the rest of the page from its API calls
        return self.snap(name)

    def snap(self, name: str) -> str:
        self._step += 1
        stem = f"{self._step:02d}-{name}"
        self.page.screenshot(path=str(self.shots / f"{stem}.png"), full_page=True)
        html, text = self.page.content(), self.page.inner_text("body")
        (self.shots / f"{stem}.html").write_text(html)
        self.pages[stem] = (text, html)
        return text

    def link_hrefs(self) -> dict[str, str | None]:
        """The extra links on the open task instance's Details tab, by their text."""
        section = self.page.locator("div", has=self.page.get_by_text("Extra Links", exact=True)).last
        return {a.inner_text().strip(): a.get_attribute("href") for a in section.locator("a[href]").all()}


def add_connection_in_form(user: UserView, emu: Any, conn_id: str, secret: str, picture: Path) -> None:
    """Create a connection in the Add Connection form as a person does, and save it. No page text is
    kept while secrets are typed (the secrets check reads every kept page); one screenshot of the
    standard fields is, into ``picture``."""
    page = user.page
    user.visit("/connections", f"add-{conn_id}", wait_for=CONN_ID)
    page.get_by_role("button", name=re.compile("Add Connection")).click()
    page.get_by_text("Select Connection Type").wait_for()
    page.locator("input[name='connection_id']").fill(conn_id)
    # The select's own input lies over its placeholder: a person's click lands on the control all the same.
    page.get_by_text("Select Connection Type").click(force=True)
    page.keyboard.type("Alibaba Cloud PAI")
    page.keyboard.press("Enter")
    page.get_by_text("AccessKey ID").first.wait_for()
    page.get_by_placeholder("cn-shanghai (required", exact=False).fill(emu.region_id)
    page.get_by_placeholder("443", exact=False).fill("443")
    page.get_by_placeholder("LTAI", exact=False).fill(emu.access_key_id)
    page.get_by_placeholder("AccessKey Secret").fill(secret)
    page.wait_for_timeout(500)
    page.screenshot(path=str(picture))  # Region ID and Port beside the keys (the secret shows as dots)
    if emu.security_token:  # STS keys: auth type sts and its token
        page.get_by_text("Extra Fields", exact=True).click()
        page.locator("#element_auth_type").click()
        page.keyboard.type("sts")
        page.keyboard.press("Enter")
        page.get_by_text("Temporary credentials and roles", exact=False).first.click()
        page.locator("#element_security_token").fill(emu.security_token)
    page.get_by_text("Endpoints and network", exact=False).first.click()
    for name in ("dataworks_endpoint", "eas_endpoint", "oss_endpoint"):
        page.locator(f"#element_{name}").fill(emu.url)
    page.get_by_role("button", name="Save").click()
    page.get_by_role("dialog").wait_for(state="detached", timeout=30_000)


def press_test(user: UserView, conn_id: str) -> str:
    """Press the Test button of ``conn_id``'s row in the Connections list; the page text with its notice."""
    user.visit("/connections", f"list-{conn_id}", wait_for=conn_id)
    row = user.page.locator("tr", has=user.page.get_by_text(conn_id, exact=True))
    row.get_by_label("Test Connection").click()
    text = user.settle(f"test-{conn_id}", wait_for=re.compile("Test Connection (Successful|Failed)"))
    return text


def login(page: Any, user: str, password: str) -> None:
    """Sign in through the simple auth manager's login form, as a person would."""
    page.goto("/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/" not in url, timeout=30_000)
