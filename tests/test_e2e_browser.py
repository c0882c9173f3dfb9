"""End to end: ``streamlit run app.py`` driven in headless Chromium (Playwright).

Starts the app on a free port with REIDLAB_DATA / REIDLAB_RUNS pointing at a temporary tiny
SynthCams and runs folder, starts a tiny training job (preset test) from the Train page, waits
for it to finish, opens every page (Part masks of the trained run) and saves screenshots — to
assets/screenshots/ when REIDLAB_UPDATE_SCREENSHOTS=1, else to the test's temporary folder.
Uses /usr/bin/chromium; never downloads a browser.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("REIDLAB_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason=f"needs Chromium at {CHROMIUM}"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from reidlab.synth import SynthConfig, generate

    base = tmp_path_factory.mktemp("e2e")
    data = base / "synth"
    generate(data, SynthConfig(ids=16, cameras=4, frames=4, height=64, width=32,
                               distractors=0, workers=1))
    runs = base / "runs"
    port = free_port()
    env = dict(os.environ, REIDLAB_DATA=str(data), REIDLAB_RUNS=str(runs),
               OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    log = open(base / "streamlit.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    end = time.time() + 60
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail("streamlit did not start: " + (base / "streamlit.log").read_text())
    yield {"url": url, "runs": runs, "base": base}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def shots_dir(app) -> Path:
    if os.environ.get("REIDLAB_UPDATE_SCREENSHOTS") == "1":
        d = ROOT / "assets" / "screenshots"
    else:
        d = app["base"] / "screenshots"
    d.mkdir(parents=True, exist_ok=True)
    return d


def settle(page, timeout=120_000):
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(500)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText"
        ".includes('Running')", timeout=timeout)
    page.wait_for_timeout(800)


def choose(page, label: str, option: str):
    try:
        page.get_by_role("combobox", name=label).first.click(timeout=15_000)
    except Exception:
        html = page.locator('[data-testid="stSelectbox"]').first.inner_html()
        raise AssertionError(f"selectbox {label!r} not found; first selectbox: {html[:2000]}")
    page.get_by_role("option", name=option, exact=False).first.click()
    page.keyboard.press("Escape")


def no_exception(page):
    assert page.locator('[data-testid="stException"]').count() == 0, \
        page.locator('[data-testid="stException"]').first.inner_text()


def box(locator) -> dict:
    b = locator.bounding_box()
    assert b is not None, "element not rendered"
    return b


def check_camera_legend_beside_its_panel(page):
    """Domain gap: the camera legend sits on the left of the by-camera panel, clear of the
    by-identity panel (it once sat beside the identities and read as their colours)."""
    chart = page.locator(".js-plotly-plot").filter(has_text="by camera").first
    legend = box(chart.locator("g.legend"))
    left = box(chart.locator('rect.nsewdrag[data-subplot="xy"]'))
    right = box(chart.locator('rect.nsewdrag[data-subplot="x2y2"]'))
    assert legend["x"] + legend["width"] <= left["x"] + 2, (legend, left)
    assert legend["x"] + legend["width"] < right["x"] - 50, (legend, right)
    names = chart.locator("g.legend text.legendtext").all_text_contents()
    assert names and all(n.startswith("cam ") for n in names), names


def check_per_pair_panels_are_readable(page, cameras: int):
    """Distances per camera pair: a heat map with rows a readable height (not C² histogram
    strips a few pixels tall), and the picked pair's histograms at full height with a legend
    naming both kinds of pair."""
    heat = page.locator(".js-plotly-plot").filter(has_text="separation").first
    area = box(heat.locator('rect.nsewdrag[data-subplot="xy"]'))
    assert area["height"] / cameras >= 40 and area["width"] / cameras >= 40, area
    hist = page.locator(".js-plotly-plot").filter(has_text="one camera pair vs all").first
    for sub in ("xy", "x2y2"):
        panel = box(hist.locator(f'rect.nsewdrag[data-subplot="{sub}"]'))
        assert panel["height"] >= 200 and panel["width"] >= 200, (sub, panel)
    legend = " ".join(hist.locator("g.legend text.legendtext").all_text_contents())
    assert "same person" in legend and "different person" in legend, legend
    columns: dict[int, list[float]] = {}  # y tick labels of each axis (same right edge)
    for t in hist.locator("g.ytick text").all():
        b = box(t)
        columns.setdefault(round((b["x"] + b["width"]) / 4), []).append(b["y"])
    for ys in columns.values():
        ys = sorted(ys)
        assert all(b - a > 8 for a, b in zip(ys, ys[1:])), ys  # tick labels do not overlap


def check_rank_list_borders_are_the_colours_named(page):
    """Rank lists: the key above the lists names each colour and shows it; every border drawn
    in the first rank list is one of those colours (the caption once said red; they were
    vermillion)."""
    import io

    from PIL import Image

    key = page.locator('[data-testid="rank-list-key"]')
    text = key.inner_text()
    assert "vermillion" in text and "green" in text and "red =" not in text, text
    named = {}
    for status in ("match", "wrong", "junk", "query"):
        css = key.locator(f'[data-status="{status}"]').evaluate(
            "e => getComputedStyle(e).borderTopColor")
        named[status] = tuple(int(v) for v in css[css.index("(") + 1:css.index(")")].split(","))
    chart = page.locator(".js-plotly-plot").filter(has_text="query").first
    img = np.asarray(Image.open(io.BytesIO(chart.screenshot())).convert("RGB")).astype(int)
    shown = {s: int((np.abs(img - np.array(rgb)).max(axis=2) <= 6).sum()) for s, rgb in named.items()}
    assert shown["query"] > 50 and max(shown["match"], shown["wrong"]) > 50, shown


def test_train_then_look(app, browser):
    shots = shots_dir(app)
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(app["url"], wait_until="domcontentloaded")
    page.get_by_text("Before any training").wait_for(timeout=180_000)
    page.get_by_text("rank-1 (%)").wait_for(timeout=180_000)
    settle(page)
    no_exception(page)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    titles = ["Home", "Data", "Train", "Domain gap", "Part masks", "Distances", "Rank lists",
              "Ablations", "Export", "Pseudo labels"]  # (material icon names are text: skip)
    assert [ln.strip() for ln in nav.split("\n") if ln.strip() in titles] == titles, nav
    assert "app" not in [ln.strip() for ln in nav.split("\n")], nav
    assert page.get_by_role("button", name="Deploy").count() == 0  # toolbarMode = viewer
    page.screenshot(path=str(shots / "home.png"), full_page=True)

    page.set_viewport_size({"width": 1400, "height": 2600})  # long pages: all in the shot
    page.goto(app["url"] + "/Data", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    settle(page)
    no_exception(page)
    page.screenshot(path=str(shots / "data.png"), full_page=True)

    page.goto(app["url"] + "/Train", wait_until="domcontentloaded")
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
    settle(page)
    choose(page, "preset", "test")
    choose(page, "method", "padal_mp")
    name = page.get_by_role("textbox", name="run name").first
    name.fill("e2e_padal_mp")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("job e2e_padal_mp", exact=False).wait_for(timeout=60_000)
    status = app["runs"] / "e2e_padal_mp" / "status.json"
    end = time.time() + 300
    state = None
    while time.time() < end:
        if status.is_file():
            state = json.loads(status.read_text()).get("state")
            if state in ("finished", "failed", "cancelled"):
                break
        time.sleep(1)
    assert state == "finished", (app["runs"] / "e2e_padal_mp" / "job.log").read_text()[-3000:]
    page.wait_for_timeout(4000)  # the live panel refreshes every 2 s
    settle(page)
    page.get_by_text("Training losses").first.wait_for(timeout=60_000)
    no_exception(page)
    page.screenshot(path=str(shots / "train.png"), full_page=True)

    page.set_viewport_size({"width": 1400, "height": 2900})
    page.goto(app["url"] + "/Domain_gap", wait_until="domcontentloaded")
    page.get_by_text("Gap numbers").wait_for(timeout=120_000)
    settle(page)
    choose(page, "run", "e2e_padal_mp")
    settle(page)
    page.get_by_text("e2e_padal_mp (padal_mp) — after").first.wait_for(timeout=120_000)
    no_exception(page)
    check_camera_legend_beside_its_panel(page)
    page.screenshot(path=str(shots / "domain_gap.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 2000})

    page.goto(app["url"] + "/Rank_lists", wait_until="domcontentloaded")
    page.get_by_text("correct in the top").first.wait_for(timeout=120_000)
    settle(page)
    no_exception(page)
    check_rank_list_borders_are_the_colours_named(page)
    page.screenshot(path=str(shots / "rank_lists.png"), full_page=True)

    page.goto(app["url"] + "/Part_masks", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    settle(page)
    choose(page, "model of run", "e2e_padal_mp")
    settle(page)
    page.get_by_text("trained (checkpoint.pt)", exact=False).first.wait_for(timeout=120_000)
    no_exception(page)
    page.screenshot(path=str(shots / "part_masks.png"), full_page=True)

    page.goto(app["url"] + "/Distances", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    settle(page)
    choose(page, "run", "e2e_padal_mp")
    settle(page)
    page.locator('[data-testid="stCheckbox"]').filter(has_text="per camera pair") \
        .locator("label").first.click()
    settle(page)
    page.get_by_text("Separation per camera pair").wait_for(timeout=120_000)
    page.get_by_text("one camera pair vs all").first.wait_for(timeout=120_000)
    no_exception(page)
    check_per_pair_panels_are_readable(page, cameras=4)
    page.screenshot(path=str(shots / "distances.png"), full_page=True)

    page.goto(app["url"] + "/Ablations", wait_until="domcontentloaded")
    page.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
    settle(page)
    no_exception(page)
    page.screenshot(path=str(shots / "ablations.png"), full_page=True)

    page.goto(app["url"] + "/Export", wait_until="domcontentloaded")
    page.get_by_text("Download all (").first.wait_for(timeout=120_000)
    settle(page)
    no_exception(page)
    page.screenshot(path=str(shots / "export.png"), full_page=True)
    for f in ("home", "data", "train", "domain_gap", "part_masks", "distances", "rank_lists",
              "ablations", "export"):
        assert (shots / f"{f}.png").stat().st_size > 10_000
