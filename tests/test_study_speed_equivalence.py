"""The fast paths of the model-selection study (issue 18) give the numbers of independent
computations written here.

* ``Design.matrix`` builds dummies from integer level codes: checked against
  ``pandas.get_dummies`` of the raw columns (integers, floats, strings, a pandas
  Categorical with its own category order, missing values, interactions, a chosen base);
* ``Design.complete_rows`` checks column by column: against ``notna().all(axis=1)`` of
  the frame, for numpy, nullable, string and object columns;
* ``Design.check_rank`` proves full rank from X'X: exact and near collinearity are still
  found and named;
* ``cross_fit``/``cross_validate`` slice each fold once and share it between the models:
  predictions equal least squares fitted fold by fold by hand (numpy ``lstsq``), the
  fold metrics equal exclusion errors computed here, every model of a fold sees the same
  training frame and the previous fold's frames are released before the next is sliced;
  the serial path equals the path that hands all tasks to a client at once.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt.errors import ModelError
from pmt.evaluate import cross_fit, psu_folds
from pmt.models.formula import Design

# --- design matrices ----------------------------------------------------------------------


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 400
    return pd.DataFrame({
        "y": rng.normal(size=n),
        "x": rng.normal(size=n),
        "k": rng.integers(0, 5, n),                       # int64 count
        "region": rng.integers(1, 6, n),                  # integer codes
        "rooms": rng.integers(1, 4, n).astype(float),     # float codes 1.0, 2.0, 3.0
        "kind": rng.choice(["flat", "house", "yurt"], n),  # strings
        "fuel": pd.Categorical(rng.choice(["wood", "gas", "coal"], n),
                               categories=["wood", "gas", "coal"]),  # own order
        "owner": rng.random(n) < 0.4,                     # bool
    })


def dummies(col: pd.Series, levels: list[str], base: str) -> pd.DataFrame:
    """Treatment dummies of ``col`` by pandas.get_dummies, labelled like pmt's terms."""
    labels = col.map(lambda v: str(int(v)) if isinstance(v, float) and v == int(v) else str(v))
    d = pd.get_dummies(labels, dtype=float)
    return pd.DataFrame({f"C({col.name})[T.{lev}]": d[lev] if lev in d else 0.0
                         for lev in levels if lev != base}, index=col.index)


def test_matrix_equals_get_dummies(frame):
    f = "y ~ x + k + owner + C(region) + C(rooms) + C(kind) + C(fuel, Treatment('gas'))"
    design = Design.from_formula(f, frame)
    X = pd.DataFrame(design.matrix(frame), columns=design.term_names, index=frame.index)
    expected = pd.concat(
        [pd.DataFrame({"Intercept": 1.0, "x": frame["x"], "k": frame["k"].astype(float),
                       "owner": frame["owner"].astype(float)}, index=frame.index),
         dummies(frame["region"], ["1", "2", "3", "4", "5"], "1"),
         dummies(frame["rooms"], ["1", "2", "3"], "1"),
         dummies(frame["kind"], ["flat", "house", "yurt"], "flat"),
         dummies(frame["fuel"].astype(str).rename("fuel"), ["wood", "gas", "coal"], "gas")],
        axis=1)
    assert list(X.columns) == list(expected.columns)  # category order kept for fuel
    np.testing.assert_array_equal(X.to_numpy(), expected.to_numpy())


def test_matrix_interactions_and_new_data(frame):
    f = "y ~ C(kind) * x + C(region) * C(kind)"
    design = Design.from_formula(f, frame)
    # applied to other rows, in another order, where some levels are absent
    other = frame.iloc[::-3].copy()
    other = other[other["region"] != 3]
    X = pd.DataFrame(design.matrix(other), columns=design.term_names)
    kind = pd.get_dummies(other["kind"], dtype=float).reindex(
        columns=["flat", "house", "yurt"], fill_value=0.0).to_numpy()
    region = pd.get_dummies(other["region"], dtype=float).reindex(
        columns=[1, 2, 3, 4, 5], fill_value=0.0).to_numpy()
    x = other["x"].to_numpy()
    np.testing.assert_array_equal(X["C(kind)[T.house]:x"], kind[:, 1] * x)
    np.testing.assert_array_equal(X["C(kind)[T.yurt]:x"], kind[:, 2] * x)
    np.testing.assert_array_equal(X["C(region)[T.4]:C(kind)[T.yurt]"], region[:, 3] * kind[:, 2])
    np.testing.assert_array_equal(X["C(region)[T.3]"], 0.0)
    assert X.shape[1] == 1 + 2 + 1 + 2 + 4 + 4 * 2


def test_matrix_missing_category_gives_zeros_and_unknown_level_raises(frame):
    design = Design.from_formula("y ~ C(kind) + C(region)", frame)
    new = frame.head(6).copy()
    new["kind"] = pd.Series(["house", None, "yurt", "flat", None, "house"], dtype=object)
    X = pd.DataFrame(design.matrix(new), columns=design.term_names)
    np.testing.assert_array_equal(X["C(kind)[T.house]"], [1, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(X["C(kind)[T.yurt]"], [0, 0, 1, 0, 0, 0])
    new["region"] = [1, 2, 9, 2, 9, 1]
    new.index = [f"hh{i}" for i in range(6)]
    with pytest.raises(ModelError, match=r"'region' has level\(s\) 9 .* hh2, hh4"):
        design.matrix(new)


def test_matrix_mixed_object_labels_share_levels():
    # 2 and 2.0 print alike ("2"): one level, as the labels say
    df = pd.DataFrame({"y": np.arange(6.0), "g": pd.Series([1, 2.0, "a", 2, 1.0, "a"],
                                                           dtype=object)})
    design = Design.from_formula("y ~ C(g)", df)
    X = pd.DataFrame(design.matrix(df), columns=design.term_names)
    np.testing.assert_array_equal(X["C(g)[T.2]"], [0, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(X["C(g)[T.a]"], [0, 0, 1, 0, 0, 1])


def test_complete_rows_equals_notna(frame):
    df = frame.copy()
    df.loc[[3, 8], "x"] = np.nan
    df["kind"] = df["kind"].astype("str")
    df.loc[[5], "kind"] = None
    df["k"] = df["k"].astype("Int64")
    df.loc[[11], "k"] = pd.NA
    df["fuel"] = df["fuel"].astype(object)
    df.loc[[13], "fuel"] = None
    df.loc[[17], "y"] = np.nan
    design = Design.from_formula("y ~ x + k + owner + C(kind) + C(fuel) + C(region)",
                                 df.dropna())
    cols = ["x", "k", "owner", "kind", "fuel", "region"]
    np.testing.assert_array_equal(design.complete_rows(df, with_lhs=False),
                                  df[cols].notna().all(axis=1).to_numpy())
    np.testing.assert_array_equal(design.complete_rows(df),
                                  df[cols + ["y"]].notna().all(axis=1).to_numpy())
    assert (~design.complete_rows(df)).sum() == 6


def test_check_rank_finds_exact_and_near_collinearity(frame):
    df = frame.assign(x2=2 * frame["x"] - 1, near=frame["x"] + 1e-11 * frame["y"],
                      apart=frame["x"] + 1e-9 * frame["y"])
    d = Design.from_formula("y ~ x + x2", df)
    with pytest.raises(ModelError, match="'x2' is a linear combination of x"):
        d.check_rank(d.matrix(df))
    # the pivoted QR's tolerance (400 * eps * 1e3 = 8.9e-11 of the largest diagonal)
    # decides between these two
    d = Design.from_formula("y ~ x + near", df)
    with pytest.raises(ModelError, match="'near' is a linear combination of x"):
        d.check_rank(d.matrix(df))
    d = Design.from_formula("y ~ x + apart", df)
    d.check_rank(d.matrix(df))
    d = Design.from_formula("y ~ x + k + C(region) + C(kind)", df)
    d.check_rank(d.matrix(df))  # full rank: no error
    d = Design.from_formula("y ~ x + k + C(region) + C(kind)", df.assign(k=0))
    with pytest.raises(ModelError, match="'k' is always zero"):
        d.check_rank(d.matrix(df.assign(k=0)))


# --- cross-fitting and cross-validation ---------------------------------------------------
FORMULA = "log_pcc ~ C(region) + share_children_0_2 + car + tv + share_working + land_sotka"


@pytest.fixture(scope="module")
def hbs():
    from pmt.datasets import synthetic_hbs

    df = synthetic_hbs(3000, seed=11)
    sv = pmt.Survey(df, "weight", "hh_size", "stratum", "psu")
    return df, sv


def by_hand(df: pd.DataFrame, folds: np.ndarray, columns: list[str]) -> np.ndarray:
    """Weighted least squares fitted without each fold (numpy lstsq), predicting it."""
    X = np.column_stack([np.ones(len(df))] + [df[c].to_numpy(float) for c in columns])
    y = df["log_pcc"].to_numpy()
    sw = np.sqrt(df["weight"].to_numpy())
    pred = np.full(len(df), np.nan)
    for k in np.unique(folds):
        train = folds != k
        beta = np.linalg.lstsq(X[train] * sw[train, None], y[train] * sw[train], rcond=None)[0]
        pred[~train] = X[~train] @ beta
    return pred


def test_cross_fit_equals_folds_fitted_by_hand(hbs):
    df, sv = hbs
    region = pd.get_dummies(df["region"], prefix="r", dtype=float).iloc[:, 1:]
    wide = pd.concat([df, region], axis=1)
    numeric = ["share_children_0_2", "car", "tv", "share_working", "land_sotka"]
    folds = psu_folds(sv, 5, np.random.SeedSequence([4, 0]))
    expected = by_hand(wide, folds, list(region.columns) + numeric)
    fits = {"ols": lambda d: pmt.ols(FORMULA, d, weights="weight"),
            "small": lambda d: pmt.ols("log_pcc ~ car + tv", d, weights="weight")}
    cf = cross_fit(fits, df, survey=sv, seed=4)
    np.testing.assert_allclose(cf["ols"].to_numpy(), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(cf["small"].to_numpy(), by_hand(df, folds, ["car", "tv"]),
                               rtol=0, atol=1e-9)


def exclusion_error_rate_rule(y, score, v, share_cut):
    """Exclusion error when the poorest scores up to the sample's poverty rate are picked."""
    poor = y <= share_cut
    rate = v[poor].sum() / v.sum()
    order = np.argsort(score, kind="stable")
    cum = np.cumsum(v[order]) / v.sum()
    cutoff = score[order][np.searchsorted(cum, rate * (1 - 1e-12))]
    selected = score <= cutoff
    return 1 - v[poor & selected].sum() / v[poor].sum()


def test_cross_validate_fold_metrics_equal_by_hand(hbs):
    df, sv = hbs
    fits = {"small": lambda d: pmt.ols("log_pcc ~ car + tv", d, weights="weight"),
            "qr": lambda d: pmt.quantreg("log_pcc ~ car + tv + land_sotka", d, q=0.2,
                                         weights="weight", cov_type="none")}
    _, splits = pmt.cross_validate(fits, df, "log_pcc", shares=0.2, survey=sv, seed=2,
                                   return_splits=True)
    y, v = df["log_pcc"].to_numpy(), sv.weights("person")
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(v[order]) / v.sum()
    cut = y[order][np.searchsorted(cum, 0.2 * (1 - 1e-12))]
    folds = psu_folds(sv, 5, np.random.SeedSequence([2, 0]))
    pred = by_hand(df, folds, ["car", "tv"])
    got = splits[(splits["model"] == "small") & (splits["metric"] == "exclusion_error")]
    for k in range(5):
        test = folds == k
        expected = exclusion_error_rate_rule(y[test], pred[test], v[test], cut)
        value = got.loc[got["fold"] == str(k), "value"].item()
        assert value == pytest.approx(expected, abs=1e-12)
    assert len(splits[splits["model"] == "qr"]) == len(splits[splits["model"] == "small"])


class SerialClient:
    """A stand-in for a dask client: runs the tasks here, after they were all built."""

    def map(self, func, tasks, pure=False):
        return [func(t) for t in list(tasks)]

    def gather(self, futures):
        return futures


def test_folds_sliced_once_shared_and_released(hbs):
    df, sv = hbs
    seen: list[tuple[str, int, int]] = []
    alive: list[weakref.ref] = []
    released_before_next: list[bool] = []

    def fit_for(name):
        def fit(train):
            if name == "a":  # first model of a split: the previous split must be gone
                gc.collect()
                released_before_next.append(all(r() is None for r in alive))
                if len(train) < len(df):  # not the in-sample split (the caller's data)
                    alive.append(weakref.ref(train))
            seen.append((name, id(train), len(train)))
            return pmt.ols("log_pcc ~ car + tv", train, weights="weight")
        return fit

    fits = {"a": fit_for("a"), "b": fit_for("b")}
    out = pmt.cross_validate(fits, df, "log_pcc", shares=[0.2, 0.4], survey=sv, seed=1)
    # in-sample split (the data itself, kept by the caller) then 5 folds, models fastest
    assert len(seen) == 12
    assert all(seen[2 * i][1:] == seen[2 * i + 1][1:] for i in range(6))
    assert released_before_next == [True] * 6
    # the path that builds every task first (clients, n_jobs > 1) gives the same numbers
    same = pmt.cross_validate({"a": lambda d: pmt.ols("log_pcc ~ car + tv", d,
                                                      weights="weight"),
                               "b": lambda d: pmt.ols("log_pcc ~ car + tv", d,
                                                      weights="weight")},
                              df, "log_pcc", shares=[0.2, 0.4], survey=sv, seed=1,
                              client=SerialClient())
    pd.testing.assert_frame_equal(out, same)


def test_cross_fit_serial_equals_client_path(hbs):
    df, sv = hbs
    fits = {"ols": lambda d: pmt.ols(FORMULA, d, weights="weight"),
            "qr": lambda d: pmt.quantreg(FORMULA, d, q=0.3, weights="weight",
                                         cov_type="none")}
    serial = cross_fit(fits, df, survey=sv, seed=3)
    client = cross_fit(fits, df, survey=sv, seed=3, client=SerialClient())
    pd.testing.assert_frame_equal(serial, client)
    assert serial.notna().all().all()


def test_cross_validate_returns_what_cross_fit_returns_and_reuses_whole_sample_fits():
    """One pass of fold fits serves both tables; given whole-sample predictions replace the
    in-sample refit (the workflow passes its own fits) with identical results."""
    df = pmt.datasets.synthetic_hbs(1500, seed=5)
    sv = pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")
    fits = {"ols": lambda d: pmt.ols(pmt.datasets.PMT_FORMULA, d, weights="weight"),
            "probit": lambda d: pmt.probit("poor ~ car + tv + C(region) + hh_size", d,
                                           weights="weight")}
    table, predictions = pmt.cross_validate(fits, df, "log_pcc", shares=0.2, survey=sv,
                                            n_folds=3, seed=2, return_predictions=True)
    expected = pmt.cross_fit(fits, df, survey=sv, n_folds=3, seed=2)
    pd.testing.assert_frame_equal(predictions, expected)
    assert predictions.attrs == expected.attrs
    whole = pd.DataFrame({name: np.asarray(fit(df).predict(df), dtype=float)
                          for name, fit in fits.items()}, index=df.index)
    again = pmt.cross_validate(fits, df, "log_pcc", shares=0.2, survey=sv, n_folds=3,
                               seed=2, in_sample=whole)
    pd.testing.assert_frame_equal(again, table)


def test_numeric_blocks_equal_column_by_column_values():
    """Runs of numeric terms are copied as one block; mixed dtypes (int, bool, float, a
    nullable Int64 that must go column by column) give the floats of each column."""
    rng = np.random.default_rng(3)
    n = 200
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.integers(0, 5, n),
                       "c": rng.random(n) < 0.5, "d": pd.array(rng.integers(0, 3, n),
                                                               dtype="Int64"),
                       "g": rng.integers(0, 3, n), "e": rng.normal(size=n),
                       "y": rng.normal(size=n)})
    design = Design.from_formula("y ~ a + b + c + d + C(g) + e", df)
    X = design.matrix(df)
    expected = np.column_stack([np.ones(n), df.a, df.b, df.c.astype(float),
                                df.d.astype(float), df.g == 1, df.g == 2, df.e])
    np.testing.assert_array_equal(X, expected.astype(float))
