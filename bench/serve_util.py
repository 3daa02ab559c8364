"""What the Python benchmarks that drive one `modelrt serve` share: a free port, the server's
/proc status, starting it on a config and waiting until it is ready."""
import json
import resource
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid):
    """(threads, RSS in MB) of process `pid`."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Threads", "VmRSS"):
                out[k] = int(v.split()[0])
    return out["Threads"], out["VmRSS"] / 1024.0


def raise_open_files(connections):
    """Room for `connections` sockets on the client side (and the server it starts)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, connections * 2 + 1024)), hard))


def start_server(modelrt, config, cfg_path, log_path, port):
    """Writes `config` to `cfg_path`, starts `modelrt serve` on it and waits for /ready."""
    with open(cfg_path, "w") as f:
        json.dump(config, f, indent=1)
    log = open(log_path, "w")
    proc = subprocess.Popen([modelrt, "serve", "-c", cfg_path], stdout=log,
                            stderr=subprocess.STDOUT)
    return wait_ok(proc, f"http://127.0.0.1:{port}/ready", "modelrt")


def wait_ok(proc, url, name):
    """Waits (up to 2 minutes) until `url` answers 200; kills `proc` and exits if it never does."""
    for _ in range(600):
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"{name} did not become ready")


def stop_server(proc):
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
