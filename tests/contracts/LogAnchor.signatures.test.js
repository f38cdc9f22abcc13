// The log key's signature is what makes an anchor: whoever sends the transaction is a
// mere relayer. Each test here reproduces an attack by someone who holds a gas key (any
// account of the node, the deployer and the former "anchorer" included) but not the log
// key, and sees it refused with LogAnchorBadSignature naming the address the signature
// recovers to, with nothing changed. The checkpoint attacked is always consistent with
// the anchored tree, so the signature is the only thing that stops it. Then a stranger
// with no role relays a checkpoint the log key did sign, and it is accepted.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  CHECKPOINT_TYPES,
  anchorSigned,
  checkpointDomain,
  checkpointMessage,
  compactSignature,
  createLog,
  deployLogAnchor,
  flipBit,
  logIdOf,
  newStranger,
  signCheckpoint,
  syntheticConsistency,
} = require("./helpers");

const LOG = logIdOf("signatures-log");
const SAME_KEY_LOG = logIdOf("signatures-log-with-the-same-key");
const SIZE1 = 4; // a power of two, so syntheticConsistency can extend the anchored root
const SIZE2 = 8;
const ROOT1 = ethers.sha256(ethers.toUtf8Bytes("signatures/root at 4"));
const UINT64_MAX = 2n ** 64n - 1n;
const NO_INDEX = ethers.ZeroHash; // the index root of a log that commits to no index
const INDEX_ROOT = ethers.sha256(ethers.toUtf8Bytes("signatures/index root at 8"));
const ALL_ONES = ethers.toBeHex(2n ** 256n - 1n, 32);
/** Order of secp256k1, and the largest s a signature may carry (EIP-2). */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N / 2n;
const V_BIT = 1n << 255n;
/** Gas for attack transactions, so that each is mined and reverts on chain. */
const SEND = { gasLimit: 1_000_000 };

/** The EVM's own ecrecover (precompile 0x01), which takes high-s signatures. */
async function ecrecover(digest, v, r, s) {
  const out = await ethers.provider.call({
    to: "0x0000000000000000000000000000000000000001",
    data: ethers.AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint8", "bytes32", "uint256"],
      [digest, v, r, s],
    ),
  });
  return ethers.getAddress(ethers.dataSlice(out, 12));
}

/** {r, vs} from a bigint s and parity bit. */
function compact(r, s, yParity) {
  return { r, vs: ethers.toBeHex((BigInt(yParity) << 255n) | s, 32) };
}

describe("LogAnchor signatures", function () {
  let logAnchor, owner, admin, anchorer, other, logKey, stranger;
  let extension; // a consistent extension SIZE1 -> SIZE2: {root2, proof}

  beforeEach(async function () {
    ({ logAnchor, owner, admin, anchorer, other, logKey } = await deployLogAnchor());
    stranger = await newStranger("stranger");
    await createLog(logAnchor, LOG, admin, logKey);
    await createLog(logAnchor, SAME_KEY_LOG, admin, logKey);
    const { r, vs } = await signCheckpoint(logAnchor, logKey, LOG, SIZE1, ROOT1);
    await (await logAnchor.anchor(LOG, SIZE1, ROOT1, NO_INDEX, [], r, vs)).wait();
    extension = syntheticConsistency(SIZE1, SIZE2, "signatures/extension", [ROOT1]);
    expect(extension.root1).to.equal(ROOT1);
  });

  /** The digest the contract checks for checkpoint (logId, size, root, indexRoot). */
  async function digestOf(logId, size, root, indexRoot = NO_INDEX) {
    const domain = await checkpointDomain(logAnchor);
    const message = checkpointMessage(logId, size, root, indexRoot);
    return ethers.TypedDataEncoder.hash(domain, CHECKPOINT_TYPES, message);
  }

  /**
   * The address {r, vs} recovers to for checkpoint (LOG, SIZE2, root, indexRoot) of
   * logAnchor.
   */
  async function recoveredFor({ r, vs }, root = extension.root2, indexRoot = NO_INDEX) {
    return ethers.recoverAddress(await digestOf(LOG, SIZE2, root, indexRoot), { r, yParityAndS: vs });
  }

  /**
   * Sends `step` ({root2, proof}), extending LOG to SIZE2 with index root `indexRoot`,
   * with {r, vs}, from `sender`.
   */
  function sendExtension(sender, { r, vs }, step = extension, indexRoot = NO_INDEX) {
    return logAnchor.connect(sender).anchor(LOG, SIZE2, step.root2, indexRoot, step.proof, r, vs, SEND);
  }

  /** Asserts the anchored state of LOG is what beforeEach made it. */
  async function expectUnchanged() {
    expect(await logAnchor.latest(LOG)).to.deep.equal([BigInt(SIZE1), ROOT1]);
    await expect(logAnchor.rootAt(LOG, SIZE2))
      .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
      .withArgs(LOG, SIZE2);
    expect(await logAnchor.queryFilter(logAnchor.filters.Anchored(LOG, SIZE2))).to.deep.equal([]);
  }

  /**
   * Sends the extension of LOG to SIZE2 with `signature` from `sender`, expects
   * LogAnchorBadSignature(LOG, recovered) and nothing changed.
   */
  async function expectRefused(sender, signature, recovered) {
    await expect(sendExtension(sender, signature))
      .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
      .withArgs(LOG, recovered);
    await expectUnchanged();
  }

  describe("a leaked gas key anchors nothing the log key did not sign", function () {
    it("refuses a checkpoint signed by the sender's own key, whoever the sender", async function () {
      for (const sender of [owner, admin, anchorer, other, stranger]) {
        const signature = await signCheckpoint(logAnchor, sender, LOG, SIZE2, extension.root2);
        await expectRefused(sender, signature, sender.address);
      }
    });

    it("refuses a checkpoint signed by any key but the log key", async function () {
      const wrongKey = new ethers.Wallet(ethers.id("signatures/a wrong key"));
      const signature = await signCheckpoint(logAnchor, wrongKey, LOG, SIZE2, extension.root2);
      await expectRefused(anchorer, signature, wrongKey.address);
    });

    it("refuses the log key's signature over another size, root or log id", async function () {
      const otherRoot = ethers.sha256(ethers.toUtf8Bytes("signatures/another root"));
      for (const [logId, size, root] of [
        [LOG, SIZE2 + 1, extension.root2], // another size
        [LOG, UINT64_MAX, extension.root2],
        [LOG, SIZE1, extension.root2],
        [LOG, SIZE2, otherRoot], // another root
        [LOG, SIZE2, ROOT1],
        [SAME_KEY_LOG, SIZE2, extension.root2], // another log with the same log key
      ]) {
        const signature = await signCheckpoint(logAnchor, logKey, logId, size, root);
        const recovered = await recoveredFor(signature);
        expect(recovered).not.to.equal(logKey.address);
        await expectRefused(anchorer, signature, recovered);
      }
    });

    it("refuses the log key's signature replayed for a different, consistent root", async function () {
      // Two extensions of the anchored tree, both consistent with it: the log key signed
      // the first only, and its signature does not carry over to the second.
      const forged = syntheticConsistency(SIZE1, SIZE2, "signatures/forged", [ROOT1]);
      expect(forged.root2).not.to.equal(extension.root2);
      const signature = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2);
      const recovered = await recoveredFor(signature, forged.root2);
      await expect(sendExtension(other, signature, forged))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
        .withArgs(LOG, recovered);
      await expectUnchanged();
      // The signed one goes through with the very same signature.
      await sendExtension(other, signature);
      expect(await logAnchor.latest(LOG)).to.deep.equal([BigInt(SIZE2), extension.root2]);
    });

    it("refuses a checkpoint of one log replayed on another log with the same key", async function () {
      // SAME_KEY_LOG has no anchor yet: LOG's first checkpoint would be a valid first
      // anchor there, but for the log id it names.
      const { r, vs } = await signCheckpoint(logAnchor, logKey, LOG, SIZE1, ROOT1);
      const digest = await digestOf(SAME_KEY_LOG, SIZE1, ROOT1);
      await expect(logAnchor.connect(stranger).anchor(SAME_KEY_LOG, SIZE1, ROOT1, NO_INDEX, [], r, vs, SEND))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
        .withArgs(SAME_KEY_LOG, ethers.recoverAddress(digest, { r, yParityAndS: vs }));
      expect(await logAnchor.latest(SAME_KEY_LOG)).to.deep.equal([0n, ethers.ZeroHash]);
    });

    it("refuses a signature made for another LogAnchor on the same chain, which accepts it", async function () {
      const otherAnchor = await ethers.deployContract("LogAnchor", owner);
      await otherAnchor.waitForDeployment();
      await createLog(otherAnchor, LOG, admin, logKey);
      await (await anchorSigned(otherAnchor, anchorer, logKey, LOG, SIZE1, ROOT1, [])).wait();
      const signature = await signCheckpoint(otherAnchor, logKey, LOG, SIZE2, extension.root2);

      const recovered = await recoveredFor(signature);
      expect(recovered).not.to.equal(logKey.address);
      await expectRefused(anchorer, signature, recovered);

      const { r, vs } = signature;
      await expect(otherAnchor.anchor(LOG, SIZE2, extension.root2, NO_INDEX, extension.proof, r, vs))
        .to.emit(otherAnchor, "Anchored")
        .withArgs(LOG, SIZE2, extension.root2, NO_INDEX, SIZE1);
      expect(await otherAnchor.checkpointDigest(LOG, SIZE2, extension.root2, NO_INDEX)).not.to.equal(
        await logAnchor.checkpointDigest(LOG, SIZE2, extension.root2, NO_INDEX),
      );
    });

    it("refuses a signature made for another chain id", async function () {
      const { chainId } = await ethers.provider.getNetwork();
      for (const otherChain of [1n, chainId + 1n, chainId - 1n]) {
        const signature = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2, NO_INDEX, {
          chainId: otherChain,
        });
        const recovered = await recoveredFor(signature);
        expect(recovered).not.to.equal(logKey.address);
        await expectRefused(anchorer, signature, recovered);
      }
    });

    it("refuses a signature over another domain name or version", async function () {
      for (const overrides of [{ name: "model-ledger-test" }, { version: "2" }]) {
        const root = extension.root2;
        const signature = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, root, NO_INDEX, overrides);
        await expectRefused(anchorer, signature, await recoveredFor(signature));
      }
    });

    it("refuses another typed message the log key signed in the same domain (a receipt)", async function () {
      // The service signs receipts with the log key in this very domain. A receipt whose
      // batch root and size match the checkpoint's root and size is still no checkpoint:
      // the type hash differs.
      const receiptTypes = {
        Receipt: [
          { name: "logId", type: "bytes32" },
          { name: "batchRoot", type: "bytes32" },
          { name: "batchSize", type: "uint256" },
          { name: "receivedAt", type: "string" },
          { name: "maximumMergeDelay", type: "uint256" },
        ],
      };
      const receipt = await logKey.signTypedData(await checkpointDomain(logAnchor), receiptTypes, {
        logId: LOG,
        batchRoot: extension.root2,
        batchSize: SIZE2,
        receivedAt: "2026-01-01T00:00:00Z",
        maximumMergeDelay: 3600,
      });
      const signature = compactSignature(receipt);
      await expectRefused(anchorer, signature, await recoveredFor(signature));
    });

    it("refuses a checkpoint signed as another Checkpoint type (the service's timestamped note)", async function () {
      // Before commit 0e4f035, ledger/receipts.py signed `Checkpoint(bytes32 logId,uint256
      // treeSize,bytes32 root,string timestamp)` in this domain: same name, another type
      // hash, no anchor.
      const timestamped = {
        Checkpoint: [
          { name: "logId", type: "bytes32" },
          { name: "treeSize", type: "uint256" },
          { name: "root", type: "bytes32" },
          { name: "timestamp", type: "string" },
        ],
      };
      const note = await logKey.signTypedData(await checkpointDomain(logAnchor), timestamped, {
        logId: LOG,
        treeSize: SIZE2,
        root: extension.root2,
        timestamp: "2026-01-01T00:00:00Z",
      });
      const signature = compactSignature(note);
      await expectRefused(anchorer, signature, await recoveredFor(signature));
    });

    it("refuses a checkpoint signed in the type before the index root, as a checkpoint without index", async function () {
      // Until commit d7c683f the log key signed `Checkpoint(bytes32 logId,uint64
      // treeSize,bytes32 root)`. Such a signature is no signature over the same
      // checkpoint with a zero index root: its type hash differs, so it anchors nothing.
      const withoutIndexRoot = { Checkpoint: CHECKPOINT_TYPES.Checkpoint.slice(0, 3) };
      expect(ethers.TypedDataEncoder.from(withoutIndexRoot).encodeType("Checkpoint")).to.equal(
        "Checkpoint(bytes32 logId,uint64 treeSize,bytes32 root)",
      );
      const old = await logKey.signTypedData(await checkpointDomain(logAnchor), withoutIndexRoot, {
        logId: LOG,
        treeSize: SIZE2,
        root: extension.root2,
      });
      const signature = compactSignature(old);
      const recovered = await recoveredFor(signature, extension.root2, NO_INDEX);
      expect(recovered).not.to.equal(logKey.address);
      await expectRefused(anchorer, signature, recovered);
    });

    it("refuses malformed signatures: zero, out-of-range r, zero s, high s", async function () {
      const valid = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2);
      const { s, yParity } = ethers.Signature.from({ r: valid.r, yParityAndS: valid.vs });
      const zero = ethers.ZeroHash;
      const allOnes = ethers.toBeHex(2n ** 256n - 1n, 32);
      for (const signature of [
        { r: zero, vs: zero },
        { r: zero, vs: valid.vs },
        { r: valid.r, vs: zero },
        { r: allOnes, vs: valid.vs }, // r beyond the field: no point has that x
        compact(valid.r, 0n, 1), // s = 0 with the parity bit set
        compact(valid.r, HALF_N + 1n, yParity), // the smallest s EIP-2 refuses
        compact(valid.r, V_BIT - 1n, yParity), // the largest s compact form can carry
      ]) {
        // ECDSA.tryRecover reports these as errors: the contract names the zero address.
        await expectRefused(anchorer, signature, ethers.ZeroAddress);
      }
      // The malleable twin (r, N - s, other parity) recovers to the log key with the
      // EVM's ecrecover, but N - s has bit 255 set (as for all but a 2^-127 share of
      // signatures), which EIP-2098 keeps for the parity: written into vs anyway, it
      // reads as another s with the original parity, and recovers elsewhere (or nowhere).
      const twinS = N - BigInt(s);
      expect(twinS >= V_BIT).to.equal(true);
      const digest = await digestOf(LOG, SIZE2, extension.root2);
      expect(await ecrecover(digest, yParity ? 27 : 28, valid.r, twinS)).to.equal(logKey.address);
      const twin = { r: valid.r, vs: ethers.toBeHex(((1n - BigInt(yParity)) << 255n) ^ twinS, 32) };
      await expect(sendExtension(anchorer, twin))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
        .withArgs(LOG, (recovered) => recovered !== logKey.address);
      await expectUnchanged();
    });

    it("refuses the log key's signature with its parity bit (v) flipped", async function () {
      const valid = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2);
      const flipped = { r: valid.r, vs: ethers.toBeHex(BigInt(valid.vs) ^ V_BIT, 32) };
      const recovered = await recoveredFor(flipped);
      expect(recovered).not.to.equal(logKey.address);
      expect(recovered).not.to.equal(ethers.ZeroAddress);
      await expectRefused(anchorer, flipped, recovered);
    });
  });

  describe("anyone relays what the log key signed", function () {
    it("accepts a checkpoint signed by the log key from a stranger with no role", async function () {
      const { r, vs } = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2);
      const tx = sendExtension(stranger, { r, vs });
      await expect(tx).to.emit(logAnchor, "Anchored").withArgs(LOG, SIZE2, extension.root2, NO_INDEX, SIZE1);
      const receipt = await (await tx).wait();
      expect(receipt.from).to.equal(stranger.address);

      const [event] = await logAnchor.queryFilter(logAnchor.filters.Anchored(LOG, SIZE2));
      expect(event.transactionHash).to.equal(receipt.hash);
      expect(event.topics[2]).to.equal(ethers.toBeHex(SIZE2, 32)); // size is indexed
      expect(await logAnchor.rootAt(LOG, SIZE2)).to.equal(extension.root2);
      expect(await logAnchor.rootAt(LOG, SIZE1)).to.equal(ROOT1);
      expect(await logAnchor.latest(LOG)).to.deep.equal([BigInt(SIZE2), extension.root2]);
      expect((await logAnchor.logInfo(LOG)).latestSize).to.equal(BigInt(SIZE2));
    });

    it("takes the same signature from any relayer, once", async function () {
      const { r, vs } = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2);
      await sendExtension(stranger, { r, vs });
      // Relayed again, by anyone: refused as a size that does not grow, harmlessly.
      for (const sender of [stranger, owner]) {
        await expect(sendExtension(sender, { r, vs }))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorSizeNotIncreasing")
          .withArgs(LOG, SIZE2, SIZE2);
      }
    });

    it("signs exactly ethers' EIP-712 digest: checkpointDigest equals TypedDataEncoder.hash", async function () {
      const digests = new Set();
      for (const [logId, size, root, indexRoot] of [
        [LOG, SIZE2, extension.root2, NO_INDEX],
        [LOG, SIZE2, extension.root2, INDEX_ROOT],
        [LOG, SIZE2, extension.root2, ALL_ONES],
        [LOG, 1n, ROOT1, INDEX_ROOT],
        [SAME_KEY_LOG, UINT64_MAX, ethers.ZeroHash, INDEX_ROOT],
        [ethers.ZeroHash, 0n, ethers.ZeroHash, ethers.ZeroHash],
      ]) {
        const digest = await digestOf(logId, size, root, indexRoot);
        expect(await logAnchor.checkpointDigest(logId, size, root, indexRoot)).to.equal(digest);
        const { r, vs } = await signCheckpoint(logAnchor, logKey, logId, size, root, indexRoot);
        expect(ethers.recoverAddress(digest, { r, yParityAndS: vs })).to.equal(logKey.address);
        digests.add(digest);
      }
      expect(digests.size).to.equal(6); // the index root changes the digest
      const domain = await checkpointDomain(logAnchor);
      expect(domain).to.deep.include({ name: "model-ledger", version: "1" });
      expect(ethers.TypedDataEncoder.from(CHECKPOINT_TYPES).encodeType("Checkpoint")).to.equal(
        "Checkpoint(bytes32 logId,uint64 treeSize,bytes32 root,bytes32 indexRoot)",
      );
    });
  });

  describe("the index root", function () {
    it("is an argument of anchor, checkpointDigest and Anchored, after the root", function () {
      const { interface: abi } = logAnchor;
      expect(abi.getFunction("anchor").format()).to.equal(
        "anchor(bytes32,uint64,bytes32,bytes32,bytes32[],bytes32,bytes32)",
      );
      expect(abi.getFunction("anchor").inputs[3].name).to.equal("indexRoot");
      expect(abi.getFunction("checkpointDigest").format()).to.equal(
        "checkpointDigest(bytes32,uint64,bytes32,bytes32)",
      );
      expect(abi.getEvent("Anchored").format("full")).to.equal(
        "event Anchored(bytes32 indexed logId, uint64 indexed size, bytes32 root, bytes32 indexRoot, uint64 prevSize)",
      );
    });

    it("is covered by the signature: the log key's signature over another index root is refused", async function () {
      const flipped = flipBit(INDEX_ROOT, 255);
      for (const [signed, sent] of [
        [INDEX_ROOT, NO_INDEX], // an index root dropped
        [NO_INDEX, INDEX_ROOT], // an index root slipped into a checkpoint without one
        [INDEX_ROOT, flipped], // one bit of it changed
        [INDEX_ROOT, ALL_ONES],
      ]) {
        const signature = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2, signed);
        const recovered = await recoveredFor(signature, extension.root2, sent);
        expect(recovered).not.to.equal(logKey.address);
        await expect(sendExtension(stranger, signature, extension, sent))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
          .withArgs(LOG, recovered);
        await expectUnchanged();
      }
      // The same signature with the index root it was made over goes through.
      const signature = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2, INDEX_ROOT);
      await expect(sendExtension(stranger, signature, extension, INDEX_ROOT))
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, SIZE2, extension.root2, INDEX_ROOT, SIZE1);
    });

    it("is accepted non-zero from a relayer with no role, and Anchored carries it", async function () {
      const signature = await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2, INDEX_ROOT);
      const tx = sendExtension(stranger, signature, extension, INDEX_ROOT);
      await expect(tx)
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, SIZE2, extension.root2, INDEX_ROOT, SIZE1);
      const receipt = await (await tx).wait();
      expect(receipt.from).to.equal(stranger.address);

      const [event] = await logAnchor.queryFilter(logAnchor.filters.Anchored(LOG, SIZE2));
      expect(event.transactionHash).to.equal(receipt.hash);
      expect(event.args.indexRoot).to.equal(INDEX_ROOT);
      // Not indexed: the data holds root, indexRoot, prevSize, 32 bytes each, which is
      // what ledger/verify.py and ledger/audit.py read.
      expect(event.topics).to.deep.equal([
        logAnchor.interface.getEvent("Anchored").topicHash,
        LOG,
        ethers.toBeHex(SIZE2, 32),
      ]);
      expect(event.data).to.equal(
        ethers.concat([extension.root2, INDEX_ROOT, ethers.toBeHex(SIZE1, 32)]),
      );
      // The contract keeps no index root: the event is its record.
      expect(await logAnchor.rootAt(LOG, SIZE2)).to.equal(extension.root2);
      expect(await logAnchor.latest(LOG)).to.deep.equal([BigInt(SIZE2), extension.root2]);
    });

    it("is not interpreted: zero, non-zero, zero again and all ones are anchored as signed", async function () {
      await sendExtension(
        anchorer,
        await signCheckpoint(logAnchor, logKey, LOG, SIZE2, extension.root2, INDEX_ROOT),
        extension,
        INDEX_ROOT,
      );
      const to16 = syntheticConsistency(SIZE2, 16, "signatures/to 16", [extension.root2]);
      await anchorSigned(logAnchor, other, logKey, LOG, 16, to16.root2, to16.proof, NO_INDEX);
      const to32 = syntheticConsistency(16, 32, "signatures/to 32", [to16.root2]);
      await anchorSigned(logAnchor, stranger, logKey, LOG, 32, to32.root2, to32.proof, ALL_ONES);
      const events = await logAnchor.queryFilter(logAnchor.filters.Anchored(LOG));
      expect(events.map((e) => e.args.toArray())).to.deep.equal([
        [LOG, BigInt(SIZE1), ROOT1, NO_INDEX, 0n],
        [LOG, BigInt(SIZE2), extension.root2, INDEX_ROOT, BigInt(SIZE1)],
        [LOG, 16n, to16.root2, NO_INDEX, BigInt(SIZE2)],
        [LOG, 32n, to32.root2, ALL_ONES, 16n],
      ]);
    });
  });

  describe("eip712Domain (ERC-5267)", function () {
    /**
     * The EIP-712 domain an ERC-5267 tool builds from eip712Domain(): each bit of
     * `fields` (name, version, chainId, verifyingContract, salt) takes that field.
     */
    function domainOf({ fields, name, version, chainId, verifyingContract, salt }) {
      const bits = Number(fields);
      const domain = {};
      if (bits & 0x01) domain.name = name;
      if (bits & 0x02) domain.version = version;
      if (bits & 0x04) domain.chainId = chainId;
      if (bits & 0x08) domain.verifyingContract = verifyingContract;
      if (bits & 0x10) domain.salt = salt;
      return domain;
    }

    it("returns fields 0x0f, name model-ledger, version 1, this chain id and this contract", async function () {
      const { chainId } = await ethers.provider.getNetwork();
      const address = await logAnchor.getAddress();
      const found = await logAnchor.eip712Domain();
      expect(found.fields).to.equal("0x0f"); // name, version, chainId, verifyingContract
      expect(found.name).to.equal("model-ledger");
      expect(found.version).to.equal("1");
      expect(found.chainId).to.equal(chainId);
      expect(found.verifyingContract).to.equal(address);
      expect(found.salt).to.equal(ethers.ZeroHash); // not in fields: unused
      expect(found.extensions.toArray()).to.deep.equal([]);
      // It is the domain the helpers sign in, and another deployment names itself.
      expect(domainOf(found)).to.deep.equal(await checkpointDomain(logAnchor));
      const otherAnchor = await ethers.deployContract("LogAnchor", owner);
      await otherAnchor.waitForDeployment();
      const otherFound = await otherAnchor.eip712Domain();
      expect(otherFound.verifyingContract).to.equal(await otherAnchor.getAddress());
      expect(otherFound.verifyingContract).not.to.equal(address);
    });

    it("gives, with ethers' TypedDataEncoder, the digest the contract checks and signatures it takes", async function () {
      const domain = domainOf(await logAnchor.eip712Domain());
      for (const [logId, size, root, indexRoot] of [
        [LOG, SIZE2, extension.root2, NO_INDEX],
        [LOG, SIZE2, extension.root2, INDEX_ROOT],
        [SAME_KEY_LOG, UINT64_MAX, ROOT1, ALL_ONES],
      ]) {
        const message = checkpointMessage(logId, size, root, indexRoot);
        expect(ethers.TypedDataEncoder.hash(domain, CHECKPOINT_TYPES, message)).to.equal(
          await logAnchor.checkpointDigest(logId, size, root, indexRoot),
        );
      }
      // A tool that signs in the published domain anchors.
      const message = checkpointMessage(LOG, SIZE2, extension.root2, INDEX_ROOT);
      const signature = compactSignature(await logKey.signTypedData(domain, CHECKPOINT_TYPES, message));
      await expect(sendExtension(stranger, signature, extension, INDEX_ROOT))
        .to.emit(logAnchor, "Anchored")
        .withArgs(LOG, SIZE2, extension.root2, INDEX_ROOT, SIZE1);
    });
  });
});
