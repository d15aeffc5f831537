"""`plantrack dashboard`: serve notebooks/summary.ipynb with Voilà, locked down for readers."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from plantrack.errors import DataError

from plantrack.config import SUMMARY_NOTEBOOK as SUMMARY


TEMPLATE = "plantrack"


def template_dir() -> Path:
    return Path(sys.prefix) / "share" / "jupyter" / "voila" / "templates" / TEMPLATE


def chart_bundle_path() -> Path:
    """Named by the versions that make it, so a browser's cached copy is never stale."""
    import altair
    import vl_convert
    return template_dir() / "static" / f"jupyterchart-altair-{altair.__version__}-vlc-{vl_convert.__version__}.js"


def install_chart_bundle() -> None:
    """JupyterChart's JavaScript, Vega included, as a static file of the template.

    Every chart on a page imports it by URL (see dashboard.charts_offline): the browser fetches
    and evaluates it once per page and caches it between visits, instead of receiving 0.9 MB of
    inline JavaScript through the kernel for each chart.
    """
    path = chart_bundle_path()
    if path.is_file():
        return
    import altair as alt
    alt.JupyterChart.enable_offline()           # vl-convert bundles the JavaScript: no network
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(alt.JupyterChart._esm, encoding="utf-8")
    partial.replace(path)


def served_chart_bundle_url() -> str | None:
    """The bundle's URL path when this kernel serves a Voilà page (Voilà sets VOILA_BASE_URL)."""
    base = os.environ.get("VOILA_BASE_URL")
    if base is None:
        return None
    bundle = chart_bundle_path()
    return f"{base.rstrip('/')}/voila/templates/{TEMPLATE}/static/{bundle.name}" if bundle.is_file() else None


def install_offline_template() -> str:
    """Voilà's lab template minus its two Font Awesome links to a CDN (readers may have no internet).

    Derived from the installed Voilà at start-up, so it follows Voilà upgrades; files it does
    not override come from 'lab' (conf.json base_template).
    """
    import json
    from jupyter_core.paths import jupyter_path
    lab = next((Path(p) / "index.html.j2" for p in jupyter_path("voila", "templates", "lab")
                if (Path(p) / "index.html.j2").is_file()), None)
    if lab is None:
        raise DataError("Voilà's lab template is not installed")
    target = template_dir()
    target.mkdir(parents=True, exist_ok=True)
    install_chart_bundle()
    text = "".join(line for line in lab.read_text(encoding="utf-8").splitlines(keepends=True)
                   if "cdn.jsdelivr.net" not in line)
    # Mermaid would be imported from a CDN if a diagram appeared: the dashboard has none.
    text += "\n{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}\n"
    text += page_script_block()
    if not (target / "index.html.j2").is_file() or (target / "index.html.j2").read_text(encoding="utf-8") != text:
        (target / "index.html.j2").write_text(text, encoding="utf-8")
        (target / "conf.json").write_text(json.dumps({"base_template": "lab"}), encoding="utf-8")
    return TEMPLATE


def page_script_block() -> str:
    """The dashboard's page script (serve/page.js) in the template's <head>: the address,
    <html lang>, the tab title and the loading text follow the reader's language and view
    (see the script). Added as the `extra_css` block, which Voilà's lab template leaves empty."""
    import json
    from plantrack.config import LANGUAGES
    from plantrack.messages import t
    words = {lang: {"title": t("dashboard_title", lang), "loading": t("loading", lang),
                    "button": {"zh": "中文", "en": "English"}[lang]} for lang in LANGUAGES}
    script = (Path(__file__).with_name("page.js").read_text(encoding="utf-8")
              .replace("__WORDS__", json.dumps(words, ensure_ascii=False).replace("</", "<\\/")))
    # {% raw %}: the script is text for the browser, not Jinja
    return ("\n{%- block extra_css -%}\n{{ super() }}\n<script>{% raw %}\n" + script
            + "\n{% endraw %}</script>\n{%- endblock extra_css -%}\n")


def voila_command(port: int = 8866, host: str = "127.0.0.1", pool_size: int = 1, preheat: bool = True,
                  open_browser: bool = False, notebook: Path = SUMMARY) -> list[str]:
    """The Voilà command line: localhost, no code, no tracebacks, warm kernels, offline template."""
    command = [sys.executable, "-m", "voila", str(notebook), f"--port={port}", f"--Voila.ip={host}",
               "--Voila.port_retries=0", f"--Voila.open_browser={open_browser}",
               "--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
               f"--VoilaConfiguration.template={install_offline_template()}", "--VoilaConfiguration.show_margins=True", "--VoilaConfiguration.theme=light",
               r"--VoilaConfiguration.file_allowlist=.*\.(png|jpg|gif|svg)"]
    if preheat:
        command += ["--VoilaConfiguration.preheat_kernel=True", f"--VoilaConfiguration.default_pool_size={pool_size}"]
    return command
