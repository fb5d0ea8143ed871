"""Maths on the pages the grader writes renders without the internet, from the MathJax that the
course's environment ships (jupyter-server-mathjax): opened from disk, and served by a Jupyter
server as a student's or the Formgrader's JupyterLab serves it. Chromium's screenshots are in
build/screenshots/."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.render import mathjax

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "screenshots"
MATHS = r"The output size is $n_H = \left\lfloor \frac{n + 2p - f}{s} \right\rfloor + 1$, and $$\sigma(z) = \frac{1}{1 + e^{-z}}$$"


def _page():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(MATHS)])
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    return html


def test_the_cdn_script_is_replaced_by_the_shipped_mathjax():
    html = _page()
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" in html  # nbconvert's own page: from the internet
    page = mathjax.offline(html)
    assert "libs/mathjax" not in page.lower()
    assert (mathjax.STATIC / "MathJax.js").is_file()
    assert (mathjax.STATIC / "MathJax.js").as_uri() in page and "static/jupyter_server_mathjax/MathJax.js" in page
    assert mathjax.offline("<p>no maths</p>") == "<p>no maths</p>"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rendered(page, url, shot):
    """Open ``url`` with every request off this machine refused; returns what MathJax typeset."""
    refused = []

    def block(route):
        refused.append(route.request.url)
        route.abort()

    page.route("http*://**", lambda route: route.continue_() if route.request.url.startswith("http://127.0.0.1")
               else block(route))
    page.goto(url)
    page.wait_for_function("() => document.querySelectorAll('.MathJax, .MathJax_Display').length >= 2",
                           timeout=30000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / shot)
    return page.locator(".MathJax, .MathJax_Display").count(), refused


@pytest.mark.slow
@pytest.mark.browser
def test_maths_render_in_chromium_without_the_internet(tmp_path):
    """Does the maths of a page the grader wrote render, with no request leaving the machine, both
    opened from disk and served at <base url>files/... by a Jupyter server with a base URL?"""
    from playwright.sync_api import sync_playwright

    path = tmp_path / "feedback.html"
    path.write_text(mathjax.offline(_page()))
    port, token = _free_port(), "maths-test"
    server = subprocess.Popen([str(Path(sys.executable).parent / "jupyter"), "server", "--no-browser",
                               f"--port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
                               "--ServerApp.base_url=/user/ada/", f"--ServerApp.root_dir={tmp_path}",
                               *(["--allow-root"] if os.geteuid() == 0 else [])],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config")))
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_context(viewport={"width": 900, "height": 300}).new_page()
            found, refused = _rendered(page, path.as_uri(), "maths-from-disk.png")
            assert found >= 2 and refused == []
            started = time.monotonic()
            while time.monotonic() - started < 180:  # the server imports nbgrader's extensions first
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            found, refused = _rendered(page, f"http://127.0.0.1:{port}/user/ada/files/feedback.html?token={token}",
                                       "maths-served.png")
            assert found >= 2 and refused == []
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
