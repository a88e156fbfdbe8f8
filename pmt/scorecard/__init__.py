"""Scorecards: a linear PMT model turned into integer points a field worker can add up.

From a fitted linear-index model (OLS, truncated OLS, quantile regression on log welfare,
or the index of a probit/logit of being poor) :meth:`Scorecard.from_model` builds one
**question** per proxy variable and one **answer** per category or band:

* categorical ``C(x)`` terms: one answer per level, the model's coefficient (base 0);
* 0/1 proxies: answers "No"/"Yes";
* counts (e.g. rooms): one answer per value, then "k or more" (1, 2, 3, 4+);
* continuous proxies: bands at weighted quantiles of the training data (quintiles by
  default, cut-points rounded to 2 significant digits);
* quadratics (``land`` with ``land_sq``, detected from the ``_sq``/``_squared``/``2`` suffix
  or passed as ``quadratic=``): the fitted curve b1*x + b2*x^2 is **capped at its vertex**
  x* = -b1/(2 b2) (the Uzbek 2019 land coefficients 0.00974 and -5.45e-05 peak at 89.4
  sotka), so owning more than x* never lowers the score; the vertex is the top band edge;
* ratio proxies (``ratios={"share_mobile": ("n_mobile", "n_adults")}``): the form asks two
  counts (adults, adults with a phone) and the answer is the band of their ratio: none,
  fewer than half, half or more but not all, all. A zero denominator counts as share 0;
* share proxies (``share_children_0_2`` = members aged 0-2 / household size): found in the
  training data by default (``shares="auto"``: the proxy equals count / count on every
  row; see :mod:`~pmt.scorecard.shares`) or declared with ``shares={...}``; asked as the
  two counts, scored on the share with the share's own bands and points.

Each answer's value is the model's contribution averaged (with the weights) over the
training households in that band, i.e. the least-squares step approximation of the
proxy's effect. Points are then made non-negative integers with a maximum total of
``max_points`` (100 by default):

1. direction: for a welfare model more points = better off; for a probit/logit of being
   poor the index is multiplied by -1 so that, again, more points = better off;
2. shift: within each question the lowest answer gets 0 (the base category gets 0 unless
   another answer has a negative effect) and the shifts move into the constant
   ``constant = b0 + sum_q min_a c_qa``;
3. scale: ``k = max_points / sum_q (max_a c_qa - min_a c_qa)``; question maxima are rounded
   by the largest-remainder method so they add up to exactly ``max_points``, the other
   answers are rounded to the nearest integer;
4. cut-off: the model threshold t (e.g. the log poverty line, or a probability for
   probit/logit) becomes ``cutoff_exact = k (t - constant)`` on the same scale and shift
   as the points; a household is eligible when its **total score < cutoff** with
   ``cutoff = ceil(cutoff_exact)`` - exactly the integer form of "prediction below the
   threshold" (a household exactly at the threshold is not eligible, as in the model).

The rounding loss (share of households whose eligibility differs between the exact model
and the scorecard, and the targeting metrics of both from
:func:`pmt.evaluate.metrics.targeting_metrics`) is computed when training data are given;
above 2 % of households (household-weighted) ``from_model`` warns
(:attr:`Scorecard.rounding_warning`).

Questions worth 0 points for every answer stay in the scorecard (JSON, points table,
analyst form) but are not read when scoring (:attr:`Scorecard.dropped_questions`).

Scorecards export to two field forms (:meth:`Scorecard.enumerator_form`: questions and
check boxes, counts instead of shares, no points, at most two A4 pages for the embedded
survey's PMT; :meth:`Scorecard.analyst_form`: points, cut-off, variables, dropped
questions, rounding loss), to the points form of :meth:`Scorecard.to_html` (self-contained
HTML with print CSS, and Markdown), XLSX, and JSON for registry systems (``data_spec/scorecard.schema.json``:
a list of ``{field, answer, condition, points}`` plus the cut-off), and score records with
:meth:`Scorecard.score` (with a per-question breakdown for appeals).

All of this is our own code: no library turns regression coefficients into field-form
points.

Modules (one job each; everything public is re-exported here):

* :mod:`~pmt.scorecard.questions`: :class:`Answer`, :class:`Question` and their evaluation
  on records (:func:`as_float`, :func:`map_codes`, :func:`condition_text`,
  :func:`reasons_text`, :class:`RowReason`: a reason naming each record's own value);
* :mod:`~pmt.scorecard.card`: the :class:`Scorecard` class (scoring, points table);
* :mod:`~pmt.scorecard.linear`: the model side (:func:`linear_index`, threshold,
  quadratics);
* :mod:`~pmt.scorecard.banding`: bands of continuous, count and ratio proxies;
* :mod:`~pmt.scorecard.fieldinfo`: question texts, codes and ranges from the data spec;
* :mod:`~pmt.scorecard.build`: :meth:`Scorecard.from_model` (questions, points, cut-off);
* :mod:`~pmt.scorecard.rounding`: :meth:`Scorecard.rounding_loss`;
* :mod:`~pmt.scorecard.shares`: which proxies are shares of two counts;
* :mod:`~pmt.scorecard.forms`: the points form (HTML, Markdown) and XLSX;
* :mod:`~pmt.scorecard.fieldforms`: the enumerator and analyst forms, page estimate;
* :mod:`~pmt.scorecard.document`: the JSON document and its checks on loading.
"""

from pmt.scorecard.banding import RATIO_CUTS as RATIO_CUTS
from pmt.scorecard.banding import _optimal_cuts as _optimal_cuts
from pmt.scorecard.card import Direction as Direction
from pmt.scorecard.card import Scorecard
from pmt.scorecard.document import FORMAT as FORMAT
from pmt.scorecard.document import SCHEMA_VERSION as SCHEMA_VERSION
from pmt.scorecard.linear import linear_index as linear_index
from pmt.scorecard.questions import Answer, Question, condition_text, map_codes
from pmt.scorecard.questions import RowReason as RowReason
from pmt.scorecard.questions import as_float as as_float
from pmt.scorecard.questions import reason_key as reason_key
from pmt.scorecard.questions import reasons_text as reasons_text

__all__ = ["Answer", "Question", "Scorecard", "condition_text", "map_codes"]
