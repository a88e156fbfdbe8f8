"""Project configs: parsed once, every key checked before fitting, defaults from the spec."""

from __future__ import annotations

import pytest
import yaml

import pmt
from pmt.cli import main
from pmt.config import (
    DEMO_CONFIG,
    GENERIC_DEFAULTS,
    parse_config,
    resolve_config,
    used_columns,
)
from pmt.errors import ConfigError

SPEC = {
    "name": "hh",
    "description": "A household survey",
    "columns": {
        "hhid": {"type": "id", "role": "id"},
        "w": {"type": "continuous", "role": "weight"},
        "n": {"type": "count", "role": "size"},
        "ea": {"type": "categorical", "role": "psu"},
        "zone": {"type": "categorical", "role": "strata"},
        "prov": {"type": "categorical", "role": "region", "label": "Province",
                 "codes": {1: "North", 2: "South"}},
        "pce": {"type": "continuous", "role": "welfare", "label": "Expenditure per person",
                "unit": "dong per person per year"},
        "tv": {"type": "binary", "role": "proxy"},
        "rooms": {"type": "count", "role": "proxy"},
        "roof": {"type": "categorical", "role": "proxy"},
        "note": {"type": "continuous", "role": "other", "nullable": True},
    },
}
MINIMAL = {"data": {"path": "hh.dta"}, "spec": "hh.yaml",
           "welfare": {"column": "pce", "line": {"share": 0.2}}}


def spec():
    return pmt.DataSpec.from_dict(SPEC)


def problems_of(raw) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config(raw)
    return str(err.value)


def test_three_keys_are_enough_and_defaults_come_from_the_spec():
    cfg = resolve_config(parse_config(MINIMAL), spec(), SPEC["columns"])
    assert cfg.design() == {"weight": "w", "size": "n", "strata": "zone", "psu": "ea"}
    assert cfg.proxies == "tv + rooms + C(roof)"  # every role: proxy column, in spec order
    assert cfg.currency == "dong per person per year"
    assert cfg.welfare_label == "Expenditure per person"
    assert cfg.log_welfare is None  # computed by the workflow
    assert cfg.subgroups == ("prov",)  # the region-role column
    assert cfg.hmt is None and cfg.policies == ()
    assert cfg.scorecard["model"] == "OLS"
    assert cfg.missing == "error"
    # nothing of the embedded survey leaks in
    text = repr(cfg)
    for demo_name in ("pcc", "log_pcc", "hh_size", "poverty_line", "inc_verifiable", "stratum"):
        assert f"'{demo_name}'" not in text


def test_demo_defaults_only_for_the_embedded_survey():
    demo = parse_config({"data": {"source": "synthetic", "n_households": 2000}})
    assert demo.welfare == "pcc" and demo.line == "poverty_line" and demo.hmt is not None
    assert demo.data["n_households"] == 2000 and demo.data["seed"] == 0  # deep-merged
    assert "poverty_line" not in repr(GENERIC_DEFAULTS)
    assert DEMO_CONFIG["welfare"]["column"] == "pcc"


def test_deep_merge_keeps_sibling_keys():
    cfg = parse_config({**MINIMAL, "evaluation": {"folds": 3}})
    assert cfg.evaluation["folds"] == 3
    assert cfg.evaluation["replicates"] == GENERIC_DEFAULTS["evaluation"]["replicates"]


@pytest.mark.parametrize("change, key", [
    ({"lines": [20, 40]}, "lines"),
    ({"evaluation": {"folds": "five"}}, "evaluation.folds"),
    ({"evaluation": {"rule": "median"}}, "evaluation.rule"),
    ({"evaluation": {"level": 95}}, "evaluation.level"),
    ({"models": {"OLS": {"type": "lasso"}}}, "models.OLS.type"),
    ({"models": {"Q": {"type": "quantreg", "q": 2}}}, "models.Q.q"),
    ({"models": {"OLS": {"type": "ols", "alpha": 1}}}, "models.OLS"),
    ({"welfare": {"column": "pce", "line": -3}}, "welfare.line"),
    ({"welfare": {"column": "pce", "line": {"share": 20}}}, "welfare.line"),
    ({"welfare": {"column": "pce"}}, "welfare.line"),
    ({"missing": "ignore"}, "missing"),
    ({"proxies": "default"}, "proxies"),
    ({"budget_neutral": "yes"}, "budget_neutral"),
    ({"scorecard": {"model": "Nope"}}, "scorecard.model"),
    ({"modelz": {}}, "modelz"),
    ({"evaluation": {"fold": 3}}, "fold"),
    ({"hmt": {"verifiable": "inc"}}, "hmt.selection"),
])
def test_each_bad_key_is_named_before_anything_runs(change, key):
    raw = {**MINIMAL, **change}
    assert key in problems_of(raw)


def test_all_problems_reported_at_once():
    text = problems_of({**MINIMAL, "lines": [20], "missing": "x", "evaluation": {"folds": 1}})
    assert "3 problems" in text and "lines" in text and "missing" in text
    assert "evaluation.folds" in text


def test_missing_required_keys():
    assert "data" in problems_of({"spec": "x.yaml", "welfare": {"column": "y", "line": 1}})
    assert "spec" in problems_of({"data": {"path": "x.dta"},
                                  "welfare": {"column": "y", "line": 1}})


def test_columns_the_data_lacks_are_named_with_their_key():
    raw = {**MINIMAL, "subgroups": ["provnce"], "survey": {"weight": "wt"},
           "budget_neutral": {"children": ["kids"]}}
    with pytest.raises(ConfigError) as err:
        resolve_config(parse_config(raw), spec(), SPEC["columns"])
    text = str(err.value)
    assert "survey.weight: column 'wt'" in text
    assert "subgroups: column 'provnce'" in text and "did you mean prov" in text
    assert "budget_neutral.children: column 'kids'" in text


def test_spec_without_welfare_or_proxies_asks_for_them():
    raw_spec = {"name": "s", "columns": {"y": {"type": "continuous", "role": "other"},
                                         "x": {"type": "continuous", "role": "other"}}}
    cfg = parse_config({"data": {"path": "a.csv"}, "spec": "s.yaml",
                        "welfare": {"line": 1.0}})
    with pytest.raises(ConfigError) as err:
        resolve_config(cfg, pmt.DataSpec.from_dict(raw_spec), ["y", "x"])
    assert "welfare.column" in str(err.value) and "proxies" in str(err.value)


def test_used_columns_cover_design_welfare_proxies_and_subgroups():
    cfg = resolve_config(parse_config(MINIMAL), spec(), SPEC["columns"])
    assert used_columns(cfg) == ["w", "n", "zone", "ea", "pce", "tv", "rooms", "roof", "prov"]


def test_cli_config_errors_exit_2_without_traceback(tmp_path, capsys):
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump({**MINIMAL, "lines": [20, 40]}))
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err
    assert "lines" in err and "Traceback" not in err
    path.write_text("data: [unclosed\n")
    assert main(["fit", str(path)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["fit", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err


def test_output_folder_that_is_a_file_exits_2(tmp_path, capsys):
    blocker = tmp_path / "out"
    blocker.write_text("not a folder")
    code = main(["demo", "--households", "1000", "--out", str(blocker / "sub"), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err


def test_demo_config_still_parses_to_the_same_models():
    cfg = parse_config({"data": {"source": "synthetic"}})
    assert list(cfg.models) == list(DEMO_CONFIG["models"])
    assert cfg.lines == (0.2, 0.4)


def test_ctrl_c_exits_2_with_one_message(monkeypatch, capsys):
    from pmt import workflow

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workflow, "run_project", interrupted)
    assert main(["fit", "project.yaml"]) == 2
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_evaluation_benefit_is_a_positive_number_or_a_column():
    assert parse_config({**MINIMAL, "evaluation": {"benefit": 100}}).evaluation["benefit"] == 100
    assert "evaluation.benefit" in problems_of({**MINIMAL, "evaluation": {"benefit": -1}})
    cfg = parse_config({**MINIMAL, "evaluation": {"benefit": "amount"}})
    with pytest.raises(ConfigError) as err:
        resolve_config(cfg, spec(), SPEC["columns"])
    assert "evaluation.benefit: column 'amount'" in str(err.value)
