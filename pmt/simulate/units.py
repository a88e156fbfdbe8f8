"""Assessment units inside households: nuclear families assessed and paid separately.

Where the assistance unit is the nuclear family (Kazakhstan's special child allowance,
Uzbekistan's draft regulation CR #308), one household may hold several families and each
is assessed on its own income and size: several families of one household can each be
eligible and paid. :class:`FamilyUnits` holds one row per family and the household row
it lives in; a policy with ``unit: family`` evaluated on a survey carrying them
(:func:`with_families`) is applied to the family rows, and each household receives the
sum of its families' benefits, so that welfare, poverty and budget results stay at the
household level where the survey's design lives.

Conventions (documented in the tables):

* a family row carries every column of its household (region, land, assets) plus the
  family's own columns (size, income, children), the family's columns winning where the
  names clash; rules read them as they would a household's;
* the weight of a family is the weight of its household (each family of a sampled
  household is in the sample with the household's probability);
* benefits of programmes assessed earlier in a sequential package (household amounts) are
  attributed to the household's families in proportion to family size;
* a household is eligible when at least one of its families is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pmt.errors import PolicyError, example_rows
from pmt.survey import Survey

__all__ = ["FamilyUnits", "with_families", "families_of"]


@dataclass(frozen=True)
class FamilyUnits:
    """Families (one row each) of the households of a survey.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per family: the household's columns and the family's own, with the
        household id column, the family id column and the family size column.
    household_row : numpy.ndarray of int
        Position (0-based) of each family's household in the survey's rows.
    household : str
        Name of the household id column (in the survey data and in ``data``).
    family : str
        Name of the family id column (1, 2, ... within a household).
    size : str
        Name of the family size column (persons in the family).
    n_households : int
        Number of households in the survey the families were matched to.
    own : tuple of str
        The family table's own columns (the rest of ``data`` comes from the household).
    """

    data: pd.DataFrame
    household_row: np.ndarray
    household: str
    family: str
    size: str
    n_households: int
    own: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        households: pd.DataFrame,
        families: pd.DataFrame,
        *,
        household: str,
        family: str = "family_id",
        size: str = "family_size",
    ) -> FamilyUnits:
        """Match family rows to household rows and give each family its household's columns.

        Parameters
        ----------
        households : pandas.DataFrame or pmt.Survey
            The survey's household rows (one per household), holding the ``household`` id
            column.
        families : pandas.DataFrame
            One row per family with the ``household`` id column, the ``family`` id column,
            the ``size`` column (members of the family, >= 1) and any family-level column
            (family income, children in the family), e.g. built by
            :func:`pmt.roster.household_proxies` with ``by=[household, family]``.
        household, family, size : str
            Column names as above.

        Returns
        -------
        FamilyUnits

        Raises
        ------
        PolicyError
            A column is missing; a family's household is not in the survey; a household
            has no family; a (household, family) pair is repeated; a family size is not a
            whole number >= 1.
        """
        if isinstance(households, Survey):
            households = households.data
        for frame, what in ((households, "household data"), (families, "family table")):
            if household not in frame.columns:
                raise PolicyError(
                    f"the {what} has no household id column '{household}': name the id "
                    "column shared by the household file and the person roster."
                )
        missing = [c for c in (family, size) if c not in families.columns]
        if missing:
            raise PolicyError(
                f"the family table needs column(s) {', '.join(map(repr, missing))}: one row per "
                "family with its id within the household and its size (members)."
            )
        hh_ids = pd.Index(households[household])
        if hh_ids.has_duplicates:
            dup = hh_ids[hh_ids.duplicated()].unique()
            raise PolicyError(
                f"household id '{household}' repeats in the household data "
                f"({example_rows(dup)}): one row per household is needed to pay families."
            )
        key = families[[household, family]]
        dup = key.duplicated()
        if dup.any():
            pairs = [f"{h}/{f}" for h, f in key[dup].to_numpy()[:5]]
            raise PolicyError(
                f"{int(dup.sum())} (household, family) pairs repeat in the family table, e.g. "
                f"{', '.join(pairs)}: one row per family is needed."
            )
        row = hh_ids.get_indexer(families[household])
        unknown = row < 0
        if unknown.any():
            ids = pd.Index(families[household].to_numpy()[unknown]).unique()
            raise PolicyError(
                f"{int(unknown.sum())} families belong to households not in the survey "
                f"({example_rows(ids)}): drop them from the roster or add the households."
            )
        has_family = np.bincount(row, minlength=len(hh_ids)) > 0
        if not has_family.all():
            ids = hh_ids[~has_family]
            raise PolicyError(
                f"{int((~has_family).sum())} households have no family in the family table "
                f"({example_rows(ids)}): every household needs its members (households without "
                "a roster cannot be assessed by family)."
            )
        n = pd.to_numeric(families[size], errors="coerce").to_numpy(dtype=float)
        bad = ~(n >= 1) | (n != np.floor(n))
        if bad.any():
            raise PolicyError(
                f"family size '{size}' must be a whole number >= 1; {int(bad.sum())} bad "
                f"values for households {example_rows(families[household].to_numpy()[bad])}."
            )
        own = families.reset_index(drop=True)
        shared = [c for c in households.columns if c not in own.columns]
        merged = pd.concat(
            [own, households[shared].iloc[row].reset_index(drop=True)], axis=1
        )
        return cls(merged, row.astype(np.int64), household, family, size, len(hh_ids),
                   tuple(map(str, own.columns)))

    def with_households(self, households: pd.DataFrame) -> FamilyUnits:
        """The same families matched again to (new columns of) the same households, e.g.
        after PMT scores were added to the household data.
        """
        if isinstance(households, Survey):
            households = households.data
        return FamilyUnits.build(households, self.data[list(self.own)],
                                 household=self.household, family=self.family, size=self.size)

    @property
    def n_families(self) -> int:
        """Number of family rows."""
        return len(self.data)

    @property
    def family_size(self) -> np.ndarray:
        """Members of each family (float array)."""
        return pd.to_numeric(self.data[self.size]).to_numpy(dtype=float)

    def to_households(self, values) -> np.ndarray:
        """Sum a per-family array to the households (0 for none, never happens by build)."""
        return np.bincount(
            self.household_row, weights=np.asarray(values, dtype=float),
            minlength=self.n_households,
        )

    def from_households(self, values, share: bool = False) -> np.ndarray:
        """Each family's household value; with ``share`` its part in proportion to size."""
        v = np.asarray(values, dtype=float)[self.household_row]
        if not share:
            return v
        n = self.family_size
        return v * n / self.to_households(n)[self.household_row]

    def per_household(self) -> np.ndarray:
        """Number of families in each household (int)."""
        return np.bincount(self.household_row, minlength=self.n_households)


def with_families(survey: Survey, families: FamilyUnits) -> Survey:
    """The survey carrying its households' families, for policies assessed by family.

    The returned survey is a shallow copy of ``survey`` (same data and design) whose
    ``families`` attribute :func:`families_of` reads; policies with ``unit: family``
    evaluated on it (directly, in :func:`pmt.simulate.simulate`, solvers and scenario
    grids) assess the families and pay each household the sum of its families' benefits.
    """
    if not isinstance(survey, Survey):
        raise PolicyError("`survey` must be a pmt.Survey.")
    if not isinstance(families, FamilyUnits):
        raise PolicyError("`families` must be a FamilyUnits (see FamilyUnits.build).")
    if families.n_households != survey.n_households:
        raise PolicyError(
            f"the families were matched to {families.n_households} households but the survey "
            f"has {survey.n_households}: build them from this survey's data."
        )
    out = copy.copy(survey)
    # Survey declares no `families`: it rides on this copy, read back by families_of()
    out.families = families  # type: ignore[attr-defined]
    return out


def families_of(data) -> FamilyUnits | None:
    """The families a survey carries (set by :func:`with_families`), or None."""
    return getattr(data, "families", None) if isinstance(data, Survey) else None
