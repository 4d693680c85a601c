// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {Signature} from "./Signature.sol";
import {SlotClock} from "./SlotClock.sol";

/**
 * @title MeterRegistry
 * @notice Operator-approved smart meters, the one escrow each sells through,
 * and what their signed readings prove.
 *
 * A meter is registered by an operator with its owner (the account paid for
 * its energy), its own signing key (the address `ecrecover` yields for it)
 * and the escrow (market) it sells through. The signer is never compared
 * with `msg.sender`: on Qtum the two address kinds of one key differ, so a
 * meter is identified only by the key registered here.
 *
 * A reading is EIP-712 typed data signed by the meter key: the energy the
 * meter exported in consecutive slots (the interval values smart meters
 * record every 15 minutes), so one signature covers a window. Readings are
 * not stored: an escrow is given them when it settles lots and asks
 * {provenExports} what they prove. A reading proves export only to the
 * escrow its meter was registered for, so one meter's energy is paid for at
 * most once however many escrows share this registry (each escrow settles a
 * (meter, slot) lot once). Consumption (import, which tells when people are
 * home) is not part of a reading and never reaches the chain.
 *
 * Revocation takes effect from the slot under way when it is sent: readings
 * of earlier slots still prove what the meter delivered, so revoking a meter
 * never takes what its seller already earned.
 *
 * The EIP-712 domain binds this contract's address and the live
 * `block.chainid` (OpenZeppelin's EIP712 rebuilds the separator when the chain
 * id differs from the one at deployment), so a reading proves nothing on
 * another registry or chain.
 */
contract MeterRegistry is IMeterRegistry, SlotClock, AccessControl, EIP712 {
    /// @notice Role allowed to register and revoke meters.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice EIP-712 type of a reading.
    bytes32 public constant READING_TYPEHASH =
        keccak256("Reading(uint32 meterId,uint32 firstSlot,uint32[] exportedWh)");

    /// @notice Most meters one {registerMeters} call registers.
    uint256 public constant MAX_METERS_PER_CALL = 200;
    /// @notice Most readings one {provenExports} call checks.
    uint256 public constant MAX_READINGS_PER_CALL = 1000;
    /// @notice Most slots one reading covers (a day of 15-minute slots).
    uint256 public constant MAX_SLOTS_PER_READING = 96;

    uint256 private constant READING_HEADER_SIZE = 9;
    uint256 private constant SIGNATURE_SIZE = 64;

    // `revokedFrom` of a meter that is active.
    uint32 private constant ACTIVE = type(uint32).max;

    // One storage word: everything a reading's proof reads, once per reading.
    struct Meter {
        address signer;
        uint32 revokedFrom;
        uint16 market;
    }

    mapping(uint32 meterId => Meter) private _meters;
    // Read when an escrow takes a seller's ask and by views, never per reading.
    mapping(uint32 meterId => address) private _owners;
    mapping(address escrow => uint16) private _marketIds;
    mapping(uint16 id => address escrow) private _marketById;
    uint16 private _markets;

    /// @notice Emitted when an operator registers a meter to sell through escrow `market`.
    event MeterRegistered(uint32 indexed meterId, address indexed owner, address signer, address indexed market);
    /// @notice Emitted when an operator revokes a meter; its readings prove nothing from slot `fromSlot` on.
    event MeterRevoked(uint32 indexed meterId, uint32 fromSlot);
    /// @notice Emitted the first time a meter is registered for escrow `market`, which gets number `id`.
    event MarketAdded(address indexed market, uint16 id);

    error ZeroAdmin();
    error MeterAlreadyRegistered(uint32 meterId);
    error UnknownMeter(uint32 meterId);
    error MeterNotActive(uint32 meterId);
    error InvalidAccount();
    error InvalidMeterId();
    error TooManyMarkets(uint256 max);
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 meterIds, uint256 owners, uint256 signers);
    /// @notice The packed readings end inside the reading starting at byte `at`, or it has no slots or too many.
    error MalformedReadings(uint256 at);

    /**
     * @param admin Account given {DEFAULT_ADMIN_ROLE} and {OPERATOR_ROLE}.
     * @param genesis_ Start of slot 0 (unix seconds).
     * @param slotLength_ Length of a slot in seconds (e.g. 900).
     */
    constructor(address admin, uint64 genesis_, uint64 slotLength_)
        SlotClock(genesis_, slotLength_)
        EIP712("P2P Energy Meter Registry", "3")
    {
        if (admin == address(0)) revert ZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
    }

    /**
     * @notice Registers meter `meterId`, owned by `owner`, signing with the key whose `ecrecover`
     * address is `signer`, selling through escrow `market`.
     *
     * Requirements:
     * - the caller holds {OPERATOR_ROLE};
     * - `meterId` is not zero and was never registered (ids are not reused, so old readings never
     *   prove anything for a new meter);
     * - `owner`, `signer` and `market` are not the zero address.
     *
     * Emits a {MeterRegistered} event (and {MarketAdded} the first time `market` is named).
     */
    function registerMeter(uint32 meterId, address owner, address signer, address market)
        external
        onlyRole(OPERATOR_ROLE)
    {
        _register(meterId, owner, signer, _marketId(market), market);
    }

    /**
     * @notice Registers several meters for escrow `market`, all or none: as {registerMeter} for each
     * (`meterIds[i]`, `owners[i]`, `signers[i]`); at most {MAX_METERS_PER_CALL}.
     *
     * Emits a {MeterRegistered} event per meter.
     */
    function registerMeters(
        uint32[] calldata meterIds,
        address[] calldata owners,
        address[] calldata signers,
        address market
    ) external onlyRole(OPERATOR_ROLE) {
        if (meterIds.length > MAX_METERS_PER_CALL) revert BatchTooLarge(meterIds.length, MAX_METERS_PER_CALL);
        if (owners.length != meterIds.length || signers.length != meterIds.length) {
            revert LengthMismatch(meterIds.length, owners.length, signers.length);
        }
        uint16 id = _marketId(market);
        for (uint256 i = 0; i < meterIds.length; ++i) {
            _register(meterIds[i], owners[i], signers[i], id, market);
        }
    }

    /**
     * @notice Revokes meter `meterId` from the slot under way on: its readings prove nothing for
     * that slot and later ones, so the escrow settles none of those lots (their buyers are refunded
     * after the grace period); earlier slots stay provable.
     *
     * Requirements:
     * - the caller holds {OPERATOR_ROLE};
     * - the meter is registered and active.
     *
     * Emits a {MeterRevoked} event.
     */
    function revokeMeter(uint32 meterId) external onlyRole(OPERATOR_ROLE) {
        Meter memory meter = _meters[meterId];
        if (meter.signer == address(0)) revert UnknownMeter(meterId);
        if (meter.revokedFrom != ACTIVE) revert MeterNotActive(meterId);
        // currentSlot() < 2^32 for 15-minute slots until the year 124,000; a later slot would only move revocation.
        uint32 fromSlot = uint32(currentSlot());
        _meters[meterId].revokedFrom = fromSlot;
        emit MeterRevoked(meterId, fromSlot);
    }

    /// @inheritdoc IMeterRegistry
    /// @dev At most {MAX_READINGS_PER_CALL} readings of 1 to {MAX_SLOTS_PER_READING} slots each.
    function provenExports(bytes calldata readings) external view returns (uint256[] memory proofs) {
        uint16 market = _marketIds[msg.sender];
        uint256 count = 0;
        for (uint256 at = 0; at < readings.length; ++count) {
            at = _nextReading(readings, at);
        }
        if (count > MAX_READINGS_PER_CALL) revert BatchTooLarge(count, MAX_READINGS_PER_CALL);
        proofs = new uint256[](count);
        uint256 offset = 0;
        for (uint256 i = 0; i < count; ++i) {
            (uint32 provenUntil, Unproven reason) = _prove(readings, offset, market);
            proofs[i] = (offset << 64) | (uint256(reason) << 32) | provenUntil;
            offset = _nextReading(readings, offset);
        }
    }

    /// @notice The EIP-712 digest a meter key signs for `reading` on this chain and registry.
    function readingDigest(Reading calldata reading) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    READING_TYPEHASH,
                    reading.meterId,
                    reading.firstSlot,
                    // EIP-712 hashes an array as the keccak of its elements as 32-byte words, which
                    // is what encodePacked makes of an array.
                    keccak256(abi.encodePacked(reading.exportedWh))
                )
            )
        );
    }

    /// @inheritdoc IMeterRegistry
    function meterOwner(uint32 meterId) external view returns (address owner, bool active) {
        owner = _owners[meterId];
        if (owner == address(0)) revert UnknownMeter(meterId);
        return (owner, _meters[meterId].revokedFrom == ACTIVE);
    }

    /// @notice Owner, signing address, escrow and first revoked slot of meter `meterId` (the slot is
    /// 2^32 - 1 while active; all zero if never registered).
    function meterInfo(uint32 meterId)
        external
        view
        returns (address owner, address signer, address market, uint32 revokedFrom)
    {
        Meter memory meter = _meters[meterId];
        return (_owners[meterId], meter.signer, marketOf(meter.market), meter.revokedFrom);
    }

    /// @notice The escrow with market number `id` (zero if none).
    function marketOf(uint16 id) public view returns (address market) {
        return _marketById[id];
    }

    /// The byte after the reading at `at`; reverts if the reading runs past the end.
    function _nextReading(bytes calldata readings, uint256 at) private pure returns (uint256 next) {
        if (at + READING_HEADER_SIZE > readings.length) revert MalformedReadings(at);
        uint256 slots = uint8(readings[at + 8]);
        if (slots == 0 || slots > MAX_SLOTS_PER_READING) revert MalformedReadings(at);
        next = at + READING_HEADER_SIZE + 4 * slots + SIGNATURE_SIZE;
        if (next > readings.length) revert MalformedReadings(at);
    }

    function _prove(bytes calldata readings, uint256 at, uint16 market)
        private
        view
        returns (uint32 provenUntil, Unproven reason)
    {
        uint32 meterId = uint32(bytes4(readings[at:at + 4]));
        uint32 first = uint32(bytes4(readings[at + 4:at + 8]));
        uint256 slots = uint8(readings[at + 8]);
        Meter memory meter = _meters[meterId];
        if (meter.signer == address(0)) return (first, Unproven.UnknownMeter);
        if (market == 0 || meter.market != market) return (first, Unproven.OtherMarket);
        bytes calldata exported = readings[at + READING_HEADER_SIZE:at + READING_HEADER_SIZE + 4 * slots];
        bytes calldata signature = readings[at + READING_HEADER_SIZE + 4 * slots:at + READING_HEADER_SIZE + 4 * slots
            + SIGNATURE_SIZE];
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(READING_TYPEHASH, meterId, first, keccak256(abi.encodePacked(_words(exported)))))
        );
        // The error's argument (the bad length or s value) is not needed: any error means "not the meter's".
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError err,) =
            ECDSA.tryRecover(digest, bytes32(signature[0:32]), bytes32(signature[32:64]));
        if (err != ECDSA.RecoverError.NoError || recovered != meter.signer) return (first, Unproven.BadSignature);
        uint256 end = uint256(first) + slots;
        if (end > meter.revokedFrom) return (first > meter.revokedFrom ? first : meter.revokedFrom, Unproven.Revoked);
        // A reading ending past slot 2^32 - 1 proves no more than that slot.
        if (end > type(uint32).max) return (type(uint32).max, Unproven.BadSignature);
        return (uint32(end), Unproven.None);
    }

    /// 4-byte big-endian values as 32-byte words: how EIP-712 encodes a uint32[] before hashing it.
    function _words(bytes calldata packed) private pure returns (uint256[] memory words) {
        words = new uint256[](packed.length / 4);
        for (uint256 i = 0; i < words.length; ++i) {
            words[i] = uint32(bytes4(packed[4 * i:4 * i + 4]));
        }
    }

    function _marketId(address market) private returns (uint16 id) {
        if (market == address(0)) revert InvalidAccount();
        id = _marketIds[market];
        if (id != 0) return id;
        if (_markets == type(uint16).max) revert TooManyMarkets(type(uint16).max);
        id = ++_markets;
        _marketIds[market] = id;
        _marketById[id] = market;
        emit MarketAdded(market, id);
    }

    function _register(uint32 meterId, address owner, address signer, uint16 id, address market) private {
        if (meterId == 0) revert InvalidMeterId();
        if (owner == address(0) || signer == address(0)) revert InvalidAccount();
        if (_owners[meterId] != address(0)) revert MeterAlreadyRegistered(meterId);
        _meters[meterId] = Meter({signer: signer, revokedFrom: ACTIVE, market: id});
        _owners[meterId] = owner;
        emit MeterRegistered(meterId, owner, signer, market);
    }
}
