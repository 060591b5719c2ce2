"""The sandbox's root page (issue 15): for each openid, what that person's WeChat shows,
in order, as a phone-width conversation: what they sent and the replies, customer-service,
template and mass messages."""
from __future__ import annotations

import requests


def test_root_page_shows_each_followers_conversation_in_order(live, sandbox):
    sim = live.simulator(sandbox=sandbox)
    assert sim.subscribe("oA").status == 200  # the welcome reply
    assert sim.text("oA", "请问营业时间？").status == 200
    gw = live.rt.gateway
    sandbox.interact("oA")
    gw.send_text("oA", "您好，每天 9 点到 21 点营业。")
    gw.send_template("oA", "TPL_X", {"thing1": {"value": "积分到账"}, "number2": {"value": "50"}})
    gw.mass_send({"msgtype": "text", "text": {"content": "周六会员日全场8折"}}, "c1",
                 openids=["oA", "oB"])
    index = requests.get(sandbox.url, timeout=5)
    assert index.status_code == 200 and "text/html" in index.headers["Content-Type"]
    assert 'href="/?openid=oA"' in index.text and 'href="/?openid=oB"' in index.text
    page = requests.get(sandbox.url, params={"openid": "oA"}, timeout=5).text
    assert 'class="phone"' in page and "width:375px" in page
    order = ["[关注公众号]", "欢迎加入", "请问营业时间？", "每天 9 点到 21 点营业", "积分到账",
             "周六会员日全场8折"]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert "客服消息" in page and "群发" in page and "模板消息" in page
    other = requests.get(sandbox.url, params={"openid": "oB"}, timeout=5).text
    assert "周六会员日全场8折" in other and "请问营业时间" not in other


def test_an_empty_sandbox_says_so_and_escapes_what_it_shows(sandbox):
    assert "还没有消息" in requests.get(sandbox.url, timeout=5).text
    sandbox.note("o<b>", "user", "text", "<script>x</script>")
    page = requests.get(sandbox.url, timeout=5).text
    assert "<script>x" not in page and "&lt;script&gt;" in page
