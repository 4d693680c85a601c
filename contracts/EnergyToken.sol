// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/**
 * @title EnergyToken
 * @notice The QRC20 (ERC20) token that pays for energy in p2p-energy.
 *
 * Qtum tokens conventionally use 8 decimals, matching the satoshi, so one
 * token is 10^8 base units. Supply is created only by accounts holding
 * {MINTER_ROLE}; any holder can burn its own tokens (or an allowance).
 *
 * There is deliberately no ERC-2612 `permit`: on Qtum `msg.sender` is the
 * HASH160 of the public key while `ecrecover` returns the keccak-style
 * address, so a signature can never be matched to its sender there.
 */
contract EnergyToken is ERC20, ERC20Burnable, AccessControl {
    /// @notice Role allowed to mint new tokens.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /**
     * @param name_ Token name, e.g. "Energy Token".
     * @param symbol_ Token symbol, e.g. "NRG".
     * @param admin Account given {DEFAULT_ADMIN_ROLE} and {MINTER_ROLE}.
     *
     * Requirements:
     * - `admin` is not the zero address (a token nobody can administer is a mistake).
     */
    constructor(string memory name_, string memory symbol_, address admin) ERC20(name_, symbol_) {
        if (admin == address(0)) revert ERC20InvalidReceiver(address(0));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
    }

    /// @notice Token base units per token: 8, like QTUM and other QRC20 tokens.
    function decimals() public pure override returns (uint8) {
        return 8;
    }

    /**
     * @notice Creates `amount` base units and assigns them to `to`.
     *
     * Requirements:
     * - the caller holds {MINTER_ROLE};
     * - `to` is not the zero address.
     *
     * Emits a {Transfer} event from the zero address.
     */
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}
