// Gas per anchor for appends to logs of 2^4 .. 2^24 entries, printed as a table.
//
// For each k, three appends that matter for cost:
//   longest proof  2^k + 1 -> 2^(k+1) - 1: of all appends from at least 2^k entries to
//                  fewer than 2^(k+1), the longest RFC 9162 consistency proof (k + 2
//                  nodes), though with one node hashed twice only;
//   most hashing   2^k - 1 -> 2^k: k + 1 nodes, nearly all hashed twice (into the old
//                  and the new root), the most gas for a log of that size;
//   typical        n = 1.618 * 2^k -> 1.1 * n: a log not near a power of two grows 10%.
// Trees of 2^24 leaves are too large to build in a test, so these proofs are synthetic:
// pseudo-random nodes in the exact shape of a real proof, with the roots they commit to
// (helpers.syntheticConsistency). The contract does the same work as for a real proof;
// LogAnchor.python.test.js checks that real proofs have the same shapes and verify.
// Every anchor carries the log key's EIP-712 signature (checked with ecrecover) and is
// sent by an account with no role, as a relayer would send it.
// Every anchor of the table carries a non-zero index root (a hash, as a log that
// commits to an index signs it): a zero index root, what a log without an index sends,
// costs less (calldata is 4 gas per zero byte, 16 per other byte), so the table is the
// upper bound for both. The first-anchor line gives both costs.

const { expect } = require("chai");
const { ethers } = require("hardhat");
const {
  anchorSigned,
  createLog,
  deployLogAnchor,
  logIdOf,
  syntheticConsistency,
} = require("./helpers");

const MIN_LOG2 = 4;
const MAX_LOG2 = 24;
const MEDIAN_GAS_LIMIT = 90_000n; // the target, per pattern

const APPENDS = {
  "longest proof": (k) => [2 ** k + 1, 2 ** (k + 1) - 1],
  "most hashing": (k) => [2 ** k - 1, 2 ** k],
  typical: (k) => [Math.floor(2 ** k * 1.618), Math.floor(Math.floor(2 ** k * 1.618) * 1.1)],
};

function median(values) {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2n;
}

describe("LogAnchor gas", function () {
  let logAnchor, admin, anchorer, logKey;

  before(async function () {
    ({ logAnchor, admin, anchorer, logKey } = await deployLogAnchor());
  });

  /** A non-zero index root for `label`, as a log with an index signs it. */
  function indexRootOf(label) {
    return ethers.sha256(ethers.toUtf8Bytes(`${label}/index root`));
  }

  /** Gas used by anchoring size2 after a first anchor at size1 (on a fresh log). */
  async function anchorGas(name, size1, size2) {
    const logId = logIdOf(name);
    await createLog(logAnchor, logId, admin, logKey);
    const { root1, root2, proof } = syntheticConsistency(size1, size2, name);
    const index1 = indexRootOf(`${name}/${size1}`);
    const index2 = indexRootOf(`${name}/${size2}`);
    await (await anchorSigned(logAnchor, anchorer, logKey, logId, size1, root1, [], index1)).wait();
    const tx = anchorSigned(logAnchor, anchorer, logKey, logId, size2, root2, proof, index2);
    await expect(tx).to.emit(logAnchor, "Anchored").withArgs(logId, size2, root2, index2, size1);
    const receipt = await (await tx).wait();
    expect(await logAnchor.rootAt(logId, size2)).to.equal(root2);
    return { gas: receipt.gasUsed, nodes: proof.length };
  }

  /** Gas of the first anchor of a fresh log (empty proof) with index root `indexRoot`. */
  async function firstAnchorGas(name, indexRoot) {
    const logId = logIdOf(name);
    await createLog(logAnchor, logId, admin, logKey);
    const tx = await anchorSigned(logAnchor, anchorer, logKey, logId, 1000, ethers.sha256("0x01"), [], indexRoot);
    return (await tx.wait()).gasUsed;
  }

  it(`keeps the median gas per anchor at or below ${MEDIAN_GAS_LIMIT} for logs of 2^${MIN_LOG2}..2^${MAX_LOG2} entries`, async function () {
    const names = Object.keys(APPENDS);
    const rows = [];
    for (let k = MIN_LOG2; k <= MAX_LOG2; k++) {
      const row = { k };
      for (const name of names) {
        const [size1, size2] = APPENDS[name](k);
        row[name] = await anchorGas(`gas/${name}/${k}`, size1, size2);
      }
      rows.push(row);
    }
    const first = await firstAnchorGas("gas/first", indexRootOf("gas/first"));
    const firstNoIndex = await firstAnchorGas("gas/first without index", ethers.ZeroHash);

    const cell = ({ nodes, gas }) => `${String(nodes).padStart(5)} ${String(gas).padStart(8)}`;
    const header = names.map((name) => name.padStart(14)).join(" |");
    const lines = [
      "",
      "      gas per anchor (receipt gasUsed, 21,000 base cost included), nodes = proof length,",
      "      each with a non-zero index root",
      `      log size |${header}`,
      `               |${names.map(() => "nodes      gas".padStart(14)).join(" |")}`,
    ];
    for (const row of rows) {
      lines.push(
        `      2^${String(row.k).padEnd(6)} |${names.map((n) => cell(row[n])).join(" |")}`,
      );
    }
    const medians = names.map((name) => median(rows.map((row) => row[name].gas)));
    lines.push(`      median   |${medians.map((m) => String(m).padStart(14)).join(" |")}`);
    lines.push(
      `      first anchor of a log (empty proof): ${first}; with a zero index root (no index): ${firstNoIndex}`,
    );
    console.log(lines.join("\n"));

    names.forEach((name, i) => {
      expect(medians[i], `median gas, ${name}`).to.be.at.most(MEDIAN_GAS_LIMIT);
    });
  });
});
