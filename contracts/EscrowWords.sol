// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title EscrowWords
 * @notice The escrow's packed storage words and the byte layout of its batch calls' records.
 * `p2p_energy/wire/` writes the same layouts (tests compare the two).
 *
 * Storage words (fields from the low bits up):
 *   account  balance 0..95 | bidPrice 96..143 | bidWh 144..167 | bidUntil 168..199 | lastSlot 200..231 | lastWh 232..255
 *   ask      meterId 0..31 | minPrice 32..79 | maxWh 80..103 | minWh 104..127 | until 128..159
 *
 * Calldata records (big-endian, packed, sizes in bytes):
 *   accounts      address 20, strictly increasing
 *   orders        bid: tag 1 (=1) | account index 2 | maxPrice 6 | maxWhPerSlot 3 | untilSlot 4 | r 32 | vs 32
 *                 ask: tag 1 (=2) | account 20 | meterId 4 | minPrice 6 | maxWhPerSlot 3 | minWh 3 | untilSlot 4
 *                      | r 32 | vs 32
 *   matches       slot header: slot 4 | lots 2; lot header: seller (account index) 2 | fills 1 | price per kWh 6;
 *                 fill: buyer (account index) 2 | wh 3, at the lot's price; or, in a lot whose price is 0
 *                 (each fill its own), buyer 2 | wh 3 | price per kWh 6
 *   closes        group header: slot 4 | group 4 | lots 1; lot header: meterId 4 | seller (account index) 2
 *                 | trades 1 | reading (ordinal from 1; 0: none) 2 | price per kWh 6; trade: as a fill
 *   readings      meterId 4 | firstSlot 4 | slots 1 | exportedWh 4 per slot | r 32 | vs 32
 */
library EscrowWords {
    uint256 internal constant MASK24 = 0xffffff;
    uint256 internal constant MASK32 = 0xffffffff;
    uint256 internal constant MASK48 = 0xffffffffffff;
    uint256 internal constant MASK96 = 0xffffffffffffffffffffffff;

    uint256 internal constant ACCOUNT_SIZE = 20;
    uint256 internal constant BID_SIZE = 80;
    uint256 internal constant ASK_SIZE = 105;
    uint256 internal constant SLOT_HEADER_SIZE = 6;
    uint256 internal constant LOT_HEADER_SIZE = 9;
    uint256 internal constant FILL_SIZE = 5;
    uint256 internal constant PRICED_FILL_SIZE = 11;
    uint256 internal constant GROUP_HEADER_SIZE = 9;
    uint256 internal constant CLOSE_LOT_HEADER_SIZE = 15;
    uint256 internal constant READING_HEADER_SIZE = 9;
    uint256 internal constant SIGNATURE_SIZE = 64;

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

    /// The `size`-byte big-endian number at byte `at` of `data` (the caller checks at + size <= data.length).
    function read(bytes calldata data, uint256 at, uint256 size) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := shr(sub(256, shl(3, size)), calldataload(add(data.offset, at)))
        }
    }

    /// The address at byte `at` of `data` (the caller checks at + 20 <= data.length).
    function readAddress(bytes calldata data, uint256 at) internal pure returns (address account) {
        assembly ("memory-safe") {
            account := shr(96, calldataload(add(data.offset, at)))
        }
    }
}
