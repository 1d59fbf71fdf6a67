"""Import kubernetes-asyncio's generated packages lazily: the manager stays small (issue 4: idle RSS under 80 MB).

``kubernetes_asyncio/__init__.py``, ``kubernetes_asyncio/client/__init__.py`` and
``kubernetes_asyncio/client/models/__init__.py`` are generated files that eagerly import every API class and all
~700 model classes (about 37 MB resident), and importing *any* submodule (``client.api_client``,
``config.kube_config``) runs them first. Our code reads and writes raw JSON and needs none of those classes.

:func:`install` puts a :class:`LazyPackage` in ``sys.modules`` for each of the three packages before anything
imports them. A lazy package has the real package's ``__path__`` (so submodules import normally, from the real
files), and resolves each name its ``__init__.py`` would have bound on first access, by importing only the
submodule that defines it. The names are read from the ``__init__.py`` source with :mod:`ast`, never executed:
``from M import N [as A]``, ``import M as A`` and constant assignments (``__version__``). An ``__init__.py`` with
any other statement is left alone (imported eagerly as usual), so a future kubernetes-asyncio that does more
than re-export cannot be broken by this, only made larger.

Contract: :func:`install` is idempotent and does nothing for a package already imported (its real module stays).
``smk8s/__init__.py`` calls it, so every entry point gets it before any kubernetes-asyncio import. Attribute
access and ``dir()`` behave as on the real packages (``dir()`` also lists submodules not yet imported);
``import kubernetes_asyncio.client.models.v1_pod`` and the like import just that module.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

LAZY_PACKAGES = ("kubernetes_asyncio", "kubernetes_asyncio.client", "kubernetes_asyncio.client.models")
"""Parents first: each package's lazy module is bound as an attribute of its parent's."""

_CONSTANT = object()


class LazyPackage(types.ModuleType):
    """A package whose ``__init__`` names are imported on first use (module docstring)."""

    def __init__(self, name: str, init_file: Path, exports: dict[str, tuple[str, str | None] | tuple[object, Any]]):
        super().__init__(name)
        directory = str(init_file.parent)
        spec = importlib.machinery.ModuleSpec(name, loader=None, origin=str(init_file), is_package=True)
        spec.submodule_search_locations = [directory]
        self.__spec__ = spec
        self.__file__ = str(init_file)
        self.__path__ = [directory]
        self.__package__ = name
        self._lazy_exports = exports
        for attr, (source, value) in exports.items():
            if source is _CONSTANT:
                setattr(self, attr, value)

    def __getattr__(self, attr: str) -> Any:
        export = self.__dict__.get("_lazy_exports", {}).get(attr)
        if export is not None:
            module_name, source_attr = export
            assert isinstance(module_name, str)
            module = importlib.import_module(module_name)
            value = module if source_attr is None else getattr(module, source_attr)
        elif attr in self._submodules():  # the eager package had imported it, so it was an attribute
            value = importlib.import_module(f"{self.__name__}.{attr}")
        else:
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        setattr(self, attr, value)
        return value

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self._lazy_exports, *self._submodules()})

    def _submodules(self) -> set[str]:
        names: set[str] = set()
        for directory in self.__path__:
            for entry in Path(directory).iterdir():
                if entry.suffix == ".py" and entry.stem != "__init__":
                    names.add(entry.stem)
                elif (entry / "__init__.py").is_file():
                    names.add(entry.name)
        return names


def exports_of(source: str, package: str) -> dict[str, tuple[str, str | None] | tuple[object, Any]] | None:
    """The names an ``__init__.py`` binds, or None when it does anything but import and assign constants."""
    exports: dict[str, tuple[str, str | None] | tuple[object, Any]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            for alias in node.names:
                if alias.name == "*":
                    return None
                exports[alias.asname or alias.name] = (node.module, alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is None or not alias.name.startswith(package + "."):
                    return None
                exports[alias.asname] = (alias.name, None)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return None
            for target in node.targets:
                assert isinstance(target, ast.Name)
                exports[target.id] = (_CONSTANT, value)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        else:
            return None
    return exports


def install() -> None:
    """Install the lazy packages (see the module docstring); safe to call any number of times."""
    parent: types.ModuleType | None = None
    for name in LAZY_PACKAGES:
        existing = sys.modules.get(name)
        if existing is not None:
            parent = existing
            continue
        init_file = _init_file(name, parent)
        if init_file is None:
            return
        exports = exports_of(init_file.read_text(encoding="utf-8"), name)
        if exports is None:
            return  # not a pure re-export file: leave it (and its children) to the normal import
        module = LazyPackage(name, init_file, exports)
        sys.modules[name] = module
        if parent is not None:
            setattr(parent, name.rpartition(".")[2], module)
        parent = module


def _init_file(name: str, parent: types.ModuleType | None) -> Path | None:
    if parent is None:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
    else:
        short = name.rpartition(".")[2]
        origin = next((str(Path(p) / short / "__init__.py") for p in getattr(parent, "__path__", [])
                       if (Path(p) / short / "__init__.py").is_file()), None)
    return Path(origin) if origin else None
