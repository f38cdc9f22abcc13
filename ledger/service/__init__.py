"""The service: what the operator runs. Ingest, the sequencer, the anchorer, the licence
issuer, evidence building, provenance, relaying, leadership and the runtime that
`mledger up` and `mledger serve` share. It writes what the verifiers read, through the
store (ledger.store) and the chain (ledger.chain); nothing a verifier runs imports it.
"""
