"""`wx-member stores …`: the chain's stores, their tills' keys, which store a channel code
stands in and a member's home store. Each command parses its input, calls one use case and
prints the result (`--json` for machines)."""
from __future__ import annotations

from datetime import datetime

import click

from wx_member.cli.common import echo, fail, run, runtime


@click.group("stores")
def stores_group() -> None:
    """Stores (门店) of the chain and their till keys."""


def _local(rt, at: datetime | None) -> str:
    from wx_member.clock import to_local

    return to_local(at, rt.config.tz).strftime("%Y-%m-%d %H:%M") if at else "-"


@stores_group.command("create")
@click.argument("code")
@click.argument("name")
@click.option("--city", default="")
@click.option("--address", default="")
def stores_create(code: str, name: str, city: str, address: str) -> None:
    """Open a store CODE (e.g. SH001) called NAME."""
    from wx_member.members import stores

    with runtime().sessions() as uow:
        s = run(lambda: stores.create(uow, code, name, city, address))
    click.echo(f"created store {s.code} {s.name}")


@stores_group.command("edit")
@click.argument("code")
@click.option("--name")
@click.option("--city")
@click.option("--address")
@click.option("--reopen", is_flag=True, help="open a closed store again")
def stores_edit(code: str, name: str | None, city: str | None, address: str | None,
                reopen: bool) -> None:
    """Change store CODE's name, city or address (options left out stay)."""
    from wx_member.members import stores

    with runtime().sessions() as uow:
        s = run(lambda: stores.edit(uow, code, name=name, city=city, address=address,
                                    status="open" if reopen else None))
    click.echo(f"{s.code}: {s.name}, {s.city or '-'}, {s.address or '-'}, {s.status}")


@stores_group.command("close")
@click.argument("code")
def stores_close(code: str) -> None:
    """Close store CODE: its tills' keys are refused from now on."""
    from wx_member.members import stores

    with runtime().sessions() as uow:
        s = run(lambda: stores.close(uow, code))
    click.echo(f"closed store {s.code}")


@stores_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def stores_list(as_json: bool) -> None:
    """Every store, with its members (home store) and channel codes."""
    from wx_member.members import stores

    with runtime().sessions() as uow:
        rows = stores.all_stores(uow)
    lines = [f"{'code':<12} {'status':<7} {'members':>7} {'codes':>5}  name, city"]
    lines += [f"{r.code:<12} {r.status:<7} {r.members:>7} {r.channels:>5}  {r.name}, {r.city}"
              for r in rows]
    echo([r.__dict__ for r in rows], as_json, "\n".join(lines))


@stores_group.command("channel")
@click.argument("scene")
@click.argument("code", required=False)
def stores_channel(scene: str, code: str | None) -> None:
    """Put channel code SCENE in store CODE (without CODE: in none). Joins through it from
    now on get that home store."""
    from wx_member.members import stores

    with runtime().sessions() as uow:
        run(lambda: stores.assign_channel(uow, scene, code))
    click.echo(f"{scene}: store {code or '-'}")


@stores_group.command("home")
@click.argument("member")
@click.argument("code", required=False)
def stores_home(member: str, code: str | None) -> None:
    """Move MEMBER (openid or card) to home store CODE (without CODE: none), audited."""
    from wx_member.members import lookup_view, stores

    with runtime().sessions() as uow:
        found = lookup_view.find(uow, member)
        if found is None:
            fail(f"no member {member}")
        m = run(lambda: stores.set_home_store(uow, found.id, code, by="cli"))
    click.echo(f"{m.card_no}: home store {code or '-'}")


@stores_group.group("key")
def key_group() -> None:
    """Till keys: one per till, shown once, stored hashed, revocable."""


@key_group.command("issue")
@click.argument("code")
@click.option("--label", default="", help="which till, e.g. 1号收银台")
def key_issue(code: str, label: str) -> None:
    """A new key for a till of store CODE. The key is printed once: put it in the till."""
    from wx_member.payments import till_keys

    with runtime().sessions() as uow:
        k = run(lambda: till_keys.issue(uow, code, label))
    click.echo(f"till key {k.id} for store {k.store_code} (shown once, keep it in the till):")
    click.echo(k.key)


@key_group.command("revoke")
@click.argument("key_id", type=int)
def key_revoke(key_id: int) -> None:
    """Refuse till key KEY_ID (see `stores key list`) from now on."""
    from wx_member.payments import till_keys

    with runtime().sessions() as uow:
        k = run(lambda: till_keys.revoke(uow, key_id))
    click.echo(f"revoked till key {k.id} ({k.prefix}…) of store {k.store_code}")


@key_group.command("list")
@click.argument("code", required=False)
@click.option("--json", "as_json", is_flag=True)
def key_list(code: str | None, as_json: bool) -> None:
    """Till keys of store CODE (or of every store), with their last use (local time)."""
    from wx_member.payments import till_keys

    rt = runtime()
    with rt.sessions() as uow:
        rows = run(lambda: till_keys.keys(uow, code))
    data = [{"id": r.id, "store": r.store_code, "label": r.label, "prefix": r.prefix,
             "created_at": _local(rt, r.created_at), "revoked_at": _local(rt, r.revoked_at),
             "last_used_at": _local(rt, r.last_used_at)} for r in rows]
    lines = [f"{'id':>4} {'store':<10} {'key':<14} {'last used':<16} {'revoked':<16} label"]
    lines += [f"{d['id']:>4} {d['store']:<10} {d['prefix'] + '…':<14} {d['last_used_at']:<16} "
              f"{d['revoked_at']:<16} {d['label']}" for d in data]
    echo(data, as_json, "\n".join(lines))
