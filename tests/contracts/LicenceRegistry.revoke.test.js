// Who may revoke which commitment: only the registry's issuer key, by its signature,
// relayed by anyone. Each refusal reproduces an attack of the hostile reviews (the
// deployer's gas key, a stranger's key, the issuer key of another registry, a former
// owner's calls) and checks the commitment stays as it was. Revoked names the issuer key
// and the leaf hash of the revoking log record, which must not be zero.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  deployLicenceRegistry,
  grantManySigned,
  grantSigned,
  newStranger,
  revokeSigned,
} = require("./helpers");

const Status = { Unknown: 0n, NotYetValid: 1n, Active: 2n, Expired: 3n, Revoked: 4n };
const FROM = 1_700_000_000n;
const UNTIL = 4_000_000_000n;
const CA = ethers.sha256(ethers.toUtf8Bytes("revoke/granted alone"));
const CB = ethers.sha256(ethers.toUtf8Bytes("revoke/granted in a batch"));
const REVOCATION = ethers.sha256(ethers.toUtf8Bytes("revoke/the revoking record"));
/** Gas for attack transactions, so that each is mined and reverts on chain. */
const SEND = { gasLimit: 1_000_000 };

describe("LicenceRegistry revoke", function () {
  let registry, owner, relayer, other, issuerKey, keyB, strangerKey, stranger;

  beforeEach(async function () {
    // The issuer key is the log key; key B is the issuer of another registry (another
    // log's key). Neither is an account of the node: they sign, strangers and relayers send.
    ({ registry, owner, relayer, other, issuerKey } = await deployLicenceRegistry());
    keyB = new ethers.Wallet(ethers.id("revoke/another registry's issuer key"));
    strangerKey = new ethers.Wallet(ethers.id("revoke/a stranger's key"));
    stranger = await newStranger("revoke");
    await grantSigned(registry, relayer, issuerKey, CA, FROM, UNTIL);
    await grantManySigned(registry, other, issuerKey, [{ commitment: CB, validFrom: FROM, validUntil: UNTIL }]);
  });

  /** Asserts `commitment` is granted and not revoked. */
  async function expectActive(commitment) {
    const found = await registry.status(commitment);
    expect([found.state, found.revokedBlock, found.issuer]).to.deep.equal([Status.Active, 0n, issuerKey.address]);
  }

  /**
   * Revokes `commitment` signed by the issuer key and relayed by `sender`; checks the
   * event, the status, the block, and that the issuer is still the issuer key.
   */
  async function expectRevokes(commitment, revocation = REVOCATION, sender = stranger) {
    const tx = await revokeSigned(registry, sender, issuerKey, commitment, revocation);
    await expect(tx).to.emit(registry, "Revoked").withArgs(commitment, issuerKey.address, revocation);
    const { blockNumber, from } = await tx.wait();
    expect(from).to.equal(sender.address);
    const found = await registry.status(commitment);
    expect([found.state, found.revokedBlock, found.issuer]).to.deep.equal([
      Status.Revoked,
      BigInt(blockNumber),
      issuerKey.address,
    ]);
  }

  /** Expects the revocation of `commitment` signed by `key` refused, naming `key`. */
  async function expectRefused(key, commitment, sender = stranger) {
    await expect(revokeSigned(registry, sender, key, commitment, REVOCATION, SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
      .withArgs(commitment, key.address);
    await expectActive(commitment);
  }

  it("names the issuer key in Granted and status", async function () {
    await expectActive(CA);
    await expectActive(CB);
    const granted = await registry.queryFilter(registry.filters.Granted(null, issuerKey.address));
    expect(granted.map((e) => e.args.toArray())).to.deep.equal([
      [CA, issuerKey.address, FROM, UNTIL],
      [CB, issuerKey.address, FROM, UNTIL],
    ]);
  });

  it("refuses the deployer's gas key revoking, whether it signs, sends, or both", async function () {
    // The deployer's gas key leaked: its signature revokes nothing, sent by itself or anyone.
    for (const sender of [owner, stranger]) {
      await expectRefused(owner, CA, sender);
      await expectRefused(owner, CB, sender);
    }
    // Nor does the deployer sending a revocation signed by someone else count for anything.
    await expectRefused(strangerKey, CA, owner);
  });

  it("refuses a stranger's key, and the issuer key of another registry", async function () {
    const otherRegistry = await ethers.deployContract("LicenceRegistry", [keyB.address], owner);
    expect(await otherRegistry.issuerKey()).to.equal(keyB.address);
    for (const sender of [stranger, relayer, owner]) {
      await expectRefused(strangerKey, CA, sender);
      await expectRefused(keyB, CB, sender);
    }
    await expectRefused(stranger, CB);
  });

  it("refuses another key taking a commitment over by granting it again", async function () {
    const { blockNumber } = (await registry.queryFilter(registry.filters.Granted(CA)))[0];
    await expect(grantSigned(registry, stranger, keyB, CA, FROM, UNTIL + 1n, SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
      .withArgs(CA, blockNumber);
    await expectRefused(keyB, CA);
  });

  it("lets the issuer key revoke, relayed by anyone, each commitment once", async function () {
    await expectRevokes(CA);
    await expectActive(CB);
    await expectRevokes(CB, REVOCATION, owner);
  });

  it("records the issuer key and the revoking record in Revoked, found by commitment and by key", async function () {
    const amendment = ethers.sha256(ethers.toUtf8Bytes("revoke/an amendment"));
    await expectRevokes(CB, amendment);
    await expectRevokes(CA, REVOCATION);
    const byCommitment = await registry.queryFilter(registry.filters.Revoked(CB));
    expect(byCommitment.map((e) => e.args.toArray())).to.deep.equal([[CB, issuerKey.address, amendment]]);
    const byKey = await registry.queryFilter(registry.filters.Revoked(null, issuerKey.address));
    expect(byKey.map((e) => e.args.toArray())).to.deep.equal([
      [CB, issuerKey.address, amendment],
      [CA, issuerKey.address, REVOCATION],
    ]);
    const event = registry.interface.getEvent("Revoked");
    expect(event.format("full")).to.equal(
      "event Revoked(bytes32 indexed commitment, address indexed issuer, bytes32 revocation)",
    );
  });

  it("refuses a zero revocation, whoever signs and whatever the commitment, before any other check", async function () {
    // A revocation names the log record that revokes; zero names none.
    const unknown = ethers.sha256(ethers.toUtf8Bytes("revoke/never granted"));
    await expectRevokes(CB); // revoked before, with its record
    for (const [key, commitment] of [
      [issuerKey, CA], // the issuer key
      [owner, CA], // the deployer
      [keyB, CA], // another registry's issuer: refused for the zero record first
      [strangerKey, CA], // a stranger: likewise
      [issuerKey, unknown], // never granted: no LicenceRegistryUnknownCommitment
      [issuerKey, CB], // revoked before: no LicenceRegistryAlreadyRevoked
    ]) {
      await expect(revokeSigned(registry, stranger, key, commitment, ethers.ZeroHash, SEND))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNoRevocationRecord")
        .withArgs(commitment);
    }
    await expectActive(CA);
    expect((await registry.status(unknown)).state).to.equal(Status.Unknown);
    expect(await registry.queryFilter(registry.filters.Revoked(CA))).to.deep.equal([]);
    // Any non-zero record will do, the smallest included.
    await expectRevokes(CA, ethers.toBeHex(1, 32));
  });
});
