"""XverseModel / XverseForCausalLM: the decoder stack, positions and masks, cache handling,
`logits_to_keep`, and the PreTrainedModel plumbing that lets `from_pretrained` and `generate` work.

Module names equal the official checkpoint names (model.layers.{L}.self_attn.q_proj, ...mlp.router,
...mlp.experts.{e}.gate_proj, ...mlp.shared_experts.up_proj, model.norm, lm_head).
Shapes: B batch, T new tokens, P cached (past) tokens, H hidden, V vocab.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import GenerationMixin, PreTrainedModel
from transformers.cache_utils import Cache
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_utils import slice_logits_to_keep

from app.engine.kv_cache import new_cache
from app.engine.static_cache import StaticKVCache
from app.engine.xverse.attention import (
    XverseAttention,
    XverseRMSNorm,
    XverseRotary,
    build_attention_mask,
    signed_sin,
)
from app.engine.xverse.configuration import XverseConfig
from app.engine.xverse.moe import XverseMLP, XverseMoE

# transformers >= 5.24 names the output's cache `cache` (`past_key_values` is a deprecated alias).
CACHE_FIELD = "cache" if "cache" in BaseModelOutputWithPast.__dataclass_fields__ else "past_key_values"


class XverseDecoderLayer(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then h + mlp(norm(h)); the mlp is dense or MoE."""

    def __init__(self, config: XverseConfig, layer_idx: int) -> None:
        super().__init__()
        self.self_attn = XverseAttention(config, layer_idx)
        if config.is_moe:
            self.mlp: nn.Module = XverseMoE(config)
        else:
            self.mlp = XverseMLP(config.hidden_size, config.intermediate_size)
        self.input_layernorm = XverseRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.post_attention_layernorm = XverseRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,
        rotary: tuple[torch.Tensor, torch.Tensor],
        mask: torch.Tensor | None,
        cache: Cache | None,
    ) -> torch.Tensor:
        """[B, T, H] -> [B, T, H]."""
        attended = self.self_attn(self.input_layernorm(hidden_states), rotary, mask, cache)
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class XversePreTrainedModel(PreTrainedModel):
    """Shared PreTrainedModel settings: SDPA, cache support, fp32 router, no-split decoder layers."""

    config_class = XverseConfig
    config: XverseConfig
    base_model_prefix = "model"
    _no_split_modules = ["XverseDecoderLayer"]
    _skip_keys_device_placement = ["past_key_values", "cache"]
    _keep_in_fp32_modules_strict = ["router"]
    _supports_sdpa = True
    _supports_flash_attn = False
    _supports_flex_attn = False
    _can_compile_fullgraph = False
    # The attention runs decode steps on a SharedPrefixCache (N branches reading one prompt's K/V)
    shares_prompt_across_branches = True


def default_position_ids(
    attention_mask: torch.Tensor | None, past_length: int, length: int, device: torch.device
) -> torch.Tensor:
    """[B or 1, T] positions: count of real tokens before each one (left padding gets position 0)."""
    if attention_mask is None:
        return torch.arange(past_length, past_length + length, device=device)[None]
    positions = attention_mask.long().cumsum(-1) - 1  # [B, P + T]
    return positions.clamp(min=0)[:, -length:]


class XverseModel(XversePreTrainedModel):
    """Embedding -> decoder layers -> final RMSNorm; returns hidden states [B, T, H] and the cache."""

    def __init__(self, config: XverseConfig) -> None:
        super().__init__(config)
        self.padding_idx = config.pad_token_id
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx)
        self.layers = nn.ModuleList(XverseDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = XverseRMSNorm(config.hidden_size, eps=config.rms_norm_eps)
        self.rotary = XverseRotary(config)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        cache: Cache | None = None,
        **kwargs,
    ) -> BaseModelOutputWithPast:
        # transformers >= 5.24 passes the cache as `cache`; earlier 5.x as `past_key_values`.
        past_key_values = past_key_values if past_key_values is not None else cache
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids or inputs_embeds")
        if inputs_embeds is None:
            assert input_ids is not None  # exactly one of them was given (checked above)
            # The embedding may live on CPU (embed_on_cpu); move ids there and the result back.
            inputs_embeds = self.embed_tokens(input_ids.to(self.embed_tokens.weight.device))
        hidden_states = inputs_embeds.to(self.norm.weight.device)  # [B, T, H]
        if isinstance(past_key_values, StaticKVCache):
            return self._static_step(hidden_states, past_key_values)
        use_cache = self.config.use_cache if use_cache is None else use_cache
        if use_cache and past_key_values is None:
            past_key_values = new_cache(self.config, 16)  # callers wanting int8 pass their own cache
        past_length = past_key_values.get_seq_length() if past_key_values is not None else 0
        length, device = hidden_states.shape[1], hidden_states.device
        if attention_mask is not None:
            attention_mask = attention_mask.to(device)
        if position_ids is None:
            position_ids = default_position_ids(attention_mask, past_length, length, device)
        mask = build_attention_mask(attention_mask, past_length, length, device)
        cos, sin = self.rotary(position_ids.to(device), hidden_states.dtype, seq_len=past_length + length)
        rotary = (cos[:, None], signed_sin(sin)[:, None])  # [B, 1, T, D] each, shared by every layer
        for layer in self.layers:
            hidden_states = layer(hidden_states, rotary, _to(mask, hidden_states), past_key_values)
        hidden_states = self.norm(hidden_states)
        return BaseModelOutputWithPast(last_hidden_state=hidden_states, **{CACHE_FIELD: past_key_values})

    def _static_step(self, hidden_states: torch.Tensor, cache: StaticKVCache) -> BaseModelOutputWithPast:
        """One decode step [B, 1, H] on a static cache: position, RoPE length and mask are read from
        the device-side length (no host value enters, so the step can be captured as a graph)."""
        batch = hidden_states.shape[0]
        position_ids = cache.length.view(1, 1).expand(batch, 1)
        cos, sin = self.rotary(position_ids, hidden_states.dtype, seq_len=cache.length + 1)
        rotary = (cos[:, None], signed_sin(sin)[:, None])
        cache.begin_step()
        for layer in self.layers:
            hidden_states = layer(hidden_states, rotary, None, cache)
        cache.end_step()
        return BaseModelOutputWithPast(last_hidden_state=self.norm(hidden_states), **{CACHE_FIELD: cache})

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embed_tokens = value


def _to(mask: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    """The mask on the device of `like` (layers may be spread over devices by device_map)."""
    return None if mask is None else mask.to(like.device)


class XverseForCausalLM(XversePreTrainedModel, GenerationMixin):
    """XverseModel + untied lm_head; logits only for the last `logits_to_keep` positions."""

    _tied_weights_keys: dict[str, str] = {}

    def __init__(self, config: XverseConfig) -> None:
        super().__init__(config)
        self.model = XverseModel(config)
        self.vocab_size = config.vocab_size
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        cache: Cache | None = None,
        **kwargs,
    ) -> CausalLMOutputWithPast:
        """Returns logits [B, T or logits_to_keep, V] in fp32-or-model dtype, plus the cache."""
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values if past_key_values is not None else cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
        )
        hidden_states = slice_logits_to_keep(outputs.last_hidden_state, logits_to_keep)
        logits = self.lm_head(hidden_states.to(self.lm_head.weight.device))  # [B, T', V]
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)
        return CausalLMOutputWithPast(loss=loss, logits=logits, **{CACHE_FIELD: getattr(outputs, CACHE_FIELD)})

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embed_tokens

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.model.embed_tokens = value

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value
