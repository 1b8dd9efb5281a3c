"""Tests for claude_proxy, layer by layer in the order of its sections (each layer's pure
tables first, its socket tests after), then end-to-end over real sockets.

End-to-end tests run the real proxy on port 0 in this process, a fake OpenAI-compatible
provider on loopback (port 0) that streams like the real one, the real litellm between
them, and the official `anthropic` SDK as the client. Nothing touches the network.
"""

from __future__ import annotations

import http.client
import http.server
import io
import json
import os
import socket
import subprocess
import base64
import contextlib
import re
import shlex
import signal
import sys
import threading
import time
import types
from urllib.parse import urlsplit

import pytest

import claude_proxy as cp

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# litellm's own deprecation noise, not ours.
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning:litellm"),
              pytest.mark.filterwarnings("ignore::UserWarning:pydantic")]
TIMEOUT = 20  # seconds: a ceiling on every socket in this file, never a synchronisation


# ----------------------------------------------------------------------------------------
# test helpers and fake providers: scripted replies, fake OpenAI-compatible and Gemini servers, shared checks
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


def from_openai_response(response: dict, message_id: str, model: str, **options) -> dict:
    """A non-streamed OpenAI response as the proxy answers it: its one chunk (response_as_chunk)
    through the translator, folded, as the Exchange and JsonAnswer do."""
    translator = cp.StreamTranslator(message_id, model, **options)
    return cp.fold_events(translator.feed(cp.response_as_chunk(response)) + translator.finish())


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


def scripted_step(handler, reply, n) -> bool:
    """Before stream part n of a scripted reply: drop the connection ("cut_after"), or stay
    silent a while ("pauses", a slow model's scripted delay). False when the stream is cut."""
    if reply.get("cut_after") is not None and n >= reply["cut_after"]:
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)
        handler.close_connection = True
        return False
    if n in reply.get("pauses", {}):
        time.sleep(reply["pauses"][n])
    return True


# What the fake knows of the providers' models, as they document them.
GROQ_VISION = ("llama-4-scout", "llama-4-maverick")  # console.groq.com/docs/vision; its other models take text only
MOONSHOT_THINKING = ("kimi-k2.5", "kimi-k2.6", "kimi-k2.7", "kimi-k2-thinking")  # thinking on unless disabled
DEEPSEEK_THINKING = ("deepseek-v4", "deepseek-reasoner")  # api-docs.deepseek.com/guides/thinking_mode: on by default
# OpenRouter's models as its model pages list them (openrouter.ai/<vendor>/<model>: input modalities, supported parameters)
OPENROUTER_TEXT_ONLY = {"moonshotai/kimi-k2", "deepseek/deepseek-chat", "z-ai/glm-4.5-air"}
OPENROUTER_NO_TOOL_CHOICE = {"z-ai/glm-4.5-air"}  # zed-industries/zed#36094


def openai_refusal(body: dict) -> str | None:
    """OpenAI's chat-completions rules, which the OpenAI-compatible providers here enforce alike."""
    pending = set()  # tool calls of the last assistant message not yet answered
    for message in body.get("messages") or []:
        if message.get("role") == "tool":
            if message.get("tool_call_id") not in pending:  # OpenAI's words, quoted in FoundationAgents/OpenManus#744
                return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."
            pending.discard(message["tool_call_id"])
            continue
        if pending:  # OpenAI's words, quoted in QwenLM/qwen-code#606 and BloomLabsInc/genkit-plugins#225
            return ("An assistant message with 'tool_calls' must be followed by tool messages responding to each "
                    f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(sorted(pending))}")
        pending = {c.get("id") for c in message.get("tool_calls") or ()} if message.get("role") == "assistant" else set()
    for i, tool in enumerate(body.get("tools") or ()):
        name = str((tool.get("function") or {}).get("name", ""))
        if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):  # platform.openai.com/docs/api-reference/chat/create (tools)
            return (f"Invalid 'tools[{i}].function.name': string does not match pattern. Expected a string that matches "
                    "the pattern '^[a-zA-Z0-9_-]{1,64}$'.")
    return None


def provider_refusal(path: str, body: dict) -> str | None:
    """What the provider behind the fake's `path` says of a request that breaks one of its
    documented rules (each with its source), or None when the request passes."""
    model, messages = str(body.get("model", "")), body.get("messages") or []
    thinking_off = (body.get("thinking") or {}).get("type") == "disabled"
    refusal = openai_refusal(body)
    if refusal:
        return refusal
    stop = body.get("stop")
    if path == "/v1/chat/completions" and isinstance(stop, list) and len(stop) > 4:
        # "you can pass up to four stop sequences" (help.openai.com/en/articles/5072263), in OpenAI's words for a long array
        return f"Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length {len(stop)} instead."
    if model.startswith(RESPONSES_ONLY):  # OpenAI's words, as crewAI's tests quote them (sigoden/aichat#1318 reports it)
        return "This model is only supported in v1/responses and not in v1/chat/completions."

    def missing_reasoning():
        return next((i for i, m in enumerate(messages)
                     if m.get("role") == "assistant" and m.get("tool_calls") and not m.get("reasoning_content")), None)

    if path.startswith("/groq/") and not model.startswith(GROQ_VISION):
        for i, message in enumerate(messages):
            if isinstance(message.get("content"), list):  # Groq's words, quoted in vercel/ai#2837
                return f"messages[{i}].content must be a string"
    if path.startswith("/moonshot/"):
        for message in messages:
            for part in message.get("content") if isinstance(message.get("content"), list) else ():
                url = (part.get("image_url") or {}).get("url", "") if part.get("type") == "image_url" else "data:"
                if not url.startswith(("data:", "ms://")):  # platform.kimi.ai/docs/api/chat: base64 or ms://<file_id> only
                    return "Invalid image url: only base64 encoded images or ms:// file ids are supported"
        if model.startswith(MOONSHOT_THINKING) and not thinking_off:
            choice = body.get("tool_choice")
            if choice == "required" or isinstance(choice, dict):  # bestruirui/octopus#251, UKGovernmentBEIS/inspect_ai#5152
                return f"tool_choice '{'required' if choice == 'required' else 'specified'}' is incompatible with thinking enabled"
            index = missing_reasoning()
            if index is not None:  # Moonshot's words, quoted in OnesoftQwQ/opencode-go-copilot#1
                return f"thinking is enabled but reasoning_content is missing in assistant tool call message at index {index}"
    if path.startswith("/deepseek/") and model.startswith(DEEPSEEK_THINKING) and not thinking_off:
        if missing_reasoning() is not None:  # api-docs.deepseek.com/guides/thinking_mode; words from anomalyco/opencode#24083
            return "The reasoning_content in the thinking mode must be passed back to the API."
    if path.startswith("/openrouter/"):
        return openrouter_refusal(body)
    return None


OPENROUTER_ROUTING = " To learn more about provider routing, visit: https://openrouter.ai/docs/guides/routing/provider-selection"


def openrouter_refusal(body: dict) -> tuple | None:
    """OpenRouter's routing refusals, (404, its words): it routes a request only to endpoints
    that support everything in it, and answers 404 when no endpoint of the model does."""
    model = str(body.get("model", ""))
    if model in OPENROUTER_TEXT_ONLY and any(isinstance(m.get("content"), list) and any(
            p.get("type") == "image_url" for p in m["content"]) for m in body.get("messages") or ()):
        # NousResearch/hermes-agent#23411, JohnnyZ93/oai-compatible-copilot#229
        return 404, "No endpoints found that support image input"
    choice = body.get("tool_choice")
    if model in OPENROUTER_NO_TOOL_CHOICE and (choice == "required" or isinstance(choice, dict)):
        # zed-industries/zed#36094 (z-ai/glm-4.5-air), polyuiislab/infiAgent#19
        return 404, "No endpoints found that support the provided 'tool_choice' value." + OPENROUTER_ROUTING
    return None


class FakeProvider(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible chat-completions server on loopback, port 0.

    `replies` is a list of scripted replies consumed in order (the last one repeats), unless
    `responder` is set: a function from the request body to its reply.
    A reply is {"deltas": [...], "finish": ..., "usage": (in, out)} served as SSE chunks
    or as one JSON completion, {"status": 429, "body": {...}, "headers": {...}} for an
    HTTP error, or a stream reply with "cut_after": N to drop the connection mid-stream and
    "pauses": {N: seconds} to stay silent before delta N (a slow model's scripted delay),
    "delay": seconds before any answer, "garbage_after": N to send a malformed chunk after
    delta N, "error_after": N to end the stream before delta N with OpenRouter's mid-stream error
    chunk (an error object beside a choice whose finish_reason is "error"), "comments_forever":
    True to send only SSE comments until the proxy hangs up. Every request is recorded in `received` as (path, headers, body); `aborted` is set when
    the proxy closes a stream before its end.
    """

    daemon_threads = True
    request_queue_size = 512

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.replies = [text_reply()]
        self.responder = None
        self.received = []
        self.aborted = threading.Event()
        self.arrived = threading.Event()  # set by every request
        self.minted, self.counter = set(), 0  # the Responses API's encrypted reasoning handed out so far
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def next_reply(self):
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # the proxy hanging up on us is scripted, not a failure
            super().handle_error(request, client_address)


class FakeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.server.arrived.set()
        if self.path.endswith("/responses"):
            return answer_responses(self, body)
        refusal = provider_refusal(self.path, body)
        status, refusal = refusal if isinstance(refusal, tuple) else (400, refusal)
        if refusal and self.path.startswith("/openrouter/"):  # OpenRouter's shape: openrouter.ai/docs/api/errors
            reply = {"status": status, "body": {"error": {"code": status, "message": refusal}}}
        elif refusal:  # the provider's own 400, in the OpenAI-compatible error shape they all answer with
            reply = {"status": status, "body": {"error": {"message": refusal, "type": "invalid_request_error"}}}
        else:
            reply = self.server.responder(body) if self.server.responder else self.server.next_reply()
        if reply.get("delay"):
            time.sleep(reply["delay"])  # a slow first byte, scripted
        if "status" in reply:
            return self._json_answer(reply)
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

    def _json_answer(self, reply):
        """A scripted {"status", "body", "headers"} answer as JSON (an error's body by default)."""
        data = json.dumps(reply.get("body") or {"error": {"message": "scripted failure", "type": "x"}}).encode()
        self.send_response(reply["status"])
        for name, value in (reply.get("headers") or {}).items():
            self.send_header(name, value)
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

        if reply.get("comments_forever"):
            while True:  # bytes, but never a chunk: only the proxy's own clock can end this
                try:
                    self.wfile.write(b"e\r\n: keep-alive\n\n\r\n")
                except OSError:
                    self.server.aborted.set()
                    self.close_connection = True
                    return
                time.sleep(0.05)
        deltas = reply["deltas"]
        for n, delta in enumerate(deltas):
            if reply.get("garbage_after") == n:
                data = b"data: {this is not json\n\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            if reply.get("error_after") == n:  # openrouter.ai/docs/api/reference/streaming#handling-errors-during-streaming
                data = ('data: {"id":"gen-1","object":"chat.completion.chunk","created":1700000000,"model":"%s","provider":'
                        '"openai","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":'
                        '[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n' % model).encode()
                self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))
                return
            if not scripted_step(self, reply, n):
                return
            try:
                chunk([{"index": 0, "delta": delta, "finish_reason": None}])
            except OSError:  # the proxy hung up on us
                self.server.aborted.set()
                self.close_connection = True
                return
        if reply.get("finish") is not None:
            chunk([{"index": 0, "delta": {}, "finish_reason": reply["finish"]}])
        if include_usage and reply.get("usage"):
            chunk([], usage_dict(reply["usage"]))
        data = b"data: [DONE]\n\n"
        self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data))


# A fake Google Gemini: generateContent and streamGenerateContent, the same scripted replies.
GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
                 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
FINISH = {"stop": "STOP", "tool_calls": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY"}
GEMINI_PATH = re.compile(r"/models/([^/:?]+):(generateContent|streamGenerateContent|countTokens)(?:\?|$)")


def google_error(status, body=None) -> dict:
    """Google's error envelope; a scripted body already in that shape is kept verbatim,
    an OpenAI-shaped one ({"error": {"message": ...}}) lends its message."""
    error = (body or {}).get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and ("status" in error or "code" in error):
        return body
    message = error.get("message") if isinstance(error, dict) else None
    return {"error": {"code": status, "message": message or "scripted failure",
                      "status": GOOGLE_STATUS.get(status, "UNKNOWN")}}


def usage_metadata(reply) -> dict:
    prompt, completion = reply.get("usage") or (0, 0)
    meta = {"promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion}
    if any(d.get("reasoning_content") for d in reply.get("deltas") or ()):
        thoughts = reply.get("thoughts_tokens", completion // 2)
        meta["candidatesTokenCount"], meta["thoughtsTokenCount"] = completion - thoughts, thoughts
    return meta


def parts_per_delta(reply, signature) -> list[list[dict]]:
    """One list of Gemini parts per OpenAI delta; a tool call appears whole, in the
    delta that holds its last fragment, and the first functionCall carries the signature."""
    deltas = reply.get("deltas") or []
    calls: dict = {}
    last_seen: dict = {}
    for n, delta in enumerate(deltas):
        for call in delta.get("tool_calls") or ():
            slot = calls.setdefault(call.get("index", 0), {"name": None, "arguments": ""})
            slot["name"] = slot["name"] or (call.get("function") or {}).get("name")
            slot["arguments"] += (call.get("function") or {}).get("arguments") or ""
            last_seen[call.get("index", 0)] = n
    signed = False
    groups = []
    for n, delta in enumerate(deltas):
        parts = []
        if delta.get("reasoning_content"):
            parts.append({"text": delta["reasoning_content"], "thought": True})
        if delta.get("content"):
            parts.append({"text": delta["content"]})
        for index in sorted(i for i, last in last_seen.items() if last == n):
            call = calls[index]
            part = {"functionCall": {"name": call["name"], "args": json.loads(call["arguments"] or "{}")}}
            if not signed:
                part["thoughtSignature"], signed = signature, True
            parts.append(part)
        groups.append(parts)
    return groups


class GeminiFake(http.server.ThreadingHTTPServer):
    """Google Gemini (AI Studio) on loopback, port 0, with FakeProvider's scripted replies:
    POST {base}/models/{model}:generateContent answers one GenerateContentResponse,
    :streamGenerateContent?alt=sse sends `data:` frames. Each tool call goes whole, the
    first carrying a thoughtSignature (standard base64, "+", "/" and "="), as Gemini does."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), GeminiHandler)
        self.replies = [{"deltas": [{"content": "Hello "}, {"content": "there!"}], "finish": "stop", "usage": (11, 5)}]
        self.responder = None
        self.received = []
        self.models = []
        self.aborted = threading.Event()
        self.counter = 0
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def next_reply(self):
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    handle_error = FakeProvider.handle_error


# The keywords a function declaration's schema may hold, a subset of OpenAPI 3.0 (ai.google.dev/api/caching#Schema):
# Google's JSON reader refuses any other name.
GEMINI_SCHEMA_FIELDS = set("""type format title description nullable enum maxItems minItems properties required minProperties
maxProperties minLength maxLength pattern example anyOf propertyOrdering default items minimum maximum""".split())
SNAKE = re.compile(r"_([a-z])")


def schema_refusal(schema, where: str) -> str | None:
    """Google's words for the first keyword of a schema outside its subset (either spelling), or None."""
    if not isinstance(schema, dict):
        return None
    for key, value in schema.items():
        if SNAKE.sub(lambda m: m.group(1).upper(), key) not in GEMINI_SCHEMA_FIELDS:
            # Google's words, quoted in router-for-me/CLIProxyAPI#97
            return f'Invalid JSON payload received. Unknown name "{key}" at \'{where}\': Cannot find field.'
        nested = (value.items() if key == "properties" and isinstance(value, dict) else [("", value)] if key == "items"
                  else enumerate(value) if key in ("anyOf", "any_of") and isinstance(value, list) else ())
        for name, item in nested:
            refusal = schema_refusal(item, f"{where}.{key}" + (f"[{name}]" if name != "" else ""))
            if refusal:
                return refusal
    return None


def signature_refusal(model: str, contents: list) -> str | None:
    """Gemini 3's rule: in the current turn (the contents after the last user text), the first
    functionCall of each model step carries its thoughtSignature (ai.google.dev/gemini-api/docs/thought-signatures:
    "missing a required signature ... results in a 400 error")."""
    if not model.startswith("gemini-3"):
        return None
    start = max((i for i, c in enumerate(contents) if c.get("role", "user") == "user"
                 and any("text" in p or "inlineData" in p or "inline_data" in p for p in c.get("parts", ()))), default=0)
    for content in contents[start:]:
        calls = [p for p in content.get("parts", ()) if "functionCall" in p or "function_call" in p]
        if calls and not (calls[0].get("thoughtSignature") or calls[0].get("thought_signature")):
            name = (calls[0].get("functionCall") or calls[0].get("function_call"))["name"]
            # Gemini's words, quoted in nanbingxyz/5ire#405
            return ("Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
                    "correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
                    f"function call `default_api:{name}` , position {contents.index(content) + 1}. Please refer to "
                    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details.")
    return None


def gemini_refusal(body: dict, model: str = "") -> str | None:
    """What Gemini says of a request that breaks its documented rules (each with its source), or None."""
    for t, tool in enumerate(body.get("tools") or ()):
        declarations = tool.get("functionDeclarations", tool.get("function_declarations")) or ()
        for d, declaration in enumerate(declarations):
            refusal = schema_refusal(declaration.get("parameters"), f"request.tools[{t}].function_declarations[{d}].parameters")
            if refusal:
                return refusal
    config = body.get("generationConfig") or {}
    stops = config.get("stopSequences", config.get("stop_sequences")) or ()  # proto JSON takes either name
    if len(stops) > 5:  # "The set of character sequences (up to 5)" (ai.google.dev/api/generate-content#generationconfig)
        return f"* GenerateContentRequest.generation_config.stop_sequences: at most 5 are allowed, got {len(stops)}"
    contents = body.get("contents") or []
    refusal = signature_refusal(model, contents)
    if refusal:
        return refusal
    for before, content in zip([None] + contents, contents):
        role = content.get("role", "user")
        if (before is None and role != "user") or (before is not None and before.get("role", "user") == role):
            # Gemini's words, quoted in NousResearch/hermes-agent#55125
            return "Please ensure that multiturn requests alternate between user and model."
        calls = [p for p in (before or {}).get("parts", ()) if "functionCall" in p or "function_call" in p]
        answers = [p for p in content.get("parts", ()) if "functionResponse" in p or "function_response" in p]
        if calls and (len(answers) != len(calls) or len(answers) != len(content.get("parts", ()))):
            # google-gemini/gemini-cli#2347, #16543 (the words); #16137 (a sibling part beside the responses)
            return ("Please ensure that the number of function response parts is equal to the number of function call "
                    "parts of the function call turn.")
    return None


class GeminiHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def log_message(self, *args):
        pass

    def _json(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else {}
        server = self.server
        server.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        match = GEMINI_PATH.search(self.path)
        server.models.append(match.group(1) if match else None)
        if not match:
            self._json(404, google_error(404, {"error": {"message": f"unknown path {self.path}"}}))
            return
        if not self.headers.get("x-goog-api-key") or "key=" in self.path:  # the proxy sends its key in the header only
            self._json(403, google_error(403, {"error": {"message": "Method doesn't allow unregistered callers (callers "
                                                         "without established identity). Please use API Key or other form of "
                                                         "API consumer identity to call this API."}}))
            return
        if match.group(2) == "countTokens":  # ai.google.dev/api/tokens: a request to count, or its contents
            counted = body.get("generateContentRequest", body)
            refusal = gemini_refusal(counted, match.group(1)) or (
                None if counted.get("model", f"models/{match.group(1)}") == f"models/{match.group(1)}" else "model mismatch")
            if refusal:
                self._json(400, google_error(400, {"error": {"message": refusal}}))
            else:
                self._json(200, {"totalTokens": len(json.dumps(counted)) // 4 + 1, "promptTokensDetails": []})
            return
        refusal = gemini_refusal(body, match.group(1))
        if refusal:
            self._json(400, google_error(400, {"error": {"message": refusal}}))
            return
        reply = server.responder(body) if server.responder else server.next_reply()
        if "status" in reply:
            self._json(reply["status"], google_error(reply["status"], reply.get("body")), reply.get("headers"))
            return
        server.counter += 1
        signature = reply.get("signature") or base64.b64encode(  # real ones are standard base64: + / =
            b"\xfb\xff" + f"fake-thought-signature-{server.counter}".encode()).decode()
        model, groups = match.group(1), parts_per_delta(reply, signature)
        envelope = {"modelVersion": model, "responseId": f"fake-response-{server.counter}"}
        if match.group(2) == "generateContent":
            parts = merge_text([p for group in groups for p in group]) or [{"text": ""}]
            candidate = {"content": {"parts": parts, "role": "model"}, "index": 0}
            if reply.get("finish") is not None:
                candidate["finishReason"] = FINISH.get(reply["finish"], "OTHER")
            self._json(200, {"candidates": [candidate], "usageMetadata": usage_metadata(reply), **envelope})
        else:
            self._stream(reply, groups, envelope)

    def _stream(self, reply, groups, envelope):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        frames = [(n, g) for n, g in enumerate(groups) if g]
        if not frames or reply.get("finish") is not None and frames[-1][0] != len(groups) - 1:
            frames.append((len(groups), []))  # a final frame when the last deltas carried nothing
        for position, (n, parts) in enumerate(frames):
            if not scripted_step(self, reply, n):
                return
            candidate = {"content": {"parts": parts or [{"text": ""}], "role": "model"}, "index": 0}
            payload = {"candidates": [candidate], **envelope}
            if position == len(frames) - 1:
                if reply.get("finish") is not None:
                    candidate["finishReason"] = FINISH.get(reply["finish"], "OTHER")
                payload["usageMetadata"] = usage_metadata(reply)
            data = f"data: {json.dumps(payload)}\r\n\r\n".encode()
            try:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            except OSError:  # the client hung up on us
                self.server.aborted.set()
                self.close_connection = True
                return
        self.wfile.write(b"0\r\n\r\n")


# OpenAI's Responses API (POST {base}/responses) on the same fake, for the models that answer only
# there, with the same scripted replies turned into its output items and its stream events.
RESPONSES_ONLY = ("gpt-5.3-codex", "gpt-5-codex", "gpt-5.2-pro", "o3-pro")  # litellm's map: mode "responses"
# The request fields the API takes (openai-python src/openai/types/responses/response_create_params.py); any other
# is refused as "Unknown parameter", in OpenAI's shape as public test suites quote it ({"code": "unknown_parameter",
# "message": "Unknown parameter: 'input[2].status'.", "param": "input[2].status"}; RayBytes/ChatMock#103 for a field).
RESPONSES_FIELDS = frozenset("""background context_management conversation include input instructions max_output_tokens
max_tool_calls metadata model moderation parallel_tool_calls previous_response_id prompt prompt_cache_key prompt_cache_options
prompt_cache_retention reasoning safety_identifier service_tier store stream stream_options temperature text tool_choice tools
top_logprobs top_p truncation user""".split())
# Each input item's fields (openai-python .../response_input_item_param.py, response_reasoning_item_param.py).
ITEM_FIELDS = {"message": {"type", "role", "content", "id", "status", "phase"},
               "function_call": {"type", "call_id", "name", "arguments", "id", "status", "namespace"},
               "function_call_output": {"type", "call_id", "output", "id", "status", "name"},
               "reasoning": {"type", "id", "summary", "content", "encrypted_content", "status"}}
PART_TYPES = {"user": {"input_text", "input_image", "input_file"}, "system": {"input_text"}, "developer": {"input_text"},
              "assistant": {"output_text", "refusal"}}


def openai_error(status, code, message, param=None) -> dict:
    return {"status": status, "body": {"error": {"message": message, "type": "invalid_request_error", "param": param,
                                                 "code": code}}}


def responses_refusal(body: dict, minted: set) -> dict | None:
    """What OpenAI's Responses API says of a request that breaks one of its rules, or None."""
    for name in body:
        if name not in RESPONSES_FIELDS:
            return openai_error(400, "unknown_parameter", f"Unknown parameter: '{name}'.", name)
    if isinstance(body.get("max_output_tokens"), int) and body["max_output_tokens"] < 16:  # api-reference/responses/create
        return openai_error(400, "integer_below_min_value", "Invalid 'max_output_tokens': integer below minimum value. "
                            f"Expected a value >= 16, but got {body['max_output_tokens']} instead.", "max_output_tokens")
    for i, tool in enumerate(body.get("tools") or ()):
        if tool.get("type") != "function" or "function" in tool or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", str(tool.get("name"))):
            return openai_error(400, "invalid_value", f"Invalid 'tools[{i}]': a function tool needs a type and a name.", f"tools[{i}]")
        if tool.get("strict", True) is not False and (tool.get("parameters") or {}).get("additionalProperties") is not False:
            # strict unless told (open-webui/open-webui#30046); the words: YourGPT/copilot-sdk#108
            return openai_error(400, "invalid_function_parameters", f"Invalid schema for function '{tool['name']}': In "
                                "context=(), 'additionalProperties' is required to be supplied and to be false.", f"tools[{i}].parameters")
    items = body.get("input") if isinstance(body.get("input"), list) else []
    calls, answered = set(), set()
    for i, item in enumerate(items):
        kind = item.get("type", "message")
        for field in item:
            if field not in ITEM_FIELDS.get(kind, ()):
                return openai_error(400, "unknown_parameter", f"Unknown parameter: 'input[{i}].{field}'.", f"input[{i}].{field}")
        if kind == "message":
            for j, part in enumerate(item["content"] if isinstance(item.get("content"), list) else ()):
                allowed = PART_TYPES.get(item.get("role"), set())
                if part.get("type") not in allowed:  # epam/ai-dial-adapter-openai#511 (the assistant's)
                    return openai_error(400, "invalid_value", f"Invalid value: '{part.get('type')}'. Supported values are: "
                                        + " and ".join(f"'{t}'" for t in sorted(allowed)) + ".", f"input[{i}].content[{j}]")
        elif kind == "function_call":
            calls.add(item["call_id"])
        elif kind == "function_call_output":
            if item.get("call_id") not in calls:  # continuedev/continue#10092
                return openai_error(400, None, f"No tool call found for function call output with call_id {item.get('call_id')}.",
                                    "input")
            answered.add(item["call_id"])
        elif kind == "reasoning":
            if "summary" not in item:  # newo-ether/Agora#141
                return openai_error(400, "missing_required_parameter", f"Missing required parameter: 'input[{i}].summary'.",
                                    f"input[{i}].summary")
            if body.get("store") is False and item.get("encrypted_content") not in minted:  # only what it encrypted itself
                return openai_error(400, "invalid_encrypted_content", f"The encrypted content for input[{i}] could not be "
                                    "verified.", f"input[{i}].encrypted_content")
            following = items[i + 1] if i + 1 < len(items) else {}
            if following.get("type", "message") not in ("message", "function_call") or following.get("role", "assistant") != "assistant":
                return openai_error(400, None, f"Item 'input[{i}]' of type 'reasoning' was provided without its required "
                                    "following item.", "input")  # continuedev/continue#8933, vercel/ai#7099
    missing = sorted(calls - answered)
    if missing:  # stateless (store false): every call needs its output (router-for-me/CLIProxyAPI#2368)
        return openai_error(400, None, f"No tool output found for function call {missing[0]}.", "input")
    return None


def response_items(reply: dict, server) -> list[dict]:
    """A scripted reply's output items, in order: reasoning (minted encrypted content; no summary
    with "hidden_reasoning"), the message, each tool call (by its index) whole."""
    deltas, items = reply["deltas"], []
    thought = [d["reasoning_content"] for d in deltas if d.get("reasoning_content")]
    if thought or reply.get("hidden_reasoning"):
        server.counter += 1
        encrypted = "gAAAAB" + base64.b64encode(f"reasoning-{server.counter}-{''.join(thought)}".encode()).decode()
        server.minted.add(encrypted)
        items.append({"id": f"rs_{server.counter}", "type": "reasoning", "encrypted_content": encrypted,
                      "summary": [{"type": "summary_text", "text": "".join(thought)}] if thought else [], "_parts": thought})
    texts = [d["content"] for d in deltas if d.get("content")]
    if texts:
        items.append({"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                      "content": [{"type": "output_text", "text": "".join(texts), "annotations": []}], "_parts": texts})
    calls: dict = {}
    for delta in deltas:
        for call in delta.get("tool_calls") or ():
            slot = calls.setdefault(call["index"], {"type": "function_call", "id": f"fc_{call['index']}", "status": "completed",
                                                    "call_id": None, "name": None, "arguments": "", "_parts": []})
            slot["call_id"] = slot["call_id"] or call.get("id")
            slot["name"] = slot["name"] or call["function"].get("name")
            if call["function"].get("arguments"):
                slot["_parts"].append(call["function"]["arguments"])
                slot["arguments"] += call["function"]["arguments"]
    return items + [calls[i] for i in sorted(calls)]


def response_object(reply, model, items, status) -> dict:
    prompt, completion = reply["usage"]
    finished = reply.get("finish") == "length"
    return {"id": "resp_fake", "object": "response", "created_at": 1700000000, "model": model, "status": status,
            "error": None, "incomplete_details": {"reason": "max_output_tokens"} if finished and status != "in_progress" else None,
            "output": [{k: v for k, v in item.items() if k != "_parts"} for item in items], "parallel_tool_calls": True,
            "tool_choice": "auto", "tools": [], "store": False,
            "usage": None if status == "in_progress" else {
                "input_tokens": prompt, "input_tokens_details": {"cached_tokens": reply.get("cached", 0)},
                "output_tokens": completion, "output_tokens_details": {"reasoning_tokens": reply.get("reasoning_tokens", 0)},
                "total_tokens": prompt + completion}}


def response_events(reply, model, items) -> list[tuple]:
    """The stream events of a scripted reply, as OpenAI sends them (api-reference/responses-streaming):
    (type, data without sequence_number), grouped by the delta of the script they stand for."""
    events = [("response.created", {"response": response_object(reply, model, [], "in_progress")}),
              ("response.in_progress", {"response": response_object(reply, model, [], "in_progress")})]
    for n, item in enumerate(items):
        whole = {k: v for k, v in item.items() if k != "_parts"}
        place = {"output_index": n, "item_id": item["id"]}
        if item["type"] == "reasoning":
            events.append(("response.output_item.added", {"output_index": n, "item": dict(whole, summary=[], encrypted_content=None)}))
            if item["_parts"]:
                events.append(("response.reasoning_summary_part.added", dict(place, summary_index=0, part={"type": "summary_text", "text": ""})))
            events += [("response.reasoning_summary_text.delta", dict(place, summary_index=0, delta=t)) for t in item["_parts"]]
        elif item["type"] == "message":
            events.append(("response.output_item.added", {"output_index": n, "item": dict(whole, content=[], status="in_progress")}))
            events.append(("response.content_part.added", dict(place, content_index=0, part={"type": "output_text", "text": ""})))
            events += [("response.output_text.delta", dict(place, content_index=0, delta=t, logprobs=[])) for t in item["_parts"]]
            events.append(("response.output_text.done", dict(place, content_index=0, text=whole["content"][0]["text"], logprobs=[])))
        else:
            events.append(("response.output_item.added", {"output_index": n, "item": dict(whole, arguments="", status="in_progress")}))
            events += [("response.function_call_arguments.delta", dict(place, delta=t)) for t in item["_parts"]]
            events.append(("response.function_call_arguments.done", dict(place, name=item["name"], arguments=item["arguments"])))
        events.append(("response.output_item.done", {"output_index": n, "item": whole}))
    if reply.get("finish") is not None:
        status = "incomplete" if reply["finish"] == "length" else "completed"
        events.append((f"response.{status}", {"response": response_object(reply, model, items, status)}))
    return events


def answer_responses(handler, body):
    """FakeHandler's answer on {base}/responses: its rules (responses_refusal), then the scripted reply."""
    server = handler.server
    reply = responses_refusal(body, server.minted) or (server.responder(body) if server.responder else server.next_reply())
    if "status" in reply:
        return handler._json_answer(reply)
    model, items = body.get("model", "fake"), response_items(reply, server)
    if not body.get("stream"):  # the response object, as the stream's last event would carry it
        whole = reply["events"][-1][1]["response"] if reply.get("events") else response_object(
            reply, model, items, "incomplete" if reply.get("finish") == "length" else "completed")
        return handler._json_answer({"status": 200, "body": whole})
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    events = reply.get("events") or response_events(reply, model, items)
    for n, (kind, data) in enumerate(events):
        if not scripted_step(handler, reply, n):
            return
        frame = f"event: {kind}\ndata: {json.dumps(dict(data, type=kind, sequence_number=n))}\n\n".encode()
        try:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        except OSError:
            server.aborted.set()
            handler.close_connection = True
            return
    handler.wfile.write(b"0\r\n\r\n")


def merge_text(parts) -> list[dict]:
    """Adjacent text parts of the same kind (thought or not) become one, as in a whole response."""
    merged: list[dict] = []
    for part in parts:
        if merged and "text" in part and "text" in merged[-1] and part.get("thought") == merged[-1].get("thought"):
            merged[-1] = {**merged[-1], "text": merged[-1]["text"] + part["text"]}
        else:
            merged.append(part)
    return merged


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


def check_protocol(events):
    """Anthropic's stream grammar, strictly: the invariants every client relies on."""
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("message_start") == names.count("message_delta") == names.count("message_stop") == 1
    open_index, next_index, kinds = None, 0, {}
    for name, data in events:
        assert data["type"] == name
        if name == "content_block_start":
            assert open_index is None, "a block started while another is open"
            assert data["index"] == next_index, "indexes must increase strictly from 0"
            open_index, next_index = data["index"], next_index + 1
            kinds[open_index] = data["content_block"]["type"]
            seen = []
        elif name == "content_block_delta":
            assert data["index"] == open_index, "a delta for a block that is not open"
            delta = data["delta"]
            seen.append(delta["type"])
            expected = {"text": ("text_delta",), "tool_use": ("input_json_delta",), "server_tool_use": ("input_json_delta",),
                        "web_search_tool_result": (), "thinking": ("thinking_delta", "signature_delta")}[kinds[open_index]]
            assert delta["type"] in expected
            if delta["type"] in ("text_delta", "thinking_delta"):
                assert delta.get("text", delta.get("thinking")), "empty text or thinking delta"
        elif name == "content_block_stop":
            assert data["index"] == open_index
            if kinds[open_index] == "text":
                assert "text_delta" in seen, "an empty text block"
            if kinds[open_index] == "thinking":
                assert seen[-1] == "signature_delta" and seen.count("signature_delta") == 1
            open_index = None
        elif name == "message_delta":
            assert open_index is None, "message_delta while a block is open"
            assert set(data["delta"]) == {"stop_reason", "stop_sequence"}
            assert isinstance(data["usage"]["output_tokens"], int)


def timed(fn):
    start = time.monotonic()
    result = fn()
    return result, time.monotonic() - start


class LogLines(__import__("logging").Handler):
    """Collects the proxy's records; wait(n) blocks until n request lines have arrived, since
    the server thread logs a request after the client has its answer."""

    def __init__(self):
        super().__init__(level=0)
        self.records, self.arrived = [], threading.Condition()

    def emit(self, record):
        with self.arrived:
            self.records.append(record)
            self.arrived.notify_all()

    def wait(self, count, fragment="/v1/messages"):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.lines(fragment)) >= count, timeout=TIMEOUT)
        return self.lines(fragment)

    def lines(self, fragment):
        """Request lines (the records that carry fields) mentioning `fragment`."""
        return [r for r in self.records if hasattr(r, "fields") and fragment in r.getMessage()]


BASIC = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}

TOOLS = [{"name": "Bash", "description": "Run a command", "input_schema": {
    "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
    {"name": "Read", "description": "Read a file", "input_schema": {
        "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}]

OPENAI, GROQ, GEMINI, ANTHROPIC = (cp.provider_for(n) for n in ("openai", "groq", "gemini", "anthropic"))
B64_IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


def req(messages, **fields):
    return {"model": "claude-sonnet-4-6", "max_tokens": 1000, "messages": messages, **fields}


# ----------------------------------------------------------------------------------------
# fixtures: the fakes, a proxy with this environment (running_proxy), the run's recording, checked last
# ----------------------------------------------------------------------------------------


def serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


def running(server):
    """A fixture body: the server serving, then stopped."""
    serve(server)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fake():
    yield from running(FakeProvider())


@pytest.fixture(scope="module")
def gemini():
    yield from running(GeminiFake())


@pytest.fixture(scope="module")
def vision():
    """A second OpenAI-compatible fake: the vision model that describes images (VISION_MODEL)."""
    yield from running(FakeProvider())


@pytest.fixture(autouse=True)
def reset_fakes(request):
    for name in ("fake", "gemini", "vision"):
        if name in request.fixturenames:
            provider = request.getfixturevalue(name)
            provider.replies, provider.received, provider.responder = [text_reply()], [], None
            provider.aborted.clear()
            if hasattr(provider, "arrived"):
                provider.arrived.clear()


def proxy_env(fake_url, gemini_url="http://127.0.0.1:9", **extra):
    env = {"PORT": "0", "OPENAI_API_KEY": "sk-test-openai", "OPENAI_BASE_URL": fake_url + "/v1",
           "MOONSHOT_API_KEY": "sk-test-moonshot", "MOONSHOT_API_BASE": fake_url + "/moonshot/v1",
           "GEMINI_API_KEY": "test-gemini-key", "GEMINI_API_BASE": gemini_url,
           "GROQ_API_KEY": "gsk-test-groq", "GROQ_API_BASE": fake_url + "/groq/v1",
           "DEEPSEEK_API_KEY": "sk-test-deepseek", "DEEPSEEK_API_BASE": fake_url + "/deepseek/v1",
           "BIG_MODEL": "openai/gpt-4.1", "SMALL_MODEL": "groq/llama-3.1-8b-instant", "LOG_LEVEL": "warning"}
    env.update(extra)
    return env


@contextlib.contextmanager
def proxy_process(fake, tmp_path, gemini=None, **extra):
    """The proxy as its own process (SHUTDOWN_GRACE=1) on a free port: (process, port); killed
    after, if the test has not stopped it. `extra`: more environment."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(proxy_env(fake.url, *([gemini.url] if gemini else [])), PYTHONUNBUFFERED="1", SHUTDOWN_GRACE="1",
               LOG_LEVEL="warning", **extra)
    process = subprocess.Popen([sys.executable, cp.__file__, "--port", "0"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process, int(process.stdout.readline().rsplit(":", 1)[1])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running_proxy(fake, gemini=None, **env):
    """A proxy with this environment: proxy_env's, pointed at these fakes (Gemini at a closed
    port without one), with `env` over it, serving on port 0 in this process. Yields the
    server, its address in `.url`; stopped and closed after."""
    server = cp.make_server(cp.Config.from_env(proxy_env(fake.url, *([gemini.url] if gemini else []), **env)))
    serve(server)
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# Every end-to-end test runs on both paths: OpenAI-compatible providers over the proxy's own
# HTTP client ("auto"), and everything through litellm.
@pytest.fixture(scope="module", params=cp.VIAS)
def proxy(fake, gemini, request):
    if request.param == "litellm":
        cp.load_litellm()  # imported now (seconds on a busy machine): no client's timeout includes the one-time import
    with running_proxy(fake, gemini, PROXY_VIA=request.param) as server:
        yield server


def openrouter_env(fake) -> dict:
    """OpenRouter at the fake (its /openrouter/ paths follow OpenRouter's rules). Not in proxy_env:
    other tests show what a request for an OpenRouter model gets without its key."""
    return {"OPENROUTER_API_KEY": "sk-or-test-openrouter", "OPENROUTER_API_BASE": fake.url + "/openrouter/api/v1"}


@pytest.fixture(scope="module", params=cp.VIAS)
def strict_proxy(fake, gemini, request):
    """`proxy`, with OpenRouter configured too; litellm imported first (Gemini goes through it on
    both paths), so no request's answer waits for the one-time import."""
    cp.load_litellm()
    with running_proxy(fake, gemini, PROXY_VIA=request.param, **openrouter_env(fake)) as server:
        yield server


@pytest.fixture(params=cp.VIAS)
def start_proxy(fake, gemini, request):
    """Start proxies with extra environment (on one path, as `proxy`); all are stopped after the test."""
    with contextlib.ExitStack() as proxies:
        def start(**extra):
            extra.setdefault("PROXY_VIA", request.param)
            if extra["PROXY_VIA"] == "litellm":
                cp.load_litellm()  # imported now: a test's deadline never includes the one-time import
            return proxies.enter_context(running_proxy(fake, gemini, **extra))

        yield start


@pytest.fixture
def client(proxy):
    anthropic = pytest.importorskip("anthropic")
    return anthropic.Anthropic(base_url=proxy.url, api_key="client-key-never-forwarded", max_retries=0, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def small_proxy(fake):
    with running_proxy(fake, MAX_BODY_MB="0.01") as server:
        yield server


@pytest.fixture
def quick_proxy(start_proxy):
    """A proxy with a 0.2 s keep-alive interval, so slow-stream tests take a second."""
    return start_proxy(KEEPALIVE_SECONDS="0.2")


@pytest.fixture
def routed_proxy(start_proxy):
    """A proxy with scenario routes and a fallback, all pointing at the fake provider."""
    return start_proxy(VISION_MODEL="groq/llama-4-scout", THINK_MODEL="o3-mini",
                       FALLBACK_MODELS="groq/llama-3.1-8b-instant, deepseek/deepseek-chat",
                       LONG_CONTEXT_MODEL="deepseek/deepseek-chat", LONG_CONTEXT_THRESHOLD="2000")


@pytest.fixture
def proxy_log():
    import logging

    logger, handler = logging.getLogger("claude_proxy"), LogLines()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


# Every byte the in-process proxies send, each connection's TCP_NODELAY and every log line of
# the run, recorded by `recorded_run` and checked by its teardown, after the last test.
WIRE: list = []
LOG_LINES: list = []
NODELAY: list = []  # TCP_NODELAY of every accepted connection (without it, 40 ms on each answer)
FAKE_KEYS = ("sk-test-openai", "gsk-test-groq", "sk-test-moonshot", "test-gemini-key", "sk-test-deepseek", "sk-or-test-openrouter", "tvly-test-key")


class _Tee:
    def __init__(self, inner):
        self.inner = inner

    def write(self, data):
        WIRE.append(bytes(data))
        return self.inner.write(data)

    def __getattr__(self, name):  # closed, close, ...
        return getattr(self.inner, name)


class _CollectLogs(__import__("logging").Handler):
    def emit(self, record):
        LOG_LINES.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def recorded_run():
    """For the whole run: every in-process proxy's connection records what it writes (WIRE) and
    its TCP_NODELAY (NODELAY), and every claude_proxy log line, at every level, is collected
    (LOG_LINES). The teardown, the last thing the run does, checks them all: no fake provider
    key in any byte sent or any line logged, TCP_NODELAY on every connection."""
    import logging

    handler_setup = cp.Handler.setup

    def recording_setup(self):
        handler_setup(self)
        NODELAY.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        self.wfile = _Tee(self.wfile)

    logger, collector = logging.getLogger("claude_proxy"), _CollectLogs()
    level = logger.level
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cp.Handler, "setup", recording_setup)
        logger.setLevel(logging.DEBUG)  # every level is checked for keys
        logger.addHandler(collector)
        try:
            yield
        finally:
            logger.removeHandler(collector)
            logger.setLevel(level)
    wire = b"".join(WIRE).decode("utf-8", "replace")
    logs = "\n".join(LOG_LINES)
    if NODELAY:  # some in-process proxy served this run (a -k subset may have started none)
        assert WIRE and LOG_LINES  # recorded: everything every test produced
    assert all(NODELAY), "a connection without TCP_NODELAY"
    for key in FAKE_KEYS:
        assert key not in wire, f"{key} sent to a client"
        assert key not in logs, f"{key} in a log line"


# ----------------------------------------------------------------------------------------
# configuration: the settings table, its readers, .env (pure)
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("env, fragment", [
    ({"PORT": "http"}, "PORT"), ({"PORT": "-1"}, "PORT"), ({"REQUEST_TIMEOUT": "soon"}, "REQUEST_TIMEOUT"),
    ({"MAX_TOKENS_LIMIT": "0"}, "MAX_TOKENS_LIMIT"), ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"), ({"MAX_BODY_MB": "x"}, "MAX_BODY_MB"),
])
def test_config_errors_name_the_variable(env, fragment):
    with pytest.raises(cp.ConfigError, match=fragment):
        cp.Config.from_env(env)


def test_config_never_shows_keys():
    config = cp.Config.from_env({"OPENAI_API_KEY": "sk-secret-value"})
    assert "sk-secret-value" not in repr(config)


SETTING = {setting.variable: setting for setting in cp.SETTINGS}

# Every kind of setting: (variable, good text, the field's value, malformed text); None: the
# kind takes any text.
SETTING_CASES = [
    ("BIG_MODEL", " groq/kimi-k2 ", "groq/kimi-k2", None),  # text
    ("PREFERRED_PROVIDER", "Groq", "groq", None),  # lowercase
    ("LOG_LEVEL", "DEBUG", "debug", "loud"),  # choice
    ("PROXY_VIA", "LiteLLM", "litellm", "direct"),
    ("PORT", "8083", 8083, "http"),  # int
    ("PORT", "0", 0, "-1"),
    ("WORKERS", "2", 2, "many"),  # workers: a count, or auto
    ("WORKERS", "auto", os.cpu_count() or 1, "0"),
    ("LONG_CONTEXT_THRESHOLD", "1000", 1000, "1e5"),
    ("MAX_TOKENS_LIMIT", "4096", 4096, "0"),  # int, unset by default
    ("REQUEST_TIMEOUT", "2.5", 2.5, "soon"),  # float
    ("SHUTDOWN_GRACE", "0", 0.0, "nan"),
    ("CONNECT_TIMEOUT", "0.05", 0.05, "0.01"),
    ("FALLBACK_MODELS", "groq/a, gemini/b,,", ("groq/a", "gemini/b"), None),  # comma list
    ("MODEL_PRICES", "groq/a=1/3, b=2/8/0.5", (("groq/a", cp.Prices(1e-06, 3e-06)), ("b", cp.Prices(2e-06, 8e-06, 5e-07))),
     "groq/a=1"),  # prices
    ("MAX_BODY_MB", "0.5", 512 * 1024, "x"),  # megabytes, held in bytes
    ("MAX_BODY_MB", "1", 1024 * 1024, "0"),
]
MALFORMED_SETTINGS = [(variable, bad) for variable, _, _, bad in SETTING_CASES if bad is not None]


def test_setting_cases_cover_every_kind():
    assert {SETTING[variable].kind for variable, *_ in SETTING_CASES} == set(cp.READERS)


@pytest.mark.parametrize("variable, text, value, bad", SETTING_CASES)
def test_setting_read(variable, text, value, bad):
    field, problems = SETTING[variable].field, []
    assert getattr(cp.Config.from_env({variable: text}, problems), field) == value and problems == []
    assert getattr(cp.Config.from_env({variable: "  "}), field) == getattr(cp.Config(), field)  # blank is unset


@pytest.mark.parametrize("variable, bad", MALFORMED_SETTINGS)
def test_malformed_setting_strict(variable, bad):
    with pytest.raises(cp.ConfigError, match=f"^{variable}={bad!r} "):
        cp.Config.from_env({variable: bad})


@pytest.mark.parametrize("variable, bad", MALFORMED_SETTINGS)
def test_malformed_setting_lenient(variable, bad):
    problems: list = []
    config = cp.Config.from_env({variable: bad, "BIG_MODEL": "groq/kimi-k2"}, problems)
    field = SETTING[variable].field
    assert getattr(config, field) == getattr(cp.Config(), field) and config.big_model == "groq/kimi-k2"
    assert len(problems) == 1 and problems[0].startswith(f"{variable}={bad!r} ")
    assert problems[0].endswith(f"using the default, {cp.shown_default(SETTING[variable]) or 'none'}")


def test_settings_table_drives_config():
    fields = [f.name for f in cp.dataclasses.fields(cp.Config) if f.name != "env"]
    assert sorted(fields) == sorted(s.field for s in cp.SETTINGS) and len(SETTING) == len(cp.SETTINGS)
    assert cp.Config.from_env({}) == cp.Config() and cp.Config().max_body_bytes == 32 * 1024 * 1024
    for setting in cp.SETTINGS:
        assert setting.kind in cp.READERS and setting.help and setting.group, setting
        assert all(choice in setting.help for choice in setting.choices), setting  # help says what it may be
        if cp.shown_default(setting) and setting.shown is None:  # the default, written out, reads back as itself
            assert cp.Config.from_env({setting.variable: cp.shown_default(setting)}) == cp.Config(), setting


def test_only_config_reads_settings_from_the_environment():
    source = open(cp.__file__, encoding="utf-8").read()
    rest = source[:source.index("# configuration: the only reader")] + source[source.index("def parse_dotenv"):]
    for setting in cp.SETTINGS:
        assert not re.search(rf'(?:env|environ)(?:\.get\(|\[)\s*"{setting.variable}"|getenv\(\s*"{setting.variable}"', rest), setting


def test_parse_dotenv():
    text = 'export OPENAI_API_KEY=sk-1\n# comment\nBIG_MODEL="gemini/gemini-2.5-pro"  \nSMALL_MODEL=llama # inline\nbad line\nEMPTY=\nQ=\'a # b\''
    assert cp.parse_dotenv(text) == {"OPENAI_API_KEY": "sk-1", "BIG_MODEL": "gemini/gemini-2.5-pro", "SMALL_MODEL": "llama",
                                     "EMPTY": "", "Q": "a # b"}


# ----------------------------------------------------------------------------------------
# provider knowledge: the quirk tables and litellm's model map
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("target, info, expected", [
    ("openai/gpt-4.1", {"max_input_tokens": 1047576, "max_output_tokens": 32768}, (1047576, 32768)),
    ("groq/moonshotai/kimi-k2-instruct", {}, (131072, 16384)),
    ("groq/llama-3.3-70b-versatile", {"max_output_tokens": 8000}, (131072, 8000)),
    ("someprovider/unknown", {}, (None, None)),
])
def test_model_limits(target, info, expected):
    assert cp.model_limits(target, info) == expected


@pytest.mark.parametrize("target, expected", [
    ("openrouter/deepseek/deepseek-chat", {"litellm_provider": "deepseek", "supports_vision": None}),  # the vendor's facts
    ("openrouter/google/gemini-2.5-flash", {"litellm_provider": "gemini", "supports_vision": True}),  # its vendor name
    ("openrouter/moonshotai/kimi-k2", {"supports_vision": False, "max_output_tokens": 16384}),  # our row: no map has it
    ("openrouter/z-ai/glm-4.5-air", {"litellm_provider": "zai", "supports_tool_choice": False}),  # our row over the vendor's
    ("openrouter/vendor/unknown", {}),
])
def test_a_resellers_models_have_their_vendors_facts(target, expected):
    facts = cp.model_facts(target)
    assert ({k: facts.get(k) for k in expected} if expected else facts) == expected


def test_model_facts_come_from_litellms_map_without_importing_it():
    code = ("import sys, claude_proxy as cp; f = cp.model_facts('openai/gpt-4.1'); "
            "print(f['max_input_tokens'] > 100000, cp.model_facts('groq/no-such-model'), 'litellm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.abspath(cp.__file__)))
    assert out.stdout.split() == ["True", "{}", "False"], out.stderr


# ----------------------------------------------------------------------------------------
# model routing: route_model and its scenarios, tool names, a target's key and URL (pure)
# ----------------------------------------------------------------------------------------

PROVIDER_NAMES = frozenset({"openai", "groq", "gemini", "moonshot", "anthropic", "openrouter"})
ROUTE_CASES = [
    ({}, "claude-haiku-4-5-20251001", "openai/gpt-4.1-mini"),
    ({}, "claude-sonnet-4-6", "openai/gpt-4.1"),
    ({}, "claude-opus-4-8", "openai/gpt-4.1"),
    ({}, "claude-3-7-something-new", "openai/gpt-4.1"),
    ({}, "gpt-4o", "openai/gpt-4o"),
    ({}, "gemini/gemini-2.5-pro", "gemini/gemini-2.5-pro"),
    ({}, "openrouter/anthropic/claude-sonnet-4", "openrouter/anthropic/claude-sonnet-4"),
    ({"PREFERRED_PROVIDER": "groq", "BIG_MODEL": "moonshotai/kimi-k2-instruct", "SMALL_MODEL": "llama-3.1-8b-instant"},
     "claude-opus-4-8", "groq/moonshotai/kimi-k2-instruct"),
    ({"PREFERRED_PROVIDER": "groq", "SMALL_MODEL": "llama-3.1-8b-instant"}, "claude-3-5-haiku-latest", "groq/llama-3.1-8b-instant"),
    ({"SMALL_MODEL": "gemini/gemini-2.5-flash"}, "claude-haiku-4-5", "gemini/gemini-2.5-flash"),
]


SCENARIOS = {"BIG_MODEL": "gpt-4.1", "SMALL_MODEL": "gpt-4.1-mini", "MIDDLE_MODEL": "gemini/gemini-2.5-flash",
             "OPUS_MODEL": "openai/gpt-5", "THINK_MODEL": "o3", "LONG_CONTEXT_MODEL": "gemini/gemini-2.5-pro",
             "LONG_CONTEXT_THRESHOLD": "100000", "VISION_MODEL": "openai/gpt-4o"}
# (requested, needs: thinking, images, input_tokens, expected)
SCENARIO_CASES = [
    ("claude-sonnet-4-6", (False, False, 10), "gemini/gemini-2.5-flash"),
    ("claude-opus-4-8", (False, False, 10), "openai/gpt-5"),
    ("claude-fable-5-2", (False, False, 10), "openai/gpt-4.1"),
    ("claude-haiku-4-5", (False, False, 10), "openai/gpt-4.1-mini"),
    ("claude-opus-4-8", (True, False, 10), "openai/o3"),
    ("claude-haiku-4-5", (False, True, 10), "openai/gpt-4o"),
    ("claude-opus-4-8", (True, True, 10), "openai/gpt-4o"),
    ("claude-opus-4-8", (True, True, 100001), "gemini/gemini-2.5-pro"),
    ("claude-opus-4-8", (False, False, 100000), "openai/gpt-5"),
    ("groq/llama-3.3-70b-versatile", (True, True, 10 ** 6), "groq/llama-3.3-70b-versatile"),
    ("gpt-4o-mini", (True, False, 10), "openai/gpt-4o-mini"),
]


CALLER_CASES = [
    ({}, {}, cp.Caller()),
    ({"X-Claude-Code-Session-Id": "s1"}, {"metadata": {"user_id": json.dumps({"session_id": "other"})}}, cp.Caller("s1")),
    ({}, {"metadata": {"user_id": json.dumps({"device_id": "d", "session_id": "s2"})}}, cp.Caller("s2")),
    ({}, {"metadata": {"user_id": "not json"}}, cp.Caller()),
    ({"x-claude-code-agent-id": "a1b2c3", "x-app": "cli"}, {}, cp.Caller("", "a1b2c3", True, "cli")),
    ({}, {"system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.0b8; cc_is_subagent=true;"},
                     {"type": "text", "text": "You are Claude Code."}]}, cp.Caller(subagent=True)),
    ({}, {"system": "You are Claude Code. cc_is_subagent=true"}, cp.Caller()),  # only the billing line says so
]


@pytest.mark.parametrize("headers, body, expected", CALLER_CASES)
def test_caller_of(headers, body, expected):
    assert cp.caller_of(cp.Headers(headers.items()), body) == expected


@pytest.mark.parametrize("env, requested, expected", ROUTE_CASES)
def test_route_model(env, requested, expected):
    assert cp.route_model(requested, cp.Config.from_env(env), PROVIDER_NAMES) == expected


@pytest.mark.parametrize("requested, needs, expected", SCENARIO_CASES)
def test_route_model_scenarios(requested, needs, expected):
    thinking, images, tokens = needs
    config = cp.Config.from_env(SCENARIOS)
    assert cp.route_model(requested, config, PROVIDER_NAMES, thinking=thinking, images=images, input_tokens=tokens) == expected


@pytest.mark.parametrize("mode, expected", [("route", "openai/gpt-4o"), ("describe", "openai/gpt-5")])
def test_vision_mode_describe_keeps_a_request_with_images_on_its_model(mode, expected):
    config = cp.Config.from_env(dict(SCENARIOS, VISION_MODE=mode))
    assert cp.route_model("claude-opus-4-8", config, PROVIDER_NAMES, images=True) == expected


@pytest.mark.parametrize("body, expected", [
    (req([{"role": "user", "content": "hi"}]), (False, False)),
    (req([{"role": "user", "content": "hi"}], thinking={"type": "disabled"}), (False, False)),
    (req([{"role": "user", "content": "hi"}], thinking={"type": "adaptive"}), (True, False)),
    (req([{"role": "user", "content": [B64_IMAGE]}], thinking={"type": "enabled", "budget_tokens": 2000}), (True, True)),
    (req([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [B64_IMAGE]}]}]), (False, True)),
])
def test_request_needs(body, expected):
    assert cp.request_needs(body) == expected


def test_short_tool_names_are_stable_and_reversible():
    long_name = "mcp__" + "very_long_server_name__" * 4 + "tool"
    short = cp.short_tool_name(long_name)
    assert len(short) == 64 and short == cp.short_tool_name(long_name) and short != cp.short_tool_name(long_name + "2")
    assert cp.short_tool_name("Bash") == "Bash"
    body = req([{"role": "user", "content": "x"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": long_name, "input": {}}]}],
               tools=[{"name": long_name, "input_schema": {"type": "object"}}, TOOLS[0]], tool_choice={"type": "tool", "name": long_name})
    assert cp.tool_name_map(body) == {short: long_name}
    params = cp.to_openai_request(body, "openai/gpt-4.1", OPENAI)
    assert [t["function"]["name"] for t in params["tools"]] == [short, "Bash"]
    assert params["tool_choice"]["function"]["name"] == short
    assert params["messages"][1]["tool_calls"][0]["function"]["name"] == short
    translator = cp.StreamTranslator("m", "x", tool_names=cp.tool_name_map(body))
    events = translator.feed({"choices": [{"index": 0, "delta": tool_delta(0, "{}", "call_1", short)}]}) + translator.finish()
    assert cp.fold_events(events)["content"][0]["name"] == long_name


@pytest.mark.parametrize("env, target, expected", [
    ({"OPENAI_API_KEY": "k1", "OPENAI_BASE_URL": "http://b"}, "openai/gpt-4.1", {"api_key": "k1", "api_base": "http://b"}),
    ({"OPENAI_API_KEY": "k1", "OPENAI_API_BASE": "http://c"}, "openai/gpt-4.1", {"api_key": "k1", "api_base": "http://c"}),
    ({"GOOGLE_API_KEY": "g"}, "gemini/gemini-2.5-pro", {"api_key": "g"}),
    ({"GEMINI_API_KEY": "g1", "GOOGLE_API_KEY": "g2"}, "gemini/gemini-2.5-pro", {"api_key": "g1"}),
    ({"XAI_API_KEY": "x"}, "xai/grok-4", {"api_key": "x"}),
    ({}, "ollama/llama3", {}),
    ({"OLLAMA_API_BASE": "http://gpu-box:11434"}, "ollama_chat/qwen3", {"api_base": "http://gpu-box:11434"}),
    ({"LITELLM_PROXY_API_KEY": "team", "LITELLM_PROXY_API_BASE": "http://gw:4000"}, "litellm_proxy/claude-team",
     {"api_key": "team", "api_base": "http://gw:4000"}),
    # The client's ANTHROPIC_BASE_URL (this very proxy) must never become the upstream.
    ({"ANTHROPIC_API_KEY": "a", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8082"}, "anthropic/claude-sonnet-4-5",
     {"api_key": "a", "api_base": "https://api.anthropic.com"}),
    ({"ANTHROPIC_API_KEY": "a", "ANTHROPIC_API_BASE": "https://eu.example"}, "anthropic/claude-sonnet-4-5",
     {"api_key": "a", "api_base": "https://eu.example"}),
])
def test_provider_credentials(env, target, expected):
    assert cp.provider_credentials(target, cp.Config.from_env(env)) == expected


def test_missing_key_names_the_variable():
    with pytest.raises(cp.ProxyError) as caught:
        cp.provider_credentials("moonshot/kimi-k2", cp.Config.from_env({}))
    assert caught.value.status == 401 and caught.value.error_type == "authentication_error"
    assert "MOONSHOT_API_KEY" in caught.value.message


@pytest.mark.parametrize("env, target, expected", [
    ({}, "openai/gpt-4.1", "https://api.openai.com/v1/chat/completions"),
    ({"OPENAI_BASE_URL": "http://10.0.0.5:8000/v1/"}, "openai/local", "http://10.0.0.5:8000/v1/chat/completions"),
    ({}, "groq/llama-3.1-8b-instant", "https://api.groq.com/openai/v1/chat/completions"),
    ({}, "ollama/llama3", "http://localhost:11434/v1/chat/completions"),
    ({"HOSTED_VLLM_API_BASE": "http://gpu:8000/v1"}, "hosted_vllm/qwen", "http://gpu:8000/v1/chat/completions"),
    ({}, "hosted_vllm/qwen", None),  # no base URL: litellm reports what is missing
    ({}, "gemini/gemini-2.5-pro", None),
    ({}, "anthropic/claude-sonnet-4-5", None),
    ({"PROXY_VIA": "litellm"}, "openai/gpt-4.1", None),
    ({"OPENAI_BASE_URL": "file:///etc/passwd"}, "openai/gpt-4.1", None),
])
def test_direct_url(env, target, expected):
    assert cp.direct_url(target, cp.Config.from_env(env)) == expected


# ----------------------------------------------------------------------------------------
# request translation: validation, schemas, Anthropic -> OpenAI, the direct body, the token estimate (pure)
# ----------------------------------------------------------------------------------------

# (id, body, fragment of the 400 message)
INVALID_CASES = [
    ("not an object", [1, 2], "JSON object"),
    ("no model", {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ("model not a string", {"model": 5, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ("model with a URL", {"model": "openai/http://evil", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}, "model"),
    ("no max_tokens", {"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ("max_tokens zero", {"model": "m", "max_tokens": 0, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ("max_tokens a string", {"model": "m", "max_tokens": "5", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ("max_tokens a bool", {"model": "m", "max_tokens": True, "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
    ("no messages", {"model": "m", "max_tokens": 5}, "messages"),
    ("empty messages", {"model": "m", "max_tokens": 5, "messages": []}, "at least one"),
    ("message not an object", {"model": "m", "max_tokens": 5, "messages": ["hi"]}, "messages.0"),
    ("unknown role", {"model": "m", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
    ("content a number", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
    ("block without type", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [{"text": "x"}]}]}, "messages.0.content.0"),
    ("system a number", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "system": 3}, "system"),
    ("tools not a list", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": {}}, "tools"),
    ("tool without name", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tools": [{}]}, "tools.0"),
    ("tool_choice a string", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}, "tool_choice"),
    ("stream a string", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream"),
]


@pytest.mark.parametrize("body, fragment", [c[1:] for c in INVALID_CASES], ids=[c[0] for c in INVALID_CASES])
def test_invalid_requests(body, fragment):
    with pytest.raises(cp.ProxyError) as caught:
        cp.validate_request(body, need_max_tokens=True)
    assert caught.value.status == 400 and caught.value.error_type == "invalid_request_error"
    assert fragment in caught.value.message


SCHEMA_CASES = [
    ({"type": "object", "required": None}, {"type": "object", "properties": {}}),
    ({"type": "object"}, {"type": "object", "properties": {}}),
    ({"type": "object", "properties": {"required": {"type": "string"}, "opts": {"type": "object", "required": None}},
      "required": ["required"]},
     {"type": "object", "properties": {"required": {"type": "string"}, "opts": {"type": "object", "properties": {}}},
      "required": ["required"]}),
    ({"type": "array", "items": {"type": "object", "additionalProperties": False}},
     {"type": "array", "items": {"type": "object", "additionalProperties": False, "properties": {}}}),
    ({"anyOf": [{"type": "object"}, {"type": "string", "enum": [{"type": "object"}]}]},
     {"anyOf": [{"type": "object", "properties": {}}, {"type": "string", "enum": [{"type": "object"}]}]}),
    ({"type": "string", "default": {"type": "object"}}, {"type": "string", "default": {"type": "object"}}),
]


@pytest.mark.parametrize("schema, expected", SCHEMA_CASES)
def test_repair_schema(schema, expected):
    assert cp.repair_schema(schema) == expected


@pytest.mark.parametrize("schema, expected", [
    ({"const": "search"}, {"type": "string", "enum": ["search"]}),
    ({"type": "string", "const": "a", "description": "d"}, {"type": "string", "description": "d", "enum": ["a"]}),
    ({"const": True}, {"type": "boolean"}),
    ({"type": "object", "properties": {"const": {"type": "string"}, "k": {"const": 3}}},
     {"type": "object", "properties": {"const": {"type": "string"}, "k": {"type": "integer"}}}),
    ({"anyOf": [{"const": "a"}, {"const": "b"}]}, {"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["b"]}]}),
])
def test_const_as_enum(schema, expected):
    assert cp.const_as_enum(schema) == expected


# (id, request body, provider quirks, keyword arguments, expected subset of the litellm params)
REQUEST_CASES = [
    ("plain string", req([{"role": "user", "content": "hi"}]), OPENAI, {},
     {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000}),
    ("system string", req([{"role": "user", "content": "hi"}], system="Be brief."), OPENAI, {},
     {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}),
    ("system blocks with cache_control",
     req([{"role": "user", "content": "hi"}], system=[{"type": "text", "text": "A"},
                                                    {"type": "text", "text": "B", "cache_control": {"type": "ephemeral", "ttl": "1h"}}]),
     OPENAI, {}, {"messages": [{"role": "system", "content": "A\nB"}, {"role": "user", "content": "hi"}]}),
    ("later system kept in place (openai)",
     req([{"role": "user", "content": "hi"}, {"role": "system", "content": "note"}, {"role": "assistant", "content": "yo"}], system="S"),
     OPENAI, {}, {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"},
                               {"role": "system", "content": "note"}, {"role": "assistant", "content": "yo"}]}),
    ("later system in the user turn before it (gemini): the leading prompt stays as it was",
     req([{"role": "user", "content": "hi"}, {"role": "system", "content": [{"type": "text", "text": "note"}]},
          {"role": "assistant", "content": "yo"}], system="S"),
     GEMINI, {}, {"messages": [{"role": "system", "content": "S"},
                               {"role": "user", "content": "hi\n\n<system-reminder>\nnote\n</system-reminder>"},
                               {"role": "assistant", "content": "yo"}]}),
    ("later system after an assistant turn goes to the next user turn; before any turn, to the prompt (gemini)",
     req([{"role": "system", "content": "first"}, {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
          {"role": "system", "content": "<system-reminder>marked</system-reminder>"}, {"role": "system", "content": ""},
          {"role": "user", "content": "more"}], system="S"),
     GEMINI, {}, {"messages": [{"role": "system", "content": "S\n\nfirst"}, {"role": "user", "content": "hi"},
                               {"role": "assistant", "content": "yo"},
                               {"role": "user", "content": "more\n\n<system-reminder>marked</system-reminder>"}]}),
    ("later system after a tool result goes into the result (gemini: a response turn holds responses only)",
     req([{"role": "user", "content": "go"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "1"}]},
          {"role": "system", "content": "<total_tokens>9 tokens left</total_tokens>"}]),
     GEMINI, {}, {"messages": [
         {"role": "user", "content": "go"},
         {"role": "assistant", "content": None, "tool_calls": [{"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "a",
          "content": "1\n\n<system-reminder>\n<total_tokens>9 tokens left</total_tokens>\n</system-reminder>"}]}),
    ("a system entry last, after the assistant's turn, is a user turn of its own (anthropic through litellm)",
     req([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "system", "content": "n"}]),
     ANTHROPIC, {}, {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"},
                                  {"role": "user", "content": "<system-reminder>\nn\n</system-reminder>"}]}),
    ("text blocks joined, empty and unknown blocks dropped",
     req([{"role": "user", "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
                                       {"type": "text", "text": ""}, {"type": "mystery_block", "x": 1},
                                       {"type": "text", "text": "b"}]}]),
     OPENAI, {}, {"messages": [{"role": "user", "content": "a\n\nb"}]}),
    ("cache_control kept for anthropic",
     req([{"role": "user", "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}]}]),
     ANTHROPIC, {}, {"messages": [{"role": "user", "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}]}]}),
    ("image base64 and url",
     req([{"role": "user", "content": [{"type": "text", "text": "look"}, B64_IMAGE,
                                       {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}]}]),
     OPENAI, {}, {"messages": [{"role": "user", "content": [
         {"type": "text", "text": "look"},
         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
         {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}),
    ("documents: pdf, plain text, url",
     req([{"role": "user", "content": [
         {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}},
         {"type": "document", "title": "notes.txt", "source": {"type": "text", "media_type": "text/plain", "data": "hello"}},
         {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}}]}]),
     OPENAI, {}, {"messages": [{"role": "user", "content": [
         {"type": "file", "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
         {"type": "text", "text": "notes.txt\n\nhello"},
         {"type": "file", "file": {"file_id": "https://example.com/a.pdf", "format": "application/pdf"}}]}]}),
    ("tool_use -> tool_calls with the same ids; thinking dropped",
     req([{"role": "user", "content": "run it"},
          {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"},
                                            {"type": "text", "text": "Running."},
                                            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
                                            {"type": "tool_use", "id": "call_2", "name": "Read", "input": {"path": "a"}}]}]),
     OPENAI, {}, {"messages": [{"role": "user", "content": "run it"}, {"role": "assistant", "content": "Running.", "tool_calls": [
         {"id": "toolu_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}},
         {"id": "call_2", "type": "function", "function": {"name": "Read", "arguments": '{"path": "a"}'}}]}]}),
    ("thinking kept for anthropic",
     req([{"role": "user", "content": "q"},
          {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "sig"}, {"type": "text", "text": "a"}]}]),
     ANTHROPIC, {}, {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "thinking_blocks": [
         {"type": "thinking", "thinking": "hmm", "signature": "sig"}]}]}),
    ("assistant with only thinking is left out",
     req([{"role": "user", "content": "q"}, {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "x"}]},
          {"role": "user", "content": "again"}]),
     OPENAI, {}, {"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "again"}]}),
    ("tool results: string, list, error, reference, then shared text",
     req([{"role": "user", "content": [
         {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "line1"}, {"type": "text", "text": "line2"}]},
         {"type": "tool_result", "tool_use_id": "toolu_1", "content": "boom", "is_error": True},
         {"type": "tool_result", "tool_use_id": "call_3", "content": [{"type": "tool_reference", "tool_name": "WebFetch"}]},
         {"type": "text", "text": "continue"}]}]),
     OPENAI, {}, {"messages": [
         {"role": "tool", "tool_call_id": "call_2", "content": "line1\nline2"},
         {"role": "tool", "tool_call_id": "toolu_1", "content": "[tool error] boom"},
         {"role": "tool", "tool_call_id": "call_3", "content": "[tool reference: WebFetch]"},
         {"role": "user", "content": "continue"}]}),
    ("tool result with an image",
     req([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_9", "content": [{"type": "text", "text": "png:"}, B64_IMAGE]}]}]),
     OPENAI, {}, {"messages": [
         {"role": "tool", "tool_call_id": "call_9", "content": "png:"},
         {"role": "user", "content": [{"type": "text", "text": "(image output of tool call call_9)"},
                                      {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]}),
    ("tools, web search a function, another server tool left out, tool_choice any, no parallel",
     req([{"role": "user", "content": "hi"}], tools=[
         {"name": "Bash", "description": "run", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
          "cache_control": {"type": "ephemeral"}, "defer_loading": True},
         {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
         {"type": "code_execution_20250825", "name": "code_execution"}],
         tool_choice={"type": "any", "disable_parallel_tool_use": True}),
     OPENAI, {}, {"tools": [{"type": "function", "function": {"name": "Bash", "description": "run", "parameters": {
         "type": "object", "properties": {"command": {"type": "string"}}}}},
         {"type": "function", "function": {"name": "web_search", "description": cp.SEARCH_DESCRIPTION,
                                           "parameters": cp.search_parameters()}}],
                  "tool_choice": "required", "parallel_tool_calls": False}),
    ("newer web search versions are functions too, forced by name",
     req([{"role": "user", "content": "hi"}], tools=[{"type": "web_search_20260318", "name": "web_search", "allowed_domains": ["a.example"]}],
         tool_choice={"type": "tool", "name": "web_search"}),
     OPENAI, {}, {"tools": [{"type": "function", "function": {"name": "web_search", "description": cp.SEARCH_DESCRIPTION,
                                                               "parameters": cp.search_parameters()}}],
                  "tool_choice": {"type": "function", "function": {"name": "web_search"}}}),
    ("web searches in history: tool calls and results, the turn split at each result",
     req([{"role": "user", "content": "news?"},
          {"role": "assistant", "content": [
              {"type": "text", "text": "Searching."},
              {"type": "server_tool_use", "id": "srvtoolu_a", "name": "web_search", "input": {"query": "news"}},
              {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_a", "content": [
                  {"type": "web_search_result", "title": "N", "url": "https://n.example/1", "page_age": "2026-11-30",
                   "encrypted_content": cp.sealed("Today's news.")},
                  {"type": "web_search_result", "title": "M", "url": "https://m.example/", "encrypted_content": "EqQBCkYIBxgC"}]},
              {"type": "server_tool_use", "id": "srvtoolu_b", "name": "web_search", "input": {"query": "more"}},
              {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_b",
               "content": {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}},
              {"type": "server_tool_use", "id": "srvtoolu_c", "name": "web_fetch", "input": {"url": "https://n.example/1"}},
              {"type": "text", "text": "Here is the news."}]},
          {"role": "user", "content": "thanks"}]),
     OPENAI, {}, {"messages": [
         {"role": "user", "content": "news?"},
         {"role": "assistant", "content": "Searching.", "tool_calls": [
             {"id": "srvtoolu_a", "type": "function", "function": {"name": "web_search", "arguments": '{"query": "news"}'}}]},
         {"role": "tool", "tool_call_id": "srvtoolu_a", "content": "Web search results:\n\n1. N\nhttps://n.example/1 (2026-11-30)\n"
                                                                  "Today's news.\n\n2. M\nhttps://m.example/"},
         {"role": "assistant", "content": None, "tool_calls": [
             {"id": "srvtoolu_b", "type": "function", "function": {"name": "web_search", "arguments": '{"query": "more"}'}}]},
         {"role": "tool", "tool_call_id": "srvtoolu_b", "content": "Web search error: max_uses_exceeded"},
         {"role": "assistant", "content": "Here is the news."},
         {"role": "user", "content": "thanks"}]}),
    ("tool_choice tool", req([{"role": "user", "content": "hi"}], tools=[{"name": "f", "input_schema": {"type": "object"}}],
                             tool_choice={"type": "tool", "name": "f"}),
     OPENAI, {}, {"tool_choice": {"type": "function", "function": {"name": "f"}}}),
    ("tool_choice none", req([{"role": "user", "content": "hi"}], tools=[{"name": "f", "input_schema": {"type": "object"}}],
                             tool_choice={"type": "none"}), OPENAI, {}, {"tool_choice": "none"}),
    ("sampling fields and stop sequences",
     req([{"role": "user", "content": "hi"}], temperature=0.2, top_p=0.9, top_k=40, stop_sequences=["END", "##"]),
     GEMINI, {}, {"temperature": 0.2, "top_p": 0.9, "top_k": 40, "stop": ["END", "##"]}),
    ("user id hashed for openai",
     req([{"role": "user", "content": "hi"}], metadata={"user_id": '{"device_id":"d","session_id":"s"}'}),
     OPENAI, {}, {"user": cp.hashed_user('{"device_id":"d","session_id":"s"}')}),
    ("max_tokens capped at the model's output limit", req([{"role": "user", "content": "hi"}], max_tokens=64000),
     OPENAI, {"max_output": 32768}, {"max_tokens": 32768}),
    ("thinking budget -> reasoning effort", req([{"role": "user", "content": "hi"}], thinking={"type": "enabled", "budget_tokens": 31999}),
     OPENAI, {"reasoning": True}, {"reasoning_effort": "high"}),
    ("adaptive thinking takes output_config.effort",
     req([{"role": "user", "content": "hi"}], thinking={"type": "adaptive"}, output_config={"effort": "low"}),
     OPENAI, {"reasoning": True}, {"reasoning_effort": "low"}),
    ("thinking passed natively to anthropic",
     req([{"role": "user", "content": "hi"}], max_tokens=8000, thinking={"type": "enabled", "budget_tokens": 2048}),
     ANTHROPIC, {"reasoning": True}, {"thinking": {"type": "enabled", "budget_tokens": 2048}}),
    ("native thinking budget kept below max_tokens",
     req([{"role": "user", "content": "hi"}], max_tokens=3000, thinking={"type": "enabled", "budget_tokens": "lots"}),
     ANTHROPIC, {"reasoning": True}, {"thinking": {"type": "enabled", "budget_tokens": 1024}}),
    ("our own thinking is not replayed to anthropic",
     req([{"role": "user", "content": "q"},
          {"role": "assistant", "content": [{"type": "thinking", "thinking": "x", "signature": "claude_proxy:openai/gpt-4.1"},
                                            {"type": "text", "text": "a"}]}]),
     ANTHROPIC, {}, {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
    ("tool replies move up past a system entry and a second user turn",
     req([{"role": "user", "content": "go"},
          {"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}},
                                            {"type": "tool_use", "id": "b", "name": "f", "input": {}}]},
          {"role": "system", "content": "reminder"},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "1"}, {"type": "text", "text": "note"}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "b", "content": "2"}]}]),
     OPENAI, {}, {"messages": [
         {"role": "user", "content": "go"},
         {"role": "assistant", "content": None, "tool_calls": [
             {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{}"}},
             {"id": "b", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "a", "content": "1"}, {"role": "tool", "tool_call_id": "b", "content": "2"},
         {"role": "system", "content": "reminder"}, {"role": "user", "content": "note"}]}),
]

# Fields that must never reach litellm, whatever the body says.
FORBIDDEN = ("api_base", "base_url", "api_key", "extra_headers", "headers", "mock_response", "callbacks", "metadata",
             "custom_llm_provider", "timeout", "num_retries")


@pytest.mark.parametrize("body, quirks, kwargs, expected", [c[1:] for c in REQUEST_CASES], ids=[c[0] for c in REQUEST_CASES])
def test_request_translation(body, quirks, kwargs, expected):
    params = cp.to_openai_request(body, "openai/gpt-4.1", quirks, **kwargs)
    assert params["model"] == "openai/gpt-4.1"
    for key, value in expected.items():
        assert params[key] == value, key


# (id, body, keys that must be absent)
ABSENT_CASES = [
    ("no reasoning support: thinking dropped", req([{"role": "user", "content": "hi"}], thinking={"type": "enabled", "budget_tokens": 5000}),
     OPENAI, ("reasoning_effort", "thinking")),
    ("disabled thinking", req([{"role": "user", "content": "hi"}], thinking={"type": "disabled"}), OPENAI, ("reasoning_effort",)),
    ("native thinking without room under max_tokens", req([{"role": "user", "content": "hi"}], max_tokens=1000,
                                                          thinking={"type": "enabled", "budget_tokens": 2048}), ANTHROPIC, ("thinking",)),
    ("user only where the provider takes it", req([{"role": "user", "content": "hi"}], metadata={"user_id": "u"}), GROQ, ("user",)),
    ("top_k only where the provider takes it", req([{"role": "user", "content": "hi"}], top_k=5), OPENAI, ("top_k",)),
    ("tool_choice without tools", req([{"role": "user", "content": "hi"}], tool_choice={"type": "any"}), OPENAI, ("tools", "tool_choice")),
    ("only server tools the provider cannot be offered", req([{"role": "user", "content": "hi"}], tools=[
        {"type": "web_fetch_20250910", "name": "web_fetch"}, {"type": "code_execution_20250825", "name": "code_execution"}]),
     OPENAI, ("tools", "tool_choice")),
    ("hostile fields", req([{"role": "user", "content": "hi"}], api_base="http://evil.example", base_url="http://evil.example",
                           api_key="stolen", extra_headers={"Authorization": "x"}, mock_response="fake", callbacks=["x"],
                           custom_llm_provider="openai", timeout=1, num_retries=9, container="c", service_tier="auto",
                           context_management={"edits": []}, mcp_servers=[]), OPENAI, FORBIDDEN),
]


@pytest.mark.parametrize("body, quirks, absent", [c[1:] for c in ABSENT_CASES], ids=[c[0] for c in ABSENT_CASES])
def test_request_translation_leaves_out(body, quirks, absent):
    reasoning = "thinking" in body and (quirks is ANTHROPIC or body["thinking"]["type"] == "disabled")
    params = cp.to_openai_request(body, "openai/gpt-4.1", quirks, reasoning=reasoning)
    assert not set(absent) & set(params)
    assert set(params) <= {"model", "messages", "max_tokens", "tools", "tool_choice", "parallel_tool_calls", "stop",
                           "temperature", "top_p", "top_k", "user", "reasoning_effort", "thinking"}


# Provider rules: what each provider refuses, translated away on both paths.
MOONSHOT_RULES, GROQ_RULES, DEEPSEEK_RULES = (cp.PROVIDERS[n] for n in ("moonshot", "groq", "deepseek"))
IMAGE_URL = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
MINE = cp.thinking_signature("moonshot/kimi-k2.6")  # the reasoning this proxy relayed from the same model
CALL_TURN = [{"role": "user", "content": "list"},
             {"role": "assistant", "content": [{"type": "thinking", "thinking": "I should run ls.", "signature": MINE},
                                               {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"c": "ls"}}]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.py"}]}]


def tool_call_turn(signature):
    return [dict(CALL_TURN[1], content=[dict(CALL_TURN[1]["content"][0], signature=signature), CALL_TURN[1]["content"][1]])]


# (case, body, quirks, model facts -> translation keywords, what the provider must receive)
RULE_CASES = [
    ("an image for a model without vision becomes a note, and the content a string (Groq: content must be a string)",
     req([{"role": "user", "content": [{"type": "text", "text": "what is it?"}, B64_IMAGE]}]), GROQ_RULES, {"vision": False},
     lambda p: p["messages"][-1]["content"] == "what is it?\n\n[image omitted: moonshot/kimi-k2.6 does not accept images]"),
    ("an image by URL for a provider that takes only inline images becomes a text naming it (Moonshot)",
     req([{"role": "user", "content": [IMAGE_URL]}]), MOONSHOT_RULES, {"reasoning": True},
     lambda p: p["messages"][-1]["content"] == "[image at https://example.com/a.png not sent: moonshot/kimi-k2.6 takes "
                                               "only inline images]"),
    ("an inline image still goes to a provider that takes only inline images",
     req([{"role": "user", "content": [B64_IMAGE]}]), MOONSHOT_RULES, {"reasoning": True},
     lambda p: p["messages"][-1]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")),
    ("a forced tool choice while a Kimi model thinks becomes auto (Moonshot: incompatible with thinking enabled)",
     req(CALL_TURN[:1], tools=[{"name": "Bash", "input_schema": {"type": "object"}}], tool_choice={"type": "any"}),
     MOONSHOT_RULES, {"reasoning": True}, lambda p: "tool_choice" not in p),
    ("a named tool choice too", req(CALL_TURN[:1], tools=[{"name": "Bash", "input_schema": {"type": "object"}}],
                                    tool_choice={"type": "tool", "name": "Bash"}), MOONSHOT_RULES, {"reasoning": True},
     lambda p: "tool_choice" not in p),
    ("a forced tool choice stays for a model that does not think", req(
        CALL_TURN[:1], tools=[{"name": "Bash", "input_schema": {"type": "object"}}], tool_choice={"type": "any"}),
     MOONSHOT_RULES, {}, lambda p: p["tool_choice"] == "required"),
    ("the model's own reasoning goes back as reasoning_content (DeepSeek: must be passed back in full)",
     req(CALL_TURN), MOONSHOT_RULES, {"reasoning": True},
     lambda p: p["messages"][1]["reasoning_content"] == "I should run ls." and p["messages"][2]["role"] == "tool"),
    ("another model's reasoning is never replayed: a placeholder where the field is required",
     req(CALL_TURN[:1] + tool_call_turn(cp.thinking_signature("openai/gpt-4.1")) + CALL_TURN[2:]), DEEPSEEK_RULES,
     {"reasoning": True}, lambda p: p["messages"][1]["reasoning_content"] == " "),
    ("no reasoning_content for a provider that does not take it", req(CALL_TURN), GROQ_RULES, {"reasoning": True},
     lambda p: "reasoning_content" not in p["messages"][1]),
    ("text after tool results goes into the last result where turns must alternate (Gemini)",
     req(CALL_TURN[:2] + [{"role": "user", "content": CALL_TURN[2]["content"] + [{"type": "text", "text": "<r>x</r>"}]}]),
     cp.PROVIDERS["gemini"], {}, lambda p: p["messages"][-1] == {"role": "tool", "tool_call_id": "toolu_1",
                                                                 "content": "a.py\n\n<r>x</r>"}),
    ("... and after them as a user message elsewhere",
     req(CALL_TURN[:2] + [{"role": "user", "content": CALL_TURN[2]["content"] + [{"type": "text", "text": "<r>x</r>"}]}]),
     GROQ_RULES, {}, lambda p: [m["role"] for m in p["messages"][-2:]] == ["tool", "user"]),
    ("a forced tool choice becomes auto for a model that takes none (OpenRouter: no endpoints found that support it)",
     req(CALL_TURN[:1], tools=[{"name": "Bash", "input_schema": {"type": "object"}}], tool_choice={"type": "any"}),
     cp.PROVIDERS["openrouter"], {"forced_tools": False}, lambda p: "tool_choice" not in p and p["tools"]),
]


@pytest.mark.parametrize("body, quirks, kwargs, check", [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_provider_rules_translated(body, quirks, kwargs, check):
    params = cp.to_openai_request(body, "moonshot/kimi-k2.6", quirks, **kwargs)
    assert check(params), params["messages"]


OPENAI_Q, MOONSHOT_Q, DEEPSEEK_Q, GROQ_Q = (cp.PROVIDERS[n] for n in ("openai", "moonshot", "deepseek", "groq"))
REASONS = {"supports_reasoning": True}
USER_HI = {"role": "user", "content": "Hi"}
DIRECT_CASES = [
    ("openrouter names the highest effort xhigh, as litellm sends it (openrouter.ai/docs/guides/best-practices/reasoning-tokens)",
     {"model": "openrouter/moonshotai/kimi-k3", "messages": [USER_HI], "reasoning_effort": "max"}, cp.PROVIDERS["openrouter"],
     REASONS, {"model": "moonshotai/kimi-k3", "messages": [USER_HI], "reasoning_effort": "xhigh", "usage": {"include": True}}),
    ("prefix off the model", {"model": "groq/llama-3.1-8b-instant", "messages": [USER_HI]}, GROQ_Q, {},
     {"model": "llama-3.1-8b-instant", "messages": [USER_HI]}),
    ("model names keep their inner slashes", {"model": "groq/moonshotai/kimi-k2-instruct", "messages": [USER_HI]}, GROQ_Q, {},
     {"model": "moonshotai/kimi-k2-instruct", "messages": [USER_HI]}),
    ("openai reasoning: max_completion_tokens, no sampling",
     {"model": "openai/o3", "messages": [USER_HI], "max_tokens": 64, "temperature": 0.5, "top_p": 0.9}, OPENAI_Q, REASONS,
     {"model": "o3", "messages": [USER_HI], "max_completion_tokens": 64}),
    ("openai reasoning keeps temperature 1", {"model": "openai/o3", "messages": [USER_HI], "temperature": 1}, OPENAI_Q, REASONS,
     {"model": "o3", "messages": [USER_HI], "temperature": 1}),
    ("openai chat model keeps everything", {"model": "openai/gpt-4.1", "messages": [USER_HI], "max_tokens": 64, "temperature": 0.5},
     OPENAI_Q, {}, {"model": "gpt-4.1", "messages": [USER_HI], "max_tokens": 64, "temperature": 0.5}),
    ("moonshot: text lists become strings, images stay lists",
     {"model": "moonshot/kimi", "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                                             {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
     MOONSHOT_Q, {}, {"model": "kimi", "messages": [{"role": "user", "content": "ab"},
                                                    {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}),
    ("moonshot reasoning: no temperature (top_p stays); reasoning_content is the translation's (both paths)",
     {"model": "moonshot/kimi-k2.5", "temperature": 1, "top_p": 0.9, "messages": [
         USER_HI, {"role": "assistant", "content": None, "tool_calls": [{"id": "c"}]}, {"role": "assistant", "content": "x"}]},
     MOONSHOT_Q, REASONS, {"model": "kimi-k2.5", "top_p": 0.9, "messages": [
         USER_HI, {"role": "assistant", "tool_calls": [{"id": "c"}]}, {"role": "assistant", "content": "x"}]}),
    ("deepseek: thinking switched on beside the effort",
     {"model": "deepseek/deepseek-reasoner", "messages": [USER_HI], "reasoning_effort": "high"}, DEEPSEEK_Q, REASONS,
     {"model": "deepseek-reasoner", "messages": [USER_HI], "reasoning_effort": "high", "thinking": {"type": "enabled"}}),
    ("deepseek: effort none switches thinking off",
     {"model": "deepseek/deepseek-reasoner", "messages": [USER_HI], "reasoning_effort": "none"}, DEEPSEEK_Q, REASONS,
     {"model": "deepseek-reasoner", "messages": [USER_HI], "thinking": {"type": "disabled"}}),
]


@pytest.mark.parametrize("params, quirks, facts, expected", [c[1:] for c in DIRECT_CASES], ids=[c[0] for c in DIRECT_CASES])
def test_to_direct_request(params, quirks, facts, expected):
    before = json.dumps(params)
    assert cp.to_direct_request(params, quirks, facts) == expected
    assert json.dumps(params) == before  # pure: the translated request is left as it was


PNG_A = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoA"}}
PNG_B = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "iVBORw0KGgoA"}}  # same data, other type
KEY_A, KEY_B = cp.image_key(PNG_A), cp.image_key(PNG_B)
IMAGE_TURNS = [{"role": "user", "content": [{"type": "text", "text": "see"}, PNG_A]},
               {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
                   {"type": "text", "text": "two images"}, PNG_B, PNG_A, IMAGE_URL]}]}]
DESCRIBE_CASES = [
    ("no descriptions: the body itself", {}, None),
    ("one described, in a turn and in a tool result", {KEY_A: "[image A]"},
     [[{"type": "text", "text": "see"}, {"type": "text", "text": "[image A]"}], None,
      [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
          {"type": "text", "text": "two images"}, PNG_B, {"type": "text", "text": "[image A]"}, IMAGE_URL]}]]),
    ("both", {KEY_A: "[A]", KEY_B: "[B]"},
     [[{"type": "text", "text": "see"}, {"type": "text", "text": "[A]"}], None,
      [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [
          {"type": "text", "text": "two images"}, {"type": "text", "text": "[B]"}, {"type": "text", "text": "[A]"}, IMAGE_URL]}]]),
]


def test_inline_images_are_keyed_by_type_and_data_once_each_and_never_by_url():
    assert KEY_A != KEY_B and len(KEY_A) == 64 and cp.image_key(IMAGE_URL) is None and cp.image_key({"type": "text"}) is None
    assert cp.inline_images(req(IMAGE_TURNS)) == {KEY_A: PNG_A, KEY_B: PNG_B}
    assert cp.inline_images(req([{"role": "assistant", "content": [PNG_A]}])) == {}  # only user turns carry images


@pytest.mark.parametrize("case, descriptions, contents", DESCRIBE_CASES, ids=[c[0] for c in DESCRIBE_CASES])
def test_with_descriptions(case, descriptions, contents):
    body = req(IMAGE_TURNS)
    before = json.dumps(body)
    out = cp.with_descriptions(body, descriptions)
    assert json.dumps(body) == before  # the body given is unchanged
    if contents is None:
        assert out is body
        return
    for message, expected in zip(out["messages"], contents):
        assert message["content"] == (expected if expected is not None else message["content"])
    assert out["messages"][1] == IMAGE_TURNS[1]


def test_a_description_replaces_the_image_for_a_model_without_vision():
    """Translated for a text-only model, a described image is its description, the others the note."""
    text = cp.description_text("  A terminal: error: x  ", "openai/gpt-4o")
    assert text == "[image, as openai/gpt-4o describes it: A terminal: error: x]"
    params = cp.to_openai_request(cp.with_descriptions(req(IMAGE_TURNS), {KEY_A: text}), "groq/llama-3.3-70b-versatile",
                                  cp.PROVIDERS["groq"], vision=False)
    sent = json.dumps(params["messages"])
    assert sent.count("A terminal: error: x") == 2 and sent.count("[image omitted") == 2 and "image_url" not in sent
    ask = cp.description_request(PNG_A, "openai/gpt-4o")
    cp.validate_request(ask, need_max_tokens=True)
    assert ask["messages"][0]["content"] == [PNG_A, {"type": "text", "text": cp.DESCRIBE_PROMPT}]


def test_descriptions_keep_the_newest():
    cache = cp.Descriptions(2)
    cache.put("a", "A")
    cache.put("b", "B")
    assert cache.known(["a", "x"]) == {"a": "A"}  # a is now the newest
    cache.put("c", "C")
    assert cache.known(["a", "b", "c"]) == {"a": "A", "c": "C"}


@pytest.mark.parametrize("text, low, high", [
    ("The quick brown fox jumps over the lazy dog. " * 100, 850, 1300),  # 1000 tokens in cl100k
    ("这是一个测试句子。" * 100, 800, 1100),  # about 1000
    ("", 1, 20),
])
def test_estimate_tokens(text, low, high):
    assert low <= cp.estimate_tokens({"messages": [{"role": "user", "content": text}]}) <= high


@pytest.mark.parametrize("numbers, expected", [
    ((150000, 32000, 128000), "prompt is too long: 150000 tokens > 128000 maximum"),
    ((100000, 32000, 128000), "input length and `max_tokens` exceed context limit: 100000 + 32000 > 128000"),
    ((1000, 32000, 128000), None),
    ((10 ** 9, 1, None), None),
])
def test_context_overflow_messages(numbers, expected):
    assert cp.context_overflow(*numbers) == expected


# Gemini's generateContent body from the translated request: (name, Anthropic body, target, what the body must hold).
SIGNED_ID = cp.client_tool_id("call_1" + cp.THOUGHT_MARK + "c2ln+/8=")
GEMINI_TOOL_TURNS = [{"role": "user", "content": "ls"},
                     {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "claude_proxy:gemini/x"},
                                                       {"type": "text", "text": "Looking."},
                                                       {"type": "tool_use", "id": SIGNED_ID, "name": "Bash", "input": {"command": "ls"}},
                                                       {"type": "tool_use", "id": "toolu_other", "name": "Read", "input": {"path": "a"}}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": SIGNED_ID, "content": "a.txt"},
                                                  {"type": "tool_result", "tool_use_id": "toolu_other", "content": "x",
                                                   "is_error": True},
                                                  {"type": "text", "text": "<system-reminder>r</system-reminder>"}]}]
GEMINI_REQUEST_CASES = [
    ("system prompt, text, sampling and limits", req([{"role": "user", "content": "Hi"}], system="Be brief.", temperature=0.5,
                                                     top_p=0.9, top_k=40, stop_sequences=["END"], max_tokens=100000),
     "gemini/gemini-2.5-flash",
     {"systemInstruction": {"parts": [{"text": "Be brief."}]}, "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
      "generationConfig": {"maxOutputTokens": 65536, "temperature": 0.5, "topP": 0.9, "topK": 40, "stopSequences": ["END"]}}),
    ("tool turns: signature back on the first call, results named, trailing text inside the last result, turns alternate",
     req(GEMINI_TOOL_TURNS, tools=TOOLS), "gemini/gemini-2.5-flash",
     {"contents": [{"role": "user", "parts": [{"text": "ls"}]},
                   {"role": "model", "parts": [{"text": "Looking."},
                                               {"functionCall": {"name": "Bash", "args": {"command": "ls"}}, "thoughtSignature": "c2ln+/8="},
                                               {"functionCall": {"name": "Read", "args": {"path": "a"}}}]},
                   {"role": "user", "parts": [{"functionResponse": {"name": "Bash", "response": {"content": "a.txt"}}},
                                              {"functionResponse": {"name": "Read", "response": {
                                                  "content": "[tool error] x\n\n<system-reminder>r</system-reminder>"}}}]}]}),
    ("Gemini 3: a call of another model's history gets the documented skip signature",
     req([{"role": "user", "content": "ls"}, {"role": "assistant", "content": [
         {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {}}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "ok"}]}], tools=TOOLS),
     "gemini/gemini-3-flash-preview",
     {"contents": [{"role": "user", "parts": [{"text": "ls"}]},
                   {"role": "model", "parts": [{"functionCall": {"name": "Bash", "args": {}},
                                                "thoughtSignature": "skip_thought_signature_validator"}]},
                   {"role": "user", "parts": [{"functionResponse": {"name": "Bash", "response": {"content": "ok"}}}]}]}),
    ("an image inline, one by URL named, a PDF inline",
     req([{"role": "user", "content": [B64_IMAGE, {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                                       {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                                                       "data": "JVBERi0="}}, {"type": "text", "text": "What?"}]}]),
     "gemini/gemini-2.5-flash",
     {"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
                                              {"text": "[image at https://x/y.png not sent: Gemini takes only inline images]"},
                                              {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
                                              {"text": "What?"}]}]}),
    ("an image in a tool result: a placeholder model turn keeps the turns alternating",
     req([{"role": "user", "content": "look"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read",
                                                                                  "input": {"path": "p.png"}}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [
              {"type": "text", "text": "an image"}, B64_IMAGE]}]}], tools=TOOLS), "gemini/gemini-2.5-flash",
     {"contents": [{"role": "user", "parts": [{"text": "look"}]},
                   {"role": "model", "parts": [{"functionCall": {"name": "Read", "args": {"path": "p.png"}}}]},
                   {"role": "user", "parts": [{"functionResponse": {"name": "Read", "response": {"content": "an image"}}}]},
                   {"role": "model", "parts": [{"text": cp.RESULTS_PLACEHOLDER}]},
                   {"role": "user", "parts": [{"text": "(image output of tool call t1)"},
                                              {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}]}]}),
    ("tools and a forced tool", req([{"role": "user", "content": "hi"}], tools=TOOLS, tool_choice={"type": "tool", "name": "Bash"}),
     "gemini/gemini-2.5-flash",
     {"tools": [{"functionDeclarations": [
         {"name": "Bash", "description": "Run a command", "parameters": {
             "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
         {"name": "Read", "description": "Read a file", "parameters": {
             "type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}]}],
      "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Bash"]}}}),
    ("tool_choice any and none", req([{"role": "user", "content": "hi"}], tools=TOOLS, tool_choice={"type": "any"}),
     "gemini/gemini-2.5-flash", {"toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}),
    ("a tool without parameters is declared without them",
     req([{"role": "user", "content": "hi"}], tools=[{"name": "Now", "description": "d", "input_schema": {"type": "object"}}]),
     "gemini/gemini-2.5-flash", {"tools": [{"functionDeclarations": [{"name": "Now", "description": "d"}]}]}),
    ("thinking on 2.5: a budget for the effort, thoughts included",
     req([{"role": "user", "content": "hi"}], thinking={"type": "enabled", "budget_tokens": 31999}), "gemini/gemini-2.5-pro",
     {"generationConfig": {"maxOutputTokens": 1000, "thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": True}}}),
    ("thinking on 3: a level", req([{"role": "user", "content": "hi"}], thinking={"type": "adaptive"},
                                   output_config={"effort": "low"}), "gemini/gemini-3-flash-preview",
     {"generationConfig": {"maxOutputTokens": 1000, "thinkingConfig": {"thinkingLevel": "low", "includeThoughts": True}}}),
    ("a later system entry goes into its user turn, the system prompt as it was",
     req([{"role": "user", "content": "hi"}, {"role": "system", "content": "note"}, {"role": "assistant", "content": "yo"},
          {"role": "user", "content": "and?"}], system="S"), "gemini/gemini-2.5-flash",
     {"systemInstruction": {"parts": [{"text": "S"}]},
      "contents": [{"role": "user", "parts": [{"text": "hi\n\n<system-reminder>\nnote\n</system-reminder>"}]},
                   {"role": "model", "parts": [{"text": "yo"}]},
                   {"role": "user", "parts": [{"text": "and?"}]}]}),
]


def gemini_body(body: dict, target: str) -> dict:
    """The body GeminiPath posts for an Anthropic request to `target`, as prepare_attempt builds it."""
    config = cp.Config.from_env({"GEMINI_API_KEY": "k"})
    return cp.to_gemini_request(cp.prepare_attempt(body, target, config).params, cp.model_facts(target))


@pytest.mark.parametrize("body, target, expected", [c[1:] for c in GEMINI_REQUEST_CASES], ids=[c[0] for c in GEMINI_REQUEST_CASES])
def test_gemini_request(body, target, expected):
    sent = gemini_body(body, target)
    for key, value in expected.items():
        assert sent[key] == value, key
    assert gemini_refusal(sent, target.partition("/")[2]) is None  # and the strict fake takes it


GEMINI_SCHEMA_CASES = [
    ("keywords outside the subset dropped", {"$schema": "x", "type": "object", "additionalProperties": False,
                                             "properties": {"a": {"type": "string", "propertyNames": {}, "examples": ["q"]}}},
     {"type": "object", "properties": {"a": {"type": "string"}}}),
    ("a type list: its first type, nullable", {"type": ["string", "null"]}, {"type": "string", "nullable": True}),
    ("anyOf with null: the other one, nullable", {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "n"},
     {"type": "integer", "nullable": True, "description": "n"}),
    ("oneOf becomes anyOf", {"oneOf": [{"type": "integer"}, {"type": "string"}]},
     {"anyOf": [{"type": "integer"}, {"type": "string"}]}),
    ("exclusive bounds become inclusive", {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 9},
     {"type": "number", "minimum": 0, "maximum": 9}),
    ("format kept only where the type has it", {"type": "object", "properties": {
        "u": {"type": "string", "format": "uri"}, "t": {"type": "string", "format": "date-time"},
        "i": {"type": "integer", "format": "int64"}}},
     {"type": "object", "properties": {"u": {"type": "string"}, "t": {"type": "string", "format": "date-time"},
                                       "i": {"type": "integer", "format": "int64"}}}),
    ("enum of strings only, never empty strings", {"type": "object", "properties": {
        "a": {"type": "string", "enum": ["x", "y"]}, "b": {"type": "integer", "enum": [1, 2]}, "c": {"type": "string", "enum": ["", "z"]}}},
     {"type": "object", "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "b": {"type": "integer"},
                                       "c": {"type": "string"}}}),
    ("$ref from $defs, a recursive one ends", {"type": "object", "$defs": {"node": {"type": "object", "properties": {
        "next": {"$ref": "#/$defs/node"}, "v": {"type": "string"}}}}, "properties": {"root": {"$ref": "#/$defs/node"}}},
     {"type": "object", "properties": {"root": {"type": "object", "properties": {"next": {}, "v": {"type": "string"}}}}}),
    ("required only of listed properties; an array gets items",
     {"type": "object", "properties": {"a": {"type": "array"}}, "required": ["a", "gone"]},
     {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}, "required": ["a"]}),
    ("empty properties left out", {"type": "object", "properties": {"o": {"type": "object", "properties": {}}}},
     {"type": "object", "properties": {"o": {"type": "object"}}}),
]


@pytest.mark.parametrize("schema, expected", [c[1:] for c in GEMINI_SCHEMA_CASES], ids=[c[0] for c in GEMINI_SCHEMA_CASES])
def test_gemini_schema(schema, expected):
    assert cp.gemini_schema(schema) == expected
    assert schema_refusal(cp.gemini_schema(schema), "parameters") is None


def test_gemini_schema_is_cut_at_its_depth_limit():
    schema = {"type": "string"}
    for _ in range(30):
        schema = {"type": "object", "properties": {"x": schema}}
    depth, node = 0, cp.gemini_schema(schema)
    while "properties" in node:
        depth, node = depth + 1, node["properties"]["x"]
    assert depth == cp.GEMINI_SCHEMA_DEPTH


def test_the_recorded_claude_code_tools_pass_geminis_schema_rules():
    sent = gemini_body(PROTOCOL_BODY, "gemini/gemini-2.5-pro")
    assert gemini_refusal(sent, "gemini-2.5-pro") is None and sent["tools"][0]["functionDeclarations"]


# ----------------------------------------------------------------------------------------
# response and stream translation: chunks in, a strictly valid event sequence out; whole answers, ids (pure)
# ----------------------------------------------------------------------------------------


def chunks_of(deltas, finish="stop", usage=(10, 3), usage_after_finish=True):
    chunks = [{"choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    if finish:
        chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if usage:
        if usage_after_finish:
            chunks.append({"choices": [], "usage": usage_dict(usage)})
        else:
            chunks[-1]["usage"] = usage_dict(usage)
    return chunks


def fragments(text, sizes=(1, 2, 3)):
    out, i, n = [], 0, 0
    while i < len(text):
        size = sizes[n % len(sizes)]
        out.append(text[i:i + size])
        i, n = i + size, n + 1
    return out


BIG_ARGS = json.dumps({"file_path": "/tmp/x.py", "content": "print('héllo')\n" * 1400})
assert len(BIG_ARGS) > 20000

# (id, deltas, finish, expected folded content, expected stop_reason)
STREAM_CASES = [
    ("text only", [{"role": "assistant", "content": ""}, {"content": "Hel"}, {"content": "lo"}], "stop",
     [{"type": "text", "text": "Hello"}], "end_turn"),
    ("tool only", [tool_delta(0, "", "call_1", "Bash"), tool_delta(0, '{"comm'), tool_delta(0, 'and": "ls"}')], "tool_calls",
     [{"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}}], "tool_use"),
    ("text then two tools",
     [{"content": "Let me look."}, tool_delta(0, '{"path": "a"}', "call_1", "Read"), tool_delta(1, "", "call_2", "Read"),
      tool_delta(1, '{"path": "b"}')], "tool_calls",
     [{"type": "text", "text": "Let me look."}, {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"path": "a"}},
      {"type": "tool_use", "id": "call_2", "name": "Read", "input": {"path": "b"}}], "tool_use"),
    ("interleaved parallel fragments",
     [tool_delta(0, "", "call_a", "Bash"), tool_delta(1, "", "call_b", "Grep"), tool_delta(0, '{"command"'),
      tool_delta(1, '{"pattern"'), tool_delta(0, ': "ls"}'), tool_delta(1, ': "x"}'), tool_delta(2, '{"q": 1}', "call_c", "Glob")],
     "tool_calls",
     [{"type": "tool_use", "id": "call_a", "name": "Bash", "input": {"command": "ls"}},
      {"type": "tool_use", "id": "call_b", "name": "Grep", "input": {"pattern": "x"}},
      {"type": "tool_use", "id": "call_c", "name": "Glob", "input": {"q": 1}}], "tool_use"),
    ("20 KB arguments in 1-3 character fragments",
     [tool_delta(0, "", "call_w", "Write")] + [tool_delta(0, f) for f in fragments(BIG_ARGS)], "tool_calls",
     [{"type": "tool_use", "id": "call_w", "name": "Write", "input": json.loads(BIG_ARGS)}], "tool_use"),
    ("reasoning then text", [{"reasoning_content": "Think"}, {"reasoning_content": "ing."}, {"content": "Answer"}], "stop",
     [{"type": "thinking", "thinking": "Thinking.", "signature": "sig-x"}, {"type": "text", "text": "Answer"}], "end_turn"),
    ("first tool delta without an id, empty arguments",
     [tool_delta(0, "", None, "Now"), tool_delta(0, "")], "tool_calls",
     [{"type": "tool_use", "id": "*", "name": "Now", "input": {}}], "tool_use"),
    ("empty deltas open no block", [{"content": ""}, {"reasoning_content": ""}, {"content": None}], "stop", [], "end_turn"),
    ("length limit", [{"content": "cut"}], "length", [{"type": "text", "text": "cut"}], "max_tokens"),
    ("content filter", [{"content": "no"}], "content_filter", [{"type": "text", "text": "no"}], "refusal"),
    ("no finish chunk", [{"content": "partial"}], None, [{"type": "text", "text": "partial"}], "end_turn"),
    ("text after a tool", [tool_delta(0, '{"a": 1}', "call_1", "f"), {"content": "done"}], "tool_calls",
     [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}, {"type": "text", "text": "done"}], "tool_use"),
    ("a provider that reuses index 0 for every call",
     [tool_delta(0, '{"a": 1}', "call_1", "f"), tool_delta(0, '{"b": 2}', "call_2", "g")], "tool_calls",
     [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
      {"type": "tool_use", "id": "call_2", "name": "g", "input": {"b": 2}}], "tool_use"),
    ("arguments that are not JSON are repaired, not streamed raw",
     [tool_delta(0, "", "call_1", "f"), tool_delta(0, "non"), tool_delta(0, "sense")], "tool_calls",
     [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"_invalid_arguments": "nonsense"}}], "tool_use"),
    ("leading whitespace before the arguments",
     [tool_delta(0, " ", "call_1", "f"), tool_delta(0, ' {"x"'), tool_delta(0, ": 2}")], "tool_calls",
     [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"x": 2}}], "tool_use"),
    ("<think> tags inline, split across chunks",
     [{"content": "<thi"}, {"content": "nk>Let me "}, {"content": "see.</th"}, {"content": "ink>\n\nThe answer"}, {"content": " is 4."}],
     "stop", [{"type": "thinking", "thinking": "Let me see.", "signature": "sig-x"}, {"type": "text", "text": "The answer is 4."}],
     "end_turn"),
    ("a reply that only looks like a tag at first", [{"content": "<"}, {"content": "b>bold</b>"}], "stop",
     [{"type": "text", "text": "<b>bold</b>"}], "end_turn"),
    ("reply cut inside <think>", [{"content": "<think>hmm"}], "length",
     [{"type": "thinking", "thinking": "hmm", "signature": "sig-x"}], "max_tokens"),
    ("Groq's reasoning field", [{"reasoning": "Because."}, {"content": "Yes."}], "stop",
     [{"type": "thinking", "thinking": "Because.", "signature": "sig-x"}, {"type": "text", "text": "Yes."}], "end_turn"),
    ("text while a tool is incomplete waits",
     [tool_delta(0, '{"a": ', "call_1", "f"), {"content": "hm"}, tool_delta(0, "1}")], "tool_calls",
     [{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}, {"type": "text", "text": "hm"}], "tool_use"),
]


def same_content(actual, expected):
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        if want.get("id") == "*":
            assert got["id"].startswith("toolu_")
            want = dict(want, id=got["id"])
        elif got.get("type") == "tool_use":  # the client's id carries the provider's (client_tool_id)
            assert got["id"].startswith("toolu_")
            got = dict(got, id=cp.provider_tool_id(got["id"]))
        assert got == want


@pytest.mark.parametrize("deltas, finish, content, stop_reason", [c[1:] for c in STREAM_CASES], ids=[c[0] for c in STREAM_CASES])
def test_stream_translator(deltas, finish, content, stop_reason):
    translator = cp.StreamTranslator("msg_1", "claude-sonnet-4-6", input_tokens=42, signature="sig-x")
    events = []
    for chunk in chunks_of(deltas, finish):
        events += translator.feed(chunk)
    events += translator.finish()
    check_protocol(events)
    message = cp.fold_events(events)
    same_content(message["content"], content)
    assert message["stop_reason"] == stop_reason
    assert message["usage"]["input_tokens"] == 10 and message["usage"]["output_tokens"] == 3
    assert events[0][1]["message"]["usage"]["input_tokens"] == 42


def test_stream_translator_streams_arguments_as_they_arrive():
    translator = cp.StreamTranslator("msg_1", "m")
    translator.feed({"choices": [{"index": 0, "delta": tool_delta(0, "", "call_1", "Bash")}]})
    events = translator.feed({"choices": [{"index": 0, "delta": tool_delta(0, '{"comm')}]})
    assert events == [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "input_json_delta", "partial_json": '{"comm'}})]


def test_stream_translator_usage_in_finish_chunk_and_stop_sequence():
    translator = cp.StreamTranslator("msg_1", "m", stop_sequences=["END"])
    events = []
    for chunk in chunks_of([{"content": "a"}], None, usage=None):
        events += translator.feed(chunk)
    events += translator.feed({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "stop_reason": "END"}],
                               "usage": {"prompt_tokens": 9, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 4}}})
    events += translator.finish()
    message = cp.fold_events(events)
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "END")
    assert message["usage"] == {"input_tokens": 5, "output_tokens": 2, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4}


def test_keepalive_events():
    translator = cp.StreamTranslator("msg_1", "m", signature="sig")
    first = translator.keepalive()
    assert [name for name, _ in first] == ["message_start", "ping", "ping", "content_block_start", "content_block_delta"]
    assert first[3][1]["content_block"]["type"] == "thinking" and first[4][1]["delta"] == {"type": "thinking_delta", "thinking": ""}
    events = first + translator.feed({"choices": [{"index": 0, "delta": {"content": "Hi"}}]})
    assert translator.keepalive()[-1][1]["delta"] == {"type": "text_delta", "text": ""}
    message = cp.fold_events(events + translator.finish())
    assert message["content"] == [{"type": "thinking", "thinking": "", "signature": "sig"}, {"type": "text", "text": "Hi"}]
    assert translator.keepalive() == []  # nothing after message_stop


# Orders a whole OpenAI message cannot express (text after tools; one index reused by two calls).
NOT_EXPRESSIBLE_WHOLE = {"text after a tool", "text while a tool is incomplete waits", "a provider that reuses index 0 for every call",
                         "Groq's reasoning field"}
FOLD_CASES = [c for c in STREAM_CASES if c[0] not in NOT_EXPRESSIBLE_WHOLE]


@pytest.mark.parametrize("deltas, finish, content, stop_reason", [c[1:] for c in FOLD_CASES], ids=[c[0] for c in FOLD_CASES])
def test_folded_stream_equals_non_streamed(deltas, finish, content, stop_reason):
    """The same scripted reply, streamed and folded or answered whole, gives one message."""
    translator = cp.StreamTranslator("msg_1", "m", signature="sig")
    events = []
    for chunk in chunks_of(deltas, finish):
        events += translator.feed(chunk)
    streamed = cp.fold_events(events + translator.finish())
    response = {"choices": [{"index": 0, "message": merge_deltas(deltas), "finish_reason": finish}], "usage": usage_dict((10, 3))}
    whole = from_openai_response(response, "msg_1", "m", signature="sig")
    for message in (streamed, whole):
        for block in message["content"]:
            if block["type"] == "tool_use" and block["id"].startswith("toolu_"):
                block["id"] = "toolu_generated"
    assert streamed == whole


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_non_streamed_reasoning_becomes_thinking_from_either_field(field):
    """Groq and OpenRouter name it reasoning, DeepSeek and Moonshot reasoning_content; the
    stream took both and the non-streamed answer only the second."""
    response = {"choices": [{"message": {field: "Let me see.", "content": "4"}, "finish_reason": "stop"}]}
    message = from_openai_response(response, "msg_1", "claude-x", signature="sig")
    assert [(b["type"], b.get("thinking", b.get("text"))) for b in message["content"]] == [("thinking", "Let me see."),
                                                                                          ("text", "4")]


@pytest.mark.parametrize("arguments, expected", [
    ("", {}), ("  ", {}), ('{"a": 1}', {"a": 1}), ('{"a": "x\ny"}', {"a": "x\ny"}), ('{"a": 1} trailing', {"a": 1}),
    ("nonsense", {"_invalid_arguments": "nonsense"}), ("[1, 2]", {"_invalid_arguments": "[1, 2]"}),
])
def test_parse_tool_input(arguments, expected):
    assert cp.parse_tool_input(arguments) == expected


@pytest.mark.parametrize("tool_id", ["call_1", "call_1__thought__+/9mYWtlLXQ=", "call_2__thought__ab+d/e==", "call_3__thought__abcd", "toolu_01ABC"])
def test_tool_ids_round_trip(tool_id):
    client_id = cp.client_tool_id(tool_id)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", client_id) and cp.provider_tool_id(client_id) == tool_id


def test_ids_are_unique_and_shaped_as_anthropic_shapes_them():
    for make, prefix in ((cp.new_message_id, "msg_"), (cp.new_tool_id, "toolu_")):
        ids = {make() for _ in range(2000)}
        assert len(ids) == 2000 and all(re.fullmatch(prefix + "[0-9a-f]{24}", i) for i in ids)


def gemini_events(responses, message_id="msg_1", model="m"):
    """Gemini responses (stream chunks, or one whole answer) through GeminiChunks and one translator."""
    chunks, translator = cp.GeminiChunks(), cp.StreamTranslator(message_id, model, signature="claude_proxy:gemini/m")
    events = []
    for response in responses:
        events += translator.feed(chunks.convert(response))
    return events + translator.finish()


def candidate(*parts, finish=None, **usage):
    response = {"candidates": [{"content": {"role": "model", "parts": list(parts)}, "index": 0}]}
    if finish:
        response["candidates"][0]["finishReason"] = finish
    if usage:
        response["usageMetadata"] = usage
    return response


SIG = "AbC+/w=="
GEMINI_RESPONSE_CASES = [
    ("text", [candidate({"text": "Hel"}), candidate({"text": "lo"}, finish="STOP", promptTokenCount=9, candidatesTokenCount=2)],
     [("text", "Hello")], "end_turn", {"input_tokens": 9, "output_tokens": 2}),
    ("thoughts, then text", [candidate({"text": "Let me", "thought": True}), candidate({"text": " see.", "thought": True}),
                             candidate({"text": "4"}, finish="STOP", promptTokenCount=5, candidatesTokenCount=1,
                                       thoughtsTokenCount=6, totalTokenCount=12)],
     [("thinking", "Let me see."), ("text", "4")], "end_turn", {"input_tokens": 5, "output_tokens": 7}),
    ("parallel calls, whole, the first signed", [candidate({"text": "On it."}),
                                                candidate({"functionCall": {"name": "Bash", "args": {"command": "ls"}},
                                                           "thoughtSignature": SIG},
                                                          {"functionCall": {"name": "Read", "args": {"path": "a"}}}, finish="STOP")],
     [("text", "On it."), ("tool_use", ("Bash", {"command": "ls"})), ("tool_use", ("Read", {"path": "a"}))], "tool_use", {}),
    ("cut by the length limit", [candidate({"text": "Lo"}, finish="MAX_TOKENS")], [("text", "Lo")], "max_tokens", {}),
    ("safety stop", [candidate({"text": "I"}), candidate(finish="SAFETY")], [("text", "I")], "refusal", {}),
    ("a blocked prompt: no candidates", [{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                                          "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}}],
     [], "refusal", {"input_tokens": 7, "output_tokens": 0}),
    ("cached prompt tokens", [candidate({"text": "ok"}, finish="STOP", promptTokenCount=100, candidatesTokenCount=1,
                                        cachedContentTokenCount=60)],
     [("text", "ok")], "end_turn", {"input_tokens": 40, "cache_read_input_tokens": 60}),
]


@pytest.mark.parametrize("responses, blocks, stop_reason, usage", [c[1:] for c in GEMINI_RESPONSE_CASES],
                         ids=[c[0] for c in GEMINI_RESPONSE_CASES])
def test_gemini_responses(responses, blocks, stop_reason, usage):
    events = gemini_events(responses)
    check_protocol(events)
    message = cp.fold_events(events)
    got = [(b["type"], b.get("text", b.get("thinking")) if b["type"] != "tool_use" else (b["name"], b["input"]))
           for b in message["content"]]
    assert got == blocks and message["stop_reason"] == stop_reason
    assert usage.items() <= message["usage"].items()
    calls = [b for b in message["content"] if b["type"] == "tool_use"]
    if calls:  # the signature rides in the first call's id, back intact; ids unique, Anthropic-shaped
        assert cp.provider_tool_id(calls[0]["id"]).endswith(cp.THOUGHT_MARK + SIG)
        assert cp.THOUGHT_MARK not in cp.provider_tool_id(calls[1]["id"]) and len({c["id"] for c in calls}) == 2
    # the whole answer (Gemini's generateContent: the same shape, all parts in one) folds to the same message
    whole = {"candidates": [{"content": {"parts": [p for r in responses for p in (r.get("candidates") or [{}])[0].get(
        "content", {}).get("parts", [])]}, "finishReason": next((r["candidates"][0].get("finishReason") for r in responses
                                                                if r.get("candidates") and r["candidates"][0].get("finishReason")), None)}]}
    if not any(r.get("candidates") for r in responses):
        whole = responses[-1]
    whole["usageMetadata"] = responses[-1].get("usageMetadata", {})
    translator = cp.StreamTranslator("msg_1", "m", signature="claude_proxy:gemini/m")
    answer = cp.fold_events(translator.feed(cp.response_as_chunk(cp.gemini_answer(whole))) + translator.finish())
    strip = lambda m: [dict(b, id="") if b["type"] == "tool_use" else b for b in m["content"]]  # noqa: E731
    assert strip(answer) == strip(message) and answer["stop_reason"] == message["stop_reason"]


@pytest.mark.parametrize("reason", ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"])
def test_a_gemini_finish_that_is_an_error_raises_with_what_came_before(reason):
    decoder = cp.GeminiDecoder()
    items = decoder.feed(b'data: {"candidates": [{"content": {"parts": [{"text": "a"}]}}]}\r\n\r\n'
                         b'data: {"candidates": [{"finishReason": "%s"}]}\r\n\r\n' % reason.encode())
    assert items[0]["choices"][0]["delta"] == {"content": "a"}
    assert isinstance(decoder.failure, cp.ProviderHTTPError) and reason in str(decoder.failure)
    error = cp.map_provider_error(decoder.failure)
    assert (error.status, error.error_type) == (500, "api_error")  # Claude Code tries again by itself
    with pytest.raises(cp.ProviderHTTPError, match=reason):
        cp.DirectCall._answer(gemini_json_reader(), json.dumps({"candidates": [{"finishReason": reason}]}).encode())


def gemini_json_reader():
    """A DirectCall's JSON reader in Gemini's dialect, without a call."""
    call = cp.DirectCall.__new__(cp.DirectCall)
    call.dialect = cp.GEMINI_DIALECT
    return call


GEMINI_STREAM = b"".join(b"data: " + json.dumps(r).encode() + b"\r\n\r\n" for r in GEMINI_RESPONSE_CASES[2][1]
                         + [candidate({"text": "caf\u00e9 \U0001f600"}, finish="STOP", promptTokenCount=3)])


def gemini_stream(texts, usage=True, spaced=False):
    """A Gemini stream's body: a response per text (usageMetadata growing, as Gemini sends it), then a finish."""
    separators = (", ", ": ") if spaced else (",", ":")

    def frame(response):
        return b"data: " + json.dumps(response, separators=separators, ensure_ascii=False).encode() + b"\r\n\r\n"

    meta = lambda n: {"promptTokenCount": 9, "candidatesTokenCount": n, "totalTokenCount": 9 + n,  # noqa: E731
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}]} if usage else {}
    body = b"".join(frame(dict(candidate({"text": t}), modelVersion="gemini-2.5-flash", responseId="r-1",
                               **({"usageMetadata": meta(n)} if usage else {}))) for n, t in enumerate(texts))
    return body + frame(candidate({"text": "."}, finish="STOP", promptTokenCount=9, candidatesTokenCount=len(texts)))


GEMINI_TEXTS = ["Hel", "lo \"you\"", "caf\u00e9 \U0001f600", "tab\tnew\nline", "</script> & <b>", "\\back", "\u0001"] * 3


@pytest.mark.parametrize("body", [gemini_stream(GEMINI_TEXTS), gemini_stream(GEMINI_TEXTS, spaced=True),
                                  gemini_stream(GEMINI_TEXTS, usage=False)], ids=["compact", "spaced", "no usage"])
def test_gemini_text_runs_give_the_events_of_the_plain_reading(body):
    """The fast path (text-only responses read as runs of escaped text, not parsed) and the plain
    reference (each response parsed, converted, translated) give the client the same bytes."""
    decoder = cp.GeminiDecoder()
    items = [item for piece in split_every(body, 37) for item in decoder.feed(piece)]
    assert any(type(item) is cp.TextRun for item in items)  # the fast path was taken
    fast = cp.StreamTranslator("msg_1", "m")
    plain = cp.StreamTranslator("msg_1", "m")
    chunks = cp.GeminiChunks()
    responses = [json.loads(line[6:]) for line in body.split(b"\r\n\r\n") if line]
    reference = plain.feed_many([chunks.convert(r) for r in responses]) + plain.finish()
    assert cp.sse_frames(cp.translate(fast, items) + fast.finish()) == cp.sse_frames(reference)


@pytest.mark.parametrize("cut", [1, 2, 7, 64, len(GEMINI_STREAM)])
def test_gemini_decoder_gives_the_same_chunks_however_the_body_is_cut(cut):
    def chunks_of(decoder, pieces):
        out = [c for piece in pieces for item in decoder.feed(piece) for c in as_chunks(item)]
        return [dict(c, choices=[dict(c["choices"][0], delta={k: v for k, v in c["choices"][0]["delta"].items()
                                                                if k != "tool_calls"})]) for c in out]

    whole, decoder = cp.GeminiDecoder(), cp.GeminiDecoder()
    assert chunks_of(decoder, split_every(GEMINI_STREAM, cut)) == chunks_of(whole, [GEMINI_STREAM])
    assert decoder.saw_finish and decoder.failure is None
    decoder.finish()
    cut_short = cp.GeminiDecoder()
    cut_short.feed(GEMINI_STREAM[:GEMINI_STREAM.index(b"\r\n\r\n") + 4])
    with pytest.raises(http.client.IncompleteRead):  # no finishReason yet: the stream was cut
        cut_short.finish()


# ----------------------------------------------------------------------------------------
# errors: provider errors as Anthropic's, retry-after (pure)
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, data, message, overflow", [
    (429, b'{"error": {"message": "Slow down", "type": "rate_limit"}}', "Slow down", False),
    (400, b'{"error": {"message": "too long", "code": "context_length_exceeded"}}', "too long", True),
    (400, b'{"error": {"message": "This model\'s maximum context length is 8192 tokens"}}', None, True),
    (400, b'{"error": {"message": "Invalid tool schema"}}', "Invalid tool schema", False),
    (502, b"<html>Bad gateway</html>", "<html>Bad gateway</html>", False),
    (503, b"", "HTTP 503", False),
    (401, b'{"error": "invalid key"}', "invalid key", False),
    (400, b'{"error": {"message": "Provider returned error", "code": 400, "metadata": {"raw": "Function call is missing a '
          b'thought_signature", "provider_name": "Google AI Studio"}}}',  # OpenRouter: openrouter.ai/docs/api/errors
     "Provider returned error: Function call is missing a thought_signature", False),
])
def test_provider_http_error(status, data, message, overflow):
    error = cp.provider_http_error(status, data, {"retry-after": "3"})
    assert error.status_code == status and error.context_overflow is overflow
    assert message is None or str(error) == message
    mapped = cp.map_provider_error(error)
    assert mapped.status == cp.UPSTREAM_STATUS.get(status, status) and mapped.context_overflow is overflow
    assert mapped.headers.get("retry-after") == "3"


RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "17.5s"}


@pytest.mark.parametrize("status, error, headers, expected", [
    (429, {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [RETRY_INFO]}, {},
     (429, "rate_limit_error", "18", False)),
    (429, {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [RETRY_INFO]},
     {"retry-after": "3"}, (429, "rate_limit_error", "3", False)),  # the header wins
    (400, {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT"}, {},
     (400, "invalid_request_error", None, False)),
    (400, {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
           "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}, {},
     (401, "authentication_error", None, False)),  # the ErrorInfo's reason says what the status does not
    (403, {"code": 403, "message": "User location is not supported for the API use.", "status": "FAILED_PRECONDITION"}, {},
     (403, "permission_error", None, False)),
    (400, {"code": 400, "message": "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
           "status": "INVALID_ARGUMENT"}, {}, (400, "invalid_request_error", None, True)),
    (503, {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}, {},
     (529, "overloaded_error", None, False)),
    (500, {"code": 429, "message": "in a stream", "status": "RESOURCE_EXHAUSTED"}, {}, (429, "rate_limit_error", None, False)),
])
def test_google_errors(status, error, headers, expected):
    exc = cp.google_http_error(status, json.dumps({"error": error}).encode(), headers)
    mapped = cp.map_provider_error(exc)
    assert (mapped.status, mapped.error_type, mapped.headers.get("retry-after"), mapped.context_overflow) == expected
    assert mapped.message == error["message"]


def test_retry_after_with_a_line_break_is_not_passed_on():
    exc = cp.ProviderHTTPError(429, "slow down", {"retry-after": "Wed, 21 Oct 2026\r\nSet-Cookie: a=b"})
    assert cp._retry_after(exc) is None and "retry-after" not in cp.map_provider_error(exc).headers


# ----------------------------------------------------------------------------------------
# HTTP wire pieces: headers, bodies, framing, SSE writing and reading (pure)
# ----------------------------------------------------------------------------------------


def chunked_stream(events: bytes, sizes=(7, 1, 30)) -> bytes:
    """SSE bytes as a chunked body, cut into chunks of the given sizes in turn."""
    out, n = [], 0
    while events:
        size = sizes[n % len(sizes)]
        out.append(b"%x\r\n%s\r\n" % (len(events[:size]), events[:size]))
        events, n = events[size:], n + 1
    return b"".join(out) + b"0\r\n\r\n"


def split_every(data: bytes, size: int) -> list:
    return [data[i:i + size] for i in range(0, len(data), size)]


SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
SSE_TEXT = (b": a comment\n\n" + b"".join(b'data: {"choices":[{"index":0,"delta":{"content":"%d"}}]}\n\n' % n for n in range(5))
            + b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
            + b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}\n\ndata: [DONE]\n\n')


def as_chunks(item):
    """A direct stream's item as the chunk dicts it stands for: a run of text-only chunks comes
    as a TextRun (field, [escaped text, ...])."""
    if type(item) is cp.TextRun:
        return [{"choices": [{"index": 0, "delta": {item[0]: cp.unescape(text)}}]} for text in item[1]]
    return [item]


@pytest.mark.parametrize("lines, expected", [
    ([b"Host: a\r\n", b"X-Api-Key:  k1 \r\n", b"x-api-key: k2\r\n", b"\r\n"], {"host": ["a"], "x-api-key": ["k1", "k2"]}),
    ([b"A: 1\n", b"B:\n", b"\n"], {"a": ["1"], "b": [""]}),
    ([b"A: one\r\n", b"  two\r\n", b"\ttwo more\r\n", b"\r\n"], {"a": ["one two two more"]}),  # obsolete folding
    ([b"A:\t v \t\r\n", b"B:" + b" " * 60000 + b"x \r\n", b"\r\n"], {"a": ["v"], "b": ["x"]}),  # blanks around a value
    ([b"A: 1\r\n"], {"a": ["1"]}),  # the connection ends: what came so far
    ([b"Caf\xe9: cr\xe8me\r\n", b"\r\n"], "Bad header line"),
    ([b"A: 1\r\n", b"x-api-key sk-secret\r\n", b"\r\n"], "Bad header line 2: not `name: value`$"),
    ([b"A : 1\r\n", b"\r\n"], "Bad header line"),
    ([b": 1\r\n", b"\r\n"], "Bad header line"),
    ([b"X-%d: 1\r\n" % n for n in range(101)] + [b"\r\n"], "more than 100 headers"),
    ([b"X: " + b"a" * 70000 + b"\r\n", b"\r\n"], "header line"),
])
def test_read_headers(lines, expected):
    fp = io.BytesIO(b"".join(lines))
    if isinstance(expected, str):
        with pytest.raises(http.client.HTTPException, match=expected):
            cp.read_headers(fp)
        return
    headers = cp.read_headers(fp)
    assert headers.fields == expected
    for name, values in expected.items():
        assert headers.get(name.upper()) == values[0] and headers.get_all(name.title()) == values and name in headers
    assert headers.get("absent", "d") == "d" and headers.get_all("absent") is None
    assert headers.items() == [(n, v) for n, vs in expected.items() for v in vs]


@pytest.mark.parametrize("data", [
    b'{"a":1}', b' {"a": [1, 2.5, null, true]} \n', b'"s"', b"[]", b"NaN", b"1e999", b'{"t":"\\u00e9\\ud83d\\ude00"}',
    '{"t":"ünï 漢字"}'.encode(), b'\xef\xbb\xbf{"bom":1}', b'{"a":1} {"b":2}', b'{"a":1', b"", b"  ", b'{"a":"\x01"}',
    b'{"a":"\xff"}', b"[DONE]", b'{"a":01}', b"-", b'{"a":1}x',
])
def test_load_json_is_json_loads(data):
    try:
        expected = json.loads(data)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            cp.load_json(data)
    else:
        assert repr(cp.load_json(data)) == repr(expected)


@pytest.mark.parametrize("chunked, length, feeds, body, reusable", [
    (False, 5, [b"he", b"llo"], b"hello", True),
    (False, 5, [b"hello!"], b"hello", False),  # bytes after the body: the connection is not reused
    (False, 0, [], b"", True),
    (False, None, [b"ab", b"c", b""], b"abc", False),  # delimited by the end of the connection
    (True, None, [b"3;name=value\r\nabc\r\n0\r\n\r\n"], b"abc", True),
    (True, None, split_every(b"3\r\nabc\r\n10\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n", 1), b"abc" + b"x" * 16, True),
    (True, None, [b"1\r\na\r\n0\r\nTrailer: x\r\n\r\n"], b"a", False),  # trailers: not reused
    (True, None, [b"1\r\na\r\n"], b"a", None),  # not done yet
    (True, None, [b"1\r\na\r\n1\r\nb\r\n0\r\n\r\n"], b"ab", True),  # whole chunks, then the last, in one read
    (True, None, [b"1\r\na\r\n2\r\nb", b"c\r\n0\r\n\r\n"], b"abc", True),  # whole chunks, then part of one
    (True, None, [b"3\r\nabc\r\n2\r\n\r\n\r\n0\r\n\r\n"], b"abc\r\n", True),  # data holding CRLF
    (True, None, [b"1\r\na\r\n1;x\r\nb\r\n0\r\n\r\n"], b"ab", True),  # an extension after a whole chunk
    (True, None, [b"1\r\na\r\n-1\r\n"], "IncompleteRead", None),
    (True, None, [b"zz\r\n"], "IncompleteRead", None),
    (True, None, [b"-1\r\n"], "IncompleteRead", None),
    (True, None, [b"1" * 2000], "IncompleteRead", None),  # a size line that never ends
    (True, None, [b"1\r\na", b""], "IncompleteRead", None),  # the connection ends inside the body
    (False, 5, [b"abc", b""], "IncompleteRead", None),
])
def test_framing(chunked, length, feeds, body, reusable):
    framing = cp.Framing(chunked, length)
    try:
        got = b"".join(framing.feed(data) for data in feeds)
    except http.client.IncompleteRead:
        got = "IncompleteRead"
    assert got == body
    if reusable is not None:
        assert framing.done and framing.reusable is reusable
    elif body != "IncompleteRead":
        assert not framing.done


def test_sse_framing():
    assert cp.sse_event("ping", {"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'


@pytest.mark.parametrize("kind, field", [("text_delta", "text"), ("thinking_delta", "thinking"), ("input_json_delta", "partial_json")])
@pytest.mark.parametrize("value", ["Hi", "", 'quote " back\\slash', "line\nbreak\ttab", "ünïcode 漢字 🎉", "\ud83d lone", "\x00\x1f"])
def test_delta_frames_are_the_general_encoding(kind, field, value):
    data = {"type": "content_block_delta", "index": 7, "delta": {"type": kind, field: value}}
    general = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    assert cp.sse_event("content_block_delta", data) == b"event: content_block_delta\ndata: %s\n\n" % general


@pytest.mark.parametrize("before, runs, fewer", [
    ([{"content": "Hi"}], [("content", [b" there", b' \\"quoted\\"', b"\\n\\t\xc3\xa9"])], 2),  # continues the open block
    ([], [("content", [b"a", b"b", b"c"])], 1),  # no block open yet: the first opens it, the rest follow as a run
    ([], [("content", [b"<thi", b"nk>", b"hmm", b"</think>", b"ok", b"!", b"?"])], 1),  # <think> tags settled first
    ([{"reasoning_content": "plan"}], [("reasoning_content", [b"more", b"!"]), ("content", [b"answer", b" here"])], 1),
    ([{"content": "x"}], [("content", [b"a"]), ("reasoning_content", [b"late"]), ("content", [b"b", b"c"])], 0),
])
def test_a_run_of_texts_gives_what_its_chunks_parsed_one_by_one_give(before, runs, fewer):
    def parsed(field, text):
        return {"choices": [{"index": 0, "delta": {field: cp.unescape(text)}}]}

    relayed, expected = cp.StreamTranslator("msg_1", "claude-x", signature="s"), cp.StreamTranslator("msg_1", "claude-x", signature="s")
    events = cp.translate(relayed, [{"choices": [{"index": 0, "delta": d}]} for d in before] + runs) + relayed.finish()
    reference = expected.feed_many([{"choices": [{"index": 0, "delta": d}]} for d in before] + [
        parsed(field, text) for field, texts in runs for text in texts]) + expected.finish()
    assert cp.sse_frames(events) == b"".join(cp.sse_event(*e) for e in reference)  # the fast framing ...
    assert cp.plain_events(events) == reference  # ... is the plain events' framing
    assert cp.fold_events(cp.plain_events(events)) == cp.fold_events(reference)
    assert len(reference) - len(events) == fewer  # the texts of a run that continue a block: one event here


@pytest.mark.parametrize("cut", [1, 7, 4096])
@pytest.mark.parametrize("events", [SSE_TEXT, SSE_TEXT.replace(b"\n", b"\r\n")])
def test_sse_decoder_gives_the_same_items_however_the_body_is_cut(events, cut):
    whole = cp.SSEDecoder().feed(events)
    decoder = cp.SSEDecoder()
    items = [item for piece in split_every(events, cut) for item in decoder.feed(piece)]
    assert [chunk for item in items for chunk in as_chunks(item)] == [chunk for item in whole for chunk in as_chunks(item)]
    assert decoder.saw_finish and decoder.saw_done and decoder.failure is None
    decoder.finish()
    cut_short = cp.SSEDecoder()
    cut_short.feed(b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n')
    with pytest.raises(http.client.IncompleteRead):  # no finish_reason, no [DONE]: the stream was cut
        cut_short.finish()


def test_sse_decoder_delivers_good_events_before_a_bad_one():
    decoder = cp.SSEDecoder()
    items = decoder.feed(b'data: {"choices":[{"index":0,"delta":{"content":"kept"}}]}\n\ndata: {nope\n\n')
    assert items == [{"choices": [{"index": 0, "delta": {"content": "kept"}}]}]
    assert isinstance(decoder.failure, cp.ProviderHTTPError) and "malformed" in str(decoder.failure)
    with pytest.raises(cp.ProviderHTTPError, match="malformed"):  # alone in its piece, a bad event raises at once
        cp.SSEDecoder().feed(b"data: {nope\n\n")


# ----------------------------------------------------------------------------------------
# provider paths: proxies, litellm, workers; then the direct client against loopback providers, TLS, CONNECT
# ----------------------------------------------------------------------------------------


def basic(userinfo: str) -> str:
    return "Basic " + base64.b64encode(userinfo.encode()).decode()


@pytest.mark.parametrize("env, url, expected", [
    ({}, "https://api.groq.com", None),
    ({"HTTPS_PROXY": "http://10.0.0.1:3128"}, "https://api.groq.com", ("10.0.0.1", 3128, "")),
    ({"HTTPS_PROXY": "10.0.0.1:3128"}, "https://api.groq.com", ("10.0.0.1", 3128, "")),  # no scheme: http://
    ({"HTTPS_PROXY": "http://proxy.corp"}, "https://api.groq.com", ("proxy.corp", 80, "")),
    ({"HTTP_PROXY": "http://10.0.0.1:3128"}, "https://api.groq.com", None),  # the https provider's variable is not set
    ({"HTTP_PROXY": "http://10.0.0.1:3128"}, "http://localhost:11434", ("10.0.0.1", 3128, "")),
    ({"ALL_PROXY": "http://10.0.0.9:1"}, "https://api.groq.com", ("10.0.0.9", 1, "")),
    ({"ALL_PROXY": "http://10.0.0.9:1", "https_proxy": "http://10.0.0.1:2"}, "https://api.groq.com", ("10.0.0.1", 2, "")),
    ({"HTTPS_PROXY": "http://a:1", "https_proxy": "http://b:2"}, "https://api.groq.com", ("b", 2, "")),  # lower case first
    ({"HTTPS_PROXY": "http://a:1", "https_proxy": ""}, "https://api.groq.com", None),  # even set empty
    ({"HTTPS_PROXY": "http://al%40ce:p%3Ass@a:1"}, "https://api.groq.com", ("a", 1, basic("al@ce:p:ss"))),
    ({"HTTPS_PROXY": "http://alice@a:1"}, "https://api.groq.com", ("a", 1, basic("alice:"))),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "groq.com"}, "https://api.groq.com", None),
    ({"HTTPS_PROXY": "http://a:1", "no_proxy": ".groq.com, x"}, "https://api.groq.com", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "*"}, "https://api.groq.com", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "api.groq.com:443"}, "https://api.groq.com", None),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "api.groq.com:8443"}, "https://api.groq.com", ("a", 1, "")),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "othergroq.com,localhost"}, "https://api.groq.com", ("a", 1, "")),
    ({"HTTPS_PROXY": "http://a:1", "NO_PROXY": "groq.com", "no_proxy": ""}, "https://api.groq.com", ("a", 1, "")),
    ({"HTTPS_PROXY": "socks5://u:hunter22@a:1080"}, "https://api.groq.com", "HTTPS_PROXY names a socks5:// proxy"),
    ({"https_proxy": "https://a:443"}, "https://api.groq.com", "https_proxy names a https:// proxy"),
    ({"HTTPS_PROXY": "http://u:hunter22@:99"}, "https://api.groq.com", "HTTPS_PROXY is not a proxy URL"),
    ({"HTTP_PROXY": "http://u:hunter22@a:port"}, "http://localhost:8000", "HTTP_PROXY is not a proxy URL"),
])
def test_proxy_for(env, url, expected):
    url = urlsplit(url)
    port = url.port or {"http": 80, "https": 443}[url.scheme]
    if isinstance(expected, str):
        with pytest.raises(cp.ProviderHTTPError, match=re.escape(expected)) as caught:
            cp.proxy_for(url.scheme, url.hostname, port, env)
        assert "hunter22" not in str(caught.value)
        return
    proxy = cp.proxy_for(url.scheme, url.hostname, port, env)
    assert proxy == (cp.Proxy(*expected) if expected else None)
    assert proxy is None or "Basic" not in repr(proxy)


def test_count_tokens_cache_matches_a_full_count():
    litellm = cp.load_litellm()
    body = req([{"role": "user", "content": "hi " * 50}, {"role": "assistant", "content": "ok"}], system="S " * 500,
               tools=[dict(TOOLS[0], description="d " * 300)])
    params = cp.to_openai_request(body, "openai/gpt-4.1", OPENAI)
    full = litellm.token_counter(model="openai/gpt-4.1", messages=params["messages"], tools=params["tools"])
    first = cp.count_tokens(litellm, "openai/gpt-4.1", params)
    second = cp.count_tokens(litellm, "openai/gpt-4.1", params)
    assert first == second and abs(first - full) <= 5


def test_litellm_call_gives_what_came_before_a_failure_then_the_failure():
    def request():
        def chunks():
            yield text_chunk("a")
            yield text_chunk("b")
            raise cp.ProviderHTTPError(500, "broke")
        return chunks()

    call = cp.LitellmCall(request, stream=True, lease=None)
    items, give_up = [], time.monotonic() + TIMEOUT
    with pytest.raises(cp.ProviderHTTPError, match="broke"):
        while time.monotonic() < give_up:
            batch = call.read(0.05)
            if batch is not None:
                assert not batch.end
                items += batch.items
    assert [c["choices"][0]["delta"]["content"] for c in items] == ["a", "b"]


def test_workers_never_make_calls_wait_for_each_other():
    together = threading.Barrier(9, timeout=TIMEOUT)  # passes only with all eight calls running at once
    for _ in range(8):
        cp.WORKERS.run(together.wait)
    together.wait()
    again = threading.Barrier(9, timeout=TIMEOUT)  # the same threads, idle now, take the next calls
    for _ in range(8):
        cp.WORKERS.run(again.wait)
    again.wait()


class RawProvider:
    """A loopback server that answers each request with scripted raw bytes, written in the
    given pieces (to split events and chunk framing anywhere); counts connections."""

    def __init__(self, *answers, tls=None):
        self.answers, self.connections, self.tls = list(answers), 0, tls
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(TIMEOUT)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.sock.getsockname()[1]}/v1/chat/completions"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while self.answers:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.settimeout(TIMEOUT)
            if self.tls:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except OSError:  # the client turned the certificate down
                    conn.close()
                    continue
            with conn, contextlib.suppress(OSError):  # a client that left mid-answer: on to the next connection
                buffer = b""
                while self.answers:
                    while b"\r\n\r\n" not in buffer:
                        data = conn.recv(65536)
                        if not data:
                            break
                        buffer += data
                    if b"\r\n\r\n" not in buffer:
                        break
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                    while len(buffer) < length:
                        buffer += conn.recv(65536)
                    buffer = buffer[length:]
                    pieces, keep = self.answers.pop(0)
                    for piece in pieces:
                        conn.sendall(piece)
                    if not keep:
                        break


def fast_texts(items) -> int:
    """How many of a direct stream's chunks were taken as text by their bytes."""
    return sum(len(item.texts) for item in items if type(item) is cp.TextRun)


def direct_chunks(url, config=None):
    call = cp.DirectCall(url, "sk-raw", {"model": "m", "messages": [], "stream": True}, config or cp.Config.from_env({}))
    return [chunk for batch in call for item in batch for chunk in as_chunks(item)]


@pytest.mark.parametrize("body, write", [
    (chunked_stream(SSE_TEXT), 1),  # one byte at a time
    (chunked_stream(SSE_TEXT), 13),
    (chunked_stream(SSE_TEXT.replace(b"\n", b"\r\n")), 5),  # CRLF line ends
    (chunked_stream(SSE_TEXT, sizes=(4096,)), 4096),  # the whole stream in one read
])
def test_direct_stream_reading_survives_any_split(body, write):
    provider = RawProvider((split_every(SSE_HEAD + body, write), True), ([SSE_HEAD + chunked_stream(SSE_TEXT)], True))
    chunks = direct_chunks(provider.url)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "01234"
    assert chunks[-1]["usage"]["completion_tokens"] == 5
    assert len(direct_chunks(provider.url)) == len(chunks)
    assert provider.connections == 1  # the first connection was read to its end and reused


@pytest.mark.parametrize("answer, fragment", [
    (SSE_HEAD + chunked_stream(b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n'), "IncompleteRead"),
    (SSE_HEAD + chunked_stream(b'data: {"choices":[{"index":0,"delta":{"content":"a"}}]}\n\nevent: error\n'
                               b'data: {"error":{"message":"overloaded upstream"}}\n\n'), "overloaded upstream"),
    (SSE_HEAD + chunked_stream(b"data: {nope\n\n"), "malformed stream chunk"),
    (SSE_HEAD + b"5\r\ndata:", "IncompleteRead"),  # the connection closes mid-chunk
])
def test_direct_stream_failures_raise(answer, fragment):
    provider = RawProvider(([answer], False))
    with pytest.raises(Exception) as caught:
        direct_chunks(provider.url)
    assert fragment in f"{type(caught.value).__name__} {caught.value}"


def test_direct_stream_delivers_what_came_before_a_bad_event_in_the_same_read():
    body = chunked_stream(b'data: {"choices":[{"index":0,"delta":{"content":"kept"}}]}\n\ndata: {nope\n\n', sizes=(4096,))
    provider = RawProvider(([SSE_HEAD + body], False))
    call = cp.DirectCall(provider.url, None, {"model": "m", "messages": [], "stream": True}, cp.Config.from_env({}))
    received = []
    with pytest.raises(cp.ProviderHTTPError, match="malformed stream chunk"):
        for batch in call:
            received += batch
    assert [c["choices"][0]["delta"]["content"] for item in received for c in as_chunks(item)] == ["kept"]


def test_direct_stream_without_chunking_ends_with_the_connection():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
    provider = RawProvider((split_every(head + SSE_TEXT, 9), False))
    assert len(direct_chunks(provider.url)) == 7


def openai_chunk(delta, finish=None, n=0, **extra):
    """An OpenAI stream chunk as OpenAI writes it (obfuscation and usage null included)."""
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1769092764, "model": "gpt-4.1",
            "service_tier": "default", "system_fingerprint": "fp_1", "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], "usage": None,
            "obfuscation": "aZ3kQ"[:n % 5 + 1], **extra}


TEXTS = ["Hello", ' "quoted" \\ back', "line\nbreak\ttab\r", "ünïcode 漢字 🎉", "x", "\u2028sep", "a/b", "\x7f"]
OPENAI_TEXT = [openai_chunk({"role": "assistant", "content": "", "refusal": None})] + [
    openai_chunk({"content": text}, n=n) for n, text in enumerate(TEXTS * 3)] + [
    openai_chunk({}, "stop"), dict(openai_chunk({}), choices=[], usage={"prompt_tokens": 3, "completion_tokens": 9})]
REASONING = [openai_chunk({"role": "assistant", "content": None, "reasoning_content": t}) for t in ("Let", " me", " think")] + [
    openai_chunk({"content": t, "reasoning_content": None}) for t in ("The", " answer", " is", " 4")] + [openai_chunk({}, "stop")]
TOOL_TURN = [openai_chunk({"content": t}) for t in ("I", " will", " look")] + [
    openai_chunk({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                  "function": {"name": "Read", "arguments": '{"path": "a"}'}}]}),
    openai_chunk({"content": " then"}), openai_chunk({"content": " more"}), openai_chunk({}, "tool_calls")]
THINK_TAGS = [openai_chunk({"content": t}) for t in ("<thi", "nk>", "hmm", " ok", "</think>", "Hi", " there", "!")] + [
    openai_chunk({}, "stop")]


def sse_blocks(chunks, **dumps):
    return [b"data: " + json.dumps(c, **dumps).encode("utf-8", "surrogatepass") for c in chunks] + [b"data: [DONE]"]


ODD_BLOCKS = [  # one text-only chunk to learn from, then blocks that must not be taken for text by their bytes
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"c"},"finish_reason":"length"}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"d"},"finish_reason":null}],"usage":{"prompt_tokens":7}}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"e\\u00e9\\/"},"finish_reason":null}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"f"},"finish_reason":null}],"x":{"y":1}}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"g"},"finish_reason":null}],"choices":[]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"h"},"finish_reason":null}],"id":"\\"}"}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"i"},"finish_reason":null}]}  ',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"j","content":"k"},"finish_reason":null}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"l"},"finish_reason":null},{"index":1,"delta":{}}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"m"},"finish_reason":null}],"error":null}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"n"},"finish_reason":null}],"obfuscation":"zz"}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"o"},"finish_reason":null}]}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"p"},"finish_reason":null}],"usage":null,"e":1}',
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"q"},"finish_reason":"stop"}]}',
    b"data: [DONE]",
]


@pytest.mark.parametrize("blocks, fast", [
    (sse_blocks(OPENAI_TEXT, separators=(",", ":"), ensure_ascii=False), 23),  # all text but the first, learnt from
    (sse_blocks(OPENAI_TEXT), 14),  # spaced JSON; non-ASCII and DEL as \u escapes: those 9 are parsed
    (sse_blocks(REASONING, separators=(",", ":")), 5),  # learnt again when the text moves from reasoning to content
    (sse_blocks(TOOL_TURN, separators=(",", ":")), 4),  # text after a tool call waits as parsed text would
    (sse_blocks(THINK_TAGS, separators=(",", ":")), 7),
    (ODD_BLOCKS, 4),  # b, i, o, p; a duplicate key is learnt (correctly) and n learns the usual shape back
    ([b'data: {"choices":[{"delta":{"content":"a"}}]}', b'data: {"choices":[{"delta":{"content":"b\xff"}}]}'], 0),
    ([b'data: {"choices":[{"delta":{"content":"a"}}]}', b'data: {"choices":[{"delta":{"content":"b\x01"}}]}'], 0),
])
def test_text_chunks_recognised_by_their_bytes_give_the_same_answer(blocks, fast):
    def relay(items):
        translator = cp.StreamTranslator("msg_1", "claude-x", input_tokens=3, signature="sig")
        events = cp.translate(translator, items) + translator.finish()
        assert cp.sse_frames(events) == b"".join(cp.sse_event(*event) for event in cp.plain_events(events))
        return re.sub(rb"toolu_[0-9a-f]{24}", b"toolu_", cp.sse_frames(events))  # a tool id's random part is new each time

    def reference():  # every chunk parsed by json.loads, fed one by one
        chunks = []
        for block in blocks:
            if block != b"data: [DONE]":
                chunks.append(json.loads(block[6:]))
        return relay(chunks)

    provider = RawProvider(([SSE_HEAD + chunked_stream(b"".join(b + b"\n\n" for b in blocks), sizes=(4096,))], True))
    call = cp.DirectCall(provider.url, None, {"model": "m", "messages": [], "stream": True}, cp.Config.from_env({}))
    try:
        expected = reference()
    except ValueError:  # not valid JSON: the direct path fails as the reference does, however the bytes look
        with pytest.raises(cp.ProviderHTTPError, match="malformed"):
            list(call)
        return
    items = [item for batch in call for item in batch]
    assert fast_texts(items) == fast
    assert relay(items) == expected


STOP_SCAN_CASES = [  # (the proxy's own stop sequences, the provider's deltas, the reply's text, the stop sequence)
    (("STOP",), ["ab", "cST", "OPd"], "abc", "STOP"),  # a sequence across deltas
    (("STOP",), ["abc"], "abc", None),  # none: the text whole, end_turn
    (("STOP",), ["aST", "x"], "aSTx", None),  # a held start that was not one goes out
    (("STOP",), ["STOP now"], "", "STOP"),  # at the very start
    (("xy", "b"), ["abxy"], "a", "b"),  # the first found wins
    (("END",), ["a", "E", "N", "D", "b"], "a", "END"),
    (("END",), [{"reasoning_content": "think END"}, "ok END more"], "ok ", "END"),  # thinking is not watched
    (("END",), ["a E", "ping", "ND"], "a ", "END"),  # a keep-alive between the halves
    (("STOP", "TO"), ["STOP"], "S", "TO"),  # the first to end wins, as generation meets it: the same in one
    (("STOP", "TO"), ["S", "T", "O", "P"], "S", "TO"),  # delta (a JSON answer) as in many (a stream)
]


@pytest.mark.parametrize("own, deltas, text, sequence", STOP_SCAN_CASES)
def test_stop_scan_translator(own, deltas, text, sequence):
    translator = cp.StopScanTranslator("msg_1", "m", own=own)
    events = []
    for delta in deltas:
        if delta == "ping":  # its empty delta (test_keepalive_events) is left out of the grammar's check
            events += [e for e in translator.keepalive() if e[0] != "content_block_delta"]
            continue
        events += translator.feed({"choices": [{"delta": delta if isinstance(delta, dict) else {"content": delta}}]})
        if translator.cut:
            break
    events += translator.finish() + translator.finish()  # a second finish adds nothing
    check_protocol(events)
    answer = cp.fold_events(events)
    assert "".join(b["text"] for b in answer["content"] if b["type"] == "text") == text
    assert (answer["stop_reason"], answer["stop_sequence"]) == (("stop_sequence", sequence) if sequence else ("end_turn", None))
    assert all("thinking END" not in b.get("thinking", "") for b in answer["content"])
    assert translator.open_index("text") is None  # no text passed on unread (EscapedDeltas, QuickText)


def test_stop_scan_keepalive_keeps_its_content_event():
    """A keep-alive while a text end is held back still gives the open text block its empty
    delta: the content event Claude Code's idle timer needs (pings do not count); the held
    text still goes out once the next delta tells."""
    translator = cp.StopScanTranslator("msg_1", "m", own=("END",))
    events = translator.feed({"choices": [{"delta": {"content": "hello E"}}]})
    kept = translator.keepalive()
    assert [d for n, d in kept if n == "content_block_delta" and d["delta"] == {"type": "text_delta", "text": ""}]
    events += translator.feed({"choices": [{"delta": {"content": "xit"}}]}) + translator.finish()
    check_protocol(events)
    assert cp.fold_events(events)["content"][-1]["text"] == "hello Exit"


def test_stop_scan_estimate_counts_all_output():
    """A reply cut before its usage came: its output tokens are estimated from all the output
    sent (thinking and tool input were generated and billed too), not from its text alone."""
    translator = cp.StopScanTranslator("msg_1", "m", own=("END",))
    events = translator.feed({"choices": [{"delta": {"reasoning_content": "x" * 400}}]})
    events += translator.feed({"choices": [{"delta": {"content": "ok END"}}]}) + translator.finish()
    check_protocol(events)
    answer = cp.fold_events(events)
    assert answer["content"][-1]["text"] == "ok " and answer["usage"]["output_tokens"] >= 100


@pytest.mark.parametrize("target, stops, own", [
    ("openai/gpt-4.1", ["a", "b", "c", "d", "e"], ("e",)),  # OpenAI takes four
    ("openai/gpt-4.1", ["a", "b", "c", "d"], ()),
    ("gemini/gemini-2.5-flash", ["a", "b", "c", "d", "e", "f"], ("f",)),  # Gemini five
    ("groq/llama-3.3-70b-versatile", ["a", "b", "c", "d", "e"], ()),  # no limit known: all go to the provider
    ("openai/gpt-5-codex", ["a", "b"], ("a", "b")),  # the Responses API takes none
    ("litellm:gemini/gemini-2.5-flash", ["a", "b", "c", "d", "e", "f"], ("e", "f")),  # litellm sends at most 4
    ("litellm:groq/llama-3.3-70b-versatile", ["a", "b", "c", "d", "e"], ("e",)),
    # litellm's Responses bridge maps no `stop` (completion_extras/litellm_responses_transformation:
    # _map_optional_params_to_responses_api_request keeps only ResponsesAPIOptionalRequestParams' keys)
    ("litellm:openai/gpt-5-codex", ["a", "b"], ("a", "b")),
    ("litellm:openai/responses/gpt-4.1", ["a", "b", "c", "d", "e"], ("a", "b", "c", "d", "e")),
])
def test_own_stops(target, stops, own):
    via, _, target = target.rpartition(":")
    config = cp.Config.from_env({"PROXY_VIA": via} if via else {})
    attempt = cp.prepare_attempt(dict(BASIC, stop_sequences=stops), target, config)
    assert cp.own_stops(attempt) == own
    assert type(attempt.path.translator(attempt)) is (cp.StopScanTranslator if own else cp.StreamTranslator)


def quick_frames(blocks, decoder, separator=b"\n\n"):
    """Each block after the first as one HTTP chunk, read the relay loop's way: by a QuickText
    when DirectRead.quick would make one (the decoder's text shape learned, the text going
    straight into the open block), else the general way. Returns (how many QuickText framed,
    the client's bytes, the general way's bytes), every frame checked against the general way."""
    translator = cp.StreamTranslator("msg_1", "claude-x", input_tokens=3, signature="sig")
    quick, got, general = 0, [], []
    stand_in = types.SimpleNamespace(sock=None)  # frame() reads no socket
    for n, block in enumerate(blocks):
        event = block + separator
        texts, frame = decoder.texts, None
        index = translator.open_index(cp.block_kind(texts.field)) if texts.prefix is not None else None
        if index is not None and n and not decoder.partial:
            frame = cp.QuickText(stand_in, texts, index).frame(b"%x\r\n%s\r\n" % (len(event), event))
        framed = cp.sse_frames(cp.translate(translator, decoder.feed(event)))
        if frame is not None:
            assert frame == framed, block
            quick += 1
        got.append(framed if frame is None else frame)
        general.append(framed)
    return quick, b"".join(got), b"".join(general)


@pytest.mark.parametrize("blocks, quick", [
    (sse_blocks(OPENAI_TEXT, separators=(",", ":"), ensure_ascii=False), 23),  # as many as the text runs take
    (sse_blocks(OPENAI_TEXT), 14),
    (sse_blocks(REASONING, separators=(",", ":")), 5),  # the first of each kind opens its block the general way
    (sse_blocks(TOOL_TURN, separators=(",", ":")), 3),
    (sse_blocks(THINK_TAGS, separators=(",", ":")), 2),  # only once the reply is past a possible <think>
    (ODD_BLOCKS, 4),
])
def test_quick_text_frames_what_the_general_way_frames(blocks, quick):
    """The relay loop's quick read of a paced stream's text chunks (QuickText, one HTTP chunk
    per event) gives the client the bytes the general way gives, chunk by chunk, and leaves
    every other chunk to it."""
    count, got, general = quick_frames(blocks, cp.SSEDecoder())
    assert count == quick
    assert got == general


def test_quick_text_frames_gemini_responses():
    blocks = gemini_stream(GEMINI_TEXTS).split(b"\r\n\r\n")[:-1]
    count, got, general = quick_frames(blocks, cp.GeminiDecoder(), b"\r\n\r\n")
    assert count == len(GEMINI_TEXTS) - 4 and got == general  # all but the first, learnt from, and the three "\u0001"
    assert cp.fold_events(parse_sse(got))["content"][0]["text"] == "".join(GEMINI_TEXTS) + "."  # the finish's text


LEARNT = b'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}'


@pytest.mark.parametrize("data", [
    b"%x\r\n%s\r\n" % (len(LEARNT) * 2 + 4, LEARNT + b"\n\n" + LEARNT + b"\n\n"),  # two events in one chunk
    b"%x;ext=1\r\n%s\n\n\r\n" % (len(LEARNT) + 2, LEARNT),  # a chunk extension
    b"%x\r\n%s\n\n\r\n" % (len(LEARNT) + 1, LEARNT),  # a size that is not the chunk's
    b"%x\r\n%s\n\n\r\n5\r\n" % (len(LEARNT) + 2, LEARNT),  # the next chunk begun in the same read
    b"%x\r\n%s\n\r\n" % (len(LEARNT) + 1, LEARNT),  # an event not ended
    b"%x\r\n%s\n\n" % (len(LEARNT) + 2, LEARNT),  # a chunk not ended
    b"%x\r\n%s\r\n\n\r\n" % (len(LEARNT) + 3, LEARNT),  # a line end CR LF then LF
    b"%x\r\n%s\n\n\r\n" % (len(LEARNT) + 3, LEARNT.replace(b'"a"', b'"a\xff"')),  # not UTF-8
    b"%x\r\n%s\n\n\r\n" % (len(LEARNT) + 6, LEARNT.replace(b'"a"', b'"\\u00e9"')),  # an escape json.dumps would not write
    b"%x\r\n%s\n\n\r\n" % (len(LEARNT) + 4, LEARNT.replace(b"null", b'"stop"')),  # the finish
    b"",  # the end of the connection
])
def test_quick_text_leaves_anything_else_to_the_general_way(data):
    decoder = cp.SSEDecoder()
    decoder.feed(LEARNT + b"\n\n")
    assert cp.QuickText(types.SimpleNamespace(sock=None), decoder.texts, 0).frame(data) is None


def test_quick_text_compiles_nothing_per_stream(monkeypatch):
    """A QuickText is made after every general read of a carried stream, and each stream's
    learnt prefix differs (OpenAI's holds the chunk id): a pattern compiled from it would miss
    re's cache (512 patterns) with more streams than that, at about 0.6 ms a compile on the relay
    loop's one thread. Its prefix is compared as bytes; the compiled patterns are the decoder's."""
    decoders = []
    for n in range(3):
        decoder = cp.SSEDecoder()
        decoder.feed(LEARNT.replace(b"{", b'{"id":"chatcmpl-%d",' % n, 1) + b"\n\n")
        decoders.append(decoder)
    compiled, compile = [], re.compile
    monkeypatch.setattr(re, "compile", lambda *args: compiled.append(args) or compile(*args))
    frames = []
    for n, decoder in enumerate(decoders):
        event = LEARNT.replace(b"{", b'{"id":"chatcmpl-%d",' % n, 1).replace(b'"a"', b'"b\\"c"') + b"\n\n"
        frames.append(cp.QuickText(types.SimpleNamespace(sock=None), decoder.texts, 2).frame(b"%x\r\n%s\r\n" % (len(event), event)))
    monkeypatch.undo()
    assert compiled == []
    assert frames == [cp.sse_event("content_block_delta", {"type": "content_block_delta", "index": 2,
                                                           "delta": {"type": "text_delta", "text": 'b"c'}})] * 3


def test_direct_response_after_100_continue_with_a_folded_header():
    body = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}'
    answer = (b"HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\nHTTP/1.1 200 OK\r\nX-Note: a\r\n b\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    provider = RawProvider(([answer], True), ([answer], True))
    for _ in range(2):
        call = cp.DirectCall(provider.url, None, {"model": "m", "messages": []}, cp.Config.from_env({}))
        assert call.response()["choices"][0]["message"]["content"] == "ok"
    assert provider.connections == 1  # read to its end by Content-Length: kept and reused


JSON_ANSWER_BODY = b'{"choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}'
JSON_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(JSON_ANSWER_BODY), JSON_ANSWER_BODY)


def direct_answer(url, config=None):
    return cp.DirectCall(url, None, {"model": "m", "messages": []}, config or cp.Config.from_env({})).response()


@pytest.mark.parametrize("answers, calls, connections", [
    # the provider closed the kept connection without answering: the request goes once more, on a new connection
    ([([JSON_ANSWER], True), ([], False), ([JSON_ANSWER], True)], ["ok", "ok"], 2),
    ([([JSON_ANSWER], True), ([], False), ([], False)], ["ok", "RemoteDisconnected"], 2),  # once, not twice
    ([([], False), ([JSON_ANSWER], True)], ["RemoteDisconnected", "ok"], 2),  # a new connection is not tried again
])
def test_direct_call_sends_again_only_when_a_kept_connection_was_closed(answers, calls, connections):
    provider = RawProvider(*answers)
    for expected in calls:
        try:
            got = direct_answer(provider.url)["choices"][0]["message"]["content"]
        except http.client.RemoteDisconnected:
            got = "RemoteDisconnected"
        assert got == expected
    assert provider.connections == connections


@pytest.mark.parametrize("url, key", [
    ("http://127.0.0.1:{port}/v1/chat/completions", "sk-secret\r\nX-Injected: 1"),
    ("http://127.0.0.1:{port}/v1/chat completions", "sk-secret"),
    ("http://127.0.0.1:{port}/v1/chat/completions", "sk-sécret"),
])
def test_direct_call_refuses_what_a_request_head_cannot_carry(url, key):
    provider = RawProvider()
    call = cp.DirectCall(url.format(port=provider.sock.getsockname()[1]), key, {"model": "m", "messages": []},
                         cp.Config.from_env({}))
    with pytest.raises(cp.ProviderHTTPError, match="cannot carry") as caught:
        call.response()
    assert "secret" not in str(caught.value) and "cret" not in str(caught.value)
    assert provider.connections == 0


def test_an_endless_error_answer_is_cut_at_a_mebibyte():
    head = b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n"
    endless = [head] + [b"10000\r\n" + b"e" * 0x10000 + b"\r\n"] * 20  # 1.25 MiB and no last chunk, the connection kept
    provider = RawProvider((endless, True), ([], False))
    with pytest.raises(cp.ProviderHTTPError) as caught:
        direct_answer(provider.url, cp.Config.from_env({"REQUEST_TIMEOUT": "5"}))
    assert caught.value.status_code == 500 and str(caught.value).startswith("eeee")


# A self-signed certificate for 127.0.0.1, valid 2020-2120, that the TLS tests' provider presents.
TLS_CERT = """-----BEGIN CERTIFICATE-----
MIIBjDCCATKgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABONJdoe9C4sQW6KC
Xs/lgNhMUWgUX1ww5RCbVYQzxY3k35YK/movQohNQ8MBDxbTo7eiizgkDvSd9kMK
KoeeMk6jczBxMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAPBgNVHRMBAf8E
BTADAQH/MA4GA1UdDwEB/wQEAwIChDAdBgNVHQ4EFgQUTpRTpojW9SFE8TBv/pV6
Ig06vREwEwYDVR0lBAwwCgYIKwYBBQUHAwEwCgYIKoZIzj0EAwIDSAAwRQIhANmg
d04TVT9/E3erCJYAZetztcgv9OYSE0t0/ELqY0BmAiAZ6oQy4k+PcFS/TfspJIaU
/zCAhK/BQqRrgYowmertXw==
-----END CERTIFICATE-----
"""
TLS_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg/H6Dhxuk9R6hOkr3
MMmmCIrEZCt7A5fBqBwR+RNB+UehRANCAATjSXaHvQuLEFuigl7P5YDYTFFoFF9c
MOUQm1WEM8WN5N+WCv5qL0KITUPDAQ8W06O3oos4JA70nfZDCiqHnjJO
-----END PRIVATE KEY-----
"""


@pytest.fixture
def tls_server(tmp_path):
    """A TLS context for a loopback provider, presenting TLS_CERT."""
    import ssl

    (tmp_path / "cert.pem").write_text(TLS_CERT)
    (tmp_path / "key.pem").write_text(TLS_KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


def test_direct_stream_over_tls_read_in_short_waits_and_the_connection_reused(tls_server, monkeypatch):
    import ssl

    monkeypatch.setattr(cp.POOL, "_tls", ssl.create_default_context(cadata=TLS_CERT))  # the proxy trusts the test's CA
    provider = RawProvider((split_every(SSE_HEAD + chunked_stream(SSE_TEXT), 3), True),  # a TLS record per 3 bytes
                           ([SSE_HEAD + chunked_stream(SSE_TEXT, sizes=(4096,))], True), tls=tls_server)
    upstream = cp.DirectRead(cp.DirectCall(provider.url, "sk-raw", {"model": "m", "messages": [], "stream": True},
                                           cp.Config.from_env({})))
    items, ended, give_up = [], False, time.monotonic() + TIMEOUT
    while not ended and time.monotonic() < give_up:  # as the exchange reads: a millisecond at a time, partial records and all
        batch = upstream.read(0.001)
        if batch is None:
            continue
        assert batch.items or batch.end, batch
        ended = batch.end  # the end comes with the last chunks
        items += [chunk for each in batch.items for chunk in as_chunks(each)]
    assert ended
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in items if c["choices"]) == "01234"
    assert items[-1]["usage"]["completion_tokens"] == 5
    assert len(direct_chunks(provider.url)) == len(items)
    assert provider.connections == 1  # over TLS too, the connection read to its end is reused


def test_direct_call_trusts_the_ca_bundle_named_by_ssl_cert_file(tls_server, monkeypatch, tmp_path):
    """What README's troubleshooting advises behind a gateway that re-signs TLS."""
    (tmp_path / "bundle.pem").write_text(TLS_CERT)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "bundle.pem"))
    monkeypatch.setattr(cp.POOL, "_tls", None)  # made again, as at start-up, from the environment
    provider = RawProvider(([JSON_ANSWER], False), tls=tls_server)
    assert direct_answer(provider.url)["choices"][0]["message"]["content"] == "ok"


def test_direct_call_turns_down_a_certificate_it_does_not_trust(tls_server, monkeypatch):
    import ssl

    monkeypatch.setattr(cp.POOL, "_tls", ssl.create_default_context())  # the system's CAs only
    provider = RawProvider(([JSON_ANSWER], False), tls=tls_server)
    with pytest.raises(ssl.SSLCertVerificationError) as caught:
        direct_answer(provider.url)
    error = cp.map_provider_error(caught.value)
    assert (error.status, error.error_type) == (500, "api_error") and "certificate verify failed" in error.message


class LoopbackProxy:
    """An HTTP proxy on loopback, port 0: CONNECT host:port opens a tunnel, whose bytes it
    relays both ways; a request in absolute form (POST http://host:port/path) goes on to that
    host in origin form, without Proxy-Authorization, and what follows is relayed. `seen`
    holds the request head of each connection, recorded before anything is answered; with
    `refuse`, CONNECT is answered with that status. close() drops the pool's connections
    through it."""

    def __init__(self, refuse=None):
        self.refuse, self.seen = refuse, []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(TIMEOUT)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, contextlib.suppress(OSError):
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            head, _, rest = data.partition(b"\r\n\r\n")
            self.seen.append(head.decode("latin-1"))
            method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
            if method == "CONNECT":
                if self.refuse:
                    conn.sendall(b'HTTP/1.1 %d No\r\nProxy-Authenticate: Basic realm="t"\r\nContent-Length: 0\r\n\r\n' % self.refuse)
                    return
                host, _, port = target.rpartition(":")
                upstream = socket.create_connection((host, int(port)), timeout=TIMEOUT)
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                url = urlsplit(target)
                upstream = socket.create_connection((url.hostname, url.port), timeout=TIMEOUT)
                lines = [f"{method} {url.path} HTTP/1.1".encode()] + [
                    line for line in head.split(b"\r\n")[1:] if not line.lower().startswith(b"proxy-authorization:")]
                upstream.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + rest)
            with upstream:
                back = threading.Thread(target=self._copy, args=(upstream, conn), daemon=True)
                back.start()
                self._copy(conn, upstream)
                back.join(TIMEOUT)

    @staticmethod
    def _copy(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self):
        self.sock.close()
        with cp.POOL.lock:
            routes = [route for route in cp.POOL.idle if route.proxy and route.proxy.port == self.port]
            idle = [sock for route in routes for sock in cp.POOL.idle.pop(route)]
        for sock in idle:
            sock.close()


@pytest.fixture
def loopback_proxy():
    """LoopbackProxy(refuse=None) for the test, closed after it."""
    made = []

    def make(**options):
        made.append(LoopbackProxy(**options))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def test_direct_call_through_http_proxy_sends_the_absolute_form(loopback_proxy):
    proxy = loopback_proxy()
    provider = RawProvider(([JSON_ANSWER], True), ([JSON_ANSWER], True))
    config = cp.Config.from_env({"HTTP_PROXY": proxy.url})
    for _ in range(2):
        assert direct_answer(provider.url, config)["choices"][0]["message"]["content"] == "ok"
    authority = provider.url.split("/")[2]
    line, *fields = proxy.seen[0].split("\r\n")
    assert line == f"POST http://{authority}/v1/chat/completions HTTP/1.1" and f"Host: {authority}" in fields
    assert not any(field.lower().startswith("proxy-authorization") for field in fields)
    assert len(proxy.seen) == 1 and provider.connections == 1  # the connection to the proxy was kept and reused


def test_direct_stream_over_tls_through_https_proxy_tunnel_reused(loopback_proxy, tls_server, monkeypatch, tmp_path):
    (tmp_path / "bundle.pem").write_text(TLS_CERT)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "bundle.pem"))
    monkeypatch.setattr(cp.POOL, "_tls", None)  # made again from the environment: trusts the test's certificate
    proxy = loopback_proxy()
    provider = RawProvider((split_every(SSE_HEAD + chunked_stream(SSE_TEXT), 5), True),
                           ([SSE_HEAD + chunked_stream(SSE_TEXT, sizes=(4096,))], True), tls=tls_server)
    config = cp.Config.from_env({"HTTPS_PROXY": proxy.url, "HTTP_PROXY": "http://127.0.0.1:1"})
    for _ in range(2):
        chunks = direct_chunks(provider.url, config)
        assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == "01234"
        assert chunks[-1]["usage"]["completion_tokens"] == 5
    authority = provider.url.split("/")[2]
    assert proxy.seen == [f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: claude_proxy"]  # no key: TLS inside
    assert provider.connections == 1  # one tunnel, read to the end of each answer, carried both calls


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "example.com, 127.0.0.1", "*", "localhost,127.0.0.1:{port}"])
def test_direct_call_goes_direct_for_hosts_in_no_proxy(loopback_proxy, no_proxy):
    proxy = loopback_proxy()
    provider = RawProvider(([JSON_ANSWER], False))
    port = provider.sock.getsockname()[1]
    config = cp.Config.from_env({"HTTP_PROXY": proxy.url, "no_proxy": no_proxy.format(port=port)})
    assert direct_answer(provider.url, config)["choices"][0]["message"]["content"] == "ok"
    assert proxy.seen == []


def test_proxy_credentials_go_as_proxy_authorization_and_never_into_an_error(loopback_proxy, tls_server):
    proxy = loopback_proxy()
    provider = RawProvider(([JSON_ANSWER], False))
    userinfo = "al%40ice:hunter2%3Ahunter2"
    config = cp.Config.from_env({"http_proxy": f"http://{userinfo}@127.0.0.1:{proxy.port}"})
    assert direct_answer(provider.url, config)["choices"][0]["message"]["content"] == "ok"
    assert f"Proxy-Authorization: {basic('al@ice:hunter2:hunter2')}" in proxy.seen[0].split("\r\n")

    refusing = loopback_proxy(refuse=407)
    secure = RawProvider(([JSON_ANSWER], False), tls=tls_server)
    config = cp.Config.from_env({"HTTPS_PROXY": f"http://{userinfo}@127.0.0.1:{refusing.port}"})
    with pytest.raises(cp.ProviderHTTPError) as caught:
        direct_answer(secure.url, config)
    assert f"Proxy-Authorization: {basic('al@ice:hunter2:hunter2')}" in refusing.seen[0].split("\r\n")
    error = cp.map_provider_error(caught.value)
    for text in (str(caught.value), error.message, repr(cp.proxy_for("https", "127.0.0.1", 1, config.env))):
        assert "hunter2" not in text and "al@ice" not in text and "al%40ice" not in text and "Basic" not in text
    assert secure.connections == 0


@pytest.mark.parametrize("status, phrase", [(407, "Proxy Authentication Required"), (403, "Forbidden")])
def test_a_proxy_that_refuses_connect_is_named_with_its_status(loopback_proxy, tls_server, status, phrase):
    proxy = loopback_proxy(refuse=status)
    provider = RawProvider(([JSON_ANSWER], False), tls=tls_server)
    with pytest.raises(cp.ProviderHTTPError) as caught:
        direct_answer(provider.url, cp.Config.from_env({"HTTPS_PROXY": proxy.url}))
    authority = provider.url.split("/")[2]
    assert str(caught.value) == f"The proxy at 127.0.0.1:{proxy.port} refused a tunnel to {authority}: {status} {phrase}."
    error = cp.map_provider_error(caught.value)
    assert (error.status, error.error_type) == (500, "api_error") and f"{status} {phrase}" in error.message


def test_a_proxy_that_cannot_be_reached_is_a_connection_error():
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()  # nothing listens there now
    provider = RawProvider(([JSON_ANSWER], False))
    with pytest.raises(ConnectionRefusedError) as caught:
        direct_answer(provider.url, cp.Config.from_env({"HTTP_PROXY": f"http://u:hunter22@127.0.0.1:{port}"}))
    error = cp.map_provider_error(caught.value)
    assert error.status == 500 and error.message.startswith("Could not reach the provider") and "hunter22" not in error.message
    assert provider.connections == 0


# ----------------------------------------------------------------------------------------
# the exchange: one request's life, from scripted provider calls to a recording sink (no sockets)
# ----------------------------------------------------------------------------------------


class Script:
    """A provider call that plays its steps, one per read: a Batch, an exception (raised), or
    None: silence for the read's whole wait, as a provider that sends nothing."""

    def __init__(self, steps):
        self.steps, self.closed, self.reads = list(steps), False, 0

    def read(self, wait):
        self.reads += 1
        step = self.steps.pop(0) if self.steps else None
        if step is None:
            threading.Event().wait(wait)  # the scripted silence itself, not a synchronisation
            return None
        if isinstance(step, BaseException):
            raise step
        return step

    def close(self):
        self.closed = True


class ScriptedPath(cp.ProviderPath):
    name = "scripted"

    def __init__(self, steps):
        self.script, self.opened = Script(steps), 0

    def open(self, attempt, stream, lease, config):
        self.opened += 1
        return self.script

    def prepare(self, attempt, credentials, config):
        return None  # what it sends is scripted


class Recorder:
    """A sink that keeps what the exchange gave it, committed as the HTTP sinks are: a stream
    from start(), a JSON answer only at its end."""

    def __init__(self, streams):
        self.streams, self.committed, self.calls = streams, False, []

    def start(self):
        self.calls.append(("start",))
        self.committed = self.streams

    def events(self, events):
        self.calls.append(("events", cp.plain_events(events)))

    def end(self, events):
        self.calls.append(("end", cp.plain_events(events)))
        self.committed = True

    def fail(self, error, events):
        self.calls.append(("fail", cp.plain_events(events) + [("error", error.body())]))

    def all_events(self):
        return [event for call in self.calls[1:] for event in call[1]]


def scripted_attempt(path, probe=False, target="openai/scripted"):
    params = {"model": target, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1 if probe else 100}
    return cp.Attempt(requested="claude-sonnet-4-6", target=target, params=params, input_tokens=12, window=None,
                      probe=probe, tool_names={}, path=path, quirks=cp.Provider(), facts={})


def text_chunk(text):
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


STOP = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 7, "completion_tokens": 2}}
B = cp.Batch


def rate_limited():
    return cp.ProviderHTTPError(429, "slow down", {"retry-after": "3"})


# (case, steps of each attempt's call, probe, what the client gets: text and stop_reason, an
# error event's type, or the status of a plain HTTP error; how many times each attempt was opened)
EXCHANGE_CASES = [
    ("a stream in two reads", [[B([text_chunk("Hi")]), B([text_chunk(" there"), STOP], True)]], False,
     ("Hi there", "end_turn"), [1]),
    ("a JSON answer as one batch", [[B([cp.response_as_chunk({"choices": [{"message": {"content": "ok"},
                                                                              "finish_reason": "stop"}]})], True)]], False,
     ("ok", "end_turn"), [1]),
    ("a 429 before anything: the fallback answers", [[rate_limited()], [B([text_chunk("ok"), STOP], True)]], False,
     ("ok", "end_turn"), [1, 1]),
    ("a 429 and no fallback left: the 429", [[rate_limited()]], False, 429, [1]),
    ("a failure after a batch: an error event (a stream) or the error (JSON), never another model",
     [[B([text_chunk("part")]), rate_limited()], [B([text_chunk("x"), STOP], True)]], False, "rate_limit_error", [1, 0]),
    ("a 400 is the answer: no fallback", [[cp.ProviderHTTPError(400, "bad field")], [B([STOP], True)]], False, 400, [1, 0]),
    ("a probe a model refused as too small is answered", [[cp.ProviderHTTPError(400, "max_tokens too small")]], True,
     ("", "max_tokens"), [1]),
    ("a context overflow is never taken for a probe's refusal",
     [[cp.provider_http_error(400, b'{"error": {"code": "context_length_exceeded", "message": "too long"}}', {})]], True,
     400, [1]),
    ("silence past REQUEST_TIMEOUT: a 504, and the fallback answers", [[None, None, None, None], [B([STOP], True)]], False,
     ("", "end_turn"), [1, 1]),
]


@pytest.mark.parametrize("streams", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("case, scripts, probe, expected, opened", EXCHANGE_CASES, ids=[c[0] for c in EXCHANGE_CASES])
def test_exchange(case, scripts, probe, expected, opened, streams):
    scripts = [[step for step in steps] for steps in scripts]
    paths = [ScriptedPath(steps) for steps in scripts]
    attempts = [scripted_attempt(path, probe, target=f"openai/model-{n}") for n, path in enumerate(paths)]
    config = cp.Config.from_env({"REQUEST_TIMEOUT": "0.15", "KEEPALIVE_SECONDS": "60"})
    sink, fields = Recorder(streams), {}
    exchange = cp.Exchange(config, sink, fields=fields)
    if isinstance(expected, int):
        with pytest.raises(cp.ProxyError) as caught:
            exchange.run(attempts)
        assert caught.value.status == expected and not sink.committed
    elif isinstance(expected, str) and streams:  # an error event after the content so far
        exchange.run(attempts)
        events = sink.all_events()
        assert [name for name, _ in events] == ["message_start", "ping", "content_block_start", "content_block_delta", "error"]
        assert events[3][1]["delta"]["text"] == "part"  # what came before the failure reached the client
        assert events[-1] == ("error", {"type": "error", "error": {"type": expected, "message": "slow down"}})
        assert fields["error_event"].startswith(expected)
    elif isinstance(expected, str):  # JSON: nothing was sent yet, so the error is the answer
        with pytest.raises(cp.ProxyError) as caught:
            exchange.run(attempts)
        assert caught.value.error_type == expected and not sink.committed
    else:
        exchange.run(attempts)
        events = sink.all_events()
        check_protocol(events)
        message = cp.fold_events(events)
        text = "".join(b.get("text", "") for b in message["content"])
        assert (text, message["stop_reason"]) == expected
        assert message["model"] == "claude-sonnet-4-6"  # the model the client asked for, whatever answered
        assert sink.calls[0] == ("start",) and sink.calls[-1][0] == "end"
        assert fields["mode"] == ("stream" if streams else "json") and fields["via"] == "scripted"
        assert fields["output_tokens"] == message["usage"]["output_tokens"]
    assert [path.opened for path in paths] == opened
    assert all(path.script.closed for path in paths if path.opened)  # every call opened is closed
    if opened[1:2] == [1]:
        assert fields["fallbacks"] == ["openai/model-1 after " + str(429 if "429" in case else 504)]


def search_call(query):
    return {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_s", "type": "function", "function": {
        "name": "web_search", "arguments": json.dumps({"query": query})}}]}, "finish_reason": "tool_calls"}]}


@pytest.mark.parametrize("streams", [True, False], ids=["stream", "json"])
def test_exchange_continues_a_turn_after_its_web_search(streams):
    """The exchange's search loop with scripted calls: the call asks for a search; with no search
    provider the result is `unavailable`; the same path's next call (the same script) goes on in
    the same answer, and both calls' usage adds up."""
    path = ScriptedPath([B([text_chunk("Let me look."), search_call("news")], True), B([text_chunk("No search."), STOP], True)])
    body = dict(BASIC, tools=[{"type": "web_search_20250305", "name": "web_search"}])
    attempt = cp.dataclasses.replace(scripted_attempt(path), body=body, search=body["tools"][0])
    sink, fields = Recorder(streams), {}
    cp.Exchange(cp.Config.from_env({"OPENAI_API_KEY": "sk-x"}), sink, fields=fields).run([attempt])
    events = sink.all_events()
    check_protocol(events)
    message = cp.fold_events(events)
    assert [b["type"] for b in message["content"]] == ["text", "server_tool_use", "web_search_tool_result", "text"]
    assert message["content"][2]["content"] == {"type": "web_search_tool_result_error", "error_code": "unavailable"}
    assert message["content"][2]["tool_use_id"] == message["content"][1]["id"]
    assert message["stop_reason"] == "end_turn" and path.opened == 2 and path.script.closed
    assert message["usage"]["output_tokens"] == 2 and message["usage"]["server_tool_use"]["web_search_requests"] == 0
    assert fields["searches"] == 0 and sink.calls[-1][0] == "end"


def test_exchange_keeps_a_silent_stream_alive_and_json_waits():
    for streams in (True, False):
        path = ScriptedPath([None, None, None, B([text_chunk("late"), STOP], True)])
        config = cp.Config.from_env({"KEEPALIVE_SECONDS": "0.05", "REQUEST_TIMEOUT": "5"})
        sink = Recorder(streams)
        cp.Exchange(config, sink).run([scripted_attempt(path)])
        events = sink.all_events()
        keepalives = [e for e in events if e[0] == "ping"]
        check_protocol([e for e in events if e[0] != "content_block_delta" or e[1]["delta"].get("text") != ""
                        and e[1]["delta"].get("thinking") != ""])  # keep-alive deltas are empty on purpose
        assert cp.fold_events(events)["content"][-1] == {"type": "text", "text": "late"}
        if streams:  # committed by the first keep-alive: the head and message_start went out while waiting
            assert sink.calls[0] == ("start",) and len(keepalives) >= 3 and sink.calls[1][1][0][0] == "message_start"
        else:
            assert len(keepalives) == 1 and len(sink.calls) == 2  # message_start's ping; one answer at the end


@pytest.mark.parametrize("watch, status, error_type", [
    ({"client_gone": lambda: True}, None, None),
    ({"shutting_down": lambda: True}, 529, "overloaded_error"),
    ({"started_at": -1e9}, 504, "timeout_error"),  # past the REQUEST_DEADLINE
])
def test_exchange_stops_for_the_client_the_shutdown_and_the_deadline(watch, status, error_type):
    paths = [ScriptedPath([None] * 50), ScriptedPath([B([STOP], True)])]
    config = cp.Config.from_env({"REQUEST_TIMEOUT": "30", "KEEPALIVE_SECONDS": "60"})
    exchange = cp.Exchange(config, Recorder(True), **watch)
    if status is None:
        with pytest.raises(cp.ClientGone):
            exchange.run([scripted_attempt(path) for path in paths])
    else:
        with pytest.raises(cp.ProxyError) as caught:
            exchange.run([scripted_attempt(path) for path in paths])
        assert (caught.value.status, caught.value.error_type, caught.value.final) == (status, error_type, True)
    assert paths[0].script.closed and paths[0].script.reads <= 2 and paths[1].opened == 0  # no fallback after these


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


def test_e2e_tool_round_trip(client, fake):
    """The model calls a tool; the client answers with its result; the provider sees both
    with the same id, through a plain litellm install (no optional mcp package)."""
    fake.replies = [{"deltas": [{"content": "Checking."}, tool_delta(0, "", "call_abc", "Bash"),
                                tool_delta(0, '{"command":'), tool_delta(0, ' "ls -la"}')],
                     "finish": "tool_calls", "usage": (50, 9)},
                    text_reply("Two files.")]
    first = client.messages.create(**dict(BASIC, tools=TOOLS, tool_choice={"type": "auto"}))
    assert first.stop_reason == "tool_use"
    assert [b.type for b in first.content] == ["text", "tool_use"]
    call = first.content[1]
    assert (cp.provider_tool_id(call.id), call.name, call.input) == ("call_abc", "Bash", {"command": "ls -la"})
    sent_tools = fake.received[-1][2]["tools"]
    assert [t["function"]["name"] for t in sent_tools] == ["Bash", "Read"]
    second = client.messages.create(**dict(BASIC, tools=TOOLS, messages=[
        {"role": "user", "content": "List files"},
        {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "a.txt\nb.txt"}]}]))
    assert second.content[0].text == "Two files."
    messages = fake.received[-1][2]["messages"]
    assert messages[1]["tool_calls"][0]["id"] == "call_abc"
    assert json.loads(messages[1]["tool_calls"][0]["function"]["arguments"]) == {"command": "ls -la"}
    assert messages[2] == {"role": "tool", "tool_call_id": "call_abc", "content": "a.txt\nb.txt"}


def test_e2e_stream_parallel_tools(client, fake):
    fake.replies = [{"deltas": [tool_delta(0, "", "call_1", "Bash"), tool_delta(1, "", "call_2", "Read"),
                                tool_delta(0, '{"command": "pwd"}'), tool_delta(1, '{"path": "a.txt"}')],
                     "finish": "tool_calls", "usage": (30, 12)}]
    with client.messages.stream(**dict(BASIC, tools=TOOLS)) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert [(cp.provider_tool_id(b.id), b.input) for b in final.content] == [("call_1", {"command": "pwd"}),
                                                                            ("call_2", {"path": "a.txt"})]


def test_e2e_reasoning_becomes_thinking(client, fake):
    fake.replies = [{"deltas": [{"reasoning_content": "Let me think."}, {"content": "42"}], "finish": "stop", "usage": (8, 4)}]
    for stream in (False, True):
        if stream:
            with client.messages.stream(**BASIC) as s:
                message = s.get_final_message()
        else:
            message = client.messages.create(**BASIC)
        assert [b.type for b in message.content] == ["thinking", "text"]
        assert message.content[0].thinking == "Let me think." and message.content[0].signature
        assert message.content[1].text == "42"


def test_e2e_folded_stream_equals_non_streamed(proxy, fake):
    """Byte-level: the events the proxy streams fold into exactly the JSON it answers."""
    reply = {"deltas": [{"reasoning_content": "hm"}, {"content": "Sure: "}, tool_delta(0, "", "call_1", "Read"),
                        tool_delta(0, '{"path": '), tool_delta(0, '"x"}')], "finish": "tool_calls", "usage": (20, 6)}
    fake.replies = [reply]
    status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, tools=TOOLS))
    assert status == 200
    whole = json.loads(data)
    status, headers, data = raw(proxy, "POST", "/v1/messages?beta=true", dict(BASIC, tools=TOOLS, stream=True))
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = parse_sse(data)
    check_protocol(events)
    folded = cp.fold_events(events)
    assert folded["id"] != whole["id"]
    folded["id"] = whole["id"]
    folded["usage"]["input_tokens"] = whole["usage"]["input_tokens"] = 0
    for block in folded["content"] + whole["content"]:  # each answer's tool ids are new; the provider's inside are not
        if block["type"] == "tool_use":
            block["id"] = cp.provider_tool_id(block["id"])
    assert folded == whole


def test_e2e_count_tokens(client, fake):
    small = client.messages.count_tokens(model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Hi"}])
    large = client.messages.count_tokens(model="claude-sonnet-4-6", system="You are a careful assistant. " * 20, tools=TOOLS,
                                         messages=[{"role": "user", "content": "Hi"}])
    assert 0 < small.input_tokens < large.input_tokens
    assert fake.received == []  # counting never calls the provider


def test_e2e_count_tokens_query_string_and_no_max_tokens(proxy):
    status, _, data = raw(proxy, "POST", "/v1/messages/count_tokens?beta=true",
                          {"model": "claude-haiku-4-5-20251001", "messages": [{"role": "user", "content": "hello world"}], "tools": []})
    assert status == 200 and json.loads(data)["input_tokens"] > 0


def test_e2e_groq_small_model(client, fake):
    """haiku routes to SMALL_MODEL on another provider, with that provider's own key and base."""
    for stream in (False, True):
        request = dict(BASIC, model="claude-haiku-4-5-20251001")
        if stream:
            with client.messages.stream(**request) as s:
                text = s.get_final_message().content[0].text
        else:
            text = client.messages.create(**request).content[0].text
        assert text == "Hello there!"
        path, headers, body = fake.received[-1]
        assert path == "/groq/v1/chat/completions"
        assert headers["authorization"] == "Bearer gsk-test-groq"
        assert body["model"] == "llama-3.1-8b-instant"


def test_e2e_sampling_fields_reach_the_provider_only_where_it_takes_them(client, fake):
    client.messages.create(**BASIC, stop_sequences=["END"], extra_body={"temperature": 0.3, "top_p": 0.8, "top_k": 12})
    body = fake.received[-1][2]
    assert (body["temperature"], body["top_p"], body["stop"]) == (0.3, 0.8, ["END"])
    assert "top_k" not in body  # OpenAI rejects top_k, and litellm would forward it


def test_e2e_tools_work_without_the_optional_mcp_package(client, fake):
    """litellm imports `mcp` for some tool calls; the plain install has no mcp and must work."""
    import importlib.util

    if importlib.util.find_spec("mcp") is not None:
        pytest.skip("mcp is installed here; this pins the plain `uv run --with litellm` install")
    fake.replies = [{"deltas": [tool_delta(0, '{"command": "ls"}', "call_1", "Bash")], "finish": "tool_calls", "usage": (5, 5)}]
    for stream in (False, True):
        if stream:
            with client.messages.stream(**dict(BASIC, tools=TOOLS)) as s:
                message = s.get_final_message()
        else:
            message = client.messages.create(**dict(BASIC, tools=TOOLS))
        assert message.content[0].input == {"command": "ls"}


def test_e2e_thinking_reaches_a_reasoning_model_as_effort(client, fake):
    client.messages.create(**dict(BASIC, model="openai/o3-mini", max_tokens=5000),
                           extra_body={"thinking": {"type": "enabled", "budget_tokens": 2000}})
    body = fake.received[-1][2]
    assert body["model"] == "o3-mini" and body["reasoning_effort"] == "low"
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 5000
    client.messages.create(**BASIC, extra_body={"thinking": {"type": "enabled", "budget_tokens": 2000}})
    assert "reasoning_effort" not in fake.received[-1][2]  # gpt-4.1 does not reason: dropped


# (upstream status, extra headers, anthropic SDK exception, client status, error type)
UPSTREAM_ERRORS = [
    (400, {}, "BadRequestError", 400, "invalid_request_error"),
    (401, {}, "AuthenticationError", 401, "authentication_error"),
    (403, {}, "PermissionDeniedError", 403, "permission_error"),
    (404, {}, "NotFoundError", 404, "not_found_error"),
    (413, {}, "APIStatusError", 413, "request_too_large"),
    (422, {}, "BadRequestError", 400, "invalid_request_error"),
    (429, {"retry-after": "7"}, "RateLimitError", 429, "rate_limit_error"),
    (500, {}, "InternalServerError", 500, "api_error"),
    (502, {}, "InternalServerError", 500, "api_error"),
    (503, {}, "InternalServerError", 529, "overloaded_error"),
    (504, {}, "InternalServerError", 504, "timeout_error"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("upstream, headers, exc_name, status, error_type", UPSTREAM_ERRORS, ids=[str(e[0]) for e in UPSTREAM_ERRORS])
def test_e2e_upstream_errors(client, fake, stream, upstream, headers, exc_name, status, error_type):
    import anthropic

    fake.replies = [{"status": upstream, "headers": headers,
                     "body": {"error": {"message": f"scripted {upstream}", "type": "x", "code": None}}}]
    with pytest.raises(getattr(anthropic, exc_name)) as caught:
        if stream:
            with client.messages.stream(**BASIC) as s:
                s.get_final_message()
        else:
            client.messages.create(**BASIC)
    error = caught.value
    assert error.status_code == status
    assert error.body["type"] == "error" and error.body["error"]["type"] == error_type
    assert f"scripted {upstream}" in error.body["error"]["message"]
    assert len(fake.received) == 1, "litellm must not retry: the client does"
    if "retry-after" in headers:
        assert error.response.headers["retry-after"] == "7"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_a_provider_refusal_names_the_model_the_path_and_the_way_out(proxy, fake, stream):
    fake.replies = [{"status": 400, "body": {"error": {"message": "messages[2].content must be a string", "type": "x"}}}]
    status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, stream=stream))
    error = json.loads(data)["error"]
    assert status == 400 and error["type"] == "invalid_request_error"
    assert "openai/gpt-4.1" in error["message"] and "messages[2].content must be a string" in error["message"]
    assert ("direct path" if proxy.config.via == "auto" else "litellm path") in error["message"]
    assert "Troubleshooting" in error["message"]


def test_e2e_cut_mid_stream_is_an_error_event(proxy, fake):
    fake.replies = [dict(text_reply("Hello there, friend!"), cut_after=1)]
    status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, stream=True))
    assert status == 200
    events = parse_sse(data)
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "error"
    assert "message_stop" not in names and "message_delta" not in names
    assert events[-1][1]["type"] == "error" and events[-1][1]["error"]["type"] in ("api_error", "overloaded_error")


def test_e2e_openrouters_mid_stream_error_is_an_error_event(strict_proxy, fake):
    """OpenRouter reports a failure after the stream began as a chunk with an error object beside a
    choice whose finish_reason is "error": an error event, on both paths, never a finished answer."""
    fake.replies = [dict(text_reply("Hello there, friend!"), error_after=1)]
    status, _, data = raw(strict_proxy, "POST", "/v1/messages", dict(BASIC, model="openrouter/openai/gpt-4.1", stream=True))
    assert status == 200 and fake.received[-1][0] == "/openrouter/api/v1/chat/completions"
    events = parse_sse(data)
    names = [name for name, _ in events]
    assert names[-1] == "error" and "message_stop" not in names and "message_delta" not in names
    if strict_proxy.config.via == "auto":  # litellm 1.110 loses the words: int("server_error") fails inside its parser
        assert "Provider disconnected unexpectedly" in events[-1][1]["error"]["message"]
    assert "".join(e["delta"].get("text", "") for n, e in events if n == "content_block_delta") == "Hello ther"


def test_e2e_missing_key_is_401_naming_the_variable(client):
    import anthropic

    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(**dict(BASIC, model="openrouter/moonshotai/kimi-k2"))
    assert "OPENROUTER_API_KEY" in caught.value.body["error"]["message"]


# ----------------------------------------------------------------------------------------
# end-to-end: each seed provider, and the routes (the target model's limits, scenarios, fallbacks)
# ----------------------------------------------------------------------------------------


def test_e2e_long_tool_names_round_trip(client, fake):
    long_name = "mcp__github_enterprise_server__list_pull_request_review_comments_for_repository"
    short = cp.short_tool_name(long_name)
    fake.replies = [{"deltas": [tool_delta(0, '{"repo": "x"}', "call_1", short)], "finish": "tool_calls", "usage": (5, 5)}]
    tools = [{"name": long_name, "description": "d", "input_schema": {"type": "object", "properties": {"repo": {"type": "string"}}}}]
    message = client.messages.create(**dict(BASIC, tools=tools))
    assert message.content[0].name == long_name
    assert fake.received[-1][2]["tools"][0]["function"]["name"] == short


@pytest.mark.parametrize("model", ["deepseek/deepseek-chat", "groq/moonshotai/kimi-k2-instruct"])  # litellm's map; ours
def test_e2e_an_image_for_a_model_without_vision_becomes_a_note(client, fake, model):
    """A Read of a PNG comes back as a tool result with an image: a 400 for it would fail this
    turn and every later one (the image stays in the history), so the model gets a note instead."""
    history = [{"role": "user", "content": "Look at the screenshot"},
               {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"p": "a.png"}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [B64_IMAGE]},
                                            {"type": "text", "text": "<system-reminder>x</system-reminder>"}]}]
    message = client.messages.create(**dict(BASIC, model=model, messages=history, tools=TOOLS))
    assert message.content[0].text == "Hello there!"
    sent = fake.received[-1][2]["messages"]
    assert "image_url" not in json.dumps(sent)
    assert sent[-1] == {"role": "user", "content": f"(image output of tool call toolu_1)\n\n[image omitted: {model} does not "
                                                  "accept images]\n\n<system-reminder>x</system-reminder>"}


def fresh_image() -> dict:
    """An image no earlier test sent: descriptions are cached by the image, for the whole process."""
    return {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                        "data": base64.b64encode(os.urandom(30)).decode()}}


def screenshot_turns(image) -> list:
    """Claude Code reading a PNG: the image comes back in a tool result, a reminder after it."""
    return [{"role": "user", "content": "Look at the screenshot"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"p": "a.png"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [image]},
                                         {"type": "text", "text": "<system-reminder>x</system-reminder>"}]}]


def described_proxy(start_proxy, vision, mode="describe", **env):
    """A proxy whose Claude names go to Groq's Kimi K2 (no vision) and whose VISION_MODEL, openai/gpt-4o, is `vision`."""
    return start_proxy(BIG_MODEL="groq/moonshotai/kimi-k2-instruct", VISION_MODEL="openai/gpt-4o", VISION_MODE=mode,
                       OPENAI_BASE_URL=vision.url + "/v1", **env)


def answer_text(proxy, body, stream) -> str:
    status, _, data = raw(proxy, "POST", "/v1/messages", dict(body, stream=stream))
    assert status == 200, data
    if stream:
        check_protocol(parse_sse(data))
    message = cp.fold_events(parse_sse(data)) if stream else json.loads(data)
    return "".join(b.get("text", "") for b in message["content"])


DESCRIPTION = "A terminal window. It reads: error: no such file"


@pytest.mark.parametrize("mode, model", [("describe", "claude-sonnet-4-6"), ("route", "groq/moonshotai/kimi-k2-instruct")])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_vision_model_describes_an_image_once_for_a_model_without_vision(start_proxy, fake, vision, proxy_log, mode,
                                                                             model, stream):
    """The main model (Groq's strict fake refuses any image part for Kimi K2) gets what the vision
    model wrote in the image's place and keeps the turn; the next turn, which carries the same
    image, makes no second vision call. With VISION_MODE=route a model named directly is described for too."""
    proxy = described_proxy(start_proxy, vision, mode)
    vision.replies = [text_reply(DESCRIPTION)]
    image = fresh_image()
    body = dict(BASIC, model=model, tools=TOOLS, messages=screenshot_turns(image))
    assert answer_text(proxy, body, stream) == "Hello there!"
    assert len(vision.received) == 1
    path, headers, asked = vision.received[0]
    assert path == "/v1/chat/completions" and headers["authorization"] == "Bearer sk-test-openai" and "tools" not in asked
    assert asked["messages"][-1]["content"] == [
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image['source']['data']}"}},
        {"type": "text", "text": cp.DESCRIBE_PROMPT}]
    described = f"[image, as openai/gpt-4o describes it: {DESCRIPTION}]"
    path, _, sent = fake.received[-1]
    assert path == "/groq/v1/chat/completions" and "image_url" not in json.dumps(sent)
    assert [m for m in sent["messages"] if m["role"] == "tool"] == [{"role": "tool", "tool_call_id": "toolu_1", "content": described}]
    assert "described=1" in proxy_log.wait(1, "groq/moonshotai/kimi-k2-instruct")[-1].getMessage()
    later = body["messages"] + [{"role": "assistant", "content": "It says the file is missing."},
                                {"role": "user", "content": [{"type": "text", "text": "Again:"}, image]}]
    assert answer_text(proxy, dict(body, messages=later), stream) == "Hello there!"
    assert len(vision.received) == 1  # described once: the cache answered
    sent = fake.received[-1][2]
    assert json.dumps(sent).count(json.dumps(described)[1:-1]) == 2 and "image_url" not in json.dumps(sent)


@pytest.mark.parametrize("target", ["anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash", "openai/gpt-5.3-codex"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_a_vision_model_on_another_path_describes_the_image(start_proxy, fake, gemini, messages_fake, proxy_log, stream,
                                                                 target):
    """VISION_MODEL on a provider of another path: Claude itself (the passthrough path: its answer is an
    Anthropic message), Gemini (generateContent), a codex model (the Responses API); its text is the description."""
    messages_fake.replies, messages_fake.responder, messages_fake.received = [{"blocks": [("text", DESCRIPTION)]}], None, []
    gemini.replies = [text_reply(DESCRIPTION)]
    fake.replies = [text_reply(DESCRIPTION), text_reply("Hello there!")] if target == CODEX else fake.replies
    proxy = start_proxy(BIG_MODEL="groq/moonshotai/kimi-k2-instruct", VISION_MODEL=target,
                        VISION_MODE="describe", ANTHROPIC_API_KEY=ANTHROPIC_KEY, ANTHROPIC_API_BASE=messages_fake.url + "/anthropic")
    body = dict(BASIC, tools=TOOLS, messages=screenshot_turns(fresh_image()))
    assert answer_text(proxy, body, stream) == "Hello there!"
    described = f"[image, as {target} describes it: {DESCRIPTION}]"
    assert [m for m in fake.received[-1][2]["messages"] if m["role"] == "tool"] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": described}]
    assert not [r for r in proxy_log.records if "could not describe" in r.getMessage()]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_vision_model_describes_for_a_model_without_vision_on_the_passthrough_path(fake, vision, messages_fake, stream):
    """VISION_MODE=describe with a session on DeepSeek's Anthropic endpoint (no images: the strict fake
    refuses them): the passthrough path sends the description in the image's place, not the note."""
    messages_fake.replies, messages_fake.responder, messages_fake.received = [{"blocks": [("text", "Hello there!")]}], None, []
    vision.replies = [text_reply(DESCRIPTION)]
    with running_proxy(fake, BIG_MODEL="deepseek-anthropic/deepseek-chat", VISION_MODEL="openai/gpt-4o", VISION_MODE="describe",
                       OPENAI_BASE_URL=vision.url + "/v1",
                       DEEPSEEK_ANTHROPIC_API_BASE=messages_fake.url + "/deepseek/anthropic") as proxy:
        body = dict(BASIC, tools=TOOLS, messages=screenshot_turns(fresh_image()))
        assert answer_text(proxy, body, stream) == "Hello there!"
    assert len(vision.received) == 1
    [(provider, _, sent)] = messages_fake.received
    result = sent["messages"][-1]["content"][0]
    assert provider == "deepseek" and result["type"] == "tool_result"
    assert result["content"] == [{"type": "text", "text": f"[image, as openai/gpt-4o describes it: {DESCRIPTION}]"}]


@pytest.mark.parametrize("priced", [True, False], ids=["main model priced", "main model unpriced"])
def test_e2e_the_vision_models_cost_is_in_the_recorded_usage(start_proxy, fake, vision, priced):
    """What VISION_MODEL spent describing is part of the request's cost in /proxy/usage (the status
    line's source), also when the main model has no price: the description was paid for all the same."""
    prices = {"MODEL_PRICES": "groq/moonshotai/kimi-k2-instruct=1/3"} if priced else {}
    proxy = described_proxy(start_proxy, vision, **prices)
    vision.replies = [text_reply(DESCRIPTION, usage=(1000, 100))]
    body = dict(BASIC, tools=TOOLS, messages=screenshot_turns(fresh_image()))
    assert answer_text(proxy, body, False) == "Hello there!"
    vision_cost = 1000 * 2.5e-06 + 100 * 1e-05  # openai/gpt-4o in litellm's map
    main_cost = (11 * 1 + 5 * 3) / 1e6 if priced else 0
    status, _, data = raw(proxy, "GET", "/proxy/usage")
    totals = json.loads(data)["totals"]
    assert status == 200 and totals["cost_usd"] == pytest.approx(main_cost + vision_cost)
    assert totals["unpriced_requests"] == (0 if priced else 1)  # the status line still says "no price" for the model


def test_e2e_a_failing_vision_model_leaves_the_note_with_one_warning(start_proxy, fake, vision, proxy_log):
    proxy = described_proxy(start_proxy, vision)
    vision.replies = [{"status": 500, "body": {"error": {"message": "the vision model is down", "type": "server_error"}}}]
    body = dict(BASIC, tools=TOOLS, messages=screenshot_turns(fresh_image()))
    assert answer_text(proxy, body, False) == "Hello there!"
    assert len(vision.received) == 1
    assert "[image omitted: groq/moonshotai/kimi-k2-instruct does not accept images]" in json.dumps(fake.received[-1][2])
    warnings = [r.getMessage() for r in proxy_log.records if "could not describe" in r.getMessage()]
    assert len(warnings) == 1 and "openai/gpt-4o" in warnings[0] and "the vision model is down" in warnings[0]
    assert all(r.levelname == "WARNING" for r in proxy_log.records if "could not describe" in r.getMessage())
    vision.replies = [text_reply(DESCRIPTION)]  # a failure is not cached: the next turn asks again
    assert answer_text(proxy, body, False) == "Hello there!"
    assert len(vision.received) == 2 and DESCRIPTION in json.dumps(fake.received[-1][2])


def test_e2e_a_slow_description_keeps_the_stream_alive_and_the_deadline_holds(start_proxy, fake, vision):
    """The vision call is waited on as the answer's own is: keep-alive events on a stream while
    the vision model works, and REQUEST_DEADLINE over both calls."""
    proxy = described_proxy(start_proxy, vision, KEEPALIVE_SECONDS="0.2")
    vision.replies = [dict(text_reply(DESCRIPTION), delay=1)]
    status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, stream=True, messages=screenshot_turns(fresh_image())))
    events = parse_sse(data)
    assert status == 200
    first_text = next(i for i, (name, e) in enumerate(events) if name == "content_block_delta" and e["delta"].get("text"))
    assert sum(name == "ping" for name, _ in events[:first_text]) >= 2 and DESCRIPTION in json.dumps(fake.received[-1][2])
    message = cp.fold_events(events)  # the keep-alive thinking block (empty), then the answer
    assert [b["type"] for b in message["content"]] == ["thinking", "text"] and message["content"][1]["text"] == "Hello there!"
    late = described_proxy(start_proxy, vision, REQUEST_DEADLINE="0.5")
    vision.replies, fake.received = [dict(text_reply(DESCRIPTION), delay=3)], []
    started = time.monotonic()
    status, _, data = raw(late, "POST", "/v1/messages", dict(BASIC, messages=screenshot_turns(fresh_image())))
    assert status == 504 and "REQUEST_DEADLINE" in json.loads(data)["error"]["message"]
    assert time.monotonic() - started < 2.5 and fake.received == []  # the main model was never called


def test_e2e_a_client_that_leaves_during_a_description_ends_the_request(start_proxy, fake, vision, proxy_log):
    """The request thread watches the client while the vision model works, as it does while the
    main model does: a client that hangs up ends the request within a second, the main model uncalled."""
    proxy = described_proxy(start_proxy, vision, KEEPALIVE_SECONDS="0.2")
    vision.replies = [dict(text_reply(DESCRIPTION), delay=4)]
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=TIMEOUT)
    conn.request("POST", "/v1/messages", body=json.dumps(dict(BASIC, stream=True, messages=screenshot_turns(fresh_image()))))
    response = conn.getresponse()
    assert response.status == 200 and response.read1(100)  # keep-alive events while the vision model works
    assert vision.arrived.wait(TIMEOUT)
    left = time.monotonic()
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    line = proxy_log.wait(1, "client gone")[-1].getMessage()
    assert time.monotonic() - left < 3 and "groq/moonshotai/kimi-k2-instruct" in line and fake.received == []


def thinking_tool_reply(reasoning, call_id="call_9"):
    return {"deltas": [{"role": "assistant", "reasoning_content": reasoning},
                       tool_delta(0, '{"command": "ls"}', call_id, "Bash")], "finish": "tool_calls", "usage": (20, 9)}


@pytest.mark.parametrize("model, path", [("deepseek/deepseek-v4-flash", "/deepseek/"), ("moonshot/kimi-k2.6", "/moonshot/")])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_a_thinking_tool_loop_passes_the_strict_provider(client, fake, model, path, stream):
    """Claude Code's loop, fed with the proxy's own answers: the reasoning the model produced
    goes back with its tool call, as DeepSeek and Moonshot require; a forced tool choice
    (Claude Code's {"type": "any"}) is not sent to a thinking Kimi model."""
    fake.replies = [thinking_tool_reply("I will list the files."), text_reply("Two files.")]
    ask = dict(BASIC, model=model, tools=TOOLS, tool_choice={"type": "any"}, messages=[{"role": "user", "content": "ls"}])
    if stream:
        with client.messages.stream(**ask) as s:
            first = s.get_final_message()
    else:
        first = client.messages.create(**ask)
    assert [b.type for b in first.content] == ["thinking", "tool_use"] and first.stop_reason == "tool_use"
    history = ask["messages"] + [{"role": "assistant", "content": [b.model_dump() for b in first.content]},
                                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first.content[1].id,
                                                               "content": "a.py b.py"},
                                                              {"type": "text", "text": "<system-reminder>ok</system-reminder>"}]}]
    second = client.messages.create(**dict(ask, messages=history))
    assert second.content[0].text == "Two files."
    sent = fake.received[-1]
    assert sent[0].startswith(path)
    if path == "/moonshot/":
        assert "tool_choice" not in sent[2]
    replayed = [m for m in sent[2]["messages"] if m["role"] == "assistant"]
    assert replayed[0]["reasoning_content"] == "I will list the files."  # in full, as it came


def test_e2e_an_image_url_reaches_moonshot_as_a_text_naming_it(client, fake):
    message = client.messages.create(**dict(BASIC, model="moonshot/kimi-k2.6", messages=[
        {"role": "user", "content": [{"type": "text", "text": "What is this?"}, IMAGE_URL]}]))
    assert message.content[0].text == "Hello there!"
    assert fake.received[-1][2]["messages"][-1]["content"] == ("What is this?\n\n[image at https://example.com/a.png not sent: "
                                                              "moonshot/kimi-k2.6 takes only inline images]")


def test_e2e_output_limit_of_a_model_litellm_does_not_map(client, fake):
    client.messages.create(**dict(BASIC, model="groq/moonshotai/kimi-k2-instruct", max_tokens=32000))
    path, _, body = fake.received[-1]
    assert path == "/groq/v1/chat/completions" and body["max_tokens"] == 16384


def test_e2e_reasoning_model_parameters_it_refuses_are_dropped(client, fake):
    client.messages.create(**dict(BASIC, model="openai/o3-mini"), extra_body={"temperature": 0.2, "top_p": 0.5})
    body = fake.received[-1][2]
    assert body.get("temperature", 1) == 1 and "top_p" not in body


def test_e2e_scenario_routes(routed_proxy, fake):
    assert raw(routed_proxy, "POST", "/v1/messages", dict(BASIC, messages=[{"role": "user", "content": [B64_IMAGE]}]))[0] == 200
    assert fake.received[-1][0] == "/groq/v1/chat/completions" and fake.received[-1][2]["model"] == "llama-4-scout"
    assert raw(routed_proxy, "POST", "/v1/messages", dict(BASIC, thinking={"type": "enabled", "budget_tokens": 2000}))[0] == 200
    assert fake.received[-1][2]["model"] == "o3-mini"
    long = dict(BASIC, messages=[{"role": "user", "content": "many words here " * 1000}])
    assert raw(routed_proxy, "POST", "/v1/messages", long)[0] == 200
    assert fake.received[-1][0] == "/deepseek/v1/chat/completions"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_fallback_models(routed_proxy, fake, proxy_log, stream):
    fake.replies = [{"status": 429, "headers": {"retry-after": "3"}}, {"status": 503}, text_reply("From the last resort.")]
    status, _, data = raw(routed_proxy, "POST", "/v1/messages", dict(BASIC, model="claude-sonnet-4-6-fallback", stream=stream))
    assert status == 200
    message = cp.fold_events(parse_sse(data)) if stream else json.loads(data)
    assert message["content"][0]["text"] == "From the last resort."
    assert [p for p, _, _ in fake.received] == ["/v1/chat/completions", "/groq/v1/chat/completions", "/deepseek/v1/chat/completions"]
    line = proxy_log.wait(1, "fallback")[-1].getMessage()
    assert "fallback groq/llama-3.1-8b-instant" in line and "fallback deepseek/deepseek-chat" in line


def test_e2e_no_fallback_for_a_bad_request(routed_proxy, fake):
    fake.replies = [{"status": 400}, text_reply()]
    assert raw(routed_proxy, "POST", "/v1/messages", BASIC)[0] == 400
    assert len(fake.received) == 1


# The seed's four providers, each pointed at its fake: (model, fake fixture, path fragment, auth header, its value)
SEEDS = {
    "openai": ("openai/gpt-4.1", "fake", "/v1/chat/completions", "authorization", "Bearer sk-test-openai"),
    "groq": ("groq/llama-3.3-70b-versatile", "fake", "/groq/v1/chat/completions", "authorization", "Bearer gsk-test-groq"),
    "moonshot": ("moonshot/kimi-k2.6", "fake", "/moonshot/v1/chat/completions", "authorization", "Bearer sk-test-moonshot"),
    "gemini": ("gemini/gemini-2.5-flash", "gemini", "/models/gemini-2.5-flash:", "x-goog-api-key", "test-gemini-key"),
}


@pytest.fixture(params=list(SEEDS))
def seed(request, client):
    model, fixture, path, header, value = SEEDS[request.param]
    upstream = request.getfixturevalue(fixture)

    def call(stream=False, **fields):
        request_body = dict(BASIC, model=model, **fields)
        if stream:
            with client.messages.stream(**request_body) as s:
                return s.get_final_message()
        return client.messages.create(**request_body)

    def check_last():
        path_hit, headers, _ = upstream.received[-1]
        assert path in path_hit and headers[header] == value

    return request.param, upstream, call, check_last


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_seed_text(seed, stream):
    name, upstream, call, check_last = seed
    upstream.replies = [text_reply("Plain words.")]
    message = call(stream)
    assert [b.type for b in message.content] == ["text"] and message.content[0].text == "Plain words."
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 5
    check_last()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_seed_tool_round_trip(seed, stream):
    name, upstream, call, check_last = seed
    upstream.replies = [{"deltas": [{"content": "Let me check."}, tool_delta(0, "", "call_1", "Bash"),
                                    tool_delta(0, '{"command": '), tool_delta(0, '"ls"}')], "finish": "tool_calls", "usage": (40, 8)},
                        text_reply("Done.")]
    first = call(stream, tools=TOOLS)
    assert first.stop_reason == "tool_use" and first.content[-1].input == {"command": "ls"}
    tool_id = first.content[-1].id
    assert re.fullmatch(r"[A-Za-z0-9_-]+", tool_id), tool_id
    second = call(stream, tools=TOOLS, messages=[
        {"role": "user", "content": "list"}, {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "a.txt"}]}])
    assert second.content[0].text == "Done."
    check_last()
    sent = upstream.received[-1][2]
    if name == "gemini":  # the thought signature goes back on the functionCall part, intact
        calls = [p for c in sent["contents"] for p in c["parts"] if "function_call" in p or "functionCall" in p]
        assert calls and base64.b64decode(calls[0]["thoughtSignature"]).startswith(b"\xfb\xff")
        assert "a.txt" in json.dumps(sent["contents"])
    else:
        assert sent["messages"][1]["tool_calls"][0]["id"] == cp.provider_tool_id(tool_id) == "call_1" != tool_id
        assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_seed_parallel_tools(seed, stream):
    name, upstream, call, check_last = seed
    upstream.replies = [{"deltas": [tool_delta(0, "", "call_a", "Bash"), tool_delta(1, "", "call_b", "Read"),
                                    tool_delta(0, '{"command": "pwd"}'), tool_delta(1, '{"path": "x"}')],
                         "finish": "tool_calls", "usage": (30, 10)}]
    message = call(stream, tools=TOOLS)
    assert [(b.name, b.input) for b in message.content] == [("Bash", {"command": "pwd"}), ("Read", {"path": "x"})]
    assert len({b.id for b in message.content}) == 2 and message.stop_reason == "tool_use"
    check_last()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("seed", ["openai", "gemini"], indirect=True)
def test_seed_stop_sequences_beyond_the_providers_limit(seed, stream):
    """More stop sequences than the provider takes (OpenAI 4, Gemini 5; each strict fake refuses
    more): it gets the first ones, and the proxy ends the reply at the others itself, as
    Anthropic would end it: the text before the sequence, stop_reason stop_sequence, the sequence."""
    name, upstream, call, check_last = seed
    stops = ["S1", "S2", "S3", "S4", "S5", "<END>"]
    upstream.replies = [{"deltas": [{"content": "Hello <E"}, {"content": "ND> and more"}, {"content": " words"}],
                         "finish": "stop", "usage": (9, 6)}]
    message = call(stream, stop_sequences=stops)
    assert [b.text for b in message.content] == ["Hello "]
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "<END>") and message.usage.output_tokens >= 1
    config = upstream.received[-1][2].get("generationConfig") or {}
    sent = upstream.received[-1][2].get("stop") or config.get("stopSequences") or config.get("stop_sequences")
    assert sent == stops[:len(sent)] and len(sent) in ((4, 5) if name == "gemini" else (4,))  # litellm sends at most 4
    check_last()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_seed_thinking(seed, stream):
    name, upstream, call, check_last = seed
    upstream.replies = [{"deltas": [{"reasoning_content": "Two and two."}, {"content": "4"}], "finish": "stop", "usage": (9, 6)}]
    message = call(stream, extra_body={"thinking": {"type": "enabled", "budget_tokens": 2048}})
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == "Two and two." and message.content[0].signature and message.content[1].text == "4"
    check_last()
    if name == "gemini":
        assert upstream.received[-1][2]["generationConfig"]["thinkingConfig"]["includeThoughts"] is True


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("status, exc_name, error_type", [(429, "RateLimitError", "rate_limit_error"),
                                                           (500, "InternalServerError", "api_error"),
                                                           (503, "InternalServerError", "overloaded_error"),
                                                           (401, "AuthenticationError", "authentication_error")])
def test_seed_errors(seed, stream, status, exc_name, error_type):
    import anthropic

    name, upstream, call, check_last = seed
    upstream.replies = [{"status": status, "headers": {"retry-after": "7"}, "body": {"error": {"message": f"scripted {status}"}}}]
    with pytest.raises(getattr(anthropic, exc_name)) as caught:
        call(stream)
    assert caught.value.body["error"]["type"] == error_type and "scripted" in caught.value.body["error"]["message"]
    if status == 429:
        assert caught.value.response.headers["retry-after"] == "7"
    assert len(upstream.received) == 1
    check_last()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_gemini_tool_loop_with_text_after_the_results_alternates_turns(client, gemini, stream):
    """Claude Code puts a <system-reminder> after tool results in the same user turn; Gemini
    takes only alternating turns, and a function-response turn of nothing but the responses,
    so the text goes into the last result. Parallel calls, fed with the proxy's own answer."""
    gemini.replies = [PARALLEL, text_reply("Both read.")]
    ask = dict(BASIC, model="gemini/gemini-2.5-flash", tools=TOOLS, messages=[{"role": "user", "content": "read both"}])
    if stream:
        with client.messages.stream(**ask) as s:
            first = s.get_final_message()
    else:
        first = client.messages.create(**ask)
    calls = [b for b in first.content if b.type == "tool_use"]
    assert len(calls) == 2
    results = [{"type": "tool_result", "tool_use_id": c.id, "content": f"output {n}"} for n, c in enumerate(calls)]
    history = ask["messages"] + [{"role": "assistant", "content": [b.model_dump() for b in first.content]},
                                 {"role": "user", "content": results + [
                                     {"type": "text", "text": "<system-reminder>todo list empty</system-reminder>"}]}]
    second = client.messages.create(**dict(ask, messages=history))
    assert second.content[0].text == "Both read."
    contents = gemini.received[-1][2]["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user"]
    assert "todo list empty" in json.dumps(contents[-1])  # not lost: inside the last function response


def ask_message(client, stream, **body):
    if stream:
        with client.messages.stream(**body) as s:
            return s.get_final_message()
    return client.messages.create(**body)


@pytest.mark.parametrize("model", ["gemini/gemini-2.5-flash", "gemini/gemini-3-flash-preview"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_gemini_claude_code_session_passes_the_strict_fake(client, proxy, gemini, model, stream):
    """A Claude Code loop on Gemini, each turn fed the proxy's own answer: thinking and parallel
    calls; their results (one an image) with a system reminder after them; a later system entry;
    thinking and one more call; the last answer. The fake refuses what Gemini refuses (turns that
    do not alternate, a function-response turn with anything else, Gemini 3's calls without their
    thought signature, schema keywords outside its subset)."""
    gemini.replies = [{"deltas": [{"reasoning_content": "Two files."}] + PARALLEL["deltas"], "finish": "tool_calls", "usage": (40, 8)},
                      {"deltas": [{"reasoning_content": "Now grep."}, {"content": "One more."},
                                  tool_delta(0, '{"command": "grep x"}', "call_c", "Bash")], "finish": "tool_calls", "usage": (60, 9)},
                      text_reply("All done.")]
    body = dict(BASIC, model=model, max_tokens=2000, tools=PROTOCOL_BODY["tools"][:1] + TOOLS, system="You are Claude Code.",
                thinking={"type": "enabled", "budget_tokens": 2048}, messages=[{"role": "user", "content": "read both"}])
    first = ask_message(client, stream, **body)
    assert [b.type for b in first.content] == ["thinking", "tool_use", "tool_use"] and first.stop_reason == "tool_use"
    calls = first.content[1:]
    results = [{"type": "tool_result", "tool_use_id": calls[0].id, "content": [{"type": "text", "text": "a picture"},
                                                                             {"type": "image", "source": {"type": "base64",
                                                                              "media_type": "image/png", "data": PNG}}]},
               {"type": "tool_result", "tool_use_id": calls[1].id, "content": "a.txt b.txt"}]
    body["messages"] += [{"role": "assistant", "content": [b.model_dump() for b in first.content]},
                         {"role": "user", "content": results + [{"type": "text", "text": "<system-reminder>r</system-reminder>"}]},
                         {"role": "system", "content": "Mid-conversation note."}]
    second = ask_message(client, stream, **body)
    assert [b.type for b in second.content] == ["thinking", "text", "tool_use"] and second.content[2].input == {"command": "grep x"}
    body["messages"] += [{"role": "assistant", "content": [b.model_dump() for b in second.content]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": second.content[2].id, "content": "x"}]}]
    third = ask_message(client, stream, **body)
    assert third.content[0].text == "All done." and third.stop_reason == "end_turn"
    sent = gemini.received[-1][2]
    assert [c["role"] for c in sent["contents"]] == ["user", "model", "user", "model", "user", "model", "user"]
    assert "Mid-conversation note." in json.dumps(sent["contents"]) and "Mid-conversation" not in json.dumps(
        google_field(sent, "systemInstruction"))
    signed = [p for c in sent["contents"] for p in c["parts"] if google_field(p, "thoughtSignature")]
    assert len(signed) == 2 and all(base64.b64decode(google_field(p, "thoughtSignature")).startswith(b"\xfb\xff") for p in signed)
    assert any(google_field(p, "inlineData") for p in sent["contents"][4]["parts"])  # the image, after the placeholder turn
    assert [path for path, _, _ in gemini.received[-3:]] == [
        f"/models/{model.partition('/')[2]}:" + ("streamGenerateContent?alt=sse" if stream else "generateContent")] * 3
    direct = proxy.config.via == "auto"  # Gemini goes direct unless PROXY_VIA=litellm
    assert all((headers["user-agent"] == "claude_proxy") is direct for _, headers, _ in gemini.received[-3:])


def test_gemini_count_tokens_is_geminis_own_on_the_direct_path(client, proxy, gemini):
    """count_tokens for a Gemini model: on the direct path Gemini's countTokens (the system prompt, the tools
    and the messages, in the request it would get), so no litellm is needed; through litellm, litellm's count."""
    body = dict(model="gemini/gemini-2.5-flash", system="Be brief.", tools=TOOLS, messages=[{"role": "user", "content": "hi"}])
    counted = client.messages.count_tokens(**body).input_tokens
    asked = [(path, b) for path, _, b in gemini.received if path.endswith(":countTokens")]
    if proxy.config.via == "auto":
        (path, sent), = asked
        assert path == "/models/gemini-2.5-flash:countTokens" and counted == len(json.dumps(sent["generateContentRequest"])) // 4 + 1
        assert sent["generateContentRequest"]["model"] == "models/gemini-2.5-flash"
        assert google_field(sent["generateContentRequest"], "systemInstruction") and sent["generateContentRequest"]["tools"]
    else:
        assert not asked and counted > 0


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="reads the proxy process's /proc entries")
def test_a_claude_code_turn_on_gemini_needs_no_litellm(fake, gemini, tmp_path):
    """From process start, a streamed tool turn and a count on Gemini are served by the direct path alone:
    none of litellm's compiled modules (pydantic's core, tiktoken) is loaded, the RSS stays small; a count
    that litellm makes then loads them (so the check can fail)."""
    gemini.replies = [PARALLEL]
    started = time.monotonic()
    with proxy_process(fake, tmp_path, gemini, BIG_MODEL="gemini/gemini-2.5-flash",
                       SMALL_MODEL="gemini/gemini-2.5-flash") as (process, port):
        server = type("Address", (), {"server_address": ("127.0.0.1", port)})
        status, _, data = raw(server, "POST", "/v1/messages", dict(BASIC, stream=True, tools=TOOLS))
        first_answer = time.monotonic() - started
        assert status == 200 and b"message_stop" in data and b'"tool_use"' in data
        assert raw(server, "POST", "/v1/messages/count_tokens", dict(BASIC, tools=TOOLS))[0] == 200

        def loaded():
            with open(f"/proc/{process.pid}/maps") as f:
                maps = f.read()
            return {name for name in ("pydantic_core", "tiktoken") if name in maps}

        with open(f"/proc/{process.pid}/status") as f:
            rss_mb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
        assert loaded() == set() and rss_mb < 80, (loaded(), rss_mb)
        assert first_answer < 10  # about 0.3 s on the development machine (bench.py --provider gemini); generous for CI
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3 * TIMEOUT)  # litellm's import, on a busy machine
        try:  # a count for an OpenAI-compatible model is litellm's: it imports litellm
            conn.request("POST", "/v1/messages/count_tokens", json.dumps(dict(BASIC, model="openai/gpt-4.1")))
            assert conn.getresponse().status == 200
        finally:
            conn.close()
        assert loaded(), "litellm's modules should show once litellm has served a request"


def test_gemini_count_tokens_estimates_when_gemini_cannot_count(fake, gemini):
    gemini.replies = [{"status": 503, "body": {"error": {"message": "busy"}}}]
    with running_proxy(fake, None) as server:  # Gemini at a closed port: nothing answers
        status, _, data = raw(server, "POST", "/v1/messages/count_tokens", {"model": "gemini/gemini-2.5-flash",
                                                                           "messages": [{"role": "user", "content": "hi " * 400}]})
    assert status == 200 and 200 < json.loads(data)["input_tokens"] < 1200


def google_field(body: dict, name: str):
    """A field of a Gemini request by its REST (camelCase) name or its proto name (snake_case):
    Google's JSON reader takes both, litellm sends the one, the direct path the other."""
    return body.get(name, body.get(re.sub(r"[A-Z]", lambda m: "_" + m.group().lower(), name)))


def test_gemini_schema_cleaned_and_system_entries_in_their_turns(client, gemini):
    tools = [{"name": "Search", "description": "s", "input_schema": PROTOCOL_BODY["tools"][0]["input_schema"]},
             {"name": "Mode", "description": "m", "input_schema": {"type": "object", "properties": {"kind": {"const": "search"}},
                                                                  "required": None}}]
    client.messages.create(**dict(BASIC, model="gemini/gemini-2.5-flash", tools=tools, system="Be brief.",
                                  messages=[{"role": "user", "content": "hi"}, {"role": "system", "content": "Late note."}]))
    sent = gemini.received[-1][2]
    declarations = {d["name"]: d["parameters"] for d in google_field(sent["tools"][0], "functionDeclarations")}
    text = json.dumps(declarations)
    for rejected in ("$schema", "additionalProperties", "propertyNames", "exclusiveMinimum", '"const"'):
        assert rejected not in text, rejected
    assert declarations["Mode"]["properties"]["kind"] == {"type": "string", "enum": ["search"]}
    assert declarations["Search"]["properties"]["kind"]["enum"] == ["x"]
    assert [p["text"] for p in google_field(sent, "systemInstruction")["parts"]] == ["Be brief."]  # the late note: in its turn
    assert sent["contents"][-1]["parts"] == [{"text": "hi\n\n<system-reminder>\nLate note.\n</system-reminder>"}]


# ----------------------------------------------------------------------------------------
# OpenAI's Responses API: the request, the events and the answer as tables; then end to end
# ----------------------------------------------------------------------------------------

CODEX = "openai/gpt-5.3-codex"  # litellm's map: mode "responses", reasoning, xhigh effort
RESPONSES_CONFIG = cp.Config.from_env({"OPENAI_API_KEY": "sk-test-openai"})


def responses_body(body, target=CODEX, session=""):
    attempt = cp.prepare_attempt(body, target, RESPONSES_CONFIG, cp.Caller(session=session))
    assert attempt.path.name == "responses"
    return cp.to_responses_request(attempt.params, attempt.quirks, attempt.facts)


MINTED = "gAAAAB-minted"
ASKED = {"role": "user", "content": "list"}
RESPONSES_REQUEST_CASES = [
    ("text, system, no reasoning asked", req([{"role": "user", "content": "Hi"}], system="Be brief"), CODEX, lambda b: (
        b["instructions"] == "Be brief" and b["input"] == [{"type": "message", "role": "user", "content": "Hi"}]
        and b["store"] is False and b["max_output_tokens"] == 1000 and b["include"] == ["reasoning.encrypted_content"]
        and "reasoning" not in b and b["model"] == "gpt-5.3-codex")),
    ("a forced Responses target of a chat model", req([{"role": "user", "content": "Hi"}]), "openai/responses/gpt-4.1",
     lambda b: b["model"] == "gpt-4.1" and "include" not in b and "reasoning" not in b),
    ("thinking becomes the effort, with a summary", req([ASKED], thinking={"type": "enabled", "budget_tokens": 31999}), CODEX,
     lambda b: b["reasoning"] == {"effort": "high", "summary": "auto"}),
    ("xhigh where the model takes it", req([ASKED], thinking={"type": "adaptive"}, output_config={"effort": "xhigh"}), CODEX,
     lambda b: b["reasoning"]["effort"] == "xhigh"),
    ("tools are not strict; any is required", req([ASKED], tools=TOOLS, tool_choice={"type": "any"}), CODEX, lambda b: (
        b["tools"][0] == {"type": "function", "name": "Bash", "description": "Run a command", "strict": False,
                          "parameters": TOOLS[0]["input_schema"]} and b["tool_choice"] == "required")),
    ("a named tool", req([ASKED], tools=TOOLS, tool_choice={"type": "tool", "name": "Read"}), CODEX,
     lambda b: b["tool_choice"] == {"type": "function", "name": "Read"}),
    ("no stop sequences; no temperature for a reasoning model; at least 16 tokens",
     req([ASKED], stop_sequences=["END"], temperature=0.5, max_tokens=5), CODEX,
     lambda b: "stop" not in b and "temperature" not in b and b["max_output_tokens"] == 16),
    ("the session's prompt cache key", req([ASKED]), CODEX, lambda b: b["prompt_cache_key"] == cp.hashed_user("s-1")),
    ("a tool loop with its reasoning replayed, the text before the call",
     req([ASKED, {"role": "assistant", "content": [
         {"type": "thinking", "thinking": "Plan", "signature": cp.thinking_signature(CODEX, MINTED)},
         {"type": "text", "text": "Listing."}, {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}, B64_IMAGE]}],
         tools=TOOLS), CODEX,
     lambda b: b["input"][1:] == [
         {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan"}], "encrypted_content": MINTED},
         {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Listing."}]},
         {"type": "function_call", "call_id": "toolu_1", "name": "Bash", "arguments": '{"command": "ls"}'},
         {"type": "function_call_output", "call_id": "toolu_1", "output": "a.txt"},
         {"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=",
                                                           "detail": "auto"}]}]),
    ("reasoning between the text and the call stays there, each item before what it produced",
     req([ASKED, {"role": "assistant", "content": [
         {"type": "thinking", "thinking": "One", "signature": cp.thinking_signature(CODEX, MINTED)},
         {"type": "text", "text": "Looking."}]}, {"role": "assistant", "content": [
         {"type": "thinking", "thinking": "Two", "signature": cp.thinking_signature(CODEX, MINTED + "2")},
         {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {}},
         {"type": "thinking", "thinking": "Three", "signature": cp.thinking_signature(CODEX, MINTED + "3")},
         {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {}},
         {"type": "thinking", "thinking": "dangling", "signature": cp.thinking_signature(CODEX, MINTED + "4")}]},
          {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "1"},
                                       {"type": "tool_result", "tool_use_id": "toolu_2", "content": "2"}]}], tools=TOOLS), CODEX,
     lambda b: [(i["type"], (i.get("summary") or [{}])[0].get("text") or i.get("call_id")) for i in b["input"][1:5]] == [
         ("reasoning", "One"), ("message", None), ("reasoning", "Two"), ("function_call", "toolu_1")]
     and [i["type"] for i in b["input"][5:]] == ["reasoning", "function_call", "function_call_output", "function_call_output"]
     and "dangling" not in json.dumps(b)),
    ("a PDF, and a system message mid-conversation",
     req([{"role": "user", "content": [{"type": "document", "title": "spec.pdf", "source": {
         "type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}}, {"type": "text", "text": "Summarise"}]},
          {"role": "assistant", "content": "Sure."}, {"role": "system", "content": "Be terse."},
          {"role": "user", "content": "Go"}]), CODEX,
     lambda b: b["input"][0]["content"] == [
         {"type": "input_file", "filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBERi0="},
         {"type": "input_text", "text": "Summarise"}] and b["input"][2] == {"type": "message", "role": "system",
                                                                             "content": "Be terse."}),
    ("hidden reasoning replayed with an empty summary; another model's is not",
     req([ASKED, {"role": "assistant", "content": [
         {"type": "thinking", "thinking": "", "signature": cp.thinking_signature(CODEX, MINTED)},
         {"type": "thinking", "thinking": "theirs", "signature": cp.thinking_signature("openai/o3-pro", "gAAAAB-other")},
         {"type": "text", "text": "Done."}]}, {"role": "user", "content": "more"}]), CODEX,
     lambda b: [i for i in b["input"] if i["type"] == "reasoning"] == [{"type": "reasoning", "summary": [],
                                                                       "encrypted_content": MINTED}]),
]


@pytest.mark.parametrize("case, body, target, check", RESPONSES_REQUEST_CASES, ids=[c[0] for c in RESPONSES_REQUEST_CASES])
def test_responses_request_translation(case, body, target, check):
    translated = responses_body(body, target, session="s-1")
    assert check(translated), json.dumps(translated, indent=1)
    assert responses_refusal(translated, {MINTED, MINTED + "2", MINTED + "3"}) is None  # and the fake's rules, OpenAI's, all pass


@pytest.mark.parametrize("env, target, expected", [
    ({}, CODEX, "https://api.openai.com/v1/responses"),
    ({"OPENAI_BASE_URL": "http://10.0.0.5:8000/v1/"}, "openai/gpt-5.2-pro", "http://10.0.0.5:8000/v1/responses"),
    ({}, "openai/responses/gpt-4.1", "https://api.openai.com/v1/responses"),
    ({}, "openai/gpt-4.1", None),  # chat completions
    ({}, "groq/responses/llama-3.1-8b-instant", None),  # no Responses API in the table for it
    ({"PROXY_VIA": "litellm"}, CODEX, None),
])
def test_responses_url(env, target, expected):
    assert cp.responses_url(target, cp.Config.from_env(env), cp.model_facts(target)) == expected


class Minting:
    """A stand-in for the fake server's state that response_items needs."""

    def __init__(self):
        self.counter, self.minted = 0, set()


RESPONSES_STREAM_CASES = [
    ("text", text_reply("Hello there!"), [{"type": "text", "text": "Hello there!"}], "end_turn"),
    ("reasoning then text", {"deltas": [{"reasoning_content": "Let"}, {"reasoning_content": " me."}, {"content": "7"}],
                             "finish": "stop", "usage": (5, 3)}, [{"type": "thinking", "thinking": "Let me."},
                                                                  {"type": "text", "text": "7"}], "end_turn"),
    ("hidden reasoning then a call", {"deltas": [tool_delta(0, "", "call_1", "Bash"), tool_delta(0, '{"command"'),
                                                 tool_delta(0, ': "ls"}')], "finish": "tool_calls", "usage": (5, 3),
                                      "hidden_reasoning": True},
     [{"type": "thinking", "thinking": ""}, {"type": "tool_use", "name": "Bash", "input": {"command": "ls"}}], "tool_use"),
    ("two calls", {"deltas": [{"content": "Both."}, tool_delta(0, "", "call_a", "Read"), tool_delta(1, "", "call_b", "Bash"),
                              tool_delta(0, '{"path": "a"}'), tool_delta(1, '{"command": "b"}')], "finish": "tool_calls",
                   "usage": (5, 3)},
     [{"type": "text", "text": "Both."}, {"type": "tool_use", "name": "Read", "input": {"path": "a"}},
      {"type": "tool_use", "name": "Bash", "input": {"command": "b"}}], "tool_use"),
    ("cut by max_output_tokens", text_reply("Hel", finish="length"), [{"type": "text", "text": "Hel"}], "max_tokens"),
]


def relayed(chunks, target=CODEX):
    translator = cp.StreamTranslator("msg_1", "claude-sonnet-4-6", signature=cp.thinking_signature(target))
    events = []
    for chunk in chunks:
        events += translator.feed(chunk)
    return events + translator.finish()


@pytest.mark.parametrize("case, reply, content, stop_reason", RESPONSES_STREAM_CASES, ids=[c[0] for c in RESPONSES_STREAM_CASES])
def test_responses_events_and_the_folded_stream_equals_the_json_answer(case, reply, content, stop_reason):
    items = response_items(dict(reply, usage=reply["usage"]), Minting())
    events = ResponsesEvents_of(reply, items)
    streamed = relayed(events)
    check_protocol(streamed)
    folded = cp.fold_events(streamed)
    answer = cp.fold_events(relayed(cp.responses_answer_chunks(response_object(
        reply, "gpt-5.3-codex", items, "incomplete" if reply["finish"] == "length" else "completed"))))
    plain = lambda message: [dict(b, id=cp.provider_tool_id(b["id"])) if b["type"] == "tool_use" else b for b in message["content"]]
    assert plain(folded) == plain(answer) and folded["stop_reason"] == answer["stop_reason"] == stop_reason
    assert folded["usage"] == answer["usage"]
    assert [{k: v for k, v in b.items() if k in ("type", "text", "thinking", "name", "input")} for b in folded["content"]] == content
    for block, item in zip([b for b in folded["content"] if b["type"] == "thinking"], [i for i in items if i["type"] == "reasoning"]):
        assert block["signature"] == cp.thinking_signature(CODEX, item["encrypted_content"])  # the reasoning goes back
    calls = [i["call_id"] for i in items if i["type"] == "function_call"]
    assert [cp.provider_tool_id(b["id"]) for b in folded["content"] if b["type"] == "tool_use"] == calls


def ResponsesEvents_of(reply, items):
    """The chunks a ResponsesEvents makes of a scripted reply's stream events."""
    machine, chunks = cp.ResponsesEvents(), []
    for n, (kind, data) in enumerate(response_events(reply, "gpt-5.3-codex", items)):
        chunks += machine.feed(dict(data, type=kind, sequence_number=n))
    assert machine.ended
    return chunks


def test_responses_usage_counts_cached_and_reasoning_tokens():
    reply = dict(text_reply("Hi"), usage=(1000, 50), cached=800, reasoning_tokens=20)
    items = response_items(reply, Minting())
    chunks = ResponsesEvents_of(reply, items)
    usage = cp.fold_events(relayed(chunks))["usage"]
    assert (usage["input_tokens"], usage["cache_read_input_tokens"], usage["output_tokens"]) == (200, 800, 50)
    assert cp.usage_count(chunks[-1]["usage"], cp.REASONING_TOKEN_FIELDS) == 20


@pytest.mark.parametrize("event, status, error_type", [
    ({"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error", "message": "boom"}}},
     500, "api_error"),
    ({"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded", "message": "slow"}}}, 429, "rate_limit_error"),
    ({"type": "response.failed", "response": {"error": {"code": "invalid_prompt", "message": "no"}}}, 400, "invalid_request_error"),
    ({"type": "error", "code": "server_error", "message": "boom", "param": None}, 500, "api_error"),
    ({"type": "error", "message": "unknown"}, 500, "api_error"),
])
def test_responses_failures_raise_their_error(event, status, error_type):
    with pytest.raises(cp.ProviderHTTPError) as caught:
        cp.ResponsesEvents().feed(event)
    error = cp.map_provider_error(caught.value)
    assert (error.status, error.error_type) == (status, error_type) and error.message == event.get("message", "x") or \
        error.message == (event.get("response") or {}).get("error", {}).get("message")


@pytest.mark.parametrize("data, fast", [
    ({"type": "response.output_text.delta", "sequence_number": 4, "item_id": "msg_1", "output_index": 0, "content_index": 0,
      "delta": "Hi \"you\"\n", "logprobs": [], "obfuscation": "a1B2"}, True),
    ({"delta": "ünï 漢 🎉", "logprobs": [], "type": "response.output_text.delta", "sequence_number": 5}, True),
    ({"type": "response.output_text.delta", "delta": "x", "logprobs": [{"token": "x", "logprob": -0.1}]}, False),
    ({"type": "response.output_text.delta", "delta": "", "sequence_number": 1}, False),  # nothing to say
    ({"type": "response.refusal.delta", "delta": "no", "sequence_number": 1}, False),
    ({"type": "response.output_text.delta", "delta": "\u0001", "sequence_number": 1}, False),  # not json.dumps' escaping
])
@pytest.mark.parametrize("separators", [(",", ":"), (", ", ": ")])
def test_responses_text_deltas_recognised_by_their_bytes_give_what_parsing_gives(data, fast, separators):
    block = b"event: %s\n" % data["type"].encode() + b"data: " + json.dumps(data, ensure_ascii=False, separators=separators).encode()
    items = cp.ResponsesDecoder().feed(block + b"\n\n")
    assert (type(items[0]) is cp.TextRun if items else False) == fast
    assert [c for item in items for c in as_chunks(item)] == cp.ResponsesEvents().feed(data)


def test_responses_decoder_gives_the_same_chunks_however_the_body_is_cut():
    reply = {"deltas": [{"reasoning_content": "Hm"}, {"content": "ünï 漢"}, tool_delta(0, "", "call_1", "Bash"),
                        tool_delta(0, '{"command": "ls"}')], "finish": "tool_calls", "usage": (5, 3)}
    items = response_items(reply, Minting())
    body = b"".join(f"event: {kind}\ndata: {json.dumps(dict(data, type=kind, sequence_number=n))}\n\n".encode()
                    for n, (kind, data) in enumerate(response_events(reply, "m", items))) + b"event: ignored\ndata: {}\n\n"
    expected = ResponsesEvents_of(reply, items)
    for size in (1, 7, 64, len(body)):
        decoder, chunks = cp.ResponsesDecoder(), []
        for piece in split_every(body, size):
            chunks += [chunk for item in decoder.feed(piece) for chunk in as_chunks(item)]
        decoder.finish()
        assert chunks == expected and decoder.saw_finish
    cut = cp.ResponsesDecoder()
    cut.feed(body[:len(body) // 2])
    with pytest.raises(http.client.IncompleteRead):
        cut.finish()  # no response.completed: the stream was cut


@contextlib.contextmanager
def codex_proxy(fake, **env):
    env = dict({"BIG_MODEL": CODEX}, **env)
    if env.get("PROXY_VIA") == "litellm":
        cp.load_litellm()
    with running_proxy(fake, **env) as server:
        yield server, pytest.importorskip("anthropic").Anthropic(base_url=server.url, api_key="client-key-never-forwarded",
                                                                 max_retries=0, timeout=TIMEOUT)


def ask(client, stream, **fields):
    fields = dict({"model": "claude-sonnet-4-6", "max_tokens": 1000, "messages": [{"role": "user", "content": "list files"}]},
                  **fields)
    if not stream:
        return client.messages.create(**fields).model_dump()
    with client.messages.stream(**fields) as events:
        return events.get_final_message().model_dump()


REASONED_CALL = {"deltas": [{"reasoning_content": "Let me"}, {"reasoning_content": " look."}, {"content": "Listing."},
                            tool_delta(0, "", "call_1", "Bash"), tool_delta(0, '{"comm'), tool_delta(0, 'and": "ls"}')],
                 "finish": "tool_calls", "usage": (100, 20), "cached": 60, "reasoning_tokens": 7}


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("hidden", [False, True], ids=["summary", "hidden reasoning"])
def test_e2e_codex_answers_text_tools_and_reasoning_over_the_responses_api(fake, stream, hidden):
    """A codex model: turn 1 thinks, says a word and calls Bash; turn 2 (with the result) has its
    reasoning back, encrypted, before the text and the call, and answers. Nothing goes to chat completions."""
    first = dict(REASONED_CALL, deltas=REASONED_CALL["deltas"][2:], hidden_reasoning=True) if hidden else REASONED_CALL
    fake.replies = [first, {"deltas": [{"reasoning_content": "Done."}, {"content": "a.txt is there."}], "finish": "stop",
                            "usage": (150, 9)}]
    with codex_proxy(fake) as (_, client):
        turn = dict(tools=TOOLS, thinking={"type": "enabled", "budget_tokens": 2000})
        message = ask(client, stream, **turn)
        kinds = [b["type"] for b in message["content"]]
        assert kinds == ["thinking", "text", "tool_use"] and message["stop_reason"] == "tool_use"
        assert message["content"][0]["thinking"] == ("" if hidden else "Let me look.")
        assert message["content"][2]["input"] == {"command": "ls"}
        assert message["usage"]["cache_read_input_tokens"] == 60 and message["usage"]["input_tokens"] == 40
        history = [{"role": "user", "content": "list files"}, {"role": "assistant", "content": message["content"]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": message["content"][2]["id"], "content": "a.txt"}]}]
        final = ask(client, stream, messages=history, **turn)
    assert [b["type"] for b in final["content"]] == ["thinking", "text"] and final["content"][1]["text"] == "a.txt is there."
    paths = [path for path, _, _ in fake.received]
    assert paths == ["/v1/responses", "/v1/responses"]
    _, headers, second = fake.received[1]
    assert headers["authorization"] == "Bearer sk-test-openai"
    assert [i["type"] for i in second["input"]] == ["message", "reasoning", "message", "function_call", "function_call_output"]
    assert second["input"][1]["encrypted_content"] in fake.minted and second["input"][3]["call_id"] == "call_1"


@pytest.mark.parametrize("stream", [False, True])
def test_e2e_responses_errors_are_anthropic_shaped(fake, stream):
    rate_limited = {"status": 429, "headers": {"retry-after": "7"},
                    "body": {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}}
    failed = {"deltas": [], "finish": None, "usage": (1, 0), "events": [
        ("response.created", {"response": {"status": "in_progress"}}),
        ("response.failed", {"response": {"status": "failed", "error": {"code": "server_error", "message": "The model broke."}}})]}
    anthropic = pytest.importorskip("anthropic")
    with codex_proxy(fake) as (_, client):
        fake.replies = [rate_limited]
        with pytest.raises(anthropic.RateLimitError) as caught:
            ask(client, stream)
        assert caught.value.response.headers["retry-after"] == "7"
        fake.replies = [failed]
        with pytest.raises(anthropic.InternalServerError) as caught:
            ask(client, stream)
        assert "The model broke." in str(caught.value)


def test_e2e_responses_stream_broken_after_its_start_ends_with_an_error_event(fake):
    fake.replies = [dict(text_reply("Hello there, world"), cut_after=5)]  # after the first text delta
    with codex_proxy(fake) as (proxy, _):
        status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, stream=True))
    events = parse_sse(data)
    assert status == 200 and events[-1][0] == "error" and "message_stop" not in [name for name, _ in events]


def test_e2e_a_silent_codex_model_gets_keepalive_events_and_its_reasoning_still_goes_back(fake):
    """While the model thinks in silence the client gets keep-alive content (an empty thinking
    block); the summary then continues that block, and the reasoning's seal signs it."""
    fake.replies = [{"deltas": [{"reasoning_content": "Deep"}, {"reasoning_content": " thought."}, {"content": "42"}],
                     "finish": "stop", "usage": (10, 5), "pauses": {2: 0.7}}]  # before the reasoning item
    with codex_proxy(fake, KEEPALIVE_SECONDS="0.2") as (proxy, _):
        status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, stream=True))
    events = parse_sse(data)  # (the keep-alive deltas are empty by design: check_protocol would refuse them)
    assert status == 200 and [name for name, _ in events].count("ping") >= 3
    message = cp.fold_events(events)
    assert [(b["type"], b.get("thinking", b.get("text"))) for b in message["content"]] == [("thinking", "Deep thought."),
                                                                                          ("text", "42")]
    assert message["content"][0]["signature"].partition(cp.REASONING_MARK)[2] in fake.minted


def test_e2e_a_codex_model_through_litellms_responses_bridge(fake):
    """PROXY_VIA=litellm: litellm's own bridge posts to /responses with what responses_params gives it
    (store false, encrypted reasoning asked for, tools not strict): text, tools and the reasoning
    summary arrive. What it does not do (README, Providers): hand back the encrypted reasoning, so a
    later turn goes without it, and it names a call by its item id (fc_...) rather than its call_id."""
    fake.replies = [REASONED_CALL, text_reply("a.txt is there.")]
    with codex_proxy(fake, PROXY_VIA="litellm") as (_, client):
        turn = dict(tools=TOOLS, thinking={"type": "enabled", "budget_tokens": 2000})
        message = ask(client, True, **turn)
        assert [b["type"] for b in message["content"]] == ["thinking", "text", "tool_use"]
        assert message["content"][0]["thinking"] == "Let me look." and message["content"][2]["input"] == {"command": "ls"}
        history = [{"role": "user", "content": "list files"}, {"role": "assistant", "content": message["content"]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": message["content"][2]["id"], "content": "a.txt"}]}]
        assert ask(client, False, messages=history, **turn)["content"][0]["text"] == "a.txt is there."
    (_, _, first), (_, _, second) = fake.received
    assert first["store"] is False and first["include"] == ["reasoning.encrypted_content"]
    assert all(tool["strict"] is False for tool in first["tools"])
    assert "reasoning" not in [i["type"] for i in second["input"]]  # the limit README names; a fix shows here


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("via", ["direct", "litellm"])
def test_e2e_stop_sequences_on_a_responses_model(fake, via, stream):
    """The Responses API takes no stop sequences, and litellm's bridge sends none: on either path
    the proxy ends the reply at them itself, the first four (what litellm would send) as well."""
    fake.replies = [{"deltas": [{"content": "Hello <E"}, {"content": "ND> and more"}], "finish": "stop", "usage": (9, 6)}]
    with codex_proxy(fake, **({"PROXY_VIA": via} if via == "litellm" else {})) as (_, client):
        message = ask(client, stream, stop_sequences=["<END>", "S2", "S3", "S4", "S5"])
    assert [b["text"] for b in message["content"]] == ["Hello "]
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "<END>")
    path, _, body = fake.received[-1]
    assert path.endswith("/responses") and "stop" not in body


# ----------------------------------------------------------------------------------------
# both paths: the same scripted provider replies give the same Anthropic answers
# ----------------------------------------------------------------------------------------

HISTORY = [{"role": "user", "content": [{"type": "text", "text": "List files"}, {"type": "text", "text": "please"}]},
           {"role": "assistant", "content": [{"type": "thinking", "thinking": "Use Bash.", "signature": "sig"},
                                             {"type": "text", "text": "Checking."},
                                             {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}}]},
           {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt"},
                                        {"type": "text", "text": "and now?"}]}]
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
PARALLEL = {"deltas": [tool_delta(0, "", "call_a", "Read"), tool_delta(1, "", "call_b", "Bash"), tool_delta(0, '{"path"'),
                       tool_delta(1, '{"command": "ls"}'), tool_delta(0, ': "x"}')], "finish": "tool_calls", "usage": (40, 8)}
THOUGHTFUL = {"deltas": [{"reasoning_content": "Think"}, {"reasoning_content": "ing."}, {"content": "Done"}],
              "finish": "stop", "usage": (30, 12)}
BOTH_PATH_CASES = [
    ("text", "openai/gpt-4.1", BASIC, text_reply("Hello there, friend!")),
    ("sampling", "openai/gpt-4.1", dict(BASIC, temperature=0.3, top_p=0.9, stop_sequences=["END"],
                                        metadata={"user_id": "user-1"}), text_reply("Fine", finish="length")),
    ("system and tools", "openai/gpt-4.1", dict(BASIC, system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
                                               tools=TOOLS, tool_choice={"type": "any"}), PARALLEL),
    ("history", "openai/gpt-4.1", dict(BASIC, tools=TOOLS, messages=HISTORY), text_reply("Two files.")),
    ("image", "openai/gpt-4.1", dict(BASIC, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}, {"type": "text", "text": "What?"}]}]),
     text_reply("A dot.")),
    ("reasoning model", "openai/o3-mini", dict(BASIC, temperature=0.2, thinking={"type": "enabled", "budget_tokens": 2048}), THOUGHTFUL),
    ("groq", "groq/llama-3.1-8b-instant", dict(BASIC, tools=TOOLS, messages=HISTORY, temperature=0.7), PARALLEL),
    ("moonshot", "moonshot/moonshot-v1-8k", dict(BASIC, tools=TOOLS, messages=HISTORY, temperature=0.9), text_reply("Kimi.")),
    ("moonshot reasoning", "moonshot/kimi-k2.5", dict(BASIC, tools=TOOLS, messages=HISTORY, temperature=0.5, top_p=0.9,
                                                      thinking={"type": "enabled", "budget_tokens": 2048}), THOUGHTFUL),
    ("deepseek", "deepseek/deepseek-chat", dict(BASIC, system="Be brief.", messages=HISTORY, tools=TOOLS), text_reply("Seek.")),
    ("deepseek reasoning", "deepseek/deepseek-reasoner", dict(BASIC, tools=TOOLS, messages=HISTORY,
                                                              thinking={"type": "enabled", "budget_tokens": 2048}), THOUGHTFUL),
    ("openrouter", "openrouter/deepseek/deepseek-chat", dict(BASIC, tools=TOOLS, messages=HISTORY, top_k=5), PARALLEL),
    ("openrouter reasoning, max effort", "openrouter/moonshotai/kimi-k3", dict(  # its reasoning field is `reasoning`
        BASIC, tools=TOOLS, messages=HISTORY, thinking={"type": "adaptive"}, output_config={"effort": "max"}),
     dict(THOUGHTFUL, deltas=[{"reasoning": "Think"}, {"reasoning": "ing."}, {"content": "Done"}])),
    ("rate limited", "openai/gpt-4.1", BASIC, {"status": 429, "headers": {"retry-after": "7"},
                                               "body": {"error": {"message": "Slow down", "type": "rate_limit"}}}),
    ("overloaded", "groq/llama-3.1-8b-instant", BASIC, {"status": 503, "body": {"error": {"message": "busy"}}}),
    ("refused key", "moonshot/moonshot-v1-8k", BASIC, {"status": 401, "body": {"error": {"message": "bad key"}}}),
    ("context overflow", "openai/gpt-4.1", BASIC, {"status": 400, "body": {"error": {
        "message": "This model's maximum context length is 8192 tokens.", "code": "context_length_exceeded"}}}),
    ("cut stream", "openai/gpt-4.1", BASIC, dict(text_reply("Hello there, friend!"), cut_after=2)),
]


def answer_of(server, body) -> tuple:
    """(status, retry-after, the answer with its message id and its tool ids' random part blanked): what a client sees."""
    status, headers, data = raw(server, "POST", "/v1/messages", body)
    text = re.sub(rb'"toolu_[0-9a-f]{24}', b'"toolu_', re.sub(rb'"msg_[0-9a-f]+"', b'"msg_"', data)).decode()
    if status != 200:
        error = json.loads(text)["error"]
        return status, headers.get("retry-after"), error["type"], "prompt is too long" in error["message"]
    return status, None, parse_sse(text.encode()) if body.get("stream") else json.loads(text)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model, body, reply", [c[1:] for c in BOTH_PATH_CASES], ids=[c[0] for c in BOTH_PATH_CASES])
def test_both_paths_give_identical_answers(fake, gemini, model, body, reply, stream):
    """The direct path and litellm, given the same provider replies, answer the client with
    the same bytes (message ids aside) and send the provider the same request."""
    cp.load_litellm()  # imported now: the first case's answer never waits for the one-time import
    answers, sent = [], []
    for via in cp.VIAS:
        with running_proxy(fake, gemini, PROXY_VIA=via, **openrouter_env(fake)) as server:
            fake.replies, fake.received = [reply], []
            answers.append(answer_of(server, dict(body, model=model, stream=stream)))
            sent.append(fake.received[-1][2] if fake.received else None)
    assert answers[0] == answers[1]
    assert sent[0] == sent[1]
    assert sent[0] is not None and sent[0]["model"] == model.partition("/")[2]


GEMINI_BOTH_PATH_CASES = [
    ("text", "gemini/gemini-2.5-flash", BASIC, text_reply("Hello there, friend!")),
    ("sampling and a length stop", "gemini/gemini-2.5-flash", dict(BASIC, temperature=0.3, top_p=0.9, top_k=20,
                                                                  stop_sequences=["END"]), text_reply("Fine", finish="length")),
    ("system, tools, parallel calls", "gemini/gemini-2.5-flash", dict(BASIC, system="Be brief.", tools=TOOLS,
                                                                      tool_choice={"type": "any"}), PARALLEL),
    ("history with a tool call", "gemini/gemini-2.5-flash", dict(BASIC, tools=TOOLS, messages=HISTORY), text_reply("Two files.")),
    ("thinking", "gemini/gemini-2.5-pro", dict(BASIC, thinking={"type": "enabled", "budget_tokens": 2048}), THOUGHTFUL),
    ("Gemini 3 thinking and a call", "gemini/gemini-3-flash-preview", dict(BASIC, tools=TOOLS, thinking={"type": "adaptive"}),
     {"deltas": [{"reasoning_content": "Hm."}, {"content": "Let me look."}, tool_delta(0, '{"path": "x"}', "c", "Read")],
      "finish": "tool_calls", "usage": (30, 12)}),
    ("an image", "gemini/gemini-2.5-flash", dict(BASIC, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}, {"type": "text", "text": "What?"}]}]),
     text_reply("A dot.")),
    ("a safety stop", "gemini/gemini-2.5-flash", BASIC, text_reply("Sorry", finish="content_filter")),
    ("rate limited", "gemini/gemini-2.5-flash", BASIC, {"status": 429, "headers": {"retry-after": "7"},
                                                        "body": {"error": {"message": "Quota exceeded"}}}),
    ("overloaded", "gemini/gemini-2.5-flash", BASIC, {"status": 503, "body": {"error": {"message": "The model is overloaded."}}}),
    ("refused key", "gemini/gemini-2.5-flash", BASIC, {"status": 400, "body": {"error": {
        "code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}}),
    ("cut stream", "gemini/gemini-2.5-flash", BASIC, dict(text_reply("Hello there, friend!"), cut_after=1)),
]


def blank_tool_ids(answer):
    """An answer with its tool ids blanked (litellm makes up its own call ids for Gemini, at random; the
    direct path others), and an error event's words (each path says what broke in its own)."""
    text = re.sub(r'"toolu_[A-Za-z0-9_-]*"', '"toolu_"', json.dumps(answer))
    return json.loads(re.sub(r'("type": "error", "error": \{"type": "[a-z_]+", "message": )"(?:[^"\\]|\\.)*"', r'\1""', text))


def camel(value):
    """A Gemini request with its proto names (snake_case, litellm's) in REST's camelCase (the direct path's)."""
    if isinstance(value, list):
        return [camel(v) for v in value]
    if isinstance(value, dict):
        return {SNAKE.sub(lambda m: m.group(1).upper(), k): camel(v) for k, v in value.items()}
    return value


# Where the paths differ, on purpose (the direct path is the one that is right):
# - a safety stop's text: litellm drops it from a JSON answer (not from a stream); the direct path keeps it in both;
# - Gemini's 503 UNAVAILABLE ("The model is overloaded"): litellm reports a 500 api_error, the direct path 529 overloaded_error.
GEMINI_PATH_DIFFERENCES = {
    ("a safety stop", False): lambda answers: answers[1][2]["content"] == [] and answers[0][2]["content"][0]["text"] == "Sorry",
    ("overloaded", False): lambda answers: [a[:3] for a in answers] == [[529, None, "overloaded_error"], [500, None, "api_error"]],
    ("overloaded", True): lambda answers: [a[:3] for a in answers] == [[529, None, "overloaded_error"], [500, None, "api_error"]],
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("model, body, reply", [c[1:] for c in GEMINI_BOTH_PATH_CASES], ids=[c[0] for c in GEMINI_BOTH_PATH_CASES])
def test_gemini_both_paths_give_identical_answers(fake, gemini, model, body, reply, stream, request):
    """Gemini direct and Gemini through litellm, given the same replies of the strict fake, answer
    the client alike (message and tool ids aside) or differ as GEMINI_PATH_DIFFERENCES says, and
    ask Gemini for the same contents and generation config."""
    answers, sent = [], []
    for via in cp.VIAS:
        with running_proxy(fake, gemini, PROXY_VIA=via) as server:
            gemini.replies, gemini.received = [reply], []
            answers.append(blank_tool_ids(answer_of(server, dict(body, model=model, stream=stream))))
            sent.append(camel(gemini.received[-1][2]))
    difference = GEMINI_PATH_DIFFERENCES.get((request.node.callspec.id.rpartition("-")[0], stream))
    assert difference(answers) if difference else answers[0] == answers[1]
    assert sent[0]["contents"] == sent[1]["contents"]
    assert sent[0].get("generationConfig") == sent[1].get("generationConfig")


# ----------------------------------------------------------------------------------------
# Claude Code's shapes: the requests it sends, its probe, retries and limits, slow streams
# ----------------------------------------------------------------------------------------


def test_e2e_claude_code_shaped_request(client, fake):
    """Fields Claude Code sends today and the proxy must accept without a 4xx."""
    client.messages.create(
        model="claude-opus-4-8", max_tokens=64000, stream=False, system=[
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]},
                  {"role": "system", "content": "mid-conversation note"}],
        tools=[dict(TOOLS[0], defer_loading=True, strict=True), {"type": "web_search_20250305", "name": "web_search"}],
        metadata={"user_id": json.dumps({"device_id": "d" * 64, "account_uuid": "a", "session_id": "s"})},
        extra_body={"thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
                    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}},
        extra_headers={"anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14", "x-app": "cli"})
    body = fake.received[-1][2]
    assert body["max_tokens"] == 32768  # gpt-4.1's real output limit
    assert [m["role"] for m in body["messages"]] == ["system", "user", "system"]
    assert [t["function"]["name"] for t in body["tools"]] == ["Bash", "web_search"]  # the proxy runs the search
    assert len(body["user"]) <= 64


CLAUDE_CODE_HEADERS = {
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "claude-code-20250219,context-1m-2025-08-07,interleaved-thinking-2025-05-14,"
                      "thinking-token-count-2026-05-13,context-management-2025-06-27,prompt-caching-scope-2026-01-05,"
                      "mid-conversation-system-2026-04-07,effort-2025-11-24",
    "x-app": "cli", "X-Claude-Code-Session-Id": "0b6f0c1e-5d3a-4c2b-9a7e-1f2e3d4c5b6a",
    "User-Agent": "claude-cli/2.1.197 (external, sdk-cli)", "X-Stainless-Retry-Count": "0", "X-Stainless-Timeout": "600",
    "X-Stainless-Lang": "js", "Accept-Encoding": "gzip, deflate, br, zstd", "Connection": "keep-alive",
    "Content-Type": "application/json",
}

# Every request shape PROTOCOL.md records from Claude Code, in one conversation.
PROTOCOL_BODY = {
    "model": "claude-opus-4-8", "max_tokens": 64000, "stream": True,
    "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"},
    "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
    "metadata": {"user_id": json.dumps({"device_id": "d" * 64, "account_uuid": "a" * 36, "session_id": "s" * 36})},
    "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197.abc; cc_entrypoint=cli;"},
               {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
               {"type": "text", "text": "Long instructions. " * 300, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
    "tools": [
        {"name": "Bash", "description": "Run", "input_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "additionalProperties": False,
            "properties": {"command": {"type": "string", "minLength": 1}, "timeout": {"type": "number", "exclusiveMinimum": 0},
                           "mode": {"type": "string", "enum": ["a", "b"], "default": "a"}, "kind": {"const": "x"},
                           "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                           "env": {"type": "object", "propertyNames": {"pattern": "^[A-Z]+$"}},
                           "either": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
            "required": ["command"]}, "cache_control": {"type": "ephemeral"}},
        {"name": "ToolSearch", "description": "Find tools", "input_schema": {"type": "object", "required": None}, "defer_loading": True},
        {"name": "Strict", "description": "s", "input_schema": {"type": "object"}, "strict": True},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 8},
    ],
    "messages": [
        {"role": "user", "content": [{"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                                     {"type": "text", "text": "Fix the bug", "cache_control": {"type": "ephemeral"}}]},
        {"role": "system", "content": "Mid-conversation system note."},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Let me look.", "signature": "EqQBCkYIBxgCKkD..."},
            {"type": "redacted_thinking", "data": "EmwKAhgBEgy..."},
            {"type": "text", "text": "Looking."},
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "bug"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "ls"}},
            {"type": "tool_use", "id": "toolu_01B", "name": "Read", "input": {"file_path": "/a.png"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01B", "content": [
                {"type": "text", "text": "PNG image"}, {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
            {"type": "tool_result", "tool_use_id": "toolu_01A", "is_error": True, "content": [{"type": "text", "text": "exit 1"}]},
            {"type": "text", "text": "continue", "cache_control": {"type": "ephemeral"}}]},
        {"role": "system", "content": [{"type": "text", "text": "Another system entry."}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01C", "name": "ToolSearch", "input": {"query": "web"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01C", "content": [
            {"type": "tool_reference", "tool_name": "WebFetch"}, {"type": "some_future_block", "payload": 1}]},
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}}]},
    ],
}


@pytest.mark.parametrize("auth", [{"x-api-key": "sk-ant-api03-client"}, {"Authorization": "Bearer sk-ant-oat-client"}])
@pytest.mark.parametrize("path", ["/v1/messages?beta=true", "/v1/messages"])
def test_protocol_recorded_request_is_accepted(proxy, fake, auth, path):
    status, _, data = raw(proxy, "POST", path, PROTOCOL_BODY, dict(CLAUDE_CODE_HEADERS, **auth))
    assert status == 200, data
    check_protocol(parse_sse(data))
    _, headers, body = fake.received[-1]
    assert headers["authorization"] == "Bearer sk-test-openai"
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "system", "assistant", "tool", "assistant", "tool", "tool", "user", "system",
                     "assistant", "tool", "user"]  # the web search in history: a tool call and its result
    assert [c["id"] for c in body["messages"][3]["tool_calls"]] == ["srvtoolu_1"]
    assert body["messages"][4] == {"role": "tool", "tool_call_id": "srvtoolu_1", "content": "Web search results: none found."}
    assert [c["id"] for c in body["messages"][5]["tool_calls"]] == ["toolu_01A", "toolu_01B"]
    assert {t["function"]["name"] for t in body["tools"]} == {"Bash", "ToolSearch", "Strict", "web_search"}
    assert body["tools"][1]["function"]["parameters"] == {"type": "object", "properties": {}}
    assert "Let me look." not in json.dumps(body) and "EmwKAhgBEgy" not in json.dumps(body)  # thinking stays home
    count_status, _, count = raw(proxy, "POST", "/v1/messages/count_tokens?beta=true",
                                 {k: v for k, v in PROTOCOL_BODY.items() if k not in ("max_tokens", "stream")},
                                 dict(CLAUDE_CODE_HEADERS, **auth))
    assert count_status == 200 and json.loads(count)["input_tokens"] > 1000


LONG_MCP = "mcp__claude_ai_Google_Drive__" + "search_files_in_a_shared_drive_with_a_very_long_name"
STRICT_TARGETS = ["openai/gpt-4.1", "groq/moonshotai/kimi-k2-instruct", "groq/llama-3.3-70b-versatile", "moonshot/kimi-k2.6",
                  "moonshot/kimi-k2-0905-preview", "deepseek/deepseek-v4-flash", "deepseek/deepseek-chat",
                  "gemini/gemini-2.5-flash", "openrouter/moonshotai/kimi-k2", "openrouter/z-ai/glm-4.5-air",
                  "openrouter/openai/gpt-4.1", CODEX]


@pytest.mark.parametrize("forced", [False, True], ids=["auto", "forced tool choice"])
@pytest.mark.parametrize("target", STRICT_TARGETS)
def test_the_recorded_claude_code_request_passes_every_strict_provider(strict_proxy, fake, gemini, target, forced):
    """Claude Code's recorded request (system entries among the messages, tool results out of
    order and with an image, text after them, thinking from Anthropic, tool_reference, a
    document), with a long MCP tool and a forced tool choice, against each provider's
    documented rules (provider_refusal, gemini_refusal): no 400 on either path."""
    body = dict(PROTOCOL_BODY, model=target, tools=PROTOCOL_BODY["tools"] + [
        {"name": LONG_MCP, "description": "m", "input_schema": {"type": "object", "properties": {}}},
        {"name": "DeferredToolPlaceholder", "description": "Never call this tool.", "defer_loading": True,
         "input_schema": {"type": "object", "properties": {}}},
        {"name": "WebFetch", "description": "Fetch", "defer_loading": True,  # loaded by a tool_reference
         "input_schema": {"type": "object", "properties": {"url": {"type": "string", "format": "uri"}}}}])
    if forced:
        body["tool_choice"] = {"type": "any"}
    status, _, data = raw(strict_proxy, "POST", "/v1/messages", body, CLAUDE_CODE_HEADERS)
    events = parse_sse(data) if status == 200 else []
    assert status == 200 and events[-1][0] == "message_stop", data[:600]
    provider = gemini if target.startswith("gemini/") else fake
    assert provider.received  # it reached the strict fake, and passed
    offered = json.dumps(provider.received[-1][2].get("tools"))
    assert "WebFetch" in offered and "DeferredToolPlaceholder" not in offered  # no model calls the placeholder


@pytest.mark.parametrize("retry_after, expected", [
    ("7", "7"), ("2.5", "3"), ("600", "60"), ("Wed, 21 Oct 2026 07:28:00 GMT", "Wed, 21 Oct 2026 07:28:00 GMT"),
    ("soon; maybe", None),  # neither seconds nor a date: not passed on
])
def test_e2e_retry_after_capped(client, fake, retry_after, expected):
    import anthropic

    fake.replies = [{"status": 429, "headers": {"retry-after": retry_after}}]
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(**BASIC)
    assert caught.value.response.headers.get("retry-after") == expected


def test_e2e_context_overflow_known_in_advance(client, fake):
    """gpt-4's 8192-token window is known to litellm: the proxy answers without a call."""
    import anthropic

    words = "alpha beta gamma delta " * 2500  # about 10,000 tokens
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**dict(BASIC, model="openai/gpt-4", messages=[{"role": "user", "content": words}]))
    assert caught.value.body["error"]["message"].startswith("prompt is too long: ")
    assert caught.value.body["error"]["message"].endswith(" tokens > 8192 maximum")
    half = "alpha beta gamma delta " * 1200  # about 4,800 tokens: fits, but not with 4096 more
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**dict(BASIC, model="openai/gpt-4", max_tokens=8000, messages=[{"role": "user", "content": half}]))
    message = caught.value.body["error"]["message"]
    assert message.startswith("input length and `max_tokens` exceed context limit: ") and message.endswith(" + 4096 > 8192")
    assert fake.received == []


def test_e2e_context_overflow_reported_by_the_provider(client, fake):
    import anthropic

    fake.replies = [{"status": 400, "body": {"error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130001 tokens.",
        "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}}]
    for stream in (False, True):
        with pytest.raises(anthropic.BadRequestError) as caught:
            if stream:
                with client.messages.stream(**BASIC) as s:
                    s.get_final_message()
            else:
                client.messages.create(**BASIC)
        assert caught.value.body["error"]["type"] == "invalid_request_error"
        assert caught.value.body["error"]["message"].startswith("prompt is too long: ")


def test_e2e_max_tokens_1_probe_on_a_model_that_refuses(client, fake):
    """Claude Code's availability probe: a 200 with stop_reason max_tokens, not the 400."""
    fake.replies = [{"status": 400, "body": {"error": {"message": "max_tokens is too small for reasoning", "type": "invalid_request_error"}}}]
    message = client.messages.create(**dict(BASIC, max_tokens=1))
    assert (message.stop_reason, message.content) == ("max_tokens", [])
    assert message.usage.input_tokens > 0
    with client.messages.stream(**dict(BASIC, max_tokens=1)) as s:
        assert s.get_final_message().stop_reason == "max_tokens"
    fake.replies = [text_reply("H", finish="length", usage=(9, 1))]
    message = client.messages.create(**dict(BASIC, max_tokens=1))
    assert (message.stop_reason, message.content[0].text) == ("max_tokens", "H")


def test_e2e_silent_provider_gets_keepalive_content_events(quick_proxy, fake):
    """A model silent before its first token and again mid-answer: the client sees content
    events (empty deltas) in both silences, and the answer is unchanged."""
    fake.replies = [dict(text_reply("Slow answer."), pauses={0: 0.9, 1: 0.9})]
    status, _, data = raw(quick_proxy, "POST", "/v1/messages", dict(BASIC, stream=True))
    assert status == 200
    events = parse_sse(data)
    empty = [d["index"] for name, d in events if name == "content_block_delta" and d["delta"].get("thinking", d["delta"].get("text")) == ""]
    assert 0 in empty and 1 in empty  # the keep-alive thinking block, then the text block
    message = cp.fold_events(events)
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    assert message["content"][0]["thinking"] == "" and message["content"][1]["text"] == "Slow answer."
    assert message["stop_reason"] == "end_turn"


def test_e2e_client_gone_closes_the_upstream(quick_proxy, fake):
    fake.replies = [{"deltas": [{"content": "word "}] * 200, "pauses": {n: 0.05 for n in range(1, 200)}, "finish": "stop", "usage": (5, 200)}]
    conn = http.client.HTTPConnection("127.0.0.1", quick_proxy.server_address[1], timeout=TIMEOUT)
    conn.request("POST", "/v1/messages", body=json.dumps(dict(BASIC, stream=True)))
    response = conn.getresponse()
    assert response.status == 200 and response.read1(100)
    hung_up = time.monotonic()
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    assert fake.aborted.wait(TIMEOUT), "the proxy kept reading a stream nobody wants"
    assert time.monotonic() - hung_up < 3


# ----------------------------------------------------------------------------------------
# HTTP surface: endpoints, heads, keep-alive, the client key; a corpus of malformed and hostile requests
# ----------------------------------------------------------------------------------------


def test_date_header_formatted_once_a_second():
    import email.utils

    handler = cp.Handler.__new__(cp.Handler)  # date_time_string needs no connection
    value = handler.date_time_string()
    assert value.endswith(" GMT") and abs(email.utils.parsedate_to_datetime(value).timestamp() - time.time()) < 3
    assert cp.Handler._date[1] == value and cp.Handler._date[0] <= time.time()
    assert handler.date_time_string(0) == "Thu, 01 Jan 1970 00:00:00 GMT"  # a given time is formatted, not cached
    assert cp.Handler._date[1] != "Thu, 01 Jan 1970 00:00:00 GMT"


# (method, path, body, status, error type or None)
HTTP_CASES = [
    ("GET", "/", None, 200, None),
    ("HEAD", "/", None, 200, None),
    ("HEAD", "/api/hello", None, 200, None),
    ("GET", "/v1/nothing", None, 404, "not_found_error"),
    ("POST", "/v1/complete", {"x": 1}, 404, "not_found_error"),
    ("GET", "/v1/messages", None, 405, "invalid_request_error"),
    ("DELETE", "/v1/messages", None, 405, "invalid_request_error"),
    ("TRACE", "/", None, 405, "invalid_request_error"),
    ("GET", "/v1/models/gpt-unknown", None, 404, "not_found_error"),
    ("GET", "/v1/models/claude-sonnet-4-5", None, 200, None),
    ("POST", "/v1/messages", b"{not json", 400, "invalid_request_error"),
    ("POST", "/v1/messages", b"\xff\xfe", 400, "invalid_request_error"),
    ("POST", "/v1/messages", b"[" * 100000 + b"]" * 100000, 400, "invalid_request_error"),
    ("POST", "/v1/messages", {"model": "claude-sonnet-4-6", "messages": []}, 400, "invalid_request_error"),
    ("POST", "/v1/messages/count_tokens", {"messages": []}, 400, "invalid_request_error"),
]


@pytest.mark.parametrize("method, path, body, status, error_type", HTTP_CASES, ids=[f"{c[0]} {c[1]} {c[3]}" for c in HTTP_CASES])
def test_http_surface(proxy, method, path, body, status, error_type):
    got_status, headers, data = raw(proxy, method, path, body)
    assert got_status == status
    if method == "HEAD":
        assert data == b""
    elif error_type:
        parsed = json.loads(data)
        assert parsed["type"] == "error" and parsed["error"]["type"] == error_type and parsed["error"]["message"]
    assert raw(proxy, "GET", "/")[0] == 200  # and it keeps serving


@pytest.mark.parametrize("request_bytes, status, names", [
    (b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "HTTP/1.1 404 Not Found",
     ["Server", "Date", "Content-Type", "Content-Length", "request-id"]),
    (b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 Not Found",
     ["Server", "Date", "Content-Type", "Content-Length", "request-id", "Connection"]),
    (b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
     % (len(json.dumps(dict(BASIC, stream=True))), json.dumps(dict(BASIC, stream=True)).encode()), "HTTP/1.1 200 OK",
     ["Server", "Date", "Content-Type", "Cache-Control", "Transfer-Encoding", "request-id"]),
])
def test_answer_heads(proxy, request_bytes, status, names):
    import email.utils

    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=TIMEOUT) as sock:
        sock.sendall(request_bytes)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    line, *fields = head.decode("latin-1").split("\r\n")
    fields = dict(field.split(": ", 1) for field in fields)
    assert line == status and list(fields) == names and fields["Server"].startswith("claude_proxy")
    assert abs(email.utils.parsedate_to_datetime(fields["Date"]).timestamp() - time.time()) < 3
    assert re.fullmatch("req_[0-9a-f]{24}", fields["request-id"])
    if "Content-Length" in fields:
        assert int(fields["Content-Length"]) == len(body) and json.loads(body)["type"] == "error"


def test_models_endpoints(client):
    page = client.models.list(limit=1000)
    ids = [m.id for m in page.data]
    assert ids and all(i.startswith("claude") for i in ids)
    assert any("openai/gpt-4.1" in m.display_name for m in page.data)
    assert any("groq/llama-3.1-8b-instant" in m.display_name for m in page.data)
    one = client.models.retrieve("claude-haiku-4-5-20251001")
    assert one.id == "claude-haiku-4-5-20251001" and one.type == "model"
    first = client.models.list(limit=1)
    assert len(first.data) == 1 and first.has_more


def test_models_paging(proxy):
    def page(query):
        status, _, data = raw(proxy, "GET", "/v1/models" + query)
        assert status == 200
        return json.loads(data)

    everything = page("?limit=1000")
    ids = [m["id"] for m in everything["data"]]
    assert len(ids) >= 3 and not everything["has_more"] and everything["first_id"] == ids[0] and everything["last_id"] == ids[-1]
    second = page(f"?limit=2&after_id={ids[0]}")
    assert [m["id"] for m in second["data"]] == ids[1:3] and second["has_more"] == (len(ids) > 3)
    before = page(f"?limit=1&before_id={ids[2]}")
    assert [m["id"] for m in before["data"]] == [ids[1]] and before["has_more"]
    assert raw(proxy, "GET", "/v1/models?limit=many")[0] == 400


def test_chunked_request_body_is_accepted(proxy):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=TIMEOUT)
    conn.request("POST", "/v1/messages", body=iter([json.dumps(BASIC)[:20].encode(), json.dumps(BASIC)[20:].encode()]),
                 headers={"Transfer-Encoding": "chunked"}, encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read())["content"][0]["text"] == "Hello there!"
    conn.close()


def test_keep_alive_serves_many_requests_on_one_connection(proxy):
    conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=TIMEOUT)
    try:
        for body in (BASIC, dict(BASIC, stream=True), {"bad": 1}, BASIC):
            conn.request("POST", "/v1/messages", body=json.dumps(body))
            response = conn.getresponse()
            data = response.read()
            assert response.status in (200, 400) and data
        conn.request("GET", "/v1/models")
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_oversized_body_is_413_without_reading_it(fake):
    with running_proxy(fake, MAX_BODY_MB="0.01") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=TIMEOUT)
        conn.putrequest("POST", "/v1/messages")
        conn.putheader("Content-Length", str(50 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["type"] == "request_too_large"
        conn.close()


def test_client_key_when_configured(start_proxy):
    anthropic = pytest.importorskip("anthropic")
    server = start_proxy(PROXY_API_KEY="proxy-secret-123")
    for headers in ({}, {"x-api-key": "wrong"}, {"Authorization": "Bearer wrong"}, {"x-api-key": "proxy-secret-12"}):
        status, _, data = raw(server, "POST", "/v1/messages", BASIC, headers)
        assert status == 401 and json.loads(data)["error"]["type"] == "authentication_error"
        assert "proxy-secret" not in data.decode()
    assert raw(server, "GET", "/v1/models")[0] == 401
    assert raw(server, "POST", "/v1/messages", BASIC, {"x-api-key": "proxy-secret-123"})[0] == 200
    assert raw(server, "POST", "/v1/messages", BASIC, {"Authorization": "Bearer proxy-secret-123"})[0] == 200
    assert raw(server, "GET", "/")[0] == 200 and raw(server, "HEAD", "/api/hello")[0] == 200
    sdk = anthropic.Anthropic(base_url=server.url, api_key="proxy-secret-123", max_retries=0, timeout=TIMEOUT)
    assert sdk.messages.create(**BASIC).content[0].text == "Hello there!"


class Send:
    """How one corpus request is sent: its bytes, whether the client then shuts its sending
    side (a client gone half-way through), and which proxy gets it ("small": MAX_BODY_MB=0.01)."""

    def __init__(self, data: bytes, half_close: bool = False, to: str = "proxy"):
        self.data, self.half_close, self.to = data, half_close, to


def http_request(method="POST", path="/v1/messages", body=b"", headers=(), length="auto", version="HTTP/1.1") -> bytes:
    """A raw request. `body` is bytes or a JSON value; length="auto" adds the right
    Content-Length, None leaves it out, anything else is sent as written."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    lines = [f"{method} {path} {version}".encode(), b"Host: 127.0.0.1"]
    if length == "auto":
        lines.append(b"Content-Length: %d" % len(data))
    elif length is not None:
        lines.append(b"Content-Length: " + str(length).encode())
    lines += [h if isinstance(h, bytes) else h.encode() for h in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + data


def post(body, **kwargs) -> bytes:
    return http_request("POST", kwargs.pop("path", "/v1/messages"), body, **kwargs)


def with_fields(**fields) -> dict:
    """BASIC with fields replaced; a value of ... removes the field."""
    body = dict(BASIC, **fields)
    return {k: v for k, v in body.items() if v is not ...}


def with_blocks(*blocks, role="user") -> dict:
    return with_fields(messages=[{"role": role, "content": list(blocks)}])


def nested(depth: int, leaf=b"1", open_=b"[", close=b"]") -> bytes:
    return open_ * depth + leaf + close * depth


def with_raw(fields: bytes, base: bytes | None = None) -> bytes:
    """BASIC as JSON text with more fields spliced in as raw bytes (for what json.dumps
    cannot or should not write: NaN, huge numbers, nesting deeper than its recursion)."""
    base = base or json.dumps(BASIC).encode()
    return base[:-1] + b", " + fields + b"}"


def deep_schema(depth: int) -> bytes:
    """"tools" with one tool whose input_schema nests `depth` anyOf levels (two JSON levels
    each): it parses, yet is deep enough to exhaust recursion in code that walks it."""
    return (b'"tools": [{"name": "deep", "input_schema": {"type": "object", "properties": {"x": '
            + b'{"anyOf": [' * depth + b'{"type": "string"}' + b"]}" * depth + b"}}}]")


def nested_results(depth: int) -> bytes:
    """A request whose one user turn is a tool_result holding a tool_result ... `depth` deep."""
    return (b'{"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [{"role": "user", "content": ['
            + b'{"type": "tool_result", "tool_use_id": "toolu_1", "content": [' * depth
            + b'{"type": "text", "text": "x"}' + b"]}" * depth + b"]}]}")


def chunked(*pieces: bytes, end=b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + end


BASIC_BYTES = json.dumps(BASIC).encode()
TEXT = {"type": "text", "text": "Hi"}
ERR = "invalid_request_error"

# (id, request: raw bytes or a Send, expected status (or the statuses that are all right),
#  expected error type, or None for a success)
BAD_INPUT_CASES = [
    # -- bodies that are not JSON, or not an object -----------------------------------------
    ("invalid JSON", post(b"{not json"), 400, ERR),
    ("truncated JSON", post(BASIC_BYTES[:25]), 400, ERR),
    ("empty body", post(b""), 400, ERR),
    ("trailing garbage after the object", post(BASIC_BYTES + b" xyz"), 400, ERR),
    ("JSON array", post(b"[1, 2]"), 400, ERR),
    ("JSON string", post(b'"hello"'), 400, ERR),
    ("JSON number", post(b"42"), 400, ERR),
    ("JSON null", post(b"null"), 400, ERR),
    ("NaN is not JSON", post(with_raw(b'"temperature": NaN')), 400, ERR),
    ("invalid UTF-8 alone", post(b"\xff\xfe"), 400, ERR),
    ("invalid UTF-8 in a string", post(BASIC_BYTES.replace(b'"Hi"', b'"H\xc3\x28i"')), 400, ERR),
    ("surrogate encoded as UTF-8 bytes (CESU-8)", post(BASIC_BYTES.replace(b'"Hi"', b'"H\xed\xa0\x80i"')), 400, ERR),
    # A JavaScript client's sliced string: mended (U+FFFD) rather than refused, so a session goes on.
    ("lone surrogate escape in text", post(BASIC_BYTES.replace(b'"Hi"', b'"H\\ud800i"')), 200, None),
    ("lone surrogate escape in model", post(BASIC_BYTES.replace(b'"claude-sonnet-4-6"', b'"claude\\udc00"')), 400, ERR),
    ("raw NUL byte between tokens", post(b"{\x00" + BASIC_BYTES[1:]), 400, ERR),
    ("raw NUL byte inside a string", post(BASIC_BYTES.replace(b'"Hi"', b'"H\x00i"')), 400, ERR),
    ("escaped NUL in model", post(with_fields(model="claude\u0000sonnet")), 400, ERR),
    ("100000 levels of nesting", post(nested(100000)), 400, ERR),
    ("100000 levels inside metadata", post(with_raw(b'"metadata": ' + nested(100000, b"{}"))), 400, ERR),
    ("tool schema nested 450 anyOf deep", post(with_raw(deep_schema(450))), 400, ERR),
    ("tool schema nested 450 deep, count_tokens", post(with_raw(deep_schema(450)), path="/v1/messages/count_tokens"), 400, ERR),
    ("tool_result nested 480 deep, count_tokens", post(nested_results(480), path="/v1/messages/count_tokens"), 400, ERR),
    ("5000-digit max_tokens", post(BASIC_BYTES.replace(b'"max_tokens": 100', b'"max_tokens": ' + b"9" * 5000)), 400, ERR),
    ("5000-digit temperature", post(with_raw(b'"temperature": ' + b"1" * 5000)), 400, ERR),
    # -- wrong types and values, field by field -----------------------------------------------
    ("model missing", post(with_fields(model=...)), 400, ERR),
    ("model a number", post(with_fields(model=5)), 400, ERR),
    ("model a list", post(with_fields(model=["claude-sonnet-4-6"])), 400, ERR),
    ("model empty", post(with_fields(model="")), 400, ERR),
    ("model a URL", post(with_fields(model="http://127.0.0.1:9/v1")), 400, ERR),
    ("model provider/URL", post(with_fields(model="openai/http://evil.example")), 400, ERR),
    ("model with a newline", post(with_fields(model="claude-sonnet\n-4-6")), 400, ERR),
    ("model with an escape character", post(with_fields(model="claude\x1b[31m")), 400, ERR),
    ("model 300 characters", post(with_fields(model="claude-" + "x" * 293)), 400, ERR),
    ("max_tokens missing", post(with_fields(max_tokens=...)), 400, ERR),
    ("max_tokens a string", post(with_fields(max_tokens="100")), 400, ERR),
    ("max_tokens null", post(with_fields(max_tokens=None)), 400, ERR),
    ("max_tokens a bool", post(with_fields(max_tokens=True)), 400, ERR),
    ("max_tokens a fraction", post(with_fields(max_tokens=1.5)), 400, ERR),
    ("max_tokens negative", post(with_fields(max_tokens=-1)), 400, ERR),
    ("max_tokens 1e309 (infinity)", post(BASIC_BYTES.replace(b'"max_tokens": 100', b'"max_tokens": 1e309')), 400, ERR),
    ("max_tokens 10**30", post(with_fields(max_tokens=10**30)), 400, ERR),
    ("messages missing", post(with_fields(messages=...)), 400, ERR),
    ("messages a string", post(with_fields(messages="Hi")), 400, ERR),
    ("messages an object", post(with_fields(messages={"role": "user", "content": "Hi"})), 400, ERR),
    ("messages empty", post(with_fields(messages=[])), 400, ERR),
    ("message a number", post(with_fields(messages=[5])), 400, ERR),
    ("unknown role", post(with_fields(messages=[{"role": "robot", "content": "Hi"}])), 400, ERR),
    ("role missing", post(with_fields(messages=[{"content": "Hi"}])), 400, ERR),
    ("content a number", post(with_fields(messages=[{"role": "user", "content": 5}])), 400, ERR),
    ("content null", post(with_fields(messages=[{"role": "user", "content": None}])), 400, ERR),
    ("content an empty list", post(with_fields(messages=[{"role": "user", "content": []}])), 400, ERR),
    ("system a number", post(with_fields(system=3)), 400, ERR),
    ("system an object", post(with_fields(system={"type": "text", "text": "x"})), 400, ERR),
    ("system a list of numbers", post(with_fields(system=[1, 2])), 400, ERR),
    ("tools an object", post(with_fields(tools={})), 400, ERR),
    ("tools a list of strings", post(with_fields(tools=["Bash"])), 400, ERR),
    ("tool name a number", post(with_fields(tools=[{"name": 5, "input_schema": {"type": "object"}}])), 400, ERR),
    ("tool input_schema a string", post(with_fields(tools=[{"name": "f", "input_schema": "object"}])), 400, ERR),
    ("tool_choice a string", post(with_fields(tool_choice="auto")), 400, ERR),
    ("tool_choice without type", post(with_fields(tool_choice={})), 400, ERR),
    ("stream a string", post(with_fields(stream="yes")), 400, ERR),
    ("stream a number", post(with_fields(stream=1)), 400, ERR),
    ("temperature a string", post(with_fields(temperature="hot")), 400, ERR),
    ("temperature 1e308", post(with_fields(temperature=1e308)), 400, ERR),
    ("temperature 1e309 (infinity)", post(with_raw(b'"temperature": 1e309')), 400, ERR),
    ("temperature negative", post(with_fields(temperature=-1)), 400, ERR),
    ("metadata a string", post(with_fields(metadata="x")), 400, ERR),
    ("metadata a list", post(with_fields(metadata=[1])), 400, ERR),
    ("thinking a string", post(with_fields(thinking="yes")), 400, ERR),
    ("thinking with an unknown type", post(with_fields(thinking={"type": 5})), 400, ERR),
    ("thinking budget a string", post(with_fields(thinking={"type": "enabled", "budget_tokens": "lots"})), 400, ERR),
    ("stop_sequences a string", post(with_fields(stop_sequences="STOP")), 400, ERR),
    ("stop_sequences of numbers", post(with_fields(stop_sequences=[1, 2])), 400, ERR),
    # -- content blocks -----------------------------------------------------------------------
    ("block a string", post(with_blocks("Hi")), 400, ERR),
    ("block without type", post(with_blocks({"text": "Hi"})), 400, ERR),
    ("block type a number", post(with_blocks({"type": 5, "text": "Hi"})), 400, ERR),
    ("text block text a number", post(with_blocks({"type": "text", "text": 5})), 400, ERR),
    ("text block without text", post(with_blocks({"type": "text"})), 400, ERR),
    ("image without source", post(with_blocks(TEXT, {"type": "image"})), 400, ERR),
    ("image source a string", post(with_blocks(TEXT, {"type": "image", "source": "iVBORw0KGgo="})), 400, ERR),
    ("image source a list", post(with_blocks(TEXT, {"type": "image", "source": [1]})), 400, ERR),
    ("image source a string, count_tokens",
     post(with_fields(messages=[{"role": "user", "content": [TEXT, {"type": "image", "source": "x"}]}], max_tokens=...),
          path="/v1/messages/count_tokens"), 400, ERR),
    ("document source a string", post(with_blocks(TEXT, {"type": "document", "source": "x"})), 400, ERR),
    ("tool_result image source a string",
     post(with_fields(messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
                                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                                              "content": [{"type": "image", "source": "x"}]}]}])), 400, ERR),
    ("tool_use without id",
     post(with_fields(messages=[{"role": "user", "content": "Hi"},
                                {"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]},
                                {"role": "user", "content": "go on"}])), 400, ERR),
    ("tool_result without its tool_use, to Gemini",
     post(with_fields(model="gemini/gemini-2.5-flash",
                      messages=[{"role": "user", "content": [TEXT, {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]}])),
     400, ERR),
    ("tool_result with a numeric tool_use_id",
     post(with_fields(messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
                                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": 5, "content": "ok"}]}])), 400, ERR),
    # -- HTTP framing ---------------------------------------------------------------------------
    ("POST without Content-Length", post(b"", length=None), (411, 400), ERR),
    ("Content-Length negative", post(BASIC_BYTES, length=-5), 400, ERR),
    ("Content-Length not a number", post(BASIC_BYTES, length="ten"), 400, ERR),
    ("Content-Length with underscores", post(BASIC_BYTES, length="_".join(str(len(BASIC_BYTES)))), 400, ERR),
    ("Content-Length with a plus sign", post(BASIC_BYTES, length=f"+{len(BASIC_BYTES)}"), 400, ERR),
    ("Content-Length beyond the body, client then closes", Send(post(BASIC_BYTES, length=len(BASIC_BYTES) + 100), half_close=True), 400, ERR),
    ("Content-Length short of the body", post(BASIC_BYTES, length=len(BASIC_BYTES) - 10), 400, ERR),
    ("two Content-Length headers that disagree",
     post(BASIC_BYTES, headers=[f"Content-Length: {len(BASIC_BYTES) + 7}"]), 400, ERR),
    ("chunked body", post(chunked(BASIC_BYTES[:20], BASIC_BYTES[20:]), length=None, headers=["Transfer-Encoding: chunked"]), 200, None),
    ("chunked body, bad size line", post(b"zz\r\n" + BASIC_BYTES + b"\r\n0\r\n\r\n", length=None, headers=["Transfer-Encoding: chunked"]), 400, ERR),
    ("chunked body cut short, client then closes",
     Send(post(b"%x\r\n" % len(BASIC_BYTES) + BASIC_BYTES[:30], length=None, headers=["Transfer-Encoding: chunked"]), half_close=True), 400, ERR),
    ("body closed half-way through", Send(post(BASIC_BYTES, length=len(BASIC_BYTES))[:-40], half_close=True), 400, ERR),
    ("body over MAX_BODY_MB, never sent", Send(post(b"", length=50 * 1024 * 1024), to="small"), 413, "request_too_large"),
    ("body over MAX_BODY_MB, Expect 100-continue",
     Send(post(b"", length=50 * 1024 * 1024, headers=["Expect: 100-continue"]), to="small"), 413, "request_too_large"),
    ("chunked body over MAX_BODY_MB", Send(post(b"100000\r\n" + b"x" * 4096, length=None, headers=["Transfer-Encoding: chunked"]), to="small"),
     413, "request_too_large"),
    ("a 70 KB header line", post(BASIC_BYTES, headers=["X-Big: " + "a" * 70000]), (431, 413), "request_too_large"),
    ("200 headers", post(BASIC_BYTES, headers=[f"X-H{i}: {i}" for i in range(200)]), (431, 413), "request_too_large"),
    ("a header line without a colon", post(BASIC_BYTES, headers=["NoColonHere"]), 400, ERR),
    ("space before a header's colon", post(BASIC_BYTES, headers=["X-Thing : 1"]), 400, ERR),
    ("garbage request line", b"HELLO\r\n\r\n", 400, ERR),
    ("TLS handshake on the plain port", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(32)) + b"\r\n\r\n", 400, ERR),
    ("bad HTTP version", http_request("GET", "/", version="HTTP/1.x"), 400, ERR),
    ("HTTP/2.0 request line", http_request("GET", "/", length=None, version="HTTP/2.0"), 505, "api_error"),
    ("empty line before the request line", b"\r\n" + http_request("GET", "/", length=None), 200, None),
    ("a 70 KB URL", http_request("GET", "/v1/models/" + "a" * 70000, length=None), 414, ERR),
    # -- methods and paths ----------------------------------------------------------------------
    ("PUT /v1/messages", http_request("PUT", body=BASIC), 405, ERR),
    ("DELETE /v1/messages", http_request("DELETE", length=None), 405, ERR),
    ("PATCH /v1/messages", http_request("PATCH", body=BASIC), 405, ERR),
    ("OPTIONS /v1/messages", http_request("OPTIONS", length=None), 405, ERR),
    ("TRACE /v1/messages", http_request("TRACE", length=None), 405, ERR),
    ("GET /v1/messages", http_request("GET", length=None), 405, ERR),
    ("unknown path", http_request("GET", "/v1/nothing", length=None), 404, "not_found_error"),
    ("POST to an unknown path", post(BASIC, path="/v1/complete"), 404, "not_found_error"),
    ("POST /v1/messages/batches", post(BASIC, path="/v1/messages/batches"), 404, "not_found_error"),
    ("dot-dot path", http_request("GET", "/../../etc/passwd", length=None), 404, "not_found_error"),
    # -- routing --------------------------------------------------------------------------------
    ("provider without its key: openrouter", post(with_fields(model="openrouter/moonshotai/kimi-k2")), 401, "authentication_error"),
    ("model that walks the Gemini URL path", post(with_fields(model="gemini/../../../evil?alt=x#")), 400, ERR),
    ("provider without its key: anthropic", post(with_fields(model="anthropic/claude-sonnet-4-5")), 401, "authentication_error"),
]

LEAKS = (b"Traceback", b".py", b"/root", b"/work")


def send_raw(port: int, data: bytes, half_close: bool = False, timeout: float = TIMEOUT):
    """Send raw bytes and read one response: (status, headers, body, all bytes received).

    Interim 1xx responses are skipped; status is None when the connection closed without an
    answer. With half_close the client shuts its sending side after the bytes (a client gone
    half-way through) and reads on until the proxy closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:  # the proxy answered and closed before taking everything: read its answer
            pass
        received = bytearray()

        def more() -> bool:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            received.extend(chunk)
            return bool(chunk)

        start, status, headers = 0, None, {}
        while status is None or status < 200:
            while (end := received.find(b"\r\n\r\n", start)) < 0:
                if not more():
                    return None, {}, b"", bytes(received)
            status_line, *lines = received[start:end].decode("latin-1").split("\r\n")
            if not status_line.startswith("HTTP/1."):  # e.g. a bare body, HTTP/0.9 style
                return None, {}, b"", bytes(received)
            status = int(status_line.split()[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
            start = end + 4
        if "content-length" in headers:
            size = int(headers["content-length"])
            while len(received) - start < size and more():
                pass
            body = bytes(received[start:start + size])
        else:  # the proxy's own chunked answers end with a zero chunk; anything else ends at close
            while not received.endswith(b"0\r\n\r\n") and more():
                pass
            body = bytes(received[start:])
        if half_close:
            while more():
                pass
        return status, headers, body, bytes(received)


@pytest.mark.parametrize("request_, status, error_type", [c[1:] for c in BAD_INPUT_CASES], ids=[c[0] for c in BAD_INPUT_CASES])
def test_bad_input_corpus(proxy, small_proxy, request_, status, error_type):
    send = request_ if isinstance(request_, Send) else Send(request_)
    server = small_proxy if send.to == "small" else proxy
    got, _, body, received = send_raw(server.server_address[1], send.data, send.half_close)
    assert got in (status if isinstance(status, tuple) else (status,)), received[:300]
    if error_type:
        parsed = json.loads(body)
        assert parsed["type"] == "error" and set(parsed["error"]) >= {"type", "message"}
        assert parsed["error"]["type"] == error_type and isinstance(parsed["error"]["message"], str) and parsed["error"]["message"]
    else:
        answer = json.loads(body)
        assert isinstance(answer, dict) and answer.get("type", "message") == "message"
    assert not any(leak in received for leak in LEAKS), received[:500]
    assert raw(server, "GET", "/")[0] == 200  # and it keeps serving


def exchange(proxy, data: bytes) -> bytes:
    """Raw bytes to the proxy; everything it sends until it closes the connection."""
    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        received = []
        while chunk := sock.recv(65536):
            received.append(chunk)
    return b"".join(received)


def test_malformed_chunked_body_is_400(proxy):
    answer = exchange(proxy, b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n")
    assert answer.startswith(b"HTTP/1.1 400") and b"invalid_request_error" in answer


def test_get_with_a_body_closes_the_connection(proxy):
    """An unread body must never be taken for the next request."""
    answer = exchange(proxy, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nGET /v1/nothing HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1") == 1
    assert b"Connection: close" in answer


def test_http10_client_gets_an_unchunked_stream(proxy):
    body = json.dumps(dict(BASIC, stream=True)).encode()
    answer = exchange(proxy, b"POST /v1/messages HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" not in head.lower()
    events = parse_sse(payload)
    check_protocol(events)
    assert cp.fold_events(events)["content"][0]["text"] == "Hello there!"


# ----------------------------------------------------------------------------------------
# limits and faults: concurrency, timeouts, broken providers and clients, redirects, keys, shutdown, load
# ----------------------------------------------------------------------------------------


def test_max_concurrency_answers_529(start_proxy, fake):
    server = start_proxy(MAX_CONCURRENCY="1")
    fake.replies = [dict(text_reply("slow answer"), pauses={1: 1.0}), text_reply()]
    results = []
    first = threading.Thread(target=lambda: results.append(raw(server, "POST", "/v1/messages", dict(BASIC, stream=True))))
    first.start()
    assert fake.arrived.wait(TIMEOUT)
    status, _, data = raw(server, "POST", "/v1/messages", BASIC)
    assert status == 529 and json.loads(data)["error"]["type"] == "overloaded_error" and "MAX_CONCURRENCY" in data.decode()
    first.join(TIMEOUT)
    assert results[0][0] == 200 and cp.fold_events(parse_sse(results[0][2]))["content"][0]["text"] == "slow answer"
    assert raw(server, "POST", "/v1/messages", BASIC)[0] == 200  # the slot came back


def test_e2e_provider_unreachable(fake):
    """A provider that refuses connections: a typed 5xx, quickly, and the proxy serves on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    with running_proxy(fake, OPENAI_BASE_URL=dead) as server:
        status, _, data = raw(server, "POST", "/v1/messages", BASIC)
        assert status == 500 and json.loads(data)["error"]["type"] == "api_error"
        status, _, _ = raw(server, "GET", "/")
        assert status == 200


def test_provider_silent_past_request_timeout(start_proxy, fake):
    server = start_proxy(REQUEST_TIMEOUT="0.5")
    fake.replies = [dict(text_reply("never finished"), pauses={1: 4})]
    (status, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", dict(BASIC, stream=True)))
    events = parse_sse(data)
    assert status == 200 and events[-1][0] == "error" and events[-1][1]["error"]["type"] == "timeout_error"
    assert took < 2.5
    fake.replies = [dict(text_reply(), delay=4)]
    (status, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", BASIC))
    assert status == 504 and json.loads(data)["error"]["type"] == "timeout_error" and took < 2.5


def test_provider_that_never_accepts_is_a_connect_timeout(fake, gemini):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = []
        for _ in range(4):  # fill the accept queue: later connects get no answer at all
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)
        dead = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        try:
            with running_proxy(fake, gemini, OPENAI_BASE_URL=dead, CONNECT_TIMEOUT="0.3") as server:
                (status, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", BASIC))
                assert status in (500, 504) and json.loads(data)["error"]["type"] in ("api_error", "timeout_error")
                assert took < 3
        finally:
            for filler in fillers:
                filler.close()


def test_provider_name_that_does_not_resolve(fake, gemini, monkeypatch):
    """A DNS failure, without asking any DNS server: the resolver says no for one name, as
    an offline or mistyped host would, and real litellm and httpx take it from there."""
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):
        if host == "api.no-such-provider.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    cp.load_litellm()  # the import is not what is timed here
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with running_proxy(fake, gemini, OPENAI_BASE_URL="http://api.no-such-provider.invalid/v1") as server:
        for stream in (False, True):
            (status, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", dict(BASIC, stream=stream)))
            assert status == 500 and json.loads(data)["error"]["type"] == "api_error" and took < 2


def test_malformed_chunk_from_the_provider(proxy, fake):
    fake.replies = [dict(text_reply("Hello there!"), garbage_after=1)]
    (status, _, data), took = timed(lambda: raw(proxy, "POST", "/v1/messages", dict(BASIC, stream=True)))
    events = parse_sse(data)
    assert status == 200 and took < 5
    names = [name for name, _ in events]
    # Either the bad chunk is a typed error event, or it is skipped and the answer completes intact.
    if names[-1] == "error":
        assert "message_stop" not in names and events[-1][1]["error"]["type"] in ("api_error", "overloaded_error")
    else:
        check_protocol(events)
        assert cp.fold_events(events)["content"][0]["text"] == "Hello there!"


def test_lone_surrogate_from_the_provider_does_not_break_the_stream(proxy, fake):
    fake.replies = [text_reply("ab\ud83dcd")]
    status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, stream=True))
    events = parse_sse(data)
    check_protocol(events)
    assert cp.fold_events(events)["content"][0]["text"] == "ab?cd"


def test_stream_of_comments_only_ends_at_request_timeout(start_proxy, fake):
    server = start_proxy(REQUEST_TIMEOUT="0.5")
    fake.replies = [{"comments_forever": True, "deltas": []}]
    (status, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", dict(BASIC, stream=True)))
    assert status == 504 and json.loads(data)["error"]["type"] == "timeout_error" and took < 2.5
    assert fake.aborted.wait(TIMEOUT)


def test_endless_stream_ends_at_the_request_deadline(start_proxy, fake):
    server = start_proxy(REQUEST_DEADLINE="1")
    fake.replies = [{"deltas": [{"content": f"word{n} "} for n in range(400)], "pauses": {n: 0.05 for n in range(400)},
                     "finish": "stop", "usage": (1, 1)}]
    (status, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", dict(BASIC, stream=True)))
    events = parse_sse(data)
    assert status == 200 and events[-1][0] == "error" and events[-1][1]["error"]["type"] == "timeout_error"
    assert "REQUEST_DEADLINE" in events[-1][1]["error"]["message"] and took < 3
    assert fake.aborted.wait(TIMEOUT)


def test_a_silent_client_cannot_pin_a_thread(start_proxy):
    server = start_proxy(CLIENT_TIMEOUT="0.3")
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nContent-Length: 500\r\n\r\n{\"mod")  # and then nothing
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):  # until the proxy gives up and closes
            answer += chunk
    assert time.monotonic() - started < 3
    assert raw(server, "GET", "/")[0] == 200


def test_nothing_in_a_request_can_redirect_the_proxy(proxy, fake):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        evil = f"http://127.0.0.1:{listener.getsockname()[1]}"
        body = dict(BASIC, api_base=evil, base_url=evil, api_key="stolen", extra_headers={"Host": "evil"},
                    headers={"Authorization": "Bearer x"}, litellm_params={"api_base": evil}, model_list=[{"api_base": evil}])
        query = f"/v1/messages?beta=true&api_base={evil}&base_url={evil}"
        headers = {"x-api-base": evil, "X-Forwarded-Host": evil, "anthropic-base-url": evil, "x-api-key": "stolen"}
        for stream in (False, True):
            assert raw(proxy, "POST", query, dict(body, stream=stream), headers)[0] == 200
        assert raw(proxy, "POST", "/v1/messages", dict(BASIC, model=f"openai/{evil}"))[0] == 400
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody ever connected
    assert len(fake.received) == 2 and all(h["authorization"] == "Bearer sk-test-openai" for _, h, _ in fake.received)


def test_e2e_client_key_never_forwarded_and_body_cannot_redirect(client, fake):
    client.messages.create(**BASIC, extra_body={"api_base": "http://127.0.0.2:9", "api_key": "stolen",
                                                "extra_headers": {"Authorization": "Bearer stolen"},
                                                "mock_response": "fake!"})
    assert len(fake.received) == 1
    _, headers, body = fake.received[-1]
    assert headers["authorization"] == "Bearer sk-test-openai"
    assert "client-key-never-forwarded" not in json.dumps(headers) + json.dumps(body)
    assert not {"api_base", "api_key", "extra_headers", "mock_response"} & set(body)


def test_provider_error_text_never_echoes_a_key(client, fake):
    import anthropic

    fake.replies = [{"status": 401, "body": {"error": {"message": "Incorrect API key provided: sk-test-openai", "type": "x"}}}]
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(**BASIC)
    assert "sk-test-openai" not in json.dumps(caught.value.body) and "***" in caught.value.body["error"]["message"]


def test_no_provider_key_in_any_log_line_or_answer(client, fake, gemini, proxy):
    """With litellm's own debug logging on as well, requests that carry and provoke the keys
    (an error text that quotes one): the keys of every fake provider appear in no log line
    and in no byte the proxy sent. `recorded_run` checks the same over the whole run, last."""
    import logging

    loggers = [logging.getLogger(name) for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    collector = _CollectLogs()
    wire_from, logs_from, nodelay_from = len(WIRE), len(LOG_LINES), len(NODELAY)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(collector)
    try:
        fake.replies = [text_reply(), text_reply(), {"status": 401, "body": {"error": {"message": "bad key sk-test-openai"}}}]
        client.messages.create(**BASIC)
        with client.messages.stream(**dict(BASIC, model="claude-haiku-4-5")) as s:
            s.get_final_message()
        gemini.replies = [text_reply()]
        client.messages.create(**dict(BASIC, model="gemini/gemini-2.5-flash"))
        with pytest.raises(Exception):
            client.messages.create(**BASIC)
    finally:
        for lg, (level, propagate) in zip(loggers, saved):
            lg.setLevel(level)
            lg.propagate = propagate
            lg.removeHandler(collector)
    wire = b"".join(WIRE[wire_from:]).decode("utf-8", "replace")
    logs = "\n".join(LOG_LINES[logs_from:])
    assert wire and logs  # this test's own answers and log lines, litellm's among them
    assert NODELAY[nodelay_from:] and all(NODELAY[nodelay_from:]), "a connection without TCP_NODELAY"
    for key in FAKE_KEYS:
        assert key not in wire, f"{key} sent to a client"
        assert key not in logs, f"{key} in a log line"


def test_sigterm_drains_then_ends_open_streams(fake, tmp_path):
    with proxy_process(fake, tmp_path) as (process, port):
        fake.replies = [dict(text_reply("first words and then a long silence"), pauses={1: 30})]
        results = []
        client_thread = threading.Thread(target=lambda: results.append(exchange(
            type("P", (), {"server_address": ("127.0.0.1", port)}),
            b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
            % (len(json.dumps(dict(BASIC, stream=True))), json.dumps(dict(BASIC, stream=True)).encode()))))
        client_thread.start()
        assert fake.arrived.wait(TIMEOUT)
        process.terminate()
        assert process.wait(timeout=TIMEOUT) == 0
        client_thread.join(TIMEOUT)
        answer = results[0]
        assert answer.startswith(b"HTTP/1.1 200")
        assert b"event: error" in answer and b"overloaded_error" in answer and b"message_stop" not in answer
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
        output = process.stdout.read()
        assert "stopping" in output and "stopped" in output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the worker processes from /proc")
def test_workers_share_one_port_and_sum_usage(fake, tmp_path):
    """WORKERS=2: two worker processes behind the one port, the banner says so; requests on
    new connections (the kernel spreads them over both) are all in /proxy/usage, whichever
    worker answers it, in USAGE_LOG, and in the line at SIGTERM, which stops both."""
    usage_log = tmp_path / "usage.jsonl"
    with proxy_process(fake, tmp_path, WORKERS="2", USAGE_LOG=str(usage_log)) as (process, port):
        banner = [process.stdout.readline() for _ in range(3)]
        assert any("2 worker processes share the port" in line for line in banner), banner
        with open(f"/proc/{process.pid}/task/{process.pid}/children") as f:
            workers = [int(pid) for pid in f.read().split()]
        assert len(workers) == 2
        target = type("P", (), {"server_address": ("127.0.0.1", port)})
        for n in range(8):
            body = json.dumps(dict(BASIC, stream=n % 2 == 1)).encode()
            answer = exchange(target, b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        for _ in range(6):  # on new connections too: each worker answers with the sum
            answer = exchange(target, b"GET /proxy/usage HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["totals"]["requests"] == 8
        answer = exchange(target, b"GET /proxy/usage?session=s-unknown&model=claude-opus-5-5 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  b"Connection: close\r\n\r\n")  # the status line's question, from a worker
        usage = json.loads(answer.split(b"\r\n\r\n", 1)[1])
        assert usage["route"] == "openai/gpt-4.1" and usage["sessions"] == {}  # no session by that id
        process.terminate()
        assert process.wait(timeout=TIMEOUT) == 0
        output = process.stdout.read()
        assert "served 8 request(s)" in output and "stopped" in output and "Traceback" not in output
        assert len(usage_log.read_text().splitlines()) == 8
        for pid in workers:
            assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read()


def test_a_burst_of_300_connections_is_accepted_at_once(start_proxy):
    """300 connections opened before any is served wait in the listen backlog (socketserver's
    default of 5 would have the kernel drop most SYNs, each retried a second later), and all
    are answered."""
    server = start_proxy()
    assert server.request_queue_size >= 1024
    socks = []
    try:
        started = time.monotonic()
        for _ in range(300):
            socks.append(socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=TIMEOUT))
        for sock in socks:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        for sock in socks:
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"status":"ok"}')
        assert time.monotonic() - started < 30
    finally:
        for sock in socks:
            sock.close()


def dechunk(data: bytes) -> bytes:
    """A chunked body's bytes. Example: b"2\r\nhi\r\n0\r\n\r\n" -> b"hi"."""
    out, rest = [], data
    while True:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return b"".join(out)
        out.append(rest[:n])
        rest = rest[n + 2:]


def test_relay_loop_gives_a_slow_reader_back_to_its_thread(fake):
    """A stream the relay loop carries whose client stops reading (a small receive window):
    the loop never waits for it; the stream goes back to its own thread with the bytes the
    client could not take, and the client, reading again, gets every event in order. (The
    loop carries direct-path streams: litellm's are read on their threads.)"""
    with running_proxy(fake) as server:
        slow_reader_stream(server, fake)


def slow_reader_stream(server, fake):
    words = [f"{n:05d}" + "x" * 2000 + " " for n in range(3000)]  # 6 MB: more than the sockets' buffers hold
    fake.replies = [{"deltas": [{"content": w} for w in words], "pauses": {1: 0.2}, "finish": "stop", "usage": (5, 3000)}]
    before_carried, before_back = cp.RELAY.carried, cp.RELAY.handed_back
    body = json.dumps(dict(BASIC, stream=True)).encode()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(TIMEOUT)
        sock.connect(("127.0.0.1", server.server_address[1]))
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s"
                     % (len(body), body))
        first = sock.recv(4096)
        deadline = time.monotonic() + TIMEOUT
        while cp.RELAY.handed_back == before_back and time.monotonic() < deadline:
            time.sleep(0.05)  # polls a counter, not a wait for the server to start
        received = [first]
        while chunk := sock.recv(65536):
            received.append(chunk)
    assert cp.RELAY.carried > before_carried and cp.RELAY.handed_back > before_back
    data = b"".join(received)
    head, _, chunked = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    events = parse_sse(dechunk(chunked))
    check_protocol(events)
    assert cp.fold_events(events)["content"][0]["text"] == "".join(words)


def test_relay_loop_quick_reads_give_the_bytes_of_the_general_way(fake, monkeypatch):
    """A paced stream (a chunk per read) carried by the relay loop: most of its text deltas are
    framed by QuickText reads, and the client gets the events it gets when the stream is not
    carried at all, its own thread reading it the general way."""
    words = [f"w{n} \"q\" \\ " for n in range(40)]  # ASCII: the fake escapes as json.dumps does by default
    reply = {"deltas": [{"content": w} for w in words], "pauses": {n: 0.01 for n in range(1, 40)}, "finish": "stop",
             "usage": (5, 40)}
    body = json.dumps(dict(BASIC, stream=True)).encode()
    answers = []
    with running_proxy(fake) as server:
        for carried in (True, False):
            monkeypatch.setattr(cp.RELAY, "usable", carried)
            fake.replies = [reply]
            before = cp.RELAY.quick_reads
            status, _, data = raw(server, "POST", "/v1/messages", body)
            assert status == 200
            answers.append(re.sub(rb"msg_[0-9A-Za-z]+", b"msg_", data))
            assert (cp.RELAY.quick_reads - before >= 10) is carried  # most of the 40: a busy machine may join a few reads
    assert answers[0] == answers[1]
    assert cp.fold_events(parse_sse(answers[0]))["content"][0]["text"] == "".join(words)


def paced_chunks(events, then_wait=0.05):
    """A chunked SSE answer's head, then each event as its own HTTP chunk 10 ms apart (a paced
    provider: one chunk per read), for FaultProvider; it waits `then_wait` s after the last."""
    yield b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    for frame in events:
        time.sleep(0.01)
        yield b"%x\r\n%s\r\n" % (len(frame), frame)
    time.sleep(then_wait)


def test_relay_loop_quick_reads_meet_a_reset_as_the_general_way(fake, monkeypatch):
    """A paced stream whose provider resets the connection while the relay loop reads it by
    QuickText: the client's error event names the reset, as when the stream's own thread reads
    it the general way (a quick read must not swallow the failure and leave the general read an
    end of connection: "broke off before its end")."""
    events = [b'data: {"choices":[{"index":0,"delta":{"content":"w%d "},"finish_reason":null}]}\n\n' % n for n in range(30)]
    errors = []
    for carried in (True, False):
        monkeypatch.setattr(cp.RELAY, "usable", carried)
        provider = FaultProvider(paced_chunks(events), "reset")
        with running_proxy(fake, OPENAI_BASE_URL=provider.url) as server:
            before = cp.RELAY.quick_reads
            status, _, data = raw(server, "POST", "/v1/messages", dict(BASIC, stream=True))
            assert status == 200
            assert (cp.RELAY.quick_reads - before >= 5) is carried
        parsed = parse_sse(data)
        assert parsed[-1][0] == "error" and cp.fold_events(parsed[:-1])["content"][0]["text"].startswith("w0 w1 ")
        errors.append(parsed[-1][1])
    assert errors[0] == errors[1]
    assert "Connection reset" in errors[0]["error"]["message"]


def test_relay_loop_sees_a_client_leave(fake):
    """A carried stream whose client closes its connection while the provider is silent: the
    loop notices within a second or so, and the request ends."""
    with running_proxy(fake) as server:
        leaving_client(server, fake)


def leaving_client(server, fake):
    fake.replies = [dict(text_reply("one two three"), pauses={1: 5})]
    before = cp.RELAY.carried
    body = json.dumps(dict(BASIC, stream=True)).encode()
    sock = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=TIMEOUT)
    sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    deadline = time.monotonic() + TIMEOUT
    while cp.RELAY.carried == before and time.monotonic() < deadline:
        time.sleep(0.01)
    sock.close()
    started = time.monotonic()
    while server.active and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.active == 0 and time.monotonic() - started < 4


def rss_kb(field="VmRSS") -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def test_load_200_concurrent_streams(start_proxy, fake):
    """200 streams at once through one proxy to a paced provider: all complete, each with its
    own words in order, no errors, and memory stays bounded."""
    server = start_proxy()

    def responder(body):
        n = int(body["messages"][-1]["content"].split()[-1])
        return {"deltas": [{"content": f"{n}:{k} "} for k in range(20)], "pauses": {k: 0.01 for k in range(20)},
                "finish": "stop", "usage": (5, 20)}

    fake.responder = responder
    before = rss_kb()
    results = [None] * 200

    def one(i):
        results[i] = raw(server, "POST", "/v1/messages", dict(BASIC, stream=True, messages=[{"role": "user", "content": f"count {i}"}]))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(3 * TIMEOUT)
    took = time.monotonic() - started
    for i, result in enumerate(results):
        assert result is not None and result[0] == 200, (i, result and result[:2])
        events = parse_sse(result[2])
        check_protocol(events)
        assert cp.fold_events(events)["content"][0]["text"] == "".join(f"{i}:{k} " for k in range(20))
    growth_mb = (rss_kb() - before) / 1024
    print(f"\n200 concurrent streams: {took:.1f} s, RSS growth {growth_mb:.0f} MB, peak RSS of the test process "
          f"{rss_kb('VmHWM') / 1024:.0f} MB")
    assert growth_mb < 400


# ----------------------------------------------------------------------------------------
# web search: the proxy runs Anthropic's web search tool through litellm.search (a fake Tavily)
# ----------------------------------------------------------------------------------------


class TavilyFake(http.server.ThreadingHTTPServer):
    """Tavily's search API on loopback (docs.tavily.com/documentation/api-reference/endpoint/search):
    POST {base}/search with a JSON body and `Authorization: Bearer <key>`, answered with
    {"query", "answer", "images", "results": [{"title", "url", "content", "score", "raw_content"}],
    "response_time", "request_id"}. It enforces the documented rules: the key (401), a non-empty
    `query`, `max_results` 0-20, `include_domains` at most 300 and `exclude_domains` at most 150,
    `country` a country's name (lowercase, "united states"), never a code; it answers errors in
    Tavily's shape, {"detail": {"error": ...}}. `results` are served as they are; `status` (with
    `detail`) scripts a failure; `delay` holds the answer; each request is kept in `received`."""

    daemon_threads = True
    KEY = "tvly-test-key"

    def __init__(self):
        super().__init__(("127.0.0.1", 0), TavilyHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.reset()

    def reset(self):
        self.results = [{"title": "Python 3.15 released", "url": "https://www.python.org/downloads/release/python-3150/",
                         "content": "Python 3.15.0 is the newest major release.", "score": 0.98, "raw_content": None},
                        {"title": "What's new in Python 3.15", "url": "https://docs.python.org/3.15/whatsnew/3.15.html",
                         "content": "Summary of the release highlights.", "score": 0.91, "raw_content": None}]
        self.status, self.detail, self.delay, self.received = None, "", 0, []


def tavily_refusal(headers, body) -> tuple | None:
    """(status, message) for a request Tavily refuses, per its API reference, else None."""
    if headers.get("authorization") != f"Bearer {TavilyFake.KEY}":
        return 401, "Unauthorized: missing or invalid API key."
    if not isinstance(body, dict) or not isinstance(body.get("query"), str) or not body["query"].strip():
        return 400, "Query is missing."
    if "max_results" in body and not (isinstance(body["max_results"], int) and 0 <= body["max_results"] <= 20):
        return 400, "max_results must be between 0 and 20."
    for field, most in (("include_domains", 300), ("exclude_domains", 150)):
        if field in body and not (isinstance(body[field], list) and len(body[field]) <= most):
            return 400, f"{field} must be a list of at most {most} domains."
    if "country" in body and not (isinstance(body["country"], str) and len(body["country"]) > 2):
        return 400, "Invalid country."  # a name such as "united states"; an ISO code is refused
    return None


class TavilyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"null")
        headers = {k.lower(): v for k, v in self.headers.items()}
        server = self.server
        server.received.append((self.path, headers, body))
        if server.delay:
            time.sleep(server.delay)  # a slow search, scripted
        refusal = (404, "Not found.") if self.path != "/search" else tavily_refusal(headers, body)
        if refusal is None and server.status:
            refusal = (server.status, server.detail or "scripted failure")
        if refusal:
            status, answer = refusal[0], {"detail": {"error": refusal[1]}}
        else:
            status, answer = 200, {"query": body["query"], "follow_up_questions": None, "answer": None, "images": [],
                                   "results": server.results[:body.get("max_results", 5)], "response_time": 0.42,
                                   "request_id": "123e4567-e89b-12d3-a456-426614174111"}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def tavily():
    yield from running(TavilyFake())


@pytest.fixture
def searching(start_proxy, tavily):
    """A proxy whose web searches go to the fake Tavily (on the path `start_proxy` gives)."""
    tavily.reset()
    cp.load_litellm()  # litellm.search: imported now, as the proxy does at start with WEB_SEARCH_PROVIDER set
    return start_proxy(**search_env(tavily))


def search_env(tavily, **extra):
    return dict(WEB_SEARCH_PROVIDER="tavily", TAVILY_API_KEY=TavilyFake.KEY, TAVILY_API_BASE=tavily.url, **extra)


SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


def searcher(queries=("python 3.15 release",), answer="From the results: "):
    """A fake model that calls web_search once per query, all in its first turn, then, given the
    results, answers with the text it was given back (so a test sees what reached the model)."""
    def respond(body):
        results = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        if results:
            return text_reply(answer + " | ".join(results), usage=(300, 20))
        deltas = [{"content": "Let me search."}]
        for n, query in enumerate(queries):
            deltas += [tool_delta(n, "", f"call_ws{n}", "web_search")] + [tool_delta(n, f) for f in fragments(json.dumps({"query": query}))]
        return {"deltas": deltas, "finish": "tool_calls", "usage": (100, 10)}
    return respond


def search_message(proxy, stream, **fields):
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0, timeout=TIMEOUT)
    body = dict(dict(BASIC, max_tokens=500, messages=[{"role": "user", "content": "What is the newest Python?"}],
                     tools=[SEARCH_TOOL]), **fields)
    if not stream:
        return client.messages.create(**body)
    with client.messages.stream(**body) as events:
        return events.get_final_message()


@pytest.mark.parametrize("stream", [False, True])
def test_e2e_web_search_runs_and_the_answer_continues(searching, fake, tavily, stream):
    fake.responder = searcher()
    message = search_message(searching, stream)
    assert [b.type for b in message.content] == ["text", "server_tool_use", "web_search_tool_result", "text"]
    call, result = message.content[1], message.content[2]
    assert call.id.startswith("srvtoolu_") and call.name == "web_search" and call.input == {"query": "python 3.15 release"}
    assert result.tool_use_id == call.id
    assert [(r.type, r.title, r.url) for r in result.content] == [(r_type, r["title"], r["url"]) for r_type, r in
                                                                  zip(["web_search_result"] * 2, tavily.results)]
    assert all(r.encrypted_content.startswith(cp.SEALED_MARK) and r.page_age is None for r in result.content)
    assert "Python 3.15.0 is the newest major release." in message.content[3].text  # the results reached the model
    assert message.stop_reason == "end_turn"
    assert message.usage.server_tool_use.web_search_requests == 1
    assert (message.usage.input_tokens, message.usage.output_tokens) == (400, 30)  # both calls
    [(path, headers, body)] = tavily.received
    assert path == "/search" and headers["authorization"] == f"Bearer {TavilyFake.KEY}"
    assert body["query"] == "python 3.15 release" and body["max_results"] == cp.MAX_RESULTS
    first, second = (b for _, _, b in fake.received)
    assert [t["function"]["name"] for t in first["tools"]] == ["web_search"]
    assert second["messages"][-2]["tool_calls"][0]["id"] == "call_ws0"
    assert second["messages"][-1]["tool_call_id"] == "call_ws0" and "https://www.python.org/" in second["messages"][-1]["content"]
    assert "tools" not in second or [t["function"]["name"] for t in second["tools"]] == ["web_search"]


def test_e2e_web_search_max_uses_then_pause_turn(searching, fake, tavily):
    """max_uses 1: of two searches in one turn the second is max_uses_exceeded; the turn goes on
    without the tool; a model that searches all the same is stopped with pause_turn."""
    calls = []

    def stubborn(body):
        calls.append(body)
        if len(calls) == 1:
            return searcher(("first", "second"))(body)
        return {"deltas": [tool_delta(0, "", "call_again", "web_search"), tool_delta(0, '{"query": "third"}')],
                "finish": "tool_calls", "usage": (200, 5)}

    fake.responder = stubborn
    message = search_message(searching, True, tools=[dict(SEARCH_TOOL, max_uses=1)])
    kinds = [b.type for b in message.content]
    assert kinds == ["text", "server_tool_use", "server_tool_use", "web_search_tool_result", "web_search_tool_result",
                     "server_tool_use", "web_search_tool_result"]
    results = [b for b in message.content if b.type == "web_search_tool_result"]
    assert isinstance(results[0].content, list) and len(results[0].content) == 2
    assert [r.content.error_code for r in results[1:]] == ["max_uses_exceeded", "max_uses_exceeded"]
    assert [r.tool_use_id for r in results] == [b.id for b in message.content if b.type == "server_tool_use"]
    assert message.stop_reason == "pause_turn" and message.usage.server_tool_use.web_search_requests == 1
    assert [b["query"] for _, _, b in tavily.received] == ["first"]
    assert len(calls) == 2 and "tools" not in calls[1]  # used up: not offered again
    assert [m["content"] for m in calls[1]["messages"] if m["role"] == "tool"][1] == "Web search error: max_uses_exceeded"


@pytest.mark.parametrize("status, code", [(500, "unavailable"), (429, "too_many_requests"), (401, "unavailable")])
def test_e2e_web_search_failure_is_a_result_and_the_answer_comes(searching, fake, tavily, proxy_log, status, code):
    tavily.status, tavily.detail = status, "scripted search failure"
    fake.responder = searcher(answer="No luck: ")
    message = search_message(searching, False)
    assert [b.type for b in message.content] == ["text", "server_tool_use", "web_search_tool_result", "text"]
    assert message.content[2].content.type == "web_search_tool_result_error" and message.content[2].content.error_code == code
    assert message.content[3].text == f"No luck: Web search error: {code}"
    assert message.stop_reason == "end_turn" and message.usage.server_tool_use.web_search_requests == 0
    assert any("web search at tavily failed" in r.getMessage() for r in proxy_log.records)


def test_e2e_web_search_without_a_provider_answers_unavailable(start_proxy, fake, tavily, proxy_log):
    tavily.reset()
    proxy = start_proxy()
    cp._told_no_search.clear()  # said once per process: here it must be said
    fake.responder = searcher(answer="Cannot search: ")
    message = search_message(proxy, True)
    assert message.content[2].content.error_code == "unavailable"
    assert message.content[3].text == "Cannot search: Web search error: unavailable"
    assert tavily.received == []  # nowhere the operator did not configure
    assert any("WEB_SEARCH_PROVIDER" in r.getMessage() for r in proxy_log.records if r.levelname == "WARNING")


def test_e2e_web_search_keeps_the_stream_alive_and_its_grammar(start_proxy, fake, tavily):
    """A slow search: pings and empty deltas flow meanwhile; the stream keeps Anthropic's grammar
    and folds to what the JSON answer holds."""
    tavily.reset()
    proxy = start_proxy(**search_env(tavily, KEEPALIVE_SECONDS="0.2"))
    cp.load_litellm()  # imported before: the keep-alives counted are the search's
    fake.responder = searcher()
    tavily.delay = 1.0
    body = dict(BASIC, max_tokens=500, stream=True, tools=[SEARCH_TOOL], messages=[{"role": "user", "content": "news?"}])
    status, _, data = raw(proxy, "POST", "/v1/messages", body)
    assert status == 200
    events = parse_sse(data)
    check_protocol([(name, d) for name, d in events if name != "content_block_delta" or d["delta"] != {
        "type": "thinking_delta", "thinking": ""}])  # but keep-alive's empty deltas, which are there to be empty
    names = [name for name, _ in events]
    call_stop = next(i for i, (name, d) in enumerate(events) if name == "content_block_start"
                     and d["content_block"]["type"] == "server_tool_use") + 2
    result_start = next(i for i, (name, d) in enumerate(events) if name == "content_block_start"
                        and d["content_block"]["type"] == "web_search_tool_result")
    assert names[call_stop:result_start].count("ping") >= 3  # a second of searching, a ping every 0.2 s
    streamed = cp.fold_events(events)
    tavily.delay = 0
    answer = json.loads(raw(proxy, "POST", "/v1/messages", dict(body, stream=False))[2])

    def shape(message):
        return [(b["type"], b.get("text"), b.get("input"), len(b.get("content") or ())) for b in message["content"]
                if b["type"] != "thinking"]  # keep-alive's empty thinking blocks come only on a stream

    assert shape(streamed) == shape(answer) and streamed["usage"] == answer["usage"]
    assert answer["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}


def test_e2e_web_search_gives_a_thinking_model_its_reasoning_back(searching, fake, tavily):
    """DeepSeek's thinking mode wants its reasoning back on the tool-call turn (the fake refuses it
    otherwise, api-docs.deepseek.com/guides/thinking_mode): the continuation carries it."""
    def respond(body):
        reply = searcher()(body)
        if reply["finish"] == "tool_calls":
            reply["deltas"].insert(0, {"reasoning_content": "I should search."})
        return reply

    fake.responder = respond
    message = search_message(searching, False, model="deepseek/deepseek-v4-flash",
                             thinking={"type": "enabled", "budget_tokens": 2048})
    assert [b.type for b in message.content] == ["thinking", "text", "server_tool_use", "web_search_tool_result", "text"]
    second = fake.received[-1][2]
    assert second["messages"][-2]["reasoning_content"] == "I should search."
    assert "Python 3.15.0" in message.content[-1].text


def test_e2e_web_search_beside_the_clients_tools_ends_the_turn(searching, fake, tavily):
    fake.responder = lambda body: {"deltas": [tool_delta(0, "", "call_ws", "web_search"), tool_delta(0, '{"query": "q"}'),
                                              tool_delta(1, "", "call_bash", "Bash"), tool_delta(1, '{"command": "ls"}')],
                                   "finish": "tool_calls", "usage": (90, 9)}
    message = search_message(searching, True, tools=[SEARCH_TOOL] + TOOLS)
    assert [b.type for b in message.content] == ["server_tool_use", "tool_use", "web_search_tool_result"]
    assert message.stop_reason == "tool_use" and len(fake.received) == 1 and len(tavily.received) == 1
    # the next turn: the client's tool result, with the search in its history, as plain tool calls and results
    fake.responder = None
    fake.replies = [text_reply("Done.")]
    history = [{"role": "user", "content": "What is the newest Python?"},
               {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": message.content[1].id, "content": "a.txt"}]}]
    assert search_message(searching, False, messages=history, tools=[SEARCH_TOOL] + TOOLS).content[0].text == "Done."
    sent = fake.received[-1][2]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "tool"]
    assert [c["id"] for c in sent[1]["tool_calls"]] == ["call_ws", "call_bash"]
    assert sent[2]["tool_call_id"] == "call_ws" and "Python 3.15.0 is the newest major release." in sent[2]["content"]
    assert sent[3] == {"role": "tool", "tool_call_id": "call_bash", "content": "a.txt"}


def test_e2e_web_search_domains_and_an_empty_query(searching, fake, tavily):
    fake.responder = searcher(("", "python"))
    tool = dict(SEARCH_TOOL, blocked_domains=["docs.python.org"], user_location={"type": "approximate", "country": "US"})
    message = search_message(searching, False, tools=[tool])
    results = [b for b in message.content if b.type == "web_search_tool_result"]
    assert results[0].content.error_code == "invalid_tool_input"
    assert [r.url for r in results[1].content] == ["https://www.python.org/downloads/release/python-3150/"]
    [(_, _, sent)] = tavily.received
    assert sent["exclude_domains"] == ["docs.python.org"] and "country" not in sent  # Tavily takes names, not codes


def test_web_search_settings_at_start():
    config = cp.Config.from_env({"WEB_SEARCH_PROVIDER": "Tavily"})
    assert config.web_search_provider == "tavily"
    assert "  web searches -> tavily" in cp.banner(config, "http://127.0.0.1:8082")
    assert any("WEB_SEARCH_PROVIDER=tavily needs TAVILY_API_KEY" in p for p in cp.config_problems(config, PROVIDER_NAMES))
    searx = cp.Config.from_env({"WEB_SEARCH_PROVIDER": "searxng"})
    assert [p for p in cp.config_problems(searx, PROVIDER_NAMES) if "WEB_SEARCH" in p] == [
        "WEB_SEARCH_PROVIDER=searxng needs SEARXNG_API_BASE: without it every web search answers 'unavailable'"]
    ready = cp.Config.from_env({"WEB_SEARCH_PROVIDER": "exa_ai", "EXA_API_KEY": "exa-1"})
    assert not [p for p in cp.config_problems(ready, PROVIDER_NAMES) if "WEB_SEARCH" in p]
    assert cp.needs_litellm(ready) and not cp.needs_litellm(cp.dataclasses.replace(ready, web_search_provider=""))
    assert any("WEB_SEARCH_PROVIDER unset" in line for line in cp.banner(cp.Config.from_env({}), "http://127.0.0.1:8082"))


@pytest.mark.parametrize("via", cp.VIAS)
@pytest.mark.parametrize("model", ["gemini/gemini-2.5-flash", "gemini/gemini-3-flash-preview"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_web_search_with_gemini_through_litellm(fake, gemini, tavily, stream, model, via):
    """Gemini (litellm's path, strict turn rules): the search call and its result alternate turns,
    and the call goes back with the thought signature Gemini gave it (carried in the srvtoolu id)."""
    tavily.reset()
    cp.load_litellm()

    def respond(body):
        answered = [p.get("functionResponse") or p["function_response"] for c in body["contents"] for p in c.get("parts", ())
                    if "functionResponse" in p or "function_response" in p]
        if answered:
            return text_reply("Gemini read: " + json.dumps(answered[-1]["response"]), usage=(80, 9))
        return {"deltas": [tool_delta(0, json.dumps({"query": "python 3.15"}), "call_g", "web_search")],
                "finish": "tool_calls", "usage": (40, 6), "signature": "c2lnbmF0dXJlK29mL3RoZS9jYWxs"}

    gemini.responder = respond
    with running_proxy(fake, gemini, PROXY_VIA=via, **search_env(tavily)) as proxy:  # the direct Gemini path, and litellm
        message = search_message(proxy, stream, model=model)
    assert [b.type for b in message.content] == ["server_tool_use", "web_search_tool_result", "text"]
    assert "Python 3.15.0 is the newest major release." in message.content[2].text
    first, second = (body for _, _, body in gemini.received)
    assert [c["role"] for c in second["contents"]] == ["user", "model", "user"]
    call = next(p for p in second["contents"][1]["parts"] if "functionCall" in p or "function_call" in p)
    assert (call.get("functionCall") or call["function_call"])["name"] == "web_search"
    assert (call.get("thoughtSignature") or call.get("thought_signature")) == "c2lnbmF0dXJlK29mL3RoZS9jYWxs"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_web_search_with_a_codex_model_over_the_responses_api(fake, tavily, stream):
    """A codex model (the Responses path) that reasons, then searches: the continuation goes to the
    Responses API too (the same path), with the reasoning before the search's call and its output
    after it (the fake's rules), and the answer reads the results."""
    tavily.reset()
    cp.load_litellm()

    def respond(body):
        outputs = [i for i in body["input"] if i.get("type") == "function_call_output"]
        if outputs:
            return text_reply("Codex read: " + outputs[-1]["output"], usage=(80, 9))
        return {"deltas": [{"reasoning_content": "Search it."}, tool_delta(0, json.dumps({"query": "python 3.15"}), "call_s",
                                                                           "web_search")],
                "finish": "tool_calls", "usage": (40, 6)}

    fake.responder = respond
    with codex_proxy(fake, **search_env(tavily)) as (proxy, _):
        message = search_message(proxy, stream, thinking={"type": "enabled", "budget_tokens": 2000}, max_tokens=3000)
    assert [b.type for b in message.content] == ["thinking", "server_tool_use", "web_search_tool_result", "text"]
    assert "Python 3.15.0 is the newest major release." in message.content[3].text
    assert [path for path, _, _ in fake.received] == ["/v1/responses", "/v1/responses"]
    second = fake.received[1][2]
    assert [i["type"] for i in second["input"]] == ["message", "reasoning", "function_call", "function_call_output"]
    assert message.usage.server_tool_use.web_search_requests == 1


DOMAIN_CASES = [
    ("https://docs.example.com/a", "example.com", True),
    ("https://example.com/", "example.com", True),
    ("https://notexample.com/", "example.com", False),
    ("https://example.com/", "docs.example.com", False),
    ("https://example.com/blog/post", "example.com/blog", True),
    ("https://example.com/news/1", "example.com/blog", False),
    ("http://EXAMPLE.com/x", "https://example.com", True),
    ("https://example.com/", "", False),
]


@pytest.mark.parametrize("url, domain, expected", DOMAIN_CASES)
def test_domain_matches(url, domain, expected):
    assert cp.domain_matches(url, domain) is expected


SEARCH_REQUEST_CASES = [
    ("tavily: key, base, allowed and blocked domains, no country",
     {"allowed_domains": ["python.org"], "blocked_domains": ["x.example"], "user_location": {"type": "approximate", "country": "de"}},
     "tavily", {"TAVILY_API_KEY": "tvly-1", "TAVILY_API_BASE": "http://127.0.0.1:9"},
     {"query": "q", "search_provider": "tavily", "max_results": 10, "api_key": "tvly-1", "api_base": "http://127.0.0.1:9",
      "search_domain_filter": ["python.org"], "exclude_domains": ["x.example"]}),
    ("exa: its own variable names, excludeDomains, the country",
     {"blocked_domains": ["x.example"], "user_location": {"type": "approximate", "country": "de", "city": "Berlin"}},
     "exa_ai", {"EXA_API_KEY": "exa-1", "EXA_AI_API_KEY": "wrong"},
     {"query": "q", "search_provider": "exa_ai", "max_results": 10, "api_key": "exa-1", "excludeDomains": ["x.example"],
      "country": "DE"}),
    ("brave: the rule's names; blocked domains only filtered afterwards", {"blocked_domains": ["x.example"]},
     "brave", {"BRAVE_API_KEY": "b-1"}, {"query": "q", "search_provider": "brave", "max_results": 10, "api_key": "b-1"}),
    ("perplexity's key variable", {}, "perplexity", {"PERPLEXITYAI_API_KEY": "p-1", "PERPLEXITY_API_KEY": "wrong"},
     {"query": "q", "search_provider": "perplexity", "max_results": 10, "api_key": "p-1"}),
    ("searxng: no key, its base", {"user_location": {"type": "approximate", "country": "United States"}}, "searxng",
     {"SEARXNG_API_BASE": "http://searx.lan:8080"},
     {"query": "q", "search_provider": "searxng", "max_results": 10, "api_base": "http://searx.lan:8080"}),
]


@pytest.mark.parametrize("tool, provider, env, expected", [c[1:] for c in SEARCH_REQUEST_CASES],
                         ids=[c[0] for c in SEARCH_REQUEST_CASES])
def test_search_request(tool, provider, env, expected):
    assert cp.search_request(tool, "q", provider, env) == expected


def test_search_results_filter_by_domain_and_seal_the_text():
    answer = {"results": [{"title": "A", "url": "https://a.example/1", "snippet": "alpha", "date": "2026-11-30"},
                          {"title": "", "url": "https://b.example/", "snippet": "beta", "date": None},
                          {"title": "C", "url": "https://sub.a.example/x", "snippet": "", "date": None},
                          {"title": "no url", "url": "", "snippet": "x"}]}
    assert cp.search_results(answer, {}) == [
        {"type": "web_search_result", "title": "A", "url": "https://a.example/1", "page_age": "2026-11-30",
         "encrypted_content": cp.sealed("alpha")},
        {"type": "web_search_result", "title": "https://b.example/", "url": "https://b.example/", "page_age": None,
         "encrypted_content": cp.sealed("beta")},
        {"type": "web_search_result", "title": "C", "url": "https://sub.a.example/x", "page_age": None,
         "encrypted_content": cp.sealed("")}]
    assert [r["url"] for r in cp.search_results(answer, {"allowed_domains": ["a.example"]})] == [
        "https://a.example/1", "https://sub.a.example/x"]
    assert [r["url"] for r in cp.search_results(answer, {"blocked_domains": ["sub.a.example"]})] == [
        "https://a.example/1", "https://b.example/"]
    assert cp.unsealed(cp.sealed("naïve \u2028 text")) == "naïve \u2028 text" and cp.unsealed("EqQBCkYIBxgC") == ""
    assert re.fullmatch(r"[\w+/=-]*", cp.sealed("<b>any</b> text")), "opaque to Claude Code, as Anthropic's base64 is"


CONTINUED_CASES = [
    ("forced by name: the model chooses now", {"tool_choice": {"type": "tool", "name": "web_search"}}, False,
     {"tool_choice": {"type": "auto"}}),
    ("any, without parallel calls", {"tool_choice": {"type": "any", "disable_parallel_tool_use": True}}, False,
     {"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}),
    ("auto stays; used up: the search tool goes", {"tool_choice": {"type": "auto"}}, True,
     {"tool_choice": {"type": "auto"}, "tools": TOOLS}),
]


@pytest.mark.parametrize("fields, exhausted, expected", [c[1:] for c in CONTINUED_CASES], ids=[c[0] for c in CONTINUED_CASES])
def test_continued_body(fields, exhausted, expected):
    body = dict(BASIC, tools=TOOLS + [SEARCH_TOOL], **fields)
    turn = [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "q"}}]
    out = cp.continued_body(body, turn, exhausted)
    assert out["messages"] == BASIC["messages"] + [{"role": "assistant", "content": turn}]
    assert {k: out[k] for k in expected} == expected
    assert out["tools"] == (TOOLS if exhausted else TOOLS + [SEARCH_TOOL]) and body["messages"] == BASIC["messages"]


def test_stream_translator_server_calls_whole_blocks_and_summed_calls():
    translator = cp.SearchTurnTranslator("msg_1", "claude-x", input_tokens=7, server_tools=frozenset({"web_search"}))
    events = translator.feed({"choices": [{"delta": {"content": "Looking.", "tool_calls": [
        {"index": 0, "id": "call_1", "function": {"name": "web_search", "arguments": '{"query": "q"}'}}]}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2}})
    events += translator.end_call()
    assert not translator.used_tools  # a server call alone is no tool_use turn
    result = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_x", "content": []}
    events += translator.block(result)
    translator.next_call(input_tokens=20)
    translator.searches = 1
    events += translator.feed({"choices": [{"delta": {"content": "Done."}, "finish_reason": "stop"}],
                               "usage": {"prompt_tokens": 30, "completion_tokens": 3}})
    events += translator.finish()
    check_protocol(events)
    message = cp.fold_events(events)
    call = message["content"][1]
    assert call["type"] == "server_tool_use" and call["id"].startswith("srvtoolu_") and cp.provider_tool_id(call["id"]) == "call_1"
    assert call["input"] == {"query": "q"} and message["content"][2] == result
    assert [b["type"] for b in message["content"]] == ["text", "server_tool_use", "web_search_tool_result", "text"]
    assert message["stop_reason"] == "end_turn"
    assert message["usage"] == {"input_tokens": 40, "output_tokens": 5, "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 0, "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0}}


# ----------------------------------------------------------------------------------------
# the real Claude Code CLI -> proxy -> real litellm -> fake provider
# ----------------------------------------------------------------------------------------

CLAUDE_CODE_VERSION = "2.1.332"  # the version .ci/run installs; keep the two in step


def find_claude() -> str | None:
    import shutil

    pinned = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".ci", "claude-code", "node_modules", ".bin", "claude")
    for candidate in (os.environ.get("CLAUDE_BIN"), pinned, shutil.which("claude")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CLAUDE = find_claude()
needs_claude = pytest.mark.skipif(CLAUDE is None, reason="the Claude Code CLI is not installed: `bash .ci/run` installs "
                                                          f"@anthropic-ai/claude-code@{CLAUDE_CODE_VERSION} into .ci/claude-code")


def run_claude(proxy, home, *args, timeout=180, env=None, **extra):
    """One non-interactive Claude Code run against the proxy, in a throwaway HOME; `env` or `extra`: more environment."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TERM": "dumb",
           "ANTHROPIC_BASE_URL": proxy.url, "ANTHROPIC_API_KEY": "sk-ant-client-dummy",
           "DISABLE_TELEMETRY": "1", "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **(env or {}), **extra}
    return subprocess.run([CLAUDE, *args], env=env, cwd=home, capture_output=True, text=True, timeout=timeout)


def last_tool_reply(body) -> dict | None:
    messages = body["messages"]
    return messages[-1] if messages and messages[-1]["role"] == "tool" else None


@needs_claude
def test_cli_plain_answer(proxy, fake, tmp_path):
    fake.replies = [text_reply("Hello from the fake provider.")]
    run = run_claude(proxy, tmp_path, "-p", "Say hello", "--output-format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["is_error"] is False and result["result"] == "Hello from the fake provider."
    assert result["usage"]["output_tokens"] == 5
    _, headers, body = fake.received[-1]
    assert headers["authorization"] == "Bearer sk-test-openai" and "sk-ant-client-dummy" not in json.dumps(headers)
    assert body["model"] == "gpt-4.1" and body["stream"] is True
    assert {"Bash", "Write", "Read"} <= {t["function"]["name"] for t in body["tools"]}
    assert body["messages"][0]["role"] == "system" and "Say hello" in json.dumps(body["messages"])


@needs_claude
def test_cli_agent_writes_a_file_then_runs_bash(proxy, fake, tmp_path):
    """Turn 1: the model calls Write; turn 2 (with the Write result): Bash; turn 3: the answer."""
    target = tmp_path / "hello.txt"
    write_args = json.dumps({"file_path": str(target), "content": "hi from the proxy\n"})

    def responder(body):
        reply = last_tool_reply(body)
        if reply is None:
            return {"deltas": [{"content": "Writing it."}, tool_delta(0, "", "call_write", "Write")]
                    + [tool_delta(0, f) for f in fragments(write_args, (5, 9))], "finish": "tool_calls", "usage": (900, 40)}
        if reply["tool_call_id"] == "call_write":
            return {"deltas": [tool_delta(0, json.dumps({"command": f"cat {target}", "description": "Show it"}), "call_bash", "Bash")],
                    "finish": "tool_calls", "usage": (950, 20)}
        return text_reply("The file says hi.")

    fake.responder = responder
    run = run_claude(proxy, tmp_path, "-p", "Create hello.txt and show it", "--output-format", "json",
                     "--allowedTools", "Write,Bash")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "The file says hi."
    assert target.read_text() == "hi from the proxy\n"
    turns = [body for _, _, body in fake.received if body["model"] == "gpt-4.1"]
    assert len(turns) == 3
    second = turns[1]["messages"]
    calls = [m for m in second if m.get("tool_calls")]
    assert calls[-1]["tool_calls"][0]["id"] == "call_write"
    assert json.loads(calls[-1]["tool_calls"][0]["function"]["arguments"]) == json.loads(write_args)
    assert last_tool_reply(turns[1])["tool_call_id"] == "call_write"
    assert last_tool_reply(turns[2])["tool_call_id"] == "call_bash"
    assert "hi from the proxy" in last_tool_reply(turns[2])["content"]


@needs_claude
def test_cli_agent_on_gemini_3_writes_a_file_then_runs_bash(proxy, gemini, tmp_path):
    """The same agent run on Gemini 3 (`--model gemini/...`), which refuses a call of the turn without its
    thought signature and turns that do not alternate: three turns, each passing the strict fake."""
    target = tmp_path / "hello.txt"
    write_args = json.dumps({"file_path": str(target), "content": "hi from the proxy\n"})

    def responder(body):
        answered = [p["functionResponse"]["name"] for p in camel(body)["contents"][-1]["parts"] if "functionResponse" in p]
        if not answered:
            return {"deltas": [{"reasoning_content": "Write, then show."}, {"content": "Writing it."},
                               tool_delta(0, write_args, "c1", "Write")], "finish": "tool_calls", "usage": (900, 40)}
        if answered == ["Write"]:
            return {"deltas": [tool_delta(0, json.dumps({"command": f"cat {target}", "description": "Show it"}), "c2", "Bash")],
                    "finish": "tool_calls", "usage": (950, 20)}
        return text_reply("The file says hi.")

    gemini.responder = responder
    run = run_claude(proxy, tmp_path, "-p", "Create hello.txt and show it", "--output-format", "json",
                     "--allowedTools", "Write,Bash", "--model", "gemini/gemini-3-flash-preview")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "The file says hi."
    assert target.read_text() == "hi from the proxy\n"
    turns = [camel(body) for path, _, body in gemini.received if "/gemini-3-flash-preview:" in path]
    assert len(turns) == 3
    last = turns[2]["contents"]
    assert [c["role"] for c in last][-4:] == ["model", "user", "model", "user"]
    assert "hi from the proxy" in json.dumps(last[-1])
    assert all(gemini_refusal(t, "gemini-3-flash-preview") is None for t in turns)


@needs_claude
def test_cli_stream_json(proxy, fake, tmp_path):
    fake.replies = [text_reply("Streamed words arrive.")]
    run = run_claude(proxy, tmp_path, "-p", "Say something", "--output-format", "stream-json", "--verbose")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assistant = [m for m in lines if m.get("type") == "assistant"]
    assert assistant and assistant[-1]["message"]["content"][-1] == {"type": "text", "text": "Streamed words arrive."}
    assert lines[-1]["type"] == "result" and lines[-1]["result"] == "Streamed words arrive."


@needs_claude
def test_cli_thinking_reply(proxy, fake, tmp_path):
    fake.replies = [{"deltas": [{"reasoning_content": "The user wants a number."}, {"content": "7"}], "finish": "stop", "usage": (50, 9)}]
    run = run_claude(proxy, tmp_path, "-p", "Pick a number", "--output-format", "stream-json", "--verbose")
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    blocks = [b for m in lines if m.get("type") == "assistant" for b in m["message"]["content"]]
    assert {"type": "text", "text": "7"} in blocks
    assert any(b["type"] == "thinking" and b["thinking"] == "The user wants a number." for b in blocks)
    assert lines[-1]["result"] == "7"


@needs_claude
def test_cli_parallel_tool_calls(proxy, fake, tmp_path):
    def responder(body):
        if last_tool_reply(body) is None:
            first = json.dumps({"command": "echo alpha", "description": "a"})
            second = json.dumps({"command": "echo beta", "description": "b"})
            deltas = [tool_delta(0, "", "call_a", "Bash"), tool_delta(1, "", "call_b", "Bash")]
            for a, b in zip(fragments(first, (4,)), fragments(second, (4,))):
                deltas += [tool_delta(0, a), tool_delta(1, b)]
            deltas += [tool_delta(0, f) for f in fragments(first, (4,))[len(fragments(second, (4,))):]]
            deltas += [tool_delta(1, f) for f in fragments(second, (4,))[len(fragments(first, (4,))):]]
            return {"deltas": deltas, "finish": "tool_calls", "usage": (500, 30)}
        return text_reply("Both ran.")

    fake.responder = responder
    run = run_claude(proxy, tmp_path, "-p", "Run two commands", "--output-format", "json", "--allowedTools", "Bash")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "Both ran."
    final = fake.received[-1][2]["messages"]
    replies = {m["tool_call_id"]: m["content"] for m in final if m["role"] == "tool"}
    assert "alpha" in replies["call_a"] and "beta" in replies["call_b"]


@needs_claude
def test_cli_retries_a_429(proxy, fake, tmp_path):
    fake.replies = [{"status": 429, "headers": {"retry-after": "0"}, "body": {"error": {"message": "busy", "type": "x"}}},
                    text_reply("Made it.")]
    run = run_claude(proxy, tmp_path, "-p", "Hi", "--output-format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "Made it."
    assert len(fake.received) == 2


@needs_claude
def test_cli_subagent_goes_to_subagent_model(fake, tmp_path):
    """The main model starts a subagent through Claude Code's agent tool; the subagent's requests
    (x-claude-code-agent-id) go to SUBAGENT_MODEL, the main loop's stay on BIG_MODEL, and the
    subagent's answer comes back to the main model as the tool's result."""
    def responder(body):
        tools = {t["function"]["name"]: t["function"] for t in body.get("tools") or ()}
        if body["model"] == "deepseek-chat":  # the subagent, on SUBAGENT_MODEL
            return text_reply("The subagent found 3 files.")
        replies = [m for m in body["messages"] if m["role"] == "tool"]
        if not replies:
            name = next(n for n in ("Agent", "Task") if n in tools)
            schema = tools[name]["parameters"]
            arguments = {"description": "Count files", "prompt": "Count the files here and say how many.",
                         "subagent_type": "general-purpose", "run_in_background": False}  # wait for its answer
            arguments = {k: v for k, v in arguments.items() if k in schema.get("properties", {})}
            return {"deltas": [tool_delta(0, json.dumps(arguments), "call_agent", name)], "finish": "tool_calls",
                    "usage": (900, 30)}
        found = "The subagent found 3 files." in json.dumps(body["messages"])
        return text_reply("Done: the subagent found 3 files." if found else "Done, without the subagent's answer.")

    fake.responder = responder
    with running_proxy(fake, SUBAGENT_MODEL="deepseek/deepseek-chat") as proxy:
        run = run_claude(proxy, tmp_path, "-p", "Use a subagent to count the files", "--output-format", "json",
                         "--allowedTools", "Agent,Task")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "Done: the subagent found 3 files."
    sub = [(path, headers) for path, headers, body in fake.received if body["model"] == "deepseek-chat"]
    main = [(path, headers) for path, headers, body in fake.received if body["model"] == "gpt-4.1"]
    assert sub and all(path.startswith("/deepseek/v1") for path, _ in sub)
    assert len(main) >= 2 and all(path == "/v1/chat/completions" for path, _ in main)


@needs_claude
@pytest.mark.parametrize("hidden", [False, True], ids=["summary", "hidden reasoning"])
def test_cli_codex_model_over_the_responses_api(fake, tmp_path, hidden):
    """Claude Code with a codex model: it thinks and calls Bash, then answers with the result;
    its second request carries the encrypted reasoning back (Claude Code keeps the thinking block,
    an empty one too) and nothing goes to chat completions."""
    command = json.dumps({"command": "echo from-the-codex-model", "description": "Say it"})

    def responder(body):
        if not any(item.get("type") == "function_call_output" for item in body["input"]):
            thought = [] if hidden else [{"reasoning_content": "I should run echo."}]
            return {"deltas": thought + [tool_delta(0, "", "call_echo", "Bash"), tool_delta(0, command)],
                    "finish": "tool_calls", "usage": (900, 30), "hidden_reasoning": hidden}
        return text_reply("It printed from-the-codex-model.")

    fake.responder = responder
    with running_proxy(fake, BIG_MODEL=CODEX, SMALL_MODEL=CODEX) as proxy:
        run = run_claude(proxy, tmp_path, "-p", "Run echo", "--output-format", "json", "--allowedTools", "Bash")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "It printed from-the-codex-model."
    assert {path for path, _, _ in fake.received} == {"/v1/responses"}
    turns = [body for _, _, body in fake.received if any(t.get("name") == "Bash" for t in body.get("tools") or ())]
    last = turns[-1]["input"]
    kinds = [item["type"] for item in last]
    assert kinds[-3:] == ["reasoning", "function_call", "function_call_output"], kinds
    assert last[-3]["encrypted_content"] in fake.minted and last[-3]["summary"] == (
        [] if hidden else [{"type": "summary_text", "text": "I should run echo."}])
    assert "from-the-codex-model" in json.dumps(last[-1]["output"])


@needs_claude
@pytest.mark.parametrize("via", cp.VIAS)
def test_cli_web_search(fake, tavily, tmp_path, via):
    """Claude Code's WebSearch tool: the main model calls WebSearch; Claude Code asks the API to run
    the web search server tool (its own request, recorded from 2.1.332: the main model's name,
    tools [{"type": "web_search_20250305", "name": "web_search", "max_uses": 8}], tool_choice auto,
    a system prompt "You run a web search for another Claude model ...", the user text "Perform a
    web search for the query: ..."); the proxy runs it at the fake Tavily and answers with the
    server tool's blocks; Claude Code hands the results to the main model as WebSearch's result."""
    tavily.reset()
    cp.load_litellm()  # as the proxy does at start with WEB_SEARCH_PROVIDER set
    side_queries = []

    def responder(body):
        names = [t["function"]["name"] for t in body.get("tools") or ()]
        if names == ["web_search"]:  # Claude Code's search request, as the proxy translated it
            side_queries.append(body)
            return searcher(("python 3.15 release",), answer="Summary: ")(body)
        reply = last_tool_reply(body)
        if reply is None:
            return {"deltas": [tool_delta(0, json.dumps({"query": "newest python release"}), "call_search", "WebSearch")],
                    "finish": "tool_calls", "usage": (900, 20)}
        return text_reply("Python 3.15 is out.")

    fake.responder = responder
    with running_proxy(fake, PROXY_VIA=via, **search_env(tavily)) as proxy:
        run = run_claude(proxy, tmp_path, "-p", "What is the newest Python?", "--output-format", "json",
                         "--allowedTools", "WebSearch", env={"ENABLE_TOOL_SEARCH": "false"})
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["result"] == "Python 3.15 is out."
    assert sum(m["webSearchRequests"] for m in result["modelUsage"].values()) == 1  # Claude Code read server_tool_use
    [(_, _, searched)] = tavily.received
    assert searched["query"] == "python 3.15 release"
    first, second = side_queries
    assert first["tool_choice"] == second["tool_choice"] == "auto"  # Claude Code does not force it
    assert "Perform a web search for the query: newest python release" in json.dumps(first["messages"])
    assert "You run a web search for another Claude model" in json.dumps(first["messages"])
    assert second["messages"][-1]["role"] == "tool" and "Python 3.15.0 is the newest" in second["messages"][-1]["content"]
    result = last_tool_reply(fake.received[-1][2])  # what the main model got back from WebSearch
    assert result["tool_call_id"] == "call_search"
    for text in ("https://www.python.org/downloads/release/python-3150/", "Python 3.15 released", "Summary: "):
        assert text in result["content"], text


@needs_claude
@pytest.mark.parametrize("model, client_env, window, suffix_beta", [
    ("claude-via-openai--gpt-4.1[1m]", {}, 1_000_000, True),
    ("claude-via-groq--llama-3.1-8b-instant", {}, 1_000_000, False),  # an id Claude Code does not know: 1M too
    ("claude-via-groq--llama-3.1-8b-instant", {"CLAUDE_CODE_MAX_CONTEXT_TOKENS": "131072"}, 131072, False),
    ("claude-via-openai--gpt-4.1[1m]", {"CLAUDE_CODE_DISABLE_1M_CONTEXT": "1"}, 200_000, False),
])
def test_cli_reads_a_picker_ids_window(fake, tmp_path, monkeypatch, proxy_log, model, client_env, window, suffix_beta):
    """What Claude Code 2.1.332 makes of a picker id (issue 16, item 2), recorded: an id ending in
    [1m] is a 1M window, and it sends the id without the suffix (always), with the context-1m-2025-08-07
    beta; an id it does not know is 1M as well, unless CLAUDE_CODE_MAX_CONTEXT_TOKENS says otherwise
    (which [1m] overrides) or CLAUDE_CODE_DISABLE_1M_CONTEXT=1 makes every window 200k. Routing takes
    the id either way. The client's doing, so one path is enough."""
    heads = []
    handle = cp.Handler.handle_messages

    def spy(self, path):  # the request's model and betas as Claude Code sent them; served as always
        heads.append(self.headers.get("anthropic-beta") or "")
        return handle(self, path)

    monkeypatch.setattr(cp.Handler, "handle_messages", spy)
    fake.replies = [text_reply("Picked.")]
    with running_proxy(fake) as proxy:
        run = run_claude(proxy, tmp_path, "-p", "hi", "--output-format", "json", "--model", model, env=client_env)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["result"] == "Picked."
    [(used, usage)] = result["modelUsage"].items()
    assert used == model and usage["contextWindow"] == window
    target = model.removeprefix("claude-via-").removesuffix("[1m]").replace("--", "/")
    assert fake.received[-1][2]["model"] == target.partition("/")[2]
    assert fake.received[-1][0] == ("/groq/v1/chat/completions" if target.startswith("groq/") else "/v1/chat/completions")
    assert heads and all(("context-1m-2025-08-07" in beta) is suffix_beta for beta in heads)
    sent = model.removesuffix("[1m]")  # the suffix never reaches the proxy: Claude Code strips it
    assert any(f" {sent} -> {target} " in line.getMessage() for line in proxy_log.wait(1, target))


# ----------------------------------------------------------------------------------------
# command line: the banner, --help and README, the program, .env, the launcher, logs
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, expected", [
    (["--port", "9"], (["--port", "9"], [])),
    (["--port", "9", "--", "claude", "-p", "hi"], (["--port", "9"], ["claude", "-p", "hi"])),
    (["run", "claude", "--", "x"], ([], ["claude", "--", "x"])),
    (["--log-level", "debug", "run", "claude"], (["--log-level", "debug"], ["claude"])),
    (["--env-file", "run"], (["--env-file", "run"], [])),
])
def test_split_command(argv, expected):
    assert cp.split_command(argv) == expected


def test_banner():
    config = cp.Config.from_env({"BIG_MODEL": "groq/kimi", "SMALL_MODEL": "llama", "PREFERRED_PROVIDER": "groq",
                                 "OPUS_MODEL": "gemini/gemini-2.5-pro", "VISION_MODEL": "openai/gpt-4o",
                                 "FALLBACK_MODELS": "openai/gpt-4.1", "GROQ_API_KEY": "gsk-secret-value", "OPENAI_API_KEY": ""})
    text = "\n".join(cp.banner(config, "http://127.0.0.1:8082", ".env"))
    for fragment in ("listening on http://127.0.0.1:8082", "variables from .env", "haiku -> llama", "sonnet -> groq/kimi",
                     "opus -> gemini/gemini-2.5-pro", "images -> openai/gpt-4o", "fall back to: openai/gpt-4.1",
                     "bare model names get groq/", "provider keys found: GROQ_API_KEY",
                     "connect with: ANTHROPIC_BASE_URL=http://127.0.0.1:8082 claude"):
        assert fragment in text, fragment
    assert "gsk-secret-value" not in text and "WARNING" not in text and "\033[" not in text
    windows = "\n".join(cp.banner(config, "http://0.0.0.0:8082", windows=True, color=True))
    assert '$env:ANTHROPIC_BASE_URL="http://0.0.0.0:8082"; claude' in windows and "WARNING: listening on 0.0.0.0" in windows
    assert "\033[1m" in windows
    keyed = cp.dataclasses.replace(config, proxy_api_key="k" * 20)
    assert "WARNING" not in "\n".join(cp.banner(keyed, "http://0.0.0.0:8082"))
    described = "\n".join(cp.banner(cp.dataclasses.replace(config, vision_mode="describe"), "http://127.0.0.1:8082"))
    assert "descriptions of images for models without vision -> openai/gpt-4o" in described


def test_config_problems_name_the_variable_and_the_fix():
    config = cp.Config.from_env({"BIG_MODEL": "moonshot/kimi-k2", "SMALL_MODEL": "openrouter/x/y", "VISION_MODEL": "gpt-4o",
                                 "FALLBACK_MODELS": "groq/llama-3.1-8b-instant", "GROQ_API_KEY": "gsk-1234567890"})
    problems = cp.config_problems(config, PROVIDER_NAMES)
    assert any("BIG_MODEL=moonshot/kimi-k2" in p and "MOONSHOT_API_KEY" in p for p in problems)
    assert any("SMALL_MODEL=openrouter/x/y" in p and "OPENROUTER_API_KEY" in p for p in problems)
    assert any("VISION_MODEL=gpt-4o" in p and "OPENAI_API_KEY" in p for p in problems)
    assert not any("FALLBACK_MODELS" in p for p in problems) and len(problems) == 3
    typo = cp.Config.from_env({"PREFERRED_PROVIDER": "grok", "GROQ_API_KEY": "gsk-1234567890"})
    assert any("PREFERRED_PROVIDER=grok is not a provider" in p for p in cp.config_problems(typo, PROVIDER_NAMES))
    lenient: list = []
    assert cp.Config.from_env({"PORT": "eighty", "KEEPALIVE_SECONDS": "-3"}, lenient).port == 8082
    assert any("PORT='eighty'" in p for p in lenient) and any("KEEPALIVE_SECONDS" in p for p in lenient)


# Read by name, one per provider, so not settings: README's table, the docstring and --help
# describe them as families.
NOT_SETTINGS = {"<PROVIDER>_API_KEY", "<PROVIDER>_API_BASE"}


def readme_configuration() -> dict:
    """README's Configuration table: {variable: (its default, the first cell)} for each row
    that names one; "| `--port` / `PORT` | `8082` | ..." -> {"PORT": ("8082", "`--port` / `PORT`")}."""
    with open(os.path.join(os.path.dirname(cp.__file__), "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    section = text[text.index("\n## Configuration\n"):]
    section = section[:section.index("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3:
            for name in re.findall(r"`([^`]+)`", cells[0]):
                if re.fullmatch(r"[A-Z<][A-Z0-9_<>]*", name):
                    rows[name] = (cells[1].replace("`", ""), cells[0])
    return rows


def test_readme_and_help_list_every_setting_with_its_default():
    help_text = subprocess.run([sys.executable, cp.__file__, "--help"], capture_output=True, text=True, timeout=TIMEOUT).stdout
    flowing = " ".join(help_text.split())  # argparse wraps flag help where it likes
    readme = readme_configuration()
    assert len(cp.SETTINGS) > 20
    for setting in cp.SETTINGS:
        default = cp.shown_default(setting)
        assert setting.variable in readme, f"{setting.variable} is not in README's Configuration table"
        assert readme[setting.variable][0] == default, (setting.variable, readme[setting.variable][0], default)
        assert re.search(rf"^    {setting.variable} +\S.*\({re.escape(default or 'unset')}\)$", help_text, re.M), setting.variable
        if setting.flag:
            assert f"`{setting.flag}`" in readme[setting.variable][1], setting.flag
            assert f"{setting.flag} " in help_text and f"(env {setting.variable}, default {default})" in flowing, setting.flag
        assert not re.search(rf"^\s+{setting.variable}\b", cp.__doc__, re.M), f"the docstring lists {setting.variable}"
    assert set(readme) - set(SETTING) == NOT_SETTINGS  # every row that names a variable names a setting, or a family
    for family in NOT_SETTINGS:
        assert family in help_text and family in cp.__doc__, family
    for flag in ("--host", "--port", "--log-level", "--log-format", "--log-file", "--env-file", "--via", "--doctor", "-- claude"):
        assert flag in help_text, flag


def test_script_runs_as_a_program(tmp_path):
    """`python claude_proxy.py --port 0`: starts, prints where it listens, answers, stops."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(OPENAI_API_KEY="sk-never-printed", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, cp.__file__, "--port", "0", "--log-level", "warning"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        port = int(line.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("HEAD", "/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
        output = process.stdout.read()  # the pipe's own buffer holds what readline() read ahead
    assert "sk-never-printed" not in line + output
    assert "OPENAI_API_KEY" in output


def test_env_file_loads_and_the_real_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("BIG_MODEL=from-dotenv\nSMALL_MODEL=small-from-dotenv\nGROQ_API_KEY=gsk-dotenv\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k not in ("BIG_MODEL", "SMALL_MODEL")}
    env.update(BIG_MODEL="from-real-env", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, cp.__file__, "--port", "0"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [process.stdout.readline()]
        while "connect with" not in lines[-1] and lines[-1]:
            lines.append(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
    text = "".join(lines)
    assert "sonnet -> from-real-env" in text and "opus -> from-real-env" in text and "haiku -> small-from-dotenv" in text
    assert "variables from .env" in text
    assert "GROQ_API_KEY" in text and "gsk-dotenv" not in text
    missing = subprocess.run([sys.executable, cp.__file__, "--env-file", str(tmp_path / "nope.env")], env=env,
                             capture_output=True, text=True, timeout=TIMEOUT)
    assert missing.returncode == 2 and "nope.env" in missing.stderr


def test_launcher_runs_a_command_against_a_private_proxy(fake, tmp_path):
    """`claude_proxy.py -- CMD`: CMD gets ANTHROPIC_BASE_URL and a key, its requests are
    served, and its exit status becomes the proxy's."""
    script = tmp_path / "client.py"
    script.write_text(
        "import json, os, sys, urllib.request\n"
        "request = urllib.request.Request(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages', method='POST',\n"
        "    data=json.dumps({'model': 'claude-sonnet-4-6', 'max_tokens': 10, 'messages': [{'role': 'user', 'content': 'hi'}]}).encode(),\n"
        "    headers={'x-api-key': os.environ['ANTHROPIC_API_KEY']})\n"
        "answer = json.load(urllib.request.urlopen(request, timeout=20))\n"
        "print('ANSWER', answer['content'][0]['text'], os.environ['ANTHROPIC_API_KEY'])\n"
        "sys.exit(7)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(proxy_env(fake.url), PORT="8082", LOG_LEVEL="info")  # ignored: the launcher takes a free port
    run = subprocess.run([sys.executable, cp.__file__, "--log-file", str(tmp_path / "proxy.log"), "--", sys.executable, str(script)],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=3 * TIMEOUT)
    assert run.returncode == 7, run.stderr
    assert "ANSWER Hello there! claude-proxy" in run.stdout
    assert "serving" in run.stderr and "log:" in run.stderr
    log_text = (tmp_path / "proxy.log").read_text()
    assert "claude-sonnet-4-6 -> openai/gpt-4.1" in log_text and "sk-test-openai" not in log_text
    missing = subprocess.run([sys.executable, cp.__file__, "--", "no-such-command-xyz"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=3 * TIMEOUT)
    assert missing.returncode == 127 and "command not found: no-such-command-xyz" in missing.stderr


@needs_claude
def test_launcher_with_the_real_cli(fake, tmp_path):
    fake.replies = [text_reply("Launched and answered.")]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TERM": "dumb", "DISABLE_TELEMETRY": "1",
           "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", **proxy_env(fake.url)}
    run = subprocess.run([sys.executable, cp.__file__, "--", CLAUDE, "-p", "hi", "--output-format", "json"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "Launched and answered."


def test_json_log_format(fake, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(proxy_env(fake.url), PYTHONUNBUFFERED="1", LOG_FORMAT="json", LOG_LEVEL="info")
    process = subprocess.Popen([sys.executable, cp.__file__, "--port", "0", "--log-file", str(tmp_path / "log.jsonl")],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = int(process.stdout.readline().rsplit(":", 1)[1])
        target = type("P", (), {"server_address": ("127.0.0.1", port)})
        assert raw(target, "POST", "/v1/messages", dict(BASIC, stream=True))[0] == 200
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    request = next(r for r in records if r.get("path") == "/v1/messages")
    assert request["status"] == 200 and request["model"] == "claude-sonnet-4-6" and request["target"] == "openai/gpt-4.1"
    assert request["mode"] == "stream" and request["output_tokens"] == 5 and request["ttft_ms"] <= request["ms"]
    assert request["level"] == "info" and "time" in request


def test_one_log_line_per_request_and_never_a_key(proxy, fake, proxy_log):
    fake.replies = [{"status": 429, "headers": {"retry-after": "1"},
                     "body": {"error": {"message": "slow down, sk-test-openai", "type": "x"}}}, text_reply()]
    request = dict(BASIC, model="claude-sonnet-4-6-logtest")  # a name no other test's late log line carries
    assert raw(proxy, "POST", "/v1/messages", request)[0] == 429
    assert raw(proxy, "POST", "/v1/messages?beta=true", dict(request, stream=True))[0] == 200
    lines = proxy_log.wait(2, "logtest")
    assert len(lines) == 2
    assert lines[0].levelname == "WARNING" and "429" in lines[0].getMessage() and "rate_limit_error" in lines[0].getMessage()
    assert lines[1].levelname == "INFO" and "claude-sonnet-4-6-logtest -> openai/gpt-4.1 stream" in lines[1].getMessage()
    text = "\n".join(r.getMessage() for r in proxy_log.records)
    assert "sk-test-openai" not in text and "gsk-test-groq" not in text


# ----------------------------------------------------------------------------------------
# doctor: the requests Claude Code sends, through this proxy, to each routed model
# ----------------------------------------------------------------------------------------


def doctor_responder(body):
    """A provider that behaves: answers, calls tools when asked, several when allowed."""
    if body.get("max_tokens") == 1:
        return text_reply("p", finish="length", usage=(5, 1))
    if body["messages"][-1]["role"] == "tool":
        return text_reply("It is sunny in Paris.")
    if body.get("tools") and body.get("tool_choice") == "required":
        return {"deltas": [tool_delta(0, '{"city": "Paris"}', "call_p", "get_weather"),
                           tool_delta(1, '{"city": "Tokyo"}', "call_t", "get_weather")], "finish": "tool_calls", "usage": (9, 9)}
    if body.get("tools") and isinstance(body.get("tool_choice"), dict):
        return {"deltas": [tool_delta(0, '{"city": "Paris"}', "call_p", "get_weather")], "finish": "tool_calls", "usage": (9, 9)}
    return text_reply("pong")


def test_doctor_passes_against_a_good_provider(fake, gemini):
    import io

    fake.responder = doctor_responder
    out = io.StringIO()
    assert cp.doctor(cp.Config.from_env(proxy_env(fake.url, gemini.url)), out) == 0, out.getvalue()
    text = out.getvalue()
    assert "16 of 16 checks passed" in text and "FAIL" not in text
    for check in ("text reply", "streamed reply", "tool call", "tool result round trip", "parallel tool calls", "thinking",
                  "count_tokens", "max_tokens 1 probe"):
        assert check in text
    assert "openai/gpt-4.1 (BIG_MODEL)" in text and "groq/llama-3.1-8b-instant (SMALL_MODEL)" in text
    assert "2 call(s) in one turn" in text


@pytest.mark.parametrize("target, env, expected", [
    ("openai/gpt-4.1", {}, "the direct path, POST https://api.openai.com/v1/chat/completions"),
    ("openai/gpt-5.3-codex", {}, "the responses path, POST https://api.openai.com/v1/responses"),
    ("gemini/gemini-2.5-flash", {},
     "the direct path, POST https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"),
    ("anthropic/claude-haiku-4-5", {}, "the passthrough path, POST https://api.anthropic.com/v1/messages"),
    ("deepseek-anthropic/deepseek-chat", {"DEEPSEEK_ANTHROPIC_API_BASE": "http://127.0.0.1:9/ds/anthropic/"},
     "the passthrough path, POST http://127.0.0.1:9/ds/anthropic/v1/messages"),
    ("gemini/gemini-2.5-flash", {"PROXY_VIA": "litellm"}, "the litellm path"),
])
def test_doctor_path_names_the_url_on_every_path(target, env, expected):
    """--doctor's line per model: the path and the URL it posts to, Gemini's and the passthrough's too."""
    keys = {"OPENAI_API_KEY": "k", "GEMINI_API_KEY": "g", "ANTHROPIC_API_KEY": "a", "DEEPSEEK_API_KEY": "d"}
    assert cp.doctor_path(target, cp.Config.from_env(dict(keys, **env))) == expected


def doctor_responses_responder(body):
    """doctor_responder for the Responses API's requests."""
    items = body["input"]
    if items[-1].get("type") == "function_call_output":
        return text_reply("It is sunny in Paris.")
    if body.get("reasoning") and not body.get("tools"):
        return {"deltas": [{"reasoning_content": "17 * 23 = 391"}, {"content": "391"}], "finish": "stop", "usage": (9, 9)}
    return doctor_responder({"max_tokens": body.get("max_output_tokens"), "tools": body.get("tools"),
                             "tool_choice": body.get("tool_choice"), "messages": [{"role": "user"}]})


def test_doctor_covers_a_codex_model_on_the_responses_path(fake, gemini):
    import io

    fake.responder = doctor_responses_responder
    out = io.StringIO()
    env = proxy_env(fake.url, gemini.url, BIG_MODEL=CODEX, SMALL_MODEL="openai/gpt-5.2-pro")
    assert cp.doctor(cp.Config.from_env(env), out) == 0, out.getvalue()
    text = out.getvalue()
    assert "16 of 16 checks passed" in text and f"{CODEX} (BIG_MODEL)" in text and "with thinking" in text
    assert f"{CODEX}: the responses path, POST {fake.url}/v1/responses" in text
    assert {path for path, _, _ in fake.received} == {"/v1/responses"}  # the probe too: refused as it is, answered


def test_doctor_names_the_fix(fake, gemini):
    import io

    fake.responder = lambda body: ({"status": 401, "body": {"error": {"message": "Incorrect API key"}}}
                                   if body.get("model") == "gpt-4.1" else doctor_responder(body))
    env = proxy_env(fake.url, gemini.url, VISION_MODEL="moonshot/kimi-latest")
    env.pop("MOONSHOT_API_KEY")
    out = io.StringIO()
    assert cp.doctor(cp.Config.from_env(env), out) == 1
    text = out.getvalue()
    assert "VISION_MODEL=moonshot/kimi-latest" in text and "MOONSHOT_API_KEY" in text
    assert "authentication_error" in text and "fix: the provider refused the key: check OPENAI_API_KEY" in text
    assert re.search(r"groq/llama-3.1-8b-instant \(SMALL_MODEL\)\s+text reply\s+pass", text)
    assert "sk-test-openai" not in text


def gemini_doctor_responder(body):
    """doctor_responder, for the Gemini fake: Gemini's request read, the same scripted replies."""
    body = camel(body)
    config, last = body.get("generationConfig") or {}, body["contents"][-1]["parts"][-1]
    mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {})
    if config.get("maxOutputTokens") == 1:
        return text_reply("p", finish="length", usage=(5, 1))
    if "functionResponse" in last:
        return text_reply("It is sunny in Paris.")
    if mode.get("mode") == "ANY":
        cities = ["Paris"] + ["Tokyo"] * (not mode.get("allowedFunctionNames"))
        return {"deltas": [tool_delta(n, json.dumps({"city": c}), f"call_{n}", "get_weather") for n, c in enumerate(cities)],
                "finish": "tool_calls", "usage": (9, 9)}
    if config.get("thinkingConfig"):
        return {"deltas": [{"reasoning_content": "17 * 23 = 391."}, {"content": "391"}], "finish": "stop", "usage": (9, 9)}
    return text_reply("pong")


@pytest.mark.parametrize("via", cp.VIAS)
def test_doctor_checks_gemini_on_its_path(fake, gemini, via):
    import io

    gemini.responder = gemini_doctor_responder
    out = io.StringIO()
    env = proxy_env(fake.url, gemini.url, BIG_MODEL="gemini/gemini-2.5-flash", SMALL_MODEL="gemini/gemini-2.5-flash", PROXY_VIA=via)
    assert cp.doctor(cp.Config.from_env(env), out) == 0, out.getvalue()
    text = out.getvalue()
    assert "8 of 8 checks passed" in text and "2 call(s) in one turn" in text and "with thinking" in text
    assert {path.partition(":")[2] for path, _, _ in gemini.received} == {"generateContent", "streamGenerateContent?alt=sse"} | (
        {"countTokens"} if via == "auto" else set())  # the direct path's count is Gemini's own


@pytest.mark.parametrize("reply, fix", [
    ({"status": 400, "body": {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                        "status": "INVALID_ARGUMENT", "details": [
                                            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}},
     "aistudio.google.com/apikey"),
    ({"status": 400, "body": {"error": {"code": 400, "message": "User location is not supported for the API use.",
                                        "status": "FAILED_PRECONDITION"}}}, "available-regions"),
    ({"status": 404, "body": {"error": {"code": 404, "message": "models/gemini-9 is not found for API version v1beta",
                                        "status": "NOT_FOUND"}}}, "gemini/gemini-2.5-flash"),
    ({"deltas": [{"content": "I"}], "finish": "content_filter", "usage": (5, 1)}, "safety filters"),
])
def test_doctor_names_geminis_own_fixes(fake, gemini, reply, fix):
    import io

    gemini.replies = [reply]
    out = io.StringIO()
    env = proxy_env(fake.url, gemini.url, BIG_MODEL="gemini/gemini-9", SMALL_MODEL="gemini/gemini-9")
    assert cp.doctor(cp.Config.from_env(env), out) == 1
    text = out.getvalue()
    assert "fix: " in text and fix in text, text
    assert "test-gemini-key" not in text


def test_doctor_from_the_command_line(fake, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(proxy_env(fake.url), BIG_MODEL="openai/gpt-4.1", SMALL_MODEL="openai/gpt-4.1")
    fake.responder = lambda body: {"status": 404, "body": {"error": {"message": "The model does not exist"}}}
    run = subprocess.run([sys.executable, cp.__file__, "--doctor"], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=3 * TIMEOUT)
    assert run.returncode == 1 and "not_found_error" in run.stdout
    assert "1 of 8 checks passed" in run.stdout  # only count_tokens, which never calls the provider
    assert "check the name" in run.stdout

# ----------------------------------------------------------------------------------------
# property-based: generated request bodies against the translator and the live proxy
# ----------------------------------------------------------------------------------------

try:
    from hypothesis import HealthCheck, event, example, given, settings
    from hypothesis import strategies as st
    from hypothesis.configuration import set_hypothesis_home_dir
except ImportError:  # the README's test command installs it
    st = None

if st is None:
    def test_property_based_needs_hypothesis():
        pytest.skip("hypothesis is not installed: run the README's test command")
else:
    import tempfile

    set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "claude_proxy-hypothesis"))  # nothing in the project

    # -- strategies -----------------------------------------------------------------------------

    # Text that may hold a lone surrogate: json.loads turns "\ud800" into one, so the proxy sees them.
    any_text = st.text(st.characters(exclude_categories=()), max_size=12)
    plain_text = st.text(max_size=12)
    # Floats as a strict JSON parser returns them: no NaN or Infinity (the live test sends those).
    scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**18, max_value=10**40)
               | st.floats(allow_nan=False, allow_infinity=False) | any_text)
    junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain_text, inner, max_size=3),
                        max_leaves=8)

    # What neither `.get` nor `or {}` survives: a true, a number, a string, a list.
    wrong = st.just(True) | st.integers(min_value=1) | st.text(min_size=1, max_size=12) | st.lists(scalars, min_size=1, max_size=2)


    def weighted(common, rare, odds):
        """`common` odds times as often as `rare` (st.one_of would give each the same share)."""
        return st.sampled_from(range(odds + 1)).flatmap(lambda i: rare if i == odds else common)


    def maybe(valid, odds=12):
        """Mostly the valid shape, sometimes any JSON value at all."""
        return weighted(valid, junk, odds)


    source = st.fixed_dictionaries({}, optional={
        "type": maybe(st.sampled_from(["base64", "url", "text", "content", "file"])),
        "media_type": maybe(st.sampled_from(["image/png", "application/pdf", "text/plain"])),
        "data": maybe(st.just("iVBORw0KGgo=")), "url": maybe(st.just("https://example.invalid/x.png")),
        "content": junk,
    })
    leaf_block = st.fixed_dictionaries({"type": weighted(st.sampled_from(
        ["text", "text", "image", "image", "document", "document", "tool_use", "tool_result", "tool_result", "thinking",
         "redacted_thinking", "server_tool_use", "search_result", "tool_reference", "unknown_kind"]), junk, 12)}, optional={
        "text": maybe(plain_text, 3), "source": st.one_of(source, wrong), "id": maybe(st.sampled_from(["toolu_1", "call_x", ""])),
        "tool_use_id": maybe(st.sampled_from(["toolu_1", "call_x"])), "name": maybe(st.sampled_from(["Bash", "Read", "x" * 70])),
        "input": maybe(st.dictionaries(plain_text, junk, max_size=2)), "is_error": junk, "title": junk,
        "thinking": maybe(plain_text), "signature": maybe(plain_text), "cache_control": maybe(st.just({"type": "ephemeral"})),
        "tool_name": junk, "data": junk,
    })
    block = st.recursive(leaf_block, lambda inner: st.builds(lambda b, c: {**b, "content": c}, leaf_block,
                                                             maybe(st.lists(inner, max_size=3) | plain_text)), max_leaves=6)
    content = weighted(st.lists(maybe(block, 30), min_size=1, max_size=4), any_text | st.just([]), 3)
    message = st.fixed_dictionaries({"role": maybe(st.sampled_from(["user", "user", "assistant", "system"]), 30),
                                     "content": maybe(content, 30)})
    schema = st.recursive(st.fixed_dictionaries({"type": maybe(st.sampled_from(["string", "object", "array", "integer"]))},
                                                optional={"const": junk, "enum": junk, "required": junk, "description": junk}),
                          lambda inner: st.fixed_dictionaries({"type": st.just("object")}, optional={
                              "properties": st.dictionaries(plain_text, inner, max_size=3), "items": inner,
                              "anyOf": st.lists(inner, max_size=2), "required": junk}), max_leaves=6)
    tool = st.fixed_dictionaries({"name": maybe(st.sampled_from(["Bash", "Read", "y" * 80]))},
                                 optional={"input_schema": maybe(schema), "description": junk, "type": junk})
    # Only models that reach the fake providers or stop at a 401 before any connection.
    MODELS = ["claude-sonnet-4-6", "claude-haiku-4-5-20251001", "claude-opus-4-8", "gpt-4.1", "openai/gpt-4.1",
              "groq/llama-3.1-8b-instant", "gemini/gemini-2.5-flash", "deepseek/deepseek-chat", "openrouter/moonshotai/kimi-k2",
              "anthropic/claude-sonnet-4-5"]
    model = weighted(st.sampled_from(MODELS), junk.filter(lambda v: not isinstance(v, str))
                     | st.text(st.characters(exclude_characters="/"), max_size=20), 20)

    required = st.fixed_dictionaries({
        "model": model,
        "max_tokens": maybe(st.integers(min_value=1, max_value=200000), 30),
        "messages": maybe(st.lists(maybe(message, 30), min_size=1, max_size=4), 30),
    })
    optional = st.fixed_dictionaries({}, optional={
        "system": maybe(any_text | st.lists(maybe(block), max_size=3)),
        "tools": maybe(st.lists(maybe(tool), max_size=3)),
        "tool_choice": maybe(st.fixed_dictionaries({"type": maybe(st.sampled_from(["auto", "any", "tool", "none"]))},
                                                   optional={"name": junk, "disable_parallel_tool_use": junk})),
        "stream": maybe(st.booleans()),
        "temperature": maybe(st.floats(min_value=0, max_value=1)),
        "top_p": maybe(st.floats(min_value=0, max_value=1)), "top_k": maybe(st.integers(min_value=1, max_value=500)),
        "metadata": maybe(st.fixed_dictionaries({}, optional={"user_id": junk})),
        "thinking": maybe(st.fixed_dictionaries({"type": maybe(st.sampled_from(["enabled", "adaptive", "disabled"]))},
                                                optional={"budget_tokens": junk})),
        "output_config": junk,
        "stop_sequences": maybe(st.lists(plain_text, max_size=3)),
    })
    body = st.builds(lambda r, o, drop: {k: v for k, v in {**r, **o}.items() if k not in drop}, required, optional,
                     weighted(st.just(()), st.tuples(st.sampled_from(["model", "max_tokens", "messages"])), 20))
    any_body = weighted(body, junk, 20)  # now and then not an object at all

    QUIRKS = [(name, cp.provider_for(name)) for name in ("openai", "gemini", "anthropic", "groq")]


    # -- the pure functions -----------------------------------------------------------------------


    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(any_body, st.sampled_from(QUIRKS), st.booleans(), st.sampled_from([None, 4096, 10**9]))
    def test_translation_accepts_or_rejects_with_400(request_body, provider, reasoning, max_output):
        """validate_request then to_openai_request (and request_needs and tool_name_map, which the
        handler also runs on every validated body): a dict of params, or a 400, nothing else."""
        name, quirks = provider
        event("not an object" if not isinstance(request_body, dict) else "object")
        try:
            cp.validate_request(request_body, need_max_tokens=True)
            cp.request_needs(request_body)
            cp.tool_name_map(request_body)
            params = cp.to_openai_request(request_body, f"{name}/some-model", quirks, reasoning=reasoning, max_output=max_output)
        except cp.ProxyError as error:
            assert error.status == 400 and error.error_type == "invalid_request_error" and error.message
            event("rejected: " + error.message.split(":")[0][:30])
            return
        event("translated")
        assert isinstance(params, dict) and isinstance(params["messages"], list)
        json.dumps(params, allow_nan=False)  # what litellm must send on: strict JSON, no NaN or Infinity


    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(["content", "reasoning_content"]),
           st.lists(st.text(st.sampled_from(list('ab <>/"\\\n\té漢🎉\x7f\u2028')), min_size=1, max_size=6)
                    | st.text(max_size=6), min_size=1, max_size=12),
           st.booleans(), st.booleans())
    def test_text_chunks_passed_on_as_bytes_read_as_parsed_text(field, texts, ascii_only, spaced):
        """Any texts, reasoning or reply, escaped however json.dumps escapes them: the client's bytes
        are those of the same chunks parsed one by one."""
        chunks = [openai_chunk({field: text}, n=n) for n, text in enumerate(texts)] + [openai_chunk({}, "stop")]
        blocks = sse_blocks(chunks, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":"))
        translator = cp.StreamTranslator("msg_1", "claude-x", signature="sig")
        expected = translator.feed_many(chunks) + translator.finish()
        provider = RawProvider(([SSE_HEAD + chunked_stream(b"".join(b + b"\n\n" for b in blocks), sizes=(4096,))], False))
        call = cp.DirectCall(provider.url, None, {"model": "m", "messages": [], "stream": True}, cp.Config.from_env({}))
        items = [item for batch in call for item in batch]
        event(f"{fast_texts(items) * 4 // len(chunks)}/4 recognised by their bytes")
        translator = cp.StreamTranslator("msg_1", "claude-x", signature="sig")
        relayed = cp.translate(translator, items) + translator.finish()
        assert cp.sse_frames(relayed) == b"".join(cp.sse_event(*e) for e in expected)
        assert cp.fold_events(cp.plain_events(relayed)) == cp.fold_events(expected)


    # -- the live proxy ---------------------------------------------------------------------------


    def post_json(proxy, data: bytes, path="/v1/messages"):
        conn = http.client.HTTPConnection("127.0.0.1", proxy.server_address[1], timeout=TIMEOUT)
        try:
            conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            conn.close()


    def assert_error_shape(data: bytes):
        parsed = json.loads(data)
        assert parsed["type"] == "error" and isinstance(parsed["error"]["type"], str)
        assert isinstance(parsed["error"]["message"], str) and parsed["error"]["message"]


    # What Python's json.dumps writes and a lenient parser takes back: NaN, Infinity, -Infinity.
    not_a_number = st.sampled_from([float("nan"), float("inf"), float("-inf")])
    not_json_numbers = st.fixed_dictionaries({"temperature": not_a_number}, optional={"top_p": not_a_number, "top_k": not_a_number})


    SMALL_BODY = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}


    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    # Known hostile shapes, tried on every run before the generated ones (sixty examples may miss them):
    @example(SMALL_BODY, {"temperature": float("nan")}, True, "/v1/messages")
    @example(dict(SMALL_BODY, messages=[{"role": "user", "content": "H\ud800i"}]), {}, True, "/v1/messages")
    @example(dict(SMALL_BODY, messages=[{"role": "user", "content": "H\ud800i"}]), {}, False, "/v1/messages")
    @example(dict(SMALL_BODY, messages=[{"role": "user", "content": [{"type": "image", "source": "x"}]}]), {}, True,
             "/v1/messages/count_tokens")
    @given(any_body, st.one_of(st.just({}), not_json_numbers), st.booleans(), st.sampled_from(["/v1/messages", "/v1/messages/count_tokens"]))
    def test_live_proxy_answers_generated_bodies(proxy, request_body, extra, escape, path):
        """Any generated body, as JSON (now and then with NaN or Infinity as Python writes them,
        or with a lone surrogate as raw bytes instead of an escape): a well-formed Anthropic
        answer or error, never a 5xx, and the proxy serves on."""
        if isinstance(request_body, dict):
            request_body = {**request_body, **extra}
        data = json.dumps(request_body, ensure_ascii=escape).encode("utf-8", "surrogatepass")
        status, content_type, answer = post_json(proxy, data, path)
        event(f"{path.rsplit('/', 1)[1]} {status}{' with NaN or Infinity' if extra else ''}")
        assert status < 500, answer[:300]
        for leak in (b"Traceback", b".py", b"/root", b"/work"):
            assert leak not in answer
        if status != 200:
            assert_error_shape(answer)
        elif path.endswith("count_tokens"):
            assert isinstance(json.loads(answer)["input_tokens"], int)
        elif content_type.startswith("text/event-stream"):
            events = parse_sse(answer)
            if events[-1][0] != "error":
                check_protocol(events)
        else:
            reply = json.loads(answer)
            assert reply["type"] == "message" and isinstance(reply["content"], list)
        assert raw(proxy, "GET", "/")[0] == 200



def test_consecutive_assistant_messages_are_one_turn():
    body = req([{"role": "user", "content": "go"},
                {"role": "assistant", "content": [{"type": "text", "text": "First."}, {"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "b", "name": "g", "input": {"x": 1}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "1"},
                                             {"type": "tool_result", "tool_use_id": "b", "content": "2"}]}])
    cp.validate_request(body, need_max_tokens=True)
    messages = cp.to_openai_request(body, "openai/gpt-4.1", OPENAI)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]
    assert messages[1]["content"] == "First." and [c["id"] for c in messages[1]["tool_calls"]] == ["a", "b"]
    stale = req([{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": {}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "1"}]},
                 {"role": "assistant", "content": "ok"},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": "again"}]}])
    with pytest.raises(cp.ProxyError, match="no tool_use in the previous"):
        cp.validate_request(stale, need_max_tokens=True)


def test_whitespace_before_a_tool_call_makes_no_text_block():
    translator = cp.StreamTranslator("m", "x")
    events = translator.feed({"choices": [{"index": 0, "delta": {"content": "\n\n"}}]})
    events += translator.feed({"choices": [{"index": 0, "delta": tool_delta(0, "{}", "call_1", "f")}]}) + translator.finish()
    check_protocol(events)
    assert [b["type"] for b in cp.fold_events(events)["content"]] == ["tool_use"]


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e999"])
def test_non_finite_settings_are_problems(value):
    problems: list = []
    config = cp.Config.from_env({"MAX_BODY_MB": value, "REQUEST_DEADLINE": value, "KEEPALIVE_SECONDS": value}, problems)
    assert (config.max_body_bytes, config.request_deadline, config.keepalive_seconds) == (32 * 1024 * 1024, 3600.0, 15.0)
    assert len(problems) == 3


def test_json_log_exceptions_are_redacted(tmp_path):
    import logging

    cp.guard_logs({"OPENAI_API_KEY": "sk-json-secret-123"})
    logger = logging.getLogger("claude_proxy")
    handler = logging.FileHandler(tmp_path / "log.jsonl")
    handler.setFormatter(cp.JsonLogFormatter())
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("Incorrect API key provided: sk-json-secret-123")
        except RuntimeError:
            logger.error("provider failed", exc_info=True)
    finally:
        logger.removeHandler(handler)
        handler.close()
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    assert "sk-json-secret-123" not in json.dumps(record) and "***" in record["exception"]


def test_launched_command_gets_no_provider_key(fake, tmp_path):
    (tmp_path / "keys.env").write_text("GROQ_API_KEY=gsk-only-in-dotenv-123\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(proxy_env(fake.url))
    run = subprocess.run([sys.executable, cp.__file__, "--env-file", str(tmp_path / "keys.env"), "--", sys.executable, "-c",
                          "import os; print(sorted(k for k in os.environ if k.endswith('_API_KEY')), os.environ['ANTHROPIC_BASE_URL'])"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=3 * TIMEOUT)
    assert run.returncode == 0, run.stderr
    assert "GROQ_API_KEY" not in run.stdout and "OPENAI_API_KEY" not in run.stdout and "ANTHROPIC_API_KEY" in run.stdout
    assert "http://127.0.0.1:" in run.stdout


def test_no_fallback_after_the_proxys_own_deadline(start_proxy, fake, proxy_log):
    cp.load_litellm()  # the import is not what is timed here
    server = start_proxy(REQUEST_DEADLINE="0.5", FALLBACK_MODELS="groq/llama-3.1-8b-instant")
    fake.replies = [dict(text_reply(), delay=3)]
    for n, stream in enumerate((False, True)):
        model = f"claude-sonnet-4-6-deadline{n}"
        (status, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", dict(BASIC, model=model, stream=stream)))
        assert status == 504 and json.loads(data)["error"]["type"] == "timeout_error" and took < 2
        line = proxy_log.wait(1, model)[0]
        assert "fallbacks" not in line.fields and "REQUEST_DEADLINE" in line.getMessage()


def test_provider_holding_its_headers_still_gets_keepalive(start_proxy, fake):
    """A gateway or a local server that sends no headers until its first token: the client
    still gets the stream started and keep-alive events on time."""
    cp.load_litellm()
    server = start_proxy(KEEPALIVE_SECONDS="0.2")
    fake.replies = [dict(text_reply("Late."), delay=1.2)]
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=TIMEOUT)
    started = time.monotonic()
    conn.request("POST", "/v1/messages", body=json.dumps(dict(BASIC, stream=True)))
    response = conn.getresponse()
    first = time.monotonic() - started
    events = parse_sse(response.read())
    conn.close()
    assert response.status == 200 and first < 1.0
    assert cp.fold_events(events)["content"][-1]["text"] == "Late."


# ---- hardening: a broken provider, a busy server, a hostile value ----


@contextlib.contextmanager
def open_files(count: int):
    """The soft limit on open files at least `count` for the block, then as it was."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count:
        pytest.skip(f"the hard limit on open files ({hard}) is below {count}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, count), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def high_socket(sock, above: int = 1100):
    """The same socket under a descriptor of `above` or more (past select's FD_SETSIZE of 1024)."""
    import fcntl

    number = fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD, above)
    sock.close()
    return socket.socket(fileno=number)


def test_socket_checks_take_descriptors_past_1024():
    with open_files(1300):
        near, far = socket.socketpair()
        near = high_socket(near)
        try:
            assert near.fileno() >= 1100
            assert not cp.client_left(near)  # select.select raised ValueError here, read as "client gone"
            route = cp.Route("http", "127.0.0.1", 1)
            cp.POOL.put(route, near)
            assert cp.POOL.get(route) is near  # select.select dropped every idle socket past 1024
            far.sendall(b"x")
            assert not cp.client_left(near)  # a client sending its next request is still there
            assert near.recv(1) == b"x"
            far.close()
            assert cp.client_left(near)
        finally:
            near.close()
            far.close()


def test_a_stream_is_served_with_1100_connections_open(start_proxy, fake):
    """1,100 idle keep-alive connections, each served once (so each has its thread and a
    descriptor past 1024), then a stream whose provider pauses, so the proxy checks that its
    client is there: it must find it is."""
    with open_files(4000):
        server = start_proxy(REQUEST_TIMEOUT="5")
        port, idle = server.server_address[1], []
        before = rss_kb()
        try:
            for _ in range(1100):
                sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
                idle.append(sock)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            for sock in idle:
                answer = b""
                while not answer.endswith(b'{"status":"ok"}'):
                    answer += sock.recv(65536)
            per_connection = (rss_kb() - before) / len(idle)
            fake.replies = [dict(text_reply("still here"), pauses={1: 0.7})]
            status, _, data = raw(server, "POST", "/v1/messages", dict(BASIC, stream=True))
            events = parse_sse(data)
            assert status == 200
            check_protocol(events)
            assert cp.fold_events(events)["content"][0]["text"] == "still here"
            print(f"\n1,100 idle connections: {per_connection:.0f} KB of RSS each (client and proxy sides, one process)")
        finally:
            for sock in idle:
                sock.close()


def test_sigterm_ends_busy_streams_on_the_clock(fake, tmp_path):
    """50 streams that get a chunk every 10 ms: on SIGTERM each ends with an event: error
    (overloaded_error) once SHUTDOWN_GRACE is past, and the process exits soon after."""
    fake.responder = lambda body: {"deltas": [{"content": "w "}] * 3000, "pauses": {k: 0.01 for k in range(3000)},
                                   "finish": "stop", "usage": (1, 1)}
    body = json.dumps(dict(BASIC, stream=True)).encode()
    request = b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    answers, begun = [b""] * 50, threading.Semaphore(0)

    def one(i):
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                if not answers[i]:
                    begun.release()
                answers[i] += chunk

    with proxy_process(fake, tmp_path) as (process, port):
        threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
        for thread in threads:
            thread.start()
        for _ in threads:
            assert begun.acquire(timeout=TIMEOUT)
        stopped_at = time.monotonic()
        process.terminate()
        assert process.wait(timeout=TIMEOUT) == 0
        took = time.monotonic() - stopped_at
        for thread in threads:
            thread.join(TIMEOUT)
        for answer in answers:
            assert answer.startswith(b"HTTP/1.1 200") and b"message_stop" not in answer
            last = answer.rsplit(b"event: ", 1)[-1]
            assert answer.endswith(b"0\r\n\r\n") and last.startswith(b"error\n") and b'"overloaded_error"' in last
        print(f"\nSIGTERM with 50 busy streams, SHUTDOWN_GRACE=1: all ended with event: error, exit after {took:.1f} s")
        assert took < 5
    fake.responder = None


@pytest.mark.parametrize("value, seconds", [
    ("7", "7"), ("2.5", "3"), ("600", "60"), ("-4", "0"), ("0", "0"), ("1e300", "60"), ("1e-400", "0"),
    ("inf", None), ("1e309", None), ("nan", None), ("-inf", None), ("Infinity", None), ("NaN", None),
    ("Wed, 21 Oct 2026 07:28:00 GMT", "Wed, 21 Oct 2026 07:28:00 GMT"), ("soon", None), ("12 monkeys", None),
])
def test_retry_after_value(value, seconds):
    assert cp.retry_after_value(value) == seconds
    assert cp._retry_after(cp.ProviderHTTPError(429, "slow", {"retry-after": value})) == seconds


@pytest.mark.parametrize("value, seconds", [("inf", None), ("1e309", None), ("nan", None), ("-3", "0")])
def test_e2e_hostile_retry_after_is_dropped_not_a_500(client, fake, value, seconds):
    import anthropic

    fake.replies = [{"status": 429, "headers": {"retry-after": value}}]
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(**BASIC)
    assert caught.value.response.headers.get("retry-after") == seconds


def test_log_lines_escape_what_clients_and_providers_send(proxy, fake, proxy_log):
    formatter = cp.TextLogFormatter("%(asctime)s %(levelname)s %(message)s")
    forged = "\n2099-01-01 00:00:00,000 CRITICAL forged"
    fake.replies = [text_reply()]
    assert raw(proxy, "POST", "/v1/messages", dict(BASIC, model="\n2099-01-01-CRITICAL-model-forged"))[0] == 200
    with socket.create_connection(("127.0.0.1", proxy.server_address[1]), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /\x1b[2J\x1b[31mred\r HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        while sock.recv(65536):
            pass
    fake.replies = [{"status": 500, "body": {"error": {"message": "bad" + forged, "type": "x"}}}]
    assert raw(proxy, "POST", "/v1/messages", dict(BASIC, model="claude-sonnet-4-6-logforge"))[0] == 500
    proxy_log.wait(1, "logforge")
    text = "\n".join(formatter.format(record) for record in proxy_log.records)
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ |    ", line) for line in text.split("\n"))
    assert not re.search(r"^2099", text, re.M) and "\x1b" not in text and "\r" not in text
    assert "\\n2099-01-01-CRITICAL-model-forged" in text and "\\n2099-01-01 00:00:00,000 CRITICAL forged" in text
    assert "\\x1b[2J\\x1b[31mred" in text or "Bad request" in text  # a request line the proxy refuses is not logged raw


def test_text_logs_use_the_escaping_formatter():
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        cp.setup_logging(cp.Config.from_env({}), stream=stream)
        logging.getLogger("claude_proxy.test").warning("model %s", "x\ny\x1bz")
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert stream.getvalue().count("\n") == 1 and "model x\\ny\\x1bz" in stream.getvalue()
    assert cp.log_safe("plain é text") == "plain é text" and cp.log_safe("\u2028\x85\x7f\t") == "\\u2028\\x85\\x7f\\t"


def test_an_endless_event_is_cut_at_its_cap_at_the_cost_of_a_search_per_read():
    decoder = cp.SSEDecoder()
    assert decoder.feed(b'data: {"choices":[]}\n\ndata: {"choices":[{"delta":{"content":"') == [{"choices": []}]
    piece = b"x" * 65536
    started = time.process_time()
    with pytest.raises(cp.ProxyError) as caught:
        for _ in range(cp.MAX_EVENT_BYTES // len(piece) + 2):
            decoder.feed(piece)
    took = time.process_time() - started
    assert caught.value.status == 502 and caught.value.error_type == "api_error" and "stream event" in caught.value.message
    assert took < 2  # re-copying the event on every read took 25 s of CPU for the same bytes
    small = cp.SSEDecoder(limit=100)
    good = b'data: {"choices":[]}\n\n'
    assert small.feed(good + b"data: " + b"y" * 200) == [{"choices": []}] and small.failure.status == 502
    split = cp.SSEDecoder(limit=100)  # an event's end split across reads, one byte at a time, CRLF
    items = [item for byte in (b"data: [DONE]\r\n\r\n") for item in split.feed(bytes([byte]))]
    assert items == [] and split.saw_done


def test_a_provider_answer_quoting_the_key_reaches_the_client_blanked(client, fake):
    """Streamed, the key is blanked where one event holds it whole (one split across events is not
    caught: see SseAnswer.write)."""
    fake.replies = [dict(text_reply(), deltas=[{"role": "assistant", "content": "your key is "},
                                               {"content": "sk-test-openai, keep it safe"}])]
    assert client.messages.create(**BASIC).content[0].text == "your key is ***, keep it safe"
    with client.messages.stream(**BASIC) as stream:
        assert stream.get_final_message().content[0].text == "your key is ***, keep it safe"
    fake.replies = [dict(text_reply(), deltas=[{"content": "sk-test-openai "}] * 50)]  # many events, each quoting it
    with client.messages.stream(**BASIC) as stream:
        assert stream.get_final_message().content[0].text == "*** " * 50


def test_blank_secrets_and_answer_secrets():
    env = {"OPENAI_API_KEY": "sk-abc12345", "A_TOKEN": 'tok"en\\12345', "SHORT_KEY": "abc", "PATH": "/usr/bin:/bin"}
    assert cp.answer_secrets(env) == (b'tok\\"en\\\\12345', b"sk-abc12345")  # as JSON writes them; short and non-secrets left out
    answer = {"content": [{"type": "tool_use", "input": {"cmd": "echo sk-abc12345"}}, {"type": "text", "text": 'tok"en\\12345'}]}
    assert cp.blank_secrets(answer, cp.secret_texts(env)) == {"content": [{"type": "tool_use", "input": {"cmd": "echo ***"}},
                                                                          {"type": "text", "text": "***"}]}


@pytest.mark.parametrize("env, provider, allowed", [
    ({}, "ollama", False),  # a local default: never by itself
    ({}, "ollama_chat", False), ({}, "lm_studio", False), ({}, "hosted_vllm", False), ({}, "xinference", False),
    ({}, "mistral", False),  # no key, no base URL, not routed
    ({"MISTRAL_API_KEY": "m"}, "mistral", True),  # its key is set
    ({"OLLAMA_API_KEY": "o"}, "ollama", False),  # a key says nothing of where a local default is
    ({"OLLAMA_API_BASE": "http://gpu:11434"}, "ollama", True),  # its base URL is set
    ({"SMALL_MODEL": "ollama/llama3"}, "ollama", True),  # a routed setting uses it
    ({"FALLBACK_MODELS": "lm_studio/qwen"}, "lm_studio", True),
    ({"BIG_MODEL": "llama3", "PREFERRED_PROVIDER": "ollama"}, "ollama", True),  # bare names go there
    ({"ALLOWED_PROVIDERS": "ollama, vllm"}, "vllm", True),
    ({"ALLOWED_PROVIDERS": "*"}, "xinference", True),
    ({"ALLOWED_PROVIDERS": "ollama"}, "mistral", False),
    ({}, "openai", True),  # the default BIG_MODEL's provider
])
def test_allowed_provider(env, provider, allowed):
    assert cp.allowed_provider(provider, cp.Config.from_env(env)) is allowed


def test_a_client_names_only_providers_the_operator_configured(start_proxy, fake):
    server = start_proxy(HOSTED_VLLM_API_BASE=fake.url + "/v1")
    for model in ("ollama/llama3", "ollama_chat/llama3", "lm_studio/qwen", "xinference/qwen", "mistral/mistral-large"):
        for stream in (False, True):
            status, _, data = raw(server, "POST", "/v1/messages", dict(BASIC, model=model, stream=stream))
            error = json.loads(data)["error"]
            assert status == 400 and error["type"] == "invalid_request_error", (model, data)
            assert f"'{model.split('/')[0]}'" in error["message"] and "ALLOWED_PROVIDERS" in error["message"]
    assert fake.received == []  # nothing was called, on either path
    assert raw(server, "POST", "/v1/messages", dict(BASIC, model="hosted_vllm/qwen"))[0] == 200  # its base URL is set
    allowed = start_proxy(ALLOWED_PROVIDERS="hosted_vllm", HOSTED_VLLM_API_BASE=fake.url + "/v1")
    assert raw(allowed, "POST", "/v1/messages", dict(BASIC, model="hosted_vllm/qwen", stream=True))[0] == 200


def test_max_connections_answers_529_and_the_server_keeps_serving(start_proxy):
    server = start_proxy(MAX_CONNECTIONS="3")
    port = server.server_address[1]
    held = [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) for _ in range(3)]
    try:
        for sock in held:  # served once each: all three are counted
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        status, headers, body, _ = send_raw(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert status == 529 and headers["connection"] == "close"
        assert json.loads(body) == {"type": "error", "error": {"type": "overloaded_error", "message": json.loads(body)["error"]["message"]}}
        assert "MAX_CONNECTIONS (3)" in json.loads(body)["error"]["message"]
        held.pop().close()
        deadline = time.monotonic() + TIMEOUT  # the proxy counts the closed one out once its thread sees the close
        while (status := send_raw(port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")[0]) == 529:
            assert time.monotonic() < deadline
        assert status == 200
    finally:
        for sock in held:
            sock.close()
    assert cp.Server.request_queue_size >= 4096  # the listen backlog: a burst waits rather than being refused


class FaultProvider:
    """A loopback provider that answers one request with scripted bytes, then closes ("close"),
    resets the connection ("reset"), or stays open and silent ("hold") until the proxy hangs up.
    `pieces` may be an iterator: it is sent until the proxy stops reading."""

    def __init__(self, pieces, then="close"):
        self.pieces, self.then = pieces, then
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(TIMEOUT)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        with contextlib.suppress(OSError), self.sock:
            conn, _ = self.sock.accept()
            with conn:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += conn.recv(65536)
                head, _, body = received.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                while len(body) < length:
                    body += conn.recv(65536)
                for piece in self.pieces:
                    conn.sendall(piece)
                if self.then == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                elif self.then == "hold":
                    while conn.recv(65536):
                        pass


STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
ONE_EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'


def endless(first: bytes, piece: bytes = b"x" * (1 << 20)):
    yield first
    while True:
        yield piece


def free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"  # closed: nothing listens there


FAULTS = [  # (fault, the provider, streamed, the client's status, its error type (final event's for a stream), bound in s)
    ("connection refused", lambda: free_port_url(), True, 500, "api_error", 2),
    ("reset mid-stream", lambda: FaultProvider([STREAM_HEAD, ONE_EVENT], "reset"), True, 200, "api_error", 2),
    ("stall past REQUEST_TIMEOUT", lambda: FaultProvider([STREAM_HEAD, ONE_EVENT], "hold"), True, 200, "timeout_error", 4),
    ("malformed chunk", lambda: FaultProvider([STREAM_HEAD, ONE_EVENT, b"data: {not json\n\n"], "hold"), True, 200,
     "api_error", 2),
    ("never-ending event", lambda: FaultProvider(endless(STREAM_HEAD + ONE_EVENT + b"data: {"), "hold"), True, 200,
     "api_error", 10),
    ("oversized answer", lambda: FaultProvider(endless(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                                       b"Content-Length: 42000000\r\n\r\n{\"choices\":\""), "hold"),
     False, 502, "api_error", 10),
]


@pytest.mark.parametrize("fault, provider, stream, status, error_type, bound", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault_table(fake, gemini, fault, provider, stream, status, error_type, bound):
    """Each upstream fault, on the direct path (REQUEST_TIMEOUT=2, CONNECT_TIMEOUT=1): the client's
    Anthropic-shaped error and how long it took to come; the proxy keeps serving."""
    made = provider()
    url = made if isinstance(made, str) else made.url
    server = cp.make_server(cp.Config.from_env(proxy_env(fake.url, gemini.url, OPENAI_BASE_URL=url, REQUEST_TIMEOUT="2",
                                                         CONNECT_TIMEOUT="1")))
    serve(server)
    try:
        (got, _, data), took = timed(lambda: raw(server, "POST", "/v1/messages", dict(BASIC, stream=stream)))
        if got == 200:
            events = parse_sse(data)
            assert events[0][0] == "message_start" and events[-1][0] == "error"
            assert "message_stop" not in [name for name, _ in events]
            error = events[-1][1]["error"]
        else:
            error = json.loads(data)["error"]
            assert b"Traceback" not in data
        assert (got, error["type"]) == (status, error_type), data[-300:]
        assert took < bound
        print(f"\nfault table: {fault:28} {got} {error['type']:14} {took * 1000:6.0f} ms  {error['message'][:70]}")
        assert raw(server, "GET", "/")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------------------
# ---- hardening: what a hostile client or web page sends ----
# ----------------------------------------------------------------------------------------

import select  # noqa: E402 - the trickling clients' pacing, here only


def head(*lines, body=b"", request_line="POST /v1/messages HTTP/1.1") -> bytes:
    """A raw request with exactly these header lines (no Host unless given) and body."""
    return b"\r\n".join([request_line.encode()] + [h if isinstance(h, bytes) else h.encode() for h in lines]) + b"\r\n\r\n" + body


def sized(*lines, body=BASIC_BYTES, **kwargs) -> bytes:
    return head(*lines, f"Content-Length: {len(body)}", body=body, **kwargs)


LOCAL = "Host: 127.0.0.1"
TE = "Transfer-Encoding: chunked"
BROWSER = ("Content-Type: text/plain;charset=UTF-8", "Origin: http://attacker.example")
SCHEMA_1E400 = with_raw(b'"tools": [{"name": "f", "input_schema": {"type": "object", "properties": {"n": {"type": "number", '
                        b'"maximum": 1e400}}}}]')
DENIED = "permission_error"

# (id, raw request, status, error type or None for a success, a fragment of the error's message)
HOSTILE_CASES = [
    # -- a web page in the user's browser -------------------------------------------------------
    ("browser POST text/plain from another origin, no key", sized(LOCAL, *BROWSER), 403, DENIED, "ALLOWED_ORIGINS="),
    ("browser POST, Origin null (a sandboxed frame)", sized(LOCAL, "Origin: null"), 403, DENIED, "ALLOWED_ORIGINS"),
    ("browser preflight OPTIONS", head(LOCAL, "Origin: http://attacker.example", "Access-Control-Request-Method: POST",
                                        request_line="OPTIONS /v1/messages HTTP/1.1"), 403, DENIED, "ALLOWED_ORIGINS"),
    ("browser GET of the health check", head(LOCAL, "Origin: http://attacker.example", request_line="GET / HTTP/1.1"),
     403, DENIED, "ALLOWED_ORIGINS"),
    ("DNS rebinding: Host attacker.example:8082", sized("Host: attacker.example:8082", "Content-Type: text/plain"), 403,
     DENIED, "ALLOWED_HOSTS=attacker.example"),
    ("DNS rebinding, GET", head("Host: attacker.example", request_line="GET /v1/models HTTP/1.1"), 403, DENIED, "ALLOWED_HOSTS"),
    ("Host 127.0.0.1.attacker.example", sized("Host: 127.0.0.1.attacker.example:8082"), 403, DENIED, "ALLOWED_HOSTS"),
    ("Host localhost.", sized("Host: localhost."), 403, DENIED, "ALLOWED_HOSTS"),
    ("absolute URL naming another host", sized(LOCAL, request_line="POST http://attacker.example/v1/messages HTTP/1.1"), 403,
     DENIED, "ALLOWED_HOSTS"),
    ("HTTP/1.0 with Host attacker.example", sized("Host: attacker.example", request_line="POST /v1/messages HTTP/1.0"), 403,
     DENIED, "ALLOWED_HOSTS"),
    ("Host localhost:8082", sized("Host: localhost:8082"), 200, None, ""),
    ("Host LocalHost, no port", sized("Host: LocalHost"), 200, None, ""),
    ("Host [::1]:8082", sized("Host: [::1]:8082"), 200, None, ""),
    ("Host 127.0.0.1 on another port (a port forward)", sized("Host: 127.0.0.1:9999"), 200, None, ""),
    ("HTTP/1.0 without Host", sized(request_line="POST /v1/messages HTTP/1.0"), 200, None, ""),
    ("HTTP/1.0 GET without Host", head(request_line="GET / HTTP/1.0"), 200, None, ""),
    # -- framing two readers could take differently (RFC 9112) -----------------------------------
    ("no Host in HTTP/1.1", sized(), 400, ERR, "Host"),
    ("two Host headers", sized(LOCAL, "Host: attacker.example"), 400, ERR, "one Host"),
    ("two Transfer-Encoding headers: chunked, identity",
     head(LOCAL, TE, "Transfer-Encoding: identity", body=chunked(BASIC_BYTES)), 400, ERR, "Transfer-Encoding"),
    ("Transfer-Encoding: chunked, chunked", head(LOCAL, "Transfer-Encoding: chunked, chunked", body=chunked(BASIC_BYTES)),
     400, ERR, "Transfer-Encoding"),
    ("Transfer-Encoding: gzip, chunked", head(LOCAL, "Transfer-Encoding: gzip, chunked", body=chunked(BASIC_BYTES)), 400, ERR,
     "Transfer-Encoding"),
    ("Transfer-Encoding: identity", head(LOCAL, "Transfer-Encoding: identity", body=BASIC_BYTES), 400, ERR, "Transfer-Encoding"),
    ("Transfer-Encoding with Content-Length", sized(LOCAL, TE, body=chunked(BASIC_BYTES)), 400, ERR, "Content-Length"),
    ("Transfer-Encoding in HTTP/1.0", head(TE, body=chunked(BASIC_BYTES), request_line="POST /v1/messages HTTP/1.0"), 400, ERR,
     "HTTP/1.1"),
    ("folded Transfer-Encoding", head(LOCAL, "Transfer-Encoding:", " chunked", body=chunked(BASIC_BYTES)), 400, ERR, "folded"),
    ("a folded X- header", sized(LOCAL, "X-Note: a", "\tb"), 400, ERR, "folded"),
    ("white space before the first header", sized(" X-Note: a", LOCAL), 400, ERR, "folded"),
    ("chunk size 0x61", head(LOCAL, TE, body=b"0x%x\r\n%s\r\n0\r\n\r\n" % (len(BASIC_BYTES), BASIC_BYTES)), 400, ERR, "hex digits"),
    ("chunk size +61", head(LOCAL, TE, body=b"+%x\r\n%s\r\n0\r\n\r\n" % (len(BASIC_BYTES), BASIC_BYTES)), 400, ERR, "hex digits"),
    ("chunk size 6_1", head(LOCAL, TE, body=b"%s\r\n%s\r\n0\r\n\r\n" % ("_".join("%x" % len(BASIC_BYTES)).encode(), BASIC_BYTES)),
     400, ERR, "hex digits"),
    ("chunk size with a space before it", head(LOCAL, TE, body=b" %x\r\n%s\r\n0\r\n\r\n" % (len(BASIC_BYTES), BASIC_BYTES)),
     400, ERR, "hex digits"),
    ("chunk size line ending in a bare LF", head(LOCAL, TE, body=b"%x\n%s\r\n0\r\n\r\n" % (len(BASIC_BYTES), BASIC_BYTES)),
     400, ERR, "hex digits"),
    ("chunk size with an extension", head(LOCAL, TE, body=b"%X;name=value\r\n%s\r\n0\r\n\r\n" % (len(BASIC_BYTES), BASIC_BYTES)),
     200, None, ""),
    ("chunked body with a trailer", head(LOCAL, TE, body=chunked(BASIC_BYTES, end=b"0\r\nX-Trailer: 1\r\n\r\n")), 200, None, ""),
    ("NUL in a header value", sized(LOCAL, b"X-Note: a\x00b"), 400, ERR, "control character"),
    ("bare CR in a header value", sized(LOCAL, b"X-Note: a\rb"), 400, ERR, "control character"),
    ("escape character in a header value", sized(LOCAL, b"X-Note: \x1b[31m"), 400, ERR, "control character"),
    ("DEL in a header value", sized(LOCAL, b"X-Note: a\x7fb"), 400, ERR, "control character"),
    ("NUL in the Host header", sized(b"Host: 127.0.0.1\x00.attacker.example"), 400, ERR, "control character"),
    ("tab in a header value is fine", sized(LOCAL, b"X-Note: a\tb"), 200, None, ""),
    ("obs-text (Latin-1) in a header value is fine", sized(LOCAL, b"X-Note: caf\xe9"), 200, None, ""),
    # -- bodies: JSON that another reader would take differently, numbers that are not JSON ------
    ("model given twice", sized(LOCAL, body=BASIC_BYTES[:-1] + b', "model": "openai/gpt-4o"}'), 400, ERR, "'model' appears twice"),
    ("a key twice in a nested block",
     sized(LOCAL, body=BASIC_BYTES.replace(b'"content": "Hi"', b'"content": [{"type": "text", "text": "a", "text": "b"}]')),
     400, ERR, "messages.0.content.0: the key 'text' appears twice"),
    ("tool schema maximum 1e400", sized(LOCAL, body=SCHEMA_1E400), 400, ERR, "tools.0.input_schema.properties.n.maximum: the number 1e400"),
    ("-1e400 in metadata", sized(LOCAL, body=with_raw(b'"metadata": {"x": [1, -1e400]}')), 400, ERR, "metadata.x.1"),
    ("1e400 as the whole body", sized(LOCAL, body=b"1e400"), 400, ERR, "1e400"),
    ("Infinity literal", sized(LOCAL, body=with_raw(b'"temperature": Infinity')), 400, ERR, "Infinity"),
    ("1e-400 (rounds to 0) is a number", sized(LOCAL, body=with_raw(b'"metadata": {"x": 1e-400}')), 200, None, ""),
]


@pytest.mark.parametrize("request_, status, error_type, fragment", [c[1:] for c in HOSTILE_CASES], ids=[c[0] for c in HOSTILE_CASES])
def test_hostile_requests(proxy, request_, status, error_type, fragment):
    got, headers, body, received = send_raw(proxy.server_address[1], request_)
    assert got == status, received[:400]
    assert not any(name.startswith("access-control-") for name in headers), headers  # no page may read an answer
    if error_type:
        error = json.loads(body)["error"]
        assert error["type"] == error_type and fragment in error["message"], error
        if status in (400, 403) and error_type != ERR or b"Content-Length" not in request_ or b"Transfer-Encoding" in request_:
            assert headers.get("connection") == "close"  # whatever follows the refused request is never read as one
    else:
        assert json.loads(body).get("type", "message") == "message"
    assert not any(leak in received for leak in LEAKS), received[:500]
    assert raw(proxy, "GET", "/")[0] == 200  # and it keeps serving


SMUGGLED = b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s" % (
    len(json.dumps(dict(BASIC, model="claude-smuggled"))), json.dumps(dict(BASIC, model="claude-smuggled")).encode())


@pytest.mark.parametrize("first", [
    head(LOCAL, TE, "Transfer-Encoding: identity", "Content-Length: 5", body=b"0\r\n\r\n"),
    head(LOCAL, "Transfer-Encoding: chunked, identity", body=b"0\r\n\r\n"),
    head(LOCAL, "Transfer-Encoding:", " chunked", "Content-Length: 5", body=b"0\r\n\r\n"),
    head(LOCAL, TE, body=b"0x0\r\n\r\n"),
    head(LOCAL, "Content-Length: 2", b"X-Note: \x00", body=b"{}"),
    sized("Host: a", "Host: b", body=b"{}"),
    head(LOCAL, "Origin: http://attacker.example", "Content-Length: 2", body=b"{}"),
], ids=["TE chunked then identity", "TE chunked, identity", "folded TE", "chunk size 0x0", "NUL", "two Hosts", "Origin"])
def test_the_bytes_after_a_refused_request_are_never_run(proxy, fake, first):
    answer = exchange(proxy, first + SMUGGLED)
    assert answer.count(b"HTTP/1.1 ") == 1 and answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 403")), answer[:300]
    assert not any("smuggled" in json.dumps(r) for r in fake.received)


def test_allowed_origins_and_hosts_let_a_tool_in_yet_answers_carry_no_cors(start_proxy):
    server = start_proxy(ALLOWED_ORIGINS="chrome-extension://abcdef, http://localhost:3000/", ALLOWED_HOSTS="mybox.lan,other.lan:8082")
    port = server.server_address[1]
    for lines, status in [(("Host: 127.0.0.1", "Origin: chrome-extension://abcdef"), 200),
                          (("Host: 127.0.0.1", "Origin: http://LOCALHOST:3000"), 200),
                          (("Host: 127.0.0.1", "Origin: http://localhost:3001"), 403),
                          (("Host: mybox.lan:%d" % port,), 200), (("Host: MyBox.lan",), 200),
                          (("Host: other.lan:8082",), 200), (("Host: other.lan:8083",), 403), (("Host: third.lan",), 403)]:
        got, headers, body, received = send_raw(port, sized(*lines))
        assert got == status, (lines, received[:300])
        assert not any(name.startswith("access-control-") for name in headers)
    anything = start_proxy(ALLOWED_ORIGINS="*", ALLOWED_HOSTS="*")
    assert send_raw(anything.server_address[1], sized("Host: attacker.example", "Origin: http://attacker.example"))[0] == 200


def test_clients_that_send_their_own_host_keep_working(proxy, client):
    """Claude Code and the SDKs send Host: 127.0.0.1:PORT or localhost:PORT, and no Origin."""
    assert client.messages.create(**BASIC).content[0].text == "Hello there!"
    conn = http.client.HTTPConnection("localhost", proxy.server_address[1], timeout=TIMEOUT)
    try:
        conn.request("POST", "/v1/messages", body=json.dumps(BASIC), headers={"Content-Type": "application/json"})
        assert conn.getresponse().status == 200
    finally:
        conn.close()


def test_banner_beyond_loopback_says_how_to_name_the_proxy():
    lan = cp.Config.from_env({"HOST": "0.0.0.0"})
    text = "\n".join(cp.banner(lan, "http://0.0.0.0:8082"))
    assert "ALLOWED_HOSTS=" in text and "PROXY_API_KEY" in text and "WARNING: listening on 0.0.0.0" in text
    named = cp.Config.from_env({"HOST": "0.0.0.0", "ALLOWED_HOSTS": "mybox.lan", "PROXY_API_KEY": "k" * 20,
                                "ALLOWED_ORIGINS": "chrome-extension://abc"})
    text = "\n".join(cp.banner(named, "http://0.0.0.0:8082"))
    assert "mybox.lan (ALLOWED_HOSTS)" in text and "chrome-extension://abc" in text and "WARNING" not in text
    assert "ALLOWED_HOSTS" not in "\n".join(cp.banner(cp.Config.from_env({}), "http://127.0.0.1:8082"))


@pytest.mark.parametrize("value, listen, allowed, expected", [
    ("127.0.0.1:8082", "127.0.0.1", (), True),
    ("localhost", "127.0.0.1", (), True),
    ("[::1]:8082", "::1", (), True),
    ("[::1]", "127.0.0.1", (), True),
    ("192.168.1.20:8082", "192.168.1.20", (), True),  # the listen address
    ("[fe80::1]:8082", "fe80::1", (), True),
    ("192.168.1.20:8082", "0.0.0.0", (), False),
    ("attacker.example:8082", "127.0.0.1", (), False),
    ("localhost.attacker.example", "127.0.0.1", (), False),
    ("::1", "127.0.0.1", (), False),  # not a valid Host: an IPv6 address goes in brackets
    ("", "127.0.0.1", (), False),
    ("mybox.lan:8082", "0.0.0.0", ("mybox.lan",), True),
    ("mybox.lan:8083", "0.0.0.0", ("mybox.lan:8082",), False),
    ("anything", "127.0.0.1", ("*",), True),
])
def test_host_allowed(value, listen, allowed, expected):
    assert cp.host_allowed(value, listen, allowed) is expected


@pytest.mark.parametrize("data, expected", [
    (b'{"a": 1, "b": {"c": 1.5e3}}', {"a": 1, "b": {"c": 1500.0}}),
    (b'{"a": "x\\ud800"}', {"a": "x\ufffd"}),
    (b'{"a": 1e-400}', {"a": 0.0}),
    (b'{"a": 1, "a": 1}', "The key 'a' appears twice in one object."),
    (b'[{"x": {"k": 1, "j": 2, "k": 3}}]', "0.x: the key 'k' appears twice"),
    (b'{"a.b": [{"t": 1, "t": 1}]}', "a.b.0: the key 't' appears twice"),
    (b'{"a": [2, 1E+999]}', "a.1: the number 1E+999 is too large"),
    (b'{"a": -9' + b"9" * 400 + b'.0}', "a: the number -999"),
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
])
def test_parse_json_refuses_duplicate_keys_and_numbers_beyond_a_double(data, expected):
    if isinstance(expected, str):
        with pytest.raises(ValueError, match=re.escape(expected)):
            cp.parse_json(data)
    else:
        assert cp.parse_json(data) == expected


def claude_code_body() -> bytes:
    """A 30 KB request shaped as Claude Code's: long system text, ten tools, a run of tool turns."""
    tools = [{"name": name, "description": f"Use this tool to {name}. " * 60,
              "input_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": False,
                               "required": ["a"], "properties": {p: {"type": "string", "description": f"The {p} to use"} for p in "abcd"}}}
             for name in ("Bash", "Read", "Edit", "Write", "Glob", "Grep", "TodoWrite", "WebFetch", "Task", "NotebookEdit")]
    messages = [{"role": "user", "content": [{"type": "text", "text": "Fix the failing test, please."}]}]
    for i in range(6):
        messages.append({"role": "assistant", "content": [{"type": "text", "text": "Let me look."}, {
            "type": "tool_use", "id": f"toolu_{i:02d}", "name": "Read", "input": {"file_path": f"/src/module_{i}.py"}}]})
        messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{i:02d}",
                                                      "content": "    def f(x):\n        return x\n" * 25}]})
    return json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 32000, "stream": True, "metadata": {"user_id": "u" * 64},
                       "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                                  {"type": "text", "text": "Instructions for the agent. " * 250, "cache_control": {"type": "ephemeral"}}],
                       "tools": tools, "messages": messages}).encode()


def test_the_json_checks_cost_a_claude_code_body_little():
    """parse_json's hooks (duplicate keys, numbers beyond a double) run on every request: the
    proxy's handling of a 30 KB Claude Code body (parse, validate, translate) costs about a fifth
    more than with json.loads alone (measured 1.18-1.28x), and never twice as much. CPU time of
    this thread, best of rounds; the bound is loose because a loaded CI machine moves the ratio."""
    data, quirks = claude_code_body(), cp.provider_for("openai")
    assert 28000 < len(data) < 40000

    def plain(data):  # the parse without the hooks, as before them
        text = data.decode("utf-8")
        value = json.loads(text, parse_constant=cp._reject_constant)
        return cp._mend_surrogates(value) if cp._SURROGATE_ESCAPE.search(text) else value

    def handling(parse):
        body = parse(data)
        cp.validate_request(body, need_max_tokens=True)
        return cp.to_openai_request(body, "openai/gpt-4.1", quirks)

    assert handling(plain) == handling(cp.parse_json)
    best = {plain: float("inf"), cp.parse_json: float("inf")}
    for _ in range(15):
        for parse in best:
            started = time.thread_time()
            for _ in range(20):
                handling(parse)
            best[parse] = min(best[parse], time.thread_time() - started)
    assert best[cp.parse_json] < 2 * best[plain], best


def trickle(port: int, pieces: list, count: int, pace: float = 0.1, family=socket.AF_INET, host="127.0.0.1"):
    """`count` connections that each send `pieces[0]` at once and then the bytes of
    `pieces[1]` one every `pace` seconds, until the proxy closes them. Returns, per
    connection, (seconds from its first byte to the close, the bytes it received). The pace
    is a select() timeout, and every socket has one, so nothing waits unbounded."""
    socks = [socket.socket(family, socket.SOCK_STREAM) for _ in range(count)]
    started, results, left = {}, {}, {}
    try:
        for sock in socks:
            sock.settimeout(TIMEOUT)
            sock.connect((host, port))
            sock.sendall(pieces[0])
            started[sock], left[sock] = time.monotonic(), bytearray(pieces[1])
            results[sock] = [None, b""]
        open_ = set(socks)
        give_up = time.monotonic() + TIMEOUT
        while open_ and time.monotonic() < give_up:
            readable, _, _ = select.select(list(open_), [], [], pace)
            for sock in readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                results[sock][1] += data
                if not data:
                    results[sock][0] = time.monotonic() - started[sock]
                    open_.discard(sock)
            if not readable:
                for sock in list(open_):
                    try:
                        if left[sock]:
                            sock.send(bytes(left[sock][:1]))
                            del left[sock][:1]
                    except OSError:
                        pass  # closed: the next select() says so
        return [tuple(results[sock]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.parametrize("pieces", [
    (b"P", b"OST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 200),  # the request line and head
    (b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", b"a" * 200),  # the head
    (b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(BASIC_BYTES), BASIC_BYTES),  # the body
    (b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n", chunked(*[bytes([b]) for b in BASIC_BYTES])),
], ids=["request line", "head", "body", "chunked body"])
def test_a_trickling_client_is_cut_at_the_deadline_and_its_thread_freed(start_proxy, pieces):
    deadline = 0.5
    server = start_proxy(CLIENT_TIMEOUT=str(deadline))
    before = set(threading.enumerate())
    results = trickle(server.server_address[1], pieces, count=12)
    for took, received in results:
        assert took is not None and deadline - 0.05 <= took < deadline + 1.0, results
        assert received == b"" or received.startswith(b"HTTP/1.1 408"), received[:200]
        if received:
            assert json.loads(received.partition(b"\r\n\r\n")[2])["error"]["type"] == "timeout_error"
            assert b"CLIENT_TIMEOUT" in received
    assert sum(received.startswith(b"HTTP/1.1 408") for _, received in results) >= len(results) // 2
    for thread in set(threading.enumerate()) - before:  # the handler threads of those connections
        thread.join(TIMEOUT)
        assert not thread.is_alive(), thread
    assert raw(server, "GET", "/")[0] == 200


def test_the_deadline_starts_at_a_requests_first_byte(start_proxy):
    """A kept-alive connection may idle for most of CLIENT_TIMEOUT, then take most of it again
    to send its next request: idle and request each get CLIENT_TIMEOUT."""
    server = start_proxy(CLIENT_TIMEOUT="0.6")
    request = http_request("GET", "/", length=None)
    with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert select.select([sock], [], [], 0.35) == ([], [], [])  # idle, and the proxy keeps the connection
        sock.sendall(request[:5])
        assert select.select([sock], [], [], 0.35) == ([], [], [])  # 0.7 s since the answer, 0.35 into the request
        sock.sendall(request[5:])
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")


def test_ipv6_loopback(fake, gemini):
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except (OSError, AttributeError) as exc:
        pytest.skip(f"this machine cannot listen on ::1: {exc}")
    server = cp.make_server(cp.Config.from_env(proxy_env(fake.url, gemini.url, HOST="::1", CLIENT_TIMEOUT="0.5")))
    serve(server)
    try:
        port = server.server_address[1]
        conn = http.client.HTTPConnection("::1", port, timeout=TIMEOUT)  # sends Host: [::1]:PORT
        conn.request("POST", "/v1/messages", body=json.dumps(BASIC))
        response = conn.getresponse()
        assert response.status == 200 and json.loads(response.read())["content"][0]["text"] == "Hello there!"
        conn.close()
        for host, status in (("[::1]:%d" % port, 200), ("localhost", 200), ("attacker.example", 403)):
            with socket.create_connection(("::1", port), timeout=TIMEOUT) as sock:
                sock.sendall(head(f"Host: {host}", request_line="GET / HTTP/1.1"))
                assert sock.recv(65536).startswith(b"HTTP/1.1 %d" % status), host
        with socket.create_connection(("::1", port), timeout=TIMEOUT) as sock:
            sock.sendall(head(request_line="GET / HTTP/1.0"))
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        results = trickle(port, (b"G", b"ET / HTTP/1.1\r\n" + b"X" * 100), count=3, family=socket.AF_INET6, host="::1")
        assert all(took is not None and took < 0.5 + 1.0 and received.startswith(b"HTTP/1.1 408") for took, received in results), results
    finally:
        server.shutdown()
        server.server_close()


# ---- cost: warm prompt caches and a price for every request ----


BILLING = "x-anthropic-billing-header: cc_version=2.1.332.{}; cc_entrypoint=cli;{}"


def claude_code_turn(session_hash: str, messages, *, subagent=False, cch="", stream=False, tools=None) -> dict:
    """A Claude Code turn as 2.1.332 sends it: the billing line first (its hash differs between sessions and
    subagents, `cch=` on every request), then the long, stable system prompt, then the tools and history."""
    billing = BILLING.format(session_hash, (" cc_is_subagent=true;" if subagent else "") + (f" cch={cch};" if cch else ""))
    system = [{"type": "text", "text": billing},
              {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
               "cache_control": {"type": "ephemeral"}},
              {"type": "text", "text": " ".join(f"Rule {n}: read files before editing them, and keep diffs small."
                                                for n in range(400)), "cache_control": {"type": "ephemeral"}}]
    tools = tools if tools is not None else [
        {"name": f"Tool{n}", "description": f"Tool number {n}: does one thing well. " * 8,
         "input_schema": {"type": "object", "properties": {"arg": {"type": "string"}}, "required": ["arg"]}}
        for n in range(12)]
    return {"model": "claude-sonnet-4-6", "max_tokens": 1000, "stream": stream, "system": system, "tools": tools,
            "messages": messages}


def test_without_billing_line():
    line = BILLING.format("a1f", " cch=93ab1;")
    assert cp.without_billing_line([{"type": "text", "text": line}, {"type": "text", "text": "Be brief"}]) == [
        {"type": "text", "text": "Be brief"}]
    assert cp.without_billing_line(line + "\nBe brief") == "Be brief"
    assert cp.without_billing_line("Be brief") == "Be brief" and cp.without_billing_line(None) is None
    assert cp.without_billing_line([{"type": "text", "text": "Be brief"}]) == [{"type": "text", "text": "Be brief"}]


@pytest.mark.parametrize("provider, kept", [("openai", False), ("groq", False), ("moonshot", False), ("deepseek", False),
                                            ("gemini", False), ("openrouter", False), ("anthropic", True)])
def test_the_billing_line_reaches_only_anthropic(provider, kept):
    params = cp.to_openai_request(claude_code_turn("a1f", [{"role": "user", "content": "hi"}], cch="77"),
                                  f"{provider}/m", cp.provider_for(provider), session="s1")
    assert ("x-anthropic-billing-header" in json.dumps(params)) is kept
    assert params["messages"][0]["content"].startswith("x-anthropic" if kept else "You are Claude Code")


def test_provider_requests_are_byte_stable_across_sessions_subagents_and_cch():
    """Two sessions, a subagent, and a new cch= each request: the same bytes up to the first message of their own."""
    first = [{"role": "user", "content": "hi"}]
    bodies = [claude_code_turn("a1f", first, cch="1"), claude_code_turn("b2e", first, cch="2"),
              claude_code_turn("c3d", first, subagent=True, cch="3")]
    for provider in ("openai", "groq", "deepseek", "moonshot"):
        quirks = cp.provider_for(provider)
        sent = [cp.to_direct_request(cp.to_openai_request(b, f"{provider}/m", quirks), quirks, {}) for b in bodies]
        assert len({json.dumps(s) for s in sent}) == 1, provider


@pytest.mark.parametrize("provider, session, key", [
    ("openai", "5c0d-session", cp.hashed_user("5c0d-session")),
    ("openai", "", None),  # no session id: no key
    ("groq", "5c0d-session", None), ("deepseek", "5c0d-session", None), ("moonshot", "5c0d-session", None),
    ("gemini", "5c0d-session", None), ("anthropic", "5c0d-session", None),
])
def test_prompt_cache_key_only_where_the_provider_takes_it(provider, session, key):
    params = cp.to_openai_request(BASIC, f"{provider}/m", cp.provider_for(provider), session=session)
    assert params.get("prompt_cache_key") == key
    assert [name for name, quirks in cp.PROVIDERS.items() if quirks.prompt_cache_key] == ["openai"]


# Each provider's usage with 100 prompt tokens of which 60 came from its cache, as it reports them.
PROVIDER_USAGE = [
    ("openai", {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 60},
                "completion_tokens_details": {"reasoning_tokens": 3}}, (40, 60, 0, 7)),
    ("groq", {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 60}}, (40, 60, 0, 7)),
    ("deepseek", {"prompt_tokens": 100, "completion_tokens": 7, "prompt_cache_hit_tokens": 60,
                  "prompt_cache_miss_tokens": 40}, (40, 60, 0, 7)),
    ("deepseek without prompt_tokens", {"completion_tokens": 7, "prompt_cache_hit_tokens": 60,
                                        "prompt_cache_miss_tokens": 40}, (40, 60, 0, 7)),
    ("moonshot", {"prompt_tokens": 100, "completion_tokens": 7, "cached_tokens": 60}, (40, 60, 0, 7)),
    ("gemini through litellm", {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {
        "cached_tokens": 60, "text_tokens": 40}, "completion_tokens_details": {"reasoning_tokens": 2}}, (40, 60, 0, 7)),
    ("anthropic through litellm", {"prompt_tokens": 100, "completion_tokens": 7, "cache_read_input_tokens": 60,
                                   "cache_creation_input_tokens": 30, "prompt_tokens_details": {"cached_tokens": 60}},
     (10, 60, 30, 7)),
    ("no cache", {"prompt_tokens": 100, "completion_tokens": 7}, (100, 0, 0, 7)),
    ("no usage", None, (0, 0, 0, 0)),
]


@pytest.mark.parametrize("provider, usage, expected", PROVIDER_USAGE, ids=[row[0] for row in PROVIDER_USAGE])
def test_usage_of_maps_each_providers_cached_tokens(provider, usage, expected):
    mapped = cp.usage_of(usage)
    assert (mapped["input_tokens"], mapped["cache_read_input_tokens"], mapped["cache_creation_input_tokens"],
            mapped["output_tokens"]) == expected


def test_litellm_reports_geminis_cached_tokens_where_usage_of_reads_them():
    """litellm's own Usage, as it builds it for Gemini (cachedContentTokenCount) and DeepSeek, seen through as_dict."""
    litellm = cp.load_litellm()
    for usage in (litellm.Usage(prompt_tokens=100, completion_tokens=7,
                                prompt_tokens_details={"cached_tokens": 60}),
                  litellm.Usage(prompt_tokens=100, completion_tokens=7, prompt_cache_hit_tokens=60)):
        mapped = cp.usage_of(cp.as_dict(usage))
        assert (mapped["input_tokens"], mapped["cache_read_input_tokens"]) == (40, 60)


GPT_41 = cp.Prices(2e-06, 8e-06, 5e-07)


@pytest.mark.parametrize("usage, reasoning, prices, expected", [
    ((1000, 3000, 0, 100), 0, GPT_41, 1000 * 2e-06 + 3000 * 5e-07 + 100 * 8e-06),
    ((1000, 3000, 0, 100), 0, cp.Prices(2e-06, 8e-06), 4000 * 2e-06 + 100 * 8e-06),  # no cached price: input's
    ((1000, 0, 0, 100), 40, GPT_41, 1000 * 2e-06 + 100 * 8e-06),  # reasoning inside output, never twice
    ((1000, 0, 0, 100), 40, cp.Prices(1e-06, 2e-06, None, None, 3e-06), 1000 * 1e-06 + 60 * 2e-06 + 40 * 3e-06),
    ((10, 60, 30, 7), 0, cp.Prices(3e-06, 1.5e-05, 3e-07, 3.75e-06), 10 * 3e-06 + 60 * 3e-07 + 30 * 3.75e-06 + 7 * 1.5e-05),
    ((0, 0, 0, 0), 0, GPT_41, 0.0),
])
def test_cost_of(usage, reasoning, prices, expected):
    fields = dict(zip(("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"), usage))
    assert cp.cost_of(fields, reasoning, prices) == pytest.approx(expected)


def test_model_prices_from_litellms_map_and_model_prices():
    entry = cp._load_model_map()["gpt-4.1"]
    expected = (entry["input_cost_per_token"], entry["output_cost_per_token"], entry["cache_read_input_token_cost"])
    assert cp.model_prices("openai/gpt-4.1", cp.model_facts("openai/gpt-4.1"), cp.Config())[:3] == expected
    assert cp.model_prices("groq/moonshotai/kimi-k2-instruct", cp.model_facts("groq/moonshotai/kimi-k2-instruct"),
                           cp.Config()) is None  # the map does not price it
    config = cp.Config.from_env({"MODEL_PRICES": "groq/moonshotai/kimi-k2-instruct=1.0/3.0/0.5,openai/gpt-4.1=1/2"})
    assert cp.model_prices("groq/moonshotai/kimi-k2-instruct", {}, config) == cp.Prices(1e-06, 3e-06, 5e-07)
    assert cp.model_prices("openai/gpt-4.1", cp.model_facts("openai/gpt-4.1"), config) == cp.Prices(1e-06, 2e-06)


@pytest.mark.parametrize("text", ["groq/a", "groq/a=1", "groq/a=1/2/3/4", "groq/a=x/2", "=1/2", "groq/a=-1/2",
                                  "groq/a=1/inf", "groq/a=1/2,b"])
def test_malformed_model_prices_name_the_variable(text):
    with pytest.raises(cp.ConfigError, match=r"^MODEL_PRICES=.* is not a valid list of MODEL=IN/OUT\[/CACHED\] prices"):
        cp.Config.from_env({"MODEL_PRICES": text})
    problems: list = []
    assert cp.Config.from_env({"MODEL_PRICES": text}, problems).model_prices == () and len(problems) == 1
    assert problems[0].startswith("MODEL_PRICES=") and problems[0].endswith("using the default, none")


@pytest.mark.parametrize("amount, shown", [(0.0123, "$0.0123"), (1.5, "$1.5000"), (0.0000321, "$0.000032"), (0, "$0.0000")])
def test_dollars(amount, shown):
    assert cp.dollars(amount) == shown


def test_request_line_shows_cached_tokens_and_cost():
    fields = {"method": "POST", "path": "/v1/messages", "status": 200, "model": "claude-opus-4-8",
              "target": "openai/gpt-4.1", "mode": "stream", "via": "direct", "input_tokens": 5210, "output_tokens": 87,
              "cached_tokens": 4096, "cost_usd": 0.00502, "ttft_ms": 412, "ms": 1630}
    assert cp.request_line(fields) == ("POST /v1/messages 200 claude-opus-4-8 -> openai/gpt-4.1 stream via=direct "
                                       "in=5210 out=87 cached=4096 cost=$0.0050 ttft=412ms 1630ms")
    del fields["cached_tokens"], fields["cost_usd"]
    assert "cached=" not in cp.request_line(fields) and "cost=" not in cp.request_line(fields)


def usage_fields(target="openai/gpt-4.1", cost=0.01, cached=100):
    return {"model": "claude-sonnet-4-6", "target": target, "via": "direct", "input_tokens": 1000, "cached_tokens": cached,
            "output_tokens": 10, **({"cost_usd": cost} if cost is not None else {})}


def test_usage_book_counts_per_session_bounded_and_thread_safe(tmp_path):
    book = cp.UsageBook(str(tmp_path / "usage.jsonl"), limit=3)
    threads = [threading.Thread(target=lambda n=n: [book.record(usage_fields(), cp.Caller(f"s{n % 2}", subagent=n == 0))
                                                    for _ in range(50)]) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    book.record({"model": "x"}, cp.Caller("s0"))  # no answer: not counted
    book.record(usage_fields("groq/unpriced", cost=None), cp.Caller(""))
    usage = book.snapshot()
    assert usage["totals"] == {"requests": 201, "input_tokens": 201 * 900, "cached_tokens": 201 * 100,
                               "output_tokens": 2010, "cost_usd": 2.0, "unpriced_requests": 1, "sessions": 3}
    assert usage["sessions"]["s0"]["requests"] == 100 and usage["sessions"]["s0"]["subagent_requests"] == 50
    assert usage["sessions"]["s1"]["models"] == {"openai/gpt-4.1": 100}
    assert usage["sessions"]["(none)"]["unpriced_requests"] == 1
    for n in range(3):
        book.record(usage_fields(), cp.Caller(f"new{n}"))
    assert list(book.snapshot()["sessions"]) == ["new0", "new1", "new2"]  # the sessions seen longest ago went first
    lines = [json.loads(line) for line in (tmp_path / "usage.jsonl").read_text().splitlines()]
    assert len(lines) == 204 and set(lines[0]) == {"time", "session", "subagent", "model", "target", "via",
                                                    "input_tokens", "cached_tokens", "output_tokens", "cost_usd"}
    assert book.summary() == ("served 204 request(s) in 3 session(s): input 183600, cached 20400, output 2040 tokens, "
                              "cost $2.0300 (and 1 without a price)")


class PrefixCache:
    """A provider's prompt cache as OpenAI documents it: prompts of 1024 tokens or more are cached by prefix, in
    128-token steps, and a request reads the longest cached prefix of its own, reported as
    prompt_tokens_details.cached_tokens. A token is four characters of the prompt: the tools, then the messages, as
    JSON. A responder for the fake; `keys` records each request's prompt_cache_key."""

    MINIMUM, STEP = 1024, 128

    def __init__(self):
        self.prefixes, self.keys, self.lock = set(), [], threading.Lock()

    def __call__(self, body):
        prompt = json.dumps([body.get("tools") or [], body["messages"]], ensure_ascii=False)
        tokens = len(prompt) // 4
        steps = [n for n in range(self.MINIMUM, tokens + 1, self.STEP)]
        with self.lock:
            self.keys.append(body.get("prompt_cache_key"))
            cached = max([n for n in steps if hash(prompt[:4 * n]) in self.prefixes] or [0])
            self.prefixes.update(hash(prompt[:4 * n]) for n in steps)
        return dict(text_reply("Done."), usage={"prompt_tokens": tokens, "completion_tokens": 5, "total_tokens": tokens + 5,
                                               "prompt_tokens_details": {"cached_tokens": cached}})


@pytest.fixture
def usage_as_reported(monkeypatch):
    """The fakes send a reply's "usage" as it is when it is a dict (a provider's own usage object)."""
    plain = usage_dict
    monkeypatch.setattr(sys.modules[__name__], "usage_dict", lambda usage: usage if isinstance(usage, dict) else plain(usage))


def cached_share(answer: dict) -> float:
    usage = answer["usage"]
    return usage["cache_read_input_tokens"] / (usage["input_tokens"] + usage["cache_read_input_tokens"])


def test_two_sessions_and_a_subagent_share_the_cached_prefix(start_proxy, fake, usage_as_reported):
    server = start_proxy()
    cache = fake.responder = PrefixCache()
    turn = lambda text: [{"role": "user", "content": text}]

    def send(session, billing_hash, messages, subagent=False, stream=False):
        headers = {"X-Claude-Code-Session-Id": session, **({"x-claude-code-agent-id": "a1b2c3d4e5f60718"} if subagent else {})}
        body = claude_code_turn(billing_hash, messages, subagent=subagent, cch=str(len(cache.keys)), stream=stream)
        status, _, data = raw(server, "POST", "/v1/messages", body, headers)
        assert status == 200, data
        return cp.fold_events(parse_sse(data)) if stream else json.loads(data)

    first = send("session-a", "a1f", turn("Fix the failing test."))
    assert cached_share(first) == 0  # nothing cached yet
    history = turn("Fix the failing test.") + [{"role": "assistant", "content": "Done."}, *turn("Now run it.")]
    assert cached_share(send("session-a", "a1f", history, stream=True)) >= 0.9
    other = send("session-b", "b2e", turn("Explain this repository."))
    assert cached_share(other) >= 0.8  # another session's first turn: the same system prompt and tools
    later = turn("Explain this repository.") + [{"role": "assistant", "content": "Done."}, *turn("And its tests?")]
    assert cached_share(send("session-b", "b2e", later, stream=True)) >= 0.9
    assert cached_share(send("session-a", "c3d", turn("Search for TODOs."), subagent=True)) >= 0.8
    assert other["usage"]["input_tokens"] + other["usage"]["cache_read_input_tokens"] >= 4000  # a Claude Code sized prefix
    a, b = cp.hashed_user("session-a"), cp.hashed_user("session-b")
    assert cache.keys == [a, a, b, b, a]  # one cache key per session, the subagent's its session's
    assert not any("x-anthropic-billing-header" in json.dumps(body) for _, _, body in fake.received)


@pytest.mark.parametrize("model", ["openai/gpt-4.1", "groq/llama-3.3-70b-versatile", "deepseek/deepseek-chat",
                                   "moonshot/kimi-k2-0711-preview", "gemini/gemini-2.5-flash"])
def test_no_provider_request_carries_the_billing_line(proxy, fake, gemini, model):
    body = dict(claude_code_turn("a1f", [{"role": "user", "content": "hi"}], cch="42", tools=TOOLS), model=model)
    status, _, data = raw(proxy, "POST", "/v1/messages", body)
    assert status == 200, data
    received = (gemini if model.startswith("gemini/") else fake).received
    assert received and all("x-anthropic-billing-header" not in json.dumps(b) and "cch=" not in json.dumps(b)
                            for _, _, b in received)
    assert "You are Claude Code" in json.dumps(received[-1][2])


def test_gemini_cached_tokens_through_litellm(proxy, gemini, monkeypatch):
    """Gemini's cachedContentTokenCount, as litellm reports it, becomes cache_read_input_tokens."""
    plain = usage_metadata
    monkeypatch.setattr(sys.modules[__name__], "usage_metadata", lambda reply: dict(plain(reply), cachedContentTokenCount=8))
    for stream in (False, True):
        status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, model="gemini/gemini-2.5-flash", stream=stream))
        answer = cp.fold_events(parse_sse(data)) if stream else json.loads(data)
        assert status == 200 and (answer["usage"]["input_tokens"], answer["usage"]["cache_read_input_tokens"]) == (3, 8)


class RawChunk:  # what litellm's stream wrapper keeps in `chunks`: objects with a usage attribute (or None)
    def __init__(self, usage):
        self.usage = usage


@pytest.mark.parametrize("chunks, usage, expected", [
    ([RawChunk(None), RawChunk({"prompt_tokens": 2000, "cached_tokens": 1536})], {"prompt_tokens": 2000},
     {"prompt_tokens": 2000, "cached_tokens": 1536}),  # Moonshot's count, lost by the wrapper
    ([RawChunk({"prompt_tokens": 2000, "cached_tokens": 1536})], {"prompt_tokens": 2000, "prompt_tokens_details": {"cached_tokens": 1536}},
     None),  # litellm kept it
    ([RawChunk({"prompt_tokens": 2000})], {"prompt_tokens": 2000}, None),  # nothing was cached
    ([], None, None),
    (None, None, None),  # a wrapper without `chunks`
])
def test_usage_litellm_dropped(chunks, usage, expected):
    stream = type("Stream", (), {"chunks": chunks})() if chunks is not None else object()
    assert cp.usage_litellm_dropped(stream, usage) == expected


@pytest.mark.parametrize("provider, usage", [
    ("/deepseek/v1", {"prompt_tokens": 2000, "completion_tokens": 5, "prompt_cache_hit_tokens": 1536,
                      "prompt_cache_miss_tokens": 464}),
    ("/moonshot/v1", {"prompt_tokens": 2000, "completion_tokens": 5, "cached_tokens": 1536}),
    ("/groq/v1", {"prompt_tokens": 2000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 1536}}),
])
def test_each_providers_cached_tokens_reach_the_client(proxy, fake, usage_as_reported, provider, usage):
    model = {"/deepseek/v1": "deepseek/deepseek-chat", "/moonshot/v1": "moonshot/kimi-k2-0711-preview",
             "/groq/v1": "groq/llama-3.3-70b-versatile"}[provider]
    fake.replies = [dict(text_reply(), usage=usage)]
    # litellm's stream wrapper rebuilds usage without Moonshot's top-level cached_tokens: taken from its raw chunks
    for stream in (False, True):
        status, _, data = raw(proxy, "POST", "/v1/messages", dict(BASIC, model=model, stream=stream))
        answer = cp.fold_events(parse_sse(data)) if stream else json.loads(data)
        assert status == 200 and (answer["usage"]["input_tokens"], answer["usage"]["cache_read_input_tokens"]) == (464, 1536)
    assert fake.received[-1][0].startswith(provider)


def test_cost_of_each_request_in_the_log_line_and_the_json_log(start_proxy, fake, proxy_log, usage_as_reported):
    server = start_proxy()
    fake.replies = [dict(text_reply(), usage={"prompt_tokens": 3000, "completion_tokens": 40,
                                              "prompt_tokens_details": {"cached_tokens": 2048}})]
    entry = cp._load_model_map()["gpt-4.1"]  # openai/gpt-4.1, BIG_MODEL, at the map's prices
    expected = (952 * entry["input_cost_per_token"] + 2048 * entry["cache_read_input_token_cost"]
                + 40 * entry["output_cost_per_token"])
    for stream in (False, True):
        assert raw(server, "POST", "/v1/messages", dict(BASIC, stream=stream))[0] == 200
    for record in proxy_log.wait(2):
        assert record.fields["cost_usd"] == pytest.approx(expected) and record.fields["cached_tokens"] == 2048
        assert f"in=3000 out=40 cached=2048 cost={cp.dollars(expected)} " in record.getMessage()
        assert json.loads(cp.JsonLogFormatter().format(record))["cost_usd"] == pytest.approx(expected)


def test_a_model_without_a_price_is_named_once_and_model_prices_fills_the_gap(start_proxy, fake, proxy_log, monkeypatch):
    monkeypatch.setattr(cp, "_told_no_price", set())
    server = start_proxy()
    small = dict(BASIC, model="claude-haiku-4-5")  # SMALL_MODEL, groq/llama-3.1-8b-instant: not in the map's prices
    for _ in range(2):
        assert raw(server, "POST", "/v1/messages", small)[0] == 200
    lines = proxy_log.wait(2)
    assert all("cost_usd" not in r.fields and "cost=" not in r.getMessage() for r in lines)
    warnings = [r.getMessage() for r in proxy_log.records if "no price" in r.getMessage()]
    assert warnings == ["litellm's model map has no price for groq/llama-3.1-8b-instant: its requests show no cost; "
                        "set MODEL_PRICES=groq/llama-3.1-8b-instant=IN/OUT (USD per million input and output tokens)"]
    priced = start_proxy(MODEL_PRICES="groq/llama-3.1-8b-instant=0.05/0.08")
    assert raw(priced, "POST", "/v1/messages", small)[0] == 200
    assert proxy_log.wait(3)[-1].fields["cost_usd"] == pytest.approx(11 * 0.05e-6 + 5 * 0.08e-6)


def test_proxy_usage_end_to_end(start_proxy, fake, tmp_path):
    usage_log = tmp_path / "usage.jsonl"
    server = start_proxy(PROXY_API_KEY="proxy-key-for-usage", USAGE_LOG=str(usage_log))
    key = {"x-api-key": "proxy-key-for-usage"}
    secret_prompt = "my secret prompt text"
    for headers, model in (({"X-Claude-Code-Session-Id": "s-1"}, "claude-sonnet-4-6"),
                           ({"X-Claude-Code-Session-Id": "s-1", "x-claude-code-agent-id": "a1b2"}, "claude-haiku-4-5"),
                           ({"X-Claude-Code-Session-Id": "s-2"}, "claude-sonnet-4-6")):
        body = dict(BASIC, model=model, stream=True, messages=[{"role": "user", "content": secret_prompt}])
        assert raw(server, "POST", "/v1/messages", body, dict(key, **headers))[0] == 200
    assert raw(server, "GET", "/proxy/usage")[0] == 401  # behind PROXY_API_KEY, as /v1/ is
    status, headers, data = raw(server, "GET", "/proxy/usage", headers=key)
    usage = json.loads(data)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert usage["totals"]["requests"] == 3 and usage["totals"]["sessions"] == 2
    assert usage["totals"]["input_tokens"] == 33 and usage["totals"]["output_tokens"] == 15
    one = usage["sessions"]["s-1"]
    assert one["requests"] == 2 and one["subagent_requests"] == 1 and one["unpriced_requests"] == 1
    assert one["models"] == {"openai/gpt-4.1": 1, "groq/llama-3.1-8b-instant": 1}
    assert one["cost_usd"] == pytest.approx(11 * 2e-06 + 5 * 8e-06) and one["first_seen"] <= one["last_seen"]
    assert usage["sessions"]["s-2"]["requests"] == 1
    text = usage_log.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [(line["session"], line["subagent"], line["target"]) for line in lines] == [
        ("s-1", False, "openai/gpt-4.1"), ("s-1", True, "groq/llama-3.1-8b-instant"), ("s-2", False, "openai/gpt-4.1")]
    assert lines[0]["via"] in ("direct", "litellm") and lines[0]["cost_usd"] == pytest.approx(11 * 2e-06 + 5 * 8e-06)
    assert secret_prompt not in text and "proxy-key-for-usage" not in text and "sk-test" not in text


def test_a_fallbacks_answer_counts_under_the_model_that_gave_it(start_proxy, fake, proxy_log, tmp_path):
    """The routed model refuses (429), FALLBACK_MODELS answers: /proxy/usage and USAGE_LOG count the
    fallback's model (priced, or not, as that model is); the log line still says where it was routed."""
    usage_log = tmp_path / "usage.jsonl"
    server = start_proxy(FALLBACK_MODELS="groq/llama-3.1-8b-instant", USAGE_LOG=str(usage_log))
    fake.replies = [{"status": 429, "headers": {"retry-after": "1"}, "body": {"error": {"message": "busy", "type": "x"}}},
                    text_reply()]
    body = dict(BASIC, model="claude-sonnet-4-6-fallbackusage")
    assert raw(server, "POST", "/v1/messages", body, {"X-Claude-Code-Session-Id": "s-fb"})[0] == 200
    session = json.loads(raw(server, "GET", "/proxy/usage?session=s-fb")[2])["sessions"]["s-fb"]
    assert session["models"] == {"groq/llama-3.1-8b-instant": 1} and session["unpriced_requests"] == 1  # the map prices no such groq model
    assert json.loads(usage_log.read_text())["target"] == "groq/llama-3.1-8b-instant"
    line = proxy_log.wait(1, "fallbackusage")[-1].getMessage()
    assert "-> openai/gpt-4.1" in line and "(fallback groq/llama-3.1-8b-instant after 429)" in line


def test_the_proxy_prints_what_it_served_when_it_stops(fake, tmp_path):
    with proxy_process(fake, tmp_path) as (process, port):
        target = type("P", (), {"server_address": ("127.0.0.1", port)})
        assert raw(target, "POST", "/v1/messages", BASIC, {"X-Claude-Code-Session-Id": "s-1"})[0] == 200
        process.terminate()
        assert process.wait(timeout=TIMEOUT) == 0
        output = process.stdout.read()
    assert f"claude_proxy served 1 request(s) in 1 session(s): input 11, cached 0, output 5 tokens, cost " \
           f"{cp.dollars(11 * 2e-06 + 5 * 8e-06)}" in output


def test_system_entries_keep_a_one_prompt_providers_prefix_stable(client, gemini):
    """Claude Code adds system entries as a session goes on; Gemini takes one system prompt. Each
    turn's request begins with the previous one's: the same system_instruction and tools, then
    the same contents, so Gemini's implicit cache can serve the whole of it."""
    tools = [{"name": "Bash", "description": "run", "input_schema": {"type": "object", "properties": {"c": {"type": "string"}}}}]
    history = [{"role": "user", "content": "hi"}, {"role": "system", "content": "Note one."}]
    sent = []
    for turn in range(3):
        answer = client.messages.create(**dict(BASIC, model="gemini/gemini-2.5-flash", tools=tools, system="Be brief.",
                                               messages=history))
        sent.append(gemini.received[-1][2])
        history = history + [{"role": "assistant", "content": [b.model_dump() for b in answer.content]},
                             {"role": "user", "content": f"turn {turn}"}, {"role": "system", "content": f"Note {turn}."}]
    for before, after in zip(sent, sent[1:]):  # each path names the fields its own way (google_field)
        assert google_field(after, "systemInstruction") == google_field(before, "systemInstruction")
        assert after["tools"] == before["tools"] and after["contents"][:len(before["contents"])] == before["contents"]
    assert "Note 1." in json.dumps(sent[-1]["contents"][-1])
    assert "Note" not in json.dumps(google_field(sent[-1], "systemInstruction"))


STATUS = {"session_id": "s-1", "model": {"id": "claude-opus-5-5", "display_name": "Opus 5.5"}}


@pytest.mark.parametrize("usage, expected", [
    (None, "Opus 5.5 | claude_proxy not answering at http://127.0.0.1:9"),
    ({"route": "groq/moonshotai/kimi-k2", "sessions": {}}, "kimi-k2 via groq | $0.00"),  # no request yet
    ({"route": "groq/moonshotai/kimi-k2", "sessions": {"s-1": {"requests": 4, "unpriced_requests": 0, "cost_usd": 0.4213,
                                                               "input_tokens": 1300, "cached_tokens": 8700}}},
     "kimi-k2 via groq | $0.4213 | cache 87%"),
    ({"route": "openai/gpt-4.1", "sessions": {"s-1": {"requests": 1, "unpriced_requests": 1, "cost_usd": 0,
                                                      "input_tokens": 0, "cached_tokens": 0}}},
     "gpt-4.1 via openai | no price"),
    ({"sessions": {"s-1": {"requests": 2, "unpriced_requests": 1, "cost_usd": 0.000031, "input_tokens": 10,
                           "cached_tokens": 0}}}, "Opus 5.5 | $0.000031 | cache 0%"),  # a model it would refuse: no route
])
def test_status_text(usage, expected):
    assert cp.status_text(STATUS, usage, "http://127.0.0.1:9") == expected


def test_status_text_takes_what_claude_code_may_leave_out():
    assert cp.status_text({}, None, "x") == "Claude | claude_proxy not answering at x"
    assert cp.status_text({"model": "odd", "session_id": 5}, {"sessions": None}, "x") == "Claude | $0.00"


@pytest.mark.parametrize("command, files, expected", [
    (["claude", "-c"], {}, "settings"),
    (["/opt/bin/claude"], {}, "settings"),
    (["claude", "--settings", "my.json"], {}, "unchanged"),
    (["claude", "--settings=my.json"], {}, "unchanged"),
    (["python3", "client.py"], {}, "unchanged"),  # not Claude Code
    (["claude"], {"config/settings.json": {"statusLine": {"type": "command", "command": "mine"}}}, "unchanged"),
    (["claude"], {"work/.claude/settings.json": {"statusLine": {"type": "command", "command": "mine"}}}, "unchanged"),
    (["claude"], {"work/.claude/settings.local.json": {"statusLine": {}}}, "unchanged"),
    (["claude"], {"config/settings.json": {"model": "opus"}}, "settings"),  # settings, but no status line of their own
])
def test_the_launcher_turns_the_status_line_on_unless_the_user_has_one(tmp_path, command, files, expected):
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(content))
    (tmp_path / "work").mkdir(exist_ok=True)
    launched = cp.statusline_settings(command, str(tmp_path / "work"), {"CLAUDE_CONFIG_DIR": str(tmp_path / "config")})
    if expected == "unchanged":
        assert launched == command
        return
    assert launched[0] == command[0] and launched[1] == "--settings" and launched[3:] == command[1:]
    line = json.loads(launched[2])["statusLine"]
    assert line["type"] == "command" and shlex.split(line["command"]) == [sys.executable, cp.__file__, "statusline"]


def run_statusline(base: str, status, **env) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "ANTHROPIC_BASE_URL": base, **env}
    return subprocess.run([sys.executable, cp.__file__, "statusline"], input=json.dumps(status) if isinstance(status, dict)
                          else status, env=env, capture_output=True, text=True, timeout=3 * TIMEOUT)


def test_statusline_end_to_end(start_proxy, fake, usage_as_reported):
    """A session's requests, then `claude_proxy.py statusline` with Claude Code's status JSON: the
    routed model, the session's cost and cache share; behind PROXY_API_KEY with the client's key."""
    server = start_proxy(PROXY_API_KEY="proxy-key-for-status")
    base = f"http://127.0.0.1:{server.server_address[1]}"
    fake.replies = [{"deltas": [{"content": "Hi"}], "finish": "stop",
                     "usage": {"prompt_tokens": 10000, "completion_tokens": 100, "total_tokens": 10100,
                               "prompt_tokens_details": {"cached_tokens": 8704}}}]
    headers = {"x-api-key": "proxy-key-for-status", "X-Claude-Code-Session-Id": "s-1"}
    for stream in (True, False):
        assert raw(server, "POST", "/v1/messages", dict(BASIC, model="claude-opus-5-5", stream=stream), headers)[0] == 200
    run = run_statusline(base, STATUS, ANTHROPIC_API_KEY="proxy-key-for-status")
    assert run.returncode == 0 and run.stderr == ""
    cost = 2 * (1296 * 2e-06 + 8704 * 5e-07 + 100 * 8e-06)  # gpt-4.1 at litellm's prices: input, cached input, output
    assert run.stdout == f"gpt-4.1 via openai | {cp.dollars(cost)} | cache 87%\n"
    other = run_statusline(base, dict(STATUS, session_id="s-new"), ANTHROPIC_API_KEY="proxy-key-for-status")
    assert other.stdout == "gpt-4.1 via openai | $0.00\n"
    refused = run_statusline(base, STATUS, ANTHROPIC_API_KEY="wrong-key")  # the proxy says 401: said, not a traceback
    assert refused.returncode == 0 and refused.stdout == f"Opus 5.5 | claude_proxy not answering at {base}\n"


@pytest.mark.parametrize("status", [STATUS, "not json", ""])
def test_statusline_when_the_proxy_is_down(status):
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{unused.getsockname()[1]}"
    run = run_statusline(base, status)
    assert run.returncode == 0 and "Traceback" not in run.stderr
    name = "Opus 5.5" if isinstance(status, dict) else "Claude"
    assert run.stdout == f"{name} | claude_proxy not answering at {base}\n"


@needs_claude
def test_the_launched_real_cli_shows_the_status_line(fake, tmp_path):
    """Interactive Claude Code (in a pseudo-terminal) launched through the proxy runs its status
    line, which shows the routed model and the session's cost once the answer is in."""
    import pty
    import select as select_module

    fake.replies = [{"deltas": [{"content": "Hello from the status test."}], "finish": "stop", "usage": (40000, 1000)}]
    home = tmp_path / "home"
    home.mkdir()
    # what a first interactive run asks (theme, trust of the folder, the custom key) answered beforehand
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "customApiKeyResponses": {"approved": ["claude-proxy"]},
        "projects": {str(home): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}}}))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TERM": "xterm-256color", "DISABLE_TELEMETRY": "1",
           "DISABLE_ERROR_REPORTING": "1", "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", **proxy_env(fake.url)}
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the launcher, in the terminal
        os.chdir(home)
        os.execve(sys.executable, [sys.executable, cp.__file__, "--", CLAUDE, "Say hello"], env)
    cost = cp.dollars(40000 * 2e-06 + 1000 * 8e-06)  # "$0.0880"
    seen, until = b"", time.monotonic() + 120
    try:
        while b"| cache 0%" not in seen and time.monotonic() < until:  # the line once the answer is counted
            if select_module.select([terminal], [], [], 1)[0]:
                try:
                    seen += os.read(terminal, 65536)
                except OSError:  # the terminal closed: Claude Code ended
                    break
    finally:
        os.killpg(pid, signal.SIGKILL)  # the child leads its session: Claude Code and the proxy go with it
        os.waitpid(pid, 0)
        os.close(terminal)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode("utf-8", "replace"))
    assert "Hellofromthestatustest." in re.sub(r"\s", "", text)  # the terminal's cursor moves stand for some spaces
    # Claude Code redraws only what changed: "$0.00" (before the answer) became "$0.0880 | cache 0%"
    assert "gpt-4.1 via openai | $0.0" in text and f"{cost[-3:]} | cache 0%" in text, text[-2000:]


# ----------------------------------------------------------------------------------------
# ---- Claude Code integration: subagents, the model picker, effort, ids ----
# ----------------------------------------------------------------------------------------


PICKING = {"BIG_MODEL": "gpt-4.1", "SMALL_MODEL": "groq/llama-3.1-8b-instant", "THINK_MODEL": "openai/o3",
           "VISION_MODEL": "openai/gpt-4o", "LONG_CONTEXT_MODEL": "gemini/gemini-2.5-pro", "LONG_CONTEXT_THRESHOLD": "100000",
           "SUBAGENT_MODEL": "deepseek/deepseek-chat", "EXTRA_MODELS": "groq/moonshotai/kimi-k2-instruct, ollama_chat/qwen3:8b"}

# (requested, (thinking, images, input tokens, subagent), expected target) under PICKING
CLAUDE_CODE_ROUTES = [
    ("claude-opus-5-5", (True, False, 10, True), "deepseek/deepseek-chat"),  # a subagent: before THINK_MODEL
    ("claude-haiku-5-5", (False, False, 10, True), "deepseek/deepseek-chat"),
    ("claude-opus-5-5", (True, False, 10, False), "openai/o3"),
    ("claude-opus-5-5", (False, True, 10, True), "openai/gpt-4o"),  # images still need VISION_MODEL
    ("claude-opus-5-5", (False, False, 100001, True), "gemini/gemini-2.5-pro"),  # and a long input LONG_CONTEXT_MODEL
    ("groq/llama-3.3-70b-versatile", (True, False, 10, True), "groq/llama-3.3-70b-versatile"),  # explicit wins
    ("gpt-4o-mini", (False, False, 10, True), "openai/gpt-4o-mini"),  # not a Claude name
    ("claude-via-groq--moonshotai--kimi-k2-instruct", (True, True, 100001, True), "groq/moonshotai/kimi-k2-instruct"),
    ("claude-via-openai--gpt-4.1[1m]", (True, False, 10, False), "openai/gpt-4.1"),
    ("claude-via-openai--gpt-4.1", (False, False, 10, False), "openai/gpt-4.1"),
    ("claude-via-ollama_chat--qwen3:8b", (False, False, 10, False), "ollama_chat/qwen3:8b"),
    ("claude-via-gpt-4.1-mini", (False, False, 10, False), "openai/gpt-4.1-mini"),  # a bare target, qualified
    ("claude-opus-4-8[1m]", (False, False, 10, False), "openai/gpt-4.1"),
    ("claude-haiku-5-5[1M]", (False, False, 10, False), "groq/llama-3.1-8b-instant"),
    ("claude-via-", (False, False, 10, False), "openai/gpt-4.1"),  # no target named: a Claude name
]


PICKING_PROVIDERS = PROVIDER_NAMES | {"deepseek", "ollama_chat"}


@pytest.mark.parametrize("requested, needs, expected", CLAUDE_CODE_ROUTES)
def test_route_model_for_claude_code(requested, needs, expected):
    thinking, images, tokens, subagent = needs
    assert cp.route_model(requested, cp.Config.from_env(PICKING), PICKING_PROVIDERS, thinking=thinking, images=images,
                          input_tokens=tokens, subagent=subagent) == expected


@pytest.mark.parametrize("target, expected", [
    ("groq/moonshotai/kimi-k2-instruct", "claude-via-groq--moonshotai--kimi-k2-instruct"),
    ("openai/gpt-4.1", "claude-via-openai--gpt-4.1[1m]"),  # litellm's map: 1,047,576 tokens
    ("ollama_chat/qwen3:8b", "claude-via-ollama_chat--qwen3:8b"),
    ("groq/llama-3.1-8b-instant", "claude-via-groq--llama-3.1-8b-instant"),
])
def test_picker_ids_name_their_target_and_read_back(target, expected):
    config = cp.Config.from_env(PICKING)
    assert cp.picker_id(target) == expected and "claude" in expected
    assert cp.route_model(expected, config, PICKING_PROVIDERS) == target
    assert cp.picked_target(cp.WINDOW_SUFFIX.sub("", expected), config, PICKING_PROVIDERS) == target


def test_picker_id_of_a_target_with_a_double_dash_is_found_among_the_offered():
    config = cp.Config.from_env(dict(PICKING, EXTRA_MODELS="openrouter/vendor/odd--name"))
    assert cp.route_model(cp.picker_id("openrouter/vendor/odd--name"), config, PROVIDER_NAMES) == "openrouter/vendor/odd--name"


def test_configured_targets_include_the_new_settings():
    names = [n for n, _ in cp.configured_targets(cp.Config.from_env(PICKING))]
    assert "SUBAGENT_MODEL" in names and names.count("EXTRA_MODELS") == 2
    assert cp.allowed_provider("ollama_chat", cp.Config.from_env(PICKING))  # offered: the operator configured it


# (effort, the efforts above "high" the target takes, expected reasoning_effort)
EFFORT_CASES = [
    ("low", (), "low"), ("medium", (), "medium"), ("high", (), "high"), (None, (), "high"), ("odd", (), "high"),
    ("xhigh", (), "high"), ("max", (), "high"),
    ("xhigh", ("xhigh",), "xhigh"), ("max", ("xhigh",), "xhigh"),
    ("xhigh", ("max",), "high"), ("max", ("max",), "max"),
    ("xhigh", ("xhigh", "max"), "xhigh"), ("max", ("xhigh", "max"), "max"),
    ("high", ("xhigh", "max"), "high"),
]


@pytest.mark.parametrize("effort, efforts, expected", EFFORT_CASES)
def test_reasoning_effort_reaches_the_top_the_target_takes(effort, efforts, expected):
    output_config = {"effort": effort} if effort else None
    assert cp.reasoning_effort({"type": "adaptive", "display": "omitted"}, output_config, efforts) == expected


@pytest.mark.parametrize("provider, facts, expected", [
    ("openai", {}, ()),
    ("openai", {"supports_reasoning": True, "supports_xhigh_reasoning_effort": True}, ("xhigh",)),
    ("openai", {"supports_xhigh_reasoning_effort": True, "supports_max_reasoning_effort": True}, ("xhigh", "max")),
    ("deepseek", {}, ("max",)),  # api-docs.deepseek.com/guides/thinking_mode: low, high, max
    ("moonshot", {"reasoning_effort_levels": ["low", "high", "max"]}, ("max",)),
    ("gemini", {"supports_reasoning": True}, ()),
    ("groq", {"reasoning_effort_levels": "max"}, ()),  # not a list: ignored
])
def test_efforts_of(provider, facts, expected):
    assert cp.efforts_of(cp.provider_for(provider), facts) == expected


@pytest.mark.parametrize("target, effort, expected", [
    ("openai/gpt-5.2", "max", "xhigh"), ("openai/gpt-5.2", "xhigh", "xhigh"), ("openai/o3", "max", "high"),
    ("deepseek/deepseek-v4-pro", "max", "max"), ("deepseek/deepseek-v4-pro", "xhigh", "high"),
])
def test_effort_in_the_translated_request(target, effort, expected):
    """With litellm's own map: what prepare_attempt sends for Claude Code's effort."""
    if not cp.model_facts(target).get("supports_reasoning"):
        pytest.skip(f"litellm's map here does not know {target} as a reasoning model")
    body = req([{"role": "user", "content": "hi"}], thinking={"type": "adaptive"}, output_config={"effort": effort})
    attempt = cp.prepare_attempt(body, target, cp.Config.from_env({}))
    assert attempt.params["reasoning_effort"] == expected


@pytest.mark.parametrize("tool_id", [
    "call_abc123", "functions.Bash:0", "", "call_1__thought__+/9mYWtlLXQ=", "__thought__abc=", "id with spaces/é",
    "call_\ud800", "toolu_01A09q90qw90lq917835lq9", "call_" + "x" * 300, "a__thought__" + "Q+/9" * 500 + "Q+==",
])
def test_client_tool_ids_carry_the_providers_and_read_back(tool_id):
    client_id = cp.client_tool_id(tool_id)
    assert re.fullmatch(r"toolu_[0-9a-f]{24}_[A-Za-z0-9_-]*", client_id), client_id
    assert cp.provider_tool_id(client_id) == tool_id
    assert cp.client_tool_id(tool_id) != client_id  # new for every call


@pytest.mark.parametrize("client_id", [
    "toolu_01A09q90qw90lq917835lq9", "toolu_0123456789abcdef01234567", "call_1", "toolu_0123456789abcdef01234567_ff",
    "toolu_0123456789abcdef01234567_abc", "",
])
def test_ids_that_carry_no_provider_id_pass_unchanged(client_id):
    """Anthropic's own, one made up for a call without an id, an id from before ids carried the
    provider's, and what is not valid hex or UTF-8: the provider gets them as they are."""
    assert cp.provider_tool_id(client_id) == client_id


def subagent_request(client, stream=False, header=True, **fields):
    """A subagent's turn as Claude Code 2.1.332 sends it: the agent header and the billing flag."""
    system = [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.a1f; cc_entrypoint=sdk-cli; cc_is_subagent=true;"},
              {"type": "text", "text": "You are an agent for Claude Code."}]
    headers = {"x-claude-code-agent-id": "0123456789abcdef0"} if header else {}
    body = dict(BASIC, model="claude-opus-5-5", system=system, **fields)
    if stream:
        with client.messages.stream(**body, extra_headers=headers) as s:
            return s.get_final_message()
    return client.messages.create(**body, extra_headers=headers)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_subagents_go_to_subagent_model(start_proxy, fake, proxy_log, stream):
    anthropic = pytest.importorskip("anthropic")
    server = start_proxy(SUBAGENT_MODEL="deepseek/deepseek-chat", THINK_MODEL="openai/o3-mini")
    client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0, timeout=TIMEOUT)
    for header in (True, False):  # the header, or only the billing line's flag
        assert subagent_request(client, stream, header, extra_body={"thinking": {"type": "adaptive"}}).content[0].text
        path, _, sent = fake.received[-1]
        assert path == "/deepseek/v1/chat/completions" and sent["model"] == "deepseek-chat"
    client.messages.create(**dict(BASIC, model="claude-opus-5-5", stream=stream), extra_body={"thinking": {"type": "adaptive"}})
    assert fake.received[-1][0] == "/v1/chat/completions" and fake.received[-1][2]["model"] == "o3-mini"  # the main loop
    lines = [r.getMessage() for r in proxy_log.wait(3, "claude-opus-5-5")]
    assert [" subagent " in line for line in lines] == [True, True, False], lines
    assert " -> deepseek/deepseek-chat subagent " in lines[0]
    assert all(r.fields.get("subagent") for r in proxy_log.lines("deepseek-chat"))


def test_e2e_subagent_count_tokens_routes_the_same(start_proxy, fake, proxy_log):
    server = start_proxy(SUBAGENT_MODEL="deepseek/deepseek-chat")
    body = {"model": "claude-opus-5-5", "messages": [{"role": "user", "content": "hi"}]}
    status, _, data = raw(server, "POST", "/v1/messages/count_tokens", body, {"x-claude-code-agent-id": "abc"})
    assert status == 200 and json.loads(data)["input_tokens"] > 0
    line = proxy_log.wait(1, "count_tokens")[-1]
    assert line.fields["target"] == "deepseek/deepseek-chat" and "subagent" in line.getMessage()


def test_e2e_models_offer_every_target_under_a_claude_id(start_proxy, fake):
    anthropic = pytest.importorskip("anthropic")
    server = start_proxy(SUBAGENT_MODEL="deepseek/deepseek-chat", THINK_MODEL="o3-mini",
                         FALLBACK_MODELS="groq/llama-3.3-70b-versatile",
                         EXTRA_MODELS="moonshot/kimi-k2-0711-preview, groq/moonshotai/kimi-k2-instruct")
    client = anthropic.Anthropic(base_url=server.url, api_key="k", max_retries=0, timeout=TIMEOUT)
    models = client.models.list(limit=1000).data
    assert all("claude" in m.id for m in models)  # what Claude Code's discovery keeps
    by_id = {m.id: m.display_name for m in models}
    assert {i for i, _, _ in cp.MODEL_LIST} <= set(by_id)
    expected = {"claude-via-openai--gpt-4.1[1m]": "openai/gpt-4.1 (BIG_MODEL)",
                "claude-via-groq--llama-3.1-8b-instant": "groq/llama-3.1-8b-instant (SMALL_MODEL)",
                "claude-via-openai--o3-mini": "openai/o3-mini (THINK_MODEL)",
                "claude-via-deepseek--deepseek-chat": "deepseek/deepseek-chat (SUBAGENT_MODEL)",
                "claude-via-groq--llama-3.3-70b-versatile": "groq/llama-3.3-70b-versatile (FALLBACK_MODELS)",
                "claude-via-moonshot--kimi-k2-0711-preview": "moonshot/kimi-k2-0711-preview (EXTRA_MODELS)",
                "claude-via-groq--moonshotai--kimi-k2-instruct": "groq/moonshotai/kimi-k2-instruct (EXTRA_MODELS)"}
    assert {i: by_id.get(i) for i in expected} == expected
    one = client.models.retrieve("claude-via-moonshot--kimi-k2-0711-preview")
    assert one.display_name == "moonshot/kimi-k2-0711-preview (EXTRA_MODELS)"
    assert raw(server, "GET", "/v1/models/claude-via-nowhere--model")[0] == 404  # only the offered are listed
    for stream in (False, True):
        for picked, path, model in [("claude-via-moonshot--kimi-k2-0711-preview", "/moonshot/v1/chat/completions", "kimi-k2-0711-preview"),
                                    ("claude-via-groq--moonshotai--kimi-k2-instruct", "/groq/v1/chat/completions", "moonshotai/kimi-k2-instruct"),
                                    ("claude-via-openai--gpt-4.1[1m]", "/v1/chat/completions", "gpt-4.1"),
                                    ("claude-via-openai--gpt-4.1", "/v1/chat/completions", "gpt-4.1")]:
            body = dict(BASIC, model=picked, stream=stream)
            status, _, data = raw(server, "POST", "/v1/messages", body, {"x-claude-code-agent-id": "abc"})  # wins over SUBAGENT_MODEL
            assert status == 200 and fake.received[-1][0] == path and fake.received[-1][2]["model"] == model
            message = cp.fold_events(parse_sse(data)) if stream else json.loads(data)
            assert message["model"] == picked  # every answer names what the client asked for


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_repeated_provider_ids_reach_the_client_unique_and_go_back_as_they_were(client, fake, stream):
    """Moonshot numbers its calls afresh each turn ("functions.Bash:0"); the client sees a new
    Anthropic-shaped id each time, and the provider gets its own ids back, on both paths."""
    call = {"deltas": [tool_delta(0, '{"command": "ls"}', "functions.Bash:0", "Bash")], "finish": "tool_calls", "usage": (9, 3)}
    fake.replies = [call, call, text_reply("Done.")]
    history = [{"role": "user", "content": "list twice"}]
    ids = []
    for turn in range(3):
        body = dict(BASIC, tools=TOOLS, messages=history)
        if stream:
            with client.messages.stream(**body) as s:
                message = s.get_final_message()
        else:
            message = client.messages.create(**body)
        if turn == 2:
            break
        ids.append(message.content[-1].id)
        assert re.fullmatch(r"toolu_[0-9a-f]{24}_[0-9a-f]+", ids[-1])
        history = history + [{"role": "assistant", "content": [b.model_dump() for b in message.content]},
                             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": ids[-1], "content": "a.txt"}]}]
    assert message.content[0].text == "Done." and len(set(ids)) == 2
    sent = fake.received[-1][2]["messages"]
    assert [c["id"] for m in sent if m.get("tool_calls") for c in m["tool_calls"]] == ["functions.Bash:0"] * 2
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ["functions.Bash:0"] * 2


def test_e2e_effort_max_reaches_deepseek_as_max(start_proxy, fake):
    if not cp.model_facts("deepseek/deepseek-v4-pro").get("supports_reasoning"):
        pytest.skip("litellm's map here does not know deepseek-v4-pro as a reasoning model")
    server = start_proxy()
    body = dict(BASIC, model="deepseek/deepseek-v4-pro", thinking={"type": "adaptive"}, output_config={"effort": "max"})
    assert raw(server, "POST", "/v1/messages", body)[0] == 200
    sent = fake.received[-1][2]
    assert sent["reasoning_effort"] == "max" and sent["thinking"] == {"type": "enabled"}


# ----------------------------------------------------------------------------------------
# the passthrough path: providers that speak Anthropic's Messages API (a strict fake of it)
# ----------------------------------------------------------------------------------------

ANTHROPIC_KEY = "sk-ant-test-proxy-key"
FAKE_KEYS += (ANTHROPIC_KEY,)

# The fake's providers, by the first part of the path: (auth header, key, rules). The rules each
# refuse a request as the provider does (sources in the proxy's PROVIDERS rows):
#   signatures: thinking blocks must carry a signature the provider issued (Anthropic verifies them,
#     docs.claude.com/en/docs/build-with-claude/extended-thinking#thinking-encryption);
#   tool_choice: refused (DeepSeek's thinking models, deepseek-ai/awesome-deepseek-integration#606);
#   effort: output_config.effort beside disabled thinking refused (anthropics/claude-code#65863);
#   max_output: max_tokens above the model's limit refused, in Anthropic's words;
#   images: image blocks refused (DeepSeek's table: image "Not Supported", api-docs.deepseek.com/guides/anthropic_api).
MESSAGES_PROVIDERS = {
    "anthropic": ("x-api-key", ANTHROPIC_KEY, {"signatures", "max_output"}),
    "deepseek": ("x-api-key", "sk-test-deepseek", {"tool_choice", "effort", "max_output", "images"}),
    "kimi": ("authorization", "Bearer sk-test-moonshot", {"max_output"}),
}
MAX_OUTPUT = {"claude-sonnet-4-5": 64000, "deepseek-chat": 8192, "kimi-k2.6": 262144}  # as litellm's map has them


def messages_refusal(provider: str, headers: dict, body: dict):
    """(status, error type, message) when the fake provider refuses a request, else None."""
    header, key, rules = MESSAGES_PROVIDERS[provider]
    if headers.get(header) != key:
        return 401, "authentication_error", "invalid x-api-key"
    if not headers.get("anthropic-version"):
        return 400, "invalid_request_error", "anthropic-version: header is required"
    if not isinstance(body.get("max_tokens"), int) or not isinstance(body.get("messages"), list) or not body.get("model"):
        return 400, "invalid_request_error", "model, max_tokens and messages are required"
    limit = MAX_OUTPUT.get(body["model"])
    if "max_output" in rules and limit and body["max_tokens"] > limit:
        return 400, "invalid_request_error", (f"max_tokens: {body['max_tokens']} > {limit}, which is the maximum allowed "
                                              f"number of output tokens for {body['model']}")
    if "tool_choice" in rules and "tool_choice" in body:
        return 400, "invalid_request_error", "deepseek-reasoner does not support tool_choice"
    if "effort" in rules and (body.get("thinking") or {}).get("type") == "disabled" and "effort" in (body.get("output_config") or {}):
        return 400, "invalid_request_error", "thinking options type cannot be disabled when reasoning_effort is set"
    if "images" in rules and '"type": "image"' in json.dumps(body["messages"]):
        return 400, "invalid_request_error", "image content is not supported"
    for message in body["messages"]:
        for block in message.get("content") if isinstance(message.get("content"), list) else ():
            if "signatures" in rules and block.get("type") == "thinking" and not str(block.get("signature")).startswith("sig-"):
                return 400, "invalid_request_error", "messages.1.content.0: Invalid `signature` in `thinking` block"
    return None


def messages_events(model, blocks, stop_reason="end_turn", usage=(25, 7, 10)):
    """Anthropic's stream events for a reply: blocks ("text", t) / ("thinking", t, signature) /
    ("tool_use", id, name, input), in the real grammar, with usage (input, output, cache read)."""
    events = [("message_start", {"type": "message_start", "message": {
        "id": "msg_fake01", "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": usage[0], "output_tokens": 1, "cache_read_input_tokens": usage[2],
                                         "cache_creation_input_tokens": 0}}}), ("ping", {"type": "ping"})]
    for index, block in enumerate(blocks):
        kind = block[0]
        start = {"type": "tool_use", "id": block[1], "name": block[2], "input": {}} if kind == "tool_use" else (
            {"type": "thinking", "thinking": "", "signature": ""} if kind == "thinking" else {"type": "text", "text": ""})
        events.append(("content_block_start", {"type": "content_block_start", "index": index, "content_block": start}))
        if kind == "tool_use":
            text = json.dumps(block[3])
            deltas = [{"type": "input_json_delta", "partial_json": text[i:i + 5]} for i in range(0, len(text), 5)]
        else:
            field = {"text": "text", "thinking": "thinking"}[kind]
            deltas = [{"type": f"{field}_delta", field: word} for word in re.findall(r"\S+\s*", block[1])]
            if kind == "thinking":
                deltas.append({"type": "signature_delta", "signature": block[2]})
        events += [("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}) for d in deltas]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events += [("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                  "usage": {"output_tokens": usage[1]}}), ("message_stop", {"type": "message_stop"})]
    return events


def messages_sse(events) -> bytes:
    """The events as Anthropic frames them: a space after the colon, one event per blank line."""
    return b"".join(b"event: %s\ndata: %s\n\n" % (name.encode(), json.dumps(data).encode()) for name, data in events)


class MessagesFake(http.server.ThreadingHTTPServer):
    """A strict fake of Anthropic's Messages API and of providers' Anthropic-compatible endpoints,
    on loopback: POST /{provider}/anthropic/v1/messages (MESSAGES_PROVIDERS), stream or JSON.
    `replies` (consumed in order, the last one repeats) or `responder(body)`: {"blocks": [...],
    "stop_reason", "usage"} answered in the real SSE grammar or as the folded message;
    {"status", "type", "message", "headers"} an error in Anthropic's shape; "error_after": N ends a
    stream with an error event after N events, "cut_after": N drops the connection there, "hold_after": N
    goes silent there until the proxy hangs up (then `aborted` is set).
    Every request is in `received` as (provider, headers, body)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), MessagesHandler)
        self.replies, self.responder, self.received = [{"blocks": [("text", "Hello there!")]}], None, []
        self.aborted = threading.Event()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class MessagesHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT

    def log_message(self, *args):
        pass

    def answer(self, status, data: bytes, content_type="application/json", extra=()):
        head = [f"HTTP/1.1 {status} X", f"Content-Type: {content_type}", f"Content-Length: {len(data)}", *extra]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    def count_tokens(self, body):
        """Anthropic's count_tokens (docs.claude.com/en/api/messages-count-tokens): its key, and no field it does not take."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.received.append(("anthropic count", headers, body))
        extra = sorted(set(body) - {"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"})
        if headers.get("x-api-key") != ANTHROPIC_KEY or extra:
            status, kind, message = (401, "authentication_error", "invalid x-api-key") if extra == [] else (
                400, "invalid_request_error", f"{extra[0]}: Extra inputs are not permitted")
            return self.answer(status, json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode())
        self.answer(200, json.dumps({"input_tokens": 4242}).encode())

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        provider = self.path.split("/")[1]
        if provider == "anthropic" and self.path.endswith("/v1/messages/count_tokens"):
            return self.count_tokens(body)
        if provider not in MESSAGES_PROVIDERS or not self.path.endswith("/v1/messages"):
            return self.answer(404, b'{"type":"error","error":{"type":"not_found_error","message":"Not found"}}')
        headers = {k.lower(): v for k, v in self.headers.items()}
        server = self.server
        server.received.append((provider, headers, body))
        refusal = messages_refusal(provider, headers, body)
        reply = server.responder(body) if server.responder else (
            server.replies.pop(0) if len(server.replies) > 1 else server.replies[0])
        if refusal or "status" in reply:
            status, kind, message = refusal or (reply["status"], reply["type"], reply["message"])
            error = json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()
            extra = [f"{k}: {v}" for k, v in (reply.get("headers") or {}).items()] if not refusal else []
            return self.answer(status, error, extra=extra)
        events = messages_events(body["model"], reply["blocks"], reply.get("stop_reason", "end_turn"), reply.get("usage", (25, 7, 10)))
        if not body.get("stream"):
            return self.answer(200, json.dumps(cp.fold_events(events)).encode())
        if "error_after" in reply:
            events = events[:reply["error_after"]] + [("error", {"type": "error", "error": {
                "type": "overloaded_error", "message": "Overloaded"}})]
        data = messages_sse(events[:reply.get("cut_after", reply.get("hold_after"))])
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        for n in range(0, len(data), 97):  # pieces that cut events anywhere
            piece = data[n:n + 97]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        if "cut_after" in reply:
            self.close_connection = True
            return
        if "hold_after" in reply:  # silent until the proxy closes the connection: its end is readable then
            self.wfile.flush()
            readable, _, _ = select.select([self.connection], [], [], TIMEOUT)
            if readable and not self.connection.recv(1):
                server.aborted.set()
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture(scope="module")
def messages_fake():
    yield from running(MessagesFake())


@pytest.fixture
def passthrough(fake, messages_fake):
    """A proxy whose BIG_MODEL is DeepSeek's Anthropic endpoint and SMALL_MODEL Kimi's, each with its own key,
    and which knows Anthropic itself (anthropic/...), all at the strict fake."""
    messages_fake.replies, messages_fake.responder, messages_fake.received = [{"blocks": [("text", "Hello there!")]}], None, []
    with running_proxy(fake, BIG_MODEL="deepseek-anthropic/deepseek-chat", SMALL_MODEL="moonshot-anthropic/kimi-k2.6",
                       DEEPSEEK_ANTHROPIC_API_BASE=messages_fake.url + "/deepseek/anthropic",
                       MOONSHOT_ANTHROPIC_API_BASE=messages_fake.url + "/kimi/anthropic",
                       ANTHROPIC_API_KEY=ANTHROPIC_KEY, ANTHROPIC_API_BASE=messages_fake.url + "/anthropic",
                       MODEL_PRICES="deepseek-anthropic/deepseek-chat=0.28/0.42") as server:
        yield server


FOREIGN = {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": cp.thinking_signature("groq/x")},
                                            {"type": "text", "text": "Hi"}]}
OWN = {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "sig-1"}, {"type": "text", "text": "Hi"}]}
DEFERRED = {"name": "mcp__x__search", "description": "d", "input_schema": {"type": "object"}, "defer_loading": True}
REFERENCE = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                          "content": [{"type": "tool_reference", "tool_name": "mcp__x__search"}]}]}
BILLED = [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.a1f;"}, {"type": "text", "text": "Be brief"}]
NO_IMAGE = {"type": "text", "text": "[image omitted: deepseek-anthropic/deepseek-chat does not accept images]"}

# (case, target, the client's fields over BASIC, max_tokens the model takes, what the provider gets over BASIC)
PASSTHROUGH_CASES = [
    ("the model without its prefix, the rest as sent", "anthropic/claude-sonnet-4-5",
     {"tools": [DEFERRED], "context_management": {"edits": []}, "service_tier": "auto"}, None,
     {"model": "claude-sonnet-4-5", "tools": [DEFERRED], "context_management": {"edits": []}, "service_tier": "auto"}),
    ("max_tokens capped, a thinking budget with it", "deepseek-anthropic/deepseek-chat",
     {"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": 31999}}, 8192,
     {"model": "deepseek-chat", "max_tokens": 8192, "thinking": {"type": "enabled", "budget_tokens": 8191}}),
    ("a budget that no longer fits: no thinking", "deepseek-anthropic/deepseek-chat",
     {"max_tokens": 64000, "thinking": {"type": "enabled", "budget_tokens": 2048}}, 1000,
     {"model": "deepseek-chat", "max_tokens": 1000}),
    ("the billing line reaches Anthropic", "anthropic/claude-sonnet-4-5", {"system": BILLED}, None,
     {"model": "claude-sonnet-4-5", "system": BILLED}),
    ("and no other host", "moonshot-anthropic/kimi-k2", {"system": BILLED}, None,
     {"model": "kimi-k2", "system": BILLED[1:]}),
    ("DeepSeek: no tool_choice", "deepseek-anthropic/deepseek-reasoner",
     {"tools": [DEFERRED], "tool_choice": {"type": "tool", "name": "web_search"}}, None,
     {"model": "deepseek-reasoner", "tools": [DEFERRED]}),
    ("DeepSeek: no effort beside disabled thinking", "deepseek-anthropic/deepseek-chat",
     {"thinking": {"type": "disabled"}, "output_config": {"effort": "high"}}, None,
     {"model": "deepseek-chat", "thinking": {"type": "disabled"}}),
    ("DeepSeek: effort kept beside thinking", "deepseek-anthropic/deepseek-chat",
     {"thinking": {"type": "adaptive"}, "output_config": {"effort": "high", "format": "x"}}, None,
     {"model": "deepseek-chat", "thinking": {"type": "adaptive"}, "output_config": {"effort": "high", "format": "x"}}),
    ("Anthropic: thinking this proxy signed for another model left out, its own kept",
     "anthropic/claude-sonnet-4-5", {"messages": [USER_HI, FOREIGN, USER_HI, OWN, REFERENCE]}, None,
     {"model": "claude-sonnet-4-5", "messages": [USER_HI, {"role": "assistant", "content": [{"type": "text", "text": "Hi"}]},
                                                 USER_HI, OWN, REFERENCE]}),
    ("other hosts get every thinking block back", "zai-anthropic/glm-4.6", {"messages": [USER_HI, FOREIGN, USER_HI]}, None,
     {"model": "glm-4.6", "messages": [USER_HI, FOREIGN, USER_HI]}),
    ("a model without vision gets a note for each image, in a tool result too", "deepseek-anthropic/deepseek-chat",
     {"messages": [{"role": "user", "content": [TEXT, B64_IMAGE, {"type": "tool_result", "tool_use_id": "t", "content": [B64_IMAGE]}]}]},
     None, {"model": "deepseek-chat", "messages": [{"role": "user", "content": [TEXT, NO_IMAGE, {
         "type": "tool_result", "tool_use_id": "t", "content": [NO_IMAGE]}]}]}),
    ("a model with vision gets them", "anthropic/claude-sonnet-4-5", {"messages": [{"role": "user", "content": [B64_IMAGE]}]},
     None, {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": [B64_IMAGE]}]}),
]


@pytest.mark.parametrize("case, target, fields, max_tokens, expected", PASSTHROUGH_CASES, ids=[c[0] for c in PASSTHROUGH_CASES])
def test_passthrough_body(case, target, fields, max_tokens, expected):
    body = dict(BASIC, **fields)
    before = json.dumps(body)
    sent = cp.passthrough_body(body, target, cp.provider_for(target.partition("/")[0]), max_tokens,
                               cp.accepts_images(cp.model_facts(target)))
    wanted = {k: v for k, v in body.items() if k in expected or k not in fields}  # a field not in expected: left out
    wanted.update(expected)
    assert sent == wanted
    assert json.dumps(body) == before  # the client's request is not modified


THOUGHT_AND_TOOL = [("thinking", "The user wants files listed.", "sig-abc"), ("text", "I will look. "),
                    ("tool_use", "toolu_01", "Bash", {"command": "ls -la", "description": "List"})]


def relay_all(data: bytes, size: int, model="claude-opus-4-8") -> tuple:
    relay = cp.AnthropicRelay(model)
    events = [event for n in range(0, len(data), size) for event in relay.relay(data[n:n + size])]
    return relay, events + relay.finish()


@pytest.mark.parametrize("size", [1, 7, 97, 1 << 20])
def test_relay_passes_the_providers_bytes_and_restores_only_the_model(size):
    events = messages_events("deepseek-chat", THOUGHT_AND_TOOL, "tool_use")
    data = messages_sse(events)
    relay, out = relay_all(data, size)
    framed = cp.sse_frames(out)
    start_end = data.index(b"\n\n") + 2
    assert framed[len(cp.sse_frames(out[:1])):] == data[start_end:]  # after message_start: the provider's bytes, as they came
    plain = cp.plain_events(out)
    assert plain[0][1]["message"]["model"] == "claude-opus-4-8"  # the client's name, not the provider's
    check_protocol(plain)
    folded = cp.fold_events(plain)
    assert folded == dict(cp.fold_events(events), model="claude-opus-4-8")  # a folded relayed stream is the JSON answer
    assert out[-1][0] == "message_delta" and out[-1][1].usage == {
        "input_tokens": 25, "output_tokens": 7, "cache_read_input_tokens": 10, "cache_creation_input_tokens": 0}
    assert sum(1 for name, data in out if name == "relayed") <= len(events)
    assert relay.keepalive() == []  # finished


def test_relay_reads_only_the_events_it_must():
    """A run of deltas is passed on undecoded: one Relayed per read, whatever it holds."""
    events = messages_events("m", [("text", "word " * 50)])
    data = messages_sse(events)
    relay = cp.AnthropicRelay("claude-x")
    first = relay.relay(data[:data.index(b"event: content_block_delta")])
    assert [name for name, _ in first] == ["message_start", "relayed"]  # the ping after it, as it came
    assert relay.keepalive() == [("ping", {"type": "ping"})]
    middle = data[data.index(b"event: content_block_delta"):data.index(b"event: content_block_stop")]
    assert relay.relay(middle) == [("relayed", cp.Relayed(middle))]


@pytest.mark.parametrize("case, events, last", [
    ("cut before message_stop", messages_events("m", [("text", "Hi")])[:5], ("error", "api_error")),
    ("the provider's error event", messages_events("m", [("text", "Hi")])[:4] + [
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})], ("error", "overloaded_error")),
    ("no message_stop after message_delta: as it came", messages_events("m", [("text", "Hi")])[:-1], ("message_delta", None)),
])
def test_relay_ends_a_broken_stream_with_an_error_event(case, events, last):
    _, out = relay_all(messages_sse(events), 13)
    name, data = out[-1]
    error = data.error if isinstance(data, cp.Relayed) else data["error"]
    assert (name, error and error["type"]) == last
    assert cp.plain_events(out)[-1][0] == last[0]


def test_relay_before_message_start_sends_no_ping_and_a_json_answer_is_one_event():
    relay = cp.AnthropicRelay("claude-x")
    assert relay.keepalive() == [] and relay.relay(b"event: ping\ndata: {") == []
    answer = cp.fold_events(messages_events("deepseek-chat", THOUGHT_AND_TOOL, "tool_use"))
    assert cp.AnthropicRelay("claude-x").feed_many([answer]) == [("message", dict(answer, model="claude-x"))]
    assert cp.AnthropicRelay("claude-x").feed({}) == []  # what the exchange feeds after a failure


class RelayPath(ScriptedPath):
    name = "passthrough"

    def translator(self, attempt):
        return cp.AnthropicRelay(attempt.requested)


STREAM_BYTES = messages_sse(messages_events("deepseek-chat", [("text", "Hi there")]))
HALF = len(STREAM_BYTES) // 2

# (case, steps of each attempt's call, what the client gets: text and stop_reason, or a status, or an error event's type)
RELAY_EXCHANGE_CASES = [
    ("a relayed stream in two reads", [[B([STREAM_BYTES[:HALF]]), B([STREAM_BYTES[HALF:]], True)]], ("Hi there", "end_turn")),
    ("a 429 before anything: the fallback answers", [[rate_limited()], [B([STREAM_BYTES], True)]], ("Hi there", "end_turn")),
    ("the provider's error event mid-stream", [[B([messages_sse(messages_events("m", [("text", "Hi")])[:4] + [
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})])], True)]], "overloaded_error"),
    ("a cut after a batch: an error event, never another model", [[B([STREAM_BYTES[:HALF]]), rate_limited()],
                                                                  [B([STREAM_BYTES], True)]], "rate_limit_error"),
]


@pytest.mark.parametrize("case, scripts, expected", RELAY_EXCHANGE_CASES, ids=[c[0] for c in RELAY_EXCHANGE_CASES])
def test_exchange_relays_anthropic_bytes(case, scripts, expected):
    paths = [RelayPath(steps) for steps in scripts]
    attempts = [scripted_attempt(path, target=f"anthropic/model-{n}") for n, path in enumerate(paths)]
    config = cp.Config.from_env({"REQUEST_TIMEOUT": "0.15", "KEEPALIVE_SECONDS": "60"})
    sink, fields = Recorder(True), {}
    cp.Exchange(config, sink, fields=fields).run(attempts)
    events = sink.all_events()
    assert events[0][1]["message"]["model"] == "claude-sonnet-4-6" and fields["via"] == "passthrough"
    if isinstance(expected, str):
        assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == expected
        assert fields["error_event"].startswith(expected)
    else:
        check_protocol(events)
        message = cp.fold_events(events)
        assert ("".join(b["text"] for b in message["content"]), message["stop_reason"]) == expected
        assert (fields["input_tokens"], fields["output_tokens"], fields["cached_tokens"]) == (35, 7, 10)
    assert all(path.script.closed for path in paths if path.opened)


def passthrough_client(server):
    anthropic = pytest.importorskip("anthropic")
    return anthropic.Anthropic(base_url=server.url, api_key="client-key-never-forwarded", max_retries=0, timeout=TIMEOUT)


def test_e2e_max_tokens_1_probe_refused_on_the_passthrough_path(passthrough, messages_fake):
    """Claude Code's availability probe on the passthrough path, refused by the provider (a thinking
    model's minimum): the 200 with stop_reason max_tokens the other paths give, JSON and stream."""
    messages_fake.replies = [{"status": 400, "type": "invalid_request_error", "message": "max_tokens must be at least 1024"}]
    client = passthrough_client(passthrough)
    message = client.messages.create(**dict(BASIC, max_tokens=1))
    assert (message.stop_reason, message.content) == ("max_tokens", []) and message.usage.input_tokens > 0
    with client.messages.stream(**dict(BASIC, max_tokens=1)) as s:
        assert s.get_final_message().stop_reason == "max_tokens"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_two_anthropic_compatible_providers_at_once_each_with_its_key(passthrough, messages_fake, proxy_log, stream):
    messages_fake.replies = [{"blocks": THOUGHT_AND_TOOL, "stop_reason": "tool_use"}]
    client = passthrough_client(passthrough)
    answers = []
    for model in ("claude-sonnet-4-6", "claude-haiku-4-5-20251001"):
        request = dict(BASIC, model=model, max_tokens=64000, tools=TOOLS, thinking={"type": "enabled", "budget_tokens": 2048})
        if stream:
            with client.messages.stream(**request) as events:
                answers.append(events.get_final_message())
        else:
            answers.append(client.messages.create(**request))
    (deepseek, headers, body), (kimi, kimi_headers, kimi_body) = messages_fake.received
    assert (deepseek, body["model"], kimi, kimi_body["model"]) == ("deepseek", "deepseek-chat", "kimi", "kimi-k2.6")
    assert headers["x-api-key"] == "sk-test-deepseek" and kimi_headers["authorization"] == "Bearer sk-test-moonshot"
    for seen in (headers, kimi_headers):
        assert "client-key-never-forwarded" not in json.dumps(seen) and seen["anthropic-version"] == "2023-06-01"
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048} and body["tools"] == TOOLS
    assert body["max_tokens"] == 8192 and kimi_body["max_tokens"] == 64000  # capped at the limit litellm's map gives
    for answer, model in zip(answers, ("claude-sonnet-4-6", "claude-haiku-4-5-20251001")):
        assert answer.model == model and answer.stop_reason == "tool_use"
        assert [b.type for b in answer.content] == ["thinking", "text", "tool_use"]
        assert answer.content[0].signature == "sig-abc" and answer.content[2].input == {"command": "ls -la", "description": "List"}
        assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.cache_read_input_tokens) == (25, 7, 10)
    line = proxy_log.wait(1, "-> deepseek-anthropic/deepseek-chat")[-1].getMessage()
    assert "via=passthrough" in line and "in=35 out=7 cached=10" in line and "cost=$" in line  # MODEL_PRICES' price
    proxy_log.wait(2)  # both requests recorded (the usage book's record comes before the log line)
    totals = json.loads(raw(passthrough, "GET", "/proxy/usage")[2])["totals"]
    assert (totals["requests"], totals["cached_tokens"], totals["output_tokens"]) == (2, 20, 14) and totals["cost_usd"] > 0


def test_e2e_anthropic_gets_the_claude_code_request_as_it_was_sent(passthrough, messages_fake):
    """thinking, defer_loading tools, a tool_reference, context_management, the betas and the billing line: all reach Anthropic."""
    body = dict(claude_code_turn("a1f", [{"role": "user", "content": "find it"}, {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "search", "signature": "sig-own"},
        {"type": "tool_use", "id": "toolu_1", "name": "ToolSearch", "input": {"query": "x"}}]}, REFERENCE], stream=True),
        model="anthropic/claude-sonnet-4-5", tools=TOOLS + [DEFERRED], thinking={"type": "adaptive"},
        output_config={"effort": "high"}, context_management={"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]})
    betas = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27"
    status, headers, data = raw(passthrough, "POST", "/v1/messages?beta=true", body,
                                {"anthropic-beta": betas, "x-api-key": "client-key-never-forwarded", "anthropic-version": "2023-06-01"})
    assert status == 200, data
    events = parse_sse(data)
    check_protocol(events)
    provider, seen, sent = messages_fake.received[-1]
    assert provider == "anthropic" and seen["x-api-key"] == ANTHROPIC_KEY and seen["anthropic-beta"] == betas
    assert sent == dict(body, model="claude-sonnet-4-5")  # nothing else changed: the billing line is Anthropic's to read
    assert events[0][1]["message"]["model"] == "anthropic/claude-sonnet-4-5"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_e2e_passthrough_errors_keep_their_status_type_and_retry_after(passthrough, messages_fake, stream):
    messages_fake.replies = [{"status": 429, "type": "rate_limit_error", "message": "Number of requests has exceeded your rate limit",
                              "headers": {"retry-after": "7"}}]
    status, headers, data = raw(passthrough, "POST", "/v1/messages", dict(BASIC, stream=stream))
    assert (status, json.loads(data)["error"]["type"], headers.get("retry-after")) == (429, "rate_limit_error", "7")
    assert "Number of requests" in json.loads(data)["error"]["message"]
    messages_fake.replies = [{"blocks": []}]
    status, _, data = raw(passthrough, "POST", "/v1/messages", dict(BASIC, stream=stream, tool_choice={"type": "auto"}, tools=TOOLS,
                                                                    messages=[{"role": "user", "content": [TEXT, B64_IMAGE]}]))
    assert status == 200  # DeepSeek would refuse the tool_choice and the image: neither reaches it
    assert messages_fake.received[-1][2]["messages"][0]["content"][1] == NO_IMAGE


def test_e2e_passthrough_mid_stream_error_and_cut(passthrough, messages_fake):
    messages_fake.replies = [{"blocks": [("text", "Hello there")], "error_after": 4}]
    status, _, data = raw(passthrough, "POST", "/v1/messages", dict(BASIC, stream=True))
    events = parse_sse(data)
    assert status == 200 and events[-1] == ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    messages_fake.replies = [{"blocks": [("text", "Hello there")], "cut_after": 4}]
    status, _, data = raw(passthrough, "POST", "/v1/messages", dict(BASIC, stream=True))
    events = parse_sse(data)
    assert events[0][0] == "message_start" and events[-1][0] == "error" and "message_stop" not in [n for n, _ in events]


def test_e2e_passthrough_falls_back_and_needs_no_litellm(fake, messages_fake):
    messages_fake.replies = [{"status": 529, "type": "overloaded_error", "message": "Overloaded"}, {"blocks": [("text", "From Kimi")]}]
    messages_fake.received = []
    with running_proxy(fake, BIG_MODEL="deepseek-anthropic/deepseek-chat", FALLBACK_MODELS="moonshot-anthropic/kimi-k2.6",
                       DEEPSEEK_ANTHROPIC_API_BASE=messages_fake.url + "/deepseek/anthropic",
                       MOONSHOT_ANTHROPIC_API_BASE=messages_fake.url + "/kimi/anthropic") as server:
        message = passthrough_client(server).messages.create(**BASIC)
        assert not cp.needs_litellm(server.config)  # its SMALL_MODEL (groq) is on the direct path too
    assert message.content[0].text == "From Kimi" and message.model == "claude-sonnet-4-6"
    assert [p for p, _, _ in messages_fake.received] == ["deepseek", "kimi"]


def test_passthrough_names_route_key_and_allow():
    env = {"DEEPSEEK_API_KEY": "sk-d", "MOONSHOT_API_KEY": "sk-m", "BIG_MODEL": "deepseek-anthropic/deepseek-chat"}
    config = cp.Config.from_env(env)
    providers = cp.provider_names()
    assert cp.route_model("claude-opus-4-8", config, providers) == "deepseek-anthropic/deepseek-chat"
    assert cp.route_model("moonshot-anthropic/kimi-k2", config, providers) == "moonshot-anthropic/kimi-k2"
    assert cp.key_names("deepseek-anthropic") == ("DEEPSEEK_API_KEY",) and cp.key_names("ollama-anthropic") == ("OLLAMA_ANTHROPIC_API_KEY",)
    assert cp.provider_credentials("moonshot-anthropic/kimi-k2", config) == {"api_key": "sk-m", "api_base": "https://api.moonshot.ai/anthropic"}
    assert cp.allowed_provider("moonshot-anthropic", config) and not cp.allowed_provider("ollama-anthropic", config)
    assert cp.picked_target("claude-via-deepseek-anthropic--deepseek-chat", config, providers) == "deepseek-anthropic/deepseek-chat"
    assert cp.model_facts("deepseek-anthropic/deepseek-chat") == cp.model_facts("deepseek/deepseek-chat")
    assert cp.relayed("anthropic/claude-sonnet-4-5", config) and not cp.relayed(
        "anthropic/claude-sonnet-4-5", cp.Config.from_env(dict(env, PROXY_VIA="litellm")))
    assert cp.relayed("deepseek-anthropic/x", cp.Config.from_env(dict(env, PROXY_VIA="litellm")))
    with pytest.raises(cp.ProxyError) as caught:
        cp.provider_credentials("zai-anthropic/glm-4.6", config)
    assert caught.value.status == 401 and "ZAI_API_KEY" in caught.value.message


@needs_claude
def test_cli_session_through_an_anthropic_compatible_provider_keeps_thinking_tool_search_and_tools(passthrough, messages_fake, tmp_path):
    """Turn 1: thinking, then ToolSearch (the CLI answers with a tool_reference and loads the deferred WebFetch); turn 2:
    thinking, then Write; turn 3: the answer. The provider sees its thinking back, signed, and only the proxy's key."""
    target = tmp_path / "hi.txt"

    def responder(body):
        results = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"] if b.get("type") == "tool_result"]
        if not results:
            return {"blocks": [("thinking", "I need the fetch tool first.", "sig-cli-1"),
                               ("tool_use", "toolu_s1", "ToolSearch", {"query": "select:WebFetch", "max_results": 1})], "stop_reason": "tool_use"}
        if results[-1]["tool_use_id"] == "toolu_s1":
            return {"blocks": [("thinking", "Now write it.", "sig-cli-2"),
                               ("tool_use", "toolu_w1", "Write", {"file_path": str(target), "content": "hi\n"})], "stop_reason": "tool_use"}
        return {"blocks": [("text", "Done.")]}

    messages_fake.responder = responder
    run = run_claude(passthrough, tmp_path, "-p", "Write hi.txt", "--output-format", "json", "--allowedTools", "Write,ToolSearch",
                     ENABLE_TOOL_SEARCH="true")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["result"] == "Done." and target.read_text() == "hi\n"
    turns = [body for provider, _, body in messages_fake.received if provider == "deepseek"]
    assert len(turns) >= 3 and all(body["model"] == "deepseek-chat" and body["stream"] is True for body in turns)
    assert turns[0]["thinking"]["type"] in ("adaptive", "enabled")  # Claude Code's own thinking request, as it sent it
    assert any(t.get("defer_loading") for t in turns[0]["tools"])
    assert {"name": "WebFetch", "defer_loading": True}.items() <= next(t for t in turns[1]["tools"] if t["name"] == "WebFetch").items()
    history = [b for m in turns[-1]["messages"] if isinstance(m["content"], list) for b in m["content"]]
    assert {"type": "tool_reference", "tool_name": "WebFetch"} in [c for b in history if b.get("type") == "tool_result"
                                                                   for c in (b["content"] if isinstance(b["content"], list) else [])]
    thinking = [(b["thinking"], b["signature"]) for b in history if b.get("type") == "thinking"]
    assert ("I need the fetch tool first.", "sig-cli-1") in thinking and ("Now write it.", "sig-cli-2") in thinking
    assert any(b.get("type") == "tool_use" and b["id"] == "toolu_w1" for b in history)
    for _, headers, _ in messages_fake.received:
        assert "sk-ant-client-dummy" not in json.dumps(headers)
        assert headers.get("x-api-key") == "sk-test-deepseek" or headers.get("authorization") == "Bearer sk-test-moonshot"


def messages_doctor_responder(body):
    """An Anthropic-compatible provider that behaves (as doctor_responder does on the chat path)."""
    if body["max_tokens"] == 1:
        return {"blocks": [("text", "p")], "stop_reason": "max_tokens"}
    last = body["messages"][-1]["content"]
    if isinstance(last, list) and any(b.get("type") == "tool_result" for b in last):
        return {"blocks": [("text", "It is sunny in Paris.")]}
    if body.get("tools"):
        return {"blocks": [("tool_use", "toolu_p", "get_weather", {"city": "Paris"}),
                           ("tool_use", "toolu_t", "get_weather", {"city": "Tokyo"})], "stop_reason": "tool_use"}
    return {"blocks": ([("thinking", "Easy.", "sig-d")] if body.get("thinking") else []) + [("text", "pong")]}


def test_doctor_checks_the_passthrough_providers(fake, messages_fake):
    import io

    messages_fake.responder = messages_doctor_responder
    env = proxy_env(fake.url, BIG_MODEL="deepseek-anthropic/deepseek-chat", SMALL_MODEL="moonshot-anthropic/kimi-k2.6",
                    DEEPSEEK_ANTHROPIC_API_BASE=messages_fake.url + "/deepseek/anthropic",
                    MOONSHOT_ANTHROPIC_API_BASE=messages_fake.url + "/kimi/anthropic")
    out = io.StringIO()
    try:
        assert cp.doctor(cp.Config.from_env(env), out) == 0, out.getvalue()
    finally:
        messages_fake.responder = None
    text = out.getvalue()
    assert "16 of 16 checks passed" in text and "deepseek-anthropic/deepseek-chat (BIG_MODEL)" in text
    assert "moonshot-anthropic/kimi-k2.6 (SMALL_MODEL)" in text and "with thinking" in text


@pytest.mark.parametrize("header, names", [
    ("claude-code-20250219,interleaved-thinking-2025-05-14", "claude-code-20250219,interleaved-thinking-2025-05-14"),
    ("a-2025, b-2026", "a-2025,b-2026"),
    ("a-2025,b\r\nx-api-key: stolen", "a-2025"),  # nothing but names goes on: no header of the client's own making
    ("", ""), (None, ""),
])
def test_beta_names(header, names):
    assert cp.beta_names(header) == names
    assert cp.caller_of({"anthropic-beta": header} if header is not None else {}, {}).betas == names


def test_count_tokens_on_the_passthrough_path(passthrough, messages_fake):
    """Anthropic counts itself (with the proxy's key, only the fields it takes); the other hosts get the proxy's
    estimate, as Anthropic's count does when it fails: a count always answers, and litellm is never needed."""
    body = dict(claude_code_turn("a1f", [{"role": "user", "content": "count me " * 50}]), model="anthropic/claude-sonnet-4-5",
                tools=TOOLS, thinking={"type": "adaptive"}, output_config={"effort": "high"})
    del body["max_tokens"]
    status, _, data = raw(passthrough, "POST", "/v1/messages/count_tokens?beta=true", body, {"x-api-key": "client-key-never-forwarded"})
    assert (status, json.loads(data)) == (200, {"input_tokens": 4242})
    provider, headers, sent = messages_fake.received[-1]
    assert provider == "anthropic count" and headers["x-api-key"] == ANTHROPIC_KEY
    assert sent == {k: v for k, v in dict(body, model="claude-sonnet-4-5").items() if k not in ("output_config", "metadata", "stream")}
    estimate = cp.routed_attempt(dict(body, model="claude-sonnet-4-6"), passthrough.config).input_tokens
    received = len(messages_fake.received)
    status, _, data = raw(passthrough, "POST", "/v1/messages/count_tokens", dict(body, model="claude-sonnet-4-6"))
    assert (status, json.loads(data)) == (200, {"input_tokens": estimate}) and estimate > 100
    assert len(messages_fake.received) == received  # DeepSeek has no count endpoint: not asked
    with running_proxy(messages_fake, ANTHROPIC_API_KEY="sk-ant-wrong-key", ANTHROPIC_API_BASE=messages_fake.url + "/anthropic") as server:
        status, _, data = raw(server, "POST", "/v1/messages/count_tokens", body)
    assert status == 200 and json.loads(data)["input_tokens"] == cp.routed_attempt(body, server.config).input_tokens


def test_exchange_keeps_a_relayed_stream_alive_with_pings_only_after_message_start():
    start_end = STREAM_BYTES.index(b"\n\n") + 2
    for steps, pings_before_start in (([None, None, B([STREAM_BYTES], True)], 0),
                                      ([B([STREAM_BYTES[:start_end]]), None, None, None, B([STREAM_BYTES[start_end:]], True)], 0)):
        sink = Recorder(True)
        config = cp.Config.from_env({"KEEPALIVE_SECONDS": "0.05", "REQUEST_TIMEOUT": "5"})
        cp.Exchange(config, sink).run([scripted_attempt(RelayPath(steps), target="anthropic/m")])
        events = sink.all_events()
        assert events[0][0] == "message_start" and sink.calls[1][1][0][0] == "message_start"  # nothing went out before it
        pings = [n for n, (name, _) in enumerate(events) if name == "ping"]
        assert len(pings) >= (2 if len(steps) == 5 else 1)  # the provider's own ping, and ours while it was silent
        check_protocol([e for e in events])
        assert cp.fold_events(events)["content"] == [{"type": "text", "text": "Hi there"}]


@pytest.mark.parametrize("size", [1, 5, 1 << 20])
def test_relay_reads_crlf_framed_events(size):
    """SSE lets a provider end its lines with CRLF: the same events, the model restored, usage read."""
    events = messages_events("glm-4.6", [("text", "Hi there")])
    data = messages_sse(events).replace(b"\n", b"\r\n")
    relay, out = relay_all(data, size)
    plain = cp.plain_events(out)
    check_protocol(plain)
    assert plain[0][1]["message"]["model"] == "claude-opus-4-8" and out[-1][1].usage["input_tokens"] == 25
    assert cp.fold_events(plain)["content"] == [{"type": "text", "text": "Hi there"}]


def test_exchange_relays_a_json_answer_as_it_came_but_the_model():
    answer = cp.fold_events(messages_events("deepseek-chat", THOUGHT_AND_TOOL, "tool_use"))
    for steps in ([B([answer], True)], [rate_limited()]):
        paths = [RelayPath(steps), RelayPath([B([answer], True)])]
        sink, fields = Recorder(False), {}
        config = cp.Config.from_env({"REQUEST_TIMEOUT": "0.15", "KEEPALIVE_SECONDS": "60"})
        cp.Exchange(config, sink, fields=fields).run([scripted_attempt(p, target=f"anthropic/m{n}") for n, p in enumerate(paths)])
        assert cp.fold_events(sink.all_events()) == dict(answer, model="claude-sonnet-4-6")
        assert (fields["mode"], fields["input_tokens"], fields["output_tokens"], fields["cached_tokens"]) == ("json", 35, 7, 10)
        assert fields.get("fallbacks", []) == ([] if isinstance(steps[0], cp.Batch) else ["anthropic/m1 after 429"])


def test_e2e_passthrough_client_gone_closes_the_upstream(fake, messages_fake):
    messages_fake.replies, messages_fake.received = [{"blocks": [("text", "word " * 20)], "hold_after": 6}], []
    messages_fake.aborted.clear()
    with running_proxy(fake, BIG_MODEL="deepseek-anthropic/deepseek-chat", KEEPALIVE_SECONDS="0.2",
                       DEEPSEEK_ANTHROPIC_API_BASE=messages_fake.url + "/deepseek/anthropic") as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=TIMEOUT)
        conn.request("POST", "/v1/messages", body=json.dumps(dict(BASIC, stream=True)))
        response = conn.getresponse()
        assert response.status == 200 and b"message_start" in response.read1(65536)
        hung_up = time.monotonic()
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        assert messages_fake.aborted.wait(TIMEOUT), "the proxy kept reading a stream nobody wants"
        assert time.monotonic() - hung_up < 3


def test_a_passthrough_base_url_without_a_scheme_names_its_variable(fake):
    with running_proxy(fake, BIG_MODEL="deepseek-anthropic/deepseek-chat", DEEPSEEK_ANTHROPIC_API_BASE="api.deepseek.com/anthropic") as server:
        status, _, data = raw(server, "POST", "/v1/messages", BASIC)
    error = json.loads(data)["error"]
    assert (status, error["type"]) == (500, "api_error") and "DEEPSEEK_ANTHROPIC_API_BASE" in error["message"]
