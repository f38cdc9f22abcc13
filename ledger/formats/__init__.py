"""The public documents and interfaces of model-ledger, one owner each.

What a verifier reads and what the service writes meet here: the log identity document
that verifiers pin (`identity`), and the contracts' ABI and runtime code as compiled
(`abi`, reading the shipped `contracts/*.json`). Nothing here does I/O beyond reading
those shipped files, and nothing imports the service, the store, web3 or FastAPI.
"""
