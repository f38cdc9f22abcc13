// The RFC 9162 probes of transparency-dev/merkle (tests/vectors/tlog-proofs, or
// $LEDGER_VECTORS_DIR), run through the contract. Every checkpoint is signed by the log
// key, so each probe is decided by the proof check (or a size or root rule), never by
// the signature.
//
// Consistency: the log is brought to (size1, root1) by a first anchor, then
// anchor(size2, root2, proof) must succeed exactly when the probe's wantErr is false.
// Two kinds of probe cannot apply as written, because the contract adds rules of its
// own on top of the RFC check; for those the test asserts the contract's rule instead:
//   - size1 == size2 with wantErr false (equal trees are consistent): the contract
//     refuses any size it is not growing past (LogAnchorSizeNotIncreasing), by design,
//     so that sending the same anchor twice is harmless;
//   - size1 == 0 with an empty proof and size2 > 0 (wantErr true: RFC 9162 defines no
//     proof from the empty tree): a log at size 0 has no root to be consistent with,
//     and its first anchor is taken on trust with an empty proof, so it is accepted.
// Inclusion: the probe's root is anchored at treeSize as a first anchor, then
// verifyInclusion must return !wantErr. For treeSize == 0 nothing can be anchored and
// verifyInclusion reverts with LogAnchorUnknownSize (all such probes want an error).
//
// Probe strings that are not 32 bytes ("garbage" nodes, "don't care" roots, empty
// leaves) cannot be passed as bytes32: the ABI encoder refuses them. To still run those
// probes through the contract they are zero-padded, which keeps them wrong. An empty
// root pads to 32 zero bytes, which the contract refuses to anchor (LogAnchorZeroRoot):
// those inclusion probes (all want an error) are refused at the anchor. That includes
// single-entry/empty-root-and-leaf, whose empty root and empty leaf pad to the same 32
// zero bytes: as a one-leaf tree whose root is its leaf hash it would verify, but a zero
// root cannot be anchored, so the probe applies as written. The test also asserts the
// ABI refusal of its raw values.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  anchorSigned,
  b64ToBytes32,
  createLog,
  deployLogAnchor,
  isHash,
  loadProbes,
  logIdOf,
} = require("./helpers");

const consistencyProbes = loadProbes("consistency");
const inclusionProbes = loadProbes("inclusion");

/** Which rule decides a consistency probe on chain, and the outcome that rule gives. */
function expectedConsistencyOutcome(probe) {
  const proof = probe.proof ?? [];
  if (probe.size2 <= probe.size1) {
    return {
      accepted: false,
      error: "LogAnchorSizeNotIncreasing",
      appliesAsWritten: probe.wantErr,
    };
  }
  if (probe.size1 === 0) {
    // A first anchor: accepted with an empty proof, whatever root1 says.
    if (proof.length === 0) {
      return { accepted: true, appliesAsWritten: !probe.wantErr };
    }
    return { accepted: false, error: "LogAnchorInconsistent", appliesAsWritten: probe.wantErr };
  }
  return probe.wantErr
    ? { accepted: false, error: "LogAnchorInconsistent", appliesAsWritten: true }
    : { accepted: true, appliesAsWritten: true };
}

/**
 * What the contract does with an inclusion probe as it can receive it (zero-padded):
 * refuse to anchor its root (a zero root), or verifyInclusion's verdict; and whether
 * that is the probe's own verdict.
 */
function expectedInclusionOutcome(probe) {
  if (probe.treeSize > 0 && b64ToBytes32(probe.root) === ethers.ZeroHash) {
    return { anchored: false, verified: false, appliesAsWritten: probe.wantErr };
  }
  return { anchored: true, verified: !probe.wantErr, appliesAsWritten: true };
}

describe("LogAnchor against the RFC 9162 probes", function () {
  let logAnchor, admin, anchorer, logKey;

  before(async function () {
    ({ logAnchor, admin, anchorer, logKey } = await deployLogAnchor());
  });

  /** Sends checkpoint (logId, size, root) with `proof`, signed by the log key. */
  function anchor(logId, size, root, proof) {
    return anchorSigned(logAnchor, anchorer, logKey, logId, size, root, proof);
  }

  it("loads more than 60 probes of each kind", function () {
    expect(consistencyProbes.length).to.be.greaterThan(60);
    expect(inclusionProbes.length).to.be.greaterThan(60);
  });

  it("applies every consistency probe as written except the two kinds the contract rules out", function () {
    const notApplicable = consistencyProbes
      .filter((probe) => !expectedConsistencyOutcome(probe).appliesAsWritten)
      .map((probe) => probe.file)
      .sort();
    expect(notApplicable).to.deep.equal([
      "0/happy-path.json",
      "additional/size1-is-zero-and-does-not-equal-size2.json",
      "additional/size1-is-zero-and-size2-is-not-zero.json",
      "additional/sizes-are-equal-one-and-proof-is-empty.json",
    ]);
  });

  it("applies every inclusion probe as written", function () {
    const notApplicable = inclusionProbes
      .filter((probe) => !expectedInclusionOutcome(probe).appliesAsWritten)
      .map((probe) => probe.file);
    expect(notApplicable).to.deep.equal([]);
    const refusedRoots = inclusionProbes
      .filter((probe) => !expectedInclusionOutcome(probe).anchored)
      .map((probe) => probe.file)
      .sort();
    expect(refusedRoots).to.deep.equal([
      "additional/1/random-leaf.json",
      "additional/3/random-leaf.json",
      "single-entry/empty-root-and-leaf.json",
      "single-entry/empty-root.json",
    ]);
  });

  describe("consistency", function () {
    for (const probe of consistencyProbes) {
      const outcome = expectedConsistencyOutcome(probe);
      const verdict = outcome.accepted ? "accepts" : `refuses (${outcome.error})`;
      const note = outcome.appliesAsWritten ? "" : " [contract rule, not the probe's wantErr]";
      it(`${verdict} ${probe.file}: ${probe.size1} -> ${probe.size2}, ${probe.desc}${note}`, async function () {
        const logId = logIdOf(`consistency/${probe.file}`);
        await createLog(logAnchor, logId, admin, logKey);
        if (probe.size1 > 0) {
          await (await anchor(logId, probe.size1, b64ToBytes32(probe.root1), [])).wait();
        }
        const root2 = b64ToBytes32(probe.root2);
        const proof = (probe.proof ?? []).map(b64ToBytes32);
        const sent = anchor(logId, probe.size2, root2, proof);
        if (outcome.accepted) {
          await expect(sent)
            .to.emit(logAnchor, "Anchored")
            .withArgs(logId, probe.size2, root2, ethers.ZeroHash, probe.size1);
          expect(await logAnchor.rootAt(logId, probe.size2)).to.equal(root2);
        } else {
          await expect(sent)
            .to.be.revertedWithCustomError(logAnchor, outcome.error)
            .withArgs(logId, probe.size1, probe.size2);
          const [size] = await logAnchor.latest(logId);
          expect(size).to.equal(BigInt(probe.size1));
        }
      });
    }
  });

  describe("inclusion", function () {
    for (const probe of inclusionProbes) {
      const outcome = expectedInclusionOutcome(probe);
      const verdict =
        probe.treeSize === 0
          ? "refuses (LogAnchorUnknownSize)"
          : !outcome.anchored
            ? "refuses its zero root (LogAnchorZeroRoot)"
            : outcome.verified
              ? "accepts"
              : "rejects";
      it(`${verdict} ${probe.file}: leaf ${probe.leafIdx} of ${probe.treeSize}, ${probe.desc}`, async function () {
        const logId = logIdOf(`inclusion/${probe.file}`);
        const root = b64ToBytes32(probe.root);
        const leafHash = b64ToBytes32(probe.leafHash);
        const proof = (probe.proof ?? []).map(b64ToBytes32);
        const index = BigInt(probe.leafIdx);
        if (probe.treeSize === 0) {
          expect(probe.wantErr).to.equal(true);
          await expect(logAnchor.verifyInclusion(logId, 0, index, leafHash, proof))
            .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
            .withArgs(logId, 0);
          return;
        }
        await createLog(logAnchor, logId, admin, logKey);
        if (!outcome.anchored) {
          expect(probe.wantErr).to.equal(true);
          await expect(anchor(logId, probe.treeSize, root, []))
            .to.be.revertedWithCustomError(logAnchor, "LogAnchorZeroRoot")
            .withArgs(logId, probe.treeSize);
          await expect(logAnchor.verifyInclusion(logId, probe.treeSize, index, leafHash, proof))
            .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
            .withArgs(logId, probe.treeSize);
        } else {
          await (await anchor(logId, probe.treeSize, root, [])).wait();
          expect(
            await logAnchor.verifyInclusion(logId, probe.treeSize, index, leafHash, proof),
          ).to.equal(outcome.verified);
        }
        if (!isHash(probe.root) || !isHash(probe.leafHash)) {
          // The raw probe values cannot even be sent: the ABI refuses a non-32-byte bytes32.
          // The same call with the padded value encodes, so the refusal is the value's.
          const raw = (b64) => ethers.hexlify(Buffer.from(b64 ?? "", "base64"));
          const anchorCall = (root) => () =>
            logAnchor.interface.encodeFunctionData("anchor", [
              logId,
              probe.treeSize,
              root,
              ethers.ZeroHash, // indexRoot
              [],
              ethers.ZeroHash,
              ethers.ZeroHash,
            ]);
          const inclusionCall = (leaf) => () =>
            logAnchor.interface.encodeFunctionData("verifyInclusion", [
              logId,
              probe.treeSize,
              index,
              leaf,
              proof,
            ]);
          if (!isHash(probe.root)) {
            expect(anchorCall(root)).not.to.throw();
            expect(anchorCall(raw(probe.root))).to.throw(/incorrect data length/);
          }
          if (!isHash(probe.leafHash)) {
            expect(inclusionCall(leafHash)).not.to.throw();
            expect(inclusionCall(raw(probe.leafHash))).to.throw(/incorrect data length/);
          }
        }
      });
    }
  });
});
