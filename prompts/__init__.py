"""The prompt templates (prompts/<language>/*.j2) and the tiny strict renderer that fills them.

Owns every word the model reads: no prompt text lives in Python. Invariants:
- rendering is strict: a variable a template uses but the caller did not pass raises
  `PromptError` (jinja2 StrictUndefined), never renders as an empty string;
- autoescape is off (prompts are plain text) and a template's last character is kept exactly as
  written (`keep_trailing_newline`), so each template ends where the model should continue;
- each public template declares its stop markers with `{% set stop = [...] %}`; a template whose
  markers depend on its values (e.g. the role-play partner's name) computes them from those values;
- files whose names start with "_" are partials (shared layout, item macros), not tasks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta, nodes

PROMPTS_DIR = Path(__file__).resolve().parent
LANGUAGES = ("zh", "en")
ITEMS_TEMPLATE = "_items.j2"


class PromptError(ValueError):
    """A template is unknown, or was rendered with missing or wrong values."""


@lru_cache(maxsize=None)
def _environment(language: str) -> jinja2.Environment:
    if language not in LANGUAGES:
        raise PromptError(f"unknown prompt language {language!r}; expected one of {LANGUAGES}")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROMPTS_DIR / language),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,  # a block tag's own newline is not output
        lstrip_blocks=True,
        auto_reload=False,
    )


def _template(language: str, name: str) -> jinja2.Template:
    file_name = name if name.endswith(".j2") else f"{name}.j2"
    try:
        return _environment(language).get_template(file_name)
    except jinja2.TemplateNotFound:
        known = ", ".join(list_templates(language))
        raise PromptError(f"no prompt template {name!r} for language {language!r} (known: {known})")


def list_templates(language: str) -> list[str]:
    """Task template names (without .j2) for `language`, sorted; partials are left out."""
    names = _environment(language).list_templates(extensions=["j2"])
    return sorted(n[:-3] for n in names if not n.startswith("_"))


def render(language: str, template_name: str, **values: Any) -> str:
    """Render one task template; every variable it uses must be passed."""
    return render_with_stop(language, template_name, **values)[0]


def render_with_stop(language: str, template_name: str, **values: Any) -> tuple[str, tuple[str, ...]]:
    """Render a task template and return (prompt, stop strings computed from the same values)."""
    template = _template(language, template_name)
    try:
        module = template.make_module(values)
    except jinja2.UndefinedError as exc:
        raise PromptError(f"template {language}/{template_name}: {exc.message}") from exc
    return str(module), _stop_tuple(getattr(module, "stop", ()), template_name)


def render_item(language: str, macro_name: str, **values: Any) -> str:
    """Render one item macro of `_items.j2` (a character sheet, a summary line, a note, ...)."""
    module = _template(language, ITEMS_TEMPLATE).module
    macro = getattr(module, macro_name, None)
    if macro is None:
        raise PromptError(f"no item macro {macro_name!r} in {language}/{ITEMS_TEMPLATE}")
    try:
        return str(macro(**values))
    except (jinja2.UndefinedError, TypeError) as exc:
        raise PromptError(f"item {language}/{macro_name}: {exc}") from exc


def template_variables(language: str, name: str) -> set[str]:
    """Variables a template (and the partials it includes) reads from its caller."""
    return set(_template_variables(language, name))


@lru_cache(maxsize=256)
def _template_variables(language: str, name: str) -> frozenset[str]:
    env = _environment(language)
    found: set[str] = set()
    pending, seen = [name if name.endswith(".j2") else f"{name}.j2"], set()
    while pending:
        file_name = pending.pop()
        if file_name in seen:
            continue
        seen.add(file_name)
        _template(language, file_name)  # clear error for an unknown name
        source = env.loader.get_source(env, file_name)[0]  # type: ignore[union-attr]
        tree = env.parse(source)
        found |= meta.find_undeclared_variables(tree)
        pending.extend(t for t in meta.find_referenced_templates(tree) if t)
    return frozenset(found)


def stop_strings(language: str, template_name: str, **values: Any) -> tuple[str, ...]:
    """The stop markers a template declares. Constant lists need no values; computed ones do."""
    constant = _constant_stop(language, template_name)
    if constant is not None:
        return constant
    return render_with_stop(language, template_name, **values)[1]


def constant_list(language: str, template_name: str, variable: str) -> Any:
    """The constant value of a top-level `{% set variable = ... %}` (e.g. the polish presets)."""
    env = _environment(language)
    file_name = _template(language, template_name).name or ""
    source = env.loader.get_source(env, file_name)[0]  # type: ignore[union-attr]
    for assign in env.parse(source).find_all(nodes.Assign):
        if isinstance(assign.target, nodes.Name) and assign.target.name == variable:
            try:
                return assign.node.as_const() if isinstance(assign.node, nodes.Expr) else None
            except nodes.Impossible:
                return None
    raise PromptError(f"template {language}/{template_name} sets no {variable!r}")


def _constant_stop(language: str, template_name: str) -> tuple[str, ...] | None:
    value = constant_list(language, template_name, "stop")
    return None if value is None else _stop_tuple(value, template_name)


def _stop_tuple(value: Any, template_name: str) -> tuple[str, ...]:
    stops = tuple(value)
    if not stops or not all(isinstance(s, str) and s for s in stops):
        raise PromptError(f"template {template_name!r} must set `stop` to a list of non-empty strings")
    return stops
