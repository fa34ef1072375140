"""The response report's chart as a PNG (for chat): alerts per week as bars, the median time to
acknowledge and to resolve as lines, so one week reads against the others.

Drawn with matplotlib's Agg backend (no display, no GUI toolkit), imported on first use: a bot
nobody asks for a report never loads it. It is CPU work: callers run it in a thread.
"""

from __future__ import annotations

import io
import threading
from typing import Any

WIDTH, HEIGHT, DPI = 6.4, 3.2, 100  # 640 by 320 pixels, about 30 kB
_lock = threading.Lock()  # matplotlib shares caches (fonts, text layout) across figures


def weekly_png(weeks: list[dict[str, Any]], title: str) -> bytes:
    """The weeks of a report (`week`, `alerts`, `mtta_median_seconds`, `mttr_median_seconds`)
    as a PNG; weeks without alerts still show, as an empty bar."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = [str(w["week"])[5:] for w in weeks] or ["—"]  # MM-DD of each week's Monday
    counts = [int(w.get("alerts") or 0) for w in weeks] or [0]
    acked = [_minutes(w.get("mtta_median_seconds")) for w in weeks] or [None]
    resolved = [_minutes(w.get("mttr_median_seconds")) for w in weeks] or [None]
    with _lock:
        figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
        left = figure.add_subplot()
        places = list(range(len(labels)))
        left.bar(places, counts, color="#9fb8d9", label="alerts")
        left.set_xticks(places, labels)
        left.set_ylabel("alerts")
        left.set_title(title, fontsize=10)
        right = left.twinx()
        for values, colour, name in (
            (acked, "#d9822b", "median to acknowledge"),
            (resolved, "#2b8a3e", "median to resolve"),
        ):
            shown = [(x, v) for x, v in zip(places, values, strict=True) if v is not None]
            if shown:
                xs, ys = zip(*shown, strict=True)
                right.plot(xs, ys, marker="o", color=colour, label=name)
        right.set_ylabel("minutes")
        right.set_ylim(bottom=0)
        handles = left.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
        left.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
        figure.tight_layout()
        out = io.BytesIO()
        figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 1)
