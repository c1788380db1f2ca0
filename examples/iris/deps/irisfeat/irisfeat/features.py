"""Validate an iris measurement payload and turn it into a feature vector."""

import math

# Short names (the request format) and the long names people also send.
FEATURES = ("sl", "sw", "pl", "pw")
ALIASES = {
    "sepal_length": "sl",
    "sepal_width": "sw",
    "petal_length": "pl",
    "petal_width": "pw",
}
MAX_CM = 100.0


class FeatureError(ValueError):
    """The payload is not a valid set of iris measurements; the message names the field."""


def _number(name, value):
    if isinstance(value, bool):
        raise FeatureError("%s must be a number of centimetres, got %r" % (name, value))
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise FeatureError("%s must be a number of centimetres, got %r" % (name, value)) from None
    if not isinstance(value, (int, float)):
        raise FeatureError("%s must be a number of centimetres, got %r" % (name, value))
    value = float(value)
    if not math.isfinite(value) or value <= 0 or value >= MAX_CM:
        raise FeatureError("%s must be between 0 and %g cm, got %r" % (name, value, MAX_CM))
    return value


def parse(payload):
    """Return [sl, sw, pl, pw] as floats from a dict like {"sl": 5.1, "sw": 3.5, "pl": 1.4, "pw": 0.2}."""
    if not isinstance(payload, dict):
        raise FeatureError("expected a JSON object with %s, got %s" % (", ".join(FEATURES), type(payload).__name__))
    values = {}
    for key, value in payload.items():
        short = ALIASES.get(key, key)
        if short in FEATURES:
            values[short] = value
    missing = [name for name in FEATURES if name not in values]
    if missing:
        raise FeatureError("missing measurement(s): %s (expected %s)" % (", ".join(missing), ", ".join(FEATURES)))
    return [_number(name, values[name]) for name in FEATURES]

