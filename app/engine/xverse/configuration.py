"""XverseConfig: the `model_type "xverse"` configuration, dense (7B/13B) and MoE (A4.2B/A5.7B).

Reads the official config.json as published (it carries `auto_map` to remote code, which we never
execute). The MoE variant is detected by `num_experts` being present, exactly like the official code.
"""

from __future__ import annotations

from typing import Any

from transformers import PreTrainedConfig


class XverseConfig(PreTrainedConfig):
    """Hyper-parameters of an XVERSE model; defaults are the XVERSE-MoE-A4.2B shape."""

    model_type = "xverse"
    keys_to_ignore_at_inference = ["past_key_values"]

    def __init__(  # noqa: PLR0913 - mirrors the official config.json keys one to one
        self,
        vocab_size: int = 100534,
        hidden_size: int = 2560,
        intermediate_size: int = 1728,
        num_hidden_layers: int = 28,
        num_attention_heads: int = 32,
        num_key_value_heads: int | None = None,
        hidden_act: str = "silu",
        max_position_embeddings: int = 8192,
        initializer_range: float = 0.02,
        rms_norm_eps: float = 1e-6,
        use_cache: bool = True,
        rope_theta: float = 500000.0,
        rope_scaling: dict[str, Any] | None = None,
        num_experts: int | None = None,
        moe_top_k: int | None = None,
        num_shared_experts: int | None = None,
        norm_topk_prob: bool = True,
        pad_token_id: int | None = 1,
        bos_token_id: int | None = 2,
        eos_token_id: int | None = 3,
        tie_word_embeddings: bool = False,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads or num_attention_heads
        self.head_dim = hidden_size // num_attention_heads
        self.hidden_act = hidden_act
        self.max_position_embeddings = max_position_embeddings
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = float(rope_theta)
        self.num_experts = num_experts
        self.moe_top_k = moe_top_k
        self.num_shared_experts = num_shared_experts
        # `moe_renormalize` is accepted as an alias; the official code renormalizes the top-k weights.
        self.norm_topk_prob = bool(kwargs.pop("moe_renormalize", norm_topk_prob))
        _validate_shape(self)
        ntk_factor = _dynamic_ntk_factor(rope_scaling)  # validates before anything else reads it
        if ntk_factor is not None:
            # transformers 5 spelling of the same thing (`rope_scaling` is deprecated there)
            kwargs["rope_parameters"] = {"rope_type": "dynamic", "factor": ntk_factor, "rope_theta": self.rope_theta}
        super().__init__(
            pad_token_id=pad_token_id,
            bos_token_id=bos_token_id,
            eos_token_id=eos_token_id,
            tie_word_embeddings=tie_word_embeddings,
            **kwargs,
        )
        # transformers 5 folds `rope_scaling` into `rope_parameters`; a reloaded config has only the latter.
        self.ntk_factor = ntk_factor or _dynamic_ntk_factor(getattr(self, "rope_parameters", None))

    @property
    def is_moe(self) -> bool:
        """True for the MoE variants (the official code keys this on `num_experts`)."""
        return self.num_experts is not None


def _dynamic_ntk_factor(rope_scaling: dict[str, Any] | None) -> float | None:
    """The dynamic-NTK factor from `rope_scaling`, or None when scaling is off (the default)."""
    if not rope_scaling:
        return None
    kind = rope_scaling.get("type", rope_scaling.get("rope_type"))
    if kind in (None, "default"):
        return None
    if kind != "dynamic":
        raise ValueError(f"XVERSE supports only rope_scaling type 'dynamic', got {kind!r}")
    factor = float(rope_scaling.get("factor", 0.0))
    if factor <= 1.0:
        raise ValueError(f"rope_scaling factor must be > 1, got {factor}")
    return factor


def _validate_shape(config: XverseConfig) -> None:
    """Reject shapes the model cannot be built with, with a message naming the bad key."""
    if config.hidden_size % config.num_attention_heads:
        raise ValueError(
            f"hidden_size {config.hidden_size} is not divisible by num_attention_heads "
            f"{config.num_attention_heads}"
        )
    if config.num_attention_heads % config.num_key_value_heads:
        raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
    if config.num_experts is not None:
        top_k = config.moe_top_k
        if top_k is None or not 1 <= top_k <= config.num_experts:
            raise ValueError(f"moe_top_k must be in [1, num_experts={config.num_experts}], got {top_k}")
