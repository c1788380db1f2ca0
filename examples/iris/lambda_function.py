"""Iris species classifier on AWS Lambda: the classic "ML model behind a Lambda" tutorial shape.

The model (model/iris_model.npz, plain arrays written by train.py) is loaded ONCE, when the
container starts, and reused by every invocation; lambda_ml_model.model_dir() finds it whether the
deploy put it in the bundle or in S3 (model-store input). numpy and scipy (compiled manylinux wheels)
and irisfeat (this team's request validation) are pip dependencies: none of them is in this
folder, they come from the dependency layer (/opt/python).

Three ways to call it:
  - a direct Invoke with {"sl": 6.9, "sw": 3.1, "pl": 5.4, "pw": 2.1}
      -> {"species": "virginica", "probabilities": {...}, "model": "2.0.0"}
  - an API Gateway / function URL proxy event (POST /predict with that JSON body)
      -> {"statusCode": 200, "headers": {...}, "body": "{\"species\": ...}"}
  - GET /health -> the model version, where numpy and scipy were imported from and two values
    only their compiled code computes (a LAPACK determinant, a scipy.special function)
Bad input gets {"statusCode": 400, "body": "{\"error\": ...}"} in both cases.
"""

import base64
import json
import os

import irisfeat
import numpy as np
import scipy
from scipy.special import logsumexp, softmax

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_FILE = "iris_model.npz"
ARRAYS = ("classes", "mean", "scale", "weights", "bias", "version")


def find_model():
    """The model file in the model folder, wherever the deploy put the model (bundle or S3).

    lambda_ml_model ships in every bundle lambda-ml-deploy builds: model_dir() is
    /var/task/<model-dest> with model-store: bundle, and with model-store: s3 the folder in /tmp
    it downloaded and verified this version's model into. Outside a bundle (local runs, tests)
    the model/ folder beside this file stands in.
    """
    override = os.environ.get("MODEL_PATH")
    if override:
        return override if os.path.isabs(override) else os.path.join(HERE, override)
    try:
        from lambda_ml_model import model_dir
    except ImportError:
        root = os.path.join(HERE, "model")
    else:
        root = model_dir()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        if MODEL_FILE in files:
            return os.path.join(folder, MODEL_FILE)
    raise FileNotFoundError("%s not found under %s (set MODEL_PATH to its path)" % (MODEL_FILE, root))


def load_model(path):
    with np.load(path, allow_pickle=False) as arrays:
        missing = [name for name in ARRAYS if name not in arrays.files]
        if missing:
            raise ValueError("%s: missing array(s) %s (retrain with train.py)" % (path, ", ".join(missing)))
        model = {name: arrays[name] for name in ARRAYS}
    model["classes"] = [str(name) for name in model["classes"]]
    model["version"] = str(model["version"])
    return model


MODEL = load_model(find_model())  # once per container: the cold start pays, warm calls do not


def predict(features):
    x = (np.asarray(features, dtype=float) - MODEL["mean"]) / MODEL["scale"]
    probabilities = softmax(MODEL["weights"] @ x + MODEL["bias"])
    return {
        "species": MODEL["classes"][int(np.argmax(probabilities))],
        "probabilities": {name: round(float(p), 4) for name, p in zip(MODEL["classes"], probabilities)},
        "model": MODEL["version"],
    }


def site_of(module):
    """The folder a package was imported from (/opt/python when it comes from the layer)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(module.__file__)))


def health():
    return {
        "status": "ok",
        "model": MODEL["version"],
        "numpy": {"version": np.__version__, "from": site_of(np)},
        "scipy": {"version": scipy.__version__, "from": site_of(scipy)},
        "checks": {
            "numpy_det": float(np.linalg.det(np.array([[2.0, 1.0], [1.0, 3.0]]))),
            "scipy_logsumexp": float(logsumexp([0.0, 0.0])),
        },
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
        return http_response(200, health())
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
