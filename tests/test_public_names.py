"""Consistent public argument names (issue 16, item 6).

Every renamed argument still accepts its old name for one release, with a FutureWarning
naming the new one, and gives the same result; arguments that became keyword-only still
accept their old position with a FutureWarning; the new names are in the signatures; the
evaluation functions share one default confidence level.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

import pmt
from pmt._deprecation import renamed_arguments
from pmt.evaluate.welfare_impact import scheme_transfers
from pmt.survey import quantile_cutpoints

FORMULA = "log_pcc ~ rooms + car + C(region)"


@pytest.fixture(scope="module")
def df():
    return pmt.datasets.synthetic_hbs(n_households=600, seed=3)


@pytest.fixture(scope="module")
def sv(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pmt.Survey(df, weight="weight", size="hh_size", strata="stratum", psu="psu")


def same(a, b):
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            same(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif hasattr(a, "params"):
        pd.testing.assert_series_equal(a.params, b.params)
        pd.testing.assert_series_equal(a.bse, b.bse)
    else:
        np.testing.assert_array_equal(a, b)


def renamed_cases(df, sv):
    y, p = df["log_pcc"].to_numpy(), df["log_pcc"].to_numpy() + np.sin(np.arange(len(df)))
    v = sv.person_weight
    z = float(np.exp(np.quantile(df["log_pcc"], 0.25)))
    sel = pmt.select_by(p, share=0.25, weights=v, rule="rate").astype(int)
    curve = pmt.error_curve(y <= np.quantile(y, 0.25), p, v)
    pcc = np.exp(df["log_pcc"])
    rank = {"M": np.exp(p)}
    return [
        # (function, old-name call, new-name call, old name, new name)
        (pmt.quantile_groups, lambda: pmt.quantile_groups(y, v, n=5),
         lambda: pmt.quantile_groups(y, v, n_groups=5), "n", "n_groups"),
        (quantile_cutpoints, lambda: quantile_cutpoints(y, v, n=4),
         lambda: quantile_cutpoints(y, v, n_groups=4), "n", "n_groups"),
        (pmt.Survey.quantile_groups, lambda: sv.quantile_groups("log_pcc", n=5),
         lambda: sv.quantile_groups("log_pcc", n_groups=5), "n", "n_groups"),
        (pmt.decile_overlap, lambda: pmt.decile_overlap(y, p, v, n=5),
         lambda: pmt.decile_overlap(y, p, v, n_groups=5), "n", "n_groups"),
        (pmt.group_table, lambda: pmt.group_table(y, sel, v, n=4, ranked_by="pre-transfer"),
         lambda: pmt.group_table(y, sel, v, n_groups=4, ranked_by="pre-transfer"),
         "n", "n_groups"),
        (pmt.bootstrap_group_table,
         lambda: pmt.bootstrap_group_table(sv, "log_pcc", sel, n=4, ranked_by="pre",
                                           n_replicates=20),
         lambda: pmt.bootstrap_group_table(sv, "log_pcc", sel, n_groups=4, ranked_by="pre",
                                           n_replicates=20), "n", "n_groups"),
        (pmt.bootstrap_overlap,
         lambda: pmt.bootstrap_overlap(sv, "log_pcc", p, n=4, n_replicates=20),
         lambda: pmt.bootstrap_overlap(sv, "log_pcc", p, n_groups=4, n_replicates=20),
         "n", "n_groups"),
        (pmt.prediction_validation, lambda: pmt.prediction_validation(pcc, np.exp(p), v, n=5),
         lambda: pmt.prediction_validation(pcc, np.exp(p), v, n_groups=5), "n", "n_groups"),
        (pmt.select_by, lambda: pmt.select_by(p, coverage=0.3, weights=v, rule="rate"),
         lambda: pmt.select_by(p, share=0.3, weights=v, rule="rate"), "coverage", "share"),
        (pmt.select_by, lambda: pmt.select_by(p, share=0.3, weights=v, method="rate"),
         lambda: pmt.select_by(p, share=0.3, weights=v, rule="rate"), "method", "rule"),
        (pmt.best_cutoff, lambda: pmt.best_cutoff(curve, coverage=0.2),
         lambda: pmt.best_cutoff(curve, share=0.2), "coverage", "share"),
        (pmt.welfare_comparison,
         lambda: pmt.welfare_comparison(rank, sv, pcc, z, coverage=0.3, n_replicates=0),
         lambda: pmt.welfare_comparison(rank, sv, pcc, z, share=0.3, n_replicates=0),
         "coverage", "share"),
        (scheme_transfers, lambda: scheme_transfers(rank, sv, pcc, z, coverage=0.3),
         lambda: scheme_transfers(rank, sv, pcc, z, share=0.3), "coverage", "share"),
        (pmt.truncated_ols,
         lambda: pmt.truncated_ols(FORMULA, df, quantile=0.4, weights="weight", size="hh_size"),
         lambda: pmt.truncated_ols(FORMULA, df, share=0.4, weights="weight", size="hh_size"),
         "quantile", "share"),
    ]


def test_old_names_warn_and_give_the_same_result(df, sv):
    for func, old, new, old_name, new_name in renamed_cases(df, sv):
        with pytest.warns(FutureWarning, match=f"`{old_name}` is renamed `{new_name}`"):
            a = old()
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            b = new()
        same(a, b)
        params = inspect.signature(func).parameters
        assert new_name in params and old_name not in params, func.__qualname__


def test_old_positions_warn_and_give_the_same_result(df, sv):
    y, p = df["log_pcc"].to_numpy(), df["log_pcc"].to_numpy() + np.sin(np.arange(len(df)))
    v = sv.person_weight
    cases = [
        (lambda: pmt.ols(FORMULA, df, "weight", "psu"),
         lambda: pmt.ols(FORMULA, df, weights="weight", cluster="psu")),
        (lambda: pmt.quantreg(FORMULA, df, 0.3, "weight", cov_type="none"),
         lambda: pmt.quantreg(FORMULA, df, q=0.3, weights="weight", cov_type="none")),
        (lambda: pmt.truncated_ols(FORMULA, df, 0.4, None, "weight", size="hh_size"),
         lambda: pmt.truncated_ols(FORMULA, df, share=0.4, weights="weight", size="hh_size")),
        (lambda: pmt.decile_overlap(y, p, v, 5), lambda: pmt.decile_overlap(y, p, v, n_groups=5)),
        (lambda: pmt.select_by(p, None, 0.2, v, "rate"),
         lambda: pmt.select_by(p, share=0.2, weights=v, rule="rate")),
        (lambda: pmt.classify_poor(y, None, 0.2, v),
         lambda: pmt.classify_poor(y, share=0.2, weights=v)),
    ]
    for old, new in cases:
        with pytest.warns(FutureWarning, match="by position is deprecated"):
            a = old()
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            b = new()
        same(a, b)


def test_keyword_only_after_the_data_arguments():
    leading = {
        pmt.ols: 2, pmt.truncated_ols: 2, pmt.quantreg: 2, pmt.probit: 2, pmt.logit: 2,
        pmt.heckman: 3, pmt.stepwise: 2, pmt.lasso_select: 2, pmt.gradient_boosting: 2,
        pmt.random_forest: 2, pmt.decile_overlap: 3, pmt.select_by: 1, pmt.classify_poor: 1,
        pmt.best_cutoff: 1, pmt.welfare_comparison: 4,
    }
    for func, n in leading.items():
        kinds = [p.kind for p in inspect.signature(func).parameters.values()
                 if p.kind is not inspect.Parameter.VAR_KEYWORD]
        assert all(k is inspect.Parameter.POSITIONAL_OR_KEYWORD for k in kinds[:n]), func
        assert all(k is inspect.Parameter.KEYWORD_ONLY for k in kinds[n:]), func


def test_both_old_and_new_name_is_an_error():
    with pytest.raises(TypeError, match="got both `n` .* and `n_groups`"):
        pmt.quantile_groups([1.0, 2.0, 3.0], None, n=2, n_groups=2)
    with pytest.raises(TypeError, match="multiple values for argument 'share'"):
        pmt.select_by([1.0, 2.0], None, 0.5, share=0.5)
    with pytest.raises(TypeError, match="at most"):
        pmt.decile_overlap([1.0, 2.0], [1.0, 2.0], None, 2, 3)


def test_helper_checks_its_mapping():
    with pytest.raises(ValueError, match="no argument"):
        renamed_arguments(old="missing")(lambda x, *, new=1: x)
    with pytest.raises(ValueError, match="still has an argument"):
        renamed_arguments(x="y")(lambda x, *, y=1: x)


def test_new_names_in_signatures():
    names = {
        pmt.quantile_groups: "n_groups", pmt.decile_overlap: "n_groups",
        pmt.group_table: "n_groups", pmt.bootstrap_group_table: "n_groups",
        pmt.bootstrap_overlap: "n_groups", pmt.prediction_validation: "n_groups",
        pmt.compare: "n_groups", pmt.select_by: "share", pmt.classify_poor: "share",
        pmt.best_cutoff: "share", pmt.welfare_comparison: "share",
        pmt.bootstrap_targeting: "share", pmt.truncated_ols: "share",
    }
    for func, name in names.items():
        assert name in inspect.signature(func).parameters, func
    for func in (pmt.select_by, pmt.cross_validate, pmt.compare, pmt.bootstrap_targeting):
        assert "rule" in inspect.signature(func).parameters, func
        assert "method" not in inspect.signature(func).parameters, func
    # weight arrays are `weights` wherever a function takes one
    for name in pmt.__all__:
        obj = getattr(pmt, name)
        if inspect.isfunction(obj) and not name.startswith("_"):
            params = inspect.signature(obj).parameters
            if "weight" in params:  # only as the Survey's design role, beside its size
                assert {"size", "survey"} & set(params), name


def test_one_default_level_across_evaluation_functions():
    funcs = [pmt.bootstrap_metrics, pmt.bootstrap_group_table, pmt.bootstrap_targeting,
             pmt.bootstrap_overlap, pmt.cross_validate, pmt.compare, pmt.welfare_comparison,
             pmt.group_differences, pmt.poverty_measures, pmt.inequality_measures,
             pmt.inequality.with_without, pmt.inequality.progressivity, pmt.regression_table]
    defaults = {f.__qualname__: inspect.signature(f).parameters["level"].default for f in funcs}
    assert set(defaults.values()) == {0.95}, defaults
