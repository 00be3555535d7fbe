"""Demo content: staff logins and a roster of deputies across the four levels."""
import os
import random

from notifier.accounts import passwords
from notifier.accounts.models import User
from notifier.accounts.service import create_user
from notifier.demo import DEMO_USERS
from notifier.extensions import db
from notifier.roster.models import DELEGATION, GROUP, STATION, Deputy, DeputyGroup, Level, Tag

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国建华志强志明海燕红梅玉兰文军晓东春华德明建平国庆丽华"
TOWNS = ["城关镇", "东关镇", "西河乡", "南山镇", "北坝乡", "白水镇", "青石乡", "柳林镇"]
ORGS = [
    ("县人民医院", "院长"), ("城关镇人民政府", "镇长"), ("县第一中学", "校长"), ("县农业农村局", "局长"),
    ("县供电公司", "经理"), ("青石村村民委员会", "主任"), ("县律师事务所", "律师"), ("县农村信用社", "主任"),
    ("县人民法院", "庭长"), ("县妇联", "主席"), ("县工商联", "副主席"), ("红星农业合作社", "理事长"),
]
MOBILE_PREFIXES = ["138", "139", "136", "137", "150", "151", "158", "159", "186", "187", "188", "189", "133", "153", "177", "180"]


def seed_demo(data_dir, deputies=120, seed=2026):
    """Create demo users (once; passwords kept in data_dir/logins.txt) and deputies (once).
    Returns [(username, role, password, two-step key or "")]."""
    logins = _seed_users(data_dir)
    if db.session.execute(db.select(Deputy.id).limit(1)).first() is None:
        _seed_deputies(deputies, random.Random(seed))
    db.session.commit()
    return logins


def _seed_users(data_dir):
    path = os.path.join(data_dir, "logins.txt")
    saved = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            saved = dict(line.rstrip("\n").split("\t", 1) for line in fh if "\t" in line)
    logins = []
    for username, role, display_name in DEMO_USERS:
        password = saved.get(username)
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or password is None:
            password = passwords.generate()
            if user is None:
                create_user(username, role, password=password, display_name=display_name, actor="demo")
            else:
                user.set_password(password)
        logins.append((username, role, password, _two_step_key(username)))
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as fh:
        fh.writelines(f"{u}\t{p}\n" for u, _, p, _key in logins)
    return logins


def _two_step_key(username):
    """Roles that need a second factor are enrolled here, so the printed logins work at once: the
    key goes into an authenticator app (or `python -m pyotp`-style tools) on the demo's phone."""
    from notifier.accounts import totp

    user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
    if not user.needs_second_factor:
        return ""
    if not user.totp_enrolled:
        totp.reissue(user, actor="demo")
    return user.totp_secret


def _seed_deputies(count, rng):
    levels = {level.code: level for level in db.session.execute(db.select(Level)).scalars()}
    tags = {name: Tag(name=name) for name in ("常委会组成人员", "农业界", "教育界", "医卫界", "法律界", "企业界")}
    # Every town's deputies form a deputy group and share a liaison station; the municipal ones
    # also sit in the county's delegation to the city congress.
    groups = {town: (DeputyGroup(name=town + "代表小组", kind=GROUP), DeputyGroup(name=town + "人大代表联络站", kind=STATION))
              for town in TOWNS}
    delegation = DeputyGroup(name="本县出席市人大代表团", kind=DELEGATION)
    used = set()
    for i in range(count):
        while True:
            phone = "+86" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if phone not in used:
                used.add(phone)
                break
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        org, title = rng.choice(ORGS)
        # Most deputies sit at county level; some also at a higher level, as in real rosters.
        codes = {"county"} if i % 4 else {rng.choice(["national", "provincial", "municipal"])}
        if i % 7 == 0:
            codes.add("municipal")
        town = rng.choice(TOWNS)
        deputy = Deputy(
            name=name, phone=phone, constituency=town + "选区", organisation=org, title=title,
            active=i % 29 != 5, levels=[levels[c] for c in sorted(codes, key=lambda c: levels[c].rank)],
            tags=rng.sample(list(tags.values()), rng.choice((0, 1, 1, 2))),
            groups=[*groups[town], *([delegation] if "municipal" in codes else [])],
        )
        db.session.add(deputy)
