"""Channel QR codes through the gateway and the sandbox."""
from __future__ import annotations

import pytest
import requests

from wx_member.members import channels
from wx_member.platform.errors import ChannelExists
from wx_member.wechat.api_client import GatewayError


def create(live, **kw):
    args = {"scene": "store_01", "name": "人民路门店", "kind": "store"} | kw
    with live.session() as s:
        return channels.create(s, live.rt.gateway, **args)


def test_temporary_and_permanent_codes_are_created_at_wechat(live, sandbox):
    temp = create(live)
    perm = create(live, scene="poster_x", name="海报", kind="poster", permanent=True)
    sent = {q["request"]["action_name"]: q["request"] for q in sandbox.sent("qrcode")}
    assert sent["QR_STR_SCENE"]["action_info"]["scene"]["scene_str"] == "store_01"
    assert sent["QR_STR_SCENE"]["expire_seconds"] == 30 * 86400
    assert sent["QR_LIMIT_STR_SCENE"]["action_info"]["scene"]["scene_str"] == "poster_x"
    assert temp.ticket and temp.expires_at is not None and perm.expires_at is None
    image = requests.get(live.rt.gateway.qrcode_image_url(temp.ticket))
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("kw", [
    {"scene": "has space"}, {"scene": ""}, {"scene": "x" * 65}, {"kind": "shop"},
    {"scene": "ref_123"}, {"name": " "},
])
def test_invalid_channels_are_refused_before_calling_wechat(live, sandbox, kw):
    with pytest.raises(channels.InvalidChannel):
        create(live, **kw)
    assert sandbox.sent("qrcode") == []


def test_duplicate_scene_is_refused(live):
    create(live)
    with pytest.raises(ChannelExists):
        create(live, name="另一个")


def test_wechat_error_stores_nothing(live, sandbox):
    sandbox.inject("cgi-bin/qrcode/create", errcode=45009)
    with pytest.raises(GatewayError) as err:
        create(live)
    assert err.value.errcode == 45009
    with live.session() as s, s.read():
        assert channels.stats(s) == []


def test_expired_token_is_refreshed_once_and_the_call_retried(live, sandbox):
    create(live)
    fetched = sandbox.token_fetches
    sandbox.expire_tokens()
    create(live, scene="store_02")
    assert sandbox.token_fetches == fetched + 1
    assert len(sandbox.sent("qrcode")) == 2
