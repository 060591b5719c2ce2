"""`wx-member serve`: the main job, web server and scheduler in one process; with --demo also
the WeChat sandbox, a fresh SQLite file and demo members. `wx-member scheduler`: the
scheduler alone (production: beside gunicorn, see docs/deploy.md)."""
from __future__ import annotations

import os
import secrets
import string
import threading
from pathlib import Path

import click
from werkzeug.serving import make_server

from wx_member.cli.common import config as config_from_env
from wx_member.cli.common import runtime
from wx_member.config import Config, instance_dir


DEMO_PUSH_KINDS = ("birthday", "points_expiry", "order_shipped", "order_guide",
                   "care_followup", "care_repurchase", "winback", "holiday")


def _demo_config(base: Config, db_path: Path) -> Config:
    """Fresh credentials every run: the demo never needs, or leaks, a real secret."""
    letters = string.ascii_letters + string.digits
    return base.with_(
        appid="wxdemo" + secrets.token_hex(5), secret=secrets.token_hex(16),
        token=secrets.token_hex(8),
        encoding_aes_key="".join(secrets.choice(letters) for _ in range(43)),
        database_url=f"sqlite:///{db_path}",
        # The console's session key, and cookies over plain HTTP on loopback.
        secret_key=secrets.token_hex(32), cookie_secure=False,
        # WeChat Pay (v2 notifies), the shop system, the cashier and the mini-program: every
        # surface works in the demo, each with a fresh secret.
        mch_id="1900000109", pay_api_key=secrets.token_hex(16),
        shop_api_key=secrets.token_hex(16), cashier_api_key=secrets.token_hex(16),
        mini_appid="wxmini" + secrets.token_hex(5), mini_secret=secrets.token_hex(16),
        # Push kinds need a template id each (the sandbox accepts any): all enabled.
        template_ids={kind: f"demo_tmpl_{kind}" for kind in DEMO_PUSH_KINDS},
    )


def _demo_merchant(config: Config, sandbox, directory: Path, host: str, port: int) -> Config:
    """WeChat Pay's merchant API in the sandbox: a fresh merchant key every run, kept in the
    instance directory (git-ignored), its certificate given to the sandbox."""
    from wx_member.sandbox.pay import make_platform_cert

    merchant = make_platform_cert("Demo merchant " + config.mch_id)
    key = directory / "demo_merchant_key.pem"
    key.write_bytes(merchant.private_key_pem)
    key.chmod(0o600)
    apiv3 = secrets.token_hex(16)
    sandbox.merchant.enable(mch_id=config.mch_id, apiv3_key=apiv3,
                            merchant_cert_pem=merchant.cert_pem,
                            appids=(config.appid, config.mini_appid))
    return config.with_(pay_apiv3_key=apiv3, pay_private_key=str(key),
                        pay_cert_serial=merchant.serial, pay_api_base=sandbox.url,
                        pay_notify_url=f"http://{host}:{port}/pay/v3/notify")


@click.command("scheduler")
@click.option("--ttl", default=30.0, show_default=True, help="lease length, seconds")
@click.option("--renew", default=10.0, show_default=True, help="renew the lease every N seconds")
@click.option("--send-every", default=60.0, show_default=True,
              help="send due pushes every N seconds")
def scheduler_command(ttl: float, renew: float, send_every: float) -> None:
    """Run the scheduled jobs (pushes, housekeeping); stands by while another process leads."""
    import signal

    from wx_member import logs
    from wx_member.scheduler import SchedulerRunner

    logs.configure()
    runner = SchedulerRunner(runtime(pushes=True), ttl=ttl, renew=renew, send_every=send_every)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner.start()
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--demo", is_flag=True, help="start the WeChat sandbox and load demo data")
@click.option("--sandbox-port", default=8800, show_default=True)
@click.option("--demo-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="the demo's SQLite file, made afresh on every start  [default: "
                   "instance/demo.db under the working directory, or $WX_MEMBER_INSTANCE/demo.db]")
def serve_command(host: str, port: int, demo: bool, sandbox_port: int,
                  demo_db: Path | None) -> None:
    """Run the web server and the scheduler (production: gunicorn, see docs/deploy.md)."""
    from wx_member import migrate
    from wx_member.app import create_app
    from wx_member.extensions import runtime as app_runtime
    from wx_member.scheduler import SchedulerRunner

    config, sandbox = config_from_env(), None
    if demo:
        os.environ.setdefault("WX_LOG_FORMAT", "text")  # a person reads the demo's log
        from wx_member.sandbox import Sandbox

        demo_db = demo_db or instance_dir() / "demo.db"
        demo_db.parent.mkdir(parents=True, exist_ok=True)
        demo_db.unlink(missing_ok=True)
        config = _demo_config(config, demo_db.resolve())
        sandbox = Sandbox(appid=config.appid, secret=config.secret, port=sandbox_port,
                          mini_appid=config.mini_appid, mini_secret=config.mini_secret).start()
        config = config.with_(api_base=sandbox.url, mp_base=sandbox.url)
        config = _demo_merchant(config, sandbox, demo_db.parent, host, port)
    migrate.upgrade(config.database_url)  # a development server makes its schema on start
    app = create_app(config)
    server = make_server(host, port, app, threaded=True)
    webhook = f"http://{host}:{server.port}/wechat"
    with app.app_context():
        rt = app_runtime()
    if demo and rt.wxpay is not None:  # the port is known now (0 picks one)
        rt.wxpay.notify_url = f"http://{host}:{server.port}/pay/v3/notify"
    # Stands by if another process (`wx-member scheduler`, another host) holds the lease.
    scheduler = SchedulerRunner(rt).start()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if demo:
        from wx_member.demo import DEMO_STORES, DEMO_TILL, quote_curl, seed
        from wx_member.sandbox import Simulator

        sim = Simulator(webhook, token=config.token, appid=config.appid,
                        encoding_aes_key=config.encoding_aes_key, sandbox=sandbox)
        sandbox.reach.report_to(webhook, config.token, config.appid,
                                config.encoding_aes_key or None)
        app_url = f"http://{host}:{server.port}/"
        seeded = seed(rt, sim, pay_url=app_url, sandbox=sandbox)
        admin_password = secrets.token_urlsafe(12)
        with rt.sessions() as uow:
            from wx_member.console import operators

            operators.create(uow, "admin", admin_password, "admin", by="demo")
        opts = (f"--url {webhook} --token {config.token} --appid {config.appid} "
                f"--aes-key {config.encoding_aes_key}")
        click.echo(f"""
wx-member demo is running.
  webhook        {webhook}   (safe mode: AES)
  WeChat sandbox {sandbox.url}   (each follower's WeChat, as a phone: {sandbox.url})
  database       {config.database_url}
  health         http://{host}:{server.port}/readyz
  console        http://{host}:{server.port}/admin/   (user admin, password {admin_password})
  demo members   {', '.join(seeded.openids)}
  demo stores    {', '.join(code for code, *_ in DEMO_STORES)} (headquarters runs the programme)
  till key       {seeded.till_key}   ({DEMO_TILL[1]} of {DEMO_TILL[0]}, shown once;
                 its demo purchase {seeded.till_order.get('order_no')} earned \
{seeded.till_order.get('points_earned')} points)
  mini-program   miniprogram/ in WeChat developer tools (docs/miniprogram.md), its config.js set to
                 baseUrl: 'http://{host}:{server.port}/api/', sandboxUrl: '{sandbox.url}';
                 到店买单 at 人民路店 opens pages/pay/pay?store=SH001 (its payments: the console's
                 store page, or the till's GET /till/v1/self-payments)

Try, in another terminal (after `. .venv/bin/activate`):
  wx-member simulate {opts} subscribe oYou --scene store_01
  wx-member simulate {opts} click oYou CHECKIN
  DATABASE_URL={config.database_url} wx-member member show oYou --json
  DATABASE_URL={config.database_url} wx-member channel stats
  DATABASE_URL={config.database_url} wx-member stores list
  curl -X POST -H 'Authorization: Bearer {config.shop_api_key}' http://{host}:{server.port}/shop/orders/DEMO-1002/shipped
  mini-program API docs: http://{host}:{server.port}/api/docs   (the till's /till/v1 too)
  {quote_curl(app_url, seeded.till_key, seeded.quote_body)}
  wx-member simulate pay OUT_TRADE_NO --sandbox {sandbox.url}   (pay a recharge; --fail, --no-notify)
Ctrl-C stops everything.""")
    else:
        click.echo(f"wx-member serving {webhook}; WeChat API at {config.api_base}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.stop()
        server.shutdown()
        if sandbox:
            sandbox.stop()
