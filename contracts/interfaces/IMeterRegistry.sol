// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ISlotClock} from "./ISlotClock.sol";
import {Signature} from "../Signature.sol";

/**
 * @title IMeterRegistry
 * @notice What an escrow needs from the meter registry: who owns a meter, and
 * the energy a meter's signed readings prove it exported, slot by slot.
 */
interface IMeterRegistry is ISlotClock {
    /// @notice The energy a meter exported in consecutive slots from `firstSlot` (interval values, Wh),
    /// signed by the meter key: one signature covers a whole window (an hour, a day).
    /// Only export: the import (when people use power) never goes on chain.
    struct Reading {
        uint32 meterId;
        uint32 firstSlot;
        uint32[] exportedWh;
    }

    /// @notice Why a reading proves nothing (or nothing from some slot on).
    enum Unproven {
        None,
        /// The meter was never registered.
        UnknownMeter,
        /// The meter sells through another escrow than the caller.
        OtherMarket,
        /// The signature is not the meter key's.
        BadSignature,
        /// The meter was revoked: slots from `provenUntil` on are not proven.
        Revoked
    }

    /// @notice What one reading proves to the escrow that asked: the slots before `provenUntil` (from the
    /// reading's first slot) are proven; `reason` says why later slots are not.
    struct Proof {
        uint32 provenUntil;
        Unproven reason;
    }

    /// @notice Owner of meter `meterId` (who is paid for its energy) and whether it is active.
    /// Reverts for an unknown meter.
    function meterOwner(uint32 meterId) external view returns (address owner, bool active);

    /// @notice What each reading proves to the caller (an escrow): per reading, the slots proven.
    /// A reading proves slots only to the escrow its meter was registered for, only up to the slot its
    /// meter was revoked in, and only with the meter key's signature; it never reverts for a bad reading.
    function provenExports(Reading[] calldata readings, Signature[] calldata signatures)
        external
        view
        returns (Proof[] memory proofs);
}
