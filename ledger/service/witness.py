"""Witnessing (c2sp.org/tlog-witness), both sides.

The witness (`Witness`, served by `mledger witness serve`): it cosigns a log's checkpoint
(cosignature/v1, Ed25519) when the log signed it and it is consistent with the latest
checkpoint it cosigned for that log. Its key is a file in its data dir (`witness.key`,
mode 0600, PRIVATE+KEY form) and its state a small database there (`ledger.store.witness`).

The client (`submit`, `WitnessWorker`): the log sends its latest checkpoint note with a
consistency proof to each configured witness, keeps the cosignatures, and checks the M of
N policy. It runs on its own thread with timeouts: a witness that is down, slow or refuses
is logged and tried again on the next round; ingest and anchoring never wait for it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from ledger.core.errors import LedgerError
from ledger.formats.cosignature import (
    CosignatureError,
    Cosigned,
    Cosigner,
    WitnessPolicy,
    generate_cosigner,
    parse_cosigner,
    timestamp_of,
)
from ledger.formats.note import NoteError, Signature, Verifier, note_verifier, parse_note
from ledger.formats.tlog_checkpoint import Checkpoint, add_signatures, parse_checkpoint
from ledger.formats.tlog_witness import (
    WitnessEndpoint,
    WitnessProtocolError,
    WitnessRefusal,
    check_consistent,
    check_signed,
    encode_add_checkpoint,
    parse_add_checkpoint,
    parse_cosignatures,
    parse_size,
)
from ledger.formats.tlog_witness import parse_endpoint as formats_parse_endpoint
from ledger.formats.tlog_witness import read_endpoints as formats_read_endpoints
from ledger.service.leader import Leadership, lead
from ledger.store import tlog
from ledger.store.anchors import AnchorRepository
from ledger.store.repository import Store
from ledger.store.witness import CosignatureRepository, WitnessState

WITNESS_KEY_FILE = "witness.key"
"""The witness's private key in its data dir (PRIVATE+KEY+..., mode 0600)."""

DEFAULT_TIMEOUT = 10.0
"""Seconds a witness has to answer one add-checkpoint request."""

MAX_ANSWER_BYTES = 64 * 1024
"""Largest answer read from a witness (a few signature lines, or a size)."""


class WitnessError(LedgerError):
    """A witness that could not be reached, or whose answer cannot be used."""


class WitnessConfigError(LedgerError):
    """A witness configuration (key file, logs list) that cannot be used."""


# -- the witness ----------------------------------------------------------------------------


def load_or_create_key(data_dir: Path, name: str | None) -> Cosigner:
    """The witness key in `data_dir`, created (mode 0600) with `name` if there is none.
    Errors never show the key."""
    path = data_dir / WITNESS_KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise WitnessConfigError(f"{path} is readable by others: chmod 600 it")
        try:
            cosigner = parse_cosigner(path.read_text(encoding="ascii").strip())
        except (CosignatureError, UnicodeDecodeError) as error:
            raise WitnessConfigError(f"{path}: not a witness key ({error})") from None
        if name is not None and name != cosigner.name:
            raise WitnessConfigError(
                f"{path} holds the key of witness {cosigner.name!r}, not {name!r}"
            )
        return cosigner
    if name is None:
        raise WitnessConfigError(f"no witness key in {data_dir}: give --name to create one")
    try:
        cosigner = generate_cosigner(name)
    except CosignatureError as error:
        raise WitnessConfigError(str(error)) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(cosigner.private_text() + "\n")
    return cosigner


def parse_log_line(line: str) -> tuple[str, Verifier]:
    """`<log vkey> [origin]`: a log the witness cosigns; the origin defaults to the key's
    name (what model-ledger and most logs use) and may hold spaces (Go's checksum
    database: `go.sum database tree`)."""
    vkey, _, origin = line.strip().partition(" ")
    try:
        verifier = note_verifier(vkey)
    except NoteError as error:
        raise WitnessConfigError(f"log {line.strip()!r:.200}: {error}") from None
    return (origin.strip() or verifier.name), verifier


def read_logs(lines: Iterable[str]) -> dict[str, list[Verifier]]:
    """The logs a witness cosigns, by origin, from `<vkey> [origin]` lines (blank lines and
    lines starting with # are skipped)."""
    logs: dict[str, list[Verifier]] = {}
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        origin, verifier = parse_log_line(line)
        logs.setdefault(origin, []).append(verifier)
    return logs


class Witness:
    """A c2sp.org/tlog-witness witness: checks, compare-and-swap, cosignature."""

    def __init__(
        self,
        cosigner: Cosigner,
        logs: Mapping[str, Sequence[Verifier]],
        state: WitnessState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not logs:
            raise WitnessConfigError("a witness needs at least one log to witness")
        for verifiers in logs.values():
            if any(v.key.public_key == cosigner.public_key for v in verifiers):
                raise WitnessConfigError("the witness key must not be a log's key")
        self.cosigner = cosigner
        self.logs = {origin: list(v) for origin, v in logs.items()}
        self.state = state
        self.clock = clock

    def add_checkpoint(self, body: bytes) -> bytes:
        """The 200 answer (cosignature lines) to an add-checkpoint body, or WitnessRefusal
        with the spec's status."""
        request = parse_add_checkpoint(body)
        checkpoint, log_signatures = check_signed(request, self.logs)

        def check(size: int, root: bytes) -> Signature:
            check_consistent(request, checkpoint, size, root)
            return self.cosigner.cosign(request.note.text, max(1, int(self.clock())))

        cosignature = self.state.advance(
            checkpoint.origin,
            check,
            checkpoint.size,
            checkpoint.root,
            lambda signature: _note_text(request.note.text, (*log_signatures, signature)),
        )
        return cosignature.line().encode()

    def checkpoint(self, origin_hash: str) -> bytes | None:
        """The latest cosigned checkpoint note of the log whose origin hashes (SHA-256,
        lowercase hex) to `origin_hash`, or None (the monitoring endpoint's 404)."""
        for origin in self.logs:
            if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                latest = self.state.latest(origin)
                return None if latest is None else latest.note.encode()
        return None


def _note_text(text: str, signatures: Sequence[Signature]) -> str:
    return text + "\n" + "".join(s.line() for s in signatures)


# -- the client -----------------------------------------------------------------------------


def parse_endpoint(text: str) -> WitnessEndpoint:
    """`<submission prefix URL> <witness vkey>` (one space); WitnessConfigError otherwise."""
    try:
        return formats_parse_endpoint(text)
    except NoteError as error:
        raise WitnessConfigError(str(error)) from None


ProofSource = Callable[[int, int], Sequence[bytes]]
"""The consistency proof from an old size to a new one (RFC 9162), for 0 < old < new."""


@dataclass(frozen=True)
class Submitted:
    """What one witness returned: its cosignatures, and the size it had before."""

    signatures: tuple[Signature, ...]
    old_size: int


def _post(client: httpx.Client, url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    try:
        with client.stream(
            "POST", url, content=body, timeout=timeout, headers={"Content-Type": "text/plain"}
        ) as answer:
            data = b""
            for chunk in answer.iter_bytes():
                data += chunk
                if len(data) > MAX_ANSWER_BYTES:
                    raise WitnessError(f"{url}: answer beyond {MAX_ANSWER_BYTES} bytes")
            return answer.status_code, data
    except httpx.HTTPError as error:
        raise WitnessError(f"{url}: {type(error).__name__}: {error}") from None


def submit(
    client: httpx.Client,
    endpoint: WitnessEndpoint,
    note: bytes,
    old_size: int,
    proof: ProofSource,
    timeout: float = DEFAULT_TIMEOUT,
) -> Submitted:
    """Send the checkpoint `note` to one witness from `old_size` (what we believe it last
    cosigned); on 409, send again once from the size it gives. Returns its verified
    cosignatures, or WitnessError saying what went wrong."""
    checkpoint = parse_checkpoint(parse_note(note).text)
    policy = WitnessPolicy((endpoint.verifier,), 1)
    url = endpoint.url + "/add-checkpoint"
    for _attempt in range(2):
        nodes = _proof(proof, old_size, checkpoint)
        status, data = _post(client, url, encode_add_checkpoint(old_size, nodes, note), timeout)
        if status == 200:
            try:
                found = parse_cosignatures(checkpoint.text(), data, policy)
            except NoteError as error:
                raise WitnessError(f"{url}: {error}") from None
            return Submitted(found, old_size)
        if status != 409:
            detail = data[:300].decode("utf-8", "replace")
            raise WitnessError(f"{url}: HTTP {status}: {detail}")
        try:
            size = parse_size(data)
        except WitnessProtocolError as error:
            raise WitnessError(f"{url}: {error}") from None
        if size > checkpoint.size:
            raise WitnessError(
                f"{url}: the witness has cosigned size {size}, beyond this checkpoint's"
                f" {checkpoint.size}"
            )
        old_size = size
    raise WitnessError(f"{url}: the witness's size kept moving (409 twice)")


def _proof(proof: ProofSource, old_size: int, checkpoint: Checkpoint) -> Sequence[bytes]:
    if old_size in (0, checkpoint.size):
        return ()
    return proof(old_size, checkpoint.size)


def store_proof_source(store: Store) -> ProofSource:
    """Consistency proofs from the log's stored tiles."""
    from ledger.service.proofs import consistency

    return lambda old, new: consistency(store, old, new).proof


NoteSource = Callable[[], bytes | None]
"""The log's latest signed checkpoint note (None: none yet). The log's note key and
stored checkpoint notes provide it (`latest_note`); tests sign notes with a test key."""


def latest_note(store: Store, sign: Callable[[int, bytes], str | None]) -> NoteSource:
    """The latest checkpoint's stored note; one sealed without the note key is signed
    with `sign` (the log signer's `checkpoint_note`) and kept, as GET /checkpoint does."""

    def notes() -> bytes | None:
        latest = tlog.latest(store)
        if latest is None:
            return None
        note = latest.note
        if note is None:
            note = sign(latest.tree_size, latest.root)
            if note is None:
                return None
            tlog.keep_note(store, latest.tree_size, latest.root, note)
        return note.encode()

    return notes


def anchored_note(store: Store) -> NoteSource:
    """The note of the newest anchor's checkpoint (queued, sent or confirmed), if it has
    one: what the worker witnesses before the latest (`WitnessWorker`'s `earlier`)."""

    def notes() -> bytes | None:
        newest = AnchorRepository(store).newest()
        if newest is None:
            return None
        note = tlog.note_of(store, newest.tree_size, newest.root)
        return None if note is None else note.encode()

    return notes


def cosigned_note_of(store: Store, tree_size: int, root: bytes) -> str | None:
    """The stored note of the checkpoint (tree_size, root) with the cosignatures kept for
    it: the `checkpoint_note` of evidence (None: the checkpoint was never signed as a
    note, sealed before the note key)."""
    note = tlog.note_of(store, tree_size, root)
    return None if note is None else cosigned_note(store, note.encode()).decode()


def cosigned_note(store: Store, note: bytes) -> bytes:
    """`note` with the cosignatures kept for its checkpoint (its size and root) appended:
    what GET /checkpoint serves and evidence carries."""
    checkpoint = parse_checkpoint(parse_note(note).text)
    lines = [
        parse_note(checkpoint.text() + "\n" + c.line + "\n").signatures[0]
        for c in CosignatureRepository(store).for_size(checkpoint.size)
        if c.root == checkpoint.root
    ]
    return add_signatures(note, lines)


class WitnessWorker:
    """Each round: the latest checkpoint note to every witness that has not cosigned it,
    in parallel, each with a timeout; their cosignatures kept in `witness_cosignatures`.

    `earlier` (optional) gives the note of a checkpoint to witness before the latest (the
    newest anchor's, `anchored_note`): a witness only moves forward, so a checkpoint the
    anchorer picked between two rounds would otherwise never be cosigned, and the evidence
    proving against it would carry no cosignature."""

    def __init__(
        self,
        store: Store,
        notes: NoteSource,
        witnesses: Sequence[WitnessEndpoint],
        quorum: int,
        proof: ProofSource | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        on_error: Callable[[str], None] = lambda _text: None,
        earlier: NoteSource | None = None,
    ) -> None:
        self.repo = CosignatureRepository(store)
        self.notes = notes
        self.earlier = earlier
        self.witnesses = list(witnesses)
        self.policy = WitnessPolicy(tuple(w.verifier for w in witnesses), quorum)
        self.proof = proof or store_proof_source(store)
        self.timeout = timeout
        self.on_error = on_error
        self.client = httpx.Client()
        self.pool = ThreadPoolExecutor(max(1, len(self.witnesses)), "witness")
        self._sizes: dict[str, int] = {}

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def round(self) -> int:
        """One round; returns how many witnesses have cosigned the latest note."""
        note = self.notes()
        if note is None:
            return 0
        checkpoint = parse_checkpoint(parse_note(note).text)
        notes = [(checkpoint, note)]
        before = None if self.earlier is None else self.earlier()
        if before is not None:
            earlier = parse_checkpoint(parse_note(before).text)
            if earlier.size < checkpoint.size:
                notes.insert(0, (earlier, before))
        done = {(c.witness, c.key_id) for c in self.repo.for_size(checkpoint.size)}
        todo = [w for w in self.witnesses if (w.name, w.verifier.key_id) not in done]
        # In parallel, each bounded by the timeout: a slow witness delays no other.
        outcomes = self.pool.map(lambda w: self._ask(w, notes), todo)
        for witness, (cosigned, error) in zip(todo, outcomes, strict=True):
            for witnessed, submitted in cosigned:
                for signature in submitted.signatures:
                    self.repo.add(
                        witnessed.size, witnessed.root, signature, timestamp_of(signature)
                    )
                self._sizes[witness.url] = witnessed.size
            if error is not None:
                self.on_error(f"witness {witness.name}: {error}")
        return len(self.cosigned(note))

    def _ask(
        self, witness: WitnessEndpoint, notes: Sequence[tuple[Checkpoint, bytes]]
    ) -> tuple[list[tuple[Checkpoint, Submitted]], str | None]:
        """Submit `notes` in order (smallest first) to `witness`, skipping those it is
        past: what it cosigned, and the error that stopped it (None: none)."""
        old = self._sizes.get(witness.url)
        if old is None:
            old = self.repo.witness_size(witness.name, witness.verifier.key_id)
        cosigned: list[tuple[Checkpoint, Submitted]] = []
        for number, (checkpoint, note) in enumerate(notes):
            if checkpoint.size <= old and number < len(notes) - 1:
                continue  # the witness is past it: it can no longer cosign it
            try:
                submitted = submit(self.client, witness, note, old, self.proof, self.timeout)
            except LedgerError as error:  # WitnessError, a proof the store cannot give, ...
                return cosigned, str(error)
            cosigned.append((checkpoint, submitted))
            old = checkpoint.size
        return cosigned, None

    def cosigned_note(self, note: bytes) -> bytes:
        """`note` with the cosignatures kept for its size (of its root) appended."""
        return cosigned_note(self.repo.store, note)

    def cosigned(self, note: bytes) -> tuple[Cosigned, ...]:
        """The trusted witnesses whose kept cosignature of `note` verifies."""
        return self.policy.cosigned(parse_note(self.cosigned_note(note)))

    def published(self, note: bytes) -> bool:
        """Whether `note` meets the M of N policy (counts as published)."""
        return len(self.cosigned(note)) >= self.policy.quorum

    def run(self, stop: threading.Event, interval: float) -> None:
        """Rounds every `interval` seconds until `stop`; errors are reported, not raised."""
        while not stop.is_set():
            try:
                self.round()
            except Exception as error:  # noqa: BLE001 - reported; the next round retries
                self.on_error(f"{type(error).__name__}: {error}")
            stop.wait(interval)


def read_endpoints(lines: Iterable[str]) -> list[WitnessEndpoint]:
    """Witnesses from `<submission prefix URL> <vkey>` lines (blank and # lines skipped);
    WitnessConfigError for a bad line or two witnesses with one key."""
    try:
        return formats_read_endpoints(lines)
    except NoteError as error:
        raise WitnessConfigError(str(error)) from None


def start_worker(
    store: Store,
    notes: NoteSource,
    witnesses: Sequence[WitnessEndpoint],
    quorum: int,
    stop: threading.Event,
    interval: float,
    note: Callable[[str], None],
    timeout: float = DEFAULT_TIMEOUT,
    earlier: NoteSource | None = None,
) -> threading.Thread | None:
    """The witness worker on its own daemon thread, or None when no witness is configured:
    what `mledger up` and `mledger serve` start beside the sequencer and the anchorer,
    apart from both. It runs under leader election (role `witnessing`): of several
    processes sharing one PostgreSQL log, one asks the witnesses."""
    if not witnesses:
        return None
    worker = WitnessWorker(
        store,
        notes,
        witnesses,
        quorum,
        timeout=timeout,
        on_error=lambda t: note(f"witnessing: {t}"),
        earlier=earlier,
    )

    def run() -> None:
        try:
            lead(
                Leadership(store, "witnessing"),
                stop,
                lambda term: worker.run(term, interval),
                note=note,
            )
        except Exception as error:  # noqa: BLE001 - reported; ingest and anchoring go on
            note(f"witnessing stopped: {type(error).__name__}: {error}")
        finally:
            worker.close()

    thread = threading.Thread(target=run, name="witnesses", daemon=True)
    thread.start()
    return thread


__all__ = [
    "Submitted",
    "Witness",
    "WitnessEndpoint",
    "WitnessError",
    "WitnessRefusal",
    "WitnessWorker",
    "anchored_note",
    "cosigned_note",
    "cosigned_note_of",
    "latest_note",
    "load_or_create_key",
    "parse_endpoint",
    "read_endpoints",
    "read_logs",
    "start_worker",
    "submit",
]
