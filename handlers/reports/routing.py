"""Who handles a report: the village cadre whose categories cover it; otherwise the grid
worker of the reporter's grid; otherwise the village secretary. A category handled by a
township role (农技问诊: the agricultural technician) goes to that role at the township."""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import Role
from storage.repos import Store


@dataclass(frozen=True, slots=True)
class Route:
    unit_id: int  # the tier that holds the report (the village, or the township)
    assignee_id: int | None
    role: Role | None  # the assignee's role, as the villager is told it


async def route(
    store: Store, village_id: int, grid_id: int | None, category: str, handled_by: str
) -> Route:
    if handled_by:
        village = await store.org.get(village_id)
        township = village.parent_id if village is not None else None
        if township is not None:
            role = Role(handled_by)
            for a in await store.reports.assigned_at(township):
                if a.role is role:
                    return Route(township, a.person_id, role)
    at_village = await store.reports.assigned_at(village_id)
    for a in at_village:
        if a.role is Role.VILLAGE_CADRE and category in (a.categories or ()):
            return Route(village_id, a.person_id, Role.VILLAGE_CADRE)
    if grid_id is not None:
        for a in await store.reports.assigned_at(grid_id):
            if a.role is Role.GRID_WORKER:
                return Route(village_id, a.person_id, Role.GRID_WORKER)
    for a in at_village:
        if a.role is Role.VILLAGE_SECRETARY:
            return Route(village_id, a.person_id, Role.VILLAGE_SECRETARY)
    return Route(village_id, None, None)
