"""`plantrack dashboard`: serve notebooks/summary.ipynb with Voilà, locked down for readers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from plantrack.config import SUMMARY_NOTEBOOK as SUMMARY
from plantrack.errors import DataError

TEMPLATE = "plantrack"


def template_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "voila" / "templates" / TEMPLATE


def chart_bundle_path() -> Path:
    """Named by the versions that make it, so a browser's cached copy is never stale.

    Versions read from package metadata: importing vl_convert would cost each reader's kernel
    about 100 MB for a file name.
    """
    from importlib.metadata import version

    return (
        template_dir()
        / "static"
        / f"jupyterchart-altair-{version('altair')}-vlc-{version('vl-convert-python')}.js"
    )


def install_chart_bundle() -> None:
    """JupyterChart's JavaScript, Vega included, as a static file of the template.

    Every chart on a page imports it by URL (see dashboard.charts_offline): the browser fetches
    and evaluates it once per page and caches it between visits, instead of receiving 0.9 MB of
    inline JavaScript through the kernel for each chart.
    """
    path = chart_bundle_path()
    if path.is_file():
        return
    from plantrack.data.package import write_atomic
    from plantrack.serve.chart_view import offline_bundle

    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, offline_bundle())


def served_chart_bundle_url() -> str | None:
    """The bundle's URL path when this kernel serves a Voilà page (Voilà sets VOILA_BASE_URL)."""
    base = os.environ.get("VOILA_BASE_URL")
    if base is None:
        return None
    bundle = chart_bundle_path()
    return (
        f"{base.rstrip('/')}/voila/templates/{TEMPLATE}/static/{bundle.name}"
        if bundle.is_file()
        else None
    )


def install_offline_template() -> str:
    """Voilà's lab template minus its two Font Awesome links to a CDN (readers may have no internet).

    Derived from the installed Voilà at start-up, so it follows Voilà upgrades; files it does
    not override come from 'lab' (conf.json base_template).
    """
    import json

    from jupyter_core.paths import jupyter_path

    lab = next(
        (
            Path(p) / "index.html.j2"
            for p in jupyter_path("voila", "templates", "lab")
            if (Path(p) / "index.html.j2").is_file()
        ),
        None,
    )
    if lab is None:
        raise DataError("Voilà's lab template is not installed")
    target = template_dir()
    target.mkdir(parents=True, exist_ok=True)
    install_chart_bundle()
    text = "".join(
        line
        for line in lab.read_text(encoding="utf-8").splitlines(keepends=True)
        if "cdn.jsdelivr.net" not in line
    )
    marker = "{%- endblock html_head_js_logs -%}"
    if marker not in text:
        raise DataError(
            "Voilà's lab template changed: no html_head_js_logs block to put the reload notice after"
        )
    text = text.replace(marker, marker + "\n" + KERNEL_GONE_SCRIPT, 1)
    # Mermaid would be imported from a CDN if a diagram appeared: the dashboard has none.
    text += "\n{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    text += page_script_block()
    if (
        not (target / "index.html.j2").is_file()
        or (target / "index.html.j2").read_text(encoding="utf-8") != text
    ):
        (target / "index.html.j2").write_text(text, encoding="utf-8")
        (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    return TEMPLATE


# In the page's <head>, before Voilà's scripts open the kernel's websocket. When that socket closes
# and the kernel is gone (culled after --idle-timeout, or the server restarted) while the tab is
# still open, the reader is told to reload, in both languages, instead of facing dead controls.
GONE_CHECK_S = 10

KERNEL_GONE_SCRIPT = """<script>
(function () {
  var GONE_CHECK_MS = %d;
  var leaving = false, base = '/';
  function root() { return (document.body && document.body.dataset.baseUrl || '/voila/').replace(/voila\\/$/, ''); }
  // Voila's page sends the kernel's shutdown beacon on beforeunload; some closes (a phone
  // discarding the tab, a browser closed by automation) fire only pagehide: send it there too.
  window.addEventListener('beforeunload', function () { leaving = true; });
  window.addEventListener('pagehide', function (event) {
    var sent = leaving; leaving = true;
    if (sent || event.persisted) return;
    try {
      var config = JSON.parse(document.getElementById('jupyter-config-data').textContent);
      var xsrf = document.cookie.split('; ').filter(function (c) { return c.indexOf('_xsrf=') === 0; })[0] || '_xsrf=';
      var form = new FormData(); form.append('_xsrf', xsrf.slice(6));
      navigator.sendBeacon(root() + 'voila/api/shutdown/' + config.kernelId, form);
    } catch (e) { /* no kernel on this page */ }
  });
  function notice() {
    if (leaving || document.getElementById('pt-reload')) return;
    var box = document.createElement('div');
    box.id = 'pt-reload'; box.className = 'pt-reload'; box.setAttribute('role', 'alert');
    box.style.cssText = 'position:fixed;top:0;left:0;right:0;z-index:10000;background:#fff3e0;border-bottom:2px solid #ef6c00;padding:12px 16px;font-size:16px;color:#263238';
    var zh = document.createElement('div'); zh.textContent = '\u672c\u9875\u5df2\u95f2\u7f6e\u592a\u4e45\uff0c\u770b\u677f\u5df2\u91ca\u653e\u3002\u8bf7\u5237\u65b0\u9875\u9762\u7ee7\u7eed\u3002';
    var en = document.createElement('div'); en.lang = 'en'; en.textContent = 'This page was idle for a while and has been released. Reload to continue.';
    var button = document.createElement('button'); button.type = 'button'; button.textContent = '\u5237\u65b0 / Reload';
    button.style.cssText = 'margin-top:6px;font-size:16px'; button.onclick = function () { location.reload(); };
    box.appendChild(zh); box.appendChild(en); box.appendChild(button);
    document.body.appendChild(box);
  }
  function closed(url) {
    var m = /\\/api\\/kernels\\/([0-9a-f-]+)\\/channels/.exec(url);
    if (!m || leaving) return;
    setTimeout(function () {
      if (leaving) return;
      base = root();
      fetch(base + 'api/kernels/' + m[1], {cache: 'no-store', credentials: 'same-origin'})
        .then(function (r) { if (r.status === 404) notice(); }, function () { notice(); });
    }, 1000);
  }
  // A culled kernel's websocket stays open (jupyter_server does not close it): ask now and then.
  window.addEventListener('load', function () {
    var id;
    try { id = JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId; } catch (e) { return; }
    var timer = setInterval(function () {
      if (leaving) return;
      fetch(root() + 'api/kernels/' + id, {cache: 'no-store', credentials: 'same-origin'})
        .then(function (r) { if (r.status === 404) { clearInterval(timer); notice(); } }, function () {});
    }, GONE_CHECK_MS);
  });
  var Native = window.WebSocket;
  function Watched(url, protocols) {
    var ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener('close', function () { closed(String(url)); });
    return ws;
  }
  Watched.prototype = Native.prototype;
  ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { Watched[k] = Native[k]; });
  window.WebSocket = Watched;
})();
</script>""" % (GONE_CHECK_S * 1000)


def cull_interval(idle_timeout: int) -> int:
    """How often the culler looks: a quarter of the timeout, between 2 s and a minute."""
    return max(2, min(60, idle_timeout // 4))


def page_script_block() -> str:
    """The dashboard's page script (serve/page.js) in the template's <head>: the address,
    <html lang>, the tab title and the loading text follow the reader's language and view
    (see the script). Added as the `extra_css` block, which Voilà's lab template leaves empty."""
    import json

    from plantrack.config import LANGUAGES
    from plantrack.messages import t

    words = {
        lang: {
            "title": t("dashboard_title", lang),
            "loading": t("loading", lang),
            "button": {"zh": "中文", "en": "English"}[lang],
        }
        for lang in LANGUAGES
    }
    script = (
        Path(__file__)
        .with_name("page.js")
        .read_text(encoding="utf-8")
        .replace("__WORDS__", json.dumps(words, ensure_ascii=False).replace("</", "<\\/"))
    )
    # {% raw %}: the script is text for the browser, not Jinja
    return (
        "\n{%- block extra_css -%}\n{{ super() }}\n<script>{% raw %}\n"
        + script
        + "\n{% endraw %}</script>\n{%- endblock extra_css -%}\n"
    )


def voila_command(
    port: int = 8866,
    host: str = "127.0.0.1",
    pool_size: int = 1,
    preheat: bool = True,
    open_browser: bool = False,
    notebook: Path = SUMMARY,
    idle_timeout: int = 600,
    max_readers: int = 0,
    max_starts: int = 0,
) -> list[str]:
    """The dashboard's Voilà command line (serve/readers.py: Voilà plus admission, Host check and
    security headers): localhost, no code, no tracebacks, warm kernels, offline template, idle
    kernels culled (connected or not: a tab left open is idle too), a cap on readers
    (0: sized from the machine)."""
    command = [
        sys.executable,
        "-m",
        "plantrack.serve.readers",
        str(notebook),
        f"--port={port}",
        f"--Voila.ip={host}",
        "--Voila.port_retries=0",
        f"--Voila.open_browser={open_browser}",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--VoilaConfiguration.template={install_offline_template()}",
        "--VoilaConfiguration.show_margins=True",
        "--VoilaConfiguration.theme=light",
        r"--VoilaConfiguration.file_allowlist=.*\.(png|jpg|gif|svg)",
    ]
    command += [
        f"--MappingKernelManager.cull_idle_timeout={idle_timeout}",
        f"--MappingKernelManager.cull_interval={cull_interval(idle_timeout)}",
        "--MappingKernelManager.cull_connected=True",
        f"--ReadersVoila.max_readers={max_readers}",
        f"--ReadersVoila.max_starts={max_starts}",
    ]
    if preheat:
        command += [
            "--VoilaConfiguration.preheat_kernel=True",
            f"--VoilaConfiguration.default_pool_size={pool_size}",
        ]
    return command
