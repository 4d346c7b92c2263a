import type { ClusterdConfig } from './types.generated.js';

/** Identity function that gives a JS/TS config file type checking and completion. */
export function defineConfig(config: ClusterdConfig): ClusterdConfig {
  return config;
}
