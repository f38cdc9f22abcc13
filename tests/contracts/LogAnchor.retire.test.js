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
//     anchored tree. The remedy is retireLog: the log's admin signs a retirement
//     (EIP-712 `Retire(bytes32 logId,uint64 trustedSize)`, which anyone relays), naming
//     the last size it trusts; every later anchor is refused, verifyInclusion refuses
//     every size beyond it (LogAnchorUntrustedSize), and verifiers ignore the anchors
//     beyond that size (rootAt and latest still serve them).
// Then the retirement's own signature: only the log admin's retires, whoever relays it
// (the attacks of the hostile review: the deployer's gas key, the log key, any other
// key, another log, size, contract or chain, malformed signatures), and the admin
// itself needs no gas.
// The log here is real: roots and proofs from ledger.core.merkle (scripts/contract_fixtures.py).

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  CHECKPOINT_TYPES,
  RETIRE_TYPES,
  anchorSigned,
  createLog,
  deployLogAnchor,
  fund,
  logIdOf,
  newStranger,
  pythonFixtures,
  retireSigned,
  signCheckpoint,
  signRetire,
  signTyped,
  syntheticConsistency,
  typedDomain,
} = require("./helpers");

const fixtures = pythonFixtures();
const LOG = logIdOf("retire-log");
const UINT64_MAX = 2n ** 64n - 1n;
const NO_INDEX = ethers.ZeroHash; // the index root of a log that commits to no index
const SEND = { gasLimit: 1_000_000 }; // attack transactions are mined and revert on chain
/** Order of secp256k1, half of it (the largest s EIP-2 allows) and the parity bit of vs. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N / 2n;
const V_BIT = 1n << 255n;

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
      // The admin signs the retirement; a stranger relays it.
      await expect(retireSigned(logAnchor, stranger, admin, LOG, latest.size))
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
      await retireSigned(logAnchor, stranger, admin, LOG, latest.size);
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
      await retireSigned(logAnchor, stranger, admin, LOG, latest.size);
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
      await retireSigned(logAnchor, anchorer, admin, log, 0);
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
      await expect(retireSigned(logAnchor, stranger, admin, LOG, trusted.size))
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

    it("retires only once, whatever the admin signs next, and the same retirement relayed again is harmless", async function () {
      const { r, vs } = await signRetire(logAnchor, admin, LOG, latest.size);
      await logAnchor.connect(stranger).retireLog(LOG, latest.size, r, vs);
      await expect(logAnchor.connect(other).retireLog(LOG, latest.size, r, vs, SEND))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorRetired")
        .withArgs(LOG, latest.size);
      for (const trustedSize of [latest.size, 0, HONEST[0].size, 12345]) {
        await expect(retireSigned(logAnchor, admin, admin, LOG, trustedSize, SEND))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorRetired")
          .withArgs(LOG, latest.size);
      }
      expect((await logAnchor.logInfo(LOG)).trustedSize).to.equal(BigInt(latest.size));
    });

    it("refuses a trustedSize that was never anchored, and accepts 0 (trust none)", async function () {
      for (const trustedSize of [latest.size - 1, latest.size + 1, NEXT.size, UINT64_MAX]) {
        await expect(retireSigned(logAnchor, stranger, admin, LOG, trustedSize, SEND))
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
      await expect(retireSigned(logAnchor, stranger, admin, LOG, 0))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(LOG, 0, latest.size);
      expect((await logAnchor.logInfo(LOG)).retired).to.equal(true);
    });

    it("retires a log with no anchor, and leaves other logs alone", async function () {
      const empty = logIdOf("retire/empty");
      const otherLog = logIdOf("retire/other");
      await createLog(logAnchor, empty, admin, logKey);
      await createLog(logAnchor, otherLog, admin, logKey);
      await expect(retireSigned(logAnchor, stranger, admin, empty, 0))
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

  describe("retireLog takes the admin's signature, not the admin's transaction", function () {
    /** The address {r, vs} recovers to as a retirement of `logId` at `trustedSize` here. */
    async function recoveredFor({ r, vs }, logId = LOG, trustedSize = latest.size) {
      return ethers.recoverAddress(await logAnchor.retireDigest(logId, trustedSize), { r, yParityAndS: vs });
    }

    /**
     * Sends the retirement of LOG at latest.size with {r, vs} from `sender`, expects
     * LogAnchorNotAdminSignature(LOG, recovered) and the log still open.
     */
    async function expectRefused(sender, { r, vs }, recovered) {
      await expect(logAnchor.connect(sender).retireLog(LOG, latest.size, r, vs, SEND))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdminSignature")
        .withArgs(LOG, recovered);
      expect(await logAnchor.logInfo(LOG)).to.deep.equal([
        logKey.address,
        admin.address,
        BigInt(latest.size),
        false,
        0n,
      ]);
      expect(await logAnchor.queryFilter(logAnchor.filters.LogRetired(LOG))).to.deep.equal([]);
    }

    it("accepts the admin's signed retirement relayed by a stranger; the admin holds no ether and sends nothing", async function () {
      const offlineAdmin = new ethers.Wallet(ethers.id("retire/an offline admin"));
      const log = logIdOf("retire/offline admin");
      await createLog(logAnchor, log, offlineAdmin, logKey);
      await (await anchorSigned(logAnchor, anchorer, logKey, log, HONEST[0].size, HONEST[0].root, [])).wait();
      const tx = retireSigned(logAnchor, stranger, offlineAdmin, log, HONEST[0].size);
      await expect(tx).to.emit(logAnchor, "LogRetired").withArgs(log, HONEST[0].size, HONEST[0].size);
      expect((await (await tx).wait()).from).to.equal(stranger.address);
      expect(await ethers.provider.getBalance(offlineAdmin.address)).to.equal(0n);
      expect(await ethers.provider.getTransactionCount(offlineAdmin.address)).to.equal(0);
      const info = await logAnchor.logInfo(log);
      expect([info.admin, info.retired, info.trustedSize]).to.deep.equal([
        offlineAdmin.address,
        true,
        BigInt(HONEST[0].size),
      ]);
    });

    it("refuses a retirement signed by any key but the admin's: the deployer's gas key, the log key, any account", async function () {
      // A leaked gas key (the deployer's included) or the leaked log key itself cannot
      // retire the log (and so choose its trusted size), whoever sends the transaction.
      const keyAccount = logKey.connect(ethers.provider);
      await fund(keyAccount.address);
      for (const key of [owner, keyAccount, anchorer, other, stranger]) {
        const signature = await signRetire(logAnchor, key, LOG, latest.size);
        await expectRefused(key, signature, key.address); // sent by the signer itself
        await expectRefused(admin, signature, key.address); // even sent by the admin
      }
    });

    it("refuses the admin's signature over another trusted size or another log", async function () {
      const otherLog = logIdOf("retire/another log of the same admin");
      await createLog(logAnchor, otherLog, admin, logKey);
      for (const [logId, trustedSize] of [
        [LOG, 0], // trusting none is not trusting latest.size
        [LOG, HONEST.at(-2).size],
        [LOG, UINT64_MAX],
        [otherLog, latest.size], // another log with the same admin
      ]) {
        const signature = await signRetire(logAnchor, admin, logId, trustedSize);
        const recovered = await recoveredFor(signature);
        expect(recovered).not.to.equal(admin.address);
        await expectRefused(stranger, signature, recovered);
      }
    });

    it("refuses the admin's signature made for another LogAnchor (which accepts it), chain id, name or version", async function () {
      const otherAnchor = await ethers.deployContract("LogAnchor", owner);
      await otherAnchor.waitForDeployment();
      await createLog(otherAnchor, LOG, admin, logKey);
      await (await anchorSigned(otherAnchor, anchorer, logKey, LOG, latest.size, latest.root, [])).wait();
      const forOther = await signRetire(otherAnchor, admin, LOG, latest.size);
      await expectRefused(stranger, forOther, await recoveredFor(forOther));

      const { chainId } = await ethers.provider.getNetwork();
      for (const overrides of [
        { chainId: 1n },
        { chainId: chainId + 1n },
        { name: "model-ledger-test" },
        { version: "2" },
      ]) {
        const signature = await signRetire(logAnchor, admin, LOG, latest.size, overrides);
        const recovered = await recoveredFor(signature);
        expect(recovered).not.to.equal(admin.address);
        await expectRefused(stranger, signature, recovered);
      }
      // On the LogAnchor it was made for, the same signature retires.
      await expect(otherAnchor.connect(stranger).retireLog(LOG, latest.size, forOther.r, forOther.vs))
        .to.emit(otherAnchor, "LogRetired")
        .withArgs(LOG, latest.size, latest.size);
    });

    it("refuses another typed message the admin signed in the same domain: a checkpoint", async function () {
      // A Checkpoint whose logId and treeSize are the retirement's: another type hash.
      const signature = await signTyped(logAnchor, admin, CHECKPOINT_TYPES, {
        logId: LOG,
        treeSize: latest.size,
        root: ethers.ZeroHash,
        indexRoot: ethers.ZeroHash,
      });
      await expectRefused(stranger, signature, await recoveredFor(signature));
    });

    it("refuses malformed signatures (zero, high s) naming the zero address, and a flipped parity bit", async function () {
      const valid = await signRetire(logAnchor, admin, LOG, latest.size);
      const { yParity } = ethers.Signature.from({ r: valid.r, yParityAndS: valid.vs });
      const highS = (sValue) => ethers.toBeHex((BigInt(yParity) << 255n) | sValue, 32);
      for (const signature of [
        { r: ethers.ZeroHash, vs: ethers.ZeroHash },
        { r: ethers.ZeroHash, vs: valid.vs },
        { r: valid.r, vs: ethers.ZeroHash },
        { r: valid.r, vs: highS(HALF_N + 1n) }, // the smallest s EIP-2 refuses
        { r: valid.r, vs: highS(V_BIT - 1n) }, // the largest s compact form carries
      ]) {
        // ECDSA.tryRecover reports these as errors: the contract names the zero address.
        await expectRefused(stranger, signature, ethers.ZeroAddress);
      }
      const flipped = { r: valid.r, vs: ethers.toBeHex(BigInt(valid.vs) ^ V_BIT, 32) };
      const recovered = await recoveredFor(flipped);
      expect(recovered).not.to.equal(admin.address);
      expect(recovered).not.to.equal(ethers.ZeroAddress);
      await expectRefused(stranger, flipped, recovered);
      // The valid one retires.
      await expect(logAnchor.connect(stranger).retireLog(LOG, latest.size, valid.r, valid.vs))
        .to.emit(logAnchor, "LogRetired");
    });

    it("checks an unknown log before any signature", async function () {
      const unknown = logIdOf("retire/never created");
      for (const key of [admin, owner]) {
        await expect(retireSigned(logAnchor, stranger, key, unknown, 0, SEND))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
          .withArgs(unknown);
      }
    });

    it("signs exactly ethers' EIP-712 digest: retireDigest equals TypedDataEncoder.hash", async function () {
      expect(ethers.TypedDataEncoder.from(RETIRE_TYPES).encodeType("Retire")).to.equal(
        "Retire(bytes32 logId,uint64 trustedSize)",
      );
      const domain = await typedDomain(logAnchor);
      expect(domain).to.deep.equal({
        name: "model-ledger",
        version: "1",
        chainId: (await ethers.provider.getNetwork()).chainId,
        verifyingContract: await logAnchor.getAddress(),
      });
      const digests = new Set();
      for (const [logId, trustedSize] of [
        [LOG, latest.size],
        [LOG, 0n],
        [LOG, UINT64_MAX],
        [logIdOf("retire/another"), latest.size],
        [ethers.ZeroHash, 0n],
      ]) {
        const digest = ethers.TypedDataEncoder.hash(domain, RETIRE_TYPES, { logId, trustedSize });
        expect(await logAnchor.retireDigest(logId, trustedSize)).to.equal(digest);
        const { r, vs } = await signRetire(logAnchor, admin, logId, trustedSize);
        expect(ethers.recoverAddress(digest, { r, yParityAndS: vs })).to.equal(admin.address);
        // The same fields as a checkpoint give another digest.
        expect(await logAnchor.checkpointDigest(logId, trustedSize, ethers.ZeroHash, ethers.ZeroHash)).not.to.equal(
          digest,
        );
        digests.add(digest);
      }
      expect(digests.size).to.equal(5);
      expect(logAnchor.interface.getFunction("retireLog").format()).to.equal(
        "retireLog(bytes32,uint64,bytes32,bytes32)",
      );
    });
  });
});
