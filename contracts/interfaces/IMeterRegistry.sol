// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISlotClock} from "./ISlotClock.sol";
import {Signature} from "../Signature.sol";

/**
 * @title IMeterRegistry
 * @notice What the escrow needs from the meter registry: meter owners, and the
 * energy a meter's signed reading proves it exported in a slot.
 */
interface IMeterRegistry is ISlotClock {
    /// @notice The energy a meter exported during a slot (its 15-minute interval value), signed by the meter key.
    /// Only export: the import (when people use power) never goes on chain.
    struct Reading {
        uint32 meterId;
        uint64 slot;
        uint64 exportedWh;
    }

    /// @notice Owner of meter `meterId` (who is paid for its energy) and whether it is active.
    /// Reverts for an unknown meter.
    function meterOwner(uint32 meterId) external view returns (address owner, bool active);

    /// @notice What `reading` proves: the meter's owner and state, and the energy exported in the slot.
    /// Reverts for an unknown meter or a signature that is not the meter key's.
    function exportProven(Reading calldata reading, Signature calldata signature)
        external
        view
        returns (address owner, bool active, uint64 exportedWh);
}
