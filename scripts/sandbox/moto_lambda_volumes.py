"""Lambda code and layer volumes kept between invokes, as Lambda keeps a warm sandbox's files.

For every Invoke moto 5.2 fills a Docker volume with the function's code (named by its sha256)
and one with its layers (named by the layer ARNs), each through a helper container, and removes
both when no invoke uses them any more: three containers per Invoke. On a loaded 2-core machine
that made a smoke case of the iris example take over 10 s. The volumes are content-addressed, so
keeping them is safe; the next invoke of the same code finds them by name and runs one container.
A volume without such a name (a function with no layers) is removed as before.

The volumes are also filled when the code or the layers change (CreateFunction,
UpdateFunctionCode, UpdateFunctionConfiguration), as Lambda prepares a function before it reports
the update done, so a new version's first invoke (a smoke test's cold start) does not pay for it.
"""
from __future__ import annotations

import logging
from typing import Any

from moto.awslambda import models

log = logging.getLogger(__name__)


def keep_named_volume(original_exit: Any, name_of: Any) -> Any:
    def exit_keeping(self: Any, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if not name_of(self):
            return original_exit(self, exc_type, exc_val, exc_tb)
        with self.__class__._lock:
            self._vol_ref.refcount -= 1

    return exit_keeping


def prepare(fn: Any) -> None:
    """Fills the function's code and layer volumes now; an invoke reports any failure later."""
    if fn is None or fn.package_type != "Zip":
        return
    try:
        with models._DockerDataVolumeContext(fn), models._DockerDataVolumeLayerContext(fn):
            pass
    except Exception as error:  # noqa: BLE001 - best effort: the API call itself succeeded
        log.warning("could not prepare the volumes of %s: %s", fn.function_name, error)


def preparing(original: Any) -> Any:
    """Wraps a backend call whose first argument is the function name (or a spec naming it)."""

    def call(self: Any, first: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, first, *args, **kwargs)
        name = first.get("FunctionName") if isinstance(first, dict) else first
        try:
            prepare(self.get_function(name))
        except Exception as error:  # noqa: BLE001
            log.warning("could not prepare the volumes of %s: %s", name, error)
        return result

    return call


def apply() -> None:
    code = models._DockerDataVolumeContext
    layers = models._DockerDataVolumeLayerContext
    code.__exit__ = keep_named_volume(code.__exit__, lambda ctx: ctx._lambda_func.code_digest)
    layers.__exit__ = keep_named_volume(layers.__exit__, lambda ctx: ctx.hash)
    backend = models.LambdaBackend
    backend.create_function = preparing(backend.create_function)
    backend.update_function_code = preparing(backend.update_function_code)
    backend.update_function_configuration = preparing(backend.update_function_configuration)
