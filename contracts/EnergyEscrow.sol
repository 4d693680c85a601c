// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {SlotClock} from "./SlotClock.sol";

/**
 * @title EnergyEscrow
 * @notice Offers of energy for future delivery slots, escrowed trades, and
 * settlement against the seller's signed meter readings.
 *
 * Flow: a seller with an active meter offers Wh for a future slot at a price
 * per kWh; buyers take all or part of offers before the slot starts, paying
 * into escrow; after the slot, the seller's readings give the energy it
 * exported, and every trade of that (meter, slot) "lot" is paid pro rata:
 *
 *     delivered = min(exported, sold)            (sold = Wh taken in the lot)
 *     paid      = floor(cost * delivered / sold) (to the seller)
 *     refunded  = cost - paid                    (to the buyer)
 *
 * where cost = ceil(wh * pricePerKWh / 1000) was locked when the trade was
 * taken (rounded up so that no take is free). paid + refunded == cost for
 * every trade, so rounding never creates or loses a token unit; the floor
 * favours the buyer by less than one unit per trade, and paid never exceeds
 * price x taken. If the lot is not settled by slot end + grace period (no
 * valid readings, or the meter was revoked), anyone may refund it: every
 * buyer gets its full cost back.
 *
 * Payouts are credited, then withdrawn by their owners (pull payments):
 * nothing is pushed to many addresses in a loop, which on Qtum would also
 * mean one transaction output per recipient.
 *
 * Invariants (checked by the test suite after every step of random runs):
 * - token.balanceOf(this) == totalLocked + totalCredited;
 * - a lot is settled or refunded at most once, so no trade is paid twice;
 * - every trade ends paid (settled lot) or refunded;
 * - paid to the seller <= price x taken.
 *
 * Native value is never accepted: there is no payable function, receive or
 * fallback. Every loop is bounded by a constant below.
 */
contract EnergyEscrow is SlotClock {
    using SafeERC20 for IERC20;

    /// @notice Most offers one {takeOffers} call takes.
    uint256 public constant MAX_TAKES_PER_CALL = 100;
    /// @notice Most trades in one (meter, slot) lot, so settling a lot is bounded.
    uint256 public constant MAX_TRADES_PER_LOT = 50;
    /// @notice Most lots one {settleLots} or {refundLots} call handles.
    uint256 public constant MAX_LOTS_PER_CALL = 200;
    /// @notice Most trades one {settleLots} or {refundLots} call closes, so a call fits a block:
    /// closing a trade costs at most ~30,000 gas (a first credit to a fresh buyer included),
    /// so 800 trades stay below 25M gas, under the 30M of Ethereum and 40M of Qtum blocks.
    uint256 public constant MAX_TRADES_PER_CALL = 800;

    uint256 private constant WH_PER_KWH = 1000;

    enum LotState {
        None,
        Open,
        Settled,
        Refunded
    }

    // One storage slot each.
    struct Offer {
        uint32 meterId;
        uint64 slot;
        uint64 remainingWh;
        uint96 pricePerKWh;
    }

    struct Lot {
        uint64 soldWh;
        uint128 cost;
        uint32 trades;
        LotState state;
    }

    struct Trade {
        address buyer;
        uint96 cost;
    }

    /// @notice One part of a {takeOffers} call: take `wh` from offer `offerId`.
    struct Take {
        uint256 offerId;
        uint64 wh;
    }

    /// @notice A (meter, slot) lot, as named in {settleLots} and {refundLots}.
    struct LotRef {
        uint32 meterId;
        uint64 slot;
    }

    /// @notice The token trades are paid in.
    IERC20 public immutable token;
    /// @notice Where meters and their readings are.
    IMeterRegistry public immutable registry;
    /// @notice Seconds after a slot's end during which it can be settled; after that it can only be refunded.
    uint64 public immutable gracePeriod;

    /// @notice Id the next offer gets (ids start at 1).
    uint256 public nextOfferId = 1;
    /// @notice Tokens held for open trades.
    uint128 public totalLocked;
    /// @notice Tokens credited to accounts and not yet withdrawn.
    uint128 public totalCredited;

    mapping(uint256 offerId => Offer) private _offers;
    mapping(uint96 lotKey => Lot) private _lots;
    mapping(uint256 tradeId => Trade) private _trades;
    mapping(address account => uint256) private _credits;

    /// @notice Emitted when a seller offers energy.
    event OfferPosted(
        uint256 indexed offerId, uint32 indexed meterId, uint64 indexed slot, address seller, uint64 wh, uint96 pricePerKWh
    );
    /// @notice Emitted when a seller cancels the untaken rest of an offer.
    event OfferCancelled(uint256 indexed offerId, uint64 cancelledWh);
    /// @notice Emitted for every part of an offer a buyer takes; `cost` is now locked.
    event TradeOpened(uint256 indexed tradeId, uint256 indexed offerId, address indexed buyer, uint64 wh, uint96 cost);
    /// @notice Emitted when a trade's locked cost is split between seller (`paid`) and buyer (`refunded`).
    event TradeClosed(uint256 indexed tradeId, address indexed buyer, uint96 paid, uint96 refunded);
    /// @notice Emitted when a lot is settled against the seller's readings.
    event LotSettled(
        uint32 indexed meterId,
        uint64 indexed slot,
        address indexed seller,
        uint64 soldWh,
        uint64 deliveredWh,
        uint128 paid,
        uint128 refunded
    );
    /// @notice Emitted when a lot is refunded in full after its grace period.
    event LotRefunded(uint32 indexed meterId, uint64 indexed slot, uint128 refunded);
    /// @notice Emitted when an account withdraws its credited tokens.
    event Withdrawn(address indexed account, uint256 amount);

    error ZeroAmount();
    error ZeroPrice();
    error InvalidAccount();
    error NotMeterOwner(uint32 meterId, address caller, address owner);
    error MeterNotActive(uint32 meterId);
    error TradingClosed(uint64 slot, uint256 startedAt);
    error OfferUnavailable(uint256 offerId);
    error ExceedsOffer(uint256 offerId, uint64 requestedWh, uint64 remainingWh);
    error BuyerIsSeller(uint256 offerId, address buyer);
    error LotFull(uint32 meterId, uint64 slot, uint256 maxTrades);
    error AmountTooLarge(uint256 value, uint256 max);
    error LotNotOpen(uint32 meterId, uint64 slot, LotState state);
    error SlotNotOver(uint32 meterId, uint64 slot, uint256 endsAt);
    error SettlementWindowClosed(uint32 meterId, uint64 slot, uint256 closedAt);
    error DeliveryUnknown(uint32 meterId, uint64 slot);
    error RefundNotYetDue(uint32 meterId, uint64 slot, uint256 dueAt);
    error NothingToWithdraw(address account);
    error BatchTooLarge(uint256 size, uint256 max);

    /**
     * @param token_ The payment token (an ERC20/QRC20).
     * @param registry_ The meter registry; its slot clock is copied here.
     * @param gracePeriod_ Seconds after a slot's end to settle it.
     */
    constructor(IERC20 token_, IMeterRegistry registry_, uint64 gracePeriod_)
        SlotClock(registry_.genesis(), registry_.slotLength())
    {
        if (address(token_) == address(0)) revert InvalidAccount();
        token = token_;
        registry = registry_;
        gracePeriod = gracePeriod_;
    }

    // ---------------------------------------------------------------- offers

    /**
     * @notice Offers `wh` of meter `meterId`'s energy for delivery in `slot` at
     * `pricePerKWh` token base units per kWh.
     *
     * Requirements:
     * - the caller owns the meter and the meter is active;
     * - `slot` has not started;
     * - `wh` and `pricePerKWh` are not zero.
     *
     * Emits an {OfferPosted} event.
     */
    function postOffer(uint32 meterId, uint64 slot, uint64 wh, uint96 pricePerKWh)
        external
        returns (uint256 offerId)
    {
        if (wh == 0) revert ZeroAmount();
        if (pricePerKWh == 0) revert ZeroPrice();
        _requireBeforeStart(slot);
        _requireSeller(meterId);
        offerId = nextOfferId++;
        _offers[offerId] = Offer({meterId: meterId, slot: slot, remainingWh: wh, pricePerKWh: pricePerKWh});
        emit OfferPosted(offerId, meterId, slot, msg.sender, wh, pricePerKWh);
    }

    /**
     * @notice Withdraws the untaken rest of offer `offerId`. Trades already taken stand.
     *
     * Requirements:
     * - the caller owns the offer's meter;
     * - the offer has something left;
     * - its slot has not started.
     *
     * Emits an {OfferCancelled} event.
     */
    function cancelOffer(uint256 offerId) external {
        Offer memory offer = _offers[offerId];
        if (offer.remainingWh == 0) revert OfferUnavailable(offerId);
        _requireBeforeStart(offer.slot);
        // Only ownership matters: the owner of a revoked meter may still withdraw its untaken offer.
        // slither-disable-next-line unused-return
        (address owner,) = registry.meterOwner(offer.meterId);
        if (msg.sender != owner) revert NotMeterOwner(offer.meterId, msg.sender, owner);
        _offers[offerId].remainingWh = 0;
        emit OfferCancelled(offerId, offer.remainingWh);
    }

    // ---------------------------------------------------------------- trades

    /**
     * @notice Takes energy from one or more offers; the total cost is pulled from
     * the caller into escrow (approve this contract first).
     *
     * Requirements, for each take:
     * - the offer has at least `wh` left, and `wh` is not zero;
     * - the offer's slot has not started and its meter is active;
     * - the caller does not own the offer's meter;
     * - the (meter, slot) lot has fewer than {MAX_TRADES_PER_LOT} trades.
     * And at most {MAX_TAKES_PER_CALL} takes.
     *
     * Emits a {TradeOpened} event per take.
     */
    function takeOffers(Take[] calldata takes) external returns (uint256 totalCost) {
        if (takes.length > MAX_TAKES_PER_CALL) revert BatchTooLarge(takes.length, MAX_TAKES_PER_CALL);
        for (uint256 i = 0; i < takes.length; ++i) {
            totalCost += _take(takes[i].offerId, takes[i].wh);
        }
        totalLocked = _toUint128(totalLocked + totalCost);
        _pull(msg.sender, totalCost);
    }

    // ---------------------------------------------------------- settlement

    /**
     * @notice Settles the trades of meter `meterId` in `slot` against its readings.
     *
     * Requirements:
     * - the lot is open (has trades, not settled or refunded);
     * - the slot is over and its grace period is not;
     * - the meter is active and the registry knows its export in the slot.
     *
     * Emits a {TradeClosed} event per trade and a {LotSettled} event.
     */
    function settleLot(uint32 meterId, uint64 slot) external {
        // One lot holds at most MAX_TRADES_PER_LOT <= MAX_TRADES_PER_CALL trades.
        (uint256 released,) = _settle(meterId, slot);
        _release(released);
    }

    /**
     * @notice Settles several lots, all or none.
     *
     * Requirements: as {settleLot} for each lot; at most {MAX_LOTS_PER_CALL}
     * lots and {MAX_TRADES_PER_CALL} trades in all.
     *
     * Emits the events of {settleLot} for each lot.
     */
    function settleLots(LotRef[] calldata lots) external {
        if (lots.length > MAX_LOTS_PER_CALL) revert BatchTooLarge(lots.length, MAX_LOTS_PER_CALL);
        uint256 released = 0;
        uint256 trades = 0;
        for (uint256 i = 0; i < lots.length; ++i) {
            (uint256 lotCost, uint256 lotTrades) = _settle(lots[i].meterId, lots[i].slot);
            released += lotCost;
            trades += lotTrades;
        }
        if (trades > MAX_TRADES_PER_CALL) revert BatchTooLarge(trades, MAX_TRADES_PER_CALL);
        _release(released);
    }

    /**
     * @notice Refunds every trade of meter `meterId` in `slot` in full; anyone may call.
     *
     * Requirements:
     * - the lot is open;
     * - the slot's grace period is over (so it can no longer be settled).
     *
     * Emits a {TradeClosed} event per trade and a {LotRefunded} event.
     */
    function refundLot(uint32 meterId, uint64 slot) external {
        // One lot holds at most MAX_TRADES_PER_LOT <= MAX_TRADES_PER_CALL trades.
        (uint256 released,) = _refund(meterId, slot);
        _release(released);
    }

    /**
     * @notice Refunds several lots, all or none.
     *
     * Requirements: as {refundLot} for each lot; at most {MAX_LOTS_PER_CALL}
     * lots and {MAX_TRADES_PER_CALL} trades in all.
     *
     * Emits the events of {refundLot} for each lot.
     */
    function refundLots(LotRef[] calldata lots) external {
        if (lots.length > MAX_LOTS_PER_CALL) revert BatchTooLarge(lots.length, MAX_LOTS_PER_CALL);
        uint256 released = 0;
        uint256 trades = 0;
        for (uint256 i = 0; i < lots.length; ++i) {
            (uint256 lotCost, uint256 lotTrades) = _refund(lots[i].meterId, lots[i].slot);
            released += lotCost;
            trades += lotTrades;
        }
        if (trades > MAX_TRADES_PER_CALL) revert BatchTooLarge(trades, MAX_TRADES_PER_CALL);
        _release(released);
    }

    /**
     * @notice Sends the caller everything credited to it.
     *
     * Requirements: something is credited to the caller.
     *
     * Emits a {Withdrawn} event.
     */
    function withdraw() external {
        uint256 amount = _credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _credits[msg.sender] = 0;
        // amount <= totalCredited: every credit was added to both.
        totalCredited -= uint128(amount);
        emit Withdrawn(msg.sender, amount);
        _push(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice Tokens credited to `account` and not yet withdrawn.
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @notice Offer `offerId` (all zero if it never existed).
    function offerOf(uint256 offerId) external view returns (Offer memory) {
        return _offers[offerId];
    }

    /// @notice The (meter, slot) lot.
    function lotOf(uint32 meterId, uint64 slot) external view returns (Lot memory) {
        return _lots[lotKey(meterId, slot)];
    }

    /// @notice An open trade (deleted once its lot is settled or refunded).
    function tradeOf(uint256 tradeId) external view returns (Trade memory) {
        return _trades[tradeId];
    }

    /// @notice Key of the (meter, slot) lot: meter id in the high 32 bits, slot in the low 64.
    function lotKey(uint32 meterId, uint64 slot) public pure returns (uint96) {
        return (uint96(meterId) << 64) | slot;
    }

    /// @notice Id of the `index`-th trade of a lot: the lot key above a 32-bit index.
    function tradeIdOf(uint32 meterId, uint64 slot, uint32 index) public pure returns (uint256) {
        return (uint256(lotKey(meterId, slot)) << 32) | index;
    }

    // -------------------------------------------------------------- internal

    function _take(uint256 offerId, uint64 wh) private returns (uint96 cost) {
        Offer memory offer = _offers[offerId];
        if (offer.remainingWh == 0) revert OfferUnavailable(offerId);
        if (wh == 0) revert ZeroAmount();
        if (wh > offer.remainingWh) revert ExceedsOffer(offerId, wh, offer.remainingWh);
        _requireBeforeStart(offer.slot);
        // The registry is fixed at deployment and only reverts for an unknown meter, which should fail the whole batch.
        // slither-disable-next-line calls-loop
        (address owner, bool active) = registry.meterOwner(offer.meterId);
        if (!active) revert MeterNotActive(offer.meterId);
        if (msg.sender == owner) revert BuyerIsSeller(offerId, msg.sender);

        uint256 fullCost = (uint256(wh) * offer.pricePerKWh + WH_PER_KWH - 1) / WH_PER_KWH;
        if (fullCost > type(uint96).max) revert AmountTooLarge(fullCost, type(uint96).max);
        cost = uint96(fullCost);

        uint96 key = lotKey(offer.meterId, offer.slot);
        Lot memory lot = _lots[key];
        if (lot.trades >= MAX_TRADES_PER_LOT) revert LotFull(offer.meterId, offer.slot, MAX_TRADES_PER_LOT);
        uint256 soldWh = uint256(lot.soldWh) + wh;
        if (soldWh > type(uint64).max) revert AmountTooLarge(soldWh, type(uint64).max);
        uint256 tradeId = (uint256(key) << 32) | lot.trades;

        // wh <= remainingWh was checked above.
        _offers[offerId].remainingWh = offer.remainingWh - wh;
        _lots[key] = Lot({
            soldWh: uint64(soldWh),
            cost: _toUint128(uint256(lot.cost) + cost),
            trades: lot.trades + 1,
            state: LotState.Open
        });
        _trades[tradeId] = Trade({buyer: msg.sender, cost: cost});
        emit TradeOpened(tradeId, offerId, msg.sender, wh, cost);
    }

    function _settle(uint32 meterId, uint64 slot) private returns (uint256 released, uint256 trades) {
        uint96 key = lotKey(meterId, slot);
        Lot memory lot = _lots[key];
        if (lot.state != LotState.Open) revert LotNotOpen(meterId, slot, lot.state);
        uint256 endsAt = slotEnd(slot);
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp < endsAt) revert SlotNotOver(meterId, slot, endsAt);
        if (block.timestamp >= endsAt + gracePeriod) revert SettlementWindowClosed(meterId, slot, endsAt + gracePeriod);
        // The registry is fixed at deployment and only reverts for an unknown meter, which should fail the whole batch.
        // slither-disable-next-line calls-loop
        (address seller, bool active, bool known, uint64 exportedWh) = registry.delivery(meterId, slot);
        if (!active) revert MeterNotActive(meterId);
        if (!known) revert DeliveryUnknown(meterId, slot);

        uint64 deliveredWh = exportedWh < lot.soldWh ? exportedWh : lot.soldWh;
        uint256 paidTotal = 0;
        for (uint256 i = 0; i < lot.trades; ++i) {
            uint256 tradeId = (uint256(key) << 32) | i;
            Trade memory trade = _trades[tradeId];
            // The settlement rule (see the contract's NatSpec). cost < 2^96 and
            // deliveredWh <= soldWh < 2^64, so the product fits and paid <= cost.
            uint96 paid = uint96((uint256(trade.cost) * deliveredWh) / lot.soldWh);
            uint96 refunded = trade.cost - paid;
            // Freeing a closed trade's storage earns a gas refund; the loop is bounded by MAX_TRADES_PER_LOT.
            // slither-disable-next-line costly-loop
            delete _trades[tradeId];
            if (refunded != 0) _credit(trade.buyer, refunded);
            paidTotal += paid;
            emit TradeClosed(tradeId, trade.buyer, paid, refunded);
        }
        _lots[key].state = LotState.Settled;
        if (paidTotal != 0) _credit(seller, paidTotal);
        // paidTotal <= lot.cost: each paid <= its trade's cost.
        emit LotSettled(meterId, slot, seller, lot.soldWh, deliveredWh, uint128(paidTotal), lot.cost - uint128(paidTotal));
        return (lot.cost, lot.trades);
    }

    function _refund(uint32 meterId, uint64 slot) private returns (uint256 released, uint256 trades) {
        uint96 key = lotKey(meterId, slot);
        Lot memory lot = _lots[key];
        if (lot.state != LotState.Open) revert LotNotOpen(meterId, slot, lot.state);
        uint256 dueAt = slotEnd(slot) + gracePeriod;
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp < dueAt) revert RefundNotYetDue(meterId, slot, dueAt);
        for (uint256 i = 0; i < lot.trades; ++i) {
            uint256 tradeId = (uint256(key) << 32) | i;
            Trade memory trade = _trades[tradeId];
            // Freeing a closed trade's storage earns a gas refund; the loop is bounded by MAX_TRADES_PER_LOT.
            // slither-disable-next-line costly-loop
            delete _trades[tradeId];
            _credit(trade.buyer, trade.cost);
            emit TradeClosed(tradeId, trade.buyer, 0, trade.cost);
        }
        _lots[key].state = LotState.Refunded;
        emit LotRefunded(meterId, slot, lot.cost);
        return (lot.cost, lot.trades);
    }

    function _requireBeforeStart(uint64 slot) private view {
        uint256 startsAt = slotStart(slot);
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp >= startsAt) revert TradingClosed(slot, startsAt);
    }

    function _requireSeller(uint32 meterId) private view {
        (address owner, bool active) = registry.meterOwner(meterId);
        if (msg.sender != owner) revert NotMeterOwner(meterId, msg.sender, owner);
        if (!active) revert MeterNotActive(meterId);
    }

    // Money moves only through the three functions below: _pull (into escrow,
    // locked), _credit (locked -> credited, inside the contract) and _push
    // (credited -> out). _release moves the locked total to the credited total
    // once per call, which keeps balance == totalLocked + totalCredited.

    function _pull(address from, uint256 amount) private {
        if (amount != 0) IERC20(token).safeTransferFrom(from, address(this), amount);
    }

    function _credit(address account, uint256 amount) private {
        _credits[account] += amount;
    }

    function _push(address to, uint256 amount) private {
        IERC20(token).safeTransfer(to, amount);
    }

    function _release(uint256 amount) private {
        // amount <= totalLocked: it is the sum of open lots' costs, each added when taken.
        totalLocked -= uint128(amount);
        totalCredited = _toUint128(totalCredited + amount);
    }

    function _toUint128(uint256 value) private pure returns (uint128) {
        if (value > type(uint128).max) revert AmountTooLarge(value, type(uint128).max);
        return uint128(value);
    }
}
