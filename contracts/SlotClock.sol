// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISlotClock} from "./interfaces/ISlotClock.sol";

/**
 * @title SlotClock
 * @notice Cuts time into delivery slots of fixed length: slot `s` covers
 * [genesis + s * slotLength, genesis + (s + 1) * slotLength).
 *
 * Only `block.timestamp` is read, never block fields that would pose as
 * randomness. All arithmetic is in uint256 on uint64 inputs, so it cannot
 * overflow.
 */
abstract contract SlotClock is ISlotClock {
    /// @inheritdoc ISlotClock
    uint64 public immutable genesis;
    /// @inheritdoc ISlotClock
    uint64 public immutable slotLength;

    error InvalidSlotLength(uint64 slotLength);

    constructor(uint64 genesis_, uint64 slotLength_) {
        if (slotLength_ == 0) revert InvalidSlotLength(slotLength_);
        genesis = genesis_;
        slotLength = slotLength_;
    }

    /// @inheritdoc ISlotClock
    function slotStart(uint64 slot) public view returns (uint256) {
        return uint256(genesis) + uint256(slot) * slotLength;
    }

    /// @inheritdoc ISlotClock
    function slotEnd(uint64 slot) public view returns (uint256) {
        return slotStart(slot) + slotLength;
    }

    /// @inheritdoc ISlotClock
    function currentSlot() public view returns (uint64) {
        // Slots are wall-clock time by design; block-producer timestamp skew only moves this bound by that skew.
        // slither-disable-next-line timestamp
        if (block.timestamp < genesis) return 0;
        // (timestamp - genesis) / slotLength < 2^64 for any timestamp below 2^64.
        return uint64((block.timestamp - genesis) / slotLength);
    }
}
