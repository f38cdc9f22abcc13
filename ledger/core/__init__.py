"""The frozen core: records and all tree mathematics. Pure: no I/O, and nothing of the
rest of the project is imported here.

FROZEN: the output of these modules is part of every proof already issued (leaf hashes,
roots, inclusion and consistency proofs, tile layouts). Change them only with a new
record or proof version; never in place.

- `records`: the record envelope and its kinds, canonical bytes (RFC 8785), leaf hash.
- `merkle`: RFC 9162 hashing, which nodes a proof needs, proof verification, C2SP tile
  maths (`merkle.tiles`), multi-entry proofs (`merkle.multiproof`), the growing right
  edge of a tree (`merkle.compact`).
"""
