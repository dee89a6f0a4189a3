#!/usr/bin/env bash
# Writes the local compose stack's secrets once into deploy/compose/local/ (ignored by git):
#   compose.env       project name, adsim read/write tokens, webhook secret, Grafana admin password (--env-file)
#   principals.toml   one human admin and one AI agent, tokens stored as SHA-256 (SPEC §2)
#   ledger_key.pem    the Ed25519 key that signs the ledger
#   tokens.txt        the two principals' bearer tokens, for you (mode 0600)
# Idempotent: an existing directory is kept as it is, so tokens survive `make down && make up`.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/local"

if [ -f "$DIR/compose.env" ] && [ -f "$DIR/principals.toml" ] && [ -f "$DIR/ledger_key.pem" ]; then
    echo "local secrets: $DIR (tokens in tokens.txt)"
    exit 0
fi
command -v openssl >/dev/null || { echo "init.sh: openssl is needed to create the ledger key" >&2; exit 1; }

mkdir -p "$DIR"
chmod 700 "$DIR"
printf '*\n' >"$DIR/.gitignore"

token() { openssl rand -hex 32; }
sha256() { printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; }

human_token="$(token)"
agent_token="$(token)"

umask 077
cat >"$DIR/compose.env" <<EOF
COMPOSE_PROJECT_NAME=spendgate
SPENDGATE_ADSIM_READ_TOKEN=$(token)
SPENDGATE_ADSIM_WRITE_TOKEN=$(token)
SPENDGATE_WEBHOOK_SECRET=whsec_$(openssl rand -base64 32)
GRAFANA_ADMIN_PASSWORD=$(openssl rand -hex 16)
EOF

cat >"$DIR/principals.toml" <<EOF
[[principal]]
name = "admin@localhost"
kind = "human"
token_sha256 = "$(sha256 "$human_token")"
roles = ["admin"]
accounts = ["*"]

[[principal]]
name = "local-agent"
kind = "agent"
token_sha256 = "$(sha256 "$agent_token")"
scopes = ["mcp.read", "mcp.draft"]
accounts = ["*"]
EOF

openssl genpkey -algorithm ed25519 -out "$DIR/ledger_key.pem"

cat >"$DIR/tokens.txt" <<EOF
human admin@localhost (console, REST, CLI):  $human_token
AI agent local-agent (MCP bearer token):     $agent_token
MCP endpoint: http://localhost:8080/mcp    console: http://localhost:8081/console/
EOF

# Compose bind-mounts secret files with their host permissions, and the services run as uid 10001:
# the two files the containers read must be world-readable; the 0700 directory keeps other users out.
chmod 644 "$DIR/principals.toml" "$DIR/ledger_key.pem"

echo "local secrets written to $DIR"
cat "$DIR/tokens.txt"
