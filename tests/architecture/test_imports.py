"""The import rules of DESIGN §2, checked by walking every module's AST.

app.ui -> app.studio -> {story_store, prompts, app.engine, app.memory}; only launch.py and app/config.py
read argv or the environment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "story_store", "prompts", "messages")

# module prefix -> prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # the message catalogue is a leaf every layer may import: it imports no project package
    "messages": ("app", "story_store", "prompts", "gradio", "sqlalchemy", "torch", "transformers"),
    "story_store": ("app", "gradio", "prompts", "torch", "transformers"),
    "prompts": ("app", "story_store", "gradio", "sqlalchemy", "torch"),
    "app.engine": ("app.ui", "app.studio", "app.memory", "app.config", "story_store", "prompts", "gradio", "sqlalchemy"),
    "app.memory": ("app.ui", "app.studio", "app.engine", "app.config", "gradio", "sqlalchemy", "torch"),
    "app.studio": ("app.ui", "app.config", "gradio"),
    "app.continuity": ("app.ui", "app.studio", "app.engine", "app.memory", "app.config", "story_store", "gradio",
                       "sqlalchemy", "torch", "transformers"),
    # Learning (trainer, adapters, perplexity, dataset exports): a leaf beside the engine, may use app.engine.
    "app.training": ("app.ui", "app.studio", "app.memory", "app.config", "story_store", "prompts", "gradio", "sqlalchemy"),
    # File formats: a leaf beside the store, used by the studio; pure bytes <-> plain data.
    "app.interchange": ("app.ui", "app.studio", "app.engine", "app.memory", "app.config", "story_store", "prompts",
                        "gradio", "sqlalchemy", "torch", "transformers"),
    # The HTTP server wraps a built Gradio app; it knows nothing of the studio, store or model.
    "app.server": ("app.ui", "app.studio", "app.engine", "app.memory", "app.config", "story_store", "sqlalchemy",
                   "torch", "transformers"),
    # The UI never touches SQL, tensors or the store directly; it talks to the Studio.
    "app.ui": ("sqlalchemy", "torch", "transformers", "bitsandbytes", "story_store.store", "app.engine.transformers_engine", "app.config"),
}
ENV_READERS = {"app.config", "launch"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> list[tuple[str, Path]]:
    found = [(_module_name(p), p) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]
    found.append(("launch", ROOT / "launch.py"))
    return found


def _imports(tree: ast.AST, module: str, is_package: bool = False) -> set[str]:
    names: set[str] = set()
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: level 1 is this module's package, 2 its parent...
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _reads_env_or_argv(tree: ast.AST) -> list[str]:
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            pair = (node.value.id, node.attr)
            if pair in {("os", "environ"), ("os", "getenv"), ("os", "putenv"), ("sys", "argv")}:
                hits.append(f"{pair[0]}.{pair[1]} at line {node.lineno}")
        elif isinstance(node, ast.ImportFrom) and node.module in {"os", "sys"}:
            for alias in node.names:
                if alias.name in {"environ", "getenv", "argv"}:
                    hits.append(f"from {node.module} import {alias.name} at line {node.lineno}")
        elif isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
            hits.append(f"import argparse at line {node.lineno}")
    return hits


MODULES = _modules()


def test_the_walk_sees_every_layer():
    names = {m for m, _ in MODULES}
    for layer in ("app.config", "app.engine", "app.interchange", "story_store", "prompts", "messages", "launch"):
        assert any(_matches(n, layer) for n in names), f"no module found for layer {layer}"


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_imports_flow_one_way(module: str, path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported = _imports(tree, module, path.name == "__init__.py")
    for layer, forbidden in FORBIDDEN.items():
        if not _matches(module, layer):
            continue
        bad = sorted(n for n in imported for f in forbidden if _matches(n, f))
        assert not bad, f"{module} (layer {layer}) imports {bad}"


@pytest.mark.parametrize("module,path", MODULES, ids=[m for m, _ in MODULES])
def test_only_config_and_launch_read_argv_or_environment(module: str, path: Path):
    if module in ENV_READERS:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    hits = _reads_env_or_argv(tree)
    assert not hits, f"{module} reads argv/environment: {hits}"


# app.studio: per-concept services over one core. Services sit above the core modules; a service never
# imports another service (they meet only in the core), and the core never imports a service.
STUDIO_SERVICES = tuple(f"app.studio.{name}" for name in (
    "library", "chapters", "settings", "writing", "branches", "polish", "roleplay", "exchange", "consistency",
    "history", "style", "preferences", "measures", "search", "tools"))
STUDIO_ROOT = ("app.studio", "app.studio.studio")  # the package and the Studio that composes the services
# app.ui: one module per tab; tabs share code only through these modules, never import each other.
UI_SHARED = ("app.ui", "app.ui.common", "app.ui.inputs", "app.ui.translator", "app.ui.strings", "app.ui.views",
             "app.ui.safe_text",
             "app.ui.history",  # history: the field-group history component
             "app.ui.language", "app.ui.place")


def _studio_layer_violations(module: str, imported: set[str]) -> list[str]:
    if not _matches(module, "app.studio") or module in STUDIO_ROOT:
        return []
    upward = [n for n in imported if n in STUDIO_ROOT]  # `from app.studio import X` reaches every service
    services = [n for n in imported for s in STUDIO_SERVICES if _matches(n, s) and not _matches(module, s)]
    return sorted(set(upward + services))


def _ui_tab_violations(module: str, imported: set[str]) -> list[str]:
    if not _matches(module, "app.ui") or module == "app.ui":
        return []
    return sorted(n for n in imported if _matches(n, "app.ui") and n.split(".")[:3] != module.split(".")[:3]
                  and ".".join(n.split(".")[:3]) not in UI_SHARED)


STUDIO_MODULES = [(m, p) for m, p in MODULES if _matches(m, "app.studio")]
UI_MODULES = [(m, p) for m, p in MODULES if _matches(m, "app.ui")]


def test_every_service_module_exists():
    names = {m for m, _ in MODULES}
    assert set(STUDIO_SERVICES) <= names


@pytest.mark.parametrize("module,path", STUDIO_MODULES, ids=[m for m, _ in STUDIO_MODULES])
def test_studio_services_import_only_downward_and_each_other_only_through_the_core(module: str, path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = _studio_layer_violations(module, _imports(tree, module, path.name == "__init__.py"))
    kind = "service" if module in STUDIO_SERVICES else "core module"
    assert not bad, f"{module} ({kind}) imports {bad}"


@pytest.mark.parametrize("module,path", UI_MODULES, ids=[m for m, _ in UI_MODULES])
def test_tabs_do_not_import_tabs(module: str, path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = _ui_tab_violations(module, _imports(tree, module, path.name == "__init__.py"))
    assert not bad, f"{module} imports {bad}; share code through {', '.join(UI_SHARED[1:])}"


@pytest.mark.parametrize("module,path", UI_MODULES, ids=[m for m, _ in UI_MODULES])
def test_the_ui_uses_only_the_studio_package_api(module: str, path: Path):
    """The UI reaches use cases as `studio.<service>.<method>` and imports only `app.studio` itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    imported = _imports(tree, module, path.name == "__init__.py")
    studio_modules = {m for m, _ in STUDIO_MODULES} - {"app.studio"}
    internal = sorted({n for n in imported for m in studio_modules if _matches(n, m)})
    assert not internal, f"{module} imports studio internals {internal}; use what app.studio exports"


def test_the_layer_checks_catch_violations():
    service_to_service = _imports(ast.parse("from app.studio.writing import join_passage\n"), "app.studio.branches")
    assert _studio_layer_violations("app.studio.branches", service_to_service)
    core_to_service = _imports(ast.parse("from app.studio import polish\n"), "app.studio.core")
    assert _studio_layer_violations("app.studio.core", core_to_service)
    upward = _imports(ast.parse("from app.studio import Studio\n"), "app.studio.writing")
    assert _studio_layer_violations("app.studio.writing", upward)
    through_core = _imports(ast.parse("from app.studio.core import StudioCore\n"), "app.studio.writing")
    assert not _studio_layer_violations("app.studio.writing", through_core)
    tab_to_tab = _imports(ast.parse("from app.ui.write import saved_outputs\n"), "app.ui.polish")
    assert _ui_tab_violations("app.ui.polish", tab_to_tab)
    assert not _ui_tab_violations("app.ui.polish", _imports(ast.parse("from app.ui.views import x\n"), "app.ui.polish"))


def test_the_checker_catches_a_violation():
    """The rules above are live: a forbidden import and an environ read are both detected."""
    tree = ast.parse("import os\nfrom gradio import Blocks\nx = os.environ['HOME']\n")
    assert "gradio.Blocks" in _imports(tree, "story_store.store")
    assert _reads_env_or_argv(tree)
    relative = ast.parse("from ..ui import tabs\nfrom . import records\n")
    assert {"app.ui.tabs", "app.engine.records"} <= _imports(relative, "app.engine.factory")
    assert {"app.ui.tabs", "app.engine.records"} <= _imports(relative, "app.engine", is_package=True)
