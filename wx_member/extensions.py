"""What the app builds once at start-up and every request shares."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from wx_member.config import Config
from wx_member.pushes.definitions import PushKind
from wx_member.replies import Replies
from wx_member.wechat.gateway import WeChatGateway
from wx_member.wechat.pay_client import WeChatPayClient


@dataclass
class Runtime:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    gateway: WeChatGateway
    replies: Replies
    pushes: dict[str, PushKind] = field(default_factory=dict)  # push kinds, checked at start-up
    wxpay: WeChatPayClient | None = None  # WeChat Pay's merchant API, when configured


def build_runtime(config: Config, *, load_pushes: bool = True) -> Runtime:
    """`load_pushes=False`: no push kinds (a CLI command that neither plans nor sends)."""
    from wx_member.db import make_engine, make_session_factory

    from wx_member.metrics import install_session_hooks
    from wx_member.pushes import definitions
    from wx_member.wechat.tokens import DbTokenStorage

    engine = make_engine(config.database_url)
    sessions = make_session_factory(engine, config.tz)
    install_session_hooks(sessions)  # ledger writes counted in /metrics when committed
    # One access token for every worker, scheduler and host: in Redis when configured,
    # in the database otherwise.
    if config.redis_url:
        from wx_member.wechat.redis_tokens import RedisTokenStorage

        storage = RedisTokenStorage.from_url(config.redis_url)
    else:
        storage = DbTokenStorage(sessions)
    return Runtime(config=config, engine=engine, sessions=sessions,
                   gateway=WeChatGateway(config, storage=storage),
                   replies=Replies(config.templates_dir, config.programme_name),
                   pushes=definitions.load(config.templates_dir, config.template_ids)
                   if load_pushes else {},
                   wxpay=WeChatPayClient(config) if config.pay_merchant else None)


def runtime() -> Runtime:
    return current_app.extensions["wx_member"]
