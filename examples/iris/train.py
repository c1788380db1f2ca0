"""Train the iris classifier and write model/iris_model.json.

A multinomial logistic regression on standardized features, fitted by full-batch
gradient descent in plain Python (no numpy, no randomness: the same data gives the
same file). The data are the first ten flowers of each species in Fisher's 1936
iris measurements (sepal length, sepal width, petal length, petal width in cm).

    python3 train.py            # writes model/iris_model.json next to this file
    python3 train.py --check    # exit 1 if the committed model differs from a fresh fit
"""

import json
import math
import os
import sys

SPECIES = ["setosa", "versicolor", "virginica"]
FEATURES = ["sl", "sw", "pl", "pw"]

DATA = [
    # setosa
    ([5.1, 3.5, 1.4, 0.2], 0), ([4.9, 3.0, 1.4, 0.2], 0), ([4.7, 3.2, 1.3, 0.2], 0),
    ([4.6, 3.1, 1.5, 0.2], 0), ([5.0, 3.6, 1.4, 0.2], 0), ([5.4, 3.9, 1.7, 0.4], 0),
    ([4.6, 3.4, 1.4, 0.3], 0), ([5.0, 3.4, 1.5, 0.2], 0), ([4.4, 2.9, 1.4, 0.2], 0),
    ([4.9, 3.1, 1.5, 0.1], 0),
    # versicolor
    ([7.0, 3.2, 4.7, 1.4], 1), ([6.4, 3.2, 4.5, 1.5], 1), ([6.9, 3.1, 4.9, 1.5], 1),
    ([5.5, 2.3, 4.0, 1.3], 1), ([6.5, 2.8, 4.6, 1.5], 1), ([5.7, 2.8, 4.5, 1.3], 1),
    ([6.3, 3.3, 4.7, 1.6], 1), ([4.9, 2.4, 3.3, 1.0], 1), ([6.6, 2.9, 4.6, 1.3], 1),
    ([5.2, 2.7, 3.9, 1.4], 1),
    # virginica
    ([6.3, 3.3, 6.0, 2.5], 2), ([5.8, 2.7, 5.1, 1.9], 2), ([7.1, 3.0, 5.9, 2.1], 2),
    ([6.3, 2.9, 5.6, 1.8], 2), ([6.5, 3.0, 5.8, 2.2], 2), ([7.6, 3.0, 6.6, 2.1], 2),
    ([4.9, 2.5, 4.5, 1.7], 2), ([7.3, 2.9, 6.3, 1.8], 2), ([6.7, 2.5, 5.8, 1.8], 2),
    ([7.2, 3.6, 6.1, 2.5], 2),
]

EPOCHS = 2000
LEARNING_RATE = 0.5
L2 = 0.01


def column_stats(rows):
    n = len(rows)
    mean = [sum(r[j] for r in rows) / n for j in range(len(rows[0]))]
    scale = [math.sqrt(sum((r[j] - mean[j]) ** 2 for r in rows) / n) for j in range(len(rows[0]))]
    return mean, scale


def softmax(scores):
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def scores(weights, bias, x):
    return [sum(w * v for w, v in zip(weights[k], x)) + bias[k] for k in range(len(bias))]


def fit(xs, ys, classes):
    dims = len(xs[0])
    weights = [[0.0] * dims for _ in range(classes)]
    bias = [0.0] * classes
    n = len(xs)
    for _ in range(EPOCHS):
        grad_w = [[L2 * weights[k][j] for j in range(dims)] for k in range(classes)]
        grad_b = [0.0] * classes
        for x, y in zip(xs, ys):
            p = softmax(scores(weights, bias, x))
            for k in range(classes):
                error = (p[k] - (1.0 if k == y else 0.0)) / n
                grad_b[k] += error
                for j in range(dims):
                    grad_w[k][j] += error * x[j]
        for k in range(classes):
            bias[k] -= LEARNING_RATE * grad_b[k]
            for j in range(dims):
                weights[k][j] -= LEARNING_RATE * grad_w[k][j]
    return weights, bias


def train():
    raw = [x for x, _ in DATA]
    ys = [y for _, y in DATA]
    mean, scale = column_stats(raw)
    xs = [[(v - m) / s for v, m, s in zip(x, mean, scale)] for x in raw]
    weights, bias = fit(xs, ys, len(SPECIES))
    correct = sum(
        1 for x, y in zip(xs, ys) if max(range(len(SPECIES)), key=lambda k: scores(weights, bias, x)[k]) == y
    )
    r = lambda v: round(v, 6)  # noqa: E731 - stable, readable numbers in the JSON file
    return {
        "format": "iris-logreg/1",
        "version": "1.0.0",
        "classes": SPECIES,
        "features": FEATURES,
        "mean": [r(v) for v in mean],
        "scale": [r(v) for v in scale],
        "weights": [[r(v) for v in row] for row in weights],
        "bias": [r(v) for v in bias],
        "training": {
            "samples": len(DATA),
            "epochs": EPOCHS,
            "learning_rate": LEARNING_RATE,
            "l2": L2,
            "train_accuracy": r(correct / len(DATA)),
        },
    }


def main(argv):
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model", "iris_model.json")
    text = json.dumps(train(), indent=2) + "\n"
    if "--check" in argv:
        with open(out, encoding="utf-8") as handle:
            same = handle.read() == text
        print("model is up to date" if same else "model differs from a fresh fit: run python3 train.py")
        return 0 if same else 1
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(text)
    print("wrote %s" % os.path.relpath(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
