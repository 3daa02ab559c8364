#!/usr/bin/env bash
# End-to-end tests: the real `modelrt serve` driven by the official OpenAI npm client.
#
#   tests/e2e/run.sh build/bin/modelrt        # ctest runs exactly this
#
# Starts the server on a free loopback port (--port 0; the address is read from its log) with a
# test config and a temporary data directory, waits for /health, runs `node --test`, stops the
# server with SIGTERM (it must drain and exit 0) and exits non-zero if anything failed.
set -euo pipefail
bin=$(cd "$(dirname "${1:?usage: run.sh path/to/modelrt}")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/modelrt-e2e-XXXXXX")
server_pid=""
log() { echo "[e2e] $*" >&2; }
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -d "$here/node_modules/openai" ] || [ ! -d "$here/node_modules/@anthropic-ai/sdk" ] ||
   [ ! -d "$here/node_modules/ollama" ]; then
  log "installing the pinned npm packages"
  (cd "$here" && npm ci --silent --no-audit --no-fund)
fi

# Models: stories260K from the repository, generated BERT embedder and reranker.
"$(dirname "$bin")/modelrt-testmodel" --kind embed --out "$tmp/embed.gguf"
"$(dirname "$bin")/modelrt-testmodel" --kind rerank --out "$tmp/rerank.gguf"
# A random llama carrying a real chat template with tool support (the pin's models/templates).
templates=$(sed -n 's|^LLAMA_VOCAB_DIR:INTERNAL=||p' "$(dirname "$bin")/../CMakeCache.txt")/templates
"$(dirname "$bin")/modelrt-testmodel" --kind llama --ctx 4096 --out "$tmp/tools.gguf" \
  --chat-template "$templates/Qwen-Qwen2.5-7B-Instruct.jinja"
cat >"$tmp/config.json" <<JSON
{
  "server": { "host": "127.0.0.1", "port": 0, "api_keys_env": "MODELRT_E2E_KEYS",
              "max_tokens_limit": 256, "drain_grace_s": 10 },
  "providers": [ { "id": "local", "type": "llama", "options": { "threads": 1 } } ],
  "models": [
    { "alias": "embed", "task": "embed", "provider": "local", "model": "$tmp/embed.gguf",
      "options": { "ctx": 256, "parallel": 4 } },
    { "alias": "rerank", "task": "rerank", "provider": "local", "model": "$tmp/rerank.gguf",
      "options": { "ctx": 256, "parallel": 4 } },
    { "alias": "chat", "task": "generate", "provider": "local",
      "model": "$root/models/stories260K.gguf", "options": { "ctx": 256, "parallel": 4 } },
    { "alias": "tools", "task": "generate", "provider": "local", "model": "$tmp/tools.gguf",
      "options": { "ctx": 2048, "parallel": 2 } }
  ],
  "profiles": [
    { "name": "storyteller", "model": "chat", "system": "You tell short stories.",
      "params": { "temperature": 0, "max_tokens": 8 } }
  ]
}
JSON

export MODELRT_E2E_KEYS="e2e-key-$RANDOM$RANDOM"
MODELRT_DATA_DIR="$tmp/data" "$bin" --log-level info serve --config "$tmp/config.json" \
  --port 0 2>"$tmp/server.log" &
server_pid=$!

port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$tmp/server.log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$port" ]; then
  log "the server did not start:"; cat "$tmp/server.log" >&2; exit 1
fi
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
MODELRT_E2E_BASE_URL="http://127.0.0.1:$port/v1" MODELRT_E2E_API_KEY="$MODELRT_E2E_KEYS" \
  node --test "$here"/*.test.mjs || status=$?

kill -TERM "$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=""
if [ "$server_status" -ne 0 ]; then
  log "the server exited with $server_status after SIGTERM"; status=1
fi
if [ "$status" -ne 0 ]; then
  log "server log:"; tail -n 60 "$tmp/server.log" >&2
fi
exit "$status"
