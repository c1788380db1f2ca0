"""Iris species classifier on AWS Lambda: the classic "ML model behind a Lambda" tutorial shape.

The model (model/iris_model.json, written by train.py) is loaded ONCE, when the
container starts, and reused by every invocation. `irisfeat` is a pip dependency:
it is not in this folder, it comes from the dependency layer (/opt/python).

Two ways to call it:
  - a direct Invoke with {"sl": 6.9, "sw": 3.1, "pl": 5.4, "pw": 2.1}
      -> {"species": "virginica", "probabilities": {...}, "model": "1.0.0"}
  - an API Gateway / function URL proxy event (POST /predict with that JSON body)
      -> {"statusCode": 200, "headers": {...}, "body": "{\"species\": ...}"}
Bad input gets {"statusCode": 400, "body": "{\"error\": ...}"} in both cases.
"""

import base64
import json
import os

import irisfeat

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_FILE = "iris_model.json"


def find_model(root):
    """The model file under model/ (wherever the deploy placed it inside that folder)."""
    override = os.environ.get("MODEL_PATH")
    if override:
        return override if os.path.isabs(override) else os.path.join(root, override)
    for folder, dirs, files in os.walk(os.path.join(root, "model")):
        dirs.sort()
        if MODEL_FILE in files:
            return os.path.join(folder, MODEL_FILE)
    raise FileNotFoundError("%s not found under %s/model (set MODEL_PATH to its path)" % (MODEL_FILE, root))


def load_model(path):
    with open(path, encoding="utf-8") as handle:
        model = json.load(handle)
    for key in ("classes", "mean", "scale", "weights", "bias"):
        if key not in model:
            raise ValueError("%s: missing %r" % (path, key))
    return model


MODEL = load_model(find_model(HERE))  # once per container: the cold start pays, warm calls do not


def predict(features):
    x = irisfeat.standardize(features, MODEL["mean"], MODEL["scale"])
    scores = [sum(w * v for w, v in zip(row, x)) + b for row, b in zip(MODEL["weights"], MODEL["bias"])]
    probabilities = irisfeat.softmax(scores)
    return {
        "species": MODEL["classes"][irisfeat.argmax(probabilities)],
        "probabilities": {name: round(p, 4) for name, p in zip(MODEL["classes"], probabilities)},
        "model": MODEL.get("version", "unknown"),
    }


def http_response(status, payload):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(payload),
    }


def is_http_event(event):
    return isinstance(event, dict) and (
        "httpMethod" in event or "routeKey" in event or "http" in event.get("requestContext", {})
    )


def handle_http(event):
    method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get("method", "GET")
    path = event.get("path") or event.get("rawPath") or "/"
    if method == "GET" and path.rstrip("/").endswith("/health"):
        return http_response(200, {"status": "ok", "model": MODEL.get("version", "unknown")})
    if method != "POST":
        return http_response(405, {"error": "use POST with a JSON body {sl, sw, pl, pw}"})
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    try:
        payload = json.loads(body) if body else {}
        return http_response(200, predict(irisfeat.parse(payload)))
    except ValueError as error:  # json.JSONDecodeError and irisfeat.FeatureError are ValueErrors
        return http_response(400, {"error": str(error)})


def lambda_handler(event, context):
    if is_http_event(event):
        return handle_http(event)
    try:
        return predict(irisfeat.parse(event))
    except irisfeat.FeatureError as error:
        return http_response(400, {"error": str(error)})
