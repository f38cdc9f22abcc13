/*
 * model-ledger verification page: RFC 9162 proofs, as ledger/core/merkle/verify.py (one leaf)
 * and ledger/core/merkle/multiproof.py (many leaves of one tree, shared nodes once) check them.
 * Nodes and small leaves are hashed with the page's synchronous SHA-256 (J.sha256Now, checked
 * against Node's on every length up to 129 bytes and a few large ones): a verifier of a
 * thousand entries hashes tens of thousands of 65-byte nodes, and awaiting WebCrypto for each
 * cost about 8x Python's time (scripts/bench_page_completeness.py). Leaves over 64 KiB go to
 * WebCrypto, so a large document does not block the page. Sizes and indices are BigInt
 * (trees count up to 2^64 - 1).
 *
 * Arguments are checked before any hashing; each failure is a ProofError carrying the
 * values, ProofLengthError when the number of proof nodes is wrong. The callers compare
 * the root these functions return with the one they expect.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory(require('./verify-json.js'));
  else root.LedgerMerkle = factory(root.LedgerJson);
})(typeof globalThis !== 'undefined' ? globalThis : this, function (J) {
  'use strict';

  const HASH_SIZE = 32;

  class ProofError extends Error {}

  class ProofLengthError extends ProofError {
    constructor(expected, got) {
      super(`wrong proof length: expected ${expected} nodes, got ${got}`);
      this.expected = expected;
      this.got = got;
    }
  }

  /** Leaves at most this long are hashed at once; longer ones by WebCrypto. */
  const SYNC_LEAF_BYTES = 65536;

  /** The RFC 9162 leaf hash of `data`: a Uint8Array, or a promise of one for a long leaf. */
  function hashLeaf(data) {
    const input = J.concat(Uint8Array.of(0), data);
    return data.length <= SYNC_LEAF_BYTES ? J.sha256Now(input) : J.sha256(input);
  }

  /** The RFC 9162 hash of a node from its children's hashes (at once). */
  function hashChildren(left, right) {
    return J.sha256Now(J.concat(Uint8Array.of(1), left, right));
  }

  const bitLength = (n) => (n === 0n ? 0 : n.toString(2).length);
  const bitCount = (n) => n.toString(2).replace(/0/g, '').length;

  /** k of RFC 9162 2.1.1: the largest power of two strictly below `n` (n >= 2). */
  const splitPoint = (n) => 1n << BigInt(bitLength(n - 1n) - 1);

  function checkHash(name, value) {
    if (value.length !== HASH_SIZE) throw new ProofError(`${name} must be ${HASH_SIZE} bytes, got ${value.length}`);
  }

  /** Nodes in the inclusion proof of `index` in a tree of `size` (index < size). */
  function inclusionLength(index, size) {
    const inner = bitLength(index ^ (size - 1n));
    return inner + bitCount(index >> BigInt(inner));
  }

  /** The root that `proof` leads to from `leafHash` at `index` in a tree of `size`
   * (RFC 9162 2.1.3.2). */
  async function rootFromInclusionProof(index, size, leafHash, proof) {
    if (index < 0n || size < 0n) throw new ProofError(`index and size must not be negative: index ${index}, size ${size}`);
    if (index >= size) throw new ProofError(`index is beyond size: ${index} >= ${size}`);
    checkHash('leaf_hash', leafHash);
    proof.forEach((node, i) => checkHash(`proof[${i}]`, node));
    const expected = inclusionLength(index, size);
    if (proof.length !== expected) throw new ProofLengthError(expected, proof.length);
    let fn = index;
    let sn = size - 1n;
    let r = leafHash;
    for (const p of proof) {
      if (fn & 1n || fn === sn) {
        r = hashChildren(p, r);
        while (!(fn & 1n) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = hashChildren(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return r;
  }

  /* ---- many leaves, one proof (ledger/core/merkle/multiproof.py) ------------------------------------ */

  function checkIndices(indices, size) {
    if (size < 1n) throw new ProofError(`tree size must be positive, got ${size}`);
    if (!indices.length) throw new ProofError('a multi-entry proof needs at least one leaf index');
    if (indices[0] < 0n) throw new ProofError(`leaf index is negative: ${indices[0]}`);
    let previous = -1n;
    indices.forEach((index, position) => {
      if (index <= previous) throw new ProofError(`leaf indices must increase strictly: index[${position}] = ${index} after ${previous}`);
      previous = index;
    });
    if (previous >= size) throw new ProofError(`index is beyond size: ${previous} >= ${size}`);
  }

  /** First position in indices[first:end] whose index is >= `value` (bisect_left). */
  function bisectLeft(indices, value, first, end) {
    let lo = first;
    let hi = end;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (indices[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Nodes in the multi-entry proof of `indices` in the tree of `size` leaves. */
  function multiProofLength(indices, size) {
    let count = 0;
    const stack = [[0, indices.length, 0n, size]];
    while (stack.length) {
      const [first, end, lo, hi] = stack.pop();
      if (first === end) {
        count += 1;
      } else if (hi - lo !== 1n) {
        const middle = lo + splitPoint(hi - lo);
        const cut = bisectLeft(indices, middle, first, end);
        stack.push([cut, end, middle, hi], [first, cut, lo, middle]);
      }
    }
    return count;
  }

  /**
   * The root of the tree of `size` leaves in which `proof` places leafHashes[j] at
   * indices[j] for every j: the walk of ledger/core/merkle/multiproof.py, taking a leaf hash where it
   * reaches a leaf and the next proof node where it reaches a subtree without leaves.
   * The walk is planned first (so a proof of the wrong length is refused before any
   * hashing), then hashed bottom up.
   */
  async function rootFromMultiProof(indices, size, leafHashes, proof) {
    checkIndices(indices, size);
    if (leafHashes.length !== indices.length) throw new ProofError(`${indices.length} leaf indices but ${leafHashes.length} leaf hashes`);
    leafHashes.forEach((leaf, i) => checkHash(`leaf_hashes[${i}]`, leaf));
    proof.forEach((node, i) => checkHash(`proof[${i}]`, node));
    let taken = 0;
    function plan(first, end, lo, hi) {
      if (first === end) {
        if (taken >= proof.length) throw new ProofLengthError(multiProofLength(indices, size), proof.length);
        taken += 1;
        return proof[taken - 1];
      }
      if (hi - lo === 1n) return leafHashes[first];
      const middle = lo + splitPoint(hi - lo);
      const cut = bisectLeft(indices, middle, first, end);
      return [plan(first, cut, lo, middle), plan(cut, end, middle, hi)];
    }
    const tree = plan(0, indices.length, 0n, size);
    if (taken !== proof.length) throw new ProofLengthError(multiProofLength(indices, size), proof.length);
    return fold(tree);
  }

  function fold(node) {
    if (node instanceof Uint8Array) return node;
    return hashChildren(fold(node[0]), fold(node[1]));
  }

  return {
    HASH_SIZE,
    ProofError,
    ProofLengthError,
    hashLeaf,
    hashChildren,
    inclusionLength,
    rootFromInclusionProof,
    multiProofLength,
    rootFromMultiProof,
  };
});
