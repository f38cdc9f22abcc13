// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/**
 * @title LicenceRegistry
 * @notice Licence commitments on chain, so that a licensee can check a licence's status
 * with nothing but its licence record and an RPC endpoint, even when the operator's
 * service is down.
 *
 * A commitment is the RFC 9162 leaf hash of a licence grant record,
 * `SHA-256(0x00 || RFC8785(record))`, the same hash the operator's log holds. Records are
 * salted, so a commitment reveals nothing about the licensee, the models or the terms.
 * Per commitment the registry keeps the validity window (unix seconds, `validFrom`
 * inclusive, `validUntil` exclusive), the block it was granted in and the block it was
 * revoked in. A commitment is granted once and revoked at most once; nothing else edits
 * or removes it. An amended licence is a new grant (a new record, a new commitment); the
 * issuer revokes the commitment it supersedes.
 *
 * Roles:
 * - the contract owner (the deployer, transferable in two steps through
 *   {Ownable2Step}) adds and removes issuers;
 * - issuers (the deployer is the first) call {grant}, {grantMany} and {revoke}.
 *
 * Storage: one slot per commitment (four uint64). Gas (measured by
 * tests/contracts/LicenceRegistry.gas.test.js): about 49,000 for {grant}; {grantMany}
 * costs about 26,000 per commitment in batches of 10 to 100; 31,000 for {revoke}.
 *
 * NOTE: {status} judges validity by `block.timestamp` of the block it is read in, and
 * says `Unknown` (all fields zero) for a commitment never granted: compare the status,
 * never only the validity window.
 */
contract LicenceRegistry is Ownable2Step {
    /// @notice What {status} says of a commitment at the time of the block it reads.
    enum Status {
        Unknown,
        NotYetValid,
        Active,
        Expired,
        Revoked
    }

    /// @notice One commitment to grant, for {grantMany}.
    struct Grant {
        bytes32 commitment;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @dev A granted commitment. `grantedBlock == 0` means never granted (no transaction
    /// runs in the genesis block); `revokedBlock == 0` means not revoked.
    struct Commitment {
        uint64 validFrom;
        uint64 validUntil;
        uint64 grantedBlock;
        uint64 revokedBlock;
    }

    mapping(bytes32 commitment => Commitment) private _commitments;
    mapping(address account => bool) private _issuers;

    /// @notice `account` may now grant and revoke licences.
    event IssuerAdded(address indexed account);

    /// @notice `account` may no longer grant or revoke licences.
    event IssuerRemoved(address indexed account);

    /// @notice `commitment` was granted, valid from `validFrom` (inclusive) until
    /// `validUntil` (exclusive), in unix seconds.
    event Granted(bytes32 indexed commitment, uint64 validFrom, uint64 validUntil);

    /// @notice `commitment` was revoked.
    event Revoked(bytes32 indexed commitment);

    /// @notice `account` is not an issuer.
    error LicenceRegistryNotIssuer(address account);

    /// @notice `account` cannot be an issuer (the zero address).
    error LicenceRegistryInvalidIssuer(address account);

    /// @notice `commitment` was never granted.
    error LicenceRegistryUnknownCommitment(bytes32 commitment);

    /// @notice `commitment` was granted already (in block `grantedBlock`).
    error LicenceRegistryAlreadyGranted(bytes32 commitment, uint64 grantedBlock);

    /// @notice `commitment` was revoked already (in block `revokedBlock`).
    error LicenceRegistryAlreadyRevoked(bytes32 commitment, uint64 revokedBlock);

    /// @notice The validity window of `commitment` is empty: `validUntil` is not after
    /// `validFrom`.
    error LicenceRegistryBadValidity(bytes32 commitment, uint64 validFrom, uint64 validUntil);

    /// @dev Reverts unless the caller is an issuer.
    modifier onlyIssuer() {
        if (!_issuers[_msgSender()]) {
            revert LicenceRegistryNotIssuer(_msgSender());
        }
        _;
    }

    /// @notice The deployer becomes the owner and the first issuer.
    constructor() Ownable(_msgSender()) {
        _issuers[_msgSender()] = true;
        emit IssuerAdded(_msgSender());
    }

    /**
     * @notice Lets `account` grant and revoke licences. Only the owner.
     * @dev Does nothing, and emits nothing, if `account` is an issuer already. Reverts
     * with {LicenceRegistryInvalidIssuer} for the zero address.
     */
    function addIssuer(address account) external onlyOwner {
        if (account == address(0)) {
            revert LicenceRegistryInvalidIssuer(account);
        }
        if (!_issuers[account]) {
            _issuers[account] = true;
            emit IssuerAdded(account);
        }
    }

    /**
     * @notice Stops `account` from granting and revoking licences. Only the owner.
     * Commitments it granted stay as they are.
     * @dev Does nothing, and emits nothing, if `account` is not an issuer.
     */
    function removeIssuer(address account) external onlyOwner {
        if (_issuers[account]) {
            _issuers[account] = false;
            emit IssuerRemoved(account);
        }
    }

    /**
     * @notice Grants `commitment`, valid from `validFrom` until `validUntil` (unix
     * seconds, the end excluded). Only issuers.
     * @dev Reverts with {LicenceRegistryBadValidity} unless `validFrom < validUntil`,
     * and with {LicenceRegistryAlreadyGranted} for a commitment granted before (so
     * sending the same grant twice is harmless). Emits {Granted}.
     */
    function grant(bytes32 commitment, uint64 validFrom, uint64 validUntil) external onlyIssuer {
        _grant(commitment, validFrom, validUntil, SafeCast.toUint64(block.number));
    }

    /**
     * @notice Grants every commitment of `grants`, all or none. Only issuers.
     * @dev Reverts as {grant} does for the first grant that fails (a commitment listed
     * twice fails the second time). Emits one {Granted} per commitment.
     */
    function grantMany(Grant[] calldata grants) external onlyIssuer {
        uint64 blockNumber = SafeCast.toUint64(block.number);
        for (uint256 i = 0; i < grants.length; ++i) {
            Grant calldata g = grants[i];
            _grant(g.commitment, g.validFrom, g.validUntil, blockNumber);
        }
    }

    /**
     * @notice Revokes `commitment`: from this block on its status is `Revoked`, whatever
     * its validity window. Only issuers.
     * @dev Reverts with {LicenceRegistryUnknownCommitment} for a commitment never
     * granted and {LicenceRegistryAlreadyRevoked} for one revoked before. Emits {Revoked}.
     */
    function revoke(bytes32 commitment) external onlyIssuer {
        Commitment storage c = _commitments[commitment];
        if (c.grantedBlock == 0) {
            revert LicenceRegistryUnknownCommitment(commitment);
        }
        if (c.revokedBlock != 0) {
            revert LicenceRegistryAlreadyRevoked(commitment, c.revokedBlock);
        }
        c.revokedBlock = SafeCast.toUint64(block.number);
        emit Revoked(commitment);
    }

    /**
     * @notice The status of `commitment` at this block's time, with what the registry
     * holds for it: the validity window, the block it was granted in and the block it
     * was revoked in (0: not revoked).
     * @dev `Unknown` with every field zero for a commitment never granted; otherwise
     * `Revoked` if revoked, else `NotYetValid` before `validFrom`, `Expired` from
     * `validUntil` on, and `Active` in between.
     */
    function status(
        bytes32 commitment
    )
        external
        view
        returns (Status state, uint64 validFrom, uint64 validUntil, uint64 grantedBlock, uint64 revokedBlock)
    {
        Commitment storage c = _commitments[commitment];
        if (c.grantedBlock == 0) {
            state = Status.Unknown;
        } else if (c.revokedBlock != 0) {
            state = Status.Revoked;
        } else if (block.timestamp < c.validFrom) {
            state = Status.NotYetValid;
        } else if (block.timestamp >= c.validUntil) {
            state = Status.Expired;
        } else {
            state = Status.Active;
        }
        return (state, c.validFrom, c.validUntil, c.grantedBlock, c.revokedBlock);
    }

    /// @notice Whether `account` may grant and revoke licences.
    function isIssuer(address account) external view returns (bool) {
        return _issuers[account];
    }

    /// @dev Records one grant; see {grant}.
    function _grant(bytes32 commitment, uint64 validFrom, uint64 validUntil, uint64 blockNumber) private {
        if (validUntil <= validFrom) {
            revert LicenceRegistryBadValidity(commitment, validFrom, validUntil);
        }
        Commitment storage c = _commitments[commitment];
        if (c.grantedBlock != 0) {
            revert LicenceRegistryAlreadyGranted(commitment, c.grantedBlock);
        }
        c.validFrom = validFrom;
        c.validUntil = validUntil;
        c.grantedBlock = blockNumber;
        emit Granted(commitment, validFrom, validUntil);
    }
}
