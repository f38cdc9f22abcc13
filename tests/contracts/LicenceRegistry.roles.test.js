// Who may do what on LicenceRegistry, and every refusal: the issuer key is fixed at
// construction and nobody (the deployer's gas key included) owns the registry, adds an
// issuer or removes one; only the issuer key's signature grants, whoever sends it; a
// commitment is granted once (in a validity window that ends by MAX_TIME) and revoked at
// most once. Who may revoke
// which commitment is in LicenceRegistry.revoke.test.js, the attacks on the signatures
// themselves in LicenceRegistry.signatures.test.js.

const { expect } = require("chai");
const { artifacts, ethers } = require("hardhat");
const {
  deployLicenceRegistry,
  fund,
  grantManySigned,
  grantSigned,
  revokeSigned,
  signGrant,
  signRevoke,
  signedGrant,
} = require("./helpers");

const C1 = ethers.sha256("0x01"); // any 32 bytes serve as commitments
const C2 = ethers.sha256("0x02");
const FROM = 1_700_000_000n;
const UNTIL = 4_000_000_000n;
const MAX_TIME = 2n ** 40n - 1n;
const REVOCATION = ethers.sha256("0xdead"); // leaf hash of the revoking log record
const Status = { Unknown: 0n, NotYetValid: 1n, Active: 2n, Expired: 3n, Revoked: 4n };
/** Gas for transactions that must be mined and revert on chain. */
const SEND = { gasLimit: 1_000_000 };

describe("LicenceRegistry roles and errors", function () {
  let registry, owner, relayer, other, issuerKey, keyB;

  beforeEach(async function () {
    ({ registry, owner, relayer, other, issuerKey } = await deployLicenceRegistry());
    keyB = new ethers.Wallet(ethers.id("roles/issuer key B")); // signs, never sends
  });

  /** Grants `commitment` signed by `key`, sent by the relayer (who holds no role). */
  function grant(key, commitment, from = FROM, until = UNTIL, sender = relayer) {
    return grantSigned(registry, sender, key, commitment, from, until, SEND);
  }

  /** Sends `data` to the registry from `sender` as a mined transaction; returns the promise. */
  async function sendRaw(sender, data) {
    return sender.sendTransaction({ to: await registry.getAddress(), data, ...SEND });
  }

  /** Calldata of a function LicenceRegistry had while it had an owner (it has none now). */
  function ownerCall(signature, ...args) {
    return new ethers.Interface([`function ${signature}`]).encodeFunctionData(signature.split("(")[0], args);
  }

  describe("one issuer, no owner", function () {
    it("fixes the constructor's key as the issuer, for good; the deployer gets no role and nothing is logged", async function () {
      expect(await registry.issuerKey()).to.equal(issuerKey.address);
      const { logs } = await registry.deploymentTransaction().wait();
      expect(logs).to.deep.equal([]);
      // The deployer's own key grants nothing.
      await expect(grant(owner, C1, FROM, UNTIL, owner))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
        .withArgs(C1, owner.address);
    });

    it("has the same runtime code whatever its issuer key: the code verifiers compare with the shipped one", async function () {
      const another = await ethers.deployContract("LicenceRegistry", [keyB.address], owner);
      const { deployedBytecode } = await artifacts.readArtifact("LicenceRegistry");
      expect(await another.issuerKey()).to.equal(keyB.address);
      expect(await ethers.provider.getCode(await another.getAddress())).to.equal(deployedBytecode);
      expect(await ethers.provider.getCode(await registry.getAddress())).to.equal(deployedBytecode);
    });

    it("refuses the zero address as issuer", async function () {
      const factory = await ethers.getContractFactory("LicenceRegistry", owner);
      await expect(factory.deploy(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "LicenceRegistryInvalidIssuer")
        .withArgs(ethers.ZeroAddress);
    });

    it("has no write but the signed grant, grantMany and revoke, and no owner to ask for", function () {
      const writes = registry.interface.fragments
        .filter((f) => f.type === "function" && !["view", "pure"].includes(f.stateMutability))
        .map((f) => f.format())
        .sort();
      expect(writes).to.deep.equal([
        "grant(bytes32,uint64,uint64,bytes32,bytes32)",
        "grantMany((bytes32,uint64,uint64,bytes32,bytes32)[])",
        "revoke(bytes32,bytes32,bytes32,bytes32)",
      ]);
      for (const name of [
        "owner",
        "pendingOwner",
        "transferOwnership",
        "acceptOwnership",
        "renounceOwnership",
        "addIssuer",
        "removeIssuer",
        "isIssuer",
        "issuerOf",
        "grantAs",
        "revokeAs",
      ]) {
        expect(registry.interface.getFunction(name), name).to.equal(null);
      }
      expect(registry.interface.fragments.filter((f) => f.type === "fallback" || f.type === "receive")).to.deep.equal([]);
    });

    it("lets nobody add a second issuer or remove the log key: the old owner calls revert and change nothing", async function () {
      // The attack of the second review: the deployer (once the owner) adds its own key,
      // grants a commitment first with a window of its choosing, then removes the log key.
      const issuerAccount = issuerKey.connect(ethers.provider); // the log key, given gas
      await fund(issuerAccount.address);
      for (const sender of [owner, relayer, other, issuerAccount]) {
        for (const data of [
          ownerCall("addIssuer(address)", sender.address),
          ownerCall("addIssuer(address)", keyB.address),
          ownerCall("removeIssuer(address)", issuerKey.address),
          ownerCall("transferOwnership(address)", sender.address),
          ownerCall("acceptOwnership()"),
          ownerCall("renounceOwnership()"),
        ]) {
          await expect(sendRaw(sender, data)).to.be.reverted; // no such function, no fallback
        }
        if (sender !== issuerAccount) {
          await expect(grant(sender, C1, FROM, FROM + 1n, sender)) // the front-running grant
            .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
            .withArgs(C1, sender.address);
        }
      }
      expect(await registry.issuerKey()).to.equal(issuerKey.address);
      // The log key's genuine grant goes through, with its window and its key.
      await expect(grant(issuerKey, C1)).to.emit(registry, "Granted").withArgs(C1, issuerKey.address, FROM, UNTIL);
      const found = await registry.status(C1);
      expect([found.state, found.validFrom, found.validUntil, found.issuer]).to.deep.equal([
        Status.Active,
        FROM,
        UNTIL,
        issuerKey.address,
      ]);
    });
  });

  describe("only the issuer key's signature grants", function () {
    it("refuses grant and grantMany signed by a non-issuer key, whoever sends them", async function () {
      await grant(issuerKey, C1);
      for (const sender of [owner, relayer, other]) {
        // The sender's own key, and a key that never was an issuer.
        for (const key of [sender, keyB]) {
          await expect(grant(key, C2, FROM, UNTIL, sender))
            .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
            .withArgs(C2, key.address);
          const signed = await signedGrant(registry, key, { commitment: C2, validFrom: FROM, validUntil: UNTIL });
          await expect(registry.connect(sender).grantMany([signed], SEND))
            .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
            .withArgs(C2, key.address);
        }
      }
      await expect(revokeSigned(registry, other, other, C1, REVOCATION, SEND))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryNotIssuer")
        .withArgs(C1, other.address);
      expect((await registry.status(C1)).state).to.equal(Status.Active);
      expect((await registry.status(C2)).state).to.equal(Status.Unknown);
    });
  });

  describe("grant", function () {
    it("records the window, the block and the issuer key, and emits Granted naming the key", async function () {
      const tx = await grant(issuerKey, C1);
      await expect(tx).to.emit(registry, "Granted").withArgs(C1, issuerKey.address, FROM, UNTIL);
      const { blockNumber } = await tx.wait();
      expect(await registry.status(C1)).to.deep.equal([
        Status.Active,
        FROM,
        UNTIL,
        BigInt(blockNumber),
        0n,
        issuerKey.address,
      ]);
      const found = await registry.status(C1);
      expect(found.issuer).to.equal(issuerKey.address); // named `issuer` in the ABI
      expect((await registry.status(C2)).issuer).to.equal(ethers.ZeroAddress); // never granted
    });

    it("refuses a commitment granted before, whoever signed either, keeping the first grant", async function () {
      const { blockNumber } = await (await grant(issuerKey, C1)).wait();
      for (const key of [issuerKey, keyB, other]) {
        await expect(grant(key, C1, FROM + 1n, UNTIL + 1n))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
          .withArgs(C1, blockNumber);
      }
      const found = await registry.status(C1);
      expect([found.validFrom, found.issuer]).to.deep.equal([FROM, issuerKey.address]);
    });

    it("refuses an empty validity window, even signed by the issuer", async function () {
      for (const [from, until] of [
        [FROM, FROM],
        [FROM, FROM - 1n],
        [0n, 0n],
      ]) {
        await expect(grant(issuerKey, C1, from, until))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
          .withArgs(C1, from, until);
      }
      await grant(issuerKey, C1, FROM, FROM + 1n); // one second is enough
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
        await expect(grant(issuerKey, C1, from, until))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
          .withArgs(C1, from, until);
        await expect(grantManySigned(registry, relayer, issuerKey, [{ commitment: C1, validFrom: from, validUntil: until }]))
          .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
          .withArgs(C1, from, until);
      }
      // The limit itself, and the latest one-second window, are stored exactly.
      await grant(issuerKey, C1, FROM, MAX_TIME);
      await grantManySigned(registry, relayer, issuerKey, [
        { commitment: C2, validFrom: MAX_TIME - 1n, validUntil: MAX_TIME },
      ]);
      const [c1, c2] = [await registry.status(C1), await registry.status(C2)];
      expect([c1.state, c1.validFrom, c1.validUntil]).to.deep.equal([Status.Active, FROM, MAX_TIME]);
      expect([c2.state, c2.validFrom, c2.validUntil]).to.deep.equal([Status.NotYetValid, MAX_TIME - 1n, MAX_TIME]);
    });

    it("checks the window and a former grant before the signature", async function () {
      // A bad window or a granted commitment is refused as such, whatever the signature.
      const { r, vs } = await signGrant(registry, other, C1, FROM, FROM);
      await expect(registry.connect(relayer).grant(C1, FROM, FROM, r, vs))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryBadValidity")
        .withArgs(C1, FROM, FROM);
      const { blockNumber } = await (await grant(issuerKey, C1)).wait();
      await expect(registry.connect(relayer).grant(C1, FROM, UNTIL, ethers.ZeroHash, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
        .withArgs(C1, blockNumber);
    });
  });

  describe("revoke", function () {
    it("records the block and emits Revoked naming the issuer key and the revoking record", async function () {
      await grant(issuerKey, C1);
      const tx = await revokeSigned(registry, relayer, issuerKey, C1, REVOCATION);
      await expect(tx).to.emit(registry, "Revoked").withArgs(C1, issuerKey.address, REVOCATION);
      const { blockNumber } = await tx.wait();
      const found = await registry.status(C1);
      expect(found.state).to.equal(Status.Revoked);
      expect(found.revokedBlock).to.equal(BigInt(blockNumber));
      expect(found.validFrom).to.equal(FROM);
      expect(found.issuer).to.equal(issuerKey.address);
    });

    it("refuses an unknown commitment", async function () {
      await expect(revokeSigned(registry, relayer, issuerKey, C2, REVOCATION))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryUnknownCommitment")
        .withArgs(C2);
    });

    it("refuses to revoke twice, with the same or another signed record", async function () {
      await grant(issuerKey, C1);
      const { r, vs } = await signRevoke(registry, issuerKey, C1, REVOCATION);
      const { blockNumber } = await (await registry.connect(relayer).revoke(C1, REVOCATION, r, vs)).wait();
      await expect(registry.connect(other).revoke(C1, REVOCATION, r, vs))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyRevoked")
        .withArgs(C1, blockNumber);
      await expect(revokeSigned(registry, relayer, issuerKey, C1, ethers.sha256("0xbeef")))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyRevoked")
        .withArgs(C1, blockNumber);
    });

    it("refuses to grant a revoked commitment again", async function () {
      const { blockNumber } = await (await grant(issuerKey, C1)).wait();
      await revokeSigned(registry, relayer, issuerKey, C1, REVOCATION);
      await expect(grant(issuerKey, C1))
        .to.be.revertedWithCustomError(registry, "LicenceRegistryAlreadyGranted")
        .withArgs(C1, blockNumber);
    });
  });
});
