"""The person roster of a project run: the ``roster:`` section of a project config.

A project with a person roster (``data_spec/project.md``, section "Person roster") goes
through four steps, in this order, before anything is fitted:

1. **read** the person file through its spec (:func:`pmt.roster.read_roster`) and **link**
   it to the household file by the household id (:func:`pmt.roster.link_roster`: members
   of unknown households, households without members, repeated persons and, when the
   survey names a size column, sizes that differ from the member count are errors naming
   the ids);
2. **build household proxies** from members (:func:`pmt.roster.household_proxies`) and
   add them to the household data and to its spec (types, labels and verifiability
   derived from the roster spec), so that models, subgroups and policies use them like
   any household column;
3. after the run's ``missing`` policy has dropped households (if it did), keep the members
   of the remaining households (the persons dropped are counted);
4. **rebuild nuclear families** (:func:`pmt.roster.families`), build one row per family
   (its size and the family-level columns the config declares, e.g. the family's own
   income) and the person groups of the person-level results (children, the elderly,
   women).

The result, :class:`ProjectRoster`, is what the simulation step needs to assess families
(:class:`pmt.simulate.units.FamilyUnits`) and to report poverty and coverage of persons.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pmt.config import ProjectConfig
from pmt.errors import ConfigError, DataError
from pmt.spec import ColumnSpec, DataSpec

__all__ = ["ProjectRoster", "read_project_roster", "add_roster_proxies", "finish_roster"]

#: family-level columns every family table has (members of the family)
FAMILY_SIZE = "family_size"
FAMILY_ID = "family_id"


@dataclass
class ProjectRoster:
    """A project's person roster, linked to the run's households.

    Attributes
    ----------
    data : pandas.DataFrame
        The validated roster: members of the run's households, in the file's order.
    household, person : str
        The roster's household id and person id columns.
    household_key : str
        The household file's id column.
    household_row : numpy.ndarray of int
        For each person, the position of their household among the run's household rows.
    proxies : tuple of str
        Household columns built from members (added to the household data).
    persons_read, persons_dropped : int
        Persons in the file; persons left out with their household (missing values).
    family_id : numpy.ndarray of int, optional
        Each person's nuclear family (1, 2, ... within the household), when the config
        asks for families.
    families : pandas.DataFrame, optional
        One row per family: the household id, ``family_id``, ``family_size`` and the
        family-level columns of the config.
    family_row : numpy.ndarray of int, optional
        For each person, the row of their family in ``families``.
    ambiguous : pandas.DataFrame, optional
        The fallbacks the family rules met (:func:`pmt.roster.families`).
    method : str, optional
        How families were rebuilt: ``"links"`` or ``"relationship codes"``.
    groups : dict of str to numpy.ndarray
        Person groups of the person-level results (name -> boolean per person).
    """

    data: pd.DataFrame
    household: str
    person: str
    household_key: str
    household_row: np.ndarray
    proxies: tuple[str, ...] = ()
    persons_read: int = 0
    persons_dropped: int = 0
    family_id: np.ndarray | None = None
    families: pd.DataFrame | None = None
    family_row: np.ndarray | None = None
    ambiguous: pd.DataFrame | None = None
    method: str | None = None
    groups: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_persons(self) -> int:
        """Persons of the run's households."""
        return len(self.data)

    def units(self, households: pd.DataFrame):
        """The families as assessment units, matched to ``households`` (the run's rows,
        possibly with added score columns); None without families.
        """
        from pmt.simulate.units import FamilyUnits

        if self.families is None:
            return None
        return FamilyUnits.build(households, self.families, household=self.household_key,
                                 family=FAMILY_ID, size=FAMILY_SIZE)

    def summary(self, weights: np.ndarray | None = None) -> pd.Series:
        """Counts for the report: persons, households, families and the family rules'
        fallbacks (sample counts; with household ``weights``, weighted counts too).
        """
        n_hh = int(self.household_row.max()) + 1 if self.n_persons else 0
        rows: dict[str, Any] = {
            "persons in the roster file": self.persons_read,
            "persons left out with their household (missing values)": self.persons_dropped,
            "persons (sample)": self.n_persons,
            "households (sample)": n_hh,
            "members per household (mean)": round(self.n_persons / max(n_hh, 1), 2),
        }
        if self.proxies:
            rows["household proxies built from members"] = ", ".join(self.proxies)
        if self.families is not None:
            # families are numbered 1, 2, ... within each household: the largest is the count
            per_hh = np.zeros(n_hh, dtype=np.int64)
            np.maximum.at(per_hh, self.household_row, np.asarray(self.family_id))
            rows["families (sample)"] = len(self.families)
            rows["families per household (mean)"] = round(len(self.families) / max(n_hh, 1), 3)
            rows["households with two or more families (sample)"] = int((per_hh >= 2).sum())
            if weights is not None:
                w = np.asarray(weights, dtype=float)
                rows["households with two or more families (weighted share)"] = round(
                    float(np.sum(w * (per_hh >= 2)) / np.sum(w)), 4)
            rows["families rebuilt from"] = self.method
            n_amb = 0 if self.ambiguous is None else int(self.ambiguous["persons"].sum())
            rows["persons placed by a fallback rule (workbook: 'Family rules - fallbacks')"] = n_amb
        return pd.Series(rows, dtype=object, name="value").rename_axis("statistic")


# --------------------------------------------------------------------------------------
# 1. read
# --------------------------------------------------------------------------------------
def read_project_roster(cfg: ProjectConfig, households: pd.DataFrame
                        ) -> tuple[pd.DataFrame, DataSpec]:
    """Read and validate the person file a config names (``roster.data``, ``roster.spec``).

    ``{source: synthetic}`` is the embedded survey's roster, built for ``households`` (the
    synthetic household file, :func:`pmt.datasets.synthetic_roster`).
    """
    from pmt.roster import read_roster, roster_spec_path

    rc = cfg.roster or {}
    src = rc.get("data") or {}
    spec_name = rc.get("spec")
    if spec_name is None:
        spec = DataSpec.load(roster_spec_path())
    else:
        path = cfg.path(spec_name)
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            raise ConfigError(f"roster.spec: data spec '{path}' does not exist (paths are "
                              "relative to the config file's folder).")
        spec = DataSpec.load(path)
    # every column may be missing while reading; the proxies and families say what they need
    relaxed = spec.with_nullable(True)
    if src.get("source") == "synthetic":
        from pmt.datasets import synthetic_roster

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*not in spec .* passed through",
                                    category=UserWarning)
            roster = read_roster(synthetic_roster(households), relaxed)
    else:
        opts = {k: src[k] for k in ("sheet", "sep", "decimal", "encoding")
                if src.get(k) is not None}
        roster = read_roster(cfg.path(src["path"]), relaxed, **opts)
    return roster, spec


# --------------------------------------------------------------------------------------
# 2. household proxies
# --------------------------------------------------------------------------------------
def add_roster_proxies(cfg: ProjectConfig, roster: pd.DataFrame, roster_spec: DataSpec,
                       households: pd.DataFrame, spec: DataSpec
                       ) -> tuple[pd.DataFrame, DataSpec, tuple[str, ...]]:
    """Link the roster to the households, build the config's proxies and add them.

    Returns the household data with the proxy columns, its spec with a column entry per
    proxy (role ``proxy``) and the proxies' names.

    Raises
    ------
    pmt.ConfigError
        The household spec has no id column, or a proxy's name is already a household
        column.
    pmt.DataError
        The roster and the household file do not match (ids named).
    """
    from pmt.roster import household_proxies, link_roster, load_proxy_definitions

    key = _household_key(spec, households)
    roles = roster.attrs["roster"]
    link_roster(roster, households, household=roles["household"], person=roles["person"],
                household_key=key, size=cfg.size if cfg.size in households.columns else None)
    source = (cfg.roster or {}).get("proxies")
    if source is None:
        return households, spec, ()
    if isinstance(source, str):
        source = _packaged_or_path(cfg, source)
    definitions = load_proxy_definitions(source)
    clash = [p.name for p in definitions.proxies if p.name in households.columns]
    if clash:
        raise ConfigError(
            f"roster.proxies: {', '.join(clash)} already exist in the household data; rename "
            "the proxies built from members (or drop those columns from the household file).")
    table = household_proxies(_as_key(roster, roles["household"], key), definitions,
                              household=key, households=households)
    out = households.copy()
    for name in table.columns:
        out[name] = table[name].to_numpy()
    out.attrs = households.attrs
    labels = table.attrs.get("labels", {})
    columns = {p.name: _proxy_column(p, definitions, roster_spec, labels.get(p.name, p.name))
               for p in definitions.proxies}
    extended = DataSpec(spec.name, {**{c: spec[c] for c in spec.columns}, **columns},
                        spec.version, spec.description)
    return out, extended, tuple(columns)


def _household_key(spec: DataSpec, households: pd.DataFrame) -> str:
    ids = spec.columns_with_role("id") if spec is not None else []
    if not ids or ids[0] not in households.columns:
        raise ConfigError(
            "roster: the household file's spec needs its household id column (role `id`), "
            "the key shared with the person file's `household_id` column.")
    return ids[0]


def _as_key(roster: pd.DataFrame, household: str, key: str) -> pd.DataFrame:
    """The roster with its household id column named like the household file's."""
    if household == key:
        return roster
    if key in roster.columns:
        raise ConfigError(
            f"roster: the person file has a column '{key}' (the household file's id) beside "
            f"its household id '{household}'; rename one of them.")
    out = roster.rename(columns={household: key})
    out.attrs = {**roster.attrs, "roster": {**roster.attrs["roster"], "household": key}}
    return out


def _packaged_or_path(cfg: ProjectConfig, name: str):
    path = cfg.path(name)
    if path.is_file():
        return path
    from importlib import resources

    packaged = resources.files("pmt") / "data_spec" / "examples" / name
    if packaged.is_file():
        return packaged
    raise ConfigError(f"roster.proxies: '{path}' does not exist (paths are relative to the "
                      "config file's folder; packaged example: roster_proxies.yaml).")


def _member_columns(definition, definitions) -> list[str]:
    """Roster columns a proxy reads, through the proxies a ratio divides."""
    if definition.kind != "ratio":
        return definition.columns
    parts = [definitions[n] for n in definition.argument if n in definitions.names]
    return [c for p in parts for c in _member_columns(p, definitions)]


def _proxy_column(definition, definitions, roster_spec: DataSpec, label: str) -> ColumnSpec:
    """The spec entry of a proxy built from members: its type follows from the aggregation
    (counts, 0/1 indicators, shares), or from the member column it copies (the head's
    education keeps the education codes); verifiable when every member column it reads is.
    """
    kind, name = definition.kind, definition.name
    used = [c for c in _member_columns(definition, definitions) if c in roster_spec]
    verifiable = bool(used) and all(roster_spec[c].verifiable for c in used)
    source = roster_spec[definition.argument] if (
        isinstance(definition.argument, str) and definition.argument in roster_spec) else None
    base = dict(name=name, role="proxy", label=label, verifiable=verifiable)
    if kind == "count":
        return ColumnSpec(type="count", range=(0, None), **base)
    if kind in ("any", "all") or (kind == "head" and source is None):
        return ColumnSpec(type="binary", codes={0: "No", 1: "Yes"}, **base)
    if kind in ("head", "max", "min") and source is not None and source.type != "id":
        return ColumnSpec(type=source.type, codes=source.codes, unit=source.unit,
                          range=source.range, **base)
    unit = source.unit if source is not None and kind in ("sum", "mean") else None
    return ColumnSpec(type="continuous", unit=unit, **base)


# --------------------------------------------------------------------------------------
# 3-4. the run's members, families and person groups
# --------------------------------------------------------------------------------------
def finish_roster(cfg: ProjectConfig, roster: pd.DataFrame, households: pd.DataFrame,
                  spec: DataSpec, proxies: tuple[str, ...] = ()) -> ProjectRoster:
    """Keep the members of the run's households; rebuild families; build person groups.

    ``households`` are the run's rows after the ``missing`` policy (households dropped for
    missing values take their members with them; the count is reported).
    """
    from pmt.roster import link_roster, member_condition, rebuild_families

    key = _household_key(spec, households)
    roles = roster.attrs["roster"]
    hh, person = roles["household"], roles["person"]
    from pmt.roster.data import match_keys

    persons, kept_households = match_keys(roster[hh], households[key], "the roster",
                                          "the household file")
    keep = kept_households.position_of(persons.codes) >= 0
    members = roster.loc[keep].reset_index(drop=True)
    members.attrs = roster.attrs
    link = link_roster(members, households, household=hh, person=person, household_key=key)
    out = ProjectRoster(data=members, household=hh, person=person, household_key=key,
                        household_row=link.row_of_person, proxies=proxies,
                        persons_read=len(roster), persons_dropped=int((~keep).sum()))
    rc = cfg.roster or {}
    fam = rc.get("families")
    if fam:
        keyed = _as_key(members, hh, key)
        ids, table, row = rebuild_families(keyed, fam, household=key, person=person,
                                           where="roster.families")
        out.family_id = ids.to_numpy()
        out.families = table
        out.family_row = row
        out.ambiguous = ids.attrs.get("ambiguous")
        out.method = ids.attrs.get("method")
    groups = rc.get("groups") or {}
    for name, condition in groups.items():
        try:
            out.groups[name] = member_condition(members, condition).to_numpy(dtype=bool)
        except DataError as exc:
            raise ConfigError(f"roster.groups['{name}']: {exc}") from None
    return out


def family_rules_table(roster: ProjectRoster) -> pd.DataFrame | None:
    """The family rules' fallbacks as a report table (None when there were none)."""
    amb = roster.ambiguous
    if amb is None or len(amb) == 0:
        return None
    return amb.set_index("case")
