// Who may revoke which commitment: only the issuer key that granted it, by its
// signature (whether that key is still an issuer or not), relayed by anyone. Each
// refusal reproduces an attack of the hostile review (another issuer key, the owner's
// gas key, a stranger's key, the owner making its own key an issuer) and checks the
// commitment stays as it was. Revoked names the granting key and the leaf hash of the
// revoking log record, which must not be zero.

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
const CA = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by A"));
const CB = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by B"));
const CO = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by the owner's own key"));
const CN = ethers.sha256(ethers.toUtf8Bytes("revoke/granted by a new issuer"));
const REVOCATION = ethers.sha256(ethers.toUtf8Bytes("revoke/the revoking record"));
/** Gas for attack transactions, so that each is mined and reverts on chain. */
const SEND = { gasLimit: 1_000_000 };

describe("LicenceRegistry revoke", function () {
  let registry, owner, relayer, other, keyA, keyB, strangerKey, stranger;

  beforeEach(async function () {
    // Issuer key A is the log key (the constructor's first issuer); the owner adds B.
    // Neither is an account of the node: they sign, strangers and relayers send.
    ({ registry, owner, relayer, other, issuerKey: keyA } = await deployLicenceRegistry());
    keyB = new ethers.Wallet(ethers.id("revoke/issuer key B"));
    strangerKey = new ethers.Wallet(ethers.id("revoke/a stranger's key"));
    stranger = await newStranger("revoke");
    await registry.addIssuer(keyB.address);
    await grantSigned(registry, relayer, keyA, CA, FROM, UNTIL);
    await grantManySigned(registry, other, keyB, [{ commitment: CB, validFrom: FROM, validUntil: UNTIL }]);
  });

  /** Asserts `commitment` is granted, not revoked, and still `issuer`'s. */
  async function expectActive(commitment, issuer) {
    const found = await registry.status(commitment);
    expect([found.state, found.revokedBlock, found.issuer]).to.deep.equal([Status.Active, 0n, issuer.address]);
  }

  /**
   * Revokes `commitment` signed by `key` and relayed by `sender`; checks the event
   * (naming `key`), the status, the block, and that the issuer is still `key`.
   */
  async function expectRevokes(key, commitment, revocation = REVOCATION, sender = stranger) {
    const tx = await revokeSigned(registry, sender, key, commitment, revocation);
    await expect(tx).to.emit(registry, "Revoked").withArgs(commitment, key.address, revocation);
    const { blockNumber, from } = await tx.wait();
    expect(from).to.equal(sender.address);
    const found = await registry.status(commitment);
    expect([found.state, found.revokedBlock, found.issuer]).to.deep.equal([
      Status.Revoked,
      BigInt(blockNumber),
      key.address,
    ]);
  }

  /** Expects the revocation of `commitment` signed by `key` refused, naming `issuer`. */
  async function expectRefused(key, commitment, issuer, sender = stranger) {
    await expect(revokeSigned(registry, sender, key, commitment, REVOCATION, SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
      .withArgs(commitment, key.address, issuer.address);
    await expectActive(commitment, issuer);
  }

  it("names the granting issuer key in Granted and status", async function () {
    await expectActive(CA, keyA);
    await expectActive(CB, keyB);
    const granted = await registry.queryFilter(registry.filters.Granted(null, keyB.address));
    expect(granted.map((e) => e.args.toArray())).to.deep.equal([[CB, keyB.address, FROM, UNTIL]]);
  });

  it("refuses issuer key B revoking issuer A's commitment (and A revoking B's), naming the granting key", async function () {
    for (const sender of [stranger, relayer, owner]) {
      await expectRefused(keyB, CA, keyA, sender);
      await expectRefused(keyA, CB, keyB, sender);
    }
  });

  it("refuses the owner revoking anyone's commitment, whether it signs, sends, or both", async function () {
    // The owner's gas key leaked: its signature revokes nothing, sent by itself or anyone.
    for (const sender of [owner, stranger]) {
      await expectRefused(owner, CA, keyA, sender);
      await expectRefused(owner, CB, keyB, sender);
    }
    // Nor does the owner sending a revocation signed by someone else count for anything.
    await expectRefused(strangerKey, CA, keyA, owner);
    // Nor does the new owner, once ownership moved.
    await registry.transferOwnership(other.address);
    await registry.connect(other).acceptOwnership();
    await expectRefused(other, CA, keyA, other);
  });

  it("refuses a stranger's key, naming the granting issuer key", async function () {
    await expectRefused(strangerKey, CA, keyA);
    await expectRefused(stranger, CB, keyB);
  });

  it("refuses issuer key B taking A's commitment over by granting it again", async function () {
    const { blockNumber } = (await registry.queryFilter(registry.filters.Granted(CA)))[0];
    await expect(grantSigned(registry, stranger, keyB, CA, FROM, UNTIL + 1n, SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
      .withArgs(CA, blockNumber);
    await expectRefused(keyB, CA, keyA);
  });

  it("lets issuer key A revoke what it granted, relayed by anyone, and nothing else", async function () {
    await expectRevokes(keyA, CA);
    await expectRefused(keyA, CB, keyB);
  });

  it("lets a removed issuer key revoke what it granted, but grant nothing more", async function () {
    await registry.removeIssuer(keyA.address);
    expect(await registry.isIssuer(keyA.address)).to.equal(false);
    await expect(grantSigned(registry, stranger, keyA, CN, FROM, UNTIL, SEND))
      .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
      .withArgs(CN, keyA.address);
    expect((await registry.status(CN)).state).to.equal(Status.Unknown);
    await expectActive(CA, keyA); // the grant outlives its issuer
    await expectRefused(keyA, CB, keyB); // and the removed key's power is its own grants
    await expectRevokes(keyA, CA, REVOCATION, relayer);
  });

  it("keeps an issuer's number: a re-added issuer revokes what it granted, not what another key granted meanwhile", async function () {
    await registry.removeIssuer(keyA.address);
    await registry.addIssuer(strangerKey.address); // a new issuer meanwhile takes the next number
    await grantSigned(registry, relayer, strangerKey, CN, FROM, UNTIL);
    await registry.addIssuer(keyA.address);
    await expectActive(CA, keyA);
    await expectActive(CN, strangerKey);
    await expectRefused(keyA, CN, strangerKey);
    await expectRevokes(keyA, CA);
    await expectRevokes(strangerKey, CN);
  });

  it("lets a leaked owner key make its own key an issuer, but its grants name that key and it revokes no one's", async function () {
    // What the owner can do with a leaked gas key: add itself, grant, and remove the log
    // key. Its grants name the owner's key in status (a verifier that pins the log key
    // refuses them); the log key's commitments stay the log key's to revoke.
    await registry.addIssuer(owner.address);
    await expect(grantSigned(registry, owner, owner, CO, FROM, UNTIL))
      .to.emit(registry, "Granted")
      .withArgs(CO, owner.address, FROM, UNTIL);
    const found = await registry.status(CO);
    expect([found.state, found.issuer]).to.deep.equal([Status.Active, owner.address]);
    expect(found.issuer).not.to.equal(keyA.address);
    await registry.removeIssuer(keyA.address);
    await expectRefused(owner, CA, keyA, owner);
    await expectRevokes(keyA, CA);
    await expectRefused(keyA, CO, owner); // nor can A revoke the owner key's grant
  });

  it("records the granting key and the revoking record in Revoked, found by commitment and by key", async function () {
    const amendment = ethers.sha256(ethers.toUtf8Bytes("revoke/an amendment"));
    await expectRevokes(keyB, CB, amendment);
    await expectRevokes(keyA, CA, REVOCATION);
    const byCommitment = await registry.queryFilter(registry.filters.Revoked(CB));
    expect(byCommitment.map((e) => e.args.toArray())).to.deep.equal([[CB, keyB.address, amendment]]);
    const byKey = await registry.queryFilter(registry.filters.Revoked(null, keyA.address));
    expect(byKey.map((e) => e.args.toArray())).to.deep.equal([[CA, keyA.address, REVOCATION]]);
    const event = registry.interface.getEvent("Revoked");
    expect(event.format("full")).to.equal(
      "event Revoked(bytes32 indexed commitment, address indexed issuer, bytes32 revocation)",
    );
  });

  it("refuses a zero revocation, whoever signs and whatever the commitment, before any other check", async function () {
    // A revocation names the log record that revokes; zero names none.
    const unknown = ethers.sha256(ethers.toUtf8Bytes("revoke/never granted"));
    await expectRevokes(keyB, CB); // revoked before, with its record
    for (const [key, commitment] of [
      [keyA, CA], // the granting key
      [owner, CA], // the owner
      [keyB, CA], // another issuer key: refused for the zero record first
      [strangerKey, CA], // a stranger: likewise
      [keyA, unknown], // never granted: no LicenceRegistryUnknownCommitment
      [keyB, CB], // revoked before: no LicenceRegistryAlreadyRevoked
    ]) {
      await expect(revokeSigned(registry, stranger, key, commitment, ethers.ZeroHash, SEND))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNoRevocationRecord")
        .withArgs(commitment);
    }
    await expectActive(CA, keyA);
    expect((await registry.status(unknown)).state).to.equal(Status.Unknown);
    expect(await registry.queryFilter(registry.filters.Revoked(CA))).to.deep.equal([]);
    // Any non-zero record will do, the smallest included.
    await expectRevokes(keyA, CA, ethers.toBeHex(1, 32));
  });
});
