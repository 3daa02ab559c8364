#!/usr/bin/env python3
"""Batches against online traffic on one `modelrt serve` (issue 13): a measurement, not a test.

Run through scripts/bench-batch (which builds modelrt and generates the embedding model):

    scripts/bench-batch                        # 10,000 inputs, 32 online clients
    scripts/bench-batch --inputs 2000 --clients 16

One server serves a generated BERT embedder (4 parallel sequences). Prints two tables:
  1. throughput: the same N single-input embedding requests sent online by C concurrent
     clients (keep-alive connections), and run as one /v1/batches job (upload, create, poll
     until completed); inputs per second and the batch's ratio to online (goal >= 1.0).
  2. interactive latency: I clients sending one embedding request at a time for S seconds,
     alone and while a batch of N inputs runs on the same model; p50/p99 and the ratio of the
     p99s (goal <= 2).
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from serve_util import free_port, start_server, stop_server

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT = "the quick brown fox jumps over the lazy dog near the old stone bridge by the river"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="folder with modelrt and modelrt-testmodel")
    p.add_argument("--inputs", type=int, default=10000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--interactive-clients", type=int, default=4)
    p.add_argument("--seconds", type=float, default=10.0, help="interactive measurement length")
    p.add_argument("--threads", type=int, default=0, help="llama threads (0 = its default)")
    return p.parse_args()


class Connection:
    """One keep-alive HTTP/1.1 connection (what an SDK's pool gives a client)."""

    def __init__(self, port):
        self.port = port
        self.reader = self.writer = None

    async def post(self, path, body):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write((f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                           f"application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v)
        await self.reader.readexactly(length)
        return status


def body(i):
    return json.dumps({"model": "embed", "input": f"{i} {TEXT}"}).encode()


async def online(port, n, clients):
    counter = iter(range(n))
    failures = 0

    async def client():
        nonlocal failures
        c = Connection(port)
        for i in counter:
            if await c.post("/v1/embeddings", body(i)) != 200:
                failures += 1

    start = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.monotonic() - start, failures


def call(port, method, path, data=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers=headers or {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.loads(r.read())


def submit_batch(port, n):
    lines = "".join(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/embeddings",
                                "body": {"model": "embed", "input": f"{i} {TEXT}"}}) + "\n"
                    for i in range(n)).encode()
    boundary = "benchbatchboundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jsonl\"\r\n"
            f"\r\n").encode() + lines + f"\r\n--{boundary}--\r\n".encode()
    f = call(port, "POST", "/v1/files", form,
             {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    start = time.monotonic()
    b = call(port, "POST", "/v1/batches", json.dumps(
        {"input_file_id": f["id"], "endpoint": "/v1/embeddings", "completion_window": "24h"}).encode())
    return b["id"], start


def wait_batch(port, batch_id):
    while True:
        b = call(port, "GET", f"/v1/batches/{batch_id}")
        if b["status"] in ("completed", "failed", "cancelled"):
            return b
        time.sleep(0.05)


async def interactive(port, clients, seconds):
    latencies = []
    deadline = time.monotonic() + seconds

    async def client(k):
        c = Connection(port)
        i = 0
        while time.monotonic() < deadline:
            t = time.monotonic()
            await c.post("/v1/embeddings", body(100000 + k * 100000 + i))
            latencies.append(time.monotonic() - t)
            i += 1

    await asyncio.gather(*(client(k) for k in range(clients)))
    return latencies


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def main():
    args = parse_args()
    modelrt = os.path.join(args.bin, "modelrt")
    tmp = tempfile.mkdtemp(prefix="modelrt-bench-batch-")
    model = os.path.join(tmp, "embed.gguf")
    subprocess.run([os.path.join(args.bin, "modelrt-testmodel"), "--kind", "embed", "--out", model],
                   check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    options = {"ctx": 512, "parallel": 4}
    if args.threads:
        options["threads"] = args.threads
    config = {
        "server": {"host": "127.0.0.1", "port": port, "data_dir": os.path.join(tmp, "data"),
                   "queue_capacity": 1024, "max_queue_wait_ms": 600000},
        "jobs": {"batch_max_lines": max(50000, args.inputs)},
        "providers": [{"id": "local", "type": "llama"}],
        "models": [{"alias": "embed", "task": "embed", "provider": "local", "model": model,
                    "options": options}],
    }
    proc = start_server(modelrt, config, os.path.join(tmp, "c.json"), os.path.join(tmp, "log"), port)
    try:
        asyncio.run(online(port, 200, args.clients))  # warm up: model loaded, rates measured
        online_s, failures = asyncio.run(online(port, args.inputs, args.clients))
        batch_id, start = submit_batch(port, args.inputs)
        b = wait_batch(port, batch_id)
        batch_s = time.monotonic() - start
        print(f"\n| {args.inputs} embedding inputs | seconds | inputs/s | vs online |")
        print("|---|---|---|---|")
        print(f"| online, {args.clients} clients | {online_s:.2f} | {args.inputs / online_s:.0f} | 1.00 |")
        print(f"| /v1/batches ({b['status']}, {b['request_counts']['completed']} ok) | {batch_s:.2f} | "
              f"{args.inputs / batch_s:.0f} | {online_s / batch_s:.2f} |")
        if failures:
            print(f"(online: {failures} non-200 answers)")

        alone = asyncio.run(interactive(port, args.interactive_clients, args.seconds))
        batch_id, _ = submit_batch(port, args.inputs)
        time.sleep(0.5)  # the batch is under way
        before = call(port, "GET", f"/v1/batches/{batch_id}")["request_counts"]["completed"]
        during = asyncio.run(interactive(port, args.interactive_clients, args.seconds))
        b = call(port, "GET", f"/v1/batches/{batch_id}")
        done_during = b["request_counts"]["completed"] - before
        still = b["status"] == "in_progress"
        wait_batch(port, batch_id)
        print(f"\n| interactive ({args.interactive_clients} clients, {args.seconds:.0f} s) | requests | "
              f"p50 ms | p99 ms | p99 vs alone |")
        print("|---|---|---|---|---|")
        print(f"| alone | {len(alone)} | {pct(alone, .5) * 1000:.1f} | {pct(alone, .99) * 1000:.1f} | 1.00 |")
        print(f"| while a batch runs ({done_during} batch inputs done meanwhile; "
              f"{'still running' if still else 'it ENDED first: window diluted'}) | {len(during)} | "
              f"{pct(during, .5) * 1000:.1f} | {pct(during, .99) * 1000:.1f} | "
              f"{pct(during, .99) / pct(alone, .99):.2f} |")
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
