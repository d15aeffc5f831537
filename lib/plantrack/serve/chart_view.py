"""The dashboard's chart views: Altair's JupyterChart as the browser sees it, without Altair in the
reader's kernel. Everything that depends on JupyterChart's internals is here, and
tests/test_dashboard.py checks it against the installed Altair (pinned in pyproject.toml to the
range tested).

A view is an anywidget with JupyterChart's synced traits and JupyterChart's JavaScript (the bundle
the server serves, or Altair's inlined one in JupyterLab): the browser cannot tell them apart.
The dashboard sends specs as plain dicts (built once per plan version, see serve/plan_cache.py),
so it needs none of Altair's Python side, and Altair (about 30 MiB and a second per kernel) is
imported only when a reader asks for a PNG/SVG download.

Why not JupyterChart's public API: `view.chart = chart` re-validates the spec against the
Vega-Lite schema and rebuilds the selections on every change (half of what a reader waited for);
setting `view.params.x` sends one message per value; and `enable_offline()` inlines the 1 MB
bundle in every chart, where the server can serve it once.
"""

from __future__ import annotations

import json

import anywidget
import traitlets

# JupyterChart's traits its JavaScript reads or writes (altair/jupyter/js/index.js), with their
# defaults; tests/test_dashboard.py checks they are exactly JupyterChart's synced traits.
SYNCED = (
    "spec",
    "debounce_wait",
    "max_wait",
    "local_tz",
    "embed_options",
    "_vl_selections",
    "_params",
    "_js_watch_plan",
    "_js_to_py_updates",
    "_py_to_js_updates",
)

# A chart view's module under Voilà: it imports the bundle the server serves, resolved against
# the page's own origin (the kernel does not know the address the reader used).
MODULE = """const bundle = await import(new URL(%s, window.location.origin).href);
export default bundle.default;
"""


class ChartView(anywidget.AnyWidget):
    """A Vega-Lite view in the page; `spec` is a Vega-Lite dict."""

    _esm = ""  # set by load_bundle_from before the first view is shown
    _css = """
    .vega-embed {
        /* Make sure action menu isn't cut off */
        overflow: visible;
    }
    """
    spec = traitlets.Dict(allow_none=True).tag(sync=True)
    debounce_wait = traitlets.Float(default_value=10).tag(sync=True)
    max_wait = traitlets.Bool(default_value=True).tag(sync=True)
    local_tz = traitlets.Unicode(default_value=None, allow_none=True).tag(sync=True)
    embed_options = traitlets.Dict(default_value=None, allow_none=True).tag(sync=True)
    _vl_selections = traitlets.Dict().tag(sync=True)
    _params = traitlets.Dict().tag(sync=True)
    _js_watch_plan = traitlets.Any(allow_none=True).tag(sync=True)
    _js_to_py_updates = traitlets.Any(allow_none=True).tag(sync=True)
    _py_to_js_updates = traitlets.Any(allow_none=True).tag(sync=True)


def send_params(view: ChartView, values: dict) -> None:
    """Every param value of the view in one message."""
    view._params = values


def watch_point_selection(view: ChartView, name: str) -> None:
    """Have the browser report the spec's point selection `name` (JupyterChart's script watches
    the selections named in `_vl_selections` when it embeds a spec)."""
    view._vl_selections = {name: {"value": None, "store": []}}


def on_point_selection(view: ChartView, name: str, handler) -> None:
    """handler(store: list) whenever the reader changes selection `name` in the browser."""

    def changed(change):
        selection = change["new"].get(name) if isinstance(change["new"], dict) else None
        store = selection.get("store") if isinstance(selection, dict) else None
        handler(store if isinstance(store, list) else [])

    view.observe(changed, "_vl_selections")


def load_bundle_from(url: str | None) -> None:
    """Chart views load Vega from `url` on the page's server; without one (JupyterLab), from the
    bundle inlined in each view. Never from a CDN."""
    ChartView._esm = MODULE % json.dumps(url) if url else offline_bundle()


def offline_bundle() -> str:
    """JupyterChart's JavaScript with Vega inlined (from vl-convert: no network), to serve as a file."""
    import altair as alt

    alt.JupyterChart.enable_offline()
    return alt.JupyterChart._esm
