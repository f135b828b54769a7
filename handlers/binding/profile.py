"""我的信息: who the registry says this account is, with the phone masked."""

from __future__ import annotations

from bot.context import Context
from bot.directory import PersonInfo
from bot.message import InboundMessage, Reply
from bot.router import Command, Router
from storage.models import Level, Role

router = Router(name="binding.profile")


@router.message(
    Command("我的信息", "我的资料", "my info"),
    roles={Role.VILLAGER},
    menu="menu.profile",
    menu_order=20,
)
async def profile(msg: InboundMessage, ctx: Context) -> Reply:
    assert ctx.person is not None
    person = ctx.person
    lines = [ctx.t("profile.name", name=person.name)]
    if person.phone_masked:
        lines.append(ctx.t("profile.phone", phone=person.phone_masked))
    place = await _place(ctx, person)
    if place:
        lines.append(ctx.t("profile.place", place=place))
    for assignment in ctx.assignments:
        unit = await ctx.store.org.get(assignment.org_unit_id)
        lines.append(
            ctx.t(
                "profile.role",
                role=ctx.t(f"role.{assignment.role}"),
                unit=unit.name if unit else "",
            )
        )
    if person.is_elder:
        lines.append(ctx.t("profile.elder"))
    return Reply.of_text("\n".join(lines))


async def _place(ctx: Context, person: PersonInfo) -> str:
    """Township · village · grid, from the most specific unit the person belongs to."""
    unit_id = person.grid_id or person.village_id
    if unit_id is None:
        return ""
    chain = await ctx.store.org.lineage(unit_id)
    shown = [u.name for u in reversed(chain) if u.level is not Level.COUNTY]
    return " · ".join(shown)
