"""`wx-member sandbox` and `wx-member simulate ...`: the sandbox and the simulator from a
shell, to try the app by hand without WeChat."""
from __future__ import annotations

import threading
from collections.abc import Callable

import click
import requests

from wx_member.sandbox.server import Sandbox
from wx_member.sandbox.simulator import SimResult, Simulator


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8800, show_default=True)
@click.option("--appid", envvar="WX_APPID", default="wxsandbox", show_default=True)
@click.option("--secret", envvar="WX_SECRET", default="s3cret", show_default=True)
def sandbox_command(host: str, port: int, appid: str, secret: str) -> None:
    """Run the WeChat sandbox in the foreground (Ctrl-C stops it)."""
    sandbox = Sandbox(appid=appid, secret=secret, host=host, port=port).start()
    click.echo(f"WeChat sandbox at {sandbox.url}  (set WX_API_BASE={sandbox.url})")
    click.echo(f"what was sent: {sandbox.url}_sandbox/sent")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


@click.group("simulate")
@click.option("--url", envvar="WX_MEMBER_WEBHOOK_URL", default="http://127.0.0.1:5000/wechat",
              show_default=True, help="the app's webhook")
@click.option("--token", envvar="WX_TOKEN", default="",
              help="the webhook token (required but for `pay`)")
@click.option("--appid", envvar="WX_APPID", default="wxsandbox", show_default=True)
@click.option("--aes-key", envvar="WX_ENCODING_AES_KEY", default="",
              help="EncodingAESKey: safe mode (AES); empty: plain mode")
@click.pass_context
def simulate_group(ctx: click.Context, url: str, token: str, appid: str, aes_key: str) -> None:
    """Send the app's webhook an event as WeChat would; or pay a WeChat Pay order."""
    if not token and ctx.invoked_subcommand != "pay":
        raise click.UsageError("Missing option '--token' (or WX_TOKEN).")
    ctx.obj = Simulator(url, token=token, appid=appid, encoding_aes_key=aes_key or None)


def _send(call: Callable[[], SimResult]) -> None:
    """Print the status and the reply's text; exit 1 when the webhook refused."""
    try:
        result = call()
    except requests.RequestException as exc:
        raise click.ClickException(f"webhook unreachable: {exc}") from exc
    click.echo(f"HTTP {result.status}")
    content = (result.reply or {}).get("Content")
    click.echo(content if content is not None else result.body)
    if result.status >= 400:
        raise SystemExit(1)


@simulate_group.command("subscribe")
@click.argument("openid")
@click.option("--scene", default=None, help="follow by scanning this QR scene")
@click.pass_obj
def simulate_subscribe(sim: Simulator, openid: str, scene: str | None) -> None:
    """OPENID follows the account."""
    _send(lambda: sim.subscribe(openid, scene=scene))


@simulate_group.command("scan")
@click.argument("openid")
@click.argument("scene")
@click.pass_obj
def simulate_scan(sim: Simulator, openid: str, scene: str) -> None:
    """OPENID, already a follower, scans the QR code of SCENE."""
    _send(lambda: sim.scan(openid, scene))


@simulate_group.command("unsubscribe")
@click.argument("openid")
@click.pass_obj
def simulate_unsubscribe(sim: Simulator, openid: str) -> None:
    """OPENID unfollows the account."""
    _send(lambda: sim.unsubscribe(openid))


@simulate_group.command("click")
@click.argument("openid")
@click.argument("key")
@click.pass_obj
def simulate_click(sim: Simulator, openid: str, key: str) -> None:
    """OPENID taps the menu button KEY."""
    _send(lambda: sim.click(openid, key))


@simulate_group.command("text")
@click.argument("openid")
@click.argument("content")
@click.pass_obj
def simulate_text(sim: Simulator, openid: str, content: str) -> None:
    """OPENID writes CONTENT to the account."""
    _send(lambda: sim.text(openid, content))


@simulate_group.command("pay")
@click.argument("out_trade_no")
@click.option("--sandbox", "sandbox_url", envvar="WXPAY_API_BASE",
              default="http://127.0.0.1:8800/", show_default=True,
              help="the sandbox standing in for WeChat Pay")
@click.option("--fail", is_flag=True, help="the payment fails (no notify)")
@click.option("--no-notify", is_flag=True, help="paid, but WeChat Pay's notify is lost")
def simulate_pay(out_trade_no: str, sandbox_url: str, fail: bool, no_notify: bool) -> None:
    """The member pays WeChat Pay order OUT_TRADE_NO in the sandbox; WeChat Pay notifies
    the app (the order's notify_url) unless --fail or --no-notify."""
    from wx_member.sandbox.client import SandboxClient, SandboxError

    try:
        done = SandboxClient(sandbox_url).pay(out_trade_no, fail=fail, notify=not no_notify)
    except (SandboxError, requests.RequestException) as exc:
        raise click.ClickException(str(exc)) from exc
    answer = done.get("answer")
    if fail:
        click.echo(f"{out_trade_no}: payment failed")
    elif answer is None:
        click.echo(f"{out_trade_no}: paid; notify withheld")
    else:
        click.echo(f"{out_trade_no}: paid; notify answered HTTP {answer['status']}")
        if answer["status"] >= 400:
            raise SystemExit(1)
