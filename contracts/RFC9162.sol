// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title RFC9162
 * @notice Verification of Merkle tree inclusion and consistency proofs as specified by
 * RFC 9162 (Certificate Transparency 2.0), section 2.1, with SHA-256:
 * leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right).
 *
 * Functions come in pairs, as in OpenZeppelin's `MerkleProof`: `processX` rebuilds the
 * root(s) a proof commits to, `verifyX` compares them with the expected roots. A proof that
 * is malformed for its sizes (too short, too long, or for an index or size out of range)
 * makes `processX` return `valid == false` and `verifyX` return false; nothing reverts
 * (short of running out of gas).
 *
 * Parameter names follow the rest of model-ledger: `index`, `size`, `leafHash`, `proof`,
 * `root` for inclusion; `size1`, `size2`, `proof`, `root1`, `root2` for consistency. The
 * walks use the RFC's own names (fn, sn, fr, sr) and cite its step numbers.
 *
 * NOTE: Node hashes come from the SHA-256 precompile (address 0x02) called with a
 * STATICCALL from assembly. Solidity counts any STATICCALL as reading state, so these
 * functions are `view` (as OpenZeppelin's `Math.modExp` and `P256` are), although they
 * are pure in fact. `sha256(abi.encodePacked(...))` gives the same hashes for about 500
 * gas more per hash, and the walk of {processConsistency}, which runs on every anchor,
 * is in assembly for another 125 gas per proof node: together they keep the median
 * anchor of `LogAnchor` under 90,000 gas (see tests/contracts/LogAnchor.gas.test.js).
 * {processInclusion} only serves views and stays in plain Solidity.
 *
 * OpenZeppelin's `MerkleProof` (sorted pairs, keccak256) cannot check these proofs.
 *
 * WARNING: Changing any function here changes which proofs are accepted on chain. The
 * algorithms must stay exactly those of RFC 9162, as implemented by `ledger.merkle` in
 * Python, against which they are tested together with the transparency-dev probes.
 */
library RFC9162 {
    /**
     * @dev Returns SHA-256(0x01 || left || right), the RFC 9162 hash of an interior node.
     * Builds the 65 input bytes past the free memory pointer (without claiming that
     * memory) and reads the digest from scratch space.
     */
    function hashNode(bytes32 left, bytes32 right) internal view returns (bytes32 digest) {
        assembly ("memory-safe") {
            let input := mload(0x40)
            mstore8(input, 0x01)
            mstore(add(input, 0x01), left)
            mstore(add(input, 0x21), right)
            // 0x02: the SHA-256 precompile. It fails only when out of gas.
            if iszero(staticcall(gas(), 0x02, input, 0x41, 0x00, 0x20)) {
                revert(0x00, 0x00)
            }
            digest := mload(0x00)
        }
    }

    /**
     * @dev Returns true when `proof` shows that the leaf with hash `leafHash` sits at
     * `index` in the tree of `size` leaves whose root hash is `root` (RFC 9162,
     * section 2.1.3.2). False for `index >= size`.
     */
    function verifyInclusion(
        uint256 index,
        uint256 size,
        bytes32 leafHash,
        bytes32[] calldata proof,
        bytes32 root
    ) internal view returns (bool) {
        (bool valid, bytes32 computed) = processInclusion(index, size, leafHash, proof);
        return valid && computed == root;
    }

    /**
     * @dev Rebuilds the root of the tree of `size` leaves from the leaf hash at `index`
     * and its inclusion proof (RFC 9162, section 2.1.3.2). `valid` is false, and `root`
     * zero, when `index >= size` or when the proof has the wrong number of nodes for
     * `index` and `size`.
     */
    function processInclusion(
        uint256 index,
        uint256 size,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) internal view returns (bool valid, bytes32 root) {
        // Step 1.
        if (index >= size) {
            return (false, bytes32(0));
        }
        // Steps 2 and 3.
        uint256 fn = index;
        uint256 sn = size - 1;
        root = leafHash;
        // Step 4.
        for (uint256 i = 0; i < proof.length; ) {
            // 4a: no level left for this node, the proof is too long.
            if (sn == 0) {
                return (false, bytes32(0));
            }
            if (fn & 1 == 1 || fn == sn) {
                // 4b: the node is a left sibling.
                root = hashNode(proof[i], root);
                // On the right edge (fn == sn, fn even) the levels where this subtree has
                // no right sibling carry it up unchanged: skip them.
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                // 4c: the node is a right sibling.
                root = hashNode(root, proof[i]);
            }
            // 4d.
            fn >>= 1;
            sn >>= 1;
            unchecked {
                ++i;
            }
        }
        // Step 5: the proof reached the root level (the root itself is compared by
        // {verifyInclusion}).
        if (sn != 0) {
            return (false, bytes32(0));
        }
        return (true, root);
    }

    /**
     * @dev Returns true when `proof` shows that the tree of `size2` leaves with root
     * `root2` extends the tree of `size1` leaves with root `root1` (RFC 9162, section
     * 2.1.4.2). For `size1 == size2` the proof must be empty and the roots equal. False
     * for `size1 == 0` (RFC 9162 defines no proof from the empty tree) and for
     * `size1 > size2`.
     */
    function verifyConsistency(
        uint256 size1,
        uint256 size2,
        bytes32[] calldata proof,
        bytes32 root1,
        bytes32 root2
    ) internal view returns (bool) {
        (bool valid, bytes32 computed1, bytes32 computed2) = processConsistency(
            size1,
            size2,
            proof,
            root1
        );
        return valid && computed1 == root1 && computed2 == root2;
    }

    /**
     * @dev Rebuilds, from a consistency proof, the roots of the trees of `size1` and
     * `size2` leaves (RFC 9162, section 2.1.4.2: fr and sr). `root1` is an input because
     * the RFC prepends it to the proof when `size1` is a power of two; then
     * `computed1 == root1`. `valid` is false, and both roots zero, when `size1 == 0`,
     * `size1 > size2`, the proof is empty for `size1 < size2` or not empty for
     * `size1 == size2`, or the proof has the wrong number of nodes for the sizes.
     */
    function processConsistency(
        uint256 size1,
        uint256 size2,
        bytes32[] calldata proof,
        bytes32 root1
    ) internal view returns (bool valid, bytes32 computed1, bytes32 computed2) {
        if (size1 == 0 || size1 > size2) {
            return (false, bytes32(0), bytes32(0));
        }
        if (size1 == size2) {
            // Nothing to prove: the trees are the same.
            if (proof.length != 0) {
                return (false, bytes32(0), bytes32(0));
            }
            return (true, root1, root1);
        }
        // Step 1.
        if (proof.length == 0) {
            return (false, bytes32(0), bytes32(0));
        }
        // Steps 3 and 4.
        uint256 fn = size1 - 1;
        uint256 sn = size2 - 1;
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        // Steps 2 and 5. fn is 0 now exactly when size1 is a power of two: the RFC then
        // prepends root1 to the proof, so the walk starts from root1 and proof[0] is the
        // first "subsequent" node; otherwise it starts from proof[0].
        uint256 next;
        if (fn == 0) {
            computed1 = root1;
        } else {
            computed1 = proof[0];
            next = 1;
        }
        computed2 = computed1;
        // Step 6, for each node proof[next..]: computed1 is fr, computed2 is sr.
        assembly ("memory-safe") {
            // Hash input 0x01 || left || right, past the free memory pointer.
            let input := mload(0x40)
            mstore8(input, 0x01)
            let left := add(input, 0x01)
            let right := add(input, 0x21)
            for {} lt(next, proof.length) {
                next := add(next, 1)
            } {
                // 6a: no level left for this node, the proof is too long (checked below).
                if iszero(sn) {
                    break
                }
                let node := calldataload(add(proof.offset, shl(5, next)))
                switch or(and(fn, 1), eq(fn, sn))
                case 0 {
                    // 6b, otherwise: sr = HASH(0x01 || sr || c).
                    mstore(left, computed2)
                    mstore(right, node)
                    if iszero(staticcall(gas(), 0x02, input, 0x41, 0x00, 0x20)) {
                        revert(0x00, 0x00)
                    }
                    computed2 := mload(0x00)
                }
                default {
                    // 6b i: fr = HASH(0x01 || c || fr), sr = HASH(0x01 || c || sr).
                    mstore(left, node)
                    mstore(right, computed1)
                    if iszero(staticcall(gas(), 0x02, input, 0x41, 0x00, 0x20)) {
                        revert(0x00, 0x00)
                    }
                    computed1 := mload(0x00)
                    mstore(right, computed2)
                    if iszero(staticcall(gas(), 0x02, input, 0x41, 0x00, 0x20)) {
                        revert(0x00, 0x00)
                    }
                    computed2 := mload(0x00)
                    // 6b ii: while LSB(fn) is not set and fn is not 0, shift both.
                    for {} and(iszero(and(fn, 1)), gt(fn, 0)) {} {
                        fn := shr(1, fn)
                        sn := shr(1, sn)
                    }
                }
                // 6c.
                fn := shr(1, fn)
                sn := shr(1, sn)
            }
        }
        // Step 7: every node used, and the walk reached the root level (the roots
        // themselves are compared by {verifyConsistency}).
        if (next != proof.length || sn != 0) {
            return (false, bytes32(0), bytes32(0));
        }
        return (true, computed1, computed2);
    }
}
