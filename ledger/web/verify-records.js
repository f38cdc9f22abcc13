/*
 * model-ledger verification page: the v1 record rules of ledger/core/records.py (its pydantic
 * models, strict, unknown fields refused) and the bytes a record's leaf hash commits to.
 *
 * `canonicalRecord` is ledger/verify/bundle.py's `canonical_bytes`: the record's RFC 8785 text
 * must be a valid v1 or v2 record in canonical form (what `validate_canonical` re-encodes is
 * the same text: no null for an absent field, salt and ts given, a model's parents
 * listed, v written 1). `storedRecord` is ledger/core/records.py's `parse_object` (what
 * `mledger licence check` reads): a valid record, encoded as the log would store it.
 * Both throw RecordError naming the field at fault.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory(require('./verify-json.js'));
  else root.LedgerRecords = factory(root.LedgerJson);
})(typeof globalThis !== 'undefined' ? globalThis : this, function (J) {
  'use strict';

  const MAX_RECORD_BYTES = 16384;
  const MAX_ID_LENGTH = 256;
  const MAX_TEXT_LENGTH = 1024;
  const MAX_METADATA_ITEMS = 32;
  const MAX_LIST_ITEMS = 64;
  const MAX_SAFE_INTEGER = J.MAX_SAFE_INTEGER;
  const KINDS = ['interaction', 'licence', 'model', 'digest'];

  /* ledger/core/records.py TS_PATTERN: exactly the real UTC instants YYYY-MM-DDTHH:MM:SS.mmmZ. */
  const YEAR = '(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])';
  const LEAP_YEAR = '(?:[0-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)';
  const MONTH_DAY =
    '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)' +
    '|02-(?:0[1-9]|1[0-9]|2[0-8]))';
  const TS = new RegExp(
    `^(?:${YEAR}-${MONTH_DAY}|${LEAP_YEAR}-02-29)T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$`,
  );
  const PATTERNS = {
    ts: [TS, 'not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ'],
    sha256: [/^[0-9a-f]{64}$/, 'not a SHA-256 digest in 64 lowercase hex digits'],
    salt: [/^[0-9a-f]{32}$/, 'not a salt of 32 lowercase hex digits'],
    metadataKey: [/^[A-Za-z0-9_.:-]{1,64}$/, 'not a metadata key (1-64 of A-Z a-z 0-9 _ . : -)'],
    scope: [/^[a-z][a-z0-9-]{0,63}$/, 'not a scope (lowercase letters, digits and -)'],
  };

  class RecordError extends Error {
    constructor(field, message) {
      super(field ? `${field}: ${message}` : message);
      this.field = field;
      this.detail = message;
    }
  }

  /* ---- field types (each returns the value as the model holds it, or throws) -------- */

  const join = (where, name) => (where ? `${where}.${name}` : name);

  function string(where, value) {
    if (typeof value !== 'string') throw new RecordError(where, 'Input should be a valid string');
    if (J.loneSurrogateAt(value) >= 0) {
      throw new RecordError(where, 'Input should be a valid string, unable to parse raw data as a unicode string');
    }
    return value;
  }

  function bounded(low, high) {
    return (where, value) => {
      const length = J.codePoints(string(where, value));
      if (length < low) throw new RecordError(where, `String should have at least ${low} character${low === 1 ? '' : 's'}`);
      if (length > high) throw new RecordError(where, `String should have at most ${high} characters`);
      return value;
    };
  }

  const ident = bounded(1, MAX_ID_LENGTH);
  const text = bounded(0, MAX_TEXT_LENGTH);

  function pattern(name) {
    const [regex, words] = PATTERNS[name];
    return (where, value) => {
      if (!regex.test(string(where, value))) throw new RecordError(where, `${words}: ${J.pyRepr(value)}`);
      return value;
    };
  }

  function integer(low, high) {
    return (where, value) => {
      if (typeof value !== 'bigint') throw new RecordError(where, 'Input should be a valid integer');
      if (value < low) throw new RecordError(where, `Input should be greater than or equal to ${low}`);
      if (value > high) throw new RecordError(where, `Input should be less than or equal to ${high}`);
      return value;
    };
  }

  const count = integer(0n, MAX_SAFE_INTEGER);

  function literal(...allowed) {
    const quoted = allowed.map((a) => `'${a}'`);
    const words = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}` : quoted[0];
    return (where, value) => {
      if (!allowed.includes(value)) throw new RecordError(where, `Input should be ${words}`);
      return value;
    };
  }

  function list(item, low, high) {
    return (where, value) => {
      if (!Array.isArray(value)) throw new RecordError(where, 'Input should be a valid array');
      if (value.length < low) throw new RecordError(where, `List should have at least ${low} item after validation, not ${value.length}`);
      if (value.length > high) throw new RecordError(where, `List should have at most ${high} items after validation, not ${value.length}`);
      return value.map((element, i) => item(`${where}.${i}`, element));
    };
  }

  /* A field's type; `optional`: null or absent is None (left out of the stored form). */
  const required = (type) => ({ type, optional: false });
  const optional = (type) => ({ type, optional: true });

  /**
   * A strict pydantic model: the fields `spec` names, nothing else. Errors come in
   * pydantic's order, with its words (as it validates JSON): the declared fields in
   * order, then unknown fields; the model's own check (`after`) runs only when every
   * field is valid.
   */
  function model(spec, after) {
    const validate = (where, value) => {
      if (!J.isObject(value)) throw new RecordError(where, 'Input should be an object');
      const out = Object.create(null);
      for (const [name, field] of Object.entries(spec)) {
        const at = join(where, name);
        if (!J.has(value, name)) {
          if (field.optional) continue;
          if (J.has(field, 'default')) {
            out[name] = field.default();
            continue;
          }
          throw new RecordError(at, 'Field required');
        }
        if (value[name] === null && field.optional) continue;
        out[name] = field.type(at, value[name]);
      }
      for (const name of Object.keys(value).sort()) { // the order of the RFC 8785 text Python validates
        if (!J.has(spec, name)) throw new RecordError(join(where, name), 'unknown field');
      }
      if (after) after(where, out);
      return out;
    };
    validate.spec = spec;
    return validate;
  }

  function metadata(where, value) {
    if (!J.isObject(value)) throw new RecordError(where, 'Input should be an object');
    const keys = Object.keys(value);
    if (keys.length > MAX_METADATA_ITEMS) {
      throw new RecordError(where, `Dictionary should have at most ${MAX_METADATA_ITEMS} items after validation, not ${keys.length}`);
    }
    const out = Object.create(null);
    for (const key of keys.sort()) {
      pattern('metadataKey')(`${where}.${key}.[key]`, key);
      const item = value[key];
      // str | int | bool, strict: pydantic names the first member's error when none fits.
      if (typeof item === 'bigint' && item >= -MAX_SAFE_INTEGER && item <= MAX_SAFE_INTEGER) out[key] = item;
      else if (typeof item === 'boolean') out[key] = item;
      else out[key] = text(`${where}.${key}.constrained-str`, item);
    }
    return out;
  }

  /* ---- the kinds (ledger/core/records.py) ----------------------------------------------------- */

  const client = model({
    asn: optional(count),
    ip_sha256: optional(pattern('sha256')),
    user_agent: optional(text),
  });

  const BODIES = {
    interaction: model({
      account_id: required(ident),
      api_key_id: optional(ident),
      client: optional(client),
      endpoint: optional(text),
      input_tokens: required(count),
      metadata: optional(metadata),
      model: required(ident),
      output_tokens: required(count),
      prompt_sha256: required(pattern('sha256')),
      request_id: required(ident),
      response_sha256: required(pattern('sha256')),
    }),
    licence: model(
      {
        action: required(literal('grant', 'amend', 'revoke')),
        licence_id: required(ident),
        licensee: required(ident),
        models: optional(list(ident, 1, MAX_LIST_ITEMS)),
        reason: optional(text),
        scope: optional(list(pattern('scope'), 1, MAX_LIST_ITEMS)),
        terms_sha256: optional(pattern('sha256')),
        valid_from: optional(pattern('ts')),
        valid_until: optional(pattern('ts')),
      },
      (where, body) => {
        if (body.action === 'revoke') return;
        for (const name of ['models', 'scope', 'terms_sha256', 'valid_from', 'valid_until']) {
          if (!J.has(body, name)) throw new RecordError(where, `Value error, ${name} is required for action '${body.action}'`);
        }
        if (body.valid_until <= body.valid_from) throw new RecordError(where, 'Value error, valid_until must be after valid_from');
      },
    ),
    model: model({
      artifact_sha256: required(pattern('sha256')),
      licence_id: optional(ident),
      model_id: required(ident),
      parents: {
        type: list(
          model({
            model_id: required(ident),
            relation: required(literal('fine-tune', 'distillation', 'quantization', 'merge')),
            version: required(ident),
          }),
          0,
          MAX_LIST_ITEMS,
        ),
        optional: false,
        default: () => [],
      },
      training_data_sha256: optional(pattern('sha256')),
      version: required(ident),
    }),
    digest: model({ sha256: required(pattern('sha256')) }),
  };

  /**
   * A record validated as ledger/core/records.py validates it: {record, filled}. `record` is
   * the record as the log would store it (absent optional fields left out, a model's
   * parents defaulted, v as 1); `filled` says the log would have made up its salt or ts.
   */
  function validateRecord(value) {
    if (!J.isObject(value)) throw new RecordError('', 'Input should be a valid dictionary or object to extract fields from');
    if (!J.has(value, 'kind')) throw new RecordError('kind', 'field required'); // records.py _describe's words
    if (!KINDS.includes(value.kind)) {
      throw new RecordError('kind', `unknown kind ${J.pyValue(value.kind)}; expected one of ${KINDS.join(', ')}`);
    }
    const envelope = model({
      body: required(BODIES[value.kind]),
      kind: required(literal(value.kind)),
      salt: optional(pattern('salt')),
      ts: optional(pattern('ts')),
      v: required((where, v) => {
        if (v !== 1n && v !== 2n && v !== true) throw new RecordError(where, 'Input should be 1 or 2');
        return v === 2n ? 2n : 1n; // Literal[1, 2] takes true (== 1 in Python) and stores 1
      }),
    });
    const record = envelope('', value);
    return { record, filled: !J.has(record, 'salt') || !J.has(record, 'ts') };
  }

  /* ledger/core/records.py LOOKUP_FIELDS: the body fields of the store's lookup columns. */
  const LOOKUP_FIELDS = {
    interaction: ['request_id', 'account_id', 'model'],
    licence: ['licence_id', 'licensee', null],
    model: ['model_id', null, 'model_id'],
    digest: ['sha256', null, null],
  };

  /** The store's lookup columns of a validated record (ledger/core/records.py `_entry`);
   * null for a field a disclosure withholds. */
  function lookup(record) {
    const [externalId, accountId, modelId] = LOOKUP_FIELDS[record.kind].map((name) =>
      name !== null && J.has(record.body, name) ? record.body[name] : null);
    return { kind: record.kind, ts: record.ts, externalId, accountId, model: modelId };
  }

  /**
   * The bytes the log hashed for `record` (ledger/verify/bundle.py canonical_bytes): its RFC 8785
   * text, which must be a valid v1 or v2 record in canonical form. {bytes, record, entry}.
   */
  function canonicalRecord(value) {
    let canonical;
    try {
      canonical = J.jcs(value);
    } catch (error) {
      throw new RecordError('', `cannot be encoded with RFC 8785: ${error.message}`);
    }
    const bytes = J.utf8(canonical);
    if (bytes.length > MAX_RECORD_BYTES) throw new RecordError('', `record is ${bytes.length} bytes; the limit is ${MAX_RECORD_BYTES}`);
    const { record, filled } = validateRecord(value);
    if (filled || J.jcs(record) !== canonical) throw new RecordError('', 'record is valid but not in canonical form (RFC 8785)');
    return { bytes, record, entry: lookup(record) };
  }

  /** A record as ledger/core/records.py parse_object stores it: {bytes, record, entry}. */
  function storedRecord(value) {
    const { record, filled } = validateRecord(value);
    if (filled) throw new RecordError('', 'the record has no salt or ts');
    return { bytes: J.utf8(J.jcs(record)), record, entry: lookup(record) };
  }

  /* ---- v2: per-field commitments and disclosures (ledger/core/commitment.py, disclosure.py) -- */

  const BODY_FIELDS = Object.fromEntries(KINDS.map((kind) => [kind, Object.keys(BODIES[kind].spec)]));
  const FIELD_SALTS_LABEL = J.utf8('model-ledger/v2/field-salts\0');
  const DISCLOSURE_FIELDS = ['body', 'field_salts', 'kind', 'ts', 'v', 'withheld'];
  const MAX_DISCLOSURE_BYTES = MAX_RECORD_BYTES + 4096;
  const MAX_SHOWN = 60;

  /* SHAKE-256 (FIPS 202): Keccak-f[1600] on 64-bit BigInt lanes; a few calls per record. */
  const MASK64 = (1n << 64n) - 1n;
  const ROUND_CONSTANTS = (() => {
    let r = 1;
    const bit = () => { // the LFSR of FIPS 202 3.2.5, x^8 + x^6 + x^5 + x^4 + 1
      const out = r & 1;
      r = (r << 1) ^ (r & 0x80 ? 0x171 : 0);
      return out;
    };
    return Array.from({ length: 24 }, () => {
      let rc = 0n;
      for (let j = 0; j < 7; j += 1) if (bit()) rc |= 1n << BigInt((1 << j) - 1);
      return rc;
    });
  })();
  const ROTATIONS = (() => {
    const out = new Array(25).fill(0);
    let [x, y] = [1, 0];
    for (let t = 0; t < 24; t += 1) {
      out[x + 5 * y] = (((t + 1) * (t + 2)) / 2) % 64;
      [x, y] = [y, (2 * x + 3 * y) % 5];
    }
    return out;
  })();
  const rotl = (lane, n) => (n === 0 ? lane : ((lane << BigInt(n)) | (lane >> BigInt(64 - n))) & MASK64);

  function keccakF(a) {
    for (const rc of ROUND_CONSTANTS) {
      const c = [0, 1, 2, 3, 4].map((x) => a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20]);
      for (let x = 0; x < 5; x += 1) {
        const d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
        for (let y = 0; y < 25; y += 5) a[x + y] ^= d;
      }
      const b = new Array(25);
      for (let x = 0; x < 5; x += 1) {
        for (let y = 0; y < 5; y += 1) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], ROTATIONS[x + 5 * y]);
      }
      for (let y = 0; y < 25; y += 5) {
        for (let x = 0; x < 5; x += 1) a[x + y] = b[x + y] ^ (~b[((x + 1) % 5) + y] & MASK64 & b[((x + 2) % 5) + y]);
      }
      a[0] ^= rc;
    }
  }

  /** SHAKE-256 of `data`, `length` bytes of output. */
  function shake256(data, length) {
    const rate = 136;
    const padded = new Uint8Array(Math.floor(data.length / rate + 1) * rate);
    padded.set(data);
    padded[data.length] ^= 0x1f;
    padded[padded.length - 1] ^= 0x80;
    const state = new Array(25).fill(0n);
    const lane = (bytes, at) => {
      let value = 0n;
      for (let k = 7; k >= 0; k -= 1) value = (value << 8n) | BigInt(bytes[at + k]);
      return value;
    };
    for (let block = 0; block < padded.length; block += rate) {
      for (let i = 0; i < rate / 8; i += 1) state[i] ^= lane(padded, block + 8 * i);
      keccakF(state);
    }
    const out = new Uint8Array(length);
    for (let at = 0; ; ) {
      for (let i = 0; i < rate / 8; i += 1) {
        for (let k = 0; k < 8; k += 1) {
          if (at === length) return out;
          out[at] = Number((state[i] >> BigInt(8 * k)) & 0xffn);
          at += 1;
        }
      }
      keccakF(state);
    }
  }

  /** The salts of a kind's fields, 32 bytes each in name order (ledger/core/commitment.py). */
  const fieldSalts = (salt, kind) => {
    const all = shake256(J.concat(salt, FIELD_SALTS_LABEL, J.utf8(kind)), 32 * BODY_FIELDS[kind].length);
    return BODY_FIELDS[kind].map((_, i) => all.slice(32 * i, 32 * i + 32));
  };
  const fieldDigest = (own, name, valueJcs) => J.sha256Now(J.concat(own, J.utf8(`["${name}",${valueJcs}]`)));

  /** SHA-256(0x00 || JCS({"fields": ..., "kind", "ts", "v": 2})) of [name, digest] pairs. */
  function commitmentLeaf(kind, ts, digests) {
    const fields = digests.map(([name, digest]) => `"${name}":"${J.toHex(digest).slice(2)}"`).join(',');
    const text = `{"fields":{${fields}},"kind":"${kind}","ts":"${ts}","v":2}`;
    return J.sha256Now(J.concat(Uint8Array.of(0), J.utf8(text)));
  }

  function hex32(where, value) {
    if (typeof value !== 'string' || !/^[0-9a-f]{64}$/.test(value)) {
      throw new RecordError(where, `not 32 bytes in 64 lowercase hex digits: ${J.cut(J.pyValue(value), 80)}`);
    }
    return J.fromHex(value);
  }

  function fieldNames(record, part, kind) {
    const value = record[part];
    if (!J.isObject(value)) throw new RecordError(part, 'Input should be an object');
    const fields = BODY_FIELDS[kind];
    const out = new Map();
    for (const name of Object.keys(value).sort()) {
      if (!fields.includes(name)) throw new RecordError(`${part}.${name}`, `not a field of ${kind} records (${fields.join(', ')})`);
      out.set(name, hex32(`${part}.${name}`, value[name]));
    }
    return out;
  }

  /** The RFC 8785 text of a disclosed field, validated as the body model's field. */
  function disclosedValue(kind, name, value) {
    const where = `body.${name}`;
    if (value === null) throw new RecordError(where, 'null: a disclosed absent field has a salt and no value');
    const held = BODIES[kind].spec[name].type(where, value);
    const text = J.jcs(held);
    if (text !== J.jcs(value)) throw new RecordError(where, 'valid but not in canonical form (a null or a default written)');
    return text;
  }

  /** A v2 record disclosed in part (ledger/core/disclosure.py open_disclosure). */
  function openDisclosure(record, size) {
    if (size > MAX_DISCLOSURE_BYTES) throw new RecordError('', `disclosed record is ${size} bytes; the limit is ${MAX_DISCLOSURE_BYTES}`);
    for (const name of DISCLOSURE_FIELDS) if (!J.has(record, name)) throw new RecordError(name, 'field required');
    for (const name of Object.keys(record).sort()) if (!DISCLOSURE_FIELDS.includes(name)) throw new RecordError(name, 'unknown field');
    if (record.v !== 2n) throw new RecordError('v', 'Input should be 2: only v2 records can be disclosed in part');
    const kind = record.kind;
    if (!KINDS.includes(kind)) throw new RecordError('kind', `unknown kind ${J.cut(J.pyValue(kind), 80)}; expected one of ${KINDS.join(', ')}`);
    const ts = record.ts;
    if (typeof ts !== 'string' || !TS.test(ts)) throw new RecordError('ts', `not a UTC time written YYYY-MM-DDTHH:MM:SS.mmmZ: ${J.cut(J.pyValue(ts), 80)}`);
    const salts = fieldNames(record, 'field_salts', kind);
    const withheld = fieldNames(record, 'withheld', kind);
    const body = record.body;
    if (!J.isObject(body)) throw new RecordError('body', 'Input should be an object');
    for (const name of Object.keys(body).sort()) {
      if (!salts.has(name)) throw new RecordError(`body.${name}`, 'a value without its salt in field_salts');
    }
    const digests = BODY_FIELDS[kind].map((name) => {
      if (salts.has(name) && withheld.has(name)) throw new RecordError(`withheld.${name}`, 'both disclosed and withheld');
      if (withheld.has(name)) return [name, withheld.get(name)];
      if (salts.has(name)) {
        const text = J.has(body, name) ? disclosedValue(kind, name, body[name]) : 'null';
        return [name, fieldDigest(salts.get(name), name, text)];
      }
      throw new RecordError('withheld', `${name} is neither disclosed nor withheld: a v2 ${kind} record commits to ${BODY_FIELDS[kind].length} fields`);
    });
    return {
      version: 2,
      kind,
      ts,
      body,
      disclosed: BODY_FIELDS[kind].filter((name) => salts.has(name)),
      withheld: BODY_FIELDS[kind].filter((name) => withheld.has(name)),
      whole: false,
      leafHash: J.toHex(commitmentLeaf(kind, ts, digests)),
      size,
      entry: lookup({ kind, ts, body }),
    };
  }

  /**
   * A record as evidence carries it, checked and opened (ledger/verify/bundle.py open_record):
   * whole (v1 or v2) or a v2 disclosure. {version, kind, ts, body, disclosed, withheld, whole,
   * leafHash, size, entry}. Throws RecordError.
   */
  async function openRecord(value) {
    if (J.isObject(value) && (J.has(value, 'field_salts') || J.has(value, 'withheld'))) {
      let text;
      try {
        text = J.jcs(value);
      } catch (error) {
        throw new RecordError('', `cannot be encoded with RFC 8785: ${error.message}`);
      }
      return openDisclosure(value, J.utf8(text).length);
    }
    const { bytes, record, entry } = canonicalRecord(value);
    const fields = BODY_FIELDS[record.kind];
    let leaf;
    if (record.v === 2n) {
      const salts = fieldSalts(J.fromHex(record.salt), record.kind);
      leaf = commitmentLeaf(record.kind, record.ts, fields.map((name, i) => {
        const text = J.has(record.body, name) ? J.jcs(record.body[name]) : 'null';
        return [name, fieldDigest(salts[i], name, text)];
      }));
    } else {
      leaf = J.sha256Now(J.concat(Uint8Array.of(0), bytes));
    }
    return {
      version: Number(record.v),
      kind: record.kind,
      ts: record.ts,
      body: record.body,
      disclosed: fields,
      withheld: [],
      whole: true,
      leafHash: J.toHex(leaf),
      size: bytes.length,
      bytes,
      entry,
    };
  }

  /** ledger/verify/bundle.py record_problem. */
  function recordProblem(where, value, error) {
    const version = J.isObject(value) && value.v === 2n ? 2 : 1;
    return `${where}: not a valid v${version} record: ${error.message}`;
  }

  function shown(value) {
    const text = J.jcs(value);
    return J.codePoints(text) <= MAX_SHOWN ? text : `${J.cut(text, MAX_SHOWN - 3)}...`;
  }

  /** ledger/verify/bundle.py record_sentence. */
  function recordSentence(where, opened) {
    if (opened.version === 1) return `${where}: a valid ${opened.kind} record, ${opened.size} bytes in canonical form (RFC 8785)`;
    const total = opened.disclosed.length + opened.withheld.length;
    if (opened.whole) {
      return `${where}: a valid v2 ${opened.kind} record, ${opened.size} bytes in canonical form (RFC 8785), all ${total} fields disclosed`;
    }
    const listed = opened.disclosed.map((name) => (J.has(opened.body, name) ? `${name}=${shown(opened.body[name])}` : `${name} absent`)).join(', ');
    return `${where}: a v2 ${opened.kind} record of ${opened.ts} disclosed in part: ${opened.disclosed.length} of ${total} fields disclosed (${listed || 'none'}), ${opened.withheld.length} withheld as digests`;
  }

  /** ledger/verify/bundle.py check_leaf: null, or the sentence of a leaf hash mismatch. */
  function leafMismatch(opened, leafHash, where, whose) {
    if (opened.leafHash === leafHash) return null;
    const hashed = opened.version === 1 ? 'the record hashes' : "the record's field commitments hash";
    return `${where}: ${hashed} to ${opened.leafHash}, not to ${whose} leaf hash ${leafHash}`;
  }

  const leafSentence = (where, opened) => `${where}: SHA-256(0x00 || ${opened.version === 1 ? 'record' : 'field commitments'}) = ${opened.leafHash}`;

  return {
    KINDS,
    BODY_FIELDS,
    LOOKUP_FIELDS,
    MAX_RECORD_BYTES,
    MAX_ID_LENGTH,
    TS,
    RecordError,
    validateRecord,
    canonicalRecord,
    storedRecord,
    lookup,
    openRecord,
    shake256,
    recordProblem,
    recordSentence,
    leafMismatch,
    leafSentence,
  };
});
