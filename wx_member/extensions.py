"""What the app builds once at start-up and every request shares."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from wx_member.config import Config
from wx_member.pushes.definitions import PushKind
from wx_member.replica import Replica
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
    replica: Replica | None = None  # the read replica (WX_DATABASE_REPLICA_URL), if any

    def dispose(self) -> None:
        """Closes the pooled connections, the primary's and the replica's."""
        self.engine.dispose()
        if self.replica is not None:
            self.replica.engine.dispose()


def build_runtime(config: Config, *, load_pushes: bool = True) -> Runtime:
    """`load_pushes=False`: no push kinds (a CLI command that neither plans nor sends)."""
    from wx_member.db import make_engine, make_session_factory

    from wx_member.metrics import count_replica_read, install_session_hooks
    from wx_member.pushes import definitions
    from wx_member.wechat.tokens import DbTokenStorage

    config.check_replica()
    engine = make_engine(config.database_url)
    replica = None
    if config.database_replica_url:
        # The primary's settings; a short connect timeout, as a replica that went away
        # costs a dashboard at most that, once per check (wx_member/replica.py).
        replica = Replica(make_engine(config.database_replica_url,
                                      connect_args={"connect_timeout": 3}),
                          config.replica_max_lag, on_read=count_replica_read)
    sessions = make_session_factory(engine, config.tz, replica=replica)
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
                   wxpay=WeChatPayClient(config) if config.pay_merchant else None,
                   replica=replica)


def runtime() -> Runtime:
    return current_app.extensions["wx_member"]
