#!/usr/bin/env python3
"""Parses and checks deploy/: the container image, the compose file, nginx.conf, the Kubernetes
manifests, and the modelrt configs they carry, against each other and against the C++ sources.

    tests/deploy/check_manifests.py [SOURCE_DIR]                      # static checks only
    tests/deploy/check_manifests.py . --modelrt-bin build/bin/modelrt  # + the real config parser
    MODELRT_BIN=build/bin/modelrt tests/deploy/check_manifests.py .    # the same

SOURCE_DIR is the repository root (default: the one this file is in). Every YAML file under
deploy/ is parsed (all of its documents). Facts taken from the sources, not copied here: the
metric names the server exports (every "modelrt_..." string under src/, gauges from GetGauge),
the default drain_grace_s (include/modelrt/catalog.h), how long a drain waits for cancelled
requests after the grace (kCancelWait, src/server/http_server.cc), the server's keep-alive
limit (idle_timeout, src/server/session_host.h) and the demo model files (src/providers/llama/
demo_models.cc).

With MODELRT_BIN (or --modelrt-bin) each modelrt config (the ConfigMap's, the compose one) is
run through `modelrt models --config FILE --json`, the parser the server uses; and `ldd` of the
binary, with `dpkg -S`, says which Debian packages the runtime stage must install.

Prints one line per failed check and a closing "check_manifests: N passed, M failed"; exits 1
when a check failed, 2 on bad usage. Python 3 standard library and PyYAML (Debian python3-yaml).
"""

import argparse
import base64
import json
import os
import posixpath
import re
import shlex
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:  # a readable line, not a traceback
    print("check_manifests: PyYAML is missing: apt-get install python3-yaml", file=sys.stderr)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
# Packages every debian:12-slim image has (the C and C++ runtimes and what apt itself links).
SLIM_BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5",
                      "libbz2-1.0", "libcrypt1", "libselinux1", "libpcre2-8-0"}


class Checks:
    """Counts checks; remembers one readable line per failure."""

    def __init__(self, root):
        self.root = root
        self.passed = 0
        self.failures = []

    def rel(self, where):
        """`where` ("/abs/path: object: detail") with the path relative to the root."""
        prefix = self.root.rstrip(os.sep) + os.sep
        return where[len(prefix):] if where.startswith(prefix) else where

    def check(self, ok, where, message):
        if ok:
            self.passed += 1
        else:
            self.failures.append(f"{self.rel(where)}: {message}")
        return bool(ok)

    def fail(self, where, message):
        return self.check(False, where, message)


# --- facts from the C++ sources -------------------------------------------------------------

class SourceFacts:
    def __init__(self, root, checks):
        self.root = root
        self.metrics = set()
        self.gauges = set()
        src = os.path.join(root, "src")
        for base, _, files in os.walk(src):
            for name in files:
                if not name.endswith((".cc", ".h")) or name.endswith("_test.cc"):
                    continue
                with open(os.path.join(base, name), encoding="utf-8", errors="replace") as f:
                    text = f.read()
                self.metrics.update(re.findall(r'"(modelrt_[a-z0-9_]+)"', text))
                self.gauges.update(re.findall(r'GetGauge\(\s*"(modelrt_[a-z0-9_]+)"', text))
        checks.check(self.metrics, src, 'no "modelrt_..." metric names found in the sources')
        self.drain_grace_default = self._number(
            checks, "include/modelrt/catalog.h", r"\bint\s+drain_grace_s\s*=\s*(\d+)", 30)
        self.cancel_wait_s = self._number(
            checks, "src/server/http_server.cc", r"kCancelWait\s*\{\s*(\d+)\s*\}", 5)
        self.server_idle_s = self._number(
            checks, "src/server/session_host.h", r"idle_timeout\s*\{\s*(\d+)\s*\}", 60)
        self.load_timeout_default = self._number(
            checks, "include/modelrt/catalog.h", r"load_timeout\{std::chrono::seconds\((\d+)\)\}",
            600)
        self.memory_budget_default = self._number(
            checks, "include/modelrt/catalog.h", r"memory_budget_mb\s*=\s*(\d+)\s*;", 4096)
        demo = os.path.join(root, "src/providers/llama/demo_models.cc")
        self.demo_models = set()
        if os.path.exists(demo):
            with open(demo, encoding="utf-8") as f:
                self.demo_models = set(re.findall(r'"/?([A-Za-z0-9_.-]+\.gguf)"', f.read()))
        checks.check(self.demo_models, demo, "no demo model file names (*.gguf) found")

    def _number(self, checks, rel, pattern, fallback):
        path = os.path.join(self.root, rel)
        text = ""
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
        m = re.search(pattern, text)
        if checks.check(m, path, f"cannot find /{pattern}/ (update check_manifests.py)"):
            return int(m.group(1))
        return fallback

    def metric_exported(self, name):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        return name in self.metrics or base in self.metrics


# --- small parsers --------------------------------------------------------------------------

def parse_duration_s(text, default_unit="s"):
    """nginx and compose durations: 45s, 1m30s, 10m, 1h, 600 (seconds); None if unreadable."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text) * {"s": 1, "ms": 0.001}[default_unit]
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total, pos = 0.0, 0
    for m in re.finditer(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text):
        if m.start() != pos:
            return None
        total += float(m.group(1)) * units[m.group(2)]
        pos = m.end()
    return total if pos == len(text) and pos > 0 else None


def parse_memory_mib(text):
    """Kubernetes quantities (2Gi, 1024Mi, 2G) and compose sizes (2g, 512m); None if unreadable."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGTkmgt]i?|[kmgt]b?)?", str(text).strip())
    if not m:
        return None
    n, unit = float(m.group(1)), (m.group(2) or "")
    factors = {"": 1 / 2**20, "ki": 1 / 1024, "mi": 1, "gi": 1024, "ti": 2**20,
               "k": 1000 / 2**20, "m": 1e6 / 2**20, "g": 1e9 / 2**20, "t": 1e12 / 2**20,
               "kb": 1 / 1024, "mb": 1, "gb": 1024, "tb": 2**20}
    unit = unit.lower()
    if unit in ("k", "m", "g", "t") and m.group(2) and m.group(2).islower():
        unit += "b"  # compose: 2g means GiB
    return n * factors[unit]


def parse_cpu(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(m?)", str(text).strip())
    if not m:
        return None
    return float(m.group(1)) / (1000 if m.group(2) else 1)


def serve_flags(args):
    """--host, --port and --config of a `modelrt serve` argument list."""
    out = {}
    names = {"--host": "host", "--port": "port", "-p": "port", "--config": "config", "-c": "config"}
    i = 0
    args = [str(a) for a in args]
    while i < len(args):
        a = args[i]
        if "=" in a and a.split("=", 1)[0] in names:
            out[names[a.split("=", 1)[0]]] = a.split("=", 1)[1]
        elif a in names and i + 1 < len(args):
            out[names[a]] = args[i + 1]
            i += 1
        i += 1
    out["serve"] = "serve" in args
    return out


# --- modelrt configs ------------------------------------------------------------------------

class ModelrtConfig:
    """What the deploy files must agree with, read from one modelrt config file's text."""

    def __init__(self, text, where, facts, checks):
        self.where = where
        self.text = text
        self.ok = False
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            checks.fail(where, f"modelrt config does not parse as YAML: {str(e).splitlines()[0]}")
            return
        if isinstance(data, list):
            data = {"models": data}
        if not checks.check(isinstance(data, dict), where, "modelrt config is not a mapping"):
            return
        self.ok = True
        server = data.get("server") or {}
        self.server = server
        self.drain_grace_s = int(server.get("drain_grace_s", facts.drain_grace_default))
        self.api_keys_file = server.get("api_keys_file") or ""
        self.admin_key_file = server.get("admin_key_file") or ""
        self.data_dir = server.get("data_dir") or ""
        self.host = server.get("host")
        self.port = server.get("port")
        pool = data.get("pool") or {}
        self.memory_budget_mb = int(pool.get("memory_budget_mb", facts.memory_budget_default))
        self.models = [m for m in (data.get("models") or []) if isinstance(m, dict)]
        self.aliases = [m.get("alias") for m in self.models]
        providers = data.get("providers") or [{"id": "local", "type": "llama"}]
        local_ids = {p.get("id") for p in providers if p.get("type") in ("llama", "onnx")}
        self.local_paths = []
        self.max_eager_load_s = 0
        for m in self.models:
            provider = m.get("provider") or (
                providers[0].get("id") if len(providers) == 1 else None)
            path = str(m.get("model") or "")
            if provider in local_ids and path and "://" not in path:
                self.local_paths.append((m.get("alias"), path))
            if m.get("warmup") == "eager":
                load_s = int(m.get("load_timeout_s", facts.load_timeout_default))
                self.max_eager_load_s = max(self.max_eager_load_s, load_s)
        checks.check(self.models, where, "modelrt config has no models")

    def validate_with_binary(self, binary, checks):
        """Runs the server's own parser over the text: `modelrt models --config FILE --json`."""
        with tempfile.TemporaryDirectory(prefix="check-manifests-") as tmp:
            path = os.path.join(tmp, "modelrt.yaml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.text)
            env = dict(os.environ, MODELRT_DATA_DIR=os.path.join(tmp, "data"))
            try:
                run = subprocess.run([binary, "models", "--config", path, "--json"], env=env,
                                     capture_output=True, text=True, timeout=60)
            except (OSError, subprocess.TimeoutExpired) as e:
                checks.fail(self.where, f"cannot run {binary} models: {e}")
                return
        message = (run.stderr.strip().splitlines() or ["(no message)"])[-1]
        message = message.replace(path + ": ", "")
        if not checks.check(run.returncode == 0, self.where, "modelrt rejects the config: " +
                            message):
            return
        try:
            listed = [m.get("alias") for m in json.loads(run.stdout) if m.get("task") != "profile"]
        except (ValueError, AttributeError):
            checks.fail(self.where, "modelrt models --json printed no JSON list")
            return
        checks.check(listed == self.aliases, self.where,
                     f"modelrt reads the aliases {listed}, this check read {self.aliases}")


# --- Dockerfile -----------------------------------------------------------------------------

class Dockerfile:
    def __init__(self, path, facts, checks):
        self.path = path
        self.stages = []  # dicts: image, name, instructions [(KEYWORD, text)]
        self.user_uid = None
        self.data_dir = None
        self.volumes = []
        self.exposed = []
        self.image_files = set()     # absolute file paths the final image is known to carry
        self.image_dirs = set()      # directories copied whole into the final image
        self.runtime_packages = set()
        self.cmdline = []
        self.healthcheck = False
        if not checks.check(os.path.exists(path), path, "missing"):
            return
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        joined, current = [], ""
        for line in lines:
            if not current and (line.strip().startswith("#") or not line.strip()):
                continue
            if line.strip().startswith("#"):
                continue  # a comment inside a continued instruction
            if line.rstrip().endswith("\\"):
                current += line.rstrip()[:-1] + " "
                continue
            joined.append(current + line)
            current = ""
        for line in joined:
            keyword, _, rest = line.strip().partition(" ")
            keyword = keyword.upper()
            rest = rest.strip()
            if keyword == "FROM":
                parts = rest.split()
                parts = [p for p in parts if not p.startswith("--")]
                name = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else None
                self.stages.append({"image": parts[0], "name": name, "ins": []})
            elif self.stages:
                self.stages[-1]["ins"].append((keyword, rest))
        self._check(facts, checks)

    def _check(self, facts, checks):
        p = self.path
        if not checks.check(len(self.stages) >= 2, p,
                            f"wants a multi-stage build (2+ FROM), has {len(self.stages)}"):
            return
        build, final = self.stages[0], self.stages[-1]
        checks.check(re.fullmatch(r"debian:(12|bookworm)(-.*)?", build["image"]), p,
                     f"build stage is {build['image']}, want debian:12 (bookworm)")
        checks.check(re.fullmatch(r"debian:(12|bookworm)-slim", final["image"]), p,
                     f"runtime stage is {final['image']}, want debian:12-slim")
        build_runs = " ".join(t for k, t in build["ins"] if k == "RUN")
        for script in ("scripts/setup", "scripts/build"):
            checks.check(script in build_runs, p, f"the build stage never runs {script}")
        names = [s["name"] for s in self.stages]
        for i, stage in enumerate(self.stages):
            for k, t in stage["ins"]:
                m = re.search(r"--from=(\S+)", t) if k == "COPY" else None
                if m:
                    ref = m.group(1)
                    checks.check(ref in names[:i] or (ref.isdigit() and int(ref) < i), p,
                                 f"COPY --from={ref}: no earlier stage of that name")
        env, users = {}, []
        for k, t in final["ins"]:
            if k == "ENV":
                for m in re.finditer(r'(\w+)=("[^"]*"|\S+)', t):
                    env[m.group(1)] = m.group(2).strip('"')
            elif k == "USER":
                users.append(t.split(":")[0])
            elif k == "VOLUME":
                try:
                    v = json.loads(t)
                except ValueError:
                    v = t.split()
                self.volumes += v if isinstance(v, list) else [v]
            elif k == "EXPOSE":
                self.exposed += [int(x.split("/")[0]) for x in t.split()]
            elif k == "RUN" and re.search(r"apt-get\s+install", t):
                for part in re.split(r"&&|;", t):
                    m = re.search(r"apt-get\s+install\s+(.*)", part)
                    if m:
                        self.runtime_packages.update(
                            w for w in m.group(1).split() if not w.startswith("-"))
            elif k == "COPY":
                parts = [x for x in t.split() if not x.startswith("--")]
                if len(parts) >= 2:
                    src, dest = parts[-2], parts[-1]
                    if "--from=" in t and src.rstrip("/") == "/out" and dest == "/":
                        self._out_layout(build_runs, facts)
                    else:
                        self.image_dirs.add(dest.rstrip("/") or "/")
        checks.check(users, p, "the runtime stage has no USER (it would run as root)")
        if users:
            user = users[-1]
            checks.check(user not in ("root", "0"), p, f"USER {user}: runs as root")
            self.user_uid = int(user) if user.isdigit() else None
            if self.user_uid is None:
                m = re.search(r"useradd[^;&]*--uid\s+(\d+)[^;&]*\s" + re.escape(user) + r"\b",
                              " ".join(t for k, t in final["ins"] if k == "RUN"))
                self.user_uid = int(m.group(1)) if m else None
        self.data_dir = env.get("MODELRT_DATA_DIR")
        checks.check(self.data_dir, p, "the runtime stage sets no MODELRT_DATA_DIR")
        if self.data_dir:
            checks.check(self.data_dir in self.volumes, p,
                         f"MODELRT_DATA_DIR {self.data_dir} is not a VOLUME ({self.volumes})")
        checks.check(self.exposed, p, "the runtime stage EXPOSEs no port")
        health = [t for k, t in final["ins"] if k == "HEALTHCHECK"]
        self.healthcheck = bool(health) and not health[-1].strip().upper().startswith("NONE")
        if checks.check(health, p, "the runtime stage has no HEALTHCHECK"):
            checks.check("/health" in health[-1], p, "HEALTHCHECK does not ask GET /health")
            m = re.search(r"(?:127\.0\.0\.1|localhost):(\d+)", health[-1])
            checks.check(m and int(m.group(1)) in self.exposed, p,
                         "HEALTHCHECK does not ask an EXPOSEd port on 127.0.0.1")
        entry = self._exec_form(final, "ENTRYPOINT", checks)
        cmd = self._exec_form(final, "CMD", checks)
        self.cmdline = entry + cmd
        flags = serve_flags(self.cmdline)
        checks.check(flags["serve"] and flags.get("host") in ("0.0.0.0", "::"), p,
                     f"the command {self.cmdline} does not run `serve --host 0.0.0.0`"
                     " (modelrt binds 127.0.0.1 by default)")
        port = int(flags.get("port", 8080))
        checks.check(port in self.exposed, p, f"serves on port {port}, EXPOSEs {self.exposed}")

    def _out_layout(self, build_runs, facts):
        """COPY --from=build /out/ /: /out is the runtime file system (see deploy/Dockerfile)."""
        for m in re.finditer(r"/out(/[^\s;&|\"']+)", build_runs):
            self.image_files.add(m.group(1))
        # `MODELRT_DATA_DIR=/out/X modelrt models` writes the demo models into X/models.
        for m in re.finditer(r"MODELRT_DATA_DIR=/out(/\S+)\s+\S*modelrt\s+models\b", build_runs):
            for name in facts.demo_models:
                self.image_files.add(posixpath.join(m.group(1), "models", name))

    def _exec_form(self, stage, keyword, checks):
        values = [t for k, t in stage["ins"] if k == keyword]
        if not values:
            return []
        try:
            v = json.loads(values[-1])
            return [str(x) for x in v]
        except ValueError:
            checks.fail(self.path, f"{keyword} is not in exec form (JSON): signals would go to sh")
            return shlex.split(values[-1])

    def carries(self, path):
        return path in self.image_files or any(
            path.startswith(d.rstrip("/") + "/") for d in self.image_dirs)


# --- nginx.conf -----------------------------------------------------------------------------

def parse_nginx(text):
    """nginx's config as a tree: [(name, args, children or None)]."""
    tokens, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            tokens.append(c)
            i += 1
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            tokens.append(("str", text[i + 1:j]))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in "{};":
                j += 1
            tokens.append(("str", text[i:j]))
            i = j

    def block(pos):
        items, words = [], []
        while pos < len(tokens):
            t = tokens[pos]
            if t == ";":
                if words:
                    items.append((words[0], words[1:], None))
                words = []
            elif t == "{":
                children, pos = block(pos + 1)
                items.append((words[0] if words else "", words[1:], children))
                words = []
            elif t == "}":
                return items, pos
            else:
                words.append(t[1])
            pos += 1
        if words:
            raise ValueError(f"directive '{words[0]}' is not closed by ';'")
        return items, pos

    tree, pos = block(0)
    if pos < len(tokens):
        raise ValueError("unbalanced '}'")
    return tree


def nginx_blocks(tree, name):
    return [(args, children) for n, args, children in tree if n == name and children is not None]


def nginx_directives(children, name):
    return [args for n, args, c in children if n == name and c is None]


def check_nginx(path, app_service, app_port, replicas, facts, checks):
    if not checks.check(os.path.exists(path), path, "missing"):
        return
    with open(path, encoding="utf-8") as f:
        try:
            tree = parse_nginx(f.read())
        except ValueError as e:
            checks.fail(path, f"does not parse: {e}")
            return
    https = nginx_blocks(tree, "http")
    if not checks.check(https, path, "no http block"):
        return
    http = https[0][1]
    upstreams = {args[0]: children for args, children in nginx_blocks(http, "upstream") if args}
    resolvers = nginx_directives(http, "resolver")
    for name, children in upstreams.items():
        where = f"{path}: upstream {name}"
        servers = nginx_directives(children, "server")
        checks.check(servers, where, "has no server")
        for s in servers:
            host, _, port = s[0].rpartition(":")
            checks.check(host == app_service and port.isdigit() and int(port) == app_port, where,
                         f"server {s[0]} is not the compose service {app_service}:{app_port}")
            if "resolve" in s[1:]:
                checks.check(nginx_directives(children, "zone"), where,
                             "`server ... resolve` needs a zone in the upstream")
                checks.check(resolvers or nginx_directives(children, "resolver"), where,
                             "`server ... resolve` needs a resolver")
        keepalive = nginx_directives(children, "keepalive")
        checks.check(keepalive and int(keepalive[0][0]) > 0, where,
                     "no keepalive: every request would open a new connection to a replica")
        timeout = nginx_directives(children, "keepalive_timeout")
        seconds = parse_duration_s(timeout[0][0]) if timeout else 60.0  # nginx's default
        checks.check(seconds is not None and seconds < facts.server_idle_s, where,
                     f"keepalive_timeout {seconds} s is not below the server's keep-alive limit "
                     f"({facts.server_idle_s} s): nginx would reuse connections modelrt closes")

    def effective(chain, name):
        for children in reversed(chain):
            found = nginx_directives(children, name)
            if found:
                return found
        return []

    locations = 0
    for _, server in nginx_blocks(http, "server"):
        for largs, location in nginx_blocks(server, "location"):
            passes = nginx_directives(location, "proxy_pass")
            if not passes:
                continue
            locations += 1
            where = f"{path}: location {' '.join(largs)}"
            chain = [http, server, location]
            m = re.match(r"https?://([^/:$]+)", passes[0][0])
            checks.check(m and m.group(1) in upstreams, where,
                         f"proxy_pass {passes[0][0]}: no upstream of that name "
                         f"(upstreams: {sorted(upstreams)})")
            nu = effective(chain, "proxy_next_upstream")
            have = set(nu[0]) if nu else {"error", "timeout"}
            # Files, batches and admin writes are not safe to send twice; inference calls are
            # (nothing reached the client), and must be, to ride out a closing keep-alive.
            stateful = bool(re.search(r"files|batches|admin", " ".join(largs)))
            for want in ("error", "timeout", "http_502", "http_503"):
                checks.check(want in have, where, f"proxy_next_upstream lacks {want}")
            if stateful:
                checks.check("non_idempotent" not in have, where,
                             "proxy_next_upstream non_idempotent would send file, batch or admin "
                             "POSTs twice")
            else:
                checks.check("non_idempotent" in have, where,
                             "proxy_next_upstream lacks non_idempotent")
            tries = effective(chain, "proxy_next_upstream_tries")
            checks.check(tries and tries[0][0].isdigit() and
                         2 <= int(tries[0][0]) <= max(replicas, 2), where,
                         "proxy_next_upstream_tries must limit retries to 2..replicas "
                         f"({replicas}), got {tries[0][0] if tries else 'unlimited'}")
            buffering = effective(chain, "proxy_buffering")
            checks.check(buffering and buffering[0][0] == "off", where,
                         "proxy_buffering is not off: SSE events would wait in nginx's buffers")
            request_buffering = effective(chain, "proxy_request_buffering")
            checks.check(not request_buffering or request_buffering[0][0] == "on", where,
                         "proxy_request_buffering off: a request cannot be retried once sent")
            read = effective(chain, "proxy_read_timeout")
            seconds = parse_duration_s(read[0][0]) if read else 60.0
            checks.check(seconds is not None and seconds >= 300, where,
                         f"proxy_read_timeout {seconds} s: a long generation needs >= 300 s")
            version = effective(chain, "proxy_http_version")
            checks.check(version and version[0][0] == "1.1", where,
                         "proxy_http_version is not 1.1: upstream keepalive needs it")
            headers = {a[0].lower(): a[1:] for a in effective(chain, "proxy_set_header") if a}
            checks.check(headers.get("connection") == [""], where,
                         'no proxy_set_header Connection "": upstream keepalive needs it')
    checks.check(locations, path, "no location proxies to the replicas")


# --- compose --------------------------------------------------------------------------------

def compose_volume(entry):
    """(source, target, read_only, kind) of a short or long compose volume entry."""
    if isinstance(entry, dict):
        return (entry.get("source"), entry.get("target"), bool(entry.get("read_only")),
                entry.get("type", "volume"))
    parts = str(entry).split(":")
    if len(parts) == 1:
        return None, parts[0], False, "volume"  # anonymous
    source, target = parts[0], parts[1]
    ro = len(parts) > 2 and "ro" in parts[2].split(",")
    kind = "bind" if source.startswith((".", "/", "~")) else "volume"
    return source, target, ro, kind


def check_compose(path, dockerfile, facts, checks, binary, configs_seen):
    with open(path, encoding="utf-8") as f:
        try:
            doc = yaml.safe_load(f)
        except yaml.YAMLError as e:
            checks.fail(path, f"does not parse: {str(e).splitlines()[0]}")
            return
    base = os.path.dirname(path)
    services = (doc or {}).get("services") or {}
    apps = {n: s for n, s in services.items()
            if serve_flags((s or {}).get("command") or dockerfile.cmdline)["serve"]
            and ("build" in s or "modelrt" in str(s.get("image", "")))}
    nginxes = {n: s for n, s in services.items() if str(s.get("image", "")).startswith("nginx")}
    if not checks.check(len(apps) == 1, path, f"wants one modelrt service, has {sorted(apps)}"):
        return
    if not checks.check(len(nginxes) == 1, path, f"wants one nginx service, has {sorted(nginxes)}"):
        return
    (app_name, app), = apps.items()
    (nginx_name, nginx), = nginxes.items()
    where = f"{path}: services.{app_name}"
    build = app.get("build")
    if isinstance(build, dict):
        df = os.path.normpath(os.path.join(base, build.get("context", "."),
                                           build.get("dockerfile", "Dockerfile")))
        checks.check(os.path.samefile(df, dockerfile.path) if os.path.exists(df) else False,
                     where, f"build.dockerfile {df} is not {dockerfile.path}")
    replicas = int(((app.get("deploy") or {}).get("replicas")) or 1)
    checks.check(replicas >= 2, where, f"deploy.replicas is {replicas}, want 2 or more")
    checks.check(not (replicas > 1 and app.get("container_name")), where,
                 "container_name with several replicas: the names would collide")
    for port in app.get("ports") or []:
        checks.check(":" not in str(port) or replicas == 1, where,
                     f"publishes host port {port}: replicas would collide (nginx publishes)")
    command = app.get("command") or dockerfile.cmdline
    if isinstance(command, str):
        command = shlex.split(command)
    flags = serve_flags(command)
    checks.check(flags.get("host") in ("0.0.0.0", "::"), where,
                 f"command {command} does not bind 0.0.0.0")
    app_port = int(flags.get("port", 8080))
    checks.check(app_port in dockerfile.exposed, where,
                 f"serves on {app_port}, the image EXPOSEs {dockerfile.exposed}")
    env = app.get("environment") or {}
    if isinstance(env, list):
        env = dict(str(e).split("=", 1) for e in env if "=" in str(e))
    volumes = [compose_volume(v) for v in app.get("volumes") or []]
    config = None
    if checks.check(flags.get("config"), where, "command has no --config FILE"):
        mounted = [v for v in volumes if v[1] == flags["config"] and v[3] == "bind"]
        if checks.check(mounted, where, f"--config {flags['config']} is not a mounted file"):
            source = os.path.normpath(os.path.join(base, mounted[0][0]))
            checks.check(mounted[0][2], where, f"{flags['config']} is mounted read-write")
            if checks.check(os.path.isfile(source), where, f"config file {source} missing"):
                with open(source, encoding="utf-8") as f:
                    config = ModelrtConfig(f.read(), source, facts, checks)
                configs_seen.add(os.path.abspath(source))
    # Keys: files from compose secrets, at /run/secrets/<target>.
    top_secrets = doc.get("secrets") or {}
    targets = {}
    for s in app.get("secrets") or []:
        name = s if isinstance(s, str) else s.get("source")
        target = s if isinstance(s, str) else s.get("target", name)
        checks.check(name in top_secrets, where, f"secret {name} is not defined under secrets:")
        targets["/run/secrets/" + target if not str(target).startswith("/") else target] = name
    for name, spec in top_secrets.items():
        checks.check(isinstance(spec, dict) and (spec.get("file") or spec.get("environment")
                                                 or spec.get("external")),
                     f"{path}: secrets.{name}", "needs file:, environment: or external:")
    if config and config.ok:
        for key in ("api_keys_file", "admin_key_file"):
            value = getattr(config, key)
            checks.check(value, config.where, f"server.{key} is not set: keys come as files")
            if value:
                checks.check(value in targets, config.where,
                             f"server.{key} {value} is not a secret of services.{app_name} "
                             f"({sorted(targets)})")
        check_config_paths(config, dockerfile, [v[1] for v in volumes], checks)
        grace = parse_duration_s(app.get("stop_grace_period", "10s"))
        need = config.drain_grace_s + facts.cancel_wait_s
        checks.check(grace is not None and grace >= need, where,
                     f"stop_grace_period {app.get('stop_grace_period', '10s (default)')} is below "
                     f"drain_grace_s {config.drain_grace_s} + {facts.cancel_wait_s} s of "
                     "cancellation: Docker would SIGKILL a draining replica")
        limits = ((app.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if "memory" in limits:
            mib = parse_memory_mib(limits["memory"])
            checks.check(mib is not None and config.memory_budget_mb <= mib, where,
                         f"pool.memory_budget_mb {config.memory_budget_mb} is above the memory "
                         f"limit {limits['memory']}")
        if "cpus" in limits:
            cores = env.get("MODELRT_CPU_CORES")
            checks.check(cores and str(cores).isdigit() and
                         int(cores) <= float(limits["cpus"]), where,
                         f"cpus limit {limits['cpus']} without MODELRT_CPU_CORES at or below it: "
                         "the budget should say the limit, not rest on reading the cgroup")
        if binary:
            config.validate_with_binary(binary, checks)
    data_dir = (config.data_dir if config and config.ok and config.data_dir else None) or \
        env.get("MODELRT_DATA_DIR") or dockerfile.data_dir
    for source, target, _, kind in volumes:
        shared = source is not None and (target == data_dir or
                                         (data_dir or "").startswith(str(target).rstrip("/") + "/"))
        checks.check(not (shared and replicas > 1), where,
                     f"{kind} {source} mounted at the data directory {target} is shared by "
                     f"{replicas} replicas: one server per data directory (the registry journal "
                     "is locked)")
    # nginx waits for healthy replicas: the image's HEALTHCHECK, unless compose replaces it.
    own = app.get("healthcheck") or {}
    checks.check(not own.get("disable") and (own.get("test") or dockerfile.healthcheck), where,
                 "no healthcheck (neither the image's HEALTHCHECK nor one here)")
    # nginx
    nwhere = f"{path}: services.{nginx_name}"
    depends = nginx.get("depends_on") or []
    checks.check(app_name in depends, nwhere, f"does not depend_on {app_name}")
    checks.check(nginx.get("ports"), nwhere, "publishes no port")
    confs = [compose_volume(v) for v in nginx.get("volumes") or []]
    confs = [v for v in confs if str(v[1]).startswith("/etc/nginx/") and v[3] == "bind"]
    if checks.check(confs, nwhere, "mounts no nginx config under /etc/nginx"):
        check_nginx(os.path.normpath(os.path.join(base, confs[0][0])), app_name, app_port,
                    replicas, facts, checks)


def check_config_paths(config, dockerfile, mount_paths, checks):
    """Every local model file is in the image or under a volume the container mounts."""
    for alias, path in config.local_paths:
        if not path.startswith("/"):
            checks.fail(config.where, f"models {alias}: {path} is relative (to the config file's "
                        "mount, not the image): give an absolute path")
            continue
        under_mount = any(path.startswith(str(m).rstrip("/") + "/") for m in mount_paths)
        checks.check(dockerfile.carries(path) or under_mount, config.where,
                     f"models {alias}: {path} is neither in the image nor under a mounted volume")


# --- Kubernetes -----------------------------------------------------------------------------

class Kube:
    def __init__(self, kube_dir, docs, dockerfile, facts, checks, binary):
        self.dir = kube_dir
        self.docs = docs  # [(path, doc)]
        self.dockerfile = dockerfile
        self.facts = facts
        self.checks = checks
        self.binary = binary

    def visible(self, from_path, kind, name):
        """The manifest `kind/name` that `kubectl apply -f` of from_path's folder (or a parent
        folder's, applied before it) creates."""
        d = os.path.dirname(from_path)
        for path, doc in self.docs:
            pd = os.path.dirname(path)
            if doc.get("kind") == kind and meta(doc).get("name") == name and \
                    (d == pd or d.startswith(pd + os.sep)):
                return doc
        return None

    def run(self):
        c = self.checks
        seen = {}
        for path, doc in self.docs:
            key = (doc.get("kind"), meta(doc).get("name"))
            c.check(key not in seen, path, f"{key[0]}/{key[1]} is also defined in {seen.get(key)}")
            seen[key] = c.rel(path)
            c.check("namespace" not in meta(doc), path,
                    f"{key[0]}/{key[1]} names a namespace: leave it to kubectl -n")
        workloads = [(p, d) for p, d in self.docs if d.get("kind") in WORKLOAD_KINDS]
        if not c.check(workloads, self.dir, "no Deployment or StatefulSet"):
            return
        autoscalers = [(p, d) for p, d in self.docs
                       if d.get("kind") in ("HorizontalPodAutoscaler", "ScaledObject")]
        for path, doc in workloads:
            self.check_workload(path, doc, autoscalers)
        for path, doc in self.docs:
            kind = doc.get("kind")
            if kind == "Service":
                self.check_service(path, doc, workloads)
            elif kind in ("HorizontalPodAutoscaler", "ScaledObject"):
                self.check_autoscaler(path, doc, autoscalers)
            elif kind == "PodDisruptionBudget":
                sel = ((doc.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
                c.check(any(selects(sel, pod_labels(w)) for _, w in workloads), path,
                        f"PodDisruptionBudget/{meta(doc).get('name')} selects no workload's pods")
            elif kind in ("PodMonitor", "ServiceMonitor"):
                self.check_monitor(path, doc, workloads)
        c.check(any(d.get("kind") == "Service" and not is_headless(d) for _, d in self.docs),
                self.dir, "no (non-headless) Service")
        queue_metric = any("modelrt_queue_" in json.dumps(d.get("spec")) for _, d in autoscalers)
        c.check(queue_metric, self.dir, "no autoscaler on a queue gauge (modelrt_queue_*)")

    # -- workloads --
    def check_workload(self, path, doc, autoscalers):
        c = self.checks
        name = meta(doc).get("name")
        where = f"{path}: {doc['kind']}/{name}"
        spec = doc.get("spec") or {}
        template = spec.get("template") or {}
        labels = pod_labels(doc)
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        c.check(selector and selects(selector, labels), where,
                f"selector {selector} does not match the pod labels {labels}")
        pod = template.get("spec") or {}
        targeting = [(p, a) for p, a in autoscalers if autoscaler_target(a) == (doc["kind"], name)]
        min_r = max([spec.get("replicas") or 1] + [autoscaler_range(a)[0] for _, a in targeting])
        max_r = max([spec.get("replicas") or 1] + [autoscaler_range(a)[1] for _, a in targeting])
        c.check(min_r >= 2, where, f"at most {min_r} replica(s): a restart would stop serving")
        c.check(not (targeting and "replicas" in spec), where,
                "spec.replicas is set while an autoscaler owns the count: every kubectl apply "
                "would reset it")
        if doc["kind"] == "StatefulSet":
            svc = self.visible(path, "Service", spec.get("serviceName"))
            c.check(svc is not None and is_headless(svc), where,
                    f"serviceName {spec.get('serviceName')} is not a headless Service here")
        claim_templates = {meta(t).get("name") for t in spec.get("volumeClaimTemplates") or []}
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        for v in volumes.values():
            self.check_volume_ref(path, where, v)
        psc = pod.get("securityContext") or {}
        containers = [k for k in pod.get("containers") or []
                      if serve_flags((k.get("command") or []) + (k.get("args") or []))["serve"]
                      or "modelrt" in str(k.get("image", ""))]
        if not c.check(containers, where, "no container runs modelrt"):
            return
        for k in containers:
            self.check_container(path, f"{where}: container {k.get('name')}", doc, pod, psc, k,
                                 volumes, claim_templates, max_r)

    def check_volume_ref(self, path, where, v):
        c = self.checks
        if "configMap" in v:
            cm = self.visible(path, "ConfigMap", v["configMap"].get("name"))
            if c.check(cm, where, f"volume {v['name']}: ConfigMap {v['configMap'].get('name')} "
                       "is not in the manifests"):
                for item in v["configMap"].get("items") or []:
                    c.check(item.get("key") in (cm.get("data") or {}), where,
                            f"volume {v['name']}: ConfigMap has no key {item.get('key')}")
        if "secret" in v:
            s = self.visible(path, "Secret", v["secret"].get("secretName"))
            if c.check(s, where, f"volume {v['name']}: Secret {v['secret'].get('secretName')} "
                       "is not in the manifests"):
                for item in v["secret"].get("items") or []:
                    c.check(item.get("key") in secret_data(s), where,
                            f"volume {v['name']}: Secret has no key {item.get('key')}")
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"].get("claimName")
            c.check(self.visible(path, "PersistentVolumeClaim", claim), where,
                    f"volume {v['name']}: PersistentVolumeClaim {claim} is not in the manifests")

    def mounted_file(self, mounts, volumes, file_path, source_kind):
        """(volume, key) when file_path is a file of a configMap/secret volume the container
        mounts, else None."""
        for m in mounts:
            mp = m.get("mountPath", "").rstrip("/")
            if not file_path.startswith(mp + "/"):
                continue
            v = volumes.get(m.get("name")) or {}
            if source_kind not in v:
                continue
            rel = file_path[len(mp) + 1:]
            if m.get("subPath"):
                continue
            items = v[source_kind].get("items")
            if items:
                for item in items:
                    if item.get("path") == rel:
                        return v, item.get("key"), m
                return v, None, m
            return v, rel, m
        return None

    def check_container(self, path, where, doc, pod, psc, k, volumes, claim_templates, max_r):
        c = self.checks
        ports = {p.get("name"): p.get("containerPort") for p in k.get("ports") or []}
        numbers = set(ports.values())
        flags = serve_flags((k.get("command") or []) + (k.get("args") or []))
        if not k.get("command") and not k.get("args"):
            flags = serve_flags(self.dockerfile.cmdline)
        mounts = k.get("volumeMounts") or []
        env = {e.get("name"): e for e in k.get("env") or []}
        for e in env.values():
            self.check_env_ref(path, where, e)
        for src in k.get("envFrom") or []:
            for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                if key in src:
                    c.check(self.visible(path, kind, src[key].get("name")), where,
                            f"envFrom {kind} {src[key].get('name')} is not in the manifests")
        for m in mounts:
            c.check(m.get("name") in volumes or m.get("name") in claim_templates, where,
                    f"volumeMount {m.get('name')} has no volume or volumeClaimTemplate")
        # The config file: a ConfigMap key.
        config = None
        if c.check(flags.get("config"), where, "args have no --config FILE"):
            found = self.mounted_file(mounts, volumes, flags["config"], "configMap")
            if c.check(found and found[1], where,
                       f"--config {flags['config']} is not a key of a mounted ConfigMap"):
                v, key, _ = found
                cm = self.visible(path, "ConfigMap", v["configMap"].get("name")) or {}
                text = (cm.get("data") or {}).get(key)
                if c.check(text, where, f"ConfigMap {v['configMap'].get('name')} has no {key}"):
                    config = ModelrtConfig(text, f"{path}: ConfigMap/"
                                           f"{v['configMap'].get('name')}[{key}]", self.facts, c)
        host = flags.get("host") or (config.host if config and config.ok else None)
        c.check(host in ("0.0.0.0", "::"), where,
                f"binds {host or '127.0.0.1 (the default)'}: pass --host 0.0.0.0")
        port = int(flags.get("port") or (config.port if config and config.ok and config.port
                                         else 8080))
        c.check(port in numbers, where, f"serves on {port}, containerPorts are {sorted(numbers)}")
        c.check(port in self.dockerfile.exposed, where,
                f"serves on {port}, the image EXPOSEs {self.dockerfile.exposed}")

        def probe(kind, want_paths):
            p = k.get(kind)
            if not c.check(p, where, f"no {kind}"):
                return None
            get = p.get("httpGet") or {}
            c.check(get.get("path") in want_paths, where,
                    f"{kind} asks {get.get('path')}, want {' or '.join(want_paths)}")
            target = get.get("port")
            target = ports.get(target) if isinstance(target, str) else target
            c.check(target == port, where,
                    f"{kind} port {get.get('port')} is not the server's port {port}")
            return p

        probe("readinessProbe", ["/ready"])
        probe("livenessProbe", ["/health"])
        startup = probe("startupProbe", ["/health", "/ready"])
        if startup and config and config.ok:
            budget = startup.get("initialDelaySeconds", 0) + \
                startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
            c.check(budget >= config.max_eager_load_s, where,
                    f"startupProbe gives {budget} s, an eager model may load for "
                    f"{config.max_eager_load_s} s (load_timeout_s)")
        # Stopping: preStop sleep, then the drain, inside the grace period.
        pre = ((k.get("lifecycle") or {}).get("preStop")) or {}
        sleep_s = prestop_sleep(pre)
        c.check(sleep_s and sleep_s > 0, where,
                "no preStop sleep: the pod would stop listening while endpoints still list it")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if config and config.ok:
            need = (sleep_s or 0) + config.drain_grace_s + self.facts.cancel_wait_s
            c.check(grace >= need, where,
                    f"terminationGracePeriodSeconds {grace} < preStop {sleep_s or 0} s + "
                    f"drain_grace_s {config.drain_grace_s} + {self.facts.cancel_wait_s} s of "
                    "cancellation: the kubelet would SIGKILL a draining replica")
        # Security.
        sc = k.get("securityContext") or {}
        c.check(sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, where,
                "runAsNonRoot is not true")
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        c.check(uid != 0, where, "runAsUser is 0 (root)")
        if uid is not None and self.dockerfile.user_uid is not None:
            c.check(uid == self.dockerfile.user_uid, where,
                    f"runAsUser {uid} is not the image's user {self.dockerfile.user_uid}")
        c.check(sc.get("readOnlyRootFilesystem") is True, where,
                "readOnlyRootFilesystem is not true")
        c.check(sc.get("allowPrivilegeEscalation") is False, where,
                "allowPrivilegeEscalation is not false")
        # Resources.
        res = k.get("resources") or {}
        for section in ("requests", "limits"):
            for r in ("cpu", "memory"):
                c.check(r in (res.get(section) or {}), where, f"no resources.{section}.{r}")
        mem = parse_memory_mib((res.get("limits") or {}).get("memory", ""))
        if mem is not None and config and config.ok:
            c.check(config.memory_budget_mb <= mem, where,
                    f"pool.memory_budget_mb {config.memory_budget_mb} is above the memory limit "
                    f"{res['limits']['memory']}: the kernel would kill the pod before the pool "
                    "evicts")
        cores = env.get("MODELRT_CPU_CORES")
        cpu_limit = parse_cpu((res.get("limits") or {}).get("cpu", ""))
        if c.check(cores, where, "no MODELRT_CPU_CORES: the budget should say the CPU limit, not "
                   "rest on reading the cgroup's quota"):
            ref = (cores.get("valueFrom") or {}).get("resourceFieldRef") or {}
            if ref:
                c.check(ref.get("resource") in ("limits.cpu", "requests.cpu") and
                        ref.get("containerName", k.get("name")) == k.get("name"), where,
                        f"MODELRT_CPU_CORES from {ref}: want this container's limits.cpu")
            else:
                v = str(cores.get("value", ""))
                c.check(v.isdigit() and (cpu_limit is None or int(v) <= cpu_limit), where,
                        f"MODELRT_CPU_CORES {v!r} is not a whole number within the CPU limit")
        # Data directory: writable, one per replica.
        data_dir = (config.data_dir if config and config.ok and config.data_dir else None) or \
            (env.get("MODELRT_DATA_DIR") or {}).get("value") or self.dockerfile.data_dir
        data_mount = [m for m in mounts if m.get("mountPath", "").rstrip("/") == str(data_dir)]
        if c.check(data_mount, where, f"the data directory {data_dir} is not a mounted volume "
                   "(the root file system is read-only)"):
            m = data_mount[0]
            c.check(not m.get("readOnly"), where, f"the data directory {data_dir} is read-only")
            v = volumes.get(m.get("name"))
            # volumeClaimTemplates, emptyDir and ephemeral volumes are made per pod; a named
            # claim (or hostPath, nfs, ...) is one volume for every replica.
            per_replica = m.get("name") in claim_templates or bool(
                v and ("emptyDir" in v or "ephemeral" in v))
            c.check(per_replica or max_r <= 1, where,
                    f"the data directory {data_dir} is one volume ({m.get('name')}) shared by up "
                    f"to {max_r} replicas: one server per data directory (the registry journal is "
                    "locked); give each replica its own (StatefulSet volumeClaimTemplates)")
            on_claim = m.get("name") in claim_templates or bool(
                v and ("persistentVolumeClaim" in v or "ephemeral" in v))
            c.check(on_claim, where,
                    f"the data directory {data_dir} is not on a PersistentVolumeClaim: the model "
                    "store would be lost with the pod")
        # Keys: Secret files.
        if config and config.ok:
            for key in ("api_keys_file", "admin_key_file"):
                value = getattr(config, key)
                if not c.check(value, config.where, f"server.{key} is not set: keys come from "
                               "the Secret as files"):
                    continue
                found = self.mounted_file(mounts, volumes, value, "secret")
                if c.check(found and found[1], where,
                           f"server.{key} {value} is not a key of a mounted Secret"):
                    v, skey, m = found
                    c.check(m.get("readOnly") is True, where,
                            f"the Secret volume {v['name']} is not mounted readOnly")
                    s = self.visible(path, "Secret", v["secret"].get("secretName")) or {}
                    c.check(skey in secret_data(s), where,
                            f"Secret {v['secret'].get('secretName')} has no key {skey}")
            check_config_paths(config, self.dockerfile, [m.get("mountPath") for m in mounts], c)
            if self.binary:
                config.validate_with_binary(self.binary, c)
        self.config = config

    def check_env_ref(self, path, where, e):
        c = self.checks
        vf = e.get("valueFrom") or {}
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if key in vf:
                ref = vf[key]
                obj = self.visible(path, kind, ref.get("name"))
                if c.check(obj or ref.get("optional"), where,
                           f"env {e.get('name')}: {kind} {ref.get('name')} is not in the "
                           "manifests"):
                    data = secret_data(obj) if kind == "Secret" else (obj or {}).get("data") or {}
                    c.check(ref.get("key") in data or ref.get("optional"), where,
                            f"env {e.get('name')}: {kind} {ref.get('name')} has no key "
                            f"{ref.get('key')}")

    # -- services, autoscalers, monitors --
    def check_service(self, path, doc, workloads):
        c = self.checks
        name = meta(doc).get("name")
        where = f"{path}: Service/{name}"
        sel = (doc.get("spec") or {}).get("selector") or {}
        matched = [w for _, w in workloads if sel and selects(sel, pod_labels(w))]
        if not c.check(matched, where, f"selector {sel} matches no workload's pod labels"):
            return
        for w in matched:
            ports = {}
            for k in ((w.get("spec") or {}).get("template") or {}).get("spec", {}).get(
                    "containers") or []:
                for p in k.get("ports") or []:
                    ports[p.get("name")] = p.get("containerPort")
            for sp in (doc.get("spec") or {}).get("ports") or []:
                t = sp.get("targetPort", sp.get("port"))
                ok = t in ports if isinstance(t, str) else t in ports.values()
                c.check(ok, where, f"targetPort {t} is not a port of {meta(w).get('name')} "
                        f"({ports})")
                c.check(isinstance(t, str), where,
                        f"targetPort {t} is a number: name the container port")

    def check_autoscaler(self, path, doc, autoscalers):
        c = self.checks
        where = f"{path}: {doc['kind']}/{meta(doc).get('name')}"
        kind, name = autoscaler_target(doc)
        target = self.visible(path, kind, name)
        c.check(target is not None and kind in WORKLOAD_KINDS, where,
                f"scaleTargetRef {kind}/{name} is not a workload in the manifests")
        lo, hi = autoscaler_range(doc)
        c.check(lo >= 2, where, f"minimum {lo} replica(s): want 2 or more")
        c.check(hi >= lo, where, f"maximum {hi} is below the minimum {lo}")
        for p, other in autoscalers:
            if other is not doc and autoscaler_target(other) == (kind, name) and \
                    os.path.dirname(p) == os.path.dirname(path):
                c.fail(where, f"{other['kind']}/{meta(other).get('name')} in the same folder "
                       "scales the same workload: two autoscalers fight")
        spec = doc.get("spec") or {}
        if doc["kind"] == "HorizontalPodAutoscaler":
            c.check(doc.get("apiVersion") == "autoscaling/v2", where,
                    f"apiVersion {doc.get('apiVersion')}, want autoscaling/v2")
            metrics = spec.get("metrics") or []
            c.check(metrics, where, "no metrics")
            for m in metrics:
                t = m.get("type")
                if t in ("Pods", "Object", "External"):
                    section = m.get(t[0].lower() + t[1:]) or {}
                    mname = (section.get("metric") or {}).get("name", "")
                    c.check(mname in self.facts.gauges, where,
                            f"metric {mname!r} is not a gauge the server exports "
                            f"(gauges: {sorted(self.facts.gauges)})")
                    target = section.get("target") or {}
                    c.check(target.get("type") in ("AverageValue", "Value") and
                            str(target.get("averageValue", target.get("value", ""))), where,
                            f"metric {mname}: target needs a value")
        else:
            triggers = spec.get("triggers") or []
            c.check(triggers, where, "no triggers")
            for t in triggers:
                md = t.get("metadata") or {}
                if t.get("type") != "prometheus":
                    continue
                query = md.get("query", "")
                names = re.findall(r"\b(modelrt_[a-z0-9_]+)", query)
                c.check(names, where, f"query {query!r} names no modelrt_ metric")
                for n in names:
                    c.check(self.facts.metric_exported(n), where,
                            f"query names {n}, which the server does not export")
                try:
                    ok = float(md.get("threshold", "")) > 0
                except ValueError:
                    ok = False
                c.check(ok, where, f"threshold {md.get('threshold')!r} is not a positive number")
                c.check(md.get("serverAddress"), where, "prometheus trigger has no serverAddress")

    def check_monitor(self, path, doc, workloads):
        c = self.checks
        where = f"{path}: {doc['kind']}/{meta(doc).get('name')}"
        spec = doc.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        endpoints = spec.get("podMetricsEndpoints") or spec.get("endpoints") or []
        if doc["kind"] == "PodMonitor":
            matched = [w for _, w in workloads if selects(sel, pod_labels(w))]
            c.check(matched, where, f"selector {sel} matches no workload's pods")
            names = {p.get("name") for w in matched for k in
                     w["spec"]["template"]["spec"].get("containers") or [] for p in
                     k.get("ports") or []}
        else:
            services = [d for _, d in self.docs if d.get("kind") == "Service" and
                        selects(sel, meta(d).get("labels") or {})]
            c.check(services, where, f"selector {sel} matches no Service's labels")
            names = {p.get("name") for s in services for p in s["spec"].get("ports") or []}
        c.check(endpoints, where, "no endpoints")
        config = getattr(self, "config", None)
        for ep in endpoints:
            c.check(ep.get("port") in names, where, f"port {ep.get('port')} is not one of {names}")
            c.check(ep.get("path", "/metrics") == "/metrics", where,
                    f"path {ep.get('path')}: the server's metrics are on /metrics")
            if config and config.ok and config.api_keys_file:
                creds = (ep.get("authorization") or {}).get("credentials") or \
                    ep.get("bearerTokenSecret") or {}
                if not c.check(creds.get("name") and creds.get("key"), where,
                               "the server wants an API key on /metrics: no authorization"):
                    continue
                s = self.visible(path, "Secret", creds["name"])
                data = secret_data(s) if s else {}
                if c.check(creds["key"] in data, where,
                           f"Secret {creds['name']} key {creds['key']} is not in the manifests"):
                    keys_item = self.api_keys_secret_value(config)
                    if keys_item is not None:
                        c.check(data[creds["key"]].strip() in keys_item, where,
                                f"Secret key {creds['key']} is not one of the server's api_keys")

    def api_keys_secret_value(self, config):
        """The API key lines of the Secret file server.api_keys_file names, when known."""
        for path, doc in self.docs:
            if doc.get("kind") not in WORKLOAD_KINDS:
                continue
            pod = doc["spec"]["template"]["spec"]
            volumes = {v.get("name"): v for v in pod.get("volumes") or []}
            for k in pod.get("containers") or []:
                found = self.mounted_file(k.get("volumeMounts") or [], volumes,
                                          config.api_keys_file, "secret")
                if found and found[1]:
                    s = self.visible(path, "Secret", found[0]["secret"].get("secretName"))
                    value = secret_data(s).get(found[1]) if s else None
                    if value is not None:
                        return [line.strip() for line in value.splitlines()
                                if line.strip() and not line.strip().startswith("#")]
        return None


def meta(doc):
    return doc.get("metadata") or {}


def pod_labels(workload):
    return ((((workload.get("spec") or {}).get("template") or {}).get("metadata") or {})
            .get("labels") or {})


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def is_headless(service):
    return (service.get("spec") or {}).get("clusterIP") == "None"


def secret_data(secret):
    out = {}
    for k, v in ((secret or {}).get("data") or {}).items():
        try:
            out[k] = base64.b64decode(str(v)).decode("utf-8", "replace")
        except ValueError:
            out[k] = ""
    out.update({k: str(v) for k, v in ((secret or {}).get("stringData") or {}).items()})
    return out


def autoscaler_target(doc):
    ref = (doc.get("spec") or {}).get("scaleTargetRef") or {}
    default = "Deployment"  # KEDA's default; an HPA must name its kind
    return ref.get("kind", default), ref.get("name")


def autoscaler_range(doc):
    spec = doc.get("spec") or {}
    if doc.get("kind") == "HorizontalPodAutoscaler":
        return spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
    return spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)


def prestop_sleep(pre):
    if "sleep" in pre:
        return (pre["sleep"] or {}).get("seconds")
    command = [str(x) for x in ((pre.get("exec") or {}).get("command") or [])]
    for i, word in enumerate(command):
        if posixpath.basename(word) == "sleep" and i + 1 < len(command):
            try:
                return float(command[i + 1])
            except ValueError:
                return None
        m = re.search(r"\bsleep\s+(\d+(?:\.\d+)?)\b", word)
        if m and i > 0:
            return float(m.group(1))
    return None


# --- runtime libraries ----------------------------------------------------------------------

def dependency_closure(packages):
    """`packages` and everything they depend on, as this machine's dpkg has them installed:
    apt brings a listed package's dependencies into the image too (libpq5's Kerberos and LDAP)."""
    seen, todo = set(), list(packages)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        r = subprocess.run(["dpkg-query", "-W", "-f=${Pre-Depends}, ${Depends}", name],
                           capture_output=True, text=True)
        if r.returncode != 0:
            continue
        for alternative in r.stdout.split(","):
            dep = alternative.split("|")[0].strip().split(" ")[0].split(":")[0]
            if dep:
                todo.append(dep)
    return seen


def check_runtime_libraries(binary, dockerfile, checks):
    """Every shared library the binary loads comes from a package the runtime stage installs,
    from the slim base, or is copied by the Dockerfile (ONNX Runtime)."""
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        checks.fail(binary, f"cannot run ldd: {e}")
        return
    have_dpkg = subprocess.run(["sh", "-c", "command -v dpkg"], capture_output=True).returncode == 0
    installed = dependency_closure(set(dockerfile.runtime_packages)) if have_dpkg else set()
    for line in out.splitlines():
        m = re.match(r"\s*(\S+)\s+=>\s+(\S+)", line)
        if not m:
            continue
        soname, lib = m.group(1), m.group(2)
        if lib == "not":
            checks.fail(binary, f"{soname} is not found here either")
            continue
        if soname.startswith("libonnxruntime"):
            checks.check(dockerfile.carries("/usr/local/lib/" + soname) or any(
                f.endswith("/" + soname) for f in dockerfile.image_files), dockerfile.path,
                f"{soname}: the image does not carry ONNX Runtime")
            continue
        if not have_dpkg:
            continue
        package = None
        real = os.path.realpath(lib)
        for candidate in dict.fromkeys([lib, real, re.sub(r"^/usr/lib/", "/lib/", real),
                                        re.sub(r"^/lib/", "/usr/lib/", real),
                                        re.sub(r"^/usr/lib/", "/lib/", lib)]):
            r = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if r.returncode == 0 and r.stdout:
                package = r.stdout.split(":")[0].strip()
                break
        if not checks.check(package, binary, f"{soname} ({lib}) belongs to no Debian package"):
            continue
        checks.check(package in SLIM_BASE_PACKAGES or package in installed,
                     dockerfile.path, f"the runtime stage does not install {package} "
                     f"(the binary needs {soname})")


# --- main -----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source_dir", nargs="?", default=os.path.dirname(os.path.dirname(HERE)))
    parser.add_argument("--modelrt-bin", default=os.environ.get("MODELRT_BIN", ""),
                        help="the built modelrt binary (default $MODELRT_BIN): validates the "
                             "configs with its parser and the runtime libraries with ldd")
    args = parser.parse_args()
    root = os.path.abspath(args.source_dir)
    deploy = os.path.join(root, "deploy")
    if not os.path.isdir(deploy):
        print(f"check_manifests: {deploy} is not a folder", file=sys.stderr)
        return 2
    checks = Checks(root)
    binary = args.modelrt_bin
    if binary and not checks.check(os.access(binary, os.X_OK), binary,
                                   "MODELRT_BIN is not an executable file"):
        binary = ""
    facts = SourceFacts(root, checks)
    dockerfile = Dockerfile(os.path.join(deploy, "Dockerfile"), facts, checks)

    yaml_files = sorted(os.path.join(b, f) for b, _, fs in os.walk(deploy) for f in fs
                        if f.endswith((".yaml", ".yml")))
    compose_files = [p for p in yaml_files if os.path.basename(p) in COMPOSE_NAMES]
    checks.check(compose_files, deploy, "no compose file")
    configs_seen = set()
    for p in compose_files:
        check_compose(p, dockerfile, facts, checks, binary, configs_seen)
    kube_dir = os.path.join(deploy, "kubernetes")
    kube_docs = []
    for p in yaml_files:
        if p in compose_files or os.path.abspath(p) in configs_seen:
            continue
        with open(p, encoding="utf-8") as f:
            try:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
            except yaml.YAMLError as e:
                checks.fail(p, f"does not parse: {' '.join(str(e).split())}")
                continue
        for d in docs:
            if checks.check(isinstance(d, dict) and d.get("apiVersion") and d.get("kind") and
                            meta(d).get("name"), p, "a document that is not a Kubernetes object "
                            "(apiVersion, kind, metadata.name), a compose file, nor a config "
                            "the compose file mounts"):
                checks.check(p.startswith(kube_dir + os.sep), p,
                             "a Kubernetes manifest outside deploy/kubernetes")
                kube_docs.append((p, d))
    kube = Kube(kube_dir, kube_docs, dockerfile, facts, checks, binary)
    kube.run()
    if binary:
        check_runtime_libraries(binary, dockerfile, checks)

    for line in checks.failures:
        print(line)
    if not binary:
        print("check_manifests: no MODELRT_BIN: the configs were not run through modelrt's parser")
    print(f"check_manifests: {checks.passed} passed, {len(checks.failures)} failed")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
