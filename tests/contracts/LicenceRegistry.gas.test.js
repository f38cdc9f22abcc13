// Gas of LicenceRegistry's writes, printed as a table (receipt gasUsed, the 21,000 base
// cost of a transaction included): grant, grantMany of 1, 10 and 100 commitments,
// revoke. Every grant and revocation carries the issuer key's EIP-712 signature (64
// bytes of calldata, checked with ecrecover) and is sent by an account with no role, as
// a relayer sends it. Commitments and revocations are fresh 32-byte hashes, as the
// service sends them.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const { deployLicenceRegistry, grantManySigned, grantSigned, revokeSigned } = require("./helpers");

// The signature costs each call about 7,000 to 8,000 gas over the unsigned calls before
// 2c8d45f (the README's table: 48,800 per grant, 25,717 per commitment in a batch of
// 100, 30,639 per revoke): ecrecover (3,000), 64 more bytes of calldata, the EIP-712
// hashing.
const GRANT_GAS_LIMIT = 60_000n;
const REVOKE_GAS_LIMIT = 40_000n;
const PER_COMMITMENT_LIMIT = 35_000n; // grantMany, per commitment, for large batches

let counter = 0;
function fresh() {
  counter += 1;
  return ethers.sha256(ethers.toUtf8Bytes(`gas/${counter}`));
}

describe("LicenceRegistry gas", function () {
  let registry, relayer, issuerKey, t;

  before(async function () {
    ({ registry, relayer, issuerKey } = await deployLicenceRegistry());
    t = BigInt((await ethers.provider.getBlock("latest")).timestamp);
  });

  async function gasOf(txPromise) {
    const receipt = await (await txPromise).wait();
    expect(receipt.from).to.equal(relayer.address); // a relayer pays, not the issuer key
    return receipt.gasUsed;
  }

  async function grantManyGas(count) {
    const grants = Array.from({ length: count }, () => ({
      commitment: fresh(),
      validFrom: t,
      validUntil: t + 31_536_000n,
    }));
    const gas = await gasOf(grantManySigned(registry, relayer, issuerKey, grants));
    expect((await registry.status(grants.at(-1).commitment)).issuer).to.equal(issuerKey.address);
    return gas;
  }

  it("keeps signed grants cheap and prints the gas table", async function () {
    const c = fresh();
    const grant = await gasOf(grantSigned(registry, relayer, issuerKey, c, t, t + 31_536_000n));
    const many = {};
    for (const n of [1, 10, 100]) {
      many[n] = await grantManyGas(n);
    }
    // Revoked by the key that granted it, for the revoking record's leaf hash.
    const revoke = await gasOf(revokeSigned(registry, relayer, issuerKey, c, fresh()));
    expect((await registry.status(c)).state).to.equal(4n);

    const rows = [
      ["grant", 1, grant],
      ["grantMany", 1, many[1]],
      ["grantMany", 10, many[10]],
      ["grantMany", 100, many[100]],
      ["revoke", 1, revoke],
    ];
    const lines = [
      "",
      "      gas (receipt gasUsed, 21,000 base cost included), each grant and revocation",
      "      with the issuer key's signature, sent by a relayer",
      "      call        commitments        gas   per commitment",
      ...rows.map(
        ([call, n, gas]) =>
          `      ${call.padEnd(11)} ${String(n).padStart(11)} ${String(gas).padStart(10)} ${String(gas / BigInt(n)).padStart(16)}`,
      ),
      "",
    ];
    console.log(lines.join("\n"));

    expect(grant).to.be.at.most(GRANT_GAS_LIMIT);
    expect(revoke).to.be.at.most(REVOKE_GAS_LIMIT);
    expect(many[100] / 100n).to.be.at.most(PER_COMMITMENT_LIMIT);
    expect(many[10] / 10n).to.be.lessThan(grant); // batching saves the base cost
  });
});
