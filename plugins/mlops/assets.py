"""The asset class of every asset the DAGs schedule on or emit (its own module: dag_factory and
events both build assets, and events is imported by dag_factory's imports)."""

from __future__ import annotations

from airflow.sdk import Asset


class ProductAsset(Asset):
    """An ``Asset`` that hashes by its name and URI: every asset the DAGs schedule on or emit.

    Airflow hashes a DAG, its schedule included, for every dependency a task sets (each XCom
    argument is one), and ``Asset``'s own hash serializes the whole asset to JSON (watchers
    included) each time: a sixth of the product's parse time. Equal assets have equal names and
    URIs, so this hash agrees with ``Asset``'s equality; Airflow serializes it as an ``Asset``.
    """

    def __hash__(self) -> int:
        return hash((self.name, self.uri))
