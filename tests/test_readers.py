"""Many readers (issue 11), against a real `plantrack dashboard` server and real Chromium:
a closed tab frees its kernel, an idle tab is culled with a notice, a cap answers with a busy
page, every response carries security headers, a foreign Host is refused, data text never
becomes markup, a forged comm message gets no traceback, and ten visits leave only the pool."""

import json
import re
import time

import pytest
from conftest import needs_chromium
from plantrack.present.html import script_json
from plantrack.serve.readers import content_security_policy, host_allowed
from servers import BackgroundServer
from servers import http_get as get


def browser_only(test):
    """A browser test: marked `browser` (pytest -m browser) and skipped without Chromium."""
    return pytest.mark.browser(needs_chromium(test))


READY = ".pt-counts"


def wait_for(predicate, timeout, step=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture(scope="module")
def pooled(server):
    """The shared dashboard server (conftest): one warm kernel in the pool."""
    return server


# ---- no browser needed --------------------------------------------------------------------------
def test_host_check_accepts_local_names_only():
    for host in ("127.0.0.1:8866", "localhost:8866", "[::1]:8866", "127.0.0.2", "LOCALHOST"):
        assert host_allowed(host, []), host
    for host in (
        "evil.example:8866",
        "127.0.0.1.evil.example",
        "localhost.evil.example",
        "",
        "[::1",
        "10.0.0.5:8866",
    ):
        assert not host_allowed(host, []), host
    assert host_allowed("10.0.0.5:8866", ["10.0.0.5"]) and host_allowed("evil.example", None)


@pytest.mark.parametrize("ours", [True, False], ids=["plantrack", "voila"])
def test_a_preheated_kernel_gets_the_readers_request_as_voila_hands_it(monkeypatch, ours):
    """serve/kernel.py's wait_for_request speaks Voilà's protocol without importing Voilà: it
    connects where voila.utils.wait_for_request does (the same test with Voilà's own: a Voilà
    that changes its protocol fails here) and puts the request into os.environ."""
    import asyncio
    import os
    import threading

    from plantrack.serve import kernel
    from servers import free_port
    from websockets.asyncio.server import serve

    port, paths = free_port(), []

    async def hand_request(websocket):
        paths.append(websocket.request.path)
        await websocket.send(json.dumps({"QUERY_STRING": "lang=en&sector=commerce"}))

    async def main(started, stop):
        async with serve(hand_request, "127.0.0.1", port):
            started.set()
            await stop

    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), loop.create_future()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(started, stop),))
    thread.start()
    started.wait(10)
    for key, value in {
        "VOILA_PREHEAT": "True",
        "VOILA_APP_PORT": str(port),
        "VOILA_SERVER_URL": "/",
        "VOILA_KERNEL_ID": "0f0e0d0c-0000-4000-8000-000000000000",
        "QUERY_STRING": "",
    }.items():
        monkeypatch.setenv(key, value)
    if ours:
        wait_for_request = kernel.wait_for_request
    else:
        from voila.utils import wait_for_request
    try:
        wait_for_request()
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(10)
    assert paths == ["/voila/query/0f0e0d0c-0000-4000-8000-000000000000"]
    assert os.environ["QUERY_STRING"] == "lang=en&sector=commerce"


def test_json_in_a_script_cannot_end_it():
    text = script_json({"a": "</script><script>alert(1)</script><!-- & \u2028\u2029"})
    assert (
        "<" not in text
        and ">" not in text
        and "&" not in text
        and "\u2028" not in text
        and "\u2029" not in text
    )
    assert json.loads(text)["a"].startswith("</script>")


def test_csp_allows_no_remote_origin():
    csp = content_security_policy("127.0.0.1:8866")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    for value in directives.values():
        assert "http" not in value and "*" not in value
    assert (
        content_security_policy("a b; script-src *").count("*") == 0
    )  # a hostile Host is not echoed


# ---- one server, preheated ----------------------------------------------------------------------
@browser_only
def test_security_headers_on_every_response(pooled):
    for path in (
        "voila/static/voila.js",
        "voila/templates/plantrack/static/nothing.js",
        "no/such/page",
        "voila/files/../pyproject.toml",
        "plantrack/queue?ticket=x",
    ):
        status, headers, _ = get(pooled.url + path)
        csp = headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, (
            path,
            status,
            headers,
        )
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert headers.get("X-Frame-Options") == "DENY", path
        assert headers.get("Referrer-Policy") == "no-referrer", path


@browser_only
def test_foreign_host_is_refused(pooled):
    for host in ("evil.example", f"evil.example:{pooled.port}", "192.168.1.20"):
        status, _, body = get(pooled.url, headers={"Host": host}, timeout=10)
        assert status == 403 and "Host" in body and "pt-app" not in body
        status, _, _ = get(pooled.url + "voila/static/voila.js", headers={"Host": host}, timeout=10)
        assert status == 403
    status, _, _ = get(
        pooled.url + "voila/static/voila.js", headers={"Host": f"localhost:{pooled.port}"}
    )
    assert status == 200


def open_dashboard(browser, url, responses=None):
    page = browser.new_page()
    response = page.goto(url, timeout=180_000)
    if responses is not None:
        responses.append(response)
    page.wait_for_selector(READY, timeout=180_000)
    return page


@browser_only
def test_closed_tab_frees_its_kernel_and_the_pool_refills(pooled, browser):
    assert wait_for(lambda: len(pooled.kernel_processes()) == pooled.pool_size, timeout=45)
    before = pooled.pool_size
    responses = []
    page = open_dashboard(browser, pooled.url, responses)
    headers = responses[0].headers  # the dashboard page itself carries them too
    assert (
        "default-src 'self'" in headers["content-security-policy"]
        and headers["x-frame-options"] == "DENY"
    )
    assert (
        headers["referrer-policy"] == "no-referrer"
        and headers["x-content-type-options"] == "nosniff"
    )
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', page.content()).group(1)
    assert "_xsrf" in {c["name"] for c in page.context.cookies()}
    pooled.wait_refilled()
    assert len(pooled.kernel_processes()) == before + 1  # the reader's, and the pool refilled
    page.close(run_before_unload=True)  # what closing a tab does: the shutdown beacon
    closed = time.monotonic()
    assert wait_for(lambda: len(pooled.kernel_processes()) == before, timeout=10), (
        "the closed tab's kernel is still running"
    )
    print(f"closed tab -> kernel gone: {time.monotonic() - closed:.1f} s")
    assert (
        kernel_id not in pooled.log_path.read_text()
        or "Kernel shutdown: " + kernel_id in pooled.log_path.read_text()
    )
    assert not re.search(  # no refused shutdown (a kernel id may hold the digits "403")
        r"\b403\b",
        "\n".join(line for line in pooled.log_path.read_text().splitlines() if "shutdown" in line),
    )


@browser_only
def test_ten_visits_leave_only_the_pool(pooled, browser):
    for _ in range(10):
        page = open_dashboard(browser, pooled.url)
        page.close(run_before_unload=True)
    pooled.wait_refilled()
    assert wait_for(lambda: len(pooled.kernel_processes()) == pooled.pool_size, timeout=15), len(
        pooled.kernel_processes()
    )


@browser_only
def test_forged_comm_message_gets_no_traceback(pooled, browser):
    page = open_dashboard(browser, pooled.url)
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]+)"', page.content()).group(1)
    log_before = len(pooled.log_path.read_text(errors="replace"))
    replies = page.evaluate(
        """async (kernelId) => {
        const ws = new WebSocket(`ws://${location.host}/api/kernels/${kernelId}/channels`);
        const got = [];
        await new Promise(ok => { ws.onopen = ok; ws.onerror = ok; setTimeout(ok, 5000); });
        ws.onmessage = (e) => got.push(typeof e.data === 'string' ? e.data : '[binary]');
        const send = (msg_type, content) => { const id = crypto.randomUUID(); ws.send(JSON.stringify({
            header: {msg_id: id, msg_type, username: 'x', session: id, date: new Date().toISOString(), version: '5.3'},
            parent_header: {}, metadata: {}, channel: 'shell', buffers: [], content})); };
        send('comm_info_request', {});
        await new Promise(ok => setTimeout(ok, 1000));
        const comms = got.map(m => { try { return JSON.parse(m); } catch (x) { return null; } })
                         .filter(m => m && m.header.msg_type === 'comm_info_reply').map(m => Object.keys(m.content.comms))[0] || [];
        for (const comm_id of comms.slice(0, 40)) {
            send('comm_msg', {comm_id, data: {method: 'update', state: {value: {'__proto__': 1}, options: 7, index: 'x', layout: 'IPY_MODEL_nope'}, buffer_paths: []}});
            send('comm_msg', {comm_id, data: {method: 'custom', content: {event: 'click'}}});
        }
        send('comm_msg', {comm_id: 'no-such-comm', data: {method: 'update', state: {}}});
        send('comm_open', {comm_id: crypto.randomUUID(), target_name: 'jupyter.widget', data: {state: {_model_name: 'NoSuchModel', _model_module: 'x'}}});
        send('comm_open', {comm_id: crypto.randomUUID(), target_name: 'no.such.target', data: {}});
        await new Promise(ok => setTimeout(ok, 4000));
        ws.close();
        return got;
    }""",
        kernel_id,
    )
    text = page.inner_text("body")
    page.close(run_before_unload=True)
    assert replies, "the kernel's websocket answered nothing"
    for reply in replies:
        assert "Traceback" not in reply and 'File \\"' not in reply and 'File "' not in reply, (
            reply[:500]
        )
    log = pooled.log_path.read_text(errors="replace")[log_before:]
    assert "Traceback" not in log, log[-3000:]
    assert "message from the browser ignored" in log or "No such comm" in log
    assert "Traceback" not in text


# ---- a capped server, idle culling --------------------------------------------------------------
@browser_only
def test_cap_answers_busy_then_serves_the_next_reader(browser):
    srv = BackgroundServer(preheat=False, max_readers=1).wait_ready()
    try:
        page = open_dashboard(browser, srv.url)
        started = time.monotonic()
        status, headers, body = get(srv.url, timeout=10)
        assert time.monotonic() - started < 2
        assert status == 503 and headers.get("Retry-After") == "60"
        assert "请一分钟后再试" in body and "try again in a minute" in body
        assert "default-src 'self'" in headers.get("Content-Security-Policy", "")
        busy = browser.new_page()
        busy.goto(srv.url, timeout=60_000)
        assert "try again in a minute" in busy.inner_text("body")
        busy.close()
        page.close(run_before_unload=True)
        assert wait_for(lambda: not srv.kernel_processes(), timeout=10)
        again = open_dashboard(browser, srv.url)  # the server stayed up and serves the next reader
        again.close(run_before_unload=True)
    finally:
        srv.stop()


@browser_only
def test_idle_tab_is_culled_and_told_to_reload(browser):
    srv = BackgroundServer(preheat=False, idle_timeout=8).wait_ready()
    try:
        page = open_dashboard(browser, srv.url)
        assert len(srv.kernel_processes()) == 1
        assert wait_for(lambda: not srv.kernel_processes(), timeout=60), (
            "the idle kernel was not culled"
        )
        page.wait_for_selector("#pt-reload", timeout=30_000)
        notice = page.inner_text("#pt-reload")
        assert "请刷新页面继续" in notice and "Reload to continue" in notice
        page.reload(timeout=180_000)
        page.wait_for_selector(READY, timeout=180_000)  # reloading gives a fresh kernel
        assert page.locator("#pt-reload").count() == 0
        page.close(run_before_unload=True)
    finally:
        srv.stop()


# ---- text from the data never becomes markup --------------------------------------------------
HOSTILE = {
    "img": "<img src=x onerror=\"window.__pwned='img'\">",
    "script": "</script><script>window.__pwned='script'</script><!--",
    "attr": "'\"><svg onload=\"window.__pwned='attr'\">",
    "lines": "a\u2028b\u2029c & <!-- d",
}


@browser_only
def test_text_from_the_data_never_becomes_markup(make_plan, browser):
    directory = make_plan(
        name="hostile",
        sectors=[
            dict(sector_id="s1", order=1, name_zh=HOSTILE["img"], name_en=HOSTILE["attr"]),
            dict(sector_id="s2", order=2, name_zh="部门二", name_en="Sector two"),
        ],
        indicators=[
            dict(
                indicator_id="evil",
                name_zh=HOSTILE["img"],
                name_en=HOSTILE["script"],
                unit="个",
                definition=HOSTILE["attr"],
            )
        ],
        targets=[
            dict(
                indicator_id="evil",
                target_year=2020,
                comparator=">=",
                value=10,
                unit="个",
                quote=f"{HOSTILE['script']}目标为10{HOSTILE['lines']}",
            )
        ],
        actuals=[
            dict(
                indicator_id="evil",
                year=2017,
                value=7,
                unit="个",
                quote=f"{HOSTILE['attr']}实际为7",
            )
        ],
    )
    hostile_dir = directory.with_name("hostile'\"><img src=x onerror=\"window.__pwned='dir'\">")
    directory.rename(hostile_dir)
    srv = BackgroundServer(preheat=False, env={"PLANTRACK_PLAN": str(hostile_dir)}).wait_ready()
    try:
        page = browser.new_page()
        page.goto(srv.url, timeout=180_000)
        page.wait_for_selector(".pt-counts, .pt-error", timeout=180_000)
        page.select_option(".pt-indicator select", index=1)  # the only indicator
        page.wait_for_function(
            "() => document.querySelector('.pt-card-body').innerText.includes('目标为10')",
            timeout=30_000,
        )
        page.wait_for_timeout(1500)
        assert page.evaluate("window.__pwned") is None
        injected = page.evaluate("""() => Array.from(document.querySelectorAll('img[onerror], svg[onload], script'))
            .filter(e => (e.getAttribute('onerror') || e.getAttribute('onload') || e.textContent).includes('__pwned')).length""")
        assert injected == 0
        text = page.inner_text("body")
        assert HOSTILE["img"] in text and "目标为10" in text  # shown as text, literally
        downloads = page.evaluate(
            "() => Array.from(document.querySelectorAll('a[download]')).map(a => a.getAttribute('download'))"
        )
        assert downloads and all(
            "__pwned" not in d or d.startswith("plantrack-") for d in downloads
        )
        assert page.locator("a[download] img, a[download] svg").count() == 0
        html = get(srv.url)[2]
        for script in re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S):
            assert "__pwned" not in script and "\u2028" not in script
        page.close()
    finally:
        srv.stop()


def test_only_the_dashboard_page_asks_for_a_kernel():
    """/favicon.ico and the like never count as a reader (a busy or queue page's browser asks for one)."""
    import inspect

    from plantrack.serve.readers import ReaderPageHandler, _page

    source = inspect.getsource(ReaderPageHandler.get)
    assert source.index("if path:") < source.index("admission.ask")
    busy = _page("busy", cap=3)
    queue = _page("queue", position=2, data={"poll": "/p</script>", "page": "/", "base": "/"})
    assert '<link rel="icon" href="data:,">' in busy and '<link rel="icon" href="data:,">' in queue
    # both languages, from the catalogue; the position is bold in both; the JSON cannot end its script
    assert "请一分钟后再试" in busy and "try again in a minute" in busy and "（3 人）" in busy
    assert queue.count('<b class="pt-position">2</b>') == 2 and "/p</script>" not in queue


def test_a_page_is_freed_only_after_its_grace():
    from plantrack.serve.readers import Admission

    admission = Admission(max_readers=5, max_starts=2, max_wait_s=45, log=None)
    assert admission.ask(None)[0] == "go" and admission.ask(None)[0] == "go"
    admission.opened("a")
    admission.finished(3.0, "a")
    admission.opened("b")
    admission.finished(3.0, "b")
    admission.readers = {k: t - 100 for k, t in admission.readers.items()}  # both served 100 s ago
    assert admission.abandoned({"a": 1}, grace_s=30) == []  # a is connected; b never was: 4 x grace
    admission.readers["b"] -= 30
    assert admission.abandoned({"a": 1}, grace_s=30) == ["b"]
    admission.readers["a"] -= 31  # a's tab went away 31 s ago
    assert admission.abandoned({}, grace_s=30) == ["a", "b"]


def test_queue_and_cap():
    from plantrack.serve.readers import Admission

    admission = Admission(max_readers=4, max_starts=1, max_wait_s=45, log=None)
    assert admission.ask(None) == ("go", None)
    state, ticket = admission.ask(None)  # the one start slot is taken: wait
    assert state == "wait" and admission.position(ticket) == 1
    assert admission.poll(ticket) == {"state": "wait", "position": 1}
    admission.opened("k1")
    admission.finished(5.0, "k1")  # slot free: the waiter is called
    assert admission.poll(ticket) == {"state": "go"}
    assert admission.ask(ticket) == ("go", None)
    admission.opened("k2")
    admission.finished(5.0, "k2")
    assert admission.ask(None)[0] == "go"
    admission.opened("k3")
    admission.finished(5.0, "k3")
    assert admission.ask(None)[0] == "go"
    admission.opened("k4")
    admission.finished(5.0, "k4")
    assert admission.ask(None) == ("busy", None)  # four readers hold kernels: the cap
    admission.prune(["k1", "k2", "k3"])  # one tab closed
    assert admission.ask(None)[0] == "go"
