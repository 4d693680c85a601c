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
 * @notice Operator-approved smart meters, and what their signed readings prove.
 *
 * A meter is registered by an operator with its owner (the account that
 * trades its energy) and its own signing key: the address `ecrecover`
 * yields for the meter's key. The signer is never compared with
 * `msg.sender`: on Qtum the two address kinds of one key differ, so a meter
 * is identified only by the key registered here.
 *
 * A reading is EIP-712 typed data signed by the meter key: the energy the
 * meter exported during one slot (the interval value smart meters record every
 * 15 minutes). Readings are not stored: the escrow is given a lot's reading
 * when it settles the lot and asks {exportProven} what it proves. So the chain
 * holds no meter data beyond what settlements carry, and nobody can front-run
 * a meter's readings: there is nothing to record first. Consumption (import,
 * which tells when people are home) is not part of a reading and never reaches
 * the chain.
 *
 * The EIP-712 domain binds this contract's address and the live
 * `block.chainid` (OpenZeppelin's EIP712 rebuilds the separator when the chain
 * id differs from the one at deployment), so a reading proves nothing on
 * another registry or chain. A meter signs one reading per slot; the escrow
 * checks that a reading is of the lot's own meter and slot.
 */
contract MeterRegistry is IMeterRegistry, SlotClock, AccessControl, EIP712 {
    /// @notice Role allowed to register and revoke meters.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice EIP-712 type of a reading.
    bytes32 public constant READING_TYPEHASH = keccak256("Reading(uint32 meterId,uint64 slot,uint64 exportedWh)");

    /// @notice Most meters one {registerMeters} call registers.
    uint256 public constant MAX_METERS_PER_CALL = 200;

    // Packed into one storage slot: what matching an ask reads ({meterOwner}), once per ask.
    struct Meter {
        address owner;
        bool active;
    }

    mapping(uint32 meterId => Meter) private _meters;
    mapping(uint32 meterId => address) private _signers;

    /// @notice Emitted when an operator registers a meter.
    event MeterRegistered(uint32 indexed meterId, address indexed owner, address signer);
    /// @notice Emitted when an operator revokes a meter; its readings prove nothing from then on.
    event MeterRevoked(uint32 indexed meterId);

    error ZeroAdmin();
    error MeterAlreadyRegistered(uint32 meterId);
    error UnknownMeter(uint32 meterId);
    error MeterNotActive(uint32 meterId);
    error InvalidAccount();
    error InvalidMeterSignature(uint32 meterId, address recovered, address expected);
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 meterIds, uint256 owners, uint256 signers);

    /**
     * @param admin Account given {DEFAULT_ADMIN_ROLE} and {OPERATOR_ROLE}.
     * @param genesis_ Start of slot 0 (unix seconds).
     * @param slotLength_ Length of a slot in seconds (e.g. 900).
     */
    constructor(address admin, uint64 genesis_, uint64 slotLength_)
        SlotClock(genesis_, slotLength_)
        EIP712("P2P Energy Meter Registry", "2")
    {
        if (admin == address(0)) revert ZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
    }

    /**
     * @notice Registers meter `meterId`, owned by `owner`, signing with the key whose
     * `ecrecover` address is `signer`.
     *
     * Requirements:
     * - the caller holds {OPERATOR_ROLE};
     * - `meterId` was never registered (ids are not reused, so old readings never
     *   prove anything for a new meter);
     * - `owner` and `signer` are not the zero address.
     *
     * Emits a {MeterRegistered} event.
     */
    function registerMeter(uint32 meterId, address owner, address signer) external onlyRole(OPERATOR_ROLE) {
        _register(meterId, owner, signer);
    }

    /**
     * @notice Registers several meters, all or none: as {registerMeter} for each (`meterIds[i]`,
     * `owners[i]`, `signers[i]`); at most {MAX_METERS_PER_CALL}.
     *
     * Emits a {MeterRegistered} event per meter.
     */
    function registerMeters(uint32[] calldata meterIds, address[] calldata owners, address[] calldata signers)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (meterIds.length > MAX_METERS_PER_CALL) revert BatchTooLarge(meterIds.length, MAX_METERS_PER_CALL);
        if (owners.length != meterIds.length || signers.length != meterIds.length) {
            revert LengthMismatch(meterIds.length, owners.length, signers.length);
        }
        for (uint256 i = 0; i < meterIds.length; ++i) {
            _register(meterIds[i], owners[i], signers[i]);
        }
    }

    /**
     * @notice Revokes meter `meterId`: its readings prove nothing from now on, so the
     * escrow settles none of its slots (its buyers are refunded after the grace period).
     *
     * Requirements:
     * - the caller holds {OPERATOR_ROLE};
     * - the meter is registered and active.
     *
     * Emits a {MeterRevoked} event.
     */
    function revokeMeter(uint32 meterId) external onlyRole(OPERATOR_ROLE) {
        Meter memory meter = _meters[meterId];
        if (meter.owner == address(0)) revert UnknownMeter(meterId);
        if (!meter.active) revert MeterNotActive(meterId);
        _meters[meterId].active = false;
        emit MeterRevoked(meterId);
    }

    /// @inheritdoc IMeterRegistry
    function exportProven(Reading calldata reading, Signature calldata signature)
        external
        view
        returns (address owner, bool active, uint64 exportedWh)
    {
        Meter memory meter = _meters[reading.meterId];
        if (meter.owner == address(0)) revert UnknownMeter(reading.meterId);
        address signer = _signers[reading.meterId];
        address recovered = ECDSA.recover(readingDigest(reading), signature.r, signature.vs);
        if (recovered != signer) revert InvalidMeterSignature(reading.meterId, recovered, signer);
        return (meter.owner, meter.active, reading.exportedWh);
    }

    /// @notice The EIP-712 digest a meter key signs for `reading` on this chain and registry.
    function readingDigest(Reading calldata reading) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(READING_TYPEHASH, reading.meterId, reading.slot, reading.exportedWh))
        );
    }

    /// @inheritdoc IMeterRegistry
    function meterOwner(uint32 meterId) external view returns (address owner, bool active) {
        Meter memory meter = _meters[meterId];
        if (meter.owner == address(0)) revert UnknownMeter(meterId);
        return (meter.owner, meter.active);
    }

    /// @notice Owner, signing address and state of meter `meterId` (all zero if never registered).
    function meterInfo(uint32 meterId) external view returns (address owner, address signer, bool active) {
        Meter memory meter = _meters[meterId];
        return (meter.owner, _signers[meterId], meter.active);
    }

    function _register(uint32 meterId, address owner, address signer) private {
        if (owner == address(0) || signer == address(0)) revert InvalidAccount();
        if (_meters[meterId].owner != address(0)) revert MeterAlreadyRegistered(meterId);
        _meters[meterId] = Meter({owner: owner, active: true});
        _signers[meterId] = signer;
        emit MeterRegistered(meterId, owner, signer);
    }
}
