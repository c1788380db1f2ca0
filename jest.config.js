// ESM all the way: @actions/* 3.x ship only ES modules, so jest runs with --experimental-vm-modules.
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
};

export default {
  // Unit tests that spawn the host Python take a few seconds on a loaded 2-core machine.
  testTimeout: 30_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      // The 30-seed chaos subset still finds open violations (see test/chaos): it runs with
      // `npm run chaos:subset` until they are fixed, not in every `npm test`.
      testPathIgnorePatterns:
        process.env.LMD_CHAOS_SUBSET === '1' ? [] : ['/test/e2e/chaos\\.test\\.ts$'],
      slowTestThreshold: 60,
    },
  ],
};
