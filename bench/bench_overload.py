#!/usr/bin/env python3
"""Overload burst against `modelrt serve` (issue 16): not a timed test, a measurement.

Run through scripts/bench-overload (which builds modelrt and generates the models):

    scripts/bench-overload                      # 2,400 requests at once, 30 s deadline each
    scripts/bench-overload --requests 600 --deadline 20
    scripts/bench-overload --bin /tmp/old/bin   # the same burst on another build
    scripts/bench-overload --prewarm 3          # queues have measured their rates first

One server serves a generated BERT embedder, a generated BERT reranker and stories260K. The
burst sends every request at once on its own connection: a third are embeddings of 64 long
inputs, the rest alternate chat completions and reranks. Each request has a deadline (the
client gives up then); every request must be answered within it, served (200) or refused
(429/503 with Retry-After). Prints, per kind and overall: status counts, requests past their
deadline, p50/p99 latency of served requests, the slowest refusal, and the server's threads and
RSS before, at the peak of, right after and some seconds after the burst (idle threads exit).
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from serve_util import free_port, proc_status, raise_open_files, start_server, stop_server

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
LONG_TEXT = ("the quick brown fox jumps over the lazy dog while the cat sat on a mat and "
             "watched the birds fly over the old stone bridge near the river ") * 3


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="modelrt's build/bin (modelrt, modelrt-testmodel)")
    p.add_argument("--requests", type=int, default=2400)
    p.add_argument("--inputs", type=int, default=64, help="inputs per embeddings request")
    p.add_argument("--deadline", type=float, default=30.0, help="seconds each request may take")
    p.add_argument("--threads", type=int, default=2, help="compute threads per model")
    p.add_argument("--http-threads", type=int, default=2)
    p.add_argument("--settle", type=float, default=40.0,
                   help="seconds after the burst before the last thread/RSS sample")
    p.add_argument("--server-option", action="append", default=[],
                   help="extra server settings, key=value (e.g. max_queue_wait_ms=5000)")
    p.add_argument("--prewarm", type=int, default=0,
                   help="requests of each kind sent one by one before the burst, so each "
                        "model's queue has measured its rate (0: the burst hits a fresh server)")
    p.add_argument("--logs", help="keep the server log and config here")
    return p.parse_args()


def bodies(n_inputs):
    embed = {"model": "embed", "input": [f"{i} {LONG_TEXT}" for i in range(n_inputs)]}
    chat = {"model": "chat", "messages": [{"role": "user", "content": "Tell me a story."}],
            "max_tokens": 16, "temperature": 0}
    rerank = {"model": "rerank", "query": "where did the fox jump",
              "documents": [f"document {i}: {LONG_TEXT[: 120]}" for i in range(8)]}
    return {"embed": ("/v1/embeddings", json.dumps(embed).encode()),
            "chat": ("/v1/chat/completions", json.dumps(chat).encode()),
            "rerank": ("/v1/rerank", json.dumps(rerank).encode())}


async def one(port, kind, path, body, deadline):
    start = time.monotonic()
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
    status, retry_after = 0, None
    try:
        async def exchange():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            data = await reader.read()
            writer.close()
            return data
        data = await asyncio.wait_for(exchange(), timeout=deadline)
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        for line in head[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "retry-after":
                retry_after = int(v.strip())
    except asyncio.TimeoutError:
        status = -1  # past the deadline: the client gave up
    except (OSError, IndexError, ValueError):
        status = -2  # connection failed or reply unreadable
    return {"kind": kind, "status": status, "seconds": time.monotonic() - start,
            "retry_after": retry_after}


async def burst(port, n, n_inputs, deadline):
    b = bodies(n_inputs)
    kinds = []
    for i in range(n):
        kinds.append("embed" if i % 3 == 0 else ("chat" if i % 3 == 1 else "rerank"))
    tasks = [one(port, k, b[k][0], b[k][1], deadline) for k in kinds]
    return await asyncio.gather(*tasks)


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def summarize(results, deadline):
    rows = []
    for kind in ("embed", "chat", "rerank", "all"):
        rs = [r for r in results if kind == "all" or r["kind"] == kind]
        served = [r["seconds"] for r in rs if r["status"] == 200]
        refused = [r for r in rs if r["status"] in (429, 503)]
        counts = {}
        for r in rs:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        late = sum(1 for r in rs if r["status"] == -1 or r["seconds"] > deadline)
        no_retry = sum(1 for r in refused if not r["retry_after"])
        rows.append((kind, len(rs), counts, late, len(served), pct(served, 0.5), pct(served, 0.99),
                     max(served) if served else float("nan"),
                     max((r["seconds"] for r in refused), default=float("nan")), no_retry,
                     sorted({r["retry_after"] for r in refused if r["retry_after"]})))
    print(f"\n| kind | requests | statuses | past deadline | served | p50 s | p99 s | max s | "
          f"slowest refusal s | refusals w/o Retry-After | Retry-After values |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind, n, counts, late, n_served, p50, p99, mx, slow_ref, no_retry, ras in rows:
        st = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        ra = ",".join(map(str, ras[:8])) + ("…" if len(ras) > 8 else "")
        print(f"| {kind} | {n} | {st} | {late} | {n_served} | {p50:.2f} | {p99:.2f} | {mx:.2f} | "
              f"{slow_ref:.2f} | {no_retry} | {ra} |")


def metric(port, name):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, _, value = line.rpartition(" ")
            out[labels[len(name):]] = float(value)
    return out


def main():
    a = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    raise_open_files(a.requests)
    with tempfile.TemporaryDirectory(prefix="modelrt-bench-overload-") as work:
        logs = a.logs or work
        os.makedirs(logs, exist_ok=True)
        testmodel = f"{a.bin}/modelrt-testmodel"
        if not os.path.exists(testmodel):  # an older build may lack it: use this build's
            testmodel = os.environ.get("MODELRT_TESTMODEL", testmodel)
        embed, rerank = f"{work}/bert-embed.gguf", f"{work}/bert-rerank.gguf"
        for kind, out in (("embed", embed), ("rerank", rerank)):
            subprocess.run([testmodel, "--kind", kind, "--out", out, "--embd", "384", "--layers",
                            "4", "--heads", "6", "--ff", "1536", "--ctx", "512", "--seed", "1"],
                           check=True, capture_output=True)
        port = free_port()
        server = {"host": "127.0.0.1", "port": port, "threads": a.http_threads}
        for kv in a.server_option:
            k, _, v = kv.partition("=")
            server[k] = int(v)
        opts = {"ctx": 512, "parallel": 4, "threads": a.threads}
        config = {
            "server": server,
            "providers": [{"id": "local", "type": "llama", "options": {"threads": a.threads}}],
            "models": [
                {"alias": "embed", "task": "embed", "provider": "local", "model": embed,
                 "warmup": "eager", "required": True, "options": dict(opts, batch=2048)},
                {"alias": "rerank", "task": "rerank", "provider": "local", "model": rerank,
                 "warmup": "eager", "required": True, "options": dict(opts, batch=2048)},
                {"alias": "chat", "task": "generate", "provider": "local",
                 "model": f"{SOURCE}/models/stories260K.gguf", "warmup": "eager",
                 "required": True, "options": dict(opts, ctx=256)},
            ],
        }
        proc = start_server(f"{a.bin}/modelrt", config, f"{logs}/bench-overload.json",
                            f"{logs}/modelrt-overload.log", port)
        try:
            if a.prewarm:
                async def prewarm():
                    b = bodies(a.inputs)
                    for _ in range(a.prewarm):
                        for kind in ("embed", "chat", "rerank"):
                            await one(port, kind, b[kind][0], b[kind][1], 120)
                asyncio.run(prewarm())
            before = proc_status(proc.pid)
            peak = list(before)
            waits = {}
            stop = False

            async def sampler():
                while not stop:
                    t, rss = proc_status(proc.pid)
                    peak[0], peak[1] = max(peak[0], t), max(peak[1], rss)
                    for k, v in (await asyncio.to_thread(
                            metric, port, "modelrt_queue_estimated_wait_seconds")).items():
                        waits[k] = max(waits.get(k, 0.0), v)
                    await asyncio.sleep(0.5)

            async def run():
                nonlocal stop
                s = asyncio.create_task(sampler())
                t0 = time.monotonic()
                results = await burst(port, a.requests, a.inputs, a.deadline)
                wall = time.monotonic() - t0
                stop = True
                await s
                return results, wall

            results, wall = asyncio.run(run())
            after = proc_status(proc.pid)
            time.sleep(a.settle)
            settled = proc_status(proc.pid)
            print(f"burst of {a.requests} requests ({a.inputs} inputs per embeddings request), "
                  f"deadline {a.deadline:.0f} s each, {a.prewarm} prewarm request(s) per "
                  f"kind, on {os.cpu_count()} CPUs "
                  f"(load average {os.getloadavg()[0]:.1f}); {wall:.1f} s wall; server settings "
                  f"{json.dumps({k: v for k, v in server.items() if k not in ('host', 'port')})}")
            summarize(results, a.deadline)
            print(f"\nserver threads / RSS MB: before {before[0]} / {before[1]:.0f}, peak "
                  f"{peak[0]} / {peak[1]:.0f}, right after {after[0]} / {after[1]:.0f}, "
                  f"{a.settle:.0f} s later {settled[0]} / {settled[1]:.0f}")
            if waits:
                print("peak modelrt_queue_estimated_wait_seconds: " +
                      ", ".join(f"{k} {v:.1f}" for k, v in sorted(waits.items())))
        finally:
            stop_server(proc)


if __name__ == "__main__":
    main()
