#!/usr/bin/env python3
"""The committed generated files are what their generators write now: the Grafana dashboard
(tools/make_grafana_dashboard.py, grafanalib) and the Kubernetes PrometheusRule
(tools/make_prometheus_rule.py, from deploy/prometheus/rules.yml)."""

import subprocess
import sys

import deploy_testlib as lib


def main() -> int:
    try:
        import grafanalib  # noqa: F401
    except ImportError:
        print("SKIP: grafanalib not installed (scripts/install_deps.sh installs it)")
        return 77
    failed = 0
    for tool in ("make_grafana_dashboard.py", "make_prometheus_rule.py"):
        done = subprocess.run([sys.executable, str(lib.ROOT / "tools" / tool), "--check"],
                              capture_output=True, text=True, timeout=120)
        print(f"{tool} --check: {'fresh' if done.returncode == 0 else 'STALE'} {done.stderr.strip()}")
        failed |= done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
