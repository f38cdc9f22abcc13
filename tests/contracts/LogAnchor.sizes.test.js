// Tree sizes only grow: the first anchor, refused sizes, and the views over anchors.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  createLogWithAnchorer,
  deployLogAnchor,
  flipBit,
  logIdOf,
  syntheticConsistency,
} = require("./helpers");

const LOG = logIdOf("sizes-log");
const UINT64_MAX = 2n ** 64n - 1n;

describe("LogAnchor sizes", function () {
  let logAnchor, asAnchorer, admin, anchorer;

  beforeEach(async function () {
    ({ logAnchor, admin, anchorer } = await deployLogAnchor());
    asAnchorer = await createLogWithAnchorer(logAnchor, LOG, admin, anchorer);
  });

  describe("first anchor", function () {
    it("accepts any size above zero with an empty proof and records its block", async function () {
      const { root1 } = syntheticConsistency(5, 9, "first");
      const tx = await asAnchorer.anchor(LOG, 5, root1, []);
      await expect(tx).to.emit(logAnchor, "Anchored").withArgs(LOG, 5, root1, 0);
      const receipt = await tx.wait();
      const block = await ethers.provider.getBlock(receipt.blockNumber);

      expect(await logAnchor.rootAt(LOG, 5)).to.equal(root1);
      expect(await logAnchor.anchoredAt(LOG, 5)).to.deep.equal([
        root1,
        BigInt(receipt.blockNumber),
        BigInt(block.timestamp),
      ]);
      expect(await logAnchor.latest(LOG)).to.deep.equal([
        5n,
        root1,
        BigInt(receipt.blockNumber),
        BigInt(block.timestamp),
      ]);
    });

    it("refuses a proof, since there is no earlier root to prove against", async function () {
      const { root2, proof } = syntheticConsistency(5, 9, "first-proof");
      await expect(asAnchorer.anchor(LOG, 9, root2, proof))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInconsistent")
        .withArgs(LOG, 0, 9);
    });

    it("refuses size zero", async function () {
      await expect(asAnchorer.anchor(LOG, 0, ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
        .withArgs(LOG, 0, 0);
    });

    it("accepts the largest uint64 size", async function () {
      await asAnchorer.anchor(LOG, UINT64_MAX, ethers.ZeroHash, []);
      expect(await logAnchor.rootAt(LOG, UINT64_MAX)).to.equal(ethers.ZeroHash);
      expect((await logAnchor.latest(LOG))[0]).to.equal(UINT64_MAX);
    });
  });

  describe("later anchors", function () {
    let first;

    beforeEach(async function () {
      first = syntheticConsistency(6, 13, "later");
      await (await asAnchorer.anchor(LOG, 6, first.root1, [])).wait();
    });

    it("accepts a larger size with a valid proof and keeps the earlier anchor", async function () {
      const before = await logAnchor.anchoredAt(LOG, 6);
      await expect(asAnchorer.anchor(LOG, 13, first.root2, first.proof))
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, 13, first.root2, 6);
      expect(await logAnchor.rootAt(LOG, 13)).to.equal(first.root2);
      expect(await logAnchor.anchoredAt(LOG, 6)).to.deep.equal(before);
      expect((await logAnchor.latest(LOG)).slice(0, 2)).to.deep.equal([13n, first.root2]);
    });

    it("refuses the same size again, even with the same root", async function () {
      await expect(asAnchorer.anchor(LOG, 6, first.root1, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
        .withArgs(LOG, 6, 6);
    });

    it("refuses a smaller size", async function () {
      for (const size of [5, 1, 0]) {
        await expect(asAnchorer.anchor(LOG, size, first.root1, []))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
          .withArgs(LOG, 6, size);
      }
    });

    it("refuses a smaller size after growing, so no earlier size can be rewritten", async function () {
      await asAnchorer.anchor(LOG, 13, first.root2, first.proof);
      await expect(asAnchorer.anchor(LOG, 7, ethers.ZeroHash, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
        .withArgs(LOG, 13, 7);
      expect(await logAnchor.rootAt(LOG, 6)).to.equal(first.root1);
    });

    it("refuses an inconsistent root or proof and changes nothing", async function () {
      const attempts = [
        [flipBit(first.root2, 0), first.proof],
        [first.root2, []],
        [first.root2, first.proof.slice(1)],
        [first.root2, [...first.proof, ethers.ZeroHash]],
        [first.root2, first.proof.map((node, i) => (i === 0 ? flipBit(node, 255) : node))],
      ];
      for (const [root, proof] of attempts) {
        await expect(asAnchorer.anchor(LOG, 13, root, proof))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorInconsistent")
          .withArgs(LOG, 6, 13);
      }
      expect((await logAnchor.latest(LOG))[0]).to.equal(6n);
      await expect(logAnchor.rootAt(LOG, 13))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
        .withArgs(LOG, 13);
    });
  });

  describe("views", function () {
    it("reverts for a size that was never anchored", async function () {
      await asAnchorer.anchor(LOG, 4, ethers.sha256("0x04"), []);
      for (const size of [0, 3, 5]) {
        await expect(logAnchor.rootAt(LOG, size))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
          .withArgs(LOG, size);
        await expect(logAnchor.anchoredAt(LOG, size))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
          .withArgs(LOG, size);
        await expect(logAnchor.verifyInclusion(LOG, size, 0, ethers.ZeroHash, []))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
          .withArgs(LOG, size);
      }
    });

    it("reverts for a log that does not exist", async function () {
      const unknown = logIdOf("no-such-log");
      await expect(logAnchor.rootAt(unknown, 1))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
        .withArgs(unknown, 1);
      await expect(logAnchor.latest(unknown))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownLog")
        .withArgs(unknown);
    });

    it("reports no anchor for a new log as all zeros", async function () {
      expect(await logAnchor.latest(LOG)).to.deep.equal([0n, ethers.ZeroHash, 0n, 0n]);
    });

    it("keeps logs apart", async function () {
      const otherLog = logIdOf("sizes-other");
      const other = await createLogWithAnchorer(logAnchor, otherLog, admin, anchorer);
      await asAnchorer.anchor(LOG, 4, ethers.sha256("0x04"), []);
      await other.anchor(otherLog, 4, ethers.sha256("0x05"), []);
      expect(await logAnchor.rootAt(LOG, 4)).to.equal(ethers.sha256("0x04"));
      expect(await logAnchor.rootAt(otherLog, 4)).to.equal(ethers.sha256("0x05"));
    });
  });
});
