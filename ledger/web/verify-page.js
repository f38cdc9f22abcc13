/*
 * The verification page: the pinned log, the form, the answer. Runs LedgerVerify
 * (verify-core.js) and shows its result in plain words. Text only (textContent): nothing
 * pasted is ever parsed as HTML.
 *
 * The log identity the user pins is remembered in this browser (localStorage). A link may
 * carry one in its fragment, #log=<base64url of the identity JSON>, and it is never pinned
 * by itself: with none pinned the page shows the link's identity and pins it only when the
 * user confirms; with one pinned that differs in any field (rpc_url and explorer
 * included) it shows both and asks, keeping the pinned one in use until the user chooses.
 * The fragment is read once, when the page loads: a page that opened this one (or any
 * script holding a handle on it) can change the fragment, so a change is never shown as
 * the link's log. If it changes while the question is open, the question is closed and
 * nothing is pinned. Every identity shows its fingerprint (the first 8 bytes of SHA-256 of
 * its RFC 8785 form); the button pins the identity whose fingerprint is on the screen, and
 * ignores clicks for CLICK_DELAY_MS after the question is drawn. The service sends
 * Cross-Origin-Opener-Policy: same-origin, so a page on another origin that opened this
 * one loses its handle on it.
 *
 * The chain node is never chosen by the page. The node field stays empty until the user
 * types a node, or presses the button that names the pinned identity's rpc_url and says
 * that it is the operator's node, which can lie about the chain (your own node, or another
 * provider's, checks independently). No part of the URL sets it. The result names the node
 * it read, and says when it was the operator's suggestion.
 */
(function () {
  'use strict';

  const V = window.LedgerVerify;
  const STORE_KEY = 'model-ledger:pinned-log';
  /** Milliseconds after the question about a link's log is drawn during which its pin
   * button ignores clicks: a click meant for what was there before is not a choice. */
  const CLICK_DELAY_MS = 500;
  const MAX_SHOWN_ENTRIES = 1000;
  const $ = (id) => document.getElementById(id);

  /* What each check establishes when it passes, and what its failure means, for a reader
   * who is not an engineer. */
  const EXPLAIN = {
    bundle: [
      'The file is a well-formed evidence bundle: strict JSON, every field present and of the right type, nothing else.',
      'The file is not a readable evidence bundle, so nothing in it can be relied on.',
    ],
    pack: [
      'The file is a well-formed evidence pack: strict JSON, every field present and of the right type, entries in log order, none twice.',
      'The file is not a readable evidence pack, so nothing in it can be relied on.',
    ],
    'log identity': [
      'The document is about the log you pinned: the same chain, the same contract address and the same log id (for a licence: the same' +
        ' registry). Anyone can deploy a copy of the contract, so evidence about any other log is refused, however well it checks out.',
      'The document is about another log than the one you pinned (another chain, contract, log id or registry). Anyone can deploy a copy' +
        ' of the contract and put anything in it, so this proves nothing about the pinned log.',
    ],
    record: [
      'The record is a valid model-ledger record in its one canonical form (RFC 8785), so the exact bytes the log hashed can be rebuilt from it.',
      'The record is not a valid model-ledger record in its canonical form, so the bytes the log hashed cannot be rebuilt from it.',
    ],
    records: [
      'Every record is a valid model-ledger record in its one canonical form (RFC 8785), and no record is listed twice.',
      'A record is not a valid model-ledger record in its canonical form, or is listed twice.',
    ],
    query: [
      'Every entry matches the question the pack says it answers (accounts, time range, model, kind). A pack cannot prove that no other' +
        ' entry matches: an audit of the whole log can.',
      'An entry does not match the question the pack says it answers.',
    ],
    'leaf hash': [
      "Hashing the record gives exactly the fingerprint (leaf hash) the log recorded: not one character of the record differs from what was logged.",
      'The record does not hash to the fingerprint the document gives: the record was changed, or the fingerprint is not its own.',
    ],
    inclusion: [
      "Inclusion: the proof connects each record's fingerprint, at its position, to the log's root hash at the stated size. The record is part" +
        ' of that history of the log, which nobody can rewrite without changing the root.',
      'The proof does not connect the records to the stated root hash: a record, its position, a proof node or the root differs from what was logged.',
    ],
    'chain id': ['The node you read serves the chain the pinned log is anchored on.', "The node serves another chain than the pinned log's."],
    contract: [
      'The code at the pinned address is exactly the contract model-ledger publishes (compared by its SHA-256), not a look-alike that could answer anything.',
      'The code at the pinned address is not the contract model-ledger publishes (or there is none), so its answers cannot be trusted.',
    ],
    log: [
      'The contract holds the pinned log, and it accepts only checkpoints signed with the pinned log key.',
      'The contract does not hold the pinned log as its identity describes it (another log key, or a log retired before this size).',
    ],
    'root on chain': [
      'Root on chain: the contract on the public chain holds this same root hash for this size of the log. The operator committed to it in' +
        ' public and cannot change it afterwards.',
      'The contract on the chain does not hold this root hash for this size of the log: the operator never committed to this history in public.',
    ],
    'anchor transaction': [
      'The transaction the document names really anchored this root in that contract, in the block the document names.',
      'The transaction the document names did not anchor this root in the pinned contract, in the block it names.',
    ],
    'anchor block': [
      "Anchor block: that block is on the chain with that hash. Its time, set by the chain and not by the operator, is the latest time at" +
        " which the records can have existed for the first time: they 'existed no later than' it.",
      "The block the document names is not on the chain with that hash and time, so the time the document states is not the chain's.",
    ],
    'checkpoint note': [
      "The document's checkpoint note (the same checkpoint as a C2SP signed note, the form transparency logs and their witnesses" +
        " speak) states the document's size and root hash, and carries a valid signature by the pinned log's note key (when the" +
        ' pinned log names one; else the line says the signature was not checked).',
      "The checkpoint note is of another size or root hash than the document, names another log, or lacks a valid signature by the" +
        " pinned log's note key: it is not this log's statement of this history.",
    ],
    witnesses: [
      'At least the quorum of the witnesses you trust (those you named, or else those the pinned log identity lists) cosigned the' +
        ' checkpoint, each cosignature checked; cosignatures of keys you do not trust are not counted (and not checked).',
      'A witness you trust has a cosignature on the note that does not verify (or is dated in the future), or fewer of your' +
        ' witnesses than the quorum cosigned the checkpoint (or the document carries no note to count).',
    ],
    chain: ['', 'The chain node could not be read, so nothing was decided: try again, or another node of the same chain.'],
    licence: [
      'The file holds a licence grant (or amendment) record, in a form the log accepts.',
      'The file holds no licence grant or amendment record the log would accept.',
    ],
    commitment: [
      "The licence's fingerprint: the hash of its record. It is all the registry on the chain stores, so the chain learns nothing else about the licence.",
      '',
    ],
    issuer: [
      "The licence was granted with the pinned log's own key (its log key signs every grant). A grant signed by any other key" +
        " would not be this log's licence.",
      "The licence was granted with another key than the pinned log's key: the registry's issuer is not this log (one deployed" +
        " with a leaked key, say). Such a grant is not this log's licence, whatever the registry says of its status.",
    ],
    status: [
      "The licence registry on the chain holds this licence, with the validity window of the record, in the state named below" +
        ' (active, or proven not active: revoked, expired or not yet valid).',
      "The licence registry on the chain does not hold this licence as active now with the record's validity window.",
    ],
    revocation: [
      "The file carries the revoke record's own evidence: it is in the log and anchored on the chain, and it is the revocation the" +
        ' registry holds (the leaf hash the log key signed when it revoked the licence), so the reason in it is the one the operator gave;' +
        ' or the registry has not revoked this commitment (see the verdict), or an amendment superseded it before the revocation.',
      "The revoke record the file carries is not proven, or is not the revocation the registry holds: its reason cannot be relied on.",
    ],
    verifier: ['', 'This page could not run the checks: a fault of the page or the browser, not a verdict on the document.'],
  };

  const form = $('form');
  const input = $('document');
  const rpcUrl = $('rpc-url');
  const identityInput = $('identity');

  let pinned = null; // the identity in use
  let pinnedFrom = '';
  let offered = null; // an identity the opened link carries, not pinned unless the user says so
  let armedAt = Infinity; // when the pin button of the question shown starts to count clicks
  let draws = 0; // the question's redraws, so a timer armed for an old one does nothing
  let documentBytes = null; // the chosen file, until the text is edited
  let recordBytes = null; // a tlog-proof's record file, until its text is edited
  let runs = 0;

  /* ---- small DOM helpers --------------------------------------------------------------- */

  function element(tag, text, attributes) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    return node;
  }

  /** A value or {text, href} (a link to the block explorer). */
  function valueNode(value) {
    if (value && typeof value === 'object' && value.href) {
      const span = element('span', `${value.text} `);
      span.appendChild(element('a', 'view in the explorer', { href: value.href, target: '_blank', rel: 'noopener noreferrer' }));
      return span;
    }
    return document.createTextNode(display(value));
  }

  /** Rows [label, value] into a <dl>; empty values are left out. */
  function fill(list, rows) {
    list.replaceChildren();
    for (const [label, value] of rows) {
      if (value === null || value === undefined || value === '') continue;
      list.appendChild(element('dt', label));
      const dd = element('dd', null, { 'data-field': label });
      dd.appendChild(valueNode(value));
      list.appendChild(dd);
    }
  }

  /** Any JSON value as short text. */
  function display(value) {
    if (value === null) return 'null';
    if (Array.isArray(value)) return value.map(display).join(', ');
    if (typeof value === 'object') return Object.keys(value).map((k) => `${k}: ${display(value[k])}`).join('; ');
    return String(value);
  }

  /* ---- the pinned log -------------------------------------------------------------------- */

  function loadPinned() {
    try {
      const text = window.localStorage.getItem(STORE_KEY);
      return text ? V.parseIdentity(text) : null;
    } catch (error) {
      return null;
    }
  }

  function storePinned(identity) {
    try {
      if (identity) window.localStorage.setItem(STORE_KEY, identity.text());
      else window.localStorage.removeItem(STORE_KEY);
    } catch (error) {
      /* storage refused (a private window, some file:// pages): pinned for this visit only */
    }
  }

  function toBase64Url(bytes) {
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function fromBase64Url(text) {
    if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('the link\'s log is not base64url');
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  }

  /** An identity's fingerprint as shown: the first 8 bytes of SHA-256 of its RFC 8785
   * form (LogIdentity.canonical), in groups of 4 hex digits. */
  function fingerprintOf(identity) {
    return identity.fingerprint().slice(2, 18).match(/.{4}/g).join(' ');
  }

  function identityRows(identity) {
    const explorer = identity.explorer;
    return [
      ['fingerprint', fingerprintOf(identity)],
      ['name', identity.name],
      ['chain id', identity.chainId.toString()],
      ['LogAnchor contract', identity.logAnchor],
      ['log id', identity.logId],
      ['log key', identity.logSigner],
      ['LicenceRegistry contract', identity.licenceRegistry === null ? 'none (this log issues no licences)' : identity.licenceRegistry],
      ['deployed in block', explorer ? { text: identity.deploymentBlock.toString(), href: blockLink(identity, identity.deploymentBlock) } : identity.deploymentBlock.toString()],
      ['suggested node', identity.rpcUrl === null ? 'none' : `${identity.rpcUrl} (the operator's node: used only if you choose it)`],
      ['block explorer', explorer === null ? 'none' : explorer],
    ];
  }

  function explorerBase(identity) {
    return identity && identity.explorer ? identity.explorer.replace(/\/+$/, '') : null;
  }

  function txLink(identity, hash) {
    const base = explorerBase(identity);
    return base ? `${base}/tx/${hash}` : null;
  }

  function blockLink(identity, number) {
    const base = explorerBase(identity);
    return base ? `${base}/block/${number}` : null;
  }

  function linked(text, href) {
    return href ? { text, href } : text;
  }

  function renderLog() {
    const status = $('log-status');
    status.dataset.state = pinned ? 'pinned' : 'none';
    status.textContent = pinned
      ? `Pinned (${pinnedFrom}): ${pinned.describe()}; fingerprint ${fingerprintOf(pinned)}. Evidence is checked against this log only.`
      : 'No log is pinned. Without one only the mathematics can be checked: nothing says which log the evidence is about, and nothing is read from the chain.';
    fill($('pinned-log'), pinned ? identityRows(pinned) : []);
    $('share').hidden = !pinned;
    if (pinned) $('share-link').setAttribute('href', `#log=${toBase64Url(new TextEncoder().encode(pinned.text()))}`);
    $('forget').disabled = !pinned;
    $('log-edit').open = !pinned;
    $('log-vkey-hint').textContent = pinned && pinned.noteVkey
      ? `Empty: the pinned log's note key, ${pinned.noteVkey} (its name is the log's origin).`
      : `${pinned ? 'The pinned log identity names no note key' : 'No log is pinned'}: give the log's note key (its note_vkey,` +
        ' from `mledger identity` or GET /v1/log, through a channel you trust), or pin a log identity that names one.';
    updateRpc();
  }

  function setPinned(identity, from) {
    if (rpcUrl.dataset.source === 'suggested') { // the old identity's node goes with it
      rpcUrl.value = '';
      rpcUrl.dataset.source = '';
    }
    pinned = identity;
    pinnedFrom = from;
    $('link-error').hidden = true;
    storePinned(identity);
    renderLog();
  }

  function dropFragment() {
    if (window.location.hash) window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }

  /** Show the link's identity and ask: to pin it (none pinned), or to switch to it (another
   * pinned, both shown, what differs marked). Nothing changes until the user chooses. */
  function offer(identity) {
    offered = identity;
    const panel = $('log-conflict');
    const fresh = pinned === null;
    const fingerprint = fingerprintOf(identity);
    panel.dataset.mode = fresh ? 'new' : 'differs';
    $('conflict-title').textContent = fresh
      ? 'The link you opened carries a log identity. Nothing was pinned: a link can come from anyone, and an identity that' +
        ' differs from the operator\'s in any field (its contract, its log key, or only the node it suggests) would make' +
        ' this page check the wrong things. Compare it with what the operator published, through a channel you trust, then choose.'
      : 'The link you opened names another log identity than the one pinned in this browser (the fields that differ are marked,' +
        ' the suggested node and the explorer included). Nothing was switched. Compare the two with what the operator' +
        ' published, then choose.';
    $('use-link').textContent = fresh ? "Pin the link's log" : "Switch to the link's log";
    $('keep-pinned').textContent = fresh ? 'Do not pin it' : 'Keep the pinned log';
    $('conflict-pinned-side').hidden = fresh;
    fill($('conflict-pinned'), fresh ? [] : identityRows(pinned));
    fill($('conflict-link'), identityRows(identity));
    if (!fresh) { // mark what differs: the text, or where a link in it goes
      const seen = (dd) => [dd.textContent, ...[...dd.querySelectorAll('a')].map((a) => a.getAttribute('href'))].join('\n');
      const mine = [...$('conflict-pinned').querySelectorAll('dd')];
      const theirs = [...$('conflict-link').querySelectorAll('dd')];
      for (const [side, other] of [[mine, theirs], [theirs, mine]]) {
        for (const dd of side) {
          const match = other.find((candidate) => candidate.dataset.field === dd.dataset.field);
          if (!match || seen(match) !== seen(dd)) dd.dataset.differs = 'true';
        }
      }
    }
    $('link-fingerprint').textContent =
      `The button pins exactly the identity with fingerprint ${fingerprint} (the first 8 bytes of SHA-256 of the identity in` +
      ' its RFC 8785 form), the one shown here.';
    panel.dataset.fingerprint = fingerprint;
    panel.hidden = false;
    holdClicks();
  }

  /** The pin button ignores clicks for CLICK_DELAY_MS after the question is drawn. */
  function holdClicks() {
    draws += 1;
    const draw = draws;
    const panel = $('log-conflict');
    $('use-link').disabled = true;
    panel.dataset.armed = 'false';
    armedAt = performance.now() + CLICK_DELAY_MS;
    setTimeout(() => {
      if (draw !== draws || panel.hidden) return;
      $('use-link').disabled = false;
      panel.dataset.armed = 'true';
    }, CLICK_DELAY_MS);
  }

  function closeOffer() {
    offered = null;
    draws += 1;
    armedAt = Infinity;
    const panel = $('log-conflict');
    panel.hidden = true;
    panel.dataset.mode = '';
    panel.dataset.fingerprint = '';
    panel.dataset.armed = 'false';
    dropFragment();
  }

  /** Say something about the link (in place of the question); `reason` for tests. */
  function linkMessage(reason, text) {
    const shown = $('link-error');
    shown.dataset.reason = reason;
    shown.textContent = text;
    shown.hidden = false;
  }

  /** The `log` of the fragment, still base64url (null: none). */
  function fragmentLog() {
    return new URLSearchParams(window.location.hash.slice(1)).get('log');
  }

  /** Read the link's log, once, when the page loads. */
  function readFragment() {
    const encoded = fragmentLog();
    if (encoded === null) return;
    $('link-error').hidden = true;
    let identity;
    try {
      identity = V.parseIdentity(fromBase64Url(encoded));
    } catch (error) {
      linkMessage('unreadable', `The link you opened carries a log identity that cannot be read (${error.message}); nothing was pinned from it.`);
      return;
    }
    if (pinned !== null && pinned.text() === identity.text()) {
      closeOffer(); // the very log pinned already
      return;
    }
    offer(identity);
  }

  /** The fragment changed after the page loaded: never read as the link's log. */
  function fragmentChanged() {
    if (offered !== null) {
      closeOffer();
      linkMessage(
        'changed',
        'The link changed while its log identity was shown: nothing was pinned, and the question was closed. A page that' +
          ' opened this one can change its link: open the link again, from a source you trust, to see the log it carries.',
      );
      return;
    }
    const encoded = fragmentLog();
    if (encoded === null) return;
    let identity = null;
    try {
      identity = V.parseIdentity(fromBase64Url(encoded));
    } catch (error) {
      /* shown as any other change */
    }
    if (identity !== null && pinned !== null && pinned.text() === identity.text()) {
      dropFragment(); // the very log pinned (this page's own share link, say)
      return;
    }
    linkMessage(
      'changed',
      'The link changed after this page was opened: nothing was pinned from it. A page that opened this one can change its' +
        ' link; reload the page to see the log the link now carries, and compare it with what the operator published.',
    );
  }

  function pinFrom(data) {
    const shown = $('identity-error');
    try {
      const identity = V.parseIdentity(data);
      shown.hidden = true;
      closeOffer();
      setPinned(identity, 'by you');
      return true;
    } catch (error) {
      shown.textContent = error instanceof V.IdentityError ? `Not pinned: ${error.message}` : `Not pinned: ${error}`;
      shown.hidden = false;
      return false;
    }
  }

  /* ---- the node ---------------------------------------------------------------------------- */

  /** The node field is the user's: the page never fills it by itself. The pinned
   * identity's rpc_url is offered on a button that names it and says whose node it is. */
  function updateRpc() {
    const suggestion = pinned && pinned.rpcUrl ? pinned.rpcUrl : null;
    const given = rpcUrl.value.trim();
    $('suggested').hidden = suggestion === null || given === suggestion;
    if (suggestion !== null) {
      $('use-suggested').textContent = `Use the operator's node ${suggestion}`;
      $('suggested-warning').textContent =
        `The pinned log identity suggests ${suggestion}. It is the operator's node, and a node can lie about the chain:` +
        ' use your own node (or another provider\'s) for a check that does not rely on the operator.';
    }
    const hint = $('rpc-hint');
    if (!pinned) {
      hint.textContent = 'Pin the log first (section 1): without it the chain cannot tell which contract counts, and only the mathematics is checked.';
    } else if (!given) {
      hint.textContent = `Give a node of chain id ${pinned.chainId}, your own for independence. Without one only the mathematics is checked.`;
    } else if (given === suggestion) {
      hint.textContent = `The operator's node, suggested by the pinned log identity: it can lie about the chain. Your own node of chain id ${pinned.chainId} checks independently.`;
    } else {
      hint.textContent = `Your node; it must serve chain id ${pinned.chainId}.`;
    }
  }

  /* ---- the answer ---------------------------------------------------------------------------- */

  function recordRows(record) {
    const body = record && typeof record.body === 'object' && record.body !== null ? record.body : {};
    const client = body.client && typeof body.client === 'object' ? body.client : {};
    const kinds = {
      interaction: [
        ['account', body.account_id],
        ['model', body.model],
        ['time', record.ts],
        ['input tokens', body.input_tokens],
        ['output tokens', body.output_tokens],
        ['request id', body.request_id],
        ['API key id', body.api_key_id],
        ['endpoint', body.endpoint],
        ['client network (ASN)', client.asn],
        ['client software', client.user_agent],
        ['client IP (SHA-256)', client.ip_sha256],
        ['metadata', body.metadata],
        ['prompt (SHA-256)', body.prompt_sha256],
        ['response (SHA-256)', body.response_sha256],
      ],
      licence: [
        ['licence id', body.licence_id],
        ['action', body.action],
        ['licensee', body.licensee],
        ['models', body.models],
        ['scope', body.scope],
        ['valid from', body.valid_from],
        ['valid until', body.valid_until],
        ['terms (SHA-256)', body.terms_sha256],
        ['reason', body.reason],
        ['time', record.ts],
      ],
      model: [
        ['model', body.model_id],
        ['version', body.version],
        ['weights (SHA-256)', body.artifact_sha256],
        ['derived from', Array.isArray(body.parents) ? body.parents.map((p) => `${display(p.model_id)} ${display(p.version)} (${display(p.relation)})`) : body.parents],
        ['training data (SHA-256)', body.training_data_sha256],
        ['licence id', body.licence_id],
        ['time', record.ts],
      ],
      digest: [
        ['document (SHA-256)', body.sha256],
        ['time', record.ts],
      ],
      erased: [
        ['erased at', record.ts],
        ['erasure record', body.erased_by],
        ['erasure', body.proven
          ? 'proven: the logged erasure lists this entry (check "erasure")'
          : "the operator's claim: no proof that the logged erasure lists this entry"],
      ],
    };
    return [['kind', record.kind], ...(kinds[record.kind] || [['body', body]]), ['salt', record.salt]];
  }

  /** A record in a few words, for the table of a pack. */
  function summary(record) {
    const body = record && record.body && typeof record.body === 'object' ? record.body : {};
    const words = {
      interaction: () => `${display(body.input_tokens)} in / ${display(body.output_tokens)} out tokens, request ${display(body.request_id)}`,
      licence: () => `licence ${display(body.licence_id)} (${display(body.action)}) for ${display(body.licensee)}`,
      model: () => `model ${display(body.model_id)} version ${display(body.version)}`,
      digest: () => `document ${display(body.sha256)}`,
      erased: () => `erased (the record is gone; its leaf hash is proven), by ${display(body.erased_by)}` +
        (body.proven ? ', proven erased by that logged erasure' : ''),
    }[record && record.kind];
    return words ? words() : '';
  }

  /** What the page shows for an erased entry: no record, when and by which record it was
   * erased, and whether the document proved that erasure lists it (`checked`: it verified). */
  function erasedRecord(erased, checked) {
    return { kind: 'erased', ts: erased.at, body: { erased_by: erased.by, proven: checked && erased.member !== null } };
  }

  function showRecords(result) {
    const holder = $('records');
    holder.replaceChildren();
    const doc = result.document;
    if (!doc) return;
    const entries = doc.noun === 'pack'
      ? doc.records.map((record, i) => ({ record, leafIndex: doc.indices[i], leafHash: doc.leafHashes ? doc.leafHashes[i] : null }))
      : doc.entries.map((entry) => ({
        record: entry.erased ? erasedRecord(entry.erased, result.verdict !== 'invalid') : entry.record,
        leafIndex: entry.leafIndex,
        leafHash: entry.leafHash,
      }));
    // A failed check leaves every field below unproven: say so beside them, not only above.
    const unproven = result.verdict === 'invalid';
    const mark = unproven ? ` (NOT proven: the "${result.error.check}" check failed; these fields may have been altered)` : '';
    const proven = { 'data-proven': String(!unproven) };
    if (entries.length <= 5) {
      for (const entry of entries) {
        holder.appendChild(element('h4', `Record at leaf index ${entry.leafIndex}${mark}`, proven));
        const list = element('dl', null, { class: 'record', ...proven });
        const warning = unproven ? [['NOT proven', `the "${result.error.check}" check failed`]] : [];
        fill(list, [...warning, ...recordRows(entry.record), ['leaf hash', entry.leafHash]]);
        holder.appendChild(list);
      }
      return;
    }
    holder.appendChild(element('h4', `The ${entries.length.toLocaleString('en-US')} records${mark}`, proven));
    const table = element('table', null, { class: 'records', ...proven });
    const head = element('tr');
    for (const title of ['leaf index', 'kind', 'time', 'account', 'model', 'what']) head.appendChild(element('th', title));
    table.appendChild(head);
    for (const entry of entries.slice(0, MAX_SHOWN_ENTRIES)) {
      const r = entry.record;
      const body = r.body && typeof r.body === 'object' ? r.body : {};
      const row = element('tr');
      const account = r.kind === 'licence' ? body.licensee : body.account_id;
      const model = r.kind === 'model' ? body.model_id : body.model;
      for (const cell of [entry.leafIndex, r.kind, r.ts, account, model, summary(r)]) row.appendChild(element('td', cell === undefined ? '' : display(cell)));
      table.appendChild(row);
    }
    holder.appendChild(table);
    if (entries.length > MAX_SHOWN_ENTRIES) {
      holder.appendChild(element('p', `(the first ${MAX_SHOWN_ENTRIES.toLocaleString('en-US')} shown; all ${entries.length.toLocaleString('en-US')} were checked)`, { class: 'hint' }));
    }
  }

  function evidenceFacts(result) {
    const doc = result.document;
    if (!doc) return [['document', 'could not be read']];
    const identity = result.identity;
    const claimed = doc.anchor;
    const anchored = result.anchored;
    const notEstablished = result.verdict === 'mathematics only'
      ? 'not established: the chain was not consulted'
      : 'not established';
    return [
      ['format', doc.format],
      ['log', `log id ${doc.logId}, LogAnchor ${doc.contract} on chain id ${doc.chainId}`],
      ['log size', doc.treeSize.toString()],
      ['root hash', doc.root],
      ['query', doc.noun === 'pack' ? doc.query.describe() : null],
      ['entries', (doc.noun === 'pack' ? doc.indices.length : doc.entries.length).toLocaleString('en-US')],
      ['anchor transaction', linked(claimed.txHash, txLink(identity, claimed.txHash))],
      ['anchor block', linked(`${claimed.blockNumber} (${claimed.blockHash})`, blockLink(identity, claimed.blockNumber))],
      ['block time the document states', V.utcText(claimed.blockTimestamp)],
      ['existed no later than', anchored ? `${V.utcText(anchored.timestamp)} (block ${anchored.blockNumber}, read from the chain)` : notEstablished],
      ['witnesses', cosignedFact(result)],
    ];
  }

  /** Who cosigned the document's checkpoint note, as the "witnesses" check counted them. */
  function cosignedFact(result) {
    const doc = result.document;
    if (!doc.checkpointNote) return null;
    const cosigned = result.cosigned;
    if (!cosigned) return 'not checked: the checkpoint note was not reached, or failed its check';
    if (!cosigned.trusted) return 'none trusted: no witness named, and none in the pinned log identity (the cosignatures were not checked)';
    const names = cosigned.witnesses.map((w) => `${w.name} at ${V.utcText(w.timestamp)} (the witness's clock)`).join('; ') || 'none';
    return `${cosigned.witnesses.length} of ${cosigned.trusted} trusted (quorum ${cosigned.quorum}): ${names}`;
  }

  /** What a checkpoint note's log signature and cosignatures add to evidence, and what not. */
  function noteMeaning(result, proven, notProven) {
    const doc = result.document;
    if (!doc.checkpointNote || !['valid', 'mathematics only'].includes(result.verdict)) return;
    const identity = result.identity;
    if (identity && identity.noteVkey) {
      proven.push("The log's signature: the pinned log's note key signed the same checkpoint (size and root hash) as a C2SP checkpoint" +
        ' note, the form transparency logs and witnesses speak. The log cannot later show a history without these records at this size' +
        ' without contradicting its own signature.');
    } else {
      notProven.push("The checkpoint note's signature: no pinned log identity names a note key, so whoever signed the note was not checked.");
    }
    const cosigned = result.cosigned;
    if (cosigned && cosigned.trusted) {
      const names = cosigned.witnesses.map((w) => w.name).join(', ');
      proven.push(`Witnesses: ${cosigned.witnesses.length} of the ${cosigned.trusted} witnesses trusted (${names}) cosigned the same` +
        ` checkpoint (the quorum was ${cosigned.quorum}). A witness cosigns a checkpoint only after checking that it extends every` +
        ' earlier checkpoint of this log it cosigned, so the operator cannot show you this history and others a different one (a split' +
        ' view) unless those witnesses take part. That holds within minutes of logging, before the next anchor reaches the chain.');
    } else {
      notProven.push('That others were shown the same history: the note\'s cosignatures were not checked, because no witness is trusted' +
        ' (name the witnesses you trust, or pin a log identity that lists them).');
    }
    notProven.push("What the witnesses do not add: a cosignature's time is the witness's own clock, not the chain's, so the" +
      " witnesses do not prove when the records were logged (the anchor does); they do not check what the records say; and they" +
      ' are only as good as the witnesses trusted and the quorum asked for: witnesses run by the operator prove nothing.');
  }

  function licenceFacts(result) {
    const licence = result.licence;
    if (!licence) return [['document', 'could not be read']];
    const identity = result.identity;
    const chain = licence.onChain;
    const block = (n) => (n === 0n ? null : linked(n.toString(), blockLink(identity, n)));
    return [
      ['commitment', licence.commitment],
      ['registry the file names', licence.contract === null ? 'none' : `${licence.contract}${licence.chainId === null ? '' : ` on chain id ${licence.chainId}`}`],
      ['registry checked', chain ? `${chain.registry} on chain id ${chain.chainId}` : null],
      ['status on chain', chain ? chain.state.replace(/_/g, ' ') : 'not read: the chain was not consulted'],
      ['read at block', chain ? linked(`${chain.blockNumber} (${V.utcText(chain.blockTime)})`, blockLink(identity, chain.blockNumber)) : null],
      ['valid on chain', chain && chain.grantedBlock !== 0n ? `${V.utcText(chain.validFrom)} to ${V.utcText(chain.validUntil)}` : null],
      ['granted in block', chain ? block(chain.grantedBlock) : null],
      ['granted with key', chain && chain.issuer ? `${chain.issuer}${chain.issuer === identity.logSigner ? " (the pinned log key)" : ", NOT the pinned log key"}` : null],
      ['revoked in block', chain ? block(chain.revokedBlock) : null],
      ['revocation on chain', chain && chain.revocation
        ? `${chain.revocation} (${chain.superseded ? 'the leaf hash of the amend record that superseded it, a commitment the registry holds' : "the revoke record's leaf hash the log key signed"})`
        : null],
      ['revocation record', revocationFact(licence, chain)],
    ];
  }

  /** The revoke record the file carries, proven and matched with the chain, in one line. */
  function revocationFact(licence, chain) {
    const proven = licence.revocationRecord;
    if (proven) {
      // the reason escaped as the sentence does (bidi and invisible characters shown as escapes)
      const tied = proven.matchesRegistry
        ? 'matches the registry'
        : chain.revokedBlock === 0n
          ? 'the registry has NOT revoked this commitment'
          : 'revoked the licence after the amendment that superseded this commitment';
      return `leaf ${proven.leafHash}, ${proven.ts}, reason ${proven.reason === null ? 'none given' : V.pyRepr(proven.reason)};` +
        ` in the log, anchored in block ${proven.anchorBlock}: ${tied}`;
    }
    if (chain && chain.superseded) return null;
    if (!chain || chain.revokedBlock === 0n) return null;
    return 'not in this file: the GET /v1/licences/{id} answer fetched after the revocation carries its evidence (revoked.evidence)';
  }

  function factsTitle(result) {
    if (['valid', 'active'].includes(result.verdict)) return 'What was proven';
    if (result.verdict === 'not active') return 'What the chain says';
    if (result.verdict === 'invalid') return 'What the document claims (NOT proven: a check failed)';
    if (result.verdict === 'mathematics only') return 'What the document claims (its anchoring on the chain NOT checked)';
    if (result.verdict === 'not checked') return 'Not checked on this page';
    return 'What the document claims (NOT proven: the chain could not be read)';
  }

  function checkedAgainst(result) {
    const rpcGiven = rpcUrl.value.trim() !== '';
    if (result.kind === 'tlog-proof') {
      const key = $('log-vkey').value.trim();
      const log = key ? `the log's note key you gave (${key})` : result.identity ? `the note key of the pinned ${result.identity.describe()}` : 'no log key';
      const count = tlogWitnesses().length;
      const witnesses = count ? `${count === 1 ? 'the witness' : `the ${count} witnesses`} you named` : 'no witness (none named)';
      return `Checked against ${log} and ${witnesses}; the chain is not read for a tlog-proof${rpcGiven ? ' (the node you gave was not asked)' : ''}.`;
    }
    if (!result.identity) {
      return 'No log is pinned, so only the mathematics was checked: nothing says which log this is about' +
        `${rpcGiven ? ', and the node you gave was not asked (which contract counts is what the pinned log says)' : ''}.`;
    }
    let node = '; the chain was not consulted (no node given)';
    if (result.node) {
      node = result.fromSuggestion
        ? `, reading the chain from the node at ${result.node}, the operator's node that the pinned log identity suggests:` +
          ' it can lie about the chain, so this verdict is only as good as the operator\'s word; check with your own node for independence'
        : `, reading the chain from the node at ${result.node}, which you gave`;
    }
    return `Checked against the pinned ${result.identity.describe()}${node}.`;
  }

  /** What the result means in plain words: what was proven, what was not (and never can
   * be by this document), for a reader who is not an engineer. */
  function meaning(result) {
    if (result.meaning) return result.meaning; // a verifier that says it itself (completeness)
    const proven = [];
    const notProven = [];
    const verdict = result.verdict;
    if (verdict === 'invalid') {
      proven.push(`Nothing in this document can be relied on: the "${result.error.check}" check failed (see the checks below). ` +
        'A document changed after the log issued it, or about another log, fails this way.');
    } else if (verdict === 'not verified' && result.usage) {
      proven.push('Nothing was decided: the witnesses or the quorum you gave cannot be used (see the checks below). Correct them, or' +
        ' leave them empty to use those of the pinned log identity.');
    } else if (verdict === 'not verified') {
      proven.push('Nothing was decided: the chain could not be read. The document is neither proven nor refuted; try again, or another node of the same chain.');
    }
    if (result.kind === 'licence') {
      const licence = result.licence;
      if (verdict === 'active') {
        proven.push('The licence registry on the public chain holds this licence\'s fingerprint as active now, granted with the pinned log\'s key,' +
          ' with the validity window the record states. The operator cannot change that record without the fingerprint changing.');
      } else if (verdict === 'not active' && !result.error) {
        proven.push(`The licence registry on the public chain holds this licence, granted with the pinned log's key, and says it is` +
          ` ${licence.onChain.state.replace(/_/g, ' ')}: it is not in force now. That is a proven state, not a failed check.`);
      } else if (verdict === 'not active') {
        proven.push('The licence registry on the public chain does not hold this licence as active now (never granted, or held with another validity window).');
      } else if (verdict === 'mathematics only') {
        proven.push('Only the record was checked: its fingerprint (commitment) is computed from it. Whether the chain holds that licence as active was not read.');
      }
      if (licence || verdict !== 'invalid') {
        notProven.push('The licence terms themselves: the record names the terms document by its SHA-256 only; compare that hash with the terms you hold.');
        notProven.push('That the licensee kept to the licence: the registry says whether the licence is in force, not how it was used.');
      }
      return { proven, notProven };
    }
    const doc = result.document;
    if (!doc) return { proven, notProven };
    const count = doc.noun === 'pack' ? doc.indices.length : doc.entries.length;
    const records = count === 1 ? 'the record' : `the ${count.toLocaleString('en-US')} records`;
    if (verdict === 'valid') {
      const anchored = result.anchored;
      proven.push(`Inclusion: ${records} shown ${count === 1 ? 'is' : 'are'} part of the log at the leaf index given, in its history of` +
        ` ${doc.treeSize} entries whose root hash is ${doc.root}. Not one character of ${count === 1 ? 'it' : 'them'} differs from what was logged.`);
      proven.push(`The anchor: the operator committed to that history on the public chain, in block ${anchored.blockNumber}. A commitment` +
        ' on the chain cannot be changed or withdrawn later, by the operator or anyone else.');
      proven.push(`"Existed no later than ${V.utcText(anchored.timestamp)}": that block's time, set by the chain and not by the operator,` +
        ` is the latest moment at which ${records} can have been written: they were logged before it, how long before is not said.`);
    } else if (verdict === 'mathematics only') {
      proven.push(`Only the mathematics: ${records} fit the root hash the document states. Nothing shows yet that the operator committed` +
        ' to that root on the public chain, nor when: that needs the pinned log and a node of its chain.');
    }
    noteMeaning(result, proven, notProven);
    notProven.push('When a record was made: the time inside a record (its "ts") is the operator\'s word.' +
      (verdict === 'valid' ? ' Only the upper bound above comes from the chain.' : ' No bound from the chain was established here.'));
    notProven.push('That what a record says is true: the log proves the operator recorded it and cannot change or remove it afterwards, not that the' +
      ' interaction, licence or model happened as described.');
    const complete = doc.noun === 'pack' && result.completeKeys && result.completeKeys.length > 0;
    if (complete && verdict === 'valid') {
      proven.push(`Completeness: for each of the ${result.completeKeys.length === 1 ? 'account' : `${result.completeKeys.length} accounts`} of the` +
        ` query, the index the log key signed with this anchored checkpoint lists every entry of the account among the first ${doc.treeSize}` +
        ' entries of the log; the pack holds those that match the query and shows the others do not (the COMPLETE lines above). No' +
        ' matching entry was left out.');
    } else if (complete) {
      proven.push("Completeness, as far as the mathematics goes: each account's entries fit the index root the pack states (the COMPLETE" +
        ' lines above); that the log key signed and anchored that index root needs the pinned log and a node of its chain.');
    }
    notProven.push(complete
      ? `Entries after the first ${doc.treeSize}: the pack is complete for the log as it was at that size; for later entries, ask for a` +
        ' complete pack at a later anchored size. Nor that the operator computed its index honestly: an index that left an entry out is' +
        " not prevented but provable, by that entry's own evidence or an audit of the whole log (mledger audit)."
      : doc.noun === 'pack'
      ? 'That no other entry matches: a pack holds the matching entries of one size of the log it was built from; it cannot prove that no other entry' +
        ' matches its query (that entries were not left out). An audit of the whole log (mledger audit) can.'
      : 'That no other record exists: the log may hold other entries about the same account or model; this document proves this one.');
    notProven.push('That the time is the tightest possible: the document proves against one anchor. model-ledger builds evidence against the' +
      ' earliest anchor that holds its records unless asked for another (--anchor latest, or a size), so a later anchor gives a later time.');
    return { proven, notProven };
  }

  /** With a pinned log but no node, the page asks for one rather than choosing any. */
  function askNode(result) {
    const ask = $('ask-node');
    const wanted = result.identity !== null && !result.node && result.verdict === 'mathematics only';
    ask.hidden = !wanted;
    ask.textContent = wanted
      ? `The chain was not read: give a node of chain id ${result.identity.chainId} in "Chain node" above (your own, for a check that does` +
        ` not rely on the operator${pinned && pinned.rpcUrl ? ', or choose the operator\'s suggested node' : ''}), then press Verify again.` +
        ' This page never picks a node by itself.'
      : '';
    if (wanted) rpcUrl.focus();
  }

  function show(result) {
    $('result').hidden = false;
    const verdict = $('verdict');
    verdict.dataset.state = result.state;
    verdict.dataset.verdict = result.verdict;
    verdict.dataset.check = result.error ? result.error.check : '';
    verdict.dataset.field = result.error && result.error.field ? result.error.field : '';
    verdict.textContent = result.statement;
    // A complete pack: one COMPLETE line per account, as `mledger verify` prints them.
    const lines = !result.error && result.completeLines ? result.completeLines : [];
    $('complete').hidden = lines.length === 0;
    $('complete').replaceChildren(...lines.map((line) => element('li', line)));
    $('checked-against').textContent = checkedAgainst(result);
    $('checked-against').dataset.node = result.node ? (result.fromSuggestion ? 'suggested' : 'user') : '';
    $('facts-title').textContent = factsTitle(result);
    const isLicence = result.kind === 'licence';
    const isTlogProof = result.kind === 'tlog-proof';
    fill($('facts'), result.facts || (isLicence ? licenceFacts(result) : evidenceFacts(result)));
    const holder = $('records');
    holder.replaceChildren();
    if (isTlogProof) {
      if (result.record) {
        holder.appendChild(element('h4', result.proof ? `The record, entry ${result.proof.index} of the log` : 'The record'));
        const list = element('dl', null, { class: 'record' });
        fill(list, [...recordRows(result.record), ['leaf hash', result.proof ? result.proof.leafHash : null]]);
        holder.appendChild(list);
      }
    } else if (isLicence && result.licence) {
      holder.appendChild(element('h4', 'The licence record'));
      const list = element('dl', null, { class: 'record' });
      fill(list, recordRows(result.licence.record));
      holder.appendChild(list);
    } else if (!isLicence) {
      showRecords(result);
    }
    askNode(result);
    const explained = meaning(result);
    $('meaning').hidden = explained.proven.length + explained.notProven.length === 0;
    for (const [id, lines] of [['proven', explained.proven], ['not-proven', explained.notProven]]) {
      $(id).replaceChildren(...lines.map((line) => element('li', line)));
    }
    const checks = $('checks');
    checks.replaceChildren();
    for (const check of result.checks) {
      const item = element('li', null, { 'data-check': check.check, 'data-passed': String(check.passed) });
      // a licence proven revoked / expired / not yet valid passes its status check: say "not active", not "ok"
      const inactive = check.passed && check.check === 'status' && result.verdict === 'not active';
      item.appendChild(element('span', `${inactive ? 'not active' : check.passed ? 'ok' : 'FAILED'}: ${check.check}`, { class: 'check-name' }));
      const explain = (result.explain && result.explain[check.check]) || EXPLAIN[check.check] || ['', ''];
      item.appendChild(element('span', explain[check.passed ? 0 : 1], { class: 'explain' }));
      item.appendChild(element('span', check.detail, { class: 'detail' }));
      checks.appendChild(item);
    }
  }

  async function run() {
    const data = documentBytes || input.value;
    if (!documentBytes && !input.value.trim()) return;
    runs += 1;
    const number = runs;
    const verdict = $('verdict');
    $('result').hidden = false;
    verdict.dataset.state = 'running';
    verdict.dataset.verdict = '';
    verdict.dataset.check = '';
    verdict.dataset.field = '';
    verdict.textContent = 'checking...';
    $('checks').replaceChildren();
    $('facts').replaceChildren();
    $('records').replaceChildren();
    $('checked-against').textContent = '';
    $('ask-node').hidden = true;
    $('proven').replaceChildren();
    $('not-proven').replaceChildren();
    const node = rpcUrl.value.trim();
    const result = await V.verifyDocument(data, { identity: pinned, rpcUrl: node, ...tlogOptions() });
    result.fromSuggestion = Boolean(node) && pinned !== null && node === pinned.rpcUrl;
    if (number === runs) show(result);
  }

  /** The witness vkeys typed, one per line (blank lines left out). */
  function tlogWitnesses() {
    return $('witnesses').value.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  }

  /** What a tlog-proof is checked with: the record, the log's note key, the witnesses and
   * the quorum (empty: all of them; anything but a whole number is refused by the check). */
  function tlogOptions() {
    const quorum = $('quorum').value.trim();
    return {
      record: recordBytes || $('record').value,
      logVkey: $('log-vkey').value,
      witnesses: tlogWitnesses(),
      quorum: quorum === '' ? null : /^[0-9]{1,6}$/.test(quorum) ? Number(quorum) : quorum,
    };
  }

  /** Open the tlog-proof fields when the document is one. */
  function revealTlog(data) {
    if (V.isTlogProof(data)) $('tlog').open = true;
  }

  /** The chosen file's bytes (the picker is emptied, so the same file can be chosen again). */
  async function readFile(picker) {
    const file = picker.files[0];
    if (!file) return null;
    const bytes = new Uint8Array(await file.arrayBuffer());
    picker.dataset.name = file.name;
    picker.value = '';
    return bytes;
  }

  /* ---- wiring ------------------------------------------------------------------------------ */

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  input.addEventListener('input', () => {
    documentBytes = null;
    revealTlog(input.value);
  });
  $('record').addEventListener('input', () => {
    recordBytes = null;
  });
  $('record-file').addEventListener('change', async () => {
    const bytes = await readFile($('record-file'));
    if (!bytes) return;
    recordBytes = bytes;
    $('record').value = bytes.length <= 2 * 1024 * 1024 ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes) : `(${bytes.length} bytes from ${$('record-file').dataset.name})`;
  });
  input.addEventListener('paste', () => setTimeout(run, 0));
  $('file').addEventListener('change', async () => {
    const bytes = await readFile($('file'));
    if (!bytes) return;
    documentBytes = bytes;
    revealTlog(bytes);
    input.value = bytes.length <= 2 * 1024 * 1024 ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes) : `(${bytes.length} bytes from ${$('file').dataset.name})`;
    run();
  });
  rpcUrl.addEventListener('input', () => {
    rpcUrl.dataset.source = 'user';
    updateRpc();
  });
  $('use-suggested').addEventListener('click', () => {
    if (!pinned || !pinned.rpcUrl) return;
    rpcUrl.value = pinned.rpcUrl; // chosen by the user, on a button naming it and whose it is
    rpcUrl.dataset.source = 'suggested';
    updateRpc();
  });
  $('pin').addEventListener('click', () => pinFrom(identityInput.value));
  identityInput.addEventListener('paste', () => setTimeout(() => pinFrom(identityInput.value), 0));
  $('identity-file').addEventListener('change', async () => {
    const bytes = await readFile($('identity-file'));
    if (bytes) pinFrom(bytes);
  });
  $('forget').addEventListener('click', () => {
    setPinned(null, '');
    closeOffer();
  });
  $('keep-pinned').addEventListener('click', closeOffer);
  $('use-link').addEventListener('click', () => {
    const panel = $('log-conflict');
    if (offered === null || panel.hidden) return;
    if (performance.now() < armedAt || panel.dataset.armed !== 'true') return; // just drawn: not a choice yet
    const identity = offered;
    if (fingerprintOf(identity) !== panel.dataset.fingerprint) { // not the identity on the screen: pin nothing
      fragmentChanged();
      return;
    }
    const from = pinned === null
      ? 'from the link you opened, after you chose to pin it'
      : 'from the link you opened, replacing the one pinned before';
    setPinned(identity, from);
    closeOffer();
  });
  window.addEventListener('hashchange', fragmentChanged);

  pinned = loadPinned();
  pinnedFrom = pinned ? 'in this browser' : '';
  renderLog();
  readFragment();
})();
