"""What a reader's browser can reach: localhost only, no source, no code execution, no data files."""

import re
import time
import uuid

import psutil
import pytest
from conftest import needs_chromium
from plantrack.serve.server import voila_command
from servers import BackgroundServer, http_get

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    srv = BackgroundServer(preheat=False).wait_ready()
    yield srv
    srv.stop()


def get(url):
    status, _, body = http_get(url)
    return status, body


def test_binds_to_localhost_by_default(server):
    assert "--Voila.ip=127.0.0.1" in voila_command()
    listening = [
        c
        for p in [
            psutil.Process(server.process.pid),
            *psutil.Process(server.process.pid).children(recursive=True),
        ]
        for c in p.net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN and c.laddr.port == server.port
    ]
    assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}


def test_page_carries_no_notebook_source(server):
    status, page = get(server.url)
    assert status == 200
    assert "from plantrack.serve.app import app" not in page and "app(plan_id=plan_id" not in page


@pytest.mark.parametrize(
    "path",
    [
        "voila/files/summary.ipynb",
        "voila/files/notebooks/summary.ipynb",
        "voila/files/../data/plans/zhejiang-internet-plus-2016/actuals.csv",
        "voila/files/data/plans/zhejiang-internet-plus-2016/actuals.csv",
        "voila/files/..%2Fdata%2Fplans%2Fzhejiang-internet-plus-2016%2Factuals.csv",
        "api/contents/summary.ipynb",
        "notebooks/summary.ipynb",
        "tree",
        "voila/files/../pyproject.toml",
    ],
)
def test_files_outside_allowed_types_are_not_served(server, path):
    status, body = get(server.url + path)
    assert status in (403, 404), (path, status)
    assert "indicator_id" not in body and "from plantrack" not in body


@needs_chromium
def test_execute_request_from_the_browser_is_refused(server, browser, tmp_path):
    marker = tmp_path / f"executed-{uuid.uuid4().hex}"
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_selector(".pt-counts", timeout=180_000)
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', page.content()).group(1)
    replies = page.evaluate(
        """async ([kernelId, code]) => {
        const ws = new WebSocket(`ws://${location.host}/api/kernels/${kernelId}/channels`);
        const got = [];
        await new Promise((ok, no) => { ws.onopen = ok; ws.onerror = ok; setTimeout(ok, 5000); });
        ws.onmessage = (e) => { try { got.push(JSON.parse(e.data).header.msg_type); } catch (x) { got.push('binary'); } };
        const id = crypto.randomUUID();
        ws.send(JSON.stringify({header: {msg_id: id, msg_type: 'execute_request', username: 'x', session: id,
                                         date: new Date().toISOString(), version: '5.3'},
                                parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
                                content: {code, silent: false, store_history: false, user_expressions: {},
                                          allow_stdin: false, stop_on_error: true}}));
        await new Promise(ok => setTimeout(ok, 4000));
        ws.close();
        return got;
    }""",
        [kernel_id, f"open({str(marker)!r}, 'w').write('ran')"],
    )
    page.close()
    time.sleep(1)
    assert not marker.exists()
    assert "execute_reply" not in replies


@needs_chromium
def test_an_error_in_the_dashboard_reads_as_a_sentence(browser):
    srv = BackgroundServer(preheat=False, env={"PLANTRACK_PLAN": "no-such-plan"}).wait_ready()
    try:
        page = browser.new_page()
        page.goto(srv.url)
        page.wait_for_selector(".pt-error", timeout=180_000)
        text = page.inner_text("body")
        page.close()
        assert "出错了" in text and "unknown plan 'no-such-plan'" in text
        assert "Traceback" not in text and 'File "' not in text
    finally:
        srv.stop()
