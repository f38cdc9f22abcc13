"""Signed receipts and checkpoints: the log's promise, in EIP-712.

Every accepted entry gets a receipt: the log key's promise that the entry (its leaf
hash, at arrival number `seq`) was received at `received_at` and will be in the
anchored log within the maximum merge delay (MMD). A receipt whose entry is missing
from the anchored log after `received_at + mmd` is proof of misbehaviour.

One signature covers one commit group (the entries of one or more requests stored in
one transaction): the signed EIP-712 message holds the root of a small RFC 9162 tree
over the group's entries, and each receipt carries its entry's path to that root. So
every receipt is self-contained and checkable alone, and a batch of thousands costs
one signature::

    item        = SHA-256(0x00 || leaf_hash || seq as 8 bytes big-endian)
    batch_root  = RFC 9162 root of the items, in commit order
    Receipt(bytes32 logId, bytes32 batchRoot, uint256 batchSize,
            string receivedAt, uint256 maximumMergeDelay)

Domain: name "model-ledger", version "1", plus chainId and verifyingContract (the
LogAnchor) when the log has a deployment. Checkpoints are signed the same way as
``Checkpoint(bytes32 logId, uint64 treeSize, bytes32 root, bytes32 indexRoot)``: the
very signature the LogAnchor contract checks before it anchors a root (in EIP-2098
compact form, see `compact_signature`), so anyone holding a signed checkpoint may
anchor it. `indexRoot` is the root of the log's verifiable index at that size
(NO_INDEX_ROOT, all zero, while the log commits to none).

The log key is also the issuer of the log's LicenceRegistry: it signs each grant,
``Grant(bytes32 commitment, uint64 validFrom, uint64 validUntil)``, and each revocation,
``Revoke(bytes32 commitment, bytes32 revocation)``, in the registry's domain (the same
name and version, verifyingContract the registry), and anyone may send them. The log's
admin key, never the log key, signs ``Retire(bytes32 logId, uint64 trustedSize)`` in the
LogAnchor's domain (`sign_retirement`).

The signing side computes the EIP-712 digest itself (fast); `verify_receipt` goes
through eth-account's `encode_typed_data`, an independent implementation, and the
tests check both agree.

The log key comes from LEDGER_LOG_KEY (64 hex digits) or from ``log-key.json`` in the
data dir, an Ethereum V3 keystore created on first use; its password comes from
LEDGER_LOG_KEY_PASSWORD or from ``log-key.password`` (created 0600 next to it). The key
is never printed, logged or returned: only its address.

The note key (docs/c2sp.md) is a second, Ed25519 key: it signs every checkpoint as a
C2SP signed note (c2sp.org/tlog-checkpoint). It comes from LEDGER_NOTE_KEY (the
``PRIVATE+KEY+<origin>+<key ID>+<key>`` text of Go's sumdb/note) or from ``note-key`` in
the data dir, in the same form, created 0600 on first use. Its key name is the log's
origin, fixed when the key is created; only its verifier key (vkey) is ever shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_keys.datatypes import PrivateKey

from ledger.core.merkle.batch import all_inclusion_proofs
from ledger.formats.eip712 import (
    NO_INDEX_ROOT,
    Domain,
    checkpoint_struct,
    digest,
    grant_struct,
    receipt_struct,
    retire_struct,
    revoke_struct,
)
from ledger.formats.note import NoteError, Signer, generate_signer, parse_signer
from ledger.formats.receipt import ReceiptError, receipt_item
from ledger.formats.tlog_checkpoint import Checkpoint, log_origin
from ledger.keystore import (
    KeystoreError,
    account_from_hex,
    create_keystore,
    open_keystore,
    write_private,
)

DEFAULT_MMD = 3600
"""Default maximum merge delay, in seconds."""

LOG_KEY_ENV = "LEDGER_LOG_KEY"
LOG_KEY_PASSWORD_ENV = "LEDGER_LOG_KEY_PASSWORD"
LOG_KEY_FILE = "log-key.json"
LOG_KEY_PASSWORD_FILE = "log-key.password"
NOTE_KEY_ENV = "LEDGER_NOTE_KEY"
NOTE_KEY_FILE = "note-key"


class LogKeyError(KeystoreError):
    """The log key cannot be loaded or created; the message never quotes key material."""


def _sign_digest(key: PrivateKey, separator: bytes, struct_hash: bytes) -> str:
    """The 65-byte signature (r || s || v, v 27 or 28) of the EIP-712 digest of
    `struct_hash` in the domain whose separator is `separator`, as 0x hex."""
    signature = key.sign_msg_hash(digest(separator, struct_hash))
    r, s, v = int(signature.r), int(signature.s), int(signature.v)
    return "0x" + (r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([27 + v])).hex()


class LogSigner:
    """Signs receipts and checkpoints with the log key; shows only its address."""

    __slots__ = (
        "_account",
        "_key",
        "_registry_separators",
        "_separator",
        "domain",
        "mmd",
        "note",
    )

    def __init__(
        self,
        account: LocalAccount,
        domain: Domain,
        mmd: int = DEFAULT_MMD,
        note: Signer | None = None,
    ) -> None:
        self._account = account
        self.note = note
        """The note key (Ed25519): signs checkpoints as C2SP notes. None: not loaded."""
        self._key = PrivateKey(bytes(account.key))
        self.domain = domain
        self.mmd = mmd
        self._separator = domain.separator()
        self._registry_separators: dict[bytes, bytes] = {}

    @property
    def address(self) -> str:
        """The signer's checksummed address."""
        return str(self._account.address)

    def __repr__(self) -> str:
        return f"LogSigner(address={self.address})"

    def __reduce__(self) -> Any:
        raise TypeError("a LogSigner cannot be pickled")

    def _sign(self, struct_hash: bytes) -> str:
        return _sign_digest(self._key, self._separator, struct_hash)

    def receipts_json(self, entries: Sequence[tuple[bytes, int]], received_at: str) -> list[str]:
        """One receipt per (leaf_hash, seq), all under one signature, as JSON texts.

        Rendered straight to text (the hot path of ingest); `receipts` parses them.
        """
        root, paths = all_inclusion_proofs([receipt_item(leaf, seq) for leaf, seq in entries])
        size = len(entries)
        struct = receipt_struct(self.domain.log_id, root, size, received_at, self.mmd)
        # Every value below is hex, a decimal or a timestamp: nothing needs escaping
        # except received_at, which json.dumps quotes.
        common = (
            f'"log_id":"0x{self.domain.log_id.hex()}",'
            f'"received_at":{json.dumps(received_at)},"mmd":{self.mmd},'
        )
        tail = (
            f'"signer":"{self.address}","signature":"{self._sign(struct)}",'
            f'"domain":{json.dumps(self.domain.as_json(), separators=(",", ":"))}}}'
        )
        batch = f'"batch":{{"root":"0x{root.hex()}","size":{size},"index":'
        return [
            f'{{"leaf_hash":"0x{leaf.hex()}","seq":{seq},{common}{batch}{i},"path":['
            + ",".join(f'"0x{node.hex()}"' for node in path)
            + f"]}},{tail}"
            for i, ((leaf, seq), path) in enumerate(zip(entries, paths))
        ]

    def receipts(
        self, entries: Sequence[tuple[bytes, int]], received_at: str
    ) -> list[dict[str, Any]]:
        """One receipt per (leaf_hash, seq), all under one signature."""
        return [json.loads(text) for text in self.receipts_json(entries, received_at)]

    def sign_checkpoint(
        self, tree_size: int, root: bytes, index_root: bytes = NO_INDEX_ROOT
    ) -> str:
        """The signature of a checkpoint (EIP-712 `Checkpoint`), 65 bytes as 0x hex: what
        LogAnchor.anchor checks (after `compact_signature`)."""
        return self._sign(checkpoint_struct(self.domain.log_id, tree_size, root, index_root))

    def checkpoint_note(self, tree_size: int, root: bytes) -> str | None:
        """The checkpoint as a C2SP signed note (c2sp.org/tlog-checkpoint) under the note
        key, whose name is the origin; None without a note key."""
        return checkpoint_note(self.note, tree_size, root)

    def anchor_signature(
        self, tree_size: int, root: bytes, index_root: bytes = NO_INDEX_ROOT
    ) -> tuple[bytes, bytes]:
        """The checkpoint's signature as LogAnchor.anchor takes it: (r, vs). Needs a
        domain naming the chain and the contract (the log's deployment)."""
        if self.domain.chain_id is None or self.domain.contract is None:
            raise LogKeyError(
                "the log has no deployment yet: its checkpoints cannot be signed for a chain"
            )
        return compact_signature(self.sign_checkpoint(tree_size, root, index_root))

    # -- the log's LicenceRegistry: the log key is its issuer ----------------------------

    def registry_domain(self, registry: bytes) -> Domain:
        """The EIP-712 domain of the LicenceRegistry at `registry` (20 bytes) on the log's
        chain: where grants and revocations are signed. Needs the log's deployment."""
        if self.domain.chain_id is None or self.domain.contract is None:
            raise LogKeyError(
                "the log has no deployment yet: its licences cannot be signed for a chain"
            )
        if len(registry) != 20:
            raise ValueError(f"a LicenceRegistry address is 20 bytes, got {len(registry)}")
        return Domain(self.domain.log_id, self.domain.chain_id, registry)

    def _registry_separator(self, registry: bytes) -> bytes:
        separator = self._registry_separators.get(registry)
        if separator is None:
            separator = self._registry_separators[registry] = self.registry_domain(
                registry
            ).separator()
        return separator

    def sign_grant(
        self, registry: bytes, commitment: bytes, valid_from: int, valid_until: int
    ) -> str:
        """The signature of a grant (EIP-712 `Grant`) in the domain of the LicenceRegistry
        `registry`, 65 bytes as 0x hex: what LicenceRegistry.grant and grantMany check
        (after `compact_signature`). ValueError for a value the contract cannot take."""
        struct = grant_struct(commitment, valid_from, valid_until)
        return _sign_digest(self._key, self._registry_separator(registry), struct)

    def sign_revoke(self, registry: bytes, commitment: bytes, revocation: bytes) -> str:
        """The signature of a revocation (EIP-712 `Revoke`: the commitment and the leaf
        hash of the record that revokes it) in the domain of the LicenceRegistry
        `registry`, 65 bytes as 0x hex: what LicenceRegistry.revoke checks."""
        struct = revoke_struct(commitment, revocation)
        return _sign_digest(self._key, self._registry_separator(registry), struct)


def sign_retirement(account: LocalAccount, domain: Domain, trusted_size: int) -> str:
    """The log admin's signature retiring the log of `domain` (EIP-712 `Retire(logId,
    trustedSize)` in the domain of its LogAnchor), 65 bytes as 0x hex: what
    LogAnchor.retireLog checks (after `compact_signature`). `account` is the admin key,
    never the log key."""
    if domain.chain_id is None or domain.contract is None:
        raise LogKeyError(
            "a retirement is signed for a deployed log: its domain names no chain or contract"
        )
    struct = retire_struct(domain.log_id, trusted_size)
    return _sign_digest(PrivateKey(bytes(account.key)), domain.separator(), struct)


def compact_signature(signature: str | bytes) -> tuple[bytes, bytes]:
    """A 65-byte signature (r || s || v, v 27 or 28) in EIP-2098 compact form (r, vs),
    as LogAnchor.anchor takes it."""
    data = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else signature
    if len(data) != 65 or data[64] not in (27, 28):
        raise ReceiptError("a signature is 65 bytes ending in v = 27 or 28")
    r, s, v = data[:32], int.from_bytes(data[32:64], "big"), data[64] - 27
    return r, (s | (v << 255)).to_bytes(32, "big")


def checkpoint_note(note: Signer | None, tree_size: int, root: bytes) -> str | None:
    """The checkpoint (tree_size, root) as a signed note of the log's origin (the note
    key's name), or None without a note key. Ed25519 is deterministic: the same key and
    checkpoint give the same note, byte for byte."""
    if note is None:
        return None
    return Checkpoint(note.name, tree_size, root).sign([note]).decode()


# -- the log key -----------------------------------------------------------------------


def load_log_key(data_dir: Path, environ: Mapping[str, str] | None = None) -> LocalAccount:
    """The log key: LEDGER_LOG_KEY, else the keystore in `data_dir` (created on first use)."""
    from ledger.config import current_environ

    env = current_environ() if environ is None else environ
    try:
        configured = env.get(LOG_KEY_ENV)
        if configured:
            return account_from_hex(configured, LOG_KEY_ENV)
        keystore, password_file = data_dir / LOG_KEY_FILE, data_dir / LOG_KEY_PASSWORD_FILE
        password = env.get(LOG_KEY_PASSWORD_ENV)
        if not keystore.exists():
            return create_keystore(
                keystore, password_file, password, password_env=LOG_KEY_PASSWORD_ENV
            )
        return open_keystore(keystore, password_file, password, password_env=LOG_KEY_PASSWORD_ENV)
    except KeystoreError as error:
        raise LogKeyError(str(error)) from None


DEFAULT_PUBLIC_HOST = "localhost"
"""The host of the origin when no public host is set (docs/c2sp.md, "The origin")."""


def load_note_signer(
    data_dir: Path,
    log_name: str,
    public_host: str | None,
    environ: Mapping[str, str] | None = None,
) -> Signer:
    """The note key of the log `log_name` (`load_note_key`): a new key is named for the
    origin `<public_host>/<log name>` (localhost without a public host; the log name as
    one URL path segment); with a public host, a key of another origin is refused."""
    # Any log name works on chain; the origin takes it as one URL path segment.
    segment = re.sub(r"[^A-Za-z0-9._~-]+", "-", log_name).strip("-")[:128] or "log"
    try:
        origin = log_origin(public_host or DEFAULT_PUBLIC_HOST, segment)
    except NoteError as error:
        raise LogKeyError(f"public host: {error}") from None
    return load_note_key(data_dir, origin, environ, pinned=public_host is not None)


def load_note_key(
    data_dir: Path, origin: str, environ: Mapping[str, str] | None = None, *, pinned: bool = False
) -> Signer:
    """The note key: LEDGER_NOTE_KEY, else ``note-key`` in `data_dir`, created on first use
    (mode 0600) with `origin` as its name. The origin is the key's name from then on: with
    `pinned` (the operator set the public host), a key naming another origin is refused.
    Errors never quote the key."""
    from ledger.config import current_environ

    env = current_environ() if environ is None else environ
    configured = env.get(NOTE_KEY_ENV)
    path = data_dir / NOTE_KEY_FILE
    source = NOTE_KEY_ENV if configured else str(path)
    try:
        if configured:
            signer = parse_signer(configured.strip())
        elif path.exists():
            signer = parse_signer(path.read_text(encoding="utf-8").strip())
        else:
            signer = generate_signer(origin)
            try:
                write_private(path, signer.private_text() + "\n")
            except FileExistsError:  # another process created it first: use that one
                signer = parse_signer(path.read_text(encoding="utf-8").strip())
    except NoteError as error:
        raise LogKeyError(f"the note key in {source} cannot be read: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise LogKeyError(f"the note key {path} cannot be read or created: {error}") from None
    if pinned and signer.name != origin:
        raise LogKeyError(
            f"the note key in {source} names the origin {signer.name!r}, but the public host"
            f" gives {origin!r}: a log's origin cannot change (start a new log, or set the"
            " public host that made the key)"
        )
    return signer
