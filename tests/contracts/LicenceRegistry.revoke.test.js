// Who may revoke which commitment: only the issuer that granted it (while it is an
// issuer) or the owner. Each refusal reproduces an attack by another issuer, a removed
// issuer or a stranger, and checks the commitment stays as it was. Revoked names who
// revoked and the leaf hash of the revoking log record, which must not be zero.

const { expect } = require("chai");
const { ethers } = require("hardhat");

const Status = { Unknown: 0n, NotYetValid: 1n, Active: 2n, Expired: 3n, Revoked: 4n };
const FROM = 1_700_000_000n;
const UNTIL = 4_000_000_000n;
const CA = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by A"));
const CB = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by B"));
const CO = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by the owner"));
const CN = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by a new issuer"));
const REVOCATION = ethers.sha256(ethers.toUtf8Bytes("revoke/the revoking record"));

describe("LicenceRegistry revoke", function () {
  let registry, owner, issuerA, issuerB, other;

  beforeEach(async function () {
    [owner, issuerA, issuerB, other] = await ethers.getSigners();
    registry = await ethers.deployContract("LicenceRegistry", owner);
    await registry.waitForDeployment();
    await registry.addIssuer(issuerA.address);
    await registry.addIssuer(issuerB.address);
    await registry.connect(issuerA).grant(CA, FROM, UNTIL);
    await registry.connect(issuerB).grantMany([{ commitment: CB, validFrom: FROM, validUntil: UNTIL }]);
    await registry.grant(CO, FROM, UNTIL); // the owner is the first issuer
  });

  /** Asserts `commitment` is granted, not revoked, and still `issuer`'s. */
  async function expectActive(commitment, issuer) {
    const found = await registry.status(commitment);
    expect([found.state, found.revokedBlock]).to.deep.equal([Status.Active, 0n]);
    expect(await registry.issuerOf(commitment)).to.equal(issuer.address);
  }

  /** Revokes `commitment` as `by` and checks the event, the status and the block. */
  async function expectRevokes(by, commitment, revocation = REVOCATION) {
    const tx = await registry.connect(by).revoke(commitment, revocation);
    await expect(tx).to.emit(registry, "Revoked").withArgs(commitment, by.address, revocation);
    const { blockNumber } = await tx.wait();
    const found = await registry.status(commitment);
    expect([found.state, found.revokedBlock]).to.deep.equal([Status.Revoked, BigInt(blockNumber)]);
  }

  it("names the granting issuer in Granted and issuerOf", async function () {
    expect(await registry.issuerOf(CA)).to.equal(issuerA.address);
    expect(await registry.issuerOf(CB)).to.equal(issuerB.address);
    expect(await registry.issuerOf(CO)).to.equal(owner.address);
    const granted = await registry.queryFilter(registry.filters.Granted(null, issuerB.address));
    expect(granted.map((e) => e.args.toArray())).to.deep.equal([[CB, issuerB.address, FROM, UNTIL]]);
  });

  it("refuses issuer B revoking issuer A's commitment, naming A", async function () {
    await expect(registry.connect(issuerB).revoke(CA, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CA, issuerB.address, issuerA.address);
    await expect(registry.connect(issuerB).revoke(CO, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CO, issuerB.address, owner.address);
    await expectActive(CA, issuerA);
    await expectActive(CO, owner);
  });

  it("refuses a stranger, naming the granting issuer", async function () {
    await expect(registry.connect(other).revoke(CA, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CA, other.address, issuerA.address);
    await expectActive(CA, issuerA);
  });

  it("refuses issuer B taking A's commitment over by granting it again", async function () {
    const { blockNumber } = (await registry.queryFilter(registry.filters.Granted(CA)))[0];
    await expect(registry.connect(issuerB).grant(CA, FROM, UNTIL + 1n))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
      .withArgs(CA, blockNumber);
    await expect(registry.connect(issuerB).revoke(CA, REVOCATION)).to.be.revertedWithCustomError(
      registry,
      "LicenceRegistryNotGrantingIssuer",
    );
    await expectActive(CA, issuerA);
  });

  it("lets issuer A revoke what it granted, and nothing else", async function () {
    await expectRevokes(issuerA, CA);
    await expect(registry.connect(issuerA).revoke(CB, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CB, issuerA.address, issuerB.address);
    await expectActive(CB, issuerB);
    expect(await registry.issuerOf(CA)).to.equal(issuerA.address); // revoked, still A's grant
  });

  it("lets the owner revoke anyone's commitment, issuer or not", async function () {
    await expectRevokes(owner, CA);
    await registry.removeIssuer(owner.address);
    expect(await registry.isIssuer(owner.address)).to.equal(false);
    await expectRevokes(owner, CB);
    await expectRevokes(owner, CO);
  });

  it("stops a removed issuer revoking its own grants, but not the owner", async function () {
    await registry.removeIssuer(issuerA.address);
    await expect(registry.connect(issuerA).revoke(CA, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CA, issuerA.address, issuerA.address);
    await expectActive(CA, issuerA); // the grant outlives its issuer
    await expectRevokes(owner, CA);
  });

  it("keeps an issuer's number: a re-added issuer may again revoke what it granted", async function () {
    await registry.removeIssuer(issuerA.address);
    await registry.addIssuer(other.address); // a new issuer meanwhile takes the next number
    await registry.connect(other).grant(CN, FROM, UNTIL);
    await registry.addIssuer(issuerA.address);
    expect(await registry.issuerOf(CA)).to.equal(issuerA.address);
    await expect(registry.connect(issuerA).revoke(CN, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CN, issuerA.address, other.address);
    await expectRevokes(issuerA, CA);
  });

  it("moves the power to revoke anyone's commitment with ownership", async function () {
    await registry.transferOwnership(other.address);
    await expect(registry.connect(other).revoke(CA, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CA, other.address, issuerA.address); // pending owner: no power yet
    await registry.connect(other).acceptOwnership();
    // The former owner is still the first issuer: it revokes its own grant only.
    await expect(registry.revoke(CA, REVOCATION))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(CA, owner.address, issuerA.address);
    await expectRevokes(owner, CO);
    await expectRevokes(other, CA);
  });

  it("records who revoked and the revoking record in Revoked, found by commitment", async function () {
    const amendment = ethers.sha256(ethers.toUtf8Bytes("revoke/an amendment"));
    await expectRevokes(issuerB, CB, amendment);
    await expectRevokes(owner, CA, REVOCATION);
    const byCommitment = await registry.queryFilter(registry.filters.Revoked(CB));
    expect(byCommitment.map((e) => e.args.toArray())).to.deep.equal([[CB, issuerB.address, amendment]]);
    const byOwner = await registry.queryFilter(registry.filters.Revoked(null, owner.address));
    expect(byOwner.map((e) => e.args.toArray())).to.deep.equal([[CA, owner.address, REVOCATION]]);
  });

  it("refuses a zero revocation, whoever calls and whatever the commitment, before any other check", async function () {
    // A revocation names the log record that revokes; zero names none.
    const unknown = ethers.sha256(ethers.toUtf8Bytes("revoke/never granted"));
    await expectRevokes(issuerB, CB); // revoked before, with its record
    for (const [by, commitment] of [
      [issuerA, CA], // the granting issuer
      [owner, CA], // the owner
      [issuerB, CA], // another issuer: refused for the zero record first
      [other, CA], // a stranger: likewise
      [owner, unknown], // never granted: no LicenceRegistryUnknownCommitment
      [owner, CB], // revoked before: no LicenceRegistryAlreadyRevoked
    ]) {
      await expect(registry.connect(by).revoke(commitment, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNoRevocationRecord")
        .withArgs(commitment);
    }
    await expectActive(CA, issuerA);
    expect((await registry.status(unknown)).state).to.equal(Status.Unknown);
    expect(await registry.queryFilter(registry.filters.Revoked(CA))).to.deep.equal([]);
    // Any non-zero record will do, the smallest included.
    await expectRevokes(issuerA, CA, ethers.toBeHex(1, 32));
  });
});
