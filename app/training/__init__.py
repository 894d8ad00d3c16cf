"""Learning from the writer: the project's own trainer (from scratch and LoRA/QLoRA with peft),
perplexity evaluation, training memory estimates and dataset exports.

A leaf package: it may import app.engine (the XVERSE model, the tokenizer builder) but never the
studio, the UI, the store or Gradio. Inputs are plain strings and records; outputs are files under
directories the caller names, plus plain dataclasses describing what happened.
"""
