"""Screenshots of every page of the lab on a real dataset and run store (for the README).

    python scripts/screenshots.py [--data data/synthcams] [--runs runs] [--run padal_id]
                                  [--out assets/screenshots]

Starts ``streamlit run app.py`` on a free port, opens each page in headless Chromium
(``/usr/bin/chromium``, never a downloaded browser), picks ``--run`` (a substring of the run's
label) in the page's first run picker where there is one, waits until the page has finished
running, and saves ``<out>/<page>.png``.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--disable-dev-shm-usage"]
# url path -> (file name, pick --run in the first run picker, page height)
PAGES = {
    "": ("home", False, 1400), "Data": ("data", False, 2600), "Train": ("train", False, 1800),
    "Domain_gap": ("domain_gap", True, 2600), "Part_masks": ("part_masks", True, 1800),
    "Distances": ("distances", True, 2200), "Rank_lists": ("rank_lists", True, 2000),
    "Ablations": ("ablations", False, 1800), "Export": ("export", False, 2000),
    "Pseudo_labels": ("pseudo_labels", True, 2600),
}
# url path -> the label of a toggle to turn on before the screenshot (the page's richer view)
TOGGLES = {"Distances": "per camera pair"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_idle(page, timeout: float = 300.0) -> None:
    """Until Streamlit's 'running' indicator has been gone for a few seconds."""
    end, quiet = time.time() + timeout, 0
    while time.time() < end and quiet < 3:
        time.sleep(1)
        busy = page.locator("[data-testid=stStatusWidget]").count() > 0
        quiet = 0 if busy else quiet + 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/synthcams")
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--run", default=None, help="substring of the run to show where pickable")
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots"))
    ap.add_argument("--pages", default=",".join(PAGES))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ, REIDLAB_DATA=args.data, REIDLAB_RUNS=args.runs,
               PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py",
                             "--server.headless", "true", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for path in args.pages.split(","):
                name, pick, height = PAGES[path]
                page = browser.new_page(viewport={"width": 1400, "height": height})
                page.goto(f"{url}/{path}")
                wait_idle(page)
                if pick and args.run:
                    box = page.locator("[data-testid=stSelectbox]").first
                    if box.count():
                        box.click()
                        page.keyboard.type(args.run)
                        page.keyboard.press("Enter")
                        wait_idle(page)
                if path in TOGGLES:
                    page.locator('[data-testid="stCheckbox"]').filter(
                        has_text=TOGGLES[path]).locator("label").first.click()
                    wait_idle(page)
                page.screenshot(path=str(out / f"{name}.png"), full_page=False)
                print(f"{out / name}.png", flush=True)
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
