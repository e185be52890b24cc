"""The Dagster UI as a person uses it: served on 127.0.0.1, driven in headless Chromium.

Starts `dagster-webserver -m pipeline.definitions` with a fresh DAGSTER_HOME (a copy of the
repository's dagster.yaml) and the PSYK_* settings pointing at a tiny raw folder, then in the browser:
1. the Automation page lists the nightly schedule, the raw-folder sensor and the sensor that follows
   the raw-folder sensor's loads with their indicator runs; they are switched off there, so they cannot
   start runs of their own during the test;
2. the catalog lists every asset of `pipeline.definitions.defs` (the 14 register assets among them);
3. with the daemon started (it dequeues runs, as in `make ui`), the `bef` asset page's Materialize
   dialog launches partition 2020 only, and the Runs page shows that run succeed.
Screenshots go to test-artifacts/. Without a browser (or the playwright package) the test is skipped
with the reason; run scripts/ensure_browser.sh.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from pipeline.config import PROJECT_ROOT

CHROMIUM = Path(os.environ.get("PSYK_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BIN = Path(sys.executable).parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
REGISTERS = [
    "bef", "dod", "lpr_adm", "lpr_diag", "lpr_markoer", "lpr_f_kontakter", "lpr_f_diagnoser",
    "lpr_f_forloebsmarkoerer", "tvang", "dream", "sundhedsprofil", "sociale_indsatser", "uddannelse",
    "lup_psykiatri",
]
UI_TIMEOUT_MS = 30_000
RUN_TIMEOUT_S = 120  # generous: a loaded CI machine starts the run process slowly
RUN_ROW = "div[class*='RunsFeedRow_rowGrid']"  # a row of the Runs page (CSS-module class prefix)

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (dev dependency group)"
)
if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: run scripts/ensure_browser.sh (as root) to install Debian's chromium",
        allow_module_level=True,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_tiny_raw(raw: Path) -> None:
    """Two persons in bef 2020 and one death: enough for one yearly ingest partition."""
    (raw / "bef").mkdir(parents=True)
    (raw / "dod").mkdir(parents=True)
    (raw / "bef" / "bef_2020.csv").write_text(
        "pnr;koen;foed_dag;kom\nui_person_a;1;1980-05-17;101\nui_person_b;2;2004-11-02;751\n", encoding="utf-8"
    )
    (raw / "dod" / "dod.csv").write_text("pnr;doddato;c_dodsaarsag\nui_person_a;2021-03-04;DI219\n", encoding="utf-8")


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    # Own process group, so the code servers the webserver and daemon spawn stop with them.
    return subprocess.Popen(
        cmd, cwd=PROJECT_ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=4)  # the tmp instance needs no graceful shutdown beyond this
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _wait_for_server(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dagster-webserver exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"dagster-webserver did not answer within {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[dict]:
    raw = tmp_path / "raw"
    _write_tiny_raw(raw)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "PSYK_RAW_DIR": str(raw),
        "PSYK_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "PSYK_MARTS_DIR": str(tmp_path / "marts"),
        "PSYK_EXPORTS_DIR": str(tmp_path / "exports"),
        "PSYK_YEARS": "2019-2021",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PSYK_DATA_END", None)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    web_log = tmp_path / "webserver.log"
    web = _start(
        [str(BIN / "dagster-webserver"), "-m", "pipeline.definitions", "-h", "127.0.0.1", "-p", str(port)], env, web_log
    )
    procs = [web]
    state = {"url": url, "env": env, "tmp": tmp_path, "procs": procs, "logs": [web_log]}
    try:
        _wait_for_server(url, web, web_log)
        yield state
    finally:
        for p in reversed(procs):
            _stop(p)


def _start_daemon(state: dict) -> None:
    log = state["tmp"] / "daemon.log"
    state["logs"].append(log)
    state["procs"].append(_start([str(BIN / "dagster-daemon"), "run", "-m", "pipeline.definitions"], state["env"], log))


def _expected_asset_keys() -> set[str]:
    from pipeline.definitions import defs

    return {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}


def _catalog_names(page) -> set[str]:
    """Every asset name the catalog table shows, scrolling through its virtualised rows."""
    seen: set[str] = set()
    stable = 0
    while stable < 3:
        # a name renders twice inside its link (the text and a width probe): keep the first line
        names = page.locator("a[href^='/assets/']").all_inner_texts()
        new = {n.strip().splitlines()[0] for n in names if n.strip()} - seen
        seen |= new
        stable = 0 if new else stable + 1
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(250)
    return seen


def test_ui_lists_assets_and_automations_and_materialises_one_year(ui: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expected = _expected_asset_keys()
    missing_registers = sorted(set(REGISTERS) - expected)
    assert not missing_registers, f"register assets missing from pipeline.definitions: {missing_registers}"
    url = ui["url"]

    with sync_api.sync_playwright() as pw:
        # A fresh profile per test (playwright passes it to Chromium as --user-data-dir).
        browser = pw.chromium.launch_persistent_context(
            user_data_dir=str(ui["tmp"] / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(UI_TIMEOUT_MS)

            # 1. The schedule and the sensors are listed; switch them off, then start the daemon (its start-up
            # overlaps the catalog check).
            page.goto(f"{url}/automation")
            page.get_by_text("raw_files_sensor", exact=True).wait_for()
            page.get_by_text("refresh_indicators_sensor", exact=True).wait_for()
            page.get_by_text("nightly_refresh", exact=True).wait_for()
            switches = page.locator("label[class*='formatSwitch'] input[type=checkbox]")
            # the on/off switches render after the names, and the list may re-render while the
            # instigator states load (seen under load): wait until exactly the three are there
            page.wait_for_function(
                "() => document.querySelectorAll(\"label[class*='formatSwitch'] input[type=checkbox]\").length == 3"
            )
            for i in range(3):
                if switches.nth(i).is_checked():
                    switches.nth(i).locator("xpath=..").click()
            page.reload()
            page.get_by_text("raw_files_sensor", exact=True).wait_for()
            page.wait_for_function(
                "() => [...document.querySelectorAll(\"label[class*='formatSwitch'] input\")]"
                ".every(e => !e.checked) && document.querySelectorAll(\"label[class*='formatSwitch'] input\").length == 3"
            )
            page.screenshot(path=str(ARTIFACTS / "ui-automation.png"))
            _start_daemon(ui)

            # 2. The catalog lists every asset.
            page.set_viewport_size({"width": 1400, "height": 2400})  # fewer scroll steps
            page.goto(f"{url}/assets")
            page.locator("a[href='/assets/bef']").first.wait_for()
            shown = _catalog_names(page)
            page.screenshot(path=str(ARTIFACTS / "ui-catalog.png"))
            assert expected - shown == set(), f"assets not listed in the UI catalog: {sorted(expected - shown)}"

            page.set_viewport_size({"width": 1400, "height": 1000})

            # 3. Materialise bef for 2020 from the asset page's launch dialog.
            page.goto(f"{url}/assets/bef")
            page.get_by_role("button", name="Materialize…").first.click()
            dialog = page.get_by_role("dialog")
            dialog.get_by_text("Select a partition or create one").click()
            page.keyboard.type("2020")
            page.get_by_role("menu").get_by_title("2020", exact=True).click()
            page.keyboard.press("Escape")
            launch = dialog.get_by_role("button", name=re.compile(r"^Launch 1 run$"))
            launch.wait_for()
            page.screenshot(path=str(ARTIFACTS / "ui-launch-dialog.png"))
            launch.click()
            dialog.wait_for(state="hidden")

            # 4. The Runs page shows the run for partition 2020 succeed.
            status = _wait_for_run_status(page, url)
            page.screenshot(path=str(ARTIFACTS / "ui-run-success.png"))
            assert status == "Success", _logs_tail(ui)
        finally:
            browser.close()

    # The run materialised exactly the one year picked in the dialog.
    instance = dg.DagsterInstance.from_config(str(ui["tmp"] / "dagster_home"))
    try:
        assert instance.get_materialized_partitions(dg.AssetKey("bef")) == {"2020"}
    finally:
        instance.dispose()


def _wait_for_run_status(page, url: str) -> str:
    page.goto(f"{url}/runs")
    row = page.locator(RUN_ROW, has_text="partition: 2020").first
    row.wait_for()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        text = row.inner_text()
        for final in ("Success", "Failure", "Canceled"):
            if re.search(rf"\b{final}\b", text):
                return final
        page.wait_for_timeout(1000)
        page.reload()
        row = page.locator(RUN_ROW, has_text="partition: 2020").first
        row.wait_for()
    return f"not finished after {RUN_TIMEOUT_S}s: {row.inner_text()!r}"


def _logs_tail(ui: dict) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}" for log in ui["logs"] if log.exists())
