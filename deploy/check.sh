#!/usr/bin/env bash
# Offline validation of docker-compose.yml, deploy/ and k8s/ (what `make k8s-check` runs). Prints one line per
# check and exits non-zero if any fails. Tools come from .ci/deploy-tools.sh (run it once on a new machine).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TOOLS="$ROOT/.ci/.tools"
export PATH="$TOOLS/bin:$PATH"
PY="$TOOLS/venv/bin/python"  # PyYAML and kubernetes-validate for deploy/check_manifests.py
K8S_VERSION=1.32.0
SECRETS=(SPENDGATE_ADSIM_READ_TOKEN SPENDGATE_ADSIM_WRITE_TOKEN SPENDGATE_WEBHOOK_SECRET GRAFANA_ADMIN_PASSWORD)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0

# check NAME COMMAND...: runs COMMAND, prints "ok" with its last output line, or "FAIL" with all of it.
check() {
    local name="$1" out
    shift
    if out="$("$@" 2>&1)"; then
        printf 'ok    %-40s %s\n' "$name" "$(printf '%s' "$out" | tail -n 1 | sed 's/^ *//')"
    else
        printf 'FAIL  %s\n' "$name"
        printf '%s\n' "$out" | sed 's/^/      /'
        failed=1
    fi
}

missing=()
for tool in promtool kubectl hadolint; do command -v "$tool" >/dev/null || missing+=("$tool"); done
# Components and the labels/replicas fields need the kustomize v4+ built into kubectl 1.21 and later.
if command -v kubectl >/dev/null && ! kubectl version --client 2>/dev/null | grep -q 'Kustomize Version: v[4-9]'; then
    missing+=("kubectl >= 1.21 (Debian bookworm's kubernetes-client is 1.20; use the upstream kubectl package)")
fi
[ -x "$PY" ] || missing+=("kubernetes-validate venv")
if docker compose version >/dev/null 2>&1; then
    compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
    compose_cmd=(docker-compose)
else
    missing+=("docker compose or docker-compose")
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "FAIL  tools missing: ${missing[*]} (run: bash .ci/deploy-tools.sh)"
    exit 1
fi

# --- docker compose, in a scratch copy: a dummy env and empty files stand in for what init.sh writes. -----
mkdir -p "$tmp/compose/deploy/compose/local"
cp docker-compose.yml "$tmp/compose/"
cp deploy/compose/slack.yml "$tmp/compose/deploy/compose/"
touch "$tmp/compose/deploy/compose/local/principals.toml" "$tmp/compose/deploy/compose/local/ledger_key.pem"
{
    for var in "${SECRETS[@]}"; do echo "$var=dummy"; done
    echo "SPENDGATE_SLACK_SIGNING_SECRET=dummy"
    echo "SPENDGATE_SLACK_BOT_TOKEN=dummy"
    echo "SPENDGATE_SLACK_CHANNEL=C0DUMMY"
} >"$tmp/compose.env"
compose() { (cd "$tmp/compose" && env "${SECRETS[@]/#/-u}" "${compose_cmd[@]}" "$@"); }
compose_valid() { compose --env-file "$tmp/compose.env" "$@" config -q && echo "valid (${compose_cmd[*]})"; }
compose_policy() { compose --env-file "$tmp/compose.env" config | "$PY" deploy/check_manifests.py compose; }
compose_refuses_without_secrets() {
    local out
    if out="$(compose config -q 2>&1)"; then
        echo "compose accepted a run without its secrets"
        return 1
    fi
    grep -o 'run deploy/compose/init.sh or set [A-Z_]*' <<<"$out" | head -n 1
}
check "compose config" compose_valid
check "compose config + Slack" compose_valid -f docker-compose.yml -f deploy/compose/slack.yml
check "compose policy" compose_policy
check "compose refuses missing secrets" compose_refuses_without_secrets

# --- Kubernetes: every overlay, and the overlays with the optional components. ---------------------------
render_and_validate() {  # render_and_validate DIR
    local rendered
    rendered="$(kubectl kustomize "$1")" || return 1
    "$PY" deploy/check_manifests.py k8s --kubernetes-version "$K8S_VERSION" <<<"$rendered"
}
combo() {  # combo NAME OVERLAY COMPONENT...: a throwaway kustomization with those components
    local dir="$tmp/combo-$1" overlay="$2" rel c
    shift 2
    mkdir -p "$dir"
    rel="$(realpath --relative-to="$dir" "$ROOT/k8s")"
    {
        echo "resources: [$rel/overlays/$overlay]"
        echo "components:"
        for c in "$@"; do echo "  - $rel/components/$c"; done
    } >"$dir/kustomization.yaml"
    echo "$dir"
}
for overlay in k8s/overlays/*/; do
    check "kustomize ${overlay%/}" render_and_validate "$overlay"
done
check "kustomize dev + keda" render_and_validate "$(combo dev-keda dev keda-worker-scaling)"
check "kustomize prod + keda" render_and_validate "$(combo prod-keda prod keda-worker-scaling)"
check "kustomize prod + external-redis" render_and_validate "$(combo prod-ext prod external-redis)"
check "kustomize prod + keda + external-redis" \
    render_and_validate "$(combo prod-keda-ext prod keda-worker-scaling external-redis)"
validate_secrets_example() {
    kubernetes-validate --strict --quiet -k "$K8S_VERSION" k8s/base/secrets.example.yaml && echo "valid, not built"
}
check "k8s secrets.example.yaml" validate_secrets_example
check "k8s PrometheusRule = rules file" "$PY" deploy/check_manifests.py rules-copy

# --- Prometheus and Grafana. -------------------------------------------------------------------------------
check "promtool check config" promtool check config deploy/prometheus/prometheus.yml
check "promtool check rules" promtool check rules deploy/prometheus/rules/*.yml
check "promtool test rules" promtool test rules deploy/prometheus/tests/*.yml
check "dashboard + rules metric names" python3 deploy/check_dashboard.py --emit-rules "$tmp/dashboard-queries.yml"
check "dashboard queries parse" promtool check rules "$tmp/dashboard-queries.yml"

# --- Dockerfiles. -----------------------------------------------------------------------------------------
lint_dockerfiles() { hadolint deploy/docker/*.Dockerfile && echo "no findings ($(hadolint --version))"; }
check "hadolint" lint_dockerfiles
check "Dockerfile essentials" "$PY" deploy/check_manifests.py dockerfiles deploy/docker/*.Dockerfile

exit "$failed"
