#!/usr/bin/env python3
"""Draws the Grafana dashboard's panels with matplotlib from a real Prometheus (docs/deploy.md).

    python3 tools/render_dashboard_png.py --prometheus http://127.0.0.1:9090 \
        --start 1700000000 --end 1700000600 --output docs/deploy_dashboard.png

Reads deploy/grafana/dashboards/attnserve.json, runs every panel target's PromQL through
Prometheus' HTTP API (/api/v1/query_range, $instance = all, $__rate_interval = --rate_interval)
and lays the panels out on Grafana's 24-column grid. Time series become lines (legendFormat
labels), heatmaps an image (one row per series), stats the last value. Nothing is synthesised:
a panel without data says "no data".
"""

import argparse
import json
import re
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "attnserve.json"
UNIT_SCALE = {"s": (1000.0, "ms"), "percentunit": (100.0, "%"), "reqps": (1.0, "req/s"), "short": (1.0, "")}


def query_range(url: str, expr: str, start: float, end: float, step: float) -> list:
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{url}/api/v1/query_range?{params}", timeout=30) as r:
        answer = json.loads(r.read())
    if answer["status"] != "success":
        raise RuntimeError(f"{expr}: {answer}")
    return answer["data"]["result"]


def legend(fmt: str, metric: dict) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt or "")
    return text or ", ".join(f"{k}={v}" for k, v in metric.items()) or "value"


def substitute(expr: str, rate_interval: str) -> str:
    return expr.replace("$__rate_interval", rate_interval).replace("$instance", ".*")


def series(args, panel: dict) -> list:
    """[(label, times (s since start), values)] of all of a panel's targets."""
    out = []
    for target in panel.get("targets", []):
        expr = substitute(target["expr"], args.rate_interval)
        for s in query_range(args.prometheus, expr, args.start, args.end, args.step):
            t = np.array([float(p[0]) for p in s["values"]]) - args.start
            v = np.array([float(p[1]) for p in s["values"]])
            out.append((legend(target.get("legendFormat"), s["metric"]), t, v))
    return out


def draw_timeseries(ax, panel, data):
    scale, unit = UNIT_SCALE.get(panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short"), (1.0, ""))
    for label, t, v in data:
        ax.plot(t, v * scale, label=label, linewidth=1.2)
    ax.set_ylabel(unit, fontsize=7)
    ax.set_xlabel("s", fontsize=7)
    if data:
        ax.legend(fontsize=6, loc="upper left", ncol=2, framealpha=0.6)


def draw_heatmap(ax, data):
    data = sorted(data, key=lambda d: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", d[0])])
    t0 = data[0][1]
    grid = np.full((len(data), len(t0)), np.nan)
    for i, (_, t, v) in enumerate(data):
        idx = np.searchsorted(t0, t)
        ok = idx < len(t0)
        grid[i, idx[ok]] = v[ok]
    im = ax.imshow(grid, aspect="auto", origin="lower", cmap="inferno", interpolation="nearest",
                   extent=[t0[0], t0[-1], -0.5, len(data) - 0.5])
    ax.set_yticks(range(len(data)))
    ax.set_yticklabels([d[0] for d in data], fontsize=5)
    ax.set_xlabel("s", fontsize=7)
    plt.colorbar(im, ax=ax, fraction=0.04, pad=0.01).set_label("tokens/s", fontsize=6)


def draw_stat(ax, data):
    ax.axis("off")
    value = data[0][2][-1] if data and len(data[0][2]) else float("nan")
    ax.text(0.5, 0.45, f"{value:g}", ha="center", va="center", fontsize=28, color="tab:green")


def render(args) -> None:
    board = json.loads(DASHBOARD.read_text())
    panels = [p for p in board["panels"] if p["type"] != "row"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    unit_h = 0.42  # inches per grid row
    fig = plt.figure(figsize=(20, rows * unit_h))
    fig.suptitle(f"{board['title']} — {args.subtitle}", fontsize=13, y=0.995)
    for panel in panels:
        g = panel["gridPos"]
        left, width = g["x"] / 24, g["w"] / 24
        bottom, height = 1 - (g["y"] + g["h"]) / rows, g["h"] / rows
        ax = fig.add_axes([left + 0.035 * width, bottom + 0.22 * height, width * 0.9, height * 0.62])
        ax.set_title(panel["title"], fontsize=9, loc="left")
        ax.tick_params(labelsize=6)
        data = series(args, panel)
        if not data:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="gray")
        elif panel["type"] == "heatmap":
            draw_heatmap(ax, data)
        elif panel["type"] == "stat":
            draw_stat(ax, data)
        else:
            draw_timeseries(ax, panel, data)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=args.dpi)
    print(f"wrote {args.output}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--start", type=float, required=True, help="unix seconds")
    parser.add_argument("--end", type=float, required=True, help="unix seconds")
    parser.add_argument("--step", type=float, default=2.0, help="seconds between points")
    parser.add_argument("--rate_interval", default="10s", help="what $__rate_interval becomes")
    parser.add_argument("--subtitle", default="")
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "deploy_dashboard.png")
    render(parser.parse_args())
    return 0


if __name__ == "__main__":
    sys.exit(main())
