"""Rounding loss: eligibility under the exact model, the bands and the integer points."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from pmt._validation import check_weights, column_or_array
from pmt.errors import DataError, ModelError


def rounding_loss(sc, model, data, weights=None, poor=None, size=None) -> pd.DataFrame:
    """:meth:`Scorecard.rounding_loss` of scorecard ``sc`` (see its docstring)."""
    if sc.cutoff is None:
        raise ModelError("the scorecard has no cut-off: pass threshold= to from_model.")
    n = len(data)
    w = check_weights(weights, n, data=data)
    hsize = None if size is None else column_or_array(size, data, name="size", allow_nan=True)
    v = w * hsize if hsize is not None else w
    cols = {}
    for f in dict.fromkeys(f for q in sc.questions for f in q.fields):
        if f not in data.columns:
            raise DataError(f"rounding loss: the data lack field '{f}'; pass the training data.")
        cols[f] = data[f].to_numpy()
    parts, problems = sc.evaluate(cols, n)
    ok = np.ones(n, dtype=bool)
    for m, _ in problems:
        ok &= ~m
    sign = -1.0 if sc.direction == "poverty" else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xb = sign * model.linear_predictor(data).to_numpy()
    ok &= np.isfinite(xb)
    thr = sc.scale["threshold"]
    e_model = xb < thr
    # banded, unrounded: sum of exact answer values
    exact_vals = np.zeros(n)
    for q in sc.questions:
        idx, _ = q.answer_index(cols[q.field], cols[q.per] if q.per else None)
        vals = np.array([a.value if a.value is not None else np.nan for a in q.answers] + [0.0])
        exact_vals += vals[idx]
    e_band = (sc.scale["intercept"] + exact_vals) < thr
    e_card = sc.total(parts, n) < sc.cutoff
    p = None if poor is None else column_or_array(poor, data, name="poor", allow_nan=True)
    rows = {}
    for label, e in (("model", e_model), ("banded", e_band), ("scorecard", e_card)):
        vv, ee, em = v[ok], e[ok], e_model[ok]
        row = {
            "eligible": float(np.average(ee, weights=vv)),
            "changed": float(np.average(ee != em, weights=vv)),
            "changed_households": float(np.average(ee != em, weights=w[ok])),
            "n_changed": int((ee != em).sum()),
            "n_excluded": int((~ok).sum()),
        }
        if p is not None:
            from pmt.evaluate.metrics import targeting_metrics

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                tm = targeting_metrics(p[ok].astype(float), ee.astype(float), weights=vv)
            row.update(tm.to_dict())
        rows[label] = row
    table = pd.DataFrame(rows).T
    table.index.name = "rule"
    return table
