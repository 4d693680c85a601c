// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title ISlotClock
 * @notice Delivery slots of fixed length: slot `s` covers
 * [genesis + s * slotLength, genesis + (s + 1) * slotLength).
 */
interface ISlotClock {
    /// @notice Start of slot 0 (unix seconds).
    function genesis() external view returns (uint64);

    /// @notice Length of every slot in seconds.
    function slotLength() external view returns (uint64);

    /// @notice First second of `slot`.
    function slotStart(uint64 slot) external view returns (uint256);

    /// @notice First second after `slot`.
    function slotEnd(uint64 slot) external view returns (uint256);

    /// @notice The slot under way now (0 before genesis).
    function currentSlot() external view returns (uint64);
}
