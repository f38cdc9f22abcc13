/*
 * The verification page: reads the form, runs LedgerVerify (verify-core.js), shows the
 * answer. Text only (textContent): nothing pasted is ever parsed as HTML.
 *
 * Query parameters prefill the form: ?rpc=URL (the chain's JSON-RPC endpoint) and
 * ?registry=0x... (the LicenceRegistry address, for licence records).
 */
(function () {
  'use strict';

  const LOCAL_CHAIN_ID = '31337'; // Anvil, as `ledger up` runs it
  const LOCAL_RPC_URL = 'http://127.0.0.1:8545';
  const $ = (id) => document.getElementById(id);
  const form = $('form');
  const input = $('document');
  const rpcUrl = $('rpc-url');
  const registry = $('registry');

  const params = new URLSearchParams(window.location.search);
  rpcUrl.value = params.get('rpc') || '';
  registry.value = params.get('registry') || '';

  /** What a pasted document says about its chain: {chainId, registry} (either may be null). */
  function chainOf(text) {
    try {
      const doc = LedgerVerify.parseStrictJson(text);
      const named = doc.registry && typeof doc.registry === 'object' ? doc.registry : {}; // GET /v1/licences/{id}
      const chainId = typeof doc.chain_id === 'bigint' ? doc.chain_id : named.chain_id;
      return {
        chainId: typeof chainId === 'bigint' ? chainId.toString() : null,
        registry: typeof named.contract === 'string' ? named.contract : null,
      };
    } catch (error) {
      return { chainId: null, registry: null };
    }
  }

  /** Prefill the form from the document: its registry, and for the local chain id the local Anvil. */
  function suggestRpc() {
    const { chainId, registry: named } = chainOf(input.value);
    $('chain-hint').textContent = chainId ? `the document names chain id ${chainId}` : '';
    if (!rpcUrl.value && chainId === LOCAL_CHAIN_ID) rpcUrl.value = LOCAL_RPC_URL;
    if (!registry.value && named) registry.value = named;
  }

  function add(list, tag, text, attributes) {
    const element = document.createElement(tag);
    element.textContent = text;
    for (const [name, value] of Object.entries(attributes || {})) element.setAttribute(name, value);
    list.appendChild(element);
    return element;
  }

  function showProven(proven, kind, chainConsulted) {
    const list = $('proven');
    list.replaceChildren();
    if (!proven) {
      add(list, 'dt', 'nothing');
      add(list, 'dd', 'the document could not be read');
      return;
    }
    const rows = kind === 'licence'
      ? [
        ['licence', proven.what],
        ['commitment', proven.commitment],
        ['registry', proven.registry],
        ['chain id', proven.chainId],
        ['status on chain', proven.state],
        ['read at', proven.readAt],
        ['valid (record)', `${proven.validFrom} to ${proven.validUntil}`],
        ['valid (on chain)', proven.onchainValidFrom && `${proven.onchainValidFrom} to ${proven.onchainValidUntil}`],
        ['granted in block', proven.grantedBlock],
        ['revoked in block', proven.revokedBlock],
      ]
      : [
        ...proven.entries.flatMap((entry, i) => {
          const n = proven.entries.length > 1 ? ` ${i}` : '';
          return [
            [`entry${n}`, entry.what],
            [`ts in the record${n}`, entry.ts],
            [`leaf index${n}`, entry.leafIndex],
            [`leaf hash${n}`, entry.leafHash],
          ];
        }),
        ['log id', proven.logId],
        ['contract', proven.contract],
        ['chain id', proven.chainId],
        ['tree size', proven.treeSize],
        ['root', proven.root],
        ['block number', proven.blockNumber],
        ['existed no later than', proven.existedNoLaterThan || (chainConsulted ? 'not established' : 'not established: the chain was not consulted')],
      ];
    for (const [name, value] of rows) {
      if (value === null || value === undefined) continue;
      add(list, 'dt', name);
      add(list, 'dd', value, { 'data-field': name });
    }
  }

  /** Whether the facts shown were established, or are only the document's claims. */
  function provenTitle(result, kind) {
    if (result.state === 'verified') return 'What was proven';
    if (kind === 'licence' && result.error && result.error.check === 'status') return 'What the chain says';
    if (result.state === 'failed') return 'What the document claims (NOT proven: a check failed)';
    return 'What the document claims (NOT proven against the chain)';
  }

  function show(result, kind) {
    $('result').hidden = false;
    $('proven-title').textContent = provenTitle(result, kind);
    const verdict = $('verdict');
    verdict.dataset.state = result.state;
    verdict.dataset.check = result.error ? result.error.check : '';
    verdict.textContent = result.statement;
    showProven(result.proven, kind, result.chainConsulted);
    const checks = $('checks');
    checks.replaceChildren();
    for (const check of result.checks) {
      const item = add(checks, 'li', '', { 'data-check': check.check, 'data-passed': String(check.passed) });
      add(item, 'span', `${check.passed ? 'ok' : 'FAIL'}  ${check.check}`, { class: 'check-name' });
      add(item, 'span', ` ${check.detail}`);
    }
  }

  async function run() {
    const text = input.value.trim();
    if (!text) return;
    const verdict = $('verdict');
    $('result').hidden = false;
    verdict.dataset.state = 'running';
    verdict.dataset.check = '';
    verdict.textContent = 'checking...';
    $('checks').replaceChildren();
    $('proven').replaceChildren();
    const kind = LedgerVerify.documentKind(text) === 'licence' ? 'licence' : 'bundle';
    const rpc = rpcUrl.value.trim();
    const result = kind === 'licence'
      ? await LedgerVerify.checkLicence(text, rpc, registry.value.trim())
      : await LedgerVerify.verifyBundle(text, rpc);
    show(result, kind);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  input.addEventListener('input', suggestRpc);
  input.addEventListener('paste', () => setTimeout(() => {
    suggestRpc();
    run();
  }, 0));
  $('file').addEventListener('change', async () => {
    const file = $('file').files[0];
    if (!file) return;
    try {
      input.value = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
    } catch (error) {
      input.value = '';
      show({ state: 'failed', statement: `INVALID: bundle check failed: ${file.name} is not UTF-8 text`, checks: [], error: { check: 'bundle' }, proven: null }, 'bundle');
      return;
    }
    suggestRpc();
    run();
  });
})();
