"""The house's own rules: the library never imports the book's experiments, and the code passes ruff."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "lateint"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_the_library_never_imports_the_experiments():
    library = [p for p in LIBRARY.rglob("*.py") if "experiments" not in p.relative_to(LIBRARY).parts]
    assert len(library) > 10
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            m for m in imported_modules(p) if m.startswith("lateint.experiments")
        )
        for p in library
    }
    assert not {p: m for p, m in offenders.items() if m}, "the library imports lateint.experiments"


def test_the_import_check_sees_relative_imports():
    module = LIBRARY / "experiments" / "compare.py"
    assert "lateint.evaluate.run_method" in imported_modules(module)  # `from ..evaluate import run_method`


def test_no_import_cycles_in_the_library():
    library = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts): p
        for p in LIBRARY.glob("*.py")
        if p.name not in ("__init__.py", "__main__.py")
    }
    edges = {
        name: {m for m in imported_modules(path) if m in library and m != name}
        for name, path in library.items()
    }

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in edges[start])

    cycles = sorted(name for name in library if reaches(name, name, {name}))
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_ruff_passes():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.fail("ruff is not installed: `make test` installs it with the test extras")
    result = subprocess.run(
        [ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- what a chapter's code may be (issue 20: the visible code is the library call taught) --

CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
MAX_CELL_LINES, MAX_CHAPTER_LINES = 25, 1000


def code_cells(notebook: Path) -> list[tuple[list[str], str]]:
    """(tags, source) of each code cell."""
    import json

    cells = json.loads(notebook.read_text())["cells"]
    return [
        (c.get("metadata", {}).get("tags", []), "".join(c["source"]))
        for c in cells
        if c["cell_type"] == "code"
    ]


def lines(source: str) -> int:
    return sum(1 for line in source.splitlines() if line.strip())


def test_chapter_code_stays_short():
    sizes = {nb.stem: [lines(src) for _, src in code_cells(nb)] for nb in CHAPTERS}
    long_cells = {name: max(s) for name, s in sizes.items() if max(s) > MAX_CELL_LINES}
    assert not long_cells, f"cells over {MAX_CELL_LINES} lines: {long_cells}"
    total = sum(map(sum, sizes.values()))
    assert total <= MAX_CHAPTER_LINES, f"{total} lines of chapter code (at most {MAX_CHAPTER_LINES})"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_draw_no_figure_and_generate_no_prose(notebook):
    for _, source in code_cells(notebook):
        assert not re.search(r"\bplt\.|\.subplots\(|\bax\d?\.", source), (
            f"{notebook.stem}: a figure is drawn in a chapter cell (draw it in experiments/plots):\n{source}"
        )
        assert "Markdown(" not in source, (
            f"{notebook.stem}: prose assembled by code (write it in a markdown cell):\n{source}"
        )


def test_every_chapter_starts_with_the_same_setup_cell():
    """Colab opens a chapter alone: its first code cell installs lateint and fetches the data
    there, and pins the CPU kernels wherever the chapter runs (before torch is imported)."""
    import json

    import yaml

    firsts = {}
    for notebook in CHAPTERS:
        cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
        firsts[notebook.stem] = "".join(cells[0]["source"])
        assert "parameters" in cells[1]["metadata"].get("tags", []), notebook.stem
    assert len(set(firsts.values())) == 1, "the chapters' setup cells differ"
    setup = next(iter(firsts.values()))
    repository = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert f"git+{repository}" in setup  # the launch buttons' repository
    assert setup.index("ATEN_CPU_CAPABILITY") < setup.index("lateint.fetch")
    assert "import torch" not in setup and "from lateint" not in setup
