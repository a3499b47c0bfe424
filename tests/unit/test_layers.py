"""The house's rooms and which way their imports may point, read from the source with ``ast``.

The rooms (README, "How it is built"): ``ledger`` (the write side) imports neither the read side
nor the edges; ``projections`` (the read side) may import ``ledger``, never ``api``; inside ``api``
the shared modules (settings, database, auth) import none of its folders, the service imports
neither the command line nor the demo, the demo imports only ``ledger``, and the command line
may import the service and the demo. Every import counts, a late one inside a function too:
a late import hides a cycle from the interpreter, not from a reader. And no two modules import
each other, directly or round a longer loop; and the README draws the same rooms.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ledger", "projections", "api")

#: A room, and the rooms of the bank it may import (stdlib and third-party imports are free).
#: A room's own modules may always import each other.
ALLOWED: dict[str, frozenset[str]] = {
    "ledger": frozenset(),
    "projections": frozenset({"ledger"}),
    "api": frozenset({"ledger", "projections"}),  # the shared modules at api/ itself
    "api.service": frozenset({"ledger", "projections", "api"}),
    "api.demo": frozenset({"ledger"}),
    "api.cli": frozenset({"ledger", "projections", "api", "api.service", "api.demo", "api.console"}),
    "api.console": frozenset({"ledger", "projections", "api", "api.service"}),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


MODULES = _sources()


def _imports(module: str, path: Path) -> Iterator[str]:
    """Every first-party module ``module`` imports, wherever the import statement stands."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from pkg import name`` names a submodule when there is one, else pkg itself.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in PACKAGES:
                yield target


GRAPH: dict[str, set[str]] = {module: set(_imports(module, path)) - {module} for module, path in MODULES.items()}


def room_of(module: str) -> str:
    """The room holding ``module``: ``api.service.routes`` -> ``api.service``, ``api.settings`` -> ``api``."""
    parts = module.split(".")
    if parts[0] == "api" and len(parts) > 1 and (ROOT / "api" / parts[1]).is_dir():
        return f"api.{parts[1]}"
    return parts[0]


def test_the_source_tree_is_read() -> None:
    # The walk found the rooms and their imports; an empty graph would make every check pass.
    assert {
        "ledger.completion",
        "projections.runner",
        "api.settings",
        "api.service.routes",
        "api.cli.main",
        "api.demo.builder",
    } <= MODULES.keys()
    assert "api.service.app" in GRAPH["api.cli.main"]
    assert room_of("api.service.routes") == "api.service"
    assert room_of("api.settings") == "api"
    assert room_of("projections.audit") == "projections"


def test_every_room_imports_only_the_rooms_it_may() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if room_of(target) != room_of(module) and room_of(target) not in ALLOWED[room_of(module)]
    )
    assert wrong == []


def test_nothing_but_the_command_line_imports_the_demo_or_the_service() -> None:
    # The narrow reading of the rule above, said plainly: the service never reaches its callers.
    importers = {
        module
        for module, targets in GRAPH.items()
        if any(
            room_of(target) in {"api.service", "api.demo"} and room_of(target) != room_of(module) for target in targets
        )
    }
    assert {room_of(module) for module in importers} <= {"api.cli", "api.console"}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(GRAPH):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(GRAPH[root] & GRAPH.keys())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child] & GRAPH.keys()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_modules_import_each_other_round_a_loop() -> None:
    assert _cycles() == []


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_is_named_for_a_folder_or_kept_for_one(room: str) -> None:
    # A room in the table is a package of the tree, or the console's place kept for it.
    folder = ROOT / room.replace(".", "/")
    assert folder.is_dir() or room == "api.console"


def _readme_rooms() -> dict[str, frozenset[str]]:
    """The rooms and their ``->`` lines as the README's "How it is built" draws them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## How it is built", 1)[1].split("```", 2)[1]
    rooms: dict[str, frozenset[str]] = {}
    room = ""
    for line in block.splitlines():
        if line[:1].isalpha() or (line.startswith("  ") and line[2:3].isalpha()):
            folder = line.split()[0].rstrip("/")
            room = f"api.{folder}" if line.startswith("  ") else folder
        elif line.strip().startswith("->") and room in ALLOWED:
            said = line.strip()[2:].replace("(shared)", "").split(",")
            names = {name.strip().rstrip("/") for name in said} - {"nothing of ours"}
            rooms[room] = frozenset(name if name in PACKAGES else f"api.{name}" for name in names)
    return rooms


def test_the_readme_draws_the_rooms_the_code_keeps() -> None:
    assert _readme_rooms() == ALLOWED
