#!/usr/bin/env python3
"""Open streams against `modelrt serve` (issue 10): how many threads the server holds while
N streaming chat completions are open at once. A measurement, not a timed test.

Run through scripts/bench-streams (which builds modelrt):

    scripts/bench-streams                  # 2,000 streams
    scripts/bench-streams --streams 500 --bin /tmp/old/bin

One server serves stories260K with 16 slots; every client opens its own connection, sends a
streaming completion of --max-tokens tokens and reads what arrives. While the streams are open
the driver samples the server's /proc/PID/status (Threads, VmRSS) and its in-flight gauge, and
prints the peak thread count with the number of requests open at that moment, then waits for
every stream to end and counts how each ended.
"""
import argparse
import asyncio
import json
import os
import tempfile
import time
import urllib.request

from serve_util import free_port, proc_status, raise_open_files, start_server, stop_server

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="modelrt's build/bin")
    p.add_argument("--streams", type=int, default=2000)
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--parallel", type=int, default=16, help="generation slots")
    p.add_argument("--threads", type=int, default=2, help="compute threads")
    p.add_argument("--http-threads", type=int, default=2)
    p.add_argument("--logs", help="keep the server log and config here")
    return p.parse_args()


def in_flight(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("modelrt_http_requests_in_flight"):
                    return int(float(line.split()[-1]))
    except OSError:
        pass
    return -1


async def stream(port, body, path="/v1/completions"):
    """One streaming request on its own connection; how it ended ("200", "error ...")."""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               f"Connection: close\r\n\r\n").encode() + body
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await writer.drain()
        data = await reader.read()
        writer.close()
        head = data.split(b"\r\n", 1)[0].decode("latin-1")
        status = int(head.split()[1])
        if status == 200 and b"data: [DONE]" not in data:
            return "200 without [DONE]"
        return str(status)
    except (OSError, IndexError, ValueError) as e:
        return f"error {type(e).__name__}"


def main():
    a = parse_args()
    logs = a.logs or tempfile.mkdtemp(prefix="modelrt-bench-streams-")
    os.makedirs(logs, exist_ok=True)
    port = free_port()
    # Every stream is admitted and waits its turn: no queue limit may refuse it here.
    server = {"host": "127.0.0.1", "port": port, "threads": a.http_threads,
              "queue_capacity": a.streams + 64, "queue_max_tokens": 1 << 30,
              "max_queue_wait_ms": 0, "max_tokens_limit": a.max_tokens}
    config = {
        "server": server,
        "providers": [{"id": "local", "type": "llama", "options": {"threads": a.threads}}],
        "models": [{"alias": "chat", "task": "generate", "provider": "local",
                    "model": f"{SOURCE}/models/stories260K.gguf", "warmup": "eager",
                    "required": True,
                    "options": {"ctx": a.max_tokens + 32, "parallel": a.parallel,
                                "max_queue": a.streams + 64}}],
    }
    raise_open_files(a.streams)
    proc = start_server(f"{a.bin}/modelrt", config, f"{logs}/bench-streams.json",
                        f"{logs}/modelrt-streams.log", port)
    try:
        before = proc_status(proc.pid)
        body = json.dumps({"model": "chat", "prompt": "Once upon a time", "stream": True,
                           "max_tokens": a.max_tokens, "ignore_eos": True}).encode()
        peak = {"threads": 0, "open": 0, "rss": 0.0, "max_open": 0}
        stop = False

        async def sampler():
            while not stop:
                t, rss = proc_status(proc.pid)
                n = await asyncio.to_thread(in_flight, port)
                peak["max_open"] = max(peak["max_open"], n)
                if t > peak["threads"]:
                    peak["threads"], peak["open"] = t, n
                peak["rss"] = max(peak["rss"], rss)
                await asyncio.sleep(0.2)

        async def run():
            nonlocal stop
            s = asyncio.create_task(sampler())
            t0 = time.monotonic()
            results = await asyncio.gather(*[stream(port, body)
                                             for _ in range(a.streams)])
            wall = time.monotonic() - t0
            stop = True
            await s
            return results, wall

        results, wall = asyncio.run(run())
        after = proc_status(proc.pid)
        counts = {}
        for r in results:
            counts[r] = counts.get(r, 0) + 1
        print(f"{a.streams} streaming completions of {a.max_tokens} tokens at once on "
              f"{os.cpu_count()} CPUs, {a.parallel} slots, {a.http_threads} HTTP threads; "
              f"{wall:.1f} s wall\n")
        print("| | threads | RSS MB | requests open (modelrt_http_requests_in_flight) |")
        print("|---|---|---|---|")
        print(f"| before | {before[0]} | {before[1]:.0f} | 0 |")
        print(f"| peak | {peak['threads']} | {peak['rss']:.0f} | {peak['open']} at the thread "
              f"peak; {peak['max_open']} at most |")
        print(f"| after | {after[0]} | {after[1]:.0f} | |")
        print(f"\nhow the streams ended: {json.dumps(counts)}")
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
