// npm test's first step after the build: a Chromium for the browser and e2e tests (scripts/chromium.ts).
import { ensureChromium } from './chromium.ts';

try {
  ensureChromium();
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
