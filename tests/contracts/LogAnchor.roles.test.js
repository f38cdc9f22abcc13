// Who may do what: the owner creates logs, a log's admin manages its anchorers and
// hands the log over in two steps, only anchorers anchor.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { createLogWithAnchorer, deployLogAnchor, logIdOf } = require("./helpers");

const LOG = logIdOf("roles-log");
const OTHER_LOG = logIdOf("another-log");
const ROOT = ethers.sha256("0x00"); // any 32 bytes serve as a first root

describe("LogAnchor roles", function () {
  let logAnchor, owner, admin, anchorer, other;

  beforeEach(async function () {
    ({ logAnchor, owner, admin, anchorer, other } = await deployLogAnchor());
  });

  describe("log creation", function () {
    it("makes the deployer the owner", async function () {
      expect(await logAnchor.owner()).to.equal(owner.address);
    });

    it("lets the owner create a log with its admin", async function () {
      await expect(logAnchor.createLog(LOG, admin.address))
        .to.emit(logAnchor, "LogCreated")
        .withArgs(LOG, admin.address);
      expect(await logAnchor.logAdmin(LOG)).to.equal(admin.address);
      expect(await logAnchor.isAnchorer(LOG, admin.address)).to.equal(false);
      expect(await logAnchor.latest(LOG)).to.deep.equal([0n, ethers.ZeroHash, 0n, 0n]);
    });

    it("refuses log creation by anyone else", async function () {
      await expect(logAnchor.connect(other).createLog(LOG, other.address))
        .to.be.revertedWithCustomError(logAnchor, "OwnableUnauthorizedAccount")
        .withArgs(other.address);
    });

    it("refuses to create a log twice", async function () {
      await logAnchor.createLog(LOG, admin.address);
      await expect(logAnchor.createLog(LOG, other.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorLogExists")
        .withArgs(LOG);
      expect(await logAnchor.logAdmin(LOG)).to.equal(admin.address);
    });

    it("refuses the zero address as admin", async function () {
      await expect(logAnchor.createLog(LOG, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInvalidAdmin")
        .withArgs(ethers.ZeroAddress);
    });

    it("reports unknown logs", async function () {
      expect(await logAnchor.logAdmin(LOG)).to.equal(ethers.ZeroAddress);
      await expect(logAnchor.latest(LOG))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
      await expect(logAnchor.connect(admin).addAnchorer(LOG, anchorer.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
      await expect(logAnchor.connect(anchorer).anchor(LOG, 1, ROOT, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(LOG);
    });

    it("transfers contract ownership in two steps", async function () {
      await logAnchor.transferOwnership(other.address);
      expect(await logAnchor.owner()).to.equal(owner.address);
      await expect(
        logAnchor.connect(other).createLog(LOG, admin.address),
      ).to.be.revertedWithCustomError(logAnchor, "OwnableUnauthorizedAccount");
      await logAnchor.connect(other).acceptOwnership();
      expect(await logAnchor.owner()).to.equal(other.address);
      await logAnchor.connect(other).createLog(LOG, admin.address);
    });
  });

  describe("anchorers", function () {
    beforeEach(async function () {
      await logAnchor.createLog(LOG, admin.address);
      await logAnchor.createLog(OTHER_LOG, other.address);
    });

    it("lets the log admin add and remove anchorers", async function () {
      await expect(logAnchor.connect(admin).addAnchorer(LOG, anchorer.address))
        .to.emit(logAnchor, "AnchorerAdded")
        .withArgs(LOG, anchorer.address);
      expect(await logAnchor.isAnchorer(LOG, anchorer.address)).to.equal(true);
      expect(await logAnchor.isAnchorer(OTHER_LOG, anchorer.address)).to.equal(false);

      await expect(logAnchor.connect(admin).removeAnchorer(LOG, anchorer.address))
        .to.emit(logAnchor, "AnchorerRemoved")
        .withArgs(LOG, anchorer.address);
      expect(await logAnchor.isAnchorer(LOG, anchorer.address)).to.equal(false);
    });

    it("makes adding and removing idempotent, without events for no change", async function () {
      await logAnchor.connect(admin).addAnchorer(LOG, anchorer.address);
      await expect(logAnchor.connect(admin).addAnchorer(LOG, anchorer.address)).not.to.emit(
        logAnchor,
        "AnchorerAdded",
      );
      await logAnchor.connect(admin).removeAnchorer(LOG, anchorer.address);
      await expect(logAnchor.connect(admin).removeAnchorer(LOG, anchorer.address)).not.to.emit(
        logAnchor,
        "AnchorerRemoved",
      );
    });

    it("refuses anchorer management by anyone but that log's admin", async function () {
      for (const signer of [owner, anchorer, other]) {
        await expect(logAnchor.connect(signer).addAnchorer(LOG, anchorer.address))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdmin")
          .withArgs(LOG, signer.address);
        await expect(logAnchor.connect(signer).removeAnchorer(LOG, anchorer.address))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdmin")
          .withArgs(LOG, signer.address);
      }
    });

    it("refuses the zero address as anchorer", async function () {
      await expect(logAnchor.connect(admin).addAnchorer(LOG, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInvalidAnchorer")
        .withArgs(ethers.ZeroAddress);
    });

    it("lets only that log's anchorers anchor", async function () {
      await logAnchor.connect(admin).addAnchorer(LOG, anchorer.address);
      // The owner, the admin, an anchorer of another log: none may anchor this log.
      await logAnchor.connect(other).addAnchorer(OTHER_LOG, other.address);
      for (const signer of [owner, admin, other]) {
        await expect(logAnchor.connect(signer).anchor(LOG, 1, ROOT, []))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAnchorer")
          .withArgs(LOG, signer.address);
      }
      await expect(logAnchor.connect(anchorer).anchor(LOG, 1, ROOT, []))
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, 1, ROOT, 0);
    });

    it("stops a removed anchorer", async function () {
      const asAnchorer = await createLogWithAnchorer(logAnchor, logIdOf("third"), admin, anchorer);
      await asAnchorer.anchor(logIdOf("third"), 1, ROOT, []);
      await logAnchor.connect(admin).removeAnchorer(logIdOf("third"), anchorer.address);
      await expect(asAnchorer.anchor(logIdOf("third"), 2, ROOT, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAnchorer")
        .withArgs(logIdOf("third"), anchorer.address);
    });
  });

  describe("admin transfer", function () {
    beforeEach(async function () {
      await logAnchor.createLog(LOG, admin.address);
      await logAnchor.connect(admin).addAnchorer(LOG, anchorer.address);
    });

    it("hands a log to a new admin in two steps and keeps its anchorers", async function () {
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
      expect(await logAnchor.isAnchorer(LOG, anchorer.address)).to.equal(true);

      await expect(logAnchor.connect(admin).addAnchorer(LOG, admin.address))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdmin")
        .withArgs(LOG, admin.address);
      await logAnchor.connect(other).removeAnchorer(LOG, anchorer.address);
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
