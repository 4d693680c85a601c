// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {EscrowWords as W} from "./EscrowWords.sol";
import {SlotClock} from "./SlotClock.sol";

/**
 * @title EnergyEscrow
 * @notice Prepaid balances, standing orders matched by one named matcher into escrowed trades, and
 * settlement against the seller's signed meter readings.
 *
 * Flow: accounts deposit tokens into their balances ({deposit}, or anyone's {depositFor}). A buyer signs a
 * standing bid (at most a price per kWh and Wh per slot, until a slot) and a seller a standing ask (its
 * meter, at least a price per kWh, at most Wh per slot, fills of at least `minWh`, until a slot), once for
 * many slots, each with its own account key (on Qtum, where `ecrecover` never yields an account's address,
 * with a key it names once with {setTrader}). Only the escrow's {matcher} submits them ({matchOrders}): it
 * places the signed orders and names fills, each of which moves a cost from the buyer's balance into escrow
 * before the slot starts. After the slot, the meter's signed reading of its export settles every trade of
 * that (meter, slot) "lot" pro rata ({closeLots}; anyone may call it):
 *
 *     delivered = min(exported, sold)            (sold = Wh matched in the lot)
 *     paid      = floor(cost * delivered / sold) (to the seller)
 *     refunded  = cost - paid                    (to the buyer)
 *
 * where cost = ceil(wh * pricePerKWh / 1000) was locked at the match (rounded up so that no trade is free).
 * paid + refunded == cost for every trade, so rounding never creates or loses a token unit. A lot not
 * settled by slot end + grace period (no reading, or its meter was revoked before the slot) is refunded in
 * full by the next {closeLots} that names it.
 *
 * Why one matcher: every signed order and reading the matcher sends is public while its transaction waits to
 * be mined. If anyone could submit orders, a copier could re-price every fill up to the buyers' limits, fill
 * lots with minimum-size trades, or spend an order first. Orders are signed for this escrow's EIP-712 domain
 * and only {matcher} (fixed at deployment) may submit them, so a copied order is worth nothing. A copied
 * reading is worth nothing either: it proves export only to the escrow its meter is registered for
 * ({IMeterRegistry-provenExports}), and a lot settles once, by whoever submits the reading first.
 *
 * Gas: a batch call names every account whose balance it changes once (strictly increasing addresses),
 * reads each account's storage word once, works on the words in memory and writes each back once
 * ({_commitBook}: the one place batches change balances). Lots are committed in groups of up to
 * {MAX_LOTS_PER_GROUP} lots of one slot: a group is one storage word holding a running 192-bit hash of its
 * lots and trades and a bitmap of its open lots; closing lots is given the group's trades again in calldata
 * and checks them against it. Records are packed bytes ({EscrowWords} has the layouts), so one call
 * carries hours of a neighbourhood's trades within a Qtum transaction's 100,000 bytes.
 *
 * Invariants (checked by the test suite after every step of random runs):
 * - token.balanceOf(this) == totalBalances + totalLocked;
 * - totalLocked == the costs of the open lots' trades, totalBalances == sum of balances;
 * - a lot is closed (settled or refunded) at most once, so no trade is paid twice;
 * - every trade ends paid (settled lot) or refunded, and paid <= its cost;
 * - per standing bid: Wh bought per slot <= its maxWhPerSlot, every fill's price <= its limit;
 *   per lot: Wh sold <= its ask's maxWhPerSlot, every fill's price >= its floor.
 *
 * Native value is never accepted: there is no payable function, receive or fallback. Every loop is
 * bounded by a constant below or by the length of calldata, itself bounded by {MAX_BYTES_PER_STREAM}.
 */
contract EnergyEscrow is SlotClock, EIP712 {
    using SafeERC20 for IERC20;
    using W for uint256;
    using W for bytes;

    /// @notice Most accounts one batch call names.
    uint256 public constant MAX_ACCOUNTS_PER_CALL = 2000;
    /// @notice Most bytes in one of a call's record streams (orders, matches, readings, closes).
    uint256 public constant MAX_BYTES_PER_STREAM = 200_000;
    /// @notice Most trades in one (meter, slot) lot, so closing a lot is bounded.
    uint256 public constant MAX_TRADES_PER_LOT = 50;
    /// @notice Most lots in one group (one storage word: a commitment and a bitmap of open lots).
    uint256 public constant MAX_LOTS_PER_GROUP = 64;
    /// @notice Most accounts one {depositFor} call funds or one {payOut} call pays.
    uint256 public constant MAX_DEPOSITS_PER_CALL = 200;
    /// @notice Most public keys one {nameOwnKeys} call takes.
    uint256 public constant MAX_KEYS_PER_CALL = 200;
    /// @notice Fills for a slot that starts more than this many seconds from now are skipped,
    /// so no trade locks tokens for ages.
    uint256 public constant MAX_HORIZON = 7 days;

    /// @notice EIP-712 type of a standing bid.
    bytes32 public constant BID_TYPEHASH =
        keccak256("Bid(address account,uint48 maxPricePerKWh,uint24 maxWhPerSlot,uint32 untilSlot)");
    /// @notice EIP-712 type of a standing ask.
    bytes32 public constant ASK_TYPEHASH = keccak256(
        "Ask(address account,uint32 meterId,uint48 minPricePerKWh,uint24 maxWhPerSlot,uint24 minWh,uint32 untilSlot)"
    );

    // Bit 255 of a lot's word in a group's hash chain, so a trade's word is never read as a lot's.
    uint256 private constant LOT_TAG = 1 << 255;
    uint256 private constant BID_TAG = 1;
    uint256 private constant ASK_TAG = 2;

    /// @notice A view of an account's storage word (see {EscrowWords}).
    struct AccountView {
        uint96 balance;
        uint48 bidPrice;
        uint24 bidWh;
        uint32 bidUntil;
        uint32 lastSlot;
        uint24 lastWh;
    }

    /// @notice A view of a seller's standing ask.
    struct AskView {
        uint32 meterId;
        uint48 minPrice;
        uint24 maxWh;
        uint24 minWh;
        uint32 until;
    }

    /// @notice One storage word per group: a running hash of its lots and trades (192 bits: finding two
    /// lists with one hash takes about 2^96 hashes) and a bit per lot, set while the lot is open.
    struct Group {
        bytes24 commitment;
        uint64 open;
    }

    /// @notice Per slot: the highest meter id matched in it (a slot's lots come in increasing meter id
    /// across all calls, so a lot is matched in one call only) and its number of groups.
    struct SlotBook {
        uint32 lastMeter;
        uint32 groups;
    }

    /// @notice Why a fill, an order or a lot was skipped instead of reverting the call.
    enum Skip {
        None,
        TradingClosed,
        SlotTooFar,
        NoAsk,
        AskExpired,
        NoBid,
        BidExpired,
        BuyerIsSeller,
        BelowAsk,
        AboveBid,
        TooSmall,
        AskFull,
        BidFull,
        BidOutOfOrder,
        LotFull,
        InsufficientBalance,
        StaleOrder,
        BadSignature,
        NotMeterOwner,
        NotOpen,
        NotOver,
        NoReading,
        Unproven
    }

    /// @notice The token trades are paid in.
    IERC20 public immutable token;
    /// @notice Where meters are, and what proves their export.
    IMeterRegistry public immutable registry;
    /// @notice Seconds after a slot's end during which its lots can be settled; after that only refunded.
    uint64 public immutable gracePeriod;
    /// @notice The only account that may submit orders and fills ({matchOrders}, {payOut}).
    address public immutable matcher;

    /// @notice Tokens in balances (free to match or withdraw).
    uint128 public totalBalances;
    /// @notice Tokens locked in open lots.
    uint128 public totalLocked;

    mapping(address account => uint256) private _accounts;
    mapping(address account => uint256) private _asks;
    mapping(address account => address) private _traders;
    mapping(uint32 slot => SlotBook) private _slots;
    mapping(uint64 groupKey => Group) private _groups;

    /// @notice Emitted when an account deposits tokens into its balance.
    event Deposited(address indexed account, uint256 amount);
    /// @notice Emitted when tokens leave an account's balance to the account ({withdraw}, {payOut}).
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice Emitted when an account names the key that signs its orders.
    event TraderSet(address indexed account, address signer);
    /// @notice Emitted when a standing bid is placed (replacing the account's previous one).
    event BidPlaced(address indexed account, uint48 maxPricePerKWh, uint24 maxWhPerSlot, uint32 untilSlot);
    /// @notice Emitted when a standing ask is placed (replacing the account's previous one).
    event AskPlaced(
        address indexed account,
        uint32 indexed meterId,
        uint48 minPricePerKWh,
        uint24 maxWhPerSlot,
        uint24 minWh,
        uint32 untilSlot
    );
    /// @notice Emitted when an account cancels its standing orders and every order it signed that ends at or
    /// before `untilSlot`.
    event OrdersCancelled(address indexed account, uint32 untilSlot);
    /// @notice Emitted when a signed order is not placed, and why.
    event OrderSkipped(address indexed account, Skip reason);
    /// @notice Emitted for every fill: `wh` of lot `lotKey` (see {lotKey}) to `buyer` at `pricePerKWh`;
    /// cost = ceil(wh * pricePerKWh / 1000) moved from `buyer`'s balance into escrow. A lot's trades are its
    /// Traded events in order.
    event Traded(uint96 indexed lotKey, address indexed buyer, uint24 wh, uint48 pricePerKWh);
    /// @notice Emitted for a fill that was not made, and why; the call goes on.
    event FillSkipped(uint96 indexed lotKey, address indexed buyer, Skip reason);
    /// @notice Emitted when group `group` of `slot` is committed: the `lots` lots of `slot` with Traded
    /// events in this call since the slot's previous group.
    event GroupMatched(uint32 indexed slot, uint32 group, uint8 lots);
    /// @notice Emitted when a lot is settled against its meter's reading; each trade got its share of the
    /// delivered Wh by the settlement rule and the rest back.
    event LotSettled(uint96 indexed lotKey, address indexed seller, uint64 soldWh, uint64 deliveredWh, uint128 paid);
    /// @notice Emitted when a lot is refunded in full after its grace period.
    event LotRefunded(uint96 indexed lotKey, uint128 refunded);
    /// @notice Emitted when a lot of a closing call is left as it is, and why.
    event LotSkipped(uint96 indexed lotKey, Skip reason);
    /// @notice Emitted when a closing call names a group that is closed already (every lot closed).
    event GroupSkipped(uint32 indexed slot, uint32 group);

    error ZeroAmount();
    error InvalidAccount();
    error InvalidGracePeriod();
    /// @notice Only {matcher} may submit orders and fills.
    error NotMatcher(address caller, address matcher);
    error InsufficientBalance(address account, uint256 balance, uint256 needed);
    error AmountTooLarge(uint256 value, uint256 max);
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 accounts, uint256 amounts);
    /// @notice {nameOwnKeys} takes 64-byte public keys; `length` bytes are not a whole number of them.
    error MalformedKeys(uint256 length);
    /// @notice The accounts of a batch call are not whole 20-byte addresses in strictly increasing order;
    /// `index` is the first out of order (or the count, if the bytes do not divide into addresses).
    error AccountsNotSorted(uint256 index);
    /// @notice A record names account `index` of a list of `accounts`.
    error UnknownAccount(uint256 index, uint256 accounts);
    /// @notice The call changes the balance of account `index`, which it lists only by name (after `loaded`).
    error AccountNotLoaded(uint256 index);
    /// @notice A record stream ends inside the record starting at byte `at`, or has a record it does not know.
    error MalformedRecords(uint256 at);
    /// @notice Meter `meterId`'s lot comes after meter `lastMeter`'s in `slot`: a slot's lots must come in
    /// strictly increasing meter id over all calls, so a lot is matched in one call only.
    error LotsNotSorted(uint32 slot, uint32 meterId, uint32 lastMeter);
    /// @notice A group names no lots or more than {MAX_LOTS_PER_GROUP}.
    error GroupSize(uint256 lots);
    /// @notice The lots and trades given for group `group` of `slot` are not exactly its own.
    error TradesMismatch(uint32 slot, uint32 group);

    modifier onlyMatcher() {
        if (msg.sender != matcher) revert NotMatcher(msg.sender, matcher);
        _;
    }

    /**
     * @param token_ The payment token (an ERC20/QRC20).
     * @param registry_ The meter registry; its slot clock is copied here.
     * @param gracePeriod_ Seconds after a slot's end to settle it (not zero: a lot could never be settled).
     * @param matcher_ The only account that may submit orders and fills.
     */
    constructor(IERC20 token_, IMeterRegistry registry_, uint64 gracePeriod_, address matcher_)
        SlotClock(registry_.genesis(), registry_.slotLength())
        EIP712("P2P Energy Escrow", "3")
    {
        if (address(token_) == address(0) || matcher_ == address(0)) revert InvalidAccount();
        if (gracePeriod_ == 0) revert InvalidGracePeriod();
        token = token_;
        registry = registry_;
        gracePeriod = gracePeriod_;
        matcher = matcher_;
    }

    // ------------------------------------------------------------- balances

    /**
     * @notice Moves `amount` tokens from the caller into its balance (approve this contract first).
     *
     * Requirements: `amount` is not zero; the balance stays below 2^96.
     *
     * Emits a {Deposited} event.
     */
    function deposit(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        _addToBalance(msg.sender, amount);
        totalBalances = _toUint128(totalBalances + amount);
        emit Deposited(msg.sender, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Moves tokens from the caller into the balances of `accounts`, `amounts[i]` each (approve this
     * contract first): how an operator funds many households in one call.
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
            _addToBalance(accounts[i], amounts[i]);
            total += amounts[i];
            emit Deposited(accounts[i], amounts[i]);
        }
        totalBalances = _toUint128(totalBalances + total);
        token.safeTransferFrom(msg.sender, address(this), total);
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
        uint256 word = _accounts[msg.sender];
        if (amount > word.balance()) revert InsufficientBalance(msg.sender, word.balance(), amount);
        // amount <= balance <= totalBalances.
        _accounts[msg.sender] = word.withBalance(word.balance() - amount);
        totalBalances -= uint128(amount);
        emit Withdrawn(msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /**
     * @notice Sends each of `accounts` its whole balance, to the account itself and never elsewhere: the
     * matcher's payout, so that households need not send a transaction (nor hold the chain's coin) to be
     * paid. An account with an empty balance is passed over.
     *
     * Requirements: the caller is {matcher}; at most {MAX_DEPOSITS_PER_CALL} accounts.
     *
     * Emits a {Withdrawn} event per account paid.
     */
    function payOut(address[] calldata accounts) external onlyMatcher {
        if (accounts.length > MAX_DEPOSITS_PER_CALL) revert BatchTooLarge(accounts.length, MAX_DEPOSITS_PER_CALL);
        for (uint256 i = 0; i < accounts.length; ++i) {
            address account = accounts[i];
            uint256 word = _accounts[account];
            uint256 amount = word.balance();
            if (amount == 0) continue;
            // Effects before the transfer, per account: the balance is empty before the token is called.
            _accounts[account] = word.withBalance(0);
            // amount <= totalBalances: it was one of the balances. Written per account (a warm write) so that the
            // total is right before each transfer, never after it.
            // slither-disable-next-line costly-loop
            totalBalances -= uint128(amount);
            emit Withdrawn(account, amount);
            token.safeTransfer(account, amount);
        }
    }

    /**
     * @notice Names `signer` (an `ecrecover` address) as a key that signs the caller's orders, besides the
     * caller's own key where `ecrecover` yields the caller's address (EVM chains, not Qtum); replaces any key
     * named earlier.
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

    /**
     * @notice Names, for each 64-byte public key (x | y, uncompressed, no prefix), the key's `ecrecover` address
     * as the order key of the account whose Qtum address it is (the HASH160 of the compressed key, what
     * `msg.sender` is for that key on Qtum), where that account has named no key yet: how an operator names
     * the order keys of many Qtum households at once, none of them sending a transaction (so none needs QTUM).
     *
     * Anyone may call it: a key's HASH160 and `ecrecover` addresses are one key's, so the naming is a fact the
     * caller cannot bend; it never replaces a key an account named itself ({setTrader}), which is skipped.
     * A key that is not on the curve yields addresses no one holds a key for: naming them binds nobody.
     *
     * Requirements: `publicKeys` is a whole number of 64-byte keys, at most {MAX_KEYS_PER_CALL}.
     *
     * Emits a {TraderSet} event per account named.
     */
    function nameOwnKeys(bytes calldata publicKeys) external {
        if (publicKeys.length % 64 != 0) revert MalformedKeys(publicKeys.length);
        uint256 count = publicKeys.length / 64;
        if (count > MAX_KEYS_PER_CALL) revert BatchTooLarge(count, MAX_KEYS_PER_CALL);
        for (uint256 i = 0; i < count; ++i) {
            bytes calldata key = publicKeys[i * 64:(i + 1) * 64];
            // The compressed key: 0x02 or 0x03 (the parity of y), then x; Qtum's address is its HASH160.
            bytes1 prefix = uint8(key[63]) % 2 == 0 ? bytes1(0x02) : bytes1(0x03);
            address account = address(ripemd160(abi.encodePacked(sha256(abi.encodePacked(prefix, key[0:32])))));
            if (_traders[account] != address(0)) continue;
            address signer = address(uint160(uint256(keccak256(key))));
            _traders[account] = signer;
            emit TraderSet(account, signer);
        }
    }

    /**
     * @notice Cancels the caller's standing bid and ask, and every order it signed that ends at or before
     * `untilSlot` (none of them can be placed any more); trades already matched stay.
     *
     * Emits an {OrdersCancelled} event.
     */
    function cancelOrders(uint32 untilSlot) external {
        uint256 word = _accounts[msg.sender];
        _accounts[msg.sender] = word.withBid(0, 0, _max(word.bidUntil(), untilSlot));
        uint256 askWord = _asks[msg.sender];
        _asks[msg.sender] = W.ask(askWord.askMeter(), 0, 0, 0, _max(askWord.askUntil(), untilSlot));
        emit OrdersCancelled(msg.sender, untilSlot);
    }

    // ------------------------------------------------------------ batch calls

    /**
     * @notice Places signed standing orders and matches fills into escrowed trades, slot by slot.
     *
     * `accounts` lists 20-byte addresses in two parts, each strictly increasing: the first `loaded` are the
     * accounts whose balance the call changes (every buyer: read and written once), the rest are only named
     * (sellers); records name accounts by their index in the whole list. `orders` are signed bids and asks ({EscrowWords}): each replaces its account's standing order if
     * it is signed by the account's key (or the key the account named with {setTrader}) and ends after the
     * order it replaces, and an ask only for a meter its account owns; else it is skipped ({OrderSkipped}).
     * `matches` holds per slot a header and its lots, per lot a header (the seller) and its fills (buyer, Wh,
     * price per kWh).
     *
     * A fill is made only if: the slot has not started and starts within {MAX_HORIZON}; the seller has a
     * standing ask until the slot and the buyer a standing bid until it; the buyer is not the seller; its price
     * is within both orders; its Wh are at least the ask's `minWh`; the lot's Wh stay within the ask's
     * `maxWhPerSlot` and its trades within {MAX_TRADES_PER_LOT}; the buyer's Wh in the slot stay within its
     * bid's `maxWhPerSlot` (a buyer's slots in increasing order, counted across calls); and the buyer's balance
     * covers its cost. Otherwise it is skipped ({FillSkipped}, with the reason) and the call goes on.
     *
     * Requirements:
     * - the caller is {matcher};
     * - both parts of the account list strictly increasing, at most {MAX_ACCOUNTS_PER_CALL} accounts, every
     *   buyer loaded; each stream at most {MAX_BYTES_PER_STREAM} bytes of whole records naming listed accounts;
     * - a slot's lots come in strictly increasing meter id, over this and every earlier call.
     *
     * Each fill locks cost = ceil(wh * pricePerKWh / 1000): rounded up, so that no fill is free.
     *
     * Emits {BidPlaced}, {AskPlaced} or {OrderSkipped} per order, {Traded} or {FillSkipped} per fill, and
     * {GroupMatched} per group of up to {MAX_LOTS_PER_GROUP} lots committed.
     */
    function matchOrders(bytes calldata accounts, uint256 loaded, bytes calldata orders, bytes calldata matches)
        external
        onlyMatcher
    {
        uint256[] memory book = _openBook(accounts, loaded);
        _placeOrders(accounts, book, orders);
        uint256 locked = _matchAll(accounts, book, matches);
        _commitBook(accounts, book, locked, 0);
    }

    /**
     * @notice Closes lots: settles each open lot of the given groups whose slot is over, within its grace
     * period, against its meter's signed reading; refunds in full each open lot whose grace period is over;
     * leaves the others as they are. Anyone may call it.
     *
     * `accounts` is as for {matchOrders}: the first `loaded` accounts are those whose balance the call changes
     * (every seller paid and every buyer refunded), the rest only named (buyers of lots delivered in full).
     * `closes` holds per group a header and all its lots, per lot a header (meter, seller, the reading that
     * proves it, if any, the lot's price) and all its trades in match order, exactly as matched; `readings`
     * are the meters' signed readings ({IMeterRegistry-provenExports} says what each proves).
     *
     * A lot is skipped ({LotSkipped}, with the reason) if it is closed already, if its slot is not over, or,
     * within the grace period, if no reading given proves its slot. A group that is closed already is skipped
     * ({GroupSkipped}): a batch never fails because someone closed its lots first.
     *
     * Requirements:
     * - both parts of the account list strictly increasing, at most {MAX_ACCOUNTS_PER_CALL} accounts, naming
     *   every seller and buyer, with each account whose balance changes loaded ({AccountNotLoaded});
     * - each stream at most {MAX_BYTES_PER_STREAM} bytes of whole records naming listed accounts;
     * - each open group given with exactly its lots and trades.
     *
     * Emits {LotSettled}, {LotRefunded} or {LotSkipped} per lot, {GroupSkipped} per closed group.
     */
    function closeLots(bytes calldata accounts, uint256 loaded, bytes calldata readings, bytes calldata closes)
        external
    {
        uint256[] memory book = _openBook(accounts, loaded);
        uint256 released = _closeAll(accounts, book, readings, closes);
        _commitBook(accounts, book, 0, released);
    }

    // ---------------------------------------------------------------- views

    /// @notice `account`'s balance, standing bid and the Wh it bought in the latest slot it bought in.
    function accountOf(address account) external view returns (AccountView memory) {
        uint256 word = _accounts[account];
        return AccountView({
            balance: uint96(word.balance()),
            bidPrice: uint48(word.bidPrice()),
            bidWh: uint24(word.bidWh()),
            bidUntil: uint32(word.bidUntil()),
            lastSlot: uint32(word.lastSlot()),
            lastWh: uint24(word.lastWh())
        });
    }

    /// @notice `account`'s standing ask (all zero if none).
    function askOf(address account) external view returns (AskView memory) {
        uint256 word = _asks[account];
        return AskView({
            meterId: word.askMeter(),
            minPrice: uint48(word.askMinPrice()),
            maxWh: uint24(word.askMaxWh()),
            minWh: uint24(word.askMinWh()),
            until: uint32(word.askUntil())
        });
    }

    /// @notice Tokens in `account`'s balance.
    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account].balance();
    }

    /// @notice The key that signs `account`'s orders besides its own (zero if none).
    function traderOf(address account) external view returns (address) {
        return _traders[account];
    }

    /// @notice The matching state of `slot`: the highest meter id matched in it and its number of groups.
    function slotOf(uint32 slot) external view returns (SlotBook memory) {
        return _slots[slot];
    }

    /// @notice Group `group` of `slot`: its commitment and open lots (all zero once every lot is closed).
    function groupOf(uint32 slot, uint32 group) external view returns (Group memory) {
        return _groups[_groupKey(slot, group)];
    }

    /// @notice Key of the (meter, slot) lot in events: meter id in the high 32 bits, slot in the low 64.
    function lotKey(uint32 meterId, uint64 slot) public pure returns (uint96) {
        return (uint96(meterId) << 64) | slot;
    }

    /// @notice The EIP-712 digest `account`'s key signs for a standing bid.
    function bidDigest(address account, uint48 maxPricePerKWh, uint24 maxWhPerSlot, uint32 untilSlot)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(BID_TYPEHASH, account, maxPricePerKWh, maxWhPerSlot, untilSlot)));
    }

    /// @notice The EIP-712 digest `account`'s key signs for a standing ask.
    function askDigest(
        address account,
        uint32 meterId,
        uint48 minPricePerKWh,
        uint24 maxWhPerSlot,
        uint24 minWh,
        uint32 untilSlot
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(ASK_TYPEHASH, account, meterId, minPricePerKWh, maxWhPerSlot, minWh, untilSlot))
        );
    }

    // ------------------------------------------------------- the account book

    /// The storage words of the first `loaded` listed accounts (the ones whose balance the call may change),
    /// read once; the others are only named (for hashing and events). Returns the words and the list's length.
    function _openBook(bytes calldata accounts, uint256 loaded) private view returns (uint256[] memory book) {
        uint256 count = accounts.length / W.ACCOUNT_SIZE;
        if (accounts.length % W.ACCOUNT_SIZE != 0 || loaded > count) revert AccountsNotSorted(count);
        if (count > MAX_ACCOUNTS_PER_CALL) revert BatchTooLarge(count, MAX_ACCOUNTS_PER_CALL);
        book = new uint256[](loaded);
        address previous = address(0);
        for (uint256 i = 0; i < count; ++i) {
            address account = accounts.readAddress(i * W.ACCOUNT_SIZE);
            // Each part strictly increasing: a loaded account is read once, so no write hides another.
            if (i == loaded) previous = address(0);
            if (account <= previous) revert AccountsNotSorted(i);
            previous = account;
            if (i < loaded) book[i] = _accounts[account];
        }
    }

    /// The one place a batch changes balances and totals: every loaded word written back once, `locked` moved
    /// from balances into escrow and `released` back (already credited to balances in the book).
    function _commitBook(bytes calldata accounts, uint256[] memory book, uint256 locked, uint256 released) private {
        for (uint256 i = 0; i < book.length; ++i) {
            // An unchanged word costs a warm no-op write: cheaper than tracking which changed.
            _accounts[accounts.readAddress(i * W.ACCOUNT_SIZE)] = book[i];
        }
        if (locked == released) return;
        // locked <= the balances it was debited from; released <= totalLocked + locked (open lots' costs).
        totalLocked = _toUint128(totalLocked + locked - released);
        totalBalances = _toUint128(totalBalances + released - locked);
    }

    function _credit(uint256[] memory book, uint256 index, uint256 amount) private pure {
        if (index >= book.length) revert AccountNotLoaded(index);
        uint256 word = book[index];
        uint256 value = word.balance() + amount;
        if (value > W.MASK96) revert AmountTooLarge(value, W.MASK96);
        book[index] = word.withBalance(value);
    }

    // ---------------------------------------------------------------- orders

    function _placeOrders(bytes calldata accounts, uint256[] memory book, bytes calldata orders) private {
        if (orders.length > MAX_BYTES_PER_STREAM) revert BatchTooLarge(orders.length, MAX_BYTES_PER_STREAM);
        uint256 at = 0;
        while (at < orders.length) {
            uint256 tag = orders.read(at, 1);
            if (tag == BID_TAG && at + W.BID_SIZE <= orders.length) {
                _placeBid(accounts, book, orders[at + 1:at + W.BID_SIZE]);
                at += W.BID_SIZE;
            } else if (tag == ASK_TAG && at + W.ASK_SIZE <= orders.length) {
                _placeAsk(orders[at + 1:at + W.ASK_SIZE]);
                at += W.ASK_SIZE;
            } else {
                revert MalformedRecords(at);
            }
        }
    }

    /// A bid record without its tag: account index 2 | maxPrice 6 | maxWhPerSlot 3 | untilSlot 4 | r | vs.
    function _placeBid(bytes calldata accounts, uint256[] memory book, bytes calldata bid) private {
        uint256 index = bid.read(0, 2);
        if (index >= book.length) revert UnknownAccount(index, book.length);
        address account = accounts.readAddress(index * W.ACCOUNT_SIZE);
        uint48 price = uint48(bid.read(2, 6));
        uint24 wh = uint24(bid.read(8, 3));
        uint32 until = uint32(bid.read(11, 4));
        uint256 word = book[index];
        Skip why = until <= word.bidUntil() ? Skip.StaleOrder : Skip.None;
        if (why == Skip.None && !_signedBy(account, bidDigest(account, price, wh, until), bid[15:79])) {
            why = Skip.BadSignature;
        }
        if (why != Skip.None) {
            emit OrderSkipped(account, why);
            return;
        }
        book[index] = word.withBid(price, wh, until);
        emit BidPlaced(account, price, wh, until);
    }

    /// An ask record without its tag: account 20 | meterId 4 | minPrice 6 | maxWhPerSlot 3 | minWh 3 |
    /// untilSlot 4 | r | vs.
    function _placeAsk(bytes calldata ask) private {
        address account = ask.readAddress(0);
        uint32 meterId = uint32(ask.read(20, 4));
        uint48 price = uint48(ask.read(24, 6));
        uint24 maxWh = uint24(ask.read(30, 3));
        uint24 minWh = uint24(ask.read(33, 3));
        uint32 until = uint32(ask.read(36, 4));
        Skip why = until <= _asks[account].askUntil() ? Skip.StaleOrder : Skip.None;
        if (
            why == Skip.None
                && !_signedBy(account, askDigest(account, meterId, price, maxWh, minWh, until), ask[40:104])
        ) {
            why = Skip.BadSignature;
        }
        if (why == Skip.None && !_ownsActiveMeter(account, meterId)) why = Skip.NotMeterOwner;
        if (why != Skip.None) {
            emit OrderSkipped(account, why);
            return;
        }
        _asks[account] = W.ask(meterId, price, maxWh, minWh, until);
        emit AskPlaced(account, meterId, price, maxWh, minWh, until);
    }

    function _ownsActiveMeter(address account, uint32 meterId) private view returns (bool) {
        // The registry is fixed at deployment; an unknown meter makes it revert, which here means "not owned".
        // slither-disable-next-line calls-loop
        try registry.meterOwner(meterId) returns (address owner, bool active) {
            return owner == account && active;
        } catch {
            return false;
        }
    }

    /// Whether the 64-byte compact signature (r | vs) over `digest` is by `account`'s key or the key it named.
    function _signedBy(address account, bytes32 digest, bytes calldata signature) private view returns (bool) {
        // The error's argument (the bad length or s value) is not needed: any error means "not signed".
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(digest, bytes32(signature[0:32]), bytes32(signature[32:64]));
        if (err != ECDSA.RecoverError.NoError) return false;
        // On EVM chains an account's own key signs for it (ecrecover gives its address) with no storage read;
        // on Qtum ecrecover never gives an account's address, so the key it named with {setTrader} signs.
        // (tryRecover never returns the zero address without an error, so an account that named no key,
        // zero, never matches.)
        return recovered == account || recovered == _traders[account];
    }

    // -------------------------------------------------------------- matching

    // A slot being matched: the group being built (its hash chain so far and its lots) and the slot's book.
    struct Builder {
        bytes24 commitment;
        uint256 lots;
        uint32 slot;
        SlotBook book;
    }

    /// Walks the matching stream: per slot its lots, committed in groups. Returns the costs locked.
    function _matchAll(bytes calldata accounts, uint256[] memory book, bytes calldata matches)
        private
        returns (uint256 locked)
    {
        if (matches.length > MAX_BYTES_PER_STREAM) revert BatchTooLarge(matches.length, MAX_BYTES_PER_STREAM);
        uint256 at = 0;
        while (at < matches.length) {
            if (at + W.SLOT_HEADER_SIZE > matches.length) revert MalformedRecords(at);
            uint32 slot = uint32(matches.read(at, 4));
            uint256 lots = matches.read(at + 4, 2);
            at += W.SLOT_HEADER_SIZE;
            Builder memory group = Builder(0, 0, slot, _slots[slot]);
            Skip closed = _slotClosed(slot);
            for (uint256 l = 0; l < lots; ++l) {
                if (at + W.LOT_HEADER_SIZE > matches.length) revert MalformedRecords(at);
                uint256 seller = matches.read(at, 2);
                uint256 fills = matches.read(at + 2, 1);
                uint256 price = matches.read(at + 3, 6);
                uint256 end = at + W.LOT_HEADER_SIZE + fills * (price == 0 ? W.PRICED_FILL_SIZE : W.FILL_SIZE);
                if (end > matches.length) revert MalformedRecords(at);
                if (seller * W.ACCOUNT_SIZE >= accounts.length) revert UnknownAccount(seller, accounts.length / 20);
                locked += _matchLot(
                    accounts, book, matches[at + W.LOT_HEADER_SIZE:end], accounts.readAddress(seller * 20), price, group, closed
                );
                at = end;
                if (group.lots == MAX_LOTS_PER_GROUP) _storeGroup(group);
            }
            if (group.lots != 0) _storeGroup(group);
            _slots[slot] = group.book;
        }
    }

    function _slotClosed(uint32 slot) private view returns (Skip) {
        uint256 startsAt = slotStart(slot);
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp >= startsAt) return Skip.TradingClosed;
        if (startsAt > block.timestamp + MAX_HORIZON) return Skip.SlotTooFar;
        return Skip.None;
    }

    // A lot while its fills are made: read by the assembly of _makeFills at these word offsets.
    struct LotRun {
        uint256 ask; // 0x00: the seller's standing ask (EscrowWords)
        address seller; // 0x20
        uint256 slot; // 0x40
        uint256 key; // 0x60: lotKey(meter, slot)
        uint256 price; // 0x80: the lot's price per kWh, or 0: each fill carries its own
        uint256 sold; // 0xa0: Wh sold so far
        uint256 trades; // 0xc0
        uint256 locked; // 0xe0: costs locked so far
        bytes24 commitment; // 0x100: the group's hash chain, this lot included
    }

    function _matchLot(
        bytes calldata accounts,
        uint256[] memory book,
        bytes calldata fills,
        address seller,
        uint256 price,
        Builder memory group,
        Skip closed
    ) private returns (uint256 locked) {
        uint256 ask = _asks[seller];
        uint32 meterId = ask.askMeter();
        uint32 slot = group.slot;
        Skip lotSkip = closed;
        if (meterId == 0) {
            lotSkip = Skip.NoAsk;
        } else {
            if (meterId <= group.book.lastMeter) revert LotsNotSorted(slot, meterId, group.book.lastMeter);
            group.book.lastMeter = meterId;
            if (lotSkip == Skip.None && slot > ask.askUntil()) lotSkip = Skip.AskExpired;
        }
        uint96 key = lotKey(meterId, slot);
        if (lotSkip != Skip.None) {
            uint256 size = price == 0 ? W.PRICED_FILL_SIZE : W.FILL_SIZE;
            for (uint256 at = 0; at < fills.length; at += size) {
                uint256 buyer = fills.read(at, 2);
                if (buyer >= book.length) revert AccountNotLoaded(buyer);
                emit FillSkipped(key, accounts.readAddress(buyer * W.ACCOUNT_SIZE), lotSkip);
            }
            return 0;
        }
        bytes24 commitment = _chain(group.commitment, LOT_TAG | (uint256(meterId) << 160) | uint160(seller));
        LotRun memory run = LotRun(ask, seller, slot, key, price, 0, 0, 0, commitment);
        _makeFills(accounts, book, fills, run);
        if (run.trades != 0) {
            group.commitment = run.commitment;
            ++group.lots;
        }
        return run.locked;
    }

    // Skip codes the assembly emits: the values of Skip's members of those names.
    uint256 private constant _NO_BID = 5;
    uint256 private constant _BID_EXPIRED = 6;
    uint256 private constant _BUYER_IS_SELLER = 7;
    uint256 private constant _BELOW_ASK = 8;
    uint256 private constant _ABOVE_BID = 9;
    uint256 private constant _TOO_SMALL = 10;
    uint256 private constant _ASK_FULL = 11;
    uint256 private constant _BID_FULL = 12;
    uint256 private constant _BID_OUT_OF_ORDER = 13;
    uint256 private constant _LOT_FULL = 14;
    uint256 private constant _INSUFFICIENT_BALANCE = 15;

    /**
     * Makes each fill of `fills` that passes every check, and emits FillSkipped with the first check that
     * fails for the others (in Skip's order: BuyerIsSeller, NoBid, BidExpired, BelowAsk, AboveBid, TooSmall,
     * AskFull, LotFull, BidOutOfOrder, BidFull, InsufficientBalance). A made fill moves its cost out of the
     * buyer's balance (in `book`), counts its Wh in the buyer's slot, extends the hash chain and emits Traded.
     *
     * The per-trade loop of matching, in assembly: in Solidity it cost about 2,000 gas a fill besides its
     * event (measured). Bounds: wh < 2^24 and price < 2^48 (record fields), so wh * price + 999 < 2^73; a lot
     * makes at most MAX_TRADES_PER_LOT fills, so sold < 2^30; locked < 2^73 * (stream bytes / 5).
     */
    function _makeFills(bytes calldata accounts, uint256[] memory book, bytes calldata fills, LotRun memory run)
        private
    {
        bytes32 traded = Traded.selector;
        bytes32 skipped = FillSkipped.selector;
        bytes4 notLoaded = AccountNotLoaded.selector;
        uint256 maxTrades = MAX_TRADES_PER_LOT;
        assembly ("memory-safe") {
            // Why a fill cannot be made (0 if it can): the first failing check in Skip's order.
            function skipReason(ask, bidder, same, slot, wh, price, cost, sold, trades, cap) -> why {
                if same {
                    why := _BUYER_IS_SELLER
                    leave
                }
                let limit := and(shr(96, bidder), 0xffffffffffff)
                if iszero(limit) {
                    why := _NO_BID
                    leave
                }
                if gt(slot, and(shr(168, bidder), 0xffffffff)) {
                    why := _BID_EXPIRED
                    leave
                }
                if or(iszero(price), lt(price, and(shr(32, ask), 0xffffffffffff))) {
                    why := _BELOW_ASK
                    leave
                }
                if gt(price, limit) {
                    why := _ABOVE_BID
                    leave
                }
                if or(iszero(wh), lt(wh, and(shr(104, ask), 0xffffff))) {
                    why := _TOO_SMALL
                    leave
                }
                if gt(add(sold, wh), and(shr(80, ask), 0xffffff)) {
                    why := _ASK_FULL
                    leave
                }
                if iszero(lt(trades, cap)) {
                    why := _LOT_FULL
                    leave
                }
                let last := and(shr(200, bidder), 0xffffffff)
                if lt(slot, last) {
                    why := _BID_OUT_OF_ORDER
                    leave
                }
                if gt(add(wh, mul(eq(slot, last), shr(232, bidder))), and(shr(144, bidder), 0xffffff)) {
                    why := _BID_FULL
                    leave
                }
                if gt(cost, and(bidder, 0xffffffffffffffffffffffff)) { why := _INSUFFICIENT_BALANCE }
            }

            let ask := mload(run)
            let slot := mload(add(run, 0x40))
            let lotPrice := mload(add(run, 0x80))
            let sold := mload(add(run, 0xa0))
            let trades := mload(add(run, 0xc0))
            let locked := mload(add(run, 0xe0))
            let words := add(book, 0x20)
            let stride := 5
            if iszero(lotPrice) { stride := 11 }
            let end := add(fills.offset, fills.length)
            for { let at := fills.offset } lt(at, end) { at := add(at, stride) } {
                // buyer 2 | wh 3 [| price 6]
                let record := calldataload(at)
                let buyer := shr(240, record)
                if iszero(lt(buyer, mload(book))) {
                    mstore(0x00, notLoaded)
                    mstore(0x04, buyer)
                    revert(0x00, 0x24)
                }
                let account := shr(96, calldataload(add(accounts.offset, mul(buyer, 20))))
                let wh := and(shr(216, record), 0xffffff)
                let price := lotPrice
                if iszero(lotPrice) { price := and(shr(168, record), 0xffffffffffff) }
                let cost := div(add(mul(wh, price), 999), 1000)
                let bidder := mload(add(words, shl(5, buyer)))
                let last := and(shr(200, bidder), 0xffffffff)
                // bought = wh + (the Wh bought in this slot before, if the buyer's last slot is this one).
                let bought := add(wh, mul(eq(slot, last), shr(232, bidder)))
                let limit := and(shr(96, bidder), 0xffffffffffff)
                // Every check at once; skipReason names the first that fails, only for a fill that is not made.
                let bad := or(eq(account, mload(add(run, 0x20))), iszero(limit))
                bad := or(bad, gt(slot, and(shr(168, bidder), 0xffffffff)))
                bad := or(bad, or(or(iszero(price), lt(price, and(shr(32, ask), 0xffffffffffff))), gt(price, limit)))
                bad := or(bad, or(iszero(wh), lt(wh, and(shr(104, ask), 0xffffff))))
                bad := or(bad, or(gt(add(sold, wh), and(shr(80, ask), 0xffffff)), iszero(lt(trades, maxTrades))))
                bad := or(bad, or(lt(slot, last), gt(bought, and(shr(144, bidder), 0xffffff))))
                bad := or(bad, gt(cost, and(bidder, 0xffffffffffffffffffffffff)))
                if bad {
                    let out := mload(0x40) // event data, beyond the free memory pointer (not kept)
                    mstore(
                        out,
                        skipReason(
                            ask, bidder, eq(account, mload(add(run, 0x20))), slot, wh, price, cost, sold, trades, maxTrades
                        )
                    )
                    log3(out, 0x20, skipped, mload(add(run, 0x60)), account)
                    continue
                }
                // Keep the bid (bits 96..199); the new balance, the slot and its Wh bought.
                mstore(
                    add(words, shl(5, buyer)),
                    or(
                        or(
                            and(bidder, 0xffffffffffffffffffffffffff000000000000000000000000),
                            sub(and(bidder, 0xffffffffffffffffffffffff), cost)
                        ),
                        or(shl(200, slot), shl(232, bought))
                    )
                )
                sold := add(sold, wh)
                trades := add(trades, 1)
                locked := add(locked, cost)
                mstore(0x00, mload(add(run, 0x100)))
                mstore(0x20, or(or(shl(208, wh), shl(160, price)), account))
                mstore(add(run, 0x100), and(keccak256(0x00, 0x40), not(0xffffffffffffffff)))
                let out := mload(0x40)
                mstore(out, wh)
                mstore(add(out, 0x20), price)
                log3(out, 0x40, traded, mload(add(run, 0x60)), account)
            }
            mstore(add(run, 0xa0), sold)
            mstore(add(run, 0xc0), trades)
            mstore(add(run, 0xe0), locked)
        }
    }

    function _storeGroup(Builder memory group) private {
        uint32 number = group.book.groups;
        // group.lots <= MAX_LOTS_PER_GROUP = 64: the bitmap fits 64 bits and the count 8.
        _groups[_groupKey(group.slot, number)] = Group(group.commitment, uint64((1 << group.lots) - 1));
        emit GroupMatched(group.slot, number, uint8(group.lots));
        group.book.groups = number + 1;
        group.commitment = 0;
        group.lots = 0;
    }

    // -------------------------------------------------------------- closing

    // What a closing call does with an open lot.
    enum Action {
        Settle,
        Refund,
        Leave
    }

    // A lot while a closing call walks it.
    struct Closing {
        uint32 slot;
        uint32 meterId;
        uint256 seller;
        uint256 price;
        uint256 sold;
        uint256 exported;
        Action action;
    }

    /// Walks the closing stream group by group. Returns the costs released from escrow.
    function _closeAll(bytes calldata accounts, uint256[] memory book, bytes calldata readings, bytes calldata closes)
        private
        returns (uint256 released)
    {
        if (closes.length > MAX_BYTES_PER_STREAM) revert BatchTooLarge(closes.length, MAX_BYTES_PER_STREAM);
        if (readings.length > MAX_BYTES_PER_STREAM) revert BatchTooLarge(readings.length, MAX_BYTES_PER_STREAM);
        // The registry is fixed at deployment and never reverts for a bad reading (only for malformed bytes).
        uint256[] memory proofs = readings.length == 0 ? new uint256[](0) : registry.provenExports(readings);
        uint256 at = 0;
        while (at < closes.length) {
            if (at + W.GROUP_HEADER_SIZE > closes.length) revert MalformedRecords(at);
            uint32 slot = uint32(closes.read(at, 4));
            uint32 number = uint32(closes.read(at + 4, 4));
            uint256 lots = closes.read(at + 8, 1);
            if (lots == 0 || lots > MAX_LOTS_PER_GROUP) revert GroupSize(lots);
            uint64 key = _groupKey(slot, number);
            Group memory group = _groups[key];
            uint256 groupReleased;
            (groupReleased, at) =
                _closeGroup(accounts, book, readings, proofs, closes, at + W.GROUP_HEADER_SIZE, number, slot, lots, group);
            if (group.commitment == 0) {
                emit GroupSkipped(slot, number);
                continue;
            }
            released += groupReleased;
            // Clearing a group's word is what closing its last lot means: one write per group.
            if (group.open == 0) delete _groups[key];
            else _groups[key].open = group.open;
        }
    }

    function _closeGroup(
        bytes calldata accounts,
        uint256[] memory book,
        bytes calldata readings,
        uint256[] memory proofs,
        bytes calldata closes,
        uint256 at,
        uint32 number,
        uint32 slot,
        uint256 lots,
        Group memory group
    ) private returns (uint256 released, uint256 next) {
        bool skipAll = group.commitment == 0;
        bytes24 commitment = 0;
        for (uint256 l = 0; l < lots; ++l) {
            if (at + W.CLOSE_LOT_HEADER_SIZE > closes.length) revert MalformedRecords(at);
            uint32 meterId = uint32(closes.read(at, 4));
            uint256 seller = closes.read(at + 4, 2);
            uint256 trades = closes.read(at + 6, 1);
            uint256 reading = closes.read(at + 7, 2);
            uint256 price = closes.read(at + 9, 6);
            if (seller * W.ACCOUNT_SIZE >= accounts.length) revert UnknownAccount(seller, accounts.length / 20);
            uint256 end =
                at + W.CLOSE_LOT_HEADER_SIZE + trades * (price == 0 ? W.PRICED_FILL_SIZE : W.FILL_SIZE);
            if (end > closes.length) revert MalformedRecords(at);
            bytes calldata lotTrades = closes[at + W.CLOSE_LOT_HEADER_SIZE:end];
            at = end;
            commitment = _chain(
                commitment, LOT_TAG | (uint256(meterId) << 160) | uint160(accounts.readAddress(seller * W.ACCOUNT_SIZE))
            );
            uint256 sold;
            (commitment, sold) = _hashTrades(accounts, lotTrades, price, commitment);
            if (skipAll) continue;
            uint64 bit = uint64(1) << l;
            Closing memory lot = Closing(slot, meterId, seller, price, sold, 0, Action.Leave);
            Skip why = group.open & bit == 0 ? Skip.NotOpen : _closeAction(lot, readings, proofs, reading);
            if (lot.action == Action.Leave) {
                emit LotSkipped(lotKey(meterId, slot), why);
                continue;
            }
            released += _closeLot(accounts, book, lotTrades, lot);
            group.open &= ~bit;
        }
        if (!skipAll && commitment != group.commitment) revert TradesMismatch(slot, number);
        return (released, at);
    }

    /// What to do with an open lot: sets `lot.action` (and `lot.exported` to settle); returns why it is left.
    function _closeAction(Closing memory lot, bytes calldata readings, uint256[] memory proofs, uint256 reading)
        private
        view
        returns (Skip)
    {
        uint256 endsAt = slotEnd(lot.slot);
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp < endsAt) return Skip.NotOver;
        if (block.timestamp >= endsAt + gracePeriod) {
            lot.action = Action.Refund;
            return Skip.None;
        }
        if (reading == 0 || reading > proofs.length) return Skip.NoReading;
        uint256 proof = proofs[reading - 1];
        uint256 at = proof >> 64;
        // The registry checked the reading's bytes: header (meterId 4 | firstSlot 4 | slots 1), then the values.
        uint256 first = readings.read(at + 4, 4);
        if (readings.read(at, 4) != lot.meterId || lot.slot < first || lot.slot >= (proof & W.MASK32)) {
            return Skip.Unproven;
        }
        lot.exported = readings.read(at + 9 + 4 * (lot.slot - first), 4);
        lot.action = Action.Settle;
        return Skip.None;
    }

    /// The hash chain over a lot's trades (records at the lot's `price`, or each with its own if 0), as
    /// matching built it, and the Wh they sold. In assembly for the same reason as _makeFills; wh < 2^24 per
    /// trade and at most MAX_BYTES_PER_STREAM / 5 trades.
    function _hashTrades(bytes calldata accounts, bytes calldata trades, uint256 price, bytes24 commitment)
        private
        pure
        returns (bytes24 chained, uint256 sold)
    {
        bytes4 unknownAccount = UnknownAccount.selector;
        assembly ("memory-safe") {
            chained := commitment
            let count := div(accounts.length, 20)
            let stride := 5
            if iszero(price) { stride := 11 }
            let end := add(trades.offset, trades.length)
            for { let at := trades.offset } lt(at, end) { at := add(at, stride) } {
                let record := calldataload(at)
                let buyer := shr(240, record)
                if iszero(lt(buyer, count)) {
                    mstore(0x00, unknownAccount)
                    mstore(0x04, buyer)
                    mstore(0x24, count)
                    revert(0x00, 0x44)
                }
                let wh := and(shr(216, record), 0xffffff)
                let tradePrice := price
                if iszero(price) { tradePrice := and(shr(168, record), 0xffffffffffff) }
                sold := add(sold, wh)
                mstore(0x00, chained)
                // (wh << 208) | (price << 160) | buyer, as _makeFills chained it.
                let account := shr(96, calldataload(add(accounts.offset, mul(buyer, 20))))
                mstore(0x20, or(or(shl(208, wh), shl(160, tradePrice)), account))
                chained := and(keccak256(0x00, 0x40), not(0xffffffffffffffff))
            }
        }
    }

    /// Settles or refunds a lot (`lot.action`): credits each buyer what it gets back and the seller what it is
    /// paid. Returns the lot's costs, all of which leave escrow.
    function _closeLot(bytes calldata accounts, uint256[] memory book, bytes calldata trades, Closing memory lot)
        private
        returns (uint256 released)
    {
        bool settle = lot.action == Action.Settle;
        uint256 delivered = lot.exported < lot.sold ? lot.exported : lot.sold;
        uint256 paidTotal;
        (released, paidTotal) = _payBuyers(book, trades, lot.price, settle ? delivered : 0, lot.sold);
        uint96 key = lotKey(lot.meterId, lot.slot);
        if (settle) {
            if (paidTotal != 0) _credit(book, lot.seller, paidTotal);
            // sold < 50 * 2^24 and paidTotal <= released < 50 * 2^73: both fit their event fields.
            emit LotSettled(
                key,
                accounts.readAddress(lot.seller * W.ACCOUNT_SIZE),
                uint64(lot.sold),
                uint64(delivered),
                uint128(paidTotal)
            );
        } else {
            emit LotRefunded(key, uint128(released));
        }
    }

    /**
     * The settlement rule for each trade of a lot that sold `sold` Wh of which `delivered` were delivered (0 for
     * a refund): paid = floor(cost * delivered / sold) to the seller, cost - paid credited to the buyer (in
     * `book`). Returns the lot's costs and what the seller is paid. In assembly for the same reason as
     * _makeFills: cost < 2^73 and delivered <= sold < 2^30, so cost * delivered < 2^103; a buyer whose balance
     * changes must be loaded (AccountNotLoaded), and a balance that would pass 2^96 - 1 reverts (AmountTooLarge).
     */
    function _payBuyers(uint256[] memory book, bytes calldata trades, uint256 price, uint256 delivered, uint256 sold)
        private
        pure
        returns (uint256 released, uint256 paidTotal)
    {
        bytes4 tooLarge = AmountTooLarge.selector;
        bytes4 notLoaded = AccountNotLoaded.selector;
        assembly ("memory-safe") {
            let words := add(book, 0x20)
            let stride := 5
            if iszero(price) { stride := 11 }
            let end := add(trades.offset, trades.length)
            for { let at := trades.offset } lt(at, end) { at := add(at, stride) } {
                let record := calldataload(at)
                let tradePrice := price
                if iszero(price) { tradePrice := and(shr(168, record), 0xffffffffffff) }
                // The settlement rule on the cost locked at the match (rounded up there), as documented above.
                // slither-disable-next-line divide-before-multiply
                let cost := div(add(mul(and(shr(216, record), 0xffffff), tradePrice), 999), 1000)
                let paid := div(mul(cost, delivered), sold)
                released := add(released, cost)
                paidTotal := add(paidTotal, paid)
                if lt(paid, cost) {
                    let buyer := shr(240, record)
                    if iszero(lt(buyer, mload(book))) {
                        mstore(0x00, notLoaded)
                        mstore(0x04, buyer)
                        revert(0x00, 0x24)
                    }
                    let slotOf := add(words, shl(5, buyer))
                    let word := mload(slotOf)
                    let credited := add(and(word, 0xffffffffffffffffffffffff), sub(cost, paid))
                    if gt(credited, 0xffffffffffffffffffffffff) {
                        mstore(0x00, tooLarge)
                        mstore(0x04, credited)
                        mstore(0x24, 0xffffffffffffffffffffffff)
                        revert(0x00, 0x44)
                    }
                    mstore(slotOf, or(and(word, not(0xffffffffffffffffffffffff)), credited))
                }
            }
        }
    }

    // -------------------------------------------------------------- internal

    function _groupKey(uint32 slot, uint32 group) private pure returns (uint64) {
        return (uint64(slot) << 32) | group;
    }

    /// The next link of a hash chain: keccak(previous, word) cut to 24 bytes, in scratch memory.
    function _chain(bytes24 previous, uint256 word) private pure returns (bytes24 next) {
        assembly ("memory-safe") {
            mstore(0x00, previous)
            mstore(0x20, word)
            next := and(keccak256(0x00, 0x40), not(0xffffffffffffffff))
        }
    }

    function _addToBalance(address account, uint256 amount) private {
        uint256 word = _accounts[account];
        uint256 value = word.balance() + amount;
        if (value > W.MASK96) revert AmountTooLarge(value, W.MASK96);
        _accounts[account] = word.withBalance(value);
    }

    function _max(uint256 a, uint32 b) private pure returns (uint256) {
        return a > b ? a : b;
    }

    function _toUint128(uint256 value) private pure returns (uint128) {
        if (value > type(uint128).max) revert AmountTooLarge(value, type(uint128).max);
        return uint128(value);
    }
}
