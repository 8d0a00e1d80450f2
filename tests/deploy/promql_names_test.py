#!/usr/bin/env python3
"""Every PromQL expression of the Grafana dashboard and the alert rules parses, and names only
metrics and labels that a live attnserve exports.

    promql_names_test.py --attnserve build/bin/attnserve --bench build/bin/attnserve-bench \
        --model tests/golden/models/qwen2_moe

Parsing: the expressions (Grafana variables replaced by concrete values) are written as recording
rules into a temporary rules file and checked with `promtool check rules`, which runs Prometheus'
own parser. Names: a MoE test daemon (so the per-expert families exist) serves a few requests via
attnserve-bench; its /metrics gives the metric names and each metric's label names. `up` and the
target labels `job`/`instance` come from Prometheus itself and are allowed.
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import deploy_testlib as lib

GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "5m", "$instance": ".*"}
PROMETHEUS_METRICS = {"up": {"job", "instance"}}
TARGET_LABELS = {"job", "instance"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan"}


def dashboard_expressions(path: Path) -> list:
    """[(where, expr, legendFormat)] of every target of every panel and query variable."""
    board = json.loads(path.read_text())
    found = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r}", target["expr"], target.get("legendFormat", "")))
    for var in board.get("templating", {}).get("list", []):
        query = var.get("query", "")
        m = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
        if m:  # label_values(metric, label) is Grafana's, not PromQL: check its parts
            found.append((f"variable {var['name']!r}", m.group(1), "{{%s}}" % m.group(2)))
    return found


def rule_expressions(path: Path) -> list:
    import yaml
    rules = yaml.safe_load(path.read_text())
    return [(f"alert {r['alert']}", r["expr"], "")
            for group in rules["groups"] for r in group["rules"]]


def substitute(expr: str) -> str:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


def names_in(expr: str) -> tuple:
    """(metric names, label names) that a PromQL expression refers to (lexical, PromQL subset:
    selectors, matchers, aggregation/vector-matching label lists)."""
    labels = set()
    for body in re.findall(r"\{([^}]*)\}", expr):  # matchers: name op "value"
        labels.update(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*"', body))
    for body in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr):
        labels.update(n.strip() for n in body.split(",") if n.strip())
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    stripped = re.sub(r"\{[^}]*\}", "", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)
    stripped = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", stripped)
    metrics = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped):
        word = m.group(0)
        after = stripped[m.end():].lstrip()
        if word.lower() in KEYWORDS or after.startswith("("):
            continue  # a function or aggregation, or an operator keyword
        if re.fullmatch(r"\d+(?:\.\d+)?(?:e\d+)?", word):
            continue
        metrics.add(word)
    return metrics, labels


def promtool_parse(promtool: str, exprs: list, workdir: Path) -> None:
    rules = {"groups": [{"name": "parse-check", "rules": [
        {"record": f"parse_check:expr_{i}", "expr": substitute(e)} for i, (_, e, _) in enumerate(exprs)]}]}
    path = workdir / "parse_check.rules.yml"
    path.write_text(json.dumps(rules))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                          timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"promtool could not parse the expressions:\n{done.stdout}{done.stderr}")


def exported_names(args, workdir: Path) -> dict:
    """{metric name: label names} from a live MoE daemon after a few requests."""
    daemon = lib.Daemon(args.attnserve, args.model, workdir).wait_serving()
    lib.run_bench(args.bench, daemon.addr, workdir, "bench", num_requests=4, concurrency=2,
                  input_len=16, output_len=4)
    exported = {}
    for name, labels, _ in daemon.metrics():
        exported.setdefault(name, set()).update(labels)
    assert lib.stop(daemon.proc) == 0, lib.tail(daemon.proc.log_path)
    return exported


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attnserve", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True, help="a MoE model (exports the per-expert families)")
    parser.add_argument("--promtool", default="promtool")
    args = parser.parse_args()
    promtool = lib.find_tool(args.promtool)
    if promtool is None:
        print("SKIP: promtool not found (scripts/install_deps.sh installs Debian's prometheus)")
        return 77
    workdir = lib.workdir("promql-names-")

    exprs = (dashboard_expressions(lib.DEPLOY / "grafana" / "dashboards" / "attnserve.json")
             + rule_expressions(lib.DEPLOY / "prometheus" / "rules.yml"))
    assert len(exprs) >= 30, f"only {len(exprs)} expressions found"
    promtool_parse(promtool, exprs, workdir)
    print(f"promtool parsed {len(exprs)} expressions")

    exported = exported_names(args, workdir)
    assert "attnserve_moe_expert_tokens_total" in exported, sorted(exported)
    problems = []
    for where, expr, legend in exprs:
        metrics, labels = names_in(substitute(expr))
        labels |= set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
        if not metrics:
            problems.append(f"{where}: no metric found in {expr!r}")
        known_labels = set(TARGET_LABELS)
        for metric in metrics:
            known = exported.get(metric, PROMETHEUS_METRICS.get(metric))
            if known is None:
                problems.append(f"{where}: metric {metric} is not exported by attnserve")
            else:
                known_labels |= known
        for label in sorted(labels - known_labels):
            problems.append(f"{where}: label {label!r} is not on {sorted(metrics)}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"{len(exprs)} expressions name only exported metrics and labels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
