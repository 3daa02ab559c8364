#!/usr/bin/env python3
"""Rolling restarts with nothing lost: a real nginx in front of three `modelrt serve` replicas.

    tests/deploy/rolling_restart.py build/bin/modelrt        # ctest runs exactly this
    MODELRT_BIN=build/bin/modelrt tests/deploy/rolling_restart.py --steady 20 --keep

Starts three replicas (each its own port and data directory, one config with the demo models,
eager and required, `server.drain_grace_s: 10`) and nginx (Debian's package, run in the
foreground by this script, every path inside a temporary directory) with the three as one
upstream. 32 client threads send mixed traffic through nginx: embeddings, rerank, streamed chat
(SSE, read to `data: [DONE]`) and whole chat; every answer is checked. Phases:

  steady            traffic only
  rolling restarts  each replica in turn: SIGTERM, exit 0 within the drain grace, restart on the
                    same port, GET /ready 200 on it directly, traffic reaches it, the next one
                    -> 0 failed requests
  kill -9           one replica SIGKILLed mid-traffic, then restarted: only requests in flight at
                    the kill may fail, each with a clean error (an HTTP error from nginx or a
                    stream nginx closed early), never a hang past the client timeout
  after kill -9     every request started after the kill -> 0 failed requests

Prints phase | requests | failures | p50 | p99 (ms) and exits 1 with one line saying why when a
requirement failed; 77 (ctest's SKIP_RETURN_CODE) when nginx is not installed. Python 3
standard library only.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP = 77

DRAIN_GRACE_S = 10          # server.drain_grace_s of the replicas
CLIENT_TIMEOUT_S = 10.0     # per request (socket timeout and whole-request deadline)
READY_TIMEOUT_S = 120.0     # a replica's start (first start writes the demo models)
FAIL_TIMEOUT_S = 2          # nginx: a refused replica is left out this long
SETTLE_S = FAIL_TIMEOUT_S + 1.5  # after a restart: nginx sends the replica traffic again


def log(msg):
    print(f"[rolling] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=2.0):
    """(status, body) of a GET on 127.0.0.1:port, or (None, error text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as e:
        return None, str(e)
    finally:
        conn.close()


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q * (len(values) - 1)))))
    return values[k]


# ---- replicas and nginx ----------------------------------------------------------------------

class Replica:
    def __init__(self, index, binary, config, tmp):
        self.index = index
        self.name = f"r{index + 1}"
        self.binary = binary
        self.config = config
        self.port = free_port()
        self.data_dir = os.path.join(tmp, self.name)
        self.log_path = os.path.join(tmp, f"{self.name}.log")
        self.proc = None
        self.starts = 0
        os.makedirs(self.data_dir, exist_ok=True)

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.starts += 1
        env = dict(os.environ, MODELRT_DATA_DIR=self.data_dir)
        env.pop("MODELRT_API_KEYS", None)
        with open(self.log_path, "ab") as f:
            f.write(f"===== start {self.starts} =====\n".encode())
            self.proc = subprocess.Popen(
                [self.binary, "--log-level", "info", "serve", "--config", self.config,
                 "--port", str(self.port)],
                env=env, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout=READY_TIMEOUT_S):
        """Seconds until GET /ready answers 200 directly; raises when it does not."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} while "
                                   f"starting (log: {self.log_path})")
            status, _ = get(self.port, "/ready", timeout=1.0)
            if status == 200:
                return time.monotonic() - t0
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s (log: {self.log_path})")

    def log_tail(self, lines=20):
        """Its warnings, errors and lifecycle lines (not the access log), the last `lines`."""
        keep = (b" warn ", b" error ", b" critical ", b"=====", b"[serve]", b"draining",
                b"stopped", b"listening")
        try:
            with open(self.log_path, "rb") as f:
                text = [ln for ln in f.read().splitlines() if any(k in ln for k in keep)]
            return b"\n".join(text[-lines:]).decode(errors="replace")
        except OSError:
            return ""

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


NGINX_CONF = """\
{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log info;
events {{ worker_connections 4096; }}
http {{
  log_format upstream '$msec "$request" $status up=$upstream_addr up_status=$upstream_status '
                      'rt=$request_time urt=$upstream_response_time id=$request_id';
  access_log {tmp}/nginx-access.log upstream;
  client_body_temp_path {tmp}/nginx/body;
  proxy_temp_path {tmp}/nginx/proxy;
  fastcgi_temp_path {tmp}/nginx/fastcgi;
  uwsgi_temp_path {tmp}/nginx/uwsgi;
  scgi_temp_path {tmp}/nginx/scgi;
  keepalive_requests 100000;

  upstream modelrt {{
{servers}
    keepalive 64;                 # idle keep-alive connections to the replicas, per worker
    keepalive_requests 100000;
    keepalive_timeout 30s;        # under the server's 60 s idle timeout: nginx closes first
  }}

  server {{
    listen 127.0.0.1:{port};
    client_max_body_size 8m;
    location / {{
      proxy_pass http://modelrt;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-Id $request_id;
      # A refused connect, a reset before the response header, 502/503: the next replica.
      # POSTs too (non_idempotent): a request a draining or killed replica never answered.
      proxy_next_upstream {next_upstream};
      proxy_next_upstream_tries 3;
      proxy_next_upstream_timeout 15s;
      proxy_connect_timeout 2s;
      proxy_send_timeout 30s;
      proxy_read_timeout 30s;
      proxy_buffering off;          # SSE: every event reaches the client at once
      proxy_request_buffering on;   # the whole body is held, so a retry can resend it
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


class Nginx:
    def __init__(self, binary, tmp, replicas, next_upstream):
        self.binary = binary
        self.tmp = tmp
        self.port = free_port()
        self.proc = None
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(tmp, "nginx", d), exist_ok=True)
        servers = "\n".join(
            f"    server {r.addr} max_fails=1 fail_timeout={FAIL_TIMEOUT_S}s;" for r in replicas)
        # As root the workers would otherwise run as nobody, who cannot use the temporary dir.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        self.conf = os.path.join(tmp, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(user=user, tmp=tmp, servers=servers, port=self.port,
                                      next_upstream=next_upstream))

    def start(self):
        out = open(os.path.join(self.tmp, "nginx-stderr.log"), "ab")
        self.proc = subprocess.Popen(
            [self.binary, "-p", self.tmp, "-e", os.path.join(self.tmp, "nginx-error.log"),
             "-c", self.conf, "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 15:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: "
                                   + self.error_tail())
            status, _ = get(self.port, "/health", timeout=1.0)
            if status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError("nginx did not proxy /health within 15 s: " + self.error_tail())

    def error_tail(self, lines=15):
        text = b""
        for name in ("nginx-stderr.log", "nginx-error.log"):
            try:
                with open(os.path.join(self.tmp, name), "rb") as f:
                    text += f.read()
            except OSError:
                pass
        keep = [ln for ln in text.splitlines()
                if any(k in ln for k in (b"[error]", b"[warn]", b"[crit]", b"[alert]", b"[emerg]"))]
        return b"\n".join(keep[-lines:]).decode(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- clients ---------------------------------------------------------------------------------

class Result:
    __slots__ = ("phase", "kind", "ok", "error", "how", "start", "end", "upstream", "status")

    def __init__(self, phase, kind, start):
        self.phase, self.kind, self.start = phase, kind, start
        # how a failure looked: "http" (an error status, from nginx or a replica), "cut" (the
        # connection closed early, or a stream without data: [DONE]), "hang" (no answer within
        # the client timeout), "bad" (a 200 whose body is wrong: never acceptable)
        self.ok, self.error, self.how = False, "", ""
        self.end, self.upstream, self.status = start, "", None

    @property
    def ms(self):
        return (self.end - self.start) * 1000.0


class Failed(Exception):
    def __init__(self, message, how="bad"):
        super().__init__(message)
        self.how = how


def check_embed(status, body):
    doc = json.loads(body)
    data = doc["data"]
    if len(data) != 2 or not all(len(d["embedding"]) > 0 for d in data):
        raise Failed(f"embeddings: {len(data)} vectors")


def check_rerank(status, body):
    doc = json.loads(body)
    results = doc["results"]
    if len(results) != 3 or sorted(r["index"] for r in results) != [0, 1, 2]:
        raise Failed(f"rerank: results {results!r:.120}")
    for r in results:
        float(r["relevance_score"])


def check_chat(status, body):
    doc = json.loads(body)
    choice = doc["choices"][0]
    if not isinstance(choice["message"]["content"], str) or not choice.get("finish_reason"):
        raise Failed(f"chat: choice {choice!r:.120}")


def check_stream(status, body):
    events = [line[6:] for line in body.decode(errors="replace").split("\n")
              if line.startswith("data: ")]
    if not events or events[-1] != "[DONE]":
        raise Failed(f"stream ended after {len(events)} events without data: [DONE]", "cut")
    finish = None
    for e in events[:-1]:
        chunk = json.loads(e)
        for c in chunk.get("choices", []):
            finish = c.get("finish_reason") or finish
    if not finish:
        raise Failed("stream: no finish_reason before [DONE]")


PROMPTS = ["Once upon a time", "The little dog", "Lily went to the park", "Tom had a red ball"]


def make_request(kind, n):
    if kind == "embed":
        return "/v1/embeddings", {"model": "embed", "input": [f"hello world {n}", "a cat sat"]}, \
            check_embed
    if kind == "rerank":
        return "/v1/rerank", {"model": "rerank", "query": f"cats {n}",
                              "documents": ["a kitten", "stocks fell", "the cat sat"]}, check_rerank
    body = {"model": "chat", "messages": [{"role": "user", "content": PROMPTS[n % len(PROMPTS)]}],
            "max_tokens": 24 if kind == "stream" else 16, "temperature": 0.7, "seed": n}
    if kind == "stream":
        body["stream"] = True
        return "/v1/chat/completions", body, check_stream
    return "/v1/chat/completions", body, check_chat


class Traffic:
    KINDS = ("embed", "rerank", "stream", "chat")

    def __init__(self, port, clients):
        self.port = port
        self.clients = clients
        self.phase = "warmup"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results = []
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True,
                                         name=f"client-{i}") for i in range(clients)]

    def start(self):
        for t in self.threads:
            t.start()

    def connect(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=CLIENT_TIMEOUT_S)

    def worker(self, i):
        conn = self.connect()
        n = i * 1000003
        while not self.stop.is_set():
            kind = self.KINDS[n % len(self.KINDS)]  # each client cycles through the four
            n += 1
            path, body, check = make_request(kind, n)
            r = Result(self.phase, kind, time.monotonic())
            try:
                conn.request("POST", path, body=json.dumps(body),
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                r.status = resp.status
                r.upstream = resp.getheader("X-Upstream", "") or ""
                data = resp.read()  # a chunked body cut short raises IncompleteRead
                if resp.status != 200:
                    text = " ".join(data[:300].decode(errors="replace").split())
                    if "<title>" in text:  # nginx's own error page: its title says it
                        text = text.split("<title>", 1)[1].split("</title>", 1)[0] + " (nginx)"
                    raise Failed(f"HTTP {resp.status}: {text[:120]}", "http")
                check(resp.status, data)
                r.ok = True
                if resp.will_close:
                    conn.close()
            except socket.timeout:
                r.how, r.error = "hang", f"no answer within {CLIENT_TIMEOUT_S:.0f} s"
            except Failed as e:
                r.how, r.error = e.how, str(e)
            except (OSError, http.client.HTTPException) as e:
                r.how, r.error = "cut", f"{type(e).__name__}: {e}"
            except (ValueError, KeyError, TypeError, IndexError) as e:
                r.how, r.error = "bad", f"{type(e).__name__}: {e}"
            r.end = time.monotonic()
            if not r.ok:
                conn.close()
                conn = self.connect()
                if r.end - r.start > CLIENT_TIMEOUT_S + 1.0:
                    r.how = "hang"
            with self.lock:
                self.results.append(r)
        conn.close()

    def set_phase(self, name):
        self.phase = name

    def finish(self):
        """Stops the clients; returns the names of threads still stuck in a request."""
        self.stop.set()
        deadline = time.monotonic() + CLIENT_TIMEOUT_S + 5
        for t in self.threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        return [t.name for t in self.threads if t.is_alive()]

    def snapshot(self):
        with self.lock:
            return list(self.results)


# ---- the test --------------------------------------------------------------------------------

def in_flight_on(replica):
    """The replica's modelrt_http_requests_in_flight (its own /metrics request included)."""
    status, body = get(replica.port, "/metrics", timeout=1.0)
    if status != 200:
        return -1
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("modelrt_http_requests_in_flight"):
            return float(line.split()[-1])
    return -1


def busiest(replicas):
    """The replica with the most requests in flight: the kill -9 hits the most work."""
    counts = [in_flight_on(r) for r in replicas]
    return replicas[max(range(len(replicas)), key=lambda i: (counts[i], i == 1))]


def find_binary(arg):
    if arg:  # given: that one or none
        return os.path.abspath(arg) if os.path.isfile(arg) and os.access(arg, os.X_OK) else None
    for candidate in (os.environ.get("MODELRT_BIN"),
                      os.path.join(ROOT, "build", "bin", "modelrt"),
                      os.path.join(ROOT, "build", "modelrt")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def write_config(tmp, models_dir):
    def model(alias, task, file, options):
        return {"alias": alias, "task": task, "provider": "local",
                "model": os.path.join(models_dir, file), "warmup": "eager", "required": True,
                "options": options}
    config = {
        "server": {"host": "127.0.0.1", "drain_grace_s": DRAIN_GRACE_S, "threads": 2},
        "providers": [{"id": "local", "type": "llama", "options": {"threads": 1}}],
        "models": [
            model("chat", "generate", "stories260K.gguf", {"ctx": 512, "parallel": 8}),
            model("embed", "embed", "demo-embed.gguf", {"normalize": True}),
            model("rerank", "rerank", "demo-rerank.gguf", {}),
        ],
    }
    path = os.path.join(tmp, "config.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", help="modelrt binary (else $MODELRT_BIN, build/bin)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--steady", type=float, default=25.0, help="seconds of steady traffic")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--next-upstream", default="error timeout http_502 http_503 non_idempotent",
                    help="nginx proxy_next_upstream (to see what a POST retry hides)")
    args = ap.parse_args()

    binary = find_binary(args.binary)
    if not binary:
        print("rolling_restart: FAIL: no modelrt binary (argument, $MODELRT_BIN or build/bin)")
        return 1
    if "NGINX" in os.environ:  # a path, or "" to behave as if nginx were not installed
        nginx_bin = os.environ["NGINX"] if os.access(os.environ["NGINX"], os.X_OK) else None
    else:
        nginx_bin = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)),
            None)
    if not nginx_bin:
        print("rolling_restart: SKIP: nginx is not installed (Debian package: nginx)")
        return SKIP
    # ctest's timeout (SIGTERM) or ^C: stop the replicas and nginx on the way out.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda n, _f: sys.exit(128 + n))

    tmp = tempfile.mkdtemp(prefix="modelrt-rolling-")
    os.chmod(tmp, 0o755)
    replicas, nginx, traffic = [], None, None
    problems = []   # requirement failures, first one is the headline
    notes = []
    t_begin = time.monotonic()
    try:
        # The demo models once (stories260K from the binary, the two BERTs generated), shared.
        demo = os.path.join(tmp, "demo")
        out = subprocess.run([binary, "models"], env=dict(os.environ, MODELRT_DATA_DIR=demo),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if out.returncode != 0:
            raise RuntimeError("`modelrt models` failed: " + out.stdout.decode()[-400:])
        config = write_config(tmp, os.path.join(demo, "models"))

        replicas = [Replica(i, binary, config, tmp) for i in range(3)]
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        nginx = Nginx(nginx_bin, tmp, replicas, args.next_upstream)
        nginx.start()
        log(f"nginx :{nginx.port} -> " + ", ".join(f"{r.name} :{r.port}" for r in replicas)
            + f" (ready after {time.monotonic() - t_begin:.1f} s)")

        traffic = Traffic(nginx.port, args.clients)
        traffic.start()
        time.sleep(2.0)  # warm-up: connections, first decodes (not counted)

        # ---- steady
        traffic.set_phase("steady")
        log(f"steady: {args.steady:.0f} s")
        time.sleep(args.steady)

        # ---- rolling restarts
        traffic.set_phase("rolling restarts")
        restarts = []
        for r in replicas:
            t_term = time.monotonic()
            r.proc.send_signal(signal.SIGTERM)
            ready_probe = []  # /ready on the replica directly while it drains
            while r.proc.poll() is None and time.monotonic() - t_term < DRAIN_GRACE_S + 5:
                status, _ = get(r.port, "/ready", timeout=0.5)
                ready_probe.append((time.monotonic() - t_term, status))
                time.sleep(0.02)
            try:
                rc = r.proc.wait(timeout=max(0.1, DRAIN_GRACE_S + 5 - (time.monotonic() - t_term)))
            except subprocess.TimeoutExpired:
                rc = None
            exit_s = time.monotonic() - t_term
            if rc is None:
                problems.append(f"{r.name} did not exit within {DRAIN_GRACE_S + 5} s of SIGTERM")
                r.kill()
            elif rc != 0:
                problems.append(f"{r.name} exited with {rc} after SIGTERM (expected 0)")
            elif exit_s > DRAIN_GRACE_S + 1:
                problems.append(f"{r.name} took {exit_s:.1f} s to exit after SIGTERM "
                                f"(drain grace {DRAIN_GRACE_S} s)")
            late_ready = [t for t, s in ready_probe if s == 200 and t > 0.5]
            if late_ready:
                notes.append(f"{r.name}: /ready answered 200 {late_ready[-1]:.2f} s after SIGTERM")
            t_restart = time.monotonic()
            r.start()
            ready_s = r.wait_ready()
            t_ready = time.monotonic()
            time.sleep(SETTLE_S)
            restarts.append({"replica": r, "t_term": t_term, "exit_s": exit_s, "rc": rc,
                             "ready_s": ready_s, "t_ready": t_ready, "t_restart": t_restart,
                             "probes": ready_probe})
            log(f"{r.name}: SIGTERM -> exit {rc} in {exit_s * 1000:.0f} ms, restarted, "
                f"/ready 200 after {ready_s:.2f} s")

        # ---- kill -9
        traffic.set_phase("kill -9")
        time.sleep(1.0)
        victim = busiest(replicas)
        t_kill = time.monotonic()
        victim.proc.kill()
        victim.proc.wait()
        traffic.set_phase("after kill -9")
        time.sleep(4.0)
        victim.start()
        kill_ready_s = victim.wait_ready()
        time.sleep(SETTLE_S)
        log(f"{victim.name} (the busiest): SIGKILL, restarted after 4 s, /ready 200 after "
            f"{kill_ready_s:.2f} s")

        stuck = traffic.finish()
        if stuck:
            problems.append(f"{len(stuck)} client(s) still waiting at the end (hang): "
                            + ", ".join(stuck[:5]))
        results = traffic.snapshot()
        # The end: every replica stops on SIGTERM with 0 (no traffic left).
        final_rc = {}
        for r in replicas:
            r.proc.send_signal(signal.SIGTERM)
        for r in replicas:
            try:
                final_rc[r.name] = r.proc.wait(timeout=DRAIN_GRACE_S + 5)
            except subprocess.TimeoutExpired:
                final_rc[r.name] = None
                r.kill()
        for name, rc in final_rc.items():
            if rc != 0:
                problems.append(f"{name} exited with {rc} on the final SIGTERM (expected 0)")

        # ---- requirements
        by_phase = {}
        for res in results:
            by_phase.setdefault(res.phase, []).append(res)
        phases = ["steady", "rolling restarts", "kill -9", "after kill -9"]

        hangs = [res for res in results if res.how == "hang"]
        if hangs:
            problems.insert(0, f"{len(hangs)} request(s) hung past the {CLIENT_TIMEOUT_S:.0f} s "
                            f"client timeout (first: {hangs[0].kind} in '{hangs[0].phase}': "
                            f"{hangs[0].error})")
        # Before the kill (steady, rolling restarts): nothing may fail.
        bad = [res for res in results if not res.ok and res.end < t_kill]
        if bad:
            problems.append(f"{len(bad)} failed request(s) before the kill, during "
                            + ", ".join(sorted({res.phase for res in bad}))
                            + f" (first: {bad[0].kind} via {bad[0].upstream or '?'}: "
                            f"{bad[0].error})")
        # Restarted replicas serve again before the next one goes down.
        for rs in restarts:
            served = [res for res in results if res.ok and rs["t_ready"] <= res.start < t_kill
                      and res.upstream.split(", ")[-1] == rs["replica"].addr]
            rs["served_after"] = len(served)
            if not served:
                problems.append(f"{rs['replica'].name} served nothing after its restart")
            drained = [res for res in results if res.ok and res.start < rs["t_term"] < res.end
                       and res.upstream.split(", ")[-1] == rs["replica"].addr]
            rs["drained"] = len(drained)
        # kill -9: only requests in flight at the kill may fail, cleanly, at most that many.
        in_flight = [res for res in results if res.start < t_kill <= res.end]
        on_victim = [res for res in in_flight if victim.addr in res.upstream]
        rescued = [res for res in on_victim if res.ok]  # nginx sent them on to another replica
        first_try = {}  # in flight at the kill, by the replica nginx sent them to first
        for res in in_flight:
            if res.upstream:
                name = next((r.name for r in replicas if r.addr == res.upstream.split(", ")[0]), "?")
                first_try[name] = first_try.get(name, 0) + 1
        kill_failed = [res for res in results if not res.ok and res.end >= t_kill]
        not_in_flight = [res for res in kill_failed if res.start >= t_kill]
        if not_in_flight:
            res = not_in_flight[0]
            problems.append(f"{len(not_in_flight)} request(s) started after the kill failed "
                            f"(first: {res.kind} +{(res.start - t_kill) * 1000:.0f} ms via "
                            f"{res.upstream or '?'}: {res.error})")
        unclean = [res for res in kill_failed if res.how not in ("http", "cut")]
        if unclean:
            problems.append(f"{len(unclean)} unclean failure(s) at the kill (first: "
                            f"{unclean[0].kind}, {unclean[0].how}: {unclean[0].error})")
        elsewhere = [res for res in kill_failed if res.upstream and victim.addr not in res.upstream]
        if elsewhere:
            problems.append(f"{len(elsewhere)} failure(s) at the kill not on {victim.name} "
                            f"(first via {elsewhere[0].upstream}: {elsewhere[0].error})")
        if len(kill_failed) > min(args.clients, len(in_flight)):
            problems.append(f"{len(kill_failed)} failures at the kill, more than the "
                            f"{len(in_flight)} requests in flight")
        after_ok = [res for res in by_phase.get("after kill -9", []) if res.ok]
        if not after_ok:
            problems.append("no request succeeded after the kill")

        # ---- report
        print()
        print(f"{'phase':<18} | {'requests':>8} | {'failures':>8} | {'p50 ms':>8} | {'p99 ms':>8}")
        print(f"{'-' * 18}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 8}-+-{'-' * 8}")
        for name in phases:
            rs_ = by_phase.get(name, [])
            lat = [res.ms for res in rs_ if res.ok]
            print(f"{name:<18} | {len(rs_):>8} | {sum(not res.ok for res in rs_):>8} | "
                  f"{percentile(lat, 0.50):>8.1f} | {percentile(lat, 0.99):>8.1f}")
        print("answered after an nginx retry on another replica: " + ", ".join(
            f"{name} {sum(res.ok and ', ' in res.upstream for res in by_phase.get(name, []))}"
            for name in phases))
        print()
        print("p50 / p99 ms by kind:  " + "   ".join(
            f"{k}: " + " ".join(
                f"{percentile([res.ms for res in by_phase.get(p, []) if res.ok and res.kind == k], q):.0f}"
                for p, q in (("steady", 0.5), ("steady", 0.99), ("rolling restarts", 0.99)))
            for k in Traffic.KINDS) + "   (steady p50, steady p99, restarts p99)")
        for rs in restarts:
            r = rs["replica"]
            probes = []  # runs of the same answer: "200 to +3 ms, refused from +5 ms"
            for t, st in rs["probes"]:
                label = str(st) if st else "refused"
                if not probes or probes[-1][0] != label:
                    probes.append([label, t, t])
                probes[-1][2] = t
            probes = [f"{label} +{a * 1000:.0f}..{b * 1000:.0f} ms" for label, a, b in probes]
            print(f"{r.name}: SIGTERM -> exit {rs['rc']} in {rs['exit_s'] * 1000:.0f} ms "
                  f"({rs['drained']} request(s) in flight there finished during the drain; "
                  f"/ready while draining: {', '.join(probes) or 'not probed'}), "
                  f"ready {rs['ready_s']:.2f} s after restart, served {rs['served_after']} after")
        print(f"{victim.name}: kill -9 with {len(in_flight)} request(s) in flight through nginx "
              f"({len(on_victim)} known on {victim.name}, {len(rescued)} of them retried by nginx "
              f"and answered; first tries: " + ", ".join(f"{k} {v}" for k, v in sorted(first_try.items()))
              + f"), {len(kill_failed)} failed: " + (", ".join(sorted(
                  {f"{res.kind} {res.how} ({res.error[:60]})" for res in kill_failed}))
                  or "none"))
        print("final SIGTERM: " + ", ".join(f"{n} exit {rc}" for n, rc in final_rc.items()))
        for n in notes:
            print("note: " + n)
        print(f"total {time.monotonic() - t_begin:.0f} s, {len(results)} requests, "
              f"{args.clients} clients; logs in {tmp}")
    except Exception as e:  # a replica or nginx that does not start: one line, then the logs
        problems.insert(0, f"{type(e).__name__}: {e}")
    finally:
        if traffic:
            traffic.stop.set()
        if nginx:
            nginx.stop()
        for r in replicas:
            if r.proc and r.proc.poll() is None:
                r.proc.send_signal(signal.SIGTERM)
        for r in replicas:
            if r.proc:
                try:
                    r.proc.wait(timeout=DRAIN_GRACE_S + 5)
                except subprocess.TimeoutExpired:
                    r.kill()

    if problems:
        for r in replicas:
            log(f"--- {r.name} log tail ---\n{r.log_tail()}")
        if nginx:
            log(f"--- nginx error log tail ---\n{nginx.error_tail()}")
        print(f"rolling_restart: FAIL: {problems[0]}")
        for p in problems[1:]:
            print(f"  also: {p}")
        if not args.keep:
            log(f"kept {tmp} for inspection")
        return 1
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print("rolling_restart: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
