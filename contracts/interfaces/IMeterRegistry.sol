// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISlotClock} from "./ISlotClock.sol";

/**
 * @title IMeterRegistry
 * @notice What the escrow needs from the meter registry: meter owners and
 * the energy a meter's signed readings prove it exported in a slot.
 */
interface IMeterRegistry is ISlotClock {
    /// @notice A meter's cumulative registers at the end of a slot, signed by the meter key.
    struct Reading {
        uint32 meterId;
        uint64 slot;
        uint64 importWh;
        uint64 exportWh;
    }

    /// @notice Owner of meter `meterId` (who is paid for its energy) and whether it is active.
    /// Reverts for an unknown meter.
    function meterOwner(uint32 meterId) external view returns (address owner, bool active);

    /// @notice Energy the meter exported during `slot`, known when the readings of
    /// `slot - 1` and `slot` were both recorded.
    function exportedIn(uint32 meterId, uint64 slot) external view returns (bool known, uint64 exportedWh);

    /// @notice {meterOwner} and {exportedIn} in one call: what settling a slot needs.
    function delivery(uint32 meterId, uint64 slot)
        external
        view
        returns (address owner, bool active, bool known, uint64 exportedWh);
}
