"""Story continuity: facts the book has established, and checks of a passage against them.

Leaf package beside app.memory. Imports `prompts` and `story_store.records`-shaped plain records only
(duck-typed: anything with the record's attributes); never the Store, the engine, torch or the UI.
The model-scored layer takes the engine's scoring as a plain callable.
"""

from .checker import check_passage
from .facts import Evidence, Fact, GlossaryTerm, KnownName, RankScale, StoryFacts, make_fact, story_facts
from .findings import (DETERMINISTIC_KINDS, BranchScore, Finding, Span, branch_score, rank_branches)
from .notation import Imported, NotationProblem, import_from_lore, parse_fact, parse_glossary, parse_lines

__all__ = [
    "DETERMINISTIC_KINDS", "BranchScore", "Evidence", "Fact", "Finding", "GlossaryTerm", "Imported", "KnownName",
    "NotationProblem", "RankScale", "Span", "StoryFacts", "branch_score", "check_passage", "import_from_lore",
    "make_fact", "parse_fact", "parse_glossary", "parse_lines", "rank_branches", "story_facts",
]
