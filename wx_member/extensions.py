"""What the app builds once at start-up and every request shares."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from wx_member.config import Config
from wx_member.replies import Replies
from wx_member.wechat.gateway import WeChatGateway


@dataclass
class Runtime:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    gateway: WeChatGateway
    replies: Replies


def build_runtime(config: Config) -> Runtime:
    from wx_member.db import make_engine, make_session_factory

    engine = make_engine(config.database_url)
    return Runtime(config=config, engine=engine, sessions=make_session_factory(engine),
                   gateway=WeChatGateway(config),
                   replies=Replies(config.templates_dir, config.programme_name))


def runtime() -> Runtime:
    return current_app.extensions["wx_member"]
