"""The shape of the package: no import cycles, and one definition of each shared piece of logic."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "zoo"


def _modules() -> dict[str, Path]:
    mods = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def import_graph() -> dict[str, set[str]]:
    """Module -> the zoo modules it imports anywhere in its file (function-level imports count too)."""
    mods = _modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for name, path in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {owner(a.name) for a in node.names if a.name.split(".")[0] == "zoo"}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "zoo":
                deps |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods else owner(node.module)
                         for a in node.names}
        graph[name] = deps - {None, name}
    return graph


def cycles(graph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_except_the_registry_loading_the_model_files():
    graph = import_graph()
    # The one allowed cycle: the registry imports zoo.models on first use, whose family files register.
    graph["zoo.registry"] -= {"zoo.models"}
    assert cycles(graph) == []


def _definitions(name: str) -> list[str]:
    # zoo/api.py is the public facade (``zoo.load_model`` ...): its functions take models or paths
    # and call the one definition of the library's function of the same name
    return [f"{path.relative_to(ROOT)}:{node.lineno}"
            for path in sorted(PACKAGE.rglob("*.py")) if path.name != "api.py" or path.parent != PACKAGE
            for node in ast.parse(path.read_text()).body  # module-level functions (methods may delegate)
            if isinstance(node, ast.FunctionDef) and node.name == name]


def test_one_definition_of_each_shared_function():
    for name in ("softmax", "predict_logits", "logits_and_labels", "class_index", "score_gradient",
                 "sha256_of", "load_model"):
        assert len(_definitions(name)) == 1, (name, _definitions(name))


def test_input_gradients_are_taken_in_one_module():
    # zoo/gradients.py is the seam; the multi-worker train step differentiates the weights, not inputs
    allowed = {"zoo/gradients.py", "zoo/training/distributed.py"}
    tapes = {str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py") if "GradientTape" in p.read_text()}
    assert tapes <= allowed, tapes - allowed


# What a command may import besides its one task module: errors, checks, the CLI's own helpers,
# registries (choices and help) and the training config (the options it fills in).
def _helper(module: str) -> bool:
    return (module in ("zoo", "zoo.errors", "zoo.checks", "zoo.progress", "zoo.training", "zoo.training.config")
            or module.startswith("zoo.cli") or module.endswith(".registry"))


def test_each_command_calls_one_library_task():
    heavy = {}
    for path in sorted((ROOT / "cli").glob("*.py")):
        for fn in ast.parse(path.read_text()).body:
            is_command = isinstance(fn, ast.FunctionDef) and any(
                getattr(d, "id", None) == "friendly_errors" for d in fn.decorator_list)
            if not is_command:
                continue
            tasks = {node.module for node in ast.walk(fn) if isinstance(node, ast.ImportFrom)
                     and (node.module or "").startswith("zoo") and not _helper(node.module)}
            if len(tasks) > 1:
                heavy[f"{path.name}:{fn.name}"] = sorted(tasks)
    assert heavy == {}


def test_zoo_train_defaults_are_trainconfigs():
    """Each default lives once, in TrainConfig (with the comment that says why)."""
    import typer

    from zoo.cli.main import app
    from zoo.training.config import defaults

    command = typer.main.get_command(app).commands["train"]
    config = defaults()
    shown = {p.name: p.default for p in command.params if p.name in config}
    assert len(shown) >= 40  # nearly every option is a config field
    wrong = {name: (value, config[name]) for name, value in shown.items()
             if value != config[name] and not (name == "input_shape" and value is None)}
    assert wrong == {}


def test_no_function_takes_more_than_eight_parameters():
    """A function with more than 8 parameters wants a record (``PreparedRun``, a config); keyword-only
    options with defaults do not count: they are named at every call and can be left out."""
    too_many = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                count = len(a.posonlyargs) + len(a.args) + sum(d is None for d in a.kw_defaults)
                if count > 8:
                    too_many.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({count})")
    assert not too_many, too_many


def test_each_cli_command_lives_in_the_module_named_after_it():
    """`zoo eval` is in cli/eval.py, `zoo data preview` in cli/data.py: a reader finds a command by its name."""
    import typer

    from zoo.cli.main import app

    def callbacks(command, top):
        if hasattr(command, "commands"):  # a group (`zoo data ...`)
            if command.callback is not None:
                yield top, command.callback
            for sub in command.commands.values():
                yield from callbacks(sub, top)
        else:
            yield top, command.callback

    root = typer.main.get_command(app)
    misplaced = {}
    for name, command in root.commands.items():
        for top, fn in callbacks(command, name):
            module = getattr(fn, "__wrapped__", fn).__module__
            if module != f"zoo.cli.{top}":
                misplaced[f"{top}:{fn.__name__}"] = module
    assert len(root.commands) >= 14 and misplaced == {}


# ---------------------------------------------------------------- the run directory has one owner


def _layout_names() -> set[str]:
    """What zoo/rundir.py names: its upper-case string constants ("{}" stands for a method's or layer's name)."""
    import zoo.rundir

    return {value for name, value in vars(zoo.rundir).items() if name.isupper() and isinstance(value, str)}


def _string_of(node) -> str | None:
    """A string constant, or an f-string with each ``{...}`` written as ``{}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def spelled_layout_names(source: str, names) -> list[tuple[int, str]]:
    """(line, name) of each layout name ``source`` spells itself.

    A file name (it has a dot, a slash or a "{}") counts anywhere in a string, messages and help
    texts included: they would lie once the name changed. A bare folder name ("logs", "images")
    counts where it is joined to a path (``run_dir / "logs"``): as a word it is only a word.
    Docstrings do not count: they describe the layout, they do not locate files.
    """
    tree = ast.parse(source)
    skip = set()
    for node in ast.walk(tree):
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
                and isinstance(node.body[0], ast.Expr) and _string_of(node.body[0].value) is not None):
            skip.add(id(node.body[0].value))
        if isinstance(node, ast.JoinedStr):  # its parts are read with it, as one string
            skip |= {id(v) for v in node.values}
    files = {name: re.compile(r"(?<![\w.-])" + r"[^/\s]*".join(map(re.escape, name.split("{}"))) + r"(?!\w)")
             for name in names if re.search(r"[./{]", name)}
    folders = {name for name in names if name not in files}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            found += [(node.lineno, side.value) for side in (node.left, node.right)
                      if isinstance(side, ast.Constant) and side.value in folders]
        text = None if id(node) in skip else _string_of(node)
        if text is not None:
            found += [(node.lineno, name) for name, pattern in files.items() if pattern.search(text)]
    return found


def test_the_layout_scanner_finds_names():
    snippet = '''
"""A docstring may say history.csv."""
a = run_dir / "history.csv"
b = f"Wrote {out}/metrics.json"
c = stage / f"maps_{method}.npy"
d = run_dir / "logs"
e = {"logs": 1, "model": "model.kerasish", "note": "see the logs"}
'''
    names = {"history.csv", "metrics.json", "maps_{}.npy", "logs", "model.keras"}
    assert sorted(spelled_layout_names(snippet, names)) == [
        (3, "history.csv"), (4, "metrics.json"), (5, "maps_{}.npy"), (6, "logs")]
    assert {"config.json", "history.csv", "metrics.json", "model.keras", "logs"} <= _layout_names()


def test_run_directory_names_are_spelled_only_in_zoo_rundir():
    """config.json, history.csv, the lock, the eval/explain/attack/ensemble folders' files: one owner."""
    names = _layout_names()
    spelled = {}
    for path in sorted([*PACKAGE.rglob("*.py"), *(ROOT / "cli").glob("*.py")]):
        where = str(path.relative_to(ROOT))
        if where == "zoo/rundir.py":
            continue
        for line, name in spelled_layout_names(path.read_text(), names):
            spelled.setdefault(f"{where}:{line}", []).append(name)
    assert spelled == {}


def _change_table() -> dict[str, str]:
    """docs/architecture.md's "What a change touches" table: change -> its "files" cell."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## What a change touches", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    return {cells[0].strip(): cells[1] for cells in rows[1:]}


def test_what_a_change_touches_is_true():
    """Each registry's records are defined where the table says a new one goes, and its paths exist."""
    import inspect
    import re

    from zoo.attack.registry import ATTACKS
    from zoo.cli.main import COMMAND_MODULES
    from zoo.data.sources import SOURCES
    from zoo.explain.registry import EXPLAIN_METHODS
    from zoo.registry import MODELS

    table = _change_table()
    assert {"a model family", "an explain method", "an attack", "a data source", "a command"} <= set(table)
    for change, cell in table.items():  # every path the table names exists (a <placeholder> matches any name)
        for path in re.findall(r"`((?:zoo|cli|tests|scripts)/[^`\s]+)`", cell):
            assert list(ROOT.glob(re.sub(r"<[^>]+>", "*", path))), (change, path)

    def where(fn) -> str:
        return str(Path(inspect.getsourcefile(fn)).relative_to(ROOT))

    def files(change: str) -> set[str]:
        return {p for p in re.findall(r"`((?:zoo|cli)/[^`\s]*<[^>]+>[^`\s]*)`", table[change])}

    placed = {"a model family": {where(s.builder) for s in MODELS},
              "an explain method": {where(m.compute) for m in EXPLAIN_METHODS},
              "an attack": {where(a.craft) for a in ATTACKS},
              "a data source": {where(s.load) for s in SOURCES},
              "a command": {f"cli/{m.rsplit('.', 1)[1]}.py" for m in COMMAND_MODULES}}
    for change, found in placed.items():
        patterns = [re.compile(re.sub(r"<[^>]+>", r"[a-z0-9_]+", re.escape(p).replace(r"\<", "<").replace(r"\>", ">")))
                    for p in files(change)]
        assert patterns, change
        astray = {f for f in found if not any(p.fullmatch(f) for p in patterns)}
        assert found and not astray, (change, astray)


# ---------------------------------------------------------------- one test kit, no registry listed by hand


def _imports_kit(tree) -> bool:
    return any((isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "kit")
               or (isinstance(node, ast.Import) and any(alias.name == "kit" for alias in node.names))
               for node in ast.walk(tree))


def test_every_test_file_uses_the_kit():
    """tests/kit.py is the one place for runners, tiny models, fake runs, generated data and the
    run_*_test helpers: a test file that builds its own has a copy that will drift."""
    loners = [path.name for path in sorted((ROOT / "tests").glob("test_*.py"))
              if not _imports_kit(ast.parse(path.read_text()))]
    assert loners == [], f"import your helpers from tests/kit.py: {loners}"


# A literal allowed to name several records, and why (a fact about those records, not a copy of a registry).
NAMED_ON_PURPOSE = {
    ("tests/test_shipped_weights.py", "SHORT_OF_THE_GOAL"): "the shipped models that really miss their floor",
    ("tests/test_backends.py", "MODELS"): "the shipped models issue 22 compares across backends",
    ("tests/test_backends.py", "ATTACKS"): "the attacks whose robust accuracies issue 22 compares",
}


def _normal(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def hand_listed_names(source: str, names: dict[str, set[str]], own=frozenset(), allowed=frozenset()):
    """(line, registry, strings) of each list, tuple or set literal of two or more strings that all
    name records of one registry (``names``: normalised names and aliases by registry). The file's
    ``own`` record (a test file dedicated to it) does not count; literals assigned to a name in
    ``allowed`` are skipped."""
    tree = ast.parse(source)
    skip = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in allowed for t in node.targets)}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.List, ast.Tuple, ast.Set)) or id(node) in skip or len(node.elts) < 2:
            continue
        if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            continue
        keys = [_normal(e.value) for e in node.elts]
        for registry, known in names.items():
            if all(k in known for k in keys) and len([k for k in keys if k not in own]) >= 2:
                found.append((node.lineno, registry, [e.value for e in node.elts]))
    return found


def test_the_name_list_finder_finds_a_planted_list():
    # made-up registries (real names here would be listed by hand in this very file)
    names = {"attack": {"zap", "zop", "big_zap"}, "explain": {"glow", "gl"}}
    planted = "A = ['zap', 'zop']\nB = ('zap', 'something')\nC = {'GL', 'Glow'}\nD = ['zap', 'big-zap']\n"
    found = hand_listed_names(planted, names)
    assert [(line, registry) for line, registry, _ in found] == [(1, "attack"), (3, "explain"), (4, "attack")]
    assert hand_listed_names(planted, names, own={"big_zap"}) == found[:2]  # a file dedicated to big-zap
    assert hand_listed_names(planted, names, allowed={"A", "C"}) == found[2:]


def test_no_registry_names_are_listed_by_hand_in_tests_or_cli():
    """Tests parametrize over the registries and the CLI reads them: a new model, method, attack or
    source then needs only its own file and its own test. A file dedicated to one record
    (tests/test_attack_mi_fgsm.py) may name it beside others."""
    from kit import registry_names

    names = registry_names()
    every = set().union(*names.values())
    found = []
    for path in sorted([*(ROOT / "tests").glob("*.py"), *(ROOT / "cli").glob("*.py")]):
        stem = _normal(path.stem)
        own = {max((n for n in every if stem.endswith("_" + n)), key=len, default=None)} - {None}
        rel = str(path.relative_to(ROOT))
        allowed = {name for (file, name) in NAMED_ON_PURPOSE if file == rel}
        found += [f"{rel}:{line} {registry} {strings}"
                  for line, registry, strings in hand_listed_names(path.read_text(), names, own, allowed)]
    assert found == [], "read these names from the registry instead:\n" + "\n".join(found)


# ---------------------------------------------------------------- one registry vocabulary

# The functions that wrapped MODELS, ATTACKS, EXPLAIN_METHODS and SOURCES before zoo.records.Registry
# gave the four one vocabulary (``.get(name)``, ``.names()``, ``.records()``, iteration, ``in``).
RETIRED_WRAPPERS = {"get_spec", "model_names", "attacks", "get_method", "explain_methods", "sources"}
REGISTRY_MODULES = {"zoo.registry", "zoo.attack.registry", "zoo.explain.registry", "zoo.data.sources"}


def retired_wrapper_uses(source: str) -> list[tuple[int, str]]:
    """(line, name) of each definition, call or import (from a registry module) of a retired wrapper.
    The names stay free otherwise: ``zoo/attack/attacks/`` is a package, ``sources`` a variable."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in RETIRED_WRAPPERS:
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in RETIRED_WRAPPERS:
                found.append((node.lineno, name))
        elif isinstance(node, ast.ImportFrom) and node.module in REGISTRY_MODULES:
            found += [(node.lineno, a.name) for a in node.names if a.name in RETIRED_WRAPPERS]
    return found


def test_the_wrapper_finder_finds_planted_wrappers():
    planted = ("from zoo.attack.registry import attacks\nfrom zoo.data import sources\n"
               "def get_spec(name):\n    return MODELS.get(name)\n"
               "x = [s for s in sources.SOURCES]\ny = registry.explain_methods()\nsources = get_method('ig')\n")
    assert retired_wrapper_uses(planted) == [(1, "attacks"), (3, "get_spec"), (6, "explain_methods"),
                                             (7, "get_method")]


def test_the_registries_speak_one_vocabulary():
    """MODELS.get(name), ATTACKS.names(), EXPLAIN_METHODS.records(), list(SOURCES): no second set of words."""
    found = []
    for folder in ("zoo", "cli", "tests", "scripts", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += [f"{path.relative_to(ROOT)}:{line} {name}" for line, name in retired_wrapper_uses(path.read_text())]
    assert found == [], "use the registry's own words (.get, .names, .records, iteration):\n" + "\n".join(found)
