// Who may do what on LicenceRegistry, and every refusal: the owner manages issuers and
// cannot renounce, only issuers grant, a commitment is granted once (in a validity
// window that ends by MAX_TIME) and revoked at most once. Who may revoke which
// commitment is in LicenceRegistry.revoke.test.js.

const { expect } = require("chai");
const { ethers } = require("hardhat");

const C1 = ethers.sha256("0x01"); // any 32 bytes serve as commitments
const C2 = ethers.sha256("0x02");
const FROM = 1_700_000_000n;
const UNTIL = 4_000_000_000n;
const MAX_TIME = 2n ** 40n - 1n;
const REVOCATION = ethers.sha256("0xdead"); // leaf hash of the revoking log record

describe("LicenceRegistry roles and errors", function () {
  let registry, owner, issuer, other;

  beforeEach(async function () {
    [owner, issuer, other] = await ethers.getSigners();
    registry = await ethers.deployContract("LicenceRegistry", owner);
    await registry.waitForDeployment();
  });

  describe("issuers", function () {
    it("makes the deployer the owner and the first issuer", async function () {
      expect(await registry.owner()).to.equal(owner.address);
      expect(await registry.isIssuer(owner.address)).to.equal(true);
      expect(await registry.isIssuer(issuer.address)).to.equal(false);
      await expect(registry.deploymentTransaction())
        .to.emit(registry, "IssuerAdded")
        .withArgs(owner.address);
    });

    it("lets the owner add and remove issuers, several at once", async function () {
      await expect(registry.addIssuer(issuer.address))
        .to.emit(registry, "IssuerAdded")
        .withArgs(issuer.address);
      await expect(registry.addIssuer(issuer.address)).not.to.emit(registry, "IssuerAdded");
      await registry.addIssuer(other.address);
      await registry.connect(issuer).grant(C1, FROM, UNTIL);
      await registry.connect(other).grant(C2, FROM, UNTIL);
      await expect(registry.removeIssuer(issuer.address))
        .to.emit(registry, "IssuerRemoved")
        .withArgs(issuer.address);
      await expect(registry.removeIssuer(issuer.address)).not.to.emit(registry, "IssuerRemoved");
      expect(await registry.isIssuer(issuer.address)).to.equal(false);
      expect(await registry.isIssuer(other.address)).to.equal(true);
      expect((await registry.status(C1)).state).to.equal(2n); // grants outlive their issuer
    });

    it("refuses issuer management by anyone but the owner", async function () {
      await registry.addIssuer(issuer.address);
      // Each call is sent only when awaited: a rejection never goes unobserved.
      for (const call of [
        () => registry.connect(issuer).addIssuer(other.address),
        () => registry.connect(other).removeIssuer(owner.address),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount");
      }
    });

    it("refuses the zero address as issuer", async function () {
      await expect(registry.addIssuer(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryInvalidIssuer")
        .withArgs(ethers.ZeroAddress);
    });

    it("hands the owner role over in two steps", async function () {
      await expect(registry.transferOwnership(other.address))
        .to.emit(registry, "OwnershipTransferStarted")
        .withArgs(owner.address, other.address);
      expect(await registry.owner()).to.equal(owner.address);
      await expect(registry.connect(other).addIssuer(issuer.address))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(other.address);
      await expect(registry.connect(issuer).acceptOwnership())
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(issuer.address);
      await registry.connect(other).acceptOwnership();
      expect(await registry.owner()).to.equal(other.address);
      await registry.connect(other).addIssuer(issuer.address);
      expect(await registry.isIssuer(issuer.address)).to.equal(true);
      await expect(registry.addIssuer(other.address))
        .to.be.revertedWithCustomError(registry, "OwnableUnauthorizedAccount")
        .withArgs(owner.address);
    });

    it("refuses to renounce ownership, for the owner and anyone else, and keeps the owner", async function () {
      await registry.transferOwnership(other.address); // a pending transfer survives too
      const data = registry.interface.encodeFunctionData("renounceOwnership");
      const to = await registry.getAddress();
      for (const signer of [owner, issuer, other]) {
        // The ABI says `pure`, so ethers only calls it; send a real transaction too.
        await expect(registry.connect(signer).renounceOwnership()).to.be.revertedWithCustomError(
          registry,
          "LicenceRegistryRenounceDisabled",
        );
        await expect(
          signer.sendTransaction({ to, data, gasLimit: 100_000 }),
        ).to.be.revertedWithCustomError(registry, "LicenceRegistryRenounceDisabled");
      }
      expect(await registry.owner()).to.equal(owner.address);
      expect(await registry.pendingOwner()).to.equal(other.address);
      await registry.connect(other).acceptOwnership();
      await expect(
        other.sendTransaction({ to, data, gasLimit: 100_000 }),
      ).to.be.revertedWithCustomError(registry, "LicenceRegistryRenounceDisabled");
      expect(await registry.owner()).to.equal(other.address);
      await registry.connect(other).addIssuer(issuer.address);
    });
  });

  describe("only issuers write", function () {
    it("refuses grant, grantMany and revoke by a non-issuer", async function () {
      await registry.grant(C1, FROM, UNTIL);
      const calls = [
        () => registry.connect(other).grant(C2, FROM, UNTIL),
        () => registry.connect(other).grantMany([{ commitment: C2, validFrom: FROM, validUntil: UNTIL }]),
      ];
      for (const call of calls) {
        await expect(call())
          .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
          .withArgs(other.address);
      }
      await expect(registry.connect(other).revoke(C1, REVOCATION))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNotGrantingIssuer")
        .withArgs(C1, other.address, owner.address);
      expect((await registry.status(C1)).state).to.equal(2n);
    });

    it("refuses a removed issuer", async function () {
      await registry.addIssuer(issuer.address);
      await registry.removeIssuer(issuer.address);
      await expect(registry.connect(issuer).grant(C1, FROM, UNTIL))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
        .withArgs(issuer.address);
    });

    it("does not make the owner an issuer by itself", async function () {
      await registry.removeIssuer(owner.address);
      await expect(registry.grant(C1, FROM, UNTIL))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
        .withArgs(owner.address);
    });
  });

  describe("grant", function () {
    it("records the window, the block and the issuer, and emits Granted naming the issuer", async function () {
      await registry.addIssuer(issuer.address);
      const tx = await registry.connect(issuer).grant(C1, FROM, UNTIL);
      await expect(tx).to.emit(registry, "Granted").withArgs(C1, issuer.address, FROM, UNTIL);
      expect(await registry.issuerOf(C1)).to.equal(issuer.address);
      expect(await registry.issuerOf(C2)).to.equal(ethers.ZeroAddress); // never granted
      const { blockNumber } = await tx.wait();
      const found = await registry.status(C1);
      expect([found.validFrom, found.validUntil, found.grantedBlock, found.revokedBlock]).to.deep.equal([
        FROM,
        UNTIL,
        BigInt(blockNumber),
        0n,
      ]);
    });

    it("refuses a commitment granted before, keeping the first grant", async function () {
      const { blockNumber } = await (await registry.grant(C1, FROM, UNTIL)).wait();
      await expect(registry.grant(C1, FROM + 1n, UNTIL + 1n))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
        .withArgs(C1, blockNumber);
      expect((await registry.status(C1)).validFrom).to.equal(FROM);
    });

    it("refuses an empty validity window", async function () {
      for (const [from, until] of [
        [FROM, FROM],
        [FROM, FROM - 1n],
        [0n, 0n],
      ]) {
        await expect(registry.grant(C1, from, until))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
          .withArgs(C1, from, until);
      }
      await registry.grant(C1, FROM, FROM + 1n); // one second is enough
    });

    it("takes validity windows that end at MAX_TIME (2^40 - 1) at the latest", async function () {
      expect(await registry.MAX_TIME()).to.equal(MAX_TIME);
      const refused = [
        [FROM, MAX_TIME + 1n],
        [MAX_TIME, MAX_TIME + 1n],
        [0n, 2n ** 64n - 1n],
        [MAX_TIME + 1n, MAX_TIME + 2n],
      ];
      for (const [from, until] of refused) {
        await expect(registry.grant(C1, from, until))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
          .withArgs(C1, from, until);
        await expect(registry.grantMany([{ commitment: C1, validFrom: from, validUntil: until }]))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
          .withArgs(C1, from, until);
      }
      // The limit itself, and the latest one-second window, are stored exactly.
      await registry.grant(C1, FROM, MAX_TIME);
      await registry.grantMany([{ commitment: C2, validFrom: MAX_TIME - 1n, validUntil: MAX_TIME }]);
      const [c1, c2] = [await registry.status(C1), await registry.status(C2)];
      expect([c1.state, c1.validFrom, c1.validUntil]).to.deep.equal([2n, FROM, MAX_TIME]);
      expect([c2.state, c2.validFrom, c2.validUntil]).to.deep.equal([1n, MAX_TIME - 1n, MAX_TIME]);
    });
  });

  describe("revoke", function () {
    it("records the block and emits Revoked with who revoked and the revoking record", async function () {
      await registry.grant(C1, FROM, UNTIL);
      const tx = await registry.revoke(C1, REVOCATION);
      await expect(tx).to.emit(registry, "Revoked").withArgs(C1, owner.address, REVOCATION);
      const { blockNumber } = await tx.wait();
      const found = await registry.status(C1);
      expect(found.state).to.equal(4n);
      expect(found.revokedBlock).to.equal(BigInt(blockNumber));
      expect(found.validFrom).to.equal(FROM);
    });

    it("refuses an unknown commitment", async function () {
      await expect(registry.revoke(C2, REVOCATION))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryUnknownCommitment")
        .withArgs(C2);
    });

    it("refuses to revoke twice", async function () {
      await registry.grant(C1, FROM, UNTIL);
      const { blockNumber } = await (await registry.revoke(C1, REVOCATION)).wait();
      await expect(registry.revoke(C1, ethers.sha256("0xbeef")))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyRevoked")
        .withArgs(C1, blockNumber);
    });

    it("refuses to grant a revoked commitment again", async function () {
      const { blockNumber } = await (await registry.grant(C1, FROM, UNTIL)).wait();
      await registry.revoke(C1, REVOCATION);
      await expect(registry.grant(C1, FROM, UNTIL))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
        .withArgs(C1, blockNumber);
    });
  });
});
