"""The shape of the package: no import cycles, and one definition of each shared piece of logic."""

import ast
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
    return (module in ("zoo", "zoo.errors", "zoo.checks", "zoo.training", "zoo.training.config")
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
