/*
 * model-ledger verification page: C2SP signed notes, checkpoints, cosignatures and
 * tlog-proofs, read and verified as the Python side does it (ledger/formats/note.py,
 * tlog_checkpoint.py, cosignature.py, tlog_proof.py; ledger/verify/tlog_proof.py), with
 * the same check names, in the same order, and the same sentences (docs/c2sp.md).
 *
 * - signed notes (c2sp.org/signed-note): text, an empty line, signature lines
 *   `— <key name> base64(4-byte key ID || signature)`; a key is known by (name, key ID),
 *   key ID = SHA-256(name || 0x0A || type || public key)[:4]; unknown keys' lines are
 *   ignored, a known key's line that fails rejects the note, a note no known key signed
 *   is rejected. Ed25519 (type 0x01) through WebCrypto.
 * - checkpoints (c2sp.org/tlog-checkpoint): origin, size, root, extension lines.
 * - cosignatures (c2sp.org/tlog-cosignature, type 0x04): key ID || u64 timestamp ||
 *   Ed25519("cosignature/v1\ntime <t>\n" || checkpoint text); a policy of M of N
 *   trusted witnesses.
 * - tlog-proofs (c2sp.org/tlog-proof@v1): index, inclusion proof, the cosigned checkpoint.
 *
 * A tlog-proof of a record goes through the checks of `mledger verify PROOF.tlog-proof
 * --record R --log L --witness VKEY... --quorum M`, in order; the first that fails ends the
 * run: identity (the pinned log's note key, or one the user typed), witnesses (the trusted
 * witness keys and the quorum), record (its leaf hash), checkpoint (the log's signature,
 * the origin, the witness policy), inclusion. The chain is not consulted.
 *
 * `verifyCosignedNote` is the part an evidence bundle's checkpoint note needs. No DOM.
 * Loaded after verify-core.js; under Node, require() this file.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(
      require('./verify-json.js'),
      require('./verify-records.js'),
      require('./verify-merkle.js'),
      require('./verify-documents.js'),
      require('./verify-core.js'),
    );
  } else {
    root.LedgerNote = factory(root.LedgerJson, root.LedgerRecords, root.LedgerMerkle, root.LedgerDocuments, root.LedgerVerify);
  }
})(typeof globalThis !== 'undefined' ? globalThis : this, function (J, R, M, D, V) {
  'use strict';

  const TLOG_PROOF_FORMAT = V.TLOG_PROOF_FORMAT;
  const COSIGNATURE_HEADER = 'cosignature/v1';
  const ALG_ED25519 = 0x01;
  const ALG_COSIGNATURE_V1 = 0x04;
  const MAX_SIGNATURES = 100;
  const MAX_NOTE_BYTES = 1 << 20;
  const MAX_NAME_BYTES = 1024;
  const MAX_PROOF_HASHES = 64;
  const MAX_PROOF_BYTES = MAX_NOTE_BYTES + 8 * 1024;
  const MAX_RECORD_BYTES = 1 << 20;
  const MAX_INDEX = (1n << 63n) - 1n;
  const MAX_TREE_SIZE = (1n << 63n) - 1n;
  const MAX_TIMESTAMP = (1n << 63n) - 1n;
  const HASH_SIZE = 32;
  /** Seconds a cosignature may be dated ahead of this machine's clock (ledger/cli/tlog_proof.py). */
  const CLOCK_SKEW = 600n;
  const SIGNATURE_PREFIX = '\u2014 ';
  const DECIMAL = /^(0|[1-9][0-9]{0,18})$/;
  const KEY_ID_HEX = /^[0-9a-f]{8}$/;
  const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
  /* note.py _NOT_IN_TEXT: control characters but newline, and lone surrogates (the `u` flag
   * reads code points: the two halves of an astral character such as an emoji are one). */
  const NOT_IN_TEXT = /[\x00-\x09\x0b-\x1f]|\p{Cs}/u;
  /* Python's str.isspace characters (a key name holds none). */
  const SPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

  /** `{value!r:.width}` of Python. */
  const repr = (value, width) => D.shown(value, width);
  const hex8 = (n) => (n >>> 0).toString(16).padStart(8, '0');
  const encoder = new TextEncoder();

  /** A note, a signature, a key or a tlog-proof that cannot be read or does not verify
   * (NoteError of ledger/formats/note.py and its subclasses). */
  class NoteError extends Error {}

  /* ---- base64 and names (note.py) --------------------------------------------------------- */

  function b64(bytes) {
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary);
  }

  /** note.py b64decode_strict: standard padded base64 in its one canonical spelling. */
  function b64decodeStrict(text, what) {
    const notBase64 = () => new NoteError(`${what} is not base64: ${repr(text, 80)}`);
    if (!BASE64.test(text)) throw notBase64();
    const pads = text.length - text.replace(/=+$/, '').length;
    const data = text.length - pads;
    const needed = { 0: data === 0 ? [0] : [0, 1, 2], 2: [2], 3: [1] }[data % 4];
    if (needed === undefined || !needed.includes(pads)) throw notBase64();
    const bytes = Uint8Array.from(atob(text.slice(0, data) + '='.repeat((4 - (data % 4)) % 4)), (c) => c.charCodeAt(0));
    if (b64(bytes) !== text) throw new NoteError(`${what} is not canonical base64: ${repr(text, 80)}`);
    return bytes;
  }

  const cleanText = (text) => !NOT_IN_TEXT.test(text);

  /** note.py valid_name: non-empty, at most 1024 bytes, no Unicode space, no plus. */
  function validName(name) {
    const size = J.utf8Length(name);
    return size > 0 && size <= MAX_NAME_BYTES && !SPACE.test(name) && !name.includes('+') && cleanText(name);
  }

  /** SHA-256(name || 0x0A || alg || public key)[:4], big-endian, as a number. */
  function keyId(name, alg, publicKey) {
    const digest = J.sha256Now(J.concat(J.utf8(name), Uint8Array.of(0x0a, alg), publicKey));
    return ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
  }

  /** note.py parse_vkey: a vkey of type 0x01 or 0x04 whose key ID is its own. */
  function parseVkey(text) {
    const first = text.indexOf('+');
    const name = first < 0 ? text : text.slice(0, first);
    const rest = first < 0 ? '' : text.slice(first + 1);
    const second = rest.indexOf('+');
    const hexId = second < 0 ? rest : rest.slice(0, second);
    const key64 = second < 0 ? '' : rest.slice(second + 1);
    if (first < 0 || second < 0 || !validName(name)) {
      throw new NoteError(`not a verifier key <name>+<key ID>+<key>: ${repr(text, 120)}`);
    }
    if (!KEY_ID_HEX.test(hexId)) {
      throw new NoteError(`verifier key: the key ID must be 8 lowercase hex digits, got ${repr(hexId, 20)}`);
    }
    const material = b64decodeStrict(key64, 'verifier key');
    if (material.length !== 33 || ![ALG_ED25519, ALG_COSIGNATURE_V1].includes(material[0])) {
      const start = material.length ? J.toHex(material.slice(0, 1)).slice(2) : 'with nothing';
      throw new NoteError(
        `verifier key: expected signature type 0x01 or 0x04 and a 32-byte Ed25519 key, got ${material.length} bytes starting ${start}`,
      );
    }
    const alg = material[0];
    const publicKey = material.slice(1);
    if (keyId(name, alg, publicKey) !== parseInt(hexId, 16)) {
      throw new NoteError(`verifier key: key ID ${hexId} is not the one of ${repr(name, 80)}'s key`);
    }
    const weak = D.weakKeyProblem(publicKey);
    if (weak !== null) throw new NoteError(`verifier key ${repr(name, 80)}: ${weak}`);
    return { name, keyId: parseInt(hexId, 16), alg, publicKey, text };
  }

  /* ---- Ed25519 (WebCrypto) ------------------------------------------------------------------ */

  /** Whether `signature` (64 bytes) signs `message` under the Ed25519 key `publicKey`. */
  async function ed25519Verify(publicKey, signature, message) {
    if (signature.length !== 64) return false;
    const api = globalThis.crypto && globalThis.crypto.subtle;
    if (!api) throw new Error('WebCrypto is not available: open this page over https, at http://127.0.0.1 or http://localhost, or from a file');
    let key;
    try {
      key = await api.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    } catch (error) {
      if (error && error.name === 'NotSupportedError') throw new Error(`this browser has no Ed25519 in WebCrypto (${error.message}): use a current one`);
      return false; // not a point of the curve: nothing verifies under it
    }
    return api.verify({ name: 'Ed25519' }, key, signature, message);
  }

  /** A verifier of Ed25519 note signatures (type 0x01) by the key a vkey names. */
  function noteVerifier(vkey) {
    const key = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
    if (key.alg !== ALG_ED25519) {
      throw new NoteError(`verifier key ${repr(key.name, 80)}: signature type 0x${key.alg.toString(16).padStart(2, '0')}, expected 0x01 (Ed25519 note signatures)`);
    }
    return { key, verify: (message, signature) => ed25519Verify(key.publicKey, signature, message) };
  }

  const u64Of = (bytes) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);

  /** What a cosigner signs (cosignature.py signed_message). */
  const cosignedMessage = (checkpointText, timestamp) => J.concat(encoder.encode(`${COSIGNATURE_HEADER}\ntime ${timestamp}\n`), checkpointText);

  /** A verifier of cosignature/v1 signatures by the witness a vkey (type 0x04) names. */
  function cosignerVerifier(vkey) {
    const key = typeof vkey === 'string' ? parseVkey(vkey) : vkey;
    if (key.alg !== ALG_COSIGNATURE_V1) {
      throw new NoteError(`witness key ${repr(key.name, 80)}: signature type 0x${key.alg.toString(16).padStart(2, '0')}, expected 0x04 (cosignature/v1)`);
    }
    return {
      key,
      async verify(text, signature) {
        if (signature.length !== 8 + 64) return false;
        const timestamp = u64Of(signature.slice(0, 8));
        if (timestamp > MAX_TIMESTAMP) return false;
        return ed25519Verify(key.publicKey, signature.slice(8), cosignedMessage(text, timestamp));
      },
    };
  }

  /** cosignature.py witness_policy: the trusted witnesses and the quorum, checked. */
  function witnessPolicy(vkeys, quorum) {
    const witnesses = vkeys.map(cosignerVerifier);
    if (!(quorum >= 0 && quorum <= witnesses.length)) {
      throw new NoteError(`quorum must be from 0 to the ${witnesses.length} witness(es) given, got ${quorum}`);
    }
    const keys = witnesses.map((w) => `${w.key.name}\n${w.key.keyId}`);
    if (new Set(keys).size !== keys.length) throw new NoteError('a witness is listed twice');
    const publics = witnesses.map((w) => J.toHex(w.key.publicKey));
    if (new Set(publics).size !== publics.length) throw new NoteError('two witnesses share a public key');
    return { witnesses, quorum };
  }

  /* ---- notes ------------------------------------------------------------------------------------ */

  /** Python's error.reason and error.start of a strict UTF-8 decode of `bytes`, or null. */
  function utf8Problem(bytes) {
    const at = J.invalidUtf8At(bytes);
    if (at < 0) return null;
    const b = bytes[at];
    if (b < 0xc2 || b > 0xf4) return ['invalid start byte', at];
    const need = b <= 0xdf ? 1 : b <= 0xef ? 2 : 3;
    let low = 0x80;
    let high = 0xbf;
    if (b === 0xe0) low = 0xa0;
    if (b === 0xed) high = 0x9f;
    if (b === 0xf0) low = 0x90;
    if (b === 0xf4) high = 0x8f;
    for (let k = 1; k <= need; k += 1) {
      const c = bytes[at + k];
      if (c === undefined) return ['unexpected end of data', at];
      if (c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return ['invalid continuation byte', at];
    }
    return ['invalid continuation byte', at];
  }

  function parseSignatureLine(line) {
    if (!line.startsWith(SIGNATURE_PREFIX)) {
      throw new NoteError(`a signature line starts with an em dash and a space: ${repr(line, 80)}`);
    }
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    if (space < 0 || !validName(name)) {
      throw new NoteError(`a signature line needs a valid key name and a signature: ${repr(line, 80)}`);
    }
    const raw = b64decodeStrict(rest.slice(space + 1), `the signature of ${repr(name, 80)}`);
    if (raw.length < 5) throw new NoteError(`the signature of ${repr(name, 80)} is ${raw.length} bytes, less than 5`);
    const id = ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) >>> 0;
    return { name, keyId: id, signature: raw.slice(4), line };
  }

  /** note.py parse_note: a signed note's text and signature lines, for form only. */
  function parseNote(data) {
    const lone = typeof data === 'string' ? J.loneSurrogateAt(data) : -1;
    if (lone >= 0) {
      // Python encodes the text with "surrogatepass" and fails to decode it back
      const size = J.utf8Length(data);
      if (size > MAX_NOTE_BYTES) throw new NoteError(`a note is at most ${MAX_NOTE_BYTES} bytes, got ${size}`);
      throw new NoteError(`a note must be UTF-8: invalid continuation byte at byte ${J.utf8Length(data.slice(0, lone))}`);
    }
    const raw = typeof data === 'string' ? J.utf8(data) : data;
    if (raw.length > MAX_NOTE_BYTES) throw new NoteError(`a note is at most ${MAX_NOTE_BYTES} bytes, got ${raw.length}`);
    const problem = utf8Problem(raw);
    if (problem !== null) throw new NoteError(`a note must be UTF-8: ${problem[0]} at byte ${problem[1]}`);
    const message = new TextDecoder('utf-8', { ignoreBOM: true }).decode(raw);
    if (!cleanText(message)) throw new NoteError('a note must not hold control characters other than newline');
    const split = message.lastIndexOf('\n\n');
    if (split < 0) throw new NoteError('a note needs an empty line before its signatures');
    const text = message.slice(0, split + 1);
    const block = message.slice(split + 2);
    if (!block || !block.endsWith('\n')) throw new NoteError('a note must end with signature lines, each ending in a newline');
    const lines = block.slice(0, -1).split('\n');
    if (lines.length > MAX_SIGNATURES) throw new NoteError(`a note has at most ${MAX_SIGNATURES} signatures, got ${lines.length}`);
    return { text, signatures: lines.map(parseSignatureLine) };
  }

  const sameSignature = (a, b) => a.name === b.name && a.keyId === b.keyId && J.equalBytes(a.signature, b.signature);

  /** note.py open_note: the signed-note rules; the signatures that verified. */
  async function openNote(note, verifiers) {
    const known = new Map(verifiers.map((v) => [`${v.key.name}\n${v.key.keyId}`, v]));
    const message = J.utf8(note.text);
    const verified = [];
    const seen = [];
    for (const signature of note.signatures) {
      if (seen.some((s) => sameSignature(s, signature))) continue; // the same line twice: checked once
      seen.push(signature);
      const verifier = known.get(`${signature.name}\n${signature.keyId}`);
      if (verifier === undefined) continue;
      if (!(await verifier.verify(message, signature.signature))) {
        throw new NoteError(`the signature of ${repr(signature.name, 80)} (key ID ${hex8(signature.keyId)}) does not verify`);
      }
      verified.push(signature);
    }
    if (!verified.length) {
      const names = [...new Set(note.signatures.map((s) => `${s.name}+${hex8(s.keyId)}`))].sort(J.byCodePoint);
      throw new NoteError(`no signature from a known key: signed by ${J.cut(names.join(', '), 400)}`);
    }
    return verified;
  }

  /* ---- checkpoints (tlog_checkpoint.py) ---------------------------------------------------------- */

  /** parse_checkpoint: origin, size, root, extension lines, strictly. */
  function parseCheckpoint(text) {
    if (!text.endsWith('\n')) throw new NoteError("a checkpoint's text must end with a newline");
    const lines = text.slice(0, -1).split('\n');
    if (lines.length < 3) throw new NoteError(`a checkpoint has an origin, a size and a root line, got ${lines.length} line(s)`);
    const [origin, sizeText, rootText, ...extensions] = lines;
    if (!origin) throw new NoteError('the origin line is empty');
    if (!DECIMAL.test(sizeText) || BigInt(sizeText) > MAX_TREE_SIZE) {
      throw new NoteError(`the size line must be a decimal from 0 to ${MAX_TREE_SIZE} without leading zeroes, got ${repr(sizeText, 40)}`);
    }
    const rootHash = b64decodeStrict(rootText, 'the root hash');
    if (rootHash.length !== HASH_SIZE) throw new NoteError(`the root hash must be ${HASH_SIZE} bytes, got ${rootHash.length}`);
    if (extensions.some((line) => !line)) throw new NoteError('extension lines must not be empty');
    return { origin, size: BigInt(sizeText), root: J.toHex(rootHash), extensions, text };
  }

  /** cosignature.py WitnessPolicy.counted: the trusted witnesses that cosigned, once each,
   * in the order of their lines, and those left out for a line dated after `maxTimestamp`;
   * NoteError when a trusted witness's line does not verify. */
  async function countCosigned(policy, note, maxTimestamp) {
    const byKey = new Map(policy.witnesses.map((w) => [`${w.key.name}\n${w.key.keyId}`, w]));
    const message = J.utf8(note.text);
    const found = new Map();
    const late = new Map();
    for (const signature of note.signatures) {
      const witness = byKey.get(`${signature.name}\n${signature.keyId}`);
      if (witness === undefined) continue;
      if (!(await witness.verify(message, signature.signature))) {
        throw new NoteError(`the cosignature of witness ${repr(signature.name, 80)} does not verify`);
      }
      const timestamp = u64Of(signature.signature.slice(0, 8));
      const id = `${signature.name}\n${signature.keyId}`;
      const into = maxTimestamp !== null && timestamp > maxTimestamp ? late : found;
      if (!into.has(id)) into.set(id, { name: signature.name, keyId: signature.keyId, timestamp });
    }
    return { cosigned: [...found.values()], late: [...late.entries()].filter(([id]) => !found.has(id)).map(([, c]) => c) };
  }

  /** cosignature.py left_out: the words naming the cosignatures left out for their date. */
  function leftOut(late, maxTimestamp) {
    if (!late.length) return '';
    return ` (left out, dated after ${maxTimestamp}: ${late.map((c) => `${repr(c.name, 80)} at ${c.timestamp}`).join(', ')})`;
  }

  /** cosignature.py WitnessPolicy.check: the trusted witnesses that cosigned; NoteError
   * unless at least `quorum` did. */
  async function checkPolicy(policy, note, maxTimestamp) {
    const { cosigned, late } = await countCosigned(policy, note, maxTimestamp);
    if (cosigned.length < policy.quorum) {
      throw new NoteError(
        `${cosigned.length} of the ${policy.witnesses.length} trusted witnesses cosigned the checkpoint, the policy needs ${policy.quorum}${leftOut(late, maxTimestamp)}`,
      );
    }
    return cosigned;
  }

  /** cosignature.py shares_log_key: NoteError if a witness has a log key's public key. */
  function sharesLogKey(policy, logVerifiers) {
    const logKeys = new Set(logVerifiers.map((v) => J.toHex(v.key.publicKey)));
    if (policy.witnesses.some((w) => logKeys.has(J.toHex(w.key.publicKey)))) {
      throw new NoteError('a witness shares its public key with the log: it witnesses nothing');
    }
  }

  /** cosignature.py open_cosigned_checkpoint: the checkpoint of `origin`, signed by a log
   * key of `logVerifiers` and cosigned by a quorum of the policy's witnesses. */
  async function openCosignedCheckpoint(note, origin, logVerifiers, policy, maxTimestamp) {
    sharesLogKey(policy, logVerifiers);
    const checkpoint = parseCheckpoint(note.text);
    if (checkpoint.origin !== origin) {
      throw new NoteError(`the checkpoint's origin is ${repr(checkpoint.origin, 120)}, expected ${repr(origin, 120)}`);
    }
    const signedBy = await openNote(note, logVerifiers);
    const cosigned = await checkPolicy(policy, note, maxTimestamp);
    return { checkpoint, signedBy, cosigned };
  }

  /**
   * Verify a cosigned checkpoint note (text or UTF-8 bytes): signed by the log key
   * `logVerifierKey` (a type 0x01 vkey, whose name is the log's origin) and cosigned by at
   * least `quorum` (default: all) of `witnessVerifierKeys` (type 0x04 vkeys), no
   * cosignature dated after `maxTimestamp` (unix seconds; null: any). Returns
   * {checkpoint: {origin, size, root, extensions, text}, witnesses: [{name, keyId,
   * timestamp}] (those that cosigned), trusted, quorum}; NoteError says what fails, in the
   * words of ledger/formats/cosignature.py.
   */
  async function verifyCosignedNote(noteText, logVerifierKey, witnessVerifierKeys = [], quorum = null, { maxTimestamp = null } = {}) {
    const log = noteVerifier(logVerifierKey);
    const policy = witnessPolicy(witnessVerifierKeys, quorum === null ? witnessVerifierKeys.length : quorum);
    const note = typeof noteText === 'object' && noteText !== null && 'signatures' in noteText ? noteText : parseNote(noteText);
    const opened = await openCosignedCheckpoint(note, log.key.name, [log], policy, maxTimestamp === null ? null : BigInt(maxTimestamp));
    return { checkpoint: opened.checkpoint, witnesses: opened.cosigned, trusted: policy.witnesses.length, quorum: policy.quorum };
  }

  /* ---- tlog-proofs (tlog_proof.py) ---------------------------------------------------------------- */

  const toBytes = (data) => (typeof data === 'string' ? J.utf8(data) : data);

  /** parse_tlog_proof: {index, hashes, note, extra}; NoteError names what is wrong. */
  function parseTlogProof(data) {
    const raw = toBytes(data);
    if (raw.length > MAX_PROOF_BYTES) throw new NoteError(`a tlog-proof is at most ${MAX_PROOF_BYTES} bytes`);
    let split = -1;
    for (let i = 0; i + 1 < raw.length; i += 1) {
      if (raw[i] === 0x0a && raw[i + 1] === 0x0a) {
        split = i;
        break;
      }
    }
    if (split < 0) throw new NoteError('a tlog-proof needs an empty line before its checkpoint');
    const head = raw.slice(0, split);
    if (head.some((b) => b > 0x7f)) throw new NoteError("a tlog-proof's lines before the checkpoint are ASCII");
    const lines = new TextDecoder().decode(head).split('\n');
    if (lines[0] !== TLOG_PROOF_FORMAT) throw new NoteError(`a tlog-proof starts with the line ${J.pyRepr(TLOG_PROOF_FORMAT)}`);
    let position = 1;
    let extra = null;
    if (position < lines.length && lines[position].startsWith('extra ')) {
      extra = b64decodeStrict(lines[position].slice('extra '.length), 'the extra data');
      position += 1;
    }
    if (position >= lines.length || !lines[position].startsWith('index ')) throw new NoteError("a tlog-proof needs an 'index <decimal>' line");
    const indexText = lines[position].slice('index '.length);
    if (!DECIMAL.test(indexText) || BigInt(indexText) > MAX_INDEX) {
      throw new NoteError(`the index must be a decimal from 0 to ${MAX_INDEX} without leading zeroes, got ${repr(indexText, 40)}`);
    }
    const hashLines = lines.slice(position + 1);
    if (hashLines.length > MAX_PROOF_HASHES) throw new NoteError(`at most ${MAX_PROOF_HASHES} proof hashes, got ${hashLines.length}`);
    const hashes = hashLines.map((line, number) => {
      const node = b64decodeStrict(line, `proof hash ${number}`);
      if (node.length !== HASH_SIZE) throw new NoteError(`proof hash ${number} is ${node.length} bytes, not ${HASH_SIZE}`);
      return node;
    });
    return { index: BigInt(indexText), hashes, note: parseNote(raw.slice(split + 2)), extra };
  }

  /** ledger/core/merkle verify_inclusion: ProofError, its words. */
  async function verifyInclusion(index, size, leafHash, proof, rootHex) {
    const calculated = J.toHex(await M.rootFromInclusionProof(index, size, leafHash, proof));
    if (calculated !== rootHex) throw new M.ProofError(`root mismatch: expected ${rootHex}, calculated ${calculated}`);
  }

  /* ---- the checkpoint note of a bundle or pack (ledger/verify/checkpoint_note.py) ------------------- */

  const CHECKPOINT_NOTE = 'checkpoint_note';
  const NOTE_CHECK = 'checkpoint note';
  const WITNESS_CHECK = 'witnesses';

  /** bundle.py parse_checkpoint_note: the optional `checkpoint_note` of a bundle or pack
   * (a signed note whose text is a checkpoint), or null; D.DocumentError(`check`) else.
   * Its signatures are for `checkCheckpointNote`. */
  function readCheckpointNote(obj, check) {
    if (!J.has(obj, CHECKPOINT_NOTE)) return null;
    const value = obj[CHECKPOINT_NOTE];
    if (typeof value !== 'string' || J.utf8Length(value) > MAX_NOTE_BYTES) {
      throw new D.DocumentError(check, `${CHECKPOINT_NOTE} must be a signed note of at most ${MAX_NOTE_BYTES} bytes`);
    }
    try {
      parseCheckpoint(parseNote(value).text);
    } catch (error) {
      if (!(error instanceof NoteError)) throw error;
      throw new D.DocumentError(check, `${CHECKPOINT_NOTE}: ${error.message}`);
    }
    return value;
  }

  /** The witnesses a checkpoint note is checked against (ledger/cli/evidence.py
   * _witness_policy): those typed (`quorum` of them, null: all), else the pinned identity's
   * with the typed quorum, else null (the identity's own policy); NoteError when they
   * cannot be read. */
  function typedWitnessPolicy(witnesses, quorum, identity) {
    if (quorum !== null && !(typeof quorum === 'bigint' || Number.isInteger(quorum))) {
      throw new NoteError(`the quorum must be a whole number from 0 up, got ${repr(String(quorum), 40)}`);
    }
    if (witnesses.length) return witnessPolicy(witnesses, quorum === null ? witnesses.length : Number(quorum));
    if (quorum !== null) {
      if (identity === null || !identity.witnesses || !identity.witnesses.length) {
        throw new NoteError('a quorum needs the witnesses you trust, or a pinned identity that lists witnesses');
      }
      return witnessPolicy(identity.witnesses, Number(quorum));
    }
    return null;
  }

  /**
   * checkpoint_note.py check_checkpoint_note: checks "checkpoint note" (the note is the
   * document's checkpoint, signed by the pinned identity's note key) and "witnesses" (a
   * quorum of the trusted witnesses cosigned it; `policy` null: the identity's), on the
   * verify-core `run`, in the same words. `noteText` null: the document carries none.
   */
  async function checkCheckpointNote(run, document, noteText, identity, policy, maxTimestamp = null) {
    const fail = (check, message) => run.fail(new V.VerificationError(check, message));
    const given = policy !== null;
    const trusted = given
      ? policy
      : identity === null || !identity.witnesses ? witnessPolicy([], 0) : witnessPolicy(identity.witnesses, Number(identity.witnessQuorum));
    if (noteText === null) {
      if (given && trusted.quorum > 0) {
        fail(WITNESS_CHECK, `the ${document.noun} carries no checkpoint_note: no witness cosignature to count (the quorum is ${trusted.quorum})`);
      }
      if (trusted.quorum > 0) {
        fail(WITNESS_CHECK, `the log's identity requires ${trusted.quorum} witnesses' cosignatures and this ${document.noun} carries no cosigned checkpoint note`);
      }
      if (given && trusted.witnesses.length) {
        run.ok(WITNESS_CHECK, `the ${document.noun} carries no checkpoint_note: no cosignature counted, as the verifier's quorum 0 asks`);
      }
      return;
    }
    const note = parseNote(noteText); // readCheckpointNote checked it parses
    const checkpoint = parseCheckpoint(note.text);
    if (checkpoint.size !== document.treeSize || checkpoint.root !== document.root) {
      fail(
        NOTE_CHECK,
        `the note is of tree size ${checkpoint.size} with root ${checkpoint.root}, not the ${document.noun}'s checkpoint` +
          ` (size ${document.treeSize}, root ${document.root})`,
      );
    }
    const vkey = identity === null ? null : identity.noteVkey;
    let signed;
    if (vkey === null || vkey === undefined) {
      signed = 'its log signature NOT checked (no pinned identity with a note_vkey)';
    } else {
      const origin = vkey.slice(0, vkey.includes('+') ? vkey.indexOf('+') : vkey.length);
      try {
        if (checkpoint.origin !== origin) {
          throw new NoteError(`the checkpoint's origin is ${repr(checkpoint.origin, 120)}, expected ${repr(origin, 120)}`);
        }
        await openNote(note, [noteVerifier(vkey)]);
      } catch (error) {
        if (!(error instanceof NoteError)) throw error;
        fail(NOTE_CHECK, error.message);
      }
      signed = "signed by the pinned log's note key";
    }
    run.ok(NOTE_CHECK, `${checkpoint.origin}, tree size ${checkpoint.size}: the ${document.noun}'s checkpoint, ${signed}`);
    let cosigned;
    let late;
    try {
      if (vkey !== null && vkey !== undefined) sharesLogKey(trusted, [noteVerifier(vkey)]);
      ({ cosigned, late } = await countCosigned(trusted, note, maxTimestamp === null ? null : BigInt(maxTimestamp)));
    } catch (error) {
      if (!(error instanceof NoteError)) throw error;
      fail(WITNESS_CHECK, error.message);
    }
    run.result.cosigned = { witnesses: cosigned, trusted: trusted.witnesses.length, quorum: trusted.quorum };
    if (!trusted.witnesses.length) {
      run.ok(
        WITNESS_CHECK,
        `${note.signatures.length - 1} cosignature line(s), none checked: no trusted witness (no --witness, none in the pinned identity)`,
      );
      return;
    }
    const names = cosigned.map((c) => c.name).join(', ') || 'none';
    const counted = `${cosigned.length} of the ${trusted.witnesses.length} trusted witnesses cosigned the checkpoint (${names}); quorum ${trusted.quorum}`;
    const lateWords = leftOut(late, maxTimestamp === null ? null : BigInt(maxTimestamp));
    if (cosigned.length < trusted.quorum) fail(WITNESS_CHECK, `${counted} not met${lateWords}`);
    run.ok(WITNESS_CHECK, `${counted} met${lateWords}`);
  }

  /* ---- a record's tlog-proof (ledger/verify/tlog_proof.py) ------------------------------------------ */

  /** Each check in plain words: [when it passed, when it failed] (the page shows them). */
  const EXPLAIN = Object.freeze({
    identity: [
      "The log's note key: the public key the log signs its checkpoints with, taken from the log identity you pinned (or typed by you). Its name is the log's origin.",
      "There is no note key to check the log's signature with (the pinned log identity names none), or the one given cannot be read.",
    ],
    witnesses: [
      'The witnesses you trust and how many of them must have cosigned (the quorum): each key can be read and counts once.',
      'A witness key cannot be read (or is listed twice), or the quorum asks for more witnesses than were given.',
    ],
    record: [
      'The record is a valid model-ledger record in its one canonical form (RFC 8785): its fingerprint (leaf hash) is computed from it.',
      'The record is not a valid model-ledger record in its canonical form, so the bytes the log hashed cannot be rebuilt from it.',
    ],
    checkpoint: [
      "The checkpoint (the log's statement of its size and root hash) names this log, carries a valid signature by its note key, and was cosigned by at least the quorum of the witnesses you trust.",
      "The checkpoint is unreadable, names another log, lacks a valid signature by the log's note key, carries a cosignature of a trusted witness that does not verify, or too few trusted witnesses cosigned it.",
    ],
    inclusion: [
      "Inclusion: the proof connects the record's fingerprint, at its position, to the checkpoint's root hash. The record is part of that history of the log.",
      'The proof does not connect the record to the checkpoint\'s root hash: the record, its position, a proof node or the root differs from what was logged.',
    ],
  });

  /** A run of verify-core (its checks and result), with what a tlog-proof shows; `fail`
   * takes the check's name and sentence, and `usage` when the check could not start for
   * want of something the user must give (NOT VERIFIED, as `mledger verify` exits 2). */
  function newRun(identity) {
    const run = V.newRun('tlog-proof', identity);
    Object.assign(run.result, { lines: [], usage: false, record: null, proof: null, facts: null, meaning: null, explain: EXPLAIN });
    return {
      result: run.result,
      ok: run.ok,
      fail(check, message, usage = false) {
        run.result.usage = usage;
        run.fail(new V.VerificationError(check, message));
      },
      unexpected: (error) => V.recordUnexpected(run, error),
    };
  }

  /** The statement `mledger verify` prints for a valid proof (TlogProofResult.statement). */
  function validStatement(proof) {
    const cosigned = proof.trusted
      ? `cosigned by ${proof.witnesses.length} of the ${proof.trusted} trusted witnesses (${proof.witnesses.map((w) => w.name).join(', ')}; quorum ${proof.quorum})`
      : 'witnessed by no one the verifier named (no --witness)';
    return (
      `the record (leaf ${proof.leafHash}) is entry ${proof.index} of ${proof.origin}'s tree of ${proof.checkpoint.size}` +
      ` (root ${proof.checkpoint.root}), signed by the log's note key, ${cosigned}`
    );
  }

  /** The second line `mledger verify` prints after VALID. */
  const NOT_CONSULTED = 'the chain was NOT consulted: a tlog-proof is trusted through the log\'s note key and its witnesses; an evidence bundle proves the anchor';

  /** What `mledger verify` refuses before it verifies anything (exit 2): no log to trust,
   * no record. */
  function checkGiven(run, identity, typed, record) {
    if (identity === null && !typed) {
      run.fail(
        'identity',
        "no log identity pinned: pin the identity document the log's operator published (`mledger identity`, GET /v1/log)," +
          " or give the log's note key (its note_vkey). Without it any look-alike log could pass",
        true,
      );
    }
    if (record === null || record === undefined || (typeof record === 'string' && !record.trim()) || record.length === 0) {
      run.fail('record', 'a tlog-proof proves one record: give it in "The record" (the JSON of the entry)', true);
    }
  }

  /** The log's note key: the pinned identity's note_vkey, or one the user typed. */
  function checkIdentity(run, identity, typed) {
    if (typed) {
      let key;
      try {
        key = noteVerifier(typed);
      } catch (error) {
        if (!(error instanceof NoteError)) throw error;
        run.fail('identity', `the log's note key you gave: ${error.message}`);
      }
      if (identity !== null && identity.noteVkey && identity.noteVkey !== typed) {
        run.fail('identity', `the note key you gave (${typed}) is not the pinned log identity's note_vkey (${identity.noteVkey})`);
      }
      run.ok('identity', `the log's note key ${typed}, ${identity !== null && identity.noteVkey === typed ? "the pinned log identity's" : 'as you gave it'} (origin ${repr(key.key.name, 300)})`);
      return key;
    }
    if (!identity.noteVkey) run.fail('identity', 'the pinned log identity has no note_vkey: it signs no checkpoint notes');
    const key = noteVerifier(identity.noteVkey);
    run.ok('identity', `the pinned log identity's note key ${identity.noteVkey} (origin ${repr(key.key.name, 300)})`);
    return key;
  }

  async function checkRecord(run, record) {
    let obj;
    try {
      obj = J.loadStrict(record, MAX_RECORD_BYTES, 'record');
    } catch (error) {
      if (!(error instanceof J.StrictJsonError)) throw error;
      run.fail('record', error.message);
    }
    if (!J.isObject(obj)) run.fail('record', `a record is a JSON object, got ${D.typeName(obj)}`);
    let canonical;
    try {
      canonical = R.canonicalRecord(obj);
    } catch (error) {
      if (!(error instanceof R.RecordError)) throw error;
      run.fail('record', error.message);
    }
    run.result.record = obj;
    const leaf = await M.hashLeaf(canonical.bytes);
    run.ok('record', `a valid ${obj.kind} record, ${canonical.bytes.length} bytes in canonical form (RFC 8785); SHA-256(0x00 || record) = ${J.toHex(leaf)}`);
    return leaf;
  }

  /** Unix seconds now, as a BigInt. */
  const nowSeconds = () => BigInt(Math.floor(Date.now() / 1000));

  /**
   * Verify a tlog-proof (bytes or text) for `record` (bytes or text of its JSON) as
   * `mledger verify PROOF --record R --log L --witness VKEY... --quorum M` does: the log's
   * note key from `identity` (a parsed log identity) or `logVkey` (typed), the trusted
   * `witnesses` (vkeys) and `quorum` (null: all of them), cosignatures dated at most
   * CLOCK_SKEW seconds after `now` (unix seconds). Never throws.
   */
  async function verifyTlogProof(data, { identity = null, record = null, logVkey = '', witnesses = [], quorum = null, now = null } = {}) {
    const run = newRun(identity);
    const result = run.result;
    try {
      const typed = logVkey.trim();
      checkGiven(run, identity, typed, record);
      const log = checkIdentity(run, identity, typed);
      let policy;
      try {
        if (quorum !== null && !(typeof quorum === 'bigint' || Number.isInteger(quorum))) {
          throw new NoteError(`the quorum must be a whole number from 0 up, got ${repr(String(quorum), 40)}`);
        }
        const own = identity === null || !identity.witnesses ? [] : identity.witnesses;
        if (witnesses.length) policy = witnessPolicy(witnesses, quorum === null ? witnesses.length : Number(quorum));
        else policy = witnessPolicy(own, quorum === null ? Number(identity === null ? 0 : identity.witnessQuorum || 0) : Number(quorum));
      } catch (error) {
        if (!(error instanceof NoteError)) throw error;
        run.fail('witnesses', error.message);
      }
      run.ok('witnesses', policy.witnesses.length
        ? `${policy.quorum} of ${policy.witnesses.length} trusted witnesses must have cosigned: ${policy.witnesses.map((w) => w.key.text).join(', ')}`
        : 'no witness given: the checkpoint is trusted on the log\'s signature alone');
      const leaf = await checkRecord(run, record);
      const maxTimestamp = (now === null ? nowSeconds() : BigInt(now)) + CLOCK_SKEW;
      let proof;
      let opened;
      try {
        proof = parseTlogProof(data);
        opened = await openCosignedCheckpoint(proof.note, log.key.name, [log], policy, maxTimestamp);
      } catch (error) {
        if (!(error instanceof NoteError)) throw error;
        run.fail('checkpoint', error.message);
      }
      const checkpoint = opened.checkpoint;
      const cosigned = opened.cosigned.length
        ? `, cosigned by ${opened.cosigned.map((c) => `${c.name} at ${V.utcText(c.timestamp)}`).join(', ')}`
        : '';
      run.ok('checkpoint', `${checkpoint.origin}, tree size ${checkpoint.size}, root ${checkpoint.root}: signed by the log's note key${cosigned}`);
      result.proof = {
        origin: log.key.name,
        index: proof.index,
        leafHash: J.toHex(leaf),
        checkpoint,
        witnesses: opened.cosigned,
        quorum: policy.quorum,
        trusted: policy.witnesses.length,
        hashes: proof.hashes.length,
      };
      try {
        await verifyInclusion(proof.index, checkpoint.size, leaf, proof.hashes, checkpoint.root);
      } catch (error) {
        if (!(error instanceof M.ProofError)) throw error;
        run.fail('inclusion', error.message);
      }
      run.ok('inclusion', `leaf ${proof.index} of the tree of size ${checkpoint.size} (${proof.hashes.length} proof nodes) has root ${checkpoint.root}`);
    } catch (error) {
      if (!(error instanceof V.VerificationError)) run.unexpected(error);
    }
    return finish(result);
  }

  function finish(result) {
    const error = result.error;
    if (error === null) {
      result.verdict = 'valid';
      result.lines = [`VALID: ${validStatement(result.proof)}`, NOT_CONSULTED];
    } else if (result.usage || error.check === 'verifier') {
      result.verdict = 'not verified';
      result.lines = [`NOT VERIFIED: ${error.message}`];
    } else {
      result.verdict = 'invalid';
      result.lines = [`INVALID: ${error.check} check failed: ${error.message}`];
    }
    result.state = { valid: 'verified', invalid: 'failed' }[result.verdict] || 'unverified';
    result.statement = result.lines.join('\n');
    result.facts = facts(result);
    result.meaning = meaning(result);
    return result;
  }

  function facts(result) {
    const proof = result.proof;
    if (proof === null) return [['format', TLOG_PROOF_FORMAT]];
    const checkpoint = proof.checkpoint;
    return [
      ['format', TLOG_PROOF_FORMAT],
      ['log (origin)', checkpoint.origin],
      ['log size', checkpoint.size.toString()],
      ['root hash', checkpoint.root],
      ['entry (leaf index)', proof.index.toString()],
      ['leaf hash', proof.leafHash],
      ['cosigned by', proof.witnesses.length
        ? proof.witnesses.map((w) => `${w.name} at ${V.utcText(w.timestamp)} (the witness's clock)`).join('; ')
        : 'no witness you trust'],
      ['quorum', proof.trusted ? `${proof.quorum} of ${proof.trusted}` : 'none: no witness given'],
      ['anchored on the chain', 'not checked: a tlog-proof carries no anchor (an evidence bundle does)'],
    ];
  }

  /** What a cosigned checkpoint proves and what it does not, in plain words. */
  function meaning(result) {
    const proven = [];
    const notProven = [];
    if (result.verdict === 'invalid') {
      proven.push(`Nothing in this proof can be relied on: the "${result.error.check}" check failed (see the checks below). A record` +
        ' changed after logging, a checkpoint of another log, a forged or altered signature, too few of your witnesses, or a proof' +
        ' that leads elsewhere fails this way.');
      return { proven, notProven };
    }
    if (result.verdict === 'not verified') {
      proven.push('Nothing was decided: something the check needs is missing (see the checks below). The proof is neither proven nor refuted.');
      return { proven, notProven };
    }
    const proof = result.proof;
    proven.push(`Inclusion: the record is entry ${proof.index} of the log ${proof.origin} in its history of ${proof.checkpoint.size}` +
      ` entries whose root hash is ${proof.checkpoint.root}. Not one character of it differs from what was logged.`);
    proven.push("The log's signature: the log's note key signed that checkpoint (its size and root hash). The log cannot later show a" +
      ' history without this record at this size and root without contradicting its own signature.');
    if (proof.trusted) {
      const names = proof.witnesses.map((w) => w.name).join(', ');
      proven.push(`Witnesses: ${proof.witnesses.length} of the ${proof.trusted} witnesses you trust (${names}) cosigned the same checkpoint` +
        ` (the quorum was ${proof.quorum}). A witness cosigns a checkpoint only after checking that it extends every earlier checkpoint` +
        ' of this log it has cosigned, so the log cannot show you this history and others a different one (a split view) unless' +
        ' those witnesses are in it too.');
    } else {
      proven.push('No witness was named: the checkpoint rests on the log\'s signature alone, so nothing shows that others were shown the' +
        ' same history (give the witnesses you trust, and a quorum, for that).');
    }
    notProven.push('That the checkpoint was anchored on the public chain, or when: a tlog-proof carries no anchor, and the chain was not' +
      ' consulted. An evidence bundle of the same record proves the anchor and a time set by the chain.');
    notProven.push("When the record was logged: a cosignature's time is the witness's own clock, its word and not the chain's; it says" +
      ' the witness saw the checkpoint by then.');
    notProven.push('That the witnesses are honest and independent of the operator: the proof is as good as the witnesses you chose and' +
      ' the quorum you asked for.');
    notProven.push('That what the record says is true, or that no other record exists: the log proves the operator recorded this one and' +
      ' cannot change or remove it afterwards.');
    return { proven, notProven };
  }

  return {
    TLOG_PROOF_FORMAT,
    CLOCK_SKEW,
    EXPLAIN,
    NoteError,
    b64decodeStrict,
    parseVkey,
    keyId,
    noteVerifier,
    cosignerVerifier,
    witnessPolicy,
    sharesLogKey,
    parseNote,
    openNote,
    parseCheckpoint,
    openCosignedCheckpoint,
    verifyCosignedNote,
    readCheckpointNote,
    typedWitnessPolicy,
    checkCheckpointNote,
    parseTlogProof,
    verifyTlogProof,
    NOT_CONSULTED,
  };
});
