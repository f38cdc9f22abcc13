/*
 * model-ledger: the checks of ledger/verify.py, in the browser (or Node 20+).
 *
 * Trusts only mathematics and the chain: strict JSON, RFC 8785 (JCS) canonical bytes,
 * SHA-256 from WebCrypto, the RFC 9162 inclusion proof, and a few JSON-RPC reads of
 * the LogAnchor contract (eth_call of anchoredAt, the same selector and decoding as
 * ledger/verify.py's JsonRpcChain). Check names and order are those of `ledger verify`:
 * bundle, record, leaf hash, inclusion, chain id, contract, anchor, root on chain,
 * anchor block; "chain" when the node cannot be read (neither proven nor refuted).
 *
 * A licence record is checked by `checkLicence`: its commitment (its leaf hash) and
 * LicenceRegistry.status(commitment) read from the chain.
 *
 * No dependencies, no DOM: verify-page.js wires it to the page.
 */
(function (root) {
  'use strict';

  const BUNDLE_FORMAT = 'model-ledger/evidence/v1';
  const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
  const MAX_DEPTH = 32;
  const MAX_ENTRIES = 100000;
  const MAX_PROOF_NODES = 64;
  const MAX_TREE_SIZE = (1n << 64n) - 1n;
  const MAX_UINT64 = (1n << 64n) - 1n;
  const MAX_SAFE_INTEGER = BigInt(Number.MAX_SAFE_INTEGER);
  const HASH_SIZE = 32;
  const ADDRESS_SIZE = 20;
  const RPC_TIMEOUT_MS = 10000;

  /* First 4 bytes of keccak256 of the signatures (as ledger/verify.py). */
  const ANCHORED_AT_SELECTOR = '74a28049'; // anchoredAt(bytes32,uint64)
  const UNKNOWN_SIZE_SELECTOR = '92e31209'; // LogAnchorUnknownSize(bytes32,uint64)
  const STATUS_SELECTOR = '52ad0d5e'; // LicenceRegistry.status(bytes32)
  const LICENCE_STATES = ['unknown', 'not_yet_valid', 'active', 'expired', 'revoked']; // as ledger licence check

  const KINDS = ['interaction', 'licence', 'model', 'digest'];

  /* ledger/records.py TS_PATTERN: exactly the real UTC instants YYYY-MM-DDTHH:MM:SS.mmmZ. */
  const YEAR = '(?:[1-9]\\d{3}|0[1-9]\\d{2}|00[1-9]\\d|000[1-9])';
  const LEAP_YEAR = '(?:\\d\\d(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)';
  const MONTH_DAY =
    '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\\d|30)' +
    '|02-(?:0[1-9]|1\\d|2[0-8]))';
  const TS = new RegExp(
    `^(?:${YEAR}-${MONTH_DAY}|${LEAP_YEAR}-02-29)T(?:[01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d\\.\\d{3}Z$`,
  );
  const SHA256_HEX = /^[0-9a-f]{64}$/;
  const SALT = /^[0-9a-f]{32}$/;

  /* The fields of each kind's body: required, optional (ledger/records.py). A model
   * record always carries `parents` in canonical form (an empty list when none). */
  const BODIES = {
    interaction: [
      ['account_id', 'input_tokens', 'model', 'output_tokens', 'prompt_sha256', 'request_id', 'response_sha256'],
      ['api_key_id', 'client', 'endpoint', 'metadata'],
    ],
    licence: [
      ['action', 'licence_id', 'licensee'],
      ['models', 'reason', 'scope', 'terms_sha256', 'valid_from', 'valid_until'],
    ],
    model: [['artifact_sha256', 'model_id', 'parents', 'version'], ['licence_id', 'training_data_sha256']],
    digest: [['sha256'], []],
  };

  /* ---- errors -------------------------------------------------------------------- */

  class VerificationError extends Error {
    constructor(check, message) {
      super(`${check}: ${message}`);
      this.check = check;
      this.detail = message;
    }
  }

  class BundleError extends VerificationError {
    constructor(message) {
      super('bundle', message);
    }
  }

  class ChainReadError extends VerificationError {
    constructor(message) {
      super('chain', message);
    }
  }

  class ContractCallError extends Error {}

  /* ---- strict JSON (as ledger/verify.py load_bundle_json) ------------------------- */

  /**
   * Parse JSON text strictly: no duplicate keys, no fractions or exponents, no
   * NaN/Infinity, nesting at most MAX_DEPTH. Integers become BigInt (bundles carry
   * sizes up to 2^64 - 1); objects have no prototype. Throws BundleError.
   */
  function parseStrictJson(text) {
    let at = 0;
    const fail = (what) => {
      throw new BundleError(`not valid JSON: ${what} at character ${at}`);
    };
    const space = () => {
      while (at < text.length && ' \t\n\r'.includes(text[at])) at += 1;
    };
    const string = () => {
      at += 1; // the opening quote
      let out = '';
      for (;;) {
        if (at >= text.length) fail('unterminated string');
        const c = text[at];
        if (c === '"') {
          at += 1;
          return out;
        }
        if (c < ' ') fail('control character in string');
        if (c !== '\\') {
          out += c;
          at += 1;
          continue;
        }
        const e = text[at + 1];
        const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
        if (simple !== undefined) {
          out += simple;
          at += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) {
          out += String.fromCharCode(parseInt(text.slice(at + 2, at + 6), 16));
          at += 6;
        } else {
          fail('invalid escape');
        }
      }
    };
    const value = (depth) => {
      space();
      const c = text[at];
      if (c === '{' || c === '[') {
        if (depth + 1 > MAX_DEPTH) throw new BundleError(`nested deeper than ${MAX_DEPTH} levels: not a bundle`);
        at += 1;
        space();
        if (c === '[') {
          const list = [];
          if (text[at] === ']') {
            at += 1;
            return list;
          }
          for (;;) {
            list.push(value(depth + 1));
            space();
            if (text[at] === ',') at += 1;
            else if (text[at] === ']') {
              at += 1;
              return list;
            } else fail("expected ',' or ']'");
          }
        }
        const obj = Object.create(null);
        if (text[at] === '}') {
          at += 1;
          return obj;
        }
        for (;;) {
          space();
          if (text[at] !== '"') fail('expected a key');
          const key = string();
          if (Object.prototype.hasOwnProperty.call(obj, key)) {
            throw new BundleError(`key '${key}' appears twice in one object`);
          }
          space();
          if (text[at] !== ':') fail("expected ':'");
          at += 1;
          obj[key] = value(depth + 1);
          space();
          if (text[at] === ',') at += 1;
          else if (text[at] === '}') {
            at += 1;
            return obj;
          } else fail("expected ',' or '}'");
        }
      }
      if (c === '"') return string();
      const number = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at, at + 400));
      if (number) {
        at += number[0].length;
        if (number[1] !== undefined || number[2] !== undefined) {
          throw new BundleError(`number ${number[0]} is not an integer: bundles hold no fractions or exponents`);
        }
        return BigInt(number[0]);
      }
      for (const [word, literal] of [['true', true], ['false', false], ['null', null]]) {
        if (text.startsWith(word, at)) {
          at += word.length;
          return literal;
        }
      }
      for (const word of ['NaN', 'Infinity', '-Infinity']) {
        if (text.startsWith(word, at)) throw new BundleError(`${word} is not JSON`);
      }
      return fail('expected a value');
    };
    const result = value(0);
    space();
    if (at !== text.length) fail('extra data');
    return result;
  }

  /* ---- RFC 8785 (JCS) and hashing --------------------------------------------------- */

  const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/;

  function jcsString(text) {
    if (LONE_SURROGATE.test(text)) throw new Error('a string holds a lone UTF-16 surrogate');
    return JSON.stringify(text); // RFC 8785 3.2.2.2 is exactly ECMAScript's string form
  }

  /** The RFC 8785 text of a value from parseStrictJson (integers are BigInt). */
  function jcs(value) {
    if (value === null || value === true || value === false) return String(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) throw new Error(`number ${value} is not an integer`);
      return String(value);
    }
    if (typeof value === 'string') return jcsString(value);
    if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
    const keys = Object.keys(value).sort(); // UTF-16 code unit order, as RFC 8785 3.2.3
    return `{${keys.map((key) => `${jcsString(key)}:${jcs(value[key])}`).join(',')}}`;
  }

  function subtle() {
    const api = root.crypto && root.crypto.subtle;
    if (!api) {
      throw new Error(
        'WebCrypto is not available: open this page over https, or at http://127.0.0.1 or http://localhost',
      );
    }
    return api;
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle().digest('SHA-256', bytes));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  async function hashLeaf(canonical) {
    return sha256(concat(Uint8Array.of(0), canonical));
  }

  async function hashChildren(left, right) {
    return sha256(concat(Uint8Array.of(1), left, right));
  }

  function toHex(bytes) {
    return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  function fromHex(text) {
    const digits = text.startsWith('0x') ? text.slice(2) : text;
    if (digits.length % 2 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`not hex: ${text.slice(0, 80)}`);
    const out = new Uint8Array(digits.length / 2);
    for (let i = 0; i < out.length; i += 1) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  function equal(a, b) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }

  function utcText(seconds) {
    const ms = Number(seconds) * 1000;
    if (!(Math.abs(ms) <= 8.64e15)) return `${seconds} (unix seconds)`;
    return `${new Date(ms).toISOString().slice(0, 19)}Z`;
  }

  const has = (obj, name) => Object.prototype.hasOwnProperty.call(obj, name);

  /* ---- the record ------------------------------------------------------------------- */

  function checkFields(obj, where, required, optional) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${where}: must be an object`);
    for (const name of required) {
      if (!has(obj, name)) throw new Error(`${where}.${name}: field required`);
    }
    for (const name of Object.keys(obj)) {
      if (!required.includes(name) && !optional.includes(name)) throw new Error(`${where}.${name}: unknown field`);
    }
  }

  function checkValues(value, where) {
    if (value === null) throw new Error(`${where}: null (absent optional fields are left out of canonical form)`);
    if (typeof value === 'bigint' && (value > MAX_SAFE_INTEGER || value < -MAX_SAFE_INTEGER)) {
      throw new Error(`${where}: integer ${value} is beyond 2^53 - 1`);
    }
    if (Array.isArray(value)) value.forEach((item, i) => checkValues(item, `${where}.${i}`));
    else if (typeof value === 'object') for (const key of Object.keys(value)) checkValues(value[key], `${where}.${key}`);
  }

  /**
   * The canonical bytes of a record, checked to be a v1 record in canonical form: the
   * envelope, its kind's fields, digests, no nulls, integers an IEEE double holds.
   * (`ledger verify` also checks every field's type and bounds.) Throws Error.
   */
  function canonicalBytes(record) {
    checkFields(record, 'record', ['body', 'kind', 'salt', 'ts', 'v'], []);
    if (record.v !== 1n) throw new Error('v: must be 1');
    if (!KINDS.includes(record.kind)) throw new Error(`kind: unknown kind '${record.kind}'; expected one of ${KINDS.join(', ')}`);
    if (typeof record.salt !== 'string' || !SALT.test(record.salt)) throw new Error('salt: not a salt of 32 lowercase hex digits');
    if (typeof record.ts !== 'string' || !TS.test(record.ts)) throw new Error('ts: not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ');
    const [required, optional] = BODIES[record.kind];
    checkFields(record.body, 'body', required, optional);
    checkValues(record, 'record');
    for (const [name, value] of Object.entries(record.body)) {
      if (name.endsWith('sha256') && (typeof value !== 'string' || !SHA256_HEX.test(value))) {
        throw new Error(`body.${name}: not a SHA-256 digest in 64 lowercase hex digits`);
      }
    }
    return new TextEncoder().encode(jcs(record));
  }

  /** What a record is about, in a few words: its kind and its id. */
  function describeRecord(record) {
    const body = record && record.body ? record.body : {};
    const id = {
      interaction: () => `request ${body.request_id}`,
      licence: () => `licence ${body.licence_id} (${body.action}) for ${body.licensee}`,
      model: () => `model ${body.model_id} version ${body.version}`,
      digest: () => `digest ${body.sha256}`,
    }[record && record.kind];
    return id ? `${record.kind}: ${id()}` : String(record && record.kind);
  }

  /* ---- the bundle (as ledger/verify.py parse_bundle) ------------------------------- */

  function fields(obj, where, names) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new BundleError(`${where} must be a JSON object`);
    }
    const missing = names.filter((name) => !has(obj, name));
    if (missing.length) throw new BundleError(`${where} lacks ${missing.map((m) => `'${m}'`).join(', ')}`);
    const unknown = Object.keys(obj).filter((name) => !names.includes(name)).sort();
    if (unknown.length) throw new BundleError(`${where} has unknown field '${unknown[0]}'`);
    return obj;
  }

  function int(value, where, low, high) {
    if (typeof value !== 'bigint') throw new BundleError(`${where} must be an integer`);
    if (value < low || value > high) throw new BundleError(`${where} must be between ${low} and ${high}, got ${value}`);
    return value;
  }

  function bytesField(value, where, size) {
    const pattern = new RegExp(`^0x[0-9a-f]{${2 * size}}$`);
    if (typeof value !== 'string' || !pattern.test(value)) {
      throw new BundleError(`${where} must be 0x and ${2 * size} lowercase hex digits, got ${JSON.stringify(String(value)).slice(0, 80)}`);
    }
    return fromHex(value);
  }

  function parseBundle(obj) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new BundleError('a bundle is a JSON object');
    if (!has(obj, 'format')) throw new BundleError("no 'format': not a model-ledger evidence bundle");
    if (obj.format !== BUNDLE_FORMAT) {
      throw new BundleError(`unknown format ${JSON.stringify(String(obj.format)).slice(0, 80)}; this verifier reads '${BUNDLE_FORMAT}'`);
    }
    const top = fields(obj, 'bundle', ['format', 'chain_id', 'contract', 'log_id', 'checkpoint', 'entries']);
    const checkpoint = fields(top.checkpoint, 'checkpoint', ['tree_size', 'root', 'anchor']);
    const anchor = fields(checkpoint.anchor, 'checkpoint.anchor', ['tx_hash', 'block_number', 'block_hash', 'block_timestamp']);
    const entries = top.entries;
    if (!Array.isArray(entries) || !entries.length) throw new BundleError('entries must be a non-empty list');
    if (entries.length > MAX_ENTRIES) throw new BundleError(`bundle has ${entries.length} entries; the limit is ${MAX_ENTRIES}`);
    return {
      chainId: int(top.chain_id, 'chain_id', 1n, (1n << 256n) - 1n),
      contract: bytesField(top.contract, 'contract', ADDRESS_SIZE),
      logId: bytesField(top.log_id, 'log_id', HASH_SIZE),
      treeSize: int(checkpoint.tree_size, 'checkpoint.tree_size', 1n, MAX_TREE_SIZE),
      root: bytesField(checkpoint.root, 'checkpoint.root', HASH_SIZE),
      anchor: {
        txHash: bytesField(anchor.tx_hash, 'checkpoint.anchor.tx_hash', HASH_SIZE),
        blockNumber: int(anchor.block_number, 'checkpoint.anchor.block_number', 0n, MAX_UINT64),
        blockHash: bytesField(anchor.block_hash, 'checkpoint.anchor.block_hash', HASH_SIZE),
        blockTimestamp: int(anchor.block_timestamp, 'checkpoint.anchor.block_timestamp', 0n, MAX_UINT64),
      },
      entries: entries.map((entry, i) => {
        const where = `entries[${i}]`;
        const f = fields(entry, where, ['leaf_index', 'leaf_hash', 'record', 'proof']);
        if (f.record === null || typeof f.record !== 'object' || Array.isArray(f.record)) {
          throw new BundleError(`${where}.record must be a JSON object`);
        }
        if (!Array.isArray(f.proof)) throw new BundleError(`${where}.proof must be a list of hashes`);
        if (f.proof.length > MAX_PROOF_NODES) {
          throw new BundleError(`${where}.proof has ${f.proof.length} nodes; the most a tree can need is ${MAX_PROOF_NODES}`);
        }
        return {
          leafIndex: int(f.leaf_index, `${where}.leaf_index`, 0n, MAX_TREE_SIZE - 1n),
          leafHash: bytesField(f.leaf_hash, `${where}.leaf_hash`, HASH_SIZE),
          record: f.record,
          proof: f.proof.map((node, n) => bytesField(node, `${where}.proof[${n}]`, HASH_SIZE)),
        };
      }),
    };
  }

  /* ---- RFC 9162 inclusion (as ledger/merkle/verify.py) ----------------------------- */

  function bitLength(n) {
    return n === 0n ? 0 : n.toString(2).length;
  }

  function bitCount(n) {
    return n.toString(2).split('').filter((bit) => bit === '1').length;
  }

  /** Nodes in the inclusion proof of `index` in a tree of `size` (index < size). */
  function inclusionLength(index, size) {
    const inner = bitLength(index ^ (size - 1n));
    return inner + bitCount(index >> BigInt(inner));
  }

  /**
   * The root that `proof` leads to from `leafHash` at `index` in a tree of `size`
   * (RFC 9162 2.1.3.2). Throws Error when the arguments cannot describe a proof.
   */
  async function rootFromInclusionProof(index, size, leafHash, proof) {
    if (index < 0n || size < 0n) throw new Error(`index and size must not be negative: index ${index}, size ${size}`);
    if (index >= size) throw new Error(`index is beyond size: ${index} >= ${size}`);
    for (const [name, hash] of [['leaf_hash', leafHash], ...proof.map((node, i) => [`proof[${i}]`, node])]) {
      if (hash.length !== HASH_SIZE) throw new Error(`${name} must be ${HASH_SIZE} bytes, got ${hash.length}`);
    }
    const expected = inclusionLength(index, size);
    if (proof.length !== expected) throw new Error(`wrong proof length: expected ${expected} nodes, got ${proof.length}`);
    let fn = index;
    let sn = size - 1n;
    let r = leafHash;
    for (const p of proof) {
      if (fn & 1n || fn === sn) {
        r = await hashChildren(p, r);
        while (!(fn & 1n) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      } else {
        r = await hashChildren(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return r;
  }

  /* ---- the chain: a few JSON-RPC reads (as ledger/verify.py JsonRpcChain) ---------- */

  function word(value) {
    return value.toString(16).padStart(64, '0');
  }

  function rpcClient(url, fetchImpl) {
    const send = fetchImpl || root.fetch.bind(root);
    let ids = 0;

    async function call(method, params) {
      ids += 1;
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), RPC_TIMEOUT_MS);
      let answer;
      try {
        const response = await send(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: ids, method, params }),
          signal: abort.signal,
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        answer = await response.json();
      } catch (error) {
        throw new ChainReadError(`${method}: the chain at ${url} is unreachable (${error.name}: ${error.message})`);
      } finally {
        clearTimeout(timer);
      }
      if (answer === null || typeof answer !== 'object') {
        throw new ChainReadError(`${method}: the node at ${url} answered ${String(answer).slice(0, 80)}`);
      }
      return answer;
    }

    async function result(method, params) {
      const answer = await call(method, params);
      if ('error' in answer) throw new ChainReadError(`${method} failed at ${url}: ${JSON.stringify(answer.error).slice(0, 200)}`);
      return answer.result;
    }

    function data(value, what) {
      if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) {
        throw new ChainReadError(`${what}: expected 0x hex from the node, got ${JSON.stringify(value).slice(0, 80)}`);
      }
      return value.toLowerCase();
    }

    const tag = (block) => (block === undefined ? 'latest' : `0x${block.toString(16)}`);

    /** A hex quantity (0x1, 0x7a69: no leading zeros, so any length) as BigInt. */
    function quantity(value, what) {
      if (typeof value !== 'string' || !/^0x[0-9a-fA-F]+$/.test(value)) {
        throw new ChainReadError(`${what}: expected a 0x hex quantity from the node, got ${JSON.stringify(value).slice(0, 80)}`);
      }
      return BigInt(value);
    }

    /** eth_call; the answer's 0x hex, or {revert: hex} when the call reverted. */
    async function ethCall(to, calldata, block) {
      const answer = await call('eth_call', [{ to, data: calldata }, tag(block)]);
      const error = answer.error;
      if (error !== undefined && error !== null) {
        let revert = typeof error === 'object' ? error.data : undefined;
        if (revert !== null && typeof revert === 'object') revert = revert.data; // some nodes nest it
        const message = typeof error === 'object' ? error.message : error;
        return { revert: typeof revert === 'string' ? data(revert, 'eth_call revert data') : '0x', message };
      }
      return { result: data(answer.result, 'eth_call') };
    }

    return {
      where: url,
      async chainId() {
        return quantity(await result('eth_chainId', []), 'eth_chainId');
      },
      async code(address, block) {
        return data(await result('eth_getCode', [address, tag(block)]), 'eth_getCode');
      },
      /** The latest block: {number, timestamp}. */
      async latestBlock() {
        const block = await result('eth_getBlockByNumber', ['latest', false]);
        if (block === null || typeof block !== 'object') throw new ChainReadError(`eth_getBlockByNumber answered ${JSON.stringify(block).slice(0, 80)}`);
        return { number: quantity(block.number, 'block number'), timestamp: quantity(block.timestamp, 'block timestamp') };
      },
      /** LogAnchor.anchoredAt(logId, size): {root, blockNumber, timestamp}, or null. */
      async anchoredAt(contract, logId, size) {
        const answer = await ethCall(contract, `0x${ANCHORED_AT_SELECTOR}${toHex(logId).slice(2)}${word(size)}`);
        if (answer.revert !== undefined) {
          if (answer.revert.slice(2, 10) === UNKNOWN_SIZE_SELECTOR) return null;
          throw new ContractCallError(`anchoredAt reverted: ${JSON.stringify(answer.message).slice(0, 200)}`);
        }
        const out = answer.result.slice(2);
        if (out.length !== 192 || /[^0]/.test(out.slice(64, 112)) || /[^0]/.test(out.slice(128, 176))) {
          throw new ContractCallError(`anchoredAt answered ${out.length / 2} bytes that are not (bytes32, uint64, uint64)`);
        }
        return { root: fromHex(out.slice(0, 64)), blockNumber: BigInt(`0x${out.slice(64, 128)}`), timestamp: BigInt(`0x${out.slice(128)}`) };
      },
      /** LicenceRegistry.status(commitment): {state, validFrom, validUntil, grantedBlock, revokedBlock}. */
      async licenceStatus(registry, commitment, block) {
        const answer = await ethCall(registry, `0x${STATUS_SELECTOR}${toHex(commitment).slice(2)}`, block);
        if (answer.revert !== undefined) throw new ContractCallError(`status reverted: ${JSON.stringify(answer.message).slice(0, 200)}`);
        const out = answer.result.slice(2);
        const words = out.length === 320 ? [0, 1, 2, 3, 4].map((i) => BigInt(`0x${out.slice(64 * i, 64 * i + 64)}`)) : [];
        if (!words.length || words[0] >= BigInt(LICENCE_STATES.length) || words.slice(1).some((w) => w > MAX_UINT64)) {
          throw new ContractCallError(`status answered ${out.length / 2} bytes that are not (uint8, uint64, uint64, uint64, uint64)`);
        }
        const [state, validFrom, validUntil, grantedBlock, revokedBlock] = words;
        return { state: LICENCE_STATES[Number(state)], validFrom, validUntil, grantedBlock, revokedBlock };
      },
      async blockHash(number) {
        const block = await result('eth_getBlockByNumber', [`0x${number.toString(16)}`, false]);
        if (block === null || block === undefined) return null;
        if (typeof block !== 'object') throw new ChainReadError(`eth_getBlockByNumber answered ${JSON.stringify(block).slice(0, 80)}`);
        return data(block.hash, 'block hash');
      },
      async transaction(txHash) {
        const receipt = await result('eth_getTransactionReceipt', [txHash]);
        if (receipt === null || receipt === undefined) return null;
        if (typeof receipt !== 'object') throw new ChainReadError(`eth_getTransactionReceipt answered ${JSON.stringify(receipt).slice(0, 80)}`);
        return {
          blockHash: data(receipt.blockHash, 'receipt block hash'),
          to: receipt.to === null || receipt.to === undefined ? null : data(receipt.to, 'receipt recipient'),
          succeeded: receipt.status === '0x1',
        };
      },
    };
  }

  /* ---- verification ------------------------------------------------------------------ */

  /** Collects checks; `fail` throws with the result attached. */
  function newRun(chainConsulted) {
    const result = { valid: false, chainConsulted, checks: [], error: null, proven: null, anchored: null };
    return {
      result,
      ok(check, detail) {
        result.checks.push({ check, passed: true, detail });
      },
      fail(error) {
        result.checks.push({ check: error.check, passed: false, detail: error.detail });
        result.error = { check: error.check, message: error.detail };
        error.result = result;
        throw error;
      },
    };
  }

  async function checkEntry(run, bundle, number, entry) {
    const where = bundle.entries.length > 1 ? `entry ${number}` : 'entry';
    let canonical;
    try {
      canonical = canonicalBytes(entry.record);
    } catch (error) {
      run.fail(new VerificationError('record', `${where}: not a valid v1 record: ${error.message}`));
    }
    run.ok('record', `${where}: a valid ${entry.record.kind} record, ${canonical.length} bytes in canonical form (RFC 8785)`);
    const computed = await hashLeaf(canonical);
    if (!equal(computed, entry.leafHash)) {
      run.fail(new VerificationError(
        'leaf hash',
        `${where}: the record hashes to ${toHex(computed)}, not to the bundle's leaf hash ${toHex(entry.leafHash)}`,
      ));
    }
    run.ok('leaf hash', `${where}: SHA-256(0x00 || record) = ${toHex(computed)}`);
    let calculated;
    try {
      calculated = await rootFromInclusionProof(entry.leafIndex, bundle.treeSize, entry.leafHash, entry.proof);
    } catch (error) {
      run.fail(new VerificationError('inclusion', `${where}: bad inclusion proof: ${error.message}`));
    }
    if (!equal(calculated, bundle.root)) {
      run.fail(new VerificationError(
        'inclusion',
        `${where}: the proof of leaf ${entry.leafIndex} in the tree of size ${bundle.treeSize} leads to root` +
          ` ${toHex(calculated)}, not to the checkpoint root ${toHex(bundle.root)}`,
      ));
    }
    run.ok(
      'inclusion',
      `${where}: leaf ${entry.leafIndex} of the tree of size ${bundle.treeSize} (${entry.proof.length} proof nodes) has root ${toHex(bundle.root)}`,
    );
  }

  async function checkChain(run, bundle, chain) {
    const contract = toHex(bundle.contract);
    const size = bundle.treeSize;
    const chainId = await chain.chainId();
    if (chainId !== bundle.chainId) {
      run.fail(new VerificationError('chain id', `the node at ${chain.where} is on chain id ${chainId}; the bundle names chain id ${bundle.chainId}`));
    }
    run.ok('chain id', `${chainId} (node ${chain.where})`);
    if ((await chain.code(contract)) === '0x') {
      run.fail(new VerificationError('contract', `no contract at ${contract} on chain id ${chainId}`));
    }
    let onchain;
    try {
      onchain = await chain.anchoredAt(contract, bundle.logId, size);
    } catch (error) {
      if (!(error instanceof ContractCallError)) throw error;
      run.fail(new VerificationError('contract', `the contract at ${contract} does not answer anchoredAt as a LogAnchor does (${error.message})`));
    }
    run.ok('contract', `LogAnchor at ${contract}`);
    if (onchain === null) {
      run.fail(new VerificationError(
        'anchor',
        `nothing is anchored at tree size ${size} of log ${toHex(bundle.logId)} in contract ${contract}:` +
          ' this checkpoint was never anchored (or the log id or contract is wrong)',
      ));
    }
    run.ok('anchor', `anchoredAt(${toHex(bundle.logId)}, ${size}) answers block ${onchain.blockNumber}`);
    if (!equal(onchain.root, bundle.root)) {
      run.fail(new VerificationError(
        'root on chain',
        `root on chain differs: the contract holds ${toHex(onchain.root)} for tree size ${size}, the bundle's checkpoint has ${toHex(bundle.root)}`,
      ));
    }
    run.ok('root on chain', `${toHex(onchain.root)} at tree size ${size}`);
    const claimed = bundle.anchor;
    let problem = null;
    if (onchain.blockNumber !== claimed.blockNumber || onchain.timestamp !== claimed.blockTimestamp) {
      problem =
        `the chain anchored tree size ${size} in block ${onchain.blockNumber} at ${onchain.timestamp};` +
        ` the bundle says block ${claimed.blockNumber} at ${claimed.blockTimestamp}`;
    } else {
      const blockHash = await chain.blockHash(onchain.blockNumber);
      if (blockHash !== toHex(claimed.blockHash)) {
        problem = `block ${onchain.blockNumber} is ${blockHash === null ? 'no block' : blockHash} on chain; the bundle says ${toHex(claimed.blockHash)}`;
      } else {
        const tx = await chain.transaction(toHex(claimed.txHash));
        if (tx === null) {
          problem = `transaction ${toHex(claimed.txHash)} is not on chain`;
        } else if (tx.blockHash !== toHex(claimed.blockHash) || tx.to !== contract || !tx.succeeded) {
          problem = `transaction ${toHex(claimed.txHash)} is not a successful call of ${contract} in block ${toHex(claimed.blockHash)}`;
        }
      }
    }
    if (problem !== null) run.fail(new VerificationError('anchor block', problem));
    run.ok(
      'anchor block',
      `block ${onchain.blockNumber} (${toHex(claimed.blockHash)}) at ${utcText(onchain.timestamp)}, transaction ${toHex(claimed.txHash)}`,
    );
    run.result.anchored = onchain;
  }

  /* Checks that give no verdict: the chain could not be read, or this page could not run. */
  const NO_VERDICT = ['chain', 'verifier'];

  /** Record an error that ended a run (a failed check is recorded already). */
  function record(run, error) {
    if (run.result.error) return;
    const failed = error instanceof VerificationError
      ? { check: error.check, message: error.detail }
      : { check: 'verifier', message: `${error.name || 'Error'}: ${error.message || error}` };
    run.result.checks.push({ check: failed.check, passed: false, detail: failed.message });
    run.result.error = failed;
  }

  function failedState(result) {
    return NO_VERDICT.includes(result.error.check) ? 'unverified' : 'failed';
  }

  function statement(result) {
    if (result.error) {
      if (result.error.check === 'chain') return `NOT VERIFIED: the chain could not be read: ${result.error.message}`;
      if (result.error.check === 'verifier') return `NOT VERIFIED: this page could not run the checks: ${result.error.message}`;
      return `INVALID: ${result.error.check} check failed: ${result.error.message}`;
    }
    if (result.anchored) {
      return `VALID: existed no later than ${utcText(result.anchored.timestamp)} (block ${result.anchored.blockNumber})`;
    }
    return 'VALID: the chain was NOT consulted (offline): the entries are in the tree whose root the bundle states,' +
      ' but that this root was anchored is the bundle\'s unverified claim';
  }

  /**
   * Verify a bundle (JSON text) as `ledger verify` does: the mathematics, then, with
   * `rpcUrl`, the chain (without: offline, and the result says so). Never throws:
   * returns {valid, state: "verified"|"failed"|"unverified", chainConsulted, checks,
   * error, statement, proven}.
   */
  async function verifyBundle(text, rpcUrl, fetchImpl) {
    const run = newRun(Boolean(rpcUrl));
    const result = run.result;
    try {
      if (text.length > MAX_BUNDLE_BYTES) throw new BundleError(`bundle is ${text.length} characters; the limit is ${MAX_BUNDLE_BYTES}`);
      let bundle;
      try {
        bundle = parseBundle(parseStrictJson(text));
      } catch (error) {
        run.fail(error instanceof BundleError ? error : new BundleError(error.message));
      }
      const count = bundle.entries.length;
      run.ok(
        'bundle',
        `${BUNDLE_FORMAT}: ${count} ${count === 1 ? 'entry' : 'entries'}, log ${toHex(bundle.logId)},` +
          ` contract ${toHex(bundle.contract)} on chain id ${bundle.chainId}, tree size ${bundle.treeSize}`,
      );
      result.proven = {
        chainId: bundle.chainId.toString(),
        contract: toHex(bundle.contract),
        logId: toHex(bundle.logId),
        treeSize: bundle.treeSize.toString(),
        root: toHex(bundle.root),
        entries: bundle.entries.map((entry) => ({
          what: describeRecord(entry.record),
          ts: String(entry.record.ts),
          leafIndex: entry.leafIndex.toString(),
          leafHash: toHex(entry.leafHash),
        })),
        blockNumber: null,
        existedNoLaterThan: null,
      };
      for (let i = 0; i < count; i += 1) await checkEntry(run, bundle, i, bundle.entries[i]);
      if (rpcUrl) {
        await checkChain(run, bundle, rpcClient(rpcUrl, fetchImpl));
        result.proven.blockNumber = result.anchored.blockNumber.toString();
        result.proven.existedNoLaterThan = utcText(result.anchored.timestamp);
      }
      result.valid = true;
    } catch (error) {
      record(run, error);
    }
    result.state = result.valid ? (result.anchored ? 'verified' : 'unverified') : failedState(result);
    result.statement = statement(result);
    return result;
  }

  /* ---- a licence record: its commitment and LicenceRegistry.status ------------------- */

  /** The licence record inside `doc`: the record itself, or `doc.record` (GET /v1/licences/{id}). */
  function licenceRecordOf(doc) {
    if (doc && typeof doc === 'object' && doc.kind === undefined && doc.record && typeof doc.record === 'object') return doc.record;
    return doc;
  }

  /** Where GET /v1/licences/{id} says the commitment lives: {chainId, contract}, or null. */
  function licenceRegistryOf(doc) {
    const registry = doc && typeof doc === 'object' && doc.kind === undefined ? doc.registry : null;
    if (!registry || typeof registry !== 'object' || typeof registry.contract !== 'string') return null;
    return { chainId: typeof registry.chain_id === 'bigint' ? registry.chain_id : null, contract: registry.contract };
  }

  /** Seconds since the epoch of a record timestamp (YYYY-MM-DDTHH:MM:SS.mmmZ), rounded down. */
  function tsSeconds(ts) {
    return BigInt(Math.floor(Date.parse(ts) / 1000));
  }

  /** The plain sentence `ledger licence check` prints for a licence's state. */
  function licenceSentence(state, body, status, registry, where) {
    const which = `licence '${body.licence_id}' of '${body.licensee}'`;
    return {
      active: `ACTIVE: ${which} is active until ${body.valid_until} ${where}`,
      revoked: `REVOKED: ${which} was revoked (or superseded by an amendment) in block ${status.revokedBlock}; ${where}`,
      expired: `EXPIRED: ${which} expired at ${body.valid_until} ${where}`,
      not_yet_valid: `NOT YET VALID: ${which} becomes active at ${body.valid_from} ${where}`,
      unknown: `UNKNOWN: ${which} was never granted on registry ${registry} ${where}`,
    }[state];
  }

  /**
   * Check a licence record (JSON text) against a LicenceRegistry, as `ledger licence
   * check` does: recompute its commitment (the record's leaf hash) and read
   * status(commitment) at the chain's latest block. Checks: record, commitment, chain
   * id, contract, status. `state` is "verified" only for a licence active on chain with
   * the record's validity window; "failed" (check "status") for any other answer of
   * the registry; "unverified" (check "chain") when the registry cannot be read (no
   * node, another chain, no LicenceRegistry at the address). `text` may also be what
   * GET /v1/licences/{id} answers: its `record` is checked, and its `registry` used
   * when `registry` is empty. Never throws.
   */
  async function checkLicence(text, rpcUrl, registry, fetchImpl) {
    const run = newRun(Boolean(rpcUrl));
    const result = run.result;
    let sentence = null;
    try {
      let record;
      let named = null;
      try {
        const doc = parseStrictJson(text);
        record = licenceRecordOf(doc);
        named = licenceRegistryOf(doc);
      } catch (error) {
        run.fail(new VerificationError('record', error.detail || error.message));
      }
      let canonical;
      try {
        canonical = canonicalBytes(record);
        if (record.kind !== 'licence') throw new Error(`a ${record.kind} record, not a licence record`);
        if (record.body.action === 'revoke') throw new Error('a revocation: check the grant or amend record instead');
      } catch (error) {
        run.fail(new VerificationError('record', `not a valid licence grant: ${error.message}`));
      }
      const body = record.body;
      registry = (registry || (named && named.contract) || '').toLowerCase();
      run.ok('record', `licence ${body.licence_id} (${body.action}) for ${body.licensee}, valid ${body.valid_from} to ${body.valid_until}`);
      const commitment = await hashLeaf(canonical);
      run.ok('commitment', `SHA-256(0x00 || record) = ${toHex(commitment)}`);
      result.proven = {
        what: describeRecord(record),
        commitment: toHex(commitment),
        registry: registry || null,
        validFrom: body.valid_from,
        validUntil: body.valid_until,
      };
      if (!rpcUrl || !registry) {
        throw new ChainReadError('give the RPC URL of the chain and the LicenceRegistry address to read the status');
      }
      if (!/^0x[0-9a-f]{40}$/.test(registry)) {
        run.fail(new VerificationError('contract', `the registry address must be 0x and 40 hex digits, got ${registry.slice(0, 80)}`));
      }
      const chain = rpcClient(rpcUrl, fetchImpl);
      const chainId = await chain.chainId();
      if (named && named.chainId !== null && named.chainId !== chainId && named.contract.toLowerCase() === registry) {
        throw new ChainReadError(
          `the licence's registry is on chain id ${named.chainId}, but ${chain.where} serves chain id ${chainId}: use an RPC endpoint of that chain`,
        );
      }
      run.ok('chain id', `${chainId} (node ${chain.where})`);
      const head = await chain.latestBlock();
      if ((await chain.code(registry, head.number)) === '0x') throw new ChainReadError(`no contract at ${registry} on chain id ${chainId}`);
      let status;
      try {
        status = await chain.licenceStatus(registry, commitment, head.number);
      } catch (error) {
        if (!(error instanceof ContractCallError)) throw error;
        throw new ChainReadError(`${error.message}: is ${registry} a LicenceRegistry?`);
      }
      run.ok('contract', `LicenceRegistry at ${registry}`);
      const where = `at block ${head.number} (${utcText(head.timestamp)}) of chain ${chainId}`;
      Object.assign(result.proven, {
        chainId: chainId.toString(),
        state: status.state,
        readAt: `block ${head.number} (${utcText(head.timestamp)})`,
        onchainValidFrom: status.grantedBlock === 0n ? null : utcText(status.validFrom),
        onchainValidUntil: status.grantedBlock === 0n ? null : utcText(status.validUntil),
        grantedBlock: status.grantedBlock === 0n ? null : status.grantedBlock.toString(),
        revokedBlock: status.revokedBlock === 0n ? null : status.revokedBlock.toString(),
      });
      sentence = licenceSentence(status.state, body, status, registry, where);
      if (status.state !== 'unknown' && (status.validFrom !== tsSeconds(body.valid_from) || status.validUntil !== tsSeconds(body.valid_until))) {
        const problem = `the registry holds validity ${utcText(status.validFrom)} to ${utcText(status.validUntil)},` +
          ` the record says ${body.valid_from} to ${body.valid_until}`;
        sentence = `NOT VALID: licence '${body.licence_id}' of '${body.licensee}': ${problem} (${where})`;
        run.fail(new VerificationError('status', problem));
      }
      if (status.state !== 'active') run.fail(new VerificationError('status', sentence));
      run.ok('status', `active, granted in block ${status.grantedBlock}`);
      result.valid = true;
    } catch (error) {
      record(run, error);
    }
    result.state = result.valid ? 'verified' : failedState(result);
    result.statement = sentence && ['verified', 'failed'].includes(result.state) ? sentence : statement(result);
    return result;
  }

  /** "bundle", "licence" or null: what a pasted document looks like (loosely). */
  function documentKind(text) {
    let doc;
    try {
      doc = parseStrictJson(text);
    } catch (error) {
      return /"format"\s*:/.test(text) ? 'bundle' : null;
    }
    if (doc && typeof doc === 'object' && !Array.isArray(doc) && has(doc, 'format')) return 'bundle';
    const record = licenceRecordOf(doc);
    if (record && typeof record === 'object' && record.kind === 'licence') return 'licence';
    return null;
  }

  const api = {
    BUNDLE_FORMAT,
    parseStrictJson,
    jcs,
    canonicalBytes,
    hashLeaf,
    rootFromInclusionProof,
    verifyBundle,
    checkLicence,
    documentKind,
    toHex,
    fromHex,
  };
  root.LedgerVerify = api;
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
