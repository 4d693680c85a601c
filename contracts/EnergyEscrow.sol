// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {Signature} from "./Signature.sol";
import {SlotClock} from "./SlotClock.sol";

/**
 * @title EnergyEscrow
 * @notice Prepaid balances, signed orders matched into escrowed trades, and
 * settlement against the seller's signed meter readings.
 *
 * Flow: accounts deposit tokens into their balances ({deposit}, or an
 * operator's {depositFor}). Sellers sign asks (Wh of a meter in a slot, at
 * least a price per kWh) and buyers sign bids (at most Wh and a price per kWh
 * in a slot) off chain, each with its own account key; on Qtum, where
 * `ecrecover` never yields an account's address, with a key the account names
 * once with {setTrader}. Anyone submits a slot's matches before the slot
 * starts ({matchOrders}): each fill moves a cost from the buyer's balance into
 * escrow. After the slot, the meter's signed reading of its export in the slot
 * ({IMeterRegistry-exportProven}) settles every trade of that (meter, slot)
 * "lot" pro rata:
 *
 *     delivered = min(exported, sold)            (sold = Wh matched in the lot)
 *     paid      = floor(cost * delivered / sold) (to the seller)
 *     refunded  = cost - paid                    (to the buyer)
 *
 * where cost = ceil(wh * pricePerKWh / 1000) was locked at the match (rounded
 * up so that no trade is free). paid + refunded == cost for every trade, so
 * rounding never creates or loses a token unit; the floor favours the buyer by
 * less than one unit per trade, and a seller is paid at most the cost, which
 * may exceed wh x price / 1000 by less than one unit. If the lot is not settled
 * by slot end + grace period (no reading, or the meter was revoked), anyone
 * may refund it: every buyer gets its full cost back.
 *
 * Gas: a lot is one storage word, a running commitment (hash) of its trades;
 * settling or refunding a lot is given its trades in calldata and checks them
 * against it. Payouts and refunds are credited to balances, withdrawn by their
 * owners (pull payments): nothing is pushed to many addresses in a loop, which
 * on Qtum would also mean one transaction output per recipient.
 *
 * What a submitter of matches can and cannot do: it chooses who trades with
 * whom and the price, but never a fill below the ask's price or above the bid's,
 * never more than an ask's Wh in its lot or a bid's Wh in its slot, never a
 * fill below the ask's minimum, never for a slot that started or starts beyond
 * {MAX_HORIZON}, and never from a buyer's balance without the buyer's bid.
 *
 * Invariants (checked by the test suite after every step of random runs):
 * - token.balanceOf(this) == totalBalances + totalLocked;
 * - totalLocked == sum of the open lots' costs, totalBalances == sum of balances;
 * - a lot is settled or refunded at most once, so no trade is paid twice;
 * - every trade ends paid (settled lot) or refunded, and paid <= its cost.
 *
 * Native value is never accepted: there is no payable function, receive or
 * fallback. Every loop is bounded by a constant below.
 */
contract EnergyEscrow is SlotClock, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Most asks in one {matchOrders} call.
    uint256 public constant MAX_ASKS_PER_CALL = 200;
    /// @notice Most bids in one {matchOrders} call.
    uint256 public constant MAX_BIDS_PER_CALL = 400;
    /// @notice Most fills (trades) in one {matchOrders} call.
    uint256 public constant MAX_FILLS_PER_CALL = 800;
    /// @notice Most accounts one {depositFor} call funds.
    uint256 public constant MAX_DEPOSITS_PER_CALL = 200;
    /// @notice Most trades in one (meter, slot) lot over all {matchOrders} calls, so settling a lot is bounded.
    uint256 public constant MAX_TRADES_PER_LOT = 50;
    /// @notice Most lots one {settleLots} or {refundLots} call handles.
    uint256 public constant MAX_LOTS_PER_CALL = 200;
    /// @notice Most trades one {settleLots} or {refundLots} call closes, so a call fits a block.
    uint256 public constant MAX_TRADES_PER_CALL = 800;
    /// @notice Orders for a slot that starts more than this many seconds from now are refused,
    /// so a careless bid cannot lock tokens for ages.
    uint256 public constant MAX_HORIZON = 7 days;

    /// @notice EIP-712 type of an ask.
    bytes32 public constant ASK_TYPEHASH =
        keccak256("Ask(uint32 meterId,uint64 slot,uint64 wh,uint64 minWh,uint96 minPricePerKWh)");
    /// @notice EIP-712 type of a bid.
    bytes32 public constant BID_TYPEHASH =
        keccak256("Bid(address account,uint64 slot,uint64 maxWh,uint96 maxPricePerKWh)");

    uint256 private constant WH_PER_KWH = 1000;

    /// @notice A seller's signed offer: up to `wh` of meter `meterId` in `slot`, in fills of at least
    /// `minWh`, at `minPricePerKWh` token base units per kWh or more.
    struct Ask {
        uint32 meterId;
        uint64 slot;
        uint64 wh;
        uint64 minWh;
        uint96 minPricePerKWh;
    }

    /// @notice A buyer's signed bid: up to `maxWh` in `slot` for `account`, at most `maxPricePerKWh`.
    struct Bid {
        address account;
        uint64 slot;
        uint64 maxWh;
        uint96 maxPricePerKWh;
    }

    /// @notice An ask and its signature by the meter owner's key (or the key it named with {setTrader}).
    struct SignedAsk {
        Ask ask;
        Signature signature;
    }

    /// @notice A bid and its signature by the account's key (or the key it named with {setTrader}).
    struct SignedBid {
        Bid bid;
        Signature signature;
    }

    /// @notice One trade of a {matchOrders} call: `wh` of ask `ask` to bid `bid` (indices) at a price.
    struct Fill {
        uint16 ask;
        uint16 bid;
        uint64 wh;
        uint96 pricePerKWh;
    }

    /// @notice A trade as a lot's commitment covers it, in the order it was matched.
    struct LotTrade {
        address buyer;
        uint64 wh;
        uint96 cost;
    }

    /// @notice A lot and all its trades, as {refundLots} is given them.
    struct LotTrades {
        uint32 meterId;
        uint64 slot;
        LotTrade[] trades;
    }

    /// @notice A lot, its trades and the meter's signed reading that proves its export, as {settleLots} is given them.
    struct LotProof {
        LotTrades lot;
        IMeterRegistry.Reading reading;
        Signature signature;
    }

    // One storage slot. (bidSlot, bidWh): the Wh of the account's bid matched so far in its latest
    // matched slot, so one bid is never matched beyond its Wh, across any number of calls.
    struct Account {
        uint128 balance;
        uint64 bidSlot;
        uint64 bidWh;
    }

    // One storage slot: a running hash of the lot's trades (192 bits: finding two trade lists with
    // one hash takes about 2^96 hashes), the Wh sold and the number of trades. Zero when closed.
    struct Lot {
        bytes24 commitment;
        uint48 soldWh;
        uint16 trades;
    }

    // An ask as one {matchOrders} call works with it: read from calldata and storage once,
    // changed in memory, written back once.
    struct AskState {
        uint32 meterId;
        address seller;
        uint64 wh;
        uint64 minWh;
        uint96 minPricePerKWh;
        Lot lot;
    }

    // A bid as one {matchOrders} call works with it.
    struct BidState {
        address account;
        uint64 maxWh;
        uint96 maxPricePerKWh;
        Account state;
    }

    /// @notice The token trades are paid in.
    IERC20 public immutable token;
    /// @notice Where meters are, and what proves their export.
    IMeterRegistry public immutable registry;
    /// @notice Seconds after a slot's end during which it can be settled; after that it can only be refunded.
    uint64 public immutable gracePeriod;

    /// @notice Tokens in balances (free to match or withdraw).
    uint128 public totalBalances;
    /// @notice Tokens locked in open lots.
    uint128 public totalLocked;

    mapping(address account => Account) private _accounts;
    mapping(address account => address) private _traders;
    mapping(uint96 lotKey => Lot) private _lots;

    /// @notice Emitted when an account deposits tokens into its balance.
    event Deposited(address indexed account, uint256 amount);
    /// @notice Emitted when an account withdraws from its balance.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when an account names the key that signs its orders.
    event TraderSet(address indexed account, address signer);
    /// @notice Emitted for every fill: `cost` = ceil(`wh` * `pricePerKWh` / 1000) moved from `buyer`'s balance
    /// into lot `lotKey` (see {lotKey}). A lot's trades are its Traded events in order.
    event Traded(uint96 indexed lotKey, address buyer, uint64 wh, uint96 pricePerKWh, uint96 cost);
    /// @notice Emitted when a lot is settled against its meter's reading; each trade got its
    /// share of `paid` by the settlement rule and the rest back.
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
    /// @notice Emitted when a batch names a lot that is not open (closed already, or never matched): it is skipped.
    event LotSkipped(uint32 indexed meterId, uint64 indexed slot);

    error ZeroAmount();
    error InvalidAccount();
    error InvalidGracePeriod();
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    /// @notice An order of `account` signed by neither its own key nor the key it named with {setTrader}
    /// (`expected`, zero if none); `recovered` is the signer's `ecrecover` address.
    error InvalidOrderSignature(address account, address recovered, address expected);
    error WrongSlot(uint64 slot, uint64 expected);
    error TradingClosed(uint64 slot, uint256 startedAt);
    /// @notice `slot` starts at `startsAt`, after `latestStart` = now + {MAX_HORIZON}.
    error SlotTooFar(uint64 slot, uint256 startsAt, uint256 latestStart);
    /// @notice Ask or bid number `index` does not come strictly after the one before it (meter id; account).
    error OrdersNotSorted(uint256 index);
    error MeterNotActive(uint32 meterId);
    error BuyerIsSeller(uint256 fill, address buyer);
    error PriceOutsideOrders(uint256 fill, uint96 price, uint96 askMin, uint96 bidMax);
    error FillTooSmall(uint256 fill, uint64 wh, uint64 minWh);
    error ExceedsAsk(uint32 meterId, uint64 slot, uint256 soldWh, uint64 askWh);
    error ExceedsBid(address account, uint64 slot, uint256 matchedWh, uint64 bidWh);
    /// @notice `account`'s bids were matched in `lastSlot` already, a later slot than `slot`.
    error BidOutOfOrder(address account, uint64 slot, uint64 lastSlot);
    error UnknownOrder(uint256 fill);
    error LotFull(uint32 meterId, uint64 slot, uint256 maxTrades);
    error AmountTooLarge(uint256 value, uint256 max);
    /// @notice The trades given for an open lot are not exactly its trades in match order (its commitment).
    error TradesMismatch(uint32 meterId, uint64 slot);
    error ReadingOfOtherLot(uint32 meterId, uint64 slot, uint32 readingMeterId, uint64 readingSlot);
    error SlotNotOver(uint32 meterId, uint64 slot, uint256 endsAt);
    error SettlementWindowClosed(uint32 meterId, uint64 slot, uint256 closedAt);
    error RefundNotYetDue(uint32 meterId, uint64 slot, uint256 dueAt);
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 accounts, uint256 amounts);

    /**
     * @param token_ The payment token (an ERC20/QRC20).
     * @param registry_ The meter registry; its slot clock is copied here.
     * @param gracePeriod_ Seconds after a slot's end to settle it (not zero: a lot could never be settled).
     */
    constructor(IERC20 token_, IMeterRegistry registry_, uint64 gracePeriod_)
        SlotClock(registry_.genesis(), registry_.slotLength())
        EIP712("P2P Energy Escrow", "2")
    {
        if (address(token_) == address(0)) revert InvalidAccount();
        if (gracePeriod_ == 0) revert InvalidGracePeriod();
        token = token_;
        registry = registry_;
        gracePeriod = gracePeriod_;
    }

    // ------------------------------------------------------------- balances

    /**
     * @notice Moves `amount` tokens from the caller into its balance (approve this contract first).
     *
     * Requirements: `amount` is not zero.
     *
     * Emits a {Deposited} event.
     */
    function deposit(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        _accounts[msg.sender].balance = _toUint128(_accounts[msg.sender].balance + amount);
        totalBalances = _toUint128(totalBalances + amount);
        emit Deposited(msg.sender, amount);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Moves tokens from the caller into the balances of `accounts`, `amounts[i]` each
     * (approve this contract first): how an operator funds many households in one call.
     *
     * Requirements: as many amounts as accounts, none zero, no zero account; at most
     * {MAX_DEPOSITS_PER_CALL} accounts.
     *
     * Emits a {Deposited} event per account.
     */
    function depositFor(address[] calldata accounts, uint256[] calldata amounts) external {
        if (accounts.length > MAX_DEPOSITS_PER_CALL) revert BatchTooLarge(accounts.length, MAX_DEPOSITS_PER_CALL);
        if (accounts.length != amounts.length) revert LengthMismatch(accounts.length, amounts.length);
        uint256 total = 0;
        for (uint256 i = 0; i < accounts.length; ++i) {
            if (amounts[i] == 0) revert ZeroAmount();
            if (accounts[i] == address(0)) revert InvalidAccount();
            _accounts[accounts[i]].balance = _toUint128(_accounts[accounts[i]].balance + amounts[i]);
            total += amounts[i];
            emit Deposited(accounts[i], amounts[i]);
        }
        totalBalances = _toUint128(totalBalances + total);
        IERC20(token).safeTransferFrom(msg.sender, address(this), total);
    }

    /**
     * @notice Sends `amount` of the caller's balance to the caller.
     *
     * Requirements: `amount` is not zero and at most the caller's balance.
     *
     * Emits a {Withdrawn} event.
     */
    function withdraw(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint128 balance = _accounts[msg.sender].balance;
        if (amount > balance) revert InsufficientBalance(msg.sender, balance, amount);
        // amount <= balance <= totalBalances.
        _accounts[msg.sender].balance = balance - uint128(amount);
        totalBalances -= uint128(amount);
        emit Withdrawn(msg.sender, amount);
        IERC20(token).safeTransfer(msg.sender, amount);
    }

    /**
     * @notice Names `signer` (an `ecrecover` address) as a key that signs the caller's orders, besides
     * the caller's own key where `ecrecover` yields the caller's address (EVM chains, not Qtum);
     * replaces any key named earlier.
     *
     * Requirements: `signer` is not the zero address.
     *
     * Emits a {TraderSet} event.
     */
    function setTrader(address signer) external {
        if (signer == address(0)) revert InvalidAccount();
        _traders[msg.sender] = signer;
        emit TraderSet(msg.sender, signer);
    }

    // -------------------------------------------------------------- matching

    /**
     * @notice Matches signed asks and bids of `slot` into escrowed trades; anyone may call.
     *
     * Requirements:
     * - every order is of `slot`, which has not started and starts within {MAX_HORIZON};
     * - asks in strictly increasing meter id, bids in strictly increasing account (as uint160),
     *   each signed by the key of the meter's owner (asks) or of the account (bids), or by
     *   the key that account named with {setTrader};
     * - every ask's meter is active; every fill names an existing ask and bid, is at least
     *   the ask's `minWh`, at a price within both orders, and its buyer is not the seller;
     * - per lot: Wh matched in all calls <= the ask's `wh`, at most {MAX_TRADES_PER_LOT} trades;
     * - per bid: Wh matched in all calls <= its `maxWh`, and its account has the cost in its balance;
     *   an account's bids are matched in slot order;
     * - at most {MAX_ASKS_PER_CALL} asks, {MAX_BIDS_PER_CALL} bids and {MAX_FILLS_PER_CALL} fills.
     *
     * Each fill locks cost = ceil(wh * pricePerKWh / 1000): rounded up, so that no fill is
     * free, and the buyer pays less than one token unit above the exact price.
     *
     * Emits a {Traded} event per fill.
     */
    function matchOrders(uint64 slot, SignedAsk[] calldata asks, SignedBid[] calldata bids, Fill[] calldata fills)
        external
    {
        if (asks.length > MAX_ASKS_PER_CALL) revert BatchTooLarge(asks.length, MAX_ASKS_PER_CALL);
        if (bids.length > MAX_BIDS_PER_CALL) revert BatchTooLarge(bids.length, MAX_BIDS_PER_CALL);
        if (fills.length > MAX_FILLS_PER_CALL) revert BatchTooLarge(fills.length, MAX_FILLS_PER_CALL);
        _requireOpenForOrders(slot);
        uint256 locked = _fillAll(slot, fills, _loadAsks(slot, asks), _loadBids(slot, bids));
        // locked <= the sum of the debited balances, each checked against its account.
        totalBalances -= uint128(locked);
        totalLocked = _toUint128(totalLocked + locked);
    }

    // ------------------------------------------------------------ settlement

    /**
     * @notice Settles lots against their meters' readings; anyone may call. A lot that is not
     * open (settled or refunded already, or never matched) is skipped, so a batch never fails
     * because someone closed one of its lots first.
     *
     * Requirements, for each open lot:
     * - `trades` are exactly the lot's trades, in the order they were matched;
     * - `reading` is of the lot's meter and slot, signed by the meter's key ({IMeterRegistry-exportProven});
     * - the slot is over and its grace period is not, and the meter is active.
     * And at most {MAX_LOTS_PER_CALL} lots and {MAX_TRADES_PER_CALL} trades in all.
     *
     * Emits a {LotSettled} event per settled lot and a {LotSkipped} event per skipped one.
     */
    function settleLots(LotProof[] calldata proofs) external {
        if (proofs.length > MAX_LOTS_PER_CALL) revert BatchTooLarge(proofs.length, MAX_LOTS_PER_CALL);
        uint256 released = 0;
        uint256 trades = 0;
        for (uint256 i = 0; i < proofs.length; ++i) {
            trades += proofs[i].lot.trades.length;
            released += _settle(proofs[i]);
        }
        if (trades > MAX_TRADES_PER_CALL) revert BatchTooLarge(trades, MAX_TRADES_PER_CALL);
        _release(released);
    }

    /**
     * @notice Refunds lots whose grace period is over in full; anyone may call. A lot that is
     * not open is skipped, as in {settleLots}.
     *
     * Requirements, for each open lot: `trades` are exactly its trades; its grace period is over.
     * And at most {MAX_LOTS_PER_CALL} lots and {MAX_TRADES_PER_CALL} trades in all.
     *
     * Emits a {LotRefunded} event per refunded lot and a {LotSkipped} event per skipped one.
     */
    function refundLots(LotTrades[] calldata lots) external {
        if (lots.length > MAX_LOTS_PER_CALL) revert BatchTooLarge(lots.length, MAX_LOTS_PER_CALL);
        uint256 released = 0;
        uint256 trades = 0;
        for (uint256 i = 0; i < lots.length; ++i) {
            trades += lots[i].trades.length;
            released += _refund(lots[i]);
        }
        if (trades > MAX_TRADES_PER_CALL) revert BatchTooLarge(trades, MAX_TRADES_PER_CALL);
        _release(released);
    }

    // ---------------------------------------------------------------- views

    /// @notice `account`'s balance, and how much of its bid in `bidSlot` was matched.
    function accountOf(address account) external view returns (Account memory) {
        return _accounts[account];
    }

    /// @notice Tokens in `account`'s balance.
    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account].balance;
    }

    /// @notice The key that signs `account`'s orders (zero if none).
    function traderOf(address account) external view returns (address) {
        return _traders[account];
    }

    /// @notice The (meter, slot) lot: all zero unless open.
    function lotOf(uint32 meterId, uint64 slot) external view returns (Lot memory) {
        return _lots[lotKey(meterId, slot)];
    }

    /// @notice Key of the (meter, slot) lot: meter id in the high 32 bits, slot in the low 64.
    function lotKey(uint32 meterId, uint64 slot) public pure returns (uint96) {
        return (uint96(meterId) << 64) | slot;
    }

    /// @notice The commitment a lot holds after `trades` were matched into it, in this order.
    function commitmentOf(LotTrade[] calldata trades) external pure returns (bytes24 commitment) {
        for (uint256 i = 0; i < trades.length; ++i) {
            commitment = _chain(commitment, trades[i].buyer, trades[i].wh, trades[i].cost);
        }
    }

    /// @notice The EIP-712 digest the owner's trader key signs for `ask`.
    function askDigest(Ask calldata ask) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(ASK_TYPEHASH, ask.meterId, ask.slot, ask.wh, ask.minWh, ask.minPricePerKWh))
        );
    }

    /// @notice The EIP-712 digest the account's trader key signs for `bid`.
    function bidDigest(Bid calldata bid) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(BID_TYPEHASH, bid.account, bid.slot, bid.maxWh, bid.maxPricePerKWh))
        );
    }

    // -------------------------------------------------------------- internal

    /// Every fill against the orders' states, then the states written back: the Wh it locked.
    function _fillAll(uint64 slot, Fill[] calldata fills, AskState[] memory asks, BidState[] memory bids)
        private
        returns (uint256 locked)
    {
        for (uint256 i = 0; i < fills.length; ++i) {
            Fill calldata fill = fills[i];
            if (fill.ask >= asks.length || fill.bid >= bids.length) revert UnknownOrder(i);
            locked += _fill(i, fill, asks[fill.ask], bids[fill.bid], slot);
        }
        for (uint256 i = 0; i < asks.length; ++i) {
            _lots[lotKey(asks[i].meterId, slot)] = asks[i].lot;
        }
        for (uint256 i = 0; i < bids.length; ++i) {
            _accounts[bids[i].account] = bids[i].state;
        }
    }

    function _loadAsks(uint64 slot, SignedAsk[] calldata asks) private view returns (AskState[] memory states) {
        states = new AskState[](asks.length);
        uint32 previous = 0;
        for (uint256 i = 0; i < asks.length; ++i) {
            Ask calldata ask = asks[i].ask;
            if (ask.slot != slot) revert WrongSlot(ask.slot, slot);
            // Strictly increasing ids: a lot is loaded once per call, so no write hides another.
            if (i > 0 && ask.meterId <= previous) revert OrdersNotSorted(i);
            previous = ask.meterId;
            // The registry is fixed at deployment and reverts only for an unknown meter, which should fail the call.
            // slither-disable-next-line calls-loop
            (address owner, bool active) = registry.meterOwner(ask.meterId);
            if (!active) revert MeterNotActive(ask.meterId);
            _requireSignedBy(owner, askDigest(ask), asks[i].signature);
            states[i] = AskState({
                meterId: ask.meterId,
                seller: owner,
                wh: ask.wh,
                minWh: ask.minWh,
                minPricePerKWh: ask.minPricePerKWh,
                lot: _lots[lotKey(ask.meterId, slot)]
            });
        }
    }

    function _loadBids(uint64 slot, SignedBid[] calldata bids) private view returns (BidState[] memory states) {
        states = new BidState[](bids.length);
        address previous = address(0);
        for (uint256 i = 0; i < bids.length; ++i) {
            Bid calldata bid = bids[i].bid;
            if (bid.slot != slot) revert WrongSlot(bid.slot, slot);
            // Strictly increasing accounts: an account is loaded once per call, so no write hides another.
            if (i > 0 && bid.account <= previous) revert OrdersNotSorted(i);
            previous = bid.account;
            _requireSignedBy(bid.account, bidDigest(bid), bids[i].signature);
            Account memory account = _accounts[bid.account];
            if (account.bidSlot > slot) revert BidOutOfOrder(bid.account, slot, account.bidSlot);
            if (account.bidSlot < slot) {
                account.bidSlot = slot;
                account.bidWh = 0;
            }
            states[i] = BidState({
                account: bid.account,
                maxWh: bid.maxWh,
                maxPricePerKWh: bid.maxPricePerKWh,
                state: account
            });
        }
    }

    function _fill(uint256 index, Fill calldata fill, AskState memory ask, BidState memory bid, uint64 slot)
        private
        returns (uint96 cost)
    {
        if (bid.account == ask.seller) revert BuyerIsSeller(index, bid.account);
        uint96 price = fill.pricePerKWh;
        if (price < ask.minPricePerKWh || price > bid.maxPricePerKWh || price == 0) {
            revert PriceOutsideOrders(index, price, ask.minPricePerKWh, bid.maxPricePerKWh);
        }
        uint64 wh = fill.wh;
        if (wh == 0 || wh < ask.minWh) revert FillTooSmall(index, wh, ask.minWh);
        uint256 fullCost = (uint256(wh) * price + WH_PER_KWH - 1) / WH_PER_KWH;
        if (fullCost > type(uint96).max) revert AmountTooLarge(fullCost, type(uint96).max);
        cost = uint96(fullCost);
        _addToLot(ask, slot, bid.account, wh, cost);
        _debit(bid, slot, wh, cost);
        emit Traded(lotKey(ask.meterId, slot), bid.account, wh, price, cost);
    }

    function _addToLot(AskState memory ask, uint64 slot, address buyer, uint64 wh, uint96 cost) private pure {
        Lot memory lot = ask.lot;
        uint256 soldWh = uint256(lot.soldWh) + wh;
        if (soldWh > ask.wh) revert ExceedsAsk(ask.meterId, slot, soldWh, ask.wh);
        if (lot.trades >= MAX_TRADES_PER_LOT) revert LotFull(ask.meterId, slot, MAX_TRADES_PER_LOT);
        // soldWh <= ask.wh < 2^64 would not fit 48 bits only for asks above 2.8e14 Wh (281 GWh) per slot.
        if (soldWh > type(uint48).max) revert AmountTooLarge(soldWh, type(uint48).max);
        lot.soldWh = uint48(soldWh);
        lot.trades += 1;
        lot.commitment = _chain(lot.commitment, buyer, wh, cost);
    }

    function _debit(BidState memory bid, uint64 slot, uint64 wh, uint96 cost) private pure {
        Account memory account = bid.state;
        uint256 matchedWh = uint256(account.bidWh) + wh;
        if (matchedWh > bid.maxWh) revert ExceedsBid(bid.account, slot, matchedWh, bid.maxWh);
        if (account.balance < cost) revert InsufficientBalance(bid.account, account.balance, cost);
        // matchedWh <= bid.maxWh < 2^64; cost <= balance.
        account.bidWh = uint64(matchedWh);
        account.balance -= cost;
    }

    function _settle(LotProof calldata proof) private returns (uint256 released) {
        LotTrades calldata given = proof.lot;
        uint64 soldWh = _openLot(given);
        if (soldWh == 0) return 0;
        _requireSettlementWindow(given.meterId, given.slot);
        (address seller, uint64 exportedWh) = _provenExport(proof);
        uint64 deliveredWh = exportedWh < soldWh ? exportedWh : soldWh;
        // Clearing its word is what closing a lot means: one write per lot, at most MAX_LOTS_PER_CALL per call.
        // slither-disable-next-line costly-loop
        delete _lots[lotKey(given.meterId, given.slot)];
        uint256 paid;
        (released, paid) = _payOut(given.trades, deliveredWh, soldWh);
        if (paid != 0) _credit(seller, paid);
        // paid <= released: each trade's pay <= its cost; both < 2^128 (50 trades of < 2^96).
        emit LotSettled(given.meterId, given.slot, seller, soldWh, deliveredWh, uint128(paid), uint128(released - paid));
    }

    function _requireSettlementWindow(uint32 meterId, uint64 slot) private view {
        uint256 endsAt = slotEnd(slot);
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp < endsAt) revert SlotNotOver(meterId, slot, endsAt);
        if (block.timestamp >= endsAt + gracePeriod) revert SettlementWindowClosed(meterId, slot, endsAt + gracePeriod);
    }

    function _provenExport(LotProof calldata proof) private view returns (address seller, uint64 exportedWh) {
        LotTrades calldata given = proof.lot;
        if (proof.reading.meterId != given.meterId || proof.reading.slot != given.slot) {
            revert ReadingOfOtherLot(given.meterId, given.slot, proof.reading.meterId, proof.reading.slot);
        }
        bool active;
        // The registry is fixed at deployment; it reverts for a reading that proves nothing, which should fail the call.
        // slither-disable-next-line calls-loop
        (seller, active, exportedWh) = registry.exportProven(proof.reading, proof.signature);
        if (!active) revert MeterNotActive(given.meterId);
    }

    /// Credits each buyer what it gets back by the settlement rule; returns the lot's cost and what the seller gets.
    function _payOut(LotTrade[] calldata trades, uint64 deliveredWh, uint64 soldWh)
        private
        returns (uint256 cost, uint256 paidTotal)
    {
        for (uint256 i = 0; i < trades.length; ++i) {
            // The settlement rule (see the contract's NatSpec). cost < 2^96 and
            // deliveredWh <= soldWh < 2^48, so the product fits and paid <= cost.
            uint256 paid = (uint256(trades[i].cost) * deliveredWh) / soldWh;
            cost += trades[i].cost;
            paidTotal += paid;
            // A buyer is credited only what it gets back (the loop is bounded by MAX_TRADES_PER_LOT).
            if (paid != trades[i].cost) _credit(trades[i].buyer, trades[i].cost - paid);
        }
    }

    function _refund(LotTrades calldata given) private returns (uint256 released) {
        if (_openLot(given) == 0) return 0;
        uint256 dueAt = slotEnd(given.slot) + gracePeriod;
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp < dueAt) revert RefundNotYetDue(given.meterId, given.slot, dueAt);
        for (uint256 i = 0; i < given.trades.length; ++i) {
            released += given.trades[i].cost;
            // The loop is bounded by MAX_TRADES_PER_LOT.
            _credit(given.trades[i].buyer, given.trades[i].cost);
        }
        // Clearing its word is what closing a lot means: one write per lot, at most MAX_LOTS_PER_CALL per call.
        // slither-disable-next-line costly-loop
        delete _lots[lotKey(given.meterId, given.slot)];
        // released < 2^128: at most 50 trades of < 2^96 each.
        emit LotRefunded(given.meterId, given.slot, uint128(released));
    }

    /// The Wh sold in the lot if it is open (then `given.trades` must be exactly its trades), else 0.
    function _openLot(LotTrades calldata given) private returns (uint64 soldWh) {
        Lot memory lot = _lots[lotKey(given.meterId, given.slot)];
        // An open lot has at least one trade of at least 1 Wh.
        if (lot.trades == 0) {
            emit LotSkipped(given.meterId, given.slot);
            return 0;
        }
        if (given.trades.length != lot.trades) revert TradesMismatch(given.meterId, given.slot);
        bytes24 commitment = 0;
        for (uint256 i = 0; i < given.trades.length; ++i) {
            LotTrade calldata trade = given.trades[i];
            commitment = _chain(commitment, trade.buyer, trade.wh, trade.cost);
        }
        if (commitment != lot.commitment) revert TradesMismatch(given.meterId, given.slot);
        return lot.soldWh;
    }

    function _chain(bytes24 commitment, address buyer, uint64 wh, uint96 cost) private pure returns (bytes24) {
        return bytes24(keccak256(abi.encodePacked(commitment, buyer, wh, cost)));
    }

    function _requireOpenForOrders(uint64 slot) private view {
        uint256 startsAt = slotStart(slot);
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp >= startsAt) revert TradingClosed(slot, startsAt);
        if (startsAt > block.timestamp + MAX_HORIZON) revert SlotTooFar(slot, startsAt, block.timestamp + MAX_HORIZON);
    }

    function _requireSignedBy(address account, bytes32 digest, Signature calldata signature) private view {
        address recovered = ECDSA.recover(digest, signature.r, signature.vs);
        // On EVM chains an account's own key signs for it (ecrecover gives its address) with no storage read;
        // on Qtum ecrecover never gives an account's address, so the key it named with {setTrader} signs.
        // (A key whose ecrecover address equals another account's HASH160 address would take a 2^160 search.)
        if (recovered == account) return;
        // recover reverts rather than return the zero address, so an account that named no key (zero) never matches.
        address trader = _traders[account];
        if (recovered != trader) revert InvalidOrderSignature(account, recovered, trader);
    }

    // Money moves only through these: deposit (into a balance), _fill (balance -> locked),
    // _credit + _release (locked -> balances) and withdraw (balance -> out). _release moves the
    // locked total to the balances' total once per call, which keeps
    // token.balanceOf(this) == totalBalances + totalLocked.

    function _credit(address account, uint256 amount) private {
        // amount < 2^128 and balances stay below totalBalances + totalLocked < 2^128.
        _accounts[account].balance += uint128(amount);
    }

    function _release(uint256 amount) private {
        // amount <= totalLocked: it is the sum of open lots' costs, each added when matched.
        totalLocked -= uint128(amount);
        totalBalances = _toUint128(totalBalances + amount);
    }

    function _toUint128(uint256 value) private pure returns (uint128) {
        if (value > type(uint128).max) revert AmountTooLarge(value, type(uint128).max);
        return uint128(value);
    }
}
