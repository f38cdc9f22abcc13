// The issuer key's EIP-712 signature is what grants and revokes: whoever sends the
// transaction is a mere relayer. Each test here reproduces an attack of the hostile
// review by someone who holds a gas key (the deployer's included) but not the
// issuer key, or who replays what the issuer key signed for something else (another
// commitment, window, revocation record, registry, chain, or type), or who sends a
// malformed signature; each is refused with the address the signature recovers to
// (zero for a malformed one) and nothing changes. Then strangers relay what the issuer
// key did sign, and it goes through. Last, the digests and the domain (ERC-5267) are
// ethers' own.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  CHECKPOINT_TYPES,
  GRANT_TYPES,
  REVOKE_TYPES,
  compactSignature,
  deployLicenceRegistry,
  grantSigned,
  newStranger,
  pythonFixtures,
  revokeSigned,
  signGrant,
  signRevoke,
  signTyped,
  signedGrant,
  typedDomain,
} = require("./helpers");

const Status = { Unknown: 0n, NotYetValid: 1n, Active: 2n, Expired: 3n, Revoked: 4n };
const C = ethers.sha256(ethers.toUtf8Bytes("signatures/the commitment"));
const C2 = ethers.sha256(ethers.toUtf8Bytes("signatures/another commitment"));
const FROM = 1_700_000_000n;
const UNTIL = 4_000_000_000n;
const REVOCATION = ethers.sha256(ethers.toUtf8Bytes("signatures/the revoking record"));
const UINT64_MAX = 2n ** 64n - 1n;
/** Order of secp256k1, half of it (the largest s EIP-2 allows) and the parity bit of vs. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = N / 2n;
const V_BIT = 1n << 255n;
/** Gas for attack transactions, so that each is mined and reverts on chain. */
const SEND = { gasLimit: 1_000_000 };

/** {r, vs} with s and the parity bit given. */
function compact(r, s, yParity) {
  return { r, vs: ethers.toBeHex((BigInt(yParity) << 255n) | s, 32) };
}

/** Malformed versions of `valid` ({r, vs}) that ECDSA.tryRecover reports as errors. */
function malformed(valid) {
  const { yParity } = ethers.Signature.from({ r: valid.r, yParityAndS: valid.vs });
  return [
    ["zero", { r: ethers.ZeroHash, vs: ethers.ZeroHash }],
    ["zero r", { r: ethers.ZeroHash, vs: valid.vs }],
    ["zero s", { r: valid.r, vs: ethers.ZeroHash }],
    ["r beyond the field", { r: ethers.toBeHex(2n ** 256n - 1n, 32), vs: valid.vs }],
    ["s = 0 with the parity bit set", compact(valid.r, 0n, 1)],
    ["the smallest s EIP-2 refuses", compact(valid.r, HALF_N + 1n, yParity)],
    ["the largest s compact form carries", compact(valid.r, V_BIT - 1n, yParity)],
  ];
}

/** `valid` ({r, vs}) with its parity bit (v) flipped. */
function flipV(valid) {
  return { r: valid.r, vs: ethers.toBeHex(BigInt(valid.vs) ^ V_BIT, 32) };
}

describe("LicenceRegistry signatures", function () {
  let registry, owner, relayer, other, issuerKey, stranger;

  beforeEach(async function () {
    ({ registry, owner, relayer, other, issuerKey } = await deployLicenceRegistry());
    stranger = await newStranger("registry signatures");
  });

  /** The address {r, vs} recovers to as a grant of (commitment, from, until) here. */
  async function grantRecovered({ r, vs }, commitment = C, from = FROM, until = UNTIL) {
    return ethers.recoverAddress(await registry.grantDigest(commitment, from, until), { r, yParityAndS: vs });
  }

  /** The address {r, vs} recovers to as a revocation of (commitment, revocation) here. */
  async function revokeRecovered({ r, vs }, commitment = C, revocation = REVOCATION) {
    return ethers.recoverAddress(await registry.revokeDigest(commitment, revocation), { r, yParityAndS: vs });
  }

  /** Sends the grant of (C, FROM, UNTIL) with {r, vs} from `sender`: refused, naming `recovered`. */
  async function expectGrantRefused(sender, { r, vs }, recovered) {
    await expect(registry.connect(sender).grant(C, FROM, UNTIL, r, vs, SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
      .withArgs(C, recovered);
    await expect(registry.connect(sender).grantMany([{ commitment: C, validFrom: FROM, validUntil: UNTIL, r, vs }], SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
      .withArgs(C, recovered);
    expect(await registry.status(C)).to.deep.equal([Status.Unknown, 0n, 0n, 0n, 0n, ethers.ZeroAddress]);
  }

  /** Sends the revocation of (C, REVOCATION) with {r, vs} from `sender`: refused, naming `recovered`. */
  async function expectRevokeRefused(sender, { r, vs }, recovered) {
    await expect(registry.connect(sender).revoke(C, REVOCATION, r, vs, SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
      .withArgs(C, recovered);
    const found = await registry.status(C);
    expect([found.state, found.revokedBlock, found.issuer]).to.deep.equal([Status.Active, 0n, issuerKey.address]);
  }

  describe("a leaked gas key grants nothing the issuer key did not sign", function () {
    it("refuses a grant signed by the deployer's own key, sent by itself or relayed", async function () {
      const signature = await signGrant(registry, owner, C, FROM, UNTIL);
      for (const sender of [owner, stranger]) {
        await expectGrantRefused(sender, signature, owner.address);
      }
    });

    it("refuses a grant signed by any other key, whoever sends it", async function () {
      const wrongKey = new ethers.Wallet(ethers.id("signatures/a wrong key"));
      for (const key of [relayer, other, stranger, wrongKey]) {
        const signature = await signGrant(registry, key, C, FROM, UNTIL);
        await expectGrantRefused(key === wrongKey ? stranger : key, signature, key.address);
      }
    });

    it("refuses the issuer key's signature over another commitment or another window", async function () {
      for (const [commitment, from, until] of [
        [C2, FROM, UNTIL], // another commitment
        [C, FROM - 1n, UNTIL], // an earlier start
        [C, FROM, UNTIL + 1n], // a later end
        [C, FROM, UINT64_MAX],
        [C, 0n, 1n],
      ]) {
        const signature = await signGrant(registry, issuerKey, commitment, from, until);
        const recovered = await grantRecovered(signature);
        expect(recovered).not.to.equal(issuerKey.address);
        await expectGrantRefused(stranger, signature, recovered);
      }
    });

    it("refuses a signature made for another registry on the same chain, which accepts it", async function () {
      const otherRegistry = await ethers.deployContract("LicenceRegistry", [issuerKey.address], owner);
      await otherRegistry.waitForDeployment();
      const signature = await signGrant(otherRegistry, issuerKey, C, FROM, UNTIL);
      const recovered = await grantRecovered(signature);
      expect(recovered).not.to.equal(issuerKey.address);
      await expectGrantRefused(stranger, signature, recovered);
      await expect(otherRegistry.connect(stranger).grant(C, FROM, UNTIL, signature.r, signature.vs))
        .to.emit(otherRegistry, "Granted")
        .withArgs(C, issuerKey.address, FROM, UNTIL);
      expect(await otherRegistry.grantDigest(C, FROM, UNTIL)).not.to.equal(await registry.grantDigest(C, FROM, UNTIL));
    });

    it("refuses a signature made for another chain id, domain name or version", async function () {
      const { chainId } = await ethers.provider.getNetwork();
      for (const overrides of [
        { chainId: 1n },
        { chainId: chainId + 1n },
        { chainId: chainId - 1n },
        { name: "model-ledger-test" },
        { version: "2" },
      ]) {
        const signature = await signGrant(registry, issuerKey, C, FROM, UNTIL, overrides);
        const recovered = await grantRecovered(signature);
        expect(recovered).not.to.equal(issuerKey.address);
        await expectGrantRefused(stranger, signature, recovered);
      }
    });

    it("refuses other messages the issuer key (a log key) signs: a revocation, a checkpoint here or for a LogAnchor", async function () {
      // The issuer key is a log key: it signs checkpoints for LogAnchor too. None of
      // them, nor a Revoke over the same words, is a grant.
      const logAnchor = await ethers.deployContract("LogAnchor", owner);
      await logAnchor.waitForDeployment();
      const checkpoint = { logId: C, treeSize: FROM, root: ethers.toBeHex(UNTIL, 32), indexRoot: ethers.ZeroHash };
      for (const signature of [
        await signTyped(registry, issuerKey, REVOKE_TYPES, { commitment: C, revocation: ethers.toBeHex(FROM, 32) }),
        await signTyped(registry, issuerKey, CHECKPOINT_TYPES, checkpoint),
        await signTyped(logAnchor, issuerKey, CHECKPOINT_TYPES, checkpoint),
        await signTyped(logAnchor, issuerKey, GRANT_TYPES, { commitment: C, validFrom: FROM, validUntil: UNTIL }),
      ]) {
        const recovered = await grantRecovered(signature);
        expect(recovered).not.to.equal(issuerKey.address);
        await expectGrantRefused(stranger, signature, recovered);
      }
    });

    it("refuses malformed signatures (zero, bad r or s, high s) naming the zero address, and a flipped v", async function () {
      const valid = await signGrant(registry, issuerKey, C, FROM, UNTIL);
      for (const [how, signature] of malformed(valid)) {
        await expect(registry.connect(stranger).grant(C, FROM, UNTIL, signature.r, signature.vs, SEND), how)
          .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
          .withArgs(C, ethers.ZeroAddress);
      }
      const flipped = flipV(valid);
      const recovered = await grantRecovered(flipped);
      expect(recovered).not.to.equal(issuerKey.address);
      expect(recovered).not.to.equal(ethers.ZeroAddress);
      await expectGrantRefused(stranger, flipped, recovered);
      // The valid signature grants.
      await expect(registry.connect(stranger).grant(C, FROM, UNTIL, valid.r, valid.vs))
        .to.emit(registry, "Granted")
        .withArgs(C, issuerKey.address, FROM, UNTIL);
    });
  });

  describe("a revocation needs the granting key's signature over that very record", function () {
    beforeEach(async function () {
      await grantSigned(registry, relayer, issuerKey, C, FROM, UNTIL);
      await grantSigned(registry, relayer, issuerKey, C2, FROM, UNTIL);
    });

    it("refuses the granting key's signature over another revocation record or another commitment", async function () {
      for (const [commitment, revocation] of [
        [C, ethers.sha256(ethers.toUtf8Bytes("signatures/another record"))],
        [C, ethers.toBeHex(1, 32)],
        [C2, REVOCATION], // the same record for another commitment of the same key
      ]) {
        const signature = await signRevoke(registry, issuerKey, commitment, revocation);
        const recovered = await revokeRecovered(signature);
        expect(recovered).not.to.equal(issuerKey.address);
        await expectRevokeRefused(stranger, signature, recovered);
      }
      expect((await registry.status(C2)).state).to.equal(Status.Active);
    });

    it("refuses a revocation signed for another registry (which accepts it), chain id, name or version", async function () {
      const otherRegistry = await ethers.deployContract("LicenceRegistry", [issuerKey.address], owner);
      await otherRegistry.waitForDeployment();
      await grantSigned(otherRegistry, relayer, issuerKey, C, FROM, UNTIL);
      const forOther = await signRevoke(otherRegistry, issuerKey, C, REVOCATION);
      await expectRevokeRefused(stranger, forOther, await revokeRecovered(forOther));
      const { chainId } = await ethers.provider.getNetwork();
      for (const overrides of [{ chainId: 1n }, { chainId: chainId + 1n }, { name: "ledger" }, { version: "0" }]) {
        const signature = await signRevoke(registry, issuerKey, C, REVOCATION, overrides);
        const recovered = await revokeRecovered(signature);
        expect(recovered).not.to.equal(issuerKey.address);
        await expectRevokeRefused(stranger, signature, recovered);
      }
      await expect(otherRegistry.connect(stranger).revoke(C, REVOCATION, forOther.r, forOther.vs))
        .to.emit(otherRegistry, "Revoked")
        .withArgs(C, issuerKey.address, REVOCATION);
    });

    it("refuses the granting key's grant signature as a revocation", async function () {
      // The signed grant of C is public (it was sent): it revokes nothing.
      const signature = await signGrant(registry, issuerKey, C, FROM, UNTIL);
      await expectRevokeRefused(stranger, signature, await revokeRecovered(signature));
    });

    it("refuses malformed revocation signatures naming the zero address, and a flipped v", async function () {
      const valid = await signRevoke(registry, issuerKey, C, REVOCATION);
      for (const [how, signature] of malformed(valid)) {
        await expect(registry.connect(stranger).revoke(C, REVOCATION, signature.r, signature.vs, SEND), how)
          .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
          .withArgs(C, ethers.ZeroAddress);
      }
      const flipped = flipV(valid);
      const recovered = await revokeRecovered(flipped);
      expect(recovered).not.to.equal(ethers.ZeroAddress);
      await expectRevokeRefused(stranger, flipped, recovered);
      await expect(registry.connect(stranger).revoke(C, REVOCATION, valid.r, valid.vs))
        .to.emit(registry, "Revoked")
        .withArgs(C, issuerKey.address, REVOCATION);
    });
  });

  describe("anyone relays what the issuer key signed", function () {
    it("accepts a signed grant and a signed revocation from a stranger with no role", async function () {
      // An issuer key that holds no ether and never sends (other tests give the log key
      // gas, to show that as a sender it counts for nothing), on a registry of its own.
      const offlineKey = new ethers.Wallet(ethers.id("signatures/an offline issuer key"));
      const ours = registry;
      registry = await ethers.deployContract("LicenceRegistry", [offlineKey.address], owner);
      const granting = grantSigned(registry, stranger, offlineKey, C, FROM, UNTIL);
      await expect(granting).to.emit(registry, "Granted").withArgs(C, offlineKey.address, FROM, UNTIL);
      const granted = await (await granting).wait();
      expect(granted.from).to.equal(stranger.address);
      const revoking = revokeSigned(registry, stranger, offlineKey, C, REVOCATION);
      await expect(revoking).to.emit(registry, "Revoked").withArgs(C, offlineKey.address, REVOCATION);
      const revoked = await (await revoking).wait();
      expect(revoked.from).to.equal(stranger.address);
      expect(await registry.status(C)).to.deep.equal([
        Status.Revoked,
        FROM,
        UNTIL,
        BigInt(granted.blockNumber),
        BigInt(revoked.blockNumber),
        offlineKey.address,
      ]);
      expect(await ethers.provider.getTransactionCount(offlineKey.address)).to.equal(0);
      expect(await ethers.provider.getBalance(offlineKey.address)).to.equal(0n);
      // The Granted and Revoked events index the issuer key.
      const [grantedEvent] = await registry.queryFilter(registry.filters.Granted(C, offlineKey.address));
      expect(grantedEvent.transactionHash).to.equal(granted.hash);
      expect(grantedEvent.topics[2]).to.equal(ethers.zeroPadValue(offlineKey.address, 32));
      const [revokedEvent] = await registry.queryFilter(registry.filters.Revoked(C, offlineKey.address));
      expect(revokedEvent.transactionHash).to.equal(revoked.hash);
      // And the tests' log key, on its own registry, is relayed the same way.
      registry = ours;
      await expect(grantSigned(registry, stranger, issuerKey, C2, FROM, UNTIL))
        .to.emit(registry, "Granted")
        .withArgs(C2, issuerKey.address, FROM, UNTIL);
      await expect(revokeSigned(registry, stranger, issuerKey, C2, REVOCATION))
        .to.emit(registry, "Revoked")
        .withArgs(C2, issuerKey.address, REVOCATION);
    });

    it("takes the same signatures from any relayer, once", async function () {
      const grant = await signGrant(registry, issuerKey, C, FROM, UNTIL);
      const { blockNumber } = await (await registry.connect(stranger).grant(C, FROM, UNTIL, grant.r, grant.vs)).wait();
      for (const sender of [stranger, owner]) {
        await expect(registry.connect(sender).grant(C, FROM, UNTIL, grant.r, grant.vs))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
          .withArgs(C, blockNumber);
      }
      const revocation = await signRevoke(registry, issuerKey, C, REVOCATION);
      const revoked = await (await registry.connect(owner).revoke(C, REVOCATION, revocation.r, revocation.vs)).wait();
      await expect(registry.connect(stranger).revoke(C, REVOCATION, revocation.r, revocation.vs))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyRevoked")
        .withArgs(C, revoked.blockNumber);
    });

    it("does not let a relayer who sends one grant of a pending batch first make the batch fail", async function () {
      // Signed grants are public once sent. A relayer who sees a grantMany in the mempool
      // can send one of its grants alone, first: the grant stands as the issuer signed
      // it, and grantMany skips a commitment granted already with the same window, so the
      // batch still grants the rest.
      const t = BigInt((await ethers.provider.getBlock("latest")).timestamp);
      const grants = [C, C2].map((commitment) => ({ commitment, validFrom: t, validUntil: t + 1000n }));
      const batch = await Promise.all(grants.map((g) => signedGrant(registry, issuerKey, g)));
      const front = batch[1];
      await (await registry.connect(stranger).grant(front.commitment, front.validFrom, front.validUntil, front.r, front.vs)).wait();
      await expect(registry.connect(relayer).grantMany(batch))
        .to.emit(registry, "Granted")
        .withArgs(C, issuerKey.address, t, t + 1000n);
      expect((await registry.status(C)).state).to.equal(Status.Active);
      expect((await registry.status(C2)).issuer).to.equal(issuerKey.address);
      // Another window for a granted commitment is no duplicate: the batch reverts.
      const other = await signedGrant(registry, issuerKey, { commitment: C2, validFrom: t, validUntil: t + 999n });
      await expect(registry.connect(relayer).grantMany([other], SEND)).to.be.revertedWithCustomError(
        registry,
        "LicenceRegistryAlreadyGranted",
      );
      // Only the issuer key grants, so a granted commitment with the same window is what
      // the issuer signed: skipped, its signature unread, and nothing changes.
      const before = await registry.status(C2);
      const unsigned = { ...grants[1], r: ethers.ZeroHash, vs: ethers.ZeroHash };
      const { logs } = await (await registry.connect(stranger).grantMany([unsigned])).wait();
      expect(logs).to.deep.equal([]);
      expect(await registry.status(C2)).to.deep.equal(before);
    });
  });

  describe("grants and revocations signed by eth-account (Python)", function () {
    it("grants and revokes what scripts/contract_fixtures.py --sign-typed signs, relayed by a stranger", async function () {
      // An EIP-712 implementation independent of ethers: the same digests, signatures the
      // contract takes, in the compact form the Python side computes.
      const { chainId } = await ethers.provider.getNetwork();
      const signed = pythonFixtures(["--sign-typed", String(chainId), await registry.getAddress()]);
      expect(signed.generator).to.equal("eth_account");
      expect(signed.issuer).to.equal(issuerKey.address); // the tests' log key
      for (const g of signed.grants) {
        const digest = await registry.grantDigest(g.commitment, g.validFrom, g.validUntil);
        expect(ethers.recoverAddress(digest, g.signature)).to.equal(issuerKey.address);
        expect(compactSignature(g.signature)).to.deep.equal({ r: g.r, vs: g.vs });
        // ethers signs the very same bytes (RFC 6979 signatures are deterministic).
        expect(await signGrant(registry, issuerKey, g.commitment, g.validFrom, g.validUntil)).to.deep.equal({
          r: g.r,
          vs: g.vs,
        });
      }
      const [first, ...rest] = signed.grants;
      await expect(registry.connect(stranger).grant(first.commitment, first.validFrom, first.validUntil, first.r, first.vs))
        .to.emit(registry, "Granted")
        .withArgs(first.commitment, issuerKey.address, first.validFrom, first.validUntil);
      const batch = rest.map(({ commitment, validFrom, validUntil, r, vs }) => ({ commitment, validFrom, validUntil, r, vs }));
      const { logs } = await (await registry.connect(stranger).grantMany(batch)).wait();
      expect(logs.length).to.equal(rest.length);
      for (const g of signed.grants) {
        const found = await registry.status(g.commitment);
        expect([found.validFrom, found.validUntil, found.issuer]).to.deep.equal([
          BigInt(g.validFrom),
          BigInt(g.validUntil),
          issuerKey.address,
        ]);
      }
      for (const v of signed.revocations) {
        expect(await signRevoke(registry, issuerKey, v.commitment, v.revocation)).to.deep.equal({ r: v.r, vs: v.vs });
        await expect(registry.connect(stranger).revoke(v.commitment, v.revocation, v.r, v.vs))
          .to.emit(registry, "Revoked")
          .withArgs(v.commitment, issuerKey.address, v.revocation);
        expect((await registry.status(v.commitment)).state).to.equal(Status.Revoked);
      }
    });
  });

  describe("digests and domain", function () {
    it("signs exactly ethers' EIP-712 digests: grantDigest and revokeDigest equal TypedDataEncoder.hash", async function () {
      expect(ethers.TypedDataEncoder.from(GRANT_TYPES).encodeType("Grant")).to.equal(
        "Grant(bytes32 commitment,uint64 validFrom,uint64 validUntil)",
      );
      expect(ethers.TypedDataEncoder.from(REVOKE_TYPES).encodeType("Revoke")).to.equal(
        "Revoke(bytes32 commitment,bytes32 revocation)",
      );
      const domain = await typedDomain(registry);
      const digests = new Set();
      for (const [commitment, from, until] of [
        [C, FROM, UNTIL],
        [C, FROM, UNTIL + 1n],
        [C2, 0n, UINT64_MAX],
        [ethers.ZeroHash, 0n, 0n],
      ]) {
        const digest = ethers.TypedDataEncoder.hash(domain, GRANT_TYPES, {
          commitment,
          validFrom: from,
          validUntil: until,
        });
        expect(await registry.grantDigest(commitment, from, until)).to.equal(digest);
        const { r, vs } = await signGrant(registry, issuerKey, commitment, from, until);
        expect(ethers.recoverAddress(digest, { r, yParityAndS: vs })).to.equal(issuerKey.address);
        digests.add(digest);
      }
      for (const [commitment, revocation] of [
        [C, REVOCATION],
        [C, ethers.toBeHex(1, 32)],
        [C2, REVOCATION],
        [ethers.ZeroHash, ethers.ZeroHash],
      ]) {
        const digest = ethers.TypedDataEncoder.hash(domain, REVOKE_TYPES, { commitment, revocation });
        expect(await registry.revokeDigest(commitment, revocation)).to.equal(digest);
        const { r, vs } = await signRevoke(registry, issuerKey, commitment, revocation);
        expect(ethers.recoverAddress(digest, { r, yParityAndS: vs })).to.equal(issuerKey.address);
        digests.add(digest);
      }
      expect(digests.size).to.equal(8);
    });

    it("publishes its domain with eip712Domain (ERC-5267): 0x0f, model-ledger, 1, this chain, this registry", async function () {
      const { chainId } = await ethers.provider.getNetwork();
      const found = await registry.eip712Domain();
      expect(found.fields).to.equal("0x0f"); // name, version, chainId, verifyingContract
      expect(found.name).to.equal("model-ledger");
      expect(found.version).to.equal("1");
      expect(found.chainId).to.equal(chainId);
      expect(found.verifyingContract).to.equal(await registry.getAddress());
      expect(found.salt).to.equal(ethers.ZeroHash);
      expect(found.extensions.toArray()).to.deep.equal([]);
      const domain = {
        name: found.name,
        version: found.version,
        chainId: found.chainId,
        verifyingContract: found.verifyingContract,
      };
      expect(domain).to.deep.equal(await typedDomain(registry));
      // A tool that signs in the published domain grants.
      const message = { commitment: C, validFrom: FROM, validUntil: UNTIL };
      const { r, vs } = compactSignature(await issuerKey.signTypedData(domain, GRANT_TYPES, message));
      await expect(registry.connect(stranger).grant(C, FROM, UNTIL, r, vs))
        .to.emit(registry, "Granted")
        .withArgs(C, issuerKey.address, FROM, UNTIL);
    });
  });
});
