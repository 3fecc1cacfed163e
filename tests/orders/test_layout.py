"""The orders app's subpackages import downwards only: checkout may use payments and
escrow, payments may use escrow, escrow neither (docs/decisions.md, issue 19)."""

import grimp

LAYERS = ["orders.checkout", "orders.payments", "orders.escrow"]


def test_the_orders_subpackages_are_layered_and_free_of_import_cycles():
    graph = grimp.build_graph("orders")
    assert graph.find_illegal_dependencies_for_layers(layers=LAYERS) == set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            assert not graph.chain_exists(importer=imported, imported=module), (
                f"{module} and {imported} import each other"
            )
