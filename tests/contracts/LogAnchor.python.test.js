// The on-chain verifier against the Python implementation that issues the proofs.
//
// scripts/contract_fixtures.py (run with $LEDGER_PYTHON, default .venv/bin/python, from
// the repository root) prints trees, roots and proofs made by ledger.core.merkle. Each proof
// must be accepted as printed, and rejected with any node's bit flipped, any node
// dropped, a node added, neighbours swapped, or a wrong root. Every checkpoint is signed
// by the log key: what is rejected is rejected for its proof. Last, checkpoints signed
// by the service's own signer (ledger.service.signer.LogSigner, `--sign-for`), with and
// without an index root, are relayed as they are, and so are retirements an admin
// signed with eth-account (`--sign-typed`).

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  anchorSigned,
  compactSignature,
  createLog,
  deployLogAnchor,
  flipBit,
  logIdOf,
  newStranger,
  pythonFixtures,
  signCheckpoint,
  syntheticConsistency,
} = require("./helpers");

const fixtures = pythonFixtures();
const NO_INDEX = ethers.ZeroHash; // the index root of a log that commits to no index

/** Copies of `proof` that must not verify: flipped bits, dropped, added, swapped nodes. */
function tamperedProofs(proof) {
  const out = [];
  proof.forEach((node, i) => {
    out.push({
      how: `bit ${(i * 37) % 256} of node ${i} flipped`,
      proof: proof.map((n, j) => (j === i ? flipBit(n, (i * 37) % 256) : n)),
    });
    out.push({ how: `node ${i} dropped`, proof: proof.filter((_, j) => j !== i) });
  });
  out.push({ how: "node added at the end", proof: [...proof, ethers.sha256("0x00")] });
  out.push({ how: "node added at the start", proof: [ethers.sha256("0x00"), ...proof] });
  for (let i = 0; i + 1 < proof.length; i++) {
    if (proof[i] !== proof[i + 1]) {
      const swapped = [...proof];
      [swapped[i], swapped[i + 1]] = [swapped[i + 1], swapped[i]];
      out.push({ how: `nodes ${i} and ${i + 1} swapped`, proof: swapped });
    }
  }
  return out;
}

describe("LogAnchor against ledger.core.merkle (Python)", function () {
  let logAnchor, admin, anchorer, logKey;

  before(async function () {
    ({ logAnchor, admin, anchorer, logKey } = await deployLogAnchor());
  });

  /** Sends checkpoint (logId, size, root) with `proof`, signed by the log key. */
  function anchor(logId, size, root, proof) {
    return anchorSigned(logAnchor, anchorer, logKey, logId, size, root, proof);
  }

  it("gets enough fixtures from scripts/contract_fixtures.py", function () {
    expect(fixtures.generator).to.equal("ledger.core.merkle");
    expect(fixtures.consistency.length).to.be.at.least(30);
    expect(fixtures.inclusion.length).to.be.at.least(30);
    expect(fixtures.sequence.length).to.be.at.least(10);
  });

  it("gives the gas report's synthetic proofs the same length as real ones", function () {
    for (const { size1, size2, proof } of fixtures.consistency) {
      expect(
        syntheticConsistency(size1, size2, "shape").proof.length,
        `${size1} -> ${size2}`,
      ).to.equal(proof.length);
    }
  });

  describe("consistency proofs", function () {
    for (const c of fixtures.consistency) {
      it(`accepts ${c.size1} -> ${c.size2} (${c.proof.length} proof nodes) and rejects tampered copies`, async function () {
        const logId = logIdOf(`python/consistency/${c.size1}/${c.size2}`);
        await createLog(logAnchor, logId, admin, logKey);
        await (await anchor(logId, c.size1, c.root1, [])).wait();

        const refused = [
          ...tamperedProofs(c.proof).map((t) => ({ ...t, root: c.root2 })),
          { how: "wrong root2", root: flipBit(c.root2, 7), proof: c.proof },
          { how: "old root as new root", root: c.root1, proof: c.proof },
        ];
        const signatures = new Map(); // one signature per root: signing is the slow part
        for (const { how, root, proof } of refused) {
          if (!signatures.has(root)) {
            signatures.set(root, await signCheckpoint(logAnchor, logKey, logId, c.size2, root));
          }
          const { r, vs } = signatures.get(root);
          await expect(logAnchor.anchor.staticCall(logId, c.size2, root, NO_INDEX, proof, r, vs), how)
            .to.be.revertedWithCustomError(logAnchor, "LogAnchorInconsistent")
            .withArgs(logId, c.size1, c.size2);
        }
        await expect(anchor(logId, c.size2, c.root2, c.proof))
          .to.emit(logAnchor, "Anchored")
          .withArgs(logId, c.size2, c.root2, NO_INDEX, c.size1);
        expect(await logAnchor.rootAt(logId, c.size2)).to.equal(c.root2);
      });
    }

    it("rejects a proof from a wrong anchored root", async function () {
      const c = fixtures.consistency.find((x) => x.proof.length > 2);
      const logId = logIdOf("python/wrong-root1");
      await createLog(logAnchor, logId, admin, logKey);
      await anchor(logId, c.size1, flipBit(c.root1, 100), []);
      await expect(anchor(logId, c.size2, c.root2, c.proof))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorInconsistent")
        .withArgs(logId, c.size1, c.size2);
    });
  });

  it(`follows one log through ${fixtures.sequence.length} anchors`, async function () {
    const logId = logIdOf("python/sequence");
    await createLog(logAnchor, logId, admin, logKey);
    let previous = 0;
    for (const step of fixtures.sequence) {
      await expect(anchor(logId, step.size, step.root, step.proof))
        .to.emit(logAnchor, "Anchored")
        .withArgs(logId, step.size, step.root, NO_INDEX, previous);
      previous = step.size;
    }
    for (const step of fixtures.sequence) {
      expect(await logAnchor.rootAt(logId, step.size)).to.equal(step.root);
      const { index, leafHash, proof } = step.inclusion;
      expect(await logAnchor.verifyInclusion(logId, step.size, index, leafHash, proof)).to.equal(true);
    }
    expect(await logAnchor.latest(logId)).to.deep.equal([
      BigInt(previous),
      fixtures.sequence.at(-1).root,
    ]);
  });

  describe("inclusion proofs", function () {
    const bySize = new Map();
    for (const c of fixtures.inclusion) {
      if (!bySize.has(c.size)) bySize.set(c.size, []);
      bySize.get(c.size).push(c);
    }
    for (const [size, cases] of bySize) {
      it(`verifies leaves ${cases.map((c) => c.index).join(", ")} of a tree of ${size} and rejects tampered proofs`, async function () {
        const logId = logIdOf(`python/inclusion/${size}`);
        await createLog(logAnchor, logId, admin, logKey);
        await (await anchor(logId, size, cases[0].root, [])).wait();
        for (const c of cases) {
          const at = `leaf ${c.index} of ${size}`;
          expect(
            await logAnchor.verifyInclusion(logId, size, c.index, c.leafHash, c.proof),
            at,
          ).to.equal(true);
          for (const { how, proof } of tamperedProofs(c.proof)) {
            expect(
              await logAnchor.verifyInclusion(logId, size, c.index, c.leafHash, proof),
              `${at}: ${how}`,
            ).to.equal(false);
          }
          expect(
            await logAnchor.verifyInclusion(logId, size, c.index, flipBit(c.leafHash, 3), c.proof),
            `${at}: wrong leaf`,
          ).to.equal(false);
          expect(
            await logAnchor.verifyInclusion(logId, size, c.index ^ 1, c.leafHash, c.proof),
            `${at}: wrong index`,
          ).to.equal(false);
          expect(
            await logAnchor.verifyInclusion(logId, size, c.index + size, c.leafHash, c.proof),
            `${at}: index beyond size`,
          ).to.equal(false);
        }
      });
    }
  });

  describe("checkpoints signed by ledger.service.signer.LogSigner (the service's signer)", function () {
    let signed; // the --sign-for fixtures, signed for this contract on this chain

    before(async function () {
      const { chainId } = await ethers.provider.getNetwork();
      signed = pythonFixtures(["--sign-for", String(chainId), await logAnchor.getAddress()]);
      expect(signed.generator).to.equal("ledger.service.signer");
      expect(signed.signer).to.equal(logKey.address); // the same test log key
      await createLog(logAnchor, signed.logId, admin, logKey);
    });

    it("signs, with and without an index root, the digest the contract checks, in compact form", async function () {
      const indexRoots = signed.checkpoints.map((c) => c.indexRoot);
      expect(indexRoots).to.include(ethers.ZeroHash);
      expect(indexRoots.filter((root) => root !== ethers.ZeroHash).length).to.be.at.least(2);
      for (const c of signed.checkpoints) {
        const digest = await logAnchor.checkpointDigest(signed.logId, c.size, c.root, c.indexRoot);
        expect(ethers.recoverAddress(digest, c.signature), `size ${c.size}`).to.equal(logKey.address);
        expect(compactSignature(c.signature)).to.deep.equal({ r: c.r, vs: c.vs });
        // ethers signs the very same bytes (RFC 6979 signatures are deterministic).
        const mine = await signCheckpoint(logAnchor, logKey, signed.logId, c.size, c.root, c.indexRoot);
        expect(mine).to.deep.equal({ r: c.r, vs: c.vs });
      }
    });

    it("has every checkpoint relayed by a stranger, its index root in Anchored, and no other index root", async function () {
      const stranger = await newStranger("python-signed");
      let previous = 0;
      for (const c of signed.checkpoints) {
        const send = (indexRoot) =>
          logAnchor
            .connect(stranger)
            .anchor(signed.logId, c.size, c.root, indexRoot, c.proof, c.r, c.vs, { gasLimit: 1_000_000 });
        // The same signature with another index root recovers to another address.
        const other = c.indexRoot === ethers.ZeroHash ? ethers.sha256(c.root) : ethers.ZeroHash;
        const otherDigest = await logAnchor.checkpointDigest(signed.logId, c.size, c.root, other);
        await expect(send(other))
          .to.be.revertedWithCustomError(logAnchor, "LogAnchorBadSignature")
          .withArgs(signed.logId, ethers.recoverAddress(otherDigest, c.signature));
        await expect(send(c.indexRoot))
          .to.emit(logAnchor, "Anchored")
          .withArgs(signed.logId, c.size, c.root, c.indexRoot, previous);
        previous = c.size;
      }
      const events = await logAnchor.queryFilter(logAnchor.filters.Anchored(signed.logId));
      expect(events.map((e) => e.args.indexRoot)).to.deep.equal(signed.checkpoints.map((c) => c.indexRoot));
    });
  });

  describe("retirements signed by eth-account (Python)", function () {
    it("retires with the admin's signature from scripts/contract_fixtures.py --sign-typed, relayed by a stranger", async function () {
      const { chainId } = await ethers.provider.getNetwork();
      const signed = pythonFixtures(["--sign-typed", String(chainId), await logAnchor.getAddress()]);
      expect(signed.generator).to.equal("eth_account");
      const stranger = await newStranger("python-retire");
      await (await logAnchor.createLog(signed.logId, signed.admin, logKey.address)).wait();
      const bySize = new Map();
      for (const t of signed.retirements) {
        expect(t.logId).to.equal(signed.logId);
        const digest = await logAnchor.retireDigest(t.logId, t.trustedSize);
        expect(ethers.recoverAddress(digest, t.signature), `size ${t.trustedSize}`).to.equal(signed.admin);
        expect(compactSignature(t.signature)).to.deep.equal({ r: t.r, vs: t.vs });
        bySize.set(t.trustedSize, t);
      }
      const root = ethers.sha256(ethers.toUtf8Bytes("python/retire root"));
      const [none, trusted, never] = signed.retirements.map((t) => t.trustedSize);
      expect(none).to.equal(0);
      await (await anchorSigned(logAnchor, anchorer, logKey, signed.logId, trusted, root, [])).wait();
      // The signature passes: what stops retiring at a size never anchored is the size.
      const far = bySize.get(never);
      await expect(logAnchor.connect(stranger).retireLog(signed.logId, never, far.r, far.vs, { gasLimit: 1_000_000 }))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorUnknownSize")
        .withArgs(signed.logId, never);
      // Another size's signature does not carry over.
      const zero = bySize.get(none);
      await expect(logAnchor.connect(stranger).retireLog(signed.logId, trusted, zero.r, zero.vs, { gasLimit: 1_000_000 }))
        .to.be.revertedWithCustomError(logAnchor, "LogAnchorNotAdminSignature")
        .withArgs(signed.logId, (recovered) => recovered !== signed.admin);
      const t = bySize.get(trusted);
      await expect(logAnchor.connect(stranger).retireLog(signed.logId, trusted, t.r, t.vs))
        .to.emit(logAnchor, "LogRetired")
        .withArgs(signed.logId, trusted, trusted);
      const info = await logAnchor.logInfo(signed.logId);
      expect([info.admin, info.retired, info.trustedSize]).to.deep.equal([signed.admin, true, BigInt(trusted)]);
    });
  });
});
