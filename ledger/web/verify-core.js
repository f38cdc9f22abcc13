/*
 * model-ledger verification page: the checks of `mledger verify` (ledger/verify/evidence.py,
 * bundle.py, pack.py, chain.py) and `mledger licence check` (ledger/verify/licence.py), with the
 * same check names, in the same order, and the same verdicts on the same input. They
 * trust only mathematics, the chain and the log identity the user pinned.
 *
 * Evidence (a bundle or a pack), in order; the first check that fails ends the run:
 *   bundle | pack, log identity (with a pinned identity), then per bundle entry record,
 *   leaf hash, inclusion (a pack: records, query, inclusion by its multi-entry proof);
 *   then, with a pinned identity and a node: chain id, contract, log, root on chain,
 *   anchor transaction, anchor block. "chain" fails when the node cannot be read.
 * Without a pinned identity or a node only the mathematics is checked, and the verdict
 * says so ("mathematics only", never "valid").
 *
 * A licence: licence (the file holds a grant or amend record), commitment, log identity
 * (the file names the pinned registry and chain), then with a node: chain id, contract
 * (the shipped LicenceRegistry's code at the pinned address), issuer (a granted licence
 * was signed by the pinned log key, not by any other key), status (at the latest block).
 *
 * Verdicts: evidence "valid" | "mathematics only" | "invalid" | "not verified"; licences
 * "active" | "not active" | "mathematics only" | "invalid" | "not verified". A licence the
 * registry holds, with the record's window, that is revoked, expired or not yet valid is "not
 * active" with every check passed (state "inactive": a proven state, not a failure); "not
 * active" with the "status" check failed is one never granted or held with another window.
 *
 * An export (NDJSON, ledger/formats/export_line.py is_export) is "not checked": its answer
 * sends the reader to `mledger audit`, in the words `mledger verify` uses.
 *
 * A completeness proof (`model-ledger/completeness/v1`) goes to its own verifier,
 * verify-completeness.js (FORMAT_VERIFIERS, below); checkIdentity and checkChain are
 * shared with it. A c2sp.org/tlog-proof@v1 file (text) goes to verify-note.js.
 *
 * No DOM: verify-page.js shows the result. Under Node, require() this file.
 */
(function (root, factory) {
  if (typeof module === 'object' && module.exports) {
    module.exports = factory(
      require('./verify-json.js'),
      require('./verify-records.js'),
      require('./verify-merkle.js'),
      require('./verify-rpc.js'),
      require('./verify-documents.js'),
    );
  } else {
    root.LedgerVerify = factory(root.LedgerJson, root.LedgerRecords, root.LedgerMerkle, root.LedgerRpc, root.LedgerDocuments);
  }
})(typeof globalThis !== 'undefined' ? globalThis : this, function (J, R, M, RPC, D) {
  'use strict';

  /* ---- what the page knows of the shipped contracts --------------------------------------
   * The SHA-256 of each contract's runtime code (what eth_getCode returns where it is
   * deployed), and every selector, topic and ABI type the page uses, as ledger/formats/abi.py
   * derives them from ledger/formats/contracts/*.json. tests/web/test_contract_constants.py
   * fails when they differ, so a contract change cannot leave the page stale. */
  const SHIPPED = Object.freeze({
    "LogAnchor": {
      "runtimeSha256": "0xf7927d34e47df99ae32e670573afb14b125aa7c196d005a6da8b44a77495a676",
      "functions": {
        "logInfo": {
          "selector": "0xdbbcee35",
          "inputs": [
            "bytes32"
          ],
          "outputs": [
            "address",
            "address",
            "uint64",
            "bool",
            "uint64"
          ]
        },
        "rootAt": {
          "selector": "0x930b6ace",
          "inputs": [
            "bytes32",
            "uint64"
          ],
          "outputs": [
            "bytes32"
          ]
        }
      },
      "events": {
        "Anchored": {
          "topic": "0x8ec4dae3663422275bfa2e987fd071400a1d95a14c0ef92760a7fa3644c99c60",
          "inputs": [
            [
              "logId",
              "bytes32",
              true
            ],
            [
              "size",
              "uint64",
              true
            ],
            [
              "root",
              "bytes32",
              false
            ],
            [
              "indexRoot",
              "bytes32",
              false
            ],
            [
              "prevSize",
              "uint64",
              false
            ]
          ]
        }
      },
      "errors": {
        "LogAnchorUnknownLog": "0xf9b30bd5",
        "LogAnchorUnknownSize": "0x92e31209"
      }
    },
    "LicenceRegistry": {
      "runtimeSha256": "0x23cb8b906502a5414da4eb2e1205f7e2ac6e9a6b42d71b17dd6e37a6f8a9bebe",
      "functions": {
        "status": {
          "selector": "0x52ad0d5e",
          "inputs": [
            "bytes32"
          ],
          "outputs": [
            "uint8",
            "uint64",
            "uint64",
            "uint64",
            "uint64",
            "address"
          ]
        }
      },
      "events": {
        "Revoked": {
          "topic": "0xf8add3cbe3c3fe8670a2d568b58422364f8095eddd6fa903337baf1ce13748a0",
          "inputs": [
            [
              "commitment",
              "bytes32",
              true
            ],
            [
              "issuer",
              "address",
              true
            ],
            [
              "revocation",
              "bytes32",
              false
            ]
          ]
        }
      },
      "errors": {}
    }
  });

  /** LicenceRegistry's `Status` enum, by value. */
  const LICENCE_STATES = ['unknown', 'not_yet_valid', 'active', 'expired', 'revoked'];

  /** The last second Python's datetime can print (9999-12-31T23:59:59Z). */
  const MAX_PRINTABLE_TIME = 253402300799n;
  /** Seconds a witness's clock may be ahead of this machine's: later cosignatures are
   * refused (ledger/cli/evidence.py MAX_COSIGNATURE_AHEAD). */
  const COSIGNATURE_AHEAD = 600n;

  /* ---- errors and runs ------------------------------------------------------------------ */

  class VerificationError extends Error {
    constructor(check, message, field = null) {
      super(`${check}: ${message}`);
      this.check = check;
      this.detail = message;
      this.field = field;
    }
  }

  class ContractCallError extends Error {
    constructor(message, errorName = null) {
      super(message);
      this.errorName = errorName;
    }
  }

  /** Checks a run records; `fail` records the failed check and throws. */
  function newRun(kind, identity) {
    const result = {
      kind,
      verdict: null,
      state: null,
      statement: null,
      checks: [],
      error: null,
      chainConsulted: false,
      identity,
      node: null,
      document: null,
      anchored: null,
      licence: null,
    };
    return {
      result,
      ok(check, detail) {
        result.checks.push({ check, passed: true, detail });
      },
      fail(error) {
        result.checks.push({ check: error.check, passed: false, detail: error.detail });
        result.error = { check: error.check, message: error.detail, field: error.field };
        throw error;
      },
    };
  }

  /** An error that ended a run without a check recording it: the page itself failed. */
  function recordUnexpected(run, error) {
    if (run.result.error) return;
    const message = `${error && error.name ? error.name : 'Error'}: ${error && error.message ? error.message : error}`;
    run.result.checks.push({ check: 'verifier', passed: false, detail: message });
    run.result.error = { check: 'verifier', message, field: null };
  }

  /** A Unix time as RFC 3339 UTC (ledger/verify/result.py utc_text). */
  function utcText(seconds) {
    const value = BigInt(seconds);
    if (value < 0n || value > MAX_PRINTABLE_TIME) return `${value} (unix seconds, past year 9999)`;
    return `${new Date(Number(value) * 1000).toISOString().slice(0, 19)}Z`;
  }

  const plural = (count, one, many) => `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;

  /* ---- ABI (static types only, as ledger/formats/abi.py) ----------------------------------- */

  function encodeWord(kind, value) {
    const word = new Uint8Array(32);
    if (kind === 'bytes32') return J.fromHex(value);
    if (kind === 'address') {
      word.set(J.fromHex(value), 12);
      return word;
    }
    let n = BigInt(value);
    for (let i = 31; i >= 0; i -= 1) {
      word[i] = Number(n & 0xffn);
      n >>= 8n;
    }
    return word;
  }

  function decodeWord(kind, word) {
    if (kind === 'bytes32') return J.toHex(word);
    const number = BigInt(J.toHex(word));
    if (kind === 'address') {
      if (number >> 160n) throw new Error(`an address word has non-zero high bytes: ${J.toHex(word)}`);
      return J.toHex(word.slice(12));
    }
    if (kind === 'bool') {
      if (number > 1n) throw new Error(`a bool word is ${number}`);
      return number === 1n;
    }
    const bits = BigInt(kind.slice(4));
    if (number >> bits) throw new Error(`a ${kind} word holds ${number}, out of range`);
    return number;
  }

  /**
   * `fn(...args)` of the shipped contract `name` at `address`, decoded (ledger/verify/rpc.py
   * JsonRpcReader.call). A revert, or words that do not decode, is a ContractCallError
   * (`errorName` the custom error the page knows, if it is one); a node that gives no
   * revert data is unreadable.
   */
  async function callContract(chain, name, address, fn, args, at = 'latest') {
    const spec = SHIPPED[name].functions[fn];
    const calldata = J.concat(J.fromHex(spec.selector), ...spec.inputs.map((kind, i) => encodeWord(kind, args[i])));
    const answer = await chain.call(address, calldata, at, `${fn} result`);
    if (answer.revert !== undefined) {
      const selector = J.toHex(answer.revert.slice(0, 4));
      const known = Object.entries(SHIPPED[name].errors).find(([, value]) => value === selector && answer.revert.length >= 4);
      if (!known && !answer.revert.length) {
        throw new RPC.ChainUnreadableError(`eth_call ${fn} failed at ${chain.where}: ${J.cut(J.pyValue(answer.message === undefined ? null : answer.message), 200)}`);
      }
      throw new ContractCallError(`${name}.${fn} reverted with ${known ? known[0] : J.toHex(answer.revert)}`, known ? known[0] : null);
    }
    const data = answer.result;
    try {
      if (data.length !== 32 * spec.outputs.length) {
        throw new Error(`${fn} returned ${data.length} bytes, not ${spec.outputs.length} words`);
      }
      return spec.outputs.map((kind, i) => decodeWord(kind, data.slice(32 * i, 32 * i + 32)));
    } catch (error) {
      throw new ContractCallError(`${name}.${fn} answered ${error.message}: is this a ${name}?`);
    }
  }

  /* ---- evidence: the mathematics ----------------------------------------------------------- */

  /** 2. The document names the pinned log (nothing to check without one). */
  function checkIdentity(run, document, identity) {
    if (identity === null) return;
    const problem = identity.mismatch({ chainId: document.chainId, logAnchor: document.contract, logId: document.logId });
    if (problem !== null) {
      const [field, sentence] = problem;
      run.fail(new VerificationError(
        'log identity',
        `the ${document.noun} is not about the pinned log: ${sentence.replace('the document', `the ${document.noun}`)}`,
        field,
      ));
    }
    run.ok('log identity', `the ${document.noun} names the pinned ${identity.describe()}`);
  }

  async function checkEntry(run, bundle, number, entry) {
    const where = bundle.entries.length > 1 ? `entry ${number}` : 'entry';
    let opened;
    try {
      opened = await R.openRecord(entry.record);
    } catch (error) {
      if (!(error instanceof R.RecordError)) throw error;
      run.fail(new VerificationError('record', R.recordProblem(where, entry.record, error)));
    }
    entry.valid = opened;
    run.ok('record', R.recordSentence(where, opened));
    const mismatch = R.leafMismatch(opened, entry.leafHash, where, "the bundle's");
    if (mismatch !== null) run.fail(new VerificationError('leaf hash', mismatch));
    run.ok('leaf hash', R.leafSentence(where, opened));
    let calculated;
    try {
      calculated = await M.rootFromInclusionProof(entry.leafIndex, bundle.treeSize, J.fromHex(entry.leafHash), entry.proof.map(J.fromHex));
    } catch (error) {
      if (!(error instanceof M.ProofError)) throw error;
      run.fail(new VerificationError('inclusion', `${where}: bad inclusion proof: ${error.message}`));
    }
    if (J.toHex(calculated) !== bundle.root) {
      run.fail(new VerificationError(
        'inclusion',
        `${where}: the proof of leaf ${entry.leafIndex} in the tree of size ${bundle.treeSize} leads to root ${J.toHex(calculated)}, not to the checkpoint root ${bundle.root}`,
      ));
    }
    run.ok('inclusion', `${where}: leaf ${entry.leafIndex} of the tree of size ${bundle.treeSize} (${entry.proof.length} proof nodes) has root ${bundle.root}`);
  }

  const packWhere = (pack, position) => `entries[${position}] (leaf index ${pack.indices[position]})`;

  async function checkRecords(run, pack) {
    const entries = [];
    for (const [position, record] of pack.records.entries()) {
      try {
        entries.push(await R.openRecord(record));
      } catch (error) {
        if (!(error instanceof R.RecordError)) throw error;
        run.fail(new VerificationError('records', R.recordProblem(packWhere(pack, position), record, error)));
      }
    }
    const hashes = entries.map((entry) => entry.leafHash);
    const seen = new Map();
    hashes.forEach((hash, position) => {
      if (seen.has(hash)) {
        run.fail(new VerificationError(
          'records',
          `${packWhere(pack, position)} repeats the record of ${packWhere(pack, seen.get(hash))} (${hash}): an entry is counted once`,
        ));
      }
      seen.set(hash, position);
    });
    const kinds = new Map();
    for (const entry of entries) kinds.set(entry.entry.kind, (kinds.get(entry.entry.kind) || 0) + 1);
    const shown = [...kinds.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([kind, n]) => `${n.toLocaleString('en-US')} ${kind}`).join(', ');
    const partial = entries.filter((entry) => !entry.whole).length;
    const disclosed = partial ? `; ${partial.toLocaleString('en-US')} v2 records disclosed in part` : '';
    run.ok('records', `${entries.length.toLocaleString('en-US')} valid records in canonical form (RFC 8785): ${shown}${disclosed}`);
    pack.valid = entries;
    pack.leafHashes = hashes;
    return entries;
  }

  function checkQuery(run, pack, entries) {
    entries.forEach((found, position) => {
      const entry = found.entry;
      if (!pack.query.matches(entry)) {
        const show = (value) => (value === null ? 'None' : value);
        run.fail(new VerificationError(
          'query',
          `${packWhere(pack, position)} does not match the pack's query (${pack.query.describe()}):` +
            ` kind ${entry.kind}, ts ${entry.ts}, account ${show(entry.accountId)}, model ${show(entry.model)}`,
        ));
      }
    });
    run.ok('query', `every entry matches: ${pack.query.describe()}`);
  }

  async function checkMultiInclusion(run, pack) {
    const size = pack.treeSize;
    const count = pack.indices.length;
    if (!count) {
      run.ok('inclusion', 'no entry matches the query: nothing to include');
      return;
    }
    let calculated;
    try {
      calculated = await M.rootFromMultiProof(pack.indices, size, pack.leafHashes.map(J.fromHex), pack.proof.map(J.fromHex));
    } catch (error) {
      if (error instanceof M.ProofLengthError) {
        run.fail(new VerificationError(
          'inclusion',
          `the proof has ${error.got} nodes; ${count.toLocaleString('en-US')} leaves at these indices of the tree of size ${size} need exactly ${error.expected}`,
        ));
      }
      if (!(error instanceof M.ProofError)) throw error;
      run.fail(new VerificationError('inclusion', `bad multi-entry proof: ${error.message}`));
    }
    if (J.toHex(calculated) !== pack.root) {
      run.fail(new VerificationError(
        'inclusion',
        `the ${count.toLocaleString('en-US')} records, their leaf indices and the ${pack.proof.length.toLocaleString('en-US')} proof nodes lead to` +
          ` root ${J.toHex(calculated)} for tree size ${size}, not to the checkpoint root ${pack.root}` +
          ' (a record, a leaf index, a proof node, the root or the size differs from what was logged)',
      ));
    }
    const singles = pack.indices.reduce((n, index) => n + M.inclusionLength(index, size), 0);
    run.ok(
      'inclusion',
      `${count.toLocaleString('en-US')} leaves of the tree of size ${size} have root ${pack.root}` +
        ` (${pack.proof.length.toLocaleString('en-US')} proof nodes; one proof per entry would need ${singles.toLocaleString('en-US')})`,
    );
  }

  /* ---- evidence: the chain ------------------------------------------------------------------ */

  /** ``contract``: the code at `address` is the runtime code of the shipped `name`, compared by SHA-256. */
  async function checkCode(run, chain, name, address, chainId) {
    const code = await chain.code(address);
    if (!code.length) run.fail(new VerificationError('contract', `no contract at ${address} on chain id ${chainId}`));
    const found = J.toHex(await J.sha256(code));
    if (found !== SHIPPED[name].runtimeSha256) {
      run.fail(new VerificationError(
        'contract',
        `the code at ${address} is not the ${name} model-ledger ships: its runtime code has SHA-256 ${found.slice(2)},` +
          ` ${name}'s is ${SHIPPED[name].runtimeSha256.slice(2)} (another contract can answer the same calls with whatever it likes)`,
      ));
    }
    run.ok('contract', `${name} at ${address}: its code is the runtime code this verifier ships`);
  }

  /** LogAnchor's Anchored(logId, size, root, indexRoot, ...) event in `receipt` for the
   * document's checkpoint, emitted by the document's contract (the pinned one, once
   * "log identity" passed), or undefined. The event's layout (its indexed topics, its data
   * words, where the root is) comes from its ABI in SHIPPED. Whom the transaction called is
   * not looked at: anyone may relay a signed checkpoint, through a contract of their own too. */
  function anchoredEvent(receipt, document) {
    const event = SHIPPED.LogAnchor.events.Anchored;
    const data = event.inputs.filter(([, , indexed]) => !indexed).map(([name]) => name);
    const rootAt = 32 * data.indexOf('root');
    const topics = [event.topic, document.logId, J.toHex(encodeWord('uint64', document.treeSize))];
    return receipt.logs.find(
      (log) =>
        J.toHex(log.address) === document.contract &&
        log.topics.length === topics.length &&
        log.topics.every((topic, i) => J.toHex(topic) === topics[i]) &&
        log.data.length === 32 * data.length &&
        J.toHex(log.data.slice(rootAt, rootAt + 32)) === document.root,
    );
  }

  /** 4. The checkpoint is anchored on the pinned LogAnchor, in the block the document names. */
  async function checkAnchor(run, document, chain, identity) {
    const contract = document.contract;
    const size = document.treeSize;
    const chainId = await chain.chainId();
    if (chainId !== identity.chainId) {
      run.fail(new VerificationError('chain id', `the node at ${chain.where} serves chain id ${chainId}; the pinned log is on chain id ${identity.chainId}`));
    }
    run.ok('chain id', `${chainId} (node ${chain.where})`);
    await checkCode(run, chain, 'LogAnchor', identity.logAnchor, chainId);
    let info;
    try {
      const [signer, admin, latestSize, retired, trustedSize] = await callContract(chain, 'LogAnchor', identity.logAnchor, 'logInfo', [identity.logId]);
      info = { signer, admin, latestSize, retired, trustedSize };
    } catch (error) {
      if (!(error instanceof ContractCallError)) throw error;
      run.fail(new VerificationError('log', `the LogAnchor at ${contract} holds no log ${identity.logId} (${error.message})`));
    }
    if (info.signer !== identity.logSigner) {
      run.fail(new VerificationError(
        'log',
        `log ${identity.logId} on ${contract} is signed by ${info.signer}, but the pinned log identity names log key ${identity.logSigner}: the identity document is not this log's`,
      ));
    }
    if (info.retired && size > info.trustedSize) {
      run.fail(new VerificationError(
        'log',
        `log ${identity.logId} was retired (its log key leaked) and its admin trusts its anchors up to tree size ${info.trustedSize} only; this checkpoint is of size ${size}`,
      ));
    }
    const retired = info.retired ? `; retired, trusted up to size ${info.trustedSize}` : '';
    run.ok('log', `${identity.logId} exists, anchored only with log key ${info.signer}${retired}`);
    let root = null;
    try {
      [root] = await callContract(chain, 'LogAnchor', identity.logAnchor, 'rootAt', [identity.logId, size]);
    } catch (error) {
      if (!(error instanceof ContractCallError) || error.errorName !== 'LogAnchorUnknownSize') throw error;
    }
    if (root === null) {
      run.fail(new VerificationError(
        'root on chain',
        `nothing is anchored at tree size ${size} of log ${identity.logId} in ${contract}: this checkpoint was never anchored`,
      ));
    }
    if (root !== document.root) {
      run.fail(new VerificationError('root on chain', `the contract holds root ${root} for tree size ${size}; the ${document.noun}'s checkpoint has ${document.root}`));
    }
    run.ok('root on chain', `rootAt(${identity.logId}, ${size}) = ${root}`);
    const claimed = document.anchor;
    const receipt = await chain.receipt(claimed.txHash);
    let problem = null;
    let event;
    if (receipt === null) {
      problem = `transaction ${claimed.txHash} is not on chain`;
    } else if (!receipt.succeeded) {
      problem = `transaction ${claimed.txHash} failed (its receipt's status is not success)`;
    } else if (receipt.blockNumber !== claimed.blockNumber || J.toHex(receipt.blockHash) !== claimed.blockHash) {
      problem = `transaction ${claimed.txHash} is in block ${receipt.blockNumber} (${J.toHex(receipt.blockHash)}); the ${document.noun} says block ${claimed.blockNumber} (${claimed.blockHash})`;
    } else if ((event = anchoredEvent(receipt, document)) === undefined) {
      problem = `transaction ${claimed.txHash} did not anchor tree size ${size} with root ${document.root} (no such Anchored event of ${contract} in it)`;
    }
    if (problem !== null) run.fail(new VerificationError('anchor transaction', problem));
    run.ok('anchor transaction', `${claimed.txHash} anchored tree size ${size} in block ${claimed.blockNumber}`);
    const block = await chain.block(claimed.blockNumber);
    if (block === null || J.toHex(block.hash) !== claimed.blockHash) {
      const shown = block === null ? 'no block' : J.toHex(block.hash);
      run.fail(new VerificationError('anchor block', `block ${claimed.blockNumber} is ${shown} on chain; the ${document.noun} says ${claimed.blockHash} (reorganised away?)`));
    }
    if (block.timestamp !== claimed.blockTimestamp) {
      run.fail(new VerificationError(
        'anchor block',
        `block ${block.number}'s header says time ${block.timestamp} (${utcText(block.timestamp)}); the ${document.noun} says ${claimed.blockTimestamp}`,
      ));
    }
    run.ok('anchor block', `block ${block.number} (${J.toHex(block.hash)}) at ${utcText(block.timestamp)}, from its header`);
    const data = SHIPPED.LogAnchor.events.Anchored.inputs.filter(([, , indexed]) => !indexed).map(([name]) => name);
    const indexRootAt = 32 * data.indexOf('indexRoot');
    run.result.anchored = {
      root,
      blockNumber: block.number,
      blockHash: J.toHex(block.hash),
      timestamp: block.timestamp,
      txHash: claimed.txHash,
      indexRoot: J.toHex(event.data.slice(indexRootAt, indexRootAt + 32)),
    };
  }

  /** `checkAnchor`, an unreadable chain recorded as the failed ``chain`` check. */
  async function checkChain(run, document, chain, identity) {
    try {
      await checkAnchor(run, document, chain, identity);
    } catch (error) {
      if (error instanceof RPC.ChainUnreadableError) run.fail(new VerificationError('chain', error.message));
      if (error instanceof ContractCallError) {
        run.fail(new VerificationError('contract', `the contract at ${identity.logAnchor} answered unexpectedly: ${error.message}`));
      }
      throw error;
    }
  }

  /* ---- evidence: the verdict ------------------------------------------------------------------ */

  function evidenceStatement(result) {
    const { error, document, identity } = result;
    if (error) {
      if (error.check === 'chain') return `NOT VERIFIED: the chain could not be read (${error.message})`;
      if (error.check === 'verifier') return `NOT VERIFIED: this page could not run the checks (${error.message})`;
      if (result.usage) return `NOT VERIFIED: ${error.message}`;
      return `INVALID: ${error.check} check failed: ${error.message}`;
    }
    if (result.anchored !== null) {
      return `VALID: existed no later than ${utcText(result.anchored.timestamp)} (block ${result.anchored.blockNumber}), in ${identity.describe()}`;
    }
    const claimed = document.anchor;
    const which = identity === null ? 'no log identity was pinned, so nothing says which log this is' : `it names the pinned ${identity.describe()}`;
    return (
      'MATHEMATICS ONLY: the chain was NOT consulted (offline): only the mathematics was checked. The entries are in the' +
      ` tree whose root the ${document.noun} states, but that this root was anchored (block ${claimed.blockNumber},` +
      ` ${utcText(claimed.blockTimestamp)}) is the ${document.noun}'s unverified claim; ${which}`
    );
  }

  function finishEvidence(run) {
    const result = run.result;
    if (result.error) {
      result.verdict = ['chain', 'verifier'].includes(result.error.check) || result.usage ? 'not verified' : 'invalid';
    } else {
      result.verdict = result.anchored !== null ? 'valid' : 'mathematics only';
    }
    result.state = { valid: 'verified', invalid: 'failed' }[result.verdict] || 'unverified';
    result.statement = evidenceStatement(result);
    return result;
  }

  /** verify-note.js, loaded after this file: the checkpoint notes of bundles and packs. */
  const notes = () => own('LedgerNote', './verify-note.js');

  /* `witnesses`: {policy, maxTimestamp} a bundle's or pack's checkpoint note is checked
   * with (policy null: the pinned identity's witnesses; maxTimestamp null: any time). */
  const IDENTITY_WITNESSES = Object.freeze({ policy: null, maxTimestamp: null });

  async function verifyBundleObject(run, obj, chain, identity, witnesses = IDENTITY_WITNESSES) {
    let bundle;
    try {
      bundle = D.parseBundle(obj);
      bundle.checkpointNote = notes().readCheckpointNote(obj, 'bundle');
    } catch (error) {
      if (!(error instanceof D.DocumentError)) throw error;
      run.fail(new VerificationError('bundle', error.message));
    }
    const count = bundle.entries.length;
    run.ok(
      'bundle',
      `${D.BUNDLE_FORMAT}: ${count} ${count === 1 ? 'entry' : 'entries'}, log ${bundle.logId},` +
        ` contract ${bundle.contract} on chain id ${bundle.chainId}, tree size ${bundle.treeSize}`,
    );
    run.result.document = bundle;
    checkIdentity(run, bundle, run.result.identity);
    for (let i = 0; i < count; i += 1) await checkEntry(run, bundle, i, bundle.entries[i]);
    await notes().checkCheckpointNote(run, bundle, bundle.checkpointNote, identity, witnesses.policy, witnesses.maxTimestamp);
    if (chain !== null) await checkChain(run, bundle, chain, run.result.identity);
  }

  async function verifyPackObject(run, obj, chain, identity, witnesses = IDENTITY_WITNESSES) {
    run.result.kind = 'pack';
    let pack;
    const completeness = () => own('LedgerCompleteness', './verify-completeness.js');
    try {
      pack = D.parsePack(obj);
      pack.completeness = pack.completenessField === null ? null : completeness().parsePackCompleteness(pack);
      pack.checkpointNote = notes().readCheckpointNote(obj, 'pack');
    } catch (error) {
      if (!(error instanceof D.DocumentError) && !(error instanceof completeness().FormatError)) throw error;
      run.fail(new VerificationError('pack', error.message));
    }
    const count = pack.indices.length;
    run.ok(
      'pack',
      `${D.PACK_FORMAT}: ${plural(count, 'entry', 'entries')}, log ${pack.logId},` +
        ` contract ${pack.contract} on chain id ${pack.chainId}, tree size ${pack.treeSize}`,
    );
    run.result.document = pack;
    checkIdentity(run, pack, identity);
    const entries = await checkRecords(run, pack);
    checkQuery(run, pack, entries);
    await checkMultiInclusion(run, pack);
    const proven = pack.completeness === null ? [] : await completeness().checkPackCompleteness(run, pack, entries);
    await notes().checkCheckpointNote(run, pack, pack.checkpointNote, identity, witnesses.policy, witnesses.maxTimestamp);
    if (chain !== null) {
      await checkChain(run, pack, chain, identity);
      if (pack.completeness !== null) completeness().checkIndexRootOnChain(run, pack.treeSize, pack.completeness.indexRoot);
    }
    run.result.completeKeys = proven;
    // `mledger verify` prints one COMPLETE line per account of a complete pack (key_statement).
    run.result.completeLines = proven.map((key) => completeness().keyStatement(key, run.result.anchored, 'pack'));
  }

  /**
   * Verify an evidence bundle or pack, whichever `data` is (bytes of JSON, or text), as
   * `mledger verify` does (ledger/verify/evidence.py verify_evidence): the mathematics, then,
   * with `identity` (a parsed log identity) and `rpcUrl`, the chain. Never throws.
   */
  async function verifyEvidence(data, { identity = null, rpcUrl = '', fetch = undefined, witnesses = [], quorum = null, now = null } = {}) {
    const chain = identity !== null && rpcUrl ? RPC.jsonRpcReader(rpcUrl, fetch) : null;
    const run = newRun('bundle', identity);
    run.result.chainConsulted = chain !== null;
    run.result.node = chain === null ? null : chain.where;
    try {
      let trusted;
      try {
        const policy = notes().typedWitnessPolicy(witnesses, quorum, identity);
        trusted = { policy, maxTimestamp: (now === null ? BigInt(Math.floor(Date.now() / 1000)) : BigInt(now)) + COSIGNATURE_AHEAD };
      } catch (error) {
        if (!(error instanceof notes().NoteError)) throw error;
        // `mledger verify` refuses such --witness/--quorum before it reads the document
        run.result.usage = true;
        run.fail(new VerificationError('witnesses', `the witnesses you gave: ${error.message}`));
      }
      let obj;
      const size = typeof data === 'string' ? J.utf8Length(data) : data.length;
      try {
        obj = J.loadStrict(data, D.MAX_PACK_BYTES, 'document');
      } catch (error) {
        if (!(error instanceof J.StrictJsonError)) throw error;
        run.fail(new VerificationError('bundle', error.message));
      }
      if (J.isObject(obj) && obj.format === D.PACK_FORMAT) {
        await verifyPackObject(run, obj, chain, identity, trusted);
      } else {
        if (J.isObject(obj) && J.has(obj, 'format') && obj.format !== D.BUNDLE_FORMAT) {
          run.fail(new VerificationError(
            'bundle',
            `unknown format ${D.shown(obj.format)}; this verifier reads '${D.BUNDLE_FORMAT}',` +
              ` '${D.PACK_FORMAT}' and 'model-ledger/completeness/v1'`,
          ));
        }
        if (size > D.MAX_BUNDLE_BYTES) run.fail(new VerificationError('bundle', `bundle is ${size} bytes; the limit is ${D.MAX_BUNDLE_BYTES}`));
        if (!J.isObject(obj)) run.fail(new VerificationError('bundle', `a bundle is a JSON object, got ${D.typeName(obj)}`));
        await verifyBundleObject(run, obj, chain, identity, trusted);
      }
    } catch (error) {
      if (!(error instanceof VerificationError)) recordUnexpected(run, error);
    }
    return finishEvidence(run);
  }

  /* ---- licences -------------------------------------------------------------------------- */

  /** Whole unix seconds of a record timestamp, rounded down (ledger/verify/licence.py unix_seconds). */
  const unixSeconds = (ts) => BigInt(Math.floor(Date.parse(`${ts.slice(0, 19)}Z`) / 1000));

  function licenceStatement(result) {
    const { error, licence, identity } = result;
    if (error) {
      if (error.check === 'chain') return `NOT VERIFIED: the chain could not be read (${error.message})`;
      if (error.check === 'verifier') return `NOT VERIFIED: this page could not run the checks (${error.message})`;
      if (error.check !== 'status') return `INVALID: ${error.check} check failed: ${error.message}`;
    }
    const body = licence.body;
    const which = `licence ${J.pyRepr(body.licence_id)} of ${J.pyRepr(body.licensee)}`;
    if (!result.chainConsulted) {
      const why = identity === null ? 'no log identity is pinned' : 'no JSON-RPC node was given';
      return (
        `MATHEMATICS ONLY: ${which} has commitment ${licence.commitment}; the chain was NOT consulted (${why}),` +
        ' so whether it is active, revoked or was ever granted is unknown'
      );
    }
    const status = licence.onChain;
    const where = `at block ${status.blockNumber} (${utcText(status.blockTime)}) of chain ${status.chainId}, LicenceRegistry ${status.registry} of log ${J.pyRepr(identity.name)}`;
    if (licence.problem !== null) return `NOT VALID: ${which}: ${licence.problem} (${where})`;
    const proven = licence.revocationRecord;
    return {
      active: `ACTIVE: ${which} is active until ${body.valid_until} ${where}`,
      revoked: status.superseded
        ? `REVOKED: ${which} was superseded in block ${status.revokedBlock} by amend record leaf ${status.revocation},` +
          ' a commitment the registry holds' +
          (proven
            ? `; then the log's revoke record ${proven.leafHash} (reason ${revocationReason(proven)}), anchored in block` +
              ` ${proven.anchorBlock}, revoked the licence`
            : '') +
          `; ${where}`
        : proven
        ? `REVOKED: ${which} was revoked at ${proven.ts} (block ${status.revokedBlock}), reason` +
          ` ${revocationReason(proven)} (revocation record leaf ${proven.leafHash}, matches the registry); ${where}`
        : `REVOKED: ${which} was revoked (or superseded by an amendment) in block ${status.revokedBlock}` +
          (status.revocation === null
            ? ''
            : `, revocation record leaf ${status.revocation} (its reason is proven by the GET /v1/licences/{id} answer fetched after the revocation)`) +
          `; ${where}`,
      expired: `EXPIRED: ${which} expired at ${body.valid_until} ${where}`,
      not_yet_valid: `NOT YET VALID: ${which} becomes active at ${body.valid_from} ${where}`,
      unknown: `UNKNOWN: ${which} was never granted ${where}`,
    }[status.state];
  }

  const revocationReason = (proven) => (proven.reason === null ? 'none given' : J.pyRepr(proven.reason));

  /** Why a licence whose revoke record the log holds is not valid, though the registry has
   * not revoked it (ledger/verify/licence.py unregistered_revocation). */
  function unregisteredRevocation(proven) {
    return (
      `the log holds revoke record ${proven.leafHash} (reason ${revocationReason(proven)}) of this licence,` +
      ` anchored in block ${proven.anchorBlock}; the registry has not revoked it`
    );
  }

  /** Why a commitment granted by `issuer`, not by the pinned log key, is not the log's
   * licence (ledger/verify/licence.py issuer_problem). */
  function issuerProblem(issuer, identity) {
    return (
      `the registry says issuer key ${issuer} signed this grant, not the pinned log key ${identity.logSigner}:` +
      " a grant signed by any other key is not this log's licence"
    );
  }

  /** Why no licence of a retired log is valid (ledger/verify/licence.py retired_problem). */
  function retiredProblem(identity) {
    return (
      `log ${identity.logId} was retired by its admin (its log key may have leaked): a licence signed with` +
      ' that key cannot be trusted; ask the operator for the licence under its successor log'
    );
  }

  /** A licence signed with the log key is the log's only while that key is trusted
   * (ledger/verify/licence.py _check_not_retired): fails "log" for a retired or unreadable log. */
  async function checkNotRetired(run, chain, identity, blockNumber) {
    let info;
    try {
      info = await callContract(chain, 'LogAnchor', identity.logAnchor, 'logInfo', [identity.logId], blockNumber);
    } catch (error) {
      if (!(error instanceof ContractCallError)) throw error;
      run.fail(new VerificationError(
        'log',
        `the pinned LogAnchor ${identity.logAnchor} holds no log ${identity.logId} (${error.message})`,
        'log',
      ));
    }
    if (info[3]) run.fail(new VerificationError('log', retiredProblem(identity), 'log'));
  }

  /** The `revocation` of the registry's Revoked event of `commitment` by `issuer` in `block`,
   * null if the node shows none; the node's answer is checked, not trusted (address, every
   * topic, the data's size), as ledger/verify/licence.py _revocation does. */
  async function revocationOf(chain, registry, commitment, block, issuer) {
    const topic = SHIPPED.LicenceRegistry.events.Revoked.topic;
    const wanted = [topic, commitment, `0x${'00'.repeat(12)}${issuer.slice(2)}`];
    for (const event of await chain.logs(registry, [topic, commitment], block, block)) {
      if (
        J.toHex(event.address) === registry &&
        event.topics.length === wanted.length &&
        event.topics.every((found, i) => J.toHex(found) === wanted[i]) &&
        event.blockNumber === block &&
        event.data.length === 32
      ) return J.toHex(event.data);
    }
    return null;
  }

  /** The revoke record the licence file carries (`revoked.evidence`), verified as a bundle
   * against the chain, a revoke record of this licence id (ledger/verify/licence.py
   * _revocation_record): {leafHash, ts, reason, anchorBlock, existedNoLaterThan}; else a
   * "revocation" VerificationError. */
  async function proveRevocation(licence, chain, identity) {
    const fail = (message) => new VerificationError('revocation', message, 'revocation');
    const sub = newRun('bundle', identity);
    try {
      await verifyBundleObject(sub, licence.revocationEvidence, chain, identity);
    } catch (error) {
      if (!(error instanceof VerificationError)) throw error;
      throw fail(`the revocation evidence (revoked.evidence) fails its ${error.check} check: ${error.detail}`);
    }
    const bundle = sub.result.document;
    if (bundle.entries.length !== 1) throw fail(`revoked.evidence holds ${bundle.entries.length} entries, not the one`);
    const entry = bundle.entries[0];
    const body = entry.record.body;
    if (entry.record.kind !== 'licence' || !J.isObject(body) || body.action !== 'revoke' || body.licence_id !== licence.body.licence_id) {
      throw fail(`revoked.evidence proves leaf ${entry.leafHash}, which is not a revoke record of licence ${J.pyRepr(licence.body.licence_id)}`);
    }
    return {
      leafHash: entry.leafHash,
      ts: entry.record.ts,
      reason: typeof body.reason === 'string' ? body.reason : null,
      anchorBlock: sub.result.anchored.blockNumber,
      existedNoLaterThan: sub.result.anchored.timestamp,
    };
  }

  async function checkLicenceOnChain(run, licence, chain, identity) {
    const registry = identity.licenceRegistry;
    const chainId = await chain.chainId();
    if (chainId !== identity.chainId) {
      run.fail(new VerificationError('chain id', `the node at ${chain.where} serves chain id ${chainId}; the pinned log is on chain id ${identity.chainId}`, 'chain_id'));
    }
    run.ok('chain id', `${chainId} (node ${chain.where})`);
    const head = await chain.block('latest');
    if (head === null) throw new RPC.ChainUnreadableError(`the node at ${chain.where} has no latest block`);
    const code = await chain.code(registry, head.number);
    if (J.toHex(await J.sha256(code)) !== SHIPPED.LicenceRegistry.runtimeSha256) {
      const found = code.length ? "another contract's code" : 'no contract';
      run.fail(new VerificationError(
        'contract',
        `${found} at ${registry} on chain id ${chainId}, not the LicenceRegistry model-ledger ships (a look-alike could answer anything)`,
        'contract',
      ));
    }
    let words;
    try {
      words = await callContract(chain, 'LicenceRegistry', registry, 'status', [licence.commitment], head.number);
    } catch (error) {
      if (!(error instanceof ContractCallError)) throw error;
      run.fail(new VerificationError('contract', `the LicenceRegistry at ${registry} answered unexpectedly: ${error.message}`, 'contract'));
    }
    const [state, validFrom, validUntil, grantedBlock, revokedBlock, issuer] = words;
    if (state >= BigInt(LICENCE_STATES.length)) {
      run.fail(new VerificationError('contract', `status() answered an unknown state ${state}`, 'contract'));
    }
    run.ok('contract', `LicenceRegistry at ${registry}: its code is the runtime code this verifier ships`);
    const body = licence.body;
    const expected = [unixSeconds(body.valid_from), unixSeconds(body.valid_until)];
    licence.onChain = {
      chainId,
      registry,
      blockNumber: head.number,
      blockTime: head.timestamp,
      state: LICENCE_STATES[Number(state)],
      validFrom,
      validUntil,
      grantedBlock,
      revokedBlock,
      issuer: state === 0n ? null : issuer,
    };
    if (state !== 0n) {
      if (issuer !== identity.logSigner) run.fail(new VerificationError('issuer', issuerProblem(issuer, identity), 'issuer'));
      await checkNotRetired(run, chain, identity, head.number);
      run.ok('issuer', `the grant is signed by the pinned log key ${issuer}`);
    }
    const revocation = revokedBlock === 0n
      ? null
      : await revocationOf(chain, registry, licence.commitment, revokedBlock, identity.logSigner);
    licence.onChain.revocation = revocation;
    // The registry's revocation is a commitment the log key granted: the amend record that
    // superseded this one, not a revoke record (ledger/verify/licence.py _granted_by_log).
    licence.onChain.superseded = false;
    if (revocation !== null) {
      let other;
      try {
        other = await callContract(chain, 'LicenceRegistry', registry, 'status', [revocation], head.number);
      } catch (error) {
        if (!(error instanceof ContractCallError)) throw error;
        run.fail(new VerificationError('contract', `the LicenceRegistry at ${registry} answered unexpectedly: ${error.message}`, 'contract'));
      }
      licence.onChain.superseded = other[0] !== 0n && other[5] === identity.logSigner;
    }
    const superseded = licence.onChain.superseded;
    licence.revocationRecord = null;
    if (licence.revocationEvidence !== null) {
      let proven;
      try {
        proven = await proveRevocation(licence, chain, identity);
      } catch (error) {
        if (error instanceof VerificationError) run.fail(error);
        throw error;
      }
      if (revokedBlock !== 0n && !superseded && proven.leafHash !== revocation) {
        run.fail(new VerificationError(
          'revocation',
          `revoked.evidence proves revoke record ${proven.leafHash}, but the registry names ${revocation === null ? 'none' : revocation}` +
            " as this licence's revocation",
          'revocation',
        ));
      }
      proven.matchesRegistry = revokedBlock !== 0n && !superseded;
      licence.revocationRecord = proven;
      const said = `revoke record ${proven.leafHash} (reason ${revocationReason(proven)}), in the log and anchored in block ${proven.anchorBlock}`;
      run.ok(
        'revocation',
        proven.matchesRegistry
          ? `${said}, is the revocation the registry holds`
          : revokedBlock === 0n
            ? `${said}, revokes this licence; the registry has NOT revoked this commitment`
            : `${said}, revoked the licence after amend record ${revocation} superseded this commitment`,
      );
    }
    if (licence.revocationRecord !== null && revokedBlock === 0n) {
      licence.problem = unregisteredRevocation(licence.revocationRecord);
    } else {
      licence.problem = state !== 0n && (validFrom !== expected[0] || validUntil !== expected[1])
        ? `the registry holds the validity window ${validFrom}..${validUntil} (unix seconds), but the record says ${expected[0]}..${expected[1]}`
        : null;
    }
    const status = licence.onChain;
    if (licence.problem !== null) run.fail(new VerificationError('status', licence.problem));
    if (status.state === 'unknown') run.fail(new VerificationError('status', 'unknown: never granted on this registry'));
    // Revoked, expired or not yet valid is a proven state of a licence the registry holds
    // with the record's window, not a failed check: the check passes, naming the state.
    const why = {
      active: `active, granted in block ${grantedBlock}, valid until ${body.valid_until}`,
      revoked: `not active: revoked in block ${revokedBlock}`,
      expired: `not active: expired at ${body.valid_until}`,
      not_yet_valid: `not active: not valid before ${body.valid_from}`,
    }[status.state];
    run.ok('status', why);
  }

  /**
   * Check a licence file (bytes of JSON, or text) as `mledger licence check` does
   * (ledger/verify/licence.py): its commitment, that it names the pinned registry and
   * chain, then with `identity` and `rpcUrl` its status on the pinned LicenceRegistry at
   * the latest block. Never throws.
   */
  async function checkLicence(data, { identity = null, rpcUrl = '', fetch = undefined } = {}) {
    const chain = identity !== null && rpcUrl ? RPC.jsonRpcReader(rpcUrl, fetch) : null;
    const run = newRun('licence', identity);
    const result = run.result;
    result.chainConsulted = chain !== null;
    result.node = chain === null ? null : chain.where;
    try {
      let licence;
      try {
        licence = await D.readLicence(data);
      } catch (error) {
        if (!(error instanceof D.LicenceFileError)) throw error;
        run.fail(new VerificationError('licence', error.message));
      }
      licence.onChain = null;
      licence.problem = null;
      licence.revocationRecord = null;
      result.licence = licence;
      const body = licence.body;
      run.ok('licence', `licence ${body.licence_id} (${body.action}) for ${body.licensee}, valid ${body.valid_from} to ${body.valid_until}`);
      run.ok('commitment', `SHA-256(0x00 || record) = ${licence.commitment}`);
      if (identity !== null) {
        if (identity.licenceRegistry === null) {
          run.fail(new VerificationError('log identity', `the pinned log ${J.pyRepr(identity.name)} names no LicenceRegistry`, 'licence_registry'));
        }
        const problem = identity.mismatch({ chainId: licence.chainId, licenceRegistry: licence.contract });
        if (problem !== null) {
          run.fail(new VerificationError('log identity', `the licence is not the pinned log's: ${problem[1]}`, problem[0]));
        }
        const named = licence.contract === null ? 'names no registry: the pinned one is read' : 'names the pinned registry';
        run.ok('log identity', `the licence ${named}, LicenceRegistry ${identity.licenceRegistry} of ${identity.describe()}`);
      }
      if (chain !== null) {
        try {
          await checkLicenceOnChain(run, licence, chain, identity);
        } catch (error) {
          if (error instanceof RPC.ChainUnreadableError) run.fail(new VerificationError('chain', error.message));
          throw error;
        }
      }
    } catch (error) {
      if (!(error instanceof VerificationError)) recordUnexpected(run, error);
    }
    if (result.error) {
      if (['chain', 'verifier'].includes(result.error.check)) result.verdict = 'not verified';
      else result.verdict = result.error.check === 'status' ? 'not active' : 'invalid';
      result.state = { invalid: 'failed', 'not active': 'failed' }[result.verdict] || 'unverified';
    } else if (!result.chainConsulted) {
      result.verdict = 'mathematics only';
      result.state = 'unverified';
    } else {
      // every check passed: the chain's state (active, or proven revoked / expired / not yet valid)
      const active = result.licence.onChain.state === 'active';
      result.verdict = active ? 'active' : 'not active';
      result.state = active ? 'verified' : 'inactive';
    }
    result.statement = licenceStatement(result);
    return result;
  }

  /* ---- which checker -------------------------------------------------------------------------- */

  /** The first line of a c2sp.org/tlog-proof@v1 file (text, not JSON: verify-note.js). */
  const TLOG_PROOF_FORMAT = 'c2sp.org/tlog-proof@v1';

  /** Whether `data` (text or bytes) starts as a tlog-proof does (ledger/verify/tlog_proof.py
   * is_tlog_proof). */
  function isTlogProof(data) {
    const head = `${TLOG_PROOF_FORMAT}\n`;
    if (typeof data === 'string') return data.startsWith(head);
    return data.length >= head.length && new TextDecoder().decode(data.slice(0, head.length)) === head;
  }

  /** The format name when `data` is a format of FORMAT_VERIFIERS (a tlog-proof, by its first
   * line); "licence" when it holds a
   * licence record (bare, or as GET /v1/licences/{id} answers it); else "evidence" (whose
   * checks say what is wrong with anything else). */
  function documentKind(data) {
    if (isTlogProof(data)) return TLOG_PROOF_FORMAT;
    let doc;
    try {
      doc = J.loadStrict(data, D.MAX_PACK_BYTES, 'document');
    } catch (error) {
      const text = typeof data === 'string' ? data : new TextDecoder().decode(data.slice(0, 65536));
      return /"format"\s*:/.test(text) || !/"kind"\s*:\s*"licence"/.test(text) ? 'evidence' : 'licence';
    }
    if (J.isObject(doc) && J.has(doc, 'format') && typeof doc.format === 'string' && Object.prototype.hasOwnProperty.call(FORMAT_VERIFIERS, doc.format)) return doc.format;
    if (!J.isObject(doc) || J.has(doc, 'format')) return 'evidence';
    const record = J.has(doc, 'record') ? doc.record : doc;
    return J.isObject(record) && record.kind === 'licence' ? 'licence' : 'evidence';
  }

  /** Formats whose verifier is a file of its own (loaded after this one): format -> verifier. */
  const own = (name, file) => (typeof module === 'object' && module.exports ? require(file) : globalThis[name]);
  const FORMAT_VERIFIERS = {
    'model-ledger/completeness/v1': (data, options) => own('LedgerCompleteness', './verify-completeness.js').verifyCompleteness(data, options),
    [TLOG_PROOF_FORMAT]: (data, options) => own('LedgerNote', './verify-note.js').verifyTlogProof(data, options),
  };

  /** An export, which this page does not audit: no check ran, the answer says what to run. */
  function exportNotAudited(options) {
    const run = newRun('export', options && options.identity !== undefined ? options.identity : null);
    const statement = D.exportAdvice('this page');
    Object.assign(run.result, {
      verdict: 'not checked',
      state: 'unverified',
      statement: `NOT CHECKED: ${statement}`,
      facts: [],
      meaning: { proven: ['Nothing: an export is the whole log (or a range of it), checked by an audit, not here.'], notProven: [] },
    });
    return Promise.resolve(run.result);
  }

  /** Check whichever `data` is: a format of FORMAT_VERIFIERS, a licence file or evidence. */
  function verifyDocument(data, options) {
    if (D.isExport(data)) return exportNotAudited(options); // exports: `mledger audit` (issue 17)
    const kind = documentKind(data);
    if (Object.prototype.hasOwnProperty.call(FORMAT_VERIFIERS, kind)) return FORMAT_VERIFIERS[kind](data, options);
    return kind === 'licence' ? checkLicence(data, options) : verifyEvidence(data, options);
  }

  return {
    SHIPPED,
    LICENCE_STATES,
    VerificationError,
    verifyEvidence,
    checkLicence,
    verifyDocument,
    documentKind,
    isTlogProof,
    TLOG_PROOF_FORMAT,
    parseIdentity: D.parseIdentity,
    IdentityError: D.IdentityError,
    redactUrl: RPC.redactUrl,
    isHttpUrl: RPC.isHttpUrl,
    utcText,
    loadStrict: J.loadStrict,
    StrictJsonError: J.StrictJsonError,
    jcs: J.jcs,
    toHex: J.toHex,
    fromHex: J.fromHex,
    pyRepr: J.pyRepr,
    hashLeaf: M.hashLeaf,
    rootFromInclusionProof: M.rootFromInclusionProof,
    rootFromMultiProof: M.rootFromMultiProof,
    canonicalRecord: R.canonicalRecord,
    callContract,
    ContractCallError,
    newRun,
    recordUnexpected,
    checkIdentity,
    checkChain,
  };
});
