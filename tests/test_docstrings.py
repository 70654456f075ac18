"""Every public name users reach has a docstring, and docs/api.md names only things that exist.

The walk covers the modules a PyTorch user imports (pe, nn, F, init, nn.utils, optim,
lr_scheduler, data / utils.data, linalg, autograd, amp, cuda, io) and the public methods of
pe.Tensor and nn.Module. A new name
without a docstring fails here, so additions document themselves.
"""

import importlib
import inspect
import pathlib
import re

import pytest

import pyengine as pe

MODULES = [
    "pyengine",
    "pyengine.nn",
    "pyengine.nn.functional",
    "pyengine.nn.init",
    "pyengine.nn.utils",
    "pyengine.optim",
    "pyengine.optim.lr_scheduler",
    "pyengine.data",
    "pyengine.utils.data",
    "pyengine.linalg",
    "pyengine.autograd",
    "pyengine.amp",
    "pyengine.cuda",
    "pyengine.io",
    "pyengine.distributed",
    "pyengine.nn.parallel",
    "pyengine.futures",
    "pyengine.distributed.algorithms.ddp_comm_hooks.default_hooks",
]

API_PAGE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _documentable(obj):
    # Classes and callables carry docstrings; modules are documented by their own file,
    # constants (dtypes, pi, ...) and instances have no __doc__ of their own to write.
    return inspect.isclass(obj) or inspect.isroutine(obj)


def _own_doc(obj):
    """What help() shows: a class must declare its own docstring (not borrow its base's); a
    method overriding a documented base method (forward, extra_repr, step) inherits its
    docstring, as inspect.getdoc and help() do."""
    if inspect.isclass(obj):
        return obj.__dict__.get("__doc__")
    return inspect.getdoc(obj)


def _public_methods(cls):
    """(name, function) for the public methods defined on cls or its pyengine bases."""
    for klass in cls.__mro__:
        if not (klass.__module__ or "").startswith("pyengine"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                member = member.fget
            if inspect.isroutine(member):
                yield name, getattr(cls, name, member)


def public_names():
    """Yield (qualified name, object) for every public class, function and method to document."""
    seen = set()
    for modname in MODULES:
        module = importlib.import_module(modname)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            if name.startswith("_"):
                continue
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj) or not _documentable(obj):
                continue
            if inspect.isclass(obj) and not (obj.__module__ or "").startswith("pyengine"):
                continue  # a re-exported builtin such as the exception types users catch
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            yield f"{modname}.{name}", obj
    # Methods: those of Tensor and Module (every layer inherits them; a layer's forward and
    # extra_repr inherit Module's docstrings in help()).
    for qualname, cls in (("pyengine.Tensor", pe.Tensor), ("pyengine.nn.Module", pe.nn.Module)):
        for name, method in _public_methods(cls):
            if id(method) in seen:  # an inherited method is checked once, under its first owner
                continue
            seen.add(id(method))
            yield f"{qualname}.{name}", method


def undocumented():
    return sorted(q for q, obj in public_names() if not (_own_doc(obj) or "").strip())


def test_every_public_name_has_a_docstring():
    missing = undocumented()
    assert not missing, f"{len(missing)} public names lack a docstring: {missing}"


def _api_page_names():
    text = API_PAGE.read_text()
    return sorted(set(re.findall(r"`((?:pe|nn|F)\.[A-Za-z_][A-Za-z0-9_.]*)", text)))


def _resolve(dotted):
    prefix, _, rest = dotted.partition(".")
    obj = {"pe": pe, "nn": pe.nn, "F": pe.nn.functional}[prefix]
    for part in rest.split("."):
        obj = getattr(obj, part)
    return obj


def test_api_page_exists_and_lists_names():
    assert API_PAGE.is_file()
    assert len(_api_page_names()) > 100


@pytest.mark.parametrize("dotted", _api_page_names() if API_PAGE.is_file() else [])
def test_api_page_name_exists(dotted):
    _resolve(dotted)  # AttributeError names the missing piece


if __name__ == "__main__":  # `python tests/test_docstrings.py` lists what still lacks a docstring
    for q in undocumented():
        print(q)
