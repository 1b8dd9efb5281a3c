#!/usr/bin/env python3
# /// script
# requires-python = ">=3.10"
# dependencies = ["litellm"]
# ///
"""claude_proxy: serve the Anthropic Messages API from any provider litellm can reach.

Point an Anthropic client (Claude Code, the official SDKs) at this proxy and it answers
every request from OpenAI, Gemini, Groq, Moonshot or any other litellm provider, in
exact Anthropic format: JSON, streamed SSE, tool use, thinking, token counting, errors.

Usage:
    uv run claude_proxy.py                        # PEP 723: no setup needed
    uv run --with litellm claude_proxy.py --port 8082
    python claude_proxy.py --host 127.0.0.1 --port 8082 --log-level debug
    ANTHROPIC_BASE_URL=http://127.0.0.1:8082 claude

Endpoints:
    POST /v1/messages                 (also ?beta=true), streaming and not
    POST /v1/messages/count_tokens    {"input_tokens": N}
    GET  /v1/models, /v1/models/{id}  the routed models under Claude-style ids
    GET  /proxy/usage                 tokens and cost since start, per Claude Code session
    GET  /, HEAD /                    health

Model routing: a name with a litellm provider prefix ("groq/llama-3.3-70b-versatile"), or
a picker id from GET /v1/models ("claude-via-groq--llama-3.3-70b-versatile"), goes to that
model. A Claude name goes to LONG_CONTEXT_MODEL, VISION_MODEL, SUBAGENT_MODEL or
THINK_MODEL when the request calls for one and it is set, else by tier: haiku ->
SMALL_MODEL, opus -> OPUS_MODEL, sonnet -> MIDDLE_MODEL, others -> BIG_MODEL (the
second and third default to BIG_MODEL). Bare targets get PREFERRED_PROVIDER's prefix.
Providers that speak Anthropic's API themselves are passed through, untranslated:
anthropic/<model>, and <provider>-anthropic/<model> for DeepSeek, Moonshot (Kimi), Zhipu
(zai), MiniMax, DashScope, OpenRouter and Ollama, with the provider's usual key
("deepseek-anthropic/deepseek-chat": DEEPSEEK_API_KEY, DEEPSEEK_ANTHROPIC_API_BASE).

Web search: a request that offers Anthropic's web search tool (Claude Code's WebSearch) has it
run by the proxy, through litellm's search at the provider the web search setting names, inside
the one request: server_tool_use and web_search_tool_result blocks, then the model's answer.

Launching Claude Code through it (a free port, stopped when the command ends; its status
line shows the routed model, the session's cost and cache share, unless you have your own):
    python claude_proxy.py -- claude [args...]     (or: claude_proxy.py run claude ...)

Claude Code's status line for a proxy you run yourself (settings.json "statusLine" command):
    python claude_proxy.py statusline              -> "kimi-k2 via groq | $0.42 | cache 87%"

Environment (a .env file in the working directory, or --env-file, is loaded too; the
real environment wins over it, and flags win over both):

  providers and keys
    <PROVIDER>_API_KEY     the key for a provider: OPENAI_API_KEY, GEMINI_API_KEY (or
                           GOOGLE_API_KEY), GROQ_API_KEY, MOONSHOT_API_KEY, DEEPSEEK_API_KEY,
                           OPENROUTER_API_KEY, ANTHROPIC_API_KEY, LITELLM_PROXY_API_KEY ...
    <PROVIDER>_API_BASE    a base URL: GROQ_API_BASE, MOONSHOT_API_BASE, GEMINI_API_BASE,
                           DEEPSEEK_API_BASE, OLLAMA_API_BASE, HOSTED_VLLM_API_BASE ...;
                           OpenAI's is OPENAI_BASE_URL (or OPENAI_API_BASE)
    HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY   an outbound HTTP proxy, as litellm honours them
  settings                 model routing, server, limits, provider calls, logging, cost: each
                           with its default in --help and the README (from SETTINGS)

The client's own x-api-key is never forwarded: each provider gets the key from its
own variable; nothing in a request can choose where the proxy connects (a client names
only providers the operator configured, or ALLOWED_PROVIDERS lists); and a web page in
the user's browser cannot use it (Origin and Host are checked: ALLOWED_ORIGINS, ALLOWED_HOSTS).
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import dataclasses
import errno
import hashlib
import http.client
import http.server
import importlib.util
import io
import json
import logging
import hmac
import math
import os
import random
import re
import queue
import select
import shlex
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from json.encoder import encode_basestring as encode_json_string  # json.dumps(str, ensure_ascii=False), minus the wrapping
from typing import NamedTuple
from urllib.parse import parse_qs, quote, urlencode, urlsplit

log = logging.getLogger("claude_proxy")


# ----------------------------------------------------------------------------------------
# configuration: the only reader of the environment
# ----------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """A configuration value is malformed; the message names the variable."""


LOG_LEVELS = ("debug", "info", "warning", "error")

LOG_FORMATS = ("text", "json")

VIAS = ("auto", "litellm")

VISION_MODES = ("route", "describe")


class Setting(NamedTuple):
    """One row of SETTINGS: an environment variable and the Config field it sets.

    kind says how the variable's text is read (READERS): "text" as written, "lowercase",
    "choice" (lower-cased, one of `choices`), "int", "float", "comma list" (a tuple),
    "megabytes" (a float; the field holds bytes) or "prices" (price_list). `default` is in the variable's own units
    (MAX_BODY_MB's is 32, max_body_bytes's 33554432); None means no value (MAX_TOKENS_LIMIT:
    the model's own limit). `minimum` bounds a number. `shown` is how --help and the README
    give the default when the value alone would mislead (MIDDLE_MODEL's "" is "BIG_MODEL").
    `flag` is the command-line flag that overrides the variable, where there is one.
    """

    variable: str
    field: str
    kind: str
    default: object
    help: str
    group: str
    minimum: float | None = None
    choices: tuple = ()
    flag: str | None = None
    shown: str | None = None


# Every setting, in the order --help lists them. Config, --help and the README check read
# this table, so a setting is added (or its default changed) here and only here.
SETTINGS = (
    Setting("PREFERRED_PROVIDER", "preferred_provider", "lowercase", "openai", "prefix for bare model names", "model routing"),
    Setting("BIG_MODEL", "big_model", "text", "gpt-4.1", "sonnet, opus and other Claude names", "model routing"),
    Setting("SMALL_MODEL", "small_model", "text", "gpt-4.1-mini", "haiku names", "model routing"),
    Setting("MIDDLE_MODEL", "middle_model", "text", "", "sonnet names", "model routing", shown="BIG_MODEL"),
    Setting("OPUS_MODEL", "opus_model", "text", "", "opus names", "model routing", shown="BIG_MODEL"),
    Setting("THINK_MODEL", "think_model", "text", "", "requests that ask for thinking", "model routing"),
    Setting("LONG_CONTEXT_MODEL", "long_context_model", "text", "", "requests whose input exceeds the threshold", "model routing"),
    Setting("LONG_CONTEXT_THRESHOLD", "long_context_threshold", "int", 60000, "input tokens for LONG_CONTEXT_MODEL",
            "model routing", minimum=1),
    Setting("VISION_MODEL", "vision_model", "text", "", "requests with images", "model routing"),
    Setting("VISION_MODE", "vision_mode", "choice", "route",
            "route: a Claude name's requests with images go to VISION_MODEL; describe: they stay with their model, and "
            "VISION_MODEL describes each image a model without vision would be sent", "model routing", choices=VISION_MODES),
    Setting("SUBAGENT_MODEL", "subagent_model", "text", "", "requests from Claude Code's subagents", "model routing"),
    Setting("FALLBACK_MODELS", "fallback_models", "comma list", (), "comma list tried on 429, 5xx, no connection",
            "model routing"),
    Setting("EXTRA_MODELS", "extra_models", "comma list", (),
            "comma list of more provider/model targets offered in Claude Code's /model picker", "model routing"),

    Setting("HOST", "host", "text", "127.0.0.1", "address to listen on", "server", flag="--host"),
    Setting("PORT", "port", "int", 8082, "port to listen on; 0 picks a free one", "server", minimum=0, flag="--port"),
    Setting("PROXY_API_KEY", "proxy_api_key", "text", "", "clients must send it (x-api-key or Bearer)", "server"),
    Setting("KEEPALIVE_SECONDS", "keepalive_seconds", "float", 15.0, "provider silence before keep-alive events", "server",
            minimum=0.05),
    Setting("SHUTDOWN_GRACE", "shutdown_grace", "float", 10.0, "seconds in-flight requests get on SIGTERM", "server",
            minimum=0),
    Setting("ALLOWED_ORIGINS", "allowed_origins", "comma list", (),
            "web page origins that may call the proxy (a browser sends Origin); * allows any", "server"),
    Setting("WORKERS", "workers", "workers", 1, "processes sharing the port (auto: one per core); one log, usage summed",
            "server", minimum=1, flag="--workers"),
    Setting("ALLOWED_HOSTS", "allowed_hosts", "comma list", (),
            "Host names served besides loopback and the listen address (a LAN name); * allows any", "server"),

    Setting("MAX_TOKENS_LIMIT", "max_tokens_limit", "int", None, "cap for max_tokens", "limits", minimum=1,
            shown="the model's own limit"),
    Setting("MAX_BODY_MB", "max_body_bytes", "megabytes", 32, "largest request body", "limits", minimum=0.001),
    Setting("MAX_CONCURRENCY", "max_concurrency", "int", 1024, "/v1/messages at once, per worker; more get 529", "limits", minimum=1),
    Setting("REQUEST_TIMEOUT", "request_timeout", "float", 600.0, "seconds of provider silence", "limits", minimum=0.05),
    Setting("CONNECT_TIMEOUT", "connect_timeout", "float", 10.0, "seconds to connect to the provider", "limits",
            minimum=0.05),
    Setting("REQUEST_DEADLINE", "request_deadline", "float", 3600.0, "seconds one request may take, start to end", "limits",
            minimum=0.05),
    Setting("CLIENT_TIMEOUT", "client_timeout", "float", 120.0, "seconds a connection may idle, and a request's head and body take", "limits",
            minimum=0.05),
    Setting("MAX_CONNECTIONS", "max_connections", "int", 4096, "open client connections; more get 529 and are closed",
            "limits", minimum=1),
    Setting("ALLOWED_PROVIDERS", "allowed_providers", "comma list", (),
            "providers a client may name beyond the configured ones; * for any", "limits"),

    Setting("PROXY_VIA", "via", "choice", "auto",
            "auto: OpenAI-compatible providers (OpenAI, Groq, Moonshot, DeepSeek, OpenRouter, Ollama, vLLM ...) and "
            "Gemini (AI Studio) over the proxy's own HTTP client, every other provider through litellm; litellm: every "
            "provider through litellm",
            "provider calls", choices=VIAS, flag="--via"),

    Setting("LOG_LEVEL", "log_level", "choice", "info", "log verbosity: debug, info, warning or error", "logging",
            choices=LOG_LEVELS, flag="--log-level"),
    Setting("LOG_FORMAT", "log_format", "choice", "text", "text, or json: one object per line", "logging",
            choices=LOG_FORMATS, flag="--log-format"),

    Setting("MODEL_PRICES", "model_prices", "prices", (),
            "comma list of MODEL=IN/OUT[/CACHED], USD per million tokens, for models litellm's map does not price "
            "(or prices it otherwise)", "cost"),
    Setting("USAGE_LOG", "usage_log", "text", "", "a file that gets one JSON line per /v1/messages request", "cost"),

    Setting("WEB_SEARCH_PROVIDER", "web_search_provider", "lowercase", "",
            "litellm search provider that runs Anthropic's web search tool (tavily, exa_ai, brave, serper, searxng ...); "
            "unset: a search answers unavailable", "web search"),
)


class Prices(NamedTuple):
    """A model's prices in USD per token; None where the model has no price of that kind
    (cached input then costs what input costs, reasoning what output costs)."""

    input: float
    output: float
    cached: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None


def price_list(text: str) -> tuple:
    """MODEL_PRICES' text -> ((model, Prices), ...), in USD per token. Each item is the routed
    model, "=", then USD per million input and output tokens, optionally cached input tokens.
    Example: "groq/moonshotai/kimi-k2-instruct=1.0/3.0/0.5" -> (("groq/moonshotai/kimi-k2-instruct",
    Prices(1e-06, 3e-06, 5e-07)),). A malformed item raises ValueError."""
    out = []
    for item in (item.strip() for item in text.split(",")):
        if not item:
            continue
        model, eq, numbers = item.rpartition("=")
        figures = [float(n) for n in numbers.split("/")]
        if not eq or not model.strip() or not 2 <= len(figures) <= 3 or not all(
                math.isfinite(f) and f >= 0 for f in figures):
            raise ValueError(item)
        per_token = [f / 1e6 for f in figures]
        out.append((model.strip(), Prices(per_token[0], per_token[1], per_token[2] if len(figures) == 3 else None)))
    return tuple(out)


price_list.expects = "list of MODEL=IN/OUT[/CACHED] prices (USD per million tokens)"

# kind -> how a variable's (stripped, non-empty) text becomes its value. A ValueError means
# the text is malformed, and the message names the reader: "PORT='http' is not a valid int".
def worker_count(text: str) -> int:
    """WORKERS: a count of processes, or "auto" for one per core. Example: "auto" on 2 cores -> 2."""
    if text.strip().lower() == "auto":
        return os.cpu_count() or 1
    return int(text)


worker_count.expects = "count of processes, or auto"

READERS = {
    "workers": worker_count,
    "text": str,
    "lowercase": str.lower,
    "choice": str.lower,  # LOG_LEVEL=DEBUG is as good as debug
    "int": int,
    "float": float,
    "comma list": lambda text: tuple(item.strip() for item in text.split(",") if item.strip()),
    "megabytes": float,
    "prices": price_list,
}

MEGABYTE = 1024 * 1024


def field_value(setting: Setting, value):
    """A setting's value, in the variable's units, as its Config field holds it.
    Example: MAX_BODY_MB's 0.5 -> 524288 (bytes); PORT's 8082 -> 8082."""
    return int(value * MEGABYTE) if setting.kind == "megabytes" and value is not None else value


def shown_default(setting: Setting) -> str:
    """A setting's default as --help and the README's table give it, "" for none.
    Example: PORT -> "8082", REQUEST_TIMEOUT -> "600", MIDDLE_MODEL -> "BIG_MODEL", THINK_MODEL -> ""."""
    if setting.shown is not None:
        return setting.shown
    if setting.default in (None, "", ()):
        return ""
    return f"{setting.default:g}" if isinstance(setting.default, float) else str(setting.default)


def _reading(setting: Setting, text: str) -> tuple:
    """(the value of non-empty text, "") or (None, what is wrong with it).
    Example: PORT "8083" -> (8083, ""); PORT "-1" -> (None, "must be at least 0")."""
    read = READERS[setting.kind]
    try:
        value = read(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(text)  # "inf" and "nan" parse, but no timeout or size can be either
    except ValueError:
        return None, f"is not a valid {getattr(read, 'expects', read.__name__)}"
    if setting.choices and value not in setting.choices:
        return None, f"must be one of {', '.join(setting.choices)}"
    if setting.minimum is not None and value < setting.minimum:
        return None, f"must be at least {setting.minimum}"
    return value, ""


def read_setting(setting: Setting, env: Mapping[str, str], problems: list | None = None):
    """One setting's value from `env`, as its Config field holds it; unset or blank gives the
    default. Malformed text raises ConfigError naming the variable, or, when a `problems`
    list is given, is reported there and the default used.

    Example: {"MAX_BODY_MB": "0.5"} -> 524288; {"LOG_LEVEL": "DEBUG"} -> "debug";
    {"PORT": "http"} -> ConfigError("PORT='http' is not a valid int"), or with problems
    8082 and "PORT='http' is not a valid int; using the default, 8082".
    """
    text = env.get(setting.variable, "").strip()
    value, wrong = _reading(setting, text) if text else (setting.default, "")
    if wrong:
        message = f"{setting.variable}={text!r} {wrong}"
        if problems is None:
            raise ConfigError(message)
        problems.append(f"{message}; using the default, {shown_default(setting) or 'none'}")
        value = setting.default
    return field_value(setting, value)


# Each Config field's default, from its SETTINGS row.
DEFAULTS = {setting.field: field_value(setting, setting.default) for setting in SETTINGS}


@dataclasses.dataclass(frozen=True)
class Config:
    """Everything the proxy reads from its environment, parsed once. One field per row of
    SETTINGS, whose default it takes; the row says which variable sets it and how.

    Example: Config.from_env({"BIG_MODEL": "groq/llama-3.3-70b-versatile"}).big_model
    -> "groq/llama-3.3-70b-versatile". Tests pass plain dicts; main() passes os.environ.
    """

    host: str = DEFAULTS["host"]
    port: int = DEFAULTS["port"]
    log_level: str = DEFAULTS["log_level"]
    log_format: str = DEFAULTS["log_format"]
    preferred_provider: str = DEFAULTS["preferred_provider"]
    big_model: str = DEFAULTS["big_model"]
    small_model: str = DEFAULTS["small_model"]
    middle_model: str = DEFAULTS["middle_model"]  # sonnet, when set (else BIG_MODEL)
    opus_model: str = DEFAULTS["opus_model"]  # opus, when set (else BIG_MODEL)
    think_model: str = DEFAULTS["think_model"]  # requests that ask for thinking
    long_context_model: str = DEFAULTS["long_context_model"]  # requests whose counted input exceeds long_context_threshold
    long_context_threshold: int = DEFAULTS["long_context_threshold"]
    vision_model: str = DEFAULTS["vision_model"]  # requests with images; it describes images for models without vision
    vision_mode: str = DEFAULTS["vision_mode"]  # "route": requests with images go to vision_model; "describe": they do not
    subagent_model: str = DEFAULTS["subagent_model"]  # requests from Claude Code's subagents (Caller.subagent)
    extra_models: tuple = DEFAULTS["extra_models"]  # offered by GET /v1/models beside the routed targets
    fallback_models: tuple = DEFAULTS["fallback_models"]  # tried in order on a 429, 5xx or connection failure
    request_timeout: float = DEFAULTS["request_timeout"]  # the provider's silence, once connected
    connect_timeout: float = DEFAULTS["connect_timeout"]
    request_deadline: float = DEFAULTS["request_deadline"]  # the longest one request may take, start to end
    client_timeout: float = DEFAULTS["client_timeout"]  # idle between requests; a request's head and body in all
    proxy_api_key: str = dataclasses.field(default=DEFAULTS["proxy_api_key"], repr=False)
    max_concurrency: int = DEFAULTS["max_concurrency"]
    shutdown_grace: float = DEFAULTS["shutdown_grace"]
    allowed_origins: tuple = DEFAULTS["allowed_origins"]  # a request with another Origin header gets 403
    allowed_hosts: tuple = DEFAULTS["allowed_hosts"]  # besides loopback and the listen address; others get 403
    max_tokens_limit: int | None = DEFAULTS["max_tokens_limit"]  # None: the model's own output limit
    max_body_bytes: int = DEFAULTS["max_body_bytes"]
    keepalive_seconds: float = DEFAULTS["keepalive_seconds"]
    max_connections: int = DEFAULTS["max_connections"]  # open client connections, idle keep-alive ones included
    allowed_providers: tuple = DEFAULTS["allowed_providers"]  # beyond those configured (allowed_provider); "*": any
    via: str = DEFAULTS["via"]  # "auto": OpenAI-compatible providers and Gemini over the proxy's own client; "litellm": all through litellm
    model_prices: tuple = DEFAULTS["model_prices"]  # ((routed model, Prices), ...): over litellm's map
    usage_log: str = DEFAULTS["usage_log"]  # a path: one JSON line per /v1/messages request
    workers: int = DEFAULTS["workers"]  # processes sharing the listening port (serve_workers)
    web_search_provider: str = DEFAULTS["web_search_provider"]  # litellm.search's provider for the web search tool
    # The raw environment, for provider keys and base URLs. repr=False: never logged.
    env: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str], problems: list | None = None) -> Config:
        """Parse the environment, one SETTINGS row at a time. Strict by default (a malformed
        value raises ConfigError naming the variable); with a `problems` list, each is
        reported there instead and the default used, so the proxy can start with the rest."""
        return cls(**{setting.field: read_setting(setting, env, problems) for setting in SETTINGS}, env=dict(env))


def settings_help() -> str:
    """The settings part of --help: SETTINGS by group, each with its help and its default.
    Example line (a longer help wraps under itself):
        "    PORT                   port to listen on; 0 picks a free one           (8082)"
    """
    import textwrap  # only --help needs it

    lines = []
    for group in dict.fromkeys(setting.group for setting in SETTINGS):
        lines.append(f"  {group}")
        for setting in [s for s in SETTINGS if s.group == group]:
            first, *more = textwrap.wrap(setting.help, 46)
            lines.append(f"    {setting.variable:<22} {first:<48}({shown_default(setting) or 'unset'})")
            lines += [f"{'':27}{line}" for line in more]
    return "\n".join(lines)


def parse_dotenv(text: str) -> dict:
    """The variables of a .env file. Example: 'export A=1\nB="two words"  # note\n# c' ->
    {"A": "1", "B": "two words"}. Lines that are not NAME=VALUE are ignored."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, eq, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name.isidentifier():
            continue
        if value[:1] in ("'", '"') and value[:1] in value[1:]:
            value = value[1:value.index(value[0], 1)]
        else:
            value = value.split(" #", 1)[0].strip()
        out[name] = value
    return out

# ----------------------------------------------------------------------------------------
# provider knowledge: every quirk lives in these tables and nowhere else
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Provider:
    """What the proxy must know about one litellm provider prefix.

    key_env: variables holding its key, the first one set wins; a provider listed in
    PROVIDERS with key_env gets a 401 naming them when none is set. base_env: variables
    holding a base URL override; default_base: the base URL when none is set, where
    litellm would otherwise read a variable of the client's (ANTHROPIC_BASE_URL, which
    points at this proxy when both run from one shell). later_system: accepts {"role": "system"} messages after
    the first one (otherwise they are merged into the leading system prompt).
    const_as_enum: its tool schemas cannot say `const`. user_param: takes OpenAI's `user` field.
    prompt_cache_key: takes OpenAI's `prompt_cache_key`, which routes the requests of one
    session to the same prompt cache (platform.openai.com/docs/guides/prompt-caching). top_k: takes top_k (litellm forwards it
    unchecked, and OpenAI-style APIs reject it). native_thinking: takes Anthropic thinking
    blocks in history, `thinking` as a parameter and `cache_control` on content parts.

    The direct path (the proxy's own HTTP client, for OpenAI-compatible chat completions):
    compatible: the provider speaks them at `{base}{chat_path}`, the base from base_env,
    else chat_base (no base at all: litellm serves it). The rest are what litellm does for
    the provider, so both paths send the same request: flat_text: content lists of text only
    become strings; reasoning_sampling: what its reasoning models take: "all" sampling
    parameters, "default" (OpenAI: temperature 1 only, no top_p, and max_completion_tokens
    instead of max_tokens) or "no temperature" (Moonshot); reasoning_history: its reasoning models want
    `reasoning_content` on assistant tool-call turns; thinking_switch: reasoning is switched on
    with `thinking: {"type": "enabled"}` beside reasoning_effort; effort_names: (ours, its) for
    the efforts it names otherwise (OpenRouter's highest is "xhigh", which litellm sends for "max");
    added: (field, value) litellm puts in its every request (OpenRouter's usage accounting).

    What a provider refuses outright, on both paths: images_inline_only: it takes images only
    inline (base64 `data:` URLs), so an image given by URL becomes a text part naming the URL
    (the proxy never fetches it: a request must not choose where the proxy connects);
    forced_tools_while_reasoning: False when its reasoning models (thinking on by default)
    refuse a forced tool_choice ("required" or a named function), which then becomes the
    default, "auto"; text_in_results: its turns must alternate and a function-response turn
    holds nothing but the responses (Gemini), so text that follows tool results in one user
    turn (Claude Code's <system-reminder>s) goes into the last result, and images after them
    come after a placeholder model turn (RESULTS_PLACEHOLDER).

    top_efforts: the reasoning efforts above "high" its reasoning models take, whatever litellm's
    map says of a model (DeepSeek's "max", api-docs.deepseek.com/guides/thinking_mode); the map
    adds a model's own (supports_xhigh_reasoning_effort, reasoning_effort_levels), see efforts_of.

    stops: the most stop sequences it takes (OpenAI 4: help.openai.com/en/articles/5072263; Gemini 5:
    ai.google.dev/api/generate-content#generationconfig); it gets the first ones, and the proxy
    ends the reply itself at the others (StopScanTranslator). 0: no limit.

    resells: its models are other providers' models, named `<vendor>/<model>` (OpenRouter's
    "moonshotai/kimi-k2"), which litellm's map does not list under its own name: their facts
    (vision, reasoning, limits, prices) are the vendor's model's (VENDORS, model_facts).

    The passthrough path (AnthropicPath), for providers that speak Anthropic's Messages API
    themselves at {base}/v1/messages: messages_api says so, and the request goes on as the client
    sent it, changed only where these say. bearer: the key goes as "Authorization: Bearer", else as
    x-api-key; model_map: litellm's prefix for the same models, whose map entries give their limits
    and prices; billing_line: it reads Claude Code's billing line (only Anthropic), else it is left
    out, as on every other path; betas: it takes the client's anthropic-beta header; refused_fields:
    top-level fields it refuses, left out; signed_thinking: it checks thinking signatures, so the
    thinking this proxy signed for another model (SIGNATURE_PREFIX) is left out of the history;
    effort_needs_thinking: it refuses output_config.effort beside thinking {"type": "disabled"};
    counts_tokens: it answers {base}/v1/messages/count_tokens (else the proxy's estimate answers, and
    litellm is never imported for the path).

    responses_path: it also serves OpenAI's Responses API at `{base}{responses_path}`, which the
    models litellm's map marks `mode: responses` need (OpenAI's codex and pro models answer
    nowhere else), and which a target named `<prefix>/responses/<model>` asks for (litellm's own
    way of naming it); see answers_on_responses.

    generate_content: the provider speaks Google's generateContent API (Gemini on AI Studio):
    the direct path's GeminiPath posts to `{base}/models/{model}:generateContent` (or
    `:streamGenerateContent?alt=sse`), the base from base_env (with litellm's meaning: it holds
    the API version) else chat_base, the key in x-goog-api-key.
    """

    key_env: tuple[str, ...] = ()
    base_env: tuple[str, ...] = ()
    default_base: str = ""
    later_system: bool = False
    user_param: bool = False
    prompt_cache_key: bool = False
    top_k: bool = False
    native_thinking: bool = False
    const_as_enum: bool = False
    compatible: bool = False
    chat_base: str = ""
    chat_path: str = "/chat/completions"
    flat_text: bool = False
    reasoning_sampling: str = "all"
    reasoning_history: bool = False
    thinking_switch: bool = False
    images_inline_only: bool = False
    forced_tools_while_reasoning: bool = True
    text_in_results: bool = False
    top_efforts: tuple = ()
    resells: bool = False
    effort_names: tuple = ()
    added: tuple = ()
    messages_api: bool = False
    bearer: bool = False
    model_map: str = ""
    billing_line: bool = False
    betas: bool = False
    refused_fields: tuple = ()
    signed_thinking: bool = False
    effort_needs_thinking: bool = False
    counts_tokens: bool = False
    responses_path: str = ""
    generate_content: bool = False
    stops: int = 0


PROVIDERS: dict[str, Provider] = {
    "openai": Provider(("OPENAI_API_KEY",), ("OPENAI_BASE_URL", "OPENAI_API_BASE"), later_system=True, user_param=True,
                       prompt_cache_key=True, compatible=True, chat_base="https://api.openai.com/v1", reasoning_sampling="default",
                       responses_path="/responses", stops=4),
    "groq": Provider(("GROQ_API_KEY",), ("GROQ_API_BASE",), later_system=True,
                     compatible=True, chat_base="https://api.groq.com/openai/v1"),
    "moonshot": Provider(("MOONSHOT_API_KEY",), ("MOONSHOT_API_BASE",), later_system=True,
                         compatible=True, chat_base="https://api.moonshot.ai/v1", flat_text=True,
                         reasoning_sampling="no temperature", reasoning_history=True,
                         images_inline_only=True, forced_tools_while_reasoning=False),
    "openrouter": Provider(("OPENROUTER_API_KEY",), ("OPENROUTER_API_BASE",), later_system=True, top_k=True,
                           compatible=True, chat_base="https://openrouter.ai/api/v1", resells=True,
                           effort_names=(("max", "xhigh"),), added=(("usage", {"include": True}),)),
    "gemini": Provider(("GEMINI_API_KEY", "GOOGLE_API_KEY"), ("GEMINI_API_BASE",), top_k=True, const_as_enum=True,
                       text_in_results=True, generate_content=True, stops=5,
                       chat_base="https://generativelanguage.googleapis.com/v1beta"),
    "vertex_ai": Provider((), ("VERTEX_API_BASE",), top_k=True, const_as_enum=True, text_in_results=True),
    # Anthropic itself, on the passthrough path (PROXY_VIA=litellm: through litellm). Its key goes as
    # x-api-key; it verifies thinking signatures ("Invalid `signature` in `thinking` block" otherwise,
    # docs.claude.com/en/docs/build-with-claude/extended-thinking#thinking-encryption).
    "anthropic": Provider(("ANTHROPIC_API_KEY",), ("ANTHROPIC_API_BASE",), "https://api.anthropic.com",
                          top_k=True, native_thinking=True, messages_api=True, billing_line=True, betas=True,
                          signed_thinking=True, counts_tokens=True),
    # Providers' own Anthropic-compatible endpoints: "<provider>-anthropic/<model>", the provider's
    # key (the same as for its litellm prefix), a base URL in <PROVIDER>_ANTHROPIC_API_BASE.
    # api-docs.deepseek.com/guides/anthropic_api: base .../anthropic, x-api-key; tool_choice is refused
    # on its thinking models (Claude Code's WebSearch, deepseek-ai/awesome-deepseek-integration#606), and
    # output_config.effort beside disabled thinking ("thinking options type cannot be disabled when
    # reasoning_effort is set", Claude Code's subagents, anthropics/claude-code#65863).
    "deepseek-anthropic": Provider(("DEEPSEEK_API_KEY",), ("DEEPSEEK_ANTHROPIC_API_BASE",), "https://api.deepseek.com/anthropic",
                                   native_thinking=True, messages_api=True, model_map="deepseek",
                                   refused_fields=("tool_choice",), effort_needs_thinking=True),
    # Kimi: base .../anthropic (api.moonshot.cn/anthropic in China), the key as ANTHROPIC_AUTH_TOKEN, a bearer token
    # (kimi-k25.com/blog/kimi-k2-5-claude-code, after Moonshot's guide).
    "moonshot-anthropic": Provider(("MOONSHOT_API_KEY",), ("MOONSHOT_ANTHROPIC_API_BASE",), "https://api.moonshot.ai/anthropic",
                                   native_thinking=True, messages_api=True, bearer=True, model_map="moonshot"),
    # Zhipu GLM (z.ai; open.bigmodel.cn/api/anthropic in China): the key as ANTHROPIC_AUTH_TOKEN, a bearer token
    # (Z.ai's Claude Code setup, as jackin.tailrocks.com/guides/authentication/zai quotes it).
    "zai-anthropic": Provider(("ZAI_API_KEY",), ("ZAI_ANTHROPIC_API_BASE",), "https://api.z.ai/api/anthropic",
                              native_thinking=True, messages_api=True, bearer=True, model_map="zai"),
    # platform.minimax.io/docs/api-reference/text-anthropic-api (api.minimaxi.com in China): "HTTP: Bearer Auth".
    "minimax-anthropic": Provider(("MINIMAX_API_KEY",), ("MINIMAX_ANTHROPIC_API_BASE",), "https://api.minimax.io/anthropic",
                                  native_thinking=True, messages_api=True, bearer=True, model_map="minimax"),
    # Alibaba Model Studio (alibabacloud.com/help/doc-detail/2980295.html): .../apps/anthropic, x-api-key;
    # dashscope.aliyuncs.com/apps/anthropic in China.
    "dashscope-anthropic": Provider(("DASHSCOPE_API_KEY",), ("DASHSCOPE_ANTHROPIC_API_BASE",),
                                    "https://dashscope-intl.aliyuncs.com/apps/anthropic",
                                    native_thinking=True, messages_api=True, model_map="dashscope"),
    # openrouter.ai/docs/guides/guides/coding-agents: base https://openrouter.ai/api, the key as ANTHROPIC_AUTH_TOKEN (bearer).
    "openrouter-anthropic": Provider(("OPENROUTER_API_KEY",), ("OPENROUTER_ANTHROPIC_API_BASE",), "https://openrouter.ai/api",
                                     native_thinking=True, messages_api=True, bearer=True, model_map="openrouter"),
    # Ollama >= 0.14 (docs.ollama.com/api/anthropic-compatibility): the server's root; no key locally,
    # ollama.com takes only "Authorization: Bearer". Its base is OLLAMA_API_BASE, as for litellm's ollama/.
    "ollama-anthropic": Provider((), ("OLLAMA_API_BASE",), "http://localhost:11434",
                                 native_thinking=True, messages_api=True, bearer=True, model_map="ollama"),
    "deepseek": Provider(("DEEPSEEK_API_KEY",), ("DEEPSEEK_API_BASE",), later_system=True,
                         compatible=True, chat_base="https://api.deepseek.com", flat_text=True,
                         reasoning_history=True, thinking_switch=True, top_efforts=("max",)),
    # Local and self-hosted servers: no key required; litellm's own base URL variables.
    "ollama": Provider((), ("OLLAMA_API_BASE",), compatible=True, chat_base="http://localhost:11434",
                       chat_path="/v1/chat/completions"),
    "ollama_chat": Provider((), ("OLLAMA_API_BASE",), compatible=True, chat_base="http://localhost:11434",
                            chat_path="/v1/chat/completions"),
    "lm_studio": Provider((), ("LM_STUDIO_API_BASE",), later_system=True, compatible=True),
    "hosted_vllm": Provider((), ("HOSTED_VLLM_API_BASE",), later_system=True, top_k=True, compatible=True),
    "litellm_proxy": Provider((), ("LITELLM_PROXY_API_BASE",), later_system=True, compatible=True),
}


def provider_for(name: str) -> Provider:
    """The table entry for a provider prefix; unknown providers get the conventional
    variable names and no 401 check (litellm reports their missing credentials)."""
    if name in PROVIDERS:
        return PROVIDERS[name]
    return Provider(key_env=(), base_env=(f"{variable_prefix(name)}_API_BASE",))


def variable_prefix(name: str) -> str:
    """The start of a provider's variable names. Example: "nano-gpt" -> "NANO_GPT"."""
    return name.upper().replace("-", "_")


def key_names(name: str) -> tuple:
    """The variables that may hold a provider's key, the first one set wins: its row's key_env,
    else {PREFIX}_API_KEY. Example: "gemini" -> ("GEMINI_API_KEY", "GOOGLE_API_KEY");
    "xai" -> ("XAI_API_KEY",)."""
    return provider_for(name).key_env or (f"{variable_prefix(name)}_API_KEY",)


def configured_base(quirks: Provider, env: Mapping[str, str]) -> str:
    """A provider's base URL from its variables (the first one set), else "": each use has its
    own default (litellm's own, default_base, or the direct path's chat_base)."""
    return next((env[name].strip() for name in quirks.base_env if env.get(name, "").strip()), "")


# The facts (as litellm's map words them) of popular models litellm does not map; where it
# maps a model, its own figures win. Groq's text models take no images (console.groq.com/docs/vision).
MODEL_FACTS = {
    "groq/moonshotai/kimi-k2-instruct": {"max_input_tokens": 131072, "max_output_tokens": 16384, "supports_vision": False},
    "groq/moonshotai/kimi-k2-instruct-0905": {"max_input_tokens": 262144, "max_output_tokens": 16384,
                                              "supports_vision": False},
    "groq/llama-3.3-70b-versatile": {"max_input_tokens": 131072, "max_output_tokens": 32768, "supports_vision": False},
    "groq/llama-3.1-8b-instant": {"max_input_tokens": 131072, "max_output_tokens": 131072, "supports_vision": False},
    "groq/qwen/qwen3-32b": {"max_input_tokens": 131072, "max_output_tokens": 40960, "supports_vision": False},
    # OpenRouter's own facts of a model, over its vendor's: text only (openrouter.ai/moonshotai/kimi-k2); no endpoint
    # takes a forced tool_choice, "No endpoints found that support the provided 'tool_choice' value" (zed-industries/zed#36094)
    "openrouter/moonshotai/kimi-k2": {"max_input_tokens": 131072, "max_output_tokens": 16384, "supports_vision": False},
    "openrouter/z-ai/glm-4.5-air": {"supports_tool_choice": False},
}

# OpenRouter's vendor names that are not litellm's provider names for the same models.
VENDORS = {"moonshotai": "moonshot", "z-ai": "zai", "x-ai": "xai", "google": "gemini", "mistralai": "mistral"}

# Statuses (as the client sees them) after which FALLBACK_MODELS are tried.
RETRYABLE = frozenset({429, 500, 502, 503, 504, 529})

# OpenAI finish_reason -> Anthropic stop_reason.
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

# Gemini's finishReason -> OpenAI's finish_reason, as litellm maps them (so both paths end a turn
# alike), except None: an answer that is an error, a function call Gemini could not form or one it
# was not offered (ai.google.dev/api/generate-content#FinishReason). Others are "stop".
GEMINI_FINISH = {
    "STOP": "stop", "MAX_TOKENS": "length", "TOO_MANY_TOOL_CALLS": "stop", "FINISH_REASON_UNSPECIFIED": "stop",
    "SAFETY": "content_filter", "RECITATION": "content_filter", "LANGUAGE": "content_filter", "OTHER": "content_filter",
    "BLOCKLIST": "content_filter", "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter", "MALFORMED_FUNCTION_CALL": None, "UNEXPECTED_TOOL_CALL": None,
}

# Gemini's thinkingBudget for each effort, on the models before Gemini 3 (litellm's
# DEFAULT_REASONING_EFFORT_*_THINKING_BUDGET, so both paths ask for the same); Gemini 3 and later
# take the effort as thinkingLevel (ai.google.dev/gemini-api/docs/thinking).
GEMINI_BUDGETS = {"low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 16384}
GEMINI_BUDGET_MODELS = re.compile(r"gemini-(?:[12](?:\.\d+)?|exp|pro|flash)(?:-|$)")

# What a Gemini function declaration's schema may hold: a subset of OpenAPI 3.0 (ai.google.dev/api/caching#Schema);
# any other keyword is a 400 ("Invalid JSON payload received. Unknown name ..."), and so is a format
# its type does not list.
GEMINI_SCHEMA_FIELDS = frozenset("""type format title description nullable enum maxItems minItems properties required
minProperties maxProperties minLength maxLength pattern example anyOf propertyOrdering default items minimum maximum""".split())
GEMINI_FORMATS = {"string": ("enum", "date-time"), "integer": ("int32", "int64"), "number": ("float", "double")}
# Object and array levels a declaration's schema may nest: Gemini refuses deeper ones ("A FunctionDeclaration in the
# request exceeds the maximum allowed nesting depth", google-gemini/gemini-cli#5923, #6031); deeper levels lose their shape.
GEMINI_SCHEMA_DEPTH = 10

# The signature Gemini 3 takes on a function call of the history that has none of its own (one another
# model made): "skip_thought_signature_validator" (ai.google.dev/gemini-api/docs/thought-signatures, FAQ).
SKIP_SIGNATURE = "skip_thought_signature_validator"

# Anthropic's error type for each status the proxy answers with.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    411: "invalid_request_error",
    413: "request_too_large",
    414: "invalid_request_error",
    429: "rate_limit_error",
    431: "request_too_large",
    500: "api_error",
    501: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# A provider's HTTP status -> the status the client sees (the type follows ERROR_TYPES).
UPSTREAM_STATUS = {
    400: 400, 401: 401, 402: 402, 403: 403, 404: 404, 408: 504, 409: 500, 413: 413,
    422: 400, 429: 429, 500: 500, 502: 500, 503: 529, 504: 504, 529: 529,
}

# Claude-style model ids listed by GET /v1/models, with the tier each routes through.
MODEL_LIST = (
    ("claude-opus-5-5", "Claude Opus 5.5", "big"),
    ("claude-sonnet-5-5", "Claude Sonnet 5.5", "big"),
    ("claude-haiku-5-5", "Claude Haiku 5.5", "small"),
    ("claude-opus-4-8", "Claude Opus 4.8", "big"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "big"),
    ("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "small"),
)

MODEL_CREATED_AT = "2025-10-01T00:00:00Z"

# Thinking blocks this proxy produces carry SIGNATURE_PREFIX + the routed model; from a Responses
# API model, then REASONING_MARK and the reasoning item's encrypted content (see thinking_signature).
SIGNATURE_PREFIX = "claude_proxy:"
REASONING_MARK = "#"  # no model name holds it (MODEL_NAME)

# How a chat message's thinking_blocks carry a Responses reasoning item's encrypted content: in
# the signature, after this prefix, which is litellm's own (its Responses bridge reads it back),
# so both paths replay reasoning from the same chat messages.
ENCRYPTED_PREFIX = "litellm_encrypted_reasoning:"

# litellm's provider prefixes (1.110), so routing a name needs no import; a prefix missing
# here is looked up in litellm itself, once.
LITELLM_PROVIDERS = frozenset("""
a2a a2a_agent abliteration ai21 ai21_chat aiand aiml aiohttp_openai amazon_nova anthropic anthropic_text apertis
assemblyai auto_router aws_polly aws_textract azure azure_ai azure_speech azure_text baseten bedrock bedrock_mantle
bespoke bigmodel black_forest_labs bytez cerebras charity_engine chatgpt chutes clarifai clf_ai_gateway cloudflare
codestral cognition cohere cohere_chat cometapi compactifai coralbricks cortecs cursor custom custom_openai darkbloom
dashscope databricks databricks_agent datarobot deepgram deepinfra deepseek docker_model_runner dotprompt edenai
elevenlabs empiriolabs empower eu_jev fal_ai featherless_ai fireworks_ai friendliai galadriel gdc gemini gigachat
github github_copilot gradient_ai groq helicone heroku hosted_vllm hostinger_router huggingface humanloop hyperbolic
inception inferenceapis infinity jina_ai kyma lambda_ai langflow langfuse langgraph laya lemonade libertai
litellm_agent litellm_proxy llamafile lm_studio manus maritalk meta meta_llama microsoft_365_copilot milvus minimax
mistral modelscope mongodb moonshot morph nace nadir nano-gpt nebius neosantara nlp_cloud novita nscale nvidia_nim
nvidia_riva oci ollama ollama_chat oobabooga openai openai_like opencode_go openinfer openrouter opensearch ovhcloud
parallel_ai parasail perplexity petals pg_vector pinstripes poe predibase prism publicai qwen_ai_platform qwencloud
ragflow recraft reducto refuseless reka replicate runwayml s3_vectors sagemaker sagemaker_chat sagemaker_nova sail
sambanova sap scaledown scaleway scx-ai snowflake soniox stability strands_decider streamlake synthetic tencent
tensormesh text-completion-codestral text-completion-inception text-completion-openai together_ai topaz transcribe
triton typesafe v0 valkey vercel_ai_gateway vertex_ai vertex_ai_beta vllm volcengine voyage wally wandb watsonx
watsonx_text xai xiaomi_mimo xinference zai zerogpu
""".split()) | frozenset(PROVIDERS)


class ProviderNames(frozenset):
    """The provider prefixes: the table above, then (for a prefix it lacks) litellm's own list."""

    def __contains__(self, name) -> bool:
        return frozenset.__contains__(self, name) or name in _installed_provider_names()


_installed_names: frozenset | None = None


def _installed_provider_names() -> frozenset:
    global _installed_names
    if _installed_names is None:
        try:
            _installed_names = frozenset(getattr(p, "value", p) for p in load_litellm().provider_list)
        except ImportError:
            _installed_names = frozenset()
    return _installed_names


PROVIDER_NAMES = ProviderNames(LITELLM_PROVIDERS)


def provider_names() -> frozenset:
    return PROVIDER_NAMES


_model_map: dict | None = None

RESPONSES_MARK = "responses/"  # after a provider prefix: the model, on the Responses API (litellm's convention)

_model_map_lock = threading.Lock()

FACT_FIELDS = ("litellm_provider", "max_input_tokens", "max_output_tokens", "supports_reasoning", "supports_vision",
               "supports_tool_choice",
               "input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost",
               "cache_creation_input_token_cost", "output_cost_per_reasoning_token",
               "supports_xhigh_reasoning_effort", "supports_max_reasoning_effort", "reasoning_effort_levels", "mode")


def _load_model_map() -> dict:
    """litellm's model map (the JSON file in its package, which it reads itself with
    LITELLM_LOCAL_MODEL_COST_MAP), read without importing litellm: name -> the few facts the
    proxy uses. About 30 ms once; {} when litellm is not installed."""
    global _model_map
    if _model_map is None:
        with _model_map_lock:
            if _model_map is None:
                facts = {}
                try:
                    spec = importlib.util.find_spec("litellm")
                    folder = spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else ""
                    with open(os.path.join(folder, "model_prices_and_context_window_backup.json"), "rb") as handle:
                        entries = json.load(handle)
                    for name, entry in entries.items():
                        if isinstance(entry, dict) and entry.get("mode") in (None, "chat", "responses"):
                            facts[name] = {k: entry[k] for k in FACT_FIELDS if k in entry}
                except (OSError, ValueError, ImportError):
                    log.debug("litellm's model map could not be read; model limits unknown", exc_info=True)
                _model_map = facts
    return _model_map


def model_facts(target: str) -> dict:
    """What litellm's model map says of a target (window, output limit, reasoning, vision),
    found as litellm.get_model_info finds it: the full name, else the name without its
    prefix when the entry belongs to that provider; MODEL_FACTS fill in what it lacks. A reseller's
    model (Provider.resells) has its vendor's facts, MODEL_FACTS' row for it over them. {} for
    a model neither knows. A "responses/" after the prefix (litellm's way of asking for the
    Responses API) names the same model, in mode "responses".
    Example: "openai/gpt-4.1" -> {"max_input_tokens": 1047576, "max_output_tokens": 32768, ...};
    "openai/responses/gpt-4.1" -> the same and {"mode": "responses"}."""
    prefix, _, model = target.partition("/")
    if model.startswith(RESPONSES_MARK):
        return dict(model_facts(f"{prefix}/{model[len(RESPONSES_MARK):]}"), mode="responses")
    facts = _load_model_map()
    prefix, _, model = target.partition("/")
    if provider_for(prefix).model_map:  # "deepseek-anthropic/deepseek-chat": litellm knows it as "deepseek/deepseek-chat"
        target = f"{provider_for(prefix).model_map}/{model}"
    entry = facts.get(target)
    prefix, _, model = target.partition("/")
    if entry is None:
        entry = facts.get(model)
        if not (entry and str(entry.get("litellm_provider", "")).startswith(prefix)):
            entry = {}
    extra = MODEL_FACTS.get(target)
    if not entry and "/" in model and provider_for(prefix).resells:  # the vendor's facts, under our own row's
        vendor, _, name = model.partition("/")
        return dict(model_facts(f"{VENDORS.get(vendor, vendor)}/{name}"), **(extra or {}))
    return dict(extra, **entry) if extra else entry


def accepts_images(facts: dict) -> bool:
    """Whether a model takes images: what its facts say; a model no map knows is given them
    (its provider decides). Example: {"supports_vision": False} -> False; {} -> True."""
    return not facts or bool(facts.get("supports_vision"))


def model_prices(target: str, facts: dict, config: Config) -> Prices | None:
    """A target's prices: MODEL_PRICES' entry for it, else litellm's map (its facts), else None.
    Example: "openai/gpt-4.1" -> Prices(input=2e-06, output=8e-06, cached=5e-07, ...)."""
    for model, prices in config.model_prices:
        if model == target:
            return prices
    if not isinstance(facts.get("input_cost_per_token"), (int, float)) or not isinstance(
            facts.get("output_cost_per_token"), (int, float)):
        return None
    return Prices(facts["input_cost_per_token"], facts["output_cost_per_token"], facts.get("cache_read_input_token_cost"),
                  facts.get("cache_creation_input_token_cost"), facts.get("output_cost_per_reasoning_token"))


def model_limits(target: str, info: dict) -> tuple:
    """(context window, output limit) of a model: litellm's map, else MODEL_FACTS', else None."""
    known = MODEL_FACTS.get(target, {})
    return (info.get("max_input_tokens") or known.get("max_input_tokens"),
            info.get("max_output_tokens") or known.get("max_output_tokens"))



class SearchProvider(NamedTuple):
    """What the proxy must know about one of litellm's search providers (litellm.search), where it
    differs from the rule: key in {PREFIX}_API_KEY, base URL in {PREFIX}_API_BASE (PREFIX as
    variable_prefix makes it), each read by litellm's own transformation for the provider.
    blocked: the provider's own request field for domains to leave out, where it has one (allowed
    domains go as litellm's search_domain_filter, which each provider maps itself); country:
    whether it takes user_location's ISO country code (litellm's `country`); needs_base: it has no
    public default (a self-hosted server), so without its base URL there is no search; needs_key:
    it takes no search without a key."""

    key_env: tuple = ()
    base_env: tuple = ()
    blocked: str = ""
    country: bool = True
    needs_base: bool = False
    needs_key: bool = True


# The variables litellm 1.110's search transformations read (llms/<provider>/search/transformation.py).
SEARCH_PROVIDERS = {
    # docs.tavily.com/documentation/api-reference/endpoint/search: exclude_domains; `country` takes a
    # country's name ("united states"), not the ISO code Anthropic's user_location gives
    "tavily": SearchProvider(blocked="exclude_domains", country=False),
    "exa_ai": SearchProvider(("EXA_API_KEY",), ("EXA_API_BASE",), blocked="excludeDomains"),  # docs.exa.ai/reference/search
    "perplexity": SearchProvider(("PERPLEXITYAI_API_KEY",), ("PERPLEXITY_API_BASE",)),
    "parallel_ai": SearchProvider(("PARALLEL_AI_API_KEY", "PARALLEL_API_KEY"), blocked="exclude_domains"),
    "you_com": SearchProvider(("YOUCOM_API_KEY",), ("YOUCOM_API_BASE",)),
    "fastcrw": SearchProvider(("CRW_API_KEY",), ("CRW_API_BASE",)),
    "searxng": SearchProvider(needs_base=True, needs_key=False),  # a key only where the server wants one
    "duckduckgo": SearchProvider(needs_key=False),
}


def search_provider(name: str) -> SearchProvider:
    """A search provider's row, the rule filled in. Example: "brave" -> key_env ("BRAVE_API_KEY",),
    base_env ("BRAVE_API_BASE",); "exa_ai" -> ("EXA_API_KEY",), ("EXA_API_BASE",)."""
    row = SEARCH_PROVIDERS.get(name, SearchProvider())
    prefix = variable_prefix(name)
    return row._replace(key_env=row.key_env or (f"{prefix}_API_KEY",), base_env=row.base_env or (f"{prefix}_API_BASE",))

# ----------------------------------------------------------------------------------------
# model routing: one function, used by every endpoint; a target's key and URL
# ----------------------------------------------------------------------------------------


class Caller(NamedTuple):
    """Who sent a request, as Claude Code tells it. session: its session id (the
    X-Claude-Code-Session-Id header, else the session_id in metadata.user_id); agent: a
    subagent's id (x-claude-code-agent-id); subagent: that header, or cc_is_subagent=true in
    the billing line Claude Code puts first in its system prompt; app: the x-app header; betas:
    its anthropic-beta header, the names only (beta_names), for a provider that takes them."""

    session: str = ""
    agent: str = ""
    subagent: bool = False
    app: str = ""
    betas: str = ""


BETA_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def beta_names(value) -> str:
    """The beta names of an anthropic-beta header, comma-joined, anything else left out (so the
    header the proxy sends on can carry nothing but names). Example: "a-2025, b\r\nX: y" -> "a-2025"."""
    return ",".join(name for name in (part.strip() for part in str(value or "").split(",")[:50])
                    if BETA_NAME.fullmatch(name))


BILLING_LINE = "x-anthropic-billing-header:"  # the start of Claude Code's first system block


def caller_of(headers, body: dict) -> Caller:
    """Example: headers {"X-Claude-Code-Session-Id": "s1", "x-claude-code-agent-id": "a1f"} ->
    Caller(session="s1", agent="a1f", subagent=True, app="")."""
    session = (headers.get("X-Claude-Code-Session-Id") or "").strip()
    if not session:
        user = (body.get("metadata") or {}).get("user_id") if isinstance(body.get("metadata"), dict) else None
        try:
            parsed = json.loads(user) if isinstance(user, str) and user.startswith("{") else None
        except ValueError:
            parsed = None
        session = str(parsed.get("session_id") or "") if isinstance(parsed, dict) else ""
    agent = (headers.get("x-claude-code-agent-id") or "").strip()
    system = body.get("system")
    first = system[0].get("text", "") if isinstance(system, list) and system and isinstance(system[0], dict) else (
        system if isinstance(system, str) else "")
    billing = first.split("\n", 1)[0] if first.startswith(BILLING_LINE) else ""
    return Caller(session[:200], agent[:200], bool(agent) or "cc_is_subagent=true" in billing,
                  (headers.get("x-app") or "").strip()[:50], beta_names(headers.get("anthropic-beta")))


def route_model(requested: str, config: Config, providers, *, thinking: bool = False, images: bool = False,
                input_tokens: int = 0, subagent: bool = False) -> str:
    """The litellm model string for a requested model name and what the request needs.

    A name with a provider prefix is the client's explicit choice and passes unchanged, and
    so does a target picked by its picker id (picked_target: "claude-via-groq--llama-3.1-8b-instant");
    a bare non-Claude name gets PREFERRED_PROVIDER's prefix. A Claude name goes, in order of
    precedence, to LONG_CONTEXT_MODEL (counted input above LONG_CONTEXT_THRESHOLD),
    VISION_MODEL (images, unless VISION_MODE=describe), SUBAGENT_MODEL (a subagent's request), THINK_MODEL (thinking
    asked for), then its tier: haiku -> SMALL_MODEL, opus -> OPUS_MODEL, sonnet ->
    MIDDLE_MODEL, all else -> BIG_MODEL (each of the three falling back to BIG_MODEL when
    unset). A window suffix ("[1m]", which Claude Code's own ids carry) never changes a route.

    Examples (BIG_MODEL=gpt-4.1, SMALL_MODEL=groq/llama-3.1-8b-instant, PREFERRED_PROVIDER=openai):
        claude-haiku-4-5-20251001   -> groq/llama-3.1-8b-instant
        claude-sonnet-4-6           -> openai/gpt-4.1
        claude-opus-4-8[1m]         -> openai/gpt-4.1
        gemini/gemini-2.5-pro       -> gemini/gemini-2.5-pro   (provider prefix: unchanged)
        claude-via-gemini--gemini-2.5-pro[1m] -> gemini/gemini-2.5-pro   (a picker id)
        gpt-4o                      -> openai/gpt-4o
    """
    name = WINDOW_SUFFIX.sub("", requested.strip())
    if _has_provider(name, providers):
        return name
    picked = picked_target(name, config, providers)
    if picked:
        return picked
    lowered = name.lower()
    if not (lowered.startswith("claude") or any(tier in lowered for tier in ("haiku", "sonnet", "opus"))):
        return qualify(name, config, providers)
    if config.long_context_model and input_tokens > config.long_context_threshold:
        target = config.long_context_model
    elif config.vision_model and images and config.vision_mode == "route":
        target = config.vision_model
    elif config.subagent_model and subagent:
        # before THINK_MODEL: Claude Code's subagents ask for thinking as its main loop does
        target = config.subagent_model
    elif config.think_model and thinking:
        target = config.think_model
    elif "haiku" in lowered:
        target = config.small_model
    elif "opus" in lowered:
        target = config.opus_model or config.big_model
    elif "sonnet" in lowered:
        target = config.middle_model or config.big_model
    else:
        target = config.big_model
    return qualify(target, config, providers)


def qualify(target: str, config: Config, providers) -> str:
    """A target with its provider prefix: bare names get PREFERRED_PROVIDER's."""
    return target if _has_provider(target, providers) else f"{config.preferred_provider}/{target}"


# Claude Code marks a model with a 1M-token window by this suffix on its id (and assumes 200k
# without); the suffix is the client's note, never part of a route.
WINDOW_SUFFIX = re.compile(r"\[\d+m\]$", re.IGNORECASE)

# The picker ids of GET /v1/models: this prefix, then the target with each "/" as "--", so the
# id names its target and contains "claude" (Claude Code's model discovery keeps no other ids).
PICKER_PREFIX = "claude-via-"

LARGE_WINDOW = 1_000_000  # input tokens from which a picker id carries "[1m]"


def picker_id(target: str) -> str:
    """The id under which GET /v1/models offers a target.
    Example: "groq/moonshotai/kimi-k2-instruct" -> "claude-via-groq--moonshotai--kimi-k2-instruct";
    "openai/gpt-4.1" (a 1,047,576-token window) -> "claude-via-openai--gpt-4.1[1m]"."""
    window = model_limits(target, model_facts(target))[0]
    return PICKER_PREFIX + target.replace("/", "--") + ("[1m]" if window and window >= LARGE_WINDOW else "")


def offered_targets(config: Config, providers) -> dict:
    """Every target the configuration routes to or offers (EXTRA_MODELS), qualified, in order,
    each with the variables that name it. Example: {"openai/gpt-4.1": ["BIG_MODEL", "THINK_MODEL"], ...}."""
    offered: dict = {}
    for variable, value in configured_targets(config):
        offered.setdefault(qualify(value, config, providers), []).append(variable)
    return offered


def picked_target(name: str, config: Config, providers) -> str | None:
    """The target a picker id names (picker_id, its window suffix removed), else None: an
    offered target whose id it is, else the id read back ("--" -> "/"), qualified.
    Example: "claude-via-groq--llama-3.1-8b-instant" -> "groq/llama-3.1-8b-instant"."""
    if not name.startswith(PICKER_PREFIX) or len(name) == len(PICKER_PREFIX):
        return None
    for target in offered_targets(config, providers):
        if WINDOW_SUFFIX.sub("", picker_id(target)) == name:
            return target
    return qualify(name[len(PICKER_PREFIX):].replace("--", "/"), config, providers)


def request_needs(body: dict) -> tuple[bool, bool]:
    """(asks for thinking, carries images) for a validated request; routing acts on both.

    Example: {"thinking": {"type": "adaptive"}, "messages": [{"role": "user", "content":
    [{"type": "tool_result", "content": [{"type": "image", ...}]}]}]} -> (True, True).
    """
    thinking = isinstance(body.get("thinking"), dict) and body["thinking"].get("type") in ("enabled", "adaptive")
    return thinking, any(_has_image(m.get("content")) for m in body["messages"])


def _has_image(content) -> bool:
    if not isinstance(content, list):
        return False
    return any(isinstance(b, dict) and (b.get("type") == "image" or (b.get("type") == "tool_result" and _has_image(b.get("content"))))
               for b in content)


def _has_provider(name: str, providers) -> bool:
    prefix, slash, _ = name.partition("/")
    return bool(slash) and prefix in providers


def tier_target(tier: str, config: Config) -> str:
    return config.small_model if tier == "small" else config.big_model


# Tool names longer than this are shortened (OpenAI's limit; Gemini's is close) and restored in replies.
TOOL_NAME_LIMIT = 64


def short_tool_name(name: str) -> str:
    """A tool name that fits TOOL_NAME_LIMIT: long names keep their start and gain a hash,
    so the shortening is the same every turn and can be undone from the request's tools.
    Example: "mcp__" + "x" * 70 -> "mcp__xxx...x_1a2b3c4d" (64 characters)."""
    if len(name) <= TOOL_NAME_LIMIT:
        return name
    return f"{name[:TOOL_NAME_LIMIT - 9]}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


def tool_name_map(body: dict) -> dict:
    """Shortened name -> original, for the long tool names of a request."""
    return {short_tool_name(t["name"]): t["name"] for t in body.get("tools") or () if len(t["name"]) > TOOL_NAME_LIMIT}


def provider_credentials(target: str, config: Config) -> dict:
    """api_key and api_base for the provider a target resolves to, from its variables.
    A provider in PROVIDERS without its key is a 401 naming the variable to set."""
    prefix = target.partition("/")[0]
    quirks = provider_for(prefix)
    out = {}
    key = next((config.env[name].strip() for name in key_names(prefix) if config.env.get(name, "").strip()), "")
    if key:
        out["api_key"] = key
    elif quirks.key_env:
        names = " or ".join(quirks.key_env)
        raise ProxyError(401, f"No API key for provider '{prefix}' (model {target}): set {names} in the proxy's environment.")
    base = configured_base(quirks, config.env) or quirks.default_base
    if base:
        out["api_base"] = base
    return out


def direct_url(target: str, config: Config) -> str | None:
    """The chat-completions URL the direct path posts a target's requests to, or None when
    litellm must serve it (PROXY_VIA=litellm, a provider that is not OpenAI-compatible, or
    one with no base URL). Example: "groq/llama-3.1-8b-instant" ->
    "https://api.groq.com/openai/v1/chat/completions"."""
    if config.via == "litellm":
        return None
    quirks = provider_for(target.partition("/")[0])
    if not quirks.compatible:
        return None
    base = configured_base(quirks, config.env) or quirks.chat_base
    if not base or not base.startswith(("http://", "https://")):
        return None
    return base.rstrip("/") + quirks.chat_path


def responses_url(target: str, config: Config, facts: dict) -> str | None:
    """The Responses API URL the direct path posts a target's requests to, or None when the
    target answers on chat completions (answers_on_responses), or litellm must serve it.
    Example: "openai/gpt-5.3-codex" (mode "responses" in litellm's map) ->
    "https://api.openai.com/v1/responses"; "openai/gpt-4.1" -> None."""
    quirks = provider_for(target.partition("/")[0])
    chat = direct_url(target, config) if answers_on_responses(quirks, facts) else None
    return chat[:len(chat) - len(quirks.chat_path)] + quirks.responses_path if chat else None


def answers_on_responses(quirks: Provider, facts: dict) -> bool:
    """Whether a model is sent to its provider's Responses API: the provider serves one and
    litellm's map (or a "responses/" target, see model_facts) says the model's mode is "responses"."""
    return bool(quirks.responses_path) and facts.get("mode") == "responses"


def gemini_url(target: str, config: Config) -> str | None:
    """The URL the direct path's GeminiPath adds ":generateContent" (or ":streamGenerateContent?alt=sse")
    to for a target, or None when litellm must serve it (PROXY_VIA=litellm, a provider that does not
    speak generateContent, no http(s) base). The base has litellm's meaning (it holds the API
    version); the model is one path segment, whatever it holds.
    Example: "gemini/gemini-2.5-flash" -> "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"."""
    prefix, _, model = target.partition("/")
    quirks = provider_for(prefix)
    if config.via == "litellm" or not quirks.generate_content:
        return None
    base = configured_base(quirks, config.env) or quirks.chat_base
    if not base.startswith(("http://", "https://")):
        return None
    return f"{base.rstrip('/')}/models/{quote(model, safe='-._')}"


# Providers whose default base URL (the direct path's chat_base or litellm's own) is this machine or
# its network. A key alone never lets a client name one (the key says nothing of where the proxy
# connects): only its base URL variable, a routed model setting or ALLOWED_PROVIDERS.
LOCAL_DEFAULTS = frozenset("""
ollama ollama_chat ollama-anthropic lm_studio hosted_vllm vllm litellm_proxy llamafile xinference lemonade docker_model_runner
langflow langgraph a2a a2a_agent oobabooga triton infinity petals openai_like custom_openai custom
""".split())

_allowed_cache: dict = {}  # id(config) -> (config, {provider: allowed}); a Config is frozen

_allowed_lock = threading.Lock()


def allowed_provider(prefix: str, config: Config) -> bool:
    """Whether a client may name a provider: the operator configured it. ALLOWED_PROVIDERS lists
    it (or is "*"); a routed model setting (BIG_MODEL ... FALLBACK_MODELS, PREFERRED_PROVIDER for
    bare names) uses it; its base URL variable is set; or its key is, unless it is LOCAL_DEFAULTS.
    So no request can make the proxy connect where its operator did not point it (a client's
    "ollama/x" would otherwise probe 127.0.0.1:11434).
    Example: {"GROQ_API_KEY": "g"} -> "groq" True, "ollama" False; {"OLLAMA_API_BASE": "http://gpu:11434"}
    -> "ollama" True; {"ALLOWED_PROVIDERS": "ollama"} -> "ollama" True (at its default base)."""
    entry = _allowed_cache.get(id(config))
    if entry is None or entry[0] is not config:
        with _allowed_lock:
            if len(_allowed_cache) > 64:
                _allowed_cache.clear()
            entry = _allowed_cache[id(config)] = (config, {})
    answers = entry[1]
    answer = answers.get(prefix)
    if answer is None:
        providers = provider_names()
        routed = {qualify(value, config, providers).partition("/")[0] for _, value in configured_targets(config)}
        env = config.env
        answer = answers[prefix] = (
            "*" in config.allowed_providers or prefix in config.allowed_providers or prefix in routed
            or prefix == config.preferred_provider or bool(configured_base(provider_for(prefix), env))
            or (prefix not in LOCAL_DEFAULTS and any(env.get(name, "").strip() for name in key_names(prefix))))
    return answer


def check_provider(target: str, config: Config):
    """A 400 naming the provider and how to allow it, for a target on a provider the operator did
    not configure (allowed_provider); checked before any call, on every path."""
    prefix = target.partition("/")[0]
    if allowed_provider(prefix, config):
        return
    quirks = provider_for(prefix)
    ways = [" or ".join(quirks.base_env)] if prefix in LOCAL_DEFAULTS else [" or ".join(key_names(prefix)),
                                                                           " or ".join(quirks.base_env)]
    raise invalid(f"The provider '{prefix}' (model {target}) is not configured on this proxy. Its operator can allow "
                  f"it: set {' or '.join(ways)}, route a model setting to it, or add {prefix} to ALLOWED_PROVIDERS.")

# ----------------------------------------------------------------------------------------
# request translation, Anthropic -> OpenAI chat format (pure)
# ----------------------------------------------------------------------------------------


# Provider model names: no spaces, queries, fragments or escapes; a window suffix ("[1m]") may end one.
MODEL_NAME = re.compile(r"[A-Za-z0-9._:/@+\-]+(?:\[\d+[mM]\])?")

MAX_TOKENS_CEILING = 2 ** 31 - 1


def _number(value, low, high) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and low <= value <= high


def _integer(value, low, high=MAX_TOKENS_CEILING) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


# A request's known top-level fields: (name, check, what it must be), checked when present and not null.
FIELD_CHECKS = (
    ("temperature", lambda v: _number(v, 0, 1), "a number from 0 to 1"),
    ("top_p", lambda v: _number(v, 0, 1), "a number from 0 to 1"),
    ("top_k", lambda v: _integer(v, 0), "a non-negative integer"),
    ("stream", lambda v: isinstance(v, bool), "a boolean"),
    ("metadata", lambda v: isinstance(v, dict) and isinstance(v.get("user_id", ""), (str, type(None))),
     "an object (with a string user_id)"),
    ("stop_sequences", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings"),
    ("system", lambda v: isinstance(v, str) or (isinstance(v, list) and all(
        isinstance(b, dict) and isinstance(b.get("text"), str) for b in v)), "a string or a list of text blocks"),
    ("thinking", lambda v: isinstance(v, dict) and isinstance(v.get("type"), str) and (
        v["type"] != "enabled" or _integer(v.get("budget_tokens"), 1)), "an object with a type (and, when enabled, "
     "an integer budget_tokens)"),
    ("tool_choice", lambda v: isinstance(v, dict) and isinstance(v.get("type"), str) and (
        v["type"] != "tool" or isinstance(v.get("name"), str)), "an object with a type (and a name for type tool)"),
    ("tools", lambda v: isinstance(v, list), "a list"),
)


def validate_request(body, *, need_max_tokens: bool) -> None:
    """Reject what Anthropic itself rejects, with a message that says where: a body that is
    not an object; a missing or mistyped model, max_tokens or messages; a known field or
    block type of the wrong shape; a tool_result with no tool_use before it. Unknown fields
    and unknown block types are never an error (new client releases add them)."""
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid("model: a non-empty string is required.")
    if len(model) > 256 or not MODEL_NAME.fullmatch(model.strip()) or ".." in model or "//" in model:
        raise invalid("model: not a valid model name (letters, digits and . _ - : / @ + only, and a window suffix like [1m]).")
    if need_max_tokens or "max_tokens" in body:
        if "max_tokens" not in body:
            raise invalid("max_tokens: Field required.")
        if not _integer(body["max_tokens"], 1):
            raise invalid(f"max_tokens: must be an integer from 1 to {MAX_TOKENS_CEILING}.")
    for name, ok, what in FIELD_CHECKS:
        if body.get(name) is not None and not ok(body[name]):
            raise invalid(f"{name}: must be {what}.")
    for i, tool in enumerate(body.get("tools") or ()):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise invalid(f"tools.{i}: each tool must be an object with a name.")
        if tool.get("input_schema") is not None and not isinstance(tool["input_schema"], dict):
            raise invalid(f"tools.{i}.input_schema: must be an object.")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise invalid("messages: a list of messages is required.")
    if not messages:
        raise invalid("messages: at least one message is required.")
    calls: set = set()  # tool_use ids of the latest assistant turn (consecutive assistant messages are one turn)
    last_role = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid(f"messages.{i}: each message must be an object.")
        role, content = message.get("role"), message.get("content")
        if role not in ("user", "assistant", "system"):
            raise invalid(f"messages.{i}.role: must be 'user' or 'assistant', got {role!r}.")
        if not isinstance(content, (str, list)):
            raise invalid(f"messages.{i}.content: must be a string or a list of content blocks.")
        if role == "user" and content == []:
            raise invalid(f"messages.{i}.content: must not be empty.")
        for j, block in enumerate(content if isinstance(content, list) else ()):
            _validate_block(block, f"messages.{i}.content.{j}", calls if role == "user" else None)
        if role == "assistant":
            ids = {b["id"] for b in content if b.get("type") == "tool_use"} if isinstance(content, list) else set()
            calls = calls | ids if last_role == "assistant" else ids
        if role != "system":
            last_role = role


# Known block types: each field that must have a type. Unknown block types pass.
BLOCK_FIELDS = {
    "text": (("text", str),),
    "image": (("source", dict),),
    "document": (("source", dict),),
    "tool_use": (("id", str), ("name", str), ("input", (dict, type(None)))),
    "tool_result": (("tool_use_id", str), ("content", (str, list, type(None)))),
    "thinking": (("thinking", str),),
}


def _validate_block(block, where: str, calls: set | None, depth: int = 0):
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise invalid(f"{where}: each content block must be an object with a type.")
    kind = block["type"]
    for field, types in BLOCK_FIELDS.get(kind, ()):
        required = not (isinstance(types, tuple) and type(None) in types)
        if (field in block or required) and not isinstance(block.get(field), types):
            raise invalid(f"{where}.{field}: a {kind} block needs {field} of the right type.")
    if kind == "tool_result":
        if calls is not None and block["tool_use_id"] not in calls:
            raise invalid(f"{where}: tool_result for {block['tool_use_id']!r}, which no tool_use in the previous "
                          "assistant message has.")
        if isinstance(block.get("content"), list) and depth < 2:
            for k, item in enumerate(block["content"]):
                _validate_block(item, f"{where}.content.{k}", None, depth + 1)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


class UnsafeJSON(ValueError):
    """JSON that parses but would be read differently by another reader (a key given twice), or
    could not be sent on as JSON (a number beyond a double's range, which becomes Infinity)."""


class _Twice(dict):
    """An object in which a key came twice (its last value kept): parse_json names the key."""

    key = ""


class _Huge(float):
    """A number beyond a double's range (inf), as written: parse_json names it."""

    literal = ""


_unsafe = [0]  # how many _Twice or _Huge were made (by any thread): parse_json looks for one only when it moved


def _unique_keys(pairs):
    obj = dict(pairs)
    if len(obj) < len(pairs):
        obj, keys = _Twice(pairs), set()
        obj.key = next(key for key, _ in pairs if key in keys or keys.add(key))
        _unsafe[0] += 1
    return obj


def _finite_float(literal):
    value = float(literal)
    if math.isinf(value):
        value = _Huge(value)
        value.literal = literal[:40]
        _unsafe[0] += 1
    return value


_request_decoder = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_unique_keys,
                                    parse_float=_finite_float)


def parse_json(data: bytes):
    """A request body: strict UTF-8, JSON without NaN or Infinity, and any lone surrogate
    escape (a JavaScript client's sliced string) replaced by U+FFFD so it can be sent on.
    Refused (UnsafeJSON, naming where): a key twice in one object, which a front proxy or a
    logger may read as its first value while this reads the last; and a number too large for
    a double (1e400), which json.loads reads as inf and json.dumps writes as Infinity.
    Example: b'{"t": "a\\ud800b"}' -> {"t": "a\ufffdb"};
    b'{"tools": [{"m": 1e400}]}' -> UnsafeJSON("tools.0.m: the number 1e400 is too large ...")."""
    text = data.decode("utf-8")
    seen = _unsafe[0]
    value = _request_decoder.decode(text)
    if _unsafe[0] != seen:  # made here, or by a parse in another thread at the same time
        found = _find(value, lambda node: type(node) in (_Twice, _Huge))
        if found:
            where, node = found
            what = (f"the key {node.key!r} appears twice in one object" if type(node) is _Twice else
                    f"the number {node.literal} is too large (it would be sent on as Infinity, which is not JSON)")
            raise UnsafeJSON(f"{where}: {what}." if where else f"{what[:1].upper()}{what[1:]}.")
    return _mend_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value


def request_json(data: bytes) -> object:
    """A request body's JSON, or a 400 that says what is wrong with it."""
    try:
        return parse_json(data)
    except UnicodeDecodeError:
        raise invalid("The request body is not valid UTF-8.") from None
    except RecursionError:
        raise invalid("The request body is nested too deeply.") from None
    except UnsafeJSON as exc:
        raise invalid(f"The request body is refused: {exc}") from None
    except ValueError as exc:
        raise invalid(f"The request body is not valid JSON: {exc}") from None


def _find(value, test) -> tuple | None:
    """(where, node): the first node of a parsed body for which test(node) is true, and where it
    lies ("" for the top), or None. Example: ({"a": [1, {"b": 2}]}, lambda n: n == 2) -> ("a.1.b", 2)."""
    stack = [("", value)]
    while stack:
        path, node = stack.pop()
        if test(node):
            return path, node
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        stack += reversed([(f"{path}.{key}" if path else str(key), item) for key, item in items])
    return None


def _mend_surrogates(value):
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_mend_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_mend_surrogates(key): _mend_surrogates(item) for key, item in value.items()}
    return value


def text_of(content) -> str:
    """The text of a string or a list of blocks. Example: [{"type": "text", "text": "a"},
    {"type": "image", ...}, {"type": "text", "text": "b"}] -> "a\\nb"."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"])


def image_part(block: dict) -> dict | None:
    """An Anthropic image block -> an OpenAI image_url part (a data URI for base64)."""
    source = block.get("source") or {}
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type") or "image/png"
        return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{source['data']}"}}
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    return None


def document_part(block: dict) -> dict | None:
    """An Anthropic document block -> a file part (PDF), or a text part (plain text)."""
    source = block.get("source") or {}
    title = block.get("title")
    kind = source.get("type")
    if kind == "text" and isinstance(source.get("data"), str):
        text = source["data"]
        return {"type": "text", "text": f"{title}\n\n{text}" if title else text}
    if kind == "content":
        text = text_of(source.get("content"))
        return {"type": "text", "text": f"{title}\n\n{text}" if title else text} if text else None
    if kind == "base64" and isinstance(source.get("data"), str):
        media_type = source.get("media_type") or "application/pdf"
        return {"type": "file", "file": {"filename": title or "document.pdf",
                                         "file_data": f"data:{media_type};base64,{source['data']}"}}
    if kind == "url" and isinstance(source.get("url"), str):
        return {"type": "file", "file": {"file_id": source["url"], "format": "application/pdf"}}
    return None


def content_parts(blocks: list, native: bool) -> list[dict]:
    """User-side blocks (text, image, document, unknown) -> OpenAI content parts.
    Unknown blocks keep their text if they have any and are dropped otherwise."""
    parts = []
    for block in blocks:
        kind = block.get("type")
        if kind == "image":
            part = image_part(block)
        elif kind == "document":
            part = document_part(block)
        elif kind in ("thinking", "redacted_thinking", "tool_use", "tool_result"):
            part = None
        else:
            text = block.get("text")
            part = {"type": "text", "text": text} if isinstance(text, str) and text else None
            if part and native and block.get("cache_control"):
                part["cache_control"] = block["cache_control"]
        if part:
            parts.append(part)
    return parts


def collapse(parts: list[dict]):
    """Text-only parts become one string (some providers take nothing else); others stay a list."""
    if all(p["type"] == "text" and "cache_control" not in p for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def adapted_images(messages: list[dict], target: str, vision: bool) -> list[dict]:
    """Image parts a model cannot take replaced by a text that says why, so that the request
    (and every later turn, which carries the image again) is not refused: all images for a
    model without vision; images given by URL for a provider that takes them only inline.
    Example: [user "look" + image] for groq/llama-3.1-8b-instant -> [user "look\n\n[image
    omitted: groq/llama-3.1-8b-instant does not accept images]"]."""
    out = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list) or not any(part.get("type") == "image_url" for part in content):
            out.append(message)
            continue
        parts = []
        for part in content:
            if part.get("type") == "image_url":
                url = str((part.get("image_url") or {}).get("url") or "")
                if not vision:
                    part = {"type": "text", "text": f"[image omitted: {target} does not accept images]"}
                elif not url.startswith("data:"):
                    part = {"type": "text", "text": f"[image at {url} not sent: {target} takes only inline images]"}
            parts.append(part)
        out.append(dict(message, content=collapse(parts)))
    return out


def image_key(block) -> str | None:
    """The hash an inline (base64) image is known by, media type and data: its description's
    key. None for an image given by URL, which the proxy never fetches and so never describes.
    Example: {"type": "image", "source": {"type": "base64", "media_type": "image/png",
    "data": "iVBO..."}} -> "5b1f..." (64 hex digits)."""
    source = block.get("source") if isinstance(block, dict) and block.get("type") == "image" else None
    if not isinstance(source, dict) or source.get("type") != "base64" or not isinstance(source.get("data"), str):
        return None
    return hashlib.sha256(f"{source.get('media_type') or ''};{source['data']}".encode()).hexdigest()


def _images_in(block):
    """The image blocks of one user-turn block: itself, or those of a tool result."""
    if not isinstance(block, dict):
        return
    if block.get("type") == "image":
        yield block
    elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        yield from (item for item in block["content"] if isinstance(item, dict) and item.get("type") == "image")


def inline_images(body: dict) -> dict:
    """The inline images of a request's user turns and tool results, by image_key, each once,
    in order. Example: a Read of a PNG in one turn and the same PNG pasted in the next ->
    {"5b1f...": the first image block}."""
    images = {}
    for message in body.get("messages") or ():
        content = message.get("content") if message.get("role") == "user" else None
        for block in content if isinstance(content, list) else ():
            for image in _images_in(block):
                key = image_key(image)
                if key and key not in images:
                    images[key] = image
    return images


def _described(block, descriptions: Mapping[str, str]):
    text = descriptions.get(image_key(block) or "")
    if text:
        return {"type": "text", "text": text}
    if isinstance(block, dict) and block.get("type") == "tool_result" and isinstance(block.get("content"), list):
        return dict(block, content=[_described(item, descriptions) for item in block["content"]])
    return block


def with_descriptions(body: dict, descriptions: Mapping[str, str]) -> dict:
    """The request with each image that has a description (by image_key) replaced by a text
    block holding it; the body given is not changed. Example: [tool_result [image]] with
    {key: "[image, as openai/gpt-4o describes it: a bar chart]"} -> [tool_result [text "[image, as ..."]]."""
    if not descriptions:
        return body
    messages = [dict(m, content=[_described(block, descriptions) for block in m["content"]])
                if m.get("role") == "user" and isinstance(m.get("content"), list) else m for m in body["messages"]]
    return dict(body, messages=messages)


# What the vision model is asked, once per image: the description stands in for the image in every later turn
# (it is cached by the image's hash), so it must be faithful and complete without knowing the question.
DESCRIBE_PROMPT = (
    "Describe this image for a language model that cannot see it and must act on your description alone. Be faithful "
    "and concise: say what kind of image it is (screenshot, diagram, chart, photo, ...), then what it shows. Transcribe "
    "every piece of legible text exactly as written (code, error messages, labels, numbers, file names), keeping line "
    "breaks in code and terminal output. For user interfaces, name the visible elements and their state. Do not guess "
    "at what you cannot see; say so where something is unreadable. Answer with the description only, under 300 words "
    "unless transcribed text needs more.")

DESCRIBE_TOKENS = 1500  # max_tokens of a description: room for a screenshot's transcribed text

DESCRIPTION_LIMIT = 8000  # characters of a description kept (and cached)


def description_request(image: dict, target: str) -> dict:
    """The Anthropic request that asks `target` to describe one image block (DESCRIBE_PROMPT)."""
    return {"model": target, "max_tokens": DESCRIBE_TOKENS, "temperature": 0,
            "messages": [{"role": "user", "content": [image, {"type": "text", "text": DESCRIBE_PROMPT}]}]}


def description_text(text: str, target: str) -> str:
    """A vision model's answer as the text that replaces the image. Example: ("A bar chart.",
    "openai/gpt-4o") -> "[image, as openai/gpt-4o describes it: A bar chart.]"."""
    return f"[image, as {target} describes it: {text.strip()[:DESCRIPTION_LIMIT]}]"


def tool_result_message(block: dict) -> tuple[dict, list[dict]]:
    """A tool_result block -> (a role "tool" message, image parts to send after it).

    Example: {"type": "tool_result", "tool_use_id": "call_1", "is_error": true,
    "content": "boom"} -> ({"role": "tool", "tool_call_id": "call_1",
    "content": "[tool error] boom"}, [])
    """
    content = block.get("content")
    images = []
    if isinstance(content, list):
        texts = []
        for item in content:
            if not isinstance(item, dict):
                continue
            if item.get("type") == "image":
                part = image_part(item)
                if part:
                    images.append(part)
            elif isinstance(item.get("text"), str):
                texts.append(item["text"])
            elif item.get("type") == "tool_reference" and isinstance(item.get("tool_name"), str):
                texts.append(f"[tool reference: {item['tool_name']}]")
        text = "\n".join(texts)
    elif isinstance(content, str):
        text = content
    else:
        text = ""
    if block.get("is_error"):
        text = f"[tool error] {text}" if text else "[tool error]"
    tool_id = provider_tool_id(str(block.get("tool_use_id") or ""))
    return {"role": "tool", "tool_call_id": tool_id, "content": text}, images


def user_messages(content, native: bool, text_in_results: bool = False) -> list[dict]:
    """One Anthropic user turn -> tool messages first (they must follow the assistant's
    tool_calls), then one user message with the rest (text, images, documents); with
    `text_in_results`, text alone after tool results goes into the last one instead, and
    anything else after them follows a placeholder model turn.
    Example: [tool_result a "ok", text "note"] -> [tool a "ok", user "note"]; with
    text_in_results [tool a "ok\n\nnote"]."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tools, parts = [], []
    for block in content:
        if block.get("type") == "tool_result":
            message, images = tool_result_message(block)
            tools.append(message)
            if images:
                parts.append({"type": "text", "text": f"(image output of tool call {message['tool_call_id']})"})
                parts.extend(images)
    parts.extend(content_parts(content, native))
    if text_in_results and tools and parts:
        if all(p["type"] == "text" for p in parts):
            last = tools[-1]
            tools[-1] = dict(last, content="\n\n".join([last["content"]] * bool(last["content"]) + [p["text"] for p in parts]))
            return tools
        # Images cannot go into a result: a placeholder model turn keeps the turns alternating (as gemini-cli#28700 does)
        tools.append({"role": "assistant", "content": RESULTS_PLACEHOLDER})
    return tools + ([{"role": "user", "content": collapse(parts)}] if parts else [])


# The model turn between tool results and the images that came with them, where turns must alternate.
RESULTS_PLACEHOLDER = "[Tool results received; the images follow.]"


def assistant_message(content, native: bool, replay: str = "", encrypted: str = "") -> dict | None:
    """One Anthropic assistant turn -> an OpenAI assistant message with tool_calls.
    Thinking is kept as blocks only for providers that take Anthropic thinking blocks, and as
    `reasoning_content` when its signature is `replay` (this proxy's, for the model the turn
    goes to: its own reasoning, which DeepSeek and Moonshot want back in full). A signature
    that starts with `encrypted` (this proxy's for a Responses API model, REASONING_MARK
    included) carries that model's encrypted reasoning: kept as a thinking block in litellm's
    form (ENCRYPTED_PREFIX), with its place in the turn (`after`: the text and the tool calls
    before it), and becomes a reasoning item again, in that place (responses_input)."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content} if content else None
    texts, calls, thinking, reasoning = [], [], [], []
    for block in content:
        kind = block.get("type")
        if kind in ("tool_use", "server_tool_use"):  # a server call only with its result (assistant_turn)
            arguments = json.dumps(block.get("input") if isinstance(block.get("input"), dict) else {}, ensure_ascii=False)
            calls.append({"id": provider_tool_id(str(block.get("id") or "")), "type": "function",
                          "function": {"name": short_tool_name(str(block.get("name") or "")), "arguments": arguments}})
        elif kind in ("thinking", "redacted_thinking"):
            signature = str(block.get("signature", ""))
            if replay and signature == replay and isinstance(block.get("thinking"), str) and block["thinking"]:
                reasoning.append(block["thinking"])
            elif encrypted and signature.startswith(encrypted) and len(signature) > len(encrypted):
                thinking.append({"type": "thinking", "thinking": str(block.get("thinking") or ""),
                                 "signature": ENCRYPTED_PREFIX + signature[len(encrypted):], "after": [len(texts), len(calls)]})
            # Our own signatures mark reasoning from another provider: never replayed as a block.
            elif native and not signature.startswith(SIGNATURE_PREFIX):
                thinking.append(block)
        elif isinstance(block.get("text"), str) and block["text"]:
            texts.append(block["text"])
    if not (texts or calls or thinking or reasoning):
        return None
    message = {"role": "assistant", "content": "\n\n".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        message["thinking_blocks"] = thinking
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    return message


def assistant_turn(content, native: bool, replay: str = "", encrypted: str = "") -> list[dict]:
    """One Anthropic assistant turn -> OpenAI messages. Where the turn holds web searches (a
    server_tool_use, then its web_search_tool_result, which Anthropic's API, or this proxy, ran
    within the turn), each becomes a plain tool call and tool result: the assistant message up to
    the results, the results as tool messages, then the rest of the turn. A server call without
    its result (another server tool) is left out, as the provider could not answer it.
    Example: [text "Looking", server_tool_use s1 {"query": "q"}, web_search_tool_result s1, text
    "Found"] -> [assistant "Looking" with tool_calls [s1 web_search], tool s1 "Web search results
    ...", assistant "Found"]."""
    calls = {b.get("id") for b in content if b.get("type") == "server_tool_use"} if isinstance(content, list) else ()
    if not calls:  # nearly every turn: no search in it
        reply = assistant_message(content, native, replay, encrypted)
        return [reply] if reply else []
    answered = {b.get("tool_use_id") for b in content if b.get("type") == "web_search_tool_result"} & calls
    out, blocks, results = [], [], []
    for block in content + [None]:  # None: the end, where the last part goes out
        kind = block and block.get("type")
        if kind == "web_search_tool_result":
            if block.get("tool_use_id") in answered:
                results.append(search_result_message(block))
            continue
        if results or block is None:
            reply = assistant_message(blocks, native, replay, encrypted)
            out += ([reply] if reply else []) + results
            blocks, results = [], []
        if block is not None and (kind != "server_tool_use" or block.get("id") in answered):
            blocks.append(block)
    return out


def search_result_message(block: dict) -> dict:
    """A web_search_tool_result block -> the tool message that answers its call.
    Example: {"tool_use_id": "srvtoolu_1", "content": {"type": "web_search_tool_result_error",
    "error_code": "unavailable"}} -> {"role": "tool", "tool_call_id": "srvtoolu_1", "content":
    "Web search error: unavailable"}."""
    return {"role": "tool", "tool_call_id": provider_tool_id(str(block.get("tool_use_id") or "")),
            "content": search_results_text(block.get("content"))}


def search_results_text(content) -> str:
    """A web search result's content as the model reads it: each result's title, URL, age and text
    (kept in encrypted_content by this proxy, see sealed; another's is opaque), or the error.
    Example: [{"type": "web_search_result", "title": "T", "url": "https://a.example/", "page_age":
    "2026-11-30", "encrypted_content": sealed("Snippet")}] -> "Web search results:\n\n1. T\n
    https://a.example/ (2026-11-30)\nSnippet"."""
    if isinstance(content, dict):
        return f"Web search error: {content.get('error_code') or 'unavailable'}"
    results = [r for r in content if isinstance(r, dict)] if isinstance(content, list) else []
    if not results:
        return "Web search results: none found."
    parts = []
    for n, result in enumerate(results, 1):
        age = f" ({result['page_age']})" if result.get("page_age") else ""
        text = unsealed(str(result.get("encrypted_content") or ""))
        parts.append(f"{n}. {result.get('title') or ''}\n{result.get('url') or ''}{age}" + (f"\n{text}" if text else ""))
    return "Web search results:\n\n" + "\n\n".join(parts)


# The start of the encrypted_content this proxy gives a search result: the result's text, in base64url.
# Opaque to the client, as Anthropic's is, and read back from history (it is encoded, not encrypted).
SEALED_MARK = "cpws1"

SNIPPET_LIMIT = 4000  # characters of a result's text kept (what a page says goes in every later turn)


def sealed(text: str) -> str:
    """A result's text as its encrypted_content. Example: "hi" -> "cpws1aGk"."""
    data = text[:SNIPPET_LIMIT].encode("utf-8", "replace")
    return SEALED_MARK + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unsealed(value: str) -> str:
    """The text sealed() put into an encrypted_content; "" for any other (Anthropic's own)."""
    if not value.startswith(SEALED_MARK):
        return ""
    body = value[len(SEALED_MARK):]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except ValueError:
        return ""


def merge_assistant(into: dict, reply: dict):
    """Fold a second assistant message of the same turn into the first."""
    shift = [int(bool(into.get("content"))), len(into.get("tool_calls") or ())]  # reply's places, after into's
    if shift != [0, 0] and reply.get("thinking_blocks"):
        reply = dict(reply, thinking_blocks=[dict(b, after=[b["after"][0] + shift[0], b["after"][1] + shift[1]])
                                             if "after" in b else b for b in reply["thinking_blocks"]])
    into["content"] = "\n\n".join(t for t in (into.get("content"), reply.get("content")) if t) or None
    for key in ("tool_calls", "thinking_blocks"):
        if reply.get(key):
            into[key] = into.get(key, []) + reply[key]
    if reply.get("reasoning_content"):
        into["reasoning_content"] = (into.get("reasoning_content") or "") + reply["reasoning_content"]


def system_reminder(text: str) -> str:
    return text if text.lstrip().startswith("<system-reminder>") else f"<system-reminder>\n{text}\n</system-reminder>"


def system_entries_in_turns(messages: list) -> list:
    """For a provider that takes one system prompt only: each system entry inside `messages`
    after the first turn becomes a text block (in a <system-reminder>, as Claude Code marks its
    own notes) at the end of the user turn before it, else of the next one, else of a user turn
    of its own. Merged into the leading system prompt instead, each new entry would change the
    request's first bytes, and no turn would share a cached prefix with the one before.

    Example: [user "hi", system "note", assistant "yo"] -> [user [text "hi", text
    "<system-reminder>\\nnote\\n</system-reminder>"], assistant "yo"]."""
    out: list = []
    waiting: list = []  # reminders after an assistant turn, for the next user turn
    turns = False  # a user or assistant turn came: system entries before it begin the leading prompt
    for message in messages:
        role = message["role"]
        turns = turns or role != "system"
        if role == "system" and turns:
            text = text_of(message["content"])
            if not text:
                continue
            block = {"type": "text", "text": system_reminder(text)}
            if out[-1]["role"] == "user":
                out[-1] = dict(out[-1], content=content_blocks(out[-1]["content"]) + [block])
            else:
                waiting.append(block)
        elif role == "user" and waiting:
            out.append(dict(message, content=content_blocks(message["content"]) + waiting))
            waiting = []
        else:
            out.append(message)
    return out + ([{"role": "user", "content": waiting}] if waiting else [])


def content_blocks(content) -> list:
    """Example: "hi" -> [{"type": "text", "text": "hi"}]; a list stays as it is."""
    if isinstance(content, list):
        return list(content)
    return [{"type": "text", "text": content}] if content else []


def to_openai_messages(body: dict, quirks: Provider, replay: str = "", encrypted: str = "") -> list[dict]:
    """Anthropic system + messages -> OpenAI messages.

    Example: system "Be brief", messages [user "hi", system "note", assistant "yo"] ->
    [system "Be brief", user "hi", system "note", assistant "yo"] for a provider that
    takes later system messages; for one that does not, [system "Be brief", user "hi
    <system-reminder>note</system-reminder>", assistant "yo"] (system_entries_in_turns).
    """
    native = quirks.native_thinking
    system = text_of(body.get("system") if native else without_billing_line(body.get("system")))
    head = [system] if system else []
    out: list[dict] = []
    messages = body["messages"] if quirks.later_system else system_entries_in_turns(body["messages"])
    for message in messages:
        role, content = message["role"], message["content"]
        if role == "system":
            text = text_of(content)
            if not text:
                continue
            if quirks.later_system and out:
                out.append({"role": "system", "content": text})
            else:
                head.append(text)
        elif role == "user":
            out.extend(user_messages(content, native, quirks.text_in_results))
        else:
            for reply in assistant_turn(content, native, replay, encrypted):
                if reply["role"] == "assistant" and out and out[-1]["role"] == "assistant":  # one turn in two messages
                    merge_assistant(out[-1], reply)
                else:
                    out.append(reply)
    out = tool_replies_first(out)
    if quirks.text_in_results:
        out = results_take_text(out)
    if head:
        out.insert(0, {"role": "system", "content": "\n\n".join(head)})
    return out


def without_billing_line(system):
    """The system prompt without Claude Code's billing line (BILLING_LINE), which differs between
    sessions and subagents, and in some versions on every request (its cch= value): sent first,
    it would leave no two of them a prefix in common for the provider's prompt cache. Only
    Anthropic reads it. Example: [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.332.a1f;"},
    {"type": "text", "text": "You are Claude Code"}] -> [{"type": "text", "text": "You are Claude Code"}]."""
    if isinstance(system, str):
        return system.partition("\n")[2] if system.startswith(BILLING_LINE) else system
    if isinstance(system, list):
        return [b for b in system if not (isinstance(b, dict) and str(b.get("text", "")).startswith(BILLING_LINE))]
    return system


def tool_replies_first(messages: list[dict]) -> list[dict]:
    """OpenAI wants an assistant's tool_calls answered by tool messages straight away;
    Anthropic allows a system entry, or a second user turn, in between. Move each tool
    reply up to its assistant message, keeping everything else in order.

    Example: [assistant(tool_calls a, b), system, tool a, user, tool b] ->
    [assistant(tool_calls a, b), tool a, tool b, system, user].
    """
    out, i = [], 0
    while i < len(messages):
        message = messages[i]
        out.append(message)
        i += 1
        if message["role"] == "assistant" and message.get("tool_calls"):
            tools, others = [], []
            while i < len(messages) and messages[i]["role"] != "assistant":
                (tools if messages[i]["role"] == "tool" else others).append(messages[i])
                i += 1
            out += tools + others
    return out


def results_take_text(messages: list[dict]) -> list[dict]:
    """For a provider whose function-response turn holds nothing but the responses (text_in_results):
    a user message of text alone right after tool messages (a later system entry, a second user
    turn) goes into the last result, as user_messages does within one turn.
    Example: [tool a "ok", user "note"] -> [tool a "ok\n\nnote"]."""
    out: list[dict] = []
    for message in messages:
        if message["role"] == "user" and isinstance(message["content"], str) and out and out[-1]["role"] == "tool":
            last = out[-1]
            out[-1] = dict(last, content="\n\n".join(t for t in (last["content"], message["content"]) if t))
        else:
            out.append(message)
    return out


# Tools Claude Code offers only so that Anthropic's tool search has somewhere to load tools into:
# "never call this tool" (PROTOCOL.md, 2.1.332). Another provider's model, offered it as a plain
# function, may call it all the same; it is left out for them.
CLIENT_PLACEHOLDER_TOOLS = frozenset({"DeferredToolPlaceholder"})


def is_search_tool(tool) -> bool:
    """Whether a tool definition is Anthropic's web search server tool, of any version
    (web_search_20250305, web_search_20260209, web_search_20260318, ...)."""
    return isinstance(tool, dict) and str(tool.get("type") or "").startswith("web_search_")


def search_tool(body: dict) -> dict | None:
    """The web search tool a request offers, else None. Example: tools [Bash, {"type":
    "web_search_20250305", "name": "web_search", "max_uses": 8}] -> the second."""
    return next((tool for tool in body.get("tools") or () if is_search_tool(tool)), None)


# What the provider's model is offered in place of the web search tool, which the proxy runs.
SEARCH_DESCRIPTION = ("Search the web for current information. Returns the top results (title, URL, text). "
                      "Use it for anything recent or beyond your knowledge; then answer from the results.")



def search_parameters() -> dict:
    """The search function's schema, new each time (litellm edits some providers' schemas in place)."""
    return {"type": "object", "properties": {"query": {"type": "string", "description": "The search query"}},
            "required": ["query"]}


def to_openai_tools(tools, quirks: Provider = Provider()) -> list[dict]:
    """Anthropic tool definitions -> OpenAI function tools. The web search tool becomes a
    function of that name taking a query (the proxy runs the search: WebSearch); other server
    tools (which carry no input_schema) are left out: the provider cannot run them; so is
    Claude Code's deferred-tool placeholder. Deferred tools Claude Code has loaded (after a
    tool_reference) are offered as plain functions."""
    out = []
    for tool in tools or ():
        schema = tool.get("input_schema")
        if is_search_tool(tool):
            out.append({"type": "function", "function": {"name": short_tool_name(tool["name"]), "description": SEARCH_DESCRIPTION,
                                                          "parameters": search_parameters()}})
            continue
        if schema is None:
            log.debug("leaving out server tool %r (type %r)", tool.get("name"), tool.get("type"))
            continue
        if tool.get("defer_loading") is True and tool["name"] in CLIENT_PLACEHOLDER_TOOLS and not quirks.native_thinking:
            continue
        schema = repair_schema(schema)
        if quirks.const_as_enum:
            schema = const_as_enum(schema)
        function = {"name": short_tool_name(tool["name"]), "parameters": schema}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


# Keywords whose value maps names to schemas, and keywords whose value is data, not a schema.
NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})

LITERALS = frozenset({"enum", "const", "default", "examples", "required"})


def walk_schema(schema, fix):
    """Apply fix(node) -> node to every schema object of a JSON schema, innermost first.
    Values that are data (enum, const, default ...) and property names are left alone."""
    if isinstance(schema, list):
        return [walk_schema(item, fix) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in NAMED_SCHEMAS and isinstance(value, dict):
            out[key] = {name: walk_schema(item, fix) for name, item in value.items()}
        else:
            out[key] = value if key in LITERALS else walk_schema(value, fix)
    return fix(out)


def repair_schema(schema):
    """A tool's JSON schema with what strict providers reject repaired: `required` that is
    not a list (Claude Code has sent null) is dropped; an object without `properties` gets
    an empty one. Example: {"type": "object", "required": None} -> {"type": "object",
    "properties": {}}."""
    def repair(node):
        if "required" in node and not isinstance(node["required"], list):
            del node["required"]
        if node.get("type") == "object" and not isinstance(node.get("properties"), dict):
            node["properties"] = {}
        return node

    return walk_schema(schema, repair)


def const_as_enum(schema):
    """`const` rewritten as a one-value `enum` (Gemini has no const, and litellm turns
    {"const": "x"} into {"type": "object"}). Example: {"const": "search"} -> {"type":
    "string", "enum": ["search"]}; a non-string const is dropped, its type kept."""
    def rewrite(node):
        if "const" not in node:
            return node
        value = node.pop("const")
        if isinstance(value, str):
            node.setdefault("type", "string")
            node["enum"] = [value]
        elif "type" not in node and type(value) in (bool, int, float):
            node["type"] = {bool: "boolean", int: "integer", float: "number"}[type(value)]
        return node

    return walk_schema(schema, rewrite)


def to_openai_tool_choice(choice: dict):
    """{"type": "auto"} -> "auto"; "any" -> "required"; "none" -> "none";
    {"type": "tool", "name": "f"} -> {"type": "function", "function": {"name": "f"}}."""
    kind = choice.get("type")
    if kind == "tool" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": short_tool_name(choice["name"])}}
    return {"auto": "auto", "any": "required", "none": "none"}.get(kind)


# Claude Code's efforts (--effort, output_config.effort), lowest first. "xhigh" and "max" go to a
# provider only where it takes them (efforts_of); elsewhere they become the highest it does take.
EFFORTS = ("low", "medium", "high", "xhigh", "max")


def efforts_of(quirks: Provider, facts: dict) -> tuple:
    """The efforts above "high" a target takes: its provider's top_efforts, and what litellm's map
    says of the model. Example: OpenAI's gpt-5.2 ({"supports_xhigh_reasoning_effort": True}) ->
    ("xhigh",); any DeepSeek model -> ("max",); moonshot/kimi-k3 ({"reasoning_effort_levels":
    ["low", "high", "max"]}) -> ("max",); gpt-4.1 -> ()."""
    levels = facts.get("reasoning_effort_levels")
    levels = levels if isinstance(levels, list) else ()
    return tuple(e for e in EFFORTS[3:] if e in quirks.top_efforts or facts.get(f"supports_{e}_reasoning_effort")
                 or e in levels)


def reasoning_effort(thinking, output_config, efforts: tuple = ()) -> str | None:
    """Anthropic thinking -> an OpenAI-style reasoning effort; `efforts` are those above "high"
    the target takes (efforts_of), for Claude Code's "xhigh" and "max".

    Examples: {"type": "enabled", "budget_tokens": 1024} -> "low"; budget 8000 ->
    "medium"; budget 31999 -> "high"; {"type": "adaptive"} with output_config
    {"effort": "low"} -> "low"; {"type": "disabled"} -> None; "max" -> "max" with efforts
    ("max",), "xhigh" with ("xhigh",), "high" with ().
    """
    if not isinstance(thinking, dict):
        return None
    kind = thinking.get("type")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        budget = budget if isinstance(budget, int) and not isinstance(budget, bool) else 8192
        return "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    if kind == "adaptive":
        effort = (output_config or {}).get("effort") if isinstance(output_config, dict) else None
        if effort in EFFORTS[3:]:  # the highest the target takes, up to the one asked for
            return next((e for e in reversed(EFFORTS[3:EFFORTS.index(effort) + 1]) if e in efforts), "high")
        return effort if effort in EFFORTS else "high"
    return None


def hashed_user(user_id) -> str | None:
    """Claude Code's metadata.user_id is a long JSON string; providers want a short id."""
    if not isinstance(user_id, str) or not user_id:
        return None
    return "cp-" + hashlib.sha256(user_id.encode()).hexdigest()[:32]


def to_openai_request(body: dict, target: str, quirks: Provider, *, reasoning: bool = False,
                      max_output: int | None = None, vision: bool = True, session: str = "",
                      efforts: tuple = (), forced_tools: bool = True, responses: bool = False) -> dict:
    """A validated Anthropic request -> the keyword arguments for litellm.completion.

    Only the fields listed here reach litellm: nothing in the body can set api_base,
    api_key, headers or any other litellm keyword. `reasoning` says whether the target
    model supports reasoning; `max_output` caps max_tokens at the model's output limit;
    `vision` whether it takes images (without, each becomes a short text saying so);
    `session` the Claude Code session (Caller.session), whose hash is the prompt cache key;
    `efforts` the reasoning efforts above "high" it takes (efforts_of); `forced_tools` whether
    it takes a forced tool_choice at all (litellm's supports_tool_choice); `responses` whether it
    answers on the Responses API (answers_on_responses), whose encrypted reasoning goes back.
    """
    replay = thinking_signature(target) if quirks.reasoning_history and reasoning else ""
    encrypted = thinking_signature(target) + REASONING_MARK if responses and reasoning else ""
    messages = to_openai_messages(body, quirks, replay, encrypted)
    if replay:  # the provider wants reasoning back on every tool-call turn: its own, else a placeholder
        messages = [dict(m, reasoning_content=" ") if m["role"] == "assistant" and m.get("tool_calls")
                    and not m.get("reasoning_content") else m for m in messages]
    if not vision or quirks.images_inline_only:
        messages = adapted_images(messages, target, vision)
    params: dict = {"model": target, "messages": messages}
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int):
        params["max_tokens"] = min(max_tokens, max_output) if max_output else max_tokens
    params.update(tool_params(body, quirks, reasoning, forced_tools))
    stops = body.get("stop_sequences")
    if isinstance(stops, list) and all(isinstance(s, str) for s in stops) and stops:
        params["stop"] = stops[:quirks.stops] if quirks.stops else stops  # the rest: own_stops
    for name in ("temperature", "top_p", "top_k"):
        value = body.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (name != "top_k" or quirks.top_k):
            params[name] = value
    metadata = body.get("metadata")
    if quirks.user_param and isinstance(metadata, dict):
        user = hashed_user(metadata.get("user_id"))
        if user:
            params["user"] = user
    if quirks.prompt_cache_key and session:
        params["prompt_cache_key"] = hashed_user(session)
    if reasoning:
        params.update(reasoning_params(body, quirks, params.get("max_tokens"), efforts))
    return responses_params(params, reasoning) if responses else params


def responses_params(params: dict, reasoning: bool) -> dict:
    """What a request for a Responses API model adds to its chat params, for litellm's Responses
    bridge as much as for to_responses_request: function tools not strict (the Responses API makes
    them strict unless told: open-webui/open-webui#30046, vercel/ai#15889; Claude Code's schemas
    are not strict ones), and in litellm's extra_body (which its bridge moves into the request)
    `store: false` and, for a reasoning model, the encrypted reasoning and a summary of it.
    Example: reasoning_effort "low" -> extra_body {"store": False, "include":
    ["reasoning.encrypted_content"], "reasoning_effort": {"effort": "low", "summary": "auto"}}."""
    out = dict(params)
    if out.get("tools"):
        out["tools"] = [dict(tool, function=dict(tool["function"], strict=False)) for tool in out["tools"]]
    extra: dict = {"store": False}
    if reasoning:
        extra["include"] = ["reasoning.encrypted_content"]
        if out.get("reasoning_effort"):
            extra["reasoning_effort"] = {"effort": out["reasoning_effort"], "summary": "auto"}
    out["extra_body"] = extra
    return out


def tool_params(body: dict, quirks: Provider, reasoning: bool, forced_tools: bool = True) -> dict:
    """tools, tool_choice and parallel_tool_calls for a request that offers tools. Example:
    tool_choice {"type": "any"} -> "required", unless the provider's thinking models refuse it,
    or the model takes no forced choice at all (`forced_tools`)."""
    tools = to_openai_tools(body.get("tools"), quirks)
    if not tools:
        return {}
    out: dict = {"tools": tools}
    choice = body.get("tool_choice") if isinstance(body.get("tool_choice"), dict) else {}
    mapped = to_openai_tool_choice(choice)
    if mapped not in (None, "auto", "none") and (not forced_tools or reasoning and not quirks.forced_tools_while_reasoning):
        mapped = None  # refused while the model thinks (the thinking cannot be turned off everywhere), or always
    if mapped is not None:
        out["tool_choice"] = mapped
    if choice.get("disable_parallel_tool_use") is True:
        out["parallel_tool_calls"] = False
    return out


def reasoning_params(body: dict, quirks: Provider, max_tokens, efforts: tuple) -> dict:
    """A reasoning model's thinking: Anthropic's own `thinking` (a budget that fits under
    max_tokens) where the provider takes it, else an OpenAI-style reasoning_effort."""
    thinking = body.get("thinking")
    if quirks.native_thinking and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        # Anthropic wants 1024 <= budget < max_tokens; without room for that, no thinking.
        budget = thinking.get("budget_tokens")
        budget = budget if isinstance(budget, int) and not isinstance(budget, bool) else 1024
        budget = min(max(budget, 1024), (max_tokens if max_tokens is not None else budget + 1) - 1)
        return {"thinking": {"type": "enabled", "budget_tokens": budget}} if budget >= 1024 else {}
    effort = reasoning_effort(thinking, body.get("output_config"), efforts)
    return {"reasoning_effort": effort} if effort else {}


def direct_can_send(params: dict) -> bool:
    """Whether the direct path sends this request as it is: documents (file parts) need
    litellm's conversions for each provider."""
    return not any(isinstance(m.get("content"), list) and any(p.get("type") == "file" for p in m["content"])
                   for m in params["messages"])


def to_direct_request(params: dict, quirks: Provider, facts: dict) -> dict:
    """The translated request -> the JSON body the direct path posts, with the changes
    litellm makes for the provider (see Provider). Pure; the input is not modified.
    Example (openai, a reasoning model): {"max_tokens": 64, "temperature": 0.5} ->
    {"max_completion_tokens": 64}."""
    body = {k: v for k, v in params.items() if k != "model"}
    body["model"] = params["model"].partition("/")[2]
    reasoning = bool(facts.get("supports_reasoning"))
    if reasoning and quirks.reasoning_sampling == "default":
        if body.get("temperature", 1) != 1:
            del body["temperature"]
        body.pop("top_p", None)
        if "max_tokens" in body:
            body["max_completion_tokens"] = body.pop("max_tokens")
    elif reasoning and quirks.reasoning_sampling == "no temperature":
        body.pop("temperature", None)
    for field, value in quirks.added:
        body.setdefault(field, value)
    if body.get("reasoning_effort") in dict(quirks.effort_names):
        body["reasoning_effort"] = dict(quirks.effort_names)[body["reasoning_effort"]]
    if quirks.thinking_switch and "reasoning_effort" in body:
        body["thinking"] = {"type": "disabled" if body["reasoning_effort"] == "none" else "enabled"}
        if body["reasoning_effort"] == "none":
            del body["reasoning_effort"]
    messages = []
    for message in body["messages"]:
        message = {k: v for k, v in message.items() if v is not None}
        content = message.get("content")
        if quirks.flat_text and isinstance(content, list) and all(p.get("type") == "text" for p in content):
            message["content"] = "".join(p.get("text", "") for p in content)
        messages.append(message)
    body["messages"] = messages
    return body

# The least max_output_tokens the Responses API takes ("integer below minimum value. Expected a
# value >= 16": platform.openai.com/docs/api-reference/responses/create, max_output_tokens). Smaller
# limits are raised to it, but for Claude Code's max_tokens 1 probe: refused as it is, it is answered
# as any model's refusal of one is (answers_probe), with the stop_reason max_tokens Claude Code wants.
MIN_OUTPUT_TOKENS = 16


def to_responses_request(params: dict, quirks: Provider, facts: dict) -> dict:
    """The translated request -> the JSON body the direct path posts to OpenAI's Responses API
    (platform.openai.com/docs/api-reference/responses/create): the chat body to_direct_request
    makes (the same sampling rules), its messages as `input` items and `instructions`, tools as
    Responses function tools, `reasoning` with its effort and a summary, and `store: false`, so
    nothing is kept at OpenAI and reasoning comes back encrypted (`include`), to be replayed.
    Stop sequences have no Responses equivalent and are left out; a max_output_tokens below 16 is
    raised to it (MIN_OUTPUT_TOKENS). Pure.
    Example: {"model": "openai/gpt-5.3-codex", "messages": [system "Be brief", user "Hi"],
    "max_tokens": 64, "reasoning_effort": "low"} -> {"model": "gpt-5.3-codex", "instructions":
    "Be brief", "input": [{"type": "message", "role": "user", "content": "Hi"}],
    "max_output_tokens": 64, "reasoning": {"effort": "low", "summary": "auto"},
    "include": ["reasoning.encrypted_content"], "store": false}."""
    chat = to_direct_request({k: v for k, v in params.items() if k != "extra_body"}, quirks, facts)
    model = chat["model"]
    body = {"model": model[len(RESPONSES_MARK):] if model.startswith(RESPONSES_MARK) else model}
    messages = chat["messages"]
    if messages and messages[0]["role"] == "system":
        body["instructions"] = text_of(messages[0]["content"])
        messages = messages[1:]
    body["input"] = responses_input(messages)
    limit = chat.get("max_completion_tokens", chat.get("max_tokens"))
    if isinstance(limit, int):
        body["max_output_tokens"] = max(limit, MIN_OUTPUT_TOKENS) if limit > 1 else limit
    for name in ("temperature", "top_p", "parallel_tool_calls", "user", "prompt_cache_key"):
        if name in chat:
            body[name] = chat[name]
    if chat.get("tools"):
        # strict false (responses_params): a strict schema must list every property as required and forbid
        # others, which Claude Code's do not ("'additionalProperties' is required to be supplied and to be false")
        body["tools"] = [dict(t["function"], type="function", strict=False) for t in chat["tools"]]
    choice = chat.get("tool_choice")
    if isinstance(choice, dict):
        body["tool_choice"] = {"type": "function", "name": choice["function"]["name"]}
    elif choice is not None:
        body["tool_choice"] = choice
    if facts.get("supports_reasoning"):
        effort = chat.get("reasoning_effort")
        body["reasoning"] = {"effort": effort, "summary": "auto"} if effort else {}
        body["include"] = ["reasoning.encrypted_content"]
        if not body["reasoning"]:
            del body["reasoning"]
    body["store"] = False
    return body


def responses_input(messages: list[dict]) -> list[dict]:
    """Chat messages (after the leading system prompt) -> Responses `input` items: messages,
    `function_call` items for an assistant's tool calls, after its text and behind the reasoning
    that led to them (a reasoning item must come right before the item it produced), and a
    `function_call_output` for each tool message. The model's own earlier text goes as
    output_text, the only part it takes there ("Invalid value: 'input_text'. Supported values
    are: 'output_text' and 'refusal'.": epam/ai-dial-adapter-openai#511). Reasoning this proxy relayed (thinking_blocks
    carrying encrypted content) goes back as `reasoning` items, without ids: with store false
    none is kept at OpenAI to refer to.
    Example: [assistant(tool_calls call_1 "Bash" '{}'), tool call_1 "ok"] -> [{"type":
    "function_call", "call_id": "call_1", "name": "Bash", "arguments": "{}"}, {"type":
    "function_call_output", "call_id": "call_1", "output": "ok"}]."""
    items: list[dict] = []
    for message in messages:
        role, content = message["role"], message.get("content")
        if role == "tool":
            items.append({"type": "function_call_output", "call_id": message["tool_call_id"], "output": content or ""})
        elif role == "assistant":
            items += assistant_items(message)
        else:
            parts = content if isinstance(content, list) else None
            items.append({"type": "message", "role": role,
                          "content": [responses_part(part) for part in parts] if parts is not None else content or ""})
    return items


def assistant_items(message: dict) -> list[dict]:
    """An assistant message -> its output items in the turn's order: each reasoning item where it
    was (its `after`), before the text or the call it produced; reasoning that produced nothing
    is left out (the API wants the item it produced right after it).
    Example: thinking r1, text "Looking.", thinking r2, tool_use c1 -> [reasoning r1, message
    "Looking.", reasoning r2, function_call c1]."""
    reasoning = [(tuple(block.get("after") or (0, 0)), reasoning_item(block)) for block in message.get("thinking_blocks") or ()
                 if encrypted_reasoning(block) is not None]
    out = [item for (texts, calls), item in reasoning if not texts and not calls]
    if message.get("content"):
        out.append({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text_of(message["content"])}]})
    for n, call in enumerate(message.get("tool_calls") or ()):
        out += [item for (texts, calls), item in reasoning if calls == n and (n or texts)]
        out.append({"type": "function_call", "call_id": call["id"], "name": call["function"]["name"],
                    "arguments": call["function"]["arguments"]})
    return out if len(out) > sum(item["type"] == "reasoning" for item in out) else []


def responses_part(part: dict) -> dict:
    """A chat content part -> a Responses input part. Example: {"type": "image_url",
    "image_url": {"url": "data:image/png;base64,iVBO"}} -> {"type": "input_image", "image_url":
    "data:image/png;base64,iVBO", "detail": "auto"}."""
    kind = part.get("type")
    if kind == "image_url":
        return {"type": "input_image", "image_url": (part.get("image_url") or {}).get("url", ""), "detail": "auto"}
    if kind == "file":
        file = part.get("file") or {}
        if "file_data" in file:
            return {"type": "input_file", "filename": file.get("filename") or "document.pdf", "file_data": file["file_data"]}
        return {"type": "input_file", "file_url": str(file.get("file_id") or "")}
    return {"type": "input_text", "text": str(part.get("text") or "")}


def encrypted_reasoning(block) -> str | None:
    """The encrypted content a thinking_blocks entry carries, else None."""
    signature = block.get("signature") if isinstance(block, dict) else None
    if isinstance(signature, str) and signature.startswith(ENCRYPTED_PREFIX) and len(signature) > len(ENCRYPTED_PREFIX):
        return signature[len(ENCRYPTED_PREFIX):]
    return None


def reasoning_item(block: dict) -> dict:
    """A thinking_blocks entry with encrypted content -> a Responses reasoning item (its summary
    the thinking text, which the API requires even when empty: newo-ether/Agora#141).
    Example: {"thinking": "Plan", "signature": "litellm_encrypted_reasoning:gAAA"} ->
    {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Plan"}], "encrypted_content": "gAAA"}."""
    text = block.get("thinking")
    summary = [{"type": "summary_text", "text": text}] if isinstance(text, str) and text else []
    return {"type": "reasoning", "summary": summary, "encrypted_content": encrypted_reasoning(block)}


def passthrough_body(body: dict, target: str, quirks: Provider, max_tokens=None, vision: bool = True) -> dict:
    """A validated Anthropic request -> the body the passthrough path sends a provider that speaks
    Anthropic's Messages API (Provider.messages_api): the client's, changed only where the proxy
    must. The model without its prefix; max_tokens capped (the translated request's, see
    to_openai_request), a thinking budget with it; the billing line and the fields the provider
    refuses left out; thinking this proxy signed for another model left out where signatures
    are checked; for a model without vision (accepts_images: DeepSeek's, MiniMax's "no image input"),
    each image a short note, as on the other paths. Pure: the input is not modified.
    Example (deepseek-anthropic): {"model": "claude-opus-4-8", "max_tokens": 64000, "tool_choice": {...},
    "system": [billing line, "You are Claude Code"]} -> {"model": "deepseek-chat", "max_tokens": 8192,
    "system": ["You are Claude Code"]}."""
    out = {key: value for key, value in body.items() if key not in quirks.refused_fields}
    out["model"] = target.partition("/")[2]
    if isinstance(max_tokens, int) and isinstance(body.get("max_tokens"), int) and max_tokens < body["max_tokens"]:
        out["max_tokens"] = max_tokens
        thinking = out.get("thinking")
        if isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int) and thinking["budget_tokens"] >= max_tokens:
            if max_tokens > 1024:  # Anthropic's rule: 1024 <= budget_tokens < max_tokens
                out["thinking"] = dict(thinking, budget_tokens=max_tokens - 1)
            else:
                del out["thinking"]
    if not quirks.billing_line and "system" in out:
        out["system"] = without_billing_line(out["system"])
    if quirks.signed_thinking:
        out["messages"] = [without_foreign_thinking(m) for m in out["messages"]]
    if not vision:
        note = {"type": "text", "text": f"[image omitted: {target} does not accept images]"}
        out["messages"] = [dict(m, content=images_as(m["content"], note)) if isinstance(m.get("content"), list) else m
                           for m in out["messages"]]
    config, thinking = out.get("output_config"), out.get("thinking")
    if (quirks.effort_needs_thinking and isinstance(config, dict) and "effort" in config and isinstance(thinking, dict)
            and thinking.get("type") == "disabled"):
        config = {key: value for key, value in config.items() if key != "effort"}
        if config:
            out["output_config"] = config
        else:
            del out["output_config"]
    return out


def images_as(content: list, note: dict) -> list:
    """Content blocks with each image (in a tool result too) replaced by `note`.
    Example: [text "look", image] -> [text "look", note]."""
    out = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "image":
            block = note
        elif isinstance(block, dict) and block.get("type") == "tool_result" and isinstance(block.get("content"), list):
            block = dict(block, content=images_as(block["content"], note))
        out.append(block)
    return out


def without_foreign_thinking(message: dict) -> dict:
    """A message without the thinking blocks this proxy signed (SIGNATURE_PREFIX: another model's
    reasoning, relayed as thinking), which a provider that checks signatures refuses.
    Example: assistant [thinking signed "claude_proxy:groq/x", text "Hi"] -> assistant [text "Hi"]."""
    content = message.get("content")
    if not isinstance(content, list) or message.get("role") != "assistant":
        return message
    kept = [b for b in content if not (isinstance(b, dict) and b.get("type") == "thinking"
                                       and str(b.get("signature", "")).startswith(SIGNATURE_PREFIX))]
    if len(kept) == len(content):
        return message
    return dict(message, content=kept or [{"type": "text", "text": "(thinking left out)"}])


def to_gemini_request(params: dict, facts: dict) -> dict:
    """The translated request -> the JSON body of a Gemini generateContent call (its URL names the
    model and whether it streams). Pure. The system prompt goes to systemInstruction; the
    messages to contents that alternate user and model (gemini_contents); tools to
    functionDeclarations with schemas Gemini takes (gemini_schema) and tool_choice to toolConfig;
    the rest to generationConfig (gemini_generation).
    Example: {"model": "gemini/gemini-2.5-flash", "messages": [system "Be brief", user "Hi"],
    "max_tokens": 100} -> {"systemInstruction": {"parts": [{"text": "Be brief"}]}, "contents":
    [{"role": "user", "parts": [{"text": "Hi"}]}], "generationConfig": {"maxOutputTokens": 100}}."""
    model = params["model"].partition("/")[2]
    messages = params["messages"]
    body: dict = {}
    if messages and messages[0]["role"] == "system":
        body["systemInstruction"] = {"parts": [{"text": messages[0]["content"]}]}
        messages = messages[1:]
    body["contents"] = gemini_contents(messages, not GEMINI_BUDGET_MODELS.match(model))
    declarations = []
    for tool in params.get("tools") or ():
        function = tool["function"]
        declaration = {"name": function["name"], "description": function.get("description", "")}
        parameters = gemini_schema(function.get("parameters") or {})
        if parameters.get("properties"):  # none at all: Gemini refuses an OBJECT with empty properties
            declaration["parameters"] = parameters
        declarations.append(declaration)
    if declarations:
        body["tools"] = [{"functionDeclarations": declarations}]
        choice = params.get("tool_choice")
        if isinstance(choice, dict):
            body["toolConfig"] = {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice["function"]["name"]]}}
        elif choice in ("auto", "required", "none"):
            body["toolConfig"] = {"functionCallingConfig": {"mode": {"auto": "AUTO", "required": "ANY", "none": "NONE"}[choice]}}
    generation = gemini_generation(params, model)
    if generation:
        body["generationConfig"] = generation
    return body


def gemini_generation(params: dict, model: str) -> dict:
    """The translated request's sampling, limits and reasoning -> Gemini's generationConfig.
    Example: {"max_tokens": 64, "stop": ["END"], "reasoning_effort": "high"} for gemini-2.5-pro ->
    {"maxOutputTokens": 64, "stopSequences": ["END"], "thinkingConfig": {"thinkingBudget": 4096,
    "includeThoughts": True}}; for gemini-3-pro-preview {"thinkingLevel": "high", ...}."""
    out: dict = {}
    for name, field in (("max_tokens", "maxOutputTokens"), ("temperature", "temperature"), ("top_p", "topP"),
                        ("top_k", "topK"), ("stop", "stopSequences")):
        if params.get(name) is not None:
            out[field] = params[name]
    effort = params.get("reasoning_effort")
    if effort in GEMINI_BUDGETS:
        thinking = {"thinkingBudget": GEMINI_BUDGETS[effort]} if GEMINI_BUDGET_MODELS.match(model) else {"thinkingLevel": effort}
        out["thinkingConfig"] = dict(thinking, includeThoughts=True)
    return out


def gemini_contents(messages: list[dict], signed: bool) -> list[dict]:
    """OpenAI messages (after the system prompt) -> Gemini contents: user and tool messages are
    "user" turns, assistant messages "model" turns, consecutive ones of a role merged into one,
    so turns alternate. A tool call goes back as a functionCall with the thoughtSignature its id
    carries (after THOUGHT_MARK); with `signed` (Gemini 3, which refuses a call of the turn
    without one) the first call of a model turn that has none gets SKIP_SIGNATURE. A tool result
    is a functionResponse named after its call.
    Example: [user "ls", assistant(tool_calls [call_1__thought__c2ln Bash {}]), tool call_1 "a.txt"]
    -> [user [text "ls"], model [functionCall Bash {} + thoughtSignature "c2ln"],
    user [functionResponse Bash {"content": "a.txt"}]]."""
    contents: list[dict] = []
    names: dict = {}  # tool call id -> its function's name
    for message in messages:
        role, content = message["role"], message.get("content")
        if role == "assistant":
            turn, parts = "model", [{"text": content}] if isinstance(content, str) and content else []
            for n, call in enumerate(message.get("tool_calls") or ()):
                head, _, signature = call["id"].partition(THOUGHT_MARK)
                names[call["id"]] = names[head] = call["function"]["name"]
                part = {"functionCall": {"name": call["function"]["name"], "args": parse_tool_input(call["function"]["arguments"])}}
                if signature or (signed and n == 0):
                    part["thoughtSignature"] = signature or SKIP_SIGNATURE
                parts.append(part)
        elif role == "tool":
            turn = "user"
            name = names.get(message["tool_call_id"]) or names.get(message["tool_call_id"].partition(THOUGHT_MARK)[0], "")
            parts = [{"functionResponse": {"name": name, "response": {"content": content or ""}}}]
        else:
            turn, parts = "user", gemini_parts(content)
        if not parts:
            continue
        if contents and contents[-1]["role"] == turn:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": turn, "parts": parts})
    return contents


def gemini_parts(content) -> list[dict]:
    """A user message's content -> Gemini parts: text; images and PDFs given inline (data URLs)
    as inlineData; a PDF by URL as fileData; an image by URL as a text naming it (Gemini takes
    images inline only, and the proxy fetches nothing a request names).
    Example: [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}] ->
    [{"inlineData": {"mimeType": "image/png", "data": "iVBO"}}]."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts = []
    for part in content or ():
        kind = part.get("type")
        url = (part.get("image_url") or {}).get("url", "") if kind == "image_url" else (part.get("file") or {}).get("file_data", "")
        if kind == "text" and part.get("text"):
            parts.append({"text": part["text"]})
        elif kind in ("image_url", "file") and url.startswith("data:") and ";base64," in url:
            media_type, _, data = url[5:].partition(";base64,")
            parts.append({"inlineData": {"mimeType": media_type, "data": data}})
        elif kind == "image_url" and url:
            parts.append({"text": f"[image at {url} not sent: Gemini takes only inline images]"})
        elif kind == "file" and (part.get("file") or {}).get("file_id"):
            parts.append({"fileData": {"mimeType": "application/pdf", "fileUri": part["file"]["file_id"]}})
    return parts


def gemini_schema(schema, depth: int = 0):
    """A tool's JSON schema -> what Gemini's function declarations take (GEMINI_SCHEMA_FIELDS):
    `$ref`s replaced by their `$defs` (one level each, so a recursive one ends), a type list
    by its first type (nullable if "null" was among them), oneOf by anyOf, exclusive bounds by
    inclusive ones, `enum` kept only of strings, `format` only where its type has it, empty
    `properties` and anything deeper than GEMINI_SCHEMA_DEPTH left out. Pure.
    Example: {"type": ["string", "null"], "format": "uri", "additionalProperties": False} ->
    {"type": "string", "nullable": True}."""
    if not isinstance(schema, dict):
        return {}
    defs = {**(schema.get("definitions") or {}), **(schema.get("$defs") or {})} if depth == 0 else {}
    return _gemini_node(schema, defs, depth)


def _gemini_node(node: dict, defs: dict, depth: int, seen: frozenset = frozenset()) -> dict:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.rpartition("/")[2] in defs and ref not in seen:
        node = {**defs[ref.rpartition("/")[2]], **{k: v for k, v in node.items() if k != "$ref"}}
        seen = seen | {ref}
    out: dict = {}
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if kinds else "string"
        if "null" in node["type"]:
            out["nullable"] = True
    options = node.get("anyOf") or node.get("oneOf")
    if isinstance(options, list):
        options = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
        if len(options) < len(node.get("anyOf") or node.get("oneOf")):
            out["nullable"] = True
        if len(options) == 1:  # one choice left: it is the schema
            node = {**{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}, **options[0]}
            return {**_gemini_node(node, defs, depth, seen), **out}
        if options and depth < GEMINI_SCHEMA_DEPTH:
            out["anyOf"] = [_gemini_node(o, defs, depth + 1, seen) for o in options]
    if isinstance(kind, str):
        out["type"] = kind
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(node.get(key), (int, float)) and not isinstance(node[key], bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = node[key]
    for key, value in node.items():
        if key not in GEMINI_SCHEMA_FIELDS or key in ("type", "anyOf"):
            continue
        if key == "properties":
            if isinstance(value, dict) and value and depth < GEMINI_SCHEMA_DEPTH:
                out[key] = {name: _gemini_node(v, defs, depth + 1, seen) for name, v in value.items() if isinstance(v, dict)}
        elif key == "items":
            if isinstance(value, dict) and depth < GEMINI_SCHEMA_DEPTH:
                out[key] = _gemini_node(value, defs, depth + 1, seen)
        elif key == "enum":
            values = [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []
            if values and len(values) == len(value) and out.get("type", "string") == "string":
                out[key] = values
        elif key == "format":
            if value in GEMINI_FORMATS.get(out.get("type"), ()):
                out[key] = value
        elif key == "required":
            if isinstance(value, list):
                out[key] = [name for name in value if name in (out.get("properties") or node.get("properties") or {})]
        else:
            out[key] = value
    if "required" in out and "properties" not in out:
        del out["required"]
    if out.get("type") == "array" and "items" not in out:
        out["items"] = {"type": "string"}  # Gemini wants an array's items
    return out


def estimate_tokens(params: dict) -> int:
    """Input tokens of a translated request, estimated without a tokenizer: about four
    ASCII characters per token and one per other character, over the messages and tools as
    JSON. Within about 15% of OpenAI's tokenizers on prose, code and schemas; the provider's
    own count arrives with the answer. It places a request (LONG_CONTEXT_MODEL, a window the
    request cannot fit) and fills message_start; count_tokens counts with litellm.
    Example: a 4000-character English prompt -> about 1000."""
    text = json.dumps([params.get("messages"), params.get("tools")], ensure_ascii=False, separators=(",", ":"))
    other = len(text.encode("utf-8")) - len(text)  # each non-ASCII character adds 1 to 3 bytes
    wide = other // 2
    return max(1, (len(text) - wide) // 4 + wide)


def context_overflow(input_tokens: int, max_tokens: int, window: int | None) -> str | None:
    """Claude Code's own words for a request that does not fit the model's window, which it
    knows how to recover from (compaction, or a smaller max_tokens); None when it fits.

    Examples: (150000, 32000, 128000) -> "prompt is too long: 150000 tokens > 128000 maximum";
    (100000, 32000, 128000) -> "input length and `max_tokens` exceed context limit:
    100000 + 32000 > 128000"; (1000, 32000, None) -> None.
    """
    if not window:
        return None
    if input_tokens > window:
        return f"prompt is too long: {input_tokens} tokens > {window} maximum"
    if input_tokens + max_tokens > window:
        return f"input length and `max_tokens` exceed context limit: {input_tokens} + {max_tokens} > {window}"
    return None

# ----------------------------------------------------------------------------------------
# response and stream translation, OpenAI -> Anthropic (pure); the leaves serve both
# ----------------------------------------------------------------------------------------


# A content block's kind -> (its deltas' type, the field that carries their text), for the
# translator, the folding of a stream and the SSE writer alike.
DELTA_KINDS = {"text": ("text_delta", "text"), "thinking": ("thinking_delta", "thinking"),
               "tool_use": ("input_json_delta", "partial_json")}
DELTA_FIELDS = dict(DELTA_KINDS.values())  # a delta's type -> its text's field
# The fields of an OpenAI-style delta (or message) that carry reasoning: reasoning_content
# (DeepSeek, Moonshot, vLLM, litellm), reasoning (Groq, OpenRouter); the first one set wins.
REASONING_FIELDS = ("reasoning_content", "reasoning")
TEXT_FIELDS = ("content",) + REASONING_FIELDS  # reply text, then reasoning


def block_kind(field: str) -> str:
    """The block a text field's text goes to. Example: "content" -> "text"; "reasoning" -> "thinking"."""
    return "text" if field == "content" else "thinking"


# litellm carries Gemini's thought signature inside the tool-call id, after this marker,
# in standard base64; clients get it in base64url, which fits Anthropic's id alphabet.
THOUGHT_MARK = "__thought__"

_TO_CLIENT, _TO_PROVIDER = str.maketrans("+/", "-_"), str.maketrans("-_", "+/")

# A client id that carries a provider's id: Anthropic's shape, then "_" and the provider's id in hex
# (hex, so that no encoded id can hold THOUGHT_MARK or this pattern's own "_").
CARRIED_ID = re.compile(r"(?:srv)?toolu_[0-9a-f]{24}_((?:[0-9a-f]{2})*)")


def client_tool_id(tool_id: str, server: bool = False) -> str:
    """A provider's tool-call id as the client sees it: Anthropic's shape ("toolu_" and 24 hex,
    new for every call: a provider such as Moonshot numbers its calls afresh each turn, and Claude
    Code keys a call's state by its id), then "_" and the provider's id in hex, so that
    provider_tool_id reads it back with no state kept (another proxy process, a restart). A
    Gemini thought signature follows in base64url. Only [A-Za-z0-9_-], as Anthropic's ids
    (Claude Code also names files after them).
    Example: "call_1" -> "toolu_<24 hex>_63616c6c5f31"; "call_1__thought__a+b/c=" ->
    "toolu_<24 hex>_63616c6c5f31__thought__a-b_c"; a call of a server tool the proxy runs
    (`server`: web search) gets Anthropic's "srvtoolu_" instead."""
    head, mark, signature = tool_id.partition(THOUGHT_MARK)
    carried = f"{new_tool_id(server)}_{head.encode('utf-8', 'surrogatepass').hex()}"  # a JSON string may hold a lone surrogate
    return carried + mark + signature.translate(_TO_CLIENT).rstrip("=") if mark else carried


def provider_tool_id(tool_id: str) -> str:
    """The inverse of client_tool_id: the provider's own id, its signature intact. An id that
    carries none (Anthropic's own, one the proxy made up for a call without an id, or one from
    before ids carried theirs) is the provider's as it is.
    Example: "toolu_<24 hex>_63616c6c5f31" -> "call_1"; "toolu_01ABC" -> "toolu_01ABC"."""
    head, mark, signature = tool_id.partition(THOUGHT_MARK)
    carried = CARRIED_ID.fullmatch(head)
    if carried:
        try:
            head = bytes.fromhex(carried.group(1)).decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            pass  # not one of ours: passed on as it came
    if not mark:
        return head
    signature = signature.translate(_TO_PROVIDER)
    return head + mark + signature + "=" * (-len(signature) % 4)


IDS = random.Random()  # seeded from os.urandom: ids must be unique, not secret (secrets costs a system call each)


def new_message_id() -> str:
    return "msg_%024x" % IDS.getrandbits(96)


def new_tool_id(server: bool = False) -> str:
    return ("srvtoolu_%024x" if server else "toolu_%024x") % IDS.getrandbits(96)


def thinking_signature(target: str, encrypted: str = "") -> str:
    """The opaque signature on thinking blocks this proxy produces: it names the model
    that produced the reasoning, so history can tell where a thinking block came from; for a
    Responses API model, REASONING_MARK and the reasoning's encrypted content follow, so the
    model gets its reasoning back on the next turn (assistant_message) with no state kept here.
    Example: ("openai/gpt-5.3-codex", "gAAAA") -> "claude_proxy:openai/gpt-5.3-codex#gAAAA"."""
    return SIGNATURE_PREFIX + target + (REASONING_MARK + encrypted if encrypted else "")


# Where each provider's usage says how many of its prompt tokens it read from its prompt
# cache: the first of these paths that holds a number. prompt_tokens counts them too.
CACHED_TOKEN_FIELDS = (
    ("prompt_tokens_details", "cached_tokens"),  # OpenAI, Groq, OpenRouter; litellm's usage for every provider
    ("prompt_cache_hit_tokens",),  # DeepSeek (api-docs.deepseek.com/guides/kv_cache), beside prompt_cache_miss_tokens
    ("cached_tokens",),  # Moonshot, at the top of its usage
    ("cache_read_input_tokens",),  # Anthropic's own name, which litellm keeps beside prompt_tokens_details
)

# The prompt tokens a provider wrote to its cache (Anthropic, through litellm: inside prompt_tokens).
CACHE_WRITE_FIELDS = (("cache_creation_input_tokens",),)

# The output tokens spent on reasoning, when the provider says (already inside completion_tokens).
REASONING_TOKEN_FIELDS = (("completion_tokens_details", "reasoning_tokens"),)


def usage_count(usage: dict, paths) -> int:
    """The first whole number found at one of `paths` in a usage dict, else 0.
    Example: {"prompt_cache_hit_tokens": 60}, CACHED_TOKEN_FIELDS -> 60."""
    for path in paths:
        value = usage
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 0


def usage_of(usage) -> dict:
    """OpenAI usage -> Anthropic usage: cached prompt tokens (CACHED_TOKEN_FIELDS) become
    cache_read_input_tokens, and input_tokens the rest, as Anthropic counts them. Example:
    {"prompt_tokens": 100, "completion_tokens": 7, "prompt_tokens_details": {"cached_tokens": 60}} ->
    {"input_tokens": 40, "output_tokens": 7, "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 60}."""
    usage = usage if isinstance(usage, dict) else {}
    cached = usage_count(usage, CACHED_TOKEN_FIELDS)
    written = usage_count(usage, CACHE_WRITE_FIELDS)
    prompt = usage.get("prompt_tokens") or usage_count(usage, (("prompt_cache_miss_tokens",),)) + cached
    return {
        "input_tokens": max(prompt - cached - written, 0),
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
    }


def cost_of(usage: dict, reasoning: int, prices: Prices) -> float:
    """What a request cost in USD: Anthropic usage (usage_of) at a model's prices; `reasoning`
    output tokens (inside output_tokens) at the reasoning price where the model has one.
    Example: 1000 input, 3000 cached, 100 output at Prices(2e-06, 8e-06, 5e-07) -> 0.0043."""
    cached = prices.cached if prices.cached is not None else prices.input
    written = prices.cache_write if prices.cache_write is not None else prices.input
    reasoning = min(reasoning, usage["output_tokens"]) if prices.reasoning is not None else 0
    return (usage["input_tokens"] * prices.input + usage["cache_read_input_tokens"] * cached
            + usage["cache_creation_input_tokens"] * written
            + (usage["output_tokens"] - reasoning) * prices.output + reasoning * (prices.reasoning or 0))


def stop_reason_of(finish_reason, used_tools: bool) -> str:
    """OpenAI finish_reason -> Anthropic stop_reason. A turn that produced tool calls is
    a tool_use turn whatever the provider says, unless it was cut by the length limit."""
    if finish_reason == "length":
        return "max_tokens"
    if used_tools:
        return "tool_use"
    return STOP_REASONS.get(finish_reason, "end_turn")


def parse_tool_input(arguments: str) -> dict:
    """Tool-call arguments as streamed -> the tool_use input dict.

    Examples: '' -> {}; '{"a": 1}' -> {"a": 1}; a string with a raw newline inside a
    JSON string is accepted; '{"a": 1} junk' -> {"a": 1}; 'nonsense' ->
    {"_invalid_arguments": "nonsense"} (the client shows the model what it sent).
    """
    if not arguments.strip():
        return {}
    decoder = json.JSONDecoder(strict=False)
    try:
        value, _ = decoder.raw_decode(arguments.strip())
    except ValueError:
        return {"_invalid_arguments": arguments}
    return value if isinstance(value, dict) else {"_invalid_arguments": arguments}


def _json_complete(text: str) -> bool:
    try:
        json.loads(text, strict=False)
    except ValueError:
        return False
    return True


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


class _Block:
    __slots__ = ("kind", "key", "index", "tool_id", "name", "parts", "json_started", "raw", "checked", "signature")

    def __init__(self, kind, key, tool_id=None, name=None):
        self.kind, self.key, self.index, self.signature = kind, key, -1, None
        self.tool_id, self.name, self.parts = tool_id, name, []
        self.json_started = self.raw = False  # tool arguments: begun with "{", or not JSON at all
        self.checked = (0, False)  # (fragments seen, whether they formed complete JSON then)


def sealed_reasoning(blocks) -> tuple:
    """A delta's thinking_blocks (litellm's) -> (the encrypted contents of Responses API reasoning
    items, each of which ends a thinking block after its text; the provider's own signature, if any).
    Example: [{"type": "thinking", "signature": "abc"}] -> ([], "abc")."""
    sealed, signature = [], None
    for block in blocks or ():
        if isinstance(block, dict):
            encrypted = encrypted_reasoning({"signature": block.get("signature") or block.get("data")})
            if encrypted is not None:
                sealed.append(encrypted)
            elif block.get("signature"):
                signature = block["signature"]
    return sealed, signature


class StreamTranslator:
    """A pure state machine: OpenAI chat-completion chunk dicts in, Anthropic SSE events out.

    feed(chunk) -> [(event_name, data), ...]; finish() -> the closing events. No I/O.
    A block is opened only when content for it arrives, so there is never an empty text
    block; block indexes increase strictly and one block is open at a time. Parallel tool
    calls are keyed by their `index`: the open call streams its argument fragments as
    they arrive; a fragment of another call waits until the open call's arguments form
    complete JSON (so interleaved fragments are never mixed up), then follows in order.

    Example: feed({"choices": [{"delta": {"content": "Hi"}}]}) -> message_start, ping,
    content_block_start (text), content_block_delta (text_delta "Hi");
    finish() -> content_block_stop, message_delta (end_turn), message_stop.
    """

    cut = None  # the stop sequence the proxy ended the reply at (StopScanTranslator): the answer is complete

    def __init__(self, message_id: str, model: str, *, input_tokens: int = 0,
                 stop_sequences=(), signature: str = "", tool_names=None, server_tools=frozenset()):
        self.message_id, self.model = message_id, model
        self.input_tokens = input_tokens
        self.stop_sequences = tuple(stop_sequences or ())
        self.signature = signature
        self.tool_names = tool_names or {}  # shortened tool name -> the client's name
        self.server_tools = server_tools  # the tools the proxy runs itself: their calls are server_tool_use blocks
        self.think_state, self.think_buffer = "start", ""  # <think> tags some models put in their text
        self.started = self.finished = False
        self.next_index = 0
        self.open: _Block | None = None
        self.pending: dict = {}  # key -> _Block waiting for the open tool call to complete
        self.tools: dict = {}  # tool-call index -> _Block (open, pending or closed)
        self.used_tools = False  # a block of the client's tools was opened in this provider call
        self.finish_reason = self.stop_sequence = self.usage = self.provider_signature = None
        self.out: list = []

    # -- public ------------------------------------------------------------------------

    def feed(self, chunk: dict) -> list:
        self._start()
        self._chunk(chunk)
        return self._drain()

    def feed_many(self, chunks) -> list:
        """The events of a run of chunk dicts: feed() for each, in one pass."""
        self._start()
        for chunk in chunks:
            self._chunk(chunk)
        return self._drain()

    def open_index(self, key: str) -> int | None:
        """The index of the open block when reply text ("text") or reasoning ("thinking")
        would go straight into it as a plain delta, else None. A reader that has the text's
        bytes already escaped (the direct path's text runs) may then frame the deltas itself:
        they would change nothing here. Example: after feed(text "Hi") -> open_index("text")
        is 0 once the reply is past a possible <think> start, open_index("thinking") None."""
        block = self.open
        if block is None or block.key != key or self.finished or (key == "text" and self.think_state != "done"):
            return None
        return block.index

    def finish(self, stop_reason: str | None = None) -> list:
        """The closing events; `stop_reason` overrides the provider's (the proxy's pause_turn)."""
        if self.finished:
            return self._drain()
        events = self.end_call()
        self.finished = True
        stop_reason = stop_reason or stop_reason_of(self.finish_reason, self.used_tools)
        stop_sequence = self.stop_sequence if stop_reason == "end_turn" else None
        stop_reason = "stop_sequence" if stop_sequence else stop_reason
        self.out += [("message_delta", {"type": "message_delta", "usage": self.final_usage(),
                                        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence}}),
                     ("message_stop", {"type": "message_stop"})]
        return events + self._drain()

    def end_call(self) -> list:
        """The end of a provider call's content (of each, when web searches continue the turn): all is closed."""
        self._start()
        if self.think_state == "start":
            self._settle_text()
        elif self.think_buffer:  # a reply that ended inside a <think> section
            self._content("thinking", "thinking", self.think_buffer)
            self.think_buffer = ""
        self._close_open()
        for block in list(self.pending.values()):
            if block.kind == "tool_use" and not block.name:
                log.warning("dropped a tool call that never received a name")
                continue
            self._open_block(block)
            self._close_open()
        self.pending.clear()
        return self._drain()

    def usage_so_far(self) -> dict:
        """The answer's usage as Anthropic counts it: the call's (else its estimate)."""
        return usage_of(self.usage) if self.usage else dict(usage_of(None), input_tokens=self.input_tokens)

    def final_usage(self) -> dict:
        return self.usage_so_far()

    def keepalive(self) -> list:
        """Events that keep a silent stream alive without adding content: a ping and an empty
        delta in the open block. Claude Code abandons a stream after 300 s without a content
        event (pings do not count), so with no block open an empty thinking block is opened;
        it adds no text, and thinking never goes back to another provider."""
        self._start()
        if self.finished:
            return self._drain()
        self.out.append(("ping", {"type": "ping"}))
        if self.open is None and not self.pending:
            self._open_block(_Block("thinking", "thinking"))
        block = self.open
        if block is not None:
            kind, field = DELTA_KINDS[block.kind]
            self.out.append(("content_block_delta", {"type": "content_block_delta", "index": block.index,
                                                     "delta": {"type": kind, field: ""}}))
        return self._drain()

    # -- internals ---------------------------------------------------------------------

    def _chunk(self, chunk: dict):
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if self.finished:  # nothing may follow message_stop
            return
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) not in (0, None):
                continue
            delta = choice.get("delta") or {}
            sealed, signature = sealed_reasoning(delta["thinking_blocks"]) if "thinking_blocks" in delta else ((), None)
            if signature:
                self.provider_signature = signature
            for field in REASONING_FIELDS:
                reasoning = delta.get(field)
                if reasoning:
                    break
            if isinstance(reasoning, str) and reasoning:
                self._content("thinking", "thinking", reasoning)
            for encrypted in sealed:
                self._reasoning_end(encrypted)
            text = delta.get("content")
            if isinstance(text, str) and text:
                self._text(text)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    self._tool_fragment(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                matched = choice.get("stop_reason") or choice.get("matched_stop")
                if isinstance(matched, str) and matched in self.stop_sequences:
                    self.stop_sequence = matched

    def _drain(self) -> list:
        out, self.out = self.out, []
        return out

    def _start(self):
        if self.started:
            return
        self.started = True
        self.out.append(("message_start", {"type": "message_start", "message": {
            "id": self.message_id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }}))
        self.out.append(("ping", {"type": "ping"}))

    def _settle_text(self):
        """The reply's start was held back in case it opened a <think> section; it did not:
        send it as text, unless it is only white space (no empty-looking text block)."""
        held, self.think_state, self.think_buffer = self.think_buffer, "done", ""
        if held.strip():
            self._content("text", "text", held)

    def _text(self, text: str):
        """Reply text, with a leading <think>...</think> section (as DeepSeek-R1 and Qwen
        models inline their reasoning) turned into thinking. Tags may be split across chunks;
        once the reply is past its start, text goes straight through."""
        if self.think_state == "done":
            self._content("text", "text", text)
            return
        self.think_buffer += text
        if self.think_state == "start":
            head = self.think_buffer.lstrip()
            if head.startswith(THINK_OPEN):
                self.think_state, self.think_buffer = "in", head[len(THINK_OPEN):]
            elif THINK_OPEN.startswith(head):
                return  # "<thi" may still become "<think>"
            else:
                self.think_state, buffered, self.think_buffer = "done", self.think_buffer, ""
                self._content("text", "text", buffered)
                return
        end = self.think_buffer.find(THINK_CLOSE)
        if end < 0:  # still thinking: hold back only what could be the start of "</think>"
            keep = next((k for k in range(len(THINK_CLOSE) - 1, 0, -1) if self.think_buffer.endswith(THINK_CLOSE[:k])), 0)
            thought = self.think_buffer[:len(self.think_buffer) - keep]
            self.think_buffer = self.think_buffer[len(thought):]
            if thought:
                self._content("thinking", "thinking", thought)
            return
        thought, rest = self.think_buffer[:end], self.think_buffer[end + len(THINK_CLOSE):].lstrip()
        self.think_state, self.think_buffer = "done", ""
        if thought:
            self._content("thinking", "thinking", thought)
        if rest:
            self._content("text", "text", rest)

    def _closable(self) -> bool:
        """Whether the open block may end: always, unless it is a tool call whose arguments
        are not yet complete JSON (checked again only when new fragments have arrived)."""
        block = self.open
        if block is None or block.kind != "tool_use":
            return True
        if block.checked[0] != len(block.parts):
            block.checked = (len(block.parts), _json_complete("".join(block.parts)))
        return block.checked[1]

    def _content(self, kind: str, key, text: str):
        """Text or thinking: continue the open block of that kind or start a new one."""
        if self.open is not None and self.open.key == key:
            self._delta(self.open, text)
        elif self._closable() and not self.pending:
            self._close_open()
            block = _Block(kind, key)
            self._open_block(block)
            self._delta(block, text)
        else:
            self.pending.setdefault(key, _Block(kind, key)).parts.append(text)

    def _reasoning_end(self, encrypted: str):
        """A Responses API reasoning item ended (its encrypted content, as litellm's thinking_blocks
        carry it): the open thinking block ends, signed with this proxy's signature for the model
        and that content (thinking_signature); with none open, an empty one stands for reasoning
        whose text was not shown (as Anthropic's display "omitted" thinking), so it goes back too."""
        signature = self.signature + REASONING_MARK + encrypted
        block = self.open
        if block is not None and block.kind == "thinking":
            block.signature = signature
            self._close_open()
            return
        block = _Block("thinking", ("reasoning", self.next_index, len(self.pending)))
        block.signature = signature
        if self._closable() and not self.pending:
            self._close_open()
            self._open_block(block)
            self._close_open()
        else:
            self.pending[block.key] = block

    def _tool_fragment(self, call: dict):
        if self.think_state == "start":  # text held back in case it began a <think> section
            self._settle_text()
        index = call.get("index", 0)
        function = call.get("function") or {}
        fragment = function.get("arguments") or ""
        block = self.tools.get(index)
        if block is not None and call.get("id") and block.tool_id and call["id"] != block.tool_id:
            block = None  # a provider that reuses index 0 for every call: a new id is a new call
        if block is None:
            key = ("tool", index, call.get("id"))
            block = self.tools[index] = _Block("tool_use", key, call.get("id") or None, function.get("name") or None)
        else:
            block.tool_id = block.tool_id or call.get("id") or None
            block.name = block.name or function.get("name") or None
        if block is self.open:
            if fragment:
                self._delta(block, fragment)
                if self.pending and "}" in fragment:
                    self._advance()
        elif block.index >= 0:  # already closed: its JSON was complete, so only whitespace can follow
            if fragment.strip():
                log.warning("dropped an argument fragment for a finished tool call %r", block.name)
        elif self._closable() and not self.pending and block.name:
            self._close_open()
            self._open_block(block)
            if fragment:
                self._delta(block, fragment)
        else:
            if fragment:
                block.parts.append(fragment)
            self.pending.setdefault(block.key, block)
            self._advance()

    def _advance(self):
        """Start waiting blocks, in arrival order, while the open block can be closed."""
        while self.pending and self._closable():
            key, block = next(iter(self.pending.items()))
            if block.kind == "tool_use" and not block.name:
                return
            del self.pending[key]
            self._close_open()
            buffered, block.parts = "".join(block.parts), []
            self._open_block(block)
            if buffered:
                self._delta(block, buffered)

    def _open_block(self, block: _Block):
        block.index = self.next_index
        self.next_index += 1
        self.open = block
        if block.kind == "text":
            content = {"type": "text", "text": ""}
        elif block.kind == "thinking":
            content = {"type": "thinking", "thinking": "", "signature": ""}
        else:
            server = block.name in self.server_tools
            self.used_tools = self.used_tools or not server  # the client's tools to run: a tool_use turn
            if block.tool_id:
                tool_id = client_tool_id(block.tool_id, server)
            else:  # the provider gave none: one made up here, which goes back to it as it is
                block.tool_id = tool_id = new_tool_id(server)
            name = self.tool_names.get(block.name, block.name) or ""
            content = {"type": "server_tool_use" if server else "tool_use", "id": tool_id, "name": name, "input": {}}
        self.out.append(("content_block_start", {"type": "content_block_start", "index": block.index, "content_block": content}))
        if block.parts:  # content that waited while another tool call was open
            buffered, block.parts = "".join(block.parts), []
            self._delta(block, buffered)

    def _delta(self, block: _Block, text: str):
        if block.kind == "tool_use":
            block.parts.append(text)
            if not block.json_started:
                # Arguments that do not start as a JSON object would break the client's
                # parser: hold them and send what parse_tool_input makes of them at the end.
                head = "".join(block.parts).lstrip()
                if not head or block.raw:
                    return
                if head[0] != "{":
                    block.raw = True
                    return
                block.json_started, text = True, "".join(block.parts)
        kind, field = DELTA_KINDS[block.kind]
        self.out.append(("content_block_delta", {"type": "content_block_delta", "index": block.index,
                                                 "delta": {"type": kind, field: text}}))

    def _close_open(self):
        block = self.open
        if block is None:
            return
        if block.raw:
            repaired = json.dumps(parse_tool_input("".join(block.parts)), ensure_ascii=False)
            kind, field = DELTA_KINDS["tool_use"]
            self.out.append(("content_block_delta", {"type": "content_block_delta", "index": block.index,
                                                     "delta": {"type": kind, field: repaired}}))
        if block.kind == "thinking":
            signature = block.signature or self.provider_signature or self.signature
            self.out.append(("content_block_delta", {"type": "content_block_delta", "index": block.index,
                                                     "delta": {"type": "signature_delta", "signature": signature}}))
        self.out.append(("content_block_stop", {"type": "content_block_stop", "index": block.index}))
        self.open = None



class SearchTurnTranslator(StreamTranslator):
    """The StreamTranslator of a request that offers web search (Exchange.search_turn): one answer
    over several provider calls, with the proxy's own blocks between them (a web_search_tool_result,
    block()), block indexes going on, the usage summed over the calls and the searches counted
    (`searches`, set by the exchange: usage.server_tool_use)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.spent = self.searches = None  # the usage of the calls before this one (next_call); the searches run

    def usage_so_far(self) -> dict:
        """This call's usage and the calls' before it."""
        usage = super().usage_so_far()
        return {key: value + self.spent[key] for key, value in usage.items()} if self.spent else usage

    def final_usage(self) -> dict:
        usage = self.usage_so_far()
        if self.searches is not None:
            usage["server_tool_use"] = {"web_search_requests": self.searches, "web_fetch_requests": 0}
        return usage

    def next_call(self, input_tokens: int):
        """Go on with another provider call (of `input_tokens`) in the same answer, after end_call: block
        indexes go on, usage adds up, and what belongs to one call (tool calls, finish, a <think> start) starts afresh."""
        self.spent = self.usage_so_far()
        self.input_tokens, self.usage, self.finish_reason, self.stop_sequence = input_tokens, None, None, None
        self.tools, self.used_tools = {}, False
        self.think_state, self.think_buffer = "start", ""

    def block(self, content: dict) -> list:
        """The events of a whole block the proxy made, started with all its content, then stopped, as
        Anthropic sends a web_search_tool_result."""
        self._start()
        self._close_open()
        index, self.next_index = self.next_index, self.next_index + 1
        return self._drain() + [("content_block_start", {"type": "content_block_start", "index": index, "content_block": content}),
                                ("content_block_stop", {"type": "content_block_stop", "index": index})]


class StopScanTranslator(StreamTranslator):
    """The StreamTranslator of a request with stop sequences its provider does not get (own_stops):
    the reply's text is watched for them, and at the first one found the reply ends there, as
    Anthropic ends it: the text before it, the block's stop, stop_reason "stop_sequence" with
    the sequence; the provider call is then closed (`cut`: Exchange.deliver). The end of each
    text delta that could begin a sequence is held back until the next one tells, and a text
    block starts only with its first text. The text is read as text here (open_index is None: no
    bytes passed on unread). When the provider's usage never comes (the call closed early),
    output tokens are estimated from the output sent (text, thinking, tool input).
    Example, own ("STOP",): deltas "ab", "cST", "OPd" -> "ab", "c", then the end at "STOP"."""

    def __init__(self, *args, own=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.own, self.keep = tuple(own), max(map(len, own)) - 1
        self.held = None  # (index, text): a text block's end not yet sent, where a sequence may begin
        self.opening = None  # a text block's content_block_start, until its first text
        self.sent = 0  # characters of output sent (text, thinking, tool input): final_usage's estimate

    def open_index(self, key: str):
        return None

    def _drain(self) -> list:  # every event the translator gives passes here
        return self.scan(super()._drain())

    def scan(self, events) -> list:
        out = []
        if self.cut:  # the reply has ended
            return out
        for name, data in events:
            if name == "content_block_start" and data["content_block"]["type"] == "text":
                self.opening = (name, data)
                continue
            if name == "ping" or (name == "content_block_delta" and data["delta"].get("text") == "" and not self.opening):
                out.append((name, data))  # a keep-alive (its ping, its empty delta): the text waiting may still begin a sequence
                continue
            if name != "content_block_delta" or data["delta"].get("type") != "text_delta":
                self._say(out, *(self.held or (None, "")))  # what waits goes before anything else
                out.append((name, data))
                if name == "content_block_delta":  # thinking, tool input: output too, for the estimate
                    self.sent += len(data["delta"].get("thinking") or data["delta"].get("partial_json") or "")
                continue
            index, text = data["index"], (self.held[1] if self.held else "") + data["delta"]["text"]
            self.held = None
            # the first to end, as generation meets it (the longest of those ending there): the same
            # sequence whatever the deltas, so the JSON answer (one delta) and the stream agree
            found = min(((text.find(s) + len(s), -len(s), s) for s in self.own if s in text), default=None)
            if found:
                self._say(out, index, text[:found[0] + found[1]])
                self.cut = (None if self.opening else index, found[2])  # a block never begun is not stopped
                return out
            sent = max(len(text) - self.keep, 0)
            self._say(out, index, text[:sent])
            self.held = (index, text[sent:]) if text[sent:] else None
        return out

    def _say(self, out: list, index, text: str):
        """The text delta (none for no text), after the start of its block if that waits; and any start left."""
        self.held = None
        if self.opening and (text or index is None):
            out.append(self.opening)
            self.opening = None
        if text:
            self.sent += len(text)
            out.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": {"type": "text_delta", "text": text}}))

    def finish(self, stop_reason: str | None = None) -> list:
        if self.cut and self.finished:
            return []
        events = [] if self.cut else super().finish(stop_reason)
        if not self.cut:
            return events
        (index, sequence), self.finished = self.cut, True
        stop = [] if index is None else [("content_block_stop", {"type": "content_block_stop", "index": index})]
        return events + stop + [("message_delta", {"type": "message_delta", "usage": self.final_usage(),
                                                   "delta": {"stop_reason": "stop_sequence", "stop_sequence": sequence}}),
                                ("message_stop", {"type": "message_stop"})]

    def final_usage(self) -> dict:
        usage = super().final_usage()
        if self.cut and not usage["output_tokens"]:
            usage["output_tokens"] = max(1, self.sent // 4)  # about four characters a token (estimate_tokens)
        return usage


def fold_events(events) -> dict:
    """Fold Anthropic stream events into the message a non-streaming call returns.

    Example: message_start, content_block_start(text), text_delta "Hi", content_block_stop,
    message_delta(end_turn), message_stop -> {"type": "message", "content": [{"type":
    "text", "text": "Hi"}], "stop_reason": "end_turn", ...}.
    """
    message: dict = {}
    partial: dict = {}
    for name, data in events:
        if name == "message":  # a whole message already (a relayed JSON answer)
            message = data
        elif name == "message_start":
            start = data["message"]
            message = dict(start, content=list(start["content"]), usage=dict(start["usage"]))
        elif name == "content_block_start":
            message["content"].append(dict(data["content_block"]))
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            kind = delta["type"]
            if kind == "signature_delta":
                block["signature"] = delta["signature"]
            elif kind == "input_json_delta":  # tool input: parsed once whole, at the block's end
                partial.setdefault(data["index"], []).append(delta["partial_json"])
            elif kind in DELTA_FIELDS:
                field = DELTA_FIELDS[kind]
                block[field] += delta[field]
        elif name == "content_block_stop":
            block = message["content"][data["index"]]
            if block["type"] in ("tool_use", "server_tool_use"):
                block["input"] = parse_tool_input("".join(partial.pop(data["index"], [])))
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"].update(data.get("usage") or {})
        elif name == "error":
            raise ProxyError(500, data["error"]["message"], data["error"]["type"])
    return message


def response_as_chunk(response: dict) -> dict:
    """A non-streamed OpenAI response -> one equivalent stream chunk, so both paths share
    the StreamTranslator. Example: message {"content": "Hi", "tool_calls": [c]} ->
    delta {"content": "Hi", "tool_calls": [c with "index": 0]}."""
    choices = response.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    delta = {key: message.get(key) for key in TEXT_FIELDS + ("thinking_blocks",)}
    delta["tool_calls"] = [dict(call, index=i) for i, call in enumerate(message.get("tool_calls") or ()) if isinstance(call, dict)]
    out_choice = {"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason")}
    for key in ("stop_reason", "matched_stop"):
        if key in choice:
            out_choice[key] = choice[key]
    return {"choices": [out_choice], "usage": response.get("usage")}


# OpenAI's Responses API, answered as the chat chunks the StreamTranslator reads (the shapes
# litellm's own Responses bridge gives, so both paths read alike). Its objects and stream events:
# platform.openai.com/docs/api-reference/responses/object and .../responses-streaming.

# A failed response's error code -> the status the client gets (its type follows ERROR_TYPES);
# other codes (invalid_prompt, the image codes) say the request was at fault: 400.
RESPONSES_ERROR_STATUS = {"server_error": 500, "rate_limit_exceeded": 429, "vector_store_timeout": 504}


def responses_error(error) -> ProviderHTTPError:
    """A Responses error object (a failed response's `error`, or an `error` event) -> the
    provider error it is. Example: {"code": "rate_limit_exceeded", "message": "Slow down"} -> 429 "Slow down"."""
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    status = RESPONSES_ERROR_STATUS.get(code, 400 if isinstance(code, str) and code else 500)
    return ProviderHTTPError(status, str(error.get("message") or "The provider's response failed."), code=code)


def responses_usage(usage) -> dict | None:
    """Responses usage -> chat usage, as usage_of reads it. Example: {"input_tokens": 100,
    "input_tokens_details": {"cached_tokens": 60}, "output_tokens": 9, "output_tokens_details":
    {"reasoning_tokens": 4}} -> {"prompt_tokens": 100, "completion_tokens": 9,
    "prompt_tokens_details": {"cached_tokens": 60}, "completion_tokens_details": {"reasoning_tokens": 4}}."""
    if not isinstance(usage, dict):
        return None
    details = usage.get("input_tokens_details") if isinstance(usage.get("input_tokens_details"), dict) else {}
    output = usage.get("output_tokens_details") if isinstance(usage.get("output_tokens_details"), dict) else {}
    out = {"prompt_tokens": usage.get("input_tokens") or 0, "completion_tokens": usage.get("output_tokens") or 0,
           "prompt_tokens_details": {"cached_tokens": details.get("cached_tokens") or 0},
           "completion_tokens_details": {"reasoning_tokens": output.get("reasoning_tokens") or 0}}
    if details.get("cache_write_tokens"):
        out["cache_creation_input_tokens"] = details["cache_write_tokens"]
    return out


def responses_finish(response: dict, refused: bool) -> dict:
    """The last chunk of a finished response: its finish_reason and usage. An incomplete one was
    cut by max_output_tokens ("length") or its content filter; a refusal is the filter's too.
    Example: {"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}} -> finish_reason "length"."""
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        finish = "content_filter" if reason == "content_filter" else "length"
    else:
        finish = "content_filter" if refused else "stop"
    return {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}], "usage": responses_usage(response.get("usage"))}


def chat_delta(delta: dict) -> dict:
    return {"choices": [{"index": 0, "delta": delta}]}


def summary_text(item: dict) -> str:
    """A reasoning item's summary parts as one text. Example: [{"text": "a"}, {"text": "b"}] -> "a\n\nb"."""
    return "\n\n".join(p["text"] for p in item.get("summary") or () if isinstance(p, dict) and isinstance(p.get("text"), str) and p["text"])


def reasoning_seal(item: dict) -> list:
    """The chunk that ends a reasoning item: its encrypted content, as litellm's thinking_blocks
    carry it (ENCRYPTED_PREFIX), or nothing without any."""
    encrypted = item.get("encrypted_content")
    if not isinstance(encrypted, str) or not encrypted:
        return []
    return [chat_delta({"thinking_blocks": [{"type": "thinking", "thinking": "", "signature": ENCRYPTED_PREFIX + encrypted}]})]


def call_chunk(index: int, call_id, name, arguments: str) -> dict:
    return chat_delta({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                       "function": {"name": name, "arguments": arguments}}]})


def message_text(item: dict) -> tuple[str, bool]:
    """An output message's text and whether it is a refusal: output_text parts, and refusal
    parts, whose text the user sees as the answer."""
    texts, refused = [], False
    for part in item.get("content") or ():
        if isinstance(part, dict) and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif isinstance(part, dict) and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
            refused = True
    return "".join(texts), refused


def responses_answer_chunks(response: dict) -> list:
    """A non-streamed Responses object -> the chat chunks of the same answer, item by item with
    the leaves the stream uses (ResponsesEvents): reasoning (its summary, then its seal), message
    text, function calls; then the finish. A failed response raises its error.
    Example: {"status": "completed", "output": [{"type": "message", "content": [{"type":
    "output_text", "text": "Hi"}]}]} -> [delta content "Hi", finish "stop"]."""
    if response.get("status") == "failed" or isinstance(response.get("error"), dict):
        raise responses_error(response.get("error"))
    chunks, calls, refused = [], 0, False
    for item in response.get("output") or ():
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "reasoning":
            text = summary_text(item)
            chunks += ([chat_delta({"reasoning_content": text})] if text else []) + reasoning_seal(item)
        elif kind == "message":
            text, refusal = message_text(item)
            refused |= refusal
            if text:
                chunks.append(chat_delta({"content": text}))
        elif kind == "function_call":
            chunks.append(call_chunk(calls, item.get("call_id"), item.get("name"), str(item.get("arguments") or "")))
            calls += 1
    return chunks + [responses_finish(response, refused)]


class ResponsesEvents:
    """A pure state machine: Responses API stream events (dicts) in, chat chunk dicts out, for
    the one StreamTranslator. feed(event) -> chunks; `ended` once the response has finished
    (response.completed or response.incomplete); response.failed and error events raise the
    error they carry. Text and reasoning summaries stream as their deltas come; a function call
    starts at its output_item.added (call_id and name) and streams its argument deltas (the
    rest of its arguments at .done, if the deltas did not bring them all); a reasoning item ends
    with its encrypted content at its output_item.done (the complete one: the one .added gives
    may be partial). Other events (created, in_progress, content parts, ...) change nothing.
    Example: feed({"type": "response.output_text.delta", "delta": "Hi", ...}) -> [delta content "Hi"]."""

    def __init__(self):
        self.calls: dict = {}  # output_index -> [the call's index among the calls, the arguments streamed]
        self.summarised: set = set()  # output indexes of reasoning items whose summary streamed
        self.refused = self.ended = False

    def feed(self, event: dict) -> list:
        kind, index = event.get("type"), event.get("output_index")
        delta = event.get("delta") if isinstance(event.get("delta"), str) else ""
        if kind in ("response.output_text.delta", "response.refusal.delta"):
            self.refused |= kind == "response.refusal.delta"
            return [chat_delta({"content": delta})] if delta else []
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            self.summarised.add(index)
            return [chat_delta({"reasoning_content": delta})] if delta else []
        if kind == "response.reasoning_summary_part.added" and index in self.summarised:
            return [chat_delta({"reasoning_content": "\n\n"})]  # a new part of the summary
        if kind == "response.function_call_arguments.delta" and index in self.calls and delta:
            self.calls[index][1] += delta
            return [chat_delta({"tool_calls": [{"index": self.calls[index][0], "function": {"arguments": delta}}]})]
        if kind == "response.function_call_arguments.done" and index in self.calls:
            call, arguments = self.calls[index], event.get("arguments")
            if isinstance(arguments, str) and arguments.startswith(call[1]) and len(arguments) > len(call[1]):
                rest, call[1] = arguments[len(call[1]):], arguments
                return [chat_delta({"tool_calls": [{"index": call[0], "function": {"arguments": rest}}]})]
            return []
        item = event.get("item") if isinstance(event.get("item"), dict) else {}
        if kind == "response.output_item.added" and item.get("type") == "function_call":
            self.calls[index] = [len(self.calls), ""]
            return [call_chunk(self.calls[index][0], item.get("call_id"), item.get("name"), "")]
        if kind == "response.output_item.done" and item.get("type") == "reasoning":
            text = "" if index in self.summarised else summary_text(item)
            return ([chat_delta({"reasoning_content": text})] if text else []) + reasoning_seal(item)
        if kind in ("response.completed", "response.incomplete"):
            self.ended = True
            return [responses_finish(event.get("response") or {}, self.refused)]
        if kind == "response.failed":
            raise responses_error((event.get("response") or {}).get("error"))
        if kind == "error":
            raise responses_error(event)
        return []




class GeminiChunks:
    """Gemini's GenerateContentResponse (a streamed one or the whole answer: they have one shape)
    -> an OpenAI chat-completion chunk dict, so the one StreamTranslator serves Gemini too. Its
    only state is the number of calls so far: each call gets the next tool-call index. No I/O.

    Parts: text -> content, thought text -> reasoning_content, a functionCall -> a whole tool call
    whose id (Gemini's own, else one made up) carries the part's thoughtSignature after
    THOUGHT_MARK (as litellm carries it), to go back with the call next turn. finishReason ->
    finish_reason (GEMINI_FINISH); promptFeedback.blockReason (no candidates) -> "content_filter";
    a finish that is an error -> an "error" member (GeminiDecoder and the JSON reader raise it);
    usageMetadata -> usage (gemini_usage).
    Example: {"candidates": [{"content": {"parts": [{"text": "Hi"}]}, "finishReason": "STOP"}]} ->
    {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}."""

    __slots__ = ("calls",)

    def __init__(self):
        self.calls = 0

    def convert(self, response: dict) -> dict:
        candidates = response.get("candidates")
        candidate = candidates[0] if type(candidates) is list and candidates and type(candidates[0]) is dict else {}
        delta: dict = {}
        content = candidate.get("content")
        for part in content.get("parts") or () if type(content) is dict else ():
            if type(part) is not dict:
                continue
            text = part.get("text")
            if type(text) is str and text:
                field = "reasoning_content" if part.get("thought") else "content"
                delta[field] = delta.get(field, "") + text
            elif type(part.get("functionCall")) is dict:
                delta.setdefault("tool_calls", []).append(self._call(part))
        reason = candidate.get("finishReason")
        finish = GEMINI_FINISH.get(reason, "stop") if reason else None
        feedback = response.get("promptFeedback")
        if not candidate and type(feedback) is dict and feedback.get("blockReason"):
            finish = "content_filter"  # the prompt itself was blocked: no candidates at all
        chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if reason and finish is None:
            chunk["error"] = {"message": f"Gemini ended its answer with finishReason {reason}: "
                              + ("it could not form a valid function call" if reason == "MALFORMED_FUNCTION_CALL"
                                 else "it called a function it was not offered") + ". Sending the request again may work.",
                              "code": reason}
        if type(response.get("usageMetadata")) is dict:
            chunk["usage"] = gemini_usage(response["usageMetadata"])
        return chunk

    def _call(self, part: dict) -> dict:
        call, index = part["functionCall"], self.calls
        self.calls += 1
        tool_id = call.get("id") if isinstance(call.get("id"), str) and call["id"] else "call_%012x" % IDS.getrandbits(48)
        if isinstance(part.get("thoughtSignature"), str) and part["thoughtSignature"]:
            tool_id += THOUGHT_MARK + part["thoughtSignature"]
        arguments = json.dumps(call.get("args") if isinstance(call.get("args"), dict) else {}, ensure_ascii=False)
        return {"index": index, "id": tool_id, "type": "function",
                "function": {"name": str(call.get("name") or ""), "arguments": arguments}}


def gemini_usage(meta: dict) -> dict:
    """Gemini's usageMetadata -> OpenAI usage, as litellm counts it: thoughts are output tokens
    (unless candidatesTokenCount already holds them), cachedContentTokenCount the cached prompt.
    Example: {"promptTokenCount": 100, "candidatesTokenCount": 7, "thoughtsTokenCount": 5,
    "cachedContentTokenCount": 60} -> {"prompt_tokens": 100, "completion_tokens": 12,
    "prompt_tokens_details": {"cached_tokens": 60}, "completion_tokens_details": {"reasoning_tokens": 5}}."""
    def count(name):
        value = meta.get(name)
        return value if type(value) is int and value > 0 else 0

    prompt, candidates, thoughts = count("promptTokenCount"), count("candidatesTokenCount"), count("thoughtsTokenCount")
    inclusive = thoughts and prompt + candidates + count("toolUsePromptTokenCount") == count("totalTokenCount")
    return {"prompt_tokens": prompt, "completion_tokens": candidates + (0 if inclusive else thoughts),
            "prompt_tokens_details": {"cached_tokens": count("cachedContentTokenCount")},
            "completion_tokens_details": {"reasoning_tokens": thoughts}}


def gemini_answer(response: dict) -> dict:
    """A whole Gemini answer -> the OpenAI response its chunk stands for (response_as_chunk reads it)."""
    chunk = GeminiChunks().convert(response)
    choice = chunk["choices"][0]
    out = {"choices": [{"index": 0, "message": choice["delta"], "finish_reason": choice["finish_reason"]}],
           "usage": chunk.get("usage")}
    if "error" in chunk:
        out["error"] = chunk["error"]
    return out


def probe_response(input_tokens: int) -> dict:
    """The reply to a max_tokens 1 probe that the model refused as too small: no content,
    cut by the length limit (so stop_reason max_tokens), with the counted input."""
    return {"choices": [{"index": 0, "message": {"content": None}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": input_tokens, "completion_tokens": 0}}


class ProxyError(Exception):
    """An error the client receives, in Anthropic's shape and with its status."""

    context_overflow = False  # the provider said the request does not fit the model's window
    final = False  # the proxy's own deadline or shutdown: no fallback model is tried after it
    close_connection = False  # the request's body is left unread or half read (see unreadable)

    def __init__(self, status: int, message: str, error_type: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")
        self.headers = headers or {}

    def body(self) -> dict:
        return {"type": "error", "error": {"type": self.error_type, "message": self.message}}


def invalid(message: str) -> ProxyError:
    return ProxyError(400, message)


def final(error: ProxyError) -> ProxyError:
    error.final = True
    return error


def map_provider_error(exc: BaseException, litellm=None) -> ProxyError:
    """Translate a litellm/provider exception into a ProxyError, by type and status code.

    Example: litellm.RateLimitError (status 429, retry-after 7) -> ProxyError(429,
    rate_limit_error, headers {"retry-after": "7"}); litellm.Timeout -> 504 timeout_error;
    an upstream 503 -> 529 overloaded_error.
    """
    original = getattr(exc, "original_exception", None)
    if original is not None and original is not exc:  # MidStreamFallbackError wraps the real one
        error = map_provider_error(original, litellm)
        retry_after = _retry_after(exc)
        if retry_after and "retry-after" not in error.headers:
            error.headers["retry-after"] = retry_after
        return error
    if isinstance(exc, ProxyError):
        return exc
    message = _error_text(exc)
    if isinstance(exc, TimeoutError) or (litellm is not None and isinstance(exc, litellm.Timeout)):
        return ProxyError(504, f"The provider did not answer in time: {message or 'timed out'}")
    if isinstance(exc, http.client.IncompleteRead):
        return ProxyError(500, "The provider's stream broke off before its end.")
    if isinstance(exc, (OSError, http.client.HTTPException)):  # the direct path: no connection, or it broke
        return ProxyError(500, f"Could not reach the provider: {message or type(exc).__name__}")
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        response = getattr(exc, "response", None)
        status = getattr(response, "status_code", None)
    if litellm is not None and isinstance(exc, litellm.APIConnectionError) and status in (None, 500):
        return ProxyError(500, f"Could not reach the provider: {message}")
    if not isinstance(status, int):
        return ProxyError(500, f"Provider call failed: {message}")
    mapped = UPSTREAM_STATUS.get(status) or (400 if 400 <= status < 500 else 500)
    headers = {}
    retry_after = _retry_after(exc)
    if retry_after:
        headers["retry-after"] = retry_after
    error = ProxyError(mapped, message, headers=headers)
    error.context_overflow = bool(getattr(exc, "context_overflow", False)) or (
        litellm is not None and isinstance(exc, litellm.ContextWindowExceededError))
    return error


_LOCAL_PATH = re.compile(r'(?:File )?"?(?<![\w:/.])(?:/|[A-Za-z]:\\)[^\s"\']*\.py\b"?(?:, line \d+)?')


def _error_text(exc: BaseException) -> str:
    """An exception's message fit for a client: no traceback and no local file path."""
    text = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    text = _LOCAL_PATH.sub("", text.split("Traceback (most recent call last)")[0]).strip() or type(exc).__name__
    return text if len(text) <= 2000 else text[:2000] + "..."


class ProviderHTTPError(Exception):
    """A provider's error answer on the direct path: its status, headers and message."""

    def __init__(self, status: int, message: str, headers=None, code=None):
        super().__init__(message)
        self.status_code, self.headers, self.code = status, headers or {}, code


# What OpenAI-compatible providers say when a request does not fit the model's window.
OVERFLOW_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})

OVERFLOW_WORDS = ("maximum context length", "context length exceeded", "context_length_exceeded",
                  "prompt is too long", "exceeded model token limit", "reduce the length of the messages")


def provider_http_error(status: int, data: bytes, headers) -> ProviderHTTPError:
    """A provider's error answer -> a ProviderHTTPError with its own message, as litellm
    reads it. Example: (429, b'{"error": {"message": "Slow down"}}') -> "Slow down"."""
    message, code = "", None
    try:
        payload = json.loads(data)
        error = payload.get("error", payload) if isinstance(payload, dict) else {}
        if isinstance(error, dict):
            message, code = str(error.get("message") or ""), error.get("code")
            raw = error.get("metadata", {}).get("raw") if isinstance(error.get("metadata"), dict) else None
            if isinstance(raw, str) and raw:  # OpenRouter's "Provider returned error": the provider's own words follow
                message = f"{message}: {raw[:2000]}" if message else raw[:2000]
        elif isinstance(error, str):
            message = error
    except ValueError:
        pass
    if not message:
        message = data[:2000].decode("utf-8", "replace").strip() or f"HTTP {status}"
    exc = ProviderHTTPError(status, message, headers, code)
    lowered = message.lower()
    exc.context_overflow = status in (400, 413, 422) and (code in OVERFLOW_CODES or any(w in lowered for w in OVERFLOW_WORDS))
    return exc


# Google's error status words -> the HTTP status they stand for, where an error arrives inside a
# stream or a 200 answer (cloud.google.com/apis/design/errors#handling_errors).
GOOGLE_STATUS = {"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400, "UNAUTHENTICATED": 401,
                 "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429,
                 "CANCELLED": 499, "INTERNAL": 500, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504}

# An ErrorInfo's reason, or a status word, that says more than Google's HTTP status: a key Google does not
# know comes as a 400 INVALID_ARGUMENT with reason API_KEY_INVALID, which the client should see as the 401
# it is; a 400 FAILED_PRECONDITION is a request that is fine from a place or project Gemini does not serve
# ("User location is not supported for the API use", ai.google.dev/gemini-api/docs/troubleshooting), a 403.
GOOGLE_REASONS = {"API_KEY_INVALID": 401, "FAILED_PRECONDITION": 403}


def google_http_error(status: int, data: bytes, headers) -> ProviderHTTPError:
    """Google's error answer ({"error": {"code", "message", "status", "details"}}) -> a
    ProviderHTTPError: its HTTP status (inside a stream, the one its status word names), its
    message, and a RetryInfo's retryDelay as retry-after when no header gives one.
    Example: (429, b'{"error": {"code": 429, "message": "Quota exceeded", "status":
    "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
    "retryDelay": "17s"}]}}') -> 429 "Quota exceeded", retry-after "17"."""
    exc = provider_http_error(status, data, headers)
    try:
        error = json.loads(data).get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        return exc
    if status == 500 and GOOGLE_STATUS.get(error.get("status")):  # an error event in a stream: the status says what
        exc.status_code = GOOGLE_STATUS[error["status"]]
    exc.code = error.get("status") or exc.code
    details = [d for d in error.get("details") or () if isinstance(d, dict)]
    reason = next((GOOGLE_REASONS[d.get("reason")] for d in details if d.get("reason") in GOOGLE_REASONS),
                  GOOGLE_REASONS.get(error.get("status")))
    exc.status_code = reason or exc.status_code
    delay = next((d.get("retryDelay") for d in details if str(d.get("@type", "")).endswith("google.rpc.RetryInfo")), None)
    if isinstance(delay, str) and delay.endswith("s") and not (headers and headers.get("retry-after")):
        value = retry_after_value(delay[:-1])
        if value:
            exc.headers = {"retry-after": value}
    if exc.status_code == 400 and "token count" in exc.args[0].lower() and "exceeds" in exc.args[0].lower():
        exc.context_overflow = True  # "The input token count (N) exceeds the maximum number of tokens allowed (M)."
    return exc


def secrets_of(env: Mapping[str, str]) -> set:
    """The values of the environment's keys, tokens and passwords (8 characters or more)."""
    return {value for name, value in env.items()
            if value and len(value) >= 8 and name.upper().endswith(("_KEY", "_TOKEN", "_SECRET", "PASSWORD"))}


def redact(text: str, env: Mapping[str, str]) -> str:
    """Blank out every secret of the environment that a provider's message may echo.
    Example: "bad key sk-abc12345" with OPENAI_API_KEY=sk-abc12345 -> "bad key ***"."""
    for value in secrets_of(env):
        if value in text:
            text = text.replace(value, "***")
    return text


def secret_texts(env: Mapping[str, str]) -> tuple:
    """The environment's secrets, longest first (one that holds another is blanked whole)."""
    return tuple(sorted(secrets_of(env), key=len, reverse=True))


def answer_secrets(env: Mapping[str, str]) -> tuple:
    """The environment's secrets as an answer's JSON holds them (escaped, UTF-8), longest first:
    what the stream sink blanks out of the bytes it writes."""
    return tuple(dict.fromkeys(encode_json_string(value)[1:-1].encode("utf-8") for value in secret_texts(env)))


def blank_secrets(value, secrets: tuple):
    """A JSON value (a provider's answer, made plain) with every secret in its strings blanked.
    Example: {"text": "my key is sk-abc12345"} with ("sk-abc12345",) -> {"text": "my key is ***"}."""
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {key: blank_secrets(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [blank_secrets(item, secrets) for item in value]
    return value


class Redactor(logging.Filter):
    """A logger filter that blanks out secrets in every record, litellm's own included
    (its debug lines echo provider error bodies, which may quote the key)."""

    def __init__(self):
        super().__init__()
        self.secrets: set = set()

    def filter(self, record):
        if self.secrets:
            text = record.getMessage()
            if any(secret in text for secret in self.secrets):
                record.msg, record.args = self.blank(text), ()
            if record.exc_info and not record.exc_text:
                record.exc_text = self.blank(logging.Formatter().formatException(record.exc_info))
        return True

    def blank(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


REDACTOR = Redactor()

LOGGER_NAMES = ("claude_proxy", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def guard_logs(env: Mapping[str, str]):
    """Make sure no log line, ours or litellm's, can show one of this environment's secrets."""
    REDACTOR.secrets |= secrets_of(env)
    for name in LOGGER_NAMES:
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)


# Claude Code gives up at once on a retry-after above 60 s; capped, its own retries go on.
MAX_RETRY_AFTER = 60


def _retry_after(exc: BaseException) -> str | None:
    """The provider's retry-after, in whole seconds from 0 to MAX_RETRY_AFTER, or an HTTP date
    as it came; anything else is dropped (a hostile provider's "inf", "1e309" or "nan" too).
    Example: "2.5" -> "3"; "600" -> "60"; "-4" -> "0"; "Wed, 21 Oct 2026 07:28:00 GMT" -> as it is;
    "nan", "inf", "soon" -> None."""
    for headers in (getattr(exc, "litellm_response_headers", None), getattr(getattr(exc, "response", None), "headers", None),
                    getattr(exc, "headers", None)):
        if headers is not None:
            try:
                value = headers.get("retry-after")
            except Exception:
                value = None
            if value:
                return retry_after_value(str(value))
    return None


def retry_after_value(text: str) -> str | None:
    """One retry-after value, read as _retry_after says."""
    try:
        seconds = float(text)
    except ValueError:  # an HTTP date: passed on as it is, if it is one (and so holds no line break)
        from email.utils import parsedate_tz

        return text if HTTP_DATE.fullmatch(text) and parsedate_tz(text) is not None else None
    if not math.isfinite(seconds):
        return None
    return str(math.ceil(min(MAX_RETRY_AFTER, max(0.0, seconds))))


HTTP_DATE = re.compile(r"[A-Za-z0-9 ,:+-]{1,64}")

# ----------------------------------------------------------------------------------------
# HTTP wire pieces: headers, bodies, framing, SSE (fast paths beside their plain reference)
# ----------------------------------------------------------------------------------------


class Headers:
    """HTTP header fields: get() the first value of a name in any case, get_all() every value.
    What the handler and http.client ask of the email.message objects they would build
    otherwise, at a tenth of the cost."""

    __slots__ = ("fields",)

    def __init__(self, pairs=()):
        self.fields: dict = {}
        for name, value in pairs:
            self.fields.setdefault(name.lower(), []).append(value)

    def get(self, name: str, default=None):
        values = self.fields.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str, default=None):
        return list(self.fields.get(name.lower(), ())) or default

    def items(self):
        return [(name, value) for name, values in self.fields.items() for value in values]

    def __contains__(self, name) -> bool:
        return name.lower() in self.fields


class BadHeader(http.client.HTTPException):
    """A header line that is not `name: value`."""


HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def read_headers(fp) -> Headers:
    """The header lines up to the empty line, with http.client's limits: at most 100 lines of
    64 KiB; then as header_fields."""
    return header_fields(read_header_block(fp))


def read_header_block(fp) -> bytes:
    """The header lines up to the empty line (not included), at most 100 lines of 64 KiB."""
    lines: list = []
    for _ in range(101):
        line = fp.readline(65537)
        if len(line) > 65536:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return b"".join(lines)
        lines.append(line)
    raise http.client.HTTPException("got more than 100 headers")


# What a request's header block must not hold (RFC 9110 5.5, RFC 9112 5.2): a control character
# other than HTAB in a field (NUL, a CR not ending a line, DEL ...), or a line folded onto the one
# before it. Each is read one way here and another way by some other parser on the request's path.
FORBIDDEN_IN_HEAD = re.compile(rb"(\n[ \t])|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


def read_request_head(fp, version: tuple) -> Headers:
    """A request's header fields, refused (BadHeader, a 400) where RFC 9112 lets a server refuse
    what another reader of the same bytes might frame differently (request smuggling): a folded
    line, a control character, no Host (HTTP/1.1) or more than one, and any Transfer-Encoding
    but one plain chunked (see transfer_coding_problem).
    Example: b"Host: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n" -> BadHeader."""
    block = read_header_block(fp)
    bad = FORBIDDEN_IN_HEAD.search(block)
    if bad or block[:1] in (b" ", b"\t"):
        raise BadHeader("A header line is folded onto the one before it (obsolete line folding is refused)."
                        if block[:1] in (b" ", b"\t") or bad[1] else
                        "A header field holds a control character (NUL, CR, ...): refused.")
    headers = header_fields(block)
    hosts = headers.get_all("Host") or ()
    if len(hosts) > 1:
        raise BadHeader("A request must have one Host header, not several.")
    if not hosts and version >= (1, 1):
        raise BadHeader("An HTTP/1.1 request must have a Host header.")
    problem = transfer_coding_problem(headers, version)
    if problem:
        raise BadHeader(problem)
    return headers


def transfer_coding_problem(headers: Headers, version: tuple = (1, 1)) -> str | None:
    """What is wrong with a request's Transfer-Encoding, or None: anything but one header that
    says chunked, alone (no Content-Length beside it, not in HTTP/1.0). Two readers of a request
    that framed it differently would each find a different request after it.
    Example: ["chunked", "identity"] -> "Transfer-Encoding 'chunked, identity' is not ..."."""
    codings = headers.get_all("Transfer-Encoding")
    if codings is None:
        return None
    if len(codings) > 1 or codings[0].strip().lower() != "chunked" or version < (1, 1):
        return (f"Transfer-Encoding {', '.join(codings)[:100]!r} is not supported (only chunked, in one header, "
                "in HTTP/1.1).")
    if "Content-Length" in headers:
        return "Transfer-Encoding and Content-Length together are refused (the framing would be ambiguous)."
    return None


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


def host_name(value: str) -> str:
    """A Host header's name, lower-cased, without its port.
    Example: "LocalHost:8082" -> "localhost"; "[::1]:8082" -> "[::1]"; "a:b" -> "a:b" (no port)."""
    value = value.strip().lower()
    name, colon, port = value.rpartition(":")
    return name if colon and port.isdigit() and not name.endswith(":") and (name.endswith("]") or "]" not in name) else value


def host_allowed(value: str, listen_host: str, allowed: tuple) -> bool:
    """Whether a request's Host (or absolute URL's authority) names this proxy: a loopback name,
    the address it listens on, or a name in ALLOWED_HOSTS ("*": any), with any port (an ssh or
    container port forward changes it). A web page can make its own name resolve to 127.0.0.1
    (DNS rebinding) and then send requests, and read their answers, as the same origin; only
    this header tells such a request apart.
    Example: ("localhost:8082", "127.0.0.1", ()) -> True; ("attacker.example:8082", "127.0.0.1", ()) -> False."""
    if "*" in allowed:
        return True
    name = host_name(value)
    listen = (f"[{listen_host}]" if ":" in listen_host else listen_host).lower()
    return (name in LOOPBACK_NAMES or name == listen
            or any(entry.lower() in (name, value.strip().lower()) for entry in allowed))


def origin_allowed(origin: str, allowed: tuple) -> bool:
    """Whether a request's Origin (sent by a browser for a web page's request) is in ALLOWED_ORIGINS
    ("*": any). Example: ("http://localhost:3000", ("http://localhost:3000/",)) -> True."""
    return "*" in allowed or origin.strip().rstrip("/").lower() in {entry.rstrip("/").lower() for entry in allowed}


def check_browser(headers: Headers, target: str, listen_host: str, config: Config):
    """Refuse what a web page in the user's browser can send to a local server: a request
    carrying an Origin not in ALLOWED_ORIGINS (any page can POST to 127.0.0.1, though it may
    not read the answer), and one whose Host (or absolute request target) is not this proxy's
    (DNS rebinding: a page whose own name resolves to 127.0.0.1 can also read it). Either
    would spend the provider keys. Raises a 403 that names the setting which would allow it."""
    for host in filter(None, (headers.get("Host"), urlsplit(target).netloc)):
        if not host_allowed(host, listen_host, config.allowed_hosts):
            name = host_name(host)
            raise unreadable(ProxyError(403, f"Host {host[:100]!r} is not an address of this proxy: refused, since a web "
                                             f"page can reach a local server under a name of its own (DNS rebinding). "
                                             f"To serve clients that call the proxy {name[:100]!r}, set ALLOWED_HOSTS="
                                             f"{name[:100]} (a comma list; * allows any name)."))
    for origin in headers.get_all("Origin") or ():
        if not origin_allowed(origin, config.allowed_origins):
            raise unreadable(ProxyError(403, f"Requests from web pages are refused: this one came from Origin "
                                             f"{origin[:100]!r}, which is not in ALLOWED_ORIGINS. To let a browser "
                                             f"tool at that origin use the proxy, set ALLOWED_ORIGINS={origin[:100]} "
                                             "(a comma list; * allows any origin)."))


def check_client_key(headers: Headers, expected: str):
    """With PROXY_API_KEY set, a request must carry it as x-api-key or a Bearer token."""
    if not expected:
        return
    presented = headers.get("x-api-key") or ""
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    if not presented and scheme.lower() == "bearer":
        presented = token.strip()
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise ProxyError(401, "Invalid or missing API key for this proxy: send PROXY_API_KEY as x-api-key "
                              "(ANTHROPIC_API_KEY in Claude Code) or as a Bearer token.")


HEADER_LINE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):(.*)$", re.M)


def header_fields(block: bytes) -> Headers:
    """Header lines -> Headers. A line folded onto the next (obsolete) continues the value; a
    line without a name and a colon (or with space before the colon) raises BadHeader.
    Example: b"Host: a\r\nX-Note: b\r\n" -> {"host": ["a"], "x-note": ["b"]}."""
    text = block.decode("iso-8859-1")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    found = HEADER_LINE.findall(text)
    if len(found) == len(lines):  # every line a plain `name: value` (one regex pass; nearly every head)
        headers = Headers()
        fields = headers.fields
        for name, value in found:
            name = name.lower()
            value = value.strip(" \t\r")
            if name in fields:
                fields[name].append(value)
            else:
                fields[name] = [value]
        return headers
    pairs: list = []
    for line in lines:
        if line[:1] in (" ", "\t") and pairs:
            pairs[-1] = (pairs[-1][0], f"{pairs[-1][1]} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not HEADER_NAME.fullmatch(name):
            raise BadHeader(f"Bad header line {len(pairs) + 1}: not `name: value`")  # not echoed: it may hold a key
        pairs.append((name, value.strip(" \t\r")))
    return Headers(pairs)


def http_version(word: str) -> tuple | None:
    """A request line's HTTP version, as the stdlib reads it. Example: "HTTP/1.1" -> (1, 1); "HTTP/x" -> None."""
    try:
        if not word.startswith("HTTP/"):
            return None
        major, minor = word.split("/", 1)[1].split(".")
        if len(major) > 10 or len(minor) > 10 or not (major + minor).isdigit():
            return None
        return int(major), int(minor)
    except ValueError:
        return None


def body_size(headers: Headers, limit: int) -> int | None:
    """The declared size of a request body, or None for a chunked one. Anything ambiguous (two
    lengths, a length that is not plain digits, an encoding other than chunked) is refused: a
    front proxy might read the same request differently. Example: Content-Length: 12 -> 12."""
    lengths = headers.get_all("Content-Length") or []
    if "Transfer-Encoding" in headers:
        problem = transfer_coding_problem(headers)
        if problem:
            raise unreadable(invalid(problem))
        return None
    if not lengths:
        raise ProxyError(411, "A request body needs a Content-Length header (or chunked transfer encoding).")
    if len(set(v.strip() for v in lengths)) > 1 or not lengths[0].strip().isdigit() or not lengths[0].strip().isascii():
        raise unreadable(invalid(f"Content-Length {', '.join(lengths)!r} is not one plain number."))
    size = int(lengths[0])
    if size > limit:  # left unread
        raise unreadable(too_large(f"Request body of {size} bytes", limit))
    return size


def read_body(rfile, headers: Headers, limit: int) -> bytes:
    """A request's body, at most `limit` bytes, framed by Content-Length or chunked coding."""
    size = body_size(headers, limit)
    if size is None:
        return read_chunked(rfile, limit)
    data = rfile.read(size)
    if len(data) < size:
        raise unreadable(invalid("The request body ended before Content-Length bytes arrived."))
    return data


# A chunk's size line (RFC 9112 7.1): hex digits only (int(x, 16) would also take "0x61", "+61"
# and "6_1"), an optional extension, CRLF.
CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?\r\n")


def read_chunked(rfile, limit: int) -> bytes:
    """A chunked request body, at most `limit` bytes. Example: b"5\r\nhello\r\n0\r\n\r\n" -> b"hello"."""
    chunks, total = [], 0
    while True:
        match = CHUNK_SIZE_LINE.fullmatch(rfile.readline(1024))
        if not match:
            raise unreadable(invalid("Malformed chunked request body: a chunk size is hex digits (then an optional "
                                     ";extension) and CRLF."))
        size = int(match[1], 16)
        if size == 0:
            for _ in range(101):  # trailers, up to the empty line
                line = rfile.readline(65537)
                if line == b"\r\n":
                    return b"".join(chunks)
                if not line.endswith(b"\r\n") or FORBIDDEN_IN_HEAD.search(line):
                    break
            raise unreadable(invalid("Malformed chunked request body: its trailer section does not end properly."))
        total += size
        if total > limit:
            raise unreadable(too_large("Request body", limit))
        chunk = rfile.read(size)
        if len(chunk) < size or rfile.read(2) != b"\r\n":
            raise unreadable(invalid("Malformed chunked request body."))
        chunks.append(chunk)


class RequestDeadline(TimeoutError):
    """A request's head and body did not arrive within CLIENT_TIMEOUT of its first byte."""


def late_message(timeout: float) -> str:
    return (f"The request did not arrive in time: its head and body must arrive within CLIENT_TIMEOUT "
            f"({timeout:g} s) of its first byte.")


class ClientReader(io.RawIOBase):
    """A client connection's reads (under the handler's buffered rfile), bounded by the request's
    deadline. Between requests `deadline` is None and a read waits `idle` seconds, the socket's
    timeout (CLIENT_TIMEOUT); once a request's first byte is in, the handler sets `deadline`
    (monotonic) and every read ends by then: a socket timeout alone is per read, so a client
    sending a byte a second would hold a request open, and its thread, for ever.

    The socket's timeout is lowered (a system call, and set back after) only once the deadline is
    nearer than `idle` by more than a twentieth of it (at most a second), so the reads of a request
    that arrives in good time cost nothing more, and a late one is cut within that margin."""

    def __init__(self, sock, idle: float):
        self.sock, self.idle, self.deadline = sock, idle, None
        self.slack = min(idle / 20, 1.0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.deadline is None:
            return self.sock.recv_into(buffer)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise RequestDeadline("past the request's deadline")
        try:
            if left + self.slack >= self.idle:
                return self.sock.recv_into(buffer)
            self.sock.settimeout(left)
            try:
                return self.sock.recv_into(buffer)
            finally:
                self.sock.settimeout(self.idle)
        except TimeoutError:
            raise RequestDeadline("past the request's deadline") from None


def too_large(what: str, limit: int) -> ProxyError:
    return ProxyError(413, f"{what} exceeds the limit of {limit} bytes (MAX_BODY_MB).")


def unreadable(error: ProxyError) -> ProxyError:
    """An error that leaves the request's body unread or half read: the connection must close."""
    error.close_connection = True
    return error


POLL = getattr(select, "poll", None)


def readable_now(sock) -> bool:
    """Whether a socket has something to read (or has closed), without waiting. select.poll
    where there is one: select.select cannot take a descriptor of 1024 or more (FD_SETSIZE),
    which a busy proxy reaches with a thousand connections open. Windows has no poll, and its
    select has no such limit."""
    if POLL is None:
        return bool(select.select([sock], [], [], 0)[0])
    poller = POLL()
    poller.register(sock, select.POLLIN)  # POLLHUP and POLLERR come whatever the mask
    return bool(poller.poll(0))


def client_left(connection) -> bool:
    """Whether a client closed its connection (readable with nothing to read)."""
    try:
        return readable_now(connection) and connection.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


_scan_json = json.JSONDecoder().scan_once  # the C scanner under json.loads, without its per-call wrapping


def load_json(data: bytes):
    """json.loads for UTF-8 bytes, at half its cost on a stream chunk: the C scanner is
    called directly, and anything unusual (white space around, a BOM, an error) goes to
    json.loads, so the result and the errors are the same."""
    try:
        text = data.decode("utf-8")
        value, end = _scan_json(text, 0)
        if end == len(text):
            return value
    except (StopIteration, ValueError):
        pass
    return json.loads(data)


class Framing:
    """A response body's framing undone as its bytes arrive: feed(data) -> the body's bytes
    in them; data b"" is the end of the connection. `done` once the body is complete;
    `reusable` then says whether the connection may carry another request (nothing came
    after the body). Chunked transfer coding, Content-Length, or the end of the connection."""

    __slots__ = ("chunked", "left", "buf", "done", "reusable", "split")

    def __init__(self, chunked: bool, length: int | None):
        self.chunked, self.buf, self.done, self.reusable = chunked, b"", False, False
        self.split = True  # whole chunks are cut out by splitting at CRLF while that works
        # chunked: bytes of the current chunk still to come; 0: a size line is next; -1: a chunk's CRLF; -2: the last CRLF
        self.left = 0 if chunked else length
        if length == 0 and not chunked:
            self.done = self.reusable = True

    def feed(self, data: bytes) -> bytes:
        if not data:
            if self.left is None:  # delimited by the end of the connection
                self.done = True
                return b""
            raise http.client.IncompleteRead(b"")
        if not self.chunked:
            if self.left is None:
                return data
            take = data[:self.left]
            self.left -= len(take)
            if not self.left:
                self.done, self.reusable = True, len(take) == len(data)
            return take
        buf = self.buf + data if self.buf else data
        pos, out, left = 0, [], self.left
        if left == 0 and self.split:
            pos, out = self._whole_chunks(buf)
        while True:
            if left > 0:
                take = buf[pos:pos + left]
                out.append(take)
                pos += len(take)
                left -= len(take)
                if left:
                    break
                left = -1
            if left < 0:
                if len(buf) - pos < 2:
                    break
                if left == -2:  # the last chunk was followed by this: an empty line, or trailers (then not reused)
                    self.done, self.reusable = True, buf[pos:] == b"\r\n"
                    return b"".join(out)
                pos, left = pos + 2, 0
            end = buf.find(b"\n", pos)
            if end < 0:
                if len(buf) - pos > 1024:
                    raise http.client.IncompleteRead(b"")
                break
            try:
                size = int(buf[pos:end].split(b";", 1)[0], 16)
            except ValueError:
                size = -1
            if size < 0:
                raise http.client.IncompleteRead(b"")
            pos, left = end + 1, size or -2
        self.buf, self.left = buf[pos:], left
        return b"".join(out)

    def _whole_chunks(self, buf: bytes) -> tuple:
        """(bytes used, the data of the whole chunks at the start of buf): split at CRLF, the
        pieces must alternate size line, data of that size. A read of many small chunks (a
        provider's burst of events) costs a few C calls instead of a loop turn per chunk.
        Anything else (an extension, data holding CRLF, the last chunk) is left to feed()."""
        pieces = buf.split(b"\r\n")
        whole = (len(pieces) - 1) // 2  # a size line and data followed by CRLF
        try:
            sizes = [int(size, 16) for size in pieces[0:2 * whole:2]]
        except ValueError:
            sizes = []
        if 0 in sizes:  # the last chunk: feed() reads it and what follows
            whole = sizes.index(0)
            del sizes[whole:]
        data = pieces[1:2 * whole:2]
        if sizes != list(map(len, data)):
            self.split = False  # not worth trying on this body again
            return 0, []
        return sum(map(len, pieces[:2 * whole])) + 4 * whole, data


# The delta events that are most of a stream, framed without encoding the whole dict again:
# the same bytes as the general case (a test compares them). Per kind: the bytes before the
# delta's JSON string (%d: the index), the bytes after it, and the delta's field.
DELTA_FRAMES = {kind: (b'event: content_block_delta\ndata: {"type":"content_block_delta","index":%d,"delta":{"type":"'
                       + kind.encode() + b'","' + field.encode() + b'":', b"}}\n\n", field)
                for kind, field in DELTA_KINDS.values()}


def sse_event(name: str, data: dict) -> bytes:
    """One SSE event. Example: ("ping", {"type": "ping"}) -> b'event: ping\ndata: {"type":"ping"}\n\n'."""
    if name == "content_block_delta" and len(data) == 3:
        delta = data["delta"]
        frame = DELTA_FRAMES.get(delta.get("type"))
        if frame and len(delta) == 2 and type(data["index"]) is int:
            before, after, field = frame
            value = delta.get(field)
            if type(value) is str:
                return b"%s%s%s" % (before % data["index"], encode_json_string(value).encode("utf-8", "replace"), after)
    # "replace": a lone surrogate (a JavaScript client's sliced string) must not break the stream.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return b"event: %s\ndata: %s\n\n" % (name.encode(), text.encode("utf-8", "replace"))


def unescape(escaped: bytes) -> str:
    """The text of an escaped JSON string body. Example: b'say \\"hi\\"' -> 'say "hi"'."""
    return load_json(b'"%s"' % escaped)


class EscapedDeltas(NamedTuple):
    """Text deltas to one open block, each text still the escaped body of a JSON string as the
    direct reader found it in the provider's bytes (json.dumps' escaping, checked there; see
    TextChunks). The exchange puts them into the event list in place of a content_block_delta
    dict when the translator says the text goes straight into the open block (open_index), so
    the texts are never decoded and encoded again. events() is the plain equivalent."""

    index: int
    key: str  # "text" or "thinking"
    texts: list

    def events(self) -> list:
        kind = DELTA_KINDS[self.key][0]
        return [("content_block_delta", {"type": "content_block_delta", "index": self.index,
                                         "delta": {"type": kind, self.key: unescape(text)}}) for text in self.texts]

    def frames(self) -> bytes:
        """The SSE bytes of events(), one event per text, in a single join."""
        before, after, _ = DELTA_FRAMES[DELTA_KINDS[self.key][0]]
        before = before % self.index + b'"'
        return before + (b'"' + after + before).join(self.texts) + b'"' + after


class Relayed(NamedTuple):
    """Anthropic SSE events as a provider framed them (the passthrough path, AnthropicRelay):
    the client gets these bytes as they came. `usage`: the answer's usage, when these bytes end
    it; `error`: the provider's error event among them, if any. events() is the plain equivalent."""

    frames: bytes
    usage: dict | None = None
    error: dict | None = None

    def events(self) -> list:
        return sse_events(self.frames)


FRAMED = (EscapedDeltas, Relayed)  # event data that carries its own SSE bytes


def sse_frames(events) -> bytes:
    """The SSE bytes of a list of events, EscapedDeltas and Relayed among them."""
    return b"".join([data.frames() if type(data) is EscapedDeltas else data.frames if type(data) is Relayed
                     else sse_event(name, data) for name, data in events])


def plain_events(events) -> list:
    """The events with every EscapedDeltas and Relayed as its plain events."""
    out = []
    for name, data in events:
        if type(data) in FRAMED:
            out += data.events()
        else:
            out.append((name, data))
    return out


EVENT_END = re.compile(rb"\r?\n\r?\n")  # the blank line after an SSE event

# The events of an Anthropic stream the passthrough path reads (AnthropicRelay), by their event line (one
# that starts a frame: AnthropicRelay checks). A literal start, so the scan runs at memchr speed: 20 KB
# of deltas take a few microseconds, where "(?:\A|\n)event..." took 400.
READ_EVENTS = re.compile(rb"(event: ?(message_start|message_delta|message_stop|error)[ \t]*\r?\n)")


def sse_event_parts(frame: bytes) -> tuple:
    """(name, data) of one SSE event's bytes, data the joined data lines; comments and other
    fields skipped. Example: b'event: ping\ndata: {"type":"ping"}\n\n' -> (b"ping", b'{"type":"ping"}')."""
    name, data = b"", []
    for line in frame.splitlines():
        field, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if field == b"event":
            name = value
        elif field == b"data":
            data.append(value)
    return name, b"\n".join(data)


def sse_events(frames: bytes) -> list:
    """The plain (name, data dict) events of Anthropic SSE bytes (events without data skipped).
    Example: b'event: ping\ndata: {"type":"ping"}\n\n' -> [("ping", {"type": "ping"})]."""
    out = []
    for frame in EVENT_END.split(frames):
        name, data = sse_event_parts(frame)
        if data:
            parsed = load_json(data)
            out.append((name.decode("utf-8", "replace") or str(parsed.get("type", "")), parsed))
    return out


DONE = object()  # the stream's [DONE] line


def sse_chunk(block: bytes, errors=None):
    """One SSE event of an OpenAI-compatible stream -> its chunk dict, DONE, or None (a
    comment, or no data). An error event, or an error object instead of a chunk, raises
    (as `errors` reads it: provider_http_error, unless the provider speaks another shape).
    Example: b'data: {"choices": []}' -> {"choices": []}."""
    if block.startswith(b"data: ") and b"\n" not in block:  # nearly every event: one data line
        payload, event = block[6:], b""
    else:
        data, event = [], b""
        for line in block.split(b"\n"):
            if line.startswith(b"data:"):
                data.append(line[5:].lstrip(b" "))
            elif line.startswith(b"event:"):
                event = line[6:].strip()
        if not data:
            return None
        payload = b"\n".join(data)
    if payload.strip() == b"[DONE]":
        return DONE
    try:
        chunk = load_json(payload)
    except ValueError:
        raise ProviderHTTPError(502, f"The provider sent a malformed stream chunk: {payload[:200]!r}") from None
    # An error object ends the stream whatever else the chunk holds: OpenRouter's mid-stream error comes with a choice
    # whose finish_reason is "error" (openrouter.ai/docs/api/reference/streaming#handling-errors-during-streaming)
    if not isinstance(chunk, dict) or event == b"error" or isinstance(chunk.get("error"), (dict, str)):
        raise (errors or provider_http_error)(500, payload, {})
    return chunk


def text_only_field(chunk: dict) -> str | None:
    """The field of a chunk that carries nothing but reply text or reasoning, else None:
    one choice (index 0) whose delta has one non-empty string among content,
    reasoning_content and reasoning, and otherwise only nulls, a role "assistant" and,
    outside the choice, plain values (no usage, no error).
    Example: {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]} -> "content"."""
    choices = chunk.get("choices")
    if type(choices) is not list or len(choices) != 1 or type(choices[0]) is not dict:
        return None
    choice, delta = choices[0], choices[0].get("delta")
    if type(delta) is not dict or choice.get("index", 0) != 0:
        return None
    field = None  # the delta first: a tool call's chunk, parsed on the hot path, is turned down here
    for key, value in delta.items():
        if key in TEXT_FIELDS and type(value) is str and value and field is None:
            field = key
        elif value is not None and (key, value) != ("role", "assistant"):
            return None
    if field is None or any(value is not None for key, value in choice.items() if key not in ("index", "delta")):
        return None
    for key, value in chunk.items():
        if key != "choices" and (key in ("usage", "error") and value is not None or type(value) in (dict, list)):
            return None
    return field




class TextChunks:
    """Recognises a stream's text-only chunks (see text_only_field) without parsing them.

    Providers send most chunks with the same bytes around the text: from a parsed one, learn()
    keeps what comes before the text (prefix) and after it up to the end of the choices (mid),
    checking with a probe that any text put there is read back as that text. match() then
    needs only to compare bytes: the text between must be escaped as json.dumps would
    (ensure_ascii=False, valid UTF-8) and what follows the choices must be plain top-level members (an id, a changing
    "obfuscation", "usage": null). Anything else is parsed as usual.
    Example: after learn(b'data: {"choices":[{"delta":{"content":"Hi"}}]}', ...),
    run([b'data: {"choices":[{"delta":{"content":"there"}}]}'], 0) -> [b"there"] (field "content").
    """

    SAFE_TEXT = re.compile(rb'(?:[^"\\\x00-\x1f]|\\["\\bfnrt])+')
    STRING_BODY = re.compile(rb'(?:[^"\\]|\\.)*"')
    FIELD = re.compile(rb'"(%s)"[ \t]*:[ \t]*"' % "|".join(TEXT_FIELDS).encode())
    # after the text: the delta's and the choice's other members, then the end of the choices
    MID = re.compile(rb'"(?:[ \t]*,[ \t]*"[a-z_]+"[ \t]*:[ \t]*(?:null|"assistant"))*[ \t]*\}'
                     rb'(?:[ \t]*,[ \t]*"[a-z_]+"[ \t]*:[ \t]*(?:null|0))*[ \t]*\}[ \t]*\]')
    TAIL = re.compile(rb'(?:[ \t]*,[ \t]*(?:"(?!(?:usage|choices|error)")[a-z_]+"[ \t]*:[ \t]*'
                      rb'(?:"[A-Za-z0-9_.:+/=-]*"|-?[0-9]+|null|true|false)|"usage"[ \t]*:[ \t]*null))*[ \t]*\}[ \t]*')
    LEARN_LIMIT = 8  # a provider whose every chunk differs around the text is not learned forever

    def __init__(self):
        self.prefix = self.rest = None  # rest: a pattern for the text, the mid and the tail
        self.field, self.learned = "", 0

    def run(self, blocks: list, start: int) -> list:
        """The escaped texts of the text-only chunks in the learned shape that come first in
        blocks[start:] (the events' bytes), up to the first event that is not one; [] when
        nothing is learned."""
        prefix, texts = self.prefix, []
        if prefix is None:
            return texts
        fullmatch, skip, end = self.rest.fullmatch, len(prefix), len(blocks)
        while start < end:
            block = blocks[start]
            found = fullmatch(block, skip) if block.startswith(prefix) else None
            if found is None:
                break
            text = found.group(1)
            if not text.isascii():
                try:
                    text.decode("utf-8")
                except UnicodeDecodeError:
                    break
            texts.append(text)
            start += 1
        return texts

    # A provider of another shape (GeminiTextChunks) says which chunks are text only, how its JSON names
    # their text's field, and reads the text back from a parsed chunk.
    text_field = staticmethod(text_only_field)
    KEYS: dict = {}  # a delta's field -> its JSON key, where they differ

    @staticmethod
    def text_in(chunk: dict, field: str):
        return chunk["choices"][0]["delta"][field]

    def learn(self, block: bytes, chunk: dict):
        """Learn the shape of a parsed chunk when it is text only (a single data line)."""
        if self.learned >= self.LEARN_LIMIT or not block.startswith(b"data:") or b"\n" in block:
            return
        field = self.text_field(chunk)
        if field is None:
            return
        self.learned += 1
        for key in self.FIELD.finditer(block):
            if key.group(1).decode() != self.KEYS.get(field, field):
                continue
            start = key.end()
            body = self.STRING_BODY.match(block, start)
            mid = body and self.MID.match(block, body.end() - 1)
            if not mid:
                continue
            prefix, tail = block[:start], block[mid.end():]
            if not self.TAIL.fullmatch(tail):
                continue
            try:
                probe = sse_chunk(prefix + b"\\u0001x" + mid.group() + tail)
            except ProviderHTTPError:
                continue
            if type(probe) is dict and self.text_field(probe) == field and self.text_in(probe, field) == "\x01x":
                # compiled once per shape (re's cache): the mid rarely changes from one stream to the next
                self.rest = re.compile(b"(%s)%s%s" % (self.SAFE_TEXT.pattern, re.escape(mid.group()), self.TAIL.pattern))
                self.prefix, self.field = prefix, field
                return


def gemini_text_field(response: dict) -> str | None:
    """"content" when a Gemini response holds nothing but reply text: one candidate (index 0) of
    one text part (not a thought, no signature) from the model, no finishReason, and beside the
    candidates only usageMetadata, modelVersion, responseId or createTime; else None.
    Example: {"candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "index": 0}],
    "usageMetadata": {...}} -> "content"."""
    candidates = response.get("candidates")
    if type(candidates) is not list or len(candidates) != 1 or type(candidates[0]) is not dict:
        return None
    candidate = candidates[0]
    content = candidate.get("content")
    if set(candidate) - {"content", "index"} or candidate.get("index", 0) != 0 or type(content) is not dict:
        return None
    parts = content.get("parts")
    if set(content) - {"parts", "role"} or content.get("role", "model") != "model" or type(parts) is not list or len(parts) != 1:
        return None
    if type(parts[0]) is not dict or set(parts[0]) != {"text"} or type(parts[0]["text"]) is not str or not parts[0]["text"]:
        return None
    return None if set(response) - {"candidates", "usageMetadata", "modelVersion", "responseId", "createTime"} else "content"


class GeminiTextChunks(TextChunks):
    """TextChunks for a Gemini stream: its text-only responses (gemini_text_field) recognised by their
    bytes around the text. What follows the candidates (usageMetadata, which grows with every
    response, and the ids) is only checked to be plain members: a text-only response's usage is
    never needed, since the last response, which ends the stream with its finishReason, has the
    whole count and is parsed. Example: after learn(b'data: {"candidates": [{"content": {"parts":
    [{"text": "Hi"}], "role": "model"}, "index": 0}]}', ...), a response of the same shape with any
    usageMetadata is one text."""

    FIELD = re.compile(rb'"(text)"[ \t]*:[ \t]*"')
    # after the text: the end of its part and parts, content's role, the candidate's index, the end of the candidates
    MID = re.compile(rb'"[ \t]*\}[ \t]*\](?:[ \t]*,[ \t]*"role"[ \t]*:[ \t]*"model")?[ \t]*\}'
                     rb'(?:[ \t]*,[ \t]*"index"[ \t]*:[ \t]*0)?[ \t]*\}[ \t]*\]')
    TAIL = re.compile(rb'(?:[ \t]*,[ \t]*"(?:usageMetadata|modelVersion|responseId|createTime)"[ \t]*:[ \t]*'
                      rb'(?:"[A-Za-z0-9_.:+/=-]*"|\{[ \t"A-Za-z0-9_:,.\[\]{}-]*\}))*[ \t]*\}[ \t]*')
    text_field = staticmethod(gemini_text_field)
    KEYS = {"content": "text"}

    @staticmethod
    def text_in(chunk: dict, field: str):
        return chunk["candidates"][0]["content"]["parts"][0]["text"]


class TextRun(NamedTuple):
    """The escaped JSON-string bodies of consecutive text-only chunks, as TextChunks
    recognised them (escaped as json.dumps(ensure_ascii=False) escapes; valid UTF-8): one
    item of a direct stream in place of those chunks. field is the delta's field that held
    each text: "content" (reply text), "reasoning_content" or "reasoning" (thinking).
    Example: TextRun("content", [b"Hel", b'lo \\"you\\"']) stands for two chunks whose
    deltas are {"content": "Hel"} and {"content": 'lo "you"'}."""

    field: str
    texts: list


MAX_EVENT_BYTES = 32 * MEGABYTE  # one event of a provider's stream (the direct path)


class SSEDecoder:
    """An OpenAI-compatible stream's body -> its items, as the bytes arrive: feed(piece)
    returns the items of the events that piece completed: chunk dicts (sse_chunk), and
    consecutive text-only chunks in a shape TextChunks has learnt as one TextRun, read
    without parsing them. Comments are dropped; after [DONE] nothing more is read. finish()
    at the end of the body raises IncompleteRead unless a finish_reason or [DONE] came
    (`saw_finish`): a stream that just stops was cut. A bad event (not JSON, an error event)
    raises ProviderHTTPError; when good events came before it in the same piece, those are
    returned and the error waits in `failure`, so what came first still reaches the client.
    No I/O: tests feed it a byte at a time.

    An event still open is kept as the pieces that brought it (`partial`), and only the bytes
    of a new piece are searched for its end: joined only once it ends, so a provider's endless
    event costs a search per read, not a copy of all it sent so far. One event may hold at most
    `limit` bytes (MAX_EVENT_BYTES): beyond, a 502 api_error.

    Example: feed(b'data: {"choices":[]}\\n\\ndata: [DO') -> [{"choices": []}];
    feed(b"NE]\\n\\n") -> [], saw_done; finish() -> None.
    """

    def __init__(self, limit: int | None = None, errors=None):
        self.errors = errors  # what reads an error event (sse_chunk)
        self.partial = []  # the pieces of an event that a later piece completes, the first one CRLF-normalised
        self.partial_size = 0
        self.tail = b""  # the partial's last two bytes: an event's end may begin there
        self.limit = MAX_EVENT_BYTES if limit is None else limit
        self.saw_finish = False  # a choice's finish_reason or [DONE] came: the end of the body is the stream's end
        self.saw_done = False  # [DONE] came: what follows is ignored
        self.failure = None  # a bad event after good ones in one piece, raised after those are delivered
        self.texts = TextChunks()

    def feed(self, piece: bytes) -> list:
        if self.saw_done or not piece:
            return []
        partial = self.partial
        if partial:
            # An event's end, once CRLF is LF, is a blank line: raw, b"\n\n" or b"\n\r\n", maybe
            # begun in the last two bytes that came before.
            window = self.tail + piece[:2]
            if b"\n\n" not in piece and b"\n\r\n" not in piece and b"\n\n" not in window and b"\n\r\n" not in window:
                partial.append(piece)
                self.tail = (self.tail + piece[-2:])[-2:]
                self.partial_size += len(piece)
                if self.partial_size > self.limit:
                    raise self.too_large()
                return []
            partial.append(piece)
            rest = b"".join(partial)
            self.partial, self.partial_size = [], 0
        else:
            rest = piece
        if b"\r" in rest:  # CRLF line ends: the same events (a lone CR at the end waits for its LF)
            rest = rest.replace(b"\r\n", b"\n")
        blocks = rest.split(b"\n\n")
        last = blocks.pop()
        if last:
            self.partial, self.partial_size, self.tail = [last], len(last), last[-2:]
        items = self.items(blocks)
        if self.partial_size > self.limit:
            if not items:
                raise self.too_large()
            self.failure = self.too_large()
        return items

    def items(self, blocks: list) -> list:
        """The items of the events (their bytes) that a piece completed; a bad event after good
        ones waits in `failure`."""
        items, texts, n = [], self.texts, 0
        while n < len(blocks) and not self.saw_done:
            run = texts.run(blocks, n)
            if run:  # consecutive text-only chunks: one item
                items.append(TextRun(texts.field, run))
                n += len(run)
                continue
            block = blocks[n]
            n += 1
            try:
                chunk = sse_chunk(block, self.errors)
            except ProviderHTTPError as exc:
                if not items:
                    raise
                self.failure = exc
                return items
            if chunk is None:
                continue
            if chunk is DONE:
                self.saw_finish = self.saw_done = True
                continue
            if not self.saw_finish:
                for choice in chunk.get("choices") or ():
                    if type(choice) is dict and choice.get("finish_reason"):
                        self.saw_finish = True
            texts.learn(block, chunk)
            items.append(chunk)
        return items

    def too_large(self) -> ProxyError:
        return ProxyError(502, f"The provider sent a stream event of more than {self.limit} bytes; the proxy reads no more.")

    def finish(self):
        """The end of the body: raises IncompleteRead when the stream was cut."""
        if not self.saw_finish:
            raise http.client.IncompleteRead(b"")

class AnthropicRelay:
    """The passthrough path's counterpart of StreamTranslator, as pure: a provider's Anthropic
    answer in, the client's events out. relay(data) takes a stream's bytes as they come and gives
    its complete events, mostly as Relayed runs of the provider's own bytes, nothing decoded: a run
    is read only when its bytes name an event the proxy must see ("message_" or "error" in them).
    message_start is re-encoded with the model the client asked for; from message_delta (or an
    error event) on, the bytes are held for finish(), which gives them with the answer's usage
    (message_start's, updated by message_delta's) or the error, and, for a stream cut before its
    message_delta, an error event of its own (one that lacks only message_stop passes as it came:
    Claude Code accepts it). feed_many([answer]) gives a JSON
    answer as one ("message", answer) event, its model restored. keepalive(): a ping, once the
    stream has begun (before message_start a ping would break the client's parser).

    Example: relay(b'event: message_start\ndata: {..."model":"deepseek-chat"...}\n\nevent: ping\n...')
    -> [("message_start", {... "model": "claude-opus-4-8" ...}), ("relayed", Relayed(b'event: ping...'))].
    """

    cut = None  # the provider's own stop sequences end its answers (StreamTranslator.cut)

    def __init__(self, model: str):
        self.model = model
        self.buffer = b""  # an event not yet complete
        self.held: list | None = None  # the bytes from message_delta (or an error) on
        self.usage: dict = {}
        self.started = self.stopped = False
        self.error = None
        self.finished = False

    def relay(self, data: bytes) -> list:
        buffer = self.buffer + data if self.buffer else data
        end = max(buffer.rfind(b"\n\n") + 2, buffer.rfind(b"\n\r\n") + 3)  # after the last complete event
        end = end if end >= 3 else 0
        whole, self.buffer = buffer[:end], buffer[end:]
        if len(self.buffer) > MAX_EVENT_BYTES:
            raise ProxyError(502, f"An event of the provider's stream is larger than {MAX_EVENT_BYTES} bytes; the proxy reads no more.")
        if not whole:
            return []
        if self.held is None and b"message_" not in whole and b"error" not in whole:
            return [("relayed", Relayed(whole))]
        return self._read(whole)

    def _read(self, whole: bytes) -> list:
        """The events of complete frames: the ones the proxy must see (READ_EVENTS) read, the
        bytes between them passed on as they are (one regular-expression scan finds them)."""
        out, pos = [], 0
        for match in READ_EVENTS.finditer(whole):
            start = match.start(1)
            if start < pos or (start and whole[start - 1] != 10):  # not at a frame's start (10: a line feed)
                continue
            if start > pos:
                self._pass(out, whole[pos:start])
            pos = EVENT_END.search(whole, start).end()
            frame = whole[start:pos]
            name, data = match.group(2), sse_event_parts(frame)[1]
            event = parsed(data) if name != b"message_stop" else None
            message = event.get("message") if name == b"message_start" and self.held is None and event else None
            if isinstance(message, dict):
                message["model"] = self.model
                if isinstance(message.get("usage"), dict):
                    self.usage.update(message["usage"])
                self.started = True
                out.append(("message_start", event))
                continue
            if name == b"error":
                self.error = (event or {}).get("error") or {"type": "api_error", "message": "error"}
            elif name == b"message_delta" and event and isinstance(event.get("usage"), dict):
                self.usage.update(event["usage"])
            elif name == b"message_stop":
                self.stopped = True
            if name != b"message_stop" and self.held is None:
                self.held = []
            self._pass(out, frame)
        if pos < len(whole):
            self._pass(out, whole[pos:])
        return out

    def _pass(self, out: list, frames: bytes):
        """Frames that go on unread: held once the answer is ending, else a Relayed run."""
        if self.held is not None:
            self.held.append(frames)
        elif out and out[-1][0] == "relayed":
            out[-1] = ("relayed", Relayed(out[-1][1].frames + frames))
        else:
            out.append(("relayed", Relayed(frames)))

    def feed(self, chunk: dict) -> list:
        return self.feed_many([chunk])

    def feed_many(self, chunks) -> list:
        """A JSON answer (one dict with "type": "message") -> its event; anything else, nothing."""
        out = []
        for answer in chunks:
            if isinstance(answer, dict) and answer.get("type") == "message":
                self.usage.update(answer.get("usage") or {})
                self.started = self.stopped = True
                out.append(("message", dict(answer, model=self.model)))
        return out

    def keepalive(self) -> list:
        return [("ping", {"type": "ping"})] if self.started and self.held is None and not self.finished else []

    def finish(self) -> list:
        if self.finished:
            return []
        self.finished = True
        out = []
        if self.held:
            name = "error" if self.error is not None else "message_delta"
            out.append((name, Relayed(b"".join(self.held), usage=anthropic_usage(self.usage), error=self.error)))
        if not self.stopped and self.error is None and not self.held:  # after message_delta: complete, as it came
            out.append(("error", {"type": "error", "error": {
                "type": "api_error", "message": "The provider's stream ended before its message_stop event."}}))
        return out


def parsed(data: bytes) -> dict | None:
    """An event's data as a JSON object, else None (bytes that are not one pass on unread)."""
    try:
        value = load_json(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def anthropic_usage(usage: dict) -> dict:
    """An Anthropic usage dict with the four counts the log line and the cost read, each a number.
    Example: {"input_tokens": 9, "output_tokens": 2} -> the same with both cache counts 0."""
    return {name: usage.get(name) if isinstance(usage.get(name), int) else 0
            for name in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")}


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def responses_event(block: bytes) -> dict | None:
    """One event of a Responses API stream (`event:` and `data:` lines) -> its data, or None (a
    comment, or no data). Its type is in the data too; a malformed one is a 502.
    Example: b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta",
    "delta": "Hi"}' -> {"type": "response.output_text.delta", "delta": "Hi"}."""
    data = [line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
    if not data:
        return None
    payload = b"\n".join(data)
    try:
        event = load_json(payload)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        raise ProviderHTTPError(502, f"The provider sent a malformed stream event: {payload[:200]!r}")
    return event


class ResponsesDecoder(SSEDecoder):
    """A Responses API stream's body -> chat chunk dicts, as the bytes arrive: SSEDecoder's
    framing, each event read by responses_event and translated by ResponsesEvents. The stream
    has no [DONE]: it is complete once the response has finished (saw_finish); what follows is
    ignored. Text deltas, most of a stream, are recognised by their bytes (TEXT_DELTA: the
    delta's JSON string escaped as json.dumps escapes it, valid UTF-8) and given as TextRuns
    without parsing them; any other shape is parsed, and both give the same answer (a test).
    Example: feed(b'event: response.completed\ndata: {"type": "response.completed",
    "response": {"status": "completed"}}\n\n') -> [the finish chunk], saw_finish."""

    # one text delta's event, its members in any order around the delta (OpenAI's and others' layouts)
    _MEMBER = (rb'"(?:sequence_number|output_index|content_index)": ?\d+|"item_id": ?"[A-Za-z0-9_-]*"|"logprobs": ?\[\]'
               rb'|"obfuscation": ?"[A-Za-z0-9_-]*"|"type": ?"response\.output_text\.delta"')
    TEXT_DELTA = re.compile(rb'event: ?response\.output_text\.delta\ndata: ?\{(?:(?:%s), ?)*"delta": ?"(%s)"(?:, ?(?:%s))*\}'
                            % (_MEMBER, TextChunks.SAFE_TEXT.pattern, _MEMBER))

    def __init__(self, limit: int | None = None):
        super().__init__(limit)
        self.events = ResponsesEvents()

    def items(self, blocks: list) -> list:
        items, events, text = [], self.events, self.TEXT_DELTA.fullmatch
        for block in blocks:
            if self.saw_done:
                break
            found = text(block)
            if found is not None and (found.group(1).isascii() or _utf8(found.group(1))):
                if items and type(items[-1]) is TextRun:
                    items[-1].texts.append(found.group(1))
                else:
                    items.append(TextRun("content", [found.group(1)]))
                continue
            try:
                event = responses_event(block)
                if event is not None:
                    items += events.feed(event)
            except ProviderHTTPError as exc:
                if not items:
                    raise
                self.failure = exc
                return items
            self.saw_finish = self.saw_done = events.ended
        return items


class GeminiDecoder(SSEDecoder):
    """A Gemini stream's body (streamGenerateContent?alt=sse: `data:` lines of
    GenerateContentResponse, "\r\n\r\n" between them, no [DONE]) -> OpenAI chunk dicts, as the
    bytes arrive: SSEDecoder's events, each converted by one GeminiChunks. The stream has ended
    once a chunk has a finish_reason: the end of the body before one is a cut. An error event
    ({"error": {...}}, Google's shape) or a finish that is an error raises ProviderHTTPError
    (after the chunks before it, as SSEDecoder does). No I/O.
    Example: feed(b'data: {"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}\r\n\r\n') ->
    [{"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}]."""

    def __init__(self, limit: int | None = None):
        super().__init__(limit, google_http_error)
        self.texts = GeminiTextChunks()  # runs of text-only responses, read without parsing them
        self.chunks = GeminiChunks()
        self.ended = False  # a chunk with a finish_reason came

    def feed(self, piece: bytes) -> list:
        try:
            events = super().feed(piece)
        finally:
            self.saw_finish = self.ended
        out, convert = [], self.chunks.convert
        for event in events:
            if type(event) is not dict:  # a TextRun: text only, already as the translator takes it
                out.append(event)
                continue
            chunk = convert(event)
            if "error" in chunk:
                error = ProviderHTTPError(502, chunk["error"]["message"], code=chunk["error"]["code"])
                if not out:
                    raise error
                self.failure = error
                return out
            out.append(chunk)
            if chunk["choices"][0]["finish_reason"]:
                self.ended = self.saw_finish = True
        return out

# ----------------------------------------------------------------------------------------
# provider paths: one interface, one class per way of reaching a provider
# ----------------------------------------------------------------------------------------


class Batch(NamedTuple):
    """What one read of a provider call gives the exchange, whatever the path. `items`, in
    order: OpenAI chat-completion chunk dicts, and TextRun items (the escaped texts of
    consecutive text-only chunks, from the direct reader); `end`: the answer is complete with
    them. A non-streamed answer is one batch: its response as one chunk, end=True.
    Example: Batch([{"choices": [{"index": 0, "delta": {"content": "Hi"}}]}]) -> text "Hi", more to come."""

    items: list
    end: bool = False


@dataclasses.dataclass
class Attempt:
    """A validated /v1/messages request translated for one target model (prepare_attempt);
    `request` is what its path sends, set once the attempt is checked (checked_attempt)."""

    requested: str  # the model the client asked for: every answer names it
    target: str  # the litellm model string it routes to
    params: dict  # the translated request: litellm's keywords, OpenAI's chat format
    input_tokens: int  # estimated before the call
    window: int | None  # the model's context window, when known
    probe: bool  # a max_tokens 1 request: Claude Code asking whether the model answers at all
    tool_names: dict  # shortened tool name -> the client's name
    path: ProviderPath
    quirks: Provider
    facts: dict  # litellm's model map entry
    caller: Caller = None  # who sent the request (caller_of)
    request: object = None
    body: dict = None  # the client's request as validated: translated from, and what the passthrough path sends on
    undescribed: tuple = ()  # (image_key, image block) of images VISION_MODEL is to describe (vision_target)
    search: dict | None = None  # the web search tool it offers (search_tool), which the proxy runs


def own_stops(attempt) -> tuple:
    """The client's stop sequences that its provider does not get (Provider.stops; what its path
    sends of them, ProviderPath.stops_sent), which the proxy watches for itself (StopScanTranslator).
    Example: five for openai/gpt-4.1 (OpenAI takes four) -> the fifth. A model on a Responses API
    gets none on any path (litellm's Responses bridge maps no `stop`)."""
    count = 0 if answers_on_responses(attempt.quirks, attempt.facts or {}) else attempt.path.stops_sent
    sent = (attempt.params.get("stop") or ())[:count]
    return tuple(s for s in (attempt.body or {}).get("stop_sequences") or () if s and s not in sent)


class ProviderPath:
    """One way of reaching a provider. A new path is a subclass of this and rows in the
    provider tables; PATHS lists them, and the first that serves a request sends it.

    serves(target, params, config): whether this path sends the translated request.
    prepare(attempt, credentials, config): what it sends (pure: no I/O); credentials are the
        provider's api_key and api_base (provider_credentials).
    open(attempt, stream, lease, config): the call, started. It has read(wait) -> a Batch, or
        None when nothing came within `wait` seconds (a failure raises), and close(), which
        ends it at once (nobody pays for tokens nobody reads).
    counted(attempt, config): the request's input tokens for /v1/messages/count_tokens: litellm's
        count (count_tokens, which imports litellm), unless the path asks its provider (Gemini,
        Anthropic) or estimates.
    """

    name = ""
    stops_sent = None  # how many of the stop sequences in its params reach the provider (own_stops); None: all

    def serves(self, target: str, params: dict, config: Config) -> bool:
        raise NotImplementedError

    def prepare(self, attempt: Attempt, credentials: dict, config: Config):
        raise NotImplementedError

    def open(self, attempt: Attempt, stream: bool, lease: Lease | None, config: Config):
        raise NotImplementedError

    def counted(self, attempt: Attempt, config: Config) -> int:
        """The input tokens of a /v1/messages/count_tokens request: litellm's counter for the target."""
        return count_tokens(load_litellm(config.log_level == "debug"), attempt.target, attempt.params)

    def translator(self, attempt: Attempt):
        """What turns this path's batch items into Anthropic events (StreamTranslator's interface)."""
        search, own = attempt.search, () if attempt.search else own_stops(attempt)
        return (SearchTurnTranslator if search else StopScanTranslator if own else StreamTranslator)(
            new_message_id(), attempt.requested, input_tokens=attempt.input_tokens, stop_sequences=attempt.params.get("stop") or (),
            signature=thinking_signature(attempt.target), tool_names=attempt.tool_names,
            server_tools=frozenset([short_tool_name(search["name"])] if search else ()), **({"own": own} if own else {}))


class DirectRequest(NamedTuple):
    url: str  # the chat-completions URL (the Responses API's, on ResponsesPath)
    key: str | None
    body: dict  # without the stream fields


class OpenAICompatiblePath(ProviderPath):
    """OpenAI-compatible chat completions over the proxy's own HTTP client (DirectCall), read
    on the exchange's own thread: no thread and no hand-over per read."""

    name = "direct"

    def serves(self, target, params, config):
        return direct_can_send(params) and direct_url(target, config) is not None

    def prepare(self, attempt, credentials, config):
        return DirectRequest(direct_url(attempt.target, config), credentials.get("api_key"),
                             to_direct_request(attempt.params, attempt.quirks, attempt.facts))

    def open(self, attempt, stream, lease, config):
        request = attempt.request
        body = dict(request.body, stream=True, stream_options={"include_usage": True}) if stream else request.body
        return DirectRead(DirectCall(request.url, request.key, body, config))


class GeminiPath(ProviderPath):
    """Gemini (AI Studio) over the proxy's own HTTP client: the translated request as a
    generateContent body (to_gemini_request), posted to gemini_url with the key in x-goog-api-key
    (never in the URL, which ends up in logs), read like the OpenAI-compatible path's calls, in
    Gemini's dialect (GEMINI_DIALECT: Google's errors, its stream, its answer)."""

    name = "direct"

    def serves(self, target, params, config):
        return gemini_url(target, config) is not None

    def prepare(self, attempt, credentials, config):
        return DirectRequest(gemini_url(attempt.target, config), credentials.get("api_key"),
                             to_gemini_request(attempt.params, attempt.facts))

    def open(self, attempt, stream, lease, config):
        request = attempt.request
        url = request.url + (":streamGenerateContent?alt=sse" if stream else ":generateContent")
        return DirectRead(DirectCall(url, request.key, request.body, config, GEMINI_DIALECT, stream=stream))

    def counted(self, attempt, config):
        """Gemini's own count of the request (models/{model}:countTokens, which costs nothing), so that
        count_tokens needs no litellm either; the proxy's estimate when Gemini cannot be asked (no key,
        an error, COUNT_TIMEOUT passed): a count must never fail the client."""
        try:
            credentials = provider_credentials(attempt.target, config)
            check_provider(attempt.target, config)
            url = gemini_url(attempt.target, config)
            body = {"generateContentRequest": dict(to_gemini_request(attempt.params, attempt.facts),
                                                   model="models/" + attempt.target.partition("/")[2])}
            quick = dataclasses.replace(config, request_timeout=min(config.request_timeout, COUNT_TIMEOUT))
            total = DirectCall(url + ":countTokens", credentials.get("api_key"), body, quick, GEMINI_COUNT_DIALECT,
                               stream=False).response().get("totalTokens")
        except (ProxyError, ProviderHTTPError, OSError, http.client.HTTPException) as exc:
            log.info("Gemini did not count the request for %s (%s); estimating", attempt.target, _error_text(exc))
            total = None
        return total if type(total) is int and total >= 0 else estimate_tokens(attempt.params)


class LitellmPath(ProviderPath):
    """Every provider, through litellm.completion on a thread of its own (LitellmCall), so the
    exchange can go on watching the client, the clock and the shutdown meanwhile. It serves
    whatever the paths before it do not."""

    name = "litellm"
    stops_sent = 4  # litellm cuts `stop` to 4 for every provider (utils.validate_openai_optional_params)

    def serves(self, target, params, config):
        return True

    def prepare(self, attempt, credentials, config):
        return dict(credentials, timeout=provider_timeout(config), max_retries=0, drop_params=True, _skip_mcp_handler=True)

    def open(self, attempt, stream, lease, config):
        completion, params, call = load_litellm(config.log_level == "debug").completion, attempt.params, attempt.request
        if stream:
            return LitellmCall(lambda: completion(**params, **call, stream=True, stream_options={"include_usage": True}),
                               stream=True, lease=lease)
        return LitellmCall(lambda: completion(**params, **call), stream=False, lease=lease)


class MessagesRequest(NamedTuple):
    url: str  # {base}/v1/messages
    key: str | None
    key_header: str  # the key's header line, a format: "x-api-key: {}" or "Authorization: Bearer {}"
    headers: str  # anthropic-version and, where the provider takes them, the client's betas
    body: dict  # passthrough_body's, without the stream field


ANTHROPIC_VERSION = "2023-06-01"  # the version every Anthropic-compatible provider knows (Ollama refuses older ones)

# What Anthropic's count_tokens takes (docs.claude.com/en/api/messages-count-tokens); it refuses other fields.
COUNT_FIELDS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"})



def relayed(target: str, config: Config) -> bool:
    """Whether the passthrough path sends a target's requests: its provider speaks Anthropic's
    Messages API (Provider.messages_api). With PROXY_VIA=litellm, anthropic/ goes through litellm
    as before; the named providers' Anthropic endpoints (model_map set) only this path reaches."""
    quirks = provider_for(target.partition("/")[0])
    return quirks.messages_api and (config.via != "litellm" or bool(quirks.model_map))


class AnthropicPath(ProviderPath):
    """Providers that speak Anthropic's Messages API themselves (Anthropic, and the
    "<provider>-anthropic/" rows): the client's request goes on as it came (passthrough_body),
    over the proxy's own HTTP client, and the answer's bytes come back as they came
    (AnthropicRelay), read on the exchange's own thread as on the direct path. No litellm."""

    name = "passthrough"

    def serves(self, target, params, config):
        return relayed(target, config)

    def translator(self, attempt):
        return AnthropicRelay(attempt.requested)

    def prepare(self, attempt, credentials, config):
        quirks, caller = attempt.quirks, attempt.caller or Caller()
        base = credentials.get("api_base") or quirks.default_base
        if not base.startswith(("http://", "https://")):
            raise ProxyError(500, f"The base URL for {attempt.target} must start with http:// or https://; check "
                                  f"{' or '.join(quirks.base_env)}.")
        headers = f"anthropic-version: {ANTHROPIC_VERSION}\r\n"
        if quirks.betas and caller.betas:
            headers += f"anthropic-beta: {caller.betas}\r\n"
        body = passthrough_body(attempt.body, attempt.target, quirks, attempt.params.get("max_tokens"),
                                accepts_images(attempt.facts))
        body.pop("stream", None)
        return MessagesRequest(base.rstrip("/") + "/v1/messages", credentials.get("api_key"),
                               "Authorization: Bearer {}" if quirks.bearer else "x-api-key: {}", headers, body)

    def open(self, attempt, stream, lease, config):
        request = attempt.request
        return RelayRead(DirectCall(request.url, request.key, dict(request.body, stream=stream), config,
                                    Dialect(request.key_header), headers=request.headers, relay=True))

    def counted(self, attempt, config):
        """The provider's own count where it has one (Provider.counts_tokens), else, or when that
        fails, the proxy's estimate: a count must answer, and litellm stays out of this path."""
        if not attempt.quirks.counts_tokens:
            return attempt.input_tokens
        call = None
        try:
            credentials = provider_credentials(attempt.target, config)
            check_provider(attempt.target, config)
            request = self.prepare(attempt, credentials, config)
            body = {key: value for key, value in request.body.items() if key in COUNT_FIELDS}
            call = DirectCall(request.url + "/count_tokens", request.key, body, config, Dialect(request.key_header),
                              headers=request.headers)
            call.read_timeout = min(config.request_timeout, COUNT_TIMEOUT)
            counted = call.response().get("input_tokens")
            if isinstance(counted, int) and not isinstance(counted, bool) and counted >= 0:
                return counted
        except Exception:  # noqa: BLE001 - the estimate answers instead
            log.debug("count_tokens at %s failed; estimating", attempt.target, exc_info=True)
        finally:
            if call is not None:
                call.close()
        return attempt.input_tokens




class ResponsesPath(ProviderPath):
    """OpenAI's Responses API over the same HTTP client as chat completions (DirectCall), for
    the models that answer there (responses_url): the body from to_responses_request, the
    stream read by a ResponsesDecoder, a JSON answer by responses_answer_chunks; the same
    chat chunks as the other paths from there on. The API takes no stop sequences: the proxy
    ends the reply at them itself (own_stops)."""

    name = "responses"
    stops_sent = 0

    def serves(self, target, params, config):
        return responses_url(target, config, model_facts(target)) is not None

    def prepare(self, attempt, credentials, config):
        return DirectRequest(responses_url(attempt.target, config, attempt.facts), credentials.get("api_key"),
                             to_responses_request(attempt.params, attempt.quirks, attempt.facts))

    def open(self, attempt, stream, lease, config):
        request = attempt.request
        body = dict(request.body, stream=True) if stream else request.body  # no stream_options: usage comes anyway
        return DirectRead(DirectCall(request.url, request.key, body, config, RESPONSES_DIALECT),
                          answer=responses_answer_chunks)


PATHS = (AnthropicPath(), ResponsesPath(), OpenAICompatiblePath(), GeminiPath(), LitellmPath())

# The variables that name an HTTP proxy, in the order httpx (litellm's client) and urllib try them: the
# scheme's own, then ALL_PROXY. NO_PROXY lists the hosts reached without one.
PROXY_VARIABLES = {"http": ("http_proxy", "all_proxy"), "https": ("https_proxy", "all_proxy")}


class Proxy(NamedTuple):
    """An HTTP proxy on the way to a provider: where it listens, and the Proxy-Authorization
    value made of the user and password in its URL ("" without). The repr leaves that out."""

    host: str
    port: int
    authorization: str = ""

    def __repr__(self):
        return f"Proxy({self.host!r}, {self.port})"


def _proxy_variable(env: Mapping[str, str], name: str) -> tuple:
    """(the name read, its value) of a proxy variable, as urllib.request.getproxies_environment
    (3.11-3.13) reads the environment: the lower-case name first, and set, even empty, it
    hides the upper-case one. Example: {"HTTPS_PROXY": "a", "https_proxy": "b"} -> ("https_proxy", "b")."""
    if name in env:
        return name, env[name].strip()
    upper = name.upper()
    return upper, env.get(upper, "").strip()


def proxy_for(scheme: str, host: str, port: int, env: Mapping[str, str]) -> Proxy | None:
    """The HTTP proxy the environment names for a provider at scheme://host:port, or None
    (go direct), as httpx and so litellm read it: HTTPS_PROXY for https, HTTP_PROXY for
    http, else ALL_PROXY (lower-case names first). NO_PROXY is a comma list of host names,
    domains ("example.com" and ".example.com" both cover api.example.com), host:port, or "*"
    for every host, matched by urllib.request.proxy_bypass_environment. A proxy URL without
    a scheme is http://; a user and password in it (percent-encoded) are sent as
    Proxy-Authorization: Basic. A proxy this client cannot speak to (socks5://, https://)
    or a malformed URL raises ProviderHTTPError naming the variable, never its value, which
    may hold a password.
    Example: ("https", "api.groq.com", 443, {"HTTPS_PROXY": "http://u:p@10.0.0.1:3128"}) ->
    Proxy("10.0.0.1", 3128, "Basic dTpw"); with NO_PROXY="groq.com" as well -> None."""
    for name in PROXY_VARIABLES[scheme]:
        name, value = _proxy_variable(env, name)
        if value:
            break
    else:
        return None
    bypass = _proxy_variable(env, "no_proxy")[1]
    if bypass:
        from urllib.request import proxy_bypass_environment

        if proxy_bypass_environment(f"{host}:{port}", {"no": bypass}):
            return None
    url = urlsplit(value if "://" in value else "http://" + value)
    try:
        proxy_port = url.port or 80
    except ValueError:
        proxy_port = None
    if url.scheme.lower() != "http":
        raise ProviderHTTPError(500, f"{name} names a {url.scheme}:// proxy; the direct path speaks to http:// proxies "
                                     "only (PROXY_VIA=litellm sends every request through litellm instead).")
    if not url.hostname or proxy_port is None or UNSENDABLE.search(url.hostname):
        raise ProviderHTTPError(500, f"{name} is not a proxy URL like http://host:port or http://user:password@host:port.")
    authorization = ""
    if url.username is not None:
        import base64
        from urllib.parse import unquote

        userinfo = f"{unquote(url.username)}:{unquote(url.password or '')}"
        authorization = "Basic " + base64.b64encode(userinfo.encode("utf-8")).decode("ascii")
    return Proxy(url.hostname, proxy_port, authorization)


def open_tunnel(sock, host: str, port: int, proxy: Proxy):
    """Ask an HTTP proxy, over a socket connected to it, for a tunnel to host:port (CONNECT),
    for TLS to the provider through it; its answer's head is read to its end, and nothing
    after it. A refusal (any status but 2xx: 407 for credentials missing or wrong, 403 for a
    host it does not allow) raises ProviderHTTPError(502) naming the proxy and its status.
    Example: sent b"CONNECT api.groq.com:443 HTTP/1.1\\r\\nHost: api.groq.com:443\\r\\n...\\r\\n\\r\\n",
    read b"HTTP/1.1 200 Connection established\\r\\n\\r\\n"."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    auth = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
    request = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}User-Agent: claude_proxy\r\n\r\n"
    sock.sendall(request.encode("ascii"))
    head = b""
    while True:
        data = sock.recv(65536)  # a proxy sends nothing after its answer: the provider's TLS waits for our hello
        if not data:
            raise http.client.RemoteDisconnected(f"The proxy at {proxy.host}:{proxy.port} closed the connection "
                                                 "instead of answering CONNECT")
        head += data
        end = HEAD_END.search(head)
        if end is not None:
            break
        if len(head) > HEAD_LIMIT:
            raise http.client.HTTPException("The proxy's answer to CONNECT is too long.")
    parts = head[:head.find(b"\n")].decode("iso-8859-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
        raise http.client.BadStatusLine(head[:100].decode("iso-8859-1").strip())
    status = int(parts[1])
    if not 200 <= status < 300:  # the proxy's standard phrase, not its own words: they could quote what it was sent
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "refused"
        raise ProviderHTTPError(502, f"The proxy at {proxy.host}:{proxy.port} refused a tunnel to {authority}: "
                                     f"{status} {phrase}.")
    if end.end() != len(head):
        raise http.client.HTTPException("The proxy sent more than its answer to CONNECT.")


class Route(NamedTuple):
    """Where a connection goes: the provider (scheme, host, port) and the HTTP proxy on the
    way, if any (through it, a tunnel for https, requests in absolute form for http). The
    pool's key: a connection is reused only for the same provider through the same proxy."""

    scheme: str
    host: str
    port: int
    proxy: Proxy | None = None


class ConnectionPool:
    """Idle keep-alive sockets to providers, per Route (the provider and the proxy on the
    way). One the provider has closed meanwhile (readable while idle) is dropped, not reused."""

    IDLE_LIMIT = 32  # per route

    def __init__(self):
        self.idle: dict = {}
        self.lock = threading.Lock()
        self._tls = None

    def get(self, route: Route):
        """An idle socket for the route, or None."""
        while True:
            with self.lock:
                idle = self.idle.get(route)
                sock = idle.pop() if idle else None
            if sock is None:
                return None
            try:
                if not readable_now(sock):
                    return sock
            except (OSError, ValueError):
                pass
            sock.close()

    def connect(self, route: Route, timeout: float):
        """A new socket for the route: TCP_NODELAY; TLS for https (verified, for the
        provider's name), through the proxy's tunnel when there is a proxy."""
        scheme, host, port, proxy = route
        sock = socket.create_connection((proxy.host, proxy.port) if proxy else (host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                if proxy is not None:
                    open_tunnel(sock, host, port, proxy)
                if self._tls is None:
                    import ssl

                    self._tls = ssl.create_default_context()
                sock = self._tls.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        return sock

    def put(self, route: Route, sock):
        with self.lock:
            idle = self.idle.setdefault(route, [])
            if len(idle) < self.IDLE_LIMIT:
                idle.append(sock)
                return
        sock.close()


POOL = ConnectionPool()

STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)  # a reused connection the provider had closed

HEAD_END = re.compile(rb"\r?\n\r?\n")

HEAD_LIMIT = 1 << 18  # bytes of a response head

ERROR_LIMIT = 1 << 20  # bytes of an error answer kept

MAX_ANSWER_BYTES = 32 * MEGABYTE  # a non-streamed answer's body (the direct path; a stream's events: MAX_EVENT_BYTES)

UNSENDABLE = re.compile(r"[^\x21-\x7e]")  # what a request line's path or a header's token cannot hold


class Quiet(TimeoutError):
    """Nothing came from the provider in the time a read was given."""


try:
    from ssl import SSLWantReadError as WANT_READ  # a TLS socket's read without waiting, with no whole record in yet
except ImportError:  # Python built without ssl: no https providers
    WANT_READ = BlockingIOError


class HTTPExchange:
    """One HTTP/1.1 request and its answer over a pooled keep-alive connection, read as the
    bytes arrive: read(wait) makes one read of the socket and returns the bytes of the
    answer's body that came in it, the framing undone (Framing). `complete` once the body
    has ended; the connection then goes back to the pool if it can carry another request
    (HTTP/1.1, no "Connection: close", nothing after the body), else it is closed.

    - Sending: a connection from the pool (`kept`) may have been closed by the provider while
      it sat idle; when sending on it fails, or its first read finds it closed before any
      answer, the request is sent once more on a new connection. Only then: the failure of a
      new connection is the answer.
    - The head: 1xx answers are skipped; at most HEAD_LIMIT bytes and 100 fields.
    - An error answer (status 400 or more) is never returned: it is kept, up to ERROR_LIMIT
      bytes (then cut, so an endless one is not waited for), and raised as ProviderHTTPError.
    - close(), from any thread, ends the exchange at once (`cancelled`): the socket is shut,
      so a read waiting on it returns, and is never reused.
    Anything read() raises, but Quiet, closes the exchange.

    Example: HTTPExchange(Route("http", "127.0.0.1", 8000), b"POST /v1/... HTTP/1.1...", 10, 600).read(0.5),
    the answer "HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}" in one piece -> b"{}", complete.

    Why not http.client: the proxy reads a provider's answer on the request's own thread, in
    short waits (at most 0.5 s) between the exchange's checks of the client, the deadline and
    the shutdown, so a read must be able to time out anywhere in an answer and be made again.
    http.client reads through a buffered file (socket.makefile), and "the file object's
    internal buffer may end up in an inconsistent state if a timeout occurs" (the socket
    module's documentation): after one quiet wait mid-answer it cannot be trusted. Its
    objects also cost: building a request and reading a short streamed answer's head and
    body through HTTPConnection and HTTPResponse measured 39 us, against 19 us for a whole
    DirectCall (the JSON body included) over an HTTPExchange. What it has that this client had
    to add is HTTP proxies, as httpx (litellm's client) honours them: see proxy_for and
    open_tunnel; the Route says where a connection goes.
    """

    def __init__(self, route: Route, request: bytes, connect_timeout: float, read_timeout: float, errors=None):
        self.route, self.request = route, request
        self.errors = errors or provider_http_error  # reads an error answer: the provider's error shape
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.sock = None
        self.lock = threading.Lock()  # close() may come from another thread while a socket is taken
        self.kept = False  # the connection came from the pool: the provider may have closed it meanwhile
        self.cancelled = False  # close() was called: nothing more is sent or read
        self.complete = False  # the answer's body was read to its end
        self.head_bytes = b""  # what came before the answer's head was complete
        self.status = self.headers = self.framing = None
        self.keep_alive = False  # the provider keeps the connection open after this answer
        self.error, self.error_size = [], 0  # an error answer's body so far
        self.unread = None  # bytes a reader took from the socket and gave back: the next read's (DirectRead.quick)

    def read(self, wait: float) -> bytes:
        """One read, waiting up to `wait` seconds (the request is sent first): the body's
        bytes it carried, maybe none (a piece of the head or of the framing). Raises Quiet
        when nothing came, ProviderHTTPError for an error answer."""
        if self.complete:
            return b""
        try:
            sock = self.sock or self._send()
            data, self.unread = self.unread, None
            if data is None:
                if sock.gettimeout() != wait:  # each settimeout is a system call: only when it changes
                    sock.settimeout(wait)
                try:
                    data = sock.recv(65536)
                except (TimeoutError, BlockingIOError, WANT_READ):  # a wait of 0: nothing there yet
                    raise Quiet(f"nothing in {wait:g} s") from None
                except STALE:
                    if not self._stale():
                        raise
                    return b""
            if not data and self._stale():
                return b""
            framing = self.framing
            if framing is None:
                if not data:
                    raise http.client.RemoteDisconnected("the provider closed the connection without an answer")
                self.head_bytes += data
                if not self._head():
                    return b""
                data, self.head_bytes, framing = self.head_bytes, b"", self.framing
                if not data and not framing.done:
                    return b""
            body = framing.feed(data) if data or not framing.done else b""
            if self.status >= 400:
                return self._error(body)
            if framing.done:
                self._finish()
            return body
        except Quiet:
            raise
        except BaseException:
            self.close()
            raise

    def _send(self, fresh: bool = False):
        if self.cancelled:
            raise ConnectionAbortedError("the call was closed before it was sent")
        sock = None if fresh else POOL.get(self.route)
        self.kept = sock is not None
        if sock is None:
            sock = POOL.connect(self.route, self.connect_timeout)
        with self.lock:
            if self.cancelled:  # closed while it connected
                sock.close()
                raise ConnectionAbortedError("the call was closed before it was sent")
            self.sock = sock
        # A small request fits the socket's send buffer at once, so the timeout left from the last
        # read does not matter; a large one may wait for the provider to read it.
        if len(self.request) > 65536 or not sock.gettimeout():  # None, or 0 from the relay loop's last reads
            sock.settimeout(self.read_timeout)
        try:
            sock.sendall(self.request)
        except STALE:
            if not self.kept:
                raise
            return self._send_again()
        return sock

    def _send_again(self):
        self._release(False)
        return self._send(fresh=True)

    def _stale(self) -> bool:
        """Whether a read that found the connection closed means a kept connection the
        provider had closed while it was idle: then the request is sent once more on a new one."""
        if not self.kept or self.status is not None or self.head_bytes or self.cancelled:
            return False
        self._send_again()
        return True

    def _head(self) -> bool:
        """Read the answer's head from head_bytes, if it is all there; 1xx answers are skipped."""
        while True:
            end = HEAD_END.search(self.head_bytes)
            if end is None:
                if len(self.head_bytes) > HEAD_LIMIT:
                    raise http.client.HTTPException("The provider's answer head is too long.")
                return False
            head, self.head_bytes = self.head_bytes[:end.start()], self.head_bytes[end.end():]
            line, _, fields = head.partition(b"\n")
            parts = line.decode("iso-8859-1").split(None, 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit() or len(parts[1]) != 3:
                raise http.client.BadStatusLine(line[:100].decode("iso-8859-1").strip())
            status = int(parts[1])
            if fields.count(b"\n") >= 100:
                raise http.client.HTTPException("got more than 100 headers")
            headers = header_fields(fields)
            if status >= 200:
                break
        proxy = self.route.proxy
        if status == 407 and proxy is not None and self.route.scheme == "http":  # not the provider: the proxy on the way
            raise ProviderHTTPError(502, f"The proxy at {proxy.host}:{proxy.port} refused the request: 407 Proxy "
                                         "Authentication Required.")
        chunked = (headers.get("transfer-encoding") or "").lower() == "chunked"
        length = headers.get("content-length")
        length = int(length) if not chunked and length and length.isdigit() else None
        if status in (204, 304):
            chunked, length = False, 0
        self.status, self.headers = status, headers
        self.keep_alive = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "").lower() and (
            chunked or length is not None)
        self.framing = Framing(chunked, length)
        return True

    def _error(self, body: bytes) -> bytes:
        """Keep a piece of an error answer; at its end, or at ERROR_LIMIT, raise it."""
        if self.error_size < ERROR_LIMIT:
            self.error.append(body)
            self.error_size += len(body)
        if not self.framing.done:
            if self.error_size < ERROR_LIMIT:
                return b""
            self.framing.reusable = False  # an endless error answer: what came so far is enough
        self._finish()
        raise self.errors(self.status, b"".join(self.error)[:ERROR_LIMIT], self.headers)

    def _finish(self):
        self.complete = True
        self._release(self.keep_alive and self.framing.reusable)

    def _release(self, reusable: bool):
        """Give the connection back to the pool when it may carry another request, else close it."""
        with self.lock:
            sock, self.sock = self.sock, None
            reusable = reusable and not self.cancelled
        if sock is None:
            return
        if reusable:
            POOL.put(self.route, sock)
        else:
            sock.close()

    def close(self):
        with self.lock:
            self.cancelled, sock = True, self.sock
            self.sock = None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class Dialect(NamedTuple):
    """How a family of provider APIs speaks on the direct path, where it differs from OpenAI's
    chat completions: the header that carries the key (a format with one {}), the reader of an
    error answer, the stream's decoder, and the reader of a JSON answer (-> an OpenAI response)."""

    key_header: str = "Authorization: Bearer {}"
    errors: object = None  # (status, data, headers) -> ProviderHTTPError; None: provider_http_error
    decoder: object = None  # () -> a decoder like SSEDecoder; None: SSEDecoder
    answer: object = None  # the JSON answer dict -> an OpenAI chat-completion response; None: as it is


OPENAI_DIALECT = Dialect()

GEMINI_DIALECT = Dialect("x-goog-api-key: {}", google_http_error, GeminiDecoder, gemini_answer)

GEMINI_COUNT_DIALECT = GEMINI_DIALECT._replace(answer=None)  # countTokens answers {"totalTokens": N}

RESPONSES_DIALECT = Dialect(decoder=ResponsesDecoder)  # OpenAI's Responses API: its own events

COUNT_TIMEOUT = 10.0  # seconds a provider's own token count may take before the proxy estimates instead


class DirectCall:
    """One chat-completions request on the direct path, read by whoever calls step(): on
    the proxy, the request's own thread (DirectRead), between the exchange's checks of the
    client and the clock.
    It builds the request (the JSON body; the head with the key; through
    a proxy the environment names, see proxy_for, the absolute form for http), an HTTPExchange
    sends it and reads the answer, and for a stream an SSEDecoder turns the body into items.

    step(wait) makes one read: a stream's items it completed (chunk dicts and TextRuns),
    or at the end of a JSON answer [the answer dict]; `ended` once the answer is complete.
    Iterating gives the stream's items, a list per read; response() the JSON answer; both
    wait up to REQUEST_TIMEOUT for each read. A provider error raises ProviderHTTPError; a
    JSON answer beyond MAX_ANSWER_BYTES, or a stream's event beyond MAX_EVENT_BYTES, a 502
    ProxyError (the call is closed: nothing more is read). close() (from any thread) ends the call at once: the socket is shut, and not reused.
    A provider API of another family (Gemini's generateContent) is a Dialect: its key header, error
    shape, stream decoder and answer; `stream` then says whether it streams (its body does not).
    """

    def __init__(self, url: str, key: str | None, body: dict, config: Config, dialect: Dialect = OPENAI_DIALECT,
                 stream: bool | None = None, *, headers: str = "", relay: bool = False):
        """dialect: the API family's key header, errors, stream decoder and answer; headers: more
        header lines (each ending in CRLF); relay: a stream's body bytes are the items, undecoded
        (the passthrough path)."""
        url = urlsplit(url)
        scheme, port = url.scheme, url.port or (443 if url.scheme == "https" else 80)
        self.stream = bool(body.get("stream")) if stream is None else stream
        self.dialect = dialect
        self.ended = False  # the answer is complete
        self.deferred = None  # raised by the next step: a request that cannot be sent, or a bad event after good ones
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        host = url.netloc.rpartition("@")[2]
        try:
            proxy = proxy_for(scheme, url.hostname, port, config.env)
        except ProviderHTTPError as exc:
            proxy, self.deferred = None, exc
        if UNSENDABLE.search(path + host + (key or "")):  # a line break would let them write more headers
            self.deferred = ProviderHTTPError(500, "The provider's base URL or key holds a space, a line break or another "
                                                   "character an HTTP request cannot carry; check their variables.")
        target, proxy_auth = path, ""
        if proxy is not None and scheme == "http":  # for https the proxy only opened a tunnel: it sees nothing of this
            target = f"http://{host}{path}"
            proxy_auth = f"Proxy-Authorization: {proxy.authorization}\r\n" if proxy.authorization else ""
        auth = (dialect.key_header.format(key) + "\r\n" if key else "") + headers
        accept = "text/event-stream" if self.stream else "application/json"
        request = (f"POST {target} HTTP/1.1\r\nHost: {host}\r\n{proxy_auth}Accept-Encoding: identity\r\nUser-Agent: claude_proxy\r\n"
                   f"Content-Type: application/json\r\nAccept: {accept}\r\n{auth}Content-Length: {len(data)}\r\n\r\n"
                   ).encode("latin-1", "replace") + data
        self.read_timeout = config.request_timeout
        route = Route(scheme, url.hostname, port, proxy)
        self.exchange = HTTPExchange(route, request, config.connect_timeout, self.read_timeout, dialect.errors)
        self.relay = relay and self.stream
        self.decoder = (dialect.decoder or SSEDecoder)() if self.stream and not relay else None
        self.parts, self.size = [], 0  # a JSON answer's body, at most MAX_ANSWER_BYTES

    def step(self, wait: float) -> list:
        """One read, waiting up to `wait` seconds (the request is sent first): the stream
        items it completed, or at the end of a JSON answer [the answer dict]. Raises Quiet
        when nothing came; anything else raised ends the call."""
        if self.deferred is not None:
            deferred, self.deferred = self.deferred, None
            self.close()
            raise deferred
        if self.ended:
            return []
        exchange, decoder = self.exchange, self.decoder
        body = exchange.read(wait)
        if self.relay:
            self.ended = exchange.complete
            return [body] if body else []
        if decoder is None:
            self.parts.append(body)
            self.size += len(body)
            if self.size > MAX_ANSWER_BYTES:
                self.close()
                raise ProxyError(502, f"The provider's answer is larger than {MAX_ANSWER_BYTES} bytes; the proxy reads no more.")
            if not exchange.complete:
                return []
            self.ended = True
            return [self._answer(b"".join(self.parts))]
        try:
            items = decoder.feed(body) if body else []
            if decoder.failure is not None:
                self.deferred = decoder.failure
            elif exchange.complete:
                decoder.finish()
                self.ended = True
            return items
        except BaseException:
            self.close()
            raise

    def _answer(self, data: bytes) -> dict:
        try:
            answer = json.loads(data)
        except ValueError:
            raise ProviderHTTPError(502, "The provider's answer is not JSON.") from None
        if not isinstance(answer, dict):
            raise ProviderHTTPError(502, "The provider's answer is not a JSON object.")
        dialect = self.dialect
        if isinstance(answer.get("error"), (dict, str)):  # OpenRouter's error in a 200 comes with a choice, too
            raise (dialect.errors or provider_http_error)(500, data, {})
        if dialect.answer is not None:
            answer = dialect.answer(answer)
            if answer.get("error"):  # a finish that is an error (GeminiChunks)
                raise ProviderHTTPError(502, answer["error"]["message"], code=answer["error"]["code"])
        return answer

    def response(self) -> dict:
        while True:
            batch = self.step(self.read_timeout)
            if self.ended:
                return batch[0]

    def __iter__(self):
        while not self.ended:
            batch = self.step(self.read_timeout)
            if batch:
                yield batch

    def close(self):
        self.exchange.close()


class QuickText:
    """The usual read of a paced stream, relayed in a few C calls: one HTTP chunk that holds
    exactly one event of the text-only shape a TextChunks learned (its text escaped as
    json.dumps escapes, valid UTF-8) is that text's content_block_delta frame for the block
    open at `index`: the bytes the general way (TextRun, EscapedDeltas) gives, which a test
    compares. read() makes one read of the connection: that frame, or None (nothing came, or
    anything else: those bytes then wait in the exchange's `unread` for the general read); a read
    that fails (a reset) raises, as the general read's would. DirectRead.quick says when one may
    be used; after a general read it is made again.

    Why: a provider that paces its stream sends one such chunk per read, every 10-30 ms, and
    each read through the general layers (framing, SSE, text runs, translation, events) cost
    more Python than the read's own system calls (bench.py --paced). Example, after OpenAI's
    first text chunk, with the text block at index 0: the chunk
    b'2e\r\ndata: {"choices":[{"delta":{"content":"Hi"}}]}\n\n\r\n' -> b'event: content_block_delta\n'
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n'."""

    __slots__ = ("exchange", "sock", "prefix", "rest", "before", "after", "pending")

    SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}\r\n")  # the chunk's size line

    def __init__(self, exchange: HTTPExchange, texts: TextChunks, index: int):
        before, after, _ = DELTA_FRAMES[DELTA_KINDS[block_kind(texts.field)][0]]
        self.before, self.after = before % index + b'"', b'"' + after
        self.exchange, self.sock = exchange, exchange.sock
        self.pending = getattr(self.sock, "pending", None)  # a TLS socket's bytes already read
        # TextChunks' prefix, compared, and its compiled rest (group 1 is the text): a pattern compiled
        # here from the prefix, which differs per stream (OpenAI's chunk id), would miss re's cache
        # with more than 512 streams carried, at about 0.6 ms a compile, after every general read
        self.prefix, self.rest = texts.prefix, texts.rest.fullmatch

    def read(self) -> bytes | None:
        try:
            data = self.sock.recv(65536)
        except (TimeoutError, BlockingIOError, WANT_READ):  # nothing there yet: the general read waits too
            return None
        except OSError:  # the connection failed (a reset): the general read would not meet it again, but an end
            self.exchange.close()  # as HTTPExchange.read does with what a read raises
            raise
        frame = self.frame(data)
        if frame is None:
            self.exchange.unread = data
        return frame

    def frame(self, data: bytes) -> bytes | None:
        # the size line, the event (the prefix, then the rest), its end (LF LF or CRLF CRLF), the chunk's CRLF
        size = self.SIZE.match(data)
        if size is None:
            return None
        start, end = size.end(), len(data)
        if int(data[:start - 2], 16) != end - start - 2 or not data.startswith(self.prefix, start):
            return None
        found = self.rest(data, start + len(self.prefix), end - 4 if data.endswith(b"\n\n\r\n")
                          else end - 6 if data.endswith(b"\r\n\r\n\r\n") else 0)
        if found is None:
            return None
        text = found[1]
        if not text.isascii():
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return self.before + text + self.after

    def more(self) -> bool:
        """Whether the connection holds more without being readable (a TLS record's rest)."""
        return self.pending is not None and self.pending() > 0


class DirectRead:
    """A DirectCall as a provider call: read(wait) makes the reads that come within `wait`
    seconds and returns what they completed as one Batch, or None. `answer` turns a JSON
    answer into its chunks (a chat completion's: response_as_chunk)."""

    __slots__ = ("call", "answer")

    def __init__(self, call: DirectCall, answer=lambda response: [response_as_chunk(response)]):
        self.call, self.answer = call, answer

    def quick(self, translator: StreamTranslator) -> QuickText | None:
        """The relay loop's reader of this stream's next reads (QuickText), when the stream is in the
        plain middle of its text: the decoder learned the text's shape and holds nothing, the
        framing is between chunks, the text goes straight into the open block. Else None."""
        call = self.call
        decoder, exchange = call.decoder, call.exchange
        texts = getattr(decoder, "texts", None)
        if texts is None or texts.prefix is None or decoder.partial or decoder.saw_done or call.deferred is not None:
            return None
        framing = exchange.framing
        if (framing is None or not framing.chunked or framing.left or framing.buf or exchange.status != 200
                or exchange.complete or exchange.sock is None or exchange.unread is not None):
            return None
        index = translator.open_index(block_kind(texts.field))
        return None if index is None else QuickText(exchange, texts, index)

    @property
    def socket(self):
        """The provider connection, once the request is sent (the relay loop waits on it)."""
        return self.call.exchange.sock

    def pending(self) -> bool:
        """Whether the next read has something without the connection being readable: a failure
        held back behind good events (DirectCall.deferred), or a TLS record's rest already read."""
        call = self.call
        sock = call.exchange.sock
        return call.deferred is not None or (sock is not None and hasattr(sock, "pending") and sock.pending() > 0)

    def read(self, wait: float) -> Batch | None:
        call, until = self.call, None
        while True:
            try:
                items = call.step(max(wait, 0.001) if wait else 0)
            except Quiet:
                return None
            if call.ended:
                return Batch(items if call.stream else self.answer(items[0]), True)
            if items:
                return Batch(items)
            until = until or time.monotonic() + wait  # a read that completed nothing: wait for the rest
            wait = until - time.monotonic()
            if wait <= 0:
                return None

    def close(self):
        self.call.close()


class RelayRead(DirectRead):
    """A DirectCall of the passthrough path: a stream's bytes, or the JSON answer as it is."""

    __slots__ = ()

    def __init__(self, call: DirectCall):
        super().__init__(call, answer=lambda answer: [answer])


_litellm_module = None

_litellm_lock = threading.Lock()


def load_litellm(debug: bool = False):
    """Import litellm once, offline-safe and quiet (see LITELLM.md in the project notes)."""
    global _litellm_module
    if _litellm_module is not None:
        return _litellm_module
    with _litellm_lock:
        if _litellm_module is None:
            # Offline, litellm would try to download its model price map and a tokenizer,
            # and it loads a .env found above its own package unless in production mode.
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            os.environ.setdefault("LITELLM_MODE", "PRODUCTION")
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import litellm

            litellm.suppress_debug_info = True
            litellm.disable_streaming_logging = True
            litellm.disable_hf_tokenizer_download = True
            litellm.telemetry = False
            for name in LOGGER_NAMES[1:]:
                logger = logging.getLogger(name)
                logger.setLevel(logging.DEBUG if debug else logging.ERROR)
                logger.propagate = debug
            _litellm_module = litellm
    return _litellm_module


def provider_timeout(config: Config):
    """litellm's timeout: connect and read apart (an httpx.Timeout; litellm depends on httpx)."""
    import httpx

    return httpx.Timeout(config.request_timeout, connect=config.connect_timeout)


def as_dict(obj) -> dict:
    """A litellm response or chunk object -> a plain dict, once, at the boundary."""
    if isinstance(obj, dict):
        return obj
    dump = getattr(obj, "model_dump", None)
    return dump() if callable(dump) else dict(obj)


_prefix_counts: dict = {}  # (target, system and tools as JSON) -> their tokens; Claude Code resends them unchanged

_prefix_lock = threading.Lock()

PREFIX_CACHE_SIZE = 64


def count_tokens(litellm, target: str, params: dict) -> int:
    """Input tokens of a translated request (system, tools, messages) for the target model.

    The leading system prompt and the tools, most of a Claude Code request, are counted once
    and remembered; only the conversation is counted on each call.
    """
    messages, tools = params["messages"], params.get("tools") or None
    head = messages[:1] if messages and messages[0]["role"] == "system" else []
    try:
        key = (target, json.dumps([head, tools], sort_keys=True))
        fixed = _prefix_counts.get(key)
        if fixed is None:
            fixed = litellm.token_counter(model=target, messages=head, tools=tools, use_default_image_token_count=True)
            with _prefix_lock:
                if len(_prefix_counts) >= PREFIX_CACHE_SIZE:
                    _prefix_counts.pop(next(iter(_prefix_counts)))
                _prefix_counts[key] = fixed
        rest = messages[len(head):]
        return int(fixed) + (litellm.token_counter(model=target, messages=rest, use_default_image_token_count=True) if rest else 0)
    except Exception:  # an unusual message shape must not fail the call: estimate instead
        log.debug("token_counter failed for %s; estimating", target, exc_info=True)
        return estimate_tokens(params)


class Slots:
    """MAX_CONCURRENCY: a count under a lock (threading's semaphores are Python code around a
    Condition, several times the cost for a request that never waits)."""

    def __init__(self, limit: int):
        self.limit, self.used, self.lock = limit, 0, threading.Lock()

    def acquire(self) -> bool:
        with self.lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True

    def release(self):
        with self.lock:
            self.used -= 1


class Lease:
    """A MAX_CONCURRENCY slot shared by a request and the provider calls it starts: it comes
    back when the last of them is done, so a call still running upstream after its client
    left keeps counting."""

    def __init__(self, slots: Slots):
        self.slots, self.count, self.lock = slots, 1, threading.Lock()

    def hold(self):
        with self.lock:
            self.count += 1

    def release(self):
        with self.lock:
            self.count -= 1
            last = self.count == 0
        if last:
            self.slots.release()


END = object()  # a litellm stream finished


def usage_litellm_dropped(stream, usage: dict | None) -> dict | None:
    """The provider's own usage when litellm's stream wrapper rebuilt the last chunk's usage
    without the cached-token count the provider sent (Moonshot's top-level cached_tokens, litellm
    1.110): it is still on the raw chunks the wrapper keeps (`chunks`). None when nothing was lost.
    Example: usage {"prompt_tokens": 2000, ...}, raw {"prompt_tokens": 2000, "cached_tokens": 1536, ...} -> the raw."""
    if usage_count(usage, CACHED_TOKEN_FIELDS):
        return None
    for chunk in reversed(getattr(stream, "chunks", None) or ()):
        raw = getattr(chunk, "usage", None) if not isinstance(chunk, dict) else chunk.get("usage")
        if raw is not None:
            raw = as_dict(raw)
            return raw if usage_count(raw, CACHED_TOKEN_FIELDS) else None
    return None


class LitellmCall:
    """A litellm call on a thread of its own (WORKERS). `request()` makes the call: it returns
    the response (not streamed) or an iterable of chunks, which the thread queues as plain
    dicts. read(wait) gives what is queued as one Batch. close() stops a stream as soon as
    litellm hands it over (a provider may hold its headers for a long time)."""

    def __init__(self, request, *, stream: bool, lease: Lease | None, shape=None):
        self.shape = shape or response_as_chunk  # a whole answer (dict) -> the Batch's one item
        self.items: queue.SimpleQueue = queue.SimpleQueue()
        self.stream, self.opened, self.closed, self.lock = stream, None, False, threading.Lock()
        self.held = None  # a failure queued behind chunks: raised on the next read
        if lease is not None:
            lease.hold()
        WORKERS.run(self._run, request, lease)

    def _run(self, request, lease):
        put = self.items.put
        try:
            opened = request()
            if not self.stream:
                put(as_dict(opened))
                return
            with self.lock:
                self.opened, closed = opened, self.closed
            if closed:
                return _close_quietly(opened)
            usage = None
            for chunk in opened:  # litellm's chunk objects
                chunk = as_dict(chunk)
                usage = chunk.get("usage") or usage
                put(chunk)
            kept = usage_litellm_dropped(opened, usage)
            if kept is not None:
                put({"choices": [], "usage": kept})
            put(END)
        except BaseException as exc:  # handed over to the reader, which raises it
            put(exc)
        finally:
            if lease is not None:
                lease.release()

    def read(self, wait: float) -> Batch | None:
        item, self.held = self.held, None
        if item is None:
            try:
                item = self.items.get(timeout=max(wait, 0))
            except queue.Empty:
                return None
        if isinstance(item, BaseException):
            raise item
        if not self.stream:
            return Batch([self.shape(item)], True)
        chunks = []
        while True:
            if item is END:
                return Batch(chunks, True)
            if isinstance(item, BaseException):
                self.held = item
                return Batch(chunks)
            chunks.append(item)
            try:
                item = self.items.get_nowait()
            except queue.Empty:
                return Batch(chunks)

    def close(self):
        with self.lock:
            self.closed, opened = True, self.opened
        _close_quietly(opened)


class Workers:
    """Threads for litellm calls, kept a while for the next call: starting a thread per
    call costs more than a fast provider's whole answer. One idle thread takes each job; with
    none idle, a new thread starts, so calls never wait for each other."""

    IDLE_SECONDS = 60

    def __init__(self):
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.idle = 0
        self.lock = threading.Lock()

    def run(self, function, *args):
        with self.lock:
            spawn = self.idle == 0
            if not spawn:
                self.idle -= 1  # that idle thread is now spoken for
        self.jobs.put((function, args))
        if spawn:
            threading.Thread(target=self._work, daemon=True, name="upstream").start()

    def _work(self):
        while True:
            try:
                function, args = self.jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self.lock:
                    if self.idle > 0:  # not spoken for: leave
                        self.idle -= 1
                        return
                continue  # a job is on its way to this thread
            try:
                function(*args)
            except BaseException:  # a job reports its own failures; the thread goes on serving
                log.debug("provider call thread: unexpected error", exc_info=True)
            with self.lock:
                self.idle += 1


WORKERS = Workers()


def _close_quietly(stream):
    close = getattr(stream, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            log.debug("closing the upstream stream failed", exc_info=True)


class Canned:
    """A provider call whose one batch is known already: the answer to a probe a model refused."""

    def __init__(self, batch: Batch):
        self.batch = batch

    def read(self, wait: float) -> Batch | None:
        batch, self.batch = self.batch, None
        return batch

    def close(self):
        pass

# ----------------------------------------------------------------------------------------
# web search: Anthropic's web search tool, run by the proxy through litellm.search
# ----------------------------------------------------------------------------------------


DEFAULT_MAX_USES = 10  # searches in one request whose web search tool sets no max_uses

MAX_RESULTS = 10  # results asked of the search provider per search


def domain_matches(url: str, domain: str) -> bool:
    """Whether a result's URL lies in a domain as Anthropic's allowed_domains and blocked_domains
    read one: no scheme, subdomains included, a path narrows it (platform.claude.com web search
    tool docs, "Domain filtering"). Example: ("https://docs.example.com/a", "example.com") -> True;
    ("https://example.com/news/1", "example.com/blog") -> False."""
    parts = urlsplit(url if "//" in url else "//" + url)
    host, path = (parts.hostname or "").lower(), parts.path.lstrip("/")
    want = domain.strip().lower()
    want_host, _, want_path = (want.split("://", 1)[1] if "://" in want else want).partition("/")
    return bool(want_host) and (host == want_host or host.endswith("." + want_host)) and path.startswith(want_path.strip("/"))


def tool_domains(tool: dict, key: str) -> list:
    """A web search tool's allowed_domains or blocked_domains, as strings; [] when it has none."""
    value = tool.get(key)
    return [str(domain) for domain in value if domain] if isinstance(value, list) else []


def search_request(tool: dict, query: str, provider: str, env: Mapping[str, str]) -> dict:
    """litellm.search's keywords for one search of a request's web search tool: the query, the
    operator's provider with its key and base URL (only its own variables: search_provider), the
    tool's allowed_domains (litellm's search_domain_filter, which each provider maps its way),
    blocked_domains where the provider has a field for them, user_location's country where it
    takes an ISO code. Example: {"allowed_domains": ["python.org"]}, "q", "tavily", {"TAVILY_API_KEY":
    "tvly-1"} -> {"query": "q", "search_provider": "tavily", "max_results": 10, "api_key": "tvly-1",
    "search_domain_filter": ["python.org"]}."""
    row = search_provider(provider)
    out = {"query": query, "search_provider": provider, "max_results": MAX_RESULTS}
    key = next((env[name].strip() for name in row.key_env if env.get(name, "").strip()), "")
    base = next((env[name].strip() for name in row.base_env if env.get(name, "").strip()), "")
    out.update({"api_key": key} if key else {}, **({"api_base": base} if base else {}))
    allowed, blocked = tool_domains(tool, "allowed_domains"), tool_domains(tool, "blocked_domains")
    if allowed:
        out["search_domain_filter"] = allowed
    if blocked and row.blocked:
        out[row.blocked] = blocked
    location = tool.get("user_location")
    country = location.get("country") if isinstance(location, dict) else None
    if row.country and isinstance(country, str) and re.fullmatch(r"[A-Za-z]{2}", country):
        out["country"] = country.upper()
    return out


def search_results(answer: dict, tool: dict) -> list:
    """litellm's search answer -> the web_search_result blocks of a web_search_tool_result: title,
    URL, page_age (the result's date, when the provider gives one) and its text sealed in
    encrypted_content; results outside allowed_domains or inside blocked_domains are left out,
    whatever the provider made of them. Example: {"results": [{"title": "T", "url": "https://a.example/",
    "snippet": "S", "date": None}]} -> [{"type": "web_search_result", "title": "T", "url":
    "https://a.example/", "page_age": None, "encrypted_content": sealed("S")}]."""
    allowed, blocked = tool_domains(tool, "allowed_domains"), tool_domains(tool, "blocked_domains")
    out = []
    for result in answer.get("results") or ():
        url = str(result.get("url") or "") if isinstance(result, dict) else ""
        if not url or (allowed and not any(domain_matches(url, d) for d in allowed)) or any(domain_matches(url, d) for d in blocked):
            continue
        out.append({"type": "web_search_result", "title": str(result.get("title") or url), "url": url,
                    "page_age": str(result["date"]) if result.get("date") else None,
                    "encrypted_content": sealed(str(result.get("snippet") or ""))})
    return out


def search_error(code: str) -> dict:
    """A web_search_tool_result's content for a search that did not run or failed, with one of
    Anthropic's error codes (invalid_tool_input, unavailable, max_uses_exceeded, too_many_requests,
    query_too_long, request_too_large)."""
    return {"type": "web_search_tool_result_error", "error_code": code}


def continued_body(body: dict, content: list, exhausted: bool) -> dict:
    """The request that continues a turn after the proxy's web searches: the client's, with the
    turn so far as an assistant message (its searches and their results, which translation sends
    as tool calls and tool results). A forced tool_choice (any, or a named tool: Claude Code forces
    web_search) has had its call, so the model now chooses; once the searches are used up, the
    search tool is offered no more. Example: tool_choice {"type": "tool", "name": "web_search"} ->
    {"type": "auto"}."""
    out = dict(body, messages=body["messages"] + [{"role": "assistant", "content": content}])
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        out["tool_choice"] = dict({k: v for k, v in choice.items() if k != "name"}, type="auto")
    if exhausted:
        out["tools"] = [tool for tool in body.get("tools") or () if not is_search_tool(tool)]
    return out


class WebSearch:
    """The web searches of one request that offers Anthropic's web search tool (search_tool), which
    the proxy runs itself: litellm.search at WEB_SEARCH_PROVIDER, with that provider's own key and
    base URL (nothing in a request chooses where a search goes). The Exchange waits on each search
    as on a provider call (keep-alives flow meanwhile), answers it with a web_search_tool_result and
    continues the model's turn with the results.

    refusal(block): the error code for a call that gets no search (max_uses spent, no provider, no
        query), else "". open(query, lease): the search, on a worker thread (read(wait) -> a Batch of
        litellm's answer as a dict, or None; close()). results(answer), failure(exc): the result's
        content. `used` counts the calls answered, `done` the searches that ran (usage's
        web_search_requests); `exhausted` once max_uses (DEFAULT_MAX_USES without one) is reached.
    """

    def __init__(self, tool: dict, config: Config):
        self.tool, self.config = tool, config
        uses = tool.get("max_uses")
        self.limit = uses if isinstance(uses, int) and not isinstance(uses, bool) and uses >= 1 else DEFAULT_MAX_USES
        self.used = self.done = 0

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    def refusal(self, block: dict) -> str:
        self.used += 1
        query = (block.get("input") or {}).get("query") if isinstance(block.get("input"), dict) else None
        if self.used > self.limit:
            return "max_uses_exceeded"
        if not isinstance(query, str) or not query.strip():
            return "invalid_tool_input"
        provider = self.config.web_search_provider
        row = search_provider(provider)
        if provider and not (row.needs_base and not any(self.config.env.get(name, "").strip() for name in row.base_env)):
            return ""
        if provider not in _told_no_search:
            _told_no_search.add(provider)
            log.warning("a request asked for a web search, which answers 'unavailable': %s (README: Web search)",
                        f"{row.base_env[0]} is not set" if provider else
                        "set WEB_SEARCH_PROVIDER (tavily, exa_ai, brave, serper, searxng ...) and its key")
        return "unavailable"

    def open(self, query: str, lease: Lease | None) -> LitellmCall:
        keywords = dict(search_request(self.tool, query.strip(), self.config.web_search_provider, self.config.env),
                        timeout=provider_timeout(self.config))
        search = load_litellm(self.config.log_level == "debug").search
        return LitellmCall(lambda: search(**keywords), stream=False, lease=lease, shape=lambda answer: answer)

    def results(self, answer: dict) -> list:
        self.done += 1
        return search_results(answer, self.tool)

    def failure(self, exc: BaseException) -> dict:
        status = getattr(exc, "status_code", None)
        log.warning("web search at %s failed: %s", self.config.web_search_provider,
                    redact(_error_text(exc), self.config.env))
        return search_error("too_many_requests" if status == 429 else "unavailable")


_told_no_search: set = set()  # the missing search settings the log has named

# ----------------------------------------------------------------------------------------
# the exchange: one /v1/messages request, from its routed attempts to the last byte
# ----------------------------------------------------------------------------------------


class Descriptions:
    """The descriptions VISION_MODEL wrote, by image_key, for every request of the process: the
    newest `size`, so a session's screenshot is described once however many turns carry it."""

    def __init__(self, size: int):
        self.size, self.lock, self.texts = size, threading.Lock(), collections.OrderedDict()

    def known(self, keys) -> dict:
        """The descriptions of those keys that have one. Example: ["5b1f...", "77aa..."] -> {"5b1f...": "[image, ...]"}."""
        with self.lock:
            found = {key: self.texts[key] for key in keys if key in self.texts}
            for key in found:
                self.texts.move_to_end(key)
        return found

    def put(self, key: str, text: str):
        with self.lock:
            self.texts[key] = text
            self.texts.move_to_end(key)
            while len(self.texts) > self.size:
                self.texts.popitem(last=False)


DESCRIPTIONS = Descriptions(1024)  # at most DESCRIPTION_LIMIT characters each: about 8 MB at worst


def vision_target(config: Config) -> str | None:
    """The model that describes images for models without vision: VISION_MODEL, when it takes
    images itself (litellm's map, or a model no map knows). Example: VISION_MODEL=gpt-4o -> "openai/gpt-4o"."""
    if not config.vision_model:
        return None
    target = qualify(config.vision_model, config, provider_names())
    return target if accepts_images(model_facts(target)) else None


def prepare_attempt(body: dict, target: str, config: Config, caller: Caller | None = None) -> Attempt:
    """The request translated for `target`, with the path that will send it; not yet checked.
    For a model without vision, the images VISION_MODEL described already are their
    descriptions (DESCRIPTIONS); the others are `undescribed`, for the exchange to describe.
    Example: BASIC for "openai/gpt-4.1" -> Attempt(target="openai/gpt-4.1", path=the direct path, ...)."""
    quirks = provider_for(target.partition("/")[0])
    facts = model_facts(target)
    window, max_output = model_limits(target, facts)
    vision, sent, undescribed = accepts_images(facts), body, ()
    if not vision and vision_target(config):
        images = inline_images(body)
        known = DESCRIPTIONS.known(images)
        sent, undescribed = with_descriptions(body, known), tuple((k, v) for k, v in images.items() if k not in known)
    params = to_openai_request(sent, target, quirks, reasoning=bool(facts.get("supports_reasoning")),
                               max_output=config.max_tokens_limit or max_output, vision=vision,
                               session=(caller or Caller()).session, efforts=efforts_of(quirks, facts),
                               forced_tools=facts.get("supports_tool_choice") is not False,
                               responses=answers_on_responses(quirks, facts))
    path = next(path for path in PATHS if path.serves(target, params, config))
    return Attempt(requested=body["model"], target=target, params=params, input_tokens=estimate_tokens(params),
                   window=window, probe=body.get("max_tokens") == 1, tool_names=tool_name_map(body), path=path,
                   quirks=quirks, facts=facts, caller=caller or Caller(), undescribed=undescribed,
                   body=sent if quirks.messages_api else body,  # the passthrough path sends the body on, described
                   search=None if quirks.messages_api else search_tool(body))  # the passthrough path: the provider's own


def routed_attempt(body: dict, config: Config, caller: Caller | None = None) -> Attempt:
    """The attempt for the target a request routes to by its model, what it needs (thinking,
    images) and, when LONG_CONTEXT_MODEL is set, its size, which is known once it is
    translated: translated again only when the size changes the route."""
    providers = provider_names()
    thinking, images = request_needs(body)
    subagent = bool(caller and caller.subagent)
    attempt = prepare_attempt(body, route_model(body["model"], config, providers, thinking=thinking, images=images,
                                                subagent=subagent), config, caller)
    if config.long_context_model:
        placed = route_model(body["model"], config, providers, thinking=thinking, images=images,
                             input_tokens=attempt.input_tokens, subagent=subagent)
        if placed != attempt.target:
            attempt = prepare_attempt(body, placed, config, caller)
    return attempt


def checked_attempt(attempt: Attempt, body: dict, config: Config) -> Attempt:
    """The attempt with its path's request, once what would fail at the provider is ruled
    out: a missing key (a 401 naming the variable), a provider the operator did not configure
    (check_provider: a 400, whatever the path), a request that cannot fit the model's window
    (in the words Claude Code recovers from). Images for a model without vision were left out
    in translation; that is said once per model, with the fix."""
    credentials = provider_credentials(attempt.target, config)  # a missing key's 401 names the variable to set
    check_provider(attempt.target, config)
    if not (accepts_images(attempt.facts) or vision_target(config)) and attempt.target not in _told_no_vision and (
            request_needs(body)[1]):
        _told_no_vision.add(attempt.target)
        log.warning("%s does not accept images: they are left out of its requests, each replaced by a note; set "
                    "VISION_MODEL to a model that takes images: requests with images go there, or with VISION_MODE=describe "
                    "it describes each image instead", attempt.target)
    overflow = context_overflow(attempt.input_tokens, attempt.params["max_tokens"], attempt.window)
    if overflow:
        raise invalid(overflow)
    attempt.request = attempt.path.prepare(attempt, credentials, config)
    return attempt


_told_no_vision: set = set()  # the models whose missing vision the log has named

_told_no_price: set = set()  # the models whose missing price the log has named


def plan_attempts(body: dict, config: Config, fields: dict, caller: Caller | None = None):
    """The checked attempts in the order to try them: the routed target, then FALLBACK_MODELS.
    The first one's failure to check is the client's answer; a fallback that cannot be checked
    (no key, say) is skipped with a warning. The routed model goes into the log line's fields."""
    attempt = routed_attempt(body, config, caller)
    fields.update(model=body["model"], target=attempt.target)
    if attempt.caller.subagent:
        fields["subagent"] = True
    yield checked_attempt(attempt, body, config)
    providers, tried = provider_names(), {attempt.target}
    for name in config.fallback_models:
        target = qualify(name, config, providers)
        if target in tried:
            continue
        tried.add(target)
        try:
            yield checked_attempt(prepare_attempt(body, target, config, caller), body, config)
        except ProxyError as error:
            log.warning("fallback %s skipped: %s", target, error.message)


def translate(translator: StreamTranslator, items) -> list:
    """The events of a batch's items. Chunk dicts go through the translator; a TextRun's texts
    that go straight into the open block (open_index) become one EscapedDeltas, framed from
    their escaped bytes; others are decoded and fed as chunks. Either way the client gets
    the same bytes (a test compares them)."""
    events, chunks = [], []
    for item in items:
        if type(item) is dict:
            chunks.append(item)
            continue
        if chunks:
            events += translator.feed_many(chunks)
            chunks = []
        if type(item) is bytes:  # the passthrough path's stream bytes (AnthropicRelay)
            events += translator.relay(item)
            continue
        field, texts = item
        key = block_kind(field)
        for n, escaped in enumerate(texts):
            index = translator.open_index(key)
            if index is not None:
                events.append(("content_block_delta", EscapedDeltas(index, key, texts[n:])))
                break
            events += translator.feed({"choices": [{"delta": {field: unescape(escaped)}}]})
    if chunks:
        events += translator.feed_many(chunks)
    return events


def answers_probe(error: ProxyError, attempt: Attempt) -> bool:
    """A max_tokens 1 probe that a reasoning model refused as too small still shows the
    model is there: Claude Code gets its 200 with stop_reason max_tokens."""
    return attempt.probe and error.status == 400 and not error.context_overflow


def probe_answer(attempt: Attempt) -> tuple:
    """The call and translator that answer a probe the model refused (answers_probe): chat chunks, read by a
    StreamTranslator on any path (the passthrough path's own translator, AnthropicRelay, reads Anthropic answers)."""
    return Canned(Batch([response_as_chunk(probe_response(attempt.input_tokens))], True)), ProviderPath.translator(attempt.path, attempt)


class ClientGone(Exception):
    """The client closed its connection."""


class Silence:
    """A provider call's quiet: when its last batch came, and since when no keep-alive went out."""

    __slots__ = ("last_batch", "since")

    def __init__(self, now: float):
        self.last_batch = self.since = now


class Carried(NamedTuple):
    """A stream the relay loop carries: its exchange, provider call, attempt and translator."""

    exchange: Exchange
    call: object
    attempt: Attempt
    translator: StreamTranslator


class Held:
    """A stream in the relay loop: what it carries, the event and list its thread waits on for
    the outcome, its provider socket, its quiet (Silence), when its client was last checked, and
    its QuickText while its reads are plain text deltas."""

    __slots__ = ("carried", "done", "outcome", "socket", "quiet", "checked", "quick")

    def __init__(self, carried: Carried, done: threading.Event, outcome: list, now: float):
        self.carried, self.done, self.outcome = carried, done, outcome
        self.socket = carried.call.socket
        self.quiet, self.checked, self.quick = Silence(now), now, None


class RelayLoop:
    """One thread that relays every streamed answer on the direct path once it has begun: it
    waits on all their provider connections at once (selectors: epoll or poll, no limit on
    descriptors), and for each that is readable reads what came, translates it and writes it to
    the client without waiting (SseAnswer.carry), as the stream's own thread would (Exchange:
    deliver, check_clocks, silent, failed). That thread sleeps meanwhile, until the answer is
    complete, or the stream is handed back: the client is not reading (its unsent bytes then go
    out on that thread, which goes on relaying), or anything unusual.

    Why: a paced provider sends one small chunk every 10-30 ms. A thread per stream wakes for
    each, and with hundreds of them the wake-ups contend for the GIL: 107 us of CPU per event at
    200 streams x 50 events/s, 263 us at 2,000 x 5/s (bench.py --paced), mostly futex calls.
    One thread reading every connection that is ready pays no such contention.

    A stream's usual read, one text delta, goes through its QuickText (a regular expression on
    the read, the delta's frame from its escaped bytes); any other read the general way, which
    makes the QuickText for the reads after it. Checks run every TICK seconds per stream (so
    REQUEST_DEADLINE and the shutdown's end are kept to within TICK on quick reads); the
    client's presence only after half a second without a batch, as next_batch does. Where
    selectors has only select() (Windows), no stream is carried: select takes at most 512
    descriptors there."""

    TICK = 0.1

    def __init__(self):
        self.lock = threading.Lock()
        self.selector = None  # made with the thread, on the first stream carried
        self.incoming: queue.SimpleQueue = queue.SimpleQueue()
        self.waker = None
        self.usable = getattr(selectors, "DefaultSelector") is not getattr(selectors, "SelectSelector", None)
        self.carried = self.handed_back = 0  # streams taken, and given back to their threads (for tests and debugging)
        self.quick_reads = 0  # reads relayed by a QuickText

    def takes(self, call, sink) -> bool:
        """Whether a stream can be carried: a direct call with its connection open, a stream sink."""
        return (self.usable and getattr(sink, "carry", None) is not None and getattr(call, "socket", None) is not None
                and not call.pending())

    def carry(self, carried: Carried) -> bool:
        """Hand a begun stream to the loop and wait: True when the loop completed the answer
        (its last bytes may then still be going out: written here), False when it was handed
        back. Raises ClientGone when the client left meanwhile."""
        sink = carried.exchange.sink
        done = threading.Event()
        outcome = []
        sink.carry(True)
        try:
            self._start()
            self.incoming.put((carried, done, outcome))
            self.waker[1].send(b"\0")
            done.wait()
        finally:
            sink.carry(False)  # the unsent bytes go out here, the thread's own way
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _start(self):
        with self.lock:
            if self.selector is None:
                self.selector = selectors.DefaultSelector()
                self.waker = socket.socketpair()
                self.waker[0].setblocking(False)
                self.selector.register(self.waker[0], selectors.EVENT_READ)
                threading.Thread(target=self._run, daemon=True, name="relay").start()

    def _run(self):
        streams: dict = {}  # id(Held) -> Held
        next_tick = time.monotonic() + self.TICK
        while True:
            try:
                ready = self.selector.select(max(0.0, next_tick - time.monotonic()))
                now = time.monotonic()
                for key, _ in ready:
                    if key.data is None:
                        self._take(streams)
                    else:
                        self._readable(key.data, streams, now)
                if now >= next_tick:
                    next_tick = now + self.TICK
                    for held in list(streams.values()):
                        self._tick(held, streams, now)
            except Exception:  # a bug here must not strand every stream: each goes back to its thread
                log.exception("relay loop: unexpected error; its streams go back to their threads")
                for held in list(streams.values()):
                    self._end(held, streams, False)

    def _take(self, streams: dict):
        with contextlib.suppress(BlockingIOError):
            self.waker[0].recv(4096)
        while True:
            try:
                carried, done, outcome = self.incoming.get_nowait()
            except queue.Empty:
                return
            held = Held(carried, done, outcome, time.monotonic())
            try:
                self.selector.register(held.socket, selectors.EVENT_READ, held)
            except (OSError, ValueError, KeyError):  # closed meanwhile, or its descriptor still taken: its thread relays it
                outcome.append(False)
                done.set()
                continue
            streams[id(held)] = held
            self.carried += 1

    def _readable(self, held: Held, streams: dict, now: float):
        """What came on a carried stream's connection, relayed: its text deltas by its QuickText
        while they come one per read, anything else the general way (deliver), which makes the
        QuickText for the reads after it. (The clocks of the quick reads are checked by _tick.)"""
        carried, quiet = held.carried, held.quiet
        exchange, call = carried.exchange, carried.call
        try:
            quick = held.quick
            while quick is not None:
                frame = quick.read()
                if frame is None:
                    break
                held.checked = quiet.last_batch = quiet.since = now
                self.quick_reads += 1
                exchange.sink.write(frame, False)
                if exchange.sink.unsent:  # the client is not reading as fast: its thread waits for it
                    return self._end(held, streams, False)
                if not quick.more():
                    return
            while True:
                exchange.check_clocks()
                batch = call.read(0)
                if batch is None:
                    break
                held.checked = quiet.last_batch = quiet.since = time.monotonic()
                if exchange.deliver(batch, carried.attempt, carried.translator):
                    return self._end(held, streams, True)
                if exchange.sink.unsent:
                    return self._end(held, streams, False)
                if not call.pending():
                    break
            # once the first token is noted (note_first_token): quick reads emit nothing through the exchange
            held.quick = call.quick(carried.translator) if "ttft_ms" in exchange.fields and type(call) is DirectRead else None
        except ClientGone as gone:
            self._end(held, streams, gone)
        except Exception as exc:  # noqa: BLE001 - as relay() does: the answer ends with an error event
            self._failed(held, streams, exc)

    def _tick(self, held: Held, streams: dict, now: float):
        """The checks of a carried stream: the clocks; after half a second without a batch, or
        KEEPALIVE_SECONDS when shorter, the client, REQUEST_TIMEOUT and a keep-alive event."""
        carried = held.carried
        exchange = carried.exchange
        try:
            exchange.check_clocks()
            if now - held.checked >= min(0.5, exchange.config.keepalive_seconds):
                held.checked = now
                exchange.silent(held.quiet, carried.translator)
                held.quick = None  # a keep-alive may have changed the answer's state: the next read is a general one
                if exchange.sink.unsent:
                    self._end(held, streams, False)
        except ClientGone as gone:
            self._end(held, streams, gone)
        except Exception as exc:  # noqa: BLE001
            self._failed(held, streams, exc)

    def _failed(self, held: Held, streams: dict, exc: Exception):
        carried = held.carried
        try:
            carried.exchange.failed(exc, carried.attempt, carried.translator)
            self._end(held, streams, True)
        except BaseException as error:  # noqa: BLE001 - the client left while it was told
            self._end(held, streams, error)

    def _end(self, held: Held, streams: dict, outcome):
        """The stream leaves the loop: done (True), handed back (False), or an exception."""
        streams.pop(id(held), None)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.selector.unregister(held.socket)
        self.handed_back += outcome is False
        held.outcome.append(outcome)
        held.done.set()


RELAY = RelayLoop()


class Exchange:
    """One /v1/messages request, from its planned attempts (plan_attempts) to the last byte.

    run(attempts) tries them in order: another model after a 429, a 5xx or no connection, as
    long as nothing has been relayed yet; a probe that a reasoning model refused is answered
    all the same (answers_probe). Each provider call's batches go through one StreamTranslator
    (translate) to a sink, the HTTP layer's JSON or SSE writer:

        streams              whether the client reads a stream (keep-alive events while the
                             provider is silent; the head goes out with the first events)
        committed            whether the answer has begun: then no fallback, no error status
        start()              the answer is a 200 from here on
        events(events)       Anthropic events (EscapedDeltas among them)
        end(events)          the last events: the answer is complete
        fail(error, events)  after start: the answer ends with these events and an error event

    Before every read it checks the clocks that end a request however busy its provider is:
    REQUEST_DEADLINE from the request's start and the end of the shutdown grace (shutting_down);
    while waiting, twice a second, that the client is still there (client_gone) and REQUEST_TIMEOUT
    of provider silence. The request's log line fields (routed model, path, fallbacks, mode,
    time to first token, tokens) are kept in `fields`. A ProxyError raised before the answer began is the client's answer. The
    request's MAX_CONCURRENCY slot (`lease`) is the exchange's to give back, and `settled` (the
    usage book's record) is called once the fields are final, before the answer's last write.
    """

    def __init__(self, config: Config, sink, *, fields: dict | None = None, lease: Lease | None = None,
                 started_at: float | None = None, client_gone=lambda: False, shutting_down=lambda: False,
                 settled=None):
        self.config, self.sink, self.lease, self.settled = config, sink, lease, settled
        self.fields = {} if fields is None else fields
        self.deadline = (time.monotonic() if started_at is None else started_at) + config.request_deadline
        self.started_at = time.monotonic() if started_at is None else started_at
        self.client_gone, self.shutting_down = client_gone, shutting_down
        self.started = False
        self.vision_tried, self.vision_cost = False, 0.0  # images described for a model without vision (described)
        self.told = None  # every event emitted, while a web search may need the answer so far (search_turn)

    def run(self, attempts):
        try:
            self.attempt_all(iter(attempts))
        finally:
            self.release()

    def release(self):
        """Give back the request's share of its MAX_CONCURRENCY slot and settle its usage, once:
        before the answer's last write, so a client that sends its next request at once finds the
        slot free, and a status line that asks as the answer ends finds it counted."""
        lease, self.lease = self.lease, None
        if lease is not None:
            lease.release()
        settled, self.settled = self.settled, None
        if settled is not None:
            settled()

    def attempt_all(self, attempts):
        attempt = next(attempts)
        while True:
            translator = attempt.path.translator(attempt)
            if attempt.undescribed and not self.vision_tried:
                attempt = self.described(attempt, translator)
            error = self.relay(attempt, attempt.path.open(attempt, self.sink.streams, self.lease, self.config), translator)
            if error is None:
                return
            if self.started:  # a batch was relayed: another model's answer cannot follow it
                raise error
            fallback = self.fallback(error, attempts)
            if fallback is not None:
                attempt = fallback
                continue
            if not answers_probe(error, attempt):
                raise error
            self.relay(attempt, *probe_answer(attempt))
            return

    def relay(self, attempt: Attempt, call, translator: StreamTranslator | None = None) -> ProxyError | None:
        """Relay one provider call to the sink (through `translator`, which may have sent
        keep-alive events already): None once the answer is complete (or ended with an error
        event), else the error the call failed with before the answer began. When the request
        offers web search, the searches a call asks for run at its end and another call goes on
        with the answer (search_turn), through the same translator."""
        self.fields["via"] = attempt.path.name
        search = WebSearch(attempt.search, self.config) if attempt.search else None
        translator = translator or attempt.path.translator(attempt)
        self.told = [] if search else None
        try:
            while True:
                try:
                    batch = self.next_batch(call, translator)
                except ClientGone:
                    raise
                except Exception as exc:
                    return self.failed(exc, attempt, translator)
                if search is not None and batch.end:
                    self.deliver(batch._replace(end=False), attempt, translator)
                    try:
                        attempt, following, stop_reason = self.search_turn(attempt, search, translator)
                    except ProxyError as exc:  # the deadline while searching, or a continuation that cannot be sent
                        return self.failed(exc, attempt, translator)
                    if following is not None:
                        call.close()
                        call = following
                        continue
                    self.finish(translator.finish(stop_reason), attempt, translator.usage)
                    return None
                if self.deliver(batch, attempt, translator):
                    return None
                if search is None and RELAY.takes(call, self.sink) and RELAY.carry(Carried(self, call, attempt, translator)):
                    return None  # the relay loop relayed the rest (a turn that may search stays: search_turn)
        finally:
            call.close()

    def described(self, attempt: Attempt, translator: StreamTranslator) -> Attempt:
        """The attempt again, with the images its model cannot take described by VISION_MODEL
        (vision_target), each once and cached by its hash (DESCRIPTIONS), so the model keeps the
        turn. The vision calls are waited on as the answer's own call is (next_batch: keep-alive
        on `translator`, the deadline, the client's departure, the shutdown). When one fails, it
        and the images after it keep their note, with one warning; the deadline, the shutdown and
        the client's departure end the request as they would in the answer's call."""
        self.vision_tried = True
        target, described = vision_target(self.config), 0
        for key, image in attempt.undescribed:
            try:
                DESCRIPTIONS.put(key, self.description(image, target, attempt.caller, translator))
                described += 1
            except ClientGone:
                raise
            except Exception as exc:
                error = map_provider_error(exc, _litellm_module)
                if error.final:
                    raise error
                log.warning("VISION_MODEL %s could not describe an image for %s: %s; the image is left out, with a note",
                            target, attempt.target, redact(error.message, self.config.env))
                break
        self.fields["described"] = described
        return checked_attempt(prepare_attempt(attempt.body, attempt.target, self.config, attempt.caller),
                               attempt.body, self.config)

    def description(self, image: dict, target: str, caller: Caller, translator: StreamTranslator) -> str:
        """VISION_MODEL's description of one image (description_request), its cost noted for the
        request's log line. Raises what its call fails with, or a ProxyError for an answer without text."""
        body = description_request(image, target)
        vision = checked_attempt(prepare_attempt(body, target, self.config, caller), body, self.config)
        call, reader, events = vision.path.open(vision, False, self.lease, self.config), vision.path.translator(vision), []
        try:
            while True:
                batch = self.next_batch(call, translator)
                events += translate(reader, batch.items)
                if batch.end:
                    break
        finally:
            call.close()
        answer = fold_events(events + reader.finish())
        prices = model_prices(target, vision.facts, self.config)
        if prices is not None:
            self.vision_cost += cost_of(anthropic_usage(answer.get("usage") or {}), 0, prices)
        text = "\n".join(b["text"] for b in answer["content"] if b["type"] == "text").strip()
        if not text:
            raise ProxyError(502, "its answer held no text")
        return description_text(text, target)

    def deliver(self, batch: Batch, attempt: Attempt, translator: StreamTranslator) -> bool:
        """One batch translated to the sink: True once the answer is complete."""
        items = batch.items
        if not self.started:
            self.start()
            if self.sink.streams and len(items) > 1:  # the head and message_start go out before a burst is translated
                self.emit(translate(translator, items[:1]))
                items = items[1:]
        events = translate(translator, items)
        if batch.end or translator.cut:
            self.finish(events + translator.finish(), attempt, translator.usage)
            return True
        self.emit(events)
        return False

    def search_turn(self, attempt: Attempt, search: WebSearch, translator: StreamTranslator) -> tuple:
        """After a provider call of a request that offers web search: the searches it asked for
        (its server_tool_use blocks), one after the other, each answered with a web_search_tool_result;
        then (the attempt, its call, None) for the call that continues the turn with the results, or
        (attempt, None, stop reason) when the turn is over: it asked for no search, or also called
        the client's tools (then tool_use), or only for searches beyond max_uses (then pause_turn,
        Anthropic's stop reason for a turn its own search loop stopped)."""
        self.emit(translator.end_call())
        content = fold_events(plain_events(self.told))["content"]
        answered = {block.get("tool_use_id") for block in content if block["type"] == "web_search_tool_result"}
        calls = [block for block in content if block["type"] == "server_tool_use" and block["id"] not in answered]
        ran = False
        for block in calls:
            code = search.refusal(block)
            ran = ran or code != "max_uses_exceeded"
            result = {"type": "web_search_tool_result", "tool_use_id": block["id"],
                      "content": search_error(code) if code else self.search(search, block["input"]["query"], translator)}
            self.emit(translator.block(result))
            content.append(result)
        translator.searches = self.fields["searches"] = search.done
        if not calls or translator.used_tools:
            return attempt, None, None
        if not ran:
            return attempt, None, "pause_turn"
        body = continued_body(attempt.body, content, search.exhausted)
        prepared = dataclasses.replace(prepare_attempt(body, attempt.target, self.config, attempt.caller), path=attempt.path)
        following = checked_attempt(prepared, body, self.config)  # the same path as the turn's first call
        translator.next_call(following.input_tokens)
        return following, following.path.open(following, self.sink.streams, self.lease, self.config), None

    def search(self, search: WebSearch, query: str, translator: StreamTranslator):
        """One search, waited on as a provider call is (next_batch: keep-alives, the clocks, the
        client): its results, or an error content when it failed (the answer still comes)."""
        call = search.open(query, self.lease)
        try:
            return search.results(self.next_batch(call, translator).items[0])
        except ClientGone:
            raise
        except Exception as exc:
            if isinstance(exc, ProxyError) and exc.final:  # the request's deadline or the shutdown: it ends
                raise
            return search.failure(exc)
        finally:
            call.close()

    def next_batch(self, call, translator: StreamTranslator) -> Batch:
        """The provider call's next batch. While it is silent: keep-alive events every
        KEEPALIVE_SECONDS (on a stream), and the checks. Raises ClientGone, or a ProxyError for
        silence past REQUEST_TIMEOUT, the REQUEST_DEADLINE, or the end of the shutdown grace."""
        config = self.config
        quiet = Silence(time.monotonic())
        while True:
            now = self.check_clocks()
            batch = call.read(min(0.5, config.keepalive_seconds, config.request_timeout, self.deadline - now))
            if batch is not None:
                return batch
            self.silent(quiet, translator)

    def check_clocks(self) -> float:
        """Before every read (a provider that never pauses must stop too): the REQUEST_DEADLINE
        and the end of the shutdown grace, as a final ProxyError. Returns the time now."""
        now = time.monotonic()
        if now >= self.deadline:
            raise final(ProxyError(504, f"The request took longer than {self.config.request_deadline:g} s (REQUEST_DEADLINE)."))
        if self.shutting_down():
            raise final(ProxyError(529, "The proxy is shutting down; retry shortly."))
        return now

    def silent(self, quiet: Silence, translator: StreamTranslator):
        """A wait for the provider that brought nothing: whether the client is still there,
        REQUEST_TIMEOUT since the last batch, a keep-alive event every KEEPALIVE_SECONDS."""
        config = self.config
        if self.client_gone():
            raise ClientGone()
        now = time.monotonic()
        if now - quiet.last_batch >= config.request_timeout:
            raise ProxyError(504, f"The provider sent nothing for {config.request_timeout:g} s (REQUEST_TIMEOUT).")
        if now - quiet.since >= config.keepalive_seconds and self.sink.streams:
            quiet.since = now
            events = translator.keepalive()
            if events and not self.started:  # none before a relayed stream's message_start
                self.start()
            self.emit(events)

    def failed(self, exc: BaseException, attempt: Attempt, translator: StreamTranslator) -> ProxyError | None:
        """A failed call: its error when the answer has not begun, else the error event."""
        error = self.client_error(exc, attempt)
        if not self.sink.committed:
            return error
        log.debug("stream from %s failed", attempt.target, exc_info=exc)
        self.fields["error_event"] = f"{error.error_type}: {error.message}"
        self.sink.fail(error, translator.feed({}))
        return None

    def client_error(self, exc: BaseException, attempt: Attempt) -> ProxyError:
        """A provider failure as the client sees it: typed, keys blanked, a context overflow in
        the words Claude Code recovers from, and a refusal (400) naming the model and path,
        with the provider's own words, which name the field."""
        error = map_provider_error(exc, _litellm_module)
        error.message = redact(error.message, self.config.env)
        if error.context_overflow:
            log.info("provider reports a context overflow: %s", error.message)
            error.message = context_overflow(attempt.input_tokens, attempt.params["max_tokens"], attempt.window) or (
                f"prompt is too long: {attempt.input_tokens} tokens > {attempt.window or attempt.input_tokens} maximum")
        elif error.status == 400 and not isinstance(exc, ProxyError):  # the provider's own refusal: say whose, and the way out
            error.message = (f"The provider refused the request for {attempt.target} ({attempt.path.name} path): "
                             f"{error.message} -- if every turn now fails the same way, see \"A provider refuses a request\" "
                             "in the proxy's README (Troubleshooting)")
        return error

    def fallback(self, error: ProxyError, attempts) -> Attempt | None:
        """The next attempt when an error is worth another model (rate limit, provider
        failure, unreachable), or None."""
        if error.status not in RETRYABLE or error.context_overflow or error.final:
            return None
        attempt = next(attempts, None)
        if attempt is not None:
            log.info("%s %s; falling back to %s", error.status, error.error_type, attempt.target)
            self.fields.setdefault("fallbacks", []).append(f"{attempt.target} after {error.status}")
            self.fields["served_by"] = attempt.target  # its answer's usage is its model's (UsageBook)
        return attempt

    def start(self):
        self.started = True
        self.fields["mode"] = "stream" if self.sink.streams else "json"
        self.sink.start()

    def emit(self, events: list):
        if events:
            if self.told is not None:
                self.told += events
            if "ttft_ms" not in self.fields and self.sink.streams:
                self.note_first_token(events)
            self.sink.events(events)

    def finish(self, events: list, attempt: Attempt, provider_usage=None):
        if "ttft_ms" not in self.fields and self.sink.streams:
            self.note_first_token(events)
        for name, data in events:
            if name == "message_delta":
                self.note_usage(data.usage if type(data) is Relayed else data["usage"], attempt, provider_usage)
            elif name == "message":  # a relayed JSON answer
                self.note_usage(anthropic_usage(data.get("usage") or {}), attempt, provider_usage)
            elif name == "error":  # a relayed stream's error event, or the end of one cut short
                error = data.error if type(data) is Relayed else data["error"]
                self.fields["error_event"] = f"{error.get('type')}: {error.get('message')}"
                if type(data) is Relayed and data.usage:
                    self.note_usage(data.usage, attempt, provider_usage)
        self.release()
        self.sink.end(events)

    def note_usage(self, usage: dict, attempt: Attempt, provider_usage):
        """The answer's tokens and, at the routed model's prices (model_prices), its cost, once,
        into the log line's fields. A model without a price is named once, with the fix."""
        fields = self.fields
        fields.update(input_tokens=usage["input_tokens"] + usage["cache_read_input_tokens"]
                      + usage["cache_creation_input_tokens"], output_tokens=usage["output_tokens"],
                      cached_tokens=usage["cache_read_input_tokens"])
        prices = model_prices(attempt.target, attempt.facts, self.config)
        if prices is not None:
            reasoning = usage_count(provider_usage, REASONING_TOKEN_FIELDS) if isinstance(provider_usage, dict) else 0
            fields["cost_usd"] = round(cost_of(usage, reasoning, prices) + self.vision_cost, 8)
        elif self.vision_cost:  # the descriptions were paid for all the same: their cost is what is known
            fields.update(cost_usd=round(self.vision_cost, 8), unpriced=True)
        if prices is None and attempt.target not in _told_no_price:
            _told_no_price.add(attempt.target)
            log.warning("litellm's model map has no price for %s: its requests show no cost; set MODEL_PRICES="
                        "%s=IN/OUT (USD per million input and output tokens)", attempt.target, attempt.target)

    def note_first_token(self, events: list):
        for name, data in events:
            if (name == "relayed" and b"content_block_delta" in data.frames) or name == "content_block_delta" and (
                    type(data) is EscapedDeltas or any(data["delta"].get(field) for field in ("text", "thinking", "partial_json"))):
                self.fields["ttft_ms"] = round((time.monotonic() - self.started_at) * 1000)
                return

# ----------------------------------------------------------------------------------------
# HTTP: the sinks, the handler, the server
# ----------------------------------------------------------------------------------------


def request_line(fields: dict) -> str:
    """The text of a request's log line. Example: "POST /v1/messages?beta=true 200
    claude-opus-4-8 -> openai/gpt-4.1 stream via=direct in=5210 out=87 cached=4096 cost=$0.0050 ttft=412ms 1630ms";
    a subagent's request says "subagent" after its route, and "described=N" after its path when
    VISION_MODEL described N images for it."""
    parts = [fields.get("method") or "-", fields.get("path") or "-", str(fields.get("status") or "-")]
    if "model" in fields:
        parts.append(f"{fields['model']} -> {fields.get('target')}")
    if fields.get("subagent"):
        parts.append("subagent")
    parts += [f"(fallback {fallback})" for fallback in fields.get("fallbacks", ())]
    if "mode" in fields:
        parts.append(fields["mode"])
    if "via" in fields:
        parts.append(f"via={fields['via']}")
    if fields.get("described"):
        parts.append(f"described={fields['described']}")
    if "searches" in fields:
        parts.append(f"searches={fields['searches']}")
    if "output_tokens" in fields:
        parts.append(f"in={fields['input_tokens']} out={fields['output_tokens']}")
        if fields.get("cached_tokens"):
            parts.append(f"cached={fields['cached_tokens']}")
    if "cost_usd" in fields:
        parts.append(f"cost={dollars(fields['cost_usd'])}")
    if "ttft_ms" in fields:
        parts.append(f"ttft={fields['ttft_ms']}ms")
    parts.append(f"{fields.get('ms', 0)}ms")
    if fields.get("client_gone"):
        parts.append("client gone")
    for key in ("error", "error_event"):
        if key in fields:
            parts.append(("error event " if key == "error_event" else "") + fields[key])
    return " ".join(parts)


def dollars(amount: float) -> str:
    """An amount in USD, to four decimals, six below a hundredth of a cent. Example: 0.0123 ->
    "$0.0123"; 0.0000321 -> "$0.000032"; 0 -> "$0.0000"."""
    return f"${amount:.4f}" if amount >= 0.0001 or amount == 0 else f"${amount:.6f}"


def request_log_level(fields: dict, command: str, path: str) -> int:
    """A request line's level: WARNING when it is worth a look (the provider failed, or keys or
    limits need attention), DEBUG for the probes Claude Code sends often, else INFO."""
    status = fields.get("status")
    if "error_event" in fields or (status or 0) >= 500 or status in (401, 403, 429):
        return logging.WARNING
    if command == "HEAD" or path.startswith("/v1/models") or path in ("/", "/api/hello"):
        return logging.DEBUG
    return logging.INFO


# What a text log line must not hold raw: C0 and C1 control characters (line breaks, ESC, DEL ...)
# and the Unicode line and paragraph separators. Each is shown escaped, as Python writes it.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

CONTROL_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def log_safe(text: str) -> str:
    """Text for one log line, every control character escaped, so that a value from a client
    or a provider (a model name, a path, an error message) cannot start a forged line or
    drive a terminal. Example: "m" LF "2099-01-01 CRITICAL x" ESC "[2J" -> the one line
    m\\n2099-01-01 CRITICAL x\\x1b[2J (a backslash and n, a backslash and x1b)."""
    if CONTROL.search(text) is None:
        return text
    return CONTROL.sub(lambda m: CONTROL_NAMES.get(m.group()) or repr(m.group())[1:-1], text)


class TextLogFormatter(logging.Formatter):
    """LOG_FORMAT=text: the message on one line, control characters escaped (log_safe); an
    exception's traceback follows on lines of its own, each indented, so that no line but a
    record's first can begin at the margin where a timestamp would."""

    def format(self, record):
        record.message = log_safe(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for extra in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if extra:
                text += "".join("\n    " + log_safe(line) for line in extra.splitlines())
        return text


class JsonLogFormatter(logging.Formatter):
    """LOG_FORMAT=json: one JSON object per line, with a request line's fields as keys."""

    def format(self, record):
        out = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname.lower(),
               "logger": record.name, "message": record.getMessage()}
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:  # the redacted text the log filter prepared, never a fresh one
            out["exception"] = REDACTOR.blank(record.exc_text or self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


class JsonAnswer:
    """The sink for a request without `stream` (see Exchange): the events folded into one
    message (fold_events), sent as one JSON answer at the end."""

    streams = False

    def __init__(self, handler: Handler):
        self.handler, self.collected, self.committed = handler, [], False

    def start(self):
        pass

    def events(self, events: list):
        self.collected += events

    def end(self, events: list):
        message = fold_events(plain_events(self.collected + events))
        secrets = self.handler.server.secrets
        if secrets:  # a provider's answer that quotes its key (or another configured secret)
            message = blank_secrets(message, secrets)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("response body: %s", json.dumps(message, ensure_ascii=False)[:20000])
        self.committed = True
        self.handler.send_json(200, message)

    def fail(self, error: ProxyError, events: list):
        raise error  # never called: nothing is sent before the end


class SseAnswer:
    """The sink for a streamed request (see Exchange): SSE events in HTTP/1.1 chunked coding
    (for an HTTP/1.0 client, a body that ends with the connection). The head waits for the
    first events, to go out in the same write; the last events go with the end of the body."""

    streams = True

    def __init__(self, handler: Handler):
        self.handler, self.committed, self.head, self.chunked = handler, False, b"", True
        self.carried = False  # the relay loop writes: without waiting, what the client cannot take yet kept in unsent
        self.unsent = b""

    def carry(self, on: bool):
        """The relay loop takes the stream (on) or gives it back: writes then do not wait (the
        socket's timeout is 0), and what the client's connection cannot take at once is kept
        in `unsent`; given back, that goes out first, with the connection's own timeout."""
        connection = self.handler.connection
        self.carried = on
        try:
            connection.settimeout(0 if on else self.handler.config.client_timeout)
        except OSError as exc:
            raise ClientGone() from exc
        if not on and self.unsent:
            data, self.unsent = self.unsent, b""
            self.send(data)

    def start(self):
        handler = self.handler
        self.chunked = handler.request_version == "HTTP/1.1"
        fields = [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache")]
        if self.chunked:
            fields.append(("Transfer-Encoding", "chunked"))
        else:  # the end of the stream is the end of the connection
            handler.close_connection = True
            fields.append(("Connection", "close"))
        fields.append(("request-id", handler.request_id))
        self.head, self.committed, handler.status = handler.answer_head(200, fields), True, 200

    def events(self, events: list):
        if events:
            self.write(sse_frames(events), False)

    def end(self, events: list):
        self.write(sse_frames(events), True)

    def fail(self, error: ProxyError, events: list):
        self.end(events + [("error", error.body())])

    def write(self, data: bytes, last: bool):
        # A provider's text that quotes its key (or another configured secret) is blanked here, in
        # the bytes, where a search costs a C call per secret and write; nothing is decoded per event.
        # A secret split across two events (a model writing a key token by token) is not caught.
        for secret in self.handler.server.answer_secrets:
            if secret in data:
                data = data.replace(secret, b"***")
        if self.chunked:
            data = (b"%x\r\n%s\r\n" % (len(data), data) if data else b"") + (b"0\r\n\r\n" if last else b"")
        if self.head:
            data, self.head = self.head + data, b""
        if self.carried:
            if not self.unsent:
                try:
                    data = data[self.handler.connection.send(data):]
                except BlockingIOError:
                    pass
                except OSError as exc:
                    raise ClientGone() from exc
            self.unsent += data
            return
        self.send(data)

    def send(self, data: bytes):
        try:
            self.handler.wfile.write(data)
        except OSError as exc:
            raise ClientGone() from exc


def model_entry(model_id: str, display: str, tier: str | None, config: Config) -> dict:
    """A GET /v1/models entry: a Claude-style id, and in its display name where it goes."""
    target = tier_target(tier, config) if tier else model_id
    return {"type": "model", "id": model_id, "display_name": f"{display} (via {target})", "created_at": MODEL_CREATED_AT}


def picker_entry(target: str, variables: list) -> dict:
    """A GET /v1/models entry for an offered target: its picker id, and in its display name the
    target and the settings that name it. Example: "groq/llama-3.1-8b-instant", ["SMALL_MODEL"] ->
    {"id": "claude-via-groq--llama-3.1-8b-instant", "display_name": "groq/llama-3.1-8b-instant (SMALL_MODEL)", ...}."""
    return {"type": "model", "id": picker_id(target), "display_name": f"{target} ({', '.join(variables)})",
            "created_at": MODEL_CREATED_AT}


def listed_models(config: Config) -> list:
    """GET /v1/models: the Claude ids of MODEL_LIST (routed by tier), then every offered target."""
    return ([model_entry(i, d, t, config) for i, d, t in MODEL_LIST]
            + [picker_entry(target, variables) for target, variables in offered_targets(config, provider_names()).items()])


def model_by_id(model_id: str, config: Config) -> dict:
    """GET /v1/models/{id}: a listed id, a picker id, or any Claude-style id (routed by its tier); else a 404."""
    for known, display, tier in MODEL_LIST:
        if known == model_id:
            return model_entry(known, display, tier, config)
    if model_id.startswith(PICKER_PREFIX):  # only the offered targets are listed under their picker ids
        offered = offered_targets(config, provider_names())
        picked = picked_target(WINDOW_SUFFIX.sub("", model_id), config, provider_names())
        if picked in offered:
            return picker_entry(picked, offered[picked])
        raise ProxyError(404, f"Model {model_id!r} not found.")
    lowered = model_id.lower()
    if not lowered.startswith("claude"):
        raise ProxyError(404, f"Model {model_id!r} not found.")
    return model_entry(model_id, model_id, "small" if "haiku" in lowered else "big", config)


def models_page(entries: list, query: dict) -> dict:
    """One page of GET /v1/models, paged as Anthropic pages it (after_id, before_id, limit)."""
    ids = [e["id"] for e in entries]
    after, before = query.get("after_id", [None])[0], query.get("before_id", [None])[0]
    if after in ids:
        entries = entries[ids.index(after) + 1:]
    elif before in ids:
        entries = entries[:ids.index(before)]
    try:
        limit = max(1, min(1000, int(query.get("limit", ["20"])[0])))
    except ValueError:
        raise invalid("limit: must be an integer.") from None
    page = entries[-limit:] if before in ids and after not in ids else entries[:limit]
    return {"data": page, "has_more": len(page) < len(entries),
            "first_id": page[0]["id"] if page else None, "last_id": page[-1]["id"] if page else None}


MAX_SESSIONS = 1000  # sessions UsageBook keeps; the one seen longest ago goes first

MAX_SESSION_MODELS = 50  # routed models counted per session; more are counted as "other"


def utc_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class UsageBook:
    """What the proxy has served since it started, in memory, for GET /proxy/usage and the line
    at shutdown: totals, and per Claude Code session (Caller.session) its requests, input
    tokens (those not read from a prompt cache), cached and output tokens, cost, routed models
    and when it was first and last seen. At most MAX_SESSIONS sessions are kept. Only answered
    requests count. With USAGE_LOG, each is also appended there as one JSON line (its models,
    tokens and cost: never a key or a prompt). Thread-safe: handlers record from their threads.

    Example: record({"model": "claude-opus-4-8", "target": "openai/gpt-4.1", "input_tokens": 5000,
    "cached_tokens": 4096, "output_tokens": 80, "cost_usd": 0.0043}, Caller("s1")) ->
    snapshot()["sessions"]["s1"]["cached_tokens"] == 4096."""

    COUNTS = ("requests", "input_tokens", "cached_tokens", "output_tokens", "cost_usd", "unpriced_requests")

    def __init__(self, path: str = "", limit: int = MAX_SESSIONS):
        self.path, self.limit = path, limit
        self.lock = threading.Lock()
        self.started = time.time()
        self.totals = dict.fromkeys(self.COUNTS, 0)
        self.sessions: dict = {}  # session id -> its counts, in the order last seen
        self.log_failed = False

    def record(self, fields: dict, caller: Caller):
        if "output_tokens" not in fields:
            return  # no answer: nothing was spent, or nothing is known of it
        now = time.time()
        cached = fields.get("cached_tokens", 0)
        counts = {"requests": 1, "input_tokens": fields["input_tokens"] - cached, "cached_tokens": cached,
                  "output_tokens": fields["output_tokens"], "cost_usd": fields.get("cost_usd", 0),
                  "unpriced_requests": int("cost_usd" not in fields or "unpriced" in fields)}
        target = fields.get("served_by") or fields.get("target") or "-"  # a fallback's answer is its model's
        with self.lock:
            session = self.sessions.pop(caller.session, None)
            if session is None:
                session = dict(dict.fromkeys(self.COUNTS, 0), subagent_requests=0, models={}, first_seen=utc_time(now))
                if len(self.sessions) >= self.limit:
                    del self.sessions[next(iter(self.sessions))]
            self.sessions[caller.session] = session
            for name, value in counts.items():
                self.totals[name] += value
                session[name] += value
            session["subagent_requests"] += caller.subagent
            models = session["models"]
            key = target if target in models or len(models) < MAX_SESSION_MODELS else "other"
            models[key] = models.get(key, 0) + 1
            session["last_seen"] = utc_time(now)
        if self.path:
            self.append({"time": utc_time(now), "session": caller.session, "subagent": caller.subagent,
                         "model": fields.get("model"), "target": target, "via": fields.get("via"),
                         **{name: counts[name] for name in ("input_tokens", "cached_tokens", "output_tokens")},
                         "cost_usd": fields.get("cost_usd")})

    def append(self, entry: dict):
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        try:
            with self.lock, open(self.path, "a", encoding="utf-8") as handle:  # opened each time: a rotated file is followed
                handle.write(line)
        except OSError as exc:
            if not self.log_failed:
                self.log_failed = True
                log.warning("cannot write USAGE_LOG %s: %s", self.path, exc.strerror or exc)

    def snapshot(self, only: str | None = None) -> dict:
        """GET /proxy/usage's answer; with `only`, of that session alone (none if it has not been seen).
        Example: {"since": "2026-12-01T12:00:00Z", "totals": {"requests": 3, ...}, "sessions": {"s1":
        {"requests": 3, ..., "models": {"openai/gpt-4.1": 3}, "first_seen": ...}}}."""
        with self.lock:
            sessions = {session or "(none)": dict(counts, models=dict(counts["models"]),
                                                  cost_usd=round(counts["cost_usd"], 6))
                        for session, counts in self.sessions.items() if only is None or session == only}
            totals = dict(self.totals, cost_usd=round(self.totals["cost_usd"], 6), sessions=len(self.sessions))
        return {"since": utc_time(self.started), "totals": totals, "sessions": sessions}

    def summary(self) -> str:
        """The line at shutdown. Example: "served 12 request(s) in 2 session(s): input 20210, cached
        180224, output 3120 tokens, cost $0.2321"."""
        totals = self.snapshot()["totals"]
        unpriced = f" (and {totals['unpriced_requests']} without a price)" if totals["unpriced_requests"] else ""
        return (f"served {totals['requests']} request(s) in {totals['sessions']} session(s): input {totals['input_tokens']}, "
                f"cached {totals['cached_tokens']}, output {totals['output_tokens']} tokens, "
                f"cost {dollars(totals['cost_usd'])}{unpriced}")


class UsageChannel:
    """A worker process's UsageBook (WORKERS above 1): each answered request goes, as one JSON
    line, to the parent process over the socket it gave the worker, into the one UsageBook the
    parent keeps (and the parent writes USAGE_LOG); GET /proxy/usage asks the parent for that
    book's snapshot, the sum over every worker. Lines go one way in order, so a worker's own
    requests are in the snapshot it gets. See serve_workers and serve_channel."""

    def __init__(self, sock):
        self.sock, self.reader = sock, sock.makefile("rb")
        self.send_lock, self.ask_lock = threading.Lock(), threading.Lock()

    def send(self, message: dict):
        line = (json.dumps(message, ensure_ascii=False, default=str) + "\n").encode("utf-8", "replace")
        with self.send_lock:
            self.sock.sendall(line)

    def record(self, fields: dict, caller: Caller):
        if "output_tokens" not in fields:
            return  # as UsageBook: no answer, nothing spent
        try:
            self.send({"record": fields, "caller": list(caller)})
        except OSError as exc:
            log.warning("cannot report usage to the parent process: %s", exc)

    def snapshot(self, only: str | None = None) -> dict:
        with self.ask_lock:
            self.send({"snapshot": True, "only": only})
            line = self.reader.readline()
        if not line:
            raise ProxyError(500, "The proxy's parent process is gone; usage is not available.")
        return json.loads(line)


def serve_channel(sock, book: UsageBook, ready: threading.Event):
    """The parent's end of a worker's UsageChannel, until the worker closes it: its requests
    into `book`, its snapshot questions answered from it; `ready` once the worker listens."""
    with sock, sock.makefile("rb") as reader:
        for line in reader:
            message = json.loads(line)
            if "record" in message:
                book.record(message["record"], Caller(*message["caller"]))
            elif "snapshot" in message:
                sock.sendall(json.dumps(book.snapshot(message.get("only")), ensure_ascii=False).encode("utf-8") + b"\n")
            elif "ready" in message:
                ready.set()


# (method, path) -> the handler's handle_<name> method; GET/HEAD /v1/models/{id} is "model".
ROUTES = {
    ("GET", "/"): "health", ("HEAD", "/"): "health",
    ("GET", "/health"): "health", ("HEAD", "/health"): "health",
    ("HEAD", "/api/hello"): "health", ("GET", "/api/hello"): "health",  # Claude Code's connectivity check
    ("POST", "/v1/messages"): "messages",
    ("POST", "/v1/messages/count_tokens"): "count_tokens",
    ("GET", "/v1/models"): "models", ("HEAD", "/v1/models"): "models",
    ("GET", "/proxy/usage"): "usage",
}


class Handler(http.server.BaseHTTPRequestHandler):
    """HTTP only: parse, authenticate, dispatch, read the body, hand /v1/messages over to an
    Exchange with a JSON or SSE sink, write, and log one line per request."""

    protocol_version = "HTTP/1.1"
    server_version = "claude_proxy"
    sys_version = ""

    @property
    def timeout(self):  # the stdlib sets it on each connection: a silent client cannot pin a thread
        return self.server.config.client_timeout

    request_id = ""
    status = None
    fields: dict = {}  # what the request's log line says: models, tokens, timings, error

    # -- plumbing ----------------------------------------------------------------------

    @property
    def config(self) -> Config:
        return self.server.config

    def setup(self):
        super().setup()
        # Headers and body go out as separate small writes; with Nagle's algorithm the body
        # then waits for the client's delayed ACK, about 40 ms on every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile.close()  # the stdlib's socket file, replaced by one whose reads keep each request's deadline
        self.reader = ClientReader(self.connection, self.config.client_timeout)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self):
        """The stdlib's (it mirrors CPython 3.12's), with one deadline for a request's head and
        body: the wait for its first byte (an idle kept-alive connection) may last CLIENT_TIMEOUT,
        and from that byte on the rest must arrive within CLIENT_TIMEOUT too (ClientReader), else
        408 and the connection closed (_read_json answers for a late body)."""
        self.command, self.request_id, self.status, self.requestline = None, "", None, ""
        self.request_version = self.default_request_version  # nothing of the last request's stays
        self.reader.deadline = None
        try:
            if not self.rfile.peek(1):  # the client closed the connection
                self.close_connection = True
                return
            self.reader.deadline = time.monotonic() + self.config.client_timeout
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline = self.request_version = self.command = ""
                self.send_error(414)
                return
            if not self.parse_request():
                return  # an error was answered
            if not hasattr(self, "do_" + self.command):
                self.send_error(501)
                return
            getattr(self, "do_" + self.command)()
            self.wfile.flush()
        except RequestDeadline:
            try:
                self.send_error(408, late_message(self.config.client_timeout))
            except OSError:
                self.close_connection = True
        except TimeoutError:  # silent between requests, or not reading an answer: the connection goes
            self.close_connection = True

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        log.debug("%s %s", self.address_string(), format % args)

    def log_request(self, code="-", size="-"):
        pass  # one line per request comes from _log_done

    _date = (0, "")  # (second, the Date header's value then), shared by all handlers

    def date_time_string(self, timestamp=None):
        """The Date header's value, formatted once a second."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        second = int(time.time())
        date = Handler._date
        if date[0] != second:
            date = Handler._date = (second, super().date_time_string(second))
        return date[1]

    def parse_request(self):
        """The stdlib's parse_request (request line, version, Connection, Expect), with the
        headers read by read_headers instead of the email parser, a fifth of a request's CPU:
        a copy, since the stdlib has no hook for the header reader (it mirrors CPython 3.12's)."""
        if self.raw_requestline in (b"\r\n", b"\n"):  # one empty line before a request is to be ignored (RFC 9112)
            self.raw_requestline = self.rfile.readline(65537)
        self.command = None
        self.request_version = version = self.default_request_version
        number = (0, 9)
        self.close_connection = True
        requestline = self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if not words:
            return False
        if len(words) >= 3:
            version = words[-1]
            number = http_version(version)
            if number is None:
                self.send_error(400, f"Bad request version ({version!r})")
                return False
            if number >= (1, 1):
                self.close_connection = False
            if number >= (2, 0):
                self.send_error(505, f"Invalid HTTP version ({number[0]}.{number[1]})")
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(400, f"Bad request syntax ({requestline!r})")
            return False
        self.command, self.path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if self.command != "GET":
                self.send_error(400, f"Bad HTTP/0.9 request type ({self.command!r})")
                return False
        if self.path.startswith("//"):  # as the stdlib: never read as a scheme-less absolute URL
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = read_request_head(self.rfile, number)
        except http.client.LineTooLong as err:
            self.send_error(431, "Line too long", str(err))
            return False
        except BadHeader as err:
            self.send_error(400, str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(431, "Too many headers", str(err))
            return False
        connection = (self.headers.get("Connection") or "").lower()
        if connection == "close":
            self.close_connection = True
        elif connection == "keep-alive":
            self.close_connection = False
        expect = self.headers.get("Expect") or ""
        if expect.lower() == "100-continue" and self.request_version >= "HTTP/1.1":
            return self.handle_expect_100()
        return True

    def send_error(self, code, message=None, explain=None):
        """The stdlib's error exit (bad request line, oversized headers ...), in Anthropic's shape."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # a garbage request line: still answer with a status line
            self.request_version = "HTTP/1.0"
        if code == 501:  # a method the stdlib has no do_ method for
            code, message = 405, f"Method {self.command} is not allowed."
        text = message or http.server.BaseHTTPRequestHandler.responses.get(code, ("Error",))[0]
        self.send_json(code, ProxyError(code, text).body())

    def answer_head(self, status: int, fields: list) -> bytes:
        """An answer's status line and headers, as send_response and send_header write them
        (Server, Date, then `fields`), in one piece."""
        lines = [f"{self.protocol_version} {status} {self.responses.get(status, ('',))[0]}",
                 f"Server: {self.version_string()}", f"Date: {self.date_time_string()}"]
        lines += [f"{name}: {value}" for name, value in fields]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def send_json(self, status: int, obj: dict, headers: dict | None = None):
        data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
        fields = [("Content-Type", "application/json"), ("Content-Length", len(data))]
        if self.request_id:
            fields.append(("request-id", self.request_id))
        fields += (headers or {}).items()
        if self.close_connection:
            fields.append(("Connection", "close"))
        head = self.answer_head(status, fields)
        self.wfile.write(head if self.command == "HEAD" else head + data)  # headers and body in one write
        self.status = status

    def _send_error(self, error: ProxyError):
        error.message = redact(error.message, self.config.env)
        self.fields["error"] = f"{error.error_type}: {error.message}"
        self.send_json(error.status, error.body(), error.headers)

    def handle_expect_100(self):
        """Refuse an oversized body before the client sends it, rather than after "100 Continue"."""
        try:
            body_size(self.headers, self.config.max_body_bytes)
        except ProxyError as refusal:
            self.close_connection = True
            self.send_error(refusal.status, refusal.message)
            return False
        return super().handle_expect_100()

    def _read_json(self) -> dict:
        self.body_read = True  # from here on, a failure says whether the connection can go on
        try:
            data = read_body(self.rfile, self.headers, self.config.max_body_bytes)
        except RequestDeadline:
            raise unreadable(ProxyError(408, late_message(self.config.client_timeout))) from None
        return request_json(data)

    # -- dispatch ----------------------------------------------------------------------

    def _dispatch(self):
        self.request_id = "req_%024x" % IDS.getrandbits(96)
        self.status, self.body_read = None, False
        self.started_at = time.monotonic()
        self.fields = {}
        path = urlsplit(self.path).path.rstrip("/") or "/"
        name = ROUTES.get((self.command, path))
        if name is None and path.startswith("/v1/models/") and self.command in ("GET", "HEAD"):
            name = "model"
        has_body = bool(self.headers.get("Transfer-Encoding")) or self.headers.get("Content-Length", "0").strip() not in ("", "0")
        if has_body and (self.command != "POST" or name is None):
            self.close_connection = True  # a body nobody reads would be taken for the next request
        self.server.track(+1)
        try:
            check_browser(self.headers, self.path, self.server.server_address[0], self.config)
            if name is None:
                known = {p for (_, p) in ROUTES} | ({path} if path.startswith("/v1/models/") else set())
                if path in known:
                    raise ProxyError(405, f"Method {self.command} is not allowed for {path}.")
                raise ProxyError(404, f"Not found: {self.command} {path}")
            if path.startswith(("/v1/", "/proxy/")):
                check_client_key(self.headers, self.config.proxy_api_key)
            getattr(self, "handle_" + name)(path)
        except ProxyError as error:
            if (has_body and not self.body_read) or error.close_connection:
                self.close_connection = True
            if self.status is None:
                self._send_error(error)
        except ClientGone:
            self.close_connection = True
            self.fields["client_gone"] = True
        except OSError:
            self.close_connection = True
        except RecursionError:
            if self.status is None:
                self._send_error(invalid("The request is nested too deeply."))
        except Exception:
            log.exception("unexpected error serving %s %s", self.command, self.path)
            self.close_connection = True  # a half-written answer must not be followed by another
            if self.status is None:
                self._send_error(ProxyError(500, "Internal proxy error; see the proxy's log."))
        finally:
            self.server.track(-1)
            self._log_done()

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def _log_done(self):
        """One line per request: what was asked, where it went, what it cost, how long it took."""
        fields = self.fields
        fields.update(method=self.command, path=self.path, status=self.status,
                      ms=round((time.monotonic() - self.started_at) * 1000))
        level = request_log_level(fields, self.command or "", self.path or "")
        if log.isEnabledFor(level):
            log.log(level, request_line(fields), extra={"fields": fields})

    # -- endpoints ---------------------------------------------------------------------

    def handle_health(self, path):
        self.send_json(200, {"status": "ok"})

    def handle_models(self, path):
        self.send_json(200, models_page(listed_models(self.config), parse_qs(urlsplit(self.path).query)))

    def handle_model(self, path):
        self.send_json(200, model_by_id(path[len("/v1/models/"):], self.config))

    def handle_usage(self, path):
        """GET /proxy/usage; ?session=ID answers that session alone, and ?model=M adds where M routes
        now (`route`): what the status line shows."""
        query = parse_qs(urlsplit(self.path).query)
        answer = self.server.usage.snapshot(query["session"][0] if "session" in query else None)
        if "model" in query:
            try:
                # thinking: Claude Code's main loop asks for it (adaptive), so THINK_MODEL is where it goes
                answer["route"] = route_model(query["model"][0], self.config, provider_names(), thinking=True)
            except ProxyError:
                pass  # a model it would refuse: the status line shows the model alone
        self.send_json(200, answer)

    def handle_count_tokens(self, path):
        body = self._read_json()
        validate_request(body, need_max_tokens=False)
        attempt = routed_attempt(body, self.config, caller_of(self.headers, body))
        self.fields.update(model=body["model"], target=attempt.target, **({"subagent": True} if attempt.caller.subagent else {}))
        self.send_json(200, {"input_tokens": attempt.path.counted(attempt, self.config)})

    def handle_messages(self, path):
        body = self._read_json()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("request body: %s", json.dumps(body, ensure_ascii=False)[:20000])
        validate_request(body, need_max_tokens=True)
        server = self.server
        if server.draining.is_set():
            self.close_connection = True
            raise ProxyError(529, "The proxy is shutting down; retry shortly.")
        if not server.slots.acquire():
            raise ProxyError(529, f"The proxy is serving MAX_CONCURRENCY ({self.config.max_concurrency}) requests; retry shortly.")
        sink = SseAnswer(self) if body.get("stream") else JsonAnswer(self)
        caller = caller_of(self.headers, body)
        exchange = Exchange(self.config, sink, fields=self.fields, lease=Lease(server.slots), started_at=self.started_at,
                            client_gone=lambda: client_left(self.connection), shutting_down=server.past_grace,
                            settled=lambda: server.usage.record(self.fields, caller))
        exchange.run(plan_attempts(body, self.config, self.fields, caller))  # gives the slot back, settles the usage


class Server(http.server.ThreadingHTTPServer):
    """The HTTP server, with what handlers share: the request slots, the count of requests
    in flight, the shutdown state, the configured secrets the sinks blank out of answers, and
    the count of open client connections: one more than MAX_CONNECTIONS gets a 529 and is
    closed (refuse), on the accepting thread, which never waits for it.

    An open connection costs a thread (its stack is reserved, 8 MiB of address space on Linux, but
    only what it uses is memory: about 20 KB for an idle one, measured), a file descriptor, and
    while it is served a provider connection (another descriptor); the open-file limit is raised
    for them (raise_file_limit)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = max(socket.SOMAXCONN, 4096)  # the listen backlog: a burst of connections waits, none is dropped
    OVERLOADED = b"HTTP/1.1 529 Overloaded\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"

    def __init__(self, config: Config, *, reuse_port: bool = False, listener=None):
        """reuse_port: bind with SO_REUSEPORT, beside the other workers (serve_workers);
        listener: a listening socket to serve instead of binding one (a pre-forked worker's)."""
        self.config, self.reuse_port = config, reuse_port
        guard_logs(config.env)
        self.secrets, self.answer_secrets = secret_texts(config.env), answer_secrets(config.env)
        self.connections = 0
        self.connections_lock = threading.Lock()
        raise_file_limit(2 * config.max_connections + 64)
        self.slots = Slots(config.max_concurrency)
        self.usage = UsageBook(config.usage_log)
        self.draining = threading.Event()
        self.drain_deadline = float("inf")
        self.active = 0
        self.active_lock = threading.Condition()
        self.address_family = socket.AF_INET6 if ":" in config.host else socket.AF_INET  # --host ::1
        super().__init__((config.host, config.port), Handler, bind_and_activate=listener is None)
        if listener is not None:
            self.socket.close()
            self.socket = listener
            self.server_address = listener.getsockname()
            listener.setblocking(False)

    def server_bind(self):
        if self.reuse_port:  # the kernel spreads the port's connections over the workers' sockets
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that went away mid-answer: nothing to report
        log.error("unexpected error on a connection from %s", client_address[0], exc_info=True)

    ACCEPT_BATCH = 256  # connections taken from the backlog per wake-up of the accepting thread

    def server_activate(self):
        super().server_activate()
        self.socket.setblocking(False)  # accept() in a loop until the backlog is empty (_handle_request_noblock)

    def _handle_request_noblock(self):
        """socketserver's (CPython 3.12's), in a loop: each wake-up of the accepting thread takes
        every connection waiting in the backlog (up to ACCEPT_BATCH), not one. With a thousand
        streams in flight the accepting thread waits for the GIL behind their handlers at each
        wake-up; one connection per wake-up left a burst's connections seconds in the kernel's
        queue. (An accepted socket gets its own timeout in the handler's setup, whatever it inherits.)"""
        for _ in range(self.ACCEPT_BATCH):
            try:
                request, client_address = self.get_request()
            except OSError:  # BlockingIOError: the backlog is empty
                return
            if self.verify_request(request, client_address):
                try:
                    self.process_request(request, client_address)
                except Exception:
                    self.handle_error(request, client_address)
                    self.shutdown_request(request)
                except BaseException:
                    self.shutdown_request(request)
                    raise
            else:
                self.shutdown_request(request)

    def get_request(self):
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE):  # the listening socket stays readable: pause, not spin
                log.warning("out of file descriptors: new connections wait (raise `ulimit -n` or lower MAX_CONNECTIONS)")
                time.sleep(0.05)
            raise

    def process_request(self, request, client_address):
        """A connection on a thread of its own, counted until shutdown_request; beyond
        MAX_CONNECTIONS, or when no thread can start, a 529 (refuse)."""
        with self.connections_lock:
            full = self.connections >= self.config.max_connections
            if not full:
                self.connections += 1
        if full:
            return self.refuse(request, f"The proxy has MAX_CONNECTIONS ({self.config.max_connections}) connections open")
        try:
            super().process_request(request, client_address)
        except RuntimeError:  # "can't start new thread": the system's own limit on threads
            self.forget()
            self.refuse(request, "The proxy cannot start another thread")

    def shutdown_request(self, request):
        self.forget()
        super().shutdown_request(request)

    def forget(self):
        with self.connections_lock:
            self.connections -= 1

    def refuse(self, request, why: str):
        """Answer a connection the proxy cannot serve with a 529 and close it, without waiting:
        what the client sent already is read first (a close with unread bytes would reset the
        connection and could lose the answer), the answer fits the socket's buffer."""
        body = json.dumps(ProxyError(529, f"{why}; retry shortly.").body()).encode()
        try:
            request.setblocking(False)
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while request.recv(65536):
                    pass
            request.send(self.OVERLOADED % (len(body), body))
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        request.close()

    def track(self, change: int):
        with self.active_lock:
            self.active += change
            if self.draining.is_set():  # drain() waits for the count to reach 0
                self.active_lock.notify_all()

    def past_grace(self) -> bool:
        return self.draining.is_set() and time.monotonic() >= self.drain_deadline

    def drain(self, grace: float) -> int:
        """Stop taking requests, give those in flight `grace` seconds, then (streams end
        with an error event within a second) wait a little for them to finish. Returns how
        many were still running at the end."""
        self.drain_deadline = time.monotonic() + grace
        self.draining.set()
        self.socket.close()  # no new connections
        with self.active_lock:
            self.active_lock.wait_for(lambda: self.active == 0, timeout=grace + 3)
            return self.active


def raise_file_limit(wanted: int):
    """Raise the soft limit on open files towards `wanted`, as far as the hard limit allows:
    a common default of 1024 would refuse connections long before MAX_CONNECTIONS. Where there
    is no such limit to raise (Windows), nothing."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError):
            log.debug("could not raise the open-file limit to %d", target, exc_info=True)


def make_server(config: Config, **how) -> Server:
    """A bound, not yet serving, server. Port 0 picks a free port: server.server_address[1].
    `how`: Server's reuse_port or listener, for a worker process."""
    return Server(config, **how)

# ----------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------


ROUTE_VARIABLES = ("BIG_MODEL", "SMALL_MODEL", "MIDDLE_MODEL", "OPUS_MODEL", "THINK_MODEL", "LONG_CONTEXT_MODEL", "VISION_MODEL",
                   "SUBAGENT_MODEL")


def configured_targets(config: Config) -> list:
    """(variable, value) for every model the configuration routes to or offers for picking."""
    values = [config.big_model, config.small_model, config.middle_model, config.opus_model, config.think_model,
              config.long_context_model, config.vision_model, config.subagent_model]
    return ([(n, v) for n, v in zip(ROUTE_VARIABLES, values) if v] + [("FALLBACK_MODELS", m) for m in config.fallback_models]
            + [("EXTRA_MODELS", m) for m in config.extra_models])


def config_problems(config: Config, providers) -> list:
    """What would fail at the first request, found at start: a routed model on a provider
    litellm does not know, or on one whose key is missing. Each names the variable and the fix."""
    problems, reported = [], set()
    if config.preferred_provider not in providers:
        problems.append(f"PREFERRED_PROVIDER={config.preferred_provider} is not a provider litellm knows "
                        "(openai, gemini, groq, moonshot, deepseek, openrouter, anthropic, ollama_chat, ...)")
    for name, value in configured_targets(config):
        target = qualify(value, config, providers)
        prefix = target.partition("/")[0]
        if prefix not in providers:
            continue  # reported above
        needed = provider_for(prefix).key_env
        if needed and not any(config.env.get(k, "").strip() for k in needed) and prefix not in reported:
            reported.add(prefix)
            problems.append(f"{name}={value} routes to {target}, which needs {' or '.join(needed)}: "
                            "set it in the environment or in .env")
    search = search_provider(config.web_search_provider)
    for wanted, names in ((search.needs_key, search.key_env), (search.needs_base, search.base_env)):
        if config.web_search_provider and wanted and not any(config.env.get(k, "").strip() for k in names):
            problems.append(f"WEB_SEARCH_PROVIDER={config.web_search_provider} needs {' or '.join(names)}: "
                            "without it every web search answers 'unavailable'")
    return problems


def banner(config: Config, url: str, env_file: str | None = None, *, windows: bool = False, color: bool = False) -> list:
    """The start-up lines: where the proxy listens, where each kind of request goes, which
    provider keys it has (names only), and the command that connects Claude Code."""
    bold = (lambda text: f"\033[1m{text}\033[0m") if color else (lambda text: text)
    lines = [f"claude_proxy listening on {bold(url)}"]
    if env_file:
        lines.append(f"  variables from {env_file} (the real environment wins)")
    lines.append(f"  haiku -> {config.small_model}; sonnet -> {config.middle_model or config.big_model}; "
                 f"opus -> {config.opus_model or config.big_model}; other Claude names -> {config.big_model}")
    images = "images" if config.vision_mode == "route" else "descriptions of images for models without vision"
    scenarios = [(config.think_model, "thinking"), (config.vision_model, images),
                 (config.long_context_model, f"input over {config.long_context_threshold} tokens"),
                 (config.subagent_model, "subagents")]
    lines += [f"  {what} -> {model}" for model, what in scenarios if model]
    if config.fallback_models:
        lines.append(f"  on 429, 5xx or no connection, fall back to: {', '.join(config.fallback_models)}")
    if config.workers > 1:
        lines.append(f"  {config.workers} worker processes share the port (WORKERS); one log, /proxy/usage sums them")
    lines.append(f"  bare model names get {config.preferred_provider}/")
    lines.append(f"  web searches -> {config.web_search_provider}" if config.web_search_provider else
                 "  web searches: none (WEB_SEARCH_PROVIDER unset: Claude Code's WebSearch answers 'unavailable')")
    lines.append("  provider calls: all through litellm (PROXY_VIA=litellm)" if config.via == "litellm" else
                 "  provider calls: OpenAI-compatible providers direct, the others through litellm")
    keys = sorted(n for n, v in config.env.items() if n.endswith("_API_KEY") and v.strip() and n != "PROXY_API_KEY")
    lines.append(f"  provider keys found: {', '.join(keys) or 'none'}")
    if windows:
        lines.append(f'  connect with: $env:ANTHROPIC_BASE_URL="{url}"; claude   (PowerShell)')
        lines.append(f"            or: set ANTHROPIC_BASE_URL={url} && claude   (cmd)")
    else:
        lines.append(f"  connect with: ANTHROPIC_BASE_URL={url} claude")
    if config.proxy_api_key:
        lines.append("  clients must send PROXY_API_KEY (in Claude Code: ANTHROPIC_API_KEY)")
    host = url.split("//", 1)[1].rsplit(":", 1)[0].strip("[]")
    beyond = not (host.startswith("127.") or host in ("localhost", "::1"))
    if beyond and not config.proxy_api_key:
        lines.append(f"  WARNING: listening on {host}, beyond this machine, without PROXY_API_KEY: anyone who can reach "
                     "it spends your provider keys. Set PROXY_API_KEY, or listen on 127.0.0.1.")
    if config.allowed_hosts:
        lines.append(f"  serves requests addressed to: {', '.join(config.allowed_hosts)} (ALLOWED_HOSTS), "
                     "besides localhost and the listen address")
    elif beyond:
        lines.append("  other machines must call it by a name or address in ALLOWED_HOSTS (e.g. ALLOWED_HOSTS="
                     "mybox.lan,192.168.1.20); any other Host gets 403, so web pages cannot reach it by DNS rebinding")
    if config.allowed_origins:
        lines.append(f"  web pages from {', '.join(config.allowed_origins)} may call it (ALLOWED_ORIGINS)")
    return lines


def setup_logging(config: Config, stream=None, path: str | None = None):
    """Log lines to standard error (or a file), as text or JSON."""
    handler = logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(stream or sys.stderr)
    if config.log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(TextLogFormatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(config.log_level.upper())


def split_command(argv: list) -> tuple:
    """(the proxy's own arguments, the command to launch). Example: ["--port", "9", "--",
    "claude", "-p", "hi"] -> (["--port", "9"], ["claude", "-p", "hi"]); "run claude" too."""
    for i, word in enumerate(argv):
        if word == "--" or (word == "run" and (i == 0 or not argv[i - 1].startswith("--") or "=" in argv[i - 1])):
            return argv[:i], argv[i + 1:]
    return argv, []


def launch(server: Server, command: list) -> int:
    """Run a command (Claude Code) against this proxy and return its exit status. The
    terminal is the command's; the proxy stops when it ends."""
    url = f"http://127.0.0.1:{server.server_address[1]}"
    secrets = secrets_of(server.config.env)  # the command (and whatever it runs) never needs the provider keys
    env = {name: value for name, value in os.environ.items() if value not in secrets}
    env["ANTHROPIC_BASE_URL"] = url
    if server.config.proxy_api_key:
        env["ANTHROPIC_API_KEY"] = server.config.proxy_api_key
        env.pop("ANTHROPIC_AUTH_TOKEN", None)
    elif not (env.get("ANTHROPIC_API_KEY") or env.get("ANTHROPIC_AUTH_TOKEN")):
        env["ANTHROPIC_API_KEY"] = "claude-proxy"  # any value: the proxy holds the real keys
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)  # Ctrl-C belongs to the command
    try:
        return subprocess.run(statusline_settings(command, os.getcwd(), env), env=env).returncode
    except FileNotFoundError:
        print(f"claude_proxy: command not found: {command[0]}" +
              (" (install Claude Code: npm install -g @anthropic-ai/claude-code)" if command[0] == "claude" else ""),
              file=sys.stderr)
        return 127
    finally:
        signal.signal(signal.SIGINT, previous)
        server.shutdown()
        server.drain(min(server.config.shutdown_grace, 2))
        server.server_close()


STATUS_TIMEOUT = 1.0  # seconds the status line waits for the proxy: Claude Code reruns it often


def status_text(status: dict, usage: dict | None, where: str) -> str:
    """The status line: where the session's model goes, what the session cost, how much of its
    input came from a prompt cache. `status` is Claude Code's status-line JSON, `usage` the
    proxy's /proxy/usage?session=..&model=.. answer (None: the proxy did not answer).
    Example: {"session_id": "s1", "model": {"id": "claude-opus-4-8"}}, {"route": "groq/moonshotai/kimi-k2",
    "sessions": {"s1": {"cost_usd": 0.42, "input_tokens": 1300, "cached_tokens": 8700, ...}}}
    -> "kimi-k2 via groq | $0.42 | cache 87%"."""
    model = status.get("model") if isinstance(status.get("model"), dict) else {}
    name = str(model.get("display_name") or model.get("id") or "Claude")
    if usage is None:
        return f"{name} | claude_proxy not answering at {where}"
    route = usage.get("route")
    provider, _, rest = route.partition("/") if isinstance(route, str) else ("", "", "")
    parts = [f"{rest.rpartition('/')[2]} via {provider}" if rest else name]
    session = (usage.get("sessions") or {}).get(str(status.get("session_id") or "")) or {}
    if session.get("requests"):
        priced = session["requests"] > session.get("unpriced_requests", 0)
        parts.append(dollars(session.get("cost_usd", 0)) if priced else "no price")
        cached, fresh = session.get("cached_tokens", 0), session.get("input_tokens", 0)
        if cached + fresh:
            parts.append(f"cache {round(100 * cached / (cached + fresh))}%")
    else:
        parts.append("$0.00")
    return " | ".join(parts)


def fetch_usage(base: str, session: str, model: str, env: Mapping[str, str]) -> dict | None:
    """The proxy's usage answer for one session and model (the status line's question), or None
    when it does not answer within STATUS_TIMEOUT. The client's key goes with it, as Claude Code's would."""
    url = urlsplit(base)
    if url.scheme not in ("http", "https") or not url.hostname:
        return None
    connection_type = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = connection_type(url.hostname, url.port, timeout=STATUS_TIMEOUT)
    headers = {"x-api-key": env["ANTHROPIC_API_KEY"]} if env.get("ANTHROPIC_API_KEY") else (
        {"Authorization": f"Bearer {env['ANTHROPIC_AUTH_TOKEN']}"} if env.get("ANTHROPIC_AUTH_TOKEN") else {})
    query = urlencode({"session": session, "model": model})
    try:
        connection.request("GET", f"{url.path.rstrip('/')}/proxy/usage?{query}", headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read(1 << 20)) if response.status == 200 else None
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        connection.close()
    return answer if isinstance(answer, dict) else None


def statusline(stdin, stdout, env: Mapping[str, str]) -> int:
    """`claude_proxy.py statusline`: Claude Code's status-line command. It reads the status JSON
    on stdin, asks the proxy at ANTHROPIC_BASE_URL, prints one line and exits 0 whatever happens
    (a failing command blanks Claude Code's line; this one says why instead)."""
    try:
        status = json.loads(stdin.read(1 << 20) or "{}")
    except ValueError:
        status = {}
    status = status if isinstance(status, dict) else {}
    base = env.get("ANTHROPIC_BASE_URL") or "http://127.0.0.1:8082"
    model = status.get("model") if isinstance(status.get("model"), dict) else {}
    usage = fetch_usage(base, str(status.get("session_id") or ""), str(model.get("id") or ""), env)
    print(log_safe(status_text(status, usage, base)), file=stdout, flush=True)
    return 0


def statusline_settings(command: list, cwd: str, env: Mapping[str, str]) -> list:
    """The launched command with the proxy's status line turned on through Claude Code's
    --settings, unless it is not Claude Code, already has --settings, or the user has a status
    line of their own in a settings file. Example: ["claude", "-c"] -> ["claude", "--settings",
    '{"statusLine": {"type": "command", "command": "python3 claude_proxy.py statusline"}}', "-c"]."""
    name = os.path.basename(command[0]).lower() if command else ""
    if name not in ("claude", "claude.exe", "claude.cmd") or any(a.split("=")[0] == "--settings" for a in command):
        return command
    home = env.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    for path in (os.path.join(home, "settings.json"), os.path.join(cwd, ".claude", "settings.json"),
                 os.path.join(cwd, ".claude", "settings.local.json")):
        try:
            with open(path, encoding="utf-8") as handle:
                if "statusLine" in json.load(handle):
                    return command
        except (OSError, ValueError, TypeError):
            continue
    words = [sys.executable, os.path.abspath(__file__), "statusline"]
    shell_line = subprocess.list2cmdline(words) if os.name == "nt" else shlex.join(words)
    settings = json.dumps({"statusLine": {"type": "command", "command": shell_line}})
    return [command[0], "--settings", settings, *command[1:]]


def argument_parser() -> argparse.ArgumentParser:
    """The command line: the flags of SETTINGS, then the proxy's own; --help lists every setting."""
    doc = __doc__[__doc__.index("Environment ("):]
    settings = doc.index("  settings ")  # the docstring's pointer to --help; --help puts the listing there
    parser = argparse.ArgumentParser(
        prog="claude_proxy.py", formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="%(prog)s [options]\n       %(prog)s [options] -- claude [args...]",
        description=__doc__.split("\n\n")[1],
        epilog=doc[:settings] + settings_help() + doc[doc.index("\n\n", settings):].rstrip())
    for setting in (s for s in SETTINGS if s.flag):  # dest is the Config field the flag replaces
        parser.add_argument(setting.flag, dest=setting.field, type={"int": int, "workers": worker_count}.get(setting.kind),
                            choices=setting.choices or None, metavar=None if setting.choices else setting.variable,
                            help=f"{setting.help} (env {setting.variable}, default {shown_default(setting)})")
    parser.add_argument("--log-file", metavar="PATH", help="write the log there instead of standard error "
                                                           "(when launching a command: default a file in the temp folder)")
    parser.add_argument("--env-file", metavar="PATH",
                        help="variables to load (default: .env in the working directory, if any); the real environment wins")
    parser.add_argument("--worker-of", type=int, help=argparse.SUPPRESS)  # a worker's channel to its parent (serve_workers)
    parser.add_argument("--listen-fd", type=int, help=argparse.SUPPRESS)  # the parent's listening socket, where workers share it
    parser.add_argument("--doctor", action="store_true",
                        help="check the configuration and send each routed model the requests Claude Code sends; "
                             "print what passes and how to fix what fails (exit status 0 only if all pass)")
    return parser


def load_env_file(path: str) -> str | None:
    """Load a .env file into os.environ under the variables already set (litellm reads some
    variables itself: cloud credentials). None when done, else what went wrong."""
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = parse_dotenv(handle.read())
    except OSError as exc:
        return f"cannot read --env-file {path}: {exc.strerror}"
    for name, value in loaded.items():
        os.environ.setdefault(name, value)
    return None


def needs_litellm(config: Config) -> bool:
    """Whether a configured model is served through litellm, or web searches are (so it is worth
    importing early)."""
    targets = [qualify(value, config, provider_names()) for _, value in configured_targets(config)]
    return bool(config.web_search_provider) or any(
        direct_url(target, config) is None and gemini_url(target, config) is None and not relayed(target, config)
        for target in targets)


def warm_up(config: Config, *, load: bool = True, report: bool = True):
    """Read the model map, import litellm when a configured model needs it (load), then report
    what the configuration would fail on (report: once, by the process that prints the banner)."""
    if load:
        _load_model_map()
        if needs_litellm(config):
            load_litellm(config.log_level == "debug")
    for problem in (config_problems(config, provider_names()) if report else ()):
        log.warning("configuration: %s", problem)
        print(f"  WARNING: {problem}", file=sys.stderr, flush=True)


def serve_until_stopped(server: Server, announce: bool = True) -> int:
    """Serve until Ctrl-C or SIGTERM, then drain: requests in flight get SHUTDOWN_GRACE.
    A worker (announce False) leaves the lines about it to its parent, but the requests it cut off."""
    def stop(signum, frame):
        if not announce:  # a worker gets Ctrl-C from the terminal and SIGTERM from its parent: one drain
            for number in (signal.SIGTERM, signal.SIGINT):
                signal.signal(number, signal.SIG_IGN)
        raise KeyboardInterrupt  # SIGTERM ends serve_forever as Ctrl-C does

    signal.signal(signal.SIGTERM, stop)
    if not announce:
        signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    grace = server.config.shutdown_grace
    if announce:
        print(f"claude_proxy stopping: {server.active} request(s) in flight get up to {grace:g} s", flush=True)
    left = server.drain(grace)
    server.server_close()
    if announce:
        print(f"claude_proxy {server.usage.summary()}", flush=True)
        print(f"claude_proxy stopped{f' ({left} request(s) cut off)' if left else ''}", flush=True)
    elif left:
        log.warning("worker %d: %d request(s) cut off", os.getpid(), left)
    return 0


def worker_listener(config: Config) -> tuple:
    """The parent's socket for WORKERS: (socket, whether each worker binds its own). Where the
    kernel spreads one port's connections over several sockets (SO_REUSEPORT on Linux), the parent
    only holds the port (bound, not listening: it is given no connection) and each worker binds
    beside it; elsewhere the parent listens and the workers inherit that one socket (pre-forked)."""
    own = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
    sock = socket.socket(socket.AF_INET6 if ":" in config.host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if own:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((config.host, config.port))
        if not own:
            sock.listen(Server.request_queue_size)
            sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock, own


def start_workers(config: Config, own_argv: list, sock, own: bool, book: UsageBook) -> list:
    """WORKERS processes of this script, each a whole proxy on the parent's port; their output
    is the parent's (one log stream). Returns [(process, ready event)]."""
    port = sock.getsockname()[1]
    workers = []
    for _ in range(config.workers):
        mine, theirs = socket.socketpair()
        fds = [theirs.fileno()] + ([] if own else [sock.fileno()])
        command = [sys.executable, os.path.abspath(__file__), *own_argv, "--port", str(port), "--workers", "1",
                   "--worker-of", str(theirs.fileno())] + ([] if own else ["--listen-fd", str(sock.fileno())])
        workers.append((subprocess.Popen(command, pass_fds=fds), threading.Event()))
        theirs.close()
        threading.Thread(target=serve_channel, args=(mine, book, workers[-1][1]), daemon=True, name="usage").start()
    return workers


def serve_workers(config: Config, own_argv: list, env_file: str | None, problems: list) -> int:
    """WORKERS above 1: start the workers, print the banner once they all listen, and on Ctrl-C
    or SIGTERM pass SIGTERM on (each drains for SHUTDOWN_GRACE) and wait for them; then the
    usage of all. A worker that dies stops the others (exit status 1)."""
    try:
        sock, own = worker_listener(config)
    except OSError as exc:
        print(f"claude_proxy: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    book = UsageBook(config.usage_log)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    workers = start_workers(config, own_argv, sock, own, book)
    host, port = sock.getsockname()[:2]
    sock.close()  # each worker has the port now (its own socket, or its copy of this one)
    died = lambda: [p for p, _ in workers if p.poll() is not None]  # noqa: E731
    while not stopping.is_set() and not died() and not all(ready.is_set() for _, ready in workers):
        stopping.wait(0.05)
    if not stopping.is_set() and not died():
        url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        for line in banner(config, url, env_file, color=sys.stdout.isatty()):
            print(line, flush=True)
        for problem in problems:
            print(f"  WARNING: {problem}", flush=True)
        warm_up(config, load=False)
    while not stopping.is_set() and not died():
        stopping.wait(0.2)
    return stop_workers(config, workers, book, died())


def stop_workers(config: Config, workers: list, book: UsageBook, died: list) -> int:
    """SIGTERM to every worker still running, a wait for their drains (SHUTDOWN_GRACE and a
    little more, then they are killed), and the lines about all of them."""
    if died:
        log.error("a worker process exited (status %s): stopping the others", died[0].returncode)
    grace = config.shutdown_grace
    print(f"claude_proxy stopping: {len(workers)} worker(s) drain, requests in flight get up to {grace:g} s", flush=True)
    for process, _ in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    until = time.monotonic() + grace + 10
    for process, _ in workers:
        try:
            process.wait(max(0.1, until - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for thread in [t for t in threading.enumerate() if t.name == "usage"]:
        thread.join(2)  # the last records a worker sent before it exited
    print(f"claude_proxy {book.summary()}", flush=True)
    print("claude_proxy stopped", flush=True)
    return 1 if died else 0


def serve_as_worker(config: Config, args) -> int:
    """One of serve_workers' processes: a whole proxy on the parent's port, its usage kept by
    the parent (UsageChannel); it says it is ready once it listens, and prints no banner."""
    channel = socket.socket(fileno=args.worker_of)
    listener = socket.socket(fileno=args.listen_fd) if args.listen_fd is not None else None
    try:
        server = make_server(config, reuse_port=listener is None, listener=listener)
    except OSError as exc:
        print(f"claude_proxy worker: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    server.usage = UsageChannel(channel)
    threading.Thread(target=warm_up, args=(config,), kwargs={"report": False}, daemon=True).start()
    server.usage.send({"ready": os.getpid()})
    return serve_until_stopped(server, announce=False)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["statusline"]:
        return statusline(sys.stdin, sys.stdout, os.environ)
    own, command = split_command(argv)
    args = argument_parser().parse_args(own)
    env_file = args.env_file or (".env" if os.path.isfile(".env") else None)
    failure = load_env_file(env_file) if env_file else None
    if failure:
        print(f"claude_proxy: {failure}", file=sys.stderr)
        return 2
    problems: list = []
    config = Config.from_env(os.environ, problems)
    flags = {s.field: getattr(args, s.field) for s in SETTINGS if s.flag}
    config = dataclasses.replace(config, **{k: v for k, v in flags.items() if v is not None})
    log_file = args.log_file
    if command:  # a private proxy for one command: loopback, a free port, the log out of the terminal's way
        config = dataclasses.replace(config, host="127.0.0.1", port=0)
        log_file = log_file or os.path.join(tempfile.gettempdir(), f"claude_proxy-{os.getpid()}.log")
    setup_logging(config, path=log_file)
    if args.doctor:
        for problem in problems:
            print(f"configuration: {problem}", flush=True)
        return doctor(config) or (1 if problems else 0)
    for problem in problems:
        log.warning("configuration: %s", problem)
    if args.worker_of is not None:
        return serve_as_worker(config, args)
    if config.workers > 1 and os.name == "nt":  # no SO_REUSEPORT, and no descriptors passed to a child
        log.warning("WORKERS=%d: Windows runs one process; the setting is ignored", config.workers)
        config = dataclasses.replace(config, workers=1)
    if config.workers > 1 and not command:
        return serve_workers(config, own, env_file, problems)
    try:
        server = make_server(config)
    except OSError as exc:
        print(f"claude_proxy: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    threading.Thread(target=warm_up, args=(config,), daemon=True).start()  # litellm loads while probes are answered
    host, port = server.server_address[:2]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    if command:
        print(f"claude_proxy: serving {command[0]} on {url}; log: {log_file}", file=sys.stderr, flush=True)
        return launch(server, command)
    for line in banner(config, url, env_file, windows=os.name == "nt", color=sys.stdout.isatty()):
        print(line, flush=True)
    for problem in problems:
        print(f"  WARNING: {problem}", flush=True)
    return serve_until_stopped(server)

# ----------------------------------------------------------------------------------------
# doctor: the requests Claude Code sends, through this proxy, to each routed model
# ----------------------------------------------------------------------------------------


DOCTOR_TOOL = {"name": "get_weather", "description": "The current weather in a city.",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}

# An error type (or status) -> what to do about it.
DOCTOR_FIXES = {
    "authentication_error": "the provider refused the key: check {keys}",
    "permission_error": "the key may not use this model: check the account, or pick another model",
    "not_found_error": "the provider does not know this model: check the name (and its provider prefix)",
    "rate_limit_error": "rate limited or out of quota: wait, or check the provider account",
    "overloaded_error": "the provider is overloaded: retry later, or set FALLBACK_MODELS",
    "timeout_error": "no answer in time: check the base URL and the network, or raise REQUEST_TIMEOUT",
    "api_error": "the provider failed or cannot be reached: check the base URL ({bases})",
    "invalid_request_error": "the provider rejected the request: {hint}",
    "refusal": "the provider's safety filter stopped the answer (stop_reason refusal): try another model",
}

# What to do, where a provider's own words help more (DOCTOR_FIXES' keys, over them).
DOCTOR_PROVIDER_FIXES = {
    "gemini": {
        "authentication_error": "Google does not know the key: set {keys} to a key from aistudio.google.com/apikey "
                                "(AI Studio; for Vertex AI use vertex_ai/ models)",
        "permission_error": "Gemini does not serve this key's project or the place the proxy runs in ('User location is "
                            "not supported': ai.google.dev/gemini-api/docs/available-regions): run the proxy where it is "
                            "offered, or use Vertex AI (vertex_ai/...)",
        "not_found_error": "Gemini has no such model: names look like gemini/gemini-2.5-flash or gemini/gemini-3-flash-preview "
                           "(ai.google.dev/gemini-api/docs/models)",
        "invalid_request_error": "Gemini refused the request: {hint}; a tool schema it refuses ('Unknown name', 'nesting "
                                 "depth') is worth a report, and PROXY_VIA=litellm tries litellm's own cleaning",
        "refusal": "Gemini's safety filters blocked the prompt or the answer (finishReason SAFETY, blockReason): "
                   "rephrase, or route such requests to another model",
    },
}


def doctor_checks(model: str) -> list:
    """(name, method, path, body, verdict) for each check; verdict(status, answer) -> (ok, detail)."""
    ask = {"model": model, "max_tokens": 256}
    said = lambda m: " ".join(b.get("text", "") for b in m.get("content", []) if b.get("type") == "text").strip()[:40]
    calls = lambda m: [b for b in m.get("content", []) if b.get("type") == "tool_use"]
    weather = [{"role": "user", "content": "What is the weather in Paris? Use the tool."}]
    call_turn = [weather[0], {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_doctor_1", "name": "get_weather",
                                                                "input": {"city": "Paris"}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_doctor_1", "content": "18 C, sunny"}]}]
    return [
        ("text reply", "/v1/messages", dict(ask, messages=[{"role": "user", "content": "Reply with one word: pong"}]),
         lambda m: (bool(said(m)), f"said {said(m)!r}")),
        ("streamed reply", "/v1/messages", dict(ask, stream=True, messages=[{"role": "user", "content": "Count from 1 to 3."}]),
         lambda m: (bool(said(m)) and m.get("stop_reason") is not None, f"said {said(m)!r}")),
        ("tool call", "/v1/messages", dict(ask, tools=[DOCTOR_TOOL], tool_choice={"type": "tool", "name": "get_weather"},
                                           messages=weather),
         lambda m: (bool(calls(m)) and m.get("stop_reason") == "tool_use", f"called {[c['input'] for c in calls(m)]}")),
        ("tool result round trip", "/v1/messages", dict(ask, tools=[DOCTOR_TOOL], messages=call_turn),
         lambda m: (bool(said(m)), f"said {said(m)!r}")),
        ("parallel tool calls", "/v1/messages", dict(ask, tools=[DOCTOR_TOOL], tool_choice={"type": "any"}, messages=[
            {"role": "user", "content": "Get the weather in Paris and in Tokyo: call the tool once for each city, together."}]),
         lambda m: (len(calls(m)) >= 1, f"{len(calls(m))} call(s) in one turn" + ("" if len(calls(m)) > 1 else " (the model chose one)"))),
        ("thinking", "/v1/messages", dict(ask, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048},
                                          messages=[{"role": "user", "content": "What is 17 * 23?"}]),
         lambda m: (bool(said(m)), "with thinking" if any(b.get("type") == "thinking" for b in m.get("content", [])) else "answered")),
        ("count_tokens", "/v1/messages/count_tokens", {"model": model, "tools": [DOCTOR_TOOL], "messages": weather},
         lambda m: (m.get("input_tokens", 0) > 0, f"{m.get('input_tokens')} tokens")),
        ("max_tokens 1 probe", "/v1/messages", dict(ask, max_tokens=1, messages=[{"role": "user", "content": "Hi"}]),
         lambda m: (m.get("stop_reason") == "max_tokens", f"stop_reason {m.get('stop_reason')}")),
    ]


def doctor(config: Config, out=None) -> int:
    """Check the configuration, then send each routed model the kinds of request Claude
    Code sends, through this proxy's own translation; print a table. 0 only if all pass."""
    out = out or sys.stdout
    problems: list = []
    load_litellm(config.log_level == "debug")
    providers = provider_names()
    problems += config_problems(config, providers)
    for problem in problems:
        print(f"configuration: {problem}", file=out)
    server = make_server(dataclasses.replace(config, host="127.0.0.1", port=0))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    targets = []
    for name, value in configured_targets(config):
        target = qualify(value, config, providers)
        if target not in (t for t, _ in targets):
            targets.append((target, name))
    failures, rows = 0, []
    try:
        for target, variable in targets:
            quirks, fixes = provider_for(target.partition("/")[0]), {**DOCTOR_FIXES, **DOCTOR_PROVIDER_FIXES.get(
                target.partition("/")[0], {})}
            keys = " or ".join(key_names(target.partition("/")[0]))
            bases = " or ".join(quirks.base_env) or "the provider's base URL variable"
            for check, path, body, verdict in doctor_checks(target):
                status, answer = doctor_request(server, path, body, config.request_timeout)
                if status == 200:
                    ok, detail = verdict(answer)
                    fix = "" if ok else fixes["refusal"] if answer.get("stop_reason") == "refusal" else (
                        "the model answered, but not as Claude Code needs: try another model")
                else:
                    ok, error = False, answer.get("error", {}) if isinstance(answer, dict) else {}
                    kind = error.get("type", "api_error")
                    hint = ("the model may not support tools" if "tool" in check else
                            "lower MAX_TOKENS_LIMIT" if "max_tokens" in error.get("message", "") else "see the message")
                    detail = f"{status} {kind}: {error.get('message', answer)}"[:160]
                    fix = fixes.get(kind, "see the message").format(keys=keys, bases=bases, hint=hint)
                failures += not ok
                rows.append((f"{target} ({variable})", check, "pass" if ok else "FAIL", detail, fix))
    finally:
        server.shutdown()
        server.server_close()
    widths = [max(len(row[i]) for row in rows + [("model", "check", "result", "", "")]) for i in range(3)]
    print(f"{'model':<{widths[0]}}  {'check':<{widths[1]}}  {'result':<{widths[2]}}  detail", file=out)
    for model, check, result, detail, fix in rows:
        print(f"{model:<{widths[0]}}  {check:<{widths[1]}}  {result:<{widths[2]}}  {detail}", file=out)
        if fix:
            print(f"{'':<{widths[0]}}  {'':<{widths[1]}}  {'':<{widths[2]}}  fix: {fix}", file=out)
    for target, _ in targets:
        print(f"{target}: {doctor_path(target, config)}", file=out)
    total = len(rows)
    print(f"{total - failures} of {total} checks passed" + (", problems in the configuration" if problems else ""), file=out)
    return 0 if failures == 0 and not problems else 1


def doctor_path(target: str, config: Config) -> str:
    """How the proxy reaches a target, for the doctor's summary. Example: "openai/gpt-5.3-codex" ->
    "the responses path, POST https://api.openai.com/v1/responses"; "vertex_ai/gemini-2.5-pro" -> "the litellm path"."""
    attempt = prepare_attempt(doctor_checks(target)[0][2], target, config)
    gemini, quirks = gemini_url(target, config), attempt.quirks
    url = {"responses": lambda: responses_url(target, config, attempt.facts),
           "direct": lambda: direct_url(target, config) or gemini and gemini + ":generateContent",  # GeminiPath is "direct" too
           "passthrough": lambda: (configured_base(quirks, config.env) or quirks.default_base).rstrip("/") + "/v1/messages"}.get(
        attempt.path.name, lambda: None)()
    return f"the {attempt.path.name} path" + (f", POST {url}" if url else "")


def doctor_request(server: Server, path: str, body: dict, timeout: float) -> tuple:
    """One request to the doctor's private proxy: (status, parsed answer); a stream is folded."""
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=timeout + 30)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                                   "x-api-key": server.config.proxy_api_key or "doctor"})
        response = conn.getresponse()
        data = response.read()
    except OSError as exc:
        return 0, {"error": {"type": "api_error", "message": f"no answer from the proxy: {exc}"}}
    finally:
        conn.close()
    if response.status == 200 and body.get("stream"):
        events = []
        for frame in data.decode("utf-8", "replace").split("\n\n"):
            lines = dict(line.split(": ", 1) for line in frame.split("\n") if ": " in line)
            if "event" in lines and "data" in lines:
                events.append((lines["event"], json.loads(lines["data"])))
        if events and events[-1][0] == "error":
            return 500, events[-1][1]
        try:
            return 200, fold_events(events)
        except (KeyError, IndexError, ProxyError) as exc:
            return 500, {"error": {"type": "api_error", "message": f"a malformed stream: {exc}"}}
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, {"error": {"type": "api_error", "message": data[:200].decode("utf-8", "replace")}}


if __name__ == "__main__":
    raise SystemExit(main())
