"""Nuclear families inside households, rebuilt from a person roster.

Where the assistance unit is the nuclear family rather than the household (Uzbekistan's
draft regulation CR #308: "father, mother and their children, including children 18 and
above provided they have not yet formed their own families"; Kazakhstan's special child
allowance: "Family ... includes only parents and their children under 18"), one household
may hold several families. :func:`families` numbers them 1, 2, ... inside each household
from the roster, by one of two methods:

* **links**, when the roster gives each member the line number of their spouse, mother
  and/or father inside the household (the Uzbek form, items 2.07-2.09);
* **relationship codes**, when it gives only each member's relationship to the head (the
  Kazakh HBS, OPM 2017 footnote 6), by the documented rules below.

Roles
-----
A relationship code is mapped to one role (``codes``); the vocabulary is:

==================  =====================================================================
role                the member is the head's ...
==================  =====================================================================
``head``            the head of household
``spouse``          spouse or partner
``child``           son or daughter (own, step, adopted or foster)
``child_in_law``    son- or daughter-in-law (the spouse of a child)
``grandchild``      grandchild
``parent``          father or mother
``parent_in_law``   father- or mother-in-law (a parent of the spouse)
``sibling``         brother or sister
``sibling_in_law``  brother- or sister-in-law (the spouse of a sibling, or a sibling of
                    the spouse)
``grandparent``     grandparent
``other_relative``  any other relative (niece, nephew, uncle, cousin ...)
``non_relative``    not related (lodger, servant, friend)
==================  =====================================================================

Shipped code maps (``codes="uzbekistan"`` or ``"kazakhstan"``) are YAML files in
``pmt/roster/codes/`` with keys ``name``, ``source``, ``codes`` ({code: role}), ``rules``
(``child_age``, ``adult_children``, optionally ``not_member_codes``) and ``note``. The
Kazakh codes are **not** from a published list (the OPM report does not print them): check
them against your file's value labels. Codes may be numbers or strings (labels of a
labelled Stata file); a whole number matches a float column (2 == 2.0).

Two rules set who counts as a dependant child:

* ``child_age`` (default 18): children younger than this are dependants of their parents;
* ``adult_children`` (default True, the Uzbek rule): unmarried children of any age stay in
  their parents' family; False (the Kazakh rule) makes every child aged ``child_age`` or
  more a single-person family of their own.

Method 1: links
---------------
A family is a couple (spouse links, made symmetric) or a single parent, plus their
dependent children. A person linked to a mother or father in the household is that
parent's dependant when they are not in a couple in the household, have no child of their
own in the household, are not married by ``marital`` (when given), and are younger than
``child_age`` or ``adult_children`` is True. Everyone else with no couple and no dependant
link is a single-person family. Missing, 0 and ``not_member_codes`` links mean "not a
member". Fallbacks, each counted in ``attrs["ambiguous"]``:

1. a spouse link that is not returned (A names B, B names nobody) still makes a couple
   ("one-sided spouse link"); links that disagree (A names B, B names C) join all three;
2. a link to a line number that is not in the household is treated as missing ("link to a
   non-member"), and so is a link to oneself;
3. a child linked to a mother and a father who are not a couple goes with the mother;
4. without ``age`` (or where it is missing) a linked child is a dependant
   ("no age: children kept with parents"); this only matters when ``adult_children`` is
   False;
5. a person married by ``marital`` whose spouse is not in the household is not a
   dependant: they head their own family (with their children, if linked);
6. a child under ``child_age`` with no parent link is a single-person family (counted: the
   links do not say who cares for them).

When ``relation`` and ``codes`` are given too, they only identify the head (whose family is
numbered 1).

Method 2: relationship to head
------------------------------
Only ``relation`` and ``codes``; the rules, in order:

1. **Head's family.** The head, the head's spouse(s) and the head's unmarried dependant
   children (role ``child``; younger than ``child_age``, or any age when
   ``adult_children``) form family 1. With ``marital``/``married_codes``, "married" means
   the marital code is in ``married_codes``; otherwise a child counts as married only when
   rule 2 pairs them with a child-in-law.
2. **Married children.** A married child, their spouse (``child_in_law``) and their
   children (grandchildren) form a family. The children-in-law (in roster order) are
   paired with as many married children: with ``marital``, the married children, oldest
   first; otherwise the adult children (aged ``child_age`` or more; members of unknown age
   last), oldest first; without ``age``, in roster order. The chosen children are matched
   to the children-in-law in roster order. Counted: "married child chosen by rule" (more
   candidates than children-in-law), "several couples of the younger generation" (two or
   more children-in-law). A child-in-law with no child to pair with forms a family with
   the grandchildren (a widowed or absent-spouse daughter-in-law with her children;
   "child-in-law without a spouse in the household"). With ``marital``, a married child
   without a child-in-law is a family of their own ("married child without a spouse in
   the household").
3. **Grandchildren** join the family of rule 2 when there is one; when there are several,
   the youngest (by the age of the head's child, else of the child-in-law; without ages,
   the last listed), counted as "grandchildren assigned by rule". With no such family they
   join the head's family, the unit that cares for them ("grandchildren without a parent
   in the household").
4. **Parents.** The head's parent(s) form one family (two parents are a couple), the
   parents-in-law another; a single (widowed) parent is a single-person family. If the
   head has no spouse, child, child-in-law or grandchild in the household, is not married
   by ``marital`` and passes the dependant test of rule 1, the head is their parents'
   dependant child and the two families are one (family 1), as the links method finds.
5. **Siblings.** The head's unmarried siblings are the parents' dependants under rule 1's
   test when a parent of the head is present; with no parent present, siblings younger
   than ``child_age`` join the head's family ("young siblings without parents: head's
   family"), and older siblings, or of unknown age, are single-person families.
   Siblings-in-law are paired with married siblings as in rule 2 (couples, in roster
   order; "several sibling couples paired in order"); a sibling-in-law left unpaired is a
   single-person family.
6. **Grandparents** are one family (a couple when two), otherwise a single person.
7. **Other relatives and non-relatives** are single-person families each (the rule; not
   counted).
8. **Ages.** ``age`` is used for every ``child_age`` test; without it every child is a
   dependant ("no age: children kept with parents", counted when ``adult_children`` is
   False); a missing age in the column is treated the same way ("missing age: kept with
   parents").
9. **Heads.** A household with no head, or several, is still split by these rules (all
   heads in one family), and counted.

Numbering
---------
Family ids are 1..k within each household: the family of the head first, then families in
the order of the smallest person id they hold. Household and person ids are used as given
(any type); the result is aligned with the roster's index.

The two methods agree wherever the links describe the relationships the codes imply; they
differ on children without parents (links: single-person families; codes: the head's
family) and where the codes rules guess (pairings, grandchildren).
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pmt.errors import DataError, _label

__all__ = [
    "families",
    "family_summary",
    "load_codes",
    "CodeMap",
    "ROLES",
    "CODE_MAPS",
    "CODES_DIR",
]

#: The roles a relationship code can be mapped to (module docstring).
ROLES = (
    "head",
    "spouse",
    "child",
    "child_in_law",
    "grandchild",
    "parent",
    "parent_in_law",
    "sibling",
    "sibling_in_law",
    "grandparent",
    "other_relative",
    "non_relative",
)
(
    HEAD,
    SPOUSE,
    CHILD,
    CHILD_IN_LAW,
    GRANDCHILD,
    PARENT,
    PARENT_IN_LAW,
    SIBLING,
    SIBLING_IN_LAW,
    GRANDPARENT,
    OTHER_RELATIVE,
    NON_RELATIVE,
) = range(len(ROLES))

#: Folder of the shipped code maps.
CODES_DIR = Path(__file__).with_name("codes")
#: Shipped code maps: name -> file in :data:`CODES_DIR`.
CODE_MAPS = {"uzbekistan": "uzbekistan_l2cu.yaml", "kazakhstan": "kazakhstan_hbs.yaml"}

DEFAULT_CHILD_AGE = 18.0
DEFAULT_ADULT_CHILDREN = True
_RULE_KEYS = ("child_age", "adult_children", "not_member_codes")
AMBIGUOUS_COLUMNS = ["case", "households", "persons", "rule_applied"]

# unit labels of the relationship-codes method (within a household)
_U_HEAD, _U_PARENTS, _U_PARENTS_IN_LAW, _U_GRANDPARENTS = 0, 1, 2, 3
_U_CHILD_COUPLES = 10_000
_U_SIBLING_COUPLES = 20_000
_U_SPAN = 100_000


# ---------------------------------------------------------------------------------------
# code maps
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeMap:
    """A relationship-code map: code -> role, with its source and family rules.

    Attributes
    ----------
    name : str
        Short description of the roster the codes belong to.
    source : str
        Citation of the code list and of the family rule.
    codes : dict
        {code: role}; roles are in :data:`ROLES`.
    rules : dict
        ``child_age``, ``adult_children`` and ``not_member_codes`` when the file sets them.
    note : str or None
        Caveats (e.g. codes that must be checked against the data's value labels).
    """

    name: str
    source: str
    codes: dict
    rules: dict = field(default_factory=dict)
    note: str | None = None


def _role_name(role, code) -> str:
    text = str(role).strip().lower().replace("-", "_").replace(" ", "_")
    if text not in ROLES:
        raise DataError(
            f"code {code!r} maps to the unknown role {role!r}; roles are: {', '.join(ROLES)}."
        )
    return text


def _check_rules(rules, where: str) -> dict:
    if rules is None:
        return {}
    if not isinstance(rules, Mapping):
        raise DataError(f"`rules` in {where} must be a mapping of {', '.join(_RULE_KEYS)}.")
    bad = [k for k in rules if k not in _RULE_KEYS]
    if bad:
        raise DataError(
            f"unknown rule(s) {', '.join(map(str, bad))} in {where}; rules are: "
            f"{', '.join(_RULE_KEYS)}."
        )
    out = dict(rules)
    if "child_age" in out:
        out["child_age"] = _check_child_age(out["child_age"])
    if "adult_children" in out:
        out["adult_children"] = _check_adult_children(out["adult_children"])
    if "not_member_codes" in out:
        v = out["not_member_codes"]
        out["not_member_codes"] = list(v) if isinstance(v, list | tuple) else [v]
    return out


def _from_dict(raw, where: str) -> CodeMap:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("codes"), Mapping):
        raise DataError(
            f"{where} must be a YAML mapping with a `codes` mapping {{code: role}} (and "
            "`name`, `source`, `rules`); see pmt/roster/codes/uzbekistan_l2cu.yaml."
        )
    unknown = [k for k in raw if k not in ("name", "source", "codes", "rules", "note")]
    if unknown:
        raise DataError(
            f"unknown key(s) {', '.join(map(str, unknown))} in {where}; keys are name, "
            "source, codes, rules, note."
        )
    codes = {k: _role_name(v, k) for k, v in raw["codes"].items()}
    if not codes:
        raise DataError(f"`codes` in {where} is empty.")
    return CodeMap(
        name=str(raw.get("name", where)),
        source=str(raw.get("source", "")),
        codes=codes,
        rules=_check_rules(raw.get("rules"), where),
        note=None if raw.get("note") is None else str(raw["note"]),
    )


def load_codes(codes) -> CodeMap:
    """Read a relationship-code map.

    Parameters
    ----------
    codes : mapping, str or path-like
        A mapping {code: role}; the name of a shipped map (``"uzbekistan"``,
        ``"kazakhstan"``, see :data:`CODE_MAPS`); or the path of a YAML file with keys
        ``name``, ``source``, ``codes``, ``rules`` (and optionally ``note``).

    Returns
    -------
    CodeMap

    Raises
    ------
    pmt.DataError
        An unknown name, a missing or malformed file, a role not in :data:`ROLES`, an
        unknown rule.
    """
    if isinstance(codes, CodeMap):
        return codes
    if isinstance(codes, Mapping):
        if "codes" in codes and isinstance(codes["codes"], Mapping):
            return _from_dict(codes, "the `codes` mapping")
        return _from_dict({"name": "custom codes", "codes": dict(codes)}, "the `codes` mapping")
    if isinstance(codes, str | os.PathLike):
        text = os.fspath(codes)
        key = text.strip().lower()
        stems = {Path(f).stem: f for f in CODE_MAPS.values()}
        if key in CODE_MAPS or key in stems:
            path = CODES_DIR / CODE_MAPS.get(key, stems.get(key, ""))
        else:
            path = Path(text)
            if not path.is_file():
                raise DataError(
                    f"`codes` {text!r} is neither a shipped code map ({', '.join(CODE_MAPS)}) "
                    "nor a YAML file: pass a mapping {code: role}, a shipped name or the path "
                    "of a YAML code map."
                )
        try:
            with open(path, encoding="utf-8") as fh:
                raw = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            raise DataError(f"the code map {path} is not valid YAML: {exc}") from None
        return _from_dict(raw, f"the code map {path}")
    raise DataError(
        "`codes` must be a mapping {code: role}, the name of a shipped code map "
        f"({', '.join(CODE_MAPS)}) or the path of a YAML code map; got {type(codes).__name__}."
    )


def _key(v):
    """Normalised code: numbers as float, strings stripped; None for missing."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_):
        x = float(v)
        return None if np.isnan(x) else x
    if isinstance(v, bool | np.bool_):
        return float(v)
    return str(v).strip()


def _show_code(c) -> str:
    """A code for a message: numbers plain (2, not 2.0), text quoted."""
    k = _key(c)
    return _label(k) if isinstance(k, float) else repr(k)


def _number_from_text(s: str):
    try:
        x = float(s)
    except ValueError:
        return None
    return None if np.isnan(x) else x


class _Lookup:
    """Match data values against code keys: numbers by value, strings exactly, then by case."""

    def __init__(self, mapping: Mapping):
        self.exact: dict = {}
        self.folded: dict = {}
        for k, v in mapping.items():
            nk = _key(k)
            if nk is None:
                continue
            self.exact.setdefault(nk, v)
            if isinstance(nk, str):
                self.folded.setdefault(nk.casefold(), v)

    def get(self, value):
        nk = _key(value)
        if nk is None:
            return None
        if nk in self.exact:
            return self.exact[nk]
        if isinstance(nk, str):
            if nk.casefold() in self.folded:
                return self.folded[nk.casefold()]
            num = _number_from_text(nk)
            if num is not None and num in self.exact:
                return self.exact[num]
        elif float(nk).is_integer() and str(int(nk)) in self.exact:
            return self.exact[str(int(nk))]
        return _MISSING


_MISSING = object()


def _map_values(values: pd.Series, mapping: Mapping, default, dtype=object):
    """``mapping`` applied to every value: (result array, unknown mask, missing mask).

    Only the distinct values are looked up (fast on large rosters).
    """
    look = _Lookup(mapping)
    inv, uniques = pd.factorize(values, use_na_sentinel=True)
    table = []
    unknown_u = np.zeros(len(uniques) + 1, dtype=bool)
    missing_u = np.zeros(len(uniques) + 1, dtype=bool)
    for i, u in enumerate(uniques):
        got = look.get(u)
        if got is None:
            missing_u[i] = True
            table.append(default)
        elif got is _MISSING:
            unknown_u[i] = True
            table.append(default)
        else:
            table.append(got)
    table.append(default)
    missing_u[-1] = True
    idx = np.where(inv < 0, len(uniques), inv)
    return np.asarray(table, dtype=dtype)[idx], unknown_u[idx], missing_u[idx]


# ---------------------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------------------


def _check_child_age(v) -> float:
    # numbers.Real's stub lacks __gt__, but every Real compares with 0
    if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real) or not v > 0:  # type: ignore[operator]
        raise DataError(f"`child_age` must be a positive number of years (e.g. 18); got {v!r}.")
    return float(v)


def _check_adult_children(v) -> bool:
    if not isinstance(v, bool | np.bool_):
        raise DataError(
            "`adult_children` must be True (unmarried children of any age stay with their "
            f"parents) or False (children aged child_age+ form their own family); got {v!r}."
        )
    return bool(v)


def _column(roster: pd.DataFrame, col, arg: str) -> pd.Series:
    if col is None:
        return None
    if not isinstance(col, str) or col not in roster.columns:
        avail = ", ".join(map(str, roster.columns[:25])) + (" ..." if roster.shape[1] > 25 else "")
        raise DataError(f"`{arg}` column {col!r} is not in the roster (columns: {avail}).")
    return roster[col]


def _persons(hh_ids: pd.Series, p_ids: pd.Series, mask: np.ndarray, limit: int = 3) -> str:
    """e.g. "(household, person) (HH-01, 3), (HH-02, 1) and 4 more"."""
    pos = np.flatnonzero(mask)
    shown = ", ".join(
        f"({_label(hh_ids.iat[i])}, {_label(p_ids.iat[i])})" for i in pos[:limit]
    )
    more = f" and {pos.size - limit} more" if pos.size > limit else ""
    return f"(household, person) {shown}{more}"


def _ids(values: pd.Series, numeric: bool, arg: str) -> np.ndarray:
    """Id values as float (numeric ids) or text (other ids); NaN / None where missing."""
    if numeric:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(x) & values.notna().to_numpy()
        if bad.any():
            raise DataError(
                f"`{arg}` has {int(bad.sum())} values that are not line numbers at "
                f"rows {', '.join(map(_label, values.index[bad][:5]))}: the person ids are "
                "numbers, so the links must be numbers too."
            )
        return x
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.to_numpy(dtype=object)):
        k = _key(v)
        out[i] = None if k is None or k == "" else (_label(k) if isinstance(k, float) else k)
    return out


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------


def _cumcount(sorted_groups: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within runs of equal values of an already sorted array."""
    n = sorted_groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


class _Cases:
    """Counts of the ambiguous / fallback cases met (one row per kind)."""

    def __init__(self, hh: np.ndarray):
        self.hh = hh
        self.masks: dict[str, np.ndarray] = {}
        self.rules: dict[str, str] = {}

    def add(self, case: str, mask: np.ndarray, rule: str) -> None:
        """Record the persons of ``mask`` under ``case`` (merged with earlier ones)."""
        if not mask.any():
            return
        if case in self.masks:
            self.masks[case] = self.masks[case] | mask
        else:
            self.masks[case] = mask.copy()
            self.rules[case] = rule

    def frame(self) -> pd.DataFrame:
        rows = [
            (case, int(np.unique(self.hh[m]).size), int(m.sum()), self.rules[case])
            for case, m in self.masks.items()
        ]
        out = pd.DataFrame(rows, columns=AMBIGUOUS_COLUMNS)
        return out.astype({"households": "int64", "persons": "int64"})


def _number(comp: np.ndarray, hh: np.ndarray, rank: np.ndarray, head: np.ndarray) -> np.ndarray:
    """Family ids 1..k within households: the head's family first, then by smallest person."""
    n = comp.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    n_comp = int(comp.max()) + 1
    order = np.empty(n, dtype=np.int64)
    order[rank] = np.arange(n)  # persons sorted by (household, person id)
    _, first = np.unique(comp[order], return_index=True)  # smallest rank of each family
    has_head = np.bincount(comp, weights=head.astype(float), minlength=n_comp) > 0
    comp_hh = hh[order[first]]
    sorted_comps = np.lexsort((first, ~has_head, comp_hh))
    fam = np.empty(n_comp, dtype=np.int64)
    fam[sorted_comps] = _cumcount(comp_hh[sorted_comps]) + 1
    return fam[comp]


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    return connected_components(graph, directed=False)[1].astype(np.int64)


# ---------------------------------------------------------------------------------------
# method 1: links
# ---------------------------------------------------------------------------------------


def _links(
    n, hh, link_rows, age, married, child_age, adult_children, cases
) -> np.ndarray:
    idx = np.arange(n)
    sp, mo, fa = link_rows
    # couples: symmetric spouse links
    has = sp >= 0
    i, j = idx[has], sp[has]
    back = sp[j]
    one_sided = back < 0
    m = np.zeros(n, dtype=bool)
    m[i[one_sided]] = True
    m[j[one_sided]] = True
    cases.add("one-sided spouse link", m, "treated as a couple (the link made mutual)")
    m = np.zeros(n, dtype=bool)
    disagree = (back >= 0) & (back != i)
    m[i[disagree]] = True
    m[j[disagree]] = True
    m[back[disagree]] = True
    cases.add(
        "spouse links that disagree",
        m,
        "everyone linked as a spouse is put in one family",
    )
    in_couple = np.zeros(n, dtype=bool)
    in_couple[i] = True
    in_couple[j] = True
    couple_comp = _components(n, i, j)
    # children and dependants
    has_child = np.zeros(n, dtype=bool)
    has_child[mo[mo >= 0]] = True
    has_child[fa[fa >= 0]] = True
    parent = np.where(mo >= 0, mo, fa)
    linked = parent >= 0
    cand = linked & ~in_couple & ~has_child
    if married is not None:
        own = cand & married
        cases.add(
            "married, spouse not in the household",
            own,
            "not a dependant of their parents: a family of their own (with their children)",
        )
        cand &= ~married
    if adult_children:
        dep = cand
    elif age is None:
        dep = cand
        cases.add(
            "no age: children kept with parents",
            cand,
            "without ages every linked child is taken as a dependant of the parent",
        )
    else:
        unknown = np.isnan(age)
        cases.add(
            "missing age: kept with parents",
            cand & unknown,
            "a linked child of unknown age is taken as a dependant of the parent",
        )
        dep = cand & (unknown | (age < child_age))
    both = (mo >= 0) & (fa >= 0)
    apart = np.zeros(n, dtype=bool)
    apart[both] = couple_comp[mo[both]] != couple_comp[fa[both]]
    cases.add(
        "parents not a couple: child with the mother",
        dep & apart,
        "the child joins the mother's family",
    )
    if age is not None:
        cases.add(
            "child without a parent link: own family",
            ~linked & ~in_couple & ~has_child & (age < child_age),
            "a single-person family (no parent named in the household)",
        )
    a = np.r_[i, idx[dep]]
    b = np.r_[j, parent[dep]]
    return _components(n, a, b)


def _link_rows(link, arg, numeric, key_of, n_keys, hh, lookup_sorted, order, not_member, cases):
    """Row position of each link target in the same household (-1: none)."""
    n = hh.size
    if link is None:
        return np.full(n, -1, dtype=np.int64)
    vals = _ids(link, numeric, arg)
    if numeric:
        missing = np.isnan(vals) | (vals == 0)
        for c in not_member:
            k = _key(c)
            if isinstance(k, float):
                missing |= vals == k
    else:
        nm = {_label(_key(c)) if isinstance(_key(c), float) else _key(c) for c in not_member}
        missing = np.array([v is None or v == "0" or v in nm for v in vals], dtype=bool)
    code = key_of(vals)
    rows = np.full(n, -1, dtype=np.int64)
    ok = ~missing & (code >= 0)
    lk = hh[ok] * n_keys + code[ok]
    pos = np.searchsorted(lookup_sorted, lk)
    pos = np.minimum(pos, lookup_sorted.size - 1)
    found = lookup_sorted[pos] == lk
    tmp = np.full(lk.size, -1, dtype=np.int64)
    tmp[found] = order[pos[found]]
    rows[ok] = tmp
    non_member = ~missing & (rows < 0)
    cases.add(
        "link to a non-member",
        non_member,
        "treated as missing (the line number is not a member of the household)",
    )
    self_link = rows == np.arange(n)
    cases.add("link to oneself", self_link, "treated as missing")
    rows[self_link] = -1
    return rows


# ---------------------------------------------------------------------------------------
# method 2: relationship to head
# ---------------------------------------------------------------------------------------


def _pair(hh, n_hh, rank, age, blood, inlaw, married, child_age):
    """Pair in-laws (spouses of the head's children or siblings) with married blood members.

    Returns ``j`` (unit number within the household for paired/married blood members and
    in-laws, -1 otherwise), couples per household, units per household, in-laws per
    household, candidates per household.
    """
    n = hh.size
    m_h = np.bincount(hh[inlaw], minlength=n_hh)
    if married is not None:
        cand = blood & married
    elif age is not None:
        cand = blood & ~(age < child_age)  # adults, and members of unknown age
    else:
        cand = blood
    ci = np.flatnonzero(cand)
    a = age[ci] if age is not None else np.zeros(ci.size)
    agekey = np.where(np.isnan(a), np.inf, -a)  # oldest first, unknown ages last
    o = ci[np.lexsort((rank[ci], agekey, hh[ci]))]
    r = _cumcount(hh[o])
    chosen = r < m_h[hh[o]]
    paired = o[chosen]
    extra = o[~chosen] if married is not None else o[:0]
    j = np.full(n, -1, dtype=np.int64)
    p = paired[np.lexsort((rank[paired], hh[paired]))]
    j[p] = _cumcount(hh[p])
    e = extra[np.lexsort((rank[extra], hh[extra]))]
    j[e] = m_h[hh[e]] + _cumcount(hh[e])
    il = np.flatnonzero(inlaw)
    il = il[np.lexsort((rank[il], hh[il]))]
    j[il] = _cumcount(hh[il])
    c_h = np.bincount(hh[cand], minlength=n_hh)
    couples = np.minimum(m_h, c_h)
    units = m_h + np.bincount(hh[extra], minlength=n_hh)
    return j, couples, units, m_h, c_h


def _codes(n, hh, n_hh, rank, role, age, married, child_age, adult_children, cases):
    unit = np.full(n, -1, dtype=np.int64)  # -1: single-person family
    count = [np.bincount(hh[role == r], minlength=n_hh) for r in range(len(ROLES))]
    in_hh = [c[hh] for c in count]
    a = age if age is not None else np.full(n, np.nan)
    unknown_age = np.isnan(a)
    young = ~unknown_age & (a < child_age)
    dep_age = np.ones(n, dtype=bool) if adult_children else (unknown_age | young)
    not_married = ~married if married is not None else np.ones(n, dtype=bool)
    is_ = [role == r for r in range(len(ROLES))]

    cases.add(
        "no head in the household",
        in_hh[HEAD] == 0,
        "the rules are applied relative to the missing head (spouse and children together)",
    )
    cases.add("several heads", in_hh[HEAD] > 1, "all heads are put in one family")

    # rule 1: head, spouse(s)
    unit[is_[HEAD] | is_[SPOUSE]] = _U_HEAD

    # rule 2: children and children-in-law
    j, couples, units, m_h, c_h = _pair(
        hh, n_hh, rank, age, is_[CHILD], is_[CHILD_IN_LAW], married, child_age
    )
    young_gen = (is_[CHILD] | is_[CHILD_IN_LAW]) & (j >= 0)
    unit[young_gen] = _U_CHILD_COUPLES + j[young_gen]
    how = (
        "the married child(ren) by `marital`, oldest first"
        if married is not None
        else "the oldest adult child(ren)"
        if age is not None
        else "the first-listed child(ren) (no age)"
    )
    cases.add(
        "married child chosen by rule",
        (m_h[hh] > 0) & (c_h[hh] > m_h[hh]) & young_gen & (j < couples[hh]),
        f"a child-in-law is paired with {how}",
    )
    cases.add(
        "several couples of the younger generation",
        (m_h[hh] >= 2) & young_gen & (j < couples[hh]),
        "children-in-law and married children paired in roster order",
    )
    cases.add(
        "child-in-law without a spouse in the household",
        is_[CHILD_IN_LAW] & (j >= couples[hh]),
        "a family with the grandchildren (if any)",
    )
    if married is not None:
        cases.add(
            "married child without a spouse in the household",
            is_[CHILD] & (j >= m_h[hh]),
            "a family of their own (with the grandchildren, if any)",
        )
    # unmarried children
    kids = is_[CHILD] & (j < 0)
    unit[kids & dep_age] = _U_HEAD
    if not adult_children:
        if age is None:
            cases.add(
                "no age: children kept with parents",
                kids,
                "without ages every unmarried child stays in the head's family",
            )
        else:
            cases.add(
                "missing age: kept with parents",
                kids & unknown_age,
                "an unmarried child of unknown age stays in the head's family",
            )

    # rule 3: grandchildren
    gc = is_[GRANDCHILD]
    u_of = units[hh]
    unit[gc & (u_of == 0)] = _U_HEAD
    cases.add(
        "grandchildren without a parent in the household",
        gc & (u_of == 0),
        "they join the head's family (the unit that cares for them)",
    )
    unit[gc & (u_of == 1)] = _U_CHILD_COUPLES
    multi = gc & (u_of >= 2)
    if multi.any():
        rep = ((is_[CHILD] & (j >= 0)) | (is_[CHILD_IN_LAW] & (j >= couples[hh]))) & (
            (units[hh] >= 2) & (in_hh[GRANDCHILD] > 0)
        )
        ri = np.flatnonzero(rep)
        key_age = np.where(np.isnan(a[ri]), np.inf, a[ri])
        ri = ri[np.lexsort((-j[ri], key_age, hh[ri]))]
        first = np.r_[True, hh[ri][1:] != hh[ri][:-1]]
        youngest = np.full(n_hh, 0, dtype=np.int64)
        youngest[hh[ri[first]]] = j[ri[first]]
        unit[multi] = _U_CHILD_COUPLES + youngest[hh[multi]]
        cases.add(
            "grandchildren assigned by rule",
            multi,
            "they join the youngest couple of the younger generation",
        )

    # rule 4: parents, parents-in-law; rule 6: grandparents
    unit[is_[PARENT]] = _U_PARENTS
    unit[is_[PARENT_IN_LAW]] = _U_PARENTS_IN_LAW
    unit[is_[GRANDPARENT]] = _U_GRANDPARENTS
    for r, label in ((PARENT, "parents"), (PARENT_IN_LAW, "parents-in-law"),
                     (GRANDPARENT, "grandparents")):
        cases.add(
            f"more than two {label}",
            is_[r] & (in_hh[r] > 2),
            f"all the {label} are put in one family",
        )

    # rule 5: siblings and siblings-in-law
    js, s_couples, _, s_m, s_c = _pair(
        hh, n_hh, rank, age, is_[SIBLING], is_[SIBLING_IN_LAW], married, child_age
    )
    sib_gen = (is_[SIBLING] | is_[SIBLING_IN_LAW]) & (js >= 0)
    unit[sib_gen] = _U_SIBLING_COUPLES + js[sib_gen]
    cases.add(
        "married sibling chosen by rule",
        (s_m[hh] > 0) & (s_c[hh] > s_m[hh]) & sib_gen & (js < s_couples[hh]),
        f"a sibling-in-law is paired with {how.replace('child', 'sibling')}",
    )
    cases.add(
        "several sibling couples paired in order",
        (s_m[hh] >= 2) & sib_gen & (js < s_couples[hh]),
        "siblings-in-law and married siblings paired in roster order",
    )
    cases.add(
        "sibling-in-law without a sibling to pair",
        is_[SIBLING_IN_LAW] & (js >= s_couples[hh]),
        "a single-person family",
    )
    if married is not None:
        cases.add(
            "married sibling without a spouse in the household",
            is_[SIBLING] & (js >= s_m[hh]),
            "a single-person family",
        )
    sibs = is_[SIBLING] & (js < 0)
    with_parents = in_hh[PARENT] > 0
    unit[sibs & with_parents & dep_age] = _U_PARENTS
    orphan_young = sibs & ~with_parents & young
    unit[orphan_young] = _U_HEAD
    cases.add(
        "young siblings without parents: head's family",
        orphan_young,
        "siblings under child_age with no parent of the head present join the head's family",
    )
    cases.add(
        "no age: siblings without parents treated as adults"
        if age is None
        else "missing age: siblings without parents treated as adults",
        sibs & ~with_parents & unknown_age,
        "a single-person family",
    )
    if not adult_children:
        cases.add(
            "no age: children kept with parents" if age is None
            else "missing age: kept with parents",
            sibs & with_parents & unknown_age,
            "an unmarried sibling of unknown age stays with the head's parents",
        )

    # rule 4 (end): an unmarried, childless head living with their parents is their child
    lone = (
        (count[HEAD] == 1) & (count[SPOUSE] == 0) & (count[CHILD] == 0)
        & (count[CHILD_IN_LAW] == 0) & (count[GRANDCHILD] == 0) & (count[PARENT] > 0)
    )
    head_dep = np.zeros(n_hh, dtype=bool)
    hi = np.flatnonzero(is_[HEAD])
    head_dep[hh[hi]] = (dep_age & not_married)[hi]
    merge = (lone & head_dep)[hh] & (unit == _U_PARENTS)
    unit[merge] = _U_HEAD

    # rule 7: everyone else (-1) is a single-person family
    key = np.where(unit >= 0, hh * _U_SPAN + unit, n_hh * _U_SPAN + np.arange(n))
    return pd.factorize(key)[0].astype(np.int64)


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------


def families(
    roster: pd.DataFrame,
    *,
    household: str,
    person: str,
    relation: str | None = None,
    codes=None,
    spouse: str | None = None,
    mother: str | None = None,
    father: str | None = None,
    age: str | None = None,
    marital: str | None = None,
    married_codes=None,
    child_age: float | None = None,
    adult_children: bool | None = None,
) -> pd.Series:
    """Nuclear family id of every person of a roster (1, 2, ... within each household).

    Parameters
    ----------
    roster : pandas.DataFrame
        One row per person.
    household, person : str
        Columns of the household id and of the person's line number within the household
        (the number the link columns refer to). Ids of any type are used as given.
    relation : str, optional
        Column of the relationship to the head; needs ``codes``. Alone (no links) it selects
        the relationship-codes method; with links it only identifies the head.
    codes : mapping, str or path-like, optional
        {code: role} (roles in :data:`ROLES`), a shipped map name (``"uzbekistan"``,
        ``"kazakhstan"``) or the path of a YAML code map (:func:`load_codes`). A file's
        ``rules`` set ``child_age``/``adult_children`` unless passed here.
    spouse, mother, father : str, optional
        Columns of the line number of the person's spouse, mother and father inside the
        household (missing or 0: not a member). Any of them selects the links method.
    age : str, optional
        Age in years, for the ``child_age`` tests (and to find the oldest child).
    marital, married_codes : str and scalar or list, optional
        Marital status column and the codes that mean married (or in a union); both or
        neither.
    child_age : float, optional
        Children younger than this are dependants of their parents (default: the code
        map's rule, else 18).
    adult_children : bool, optional
        True: unmarried children of any age stay in their parents' family (Uzbek rule);
        False: children aged ``child_age`` or more form their own single-person family
        (Kazakh SCA rule). Default: the code map's rule, else True.

    Returns
    -------
    pandas.Series
        int64 family ids named ``"family_id"``, aligned with ``roster.index``; the head's
        family is 1. ``attrs["ambiguous"]``: DataFrame with columns ``case``,
        ``households``, ``persons``, ``rule_applied``, one row per kind of fallback met
        (none: no rows); ``attrs["method"]``: ``"links"`` or ``"relationship codes"``;
        ``attrs["child_age"]``, ``attrs["adult_children"]``: the rules used.

    Raises
    ------
    pmt.DataError
        A missing column; missing or duplicated (household, person) ids; a relation code
        not in ``codes`` or a missing relation; non-numeric ages or links; bad arguments.

    Notes
    -----
    The rules of both methods are listed in the module docstring (:mod:`pmt.roster.families`).
    """
    if not isinstance(roster, pd.DataFrame):
        raise DataError("`roster` must be a pandas DataFrame with one row per person.")
    hh_col = _column(roster, household, "household")
    p_col = _column(roster, person, "person")
    if hh_col is None or p_col is None:
        raise DataError("pass `household=` and `person=` (column names of the roster).")
    rel_col = _column(roster, relation, "relation")
    link_cols = {
        "spouse": _column(roster, spouse, "spouse"),
        "mother": _column(roster, mother, "mother"),
        "father": _column(roster, father, "father"),
    }
    age_col = _column(roster, age, "age")
    mar_col = _column(roster, marital, "marital")
    use_links = any(c is not None for c in link_cols.values())
    if not use_links and rel_col is None:
        raise DataError(
            "pass the link columns (`spouse=`, `mother=`, `father=`: line numbers within the "
            "household) or `relation=` with `codes=` (relationship to the head)."
        )
    if rel_col is not None and codes is None:
        raise DataError(
            "`relation` needs `codes=`: a mapping {code: role}, 'uzbekistan', 'kazakhstan' "
            f"or a YAML code map (roles: {', '.join(ROLES)})."
        )
    if (mar_col is None) != (married_codes is None):
        raise DataError(
            "pass `marital=` and `married_codes=` together (the marital status column and the "
            "codes that mean married or in a union)."
        )
    cmap = load_codes(codes) if codes is not None else None
    rules = cmap.rules if cmap is not None else {}
    child_age = _check_child_age(
        child_age if child_age is not None else rules.get("child_age", DEFAULT_CHILD_AGE)
    )
    adult_children = _check_adult_children(
        adult_children
        if adult_children is not None
        else rules.get("adult_children", DEFAULT_ADULT_CHILDREN)
    )
    n = len(roster)

    # households and persons
    if hh_col.isna().any():
        raise DataError(
            f"`household` column '{household}' is missing at rows "
            f"{', '.join(map(_label, roster.index[hh_col.isna().to_numpy()][:5]))}: fill or "
            "drop those persons."
        )
    hh, hh_uniques = pd.factorize(hh_col, use_na_sentinel=True)
    hh = hh.astype(np.int64)
    n_hh = len(hh_uniques)
    p_missing = p_col.isna().to_numpy()
    if p_missing.any():
        raise DataError(
            f"`person` column '{person}' is missing for {int(p_missing.sum())} persons "
            f"(rows {', '.join(map(_label, roster.index[p_missing][:5]))}): every member "
            "needs a line number."
        )
    p_num = pd.to_numeric(p_col, errors="coerce")
    numeric = bool(p_num.notna().all())
    p_key = _ids(p_col, numeric, "person")
    p_code, p_uniques = pd.factorize(pd.Series(p_key, dtype=float if numeric else object),
                                      sort=True)
    p_code = p_code.astype(np.int64)
    n_keys = max(len(p_uniques), 1)
    pkey = hh * n_keys + p_code
    order = np.argsort(pkey, kind="stable")
    sorted_keys = pkey[order]
    dup_sorted = np.r_[False, sorted_keys[1:] == sorted_keys[:-1]]
    if dup_sorted.any():
        dup = np.zeros(n, dtype=bool)
        dup[order[dup_sorted]] = True
        raise DataError(
            f"{int(dup.sum())} persons repeat a (household, person) id already used in their "
            f"household: {_persons(hh_col, p_col, dup)}. Person ids must be unique within a "
            "household: fix the roster or drop the duplicates."
        )
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    cases = _Cases(hh)
    if n == 0:
        out = pd.Series(np.zeros(0, dtype=np.int64), index=roster.index, name="family_id")
        out.attrs.update(ambiguous=cases.frame(), method="links" if use_links
                         else "relationship codes", child_age=child_age,
                         adult_children=adult_children)
        return out

    # age and marital status
    age_arr = None
    if age_col is not None:
        age_arr = pd.to_numeric(age_col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = (np.isnan(age_arr) & age_col.notna().to_numpy()) | (age_arr < 0)
        if bad.any():
            raise DataError(
                f"`age` column '{age}' has {int(bad.sum())} non-numeric or negative values: "
                f"{_persons(hh_col, p_col, bad)}."
            )
    married = None
    if mar_col is not None:
        mc = married_codes if isinstance(married_codes, list | tuple | set) else [married_codes]
        married, _, miss = _map_values(mar_col, dict.fromkeys(mc, True), False, dtype=bool)
        cases.add(
            "missing marital status",
            miss,
            "treated as not married",
        )

    # roles
    role = None
    if rel_col is not None:
        assert cmap is not None  # `relation` without `codes` was rejected above
        role_ids = {k: ROLES.index(v) for k, v in cmap.codes.items()}
        role, unknown, miss = _map_values(rel_col, role_ids, -1, dtype=np.int64)
        if unknown.any():
            bad_codes = list(pd.unique(rel_col[unknown]))
            shown = ", ".join(_show_code(c) for c in bad_codes[:10])
            more = f" (and {len(bad_codes) - 10} more)" if len(bad_codes) > 10 else ""
            k = int(unknown.sum())
            raise DataError(
                f"relation code(s) {shown}{more} in column '{relation}' are not in `codes` "
                f"({cmap.name}): {k} person{'s' if k != 1 else ''}, e.g. "
                f"{_persons(hh_col, p_col, unknown)}; add it to `codes` as code: role "
                f"(roles: {', '.join(ROLES)})."
            )
        if miss.any():
            raise DataError(
                f"relation column '{relation}' is missing for {int(miss.sum())} person(s), e.g. "
                f"{_persons(hh_col, p_col, miss)}: fill it (e.g. other_relative) or drop them."
            )
    head = role == HEAD if role is not None else np.zeros(n, dtype=bool)

    if use_links:
        index_of = pd.Index(p_uniques)

        def key_of(vals):
            return index_of.get_indexer(
                pd.Index(vals, dtype=float if numeric else object)
            ).astype(np.int64)

        not_member = rules.get("not_member_codes", [])
        link_rows = tuple(
            _link_rows(link_cols[a], a, numeric, key_of, n_keys, hh, sorted_keys, order,
                       not_member, cases)
            for a in ("spouse", "mother", "father")
        )
        comp = _links(n, hh, link_rows, age_arr, married, child_age, adult_children, cases)
        method = "links"
    else:
        comp = _codes(n, hh, n_hh, rank, role, age_arr, married, child_age, adult_children,
                      cases)
        method = "relationship codes"

    fam = _number(comp, hh, rank, head)
    out = pd.Series(fam, index=roster.index, name="family_id", dtype="int64")
    out.attrs["ambiguous"] = cases.frame()
    out.attrs["method"] = method
    out.attrs["child_age"] = child_age
    out.attrs["adult_children"] = adult_children
    return out


def family_summary(roster: pd.DataFrame, family_ids, *, household: str) -> pd.Series:
    """Counts of households and families, for a report.

    Parameters
    ----------
    roster : pandas.DataFrame
        The person roster given to :func:`families`.
    family_ids : pandas.Series or array-like
        Family ids of the roster's persons (the result of :func:`families`), aligned with
        ``roster`` (same index, or same length and order).
    household : str
        Household id column of ``roster``.

    Returns
    -------
    pandas.Series
        ``households``, ``families``, ``families_per_household`` (mean),
        ``share_multi_family`` (share of households with more than one family), ``persons``
        and ``mean_family_size`` (persons per family), named ``"family_summary"``.
    """
    if not isinstance(roster, pd.DataFrame):
        raise DataError("`roster` must be a pandas DataFrame with one row per person.")
    hh_col = _column(roster, household, "household")
    if isinstance(family_ids, pd.Series) and not family_ids.index.equals(roster.index):
        if not family_ids.index.isin(roster.index).all() or len(family_ids) != len(roster):
            raise DataError(
                "`family_ids` must be aligned with the roster (same index or same length)."
            )
        family_ids = family_ids.reindex(roster.index)
    fam = np.asarray(family_ids)
    if fam.shape != (len(roster),):
        raise DataError(
            f"`family_ids` has {fam.size} values; the roster has {len(roster)} persons."
        )
    if pd.isna(fam).any() or hh_col.isna().any():
        raise DataError("`family_ids` and the household ids must not be missing.")
    pairs = pd.DataFrame({"h": hh_col.to_numpy(), "f": fam}).drop_duplicates()
    per_hh = pairs.groupby("h", sort=False).size()
    n_hh, n_fam, n_p = len(per_hh), len(pairs), len(roster)
    return pd.Series(
        {
            "households": n_hh,
            "families": n_fam,
            "families_per_household": n_fam / n_hh if n_hh else np.nan,
            "share_multi_family": float((per_hh > 1).mean()) if n_hh else np.nan,
            "persons": n_p,
            "mean_family_size": n_p / n_fam if n_fam else np.nan,
        },
        name="family_summary",
        dtype=float,
    )
