// Who may do what: the owner creates logs, each bound to its admin and its log key for
// good; ownership moves in two steps and cannot be renounced; a log's admin hands the
// log over in two steps, after which only the new admin's signature retires it;
// anchoring needs no role at all, only the log key's signature (the attacks on that
// signature are in LogAnchor.signatures.test.js, retiring a log and the attacks on the
// admin's signature in LogAnchor.retire.test.js).

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  anchorSigned,
  createLog,
  deployLogAnchor,
  logIdOf,
  retireSigned,
  signCheckpoint,
  signRetire,
  syntheticConsistency,
} = require("./helpers");

const LOG = logIdOf("roles-log");
const OTHER_LOG = logIdOf("another-log");
const ROOT = ethers.sha256("0x00"); // any 32 bytes but zero serve as a first root

describe("LogAnchor roles", function () {
  let logAnchor, owner, admin, anchorer, other, logKey;

  beforeEach(async function () {
    ({ logAnchor, owner, admin, anchorer, other, logKey } = await deployLogAnchor());
  });

  describe("log creation", function () {
    it("makes the deployer the owner", async function () {
      expect(await logAnchor.owner()).to.equal(owner.address);
    });

    it("lets the owner create a log with its admin and its log key", async function () {
      await expect(logAnchor.createLog(LOG, admin.address, logKey.address))
        .to.emit(logAnchor, "LogCreated")
        .withArgs(LOG, admin.address, logKey.address);
      expect(await logAnchor.logAdmin(LOG)).to.equal(admin.address);
      expect(await logAnchor.logInfo(LOG)).to.deep.equal([
        logKey.address,
        admin.address,
        0n,
        false,
        0n,
      ]);
      expect(await logAnchor.latest(LOG)).to.deep.equal([0n, ethers.ZeroHash]);
    });

    it("refuses a log whose admin is its log key (the admin retires the log when that key leaks)", async function () {
      await expect(logAnchor.createLog(LOG, logKey.address, logKey.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInvalidAdmin")
        .withArgs(logKey.address);
    });

    it("refuses log creation by anyone else", async function () {
      for (const signer of [admin, anchorer, other]) {
        await expect(logAnchor.connect(signer).createLog(LOG, signer.address, signer.address))
          .to.be.revertedWithCustomError(logAnchor, "OwnableUnauthorizedAccount")
          .withArgs(signer.address);
      }
    });

    it("refuses to create a log twice, so not even the owner can change its admin or key", async function () {
      await createLog(logAnchor, LOG, admin, logKey);
      await expect(logAnchor.createLog(LOG, other.address, admin.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorLogExists")
        .withArgs(LOG);
      expect(await logAnchor.logInfo(LOG)).to.deep.equal([
        logKey.address,
        admin.address,
        0n,
        false,
        0n,
      ]);
    });

    it("refuses the zero address as admin or as log key", async function () {
      await expect(logAnchor.createLog(LOG, ethers.ZeroAddress, logKey.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInvalidAdmin")
        .withArgs(ethers.ZeroAddress);
      // ecrecover gives the zero address for a malformed signature: a log with a zero
      // key would anchor anything.
      await expect(logAnchor.createLog(LOG, admin.address, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInvalidSigner")
        .withArgs(ethers.ZeroAddress);
    });

    it("has no function that changes a log's key and no anchorer role", function () {
      for (const name of ["addAnchorer", "removeAnchorer", "isAnchorer", "anchoredAt"]) {
        expect(logAnchor.interface.getFunction(name), name).to.equal(null);
      }
      // renounceOwnership is `pure` (it only reverts), so it is no write either.
      const writes = logAnchor.interface.fragments
        .filter((f) => f.type === "function" && !["view", "pure"].includes(f.stateMutability))
        .map((f) => f.name)
        .sort();
      expect(writes).to.deep.equal([
        "acceptLogAdmin",
        "acceptOwnership",
        "anchor",
        "createLog",
        "retireLog",
        "transferLogAdmin",
        "transferOwnership",
      ]);
    });

    it("reports unknown logs", async function () {
      expect(await logAnchor.logAdmin(LOG)).to.equal(ethers.ZeroAddress);
      await expect(logAnchor.latest(LOG))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
      await expect(logAnchor.logInfo(LOG))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
      await expect(anchorSigned(logAnchor, anchorer, logKey, LOG, 1, ROOT, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
      await expect(logAnchor.connect(admin).transferLogAdmin(LOG, other.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
      await expect(retireSigned(logAnchor, admin, admin, LOG, 0))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
    });
  });

  describe("contract ownership", function () {
    it("transfers contract ownership in two steps", async function () {
      await expect(logAnchor.transferOwnership(other.address))
        .to.emit(logAnchor, "OwnershipTransferStarted")
        .withArgs(owner.address, other.address);
      expect(await logAnchor.owner()).to.equal(owner.address);
      expect(await logAnchor.pendingOwner()).to.equal(other.address);
      await expect(logAnchor.connect(other).createLog(LOG, admin.address, logKey.address))
        .to.be.revertedWithCustomError(logAnchor, "OwnableUnauthorizedAccount")
        .withArgs(other.address);
      await expect(logAnchor.connect(anchorer).acceptOwnership())
        .to.be.revertedWithCustomError(logAnchor, "OwnableUnauthorizedAccount")
        .withArgs(anchorer.address);

      await expect(logAnchor.connect(other).acceptOwnership())
        .to.emit(logAnchor, "OwnershipTransferred")
        .withArgs(owner.address, other.address);
      expect(await logAnchor.owner()).to.equal(other.address);
      expect(await logAnchor.pendingOwner()).to.equal(ethers.ZeroAddress);
      await logAnchor.connect(other).createLog(LOG, admin.address, logKey.address);
      await expect(logAnchor.createLog(OTHER_LOG, admin.address, logKey.address))
        .to.be.revertedWithCustomError(logAnchor, "OwnableUnauthorizedAccount")
        .withArgs(owner.address);
    });

    it("refuses to renounce ownership, for the owner and anyone else, and keeps the owner", async function () {
      await logAnchor.transferOwnership(other.address); // a pending transfer survives too
      const data = logAnchor.interface.encodeFunctionData("renounceOwnership");
      const to = await logAnchor.getAddress();
      for (const signer of [owner, admin, other]) {
        // The ABI says `pure`, so ethers only calls it; send a real transaction too.
        await expect(logAnchor.connect(signer).renounceOwnership()).to.be.revertedWithCustomError(
          logAnchor,
          "LogAnchorRenounceDisabled",
        );
        await expect(
          signer.sendTransaction({ to, data, gasLimit: 100_000 }),
        ).to.be.revertedWithCustomError(logAnchor, "LogAnchorRenounceDisabled");
      }
      expect(await logAnchor.owner()).to.equal(owner.address);
      expect(await logAnchor.pendingOwner()).to.equal(other.address);
      await logAnchor.connect(other).acceptOwnership();
      await expect(
        other.sendTransaction({ to, data, gasLimit: 100_000 }),
      ).to.be.revertedWithCustomError(logAnchor, "LogAnchorRenounceDisabled");
      expect(await logAnchor.owner()).to.equal(other.address);
      await logAnchor.connect(other).createLog(LOG, admin.address, logKey.address);
    });

    it("gives the owner no power over a log once created", async function () {
      await createLog(logAnchor, LOG, admin, logKey);
      await expect(logAnchor.transferLogAdmin(LOG, owner.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdmin")
        .withArgs(LOG, owner.address);
      // The owner's own signature is no admin's, sent by the owner or relayed by the admin.
      for (const sender of [owner, admin]) {
        await expect(retireSigned(logAnchor, sender, owner, LOG, 0))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdminSignature")
          .withArgs(LOG, owner.address);
      }
      await expect(anchorSigned(logAnchor, owner, owner, LOG, 1, ROOT, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
        .withArgs(LOG, owner.address);
    });
  });

  describe("anchoring", function () {
    beforeEach(async function () {
      await createLog(logAnchor, LOG, admin, logKey);
    });

    it("needs no role: every account relays checkpoints the log key signed", async function () {
      // The owner, the admin, the former anchorer, anyone: each sends the next anchor,
      // one log growing 1 -> 2 -> 4 -> 8 (powers of two: the old root is the whole
      // old tree, so syntheticConsistency can extend it).
      let size = 0;
      let root = null;
      for (const sender of [owner, admin, anchorer, other]) {
        const next = size === 0 ? 1 : size * 2;
        const step =
          size === 0
            ? { root2: ROOT, proof: [] }
            : syntheticConsistency(size, next, `roles/relay/${next}`, [root]);
        await expect(anchorSigned(logAnchor, sender, logKey, LOG, next, step.root2, step.proof))
          .to.emit(logAnchor, "Anchored")
          .withArgs(LOG, next, step.root2, ethers.ZeroHash, size);
        [size, root] = [next, step.root2];
      }
      expect(await logAnchor.latest(LOG)).to.deep.equal([8n, root]);
    });

    it("checks the same signature whoever sends it", async function () {
      const { r, vs } = await signCheckpoint(logAnchor, logKey, LOG, 3, ROOT);
      for (const sender of [owner, admin, anchorer, other]) {
        expect(
          await logAnchor.connect(sender).anchor.staticCall(LOG, 3, ROOT, ethers.ZeroHash, [], r, vs),
        ).to.deep.equal([]);
      }
    });
  });

  describe("admin transfer", function () {
    beforeEach(async function () {
      await createLog(logAnchor, LOG, admin, logKey);
    });

    it("hands a log to a new admin in two steps and keeps its log key", async function () {
      await expect(logAnchor.connect(admin).transferLogAdmin(LOG, other.address))
        .to.emit(logAnchor, "LogAdminTransferStarted")
        .withArgs(LOG, admin.address, other.address);
      expect(await logAnchor.logAdmin(LOG)).to.equal(admin.address);
      expect(await logAnchor.pendingLogAdmin(LOG)).to.equal(other.address);

      await expect(logAnchor.connect(other).acceptLogAdmin(LOG))
        .to.emit(logAnchor, "LogAdminTransferred")
        .withArgs(LOG, admin.address, other.address);
      expect(await logAnchor.logAdmin(LOG)).to.equal(other.address);
      expect(await logAnchor.pendingLogAdmin(LOG)).to.equal(ethers.ZeroAddress);
      expect((await logAnchor.logInfo(LOG)).slice(0, 2)).to.deep.equal([
        logKey.address,
        other.address,
      ]);

      // The former admin lost the role, the new one has it; the log key still signs.
      await expect(logAnchor.connect(admin).transferLogAdmin(LOG, admin.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdmin")
        .withArgs(LOG, admin.address);
      await anchorSigned(logAnchor, anchorer, logKey, LOG, 1, ROOT, []);
      await expect(retireSigned(logAnchor, anchorer, other, LOG, 1))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(LOG, 1, 1);
    });

    it("takes, after transferLogAdmin and acceptLogAdmin, only the new admin's signature to retire", async function () {
      await anchorSigned(logAnchor, anchorer, logKey, LOG, 1, ROOT, []);
      // A retirement the admin signed before handing the log over (kept, say, for an
      // emergency) and one the pending admin signs before accepting.
      const early = await signRetire(logAnchor, admin, LOG, 1);
      await logAnchor.connect(admin).transferLogAdmin(LOG, other.address);
      const pending = await signRetire(logAnchor, other, LOG, 1);
      await expect(logAnchor.connect(anchorer).retireLog(LOG, 1, pending.r, pending.vs))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdminSignature")
        .withArgs(LOG, other.address); // the admin is still the admin until acceptance
      await logAnchor.connect(other).acceptLogAdmin(LOG);
      for (const [label, { r, vs }] of [
        ["signed before the transfer", early],
        ["signed now", await signRetire(logAnchor, admin, LOG, 1)],
      ]) {
        await expect(logAnchor.connect(anchorer).retireLog(LOG, 1, r, vs), label)
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdminSignature")
          .withArgs(LOG, admin.address);
      }
      expect((await logAnchor.logInfo(LOG)).retired).to.equal(false);
      // The new admin's signature, even one made while it was pending, retires.
      await expect(logAnchor.connect(anchorer).retireLog(LOG, 1, pending.r, pending.vs))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(LOG, 1, 1);
    });

    it("refuses acceptance by anyone but the pending admin", async function () {
      await expect(logAnchor.connect(other).acceptLogAdmin(LOG))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotPendingAdmin")
        .withArgs(LOG, other.address);
      await logAnchor.connect(admin).transferLogAdmin(LOG, other.address);
      for (const signer of [owner, admin, anchorer]) {
        await expect(logAnchor.connect(signer).acceptLogAdmin(LOG))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotPendingAdmin")
          .withArgs(LOG, signer.address);
      }
      await expect(logAnchor.connect(other).acceptLogAdmin(OTHER_LOG))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(OTHER_LOG);
    });

    it("lets the admin withdraw an offer", async function () {
      await logAnchor.connect(admin).transferLogAdmin(LOG, other.address);
      await logAnchor.connect(admin).transferLogAdmin(LOG, ethers.ZeroAddress);
      await expect(logAnchor.connect(other).acceptLogAdmin(LOG))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotPendingAdmin")
        .withArgs(LOG, other.address);
      expect(await logAnchor.logAdmin(LOG)).to.equal(admin.address);
    });

    it("refuses transfer by anyone but the admin", async function () {
      for (const signer of [owner, anchorer, other]) {
        await expect(logAnchor.connect(signer).transferLogAdmin(LOG, signer.address))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdmin")
          .withArgs(LOG, signer.address);
      }
    });
  });
});
