"""The openai rollout engine: grpo/ppo samples drawn by an external OpenAI-compatible server.

The protocol is vLLM's subset (``vllm serve <model> --enable-lora``, or ``python -m agentark_trainer serve``):
  - ``GET {url}/models``: the served base model (``parent`` null) and the LoRA adapters loaded (``parent`` set);
  - ``POST {url}/completions``: ``prompt`` a list of token-id lists, ``n`` samples each, ``logprobs: 0`` with
    ``return_tokens_as_token_ids: true``, so each choice's ``logprobs.tokens`` holds ``"token_id:<int>"`` strings:
    the sampled ids themselves, never re-tokenised text. Choices are ordered by ``index`` = prompt * n + sample;
  - ``POST {url}/load_lora_adapter`` / ``unload_lora_adapter``: the policy's adapter after each update.

Why the weights travel as a LoRA adapter, saved to ``<output_dir>/rollout-adapters/step-<n>`` and loaded by
path: an adapter is megabytes, the full model gigabytes every step. The server reads that path itself, so it must
see the trainer's filesystem (the same node, or a shared one). Each update gets a new adapter name: vLLM keys an
adapter by its name, and loading new weights under a name it knows would keep serving the old ones.

The server's log-probs are not used: the trainer recomputes the behaviour log-probs itself (grpo.behaviour_logprobs),
so a server in another precision or with other kernels changes which tokens are drawn, not the loss's numbers.

Failures: connection errors, timeouts, 408, 429 and 5xx are retried with backoff; after the last retry
RolloutServerError (exit 1: the workers retry the job, which resumes from its last checkpoint, by when the server
may be back). A refused key (401, 403) is a ConfigError on ``rollout_api_key_env`` and a refused request (another
4xx, e.g. a prompt longer than the server's max_model_len or LoRA not enabled) a ConfigError on ``rollout_url``:
exit 2, since asking again gets the same answer. Only the standard library speaks HTTP here.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import re
import shutil
import time
import urllib.error
import urllib.request
from typing import Any, Optional

from .config import ConfigError

log = logging.getLogger(__name__)

RETRIES = 4  # after the first attempt; waits of 1, 2, 4, 8 s
BACKOFF_S = 1.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
MAX_WAIT_S = 60.0  # the most a Retry-After header can make us wait
TOKEN_ID = re.compile(r"token_id:(-?\d+)")
ADAPTER_DIR = "rollout-adapters"


class RolloutServerError(RuntimeError):
    """The rollout server could not be reached or kept failing after the retries, or answered nonsense. A plain
    exception, so exit 1: the job is retried and resumes from its last checkpoint."""


class RolloutRefused(RolloutServerError):
    """A 4xx other than 401/403/408/429: the server understood and refused. Not retried."""

    def __init__(self, message: str, url: str, status: int, detail: str):
        super().__init__(message)
        self.url, self.status, self.detail = url, status, detail


def _excerpt(raw: bytes, limit: int = 300) -> str:
    """The server's own words about an error: vLLM's {"error": {"message"}} or {"message"}, else the raw text."""
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
        err = body.get("error", body) if isinstance(body, dict) else body
        text = str(err.get("message", err) if isinstance(err, dict) else err)
    except (json.JSONDecodeError, AttributeError):
        pass
    return text[:limit] + ("…" if len(text) > limit else "")


class Client:
    """JSON over HTTP with retries. ``base_url`` ends before the endpoint (``…/v1``)."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout_s: float = 600.0,
                 retries: int = RETRIES, backoff_s: float = BACKOFF_S):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s

    def request(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        """The parsed JSON answer (or its text when it is not JSON: vLLM's adapter endpoints answer plain text)."""
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        why = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff_s * 2 ** attempt
            try:
                req = urllib.request.Request(url, data=data, headers=headers, method=method)
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return _decode(resp.read())
            except urllib.error.HTTPError as e:  # before URLError, its base class
                detail = _excerpt(e.read())
                why = f"HTTP {e.code} {e.reason}: {detail}"
                if e.code in AUTH_STATUSES:
                    raise ConfigError("rollout_api_key_env", f"{method} {url} answered {why} (set "
                                      "rollout_api_key_env to the name of the variable holding the server's key)"
                                      ) from None
                if e.code not in RETRY_STATUSES:
                    raise RolloutRefused(f"{method} {url} answered {why}", url, e.code, detail) from None
                wait = max(wait, _retry_after(e.headers.get("Retry-After")))
            except (urllib.error.URLError, http.client.HTTPException, OSError) as e:  # refused, reset, timed out
                why = f"{type(e).__name__}: {getattr(e, 'reason', None) or e}"
            if attempt < self.retries:
                log.warning("%s %s failed (%s); attempt %d of %d in %.1f s", method, url, why, attempt + 2,
                            self.retries + 1, wait)
                time.sleep(wait)
        raise RolloutServerError(f"{method} {url} failed {self.retries + 1} times; the last: {why}")


def _decode(raw: bytes) -> Any:
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _retry_after(value: Optional[str]) -> float:
    try:
        return min(MAX_WAIT_S, max(0.0, float(value))) if value else 0.0
    except ValueError:
        return 0.0


# ----------------------------------------------------------------------------- completions (tested alone)


def choice_ids(choice: dict) -> list[int]:
    """The sampled ids of one choice: logprobs.tokens as "token_id:<int>", else a ``token_ids`` list (newer vLLM
    with return_token_ids)."""
    tokens = (choice.get("logprobs") or {}).get("tokens")
    if tokens is None and isinstance(choice.get("token_ids"), list):
        return [int(t) for t in choice["token_ids"]]
    if not isinstance(tokens, list):
        raise RolloutServerError(f"choice {choice.get('index')} has no logprobs.tokens (the request asked for "
                                 "logprobs 0 with return_tokens_as_token_ids)")
    out = []
    for t in tokens:
        m = TOKEN_ID.fullmatch(t) if isinstance(t, str) else None
        if m is None:
            raise RolloutServerError(f"choice {choice.get('index')}: token {t!r} is not 'token_id:<int>' (the server "
                                     "ignored return_tokens_as_token_ids, which vLLM and agentark serve honour)")
        out.append(int(m.group(1)))
    return out


def completion_ids(response: Any, n_samples: int, eos_id: int) -> list[list[int]]:
    """Each sample's completion ids, in prompt-major order (sorted by ``index``, whatever order they came in),
    ending with EOS when the model stopped: servers differ on whether they list the stop token."""
    choices = response.get("choices") if isinstance(response, dict) else None
    if not isinstance(choices, list):
        raise RolloutServerError(f"the completions answer has no choices list: {str(response)[:200]}")
    by_index = sorted(choices, key=lambda c: c.get("index", -1))
    if [c.get("index") for c in by_index] != list(range(n_samples)):
        raise RolloutServerError(f"expected choices with index 0..{n_samples - 1}, got "
                                 f"{[c.get('index') for c in choices][:20]}")
    out = []
    for c in by_index:
        ids = choice_ids(c)
        reason = c.get("finish_reason")
        if reason == "stop":
            if not ids or ids[-1] != eos_id:
                ids.append(eos_id)
        elif reason != "length":
            raise RolloutServerError(f"choice {c['index']}: finish_reason {reason!r} (expected stop or length)")
        out.append(ids)
    return out


# ----------------------------------------------------------------------------- the engine


def adapter_prefix(output_dir: str) -> str:
    """A name for this job's adapters: the output folder's name and a hash of its absolute path, so jobs
    sharing a server never touch each other's, and every attempt of one job finds its own."""
    path = os.path.abspath(output_dir)
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", os.path.basename(path.rstrip("/"))).strip("-")[:40] or "job"
    return f"{base}-{hashlib.sha1(path.encode()).hexdigest()[:8]}"


def base_model_of(listing: Any, wanted: Optional[str], url: str) -> str:
    """The served base model: ``wanted`` (rollout_model) if it is served, else the only one /models lists."""
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        raise RolloutServerError(f"{url}/models answered no model list: {str(listing)[:200]}")
    bases = [m.get("id") for m in data if isinstance(m, dict) and not m.get("parent")]
    if wanted is not None:
        if wanted not in bases:
            raise ConfigError("rollout_model", f"{url} serves {bases}, not {wanted!r}")
        return wanted
    if len(bases) != 1:
        raise ConfigError("rollout_model", f"{url} serves {len(bases)} base models {bases}: name one")
    return bases[0]


class OpenAIRollout:
    """Completions from the server, with the policy's adapter loaded there after each update.

    ``version`` counts the optimizer steps the served weights include: 0 is the base model (``model`` the base
    name), n the adapter saved after step n (``model`` = ``<prefix>-step-<n>``). Only the main rank saves and
    loads; every rank requests its own prompts under the same name."""

    def __init__(self, client: Client, base_model: str, output_dir: str, prefix: str):
        self.client = client
        self.base_model = base_model
        self.adapter_root = os.path.join(os.path.abspath(output_dir), ADAPTER_DIR)
        self.prefix = prefix
        self.version = 0
        self.adapter: Optional[str] = None

    @classmethod
    def connect(cls, cfg, rt) -> "OpenAIRollout":
        """The engine of a grpo/ppo config: the key from its variable, the base model from /models, and (main
        rank) an earlier attempt's adapters unloaded, so a resumed job starts from its checkpoint's."""
        key = None
        if cfg.rollout_api_key_env:
            key = os.environ.get(cfg.rollout_api_key_env)
            if not key:
                raise ConfigError("rollout_api_key_env", f"the environment variable {cfg.rollout_api_key_env} "
                                                         "is not set")
        client = Client(cfg.rollout_url, key, cfg.rollout_timeout_s)
        listing = client.request("GET", "/models")
        engine = cls(client, base_model_of(listing, cfg.rollout_model, client.base_url), cfg.output_dir,
                     adapter_prefix(cfg.output_dir))
        if rt.is_main:
            engine.unload_leftovers(listing)
        rt.barrier()
        log.info("rollouts from %s (%s); adapters as %s-step-<n> from %s", client.base_url, engine.base_model,
                 engine.prefix, engine.adapter_root)
        return engine

    @property
    def model(self) -> str:
        return self.adapter or self.base_model

    def adapters_loaded(self, listing: Optional[Any] = None) -> list[str]:
        """Names of the LoRA adapters the server lists (``parent`` set)."""
        listing = self.client.request("GET", "/models") if listing is None else listing
        return [m["id"] for m in listing.get("data", []) if isinstance(m, dict) and m.get("parent")]

    def unload_leftovers(self, listing: Any) -> None:
        for name in self.adapters_loaded(listing):
            if name.startswith(self.prefix + "-step-"):
                log.info("unloading %s, left by an earlier attempt of this job", name)
                self._unload(name)
        shutil.rmtree(self.adapter_root, ignore_errors=True)

    def _unload(self, name: str) -> None:
        """An adapter the server no longer has (restarted, or unloaded by hand) is no reason to stop training."""
        try:
            self.client.request("POST", "/unload_lora_adapter", {"lora_name": name})
        except RolloutRefused as e:
            log.warning("could not unload %s: %s", name, e)

    def complete(self, prompts: list[list[int]], n: int, max_tokens: int, temperature: float, top_p: float,
                 seed: Optional[int], eos_id: int) -> list[list[int]]:
        """``n`` completions of each prompt, prompt-major, each ending with EOS if the model stopped. top_k,
        min_p and the penalties are sent at their neutral values: vLLM would otherwise take them from the
        model's generation_config.json, and the trainer samples with none of them."""
        body = {"model": self.model, "prompt": prompts, "n": n, "max_tokens": max_tokens,
                "temperature": temperature, "top_p": top_p, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0,
                "logprobs": 0, "return_tokens_as_token_ids": True}
        if seed is not None:
            body["seed"] = seed
        try:
            response = self.client.request("POST", "/completions", body)
        except RolloutRefused as e:
            if e.status == 404:  # the adapter is gone (a restarted server): a resumed job loads it again
                raise RolloutServerError(f"{e} (model {self.model!r})") from None
            raise ConfigError("rollout_url", str(e)) from None
        return completion_ids(response, len(prompts) * n, eos_id)

    def sync(self, lm, version: int, rt) -> None:
        """Serve the policy after ``version`` optimizer steps: (main rank) its adapter saved with peft's
        save_pretrained and loaded, the previous one unloaded and its folder removed; then every rank uses it."""
        if version == self.version:
            return
        name = f"{self.prefix}-step-{version}" if version > 0 else None
        if rt.is_main:
            if name is not None:
                self._load(name, self._save(lm, version))
            if self.adapter is not None:
                self._unload(self.adapter)
                shutil.rmtree(os.path.join(self.adapter_root, f"step-{self.version}"), ignore_errors=True)
        rt.barrier()
        self.adapter, self.version = name, version

    def _save(self, lm, version: int) -> str:
        """The adapter written through a temporary folder, so the server never reads half of one."""
        final = os.path.join(self.adapter_root, f"step-{version}")
        tmp = os.path.join(self.adapter_root, f".tmp-step-{version}")
        shutil.rmtree(tmp, ignore_errors=True)
        lm.save_pretrained(tmp)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return final

    def _load(self, name: str, path: str) -> None:
        try:
            self.client.request("POST", "/load_lora_adapter", {"lora_name": name, "lora_path": path})
        except RolloutRefused as e:
            if name in self.adapters_loaded():  # an earlier attempt's answer was lost, the load was not
                return
            hint = (" (vLLM: start it with --enable-lora, --max-lora-rank >= lora.r, and "
                    "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True; the path must be readable by the server)")
            raise ConfigError("rollout_url", f"{e}{hint}") from None
