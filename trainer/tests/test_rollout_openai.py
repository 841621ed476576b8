"""The openai rollout engine (rollout_client.py) against the real local server (serve.py, started in a
subprocess with the tiny test model) and against a scripted fake for the HTTP failures."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import torch

from agentark_trainer import data, grpo, ppo, rollout_client
from agentark_trainer.config import ConfigError, GrpoConfig, PpoConfig, load_config
from agentark_trainer.runtime import Runtime

from conftest import write_jsonl

LORA = {"r": 4, "alpha": 8}
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    """``python -m agentark_trainer serve`` on a free port: its base URL and its log (one line per request)."""
    log_path = tmp_path_factory.mktemp("serve") / "stderr.log"
    with open(log_path, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "agentark_trainer", "serve", "--model", tiny_model_dir,
                                 "--port", "0"], stdout=subprocess.PIPE, stderr=err, text=True, env=ENV)
    lines = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(120)
    if not lines or not lines[0]:
        proc.kill()
        pytest.fail(f"the server did not start: {log_path.read_text()[-3000:]}")
    ready = json.loads(lines[0])
    assert ready["ready"] and ready["model"] == tiny_model_dir
    yield SimpleNamespace(url=ready["url"], log=log_path)
    proc.terminate()
    proc.wait(30)


@pytest.fixture(scope="module")
def varied_data(tmp_path_factory):
    """grpo records whose prompts differ in length, so the rows are left-padded differently."""
    d = tmp_path_factory.mktemp("varied")
    prompts = ["Hi?", "What is 3 plus 4?", "We add 5 and 6, then subtract 2 and add 9. What is the sum now?"]
    write_jsonl(d / "grpo.jsonl", [{"id": f"v{i}", "task": "numeric", "prompt": p, "gold": "1"}
                                   for i, p in enumerate(prompts)])
    return str(d / "grpo.jsonl")


def cfg_of(model_dir, data_file, out, cls=GrpoConfig, **kw):
    base = {"model": {"path": model_dir}, "data": data_file, "output_dir": str(out), "prm": None,
            "prm_weight": 0.0, "verifiable_weight": 1.0, "group_size": 4, "batch_size": 2, "max_new_tokens": 6,
            "lr": 3e-2, "max_steps": 2, "scheduler": "constant", "beta": 0.04, "truncated": "keep"}
    base.update(kw)
    return load_config(cls, base)


def test_openai_rollouts_equal_generate_where_sampling_is_deterministic(server, tiny_model_dir, varied_data,
                                                                        tmp_path):
    # at this temperature generate's sampling is an argmax, and the server decodes greedily (<= 1e-5)
    out = {}
    for engine in ("generate", "openai"):
        extra = {"rollout_url": server.url} if engine == "openai" else {}
        st = grpo.setup(cfg_of(tiny_model_dir, varied_data, tmp_path / engine, rollout_engine=engine, lora=LORA,
                               temperature=1e-6, max_new_tokens=5, group_size=2, **extra), Runtime())
        out[engine] = grpo.rollout(st, [0, 1, 2])
    a, b = out["generate"], out["openai"]
    assert len(set(a["attn"][:, :a["n_prompt"]].sum(-1).tolist())) == 3  # three prompt lengths
    assert a["texts"] == b["texts"] and any(a["texts"])
    assert torch.equal(a["ids"], b["ids"]) and torch.equal(a["attn"], b["attn"])
    assert torch.equal(a["mask"], b["mask"]) and torch.equal(a["stopped"], b["stopped"])


def served_greedy(st, prompt: list[int], max_tokens: int = 8) -> tuple[list[int], list[float]]:
    response = st.rollout.client.request("POST", "/completions", {
        "model": st.rollout.model, "prompt": [prompt], "max_tokens": max_tokens, "temperature": 0,
        "logprobs": 0, "return_tokens_as_token_ids": True})
    choice = response["choices"][0]
    return rollout_client.choice_ids(choice), choice["logprobs"]["token_logprobs"]


@torch.no_grad()
def policy_greedy(st, prompt: list[int], max_tokens: int = 8) -> list[int]:
    tok = st.tokenizer
    st.lm.eval()
    out = st.lm.generate(input_ids=torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                         do_sample=False, max_new_tokens=max_tokens, pad_token_id=tok.pad_token_id,
                         eos_token_id=tok.eos_token_id)[0, len(prompt):].tolist()
    return out[:out.index(tok.eos_token_id) + 1] if tok.eos_token_id in out else out


@torch.no_grad()
def logprobs_of(lm, prompt: list[int], completion: list[int]) -> torch.Tensor:
    ids = torch.tensor([prompt + completion])
    return grpo.token_logprobs(lm, ids, torch.ones_like(ids), len(prompt), 1.0)[0]


def mine(st) -> list[str]:
    return [n for n in st.rollout.adapters_loaded() if n.startswith(st.rollout.prefix)]


def test_lora_grpo_sends_its_adapter_to_the_server_after_every_update(server, tiny_model_dir, data_dir, tmp_path):
    cfg = cfg_of(tiny_model_dir, str(data_dir / "grpo.jsonl"), tmp_path / "run", rollout_engine="openai",
                 rollout_url=server.url, lora=LORA, max_steps=3)
    reward = lambda recs, texts: [float(len(t)) for t in texts]  # noqa: E731
    st = grpo.setup(cfg, Runtime(), reward_fn=reward)
    assert st.rollout.model == tiny_model_dir and mine(st) == []  # the base model before the first update
    prompt = data.prompt_ids(st.tokenizer, st.records[0]["prompt"])
    for step in range(2):
        res = grpo.train_step(st, step)
        assert res.metrics["sync_s"] > 0 and res.metrics["completion_length"] > 0
        # this update's adapter loaded, the one before unloaded, only the current one on disk
        assert mine(st) == [f"{st.rollout.prefix}-step-{step + 1}"] == [st.rollout.model]
        assert os.listdir(st.rollout.adapter_root) == [f"step-{step + 1}"]
        ids, served_lp = served_greedy(st, prompt)
        assert ids == policy_greedy(st, prompt)
        # the served log-probs are the trained policy's, and no longer the base model's: the adapter went over
        ours = logprobs_of(st.lm, prompt, ids)
        assert torch.allclose(torch.tensor(served_lp), ours, atol=1e-4)
        with st.lm.disable_adapter():
            assert (logprobs_of(st.lm, prompt, ids) - ours).abs().max() > 1e-3

    # another attempt of the same job (a resume) unloads what the first left, then serves its own weights
    again = grpo.setup(cfg, Runtime(), reward_fn=reward)
    assert mine(again) == [] and not os.path.exists(again.rollout.adapter_root)
    grpo.train_step(again, 2)  # step 2: its weights (a checkpoint's, in a real resume) go over before sampling
    assert mine(again) == [f"{again.rollout.prefix}-step-3"]


def test_ppo_with_the_openai_engine_runs_the_whole_job(server, tiny_model_dir, data_dir, tmp_path, event_log):
    cfg = cfg_of(tiny_model_dir, str(data_dir / "grpo.jsonl"), tmp_path / "ppo", cls=PpoConfig, group_size=2,
                 rollout_engine="openai", rollout_url=server.url, lora=LORA)
    ppo.main(cfg, Runtime(), None, reward_fn=lambda recs, texts: [float(len(t)) for t in texts])
    metrics = [m["metrics"] for m in event_log.of("metric")]
    assert len(metrics) == 2 and all(m["sync_s"] > 0 and "value_loss" in m for m in metrics)
    prefix = rollout_client.adapter_prefix(cfg.output_dir)
    listed = [m["id"] for m in rollout_client.Client(server.url).request("GET", "/models")["data"]]
    assert f"{prefix}-step-2" in listed and f"{prefix}-step-1" not in listed  # the trained policy stays served


def test_the_server_answers_the_openai_subset_and_refuses_the_rest(server, tiny_model_dir):
    client = rollout_client.Client(server.url, retries=0)
    ask = lambda **kw: client.request("POST", "/completions", {"model": tiny_model_dir, **kw})  # noqa: E731
    a = ask(prompt=["What is 3 plus 4?", "Hi"], n=3, max_tokens=4, temperature=1.0, seed=7, logprobs=0)
    assert [c["index"] for c in a["choices"]] == list(range(6))
    assert all(c["finish_reason"] in ("stop", "length") and len(c["logprobs"]["tokens"]) <= 4 for c in a["choices"])
    assert a["usage"]["completion_tokens"] == sum(len(c["logprobs"]["tokens"]) for c in a["choices"])
    assert len({tuple(c["logprobs"]["tokens"]) for c in a["choices"][:3]}) > 1  # n samples, not n copies
    assert ask(prompt=["What is 3 plus 4?", "Hi"], n=3, max_tokens=4, temperature=1.0, seed=7, logprobs=0) \
        ["choices"] == a["choices"]  # the seed fixes the samples
    for body, status in (({"prompt": [1, 2], "stream": True}, 400), ({"prompt": [1, 2], "logprobs": 5}, 400),
                         ({"prompt": [1, 2], "best_of": 2}, 400), ({"prompt": []}, 400),
                         ({"prompt": [1, 2], "model": "nope"}, 404)):
        with pytest.raises(rollout_client.RolloutRefused) as e:
            ask(**body)
        assert e.value.status == status, body
    # A bad Content-Length is a 400 at once, not a thread blocked reading the socket.
    host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
    for length in ("-1", "ten"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
            assert sock.recv(4096).split(b"\r\n")[0].endswith(b"400 Bad Request"), length


def run_cli(*args, timeout=180):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV, timeout=timeout)


def test_under_torchrun_rank_0_alone_sends_the_adapter_and_every_rank_samples(server, tiny_model_dir, data_dir,
                                                                             tmp_path):
    out = tmp_path / "ddp"
    cfg = tmp_path / "grpo.json"
    cfg.write_text(json.dumps({"model": {"path": tiny_model_dir}, "data": str(data_dir / "grpo.jsonl"),
                               "output_dir": str(out), "prm": None, "prm_weight": 0.0, "verifiable_weight": 1.0,
                               "group_size": 2, "batch_size": 1, "max_new_tokens": 4, "max_steps": 2,
                               "rollout_engine": "openai", "rollout_url": server.url, "lora": LORA}))
    seen = len(server.log.read_text())
    p = run_cli("-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "agentark_trainer",
                "grpo", "--config", str(cfg))
    assert p.returncode == 0, p.stderr[-3000:]
    evs = [json.loads(line) for line in p.stdout.splitlines()]
    assert [e["metrics"]["sync_s"] > 0 for e in evs if e["event"] == "metric"] == [True, True]
    requests = server.log.read_text()[seen:]
    assert requests.count("POST /v1/completions") == 4  # 2 ranks x 2 steps
    assert requests.count("POST /v1/load_lora_adapter") == 2 and requests.count("POST /v1/unload_lora_adapter") == 1
    assert f"{rollout_client.adapter_prefix(str(out))}-step-2" in [
        m["id"] for m in rollout_client.Client(server.url).request("GET", "/models")["data"]]


@pytest.mark.parametrize("cls,patch,field,words", [
    (GrpoConfig, {"rollout_engine": "openai", "rollout_url": "http://127.0.0.1:1/v1"}, "rollout_engine", "LoRA"),
    (PpoConfig, {"rollout_engine": "openai", "rollout_url": "http://127.0.0.1:1/v1"}, "rollout_engine", "LoRA"),
    (GrpoConfig, {"rollout_engine": "openai", "rollout_url": "http://127.0.0.1:1/v1", "parallel": "fsdp"},
     "rollout_engine", "fsdp"),
    (GrpoConfig, {"rollout_engine": "openai", "lora": LORA}, "rollout_url", "base URL"),
    (GrpoConfig, {"rollout_engine": "openai", "lora": LORA, "rollout_url": "127.0.0.1:8000"}, "rollout_url", "http"),
    (GrpoConfig, {"rollout_engine": "openai", "lora": LORA, "rollout_url": "http://h/v1",
                  "rollout_api_key_env": "sk-abc123"}, "rollout_api_key_env", "name of an environment variable"),
    (GrpoConfig, {"rollout_url": "http://h/v1"}, "rollout_url", "only used with rollout_engine openai"),
])
def test_bad_openai_engine_settings_are_refused_naming_the_field(tmp_path, cls, patch, field, words):
    base = {"model": {"path": "/m"}, "data": "d.jsonl", "output_dir": str(tmp_path), "prm": None, "prm_weight": 0.0,
            "verifiable_weight": 1.0}
    with pytest.raises(ConfigError) as e:
        load_config(cls, {**base, **patch})
    assert e.value.field == field and words in e.value.message
    assert "sk-abc123" not in str(e.value)  # a key put there by mistake is not echoed into the logs


# ----------------------------------------------------------------------------- a scripted fake server


class ScriptedFake:
    """A scripted fake of an OpenAI-compatible server: it answers the n-th request with the n-th (status, body)
    of its script (the last one once the script runs out) and records every request."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                fake.answer(self, None)

            def do_POST(self):  # noqa: N802
                fake.answer(self, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, handler, body) -> None:
        self.requests.append({"method": handler.command, "path": handler.path, "body": body,
                              "auth": handler.headers.get("Authorization")})
        status, payload = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        raw = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scripted_fake():
    fakes = []

    def make(*script):
        fakes.append(ScriptedFake(script))
        return fakes[-1]

    yield make
    for f in fakes:
        f.close()


def engine_on(url, tmp_path, key=None, retries=3):
    return rollout_client.OpenAIRollout(rollout_client.Client(url, key, 5.0, retries=retries, backoff_s=0.01),
                                        "base", str(tmp_path), "job")


def tokens(*ids):
    return {"tokens": [f"token_id:{i}" for i in ids]}


ERROR = {"error": {"message": "the engine is restarting", "type": "InternalServerError", "code": 500}}
EOS = 9


def test_a_server_error_is_retried_and_choices_are_put_in_index_order(scripted_fake, tmp_path):
    # out of order, and the server lists the stop token for one sample only
    choices = [{"index": 2, "finish_reason": "stop", "logprobs": tokens(5, EOS)},
               {"index": 0, "finish_reason": "length", "logprobs": tokens(1, 2, 3, 4)},
               {"index": 3, "finish_reason": "stop", "logprobs": tokens()},
               {"index": 1, "finish_reason": "stop", "logprobs": tokens(7)}]
    fake = scripted_fake((500, ERROR), (500, ERROR), (200, {"choices": choices}))
    ids = engine_on(fake.url, tmp_path, key="k-123").complete([[1, 2], [3]], 2, 4, 0.7, 1.0, 42, EOS)
    assert ids == [[1, 2, 3, 4], [7, EOS], [5, EOS], [EOS]]
    assert len(fake.requests) == 3 and all(r["path"] == "/v1/completions" for r in fake.requests)
    body = fake.requests[-1]["body"]
    assert body["prompt"] == [[1, 2], [3]] and body["n"] == 2 and body["max_tokens"] == 4 and body["seed"] == 42
    assert body["logprobs"] == 0 and body["return_tokens_as_token_ids"] is True and body["model"] == "base"
    assert body["top_k"] == -1  # never a top-k from the model's generation_config.json
    assert fake.requests[-1]["auth"] == "Bearer k-123"


def test_a_refused_key_fails_at_once_naming_the_url(scripted_fake, tmp_path):
    fake = scripted_fake((401, {"error": {"message": "invalid API key", "code": 401}}))
    with pytest.raises(ConfigError) as e:  # exit 2: asking again gets the same answer
        engine_on(fake.url, tmp_path).complete([[1]], 2, 4, 1.0, 1.0, 0, EOS)
    assert e.value.field == "rollout_api_key_env"
    assert f"{fake.url}/completions" in str(e.value) and "401" in str(e.value) and "invalid API key" in str(e.value)
    assert len(fake.requests) == 1


def test_a_server_that_keeps_failing_or_is_not_there_fails_after_the_retries(scripted_fake, tmp_path):
    fake = scripted_fake((503, ERROR))
    with pytest.raises(rollout_client.RolloutServerError) as e:  # a plain error: exit 1, the job is retried
        engine_on(fake.url, tmp_path, retries=2).complete([[1]], 2, 4, 1.0, 1.0, 0, EOS)
    assert f"{fake.url}/completions" in str(e.value) and "503" in str(e.value) and "3 times" in str(e.value)
    assert len(fake.requests) == 3
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    t0 = time.perf_counter()
    with pytest.raises(rollout_client.RolloutServerError, match=f"{url}/completions"):
        engine_on(url, tmp_path, retries=1).complete([[1]], 2, 4, 1.0, 1.0, 0, EOS)
    assert time.perf_counter() - t0 < 5


def test_a_refused_key_exits_2_naming_the_field_and_the_url(scripted_fake, tmp_path, tiny_model_dir, data_dir):
    fake = scripted_fake((401, {"error": {"message": "invalid API key", "code": 401}}))
    cfg = tmp_path / "grpo.json"
    cfg.write_text(json.dumps({"model": {"path": tiny_model_dir}, "data": str(data_dir / "grpo.jsonl"),
                               "output_dir": str(tmp_path / "run"), "prm": None, "prm_weight": 0.0,
                               "verifiable_weight": 1.0, "rollout_engine": "openai", "rollout_url": fake.url,
                               "lora": LORA}))
    p = run_cli("-m", "agentark_trainer", "grpo", "--config", str(cfg))
    err = json.loads(p.stdout.splitlines()[-1])
    assert p.returncode == 2 and err["code"] == 2 and err["resumable"] is False
    assert err["field"] == "rollout_api_key_env" and f"{fake.url}/models" in err["message"]


def test_connect_takes_the_key_from_its_variable_and_unloads_this_jobs_leftovers(scripted_fake, tmp_path,
                                                                                  monkeypatch):
    out = tmp_path / "job"
    prefix = rollout_client.adapter_prefix(str(out))
    listing = {"object": "list", "data": [{"id": "Qwen/Qwen3-0.6B", "parent": None},
                                          {"id": "someone-else-step-3", "parent": "Qwen/Qwen3-0.6B"},
                                          {"id": f"{prefix}-step-7", "parent": "Qwen/Qwen3-0.6B"}]}
    fake = scripted_fake((200, listing), (200, "Success"))
    cfg = cfg_of("/m", "d.jsonl", out, rollout_engine="openai", rollout_url=fake.url, lora=LORA,
                 rollout_api_key_env="ROLLOUT_TEST_KEY")
    with pytest.raises(ConfigError) as e:
        rollout_client.OpenAIRollout.connect(cfg, Runtime())
    assert e.value.field == "rollout_api_key_env" and "ROLLOUT_TEST_KEY" in str(e.value)
    monkeypatch.setenv("ROLLOUT_TEST_KEY", "secret-1")
    engine = rollout_client.OpenAIRollout.connect(cfg, Runtime())
    assert engine.model == "Qwen/Qwen3-0.6B"
    assert [(r["method"], r["path"], r["body"]) for r in fake.requests] == [
        ("GET", "/v1/models", None), ("POST", "/v1/unload_lora_adapter", {"lora_name": f"{prefix}-step-7"})]
    assert {r["auth"] for r in fake.requests} == {"Bearer secret-1"}
