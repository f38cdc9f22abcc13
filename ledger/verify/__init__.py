"""The verifier: everything an auditor, a regulator or a licensee runs, trusting only
mathematics, the chain and the log identity they pinned. Imports the frozen core
(ledger.core) and the public formats (ledger.formats) only: no service, store, API or
web3, so it installs without them (`pip install model-ledger`).

- `bundle`: evidence bundles, and the chain checks every document shares;
- `pack`: evidence packs (many entries, one multi-entry proof);
- `audit`: a whole export against the chain's anchors;
- `licence`: a licence record against the pinned LicenceRegistry;
- `rpc`: the one JSON-RPC reader, its calls derived from the shipped ABI;
- `campaign`, `html`: campaign reports from a verified pack, and their pages.
"""
