"""Twenty POSTs at once through a real HTTP server: twenty distinct, retrievable requests."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection

from wangge.cases.models import Case
from wangge.world import centre_of


def test_twenty_concurrent_posts_make_twenty_requests(
    world_after_flush, live_server, world, api_key
):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "SQLite's in-memory test database locks tables instead of waiting; a deployment's "
            "SQLite file (WAL, busy timeout) and PostgreSQL serialise the writes"
        )
    lon, lat = centre_of(world.grid_a1)
    url = f"{live_server.url}/open311/v2/requests.json"
    # Twenty different problems: near-identical texts would be merged as repeats (并案).
    problems = [
        "垃圾桶满溢无人清理",
        "楼道堆放纸箱",
        "路边倾倒建筑垃圾",
        "菜市场门口污水横流",
        "小区绿化带有死猫",
        "公厕无人打扫异味大",
        "河道漂浮塑料瓶",
        "工地渣土车遗撒",
        "餐馆泔水桶放在人行道",
        "广场落叶无人清扫",
        "废旧家具堆在楼下",
        "烧烤摊油烟扰民",
        "学校门口小广告乱贴",
        "停车场积水发臭",
        "垃圾中转站苍蝇多",
        "宠物粪便遍地",
        "夜市散场后满地垃圾",
        "旧衣回收箱被翻乱",
        "公交站台被涂鸦",
        "桥洞下有人焚烧垃圾",
    ]

    def post(n):
        form = {
            "api_key": api_key,
            "service_code": "0202",
            "lat": lat,
            "long": lon,
            "description": problems[n],
        }
        return requests.post(url, data=form, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))

    assert [a.status_code for a in answers] == [201] * 20
    ids = sorted(a.json()[0]["service_request_id"] for a in answers)
    assert sorted(Case.objects.values_list("tracking_code", flat=True)) == ids
    listed = requests.get(
        f"{live_server.url}/open311/v2/requests.json",
        params={"service_request_id": ",".join(ids)},
        timeout=60,
    ).json()
    assert sorted((r["service_request_id"], r["status"]) for r in listed) == [
        (i, "open") for i in ids
    ]
    assert sorted(r["description"] for r in listed) == sorted(problems)
