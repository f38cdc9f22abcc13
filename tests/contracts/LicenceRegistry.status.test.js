// status() over time (not yet valid -> active -> expired; revoked whatever the time),
// the issuer key it names, and grantMany (each grant with its own signature, all or
// nothing, one event each). Every grant and revocation is signed by the issuer key and
// relayed by an account with no role.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  deployLicenceRegistry,
  grantManySigned,
  grantSigned,
  newStranger,
  revokeSigned,
  signGrant,
  signedGrant,
} = require("./helpers");

const Status = { Unknown: 0n, NotYetValid: 1n, Active: 2n, Expired: 3n, Revoked: 4n };
const REVOCATION = ethers.sha256("0xdead"); // leaf hash of the revoking log record
/** Gas for transactions that must be mined and revert on chain. */
const SEND = { gasLimit: 5_000_000 };

/** Mines a block with exactly this timestamp; status() reads the latest block's time. */
async function mineAt(timestamp) {
  await ethers.provider.send("evm_mine", [Number(timestamp)]);
}

async function now() {
  return BigInt((await ethers.provider.getBlock("latest")).timestamp);
}

function commitment(i) {
  return ethers.sha256(ethers.toBeHex(i + 1, 32));
}

describe("LicenceRegistry status and grantMany", function () {
  let registry, relayer, issuerKey, stranger;

  beforeEach(async function () {
    ({ registry, relayer, issuerKey } = await deployLicenceRegistry());
    stranger = await newStranger("status");
  });

  /** Grants `c` for [from, until), signed by the issuer key, relayed. */
  function grant(c, from, until) {
    return grantSigned(registry, relayer, issuerKey, c, from, until);
  }

  /** grantMany of `grants`, each signed by the issuer key, relayed by a stranger. */
  function grantMany(grants, overrides = {}) {
    return grantManySigned(registry, stranger, issuerKey, grants, overrides);
  }

  it("says Unknown, with every field zero and no issuer, for a commitment never granted", async function () {
    expect(await registry.status(commitment(0))).to.deep.equal([
      Status.Unknown,
      0n,
      0n,
      0n,
      0n,
      ethers.ZeroAddress,
    ]);
  });

  it("names in status the issuer key, the one that signed each grant, whoever relayed it, revoked or not", async function () {
    const t = await now();
    await grant(commitment(20), t, t + 1000n);
    await grantMany([{ commitment: commitment(21), validFrom: t, validUntil: t + 1000n }]);
    await revokeSigned(registry, stranger, issuerKey, commitment(21), REVOCATION);
    const [a, b] = [await registry.status(commitment(20)), await registry.status(commitment(21))];
    expect([a.state, a.issuer]).to.deep.equal([Status.Active, issuerKey.address]);
    expect([b.state, b.issuer]).to.deep.equal([Status.Revoked, issuerKey.address]);
    expect(registry.interface.getFunction("status").outputs.map((o) => `${o.type} ${o.name}`)).to.deep.equal([
      "uint8 state",
      "uint64 validFrom",
      "uint64 validUntil",
      "uint64 grantedBlock",
      "uint64 revokedBlock",
      "address issuer",
    ]);
  });

  it("follows the validity window: not yet valid, active from validFrom, expired at validUntil", async function () {
    const start = (await now()) + 100n;
    const end = start + 50n;
    const c = commitment(1);
    await grant(c, start, end);
    expect((await registry.status(c)).state).to.equal(Status.NotYetValid);
    await mineAt(start - 1n);
    expect((await registry.status(c)).state).to.equal(Status.NotYetValid);
    await mineAt(start);
    expect((await registry.status(c)).state).to.equal(Status.Active);
    await mineAt(end - 1n);
    expect((await registry.status(c)).state).to.equal(Status.Active);
    await mineAt(end);
    expect((await registry.status(c)).state).to.equal(Status.Expired);
    await mineAt(end + 1_000_000n);
    expect((await registry.status(c)).state).to.equal(Status.Expired);
  });

  it("grants with a window already open (active) or already closed (expired)", async function () {
    const t = await now();
    await grant(commitment(2), 0n, t + 1000n);
    await grant(commitment(3), t - 1000n, t - 10n);
    expect((await registry.status(commitment(2))).state).to.equal(Status.Active);
    expect((await registry.status(commitment(3))).state).to.equal(Status.Expired);
  });

  it("says Revoked from the revocation on, before, during and after the window", async function () {
    const t = await now();
    const windows = [
      [t + 1000n, t + 2000n], // not yet valid
      [t - 10n, t + 2000n], // active
      [t - 1000n, t - 10n], // expired
    ];
    for (const [i, [from, until]] of windows.entries()) {
      await grant(commitment(10 + i), from, until);
      await revokeSigned(registry, stranger, issuerKey, commitment(10 + i), REVOCATION);
      expect((await registry.status(commitment(10 + i))).state).to.equal(Status.Revoked);
    }
    await mineAt(t + 1500n);
    for (let i = 0; i < windows.length; i++) {
      expect((await registry.status(commitment(10 + i))).state).to.equal(Status.Revoked);
    }
  });

  it("grants many commitments in one transaction, each with its own signature, one event each", async function () {
    const t = await now();
    const grants = Array.from({ length: 10 }, (_, i) => ({
      commitment: commitment(100 + i),
      validFrom: t - 10n,
      validUntil: t + 1000n + BigInt(i),
    }));
    const signed = await Promise.all(grants.map((g) => signedGrant(registry, issuerKey, g)));
    const tx = await registry.connect(stranger).grantMany(signed);
    const { blockNumber, logs } = await tx.wait();
    expect(logs.length).to.equal(10);
    for (const g of grants) {
      await expect(tx).to.emit(registry, "Granted").withArgs(g.commitment, issuerKey.address, g.validFrom, g.validUntil);
      expect(await registry.status(g.commitment)).to.deep.equal([
        Status.Active,
        g.validFrom,
        g.validUntil,
        BigInt(blockNumber),
        0n,
        issuerKey.address,
      ]);
    }
  });

  it("accepts an empty grantMany from anyone as a no-op", async function () {
    const { logs } = await (await registry.connect(stranger).grantMany([])).wait();
    expect(logs.length).to.equal(0);
  });

  it("grants none when one grant of the batch fails", async function () {
    const t = await now();
    const good = { commitment: commitment(200), validFrom: t, validUntil: t + 100n };
    const bad = { commitment: commitment(201), validFrom: t + 100n, validUntil: t };
    await expect(grantMany([good, bad]))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
      .withArgs(bad.commitment, bad.validFrom, bad.validUntil);
    expect((await registry.status(good.commitment)).state).to.equal(Status.Unknown);

    const { blockNumber } = await (await grant(good.commitment, t, t + 100n)).wait();
    const fresh = { commitment: commitment(202), validFrom: t, validUntil: t + 100n };
    const moved = { commitment: good.commitment, validFrom: t, validUntil: t + 101n };
    await expect(grantMany([fresh, moved]))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
      .withArgs(good.commitment, blockNumber);
    expect((await registry.status(fresh.commitment)).state).to.equal(Status.Unknown);
    // The same grant again is skipped, not an error: the rest of the batch goes through.
    await (await grantMany([fresh, good])).wait();
    expect((await registry.status(fresh.commitment)).state).to.equal(Status.Active);
  });

  it("grants none when one signature of the batch is bad, wherever it sits", async function () {
    const t = await now();
    const grants = Array.from({ length: 5 }, (_, i) => ({
      commitment: commitment(400 + i),
      validFrom: t,
      validUntil: t + 100n + BigInt(i),
    }));
    const signed = await Promise.all(grants.map((g) => signedGrant(registry, issuerKey, g)));
    const strangerKey = new ethers.Wallet(ethers.id("status/a stranger's key"));
    /** The address signature {r, vs} recovers to for grant `g`. */
    const recoveredFor = async (g, { r, vs }) =>
      ethers.recoverAddress(await registry.grantDigest(g.commitment, g.validFrom, g.validUntil), {
        r,
        yParityAndS: vs,
      });
    for (const at of [0, 2, 4]) {
      const g = grants[at];
      const swapped = signed[(at + 1) % signed.length]; // the neighbour's signature
      const widened = await signGrant(registry, issuerKey, g.commitment, g.validFrom, g.validUntil + 1n);
      for (const [how, signature] of [
        ["signed by a non-issuer key", await signGrant(registry, strangerKey, g.commitment, g.validFrom, g.validUntil)],
        ["another grant's signature", { r: swapped.r, vs: swapped.vs }],
        ["signed over another window", widened],
        ["zero", { r: ethers.ZeroHash, vs: ethers.ZeroHash }],
      ]) {
        const batch = signed.map((s, i) => (i === at ? { ...s, ...signature } : s));
        const recovered = how === "zero" ? ethers.ZeroAddress : await recoveredFor(g, signature);
        expect(recovered, how).not.to.equal(issuerKey.address);
        await expect(registry.connect(stranger).grantMany(batch, SEND), `${how} at ${at}`)
          .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
          .withArgs(g.commitment, recovered);
      }
    }
    for (const g of grants) {
      expect((await registry.status(g.commitment)).state).to.equal(Status.Unknown);
    }
    expect(await registry.queryFilter(registry.filters.Granted())).to.deep.equal([]);
    // The batch as signed goes through, from the same stranger.
    const { logs } = await (await registry.connect(stranger).grantMany(signed)).wait();
    expect(logs.length).to.equal(grants.length);
  });

  it("grants a commitment listed twice in one batch once", async function () {
    const t = await now();
    const g = { commitment: commitment(300), validFrom: t, validUntil: t + 100n };
    const { logs } = await (await grantMany([g, g])).wait();
    expect(logs.length).to.equal(1);
    const other = { commitment: commitment(301), validFrom: t, validUntil: t + 100n };
    const block = BigInt((await ethers.provider.getBlockNumber()) + 1);
    await expect(grantMany([other, { ...other, validUntil: t + 99n }]))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
      .withArgs(other.commitment, block);
  });
});
