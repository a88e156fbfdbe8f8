"""Report figures: what is drawn (labels, units, bar heights, intervals, curve points,
operating points), checked through the matplotlib objects against values computed by hand
or with numpy here, never against the figure code's own helpers."""

import io
import itertools
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from pmt.errors import DataError  # noqa: E402
from pmt.evaluate import error_curve, group_table  # noqa: E402
from pmt.report import figures  # noqa: E402

OKABE_ITO = {"#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#000000",
             "#f0e442"}


@pytest.fixture(autouse=True)
def _close_all():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------
# helpers reading the figure
# --------------------------------------------------------------------------------------
def bars(ax):
    """Bar series in drawing order: (label, heights, x centres, error container or None)."""
    out = []
    for c in ax.containers:
        if isinstance(c, BarContainer):
            out.append((c.get_label(), np.array([p.get_height() for p in c.patches]),
                        np.array([p.get_x() + p.get_width() / 2 for p in c.patches]),
                        c.errorbar))
    return out


def error_extents(errorbar):
    """(low, high) ends of each whisker of an error-bar container."""
    segments = errorbar.lines[2][0].get_segments()
    return (np.array([min(s[0][1], s[1][1]) for s in segments]),
            np.array([max(s[0][1], s[1][1]) for s in segments]))


def tick_texts(ax):
    return [t.get_text() for t in ax.get_xticklabels()]


def legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def vertical_lines(ax):
    return [ln for ln in ax.get_lines()
            if len(ln.get_xdata()) == 2 and ln.get_xdata()[0] == ln.get_xdata()[1]
            and tuple(ln.get_ydata()) == (0, 1)]


def label_boxes(fig, ax):
    """Tick label rectangles in display units, in the frame of their rotation (so that
    rotated labels are compared as the rectangles they are, not as their bounding boxes)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in ax.get_xticklabels():
        if not t.get_text():
            continue
        angle = math.radians(t.get_rotation())
        bb = t.get_window_extent(renderer)
        cx, cy = (bb.x0 + bb.x1) / 2, (bb.y0 + bb.y1) / 2
        rotation = t.get_rotation()
        t.set_rotation(0)
        flat = t.get_window_extent(renderer)
        t.set_rotation(rotation)
        # the centre of a rotated rectangle is the centre of its bounding box
        rx = math.cos(angle) * cx + math.sin(angle) * cy
        ry = -math.sin(angle) * cx + math.cos(angle) * cy
        boxes.append((rx - flat.width / 2, rx + flat.width / 2,
                      ry - flat.height / 2, ry + flat.height / 2))
    return boxes


def overlapping(boxes):
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
            if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]]


def source_note(fig):
    return [t.get_text() for t in fig.texts]


# --------------------------------------------------------------------------------------
# tick labels
# --------------------------------------------------------------------------------------
def test_tick_labels_of_a_multiindex_are_level_value_text():
    subgroup = pd.MultiIndex.from_tuples([("Total", "All"), ("region", 1), ("region", 2),
                                          ("urban", 0)], names=["block", "group"])
    assert figures.tick_labels(subgroup) == ["Total", "region: 1", "region: 2", "urban: 0"]
    assert figures.tick_labels(subgroup, value_labels={"region": {1: "Almaty"}},
                               names={"region": "Region"}) == [
        "Total", "Region: Almaty", "Region: 2", "urban: 0"]
    named = pd.MultiIndex.from_tuples([(1, 0), (1, 1)], names=["region", "urban"])
    assert figures.tick_labels(named) == ["region: 1, urban: 0", "region: 1, urban: 1"]
    assert figures.tick_labels(pd.Index([1.0, 2.0, 2.5])) == ["1", "2", "2.5"]
    tuples = pd.Index([("region", 1), ("urban", 0)], tupleize_cols=False)
    assert figures.tick_labels(tuples) == ["region: 1", "urban: 0"]
    coded = pd.Index([1, 2], name="region")
    assert figures.tick_labels(coded, value_labels={"region": {1: "North", 2: "South"}}) == [
        "North", "South"]


def test_bar_chart_of_a_subgroup_table_has_no_tuple_labels():
    index = pd.MultiIndex.from_tuples([("Total", "All"), ("region", 1), ("region", 2),
                                       ("urban", 0), ("urban", 1)], names=["block", "group"])
    values = pd.DataFrame({"OLS": [0.5, 0.4, 0.6, 0.3, 0.7]}, index=index)
    fig = figures.bar_chart(values, "Coverage of the poor", "Coverage of the poor")
    ax = fig.axes[0]
    labels = tick_texts(ax)
    assert labels == ["Total", "region: 1", "region: 2", "urban: 0", "urban: 1"]
    assert not any("(" in s or ")" in s or "'" in s for s in labels)
    ((_, heights, _, err),) = bars(ax)
    np.testing.assert_allclose(heights, [50, 40, 60, 30, 70])
    assert err is None
    assert ax.get_ylabel() == "Coverage of the poor (%)"
    fig = figures.coverage_by_group(values, "Coverage", xlabel="Subgroup")
    assert tick_texts(fig.axes[0]) == labels


# --------------------------------------------------------------------------------------
# bars with intervals
# --------------------------------------------------------------------------------------
def test_bar_chart_heights_and_error_bar_extents():
    values = pd.DataFrame({"0.2": [0.30, 0.50], "0.4": [0.20, 0.35]}, index=["OLS", "Probit"])
    lower = pd.DataFrame({"0.2": [0.25, 0.41], "0.4": [0.15, 0.30]}, index=["OLS", "Probit"])
    upper = pd.DataFrame({"0.2": [0.36, 0.58], "0.4": [0.27, 0.40]}, index=["OLS", "Probit"])
    fig = figures.bar_chart(values, "Exclusion error", "Exclusion error", lower=lower,
                            upper=upper, interval="95% confidence interval")
    ax = fig.axes[0]
    series = bars(ax)
    assert [s[0] for s in series] == ["0.2", "0.4"]
    assert sum(len(s[1]) for s in series) == 4
    for (_, heights, _, err), col in zip(series, values.columns, strict=True):
        np.testing.assert_allclose(heights, 100 * values[col].to_numpy())
        lo, hi = error_extents(err)
        np.testing.assert_allclose(lo, 100 * lower[col].to_numpy())
        np.testing.assert_allclose(hi, 100 * upper[col].to_numpy())
    # the two series sit side by side around the category positions 0 and 1
    np.testing.assert_allclose(series[0][2], [-0.2, 0.8])
    np.testing.assert_allclose(series[1][2], [0.2, 1.2])
    assert "Whiskers: 95% confidence interval" in legend_texts(ax)
    assert {to_hex(p.get_facecolor()) for c in ax.containers if isinstance(c, BarContainer)
            for p in c.patches} <= OKABE_ITO


def test_coverage_by_group_accepts_intervals():
    cov = pd.DataFrame({"ols": [0.6, 0.3, 0.1]}, index=pd.Index([1, 2, 3], name="decile"))
    fig = figures.coverage_by_group(cov, "Coverage", lower=cov - 0.05, upper=cov + 0.1)
    ax = fig.axes[0]
    ((_, heights, _, err),) = bars(ax)
    np.testing.assert_allclose(heights, [60, 30, 10])
    lo, hi = error_extents(err)
    np.testing.assert_allclose(lo, [55, 25, 5])
    np.testing.assert_allclose(hi, [70, 40, 20])
    assert ax.get_ylabel() == "Coverage (% of people in group)"
    assert tick_texts(ax) == ["1", "2", "3"]
    with pytest.raises(DataError, match="both `lower` and `upper`"):
        figures.coverage_by_group(cov, "Coverage", lower=cov)


def test_fourteen_long_region_labels_do_not_overlap():
    names = ["Karakalpakstan Republic", "Andijan region", "Bukhara region", "Jizzakh region",
             "Kashkadarya region", "Navoi region", "Namangan region", "Samarkand region",
             "Surkhandarya region", "Syrdarya region", "Tashkent region", "Fergana region",
             "Khorezm region", "Tashkent city"]
    index = pd.MultiIndex.from_tuples([("Region", n) for n in names], names=["block", "group"])
    values = pd.DataFrame({"OLS": np.linspace(0.2, 0.7, 14), "Probit": np.linspace(0.6, 0.1, 14)},
                          index=index)
    for fig in (figures.bar_chart(values, "Coverage by region", "Coverage"),
                figures.coverage_by_group(values, "Coverage by region", xlabel="Region")):
        ax = fig.axes[0]
        assert tick_texts(ax)[0].replace("\n", " ") == "Region: Karakalpakstan Republic"
        assert overlapping(label_boxes(fig, ax)) == []
        renderer = fig.canvas.get_renderer()
        ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels()]
        below = [ax.xaxis.label.get_window_extent(renderer)] if ax.get_xlabel() else []
        note = [t.get_window_extent(renderer) for t in fig.texts]
        assert not any(a.overlaps(b) for a in ticks for b in below + note)
        assert fig.get_figwidth() <= figures.A4_WIDTH


def test_few_short_labels_stay_horizontal():
    fig = figures.bar_chart(pd.DataFrame({"a": [0.1, 0.2, 0.3]}, index=["Urban", "Rural",
                                                                          "Total"]), "B", "Share")
    assert [t.get_rotation() for t in fig.axes[0].get_xticklabels()] == [0, 0, 0]
    assert overlapping(label_boxes(fig, fig.axes[0])) == []


# --------------------------------------------------------------------------------------
# coverage and incidence by decile
# --------------------------------------------------------------------------------------
def test_coverage_incidence_by_decile_paired_bars():
    # 20 households of equal weight and size: two per decile, ranked by welfare 1..20
    welfare = np.arange(1.0, 21.0)
    selected = np.array([1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    benefit = np.where(selected == 1, np.array([4, 4, 2, 0, 0, 2, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0,
                                                0, 0, 0, 1.0]), 0.0)
    # by hand: coverage by decile = recipients / 2; incidence = decile benefits / 16
    coverage = [1.0, 0.5, 0.5, 0.5, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5]
    incidence = [8 / 16, 2 / 16, 2 / 16, 2 / 16, 0, 1 / 16, 0, 0, 0, 1 / 16]
    table = group_table(pd.Series(welfare, name="pcc"), selected, benefits=benefit, n_groups=10,
                        ranked_by="pre-transfer consumption")
    fig = figures.coverage_incidence_by_decile(table, "Coverage and incidence")
    ax = fig.axes[0]
    (cov_label, cov, _, _), (inc_label, inc, _, _) = bars(ax)
    assert len(cov) == len(inc) == 10  # the Total row is not drawn
    np.testing.assert_allclose(cov, 100 * np.array(coverage))
    np.testing.assert_allclose(inc, 100 * np.array(incidence))
    assert cov_label.startswith("Coverage (%") and "benefits" in inc_label
    assert tick_texts(ax) == [str(k) for k in range(1, 11)]
    assert ax.get_ylabel() == "Coverage and incidence (%)"
    assert "pre-transfer consumption" in ax.get_xlabel() and "1 = poorest" in ax.get_xlabel()
    flat = [ln for ln in ax.get_lines() if tuple(ln.get_xdata()) == (0, 1)]
    assert len(flat) == 1 and flat[0].get_ydata()[0] == pytest.approx(10.0)
    fig = figures.coverage_incidence_by_decile(table, incidence="beneficiaries_share")
    (_, _, _, _), (label, inc, _, _) = bars(fig.axes[0])
    # recipients per decile / 7 recipients
    np.testing.assert_allclose(inc, 100 * np.array([2, 1, 1, 1, 0, 1, 0, 0, 0, 1]) / 7)
    assert "recipients" in label


# --------------------------------------------------------------------------------------
# trade-off curves and operating points
# --------------------------------------------------------------------------------------
def operating_markers(ax):
    return [ln for ln in ax.get_lines() if ln.get_marker() == "o" and len(ln.get_xdata())]


def test_tradeoff_operating_point_at_coverage():
    poor = np.array([1, 0, 0, 1, 1, 0])
    score = np.array([1.0, 2, 3, 4, 5, 6])
    w = np.array([2.0, 1, 1, 1, 1, 2])
    # coverage 0.4: selecting scores <= 2 covers 3/8 of people, <= 3 would cover 4/8 > 0.4
    sel = score <= 2
    exclusion = 1 - np.sum(w * poor * sel) / np.sum(w * poor)  # 1 - 2/4
    inclusion = np.sum(w * (1 - poor) * sel) / np.sum(w * sel)  # 1/3
    curve = error_curve(poor, score, w)
    fig = figures.tradeoff_curves({"OLS": curve}, "Trade-off", coverage=0.4)
    ax = fig.axes[0]
    (marker,) = operating_markers(ax)
    assert marker.get_xdata()[0] == pytest.approx(100 * exclusion)
    assert marker.get_ydata()[0] == pytest.approx(100 * inclusion)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["OLS: 50%, 33%"]
    assert "Operating point (40% coverage)" in legend_texts(ax)
    assert "%" in ax.get_xlabel() and "%" in ax.get_ylabel()
    assert ax.get_xlabel().startswith("Exclusion error")
    assert ax.get_ylabel().startswith("Inclusion error")
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "OLS"]
    np.testing.assert_allclose(line.get_xdata(), 100 * curve["exclusion_error"])


def test_tradeoff_explicit_operating_points_with_labels_apart():
    curve = pd.DataFrame({"exclusion_error": [1.0, 0.5, 0.2, 0.0],
                          "inclusion_error": [np.nan, 0.3, 0.5, 0.8]})
    points = {"A": (0.40, 0.35), "B": (0.41, 0.36), "C": (0.42, 0.34)}
    fig = figures.tradeoff_curves({k: curve for k in points}, "T", operating_points=points)
    ax = fig.axes[0]
    got = {(round(m.get_xdata()[0], 6), round(m.get_ydata()[0], 6)) for m in
           operating_markers(ax)}
    assert got == {(40.0, 35.0), (41.0, 36.0), (42.0, 34.0)}
    assert sorted(t.get_text() for t in ax.texts) == ["A: 40%, 35%", "B: 41%, 36%",
                                                      "C: 42%, 34%"]
    fig.canvas.draw()
    boxes = [Text.get_window_extent(t) for t in ax.texts]  # the text, not its leader line
    assert not any(a.overlaps(b) for a, b in itertools.combinations(boxes, 2))
    with pytest.raises(DataError, match="shares in"):
        figures.tradeoff_curves({"A": curve}, "T", operating_points={"A": (40, 35)})
    with pytest.raises(DataError, match="not both"):
        figures.tradeoff_curves({"A": curve}, "T", operating_points=points, coverage=0.2)


# --------------------------------------------------------------------------------------
# predicted vs actual, residuals: units
# --------------------------------------------------------------------------------------
def test_scatter_axes_say_log_or_currency():
    rng = np.random.default_rng(1)
    a = rng.normal(12, 0.5, 300)
    p = 0.5 * a + 6
    fig = figures.predicted_vs_actual(a, p, 11.8, "PMT", currency="KZT per person per month")
    ax = fig.axes[0]
    assert ax.get_xlabel() == ("Actual welfare per person (natural log of KZT per person per "
                               "month)")
    assert "natural log" in ax.get_ylabel()
    assert [ln.get_xdata()[0] for ln in vertical_lines(ax)] == [11.8]
    fig = figures.predicted_vs_actual(np.exp(a), np.exp(p), np.exp(11.8), "PMT",
                                      scale="level", currency="KZT per person per month")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Actual welfare per person (thousand KZT per person per month)"
    assert "log" not in ax.get_xlabel() + ax.get_ylabel()
    offsets = ax.collections[0].get_offsets()
    assert offsets[:, 0].min() > 1e4  # levels, not logs
    fig = figures.residuals_vs_actual(a, p, "Residuals")
    assert fig.axes[0].get_ylabel() == "Residual, actual - predicted (natural log points)"
    np.testing.assert_allclose(np.sort(fig.axes[0].collections[0].get_offsets()[:, 1]),
                               np.sort(a - p))
    fig = figures.residuals_vs_actual(np.full(3, 50.0), np.array([40.0, 55, 50]), "R",
                                      scale="level", currency="USD")
    assert fig.axes[0].get_ylabel() == "Residual, actual - predicted (USD)"
    with pytest.raises(DataError, match="scale"):
        figures.residuals_vs_actual(a, p, "R", scale="logs")


# --------------------------------------------------------------------------------------
# distributions
# --------------------------------------------------------------------------------------
def test_welfare_distribution_cdf_steps_and_shares_below_the_line():
    actual = np.array([3.0, 1, 2, 2])
    predicted = np.array([2.5, 2.5, 1.5, 3])
    w = np.array([1.0, 1, 2, 1])
    fig = figures.welfare_distribution(actual, predicted, w, line=2.2, kind="cdf")
    ax = fig.axes[0]
    lines = {ln.get_label().split(" (")[0]: ln for ln in ax.get_lines()
             if ln.get_label().startswith(("Actual", "Predicted"))}
    # actual: 1 (weight 1), 2 (weight 3), 3 (weight 1) out of 5
    np.testing.assert_allclose(lines["Actual"].get_xdata(), [1, 1, 2, 3])
    np.testing.assert_allclose(lines["Actual"].get_ydata(), [0, 20, 80, 100])
    assert lines["Actual"].get_drawstyle() == "steps-post"
    # predicted: 1.5 (weight 2), 2.5 (weight 2), 3 (weight 1)
    np.testing.assert_allclose(lines["Predicted"].get_xdata(), [1.5, 1.5, 2.5, 3])
    np.testing.assert_allclose(lines["Predicted"].get_ydata(), [0, 40, 80, 100])
    legend = legend_texts(ax)
    assert "Actual (80.0% below the line)" in legend
    assert "Predicted (40.0% below the line)" in legend
    assert [ln.get_xdata()[0] for ln in vertical_lines(ax)] == [2.2]
    assert ax.get_ylabel() == "Cumulative share of people (%)"
    assert ax.get_xlabel() == "Welfare per person (natural log)"
    assert source_note(fig) == ["Source: pmt"]


def test_welfare_distribution_weighted_kde_and_histogram():
    rng = np.random.default_rng(3)
    actual = rng.normal(0, 1, 60)
    predicted = {"PMT": 0.5 * actual, "HMT": 0.8 * actual}
    w = rng.uniform(0.5, 2, 60)
    fig = figures.welfare_distribution(actual, predicted, w, bandwidth=0.4, xlim=(-4, 4),
                                       scale="level", currency="USD")
    ax = fig.axes[0]
    assert [ln.get_label() for ln in ax.get_lines()] == ["Actual", "PMT", "HMT"]
    for ln, x in zip(ax.get_lines(), [actual, 0.5 * actual, 0.8 * actual], strict=True):
        g = ln.get_xdata()
        expected = np.array([np.sum(w * np.exp(-0.5 * ((t - x) / 0.4) ** 2)) for t in g]) / (
            0.4 * np.sqrt(2 * np.pi) * w.sum())
        np.testing.assert_allclose(ln.get_ydata(), expected, rtol=1e-10)
        assert np.trapezoid(ln.get_ydata(), g) == pytest.approx(1, abs=0.01)
    assert ax.get_xlabel() == "Welfare per person (USD)"
    assert ax.get_ylabel().startswith("Density")

    fig = figures.welfare_distribution(np.array([3.0, 1, 2, 2, 2.5]), np.array([1.5] * 5),
                                       np.array([1.0, 1, 2, 1, 0]), kind="hist", bins=4,
                                       xlim=(0, 4))
    steps = [p for p in fig.axes[0].patches if isinstance(p, StepPatch)]
    heights, edges, _ = steps[0].get_data()
    np.testing.assert_allclose(edges, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(heights, [0, 0.2, 0.6, 0.2])  # weight per unit / total 5
    heights, _, _ = steps[1].get_data()
    np.testing.assert_allclose(heights, [0, 1, 0, 0])


def test_welfare_distribution_leaves_out_non_finite_values_with_a_warning():
    with pytest.warns(UserWarning, match="1 non-finite"):
        fig = figures.welfare_distribution(np.array([1.0, 2, -np.inf]), np.array([1.0, 2, 3]),
                                           kind="cdf")
    actual = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(actual.get_ydata(), [0, 50, 100])


def test_welfare_under_reform_thresholds_and_dominance():
    baseline = np.array([1.0, 2, 3, 4])
    reform = np.array([2.0, 2, 3, 5])
    fig = figures.welfare_under_reform(baseline, reform, None,
                                       {"50% of the SML": 2.5, "SML": 4.5},
                                       currency="KZT per person per month")
    ax = fig.axes[0]
    base, ref = ax.get_lines()[:2]
    np.testing.assert_allclose(base.get_ydata(), [0, 25, 50, 75, 100])
    np.testing.assert_allclose(ref.get_xdata(), [2, 2, 3, 5])
    np.testing.assert_allclose(ref.get_ydata(), [0, 50, 75, 100])
    assert [ln.get_xdata()[0] for ln in vertical_lines(ax)] == [2.5, 4.5]
    legend = legend_texts(ax)
    assert legend[:2] == ["Baseline", "Reform"]
    assert legend[2] == "50% of the SML (2.5); below it: Baseline 50.0%, Reform 50.0%"
    assert legend[3] == "SML (4.5); below it: Baseline 100.0%, Reform 75.0%"
    assert ax.get_xlabel() == "Welfare per person (KZT per person per month)"
    fig = figures.welfare_under_reform(baseline, {"A": reform, "B": reform + 1},
                                       thresholds=[2.5])
    assert legend_texts(fig.axes[0])[-1].startswith("Threshold (2.5); below it: Baseline "
                                                    "50.0%, A 50.0%, B 0.0%")


# --------------------------------------------------------------------------------------
# Lorenz and concentration curves
# --------------------------------------------------------------------------------------
def test_lorenz_and_concentration_curves_of_four_households():
    welfare = np.array([4.0, 1, 3, 2])
    benefits = np.array([0.0, 3, 1, 2])
    w = np.array([1.0, 2, 1, 1])
    fig = figures.lorenz_concentration(welfare, benefits, w)
    ax = fig.axes[0]
    by_label = {ln.get_label().split(" (")[0]: ln for ln in ax.get_lines()}
    diagonal = by_label["Line of equality"]
    np.testing.assert_allclose(diagonal.get_xdata(), [0, 100])
    np.testing.assert_allclose(diagonal.get_ydata(), [0, 100])
    # ranked by welfare: 1 (w 2), 2, 3, 4; population shares 0, .4, .6, .8, 1
    lorenz = by_label["Lorenz curve of welfare"]
    np.testing.assert_allclose(lorenz.get_xdata(), [0, 40, 60, 80, 100])
    np.testing.assert_allclose(lorenz.get_ydata(), 100 * np.array([0, 2, 4, 7, 11]) / 11)
    conc = by_label["Concentration curve of benefits"]
    np.testing.assert_allclose(conc.get_xdata(), [0, 40, 60, 80, 100])
    np.testing.assert_allclose(conc.get_ydata(), 100 * np.array([0, 6, 8, 9, 9]) / 9)
    # Gini by the mean absolute difference: sum_ij w_i w_j |y_i - y_j| / (2 W^2 mean)
    gini = np.sum(np.outer(w, w) * np.abs(welfare[:, None] - welfare[None, :])) / (
        2 * w.sum() ** 2 * np.average(welfare, weights=w))
    assert f"Gini {gini:.3f}" in lorenz.get_label()
    index = 1 - np.sum((np.array([0, 6, 8, 9]) + np.array([6, 8, 9, 9])) / 9
                       * np.array([0.4, 0.2, 0.2, 0.2]))
    assert f"index {index:.3f}" in conc.get_label()
    assert "%" in ax.get_xlabel() and "poorest" in ax.get_xlabel()
    assert "%" in ax.get_ylabel()


def test_concentration_curve_collapses_tied_welfare():
    fig = figures.lorenz_concentration(np.array([1.0, 1, 2]), {"A": np.array([1.0, 0, 0]),
                                                               "B": np.array([0.0, 1, 0])})
    lines = {ln.get_label().split(" (")[0]: ln for ln in fig.axes[0].get_lines()}
    a, b = lines["Concentration curve of A"], lines["Concentration curve of B"]
    np.testing.assert_allclose(a.get_xdata(), 100 * np.array([0, 2 / 3, 1]))
    np.testing.assert_allclose(a.get_ydata(), b.get_ydata())  # order within a tie is moot


# --------------------------------------------------------------------------------------
# every figure: source note, width, colours, closing
# --------------------------------------------------------------------------------------
def all_figures():
    rng = np.random.default_rng(0)
    a = rng.normal(12, 0.5, 400)
    p = 0.5 * a + 6 + rng.normal(0, 0.2, 400)
    w = rng.uniform(1, 3, 400)
    poor = (a < 11.8).astype(int)
    cov = pd.DataFrame({"ols": np.linspace(0.9, 0, 10)}, index=range(1, 11))
    table = group_table(pd.Series(a, name="log_pcc"), (p < 11.9).astype(int), w,
                        benefits=np.where(p < 11.9, 10.0, 0.0), n_groups=10, ranked_by="actual")
    return {
        "overlap": figures.overlap_heatmap(pd.DataFrame(np.eye(3) / 3), "Overlap",
                                           source="Source: HBS 2015"),
        "coverage": figures.coverage_by_group(cov, "Coverage", source="Source: HBS 2015"),
        "bars": figures.bar_chart(cov, "Bars", "share", "Decile", source="Source: HBS 2015"),
        "pva": figures.predicted_vs_actual(a, p, 11.8, "PMT", source="Source: HBS 2015"),
        "residuals": figures.residuals_vs_actual(a, p, "R", source="Source: HBS 2015"),
        "tradeoff": figures.tradeoff_curves({"m": error_curve(poor, p, w)}, "T",
                                            coverage=0.2, source="Source: HBS 2015"),
        "distribution": figures.welfare_distribution(a, p, w, 11.8, source="Source: HBS 2015"),
        "reform": figures.welfare_under_reform(np.exp(a), np.exp(a) + 1e4, w, [1e5],
                                               source="Source: HBS 2015"),
        "lorenz": figures.lorenz_concentration(np.exp(a), (p < 11.9) * 10.0, w,
                                               source="Source: HBS 2015"),
        "incidence": figures.coverage_incidence_by_decile(table, source="Source: HBS 2015"),
    }


def test_every_figure_has_source_note_fits_a4_and_closes():
    figs = all_figures()
    for name, fig in figs.items():
        assert "Source: HBS 2015" in source_note(fig), name
        assert fig.get_figwidth() <= figures.A4_WIDTH, name
        ax = fig.axes[0]
        assert ax.get_xlabel() and ax.get_ylabel(), name
        for ln in ax.get_lines():
            if ln.get_label().startswith("_") or len(ln.get_xdata()) < 3:
                continue
            assert to_hex(ln.get_color()) in OKABE_ITO, (name, ln.get_label())
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=60, bbox_inches="tight")
        assert buf.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
        plt.close(fig)
    assert plt.get_fignums() == []


def test_no_source_note_when_none():
    fig = figures.bar_chart(pd.DataFrame({"a": [0.1]}, index=["x"]), "B", "Share", source=None)
    assert fig.texts == []
