"""The AWS actions a function's code can reach, read from the source (no AWS, no moto): what
tests/deploy/test_iam_from_code.py holds the stack's grants to.

Every DynamoDB and SQS call of the app lives in chalicelib/hotstate and chalicelib/calllog (the
test checks no other module makes such a client). From an entry point, the call graph is
followed through those modules, resolving over rather than under. A function is taken as
called wherever it is named, not only called (`asyncio.to_thread(state.settle, ...)` calls it):
- `f`: a function of the same module or one imported from an analysed module, or the
  constructor of an analysed class `f`;
- `mod.f`: a function of an analysed module imported as `mod`;
- `self.m`: a method of the same class; `Cls(...).m`: that analysed class's method; `x.m`: a
  method `m` of any analysed class.
A function's own AWS calls are `self._call("op", ...)` (DynamoHotState's one door to its client)
and `client().op(...)` (the module's client). A `transact_write_items` reached is authorised per
item: the kinds of transaction item (`{"Put": ...}`, `{"Update": ...}`...) built in the
functions reached give PutItem, UpdateItem, DeleteItem, ConditionCheckItem.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chalicelib/hotstate", "chalicelib/calllog")
# A transaction's item kinds and the IAM action each is authorised as (TransactWriteItems has
# no action of its own).
TRANSACT_ITEMS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                  "ConditionCheck": "ConditionCheckItem"}


@dataclass
class Function:
    module: str
    cls: str | None
    name: str
    calls: list[ast.Call] = field(default_factory=list)
    refs: list[ast.expr] = field(default_factory=list)  # names and attributes read: called or passed on
    item_kinds: set[str] = field(default_factory=set)  # transaction item kinds built here


@dataclass
class Module:
    name: str  # dotted
    service: str | None  # "dynamodb"/"sqs": what its `client()` makes
    functions: dict[tuple[str | None, str], Function] = field(default_factory=dict)
    imported_names: dict[str, str] = field(default_factory=dict)  # local name -> dotted module it comes from
    imported_modules: dict[str, str] = field(default_factory=dict)  # alias -> dotted module


def module_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).glob("*.py"))


def dotted(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def client_service(tree: ast.AST) -> str | None:
    """The service of a `....client("<service>", ...)` call in the module, if any."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "client"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            return node.args[0].value
    return None


def _parse(path: Path) -> Module:
    tree = ast.parse(path.read_text())
    module = Module(dotted(path), client_service(tree))
    for node in ast.walk(tree):  # imports anywhere: the code imports lazily inside functions
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                target = f"{node.module}.{alias.name}"
                if (ROOT / Path(*target.split("."))).with_suffix(".py").exists() or \
                        (ROOT / Path(*target.split(".")) / "__init__.py").exists():
                    module.imported_modules[alias.asname or alias.name] = target
                else:
                    module.imported_names[alias.asname or alias.name] = node.module

    def add(fn: ast.FunctionDef | ast.AsyncFunctionDef, cls: str | None) -> None:
        f = Function(module.name, cls, fn.name)
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                f.calls.append(node)
            if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
                f.refs.append(node)
            if isinstance(node, ast.Dict):
                f.item_kinds |= {k.value for k in node.keys
                                 if isinstance(k, ast.Constant) and k.value in TRANSACT_ITEMS}
        module.functions[(cls, fn.name)] = f

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(node, None)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    add(item, node.name)
    return module


@cache
def modules() -> dict[str, Module]:
    return {m.name: m for m in map(_parse, module_files())}


def _callees(fn: Function) -> list[Function]:
    mods = modules()
    here = mods[fn.module]
    found: list[Function] = []
    for ref in fn.refs:
        if isinstance(ref, ast.Name):
            source = mods.get(here.imported_names.get(ref.id, fn.module))
            if source and (None, ref.id) in source.functions:
                found.append(source.functions[(None, ref.id)])
            for m in mods.values():  # a class named is its constructor
                found += [f for (cls, name), f in m.functions.items() if cls == ref.id and name == "__init__"]
        elif isinstance(ref, ast.Attribute):
            owner = ref.value
            if isinstance(owner, ast.Name) and owner.id == "self":
                target = here.functions.get((fn.cls, ref.attr))
                found += [target] if target else []
            elif isinstance(owner, ast.Name) and owner.id in here.imported_modules:
                source = mods.get(here.imported_modules[owner.id])
                target = source.functions.get((None, ref.attr)) if source else None
                found += [target] if target else []
            elif isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and any(
                    (owner.func.id, ref.attr) in m.functions for m in mods.values()):
                # `Cls(...).m`: that class's method, not every class's `m`
                found += [f for m in mods.values() for (cls, name), f in m.functions.items()
                          if cls == owner.func.id and name == ref.attr]
            else:
                found += [f for m in mods.values() for (cls, name), f in m.functions.items()
                          if cls is not None and name == ref.attr]
    return found


def _own_operations(fn: Function) -> set[tuple[str, str]]:
    """(service, boto3 method) of the AWS calls written in `fn` itself."""
    service = modules()[fn.module].service
    ops: set[tuple[str, str]] = set()
    for call in fn.calls:
        func = call.func
        if not isinstance(func, ast.Attribute):
            continue
        if (func.attr == "_call" and isinstance(func.value, ast.Name) and func.value.id == "self"
                and call.args and isinstance(call.args[0], ast.Constant)):
            ops.add((str(service), call.args[0].value))
        elif isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) \
                and func.value.func.id == "client":
            ops.add((str(service), func.attr))
    return ops


def reachable(entry: str) -> list[Function]:
    """Every analysed function reachable from `entry` ("package.module.function" or
    "package.module.Class.method")."""
    path, name = entry.rsplit(".", 1)
    if path in modules():
        start = modules()[path].functions[(None, name)]
    else:  # a method: "package.module.Class.method"
        module, cls = path.rsplit(".", 1)
        start = modules()[module].functions[(cls, name)]
    seen = {id(start): start}
    todo = [start]
    while todo:
        for callee in _callees(todo.pop()):
            if id(callee) not in seen:
                seen[id(callee)] = callee
                todo.append(callee)
    return list(seen.values())


def iam_actions(entries: list[str]) -> set[str]:
    """The IAM actions the code reachable from `entries` calls, `service:Action`."""
    import boto3

    functions = [f for entry in entries for f in reachable(entry)]
    ops = {op for f in functions for op in _own_operations(f)}
    actions: set[str] = set()
    for service, method in ops:
        mapping = boto3.session.Session().client(service, region_name="us-east-1").meta.method_to_api_mapping
        operation = mapping[method]  # KeyError: not a method of that client, the analysis is wrong
        if operation == "TransactWriteItems":
            actions |= {f"{service}:{TRANSACT_ITEMS[k]}" for f in functions for k in f.item_kinds}
        else:
            actions.add(f"{service}:{operation}")
    return actions


def outside_entries() -> list[str]:
    """The analysed functions the rest of the app calls (the API, maintenance and stream
    functions' code: chalicelib and app.py, but the CLI, which runs with an operator's own
    credentials): every function imported or used as `module.function`, every method of a
    class imported."""
    mods = modules()
    entries: set[str] = set()
    sources = [ROOT / "app.py", *(p for p in (ROOT / "chalicelib").rglob("*.py")
                                  if not str(p.relative_to(ROOT)).startswith((*PACKAGES, "chalicelib/cli")))]

    def use(module: str, name: str) -> None:
        found = mods.get(module)
        if found is None:
            return
        if (None, name) in found.functions:
            entries.add(f"{module}.{name}")
        entries.update(f"{module}.{cls}.{fn}" for cls, fn in found.functions if cls == name)

    for path in sources:
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in mods:
                        aliases[alias.asname or alias.name] = target
                    else:
                        use(node.module, alias.name)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                use(aliases[node.value.id], node.attr)
    return sorted(entries)


def unread_client_calls(entries: list[str]) -> list[str]:
    """Calls of a client's method (`self.client.scan(...)`: a method of the service's client
    on anything named client) in a module that makes that client, in code reachable from
    `entries`, that the analysis does not read as an operation: a way to the client past its
    recognised doors, which the derived grants would miss."""
    import boto3

    unread: list[str] = []
    for fn in {id(f): f for entry in entries for f in reachable(entry)}.values():
        service = modules()[fn.module].service
        if service is None:
            continue
        methods = boto3.session.Session().client(service, region_name="us-east-1").meta.method_to_api_mapping
        read = {method for _, method in _own_operations(fn)}
        unread += [f"{fn.module}.{fn.name}: {ast.unparse(call.func)}" for call in fn.calls
                   if isinstance(call.func, ast.Attribute) and call.func.attr in methods
                   and "client" in ast.unparse(call.func.value) and call.func.attr not in read]
    return unread
