"""The package's layers, read from its imports: check them, and write ARCHITECTURE.md.

    python tools/architecture.py          # rewrite ARCHITECTURE.md from the code
    python tools/architecture.py --check  # exit 1 if ARCHITECTURE.md or the layering is out of date

Every module of ``gan_tutorial`` belongs to a layer (its sub-package; the modules at the top
belong to the top layer). A module may import from its own layer and the layers *before* it in
:data:`LAYERS`, never from a later one; inside the package, modules use the layered paths, not
the short names of ``gan_tutorial/__init__.py``; and the imports form no cycle.
``tests/test_architecture.py`` runs these checks and compares ARCHITECTURE.md with :func:`render`.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gan_tutorial"
LAYERS = ["core", "training", "evaluation", "theory", "exercises", "experiments", "top"]
"""From the bottom up; ``theory`` and ``exercises`` sit side by side (neither imports the other)."""
RANK = {"core": 0, "training": 1, "evaluation": 2, "theory": 3, "exercises": 3, "experiments": 4, "top": 5}
WHAT = {
    "core": "errors, data sets, models, losses, regularizers, augmentation, sampling, checkpoints",
    "training": "TrainConfig, the run loop shared by every method, the GAN step and fit, VEEGAN",
    "evaluation": "metrics (the pinned digit metric), plots, latent-space helpers",
    "theory": "the chapters' sympy derivations",
    "exercises": "the exercises' checkers",
    "experiments": "the leagues: methods and settings as data, runs, tables",
    "top": "the command line, a chapter's set-up, the short names",
}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 450, 60


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else "top"


def imports(name: str, path: Path) -> set[str]:
    """The package modules that ``name`` imports, anywhere in its file (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "gan_tutorial":
                continue
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # "from .core import data"
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "gan_tutorial")
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports (names that are not modules are dropped)."""
    mods = modules()
    return {name: {t for t in imports(name, path) if t in mods and t != name} for name, path in mods.items()}


def problems() -> list[str]:
    """Every broken rule, as a sentence naming the module and the fix."""
    from gan_tutorial import SHORT_NAMES

    mods, g, out = modules(), graph(), []
    for name, path in mods.items():
        for t in sorted(imports(name, path)):
            short = t.split(".")[1] if t.count(".") == 1 else None
            if short in SHORT_NAMES and name != "gan_tutorial":
                out.append(f"{name} imports the short name {t}: import gan_tutorial.{SHORT_NAMES[short]} instead")
        for t in sorted(g[name]):
            if RANK[layer(t)] > RANK[layer(name)] and name != "gan_tutorial":
                out.append(f"{name} ({layer(name)}) imports {t} ({layer(t)}), a later layer: move the shared code down")
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES:
            out.append(f"{name} has {len(lines)} lines (at most {MAX_MODULE_LINES}): split it by concept")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    out.append(f"{name}.{node.name} has {n} lines (at most {MAX_FUNCTION_LINES}): extract helpers")
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(g)]
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan's algorithm), if any."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group) + [sorted(group)[0]])

    sys.setrecursionlimit(10_000)
    for v in g:
        if v not in index:
            visit(v)
    return found


def render() -> str:
    """ARCHITECTURE.md's text, derived from the code."""
    g = graph()
    by_layer: dict[str, list[str]] = {}
    for name in g:
        by_layer.setdefault(layer(name), []).append(name)
    lines = ["# Architecture of `gan_tutorial`", "",
             "Generated by `python tools/architecture.py` from the package's imports; "
             "`tests/test_architecture.py` fails when it is out of date.", "",
             "Layers from the top of the stack down. A module imports only from its own layer and the layers "
             "below it; `theory` and `exercises` sit side by side. No module has more than "
             f"{MAX_MODULE_LINES} lines, no function more than {MAX_FUNCTION_LINES}, and the imports form no cycle.",
             "", "```"]
    for lay in reversed(LAYERS):
        uses = sorted({layer(t) for m in by_layer.get(lay, []) for t in g[m]} - {lay}, key=LAYERS.index)
        lines.append(f"{lay:12s} {WHAT[lay]}")
        lines.append(f"{'':12s}   imports from: {', '.join(uses) if uses else '(nothing in the package)'}")
    lines += ["```", "", "| layer | modules |", "|---|---|"]
    for lay in reversed(LAYERS):
        names = ", ".join(f"`{m.removeprefix('gan_tutorial.')}`" for m in sorted(by_layer.get(lay, [])))
        lines.append(f"| `{lay}` | {names} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    broken = problems()
    for line in broken:
        print(line)
    target = ROOT / "ARCHITECTURE.md"
    if args.check:
        stale = not target.exists() or target.read_text() != render()
        if stale:
            print("ARCHITECTURE.md is out of date: run python tools/architecture.py")
        return 1 if broken or stale else 0
    target.write_text(render())
    print(f"wrote {target}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
