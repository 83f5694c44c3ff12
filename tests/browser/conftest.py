"""Browser fixtures: the app served on a real port, driven by Debian's Chromium via Playwright."""
import os
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

# Assertions wait up to 15 s: generous for a loaded 2-core CI machine, and a passing check
# returns as soon as the page is right, so it costs nothing when all is well.
expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    if not os.path.exists(CHROMIUM):
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium); make test installs it")
        for item in items:
            if "browser" in str(item.fspath):
                item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def shots(output_path):
    """shots(page, name): a full-page screenshot into the test's output folder, to look at."""
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return shot


@pytest.fixture
def live_server(app):
    """The test's app (same database, same SMTP server) on a free port, for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["HELPDESK_BASE_URL"] = url  # links in mail point at the running server
    # Live regions poll every second (the setting's floor), not every 3: the checks still ask
    # for changes within the 5 seconds promised, and wait less for them. The default's markup
    # (every 3s) is checked in tests/test_live.py and tests/test_queues.py.
    app.config["HELPDESK_LIVE_SECONDS"] = 1
    # Presence too reports every second (shown for 3 s after the last report); the default's
    # markup (every 4s) and its 12 s are checked in tests/test_live.py.
    app.config["HELPDESK_PRESENCE_SECONDS"] = 1
    yield url
    server.shutdown()
    thread.join()
