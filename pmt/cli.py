"""The ``pmt`` command line.

Subcommands: demo, validate, fit, compare, report, scorecard, score, drift, explain,
export, simulate, draft-spec. User errors (any :class:`pmt.PMTError`) print one clear
message on stderr and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pmt.errors import ConfigError, PMTError

if TYPE_CHECKING:
    import pandas as pd

Say = Callable[..., None]

EXIT_USER_ERROR = 2


def _add_quiet(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors and final paths")


def _add_read_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sheet", default=None, help="Excel sheet name (default: the first sheet)")
    p.add_argument("--sep", default=None, help="CSV field separator (default: detected)")
    p.add_argument("--decimal", default=None, help="CSV decimal mark (default: detected)")
    p.add_argument("--encoding", default=None, help="text encoding (default: UTF-8, else "
                   "detected)")


def _read_options(args: argparse.Namespace) -> dict:
    return {k: getattr(args, k) for k in ("sheet", "sep", "decimal", "encoding")
            if getattr(args, k, None) is not None}


def build_parser() -> argparse.ArgumentParser:
    """Build the ``pmt`` command-line parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="pmt",
        description="Proxy and hybrid means tests: fit, evaluate, score and simulate.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="run the whole workflow on the embedded synthetic survey")
    p.add_argument("--out", default="out", help="output folder (default: out/)")
    p.add_argument("--households", type=int, default=20_000, help="survey size (default 20000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--models-dir", default=None,
                   help="also copy the fitted artifacts here (e.g. models/)")
    p.add_argument("--pdf", action=argparse.BooleanOptionalAction, default=None,
                   help="print report.pdf with headless Chromium (default: when installed)")
    _add_quiet(p)

    p = sub.add_parser("validate", help="validate a data file against a data spec")
    p.add_argument("data", help="CSV, Stata .dta, SPSS .sav, Parquet or Excel file")
    p.add_argument("--spec", required=True, help="data spec YAML (see data_spec/)")
    _add_read_options(p)
    _add_quiet(p)

    for name, helptext in (
        ("fit", "fit the models of a project config and save their artifacts"),
        ("compare", "compare the models of a project config out of sample"),
        ("report", "fit, compare, simulate and write the HTML/XLSX report of a project config"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("config", help="project config YAML (format: data_spec/project.md)")
        p.add_argument("--out", default=None, help="output folder (overrides the config)")
        p.add_argument("--pdf", action="store_true",
                       help="also print report.pdf with headless Chromium")
        _add_quiet(p)

    p = sub.add_parser("scorecard", help="turn a saved model into a scorecard and field form")
    p.add_argument("model", help="model artifact JSON")
    p.add_argument("--data", default=None,
                   help="survey data to band continuous proxies at weighted quantiles")
    p.add_argument("--spec", default=None, help="data spec YAML for question texts and labels")
    p.add_argument("--max-points", type=int, default=100)
    p.add_argument("--threshold", type=float, default=None,
                   help="model threshold on the model scale (e.g. log poverty line)")
    p.add_argument("--out", default="scorecard", help="output folder")
    _add_quiet(p)

    p = sub.add_parser("score", help="score a registry file with a model or scorecard")
    p.add_argument("model", help="model artifact or scorecard JSON")
    p.add_argument("registry", help="registry: .csv, .parquet, .dta, .sav or .xlsx")
    p.add_argument("--out", required=True, help="scores file (.parquet, .csv or .dta)")
    p.add_argument("--rejects", default=None, help="rejects file (default: next to --out)")
    p.add_argument("--spec", default=None,
                   help="registry data spec YAML (checks fields; its role: id column is the id)")
    p.add_argument("--id", default=None, metavar="COL",
                   help="record id column (default: the spec's, else id, hh_id, household_id, "
                        "record_id or applicant_id)")
    p.add_argument("--keep", nargs="+", action="extend", default=None, metavar="COL",
                   help="more registry columns to copy to the scores and rejects")
    p.add_argument("--threshold", type=float, default=None,
                   help="models: eligibility threshold on the model scale (default: the "
                        "artifact's poverty line); a probability for probit/logit")
    p.add_argument("--training-range", choices=["flag", "reject", "ignore"], default="flag",
                   help="proxy values outside the training range: flag them (default), "
                        "reject the record, or ignore")
    p.add_argument("--chunksize", type=int, default=500_000)
    p.add_argument("--engine", choices=["pandas", "dask"], default="pandas")
    _add_quiet(p)

    p = sub.add_parser("drift", help="compare a registry (or a later survey round) with the "
                       "survey a model was fitted on: proxies, score and coverage")
    p.add_argument("model", help="model artifact or scorecard JSON")
    p.add_argument("registry", help="registry: .csv, .parquet, .dta, .sav or .xlsx")
    p.add_argument("--survey", required=True, help="the survey the model was fitted on")
    p.add_argument("--out", required=True, help="output folder for drift.html and drift.xlsx")
    p.add_argument("--spec", default=None,
                   help="registry data spec YAML (its role: id column, codes and ranges)")
    p.add_argument("--survey-spec", default=None,
                   help="the survey's data spec YAML (read through it; default: value-"
                        "labelled columns keep their codes)")
    p.add_argument("--weights", default=None, metavar="COL",
                   help="survey household weight column (default: equal weights)")
    p.add_argument("--registry-weights", default=None, metavar="COL",
                   help="registry weight column (e.g. a second survey round's weights)")
    p.add_argument("--region", default=None, metavar="COL", help="coverage by this column")
    p.add_argument("--cutoff", type=float, default=None,
                   help="cut-off: points for a scorecard, the model scale for a model "
                        "(default: the saved one)")
    p.add_argument("--bins", type=int, default=10, help="quantile bins (default 10)")
    p.add_argument("--chunksize", type=int, default=500_000)
    p.add_argument("--engine", choices=["pandas", "dask"], default="pandas")
    _add_quiet(p)

    p = sub.add_parser("draft-spec", help="draft a data spec (YAML) from a data file")
    p.add_argument("data", help="Stata .dta, SPSS .sav, CSV, Parquet or Excel file")
    p.add_argument("--out", default=None, help="write the YAML here (default: print it)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--name", default=None, help="the spec's name (default: the file name)")
    p.add_argument("--sheet", default=None, help="Excel sheet name")
    _add_quiet(p)

    p = sub.add_parser("simulate", help="simulate a policy file (format: data_spec/policy.md)")
    p.add_argument("policy", help="policy YAML")
    p.add_argument("--out", default=None, help="write the result tables to this .xlsx")
    _add_quiet(p)

    p = sub.add_parser("explain", help="explain one household's score and what would flip it")
    p.add_argument("model", help="model artifact or scorecard JSON")
    p.add_argument("--record", required=True,
                   help="registry file (with --id), or the household typed as "
                        "field=value,field=value")
    p.add_argument("--id", default=None, help="the household's id in the registry's id column")
    p.add_argument("--spec", default=None,
                   help="registry data spec YAML (id column, labels, valid ranges)")
    p.add_argument("--threshold", type=float, default=None,
                   help="models: eligibility threshold on the model scale (default: saved)")
    p.add_argument("--json", action="store_true", help="print the structured result as JSON")
    _add_quiet(p)

    p = sub.add_parser("export", help="export a scorecard for a social-registry system")
    p.add_argument("scorecard", help="scorecard JSON")
    p.add_argument("--format", choices=["openspp", "openg2p", "csv", "xlsx"], default="openspp")
    p.add_argument("--out", required=True, help="file to write (.json, .csv or .xlsx)")
    p.add_argument("--effective-from", default=None, metavar="YYYY-MM-DD")
    p.add_argument("--effective-to", default=None, metavar="YYYY-MM-DD")
    p.add_argument("--version-label", default=None, dest="doc_version",
                   help="the exported document's version (default 1)")
    p.add_argument("--spec", default=None, help="registry data spec YAML (indicator labels)")
    _add_quiet(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pmt`` script; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from pmt import __version__

        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return EXIT_USER_ERROR
    from pmt.progress import enabled

    quiet = getattr(args, "quiet", False)
    try:
        with warnings.catch_warnings(), enabled(not quiet):
            if quiet:
                warnings.simplefilter("ignore")
            return _dispatch(args)
    except PMTError as exc:
        print(f"pmt {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"pmt {args.command}: interrupted; outputs of this run were not written (earlier "
              "outputs are unchanged).", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # missing files, permissions, full disks: the user's to fix
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(f"pmt {args.command}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_USER_ERROR


# --------------------------------------------------------------------------------------
# command bodies (the project commands demo/fit/compare/report run pmt.workflow)
# --------------------------------------------------------------------------------------
def validate_file(data: str | Path, spec: str | Path, say: Say = print, **read_options
                  ) -> pd.DataFrame:
    """Validate a data file against a spec (read through the spec: value-labelled columns
    keep their codes); print a one-line summary.
    """
    from pmt.io import read_with_spec
    from pmt.spec import DataSpec

    sp = DataSpec.load(spec)
    validated, _ = read_with_spec(data, sp, **read_options)
    say(f"{data}: {len(validated):,} rows and {validated.shape[1]} columns match spec '{sp.name}'.")
    return validated


def make_scorecard(model: str | Path, data=None, spec=None, max_points: int = 100,
                   threshold: float | None = None, out: Path = Path("scorecard"),
                   say: Say = print) -> dict[str, Path]:
    """Build a scorecard from a saved model; write JSON, HTML and Markdown forms.

    ``data`` (read through ``spec`` when both are given) bands continuous proxies at
    weighted quantiles; the spec gives question texts and labels.
    """
    import numpy as np

    from pmt.artifacts import load_model
    from pmt.io import read_data, read_with_spec
    from pmt.scorecard import Scorecard
    from pmt.spec import DataSpec
    from pmt.workflow import _quiet_extra_columns_warning, check_out_dir

    if threshold is not None and not np.isfinite(threshold):
        raise ConfigError(f"--threshold must be a finite number; got {threshold}.")
    out = check_out_dir(Path(out))
    m = load_model(model)
    sp = DataSpec.load(spec) if spec else None
    df = None
    if data:
        if sp is not None:
            with warnings.catch_warnings():
                _quiet_extra_columns_warning()
                df, sp = read_with_spec(data, sp)
        else:
            df = read_data(data)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="banding and rounding change",
                                category=UserWarning)  # printed below
        sc = Scorecard.from_model(m, data=df, threshold=threshold, max_points=max_points,
                                  spec=sp)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"scorecard": sc.to_json(out / "scorecard.json"), **sc.write_forms(out, spec=sp)}
    if sc.rounding_warning:
        say(f"warning: {sc.rounding_warning}")
    for key, path in paths.items():
        say(f"  {key:<12} {path}")
    return paths


def score_registry(model, registry, output, rejects=None, spec=None, chunksize: int = 500_000,
                   engine: Literal["pandas", "dask"] = "pandas", say: Say = print, **options):
    """Score a registry file; print rows in = scored + rejected.

    ``model`` is the path of a model artifact or a scorecard: :func:`pmt.score_file` tells
    them apart and loads either with its size and schema checks. ``options`` are passed to
    :func:`pmt.score_file` (``keep``, ``id``, ``threshold``).
    """
    from pmt.registry_scoring import score_file
    from pmt.spec import DataSpec

    sp = DataSpec.load(spec) if spec else None
    summary = score_file(model, registry, output, rejects_path=rejects, chunksize=chunksize,
                         engine=engine, spec=sp, **options)
    say(str(summary))
    return summary


def drift_report(model, registry, survey, out: str | Path, spec=None, weights=None,
                 region=None, cutoff: float | None = None, survey_spec=None,
                 say: Say = print, **options):
    """Compare a registry with the survey (:func:`pmt.registry.drift.drift`); write
    ``out/drift.html`` and ``out/drift.xlsx`` and print the flagged proxies.

    ``survey`` is read through ``survey_spec`` when given, else with
    :func:`pmt.io.read_data` keeping the codes of value-labelled (Stata/SPSS) columns, the
    values models are fitted on; ``options`` go to ``drift`` (``registry_weights``,
    ``bins``, ``chunksize``, ``engine``).
    """
    import math

    from pmt.errors import DataError
    from pmt.io import read_data, read_with_spec
    from pmt.registry.drift import drift
    from pmt.spec import DataSpec
    from pmt.workflow import check_out_dir

    if cutoff is not None and not math.isfinite(cutoff):
        raise DataError(f"--cutoff must be a finite number; got {cutoff}.")
    out_dir = check_out_dir(Path(out))
    sp = DataSpec.load(spec) if spec else None
    if survey_spec:
        from pmt.workflow import _quiet_extra_columns_warning

        with warnings.catch_warnings():
            _quiet_extra_columns_warning()
            survey_data, _ = read_with_spec(survey, DataSpec.load(survey_spec))
    else:
        survey_data = read_data(survey, value_labels="codes")
    report = drift(model, registry, survey_data, weights=weights, spec=sp, region=region,
                   cutoff=cutoff, **options)
    if weights is None:
        say("note: survey shares are unweighted (pass --weights COL for the survey weights).")
    say(report.summary())
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"html": report.to_html(out_dir / "drift.html"),
             "xlsx": report.to_xlsx(out_dir / "drift.xlsx")}
    for key, path in paths.items():
        say(f"  {key:<5} {path}")
    return report


def simulate_policy_file(policy: str | Path, out: str | Path | None = None, say: Say = print):
    """Run a policy file (data_spec/policy.md); print its summary; optionally write XLSX."""
    import pandas as pd

    from pmt.report import write_xlsx
    from pmt.simulate import run_policy_file

    result = run_policy_file(policy)
    say(result.summary())
    if out:
        path = write_xlsx({k: v if isinstance(v, pd.DataFrame) else pd.DataFrame(v)
                           for k, v in result.tables.items()}, out)
        say(f"  tables {path}")
    return result


def explain_household(model, record: str, id: str | None = None, spec=None,
                      threshold: float | None = None, as_json: bool = False,
                      say: Say = print):
    """Explain one household: ``record`` is a registry file (with ``id``) or
    ``field=value,...``; print :meth:`pmt.registry.explain.Explanation.text` or its JSON.
    """
    import json
    import math

    from pmt.errors import DataError
    from pmt.registry.explain import explain, parse_record_text, read_record
    from pmt.spec import DataSpec

    if threshold is not None and not math.isfinite(threshold):
        raise DataError(f"--threshold must be a finite number; got {threshold}.")
    sp = DataSpec.load(spec) if spec else None
    try:
        is_file = Path(record).is_file()
    except OSError:  # e.g. a long field=value list is no valid file name
        is_file = False
    if is_file:
        if id is None:
            raise DataError(f"--record {record!r} is a file: name the household with --id.")
        rec: Any = read_record(record, id, spec=sp)
    elif "=" in record:
        rec = parse_record_text(record)
    else:
        raise DataError(
            f"--record {record!r} is neither an existing registry file nor field=value pairs."
        )
    result = explain(model, rec, spec=sp, threshold=threshold)
    say(json.dumps(result.to_dict(), indent=2, default=str) if as_json else result.text())
    return result


def export_registry_scorecard(scorecard, out, format: str = "openspp", effective_from=None,
                              effective_to=None, version=None, spec=None, say: Say = print):
    """Write a scorecard for a registry system (:func:`pmt.registry.exports.export_scorecard`)."""
    from pmt.registry.exports import export_scorecard
    from pmt.spec import DataSpec

    sp = DataSpec.load(spec) if spec else None
    path = export_scorecard(scorecard, format=format, path=out,  # type: ignore[arg-type]
                            effective_from=effective_from, effective_to=effective_to,
                            version=version, spec=sp)
    say(f"  {format:<8} {path}")
    return path


def _dispatch(args: argparse.Namespace) -> int:
    from pmt import workflow

    say = (lambda *a, **k: None) if args.quiet else print
    if args.command == "demo":
        workflow.run_demo(Path(args.out), n_households=args.households, seed=args.seed,
                          models_dir=args.models_dir, say=say, pdf=args.pdf)
    elif args.command == "validate":
        validate_file(args.data, args.spec, say=print, **_read_options(args))
    elif args.command in ("fit", "compare", "report"):
        workflow.run_project(args.config, step=args.command, out=args.out, say=say,
                             pdf=args.pdf)
    elif args.command == "scorecard":
        make_scorecard(args.model, data=args.data, spec=args.spec,
                                max_points=args.max_points, threshold=args.threshold,
                                out=Path(args.out), say=say)
    elif args.command == "score":
        import math

        from pmt.errors import DataError

        if args.threshold is not None and not math.isfinite(args.threshold):
            raise DataError(
                f"--threshold must be a finite number on the model's scale (e.g. the log "
                f"poverty line), or a probability for probit/logit; got {args.threshold}."
            )
        score_registry(args.model, args.registry, args.out, rejects=args.rejects,
                                spec=args.spec, chunksize=args.chunksize, engine=args.engine,
                                id=args.id, keep=args.keep, threshold=args.threshold,
                                training_range=args.training_range, say=say)
    elif args.command == "drift":
        drift_report(args.model, args.registry, args.survey, args.out, spec=args.spec,
                     weights=args.weights, region=args.region, cutoff=args.cutoff,
                     survey_spec=args.survey_spec, registry_weights=args.registry_weights,
                     bins=args.bins,
                     chunksize=args.chunksize, engine=args.engine, say=say)
    elif args.command == "simulate":
        simulate_policy_file(args.policy, out=args.out, say=say)
    elif args.command == "explain":
        explain_household(args.model, args.record, id=args.id, spec=args.spec,
                          threshold=args.threshold, as_json=args.json, say=print)
    elif args.command == "export":
        export_registry_scorecard(args.scorecard, args.out, format=args.format,
                                  effective_from=args.effective_from,
                                  effective_to=args.effective_to, version=args.doc_version,
                                  spec=args.spec, say=say)
    elif args.command == "draft-spec":
        from pmt.draft import write_draft

        write_draft(args.data, out=args.out, force=args.force, name=args.name,
                    sheet=args.sheet, say=say)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
