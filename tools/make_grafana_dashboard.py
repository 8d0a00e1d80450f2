#!/usr/bin/env python3
"""Generates the attnserve Grafana dashboard (deploy/grafana/dashboards/attnserve.json) with grafanalib.

    python3 tools/make_grafana_dashboard.py            # rewrite the committed JSON
    python3 tools/make_grafana_dashboard.py --check    # exit 1 if the committed JSON is stale

Every expression uses only metrics from server/metrics.cc (tests/deploy/promql_names_test.py checks
this against a live daemon); panels are explained in docs/deploy.md. `$instance` is a dashboard
variable (one replica, several, or All) and `$__rate_interval` Grafana's rate window.
"""

import argparse
import json
import sys
from pathlib import Path

from grafanalib.core import (Dashboard, GridPos, Heatmap, RowPanel, Stat, Target, Template,
                             Templating, Time, TimeSeries)
from grafanalib._gen import DashboardEncoder

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "deploy" / "grafana" / "dashboards" / "attnserve.json"
DATASOURCE = "${datasource}"
SEL = 'instance=~"$instance"'
RATE = "$__rate_interval"
# Server-side failure codes; the same list as the AttnserveHighErrorRatio alert (deploy/prometheus/rules.yml).
SERVER_ERROR_CODES = "UNKNOWN|DEADLINE_EXCEEDED|RESOURCE_EXHAUSTED|ABORTED|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS"


def quantiles(histogram: str, by: str = "") -> list:
    """p50/p95/p99 of an attnserve histogram over all selected replicas (or per `by` label)."""
    group = f"{by}, le" if by else "le"
    return [(f"histogram_quantile({q}, sum by ({group}) (rate({histogram}_bucket{{{SEL}}}[{RATE}])))",
             f"p{int(q * 100)}" + (f" {{{{{by}}}}}" if by else ""))
            for q in (0.5, 0.95, 0.99)]


def timeseries(title: str, description: str, exprs: list, unit: str, pos: tuple, **kw) -> TimeSeries:
    x, y, w, h = pos
    return TimeSeries(
        title=title, description=description, dataSource=DATASOURCE, unit=unit,
        targets=[Target(expr=e, legendFormat=legend, refId=chr(ord("A") + i))
                 for i, (e, legend) in enumerate(exprs)],
        gridPos=GridPos(h=h, w=w, x=x, y=y), **kw)


def row(title: str, y: int) -> RowPanel:
    return RowPanel(title=title, gridPos=GridPos(h=1, w=24, x=0, y=y))


def latency_row(y: int) -> list:
    panels = [row("Latency", y)]
    specs = [
        ("Time to first token", "attnserve_time_to_first_token_seconds",
         "From request arrival to its first output token (queueing + prefill)."),
        ("Inter-token latency", "attnserve_inter_token_latency_seconds",
         "Time between consecutive output tokens of a request (one decode step, or a wait behind others' prefill)."),
        ("End-to-end request latency", "attnserve_e2e_request_latency_seconds",
         "From request arrival to its last output."),
        ("Queue time", "attnserve_request_queue_time_seconds",
         "Time a request waited before the scheduler first gave it a seat."),
    ]
    for i, (title, metric, desc) in enumerate(specs):
        panels.append(timeseries(f"{title} (p50 / p95 / p99)", desc, quantiles(metric), "s",
                                 (12 * (i % 2), y + 1 + 8 * (i // 2), 12, 8)))
    return panels


def throughput_row(y: int) -> list:
    return [
        row("Throughput and load", y),
        timeseries("Tokens per second", "Prompt tokens processed and output tokens generated per second.",
                   [(f"sum(rate(attnserve_prompt_tokens_total{{{SEL}}}[{RATE}]))", "prompt"),
                    (f"sum(rate(attnserve_generation_tokens_total{{{SEL}}}[{RATE}]))", "generation")],
                   "short", (0, y + 1, 12, 8)),
        timeseries("Running and waiting requests",
                   "Sequences scheduled on the engine, and requests queued behind them.",
                   [(f"sum(attnserve_num_requests_running{{{SEL}}})", "running"),
                    (f"sum(attnserve_num_requests_waiting{{{SEL}}})", "waiting")],
                   "short", (12, y + 1, 12, 8)),
    ]


def memory_row(y: int) -> list:
    return [
        row("KV cache", y),
        timeseries("KV-cache usage", "Fraction of KV blocks referenced by running sequences (max and mean over replicas).",
                   [(f"max(attnserve_kv_cache_usage_ratio{{{SEL}}})", "max"),
                    (f"avg(attnserve_kv_cache_usage_ratio{{{SEL}}})", "mean")],
                   "percentunit", (0, y + 1, 8, 8)),
        timeseries("Preemptions per second",
                   "Running sequences that gave up their KV blocks for lack of memory (recomputed later).",
                   [(f"sum(rate(attnserve_num_preemptions_total{{{SEL}}}[{RATE}]))", "preemptions/s")],
                   "short", (8, y + 1, 8, 8)),
        timeseries("Prefix-cache hit rate", "Prompt tokens found in the prefix cache / prompt tokens looked up.",
                   [(f"sum(rate(attnserve_prefix_cache_hits_total{{{SEL}}}[{RATE}]))"
                     f" / sum(rate(attnserve_prefix_cache_queries_total{{{SEL}}}[{RATE}]))", "hit rate")],
                   "percentunit", (16, y + 1, 8, 8)),
    ]


def requests_row(y: int) -> list:
    expert_heatmap = Heatmap(
        title="Per-expert token load (MoE)",
        description="Tokens routed per second to each expert of each MoE layer (a row per layer/expert).",
        dataSource=DATASOURCE, dataFormat="tsbuckets", hideZeroBuckets=False, yBucketBound="middle",
        targets=[Target(expr=f"sum by (layer, expert) (rate(attnserve_moe_expert_tokens_total{{{SEL}}}[{RATE}]))",
                        legendFormat="L{{layer}} E{{expert}}", refId="A")],
        gridPos=GridPos(h=8, w=12, x=0, y=y + 1))
    return [
        row("Requests", y),
        expert_heatmap,
        timeseries("Error rate by status", "API calls per second that ended with a status other than OK, by gRPC status code.",
                   [(f'sum by (code) (rate(attnserve_api_requests_total{{{SEL}, code!="OK"}}[{RATE}]))', "{{code}}"),
                    (f'sum(rate(attnserve_api_requests_total{{{SEL}, code=~"{SERVER_ERROR_CODES}"}}[{RATE}]))'
                     f" / sum(rate(attnserve_api_requests_total{{{SEL}}}[{RATE}]))", "server-error ratio")],
                   "short", (12, y + 1, 12, 8)),
        timeseries("Requests by attention backend", "Admitted requests per second by attention backend (\"default\" = the model's own).",
                   [(f"sum by (attention) (rate(attnserve_requests_by_attention_total{{{SEL}}}[{RATE}]))", "{{attention}}")],
                   "reqps", (0, y + 9, 8, 8)),
        timeseries("Requests by context policy", "Admitted requests per second by context-length policy.",
                   [(f"sum by (policy) (rate(attnserve_requests_by_context_policy_total{{{SEL}}}[{RATE}]))", "{{policy}}")],
                   "reqps", (8, y + 9, 8, 8)),
        timeseries("Finished and rejected requests", "Finished requests per second by finish reason, and requests refused before queueing by reason.",
                   [(f"sum by (finish_reason) (rate(attnserve_requests_total{{{SEL}}}[{RATE}]))", "finished {{finish_reason}}"),
                    (f"sum by (reason) (rate(attnserve_requests_rejected_total{{{SEL}}}[{RATE}]))", "rejected {{reason}}")],
                   "reqps", (16, y + 9, 8, 8)),
    ]


def replica_row(y: int) -> list:
    return [
        row("Per replica", y),
        Stat(title="Replicas up", description="Replicas whose /metrics Prometheus scraped last time (1 = up).",
             dataSource=DATASOURCE, reduceCalc="lastNotNull", graphMode="none",
             targets=[Target(expr='sum(up{job="attnserve"})', legendFormat="up", refId="A")],
             gridPos=GridPos(h=8, w=4, x=0, y=y + 1)),
        timeseries("Generation tokens/s by instance", "Output tokens per second of each replica.",
                   [(f"sum by (instance) (rate(attnserve_generation_tokens_total{{{SEL}}}[{RATE}]))", "{{instance}}")],
                   "short", (4, y + 1, 10, 8)),
        timeseries("TTFT p99 by instance", "p99 time to first token of each replica.",
                   [(f"histogram_quantile(0.99, sum by (instance, le) (rate(attnserve_time_to_first_token_seconds_bucket{{{SEL}}}[{RATE}])))",
                     "{{instance}}")],
                   "s", (14, y + 1, 10, 8)),
        timeseries("Running and waiting by instance", "Scheduler occupancy of each replica.",
                   [(f"sum by (instance) (attnserve_num_requests_running{{{SEL}}})", "running {{instance}}"),
                    (f"sum by (instance) (attnserve_num_requests_waiting{{{SEL}}})", "waiting {{instance}}")],
                   "short", (0, y + 9, 12, 8)),
        timeseries("KV-cache usage by instance", "KV-cache usage of each replica.",
                   [(f"max by (instance) (attnserve_kv_cache_usage_ratio{{{SEL}}})", "{{instance}}")],
                   "percentunit", (12, y + 9, 12, 8)),
    ]


def dashboard() -> Dashboard:
    panels = latency_row(0) + throughput_row(17) + memory_row(26) + requests_row(35) + replica_row(52)
    return Dashboard(
        title="attnserve", uid="attnserve", tags=["attnserve", "llm-serving"], timezone="utc",
        description="attnserve serving metrics (generated by tools/make_grafana_dashboard.py; see docs/deploy.md)",
        refresh="10s", time=Time("now-30m", "now"), panels=panels,
        templating=Templating(list=[
            Template(name="datasource", label="Data source", type="datasource", query="prometheus"),
            Template(name="instance", label="Instance", dataSource=DATASOURCE,
                     query="label_values(attnserve_num_requests_running, instance)",
                     includeAll=True, multi=True, allValue=".*", default="$__all", refresh=2),
        ]),
    ).auto_panel_ids()


def render() -> str:
    data = dashboard().to_json_data()
    return json.dumps(data, cls=DashboardEncoder, indent=2, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed JSON differs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = render()
    if args.check:
        if not args.output.is_file() or args.output.read_text() != text:
            print(f"{args.output} is stale: run python3 tools/make_grafana_dashboard.py", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
