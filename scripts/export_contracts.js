// Writes each compiled contract (LogAnchor, LicenceRegistry) to
// ledger/formats/contracts/<name>.json, the copy that ships inside the Python package:
//   {"contractName", "abi", "bytecode", "deployedBytecode", "solcVersion"}
// Formatting is stable (2-space JSON, keys in that order, trailing newline), so an
// unchanged compile leaves the file byte-identical.
//
//   npx hardhat run scripts/export_contracts.js
//
// tests/chain/test_artifacts.py proves that the shipped file equals a fresh compile:
// rerun this script after any change to contracts/ or to the compiler settings, then
// scripts/page_constants.py (the verification page's copy of the runtime-code hashes).

const fs = require("node:fs");
const path = require("node:path");
const hre = require("hardhat");

const CONTRACTS = ["LogAnchor", "LicenceRegistry"];
const OUT_DIR = path.join(__dirname, "..", "ledger", "formats", "contracts");

async function exportContract(contractName) {
  const artifact = await hre.artifacts.readArtifact(contractName);
  const fullName = `${artifact.sourceName}:${artifact.contractName}`;
  const buildInfo = await hre.artifacts.getBuildInfo(fullName);
  const shipped = {
    contractName: artifact.contractName,
    abi: artifact.abi,
    bytecode: artifact.bytecode,
    deployedBytecode: artifact.deployedBytecode,
    solcVersion: buildInfo.solcLongVersion,
  };
  const file = path.join(OUT_DIR, `${contractName}.json`);
  fs.mkdirSync(OUT_DIR, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(shipped, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), file)} (solc ${shipped.solcVersion})`);
}

async function main() {
  await hre.run("compile", { quiet: true });
  for (const name of CONTRACTS) {
    await exportContract(name);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
