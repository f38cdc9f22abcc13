// Hardhat 2 configuration for the model-ledger contracts.
//
// Offline by design: Hardhat normally downloads solc from the internet. We pin the
// npm package `solc` (solc-js, a WebAssembly build) at SOLC_VERSION in package.json
// and point Hardhat at it by overriding the subtask that picks the compiler build.
// Changing SOLC_VERSION or the settings below changes the bytecode: run
// `npx hardhat run scripts/export_contracts.js` and ship the new JSON.

require("@nomicfoundation/hardhat-ethers");
require("@nomicfoundation/hardhat-chai-matchers");

const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = "0.8.24";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async ({ solcVersion }, _hre, runSuper) => {
  if (solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  const solc = require("solc");
  const longVersion = solc.version();
  if (!longVersion.startsWith(`${SOLC_VERSION}+`)) {
    throw new Error(`npm package solc is ${longVersion}, expected ${SOLC_VERSION}: run npm ci`);
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion,
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // shanghai (PUSH0) is supported by mainnet and the common L2s.
      evmVersion: "shanghai",
      optimizer: { enabled: true, runs: 10000 },
    },
  },
  paths: {
    sources: "contracts",
    tests: "tests/contracts",
  },
  mocha: {
    timeout: 120000,
  },
};
