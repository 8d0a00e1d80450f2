#!/usr/bin/env python3
"""`docker-compose config -q` on docker-compose.yml, for the default and the "scaleout" profile
(no Docker daemon needed), plus the wiring the file's comments promise: each profile's services,
attnserve's stop grace above its drain timeout, the Prometheus/Grafana/Envoy files it mounts exist.
"""

import re
import subprocess
import sys

import yaml

import deploy_testlib as lib


def config(compose: str, *profile) -> dict:
    done = subprocess.run([compose, "-f", "docker-compose.yml", *profile, "config"], cwd=lib.ROOT,
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"docker-compose {' '.join(profile)} config failed:\n{done.stderr}")
    quiet = subprocess.run([compose, "-f", "docker-compose.yml", *profile, "config", "-q"],
                           cwd=lib.ROOT, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and not quiet.stdout, quiet.stdout + quiet.stderr
    return yaml.safe_load(done.stdout)


def seconds(duration: str) -> float:
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", duration)
    assert m, duration
    return 60 * int(m.group(1) or 0) + float(m.group(2) or 0)


def main() -> int:
    compose = lib.find_tool("docker-compose")
    if compose is None:
        print("SKIP: docker-compose not found (scripts/install_deps.sh installs Debian's)")
        return 77
    default = config(compose)
    scaleout = config(compose, "--profile", "scaleout")
    for name in ("attnserve", "prometheus", "grafana"):
        assert name in default["services"], name
    for name in ("attnserve-b", "envoy"):
        assert name in scaleout["services"], name
    service = scaleout["services"]["attnserve"]
    flags = dict(f.split("=", 1) for f in service["command"] if "=" in f)
    drain = float(flags["--drain_timeout"]) + float(flags.get("--shutdown_grace_seconds", 5))
    grace = seconds(service["stop_grace_period"])
    assert grace > drain, f"stop_grace_period {grace} s must exceed drain + grace {drain} s"
    for path in ("deploy/prometheus/prometheus.yml", "deploy/prometheus/rules.yml",
                 "deploy/envoy/envoy.yaml", "deploy/grafana/dashboards/attnserve.json",
                 "deploy/grafana/provisioning/datasources/prometheus.yml",
                 "deploy/grafana/provisioning/dashboards/attnserve.yml",
                 "deploy/docker/Dockerfile"):
        assert (lib.ROOT / path).is_file(), path
    print("docker-compose config: default and scaleout profiles valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
