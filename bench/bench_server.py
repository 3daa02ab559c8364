#!/usr/bin/env python3
"""HTTP server benchmarks: `modelrt serve` next to llama-server, driven by wrk.

Run through scripts/bench-server (which builds modelrt and finds llama.cpp's tools):

    scripts/bench-server --quick                  # a few seconds per point
    scripts/bench-server --duration 20 --threads 2
    scripts/bench-server --only overhead --rounds 5

Both servers run the same model with the same compute threads and slots. Each point is measured
in slices that alternate between the servers (A B, B A, ...), so both see the same machine load,
and CPU time per request or token (from /proc) is printed beside the rates, as it drifts less than
wall-clock numbers on a busy machine. Defaults keep a 2-core machine near full: 1 compute thread
and 1 HTTP thread for modelrt (--threads, --http-threads). Prints markdown tables:
  1. generation: aggregate completion tokens/s at 1, 4 and 8 concurrent non-streaming
     /v1/completions (wrk -c N -t N, fixed max_tokens, ignore_eos, temperature 0, no prompt cache),
     on stories260K (overhead-bound) and a generated E512 L8 llama (compute-bound);
  2. embeddings: requests/s and p50/p99 at 1, 8 and 32 clients on a generated BERT;
  3. overhead: p50/p99 of a one-text embedding through modelrt serve with one client, minus the
     same call on the library (modelrt-bench embed-latency), plus CPU time per request;
  4. multi (several models in one server, as users run it): generation on stories260K with 0, 1
     and 2 other local models loaded and idle (goal: within 5 % of alone), and embeddings and
     generation served at the same time by one modelrt, each against itself alone and against
     two llama-servers side by side (one per model);
  5. onnx: the same BERT weights served by modelrt's onnx provider (ONNX Runtime), its llama
     provider (llama.cpp) and llama-server, E384 L4 and a bge-small shape (E384 L12 F1536 H12),
     texts of 16 and 128 tokens, 1 / 8 / 32 clients: texts/s, p50, p99.
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


def text_of_tokens(tokens):
    """A text of `tokens` BERT tokens with [CLS] and [SEP]: common words, one token each."""
    words = EMBED_TEXT.split()
    return " ".join(words[i % len(words)] for i in range(tokens - 2))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True, help="modelrt's build/bin")
    p.add_argument("--llama-bin", required=True, help="llama.cpp's build/bin (llama-server)")
    p.add_argument("--quick", action="store_true", help="short points (4 s in 2 slices)")
    p.add_argument("--duration", type=float,
                   help="seconds per point and server, split into --rounds slices (default 12; "
                        "--quick 4)")
    p.add_argument("--threads", type=int, default=1, help="compute threads of both servers")
    p.add_argument("--http-threads", type=int, default=1,
                   help="modelrt's HTTP (Asio) threads; llama-server keeps its default (slots + 2), "
                        "since its HTTP threads each hold one keep-alive connection")
    p.add_argument("--only", default="gen,embed,overhead,multi,onnx",
                   help="sections: gen,embed,overhead,multi,onnx")
    p.add_argument("--max-tokens", type=int, default=64, help="tokens per completion request")
    p.add_argument("--rounds", type=int,
                   help="slices per point: the servers take turns slice by slice so both see the "
                        "same machine load (default 4; --quick 2)")
    p.add_argument("--nice", type=int, default=0,
                   help="run servers, wrk and modelrt-bench under `nice -n N` (negative: root only)")
    p.add_argument("--logs", help="keep server logs and configs in this folder")
    a = p.parse_args()
    if a.duration is None:
        a.duration = 4.0 if a.quick else 12.0
    if a.rounds is None:
        a.rounds = 2 if a.quick else 4
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

    def modelrt_server(self, tag, task, model, options, others=(), provider="local"):
        """`others`: (alias, task, model, options) of more models, loaded eagerly too."""
        s = Server("modelrt", [], "/ready", f"{self.logs}/modelrt-{tag}.log", self.a.nice)
        s.port = free_port()
        models = [("bench", task, model, options)] + list(others)
        config = {
            # A data directory each: several servers may run at once (the multi section).
            "server": {"host": "127.0.0.1", "port": s.port, "threads": self.a.http_threads,
                       "data_dir": f"{self.work}/data-{tag}"},
            "providers": [{"id": "local", "type": "llama", "options": {"threads": self.a.threads}},
                          {"id": "onnx", "type": "onnx", "options": {"threads": self.a.threads}}],
            "models": [{"alias": alias, "task": t, "provider": provider, "model": m,
                        "warmup": "eager", "required": True, "options": o}
                       for alias, t, m, o in models],
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

    def wrk(self, server, path, body, count, connections, threads, seconds):
        """One wrk run of `seconds` (whole seconds: wrk takes no fractions) on `server`."""
        return self.wrk_together([(server, path, body, count, connections, threads)], seconds)[0]

    def wrk_together(self, loads, seconds):
        """wrk runs started at once, one per (server, path, body, count, connections, threads);
        CPU time is the server's over the whole run (shared when two loads hit one server)."""
        procs, cpu0 = [], {}
        for server, path, body, count, connections, threads in loads:
            env = dict(os.environ, WRK_BODY=json.dumps(body), WRK_COUNT=count)
            cmd = self.prefix + ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                                 "--timeout", "120s", "-s", LUA,
                                 f"http://127.0.0.1:{server.port}{path}"]
            cpu0.setdefault(server.proc.pid, cpu_seconds(server.proc.pid))
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
        results = []
        for (server, *_rest), proc in zip(loads, procs):
            out, _ = proc.communicate()
            if proc.returncode != 0:
                sys.exit(f"wrk failed with {proc.returncode}")
            line = next(l for l in out.splitlines() if l.startswith("WRK_RESULT "))
            r = json.loads(line[len("WRK_RESULT "):])
            r["connections"] = _rest[3]
            r["cpu_s"] = cpu_seconds(server.proc.pid) - cpu0[server.proc.pid]
            results.append(r)
        return results

    def slices(self):
        """(number of slices, seconds each) for one point on one server."""
        n = max(1, self.a.rounds)
        return n, max(1, round(self.a.duration / n))

    def point(self, index, servers, run):
        """Runs `run(server, seconds)` on each server in alternating slices (A B, B A, ...) so
        both see the same machine load, and merges each server's slices."""
        n, seconds = self.slices()
        runs = {s.name: [] for s in servers}
        for k in range(n):
            order = servers if (index + k) % 2 == 0 else list(reversed(servers))
            for s in order:
                runs[s.name].append(run(s, seconds))
        return {name: merge(rs) for name, rs in runs.items()}

    def slice_note(self):
        n, seconds = self.slices()
        return f"{n} × {seconds} s per point and server, taking turns"

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
                    r = self.point(i, [ls, mr], lambda s, sec: self.wrk(
                        s, "/v1/completions", body, "completion_tokens", n, n, sec))
                    rows.append((name, n, r["llama-server"], r["modelrt"], same, max_tokens))
                    print(f"  gen {name} x{n}: llama-server {r['llama-server']['tps']:.0f} tok/s, "
                          f"modelrt {r['modelrt']['tps']:.0f} tok/s", file=sys.stderr)
            finally:
                ls.stop()
                mr.stop()
        print(f"\n### Generation: aggregate completion tokens/s (non-streaming /v1/completions, "
              f"{GEN_SLOTS} slots, ctx {ctx} per slot, {a.threads} compute threads, "
              f"{self.slice_note()})\n")
        print("| model | tokens per request | streams | llama-server tok/s | modelrt tok/s | ratio | llama-server p50 / p99 ms | modelrt p50 / p99 ms | CPU µs/token llama-server / modelrt |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, n, l, m, same, max_tokens in rows:
            print(f"| {name} | {max_tokens} | {n} | {fmt_tps(l)} | {fmt_tps(m)} | {ratio(m['tps'], l['tps'])} | "
                  f"{l['p50_us']/1e3:.1f} / {l['p99_us']/1e3:.1f} | {m['p50_us']/1e3:.1f} / {m['p99_us']/1e3:.1f} | "
                  f"{cpu_per_token(l):.0f} / {cpu_per_token(m):.0f} |")
        print(f"\nTokens/s = completion tokens summed from the responses' usage / the time the "
              f"connections spent on completed requests × streams (Little's law: no loss from "
              f"requests cut off at the end of a slice). CPU µs/token: the server process's CPU "
              f"time per completion token, steadier than rates on a busy machine. Greedy on both: "
              f"{rows[0][4] if rows else '-'} for the check request.")

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
                r = self.point(i, [ls, mr], lambda s, sec: self.wrk(
                    s, "/v1/embeddings", body, "prompt_tokens", n, min(n, 2), sec))
                rows.append((n, r["llama-server"], r["modelrt"]))
                print(f"  embed x{n}: llama-server {r['llama-server']['rps']:.0f} req/s, "
                      f"modelrt {r['modelrt']['rps']:.0f} req/s", file=sys.stderr)
        finally:
            ls.stop()
            mr.stop()
        print(f"\n### Embeddings: requests/s and latency (BERT E384 L4 generated, one "
              f"{len(EMBED_TEXT.split())}-word text per request, {EMBED_SLOTS} slots, "
              f"{a.threads} compute threads, {self.slice_note()})\n")
        print("| clients | llama-server req/s | p50 ms | p99 ms | CPU ms/req | modelrt req/s | p50 ms | p99 ms | CPU ms/req | ratio (req/s) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for n, l, m in rows:
            print(f"| {n} | {fmt_rps(l)} | {l['p50_us']/1e3:.2f} | {l['p99_us']/1e3:.2f} | "
                  f"{l['cpu_us_per_request']/1e3:.2f} | {fmt_rps(m)} | {m['p50_us']/1e3:.2f} | "
                  f"{m['p99_us']/1e3:.2f} | {m['cpu_us_per_request']/1e3:.2f} | {ratio(m['rps'], l['rps'])} |")
        print("\nCPU ms/req: the server process's CPU time (all threads) per request, from /proc: "
              "steadier than wall-clock rates on a busy machine.")

    def onnx_vs_llama(self, shapes):
        """`shapes`: (label, gguf, onnx directory) of the same weights."""
        a = self.a
        tables = []
        for label, gguf, onnx_dir in shapes:
            ls = self.llama_server("onnx-" + label, gguf,
                                   ["--embeddings", "-np", str(EMBED_SLOTS), "-c", str(EMBED_SLOTS * EMBED_CTX),
                                    "-b", str(EMBED_BATCH), "-ub", str(EMBED_BATCH)])
            ml = self.modelrt_server("llama-" + label, "embed", gguf,
                                     {"parallel": EMBED_SLOTS, "ctx": EMBED_CTX, "batch": EMBED_BATCH})
            ml.name = "modelrt llama"
            mo = self.modelrt_server("onnx-" + label, "embed", onnx_dir,
                                     {"parallel": EMBED_SLOTS, "max_length": EMBED_CTX}, provider="onnx")
            mo.name = "modelrt onnx"
            rows = []
            try:
                self.start_all([ls, ml, mo])
                for tokens in (16, 128):
                    body = {"model": "bench", "input": text_of_tokens(tokens)}
                    for s in (ls, ml, mo):
                        s.post("/v1/embeddings", body)
                    for i, n in enumerate(EMBED_CLIENTS):
                        r = self.point(i, [ls, ml, mo], lambda s, sec: self.wrk(
                            s, "/v1/embeddings", body, "prompt_tokens", n, min(n, 2), sec))
                        rows.append((tokens, n, r["llama-server"], r["modelrt llama"], r["modelrt onnx"]))
                        print(f"  {label} {tokens} tokens x{n}: llama-server {r['llama-server']['rps']:.0f}, "
                              f"modelrt llama {r['modelrt llama']['rps']:.0f}, modelrt onnx "
                              f"{r['modelrt onnx']['rps']:.0f} texts/s", file=sys.stderr)
            finally:
                for s in (ls, ml, mo):
                    s.stop()
            tables.append((label, rows))
        for label, rows in tables:
            print(f"\n### ONNX Runtime vs llama.cpp: {label}, the same weights (one text per request, "
                  f"{EMBED_SLOTS} slots, {a.threads} compute threads, {self.slice_note()})\n")
            print("| tokens | clients | llama-server texts/s | p50 ms | p99 ms | modelrt llama texts/s | p50 ms | p99 ms "
                  "| modelrt onnx texts/s | p50 ms | p99 ms | onnx / llama |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for tokens, n, l, m, o in rows:
                print(f"| {tokens} | {n} | {fmt_rps(l)} | {l['p50_us']/1e3:.2f} | {l['p99_us']/1e3:.2f} | "
                      f"{fmt_rps(m)} | {m['p50_us']/1e3:.2f} | {m['p99_us']/1e3:.2f} | "
                      f"{fmt_rps(o)} | {o['p50_us']/1e3:.2f} | {o['p99_us']/1e3:.2f} | {ratio(o['rps'], m['rps'])} |")

    def overhead(self, model):
        a = self.a
        options = {"parallel": EMBED_SLOTS, "ctx": EMBED_CTX, "batch": EMBED_BATCH}
        mr = self.modelrt_server("overhead", "embed", model, options)
        ls = self.llama_server("overhead", model,
                               ["--embeddings", "-np", str(EMBED_SLOTS), "-c", str(EMBED_SLOTS * EMBED_CTX),
                                "-b", str(EMBED_BATCH), "-ub", str(EMBED_BATCH)])
        body = {"model": "bench", "input": TINY_TEXT}
        server_runs, lib_runs, ls_runs = [], [], []
        n, seconds = self.slices()
        try:
            self.start_all([mr, ls])
            for s in (mr, ls):
                s.post("/v1/embeddings", body)
            for k in range(n):
                def server_run():
                    server_runs.append(self.wrk(mr, "/v1/embeddings", body, "prompt_tokens", 1, 1,
                                                seconds))

                def lib_run():
                    cmd = self.prefix + [f"{a.bin}/modelrt-bench", "embed-latency", "--model", model,
                                         "--threads", str(a.threads), "--parallel", str(EMBED_SLOTS),
                                         "--ctx", str(EMBED_CTX), "--batch", str(EMBED_BATCH),
                                         "--duration", str(seconds), "--text", TINY_TEXT]
                    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                    lib_runs.append(json.loads(out.strip().splitlines()[-1]))

                for run in ((server_run, lib_run) if k % 2 == 0 else (lib_run, server_run)):
                    run()
                ls_runs.append(self.wrk(ls, "/v1/embeddings", body, "prompt_tokens", 1, 1, seconds))
                print(f"  overhead slice {k + 1}: server p50 {server_runs[-1]['p50_us']} us, "
                      f"library p50 {lib_runs[-1]['p50_us']:.0f} us", file=sys.stderr)
        finally:
            mr.stop()
            ls.stop()
        server_m, ls_m = merge(server_runs), merge(ls_runs)
        med = lambda runs, key: statistics.median(r[key] for r in runs)
        sp50, sp99, scpu = server_m["p50_us"], server_m["p99_us"], server_m["cpu_us_per_request"]
        lp50, lp99 = med(lib_runs, "p50_us"), med(lib_runs, "p99_us")
        lcpu = sum(r["cpu_us_per_call"] * r["calls"] for r in lib_runs) / sum(r["calls"] for r in lib_runs)
        print(f"\n### Server overhead: one client, one-text embedding ('{TINY_TEXT}') on a generated BERT E128 L2, medians of "
              f"{n} slice(s) of {seconds} s each, taking turns\n")
        print("| path | p50 µs | p99 µs | CPU µs per request |")
        print("|---|---|---|---|")
        print(f"| modelrt serve + wrk (HTTP keep-alive) | {sp50:.0f} | {sp99:.0f} | {scpu:.0f} |")
        print(f"| library call (modelrt-bench embed-latency) | {lp50:.0f} | {lp99:.0f} | {lcpu:.0f} |")
        print(f"| **server overhead** (difference) | **{sp50 - lp50:.0f}** | **{sp99 - lp99:.0f}** | "
              f"**{scpu - lcpu:.0f}** |")
        print(f"| llama-server + wrk, same request (reference) | {ls_m['p50_us']:.0f} | "
              f"{ls_m['p99_us']:.0f} | {ls_m['cpu_us_per_request']:.0f} |")
        ok50 = "met" if sp50 - lp50 < 200 else "NOT met"
        ok99 = "met" if sp99 - lp99 < 1000 else "NOT met"
        print(f"\nGoals: overhead p50 < 200 µs ({ok50}), p99 < 1 ms ({ok99}). CPU time is of the "
              f"whole server process (HTTP + engine) per request, from /proc; the library's "
              f"includes its engine thread.")


    def multi_model(self, gen_model, embed_model, other_gen_model):
        """Several local models in one server: generation with idle neighbours, and embeddings
        and generation at once, next to llama-servers (one model each, as they serve)."""
        a = self.a
        ctx = max(256, a.max_tokens + 32)
        gen_opts = {"parallel": GEN_SLOTS, "ctx": ctx}
        embed_opts = {"parallel": EMBED_SLOTS, "ctx": EMBED_CTX, "batch": EMBED_BATCH}
        gen_body = {"model": "bench", "prompt": GEN_PROMPT, "max_tokens": a.max_tokens,
                    "temperature": 0.8, "ignore_eos": True}
        embed_body = {"model": "embed", "input": EMBED_TEXT}
        streams, clients = GEN_SLOTS, 8
        idle = [("embed", "embed", embed_model, embed_opts),
                ("chat2", "generate", other_gen_model, {"parallel": 4, "ctx": 256})]
        n, seconds = self.slices()

        # 1. Generation with 0, 1 and 2 idle neighbours (the servers take turns slice by slice).
        servers = [self.modelrt_server(f"multi-{k}", "generate", gen_model, gen_opts, idle[:k])
                   for k in range(3)]
        for k, s in enumerate(servers):
            s.name = f"modelrt+{k}"
        idle_runs = {s.name: [] for s in servers}
        try:
            self.start_all(servers)
            for s in servers:
                s.post("/v1/completions", gen_body)
            for r in range(n):
                order = servers if r % 2 == 0 else list(reversed(servers))
                for s in order:
                    idle_runs[s.name].append(self.wrk(s, "/v1/completions", gen_body,
                                                      "completion_tokens", streams, streams,
                                                      seconds))
        finally:
            for s in servers:
                s.stop()
        idle_m = {name: merge(rs) for name, rs in idle_runs.items()}

        # 2. Embeddings and generation at the same time: one modelrt with both, against
        #    two llama-servers side by side; each also measured alone.
        mr = self.modelrt_server("multi-both", "generate", gen_model, gen_opts, idle[:1])
        lg = self.llama_server("multi-gen", gen_model,
                               ["-np", str(GEN_SLOTS), "-c", str(GEN_SLOTS * ctx), "--cont-batching"])
        le = self.llama_server("multi-embed", embed_model,
                               ["--embeddings", "-np", str(EMBED_SLOTS), "-c",
                                str(EMBED_SLOTS * EMBED_CTX), "-b", str(EMBED_BATCH), "-ub",
                                str(EMBED_BATCH)])
        gen_load = lambda s: (s, "/v1/completions", gen_body, "completion_tokens", streams, streams)
        emb_load = lambda s: (s, "/v1/embeddings", embed_body, "prompt_tokens", clients, 2)
        runs = {key: [] for key in ("mr_gen", "mr_emb", "mr_gen_mixed", "mr_emb_mixed",
                                    "ls_gen", "ls_emb", "ls_gen_mixed", "ls_emb_mixed")}
        try:
            self.start_all([mr, lg, le])
            mr.post("/v1/completions", gen_body)
            mr.post("/v1/embeddings", embed_body)
            lg.post("/v1/completions", gen_body)
            le.post("/v1/embeddings", embed_body)
            for r in range(n):
                steps = [
                    (("mr_gen",), [gen_load(mr)]), (("mr_emb",), [emb_load(mr)]),
                    (("mr_gen_mixed", "mr_emb_mixed"), [gen_load(mr), emb_load(mr)]),
                    (("ls_gen",), [gen_load(lg)]), (("ls_emb",), [emb_load(le)]),
                    (("ls_gen_mixed", "ls_emb_mixed"), [gen_load(lg), emb_load(le)]),
                ]
                for keys, loads in (steps if r % 2 == 0 else list(reversed(steps))):
                    for key, res in zip(keys, self.wrk_together(loads, seconds)):
                        runs[key].append(res)
                print(f"  multi slice {r + 1} done", file=sys.stderr)
        finally:
            for s in (mr, lg, le):
                s.stop()
        m = {key: merge(rs) for key, rs in runs.items()}

        alone = idle_m["modelrt+0"]["tps"]
        print(f"\n### Several models in one server: generation with idle neighbours (stories260K, "
              f"{streams} streams of {a.max_tokens} tokens, temperature 0.8, {a.threads} compute "
              f"threads, {self.slice_note()})\n")
        print("| other local models loaded and idle | modelrt tok/s | vs alone | p50 / p99 ms |")
        print("|---|---|---|---|")
        labels = ["none", "1 (BERT E384 embed)", "2 (+ llama E512 L8 generate)"]
        for k in range(3):
            r = idle_m[f"modelrt+{k}"]
            print(f"| {labels[k]} | {fmt_tps(r)} | {ratio(r['tps'], alone)} | "
                  f"{r['p50_us']/1e3:.1f} / {r['p99_us']/1e3:.1f} |")
        print(f"\nGoal: within 5 % of alone (ratio >= 0.95).")
        print(f"\n### Embeddings and generation at the same time ({streams} generation streams + "
              f"{clients} embedding clients; one modelrt serving both vs a llama-server per "
              f"model; {a.threads} compute threads per server)\n")
        print("| load | modelrt alone | modelrt mixed | mixed / alone | llama-servers alone | "
              "llama-servers side by side | mixed / alone | modelrt / llama-servers (mixed) |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| generation tok/s | {fmt_tps(m['mr_gen'])} | {fmt_tps(m['mr_gen_mixed'])} | "
              f"{ratio(m['mr_gen_mixed']['tps'], m['mr_gen']['tps'])} | {fmt_tps(m['ls_gen'])} | "
              f"{fmt_tps(m['ls_gen_mixed'])} | {ratio(m['ls_gen_mixed']['tps'], m['ls_gen']['tps'])} | "
              f"{ratio(m['mr_gen_mixed']['tps'], m['ls_gen_mixed']['tps'])} |")
        print(f"| embeddings req/s | {fmt_rps(m['mr_emb'])} | {fmt_rps(m['mr_emb_mixed'])} | "
              f"{ratio(m['mr_emb_mixed']['rps'], m['mr_emb']['rps'])} | {fmt_rps(m['ls_emb'])} | "
              f"{fmt_rps(m['ls_emb_mixed'])} | {ratio(m['ls_emb_mixed']['rps'], m['ls_emb']['rps'])} | "
              f"{ratio(m['mr_emb_mixed']['rps'], m['ls_emb_mixed']['rps'])} |")
        print(f"| embeddings p50 / p99 ms | {m['mr_emb']['p50_us']/1e3:.1f} / {m['mr_emb']['p99_us']/1e3:.1f} | "
              f"{m['mr_emb_mixed']['p50_us']/1e3:.1f} / {m['mr_emb_mixed']['p99_us']/1e3:.1f} | | "
              f"{m['ls_emb']['p50_us']/1e3:.1f} / {m['ls_emb']['p99_us']/1e3:.1f} | "
              f"{m['ls_emb_mixed']['p50_us']/1e3:.1f} / {m['ls_emb_mixed']['p99_us']/1e3:.1f} | | |")
        print("\nMixed: both loads at once for the same seconds. The machine's cores are shared "
              "either way; 'mixed / alone' shows what each load keeps of its solo rate.")


def merge(runs):
    """One point from its slices: sums, rates over the summed time, percentiles as the median of
    the slices' (wrk reports no histograms to merge)."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["duration_us"] for r in runs) / 1e6
    tokens = sum(r["tokens"] for r in runs)
    busy = sum(r["mean_us"] * r["requests"] for r in runs) / 1e6
    return {
        "requests": requests,
        "tokens": tokens,
        "bad": sum(r["bad"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "rps": requests / seconds if seconds else 0,
        # Each connection always has one request out, so connections / mean latency is the
        # request rate, without the loss of the requests still running when a slice ends.
        "tps": tokens / busy * runs[0]["connections"] if busy else 0,
        "p50_us": statistics.median(r["p50_us"] for r in runs),
        "p99_us": statistics.median(r["p99_us"] for r in runs),
        "cpu_us_per_request": sum(r["cpu_s"] for r in runs) * 1e6 / max(1, requests),
    }


def cpu_per_token(r):
    return r["cpu_us_per_request"] * r["requests"] / r["tokens"] if r["tokens"] else 0


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
        if "multi" in a.only:
            b.multi_model(f"{SOURCE}/models/stories260K.gguf", bert, llama_e512)
        if "onnx" in a.only:
            shapes = []
            for label, args in (("BERT E384 L4 H6 F1536", ["--embd", "384", "--layers", "4", "--heads", "6"]),
                                ("bge-small shape E384 L12 H12 F1536", ["--embd", "384", "--layers", "12", "--heads", "12"])):
                tag = f"bert-{args[3]}l"
                gguf = f"{work}/{tag}.gguf"
                subprocess.run([testmodel, "--kind", "embed", "--out", gguf, "--ff", "1536",
                                "--ctx", "512", "--seed", "1", "--pooling", "cls"] + args,
                               check=True, capture_output=True)
                subprocess.run(["/usr/bin/python3", f"{SOURCE}/tools/onnx_test_model.py", gguf,
                                f"{work}/{tag}-onnx"], check=True, capture_output=True)
                shapes.append((label, gguf, f"{work}/{tag}-onnx"))
            b.onnx_vs_llama(shapes)


if __name__ == "__main__":
    main()
