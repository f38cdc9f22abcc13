/*
 * model-ledger verification page: the JSON-RPC reads a verifier makes, over fetch (no
 * library, no key), as ledger/verify/rpc.py makes them, reading every answer by the same
 * strict rules (J.loadStrict, MAX_ANSWER_BYTES, HEX, QUANTITY). Answers are checked before use: a node
 * that answers something malformed is treated like one that cannot be reached.
 *
 * Two failures, kept apart because they mean different things to a verifier:
 * - ChainUnreadableError: the node could not be reached or answered nonsense. Nothing
 *   was decided; try again or another node.
 * - a call that reverted comes back as {revert, message} from `call`, for the caller
 *   to decode with the contract's ABI (verify-core.js).
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) module.exports = factory(require('./verify-json.js'));
  else root.LedgerRpc = factory(root.LedgerJson);
})(typeof globalThis !== 'undefined' ? globalThis : this, function (J) {
  'use strict';

  /** Milliseconds to wait for one JSON-RPC answer, its body included (rpc.py RPC_TIMEOUT). */
  const RPC_TIMEOUT_MS = 10000;

  /** Largest JSON-RPC answer read (rpc.py MAX_ANSWER_BYTES); answers are read as
   * strict_json.py reads them (J.loadStrict: no key twice, no floats, at most
   * J.MAX_DEPTH deep). */
  const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

  /** A JSON-RPC quantity (rpc.py _QUANTITY). */
  const QUANTITY = /^0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})$/;

  /** JSON-RPC data: 0x and pairs of hex digits, nothing else (rpc.py _HEX). */
  const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

  class ChainUnreadableError extends Error {}

  /** The URL without credentials, path or query (they often hold an API key). */
  function redactUrl(url) {
    try {
      const parts = new URL(url);
      const tail = parts.pathname.replace(/\//g, '') || parts.search ? '/...' : '';
      return `${parts.protocol}//${parts.hostname || '?'}${parts.port ? `:${parts.port}` : ''}${tail}`;
    } catch (error) {
      return '(not a URL)';
    }
  }

  /** Whether `url` is an absolute http(s) URL (anything else is never fetched). */
  function isHttpUrl(url) {
    try {
      return ['http:', 'https:'].includes(new URL(url).protocol);
    } catch (error) {
      return false;
    }
  }

  const tag = (block) => (typeof block === 'string' ? block : `0x${block.toString(16)}`);

  /** A value read from an answer as Python's `{value!r:.N}` shows it (absent: None). */
  const shown = (value, width) => J.cut(J.pyValue(value === undefined ? null : value), width);

  /**
   * The body of `response`, at most `limit` bytes kept: a longer one is read to its end
   * and counted (rpc.py reads it whole, then refuses it by its length) and refused in the
   * same words as load_strict's.
   */
  async function readBody(response, limit) {
    if (!response.body || typeof response.body.getReader !== 'function') {
      return new Uint8Array(await response.arrayBuffer());
    }
    const reader = response.body.getReader();
    const chunks = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size <= limit) chunks.push(value);
    }
    if (size > limit) throw new J.StrictJsonError(`the answer is ${size} bytes; the limit is ${limit}`);
    return J.concat(...chunks);
  }

  /**
   * The reads of ledger/verify/rpc.py's JsonRpcReader against the node at `url`; `fetchImpl`
   * replaces the global fetch (tests). Each read throws ChainUnreadableError when the
   * node cannot be read.
   */
  function jsonRpcReader(url, fetchImpl) {
    const where = redactUrl(url);
    const send = fetchImpl || globalThis.fetch.bind(globalThis);
    let ids = 0;

    async function post(method, params) {
      ids += 1;
      if (!isHttpUrl(url)) throw new ChainUnreadableError(`${method}: the chain at ${where} is unreachable (not an http(s) URL)`);
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), RPC_TIMEOUT_MS);
      try {
        let body;
        try {
          const response = await send(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: ids, method, params }),
            signal: abort.signal,
            credentials: 'omit',
            referrerPolicy: 'no-referrer',
          });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          body = await readBody(response, MAX_ANSWER_BYTES);
        } catch (error) {
          if (error instanceof J.StrictJsonError) {
            throw new ChainUnreadableError(`${method}: the node at ${where} did not answer readable JSON: ${error.message}`);
          }
          throw new ChainUnreadableError(`${method}: the chain at ${where} is unreachable (${error.name}: ${error.message})`);
        }
        let answer;
        try {
          answer = J.loadStrict(body, MAX_ANSWER_BYTES, 'the answer');
        } catch (error) {
          if (!(error instanceof J.StrictJsonError)) throw error;
          throw new ChainUnreadableError(`${method}: the node at ${where} did not answer readable JSON: ${error.message}`);
        }
        if (!J.isObject(answer)) throw new ChainUnreadableError(`${method}: the node at ${where} answered ${shown(answer, 80)}`);
        return answer;
      } finally {
        clearTimeout(timer);
      }
    }

    async function result(method, params) {
      const answer = await post(method, params);
      if (J.has(answer, 'error')) throw new ChainUnreadableError(`${method} failed at ${where}: ${shown(answer.error, 200)}`);
      return answer.result === undefined ? null : answer.result;
    }

    function data(value, what) {
      if (typeof value === 'string' && HEX.test(value)) return J.fromHex(value);
      throw new ChainUnreadableError(`${what}: expected 0x hex from the node at ${where}, got ${shown(value, 80)}`);
    }

    function fixed(value, what, size) {
      const bytes = data(value, what);
      if (bytes.length !== size) throw new ChainUnreadableError(`${what}: expected ${size} bytes from the node at ${where}, got ${bytes.length}`);
      return bytes;
    }

    function quantity(value, what) {
      if (typeof value !== 'string' || !QUANTITY.test(value)) {
        throw new ChainUnreadableError(`${what}: expected a 0x quantity from the node at ${where}, got ${shown(value, 80)}`);
      }
      return BigInt(value);
    }

    function block(found, what) {
      if (found === null) return null;
      if (!J.isObject(found)) throw new ChainUnreadableError(`${what} answered ${shown(found, 80)}`);
      return {
        number: quantity(found.number, `${what} number`),
        hash: fixed(found.hash, `${what} hash`, 32),
        timestamp: quantity(found.timestamp, `${what} timestamp`),
      };
    }

    function log(found, what) {
      if (!J.isObject(found) || !Array.isArray(found.topics)) {
        throw new ChainUnreadableError(`${what}: a log entry without topics: ${shown(found, 120)}`);
      }
      return {
        address: fixed(found.address, `${what} address`, 20),
        topics: found.topics.map((topic) => fixed(topic, `${what} topic`, 32)),
        data: data(found.data, `${what} data`),
        blockNumber: quantity(found.blockNumber, `${what} block number`),
        blockHash: fixed(found.blockHash, `${what} block hash`, 32),
        txHash: fixed(found.transactionHash, `${what} transaction hash`, 32),
        logIndex: quantity(found.logIndex, `${what} log index`),
      };
    }

    return {
      where,
      /** The node's chain id (BigInt). */
      async chainId() {
        return quantity(await result('eth_chainId', []), 'eth_chainId');
      },
      /** Block `number` (BigInt, or "latest"): {number, hash, timestamp}, or null. */
      async block(number) {
        return block(await result('eth_getBlockByNumber', [tag(number), false]), 'eth_getBlockByNumber');
      },
      /** The code at `address` (0x hex) at `at` (default latest); empty: none. */
      async code(address, at = 'latest') {
        return data(await result('eth_getCode', [address, tag(at)]), 'eth_getCode');
      },
      /** The receipt of a mined transaction, with its logs; null if not mined. */
      async receipt(txHash) {
        const found = await result('eth_getTransactionReceipt', [txHash]);
        if (found === null) return null;
        if (!J.isObject(found) || !Array.isArray(found.logs)) {
          throw new ChainUnreadableError(`eth_getTransactionReceipt answered ${shown(found, 80)}`);
        }
        const to = found.to === undefined ? null : found.to;
        return {
          txHash: fixed(found.transactionHash, 'receipt transaction hash', 32),
          blockNumber: quantity(found.blockNumber, 'receipt block number'),
          blockHash: fixed(found.blockHash, 'receipt block hash', 32),
          to: to === null ? null : fixed(to, 'receipt recipient', 20),
          succeeded: found.status === '0x1',
          logs: found.logs.map((entry) => log(entry, 'receipt')),
        };
      },
      /**
       * Logs of `address` (0x hex) whose leading topics are `topics` (0x hex) in blocks
       * from..to (BigInt; one range, as ledger/verify/rpc.py logs reads a short one);
       * removed (reorganised) logs are left out.
       */
      async logs(address, topics, from, to) {
        const query = { address, fromBlock: tag(from), toBlock: tag(to), topics };
        const found = await result('eth_getLogs', [query]);
        if (!Array.isArray(found)) throw new ChainUnreadableError(`eth_getLogs answered ${shown(found, 80)}`);
        return found.filter((entry) => !(J.isObject(entry) && entry.removed)).map((entry) => log(entry, 'eth_getLogs'));
      },
      /**
       * eth_call of `calldata` (bytes) at `to` (0x hex): {result: bytes}, or, when the
       * call reverted, {revert: bytes, message} (revert data empty when the node gave
       * none). The caller decodes both with the contract's ABI; `what` names the call in
       * messages (rpc.py: "logInfo result").
       */
      async call(to, calldata, at = 'latest', what = 'eth_call result') {
        const answer = await post('eth_call', [{ to, data: J.toHex(calldata) }, tag(at)]);
        const error = answer.error;
        if (error !== undefined && error !== null) {
          let revert = J.isObject(error) ? error.data : undefined;
          if (J.isObject(revert)) revert = revert.data; // some nodes nest it one level deeper
          const bytes = typeof revert === 'string' && HEX.test(revert) ? J.fromHex(revert) : new Uint8Array(0);
          return { revert: bytes, message: J.isObject(error) ? error.message : error };
        }
        return { result: data(answer.result === undefined ? null : answer.result, what) };
      },
    };
  }

  return { RPC_TIMEOUT_MS, MAX_ANSWER_BYTES, ChainUnreadableError, jsonRpcReader, redactUrl, isHttpUrl };
});
