// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice A secp256k1 signature in EIP-2098's compact form: `vs` is `s` with the parity of `v` in its top bit.
/// Two static words: cheaper in calldata than 65 dynamic bytes, and read without offsets.
struct Signature {
    bytes32 r;
    bytes32 vs;
}
