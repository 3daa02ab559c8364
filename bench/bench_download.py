#!/usr/bin/env python3
"""Download rate: `modelrt pull` against curl from the same local server.

A local server (threads, sendfile, Range and If-Range, ETag) plays the hub for one large random
file: the revision listing with its size and sha256, and /{repo}/resolve/{rev}/{file}. Each round
times curl writing the file, curl + sha256sum (what a verified download costs with curl), and
`modelrt pull` into a fresh store (which verifies the sha256 before installing), with the default
parallel ranges and with one stream. Prints a table of MiB/s (median of the rounds).
"""
import argparse
import hashlib
import http.server
import json
import os
import shutil
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time

COMMIT = "b" * 40


def make_handler(path, size, sha):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/api/models/bench/big/revision/"):
                body = json.dumps({"sha": COMMIT, "siblings": [
                    {"rfilename": "big.bin", "size": size, "lfs": {"sha256": sha, "size": size}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if "/resolve/" not in self.path:
                self.send_error(404)
                return
            start, end = 0, size - 1
            status = 200
            rng = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            if rng and rng.startswith("bytes=") and (not if_range or if_range == f'"{sha}"'):
                a, _, b = rng[6:].partition("-")
                start = int(a)
                end = int(b) if b else size - 1
                status = 206
            length = end - start + 1
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("ETag", f'"{sha}"')
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("Content-Length", str(length))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            self.wfile.flush()
            with open(path, "rb") as f:
                self.connection.sendfile(f, start, length)

    return Handler


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def timed(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="folder with the modelrt binary")
    ap.add_argument("--size-mb", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("curl") is None:
        sys.exit("bench-download needs curl (apt-get install curl)")
    work = tempfile.mkdtemp(prefix="modelrt-bench-download-")
    try:
        src = os.path.join(work, "big.bin")
        size = args.size_mb << 20
        h = hashlib.sha256()
        with open(src, "wb") as f:
            for _ in range(args.size_mb):
                block = os.urandom(1 << 20)
                h.update(block)
                f.write(block)
        sha = h.hexdigest()
        server = Server(("127.0.0.1", 0), make_handler(src, size, sha))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        url = f"{base}/bench/big/resolve/{COMMIT}/big.bin"
        out = os.path.join(work, "out.bin")
        rows = {"curl": [], "curl + sha256sum": [], "modelrt pull (4 ranges)": [], "modelrt pull (1 stream)": []}
        for _ in range(args.rounds):
            rows["curl"].append(timed(["curl", "-sf", "-o", out, url]))
            os.remove(out)
            rows["curl + sha256sum"].append(
                timed(["sh", "-c", f"curl -sf -o {out} {url} && sha256sum {out} >/dev/null"]))
            os.remove(out)
            for name, threshold in (("modelrt pull (4 ranges)", None), ("modelrt pull (1 stream)", 1 << 20)):
                data = os.path.join(work, "data")
                shutil.rmtree(data, ignore_errors=True)
                os.makedirs(data)
                cmd = [os.path.join(args.bin, "modelrt"), "pull", "hf://bench/big@main"]
                if threshold is not None:
                    cfg = os.path.join(work, "one.yaml")
                    with open(cfg, "w") as f:
                        f.write(f"store: {{parallel_threshold_mb: {threshold}}}\nmodels: []\n")
                    cmd += ["-c", cfg]
                env = dict(os.environ, MODELRT_DATA_DIR=data, MODELRT_HF_ENDPOINT=base)
                rows[name].append(timed(cmd, env))
                shutil.rmtree(data, ignore_errors=True)
        server.shutdown()
        curl = statistics.median(rows["curl"])
        print(f"\n{args.size_mb} MiB over loopback, median of {args.rounds} rounds\n")
        print(f"{'client':<26}{'seconds':>10}{'MiB/s':>10}{'vs curl':>10}")
        for name, times in rows.items():
            t = statistics.median(times)
            print(f"{name:<26}{t:>10.2f}{args.size_mb / t:>10.0f}{curl / t:>9.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
