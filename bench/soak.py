#!/usr/bin/env python3
"""Soak (issue 15): 20,000 mixed requests through one `modelrt serve` with a local and a remote
model; 0 unexpected errors, RSS growth under 5 % after warm-up, no fd or thread leak, all queues
empty at the end. A check with a pass/fail exit status, not part of scripts/test.

Run through scripts/soak (which builds modelrt):

    scripts/soak                         # 20,000 requests from 16 clients
    scripts/soak --quick                 # 2,000 requests (warm-up 1,000): a smoke check
    scripts/soak --requests 50000 --clients 32 --bin /tmp/other/bin
    scripts/soak --upstream llama-server # the remote alias on llama-server instead of modelrt

The server under test ("front") serves, in process, stories260K (`chat`, generation) and two
random-weight BERT models (`embed`, `rerank`; written by modelrt-testmodel, or the demo
catalog's when that tool is missing), and `remote`, a generation alias of provider type `openai`
whose base_url is a second server (a second `modelrt serve` serving stories260K, or the pinned
llama-server). API keys are on, on both: the front checks the clients' key, and sends its own
key (api_key_env) to the upstream.

The requests are planned up front from --seed: 90 % good ones spread evenly over eleven kinds
(OpenAI embeddings, rerank, whole and streamed chat, completions, the remote alias whole and
streamed, Anthropic /v1/messages whole and streamed, Ollama /api/chat whole and NDJSON streamed),
5 % malformed (bad JSON, wrong types, missing fields, unknown model, values over the server's
limits, an oversized body, bad or missing keys, unknown routes and methods, and broken HTTP
framing: Content-Length with Transfer-Encoding, two Content-Lengths, no Host, bare LF, obs-fold,
an oversized header section, a bad chunk size...), and 5 % dropped by the client (the socket
closed right after the request, half-way through the request body, or after the first piece of
a streamed answer; closed with FIN or with RST). --clients clients send them, each on its own
keep-alive connection (framing errors, oversized bodies and drops on a connection of their own).

Outcomes: a good request must get a 2xx whose body is what the API promises (a complete stream:
`data: [DONE]`, `message_stop`, a `done: true` line; no error event inside); a malformed one a
4xx whose body is a JSON object with an `error` field; a dropped one is not judged, but the
server must stay healthy. Anything else (a 5xx, a 429/503 refusal, a wrong body, a broken
connection, no complete answer within --timeout seconds) is an unexpected error.

Leaks: the server's RSS (/proc/PID/status VmRSS), open fds (/proc/PID/fd) and threads
(/proc/PID/status Threads) are sampled every --sample-every requests under load. The first
--warmup requests are the warm-up; after them, and again at the end, the clients close their
connections and the server is sampled idle: the idle samples are the ones compared (under load,
the open client connections would hide a leak of that size). The warm-up is long because the
server's memory grows in steps at first (the prompt cache fills, engines' compute buffers and
the allocator's arenas reach the sizes the traffic's peaks need): about 35 MiB over the first
1,000 requests here, a few MiB more by 2,000, so --quick's figure is the noisier one. It does
not end there by itself: the engines reserve their buffers for the largest batch at load and
the kernel backs their pages when a batch first reaches them, so RSS steps up (and stays) the
first time enough large requests coincide, which in mixed traffic may take tens of thousands of
requests (one 18 MiB step came after 31,000 on a loaded machine). A BERT embedder that served
only small requests went from 56 to 176 MiB on one burst of 16 concurrent requests of 8
inputs, and not a byte more on the next. So the warm-up ends with a burst (--peak-rounds): for
each kind in turn, --clients requests of the largest shape in the mix, all at once. These are
not in the --requests count and their outcomes are judged like any good request's.
Requirements:
  - 0 unexpected errors (tolerances 0: a 503 "overloaded" for a good request counts too; on a
    machine so loaded that requests wait over server.max_queue_wait_ms, that is what it gets);
  - RSS growth after warm-up < --max-rss-growth % (the last sample under load, and the idle
    end, against the idle sample after the warm-up);
  - fds back to their post-warm-up idle level, within --fd-tolerance, not counting the front's
    keep-alive connections to the upstream: that pool keeps idle connections up to its peak
    concurrency, so its size after a run depends on how many remote calls once overlapped, not on
    leaks; it is reported, and must stay within --clients plus the tolerance;
  - threads back to their post-warm-up idle level, within --thread-tolerance (dispatch threads
    idle for executor_idle_timeout_s exit; the end is polled for up to --settle seconds until
    fds and threads are back);
  - /metrics: modelrt_queue_depth, modelrt_queue_work and modelrt_model_in_flight (and
    modelrt_requests_waiting and modelrt_requests_running, in builds that have them) are 0 for
    every model, modelrt_http_requests_in_flight is 1 (the /metrics request itself), and no
    request was counted with a 5xx status (dropped ones are 499); the same gauges are 0 on an
    upstream modelrt (a dropped remote call must end the upstream's call too);
  - the server is alive and /health and /ready answer 200.
Prints the RSS curve, the outcome table by kind, the malformed variants and their statuses, and
one PASS/FAIL line per requirement; exits 1 if any failed (the logs are then kept).
"""
import argparse
import asyncio
import glob
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from serve_util import free_port, proc_status, raise_open_files, stop_server, wait_ok

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
STORIES = os.path.join(SOURCE, "models", "stories260K.gguf")

API_KEY = "soak-client-key"
UPSTREAM_KEY = "soak-upstream-key"
KEY_ENV = "MODELRT_SOAK_API_KEYS"
UPSTREAM_KEY_ENV = "MODELRT_SOAK_UPSTREAM_KEY"
MAX_BODY = 1 << 20  # server.max_body_bytes of the front: an oversized body is cheap to send

WORDS = ("once upon a time there was a little girl named lily she liked to play in the park "
         "with her dog max one day they found a big red ball under a tree the sun was warm and "
         "the birds sang happy songs her mom made cookies and they all shared them").split()

KINDS = ["embed", "rerank", "chat", "chat_stream", "completion", "remote_chat", "remote_stream",
         "messages", "messages_stream", "ollama_chat", "ollama_stream"]
STREAM_KINDS = {"chat_stream", "remote_stream", "messages_stream", "ollama_stream"}
# Malformed variants. The body ones go on the client's keep-alive connection (the server must
# keep it usable after a 4xx); the framing ones (and the oversized body, which the server
# answers 413 before reading it) on a connection of their own, which the server closes.
BODY_VARIANTS = ["bad_json", "not_object", "wrong_type", "missing_field", "unknown_model",
                 "over_limit", "bad_utf8", "empty_body", "wrong_key", "bad_auth_scheme",
                 "no_key", "unknown_route", "wrong_method"]
FRAMING_VARIANTS = ["oversized_body", "cl_and_te", "double_cl", "no_host", "bad_cl", "bare_lf",
                    "obs_fold", "huge_header", "te_not_chunked", "bad_chunk_size"]
MALFORMED_VARIANTS = BODY_VARIANTS + FRAMING_VARIANTS
STREAM_DROPS = ["mid_stream", "mid_stream_rst", "mid_stream", "after_send", "mid_stream_rst",
                "mid_request"]
WHOLE_DROPS = ["after_send", "after_send_rst", "mid_request"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.split("\n")[2:]))
    p.add_argument("--bin", required=True, help="folder with modelrt (and modelrt-testmodel)")
    p.add_argument("--quick", action="store_true", help="2,000 requests: a smoke check")
    p.add_argument("--requests", type=int, help="requests in all (default 20,000; --quick 2,000)")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients")
    p.add_argument("--warmup", type=int,
                   help="requests before the baseline (default 2,000; --quick 1,000: the first "
                        "thousand fill the server's caches, see --help)")
    p.add_argument("--sample-every", type=int,
                   help="requests between samples (default 1,000; --quick 100)")
    p.add_argument("--peak-rounds", type=int, default=2,
                   help="rounds of the warm-up's closing burst of largest-shape requests "
                        "(0: none; see --help)")
    p.add_argument("--malformed", type=float, default=5.0, help="percent malformed")
    p.add_argument("--dropped", type=float, default=5.0, help="percent dropped by the client")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a request may take before it counts as a hang")
    p.add_argument("--max-rss-growth", type=float, default=5.0, help="percent")
    p.add_argument("--fd-tolerance", type=int, default=2)
    p.add_argument("--thread-tolerance", type=int, default=2)
    p.add_argument("--settle", type=float, default=45.0,
                   help="seconds the end may take to get back to the warm-up's fds and threads")
    p.add_argument("--idle-wait", type=float, default=3.0,
                   help="seconds idle before an idle sample (lingering closes end within 2 s)")
    p.add_argument("--threads", type=int, default=1, help="compute threads per model")
    p.add_argument("--http-threads", type=int, default=0, help="server I/O threads (0: default)")
    p.add_argument("--upstream", choices=["modelrt", "llama-server"], default="modelrt",
                   help="what serves the remote alias")
    p.add_argument("--llama-bin", help="folder with llama-server (default: the pinned build in "
                                       "$MODELRT_CACHE or ~/.cache/modelrt)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--logs", help="keep configs and server logs here (default: a temporary "
                                  "folder, kept only when a requirement fails)")
    a = p.parse_args()
    a.requests = a.requests or (2000 if a.quick else 20000)
    a.warmup = a.warmup if a.warmup is not None else (1000 if a.quick else 2000)
    a.sample_every = a.sample_every or (100 if a.quick else 1000)
    if not 0 < a.warmup < a.requests:
        p.error("--warmup must be between 0 and --requests")
    return a


# ---- the plan --------------------------------------------------------------------------------

def text(rng, lo, hi):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def good_body(kind, rng, i):
    """(method, path, JSON body, extra headers) of a good request of `kind`."""
    user = [{"role": "user", "content": text(rng, 3, 12)}]
    if rng.random() < 0.3:
        user = [{"role": "system", "content": "You tell short stories."}] + user
    seed = rng.randint(0, 1 << 30)
    if kind == "embed":
        return "/v1/embeddings", {"model": "embed",
                                  "input": [text(rng, 2, 24) for _ in range(rng.randint(1, 4))]}
    if kind == "rerank":
        return "/v1/rerank", {"model": "rerank", "query": text(rng, 2, 6),
                              "documents": [text(rng, 3, 20) for _ in range(rng.randint(2, 6))]}
    if kind in ("chat", "chat_stream", "remote_chat", "remote_stream"):
        stream = kind.endswith("_stream")
        body = {"model": "remote" if kind.startswith("remote") else "chat", "messages": user,
                "max_tokens": 32 if stream else 16, "temperature": 0.8, "seed": seed}
        if stream:
            body["stream"] = True
            if rng.random() < 0.5:
                body["stream_options"] = {"include_usage": True}
        return "/v1/chat/completions", body
    if kind == "completion":
        return "/v1/completions", {"model": "chat", "prompt": "Once upon a time " + text(rng, 1, 8),
                                   "max_tokens": 16, "temperature": 0.8, "seed": seed}
    if kind in ("messages", "messages_stream"):
        body = {"model": "chat", "max_tokens": 32 if kind == "messages_stream" else 16,
                "messages": [{"role": "user", "content": text(rng, 3, 12)}],
                "temperature": 0.8}
        if rng.random() < 0.3:
            body["system"] = "You tell short stories."
        if kind == "messages_stream":
            body["stream"] = True
        return "/v1/messages", body
    if kind in ("ollama_chat", "ollama_stream"):
        body = {"model": "chat", "messages": user,
                "options": {"num_predict": 32 if kind == "ollama_stream" else 16, "seed": seed}}
        if kind == "ollama_chat":
            body["stream"] = False  # the stream is the default
        return "/api/chat", body
    raise ValueError(kind)


def break_body(kind, body, variant):
    """The body of malformed `variant` (a body-level one) derived from a good `body`."""
    b = dict(body)
    field = {"embed": "input", "rerank": "documents", "completion": "prompt"}.get(kind, "messages")
    if variant == "wrong_type":
        b[field] = {"embed": 42, "rerank": "one document", "completion": 3.5}.get(kind, "hi")
        if kind.startswith("messages"):
            b = dict(body, max_tokens="ten")
    elif variant == "missing_field":
        b.pop({"rerank": "query"}.get(kind, field))
        if kind.startswith("messages"):
            b = dict(body)
            b.pop("max_tokens")  # required by Anthropic's API
    elif variant == "unknown_model":
        b["model"] = "no-such-model"
    elif variant == "over_limit":
        if kind == "embed":
            b["input"] = ["x"] * 2049  # server.max_batch_inputs is 2048
        elif kind == "rerank":
            b["documents"] = ["d"] * 1001  # server.max_rerank_documents is 1000
        elif kind.startswith("ollama"):
            b["options"] = {"num_predict": 10 ** 6}  # server.max_tokens_limit is 4096
        else:
            b["max_tokens"] = 10 ** 6
    return b


def plan(a):
    """One (kind, category, variant, method, path, body bytes, headers) per request."""
    rng = random.Random(a.seed)
    n = a.requests
    n_bad = round(n * a.malformed / 100)
    n_drop = round(n * a.dropped / 100)
    order = list(range(n))
    rng.shuffle(order)
    category = ["good"] * n
    for i in order[:n_bad]:
        category[i] = "malformed"
    for i in order[n_bad:n_bad + n_drop]:
        category[i] = "dropped"
    jobs = []
    seen = {"malformed": 0, "dropped": 0}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        path, body = good_body(kind, rng, i)
        cat = category[i]
        variant = ""
        if cat == "malformed":
            variant = MALFORMED_VARIANTS[seen["malformed"] % len(MALFORMED_VARIANTS)]
            seen["malformed"] += 1
        elif cat == "dropped":
            # Streams are mostly left half-read; other answers come whole, so those are left
            # before the answer (or before the request's end).
            choices = STREAM_DROPS if kind in STREAM_KINDS else WHOLE_DROPS
            variant = choices[seen["dropped"] % len(choices)]
            seen["dropped"] += 1
        raw, fresh = render(kind, path, body, cat, variant, i, rng)
        jobs.append({"i": i, "kind": kind, "cat": cat, "variant": variant, "raw": raw,
                     "fresh": fresh, "split": len(raw) // 2})
    return jobs


class Largest(random.Random):
    """An rng for good_body that picks the largest shape the traffic has (the words vary)."""

    def randint(self, a, b):
        return b

    def random(self):
        return 0.0


def burst_plan(a):
    """--peak-rounds rounds of, for each kind in turn, --clients requests of its largest shape,
    sent at once: the end of the warm-up, so the engines' buffers have reached the high-water
    mark the traffic can drive them to before the baseline is taken."""
    rng = Largest(a.seed)
    jobs = []
    for r in range(a.peak_rounds):
        for kind in KINDS:
            for c in range(a.clients):
                i = 1_000_000 + len(jobs)
                path, body = good_body(kind, rng, i)
                raw, fresh = render(kind, path, body, "good", "", i, rng)
                jobs.append({"i": i, "kind": kind, "cat": "good", "variant": "", "raw": raw,
                             "fresh": fresh, "split": 0, "burst": True})
    return jobs


def render(kind, path, body, cat, variant, i, rng):
    """(request bytes, needs a connection of its own)."""
    method = "POST"
    auth = [("x-api-key", API_KEY)] if kind.startswith("messages") else [
        ("Authorization", f"Bearer {API_KEY}")]
    if kind.startswith("messages"):
        auth.append(("anthropic-version", "2023-06-01"))
    headers = [("Host", "127.0.0.1"), ("Content-Type", "application/json")] + auth + [
        ("X-Request-Id", f"soak-{i}")]
    data = json.dumps(body).encode()
    chunked = cat == "good" and i % 10 == 3  # some good bodies come chunked
    fresh = cat == "dropped"
    if cat == "malformed":
        v = variant
        if v in ("wrong_type", "missing_field", "unknown_model", "over_limit"):
            data = json.dumps(break_body(kind, body, v)).encode()
        elif v == "bad_json":
            data = data[: len(data) // 2]
        elif v == "not_object":
            data = b'["model", "chat"]'
        elif v == "bad_utf8":
            data = data.replace(b'"model"', b'"mod\xff\xfeel"', 1)
        elif v == "empty_body":
            data = b""
        elif v == "wrong_key":
            headers = [(k, "Bearer wrong-key" if k == "Authorization" else
                        ("wrong-key" if k == "x-api-key" else val)) for k, val in headers]
        elif v == "bad_auth_scheme":
            headers = [(k, val) for k, val in headers if k not in ("Authorization", "x-api-key")]
            headers.append(("Authorization", "Basic c29hazpzb2Fr"))
        elif v == "no_key":
            headers = [(k, val) for k, val in headers if k not in ("Authorization", "x-api-key")]
        elif v == "unknown_route":
            path = "/v1/no-such-route"
        elif v == "wrong_method":
            method = "PUT"
        elif v == "oversized_body":
            data = json.dumps(dict(body, padding="x" * (MAX_BODY + 4096))).encode()
            fresh = True
        else:
            fresh = True
            return framing(v, method, path, headers, data), fresh
    if chunked:
        cut = len(data) // 2
        payload = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n"
                           for p in (data[:cut], data[cut:]) if p) + b"0\r\n\r\n"
        headers = headers + [("Transfer-Encoding", "chunked")]
    else:
        payload = data
        headers = headers + [("Content-Length", str(len(data)))]
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    return head.encode("latin-1") + b"\r\n" + payload, fresh


def framing(v, method, path, headers, data):
    """A request with broken HTTP/1.1 framing (each must be a 4xx, then the connection closes)."""
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {val}" for k, val in headers]
    body = data
    if v == "cl_and_te":
        lines += [f"Content-Length: {len(data)}", "Transfer-Encoding: chunked"]
        body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n"
    elif v == "double_cl":
        lines += [f"Content-Length: {len(data)}", f"Content-Length: {len(data) + 1}"]
    elif v == "no_host":
        lines = [lines[0]] + [l for l in lines[1:] if not l.startswith("Host:")]
        lines.append(f"Content-Length: {len(data)}")
    elif v == "bad_cl":
        lines.append("Content-Length: 12abc")
    elif v == "bare_lf":
        lines.append(f"Content-Length: {len(data)}")
        return ("\n".join(lines) + "\n\n").encode("latin-1") + data
    elif v == "obs_fold":
        lines.append(f"Content-Length: {len(data)}")
        lines.insert(2, "X-Folded: first part")
        lines.insert(3, "  continued on the next line")
    elif v == "huge_header":
        lines.append(f"Content-Length: {len(data)}")
        lines.append("X-Padding: " + "p" * (70 << 10))  # the header limit is 64 KiB
    elif v == "te_not_chunked":
        lines.append("Transfer-Encoding: identity")
    elif v == "bad_chunk_size":
        lines.append("Transfer-Encoding: chunked")
        body = b"zz\r\n" + data + b"\r\n0\r\n\r\n"
    else:
        raise ValueError(v)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---- HTTP/1.1 on asyncio streams -------------------------------------------------------------

class Reply:
    def __init__(self, status, headers, body, complete):
        self.status, self.headers, self.body, self.complete = status, headers, body, complete


async def read_reply(reader, stop_after_chunks=0):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    if status < 200:  # 1xx: the real answer follows
        return await read_reply(reader, stop_after_chunks)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return Reply(status, headers, b"".join(parts), True)
            parts.append(await reader.readexactly(size))
            if await reader.readexactly(2) != b"\r\n":
                raise ValueError("chunk not followed by CRLF")
            if stop_after_chunks and len(parts) >= stop_after_chunks:
                return Reply(status, headers, b"".join(parts), False)
    if "content-length" in headers:
        return Reply(status, headers, await reader.readexactly(int(headers["content-length"])),
                     True)
    return Reply(status, headers, await reader.read(), True)


async def connect(port):
    return await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)


def close(writer, rst=False):
    if writer is None:
        return
    try:
        if rst:  # SO_LINGER 0: the close sends RST, as a killed client's kernel may
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        else:
            writer.close()
    except OSError:
        pass


async def send(writer, data):
    writer.write(data)
    try:
        await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server answered early and closed: its answer may still be readable


# ---- judging answers -------------------------------------------------------------------------

def sse_events(body):
    """[(event, data)] of an SSE body."""
    out = []
    for block in body.decode("utf-8", "replace").replace("\r\n", "\n").split("\n\n"):
        event, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if event or data:
            out.append((event, "\n".join(data)))
    return out


def judge_good(kind, reply):
    """None when `reply` is the promised answer of a good request, else what is wrong."""
    if not 200 <= reply.status < 300:
        return f"status {reply.status}: {reply.body[:200]!r}"
    if not reply.complete:
        return "incomplete body"
    try:
        if kind in ("chat_stream", "remote_stream"):
            events = sse_events(reply.body)
            if not events or events[-1][1] != "[DONE]":
                return f"stream does not end with [DONE]: {reply.body[-200:]!r}"
            pieces = 0
            for _, data in events[:-1]:
                obj = json.loads(data)
                if "error" in obj:
                    return f"error event in the stream: {data[:200]}"
                pieces += len(obj.get("choices") or [])
            return None if pieces else "stream without a choice"
        if kind == "messages_stream":
            events = sse_events(reply.body)
            names = [e for e, _ in events]
            if "error" in names:
                return f"error event in the stream: {reply.body[-300:]!r}"
            if not names or names[0] != "message_start" or names[-1] != "message_stop":
                return f"stream not message_start ... message_stop: {names[:3]} ... {names[-3:]}"
            for _, data in events:
                json.loads(data)
            return None
        if kind == "ollama_stream":
            lines = [json.loads(l) for l in reply.body.decode().splitlines() if l.strip()]
            if any("error" in l for l in lines):
                return f"error line in the stream: {reply.body[-200:]!r}"
            if not lines or lines[-1].get("done") is not True:
                return f"stream does not end with done: true: {reply.body[-200:]!r}"
            return None
        obj = json.loads(reply.body)
        ok = {
            "embed": lambda o: len(o["data"]) > 0 and len(o["data"][0]["embedding"]) > 0,
            "rerank": lambda o: len(o["results"]) > 0,
            "chat": lambda o: isinstance(o["choices"][0]["message"]["content"], str),
            "remote_chat": lambda o: isinstance(o["choices"][0]["message"]["content"], str),
            "completion": lambda o: isinstance(o["choices"][0]["text"], str),
            "messages": lambda o: o["type"] == "message" and isinstance(o["content"], list),
            "ollama_chat": lambda o: o["done"] is True and isinstance(o["message"]["content"],
                                                                      str),
        }[kind](obj)
        return None if ok else f"unexpected body: {reply.body[:200]!r}"
    except (ValueError, KeyError, IndexError, TypeError) as e:
        return f"unreadable body ({type(e).__name__} {e}): {reply.body[:200]!r}"


def judge_malformed(reply):
    if not 400 <= reply.status < 500:
        return f"status {reply.status} (want 4xx): {reply.body[:200]!r}"
    try:
        obj = json.loads(reply.body)
    except ValueError:
        return f"status {reply.status} without a JSON body: {reply.body[:200]!r}"
    if not isinstance(obj, dict) or "error" not in obj:
        return f"status {reply.status}, JSON without 'error': {reply.body[:200]!r}"
    return None


# ---- the server's state ----------------------------------------------------------------------

def socket_ports():
    """inode -> (local port, remote port) of every TCP socket (IPv4 and IPv6)."""
    out = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    p = line.split()
                    out[p[9]] = (int(p[1].rsplit(":", 1)[1], 16), int(p[2].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return out


def sample(pid, upstream_port):
    """{rss MiB, fds, threads, upstream connections} of process `pid`."""
    threads, rss = proc_status(pid)
    links = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            links.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass  # closed meanwhile
    ports = socket_ports()
    up = sum(1 for l in links if l.startswith("socket:[")
             and ports.get(l[8:-1], (0, 0))[1] == upstream_port)
    return {"rss": rss, "fds": len(links), "threads": threads, "up": up}


def get(port, path, key=None, timeout=5):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except OSError as e:
        return 0, str(e)


def metrics(port, key):
    """[(name, labels, value)] from /metrics."""
    status, text_ = get(port, "/metrics", key)
    if status != 200:
        return None
    out = []
    for line in text_.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        name, _, labels = series.partition("{")
        out.append((name, "{" + labels if labels else "", float(value)))
    return out


# Gauges that must read 0 once nothing runs: per model, admitted requests and their work
# (src/server/admission_control.cc), calls in flight, and (where the build has them) engine
# requests waiting and running (src/server/server_metrics.cc).
IDLE_ZERO = ("modelrt_queue_depth", "modelrt_queue_work", "modelrt_model_in_flight",
             "modelrt_requests_waiting", "modelrt_requests_running")


def idle_gauges(series):
    """What is not idle among the gauges that must be 0 (and the in-flight one that must be 1)."""
    busy = []
    for name, labels, value in series:
        if name in IDLE_ZERO and value != 0:
            busy.append(f"{name}{labels} = {value:g}")
        if name == "modelrt_http_requests_in_flight" and value != 1:
            busy.append(f"{name} = {value:g} (1 is the /metrics request itself)")
    return busy


# ---- running ---------------------------------------------------------------------------------

class Soak:
    def __init__(self, a, port, pid, upstream_port):
        self.a, self.port, self.pid, self.upstream_port = a, port, pid, upstream_port
        self.results = []
        self.burst_results = []  # the warm-up's burst of largest shapes, apart from the plan
        self.curve = []  # (requests done, sample, phase)
        self.done = 0

    async def run_phase(self, jobs):
        queue = iter(jobs)

        async def client():
            conn = [None, None]  # reader, writer of the keep-alive connection
            for job in queue:
                t0 = time.monotonic()
                try:
                    outcome, detail, status = await asyncio.wait_for(
                        self.one(job, conn), timeout=self.a.timeout)
                except asyncio.TimeoutError:
                    outcome, detail, status = "unexpected", f"no complete answer in " \
                        f"{self.a.timeout:.0f} s (a hang)", -1
                    close(conn[1])
                    conn[:] = [None, None]
                if job["cat"] == "dropped":
                    outcome, detail = "dropped", ""
                if job.get("burst"):
                    self.burst_results.append({"kind": job["kind"], "outcome": outcome,
                                               "status": status, "detail": detail,
                                               "cat": "good", "variant": "burst",
                                               "i": job["i"]})
                    continue
                self.results.append({"kind": job["kind"], "cat": job["cat"],
                                     "variant": job["variant"], "outcome": outcome,
                                     "status": status, "detail": detail,
                                     "seconds": time.monotonic() - t0, "i": job["i"]})
                self.done += 1
                if self.done % self.a.sample_every == 0:
                    self.curve.append((self.done, sample(self.pid, self.upstream_port), "load"))
            close(conn[1])

        await asyncio.gather(*(client() for _ in range(self.a.clients)))

    async def one(self, job, conn):
        """(outcome, detail, status) of one planned request."""
        cat, variant = job["cat"], job["variant"]
        if cat == "dropped":
            return await self.drop(job)
        if job["fresh"]:
            reader, writer = await connect(self.port)
            try:
                await send(writer, job["raw"])
                reply = await read_reply(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError) as e:
                return "unexpected", f"{variant}: no answer ({type(e).__name__}: {e})", 0
            finally:
                close(writer)
            bad = judge_malformed(reply)
            return ("unexpected", f"{variant}: {bad}", reply.status) if bad else \
                ("malformed_4xx", "", reply.status)
        reused = conn[1] is not None
        try:
            if not reused:
                conn[:] = await connect(self.port)
            conn[1].write(job["raw"])
            await conn[1].drain()
            reply = await read_reply(conn[0])
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError) as e:
            close(conn[1])
            conn[:] = [None, None]
            where = "a reused keep-alive" if reused else "a new"
            return "unexpected", f"{variant or 'good'}: connection failed on {where} " \
                f"connection ({type(e).__name__}: {e})", 0
        if reply.headers.get("connection", "").lower() == "close":
            close(conn[1])
            conn[:] = [None, None]
        if cat == "malformed":
            bad = judge_malformed(reply)
            return ("unexpected", f"{variant}: {bad}", reply.status) if bad else \
                ("malformed_4xx", "", reply.status)
        bad = judge_good(job["kind"], reply)
        return ("unexpected", bad, reply.status) if bad else ("ok", "", reply.status)

    async def drop(self, job):
        variant, raw = job["variant"], job["raw"]
        rst = variant.endswith("_rst")
        status = 0
        try:
            reader, writer = await connect(self.port)
        except OSError as e:
            return "unexpected", f"connect failed: {e}", 0
        try:
            if variant.startswith("mid_request"):
                await send(writer, raw[: job["split"]])
            else:
                await send(writer, raw)
                if variant.startswith("mid_stream"):
                    reply = await read_reply(reader, stop_after_chunks=1)
                    status = reply.status
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            close(writer, rst)
        return "dropped", "", status

    async def idle_sample(self, phase):
        await asyncio.sleep(self.a.idle_wait)
        s = sample(self.pid, self.upstream_port)
        self.curve.append((self.done, s, phase))
        return s


def testmodels(a, work):
    """(embed.gguf, rerank.gguf): random BERTs from modelrt-testmodel, else the demo's."""
    tool = os.path.join(a.bin, "modelrt-testmodel")
    embed, rerank = f"{work}/bert-embed.gguf", f"{work}/bert-rerank.gguf"
    if os.path.exists(tool):
        for kind, out in (("embed", embed), ("rerank", rerank)):
            subprocess.run([tool, "--kind", kind, "--out", out, "--embd", "128", "--layers", "2",
                            "--heads", "4", "--ff", "256", "--ctx", "512", "--seed", "7"],
                           check=True, capture_output=True)
        return embed, rerank
    # The embedded demo catalog writes its BERTs into <data dir>/models on first use.
    env = dict(os.environ, MODELRT_DATA_DIR=f"{work}/demo")
    subprocess.run([os.path.join(a.bin, "modelrt"), "models"], env=env, check=True,
                   capture_output=True)
    embed, rerank = f"{work}/demo/models/demo-embed.gguf", f"{work}/demo/models/demo-rerank.gguf"
    if not (os.path.exists(embed) and os.path.exists(rerank)):
        sys.exit("no modelrt-testmodel next to modelrt, and the demo catalog wrote no BERT models")
    return embed, rerank


def find_llama_server(a):
    if a.llama_bin:
        return os.path.join(a.llama_bin, "llama-server")
    cache = os.environ.get("MODELRT_CACHE", os.path.expanduser("~/.cache/modelrt"))
    found = sorted(glob.glob(f"{cache}/llama.cpp-*/build/bin/llama-server"))
    if not found:
        sys.exit(f"no llama-server under {cache}/llama.cpp-*/build/bin (scripts/setup builds it; "
                 f"or pass --llama-bin)")
    return found[-1]


def start(cmd, log_path, url, name):
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    return wait_ok(proc, url, name)


def start_servers(a, work):
    """(front process, front port, upstream process, upstream port, upstream is modelrt)."""
    os.environ[KEY_ENV] = API_KEY
    os.environ[UPSTREAM_KEY_ENV] = UPSTREAM_KEY
    embed, rerank = testmodels(a, work)
    modelrt = os.path.join(a.bin, "modelrt")
    up_port, port = free_port(), free_port()
    while port == up_port:
        port = free_port()
    gen_opts = {"ctx": 512, "parallel": 8, "threads": a.threads}
    if a.upstream == "modelrt":
        up_config = {
            "server": {"host": "127.0.0.1", "port": up_port, "data_dir": f"{work}/data-upstream",
                       "api_keys_env": UPSTREAM_KEY_ENV},
            "providers": [{"id": "local", "type": "llama", "options": {"threads": a.threads}}],
            "models": [{"alias": "chat", "task": "generate", "model": STORIES, "warmup": "eager",
                        "required": True, "options": gen_opts}],
        }
        with open(f"{work}/upstream.json", "w") as f:
            json.dump(up_config, f, indent=1)
        up = start([modelrt, "serve", "-c", f"{work}/upstream.json"], f"{work}/upstream.log",
                   f"http://127.0.0.1:{up_port}/ready", "the upstream modelrt")
    else:
        up = start([find_llama_server(a), "-m", STORIES, "--host", "127.0.0.1", "--port",
                    str(up_port), "-t", str(a.threads), "-np", "8", "-c", "4096", "--no-webui",
                    "--api-key", UPSTREAM_KEY], f"{work}/upstream.log",
                   f"http://127.0.0.1:{up_port}/health", "llama-server")
    server = {"host": "127.0.0.1", "port": port, "data_dir": f"{work}/data-front",
              "api_keys_env": KEY_ENV, "max_body_bytes": MAX_BODY}
    if a.http_threads:
        server["threads"] = a.http_threads
    bert = {"ctx": 512, "parallel": 8, "threads": a.threads}
    config = {
        "server": server,
        "providers": [
            {"id": "local", "type": "llama", "options": {"threads": a.threads}},
            {"id": "up", "type": "openai", "base_url": f"http://127.0.0.1:{up_port}/v1",
             "api_key_env": UPSTREAM_KEY_ENV, "options": {"timeout_s": 60}},
        ],
        "models": [
            {"alias": "chat", "task": "generate", "provider": "local", "model": STORIES,
             "warmup": "eager", "required": True, "options": gen_opts},
            {"alias": "embed", "task": "embed", "provider": "local", "model": embed,
             "warmup": "eager", "required": True, "options": bert},
            {"alias": "rerank", "task": "rerank", "provider": "local", "model": rerank,
             "warmup": "eager", "required": True, "options": bert},
            {"alias": "remote", "task": "generate", "provider": "up", "model": "chat",
             "warmup": "eager", "required": True},
        ],
    }
    with open(f"{work}/front.json", "w") as f:
        json.dump(config, f, indent=1)
    try:
        front = start([modelrt, "serve", "-c", f"{work}/front.json"], f"{work}/front.log",
                      f"http://127.0.0.1:{port}/ready", "modelrt (the server under test)")
    except SystemExit:
        stop_server(up)
        raise
    return front, port, up, up_port, a.upstream == "modelrt"


def pct(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def print_tables(soak, warm_mark):
    print("\nRSS, fds and threads of the server under test (load: sampled while the clients "
          "run; idle: their connections closed, a few seconds later)\n")
    print("| requests | phase | RSS MiB | fds | threads | upstream conns |")
    print("|---:|---|---:|---:|---:|---:|")
    for done, s, phase in soak.curve:
        mark = " (warm-up, then its burst)" if done == warm_mark and phase == "load" else ""
        print(f"| {done}{mark} | {phase} | {s['rss']:.1f} | {s['fds']} | {s['threads']} | "
              f"{s['up']} |")
    print("\n| kind | requests | ok | malformed-4xx | dropped | unexpected | ok p50 ms | "
          "ok p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for kind in KINDS + ["all"]:
        rs = [r for r in soak.results if kind == "all" or r["kind"] == kind]
        count = {o: sum(1 for r in rs if r["outcome"] == o)
                 for o in ("ok", "malformed_4xx", "dropped", "unexpected")}
        ok_s = [r["seconds"] * 1000 for r in rs if r["outcome"] == "ok"]
        name = f"**{kind}**" if kind == "all" else kind
        print(f"| {name} | {len(rs)} | {count['ok']} | {count['malformed_4xx']} | "
              f"{count['dropped']} | {count['unexpected']} | {pct(ok_s, 0.5):.1f} | "
              f"{pct(ok_s, 0.99):.1f} |")
    print("\n| malformed variant | sent | 4xx with a JSON error | statuses |")
    print("|---|---:|---:|---|")
    for v in MALFORMED_VARIANTS:
        rs = [r for r in soak.results if r["variant"] == v]
        statuses = {}
        for r in rs:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
        print(f"| {v} | {len(rs)} | {sum(1 for r in rs if r['outcome'] == 'malformed_4xx')} | "
              + ", ".join(f"{k}: {n}" for k, n in sorted(statuses.items())) + " |")
    drops = {}
    for r in soak.results:
        if r["cat"] == "dropped":
            drops[r["variant"]] = drops.get(r["variant"], 0) + 1
    print("\ndropped by the client: " + ", ".join(f"{k} {n}" for k, n in sorted(drops.items())))


def main():
    a = parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    raise_open_files(a.clients * 4)
    work = a.logs or tempfile.mkdtemp(prefix="modelrt-soak-")
    os.makedirs(work, exist_ok=True)
    jobs = plan(a)
    burst = burst_plan(a)
    front, port, up, up_port, up_is_modelrt = start_servers(a, work)
    failures, passes = [], []

    def check(ok, line):
        (passes if ok else failures).append(line)

    t0 = time.monotonic()
    try:
        soak = Soak(a, port, front.pid, up_port)
        print(f"soak: {a.requests} requests ({a.malformed:g} % malformed, {a.dropped:g} % "
              f"dropped) from {a.clients} clients, warm-up {a.warmup}, a sample every "
              f"{a.sample_every}; upstream {a.upstream}; {os.cpu_count()} CPUs; logs in {work}")
        soak.curve.append((0, sample(front.pid, up_port), "start"))

        async def run():
            await soak.run_phase(jobs[: a.warmup])
            if burst:
                await soak.run_phase(burst)
            warm = await soak.idle_sample("idle")
            print(f"  warm-up done: {soak.done} requests and a burst of {len(burst)} in "
                  f"{time.monotonic() - t0:.1f} s")
            t1 = time.monotonic()
            await soak.run_phase(jobs[a.warmup:])
            print(f"  load done: {soak.done} requests, {len(jobs) - a.warmup} after warm-up in "
                  f"{time.monotonic() - t1:.1f} s")
            return warm, await soak.idle_sample("idle")

        warm_idle, end_idle = asyncio.run(run())
        load_wall = time.monotonic() - t0
        # The end: poll until fds and threads are back (idle dispatch threads exit), up to --settle.
        settle_t0 = time.monotonic()
        base_fds = warm_idle["fds"] - warm_idle["up"]
        while True:
            end = sample(front.pid, up_port)
            if (end["fds"] - end["up"] <= base_fds + a.fd_tolerance
                    and end["threads"] <= warm_idle["threads"] + a.thread_tolerance) \
                    or time.monotonic() - settle_t0 > a.settle:
                break
            time.sleep(1)
        settled_s = time.monotonic() - settle_t0
        if settled_s >= 1:
            soak.curve.append((soak.done, end, f"idle +{settled_s:.0f} s"))
        series = metrics(port, API_KEY)
        busy = idle_gauges(series) if series is not None else ["/metrics did not answer 200"]
        for _ in range(10):  # a cancelled call may take a moment to leave its queue
            if not busy:
                break
            time.sleep(1)
            series = metrics(port, API_KEY)
            busy = idle_gauges(series) if series is not None else ["/metrics did not answer"]
        up_busy = []
        if up_is_modelrt:
            up_series = metrics(up_port, UPSTREAM_KEY)
            up_busy = idle_gauges(up_series) if up_series is not None else \
                ["upstream /metrics did not answer 200"]
        by_class = {}
        for name, labels, value in series or []:
            if name == "modelrt_http_requests_total":
                status = labels.split('status="', 1)[1].split('"', 1)[0] if 'status="' in \
                    labels else "?"
                by_class[status] = by_class.get(status, 0) + value

        print_tables(soak, a.warmup)
        print(f"\nserver-side statuses (modelrt_http_requests_total): " +
              ", ".join(f"{k}: {v:g}" for k, v in sorted(by_class.items())))
        print(f"load: {load_wall:.1f} s for {a.requests} requests "
              f"({a.requests / load_wall:.0f} requests/s, two idle pauses of {a.idle_wait:g} s "
              f"included); the end was idle-checked after {settled_s:.0f} s more")

        unexpected = [r for r in soak.results + soak.burst_results
                      if r["outcome"] == "unexpected"]
        if burst:
            print(f"warm-up burst: {len(soak.burst_results)} requests of the largest shapes, "
                  f"{sum(1 for r in soak.burst_results if r['outcome'] == 'ok')} ok")
        for r in unexpected[:20]:
            print(f"  unexpected: #{r['i']} {r['kind']} {r['cat']} {r['variant']}: {r['detail']}")
        if len(unexpected) > 20:
            print(f"  ... {len(unexpected) - 20} more")
        check(len(soak.results) == a.requests,
              f"every request has an outcome ({len(soak.results)} of {a.requests})")
        check(not unexpected, f"{len(unexpected)} unexpected errors")
        # The baseline is the idle sample after the warm-up (its burst included); the load
        # sample at --warmup was taken before the burst.
        loads = [s for d, s, p in soak.curve if p == "load" and d > a.warmup]
        last_load = loads[-1] if loads else end
        g_load = (last_load["rss"] / warm_idle["rss"] - 1) * 100
        g_idle = (end["rss"] / warm_idle["rss"] - 1) * 100
        check(max(g_load, g_idle) < a.max_rss_growth,
              f"RSS growth after warm-up: {warm_idle['rss']:.1f} MiB after it, then "
              f"{last_load['rss']:.1f} MiB at the last sample under load ({g_load:+.2f} %) and "
              f"{end['rss']:.1f} MiB idle at the end ({g_idle:+.2f} %); limit "
              f"{a.max_rss_growth:g} %")
        check(end["fds"] - end["up"] <= base_fds + a.fd_tolerance,
              f"fds idle: {end['fds']} at the end against {warm_idle['fds']} after warm-up, "
              f"{end['up']} and {warm_idle['up']} of them connections to the upstream "
              f"(without those: {end['fds'] - end['up']} against {base_fds}, tolerance "
              f"{a.fd_tolerance})")
        check(end["up"] <= a.clients + a.fd_tolerance,
              f"upstream keep-alive connections: {end['up']} (at most --clients {a.clients} "
              f"+ {a.fd_tolerance})")
        check(end["threads"] <= warm_idle["threads"] + a.thread_tolerance,
              f"threads idle: {end['threads']} at the end against {warm_idle['threads']} after "
              f"warm-up (tolerance {a.thread_tolerance})")
        seen = sorted({n for n, _, _ in series or [] if n in IDLE_ZERO})
        check(not busy, f"queues empty at the end ({', '.join(seen)} 0 for every model; "
              "modelrt_http_requests_in_flight 1)" +
              (": " + "; ".join(busy) if busy else ""))
        fives = {k: v for k, v in by_class.items() if k.startswith("5")}
        check(series is not None and not fives,
              "no request counted with a 5xx status by the server" +
              (f": {fives}" if fives else ""))
        if up_is_modelrt:
            check(not up_busy, "the upstream's queues empty at the end" +
                  (": " + "; ".join(up_busy) if up_busy else ""))
        health, _ = get(port, "/health")
        ready, _ = get(port, "/ready")
        check(front.poll() is None and health == 200 and ready == 200,
              f"server alive at the end (exit code {front.poll()}, /health {health}, "
              f"/ready {ready})")
    finally:
        stop_server(front)
        stop_server(up)
    print()
    for line in passes:
        print(f"PASS: {line}")
    for line in failures:
        print(f"FAIL: {line}")
    total = time.monotonic() - t0
    if failures:
        print(f"soak FAILED ({len(failures)} of {len(failures) + len(passes)} requirements) "
              f"after {total:.0f} s; configs and logs kept in {work}")
        sys.exit(1)
    print(f"soak passed ({len(passes)} requirements) in {total:.0f} s")
    if not a.logs:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
