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
 * inclusive, `validUntil` exclusive), the block it was granted in, the block it was
 * revoked in and the issuer that granted it. A commitment is granted once and revoked
 * at most once, by the issuer that granted it or by the owner; nothing else edits or
 * removes it. A revocation names the leaf hash of the log record that revoked it (the
 * revoke record, or the amendment that superseded it), so its reason is provable from
 * the chain and the log. An amended licence is a new grant (a new record, a new
 * commitment); the issuer revokes the commitment it supersedes.
 *
 * Roles:
 * - the contract owner (the deployer, transferable in two steps through
 *   {Ownable2Step}; ownership cannot be renounced) adds and removes issuers, and may
 *   revoke any commitment;
 * - issuers (the deployer is the first) call {grant} and {grantMany}, and {revoke} for
 *   the commitments they granted.
 *
 * Storage: one slot per commitment (validity window in uint40 seconds, blocks in uint64,
 * the granting issuer's number in uint48); one slot per issuer. Gas: see
 * tests/contracts/LicenceRegistry.gas.test.js.
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

    /// @notice Largest time a validity window may name: 2^40 - 1 unix seconds (year 36812).
    uint64 public constant MAX_TIME = type(uint40).max;

    /// @notice One commitment to grant, for {grantMany}.
    struct Grant {
        bytes32 commitment;
        uint64 validFrom;
        uint64 validUntil;
    }

    /// @dev A granted commitment, in one slot. `grantedBlock == 0` means never granted (no
    /// transaction runs in the genesis block); `revokedBlock == 0` means not revoked;
    /// `issuer` is the granting issuer's number (see {Issuer}).
    struct Commitment {
        uint40 validFrom;
        uint40 validUntil;
        uint64 grantedBlock;
        uint64 revokedBlock;
        uint48 issuer;
    }

    /// @dev An account's issuer number (given once, on its first {addIssuer}, kept after
    /// {removeIssuer}) and whether it may issue now. `number == 0`: never an issuer.
    struct Issuer {
        uint48 number;
        bool active;
    }

    mapping(bytes32 commitment => Commitment) private _commitments;
    mapping(address account => Issuer) private _issuers;
    mapping(uint48 number => address account) private _issuerAccounts;
    uint48 private _issuerCount;

    /// @notice `account` may now grant and revoke licences.
    event IssuerAdded(address indexed account);

    /// @notice `account` may no longer grant or revoke licences.
    event IssuerRemoved(address indexed account);

    /// @notice `commitment` was granted by `issuer`, valid from `validFrom` (inclusive)
    /// until `validUntil` (exclusive), in unix seconds.
    event Granted(bytes32 indexed commitment, address indexed issuer, uint64 validFrom, uint64 validUntil);

    /// @notice `commitment` was revoked by `by` (its issuer or the owner); `revocation` is
    /// the leaf hash of the log record that revoked it.
    event Revoked(bytes32 indexed commitment, address indexed by, bytes32 revocation);

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

    /// @notice The validity window of `commitment` is empty (`validUntil` is not after
    /// `validFrom`) or ends after {MAX_TIME}.
    error LicenceRegistryBadValidity(bytes32 commitment, uint64 validFrom, uint64 validUntil);

    /// @notice `account` may not revoke `commitment`: only `issuer`, which granted it, or
    /// the owner may.
    error LicenceRegistryNotGrantingIssuer(bytes32 commitment, address account, address issuer);

    /// @notice A revocation of `commitment` must name the log record that revokes it.
    error LicenceRegistryNoRevocationRecord(bytes32 commitment);

    /// @notice The owner cannot renounce ownership: nobody could manage issuers afterwards.
    error LicenceRegistryRenounceDisabled();

    /// @notice The deployer becomes the owner and the first issuer.
    constructor() Ownable(_msgSender()) {
        _addIssuer(_msgSender());
    }

    /**
     * @notice Always reverts with {LicenceRegistryRenounceDisabled}: a registry without an
     * owner could add no issuer, and renouncing by mistake cannot be undone.
     */
    function renounceOwnership() public pure override {
        revert LicenceRegistryRenounceDisabled();
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
        _addIssuer(account);
    }

    /**
     * @notice Stops `account` from granting and revoking licences. Only the owner.
     * Commitments it granted stay as they are.
     * @dev Does nothing, and emits nothing, if `account` is not an issuer.
     */
    function removeIssuer(address account) external onlyOwner {
        Issuer storage issuer = _issuers[account];
        if (issuer.active) {
            issuer.active = false;
            emit IssuerRemoved(account);
        }
    }

    /**
     * @notice Grants `commitment`, valid from `validFrom` until `validUntil` (unix
     * seconds, the end excluded). Only issuers.
     * @dev Reverts with {LicenceRegistryBadValidity} unless
     * `validFrom < validUntil <= MAX_TIME`, and with {LicenceRegistryAlreadyGranted} for
     * a commitment granted before (so sending the same grant twice is harmless). Emits
     * {Granted}.
     */
    function grant(bytes32 commitment, uint64 validFrom, uint64 validUntil) external {
        _grant(commitment, validFrom, validUntil, SafeCast.toUint64(block.number), _issuerNumber());
    }

    /**
     * @notice Grants every commitment of `grants`, all or none. Only issuers.
     * @dev Reverts as {grant} does for the first grant that fails (a commitment listed
     * twice fails the second time). Emits one {Granted} per commitment.
     */
    function grantMany(Grant[] calldata grants) external {
        uint48 issuer = _issuerNumber();
        uint64 blockNumber = SafeCast.toUint64(block.number);
        for (uint256 i = 0; i < grants.length; ++i) {
            Grant calldata g = grants[i];
            _grant(g.commitment, g.validFrom, g.validUntil, blockNumber, issuer);
        }
    }

    /**
     * @notice Revokes `commitment`: from this block on its status is `Revoked`, whatever
     * its validity window. Only the issuer that granted it (while it is an issuer) or
     * the owner. `revocation` is the leaf hash of the log record that revokes it (the
     * revoke record, or the amendment superseding it).
     * @dev Reverts with {LicenceRegistryNoRevocationRecord} for a zero `revocation`,
     * {LicenceRegistryUnknownCommitment} for a commitment never granted,
     * {LicenceRegistryAlreadyRevoked} for one revoked before, and
     * {LicenceRegistryNotGrantingIssuer} for any other caller. Emits {Revoked}.
     */
    function revoke(bytes32 commitment, bytes32 revocation) external {
        if (revocation == bytes32(0)) {
            revert LicenceRegistryNoRevocationRecord(commitment);
        }
        Commitment storage c = _commitments[commitment];
        if (c.grantedBlock == 0) {
            revert LicenceRegistryUnknownCommitment(commitment);
        }
        if (c.revokedBlock != 0) {
            revert LicenceRegistryAlreadyRevoked(commitment, c.revokedBlock);
        }
        Issuer memory caller = _issuers[_msgSender()];
        if (!(caller.active && caller.number == c.issuer) && _msgSender() != owner()) {
            revert LicenceRegistryNotGrantingIssuer(commitment, _msgSender(), _issuerAccounts[c.issuer]);
        }
        c.revokedBlock = SafeCast.toUint64(block.number);
        emit Revoked(commitment, _msgSender(), revocation);
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

    /// @notice Whether `account` may grant licences (and revoke those it granted).
    function isIssuer(address account) external view returns (bool) {
        return _issuers[account].active;
    }

    /// @notice The issuer that granted `commitment` (zero if never granted).
    function issuerOf(bytes32 commitment) external view returns (address) {
        return _issuerAccounts[_commitments[commitment].issuer];
    }

    /// @dev Makes `account` an active issuer, numbering it on its first time.
    function _addIssuer(address account) private {
        Issuer storage issuer = _issuers[account];
        if (issuer.active) {
            return;
        }
        if (issuer.number == 0) {
            uint48 number = ++_issuerCount;
            issuer.number = number;
            _issuerAccounts[number] = account;
        }
        issuer.active = true;
        emit IssuerAdded(account);
    }

    /// @dev The caller's issuer number; reverts with {LicenceRegistryNotIssuer} unless
    /// the caller is an active issuer.
    function _issuerNumber() private view returns (uint48) {
        Issuer memory issuer = _issuers[_msgSender()];
        if (!issuer.active) {
            revert LicenceRegistryNotIssuer(_msgSender());
        }
        return issuer.number;
    }

    /// @dev Records one grant by the caller, issuer number `issuer`; see {grant}.
    function _grant(
        bytes32 commitment,
        uint64 validFrom,
        uint64 validUntil,
        uint64 blockNumber,
        uint48 issuer
    ) private {
        if (validUntil <= validFrom || validUntil > MAX_TIME) {
            revert LicenceRegistryBadValidity(commitment, validFrom, validUntil);
        }
        Commitment storage c = _commitments[commitment];
        if (c.grantedBlock != 0) {
            revert LicenceRegistryAlreadyGranted(commitment, c.grantedBlock);
        }
        _commitments[commitment] = Commitment({
            validFrom: uint40(validFrom),
            validUntil: uint40(validUntil),
            grantedBlock: blockNumber,
            revokedBlock: 0,
            issuer: issuer
        });
        emit Granted(commitment, _msgSender(), validFrom, validUntil);
    }
}
