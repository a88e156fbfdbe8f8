"""Household typology from member counts: a subgroup column for performance tables.

The Uzbekistan 2019 report reads PMT performance by household type (Table 6: single
adults, couples with 1, 2, 3, 4+ children, single parents, three-generation and
multi-family households, all-adult households ...). The report builds its types from the
roster (relationship to the head, spouses, nuclear families); household files usually
carry only member counts by age band. :func:`household_typology` builds the types from
those counts, and says which distinctions the counts cannot make.

Inputs per household: ``a`` working-age adults (18-59 in :func:`pmt.datasets.synthetic_hbs`,
column ``n_adults``), ``c`` children under 18 (the sum of the child columns, by default
``n_children_0_5 + n_children_6_17``), ``e`` elderly members (60 and over, ``n_elderly``),
and optionally ``couple`` (1 if the household has a couple, e.g. the head lives with a
spouse; from a roster or marital-status question).

Scheme ``"uzbek"`` (the default), rules checked in this order:

=================================  ==============================================
category                           rule (a adults 18-59, c children < 18, e 60+)
=================================  ==============================================
Pensioners only                    e >= 1, a = 0, c = 0 (everyone 60+, alone or not)
Extended / multi-generation        e >= 1 and a + c >= 1 (members 60+ living with
                                   younger ones: three generations, elderly parents
                                   with adult children, or grandparents with
                                   grandchildren)
Single adult                       a = 1, c = 0, e = 0
Couple, no children                a = 2, c = 0, e = 0
Couple + 1 child                   a = 2, c = 1, e = 0
Couple + 2 children                a = 2, c = 2, e = 0
Couple + 3+ children               a = 2, c >= 3, e = 0 (top category ``max_children``)
Single parent                      a = 1, c >= 1, e = 0
Adults only (3+)                   a >= 3, c = 0, e = 0
3+ adults with children            a >= 3, c >= 1, e = 0
Other                              anything else: children without an adult 18-59
                                   or 60+ (a = 0, e = 0, c >= 1); with ``couple``,
                                   two adults who are not a couple
=================================  ==============================================

What the counts cannot tell, and how it is approximated:

* **Couples.** Without a couple signal, two adults aged 18-59 are taken to be a couple
  (they may be siblings, or a single parent with an adult child). Pass ``couple=`` to
  require one: two adults 18-59 who are not a couple are then "Other", with or without
  children.
* **Adult children and second families.** A child aged 18 or more counts as an adult.
  A household with three or more adults 18-59 and children is a couple with an adult
  child and minors, or a couple living with a married son's family (two nuclei), or a
  single parent with adult children; the counts cannot tell these apart (the Uzbek
  report's "number of nuclei" needs the roster), so they form their own category, "3+
  adults with children", rather than being guessed into "nuclear" or "extended". Two
  adults are a couple unless ``couple`` says otherwise, so a single parent with one adult
  child and minors is "Couple + n children" without ``couple``.
* **Pensioners.** "Pensioners" means aged 60 or more (the age band of the counts), not
  receiving a pension; the Uzbek pension age is 55 for women, so some pensioner
  households fall under "Single adult" or "Couple, no children".
* **Single parents** are one adult 18-59 with children and no elderly member; a single
  parent living with her parents (60+) is "Extended / multi-generation" (the Uzbek
  report's "Single + children + 1/2 parents").

The result is a pandas Categorical Series with all categories in the order of
:data:`UZBEK_CATEGORIES` (single adult first, other last), ready for :func:`pmt.evaluate.subgroup_metrics` or as a
``groups`` column; :func:`typology_definitions` gives the table above as a DataFrame for
report notes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pmt._validation import column_or_array
from pmt.errors import DataError, example_rows
from pmt.survey import Survey

__all__ = ["household_typology", "typology_definitions", "UZBEK_CATEGORIES", "SCHEMES"]

SCHEMES = ("uzbek",)

PENSIONERS_ONLY = "Pensioners only"
EXTENDED = "Extended / multi-generation"
SINGLE_ADULT = "Single adult"
COUPLE_NO_CHILDREN = "Couple, no children"
SINGLE_PARENT = "Single parent"
ADULTS_ONLY = "Adults only (3+)"
ADULTS_WITH_CHILDREN = "3+ adults with children"
OTHER = "Other"


def _couple_labels(max_children: int) -> list[str]:
    out = []
    for k in range(1, max_children + 1):
        word = "child" if k == 1 else "children"
        plus = "+" if k == max_children else ""
        out.append(f"Couple + {k}{plus} {word}")
    return out


def _categories(max_children: int) -> list[str]:
    return [
        SINGLE_ADULT,
        COUPLE_NO_CHILDREN,
        *_couple_labels(max_children),
        SINGLE_PARENT,
        ADULTS_ONLY,
        ADULTS_WITH_CHILDREN,
        EXTENDED,
        PENSIONERS_ONLY,
        OTHER,
    ]


#: Categories of the "uzbek" scheme (``max_children=3``), in output order.
UZBEK_CATEGORIES = tuple(_categories(3))


def typology_definitions(scheme: str = "uzbek", max_children: int = 3) -> pd.DataFrame:
    """The categories of a scheme and their rules, for a report's notes.

    Returns
    -------
    pandas.DataFrame
        Index ``category`` (output order); column ``rule`` (a = adults 18-59, c = children
        under 18, e = members 60+).
    """
    _check_scheme(scheme)
    mc = _check_max_children(max_children)
    rules = {
        SINGLE_ADULT: "a = 1, c = 0, e = 0",
        COUPLE_NO_CHILDREN: "a = 2, c = 0, e = 0 (couple = 1 when a couple signal is given)",
    }
    for k, lab in enumerate(_couple_labels(mc), start=1):
        cond = f"c >= {k}" if k == mc else f"c = {k}"
        rules[lab] = f"a = 2, {cond}, e = 0 (couple = 1 when a couple signal is given)"
    rules.update({
        SINGLE_PARENT: "a = 1, c >= 1, e = 0",
        ADULTS_ONLY: "a >= 3, c = 0, e = 0",
        ADULTS_WITH_CHILDREN: "a >= 3, c >= 1, e = 0",
        EXTENDED: "e >= 1 and a + c >= 1",
        PENSIONERS_ONLY: "e >= 1, a = 0, c = 0",
        OTHER: "a = 0, c >= 1, e = 0; or a = 2, e = 0 and not a couple (couple signal given)",
    })
    out = pd.DataFrame({"rule": pd.Series(rules)})
    out.index.name = "category"
    return out.loc[_categories(mc)]


def _check_scheme(scheme) -> None:
    if scheme not in SCHEMES:
        raise DataError(f"`scheme` {scheme!r} is not known; schemes: {', '.join(SCHEMES)}.")


def _check_max_children(max_children) -> int:
    if isinstance(max_children, bool) or not isinstance(max_children, int | np.integer) or max_children < 1:
        raise DataError(
            f"`max_children` must be a whole number >= 1 (3 gives 'Couple + 3+ children'); got "
            f"{max_children!r}."
        )
    return int(max_children)


def _count(data: pd.DataFrame, cols, arg: str) -> np.ndarray:
    """Sum of the count columns ``cols`` (a name or a list of names), validated."""
    names = [cols] if isinstance(cols, str) else list(cols) if isinstance(cols, Sequence) else None
    if not names or not all(isinstance(c, str) for c in names):
        raise DataError(
            f"`{arg}` must be a column name or a list of column names of member counts; got "
            f"{cols!r}."
        )
    missing = [c for c in names if c not in data.columns]
    if missing:
        raise DataError(
            f"`{arg}` column(s) {', '.join(missing)} are not in the data; pass the names of "
            f"the member-count columns (available: {', '.join(map(str, data.columns[:25]))}"
            f"{' ...' if data.shape[1] > 25 else ''})."
        )
    total = np.zeros(len(data))
    for c in names:
        x = column_or_array(c, data, name=arg)
        bad = (x < 0) | (x != np.floor(x))
        if bad.any():
            raise DataError(
                f"`{arg}` column '{c}' must hold whole numbers >= 0 (member counts); bad "
                f"values at {example_rows(data.index[bad])}."
            )
        total += x
    return total.astype(np.int64)


def household_typology(
    df,
    *,
    adults="n_adults",
    children=("n_children_0_5", "n_children_6_17"),
    elderly="n_elderly",
    couple=None,
    size=None,
    scheme: str = "uzbek",
    max_children: int = 3,
    name: str = "household_type",
) -> pd.Series:
    """Household type of every household from its member counts.

    Parameters
    ----------
    df : pandas.DataFrame or pmt.Survey
        One row per household.
    adults : str or list of str
        Column(s) counting working-age adults (18-59); several are summed.
    children : str or list of str
        Column(s) counting children under 18, summed (default: ``n_children_0_5`` and
        ``n_children_6_17`` of :func:`pmt.datasets.synthetic_hbs`). Do not list
        overlapping bands (``n_children_0_2`` with ``n_children_0_5``).
    elderly : str or list of str
        Column(s) counting members aged 60 and over.
    couple : str, optional
        A 0/1 column: 1 if the household has a couple (head and spouse/partner). Without
        it two adults 18-59 are assumed to be a couple (see the module docstring).
    size : str, optional
        Household-size column: when given, adults + children + elderly must equal it, and
        households where they do not raise DataError (a member in no age band).
    scheme : {"uzbek"}
        The set of categories (module docstring).
    max_children : int
        Couples with this many children or more share the top category ("Couple + 3+
        children" by default; 4 gives the Uzbek Table 6 rows 1, 2, 3, 4+).
    name : str
        Name of the returned Series.

    Returns
    -------
    pandas.Series
        Categorical (all categories of the scheme, in the order of
        :func:`typology_definitions`, unobserved ones included), indexed like ``df``.

    Raises
    ------
    pmt.DataError
        Naming the argument, column and rows: a missing column, missing, negative or
        fractional counts, a household with no members, counts that do not add up to
        ``size``, a ``couple`` column that is not 0/1, an unknown scheme.
    """
    data = df.data if isinstance(df, Survey) else df
    if not isinstance(data, pd.DataFrame):
        raise DataError("`df` must be a pandas DataFrame (one row per household) or a pmt.Survey.")
    _check_scheme(scheme)
    mc = _check_max_children(max_children)
    a = _count(data, adults, "adults")
    c = _count(data, children, "children")
    e = _count(data, elderly, "elderly")
    total = a + c + e
    empty = total == 0
    if empty.any():
        raise DataError(
            f"{int(empty.sum())} households have no members in `adults`, `children` or "
            f"`elderly` ({example_rows(data.index[empty])}): check the count columns, or drop "
            "those households."
        )
    if size is not None:
        n = _count(data, size, "size")
        off = n != total
        if off.any():
            i = np.flatnonzero(off)[0]
            raise DataError(
                f"adults + children + elderly differ from `size` column '{size}' in "
                f"{int(off.sum())} households ({example_rows(data.index[off])}; e.g. "
                f"{a[i]} + {c[i]} + {e[i]} vs {n[i]}): the count columns must cover every "
                "member once; pass all the age-band columns, without overlaps."
            )
    cp = None
    if couple is not None:
        cp = _count(data, couple, "couple")
        bad = cp > 1
        if bad.any():
            raise DataError(
                f"`couple` column '{couple}' must be 0/1 (1 = the household has a couple); "
                f"other values at {example_rows(data.index[bad])}."
            )
    is_couple = np.ones(len(data), dtype=bool) if cp is None else cp == 1
    couples = _couple_labels(mc)
    k = np.minimum(c, mc)
    couple_kids = np.array(["", *couples], dtype=object)[k]
    conds = [
        (e >= 1) & (a == 0) & (c == 0),
        (e >= 1),
        (a >= 3) & (c >= 1),
        (a == 1) & (c == 0),
        (a == 2) & (c == 0) & is_couple,
        (a == 2) & (c >= 1) & is_couple,
        (a == 1) & (c >= 1),
        (a >= 3) & (c == 0),
    ]
    choices = [
        np.full(len(data), PENSIONERS_ONLY, dtype=object),
        np.full(len(data), EXTENDED, dtype=object),
        np.full(len(data), ADULTS_WITH_CHILDREN, dtype=object),
        np.full(len(data), SINGLE_ADULT, dtype=object),
        np.full(len(data), COUPLE_NO_CHILDREN, dtype=object),
        couple_kids,
        np.full(len(data), SINGLE_PARENT, dtype=object),
        np.full(len(data), ADULTS_ONLY, dtype=object),
    ]
    types = np.select(conds, choices, default=OTHER)
    return pd.Series(
        pd.Categorical(types, categories=_categories(mc)), index=data.index, name=name
    )
