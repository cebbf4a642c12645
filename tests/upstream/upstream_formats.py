"""Wire formats of the scripted upstream: how each API writes a streamed answer (stdlib only).

A format turns the scripts' generic steps (begin, text, finish, in-band error, keep-alive) into the
bytes its API sends, so every script exists for every format. The scripts live in upstream_scripts.py;
`out` below is their `Turn`, which offers `write(bytes)`, `entry` (the log entry) and `model`.

    OpenAIFormat     POST /v1/chat/completions   SSE `data: {chunk}` ... `data: [DONE]`
    AnthropicFormat  POST /v1/messages           SSE `event: <type>` + `data: {json}` (Messages API)
    OllamaFormat     POST /api/chat              NDJSON, one object per line, last one `done: true`

Finish reasons are given generically ("stop" or "length") and spelled as each API spells them.
"""

import json
import time


def compact(payload):
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def cuts_at(data, marks):
    """Sorted byte offsets: for each (marker bytes, offset), the marker's first position + offset."""
    return sorted({data.index(marker) + offset for marker, offset in marks})


def text_of(content):
    """A message's text: a string, or the text blocks of an Anthropic content list."""
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return "" if content is None else str(content)


SPLIT_TOKENS = ["Split", " héllo", " 世界", " 🙂", " end"]
# Inside 2-, 3- and 4-byte UTF-8 characters.
UTF8_CUTS = [("é".encode(), 1), ("世".encode(), 1), ("界".encode(), 2), ("🙂".encode(), 2)]


class OpenAIFormat:
    name = "openai"
    path = "/v1/chat/completions"
    content_type = "text/event-stream"
    keep_alive_bytes = b": keep-alive\n\n"

    def messages(self, request):
        return [{"role": m.get("role"), "content": text_of(m.get("content"))} for m in request.get("messages", [])]

    def system(self, request):
        return None

    def chunk(self, out, content=None, finish=None, usage=None, role=None, choices=True):
        delta = {}
        if role:
            delta["role"] = role
        if content is not None:
            delta["content"] = content
        return {
            "id": f"chatcmpl-{out.entry['id']}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": out.model, "system_fingerprint": "scripted",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
            "usage": usage,
        }

    def event(self, out, payload):
        data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
        out.write(f"data: {data}\n\n".encode())

    def begin(self, out, input_tokens):
        self.event(out, self.chunk(out, content="", role="assistant"))

    def text(self, out, text):
        self.event(out, self.chunk(out, content=text))

    def finish(self, out, reason, usage):
        self.event(out, self.chunk(out, finish=reason))
        if usage:
            prompt, completion = usage
            usage_body = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
            self.event(out, self.chunk(out, usage=usage_body, choices=False))
        self.event(out, "[DONE]")

    def inband_error(self, out, overloaded):
        kind = "server_error" if overloaded else "invalid_request_error"
        self.event(out, {"error": {"message": "scripted in-band failure", "type": kind, "code": 500 if overloaded else 400}})

    def keep_alive(self, out):
        out.write(self.keep_alive_bytes)

    def error_body(self, status, message):
        return {"error": {"message": message, "type": "scripted_error", "code": status}}

    def split_stream(self, out):
        events = [self.chunk(out, content="", role="assistant")]
        events += [self.chunk(out, content=text) for text in SPLIT_TOKENS]
        events += [self.chunk(out, finish="stop"),
                   self.chunk(out, usage={"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16}, choices=False)]
        body = ": split script\r\n\r\n"
        for index, event in enumerate(events):
            # Alternate `data:` with and without the optional space.
            body += ("data:" if index % 2 else "data: ") + json.dumps(event, ensure_ascii=False) + "\r\n\r\n"
        data = (body + "data: [DONE]\r\n\r\n").encode()
        return data, cuts_at(data, [(b"\r\n", 1),                       # between CR and LF
                                    (b"data", 2),                       # inside the field name
                                    (b'"content"', 4),                  # mid-line, mid-JSON
                                    *UTF8_CUTS,
                                    (b"\r\n\r\ndata: [DONE]", 3),       # between the last CR and LF of an event
                                    (b"[DONE]\r\n\r\n", len(b"[DONE]\r\n\r\n") - 3)])  # inside [DONE]'s line end


class AnthropicFormat:
    name = "anthropic"
    path = "/v1/messages"
    content_type = "text/event-stream"
    # What each HTTP status is called in Anthropic's error bodies.
    error_types = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}

    def messages(self, request):
        return [{"role": m.get("role"), "content": text_of(m.get("content"))} for m in request.get("messages", [])]

    def system(self, request):
        system = request.get("system")
        return None if system is None else text_of(system)

    def event(self, out, kind, payload):
        out.write(f"event: {kind}\ndata: {compact({'type': kind, **payload})}\n\n".encode())

    def begin(self, out, input_tokens):
        message = {"id": f"msg_scripted_{out.entry['id']}", "type": "message", "role": "assistant", "content": [],
                   "model": out.model, "stop_reason": None, "stop_sequence": None}
        if input_tokens is not None:
            # Like Anthropic: the input count, and a placeholder output count the final delta replaces.
            message["usage"] = {"input_tokens": input_tokens, "output_tokens": 1}
        self.event(out, "message_start", {"message": message})
        self.event(out, "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
        self.event(out, "ping", {})

    def text(self, out, text):
        self.event(out, "content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}})

    def finish(self, out, reason, usage):
        self.event(out, "content_block_stop", {"index": 0})
        delta = {"delta": {"stop_reason": "max_tokens" if reason == "length" else "end_turn", "stop_sequence": None}}
        if usage:
            # Cumulative totals, input repeated as newer API versions do: a client that adds them is wrong.
            delta["usage"] = {"input_tokens": usage[0], "output_tokens": usage[1]}
        self.event(out, "message_delta", delta)
        self.event(out, "message_stop", {})

    def inband_error(self, out, overloaded):
        kind = "overloaded_error" if overloaded else "invalid_request_error"
        self.event(out, "error", {"error": {"type": kind, "message": "scripted in-band failure"}})

    def keep_alive(self, out):
        self.event(out, "ping", {})

    def error_body(self, status, message):
        kind = self.error_types.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}

    def split_stream(self, out):
        body = ": split script\r\n\r\n"
        events = [("message_start", {"message": {"id": "msg_split", "type": "message", "role": "assistant",
                                                  "content": [], "usage": {"input_tokens": 11, "output_tokens": 1}}}),
                  ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
                  ("ping", {})]
        events += [("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": text}})
                   for text in SPLIT_TOKENS]
        events += [("content_block_stop", {"index": 0}),
                   ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
                   ("message_stop", {})]
        for index, (kind, payload) in enumerate(events):
            data = "data:" if index % 2 else "data: "  # with and without the optional space
            body += f"event: {kind}\r\n{data}{json.dumps({'type': kind, **payload}, ensure_ascii=False)}\r\n\r\n"
        data = body.encode()
        return data, cuts_at(data, [(b"\r\n", 1),                        # between CR and LF
                                    (b"event: message_start", 3),        # inside the field name
                                    (b"data", 2),
                                    (b'"text_delta"', 5),                # mid-line, mid-JSON
                                    *UTF8_CUTS,
                                    (b"message_stop\"}\r\n\r\n", 15),    # between the last CR and LF
                                    (b"message_stop\"}\r\n\r\n", 17)])


class OllamaFormat:
    name = "ollama"
    path = "/api/chat"
    content_type = "application/x-ndjson"

    def messages(self, request):
        return [{"role": m.get("role"), "content": text_of(m.get("content"))} for m in request.get("messages", [])]

    def system(self, request):
        return None

    def line(self, out, payload):
        out.write((compact(payload) + "\n").encode())

    def part(self, out, text):
        return {"model": out.model, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "message": {"role": "assistant", "content": text}, "done": False}

    def done(self, out, reason, usage):
        final = {**self.part(out, ""), "done": True, "done_reason": reason,
                 "total_duration": 4883583458, "load_duration": 1334875}
        if usage:
            final.update({"prompt_eval_count": usage[0], "prompt_eval_duration": 342546000,
                          "eval_count": usage[1], "eval_duration": 4535599000})
        return final

    def begin(self, out, input_tokens):
        pass  # Ollama has no preamble: the first line is the first text

    def text(self, out, text):
        self.line(out, self.part(out, text))

    def finish(self, out, reason, usage):
        self.line(out, self.done(out, reason, usage))

    def inband_error(self, out, overloaded):
        message = ("scripted in-band failure: server busy, please try again" if overloaded
                   else "scripted in-band failure")
        self.line(out, {"error": message})

    def keep_alive(self, out):
        out.write(b"\n")

    def error_body(self, status, message):
        return {"error": message}

    def split_stream(self, out):
        lines = [self.part(out, text) for text in SPLIT_TOKENS] + [self.done(out, "stop", (11, 5))]
        # CRLF line ends, a blank keep-alive line, and the last line without its line end.
        data = ("\r\n".join(compact(line) for line in lines[:2]) + "\r\n\r\n"
                + "\r\n".join(compact(line) for line in lines[2:])).encode()
        return data, cuts_at(data, [(b"\r\n", 1),                  # between CR and LF
                                    (b'"content"', 4),             # mid-line, mid-JSON
                                    *UTF8_CUTS,
                                    (b'"done":true', 3),           # inside the last line
                                    (b"\r\n\r\n", 3)])             # inside the blank line's CRLF


FORMATS = {format.path: format for format in (OpenAIFormat(), AnthropicFormat(), OllamaFormat())}
