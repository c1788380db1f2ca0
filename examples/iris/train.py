"""Train the iris classifier and write model/iris_model.npz.

A multinomial logistic regression on standardized features: numpy for the maths, scipy's L-BFGS
(scipy.optimize.minimize) for the fit. The data are Fisher's 1936 iris measurements (150 flowers,
sepal length, sepal width, petal length, petal width in cm), bundled as data/iris.csv. Every fifth
flower is held out to report a test accuracy; the model is then fitted on all of them.

The model file holds plain arrays (no pickle): classes, features, mean, scale, weights, bias,
version. It is written byte-reproducibly (fixed zip timestamps, sorted entries), and only when a
fresh fit differs from the file by more than TOLERANCE, so re-running this (the demo does) leaves
the file, and so the deployed bundle, unchanged.

    python3 train.py            # fits, prints the accuracies, writes model/iris_model.npz if needed
    python3 train.py --check    # exit 1 if model/iris_model.npz differs from a fresh fit
"""

import io
import os
import sys
import zipfile

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "iris.csv")
MODEL = os.path.join(HERE, "model", "iris_model.npz")
VERSION = "2.0.0"
FEATURES = ["sl", "sw", "pl", "pw"]
L2 = 0.01
TOLERANCE = 1e-6
EPOCH = (1980, 1, 1, 0, 0, 0)


def load_data(path=DATA):
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        rows = [line.strip().split(",") for line in handle if line.strip()]
    if header != FEATURES + ["species"]:
        raise SystemExit("%s: expected the columns %s, got %s" % (path, FEATURES + ["species"], header))
    x = np.array([[float(v) for v in row[:4]] for row in rows])
    classes = sorted({row[4] for row in rows})
    y = np.array([classes.index(row[4]) for row in rows])
    return x, y, classes


def fit(x, y, n_classes):
    """Weights (classes x features) and bias minimising the mean cross-entropy plus an L2 term."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    z = (x - mean) / scale
    onehot = np.eye(n_classes)[y]
    n, d = z.shape

    def loss(params):
        w = params[: n_classes * d].reshape(n_classes, d)
        b = params[n_classes * d :]
        scores = z @ w.T + b
        log_p = log_softmax(scores, axis=1)
        value = -(onehot * log_p).sum() / n + 0.5 * L2 * (w**2).sum()
        error = (np.exp(log_p) - onehot) / n
        grad_w = error.T @ z + L2 * w
        grad_b = error.sum(axis=0)
        return value, np.concatenate([grad_w.ravel(), grad_b])

    result = minimize(loss, np.zeros(n_classes * (d + 1)), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    if not result.success:
        raise SystemExit("the fit did not converge: %s" % result.message)
    weights = result.x[: n_classes * d].reshape(n_classes, d)
    bias = result.x[n_classes * d :]
    return {"mean": mean, "scale": scale, "weights": weights, "bias": bias}


def predict(model, x):
    scores = ((x - model["mean"]) / model["scale"]) @ model["weights"].T + model["bias"]
    return softmax(scores, axis=1)


def accuracy(model, x, y):
    return float((predict(model, x).argmax(axis=1) == y).mean())


def train():
    x, y, classes = load_data()
    held_out = np.arange(len(y)) % 5 == 0
    trial = fit(x[~held_out], y[~held_out], len(classes))
    model = fit(x, y, len(classes))
    model.update(
        classes=np.array(classes),
        features=np.array(FEATURES),
        version=np.array(VERSION),
    )
    scores = {
        "train_accuracy": accuracy(trial, x[~held_out], y[~held_out]),
        "test_accuracy": accuracy(trial, x[held_out], y[held_out]),
        "samples": len(y),
    }
    return model, scores


def npz_bytes(arrays):
    """np.savez's format with fixed timestamps and sorted entries: same arrays, same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            data = io.BytesIO()
            np.lib.format.write_array(data, np.asarray(arrays[name]), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(name + ".npy", date_time=EPOCH), data.getvalue())
    return out.getvalue()


def same_model(path, model):
    """True when the file holds the same arrays as `model` (numbers within TOLERANCE)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            if sorted(saved.files) != sorted(model):
                return False
            for name, value in model.items():
                old = saved[name]
                if value.dtype.kind in "US":
                    if old.shape != value.shape or not np.array_equal(old, value):
                        return False
                elif old.shape != value.shape or not np.allclose(old, value, rtol=0, atol=TOLERANCE):
                    return False
            return True
    except (OSError, ValueError, zipfile.BadZipFile):
        return False


def main(argv):
    model, scores = train()
    print(
        "iris: %d flowers; held-out fit: train accuracy %.3f, test accuracy %.3f (every 5th flower)"
        % (scores["samples"], scores["train_accuracy"], scores["test_accuracy"])
    )
    relative = os.path.relpath(MODEL)
    if same_model(MODEL, model):
        print("%s is up to date (a fresh fit agrees within %g)" % (relative, TOLERANCE))
        return 0
    if "--check" in argv:
        print("%s differs from a fresh fit: run python3 train.py" % relative)
        return 1
    os.makedirs(os.path.dirname(MODEL), exist_ok=True)
    with open(MODEL + ".tmp", "wb") as handle:
        handle.write(npz_bytes(model))
    os.replace(MODEL + ".tmp", MODEL)
    print("wrote %s (%d bytes)" % (relative, os.path.getsize(MODEL)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
