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


    /// @notice Owner of meter `meterId` (who is paid for its energy) and whether it is active.
    /// Reverts for an unknown meter.
    function meterOwner(uint32 meterId) external view returns (address owner, bool active);

    /// @notice What each of the packed signed `readings` proves to the caller (an escrow). A reading is
    /// meterId 4 | firstSlot 4 | slots 1 | exportedWh 4 per slot | r 32 | vs 32 bytes (big-endian, as
    /// in {Reading} with an EIP-2098 signature). Per reading, one word: its byte offset in `readings` (bits
    /// 64 and up), why later slots are not proven ({Unproven}, bits 32..39) and the first slot it does not
    /// prove (bits 0..31); slots from `firstSlot` up to that one are proven. A reading proves slots only to
    /// the escrow its meter was registered for, only before the slot its meter was revoked in, and only with
    /// the meter key's signature; a bad reading never reverts, malformed bytes do.
    function provenExports(bytes calldata readings) external view returns (uint256[] memory proofs);
}
