// Gas of LicenceRegistry's writes, printed as a table (receipt gasUsed, the 21,000 base
// cost of a transaction included): grant, grantMany of 1, 10 and 100 commitments,
// revoke (by the issuer that granted it). Commitments and revocations are fresh 32-byte
// hashes, as the service sends them.

const { expect } = require("chai");
const { ethers } = require("hardhat");

const GRANT_GAS_LIMIT = 60_000n;
const PER_COMMITMENT_LIMIT = 30_000n; // grantMany, per commitment, for large batches

let counter = 0;
function fresh() {
  counter += 1;
  return ethers.sha256(ethers.toUtf8Bytes(`gas/${counter}`));
}

describe("LicenceRegistry gas", function () {
  let registry, t;

  before(async function () {
    registry = await ethers.deployContract("LicenceRegistry");
    await registry.waitForDeployment();
    t = BigInt((await ethers.provider.getBlock("latest")).timestamp);
  });

  async function gasOf(txPromise) {
    return (await (await txPromise).wait()).gasUsed;
  }

  async function grantManyGas(count) {
    const grants = Array.from({ length: count }, () => ({
      commitment: fresh(),
      validFrom: t,
      validUntil: t + 31_536_000n,
    }));
    return gasOf(registry.grantMany(grants));
  }

  it("keeps grants cheap and prints the gas table", async function () {
    const c = fresh();
    const grant = await gasOf(registry.grant(c, t, t + 31_536_000n));
    const many = {};
    for (const n of [1, 10, 100]) {
      many[n] = await grantManyGas(n);
    }
    const revoke = await gasOf(registry.revoke(c, fresh())); // the revoking record's leaf hash

    const rows = [
      ["grant", 1, grant],
      ["grantMany", 1, many[1]],
      ["grantMany", 10, many[10]],
      ["grantMany", 100, many[100]],
      ["revoke", 1, revoke],
    ];
    const lines = [
      "",
      "      gas (receipt gasUsed, 21,000 base cost included)",
      "      call        commitments        gas   per commitment",
      ...rows.map(
        ([call, n, gas]) =>
          `      ${call.padEnd(11)} ${String(n).padStart(11)} ${String(gas).padStart(10)} ${String(gas / BigInt(n)).padStart(16)}`,
      ),
      "",
    ];
    console.log(lines.join("\n"));

    expect(grant).to.be.at.most(GRANT_GAS_LIMIT);
    expect(many[100] / 100n).to.be.at.most(PER_COMMITMENT_LIMIT);
    expect(many[10] / 10n).to.be.lessThan(grant); // batching saves the base cost
  });
});
