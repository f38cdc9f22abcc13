/*
 * model-ledger verification page: completeness proofs (`model-ledger/completeness/v1`), as
 * ledger/verify/completeness.py checks them, with the same check names, in the same order,
 * and the same words: that a list of entries is every entry of one index key
 * (`account:acct-1`) among the first S entries of the log, or in a window [A, B) of them,
 * against the index root the log key signed with the checkpoint of size S, which LogAnchor
 * emitted when it anchored that checkpoint (docs/completeness.md).
 *
 * Checks, in order; the first that fails ends the run:
 *   completeness (the document reads), log identity (with a pinned identity), key,
 *   tree size, duplicated, reordered, per entry record, leaf hash, inclusion, added
 *   (the record is filed under the key), then omitted (the entries are the key's committed
 *   postings in the window), index map (the map proof is a path for this key), index root
 *   (the map root and S give the document's index root); with a pinned identity and a
 *   node, the chain checks of bundles (a size never anchored fails "root on chain"), then
 *   "index root on chain": the anchored checkpoint's index root is the document's.
 *
 * The pure index mathematics (ledger/core/index: keys, postings window proofs, the sparse
 * Merkle map, the index root) is exported too, for the tests that hold it equal to Python.
 * No DOM. Loaded after verify-core.js; under Node, require() this file.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(
      require('./verify-json.js'),
      require('./verify-records.js'),
      require('./verify-merkle.js'),
      require('./verify-rpc.js'),
      require('./verify-documents.js'),
      require('./verify-core.js'),
    );
  } else {
    root.LedgerCompleteness = factory(
      root.LedgerJson, root.LedgerRecords, root.LedgerMerkle, root.LedgerRpc, root.LedgerDocuments, root.LedgerVerify,
    );
  }
})(typeof globalThis !== 'undefined' ? globalThis : this, function (J, R, M, RPC, D, V) {
  'use strict';

  const COMPLETENESS_FORMAT = 'model-ledger/completeness/v1';
  const MAX_COMPLETENESS_BYTES = 64 * 1024 * 1024;
  const MAX_KEY_CHARS = 300;
  const MAX_VALUE_LENGTH = 256;
  const MAX_ENTRIES = 100000;
  const MAX_PROOF_NODES = 64;
  const KEY_BITS = 256;
  const MAX_POSTINGS_NODES = 2 * 64;
  const MAX_TREE_SIZE = (1n << 64n) - 1n;
  const MAX_COUNT = (1n << 64n) - 1n;
  const MAX_UINT64 = (1n << 64n) - 1n;
  const MAX_UINT256 = (1n << 256n) - 1n;
  const HASH_SIZE = 32;
  const ADDRESS_SIZE = 20;
  const EMPTY = `0x${'00'.repeat(HASH_SIZE)}`;
  const NO_INDEX_ROOT = EMPTY;
  const INDEX_DOMAIN = new TextEncoder().encode('model-ledger/index/v1');
  const KEY_KINDS = ['account', 'model', 'licence', 'licensee', 'model_id', 'statement'];
  /** The key of the log's own statement records (keys.py STATEMENT_KEY). */
  const STATEMENT_KEY = 'statement:log';
  const LOWER_HEX = /^0x[0-9a-f]*$/;
  /** What a verifier adds where it accepts an entry marked erased without a membership proof
   * (ledger/verify/completeness.py). */
  const UNCHECKED = ": that a logged erasure covers them is the operator's claim here; `mledger audit` of the log's export checks it";
  /** What a verifier says of an entry whose erasure marker it proved (checkErasures). */
  const PROVEN = 'proven erased by a logged erasure';
  const ERASURE_TYPE = 'model-ledger/erasure/v1';
  const HEX64 = /^[0-9a-f]{64}$/;

  /** completeness.py erased_words: what the record check adds of a document's erased entries. */
  function erasedWords(erased, proven) {
    if (!erased) return '';
    let head = `; ${erased} erased entries carry their leaf hash only`;
    if (proven === erased) return `${head}, each ${PROVEN}`;
    if (proven) head += `, ${proven} ${PROVEN}; for the other ${erased - proven}`;
    return head + UNCHECKED;
  }

  /** Record kind -> the keys of a record's body (ledger/core/index/keys.py KEY_FUNCTIONS). */
  /* A v2 record disclosed in part may withhold a key's field: it then shows no such key. */
  const keysOf = (body, ...pairs) => pairs.filter(([, field]) => J.has(body, field)).map(([kind, field]) => `${kind}:${body[field]}`);
  const KEY_FUNCTIONS = {
    interaction: (body) => keysOf(body, ['account', 'account_id'], ['model', 'model']),
    licence: (body) => keysOf(body, ['licence', 'licence_id'], ['licensee', 'licensee']),
    model: (body) => keysOf(body, ['model_id', 'model_id']),
  };

  /** `{value!r:.N}` of Python. */
  const repr = (value, width) => D.shown(value, width);

  /* ---- errors --------------------------------------------------------------------------- */

  /** An index proof does not verify: `check` names the failed check (IndexProofError). */
  class IndexProofError extends Error {
    constructor(check, message) {
      super(`${check}: ${message}`);
      this.check = check;
      this.detail = message;
    }
  }

  /** The document cannot be read (FormatError of ledger/formats/completeness.py). */
  class FormatError extends Error {}

  /* ---- bytes ----------------------------------------------------------------------------- */

  function u64be(value) {
    const out = new Uint8Array(8);
    let n = BigInt(value);
    for (let i = 7; i >= 0; i -= 1) {
      out[i] = Number(n & 0xffn);
      n >>= 8n;
    }
    return out;
  }

  const asInt = (hex) => BigInt(hex === '0x' ? 0 : hex);

  /* ---- keys (ledger/core/index/keys.py) --------------------------------------------------- */

  /** The key strings of a valid record, without repeats, in the key functions' order; a
   * digest record with the salt of the log's own statement records is filed under
   * STATEMENT_KEY (`salt` of the record, `statementSalt` of its sha256). */
  async function recordKeys(record) {
    const fn = Object.prototype.hasOwnProperty.call(KEY_FUNCTIONS, record.kind) ? KEY_FUNCTIONS[record.kind] : null;
    if (fn !== null) return [...new Set(fn(record.body))];
    const sha256 = record.body.sha256;
    if (record.kind === 'digest' && typeof record.salt === 'string' && typeof sha256 === 'string' && /^[0-9a-f]{64}$/.test(sha256)) {
      if (record.salt === (await statementSalt(sha256))) return [STATEMENT_KEY];
    }
    return [];
  }

  /** [kind, value] of a key string; IndexProofError "key" if it is not one. */
  function parseKey(key) {
    const colon = key.indexOf(':');
    const kind = colon < 0 ? key : key.slice(0, colon);
    const value = colon < 0 ? '' : key.slice(colon + 1);
    if (colon < 0 || !KEY_KINDS.includes(kind)) {
      throw new IndexProofError('key', `${repr(key, 80)} is not KIND:VALUE with KIND one of ${KEY_KINDS.join(', ')}`);
    }
    const length = J.codePoints(value);
    if (length < 1 || length > MAX_VALUE_LENGTH) {
      throw new IndexProofError('key', `the value of key ${repr(key, 80)} must have 1 to ${MAX_VALUE_LENGTH} characters`);
    }
    if (J.loneSurrogateAt(key) >= 0) throw new IndexProofError('key', `key ${repr(key, 80)} holds a lone UTF-16 surrogate`);
    return [kind, value];
  }

  /** The map key of a key string: SHA-256 of its UTF-8 bytes, as 0x hex. */
  async function keyHash(key) {
    return J.toHex(await J.sha256(new TextEncoder().encode(key)));
  }

  /* ---- the map (ledger/core/index/smt.py) ------------------------------------------------ */

  /** SHA-256(0x02 || k || u64be(count) || postings_root), 0x hex. */
  async function mapLeafHash(keyHex, count, postingsRoot) {
    return J.toHex(await J.sha256(J.concat(Uint8Array.of(2), J.fromHex(keyHex), u64be(count), J.fromHex(postingsRoot))));
  }

  /** SHA-256(0x03 || left || right), 0x hex. */
  async function mapNodeHash(left, right) {
    return J.toHex(await J.sha256(J.concat(Uint8Array.of(3), J.fromHex(left), J.fromHex(right))));
  }

  function checkLeaf(leaf) {
    if (leaf.count < 1n || leaf.count > MAX_COUNT) throw new IndexProofError('index map', `a leaf's count must be 1 to ${MAX_COUNT}`);
  }

  /**
   * The map root in which `proof` ({siblings, other}) places `value` ({keyHash, count,
   * postingsRoot}: k's leaf), or shows k absent (`value` null): smt.root_from_proof.
   * IndexProofError "index map" for a proof that cannot be one.
   */
  async function rootFromMapProof(keyHex, value, proof) {
    const depth = proof.siblings.length;
    if (depth > KEY_BITS) throw new IndexProofError('index map', `${depth} siblings; a path has at most ${KEY_BITS}`);
    let digest;
    if (value !== null) {
      if (proof.other !== null) throw new IndexProofError('index map', "a proof of inclusion ends at the key's own leaf");
      if (value.keyHash !== keyHex) throw new IndexProofError('index map', "the leaf proven is another key's");
      checkLeaf(value);
      digest = await mapLeafHash(value.keyHash, value.count, value.postingsRoot);
    } else if (proof.other === null) {
      digest = EMPTY;
    } else {
      const other = proof.other;
      checkLeaf(other);
      if (other.keyHash === keyHex) {
        throw new IndexProofError('index map', "the leaf shown in the absence proof is the key's own: it is present");
      }
      const shift = BigInt(KEY_BITS - depth);
      if (asInt(other.keyHash) >> shift !== asInt(keyHex) >> shift) {
        throw new IndexProofError('index map', `the leaf shown in the absence proof is not on the key's path at depth ${depth}`);
      }
      digest = await mapLeafHash(other.keyHash, other.count, other.postingsRoot);
    }
    const k = asInt(keyHex);
    for (let level = depth - 1; level >= 0; level -= 1) {
      const sibling = proof.siblings[level];
      if ((k >> BigInt(KEY_BITS - 1 - level)) & 1n) digest = await mapNodeHash(sibling, digest);
      else digest = await mapNodeHash(digest, sibling);
    }
    return digest;
  }

  /** R(S) = SHA-256("model-ledger/index/v1" || u64be(S) || M), 0x hex. */
  async function indexRoot(treeSize, mapRoot) {
    return J.toHex(await J.sha256(J.concat(INDEX_DOMAIN, u64be(treeSize), J.fromHex(mapRoot))));
  }

  /* ---- postings (ledger/core/index/postings.py) ------------------------------------------ */

  /** The leaf hash of one posting: SHA-256(0x00 || u64be(leaf_index)). */
  const postingsLeaf = (leafIndex) => M.hashLeaf(u64be(leafIndex));

  /**
   * The postings root of a list of `count` postings in which `proof` shows `leafIndices`
   * (strictly increasing, in [start, end)) to be exactly the postings in [start, end):
   * postings.root_from_window. IndexProofError "omitted" when it cannot describe a
   * complete window.
   */
  async function rootFromWindow(count, start, end, leafIndices, proof) {
    const taken = BigInt(leafIndices.length);
    const first = proof.firstPosition;
    if (count < 1n) throw new IndexProofError('omitted', `a postings list of ${count} entries has no window`);
    if (first + taken > count) {
      throw new IndexProofError('omitted', `${taken} postings from position ${first} do not fit in a list of ${count}`);
    }
    if ((proof.before === null) !== (first === 0n)) {
      throw new IndexProofError(
        'omitted',
        `the posting before the window must be given exactly when the window does not start the list (first position ${first})`,
      );
    }
    if ((proof.after === null) !== (first + taken === count)) {
      throw new IndexProofError(
        'omitted',
        `the posting after the window must be given exactly when the window does not end the list (${first + taken} of ${count} postings reached)`,
      );
    }
    if (proof.before !== null && proof.before >= start) {
      throw new IndexProofError('omitted', `the posting before the window, leaf ${proof.before}, is not below ${start}: it belongs in the window`);
    }
    if (proof.after !== null && proof.after < end) {
      throw new IndexProofError('omitted', `the posting after the window, leaf ${proof.after}, is below ${end}: it belongs in the window`);
    }
    const values = [...leafIndices];
    const positions = leafIndices.map((_, i) => first + BigInt(i));
    if (proof.before !== null) {
      values.unshift(proof.before);
      positions.unshift(first - 1n);
    }
    if (proof.after !== null) {
      values.push(proof.after);
      positions.push(first + taken);
    }
    try {
      const leaves = await Promise.all(values.map(postingsLeaf));
      return J.toHex(await M.rootFromMultiProof(positions, count, leaves, proof.nodes.map(J.fromHex)));
    } catch (error) {
      if (!(error instanceof M.ProofError)) throw error;
      throw new IndexProofError('omitted', `bad postings proof: ${error.message}`);
    }
  }

  /* ---- a claim (ledger/core/index/completeness.py) ---------------------------------------- */

  /** The window lies in the log, the postings given strictly increase and lie in it. */
  function checkIndices(claim) {
    const { treeSize: size, start, end } = claim;
    if (!(start >= 0n && start < end && end <= size)) {
      throw new IndexProofError('tree size', `the window [${start}, ${end}) is not a non-empty part of the first ${size} entries`);
    }
    let previous = null;
    claim.leafIndices.forEach((index, number) => {
      if (previous !== null && index === previous) {
        throw new IndexProofError('duplicated', `entry ${number} repeats leaf ${index} of the entry before it`);
      }
      if (previous !== null && index < previous) {
        throw new IndexProofError(
          'reordered',
          `entry ${number} (leaf ${index}) comes after leaf ${previous}: entries must be in increasing leaf order`,
        );
      }
      if (!(start <= index && index < end)) {
        const where = index >= size ? "beyond the log's" : 'outside the window of';
        throw new IndexProofError('tree size', `entry ${number} is leaf ${index}, ${where} [${start}, ${end}) of the first ${size}`);
      }
      previous = index;
    });
  }

  /** The claim against its index root (completeness.verify_postings): the map root. */
  async function verifyPostings(claim) {
    parseKey(claim.key);
    checkIndices(claim);
    const k = await keyHash(claim.key);
    const given = claim.leafIndices.length;
    let value = null;
    if (claim.count === 0n) {
      if (given || claim.postingsRoot !== null || claim.window !== null) {
        throw new IndexProofError('added', `the key is claimed absent (count 0) yet ${given} entries or a postings proof are given`);
      }
    } else {
      if (claim.postingsRoot === null || claim.window === null) {
        throw new IndexProofError('omitted', `count ${claim.count} needs a postings root and a postings proof`);
      }
      if (claim.start === 0n && claim.end === claim.treeSize && BigInt(given) !== claim.count) {
        throw new IndexProofError(
          'omitted',
          `the index holds ${claim.count} entries of ${claim.key} in the first ${claim.treeSize}; ${given} are given`,
        );
      }
      const computed = await rootFromWindow(claim.count, claim.start, claim.end, claim.leafIndices, claim.window);
      if (computed !== claim.postingsRoot) {
        throw new IndexProofError(
          'omitted',
          `the ${given} entries given, at their positions, lead to postings root ${computed}, not to the key's ${claim.postingsRoot}:` +
            ' the entries are not the key\'s committed postings (one omitted, or added)',
        );
      }
      value = { keyHash: k, count: claim.count, postingsRoot: claim.postingsRoot };
    }
    const mapRoot = await rootFromMapProof(k, value, claim.mapProof);
    const computedRoot = await indexRoot(claim.treeSize, mapRoot);
    if (computedRoot !== claim.indexRoot) {
      throw new IndexProofError(
        'index root',
        `the map proof leads to map root ${mapRoot}, so to index root ${computedRoot} at size ${claim.treeSize}, not to the claimed` +
          ` ${claim.indexRoot} (a stale index root, another size, or a false count or postings root)`,
      );
    }
    return mapRoot;
  }

  /* ---- the document (ledger/formats/completeness.py parse_completeness) --------------------- */

  const fail = (message) => {
    throw new FormatError(message);
  };

  function fields(obj, where, names, optional = []) {
    if (!J.isObject(obj)) fail(`${where} must be a JSON object, got ${D.typeName(obj)}`);
    const missing = names.filter((name) => !J.has(obj, name));
    if (missing.length) fail(`${where} lacks ${missing.map((m) => J.pyRepr(m)).join(', ')}`);
    const unknown = Object.keys(obj)
      .filter((name) => !names.includes(name) && !optional.includes(name))
      .sort(J.byCodePoint); // Python's sorted(): the same field named first
    if (unknown.length) fail(`${where} has unknown field ${J.pyRepr(unknown[0])}`);
    return obj;
  }

  function int(value, where, low, high) {
    if (typeof value !== 'bigint') fail(`${where} must be an integer, got ${D.typeName(value)}`);
    if (value < low || value > high) fail(`${where} must be between ${low} and ${high}, got ${value}`);
    return value;
  }

  function bytes(value, where, size) {
    if (typeof value !== 'string' || value.length !== 2 + 2 * size || !LOWER_HEX.test(value)) {
      fail(`${where} must be 0x and ${2 * size} lowercase hex digits, got ${repr(value, 80)}`);
    }
    return value;
  }

  function hashList(value, where, limit) {
    if (!Array.isArray(value)) fail(`${where} must be a list of hashes`);
    if (value.length > limit) fail(`${where} has ${value.length} nodes; the most a proof can need is ${limit}`);
    return value;
  }

  /* ---- the compact index proofs (completeness.py parse_b64, parse_map_proof) ------------- */

  const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  const LEAF_BYTES = HASH_SIZE + 8 + HASH_SIZE;

  function b64Text(data) {
    let binary = '';
    for (const b of data) binary += String.fromCharCode(b);
    return btoa(binary);
  }

  const b64Length = (size) => 4 * Math.floor((size + 2) / 3);

  /** Exactly `size` bytes (`what` says which) as padded standard base64, canonical. */
  function b64(value, where, size, what) {
    if (typeof value !== 'string') fail(`${where} must be a base64 string, got ${D.typeName(value)}`);
    const length = J.codePoints(value);
    if (length !== b64Length(size)) {
      fail(`${where} must hold ${size} bytes (${what}) in ${b64Length(size)} base64 characters, got ${length} characters`);
    }
    if (!BASE64.test(value)) fail(`${where} is not base64: ${repr(value, 80)}`);
    const data = Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
    if (data.length !== size) fail(`${where} must hold ${size} bytes (${what}), got ${data.length}`);
    if (b64Text(data) !== value) fail(`${where} is not canonical base64 (padding bits set): ${repr(value, 80)}`);
    return data;
  }

  /** The path's depth, the bitmap of its empty siblings, the others in one base64 string. */
  function mapProof(obj, name = 'map_proof') {
    const f = fields(obj, name, ['depth', 'empty', 'siblings', 'other']);
    const depth = Number(int(f.depth, `${name}.depth`, 0n, BigInt(KEY_BITS)));
    const bitmap = J.fromHex(bytes(f.empty, `${name}.empty`, Math.ceil(depth / 8)));
    if (depth % 8 && bitmap[bitmap.length - 1] & (0xff >> (depth % 8))) {
      fail(`${name}.empty has bits set past the path's ${depth} levels (they must be zero)`);
    }
    const empty = [];
    for (let level = 0; level < depth; level += 1) empty.push(Boolean(bitmap[level >> 3] & (0x80 >> (level & 7))));
    const given = depth - empty.filter(Boolean).length;
    const blob = b64(f.siblings, `${name}.siblings`, HASH_SIZE * given, `the ${given} non-empty siblings of ${depth} levels, ${HASH_SIZE} each`);
    const siblings = [];
    let offset = 0;
    empty.forEach((isEmpty, level) => {
      if (isEmpty) {
        siblings.push(EMPTY);
        return;
      }
      const node = J.toHex(blob.subarray(offset, offset + HASH_SIZE));
      if (node === EMPTY) {
        fail(`${name}.siblings: the sibling at level ${level} is 32 zero bytes; an empty sibling is marked in ${name}.empty, not written`);
      }
      siblings.push(node);
      offset += HASH_SIZE;
    });
    let other = null;
    if (f.other !== null) {
      const raw = b64(f.other, `${name}.other`, LEAF_BYTES, 'key hash, count, postings root');
      const count = asInt(J.toHex(raw.subarray(HASH_SIZE, HASH_SIZE + 8)));
      if (count < 1n) fail(`${name}.other: a leaf's count must be 1 or more, got 0`);
      other = { keyHash: J.toHex(raw.subarray(0, HASH_SIZE)), count, postingsRoot: J.toHex(raw.subarray(HASH_SIZE + 8)) };
    }
    return { siblings, other };
  }

  const optionalIndex = (value, where) => (value === null ? null : int(value, where, 0n, MAX_TREE_SIZE - 1n));

  function postingsProof(obj, name = 'postings_proof') {
    if (obj === null) return null;
    const f = fields(obj, name, ['first_position', 'before', 'after', 'nodes']);
    const text = f.nodes;
    if (typeof text !== 'string') fail(`${name}.nodes must be a base64 string, got ${D.typeName(text)}`);
    const count = Math.floor((Math.floor(J.codePoints(text) / 4) * 3) / HASH_SIZE);
    if (count > MAX_POSTINGS_NODES) {
      fail(`${name}.nodes has ${count} nodes or more; the most a proof can need is ${MAX_POSTINGS_NODES}`);
    }
    const nodes = b64(text, `${name}.nodes`, HASH_SIZE * count, `whole ${HASH_SIZE}-byte nodes`);
    const list = [];
    for (let i = 0; i < nodes.length; i += HASH_SIZE) list.push(J.toHex(nodes.subarray(i, i + HASH_SIZE)));
    return {
      firstPosition: int(f.first_position, `${name}.first_position`, 0n, MAX_COUNT),
      before: optionalIndex(f.before, `${name}.before`),
      after: optionalIndex(f.after, `${name}.after`),
      nodes: list,
    };
  }

  /** An erasure's `filed` (completeness.py parse_filed): the index proof that its record is
   * filed under STATEMENT_KEY. */
  function parseFiled(obj, where) {
    const f = fields(obj, where, ['count', 'postings_root', 'map_proof', 'postings_proof']);
    const window = postingsProof(f.postings_proof, `${where}.postings_proof`);
    if (window === null) fail(`${where}.postings_proof must be a postings proof, not null`);
    return {
      count: int(f.count, `${where}.count`, 1n, MAX_COUNT),
      postingsRoot: bytes(f.postings_root, `${where}.postings_root`, HASH_SIZE),
      mapProof: mapProof(f.map_proof, `${where}.map_proof`),
      window,
    };
  }

  /** A proof: a list of at most MAX_PROOF_NODES hashes (completeness.py _hashes). */
  function hashes(value, where) {
    return hashList(value, where, MAX_PROOF_NODES).map((node, i) => bytes(node, `${where}[${i}]`, HASH_SIZE));
  }

  /** An erased entry (docs/privacy.md): its leaf hash and proof, when and by which record,
   * and its membership proof in that erasure's list when the marker is proven. */
  function erasedEntry(obj, where) {
    const f = fields(obj, where, ['leaf_index', 'leaf_hash', 'erased', 'proof']);
    const erased = fields(f.erased, `${where}.erased`, ['at', 'by'], ['member']);
    if (typeof erased.at !== 'string' || !R.TS.test(erased.at)) fail(`${where}.erased.at must be a time as YYYY-MM-DDTHH:MM:SS.mmmZ`);
    let member = null;
    if (J.has(erased, 'member')) {
      const found = fields(erased.member, `${where}.erased.member`, ['position', 'path']);
      member = {
        position: int(found.position, `${where}.erased.member.position`, 0n, MAX_TREE_SIZE - 1n),
        path: hashes(found.path, `${where}.erased.member.path`),
      };
    }
    return {
      leafIndex: int(f.leaf_index, `${where}.leaf_index`, 0n, MAX_TREE_SIZE - 1n),
      leafHash: bytes(f.leaf_hash, `${where}.leaf_hash`, HASH_SIZE),
      erased: { at: erased.at, by: bytes(erased.by, `${where}.erased.by`, HASH_SIZE), member },
      proof: hashes(f.proof, `${where}.proof`),
    };
  }

  /** The optional `erasures` of a completeness document or a complete pack's `completeness`
   * (completeness.py parse_erasures): absent for none, in strictly increasing leaf index
   * order, each a digest record, its statement and its inclusion proof. */
  function parseErasures(obj, where) {
    if (!J.has(obj, 'erasures')) return [];
    const items = obj.erasures;
    if (!Array.isArray(items) || items.length < 1 || items.length > MAX_ENTRIES) {
      fail(`${where}erasures must be a list of 1 to ${MAX_ENTRIES} erasures (absent for none)`);
    }
    const found = [];
    items.forEach((item, i) => {
      const at = `${where}erasures[${i}]`;
      const f = fields(item, at, ['leaf_index', 'record', 'statement', 'proof'], ['filed']);
      for (const name of ['record', 'statement']) {
        if (!J.isObject(f[name])) fail(`${at}.${name} must be a JSON object`);
      }
      const index = int(f.leaf_index, `${at}.leaf_index`, 0n, MAX_TREE_SIZE - 1n);
      const filed = J.has(f, 'filed') ? parseFiled(f.filed, `${at}.filed`) : null;
      if (found.length && index <= found[found.length - 1].leafIndex) {
        fail(
          `${at}.leaf_index is ${index}, not above the previous erasure's ${found[found.length - 1].leafIndex}:` +
            ' erasures are given once each, in leaf index order',
        );
      }
      found.push({ leafIndex: index, record: f.record, statement: f.statement, proof: hashes(f.proof, `${at}.proof`), filed });
    });
    return found;
  }

  function entry(obj, where) {
    if (J.isObject(obj) && J.has(obj, 'erased')) return erasedEntry(obj, where);
    const f = fields(obj, where, ['leaf_index', 'leaf_hash', 'record', 'proof']);
    if (!J.isObject(f.record)) fail(`${where}.record must be a JSON object`);
    if (!Array.isArray(f.proof)) fail(`${where}.proof must be a list of hashes`);
    if (f.proof.length > MAX_PROOF_NODES) fail(`${where}.proof has ${f.proof.length} nodes; the most a tree can need is ${MAX_PROOF_NODES}`);
    return {
      leafIndex: int(f.leaf_index, `${where}.leaf_index`, 0n, MAX_TREE_SIZE - 1n),
      leafHash: bytes(f.leaf_hash, `${where}.leaf_hash`, HASH_SIZE),
      record: f.record,
      proof: f.proof.map((node, i) => bytes(node, `${where}.proof[${i}]`, HASH_SIZE)),
    };
  }

  function anchor(obj, where) {
    const f = fields(obj, where, ['tx_hash', 'block_number', 'block_hash', 'block_timestamp']);
    return {
      txHash: bytes(f.tx_hash, `${where}.tx_hash`, HASH_SIZE),
      blockNumber: int(f.block_number, `${where}.block_number`, 0n, MAX_UINT64),
      blockHash: bytes(f.block_hash, `${where}.block_hash`, HASH_SIZE),
      blockTimestamp: int(f.block_timestamp, `${where}.block_timestamp`, 0n, MAX_UINT64),
    };
  }

  /** A completeness document from its decoded JSON; FormatError says what is wrong and where. */
  function parseCompleteness(obj) {
    if (!J.isObject(obj)) fail(`a completeness proof is a JSON object, got ${D.typeName(obj)}`);
    if (!J.has(obj, 'format')) fail("no 'format': not a model-ledger completeness proof");
    if (obj.format !== COMPLETENESS_FORMAT) {
      fail(`unknown format ${repr(obj.format, 80)}; this verifier reads ${J.pyRepr(COMPLETENESS_FORMAT)}`);
    }
    const top = fields(obj, 'completeness proof', [
      'format', 'chain_id', 'contract', 'log_id', 'checkpoint', 'index_root', 'key', 'window', 'count',
      'postings_root', 'map_proof', 'postings_proof', 'entries',
    ], ['producer', 'erasures']);
    D.readProducer(top, fail);
    const entries = top.entries;
    if (!Array.isArray(entries)) fail('entries must be a list (empty for none)');
    if (entries.length > MAX_ENTRIES) fail(`${entries.length} entries; the limit is ${MAX_ENTRIES}`);
    const parsed = entries.map((item, i) => entry(item, `entries[${i}]`));
    const chainId = int(top.chain_id, 'chain_id', 1n, MAX_UINT256);
    const contract = bytes(top.contract, 'contract', ADDRESS_SIZE);
    const logId = bytes(top.log_id, 'log_id', HASH_SIZE);
    const checkpoint = fields(top.checkpoint, 'checkpoint', ['tree_size', 'root', 'anchor']);
    const treeSize = int(checkpoint.tree_size, 'checkpoint.tree_size', 1n, MAX_TREE_SIZE);
    const rootHash = bytes(checkpoint.root, 'checkpoint.root', HASH_SIZE);
    const anchored = anchor(checkpoint.anchor, 'checkpoint.anchor');
    const claimedIndexRoot = bytes(top.index_root, 'index_root', HASH_SIZE);
    const key = top.key;
    if (typeof key !== 'string' || J.codePoints(key) < 1 || J.codePoints(key) > MAX_KEY_CHARS) {
      fail(`key must be a string of 1 to ${MAX_KEY_CHARS} characters`);
    }
    const window = fields(top.window, 'window', ['from_size', 'to_size']);
    const start = int(window.from_size, 'window.from_size', 0n, MAX_TREE_SIZE);
    const end = int(window.to_size, 'window.to_size', 0n, MAX_TREE_SIZE);
    const count = int(top.count, 'count', 0n, MAX_COUNT);
    const postingsRoot = top.postings_root === null ? null : bytes(top.postings_root, 'postings_root', HASH_SIZE);
    const claim = {
      key,
      treeSize,
      indexRoot: claimedIndexRoot,
      count,
      postingsRoot,
      start,
      end,
      leafIndices: parsed.map((e) => e.leafIndex),
      mapProof: mapProof(top.map_proof),
      window: postingsProof(top.postings_proof),
    };
    return {
      noun: 'completeness proof',
      format: COMPLETENESS_FORMAT,
      chainId,
      contract,
      logId,
      treeSize,
      root: rootHash,
      anchor: anchored,
      claim,
      entries: parsed,
      erasures: parseErasures(top, ''),
    };
  }

  /* ---- the verifier (ledger/verify/completeness.py) --------------------------------------- */

  /** The checks a run records; `fail` records the failed check and throws (verify-core's run). */
  function newRun(identity) {
    const result = {
      kind: 'completeness',
      verdict: null,
      state: null,
      statement: null,
      sentence: null,
      checks: [],
      error: null,
      chainConsulted: false,
      identity,
      node: null,
      document: null,
      anchored: null,
      licence: null,
      complete: null,
      meaning: null,
    };
    return {
      result,
      ok(check, detail) {
        result.checks.push({ check, passed: true, detail });
      },
      fail(error) {
        result.checks.push({ check: error.check, passed: false, detail: error.detail });
        result.error = { check: error.check, message: error.detail, field: error.field || null };
        throw error;
      },
    };
  }

  const indexFailure = (run, error) => run.fail(new V.VerificationError(error.check, error.detail));

  async function checkInclusion(run, where, treeSize, root, item) {
    let calculated;
    try {
      calculated = J.toHex(await M.rootFromInclusionProof(item.leafIndex, treeSize, J.fromHex(item.leafHash), item.proof.map(J.fromHex)));
    } catch (error) {
      if (!(error instanceof M.ProofError)) throw error;
      run.fail(new V.VerificationError('inclusion', `${where}: bad inclusion proof: ${error.message}`));
    }
    if (calculated !== root) {
      run.fail(new V.VerificationError('inclusion', `${where}: the proof leads to root ${calculated}, not to the checkpoint root ${root}`));
    }
  }

  /** One entry given as the key's, with its own inclusion proof (verify/completeness.py
   * check_key_entry): record, leaf hash, inclusion in the tree of `treeSize` with `root`,
   * added (the record is filed under `key`). An erased entry has no record: only its
   * inclusion is checked (the index proof says whether the key lists it). */
  async function checkKeyEntry(run, where, treeSize, root, key, item) {
    if (item.erased) {
      await checkInclusion(run, where, treeSize, root, item);
      return;
    }
    let opened;
    try {
      opened = await R.openRecord(item.record);
    } catch (error) {
      if (!(error instanceof R.RecordError)) throw error;
      run.fail(new V.VerificationError('record', R.recordProblem(where, item.record, error)));
    }
    const mismatch = R.leafMismatch(opened, item.leafHash, where, "the entry's");
    if (mismatch !== null) run.fail(new V.VerificationError('leaf hash', mismatch));
    await checkInclusion(run, where, treeSize, root, item);
    const keys = await recordKeys({ kind: opened.kind, body: opened.body, salt: J.has(item.record, 'salt') ? item.record.salt : null });
    if (!keys.includes(key)) {
      const filed = keys.length ? keys.join(', ') : 'no key';
      run.fail(new V.VerificationError(
        'added',
        `${where} is a record of kind ${item.record.kind} filed under ${filed}, not under ${key}: it is not an entry of this key`,
      ));
    }
  }

  /** statement.py statement_salt: the salt of the log's own record of a statement whose
   * SHA-256 is `sha256` (64 hex), as 32 lowercase hex. */
  async function statementSalt(sha256) {
    const domain = J.concat(J.utf8('model-ledger/statement-record'), Uint8Array.of(0));
    return J.toHex(await J.sha256(J.concat(domain, J.fromHex(sha256)))).slice(2, 34);
  }

  const erasureFail = (run, message) => run.fail(new V.VerificationError('erasure', message));

  /** completeness.py _statement_of: the leaf hash of `erasure`'s digest record, once it is
   * checked (a whole digest record included below `treeSize`, committing to an erasure
   * statement with leaves_root, count and ts). */
  async function statementOf(run, where, erasure, treeSize, root, indexRoot) {
    if (erasure.leafIndex >= treeSize) {
      erasureFail(run, `${where}: its record is at leaf index ${erasure.leafIndex}, not within the document's tree of size ${treeSize}: the tree does not hold it`);
    }
    let opened;
    try {
      opened = await R.openRecord(erasure.record);
    } catch (error) {
      if (!(error instanceof R.RecordError)) throw error;
      erasureFail(run, R.recordProblem(where, erasure.record, error));
    }
    if (opened.kind !== 'digest' || !J.has(opened.body, 'sha256')) {
      erasureFail(run, `${where}: its record is a ${opened.kind} record, not a whole digest record (the kind of record that logs an erasure)`);
    }
    const salt = await statementSalt(opened.body.sha256);
    if (!J.has(erasure.record, 'salt') || erasure.record.salt !== salt) {
      erasureFail(run, `${where}: its record's salt is not ${salt}, the one the log gives its own statement records (derived from their sha256): only those prove an erasure, since no key may log one and \`mledger audit\` checks each`);
    }
    let calculated;
    try {
      calculated = J.toHex(await M.rootFromInclusionProof(erasure.leafIndex, treeSize, J.fromHex(opened.leafHash), erasure.proof.map(J.fromHex)));
    } catch (error) {
      if (!(error instanceof M.ProofError)) throw error;
      erasureFail(run, `${where}: bad inclusion proof of its record: ${error.message}`);
    }
    if (calculated !== root) {
      erasureFail(run, `${where}: its record's inclusion proof leads to root ${calculated}, not to the checkpoint root ${root}: the record is not logged there`);
    }
    const statement = erasure.statement;
    let digest;
    try {
      digest = J.toHex(await J.sha256(J.utf8(J.jcs(statement)))).slice(2);
    } catch (error) {
      if (!(error instanceof J.CanonicalizationError)) throw error;
      erasureFail(run, `${where}: the statement has no canonical form: ${error.message}`);
    }
    if (digest !== opened.body.sha256) {
      erasureFail(run, `${where}: the statement's SHA-256 is ${digest}, not the ${repr(opened.body.sha256, 80)} its digest record commits to: it is not the statement the log holds`);
    }
    const field = (name) => (J.has(statement, name) ? statement[name] : null);
    if (field('type') !== ERASURE_TYPE) {
      erasureFail(run, `${where}: the statement is of type ${repr(field('type'), 80)}, not an erasure (${ERASURE_TYPE})`);
    }
    const [count, leaves, ts] = [field('count'), field('leaves_root'), field('ts')];
    if (typeof count !== 'bigint' || count < 1n || typeof leaves !== 'string' || !HEX64.test(leaves) || typeof ts !== 'string') {
      erasureFail(run, `${where}: the statement must give count (a positive integer), leaves_root (64 lowercase hex) and ts: without leaves_root no entry can be proven erased by it`);
    }
    await checkFiled(run, where, erasure, treeSize, indexRoot);
    return opened.leafHash;
  }

  /** completeness.py _check_filed: the erasure's record is in the postings of STATEMENT_KEY
   * at its leaf index, by the index of `indexRoot` at `treeSize`. */
  async function checkFiled(run, where, erasure, treeSize, indexRoot) {
    const filed = erasure.filed;
    const at = erasure.leafIndex;
    if (filed === null) {
      erasureFail(
        run,
        `${where}: the document does not prove its record filed under ${STATEMENT_KEY}, the index key of the log's own statement records, at size ${treeSize}:` +
          ' without that proof its membership proofs prove nothing (the record could be one the audit cannot tell is a statement)',
      );
    }
    const claim = {
      key: STATEMENT_KEY,
      treeSize,
      indexRoot,
      count: filed.count,
      postingsRoot: filed.postingsRoot,
      start: at,
      end: at + 1n,
      leafIndices: [at],
      mapProof: filed.mapProof,
      window: filed.window,
    };
    try {
      await verifyPostings(claim);
    } catch (error) {
      if (!(error instanceof IndexProofError)) throw error;
      erasureFail(run, `${where}: its record is not proven filed under ${STATEMENT_KEY} at leaf index ${at} by the index root ${indexRoot} of size ${treeSize} (${error.check}: ${error.detail})`);
    }
  }

  /**
   * "erasure" (completeness.py check_erasures): each erasure given is a logged erasure of
   * the document's tree; each marker of `markers` ([where, entry]) with a membership proof
   * names one, lies before it, has its time, and its leaf index and leaf hash are in the
   * statement's leaves_root at the proof's position; every erasure given is used. Returns
   * how many markers were proven.
   */
  async function checkErasures(run, treeSize, root, indexRoot, erasures, markers) {
    const given = new Map();
    for (let number = 0; number < erasures.length; number += 1) {
      const erasure = erasures[number];
      const where = `erasure ${number} (leaf ${erasure.leafIndex})`;
      const leaf = await statementOf(run, where, erasure, treeSize, root, indexRoot);
      if (given.has(leaf)) erasureFail(run, `${where}: its record ${leaf} is given twice`);
      given.set(leaf, erasure);
    }
    const used = new Set();
    let proven = 0;
    for (const [where, item] of markers) {
      const member = item.erased.member;
      if (member === null) continue;
      const by = item.erased.by;
      if (!given.has(by)) {
        erasureFail(run, `${where}: its marker proves membership in the erasure logged by record ${by}, which the document's erasures do not give`);
      }
      const erasure = given.get(by);
      const statement = erasure.statement;
      if (item.leafIndex >= erasure.leafIndex) {
        erasureFail(run, `${where}: the erasure's record is at leaf index ${erasure.leafIndex}, not after the entry: an erasure erases entries logged before it`);
      }
      if (statement.ts !== item.erased.at) {
        erasureFail(run, `${where}: its marker says erased at ${item.erased.at}; the erasure logged by record ${by} was made at ${repr(statement.ts, 80)}`);
      }
      const leavesRoot = `0x${statement.leaves_root}`;
      const memberHash = await M.hashLeaf(J.concat(u64be(item.leafIndex), J.fromHex(item.leafHash)));
      let calculated;
      try {
        calculated = J.toHex(await M.rootFromInclusionProof(member.position, statement.count, memberHash, member.path.map(J.fromHex)));
      } catch (error) {
        if (!(error instanceof M.ProofError)) throw error;
        erasureFail(run, `${where}: bad membership proof in the erasure of ${statement.count} entries: ${error.message}`);
      }
      if (calculated !== leavesRoot) {
        erasureFail(
          run,
          `${where}: its leaf index and leaf hash at position ${member.position} of the erasure's ${statement.count} entries lead to leaves root` +
            ` ${calculated}, not to the statement's ${leavesRoot}: that erasure does not list this entry`,
        );
      }
      used.add(by);
      proven += 1;
    }
    let number = 0;
    for (const [leaf, erasure] of given) {
      if (!used.has(leaf)) {
        erasureFail(run, `erasure ${number} (leaf ${erasure.leafIndex}) proves no marker of the document: an erasure is given only for the markers it proves`);
      }
      number += 1;
    }
    if (erasures.length) {
      run.ok(
        'erasure',
        `${proven} erased entries are ${PROVEN}: each is listed, by leaf index and leaf hash, in the leaves root of the erasure statement it` +
          ` names (${erasures.length} given), made at its marker's time, whose digest record is included before the entry in the tree of size ${treeSize}` +
          ` and filed under ${STATEMENT_KEY} by its index`,
      );
    }
    return proven;
  }

  async function checkDocument(run, data, chain, identity) {
    let document;
    try {
      document = parseCompleteness(J.loadStrict(data, MAX_COMPLETENESS_BYTES, 'completeness proof'));
    } catch (error) {
      if (!(error instanceof FormatError) && !(error instanceof J.StrictJsonError)) throw error;
      run.fail(new V.VerificationError('completeness', error.message));
    }
    const claim = document.claim;
    run.ok(
      'completeness',
      `${COMPLETENESS_FORMAT}: key ${repr(claim.key, 300)}, ${document.entries.length} entries,` +
        ` log ${document.logId}, contract ${document.contract} on chain id ${document.chainId}, tree size ${document.treeSize}`,
    );
    run.result.document = document;
    V.checkIdentity(run, document, identity);
    try {
      const [kind] = parseKey(claim.key);
      run.ok('key', `${repr(claim.key, 300)}: a key of kind ${kind}`);
      checkIndices(claim);
    } catch (error) {
      if (!(error instanceof IndexProofError)) throw error;
      indexFailure(run, error);
    }
    const given = claim.leafIndices.length;
    run.ok(
      'tree size',
      `the window [${claim.start}, ${claim.end}) lies in the first ${claim.treeSize} entries, and so do the ${given} entries' leaf indices`,
    );
    run.ok('duplicated', 'no leaf index is given twice');
    run.ok('reordered', 'the leaf indices strictly increase');
    for (let i = 0; i < document.entries.length; i += 1) {
      const item = document.entries[i];
      await checkKeyEntry(run, `entry ${i} (leaf ${item.leafIndex})`, document.treeSize, document.root, claim.key, item);
    }
    const markers = document.entries
      .map((item, i) => [`entry ${i} (leaf ${item.leafIndex})`, item])
      .filter(([, item]) => item.erased);
    const proven = await checkErasures(run, document.treeSize, document.root, document.claim.indexRoot, document.erasures, markers);
    const where = `the tree of size ${document.treeSize} with root ${document.root}`;
    const erased = markers.length;
    const opened = given - erased;
    run.ok('record', `all ${opened} records are valid v1 records in canonical form (RFC 8785)${erasedWords(erased, proven)}`);
    run.ok('leaf hash', `all ${opened} records hash to their entries' leaf hashes`);
    run.ok('inclusion', `all ${given} entries are included at their leaf indices in ${where}`);
    run.ok('added', `all ${opened} records are filed under ${claim.key}` + (erased ? `; the index files the ${erased} erased entries under it` : ''));
    let mapRoot;
    try {
      mapRoot = await verifyPostings(claim);
    } catch (error) {
      if (!(error instanceof IndexProofError)) throw error;
      indexFailure(run, error);
    }
    if (claim.count) {
      run.ok(
        'omitted',
        `the ${given} entries are all the key's postings in the window (${claim.count} in the first ${claim.treeSize}),` +
          ` by its postings root ${claim.postingsRoot}`,
      );
    } else {
      run.ok('omitted', `the key has no entry in the first ${claim.treeSize}: nothing to omit`);
    }
    let end = 'an empty subtree';
    if (claim.count) end = 'its leaf';
    else if (claim.mapProof.other !== null) end = "another key's leaf";
    run.ok('index map', `the map proof is a path of ${claim.mapProof.siblings.length} levels for SHA-256(${repr(claim.key, 300)}), ending at ${end}`);
    run.ok('index root', `map root ${mapRoot} and size ${claim.treeSize} give the document's index root ${claim.indexRoot}`);
    if (chain !== null && identity !== null) {
      await V.checkChain(run, document, chain, identity);
      checkIndexRootOnChain(run, claim.treeSize, claim.indexRoot);
    }
    run.result.complete = {
      key: claim.key,
      treeSize: claim.treeSize,
      start: claim.start,
      end: claim.end,
      leafIndices: claim.leafIndices,
      count: claim.leafIndices.length,
    };
  }

  /** "index root on chain" (verify/completeness.py check_index_root_on_chain): the index
   * root the log key signed with the anchored checkpoint of `treeSize` (read by checkChain)
   * is `indexRoot`. */
  function checkIndexRootOnChain(run, treeSize, indexRoot) {
    const anchored = run.result.anchored;
    if (anchored.indexRoot === NO_INDEX_ROOT) {
      run.fail(new V.VerificationError(
        'index root on chain',
        `the checkpoint of size ${treeSize} anchored in block ${anchored.blockNumber} commits to no index (its index root is zero):` +
          ' no completeness claim can be checked against it',
      ));
    }
    if (anchored.indexRoot !== indexRoot) {
      run.fail(new V.VerificationError(
        'index root on chain',
        `the log key signed index root ${anchored.indexRoot} with the checkpoint of size ${treeSize}; the document's is` +
          ` ${indexRoot} (a stale or forged index root)`,
      ));
    }
    run.ok('index root on chain', `the checkpoint anchored in block ${anchored.blockNumber} carries index root ${anchored.indexRoot}`);
  }

  /* ---- complete evidence packs (formats/pack.py _completeness, verify/pack.py) ---------- */

  const MAX_PACK_ENTRIES = 100000;
  const COMPLETE_KIND = 'interaction';

  /** The query error of a query a complete pack cannot prove (pack.py check_complete_query). */
  function completeQueryError(query) {
    if (query.accountIds === null) return 'account_ids: a complete pack needs the accounts whose entries it proves';
    if (query.kind !== COMPLETE_KIND) {
      return `kind: a complete pack holds ${COMPLETE_KIND} records (the account key's): give kind ${J.pyRepr(COMPLETE_KIND)}`;
    }
    if (query.model !== null) return "model: a complete pack proves all of an account's entries: drop the model filter";
    return null;
  }

  /** Prefix a FormatError's message with where it was read (Python's f"{where}.{error}"). */
  function within(where, read) {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof FormatError)) throw error;
      throw new FormatError(`${where}.${error.message}`);
    }
  }

  function keyProof(obj, where, treeSize) {
    const f = fields(obj, where, ['key', 'count', 'postings_root', 'map_proof', 'postings_proof', 'outside']);
    if (typeof f.key !== 'string') fail(`${where}.key must be a string`);
    if (!Array.isArray(f.outside) || f.outside.length > MAX_PACK_ENTRIES) {
      fail(`${where}.outside must be a list of at most ${MAX_PACK_ENTRIES} entries`);
    }
    const outside = f.outside.map((item, i) => entry(item, `${where}.outside[${i}]`));
    outside.forEach((item, i) => {
      if (item.leafIndex >= treeSize) {
        fail(`${where}.outside[${i}].leaf_index is ${item.leafIndex}, beyond the tree of size ${treeSize}`);
      }
    });
    const proof = within(where, () => mapProof(f.map_proof));
    const postings = within(where, () => postingsProof(f.postings_proof));
    return {
      key: f.key,
      count: int(f.count, `${where}.count`, 0n, MAX_COUNT),
      postingsRoot: f.postings_root === null ? null : bytes(f.postings_root, `${where}.postings_root`, HASH_SIZE),
      mapProof: proof,
      postingsProof: postings,
      outside,
    };
  }

  /** The `completeness` field of a parsed pack (verify-documents.js parsePack leaves it raw);
   * FormatError says what is wrong and where. */
  function parsePackCompleteness(pack) {
    const f = fields(pack.completenessField, 'completeness', ['index_root', 'window', 'keys'], ['erasures']);
    const queryError = completeQueryError(pack.query);
    if (queryError !== null) fail(`completeness: query.${queryError}`);
    const window = fields(f.window, 'completeness.window', ['from_size', 'to_size']);
    const start = int(window.from_size, 'completeness.window.from_size', 0n, pack.treeSize - 1n);
    const end = int(window.to_size, 'completeness.window.to_size', start + 1n, pack.treeSize);
    if (!Array.isArray(f.keys)) fail('completeness.keys must be a list, one per account of the query');
    const accounts = pack.query.accountIds;
    if (f.keys.length !== accounts.length) {
      fail(`completeness.keys has ${f.keys.length} proofs; the query names ${accounts.length} accounts`);
    }
    const keys = f.keys.map((item, i) => keyProof(item, `completeness.keys[${i}]`, pack.treeSize));
    const indexRoot = bytes(f.index_root, 'completeness.index_root', HASH_SIZE);
    return { indexRoot, start, end, keys, erasures: parseErasures(f, 'completeness.') };
  }

  /** verify/pack.py _check_complete: each account's entries in the pack, with the key's
   * entries outside the query, are exactly the key's committed postings in the window,
   * under the index root. Returns what was proven of each account. */
  async function checkPackCompleteness(run, pack, entries) {
    const part = pack.completeness;
    const accounts = pack.query.accountIds;
    const matching = new Map(accounts.map((account) => [account, []]));
    entries.forEach((found, position) => matching.get(found.entry.accountId).push(pack.indices[position]));
    const markers = part.keys.flatMap((proof) => proof.outside
      .map((other, n) => [`${proof.key}: outside entry ${n} (leaf ${other.leafIndex})`, other])
      .filter(([, other]) => other.erased));
    const proven = [];
    for (let j = 0; j < accounts.length; j += 1) {
      const account = accounts[j];
      const proof = part.keys[j];
      const key = `account:${account}`;
      if (proof.key !== key) {
        run.fail(new V.VerificationError(
          'completeness',
          `the proof for account ${repr(account, 300)} is of key ${repr(proof.key, 300)}, not ${repr(key, 300)}` +
            " (one proof per account, in the query's order)",
        ));
      }
      for (let n = 0; n < proof.outside.length; n += 1) {
        const other = proof.outside[n];
        const where = `${key}: outside entry ${n} (leaf ${other.leafIndex})`;
        await checkKeyEntry(run, where, pack.treeSize, pack.root, key, other);
        // An erased entry has no record left to match: the index still lists it.
        if (other.erased) continue;
        const opened = await R.openRecord(other.record);
        const [, accountField, modelField] = R.LOOKUP_FIELDS[opened.kind];
        const hidden = [[accountField, pack.query.accountIds], [modelField, pack.query.model]]
          .filter(([name, asked]) => name !== null && asked !== null && asked !== undefined && opened.withheld.includes(name))
          .map(([name]) => name);
        if (hidden.length) {
          run.fail(new V.VerificationError('omitted', `${where} withholds ${hidden.join(', ')}, which the pack's query selects on: it cannot be shown not to match`));
        }
        if (pack.query.matches(opened.entry)) {
          run.fail(new V.VerificationError(
            'omitted',
            `${where} matches the pack's query (${pack.query.describe()}) but is not among the pack's entries`,
          ));
        }
      }
      const own = matching.get(account);
      const inside = own.filter((i) => part.start <= i && i < part.end);
      if (inside.length !== own.length) {
        run.fail(new V.VerificationError('tree size', `${key}: an entry of the pack lies outside the proven window [${part.start}, ${part.end})`));
      }
      const leafIndices = [...inside, ...proof.outside.map((e) => e.leafIndex)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      try {
        await verifyPostings({
          key,
          treeSize: pack.treeSize,
          indexRoot: part.indexRoot,
          count: proof.count,
          postingsRoot: proof.postingsRoot,
          start: part.start,
          end: part.end,
          leafIndices,
          mapProof: proof.mapProof,
          window: proof.postingsProof,
        });
      } catch (error) {
        if (!(error instanceof IndexProofError)) throw error;
        run.fail(new V.VerificationError(error.check, `${key}: ${error.detail}`));
      }
      proven.push({
        key,
        treeSize: pack.treeSize,
        start: part.start,
        end: part.end,
        leafIndices: inside,
        count: inside.length,
        query: pack.query.describe(),
        outside: proof.outside.length,
        erased: proof.outside.filter((other) => other.erased).length,
        proven: proof.outside.filter((other) => other.erased && other.erased.member !== null).length,
      });
    }
    await checkErasures(run, pack.treeSize, pack.root, part.indexRoot, part.erasures, markers);
    const erased = proven.reduce((n, key) => n + key.erased, 0);
    const shown = proven.reduce((n, key) => n + key.proven, 0);
    const outside = part.keys.reduce((n, proof) => n + proof.outside.length, 0) - erased;
    run.ok(
      'complete',
      `the ${accounts.length.toLocaleString('en-US')} accounts' entries in the pack, with their ${outside.toLocaleString('en-US')} entries` +
        ' that do not match the query' +
        (shown ? ` and ${shown.toLocaleString('en-US')} ${PROVEN}` : '') +
        (erased - shown ? ` and ${(erased - shown).toLocaleString('en-US')} marked erased (whether they match cannot be shown${UNCHECKED})` : '') +
        `, are all their entries with leaf index in [${part.start}, ${part.end}), under index root ${part.indexRoot}`,
    );
    return proven;
  }

  /* ---- the verdict ------------------------------------------------------------------------ */

  /** Each check of a completeness proof in plain words: [when it passed, when it failed]
   * (the page's EXPLAIN has the checks shared with bundles). */
  const EXPLAIN = Object.freeze({
    completeness: [
      'The file is a well-formed completeness proof: strict JSON, every field present and of the right type, nothing else.',
      'The file is not a readable completeness proof, so nothing in it can be relied on.',
    ],
    key: [
      'The proof is about one key of the index: an account, a model, a licence, a licensee or a model id.',
      'The key is not one the index keeps (KIND:VALUE with a known kind), so nothing can be proven about it.',
    ],
    'tree size': [
      'The entries lie in the part of the log the proof is about: the first S entries, or the window of them it names.',
      'The window or an entry lies beyond the part of the log the proof is about.',
    ],
    duplicated: ['No entry is listed twice.', 'An entry is listed twice: a list of entries counts each once.'],
    reordered: ['The entries are in log order.', 'The entries are not in log order: the proof describes the list in log order.'],
    added: [
      'Every record is filed under this key (an interaction under its account and model, a licence under its licence and licensee, a model under its id).',
      "A record is not filed under this key: an entry of another key was put in, so this is not the key's list.",
    ],
    omitted: [
      "The entries are exactly the key's list the index commits to, position by position, with the entries just outside the window (if any) outside it: none left out, none added.",
      "The entries are not the list the index commits to for this key: an entry was left out, or one was added.",
    ],
    'index map': [
      "The index's map proof is a path for this key.",
      "The index's map proof is not a path for this key, so it proves nothing about it.",
    ],
    'index root': [
      "The key's list (or its absence), the map proof and the log size lead to the index root the proof states: no other list for this key has that root.",
      'The list, the map proof and the size lead to another index root than the one stated: a stale index, another size, or a changed list.',
    ],
    erasure: [
      "Each entry shown as erased with a proof is listed, by its place in the log and its hash, in an erasure the log itself recorded before" +
        ' this size, made when the entry says: the operator cannot show a live entry as erased to hide its record.',
      'An entry shown as erased is not listed by the recorded erasure it names (or that erasure is not in the log at this size):' +
        ' the operator may be hiding a live entry.',
    ],
    'index root on chain': [
      'The index root is the one the log key signed with this checkpoint and LogAnchor recorded when it anchored it: the operator committed to this index before anyone asked.',
      'The index root is not the one anchored with this checkpoint (or none was): the index was changed after anchoring, or never committed.',
    ],
  });

  const wholeLog = (complete) => complete.start === 0n && complete.end === complete.treeSize;

  /** ledger/verify/completeness.py completeness_statement, word for word. */
  function completenessStatement(result) {
    const complete = result.complete;
    if (complete === null) return 'not verified';
    return keyStatement(complete, result.anchored, 'document');
  }

  /**
   * ledger/verify/completeness.py key_statement, word for word: the COMPLETE line of one
   * proven key; for a key of a complete pack (`query` set), also how many of the key's
   * entries match the pack's query and how many do not (and of those, how many erased).
   */
  function keyStatement(complete, anchored, noun) {
    const count = Number(complete.count);
    const plural = count === 1 ? 'entry' : 'entries';
    const where = wholeLog(complete)
      ? `in the first ${complete.treeSize} entries`
      : `with leaf index in [${complete.start}, ${complete.end}) of the first ${complete.treeSize} entries`;
    let head = `COMPLETE: ${count} ${plural} of ${complete.key} ${where}`;
    if (complete.query !== undefined && complete.query !== null) {
      const others = complete.outside - complete.erased;
      const unproven = complete.erased - complete.proven;
      const erased = (complete.proven ? `; ${complete.proven} more ${complete.proven === 1 ? 'is' : 'are'} ${PROVEN}` : '') +
        (unproven ? `; ${unproven} more ${unproven === 1 ? 'is' : 'are'} marked erased, so whether they match cannot be shown` : '');
      head += ` match the query (${complete.query}; ${others} other` +
        ` ${others === 1 ? 'entry' : 'entries'} of the key do not${erased})`;
    }
    if (anchored !== null) {
      return `${head} (anchored at block ${anchored.blockNumber}, time ${V.utcText(anchored.timestamp)})`;
    }
    return `${head} (offline: that this index root was anchored is the ${noun}'s claim)`;
  }

  const MAX_LISTED = 50;

  /** The leaf indices in words: "3, 17 and 40", the first MAX_LISTED of a long list. */
  function listed(indices) {
    const shown = indices.slice(0, MAX_LISTED).map(String);
    if (indices.length > MAX_LISTED) return `${shown.join(', ')} and ${indices.length - MAX_LISTED} more (all listed with their records below)`;
    if (shown.length === 1) return shown[0];
    return `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
  }

  /** What was proven, in plain words: what complete means, what absence means. */
  function plainWords(result) {
    const complete = result.complete;
    const among = wholeLog(complete)
      ? `among the first ${complete.treeSize} entries of the log`
      : `whose leaf index lies from ${complete.start} up to (not including) ${complete.end}, among the first ${complete.treeSize} entries of the log`;
    const signed = result.anchored !== null
      ? 'the index the log key signed with the checkpoint anchored on the chain'
      : 'the index root the document states (the chain was not consulted, so that the log key signed and anchored it is the document\'s unverified claim)';
    if (complete.count === 0) {
      const maps = wholeLog(complete)
        ? ' this key to nothing, and no other map with that root could list an entry for it.'
        : " this key to its list of entries, none of which lies in the window, and no other list with that root could add one there.";
      return `Absence: the log holds no entry of ${complete.key} ${among}. This is proven, not just unanswered: ${signed} maps${maps}`;
    }
    const which = complete.count === 1
      ? `the entry at leaf index ${listed(complete.leafIndices)} is the only entry`
      : `the ${complete.count} entries at leaf indices ${listed(complete.leafIndices)} are every entry`;
    return (
      `Complete: ${which} of ${complete.key} ${among}; there is no other. ${signed.charAt(0).toUpperCase()}${signed.slice(1)}` +
      ' commits to exactly this list of leaf indices for this key, so an entry left out, an entry of another key put in, or entries' +
      ' reordered or repeated would have failed a check. Each record is checked to be in the log at its leaf index.'
    );
  }

  /**
   * What the result means in plain words, for a reader who is not an engineer: `proven`
   * and `notProven` lines (the shape of the page's "What this means" box).
   */
  function meaning(result) {
    const proven = [];
    const notProven = [];
    const { verdict, complete } = result;
    if (verdict === 'invalid') {
      proven.push(`Nothing in this document can be relied on: the "${result.error.check}" check failed (see the checks below).` +
        ' A list with an entry left out, an entry of another key, entries reordered or repeated, or an index that is not the one' +
        ' anchored fails this way.');
      return { proven, notProven };
    }
    if (verdict === 'not verified') {
      proven.push('Nothing was decided: the chain could not be read (or the page could not run the checks). The document is neither' +
        ' proven nor refuted; try again, or another node of the same chain.');
      return { proven, notProven };
    }
    const among = wholeLog(complete)
      ? `the first ${complete.treeSize} entries of the log`
      : `the entries with leaf index ${complete.start} to ${complete.end - 1n} of the first ${complete.treeSize}`;
    if (verdict === 'valid') {
      proven.push(complete.count === 0
        ? `Absence: ${complete.key} has no entry among ${among}.`
        : `Completeness: the ${complete.count === 1 ? 'entry' : `${complete.count} entries`} shown ${complete.count === 1 ? 'is' : 'are'}` +
          ` every entry of ${complete.key} among ${among}; the log holds no other.`);
      proven.push(`The anchor: the operator committed to this index, with the log's history, on the public chain in block` +
        ` ${result.anchored.blockNumber} (${V.utcText(result.anchored.timestamp)}), signed with the pinned log's key. It cannot be changed or` +
        ' withdrawn afterwards, so a list made up later to hide an entry would not match it.');
    } else {
      proven.push('Only the mathematics: the list fits the index root the document states. Nothing shows yet that the operator committed to' +
        ' that index on the public chain: that needs the pinned log and a node of its chain.');
    }
    notProven.push(`Entries after the first ${complete.treeSize}: the proof speaks of the log as it was at that size; for later entries,` +
      ' ask for a proof at a later anchored size.');
    if (!wholeLog(complete)) notProven.push('Entries outside the window: the proof speaks of the window it names only.');
    notProven.push("That the operator computed its index honestly at that time: it signs what it computed. An index that left an entry out is" +
      " not prevented but provable: whoever holds that entry's own evidence can show both side by side, and an audit that replays the" +
      ' whole log recomputes every anchored index root.');
    notProven.push('That what a record says is true, or when it was made: the time inside a record is the operator\'s word.');
    return { proven, notProven };
  }

  function finish(run) {
    const result = run.result;
    if (result.error) {
      result.verdict = ['chain', 'verifier'].includes(result.error.check) ? 'not verified' : 'invalid';
    } else {
      result.verdict = result.anchored !== null ? 'valid' : 'mathematics only';
    }
    result.state = { valid: 'verified', invalid: 'failed' }[result.verdict] || 'unverified';
    result.sentence = completenessStatement(result);
    const error = result.error;
    if (error && error.check === 'chain') result.statement = `NOT VERIFIED: the chain could not be read (${error.message})`;
    else if (error && error.check === 'verifier') result.statement = `NOT VERIFIED: this page could not run the checks (${error.message})`;
    else if (error) result.statement = `INVALID: ${error.check} check failed: ${error.message}`;
    else if (result.verdict === 'valid') result.statement = `${result.sentence}. ${plainWords(result)}`;
    else {
      const why = result.identity === null ? 'no log identity is pinned' : 'no JSON-RPC node was given';
      result.statement = `MATHEMATICS ONLY: the chain was NOT consulted (${why}). ${result.sentence}. ${plainWords(result)}`;
    }
    result.meaning = meaning(result);
    return result;
  }

  /**
   * Verify a completeness proof (bytes of JSON, or text) as ledger/verify/completeness.py
   * verify_completeness does: the mathematics, then, with `identity` (a parsed log
   * identity) and `rpcUrl`, the chain. Never throws.
   */
  async function verifyCompleteness(data, { identity = null, rpcUrl = '', fetch = undefined } = {}) {
    const chain = identity !== null && rpcUrl ? RPC.jsonRpcReader(rpcUrl, fetch) : null;
    const run = newRun(identity);
    run.result.chainConsulted = chain !== null;
    run.result.node = chain === null ? null : chain.where;
    try {
      await checkDocument(run, data, chain, identity);
    } catch (error) {
      if (!(error instanceof V.VerificationError)) {
        const message = `${error && error.name ? error.name : 'Error'}: ${error && error.message ? error.message : error}`;
        run.result.checks.push({ check: 'verifier', passed: false, detail: message });
        run.result.error = { check: 'verifier', message, field: null };
      }
    }
    return finish(run);
  }

  return {
    COMPLETENESS_FORMAT,
    NO_INDEX_ROOT,
    EXPLAIN,
    IndexProofError,
    FormatError,
    recordKeys,
    parseKey,
    keyHash,
    rootFromMapProof,
    parseMapProof: mapProof,
    indexRoot,
    rootFromWindow,
    verifyPostings,
    parseCompleteness,
    parsePackCompleteness,
    checkPackCompleteness,
    checkIndexRootOnChain,
    completenessStatement,
    keyStatement,
    verifyCompleteness,
  };
});
