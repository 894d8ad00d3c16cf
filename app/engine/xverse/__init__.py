"""Native XVERSE (dense and MoE) for transformers 5; importing this package registers the
`xverse` model type with AutoConfig and AutoModelForCausalLM, so official checkpoints load with
`trust_remote_code=False`."""

from transformers import AutoConfig, AutoModelForCausalLM

from app.engine.xverse.configuration import XverseConfig
from app.engine.xverse.modeling import XverseForCausalLM, XverseModel, XversePreTrainedModel


def _register() -> None:
    """Idempotent registration (re-importing or reloading must not raise)."""
    AutoConfig.register("xverse", XverseConfig, exist_ok=True)
    AutoModelForCausalLM.register(XverseConfig, XverseForCausalLM, exist_ok=True)


_register()

__all__ = ["XverseConfig", "XverseForCausalLM", "XverseModel", "XversePreTrainedModel"]
