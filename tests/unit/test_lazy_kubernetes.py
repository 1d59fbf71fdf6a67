"""smk8s.lazy_kubernetes: kubernetes-asyncio's generated packages import lazily and still bind every name."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from smk8s.lazy_kubernetes import exports_of

_PROBE = """
import json, sys
{prelude}
import kubernetes_asyncio
from kubernetes_asyncio import client, config
from kubernetes_asyncio.client import ApiClient, Configuration
loaded_before = sorted(m for m in sys.modules if m.startswith("kubernetes_asyncio.client.models."))
names = {{"top": [n for n in dir(kubernetes_asyncio) if not n.startswith("_")],
          "client": [n for n in dir(client) if not n.startswith("_")],
          "models": [n for n in dir(client.models) if not n.startswith("_")]}}
pod = client.models.V1Pod
print(json.dumps({{"lazy": type(client).__name__ == "LazyPackage", "loaded_before": loaded_before,
                   "names": names, "pod": f"{{pod.__module__}}.{{pod.__qualname__}}",
                   "version": kubernetes_asyncio.__version__, "core": client.CoreV1Api.__module__,
                   "api_client_models": ApiClient.__module__, "loader": config.load_kube_config.__module__}}))
"""


def _probe(prelude: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(prelude=prelude)], capture_output=True, text=True,
                         check=True).stdout
    result: dict[str, object] = json.loads(out)
    return result


def test_after_importing_smk8s_no_model_is_loaded_until_used_and_every_name_is_still_bound() -> None:
    lazy = _probe("import smk8s")
    real = _probe("")
    assert lazy["lazy"] is True and real["lazy"] is False
    assert lazy["loaded_before"] == []  # not one of the ~700 model modules until something asks for one
    assert len(real["loaded_before"]) > 500  # type: ignore[arg-type]  # what the eager import costs
    lazy_names, real_names = lazy["names"], real["names"]
    assert isinstance(lazy_names, dict) and isinstance(real_names, dict)
    for package, names in real_names.items():  # every name the eager import binds (the lazy one also lists the
        assert set(names) <= set(lazy_names[package])  # submodules the eager one happened not to import)
    for key in ("pod", "version", "core", "api_client_models", "loader"):
        assert lazy[key] == real[key]


def test_exports_are_read_from_imports_and_constants_only() -> None:
    source = '"""doc"""\nfrom __future__ import absolute_import\n__version__ = "1.0"\n' \
             "from pkg.sub.a import A\nfrom pkg.sub.b import B as C\nimport pkg.sub.c as c\n"
    exports = exports_of(source, "pkg.sub")
    assert exports is not None
    assert exports["A"] == ("pkg.sub.a", "A") and exports["C"] == ("pkg.sub.b", "B")
    assert exports["c"] == ("pkg.sub.c", None) and exports["__version__"][1] == "1.0"


@pytest.mark.parametrize("source", [
    "from pkg.a import *\n",
    "import os\n",
    "X = compute()\n",
    "if True:\n    from pkg.a import A\n",
])
def test_an_init_doing_anything_else_is_left_to_the_normal_import(source: str) -> None:
    assert exports_of(source, "pkg") is None
