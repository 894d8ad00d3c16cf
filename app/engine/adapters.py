"""LoRA adapters on the loaded local model: loaded with peft once each, switched by name, and
one prefix KV cache per adapter (a cache computed with one adapter is wrong for another).

peft injects the LoRA layers into the model's own modules, so the engine keeps calling the same
model object; `None` means the base model (adapter layers disabled). At most
`KEPT_PREFIX_CACHES` caches are held (the active one and the most recent others).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.engine.prefix_cache import PrefixCache
from app.engine.types import EngineError

KEPT_PREFIX_CACHES = 2


class AdapterSlots:
    def __init__(self, model: Any, base_prefix: PrefixCache) -> None:
        self._model = model
        self._peft: Any = None
        self.active: str | None = None
        self._caches: dict[str | None, PrefixCache] = {None: base_prefix}

    def activate(self, name: str | None, path: str | Path | None) -> PrefixCache:
        """Make `name` the adapter used for generation and return its prefix cache."""
        if name is not None:
            self._load(name, path)
            self._peft.base_model.enable_adapter_layers()
            self._peft.set_adapter(name)
        elif self._peft is not None:
            self._peft.base_model.disable_adapter_layers()
        self.active = name
        cache = self._caches.pop(name, None) or PrefixCache()
        self._caches[name] = cache  # most recent last
        while len(self._caches) > KEPT_PREFIX_CACHES:
            oldest = next(iter(self._caches))
            self._caches.pop(oldest).clear()
        return cache

    def _load(self, name: str, path: str | Path | None) -> None:
        if self._peft is not None and name in self._peft.peft_config:
            return
        if path is None or not Path(path, "adapter_config.json").is_file():
            raise EngineError(f"adapter {name!r} has no adapter files at {path}")
        from peft import PeftModel

        if self._peft is None:
            self._peft = PeftModel.from_pretrained(self._model, str(path), adapter_name=name, is_trainable=False)
        else:
            self._peft.load_adapter(str(path), adapter_name=name, is_trainable=False)
        self._model.eval()
