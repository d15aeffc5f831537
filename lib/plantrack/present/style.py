"""One palette: the colour and the shape of each status, shared by HTML (the stylesheet), the
charts and the site. Colours pass WCAG AA (>= 4.5:1) as text on white; the symbol carries the
status for readers who cannot tell the colours apart."""

from __future__ import annotations

STATUS_STYLE = {
    # status: (colour, symbol)
    "achieved": ("#1b6e20", "✔"),
    "not_achieved": ("#b3261e", "✘"),
    "no_data": ("#5f6b73", "–"),
    "not_comparable": ("#8a4a00", "≠"),
    "target_achieved": ("#1b6e20", "✔"),
    "on_track": ("#1b6e20", "▲"),
    "needs_acceleration": ("#8a4a00", "►"),
    "limited_progress": ("#8a4a00", "▼"),
    "deterioration": ("#b3261e", "✘"),
    "insufficient_data": ("#5f6b73", "–"),
}
SEVERITY_STYLE = {"error": ("#b3261e", "!"), "warning": ("#8a4a00", "⚠"), "info": ("#37474f", "i")}
CONFIDENCE_STYLE = {
    "high": ("#1b6e20", "●●●"),
    "medium": ("#8a4a00", "●●○"),
    "low": ("#b3261e", "●○○"),
}
INK, MUTED, RULE, PAPER, ACCENT = "#1f2933", "#4a5761", "#d5dbe0", "#ffffff", "#0b5cad"
LEVEL_STATUSES = ("achieved", "not_achieved", "no_data", "not_comparable")


def colour(status: str) -> str:
    return STATUS_STYLE.get(status, (MUTED, ""))[0]


def symbol(status: str) -> str:
    return STATUS_STYLE.get(status, (MUTED, ""))[1]
