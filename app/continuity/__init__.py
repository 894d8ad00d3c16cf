"""Story continuity: facts the book has established, and checks of a passage against them.

Leaf package beside app.memory. Imports `prompts` only, and takes the writer's records duck-typed
(anything with a character's id/name/aliases, a lore entry's id/title/keys/content/enabled): never
the Store, the engine, torch or the UI. The model-scored layer takes the engine's scorer as a plain
callable.
"""

from .branches import score_branches
from .checker import check_passage
from .facts import Evidence, Fact, GlossaryTerm, KnownName, RankScale, StoryFacts, make_fact, story_facts
from .findings import DETERMINISTIC_KINDS, BranchScore, Finding, Span, branch_score, rank_branches
from .model_check import Verdict, model_findings, model_verdicts, relevant_facts
from .notation import Imported, NotationProblem, import_from_lore, parse_fact, parse_glossary, parse_lines
from .sources import chapters_as_of, facts_for_project, facts_records_as_of, lore_as_of, lore_known_by

__all__ = [
    "DETERMINISTIC_KINDS", "BranchScore", "Evidence", "Fact", "Finding", "GlossaryTerm", "Imported", "KnownName",
    "NotationProblem", "RankScale", "Span", "StoryFacts", "Verdict", "branch_score", "check_passage",
    "import_from_lore", "make_fact", "model_findings", "model_verdicts", "parse_fact", "parse_glossary",
    "parse_lines", "rank_branches", "relevant_facts", "story_facts", "score_branches", "chapters_as_of",
    "facts_for_project", "facts_records_as_of", "lore_as_of", "lore_known_by",
]
