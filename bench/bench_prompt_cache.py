#!/usr/bin/env python3
"""Prompt cache: time to first token for a shared 1,000-token prefix, cold against warm, modelrt
next to llama-server.

Both servers serve the same random-weight llama (SPM vocabulary, 32K tokens; --embd/--layers
set its size) with the same slots, and get streamed /v1/completions whose prompt is a
1,000-token prefix and a short question. Cold: every prefix starts with a different number, so
nothing can be reused. Warm: every request shares the prefix (a system prompt), only the
question changes; once from one client (each request may land in any slot) and once from
several at a time. Time to first token is measured at the client, to the first content chunk.
The hit rate is reused prompt tokens over prompt tokens in the warm rows: modelrt's usage
prompt_tokens_details.cached_tokens, llama-server's timings.cache_n; modelrt's /metrics
modelrt_prompt_cache_hit_ratio (all rows) is printed too.

    scripts/bench-prompt-cache [--requests 12] [--clients 4] [--prefix-tokens 1000]
"""
import argparse
import concurrent.futures
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_util import free_port, start_server, stop_server, wait_ok  # noqa: E402

WORDS = ("the little girl saw a big red ball in the park and she ran to get it while her dog "
         "barked at the birds that flew over the tall green trees near the blue lake").split()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="folder with modelrt and modelrt-testmodel")
    p.add_argument("--llama-bin", required=True, help="llama.cpp's build/bin (llama-server)")
    p.add_argument("--requests", type=int, default=12, help="requests per row")
    p.add_argument("--clients", type=int, default=4, help="slots, and clients of the loaded row")
    p.add_argument("--prefix-tokens", type=int, default=1000)
    p.add_argument("--embd", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def ttft(port, prompt):
    """Seconds to the first streamed content chunk, and how many prompt tokens were reused
    (llama-server's timings, or the usage chunk's prompt_tokens_details)."""
    body = {"model": "m", "prompt": prompt, "max_tokens": 4, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}}
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/completions",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    first, timings = None, None
    with urllib.request.urlopen(req, timeout=600) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk.get("choices") and chunk["choices"][0].get("text"):
                first = time.perf_counter() - start
            timings = chunk.get("timings", timings)
            usage = chunk.get("usage") or {}
            if "prompt_tokens_details" in usage and timings is None:
                details = usage["prompt_tokens_details"] or {}
                timings = {"cache_n": details.get("cached_tokens", 0),
                           "prompt_n": usage["prompt_tokens"] - details.get("cached_tokens", 0)}
    return (first if first is not None else time.perf_counter() - start), timings


def make_prefix(port, tokens):
    """English-like text of about `tokens` tokens (counted by modelrt's /tokenize)."""
    words, text = [], ""
    while True:
        words.extend(WORDS)
        text = " ".join(words)
        n = len(post(port, "/tokenize", {"model": "m", "content": text})["tokens"])
        if n >= tokens:
            return text


def run_rows(port, prefix, a):
    """p50 TTFT of the cold, warm and warm-under-load rows, and llama-server's cache hit rate."""
    seen = {"cache": 0, "prompt": 0}

    def note(timings):
        if timings and "cache_n" in timings:
            seen["cache"] += timings["cache_n"]
            seen["prompt"] += timings["cache_n"] + timings.get("prompt_n", 0)

    cold = []
    for i in range(a.requests):
        t, timings = ttft(port, f"Story number {1000 + i}. {prefix} Question {i}: what happened?")
        cold.append(t)
    ttft(port, f"{prefix} Question: who was there?")  # the first sight of the shared prefix
    warm = []
    for i in range(a.requests):
        t, timings = ttft(port, f"{prefix} Question {i}: what happened next?")
        warm.append(t)
        note(timings)

    def loaded(i):
        return ttft(port, f"{prefix} Question {100 + i}: where did they go?")
    with concurrent.futures.ThreadPoolExecutor(a.clients) as pool:
        results = list(pool.map(loaded, range(a.requests)))
    for _, timings in results:
        note(timings)
    hit = seen["cache"] / seen["prompt"] if seen["prompt"] else None
    return statistics.median(cold), statistics.median(warm), statistics.median(t for t, _ in results), hit


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
        text = r.read().decode()
    m = re.search(name + r'\{alias="m"\} ([0-9.eE+-]+)', text)
    return float(m.group(1)) if m else None


def main():
    a = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.gguf")
        subprocess.run([f"{a.bin}/modelrt-testmodel", "--kind", "llama", "--out", model,
                        "--ctx", "4096", "--embd", str(a.embd), "--layers", str(a.layers),
                        "--heads", str(max(1, a.embd // 64)), "--ff", str(a.embd * 3)], check=True)
        ctx = a.prefix_tokens + 256
        rows = {}
        port = free_port()
        config = {"server": {"host": "127.0.0.1", "port": port, "max_queue_wait_ms": 0},
                  "providers": [{"id": "local", "type": "llama"}],
                  "models": [{"alias": "m", "task": "generate", "provider": "local", "model": model,
                              "options": {"ctx": ctx, "parallel": a.clients, "threads": a.threads}}]}
        proc = start_server(f"{a.bin}/modelrt", config, f"{tmp}/c.json", f"{tmp}/modelrt.log", port)
        try:
            prefix = make_prefix(port, a.prefix_tokens)
            cold, warm, loaded, hit = run_rows(port, prefix, a)
            rows["modelrt"] = (cold, warm, loaded, hit)
            overall = metric(port, "modelrt_prompt_cache_hit_ratio")
        finally:
            stop_server(proc)
        lport = free_port()
        cmd = [f"{a.llama_bin}/llama-server", "-m", model, "--host", "127.0.0.1", "--port", str(lport),
               "-np", str(a.clients), "-c", str(ctx * a.clients), "-t", str(a.threads)]
        lproc = subprocess.Popen(cmd, stdout=open(f"{tmp}/llama.log", "w"), stderr=subprocess.STDOUT)
        wait_ok(lproc, f"http://127.0.0.1:{lport}/health", f"llama-server (see {tmp}/llama.log)")
        try:
            rows["llama-server"] = run_rows(lport, prefix, a)
        finally:
            lproc.terminate()
            lproc.wait(timeout=30)
    print(f"\nprefix {a.prefix_tokens} tokens, model E{a.embd} L{a.layers} (32K vocab), "
          f"{a.clients} slots, {a.threads} thread(s), {a.requests} requests per row; "
          "time to first token, median\n")
    print("| server | cold | warm, 1 client | warm / cold | warm, "
          f"{a.clients} clients | hit rate (warm rows) |")
    print("|---|---|---|---|---|---|")
    for name, (cold, warm, loaded, hit) in rows.items():
        hit_cell = f"{hit:.2f}" if hit is not None else "not reported"
        print(f"| {name} | {cold * 1000:.1f} ms | {warm * 1000:.1f} ms | {warm / cold:.2f}x | "
              f"{loaded * 1000:.1f} ms | {hit_cell} |")
    print(f"\nmodelrt's /metrics modelrt_prompt_cache_hit_ratio over all rows (cold included): {overall}")


if __name__ == "__main__":
    main()
