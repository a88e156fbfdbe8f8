"""Project configs: parsed once into typed settings and checked before anything is fitted.

A project config (YAML, format in ``data_spec/project.md``) needs three keys::

    data: {path: hh1997.dta}
    spec: hh1997.yaml
    welfare: {column: pcexp, line: {share: 0.2}}

Everything else has a default, and the defaults come from the **data spec**, not from the
embedded survey: the survey design from the columns with roles ``weight``, ``size``,
``strata`` and ``psu``; the proxies from every ``role: proxy`` column (categoricals as
``C(name)``); the currency from the welfare column's ``unit``; the report title from the
spec's description. The embedded survey's own settings (:data:`DEMO_CONFIG`: its poverty
line column, hybrid means test, policies) apply only when ``data: {source: synthetic}``.

:func:`parse_config` deep-merges the user's keys over those defaults and checks every key,
type and value at once, raising :class:`pmt.ConfigError` with one line per problem naming
the key (``evaluation.folds: must be a whole number >= 2; got 'five'``).
:func:`resolve_config` then fills the spec-derived defaults and checks that every column
the run will read exists, still before any model is fitted.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, TypeGuard, cast

from pmt.errors import ConfigError

__all__ = [
    "DEMO_CONFIG",
    "GENERIC_DEFAULTS",
    "MODEL_TYPES",
    "ProjectConfig",
    "parse_config",
    "load_config",
    "resolve_config",
]

MODEL_TYPES = ("ols", "truncated_ols", "quantreg", "probit", "logit", "gradient_boosting",
               "random_forest")
_SKLEARN_TYPES = ("gradient_boosting", "random_forest")
_DATA_SOURCES = ("synthetic", "vlss_1997")

#: Defaults for any data: nothing here names a column.
GENERIC_DEFAULTS: dict[str, Any] = {
    "name": None,
    "data": {},
    "spec": None,
    "survey": {},
    "welfare": {"column": None, "log_column": None, "line": None, "currency": None,
                "label": None},
    "proxies": None,
    "lines": [0.2, 0.4],
    "models": {
        "OLS": {"type": "ols"},
        "Truncated OLS (bottom 40%)": {"type": "truncated_ols", "quantile": 0.4},
        "Quantile regression (q = headcount)": {"type": "quantreg", "q": "headcount"},
        "Probit of poverty": {"type": "probit"},
        "Gradient boosting": {"type": "gradient_boosting", "max_iter": 150, "n_threads": 1},
    },
    "evaluation": {"folds": 5, "repeats": 1, "replicates": 200, "seed": 0, "rule": "rate",
                   "level": 0.9, "n_jobs": 2, "rounds": None},
    "hmt": None,
    "scorecard": {"model": None, "max_points": 100},
    "policies": [],
    "budget_neutral": True,
    "baselines": {"categorical": None, "geographic": "default", "rho": 2.0,
                  "benefit": "flat"},
    "subgroups": None,
    "missing": "error",
    "roster": None,
    "outputs": {"dir": "out"},
}

#: The demo: every step of the workflow on the embedded survey (``pmt demo``).
DEMO_CONFIG: dict[str, Any] = {
    **copy.deepcopy(GENERIC_DEFAULTS),
    "name": "pmt demo: embedded synthetic household budget survey",
    "data": {"source": "synthetic", "n_households": 20_000, "seed": 0},
    "spec": "hbs",
    "survey": {"weight": "weight", "size": "hh_size", "strata": "stratum", "psu": "psu"},
    "welfare": {"column": "pcc", "log_column": "log_pcc", "line": "poverty_line",
                "currency": "UZS per person per month", "label": None},
    "proxies": "default",
    "hmt": {"verifiable": "inc_verifiable", "selection": "default", "outcome": "default",
            "income": "income", "method": "twostep"},
    "scorecard": {"model": "OLS", "max_points": 100},
    "policies": ["policy_gmi_topup.yaml", "policy_uzbek_option3.yaml",
                 "policy_uzbek_family.yaml"],
    # the embedded survey's person roster: proxies built from members (new columns beside
    # the household file's), nuclear families from the spouse/parent links of the Uzbek
    # form, family-level income for the family-unit policy, and person groups
    "roster": {
        "data": {"source": "synthetic"},
        "proxies": {
            "head": "relation == 1",
            "proxies": {
                "n_dependants": {"count": "age < 15 or age >= 65",
                                 "label": "Dependants (under 15 or 65 and over)"},
                "n_working_age": {"count": "age between 15 and 64",
                                  "label": "Members of working age (15-64)"},
                "dependency_ratio": {"ratio": ["n_dependants", "n_working_age"],
                                     "if_zero": "n_dependants",
                                     "label": "Dependency ratio (dependants per member 15-64; "
                                              "no member 15-64: dependants)"},
                "head_edu": {"head": "edu", "label": "Education of the head"},
                "max_edu": {"max": "edu", "where": "age >= 15", "if_empty": 0,
                            "label": "Highest education of members 15 and over"},
            },
        },
        "families": {
            "codes": "uzbekistan", "spouse": "spouse_line", "mother": "mother_line",
            "father": "father_line", "age": "age", "marital": "marital",
            "married_codes": [2],
            "columns": {
                "family_income": {"sum": ["inc_wages", "inc_pensions", "inc_alimony",
                                          "inc_business"],
                                  "label": "Declared income of the family's members"},
                "fam_children_0_13": {"count": "age < 14",
                                      "label": "Children under 14 in the family"},
                "fam_disabled": {"count": "disabled == 1",
                                 "label": "Members with a disability in the family"},
            },
        },
        "groups": {"children (0-17)": "age < 18", "elderly (60+)": "age >= 60",
                   "women": "sex == 2"},
    },
    "budget_neutral": {"children": ["n_children_0_5", "n_children_6_17"],
                       "elderly": "n_elderly", "disabled": "n_disabled",
                       "female_head": "female_head"},
    "subgroups": ["region", "urban", "female_head", "any_disabled"],
    "baselines": {"categorical": "n_children_0_5", "geographic": "region", "rho": 2.0,
                  "benefit": "flat"},
}

_SUB_KEYS = {
    "data": {"source", "path", "n_households", "seed", "sheet", "sep", "decimal", "encoding"},
    "survey": {"weight", "size", "strata", "psu"},
    "welfare": {"column", "log_column", "line", "currency", "label"},
    "evaluation": {"folds", "repeats", "replicates", "seed", "rule", "level", "n_jobs",
                   "benefit", "rounds"},
    "hmt": {"verifiable", "selection", "outcome", "income", "method"},
    "scorecard": {"model", "max_points"},
    "budget_neutral": {"children", "elderly", "disabled", "female_head"},
    "baselines": {"categorical", "geographic", "rho", "benefit"},
    "outputs": {"dir"},
    "roster": {"data", "spec", "proxies", "families", "groups"},
}



# --------------------------------------------------------------------------------------
# the typed result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelSpec:
    """One model of the comparison: its ``type``, optional ``formula`` and other keys."""

    name: str
    type: str
    formula: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def is_sklearn(self) -> bool:
        return self.type in _SKLEARN_TYPES


class SurveyDesign(TypedDict):
    """The survey design columns of a config: the keyword arguments of :class:`pmt.Survey`."""

    weight: str | None
    size: str | None
    strata: str | None
    psu: str | None


@dataclass(frozen=True)
class ProjectConfig:
    """A project config after parsing (every key typed and checked).

    Column settings left out are ``None`` until :func:`resolve_config` fills them from the
    data spec. ``line`` is a number, a column name, or ``{"share": q}``.
    """

    name: str | None
    data: dict
    spec: str
    weight: str | None
    size: str | None
    strata: str | None
    psu: str | None
    welfare: str | None
    log_welfare: str | None
    line: float | str | dict
    currency: str | None
    welfare_label: str | None
    proxies: str | None
    lines: tuple[float, ...]
    models: dict[str, ModelSpec]
    evaluation: dict
    hmt: dict | None
    scorecard: dict | None
    policies: tuple[str, ...]
    budget_neutral: dict | None
    baselines: dict | None
    subgroups: tuple[str, ...] | None
    missing: str
    out_dir: Path
    base: Path = Path(".")
    source: str = "the project config"
    notes: tuple[str, ...] = ()
    roster: dict | None = None  # person roster: data, spec, proxies, families, groups

    @property
    def is_demo_data(self) -> bool:
        """True when the data is the embedded synthetic survey."""
        return self.data.get("source") == "synthetic"

    @property
    def relative_line(self) -> bool:
        """Whether the poverty line is relative (a mapping such as a share of the median)."""
        return isinstance(self.line, Mapping)

    def design(self) -> SurveyDesign:
        """Keyword arguments of :class:`pmt.Survey`."""
        return {"weight": self.weight, "size": self.size, "strata": self.strata,
                "psu": self.psu}

    def path(self, value: str | Path) -> Path:
        """A path of the config, relative to the config file's folder."""
        p = Path(value)
        return p if p.is_absolute() else self.base / p


# --------------------------------------------------------------------------------------
# parsing
# --------------------------------------------------------------------------------------
def load_config(path: str | Path) -> ProjectConfig:
    """Read a project config YAML file and parse it (see :func:`parse_config`)."""
    from pmt.spec import read_yaml_file

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"project config '{p}' is a folder; give the path of a YAML file.")
    raw = read_yaml_file(p, ConfigError, "project config")
    return parse_config(raw, base=p.parent, source=f"project config '{p}'")


def deep_merge(base: Mapping, override: Mapping) -> dict:
    """``override`` over ``base``, merging nested mappings key by key; ``None`` in
    ``override`` switches a section off (it replaces the mapping).
    """
    out = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def parse_config(raw: Any, base: str | Path = ".", source: str = "the project config"
                 ) -> ProjectConfig:
    """Parse a project config (the YAML content as a dict) into a :class:`ProjectConfig`.

    The user's keys are deep-merged over :data:`GENERIC_DEFAULTS` (or over
    :data:`DEMO_CONFIG` when the data is the embedded survey). Every key, type and value is
    checked; all problems are reported at once.

    Raises
    ------
    pmt.ConfigError
        One line per problem, each naming the key (``models.OLS.type``) and the fix.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source} must be a mapping of keys (data, spec, welfare, ...); see "
                          "data_spec/project.md.")
    problems: list[str] = []
    unknown = sorted(set(map(str, raw)) - set(GENERIC_DEFAULTS))
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}; allowed: "
                        f"{', '.join(GENERIC_DEFAULTS)}.")
    data = raw.get("data")
    demo = isinstance(data, Mapping) and data.get("source") == "synthetic"
    merged = deep_merge(DEMO_CONFIG if demo else GENERIC_DEFAULTS,
                        {k: v for k, v in raw.items() if k in GENERIC_DEFAULTS})
    if "models" in raw and isinstance(raw["models"], Mapping):
        merged["models"] = copy.deepcopy(dict(raw["models"]))  # a model list is not merged
    if "budget_neutral" in raw and not isinstance(raw["budget_neutral"], Mapping):
        merged["budget_neutral"] = raw["budget_neutral"]
    for section, allowed in _SUB_KEYS.items():
        value = raw.get(section)
        if isinstance(value, Mapping):
            extra = sorted(set(map(str, value)) - allowed)
            if extra:
                problems.append(f"{section}: unknown key(s) {', '.join(extra)}; allowed: "
                                f"{', '.join(sorted(allowed))}.")
    cfg = _typed(merged, problems, Path(base), source)
    if problems:
        raise ConfigError(
            f"{source} has {len(problems)} problem{'s' if len(problems) > 1 else ''} "
            "(format: data_spec/project.md):\n- " + "\n- ".join(problems)
        )
    assert cfg is not None
    return cfg


def _typed(m: dict, problems: list[str], base: Path, source: str) -> ProjectConfig | None:
    check = _Checker(problems)
    name = check.text(m.get("name"), "name", optional=True)
    # data
    data = m.get("data")
    if not isinstance(data, Mapping) or not data:
        problems.append("data: required; write {path: survey.dta} (or {source: synthetic} for "
                        "the embedded survey).")
        data = {}
    data = dict(data)
    if "path" in data and "source" in data:
        problems.append("data: give either `path` or `source`, not both.")
    if "source" in data and data["source"] not in _DATA_SOURCES:
        problems.append(f"data.source: {data['source']!r} is not one of "
                        f"{', '.join(_DATA_SOURCES)}; for your own file write `path:`.")
    if "path" in data:
        check.text(data["path"], "data.path")
    elif data and "source" not in data:
        problems.append("data: needs `path: <file>` (or `source: synthetic`).")
    if data.get("source") == "synthetic":
        data.setdefault("n_households", 20_000)
        data.setdefault("seed", 0)
        check.integer(data["n_households"], "data.n_households", low=1000)
        check.integer(data["seed"], "data.seed", low=0)
    for key in ("sep", "decimal", "encoding"):
        check.text(data.get(key), f"data.{key}", optional=True)
    if data.get("sheet") is not None and not isinstance(data["sheet"], str | int):
        problems.append(f"data.sheet: a sheet name or 0-based position; got {data['sheet']!r}.")
    # spec
    spec = m.get("spec")
    if spec is None:
        packaged: dict[Any, str] = {"synthetic": "hbs", "vlss_1997": "vlss"}
        source_spec = packaged.get(data.get("source"))
        spec = source_spec
        if spec is None:
            problems.append("spec: required; the data spec of your file (draft one with "
                            "`pmt draft-spec DATA --out spec.yaml`).")
    else:
        check.text(spec, "spec")
    # survey design
    survey = m.get("survey")
    survey = check.mapping(survey, "survey") or {}
    design = SurveyDesign(
        weight=check.text(survey.get("weight"), "survey.weight", optional=True),
        size=check.text(survey.get("size"), "survey.size", optional=True),
        strata=check.text(survey.get("strata"), "survey.strata", optional=True),
        psu=check.text(survey.get("psu"), "survey.psu", optional=True),
    )
    # welfare
    welfare = check.mapping(m.get("welfare"), "welfare") or {}
    column = check.text(welfare.get("column"), "welfare.column", optional=True)
    log_column = check.text(welfare.get("log_column"), "welfare.log_column", optional=True)
    line = welfare.get("line")
    if line is None:
        problems.append("welfare.line: required; a number (the poverty line in welfare units), "
                        "a column holding one value, or {share: 0.2} for the poorest 20 %.")
    elif isinstance(line, Mapping):
        share = line.get("share")
        if set(line) != {"share"} or not _is_number(share) or not 0 < float(share) < 1:
            problems.append(f"welfare.line: {dict(line)!r}; write {{share: q}} with 0 < q < 1 "
                            "(e.g. {share: 0.2}).")
        else:
            line = {"share": float(share)}
    elif isinstance(line, bool) or not (isinstance(line, str) or _is_number(line)):
        problems.append(f"welfare.line: a number, a column name or {{share: q}}; got {line!r}.")
    elif _is_number(line):
        if not (math.isfinite(float(line)) and float(line) > 0):
            problems.append(f"welfare.line: a poverty line must be a positive number; got {line}.")
        else:
            line = float(line)
    currency = check.text(welfare.get("currency"), "welfare.currency", optional=True)
    label = check.text(welfare.get("label"), "welfare.label", optional=True)
    # proxies
    proxies = m.get("proxies")
    if isinstance(proxies, list | tuple):
        bad = [p for p in proxies if not isinstance(p, str) or not p.strip()]
        if bad or not proxies:
            problems.append(f"proxies: a list of column names (or terms like C(region)); got "
                            f"{proxies!r}.")
        proxies = " + ".join(str(p) for p in proxies)
    elif proxies is not None:
        proxies = check.text(proxies, "proxies")
        if proxies == "default" and data.get("source") != "synthetic":
            problems.append("proxies: 'default' means the embedded survey's PMT and applies only "
                            "to `data: {source: synthetic}`; leave `proxies` out to use every "
                            "column of role proxy in your spec, or list them.")
        elif proxies and "~" in proxies:
            problems.append("proxies: the right side of the formulas only (no '~'), e.g. "
                            "'C(region) + hh_size + car'.")
    # lines
    lines = m.get("lines")
    if not isinstance(lines, list | tuple) or not lines:
        problems.append(f"lines: a list of population shares between 0 and 1, e.g. [0.2, 0.4]; "
                        f"got {lines!r}.")
        lines = ()
    else:
        bad = [v for v in lines if not _is_number(v) or not 0 < float(v) < 1]
        if bad:
            problems.append(
                f"lines: {', '.join(map(repr, bad))} not a share between 0 and 1: the evaluation "
                "lines are the poorest shares of people (write 0.2 for the poorest 20 %).")
            lines = ()
        lines = tuple(float(v) for v in lines)
    # models
    models = _models(m.get("models"), problems, check)
    # evaluation
    ev = check.mapping(m.get("evaluation"), "evaluation") or {}
    ev = dict(ev)
    check.integer(ev.get("folds"), "evaluation.folds", low=2)
    check.integer(ev.get("repeats"), "evaluation.repeats", low=1)
    check.integer(ev.get("replicates"), "evaluation.replicates", low=10)
    check.integer(ev.get("seed"), "evaluation.seed", low=0)
    check.integer(ev.get("n_jobs"), "evaluation.n_jobs", low=1)
    if ev.get("rule") not in ("rate", "line"):
        problems.append(f"evaluation.rule: 'rate' or 'line'; got {ev.get('rule')!r}.")
    benefit = ev.get("benefit")
    if benefit is not None and not (isinstance(benefit, str) and benefit.strip()) and not (
            _is_number(benefit) and math.isfinite(float(benefit)) and float(benefit) > 0):
        problems.append(f"evaluation.benefit: a positive benefit per person (a number, or a "
                        f"column holding one amount per household); got {benefit!r}.")
    rounds = ev.get("rounds")
    if rounds is not None and not (isinstance(rounds, str) and rounds.strip()):
        problems.append(f"evaluation.rounds: the column naming the survey round (e.g. year), "
                        f"or null; got {rounds!r}.")
    if not _is_number(ev.get("level")) or not 0 < float(ev["level"]) < 1:
        problems.append(f"evaluation.level: a confidence level between 0 and 1 (e.g. 0.9); got "
                        f"{ev.get('level')!r}.")
    # hmt
    hmt = m.get("hmt")
    if hmt is not None:
        hmt = check.mapping(hmt, "hmt")
        if hmt is not None:
            hmt = dict(hmt)
            for key in ("verifiable", "selection", "outcome", "income"):
                if key not in hmt or hmt[key] is None:
                    problems.append(f"hmt.{key}: required when `hmt` is set (or `hmt: null`).")
                else:
                    check.text(hmt[key], f"hmt.{key}")
            for key in ("selection", "outcome"):
                if hmt.get(key) == "default" and data.get("source") != "synthetic":
                    problems.append(f"hmt.{key}: 'default' is the embedded survey's formula; "
                                    "write your own.")
            hmt.setdefault("method", "twostep")
            if hmt["method"] not in ("twostep", "ml"):
                problems.append(f"hmt.method: 'twostep' or 'ml'; got {hmt['method']!r}.")
    # scorecard
    scorecard = m.get("scorecard")
    if scorecard is not None:
        scorecard = check.mapping(scorecard, "scorecard")
        if scorecard is not None:
            scorecard = dict(scorecard)
            check.integer(scorecard.get("max_points", 100), "scorecard.max_points", low=10)
            chosen = scorecard.get("model")
            if chosen is None:
                chosen = next((k for k, v in models.items()
                               if v.type in ("ols", "truncated_ols", "quantreg")), None)
                if chosen is None:
                    problems.append("scorecard.model: none of the models is linear (ols, "
                                    "truncated_ols, quantreg); name one or set `scorecard: null`.")
                scorecard["model"] = chosen
            elif chosen not in models:
                problems.append(f"scorecard.model: {chosen!r} is not one of the models "
                                f"({', '.join(models)}).")
            elif models[chosen].is_sklearn:
                problems.append(f"scorecard.model: {chosen!r} is a machine-learning model and "
                                "has no coefficients to turn into points; name a linear one.")
    # policies
    policies = m.get("policies") or []
    if not isinstance(policies, list | tuple) or not all(isinstance(p, str) for p in policies):
        problems.append(f"policies: a list of policy files; got {policies!r}.")
        policies = []
    # budget-neutral comparison
    bn = m.get("budget_neutral")
    if bn is True:
        bn = {}
    elif bn is False or bn is None:
        bn = None
    elif isinstance(bn, Mapping):
        bn = dict(bn)
        for key in ("elderly", "disabled", "female_head"):
            check.text(bn.get(key), f"budget_neutral.{key}", optional=True)
        children = bn.get("children")
        if isinstance(children, str):
            bn["children"] = [children]
        elif children is not None and not (isinstance(children, list)
                                           and all(isinstance(c, str) for c in children)):
            problems.append(f"budget_neutral.children: a column or list of columns counting "
                            f"children; got {children!r}.")
    else:
        problems.append(f"budget_neutral: true, false or a mapping of columns (children, "
                        f"elderly, disabled, female_head); got {bn!r}.")
        bn = None
    # baselines of the welfare comparison
    baselines = m.get("baselines")
    if baselines is not None:
        baselines = check.mapping(baselines, "baselines")
        if baselines is not None:
            baselines = dict(baselines)
            cat = baselines.get("categorical")
            if isinstance(cat, str):
                baselines["categorical"] = {"column": cat}
            elif isinstance(cat, Mapping):
                check.text(cat.get("column"), "baselines.categorical.column")
                if "above" in cat and not _is_number(cat["above"]):
                    problems.append(f"baselines.categorical.above: a number; got "
                                    f"{cat['above']!r}.")
                baselines["categorical"] = dict(cat)
            elif cat is not None:
                problems.append(f"baselines.categorical: a column (households with a value "
                                f"above 0) or {{column, above}}; got {cat!r}.")
            geo = baselines.get("geographic")
            if isinstance(geo, str) and geo != "default":
                baselines["geographic"] = {"area": geo}
            elif isinstance(geo, Mapping):
                check.text(geo.get("area"), "baselines.geographic.area")
                check.text(geo.get("rates"), "baselines.geographic.rates", optional=True)
                baselines["geographic"] = dict(geo)
            elif geo not in (None, "default"):
                problems.append(f"baselines.geographic: an area column, or {{area, rates: "
                                f"file.csv}}; got {geo!r}.")
            rho = baselines.get("rho", 2.0)
            if not _is_number(rho) or rho < 0:
                problems.append(f"baselines.rho: inequality aversion, a number >= 0 (default "
                                f"2); got {rho!r}.")
            if baselines.get("benefit", "flat") not in ("flat", "topup"):
                problems.append(f"baselines.benefit: 'flat' or 'topup'; got "
                                f"{baselines.get('benefit')!r}.")
    # subgroups
    subgroups = m.get("subgroups")
    if subgroups is not None:
        if isinstance(subgroups, str):
            subgroups = [subgroups]
        if not isinstance(subgroups, list | tuple) or not all(isinstance(s, str)
                                                              for s in subgroups):
            problems.append(f"subgroups: a list of columns; got {subgroups!r}.")
            subgroups = None
        else:
            subgroups = tuple(subgroups)
    roster = _roster(m.get("roster"), problems, check, data)
    missing = m.get("missing")
    if missing not in ("error", "drop"):
        problems.append(f"missing: 'error' (stop and name the columns) or 'drop' (drop those "
                        f"households and report them); got {missing!r}.")
    outputs = check.mapping(m.get("outputs"), "outputs") or {}
    out_dir = check.text(outputs.get("dir", "out"), "outputs.dir") or "out"
    if problems:
        return None
    # every value below passed its check (a problem returned None above)
    return ProjectConfig(
        name=name, data=data, spec=cast(str, spec), welfare=column, log_welfare=log_column,
        line=cast(float | str | dict, line),
        currency=currency, welfare_label=label, proxies=proxies, lines=lines, models=models,
        evaluation=ev, hmt=hmt, scorecard=scorecard, policies=tuple(policies),
        budget_neutral=bn, baselines=baselines, subgroups=subgroups, missing=cast(str, missing),
        out_dir=Path(out_dir) if Path(out_dir).is_absolute() else base / out_dir,
        base=base, source=source, roster=roster, **design,
    )


def _roster(raw: Any, problems: list[str], check: _Checker, data: Mapping) -> dict | None:
    """The `roster` section: a person file, its spec, household proxies built from members,
    nuclear families rebuilt from relationships and groups of persons for the results.
    """
    from pmt.roster.aggregate import FAMILY_KEYS

    if raw is None:
        return None
    raw = check.mapping(raw, "roster")
    if raw is None:
        return None
    out = dict(raw)
    src = raw.get("data")
    if isinstance(src, str):
        src = {"path": src}
    if not isinstance(src, Mapping) or not ({"path"} <= set(src) or src.get("source") ==
                                            "synthetic"):
        problems.append("roster.data: {path: persons.dta} (one row per person), or {source: "
                        "synthetic} for the embedded survey's roster.")
    elif src.get("source") == "synthetic" and data.get("source") != "synthetic":
        problems.append("roster.data: {source: synthetic} is the embedded survey's roster; "
                        "with your own household file give {path: ...} of its person file.")
    else:
        out["data"] = dict(src)
        if "path" in src:
            check.text(src["path"], "roster.data.path")
    spec = raw.get("spec")
    if spec is None and not (isinstance(src, Mapping) and src.get("source") == "synthetic"):
        problems.append("roster.spec: the data spec of the person file (roles household_id, "
                        "person_id and relation).")
    elif spec is not None:
        check.text(spec, "roster.spec")
    proxies = raw.get("proxies")
    if proxies is not None and not isinstance(proxies, str | Mapping):
        problems.append("roster.proxies: a YAML file of household proxies built from members "
                        f"(format: pmt/data_spec/examples/roster_proxies.yaml) or a mapping; got "
                        f"{proxies!r}.")
    fam = raw.get("families")
    if fam is not None:
        fam = check.mapping(fam, "roster.families")
        if fam is not None:
            extra = sorted(set(map(str, fam)) - set(FAMILY_KEYS))
            if extra:
                problems.append(f"roster.families: unknown key(s) {', '.join(extra)}; allowed: "
                                f"{', '.join(FAMILY_KEYS)}.")
            if fam.get("codes") is None and not (fam.get("spouse") or fam.get("mother")
                                                 or fam.get("father")):
                problems.append("roster.families: needs `codes` (relationship-to-head codes: "
                                "uzbekistan, kazakhstan, a YAML file or a mapping) or the "
                                "spouse/mother/father line-number columns.")
            for key in ("relation", "spouse", "mother", "father", "age", "marital"):
                check.text(fam.get(key), f"roster.families.{key}", optional=True)
            columns = fam.get("columns")
            if columns is not None and not isinstance(columns, Mapping):
                problems.append("roster.families.columns: a mapping of family-level columns "
                                "(name: {sum: column}, ...) built like the proxies.")
            out["families"] = dict(fam)
    groups = raw.get("groups")
    if groups is not None:
        if not isinstance(groups, Mapping) or not all(isinstance(v, str) for v in
                                                      groups.values()):
            problems.append("roster.groups: a mapping of group name -> condition on persons, "
                            "e.g. {children: 'age < 18', women: 'sex == 2'}.")
        else:
            out["groups"] = {str(k): v for k, v in groups.items()}
    return out


def _models(raw: Any, problems: list[str], check: _Checker) -> dict[str, ModelSpec]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append("models: a mapping of model name -> {type: ...}; e.g. "
                        "{OLS: {type: ols}}.")
        return {}
    out: dict[str, ModelSpec] = {}
    for name, spec in raw.items():
        where = f"models.{name}"
        if not isinstance(spec, Mapping):
            problems.append(f"{where}: a mapping with `type` (one of {', '.join(MODEL_TYPES)}); "
                            f"got {spec!r}.")
            continue
        kind = spec.get("type")
        if kind not in MODEL_TYPES:
            problems.append(f"{where}.type: {kind!r} is not one of {', '.join(MODEL_TYPES)}.")
            continue
        formula = check.text(spec.get("formula"), f"{where}.formula", optional=True)
        if formula is not None and "~" not in formula:
            problems.append(f"{where}.formula: {formula!r} needs a left side and '~'.")
        params = {k: v for k, v in spec.items() if k not in ("type", "formula")}
        if kind == "truncated_ols":
            q = params.setdefault("quantile", 0.4)
            if not _is_number(q) or not 0 < float(q) < 1:
                problems.append(f"{where}.quantile: a share between 0 and 1; got {q!r}.")
        elif kind == "quantreg":
            q = params.setdefault("q", 0.5)
            if q != "headcount" and (not _is_number(q) or not 0 < float(q) < 1):
                problems.append(f"{where}.q: a quantile between 0 and 1 or 'headcount'; got "
                                f"{q!r}.")
        elif kind not in _SKLEARN_TYPES and params:
            problems.append(f"{where}: unknown key(s) {', '.join(map(str, params))} for a "
                            f"{kind} model (allowed: type, formula).")
        out[str(name)] = ModelSpec(str(name), kind, formula, params)
    return out


class _Checker:
    def __init__(self, problems: list[str]):
        self.problems = problems

    def text(self, value, key: str, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{key}: must be text; got {value!r}.")
            return None
        return value

    def integer(self, value, key: str, low: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.problems.append(f"{key}: must be a whole number >= {low}; got {value!r}.")

    def mapping(self, value, key: str) -> Mapping | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.problems.append(f"{key}: must be a mapping of keys; got {value!r}.")
            return None
        return value


def _is_number(v) -> TypeGuard[int | float]:
    return isinstance(v, int | float) and not isinstance(v, bool)


# --------------------------------------------------------------------------------------
# resolution against the spec and the data
# --------------------------------------------------------------------------------------
def resolve_config(cfg: ProjectConfig, spec, columns) -> ProjectConfig:
    """Fill the spec-derived defaults and check every column the run reads.

    Parameters
    ----------
    cfg : ProjectConfig
    spec : pmt.DataSpec
        The data spec (roles, labels, units).
    columns : iterable of str
        The data's columns.

    Returns
    -------
    ProjectConfig
        With the design, welfare column, currency, proxies, subgroups and budget-neutral
        columns filled; ``notes`` lists steps that will be skipped and why.

    Raises
    ------
    pmt.ConfigError
        Naming each key whose column is not in the data, or a default the spec cannot give.
    """
    from pmt.models.formula import parse_formula

    cols = set(map(str, columns))
    problems: list[str] = []
    notes: list[str] = []
    changes: dict[str, Any] = {}
    roles = spec.design() if spec is not None else {}
    for role in ("weight", "size", "strata", "psu"):
        if getattr(cfg, role) is None and roles.get(role):
            changes[role] = roles[role]
    welfare = cfg.welfare
    if welfare is None:
        found = spec.columns_with_role("welfare") if spec is not None else []
        if len(found) == 1:
            welfare = changes["welfare"] = found[0]
        else:
            problems.append("welfare.column: required (the spec has "
                            f"{'no' if not found else len(found)} column(s) of role welfare"
                            f"{': ' + ', '.join(found) if found else ''}).")
    if welfare is not None and spec is not None and welfare in spec:
        col = spec[welfare]
        if cfg.currency is None and col.unit:
            changes["currency"] = col.unit
        if cfg.welfare_label is None:
            changes["welfare_label"] = col.label
    proxies = cfg.proxies
    if proxies is None:
        found = spec.columns_with_role("proxy") if spec is not None else []
        if not found:
            problems.append("proxies: required: the spec has no column of role proxy; list the "
                            "proxies or mark them `role: proxy` in the spec.")
        else:
            terms = [f"C({c})" if spec[c].type == "categorical" else c for c in found]
            proxies = changes["proxies"] = " + ".join(terms)
    elif proxies == "default":
        from pmt.datasets import PMT_FORMULA

        proxies = changes["proxies"] = PMT_FORMULA.split("~", 1)[1].strip()
    needed: dict[str, str] = {}  # column -> key that names it
    for role in ("weight", "size", "strata", "psu"):
        value = changes.get(role, getattr(cfg, role))
        if value is not None:
            needed[value] = f"survey.{role}"
    if welfare is not None:
        needed[welfare] = "welfare.column"
    if cfg.log_welfare is not None:
        needed[cfg.log_welfare] = "welfare.log_column"
    if isinstance(cfg.line, str):
        needed[cfg.line] = "welfare.line"
    if proxies is not None:
        try:
            for v in parse_formula(f"y ~ {proxies}").variables[1:]:
                needed.setdefault(v, "proxies")
        except Exception as exc:  # a ModelError naming the bad term
            problems.append(f"proxies: {exc}")
    for name, model in cfg.models.items():
        if model.formula is not None:
            try:
                parsed = parse_formula(model.formula)
            except Exception as exc:
                problems.append(f"models.{name}.formula: {exc}")
                continue
            for v in parsed.variables:
                if v != "poor_at_line" and v != cfg.log_welfare:
                    needed.setdefault(v, f"models.{name}.formula")
    if cfg.hmt is not None:
        for key in ("verifiable", "income"):
            needed.setdefault(cfg.hmt[key], f"hmt.{key}")
    if isinstance(cfg.evaluation.get("benefit"), str):
        needed.setdefault(cfg.evaluation["benefit"], "evaluation.benefit")
    if isinstance(cfg.evaluation.get("rounds"), str):
        needed.setdefault(cfg.evaluation["rounds"], "evaluation.rounds")
    subgroups = cfg.subgroups
    if subgroups is None:
        region = spec.columns_with_role("region") if spec is not None else []
        subgroups = tuple(region + [c for c in ("urban", "rural", "female_head")
                                    if c in cols and c not in region])
        changes["subgroups"] = subgroups
    else:
        for s in subgroups:
            needed.setdefault(s, "subgroups")
    bn = cfg.budget_neutral
    if bn is not None and not cfg.is_demo_data:
        for key in ("elderly", "disabled", "female_head"):
            if bn.get(key) is not None:
                needed.setdefault(bn[key], f"budget_neutral.{key}")
        for c in bn.get("children") or []:
            needed.setdefault(c, "budget_neutral.children")
        if not any(bn.get(k) for k in ("children", "elderly", "disabled", "female_head")):
            notes.append("The budget-neutral comparison has no categorical alternatives (name "
                         "columns under `budget_neutral: {children, elderly, disabled, "
                         "female_head}`): it compares the PMT with a universal transfer only.")
    baselines = cfg.baselines
    if baselines is not None:
        baselines = dict(baselines)
        if baselines.get("geographic") == "default":
            region = spec.columns_with_role("region") if spec is not None else []
            baselines["geographic"] = {"area": region[0]} if region else None
        else:
            geo = baselines.get("geographic")
            if geo:
                needed.setdefault(geo["area"], "baselines.geographic.area")
        cat = baselines.get("categorical")
        if cat:
            needed.setdefault(cat["column"], "baselines.categorical.column")
        changes["baselines"] = baselines
    if cfg.scorecard is not None and cfg.scorecard.get("model") not in cfg.models:
        problems.append(f"scorecard.model: {cfg.scorecard.get('model')!r} is not one of the "
                        f"models ({', '.join(cfg.models)}).")
    absent = {c: key for c, key in needed.items() if c not in cols}
    for c, key in absent.items():
        problems.append(f"{key}: column '{c}' is not in the data"
                        f"{_closest(c, cols)}.")
    if problems:
        raise ConfigError(
            f"{cfg.source} does not fit the data ({len(problems)} problem"
            f"{'s' if len(problems) > 1 else ''}):\n- " + "\n- ".join(problems)
        )
    return replace(cfg, **changes, notes=cfg.notes + tuple(notes))


def used_columns(cfg: ProjectConfig) -> list[str]:
    """Every data column a resolved config reads (design, welfare, proxies, formulas, HMT,
    subgroups, budget-neutral alternatives), in a stable order.
    """
    from pmt.models.formula import parse_formula

    out: list[str] = []

    def add(c):
        if c is not None and c not in out:
            out.append(c)

    for c in (cfg.weight, cfg.size, cfg.strata, cfg.psu, cfg.welfare, cfg.log_welfare):
        add(c)
    if isinstance(cfg.line, str):
        add(cfg.line)
    if cfg.proxies:
        for v in parse_formula(f"y ~ {cfg.proxies}").variables[1:]:
            add(v)
    for model in cfg.models.values():
        if model.formula:
            for v in parse_formula(model.formula).variables:
                if v != "poor_at_line":
                    add(v)
    if cfg.hmt is not None:
        add(cfg.hmt["verifiable"])
        add(cfg.hmt["income"])
        for key in ("selection", "outcome"):
            formula = cfg.hmt[key]
            if formula != "default":
                for v in parse_formula(formula).variables:
                    add(v)
    for s in cfg.subgroups or ():
        add(s)
    if cfg.baselines:
        if cfg.baselines.get("categorical"):
            add(cfg.baselines["categorical"]["column"])
        geo = cfg.baselines.get("geographic")
        if isinstance(geo, Mapping):
            add(geo["area"])
    return out


def _closest(name: str, columns) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(columns), n=3)
    return f" (did you mean {', '.join(close)}?)" if close else ""
