/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // The providers run from the compiled package (bin/): build it first.
  globalSetup: "<rootDir>/test/support/buildPackage.ts",
  transform: {
    "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022", parser: { syntax: "typescript" } }, module: { type: "commonjs" } }],
  },
  // Lab tests share one set of network namespaces: never run two test files at once.
  maxWorkers: 1,
  testTimeout: 120000,
};
