// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMeterRegistry} from "./interfaces/IMeterRegistry.sol";
import {SlotClock} from "./SlotClock.sol";

/**
 * @title MeterRegistry
 * @notice Operator-approved smart meters and their signed register readings.
 *
 * A meter is registered by an operator with its owner (the account that
 * trades its energy) and its own signing key: the address `ecrecover`
 * yields for the meter's key. The signer is never compared with
 * `msg.sender`: on Qtum the two address kinds of one key differ, so a meter
 * is identified only by the key registered here.
 *
 * A reading is EIP-712 typed data signed by the meter key, stating the
 * cumulative import and export registers (Wh) at the end of a slot.
 * Invariants kept here:
 * - readings of a meter arrive in strictly increasing slot order, so there is
 *   at most one reading per (meter, slot) and none can be replayed;
 * - registers never go down from one reading to the next;
 * - a reading is accepted only after its slot has ended;
 * - the EIP-712 domain binds this contract's address and the live
 *   `block.chainid` (OpenZeppelin's EIP712 rebuilds the separator when the
 *   chain id differs from the one at deployment).
 * The energy exported in slot `s` is known when readings of `s - 1` and `s`
 * both exist: the difference of their export registers. (Readings arrive in
 * slot order, so the reading of `s - 1`, if any, is the last one when `s`
 * arrives.)
 */
contract MeterRegistry is IMeterRegistry, SlotClock, AccessControl, EIP712 {
    /// @notice Role allowed to register and revoke meters.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice EIP-712 type of a reading.
    bytes32 public constant READING_TYPEHASH =
        keccak256("Reading(uint32 meterId,uint64 slot,uint64 importWh,uint64 exportWh)");

    /// @notice Most readings one {submitReadings} call accepts, so a call always fits a block.
    uint256 public constant MAX_READINGS_PER_CALL = 200;

    // Packed into one storage slot: everything a reading needs to check.
    struct Meter {
        address signer;
        uint64 lastSlot;
        bool active;
        bool hasReading;
    }

    // One storage slot per reading. `exportedWh` (the export since the previous
    // slot's reading) is stored when the reading is recorded, because the
    // previous reading is loaded then anyway: settlement then reads one slot, not two.
    struct Registers {
        uint64 importWh;
        uint64 exportWh;
        uint64 exportedWh;
        bool recorded;
        bool exportKnown;
    }

    mapping(uint32 meterId => Meter) private _meters;
    mapping(uint32 meterId => address) private _owners;
    mapping(uint32 meterId => mapping(uint64 slot => Registers)) private _readings;

    /// @notice Emitted when an operator registers a meter.
    event MeterRegistered(uint32 indexed meterId, address indexed owner, address signer);
    /// @notice Emitted when an operator revokes a meter; its readings are refused from then on.
    event MeterRevoked(uint32 indexed meterId);
    /// @notice Emitted for every accepted reading.
    event ReadingRecorded(uint32 indexed meterId, uint64 indexed slot, uint64 importWh, uint64 exportWh);

    error MeterAlreadyRegistered(uint32 meterId);
    error UnknownMeter(uint32 meterId);
    error MeterNotActive(uint32 meterId);
    error InvalidAccount();
    error InvalidMeterSignature(uint32 meterId, address recovered, address expected);
    error ReadingOutOfOrder(uint32 meterId, uint64 slot, uint64 lastSlot);
    error RegisterDecreased(uint32 meterId, uint64 slot, bool exportRegister, uint64 previous, uint64 given);
    error SlotNotEnded(uint64 slot, uint256 endsAt);
    error BatchTooLarge(uint256 size, uint256 max);
    error LengthMismatch(uint256 readings, uint256 signatures);

    /**
     * @param admin Account given {DEFAULT_ADMIN_ROLE} and {OPERATOR_ROLE}.
     * @param genesis_ Start of slot 0 (unix seconds).
     * @param slotLength_ Length of a slot in seconds (e.g. 900).
     */
    constructor(address admin, uint64 genesis_, uint64 slotLength_)
        SlotClock(genesis_, slotLength_)
        EIP712("P2P Energy Meter Registry", "1")
    {
        if (admin == address(0)) revert InvalidAccount();
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
     *   mix with a new meter's);
     * - `owner` and `signer` are not the zero address.
     *
     * Emits a {MeterRegistered} event.
     */
    function registerMeter(uint32 meterId, address owner, address signer) external onlyRole(OPERATOR_ROLE) {
        if (owner == address(0) || signer == address(0)) revert InvalidAccount();
        if (_owners[meterId] != address(0)) revert MeterAlreadyRegistered(meterId);
        _owners[meterId] = owner;
        _meters[meterId] = Meter({signer: signer, lastSlot: 0, active: true, hasReading: false});
        emit MeterRegistered(meterId, owner, signer);
    }

    /**
     * @notice Revokes meter `meterId`: no more readings are accepted from it, and the
     * escrow settles none of its slots (its buyers are refunded after the grace period).
     *
     * Requirements:
     * - the caller holds {OPERATOR_ROLE};
     * - the meter is registered and active.
     *
     * Emits a {MeterRevoked} event.
     */
    function revokeMeter(uint32 meterId) external onlyRole(OPERATOR_ROLE) {
        _requireActive(meterId);
        _meters[meterId].active = false;
        emit MeterRevoked(meterId);
    }

    /**
     * @notice Records one signed reading; anyone may submit it.
     *
     * Requirements:
     * - the meter is registered and active;
     * - `signature` is the meter key's EIP-712 signature of the reading;
     * - the slot has ended and is later than the meter's last reading;
     * - neither register is below the last reading's.
     *
     * Emits a {ReadingRecorded} event.
     */
    function submitReading(Reading calldata reading, bytes calldata signature) external {
        _record(reading, signature);
    }

    /**
     * @notice Records several signed readings, all or none.
     *
     * Requirements: as {submitReading} for each reading, in order; at most
     * {MAX_READINGS_PER_CALL} readings; one signature per reading.
     *
     * Emits a {ReadingRecorded} event per reading.
     */
    function submitReadings(Reading[] calldata readings, bytes[] calldata signatures) external {
        if (readings.length > MAX_READINGS_PER_CALL) revert BatchTooLarge(readings.length, MAX_READINGS_PER_CALL);
        if (readings.length != signatures.length) revert LengthMismatch(readings.length, signatures.length);
        for (uint256 i = 0; i < readings.length; ++i) {
            _record(readings[i], signatures[i]);
        }
    }

    /// @notice The EIP-712 digest a meter key signs for `reading` on this chain and registry.
    function readingDigest(Reading calldata reading) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(READING_TYPEHASH, reading.meterId, reading.slot, reading.importWh, reading.exportWh))
        );
    }

    /// @inheritdoc IMeterRegistry
    function meterOwner(uint32 meterId) external view returns (address owner, bool active) {
        owner = _owners[meterId];
        if (owner == address(0)) revert UnknownMeter(meterId);
        active = _meters[meterId].active;
    }

    /// @notice Signing address, last reading's slot and state of meter `meterId`.
    function meterInfo(uint32 meterId)
        external
        view
        returns (address owner, address signer, bool active, bool hasReading, uint64 lastSlot)
    {
        Meter memory meter = _meters[meterId];
        return (_owners[meterId], meter.signer, meter.active, meter.hasReading, meter.lastSlot);
    }

    /// @notice The registers recorded for `meterId` at the end of `slot`, if any.
    function readingOf(uint32 meterId, uint64 slot)
        external
        view
        returns (bool recorded, uint64 importWh, uint64 exportWh)
    {
        Registers memory registers = _readings[meterId][slot];
        return (registers.recorded, registers.importWh, registers.exportWh);
    }

    /// @inheritdoc IMeterRegistry
    function exportedIn(uint32 meterId, uint64 slot) public view returns (bool known, uint64 exportedWh) {
        Registers memory registers = _readings[meterId][slot];
        return (registers.exportKnown, registers.exportedWh);
    }

    /// @inheritdoc IMeterRegistry
    function delivery(uint32 meterId, uint64 slot)
        external
        view
        returns (address owner, bool active, bool known, uint64 exportedWh)
    {
        owner = _owners[meterId];
        if (owner == address(0)) revert UnknownMeter(meterId);
        active = _meters[meterId].active;
        (known, exportedWh) = exportedIn(meterId, slot);
    }

    function _record(Reading calldata reading, bytes calldata signature) private {
        uint32 meterId = reading.meterId;
        Meter memory meter = _requireActive(meterId);
        uint256 endsAt = slotEnd(reading.slot);
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp < endsAt) revert SlotNotEnded(reading.slot, endsAt);
        // The first reading of a meter has no predecessor, so its slot's export stays unknown.
        bool exportKnown = false;
        uint64 exportedWh = 0;
        if (meter.hasReading) {
            if (reading.slot <= meter.lastSlot) revert ReadingOutOfOrder(meterId, reading.slot, meter.lastSlot);
            Registers memory last = _readings[meterId][meter.lastSlot];
            if (reading.importWh < last.importWh) {
                revert RegisterDecreased(meterId, reading.slot, false, last.importWh, reading.importWh);
            }
            if (reading.exportWh < last.exportWh) {
                revert RegisterDecreased(meterId, reading.slot, true, last.exportWh, reading.exportWh);
            }
            // lastSlot < reading.slot, so reading.slot - 1 cannot underflow.
            exportKnown = meter.lastSlot == reading.slot - 1;
            exportedWh = exportKnown ? reading.exportWh - last.exportWh : 0;
        }
        address recovered = ECDSA.recover(readingDigest(reading), signature);
        if (recovered != meter.signer) revert InvalidMeterSignature(meterId, recovered, meter.signer);

        _readings[meterId][reading.slot] = Registers({
            importWh: reading.importWh,
            exportWh: reading.exportWh,
            exportedWh: exportedWh,
            recorded: true,
            exportKnown: exportKnown
        });
        _meters[meterId] = Meter({signer: meter.signer, lastSlot: reading.slot, active: true, hasReading: true});
        emit ReadingRecorded(meterId, reading.slot, reading.importWh, reading.exportWh);
    }

    function _requireActive(uint32 meterId) private view returns (Meter memory meter) {
        meter = _meters[meterId];
        // A registered meter always has a signer: this spares a read of _owners.
        if (meter.signer == address(0)) revert UnknownMeter(meterId);
        if (!meter.active) revert MeterNotActive(meterId);
    }
}
