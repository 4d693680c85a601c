// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title EscrowWords
 * @notice The escrow's packed words: an account's storage word, a seller's standing ask, and the
 * one-word records its batch calls read from calldata. Every field is read from the low bits up;
 * `p2p_energy/wire/` writes the same layouts (a test compares the two).
 *
 * Account (storage, one word per account):
 *   balance 0..95 | bidPrice 96..143 | bidWh 144..167 | bidUntil 168..199 | lastSlot 200..231 | lastWh 232..255
 * Ask (storage, one word per seller):
 *   meterId 0..31 | minPrice 32..79 | maxWh 80..103 | minWh 104..127 | until 128..159
 * Matching records (calldata, one word each):
 *   slot header   slot 0..31 | lots 32..47
 *   lot header    seller (account index) 0..15 | fills 16..31
 *   fill          buyer (account index) 0..15 | wh 16..39 | price 40..87
 * Closing records:
 *   group header  slot 0..31 | group 32..63 | lots 64..79
 *   lot header    meterId 0..31 | seller (account index) 32..47 | trades 48..63 | reading (index + 1, 0: none) 64..79
 *   trade         as a fill
 */
library EscrowWords {
    uint256 internal constant MASK16 = 0xffff;
    uint256 internal constant MASK24 = 0xffffff;
    uint256 internal constant MASK32 = 0xffffffff;
    uint256 internal constant MASK48 = 0xffffffffffff;
    uint256 internal constant MASK96 = 0xffffffffffffffffffffffff;

    // ------------------------------------------------------------- account

    function balance(uint256 word) internal pure returns (uint256) {
        return word & MASK96;
    }

    function bidPrice(uint256 word) internal pure returns (uint256) {
        return (word >> 96) & MASK48;
    }

    function bidWh(uint256 word) internal pure returns (uint256) {
        return (word >> 144) & MASK24;
    }

    function bidUntil(uint256 word) internal pure returns (uint256) {
        return (word >> 168) & MASK32;
    }

    function lastSlot(uint256 word) internal pure returns (uint256) {
        return (word >> 200) & MASK32;
    }

    function lastWh(uint256 word) internal pure returns (uint256) {
        return word >> 232;
    }

    /// The word with its balance replaced (the caller keeps `value` below 2^96).
    function withBalance(uint256 word, uint256 value) internal pure returns (uint256) {
        return (word & ~MASK96) | value;
    }

    /// The word with its standing bid replaced (price < 2^48, Wh < 2^24, until < 2^32).
    function withBid(uint256 word, uint256 price, uint256 wh, uint256 until) internal pure returns (uint256) {
        uint256 kept = word & ~((MASK48 << 96) | (MASK24 << 144) | (MASK32 << 168));
        return kept | (price << 96) | (wh << 144) | (until << 168);
    }

    /// The word with the slot it last bought in and the Wh bought in it (slot < 2^32, Wh < 2^24).
    function withLast(uint256 word, uint256 slot, uint256 wh) internal pure returns (uint256) {
        return (word & ((1 << 200) - 1)) | (slot << 200) | (wh << 232);
    }

    // ----------------------------------------------------------------- ask

    function askMeter(uint256 word) internal pure returns (uint32) {
        return uint32(word);
    }

    function askMinPrice(uint256 word) internal pure returns (uint256) {
        return (word >> 32) & MASK48;
    }

    function askMaxWh(uint256 word) internal pure returns (uint256) {
        return (word >> 80) & MASK24;
    }

    function askMinWh(uint256 word) internal pure returns (uint256) {
        return (word >> 104) & MASK24;
    }

    function askUntil(uint256 word) internal pure returns (uint256) {
        return (word >> 128) & MASK32;
    }

    function ask(uint256 meterId, uint256 minPrice, uint256 maxWh, uint256 minWh, uint256 until)
        internal
        pure
        returns (uint256)
    {
        return meterId | (minPrice << 32) | (maxWh << 80) | (minWh << 104) | (until << 128);
    }

    // ------------------------------------------------------------- records

    /// (slot, number of lots) of a matching slot header.
    function slotHeader(uint256 word) internal pure returns (uint32 slot, uint256 lots) {
        return (uint32(word), (word >> 32) & MASK16);
    }

    /// (seller's account index, number of fills) of a matching lot header.
    function lotHeader(uint256 word) internal pure returns (uint256 seller, uint256 fills) {
        return (word & MASK16, (word >> 16) & MASK16);
    }

    /// (buyer's account index, Wh, price per kWh) of a fill or a lot's trade.
    function fill(uint256 word) internal pure returns (uint256 buyer, uint256 wh, uint256 price) {
        return (word & MASK16, (word >> 16) & MASK24, (word >> 40) & MASK48);
    }

    /// (slot, group number, number of lots) of a closing group header.
    function groupHeader(uint256 word) internal pure returns (uint32 slot, uint32 group, uint256 lots) {
        return (uint32(word), uint32(word >> 32), (word >> 64) & MASK16);
    }

    /// (meter id, seller's account index, number of trades, reading index + 1) of a closing lot header.
    function closeLotHeader(uint256 word)
        internal
        pure
        returns (uint32 meterId, uint256 seller, uint256 trades, uint256 reading)
    {
        return (uint32(word), (word >> 32) & MASK16, (word >> 48) & MASK16, (word >> 64) & MASK16);
    }
}
