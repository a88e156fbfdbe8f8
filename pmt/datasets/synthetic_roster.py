"""Person roster of the synthetic household survey: :func:`synthetic_roster`.

:func:`pmt.datasets.synthetic_hbs` draws household-level roster summaries (size, members
by age band, education, work, pensions, phones, disability, the head's sex and age, a
divorced member) and incomes by source. :func:`synthetic_roster` draws, on top of them, a
person roster (one row per member, the Uzbek L2CU layout of ``data_spec/roster.yaml``)
whose aggregates reproduce those household columns **exactly**, with realistic family
relationships: spouses, parents and children linked by line number. It never touches
``synthetic_hbs``: it reads its output and uses a stream of its own,
``numpy.random.default_rng([seed, 7517])``, so drawing a roster leaves the household survey
bit-identical.

Exact aggregates
----------------
For every household, the members reproduce ``hh_size`` (rows), the age bands
``n_children_0_2``, ``n_children_3_5``, ``n_children_6_14``, ``n_children_15_17``,
``n_adults`` (18-59), ``n_elderly`` (60+) and ``n_members_15plus``; ``head_age`` and
``female_head`` (the member on line 1, relation 1); ``any_divorced`` (1 if and only if some
member has ``marital == 3``; that member is aged 18-59 whenever ``n_adults > 0``, else it
is the head); and the counts ``n_disabled`` (any age), ``n_employed``, ``n_edu_primary``
(``edu == 1``), ``n_edu_tertiary`` (``edu == 3``), ``n_mobile`` (all three among members
15+) and ``n_pensioners`` (members 60+). The person incomes add up to the household's
``inc_wages``, ``inc_pensions``, ``inc_alimony`` and ``inc_business`` (to rounding).

Who gets what (each count is met exactly; *which* members carry it is drawn with weights,
without replacement):

* ``edu`` (members 15+): tertiary mostly among members aged 22+ (weight 1; 18-21: 0.3;
  15-17: 0.001); primary (grades 1-9 only) among the rest, more often at 15-17 (weight 3)
  and 60+ (1.5); everyone else 15+ secondary (2); under 15: 0.
* ``employed`` (15+): weight 1 for men 18-59, 0.6 for women 18-59, 0.15 at 60+, 0.05 at
  15-17. ``has_mobile`` (15+): 6 for employed members 18-59, 3 for the other 18-59, 1.5 at
  15-17, 1 at 60+. ``disabled`` (any age): 5 at 60+, else 1. ``pensioner``: members 60+,
  equal weights.
* ``inc_wages``: shared by the employed members in proportion to a lognormal factor
  (sd 0.4) times 1.5 for tertiary education and 0.8 for women; with nobody employed (never
  in ``synthetic_hbs``, whose wages are per worker) the head gets it all.
* ``inc_pensions``: equal shares among the pensioners; with no pensioner (the household
  gets only disability pensions) equal shares among the disabled members; else the eldest
  member (the first listed among equals).
* ``inc_alimony``: the first listed divorced woman, else the first listed divorced member,
  else the head.
* ``inc_business``: the head if employed; else the first listed employed member aged
  18-59, else the first listed employed member; else the head.

Family structure
----------------
Each household is built around its head (line 1; age and sex from the household file).
The members of each band (0-2, 3-5, 6-14, 15-17, 18-59, 60+) are given roles in turn;
children's ages are drawn uniformly in their band and moved inside the band when that
lets them be someone's child:

1. **Divorce.** With ``any_divorced``, a woman head under 60 is the divorced member with
   probability 0.75, a man head under 60 with 0.25 (any head when there is no other member
   aged 18-59); otherwise an 18-59 slot is kept for a divorced daughter (with her children
   when their ages fit), a divorced son, or a divorced sibling (else other relative).
2. **Spouse.** A man head has a wife present with probability 0.93 (0.7 under 25, 0.75 at
   60+, less when the only other adult is needed as a parent of young grandchildren), a
   woman head a husband with probability 0.15. A wife is 1 year older to 7 (one time in
   ten up to 14) years younger than her husband, moved (to at most 12 years younger or 3
   older) to where the children can be hers; spouses are at most 15 years apart. A head
   without a spouse is widowed, married with the spouse away (labour migration) or never
   married, by age.
3. **The head's parents.** Members 60+ of a household with a head under 60 are the head's
   parents: a couple with probability 0.85 when there are two (one in five times the
   spouse's parents, relation 6); otherwise each is a widowed parent of the head (mostly
   the mother), a widowed parent-in-law, a grandparent or an elderly aunt or uncle
   (relation 12).
4. **Married children.** When some children are too young to be the head's or spouse's
   own (probability 0.95), or with probability 0.08 when the head generation is old
   enough and two adults are spare, married children of the head live with the head: a
   son (85 %) with his wife (relation 4) or a daughter with her husband, and their children
   (grandchildren, relation 8); two such couples with probability 0.35 when four adults
   are spare (several nuclear families in one household). One time in ten, or when only
   one adult is spare, the son (or son-in-law) is away and only the wife is listed.
5. **Complex households.** With probability 0.04 (0.02 when the household has members
   60+) one extra structure: an unmarried adult sibling of the head, a married brother or
   sister with spouse (relation 12) and children (nieces and nephews, relation 10), a
   niece or nephew alone, a lodger (relation 13), a widowed mother (under 60) of a head
   aged 32 or less, or a foster child (relation 11, rare).
6. **Everyone left.** Adults are never-married children of the head when their ages can
   fit; when two or more cannot (a head aged 37 or less), the head's parents under 60 with
   probability 0.7, and siblings of the head (linked to the head's parents when present)
   or other relatives. Children are the head's own when the ages fit, else children of a
   couple of step 4 or 5 whose ages fit, else grandchildren whose parents are away, a
   younger sibling of the head, or a niece or nephew. A member 60+ left over in a
   household headed by someone 60+ is a sibling of the head (or a child, when ages fit).

Every mother is 17-44 years older than her children, every father 18-55; spouses are of
opposite sex, married, and at most 15 years apart (7 for the older couples); members are
always in the age band the household file gives them, and aged at most 100. Links
(``spouse_line``, ``mother_line``, ``father_line``) are line numbers inside the household,
``<NA>`` for a spouse or parent who is not a member (dead, away or unknown); spouse links
are symmetric. Marital status: spouses present are married (2), and so are children-in-law
and married daughters whose spouse is away; the head's parents and parents-in-law
without a spouse in the household are widowed (4); children, siblings, nieces and nephews
are never married (1) unless they are the divorced member (3).

**Household types.** For ``synthetic_hbs()`` about 57 % of households are *nuclear*
(only the head, a spouse and never-married children; one-person households included),
22 % *three-generation* (parents or parents-in-law of the head, married children of the
head with their spouses and children, and grandchildren living with a parent, and
nothing else) and 21 % *complex* (anything else: siblings, nieces and nephews, other
relatives, lodgers, foster children, a divorced or widowed child, grandchildren whose
parents are away). The nuclear share cannot be much higher with these household files:
about 14 % of households have a head 60+ with children under 15, 14 % a head under 60
living with someone 60+, and 9 % a head under 36 with two or more other members aged
18-59 (too many to be a spouse and the head's children).

Rows are sorted by ``hh_id`` and line; within a household: head, spouse, children (oldest
first), children-in-law, grandchildren, parents, parents-in-law, siblings, grandparents,
nieces and nephews, foster children, other relatives, non-relatives.
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np
import pandas as pd

from pmt.errors import DataError

__all__ = ["synthetic_roster", "ROSTER_COLUMNS", "ROSTER_STREAM"]

#: Second entropy word of the roster's random stream: ``default_rng([seed, ROSTER_STREAM])``.
ROSTER_STREAM = 7_517

#: Columns of the roster, in order (see ``data_spec/roster.yaml``).
ROSTER_COLUMNS = [
    "hh_id", "line", "relation", "sex", "age", "marital", "spouse_line", "mother_line",
    "father_line", "edu", "employed", "disabled", "pensioner", "has_mobile", "inc_wages",
    "inc_pensions", "inc_alimony", "inc_business",
]  # fmt: skip

_COUNT_COLUMNS = [
    "hh_size", "n_children_0_2", "n_children_3_5", "n_children_6_14", "n_children_15_17",
    "n_adults", "n_elderly", "n_members_15plus", "n_disabled", "n_employed", "n_edu_primary",
    "n_edu_tertiary", "n_pensioners", "n_mobile", "female_head", "head_age", "any_divorced",
]  # fmt: skip
_INCOME_COLUMNS = ["inc_wages", "inc_pensions", "inc_alimony", "inc_business"]
_REQUIRED = ["hh_id", *_COUNT_COLUMNS, *_INCOME_COLUMNS]

# relationship codes (Uzbek L2CU, item 2.05)
HEAD, SPOUSE, CHILD, CHILD_IN_LAW, PARENT, PARENT_IN_LAW, SIBLING = 1, 2, 3, 4, 5, 6, 7
GRANDCHILD, GRANDPARENT, NIECE_NEPHEW, FOSTER, OTHER_RELATIVE, NOT_RELATED = (
    8, 9, 10, 11, 12, 13,
)  # fmt: skip
MALE, FEMALE = 1, 2
NEVER, MARRIED, DIVORCED, WIDOWED = 1, 2, 3, 4

# roster order of the relationship codes (head first, non-relatives last)
_ORDER = {1: 0, 2: 1, 3: 2, 4: 3, 8: 4, 5: 5, 6: 6, 7: 7, 9: 8, 10: 9, 11: 10, 12: 11, 13: 12}

# age gaps: a mother is M_MIN..M_MAX years older than her child, a father F_MIN..F_MAX
M_MIN, M_MAX, F_MIN, F_MAX = 17, 44, 18, 55
SPOUSE_MAX_GAP = 15
ADULT_LO, ADULT_HI, OLD_LO, OLD_HI = 18, 59, 60, 100

# behaviour probabilities (module docstring)
P_HEAD_DIVORCED_WOMAN = 0.75
P_HEAD_DIVORCED_MAN = 0.25
P_SPOUSE_MAN, P_SPOUSE_MAN_YOUNG, P_SPOUSE_MAN_OLD, P_SPOUSE_WOMAN = 0.93, 0.7, 0.75, 0.15
P_PARENT_COUPLE = 0.85
P_MARRIED_CHILD = 0.08
P_TWO_COUPLES = 0.35
P_SPOUSE_AWAY = 0.1
P_COMPLEX, P_COMPLEX_WITH_ELDERLY = 0.04, 0.02
P_YOUNG_HEAD_PARENTS = 0.7

# person record fields (lists, for speed)
_REL, _SEX, _AGE, _MAR, _SP, _MO, _FA = range(7)


# ----------------------------------------------------------------------------------------
# one household
# ----------------------------------------------------------------------------------------


def _between(r, lo: int, hi: int) -> int:
    """A uniform integer in lo..hi (inclusive)."""
    return lo + int(r() * (hi - lo + 1))


def _sex(r) -> int:
    return MALE if r() < 0.512 else FEMALE


def _adult_near(r, ha: int, spread: int) -> int:
    """An age in 18..59, within ``spread`` years of ``ha`` when possible."""
    lo = max(ADULT_LO, min(ha - spread, ADULT_HI - spread))
    return _between(r, lo, min(ADULT_HI, max(lo, ha + spread)))


def _band(age: int) -> tuple[int, int]:
    """The age band (0-2, 3-5, 6-14, 15-17) of a member under 18."""
    return (0, 2) if age <= 2 else (3, 5) if age <= 5 else (6, 14) if age <= 14 else (15, 17)


def _fit(age: int, lo: int, hi: int) -> int:
    """The age nearest to ``age`` in its band and in lo..hi; -1 when there is none.

    Moving a child's age inside its band keeps the household's band counts exact.
    """
    b_lo, b_hi = _band(age)
    lo, hi = max(lo, b_lo), min(hi, b_hi)
    return -1 if lo > hi else min(max(age, lo), hi)


def _child_range(mother: int | None, father: int | None) -> tuple[int, int]:
    """Ages a child of parents of these ages can have (lo > hi: none)."""
    lo, hi = 0, 200
    if mother is not None:
        lo, hi = max(lo, mother - M_MAX), min(hi, mother - M_MIN)
    if father is not None:
        lo, hi = max(lo, father - F_MAX), min(hi, father - F_MIN)
    return lo, hi


def _add(people: list, rel: int, sex: int, age: int, mar: int, mo: int = -1, fa: int = -1) -> int:
    people.append([rel, sex, age, mar, -1, mo, fa])
    return len(people) - 1


def _marry(people: list, a: int, b: int) -> None:
    people[a][_SP], people[b][_SP] = b, a
    people[a][_MAR] = people[b][_MAR] = MARRIED


def _sibling_range(people: list, ha: int, lo: int, hi: int, spread: int = 14) -> tuple[int, int]:
    """Ages in lo..hi a sibling of the head can have: within ``spread`` years of the head
    and fitting the head's parents when they are members.
    """
    mo, fa = people[0][_MO], people[0][_FA]
    c_lo, c_hi = _child_range(
        people[mo][_AGE] if mo >= 0 else None, people[fa][_AGE] if fa >= 0 else None
    )
    return max(lo, ha - spread, c_lo), min(hi, ha + spread, c_hi)


def _sibling(people: list, age: int, sex: int, mar: int) -> int:
    """Add a sibling of the head, linked to the head's parents (the age must fit them)."""
    return _add(people, SIBLING, sex, age, mar, people[0][_MO], people[0][_FA])


def _spouse_age(r, ha: int, female: bool, kids: list, adult_kids: bool) -> int:
    """Target age of the head's spouse: a wife 1 year older to 7 (sometimes 14) years
    younger than her husband, moved (to 12 years younger or 3 older than him) where the
    children (and an adult child, with ``adult_kids``) can be hers.
    """
    gap = _between(r, -1, 7) + (_between(r, 0, 7) if r() < 0.1 else 0)
    s = ha + gap if female else ha - gap
    if kids or adult_kids:
        oldest = ADULT_LO if adult_kids else _band(kids[0])[0]
        youngest = _band(kids[-1])[1] if kids else ADULT_LO
        if female:  # the spouse is the husband, the father
            lo, hi, near_lo, near_hi = oldest + F_MIN, youngest + F_MAX, ha - 3, ha + 12
        else:
            lo, hi, near_lo, near_hi = oldest + M_MIN, youngest + M_MAX, ha - 12, ha + 3
        t = min(max(s, lo), hi)
        if lo <= hi and near_lo <= t <= near_hi:
            s = t
    return min(max(s, ha - SPOUSE_MAX_GAP, ADULT_LO), ha + SPOUSE_MAX_GAP, OLD_HI)


def _elders(people: list, r, n_el: int, ha: int, sp: int) -> None:
    """Members 60+ of a household whose head is under 60 (step 3)."""
    if n_el >= 2 and r() < P_PARENT_COUPLE:
        in_law = sp >= 0 and r() < 0.2
        child = sp if in_law else 0
        base = people[child][_AGE]
        m_age = max(OLD_LO, base + _between(r, 22, max(22, min(40, 92 - base))))
        f_age = min(max(OLD_LO, m_age + _between(r, -1, 7)), OLD_HI)
        rel = PARENT_IN_LAW if in_law else PARENT
        fa = _add(people, rel, MALE, f_age, MARRIED)
        mo = _add(people, rel, FEMALE, m_age, MARRIED)
        _marry(people, fa, mo)
        people[child][_MO], people[child][_FA] = mo, fa
        n_el -= 2
    for _ in range(n_el):
        u = r()
        head_free = people[0][_MO] < 0 and people[0][_FA] < 0
        spouse_free = sp >= 0 and people[sp][_MO] < 0 and people[sp][_FA] < 0
        if (u < 0.8 and head_free) or (u < 0.9 and spouse_free):
            child = 0 if (u < 0.8 and head_free) else sp
            rel = PARENT if child == 0 else PARENT_IN_LAW
            base = people[child][_AGE]
            if r() < 0.75:
                age = max(OLD_LO, base + _between(r, 22, max(22, min(40, 92 - base))))
                people[child][_MO] = _add(people, rel, FEMALE, age, WIDOWED)
            else:
                age = max(OLD_LO, base + _between(r, 24, max(24, min(45, 94 - base))))
                people[child][_FA] = _add(people, rel, MALE, age, WIDOWED)
        elif ha <= 56 and r() < 0.5:
            age = max(OLD_LO, ha + _between(r, 36, min(50, 92 - ha)))
            _add(people, GRANDPARENT, FEMALE if r() < 0.7 else MALE, age, WIDOWED)
        else:  # an aunt or uncle
            age = _between(r, OLD_LO, max(OLD_LO, min(ha + 30, 85)))
            _add(people, OTHER_RELATIVE, FEMALE if r() < 0.6 else MALE, age, WIDOWED)


def _divorced(people, r, rest, ha, c_lo, c_hi, mo_i, fa_i, couples) -> None:
    """The divorced member when it is not the head (step 1): a daughter (with her children
    when their ages fit), a son, a sibling or another relative.
    """
    lo, hi = max(c_lo, 20), min(c_hi, ADULT_HI)
    if lo <= hi and r() < 0.75:
        daughter = r() < 0.85
        age = -1
        young = [k for k in rest if _band(k)[1] < c_lo]
        if daughter and young:
            d_lo = max(lo, _band(young[0])[0] + M_MIN)
            d_hi = min(hi, _band(young[-1])[1] + M_MAX)
            if d_lo <= d_hi:
                age = _between(r, d_lo, min(d_hi, d_lo + 10))
        if age < 0:
            age = _between(r, lo, min(hi, lo + 15))
        d = _add(people, CHILD, FEMALE if daughter else MALE, age, DIVORCED, mo_i, fa_i)
        if daughter:
            keep = []
            for k in rest:
                a = _fit(k, age - M_MAX, age - M_MIN)
                if a >= 0 and (_band(k)[1] < c_lo or r() < 0.5):
                    _add(people, GRANDCHILD, _sex(r), a, NEVER, d, -1)
                else:
                    keep.append(k)
            rest[:] = keep
            couples.append((d, -1, age, None, GRANDCHILD))
        return
    s_lo, s_hi = _sibling_range(people, ha, ADULT_LO, ADULT_HI, 12)
    if s_lo <= s_hi:
        _sibling(people, _between(r, s_lo, s_hi), _sex(r), DIVORCED)
    else:
        _add(people, OTHER_RELATIVE, _sex(r), _adult_near(r, ha, 15), DIVORCED)


def _married_children(people, r, rest, n_ad, gen_mother, c_lo, c_hi, mo_i, fa_i, couples) -> int:
    """Married children of the head with spouses and children (step 4); returns the adult
    slots left.
    """
    m_lo, m_hi = max(c_lo, 19), min(c_hi, ADULT_HI)
    pool, keep = [], []
    for k in rest:
        if _band(k)[1] < c_lo or (gen_mother - k >= 36 and r() < 0.8):
            pool.append(k)
        else:
            keep.append(k)
    rest[:] = keep
    two = n_ad >= 4 and r() < P_TWO_COUPLES
    split = (len(pool) + 1) // 2 if two else len(pool)
    for grand in [pool[:split], pool[split:]] if two else [pool]:
        if n_ad <= 0:
            rest.extend(grand)
            continue
        son = r() < 0.85
        away = n_ad < 2 or r() < P_SPOUSE_AWAY
        d = _between(r, 1, 6)
        shift = d if son else 0  # the head's child is the husband (son) or the wife
        while True:
            w_lo = max(ADULT_LO, m_lo - shift, _band(grand[0])[0] + M_MIN if grand else 0)
            w_hi = min(ADULT_HI, m_hi - shift, _band(grand[-1])[1] + M_MAX if grand else 99)
            if w_lo <= w_hi or not grand:
                break
            rest.append(grand.pop(0))  # the oldest does not fit: placed in step 6
        if w_lo > w_hi:
            rest.extend(grand)
            continue
        w = _between(r, w_lo, min(w_hi, w_lo + (10 if grand else 6)))
        h = min(w + d, ADULT_HI)
        if son:
            hus = -1 if away else _add(people, CHILD, MALE, h, MARRIED, mo_i, fa_i)
            wife = _add(people, CHILD_IN_LAW, FEMALE, w, MARRIED)
        else:
            wife = _add(people, CHILD, FEMALE, w, MARRIED, mo_i, fa_i)
            hus = -1 if away else _add(people, CHILD_IN_LAW, MALE, h, MARRIED)
        if hus >= 0:
            _marry(people, hus, wife)
        n_ad -= 1 if away else 2
        for k in grand:
            _add(people, GRANDCHILD, _sex(r), _fit(k, w - M_MAX, w - M_MIN), NEVER, wife, hus)
        couples.append((wife, hus, w, None if away else h, GRANDCHILD))
    rest.sort(reverse=True)
    return n_ad


def _complex(people: list, r, rest: list, n_ad: int, ha: int, couples: list) -> int:
    """One complex structure (step 5); returns the adult slots left."""
    s_lo, s_hi = _sibling_range(people, ha, ADULT_LO, ADULT_HI)
    options = []
    if n_ad >= 1 and s_lo <= s_hi:
        options += [0, 0, 0, 0]  # unmarried adult sibling
    if n_ad >= 2 and s_lo <= s_hi and s_hi >= 26:
        options += [1, 1]  # married brother or sister with spouse and children
    if rest:
        options += [2, 2]  # niece or nephew
    if n_ad >= 1:
        options += [3]  # lodger
    if n_ad >= 1 and people[0][_MO] < 0 and people[0][_FA] < 0 and ha <= 32:
        options += [4, 4]  # widowed mother of a young head
    if rest and r() < 0.15:
        options += [5]  # foster child
    if not options:
        return n_ad
    pick = options[int(r() * len(options))]
    if pick == 0:
        _sibling(people, _between(r, s_lo, s_hi), _sex(r), NEVER)
        return n_ad - 1
    if pick == 1:
        d = _between(r, 1, 6)
        if r() < 0.7:  # a brother and his wife
            b = _between(r, max(s_lo, ADULT_LO + d), s_hi)
            hus = _sibling(people, b, MALE, MARRIED)
            wife = _add(people, OTHER_RELATIVE, FEMALE, b - d, MARRIED)
        else:  # a sister and her husband
            b = _between(r, s_lo, s_hi)
            wife = _sibling(people, b, FEMALE, MARRIED)
            hus = _add(people, OTHER_RELATIVE, MALE, min(b + d, ADULT_HI), MARRIED)
        _marry(people, hus, wife)
        w_age, h_age = people[wife][_AGE], people[hus][_AGE]
        keep = []
        n_lo, n_hi = _child_range(w_age, h_age)
        for k in rest:
            a = _fit(k, n_lo, n_hi)
            if a >= 0 and r() < 0.8:
                _add(people, NIECE_NEPHEW, _sex(r), a, NEVER, wife, hus)
            else:
                keep.append(k)
        rest[:] = keep
        couples.append((wife, hus, w_age, h_age, NIECE_NEPHEW))
        return n_ad - 2
    if pick == 2:
        _add(people, NIECE_NEPHEW, _sex(r), rest.pop(int(r() * len(rest))), NEVER)
        return n_ad
    if pick == 3:
        _add(people, NOT_RELATED, _sex(r), _between(r, ADULT_LO, 45), NEVER)
        return n_ad - 1
    if pick == 4:
        age = _between(r, max(ha + 20, 40), min(ha + 40, ADULT_HI))
        people[0][_MO] = _add(people, PARENT, FEMALE, age, WIDOWED)
        return n_ad - 1
    _add(people, FOSTER, _sex(r), rest.pop(int(r() * len(rest))), NEVER)
    return n_ad


def _members(kids: list, n_ad: int, n_el: int, ha: int, female: bool, dv: bool, r) -> list:
    """Members of one household: lists [relation, sex, age, marital, spouse, mother, father].

    ``kids``: ages of the members under 18, oldest first; ``n_ad``, ``n_el``: numbers of
    members aged 18-59 and 60+ other than the head; ``ha``: the head's age; ``r``: the
    household's uniform draws. Links are indices into the returned list (-1: not a member).
    """
    people = [[HEAD, FEMALE if female else MALE, ha, NEVER, -1, -1, -1]]
    head_old = ha >= OLD_LO
    any_old = head_old or n_el > 0
    rest = list(kids)

    # 1. divorce: the head, or an adult slot kept for the divorced member
    head_div = dv and (
        n_ad == 0
        or (not head_old and r() < (P_HEAD_DIVORCED_WOMAN if female else P_HEAD_DIVORCED_MAN))
    )
    need_div = dv and not head_div
    reserve = 1 if need_div else 0

    # 2. spouse
    sp = -1
    if not head_div:
        if female:
            p = P_SPOUSE_WOMAN
        else:
            p = P_SPOUSE_MAN_OLD if head_old else P_SPOUSE_MAN if ha >= 25 else P_SPOUSE_MAN_YOUNG
        if head_old and rest and rest[-1] < ha - 50 and n_el == 0 and n_ad - reserve <= 1:
            p *= 0.3  # the only adult is more likely the grandchildren's parent than a wife
        if r() < p:
            s = _spouse_age(r, ha, female, rest, n_ad - reserve >= 2)
            if s >= OLD_LO:
                if n_el > 0:
                    n_el -= 1
                elif n_ad - reserve > 0 and ha <= 71:  # a wife under 60
                    s, n_ad = max(ADULT_HI - _between(r, 0, 3), ha - 12), n_ad - 1
                else:
                    s = -1
            elif n_ad - reserve > 0:
                n_ad -= 1
            elif n_el > 0 and ha >= 53:  # a spouse 60+ of a head under 60
                s, n_el = min(OLD_LO + _between(r, 0, 3), ha + 8), n_el - 1
            else:
                s = -1
            if s >= 0:
                sp = _add(people, SPOUSE, MALE if female else FEMALE, s, MARRIED)
                _marry(people, 0, sp)

    # 3. the head's parents
    if not head_old and n_el > 0:
        _elders(people, r, n_el, ha, sp)
        n_el = 0

    # the parents of the head's children: the head and the spouse
    mother: int | None
    father: int | None
    if female:
        mother, father, mo_i, fa_i = ha, (people[sp][_AGE] if sp >= 0 else None), 0, sp
    else:
        mother, father, mo_i, fa_i = (people[sp][_AGE] if sp >= 0 else None), ha, sp, 0
    c_lo, c_hi = _child_range(mother, father)
    # couples other than the head's: (wife, husband, their ages, their children's relation)
    couples: list = []

    # 1 (end). the divorced member
    if need_div:
        n_ad -= 1
        _divorced(people, r, rest, ha, c_lo, c_hi, mo_i, fa_i, couples)

    # 4. married children
    m_lo, m_hi = max(c_lo, 19), min(c_hi, ADULT_HI)
    if n_ad >= 1 and m_lo <= m_hi:
        too_young = bool(rest) and _band(rest[-1])[1] < c_lo
        if (too_young and r() < 0.95) or (n_ad >= 2 and m_hi >= 22 and r() < P_MARRIED_CHILD):
            gen_mother = mother if mother is not None else ha - 4
            n_ad = _married_children(
                people, r, rest, n_ad, gen_mother, c_lo, c_hi, mo_i, fa_i, couples
            )

    # 5. complex households
    if r() < (P_COMPLEX_WITH_ELDERLY if any_old else P_COMPLEX):
        n_ad = _complex(people, r, rest, n_ad, ha, couples)

    # 6. everyone left: the head's own children, else a fallback
    a_lo, a_hi = max(c_lo, ADULT_LO), min(c_hi, ADULT_HI)
    if (
        a_lo > a_hi
        and n_ad >= 2
        and ha <= 37
        and people[0][_MO] < 0
        and people[0][_FA] < 0
        and r() < P_YOUNG_HEAD_PARENTS
    ):  # adults too old to be the head's children: the head's parents, under 60
        m = _between(r, max(ha + 20, 38), min(ha + 40, ADULT_HI - 2))
        fa = _add(people, PARENT, MALE, min(m + _between(r, 1, 6), ADULT_HI), MARRIED)
        mo = _add(people, PARENT, FEMALE, m, MARRIED)
        _marry(people, fa, mo)
        people[0][_MO], people[0][_FA] = mo, fa
        n_ad -= 2
    for _ in range(n_ad):
        if a_lo <= a_hi:
            _add(people, CHILD, _sex(r), _between(r, a_lo, min(a_hi, a_lo + 14)), NEVER, mo_i, fa_i)
            continue
        s_lo, s_hi = _sibling_range(people, ha, ADULT_LO, ADULT_HI)
        if s_lo <= s_hi:
            _sibling(people, _between(r, s_lo, s_hi), _sex(r), NEVER)
        else:
            _add(people, OTHER_RELATIVE, _sex(r), _adult_near(r, ha, 20), NEVER)
    for k in rest:
        a = _fit(k, c_lo, c_hi)
        if a >= 0:
            _add(people, CHILD, _sex(r), a, NEVER, mo_i, fa_i)
            continue
        for w_i, h_i, w_age, h_age, kid_rel in couples:
            a = _fit(k, *_child_range(w_age, h_age))
            if a >= 0:
                _add(people, kid_rel, _sex(r), a, NEVER, w_i, h_i)
                break
        else:
            a = _fit(k, *_sibling_range(people, ha, 0, 17))
            if _band(k)[1] < c_lo and ha - k >= 36:
                _add(people, GRANDCHILD, _sex(r), k, NEVER)  # parents away
            elif a >= 0:
                _sibling(people, a, _sex(r), NEVER)
            else:
                _add(people, NIECE_NEPHEW, _sex(r), k, NEVER)
    for _ in range(n_el):  # a member 60+ left in a household headed by someone 60+
        lo, hi = max(c_lo, OLD_LO), min(c_hi, OLD_HI)
        if lo <= hi:
            _add(people, CHILD, _sex(r), _between(r, lo, hi), NEVER, mo_i, fa_i)
        else:
            age = _between(r, max(OLD_LO, ha - 10), min(OLD_HI, ha + 10))
            _add(people, SIBLING, _sex(r), age, WIDOWED if r() < 0.7 else NEVER)

    # the head's marital status without a spouse in the household
    if sp < 0:
        u = r()
        if head_div:
            people[0][_MAR] = DIVORCED
        elif ha >= 55:
            people[0][_MAR] = WIDOWED if u < 0.85 else MARRIED
        elif any(p[_REL] == CHILD for p in people):
            people[0][_MAR] = WIDOWED if u < 0.35 else MARRIED  # else the spouse is away
        elif ha < 30:
            people[0][_MAR] = NEVER if u < 0.8 else MARRIED
        else:
            people[0][_MAR] = NEVER if u < 0.4 else WIDOWED if u < 0.7 else MARRIED
    return people


# ----------------------------------------------------------------------------------------
# checks of the household file
# ----------------------------------------------------------------------------------------


def _show(ids: pd.Series, mask: np.ndarray, limit: int = 5) -> str:
    got = ids[mask].tolist()[:limit]
    more = int(mask.sum()) - len(got)
    return ", ".join(map(str, got)) + (f" (and {more} more)" if more > 0 else "")


def _check_households(households) -> dict[str, np.ndarray]:
    """The household columns needed, as int64/float arrays, sorted by hh_id; DataError
    naming the missing columns or the households whose counts contradict each other.
    """
    if not isinstance(households, pd.DataFrame):
        raise DataError(
            "`households` must be a pandas DataFrame like synthetic_hbs() (one row per "
            f"household); got {type(households).__name__}."
        )
    missing = [c for c in _REQUIRED if c not in households.columns]
    if missing:
        raise DataError(
            f"`households` lacks the column(s) {', '.join(missing)} that synthetic_roster "
            "needs (the roster summaries, the head's sex and age, any_divorced and incomes of "
            "synthetic_hbs()); pass the output of pmt.datasets.synthetic_hbs() or add them."
        )
    if len(households) == 0:
        raise DataError("`households` has no rows: pass at least one household.")
    df = households[_REQUIRED]
    out: dict[str, np.ndarray] = {}
    for c in ["hh_id", *_COUNT_COLUMNS]:
        x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(x) | (x != np.round(x)) | (x < 0)
        if bad.any():
            raise DataError(
                f"`households` column '{c}' must hold whole numbers >= 0; it has "
                f"{int(bad.sum())} other (or missing) values at rows "
                f"{_show(pd.Series(df.index), bad)}."
            )
        out[c] = x.astype(np.int64)
    for c in _INCOME_COLUMNS:
        x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(x) | (x < 0)
        if bad.any():
            raise DataError(
                f"`households` column '{c}' must hold amounts >= 0 (UZS per month); it has "
                f"{int(bad.sum())} negative or missing values at rows "
                f"{_show(pd.Series(df.index), bad)}."
            )
        out[c] = x
    ids = pd.Series(out["hh_id"])
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        raise DataError(
            f"`households` column 'hh_id' repeats the ids {_show(ids, dup)}: each household "
            "must appear once."
        )
    o = out
    n15 = o["n_children_15_17"] + o["n_adults"] + o["n_elderly"]
    rules = [
        (
            o["hh_size"] != o["n_children_0_2"] + o["n_children_3_5"] + o["n_children_6_14"]
            + n15,
            "hh_size differs from n_children_0_2 + n_children_3_5 + n_children_6_14 + "
            "n_children_15_17 + n_adults + n_elderly",
        ),
        (o["hh_size"] < 1, "hh_size is below 1"),
        (o["n_members_15plus"] != n15,
         "n_members_15plus differs from n_children_15_17 + n_adults + n_elderly"),
        (o["head_age"] < ADULT_LO, "head_age is below 18"),
        ((o["head_age"] >= OLD_LO) & (o["n_elderly"] < 1),
         "the head is 60+ (head_age) but n_elderly is 0"),
        ((o["head_age"] < OLD_LO) & (o["n_adults"] < 1),
         "the head is 18-59 (head_age) but n_adults is 0"),
        (o["n_employed"] > n15, "n_employed exceeds n_members_15plus"),
        (o["n_mobile"] > n15, "n_mobile exceeds n_members_15plus"),
        (o["n_edu_primary"] + o["n_edu_tertiary"] > n15,
         "n_edu_primary + n_edu_tertiary exceeds n_members_15plus"),
        (o["n_pensioners"] > o["n_elderly"], "n_pensioners exceeds n_elderly"),
        (o["n_disabled"] > o["hh_size"], "n_disabled exceeds hh_size"),
        (o["female_head"] > 1, "female_head is not 0 or 1"),
        (o["any_divorced"] > 1, "any_divorced is not 0 or 1"),
    ]  # fmt: skip
    problems = [
        f"{text} for {int(bad.sum())} household(s), hh_id {_show(ids, bad)}"
        for bad, text in rules
        if bad.any()
    ]
    if problems:
        raise DataError(
            "`households` has inconsistent roster counts, so no roster can reproduce them:\n- "
            + "\n- ".join(problems)
            + "\nFix these households (or drop them) and call synthetic_roster again."
        )
    order = np.argsort(out["hh_id"], kind="stable")
    return {k: v[order] for k, v in out.items()}


# ----------------------------------------------------------------------------------------
# person attributes, vectorised
# ----------------------------------------------------------------------------------------


def _cumcount(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within runs of equal values of a sorted array."""
    n = groups.size
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def _pick(hh: np.ndarray, k: np.ndarray, weight: np.ndarray, eligible: np.ndarray, rng):
    """Exactly k[h] eligible members of each household h, drawn with probability
    proportional to ``weight``, without replacement (Efraimidis-Spirakis keys).
    """
    u = rng.random(hh.size)
    key = np.where(eligible, np.log(u) / np.where(eligible, weight, 1.0), -np.inf)
    order = np.lexsort((-key, hh))
    rank = np.empty(hh.size, dtype=np.int64)
    rank[order] = _cumcount(hh[order])
    return eligible & (rank < k[hh])


def _share(hh: np.ndarray, total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """total[h] split among the members of h in proportion to weight (0 where weight 0)."""
    s = np.bincount(hh, weights=weight, minlength=total.size)
    return np.where(weight > 0, total[hh] * weight / np.where(s > 0, s, 1.0)[hh], 0.0)


def _first(hh: np.ndarray, mask: np.ndarray, n_hh: int) -> np.ndarray:
    """Row of the first member of each household where mask holds (-1: none); rows are in
    line order.
    """
    out = np.full(n_hh, -1, dtype=np.int64)
    rows = np.flatnonzero(mask)
    h, first = np.unique(hh[rows], return_index=True)
    out[h] = rows[first]
    return out


def _one_recipient(hh, n_hh, total, choices) -> np.ndarray:
    """total[h] given to one member: the first row of the first mask in ``choices`` that
    has a member in h.
    """
    who = np.full(n_hh, -1, dtype=np.int64)
    for mask in choices:
        row = _first(hh, mask, n_hh)
        who = np.where(who < 0, row, who)
    out = np.zeros(hh.size)
    has = who >= 0
    out[who[has]] = total[has]
    return out


# ----------------------------------------------------------------------------------------
# public entry point
# ----------------------------------------------------------------------------------------


def synthetic_roster(households: pd.DataFrame | None = None, seed: int = 0) -> pd.DataFrame:
    """A person roster consistent with the synthetic household survey.

    One row per member, in the layout of the Uzbek L2CU roster (``data_spec/roster.yaml``):
    relationship to the head, sex, age, marital status, line numbers of the spouse, mother
    and father inside the household, education, work, disability, pension, mobile phone
    and personal incomes. Aggregated by household, the roster reproduces exactly the
    household file's roster summaries and incomes (see :mod:`pmt.datasets.synthetic_roster`
    for the list and for every rule used), with realistic family relationships (about 60 %
    nuclear, 20 % three-generation and 20 % complex households; some with several nuclear
    families).

    Parameters
    ----------
    households : pandas.DataFrame, optional
        The household file: :func:`pmt.datasets.synthetic_hbs` output (or rows of it). It
        needs the columns ``hh_id``, ``hh_size``, ``n_children_0_2``, ``n_children_3_5``,
        ``n_children_6_14``, ``n_children_15_17``, ``n_adults``, ``n_elderly``,
        ``n_members_15plus``, ``n_disabled``, ``n_employed``, ``n_edu_primary``,
        ``n_edu_tertiary``, ``n_pensioners``, ``n_mobile``, ``female_head``, ``head_age``,
        ``any_divorced``, ``inc_wages``, ``inc_pensions``, ``inc_alimony`` and
        ``inc_business``. Default: ``synthetic_hbs(20_000, seed=seed)``.
    seed : int, default 0
        Seed of the roster's own stream ``numpy.random.default_rng([seed, 7517])`` (and of
        the default household file). The same households and seed give a bit-identical
        roster; the household file is never modified.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ROSTER_COLUMNS`, RangeIndex, rows sorted by ``hh_id`` then ``line``
        (the head is line 1). ``spouse_line``, ``mother_line`` and ``father_line`` are
        pandas ``Int64`` (``<NA>``: not a member); incomes are float UZS per person per
        month; every other column is int64.

    Raises
    ------
    pmt.DataError
        If ``households`` is not a DataFrame, lacks a needed column (named in the message),
        has duplicated ids, non-integer or negative counts, negative or missing incomes, or
        counts that contradict each other (e.g. ``hh_size`` differs from the sum of the age
        bands, or a head aged 60+ in a household with no member 60+); or if ``seed`` is not
        a non-negative integer.

    Examples
    --------
    >>> from pmt.datasets import synthetic_hbs, synthetic_roster
    >>> hh = synthetic_hbs(2_000, seed=1)
    >>> roster = synthetic_roster(hh, seed=1)
    >>> bool((roster.groupby("hh_id").size().to_numpy() == hh["hh_size"].to_numpy()).all())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(
            f"seed must be a non-negative integer, got {seed!r}; pass e.g. seed=0 "
            "(the same seed gives the same roster)."
        )
    if households is None:
        from pmt.datasets.synthetic import synthetic_hbs

        households = synthetic_hbs(20_000, seed=int(seed))
    h = _check_households(households)
    rng = np.random.default_rng([int(seed), ROSTER_STREAM])
    n_hh = h["hh_id"].size
    size = h["hh_size"]

    # --- structure: one small loop per household over pre-drawn uniforms ----------------
    budget = 40 + 10 * size
    offsets = np.r_[0, np.cumsum(budget)]
    uniforms = rng.random(int(offsets[-1]))
    cols = [h[c].tolist() for c in (
        "n_children_0_2", "n_children_3_5", "n_children_6_14", "n_children_15_17",
        "n_adults", "n_elderly", "head_age", "female_head", "any_divorced",
    )]  # fmt: skip
    rel: list[int] = []
    sex: list[int] = []
    age: list[int] = []
    mar: list[int] = []
    sp_line: list[int] = []
    mo_line: list[int] = []
    fa_line: list[int] = []
    cycle = itertools.cycle
    for i, (c0, c1, c2, c3, na, ne, ha, fh, dv) in enumerate(zip(*cols, strict=True)):
        r = cycle(uniforms[offsets[i] : offsets[i + 1]].tolist()).__next__
        kids = (
            [15 + int(r() * 3) for _ in range(c3)]
            + [6 + int(r() * 9) for _ in range(c2)]
            + [3 + int(r() * 3) for _ in range(c1)]
            + [int(r() * 3) for _ in range(c0)]
        )
        kids.sort(reverse=True)
        head_old = ha >= OLD_LO
        people = _members(kids, na - (not head_old), ne - head_old, ha, fh == 1, dv == 1, r)
        order = sorted(
            range(len(people)), key=lambda j: (_ORDER[people[j][_REL]], -people[j][_AGE])
        )
        line = [0] * len(people)
        for pos, j in enumerate(order):
            line[j] = pos + 1
        for j in order:
            p = people[j]
            rel.append(p[_REL])
            sex.append(p[_SEX])
            age.append(p[_AGE])
            mar.append(p[_MAR])
            sp_line.append(line[p[_SP]] if p[_SP] >= 0 else 0)
            mo_line.append(line[p[_MO]] if p[_MO] >= 0 else 0)
            fa_line.append(line[p[_FA]] if p[_FA] >= 0 else 0)

    hh = np.repeat(np.arange(n_hh), size)
    n = hh.size
    if len(rel) != n:  # pragma: no cover - a bug, not a user error
        raise RuntimeError("synthetic_roster: members do not match hh_size (internal error)")
    age_a = np.asarray(age, dtype=np.int64)
    sex_a = np.asarray(sex, dtype=np.int64)
    rel_a = np.asarray(rel, dtype=np.int64)
    mar_a = np.asarray(mar, dtype=np.int64)
    starts = np.r_[0, np.cumsum(size)[:-1]]
    line_a = np.arange(n) - starts[hh] + 1

    # --- person attributes: exact counts, drawn with weights ----------------------------
    p15 = age_a >= 15
    adult = (age_a >= ADULT_LO) & (age_a <= ADULT_HI)
    old = age_a >= OLD_LO
    teen = p15 & (age_a < ADULT_LO)
    w_ter = np.select([age_a >= 22, age_a >= ADULT_LO, teen], [1.0, 0.3, 0.001], 1.0)
    tertiary = _pick(hh, h["n_edu_tertiary"], w_ter, p15, rng)
    w_pri = np.select([teen, old], [3.0, 1.5], 1.0)
    primary = _pick(hh, h["n_edu_primary"], w_pri, p15 & ~tertiary, rng)
    edu = np.where(tertiary, 3, np.where(primary, 1, np.where(p15, 2, 0))).astype(np.int64)
    w_emp = np.select([adult & (sex_a == MALE), adult, old, teen], [1.0, 0.6, 0.15, 0.05], 1.0)
    employed = _pick(hh, h["n_employed"], w_emp, p15, rng)
    w_mob = np.select([adult & employed, adult, teen], [6.0, 3.0, 1.5], 1.0)
    mobile = _pick(hh, h["n_mobile"], w_mob, p15, rng)
    disabled = _pick(hh, h["n_disabled"], np.where(old, 5.0, 1.0), np.ones(n, bool), rng)
    pensioner = _pick(hh, h["n_pensioners"], np.ones(n), old, rng)

    # --- incomes -------------------------------------------------------------------------
    head = line_a == 1
    w_wage = (
        np.exp(0.4 * rng.standard_normal(n))
        * np.where(edu == 3, 1.5, 1.0)
        * np.where(sex_a == FEMALE, 0.8, 1.0)
    )
    n_emp = np.bincount(hh, weights=employed, minlength=n_hh)
    w_wage = np.where(employed | (head & (n_emp == 0)[hh]), w_wage, 0.0)
    wages = _share(hh, h["inc_wages"], w_wage)
    n_pen = np.bincount(hh, weights=pensioner, minlength=n_hh)
    n_dis = np.bincount(hh, weights=disabled, minlength=n_hh)
    eldest_age = np.zeros(n_hh, dtype=np.int64)
    np.maximum.at(eldest_age, hh, age_a)
    eldest = _first(hh, age_a == eldest_age[hh], n_hh)
    is_eldest = np.zeros(n, dtype=bool)
    is_eldest[eldest] = True
    w_pen = np.where(
        (n_pen > 0)[hh], pensioner, np.where((n_dis > 0)[hh], disabled, is_eldest)
    ).astype(float)
    pensions = _share(hh, h["inc_pensions"], w_pen)
    divorced = mar_a == DIVORCED
    alimony = _one_recipient(
        hh, n_hh, h["inc_alimony"], [divorced & (sex_a == FEMALE), divorced, head]
    )
    business = _one_recipient(
        hh, n_hh, h["inc_business"], [head & employed, employed & adult, employed, head]
    )

    def links(values: list[int]) -> pd.Series:
        a = np.asarray(values, dtype=np.int64)  # 0: not a member
        return pd.Series(a, dtype="Int64").mask(a == 0)

    out = pd.DataFrame(
        {
            "hh_id": h["hh_id"][hh],
            "line": line_a.astype(np.int64),
            "relation": rel_a,
            "sex": sex_a,
            "age": age_a,
            "marital": mar_a,
            "spouse_line": links(sp_line),
            "mother_line": links(mo_line),
            "father_line": links(fa_line),
            "edu": edu,
            "employed": employed.astype(np.int64),
            "disabled": disabled.astype(np.int64),
            "pensioner": pensioner.astype(np.int64),
            "has_mobile": mobile.astype(np.int64),
            "inc_wages": wages,
            "inc_pensions": pensions,
            "inc_alimony": alimony,
            "inc_business": business,
        },
        columns=ROSTER_COLUMNS,
    )
    return out
