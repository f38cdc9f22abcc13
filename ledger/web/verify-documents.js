/*
 * model-ledger verification page: the public documents, read as the Python verifiers read
 * them, field by field and in the same order:
 *
 * - the log identity (`model-ledger/log/v1`, ledger/formats/identity.py parse_identity);
 * - the evidence bundle (`model-ledger/evidence/v1`, ledger/formats/bundle.py parse_bundle);
 * - the evidence pack (`model-ledger/evidence-pack/v1`, ledger/formats/pack.py parse_pack,
 *   its query included);
 * - the licence file (a licence record, or the GET /v1/licences/{id} answer holding it,
 *   ledger/verify/licence.py read_document).
 *
 * Each reader throws an error naming what is wrong (IdentityError carries the field).
 * Hashes and addresses are kept as 0x lowercase hex strings; integers are BigInt.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(require('./verify-json.js'), require('./verify-records.js'), require('./verify-merkle.js'));
  } else {
    root.LedgerDocuments = factory(root.LedgerJson, root.LedgerRecords, root.LedgerMerkle);
  }
})(typeof globalThis !== 'undefined' ? globalThis : this, function (J, R, M) {
  'use strict';

  const IDENTITY_FORMAT = 'model-ledger/log/v1';
  const BUNDLE_FORMAT = 'model-ledger/evidence/v1';
  const PACK_FORMAT = 'model-ledger/evidence-pack/v1';
  /** The optional top-level field of bundles and packs holding the cosigned checkpoint note
   * (bundle.py CHECKPOINT_NOTE), read by verify-note.js readCheckpointNote after the rest. */
  const CHECKPOINT_NOTE = 'checkpoint_note';

  const MAX_IDENTITY_BYTES = 64 * 1024;
  const MAX_NAME_LENGTH = 256;
  const MAX_URL_LENGTH = 2048;
  const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;
  const MAX_PACK_BYTES = 256 * 1024 * 1024;
  const MAX_LICENCE_BYTES = 4 * 1024 * 1024;
  const MAX_ENTRIES = 100000;
  const MAX_PACK_ENTRIES = 100000;
  const MAX_PROOF_NODES = 64;
  const MAX_PRODUCER_CHARS = 200;
  const MAX_QUERY_ACCOUNTS = 10000;
  const MAX_TREE_SIZE = (1n << 64n) - 1n;
  const MAX_UINT64 = (1n << 64n) - 1n;
  const MAX_UINT256 = (1n << 256n) - 1n;
  const ADDRESS_SIZE = 20;
  const HASH_SIZE = 32;

  /** Python's repr of a value, cut at `width` characters (`{value!r:.80}`), for messages. */
  function shown(value, width = 80) {
    return J.cut(value === undefined ? 'None' : J.pyValue(value), width);
  }

  const typeName = (value) => {
    if (value === null) return 'NoneType';
    if (Array.isArray(value)) return 'list';
    return { bigint: 'int', string: 'str', boolean: 'bool', object: 'dict' }[typeof value] || typeof value;
  };

  /* ---- the log identity ------------------------------------------------------------------ */

  class IdentityError extends Error {
    constructor(field, message) {
      super(field ? `log identity: ${field}: ${message}` : `log identity: ${message}`);
      this.field = field;
      this.detail = message;
    }
  }

  const IDENTITY_FIELDS = ['format', 'name', 'chain_id', 'log_anchor', 'log_id', 'licence_registry', 'log_signer', 'deployment_block'];
  const IDENTITY_OPTIONAL = ['rpc_url', 'explorer'];
  /* identity.py _URL: https?://[^\s"'<>\\]+ with Python's \s (str.isspace). */
  const URL_PATTERN = /^https?:\/\/[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"'<>\\]+$/;
  const LOWER_HEX = /^0x[0-9a-f]*$/;
  const MAX_VKEY_LENGTH = 2048;
  /* note.py parse_vkey, type 0x01 only (note_verifier): name+hex(key ID)+base64(0x01 || key). */
  const VKEY_PATTERN = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]{44})$/;
  /* note.py valid_name: no Python str.isspace character, no control character, no plus. */
  const NOT_IN_NAME = /[\x00-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

  /** identity.py's check of note_vkey: the vkey of an Ed25519 note key, its key ID
   * SHA-256(name || 0x0A || 0x01 || key)[:4]. */
  function noteVkey(value) {
    if (value === null) return null;
    if (typeof value !== 'string' || J.codePoints(value) > MAX_VKEY_LENGTH) {
      throw new IdentityError('note_vkey', `must be a verifier key of at most ${MAX_VKEY_LENGTH} characters`);
    }
    const match = VKEY_PATTERN.exec(value);
    const name = match ? match[1] : '';
    if (!match || NOT_IN_NAME.test(name) || J.loneSurrogateAt(name) !== -1 || J.utf8(name).length > 1024) {
      throw new IdentityError('note_vkey', `not a verifier key <name>+<key ID>+<key>: ${shown(value)}`);
    }
    const material = Uint8Array.from(atob(match[3]), (c) => c.charCodeAt(0));
    if (material.length !== 33 || material[0] !== 0x01 || btoa(String.fromCharCode(...material)) !== match[3]) {
      throw new IdentityError('note_vkey', 'must be an Ed25519 note verifier key (signature type 0x01, 32 bytes)');
    }
    const id = J.toHex(J.sha256Now(J.concat(J.utf8(name), Uint8Array.of(0x0a), material))).slice(2, 10);
    if (id !== match[2]) throw new IdentityError('note_vkey', `key ID ${match[2]} is not the one of the key`);
    const weak = weakKeyProblem(material.slice(1));
    if (weak !== null) throw new IdentityError('note_vkey', `verifier key ${shown(name)}: ${weak}`);
    return value;
  }

  const IDENTITY_WITNESSES = ['witnesses', 'witness_quorum'];
  /** identity.py MAX_WITNESSES: most witnesses an identity lists. */
  const MAX_WITNESSES = 64;

  /** identity.py _witnesses: `witnesses` (cosigner vkeys, type 0x04) and `witness_quorum`,
   * both or neither: {vkeys, quorum} (none: [] and 0n). The keys are read by verify-note.js
   * (witnessPolicy), loaded after this file: it is looked up when an identity is read. */
  function identityWitnesses(obj, noteVkeyText) {
    if (!J.has(obj, 'witnesses') && !J.has(obj, 'witness_quorum')) return { vkeys: [], quorum: 0n };
    for (const field of IDENTITY_WITNESSES) {
      if (!J.has(obj, field)) {
        const other = IDENTITY_WITNESSES[1 - IDENTITY_WITNESSES.indexOf(field)];
        throw new IdentityError(field, `is missing: it goes with ${other}`);
      }
    }
    const vkeys = obj.witnesses;
    if (
      !Array.isArray(vkeys) ||
      !(vkeys.length > 0 && vkeys.length <= MAX_WITNESSES) ||
      !vkeys.every((v) => typeof v === 'string' && J.codePoints(v) <= MAX_VKEY_LENGTH)
    ) {
      throw new IdentityError('witnesses', `must be a list of 1 to ${MAX_WITNESSES} witness verifier keys`);
    }
    const quorum = identityInt(obj, 'witness_quorum', 1n, BigInt(vkeys.length));
    const note = typeof module === 'object' && module.exports ? require('./verify-note.js') : globalThis.LedgerNote;
    try {
      const policy = note.witnessPolicy(vkeys, Number(quorum));
      if (noteVkeyText !== null) note.sharesLogKey(policy, [note.noteVerifier(noteVkeyText)]);
    } catch (error) {
      if (!(error instanceof note.NoteError)) throw error;
      throw new IdentityError('witnesses', error.message);
    }
    return { vkeys: [...vkeys], quorum };
  }

  const FIELD_PRIME = (1n << 255n) - 19n;
  /* note.py SMALL_ORDER_KEYS: the canonical encodings of the eight Ed25519 points of small
   * order, libsodium's blocklist (one signature verifies for every message under them). */
  const SMALL_ORDER_KEYS = [
    '0100000000000000000000000000000000000000000000000000000000000000',
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000080',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  ];

  /** note.py weak_key_problem: why the 32 bytes of an Ed25519 key are not a key a signature
   * can be trusted under (a non-canonical encoding, or a point of small order), or null. */
  function weakKeyProblem(publicKey) {
    let y = 0n;
    for (let i = 31; i >= 0; i -= 1) y = (y << 8n) | BigInt(publicKey[i]);
    y &= (1n << 255n) - 1n;
    if (y >= FIELD_PRIME || (publicKey[31] >> 7 && (y === 1n || y === FIELD_PRIME - 1n))) {
      return 'its Ed25519 key is not the canonical encoding of a point';
    }
    if (SMALL_ORDER_KEYS.includes(J.toHex(publicKey).slice(2))) {
      return 'its Ed25519 key is a point of small order, under which one signature verifies for every message';
    }
    return null;
  }

  function identityBytes(obj, field, size) {
    const value = obj[field];
    if (typeof value !== 'string' || value.length !== 2 + 2 * size || !LOWER_HEX.test(value)) {
      throw new IdentityError(field, `must be 0x and ${2 * size} lowercase hex digits, got ${shown(value)}`);
    }
    return value;
  }

  function identityInt(obj, field, low, high) {
    const value = obj[field];
    if (typeof value !== 'bigint' || value < low || value > high) {
      throw new IdentityError(field, `must be an integer from ${low} to ${high}, got ${shown(value)}`);
    }
    return value;
  }

  /** A log identity from its JSON (bytes or text), or a decoded object; IdentityError. */
  function parseIdentity(data) {
    let obj = data;
    if (typeof data === 'string' || data instanceof Uint8Array) {
      try {
        obj = J.loadStrict(data, MAX_IDENTITY_BYTES, 'the log identity');
      } catch (error) {
        if (error instanceof J.StrictJsonError) throw new IdentityError('', error.message);
        throw error;
      }
    }
    if (!J.isObject(obj)) throw new IdentityError('', `must be a JSON object, got ${typeName(obj)}`);
    if (obj.format !== IDENTITY_FORMAT) {
      throw new IdentityError('format', `must be '${IDENTITY_FORMAT}', got ${shown(J.has(obj, 'format') ? obj.format : null)}: not a log identity`);
    }
    const missing = IDENTITY_FIELDS.filter((field) => !J.has(obj, field));
    if (missing.length) throw new IdentityError(missing[0], 'is missing');
    const unknown = Object.keys(obj)
      .filter((f) => !IDENTITY_FIELDS.includes(f) && !IDENTITY_OPTIONAL.includes(f) && f !== 'note_vkey' && !IDENTITY_WITNESSES.includes(f))
      .sort(J.byCodePoint);
    if (unknown.length) throw new IdentityError(unknown[0], 'is not a field of this format (a newer model-ledger may know it)');
    const name = obj.name;
    if (typeof name !== 'string' || J.codePoints(name) === 0 || J.codePoints(name) > MAX_NAME_LENGTH) {
      throw new IdentityError('name', `must be a non-empty string of at most ${MAX_NAME_LENGTH} characters`);
    }
    const registry = obj.licence_registry === null ? null : identityBytes(obj, 'licence_registry', ADDRESS_SIZE);
    const urls = {};
    for (const field of IDENTITY_OPTIONAL) {
      const value = J.has(obj, field) ? obj[field] : null;
      if (value !== null && (typeof value !== 'string' || J.codePoints(value) > MAX_URL_LENGTH || !URL_PATTERN.test(value))) {
        throw new IdentityError(field, `must be an http(s) URL of at most ${MAX_URL_LENGTH} characters, got ${shown(value)}`);
      }
      urls[field] = value;
    }
    // identity.py reads note_vkey, then the witnesses, then the other fields
    const vkey = noteVkey(J.has(obj, 'note_vkey') ? obj.note_vkey : null);
    const witnesses = identityWitnesses(obj, vkey);
    if (vkey === null && witnesses.vkeys.length) {
      throw new IdentityError('witnesses', "go with the log's note_vkey: a cosignature counts only on a note the log key signed");
    }
    return makeIdentity({
      name,
      chainId: identityInt(obj, 'chain_id', 1n, MAX_UINT256),
      logAnchor: identityBytes(obj, 'log_anchor', ADDRESS_SIZE),
      logId: identityBytes(obj, 'log_id', HASH_SIZE),
      licenceRegistry: registry,
      logSigner: identityBytes(obj, 'log_signer', ADDRESS_SIZE),
      deploymentBlock: identityInt(obj, 'deployment_block', 0n, MAX_UINT64),
      rpcUrl: urls.rpc_url,
      explorer: urls.explorer,
      noteVkey: vkey,
      witnesses: witnesses.vkeys,
      witnessQuorum: witnesses.quorum,
    });
  }

  function makeIdentity(fields) {
    return Object.freeze({
      ...fields,
      /** The identity document (identity.py as_json); the optional fields only when set. */
      asJson() {
        const out = {
          format: IDENTITY_FORMAT,
          name: fields.name,
          chain_id: fields.chainId,
          log_anchor: fields.logAnchor,
          log_id: fields.logId,
          licence_registry: fields.licenceRegistry,
          log_signer: fields.logSigner,
          deployment_block: fields.deploymentBlock,
        };
        if (fields.rpcUrl !== null) out.rpc_url = fields.rpcUrl;
        if (fields.explorer !== null) out.explorer = fields.explorer;
        if (fields.noteVkey !== null && fields.noteVkey !== undefined) out.note_vkey = fields.noteVkey;
        if (fields.witnesses && fields.witnesses.length) {
          out.witnesses = [...fields.witnesses];
          out.witness_quorum = fields.witnessQuorum;
        }
        return out;
      },
      /** The document as JSON text, fields in as_json order, integers written whole. */
      text() {
        const json = this.asJson();
        const value = (v) => (typeof v === 'bigint' ? v.toString() : JSON.stringify(v));
        return `{${Object.keys(json).map((key) => `${JSON.stringify(key)}: ${value(json[key])}`).join(', ')}}`;
      },
      /**
       * The identity in one canonical form: its document (asJson) in RFC 8785 form, every
       * integer written whole (RFC 8785 exactly for chain ids below 2^53: every real one).
       */
      canonical() {
        const json = this.asJson();
        const value = (v) => (typeof v === 'bigint' ? v.toString() : JSON.stringify(v));
        return `{${Object.keys(json).sort().map((key) => `${JSON.stringify(key)}:${value(json[key])}`).join(',')}}`;
      },
      /** SHA-256 of `canonical()`, 0x hex, at once: its first bytes are the fingerprint the
       * page shows, to say which identity a button pins. */
      fingerprint() {
        return J.toHex(J.sha256Now(J.utf8(this.canonical())));
      },
      /** The log in one line, as verifiers print it. */
      describe() {
        return `log ${J.pyRepr(fields.name)} (${fields.logId}), LogAnchor ${fields.logAnchor} on chain id ${fields.chainId}, log key ${fields.logSigner}`;
      },
      /**
       * The first given field that differs from this identity, as [field, sentence] (null
       * when all match; fields left undefined or null are not compared): identity.py
       * `mismatch`, in its order.
       */
      mismatch(given) {
        for (const [field, key] of [['chain_id', 'chainId'], ['log_anchor', 'logAnchor'], ['log_id', 'logId'], ['licence_registry', 'licenceRegistry'], ['log_signer', 'logSigner']]) {
          const value = given[key];
          const pinned = fields[key];
          if (value === undefined || value === null || value === pinned) continue;
          if (pinned === null) return [field, `${field}: the pinned log names none, the document names ${value}`];
          return [field, `${field}: the document names ${value}, the pinned log has ${pinned}`];
        }
        return null;
      },
    });
  }

  /* ---- bundles and packs ----------------------------------------------------------------- */

  /** The document cannot be read: check `check` ("bundle" or "pack") fails. */
  class DocumentError extends Error {
    constructor(check, message) {
      super(message);
      this.check = check;
    }
  }

  /** The optional `producer` of any document `obj` (ledger/formats/fields.py
   * parse_producer), or null; `fail(message)` throws the caller's error. */
  function readProducer(obj, fail) {
    if (!J.has(obj, 'producer')) return null;
    const value = obj.producer;
    if (typeof value !== 'string' || [...value].length > MAX_PRODUCER_CHARS) {
      fail(`producer must be a string of at most ${MAX_PRODUCER_CHARS} characters, got ${shown(value)}`);
    }
    return value;
  }

  function reader(check) {
    const fail = (message) => {
      throw new DocumentError(check, message);
    };
    return {
      fail,
      fields(obj, where, names, optional = []) {
        if (!J.isObject(obj)) fail(`${where} must be a JSON object, got ${typeName(obj)}`);
        const missing = names.filter((name) => !J.has(obj, name));
        if (missing.length) fail(`${where} lacks ${missing.map((m) => `'${m}'`).join(', ')}`);
        const unknown = Object.keys(obj)
          .filter((name) => !names.includes(name) && !optional.includes(name))
          .sort(J.byCodePoint); // Python's sorted(): the same field named first
        if (unknown.length) fail(`${where} has unknown field ${J.pyRepr(unknown[0])}`);
        return obj;
      },
      /* The optional `producer` (ledger/formats/fields.py parse_producer): a note for
       * people naming the software that wrote the document; no check depends on it. */
      producer(obj) {
        return readProducer(obj, fail);
      },
      int(value, where, low, high) {
        if (typeof value !== 'bigint') fail(`${where} must be an integer, got ${typeName(value)}`);
        if (value < low || value > high) fail(`${where} must be between ${low} and ${high}, got ${value}`);
        return value;
      },
      bytes(value, where, size) {
        if (typeof value !== 'string' || value.length !== 2 + 2 * size || !LOWER_HEX.test(value)) {
          fail(`${where} must be 0x and ${2 * size} lowercase hex digits, got ${shown(value)}`);
        }
        return value;
      },
    };
  }

  function readAnchor(read, obj, where) {
    const anchor = read.fields(obj, where, ['tx_hash', 'block_number', 'block_hash', 'block_timestamp']);
    return {
      txHash: read.bytes(anchor.tx_hash, `${where}.tx_hash`, HASH_SIZE),
      blockNumber: read.int(anchor.block_number, `${where}.block_number`, 0n, MAX_UINT64),
      blockHash: read.bytes(anchor.block_hash, `${where}.block_hash`, HASH_SIZE),
      blockTimestamp: read.int(anchor.block_timestamp, `${where}.block_timestamp`, 0n, MAX_UINT64),
    };
  }

  /** A bundle from its decoded JSON (verify.py parse_bundle); DocumentError('bundle'). */
  function parseBundle(obj) {
    const read = reader('bundle');
    if (!J.isObject(obj)) read.fail(`a bundle is a JSON object, got ${typeName(obj)}`);
    if (!J.has(obj, 'format')) read.fail("no 'format': not a model-ledger evidence bundle");
    if (obj.format !== BUNDLE_FORMAT) read.fail(`unknown format ${shown(obj.format)}; this verifier reads '${BUNDLE_FORMAT}'`);
    const top = read.fields(obj, 'bundle', ['format', 'chain_id', 'contract', 'log_id', 'checkpoint', 'entries'], ['producer', CHECKPOINT_NOTE]);
    read.producer(top);
    const checkpoint = read.fields(top.checkpoint, 'checkpoint', ['tree_size', 'root', 'anchor']);
    const entries = top.entries;
    if (!Array.isArray(entries) || !entries.length) read.fail('entries must be a non-empty list');
    if (entries.length > MAX_ENTRIES) read.fail(`bundle has ${entries.length} entries; the limit is ${MAX_ENTRIES}`);
    const parsed = entries.map((entry, i) => {
      const where = `entries[${i}]`;
      const f = read.fields(entry, where, ['leaf_index', 'leaf_hash', 'record', 'proof']);
      if (!J.isObject(f.record)) read.fail(`${where}.record must be a JSON object`);
      if (!Array.isArray(f.proof)) read.fail(`${where}.proof must be a list of hashes`);
      if (f.proof.length > MAX_PROOF_NODES) {
        read.fail(`${where}.proof has ${f.proof.length} nodes; the most a tree can need is ${MAX_PROOF_NODES}`);
      }
      return {
        leafIndex: read.int(f.leaf_index, `${where}.leaf_index`, 0n, MAX_TREE_SIZE - 1n),
        leafHash: read.bytes(f.leaf_hash, `${where}.leaf_hash`, HASH_SIZE),
        record: f.record,
        proof: f.proof.map((node, n) => read.bytes(node, `${where}.proof[${n}]`, HASH_SIZE)),
      };
    });
    const seen = new Map();
    parsed.forEach((entry, i) => {
      if (seen.has(entry.leafHash)) read.fail(`entries[${i}] repeats the entry of entries[${seen.get(entry.leafHash)}] (${entry.leafHash})`);
      seen.set(entry.leafHash, i);
    });
    return {
      noun: 'bundle',
      format: BUNDLE_FORMAT,
      chainId: read.int(top.chain_id, 'chain_id', 1n, MAX_UINT256),
      contract: read.bytes(top.contract, 'contract', ADDRESS_SIZE),
      logId: read.bytes(top.log_id, 'log_id', HASH_SIZE),
      treeSize: read.int(checkpoint.tree_size, 'checkpoint.tree_size', 1n, MAX_TREE_SIZE),
      root: read.bytes(checkpoint.root, 'checkpoint.root', HASH_SIZE),
      anchor: readAnchor(read, checkpoint.anchor, 'checkpoint.anchor'),
      entries: parsed,
    };
  }

  /* The pack's query (verify_pack.py parse_query); throws [field, message]. */
  const BOUND = /^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T([0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]{3})?Z)?$/;
  const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

  /** A time bound as a record timestamp (verify_pack.py normalize_time), or throws. */
  function normalizeTime(value, field) {
    const match = typeof value === 'string' ? BOUND.exec(value) : null;
    if (match === null) {
      throw [field, `must be a UTC time like 2026-06-05T12:00:00.000Z or a date like 2026-06-05, got ${shown(value)}`];
    }
    const [, day, clock, millis] = match;
    const text = `${day}T${clock || '00:00:00'}${millis || '.000'}Z`;
    const [y, mo, d, h, mi, s] = text.match(/[0-9]+/g).map(Number);
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    const monthDays = mo === 2 && leap ? 29 : DAYS[mo - 1];
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > monthDays || h > 23 || mi > 59 || s > 59) {
      throw [field, `is not a real date and time: ${shown(value)}`];
    }
    return text;
  }

  function queryIdent(value, field) {
    if (typeof value !== 'string' || J.codePoints(value) < 1 || J.codePoints(value) > R.MAX_ID_LENGTH) {
      throw [field, `must be a string of 1 to ${R.MAX_ID_LENGTH} characters, got ${shown(value)}`];
    }
    return value;
  }

  function parseQuery(obj) {
    if (!J.isObject(obj)) throw ['query', 'must be a JSON object'];
    const unknown = Object.keys(obj).filter((k) => !['account_ids', 'from', 'to', 'model', 'kind'].includes(k)).sort(J.byCodePoint);
    if (unknown.length) throw [unknown[0], 'unknown field (known: account_ids, from, to, model, kind)'];
    const given = (name) => J.has(obj, name) && obj[name] !== null;
    let accounts = null;
    if (given('account_ids')) {
      const ids = obj.account_ids;
      if (!Array.isArray(ids) || !ids.length) throw ['account_ids', 'must be a non-empty list of account ids'];
      if (ids.length > MAX_QUERY_ACCOUNTS) throw ['account_ids', `holds ${ids.length} ids; the limit is ${MAX_QUERY_ACCOUNTS}`];
      accounts = [...new Set(ids.map((a, i) => queryIdent(a, `account_ids[${i}]`)))];
    }
    const from = given('from') ? normalizeTime(obj.from, 'from') : null;
    const to = given('to') ? normalizeTime(obj.to, 'to') : null;
    if (from !== null && to !== null && from >= to) throw ['to', `must be after from (${from}), got ${to}`];
    const model = given('model') ? queryIdent(obj.model, 'model') : null;
    const kind = given('kind') ? obj.kind : null;
    if (kind !== null && !R.KINDS.includes(kind)) throw ['kind', `must be one of ${R.KINDS.join(', ')}, got ${shown(kind)}`];
    const accountSet = accounts === null ? null : new Set(accounts);
    return {
      accountIds: accounts,
      from,
      to,
      model,
      kind,
      /** Whether a record's lookup columns match (verify_pack.py PackQuery.matches). */
      matches(entry) {
        return (
          (accountSet === null || accountSet.has(entry.accountId)) &&
          (from === null || entry.ts >= from) &&
          (to === null || entry.ts < to) &&
          (model === null || entry.model === model) &&
          (kind === null || entry.kind === kind)
        );
      },
      describe() {
        const parts = [];
        if (accounts !== null) {
          const more = accounts.length > 3 ? ` and ${accounts.length - 3} more` : '';
          parts.push(`account in (${accounts.slice(0, 3).join(', ')}${more})`);
        }
        if (from !== null) parts.push(`ts >= ${from}`);
        if (to !== null) parts.push(`ts < ${to}`);
        if (model !== null) parts.push(`model = ${model}`);
        if (kind !== null) parts.push(`kind = ${kind}`);
        return parts.join(' and ') || 'every entry';
      },
    };
  }

  /** A pack from its decoded JSON (verify_pack.py parse_pack); DocumentError('pack'). */
  function parsePack(obj) {
    const read = reader('pack');
    if (!J.isObject(obj)) read.fail(`a pack is a JSON object, got ${typeName(obj)}`);
    if (obj.format !== PACK_FORMAT) read.fail(`unknown format ${shown(obj.format)}; this verifier reads '${PACK_FORMAT}'`);
    const top = read.fields(obj, 'pack', ['format', 'chain_id', 'contract', 'log_id', 'checkpoint', 'query', 'entries', 'proof'], ['producer', 'completeness', CHECKPOINT_NOTE]);
    const complete = J.has(top, 'completeness') && top.completeness !== null;
    read.producer(top);
    const checkpoint = read.fields(top.checkpoint, 'checkpoint', ['tree_size', 'root', 'anchor']);
    const treeSize = read.int(checkpoint.tree_size, 'checkpoint.tree_size', 1n, MAX_TREE_SIZE);
    let query;
    try {
      query = parseQuery(top.query);
    } catch (error) {
      if (!Array.isArray(error)) throw error;
      const [field, message] = error;
      read.fail(field === 'query' ? `query: ${message}` : `query.${field}: ${message}`);
    }
    const entries = top.entries;
    if (!Array.isArray(entries) || !(entries.length || complete)) read.fail('entries must be a non-empty list');
    if (entries.length > MAX_PACK_ENTRIES) read.fail(`pack has ${entries.length} entries; the limit is ${MAX_PACK_ENTRIES}`);
    const indices = [];
    const records = [];
    let previous = -1n;
    entries.forEach((entry, i) => {
      const where = `entries[${i}]`;
      const f = read.fields(entry, where, ['leaf_index', 'record']);
      const index = read.int(f.leaf_index, `${where}.leaf_index`, 0n, treeSize - 1n);
      if (index <= previous) read.fail(`${where}.leaf_index is ${index} after ${previous}: leaf indices must increase strictly`);
      if (!J.isObject(f.record)) read.fail(`${where}.record must be a JSON object`);
      indices.push(index);
      records.push(f.record);
      previous = index;
    });
    const proof = top.proof;
    if (!Array.isArray(proof)) read.fail('proof must be a list of hashes');
    if (proof.length > MAX_PROOF_NODES * entries.length) {
      read.fail(`proof has ${proof.length} nodes; ${entries.length} entries need at most ${MAX_PROOF_NODES * entries.length}`);
    }
    return {
      noun: 'pack',
      format: PACK_FORMAT,
      chainId: read.int(top.chain_id, 'chain_id', 1n, MAX_UINT256),
      contract: read.bytes(top.contract, 'contract', ADDRESS_SIZE),
      logId: read.bytes(top.log_id, 'log_id', HASH_SIZE),
      treeSize,
      root: read.bytes(checkpoint.root, 'checkpoint.root', HASH_SIZE),
      anchor: readAnchor(read, checkpoint.anchor, 'checkpoint.anchor'),
      query,
      indices,
      records,
      proof: proof.map((node, i) => read.bytes(node, `proof[${i}]`, HASH_SIZE)),
      /* A complete pack's `completeness` field, read by verify-completeness.js
       * (parsePackCompleteness) right after this: the last field Python reads. */
      completenessField: complete ? top.completeness : null,
    };
  }

  /* ---- exports (audited whole by `mledger audit`, not here) ------------------------------ */

  /** An export's first line, however laid out, an entry's or an erased entry's
   * (ledger/formats/export_line.py _EXPORT_START). */
  /* [ \t\n\r\v\f]: the \s of Python's bytes pattern; JavaScript's \s takes Unicode spaces too. */
  const EXPORT_START = /^(?:\uFEFF)?[ \t\n\r\v\f]*\{[ \t\n\r\v\f]*"(?:leaf_index|erased)"[ \t\n\r\v\f]*:/;

  /** Whether `data` (bytes or text) is an export rather than one evidence document
   * (ledger/formats/export_line.py is_export). */
  function isExport(data) {
    const head = typeof data === 'string' ? data.slice(0, 256) : new TextDecoder().decode(data.slice(0, 256));
    return EXPORT_START.test(head);
  }

  /** What `reader` says of an export (ledger/formats/export_line.py export_advice). */
  const exportAdvice = (reader) =>
    `this is a log export (NDJSON, one entry per line), which ${reader} does not audit:` +
    ' run `mledger audit FILE --log log.json --rpc-url URL`';

  /* ---- the licence file ------------------------------------------------------------------ */

  class LicenceFileError extends Error {}

  /**
   * The licence record in `data` (licence_check.py read_document): a GET /v1/licences/{id}
   * answer (its `record` and `registry`) or a bare record. {record, stored, commitment,
   * chainId, contract, revocationEvidence}: the commitment is the leaf hash of the record as
   * the log stored it; revocationEvidence the answer's `revoked.evidence` (or null).
   */
  async function readLicence(data) {
    let document;
    try {
      document = J.loadStrict(data, MAX_LICENCE_BYTES, 'the licence file');
    } catch (error) {
      if (error instanceof J.StrictJsonError) throw new LicenceFileError(error.message);
      throw error;
    }
    if (!J.isObject(document)) throw new LicenceFileError('not a JSON object: expected a licence record or a GET /v1/licences/{id} response');
    const wrapped = J.has(document, 'record');
    const record = wrapped ? document.record : document;
    const registry = wrapped && J.has(document, 'registry') ? document.registry : null;
    if (!J.isObject(record) || record.kind !== 'licence') throw new LicenceFileError("holds no licence record (kind 'licence')");
    const missing = (name) => !J.has(record, name) || record[name] === null;
    if (missing('salt') || missing('ts')) {
      throw new LicenceFileError('the record has no salt or ts: it is not a record as the log stored it');
    }
    let stored;
    try {
      stored = R.storedRecord(record);
    } catch (error) {
      if (error instanceof R.RecordError) throw new LicenceFileError(`the licence record is invalid: ${error.message}`);
      throw error;
    }
    const action = record.body.action;
    if (action !== 'grant' && action !== 'amend') {
      throw new LicenceFileError(`the record is a ${shown(action)} record: check the grant or amend record instead`);
    }
    // a revoked licence's answer carries the revoke record's bundle (licence.py read_document)
    const revoked = wrapped && J.has(document, 'revoked') ? document.revoked : null;
    const evidence = J.isObject(revoked) && J.has(revoked, 'evidence') ? revoked.evidence : null;
    if (evidence !== null && !J.isObject(evidence)) throw new LicenceFileError('revoked.evidence must be an evidence bundle (a JSON object)');
    let chainId = null;
    let contract = null;
    if (registry !== null) {
      if (!J.isObject(registry)) throw new LicenceFileError('registry must be an object {chain_id, contract}');
      if (J.has(registry, 'chain_id') && registry.chain_id !== null) {
        if (typeof registry.chain_id !== 'bigint') throw new LicenceFileError(`registry.chain_id is not an integer: ${shown(registry.chain_id)}`);
        chainId = registry.chain_id;
      }
      if (J.has(registry, 'contract') && registry.contract !== null) {
        const value = registry.contract;
        const digits = typeof value === 'string' && value.slice(0, 2).toLowerCase() === '0x' ? value.slice(2) : value;
        const address = typeof digits === 'string' ? J.pythonFromHex(digits) : null;
        if (address === null || address.length !== ADDRESS_SIZE) {
          throw new LicenceFileError(`registry.contract is not a contract address (0x + 40 hex digits): ${shown(value)}`);
        }
        contract = J.toHex(address);
      }
    }
    return {
      record: stored.record,
      body: stored.record.body,
      commitment: J.toHex(await M.hashLeaf(stored.bytes)),
      chainId,
      contract,
      revocationEvidence: evidence,
    };
  }

  return {
    IDENTITY_FORMAT,
    BUNDLE_FORMAT,
    PACK_FORMAT,
    MAX_BUNDLE_BYTES,
    MAX_PACK_BYTES,
    IdentityError,
    DocumentError,
    LicenceFileError,
    parseIdentity,
    weakKeyProblem,
    parseBundle,
    parsePack,
    parseQuery,
    normalizeTime,
    readLicence,
    readProducer,
    isExport,
    exportAdvice,
    shown,
    typeName,
  };
});
