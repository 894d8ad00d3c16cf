"""Story memory: from a project's records to a prompt under an exact token budget (DESIGN §5).

Pure leaf package: imports `prompts` and `story_store.records` only; the studio passes records,
the engine's token counter and the store's search as plain callables.
"""

from .builder import build_context
from .characters import CharacterChoice, choose_characters
from .lore import LoreDecision, LoreSettings, ScanText, activate_lore
from .plan import (ChatLine, ContextBudgetError, ContextPlan, ContextTask, PlanItem, PlanSection,
                   TokenCache)
from .recent import cut_recent

__all__ = [
    "CharacterChoice", "ChatLine", "ContextBudgetError", "ContextPlan", "ContextTask", "LoreDecision",
    "LoreSettings", "PlanItem", "PlanSection", "ScanText", "TokenCache", "activate_lore", "build_context",
    "choose_characters", "cut_recent",
]
