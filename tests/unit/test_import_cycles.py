"""No import cycles in local/ or plugins/, and the local SageMaker backend's layers import only
downwards: responses (protocol) → backend → resources (state) → runners (execution)."""

from pathlib import Path

import pytest

from tests.support.import_graph import (
    cycles,
    describe_cycle,
    import_graph,
    imported_modules,
    module_files,
    package_names,
)

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
SAGEMAKER = "local.stack.services.sagemaker"
# Each layer of the SageMaker backend, and the layers above it that it must not import.
LAYERS_ABOVE = {
    f"{SAGEMAKER}.runners": (
        f"{SAGEMAKER}.resources",
        f"{SAGEMAKER}.backend",
        f"{SAGEMAKER}.responses",
    ),
    f"{SAGEMAKER}.resources": (f"{SAGEMAKER}.backend", f"{SAGEMAKER}.responses"),
    f"{SAGEMAKER}.backend": (f"{SAGEMAKER}.responses",),
    f"{SAGEMAKER}.execution": (
        f"{SAGEMAKER}.runners",
        f"{SAGEMAKER}.resources",
        f"{SAGEMAKER}.backend",
    ),
}

PACKAGES = [pytest.param(REPO, "local", id="local")] + [
    pytest.param(PLUGINS, name, id=f"plugins/{name}") for name in package_names(PLUGINS)
]


def _graph(search_root: Path, package: str):
    return import_graph(module_files(search_root, package))


@pytest.mark.parametrize(("search_root", "package"), PACKAGES)
def test_the_package_has_no_import_cycle(search_root, package):
    graph = _graph(search_root, package)
    assert len(graph) > 1, f"no modules found for {package} under {search_root}"
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe_cycle(graph, c) for c in found)


@pytest.mark.parametrize("layer", sorted(LAYERS_ABOVE))
def test_a_sagemaker_backend_layer_imports_nothing_above_it(layer):
    graph = _graph(REPO, "local")
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module == layer or module.startswith(layer + ".")
        for target in targets
        if any(target == above or target.startswith(above + ".") for above in LAYERS_ABOVE[layer])
    )
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_the_local_stack_imports_nothing_of_the_product():
    product = tuple(package_names(PLUGINS))
    outside_the_stack = sorted(
        f"{module} -> {imported}"
        for module, path in module_files(REPO, "local").items()
        if module.startswith("local.stack")
        for imported in imported_modules(module, path)
        if imported.split(".")[0] in product
        or (imported.startswith("local.") and not imported.startswith("local.stack"))
    )
    assert not outside_the_stack, "\n".join(outside_the_stack)


def test_the_cycle_finder_reports_a_cycle_it_is_given():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert describe_cycle(graph, ["a", "b", "c"]) == "a -> b -> c -> a"
