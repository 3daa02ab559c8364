#!/usr/bin/env python3
"""Grammar-constrained generation against unconstrained, modelrt next to llama-server.

Both servers serve the same model with the same slots; concurrent clients send chat completions
at temperature 1 with fixed seeds and max_tokens. Each row is one constraint: none, a raw GBNF
grammar, a JSON schema (response_format), and a required tool call (a random llama carrying Qwen
2.5's template, so the call grammar is the template's). Tokens/s counts completion tokens over
wall time; the cost column is constrained tok/s over unconstrained tok/s on the same server and
model (stories260K has a 512-token vocabulary; the tool model llama's SPM one, 32K tokens, which a
grammar checks token by token).

    scripts/bench-grammar [--clients 4] [--requests 32] [--max-tokens 128]
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import free_port, start_server, stop_server, wait_ok  # noqa: E402

SCHEMA = {"type": "object",
          "properties": {"name": {"type": "string", "maxLength": 24},
                         "age": {"type": "integer", "minimum": 0, "maximum": 120},
                         "story": {"type": "string"}},
          "required": ["name", "age", "story"], "additionalProperties": False}
TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                   "required": ["city", "days"]}}}
CASES = [
    ("unconstrained", "chat", {}),
    ("GBNF [a-z .,]+", "chat", {"grammar": "root ::= [a-z .,]+"}),
    ("JSON schema", "chat", {"response_format": {"type": "json_schema",
                                                 "json_schema": {"name": "p", "schema": SCHEMA}}}),
    ("unconstrained", "tools", {}),
    ("tool call (required)", "tools", {"tools": [TOOL], "tool_choice": "required"}),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="folder with modelrt and modelrt-testmodel")
    p.add_argument("--llama-bin", required=True, help="llama.cpp's build/bin (llama-server)")
    p.add_argument("--templates", required=True, help="llama.cpp's models/templates")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--requests", type=int, default=32)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args()


def post(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{e.code} {e.read().decode(errors='replace')[:200]}") from e


def run_case(port, model, extra, a):
    def one(i):
        body = {"model": model, "messages": [{"role": "user", "content": "Tell me a story."}],
                "temperature": 1.0, "seed": i, "max_tokens": a.max_tokens}
        body.update(extra)
        return post(port, body)["usage"]["completion_tokens"]
    try:
        one(10_000)  # warm
    except RuntimeError as e:
        return None, str(e)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(a.clients) as pool:
        tokens = sum(pool.map(one, range(a.requests)))
    return tokens / (time.perf_counter() - start), tokens / a.requests


def llama_server(a, model, port, log, template=None):
    cmd = [f"{a.llama_bin}/llama-server", "-m", model, "--host", "127.0.0.1", "--port", str(port),
           "-np", str(a.clients), "-c", str(1024 * a.clients), "-t", str(a.threads), "--jinja"]
    if template:
        cmd += ["--chat-template-file", template]
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    return wait_ok(proc, f"http://127.0.0.1:{port}/health", f"llama-server (see {log})")


def main():
    a = parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    stories = os.path.join(root, "models", "stories260K.gguf")
    template = os.path.join(a.templates, "Qwen-Qwen2.5-7B-Instruct.jinja")
    with tempfile.TemporaryDirectory() as tmp:
        tools_model = os.path.join(tmp, "tools.gguf")
        subprocess.run([f"{a.bin}/modelrt-testmodel", "--kind", "llama", "--out", tools_model,
                        "--chat-template", template], check=True)
        port = free_port()
        options = {"ctx": 1024, "parallel": a.clients, "threads": a.threads}
        config = {"server": {"host": "127.0.0.1", "port": port, "max_tokens_limit": 4096,
                             "max_queue_wait_ms": 0},
                  "providers": [{"id": "local", "type": "llama"}],
                  "models": [{"alias": "chat", "task": "generate", "provider": "local",
                              "model": stories, "options": options},
                             {"alias": "tools", "task": "generate", "provider": "local",
                              "model": tools_model, "options": options}]}
        results = {}
        proc = start_server(f"{a.bin}/modelrt", config, f"{tmp}/c.json", f"{tmp}/modelrt.log", port)
        try:
            for name, model, extra in CASES:
                results[(name, model, "modelrt")] = run_case(port, model, extra, a)
        finally:
            stop_server(proc)
        for model_name, path, tpl in (("chat", stories, None), ("tools", tools_model, template)):
            lport = free_port()
            lproc = llama_server(a, path, lport, f"{tmp}/llama-{model_name}.log", tpl)
            try:
                for name, model, extra in CASES:
                    if model == model_name:
                        results[(name, model, "llama-server")] = run_case(lport, model, extra, a)
            finally:
                lproc.terminate()
                lproc.wait(timeout=30)
    print(f"\n{a.clients} clients, {a.requests} requests per row, max_tokens {a.max_tokens}, "
          f"{a.threads} thread(s) per engine\n")
    print("| constraint | modelrt tok/s | cost vs unconstrained | llama-server tok/s | cost vs unconstrained | tokens per reply (modelrt / llama-server) |")
    print("|---|---|---|---|---|---|")
    def cells(r, baseline):
        if r[0] is None:
            return f"error: {r[1]}", "-", "-"
        cost = f"{r[0] / baseline[0]:.2f}x" if baseline[0] else "-"
        return f"{r[0]:.0f}", cost, f"{r[1]:.0f}"
    for name, model, _ in CASES:
        row = []
        for server in ("modelrt", "llama-server"):
            row.append(cells(results[(name, model, server)], results[("unconstrained", model, server)]))
        (m, l) = row
        print(f"| {name} ({'stories260K' if model == 'chat' else 'E64 L2, 32K vocab'}) | {m[0]} | "
              f"{m[1]} | {l[0]} | {l[1]} | {m[2]} / {l[2]} |")


if __name__ == "__main__":
    main()
