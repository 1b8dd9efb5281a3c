"""Tests for claude_proxy: translation tables first, then end-to-end over real sockets.

End-to-end tests run the real proxy on port 0 in this process, a fake OpenAI-compatible
provider on loopback (port 0) that streams like the real one, the real litellm between
them, and the official `anthropic` SDK as the client. Nothing touches the network.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

import claude_proxy as cp

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
TIMEOUT = 20  # seconds: a ceiling on every socket in this file, never a synchronisation

# ----------------------------------------------------------------------------------------
# scripted provider replies: one description serves the streamed and non-streamed form
# ----------------------------------------------------------------------------------------


def text_reply(text="Hello there!", finish="stop", usage=(11, 5)):
    return {"deltas": [{"role": "assistant", "content": text[: len(text) // 2]}, {"content": text[len(text) // 2:]}],
            "finish": finish, "usage": usage}


def tool_delta(index, fragment, call_id=None, name=None):
    call = {"index": index, "function": {"arguments": fragment}}
    if call_id:
        call["id"], call["type"] = call_id, "function"
    if name:
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def merge_deltas(deltas) -> dict:
    """The non-streamed message equivalent to a list of stream deltas."""
    message = {"role": "assistant", "content": None}
    calls: dict = {}
    for delta in deltas:
        for key in ("content", "reasoning_content"):
            if delta.get(key):
                message[key] = (message.get(key) or "") + delta[key]
        for call in delta.get("tool_calls") or ():
            slot = calls.setdefault(call["index"], {"id": None, "type": "function", "function": {"name": None, "arguments": ""}})
            slot["id"] = slot["id"] or call.get("id")
            slot["function"]["name"] = slot["function"]["name"] or call["function"].get("name")
            slot["function"]["arguments"] += call["function"].get("arguments") or ""
    if calls:
        message["tool_calls"] = [calls[i] for i in sorted(calls)]
    return message


def usage_dict(usage):
    prompt, completion = usage
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class FakeProvider(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible chat-completions server on loopback, port 0.

    `replies` is a list of scripted replies consumed in order (the last one repeats).
    A reply is {"deltas": [...], "finish": ..., "usage": (in, out)} served as SSE chunks
    or as one JSON completion, {"status": 429, "body": {...}, "headers": {...}} for an
    HTTP error, or a stream reply with "cut_after": N to drop the connection mid-stream.
    Every request is recorded in `received` as (path, headers, body).
    """

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.replies = [text_reply()]
        self.received = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def next_reply(self):
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        reply = self.server.next_reply()
        if "status" in reply:
            data = json.dumps(reply.get("body") or {"error": {"message": "scripted failure", "type": "x"}}).encode()
            self.send_response(reply["status"])
            for name, value in (reply.get("headers") or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        model = body.get("model", "fake")
        if body.get("stream"):
            self._stream(reply, model, (body.get("stream_options") or {}).get("include_usage"))
        else:
            completion = {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
                "service_tier": "on_demand", "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": merge_deltas(reply["deltas"]), "finish_reason": reply["finish"]}],
                "usage": usage_dict(reply["usage"]),
            }
            data = json.dumps(completion).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def _stream(self, reply, model, include_usage):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(choices, usage=None):
            payload = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000,
                       "model": model, "service_tier": "on_demand", "system_fingerprint": "fp_fake", "choices": choices}
            if usage is not None:
                payload["usage"] = usage
            data = f"data: {json.dumps(payload)}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

        deltas = reply["deltas"]
        for n, delta in enumerate(deltas):
            if reply.get("cut_after") == n:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            chunk([{"index": 0, "delta": delta, "finish_reason": None}])
        if reply.get("finish") is not None:
            chunk([{"index": 0, "delta": {}, "finish_reason": reply["finish"]}])
        if include_usage and reply.get("usage"):
            chunk([], usage_dict(reply["usage"]))
        data = b"data: [DONE]\n\n"
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))


# ----------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------


def serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def fake():
    server = FakeProvider()
    serve(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def reset_fake(request):
    if "fake" in request.fixturenames:
        provider = request.getfixturevalue("fake")
        provider.replies, provider.received = [text_reply()], []


def proxy_env(fake_url, **extra):
    env = {"PORT": "0", "OPENAI_API_KEY": "sk-test-openai", "OPENAI_BASE_URL": fake_url + "/v1",
           "GROQ_API_KEY": "gsk-test-groq", "GROQ_API_BASE": fake_url + "/groq/v1",
           "BIG_MODEL": "openai/gpt-4.1", "SMALL_MODEL": "groq/llama-3.1-8b-instant", "LOG_LEVEL": "warning"}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def proxy(fake):
    server = cp.make_server(cp.Config.from_env(proxy_env(fake.url)))
    serve(server)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(proxy):
    anthropic = pytest.importorskip("anthropic")
    return anthropic.Anthropic(base_url=proxy.url, api_key="client-key-never-forwarded", max_retries=0, timeout=TIMEOUT)


def raw(proxy, method, path, body=None, headers=None):
    """One request over http.client; returns (status, headers, bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=TIMEOUT)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def parse_sse(data: bytes) -> list:
    """SSE bytes -> [(event, data)], checking that every event has its event: line."""
    events = []
    for frame in data.decode().split("\n\n"):
        if not frame.strip():
            continue
        lines = dict(line.split(": ", 1) for line in frame.split("\n"))
        assert set(lines) == {"event", "data"}, frame
        events.append((lines["event"], json.loads(lines["data"])))
    return events


BASIC = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}


# ----------------------------------------------------------------------------------------
# end-to-end: the anthropic SDK -> proxy -> real litellm -> fake provider
# ----------------------------------------------------------------------------------------


def test_e2e_create_text(client, fake):
    message = client.messages.create(**BASIC)
    assert message.type == "message" and message.role == "assistant"
    assert message.model == "claude-sonnet-4-6"
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Hello there!"
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (11, 5)
    path, headers, body = fake.received[-1]
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == "Bearer sk-test-openai"
    assert body["model"] == "gpt-4.1" and body["messages"] == [{"role": "user", "content": "Hi"}]


def test_e2e_stream_text(client, fake):
    with client.messages.stream(**BASIC) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Hello there!"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 5
    assert fake.received[-1][2]["stream_options"] == {"include_usage": True}
