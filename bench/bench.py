#!/usr/bin/env python3
"""Benchmark of claude_proxy.py against a fast fake OpenAI-compatible provider, on loopback.

    cd /work/main && uv run --with litellm python bench/bench.py [--quick]

Every figure is measured twice in the same run: the direct call (client -> fake provider, OpenAI
format) and the proxied call (client -> proxy -> fake provider, Anthropic format); the table gives
proxy/direct. The fake provider and the proxy run in their own processes; CPU and memory figures
are the proxy process's own, read from /proc. Results: a Markdown table on stdout and bench/latest.json.
"""

import argparse
import http.client
import http.server
import json
import os
import platform
import socketserver
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROXY = os.path.join(ROOT, "claude_proxy.py")
CHUNKS = 200  # content chunks per stream
CLK_TCK = os.sysconf("SC_CLK_TCK")
REQUEST_TIMEOUT = 120.0

# ----------------------------------------------------------------------------------------
# the fake provider (run in its own process: `bench.py --fake-provider`)
# ----------------------------------------------------------------------------------------


def fake_bodies(model, chunks):
    """(non-stream JSON body, stream body without usage, usage frame) as bytes, precomputed."""
    usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
    head = {"id": "chatcmpl-bench", "created": 1700000000, "model": model,
            "service_tier": "default", "system_fingerprint": "fp_bench"}
    completion = dict(head, object="chat.completion", usage=usage, choices=[
        {"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}])
    frames = []

    def frame(choices, usage=None):
        payload = dict(head, object="chat.completion.chunk", choices=choices)
        if usage is not None:
            payload["usage"] = usage
        data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
        return b"%x\r\n%s\r\n" % (len(data), data)

    frames.append(frame([{"index": 0, "delta": {"role": "assistant", "content": "w0 "}, "finish_reason": None}]))
    for n in range(1, chunks):
        frames.append(frame([{"index": 0, "delta": {"content": f"w{n} "}, "finish_reason": None}]))
    frames.append(frame([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    usage_frame = frame([], usage)
    done = b"data: [DONE]\n\n"
    tail = b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done)
    return json.dumps(completion, separators=(",", ":")).encode(), frames, usage_frame, tail


def gemini_bodies(model, chunks):
    """The same, as Gemini answers (generateContent; streamGenerateContent?alt=sse: `data:` frames of
    GenerateContentResponse, CRLF CRLF between them, usageMetadata in each, the last with finishReason)."""
    head = {"modelVersion": model, "responseId": "bench-response"}

    def response(text, n, finish=None):
        candidate = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        usage = {"promptTokenCount": 12, "candidatesTokenCount": n, "totalTokenCount": 12 + n}
        return dict(head, candidates=[candidate], usageMetadata=usage)

    def frame(payload):
        data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\r\n\r\n"
        return b"%x\r\n%s\r\n" % (len(data), data)

    frames = [frame(response(f"w{n} ", n + 1, "STOP" if n == chunks - 1 else None)) for n in range(chunks)]
    whole = json.dumps(response("pong", 1, "STOP"), separators=(",", ":")).encode()
    return whole, frames, b"", b"0\r\n\r\n"


# Google's 429: no retry-after header, the delay in a RetryInfo detail (ai.google.dev/gemini-api/docs/rate-limits)
GEMINI_429 = json.dumps({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                                   "status": "RESOURCE_EXHAUSTED", "details": [
                                       {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]}}).encode()


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300
    cache = {}

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.server.provider == "gemini":
            return self.gemini()
        model = str(body.get("model", "fake"))
        if model.endswith("-ratelimited"):  # the provider's 429, as OpenAI sends it
            data = b'{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}'
            self.wfile.write(b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nretry-after: 7\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
            return
        completion, frames, usage_frame, tail = self.bodies(model, fake_bodies)
        if body.get("stream"):
            usage = usage_frame if (body.get("stream_options") or {}).get("include_usage") else b""
            self.stream(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n", frames, usage + tail)
        else:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(completion), completion))

    def bodies(self, model, make):
        """The precomputed answers for a model (make(model, chunks)), made on its first request."""
        bodies = self.cache.get(model)
        if bodies is None:
            bodies = self.cache[model] = make(model, self.server.chunks)
        return bodies

    def gemini(self):
        model, _, method = self.path.rpartition("/")[2].partition(":")
        if model.endswith("-ratelimited"):
            self.wfile.write(b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=UTF-8\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(GEMINI_429), GEMINI_429))
            return
        whole, frames, _, tail = self.bodies(model, gemini_bodies)
        if method.startswith("streamGenerateContent"):
            self.stream(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
                        frames, tail)
        else:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(whole), whole))

    def stream(self, head, frames, tail):
        """A stream's frames: all in one write (a burst), or one at a time, `pace` seconds apart (a model's pace)."""
        pace = self.server.pace
        if not pace:
            self.wfile.write(head + b"".join(frames) + tail)
            return
        self.wfile.write(head)
        for frame in frames:
            self.wfile.write(frame)
            time.sleep(pace)
        self.wfile.write(tail)


class FakeServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # clients hanging up are not failures here


def run_fake_provider(chunks, provider="openai", pace=0.0):
    server = FakeServer(("127.0.0.1", 0), FakeHandler)
    server.chunks, server.provider, server.pace = chunks, provider, pace
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


# ----------------------------------------------------------------------------------------
# /proc readings of the proxy process
# ----------------------------------------------------------------------------------------


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime (fields 14, 15)


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid, every=0.02):
        super().__init__(daemon=True)
        self.pid, self.every, self.peak, self.stop = pid, every, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, status_kb(self.pid, "VmRSS"))
            except OSError:
                return
            self.stop.wait(self.every)


# ----------------------------------------------------------------------------------------
# clients
# ----------------------------------------------------------------------------------------


class Target:
    """How to call one side: path, headers and the JSON bodies for non-stream and stream requests."""

    def __init__(self, name, port, path, headers, body, stream_body, stream_path=None):
        self.name, self.port, self.path, self.headers = name, port, path, headers
        self.stream_path = stream_path or path
        self.body = json.dumps(body).encode()
        self.stream_body = json.dumps(stream_body).encode()


def direct_target(port):
    messages = [{"role": "user", "content": "Say pong."}]
    return Target("direct", port, "/v1/chat/completions",
                  {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"},
                  {"model": "gpt-4.1", "messages": messages, "max_tokens": 1024},
                  {"model": "gpt-4.1", "messages": messages, "max_tokens": 1024, "stream": True,
                   "stream_options": {"include_usage": True}})


def gemini_target(port):
    body = {"contents": [{"role": "user", "parts": [{"text": "Say pong."}]}], "generationConfig": {"maxOutputTokens": 1024}}
    return Target("direct", port, "/v1beta/models/gemini-2.5-flash:generateContent",
                  {"Content-Type": "application/json", "x-goog-api-key": "bench"}, body, body,
                  "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")


def proxy_target(port):
    messages = [{"role": "user", "content": "Say pong."}]
    return Target("proxy", port, "/v1/messages",
                  {"Content-Type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": "bench"},
                  {"model": "claude-sonnet-4-5", "messages": messages, "max_tokens": 1024},
                  {"model": "claude-sonnet-4-5", "messages": messages, "max_tokens": 1024, "stream": True})


def one_request(conn, target, stream):
    """One call on a keep-alive connection: (latency s, time to first body byte s, SSE events)."""
    start = time.perf_counter()
    conn.request("POST", target.stream_path if stream else target.path, target.stream_body if stream else target.body,
                 target.headers)
    resp = conn.getresponse()
    if not stream:
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{target.name} HTTP {resp.status}: {data[:300]!r}")
        return time.perf_counter() - start, None, 0
    first = resp.read1(65536)
    ttfb = time.perf_counter() - start
    parts = [first]
    while True:
        part = resp.read1(65536)
        if not part:
            break
        parts.append(part)
    data = b"".join(parts)
    if resp.status != 200:
        raise RuntimeError(f"{target.name} HTTP {resp.status}: {data[:300]!r}")
    events = data.count(b"\n\n") + data.count(b"\r\n\r\n")  # one SSE event each, [DONE] included (Gemini's: CRLF)
    if target.name == "proxy" and b"message_stop" not in data:
        raise RuntimeError(f"proxy stream without message_stop: {data[-300:]!r}")
    return time.perf_counter() - start, ttfb, events


def run_phase(target, concurrency, stream, duration, max_count, on_start=None):
    """`concurrency` threads, each with its own keep-alive connection, start requests until
    `duration` has passed or `max_count` requests have started; in-flight requests finish."""
    lock = threading.Lock()
    state = {"started": 0}
    latencies, ttfbs, events, errors = [], [], [0], []
    barrier = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=REQUEST_TIMEOUT)
        barrier.wait()
        try:
            while True:
                with lock:
                    if state["started"] >= max_count or time.perf_counter() >= deadline[0]:
                        return
                    state["started"] += 1
                try:
                    latency, ttfb, n = one_request(conn, target, stream)
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    with lock:
                        errors.append(repr(exc)[:300])
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=REQUEST_TIMEOUT)
                    continue
                with lock:
                    latencies.append(latency)
                    if ttfb is not None:
                        ttfbs.append(ttfb)
                    events[0] += n
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    if on_start:
        on_start()
    start = time.perf_counter()
    deadline[0] = start + duration
    barrier.wait()
    for t in threads:
        t.join(REQUEST_TIMEOUT * 2)
    elapsed = time.perf_counter() - start
    return {"requests": len(latencies), "errors": len(errors), "error_sample": errors[:3], "elapsed": elapsed,
            "rate": len(latencies) / elapsed, "events": events[0], "events_rate": events[0] / elapsed,
            "p50": pct(latencies, 0.50), "p99": pct(latencies, 0.99), "ttfb_p50": pct(ttfbs, 0.50)}


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# ----------------------------------------------------------------------------------------
# processes
# ----------------------------------------------------------------------------------------


class Drain(threading.Thread):
    """Reads a child's pipe to the end, keeping the last lines (for error reports)."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.lines = stream, []

    def run(self):
        for line in self.stream:
            self.lines = (self.lines + [line.rstrip()])[-40:]


def stop_process(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def read_line(proc, timeout):
    """The child's first stdout line, or an error after `timeout` seconds."""
    box = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        raise RuntimeError(f"no start-up line from {proc.args} within {timeout} s (exit code {proc.poll()})")
    return box[0].strip()


def child_env():
    env = dict(os.environ)
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    return env


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        from importlib.metadata import version
        litellm_version = version("litellm")
    except Exception:  # noqa: BLE001
        litellm_version = "not installed"
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "litellm": litellm_version, "platform": platform.platform()}


# ----------------------------------------------------------------------------------------
# the run
# ----------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short phases (under a minute in all)")
    parser.add_argument("--fake-provider", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--chunks", type=int, default=CHUNKS, help=argparse.SUPPRESS)
    parser.add_argument("--json", default=os.path.join(HERE, "latest.json"), help="where to write the JSON figures")
    parser.add_argument("--via", choices=("auto", "litellm"), default="auto",
                        help="the proxy's provider path (its --via): auto (direct for this OpenAI-compatible fake) or litellm")
    parser.add_argument("--provider", choices=tuple(PROVIDERS), default="openai",
                        help="the fake provider's API: openai (chat completions) or gemini (generateContent, AI Studio)")
    parser.add_argument("--pace-ms", type=float, default=0.0,
                        help="the fake's pause between stream frames (0: each stream in one write, a burst)")
    args = parser.parse_args()
    if args.fake_provider:
        return run_fake_provider(args.chunks, args.provider, args.pace_ms / 1000)

    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    duration = 0.6 if args.quick else 3.0  # seconds per phase (streams at 64: at least one round)
    stream_duration = 0.5 if args.quick else 3.0
    max_requests = 3000 if args.quick else 30000
    max_streams = 256 if args.quick else 1280
    env = child_env()
    fake = proxy = None
    results = {"mode": "quick" if args.quick else "full", "via": args.via, "provider": args.provider, "machine": machine(),
               "chunks_per_stream": CHUNKS, "pace_ms": args.pace_ms}
    direct_of, provider_env, rate_limited = PROVIDERS[args.provider]
    run_start = time.perf_counter()
    try:
        fake = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--fake-provider", "--chunks", str(CHUNKS),
                                 "--provider", args.provider, "--pace-ms", str(args.pace_ms)],
                                stdout=subprocess.PIPE, text=True, env=env)
        fake_port = int(read_line(fake, 30))
        direct = direct_of(fake_port)

        proxy_env = dict(env, MAX_CONCURRENCY="4096", SHUTDOWN_GRACE="1", **provider_env(fake_port))
        for name in ("PROXY_API_KEY", "MIDDLE_MODEL", "OPUS_MODEL", "THINK_MODEL", "VISION_MODEL",
                     "LONG_CONTEXT_MODEL", "PORT", "HOST", "LOG_LEVEL", "LOG_FILE"):
            proxy_env.pop(name, None)
        t0 = time.perf_counter()
        proxy = subprocess.Popen([sys.executable, PROXY, "--port", "0", "--log-level", "warning", "--via", args.via], cwd=HERE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=proxy_env)
        line = read_line(proxy, 60)
        if "listening on" not in line:
            raise RuntimeError(f"unexpected first proxy line: {line!r}")
        proxy_port = int(line.rsplit(":", 1)[1].strip().strip("/").split("\x1b")[0])
        out, err = Drain(proxy.stdout), Drain(proxy.stderr)
        out.start()
        err.start()
        target = proxy_target(proxy_port)
        listening = time.perf_counter() - t0
        while True:  # start-up: process start -> first served /v1/messages
            if proxy.poll() is not None:
                raise RuntimeError(f"proxy exited with {proxy.returncode}: " + "\n".join(err.lines[-10:]))
            if time.perf_counter() - t0 > 120:
                raise RuntimeError("proxy did not serve /v1/messages within 120 s")
            conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=REQUEST_TIMEOUT)
            try:
                one_request(conn, target, False)
                break
            except ConnectionRefusedError:
                time.sleep(0.01)
            finally:
                conn.close()
        startup = time.perf_counter() - t0
        time.sleep(0.5)
        rss_idle = status_kb(proxy.pid, "VmRSS")

        # warm both sides (connections, lazy imports, caches); not measured
        for side in (direct, target):
            run_phase(side, 4, False, 0.3, 200)
            run_phase(side, 4, True, 0.3, 8)

        phases = {}

        def measure(key, concurrency, stream, phase_duration, count, sample_rss=False):
            for side in (direct, target):
                sampler = RssSampler(proxy.pid) if sample_rss and side is target else None
                cpu0 = cpu_seconds(proxy.pid)
                r = run_phase(side, concurrency, stream, phase_duration, count,
                              on_start=sampler.start if sampler else None)
                r["proxy_cpu"] = cpu_seconds(proxy.pid) - cpu0
                if sampler:
                    sampler.stop.set()
                    sampler.join()
                    r["rss_peak_sampled_kb"] = sampler.peak
                phases[f"{key}.{side.name}"] = r
                print(f"  {key:<12} {side.name:<6} {r['requests']:>6} in {r['elapsed']:6.2f} s, "
                      f"{r['errors']} errors, proxy CPU {r['proxy_cpu']:.2f} s", file=sys.stderr, flush=True)
                if r["errors"]:
                    print(f"    e.g. {r['error_sample'][0]}", file=sys.stderr, flush=True)

        measure("nonstream.c1", 1, False, duration, max_requests)
        measure("nonstream.c8", 8, False, duration, max_requests)
        measure("nonstream.c64", 64, False, duration, max_requests)
        measure("stream.c1", 1, True, stream_duration, max_streams)
        measure("stream.c64", 64, True, stream_duration, max_streams, sample_rss=True)
        results["rate_limit"] = rate_limit_phase(direct, target, rate_limited)
        rss_hwm = status_kb(proxy.pid, "VmHWM")
        results["phases"] = phases
        results["run_seconds"] = round(time.perf_counter() - run_start, 1)
        results["figures"] = figures(phases, startup, listening, rss_idle, rss_hwm, results["rate_limit"])
        errors = sum(p["errors"] for p in phases.values())
        results["errors"] = errors
    finally:
        stop_process(proxy)
        stop_process(fake)

    table = markdown(results)
    print(table)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(f"\n(written to {os.path.relpath(args.json, ROOT)}; run took {results['run_seconds']} s)")
    return 1 if results["errors"] else 0


def rate_limit_phase(direct, target, rate_limited, count=20):
    """The provider's 429 (retry-after 7): how long until the client has it, and whether it
    arrives typed (rate_limit_error) with its retry-after. Median of `count` calls per side.
    rate_limited(side, body) -> (path, body) of a call the fake answers with its 429."""
    out = {}
    for side in (direct, target):
        path, body = rate_limited(side, json.loads(side.body))
        data = json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=REQUEST_TIMEOUT)
        times, typed = [], True
        for _ in range(count):
            start = time.perf_counter()
            conn.request("POST", path, data, side.headers)
            resp = conn.getresponse()
            answer = resp.read()
            times.append(time.perf_counter() - start)
            if side.name == "proxy":
                typed &= (resp.status == 429 and resp.getheader("retry-after") == "7"
                          and json.loads(answer)["error"]["type"] == "rate_limit_error")
        conn.close()
        out[side.name] = {"p50": pct(times, 0.5), "typed": typed}
    return out


def figures(p, startup, listening, rss_idle, rss_hwm, rate_limit=None):
    rows = []

    def row(name, unit, direct, proxy, digits=1):
        ratio = proxy / direct if direct not in (None, 0) and proxy is not None else None
        rows.append({"figure": name, "unit": unit, "direct": rnd(direct, digits), "proxy": rnd(proxy, digits),
                     "ratio": rnd(ratio, 3)})

    ms = 1000.0
    for c in (1, 8, 64):
        d, x = p[f"nonstream.c{c}.direct"], p[f"nonstream.c{c}.proxy"]
        row(f"non-stream requests/s, c={c}", "req/s", d["rate"], x["rate"])
        row(f"non-stream latency p50, c={c}", "ms", d["p50"] and d["p50"] * ms, x["p50"] and x["p50"] * ms, 2)
        row(f"non-stream latency p99, c={c}", "ms", d["p99"] and d["p99"] * ms, x["p99"] and x["p99"] * ms, 2)
    d, x = p["nonstream.c1.direct"], p["nonstream.c1.proxy"]
    if d["p50"] is not None and x["p50"] is not None:
        rows.append({"figure": "added latency p50, non-stream, c=1", "unit": "ms", "direct": None,
                     "proxy": rnd((x["p50"] - d["p50"]) * ms, 2), "ratio": None})
    for c in (1, 64):
        d, x = p[f"stream.c{c}.direct"], p[f"stream.c{c}.proxy"]
        row(f"{CHUNKS}-chunk streams/s, c={c}", "streams/s", d["rate"], x["rate"], 2)
        row(f"stream time to first byte p50, c={c}", "ms", d["ttfb_p50"] and d["ttfb_p50"] * ms,
            x["ttfb_p50"] and x["ttfb_p50"] * ms, 2)
        row(f"relayed SSE events/s, c={c}", "events/s", d["events_rate"], x["events_rate"], 0)
    ns = [p[f"nonstream.c{c}.proxy"] for c in (1, 8, 64)]
    cpu_req = sum(r["proxy_cpu"] for r in ns) / max(1, sum(r["requests"] for r in ns))
    st = [p[f"stream.c{c}.proxy"] for c in (1, 64)]
    cpu_event = sum(r["proxy_cpu"] for r in st) / max(1, sum(r["events"] for r in st))
    for name, unit, value in (
            ("proxy CPU per non-stream request", "ms", cpu_req * 1000),
            ("proxy CPU per relayed SSE event", "µs", cpu_event * 1e6),
            ("start-up: process start -> first served /v1/messages", "s", startup),
            ("start-up: process start -> listening line", "s", listening),
            ("proxy RSS idle (after start-up and one request)", "MB", rss_idle / 1024),
            ("proxy RSS peak, sampled during 64 live streams", "MB", p["stream.c64.proxy"]["rss_peak_sampled_kb"] / 1024),
            ("proxy RSS high-water mark (VmHWM) at the end", "MB", rss_hwm / 1024)):
        rows.append({"figure": name, "unit": unit, "direct": None, "proxy": rnd(value, 3 if unit == "s" else 2),
                     "ratio": None})
    if rate_limit:
        d, x = rate_limit["direct"]["p50"] * 1000, rate_limit["proxy"]["p50"] * 1000
        rows.append({"figure": "upstream 429 (retry-after 7) reaches the client, p50"
                               + (", typed rate_limit_error with retry-after" if rate_limit["proxy"]["typed"] else ", NOT typed"),
                     "unit": "ms", "direct": rnd(d, 2), "proxy": rnd(x, 2), "ratio": rnd(x / d if d else None, 3)})
    return rows


def rnd(value, digits):
    if value is None:
        return None
    return round(value, digits) if digits else int(round(value))


def markdown(results):
    m = results["machine"]
    lines = [f"Machine: {m['nproc']} × {m['cpu']}; Python {m['python']}; litellm {m['litellm']}; "
             f"{results['mode']} run, fake {results.get('provider', 'openai')} provider"
             + (f" pacing its streams ({results['pace_ms']:g} ms between frames)" if results.get("pace_ms") else "")
             + f", proxy via {results.get('via', 'auto')}, "
             f"{results['chunks_per_stream']}-chunk streams, loopback.", "",
             "| figure | direct | proxy | ratio |", "|---|---|---|---|"]
    for r in results["figures"]:
        show = lambda v: "—" if v is None else f"{v:g}"  # noqa: E731
        lines.append(f"| {r['figure']} ({r['unit']}) | {show(r['direct'])} | {show(r['proxy'])} | "
                     + ("—" if r["ratio"] is None else f"{r['ratio']:g}×") + " |")
    if results.get("errors"):
        lines.append(f"\n{results['errors']} request(s) failed; see phases.*.error_sample in the JSON.")
    return "\n".join(lines)


def openai_rate_limited(side, body):
    return side.path, dict(body, model="openai/gpt-4.1-ratelimited" if side.name == "proxy" else "gpt-4.1-ratelimited")


def gemini_rate_limited(side, body):
    if side.name == "proxy":
        return side.path, dict(body, model="gemini/gemini-2.5-flash-ratelimited")
    return side.path.replace("gemini-2.5-flash:", "gemini-2.5-flash-ratelimited:"), body


# --provider: (the direct target for the fake's port, the proxy's environment for it, the rate-limited call)
PROVIDERS = {
    "openai": (direct_target, lambda port: {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
                                            "BIG_MODEL": "openai/gpt-4.1", "SMALL_MODEL": "openai/gpt-4.1-mini"},
               openai_rate_limited),
    "gemini": (gemini_target, lambda port: {"GEMINI_API_KEY": "bench", "GEMINI_API_BASE": f"http://127.0.0.1:{port}/v1beta",
                                            "BIG_MODEL": "gemini/gemini-2.5-flash", "SMALL_MODEL": "gemini/gemini-2.5-flash"},
               gemini_rate_limited),
}


if __name__ == "__main__":
    sys.exit(main() or 0)
