"""Seeding the inventory with the network's stock, once per network revision.

Both the reservation activity (before its first reservation) and the HTTP edge's inventory view
(before it reads levels) need the network's stock in inventory, so it lives with the network data
rather than in either layer. It does no I/O of its own: the inventory and the effect ledger are
handed in (imported here for their types only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from idempotency import EffectLedger
    from integrations.inventory import InventoryStore
    from relief_routes.network import ReliefNetwork


def load_network_stock(
    network: ReliefNetwork, inventory: InventoryStore, ledger: EffectLedger
) -> dict[str, Any]:
    """Put the network's stock into inventory once per network revision (first request or first look).

    The ledger key names the network and its revision, so concurrent first requests load it once and
    the rest wait for that load; `set_stock` keeps existing reservations and deliveries.
    """

    def load() -> dict[str, Any]:
        count = 0
        for depot in network.depots:
            for sku, stock in sorted(depot.stock.items()):
                inventory.set_stock(depot.depot_id, sku, stock)
                count += 1
        return {"networkId": network.network_id, "revision": network.revision, "levels": count}

    return ledger.run_once(
        network.load_key, load, request={"networkId": network.network_id, "revision": network.revision}
    ).result
