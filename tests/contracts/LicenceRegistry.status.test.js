// status() over time (not yet valid -> active -> expired; revoked whatever the time)
// and grantMany (all or nothing, one event each).

const { expect } = require("chai");
const { ethers } = require("hardhat");

const Status = { Unknown: 0n, NotYetValid: 1n, Active: 2n, Expired: 3n, Revoked: 4n };
const REVOCATION = ethers.sha256("0xdead"); // leaf hash of the revoking log record

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
  let registry, owner, other;

  beforeEach(async function () {
    [owner, other] = await ethers.getSigners();
    registry = await ethers.deployContract("LicenceRegistry");
    await registry.waitForDeployment();
  });

  it("says Unknown, with every field zero, for a commitment never granted", async function () {
    expect(await registry.status(commitment(0))).to.deep.equal([Status.Unknown, 0n, 0n, 0n, 0n]);
  });

  it("follows the validity window: not yet valid, active from validFrom, expired at validUntil", async function () {
    const start = (await now()) + 100n;
    const end = start + 50n;
    const c = commitment(1);
    await registry.grant(c, start, end);
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
    await registry.grant(commitment(2), 0n, t + 1000n);
    await registry.grant(commitment(3), t - 1000n, t - 10n);
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
      await registry.grant(commitment(10 + i), from, until);
      await registry.revoke(commitment(10 + i), REVOCATION);
      expect((await registry.status(commitment(10 + i))).state).to.equal(Status.Revoked);
    }
    await mineAt(t + 1500n);
    for (let i = 0; i < windows.length; i++) {
      expect((await registry.status(commitment(10 + i))).state).to.equal(Status.Revoked);
    }
  });

  it("grants many commitments in one transaction, one event each", async function () {
    const t = await now();
    const grants = Array.from({ length: 10 }, (_, i) => ({
      commitment: commitment(100 + i),
      validFrom: t - 10n,
      validUntil: t + 1000n + BigInt(i),
    }));
    const tx = await registry.grantMany(grants);
    const { blockNumber, logs } = await tx.wait();
    expect(logs.length).to.equal(10);
    for (const g of grants) {
      await expect(tx)
        .to.emit(registry, "Granted")
        .withArgs(g.commitment, owner.address, g.validFrom, g.validUntil);
      expect(await registry.issuerOf(g.commitment)).to.equal(owner.address);
      expect(await registry.status(g.commitment)).to.deep.equal([
        Status.Active,
        g.validFrom,
        g.validUntil,
        BigInt(blockNumber),
        0n,
      ]);
    }
  });

  it("accepts an empty grantMany as a no-op", async function () {
    const { logs } = await (await registry.grantMany([])).wait();
    expect(logs.length).to.equal(0);
  });

  it("grants none when one grant of the batch fails", async function () {
    const t = await now();
    const good = { commitment: commitment(200), validFrom: t, validUntil: t + 100n };
    const bad = { commitment: commitment(201), validFrom: t + 100n, validUntil: t };
    await expect(registry.grantMany([good, bad]))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
      .withArgs(bad.commitment, bad.validFrom, bad.validUntil);
    expect((await registry.status(good.commitment)).state).to.equal(Status.Unknown);

    const { blockNumber } = await (await registry.grant(good.commitment, t, t + 100n)).wait();
    const fresh = { commitment: commitment(202), validFrom: t, validUntil: t + 100n };
    await expect(registry.grantMany([fresh, good]))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
      .withArgs(good.commitment, blockNumber);
    expect((await registry.status(fresh.commitment)).state).to.equal(Status.Unknown);
  });

  it("refuses a commitment listed twice in one batch", async function () {
    const t = await now();
    const g = { commitment: commitment(300), validFrom: t, validUntil: t + 100n };
    const block = BigInt((await ethers.provider.getBlockNumber()) + 1);
    await expect(registry.grantMany([g, g]))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
      .withArgs(g.commitment, block);
  });

  it("refuses grantMany by a non-issuer", async function () {
    await expect(registry.connect(other).grantMany([]))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
      .withArgs(other.address);
  });
});
