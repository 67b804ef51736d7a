"""The calls of a simulated day (see simulator.py): when they come, what they are about, who calls, where.

Pure: no database. Given a seed, the stations, the active category codes and the city's addresses,
`CallMaker` produces the same calls in the same order on every machine, so the simulator's fast mode is
deterministic.

Where. When the city has a gazetteer (places), the simulator hands over each station's stored addresses and
places (`places.selectors.places_by_org`: those its jurisdiction polygon holds) and a call names one of them
exactly, at its point, so the intake's address search finds it and the polygon routes it to that station.
A station without any (no gazetteer loaded, or none in its area) gets made-up streets near its position.

The shape follows what Chinese centers publish about their 110 traffic:
- a daily curve: quiet around 4 a.m. (a fifth of the peak), rising through the morning, a plateau in the
  afternoon and the peak between 19:00 and 22:00;
- the mix: traffic about 28 %, help requests about 20 %, disputes about 10 %, crime and public order
  about 11 %, non-police matters about 18 % (diverted to 12345 and the 综治中心), invalid calls (misdials,
  silent lines, harassment, pranks) about 10 %, the rest fire, disasters, tip-offs and complaints;
- some callers call again and again from the same number about the same address (noise, family quarrels,
  drunk neighbours, harassment), and some events are called in twice by different people.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

# Relative call volume by hour of the day (local time), 1.0 = the evening peak; linear in between.
HOURLY: tuple[float, ...] = (
    0.55, 0.40, 0.30, 0.23, 0.19, 0.21, 0.29, 0.43, 0.58, 0.68, 0.72, 0.72,
    0.68, 0.66, 0.70, 0.74, 0.78, 0.84, 0.92, 0.98, 1.00, 0.96, 0.85, 0.70,
)  # fmt: skip


def day_weight(seconds_of_day: float) -> float:
    """The curve at a time of day (seconds after local midnight)."""
    h = (seconds_of_day / 3600.0) % 24
    lo = int(h)
    frac = h - lo
    return HOURLY[lo] * (1 - frac) + HOURLY[(lo + 1) % 24] * frac


# How a call is handled once taken.
DISPATCH = "dispatch"  # send a unit (or the station) to the scene
SELF = "self"  # settled on the phone (已自处)
DIVERT = "divert"  # a partner's business (非警务警情分流)
INVALID = "invalid"  # misdial, silent line, prank (无效警情)


@dataclass(frozen=True)
class CallType:
    code: str  # a type (AABB00) of the default category table
    share: float  # percent of all calls
    handling: str
    p_dispatch: float = 1.0  # for DISPATCH types: the rest are settled on the phone
    levels: tuple[int, ...] = (3, 3, 3, 4)  # drawn uniformly
    scene_min: tuple[int, int] = (15, 40)  # minutes on scene
    partner: str = "12345"  # for DIVERT: which partner (a name fragment)


T = CallType
TYPES: tuple[CallType, ...] = (
    # 交通 (~28 %)
    T("030100", 17.0, DISPATCH, 0.95, (3, 3, 3, 2), (10, 35)),
    T("030200", 3.0, DISPATCH, 0.7, (3, 4), (10, 30)),
    T("030300", 4.0, DISPATCH, 0.35, (4,), (5, 15)),
    T("030400", 1.0, DISPATCH, 1.0, (2, 3), (20, 45)),
    T("030500", 1.5, DISPATCH, 0.9, (3, 4), (10, 25)),
    T("030600", 1.0, SELF),
    # 群众求助 (~20 %)
    T("050100", 2.0, DISPATCH, 1.0, (2, 3), (30, 90)),
    T("050200", 3.0, DISPATCH, 0.9, (2, 3), (15, 40)),
    T("050300", 2.0, DISPATCH, 1.0, (2, 3), (15, 45)),
    T("050400", 4.0, DISPATCH, 0.3, (4,), (10, 25)),
    T("050500", 1.0, DISPATCH, 1.0, (1, 2), (30, 90)),
    T("050600", 4.0, DISPATCH, 0.2, (4,), (10, 20)),
    T("050700", 4.0, DISPATCH, 0.5, (3, 4), (10, 30)),
    # 纠纷 (~10 %)
    T("060100", 3.0, DISPATCH, 0.9, (3,), (20, 45)),
    T("060200", 2.5, DISPATCH, 0.85, (3, 4), (15, 40)),
    T("060300", 1.5, DISPATCH, 0.8, (3,), (20, 50)),
    T("060400", 1.5, DISPATCH, 0.7, (3, 4), (15, 35)),
    T("060500", 0.3, DISPATCH, 1.0, (2, 3), (30, 60)),
    T("060600", 0.5, DISPATCH, 1.0, (3,), (15, 30)),
    T("060700", 0.5, DISPATCH, 0.7, (3, 4), (15, 35)),
    T("060800", 0.2, DISPATCH, 0.8, (3, 4), (15, 30)),
    # 刑事 (~4 %)
    T("010100", 2.0, DISPATCH, 1.0, (2, 3), (30, 70)),
    T("010400", 1.2, DISPATCH, 0.6, (2, 3), (30, 60)),
    T("010500", 0.4, DISPATCH, 1.0, (1, 2), (40, 90)),
    T("010300", 0.2, DISPATCH, 1.0, (2,), (30, 60)),
    T("010200", 0.1, DISPATCH, 1.0, (1,), (40, 90)),
    T("011000", 0.1, DISPATCH, 1.0, (2,), (30, 60)),
    # 治安 (~7 %)
    T("020100", 1.5, DISPATCH, 1.0, (2, 3), (20, 50)),
    T("020200", 0.5, DISPATCH, 1.0, (3,), (30, 60)),
    T("020400", 0.8, DISPATCH, 1.0, (2, 3), (20, 45)),
    T("020500", 2.5, DISPATCH, 0.8, (4,), (10, 25)),
    T("020600", 1.0, DISPATCH, 1.0, (3,), (15, 40)),
    T("020700", 0.4, DISPATCH, 0.8, (3,), (20, 40)),
    T("020900", 0.3, DISPATCH, 0.8, (3, 4), (15, 30)),
    # 火灾, 灾害事故 (~2 %)
    T("040100", 0.4, DISPATCH, 1.0, (1, 2), (40, 90)),
    T("040200", 0.2, DISPATCH, 1.0, (2,), (30, 60)),
    T("040400", 0.3, DISPATCH, 1.0, (2,), (20, 50)),
    T("040500", 0.1, DISPATCH, 1.0, (2, 3), (20, 40)),
    T("080100", 0.1, DISPATCH, 1.0, (1,), (40, 90)),
    T("080200", 0.1, DISPATCH, 1.0, (1, 2), (40, 90)),
    T("080400", 0.3, DISPATCH, 1.0, (2,), (20, 50)),
    T("080600", 0.2, DISPATCH, 1.0, (2,), (30, 70)),
    T("080700", 0.3, DISPATCH, 1.0, (2, 3), (20, 50)),
    # 举报投诉 (~2 %)
    T("070100", 1.0, DISPATCH, 0.4, (3,), (20, 40)),
    T("070200", 0.5, DISPATCH, 0.8, (3,), (20, 40)),
    T("070300", 0.3, SELF),
    T("070400", 0.2, SELF),
    # 非警务 (~18 %): 12345 takes most, the 综治中心 the property and neighbourhood matters
    T("090100", 4.0, DIVERT),
    T("090200", 3.0, DIVERT),
    T("090300", 2.5, DIVERT),
    T("090400", 2.5, DIVERT, partner="综治"),
    T("090500", 2.5, DIVERT, partner="综治"),
    T("090600", 2.0, DIVERT),
    T("090700", 1.5, DIVERT),
    # 其他/无效 (~10 %)
    T("100100", 2.0, INVALID, levels=(4,)),
    T("100200", 3.0, INVALID, levels=(4,)),
    T("100300", 0.5, INVALID, levels=(4,)),
    T("100400", 1.5, SELF, levels=(4,)),
    T("100500", 2.5, INVALID, levels=(4,)),
    T("100600", 0.5, INVALID, levels=(4,)),
)

# Types a caller may keep calling about from the same number and address (重复报警).
REGULAR_TYPES = ("020500", "060100", "060200", "020600", "100100", "090500", "060700")
# Types whose events are often called in by more than one person (merged as duplicates).
DUPLICATED_PREFIXES = ("0301", "04", "08", "0201", "0501")

NARRATIVES: dict[str, tuple[str, ...]] = {
    "01": ("报警人称家中被盗，门锁有撬动痕迹。", "报警人称电动车被盗。", "报警人称被人骗走钱款，请求民警处理。"),
    "02": ("报警人称有人在此聚集吵闹。", "报警人称楼上噪音很大，多次协商无果。", "报警人称有人酒后滋事。"),
    "03": ("报警人称两车追尾，无人员受伤，请求处理。", "报警人称路口车辆刮擦，双方有争执。", "报警人称道路拥堵严重。"),
    "04": ("报警人称楼道内有烟冒出。", "报警人称路边车辆起火。", "报警人称电动车充电时起火。"),
    "05": ("报警人称老人走失，穿深色外套。", "报警人称有人晕倒在路边。", "报警人称钥匙锁在屋内，孩子在家。"),
    "06": ("报警人称与家人发生争吵，请求调解。", "报警人称与邻居因停车发生纠纷。", "报警人称商家拒绝退款，发生争执。"),
    "07": ("报警人举报此处疑似有人赌博。", "报警人反映相关违法线索。"),
    "08": ("报警人称有人落水。", "报警人称闻到燃气味道。", "报警人称工地有人受伤。"),
    "09": ("报警人称小区停水停电。", "报警人称路灯损坏，井盖缺失。", "报警人称有流浪狗伤人。", "报警人咨询政策。"),
    "10": ("来电无声。", "报警人称拨错号码。", "来电人反复拨打，无实际警情。", "报警人咨询办事流程。"),
}

# What the desk, the stations and the partners write.
INVALID_REASONS = {
    "1001": "骚扰电话，已警告来电人",
    "1002": "误拨",
    "1003": "恶意报假警，已告知法律后果",
    "1005": "无声电话，回拨无人接听",
}
RETURN_REASONS = ("警力不足，请改派", "非本所辖区", "现场警力均在处警中")
# (result code, feedback text) by the category's top level; the first one is the most common.
FEEDBACK: dict[str, tuple[tuple[str, str], ...]] = {
    "01": (("02", "已受理刑事案件，现场勘查完毕。"), ("13", "已抓获嫌疑人，带回所内审查。")),
    "02": (("05", "已对当事人批评教育，现场秩序恢复。"), ("03", "已受理行政案件。"), ("04", "已当场处罚。")),
    "03": (("08", "已移交交警部门处理。"), ("01", "双方协商一致，现场调解完毕。")),
    "04": (("07", "已移交消防部门，现场明火扑灭。"),),
    "05": (("06", "已救助完毕。"), ("14", "已送医救治。")),
    "06": (("01", "经现场调解，双方达成一致。"), ("05", "已劝离，双方情绪稳定。")),
    "07": (("03", "已核查并受理。"), ("12", "经核查，查无此事。")),
    "08": (("06", "已协同相关部门救援完毕。"), ("14", "伤者已送医救治。")),
}
SELF_FEEDBACK = (
    ("06", "已电话指引报警人，求助已解决。"),
    ("11", "报警人表示已自行解决，撤警。"),
    ("99", "已电话答复。"),
)
CALLBACK_TEXT = {  # by satisfaction (incidents.models.Satisfaction)
    "satisfied": "报警人对处警满意。",
    "basically": "报警人表示基本满意。",
    "dissatisfied": "报警人认为出警不及时，不满意。",
}


ROADS = (
    "文三路", "学院路", "庆春路", "解放路", "凤起路", "延安路", "中山路", "建国路", "环城东路", "秋涛路",
    "莫干山路", "天目山路", "文一路", "古墩路", "江南大道", "滨江路", "望江路", "复兴路", "秋石路", "之江路",
    "西溪路", "留和路", "紫金港路", "东新路", "新华路", "湖墅路", "体育场路", "南星路", "闸弄口路", "钱江路",
)  # fmt: skip
ESTATES = ("阳光", "和平", "幸福", "锦绣", "金色", "翠苑", "嘉绿", "星洲", "景芳", "三墩", "绿城", "桂花")
ESTATE_KINDS = ("花园", "家园", "苑", "新村", "小区")
PLACES = ("商场", "菜市场", "地铁站", "公交站", "医院", "学校门口", "广场", "超市")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
MOBILE_PREFIXES = ("138", "139", "158", "159", "186", "187", "136", "135", "177", "189", "150", "131")

METERS_PER_DEG = 111_320.0


@dataclass(frozen=True)
class Station:
    id: int
    name: str
    lat: float
    lon: float


@dataclass(frozen=True)
class Spot:
    """An address or place of the gazetteer, as a caller names it."""

    name: str
    lat: float
    lon: float


@dataclass
class Regular:
    """Someone who calls again and again about the same place."""

    phone: str
    name: str
    station: Station
    address: str
    lat: float
    lon: float
    type_code: str


@dataclass
class Call:
    """One call as the call-taker will type it."""

    seq: int
    source: str
    caller_phone: str
    caller_name: str
    station: Station  # the station whose area holds the address (routing is the intake's own business)
    address: str
    lat: float
    lon: float
    caller_lat: float | None
    caller_lon: float | None
    category: str  # a code that exists in the active table
    type: CallType
    level: int
    narrative: str
    regular: bool = False
    duplicate_of: int | None = None  # seq of the call this one reports again


def offset(lat: float, lon: float, dx_m: float, dy_m: float) -> tuple[float, float]:
    """The point `dx_m` east and `dy_m` north of (lat, lon) (flat earth: a city is small)."""
    return (
        round(lat + dy_m / METERS_PER_DEG, 6),
        round(lon + dx_m / (METERS_PER_DEG * max(math.cos(math.radians(lat)), 0.01)), 6),
    )


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two (lat, lon) points in metres (flat earth, a city's scale)."""
    dy = (b[0] - a[0]) * METERS_PER_DEG
    dx = (b[1] - a[1]) * METERS_PER_DEG * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dx, dy)


class CallMaker:
    """Draws the day's calls. `gap(at)` is the wait until the next call (a non-homogeneous Poisson process
    drawn by thinning against the daily curve); `make()` the next call."""

    def __init__(
        self,
        rng: random.Random,
        stations: list[Station],
        categories: set[str],
        *,
        peak_per_minute: float = 6.0,
        regulars: int = 40,
        regular_share: float = 0.08,
        duplicate_share: float = 0.06,
        spots: dict[int, list[Spot]] | None = None,
    ):
        if not stations:
            raise ValueError("no stations with a position to put calls near")
        self.rng = rng
        self.stations = stations
        self.peak_per_s = peak_per_minute / 60.0
        self.regular_share = regular_share
        self.duplicate_share = duplicate_share
        self.seq = 0
        # Each station's gazetteer addresses, by station id (module docstring); none: made-up streets.
        self.spots = {k: v for k, v in (spots or {}).items() if v}
        # Busier and quieter stations, the same for a given seed.
        self.station_weights = [rng.uniform(0.6, 1.4) for _ in stations]
        # A station's own streets, the same on every run (seeded by its name, not the run's seed).
        self.roads = {s.id: random.Random(s.name).sample(ROADS, 6) for s in stations}
        self.types = [t for t in TYPES if t.code in categories]
        if not self.types:
            raise ValueError("none of the simulator's category types is in the active category table")
        self.type_weights = list(itertools.accumulate(t.share for t in self.types))
        self.station_cum = list(itertools.accumulate(self.station_weights))
        # Each type's finer codes (细类, 子类) in the table, drawn now and then instead of the type itself.
        self.finer = {
            t.code: sorted(c for c in categories if c != t.code and c.startswith(t.code[:4])) for t in self.types
        }
        self.regulars = [self._regular() for _ in range(regulars)]

    # --- When ---------------------------------------------------------------------------------------------

    def gap(self, seconds_of_day: float) -> float:
        """Seconds until the next call, from `seconds_of_day` (local) on."""
        waited = 0.0
        while True:
            waited += self.rng.expovariate(self.peak_per_s)
            if self.rng.random() <= day_weight(seconds_of_day + waited):
                return waited

    # --- What, who, where ---------------------------------------------------------------------------------

    def make(self) -> Call:
        self.seq += 1
        rng = self.rng
        if self.regulars and rng.random() < self.regular_share:
            return self._regular_call(rng.choice(self.regulars))
        t = rng.choices(self.types, cum_weights=self.type_weights)[0]
        station = rng.choices(self.stations, cum_weights=self.station_cum)[0]
        spot = self._spot(station)
        lat, lon = (spot.lat, spot.lon) if spot else self._near(station, 700.0)
        clat, clon = self._caller_position(lat, lon)
        return Call(
            seq=self.seq,
            source=self._source(t),
            caller_phone=self._phone(),
            caller_name=self._name(),
            station=station,
            address=spot.name if spot else self._address(station, t),
            lat=lat,
            lon=lon,
            caller_lat=clat,
            caller_lon=clon,
            category=self._category(t),
            type=t,
            level=rng.choice(t.levels),
            narrative=rng.choice(NARRATIVES.get(t.code[:2], ("",))),
        )

    def duplicate(self, of: Call) -> Call:
        """Another person calling in the same event a little later (同一事件多人报警): the same address and
        point, from where this caller stands."""
        self.seq += 1
        lat, lon = of.lat, of.lon
        clat, clon = self._caller_position(lat, lon)
        return Call(
            seq=self.seq,
            source=of.source,
            caller_phone=self._phone(),
            caller_name=self._name(),
            station=of.station,
            address=of.address,
            lat=lat,
            lon=lon,
            caller_lat=clat,
            caller_lon=clon,
            category=of.category,
            type=of.type,
            level=of.level,
            narrative=of.narrative,
            duplicate_of=of.seq,
        )

    def wants_duplicate(self, call: Call) -> bool:
        return (
            call.type.handling == DISPATCH
            and call.type.code.startswith(DUPLICATED_PREFIXES)
            and self.rng.random() < self.duplicate_share
        )

    def _regular_call(self, r: Regular) -> Call:
        t = next((x for x in self.types if x.code == r.type_code), None) or self.rng.choice(self.types)
        clat, clon = self._caller_position(r.lat, r.lon)
        return Call(
            seq=self.seq,
            source="110",
            caller_phone=r.phone,
            caller_name=r.name,
            station=r.station,
            address=r.address,
            lat=r.lat,
            lon=r.lon,
            caller_lat=clat,
            caller_lon=clon,
            category=self._category(t),
            type=t,
            level=self.rng.choice(t.levels),
            narrative=self.rng.choice(NARRATIVES.get(t.code[:2], ("",))),
            regular=True,
        )

    def _regular(self) -> Regular:
        rng = self.rng
        station = rng.choices(self.stations, cum_weights=self.station_cum)[0]
        spot = self._spot(station)
        lat, lon = (spot.lat, spot.lon) if spot else self._near(station, 600.0)
        code = rng.choice(REGULAR_TYPES)
        t = next((x for x in self.types if x.code == code), None)
        return Regular(
            phone=self._mobile(),
            name=rng.choice(SURNAMES) + rng.choice(("先生", "女士")),
            station=station,
            address=spot.name if spot else self._home_address(station),
            lat=lat,
            lon=lon,
            type_code=t.code if t else code,
        )

    def _spot(self, station: Station) -> Spot | None:
        """One of the station's gazetteer addresses, or None when it has none."""
        spots = self.spots.get(station.id)
        return self.rng.choice(spots) if spots else None

    def _near(self, station: Station, sigma_m: float) -> tuple[float, float]:
        r = min(abs(self.rng.gauss(0, sigma_m)), 2.5 * sigma_m)
        a = self.rng.uniform(0, 2 * math.pi)
        return offset(station.lat, station.lon, r * math.cos(a), r * math.sin(a))

    def _caller_position(self, lat: float, lon: float) -> tuple[float | None, float | None]:
        """Mobile callers usually come with a position (AML) a few tens of metres off."""
        if self.rng.random() < 0.7:
            return offset(lat, lon, self.rng.uniform(-30, 30), self.rng.uniform(-30, 30))
        return None, None

    def _source(self, t: CallType) -> str:
        x = self.rng.random()
        if t.code.startswith("03") and x < 0.25:
            return "122"
        if t.handling == DISPATCH and x > 0.97:
            return "12345"  # a police matter the 12345 hotline passed on
        return "110"

    def _mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def _phone(self) -> str:
        x = self.rng.random()
        if x < 0.04:
            return ""  # withheld
        if x < 0.12:
            return f"0571{self.rng.randrange(10**8):08d}"  # a landline
        return self._mobile()

    def _name(self) -> str:
        if self.rng.random() < 0.5:
            return ""  # the intake writes 匿名
        return self.rng.choice(SURNAMES) + self.rng.choice(("先生", "女士"))

    def _address(self, station: Station, t: CallType) -> str:
        rng, roads = self.rng, self.roads[station.id]
        if t.code.startswith("03"):
            a, b = rng.sample(roads, 2)
            return rng.choice((f"{a}与{b}交叉口", f"{a}{rng.randrange(1, 600)}号附近"))
        if t.code[:2] in ("06", "02", "09", "05") and rng.random() < 0.6:
            return self._home_address(station)
        if rng.random() < 0.3:
            return f"{rng.choice(roads)}{rng.choice(PLACES)}"
        return f"{rng.choice(roads)}{rng.randrange(1, 600)}号"

    def _home_address(self, station: Station) -> str:
        rng = self.rng
        estate = rng.choice(ESTATES) + rng.choice(ESTATE_KINDS)
        return f"{rng.choice(self.roads[station.id])}{estate}{rng.randrange(1, 30)}幢{rng.randrange(1, 4)}单元"

    def _category(self, t: CallType) -> str:
        """The type itself or, half the time, one of its finer codes."""
        finer = self.finer[t.code]
        if finer and self.rng.random() < 0.5:
            return self.rng.choice(finer)
        return t.code


def type_of(category_code: str) -> CallType:
    """The simulator's type for a category code (its AABB type), or a plain dispatched one."""
    for t in TYPES:
        if t.code[:4] == category_code[:4]:
            return t
    return CallType(category_code[:4] + "00", 0.0, DISPATCH)
