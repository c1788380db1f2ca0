"""Feature parsing and scaling for the iris classifier (a tiny dependency shipped in the layer)."""

from .features import FEATURES, FeatureError, parse, standardize
from .maths import argmax, softmax

__version__ = "0.1.0"
__all__ = ["FEATURES", "FeatureError", "parse", "standardize", "softmax", "argmax", "__version__"]
