// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {RFC9162} from "./RFC9162.sol";

/**
 * @title LogAnchor
 * @notice Anchors the roots of append-only RFC 9162 Merkle logs on chain. One contract
 * serves many logs, each identified by a `bytes32 logId`. A new root is accepted only
 * with a consistency proof, verified on chain, from the last anchored root: nobody, the
 * log's own operator included, can anchor a history that drops or rewrites an anchored
 * entry. No function edits or removes an anchor.
 *
 * Roles:
 * - the contract owner (the deployer, transferable in two steps through
 *   {Ownable2Step}) creates logs and names each log's first admin;
 * - a log's admin adds and removes that log's anchorers and can hand the log over to a
 *   new admin in two steps ({transferLogAdmin}, then {acceptLogAdmin});
 * - a log's anchorers call {anchor}.
 * Logs are created by the owner only, so that nobody can claim a log id (by default
 * the SHA-256 of a name) ahead of its operator. The owner has no power over a log once
 * it is created.
 *
 * Storage: per log, its admin and latest anchored size share one slot (read and
 * rewritten by every anchor), the pending admin another; per anchor, keyed by tree size,
 * the root takes one slot and its block number and timestamp a second, so that
 * {anchoredAt} can tell the time of any anchor, not only the latest. Gas per anchor
 * (measured by tests/contracts/LogAnchor.gas.test.js): about 77,500 for a first anchor;
 * 85,000 to 111,000 for later ones, growing with the proof (about 1,000 per node), with
 * a median of 95,000 to 98,000 for logs of 2^4 to 2^24 entries.
 *
 * NOTE: The first anchor of a log is taken on trust (there is no earlier root to be
 * consistent with), so it must be sent with an empty proof. Every later anchor must
 * extend it. As with any RFC 9162 verifier, the sizes are the anchorer's statement: a
 * proof checks hashes, and some proofs verify for a neighbouring size too; no proof can
 * make a root that does not extend the previous one pass.
 */
contract LogAnchor is Ownable2Step {
    /// @dev Per-log state. `admin == address(0)` means the log does not exist.
    struct LogState {
        address admin;
        uint64 latestSize;
        address pendingAdmin;
    }

    /// @dev One anchored root. `blockNumber == 0` means nothing was anchored at this size
    /// (no transaction runs in the genesis block).
    struct Anchor {
        bytes32 root;
        uint64 blockNumber;
        uint64 timestamp;
    }

    mapping(bytes32 logId => LogState) private _logs;
    mapping(bytes32 logId => mapping(address account => bool)) private _anchorers;
    mapping(bytes32 logId => mapping(uint64 size => Anchor)) private _anchors;

    /// @notice A log was created with `admin` as its admin.
    event LogCreated(bytes32 indexed logId, address indexed admin);

    /// @notice `account` may now anchor roots of log `logId`.
    event AnchorerAdded(bytes32 indexed logId, address indexed account);

    /// @notice `account` may no longer anchor roots of log `logId`.
    event AnchorerRemoved(bytes32 indexed logId, address indexed account);

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

    /// @notice The tree of `size` leaves with root hash `root` was anchored for log
    /// `logId`, extending the tree of `prevSize` leaves anchored before (0 for the first).
    event Anchored(bytes32 indexed logId, uint64 size, bytes32 root, uint64 prevSize);

    /// @notice No log `logId` exists.
    error LogAnchorUnknownLog(bytes32 logId);

    /// @notice A log `logId` exists already.
    error LogAnchorLogExists(bytes32 logId);

    /// @notice `admin` cannot be a log admin (the zero address).
    error LogAnchorInvalidAdmin(address admin);

    /// @notice `account` cannot be an anchorer (the zero address).
    error LogAnchorInvalidAnchorer(address account);

    /// @notice `account` is not the admin of log `logId`.
    error LogAnchorNotAdmin(bytes32 logId, address account);

    /// @notice `account` is not the pending admin of log `logId`.
    error LogAnchorNotPendingAdmin(bytes32 logId, address account);

    /// @notice `account` is not an anchorer of log `logId`.
    error LogAnchorNotAnchorer(bytes32 logId, address account);

    /// @notice `newSize` is not larger than `last`, the size last anchored for log `logId`.
    error LogAnchorSizeNotIncreasing(bytes32 logId, uint64 last, uint64 newSize);

    /// @notice The consistency proof from the tree of `prevSize` leaves anchored for log
    /// `logId` to the new tree of `newSize` leaves does not verify (for a first anchor,
    /// `prevSize == 0`: the proof was not empty).
    error LogAnchorInconsistent(bytes32 logId, uint64 prevSize, uint64 newSize);

    /// @notice Nothing was anchored at `size` for log `logId` (or the log does not exist).
    error LogAnchorUnknownSize(bytes32 logId, uint64 size);

    /// @dev Reverts unless log `logId` exists and the caller is its admin.
    modifier onlyLogAdmin(bytes32 logId) {
        address admin = _logs[logId].admin;
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
     * @notice Creates log `logId` with `admin` as its admin. Only the contract owner.
     * The new log has no anchorers and no anchors.
     * @dev Reverts with {LogAnchorInvalidAdmin} for the zero address and with
     * {LogAnchorLogExists} if the log exists.
     */
    function createLog(bytes32 logId, address admin) external onlyOwner {
        if (admin == address(0)) {
            revert LogAnchorInvalidAdmin(admin);
        }
        LogState storage log = _logs[logId];
        if (log.admin != address(0)) {
            revert LogAnchorLogExists(logId);
        }
        log.admin = admin;
        emit LogCreated(logId, admin);
    }

    /**
     * @notice Lets `account` anchor roots of log `logId`. Only the log's admin.
     * @dev Does nothing, and emits nothing, if `account` is an anchorer already.
     * Reverts with {LogAnchorInvalidAnchorer} for the zero address.
     */
    function addAnchorer(bytes32 logId, address account) external onlyLogAdmin(logId) {
        if (account == address(0)) {
            revert LogAnchorInvalidAnchorer(account);
        }
        if (!_anchorers[logId][account]) {
            _anchorers[logId][account] = true;
            emit AnchorerAdded(logId, account);
        }
    }

    /**
     * @notice Stops `account` from anchoring roots of log `logId`. Only the log's admin.
     * @dev Does nothing, and emits nothing, if `account` is not an anchorer.
     */
    function removeAnchorer(bytes32 logId, address account) external onlyLogAdmin(logId) {
        if (_anchorers[logId][account]) {
            _anchorers[logId][account] = false;
            emit AnchorerRemoved(logId, account);
        }
    }

    /**
     * @notice Offers the admin role of log `logId` to `newAdmin`, who must call
     * {acceptLogAdmin}. Only the log's admin, who stays admin until then. A new offer
     * replaces the previous one; `newAdmin == address(0)` withdraws it.
     */
    function transferLogAdmin(bytes32 logId, address newAdmin) external onlyLogAdmin(logId) {
        _logs[logId].pendingAdmin = newAdmin;
        emit LogAdminTransferStarted(logId, _msgSender(), newAdmin);
    }

    /**
     * @notice Makes the caller the admin of log `logId`. Only the pending admin named
     * by {transferLogAdmin}. Anchorers are kept.
     */
    function acceptLogAdmin(bytes32 logId) external {
        LogState storage log = _logs[logId];
        address newAdmin = _msgSender();
        if (log.admin == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        if (log.pendingAdmin != newAdmin) {
            revert LogAnchorNotPendingAdmin(logId, newAdmin);
        }
        address previousAdmin = log.admin;
        log.admin = newAdmin;
        delete log.pendingAdmin;
        emit LogAdminTransferred(logId, previousAdmin, newAdmin);
    }

    /**
     * @notice Anchors the tree of `newSize` leaves with root hash `newRoot` for log
     * `logId`. Only the log's anchorers.
     * @param consistencyProof RFC 9162 consistency proof from the last anchored tree to
     * the new one; empty for the first anchor of the log.
     * @dev Reverts with {LogAnchorUnknownLog}, {LogAnchorNotAnchorer},
     * {LogAnchorSizeNotIncreasing} when `newSize` is not larger than the last anchored
     * size (so sending the same anchor twice is harmless), or {LogAnchorInconsistent}.
     * Emits {Anchored}.
     */
    function anchor(
        bytes32 logId,
        uint64 newSize,
        bytes32 newRoot,
        bytes32[] calldata consistencyProof
    ) external {
        LogState storage log = _logs[logId];
        address admin = log.admin;
        uint64 prevSize = log.latestSize;
        if (admin == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        if (!_anchorers[logId][_msgSender()]) {
            revert LogAnchorNotAnchorer(logId, _msgSender());
        }
        if (newSize <= prevSize) {
            revert LogAnchorSizeNotIncreasing(logId, prevSize, newSize);
        }
        if (prevSize == 0) {
            if (consistencyProof.length != 0) {
                revert LogAnchorInconsistent(logId, prevSize, newSize);
            }
        } else {
            bytes32 prevRoot = _anchors[logId][prevSize].root;
            if (!RFC9162.verifyConsistency(prevSize, newSize, consistencyProof, prevRoot, newRoot)) {
                revert LogAnchorInconsistent(logId, prevSize, newSize);
            }
        }
        _anchors[logId][newSize] = Anchor({
            root: newRoot,
            blockNumber: SafeCast.toUint64(block.number),
            timestamp: SafeCast.toUint64(block.timestamp)
        });
        log.latestSize = newSize;
        emit Anchored(logId, newSize, newRoot, prevSize);
    }

    /**
     * @notice The root hash anchored for log `logId` at tree size `size`.
     * @dev Reverts with {LogAnchorUnknownSize} when nothing was anchored at that size,
     * rather than returning a zero hash that a careless caller could compare against.
     */
    function rootAt(bytes32 logId, uint64 size) external view returns (bytes32) {
        return _anchorAt(logId, size).root;
    }

    /**
     * @notice The anchor of log `logId` at tree size `size`: its root hash, and the
     * number and timestamp of the block it was anchored in, so a verifier can state that
     * every entry of that tree existed no later than `timestamp`.
     * @dev Reverts with {LogAnchorUnknownSize} when nothing was anchored at that size.
     */
    function anchoredAt(
        bytes32 logId,
        uint64 size
    ) external view returns (bytes32 root, uint64 blockNumber, uint64 timestamp) {
        Anchor storage a = _anchorAt(logId, size);
        return (a.root, a.blockNumber, a.timestamp);
    }

    /**
     * @notice The latest anchor of log `logId`: its tree size, root hash, block number
     * and block timestamp. All zero for a log that has no anchor yet.
     * @dev Reverts with {LogAnchorUnknownLog} if the log does not exist.
     */
    function latest(
        bytes32 logId
    ) external view returns (uint64 size, bytes32 root, uint64 blockNumber, uint64 timestamp) {
        LogState storage log = _logs[logId];
        if (log.admin == address(0)) {
            revert LogAnchorUnknownLog(logId);
        }
        size = log.latestSize;
        Anchor storage a = _anchors[logId][size];
        return (size, a.root, a.blockNumber, a.timestamp);
    }

    /**
     * @notice Whether `proof` shows that the leaf with hash `leafHash` sits at `index` in
     * the tree of `size` leaves anchored for log `logId` (RFC 9162 inclusion proof).
     * @dev Reverts with {LogAnchorUnknownSize} when nothing was anchored at `size`;
     * returns false for any proof that does not verify, including `index >= size`.
     */
    function verifyInclusion(
        bytes32 logId,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _anchorAt(logId, size).root;
        return RFC9162.verifyInclusion(index, size, leafHash, proof, root);
    }

    /// @notice Whether `account` may anchor roots of log `logId`.
    function isAnchorer(bytes32 logId, address account) external view returns (bool) {
        return _anchorers[logId][account];
    }

    /// @notice The admin of log `logId`; the zero address if the log does not exist.
    function logAdmin(bytes32 logId) external view returns (address) {
        return _logs[logId].admin;
    }

    /// @notice The account offered the admin role of log `logId`, if any (else zero).
    function pendingLogAdmin(bytes32 logId) external view returns (address) {
        return _logs[logId].pendingAdmin;
    }

    /// @dev The anchor at `size` of log `logId`; reverts with {LogAnchorUnknownSize}.
    function _anchorAt(bytes32 logId, uint64 size) private view returns (Anchor storage a) {
        a = _anchors[logId][size];
        if (a.blockNumber == 0) {
            revert LogAnchorUnknownSize(logId, size);
        }
    }
}
