"""Lambda code and layer volumes kept between invokes, as Lambda keeps a warm sandbox's files.

For every Invoke moto 5.2 fills a Docker volume with the function's code (named by its sha256)
and one with its layers (named by the layer ARNs), each through a helper container, and removes
both when no invoke uses them any more: three containers per Invoke. On a loaded 2-core machine
that made a smoke case of the iris example take over 10 s. The volumes are content-addressed, so
keeping them is safe; the next invoke of the same code finds them by name and runs one container.
A volume without such a name (a function with no layers) is removed as before.
"""
from __future__ import annotations

from typing import Any

from moto.awslambda import models


def keep_named_volume(original_exit: Any, name_of: Any) -> Any:
    def exit_keeping(self: Any, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if not name_of(self):
            return original_exit(self, exc_type, exc_val, exc_tb)
        with self.__class__._lock:
            self._vol_ref.refcount -= 1

    return exit_keeping


def apply() -> None:
    code = models._DockerDataVolumeContext
    layers = models._DockerDataVolumeLayerContext
    code.__exit__ = keep_named_volume(code.__exit__, lambda ctx: ctx._lambda_func.code_digest)
    layers.__exit__ = keep_named_volume(layers.__exit__, lambda ctx: ctx.hash)
