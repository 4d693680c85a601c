"""Scenario files: one TOML file fixes a whole simulated run, down to the last Wh and token unit.

A run must be reproducible from its file alone, so everything random is drawn
from streams keyed by the scenario's `seed` and a label (`random_stream`):
the stream of household "home-042" depends only on the seed and that name, so
adding, removing or reordering other households changes nothing for it.

Households are written as groups so that a city of 1,000 homes stays a short
file. A `[[households]]` table without `count` is one household named exactly
`name`; with `count = N` it expands to `name-001` .. `name-N` (at least three
digits). Numeric household settings may be a number or a range `[low, high]`:
a range is drawn uniformly per household from that household's own stream,
so a group gives variety and the same seed still gives the same city. `ev` is
a sub-table; its `share` (0..1) is the chance that a household of the group
owns an EV, drawn the same way.

Prices are written in NRG (8 decimals, like QTUM) as TOML numbers or strings
and converted exactly with `Decimal(str(value))`: 0.1 is 10,000,000 base units,
never 9,999,999. A value with more than 8 decimals is an error, not a rounding.

The file is checked completely before anything runs: an unknown key, a wrong
type, a value out of range or a fault naming a household or slot that does
not exist raises `ScenarioError`, whose message names the file, the field
(`households[2].pv_kwp`, 0-based indices as in the file) and what is allowed.
scenarios/README.md documents every key.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from p2p_energy.domain.scenario_assets import BatteryBounds, BatterySpec, GridSpec, battery_group, grid
from p2p_energy.domain.scenario_faults import AttackSpec as AttackSpec
from p2p_energy.domain.scenario_faults import FaultSpec, parse_faults
from p2p_energy.domain.scenario_faults import OfflineMeter as OfflineMeter
from p2p_energy.domain.scenario_faults import UnderDelivery as UnderDelivery
from p2p_energy.domain.scenario_fields import Limits, Table
from p2p_energy.domain.scenario_fields import ScenarioError as ScenarioError
from p2p_energy.domain.scenario_fields import nrg_to_base_units as nrg_to_base_units
from p2p_energy.domain.scenario_site import (
    GROUP_KEYS,
    MEASURED,
    SYNTHETIC,
    GroupEnergy,
    LoadsSpec,
    SiteSpec,
    SlotClock,
    group_energy,
    measured_kwh_per_day,
    orientation,
    parse_loads,
    parse_site,
    read_data_files,
    slots_of,
)
from p2p_energy.networks import DEFAULT_EVM_VERSION, EVM_VERSIONS

MARKET_MODES = ("merit", "pay_as_bid", "pay_as_clear")
#: Older names of market modes, still accepted: "uniform" is what pay-as-clear was called first.
MARKET_MODE_ALIASES = {"uniform": "pay_as_clear"}
CHAIN_PROFILES = ("local", "qtum-regtest")
MAX_SLOTS = 2_880
MIN_SLOT_LENGTH_S = 60
MAX_SLOT_LENGTH_S = 86_400
MAX_HOUSEHOLDS = 20_000
#: Households x slots of one run (a 10,000-household day of 900 s slots); keeps the energy arrays in memory.
MAX_HOUSEHOLD_SLOTS = 960_000
#: Largest chain.window_slots: a day of 15-minute slots (a meter reading covers at most 96 slots).
MAX_WINDOW_SLOTS = 96
MAX_GRACE_PERIOD_S = 7 * 86_400
#: NRG per kWh; keeps prices exact in float64 arithmetic (< 2**53 base units) and far inside uint96.
MAX_PRICE_NRG = 1_000_000
MAX_FUNDING_NRG = 10**12
MAX_SEED = 2**64 - 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def random_stream(seed: int, *labels: str | int) -> np.random.Generator:
    """An independent, reproducible random stream for (seed, labels), e.g. (42, "energy", "home-007")."""
    key = "\x1f".join([str(seed), *map(str, labels)]).encode()
    entropy = int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


# ------------------------------------------------------------------ the model


@dataclass(frozen=True)
class EvSpec:
    """An electric vehicle that arrives home once a day and charges at once."""

    kwh_per_session: float
    charger_kw: float
    arrival_hour: float


@dataclass(frozen=True)
class HouseholdSpec:
    """One household with its own meter; `pv_kwp > 0` makes it a potential seller.

    With a `[site]`, its panels' tilt and azimuth (degrees; None without a site); its loads
    come from `load_profile` (see `p2p_energy.domain.scenario_site`).
    """

    name: str
    pv_kwp: float
    load_kwh_per_day: float
    ev: EvSpec | None = None
    group: str = ""
    battery: BatterySpec | None = None
    pv_tilt_deg: float | None = None
    pv_azimuth_deg: float | None = None
    load_profile: str = SYNTHETIC

    @property
    def has_pv(self) -> bool:
        return self.pv_kwp > 0


@dataclass(frozen=True)
class PriceSpec:
    """Prices in token base units (8 decimals) per kWh; funding in base units per household.

    `bid_min`..`bid_max` is the range buyers' willingness to pay is drawn from;
    None (no `bid` key) means every buyer's limit is the grid tariff.
    """

    ask_min: int
    ask_max: int
    grid_tariff: int
    funding: int
    bid_min: int | None = None
    bid_max: int | None = None
    feed_in_tariff: int = 8_000_000
    #: NRG base units one whole coin of the chain (QTUM) is worth: how a run's fee is told as a share of the
    #: value it traded. None: not given (the share is not shown).
    coin_price: int | None = None

    @property
    def has_bids(self) -> bool:
        return self.bid_min is not None


@dataclass(frozen=True)
class MarketSpec:
    mode: str = "merit"
    min_trade_wh: int = 10
    split_offers: bool = True


@dataclass(frozen=True)
class ChainSpec:
    evm: str = DEFAULT_EVM_VERSION
    profile: str = "local"
    #: Seconds after a slot's end during which its lots settle (default: 1,800 s or window_slots slots if longer).
    grace_period_s: int = 1_800
    #: Slots matched per matchOrders round and closed per closeLots round (1: every slot, half a slot ahead).
    window_slots: int = 1


@dataclass(frozen=True)
class WeatherSpec:
    """`cloudiness` 0 is a cloudless day, 1 a mostly overcast one."""

    cloudiness: float = 0.2


@dataclass(frozen=True)
class ForecastSpec:
    """Relative standard deviation of the day-ahead forecast error of PV output and of load."""

    pv_error: float = 0.1
    load_error: float = 0.1


@dataclass(frozen=True)
class Scenario:
    """A parsed and checked scenario: every value concrete (ranges drawn), prices in base units."""

    name: str
    source: Path
    seed: int
    slots: int
    slot_length_s: int
    start_hour: float
    households: tuple[HouseholdSpec, ...]
    prices: PriceSpec
    market: MarketSpec
    chain: ChainSpec
    faults: FaultSpec
    weather: WeatherSpec = WeatherSpec()
    forecast: ForecastSpec = ForecastSpec()
    description: str = ""
    grid: GridSpec = field(default_factory=GridSpec)
    site: SiteSpec | None = None
    loads: LoadsSpec = field(default_factory=LoadsSpec)

    @property
    def household_names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.households)

    @property
    def clock(self) -> SlotClock | None:
        """When the slots are, at the site (None without a `[site]`)."""
        if self.site is None:
            return None
        return self.site.clock(self.start_hour, self.slot_length_s, self.slots)

    @property
    def slot_hours(self) -> float:
        return self.slot_length_s / 3_600

    def slot_start_hour(self, slot: int) -> float:
        """Hours from midnight of the first day to the start of `slot` (may exceed 24 on longer runs)."""
        return self.start_hour + slot * self.slot_hours

    def household_index(self, name: str) -> int:
        for index, household in enumerate(self.households):
            if household.name == name:
                return index
        raise KeyError(f"no household named {name!r} in scenario {self.name!r}")

    def rng(self, *labels: str | int) -> np.random.Generator:
        """This scenario's random stream for `labels` (see `random_stream`)."""
        return random_stream(self.seed, *labels)


# ------------------------------------------------------------------ parsing

_TOP_KEYS = (
    "name",
    "description",
    "seed",
    "slots",
    "slot_length_s",
    "start_hour",
    "households",
    "prices",
    "market",
    "chain",
    "weather",
    "forecast",
    "faults",
    "grid",
    "site",
    "loads",
)
_GROUP_KEYS = ("name", "count", "pv_kwp", "load_kwh_per_day", "ev", "battery", *GROUP_KEYS)
_EV_KEYS = ("share", "kwh_per_session", "charger_kw", "arrival_hour")
_PRICE_KEYS = ("ask", "grid_tariff", "funding", "bid", "feed_in_tariff", "coin_price")
_MARKET_KEYS = ("mode", "min_trade_wh", "split_offers")
_CHAIN_KEYS = ("evm", "profile", "grace_period_s", "window_slots")
#: Keys of the market before the gas redesign (issue 13), and what replaced them.
_REMOVED_CHAIN_KEYS = {
    "takes_per_tx": "window_slots (slots per matching and closing round)",
    "readings_per_tx": "nothing: readings travel inside closeLots, one window per meter",
    "fills_per_tx": "window_slots (slots per round); calls are cut to a Qtum transaction's size and gas",
    "lots_per_tx": "window_slots (slots per round); calls are cut to a Qtum transaction's size and gas",
}


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "no such file", "a TOML scenario file, e.g. scenarios/demo.toml") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, "", f"cannot be read ({exc})", "a readable UTF-8 TOML file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"not valid TOML ({exc})", "TOML 1.0 (https://toml.io)") from None
    return parse_scenario(data, path)


def parse_scenario(data: dict[str, Any], source: Path) -> Scenario:
    """Check a scenario given as TOML data (as `tomllib` returns it); `source` names it in messages."""
    top = Table(source, "", data)
    top.check_keys(_TOP_KEYS)
    seed = top.integer("seed", Limits(low=0, high=MAX_SEED))
    slot_length_s = top.integer(
        "slot_length_s", Limits(low=MIN_SLOT_LENGTH_S, high=MAX_SLOT_LENGTH_S, unit="seconds"), 900
    )
    place = parse_site(top.table("site"))
    slots = slots_of(top, top.table("site"), slot_length_s, Limits(low=1, high=MAX_SLOTS, unit="delivery slots"))
    spec = parse_loads(top.table("loads"), place)
    households = _households(top, seed, place, spec)
    grid_spec = grid(top.table("grid"))
    if grid_spec.buses and len(grid_spec.buses) != len(households):
        top.table("grid").fail(
            "buses",
            f"places {len(grid_spec.buses)} households, but the scenario has {len(households)}",
            "one load bus per household, in file order",
        )
    if len(households) * slots > MAX_HOUSEHOLD_SLOTS:
        top.fail(
            "slots",
            f"{slots} slots x {len(households)} households is {len(households) * slots:,} household-slots",
            f"at most {MAX_HOUSEHOLD_SLOTS:,} household-slots in one run",
        )
    start_hour = top.number("start_hour", Limits(low=0, high=24, high_open=True, unit="hour of day"), 0.0)
    measured = [h.name for h in households if h.load_profile == MEASURED]
    place, spec = read_data_files(
        top, place, spec, measured, place.clock(start_hour, slot_length_s, slots) if place else None
    )
    per_day = measured_kwh_per_day(spec, slots * slot_length_s / 86_400)
    return Scenario(
        name=top.text("name", source.stem, pattern=_NAME),  # also the report folder's name: no path
        source=source,
        seed=seed,
        slots=slots,
        slot_length_s=slot_length_s,
        start_hour=start_hour,
        households=tuple(replace(h, load_kwh_per_day=per_day[h.name]) if h.name in per_day else h for h in households),
        prices=_prices(top.table("prices")),
        market=_market(top.table("market")),
        chain=_chain(top.table("chain"), slot_length_s),
        faults=parse_faults(top.table("faults"), households, slots),
        weather=_weather(top.table("weather")),
        forecast=_forecast(top.table("forecast")),
        description=top.text("description", ""),
        grid=grid_spec,
        site=place,
        loads=spec,
    )


def _draw(bounds: tuple[float, float], u: float, decimals: int = 2) -> float:
    low, high = bounds
    if low == high:
        return low
    return min(max(round(low + (high - low) * float(u), decimals), low), high)


def _households(top: Table, seed: int, place: SiteSpec | None, spec: LoadsSpec) -> tuple[HouseholdSpec, ...]:
    groups = top.tables("households", required=True)
    if not groups:
        top.fail("households", "is empty", "at least one [[households]] table")
    households: list[HouseholdSpec] = []
    first_seen: dict[str, str] = {}
    for group in groups:
        group.check_keys(_GROUP_KEYS)
        name = group.text("name", pattern=_NAME)
        count = group.integer("count", Limits(low=1, high=MAX_HOUSEHOLDS)) if "count" in group.data else 0
        pv = group.number_or_range("pv_kwp", Limits(low=0, high=10_000, unit="kWp"), 0.0)
        energy = group_energy(group, place, spec)
        load = (
            (0.0, 0.0)  # the measured series' mean, once read (_with_measured_days)
            if energy.load_profile == MEASURED
            else group.number_or_range("load_kwh_per_day", Limits(low=0, low_open=True, high=100_000, unit="kWh"))
        )
        ev = _ev_group(group.table("ev")) if "ev" in group.data else None
        battery = battery_group(group.table("battery")) if "battery" in group.data else None
        names = [name] if count == 0 else [f"{name}-{i:0{max(3, len(str(count)))}d}" for i in range(1, count + 1)]
        for household in names:
            if household in first_seen:
                group.fail("name", f"household {household!r} is also made by {first_seen[household]}", "unique names")
            first_seen[household] = group.path
            u = random_stream(seed, "household", household).random(6)
            has_ev = ev is not None and u[2] < ev[0]
            households.append(
                HouseholdSpec(
                    name=household,
                    pv_kwp=_draw(pv, u[0]),
                    load_kwh_per_day=_draw(load, u[1]),
                    ev=EvSpec(_draw(ev[1], u[3]), _draw(ev[2], u[4]), _draw(ev[3], u[5])) if ev and has_ev else None,
                    group=name,
                    battery=_battery(battery, seed, household),
                    **_energy_of(place if _draw(pv, u[0]) > 0 else None, energy, seed, household),
                )
            )
        if len(households) > MAX_HOUSEHOLDS:
            group.fail("count", f"makes {len(households)} households in all", f"at most {MAX_HOUSEHOLDS} households")
    if not any(h.has_pv for h in households):
        top.fail(
            "households",
            "no household has PV (pv_kwp > 0), so nobody can sell",
            "at least one household with pv_kwp > 0",
        )
    return tuple(households)


def _energy_of(place: SiteSpec | None, energy: GroupEnergy, seed: int, household: str) -> dict[str, Any]:
    """`household`'s panels' orientation (drawn from stream ("orientation", name) if it has PV at a site) and
    load profile."""
    u = [float(x) for x in random_stream(seed, "orientation", household).random(2)] if place else [0.0, 0.0]
    tilt, azimuth = orientation(place, energy, u)
    return {"pv_tilt_deg": tilt, "pv_azimuth_deg": azimuth, "load_profile": energy.load_profile}


def _battery(bounds: BatteryBounds | None, seed: int, household: str) -> BatterySpec | None:
    """`household`'s battery, if its group has them and its own draw (stream ("battery", name)) gives it one."""
    if bounds is None:
        return None
    share, capacity, power, efficiency, initial, minimum, strategy, margin = bounds
    u = random_stream(seed, "battery", household).random(3)
    if u[0] >= share:
        return None
    return BatterySpec(_draw(capacity, u[1]), _draw(power, u[2]), efficiency, initial, minimum, strategy, margin)


_EvBounds = tuple[float, tuple[float, float], tuple[float, float], tuple[float, float]]


def _ev_group(ev: Table) -> _EvBounds:
    ev.check_keys(_EV_KEYS)
    return (
        ev.number("share", Limits(low=0, high=1, unit="chance that a household of the group has an EV"), 1.0),
        ev.number_or_range("kwh_per_session", Limits(low=0, low_open=True, high=10_000, unit="kWh"), 12.0),
        ev.number_or_range("charger_kw", Limits(low=0, low_open=True, high=1_000, unit="kW"), 7.4),
        ev.number_or_range("arrival_hour", Limits(low=0, high=24, high_open=True, unit="hour of day"), [17.0, 20.0]),
    )


def _prices(prices: Table) -> PriceSpec:
    prices.check_keys(_PRICE_KEYS)
    price = Limits(low=0, low_open=True, high=MAX_PRICE_NRG)
    ask_min, ask_max = prices.nrg_range("ask", price, ["0.10", "0.20"])
    grid_tariff = prices.nrg("grid_tariff", price, "0.30", what="a price in NRG per kWh")
    if ask_min > grid_tariff:
        prices.fail(
            "ask",
            "every ask is above grid_tariff, so no buyer would ever take an offer",
            "asks whose low end is at most grid_tariff",
        )
    # Zero funding would run an empty market: nobody could pay for a take.
    funding = prices.nrg("funding", Limits(low=0, low_open=True, high=MAX_FUNDING_NRG), "100", what="NRG per household")
    bid_min, bid_max = prices.nrg_range("bid", price) if "bid" in prices.data else (None, None)
    if bid_max is not None and bid_max > grid_tariff:
        prices.fail("bid", "reaches above grid_tariff: nobody pays a neighbour more than the grid", "bids <= tariff")
    # The default, 0.08 NRG/kWh, is lowered to a grid tariff below it: the grid never pays more than it charges.
    feed_in = min(
        prices.nrg("feed_in_tariff", Limits(low=0, high=MAX_PRICE_NRG), "0.08", what="a price in NRG per kWh"),
        grid_tariff if "feed_in_tariff" not in prices.data else MAX_PRICE_NRG * 10**8,
    )
    if feed_in > grid_tariff:
        prices.fail("feed_in_tariff", "is above grid_tariff", "a feed-in tariff <= grid_tariff")
    coin = None
    if "coin_price" in prices.data:
        coin = prices.nrg("coin_price", Limits(low=0, low_open=True, high=MAX_FUNDING_NRG), what="NRG per coin")
    return PriceSpec(ask_min, ask_max, grid_tariff, funding, bid_min, bid_max, feed_in, coin)


def _market(market: Table) -> MarketSpec:
    market.check_keys(_MARKET_KEYS)
    return MarketSpec(
        mode=_mode(market),
        min_trade_wh=market.integer("min_trade_wh", Limits(low=1, high=1_000_000, unit="Wh"), 10),
        split_offers=market.boolean("split_offers", True),
    )


def _mode(market: Table) -> str:
    value = market.data.get("mode", "merit")
    if isinstance(value, str) and value in MARKET_MODE_ALIASES:
        return MARKET_MODE_ALIASES[value]
    return market.choice("mode", MARKET_MODES, "merit")


def _chain(chain: Table, slot_length_s: int) -> ChainSpec:
    for key, instead in _REMOVED_CHAIN_KEYS.items():
        if key in chain.data:
            chain.fail(
                key,
                "is no longer a setting (the escrow takes standing orders and packed batches since escrow v3)",
                instead,
            )
    chain.check_keys(_CHAIN_KEYS)
    window = chain.integer("window_slots", Limits(low=1, high=MAX_WINDOW_SLOTS, unit="slots"), 1)
    # A slot's lots wait for the next closing round after the slot ends: less than window_slots slots.
    wait = window * slot_length_s
    grace = chain.integer("grace_period_s", Limits(low=60, high=MAX_GRACE_PERIOD_S, unit="seconds"), max(1_800, wait))
    if grace < wait:
        chain.fail(
            "grace_period_s",
            f"is {grace} s, shorter than window_slots slots ({wait} s), about the longest a lot waits for its closing "
            "round: lots would be refunded, not settled",
            f"at least {wait} s, or fewer window_slots",
        )
    return ChainSpec(
        evm=chain.choice("evm", EVM_VERSIONS, DEFAULT_EVM_VERSION),
        profile=chain.choice("profile", CHAIN_PROFILES, "local"),
        grace_period_s=grace,
        window_slots=window,
    )


def _weather(weather: Table) -> WeatherSpec:
    weather.check_keys(("cloudiness",))
    return WeatherSpec(weather.number("cloudiness", Limits(low=0, high=1, unit="0 clear .. 1 overcast"), 0.2))


def _forecast(forecast: Table) -> ForecastSpec:
    forecast.check_keys(("pv_error", "load_error"))
    limits = Limits(low=0, high=1, unit="relative standard deviation")
    return ForecastSpec(forecast.number("pv_error", limits, 0.1), forecast.number("load_error", limits, 0.1))
