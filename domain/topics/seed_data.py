"""The demo hub's service topics: the seed's fifteen (服务专题), entries naming national catalog
items (``NAT-xxxx``, domain/catalog/seed_data) that each channel resolves to the citizen's local
matter. Idempotent: a topic already there is left as the product team left it."""
from __future__ import annotations

from domain.audit.service import SEED, Actor
from domain.topics.service import TopicService

ALL_CHANNELS = ["wechat", "alipay", "app", "pc"]
YANGTZE_DELTA = ["310000000000", "320000000000", "330000000000", "340000000000"]  # 沪苏浙皖
JING_JIN_JI = ["110000000000", "120000000000", "130000000000"]  # 京津冀

# (code, title, subtitle, weight, regions, catalog codes, links)
TOPICS = [
    ("xiaowei", "小微企业和个体工商户服务专栏", "开办、纾困、融资一站办", 100, [],
     ["NAT-0023", "NAT-0024", "NAT-0025", "NAT-0020", "NAT-0021", "NAT-0054", "NAT-0029", "NAT-0028"],
     [("https://www.gov.cn/zhengce/", "惠企政策")]),
    ("yiqing", "疫情防控", "健康码、疫苗接种与异地就医", 95, [], ["NAT-0052", "NAT-0053", "NAT-0014"], []),
    ("fugong", "复工复产", "稳岗返还、社保缓缴、创业担保", 90, [],
     ["NAT-0021", "NAT-0054", "NAT-0020", "NAT-0026"], []),
    ("jiuye", "就业服务", "失业登记、保险金申领与技能认定", 85, [],
     ["NAT-0017", "NAT-0018", "NAT-0019", "NAT-0022", "NAT-0020", "NAT-0051"], []),
    ("kuasheng", "跨省通办", "异地办事不用来回跑", 80, [],
     ["NAT-0004", "NAT-0010", "NAT-0013", "NAT-0014", "NAT-0034", "NAT-0035", "NAT-0041", "NAT-0046"], []),
    ("changsanjiao", "长三角一网通办", "沪苏浙皖政务服务一体化", 75, YANGTZE_DELTA,
     ["NAT-0007", "NAT-0014", "NAT-0026", "NAT-0045", "NAT-0006"], []),
    ("jingjinji", "京津冀协同办", "京津冀政务服务协同办理", 75, JING_JIN_JI,
     ["NAT-0013", "NAT-0010", "NAT-0034", "NAT-0027"], []),
    ("laonianren", "老年人办事", "养老待遇与津贴，办事更贴心", 70, [],
     ["NAT-0003", "NAT-0012", "NAT-0040", "NAT-0015", "NAT-0011"], []),
    ("shebao", "社保服务", "社保卡与养老保险", 65, [],
     ["NAT-0007", "NAT-0008", "NAT-0009", "NAT-0010", "NAT-0011"], []),
    ("gongjijin", "公积金服务", "提取、贷款、转移与证明", 65, [],
     ["NAT-0001", "NAT-0002", "NAT-0003", "NAT-0004", "NAT-0005", "NAT-0006"], []),
    ("yibao", "医保服务", "异地就医、转移接续与待遇认定", 60, [],
     ["NAT-0013", "NAT-0014", "NAT-0015", "NAT-0016"], []),
    ("hunyu", "婚育服务", "婚姻登记、出生与入户", 55, [],
     ["NAT-0038", "NAT-0031", "NAT-0032", "NAT-0033", "NAT-0016"], []),
    ("qiyekaiban", "企业开办", "一网通办，最快一天领照", 50, [],
     ["NAT-0026", "NAT-0023", "NAT-0029", "NAT-0030", "NAT-0027"], []),
    ("churujing", "出入境", "护照、港澳通行证与签注", 45, [], ["NAT-0046", "NAT-0047"], []),
    ("liuxue", "留学服务", "回国证明与学历学位认证", 40, [], ["NAT-0048", "NAT-0049", "NAT-0046"], []),
]


async def seed_topics(topics: TopicService, *, actor: Actor = SEED) -> dict:
    """Create and publish each demo topic that is missing; returns what it did."""
    existing = {t.code for t in await topics.list()}
    created = 0
    for code, title, subtitle, weight, regions, catalog_codes, links in TOPICS:
        if code in existing:
            continue
        entries = [{"kind": "matter", "ref": ref} for ref in catalog_codes]
        entries += [{"kind": "link", "ref": url, "title": link_title} for url, link_title in links]
        await topics.create(actor=actor, code=code, title=title, subtitle=subtitle, weight=weight,
                            regions=regions, channels=ALL_CHANNELS, entries=entries)
        await topics.publish(actor=actor, code=code)
        created += 1
    return {"created": created, "existing": len(TOPICS) - created}
