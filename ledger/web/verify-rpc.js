/*
 * model-ledger verification page: the JSON-RPC reads a verifier makes, over fetch (no
 * library, no key), as ledger/rpc.py makes them. Answers are checked before use: a node
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

  /** Milliseconds to wait for one JSON-RPC answer. */
  const RPC_TIMEOUT_MS = 10000;

  const QUANTITY = /^0x(0|[1-9a-fA-F][0-9a-fA-F]{0,63})$/;

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

  /**
   * The reads of ledger/rpc.py's JsonRpcReader against the node at `url`; `fetchImpl`
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
      let response;
      try {
        response = await send(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: ids, method, params }),
          signal: abort.signal,
          credentials: 'omit',
          referrerPolicy: 'no-referrer',
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
      } catch (error) {
        throw new ChainUnreadableError(`${method}: the chain at ${where} is unreachable (${error.name}: ${error.message})`);
      } finally {
        clearTimeout(timer);
      }
      let answer;
      try {
        answer = await response.json();
      } catch (error) {
        throw new ChainUnreadableError(`${method}: the node at ${where} did not answer JSON`);
      }
      if (!J.isObject(answer)) throw new ChainUnreadableError(`${method}: the node at ${where} answered ${JSON.stringify(answer).slice(0, 80)}`);
      return answer;
    }

    async function result(method, params) {
      const answer = await post(method, params);
      if (J.has(answer, 'error')) throw new ChainUnreadableError(`${method} failed at ${where}: ${JSON.stringify(answer.error).slice(0, 200)}`);
      return answer.result === undefined ? null : answer.result;
    }

    function data(value, what) {
      if (typeof value === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(value)) return J.fromHex(value);
      throw new ChainUnreadableError(`${what}: expected 0x hex from the node at ${where}, got ${JSON.stringify(value).slice(0, 80)}`);
    }

    function fixed(value, what, size) {
      const bytes = data(value, what);
      if (bytes.length !== size) throw new ChainUnreadableError(`${what}: expected ${size} bytes from the node at ${where}, got ${bytes.length}`);
      return bytes;
    }

    function quantity(value, what) {
      if (typeof value !== 'string' || !QUANTITY.test(value)) {
        throw new ChainUnreadableError(`${what}: expected a 0x quantity from the node at ${where}, got ${JSON.stringify(value).slice(0, 80)}`);
      }
      return BigInt(value);
    }

    function block(found, what) {
      if (found === null) return null;
      if (!J.isObject(found)) throw new ChainUnreadableError(`${what} answered ${JSON.stringify(found).slice(0, 80)}`);
      return {
        number: quantity(found.number, `${what} number`),
        hash: fixed(found.hash, `${what} hash`, 32),
        timestamp: quantity(found.timestamp, `${what} timestamp`),
      };
    }

    function log(found, what) {
      if (!J.isObject(found) || !Array.isArray(found.topics)) {
        throw new ChainUnreadableError(`${what}: a log entry without topics: ${JSON.stringify(found).slice(0, 120)}`);
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
          throw new ChainUnreadableError(`eth_getTransactionReceipt answered ${JSON.stringify(found).slice(0, 80)}`);
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
       * eth_call of `calldata` (bytes) at `to` (0x hex): {result: bytes}, or, when the
       * call reverted, {revert: bytes, message} (revert data empty when the node gave
       * none). The caller decodes both with the contract's ABI.
       */
      async call(to, calldata, at = 'latest') {
        const answer = await post('eth_call', [{ to, data: J.toHex(calldata) }, tag(at)]);
        const error = answer.error;
        if (error !== undefined && error !== null) {
          let revert = J.isObject(error) ? error.data : undefined;
          if (J.isObject(revert)) revert = revert.data; // some nodes nest it one level deeper
          let bytes = new Uint8Array(0);
          if (typeof revert === 'string') {
            const parsed = J.pythonFromHex(revert.startsWith('0x') ? revert.slice(2) : revert);
            if (parsed !== null) bytes = parsed;
          }
          return { revert: bytes, message: J.isObject(error) ? error.message : error };
        }
        return { result: data(answer.result === undefined ? null : answer.result, 'eth_call result') };
      },
    };
  }

  return { RPC_TIMEOUT_MS, ChainUnreadableError, jsonRpcReader, redactUrl, isHttpUrl };
});
