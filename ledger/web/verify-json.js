/*
 * model-ledger verification page: the one JSON reading rule of every verifier, RFC 8785
 * (JCS) text, and bytes.
 *
 * `loadStrict` is ledger/formats/strict_json.py's `load_strict`, step for step, and
 * parses as Python's `json.loads` does (its C scanner): a document is read only if it is
 * UTF-8 without a byte order mark, at most `limit` bytes, nested at most MAX_DEPTH deep
 * (checked before parsing, counting brackets outside strings, in linear time as
 * strict_json.py's `nesting_exceeds`), with no object key twice,
 * no number with a fraction or an exponent, no NaN or Infinity, and no integer of more
 * than 4300 digits (Python's limit for reading one). The corpus in tests/vectors/ proves
 * the two verifiers read the same documents the same way.
 *
 * Integers become BigInt; objects have no prototype (a key "__proto__" is a key).
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory();
  else root.LedgerJson = factory();
})(typeof globalThis !== 'undefined' ? globalThis : this, function () {
  'use strict';

  /** Deepest nesting of arrays and objects read (an evidence pack needs 6). */
  const MAX_DEPTH = 32;

  /** Most digits of an integer Python's json reads (sys.int_info.default_max_str_digits). */
  const MAX_INT_DIGITS = 4300;

  /** The largest integer RFC 8785 writes: 2^53 - 1. */
  const MAX_SAFE_INTEGER = (1n << 53n) - 1n;

  class StrictJsonError extends Error {}

  class CanonicalizationError extends Error {}

  const has = (obj, name) => Object.prototype.hasOwnProperty.call(obj, name);

  const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);

  /* ---- UTF-8 --------------------------------------------------------------------------- */

  /** Offset of the first lone UTF-16 surrogate in `text`, or -1. */
  function loneSurrogateAt(text) {
    for (let i = 0; i < text.length; i += 1) {
      const unit = text.charCodeAt(i);
      if (unit >= 0xd800 && unit <= 0xdbff) {
        const next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) i += 1;
        else return i;
      } else if (unit >= 0xdc00 && unit <= 0xdfff) {
        return i;
      }
    }
    return -1;
  }

  /** Bytes of `text` in UTF-8, a lone surrogate counted as 3 (Python's "surrogatepass"). */
  function utf8Length(text) {
    let length = text.length;
    for (let i = 0; i < text.length; i += 1) {
      const unit = text.charCodeAt(i);
      if (unit < 0x80) continue;
      if (unit < 0x800) {
        length += 1;
      } else if (unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        length += 2; // a pair: 2 units, 4 bytes
        i += 1;
      } else {
        length += 2; // the rest of the BMP, a lone surrogate too: 3 bytes
      }
    }
    return length;
  }

  /** Offset of the first byte of `bytes` that does not start a well-formed UTF-8
   * sequence (Unicode 15, table 3-7), or -1: where Python's strict decoder stops. */
  function invalidUtf8At(bytes) {
    let i = 0;
    while (i < bytes.length) {
      const b = bytes[i];
      let need;
      let low = 0x80;
      let high = 0xbf;
      if (b < 0x80) need = 0;
      else if (b >= 0xc2 && b <= 0xdf) need = 1;
      else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        if (b === 0xe0) low = 0xa0;
        if (b === 0xed) high = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        if (b === 0xf0) low = 0x90;
        if (b === 0xf4) high = 0x8f;
      } else return i;
      for (let k = 1; k <= need; k += 1) {
        const c = bytes[i + k];
        if (c === undefined || c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i;
      }
      i += need + 1;
    }
    return -1;
  }

  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  /** UTF-8 bytes of a string without lone surrogates. */
  function utf8(text) {
    return encoder.encode(text);
  }

  /* ---- the reading rule ------------------------------------------------------------------ */

  /** A document longer than this (1 MiB) is first checked on its first PREFIX_BYTES
   * alone (strict_json.py PREFIX_BYTES). */
  const PREFIX_BYTES = 1 << 20;

  const QUOTE = 0x22;
  const BACKSLASH = 0x5c;

  /**
   * Whether JSON text `bytes` (UTF-8) nests arrays and objects more than `maxDepth` levels
   * deep, counting brackets outside strings: strict_json.py `_exceeds`, in one pass.
   *
   * Python drops the escaped backslashes (each pair of backslashes, left to right), then
   * the escaped quotes (a backslash and a quote, left to right, in what is left), keeps
   * only quotes and brackets (objects and arrays alike), drops what lies between the 1st
   * and 2nd quote, the 3rd and 4th and so on (the strings), and matches the bracket
   * structure of the first value: too deep when its first bracket opens a value that
   * nests more than `maxDepth` deep before it closes (a container still open at the end
   * counts as closed there; what follows the first value is the parser's to refuse).
   * Here the two replacements are two small state machines feeding the next stage as the
   * bytes go by, so the answer is the same and the work linear, with no backtracking and
   * no copy: an unterminated string full of \" costs what any other byte does.
   */
  function exceeds(bytes, end, maxDepth) {
    let held1 = false; // stage 1 holds a backslash, waiting to see if the next one pairs with it
    let held2 = false; // stage 2 holds a backslash, waiting to see if a quote follows
    let inside = false; // stage 3 is inside a string
    let started = false;
    let depth = 0;
    // Stage 3, on what stage 2 lets through: 1 too deep, 0 not, -1 undecided yet.
    const mark = (b) => {
      if (b === QUOTE) {
        inside = !inside;
        return -1;
      }
      if (inside) return -1;
      if (b === 0x5b || b === 0x7b) {
        started = true;
        depth += 1;
        return depth > maxDepth ? 1 : -1;
      }
      if (b === 0x5d || b === 0x7d) {
        if (!started) return 0; // the first bracket closes: not the start of a value
        depth -= 1;
        return depth === 0 ? 0 : -1; // the first value is closed
      }
      return -1;
    };
    // Stage 2, on what stage 1 lets through: drops each backslash-quote pair.
    const second = (b) => {
      if (held2) {
        held2 = false;
        if (b === QUOTE) return -1;
        const found = mark(BACKSLASH);
        if (found !== -1) return found;
      }
      if (b === BACKSLASH) {
        held2 = true;
        return -1;
      }
      return mark(b);
    };
    for (let i = 0; i < end; i += 1) {
      const b = bytes[i];
      let found;
      if (held1) {
        held1 = false;
        if (b === BACKSLASH) continue; // a pair of backslashes: dropped
        found = second(BACKSLASH);
        if (found !== -1) return found === 1;
      }
      if (b === BACKSLASH) {
        held1 = true;
        continue;
      }
      found = second(b);
      if (found !== -1) return found === 1;
    }
    if (held1 && second(BACKSLASH) === 1) return true;
    if (held2 && mark(BACKSLASH) === 1) return true;
    return false;
  }

  /** strict_json.py `nesting_exceeds`: whether `bytes` nests deeper than `maxDepth`, the
   * first PREFIX_BYTES checked alone first. */
  function nestingExceeds(bytes, maxDepth = MAX_DEPTH) {
    if (bytes.length > PREFIX_BYTES && exceeds(bytes, PREFIX_BYTES, maxDepth)) return true;
    return exceeds(bytes, bytes.length, maxDepth);
  }

  /** Refuse nesting deeper than `limit`, counting brackets outside strings (strict_json.py
   * check_depth); `bytes` is the document's UTF-8. */
  function checkDepth(bytes, limit = MAX_DEPTH) {
    if (nestingExceeds(bytes, limit)) throw new StrictJsonError(`nested deeper than ${limit} levels`);
  }

  /**
   * Parse `data` (a Uint8Array of UTF-8, or a string) by the rule; `what` names the
   * document in messages. Throws StrictJsonError saying what is wrong.
   */
  function loadStrict(data, limit, what = 'document') {
    let text;
    let bytes = data;
    if (typeof data === 'string') {
      const size = utf8Length(data);
      if (size > limit) throw new StrictJsonError(`${what} is ${size} bytes; the limit is ${limit}`);
      if (data.startsWith('\ufeff')) {
        throw new StrictJsonError(`${what} starts with a UTF-8 byte order mark: save it without one`);
      }
      const lone = loneSurrogateAt(data);
      if (lone >= 0) throw new StrictJsonError(`${what} is not UTF-8 (byte ${utf8Length(data.slice(0, lone))})`);
      text = data;
      bytes = encoder.encode(data);
    } else {
      if (data.length > limit) throw new StrictJsonError(`${what} is ${data.length} bytes; the limit is ${limit}`);
      if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
        throw new StrictJsonError(`${what} starts with a UTF-8 byte order mark: save it without one`);
      }
      const bad = invalidUtf8At(data);
      if (bad >= 0) throw new StrictJsonError(`${what} is not UTF-8 (byte ${bad})`);
      text = decoder.decode(data);
    }
    try {
      checkDepth(bytes);
    } catch (error) {
      throw new StrictJsonError(`${what} is ${error.message}`);
    }
    try {
      return parse(text);
    } catch (error) {
      if (error instanceof ReadError) throw new StrictJsonError(`${what} is not valid JSON: ${error.message}`);
      throw error;
    }
  }

  /* ---- the parser: Python's json.loads (C scanner) with strict_json.py's hooks --------- */

  /** The text is not JSON (Python's ValueError while reading it). */
  class ReadError extends Error {}

  class DecodeError extends ReadError {
    /* "Expecting value: line 1 column 5 (char 4)", as json.JSONDecodeError words it
     * (positions in code points, as Python counts them). */
    constructor(message, text, at) {
      const before = text.slice(0, at);
      const line = before.split('\n').length;
      const lineStart = before.lastIndexOf('\n') + 1;
      const points = (s) => Array.from(s).length;
      super(`${message}: line ${line} column ${points(before.slice(lineStart)) + 1} (char ${points(before)})`);
    }
  }

  const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
  const HEX4 = /^[0-9a-fA-F]{4}$/;

  function parse(text) {
    const end = text.length;
    const skip = (i) => {
      let at = i;
      while (at < end) {
        const c = text.charCodeAt(at);
        if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
        at += 1;
      }
      return at;
    };

    /* The string whose opening quote is at `start - 1`: [value, index after it]. */
    function scanString(start) {
      let at = start;
      let out = '';
      for (;;) {
        let run = at;
        while (run < end) {
          const c = text.charCodeAt(run);
          if (c === 0x22 || c === 0x5c || c < 0x20) break;
          run += 1;
        }
        out += text.slice(at, run);
        if (run >= end) throw new DecodeError('Unterminated string starting at', text, start - 1);
        const c = text[run];
        if (c === '"') return [out, run + 1];
        if (c !== '\\') throw new DecodeError('Invalid control character at', text, run);
        const escaped = text[run + 1];
        if (escaped === undefined) throw new DecodeError('Unterminated string starting at', text, start - 1);
        if (escaped !== 'u') {
          if (!has(ESCAPES, escaped)) throw new DecodeError('Invalid \\escape', text, run);
          out += ESCAPES[escaped];
          at = run + 2;
          continue;
        }
        const digits = text.slice(run + 2, run + 6);
        if (!HEX4.test(digits)) throw new DecodeError('Invalid \\uXXXX escape', text, run + 1);
        out += String.fromCharCode(parseInt(digits, 16)); // a surrogate pair joins as in Python
        at = run + 6;
      }
    }

    function scanNumber(at) {
      NUMBER.lastIndex = at;
      const found = NUMBER.exec(text);
      if (found === null) return null;
      const written = found[0];
      if (found[1] !== undefined || found[2] !== undefined) {
        throw new StrictJsonError(`number ${written.slice(0, 40)} is not an integer: no fractions or exponents`);
      }
      const digits = written.length - (written[0] === '-' ? 1 : 0);
      if (digits > MAX_INT_DIGITS) {
        throw new ReadError(
          `Exceeds the limit (${MAX_INT_DIGITS} digits) for integer string conversion: value has ${digits} digits;` +
            ' use sys.set_int_max_str_digits() to increase the limit', // Python's words: the limit is Python's
        );
      }
      return [BigInt(written), at + written.length];
    }

    /* The value at `at`: [value, index after it]; null when none starts there. */
    function scanValue(at) {
      const c = text[at];
      if (c === '"') return scanString(at + 1);
      if (c === '{') return scanObject(at + 1);
      if (c === '[') return scanArray(at + 1);
      if (c === 'n' && text.startsWith('null', at)) return [null, at + 4];
      if (c === 't' && text.startsWith('true', at)) return [true, at + 4];
      if (c === 'f' && text.startsWith('false', at)) return [false, at + 5];
      for (const word of ['NaN', 'Infinity', '-Infinity']) {
        if (text.startsWith(word, at)) throw new StrictJsonError(`${word} is not JSON`);
      }
      return scanNumber(at);
    }

    function expectValue(at) {
      const found = at < end ? scanValue(at) : null;
      if (found === null) throw new DecodeError('Expecting value', text, at);
      return found;
    }

    function scanArray(start) {
      const list = [];
      let at = skip(start);
      if (text[at] === ']') return [list, at + 1];
      for (;;) {
        const [value, next] = expectValue(at);
        list.push(value);
        at = skip(next);
        if (text[at] === ']') return [list, at + 1];
        if (text[at] !== ',') throw new DecodeError("Expecting ',' delimiter", text, at);
        at = skip(at + 1);
      }
    }

    function scanObject(start) {
      const pairs = [];
      let at = skip(start);
      if (text[at] !== '}') {
        for (;;) {
          if (text[at] !== '"') throw new DecodeError('Expecting property name enclosed in double quotes', text, at);
          const [key, afterKey] = scanString(at + 1);
          at = skip(afterKey);
          if (text[at] !== ':') throw new DecodeError("Expecting ':' delimiter", text, at);
          const [value, next] = expectValue(skip(at + 1));
          pairs.push([key, value]);
          at = skip(next);
          if (text[at] === '}') break;
          if (text[at] !== ',') throw new DecodeError("Expecting ',' delimiter", text, at);
          at = skip(at + 1);
        }
      }
      // strict_json.py's object_pairs_hook: called once the object is read.
      const obj = Object.create(null);
      for (const [key, value] of pairs) {
        if (has(obj, key)) throw new StrictJsonError(`key ${cut(pyRepr(key), 80)} appears twice in one object`);
        obj[key] = value;
      }
      return [obj, at + 1];
    }

    const [value, next] = expectValue(skip(0));
    const after = skip(next);
    if (after !== end) throw new DecodeError('Extra data', text, after);
    return value;
  }

  /* What Python's str.isprintable() refuses: control, format, surrogate, private-use,
   * unassigned and separator characters other than the space. */
  const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

  /** A string as Python's repr writes it, for messages that read as `mledger verify`'s. */
  function pyRepr(text) {
    const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
    let out = quote;
    for (const char of text) {
      const point = char.codePointAt(0);
      if (char === '\\' || char === quote) out += `\\${char}`;
      else if (char === '\n') out += '\\n';
      else if (char === '\r') out += '\\r';
      else if (char === '\t') out += '\\t';
      else if (char === ' ' || !NOT_PRINTABLE.test(char)) out += char;
      else if (point < 0x100) out += `\\x${point.toString(16).padStart(2, '0')}`;
      else if (point < 0x10000) out += `\\u${point.toString(16).padStart(4, '0')}`;
      else out += `\\U${point.toString(16).padStart(8, '0')}`;
    }
    return out + quote;
  }

  /** A JSON value as Python's repr writes the decoded value. */
  function pyValue(value) {
    if (value === null) return 'None';
    if (value === true || value === false) return value ? 'True' : 'False';
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string') return pyRepr(value);
    if (Array.isArray(value)) return `[${value.map(pyValue).join(', ')}]`;
    if (isObject(value)) return `{${Object.keys(value).map((key) => `${pyRepr(key)}: ${pyValue(value[key])}`).join(', ')}}`;
    return String(value);
  }

  /* ---- RFC 8785 ------------------------------------------------------------------------ */

  function jcsString(text) {
    if (loneSurrogateAt(text) >= 0) throw new CanonicalizationError('input contains non-UTF-8 codepoints');
    return JSON.stringify(text); // RFC 8785 3.2.2.2 is exactly ECMAScript's string form
  }

  /** The RFC 8785 text of a value read by loadStrict (integers are BigInt). Throws
   * CanonicalizationError as the `rfc8785` package does: an integer beyond 2^53 - 1, a
   * lone surrogate. */
  function jcs(value) {
    if (value === null || value === true || value === false) return String(value);
    if (typeof value === 'bigint') {
      if (value > MAX_SAFE_INTEGER || value < -MAX_SAFE_INTEGER) {
        throw new CanonicalizationError(`${value} exceeds safe integer domain for JSON floats`);
      }
      return value.toString();
    }
    if (typeof value === 'string') return jcsString(value);
    if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
    if (isObject(value)) {
      const keys = Object.keys(value);
      for (const key of keys) {
        if (loneSurrogateAt(key) >= 0) throw new CanonicalizationError('a key holds a lone UTF-16 surrogate');
      }
      keys.sort(); // UTF-16 code unit order, as RFC 8785 3.2.3
      return `{${keys.map((key) => `${jcsString(key)}:${jcs(value[key])}`).join(',')}}`;
    }
    throw new CanonicalizationError(`cannot encode ${typeof value}`);
  }

  /* ---- bytes and hex --------------------------------------------------------------------- */

  const HEX_PAIRS = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

  function toHex(bytes) {
    let out = '0x';
    for (let i = 0; i < bytes.length; i += 1) out += HEX_PAIRS[bytes[i]];
    return out;
  }

  /** The value of a hex digit's character code, or -1. */
  function hexValue(code) {
    if (code >= 48 && code <= 57) return code - 48; // 0-9
    if (code >= 97 && code <= 102) return code - 87; // a-f
    if (code >= 65 && code <= 70) return code - 55; // A-F
    return -1;
  }

  /** Bytes from 0x and hex digits (either case). Throws Error. */
  function fromHex(text) {
    const start = text.startsWith('0x') ? 2 : 0;
    if ((text.length - start) % 2) throw new Error(`not hex: ${text.slice(0, 80)}`);
    const out = new Uint8Array((text.length - start) / 2);
    for (let i = 0, j = start; i < out.length; i += 1, j += 2) {
      const high = hexValue(text.charCodeAt(j));
      const low = hexValue(text.charCodeAt(j + 1));
      if (high < 0 || low < 0) throw new Error(`not hex: ${text.slice(0, 80)}`);
      out[i] = (high << 4) | low;
    }
    return out;
  }

  /** Bytes from hex as Python's bytes.fromhex reads it: either case, ASCII whitespace
   * allowed between (not inside) pairs of digits; null if it cannot. */
  function pythonFromHex(text) {
    const out = [];
    let i = 0;
    for (;;) {
      while (i < text.length && ' \t\n\r\x0b\x0c'.includes(text[i])) i += 1;
      if (i >= text.length) return Uint8Array.from(out);
      const pair = text.slice(i, i + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(pair)) return null;
      out.push(parseInt(pair, 16));
      i += 2;
    }
  }

  /* SHA-256 (FIPS 180-4) without WebCrypto, at once: for what the page must hash inside an
   * event handler, with nothing awaited between what it shows and what it does (the
   * fingerprint of a log identity), and for the many small inputs of proofs (Merkle nodes,
   * record leaves), where awaiting WebCrypto for each cost more than the hashing.
   * Long inputs (documents) still go to WebCrypto (J.sha256), off the page's thread. */
  const SHA256_K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const SHA256_H = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

  const SHA256_W = new Uint32Array(64);
  const SHA256_STATE = new Uint32Array(8);

  /** One SHA-256 compression of the 64 bytes of `buf` at `at` into SHA256_STATE. */
  function sha256Block(buf, at) {
    const w = SHA256_W;
    for (let i = 0, j = at; i < 16; i += 1, j += 4) {
      w[i] = (buf[j] << 24) | (buf[j + 1] << 16) | (buf[j + 2] << 8) | buf[j + 3];
    }
    for (let i = 16; i < 64; i += 1) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1; // stored mod 2^32
    }
    const state = SHA256_STATE;
    let a = state[0];
    let b = state[1];
    let c = state[2];
    let d = state[3];
    let e = state[4];
    let f = state[5];
    let g = state[6];
    let h = state[7];
    for (let i = 0; i < 64; i += 1) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + s1 + ((e & f) ^ (~e & g)) + SHA256_K[i] + w[i]) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
  }

  /** SHA-256 of `bytes` (a Uint8Array), at once (not a promise). The whole blocks are
   * read in place; only the last one or two, with the padding, are copied. */
  function sha256Now(bytes) {
    SHA256_STATE.set(SHA256_H);
    const whole = bytes.length - (bytes.length % 64);
    for (let at = 0; at < whole; at += 64) sha256Block(bytes, at);
    const rest = bytes.length - whole;
    const tail = new Uint8Array(rest + 9 > 64 ? 128 : 64);
    tail.set(bytes.subarray(whole));
    tail[rest] = 0x80;
    const bits = bytes.length * 8;
    const view = new DataView(tail.buffer);
    view.setUint32(tail.length - 8, Math.floor(bits / 0x100000000));
    view.setUint32(tail.length - 4, bits >>> 0);
    for (let at = 0; at < tail.length; at += 64) sha256Block(tail, at);
    const out = new Uint8Array(32);
    for (let i = 0; i < 8; i += 1) {
      const word = SHA256_STATE[i];
      out[4 * i] = word >>> 24;
      out[4 * i + 1] = (word >>> 16) & 0xff;
      out[4 * i + 2] = (word >>> 8) & 0xff;
      out[4 * i + 3] = word & 0xff;
    }
    return out;
  }

  function equalBytes(a, b) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
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

  function subtle() {
    const api = globalThis.crypto && globalThis.crypto.subtle;
    if (!api) {
      throw new Error('WebCrypto is not available: open this page over https, at http://127.0.0.1 or http://localhost, or from a file');
    }
    return api;
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle().digest('SHA-256', bytes));
  }

  /** The first `width` code points of `text` (Python's `{text:.80}`). */
  function cut(text, width) {
    return Array.from(text).slice(0, width).join('');
  }

  /** Code points in a string (Python's len). */
  function codePoints(text) {
    let count = 0;
    for (const _ of text) count += 1; // eslint-disable-line no-unused-vars
    return count;
  }

  /** Python's sorted() of strings: by code point (a plain sort() compares UTF-16 code
   * units, which put U+10000 and above before U+E000 to U+FFFF). */
  function byCodePoint(a, b) {
    const x = Array.from(a, (c) => c.codePointAt(0));
    const y = Array.from(b, (c) => c.codePointAt(0));
    for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  }

  return {
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    StrictJsonError,
    CanonicalizationError,
    loadStrict,
    checkDepth,
    nestingExceeds,
    jcs,
    loneSurrogateAt,
    utf8,
    utf8Length,
    invalidUtf8At,
    toHex,
    fromHex,
    pythonFromHex,
    equalBytes,
    concat,
    sha256,
    sha256Now,
    codePoints,
    byCodePoint,
    cut,
    isObject,
    has,
    pyRepr,
    pyValue,
  };
});
