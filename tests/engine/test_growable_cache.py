"""GrowableLayer behaves exactly like DynamicLayer under every operation the engine uses; new_cache
picks the layer classes from the explicit width and the config."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig
from transformers.cache_utils import DynamicCache

from app.engine.kv_cache import GrowableLayer, Int8KVCache, new_cache


def test_same_contents_as_dynamic_cache_through_update_crop_repeat_select():
    torch.manual_seed(0)
    grow, plain = new_cache(LlamaConfig(num_hidden_layers=2), 16), DynamicCache()
    assert all(isinstance(layer, GrowableLayer) for layer in grow.layers)

    def both(op, *args):
        getattr(grow, op)(*args)
        getattr(plain, op)(*args)

    def update(batch: int, tokens: int):
        for layer in range(2):
            k, v = torch.randn(batch, 4, tokens, 8), torch.randn(batch, 4, tokens, 8)
            got, want = grow.update(k, v, layer), plain.update(k.clone(), v.clone(), layer)
            assert all(torch.equal(g, w) for g, w in zip(got, want))

    update(1, 300)  # past the first capacity
    both("crop", -7)
    update(1, 5)
    both("batch_repeat_interleave", 3)
    update(3, 1)
    update(3, 1)
    both("batch_select_indices", torch.tensor([0, 2]))
    update(2, 400)
    both("crop", -1)
    assert grow.get_seq_length() == plain.get_seq_length() == 300 - 7 + 5 + 2 + 400 - 1
    for g, p in zip(grow.layers, plain.layers):
        assert torch.equal(g.keys, p.keys) and torch.equal(g.values, p.values)


def test_int8_or_sliding_configs_keep_their_own_cache():
    from transformers import MistralConfig

    config = LlamaConfig(num_hidden_layers=2)
    assert isinstance(new_cache(config, 8), Int8KVCache)
    assert not hasattr(config, "kv_cache_bits")  # the width is an argument, never a config key
    sliding = new_cache(MistralConfig(num_hidden_layers=2, sliding_window=16), 16)
    assert sliding.layers and not any(isinstance(layer, GrowableLayer) for layer in sliding.layers)
    with pytest.raises(ValueError, match="8 or 16"):
        new_cache(config, 4)


def test_repeat_keeps_row_order_and_leaves_room_for_the_next_steps():
    layer = GrowableLayer()
    keys, values = torch.randn(2, 4, 10, 8), torch.randn(2, 4, 10, 8)
    layer.update(keys, values)
    spare = layer._buffers[0].shape[-2] - 10
    layer.update(torch.randn(2, 4, spare, 8), torch.randn(2, 4, spare, 8))  # the buffers are now full
    filled_keys, filled_values = layer.keys.clone(), layer.values.clone()
    layer.batch_repeat_interleave(3)
    assert torch.equal(layer.keys, filled_keys.repeat_interleave(3, dim=0))
    assert torch.equal(layer.values, filled_values.repeat_interleave(3, dim=0))
    key_buffer, value_buffer = layer._buffers[0].data_ptr(), layer._buffers[1].data_ptr()
    for _ in range(8):  # decode steps write into the repeated buffers, never copy them again
        layer.update(torch.randn(6, 4, 1, 8), torch.randn(6, 4, 1, 8))
    assert (layer._buffers[0].data_ptr(), layer._buffers[1].data_ptr()) == (key_buffer, value_buffer)
    assert torch.equal(layer.keys[:, :, : filled_keys.shape[-2]], filled_keys.repeat_interleave(3, dim=0))
