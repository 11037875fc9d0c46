"""The layout holds: measured over the source, not taken on trust.

No import cycles among feedsvc/ and bot/ modules (imports under TYPE_CHECKING and
inside functions count too); nothing in feedsvc/ outside the composition root
imports bot/; the pure decision modules reach no Redis, aiohttp or Telegram module,
not even through the project modules they import; no module (bench and tests
included) is over 400 lines. Sanitising happens only in ingest (polled sources and
articles pushed through the API), and read paths use what was stored; pushability
is decided only where articles are written; benches take from tests/ only the fakes;
only feedsvc/urls.py tells a web URL by its scheme; an Ingestor is built only by
`Ingestor.from_settings`, and a configured Store only by `Store.from_settings`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("feedsvc", "bot")
COMPOSITION_ROOT = ("feedsvc.app", "feedsvc.lifecycle", "feedsvc.cli")
DECISIONS = (
    "feedsvc.ingest.schedule",
    "feedsvc.ingest.entries",  # pushability and entries -> articles
    "feedsvc.ingest.status",
    "bot.delivery.outcomes",
    "feedsvc.dates",
)
IO_LIBRARIES = ("redis", "aiohttp", "telegram")
MAX_LINES = 400
SANITIZER = "feedsvc.ingest.sanitize"
# What read paths may take from the sanitiser: a plain-text cut at a word, no cleaning.
READ_SIDE_TEXT = {"summarize"}
# Where articles are written (polls, POST /api/articles), and `feedsvc preview`, which
# shows the decision a poll would take for a stored article.
WEB_SCHEME_TEXTS = {"http", "https", "http://", "https://"}
URL_RULES = {"feedsvc.urls"}  # the one http(s) check, `http_url`, and its WEB_SCHEMES
PUSHABILITY_DECIDED_IN = {"feedsvc.ingest.pipeline", "feedsvc.publish.api", "feedsvc.cli.telegram"}


def module_files() -> dict[str, Path]:
    files = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            files[name] = path
    return files


def imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name an import in the file may refer to (module, or module.attr)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(project module -> project modules it imports, module -> outside top-level names)."""
    files = module_files()
    inside: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for name, path in files.items():
        inside[name], outside[name] = set(), set()
        for imported in imported_names(name, path):
            target = imported
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != name:
                inside[name].add(target)
            elif not target and imported:
                outside[name].add(imported.split(".")[0])
    return inside, outside


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for w in edges[todo.pop()] - seen:
            seen.add(w)
            todo.append(w)
    return seen


def test_the_cycle_finder_finds_a_cycle_and_only_it() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_imports_resolve_to_their_package(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text("from . import keys\nfrom ..models import Article\n")
    assert imported_names("feedsvc.storage.x", path) == {
        "feedsvc.storage",
        "feedsvc.storage.keys",
        "feedsvc.models",
        "feedsvc.models.Article",
    }


def test_no_import_cycles() -> None:
    inside, _ = graph()
    assert len(inside) > 50  # the walk saw the project
    assert cycles(inside) == []


def test_only_the_composition_root_imports_the_bot() -> None:
    inside, _ = graph()
    offenders = {
        name: sorted(t for t in targets if t.split(".")[0] == "bot")
        for name, targets in inside.items()
        if name.startswith("feedsvc.") and not name.startswith(COMPOSITION_ROOT)
    }
    assert {name: bots for name, bots in offenders.items() if bots} == {}
    assert any(t.startswith("bot") for t in inside["feedsvc.app"])  # the root does


def test_decision_modules_reach_no_redis_aiohttp_or_telegram() -> None:
    inside, outside = graph()
    for module in DECISIONS:
        assert module in inside, module
        io = {
            (m, lib) for m in reachable(inside, module) for lib in outside[m] if lib in IO_LIBRARIES
        }
        assert io == set(), module
    assert "redis" in outside["feedsvc.storage.store"]  # the check sees outside imports


def taken_from(module: str, name: str, path: Path) -> set[str]:
    """The names `path` imports from `module`; "*" for the module itself."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    parent, _, last = module.rpartition(".")
    taken = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            taken.update("*" for alias in node.names if alias.name == module)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, source] if source else base)
            if source == module:
                taken.update(alias.name for alias in node.names)
            elif source == parent:
                taken.update("*" for alias in node.names if alias.name == last)
    return taken


def test_only_ingest_sanitises_and_read_paths_use_what_was_stored() -> None:
    files = module_files()
    taken = {name: taken_from(SANITIZER, name, path) for name, path in files.items()}
    cleaning = {
        name: sorted(names - READ_SIDE_TEXT)
        for name, names in taken.items()
        if not name.startswith("feedsvc.ingest.") and names - READ_SIDE_TEXT
    }
    assert cleaning == {}
    assert "clean_html" in taken["feedsvc.ingest.parse.entry"]  # the check sees imports
    assert "clean_html" in taken["feedsvc.ingest.pushed"]
    _, outside = graph()
    assert {name for name, libs in outside.items() if "nh3" in libs} == {SANITIZER}


def test_pushability_is_decided_only_where_articles_are_written() -> None:
    files = module_files()
    deciders = {
        name
        for name, path in files.items()
        if "is_pushable" in taken_from("feedsvc.ingest.entries", name, path)
        or "*" in taken_from("feedsvc.ingest.entries", name, path)
    }
    assert deciders == PUSHABILITY_DECIDED_IN
    # The bot obeys what the event carries (`pushable`), with nothing of ingest's rule.
    inside, _ = graph()
    bots = {name: targets for name, targets in inside.items() if name.startswith("bot")}
    assert {name for name, targets in bots.items() if "feedsvc.ingest.entries" in targets} == set()


def scheme_tests(path: Path) -> int:
    """How many times `path` compares text with "http"/"https" (in, ==, startswith, a set)."""
    tree = ast.parse(path.read_text(), str(path))
    found = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            parts = node.args if node.func.attr in ("startswith", "endswith") else []
        else:
            continue
        for part in parts:
            found += sum(
                isinstance(c, ast.Constant) and c.value in WEB_SCHEME_TEXTS for c in ast.walk(part)
            )
    return found


def test_the_scheme_finder_counts_comparisons_only(tmp_path: Path) -> None:
    path = tmp_path / "x.py"
    path.write_text(
        'ok = u.startswith(("http://", "https://"))\n'
        'web = parts.scheme in ("http", "https")\n'
        'KEY = AppKey("http", object)\n'
        'SCHEMES = ("http", "https")\n'
    )
    assert scheme_tests(path) == 4


def test_one_http_url_check() -> None:
    files = module_files()
    counts = {name: scheme_tests(path) for name, path in files.items()}
    assert {name: n for name, n in counts.items() if n and name not in URL_RULES} == {}


def calls(path: Path, name: str, keywords: tuple[str, ...] = ()) -> int:
    """Calls of `name` (or `x.name`) in `path`; with `keywords`, only those passing one."""
    found = 0
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called == name and (not keywords or any(k.arg in keywords for k in node.keywords)):
            found += 1
    return found


def test_an_ingestor_is_built_only_from_settings() -> None:
    files = [p for top in ("feedsvc", "bot", "bench", "tests") for p in (ROOT / top).rglob("*.py")]
    hand_wired = {str(p.relative_to(ROOT)): n for p in files if (n := calls(p, "Ingestor"))}
    assert hand_wired == {}
    for root in ("feedsvc/lifecycle.py", "feedsvc/cli/ingest.py", "feedsvc/cli/sources.py"):
        assert calls(ROOT / root, "from_settings") > 0, root  # the check sees the factory
    # A store that writes (retention, max_categories) is the configured one everywhere.
    configured = ("retention", "max_categories")
    by_hand = {
        name: n
        for name, path in module_files().items()
        if name != "feedsvc.storage.store" and (n := calls(path, "Store", configured))
    }
    assert by_hand == {}


def test_benches_take_only_the_fakes_from_tests() -> None:
    benches = sorted((ROOT / "bench").glob("*.py"))
    taken = {
        path.name: {
            n for n in imported_names(f"bench.{path.stem}", path) if n.split(".")[0] == "tests"
        }
        for path in benches
    }
    others = {
        name: sorted(n for n in names if n != "tests.fakes" and not n.startswith("tests.fakes."))
        for name, names in taken.items()
    }
    assert {name: found for name, found in others.items() if found} == {}
    assert any(names for names in taken.values())  # benches do use the fakes


def test_no_module_is_over_400_lines() -> None:
    files = [p for top in ("feedsvc", "bot", "bench", "tests") for p in (ROOT / top).rglob("*.py")]
    assert len(files) > 100
    long = {
        str(p.relative_to(ROOT)): n
        for p in files
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, "split by topic rather than grow"
