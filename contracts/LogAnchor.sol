// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {RFC9162} from "./RFC9162.sol";

/**
 * @title LogAnchor
 * @notice Anchors the roots of append-only RFC 9162 Merkle logs on chain. One contract
 * serves many logs, each identified by a `bytes32 logId` and bound to its log key. A new
 * root is accepted only
 * - with the log key's signature over (chain id, this contract, log id, size, root, index root), so
 *   whoever sends the transaction is a mere relayer: a leaked gas key anchors nothing
 *   the log did not sign, and anyone holding a signed checkpoint may anchor it;
 * - with a consistency proof, verified on chain, from the last anchored root: nobody,
 *   the log's own operator and its log key included, can anchor a history that drops
 *   or rewrites an anchored entry.
 * No function edits or removes an anchor.
 *
 * The signature is EIP-712 typed data: domain {name: "model-ledger", version: "1",
 * chainId, verifyingContract: this contract} (see {eip712Domain}), message
 * `Checkpoint(bytes32 logId,uint64 treeSize,bytes32 root,bytes32 indexRoot)`, in the
 * 64-byte compact form of EIP-2098 (`r`, `vs`). {checkpointDigest} returns the digest
 * that is signed. `indexRoot` is the root of the log's verifiable index at this size
 * (zero: the log commits to no index): the contract does not interpret it, but the
 * signature it checks covers it and the {Anchored} event records it, so a completeness
 * proof rests on the chain too.
 *
 * Roles:
 * - the contract owner (the deployer, transferable in two steps through
 *   {Ownable2Step}; ownership cannot be renounced) creates logs, naming each log's admin
 *   and log key. Logs are created by the owner only, so that nobody can claim a log id
 *   (by default the SHA-256 of a name) ahead of its operator; the owner has no power
 *   over a log once it is created;
 * - a log's admin (a key the operator keeps offline, apart from the log key and from
 *   the gas key) can hand the log over to a new admin in two steps
 *   ({transferLogAdmin}, then {acceptLogAdmin}) and can retire the log when its log key
 *   leaked, by signing `Retire(bytes32 logId,uint64 trustedSize)` ({retireLog}: anyone
 *   may send the signed retirement);
 * - anyone may call {anchor} with a checkpoint the log key signed.
 *
 * Storage: per log, its log key, latest anchored size and retired flag share one slot
 * (read and rewritten by every anchor); per anchor one slot, the root, keyed by tree
 * size. The block an anchor landed in and its time are not stored: the {Anchored}
 * event, indexed by log id and size, names the transaction, and a verifier reads the
 * block number and time from the block's header. Gas per anchor: see
 * tests/contracts/LogAnchor.gas.test.js.
 *
 * NOTE: The first anchor of a log is taken on the log key's word (there is no earlier
 * root to be consistent with), so it must be sent with an empty proof. Every later
 * anchor must extend it. As with any RFC 9162 verifier, the sizes are the signer's
 * statement: a proof checks hashes, and no proof can make a root that does not extend
 * the previous one pass.
 *
 * WARNING: The log key is the log's trust root. Whoever holds it can anchor any
 * extension of the anchored tree (entries that never were, up to a size that blocks
 * every later honest anchor). When it leaks, the log's admin retires the log with
 * {retireLog}, naming the last size it trusts; verifiers then refuse every anchor of a
 * larger size, and the operator continues in a successor log (docs/operations.md).
 */
contract LogAnchor is Ownable2Step {
    /// @dev Per-log state in one slot. `signer == address(0)` means the log does not exist.
    struct LogState {
        address signer;
        uint64 latestSize;
        bool retired;
    }

    /// @dev EIP-712 type of the signed checkpoint.
    bytes32 private constant CHECKPOINT_TYPEHASH =
        keccak256("Checkpoint(bytes32 logId,uint64 treeSize,bytes32 root,bytes32 indexRoot)");

    /// @dev EIP-712 type of the domain.
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// @dev EIP-712 type of a signed retirement.
    bytes32 private constant RETIRE_TYPEHASH = keccak256("Retire(bytes32 logId,uint64 trustedSize)");

    /// @dev keccak256 of the domain's name, "model-ledger".
    bytes32 private constant NAME_HASH = keccak256("model-ledger");

    /// @dev keccak256 of the domain's version, "1".
    bytes32 private constant VERSION_HASH = keccak256("1");

    mapping(bytes32 logId => LogState) private _logs;
    mapping(bytes32 logId => address) private _admins;
    mapping(bytes32 logId => address) private _pendingAdmins;
    mapping(bytes32 logId => uint64) private _trustedSizes;
    mapping(bytes32 logId => mapping(uint64 size => bytes32 root)) private _roots;

    /// @notice A log was created with `admin` as its admin and `signer` as its log key.
    event LogCreated(bytes32 indexed logId, address indexed admin, address indexed signer);

    /// @notice The admin of log `logId` offered the log to `newAdmin` (zero: offer withdrawn).
    event LogAdminTransferStarted(
        bytes32 indexed logId,
        address indexed previousAdmin,
        address indexed newAdmin
    );

    /// @notice `newAdmin` accepted the admin role of log `logId`.
    event LogAdminTransferred(
        bytes32 indexed logId,
        address indexed previousAdmin,
        address indexed newAdmin
    );

    /// @notice The tree of `size` leaves with root hash `root` (and index root `indexRoot`)
    /// was anchored for log `logId`, extending the tree of `prevSize` leaves anchored
    /// before (0 for the first).
    event Anchored(bytes32 indexed logId, uint64 indexed size, bytes32 root, bytes32 indexRoot, uint64 prevSize);

    /// @notice Log `logId` was retired at anchored size `latestSize`; its admin trusts its
    /// anchors up to size `trustedSize` only (0: none).
    event LogRetired(bytes32 indexed logId, uint64 trustedSize, uint64 latestSize);

    /// @notice No log `logId` exists.
    error LogAnchorUnknownLog(bytes32 logId);

    /// @notice A log `logId` exists already.
    error LogAnchorLogExists(bytes32 logId);

    /// @notice `admin` cannot be a log admin (the zero address, or the log key itself).
    error LogAnchorInvalidAdmin(address admin);

    /// @notice `signer` cannot be a log key (the zero address).
    error LogAnchorInvalidSigner(address signer);

    /// @notice `account` is not the admin of log `logId`.
    error LogAnchorNotAdmin(bytes32 logId, address account);

    /// @notice `account` is not the pending admin of log `logId`.
    error LogAnchorNotPendingAdmin(bytes32 logId, address account);

    /// @notice The checkpoint of log `logId` is not signed by the log key: the signature
    /// recovers to `recovered` (zero for a malformed signature).
    error LogAnchorBadSignature(bytes32 logId, address recovered);

    /// @notice `newSize` is not larger than `last`, the size last anchored for log `logId`.
    error LogAnchorSizeNotIncreasing(bytes32 logId, uint64 last, uint64 newSize);

    /// @notice A root of all zero bytes cannot be anchored (it reads as "nothing anchored").
    error LogAnchorZeroRoot(bytes32 logId, uint64 newSize);

    /// @notice The consistency proof from the tree of `prevSize` leaves anchored for log
    /// `logId` to the new tree of `newSize` leaves does not verify (for a first anchor,
    /// `prevSize == 0`: the proof was not empty).
    error LogAnchorInconsistent(bytes32 logId, uint64 prevSize, uint64 newSize);

    /// @notice Nothing was anchored at `size` for log `logId` (or the log does not exist).
    error LogAnchorUnknownSize(bytes32 logId, uint64 size);

    /// @notice Log `logId` is retired (its admin trusts its anchors up to `trustedSize`).
    error LogAnchorRetired(bytes32 logId, uint64 trustedSize);

    /// @notice Log `logId` was retired and its admin trusts its anchors up to
    /// `trustedSize` only: `size` is beyond.
    error LogAnchorUntrustedSize(bytes32 logId, uint64 size, uint64 trustedSize);

    /// @notice The owner cannot renounce ownership: nobody could create logs afterwards.
    error LogAnchorRenounceDisabled();

    /// @notice The retirement of log `logId` is not signed by its admin: the signature
    /// recovers to `recovered`.
    error LogAnchorNotAdminSignature(bytes32 logId, address recovered);

    /// @dev Reverts unless log `logId` exists and the caller is its admin.
    modifier onlyLogAdmin(bytes32 logId) {
        address admin = _admins[logId];
        if (admin == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        if (admin != _msgSender()) {
            revert LogAnchorNotAdmin(logId, _msgSender());
        }
        _;
    }

    /// @notice The deployer becomes the contract owner, who may create logs.
    constructor() Ownable(_msgSender()) {}

    /**
     * @notice Always reverts with {LogAnchorRenounceDisabled}: a contract without an owner
     * could create no more logs, and renouncing by mistake cannot be undone.
     */
    function renounceOwnership() public pure override {
        revert LogAnchorRenounceDisabled();
    }

    /**
     * @notice Creates log `logId` with `admin` as its admin and `signer`, the address of
     * its log key, as the only key whose checkpoints it anchors. Only the contract owner.
     * The log key is fixed for the log's life: a new key is a new log. The admin must be
     * another key: it retires the log when the log key leaks.
     * @dev Reverts with {LogAnchorInvalidAdmin} for the zero address or the log key, with
     * {LogAnchorInvalidSigner} for the zero address and with {LogAnchorLogExists} if the
     * log exists.
     */
    function createLog(bytes32 logId, address admin, address signer) external onlyOwner {
        if (admin == address(0) || admin == signer) {
            revert LogAnchorInvalidAdmin(admin);
        }
        if (signer == address(0)) {
            revert LogAnchorInvalidSigner(signer);
        }
        if (_logs[logId].signer != address(0)) {
            revert LogAnchorLogExists(logId);
        }
        _logs[logId].signer = signer;
        _admins[logId] = admin;
        emit LogCreated(logId, admin, signer);
    }

    /**
     * @notice Offers the admin role of log `logId` to `newAdmin`, who must call
     * {acceptLogAdmin}. Only the log's admin, who stays admin until then. A new offer
     * replaces the previous one; `newAdmin == address(0)` withdraws it.
     */
    function transferLogAdmin(bytes32 logId, address newAdmin) external onlyLogAdmin(logId) {
        _pendingAdmins[logId] = newAdmin;
        emit LogAdminTransferStarted(logId, _msgSender(), newAdmin);
    }

    /**
     * @notice Makes the caller the admin of log `logId`. Only the pending admin named
     * by {transferLogAdmin}.
     */
    function acceptLogAdmin(bytes32 logId) external {
        address previousAdmin = _admins[logId];
        address newAdmin = _msgSender();
        if (previousAdmin == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        if (_pendingAdmins[logId] != newAdmin) {
            revert LogAnchorNotPendingAdmin(logId, newAdmin);
        }
        _admins[logId] = newAdmin;
        delete _pendingAdmins[logId];
        emit LogAdminTransferred(logId, previousAdmin, newAdmin);
    }

    /**
     * @notice Retires log `logId` for good: no anchor is accepted after this, and the
     * admin states that it trusts the log's anchors up to size `trustedSize` only (an
     * anchored size, or 0 for none). Needs the log admin's signature (`r`, `vs`) over
     * `Retire(logId, trustedSize)` (see {retireDigest}); anyone may send it, so the admin
     * key needs no gas and can stay offline. For a leaked log key: whoever holds it may
     * have anchored checkpoints the operator never signed after `trustedSize`; verifiers
     * read {logInfo} and refuse those.
     * @dev Reverts with {LogAnchorUnknownLog}, {LogAnchorNotAdminSignature},
     * {LogAnchorRetired} if the log is retired already, and {LogAnchorUnknownSize} when
     * nothing is anchored at a non-zero `trustedSize`. Emits {LogRetired}.
     */
    function retireLog(bytes32 logId, uint64 trustedSize, bytes32 r, bytes32 vs) external {
        address admin = _admins[logId];
        if (admin == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        (address recovered, ECDSA.RecoverError failure, ) = ECDSA.tryRecover(retireDigest(logId, trustedSize), r, vs);
        if (failure != ECDSA.RecoverError.NoError || recovered != admin) {
            revert LogAnchorNotAdminSignature(logId, recovered);
        }
        LogState storage log = _logs[logId];
        if (log.retired) {
            revert LogAnchorRetired(logId, _trustedSizes[logId]);
        }
        if (trustedSize != 0 && _roots[logId][trustedSize] == bytes32(0)) {
            revert LogAnchorUnknownSize(logId, trustedSize);
        }
        log.retired = true;
        _trustedSizes[logId] = trustedSize;
        emit LogRetired(logId, trustedSize, log.latestSize);
    }

    /**
     * @notice Anchors the tree of `newSize` leaves with root hash `newRoot` (and index
     * root `indexRoot`) for log `logId`. Anyone may send it: what counts is the log key's
     * signature (`r`, `vs`: EIP-2098 compact form) over the checkpoint (see
     * {checkpointDigest}).
     * @param consistencyProof RFC 9162 consistency proof from the last anchored tree to
     * the new one; empty for the first anchor of the log.
     * @dev Reverts with {LogAnchorUnknownLog}, {LogAnchorRetired},
     * {LogAnchorSizeNotIncreasing} when `newSize` is not larger than the last anchored
     * size (so sending the same anchor twice is harmless), {LogAnchorZeroRoot},
     * {LogAnchorBadSignature} or {LogAnchorInconsistent}. Emits {Anchored}.
     */
    function anchor(
        bytes32 logId,
        uint64 newSize,
        bytes32 newRoot,
        bytes32 indexRoot,
        bytes32[] calldata consistencyProof,
        bytes32 r,
        bytes32 vs
    ) external {
        LogState memory state = _logs[logId];
        if (state.signer == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        if (state.retired) {
            revert LogAnchorRetired(logId, _trustedSizes[logId]);
        }
        uint64 prevSize = state.latestSize;
        if (newSize <= prevSize) {
            revert LogAnchorSizeNotIncreasing(logId, prevSize, newSize);
        }
        if (newRoot == bytes32(0)) {
            revert LogAnchorZeroRoot(logId, newSize);
        }
        _checkSignature(logId, newSize, newRoot, indexRoot, r, vs, state.signer);
        if (prevSize == 0) {
            if (consistencyProof.length != 0) {
                revert LogAnchorInconsistent(logId, prevSize, newSize);
            }
        } else {
            bytes32 prevRoot = _roots[logId][prevSize];
            if (!RFC9162.verifyConsistency(prevSize, newSize, consistencyProof, prevRoot, newRoot)) {
                revert LogAnchorInconsistent(logId, prevSize, newSize);
            }
        }
        _roots[logId][newSize] = newRoot;
        _logs[logId].latestSize = newSize;
        emit Anchored(logId, newSize, newRoot, indexRoot, prevSize);
    }

    /**
     * @notice The EIP-712 digest the log key signs for the checkpoint (`logId`, `size`,
     * `root`, `indexRoot`) of this contract on this chain.
     */
    function checkpointDigest(
        bytes32 logId,
        uint64 size,
        bytes32 root,
        bytes32 indexRoot
    ) public view returns (bytes32) {
        return _typedDigest(keccak256(abi.encode(CHECKPOINT_TYPEHASH, logId, size, root, indexRoot)));
    }

    /// @notice The EIP-712 digest the log's admin signs to retire it, trusting it up to `trustedSize`.
    function retireDigest(bytes32 logId, uint64 trustedSize) public view returns (bytes32) {
        return _typedDigest(keccak256(abi.encode(RETIRE_TYPEHASH, logId, trustedSize)));
    }

    /**
     * @notice The EIP-712 domain of the signed checkpoints (ERC-5267), for tools that sign
     * or check them: name "model-ledger", version "1", this chain and this contract.
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

    /**
     * @notice The root hash anchored for log `logId` at tree size `size`.
     * @dev Reverts with {LogAnchorUnknownSize} when nothing was anchored at that size,
     * rather than returning a zero hash that a careless caller could compare against.
     */
    function rootAt(bytes32 logId, uint64 size) public view returns (bytes32 root) {
        root = _roots[logId][size];
        if (root == bytes32(0)) {
            revert LogAnchorUnknownSize(logId, size);
        }
    }

    /**
     * @notice The latest anchor of log `logId`: its tree size and root hash. Both zero
     * for a log that has no anchor yet.
     * @dev Reverts with {LogAnchorUnknownLog} if the log does not exist.
     */
    function latest(bytes32 logId) external view returns (uint64 size, bytes32 root) {
        LogState storage log = _logs[logId];
        if (log.signer == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        size = log.latestSize;
        return (size, _roots[logId][size]);
    }

    /**
     * @notice What a verifier pins a log by: its log key (`signer`), its admin, its latest
     * anchored size, and whether it was retired and up to which size its admin trusts it.
     * @dev Reverts with {LogAnchorUnknownLog} if the log does not exist.
     */
    function logInfo(
        bytes32 logId
    ) external view returns (address signer, address admin, uint64 latestSize, bool retired, uint64 trustedSize) {
        LogState storage log = _logs[logId];
        if (log.signer == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        return (log.signer, _admins[logId], log.latestSize, log.retired, _trustedSizes[logId]);
    }

    /**
     * @notice Whether `proof` shows that the leaf with hash `leafHash` sits at `index` in
     * the tree of `size` leaves anchored for log `logId` (RFC 9162 inclusion proof).
     * @dev Reverts with {LogAnchorUnknownSize} when nothing was anchored at `size`, and
     * with {LogAnchorUntrustedSize} when the log was retired and its admin does not trust
     * `size` (whoever held the leaked log key may have anchored it); returns false for
     * any proof that does not verify, including `index >= size`.
     */
    function verifyInclusion(
        bytes32 logId,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        if (_logs[logId].retired && size > _trustedSizes[logId]) {
            revert LogAnchorUntrustedSize(logId, size, _trustedSizes[logId]);
        }
        return RFC9162.verifyInclusion(index, size, leafHash, proof, rootAt(logId, size));
    }

    /// @notice The admin of log `logId`; the zero address if the log does not exist.
    function logAdmin(bytes32 logId) external view returns (address) {
        return _admins[logId];
    }

    /// @notice The account offered the admin role of log `logId`, if any (else zero).
    function pendingLogAdmin(bytes32 logId) external view returns (address) {
        return _pendingAdmins[logId];
    }

    /// @dev Reverts with {LogAnchorBadSignature} unless (`r`, `vs`) is `signer`'s signature
    /// over the checkpoint (`logId`, `size`, `root`, `indexRoot`).
    function _checkSignature(
        bytes32 logId,
        uint64 size,
        bytes32 root,
        bytes32 indexRoot,
        bytes32 r,
        bytes32 vs,
        address signer
    ) private view {
        (address recovered, ECDSA.RecoverError failure, ) = ECDSA.tryRecover(
            checkpointDigest(logId, size, root, indexRoot),
            r,
            vs
        );
        if (failure != ECDSA.RecoverError.NoError || recovered != signer) {
            revert LogAnchorBadSignature(logId, recovered);
        }
    }

    /// @dev The EIP-712 digest of `structHash` in this contract's domain.
    function _typedDigest(bytes32 structHash) private view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this))
        );
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }
}
