// Unit tests live in test/, outside src/, so neither tsc nor the labextension build
// sees them. happy-dom supplies the DOM the code-action tests need.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'happy-dom'
  }
});
