#!/usr/bin/env python3
"""Replicas sharing their jobs and registry on a real PostgreSQL server.

    tests/deploy/shared_state.py build/bin/modelrt        # ctest runs exactly this
    tests/deploy/shared_state.py build/bin/modelrt --keep # and keeps the temporary directory

Starts PostgreSQL (tests/support/postgres_server.sh: Debian's server, a temporary directory,
127.0.0.1) and three `modelrt serve` replicas whose config puts the jobs (`jobs.store`: one queue,
2 s leases, a `shared_dir` all three use) and the registry journal (`registry.store`) in it.
Then, through each replica's own port:

  registry  a provider and a model registered through replica 1's admin API: replicas 2 and 3
            list the model (how soon is measured) and replica 2 serves a completion with it
  jobs      300 external-command jobs submitted round-robin through the three admin APIs, each
            appending its own id to one ledger file: every job succeeds, every id is in the
            ledger exactly once, and each replica ran some
  kill -9   a batch of completions on the demo model (OpenAI's Files and Batches APIs); the
            replica running it (the job names its runner's pid) is SIGKILLed mid-batch: another
            replica takes the job over when the lease runs out and resumes from its last line,
            so the batch completes with every custom_id exactly once

Prints the figures as a table and exits 1 with one line saying why when a requirement failed;
77 (ctest's SKIP_RETURN_CODE) when PostgreSQL is not installed. Python 3 standard library only.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import rolling_restart as rr  # noqa: E402  (its Replica, free_port and find_binary)

SKIP = 77
ADMIN_KEY = "shared-state-admin-key"
LEASE_S = 2
JOBS = 300
BATCH_LINES = 240
PROPAGATION_BOUND_S = 5.0  # fails past this; the requirement (a second) is reported as measured


def log(msg):
    print(f"[shared] {msg}", file=sys.stderr, flush=True)


def call(port, method, path, body=None, headers=None, timeout=30.0, admin=False):
    """(status, parsed JSON or raw bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = dict(headers or {})
    if admin:
        h["Authorization"] = "Bearer " + ADMIN_KEY
    data = body
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=h)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw
    finally:
        conn.close()


def upload(port, name, content):
    boundary = "----modelrt-shared-state"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/jsonl\r\n\r\n{content}\r\n--{boundary}--\r\n").encode()
    return call(port, "POST", "/v1/files", body,
                {"Content-Type": f"multipart/form-data; boundary={boundary}"})


def start_postgres(tmp):
    script = os.path.join(ROOT, "tests", "support", "postgres_server.sh")
    # Directly under /tmp: as root the server runs as nobody, who cannot enter `tmp`.
    pg_dir = tempfile.mkdtemp(prefix="modelrt-pg-")
    out = subprocess.run([script, "start", pg_dir], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=120)
    if out.returncode == SKIP:
        return None, pg_dir
    if out.returncode != 0:
        raise RuntimeError("PostgreSQL did not start: " + out.stderr.decode()[-400:])
    port = int(out.stdout.decode().strip())
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", pg_dir


def write_config(tmp, models_dir, url, shared):
    config = {
        "server": {"host": "127.0.0.1", "drain_grace_s": 5},
        "providers": [{"id": "local", "type": "llama", "options": {"threads": 1}}],
        "models": [{"alias": "chat", "task": "generate", "provider": "local",
                    "model": os.path.join(models_dir, "stories260K.gguf"), "warmup": "eager",
                    "required": True, "options": {"ctx": 512, "parallel": 8}}],
        "jobs": {"store": url, "shared_dir": shared, "lease_s": LEASE_S, "workers": 2,
                 "allowed_programs": ["/bin/sh"]},
        "registry": {"store": url},
    }
    path = os.path.join(tmp, "config.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


def runner_pid(job):
    """The pid in the job's runner ("host:pid:tag"), or None."""
    parts = (job.get("runner") or "").split(":")
    return int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None


def phase_registry(replicas, models_dir, figures):
    a, b, c = replicas
    status, body = call(a.port, "PUT", "/admin/providers/local2",
                        {"type": "llama", "options": {"threads": 1}}, admin=True)
    if status not in (200, 201):
        raise AssertionError(f"PUT /admin/providers/local2 on {a.name}: {status} {body}")
    status, body = call(a.port, "POST", "/admin/models",
                        {"alias": "story2", "provider": "local2", "task": "generate",
                         "model": os.path.join(models_dir, "stories260K.gguf"),
                         "options": {"ctx": 256}}, admin=True)
    if status != 201:
        raise AssertionError(f"POST /admin/models on {a.name}: {status} {body}")
    t0 = time.monotonic()
    seen = {}
    while len(seen) < 2 and time.monotonic() - t0 < PROPAGATION_BOUND_S:
        for r in (b, c):
            if r.name in seen:
                continue
            status, body = call(r.port, "GET", "/v1/models")
            if status == 200 and any(m.get("id") == "story2" for m in body.get("data", [])):
                seen[r.name] = time.monotonic() - t0
        time.sleep(0.005)
    for r in (b, c):
        if r.name not in seen:
            raise AssertionError(f"{r.name} did not list story2 within {PROPAGATION_BOUND_S} s "
                                 f"of its registration on {a.name}")
    status, body = call(b.port, "POST", "/v1/completions",
                        {"model": "story2", "prompt": "Once upon a time", "max_tokens": 8,
                         "temperature": 0}, timeout=60)
    if status != 200 or not body["choices"][0]["text"]:
        raise AssertionError(f"{b.name} could not serve story2: {status} {body}")
    figures.append(("registry: model registered on r1, listed by r2 / r3",
                    f"{seen[b.name] * 1000:.0f} ms / {seen[c.name] * 1000:.0f} ms"))
    log(f"registry: story2 on {b.name} after {seen[b.name] * 1000:.0f} ms, "
        f"{c.name} after {seen[c.name] * 1000:.0f} ms; {b.name} served it")


def phase_jobs(replicas, shared, figures):
    ledger = os.path.join(shared, "ledger.txt")
    script = f'd=$(pwd); d=${{d%/work}}; echo "${{d##*/}}" >> {ledger}'
    ids = []
    t0 = time.monotonic()
    for i in range(JOBS):
        r = replicas[i % 3]
        status, body = call(r.port, "POST", "/admin/jobs",
                            {"kind": "model-external-command",
                             "params": {"program": "/bin/sh", "args": ["-c", script]}},
                            admin=True)
        if status != 201:
            raise AssertionError(f"POST /admin/jobs on {r.name}: {status} {body}")
        ids.append(body["id"])
    pending, done, k = set(ids), {}, 0
    while pending and time.monotonic() - t0 < 180:
        for job_id in list(pending):
            k += 1
            status, body = call(replicas[k % 3].port, "GET", f"/admin/jobs/{job_id}", admin=True)
            if status == 200 and body["state"] in ("succeeded", "failed", "cancelled"):
                done[job_id] = body
                pending.discard(job_id)
        time.sleep(0.1)
    took = time.monotonic() - t0
    if pending:
        raise AssertionError(f"{len(pending)} of {JOBS} jobs unfinished after 180 s")
    bad = [j for j in done.values() if j["state"] != "succeeded"]
    if bad:
        raise AssertionError(f"{len(bad)} jobs did not succeed, e.g. {bad[0]['id']}: "
                             f"{bad[0]['state']} {bad[0].get('error')}")
    with open(ledger) as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    counts = {}
    for ln in lines:
        counts[ln] = counts.get(ln, 0) + 1
    twice = [j for j, n in counts.items() if n > 1]
    missing = [j for j in ids if j not in counts]
    if twice or missing or len(lines) != JOBS:
        raise AssertionError(f"ledger: {len(lines)} lines, {len(twice)} jobs ran more than once, "
                             f"{len(missing)} never ran")
    pids = {r.proc.pid: r.name for r in replicas}
    per = {r.name: 0 for r in replicas}
    for j in done.values():
        per[pids.get(runner_pid(j), "?")] = per.get(pids.get(runner_pid(j), "?"), 0) + 1
    idle = [name for name in (r.name for r in replicas) if per.get(name, 0) == 0]
    if idle:
        raise AssertionError(f"replicas {idle} ran none of the {JOBS} jobs ({per})")
    figures.append((f"jobs: {JOBS} submitted round-robin, each ran once",
                    f"{took:.1f} s; " + " / ".join(f"{n} {per[n]}" for n in sorted(per))))
    log(f"jobs: {JOBS} succeeded in {took:.1f} s, each exactly once; per replica {per}")


def phase_kill(replicas, figures):
    lines = "".join(json.dumps({"custom_id": f"req-{i}", "method": "POST",
                                "url": "/v1/completions",
                                "body": {"model": "chat", "prompt": f"Once upon a time {i}",
                                         "max_tokens": 48, "temperature": 0}}) + "\n"
                    for i in range(BATCH_LINES))
    status, file = upload(replicas[0].port, "in.jsonl", lines)
    if status != 200:
        raise AssertionError(f"POST /v1/files: {status} {file}")
    status, batch = call(replicas[0].port, "POST", "/v1/batches",
                         {"input_file_id": file["id"], "endpoint": "/v1/completions",
                          "completion_window": "24h"})
    if status != 200:
        raise AssertionError(f"POST /v1/batches: {status} {batch}")
    # The batch's job, and which replica runs it, once it has written some lines.
    t0 = time.monotonic()
    victim, job, completed_at_kill = None, None, 0
    while time.monotonic() - t0 < 120 and victim is None:
        status, jobs = call(replicas[1].port, "GET", "/admin/jobs?kind=model-batch-inference",
                            admin=True)
        job = next((j for j in jobs.get("data", []) if j["state"] == "running"), None)
        _, b = call(replicas[1].port, "GET", f"/v1/batches/{batch['id']}")
        completed = (b.get("request_counts") or {}).get("completed", 0)
        if job and completed >= 20:
            pid = runner_pid(job)
            victim = next((r for r in replicas if r.proc.pid == pid), None)
            completed_at_kill = completed
        time.sleep(0.05)
    if victim is None:
        raise AssertionError("the batch never got going on a replica")
    if completed_at_kill >= BATCH_LINES:
        raise AssertionError("the batch finished before it could be interrupted")
    victim.proc.kill()
    victim.proc.wait()
    t_kill = time.monotonic()
    log(f"kill -9: {victim.name} (pid {victim.proc.pid}) at {completed_at_kill} of "
        f"{BATCH_LINES} lines")
    others = [r for r in replicas if r is not victim]
    final = None
    while time.monotonic() - t_kill < 180:
        status, b = call(others[0].port, "GET", f"/v1/batches/{batch['id']}")
        if status == 200 and b["status"] in ("completed", "failed", "cancelled", "expired"):
            final = b
            break
        time.sleep(0.1)
    took = time.monotonic() - t_kill
    if final is None or final["status"] != "completed":
        raise AssertionError(f"after the kill the batch did not complete: {final}")
    status, out = call(others[1].port, "GET", f"/v1/files/{final['output_file_id']}/content")
    if status != 200:
        raise AssertionError(f"batch output: {status}")
    text = out.decode() if isinstance(out, bytes) else json.dumps(out)
    ids = [json.loads(ln)["custom_id"] for ln in text.splitlines() if ln.strip()]
    dupes = len(ids) - len(set(ids))
    if dupes or len(set(ids)) != BATCH_LINES:
        raise AssertionError(f"batch output: {len(ids)} lines, {len(set(ids))} distinct custom_ids "
                             f"(want {BATCH_LINES}, each once)")
    status, after = call(others[0].port, "GET", f"/admin/jobs/{job['id']}", admin=True)
    resumed = any("stopped renewing its lease" in d for d in after.get("diagnostics", []))
    new_runner = {r.proc.pid: r.name for r in others}.get(runner_pid(after), "?")
    if after.get("attempts") != 2 or not resumed:
        raise AssertionError(f"the job was not taken over and resumed: attempts "
                             f"{after.get('attempts')}, diagnostics {after.get('diagnostics')}")
    figures.append((f"kill -9: batch of {BATCH_LINES}, runner killed at line {completed_at_kill}",
                    f"resumed on {new_runner}, completed {took:.1f} s after the kill, "
                    f"{len(ids)} lines, 0 duplicates"))
    log(f"kill -9: resumed on {new_runner}; completed {took:.1f} s after the kill")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binary", nargs="?", help="modelrt binary (else $MODELRT_BIN, build/bin)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    binary = rr.find_binary(args.binary)
    if not binary:
        print("shared_state: FAIL: no modelrt binary (argument, $MODELRT_BIN or build/bin)")
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda n, _f: sys.exit(128 + n))
    tmp = tempfile.mkdtemp(prefix="modelrt-shared-")
    replicas, pg_dir, url = [], None, None
    figures, problem = [], None
    script = os.path.join(ROOT, "tests", "support", "postgres_server.sh")
    try:
        url, pg_dir = start_postgres(tmp)
        if url is None:
            print("shared_state: SKIP: PostgreSQL is not installed (Debian package: postgresql)")
            return SKIP
        demo = os.path.join(tmp, "demo")
        out = subprocess.run([binary, "models"], env=dict(os.environ, MODELRT_DATA_DIR=demo),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        if out.returncode != 0:
            raise RuntimeError("`modelrt models` failed: " + out.stdout.decode()[-400:])
        models_dir = os.path.join(demo, "models")
        shared = os.path.join(tmp, "shared")
        os.makedirs(shared)
        config = write_config(tmp, models_dir, url, shared)
        os.environ["MODELRT_ADMIN_KEY"] = ADMIN_KEY
        replicas = [rr.Replica(i, binary, config, tmp) for i in range(3)]
        for r in replicas:
            r.start()
        for r in replicas:
            r.wait_ready()
        log("replicas " + ", ".join(f"{r.name} :{r.port}" for r in replicas) + " on " + url)
        phase_registry(replicas, models_dir, figures)
        phase_jobs(replicas, shared, figures)
        phase_kill(replicas, figures)
    except (AssertionError, RuntimeError, OSError, KeyError, ValueError) as e:
        problem = str(e) or type(e).__name__
    finally:
        for r in replicas:
            r.kill()
        if pg_dir:
            subprocess.run([script, "stop", pg_dir], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        if problem:
            for r in replicas:
                tail = r.log_tail(8)
                if tail:
                    log(f"--- {r.name} log tail ---\n{tail}")
        if args.keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    width = max([len(f[0]) for f in figures] + [10])
    print(f"{'check':<{width}} | result")
    for name, value in figures:
        print(f"{name:<{width}} | {value}")
    if problem:
        print(f"shared_state: FAIL: {problem}")
        return 1
    print("shared_state: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
