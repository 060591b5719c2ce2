"""Rate limits (Flask-Limiter): login per client address; redeeming points and paying a
store (到店买单) per member (`per_member`).

Counts are shared by every worker and host: in Redis when REDIS_URL is set, in the app's
database otherwise (`wx_member.ratelimit_storage`, table `rate_limit_counter`). Moving
windows either way: a burst at a minute's boundary gets no double allowance.
"""
from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter
from sqlalchemy.engine import Engine

from wx_member.extensions import runtime
from wx_member.ratelimit_storage import DatabaseStorage

_STRATEGY = "wx_member.rate_limits"  # app.extensions key: this app's strategy and storage


class _PerAppLimiter(Limiter):
    """Flask-Limiter keeps one storage per Limiter object, the last init_app's, while the
    routes are decorated with one object at import and a process may hold several apps
    (tests make many, on different databases). Every hit and check goes through the
    `limiter` property: here it is the strategy that init() made for the current app."""

    @property
    def limiter(self) -> RateLimiter:
        return current_app.extensions[_STRATEGY]

    @property
    def storage(self) -> Storage:
        return self.limiter.storage

    def _check_request_limit(self, callable_name: str | None = None,
                             in_middleware: bool = True) -> None:
        # Every request of the app passes here (a before_request hook), the webhook's too:
        # Flask-Limiter consults the request filter below only after working out the
        # request's limits and exemptions, a tenth of the app's own cost of a request.
        if request.blueprint in LIMITED_BLUEPRINTS:
            super()._check_request_limit(callable_name, in_middleware)


limiter = _PerAppLimiter(key_func=get_remote_address, strategy="moving-window")

# The blueprints whose routes carry limits (login; redeeming points). Flask-Limiter looks
# at every request of the app otherwise, the webhook's too (about 4% of a join's CPU): a
# request elsewhere is exempt at its first check. A limit added to another blueprint must
# add its name here (tests/test_api_rate_limits.py shows the limits at work and fails when
# a module with a limit names a blueprint missing from this set).
LIMITED_BLUEPRINTS = frozenset({"login", "redemptions", "store_pay", "till_members"})


@limiter.request_filter
def _not_limited() -> bool:
    return request.blueprint not in LIMITED_BLUEPRINTS


def login_limit() -> str:
    return runtime().config.login_rate_limit


def redeem_limit() -> str:
    return runtime().config.redeem_rate_limit


def pay_limit() -> str:
    return runtime().config.pay_rate_limit


def per_member() -> str:
    """Key function for limits on a member's own actions (after member_required)."""
    return f"member:{g.get('member_id') or get_remote_address()}"


def storage_for(redis_url: str, engine: Engine) -> Storage:
    """Redis when configured, else the database the app runs on."""
    return storage_from_string(redis_url) if redis_url else DatabaseStorage(engine)


def init(app: Flask) -> None:
    rt = app.extensions["wx_member"]
    # Flask-Limiter's own storage is never used (see _PerAppLimiter): memory, to build it.
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    # The counts' store down (Redis unreachable): let requests through unlimited and log,
    # rather than refuse every login with a 500.
    app.config["RATELIMIT_SWALLOW_ERRORS"] = True
    limiter.init_app(app)
    _only_where_limited(app)
    app.extensions[_STRATEGY] = MovingWindowRateLimiter(storage_for(rt.config.redis_url,
                                                                    rt.engine))


def _only_where_limited(app: Flask) -> None:
    """Flask-Limiter's after-request hook (rate-limit headers) and teardown (its per-request
    context) run on every request of the app, the webhook's too, though only the limited
    blueprints have limits to report (the before-request check is skipped elsewhere, see
    `_PerAppLimiter`): wrapped to run there only."""
    def limited_only(hook):
        def hook_where_limited(*args):
            if request.blueprint in LIMITED_BLUEPRINTS:
                return hook(*args)
            return args[0] if args else None  # an after-request hook gives back the response
        return hook_where_limited

    for funcs, name in ((app.after_request_funcs, "__inject_headers"),
                        (app.teardown_request_funcs, "__release_context")):
        hooks = funcs.get(None, [])
        for i, hook in enumerate(hooks):
            target = getattr(hook, "func", hook)  # functools.partial, or a bound method
            if getattr(target, "__name__", "") == name and (
                    getattr(hook, "args", (None,))[0] is limiter
                    or getattr(hook, "__self__", None) is limiter):
                hooks[i] = limited_only(hook)
                break
        else:
            raise RuntimeError(f"Flask-Limiter's {name} hook not found")  # its internals moved

