"""agentark trainer: the GPU jobs of the pipeline (sft, prm, grpo, generate, bench)."""

__version__ = "0.1.0"
