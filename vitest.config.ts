import { defineConfig } from 'vitest/config';
export default defineConfig({
  // The worker-side modules are CommonJS TypeScript (.cts): transform them as the other sources.
  oxc: { include: /\.(m?ts|cts|[jt]sx)$/ },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
