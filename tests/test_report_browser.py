"""The HTML migration report in a real browser: readable at 1400 px and on a phone.

Headless Chromium (Debian's ``chromium`` package, which ``scripts/test`` installs where it can;
the test is skipped without it) loads the report of a repository with long paths and many fixes,
and the page says how wide its content is once laid out: no wider than the window, so nothing is
pushed off screen (long paths wrap, wide tables scroll in their own box).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.helpers import k8sfix

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="headless Chromium is not installed (apt install chromium)"
)

PROBE = (
    '<script>window.addEventListener("load", () => document.body.setAttribute("data-layout",'
    " JSON.stringify({content: document.documentElement.scrollWidth, window: window.innerWidth})));</script>"
)
"""Put into a copy of the report: the page's content width and the window's, once laid out."""


QUIET = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
)
"""Chromium without a window, a GPU or the connections it makes of its own accord (a closed
network refuses them, and each costs a wait), in a profile of its own."""


def layout(page: Path, width: int) -> dict[str, int]:
    probed = page.with_name("probed.html")
    probed.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    assert BROWSER is not None
    command = [BROWSER, *QUIET, f"--user-data-dir={page.parent / 'profile'}", f"--window-size={width},900"]
    dom = subprocess.run(
        [*command, "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    found = re.search(r'data-layout="([^"]*)"', dom)
    assert found, dom[:500]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.parametrize("width", [1400, 500])
def test_the_html_report_fits_the_window_at_desktop_and_phone_widths(tmp_path: Path, width: int) -> None:
    deep = tmp_path / "repo" / ("platform-team-" * 6 + "services") / ("production-eu-west-1-" * 4 + "apps")
    deep.mkdir(parents=True)
    seed = (ROOT / "examples" / "deployment.yml").read_bytes()
    for number in range(3):
        (deep / f"{'checkout-and-payment-gateway-' * 3}{number}.yaml").write_bytes(seed)
    k8sfix("--diff", "--unsafe-fixes", "--quiet", "--report-html", "review.html", "repo", cwd=tmp_path)
    page = tmp_path / "review.html"
    assert page.read_text().count('<details class="file" open>') == 3
    measured = layout(page, width)
    assert measured["window"] >= width - 20  # the window is as wide as asked (headless allows 500 and up)
    assert measured["content"] <= measured["window"], measured
