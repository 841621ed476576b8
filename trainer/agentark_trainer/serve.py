"""python -m agentark_trainer serve --model <path> [--host 127.0.0.1 --port 8000 --dtype float32 --device auto]

A small OpenAI-compatible server for a Hugging Face model (transformers + peft), so the openai rollout engine
(rollout_client.py) runs on a CPU or a spare GPU without vLLM. It implements exactly the subset the engine
uses, as vLLM answers it:
  GET  /v1/models               the base model (``parent`` null) and each loaded LoRA adapter (``parent`` the base)
  POST /v1/completions          ``prompt``: a string, a list of strings, a token-id list or a list of them;
                                ``n``, ``max_tokens`` (16), ``temperature`` (1; <= 1e-5 is greedy), ``top_p``,
                                ``top_k`` (-1/0 = off), ``seed``, ``logprobs`` (null or 0: the sampled token's
                                log-prob under the unscaled model), ``return_tokens_as_token_ids``; choices with
                                ``index`` = prompt * n + sample, ``finish_reason`` stop (EOS, listed as the last
                                token) or length
  POST /v1/load_lora_adapter    {"lora_name", "lora_path"}: a peft adapter folder, read from this machine's disk
  POST /v1/unload_lora_adapter  {"lora_name"}
Any other field, or a value this server does not implement, is refused with 400 rather than ignored, so a client
never gets samples drawn otherwise than it asked.

One generation at a time, behind a lock (stdlib ThreadingHTTPServer): requests queue, none is dropped. The
prompts x n of a request are one left-padded generate() call, as the trainer's own rollout pads them, so greedy
completions equal the trainer's. There is no authentication: it listens on 127.0.0.1 unless told otherwise.
The first stdout line, once listening, is {"ready": true, "url": ..., "model": ..., "pid": ...} (``--port 0``
picks a free port; the line says which).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

import torch

from . import data, models
from .config import ModelSpec

log = logging.getLogger(__name__)

GREEDY_BELOW = 1e-5  # a temperature at or below this is greedy decoding (vLLM's _SAMPLING_EPS)
MAX_BODY = 64 * 1024 * 1024
HANDLED = {"model", "prompt", "n", "max_tokens", "temperature", "top_p", "top_k", "seed", "logprobs",
           "return_tokens_as_token_ids"}
# accepted only at the value that changes nothing (what an OpenAI client or the rollout engine may send)
NEUTRAL = {"min_p": (0, 0.0), "repetition_penalty": (1, 1.0), "presence_penalty": (0, 0.0),
           "frequency_penalty": (0, 0.0), "stream": (False,), "echo": (False,), "stop": ([],),
           "stop_token_ids": ([],), "ignore_eos": (False,), "best_of": (), "skip_special_tokens": (True,),
           "spaces_between_special_tokens": (True,)}
IGNORED = {"user"}  # an end-user id for the provider's logs


class RequestError(Exception):
    """A request this server cannot serve; ``status`` is the HTTP status of the answer."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class ModelServer:
    """The model, its loaded adapters and the lock every use of them holds."""

    def __init__(self, lm, tok, name: str, root: str, device: torch.device):
        self.lm = lm.to(device).eval()
        self.tok = tok
        self.name = name
        self.root = root
        self.device = device
        self.lock = threading.Lock()
        self.adapters: dict[str, tuple[str, str]] = {}  # lora_name -> (peft's name for it, path)
        self.loaded = 0  # peft names are a0, a1, ...: a lora_name may hold characters a module name cannot
        self.created = int(time.time())
        self.max_len = getattr(lm.config, "max_position_embeddings", None)

    # -- the endpoints

    def models(self) -> dict:
        """Answered without the lock, so a health check gets through while a generation runs."""
        cards = [{"id": self.name, "object": "model", "created": self.created, "owned_by": "agentark",
                  "root": self.root, "parent": None, "max_model_len": self.max_len}]
        cards += [{"id": n, "object": "model", "created": self.created, "owned_by": "agentark", "root": path,
                   "parent": self.name} for n, (_, path) in list(self.adapters.items())]
        return {"object": "list", "data": cards}

    def load_adapter(self, body: dict) -> str:
        name, path = _string(body, "lora_name"), _string(body, "lora_path")
        if not os.path.isfile(os.path.join(path, "adapter_config.json")):
            raise RequestError(400, f"no adapter_config.json in {path!r} (the path is read on the server's machine)")
        with self.lock:
            if name in self.adapters:
                raise RequestError(400, f"The lora adapter '{name}' has already been loaded.")
            internal = f"a{self.loaded}"
            self.loaded += 1
            try:
                self.lm.load_adapter(path, adapter_name=internal)  # a local folder: never the hub
            except Exception as e:  # noqa: BLE001 - a bad folder is the client's mistake, not the server's end
                if internal in (getattr(self.lm, "peft_config", None) or {}):  # half loaded: not half served
                    self.lm.delete_adapter(internal)
                raise RequestError(400, f"cannot load the adapter in {path!r}: {e}") from None
            self.adapters[name] = (internal, path)
        log.info("loaded adapter %s from %s", name, path)
        return f"Success: LoRA adapter '{name}' added successfully."

    def unload_adapter(self, body: dict) -> str:
        name = _string(body, "lora_name")
        with self.lock:
            if name not in self.adapters:
                raise RequestError(404, f"The lora adapter '{name}' cannot be found.")
            self.lm.delete_adapter(self.adapters.pop(name)[0])
        log.info("unloaded adapter %s", name)
        return f"Success: LoRA adapter '{name}' removed successfully."

    def complete(self, body: dict) -> dict:
        req = self.parse_completion(body)
        rows = [p for p in req["prompts"] for _ in range(req["n"])]
        with self.lock, torch.inference_mode():
            self.use(req["model"])
            gens = self.generate(rows, req)
            lps = self.logprobs(rows, gens) if req["logprobs"] is not None else None
        eos = self.tok.eos_token_id
        choices = []
        for i, gen in enumerate(gens):
            choice = {"index": i, "text": self.tok.decode(gen, skip_special_tokens=True),
                      "finish_reason": "stop" if gen and gen[-1] == eos else "length", "stop_reason": None,
                      "logprobs": None}
            if lps is not None:
                toks = [f"token_id:{t}" if req["as_ids"] else self.tok.decode([t]) for t in gen]
                choice["logprobs"] = {"tokens": toks, "token_logprobs": lps[i],
                                      "top_logprobs": [{t: lp} for t, lp in zip(toks, lps[i])]}
            choices.append(choice)
        n_prompt = sum(len(p) for p in req["prompts"])
        n_comp = sum(len(g) for g in gens)
        return {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion", "created": int(time.time()),
                "model": req["model"], "choices": choices,
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_comp, "total_tokens": n_prompt + n_comp}}

    # -- completions, piece by piece

    def parse_completion(self, body: dict) -> dict:
        for key, value in body.items():
            if key in HANDLED or key in IGNORED:
                continue
            if key not in NEUTRAL:
                raise RequestError(400, f"field {key!r} is outside the subset this server serves (see trainer/README.md, Rollout engines)")
            if value is not None and value not in NEUTRAL[key]:
                raise RequestError(400, f"field {key!r}: only {list(NEUTRAL[key]) or 'null'} is implemented, "
                                        f"got {value!r}")
        model = body.get("model", self.name)
        if model != self.name and model not in self.adapters:
            raise RequestError(404, f"The model `{model}` does not exist.")
        n = _number(body, "n", 1, int, 1)
        max_tokens = _number(body, "max_tokens", 16, int, 1)
        temperature = _number(body, "temperature", 1.0, float, 0.0)
        top_p = _number(body, "top_p", 1.0, float, 0.0)
        top_k = _number(body, "top_k", -1, int, -1)
        if not 0 < top_p <= 1:
            raise RequestError(400, f"field 'top_p' must be in (0, 1], got {top_p}")
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise RequestError(400, f"field 'seed' must be an integer, got {seed!r}")
        logprobs = body.get("logprobs")
        if logprobs not in (None, 0) or isinstance(logprobs, bool):
            raise RequestError(400, f"field 'logprobs': only null or 0 is implemented, got {logprobs!r}")
        prompts = self.prompt_rows(body.get("prompt"))
        longest = max(len(p) for p in prompts)
        if self.max_len and longest + max_tokens > self.max_len:
            raise RequestError(400, f"This model's maximum context length is {self.max_len} tokens; the longest "
                                    f"prompt ({longest}) + max_tokens ({max_tokens}) exceeds it.")
        return {"model": model, "prompts": prompts, "n": n, "max_tokens": max_tokens, "temperature": temperature,
                "top_p": top_p, "top_k": top_k, "seed": seed, "logprobs": logprobs,
                "as_ids": bool(body.get("return_tokens_as_token_ids"))}

    def prompt_rows(self, prompt: Any) -> list[list[int]]:
        """Token-id rows of the request's prompt, in its four OpenAI shapes."""
        if isinstance(prompt, str):
            prompt = [prompt]
        elif isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
            prompt = [prompt]
        if not isinstance(prompt, list) or not prompt:
            raise RequestError(400, "field 'prompt' must be a string, a token-id list, or a non-empty list of them")
        vocab = self.lm.get_input_embeddings().num_embeddings
        rows = []
        for p in prompt:
            if isinstance(p, str):
                ids = self.tok(p)["input_ids"]
            elif isinstance(p, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in p):
                ids = p
            else:
                raise RequestError(400, "field 'prompt': each prompt must be a string or a list of token ids")
            if not ids:
                raise RequestError(400, "field 'prompt': a prompt is empty")
            if min(ids) < 0 or max(ids) >= vocab:
                raise RequestError(400, f"field 'prompt': token ids must be in [0, {vocab})")
            rows.append(list(ids))
        return rows

    def use(self, model: str) -> None:
        """The base model (adapters off) or one adapter alone."""
        if model != self.name and model not in self.adapters:  # unloaded since the request was parsed
            raise RequestError(404, f"The model `{model}` does not exist.")
        if not getattr(self.lm, "_hf_peft_config_loaded", False):
            return
        if model == self.name:
            self.lm.disable_adapters()
        else:
            self.lm.enable_adapters()
            self.lm.set_adapter(self.adapters[model][0])

    def generate(self, rows: list[list[int]], req: dict) -> list[list[int]]:
        """Each row's generated ids, up to and including its EOS."""
        tok = self.tok
        ids, attn = data.pad_rows(rows, tok.pad_token_id, left=True)
        if req["temperature"] <= GREEDY_BELOW:
            kw = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            kw = dict(do_sample=True, temperature=req["temperature"], top_p=req["top_p"], top_k=max(0, req["top_k"]))
        if req["seed"] is not None:
            torch.manual_seed(req["seed"])
        out = self.lm.generate(input_ids=ids.to(self.device), attention_mask=attn.to(self.device),
                               max_new_tokens=req["max_tokens"], pad_token_id=tok.pad_token_id,
                               eos_token_id=tok.eos_token_id, use_cache=True, **kw)[:, ids.shape[1]:].tolist()
        # a row that has no EOS ran the whole width: pad ids in it were sampled, not padding
        return [g[:g.index(tok.eos_token_id) + 1] if tok.eos_token_id in g else g for g in out]

    def logprobs(self, rows: list[list[int]], gens: list[list[int]]) -> list[list[float]]:
        """log p(token) of each generated token under the model as served, temperature 1 (what vLLM reports)."""
        from .grpo import token_logprobs

        n_prompt = max(len(r) for r in rows)
        width = max(1, max(len(g) for g in gens))
        ids, attn = data.pad_rows(rows, self.tok.pad_token_id, left=True)
        comp = torch.full((len(rows), width), self.tok.pad_token_id, dtype=torch.long)
        comp_attn = torch.zeros((len(rows), width), dtype=torch.long)
        for i, g in enumerate(gens):
            comp[i, :len(g)] = torch.tensor(g, dtype=torch.long)
            comp_attn[i, :len(g)] = 1
        full = torch.cat([ids, comp], 1).to(self.device)
        mask = torch.cat([attn, comp_attn], 1).to(self.device)
        lp = token_logprobs(self.lm, full, mask, n_prompt, 1.0).float().cpu()
        return [lp[i, :len(g)].tolist() for i, g in enumerate(gens)]


def _string(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise RequestError(400, f"field {name!r} must be a non-empty string")
    return value


def _number(body: dict, name: str, default, kind: type, minimum):
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise RequestError(400, f"field {name!r} must be {'an integer' if kind is int else 'a number'}, got {value!r}")
    if value < minimum:
        raise RequestError(400, f"field {name!r} must be >= {minimum}, got {value}")
    return kind(value)


# ----------------------------------------------------------------------------- HTTP


def handler_for(server: ModelServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        routes = {("GET", "/v1/models"): lambda body: server.models(),
                  ("POST", "/v1/completions"): server.complete,
                  ("POST", "/v1/load_lora_adapter"): server.load_adapter,
                  ("POST", "/v1/unload_lora_adapter"): server.unload_adapter}

        def do_GET(self):  # noqa: N802 - http.server's names
            self.dispatch("GET")

        def do_POST(self):  # noqa: N802
            self.dispatch("POST")

        def dispatch(self, method: str) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            route = self.routes.get((method, path))
            try:
                if route is None:
                    raise RequestError(404, f"no route {method} {path}")
                self.answer(200, route(self.body() if method == "POST" else {}))
            except RequestError as e:
                self.answer(e.status, {"error": {"message": str(e), "type": "BadRequestError" if e.status == 400
                                                 else "NotFoundError", "param": None, "code": e.status}})
            except Exception as e:  # noqa: BLE001 - one failed request must not stop the server
                log.exception("%s %s failed", method, path)
                self.answer(500, {"error": {"message": f"{type(e).__name__}: {e}", "type": "InternalServerError",
                                            "param": None, "code": 500}})

        def body(self) -> dict:
            try:
                size = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise RequestError(400, "Content-Length is not a number") from None
            if size < 0 or size > MAX_BODY:
                raise RequestError(400, f"Content-Length must be 0 to {MAX_BODY} bytes, got {size}")
            try:
                value = json.loads(self.rfile.read(size) or b"{}")
            except json.JSONDecodeError as e:
                raise RequestError(400, f"not valid JSON ({e})") from None
            if not isinstance(value, dict):
                raise RequestError(400, "the request body must be a JSON object")
            return value

        def answer(self, status: int, payload: Any) -> None:
            text = isinstance(payload, str)  # vLLM's adapter endpoints answer plain text
            raw = (payload if text else json.dumps(payload)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8" if text else "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, fmt, *args):  # to the log on stderr, not http.server's own print
            log.info("%s %s", self.address_string(), fmt % args)

    return Handler


def load_server(model: str, tokenizer: Optional[str], dtype: str, device: str, name: Optional[str]) -> ModelServer:
    spec = ModelSpec(gguf=model, tokenizer=tokenizer, dtype=dtype) if model.endswith(".gguf") else \
        ModelSpec(path=model, tokenizer=tokenizer, dtype=dtype)
    lm, tok = models.load(spec)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else torch.device(device)
    return ModelServer(lm, tok, name or model, os.path.abspath(model), dev)


def main(argv: list[str]) -> int:
    from .config import ConfigError
    from .events import claim_stdout, setup_logging

    parser = argparse.ArgumentParser(prog="python -m agentark_trainer serve")
    parser.add_argument("--model", required=True, help="a Hugging Face folder (or a .gguf file)")
    parser.add_argument("--tokenizer", help="folder or .gguf; default the model's own")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 = a free port (the ready line says which)")
    parser.add_argument("--dtype", default="float32", choices=sorted(models.DTYPES))
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda, cuda:1, ...")
    parser.add_argument("--served-model-name", help="the base model's name in /v1/models; default --model")
    args = parser.parse_args(argv)
    out = claim_stdout()
    setup_logging()
    try:
        server = load_server(args.model, args.tokenizer, args.dtype, args.device, args.served_model_name)
    except ConfigError as e:
        print(f"serve: {e}", file=sys.stderr)
        return 2
    httpd = ThreadingHTTPServer((args.host, args.port), handler_for(server))
    httpd.daemon_threads = True
    host, port = httpd.server_address[:2]
    out.write(json.dumps({"ready": True, "url": f"http://{host}:{port}/v1", "model": server.name,
                          "pid": os.getpid()}) + "\n")
    out.flush()
    log.info("serving %s on http://%s:%d/v1 (%s, %s)", server.name, host, port, server.device, args.dtype)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
    return 0
