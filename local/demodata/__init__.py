"""Demo product catalogs per country (stdlib only: runs in both .venv and .venv-ml).

Function API: :func:`generate_month`, :func:`generate_scenario`, :func:`iter_products`,
:func:`code_table`, :func:`code_table_version`, :func:`data_prefix`; a country's further schemes
(DE batteries) through ``scheme=``, named by model key (``de-batteries``) in :func:`model_keys`
and :func:`split_model_key`. CLI: ``python -m local.demodata --help``.
"""

from local.demodata.catalog import COUNTRIES
from local.demodata.generator import (
    DEFAULT_REGULATION_CHANGE,
    MonthSummary,
    code_table,
    code_table_version,
    data_prefix,
    generate_month,
    generate_scenario,
    iter_products,
    model_keys,
    split_model_key,
)

__all__ = [
    "COUNTRIES",
    "DEFAULT_REGULATION_CHANGE",
    "MonthSummary",
    "code_table",
    "code_table_version",
    "data_prefix",
    "generate_month",
    "generate_scenario",
    "iter_products",
    "model_keys",
    "split_model_key",
]
