// Tree sizes only grow: the first anchor, refused sizes and roots, and the views over
// anchors. Every checkpoint here is signed by the log key (the signature's own checks are
// in LogAnchor.signatures.test.js), so what is refused is refused for its size or proof.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  anchorSigned,
  createLog,
  deployLogAnchor,
  flipBit,
  logIdOf,
  syntheticConsistency,
} = require("./helpers");

const LOG = logIdOf("sizes-log");
const UINT64_MAX = 2n ** 64n - 1n;
const ROOT = ethers.sha256("0x00"); // any 32 bytes but zero serve as a first root

describe("LogAnchor sizes", function () {
  let logAnchor, admin, anchorer, logKey;

  /** Sends checkpoint (LOG, size, root) with `proof`, signed by the log key. */
  function anchor(size, root, proof, logId = LOG) {
    return anchorSigned(logAnchor, anchorer, logKey, logId, size, root, proof);
  }

  beforeEach(async function () {
    ({ logAnchor, admin, anchorer, logKey } = await deployLogAnchor());
    await createLog(logAnchor, LOG, admin, logKey);
  });

  describe("first anchor", function () {
    it("accepts any size above zero with an empty proof and stores its root", async function () {
      const { root1 } = syntheticConsistency(5, 9, "first");
      const tx = await anchor(5, root1, []);
      await expect(tx).to.emit(logAnchor, "Anchored").withArgs(LOG, 5, root1, ethers.ZeroHash, 0);
      expect(await logAnchor.rootAt(LOG, 5)).to.equal(root1);
      expect(await logAnchor.latest(LOG)).to.deep.equal([5n, root1]);
      expect((await logAnchor.logInfo(LOG)).latestSize).to.equal(5n);
    });

    it("indexes Anchored by log id and size, so an anchor's block is found by its size", async function () {
      // The contract no longer stores when an anchor landed: the event names the block.
      const receipt = await (await anchor(5, ethers.sha256("0x05"), [])).wait();
      const [event] = await logAnchor.queryFilter(logAnchor.filters.Anchored(LOG, 5));
      expect(event.blockNumber).to.equal(receipt.blockNumber);
      expect(event.transactionHash).to.equal(receipt.hash);
      expect(event.args.toArray()).to.deep.equal([LOG, 5n, ethers.sha256("0x05"), ethers.ZeroHash, 0n]);
      expect(event.topics).to.deep.equal([
        logAnchor.interface.getEvent("Anchored").topicHash,
        LOG,
        ethers.toBeHex(5, 32),
      ]);
      expect(await logAnchor.queryFilter(logAnchor.filters.Anchored(LOG, 6))).to.deep.equal([]);
    });

    it("refuses a proof, since there is no earlier root to prove against", async function () {
      const { root2, proof } = syntheticConsistency(5, 9, "first-proof");
      await expect(anchor(9, root2, proof))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInconsistent")
        .withArgs(LOG, 0, 9);
    });

    it("refuses size zero", async function () {
      await expect(anchor(0, ROOT, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
        .withArgs(LOG, 0, 0);
    });

    it("refuses a zero root, which reads as nothing anchored", async function () {
      for (const size of [1, 5, UINT64_MAX]) {
        await expect(anchor(size, ethers.ZeroHash, []))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorZeroRoot")
          .withArgs(LOG, size);
      }
      expect(await logAnchor.latest(LOG)).to.deep.equal([0n, ethers.ZeroHash]);
    });

    it("accepts the largest uint64 size", async function () {
      await anchor(UINT64_MAX, ROOT, []);
      expect(await logAnchor.rootAt(LOG, UINT64_MAX)).to.equal(ROOT);
      expect(await logAnchor.latest(LOG)).to.deep.equal([UINT64_MAX, ROOT]);
    });
  });

  describe("later anchors", function () {
    let first;

    beforeEach(async function () {
      first = syntheticConsistency(6, 13, "later");
      await (await anchor(6, first.root1, [])).wait();
    });

    it("accepts a larger size with a valid proof and keeps the earlier anchor", async function () {
      await expect(anchor(13, first.root2, first.proof))
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, 13, first.root2, ethers.ZeroHash, 6);
      expect(await logAnchor.rootAt(LOG, 13)).to.equal(first.root2);
      expect(await logAnchor.rootAt(LOG, 6)).to.equal(first.root1);
      expect(await logAnchor.latest(LOG)).to.deep.equal([13n, first.root2]);
    });

    it("refuses the same size again, even with the same root", async function () {
      await expect(anchor(6, first.root1, []))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
        .withArgs(LOG, 6, 6);
    });

    it("refuses a smaller size", async function () {
      for (const size of [5, 1, 0]) {
        await expect(anchor(size, first.root1, []))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
          .withArgs(LOG, 6, size);
      }
    });

    it("refuses a smaller size after growing, so no earlier size can be rewritten", async function () {
      await anchor(13, first.root2, first.proof);
      await expect(anchor(7, ROOT, []))
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
        await expect(anchor(13, root, proof))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorInconsistent")
          .withArgs(LOG, 6, 13);
      }
      expect(await logAnchor.latest(LOG)).to.deep.equal([6n, first.root1]);
      await expect(logAnchor.rootAt(LOG, 13))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
        .withArgs(LOG, 13);
    });
  });

  describe("views", function () {
    it("reverts for a size that was never anchored", async function () {
      await anchor(4, ethers.sha256("0x04"), []);
      for (const size of [0, 3, 5]) {
        await expect(logAnchor.rootAt(LOG, size))
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
      expect(await logAnchor.latest(LOG)).to.deep.equal([0n, ethers.ZeroHash]);
    });

    it("keeps logs apart", async function () {
      const otherLog = logIdOf("sizes-other");
      await createLog(logAnchor, otherLog, admin, logKey);
      await anchor(4, ethers.sha256("0x04"), []);
      await anchor(4, ethers.sha256("0x05"), [], otherLog);
      expect(await logAnchor.rootAt(LOG, 4)).to.equal(ethers.sha256("0x04"));
      expect(await logAnchor.rootAt(otherLog, 4)).to.equal(ethers.sha256("0x05"));
    });
  });
});
