"""The package's layers read top-down: no module imports from a layer above its own (docs/tests.md "Layout")."""

import ast

from tests.conftest import REPO

# bottom to top: one-line errors; the shared helpers; data (decoding, shards, the renderers); what builds on data
# (media, the networks); the file formats; motion and metrics; inversion; the photo job; training; page, sweeps; CLIs.
# data_prep (entry points: user folders, the benchmark photos) sits above them all, and nothing imports it.
LAYERS = {
    "errors": 0,
    **dict.fromkeys(("config", "files", "frozen", "hardware", "loggers"), 1),
    "data": 2,
    "media": 3,
    "models": 3,
    "noise_warp": 3,
    "checkpoints": 4,
    "animation": 5,
    "metrics": 6,
    "inversion": 7,
    "photo": 8,
    "training": 9,
    "demo": 10,
    "sweep": 10,
    "cli": 11,
}


def imports(path):
    """Every ``dl_lightning.<part>`` a module imports, at its top or inside a function."""
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        yield from (n.split(".")[1] for n in names if n.startswith("dl_lightning."))


def test_no_module_imports_from_a_layer_above_it():
    package = REPO / "dl_lightning"
    upward = []
    for path in package.rglob("*.py"):
        part = path.relative_to(package).with_suffix("").parts[0]
        assert part in LAYERS or part == "__init__", f"{path.relative_to(REPO)}: add it to LAYERS"
        upward += [
            f"{path.relative_to(REPO)} imports dl_lightning.{t}"
            for t in imports(path)
            if LAYERS.get(t, 0) > LAYERS.get(part, 0)
        ]
    assert not upward, upward


#: Above the package: entry points (data_prep), then the scripts that use everything (bench, docs' figure script).
TOP = {"data_prep": 1, "bench": 2, "docs": 2}


def top_level_imports(path):
    """The top-level names (``dl_lightning``, ``data_prep``, ``bench``'s modules, ...) a file imports."""
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        yield from (n.split(".")[0] for n in names)


def test_nothing_imports_upwards_across_package_entry_points_and_scripts():
    """The package never imports data_prep, bench or docs; data_prep never imports bench or docs, nor another
    entry point; bench and docs import what they like below them (bench's own helpers by name, bench/ on the
    path). Checked by hand: an ``import data_prep.wallpapers`` added to dl_lightning/photo/region.py, and a
    ``from bench import x`` added to data_prep/wallpapers.py, each failed this test."""
    bench_modules = {p.stem for p in (REPO / "bench").glob("*.py")}
    for path in (REPO / "dl_lightning").rglob("*.py"):
        bad = set(top_level_imports(path)) & ({*TOP} | bench_modules)
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"
    for path in (REPO / "data_prep").glob("*.py"):
        bad = set(top_level_imports(path)) & ({"data_prep", "bench", "docs"} | bench_modules)
        assert not bad, f"{path.relative_to(REPO)} imports {bad}"
    for folder in ("bench", "docs"):
        for path in (REPO / folder).rglob("*.py"):
            assert not set(top_level_imports(path)) & {"tests"}, f"{path.relative_to(REPO)} imports the tests"
