"""The two bits of maths a linear classifier needs, without numpy."""

import math


def softmax(scores):
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def argmax(values):
    best = 0
    for index, value in enumerate(values):
        if value > values[best]:
            best = index
    return best
