"""The import rules of DESIGN §2, checked by walking every module's AST.

app.ui -> app.studio -> {story_store, prompts, app.engine, app.memory}; only launch.py and app/config.py
read argv or the environment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "story_store", "prompts")

# module prefix -> prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "story_store": ("app", "gradio", "prompts", "torch", "transformers"),
    "prompts": ("app", "story_store", "gradio", "sqlalchemy", "torch"),
    "app.engine": ("app.ui", "app.studio", "app.memory", "app.config", "story_store", "prompts", "gradio", "sqlalchemy"),
    "app.memory": ("app.ui", "app.studio", "app.engine", "app.config", "gradio", "sqlalchemy", "torch"),
    "app.studio": ("app.ui", "app.config", "gradio"),
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
    for layer in ("app.config", "app.engine", "app.interchange", "story_store", "prompts", "launch"):
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


def test_the_checker_catches_a_violation():
    """The rules above are live: a forbidden import and an environ read are both detected."""
    tree = ast.parse("import os\nfrom gradio import Blocks\nx = os.environ['HOME']\n")
    assert "gradio.Blocks" in _imports(tree, "story_store.store")
    assert _reads_env_or_argv(tree)
    relative = ast.parse("from ..ui import tabs\nfrom . import records\n")
    assert {"app.ui.tabs", "app.engine.records"} <= _imports(relative, "app.engine.factory")
    assert {"app.ui.tabs", "app.engine.records"} <= _imports(relative, "app.engine", is_package=True)
