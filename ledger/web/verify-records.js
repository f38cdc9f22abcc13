/*
 * model-ledger verification page: the v1 record rules of ledger/core/records.py (its pydantic
 * models, strict, unknown fields refused) and the bytes a record's leaf hash commits to.
 *
 * `canonicalRecord` is ledger/verify/bundle.py's `canonical_bytes`: the record's RFC 8785 text
 * must be a valid v1 record in canonical form (what `validate_canonical` re-encodes is
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
    return (where, value) => {
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
        if (v !== 1n && v !== true) throw new RecordError(where, 'Input should be 1');
        return 1n; // Literal[1] takes true (== 1 in Python) and stores 1
      }),
    });
    const record = envelope('', value);
    return { record, filled: !J.has(record, 'salt') || !J.has(record, 'ts') };
  }

  /** The store's lookup columns of a validated record (ledger/core/records.py `_entry`). */
  function lookup(record) {
    const body = record.body;
    const [externalId, accountId, modelId] = {
      interaction: () => [body.request_id, body.account_id, body.model],
      licence: () => [body.licence_id, body.licensee, null],
      model: () => [body.model_id, null, body.model_id],
      digest: () => [body.sha256, null, null],
    }[record.kind]();
    return { kind: record.kind, ts: record.ts, externalId, accountId, model: modelId };
  }

  /**
   * The bytes the log hashed for `record` (ledger/verify/bundle.py canonical_bytes): its RFC 8785
   * text, which must be a valid v1 record in canonical form. {bytes, record, entry}.
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

  return { KINDS, MAX_RECORD_BYTES, MAX_ID_LENGTH, TS, RecordError, validateRecord, canonicalRecord, storedRecord, lookup };
});
