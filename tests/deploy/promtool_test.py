#!/usr/bin/env python3
"""promtool on the Prometheus files of deploy/prometheus: `check config` (the compose scrape
config), `check rules` (the alerts) and `test rules` (their unit tests in deploy/prometheus/tests/).

    promtool_test.py [--promtool promtool]
"""

import argparse
import subprocess
import sys

import deploy_testlib as lib


def run(promtool: str, *args) -> str:
    done = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120,
                          cwd=lib.DEPLOY / "prometheus")
    if done.returncode != 0:
        raise AssertionError(f"promtool {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promtool", default="promtool")
    args = parser.parse_args()
    promtool = lib.find_tool(args.promtool)
    if promtool is None:
        print("SKIP: promtool not found (scripts/install_deps.sh installs Debian's prometheus)")
        return 77
    print(run(promtool, "check", "config", "prometheus.yml"))
    print(run(promtool, "check", "rules", "rules.yml"))
    tests = sorted((lib.DEPLOY / "prometheus" / "tests").glob("*.yml"))
    assert tests, "no rule unit tests in deploy/prometheus/tests"
    print(run(promtool, "test", "rules", *[str(t) for t in tests]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
