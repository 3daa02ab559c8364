#!/usr/bin/env python3
"""Remote providers (issue 11): `modelrt serve` in front of llama-server against llama-server
directly, and many slow upstream streams held at once. A measurement, not a timed test.

Run through scripts/bench-remote (which builds modelrt and finds llama.cpp's tools):

    scripts/bench-remote                      # 1 and 32 clients, 1,000 slow streams
    scripts/bench-remote --duration 20 --streams 2000

1. overhead: the same one-text /v1/embeddings and 4-token /v1/completions, sent by wrk with 1 and
   32 connections to llama-server directly and to modelrt whose alias points at that llama-server
   (provider type openai). Slices alternate between the two (A B, B A, ...). Prints requests/s,
   p50/p99, the latency modelrt adds (its p50/p99 minus llama-server's) and the throughput ratio.
2. slow streams: an upstream written here (asyncio) that streams an OpenAI SSE chunk every
   --chunk-ms for --stream-s; N clients stream chat completions through modelrt at once. Prints
   modelrt's threads and RSS before, at the peak and after (/proc/PID/status), and how each
   stream ended.
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_server import LUA, Server, cpu_seconds, merge  # noqa: E402
from bench_streams import stream  # noqa: E402
from serve_util import free_port, proc_status, raise_open_files  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="modelrt's build/bin")
    p.add_argument("--llama-bin", required=True, help="llama.cpp's build/bin (llama-server)")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per point and server")
    p.add_argument("--rounds", type=int, default=4, help="slices per point")
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--chunk-ms", type=int, default=500)
    p.add_argument("--stream-s", type=float, default=10.0)
    p.add_argument("--http-threads", type=int, default=2)
    p.add_argument("--only", default="overhead,streams")
    p.add_argument("--logs", help="keep server logs and configs here")
    a = p.parse_args()
    a.only = set(a.only.split(","))
    return a


def wrk(server, path, body, count, connections, seconds):
    env = dict(os.environ, WRK_BODY=json.dumps(body), WRK_COUNT=count)
    threads = min(connections, 2)
    cpu0 = cpu_seconds(server.proc.pid)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                          "--timeout", "60s", "-s", LUA, f"http://127.0.0.1:{server.port}{path}"],
                         env=env, capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("WRK_RESULT "))
    r = json.loads(line[len("WRK_RESULT "):])
    r["connections"] = connections
    r["cpu_s"] = cpu_seconds(server.proc.pid) - cpu0
    return r


def modelrt_server(a, work, tag, providers, models, extra_server=None):
    s = Server("modelrt", [], "/ready", f"{work}/modelrt-{tag}.log", 0)
    s.port = free_port()
    server = {"host": "127.0.0.1", "port": s.port, "threads": a.http_threads,
              "data_dir": f"{work}/data-{tag}"}
    server.update(extra_server or {})
    config = {"server": server, "providers": providers, "models": models}
    path = f"{work}/modelrt-{tag}.json"
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    s.cmd = [f"{a.bin}/modelrt", "serve", "-c", path]
    return s


def overhead(a, work):
    bert = f"{work}/bert-e128.gguf"
    subprocess.run([f"{a.bin}/modelrt-testmodel", "--kind", "embed", "--out", bert, "--embd", "128",
                    "--layers", "2", "--heads", "2", "--ff", "512", "--ctx", "512", "--seed", "1"],
                   check=True, capture_output=True)
    stories = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "models", "stories260K.gguf")
    rows = []
    for kind, model, extra, path, body, count in [
        ("embeddings", bert, ["--embeddings", "-np", "32", "-c", "16384", "-b", "2048",
                              "-ub", "2048"],
         "/v1/embeddings", {"model": "up", "input": "hello world"}, "prompt_tokens"),
        ("completions", stories, ["-np", "32", "-c", "8192"],
         "/v1/completions", {"model": "up", "prompt": "Once", "max_tokens": 4,
                             "temperature": 0}, "completion_tokens"),
    ]:
        up = Server("llama-server", [], "/health", f"{work}/llama-server-{kind}.log", 0)
        up.port = free_port()
        up.cmd = [f"{a.llama_bin}/llama-server", "-m", model, "--host", "127.0.0.1", "--port",
                  str(up.port), "-t", "1", "--no-webui"] + extra
        up.start()
        up.wait_ready()
        task = "embed" if kind == "embeddings" else "generate"
        ours = modelrt_server(
            a, work, kind,
            [{"id": "ls", "type": "openai", "base_url": f"http://127.0.0.1:{up.port}/v1"}],
            [{"alias": "up", "task": task, "provider": "ls", "model": "up", "warmup": "eager",
              "required": True}],
            {"queue_capacity": 4096})
        ours.start()
        ours.wait_ready()
        try:
            for clients in (1, 32):
                slices = {"llama-server": [], "modelrt": []}
                seconds = max(1, round(a.duration / a.rounds))
                for k in range(a.rounds):
                    order = [up, ours] if k % 2 == 0 else [ours, up]
                    for s in order:
                        slices[s.name].append(wrk(s, path, body, count, clients, seconds))
                rows.append((kind, clients, merge(slices["llama-server"]),
                             merge(slices["modelrt"])))
                d, m = rows[-1][2], rows[-1][3]
                print(f"  {kind} x{clients}: llama-server {d['rps']:.0f} req/s p50 "
                      f"{d['p50_us']:.0f} µs; modelrt {m['rps']:.0f} req/s p50 {m['p50_us']:.0f} µs",
                      flush=True)
        finally:
            ours.stop()
            up.stop()
    print("\n| route | clients | llama-server req/s | p50 / p99 µs | modelrt → llama-server req/s "
          "| p50 / p99 µs | added p50 / p99 µs | throughput ratio | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, clients, d, m in rows:
        bad = d["bad"] + d["errors"] + m["bad"] + m["errors"]
        print(f"| {kind} | {clients} | {d['rps']:.0f} | {d['p50_us']:.0f} / {d['p99_us']:.0f} | "
              f"{m['rps']:.0f} | {m['p50_us']:.0f} / {m['p99_us']:.0f} | "
              f"{m['p50_us'] - d['p50_us']:.0f} / {m['p99_us'] - d['p99_us']:.0f} | "
              f"{m['rps'] / d['rps'] if d['rps'] else 0:.2f} | {bad} |")


# ---- slow streams ------------------------------------------------------------------------

async def slow_upstream(port, chunk_s, chunks):
    """An OpenAI-compatible upstream that streams one chunk every `chunk_s` seconds."""
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                if b"/models" in head.split(b"\r\n", 1)[0]:
                    payload = b'{"object":"list","data":[]}'
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" +
                                 payload)
                    await writer.drain()
                    continue
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                for i in range(chunks):
                    event = ('data: {"choices":[{"index":0,"delta":{"content":"w%d "}}]}\n\n'
                             % i).encode()
                    writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                    await writer.drain()
                    await asyncio.sleep(chunk_s)
                tail = (b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
                        b'"usage":{"prompt_tokens":1,"completion_tokens":%d}}\n\ndata: [DONE]\n\n'
                        % chunks)
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(tail), tail))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client went, or the benchmark is closing the server's idle connections
        finally:
            writer.close()
    return await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)


def streams(a, work):
    raise_open_files(a.streams * 2)
    up_port = free_port()
    chunks = max(1, int(a.stream_s * 1000 / a.chunk_ms))

    async def run():
        upstream = await slow_upstream(up_port, a.chunk_ms / 1000.0, chunks)
        ours = modelrt_server(
            a, work, "streams",
            [{"id": "slow", "type": "openai", "base_url": f"http://127.0.0.1:{up_port}/v1",
              "options": {"timeout_s": a.stream_s * 6}}],
            [{"alias": "chat", "task": "generate", "provider": "slow", "model": "slow",
              "warmup": "eager", "required": True}],
            {"queue_capacity": a.streams + 64, "queue_max_tokens": 1 << 30,
             "max_queue_wait_ms": 0})
        ours.start()
        await asyncio.to_thread(ours.wait_ready)
        before = proc_status(ours.proc.pid)
        peak = {"threads": 0, "rss": 0.0}
        done = False

        async def sampler():
            while not done:
                t, rss = proc_status(ours.proc.pid)
                peak["threads"] = max(peak["threads"], t)
                peak["rss"] = max(peak["rss"], rss)
                await asyncio.sleep(0.2)

        body = json.dumps({"model": "chat", "stream": True, "max_tokens": 64,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        s = asyncio.create_task(sampler())
        t0 = time.monotonic()
        results = await asyncio.gather(*[stream(ours.port, body, "/v1/chat/completions")
                                         for _ in range(a.streams)])
        wall = time.monotonic() - t0
        done = True
        await s
        after = proc_status(ours.proc.pid)
        ours.stop()
        upstream.close()
        return before, peak, after, results, wall

    before, peak, after, results, wall = asyncio.run(run())
    counts = {}
    for r in results:
        counts[r] = counts.get(r, 0) + 1
    print(f"\n{a.streams} streams at once through modelrt to an upstream sending a chunk every "
          f"{a.chunk_ms} ms for {a.stream_s:.0f} s ({wall:.1f} s wall), {a.http_threads} HTTP "
          f"threads\n")
    print("| | threads | RSS MB |")
    print("|---|---|---|")
    print(f"| before | {before[0]} | {before[1]:.0f} |")
    print(f"| peak | {peak['threads']} | {peak['rss']:.0f} |")
    print(f"| after | {after[0]} | {after[1]:.0f} |")
    print(f"\nhow the streams ended: {json.dumps(counts)}")


def main():
    a = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    with tempfile.TemporaryDirectory(prefix="modelrt-bench-remote-") as tmp:
        work = a.logs or tmp
        os.makedirs(work, exist_ok=True)
        print(f"modelrt remote providers on {os.cpu_count()} CPUs (load average "
              f"{os.getloadavg()[0]:.1f} at start)")
        if "overhead" in a.only:
            overhead(a, work)
        if "streams" in a.only:
            streams(a, work)


if __name__ == "__main__":
    main()
