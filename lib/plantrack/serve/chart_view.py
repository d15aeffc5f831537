"""The dashboard's chart views: Altair's JupyterChart driven through the few private members it
has no public form for. They are all here, and tests/test_dashboard.py checks each exists in the
installed Altair (pinned in pyproject.toml to the range tested).

Why not the public API: `view.chart = chart` re-validates the spec against the Vega-Lite schema
and rebuilds the selections on every change (half of what a reader waited for); setting
`view.params.x` sends one message per value; and `enable_offline()` inlines the 1 MB bundle in
every chart, where the server can serve it once.
"""

from __future__ import annotations

import json

import altair as alt

PRIVATE_MEMBERS = ("_params", "_vl_selections", "_selection_types", "_esm")

# A chart view's module under Voilà: it imports the bundle the server serves, resolved against
# the page's own origin (the kernel does not know the address the reader used).
MODULE = """const bundle = await import(new URL(%s, window.location.origin).href);
export default bundle.default;
"""


def send_params(view: alt.JupyterChart, values: dict) -> None:
    """Every param value of the view in one message."""
    view._params = values


def watch_point_selection(view: alt.JupyterChart, name: str) -> None:
    """Register the spec's point selection `name` (the spec is sent as a dict, without the
    `chart` trait that would otherwise set this up)."""
    from altair.jupyter.jupyter_chart import PointSelection, Selections

    view.selections = Selections({name: PointSelection(name=name, value=[], store=[])})
    view._selection_types = {name: "point"}
    view._vl_selections = {name: {"value": None, "store": []}}


def on_point_selection(view: alt.JupyterChart, name: str, handler) -> None:
    """handler(store: list) whenever the reader changes selection `name` in the browser."""

    def changed(change):
        handler((change["new"].get(name) or {}).get("store") or [])

    view.observe(changed, "_vl_selections")


def load_bundle_from(url: str | None) -> None:
    """Chart views load Vega from `url` on the page's server; without one (JupyterLab), from the
    bundle inlined in each view. Never from a CDN."""
    if url:
        alt.JupyterChart._esm = MODULE % json.dumps(url)
    else:
        alt.JupyterChart.enable_offline()


def offline_bundle() -> str:
    """JupyterChart's JavaScript with Vega inlined (from vl-convert: no network), to serve as a file."""
    alt.JupyterChart.enable_offline()
    return alt.JupyterChart._esm
