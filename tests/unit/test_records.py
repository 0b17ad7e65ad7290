"""Every @record against the class @dataclass makes of the same fields with the same options (the standard library
is the oracle): the __init__ signature, the instance it builds, and repr, ==, hash, assignment and deletion."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import inspect
import pickle
import pkgutil

import pytest

import gate
from gate.records import FACTORY, RECORDS, record

# Every module that declares records (it imports gate.records): importing them fills RECORDS.
for _module in pkgutil.walk_packages(gate.__path__, "gate."):
    _spec = importlib.util.find_spec(_module.name)
    if _spec and _spec.origin and _spec.origin.endswith(".py") and "gate.records import" in open(
            _spec.origin, encoding="utf-8").read():
        importlib.import_module(_module.name)


def _generated(cls: type) -> type:
    """The class @dataclass makes of cls's fields (same names, defaults, factories, flags) and options."""
    spec = []
    for f in dataclasses.fields(cls):
        options = {"repr": f.repr, "compare": f.compare, "hash": f.hash, "metadata": f.metadata}
        if f.default is not dataclasses.MISSING:
            options["default"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            options["default_factory"] = f.default_factory
        spec.append((f.name, f.type, dataclasses.field(**options)))
    namespace = {"__post_init__": cls.__post_init__} if hasattr(cls, "__post_init__") else {}
    generated = dataclasses.make_dataclass(cls.__name__, spec, namespace=namespace, **RECORDS[cls])
    generated.__qualname__ = cls.__qualname__  # repr says the qualified name
    return generated


def _values(cls: type, tag: str) -> dict[str, object]:
    """A distinct, hashable value per field (a record's __init__ stores what it is given)."""
    return {f.name: f"{tag}-{f.name}" for f in dataclasses.fields(cls)}


def _without_post_init(cls: type) -> bool:
    return not hasattr(cls, "__post_init__")  # a __post_init__ may refuse made-up values (Policy's checks)


def test_records_are_found():
    names = {cls.__qualname__ for cls in RECORDS}
    assert {"PackageFacts", "SignatureFacts", "HostFact", "Evidence", "Settings", "Decision", "Coverage"} <= names


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_init_signature_as_generated(cls):
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(_generated(cls)).parameters
    assert list(ours) == list(theirs)
    for name, parameter in ours.items():
        other = theirs[name]
        assert parameter.kind == other.kind, name
        if other.default is dataclasses.MISSING or repr(other.default) == "<factory>":
            assert repr(parameter.default) == repr(other.default), name
            assert (parameter.default is FACTORY) == (repr(other.default) == "<factory>"), name
        else:
            assert parameter.default == other.default and type(parameter.default) is type(other.default), name
    assert cls.__match_args__ == _generated(cls).__match_args__


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_defaults_as_generated(cls):
    generated = _generated(cls)
    required = {name: f"x-{name}" for name, p in inspect.signature(generated).parameters.items()
                if p.default is inspect.Parameter.empty}
    if not _without_post_init(cls):
        required = {}
    ours, theirs = cls(**required), generated(**required)
    assert list(vars(ours).items()) == list(vars(theirs).items())
    assert repr(ours) == repr(theirs)
    for f in dataclasses.fields(cls):  # a factory's value is new for each instance, as generated
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(ours, f.name) is not getattr(cls(**required), f.name)


@pytest.mark.parametrize("cls", [c for c in RECORDS if _without_post_init(c)],
                         ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_methods_as_generated(cls):
    options = RECORDS[cls]
    generated = _generated(cls)
    values = _values(cls, "a")
    ours, theirs = cls(**values), generated(**values)
    assert list(vars(ours).items()) == list(vars(theirs).items())
    assert repr(ours) == repr(theirs)
    if cls.__hash__ is None or generated.__hash__ is None:
        assert cls.__hash__ is None and generated.__hash__ is None  # a mutable record compared by value
    else:
        assert (hash(ours) == hash(theirs)) == options["eq"]  # by value, or by identity as object's
    twin = cls(**values)
    assert (ours == twin) == options["eq"] and (ours != twin) != options["eq"]
    assert ours == ours and ours.__eq__(theirs) is NotImplemented
    assert ours.__eq__(object()) is NotImplemented
    if options["eq"]:
        assert cls(*values.values()) == ours  # positionally, in field order
        for f in dataclasses.fields(cls):
            changed = dict(values, **{f.name: "other"})
            assert (cls(**changed) == ours) == (generated(**changed) == theirs), f.name
            if options["frozen"]:
                assert (hash(cls(**changed)) == hash(ours)) == (hash(generated(**changed)) == hash(theirs)), f.name
        assert dataclasses.replace(ours) == ours
    assert dataclasses.asdict(ours) == dataclasses.asdict(theirs)
    if not options["frozen"]:
        ours.extra = theirs.extra = 1  # mutable, as generated
        name = dataclasses.fields(cls)[0].name
        setattr(ours, name, "changed")
        assert getattr(ours, name) == "changed"
        return
    for name in [f.name for f in dataclasses.fields(cls)][:1] + ["not_a_field"]:
        for target, action in ((ours, "ours"), (theirs, "theirs")):
            with pytest.raises(dataclasses.FrozenInstanceError) as assigned:
                setattr(target, name, 1)
            with pytest.raises(dataclasses.FrozenInstanceError) as deleted:
                delattr(target, name)
            if action == "ours":
                said = (str(assigned.value), str(deleted.value))
            else:
                assert said == (str(assigned.value), str(deleted.value))
    assert pickle.loads(pickle.dumps(ours)) == ours and copy.deepcopy(ours) == ours


def test_record_repr_of_itself_and_hash_rules():
    @record
    class Box:
        content: object
        label: str = dataclasses.field(default="", repr=False, compare=False)

        def __init__(self, content: object, label: str = "") -> None:
            object.__setattr__(self, "__dict__", {"content": content, "label": label})

    box = Box([])
    box.content.append(box)
    assert repr(box) == "test_record_repr_of_itself_and_hash_rules.<locals>.Box(content=[...])"
    assert Box(1, "a") == Box(1, "b") and hash(Box(1, "a")) == hash((1,))

    @record
    class Keyed:
        key: str

        def __init__(self, key: str) -> None:
            object.__setattr__(self, "__dict__", {"key": key})

        def __hash__(self) -> int:
            return 7

    assert hash(Keyed("a")) == 7 and Keyed("a") == Keyed("a")


def test_record_needs_its_init():
    with pytest.raises(TypeError, match="writes its __init__"):
        @record
        class Bare:
            value: int
