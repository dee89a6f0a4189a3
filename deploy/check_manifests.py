"""Offline checks of spendgate's deployment files: the rules deploy/check.sh holds them to.

    check_manifests.py k8s [--kubernetes-version V] < rendered.yaml   a `kubectl kustomize` output
    check_manifests.py compose < compose.yaml                          a `docker compose config` output
    check_manifests.py dockerfiles FILE...                             the essentials hadolint does not check
    check_manifests.py rules-copy [--write]                            k8s PrometheusRule == the alert rules

Core Kubernetes kinds are validated strictly against the schemas kubernetes-validate ships; the CRD kinds
(ServiceMonitor, PrometheusRule, ScaledObject) have no schema there and are checked for what spendgate relies
on instead. Needs PyYAML and kubernetes-validate (both in the tools venv that .ci/deploy-tools.sh builds).
Prints one line on success; on failure one line per problem, and exits 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy/prometheus/rules/spendgate.rules.yml"
RULES_COPY = ROOT / "k8s/base/prometheusrule.yaml"
SECRETS_EXAMPLE = ROOT / "k8s/base/secrets.example.yaml"
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("keda.sh/v1alpha1", "ScaledObject"),
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet"}
APP_UID = 10001
# The platform write credential, by Secret name and env var: only WRITERS may reference it (SPEC §1, §2).
WRITE_SECRET = "spendgate-adsim-write"  # noqa: S105
WRITE_ENV = "SPENDGATE_ADSIM_WRITE_TOKEN"
WRITERS = {"executor", "adsim"}

Doc = dict[str, Any]


def name_of(doc: Doc) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def containers(pod: Doc) -> Iterator[Doc]:
    yield from pod.get("initContainers", [])
    yield from pod.get("containers", [])


def check_pod(owner: str, pod: Doc, *, ours: bool) -> list[str]:
    problems = []
    psc = pod.get("securityContext", {})
    if pod.get("automountServiceAccountToken") is not False:
        problems.append(f"{owner}: automountServiceAccountToken must be false")
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser", 0) == 0:
        problems.append(f"{owner}: pod must set runAsNonRoot and a non-zero runAsUser")
    if ours and psc.get("runAsUser") != APP_UID:
        problems.append(f"{owner}: spendgate images run as uid {APP_UID}")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        problems.append(f"{owner}: seccompProfile must be RuntimeDefault")
    for c in containers(pod):
        where = f"{owner} container {c.get('name')}"
        csc = c.get("securityContext", {})
        if csc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation must be false")
        if csc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem must be true")
        if "ALL" not in csc.get("capabilities", {}).get("drop", []):
            problems.append(f"{where}: capabilities must drop ALL")
        for bound in ("requests", "limits"):
            if not {"cpu", "memory"} <= set(c.get("resources", {}).get(bound, {})):
                problems.append(f"{where}: needs cpu and memory {bound}")
        if c in pod.get("containers", []) and not ("livenessProbe" in c and "readinessProbe" in c):
            problems.append(f"{where}: needs liveness and readiness probes")
        if c.get("image", "").endswith(":latest"):
            problems.append(f"{where}: image tag 'latest'")
        mounts = {m.get("mountPath") for m in c.get("volumeMounts", [])}
        if ours and "/tmp" not in mounts:  # noqa: S108 (a mount path, not a file this script writes)
            problems.append(f"{where}: needs a writable /tmp (emptyDir) under a read-only root")
    return problems


def references_write_token(pod: Doc) -> bool:
    text = yaml.safe_dump(pod)
    return WRITE_SECRET in text or WRITE_ENV in text


def referenced_secrets(doc: Doc) -> set[str]:
    """Names of the Secrets an object refers to: env, envFrom, volumes, Ingress TLS."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("secretKeyRef", "secretRef") and isinstance(value, dict):
                    found.add(value["name"])
                elif key == "secretName" and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(doc.get("spec", {}))
    return found


def check_scaled_object(doc: Doc, docs: list[Doc]) -> list[str]:
    """The KEDA trigger must point at a Redis this render deploys, or at an env var of the scaled workload."""
    problems = []
    services = {
        (d["metadata"]["name"], d["metadata"].get("namespace")) for d in docs if d.get("kind") == "Service"
    }
    target = doc["spec"]["scaleTargetRef"]["name"]
    workload = next(
        (d for d in docs if d.get("kind") == "Deployment" and d["metadata"]["name"] == target), None
    )
    if workload is None:
        return [f"{name_of(doc)}: scales {target}, which this render does not deploy"]
    env = {e["name"] for c in containers(workload["spec"]["template"]["spec"]) for e in c.get("env", [])}
    for trigger in doc["spec"].get("triggers", []):
        meta = trigger.get("metadata", {})
        if trigger.get("type") != "redis":
            continue
        if "address" in meta:
            host = meta["address"].split(":")[0].split(".")
            if (host[0], host[1] if len(host) > 1 else None) not in services:
                problems.append(
                    f"{name_of(doc)}: redis address {meta['address']} is no Service in this render"
                )
        for key in ("addressFromEnv", "passwordFromEnv"):
            if key in meta and meta[key] not in env:
                problems.append(f"{name_of(doc)}: {key} {meta[key]} is not set on {target}")
    return problems


def check_k8s(docs: list[Doc], version: str) -> tuple[list[str], str]:
    problems: list[str] = []
    crds = 0
    for doc in docs:
        kind, api = doc.get("kind"), doc.get("apiVersion")
        if (api, kind) in CRD_KINDS:
            crds += 1
            if not doc.get("spec"):
                problems.append(f"{name_of(doc)}: empty spec")
        else:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                problems.append(f"{name_of(doc)}: {path}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                problems.append(f"{name_of(doc)}: {exc.message} (a CRD must be listed in CRD_KINDS)")
        if kind == "Secret":
            problems.append(f"{name_of(doc)}: Secrets are referenced by name, never part of the build")
        if kind == "ServiceAccount" and doc.get("automountServiceAccountToken") is not False:
            problems.append(f"{name_of(doc)}: automountServiceAccountToken must be false")
        if kind in WORKLOAD_KINDS:
            pod = doc["spec"]["template"]["spec"]
            ours = any("spendgate" in c.get("image", "") for c in containers(pod))
            problems += check_pod(name_of(doc), pod, ours=ours)
            if references_write_token(pod) and doc["metadata"]["name"] not in WRITERS:
                problems.append(f"{name_of(doc)}: only {sorted(WRITERS)} may hold the platform write token")
        if kind == "ScaledObject":
            problems += check_scaled_object(doc, docs)
        if kind == "PrometheusRule" and doc["spec"] != rules_spec():
            problems.append(f"{name_of(doc)}: differs from {RULES.relative_to(ROOT)}; run rules-copy --write")
    documented = {d["metadata"]["name"] for d in yaml.safe_load_all(SECRETS_EXAMPLE.read_text()) if d}
    for doc in docs:
        for secret in sorted(referenced_secrets(doc) - documented):
            problems.append(f"{name_of(doc)}: Secret {secret} is not in {SECRETS_EXAMPLE.relative_to(ROOT)}")
    policies = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    if not any(
        p["spec"].get("podSelector") == {}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        for p in policies
    ):
        problems.append("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
    summary = f"{len(docs)} objects ok: {len(docs) - crds} strictly against Kubernetes {version}, {crds} CRDs"
    return problems, summary


def check_compose(config: Doc) -> tuple[list[str], str]:
    problems = []
    services = config.get("services", {})
    for name, svc in services.items():
        env = svc.get("environment") or {}
        if WRITE_ENV in env and name != "adsim" and not name.startswith("worker"):
            problems.append(f"compose {name}: only the workers and adsim may hold {WRITE_ENV}")
        if "build" in svc and not (svc.get("read_only") and "ALL" in svc.get("cap_drop", [])):
            problems.append(f"compose {name}: spendgate services run read-only with all capabilities dropped")
        if svc.get("ports") and name not in {"gateway", "approvals", "grafana", "prometheus"}:
            problems.append(f"compose {name}: publishes ports nobody needs")
    workers = [n for n in services if n.startswith("worker")]
    if len(workers) < 2:
        problems.append("compose: two workers expected")
    redis_cmd = " ".join(services.get("redis", {}).get("command") or [])
    if "--appendonly yes" not in redis_cmd:
        problems.append("compose redis: append-only file must be on")
    return problems, f"{len(services)} compose services ok ({len(workers)} workers)"


FROM = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE | re.MULTILINE)


def check_dockerfile(path: Path) -> list[str]:
    text = re.sub(r"\\\n", " ", path.read_text())
    stages = FROM.findall(text)
    final = text[[m.start() for m in FROM.finditer(text)][-1] :] if stages else ""
    problems = []
    if len(stages) < 2:
        problems.append(f"{path}: needs a multi-stage build (builder and runtime)")
    for image, _ in stages:
        if image.endswith(":latest") or (
            ":" not in image and "$" not in image and image not in {s for _, s in stages}
        ):
            problems.append(f"{path}: base image {image} must carry a pinned tag")
    users = re.findall(r"^USER\s+(\S+)", final, re.MULTILINE)
    if not users or users[-1].split(":")[0] in {"0", "root"}:
        problems.append(f"{path}: the runtime stage must switch to a non-root USER")
    if not re.search(r"^HEALTHCHECK\s+(?!NONE)", final, re.MULTILINE):
        problems.append(f"{path}: the runtime stage needs a HEALTHCHECK")
    if re.search(r"\b(apt-get|apk)\b.*\b(gcc|build-essential|make|git)\b", final):
        problems.append(f"{path}: build tools in the runtime stage")
    if "uv sync --frozen" not in text:
        problems.append(f"{path}: install from the lockfile (uv sync --frozen)")
    return problems


def rules_spec() -> Doc:
    return {"groups": yaml.safe_load(RULES.read_text())["groups"]}


def rules_copy(write: bool) -> tuple[list[str], str]:
    rel = RULES.relative_to(ROOT)
    if write:
        header = (
            f"# Generated from {rel} by `check_manifests.py rules-copy --write`; do not edit.\n"
            "# Your Prometheus may select rules by a label (kube-prometheus-stack: `release: <name>`):\n"
            "# add it in an overlay.\n"
        )
        body = {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "spendgate"},
            "spec": rules_spec(),
        }
        RULES_COPY.write_text(header + yaml.safe_dump(body, sort_keys=False, width=110))
    copy = yaml.safe_load(RULES_COPY.read_text()) if RULES_COPY.exists() else {}
    if copy.get("spec") != rules_spec():
        return [f"{RULES_COPY.relative_to(ROOT)} differs from {rel}; run rules-copy --write"], ""
    return [], f"{RULES_COPY.relative_to(ROOT)} matches {rel}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    k8s = sub.add_parser("k8s", help="validate a kustomize render read from stdin")
    k8s.add_argument("--kubernetes-version", default="1.32.0")
    sub.add_parser("compose", help="check a `docker compose config` output read from stdin")
    dockerfiles = sub.add_parser("dockerfiles", help="check Dockerfiles")
    dockerfiles.add_argument("files", nargs="+", type=Path)
    copy = sub.add_parser(
        "rules-copy", help="compare (or --write) the k8s PrometheusRule with the rules file"
    )
    copy.add_argument("--write", action="store_true")
    args = parser.parse_args()

    if args.command == "k8s":
        docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
        problems, summary = check_k8s(docs, args.kubernetes_version)
    elif args.command == "compose":
        problems, summary = check_compose(yaml.safe_load(sys.stdin))
    elif args.command == "dockerfiles":
        problems = [p for f in args.files for p in check_dockerfile(f)]
        summary = f"{len(args.files)} Dockerfiles: multi-stage, pinned bases, non-root USER, HEALTHCHECK"
    else:
        problems, summary = rules_copy(args.write)

    if problems:
        sys.stdout.write("\n".join(problems) + "\n")
        return 1
    sys.stdout.write(summary + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
