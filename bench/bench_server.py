#!/usr/bin/env python3
"""HTTP server benchmarks: `modelrt serve` next to llama-server, driven by wrk.

Run through scripts/bench-server (which builds modelrt and finds llama.cpp's tools):

    scripts/bench-server --quick                  # a few seconds per point
    scripts/bench-server --duration 20 --threads 2
    scripts/bench-server --only overhead --rounds 5

Both servers run the same model with the same compute threads and slots; each point is measured
on one server right after the other (alternating which goes first) so both see the same machine
load. Prints markdown tables:
  1. generation: aggregate completion tokens/s at 1, 4 and 8 concurrent non-streaming
     /v1/completions (wrk -c N -t N, fixed max_tokens, ignore_eos, temperature 0, no prompt cache),
     on stories260K (overhead-bound) and a generated E512 L8 llama (compute-bound);
  2. embeddings: requests/s and p50/p99 at 1, 8 and 32 clients on a generated BERT;
  3. overhead: p50/p99 of a one-text embedding through modelrt serve with one client, minus the
     same call on the library (modelrt-bench embed-latency), plus CPU time per request.
"""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
LUA = os.path.join(HERE, "wrk", "post.lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")

GEN_STREAMS = [1, 4, 8]
EMBED_CLIENTS = [1, 8, 32]
GEN_SLOTS = 8
EMBED_SLOTS = 32
EMBED_CTX = 512
EMBED_BATCH = 2048
GEN_PROMPT = "Once upon a time"
EMBED_TEXT = "the cat sat on a mat and then ran to see the big red dog in the park"
TINY_TEXT = "hello world"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="modelrt's build/bin")
    p.add_argument("--llama-bin", required=True, help="llama.cpp's build/bin (llama-server)")
    p.add_argument("--quick", action="store_true", help="short points (3 s, one overhead round)")
    p.add_argument("--duration", type=float, help="seconds per point (default 10; --quick 3)")
    p.add_argument("--threads", type=int, default=1, help="compute threads of both servers")
    p.add_argument("--http-threads", type=int, default=1,
                   help="modelrt's HTTP (Asio) threads; llama-server keeps its default (slots + 2), "
                        "since its HTTP threads each hold one keep-alive connection")
    p.add_argument("--only", default="gen,embed,overhead", help="sections: gen,embed,overhead")
    p.add_argument("--max-tokens", type=int, default=64, help="tokens per completion request")
    p.add_argument("--rounds", type=int, help="overhead rounds, medians reported (default 3; --quick 1)")
    p.add_argument("--nice", type=int, default=0,
                   help="run servers, wrk and modelrt-bench under `nice -n N` (negative: root only)")
    p.add_argument("--logs", help="keep server logs and configs in this folder")
    a = p.parse_args()
    if a.duration is None:
        a.duration = 3.0 if a.quick else 10.0
    if a.rounds is None:
        a.rounds = 1 if a.quick else 3
    a.only = set(a.only.split(","))
    return a


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of every thread of `pid` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Server:
    def __init__(self, name, cmd, ready_path, log_path, nice):
        self.name = name
        self.port = None
        self.cmd = cmd
        self.ready_path = ready_path
        self.log_path = log_path
        self.nice = nice
        self.proc = None

    def start(self):
        prefix = ["nice", "-n", str(self.nice)] if self.nice else []
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(prefix + self.cmd, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=120):
        deadline = time.time() + timeout
        url = f"http://127.0.0.1:{self.port}{self.ready_path}"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                sys.exit(f"{self.name} exited with {self.proc.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.2)
        sys.exit(f"{self.name} not ready after {timeout} s; see {self.log_path}")

    def post(self, path, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


class Bench:
    def __init__(self, args, work):
        self.a = args
        self.work = work
        self.logs = args.logs or work
        os.makedirs(self.logs, exist_ok=True)
        self.prefix = ["nice", "-n", str(args.nice)] if args.nice else []

    # ---- servers -------------------------------------------------------------------------

    def llama_server(self, tag, model, extra):
        s = Server("llama-server", [], "/health", f"{self.logs}/llama-server-{tag}.log", self.a.nice)
        s.port = free_port()
        s.cmd = [f"{self.a.llama_bin}/llama-server", "-m", model, "--host", "127.0.0.1",
                 "--port", str(s.port), "-t", str(self.a.threads), "-tb", str(self.a.threads),
                 "--no-webui"] + extra
        return s

    def modelrt_server(self, tag, task, model, options):
        s = Server("modelrt", [], "/ready", f"{self.logs}/modelrt-{tag}.log", self.a.nice)
        s.port = free_port()
        config = {
            "server": {"host": "127.0.0.1", "port": s.port, "threads": self.a.http_threads},
            "providers": [{"id": "local", "type": "llama", "options": {"threads": self.a.threads}}],
            "models": [{"alias": "bench", "task": task, "provider": "local", "model": model,
                        "warmup": "eager", "required": True, "options": options}],
        }
        path = f"{self.logs}/modelrt-{tag}.json"
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        s.cmd = [f"{self.a.bin}/modelrt", "serve", "-c", path]
        return s

    def start_all(self, servers):
        for s in servers:
            s.start()
        for s in servers:
            s.wait_ready()

    # ---- wrk -----------------------------------------------------------------------------

    def wrk(self, server, path, body, count, connections, threads, duration=None):
        env = dict(os.environ, WRK_BODY=json.dumps(body), WRK_COUNT=count)
        cmd = self.prefix + ["wrk", f"-t{threads}", f"-c{connections}",
                             f"-d{max(1, round(duration or self.a.duration))}s", "--timeout", "120s", "-s", LUA,
                             f"http://127.0.0.1:{server.port}{path}"]
        cpu0 = cpu_seconds(server.proc.pid)
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        cpu1 = cpu_seconds(server.proc.pid)
        line = next(l for l in out.splitlines() if l.startswith("WRK_RESULT "))
        r = json.loads(line[len("WRK_RESULT "):])
        r["seconds"] = r["duration_us"] / 1e6
        r["rps"] = r["requests"] / r["seconds"]
        r["tps"] = r["tokens"] / r["seconds"]
        r["cpu_us_per_request"] = (cpu1 - cpu0) * 1e6 / max(1, r["requests"])
        return r

    def pair(self, index, servers, run):
        """Runs `run(server)` on each server, alternating which goes first by point index."""
        order = servers if index % 2 == 0 else list(reversed(servers))
        return {s.name: run(s) for s in order}

    # ---- sections ------------------------------------------------------------------------

    def generation(self, models):
        a = self.a
        ctx = max(256, a.max_tokens + 32)
        body = {"model": "bench", "prompt": GEN_PROMPT, "max_tokens": a.max_tokens,
                "temperature": 0, "ignore_eos": True, "cache_prompt": False}
        rows = []
        for tag, name, model, max_tokens in models:
            body = dict(body, max_tokens=max_tokens)
            ls = self.llama_server(f"gen-{tag}", model,
                                   ["-np", str(GEN_SLOTS), "-c", str(GEN_SLOTS * ctx),
                                    "--cont-batching"])
            mr = self.modelrt_server(f"gen-{tag}", "generate", model,
                                     {"parallel": GEN_SLOTS, "ctx": ctx})
            try:
                self.start_all([ls, mr])
                for s in (ls, mr):  # one untimed request each, and the same text from both
                    s.text = s.post("/v1/completions", body)["choices"][0]["text"]
                same = "same text" if ls.text == mr.text else "texts DIFFER"
                for i, n in enumerate(GEN_STREAMS):
                    r = self.pair(i, [ls, mr], lambda s: self.wrk(
                        s, "/v1/completions", body, "completion_tokens", n, n))
                    rows.append((name, n, r["llama-server"], r["modelrt"], same, max_tokens))
                    print(f"  gen {name} x{n}: llama-server {r['llama-server']['tps']:.0f} tok/s, "
                          f"modelrt {r['modelrt']['tps']:.0f} tok/s", file=sys.stderr)
            finally:
                ls.stop()
                mr.stop()
        print(f"\n### Generation: aggregate completion tokens/s (non-streaming /v1/completions, "
              f"{GEN_SLOTS} slots, ctx {ctx} per slot, {a.threads} compute threads, "
              f"{a.duration:g} s per point)\n")
        print("| model | tokens per request | streams | llama-server tok/s | modelrt tok/s | ratio | llama-server p50 / p99 ms | modelrt p50 / p99 ms |")
        print("|---|---|---|---|---|---|---|---|")
        for name, n, l, m, same, max_tokens in rows:
            print(f"| {name} | {max_tokens} | {n} | {fmt_tps(l)} | {fmt_tps(m)} | {ratio(m['tps'], l['tps'])} | "
                  f"{l['p50_us']/1e3:.1f} / {l['p99_us']/1e3:.1f} | {m['p50_us']/1e3:.1f} / {m['p99_us']/1e3:.1f} |")
        print(f"\n(greedy on both: {rows[0][4] if rows else ''} for the check request)")

    def embeddings(self, model):
        a = self.a
        ls = self.llama_server("embed", model,
                               ["--embeddings", "-np", str(EMBED_SLOTS), "-c", str(EMBED_SLOTS * EMBED_CTX),
                                "-b", str(EMBED_BATCH), "-ub", str(EMBED_BATCH)])
        mr = self.modelrt_server("embed", "embed", model,
                                 {"parallel": EMBED_SLOTS, "ctx": EMBED_CTX, "batch": EMBED_BATCH})
        body = {"model": "bench", "input": EMBED_TEXT}
        rows = []
        try:
            self.start_all([ls, mr])
            for s in (ls, mr):
                s.post("/v1/embeddings", body)
            for i, n in enumerate(EMBED_CLIENTS):
                r = self.pair(i, [ls, mr], lambda s: self.wrk(
                    s, "/v1/embeddings", body, "prompt_tokens", n, min(n, 2)))
                rows.append((n, r["llama-server"], r["modelrt"]))
                print(f"  embed x{n}: llama-server {r['llama-server']['rps']:.0f} req/s, "
                      f"modelrt {r['modelrt']['rps']:.0f} req/s", file=sys.stderr)
        finally:
            ls.stop()
            mr.stop()
        print(f"\n### Embeddings: requests/s and latency (BERT E384 L4 generated, one "
              f"{len(EMBED_TEXT.split())}-word text per request, {EMBED_SLOTS} slots, "
              f"{a.threads} compute threads, {a.duration:g} s per point)\n")
        print("| clients | llama-server req/s | p50 ms | p99 ms | modelrt req/s | p50 ms | p99 ms | ratio (req/s) |")
        print("|---|---|---|---|---|---|---|---|")
        for n, l, m in rows:
            print(f"| {n} | {fmt_rps(l)} | {l['p50_us']/1e3:.2f} | {l['p99_us']/1e3:.2f} | "
                  f"{fmt_rps(m)} | {m['p50_us']/1e3:.2f} | {m['p99_us']/1e3:.2f} | {ratio(m['rps'], l['rps'])} |")

    def overhead(self, model):
        a = self.a
        options = {"parallel": EMBED_SLOTS, "ctx": EMBED_CTX, "batch": EMBED_BATCH}
        mr = self.modelrt_server("overhead", "embed", model, options)
        ls = self.llama_server("overhead", model,
                               ["--embeddings", "-np", str(EMBED_SLOTS), "-c", str(EMBED_SLOTS * EMBED_CTX),
                                "-b", str(EMBED_BATCH), "-ub", str(EMBED_BATCH)])
        body = {"model": "bench", "input": TINY_TEXT}
        server_runs, lib_runs, ls_runs = [], [], []
        try:
            self.start_all([mr, ls])
            for s in (mr, ls):
                s.post("/v1/embeddings", body)
            for i in range(a.rounds):
                def server_run():
                    server_runs.append(self.wrk(mr, "/v1/embeddings", body, "prompt_tokens", 1, 1))

                def lib_run():
                    cmd = self.prefix + [f"{a.bin}/modelrt-bench", "embed-latency", "--model", model,
                                         "--threads", str(a.threads), "--parallel", str(EMBED_SLOTS),
                                         "--ctx", str(EMBED_CTX), "--batch", str(EMBED_BATCH),
                                         "--duration", str(a.duration), "--text", TINY_TEXT]
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                    lib_runs.append(json.loads(out.strip().splitlines()[-1]))

                for run in ((server_run, lib_run) if i % 2 == 0 else (lib_run, server_run)):
                    run()
                ls_runs.append(self.wrk(ls, "/v1/embeddings", body, "prompt_tokens", 1, 1))
                print(f"  overhead round {i + 1}: server p50 {server_runs[-1]['p50_us']} us, "
                      f"library p50 {lib_runs[-1]['p50_us']:.0f} us", file=sys.stderr)
        finally:
            mr.stop()
            ls.stop()
        med = lambda runs, key: statistics.median(r[key] for r in runs)
        sp50, sp99 = med(server_runs, "p50_us"), med(server_runs, "p99_us")
        lp50, lp99 = med(lib_runs, "p50_us"), med(lib_runs, "p99_us")
        scpu, lcpu = med(server_runs, "cpu_us_per_request"), med(lib_runs, "cpu_us_per_call")
        print(f"\n### Server overhead: one client, one-text embedding ('{TINY_TEXT}') on a generated BERT E128 L2, medians of "
              f"{a.rounds} round(s) of {a.duration:g} s\n")
        print("| path | p50 µs | p99 µs | CPU µs per request |")
        print("|---|---|---|---|")
        print(f"| modelrt serve + wrk (HTTP keep-alive) | {sp50:.0f} | {sp99:.0f} | {scpu:.0f} |")
        print(f"| library call (modelrt-bench embed-latency) | {lp50:.0f} | {lp99:.0f} | {lcpu:.0f} |")
        print(f"| **server overhead** (difference) | **{sp50 - lp50:.0f}** | **{sp99 - lp99:.0f}** | "
              f"**{scpu - lcpu:.0f}** |")
        print(f"| llama-server + wrk, same request (reference) | {med(ls_runs, 'p50_us'):.0f} | "
              f"{med(ls_runs, 'p99_us'):.0f} | {med(ls_runs, 'cpu_us_per_request'):.0f} |")
        ok50 = "met" if sp50 - lp50 < 200 else "NOT met"
        ok99 = "met" if sp99 - lp99 < 1000 else "NOT met"
        print(f"\nGoals: overhead p50 < 200 µs ({ok50}), p99 < 1 ms ({ok99}). CPU time is of the "
              f"whole server process (HTTP + engine) per request, from /proc; the library's "
              f"includes its engine thread.")


def fmt_tps(r):
    return f"{r['tps']:.0f}" + bad_note(r)


def fmt_rps(r):
    return f"{r['rps']:.0f}" + bad_note(r)


def bad_note(r):
    n = r["bad"] + r["errors"]
    return f" ({n} failed)" if n else ""


def ratio(ours, theirs):
    return f"{ours / theirs:.2f}" if theirs > 0 else "-"


def main():
    a = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="modelrt-bench-server-") as work:
        b = Bench(a, work)
        testmodel = f"{a.bin}/modelrt-testmodel"
        llama_e512 = f"{work}/llama-e512.gguf"
        bert = f"{work}/bert-e384.gguf"
        # Overhead runs on a tiny BERT: its decode takes tens of µs, so the server's own cost
        # is not lost in the noise of a memory-bound 28 MB model.
        tiny_bert = f"{work}/bert-e128.gguf"
        subprocess.run([testmodel, "--kind", "llama", "--out", llama_e512, "--embd", "512",
                        "--layers", "8", "--heads", "8", "--ff", "1536", "--ctx", "1024",
                        "--seed", "1"], check=True, capture_output=True)
        subprocess.run([testmodel, "--kind", "embed", "--out", bert, "--embd", "384", "--layers",
                        "4", "--heads", "6", "--ff", "1536", "--ctx", "512", "--seed", "1"],
                       check=True, capture_output=True)
        subprocess.run([testmodel, "--kind", "embed", "--out", tiny_bert, "--embd", "128",
                        "--layers", "2", "--heads", "2", "--ff", "512", "--ctx", "512", "--seed",
                        "1"], check=True, capture_output=True)
        print(f"modelrt vs llama-server on {os.cpu_count()} CPUs (load average {load:.1f} at "
              f"start); {a.threads} compute thread(s), modelrt {a.http_threads} HTTP thread(s). "
              f"Ratio = modelrt / llama-server (> 1: modelrt faster).")
        if "gen" in a.only:
            # The E512 model decodes ~50x slower: fewer tokens per request keep many requests
            # completing within a point.
            b.generation([("stories", "stories260K", f"{SOURCE}/models/stories260K.gguf",
                           a.max_tokens),
                          ("e512", "llama E512 L8 (generated)", llama_e512,
                           max(8, a.max_tokens // 4))])
        if "embed" in a.only:
            b.embeddings(bert)
        if "overhead" in a.only:
            b.overhead(tiny_bert)


if __name__ == "__main__":
    main()
