// The freeze attack of the adversarial review, and retiring a log.
//
// Anchored sizes only grow, so an anchor at size 2^64 - 1 ends a log: no later anchor
// can be larger. Forging one takes only public data: the hashes of the complete
// subtrees of the anchored tree (anyone reading the log has them) and made-up subtrees
// for the rest (helpers.syntheticConsistency). The consistency proof then verifies on
// chain: a proof checks hashes, it cannot check that the leaves exist.
//   - With only a leaked gas key (any account, the deployer included) the attack is
//     refused: the checkpoint carries no signature of the log key.
//   - With the log key itself it succeeds. That is the log key's power by design (see
//     the WARNING on LogAnchor): whoever holds it can anchor any extension of the
//     anchored tree. The remedy is retireLog: the log's admin retires the log, naming
//     the last size it trusts; every later anchor is refused, verifyInclusion refuses
//     every size beyond it (LogAnchorUntrustedSize), and verifiers ignore the anchors
//     beyond that size (rootAt and latest still serve them).
// The log here is real: roots and proofs from ledger.merkle (scripts/contract_fixtures.py).

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  anchorSigned,
  createLog,
  deployLogAnchor,
  fund,
  logIdOf,
  newStranger,
  pythonFixtures,
  signCheckpoint,
  syntheticConsistency,
} = require("./helpers");

const fixtures = pythonFixtures();
const LOG = logIdOf("retire-log");
const UINT64_MAX = 2n ** 64n - 1n;
const NO_INDEX = ethers.ZeroHash; // the index root of a log that commits to no index
const SEND = { gasLimit: 1_000_000 }; // attack transactions are mined and revert on chain

/** The honest log: the fixture sequence up to size 100, then the step after it. */
const LAST_HONEST = fixtures.sequence.findIndex((step) => step.size === 100);
const HONEST = fixtures.sequence.slice(0, LAST_HONEST + 1);
const NEXT = fixtures.sequence[LAST_HONEST + 1];

describe("LogAnchor freeze attack and retireLog", function () {
  let logAnchor, owner, admin, anchorer, other, logKey, stranger;
  let latest; // the last honest step anchored
  let freeze; // the forged extension of the honest log to size 2^64 - 1

  /** Sends the freeze from `sender` with {r, vs}, as an attack transaction. */
  function sendFreeze(sender, { r, vs }) {
    return logAnchor.connect(sender).anchor(LOG, UINT64_MAX, freeze.root2, NO_INDEX, freeze.proof, r, vs, SEND);
  }

  /** Signs the freeze with `logKey` and sends it from `sender`. */
  function anchorFreeze(sender) {
    return anchorSigned(logAnchor, sender, logKey, LOG, UINT64_MAX, freeze.root2, freeze.proof);
  }

  beforeEach(async function () {
    ({ logAnchor, owner, admin, anchorer, other, logKey } = await deployLogAnchor());
    stranger = await newStranger("retire");
    await createLog(logAnchor, LOG, admin, logKey);
    for (const step of HONEST) {
      const { size, root, proof } = step;
      await (await anchorSigned(logAnchor, anchorer, logKey, LOG, size, root, proof)).wait();
    }
    latest = HONEST.at(-1);
    freeze = syntheticConsistency(latest.size, UINT64_MAX, "retire/freeze", latest.subtrees);
  });

  it("forges, from public data, a proof the contract cannot tell from a real one", function () {
    expect(LAST_HONEST).to.be.greaterThan(2);
    expect(latest.subtrees.length).to.be.greaterThan(1); // not a power of two: a real edge
    expect(freeze.root1).to.equal(latest.root); // it extends the anchored tree itself
    expect(freeze.proof.length).to.be.greaterThan(60);
  });

  describe("with only a leaked gas key", function () {
    it("refuses the freeze, whoever sends it and whatever key signs it", async function () {
      for (const sender of [owner, admin, anchorer, other, stranger]) {
        const { r, vs } = await signCheckpoint(logAnchor, sender, LOG, UINT64_MAX, freeze.root2);
        await expect(sendFreeze(sender, { r, vs }))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
          .withArgs(LOG, sender.address);
      }
      // Nor does any signature the log key made for its honest checkpoints carry over.
      for (const step of [...HONEST, NEXT]) {
        const { r, vs } = await signCheckpoint(logAnchor, logKey, LOG, step.size, step.root);
        await expect(sendFreeze(stranger, { r, vs }))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
          .withArgs(LOG, (recovered) => recovered !== logKey.address);
      }
      expect(await logAnchor.latest(LOG)).to.deep.equal([BigInt(latest.size), latest.root]);
      await expect(logAnchor.rootAt(LOG, UINT64_MAX))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
        .withArgs(LOG, UINT64_MAX);
      // The honest log goes on.
      await expect(anchorSigned(logAnchor, stranger, logKey, LOG, NEXT.size, NEXT.root, NEXT.proof))
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, NEXT.size, NEXT.root, NO_INDEX, latest.size);
    });
  });

  describe("with the log key itself (possible by design: retire the log)", function () {
    it("anchors the freeze, which blocks every honest anchor after it", async function () {
      // Whoever holds the log key signs the forged checkpoint; anyone relays it.
      await expect(anchorFreeze(stranger))
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, UINT64_MAX, freeze.root2, NO_INDEX, latest.size);
      expect(await logAnchor.latest(LOG)).to.deep.equal([UINT64_MAX, freeze.root2]);
      await expect(anchorSigned(logAnchor, anchorer, logKey, LOG, NEXT.size, NEXT.root, NEXT.proof))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
        .withArgs(LOG, UINT64_MAX, NEXT.size);
    });

    it("is answered by retireLog: trustedSize recorded, LogRetired emitted, every later anchor refused", async function () {
      await anchorFreeze(stranger);
      await expect(logAnchor.connect(admin).retireLog(LOG, latest.size))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(LOG, latest.size, UINT64_MAX);
      expect(await logAnchor.logInfo(LOG)).to.deep.equal([
        logKey.address,
        admin.address,
        UINT64_MAX,
        true,
        BigInt(latest.size),
      ]);
      await expect(anchorSigned(logAnchor, anchorer, logKey, LOG, NEXT.size, NEXT.root, NEXT.proof))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorRetired")
        .withArgs(LOG, latest.size);
    });

    it("refuses, after retiring, inclusion proofs against the forged anchor; rootAt and latest still serve it", async function () {
      // The log key's holder anchors a real tree over the log's first leaves and made-up
      // entries (fixtures.forgery): until the log is retired, verifyInclusion proves a
      // made-up entry. The admin then retires the log trusting the honest size only, and
      // verifyInclusion refuses every size beyond it with LogAnchorUntrustedSize.
      const { forgery } = fixtures;
      expect(forgery.size1).to.equal(latest.size);
      const { size2, root2, proof } = forgery;
      await anchorSigned(logAnchor, stranger, logKey, LOG, size2, root2, proof);
      const { index, leafHash, inclusion } = forgery;
      expect(await logAnchor.verifyInclusion(LOG, size2, index, leafHash, inclusion)).to.equal(true);
      await logAnchor.connect(admin).retireLog(LOG, latest.size);
      await expect(logAnchor.verifyInclusion(LOG, size2, index, leafHash, inclusion))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUntrustedSize")
        .withArgs(LOG, size2, latest.size);
      // NOTE: rootAt and latest do not consult the retirement: they still name the forged
      // root. A verifier that reads them compares the size with logInfo's trustedSize.
      expect(await logAnchor.rootAt(LOG, size2)).to.equal(root2);
      expect(await logAnchor.latest(LOG)).to.deep.equal([BigInt(size2), root2]);
      const info = await logAnchor.logInfo(LOG);
      expect([info.retired, info.trustedSize]).to.deep.equal([true, BigInt(latest.size)]);
      expect(BigInt(size2) > info.trustedSize).to.equal(true); // the verifier's check
    });
  });

  describe("verifyInclusion after retireLog", function () {
    /** verifyInclusion of `step`'s inclusion proof (its last leaf) at its size. */
    function verifyStep(step, logId = LOG) {
      const { index, leafHash, proof } = step.inclusion;
      return logAnchor.verifyInclusion(logId, step.size, index, leafHash, proof);
    }

    beforeEach(async function () {
      // The forged extension to fixtures.forgery.size2 is anchored, then the log retired
      // trusting the honest size.
      const { size2, root2, proof } = fixtures.forgery;
      await anchorSigned(logAnchor, stranger, logKey, LOG, size2, root2, proof);
      await logAnchor.connect(admin).retireLog(LOG, latest.size);
    });

    it("proves inclusion at every anchored size up to exactly trustedSize", async function () {
      expect(HONEST.at(-1).size).to.equal((await logAnchor.logInfo(LOG)).trustedSize);
      for (const step of HONEST) {
        expect(await verifyStep(step), `leaf ${step.inclusion.index} of ${step.size}`).to.equal(true);
      }
      // A proof that does not verify at a trusted size is false, as before retirement.
      const { index, leafHash, proof } = latest.inclusion;
      const wrongLeaf = ethers.sha256(ethers.toUtf8Bytes("retire/not a leaf"));
      expect(await logAnchor.verifyInclusion(LOG, latest.size, index, wrongLeaf, proof)).to.equal(false);
      // A size below trustedSize that was never anchored is unknown, not untrusted.
      await expect(logAnchor.verifyInclusion(LOG, latest.size - 1, index - 1, leafHash, proof))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
        .withArgs(LOG, latest.size - 1);
    });

    it("refuses trustedSize + 1 and every larger size, anchored or not, whatever the proof", async function () {
      const trusted = BigInt(latest.size);
      const { index, leafHash, proof } = latest.inclusion;
      const { forgery } = fixtures;
      for (const [size, idx, leaf, path] of [
        [trusted + 1n, index, leafHash, proof], // never anchored: untrusted before unknown
        [BigInt(NEXT.size), NEXT.inclusion.index, NEXT.inclusion.leafHash, NEXT.inclusion.proof],
        [BigInt(forgery.size2), forgery.index, forgery.leafHash, forgery.inclusion], // the forgery
        [BigInt(forgery.size2), index, leafHash, []], // an honest leaf, any proof
        [UINT64_MAX, 0n, leafHash, []],
      ]) {
        await expect(logAnchor.verifyInclusion(LOG, size, idx, leaf, path))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorUntrustedSize")
          .withArgs(LOG, size, trusted);
      }
    });

    it("trusts no size after retireLog(LOG, 0)", async function () {
      const log = logIdOf("retire/trust-none");
      await createLog(logAnchor, log, admin, logKey);
      for (const step of HONEST) {
        await (await anchorSigned(logAnchor, anchorer, logKey, log, step.size, step.root, step.proof)).wait();
        expect(await verifyStep(step, log)).to.equal(true);
      }
      await logAnchor.connect(admin).retireLog(log, 0);
      for (const step of HONEST) {
        const { index, leafHash, proof } = step.inclusion;
        await expect(logAnchor.verifyInclusion(log, step.size, index, leafHash, proof))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorUntrustedSize")
          .withArgs(log, step.size, 0);
      }
      // Size 0 is not beyond trustedSize 0: nothing is anchored there.
      await expect(logAnchor.verifyInclusion(log, 0, 0, ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
        .withArgs(log, 0);
    });

    it("leaves the same sizes of a log that is not retired alone", async function () {
      const otherLog = logIdOf("retire/not retired");
      const { forgery } = fixtures;
      await createLog(logAnchor, otherLog, admin, logKey);
      await anchorSigned(logAnchor, anchorer, logKey, otherLog, latest.size, latest.root, []);
      await anchorSigned(logAnchor, anchorer, logKey, otherLog, forgery.size2, forgery.root2, forgery.proof);
      expect(await verifyStep(latest, otherLog)).to.equal(true);
      expect(
        await logAnchor.verifyInclusion(otherLog, forgery.size2, forgery.index, forgery.leafHash, forgery.inclusion),
      ).to.equal(true);
      await expect(
        logAnchor.verifyInclusion(LOG, forgery.size2, forgery.index, forgery.leafHash, forgery.inclusion),
      ).to.be.revertedWithCustomError(logAnchor, "LogAnchorUntrustedSize");
    });
  });

  describe("retireLog", function () {
    it("refuses every later anchor, whoever signed it", async function () {
      const trusted = HONEST.at(-2);
      await expect(logAnchor.connect(admin).retireLog(LOG, trusted.size))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(LOG, trusted.size, latest.size);
      const attempts = [
        [logKey, NEXT.size, NEXT.root, NEXT.proof], // the honest next step
        [logKey, UINT64_MAX, freeze.root2, freeze.proof], // the freeze
        [other, UINT64_MAX, freeze.root2, freeze.proof], // a forgery
        [logKey, latest.size, latest.root, []], // a size already anchored
      ];
      for (const [signer, size, root, proof] of attempts) {
        const { r, vs } = await signCheckpoint(logAnchor, signer, LOG, size, root);
        await expect(logAnchor.connect(stranger).anchor(LOG, size, root, NO_INDEX, proof, r, vs, SEND))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorRetired")
          .withArgs(LOG, trusted.size);
      }
      expect(await logAnchor.logInfo(LOG)).to.deep.equal([
        logKey.address,
        admin.address,
        BigInt(latest.size),
        true,
        BigInt(trusted.size),
      ]);
    });

    it("retires only once", async function () {
      await logAnchor.connect(admin).retireLog(LOG, latest.size);
      for (const trustedSize of [latest.size, 0, HONEST[0].size, 12345]) {
        await expect(logAnchor.connect(admin).retireLog(LOG, trustedSize))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorRetired")
          .withArgs(LOG, latest.size);
      }
      expect((await logAnchor.logInfo(LOG)).trustedSize).to.equal(BigInt(latest.size));
    });

    it("refuses a trustedSize that was never anchored, and accepts 0 (trust none)", async function () {
      for (const trustedSize of [latest.size - 1, latest.size + 1, NEXT.size, UINT64_MAX]) {
        await expect(logAnchor.connect(admin).retireLog(LOG, trustedSize))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
          .withArgs(LOG, trustedSize);
      }
      expect(await logAnchor.logInfo(LOG)).to.deep.equal([
        logKey.address,
        admin.address,
        BigInt(latest.size),
        false,
        0n,
      ]);
      await expect(logAnchor.connect(admin).retireLog(LOG, 0))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(LOG, 0, latest.size);
      expect((await logAnchor.logInfo(LOG)).retired).to.equal(true);
    });

    it("refuses every caller but the log's admin, the owner and the log key included", async function () {
      const keyAccount = logKey.connect(ethers.provider);
      await fund(keyAccount.address);
      for (const caller of [owner, anchorer, other, stranger, keyAccount]) {
        await expect(logAnchor.connect(caller).retireLog(LOG, latest.size))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdmin")
          .withArgs(LOG, caller.address);
      }
      expect((await logAnchor.logInfo(LOG)).retired).to.equal(false);
    });

    it("retires a log with no anchor, and leaves other logs alone", async function () {
      const empty = logIdOf("retire/empty");
      const otherLog = logIdOf("retire/other");
      await createLog(logAnchor, empty, admin, logKey);
      await createLog(logAnchor, otherLog, admin, logKey);
      await expect(logAnchor.connect(admin).retireLog(empty, 0))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(empty, 0, 0);
      await expect(anchorSigned(logAnchor, anchorer, logKey, empty, 1, HONEST[0].root, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorRetired")
        .withArgs(empty, 0);
      await expect(anchorSigned(logAnchor, anchorer, logKey, otherLog, 1, HONEST[0].root, []))
        .to.emit(logAnchor, "Anchored")
        .withArgs(otherLog, 1, HONEST[0].root, NO_INDEX, 0);
      await expect(anchorSigned(logAnchor, anchorer, logKey, LOG, NEXT.size, NEXT.root, NEXT.proof))
        .to.emit(logAnchor, "Anchored");
    });
  });
});
