"""Register the astrobio-hf classes with transformers when transformers' Auto classes or pipelines are first used.

Why this exists: registration (`AutoConfig.register`, `AutoModel.register`, ...) needs the real model classes, and
importing them loads torch, transformers' modeling code and torch_geometric (10-40 s on a loaded 2-core machine).
`import astrobio_hf` must stay light (the CLI's `--help` starts in under a second), yet users rely on
`import astrobio_hf` followed by `AutoModel.from_pretrained(...)`. So registration is deferred until transformers'
auto modules (or its pipelines) are imported: a small meta-path finder watches imports under ``transformers`` and
``astrobio_hf`` and registers once a trigger module has loaded and no watched module is still half-initialised (a
registration in the middle of, say, ``transformers.modeling_utils`` executing would import our models against a
partial transformers module). transformers' own `_LazyModule` covers lazy attributes, not post-import hooks, and no
well-kept post-import-hook library is installed here, hence this hand-written finder (about 60 lines).
"""

from __future__ import annotations

import copy
import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable

_WATCHED_ROOTS = ("transformers", "astrobio_hf")
_MODEL_TRIGGERS = ("transformers.models.auto.configuration_auto", "transformers.models.auto.modeling_auto",
                   "transformers.models.auto.processing_auto")
_PIPELINE_TRIGGERS = ("transformers.pipelines",)


def _register_models() -> None:
    # astrobio_hf.models registers AutoConfig / AutoModel / AutoModelForCausalLM / AutoProcessor when it is imported
    importlib.import_module("astrobio_hf.models")


def _register_pipeline() -> None:
    importlib.import_module("astrobio_hf.inference.pipeline").register_pipeline()


#: (trigger modules, registration) pairs still to run
_PENDING: list[tuple[tuple[str, ...], Callable[[], None]]] = [
    (_MODEL_TRIGGERS, _register_models),
    (_PIPELINE_TRIGGERS, _register_pipeline),
]


def _initialising(name: str) -> bool:
    spec = getattr(sys.modules.get(name), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def _busy(just_loaded: str | None) -> bool:
    """Whether a watched module other than ``just_loaded`` is still executing its body."""
    return any(name != just_loaded and name.partition(".")[0] in _WATCHED_ROOTS and _initialising(name)
               for name in list(sys.modules))


def try_register(just_loaded: str | None = None) -> None:
    """Run every registration whose trigger module is loaded, unless a watched import is still in progress."""
    due = [entry for entry in _PENDING if any(t in sys.modules for t in entry[0])]
    if not due or _busy(just_loaded):
        return  # retried when the next watched module finishes loading
    for entry in due:
        _PENDING.remove(entry)
        entry[1]()
    if not _PENDING:
        uninstall()


class _RegisteringFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: gives watched pure-Python modules a loader that calls `try_register` after executing."""

    _loader_classes: dict[type, type] = {}

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] not in _WATCHED_ROOTS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            # a subclass of the real loader (isinstance checks and resource readers keep working)
            loader = copy.copy(spec.loader)
            loader.__class__ = self._hooked(type(spec.loader))
            spec.loader = loader
        return spec

    @classmethod
    def _hooked(cls, loader_class: type) -> type:
        if loader_class not in cls._loader_classes:
            def exec_module(self, module):
                loader_class.exec_module(self, module)
                try_register(module.__name__)

            cls._loader_classes[loader_class] = type(f"Registering{loader_class.__name__}", (loader_class,),
                                                     {"exec_module": exec_module})
        return cls._loader_classes[loader_class]


_FINDER = _RegisteringFinder()


def install() -> None:
    """Watch imports (idempotent) and register at once if transformers' Auto classes are already loaded."""
    if _PENDING and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    try_register("astrobio_hf")  # called from the package's own __init__, which is still executing


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


__all__ = ["install", "uninstall", "try_register"]
