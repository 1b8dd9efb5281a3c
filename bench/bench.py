#!/usr/bin/env python3
"""Benchmark of claude_proxy.py against a fast fake OpenAI-compatible provider, on loopback.

    cd /work/main && uv run --with litellm python bench/bench.py [--quick]

Every figure is measured twice in the same run: the direct call (client -> fake provider, OpenAI
format) and the proxied call (client -> proxy -> fake provider, Anthropic format); the table gives
proxy/direct. The fake provider and the proxy run in their own processes; CPU and memory figures
are the proxy process's own, read from /proc. Results: a Markdown table on stdout and bench/latest.json.
"""

import argparse
import contextlib
import http.client
import http.server
import itertools
import json
import os
import platform
import random
import re
import signal
import socket
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


def fake_anthropic_bodies(model, chunks):
    """(non-stream JSON body, the whole chunked stream body) in Anthropic's Messages format, as bytes:
    message_start, ping, one text block of `chunks` deltas, message_delta, message_stop, one event per chunk."""
    usage = {"input_tokens": 12, "output_tokens": chunks, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0}
    head = {"id": "msg_bench", "type": "message", "role": "assistant", "model": model, "stop_sequence": None}
    message = dict(head, content=[{"type": "text", "text": "pong"}], stop_reason="end_turn", usage=usage)
    events = [("message_start", {"type": "message_start", "message": dict(head, content=[], stop_reason=None,
                                                                           usage=dict(usage, output_tokens=1))}),
              ("ping", {"type": "ping"}),
              ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"w{n} "}})
               for n in range(chunks)]
    events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": {"output_tokens": chunks}}), ("message_stop", {"type": "message_stop"})]
    frames = []
    for name, data in events:
        event = b"event: %s\ndata: %s\n\n" % (name.encode(), json.dumps(data, separators=(",", ":")).encode())
        frames.append(b"%x\r\n%s\r\n" % (len(event), event))
    return json.dumps(message, separators=(",", ":")).encode(), b"".join(frames) + b"0\r\n\r\n"


def fake_responses_bodies(model, chunks):
    """fake_bodies for OpenAI's Responses API: (JSON response, stream events but the last, the
    completed event, the end), as bytes; every event with its `event:` line and sequence_number."""
    usage = {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": chunks,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12 + chunks}
    text = "".join(f"w{n} " for n in range(chunks))
    message = {"id": "msg_bench", "type": "message", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": text, "annotations": []}]}
    head = {"id": "resp_bench", "object": "response", "created_at": 1700000000, "model": model, "error": None,
            "incomplete_details": None, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "store": False}
    response = dict(head, status="completed", output=[message], usage=usage)
    events = [("response.created", {"response": dict(head, status="in_progress", output=[], usage=None)}),
              ("response.output_item.added", {"output_index": 0, "item": dict(message, content=[], status="in_progress")}),
              ("response.content_part.added", {"output_index": 0, "item_id": "msg_bench", "content_index": 0,
                                               "part": {"type": "output_text", "text": "", "annotations": []}})]
    events += [("response.output_text.delta", {"output_index": 0, "item_id": "msg_bench", "content_index": 0,
                                                "delta": f"w{n} ", "logprobs": []}) for n in range(chunks)]
    events += [("response.output_text.done", {"output_index": 0, "item_id": "msg_bench", "content_index": 0, "text": text,
                                               "logprobs": []}),
               ("response.output_item.done", {"output_index": 0, "item": message})]

    def frame(n, kind, data):
        data = b"event: %s\ndata: %s\n\n" % (kind.encode(), json.dumps(dict(data, type=kind, sequence_number=n),
                                                                            separators=(",", ":")).encode())
        return b"%x\r\n%s\r\n" % (len(data), data)

    frames = [frame(n, kind, data) for n, (kind, data) in enumerate(events)]
    return (json.dumps(response, separators=(",", ":")).encode(), frames,
            frame(len(events), "response.completed", {"response": response}), b"0\r\n\r\n")


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
        if self.path.endswith("/v1/messages"):  # Anthropic's Messages API (--provider anthropic)
            return self.anthropic(model, body)
        if model.endswith("-ratelimited"):  # the provider's 429, as OpenAI sends it
            data = b'{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}'
            self.wfile.write(b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nretry-after: 7\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
            return
        responses = self.path.endswith("/responses")  # OpenAI's Responses API (--provider responses)
        completion, frames, usage_frame, tail = self.bodies(model, fake_responses_bodies if responses else fake_bodies)
        if body.get("stream"):
            usage = usage_frame if responses or (body.get("stream_options") or {}).get("include_usage") else b""
            self.stream(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                        b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n", frames, usage + tail)
        else:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(completion), completion))

    def bodies(self, model, make):
        """The precomputed answers for a model (make(model, chunks)), made on its first request."""
        bodies = self.cache.get((model, make))
        if bodies is None:
            bodies = self.cache[model, make] = make(model, self.server.chunks)
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


    def anthropic(self, model, body):
        if model.endswith("-ratelimited"):  # the provider's 429, as Anthropic sends it
            data = b'{"type":"error","error":{"type":"rate_limit_error","message":"Number of requests has exceeded your rate limit"}}'
            self.wfile.write(b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nretry-after: 7\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(data), data))
            return
        bodies = self.cache.get(("anthropic", model))
        if bodies is None:
            bodies = self.cache[("anthropic", model)] = fake_anthropic_bodies(model, self.server.chunks)
        message, stream = bodies
        if body.get("stream"):
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n\r\n" + stream)
        else:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(message), message))


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


def direct_target(port, provider="openai"):
    messages = [{"role": "user", "content": "Say pong."}]
    if provider == "responses":
        return Target("direct", port, "/v1/responses", {"Content-Type": "application/json", "Authorization": "Bearer sk-bench"},
                      {"model": "gpt-5.3-codex", "input": messages, "max_output_tokens": 1024, "store": False},
                      {"model": "gpt-5.3-codex", "input": messages, "max_output_tokens": 1024, "store": False, "stream": True})
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


def anthropic_direct_target(port):
    """--provider anthropic: the client -> the fake's own Messages API, the request the proxy gets."""
    target = proxy_target(port)
    target.name = "direct"
    return target


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


def stop_tree(proc):
    """stop_process for a process and the children it forked."""
    if proc is not None and proc.poll() is None:
        for child in proc_tree(proc.pid)[1:]:
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGTERM)
    stop_process(proc)


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
# paced streams (bench.py --paced): a provider that sends one chunk at a time, as models do
# ----------------------------------------------------------------------------------------

STAMP = re.compile(rb"@(\d+\.\d+)@")  # a chunk's send time (time.monotonic(), one clock for every process here)

# name -> the loads of one scenario: (label, streams, events/s, events per stream, ms to the first content chunk)
SCENARIOS = {
    "done-when": [("a", 2000, 5, 25, 1500), ("b", 200, 50, 200, 0)],
    "quick": [("a", 200, 5, 10, 1500), ("b", 100, 50, 50, 0)],
}


def paced_model(rate, chunks, first_ms):
    """The fake provider reads its pace from the model name: paced-r50-n200-f0."""
    return f"paced-r{rate:g}-n{chunks}-f{first_ms}"


def paced_frame(payload):
    data = b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


ANSWER_IDS = itertools.count(random.getrandbits(40))


async def paced_stream(reader, writer):
    """One connection of the paced fake provider: each request's answer is a head and the role
    chunk at once (as OpenAI sends them), the first content chunk after `f` ms, then one content
    chunk every 1/r s, each stamped with its send time, then the finish, usage and [DONE]."""
    import asyncio
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            body = json.loads(await reader.readexactly(length))
            model = str(body.get("model", ""))
            m = re.search(r"paced-r([\d.]+)-n(\d+)-f(\d+)", model)
            rate, chunks, first_ms = (float(m.group(1)), int(m.group(2)), int(m.group(3))) if m else (50.0, 10, 0)
            # each answer its own id, as OpenAI's: a proxy cannot share what it learns of one stream's bytes with the next
            base = {"id": "chatcmpl-%012x" % next(ANSWER_IDS), "object": "chat.completion.chunk", "created": 1700000000,
                    "model": model}
            if not body.get("stream"):  # the start-up check's request
                answer = json.dumps(dict(base, object="chat.completion", choices=[{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "pong"}}])).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(answer), answer))
                await writer.drain()
                continue
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
                         b"Cache-Control: no-cache\r\n\r\n" + paced_frame(dict(base, choices=[
                             {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])))
            await writer.drain()
            loop = asyncio.get_running_loop()
            due = loop.time() + first_ms / 1000
            for _ in range(chunks):
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(paced_frame(dict(base, choices=[{"index": 0, "delta": {"content": "@%.6f@ " % time.monotonic()},
                                                              "finish_reason": None}])))
                due += 1 / rate
            usage = {"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}
            writer.write(paced_frame(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
                         + paced_frame(dict(base, choices=[], usage=usage)) + b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
            await writer.drain()
            if b"connection: close" in head.lower():
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def run_paced_provider():
    import asyncio

    async def serve():
        server = await asyncio.start_server(paced_stream, "127.0.0.1", 0, backlog=4096)
        print(server.sockets[0].getsockname()[1], flush=True)
        await server.serve_forever()

    raise_file_limit()
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


def run_floor_relay(upstream_port, processes):
    """The floor of a paced run: a bare relay, the least any proxy written in Python does per event.
    It forwards bytes between each client and its own connection to the provider (one epoll per
    process, a recv and a send per read, no HTTP, no translation), in `processes` processes
    sharing one listening socket (as the proxy's WORKERS do). Its CPU per event, beside the
    proxy's in the same run, is the share of the proxy's cost that this machine's system calls
    and wake-ups take."""
    import select
    raise_file_limit()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    listener.setblocking(False)
    print(listener.getsockname()[1], flush=True)
    for _ in range(processes - 1):
        if os.fork() == 0:
            break
    poll, peers = select.epoll(), {}  # fd -> (its socket, the other side's socket)
    poll.register(listener.fileno(), select.EPOLLIN)
    while True:
        for fd, _ in poll.poll():
            if fd == listener.fileno():
                try:
                    client, _ = listener.accept()
                except BlockingIOError:  # another process took it
                    continue
                upstream = socket.create_connection(("127.0.0.1", upstream_port))
                for one, other in ((client, upstream), (upstream, client)):
                    one.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    one.setblocking(False)
                    peers[one.fileno()] = (one, other)
                    poll.register(one.fileno(), select.EPOLLIN)
                continue
            if fd not in peers:
                continue
            one, other = peers[fd]
            try:
                data = one.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            try:
                if data:
                    sent = other.send(data)
                    if sent < len(data):  # rare at a paced rate: the rest the blocking way
                        other.setblocking(True)
                        other.sendall(data[sent:])
                        other.setblocking(False)
                    continue
            except OSError:
                pass
            for sock in (one, other):
                if sock.fileno() in peers:
                    poll.unregister(sock.fileno())
                    del peers[sock.fileno()]
                sock.close()


def raise_file_limit():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def paced_client(port, path, headers, body, start_at, record):
    """One stream over its own connection (Connection: close): TTFB (request sent -> the answer's
    first bytes), and for every stamped chunk the delay from its send by the provider to its
    arrival here. record(ok, ttfb, delays, reason)."""
    import asyncio
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{head}"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    delays, ttfb, tail, seen = [], None, b"", []
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
        sent = time.monotonic()
        writer.write(request)
        while True:
            data = await asyncio.wait_for(reader.read(65536), 60)
            now = time.monotonic()
            if not data:
                break
            if ttfb is None:
                ttfb = now - sent
            data = tail + data
            end = 0
            for m in STAMP.finditer(data):
                delays.append(now - float(m.group(1)))
                end = m.end()
            tail = data[max(end, len(data) - 40):]
            seen.append(data[:16] if not seen else b"")
            if b"message_stop" in data or b"[DONE]" in data:
                seen.append(b"END")
        writer.close()
        ok = seen and seen[0].startswith(b"HTTP/1.1 200") and b"END" in seen
        record(bool(ok), ttfb, delays, None if ok else repr(seen[0][:16]) if seen else "no answer")
    except Exception as exc:  # noqa: BLE001 - counted and reported
        record(False, ttfb, delays, type(exc).__name__)


def proc_tree(pid):
    """The proxy's process and its worker processes (WORKERS)."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return pids


def tree_reading(pid):
    """(CPU seconds, threads, open fds, RSS kB) summed over the proxy's processes."""
    cpu = threads = fds = rss = 0
    for p in proc_tree(pid):
        try:
            cpu += cpu_seconds(p)
            threads += status_kb(p, "Threads")
            rss += status_kb(p, "VmRSS")
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return cpu, threads, fds, rss


def paced_phase(target, streams, rate, chunks, first_ms, ramp, proxy_pid):
    """`streams` paced streams, started evenly over `ramp` seconds, all on one asyncio loop."""
    import asyncio
    model = paced_model(rate, chunks, first_ms)
    body = json.loads(target.stream_body)
    body["model"] = ("openai/" + model) if target.name == "proxy" else model
    data = json.dumps(body).encode()
    oks, ttfbs, delays, reasons, peaks = [], [], [], {}, {"threads": 0, "fds": 0, "rss": 0}

    def record(ok, ttfb, got, reason):
        oks.append(ok)
        if ttfb is not None:
            ttfbs.append(ttfb)
        delays.extend(got)
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1

    async def sample(stop):
        while not stop.is_set():
            _, threads, fds, rss = tree_reading(proxy_pid)
            peaks.update(threads=max(peaks["threads"], threads), fds=max(peaks["fds"], fds), rss=max(peaks["rss"], rss))
            try:
                await asyncio.wait_for(stop.wait(), 0.1)
            except asyncio.TimeoutError:
                pass

    async def run():
        stop = asyncio.Event()
        sampler = asyncio.ensure_future(sample(stop))
        start = time.monotonic() + 0.05
        await asyncio.gather(*(paced_client(target.port, target.path, target.headers, data,
                                            start + ramp * i / max(1, streams), record) for i in range(streams)))
        stop.set()
        await sampler

    cpu0 = tree_reading(proxy_pid)[0]
    t0 = time.monotonic()
    asyncio.run(run())
    elapsed = time.monotonic() - t0
    cpu = tree_reading(proxy_pid)[0] - cpu0
    return {"streams": streams, "rate": rate, "chunks": chunks, "first_ms": first_ms, "ramp_s": ramp,
            "completed": sum(oks), "failed": len(oks) - sum(oks), "failures": reasons, "elapsed": elapsed,
            "events": len(delays), "expected_events": streams * chunks,
            "ttfb_p50_ms": ms(pct(ttfbs, 0.5)), "ttfb_p99_ms": ms(pct(ttfbs, 0.99)),
            "delay_p50_ms": ms(pct(delays, 0.5)), "delay_p99_ms": ms(pct(delays, 0.99)),
            "proxy_cpu_s": cpu, "proxy_cores": cpu / elapsed, "proxy_cpu_us_per_event": cpu / max(1, len(delays)) * 1e6,
            "proxy_threads_peak": peaks["threads"], "proxy_fds_peak": peaks["fds"], "proxy_rss_peak_mb": peaks["rss"] / 1024}


def ms(seconds):
    return None if seconds is None else seconds * 1000


def spawn_proxy(proxy_env, via):
    """`claude_proxy.py --port 0` in its own process: (process, port, stdout drain, stderr drain), once it listens."""
    proxy = subprocess.Popen([sys.executable, PROXY, "--port", "0", "--log-level", "warning", "--via", via], cwd=HERE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=proxy_env)
    line = read_line(proxy, 60)
    if "listening on" not in line:
        raise RuntimeError(f"unexpected first proxy line: {line!r}")
    port = int(line.rsplit(":", 1)[1].strip().strip("/").split("\x1b")[0])
    out, err = Drain(proxy.stdout), Drain(proxy.stderr)
    out.start()
    err.start()
    return proxy, port, out, err


def start_proxy(env, fake_port, args):
    """The proxy in its own process, pointed at the fake provider: (process, port), once it answers."""
    proxy_env = dict(env, OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=f"http://127.0.0.1:{fake_port}/v1",
                     BIG_MODEL="openai/gpt-4.1", SMALL_MODEL="openai/gpt-4.1-mini", MAX_CONCURRENCY="8192",
                     MAX_CONNECTIONS="8192", SHUTDOWN_GRACE="1", WORKERS=str(args.workers))
    for name in ("PROXY_API_KEY", "PORT", "HOST", "LOG_LEVEL", "LOG_FILE", "USAGE_LOG"):
        proxy_env.pop(name, None)
    proxy, port, _, _ = spawn_proxy(proxy_env, args.via)
    deadline = time.monotonic() + 120
    while True:  # litellm's model map is read in the background: the first request waits for nothing
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
        try:
            one_request(conn, proxy_target(port), False)
            return proxy, port
        except ConnectionRefusedError:
            if time.monotonic() > deadline or proxy.poll() is not None:
                stop_process(proxy)
                raise
            time.sleep(0.01)
        except BaseException:
            stop_process(proxy)
            raise
        finally:
            conn.close()


def run_paced(args):
    """Each load of the scenario against the provider directly, then through the proxy, in one run."""
    raise_file_limit()
    env = child_env()
    loads = SCENARIOS[args.scenario] if args.scenario else [
        ("custom", args.streams, args.rate, args.paced_chunks, args.first_ms)]
    fake = proxy = floor = None
    results = {"mode": "paced", "scenario": args.scenario or "custom", "workers": args.workers, "via": args.via,
               "machine": machine(), "loads": {}}
    try:
        fake = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--paced-provider"],
                                stdout=subprocess.PIPE, text=True, env=env)
        fake_port = int(read_line(fake, 30))
        floor = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--floor-relay", str(fake_port),
                                  "--workers", str(args.workers)], stdout=subprocess.PIPE, text=True, env=env)
        floor_target = direct_target(int(read_line(floor, 30)))
        floor_target.name = "floor"
        proxy, proxy_port = start_proxy(env, fake_port, args)
        results["load_average_before"] = os.getloadavg()
        for label, streams, rate, chunks, first_ms in loads:
            for target in (direct_target(fake_port), floor_target, proxy_target(proxy_port)):
                measured = floor if target is floor_target else proxy
                r = paced_phase(target, streams, rate, chunks, first_ms, args.ramp, measured.pid)
                results["loads"][f"{label}.{target.name}"] = r
                print(f"  {label} {target.name:<6} {streams} streams x {chunks} @ {rate:g}/s (first {first_ms} ms): "
                      f"{r['completed']} completed in {r['elapsed']:.1f} s, TTFB p99 {r['ttfb_p99_ms'] or 0:.0f} ms, "
                      f"delay p99 {r['delay_p99_ms'] or 0:.1f} ms, proxy {r['proxy_cpu_us_per_event']:.1f} us/event"
                      + (f", failures {r['failures']}" if r["failures"] else ""), file=sys.stderr, flush=True)
        results["load_average_after"] = os.getloadavg()
    finally:
        stop_process(proxy)
        stop_tree(floor)
        stop_process(fake)
    print(paced_markdown(results))
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    return 1 if any(r["failed"] for r in results["loads"].values()) else 0


def paced_markdown(results):
    m = results["machine"]
    lines = [f"Machine: {m['nproc']} × {m['cpu']}; Python {m['python']}; WORKERS={results['workers']}; "
             f"paced run ({results['scenario']}), loopback; load average before {results['load_average_before'][0]:.2f}.", "",
             "| load | side | completed | TTFB p50 / p99 (ms) | added delay per event p50 / p99 (ms) | CPU per event (µs) "
             "| cores | threads / fds / RSS MB (peak) |", "|---|---|---|---|---|---|---|---|"]
    show = lambda v, f="{:.1f}": "—" if v is None else f.format(v)  # noqa: E731
    for key, r in results["loads"].items():
        label, side = key.split(".")
        load = f"{label}: {r['streams']} × {r['chunks']} events @ {r['rate']:g}/s, first after {r['first_ms']} ms"
        proxy_side = side in ("proxy", "floor")  # the floor: a bare relay's own figures (run_floor_relay)
        lines.append(f"| {load} | {side} | {r['completed']}/{r['streams']} | {show(r['ttfb_p50_ms'])} / {show(r['ttfb_p99_ms'])} | "
                     f"{show(r['delay_p50_ms'])} / {show(r['delay_p99_ms'])} | "
                     f"{show(r['proxy_cpu_us_per_event']) if proxy_side else '—'} | "
                     f"{show(r['proxy_cores'], '{:.2f}') if proxy_side else '—'} | "
                     + (f"{r['proxy_threads_peak']} / {r['proxy_fds_peak']} / {r['proxy_rss_peak_mb']:.0f}" if proxy_side else "—")
                     + " |")
    return "\n".join(lines)


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
                        help="what the fake provider speaks: openai (chat completions: the direct path), anthropic "
                             "(Messages API at ANTHROPIC_API_BASE: the passthrough path), responses (OpenAI's "
                             "Responses API, a codex model) or gemini (generateContent, AI Studio); the direct call speaks it too")
    parser.add_argument("--pace-ms", type=float, default=0.0,
                        help="the fake's pause between stream frames (0: each stream in one write, a burst)")
    parser.add_argument("--paced", action="store_true",
                        help="paced streams (one chunk at a time, stamped with its send time) instead of the burst figures")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS),
                        help="with --paced: named loads (done-when: 2,000 streams at 5 events/s after 1.5 s, and 200 at 50/s)")
    parser.add_argument("--streams", type=int, default=200, help="with --paced: concurrent streams")
    parser.add_argument("--rate", type=float, default=50, help="with --paced: events per second per stream")
    parser.add_argument("--paced-chunks", type=int, default=200, help="with --paced: content chunks per stream")
    parser.add_argument("--first-ms", type=int, default=0, help="with --paced: the provider's wait before its first content chunk")
    parser.add_argument("--ramp", type=float, default=2.0, help="with --paced: seconds over which the streams start")
    parser.add_argument("--workers", default="1", help="with --paced: the proxy's WORKERS")
    parser.add_argument("--paced-provider", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor-relay", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_provider:
        return run_fake_provider(args.chunks, args.provider, args.pace_ms / 1000)
    if args.paced_provider:
        return run_paced_provider()
    if args.floor_relay:
        return run_floor_relay(args.floor_relay, os.cpu_count() or 1 if args.workers == "auto" else max(1, int(args.workers)))
    if args.paced:
        if args.json == os.path.join(HERE, "latest.json"):
            args.json = os.path.join(HERE, "paced.json")
        return run_paced(args)

    os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    duration = 0.6 if args.quick else 3.0  # seconds per phase (streams at 64: at least one round)
    stream_duration = 0.5 if args.quick else 3.0
    max_requests = 3000 if args.quick else 30000
    max_streams = 256 if args.quick else 1280
    env = child_env()
    fake = proxy = floor = None
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
        floor = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--floor-relay", str(fake_port)],
                                 stdout=subprocess.PIPE, text=True, env=env)
        floor_side = direct_of(int(read_line(floor, 30)))  # the direct call, through a bare relay (run_floor_relay)
        floor_side.name = "floor"

        proxy_env = dict(env, MAX_CONCURRENCY="4096", SHUTDOWN_GRACE="1", **provider_env(fake_port))
        for name in ("PROXY_API_KEY", "MIDDLE_MODEL", "OPUS_MODEL", "THINK_MODEL", "VISION_MODEL",
                     "LONG_CONTEXT_MODEL", "PORT", "HOST", "LOG_LEVEL", "LOG_FILE"):
            proxy_env.pop(name, None)
        t0 = time.perf_counter()
        proxy, proxy_port, out, err = spawn_proxy(proxy_env, args.via)
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
            for side in (direct, target) + ((floor_side,) if stream else ()):
                sampler = RssSampler(proxy.pid) if sample_rss and side is target else None
                measured = floor if side is floor_side else proxy
                cpu0 = cpu_seconds(measured.pid)
                r = run_phase(side, concurrency, stream, phase_duration, count,
                              on_start=sampler.start if sampler else None)
                r["proxy_cpu"] = cpu_seconds(measured.pid) - cpu0  # the floor's own, on its side
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
        stop_tree(floor)
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
    fl = [p[f"stream.c{c}.floor"] for c in (1, 64) if f"stream.c{c}.floor" in p]
    cpu_floor = sum(r["proxy_cpu"] for r in fl) / max(1, sum(r["events"] for r in fl)) if fl else None
    for name, unit, value in (
            ("proxy CPU per non-stream request", "ms", cpu_req * 1000),
            ("proxy CPU per relayed SSE event", "µs", cpu_event * 1e6),
            ("floor: a bare relay's CPU per relayed SSE event, the same streams (run_floor_relay)", "µs",
             cpu_floor and cpu_floor * 1e6),
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


def anthropic_rate_limited(side, body):
    return side.path, dict(body, model="anthropic/claude-sonnet-4-5-ratelimited" if side.name == "proxy"
                           else "claude-sonnet-4-5-ratelimited")


def responses_rate_limited(side, body):
    return side.path, dict(body, model="openai/responses/gpt-5.3-codex-ratelimited" if side.name == "proxy"
                           else "gpt-5.3-codex-ratelimited")


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
    "anthropic": (anthropic_direct_target, lambda port: {
        "ANTHROPIC_API_KEY": "sk-bench", "ANTHROPIC_API_BASE": f"http://127.0.0.1:{port}",
        "BIG_MODEL": "anthropic/claude-sonnet-4-5", "SMALL_MODEL": "anthropic/claude-haiku-4-5"}, anthropic_rate_limited),
    "responses": (lambda port: direct_target(port, "responses"), lambda port: {
        "OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
        "BIG_MODEL": "openai/gpt-5.3-codex", "SMALL_MODEL": "openai/gpt-5.3-codex"}, responses_rate_limited),
}


if __name__ == "__main__":
    sys.exit(main() or 0)
