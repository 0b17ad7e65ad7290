"""Layering rules: every module imports only its own layer or below, no import circle, extraction pure, the command
line fast to start."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import gate
import gate.extract

FORBIDDEN_IN_EXTRACT = ("flask", "sqlmodel", "sqlalchemy", "requests", "werkzeug", "apscheduler")
HEAVY_FOR_HELP = ("flask", "sqlalchemy", "sqlmodel", "cryptography", "requests", "gate.extract")
# The web, database and scheduler stacks: a developer's `gate features` / `gate check --filings` runs without them
# (issue #28: start-up is what every shell user and CI job pays for each package).
SERVER_STACKS = ("flask", "werkzeug", "jinja2", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "apscheduler",
                 "gunicorn", "requests", "urllib3")


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_extract_imports_no_web_or_database_library():
    names = [m.name for m in pkgutil.walk_packages(gate.extract.__path__, "gate.extract.")]
    assert "gate.extract.container" in names and "gate.extract.pipeline" in names
    loaded = _modules_after("\n".join(f"import {n}" for n in names))
    leaked = {m for m in loaded for bad in FORBIDDEN_IN_EXTRACT if m == bad or m.startswith(bad + ".")}
    assert not leaked, f"gate.extract pulled in {sorted(leaked)}"


def test_help_stays_lean():
    loaded = _modules_after(
        "import contextlib, io\nfrom gate.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--help'])")
    heavy = {m for m in loaded for bad in HEAVY_FOR_HELP if m == bad or m.startswith(bad + ".")}
    assert not heavy, f"`gate --help` imports {sorted(heavy)}"


def test_version_stays_lean():
    # `gate --version` prints gate.__version__: no scan of the installed distributions (importlib.metadata).
    loaded = _modules_after(
        "import contextlib, io\nfrom gate.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n    main(['--version'])")
    heavy = {m for m in loaded for bad in HEAVY_FOR_HELP + ("importlib.metadata",)
             if m == bad or m.startswith(bad + ".")}
    assert not heavy, f"`gate --version` imports {sorted(heavy)}"


def _modules_after_cli(*args: str) -> set[str]:
    return _modules_after(
        "import contextlib, io\nfrom gate.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main({list(args)!r})")


def _stacks(loaded: set[str]) -> list[str]:
    return sorted({m for m in loaded for bad in SERVER_STACKS if m == bad or m.startswith(bad + ".")})


def test_features_and_offline_check_load_no_server_stack(tmp_path):
    from tests.oracle import FIXTURES

    apk = str(FIXTURES / "hello_zh.apk")
    features = _modules_after_cli("features", "--json", apk)
    assert "gate.extract.pipeline" in features  # it did the work
    assert not _stacks(features), f"`gate features` imports {_stacks(features)}"
    filings = tmp_path / "filings.json"
    filings.write_text("[]", encoding="utf-8")
    check = _modules_after_cli("check", "--json", "--filings", str(filings), apk)
    assert "gate.decide" in check
    assert not _stacks(check), f"`gate check --filings` imports {_stacks(check)}"


# What a developer's `gate features` / `gate check --filings` never uses, imported only where it is used: the filing
# number grammar (the scanner needs only the province letters), the PII key codec (only with GATE_PII_KEY set),
# the filings reader's second process (large imports) and difflib (a filing to compare names with).
NOT_FOR_FEATURES = ("gate.filings.numbers", "gate.filings.problems", "gate.pii", "multiprocessing")
NOT_FOR_OFFLINE_CHECK = ("gate.pii", "multiprocessing", "difflib")


def test_features_and_offline_check_load_only_what_they_use(tmp_path):
    from tests.oracle import FIXTURES

    apk = str(FIXTURES / "hello_zh.apk")
    features = _modules_after_cli("features", "--json", apk)
    assert "gate.extract.filing_number" in features  # the scanner that needs the province letters ran
    assert not features & set(NOT_FOR_FEATURES), sorted(features & set(NOT_FOR_FEATURES))
    filings = tmp_path / "filings.json"
    filings.write_text("[]", encoding="utf-8")
    check = _modules_after_cli("check", "--json", "--filings", str(filings), apk)
    assert "gate.filings.stream" in check  # the filings file was read, in this process
    assert not check & set(NOT_FOR_OFFLINE_CHECK), sorted(check & set(NOT_FOR_OFFLINE_CHECK))


# Dataclasses on `gate features`' and `gate check --filings`' paths that are not records (gate.records): each compiles
# up to six methods from source when its module is imported. The scanner's and the filings reader's are theirs.
NOT_YET_RECORDS = {"gate.extract.network.finder.Findings"}
NOT_YET_RECORDS_CHECK = NOT_YET_RECORDS | {"gate.filings.", "gate.services."}


def _dataclasses_not_records(*args: str) -> set[str]:
    probe = (
        "import contextlib, io, sys\nfrom gate.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main({list(args)!r})\n"
        "from gate.records import RECORDS\n"
        "for name, module in list(sys.modules.items()):\n"
        "    if name.startswith('gate'):\n"
        "        for value in list(vars(module).values()):\n"
        "            if isinstance(value, type) and value.__module__ == name and '__dataclass_fields__' in vars(value)"
        " and value not in RECORDS:\n"
        "                print(f'{name}.{value.__qualname__}')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_features_and_offline_check_load_records_not_dataclasses(tmp_path):
    from tests.oracle import FIXTURES

    apk = str(FIXTURES / "hello_zh.apk")
    assert _dataclasses_not_records("features", "--json", apk) <= NOT_YET_RECORDS
    filings = tmp_path / "filings.json"
    filings.write_text("[]", encoding="utf-8")
    left = _dataclasses_not_records("check", "--json", "--filings", str(filings), apk)
    assert {name for name in left if not name.startswith(tuple(NOT_YET_RECORDS_CHECK))} == set(), left


def test_filing_number_pattern_is_compiled_on_the_first_hit_only():
    # Most packages contain no 备: the number's pattern is compiled when a 备 is found, not at import.
    loaded = _modules_after(
        "from gate.extract import filing_number as f\n"
        "assert f.find_numbers('no filing here'.encode()) == []\n"
        "assert f._number_pattern.cache_info().currsize == 0\n"
        "assert f.find_numbers('备案号：京ICP备2024000001号-1A'.encode()) == ['京ICP备2024000001号-1A']\n"
        "assert f._number_pattern.cache_info().currsize == 1")
    assert "gate.extract.filing_number" in loaded


def test_compiled_core_never_builds_the_python_path_patterns():
    # The dot and colon anchors (a trie of every bare TLD) and the URL-authority split belong to the pure-Python
    # path; with the compiled core a package with URLs and hosts is scanned without building them.
    loaded = _modules_after(
        "from gate.extract.network import core, finder\n"
        "if core.compiled_core is not None:\n"
        "    found = finder.Findings()\n"
        "    finder.scan_region(b'see https://api.example.com/v1 and cdn.example.net', found)\n"
        "    assert found.hosts, found.hosts\n"
        "    assert finder._anchor_patterns.cache_info().currsize == 0\n"
        "    assert finder._url_authorities.cache_info().currsize == 0\n"
        "    core.select('python')\n"
        "    again = finder.Findings()\n"
        "    finder.scan_region(b'see https://api.example.com/v1 and cdn.example.net', again)\n"
        "    assert again.hosts == found.hosts\n"
        "    assert finder._anchor_patterns.cache_info().currsize == 1\n"
        "    assert finder._url_authorities.cache_info().currsize == 1")
    assert "gate.extract.network.finder" in loaded


def _suffix_groups_built(code: str) -> str:
    """What ``code`` left of the public-suffix table: "unread", or the TLDs whose names were built."""
    probe = (code + "\nfrom gate.extract.network import suffixes\n"
             "print('unread' if suffixes._compiled is None and suffixes._parsed is None else\n"
             "      ' '.join(tld for tld, names in suffixes._GROUPS.items() if names is not None))")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()


def test_public_suffix_list_is_read_on_first_lookup_only():
    # The network scanner's public-suffix table is read on the first registrable-domain lookup (the compiled
    # file), and only the looked-up host's TLD has its names built; publicsuffixlist is never imported (its list is
    # found by the package's spec).
    imported = _modules_after("import gate.extract.network")
    assert "gate.extract.network.suffixes" in imported
    assert "publicsuffixlist" not in imported
    assert _suffix_groups_built("import gate.extract.network") == "unread"
    lookup = ("from gate.extract.network.domains import registrable_domain\n"
              "assert registrable_domain('api.example.co.uk') == 'example.co.uk'")
    for core in ("python", "compiled"):
        assert _suffix_groups_built(f"from gate.extract.network import core\ncore.select({core!r})\n{lookup}") == "uk"
    assert "publicsuffixlist" not in _modules_after(lookup)


def test_compiled_core_builds_the_suffix_table_on_first_lookup_only():
    # The compiled scanner core is handed suffixes.table and calls it on its first public-suffix look-up: a package
    # whose only URL names a namespace (never contacted, decided before any suffix is looked up) never reads it.
    left = _suffix_groups_built(
        "from gate.extract.network import core, domains, finder\n"
        "if core.compiled_core is not None:\n"
        "    assert domains.url_host('schemas.android.com') is None\n"
        "    found = finder.Findings()\n"
        "    finder.scan_region(b'xmlns:a=\"http://schemas.android.com/apk/res/android\"', found)\n"
        "    assert found.hosts == set()")
    assert left == "unread"


# The layers, top to bottom (docs/architecture.md). A module may import its own layer and any layer below it, never
# one above. The longest matching prefix places a module; a module no prefix places fails the test, so a new package
# is placed on purpose. gate.api.app is the composition root: the one module that builds the Flask app from the
# machine API's blueprints and the console's, so it sits above both.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("command line", ("gate.cli",)),
    ("commands", ("gate.commands", "gate.integrations")),
    ("composition root", ("gate.api.app",)),
    ("console", ("gate.web",)),
    ("machine API", ("gate.api",)),
    ("regulator sync", ("gate.sync",)),
    ("services", ("gate.services",)),
    ("database", ("gate.db",)),
    ("domain", ("gate.extract", "gate.decide", "gate.policy", "gate.filings", "gate.preinstall", "gate.config",
                "gate.exemptions", "gate.miniprogram", "gate.coverage", "gate.pairing", "gate.content_approvals",
                "gate.pii", "gate.names", "gate.hosts")),
    ("helpers", ("gate", "gate.errors", "gate.text", "gate.beijing_time", "gate.progress", "gate.records")),
)


def _gate_modules() -> dict[str, Path]:
    root = Path(gate.__file__).parent
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _compiled_modules() -> set[str]:
    """Modules built from C (gate.extract.network._hostcore): names to resolve imports by, not nodes of the graph."""
    root = Path(gate.__file__).parent
    return {".".join(p.relative_to(root.parent).parts[:-1] + (p.name.split(".")[0],))
            for pattern in ("*.c", "*.pyi", "*.so") for p in root.rglob(pattern)}


def _imported(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(gate module, line) for every import in ``path``, at any depth: a function-level import is an import."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:  # `from gate.x import y`: y is a module when gate/x/y.py (or y.c) exists
                name = f"{source}.{alias.name}"
                found.append((name if name in modules or name in _COMPILED else source, node.lineno))
    return sorted({(name, line) for name, line in found if name in modules})


_COMPILED = _compiled_modules()


def _layer(module: str) -> int:
    best = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    assert best is not None, f"{module} is in no layer: place it in LAYERS (and docs/architecture.md)"
    return best[0]


def _import_graph() -> dict[str, list[tuple[str, int]]]:
    modules = _gate_modules()
    return {module: _imported(module, path, modules) for module, path in modules.items()}


def test_every_module_imports_only_its_own_layer_or_below():
    graph = _import_graph()
    assert "gate.services.checks" in graph and "gate.db.tables" in graph and "gate.api.app" in graph
    upward = [f"{module} (a {LAYERS[_layer(module)][0]} module) imports {target} ({LAYERS[_layer(target)][0]}) "
              f"on line {line}"
              for module, targets in sorted(graph.items()) for target, line in targets
              if _layer(target) < _layer(module)]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph is a few hundred modules; recursion depth is not the point)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
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
                components.append(sorted(component))
    return components


def test_strongly_connected_finds_a_circle_and_nothing_else():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(_strongly_connected(graph)) == [["a", "b", "c"], ["d"], ["e"]]


def test_no_import_circle():
    graph = {module: {target for target, _ in targets} for module, targets in _import_graph().items()}
    circles = [component for component in _strongly_connected(graph)
               if len(component) > 1 or component[0] in graph[component[0]]]
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(c) for c in circles)


# One decision entry point (docs/architecture.md): the engine's decide() is called by gate.services.decisions, which
# looks up, decides and records, and by the stored check's replay, which decides again from stored inputs only.
DECIDERS = {"gate.services.decisions", "gate.db.checks"}


def test_only_the_entry_point_and_the_replay_call_the_engine():
    callers = []
    for module, path in sorted(_gate_modules().items()):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # `from gate.decide import decide`, or the module itself (`import gate.decide`, `from gate import decide`)
            if isinstance(node, ast.ImportFrom) and (
                    (node.module == "gate.decide" and any(alias.name == "decide" for alias in node.names))
                    or (node.module == "gate" and any(alias.name == "decide" for alias in node.names))):
                callers.append(module)
            elif isinstance(node, ast.Import) and any(alias.name == "gate.decide" for alias in node.names):
                callers.append(module)
    assert set(callers) == DECIDERS, sorted(set(callers) - DECIDERS)
