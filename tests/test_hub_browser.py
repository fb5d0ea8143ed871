"""A student on the live hub in a real browser (Debian's Chromium through Playwright, as in
test_browser.py): sign up with her code, log in once the instructor has authorized her, open the
Assignments tab, fetch the released assignment and submit it, by clicking, until her quota on
the exchange refuses a submission and the tab says so. Screenshots go to
build/screenshots/hub-*.png.
"""

import os
import pwd
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hub_support import ASSIGNMENT, COURSE_ID, ROOT, live_hub, usable  # noqa: E402

pytestmark = [pytest.mark.hub, pytest.mark.browser, pytest.mark.slow]
if usable():
    pytest.skip(usable(), allow_module_level=True)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "build" / "screenshots"
TIMEOUT_MS = 120_000


def _snap(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"hub-{name}.png")


def test_student_fetches_and_submits_by_clicking():
    """Log in, Assignments tab, Fetch, Submit: is the submission in the exchange, under her name?"""
    from playwright.sync_api import sync_playwright

    with live_hub() as hub, sync_playwright() as driver:
        hub.cnn_course("release", ASSIGNMENT, "--exchange")
        student = hub.students[0]
        inbound = Path(hub.settings["exchange"]) / COURSE_ID / "inbound"
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{hub.url}/hub/signup")
            page.fill("#username_input", student)
            page.fill("#signup_code_input", hub.codes[student])
            page.fill("#password_input", hub.passwords[student])
            page.fill("#password_confirmation_input", hub.passwords[student])
            _snap(page, "00-signup")
            page.click("#signup_submit")
            page.get_by_text("You can log in once your instructor has authorized you").wait_for()
            _snap(page, "00-signed-up")
            hub.authorize([student])

            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", student)
            page.fill("#password_input", hub.passwords[student])
            _snap(page, "01-login")
            page.click("#login_submit")
            page.wait_for_selector(".lm-MenuBar-itemLabel")  # the hub spawned her JupyterLab
            _snap(page, "02-lab")
            menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
            assert "Nbgrader" in menus, menus

            page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
            items = page.locator(".lm-Menu-itemLabel").all_inner_texts()
            assert not any("Formgrader" in item for item in items), items  # students never get the formgrader
            page.locator(".lm-Menu-itemLabel", has_text="Assignment List").first.click()
            page.get_by_text(ASSIGNMENT).first.wait_for()
            _snap(page, "03-assignments-released")

            page.get_by_role("button", name="Fetch", exact=True).first.click()
            page.get_by_role("button", name="Submit", exact=True).first.wait_for()
            _snap(page, "04-assignments-fetched")
            assert not list(inbound.glob(f"{student}+{ASSIGNMENT}+*"))

            page.get_by_role("button", name="Submit", exact=True).first.click()
            deadline = time.monotonic() + 60
            while not list(inbound.glob(f"{student}+{ASSIGNMENT}+*")) and time.monotonic() < deadline:
                time.sleep(0.5)
            page.wait_for_timeout(1500)
            _snap(page, "05-assignments-submitted")
            (submission,) = inbound.glob(f"{student}+{ASSIGNMENT}+*")
            assert (submission / "sample.ipynb").is_file()
            # Written by the hub's exchange service, as its own account: no student writes inbound/.
            assert submission.stat().st_uid == pwd.getpwnam(hub.settings["exchange_user"]).pw_uid

            # Her quota (5 MB in the tests): two submissions of 1.9 MB more go in, the third is
            # refused, and the Assignments tab says why.
            account = pwd.getpwnam(student)
            weights = Path(account.pw_dir) / ASSIGNMENT / "weights.bin"
            weights.write_bytes(b"1" * 1_900_000)
            os.chown(weights, account.pw_uid, account.pw_gid)
            for count in (2, 3):
                page.get_by_role("button", name="Submit", exact=True).first.click()
                deadline = time.monotonic() + 60
                while len(list(inbound.glob(f"{student}+{ASSIGNMENT}+*"))) < count and time.monotonic() < deadline:
                    time.sleep(0.5)
                page.get_by_role("button", name="Submit", exact=True).first.wait_for()
            page.get_by_role("button", name="Submit", exact=True).first.click()
            dialog = page.locator("#submission-message")
            dialog.wait_for()
            page.wait_for_timeout(500)
            _snap(page, "06-assignments-over-quota")
            assert "over your quota of 5 MB" in " ".join(dialog.inner_text().split()), dialog.inner_text()
            assert len(list(inbound.glob(f"{student}+{ASSIGNMENT}+*"))) == 3
        finally:
            browser.close()
