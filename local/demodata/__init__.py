"""Demo product catalogs per country (stdlib only: runs in both .venv and .venv-ml).

Function API: :func:`generate_month`, :func:`generate_scenario`, :func:`iter_products`,
:func:`code_table`, :func:`code_table_version`, :func:`data_prefix`; each code table's golden
set (fixed, correctly labeled, every code represented) through :func:`generate_golden` and
:func:`iter_golden`, written by :func:`generate_month` too; a country's further schemes
(DE batteries) through ``scheme=``, named by model key (``de-batteries``) in :func:`model_keys`
and :func:`split_model_key`. CLI: ``python -m local.demodata --help``.
"""

from local.demodata.catalog import COUNTRIES
from local.demodata.generator import (
    DEFAULT_REGULATION_CHANGE,
    GoldenSummary,
    MonthSummary,
    code_table,
    code_table_version,
    data_prefix,
    generate_golden,
    generate_month,
    generate_scenario,
    golden_prefix,
    iter_golden,
    iter_products,
    model_keys,
    split_model_key,
)

__all__ = [
    "COUNTRIES",
    "DEFAULT_REGULATION_CHANGE",
    "GoldenSummary",
    "MonthSummary",
    "code_table",
    "code_table_version",
    "data_prefix",
    "generate_golden",
    "generate_month",
    "generate_scenario",
    "golden_prefix",
    "iter_golden",
    "iter_products",
    "model_keys",
    "split_model_key",
]
