// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

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
 * or removes it. A revocation names the leaf hash of the log record that revoked it (the
 * revoke record, or the amendment that superseded it), so its reason is provable from
 * the chain and the log. An amended licence is a new grant (a new record, a new
 * commitment); the issuer revokes the commitment it supersedes.
 *
 * One issuer, fixed for good: each registry serves one log, and its issuer is that log's
 * key (the one that signs its checkpoints), named at construction. The issuer key signs
 * each grant and each revocation as EIP-712 typed data (domain {name: "model-ledger",
 * version: "1", chainId, verifyingContract: this registry};
 * `Grant(bytes32 commitment,uint64 validFrom,uint64 validUntil)` and
 * `Revoke(bytes32 commitment,bytes32 revocation)`), and anyone may send them. So a leaked
 * gas key grants and revokes nothing.
 *
 * There is no owner and no administration: nobody can add a second issuer, remove the
 * issuer, or hand anything over. (An owner that could add issuers could front-run the
 * log key's grant of a commitment, seen in the mempool, with a window of its own
 * choosing, then remove the log key and block licences for good.) A log that needs
 * another key (its log key leaked, the log was retired) continues as a successor log
 * with a registry of its own.
 *
 * {status} returns the issuer of a granted commitment (always {issuerKey}), so that a
 * verifier pinning the log key checks it against that key, as it would for any registry.
 *
 * Storage: one slot per commitment (validity window in uint40 seconds, blocks in
 * uint64). Gas: see tests/contracts/LicenceRegistry.gas.test.js.
 *
 * NOTE: {status} judges validity by `block.timestamp` of the block it is read in, and
 * says `Unknown` (all fields zero) for a commitment never granted: compare the status,
 * never only the validity window.
 */
contract LicenceRegistry {
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

    /// @notice One signed grant, for {grantMany}.
    struct SignedGrant {
        bytes32 commitment;
        uint64 validFrom;
        uint64 validUntil;
        bytes32 r;
        bytes32 vs;
    }

    /// @dev A granted commitment, in one slot. `grantedBlock == 0` means never granted (no
    /// transaction runs in the genesis block); `revokedBlock == 0` means not revoked.
    struct Commitment {
        uint40 validFrom;
        uint40 validUntil;
        uint64 grantedBlock;
        uint64 revokedBlock;
    }

    /// @dev EIP-712 type of a signed grant.
    bytes32 private constant GRANT_TYPEHASH = keccak256("Grant(bytes32 commitment,uint64 validFrom,uint64 validUntil)");

    /// @dev EIP-712 type of a signed revocation.
    bytes32 private constant REVOKE_TYPEHASH = keccak256("Revoke(bytes32 commitment,bytes32 revocation)");

    /// @dev EIP-712 type of the domain.
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @dev keccak256 of the domain's name, "model-ledger".
    bytes32 private constant NAME_HASH = keccak256("model-ledger");

    /// @dev keccak256 of the domain's version, "1".
    bytes32 private constant VERSION_HASH = keccak256("1");

    /// @dev The one key whose signatures grant and revoke, set by the constructor and
    /// never again. NOTE: kept in storage, not as an immutable, so that every registry
    /// has the same runtime code: verifiers compare the code at a pinned address with
    /// the code model-ledger ships.
    address private _issuerKey;

    mapping(bytes32 commitment => Commitment) private _commitments;

    /// @notice `commitment` was granted by issuer key `issuer`, valid from `validFrom`
    /// (inclusive) until `validUntil` (exclusive), in unix seconds.
    event Granted(bytes32 indexed commitment, address indexed issuer, uint64 validFrom, uint64 validUntil);

    /// @notice `commitment` was revoked by issuer key `issuer`; `revocation` is the leaf
    /// hash of the log record that revoked it.
    event Revoked(bytes32 indexed commitment, address indexed issuer, bytes32 revocation);

    /// @notice The grant or revocation of `commitment` is not signed by the issuer key: the
    /// signature recovers to `recovered` (zero for a malformed signature).
    error LicenceRegistryNotIssuer(bytes32 commitment, address recovered);

    /// @notice `key` cannot be the issuer (the zero address).
    error LicenceRegistryInvalidIssuer(address key);

    /// @notice `commitment` was never granted.
    error LicenceRegistryUnknownCommitment(bytes32 commitment);

    /// @notice `commitment` was granted already (in block `grantedBlock`).
    error LicenceRegistryAlreadyGranted(bytes32 commitment, uint64 grantedBlock);

    /// @notice `commitment` was revoked already (in block `revokedBlock`).
    error LicenceRegistryAlreadyRevoked(bytes32 commitment, uint64 revokedBlock);

    /// @notice The validity window of `commitment` is empty (`validUntil` is not after
    /// `validFrom`) or ends after {MAX_TIME}.
    error LicenceRegistryBadValidity(bytes32 commitment, uint64 validFrom, uint64 validUntil);

    /// @notice A revocation of `commitment` must name the log record that revokes it.
    error LicenceRegistryNoRevocationRecord(bytes32 commitment);

    /**
     * @notice `key` (a log's key) becomes the registry's issuer, for good. The deployer
     * gets no role.
     * @dev Reverts with {LicenceRegistryInvalidIssuer} for the zero address.
     */
    constructor(address key) {
        if (key == address(0)) {
            revert LicenceRegistryInvalidIssuer(key);
        }
        _issuerKey = key;
    }

    /**
     * @notice Grants `commitment`, valid from `validFrom` until `validUntil` (unix
     * seconds, the end excluded), with the issuer key's signature (`r`, `vs`: EIP-2098
     * compact form) over it (see {grantDigest}). Anyone may send it.
     * @dev Reverts with {LicenceRegistryBadValidity} unless
     * `validFrom < validUntil <= MAX_TIME`, with {LicenceRegistryAlreadyGranted} for a
     * commitment granted before (so sending the same grant twice is harmless), and with
     * {LicenceRegistryNotIssuer} for any other signer. Emits {Granted}.
     */
    function grant(bytes32 commitment, uint64 validFrom, uint64 validUntil, bytes32 r, bytes32 vs) external {
        _grant(commitment, validFrom, validUntil, r, vs, SafeCast.toUint64(block.number));
    }

    /**
     * @notice Grants every commitment of `grants`, each with its own signature, all or
     * none. Anyone may send it. A commitment granted already with the same window is
     * skipped, so that a relayer who sent one of them first cannot make the whole batch
     * fail.
     * @dev Only the issuer key grants, so a commitment the registry holds with that
     * window is exactly what the skipped grant asks for: its signature is not checked
     * again. Reverts as {grant} does for the first other grant that fails (a commitment
     * granted before with another window, a bad signature). Emits one {Granted} per
     * commitment granted, none for one skipped.
     */
    function grantMany(SignedGrant[] calldata grants) external {
        uint64 blockNumber = SafeCast.toUint64(block.number);
        for (uint256 i = 0; i < grants.length; ++i) {
            SignedGrant calldata g = grants[i];
            if (_grantedAlike(g)) {
                continue;
            }
            _grant(g.commitment, g.validFrom, g.validUntil, g.r, g.vs, blockNumber);
        }
    }

    /**
     * @notice Revokes `commitment`: from this block on its status is `Revoked`, whatever
     * its validity window. Needs the issuer key's signature (`r`, `vs`) over
     * (`commitment`, `revocation`) (see {revokeDigest}); anyone may send it.
     * `revocation` is the leaf hash of the log record that revokes it (the revoke
     * record, or the amendment superseding it).
     * @dev Reverts with {LicenceRegistryNoRevocationRecord} for a zero `revocation`,
     * {LicenceRegistryUnknownCommitment} for a commitment never granted,
     * {LicenceRegistryAlreadyRevoked} for one revoked before, and
     * {LicenceRegistryNotIssuer} for any other signer. Emits {Revoked}.
     */
    function revoke(bytes32 commitment, bytes32 revocation, bytes32 r, bytes32 vs) external {
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
        address recovered = _recover(revokeDigest(commitment, revocation), r, vs);
        if (recovered != _issuerKey) {
            revert LicenceRegistryNotIssuer(commitment, recovered);
        }
        c.revokedBlock = SafeCast.toUint64(block.number);
        emit Revoked(commitment, recovered, revocation);
    }

    /**
     * @notice The status of `commitment` at this block's time, with what the registry
     * holds for it: the validity window, the block it was granted in, the block it was
     * revoked in (0: not revoked) and the issuer key that granted it (always {issuerKey}).
     * @dev `Unknown` with every field zero for a commitment never granted; otherwise
     * `Revoked` if revoked, else `NotYetValid` before `validFrom`, `Expired` from
     * `validUntil` on, and `Active` in between.
     */
    function status(
        bytes32 commitment
    )
        external
        view
        returns (
            Status state,
            uint64 validFrom,
            uint64 validUntil,
            uint64 grantedBlock,
            uint64 revokedBlock,
            address issuer
        )
    {
        Commitment storage c = _commitments[commitment];
        if (c.grantedBlock == 0) {
            return (Status.Unknown, 0, 0, 0, 0, address(0));
        }
        if (c.revokedBlock != 0) {
            state = Status.Revoked;
        } else if (block.timestamp < c.validFrom) {
            state = Status.NotYetValid;
        } else if (block.timestamp >= c.validUntil) {
            state = Status.Expired;
        } else {
            state = Status.Active;
        }
        return (state, c.validFrom, c.validUntil, c.grantedBlock, c.revokedBlock, _issuerKey);
    }

    /// @notice The one key whose signatures grant and revoke: the log's key, fixed at
    /// construction.
    function issuerKey() external view returns (address) {
        return _issuerKey;
    }

    /// @notice The EIP-712 digest the issuer key signs to grant `commitment`.
    function grantDigest(bytes32 commitment, uint64 validFrom, uint64 validUntil) public view returns (bytes32) {
        return _typedDigest(keccak256(abi.encode(GRANT_TYPEHASH, commitment, validFrom, validUntil)));
    }

    /// @notice The EIP-712 digest the issuer key signs to revoke `commitment`.
    function revokeDigest(bytes32 commitment, bytes32 revocation) public view returns (bytes32) {
        return _typedDigest(keccak256(abi.encode(REVOKE_TYPEHASH, commitment, revocation)));
    }

    /**
     * @notice The EIP-712 domain of the signed grants and revocations (ERC-5267): name
     * "model-ledger", version "1", this chain and this registry.
     */
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "model-ledger", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    /// @dev Whether the registry holds `g`'s commitment with `g`'s window already.
    function _grantedAlike(SignedGrant calldata g) private view returns (bool) {
        Commitment storage c = _commitments[g.commitment];
        return c.grantedBlock != 0 && c.validFrom == g.validFrom && c.validUntil == g.validUntil;
    }

    /// @dev Records one signed grant; see {grant}.
    function _grant(
        bytes32 commitment,
        uint64 validFrom,
        uint64 validUntil,
        bytes32 r,
        bytes32 vs,
        uint64 blockNumber
    ) private {
        if (validUntil <= validFrom || validUntil > MAX_TIME) {
            revert LicenceRegistryBadValidity(commitment, validFrom, validUntil);
        }
        Commitment storage c = _commitments[commitment];
        if (c.grantedBlock != 0) {
            revert LicenceRegistryAlreadyGranted(commitment, c.grantedBlock);
        }
        address signer = _recover(grantDigest(commitment, validFrom, validUntil), r, vs);
        if (signer != _issuerKey) {
            revert LicenceRegistryNotIssuer(commitment, signer);
        }
        _commitments[commitment] = Commitment({
            validFrom: uint40(validFrom),
            validUntil: uint40(validUntil),
            grantedBlock: blockNumber,
            revokedBlock: 0
        });
        emit Granted(commitment, signer, validFrom, validUntil);
    }

    /// @dev The address whose signature (`r`, `vs`) over `digest` is; zero when malformed.
    function _recover(bytes32 digest, bytes32 r, bytes32 vs) private pure returns (address recovered) {
        ECDSA.RecoverError failure;
        (recovered, failure, ) = ECDSA.tryRecover(digest, r, vs);
        if (failure != ECDSA.RecoverError.NoError) {
            recovered = address(0);
        }
    }

    /// @dev The EIP-712 digest of `structHash` in this registry's domain.
    function _typedDigest(bytes32 structHash) private view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this))
        );
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }
}
