"""Request validation for the iris classifier: this team's own small package, shipped in the layer
from the same wheelhouse as numpy and scipy (built from deps/irisfeat by the sandbox script)."""

from .features import FEATURES, FeatureError, parse

__version__ = "0.2.0"
__all__ = ["FEATURES", "FeatureError", "parse", "__version__"]
