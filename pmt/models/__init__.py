"""Model estimators and their fitted results.

OLS, quantile regression, probit/logit, Heckman selection, machine-learning benchmarks, the
formula language, variable selection, regression tables and summaries.
"""
