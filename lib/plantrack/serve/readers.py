"""The Voilà application `plantrack dashboard` runs: Voilà, plus what a room full of readers needs.

    python -m plantrack.serve.readers NOTEBOOK [Voilà options] [--ReadersVoila.max_readers=N ...]

(serve/server.py builds that command line.) On top of Voilà 0.5 it adds, without patching Voilà:

- the page sets Voilà's `_xsrf` cookie, so the shutdown beacon a closing tab sends is accepted and
  the tab's kernel is freed at once (Voilà's own page never sets it: voila-dashboards/voila#1458);
- admission: at most `max_readers` readers hold a kernel; at most `max_starts` pages start at
  once (a start is CPU-bound: more at once than cores only makes every reader wait longer).
  A reader who must wait gets a small bilingual queue page that opens the dashboard by itself; a
  reader past the cap, or whose wait would be too long, gets a bilingual busy page
  (HTTP 503, Retry-After) at once;
- a Host check (DNS rebinding) when bound to a loopback address, and security headers
  (Content-Security-Policy with no remote origin, nosniff, frame-ancestors, no-referrer) on
  every response.

Idle kernels are culled by jupyter_server's own culler (MappingKernelManager.cull_*, set on the
command line); the page's script (see server.install_offline_template) then asks the reader to
reload.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import sys
import time
from collections import OrderedDict

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from traitlets import Float, Int, List, Unicode
from voila.app import Voila
from voila.tornado.handler import TornadoVoilaHandler

from plantrack.messages import t

RETRY_AFTER_S = 60
KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')

# Measured (benchmarks/kernel.py, outputs/bench/results.json → reader_kernel): one reader's kernel
# after the summary has run, 112 MiB RSS, rounded up. Used only to size the default cap from the
# machine's memory.
KERNEL_RSS_MIB = 115
# A reader's widget change costs the kernel about 0.1-0.3 s of CPU; beyond ~20 readers per core,
# a few clicking at once would already queue behind each other.
READERS_PER_CORE = 20


def default_max_readers(pool_size: int = 1) -> int:
    """Readers one machine holds: what its memory allows (half of what is free now, kernels of the
    measured size) and what its cores can serve, whichever is smaller."""
    import psutil

    by_memory = int(psutil.virtual_memory().available * 0.5 / (KERNEL_RSS_MIB * 2**20)) - pool_size
    by_cores = READERS_PER_CORE * (os.cpu_count() or 1)
    return max(1, min(by_memory, by_cores))


def default_max_starts() -> int:
    return max(1, os.cpu_count() or 1)


# ---- admission ---------------------------------------------------------------------------------
class Admission:
    """Who holds a kernel, who is starting one, who waits. All on the server's one event loop."""

    def __init__(self, max_readers: int, max_starts: int, max_wait_s: float, log):
        self.max_readers, self.max_starts, self.max_wait_s, self.log = (
            max_readers,
            max_starts,
            max_wait_s,
            log,
        )
        self.readers: dict[
            str, float
        ] = {}  # kernel id of a served page -> when last seen connected
        self.unregistered = 0  # admitted pages whose kernel id is not known yet
        self.starting = 0  # pages being rendered now
        self.waiting: OrderedDict[str, float] = OrderedDict()  # ticket -> when it last asked
        self.called: dict[str, float] = {}  # ticket -> when its start slot was kept for it
        self.start_seconds = 8.0  # running estimate of one page's start (a guess until measured)
        self.measured = False
        self.connected: set[str] = set()  # readers whose page has opened its websocket

    def occupied(self) -> int:
        return len(self.readers) + self.unregistered + len(self.called) + len(self.waiting)

    def _free_starts(self) -> int:
        return self.max_starts - self.starting - len(self.called)

    def prune(self, live_kernel_ids) -> None:
        """Forget readers whose kernel is gone (tab closed, culled) and waiters who left."""
        now = time.monotonic()
        live = set(live_kernel_ids)
        self.readers = {k: seen for k, seen in self.readers.items() if k in live}
        for ticket, seen in list(self.waiting.items()):
            if now - seen > 10:  # the queue page asks every second; ten silent seconds: gone
                del self.waiting[ticket]
        for ticket, called in list(self.called.items()):
            if now - called > 15:
                del self.called[ticket]
        self._call_next(now)

    def _call_next(self, now: float) -> None:
        while self.waiting and self._free_starts() > 0:
            ticket, _ = self.waiting.popitem(last=False)
            self.called[ticket] = now

    def position(self, ticket: str) -> int:
        return list(self.waiting).index(ticket) + 1

    def ask(self, ticket: str | None) -> tuple[str, str | None]:
        """'go', 'wait' (with the reader's ticket) or 'busy'."""
        now = time.monotonic()
        if ticket and ticket in self.called:
            del self.called[ticket]
            return self._go()
        if ticket and ticket in self.waiting:
            self.waiting[ticket] = now
            return "wait", ticket
        if self.occupied() >= self.max_readers:
            return "busy", None
        if not self.waiting and self._free_starts() > 0:
            return self._go()
        expected = (len(self.waiting) + 1) * self.start_seconds / self.max_starts
        if expected > self.max_wait_s:
            return "busy", None
        ticket = secrets.token_urlsafe(12)
        self.waiting[ticket] = now
        return "wait", ticket

    def poll(self, ticket: str) -> dict:
        now = time.monotonic()
        if ticket in self.called:
            return {"state": "go"}
        if ticket in self.waiting:
            self.waiting[ticket] = now
            return {"state": "wait", "position": self.position(ticket)}
        return {"state": "gone"}

    def _go(self) -> tuple[str, None]:
        self.starting += 1
        self.unregistered += 1
        return "go", None

    def opened(self, kernel_id: str) -> None:
        self.readers[kernel_id] = time.monotonic()
        self.unregistered -= 1

    def finished(self, seconds: float, kernel_id: str | None) -> None:
        self.starting -= 1
        if kernel_id is None:
            self.unregistered -= 1
        else:
            self.readers[kernel_id] = time.monotonic()  # the grace below counts from the page's end
            # the first measurement replaces the guess; later ones move the estimate gently
            self.start_seconds = (
                seconds if not self.measured else 0.7 * self.start_seconds + 0.3 * seconds
            )
            self.measured = True
        self._call_next(time.monotonic())

    def abandoned(self, connections: dict, grace_s: float) -> list[str]:
        """Kernels of served pages with no websocket for a while: the tab is gone without its
        shutdown beacon (a phone that killed the browser, a page fetched by a script). A page that
        never connected gets four times the grace: a slow or busy browser may take long to run
        the page's scripts."""
        now, gone = time.monotonic(), []
        for kernel_id, seen in list(self.readers.items()):
            if connections.get(kernel_id, 0) > 0:
                self.readers[kernel_id] = now
                self.connected.add(kernel_id)
            elif now - seen > (grace_s if kernel_id in self.connected else 4 * grace_s):
                gone.append(kernel_id)
        self.connected &= set(self.readers)
        return gone


# ---- pages ---------------------------------------------------------------------------------------
def _page(kind: str, **context) -> str:
    """The busy (503) or queue page, both languages, from templates/html/readers/ and the catalogue."""
    from markupsafe import Markup, escape

    from plantrack.present.html import render, script_json

    if kind == "queue":
        position = Markup('<b class="pt-position">{}</b>').format(context.pop("position"))
        context["ahead"] = {
            lang: escape(t("readers.queue.ahead", lang)).format(position=position)
            for lang in ("zh", "en")
        }
        context["data"] = script_json(context["data"])
    return render("readers/page.html.j2", kind=kind, **context)


class ReaderPageHandler(TornadoVoilaHandler):
    """The dashboard page, behind admission."""

    @tornado.web.authenticated
    async def get(self, path=None):
        if path:  # not the dashboard (e.g. /favicon.ico): Voilà redirects it to its file handler
            await super().get(path=path)
            return
        admission: Admission = self.settings["plantrack_admission"]
        admission.prune(self.kernel_manager.list_kernel_ids())
        state, ticket = admission.ask(self.get_query_argument("ticket", None))
        if state == "busy":
            self.log.warning(
                "reader turned away: %d readers (cap %d)",
                admission.occupied(),
                admission.max_readers,
            )
            self.set_status(503)
            self.set_header("Retry-After", str(RETRY_AFTER_S))
            self.set_header("Cache-Control", "no-store")
            self.finish(_page("busy", cap=admission.max_readers))
            return
        if state == "wait":
            base = self.base_url
            self.set_header("Cache-Control", "no-store")
            data = {
                "poll": f"{base}plantrack/queue?ticket={ticket}",
                "page": f"{base}?ticket={ticket}",
                "base": base,
            }
            self.finish(_page("queue", position=admission.position(ticket), data=data))
            return
        # The tab's shutdown beacon sends this cookie back (Voilà's page reads document.cookie).
        self.xsrf_token
        started, kernel_id = time.monotonic(), None
        try:
            async for html in self.get_generator(path=path):
                if kernel_id is None:
                    found = KERNEL_ID.search(html)
                    if found:
                        kernel_id = found.group(1)
                        admission.opened(kernel_id)
                self.write(html)
                self.flush()
        finally:
            admission.finished(time.monotonic() - started, kernel_id)


class QueueHandler(JupyterHandler):
    """Where the queue page asks whether its turn has come."""

    @tornado.web.authenticated
    def get(self):
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json")
        admission: Admission = self.settings["plantrack_admission"]
        admission.prune(self.kernel_manager.list_kernel_ids())
        self.finish(json.dumps(admission.poll(self.get_query_argument("ticket", ""))))


# ---- every response --------------------------------------------------------------------------
def host_allowed(host_header: str, allowed: list[str] | None) -> bool:
    """The Host header names a loopback address (or one of `allowed`); None allows every host."""
    if allowed is None:
        return True
    host = host_header.strip().lower()
    match = re.fullmatch(r"\[([0-9a-f:.]+)\](?::\d+)?|([^:\[\]]+)(?::\d+)?", host)
    if not match:
        return False
    name = match.group(1) or match.group(2)
    if name == "localhost" or name in allowed:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostRefusedHandler(tornado.web.RequestHandler):
    def prepare(self):
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(
            "403: this dashboard answers only requests addressed to it by a local name (Host header refused)\n"
        )


def content_security_policy(host: str) -> str:
    """Same origin only. Voilà's widgets and Vega need inline scripts, eval, blob: and data: URLs."""
    own = f" ws://{host} wss://{host}" if re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host or "") else ""
    return (
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
        f"connect-src 'self'{own}; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders(tornado.web.OutputTransform):
    """Set on every response the server writes, whichever handler wrote it (static files too)."""

    def __init__(self, request):
        super().__init__(request)
        self.host = request.host

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        headers["Content-Security-Policy"] = content_security_policy(self.host)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        return status_code, headers, chunk


class GuardedApplication(tornado.web.Application):
    """Refuses a foreign Host before any handler runs (pages, files, API and websockets alike)."""

    def __init__(self, *args, allowed_hosts: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.allowed_hosts = allowed_hosts
        self.transforms.append(SecurityHeaders)

    def find_handler(self, request, **kwargs):
        if not host_allowed(request.host, self.allowed_hosts):
            return self.get_handler_delegate(request, HostRefusedHandler)
        return super().find_handler(request, **kwargs)


# ---- the application --------------------------------------------------------------------------
class ReadersVoila(Voila):
    max_readers = Int(
        0, config=True, help="Readers holding a kernel at once (0: sized from the machine)"
    )
    max_starts = Int(0, config=True, help="Pages started at once (0: one per core)")
    max_wait = Float(
        45.0,
        config=True,
        help="Longest expected wait in the queue before a reader gets the busy page",
    )
    extra_hosts = List(
        Unicode(),
        config=True,
        help="Host names accepted besides loopback ones when bound to loopback",
    )
    disconnected_grace = Float(
        30.0, config=True, help="Seconds a served page's kernel may stay without a websocket"
    )

    def allowed_hosts(self) -> list[str] | None:
        """Bound to loopback: only local names (DNS rebinding). Bound elsewhere (--host): that address;
        bound to every address: any Host."""
        try:
            address = ipaddress.ip_address(self.ip)
        except ValueError:
            return (
                [self.ip.lower(), *self.extra_hosts]
                if self.ip != "localhost"
                else list(self.extra_hosts)
            )
        if address.is_unspecified:
            return None
        return list(self.extra_hosts) if address.is_loopback else [str(address), *self.extra_hosts]

    def init_settings(self):
        settings = super().init_settings()
        pool = (
            self.voila_configuration.default_pool_size
            if self.voila_configuration.preheat_kernel
            else 0
        )
        max_readers = self.max_readers or default_max_readers(pool)
        max_starts = self.max_starts or default_max_starts()
        settings["plantrack_admission"] = Admission(
            max_readers, max_starts, self.max_wait, self.log
        )
        self.log.info(
            "plantrack: up to %d readers, %d page starts at once, idle kernels culled after %s s",
            max_readers,
            max_starts,
            self.config.MappingKernelManager.get("cull_idle_timeout", "never"),
        )
        return settings

    def init_handlers(self):
        handlers = []
        for handler in super().init_handlers():
            if handler[1] is TornadoVoilaHandler:
                handlers.append((url_path_join(self.server_url, "/plantrack/queue"), QueueHandler))
                handler = (handler[0], ReaderPageHandler, *handler[2:])
            handlers.append(handler)
        return handlers

    def start(self):
        # Voilà.start, with the guarded application (Voilà builds a plain one inline).
        import tempfile

        self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
        self.log.info("Storing connection files in %s." % self.connection_dir)
        settings = self.init_settings()
        self.app = GuardedApplication(allowed_hosts=self.allowed_hosts(), **settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers(".*$", self.init_handlers())
        tornado.ioloop.PeriodicCallback(self._look_after_readers, 2000).start()
        self.listen()

    async def _look_after_readers(self) -> None:
        admission: Admission = self.app.settings["plantrack_admission"]
        km = self.kernel_manager
        admission.prune(km.list_kernel_ids())
        for kernel_id in admission.abandoned(
            getattr(km, "_kernel_connections", {}), self.disconnected_grace
        ):
            self.log.info(
                "plantrack: kernel %s has had no tab for %.0f s: freed",
                kernel_id,
                self.disconnected_grace,
            )
            admission.readers.pop(kernel_id, None)
            try:
                await km.shutdown_kernel(kernel_id)
            except Exception as exc:  # noqa: BLE001 - already gone (beacon or culler came first)
                self.log.info(
                    "plantrack: kernel %s was already gone (%s)", kernel_id, type(exc).__name__
                )


def main(argv=None) -> None:
    # Kernels inherit this environment: Arrow returns freed memory to the system instead of keeping
    # a pool per kernel; one BLAS thread per kernel (many kernels share few cores).
    for key, value in (
        ("ARROW_DEFAULT_MEMORY_POOL", "system"),
        ("OPENBLAS_NUM_THREADS", "1"),
        ("OMP_NUM_THREADS", "1"),
    ):
        os.environ.setdefault(key, value)
    ReadersVoila.launch_instance(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
